/*
 * Two initiators sharing a pass-through device, for
 * tests/integration/passthrough.sh (built only when libiscsi-dev is there):
 *
 *   passthrough_client disk GATEWAY_URL UPSTREAM_URL LBA
 *   passthrough_client tape GATEWAY_URL
 *   passthrough_client changer GATEWAY_URL
 *
 * GATEWAY_URL names a dev_iscsi LU of a uscstd whose upstream is the disk
 * UPSTREAM_URL (512-byte blocks); LBA is a block both may use (and LBA+1).
 * Sessions A and B log in to the gateway, U directly to the upstream.
 * Checks, each printed as "ok NAME" or "not ok NAME: why":
 *   spc2      A RESERVE(6)s, writes LBA and reads it back; B's WRITE and
 *             READ get RESERVATION CONFLICT; A reads its data unchanged;
 *             A RELEASEs, then B reads what A wrote.
 *   pr        A registers and takes a Write Exclusive reservation, writes
 *             LBA+1 and reads it back; B's WRITE gets RESERVATION CONFLICT,
 *             B's READ is allowed and returns A's data; U sees no
 *             registration upstream (PR stays in the gateway).
 *   shared    B's MODE SELECT, while A shares the device and nobody holds
 *             it, gets RESERVATION CONFLICT.
 *   lu-reset  A holds an SPC-2 reservation; B's LOGICAL UNIT RESET is
 *             answered; the reservation is gone (B may write), A and B get
 *             the gateway's BUS DEVICE RESET unit attention (06/29/03),
 *             and U, on the upstream, gets none: the reset stayed in the
 *             gateway.
 * tape: GATEWAY_URL names a dev_iscsi LU whose upstream is a vtape drive;
 * A and B on it:
 *   tape-spc2  A RESERVE(6)s, rewinds, writes three records and a
 *              filemark; B's WRITE, READ and REWIND get RESERVATION
 *              CONFLICT; A rewinds and reads the records back, then the
 *              filemark (NO SENSE, FILEMARK); a READ longer than the record
 *              brings the record with its ILI CHECK CONDITION through the
 *              gateway; A RELEASEs and B reads the first record.
 *   tape-pr    A registers and takes an Exclusive Access reservation; B's
 *              READ and REWIND get RESERVATION CONFLICT, A reads; A
 *              unregisters and B may rewind.
 * changer: GATEWAY_URL names a dev_iscsi LU whose upstream is a vchanger
 * (a tape in its first slot, a drive at 256); A and B on it:
 *   changer-spc2  B reads the element status; A RESERVE(6)s; B's MOVE
 *              MEDIUM and READ ELEMENT STATUS get RESERVATION CONFLICT; A
 *              moves the tape to the drive and back; after A's RELEASE, B
 *              reads the element status again.
 * Exit 0 if every check passed, 1 otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define BS 512
#define MAX_CLEAR_TURS 8

static int failures;

static void result(const char *name, const char *why)
{
	if (why) {
		printf("not ok %s: %s\n", name, why);
		failures++;
	} else {
		printf("ok %s\n", name);
	}
}

static struct iscsi_context *login(const char *url_s, const char *initiator, int *lun)
{
	struct iscsi_context *iscsi = iscsi_create_context(initiator);
	if (!iscsi)
		return NULL;
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_s);
	if (!url) {
		fprintf(stderr, "passthrough_client: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	int rc = iscsi_full_connect_sync(iscsi, url->portal, url->lun);
	*lun = url->lun;
	iscsi_destroy_url(url);
	if (rc != 0) {
		fprintf(stderr, "passthrough_client: login %s: %s\n", url_s,
			iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	return iscsi;
}

/* 0 GOOD, 0x18 RESERVATION CONFLICT, KEY<<16|ASC<<8|ASCQ for a CHECK
 * CONDITION, -1 otherwise; frees the task. */
static int outcome(struct scsi_task *t)
{
	int r;
	if (!t)
		return -1;
	if (t->status == SCSI_STATUS_GOOD)
		r = 0;
	else if (t->status == SCSI_STATUS_RESERVATION_CONFLICT)
		r = 0x18;
	else if (t->status == SCSI_STATUS_CHECK_CONDITION)
		r = (int)t->sense.key << 16 | t->sense.ascq;
	else
		r = -1;
	scsi_free_scsi_task(t);
	return r;
}

