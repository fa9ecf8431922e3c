/*
 * The SSC command set (vtape) and the tape image format
 * (lib/tape_format.c).  Commands run through the command set's decode and
 * dispatch, as the transport runs them; the tape image is an in-memory
 * file behind a fake backend (READ, WRITE, FLUSH), so a crash is a copy of
 * its bytes cut anywhere, and a new mount reads that copy.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <uscst/iov.h>

#include "doubles/ua_record.h"
#include "fixtures/fixture_scsi.h"
#include "scsi/ssc.h"

/* ---- the image file behind the fake backend ---- */

#define IMG_MAX (12u << 20)
static uint8_t *img;
static uint64_t img_len;
static unsigned flushes;
/* A tape larger than the image buffer: writes past IMG_MAX are taken and
 * dropped (what they would hold is never read back). */
static bool sink_high;
/* The next WRITE fails with EIO, writing nothing. */
static bool fail_next_write;
static uint64_t largest_write;
static bool defer_io;
static struct uscst_io *deferred;

static void complete_io(struct uscst_io *io)
{
	switch (io->op) {
	case USCST_IO_READ:
		for (uint64_t i = 0; i < io->len; i++) {
			uint8_t b = io->offset + i < img_len ? img[io->offset + i] : 0;
			uscst_iov_from_buf(io->iov, io->iovcnt, i, &b, 1);
		}
		break;
	case USCST_IO_WRITE:
		if (fail_next_write) {
			fail_next_write = false;
			io->result = -EIO;
			io->done(io);
			return;
		}
		if (io->len > largest_write)
			largest_write = io->len;
		if (sink_high && io->offset + io->len > IMG_MAX) {
			if (io->offset < IMG_MAX)
				uscst_iov_to_buf(io->iov, io->iovcnt, 0, img + io->offset,
						 IMG_MAX - io->offset);
			img_len = IMG_MAX;
			break;
		}
		assert_true(io->offset + io->len <= IMG_MAX);
		uscst_iov_to_buf(io->iov, io->iovcnt, 0, img + io->offset, io->len);
		if (io->offset + io->len > img_len)
			img_len = io->offset + io->len;
		break;
	case USCST_IO_FLUSH:
		flushes++;
		break;
	default:
		fail();
	}
	io->result = (int64_t)io->len;
	io->done(io);
}

static void fake_submit(struct uscst_device *dev, struct uscst_io *io)
{
	if (defer_io) {
		assert_null(deferred);
		deferred = io;
		return;
	}
	complete_io(io);
}

static const struct uscst_backend_ops fake_ops = {.name = "fake", .submit = fake_submit};

/* A blank tape of `capacity` bytes, as the vtape backend creates it. */
static void blank_image(uint64_t capacity, uint32_t flags)
{
	struct tape_header h = {.capacity = capacity, .flags = flags, .volume_id = 0x1234567890ull};
	memset(img, 0, IMG_MAX);
	tape_header_encode(img, &h);
	struct tape_rec eod = {.type = TAPE_REC_EOD, .prev_crc = tape_chain_seed(&h)};
	tape_rec_encode(img + TAPE_HEADER_SIZE, &eod);
	img_len = TAPE_HEADER_SIZE + TAPE_REC_HDR_SIZE;
}

/* ---- fixture: a tape device at LUN 0 ---- */

struct tape_fixture {
	struct scsi_fixture *f;
	struct uscst_device *dev; /* with room for the command set's state */
};

static int setup(void **state)
{
	struct tape_fixture *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	img = calloc(1, IMG_MAX);
	assert_non_null(img);
	blank_image(1 << 20, 0);
	t->f = fixture_new(512);
	t->dev = calloc(1, USCST_DEVICE_CMDSET_PRIV_OFFSET(0) + sizeof(struct ssc_state));
	assert_non_null(t->dev);
	fixture_device_init(t->dev, "tape0", 512, 2048);
	t->dev->cmdset = &scsi_ssc_cmdset;
	t->dev->backend = &fake_ops;
	t->f->map.luns[0].dev = t->dev;
	t->dev->cmdset->power_on(t->dev);
	flushes = 0;
	sink_high = false;
	fail_next_write = false;
	largest_write = 0;
	defer_io = false;
	deferred = NULL;
	ua_record_reset();
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tape_fixture *t = *state;
	struct ssc_state *st = ssc_state(t->dev);
	fixture_free(t->f);
	free(st->objs);
	pthread_mutex_destroy(&st->qlock);
	pthread_mutex_destroy(&st->io_lock);
	pthread_mutex_destroy(&t->dev->lock);
	free(t->dev);
	free(img);
	free(t);
	return 0;
}

/* A power cycle: the drive forgets the tape, the next command mounts the
 * image as it is now. */
static void remount(struct tape_fixture *t)
{
	ssc_state(t->dev)->mounted = false;
	t->dev->cmdset->power_on(t->dev);
}

static struct uscst_cmd *run_out(struct tape_fixture *t, const uint8_t *cdb, unsigned len,
				 const uint8_t *out, uint32_t out_len)
{
	struct scsi_fixture *f = t->f;
	struct uscst_cmd *cmd = fixture_prepare(f, 0, cdb, len);
	t->dev->cmdset->decode(cmd);
	if (out)
		fixture_cmd_data_out(cmd, out, out_len);
	t->dev->cmdset->dispatch(cmd);
	assert_int_equal(f->done_calls, 1);
	return cmd;
}

static struct uscst_cmd *run(struct tape_fixture *t, const uint8_t *cdb, unsigned len)
{
	return run_out(t, cdb, len, NULL, 0);
}

static void cdb6(uint8_t *c, uint8_t op, uint8_t b1, uint32_t n)
{
	c[0] = op;
	c[1] = b1;
	put_be24(c + 2, n);
	c[5] = 0;
}

/* Sense: fixed format key/asc/ascq, the stream bits and INFORMATION. */
static void assert_tape_sense(const struct uscst_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq,
			      uint8_t bits, int64_t info)
{
	fixture_assert_sense(cmd, key, asc, ascq);
	assert_int_equal(cmd->sense[2] & 0xe0, bits);
	assert_int_equal(cmd->sense[0] & 0x80, 0x80); /* VALID */
	assert_int_equal((int32_t)get_be32(cmd->sense + 3), (int32_t)info);
}

static void assert_invalid_field(const struct uscst_cmd *cmd, unsigned byte, int bit)
{
	fixture_assert_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(cmd->sense[15], bit < 0 ? 0xc0 : 0x80 | 0x40 | 0x08 | bit);
	assert_int_equal(get_be16(cmd->sense + 16), byte);
}

static void assert_invalid_field_param(const struct uscst_cmd *cmd, unsigned byte)
{
	fixture_assert_sense(cmd, SK_ILLEGAL_REQUEST, 0x26, 0x00);
	assert_int_equal(cmd->sense[15] & 0xc0, 0x80); /* SKSV, C/D 0: parameter list */
	assert_int_equal(get_be16(cmd->sense + 16), byte);
}

