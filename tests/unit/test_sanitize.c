/*
 * SANITIZE (scsi/sbc_sanitize.c) through the dispatcher, against an
 * in-memory backend that completes inside submit() or, with `fake.async`,
 * parks each request until the test completes it: the sanitize operation
 * is then "in progress" for as long as the test wants.
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

#include "fixtures/fixture_scsi.h"
#include "scsi/scsi.h"

#define BS 512u
#define NBLOCKS 4096u /* 2 MiB: two overwrite chunks of 1 MiB */

#define SA_OVERWRITE 0x01
#define SA_BLOCK_ERASE 0x02
#define SA_CRYPTO_ERASE 0x03
#define SA_EXIT_FAILURE_MODE 0x1f
#define IMMED 0x80
#define AUSE 0x20

static struct {
	uint8_t *disk;
	unsigned ops[USCST_IO_PREFETCH + 1];
	int fail_errno; /* the next I/O fails with -fail_errno */
	bool async;
	struct uscst_io *pending;
} fake;

static int64_t fake_do(struct uscst_io *io)
{
	if (fake.fail_errno) {
		int e = fake.fail_errno;
		fake.fail_errno = 0;
		return -e;
	}
	switch (io->op) {
	case USCST_IO_READ:
		uscst_iov_from_buf(io->iov, io->iovcnt, 0, fake.disk + io->offset, io->len);
		break;
	case USCST_IO_WRITE:
		uscst_iov_to_buf(io->iov, io->iovcnt, 0, fake.disk + io->offset, io->len);
		break;
	case USCST_IO_DISCARD:
	case USCST_IO_WRITE_ZEROES:
		memset(fake.disk + io->offset, 0, io->len);
		break;
	default:
		break;
	}
	return (int64_t)io->len;
}

static void fake_submit(struct uscst_device *dev, struct uscst_io *io)
{
	assert_true(io->op == USCST_IO_FLUSH || io->offset + io->len <= (uint64_t)NBLOCKS * BS);
	fake.ops[io->op]++;
	if (fake.async) {
		assert_null(fake.pending); /* one request at a time */
		fake.pending = io;
		return;
	}
	io->result = fake_do(io);
	io->done(io);
}

/* Completes the parked request; returns its op. */
static enum uscst_io_op complete_pending(void)
{
	struct uscst_io *io = fake.pending;
	assert_non_null(io);
	fake.pending = NULL;
	enum uscst_io_op op = io->op;
	io->result = fake_do(io);
	io->done(io);
	return op;
}

static const struct uscst_backend_ops fake_ops = {
    .name = "fake",
    .submit = fake_submit,
};

static int setup(void **state)
{
	memset(&fake, 0, sizeof(fake));
	fake.disk = calloc(NBLOCKS, BS);
	struct scsi_fixture *f = fixture_new(BS);
	f->dev.backend = &fake_ops;
	f->dev.nblocks = NBLOCKS;
	f->dev.size = (uint64_t)NBLOCKS * BS;
	f->dev.thin_provisioned = true;
	f->dev.discard_ok = true;
	memset(fake.disk, 'a', (size_t)NBLOCKS * BS);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct scsi_fixture *f = *state;
	/* No operation may be left running: it holds a reference. */
	assert_int_equal(atomic_load(&f->dev.refs), 1);
	fixture_free(f);
	free(fake.disk);
	return 0;
}

/* The command through the dispatcher (generic checks, then the handler);
 * Data-Out from out if not NULL. */
static struct uscst_cmd *dispatch(struct scsi_fixture *f, const uint8_t *cdb, unsigned len,
				  const uint8_t *out, uint32_t out_len)
{
	struct uscst_cmd *cmd = fixture_prepare(f, 0, cdb, len);
	cmd->op = scsi_lookup_opcode(cmd->dev, cmd->cdb);
	if (out)
		fixture_cmd_data_out(cmd, out, out_len);
	cmd->exp_len = out_len;
	cmd->exp_write = out_len != 0;
	scsi_dispatch(cmd);
	return cmd;
}

static void sanitize_cdb(uint8_t *c, uint8_t byte1, uint16_t plen)
{
	memset(c, 0, 10);
	c[0] = 0x48;
	c[1] = byte1;
	put_be16(c + 7, plen);
}

/* OVERWRITE with a parameter list: count, invert, a pattern of ipl bytes
 * of value v; returns the parameter list length. */