/* TEST UNIT READY until GOOD: the unit attentions a new nexus has. */
static void clear_uas(struct iscsi_context *s, int lun)
{
	for (int i = 0; i < MAX_CLEAR_TURS; i++)
		if (outcome(iscsi_testunitready_sync(s, lun)) == 0)
			return;
}

static int write_block(struct iscsi_context *s, int lun, uint32_t lba, uint8_t *data)
{
	return outcome(iscsi_write10_sync(s, lun, lba, data, BS, BS, 0, 0, 0, 0, 0));
}

/* Reads one block into out; the outcome. */
static int read_block(struct iscsi_context *s, int lun, uint32_t lba, uint8_t *out)
{
	struct scsi_task *t = iscsi_read10_sync(s, lun, lba, BS, BS, 0, 0, 0, 0, 0);
	if (t && t->status == SCSI_STATUS_GOOD) {
		if (t->datain.size != BS) {
			scsi_free_scsi_task(t);
			return -1;
		}
		memcpy(out, t->datain.data, BS);
	}
	return outcome(t);
}

static void fill(uint8_t *buf, uint8_t seed)
{
	for (int i = 0; i < BS; i++)
		buf[i] = (uint8_t)(seed + i * 13);
}

static const char *check_spc2(struct iscsi_context *a, struct iscsi_context *b, int lun,
			      uint32_t lba)
{
	uint8_t mine[BS], back[BS], theirs[BS];
	fill(mine, 0xa1);
	fill(theirs, 0x5b);
	if (outcome(iscsi_reserve6_sync(a, lun)) != 0)
		return "A's RESERVE(6) failed";
	if (write_block(a, lun, lba, mine) != 0)
		return "the holder's WRITE failed";
	if (read_block(a, lun, lba, back) != 0 || memcmp(back, mine, BS) != 0)
		return "the holder did not read back its data";
	if (write_block(b, lun, lba, theirs) != 0x18)
		return "B's WRITE was not RESERVATION CONFLICT";
	if (read_block(b, lun, lba, back) != 0x18)
		return "B's READ was not RESERVATION CONFLICT";
	if (read_block(a, lun, lba, back) != 0 || memcmp(back, mine, BS) != 0)
		return "the holder's data changed";
	if (outcome(iscsi_release6_sync(a, lun)) != 0)
		return "A's RELEASE(6) failed";
	if (read_block(b, lun, lba, back) != 0 || memcmp(back, mine, BS) != 0)
		return "after RELEASE, B did not read A's data";
	return NULL;
}

static int pr_out(struct iscsi_context *s, int lun, int sa, int type, uint64_t key, uint64_t sa_key)
{
	struct scsi_persistent_reserve_out_basic p = {.reservation_key = key,
						      .service_action_reservation_key = sa_key};
	return outcome(iscsi_persistent_reserve_out_sync(
	    s, lun, sa, SCSI_PERSISTENT_RESERVE_SCOPE_LU, type, &p));
}

/* Registered keys upstream (PR IN READ KEYS' ADDITIONAL LENGTH / 8); -1:
 * the command failed. */
static int upstream_keys(struct iscsi_context *u, int lun)
{
	struct scsi_task *t =
	    iscsi_persistent_reserve_in_sync(u, lun, SCSI_PERSISTENT_RESERVE_READ_KEYS, 256);
	if (!t || t->status != SCSI_STATUS_GOOD || t->datain.size < 8) {
		if (t)
			scsi_free_scsi_task(t);
		return -1;
	}
	const uint8_t *d = t->datain.data;
	int n = (int)(((uint32_t)d[4] << 24 | d[5] << 16 | d[6] << 8 | d[7]) / 8);
	scsi_free_scsi_task(t);
	return n;
}

