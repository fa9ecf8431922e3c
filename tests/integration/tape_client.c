/*
 * A libiscsi client of a vtape LU, for tests/integration/vtape.sh (built
 * only when libiscsi-dev is there):
 *
 *   tape_client URL write NFILES    write NFILES files of variable-size
 *                                   records, each followed by a filemark
 *                                   (WRITE FILEMARKS, IMMED 0), from BOT
 *   tape_client URL append FILE     write file FILE at end of data, then
 *                                   its filemark, and exit at once
 *   tape_client URL verify NFILES   rewind and read NFILES files back byte
 *                                   for byte, a filemark after each, then
 *                                   BLANK CHECK at end of data
 *   tape_client URL space NFILES    SPACE over filemarks and blocks, both
 *                                   ways, LOCATE(10/16), READ POSITION
 *                                   (short and long) against NFILES files
 *   tape_client URL fixed           fixed-block mode: MODE SELECT, WRITE
 *                                   and READ of fixed blocks, ILI
 *   tape_client URL ew              on a small tape: early warning (NO
 *                                   SENSE, EOM, 00/02) then VOLUME
 *                                   OVERFLOW (0D/00/02, EOM); every
 *                                   acknowledged record reads back
 *   tape_client URL protect         a write-protected tape: 07/27/00
 *   tape_client URL empty           an empty drive: 02/3A/00, LOAD too
 *   tape_client URL load            UNLOAD (then 02/3A/00) and LOAD
 *   tape_client URL reserve         another initiator's RESERVE(6): this
 *                                   one gets RESERVATION CONFLICT until
 *                                   it releases
 *
 * The records of file f are a deterministic function of (f, record), so
 * another run checks what an earlier one wrote.  Exit 0 if everything
 * holds, 1 otherwise (why on stderr).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define RECORDS_PER_FILE 40
#define MAX_REC 70000

static struct iscsi_context *iscsi;
static int lun;

static int fail(const char *what)
{
	fprintf(stderr, "tape_client: %s\n", what);
	return 0;
}

static const char *initiator_name = "iqn.2026-12.org.uscst:tape-client";

static int login(const char *url_s)
{
	iscsi = iscsi_create_context(initiator_name);
	if (!iscsi)
		return 0;
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_s);
	if (!url)
		return fail(iscsi_get_error(iscsi));
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	int rc = iscsi_full_connect_sync(iscsi, url->portal, url->lun);
	lun = url->lun;
	iscsi_destroy_url(url);
	if (rc != 0)
		return (fprintf(stderr, "tape_client: login: %s\n", iscsi_get_error(iscsi)), 0);
	return 1;
}

/* The outcome of one command. */
struct res {
	int status; /* SCSI status, -1: transport error */
	uint8_t key, asc, ascq;
	uint8_t bits; /* FILEMARK 0x80, EOM 0x40, ILI 0x20 */
	int valid;
	int32_t info;
	uint8_t data[MAX_REC + 16];
	int len;
};
static struct res R;

static int run(const uint8_t *cdb, int cdb_len, int dir, int xfer, const uint8_t *out)
{
	memset(&R, 0, sizeof(R));
	struct scsi_task *t = scsi_create_task(cdb_len, (unsigned char *)cdb, dir, xfer);
	if (!t)
		return fail("scsi_create_task");
	struct iscsi_data d = {.size = (size_t)xfer, .data = (unsigned char *)out};
	struct scsi_task *r = iscsi_scsi_command_sync(iscsi, lun, t, out ? &d : NULL);
	if (!r) {
		R.status = -1;
		scsi_free_scsi_task(t);
		return 1;
	}
	R.status = r->status;
	if (r->status == SCSI_STATUS_CHECK_CONDITION && r->datain.size >= 2 + 14) {
		/* libiscsi keeps the sense, after its 2-byte length. */
		const uint8_t *s = r->datain.data + 2;
		if ((s[0] & 0x7f) == 0x70) {
			R.key = s[2] & 0x0f;
			R.bits = s[2] & 0xe0;
			R.valid = s[0] & 0x80;
			R.info = (int32_t)((uint32_t)s[3] << 24 | s[4] << 16 | s[5] << 8 | s[6]);
			R.asc = s[12];
			R.ascq = s[13];
		}
	} else if (r->status == SCSI_STATUS_GOOD && r->datain.size > 0) {
		R.len = r->datain.size < (int)sizeof(R.data) ? r->datain.size : (int)sizeof(R.data);
		memcpy(R.data, r->datain.data, (size_t)R.len);
	}
	scsi_free_scsi_task(r);
	return 1;
}