static void fill(uint8_t *b, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed + i * 31);
}

static void write_rec(struct tape_fixture *t, uint32_t len, uint8_t seed)
{
	uint8_t *b = malloc(len);
	assert_non_null(b);
	fill(b, len, seed);
	uint8_t c[6];
	cdb6(c, 0x0a, 0, len);
	fixture_assert_good(run_out(t, c, 6, b, len));
	free(b);
}

static void write_fm(struct tape_fixture *t, uint32_t n, bool immed)
{
	uint8_t c[6];
	cdb6(c, 0x10, immed ? 1 : 0, n);
	fixture_assert_good(run(t, c, 6));
}

static void rewind_tape(struct tape_fixture *t)
{
	const uint8_t c[6] = {0x01};
	fixture_assert_good(run(t, c, 6));
}

/* READ(6) variable of `ask` bytes expecting a record of len bytes from seed. */
static void read_rec(struct tape_fixture *t, uint32_t len, uint8_t seed)
{
	uint8_t c[6];
	cdb6(c, 0x08, 0, len);
	struct uscst_cmd *cmd = run(t, c, 6);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, len);
	uint8_t *b = malloc(len);
	assert_non_null(b);
	fill(b, len, seed);
	assert_memory_equal(cmd->in_buf, b, len);
	free(b);
}

static struct uscst_cmd *read_var(struct tape_fixture *t, uint32_t ask, bool sili)
{
	uint8_t c[6];
	cdb6(c, 0x08, sili ? 2 : 0, ask);
	return run(t, c, 6);
}

static uint32_t position(struct tape_fixture *t)
{
	const uint8_t c[10] = {0x34};
	struct uscst_cmd *cmd = run(t, c, 10);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 20);
	assert_int_equal(get_be32(cmd->in_buf + 4), get_be32(cmd->in_buf + 8));
	return get_be32(cmd->in_buf + 4);
}

/* ---- the format ---- */

static void test_format_header(void **state)
{
	(void)state;
	uint8_t b[TAPE_HEADER_SIZE];
	struct tape_header h = {.capacity = 1 << 20,
				.flags = TAPE_FLAG_WRITE_PROTECT,
				.volume_id = 7},
			   back;
	tape_header_encode(b, &h);
	assert_null(tape_header_decode(b, sizeof(b), &back));
	assert_int_equal(back.capacity, h.capacity);
	assert_int_equal(back.flags, h.flags);
	assert_int_equal(back.volume_id, 7);
	assert_string_equal(tape_header_decode(b, 10, &back), "too short for a tape image header");
	b[20] ^= 1;
	assert_string_equal(tape_header_decode(b, sizeof(b), &back),
			    "tape image header checksum mismatch");
	b[20] ^= 1;
	b[0] = 'X';
	assert_string_equal(tape_header_decode(b, sizeof(b), &back),
			    "not a tape image (bad magic)");
	h.capacity = 100;
	tape_header_encode(b, &h);
	assert_string_equal(tape_header_decode(b, sizeof(b), &back), "capacity below 64 KiB");
}

static void test_format_record(void **state)
{
	(void)state;
	uint8_t b[TAPE_REC_HDR_SIZE];
	struct tape_rec r = {.type = TAPE_REC_DATA,
			     .seq = 5,
			     .len = 100,
			     .data_crc = 9,
			     .prev_crc = 11,
			     .salt = 13},
			back;
	tape_rec_encode(b, &r);
	assert_true(tape_rec_decode(b, &back));
	assert_int_equal(back.hdr_crc, r.hdr_crc);
	assert_true(tape_rec_follows(&back, 5, 11));
	assert_false(tape_rec_follows(&back, 6, 11));
	assert_false(tape_rec_follows(&back, 5, 12));
	/* Any flipped bit makes it invalid. */
	for (unsigned i = 0; i < TAPE_REC_HDR_SIZE * 8; i++) {
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_false(tape_rec_decode(b, &back));
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* A filemark with a length, a record over the limit: invalid. */
	r = (struct tape_rec){.type = TAPE_REC_FILEMARK, .len = 1};
	tape_rec_encode(b, &r);
	assert_false(tape_rec_decode(b, &back));
	r = (struct tape_rec){.type = TAPE_REC_DATA, .len = TAPE_MAX_RECORD + 1};
	tape_rec_encode(b, &r);
	assert_false(tape_rec_decode(b, &back));
	/* CRC32C check value. */
	assert_int_equal(tape_crc("123456789", 9), 0xe3069283);
}

/* ---- commands ---- */

static void test_inquiry_tape_removable(void **state)
{
	struct tape_fixture *t = *state;
	const uint8_t c[6] = {0x12, 0, 0, 0, 96, 0};
	struct uscst_cmd *cmd = run(t, c, 6);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_buf[0], 0x01);
	assert_int_equal(cmd->in_buf[1], 0x80);
}

static void test_write_read_filemark_eod(void **state)
{
	struct tape_fixture *t = *state;
	write_rec(t, 1000, 1);
	write_rec(t, 17, 2);
	write_fm(t, 1, false);
	write_rec(t, 5000, 3);
	assert_int_equal(position(t), 4);
	rewind_tape(t);
	assert_int_equal(position(t), 0);
	read_rec(t, 1000, 1);
	read_rec(t, 17, 2);
	/* The filemark: NO SENSE, FILEMARK, FILEMARK DETECTED, residue. */
	assert_tape_sense(read_var(t, 64, false), SK_NO_SENSE, 0x00, 0x01, 0x80, 64);
	assert_int_equal(position(t), 3);
	read_rec(t, 5000, 3);
	/* End of data: BLANK CHECK, END-OF-DATA DETECTED, residue; stays. */
	assert_tape_sense(read_var(t, 64, false), SK_BLANK_CHECK, 0x00, 0x05, 0, 64);
	assert_int_equal(position(t), 4);
	/* A transfer length of 0 moves nothing. */
	rewind_tape(t);
	fixture_assert_good(read_var(t, 0, false));
	assert_int_equal(position(t), 0);
}

static void test_read_incorrect_length(void **state)
{
	struct tape_fixture *t = *state;
	write_rec(t, 100, 1);
	write_rec(t, 100, 2);
	write_rec(t, 100, 3);
	write_rec(t, 100, 4);
	rewind_tape(t);
	/* Shorter than asked: ILI, residue +, the whole record sent. */
	struct uscst_cmd *cmd = read_var(t, 150, false);
	assert_tape_sense(cmd, SK_NO_SENSE, 0, 0, 0x20, 50);
	assert_int_equal(cmd->in_len, 100);
	assert_true(cmd->in_with_sense);
	/* SILI hides the underlength. */
	cmd = read_var(t, 150, true);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 100);
	assert_false(cmd->in_with_sense);
	/* Longer: ILI, negative residue, the first bytes sent, positioned
	 * after the record; SILI hides it in variable-block mode. */
	cmd = read_var(t, 60, false);
	assert_tape_sense(cmd, SK_NO_SENSE, 0, 0, 0x20, -40);
	assert_int_equal(cmd->in_len, 60);
	assert_int_equal(position(t), 3);
	fixture_assert_good(read_var(t, 60, true));
	assert_int_equal(position(t), 4);
}