static const char *check_pr(struct iscsi_context *a, struct iscsi_context *b,
			    struct iscsi_context *u, int lun, int ulun, uint32_t lba)
{
	uint8_t mine[BS], back[BS], theirs[BS];
	fill(mine, 0x3c);
	fill(theirs, 0xc3);
	if (pr_out(a, lun, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0, 0xabc) != 0)
		return "A's REGISTER failed";
	if (pr_out(a, lun, SCSI_PERSISTENT_RESERVE_RESERVE,
		   SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE, 0xabc, 0) != 0)
		return "A's RESERVE (Write Exclusive) failed";
	if (write_block(a, lun, lba, mine) != 0)
		return "the holder's WRITE failed";
	if (read_block(a, lun, lba, back) != 0 || memcmp(back, mine, BS) != 0)
		return "the holder did not read back its data";
	if (write_block(b, lun, lba, theirs) != 0x18)
		return "B's WRITE was not RESERVATION CONFLICT";
	if (read_block(b, lun, lba, back) != 0 || memcmp(back, mine, BS) != 0)
		return "B's READ under Write Exclusive failed or differs";
	if (upstream_keys(u, ulun) != 0)
		return "the upstream LU has registrations: PR went through";
	/* Unregister: the reservation goes with A's registration. */
	if (pr_out(a, lun, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0xabc, 0) != 0)
		return "A's unregister failed";
	if (write_block(b, lun, lba, theirs) != 0)
		return "B could not write after the reservation went";
	return NULL;
}

static const char *check_shared(struct iscsi_context *b, int lun)
{
	/* MODE SELECT(6), PF, a header with no pages. */
	unsigned char cdb[6] = {0x15, 0x10, 0, 0, 4, 0};
	unsigned char param[4] = {0};
	struct scsi_task *t = scsi_create_task(6, cdb, SCSI_XFER_WRITE, 4);
	if (!t)
		return "out of memory";
	struct iscsi_data d = {.size = 4, .data = param};
	struct scsi_task *done = iscsi_scsi_command_sync(b, lun, t, &d);
	if (outcome(done ? done : t) != 0x18)
		return "B's MODE SELECT was not RESERVATION CONFLICT";
	return NULL;
}

/* The next command's unit attention: (ASC<<8|ASCQ), 0 for GOOD, -1 else. */
static int ua_of_next(struct iscsi_context *s, int lun)
{
	int r = outcome(iscsi_testunitready_sync(s, lun));
	if (r == 0)
		return 0;
	return (r >> 16) == SCSI_SENSE_UNIT_ATTENTION ? (r & 0xffff) : -1;
}

static const char *check_lu_reset(struct iscsi_context *a, struct iscsi_context *b,
				  struct iscsi_context *u, int lun, int ulun, uint32_t lba)
{
	uint8_t data[BS];
	fill(data, 0x77);
	clear_uas(u, ulun);
	if (outcome(iscsi_reserve6_sync(a, lun)) != 0)
		return "A's RESERVE(6) failed";
	if (iscsi_task_mgmt_lun_reset_sync(b, lun) != 0)
		return "B's LOGICAL UNIT RESET failed";
	if (ua_of_next(b, lun) != 0x2903)
		return "B did not get 06/29/03 after its reset";
	if (ua_of_next(a, lun) != 0x2903)
		return "A did not get 06/29/03 after B's reset";
	if (write_block(b, lun, lba, data) != 0)
		return "the reset did not drop A's reservation";
	if (ua_of_next(u, ulun) != 0)
		return "the upstream nexus saw a unit attention: the reset went through";
	return NULL;
}

/* --- tape --- */

#define NRECORDS 3
static const uint32_t record_len[NRECORDS] = {1000, 3000, 500};

struct tape_result {
	int status;	    /* SCSI status, or -1: not delivered */
	uint8_t key, flags; /* sense key; FILEMARK/EOM/ILI bits of fixed sense byte 2 */
	int ascq;	    /* ASC << 8 | ASCQ */
	uint32_t moved;	    /* Data-In bytes */
};

/* A 6-byte tape command; Data-In goes to in (room for len bytes), which
 * keeps what came with a CHECK CONDITION too. */
