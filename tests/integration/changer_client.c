/*
 * A small medium changer and tape client for tests/integration/vchanger.sh
 * (built only when libiscsi-dev is there).  One login per run; the script
 * strings the steps together and compares what they print.
 *
 *   changer_client URL inquiry          peripheral device type, in hex
 *   changer_client URL status           READ ELEMENT STATUS (all types,
 *                                       VOLTAG): one line per element,
 *                                       "ADDR TYPE BARCODE SOURCE" (ADDR
 *                                       and SOURCE decimal, BARCODE "-" if
 *                                       empty, SOURCE "-" without SVALID)
 *   changer_client URL move SRC DST     MOVE MEDIUM: "GOOD" or the sense
 *                                       as "KK/AA/QQ" (hex)
 *   changer_client URL write FILE       tape drive LU: REWIND, FILE as one
 *                                       variable-length record, WRITE
 *                                       FILEMARKS 1, REWIND
 *   changer_client URL race DRIVE_LUN SRC DST SIZE
 *                                       a WRITE(6) of SIZE bytes to the
 *                                       drive LU and a MOVE MEDIUM SRC DST
 *                                       right behind it, on one session:
 *                                       "WRITE <outcome> MOVE <outcome>"
 *   changer_client URL prevent-move DRIVE_LUN SRC DST
 *                                       PREVENT on the drive LU, MOVE
 *                                       MEDIUM SRC DST, ALLOW, the MOVE
 *                                       again: both outcomes, one a line
 *   changer_client URL read N           tape drive LU: REWIND, READ(6) of
 *                                       one variable record of N bytes to
 *                                       stdout, or the sense on stderr
 *
 * Every command first clears the unit attentions of the new nexus (power
 * on, a medium change).  Exit 0 when the command ran (whatever its
 * status for `move`), 1 otherwise (why on stderr), 2 for usage.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define MAX_CLEAR_TURS 8

static struct iscsi_context *login(const char *url_s, int *lun)
{
	struct iscsi_context *iscsi = iscsi_create_context("iqn.2026-11.org.uscst:changer-client");
	if (!iscsi)
		return NULL;
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_s);
	if (!url) {
		fprintf(stderr, "changer_client: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	int rc = iscsi_full_connect_sync(iscsi, url->portal, url->lun);
	*lun = url->lun;
	iscsi_destroy_url(url);
	if (rc != 0) {
		fprintf(stderr, "changer_client: login: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	return iscsi;
}

/* Runs a CDB; the task (caller frees) or NULL on a transport failure. */
static struct scsi_task *command(struct iscsi_context *iscsi, int lun, const unsigned char *cdb,
				 int cdb_len, int dir, int xfer, struct iscsi_data *out)
{
	struct scsi_task *t = scsi_create_task(cdb_len, (unsigned char *)cdb, dir, xfer);
	if (!t)
		return NULL;
	if (!iscsi_scsi_command_sync(iscsi, lun, t, out)) {
		fprintf(stderr, "changer_client: %s\n", iscsi_get_error(iscsi));
		scsi_free_scsi_task(t);
		return NULL;
	}
	return t;
}

/* "GOOD", or the sense as KK/AA/QQ, or "STATUS xx". */
static void outcome(const struct scsi_task *t, char *buf, size_t len)
{
	if (t->status == SCSI_STATUS_GOOD)
		snprintf(buf, len, "GOOD");
	else if (t->status == SCSI_STATUS_CHECK_CONDITION)
		snprintf(buf, len, "%02x/%02x/%02x", t->sense.key, t->sense.ascq >> 8,
			 t->sense.ascq & 0xff);
	else
		snprintf(buf, len, "STATUS %02x", t->status);
}

/* TEST UNIT READY until no UNIT ATTENTION; 0 when ready. */
static int settle(struct iscsi_context *iscsi, int lun)
{
	for (int i = 0; i < MAX_CLEAR_TURS; i++) {
		struct scsi_task *t = iscsi_testunitready_sync(iscsi, lun);
		if (!t)
			return -1;
		int good = t->status == SCSI_STATUS_GOOD;
		int ua = t->status == SCSI_STATUS_CHECK_CONDITION &&
			 t->sense.key == SCSI_SENSE_UNIT_ATTENTION;
		char why[32];
		outcome(t, why, sizeof(why));
		scsi_free_scsi_task(t);
		if (good)
			return 0;
		if (!ua) {
			fprintf(stderr, "changer_client: TEST UNIT READY: %s\n", why);
			return -1;
		}
	}
	return -1;
}