static void test_space_locate(void **state)
{
	struct tape_fixture *t = *state;
	/* b0 b1 FM b3 b4 b5 FM b7 : objects 0..7, EOD 8 */
	write_rec(t, 10, 0);
	write_rec(t, 10, 1);
	write_fm(t, 1, false);
	write_rec(t, 10, 3);
	write_rec(t, 10, 4);
	write_rec(t, 10, 5);
	write_fm(t, 1, true);
	write_rec(t, 10, 7);
	rewind_tape(t);
	uint8_t c[6];
	cdb6(c, 0x11, 1, 1); /* one filemark forward */
	fixture_assert_good(run(t, c, 6));
	assert_int_equal(position(t), 3);
	read_rec(t, 10, 3);
	cdb6(c, 0x11, 0, 5); /* 5 blocks: meets FM after 2 */
	assert_tape_sense(run(t, c, 6), SK_NO_SENSE, 0, 1, 0x80, 3);
	assert_int_equal(position(t), 7);
	cdb6(c, 0x11, 0, (uint32_t)-2 & 0xffffff); /* 2 back: FM at once */
	assert_tape_sense(run(t, c, 6), SK_NO_SENSE, 0, 1, 0x80, 2);
	assert_int_equal(position(t), 6);
	cdb6(c, 0x11, 1, (uint32_t)-1 & 0xffffff); /* 1 filemark back: BOT side of 2 */
	fixture_assert_good(run(t, c, 6));
	assert_int_equal(position(t), 2);
	cdb6(c, 0x11, 1, (uint32_t)-2 & 0xffffff); /* past BOT: EOM, 00/04, residue 2 */
	assert_tape_sense(run(t, c, 6), SK_NO_SENSE, 0, 4, 0x40, 2);
	assert_int_equal(position(t), 0);
	cdb6(c, 0x11, 1, 5); /* 5 filemarks: 2 there, then EOD */
	assert_tape_sense(run(t, c, 6), SK_BLANK_CHECK, 0, 5, 0, 3);
	assert_int_equal(position(t), 8);
	cdb6(c, 0x11, 3, 0); /* end of data */
	rewind_tape(t);
	fixture_assert_good(run(t, c, 6));
	assert_int_equal(position(t), 8);
	cdb6(c, 0x11, 2, 1); /* sequential filemarks: not supported */
	assert_invalid_field(run(t, c, 6), 1, 3);
	/* LOCATE(10) to object 4; LOCATE(16) to file 2, to EOD; past EOD. */
	uint8_t l10[10] = {0x2b, 0, 0, 0, 0, 0, 4, 0, 0, 0};
	fixture_assert_good(run(t, l10, 10));
	read_rec(t, 10, 4);
	uint8_t l16[16] = {0x92, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
	fixture_assert_good(run(t, l16, 16));
	assert_int_equal(position(t), 7);
	l16[1] = 0x18;
	fixture_assert_good(run(t, l16, 16));
	assert_int_equal(position(t), 8);
	l16[1] = 0x10; /* DEST_TYPE 010b: reserved */
	assert_invalid_field(run(t, l16, 16), 1, 5);
	l10[6] = 9;
	fixture_assert_sense(run(t, l10, 10), SK_BLANK_CHECK, 0, 5);
	assert_int_equal(position(t), 8);
	l10[1] = 0x02; /* CP to partition 1 */
	l10[8] = 1;
	assert_invalid_field(run(t, l10, 10), 8, -1);
	/* READ POSITION long form: object and file numbers. */
	l10[1] = 0;
	l10[8] = 0;
	l10[6] = 5;
	fixture_assert_good(run(t, l10, 10));
	const uint8_t rpl[10] = {0x34, 0x06};
	struct uscst_cmd *cmd = run(t, rpl, 10);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 32);
	assert_int_equal(get_be64(cmd->in_buf + 8), 5);
	assert_int_equal(get_be64(cmd->in_buf + 16), 1);
	const uint8_t rp_alloc[10] = {0x34, 0, 0, 0, 0, 0, 0, 0, 20, 0};
	assert_invalid_field(run(t, rp_alloc, 10), 7, -1);
	const uint8_t rp_ext[10] = {0x34, 0x08};
	assert_invalid_field(run(t, rp_ext, 10), 1, 4);
}

static void test_overwrite_truncates(void **state)
{
	struct tape_fixture *t = *state;
	for (uint8_t i = 0; i < 5; i++)
		write_rec(t, 200, i);
	rewind_tape(t);
	read_rec(t, 200, 0);
	write_rec(t, 200, 9); /* object 1: everything after it is gone */
	rewind_tape(t);
	read_rec(t, 200, 0);
	read_rec(t, 200, 9);
	assert_tape_sense(read_var(t, 200, false), SK_BLANK_CHECK, 0, 5, 0, 200);
	/* And so after a new mount of the image. */
	remount(t);
	read_rec(t, 200, 0);
	read_rec(t, 200, 9);
	assert_tape_sense(read_var(t, 200, false), SK_BLANK_CHECK, 0, 5, 0, 200);
	/* ERASE at object 1 leaves only object 0. */
	rewind_tape(t);
	read_rec(t, 200, 0);
	const uint8_t erase[6] = {0x19, 0x01};
	fixture_assert_good(run(t, erase, 6));
	remount(t);
	read_rec(t, 200, 0);
	assert_tape_sense(read_var(t, 200, false), SK_BLANK_CHECK, 0, 5, 0, 200);
}

/* WRITE FILEMARKS with IMMED clear flushes before GOOD; with IMMED set it
 * does not; a count of 0 only flushes. */
static void test_filemarks_flush(void **state)
{
	struct tape_fixture *t = *state;
	write_rec(t, 10, 0);
	assert_int_equal(flushes, 0);
	write_fm(t, 1, true);
	assert_int_equal(flushes, 0);
	write_fm(t, 2, false);
	assert_int_equal(flushes, 1);
	write_rec(t, 10, 0);
	write_fm(t, 0, false);
	assert_int_equal(flushes, 2);
	write_fm(t, 0, false); /* nothing new written: nothing to flush */
	assert_int_equal(flushes, 2);
	/* WSMK (setmarks) is not supported. */
	uint8_t c[6];
	cdb6(c, 0x10, 0x02, 1);
	assert_invalid_field(run(t, c, 6), 1, 1);
}

/*
 * A crash in the middle of an append: the image is cut after the header
 * and part of the data of the last record (no end-of-data marker), or
 * right after its data, where bytes of an older, longer history follow.
 * The next mount keeps every complete record before it.
 */