static struct tape_result tape_cmd(struct iscsi_context *s, int lun, uint8_t op, uint8_t b1,
				   uint32_t count, int dir, uint8_t *buf, uint32_t len)
{
	unsigned char cdb[6] = {
	    op, b1, (uint8_t)(count >> 16), (uint8_t)(count >> 8), (uint8_t)count, 0};
	struct tape_result r = {.status = -1};
	struct scsi_task *t = scsi_create_task(6, cdb, dir, (int)len);
	if (!t)
		return r;
	struct iscsi_data out = {.size = (int)len, .data = buf};
	if (dir == SCSI_XFER_READ)
		scsi_task_add_data_in_buffer(t, (int)len, buf);
	if (!iscsi_scsi_command_sync(s, lun, t, dir == SCSI_XFER_WRITE ? &out : NULL)) {
		scsi_free_scsi_task(t);
		return r;
	}
	r.status = t->status;
	if (t->status == SCSI_STATUS_CHECK_CONDITION) {
		r.key = (uint8_t)t->sense.key;
		r.ascq = t->sense.ascq;
		/* Fixed sense byte 2 (libiscsi keeps the segment: length, sense). */
		if (t->datain.size >= 2 + 3)
			r.flags = t->datain.data[2 + 2] & 0xe0;
	}
	if (dir == SCSI_XFER_READ)
		r.moved = t->residual_status == SCSI_RESIDUAL_UNDERFLOW
			      ? len - (uint32_t)t->residual
			      : len;
	scsi_free_scsi_task(t);
	return r;
}

#define TAPE_REWIND 0x01
#define TAPE_READ6 0x08
#define TAPE_WRITE6 0x0a
#define TAPE_WRITE_FILEMARKS6 0x10

static int tape_status(struct iscsi_context *s, int lun, uint8_t op, uint32_t count)
{
	uint8_t buf[4096];
	int dir = op == TAPE_READ6    ? SCSI_XFER_READ
		  : op == TAPE_WRITE6 ? SCSI_XFER_WRITE
				      : SCSI_XFER_NONE;
	uint32_t len = dir == SCSI_XFER_NONE ? 0 : count;
	memset(buf, 0x11, sizeof(buf));
	return tape_cmd(s, lun, op, 0, count, dir, buf, len).status;
}

static void fill_record(uint8_t *buf, unsigned i)
{
	for (uint32_t j = 0; j < record_len[i]; j++)
		buf[j] = (uint8_t)(i * 31 + j * 7);
}

static const char *write_records(struct iscsi_context *a, int lun)
{
	uint8_t buf[4096];
	if (tape_status(a, lun, TAPE_REWIND, 0) != 0)
		return "the holder's REWIND failed";
	for (unsigned i = 0; i < NRECORDS; i++) {
		fill_record(buf, i);
		if (tape_cmd(a, lun, TAPE_WRITE6, 0, record_len[i], SCSI_XFER_WRITE, buf,
			     record_len[i])
			.status != 0)
			return "the holder's WRITE(6) failed";
	}
	if (tape_status(a, lun, TAPE_WRITE_FILEMARKS6, 1) != 0)
		return "the holder's WRITE FILEMARKS failed";
	return NULL;
}

static const char *read_records(struct iscsi_context *s, int lun, unsigned n)
{
	uint8_t want[4096], got[4096];
	if (tape_status(s, lun, TAPE_REWIND, 0) != 0)
		return "REWIND before reading failed";
	for (unsigned i = 0; i < n; i++) {
		fill_record(want, i);
		struct tape_result r = tape_cmd(s, lun, TAPE_READ6, 0, record_len[i],
						SCSI_XFER_READ, got, record_len[i]);
		if (r.status != 0 || r.moved != record_len[i] || memcmp(got, want, record_len[i]))
			return "a record did not read back";
	}
	return NULL;
}