static int good(const char *what)
{
	if (R.status == SCSI_STATUS_GOOD)
		return 1;
	fprintf(stderr, "tape_client: %s: status %d sense %x/%02x/%02x\n", what, R.status, R.key,
		R.asc, R.ascq);
	return 0;
}

/* CHECK CONDITION with key/asc/ascq and the stream bits; info checked if
 * info_want != INT32_MIN. */
static int sense(const char *what, uint8_t key, uint8_t asc, uint8_t ascq, uint8_t bits,
		 int32_t info_want)
{
	if (R.status == SCSI_STATUS_CHECK_CONDITION && R.key == key && R.asc == asc &&
	    R.ascq == ascq && R.bits == bits &&
	    (info_want == INT32_MIN || (R.valid && R.info == info_want)))
		return 1;
	fprintf(stderr,
		"tape_client: %s: status %d sense %x/%02x/%02x bits %02x info %d (valid %d); "
		"want %x/%02x/%02x bits %02x info %d\n",
		what, R.status, R.key, R.asc, R.ascq, R.bits, R.info, R.valid ? 1 : 0, key, asc,
		ascq, bits, info_want);
	return 0;
}

static void cdb6(uint8_t *c, uint8_t op, uint8_t b1, uint32_t n)
{
	c[0] = op;
	c[1] = b1;
	c[2] = (uint8_t)(n >> 16);
	c[3] = (uint8_t)(n >> 8);
	c[4] = (uint8_t)n;
	c[5] = 0;
}

static int tur(void)
{
	uint8_t c[6] = {0};
	return run(c, 6, SCSI_XFER_NONE, 0, NULL);
}

static int rewind_tape(void)
{
	uint8_t c[6] = {0x01, 0, 0, 0, 0, 0};
	return run(c, 6, SCSI_XFER_NONE, 0, NULL) && good("REWIND");
}

static int write_rec(const uint8_t *buf, uint32_t len)
{
	uint8_t c[6];
	cdb6(c, 0x0a, 0, len);
	return run(c, 6, SCSI_XFER_WRITE, (int)len, buf);
}

static int read_rec(uint32_t len, int sili)
{
	uint8_t c[6];
	cdb6(c, 0x08, sili ? 2 : 0, len);
	return run(c, 6, SCSI_XFER_READ, (int)len, NULL);
}

static int filemarks(uint32_t n)
{
	uint8_t c[6];
	cdb6(c, 0x10, 0, n);
	return run(c, 6, SCSI_XFER_NONE, 0, NULL) && good("WRITE FILEMARKS");
}

/*
 * READ(6) variable of `ask` bytes, SILI 0, into a buffer of the caller's:
 * a record shorter than asked comes with CHECK CONDITION, ILI, the residue
 * in INFORMATION, and its data (which libiscsi keeps apart from the sense
 * only in a buffer of the caller's), and an iSCSI underflow residual.
 */