static void test_torn_append_recovered(void **state)
{
	struct tape_fixture *t = *state;
	write_rec(t, 300, 1);
	write_fm(t, 1, false);
	uint64_t good_len = img_len; /* ... FM, EOD marker */
	write_rec(t, 3000, 2);
	/* Cut in the data of the last record: header there, data partly. */
	uint64_t rec_off = good_len - TAPE_REC_HDR_SIZE;
	memset(img + rec_off + TAPE_REC_HDR_SIZE + 1000, 0,
	       IMG_MAX - rec_off - TAPE_REC_HDR_SIZE - 1000);
	img_len = rec_off + TAPE_REC_HDR_SIZE + 1000;
	remount(t);
	read_rec(t, 300, 1);
	assert_tape_sense(read_var(t, 10, false), SK_NO_SENSE, 0, 1, 0x80, 10);
	assert_tape_sense(read_var(t, 10, false), SK_BLANK_CHECK, 0, 5, 0, 10);
	/* The tape goes on from there. */
	write_rec(t, 50, 3);
	remount(t);
	uint8_t sp[6];
	cdb6(sp, 0x11, 1, 1);
	fixture_assert_good(run(t, sp, 6));
	read_rec(t, 50, 3);
}

static void test_stale_history_not_resurrected(void **state)
{
	struct tape_fixture *t = *state;
	/* Five records of the same size, then the image as it was. */
	for (uint8_t i = 0; i < 5; i++)
		write_rec(t, 100, i);
	uint8_t *old = malloc(IMG_MAX);
	assert_non_null(old);
	memcpy(old, img, IMG_MAX);
	uint64_t old_len = img_len;
	/* From BOT one record of the same size (same bytes as before). */
	rewind_tape(t);
	write_rec(t, 100, 0);
	/* The crash cut the write right after the record's data: the marker
	 * never landed, the old record 1 follows. */
	uint64_t marker = TAPE_HEADER_SIZE + tape_rec_size(100);
	memcpy(img + marker, old + marker, old_len - marker);
	img_len = old_len;
	remount(t);
	read_rec(t, 100, 0);
	/* Old record 1 is not part of the tape: its prev_crc names the old
	 * record 0, whose salt differs. */
	assert_tape_sense(read_var(t, 100, false), SK_BLANK_CHECK, 0, 5, 0, 100);
	free(old);
}

/* A mount reads the image in chunks: headers across chunk boundaries,
 * records larger than a chunk. */
static void test_mount_across_chunks(void **state)
{
	struct tape_fixture *t = *state;
	blank_image(3 << 20, 0);
	remount(t);
	for (int i = 0; i < 120; i++)
		write_rec(t, 3001 + (uint32_t)i, (uint8_t)i);
	write_fm(t, 1, false);
	write_rec(t, 700000, 0xaa);
	write_rec(t, 5, 0xbb);
	remount(t);
	for (int i = 0; i < 120; i++)
		read_rec(t, 3001 + (uint32_t)i, (uint8_t)i);
	assert_tape_sense(read_var(t, 10, false), SK_NO_SENSE, 0, 1, 0x80, 10);
	read_rec(t, 700000, 0xaa);
	read_rec(t, 5, 0xbb);
	assert_tape_sense(read_var(t, 10, false), SK_BLANK_CHECK, 0, 5, 0, 10);
}

static void test_data_crc_checked_on_read(void **state)
{
	struct tape_fixture *t = *state;
	write_rec(t, 100, 1);
	write_rec(t, 100, 2);
	img[TAPE_HEADER_SIZE + TAPE_REC_HDR_SIZE + 5] ^= 0xff; /* the first record's data */
	rewind_tape(t);
	struct uscst_cmd *cmd = read_var(t, 100, false);
	assert_tape_sense(cmd, SK_MEDIUM_ERROR, 0x11, 0x00, 0, 100);
	read_rec(t, 100, 2);
}

/* Fixed-block READ of 4 blocks, the second one bad: the first goes to the
 * initiator, MEDIUM ERROR with INFORMATION 3 (the blocks not
 * transferred), the position after the bad block. */
static void test_fixed_read_bad_block(void **state)
{
	struct tape_fixture *t = *state;
	const uint8_t sel[12] = {0, 0, 0x10, 8, 0x80, 0, 0, 0, 0, 0, 0x02, 0x00}; /* 512 */
	const uint8_t ms[6] = {0x15, 0x10, 0, 0, 12, 0};
	fixture_assert_good(run_out(t, ms, 6, sel, 12));
	uint8_t data[4 * 512];
	fill(data, sizeof(data), 5);
	uint8_t c[6];
	cdb6(c, 0x0a, 1, 4);
	fixture_assert_good(run_out(t, c, 6, data, sizeof(data)));
	img[TAPE_HEADER_SIZE + tape_rec_size(512) + TAPE_REC_HDR_SIZE + 7] ^= 0xff;
	rewind_tape(t);
	cdb6(c, 0x08, 1, 4);
	struct uscst_cmd *cmd = run(t, c, 6);
	assert_tape_sense(cmd, SK_MEDIUM_ERROR, 0x11, 0x00, 0, 3);
	assert_int_equal(cmd->in_len, 512);
	assert_true(cmd->in_with_sense);
	assert_memory_equal(cmd->in_buf, data, 512);
	assert_int_equal(position(t), 2);
	cdb6(c, 0x08, 1, 2);
	cmd = run(t, c, 6);
	fixture_assert_good(cmd);
	assert_memory_equal(cmd->in_buf, data + 1024, 1024);
}

/* WRITE FILEMARKS of 16M filemarks on a 1 TiB tape: written in pieces of
 * at most 4 MiB (not one buffer of 671 MB), and no more than
 * SSC_MAX_OBJECTS objects on the tape: VOLUME OVERFLOW for the rest. */
static void test_many_filemarks_bounded(void **state)
{
	struct tape_fixture *t = *state;
	blank_image(1ull << 40, 0);
	remount(t);
	sink_high = true;
	uint8_t c[6];
	cdb6(c, 0x10, 1, 0xffffff);
	assert_tape_sense(run(t, c, 6), SK_VOLUME_OVERFLOW, 0, 2, 0x40, 0xffffff - SSC_MAX_OBJECTS);
	assert_true(largest_write <= (4u << 20) + TAPE_REC_HDR_SIZE);
	assert_int_equal(ssc_state(t->dev)->count, SSC_MAX_OBJECTS);
	cdb6(c, 0x10, 1, 1);
	assert_tape_sense(run(t, c, 6), SK_VOLUME_OVERFLOW, 0, 2, 0x40, 1);
	/* Variable-block WRITE too. */
	uint8_t b[10] = {0};
	cdb6(c, 0x0a, 0, sizeof(b));
	assert_tape_sense(run_out(t, c, 6, b, sizeof(b)), SK_VOLUME_OVERFLOW, 0, 2, 0x40, 10);
}