static uint32_t ow_params(uint8_t *p, uint8_t count, bool invert, uint16_t ipl, uint8_t v)
{
	p[0] = (uint8_t)((invert ? 0x80 : 0) | count);
	p[1] = 0;
	put_be16(p + 2, ipl);
	memset(p + 4, v, ipl);
	return 4u + ipl;
}

static struct uscst_cmd *overwrite(struct scsi_fixture *f, uint8_t byte1, const uint8_t *p,
				   uint32_t plen)
{
	uint8_t c[10];
	sanitize_cdb(c, (uint8_t)(byte1 | SA_OVERWRITE), (uint16_t)plen);
	return dispatch(f, c, 10, p, plen);
}

static struct uscst_cmd *simple(struct scsi_fixture *f, uint8_t opcode)
{
	uint8_t c[16] = {opcode};
	unsigned len = opcode >= 0x80 ? 16 : opcode >= 0x20 ? 10 : 6;
	if (opcode == 0x88)
		c[13] = 1; /* READ(16) of one block */
	if (opcode == 0x12 || opcode == 0x03)
		c[4] = 252; /* INQUIRY / REQUEST SENSE allocation length */
	return dispatch(f, c, len, NULL, 0);
}

static bool disk_is(uint64_t lba, uint64_t blocks, uint8_t v)
{
	for (size_t i = 0; i < blocks * BS; i++)
		if (fake.disk[lba * BS + i] != v)
			return false;
	return true;
}

static void assert_in_progress(const struct uscst_cmd *cmd, uint16_t progress)
{
	fixture_assert_sense(cmd, SK_NOT_READY, 0x04, 0x1b);
	assert_int_equal(cmd->sense[15], 0x80); /* SKSV: progress indication */
	assert_int_equal(get_be16(cmd->sense + 16), progress);
}

static void assert_field(const struct uscst_cmd *cmd, bool in_cdb, unsigned byte, int bit)
{
	fixture_assert_sense(cmd, SK_ILLEGAL_REQUEST, in_cdb ? 0x24 : 0x26, 0);
	uint8_t sks = (uint8_t)(0x80 | (in_cdb ? 0x40 : 0) | (bit >= 0 ? 0x08 | bit : 0));
	assert_int_equal(cmd->sense[15], sks);
	assert_int_equal(get_be16(cmd->sense + 16), byte);
}

/* --- OVERWRITE --- */

static void test_overwrite_whole_medium(void **state)
{
	struct scsi_fixture *f = *state;
	uint8_t p[4 + BS];
	uint32_t plen = ow_params(p, 1, false, BS, 0xaa);
	struct uscst_cmd *cmd = overwrite(f, 0, p, plen);
	assert_int_equal(f->done_calls, 1);
	fixture_assert_good(cmd);
	assert_true(disk_is(0, NBLOCKS, 0xaa));
	/* Two chunks, then a FLUSH: the pass is on the medium. */
	assert_int_equal(fake.ops[USCST_IO_WRITE], 2);
	assert_int_equal(fake.ops[USCST_IO_FLUSH], 1);
	/* Reads work again. */
	fixture_assert_good(simple(f, 0x88));
}

/* A pattern shorter than a block repeats from the start of every block. */
static void test_overwrite_short_pattern_per_block(void **state)
{
	struct scsi_fixture *f = *state;
	uint8_t p[4 + 3] = {0x01, 0, 0, 3, 'x', 'y', 'z'};
	fixture_assert_good(overwrite(f, 0, p, sizeof(p)));
	for (unsigned blk = 0; blk < NBLOCKS; blk += 1023)
		for (unsigned i = 0; i < BS; i++)
			assert_int_equal(fake.disk[blk * BS + i], "xyz"[i % 3]);
}

/* OVERWRITE COUNT passes, the pattern inverted between them with INVERT:
 * three passes end with the pattern, two with its inverse; each pass is
 * flushed. */
