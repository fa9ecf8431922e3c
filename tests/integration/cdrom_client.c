/*
 * Eject, load and the table of contents of a vcdrom LU, for
 * tests/integration/vcdrom.sh (built only when libiscsi-dev is there):
 *
 *   cdrom_client URL BLOCKS EMPTY_LUN
 *
 * URL (iscsi://HOST:PORT/IQN/LUN) names a vcdrom LU of BLOCKS 2048-byte
 * blocks; EMPTY_LUN a vcdrom LU with `filename none` on the same target.
 * Two sessions, A and B (two I_T nexuses), check: the TOC's lead-out is at
 * BLOCKS, also in the Full TOC; GET CONFIGURATION says CD-ROM; READ DISC and
 * TRACK INFORMATION describe one finalized session of one track of BLOCKS;
 * MODE SENSE page 2Ah and MECHANISM STATUS follow PREVENT and the tray;
 * REPORT SUPPORTED OPERATION CODES lists the MMC commands; while A prevents
 * removal an eject is refused (05/53/02) and the medium stays; after ALLOW
 * the eject works and B sees NOT READY, MEDIUM NOT PRESENT (02/3A/00); a
 * load gives A and B each NOT READY TO READY CHANGE (06/28/00) once, then
 * GOOD; the empty drive answers 02/3A/00 and stays empty after a load.
 *
 *   cdrom_client change URL IMAGE_A IMAGE_B ADMIN
 *
 * The medium changed by the administrator under two live sessions: URL's
 * LU holds IMAGE_A; ADMIN is a shell command that, given a file name (or
 * none) as its last word, sets the LU's filename (uscstadmin ... device
 * cd0 set filename).  A -> B -> none -> A: after each load every nexus gets
 * 06/28/00 exactly once, then READ CAPACITY and READ(10) give the new
 * image's size and bytes, and GET EVENT STATUS NOTIFICATION reports NEW
 * MEDIA to each nexus once; while empty, TEST UNIT READY and READ answer 02/3A/00 and the
 * event is MEDIA REMOVAL.  While A prevents removal ADMIN fails (exit 1)
 * and nothing changes.  Had a session dropped, libiscsi would have logged
 * in again and the UA would be the power-on one (29/00), not 28/00.
 *
 *   cdrom_client reads URL IMAGE SECONDS
 *
 * Reads for SECONDS while the script swaps the LU between two copies of
 * IMAGE: every read gives IMAGE's bytes or 06/28/00, and both happen.
 *
 * Exit 0 if all of it holds, 1 otherwise (why on stderr).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define MAX_CLEAR_TURS 8

static int fail(const char *what)
{
	fprintf(stderr, "cdrom_client: %s\n", what);
	return 0;
}

static struct iscsi_context *login(const char *url_s, const char *initiator, int *lun)
{
	struct iscsi_context *iscsi = iscsi_create_context(initiator);
	if (!iscsi)
		return NULL;
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_s);
	if (!url) {
		fprintf(stderr, "cdrom_client: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	int rc = iscsi_full_connect_sync(iscsi, url->portal, url->lun);
	*lun = url->lun;
	iscsi_destroy_url(url);
	if (rc != 0) {
		fprintf(stderr, "cdrom_client: login: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	return iscsi;
}

/* Status of a finished task: 0 GOOD, else KEY<<16 | ASC<<8 | ASCQ of a
 * CHECK CONDITION, -1 for anything else. */
static int outcome(struct scsi_task *t)
{
	int r;
	if (!t)
		return -1;
	if (t->status == SCSI_STATUS_GOOD)
		r = 0;
	else if (t->status == SCSI_STATUS_CHECK_CONDITION)
		r = (int)t->sense.key << 16 | (t->sense.ascq & 0xffff);
	else
		r = -1;
	scsi_free_scsi_task(t);
	return r;
}