/* An append of several pieces: each piece continues the chain, and a
 * new mount finds every object and the end of data after them. */
static void test_append_in_pieces_mounts(void **state)
{
	struct tape_fixture *t = *state;
	blank_image(IMG_MAX - 4096, 0);
	remount(t);
	write_fm(t, 150000, false); /* 6 MB of filemark records: two pieces */
	assert_true(largest_write <= (4u << 20) + TAPE_REC_HDR_SIZE);
	write_rec(t, 100, 3);
	remount(t);
	uint8_t c[6];
	cdb6(c, 0x11, 3, 0); /* SPACE to end of data */
	fixture_assert_good(run(t, c, 6));
	assert_int_equal(position(t), 150001);
	cdb6(c, 0x11, 0, 0xffffff); /* SPACE blocks back 1 */
	fixture_assert_good(run(t, c, 6));
	read_rec(t, 100, 3);
}

/* A WRITE at BOT that fails (nothing reached the image): the tape ends at
 * BOT in memory, and after a new mount too (the old records, still
 * chained in the image, do not come back). */
static void test_failed_write_ends_data_on_disk(void **state)
{
	struct tape_fixture *t = *state;
	for (uint8_t i = 0; i < 3; i++)
		write_rec(t, 200, i);
	rewind_tape(t);
	fail_next_write = true;
	uint8_t b[50] = {0}, c[6];
	cdb6(c, 0x0a, 0, sizeof(b));
	fixture_assert_sense(run_out(t, c, 6, b, sizeof(b)), SK_MEDIUM_ERROR, 0x0c, 0x00);
	assert_int_equal(position(t), 0);
	remount(t);
	assert_tape_sense(read_var(t, 200, false), SK_BLANK_CHECK, 0, 5, 0, 200);
	assert_int_equal(position(t), 0);
}

/* A 64 KiB tape: early warning 4 KiB before the end. */
static void test_early_warning_and_overflow(void **state)
{
	struct tape_fixture *t = *state;
	blank_image(64 << 10, 0);
	remount(t);
	uint8_t *b = calloc(1, 7000);
	assert_non_null(b);
	uint8_t c[6];
	cdb6(c, 0x0a, 0, 7000);
	int good = 0, ew = 0;
	for (int i = 0; i < 10; i++) {
		struct uscst_cmd *cmd = run_out(t, c, 6, b, 7000);
		if (cmd->status == SAM_STAT_GOOD) {
			assert_int_equal(ew, 0);
			good++;
			continue;
		}
		if ((cmd->sense[2] & 0x0f) == SK_NO_SENSE) {
			assert_tape_sense(cmd, SK_NO_SENSE, 0, 2, 0x40, 0);
			ew++;
			continue;
		}
		assert_tape_sense(cmd, SK_VOLUME_OVERFLOW, 0, 2, 0x40, 7000);
		break;
	}
	/* Records of 7000 + 40 bytes and the 40-byte marker: after 8 of them
	 * 9176 bytes are left, after the 9th 2136 (less than the 4 KiB of
	 * early warning), a 10th does not fit. */
	assert_int_equal(good, 8);
	assert_int_equal(ew, 1);
	/* Filemarks still fit, past early warning: written, EOM. */
	cdb6(c, 0x10, 0, 1);
	assert_tape_sense(run(t, c, 6), SK_NO_SENSE, 0, 2, 0x40, 0);
	rewind_tape(t);
	for (int i = 0; i < 9; i++)
		fixture_assert_good(read_var(t, 7000, false));
	/* READ POSITION at EOD past early warning: EOP. */
	cdb6(c, 0x11, 3, 0);
	fixture_assert_good(run(t, c, 6));
	const uint8_t rp[10] = {0x34};
	assert_int_equal(run(t, rp, 10)->in_buf[0] & 0x40, 0x40);
	free(b);
}

static void test_fixed_block_mode(void **state)
{
	struct tape_fixture *t = *state;
	uint8_t c[6];
	/* FIXED without a block length: INVALID FIELD IN CDB. */
	cdb6(c, 0x0a, 1, 1);
	assert_invalid_field(run(t, c, 6), 1, 0);
	const uint8_t sel[12] = {0, 0, 0x10, 8, 0x80, 0, 0, 0, 0, 0, 0x02, 0x00}; /* 512 */
	const uint8_t ms[6] = {0x15, 0x10, 0, 0, 12, 0};
	fixture_assert_good(run_out(t, ms, 6, sel, 12));
	assert_int_equal(ua_dev_record.calls, 1); /* MODE PARAMETERS CHANGED */
	assert_int_equal(ua_dev_record.asc, 0x2a);
	const uint8_t sense6[6] = {0x1a, 0, 0x10, 0, 255, 0};
	struct uscst_cmd *cmd = run(t, sense6, 6);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_buf[0], 4 + 8 + 16 - 1);
	assert_int_equal(cmd->in_buf[2], 0x10); /* BUFFERED MODE 1, not protected */
	assert_int_equal(cmd->in_buf[4], SSC_DENSITY);
	assert_int_equal(get_be24(cmd->in_buf + 9), 512);
	assert_int_equal(cmd->in_buf[12], 0x10); /* device configuration page */
	uint8_t data[3 * 512];
	fill(data, sizeof(data), 5);
	cdb6(c, 0x0a, 1, 3);
	fixture_assert_good(run_out(t, c, 6, data, sizeof(data)));
	write_fm(t, 1, false);
	rewind_tape(t);
	cdb6(c, 0x08, 1, 2);
	cmd = run(t, c, 6);
	fixture_assert_good(cmd);
	assert_memory_equal(cmd->in_buf, data, 1024);
	cdb6(c, 0x08, 1, 4); /* 1 left before the filemark */
	cmd = run(t, c, 6);
	assert_tape_sense(cmd, SK_NO_SENSE, 0, 1, 0x80, 3);
	assert_int_equal(cmd->in_len, 512);
	assert_true(cmd->in_with_sense);
	assert_memory_equal(cmd->in_buf, data + 1024, 512);
	cdb6(c, 0x08, 3, 1); /* SILI with FIXED */
	assert_invalid_field(run(t, c, 6), 1, 1);
	/* A bad density or block length in MODE SELECT. */
	uint8_t bad[12];
	memcpy(bad, sel, 12);
	bad[4] = 0x42;
	assert_invalid_field_param(run_out(t, ms, 6, bad, 12), 4);
	memcpy(bad, sel, 12);
	put_be24(bad + 9, SSC_MAX_BLOCK + 1);
	assert_invalid_field_param(run_out(t, ms, 6, bad, 12), 9);
}