static uint16_t be16(const unsigned char *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be24(const unsigned char *p) { return (uint32_t)(p[0] << 16 | p[1] << 8 | p[2]); }

static int do_inquiry(struct iscsi_context *iscsi, int lun)
{
	struct scsi_task *t = iscsi_inquiry_sync(iscsi, lun, 0, 0, 96);
	if (!t || t->status != SCSI_STATUS_GOOD || t->datain.size < 1) {
		fprintf(stderr, "changer_client: INQUIRY failed\n");
		if (t)
			scsi_free_scsi_task(t);
		return 1;
	}
	printf("%02x\n", t->datain.data[0] & 0x1f);
	scsi_free_scsi_task(t);
	return 0;
}

static int do_status(struct iscsi_context *iscsi, int lun)
{
	const int alloc = 65536;
	unsigned char cdb[12] = {0xb8,
				 0x10,
				 0,
				 0,
				 0xff,
				 0xff,
				 0,
				 (unsigned char)(alloc >> 16),
				 (unsigned char)(alloc >> 8),
				 (unsigned char)alloc,
				 0,
				 0};
	struct scsi_task *t = command(iscsi, lun, cdb, 12, SCSI_XFER_READ, alloc, NULL);
	if (!t)
		return 1;
	if (t->status != SCSI_STATUS_GOOD || t->datain.size < 8) {
		char why[32];
		outcome(t, why, sizeof(why));
		fprintf(stderr, "changer_client: READ ELEMENT STATUS: %s\n", why);
		scsi_free_scsi_task(t);
		return 1;
	}
	const unsigned char *b = t->datain.data;
	uint32_t end = 8 + be24(b + 5), off = 8;
	if (end > (uint32_t)t->datain.size)
		end = (uint32_t)t->datain.size;
	while (off + 8 <= end) {
		const unsigned char *page = b + off;
		uint16_t dl = be16(page + 2);
		uint32_t count = be24(page + 5);
		int voltag = page[1] & 0x80;
		if (dl < 12 || off + 8 + count > end) {
			fprintf(stderr, "changer_client: malformed element status page\n");
			scsi_free_scsi_task(t);
			return 1;
		}
		for (uint32_t d = off + 8; d + dl <= off + 8 + count; d += dl) {
			const unsigned char *e = b + d;
			char tag[33] = "-";
			if (voltag && (e[2] & 0x01)) {
				memcpy(tag, e + 12, 32);
				tag[32] = '\0';
				for (int i = 31; i >= 0 && tag[i] == ' '; i--)
					tag[i] = '\0';
			}
			printf("%u %u %s ", be16(e), page[0], tag);
			if (e[9] & 0x80)
				printf("%u\n", be16(e + 10));
			else
				printf("-\n");
		}
		off += 8 + count;
	}
	scsi_free_scsi_task(t);
	return 0;
}

static int do_move(struct iscsi_context *iscsi, int lun, unsigned src, unsigned dst)
{
	unsigned char cdb[12] = {0xa5,
				 0,
				 0,
				 0,
				 (unsigned char)(src >> 8),
				 (unsigned char)src,
				 (unsigned char)(dst >> 8),
				 (unsigned char)dst};
	struct scsi_task *t = command(iscsi, lun, cdb, 12, SCSI_XFER_NONE, 0, NULL);
	if (!t)
		return 1;
	char why[32];
	outcome(t, why, sizeof(why));
	printf("%s\n", why);
	scsi_free_scsi_task(t);
	return 0;
}

/* A tape command without data; 0 if GOOD. */
static int tape_simple(struct iscsi_context *iscsi, int lun, const unsigned char *cdb,
		       const char *name)
{
	struct scsi_task *t = command(iscsi, lun, cdb, 6, SCSI_XFER_NONE, 0, NULL);
	if (!t)
		return 1;
	char why[32];
	outcome(t, why, sizeof(why));
	int ok = t->status == SCSI_STATUS_GOOD;
	scsi_free_scsi_task(t);
	if (!ok)
		fprintf(stderr, "changer_client: %s: %s\n", name, why);
	return ok ? 0 : 1;
}

static const unsigned char rewind_cdb[6] = {0x01};

static int do_write(struct iscsi_context *iscsi, int lun, const char *file)
{
	FILE *f = fopen(file, "rb");
	if (!f) {
		perror(file);
		return 1;
	}
	static unsigned char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (tape_simple(iscsi, lun, rewind_cdb, "REWIND"))
		return 1;
	/* WRITE(6), FIXED 0: TRANSFER LENGTH is the record's bytes. */
	unsigned char w[6] = {
	    0x0a, 0, (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n, 0};
	struct iscsi_data data = {.size = (int)n, .data = buf};
	struct scsi_task *t = command(iscsi, lun, w, 6, SCSI_XFER_WRITE, (int)n, &data);
	if (!t)
		return 1;
	char why[32];
	outcome(t, why, sizeof(why));
	int ok = t->status == SCSI_STATUS_GOOD;
	scsi_free_scsi_task(t);
	if (!ok) {
		fprintf(stderr, "changer_client: WRITE(6): %s\n", why);
		return 1;
	}
	const unsigned char wfm[6] = {0x10, 0, 0, 0, 1, 0};
	if (tape_simple(iscsi, lun, wfm, "WRITE FILEMARKS"))
		return 1;
	return tape_simple(iscsi, lun, rewind_cdb, "REWIND");
}

static int do_read(struct iscsi_context *iscsi, int lun, unsigned n)
{
	if (tape_simple(iscsi, lun, rewind_cdb, "REWIND"))
		return 1;
	unsigned char r[6] = {
	    0x08, 0, (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n, 0};
	struct scsi_task *t = command(iscsi, lun, r, 6, SCSI_XFER_READ, (int)n, NULL);
	if (!t)
		return 1;
	char why[32];
	outcome(t, why, sizeof(why));
	int ok = t->status == SCSI_STATUS_GOOD;
	if (ok)
		fwrite(t->datain.data, 1, (size_t)t->datain.size, stdout);
	else
		fprintf(stderr, "changer_client: READ(6): %s\n", why);
	scsi_free_scsi_task(t);
	return ok ? 0 : 1;
}

/* --- race: a drive command in flight while a MOVE MEDIUM takes its tape,
 * both on this one session --- */

struct pending {
	const char *name;
	int done;
	char outcome[32];
};

static void async_done(struct iscsi_context *iscsi, int status, void *command_data,
		       void *private_data)
{
	(void)iscsi;
	(void)status;
	struct pending *p = private_data;
	struct scsi_task *t = command_data;
	if (t)
		outcome(t, p->outcome, sizeof(p->outcome));
	else
		snprintf(p->outcome, sizeof(p->outcome), "FAILED");
	if (t)
		scsi_free_scsi_task(t);
	p->done = 1;
}

/* WRITE(6) of SIZE bytes (one variable record) to DRIVE_LUN and, queued
 * right behind its data, MOVE MEDIUM SRC -> DST on the changer LUN; both
 * must complete within 20 s.  Prints "WRITE <outcome> MOVE <outcome>". */
static int do_race(struct iscsi_context *iscsi, int lun, int drive_lun, unsigned src, unsigned dst,
		   unsigned size)
{
	if (settle(iscsi, drive_lun) < 0)
		return 1;
	static unsigned char buf[8 << 20];
	if (size > sizeof(buf))
		size = sizeof(buf);
	memset(buf, 0x5a, size);
	unsigned char w[6] = {
	    0x0a, 0, (unsigned char)(size >> 16), (unsigned char)(size >> 8), (unsigned char)size,
	    0};
	unsigned char m[12] = {0xa5,
			       0,
			       0,
			       0,
			       (unsigned char)(src >> 8),
			       (unsigned char)src,
			       (unsigned char)(dst >> 8),
			       (unsigned char)dst};
	struct scsi_task *wt = scsi_create_task(6, w, SCSI_XFER_WRITE, (int)size);
	struct scsi_task *mt = scsi_create_task(12, m, SCSI_XFER_NONE, 0);
	struct iscsi_data data = {.size = (int)size, .data = buf};
	struct pending pw = {"WRITE"}, pm = {"MOVE"};
	if (!wt || !mt || iscsi_scsi_command_async(iscsi, drive_lun, wt, async_done, &data, &pw) ||
	    iscsi_scsi_command_async(iscsi, lun, mt, async_done, NULL, &pm)) {
		fprintf(stderr, "changer_client: cannot queue the race\n");
		return 1;
	}
	time_t deadline = time(NULL) + 20;
	while (!(pw.done && pm.done) && time(NULL) < deadline) {
		struct pollfd pfd = {.fd = iscsi_get_fd(iscsi),
				     .events = iscsi_which_events(iscsi)};
		if (poll(&pfd, 1, 200) < 0 || iscsi_service(iscsi, pfd.revents) < 0) {
			fprintf(stderr, "changer_client: %s\n", iscsi_get_error(iscsi));
			return 1;
		}
	}
	if (!(pw.done && pm.done)) {
		fprintf(stderr, "changer_client: race: no answer in 20 s (write %d, move %d)\n",
			pw.done, pm.done);
		return 1;
	}
	printf("WRITE %s MOVE %s\n", pw.outcome, pm.outcome);
	return 0;
}

/* On one session: PREVENT on DRIVE_LUN, MOVE MEDIUM SRC DST (the drive's
 * tape), ALLOW, the same MOVE again.  Prints "<outcome> <outcome>". */
static int do_prevent_move(struct iscsi_context *iscsi, int lun, int drive_lun, unsigned src,
			   unsigned dst)
{
	if (settle(iscsi, drive_lun) < 0)
		return 1;
	const unsigned char prevent[6] = {0x1e, 0, 0, 0, 1, 0};
	const unsigned char allow[6] = {0x1e, 0, 0, 0, 0, 0};
	if (tape_simple(iscsi, drive_lun, prevent, "PREVENT"))
		return 1;
	if (do_move(iscsi, lun, src, dst))
		return 1;
	if (tape_simple(iscsi, drive_lun, allow, "ALLOW"))
		return 1;
	return do_move(iscsi, lun, src, dst);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
			"usage: changer_client URL inquiry|status|move SRC DST|write FILE|"
			"read N|race DRIVE_LUN SRC DST SIZE|prevent-move DRIVE_LUN SRC DST\n");
		return 2;
	}
	const char *what = argv[2];
	int lun;
	struct iscsi_context *iscsi = login(argv[1], &lun);
	if (!iscsi)
		return 1;
	int rc = 1;
	if (settle(iscsi, lun) < 0)
		rc = 1;
	else if (!strcmp(what, "inquiry"))
		rc = do_inquiry(iscsi, lun);
	else if (!strcmp(what, "status"))
		rc = do_status(iscsi, lun);
	else if (!strcmp(what, "move") && argc == 5)
		rc = do_move(iscsi, lun, (unsigned)strtoul(argv[3], NULL, 0),
			     (unsigned)strtoul(argv[4], NULL, 0));
	else if (!strcmp(what, "write") && argc == 4)
		rc = do_write(iscsi, lun, argv[3]);
	else if (!strcmp(what, "race") && argc == 7)
		rc = do_race(iscsi, lun, atoi(argv[3]), (unsigned)strtoul(argv[4], NULL, 0),
			     (unsigned)strtoul(argv[5], NULL, 0),
			     (unsigned)strtoul(argv[6], NULL, 0));
	else if (!strcmp(what, "prevent-move") && argc == 6)
		rc = do_prevent_move(iscsi, lun, atoi(argv[3]), (unsigned)strtoul(argv[4], NULL, 0),
				     (unsigned)strtoul(argv[5], NULL, 0));
	else if (!strcmp(what, "read") && argc == 4)
		rc = do_read(iscsi, lun, (unsigned)strtoul(argv[3], NULL, 0));
	else {
		fprintf(stderr, "changer_client: bad arguments\n");
		rc = 2;
	}
	iscsi_logout_sync(iscsi);
	iscsi_destroy_context(iscsi);
	return rc;
}