static const char *check_tape_spc2(struct iscsi_context *a, struct iscsi_context *b, int lun)
{
	const char *why;
	uint8_t want[4096], got[4096];
	if (outcome(iscsi_reserve6_sync(a, lun)) != 0)
		return "A's RESERVE(6) failed";
	if ((why = write_records(a, lun)))
		return why;
	if (tape_status(b, lun, TAPE_WRITE6, 100) != 0x18)
		return "B's WRITE(6) was not RESERVATION CONFLICT";
	if (tape_status(b, lun, TAPE_READ6, 100) != 0x18)
		return "B's READ(6) was not RESERVATION CONFLICT";
	if (tape_status(b, lun, TAPE_REWIND, 0) != 0x18)
		return "B's REWIND was not RESERVATION CONFLICT";
	if ((why = read_records(a, lun, NRECORDS)))
		return why;
	struct tape_result r = tape_cmd(a, lun, TAPE_READ6, 0, 4096, SCSI_XFER_READ, got, 4096);
	if (r.status != SCSI_STATUS_CHECK_CONDITION || r.key != 0 || !(r.flags & 0x80) ||
	    r.ascq != 0x0001)
		return "after the records, READ did not stop at the filemark (00/00/01, FILEMARK)";
	/* A longer READ: the record comes with its ILI CHECK CONDITION. */
	if (tape_status(a, lun, TAPE_REWIND, 0) != 0)
		return "REWIND failed";
	fill_record(want, 0);
	memset(got, 0, sizeof(got));
	r = tape_cmd(a, lun, TAPE_READ6, 0, 2000, SCSI_XFER_READ, got, 2000);
	if (r.status != SCSI_STATUS_CHECK_CONDITION || !(r.flags & 0x20))
		return "a READ longer than the record did not end with ILI";
	if (r.moved != record_len[0] || memcmp(got, want, record_len[0]))
		return "the record did not come with its ILI CHECK CONDITION";
	if (outcome(iscsi_release6_sync(a, lun)) != 0)
		return "A's RELEASE(6) failed";
	return read_records(b, lun, 1);
}

static const char *check_tape_pr(struct iscsi_context *a, struct iscsi_context *b, int lun)
{
	const char *why;
	if (pr_out(a, lun, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0, 0x7a9e) != 0)
		return "A's REGISTER failed";
	if (pr_out(a, lun, SCSI_PERSISTENT_RESERVE_RESERVE,
		   SCSI_PERSISTENT_RESERVE_TYPE_EXCLUSIVE_ACCESS, 0x7a9e, 0) != 0)
		return "A's RESERVE (Exclusive Access) failed";
	if (tape_status(b, lun, TAPE_READ6, 100) != 0x18)
		return "B's READ(6) was not RESERVATION CONFLICT";
	if (tape_status(b, lun, TAPE_REWIND, 0) != 0x18)
		return "B's REWIND was not RESERVATION CONFLICT";
	if ((why = read_records(a, lun, NRECORDS)))
		return why;
	if (pr_out(a, lun, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0x7a9e, 0) != 0)
		return "A's unregister failed";
	if (tape_status(b, lun, TAPE_REWIND, 0) != 0)
		return "B could not rewind after the reservation went";
	return NULL;
}

/* --- changer --- */

#define SLOT0 1024 /* vchanger's first storage element: TAPE01 at first start */
#define DRIVE0 256 /* its first drive */

/* READ ELEMENT STATUS, all elements with volume tags: the status. */
static int element_status(struct iscsi_context *s, int lun)
{
	unsigned char cdb[12] = {0xb8, 0x10, 0, 0, 0xff, 0xff, 0, 0, 0x40, 0, 0, 0};
	uint8_t buf[16384];
	struct scsi_task *t = scsi_create_task(12, cdb, SCSI_XFER_READ, sizeof(buf));
	if (!t)
		return -1;
	scsi_task_add_data_in_buffer(t, sizeof(buf), buf);
	struct scsi_task *done = iscsi_scsi_command_sync(s, lun, t, NULL);
	int status = done ? t->status : -1;
	scsi_free_scsi_task(t);
	return status;
}

static int move_medium(struct iscsi_context *s, int lun, unsigned src, unsigned dst)
{
	unsigned char cdb[12] = {
	    0xa5, 0, 0, 0, (uint8_t)(src >> 8), (uint8_t)src, (uint8_t)(dst >> 8), (uint8_t)dst,
	    0,	  0, 0, 0};
	struct scsi_task *t = scsi_create_task(12, cdb, SCSI_XFER_NONE, 0);
	if (!t)
		return -1;
	struct scsi_task *done = iscsi_scsi_command_sync(s, lun, t, NULL);
	int r = done ? outcome(t) : -1;
	if (!done)
		scsi_free_scsi_task(t);
	return r;
}