static void test_write_protected(void **state)
{
	struct tape_fixture *t = *state;
	blank_image(1 << 20, TAPE_FLAG_WRITE_PROTECT);
	remount(t);
	uint8_t b[16] = {0}, c[6];
	cdb6(c, 0x0a, 0, sizeof(b));
	fixture_assert_sense(run_out(t, c, 6, b, sizeof(b)), SK_DATA_PROTECT, 0x27, 0x00);
	cdb6(c, 0x10, 0, 1);
	fixture_assert_sense(run(t, c, 6), SK_DATA_PROTECT, 0x27, 0x00);
	const uint8_t erase[6] = {0x19};
	fixture_assert_sense(run(t, erase, 6), SK_DATA_PROTECT, 0x27, 0x00);
	const uint8_t sense6[6] = {0x1a, 0x08, 0x3f, 0, 255, 0};
	assert_int_equal(run(t, sense6, 6)->in_buf[2] & 0x80, 0x80); /* WP */
	/* A read-only device: refused by dispatch already. */
	blank_image(1 << 20, 0);
	remount(t);
	t->dev->read_only = true;
	cdb6(c, 0x0a, 0, sizeof(b));
	fixture_assert_sense(run_out(t, c, 6, b, sizeof(b)), SK_DATA_PROTECT, 0x27, 0x00);
	t->dev->read_only = false;
}

static void test_unload_load_and_empty(void **state)
{
	struct tape_fixture *t = *state;
	write_rec(t, 10, 1);
	const uint8_t unload[6] = {0x1b, 0, 0, 0, 0, 0}, load[6] = {0x1b, 0, 0, 0, 1, 0};
	const uint8_t tur[6] = {0};
	uint64_t before = flushes;
	fixture_assert_good(run(t, unload, 6));
	assert_int_equal(flushes, before + 1); /* written data go to the image */
	fixture_assert_sense(run(t, tur, 6), SK_NOT_READY, 0x3a, 0x00);
	uint8_t c[6];
	cdb6(c, 0x08, 0, 10);
	fixture_assert_sense(run(t, c, 6), SK_NOT_READY, 0x3a, 0x00);
	ua_record_reset();
	fixture_assert_good(run(t, load, 6));
	assert_int_equal(ua_dev_record.calls, 1); /* the other nexuses: 06/28/00 */
	assert_ptr_equal(ua_dev_record.except, &t->f->sess);
	assert_int_equal(ua_dev_record.asc, 0x28);
	fixture_assert_good(run(t, tur, 6));
	read_rec(t, 10, 1);
	/* PREVENT: UNLOAD refused; ALLOW again: it works. */
	const uint8_t prevent[6] = {0x1e, 0, 0, 0, 1, 0}, allow[6] = {0x1e};
	fixture_assert_good(run(t, prevent, 6));
	fixture_assert_sense(run(t, unload, 6), SK_ILLEGAL_REQUEST, 0x53, 0x02);
	fixture_assert_good(run(t, allow, 6));
	const uint8_t eot_load[6] = {0x1b, 0, 0, 0, 5, 0};
	assert_invalid_field(run(t, eot_load, 6), 4, 2);
	const uint8_t hold[6] = {0x1b, 0, 0, 0, 9, 0};
	assert_invalid_field(run(t, hold, 6), 4, 3);
	/* An empty drive (filename none): a LOAD finds no tape. */
	uscst_device_set_medium_present(t->dev, false);
	remount(t);
	fixture_assert_sense(run(t, tur, 6), SK_NOT_READY, 0x3a, 0x00);
	fixture_assert_sense(run(t, load, 6), SK_NOT_READY, 0x3a, 0x00);
	const uint8_t rds[10] = {0x44, 1, 0, 0, 0, 0, 0, 0, 60, 0};
	fixture_assert_sense(run(t, rds, 10), SK_NOT_READY, 0x3a, 0x00);
}

static void test_limits_density_pages(void **state)
{
	struct tape_fixture *t = *state;
	const uint8_t rbl[6] = {0x05};
	struct uscst_cmd *cmd = run(t, rbl, 6);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 6);
	assert_int_equal(get_be24(cmd->in_buf + 1), SSC_MAX_BLOCK);
	assert_int_equal(get_be16(cmd->in_buf + 4), 1);
	const uint8_t mloi[6] = {0x05, 1};
	assert_invalid_field(run(t, mloi, 6), 1, 0);
	const uint8_t rds[10] = {0x44, 1, 0, 0, 0, 0, 0, 0, 60, 0};
	cmd = run(t, rds, 10);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 56);
	assert_int_equal(get_be16(cmd->in_buf), 54);
	assert_int_equal(cmd->in_buf[4], SSC_DENSITY);
	assert_int_equal(get_be32(cmd->in_buf + 4 + 12), 1); /* 1 MiB: 1 MB */
	const uint8_t rds_mt[10] = {0x44, 2, 0, 0, 0, 0, 0, 0, 60, 0};
	assert_invalid_field(run(t, rds_mt, 10), 1, 1);
	/* MODE SENSE(10) of the device configuration page; saved values:
	 * not supported; an unknown page. */
	const uint8_t ms10[10] = {0x5a, 0, 0x10, 0, 0, 0, 0, 0, 255, 0};
	cmd = run(t, ms10, 10);
	fixture_assert_good(cmd);
	assert_int_equal(get_be16(cmd->in_buf + 6), 8);
	uint8_t page[16];
	memcpy(page, cmd->in_buf + 16, 16);
	assert_int_equal(page[0], 0x10);
	assert_int_equal(page[8] & 0x40, 0x40); /* LOIS */
	const uint8_t saved[6] = {0x1a, 0, 0xd0, 0, 255, 0};
	fixture_assert_sense(run(t, saved, 6), SK_ILLEGAL_REQUEST, 0x39, 0x00);
	const uint8_t page0[6] = {0x1a, 0, 0x00, 0, 255, 0};
	cmd = run(t, page0, 6);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 12); /* header and block descriptor */
	const uint8_t unknown[6] = {0x1a, 0, 0x08, 0, 255, 0};
	assert_invalid_field(run(t, unknown, 6), 2, 5);
	/* MODE SELECT of the page as it is: fine; with LOIS cleared: the
	 * field is not changeable. */
	uint8_t sel[4 + 16] = {0, 0, 0x10, 0};
	memcpy(sel + 4, page, 16);
	const uint8_t ms6[6] = {0x15, 0x10, 0, 0, sizeof(sel), 0};
	fixture_assert_good(run_out(t, ms6, 6, sel, sizeof(sel)));
	sel[4 + 8] = 0;
	assert_invalid_field_param(run_out(t, ms6, 6, sel, sizeof(sel)), 4 + 8);
	/* SP: nothing can be saved. */
	const uint8_t sp[6] = {0x15, 0x11, 0, 0, sizeof(sel), 0};
	assert_invalid_field(run_out(t, sp, 6, sel, sizeof(sel)), 1, 0);
	/* The Control page's D_SENSE: descriptor sense with the stream
	 * descriptor afterwards. */
	uint8_t ctl[4 + 12] = {0, 0, 0x10, 0, 0x0a, 10, 0x22 | 0x04, 0, 0, 0, 0, 0, 0xff, 0xff};
	const uint8_t ms6c[6] = {0x15, 0x10, 0, 0, sizeof(ctl), 0};
	fixture_assert_good(run_out(t, ms6c, 6, ctl, sizeof(ctl)));
	write_fm(t, 1, false);
	rewind_tape(t);
	cmd = read_var(t, 10, false);
	assert_int_equal(cmd->sense[0], 0x72);
	assert_int_equal(cmd->sense[1], SK_NO_SENSE);
	assert_int_equal(cmd->sense[3], 0x01);
	/* information descriptor, then the stream commands one: FILEMARK */
	assert_int_equal(cmd->sense[8], 0x00);
	assert_int_equal(cmd->sense[20], 0x04);
	assert_int_equal(cmd->sense[23], 0x80);
}