static int read_short_with_data(uint32_t ask, const uint8_t *want, uint32_t want_len)
{
	static uint8_t in[MAX_REC];
	uint8_t c[6];
	cdb6(c, 0x08, 0, ask);
	memset(in, 0xee, sizeof(in));
	memset(&R, 0, sizeof(R));
	struct scsi_task *t = scsi_create_task(6, c, SCSI_XFER_READ, (int)ask);
	if (!t || scsi_task_add_data_in_buffer(t, (int)ask, in) != 0)
		return fail("scsi_task_add_data_in_buffer");
	struct scsi_task *r = iscsi_scsi_command_sync(iscsi, lun, t, NULL);
	if (!r) {
		scsi_free_scsi_task(t);
		return fail("READ with a buffer: transport error");
	}
	int ok = r->status == SCSI_STATUS_CHECK_CONDITION && r->datain.size >= 2 + 14;
	if (ok) {
		const uint8_t *s = r->datain.data + 2;
		int32_t info = (int32_t)((uint32_t)s[3] << 24 | s[4] << 16 | s[5] << 8 | s[6]);
		ok = (s[2] & 0x20) && (s[0] & 0x80) && info == (int32_t)(ask - want_len);
	}
	if (!ok)
		fprintf(stderr, "tape_client: short record: status %d, want ILI\n", r->status);
	if (ok && memcmp(in, want, want_len) != 0)
		ok = fail("short record: its data did not come with the sense");
	if (ok && !(r->residual_status == SCSI_RESIDUAL_UNDERFLOW && r->residual == ask - want_len))
		ok = fail("short record: no underflow residual of the missing bytes");
	scsi_free_scsi_task(r);
	return ok;
}

static int space(uint8_t code, int32_t count)
{
	uint8_t c[6];
	cdb6(c, 0x11, code, (uint32_t)count & 0xffffff);
	return run(c, 6, SCSI_XFER_NONE, 0, NULL);
}