static void test_overwrite_passes_invert(void **state)
{
	struct scsi_fixture *f = *state;
	uint8_t p[4 + 4];
	fixture_assert_good(overwrite(f, 0, p, ow_params(p, 3, true, 4, 0x0f)));
	assert_true(disk_is(0, NBLOCKS, 0x0f));
	assert_int_equal(fake.ops[USCST_IO_WRITE], 6);
	assert_int_equal(fake.ops[USCST_IO_FLUSH], 3);
	fixture_assert_good(overwrite(f, 0, p, ow_params(p, 2, true, 4, 0x0f)));
	assert_true(disk_is(0, NBLOCKS, 0xf0));
	fixture_assert_good(overwrite(f, 0, p, ow_params(p, 2, false, 4, 0x0f)));
	assert_true(disk_is(0, NBLOCKS, 0x0f));
}

/* Every rule of the parameter list; nothing is written on any of them. */
static void test_overwrite_parameter_errors(void **state)
{
	struct scsi_fixture *f = *state;
	uint8_t p[4 + BS + 8];
	memset(p, 0, sizeof(p));
	ow_params(p, 1, false, 4, 0xbb);
	/* PARAMETER LIST LENGTH 0..4, and above block size + 4. */
	for (uint32_t len = 0; len < 5; len++)
		assert_field(overwrite(f, 0, p, len), true, 7, -1);
	assert_field(overwrite(f, 0, p, BS + 5), true, 7, -1);
	/* OVERWRITE COUNT 0. */
	ow_params(p, 0, false, 4, 0xbb);
	assert_field(overwrite(f, 0, p, 8), false, 0, 4);
	/* TEST other than 00b. */
	ow_params(p, 1, false, 4, 0xbb);
	p[0] |= 0x20;
	assert_field(overwrite(f, 0, p, 8), false, 0, 6);
	/* Reserved byte 1. */
	ow_params(p, 1, false, 4, 0xbb);
	p[1] = 0x04;
	assert_field(overwrite(f, 0, p, 8), false, 1, 2);
	/* INITIALIZATION PATTERN LENGTH 0, above the block size, above what
	 * the list holds. */
	ow_params(p, 1, false, 4, 0xbb);
	put_be16(p + 2, 0);
	assert_field(overwrite(f, 0, p, 8), false, 2, -1);
	put_be16(p + 2, BS + 4);
	assert_field(overwrite(f, 0, p, BS + 4), false, 2, -1);
	put_be16(p + 2, 5);
	assert_field(overwrite(f, 0, p, 8), false, 2, -1);
	/* The initiator sent less than the PARAMETER LIST LENGTH. */
	uint8_t c[10];
	ow_params(p, 1, false, 4, 0xbb);
	sanitize_cdb(c, SA_OVERWRITE, 8);
	fixture_assert_sense(dispatch(f, c, 10, p, 6), SK_ILLEGAL_REQUEST, 0x1a, 0);

	assert_int_equal(fake.ops[USCST_IO_WRITE], 0);
	assert_true(disk_is(0, NBLOCKS, 'a'));
	assert_int_equal(f->dev.sanitize_state, 0);
}

/* --- BLOCK ERASE, CRYPTOGRAPHIC ERASE, unsupported service actions --- */

static void test_block_erase_deallocates(void **state)
{
	struct scsi_fixture *f = *state;
	uint8_t c[10];
	sanitize_cdb(c, SA_BLOCK_ERASE, 0);
	fixture_assert_good(dispatch(f, c, 10, NULL, 0));
	assert_true(disk_is(0, NBLOCKS, 0));
	assert_int_equal(fake.ops[USCST_IO_DISCARD], 1);
	assert_int_equal(fake.ops[USCST_IO_WRITE], 0);
	assert_int_equal(fake.ops[USCST_IO_FLUSH], 1);
	/* A parameter list is an error. */
	uint8_t p[8] = {0};
	sanitize_cdb(c, SA_BLOCK_ERASE, 8);
	assert_field(dispatch(f, c, 10, p, 8), true, 7, -1);
}

/* Without deallocation there is no block erase: refused, not reported,
 * WABEREQ 00b. */