static const char *check_changer_spc2(struct iscsi_context *a, struct iscsi_context *b, int lun)
{
	if (element_status(b, lun) != 0)
		return "B's READ ELEMENT STATUS failed on a free changer";
	if (outcome(iscsi_reserve6_sync(a, lun)) != 0)
		return "A's RESERVE(6) failed";
	if (move_medium(b, lun, SLOT0, DRIVE0) != 0x18)
		return "B's MOVE MEDIUM was not RESERVATION CONFLICT";
	if (element_status(b, lun) != 0x18)
		return "B's READ ELEMENT STATUS was not RESERVATION CONFLICT";
	if (move_medium(a, lun, SLOT0, DRIVE0) != 0)
		return "the holder's MOVE MEDIUM to the drive failed";
	if (element_status(a, lun) != 0)
		return "the holder's READ ELEMENT STATUS failed";
	if (move_medium(a, lun, DRIVE0, SLOT0) != 0)
		return "the holder's MOVE MEDIUM back failed";
	if (outcome(iscsi_release6_sync(a, lun)) != 0)
		return "A's RELEASE(6) failed";
	if (element_status(b, lun) != 0)
		return "B's READ ELEMENT STATUS failed after the RELEASE";
	return NULL;
}

static int run_changer(const char *url)
{
	int lun;
	struct iscsi_context *a = login(url, "iqn.2026-11.org.uscst.test:pt-ca", &lun);
	struct iscsi_context *b = login(url, "iqn.2026-11.org.uscst.test:pt-cb", &lun);
	if (!a || !b)
		return 1;
	clear_uas(a, lun);
	clear_uas(b, lun);
	result("changer-spc2", check_changer_spc2(a, b, lun));
	iscsi_logout_sync(a);
	iscsi_logout_sync(b);
	iscsi_destroy_context(a);
	iscsi_destroy_context(b);
	return failures ? 1 : 0;
}

static int run_tape(const char *url)
{
	int lun;
	struct iscsi_context *a = login(url, "iqn.2026-11.org.uscst.test:pt-ta", &lun);
	struct iscsi_context *b = login(url, "iqn.2026-11.org.uscst.test:pt-tb", &lun);
	if (!a || !b)
		return 1;
	clear_uas(a, lun);
	clear_uas(b, lun);
	result("tape-spc2", check_tape_spc2(a, b, lun));
	result("tape-pr", check_tape_pr(a, b, lun));
	iscsi_logout_sync(a);
	iscsi_logout_sync(b);
	iscsi_destroy_context(a);
	iscsi_destroy_context(b);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "tape") == 0)
		return run_tape(argv[2]);
	if (argc == 3 && strcmp(argv[1], "changer") == 0)
		return run_changer(argv[2]);
	if (argc != 5 || strcmp(argv[1], "disk") != 0) {
		fprintf(stderr, "usage: passthrough_client disk GATEWAY_URL UPSTREAM_URL LBA\n"
				"       passthrough_client tape|changer GATEWAY_URL\n");
		return 2;
	}
	argv++;
	uint32_t lba = (uint32_t)strtoul(argv[3], NULL, 0);
	int lun, ulun;
	struct iscsi_context *a = login(argv[1], "iqn.2026-11.org.uscst.test:pt-a", &lun);
	struct iscsi_context *b = login(argv[1], "iqn.2026-11.org.uscst.test:pt-b", &lun);
	struct iscsi_context *u = login(argv[2], "iqn.2026-11.org.uscst.test:pt-u", &ulun);
	if (!a || !b || !u)
		return 1;
	clear_uas(a, lun);
	clear_uas(b, lun);
	clear_uas(u, ulun);
	result("spc2", check_spc2(a, b, lun, lba));
	result("pr", check_pr(a, b, u, lun, ulun, lba + 1));
	result("shared", check_shared(b, lun));
	result("lu-reset", check_lu_reset(a, b, u, lun, ulun, lba + 2));
	iscsi_logout_sync(a);
	iscsi_logout_sync(b);
	iscsi_logout_sync(u);
	iscsi_destroy_context(a);
	iscsi_destroy_context(b);
	iscsi_destroy_context(u);
	return failures ? 1 : 0;
}