/* READ POSITION short form: the first logical object location. */
static int position(uint32_t *pos, int *bop)
{
	uint8_t c[10] = {0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	if (!run(c, 10, SCSI_XFER_READ, 20, NULL) || !good("READ POSITION") || R.len != 20)
		return fail("READ POSITION short form: no 20 bytes");
	*pos = (uint32_t)R.data[4] << 24 | R.data[5] << 16 | R.data[6] << 8 | R.data[7];
	*bop = R.data[0] >> 7;
	return 1;
}

static int expect_pos(const char *what, uint32_t want)
{
	uint32_t pos = 0;
	int bop = 0;
	if (!position(&pos, &bop))
		return 0;
	if (pos == want && bop == (want == 0))
		return 1;
	fprintf(stderr, "tape_client: %s: position %u (BOP %d), want %u\n", what, pos, bop, want);
	return 0;
}

/* Record r of file f: its length and bytes. */
static uint32_t rec_len(int f, int r) { return 1 + (uint32_t)((f * 7919 + r * 104729) % 65000); }

static void rec_fill(uint8_t *b, int f, int r)
{
	uint32_t len = rec_len(f, r), x = (uint32_t)(f * 1000003 + r * 31 + 1);
	for (uint32_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (uint8_t)(x >> 16);
	}
}

static uint8_t buf[MAX_REC];

static int write_file(int f)
{
	for (int r = 0; r < RECORDS_PER_FILE; r++) {
		rec_fill(buf, f, r);
		if (!write_rec(buf, rec_len(f, r)) || !good("WRITE(6)"))
			return 0;
	}
	return filemarks(1);
}

static int verify_file(int f)
{
	for (int r = 0; r < RECORDS_PER_FILE; r++) {
		uint32_t len = rec_len(f, r);
		rec_fill(buf, f, r);
		if (!read_rec(len, 0) || !good("READ(6)"))
			return fail("a record did not read back");
		if (R.len != (int)len || memcmp(R.data, buf, len) != 0) {
			fprintf(stderr,
				"tape_client: file %d record %d differs (%d bytes, want %u)\n", f,
				r, R.len, len);
			return 0;
		}
	}
	/* Then the filemark: NO SENSE, FILEMARK, 00/01, residue = length. */
	return read_rec(100, 0) && sense("READ at a filemark", 0, 0, 1, 0x80, 100);
}

static int do_write(int nfiles)
{
	if (!rewind_tape())
		return 0;
	for (int f = 0; f < nfiles; f++)
		if (!write_file(f))
			return 0;
	return 1;
}

static int do_append(int f) { return space(3, 0) && good("SPACE to end of data") && write_file(f); }

static int do_verify(int nfiles)
{
	if (!rewind_tape())
		return 0;
	for (int f = 0; f < nfiles; f++)
		if (!verify_file(f))
			return 0;
	/* End of data: BLANK CHECK, END-OF-DATA DETECTED, residue. */
	if (!read_rec(512, 0) || !sense("READ at end of data", 8, 0, 5, 0, 512))
		return 0;
	return expect_pos("at end of data", (uint32_t)nfiles * (RECORDS_PER_FILE + 1));
}

static int do_space(int nfiles)
{
	const uint32_t per = RECORDS_PER_FILE + 1; /* objects per file, filemark included */
	if (!rewind_tape() || !expect_pos("after REWIND", 0))
		return 0;
	/* Forward over two filemarks: the start of file 2; its first record. */
	if (!space(1, 2) || !good("SPACE 2 filemarks") || !expect_pos("file 2", 2 * per))
		return 0;
	rec_fill(buf, 2, 0);
	if (!read_rec(rec_len(2, 0), 0) || !good("READ") || memcmp(R.data, buf, R.len) != 0)
		return fail("first record of file 2");
	/* Back over one filemark: the BOT side of the one ending file 1. */
	if (!space(1, -1) || !good("SPACE -1 filemark") || !expect_pos("before FM 1", 2 * per - 1))
		return 0;
	/* Back 5 blocks: 5 records of file 1. */
	if (!space(0, -5) || !good("SPACE -5 blocks") || !expect_pos("5 back", 2 * per - 6))
		return 0;
	/* Forward 10 blocks meets the filemark after 5: FM, residue 5, after it. */
	if (!space(0, 10) || !sense("SPACE over a filemark", 0, 0, 1, 0x80, 5) ||
	    !expect_pos("after FM 1", 2 * per))
		return 0;
	/* Back 3 blocks from the start of file 2 meets that filemark at once. */
	if (!space(0, -3) || !sense("SPACE back into a filemark", 0, 0, 1, 0x80, 3) ||
	    !expect_pos("BOT side of FM 1", 2 * per - 1))
		return 0;
	/* Back past BOT: NO SENSE, EOM, BEGINNING-OF-PARTITION, residue. */
	if (!rewind_tape() || !space(0, -1) || !sense("SPACE before BOT", 0, 0, 4, 0x40, 1))
		return 0;
	/* Forward over more filemarks than there are: BLANK CHECK, residue. */
	if (!space(1, nfiles + 2) || !sense("SPACE past the last filemark", 8, 0, 5, 0, 2) ||
	    !expect_pos("end of data", (uint32_t)nfiles * per))
		return 0;
	/* LOCATE(10) to record 3 of file 1, read it. */
	uint8_t l10[10] = {0x2b, 0, 0, 0, 0, 0, (uint8_t)(per + 3), 0, 0, 0};
	if (!run(l10, 10, SCSI_XFER_NONE, 0, NULL) || !good("LOCATE(10)"))
		return 0;
	rec_fill(buf, 1, 3);
	if (!read_rec(MAX_REC, 1) || !good("READ SILI") || R.len != (int)rec_len(1, 3) ||
	    memcmp(R.data, buf, R.len) != 0)
		return fail("record 3 of file 1 after LOCATE(10)");
	/* READ POSITION long form: object per+4, file 1. */
	uint8_t rp[10] = {0x34, 0x06, 0, 0, 0, 0, 0, 0, 0, 0};
	if (!run(rp, 10, SCSI_XFER_READ, 32, NULL) || !good("READ POSITION long") || R.len != 32 ||
	    R.data[15] != per + 4 || R.data[23] != 1)
		return fail("READ POSITION long form");
	/* LOCATE(16) to logical file 2 (DEST_TYPE 001b). */
	uint8_t l16[16] = {0x92, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0};
	if (!run(l16, 16, SCSI_XFER_NONE, 0, NULL) || !good("LOCATE(16) file") ||
	    !expect_pos("file 2 by LOCATE(16)", 2 * per))
		return 0;
	/* LOCATE beyond end of data: BLANK CHECK, at end of data. */
	uint8_t lfar[10] = {0x2b, 0, 0, 0, 0, 0x10, 0, 0, 0, 0};
	if (!run(lfar, 10, SCSI_XFER_NONE, 0, NULL) ||
	    !sense("LOCATE past end of data", 8, 0, 5, 0, INT32_MIN))
		return 0;
	/* A reserved SPACE code: INVALID FIELD IN CDB. */
	if (!space(2, 1) || !sense("SPACE sequential filemarks", 5, 0x24, 0, 0, INT32_MIN))
		return 0;
	/* Variable read of a record shorter than asked, SILI 0: ILI, residue,
	 * and the record's data with it. */
	rec_fill(buf, 0, 0);
	if (!rewind_tape() || !read_short_with_data(rec_len(0, 0) + 10, buf, rec_len(0, 0)))
		return 0;
	/* Longer than asked: ILI with a negative residue; with SILI in
	 * variable-block mode (block length 0): GOOD. */
	if (!read_rec(rec_len(0, 1) - 1, 0) || !sense("long record", 0, 0, 0, 0x20, -1))
		return 0;
	if (!read_rec(rec_len(0, 2) - 1, 1) || !good("long record with SILI"))
		return 0;
	return 1;
}

static int mode_select_block(uint32_t bl)
{
	uint8_t p[12] = {
	    0, 0, 0x10, 8, 0, 0, 0, 0, 0, (uint8_t)(bl >> 16), (uint8_t)(bl >> 8), (uint8_t)bl};
	uint8_t c[6] = {0x15, 0x10, 0, 0, sizeof(p), 0};
	return run(c, 6, SCSI_XFER_WRITE, sizeof(p), p) && good("MODE SELECT(6)");
}

static int do_fixed(void)
{
	const uint32_t bl = 4096;
	static uint8_t blocks[4 * 4096];
	for (size_t i = 0; i < sizeof(blocks); i++)
		blocks[i] = (uint8_t)(i * 13 + 7);
	/* READ BLOCK LIMITS allows the length. */
	uint8_t rbl[6] = {0x05, 0, 0, 0, 0, 0};
	if (!run(rbl, 6, SCSI_XFER_READ, 6, NULL) || !good("READ BLOCK LIMITS") || R.len != 6)
		return 0;
	if (!mode_select_block(bl) || !rewind_tape())
		return 0;
	/* MODE SENSE shows it in the block descriptor. */
	uint8_t ms[6] = {0x1a, 0, 0x10, 0, 255, 0};
	if (!run(ms, 6, SCSI_XFER_READ, 255, NULL) || !good("MODE SENSE") || R.data[3] != 8 ||
	    R.data[4 + 6] != 0x10 || R.data[4 + 7] != 0)
		return fail("MODE SENSE block descriptor");
	uint8_t c[6];
	cdb6(c, 0x0a, 1, 4);
	if (!run(c, 6, SCSI_XFER_WRITE, sizeof(blocks), blocks) || !good("WRITE fixed"))
		return 0;
	cdb6(c, 0x0a, 1, 1);
	if (!run(c, 6, SCSI_XFER_WRITE, (int)bl, blocks) || !good("WRITE fixed 1"))
		return 0;
	if (!filemarks(1) || !rewind_tape())
		return 0;
	cdb6(c, 0x08, 1, 4);
	if (!run(c, 6, SCSI_XFER_READ, sizeof(blocks), NULL) || !good("READ fixed") ||
	    R.len != (int)sizeof(blocks) || memcmp(R.data, blocks, sizeof(blocks)) != 0)
		return fail("fixed blocks differ");
	/* 3 blocks asked, 1 there before the filemark: FM, residue 2. */
	cdb6(c, 0x08, 1, 3);
	if (!run(c, 6, SCSI_XFER_READ, 3 * (int)bl, NULL) ||
	    !sense("READ fixed into a filemark", 0, 0, 1, 0x80, 2))
		return 0;
	cdb6(c, 0x08, 1, 1);
	if (!run(c, 6, SCSI_XFER_READ, (int)bl, NULL) ||
	    !sense("READ fixed at end of data", 8, 0, 5, 0, 1))
		return 0;
	/* SILI with FIXED: INVALID FIELD IN CDB. */
	cdb6(c, 0x08, 3, 1);
	if (!run(c, 6, SCSI_XFER_READ, (int)bl, NULL) ||
	    !sense("READ SILI+FIXED", 5, 0x24, 0, 0, INT32_MIN))
		return 0;
	/* Back to variable mode: FIXED reads are refused. */
	if (!mode_select_block(0) || !rewind_tape())
		return 0;
	cdb6(c, 0x08, 1, 1);
	return run(c, 6, SCSI_XFER_READ, (int)bl, NULL) &&
	       sense("READ fixed in variable mode", 5, 0x24, 0, 0, INT32_MIN);
}

static int do_ew(void)
{
	static uint8_t rec[32768];
	int acked = 0, warned = 0;
	if (!rewind_tape())
		return 0;
	for (int i = 0; i < 1000; i++) {
		memset(rec, i & 0xff, sizeof(rec));
		if (!write_rec(rec, sizeof(rec)))
			return 0;
		if (R.status == SCSI_STATUS_GOOD) {
			if (warned)
				return fail("GOOD after early warning");
			acked++;
			continue;
		}
		if (R.key == 0 && R.asc == 0 && R.ascq == 2 && R.bits == 0x40 && R.valid &&
		    R.info == 0) {
			warned++;
			acked++;
			continue;
		}
		if (!sense("WRITE at the end", 0x0d, 0, 2, 0x40, (int32_t)sizeof(rec)))
			return 0;
		break;
	}
	fprintf(stderr, "tape_client: %d records written, %d after early warning\n", acked, warned);
	if (!warned)
		return fail("no early warning before VOLUME OVERFLOW");
	if (!rewind_tape())
		return 0;
	for (int i = 0; i < acked; i++) {
		if (!read_rec(sizeof(rec), 0) || !good("READ back") || R.len != (int)sizeof(rec) ||
		    R.data[0] != (uint8_t)i || R.data[sizeof(rec) - 1] != (uint8_t)i)
			return fail("an acknowledged record did not read back");
	}
	return read_rec(16, 0) && sense("end of data", 8, 0, 5, 0, 16);
}

static int do_protect(void)
{
	uint8_t b[512] = {1};
	if (!write_rec(b, sizeof(b)) || !sense("WRITE protected", 7, 0x27, 0, 0, INT32_MIN))
		return 0;
	uint8_t c[6];
	cdb6(c, 0x10, 0, 1);
	return run(c, 6, SCSI_XFER_NONE, 0, NULL) &&
	       sense("WRITE FILEMARKS protected", 7, 0x27, 0, 0, INT32_MIN);
}

static int load_unload(int load)
{
	uint8_t c[6] = {0x1b, 0, 0, 0, (uint8_t)(load ? 1 : 0), 0};
	return run(c, 6, SCSI_XFER_NONE, 0, NULL);
}

/* An empty drive: NOT READY, MEDIUM NOT PRESENT, and a LOAD cannot help. */
static int do_empty(void)
{
	return tur() && sense("TUR, empty", 2, 0x3a, 0, 0, INT32_MIN) && load_unload(1) &&
	       sense("LOAD, empty", 2, 0x3a, 0, 0, INT32_MIN);
}

/* UNLOAD takes the tape out of the path (02/3A/00), LOAD brings it back at
 * BOT. */
static int do_load(void)
{
	uint8_t sp[6];
	cdb6(sp, 0x11, 3, 0);
	if (!run(sp, 6, SCSI_XFER_NONE, 0, NULL) || !good("SPACE to end of data"))
		return 0;
	if (!load_unload(0) || !good("UNLOAD") || !tur() ||
	    !sense("TUR, unloaded", 2, 0x3a, 0, 0, INT32_MIN))
		return 0;
	return load_unload(1) && good("LOAD") && tur() && good("TUR, loaded") &&
	       expect_pos("after LOAD", 0);
}

static int status_of(struct scsi_task *t)
{
	int st = t ? t->status : -1;
	if (t)
		scsi_free_scsi_task(t);
	return st;
}

/*
 * RESERVE(6) by a second initiator (B, its own session): this one (A)
 * gets RESERVATION CONFLICT for WRITE and READ and writes nothing; once B
 * releases, A writes and reads back.  The tape is at BOT of a blank or
 * overwritable tape.
 */
static int do_reserve(const char *url_s)
{
	struct iscsi_context *a = iscsi;
	initiator_name = "iqn.2026-12.org.uscst:tape-client-b";
	if (!login(url_s))
		return 0;
	struct iscsi_context *b = iscsi;
	for (int i = 0; i < 8 && tur() && R.status == SCSI_STATUS_CHECK_CONDITION && R.key == 6;
	     i++)
		;
	int ok = status_of(iscsi_reserve6_sync(b, lun)) == SCSI_STATUS_GOOD;
	iscsi = a;
	uint8_t rec[1000];
	memset(rec, 0x5a, sizeof(rec));
	const uint8_t rw[6] = {0x01, 0, 0, 0, 0, 0};
	if (ok &&
	    (!run(rw, 6, SCSI_XFER_NONE, 0, NULL) || R.status != SCSI_STATUS_RESERVATION_CONFLICT))
		ok = fail("REWIND by the other initiator did not get RESERVATION CONFLICT");
	if (ok && (!write_rec(rec, sizeof(rec)) || R.status != SCSI_STATUS_RESERVATION_CONFLICT))
		ok = fail("WRITE by the other initiator did not get RESERVATION CONFLICT");
	if (ok && (!read_rec(sizeof(rec), 0) || R.status != SCSI_STATUS_RESERVATION_CONFLICT))
		ok = fail("READ by the other initiator did not get RESERVATION CONFLICT");
	if (ok && status_of(iscsi_release6_sync(b, lun)) != SCSI_STATUS_GOOD)
		ok = fail("RELEASE(6)");
	if (ok)
		ok = rewind_tape() && write_rec(rec, sizeof(rec)) && good("WRITE after RELEASE") &&
		     rewind_tape() && read_rec(sizeof(rec), 0) && good("READ back") &&
		     R.len == (int)sizeof(rec) && memcmp(R.data, rec, sizeof(rec)) == 0;
	iscsi_logout_sync(b);
	iscsi_destroy_context(b);
	return ok || fail("reservation check");
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: tape_client URL MODE [N] (see the source)\n");
		return 2;
	}
	if (!login(argv[1]))
		return 1;
	/* The power-on and medium unit attentions. */
	for (int i = 0; i < 8 && tur() && R.status == SCSI_STATUS_CHECK_CONDITION && R.key == 6;
	     i++)
		;
	int n = argc > 3 ? atoi(argv[3]) : 0;
	const char *what = argv[2];
	int ok;
	if (!strcmp(what, "write"))
		ok = do_write(n);
	else if (!strcmp(what, "append"))
		ok = do_append(n);
	else if (!strcmp(what, "verify"))
		ok = do_verify(n);
	else if (!strcmp(what, "space"))
		ok = do_space(n);
	else if (!strcmp(what, "fixed"))
		ok = do_fixed();
	else if (!strcmp(what, "ew"))
		ok = do_ew();
	else if (!strcmp(what, "empty"))
		ok = do_empty();
	else if (!strcmp(what, "load"))
		ok = do_load();
	else if (!strcmp(what, "reserve"))
		ok = do_reserve(argv[1]);
	else if (!strcmp(what, "protect"))
		ok = do_protect();
	else
		ok = fail("unknown mode");
	iscsi_logout_sync(iscsi);
	iscsi_destroy_context(iscsi);
	return ok ? 0 : 1;
}