static int expect(const char *what, int got, int want)
{
	if (got == want)
		return 1;
	fprintf(stderr, "cdrom_client: %s: got %06x, want %06x\n", what, (unsigned)got,
		(unsigned)want);
	return 0;
}

/* TEST UNIT READY until no UNIT ATTENTION (the power-on one); its result. */
static int settle(struct iscsi_context *iscsi, int lun)
{
	int r = -1;
	for (int i = 0; i < MAX_CLEAR_TURS; i++) {
		r = outcome(iscsi_testunitready_sync(iscsi, lun));
		if (r < 0 || (r >> 16) != SCSI_SENSE_UNIT_ATTENTION)
			return r;
	}
	return r;
}

#define NOT_PRESENT (SCSI_SENSE_NOT_READY << 16 | 0x3a00)
#define PREVENTED (SCSI_SENSE_ILLEGAL_REQUEST << 16 | 0x5302)
#define CHANGED (SCSI_SENSE_UNIT_ATTENTION << 16 | 0x2800)

static int check_toc(struct iscsi_context *a, int lun, uint32_t blocks)
{
	struct scsi_task *t = iscsi_readtoc_sync(a, lun, 0, 0, 0, 100);
	if (!t || t->status != SCSI_STATUS_GOOD || t->datain.size != 20) {
		if (t)
			scsi_free_scsi_task(t);
		return fail("READ TOC format 0 did not return 20 bytes");
	}
	const uint8_t *d = t->datain.data;
	uint32_t leadout = (uint32_t)d[16] << 24 | d[17] << 16 | d[18] << 8 | d[19];
	int ok = d[2] == 1 && d[3] == 1 && d[6] == 1 && d[14] == 0xaa && leadout == blocks;
	scsi_free_scsi_task(t);
	return ok || fail("READ TOC: wrong tracks or lead-out");
}

/* GET CONFIGURATION, RT 00b: the current profile, CD-ROM (0008h) for a
 * small image, and the Profile List feature first. */
static int check_profile(struct iscsi_context *a, int lun)
{
	unsigned char cdb[10] = {0x46, 0, 0, 0, 0, 0, 0, 0, 255, 0};
	struct scsi_task *t = scsi_create_task(10, cdb, SCSI_XFER_READ, 255);
	if (!t)
		return fail("scsi_create_task");
	struct scsi_task *r = iscsi_scsi_command_sync(a, lun, t, NULL);
	int ok = r && r->status == SCSI_STATUS_GOOD && r->datain.size >= 12 &&
		 r->datain.data[6] == 0x00 && r->datain.data[7] == 0x08 && r->datain.data[8] == 0 &&
		 r->datain.data[9] == 0;
	scsi_free_scsi_task(t);
	return ok || fail("GET CONFIGURATION: not a CD-ROM with a profile list");
}

/* A raw Data-In command; the task (caller frees) if it ended GOOD with at
 * least min bytes, else NULL (why on stderr). */