static void test_block_erase_needs_deallocation(void **state)
{
	struct scsi_fixture *f = *state;
	uint8_t c[10];
	uint8_t vpd[6] = {0x12, 0x01, 0xb1, 0, 64, 0};
	fixture_assert_good(dispatch(f, vpd, 6, NULL, 0));
	assert_int_equal(f->cmd.in_buf[7] & 0xf0, 0x40); /* WABEREQ 01b, WACEREQ 00b */

	f->dev.discard_ok = false;
	sanitize_cdb(c, SA_BLOCK_ERASE, 0);
	assert_field(dispatch(f, c, 10, NULL, 0), true, 1, 4);
	assert_true(disk_is(0, NBLOCKS, 'a'));
	fixture_assert_good(dispatch(f, vpd, 6, NULL, 0));
	assert_int_equal(f->cmd.in_buf[7] & 0xf0, 0);
	uint8_t rsoc[12] = {0xa3, 0x0c, 0x02, 0x48, 0, SA_BLOCK_ERASE, 0, 0, 0, 64, 0, 0};
	fixture_assert_good(dispatch(f, rsoc, 12, NULL, 0));
	assert_int_equal(f->cmd.in_buf[1] & 0x07, 1); /* not supported */
	f->dev.discard_ok = true;
	fixture_assert_good(dispatch(f, rsoc, 12, NULL, 0));
	assert_int_equal(f->cmd.in_buf[1] & 0x07, 3);
	assert_int_equal(f->cmd.in_buf[5], 0xa0 | SA_BLOCK_ERASE); /* IMMED, AUSE, SA */
}

static void test_unsupported_service_actions(void **state)
{
	struct scsi_fixture *f = *state;
	uint8_t c[10];
	for (uint8_t sa = 0; sa < 0x1f; sa++) {
		if (sa == SA_OVERWRITE || sa == SA_BLOCK_ERASE)
			continue;
		sanitize_cdb(c, sa, 0);
		assert_field(dispatch(f, c, 10, NULL, 0), true, 1, 4);
	}
	/* CRYPTOGRAPHIC ERASE is not reported either. */
	uint8_t rsoc[12] = {0xa3, 0x0c, 0x02, 0x48, 0, SA_CRYPTO_ERASE, 0, 0, 0, 64, 0, 0};
	fixture_assert_good(dispatch(f, rsoc, 12, NULL, 0));
	assert_int_equal(f->cmd.in_buf[1] & 0x07, 1);
	/* Reserved CDB bits and bytes (ZNR among them). */
	sanitize_cdb(c, 0x40 | SA_BLOCK_ERASE, 0);
	assert_field(dispatch(f, c, 10, NULL, 0), true, 1, 6);
	sanitize_cdb(c, SA_BLOCK_ERASE, 0);
	c[4] = 1;
	assert_field(dispatch(f, c, 10, NULL, 0), true, 4, 0);
	assert_true(disk_is(0, NBLOCKS, 'a'));
}

/* --- while it runs --- */

/* An OVERWRITE left in flight on a command of its own (san), its first
 * write parked. */
static struct uscst_cmd san;
static unsigned san_done;
static void on_san(struct uscst_cmd *c) { san_done++; }

static void start_overwrite(struct scsi_fixture *f, uint8_t byte1)
{
	static uint8_t p[4 + 4];
	uint32_t plen = ow_params(p, 1, false, 4, 0xcc);
	uint8_t c[10];
	sanitize_cdb(c, (uint8_t)(byte1 | SA_OVERWRITE), (uint16_t)plen);
	fake.async = true;
	san_done = 0;
	fixture_cmd_init(&san, &f->sess, 0, c, 10, on_san);
	san.op = scsi_lookup_opcode(san.dev, san.cdb);
	fixture_cmd_data_out(&san, p, plen);
	san.exp_len = plen;
	san.exp_write = true;
	scsi_dispatch(&san);
	assert_non_null(fake.pending);
}

/* Completes the parked requests until the operation has ended. */
static void run_to_end(void)
{
	while (fake.pending)
		complete_pending();
}