/* Commands from two nexuses: the second waits until the first ends. */
static void queued_done(struct uscst_cmd *cmd) { cmd->hctx = (void *)1; }

static void test_one_command_at_a_time(void **state)
{
	struct tape_fixture *t = *state;
	write_rec(t, 10, 1);
	rewind_tape(t);
	defer_io = true;
	uint8_t c[6];
	cdb6(c, 0x08, 0, 10);
	struct uscst_cmd *a = fixture_prepare(t->f, 0, c, 6);
	t->dev->cmdset->decode(a);
	t->dev->cmdset->dispatch(a);
	assert_non_null(deferred);
	assert_int_equal(t->f->done_calls, 0);
	struct uscst_cmd b;
	const uint8_t rp[10] = {0x34};
	fixture_cmd_init(&b, &t->f->sess, 0, rp, 10, queued_done);
	b.hctx = NULL;
	t->dev->cmdset->decode(&b);
	t->dev->cmdset->dispatch(&b);
	assert_null(b.hctx); /* waits */
	defer_io = false;
	struct uscst_io *io = deferred;
	deferred = NULL;
	complete_io(io);
	assert_int_equal(t->f->done_calls, 1);
	fixture_assert_good(a);
	assert_non_null(b.hctx); /* then ran: after the READ, at object 1 */
	fixture_assert_good(&b);
	assert_int_equal(get_be32(b.in_buf + 4), 1);
	uscst_cmd_release(&b);
}

/* A tape change (the backend's run-time filename, a changer): out, then a
 * new one in; NOT READY without it, NOT READY TO READY CHANGE for every
 * nexus with it, and the new tape at BOT. */
static void test_medium_change(void **state)
{
	struct tape_fixture *t = *state;
	write_rec(t, 10, 1);
	uscst_device_medium_changed(t->dev, false);
	const uint8_t tur[6] = {0}, load[6] = {0x1b, 0, 0, 0, 1, 0};
	fixture_assert_sense(run(t, tur, 6), SK_NOT_READY, 0x3a, 0x00);
	fixture_assert_sense(run(t, load, 6), SK_NOT_READY, 0x3a, 0x00);
	blank_image(1 << 20, 0);
	ua_record_reset();
	uscst_device_medium_changed(t->dev, true);
	assert_int_equal(ua_dev_record.calls, 1);
	assert_int_equal(ua_dev_record.asc, 0x28);
	/* The UA exists before the new tape can be seen. */
	assert_false(ua_dev_record.medium_present);
	fixture_assert_good(run(t, tur, 6));
	assert_int_equal(position(t), 0);
	assert_tape_sense(read_var(t, 10, false), SK_BLANK_CHECK, 0, 5, 0, 10);
}

/* A change while a command runs does not wait for it: the command's next
 * I/O is not submitted (it would reach the new tape with the old tape's
 * index) and it ends NOT READY; the next command mounts the new tape. */
static void test_medium_change_during_command(void **state)
{
	struct tape_fixture *t = *state;
	write_rec(t, 10, 1);
	defer_io = true;
	uint8_t c[6];
	cdb6(c, 0x10, 0, 1); /* WRITE FILEMARKS, IMMED 0: a write, then a flush */
	struct uscst_cmd *a = fixture_prepare(t->f, 0, c, 6);
	t->dev->cmdset->decode(a);
	t->dev->cmdset->dispatch(a);
	assert_non_null(deferred);
	uscst_device_medium_changed(t->dev, false); /* returns at once */
	defer_io = false;
	struct uscst_io *io = deferred;
	deferred = NULL;
	unsigned before = flushes;
	complete_io(io);
	assert_int_equal(t->f->done_calls, 1);
	fixture_assert_sense(a, SK_NOT_READY, 0x3a, 0x00);
	assert_int_equal(flushes, before); /* the flush never reached the backend */
	blank_image(1 << 20, 0);
	uscst_device_medium_changed(t->dev, true);
	const uint8_t tur[6] = {0};
	fixture_assert_good(run(t, tur, 6));
	assert_int_equal(position(t), 0);
	assert_tape_sense(read_var(t, 10, false), SK_BLANK_CHECK, 0, 5, 0, 10);
}

static uint8_t mode_sense_wp(struct tape_fixture *t)
{
	const uint8_t sense6[6] = {0x1a, 0x08, 0x3f, 0, 255, 0};
	struct uscst_cmd *cmd = run(t, sense6, 6);
	fixture_assert_good(cmd);
	return cmd->in_buf[2] & 0x80;
}

/* MODE SENSE's WP after a tape change is the new tape's, also when it is
 * the first command after the change: never the flag of the tape that
 * left. */
static void test_mode_sense_wp_follows_tape(void **state)
{
	struct tape_fixture *t = *state;
	blank_image(1 << 20, TAPE_FLAG_WRITE_PROTECT);
	remount(t);
	assert_int_equal(mode_sense_wp(t), 0x80);
	uscst_device_medium_changed(t->dev, false);
	assert_int_equal(mode_sense_wp(t), 0); /* no tape */
	blank_image(1 << 20, 0);
	uscst_device_medium_changed(t->dev, true);
	assert_int_equal(mode_sense_wp(t), 0);
	uscst_device_medium_changed(t->dev, false);
	blank_image(1 << 20, TAPE_FLAG_WRITE_PROTECT);
	uscst_device_medium_changed(t->dev, true);
	assert_int_equal(mode_sense_wp(t), 0x80);
}

/* A LU reset (from the task management thread) while a fixed-block WRITE
 * runs: the WRITE keeps the block length it started with, the defaults
 * (variable-block mode) apply once it ends. */