static struct scsi_task *data_in(struct iscsi_context *c, int lun, const unsigned char *cdb,
				 int cdb_len, int alloc, int min, const char *what)
{
	struct scsi_task *t =
	    scsi_create_task(cdb_len, (unsigned char *)cdb, SCSI_XFER_READ, alloc);
	if (!t)
		return NULL;
	struct scsi_task *r = iscsi_scsi_command_sync(c, lun, t, NULL);
	if (!r || r->status != SCSI_STATUS_GOOD || r->datain.size < min) {
		fprintf(stderr, "cdrom_client: %s failed (status %d, %d bytes)\n", what,
			r ? r->status : -1, r ? r->datain.size : -1);
		scsi_free_scsi_task(t);
		return NULL;
	}
	return t;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The Full TOC (format 2): A0 first track 1, A1 last track 1, A2 the
 * lead-out at BLOCKS + 150 frames in MSF, track 1 at 00:02:00. */
static int check_full_toc(struct iscsi_context *c, int lun, uint32_t blocks)
{
	const unsigned char cdb[10] = {0x43, 0x02, 0x02, 0, 0, 0, 0, 0, 100, 0};
	struct scsi_task *t = data_in(c, lun, cdb, 10, 100, 48, "READ TOC format 2");
	if (!t)
		return 0;
	const uint8_t *d = t->datain.data;
	uint32_t f = blocks + 150;
	int ok = d[1] == 46 && d[4 + 3] == 0xa0 && d[4 + 8] == 1 && d[15 + 3] == 0xa1 &&
		 d[15 + 8] == 1 && d[26 + 3] == 0xa2 && d[26 + 8] == f / 4500 &&
		 d[26 + 9] == f / 75 % 60 && d[26 + 10] == f % 75 && d[37 + 3] == 1 &&
		 d[37 + 9] == 2;
	scsi_free_scsi_task(t);
	return ok || fail("READ TOC format 2: wrong Full TOC");
}

/* READ DISC INFORMATION: finalized, one session; READ TRACK INFORMATION of
 * track 1 (by number and by its last LBA): BLOCKS long, data mode 1. */
static int check_disc_track_info(struct iscsi_context *c, int lun, uint32_t blocks)
{
	const unsigned char di[10] = {0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0};
	struct scsi_task *t = data_in(c, lun, di, 10, 34, 34, "READ DISC INFORMATION");
	if (!t)
		return 0;
	const uint8_t *d = t->datain.data;
	int ok = d[1] == 32 && d[2] == 0x0e && d[3] == 1 && d[4] == 1 && d[6] == 1;
	scsi_free_scsi_task(t);
	if (!ok)
		return fail("READ DISC INFORMATION: not a finalized one-session disc");
	unsigned char ti[10] = {0x52, 0x01, 0, 0, 0, 1, 0, 0, 48, 0};
	for (int i = 0; i < 2 && ok; i++) {
		t = data_in(c, lun, ti, 10, 48, 48, "READ TRACK INFORMATION");
		if (!t)
			return 0;
		d = t->datain.data;
		ok = d[2] == 1 && d[3] == 1 && (d[6] & 0x0f) == 1 && be32(d + 8) == 0 &&
		     be32(d + 24) == blocks;
		scsi_free_scsi_task(t);
		/* Again by LBA: the last block is in track 1. */
		ti[1] = 0x00;
		ti[2] = (unsigned char)((blocks - 1) >> 24);
		ti[3] = (unsigned char)((blocks - 1) >> 16);
		ti[4] = (unsigned char)((blocks - 1) >> 8);
		ti[5] = (unsigned char)(blocks - 1);
	}
	return ok || fail("READ TRACK INFORMATION: not track 1 of BLOCKS blocks");
}

/* MODE SENSE(10) page 2Ah: the capabilities page, a tray that ejects and
 * locks, LOCK STATE as PREVENT left it; MECHANISM STATUS: the door as
 * START STOP UNIT left it. */
static int check_page_2a(struct iscsi_context *c, int lun, int locked)
{
	const unsigned char ms[10] = {0x5a, 0x08, 0x2a, 0, 0, 0, 0, 0, 64, 0};
	struct scsi_task *t = data_in(c, lun, ms, 10, 64, 40, "MODE SENSE(10) page 2Ah");
	if (!t)
		return 0;
	const uint8_t *d = t->datain.data;
	int ok = d[7] == 0 && d[8] == 0x2a && d[9] == 30 && (d[14] & 0xe9) == 0x29 &&
		 !!(d[14] & 0x02) == locked;
	scsi_free_scsi_task(t);
	return ok || fail("MODE SENSE page 2Ah: wrong capabilities or lock state");
}

static int check_door(struct iscsi_context *c, int lun, int open)
{
	const unsigned char cdb[12] = {0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0};
	struct scsi_task *t = data_in(c, lun, cdb, 12, 8, 8, "MECHANISM STATUS");
	if (!t)
		return 0;
	int ok = !!(t->datain.data[1] & 0x10) == open;
	scsi_free_scsi_task(t);
	return ok || fail("MECHANISM STATUS: wrong DOOR OPEN");
}

/* REPORT SUPPORTED OPERATION CODES lists the MMC commands, no write. */
static int check_rsoc(struct iscsi_context *c, int lun)
{
	const unsigned char cdb[12] = {0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0};
	struct scsi_task *t = data_in(c, lun, cdb, 12, 1024, 4, "REPORT SUPPORTED OPERATION CODES");
	if (!t)
		return 0;
	const uint8_t *d = t->datain.data;
	uint32_t len = be32(d);
	int seen[256] = {0};
	for (uint32_t off = 4; off + 8 <= 4 + len && off + 8 <= (uint32_t)t->datain.size; off += 8)
		seen[d[off]] = 1;
	scsi_free_scsi_task(t);
	int ok = seen[0x43] && seen[0x51] && seen[0x52] && seen[0x5a] && seen[0x1a] && seen[0xbd] &&
		 seen[0x46] && seen[0x4a] && !seen[0x2a];
	return ok || fail("REPORT SUPPORTED OPERATION CODES: MMC commands missing, or a write");
}

static int run(struct iscsi_context *a, struct iscsi_context *b, int lun, uint32_t blocks,
	       int empty_lun)
{
	int ok = expect("A settles", settle(a, lun), 0) && expect("B settles", settle(b, lun), 0) &&
		 check_toc(a, lun, blocks) && check_profile(a, lun) &&
		 check_full_toc(a, lun, blocks) && check_disc_track_info(b, lun, blocks) &&
		 check_page_2a(a, lun, 0) && check_door(a, lun, 0) && check_rsoc(a, lun);
	ok = ok && expect("A prevents", outcome(iscsi_preventallow_sync(a, lun, 1)), 0) &&
	     check_page_2a(b, lun, 1) &&
	     expect("eject while prevented",
		    outcome(iscsi_startstopunit_sync(a, lun, 0, 0, 0, 0, 1, 0)), PREVENTED) &&
	     expect("B TUR, still loaded", outcome(iscsi_testunitready_sync(b, lun)), 0) &&
	     expect("A allows", outcome(iscsi_preventallow_sync(a, lun, 0)), 0) &&
	     expect("eject", outcome(iscsi_startstopunit_sync(a, lun, 0, 0, 0, 0, 1, 0)), 0) &&
	     expect("B TUR, ejected", outcome(iscsi_testunitready_sync(b, lun)), NOT_PRESENT) &&
	     check_door(b, lun, 1) && check_page_2a(b, lun, 0) &&
	     expect("load", outcome(iscsi_startstopunit_sync(a, lun, 0, 0, 0, 0, 1, 1)), 0) &&
	     expect("A TUR after load", outcome(iscsi_testunitready_sync(a, lun)), CHANGED) &&
	     expect("A TUR again", outcome(iscsi_testunitready_sync(a, lun)), 0) &&
	     expect("B TUR after load", outcome(iscsi_testunitready_sync(b, lun)), CHANGED) &&
	     expect("B TUR again", outcome(iscsi_testunitready_sync(b, lun)), 0);
	ok = ok && expect("empty drive", settle(a, empty_lun), NOT_PRESENT) &&
	     expect("load of an empty drive",
		    outcome(iscsi_startstopunit_sync(a, empty_lun, 0, 0, 0, 0, 1, 1)), 0) &&
	     expect("empty drive after load", outcome(iscsi_testunitready_sync(a, empty_lun)),
		    NOT_PRESENT);
	return ok;
}

/* ---- medium change by the administrator ---- */

struct image {
	const char *path;
	unsigned char *data;
	uint32_t blocks;
};

static int load_image(struct image *img, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail("cannot open an image");
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	rewind(f);
	img->path = path;
	img->blocks = (uint32_t)(size / 2048);
	img->data = malloc((size_t)size);
	int ok = img->data && fread(img->data, 1, (size_t)size, f) == (size_t)size;
	fclose(f);
	return ok || fail("cannot read an image");
}

/* ADMIN with `value` appended; its exit status (-1: did not run). */
static int admin(const char *cmd, const char *value)
{
	char line[4096];
	snprintf(line, sizeof(line), "%s %s", cmd, value);
	int st = system(line);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* READ CAPACITY says img's size and READ(10) of its first, a middle and
 * its last block give img's bytes. */
static int check_medium(struct iscsi_context *c, int lun, const struct image *img)
{
	struct scsi_task *t = iscsi_readcapacity10_sync(c, lun, 0, 0);
	if (!t || t->status != SCSI_STATUS_GOOD || t->datain.size != 8) {
		if (t)
			scsi_free_scsi_task(t);
		return fail("READ CAPACITY failed");
	}
	const uint8_t *d = t->datain.data;
	uint32_t last = (uint32_t)d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3];
	scsi_free_scsi_task(t);
	if (last != img->blocks - 1)
		return fail("READ CAPACITY: not the new image's size");
	uint32_t lbas[3] = {0, img->blocks / 2, img->blocks - 1};
	for (int i = 0; i < 3; i++) {
		t = iscsi_read10_sync(c, lun, lbas[i], 2048, 2048, 0, 0, 0, 0, 0);
		int ok = t && t->status == SCSI_STATUS_GOOD && t->datain.size == 2048 &&
			 memcmp(t->datain.data, img->data + (size_t)lbas[i] * 2048, 2048) == 0;
		if (t)
			scsi_free_scsi_task(t);
		if (!ok)
			return fail("READ(10): not the new image's bytes");
	}
	return 1;
}

/* The media class event GET EVENT STATUS NOTIFICATION reports (polled). */
static int media_event(struct iscsi_context *c, int lun)
{
	unsigned char cdb[10] = {0x4a, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0};
	struct scsi_task *t = scsi_create_task(10, cdb, SCSI_XFER_READ, 8);
	if (!t)
		return -1;
	struct scsi_task *r = iscsi_scsi_command_sync(c, lun, t, NULL);
	int ev = r && r->status == SCSI_STATUS_GOOD && r->datain.size == 8
		     ? r->datain.data[4] & 0x0f
		     : -1;
	scsi_free_scsi_task(t);
	return ev;
}

#define READ10_NOT_PRESENT(c, lun) outcome(iscsi_read10_sync(c, lun, 0, 2048, 2048, 0, 0, 0, 0, 0))

/* Loads img through ADMIN; both nexuses get the UA once, then the medium. */
static int load_and_check(struct iscsi_context *a, struct iscsi_context *b, int lun,
			  const char *admin_cmd, const struct image *img)
{
	return expect("admin load", admin(admin_cmd, img->path), 0) &&
	       expect("A TUR after the change", outcome(iscsi_testunitready_sync(a, lun)),
		      CHANGED) &&
	       expect("A TUR again", outcome(iscsi_testunitready_sync(a, lun)), 0) &&
	       expect("B TUR after the change", outcome(iscsi_testunitready_sync(b, lun)),
		      CHANGED) &&
	       expect("B TUR again", outcome(iscsi_testunitready_sync(b, lun)), 0) &&
	       expect("media event NEW MEDIA", media_event(a, lun), 0x2) &&
	       expect("media event taken", media_event(a, lun), 0x0) &&
	       expect("B's own media event NEW MEDIA", media_event(b, lun), 0x2) &&
	       check_medium(a, lun, img) && check_medium(b, lun, img);
}

static int run_change(struct iscsi_context *a, struct iscsi_context *b, int lun,
		      const struct image *ia, const struct image *ib, const char *admin_cmd)
{
	int ok = expect("A settles", settle(a, lun), 0) && expect("B settles", settle(b, lun), 0) &&
		 check_medium(a, lun, ia);
	ok = ok && load_and_check(a, b, lun, admin_cmd, ib);
	ok = ok && expect("admin empties the drive", admin(admin_cmd, "none"), 0) &&
	     expect("A TUR, empty", outcome(iscsi_testunitready_sync(a, lun)), NOT_PRESENT) &&
	     expect("B TUR, empty", outcome(iscsi_testunitready_sync(b, lun)), NOT_PRESENT) &&
	     expect("B READ, empty", READ10_NOT_PRESENT(b, lun), NOT_PRESENT) &&
	     expect("media event MEDIA REMOVAL", media_event(b, lun), 0x3);
	ok = ok && load_and_check(a, b, lun, admin_cmd, ia);
	/* Prevented: the administrator's change is refused, nothing moves. */
	ok = ok && expect("A prevents", outcome(iscsi_preventallow_sync(a, lun, 1)), 0) &&
	     expect("admin change while prevented", admin(admin_cmd, ib->path), 1) &&
	     expect("admin eject while prevented", admin(admin_cmd, "none"), 1) &&
	     expect("A TUR, unchanged", outcome(iscsi_testunitready_sync(a, lun)), 0) &&
	     expect("B TUR, unchanged", outcome(iscsi_testunitready_sync(b, lun)), 0) &&
	     check_medium(b, lun, ia) &&
	     expect("A allows", outcome(iscsi_preventallow_sync(a, lun, 0)), 0);
	ok = ok && load_and_check(a, b, lun, admin_cmd, ib);
	return ok;
}

static int main_change(int argc, char **argv)
{
	struct image ia = {0}, ib = {0};
	if (argc != 6) {
		fprintf(stderr, "usage: cdrom_client change URL IMAGE_A IMAGE_B ADMIN\n");
		return 2;
	}
	if (!load_image(&ia, argv[3]) || !load_image(&ib, argv[4]))
		return 1;
	int lun_a, lun_b;
	struct iscsi_context *a = login(argv[2], "iqn.2026-11.org.uscst:cdrom-a", &lun_a);
	struct iscsi_context *b =
	    a ? login(argv[2], "iqn.2026-11.org.uscst:cdrom-b", &lun_b) : NULL;
	int ok = a && b && run_change(a, b, lun_a, &ia, &ib, argv[5]);
	if (b) {
		iscsi_logout_sync(b);
		iscsi_destroy_context(b);
	}
	if (a) {
		iscsi_logout_sync(a);
		iscsi_destroy_context(a);
	}
	free(ia.data);
	free(ib.data);
	return ok ? 0 : 1;
}

/* ---- reads while the medium is swapped under them ---- */

#define READ_BLOCKS 32

/*
 * Reads of READ_BLOCKS blocks at pseudo-random LBAs for `seconds` while
 * the script swaps the LU between two copies of IMAGE: each read ends GOOD
 * with the image's bytes, with 02/3A/00 (the old disc is out before the
 * new one is in) or with the change's 06/28/00, never anything else (a
 * read that raced the swap finishes on the copy it started on).
 */
static int main_reads(int argc, char **argv)
{
	struct image img = {0};
	if (argc != 5) {
		fprintf(stderr, "usage: cdrom_client reads URL IMAGE SECONDS\n");
		return 2;
	}
	if (!load_image(&img, argv[3]) || img.blocks <= READ_BLOCKS)
		return 1;
	int lun;
	struct iscsi_context *c = login(argv[2], "iqn.2026-11.org.uscst:cdrom-reads", &lun);
	if (!c)
		return 1;
	int ok = expect("settles", settle(c, lun), 0);
	unsigned good = 0, changed = 0, seed = 12345;
	time_t end = time(NULL) + atoi(argv[4]);
	while (ok && time(NULL) < end) {
		seed = seed * 1103515245u + 12345u;
		uint32_t lba = (seed >> 8) % (img.blocks - READ_BLOCKS);
		struct scsi_task *t =
		    iscsi_read10_sync(c, lun, lba, READ_BLOCKS * 2048, 2048, 0, 0, 0, 0, 0);
		if (t && t->status == SCSI_STATUS_GOOD && t->datain.size == READ_BLOCKS * 2048 &&
		    memcmp(t->datain.data, img.data + (size_t)lba * 2048, READ_BLOCKS * 2048) ==
			0) {
			good++;
			scsi_free_scsi_task(t);
			continue;
		}
		int r = outcome(t);
		if (r == CHANGED)
			changed++;
		else if (r != NOT_PRESENT) /* the disc is out during the swap */
			ok = expect("READ during swaps", r, 0);
	}
	fprintf(stderr, "cdrom_client: %u good reads, %u medium changes seen\n", good, changed);
	iscsi_logout_sync(c);
	iscsi_destroy_context(c);
	free(img.data);
	return ok && good > 0 && changed > 0 ? 0 : 1;
}

/* ---- told of a change before reading the new disc ---- */

/*
 * READ(10) of block 0 in a loop while the script swaps disc A for disc B
 * (once READY_FILE exists): every GOOD read must return A's block until
 * the drive reports the change (NOT READY while the disc is out, or the
 * unit attention); B's data with GOOD before that is a read of a disc the
 * initiator was not told of.
 */
static int main_told(int argc, char **argv)
{
	struct image a = {0}, b = {0};
	if (argc != 7) {
		fprintf(stderr,
			"usage: cdrom_client told URL IMAGE_A IMAGE_B READY_FILE SECONDS\n");
		return 2;
	}
	if (!load_image(&a, argv[3]) || !load_image(&b, argv[4]))
		return 1;
	int lun, rc = 1;
	struct iscsi_context *c = login(argv[2], "iqn.2026-11.org.uscst:cdrom-told", &lun);
	if (!c)
		return 1;
	FILE *f = expect("settles", settle(c, lun), 0) ? fopen(argv[5], "w") : NULL;
	if (f)
		fclose(f);
	time_t end = time(NULL) + atoi(argv[6]);
	while (f && time(NULL) < end) {
		struct scsi_task *t = iscsi_read10_sync(c, lun, 0, 2048, 2048, 0, 0, 0, 0, 0);
		if (t && t->status == SCSI_STATUS_GOOD && t->datain.size == 2048) {
			int is_b = memcmp(t->datain.data, b.data, 2048) == 0;
			int is_a = memcmp(t->datain.data, a.data, 2048) == 0;
			scsi_free_scsi_task(t);
			if (is_a)
				continue;
			fprintf(stderr,
				"cdrom_client: GOOD read of %s before the change was reported\n",
				is_b ? "the new disc" : "unknown data");
			break;
		}
		int r = outcome(t);
		if (r == CHANGED || r == NOT_PRESENT)
			rc = 0;
		else
			expect("READ across the change", r, CHANGED);
		break;
	}
	iscsi_logout_sync(c);
	iscsi_destroy_context(c);
	free(a.data);
	free(b.data);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "told") == 0)
		return main_told(argc, argv);
	if (argc > 1 && strcmp(argv[1], "change") == 0)
		return main_change(argc, argv);
	if (argc > 1 && strcmp(argv[1], "reads") == 0)
		return main_reads(argc, argv);
	if (argc != 4) {
		fprintf(stderr, "usage: cdrom_client URL BLOCKS EMPTY_LUN\n");
		return 2;
	}
	int lun_a, lun_b;
	struct iscsi_context *a = login(argv[1], "iqn.2026-11.org.uscst:cdrom-a", &lun_a);
	struct iscsi_context *b =
	    a ? login(argv[1], "iqn.2026-11.org.uscst:cdrom-b", &lun_b) : NULL;
	int ok = a && b && run(a, b, lun_a, (uint32_t)strtoul(argv[2], NULL, 0), atoi(argv[3]));
	if (b) {
		iscsi_logout_sync(b);
		iscsi_destroy_context(b);
	}
	if (a) {
		iscsi_logout_sync(a);
		iscsi_destroy_context(a);
	}
	return ok ? 0 : 1;
}