static void test_in_progress_refuses_other_commands(void **state)
{
	struct scsi_fixture *f = *state;
	start_overwrite(f, 0);
	assert_int_equal(san_done, 0); /* IMMED 0: it waits for the end */
	ua_establish(&f->sess, 0, ASC_POWER_ON_RESET);

	/* Before the unit attention, with the progress: nothing done yet. */
	assert_in_progress(simple(f, 0x00), 0); /* TEST UNIT READY */
	assert_in_progress(simple(f, 0x88), 0); /* READ(16) */
	assert_in_progress(simple(f, 0x1b), 0); /* START STOP UNIT */
	uint8_t c[10];
	sanitize_cdb(c, SA_BLOCK_ERASE, 0); /* another SANITIZE */
	assert_in_progress(dispatch(f, c, 10, NULL, 0), 0);
	/* INQUIRY and REPORT LUNS run. */
	fixture_assert_good(simple(f, 0x12));
	uint8_t rl[12] = {0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
	fixture_assert_good(dispatch(f, rl, 12, NULL, 0));

	/* Half the medium written: the progress says so. */
	assert_int_equal(complete_pending(), USCST_IO_WRITE);
	assert_in_progress(simple(f, 0x00), 0x8000);
	/* REQUEST SENSE reports the pending unit attention first (it
	 * clears it), then the sanitize with its progress. */
	struct uscst_cmd *rs = simple(f, 0x03);
	fixture_assert_good(rs);
	assert_int_equal(rs->in_buf[2] & 0x0f, SK_UNIT_ATTENTION);
	ua_establish(&f->sess, 0, ASC_POWER_ON_RESET);
	uint8_t rsd[6] = {0x03, 0x01 /* DESC */, 0, 0, 252, 0};
	rs = dispatch(f, rsd, 6, NULL, 0);
	fixture_assert_good(rs);
	assert_int_equal(rs->in_buf[1], SK_UNIT_ATTENTION);
	rs = dispatch(f, rsd, 6, NULL, 0);
	fixture_assert_good(rs);
	assert_int_equal(rs->in_buf[0], 0x72);
	assert_int_equal(rs->in_buf[1], SK_NOT_READY);
	assert_int_equal(rs->in_buf[2], 0x04);
	assert_int_equal(rs->in_buf[3], 0x1b);
	assert_int_equal(rs->in_buf[8], 0x02); /* sense key specific descriptor */
	assert_int_equal(rs->in_buf[12], 0x80);
	assert_int_equal(get_be16(rs->in_buf + 13), 0x8000);
	rs = simple(f, 0x03); /* fixed format */
	assert_int_equal(rs->in_buf[2] & 0x0f, SK_NOT_READY);
	assert_int_equal(rs->in_buf[15], 0x80);
	assert_int_equal(get_be16(rs->in_buf + 16), 0x8000);

	ua_establish(&f->sess, 0, ASC_POWER_ON_RESET);
	run_to_end();
	assert_int_equal(san_done, 1);
	fixture_assert_good(&san);
	uscst_cmd_release(&san);
	assert_true(disk_is(0, NBLOCKS, 0xcc));
	/* The unit attention waited, and is reported now. */
	fixture_assert_sense(simple(f, 0x00), SK_UNIT_ATTENTION, ASC_POWER_ON_RESET);
	fixture_assert_good(simple(f, 0x00));
}

/* IMMED: GOOD once started; the operation runs on. */
static void test_immed_completes_at_start(void **state)
{
	struct scsi_fixture *f = *state;
	start_overwrite(f, IMMED);
	assert_int_equal(san_done, 1);
	fixture_assert_good(&san);
	assert_int_equal(f->dev.sanitize_state, 1);
	run_to_end();
	assert_int_equal(san_done, 1);
	uscst_cmd_release(&san);
	assert_int_equal(f->dev.sanitize_state, 0);
	assert_true(disk_is(0, NBLOCKS, 0xcc));
}

/* Task management ends the command, not the operation (SBC-4); a LU reset
 * does not end it either. */
static void test_abort_and_reset_leave_it_running(void **state)
{
	struct scsi_fixture *f = *state;
	start_overwrite(f, 0);
	san.aborted = true;
	f->dev.cmdset->abort_running(&san);
	assert_int_equal(san_done, 1); /* the command ended */
	uscst_cmd_release(&san);
	f->dev.cmdset->lu_reset(&f->dev);
	assert_int_equal(f->dev.sanitize_state, 1);
	run_to_end();
	assert_int_equal(san_done, 1); /* not again */
	assert_true(disk_is(0, NBLOCKS, 0xcc));
	assert_int_equal(f->dev.sanitize_state, 0);
	/* Any other command that runs is left alone. */
	fake.async = false;
	struct uscst_cmd *cmd = simple(f, 0x00);
	f->dev.cmdset->abort_running(cmd);
	assert_int_equal(f->done_calls, 1);
}

/* A write in flight when the SANITIZE starts ends first: the operation
 * waits for the medium (and overwrites what the write left). */
static unsigned w_done;
static void on_w(struct uscst_cmd *c) { w_done++; }

static void test_waits_for_writes_in_flight(void **state)
{
	struct scsi_fixture *f = *state;
	fake.async = true;
	struct uscst_cmd w;
	uint8_t c[10] = {0x2a, 0, 0, 0, 0, 9, 0, 0, 1, 0};
	fixture_cmd_init(&w, &f->sess, 0, c, 10, on_w);
	w.op = scsi_lookup_opcode(w.dev, w.cdb);
	uint8_t blk[BS];
	memset(blk, 'w', BS);
	fixture_cmd_data_out(&w, blk, BS);
	w.exp_len = BS;
	w.exp_write = true;
	w_done = 0;
	scsi_dispatch(&w);
	struct uscst_io *wio = fake.pending;
	assert_non_null(wio); /* the WRITE, parked */

	uint8_t p[8];
	overwrite(f, 0, p, ow_params(p, 1, false, 4, 0xcc));
	assert_int_equal(f->dev.sanitize_state, 1);
	assert_ptr_equal(fake.pending, wio); /* nothing else went out */
	complete_pending();
	assert_int_equal(w_done, 1);
	assert_int_equal(w.status, SAM_STAT_GOOD);
	assert_non_null(fake.pending); /* now the overwrite */
	run_to_end();
	assert_int_equal(f->done_calls, 1);
	fixture_assert_good(&f->cmd);
	assert_true(disk_is(0, NBLOCKS, 0xcc));
	uscst_cmd_release(&w);
}

/* --- failure mode --- */

static void test_failure_mode_and_exit(void **state)
{
	struct scsi_fixture *f = *state;
	uint8_t p[8], c[10];
	/* AUSE 0: fails on the second write. */
	start_overwrite(f, 0);
	complete_pending();
	fake.fail_errno = EIO;
	complete_pending();
	assert_int_equal(san_done, 1);
	fixture_assert_sense(&san, SK_MEDIUM_ERROR, 0x31, 0x03);
	uscst_cmd_release(&san);
	fake.async = false;
	/* Medium access refused; other commands run. */
	fixture_assert_sense(simple(f, 0x88), SK_MEDIUM_ERROR, 0x31, 0x03);
	uint8_t wr[10] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	uint8_t blk[BS] = {0};
	fixture_assert_sense(dispatch(f, wr, 10, blk, BS), SK_MEDIUM_ERROR, 0x31, 0x03);
	fixture_assert_good(simple(f, 0x00));
	fixture_assert_good(simple(f, 0x12));
	/* EXIT FAILURE MODE may not end a failure with AUSE 0. */
	sanitize_cdb(c, SA_EXIT_FAILURE_MODE, 0);
	assert_field(dispatch(f, c, 10, NULL, 0), true, 1, 4);
	fixture_assert_sense(simple(f, 0x88), SK_MEDIUM_ERROR, 0x31, 0x03);
	/* A SANITIZE that succeeds does. */
	fixture_assert_good(overwrite(f, 0, p, ow_params(p, 1, false, 4, 0x11)));
	fixture_assert_good(simple(f, 0x88));

	/* AUSE 1: EXIT FAILURE MODE ends it. */
	fake.fail_errno = EIO;
	sanitize_cdb(c, AUSE | SA_BLOCK_ERASE, 0);
	fixture_assert_sense(dispatch(f, c, 10, NULL, 0), SK_MEDIUM_ERROR, 0x31, 0x03);
	fixture_assert_sense(simple(f, 0x88), SK_MEDIUM_ERROR, 0x31, 0x03);
	sanitize_cdb(c, SA_EXIT_FAILURE_MODE, 8); /* with a parameter list: no */
	assert_field(dispatch(f, c, 10, p, 8), true, 7, -1);
	sanitize_cdb(c, SA_EXIT_FAILURE_MODE, 0);
	fixture_assert_good(dispatch(f, c, 10, NULL, 0));
	fixture_assert_good(simple(f, 0x88));
	/* And with no failure, it does nothing. */
	fixture_assert_good(dispatch(f, c, 10, NULL, 0));
}

/* A READ, a WRITE, a WRITE ATOMIC and a WRITE SAME that passed the
 * dispatcher just before the SANITIZE started wait for the medium; when the operation fails they do
 * not touch the medium it left in failure mode: they end as one sent then would, MEDIUM ERROR,
 * SANITIZE COMMAND FAILED. */
static unsigned waiter_done;
static void on_waiter(struct uscst_cmd *c) { waiter_done++; }

static void test_waiters_after_failed_sanitize(void **state)
{
	struct scsi_fixture *f = *state;
	start_overwrite(f, 0);
	struct uscst_cmd r, w, a;
	uint8_t rc[16] = {0x88}, wc[10] = {0x2a, 0, 0, 0, 0, 7, 0, 0, 1, 0};
	rc[13] = 1;
	fixture_cmd_init(&r, &f->sess, 0, rc, 16, on_waiter);
	r.op = scsi_lookup_opcode(r.dev, r.cdb);
	r.exp_len = BS;
	r.exp_read = true;
	fixture_cmd_init(&w, &f->sess, 0, wc, 10, on_waiter);
	w.op = scsi_lookup_opcode(w.dev, w.cdb);
	uint8_t blk[BS];
	memset(blk, 'w', BS);
	fixture_cmd_data_out(&w, blk, BS);
	w.exp_len = BS;
	w.exp_write = true;
	uint8_t ac[16] = {0x9c}; /* WRITE ATOMIC(16) of one block at LBA 9 */
	ac[9] = 9;
	ac[13] = 1;
	fixture_cmd_init(&a, &f->sess, 0, ac, 16, on_waiter);
	a.op = scsi_lookup_opcode(a.dev, a.cdb);
	fixture_cmd_data_out(&a, blk, BS);
	a.exp_len = BS;
	a.exp_write = true;
	struct uscst_cmd ws; /* WRITE SAME(10) of one block at LBA 11 */
	uint8_t wsc[10] = {0x41, 0, 0, 0, 0, 11, 0, 0, 1, 0};
	fixture_cmd_init(&ws, &f->sess, 0, wsc, 10, on_waiter);
	ws.op = scsi_lookup_opcode(ws.dev, ws.cdb);
	fixture_cmd_data_out(&ws, blk, BS);
	ws.exp_len = BS;
	ws.exp_write = true;
	waiter_done = 0;
	/* Past the dispatcher's checks: straight to the handlers. */
	r.op->exec(&r);
	w.op->exec(&w);
	a.op->exec(&a);
	ws.op->exec(&ws);
	assert_int_equal(waiter_done, 0); /* all wait for the medium */
	complete_pending();		  /* the first chunk */
	fake.fail_errno = EIO;
	complete_pending(); /* the second fails: failure mode */
	assert_int_equal(san_done, 1);
	assert_null(fake.pending); /* neither went to the medium */
	assert_int_equal(waiter_done, 4);
	fixture_assert_sense(&ws, SK_MEDIUM_ERROR, 0x31, 0x03);
	fixture_assert_sense(&r, SK_MEDIUM_ERROR, 0x31, 0x03);
	fixture_assert_sense(&w, SK_MEDIUM_ERROR, 0x31, 0x03);
	fixture_assert_sense(&a, SK_MEDIUM_ERROR, 0x31, 0x03);
	assert_int_equal(fake.disk[7 * BS], 0xcc); /* the first chunk's pattern */
	uscst_cmd_release(&r);
	uscst_cmd_release(&w);
	uscst_cmd_release(&a);
	uscst_cmd_release(&ws);
	uscst_cmd_release(&san);
}

/* A WRITE, a WRITE ATOMIC and a WRITE SAME waiting for the medium behind a
 * SANITIZE are aborted (ABORT TASK, a LU reset: the core marks them and
 * calls abort_running): each ends at once, not when the operation does
 * (hours on a real disk), and never touches the medium; a READ that is
 * not aborted keeps waiting and runs after it. */
static void test_abort_waiter_behind_sanitize(void **state)
{
	struct scsi_fixture *f = *state;
	start_overwrite(f, 0);
	struct uscst_cmd r, w, a, ws;
	uint8_t rc[16] = {0x88}, wc[10] = {0x2a, 0, 0, 0, 0, 7, 0, 0, 1, 0};
	rc[13] = 1;
	fixture_cmd_init(&r, &f->sess, 0, rc, 16, on_waiter);
	r.op = scsi_lookup_opcode(r.dev, r.cdb);
	r.exp_len = BS;
	r.exp_read = true;
	uint8_t blk[BS];
	memset(blk, 'w', BS);
	fixture_cmd_init(&w, &f->sess, 0, wc, 10, on_waiter);
	w.op = scsi_lookup_opcode(w.dev, w.cdb);
	fixture_cmd_data_out(&w, blk, BS);
	w.exp_len = BS;
	w.exp_write = true;
	uint8_t ac[16] = {0x9c}; /* WRITE ATOMIC(16) of one block at LBA 9 */
	ac[9] = 9;
	ac[13] = 1;
	fixture_cmd_init(&a, &f->sess, 0, ac, 16, on_waiter);
	a.op = scsi_lookup_opcode(a.dev, a.cdb);
	fixture_cmd_data_out(&a, blk, BS);
	a.exp_len = BS;
	a.exp_write = true;
	uint8_t wsc[10] = {0x41, 0, 0, 0, 0, 11, 0, 0, 1, 0}; /* WRITE SAME(10) at LBA 11 */
	fixture_cmd_init(&ws, &f->sess, 0, wsc, 10, on_waiter);
	ws.op = scsi_lookup_opcode(ws.dev, ws.cdb);
	fixture_cmd_data_out(&ws, blk, BS);
	ws.exp_len = BS;
	ws.exp_write = true;
	waiter_done = 0;
	r.op->exec(&r);
	w.op->exec(&w);
	a.op->exec(&a);
	ws.op->exec(&ws);
	assert_int_equal(waiter_done, 0); /* all wait for the medium */
	struct uscst_cmd *abort[] = {&w, &a, &ws};
	for (unsigned i = 0; i < 3; i++) {
		abort[i]->aborted = true;
		f->dev.cmdset->abort_running(abort[i]);
		assert_int_equal(waiter_done, i + 1); /* ended now */
	}
	assert_int_equal(san_done, 0); /* the SANITIZE goes on */
	run_to_end();
	assert_int_equal(san_done, 1);
	fixture_assert_good(&san);
	assert_int_equal(waiter_done, 4); /* the READ, after it */
	fixture_assert_good(&r);
	assert_true(disk_is(0, NBLOCKS, 0xcc)); /* no aborted write landed */
	uscst_cmd_release(&r);
	uscst_cmd_release(&w);
	uscst_cmd_release(&a);
	uscst_cmd_release(&ws);
	uscst_cmd_release(&san);
}

/* --- write protection, reservations --- */

static void test_write_protect_and_reservation(void **state)
{
	struct scsi_fixture *f = *state;
	uint8_t p[8], c[10];
	uint32_t plen = ow_params(p, 1, false, 4, 0x22);
	f->dev.swp = true;
	fixture_assert_sense(overwrite(f, 0, p, plen), SK_DATA_PROTECT, 0x27, 0x00);
	sanitize_cdb(c, SA_BLOCK_ERASE, 0);
	fixture_assert_sense(dispatch(f, c, 10, NULL, 0), SK_DATA_PROTECT, 0x27, 0x00);
	/* EXIT FAILURE MODE writes nothing. */
	sanitize_cdb(c, SA_EXIT_FAILURE_MODE, 0);
	fixture_assert_good(dispatch(f, c, 10, NULL, 0));
	f->dev.swp = false;

	/* RESERVE(6) held by another I_T nexus. */
	f->dev.spc2_holder = 99;
	struct uscst_cmd *cmd = overwrite(f, 0, p, plen);
	assert_int_equal(cmd->status, SAM_STAT_RESERVATION_CONFLICT);
	sanitize_cdb(c, SA_BLOCK_ERASE, 0);
	assert_int_equal(dispatch(f, c, 10, NULL, 0)->status, SAM_STAT_RESERVATION_CONFLICT);
	f->dev.spc2_holder = 0;
	assert_true(disk_is(0, NBLOCKS, 'a'));
}

int main(void)
{
	scsi_register_cmdsets();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_overwrite_whole_medium),	   T(test_overwrite_short_pattern_per_block),
	    T(test_overwrite_passes_invert),	   T(test_overwrite_parameter_errors),
	    T(test_block_erase_deallocates),	   T(test_block_erase_needs_deallocation),
	    T(test_unsupported_service_actions),   T(test_in_progress_refuses_other_commands),
	    T(test_immed_completes_at_start),	   T(test_abort_and_reset_leave_it_running),
	    T(test_waits_for_writes_in_flight),	   T(test_failure_mode_and_exit),
	    T(test_write_protect_and_reservation), T(test_waiters_after_failed_sanitize),
	    T(test_abort_waiter_behind_sanitize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