static void test_lu_reset_waits_for_command(void **state)
{
	struct tape_fixture *t = *state;
	const uint8_t sel[12] = {0, 0, 0x10, 8, 0x80, 0, 0, 0, 0, 0, 0x02, 0x00}; /* 512 */
	const uint8_t ms[6] = {0x15, 0x10, 0, 0, 12, 0};
	fixture_assert_good(run_out(t, ms, 6, sel, 12));
	(void)position(t);
	uint8_t data[512];
	fill(data, sizeof(data), 9);
	uint8_t c[6];
	cdb6(c, 0x0a, 1, 1);
	defer_io = true;
	struct uscst_cmd *w = fixture_prepare(t->f, 0, c, 6);
	t->dev->cmdset->decode(w);
	fixture_cmd_data_out(w, data, sizeof(data));
	t->dev->cmdset->dispatch(w);
	assert_non_null(deferred);
	t->dev->cmdset->lu_reset(t->dev);
	assert_int_equal(ssc_state(t->dev)->block_len, 512); /* not under the WRITE */
	defer_io = false;
	struct uscst_io *io = deferred;
	deferred = NULL;
	complete_io(io);
	fixture_assert_good(w);
	const uint8_t sense6[6] = {0x1a, 0, 0x10, 0, 255, 0};
	struct uscst_cmd *cmd = run(t, sense6, 6);
	fixture_assert_good(cmd);
	assert_int_equal(get_be24(cmd->in_buf + 9), 0); /* variable-block mode now */
	rewind_tape(t);
	cmd = read_var(t, 512, false);
	fixture_assert_good(cmd);
	assert_memory_equal(cmd->in_buf, data, 512);
}

/* The administrator swaps the tape for tape B right after a WRITE passed
 * its unit attention check (the UA was not there yet): the WRITE must not
 * reach tape B (it would write at its BOT and destroy it). */
static uint8_t *tape_b;
static uint64_t tape_b_len;
static struct tape_fixture *change_t;

static void change_to_tape_b(void)
{
	uscst_device_medium_changed(change_t->dev, false);
	memcpy(img, tape_b, IMG_MAX);
	img_len = tape_b_len;
	uscst_device_medium_changed(change_t->dev, true);
}

static void test_change_after_ua_check(void **state)
{
	struct tape_fixture *t = *state;
	for (uint8_t i = 0; i < 3; i++)
		write_rec(t, 300, (uint8_t)(10 + i));
	tape_b = malloc(IMG_MAX);
	assert_non_null(tape_b);
	memcpy(tape_b, img, IMG_MAX);
	tape_b_len = img_len;
	blank_image(1 << 20, 0);
	remount(t);
	write_rec(t, 100, 1);
	change_t = t;
	ua_record_on_take = change_to_tape_b;
	uint8_t b[100];
	fill(b, sizeof(b), 77);
	uint8_t c[6];
	cdb6(c, 0x0a, 0, sizeof(b));
	fixture_assert_sense(run_out(t, c, 6, b, sizeof(b)), SK_NOT_READY, 0x3a, 0x00);
	rewind_tape(t);
	read_rec(t, 300, 10);
	read_rec(t, 300, 11);
	read_rec(t, 300, 12);
	free(tape_b);
}

/* Reserved CDB bits, by the usage masks; unknown opcodes of the disk. */
static void test_cdb_checks(void **state)
{
	struct tape_fixture *t = *state;
	const uint8_t rewind_bad[6] = {0x01, 0x02};
	assert_invalid_field(run(t, rewind_bad, 6), 1, 1);
	const uint8_t read10[10] = {0x28};
	fixture_assert_sense(run(t, read10, 10), SK_ILLEGAL_REQUEST, 0x20, 0x00);
	const uint8_t rc16[16] = {0x9e, 0x10};
	fixture_assert_sense(run(t, rc16, 16), SK_ILLEGAL_REQUEST, 0x20, 0x00);
	const uint8_t pr_bad_sa[10] = {0x5e, 0x1f};
	assert_invalid_field(run(t, pr_bad_sa, 10), 1, 4);
	const uint8_t control[6] = {0x08, 0, 0, 0, 1, 0x04};
	assert_invalid_field(run(t, control, 6), 5, 2);
	const uint8_t tur[6] = {0};
	fixture_assert_good(run(t, tur, 6));
}

/* REPORT SUPPORTED OPERATION CODES lists the drive's table: its own
 * commands and the reservation commands borrowed from the disk table, in
 * order; and no disk command. */
static void test_report_supported_opcodes(void **state)
{
	struct tape_fixture *t = *state;
	const uint8_t all[12] = {0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0};
	struct uscst_cmd *cmd = run(t, all, 12);
	fixture_assert_good(cmd);
	uint32_t len = get_be32(cmd->in_buf);
	assert_int_equal(len % 8, 0);
	bool read6 = false, pr_in_keys = false, reserve6 = false, rsoc = false;
	unsigned prev = 0;
	for (uint32_t off = 4; off < 4 + len; off += 8) {
		const uint8_t *d = cmd->in_buf + off;
		unsigned key = (unsigned)d[0] << 8 | get_be16(d + 2);
		assert_true(key >= prev); /* sorted */
		prev = key;
		assert_int_not_equal(d[0], 0x28); /* no READ(10) */
		read6 |= d[0] == 0x08;
		reserve6 |= d[0] == 0x16;
		pr_in_keys |= d[0] == 0x5e && get_be16(d + 2) == 0 && (d[5] & 1);
		rsoc |= d[0] == 0xa3;
	}
	assert_true(read6 && reserve6 && pr_in_keys && rsoc);
	/* One command: WRITE FILEMARKS(6) supported, READ(10) not. */
	const uint8_t one[12] = {0xa3, 0x0c, 0x01, 0x10, 0, 0, 0, 0, 0, 64, 0, 0};
	cmd = run(t, one, 12);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_buf[1] & 0x07, 0x03);
	const uint8_t no[12] = {0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 0, 64, 0, 0};
	cmd = run(t, no, 12);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_buf[1] & 0x07, 0x01);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_header),
	    cmocka_unit_test(test_format_record),
	    T(test_inquiry_tape_removable),
	    T(test_write_read_filemark_eod),
	    T(test_read_incorrect_length),
	    T(test_space_locate),
	    T(test_overwrite_truncates),
	    T(test_filemarks_flush),
	    T(test_torn_append_recovered),
	    T(test_stale_history_not_resurrected),
	    T(test_mount_across_chunks),
	    T(test_data_crc_checked_on_read),
	    T(test_early_warning_and_overflow),
	    T(test_fixed_block_mode),
	    T(test_write_protected),
	    T(test_unload_load_and_empty),
	    T(test_limits_density_pages),
	    T(test_one_command_at_a_time),
	    T(test_cdb_checks),
	    T(test_mode_sense_wp_follows_tape),
	    T(test_lu_reset_waits_for_command),
	    T(test_change_after_ua_check),
	    T(test_fixed_read_bad_block),
	    T(test_many_filemarks_bounded),
	    T(test_append_in_pieces_mounts),
	    T(test_failed_write_ends_data_on_disk),
	    T(test_report_supported_opcodes),
	    T(test_medium_change),
	    T(test_medium_change_during_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
