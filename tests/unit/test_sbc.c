/*
 * SBC handlers against an in-memory backend.  The backend completes inside
 * submit() by default (the hardest case for chained I/O); `fake.async`
 * parks requests (in submission order) until the test completes them, as
 * io_uring would, and only then touches the disk.  `fake.log` records
 * every submission, to check what was issued in which order.
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
#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"

#define BS 512u
#define NBLOCKS 8192u
#define WS_UNMAP_BIT 0x08

static struct {
	uint8_t *disk;
	unsigned submits;
	unsigned ops[USCST_IO_PREFETCH + 1];
	uint64_t max_len[USCST_IO_PREFETCH + 1];
	bool last_fua;
	int fail_errno;		  /* next I/O fails with -fail_errno */
	uint64_t fail_offset;	  /* ... and reports this error_offset (0: none) */
	bool no_discard;	  /* DISCARD answers -EOPNOTSUPP */
	bool async;		  /* park requests in `queue` */
	struct uscst_io *pending; /* the oldest parked request, or NULL */
	struct uscst_io *queue[8];
	unsigned nqueue;
	struct {
		enum uscst_io_op op;
		uint64_t offset;
		bool fua;
	} log[64];
	unsigned nlog;
	/* lba_status: shrink dev.nblocks to this on the first call (0: never). */
	uint64_t shrink_to;
} fake;

static int64_t fake_do(struct uscst_io *io)
{
	if (fake.fail_errno) {
		int e = fake.fail_errno;
		fake.fail_errno = 0;
		if (fake.fail_offset)
			io->error_offset = fake.fail_offset;
		fake.fail_offset = 0;
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
		if (fake.no_discard)
			return -EOPNOTSUPP;
		/* deallocated blocks read as zeros */
		__attribute__((fallthrough));
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
	assert_true(io->offset + io->len <= (uint64_t)NBLOCKS * BS || io->op == USCST_IO_FLUSH);
	fake.submits++;
	fake.ops[io->op]++;
	if (io->len > fake.max_len[io->op])
		fake.max_len[io->op] = io->len;
	fake.last_fua = io->fua;
	if (fake.nlog < 64) {
		fake.log[fake.nlog].op = io->op;
		fake.log[fake.nlog].offset = io->offset;
		fake.log[fake.nlog].fua = io->fua;
		fake.nlog++;
	}
	if (fake.async) {
		assert_true(fake.nqueue < 8);
		fake.queue[fake.nqueue++] = io;
		fake.pending = fake.queue[0];
		return;
	}
	io->result = fake_do(io);
	io->done(io);
}

/* Completes the oldest parked request (its effect on the disk happens now). */
static void complete_pending(void)
{
	struct uscst_io *io = fake.pending;
	assert_non_null(io);
	memmove(fake.queue, fake.queue + 1, --fake.nqueue * sizeof(fake.queue[0]));
	fake.pending = fake.nqueue ? fake.queue[0] : NULL;
	io->result = fake_do(io);
	io->done(io);
}

static int fake_lba_status(struct uscst_device *dev, uint64_t offset, uint64_t *run_len,
			   bool *mapped)
{
	if (fake.shrink_to) {
		/* resync_size on another thread, in the middle of the command. */
		dev->nblocks = fake.shrink_to;
		dev->size = fake.shrink_to * BS;
		fake.shrink_to = 0;
	}
	/* First 64 KiB deallocated, the rest mapped. */
	if (offset < 65536) {
		*mapped = false;
		*run_len = 65536 - offset;
	} else {
		*mapped = true;
		*run_len = (uint64_t)NBLOCKS * BS - offset;
	}
	return 0;
}

static const struct uscst_backend_ops fake_ops = {
    .name = "fake",
    .submit = fake_submit,
    .lba_status = fake_lba_status,
};

static struct uscst_device dev;
static struct uscst_cmd cmd;
static unsigned done_calls;

static void on_done(struct uscst_cmd *c) { done_calls++; }

static int setup(void **state)
{
	memset(&fake, 0, sizeof(fake));
	fake.disk = calloc(NBLOCKS, BS);
	fixture_device_init(&dev, "disk0", BS, NBLOCKS);
	dev.backend = &fake_ops;
	dev.thin_provisioned = true;
	dev.naa_id = 0x1234;
	done_calls = 0;
	uscst_cmd_init(&cmd, NULL);
	return 0;
}

static int teardown(void **state)
{
	uscst_cmd_release(&cmd);
	pthread_mutex_destroy(&dev.lock);
	free(fake.disk);
	return 0;
}

/* Prepares cmd for a CDB with `out_bytes` of Data-Out (the initiator's
 * expected length is the same unless exp_len says otherwise). */
/* The I_T nexus every test command comes from (PREVENT is held per nexus). */
static struct uscst_session test_nexus = {.id = 1};

static void prep(const uint8_t *cdb, unsigned cdb_len, const void *out, uint32_t out_bytes)
{
	uscst_cmd_release(&cmd);
	fixture_cmd_init(&cmd, &test_nexus, 0, cdb, cdb_len, on_done);
	cmd.dev = &dev; /* the handler is called directly: no LUN map */
	cmd.exp_len = out_bytes;
	cmd.exp_write = out_bytes != 0;
	if (out)
		fixture_cmd_data_out(&cmd, out, out_bytes);
	done_calls = 0;
}

static void run(void (*handler)(struct uscst_cmd *))
{
	handler(&cmd);
	if (!fake.async)
		assert_int_equal(done_calls, 1);
}

static void cdb10(uint8_t *c, uint8_t op, uint8_t flags, uint32_t lba, uint16_t len)
{
	memset(c, 0, 10);
	c[0] = op;
	c[1] = flags;
	put_be32(c + 2, lba);
	put_be16(c + 7, len);
}

static void cdb16(uint8_t *c, uint8_t op, uint8_t flags, uint64_t lba, uint32_t len)
{
	memset(c, 0, 16);
	c[0] = op;
	c[1] = flags;
	put_be64(c + 2, lba);
	put_be32(c + 10, len);
}

static void assert_good(void) { assert_int_equal(cmd.status, SAM_STAT_GOOD); }

static void assert_sense(uint8_t key, uint8_t asc, uint8_t ascq)
{
	fixture_assert_sense(&cmd, key, asc, ascq);
}

static uint32_t sense_info(void)
{
	assert_true(cmd.sense[0] & 0x80); /* VALID */
	return get_be32(cmd.sense + 3);
}

static void fill_disk(uint64_t lba, uint32_t blocks, uint8_t v)
{
	memset(fake.disk + lba * BS, v, (size_t)blocks * BS);
}

static bool disk_is(uint64_t lba, uint32_t blocks, uint8_t v)
{
	for (size_t i = 0; i < (size_t)blocks * BS; i++)
		if (fake.disk[lba * BS + i] != v)
			return false;
	return true;
}

/* --- READ / WRITE --- */

static void test_read10_returns_data(void **state)
{
	uint8_t c[10];
	fill_disk(10, 2, 0xab);
	cdb10(c, 0x28, 0, 10, 2);
	prep(c, 10, NULL, 0);
	run(sbc_read);
	assert_good();
	assert_int_equal(cmd.in_len, 2 * BS);
	assert_int_equal(cmd.in_buf[0], 0xab);
	assert_int_equal(cmd.in_buf[2 * BS - 1], 0xab);
}

static void test_read10_beyond_eol(void **state)
{
	uint8_t c[10];
	cdb10(c, 0x28, 0, NBLOCKS - 1, 2);
	prep(c, 10, NULL, 0);
	run(sbc_read);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	assert_int_equal(fake.submits, 0);

	cdb10(c, 0x28, 0, 0xffffffff, 1);
	prep(c, 10, NULL, 0);
	run(sbc_read);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
}

static void test_read16_zero_blocks(void **state)
{
	uint8_t c[16];
	cdb16(c, 0x88, 0, 0, 0);
	prep(c, 16, NULL, 0);
	run(sbc_read);
	assert_good();
	assert_int_equal(fake.submits, 0);
	assert_int_equal(cmd.in_len, 0);

	/* Zero blocks one past the end is still out of range. */
	cdb16(c, 0x88, 0, NBLOCKS + 1, 0);
	prep(c, 16, NULL, 0);
	run(sbc_read);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
}

static void test_read_too_long(void **state)
{
	uint8_t c[16];
	cdb16(c, 0x88, 0, 0, SBC_MAX_TRANSFER_BYTES / BS + 1);
	dev.nblocks = 1u << 20; /* long enough that only the size is wrong */
	prep(c, 16, NULL, 0);
	run(sbc_read);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(get_be16(cmd.sense + 16), 10);
}

static void test_read6_zero_means_256(void **state)
{
	uint8_t c[6] = {0x08, 0, 0, 4, 0, 0};
	prep(c, 6, NULL, 0);
	run(sbc_read);
	assert_good();
	assert_int_equal(cmd.in_len, 256 * BS);
}

static void test_read_io_error(void **state)
{
	uint8_t c[10];
	cdb10(c, 0x28, 0, 0, 1);
	prep(c, 10, NULL, 0);
	fake.fail_errno = EIO;
	run(sbc_read);
	assert_sense(SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR);
	assert_int_equal(cmd.in_len, 0);
}

/* Fixed sense: VALID and the INFORMATION field (bytes 3..6), or neither. */
static void assert_information(bool valid, uint32_t info)
{
	assert_int_equal(cmd.sense[0] & 0x80, valid ? 0x80 : 0);
	uint32_t got =
	    (uint32_t)cmd.sense[3] << 24 | cmd.sense[4] << 16 | cmd.sense[5] << 8 | cmd.sense[6];
	assert_int_equal(got, valid ? info : 0);
}

/* A backend that says which block failed (io.error_offset) gets its LBA
 * into the INFORMATION field, as a disk reports a bad sector; an offset
 * outside the request, or none, leaves it out. */
static void test_io_error_information(void **state)
{
	uint8_t c[10], data[4 * BS] = {0};
	cdb10(c, 0x28, 0, 10, 4);
	prep(c, 10, NULL, 0);
	fake.fail_errno = EIO;
	fake.fail_offset = 12 * BS;
	run(sbc_read);
	assert_sense(SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR);
	assert_information(true, 12);

	cdb10(c, 0x2a, 0, 10, 4);
	prep(c, 10, data, sizeof(data));
	fake.fail_errno = EIO;
	fake.fail_offset = 13 * BS;
	run(sbc_write);
	assert_sense(SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	assert_information(true, 13);

	cdb10(c, 0x28, 0, 10, 4);
	prep(c, 10, NULL, 0);
	fake.fail_errno = EIO;
	fake.fail_offset = 14 * BS; /* past the request */
	run(sbc_read);
	assert_sense(SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR);
	assert_information(false, 0);

	prep(c, 10, NULL, 0);
	fake.fail_errno = EIO; /* no offset: unknown */
	run(sbc_read);
	assert_sense(SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR);
	assert_information(false, 0);
}

static void test_write10_and_fua(void **state)
{
	uint8_t c[10], data[2 * BS];
	memset(data, 0x5c, sizeof(data));
	cdb10(c, 0x2a, 0, 100, 2);
	prep(c, 10, data, sizeof(data));
	run(sbc_write);
	assert_good();
	assert_true(disk_is(100, 2, 0x5c));
	assert_false(fake.last_fua);

	cdb10(c, 0x2a, 0x08, 100, 2); /* FUA */
	prep(c, 10, data, sizeof(data));
	run(sbc_write);
	assert_true(fake.last_fua);

	dev.wce = false; /* write cache disabled: every write is durable */
	cdb10(c, 0x2a, 0, 100, 2);
	prep(c, 10, data, sizeof(data));
	run(sbc_write);
	assert_true(fake.last_fua);

	dev.nv_cache = true;
	prep(c, 10, data, sizeof(data));
	run(sbc_write);
	assert_false(fake.last_fua);
}

static void test_write_residual_partial(void **state)
{
	uint8_t c[10], data[BS + 200];
	fill_disk(0, 2, 'a');
	memset(data, 'b', sizeof(data));
	/* Two blocks asked, one and a bit sent: only the whole block lands. */
	cdb10(c, 0x2a, 0, 0, 2);
	prep(c, 10, data, sizeof(data));
	run(sbc_write);
	assert_good();
	assert_true(disk_is(0, 1, 'b'));
	assert_true(disk_is(1, 1, 'a'));
}

static void test_write_residual_nothing_sent(void **state)
{
	uint8_t c[10];
	cdb10(c, 0x2a, 0, 0, 1);
	prep(c, 10, NULL, 0);
	run(sbc_write);
	assert_good();
	assert_int_equal(fake.submits, 0);
}

static void test_write_enospc_thin(void **state)
{
	uint8_t c[10], data[BS] = {1};
	cdb10(c, 0x2a, 0, 0, 1);
	prep(c, 10, data, BS);
	fake.fail_errno = ENOSPC;
	run(sbc_write);
	assert_sense(SK_DATA_PROTECT, 0x27, 0x07);

	dev.thin_provisioned = false;
	prep(c, 10, data, BS);
	fake.fail_errno = ENOSPC;
	run(sbc_write);
	assert_sense(SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
}

/* --- VERIFY / WRITE AND VERIFY --- */

static void test_verify_match(void **state)
{
	uint8_t c[10], data[4 * BS];
	fill_disk(20, 4, 0x11);
	memset(data, 0x11, sizeof(data));
	cdb10(c, 0x2f, 0x02, 20, 4); /* BYTCHK 01b */
	prep(c, 10, data, sizeof(data));
	run(sbc_verify);
	assert_good();
}

static void test_verify_miscompare_offset(void **state)
{
	uint8_t c[16], data[4 * BS];
	fill_disk(20, 4, 0x11);
	memset(data, 0x11, sizeof(data));
	data[2 * BS + 77] = 0x12;
	cdb16(c, 0x8f, 0x02, 20, 4);
	prep(c, 16, data, sizeof(data));
	run(sbc_verify);
	assert_sense(SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY);
	assert_int_equal(sense_info(), 2 * BS + 77);
}

static void test_verify_one_block_pattern(void **state)
{
	uint8_t c[10], data[BS];
	fill_disk(0, 3, 0x22);
	fake.disk[2 * BS + 5] = 0;
	memset(data, 0x22, sizeof(data));
	cdb10(c, 0x2f, 0x06, 0, 3); /* BYTCHK 11b */
	prep(c, 10, data, sizeof(data));
	run(sbc_verify);
	assert_sense(SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY);
	assert_int_equal(sense_info(), 2 * BS + 5);
}

static void test_verify_no_bytchk_and_protect(void **state)
{
	uint8_t c[10];
	cdb10(c, 0x2f, 0, 0, 100);
	prep(c, 10, NULL, 0);
	run(sbc_verify);
	assert_good();
	assert_int_equal(fake.submits, 0);

	/* VRPROTECT is refused by dispatch's usage mask (test_dispatch.c);
	 * the reserved BYTCHK code 10b is a value the mask cannot refuse. */
	cdb10(c, 0x2f, 0x04, 0, 1);
	prep(c, 10, NULL, 0);
	run(sbc_verify);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(get_be16(cmd.sense + 16), 1);

	cdb10(c, 0x2f, 0x02, NBLOCKS + 1, 0);
	prep(c, 10, NULL, 0);
	run(sbc_verify);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
}

static void test_write_verify(void **state)
{
	uint8_t c[10], data[2 * BS];
	memset(data, 0x77, sizeof(data));
	cdb10(c, 0x2e, 0x02, 30, 2);
	prep(c, 10, data, sizeof(data));
	run(sbc_write_verify);
	assert_good();
	assert_true(disk_is(30, 2, 0x77));
	assert_int_equal(fake.ops[USCST_IO_WRITE], 1);
	assert_int_equal(fake.ops[USCST_IO_READ], 1);
}

/* --- capacity --- */

static void test_read_capacity(void **state)
{
	uint8_t c10[10] = {0x25};
	prep(c10, 10, NULL, 0);
	run(sbc_read_capacity10);
	assert_good();
	assert_int_equal(get_be32(cmd.in_buf), NBLOCKS - 1);
	assert_int_equal(get_be32(cmd.in_buf + 4), BS);

	dev.nblocks = 1ull << 33;
	prep(c10, 10, NULL, 0);
	run(sbc_read_capacity10);
	assert_int_equal(get_be32(cmd.in_buf), 0xffffffffu);

	uint8_t c16[16] = {0x9e, 0x10};
	put_be32(c16 + 10, 32);
	prep(c16, 16, NULL, 0);
	run(sbc_read_capacity16);
	assert_good();
	assert_int_equal(cmd.in_len, 32);
	assert_true(get_be64(cmd.in_buf) == (1ull << 33) - 1);
	assert_int_equal(cmd.in_buf[14] & 0xc0, 0xc0); /* LBPME, LBPRZ */

	put_be32(c16 + 10, 5);
	prep(c16, 16, NULL, 0);
	run(sbc_read_capacity16);
	assert_good();
	assert_int_equal(cmd.in_len, 5);

	dev.thin_provisioned = false;
	put_be32(c16 + 10, 32);
	prep(c16, 16, NULL, 0);
	run(sbc_read_capacity16);
	assert_int_equal(cmd.in_buf[14], 0);
}

/* lb_per_pb_exp (SCST's flag): the storage's physical block becomes
 * LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT; off, unknown, not a power of
 * two, not above the logical block or a transfer preference (1 MiB):
 * one logical block per physical block. */
static void test_read_capacity16_lbppb(void **state)
{
	uint8_t c16[16] = {0x9e, 0x10};
	put_be32(c16 + 10, 32);
	static const struct {
		bool flag;
		uint32_t pbs;
		uint8_t exp;
	} cases[] = {
	    {true, 4096, 3}, {true, 8192, 4},	  {true, 0, 0},	    {true, 512, 0},
	    {true, 3072, 0}, {true, 1u << 20, 0}, {false, 4096, 0}, {true, 65536, 7},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		atomic_store(&dev.lb_per_pb_exp, cases[i].flag);
		dev.phys_block_size = cases[i].pbs;
		prep(c16, 16, NULL, 0);
		run(sbc_read_capacity16);
		assert_good();
		assert_int_equal(cmd.in_buf[13], cases[i].exp);
	}
}

static void test_get_lba_status(void **state)
{
	uint8_t c[16] = {0x9e, 0x12};
	put_be64(c + 2, 100);
	put_be32(c + 10, 8 + 2 * 16);
	prep(c, 16, NULL, 0);
	run(sbc_get_lba_status);
	assert_good();
	assert_int_equal(cmd.in_len, 40);
	assert_int_equal(get_be32(cmd.in_buf), 36);
	/* 100..127 deallocated, then mapped to the end. */
	assert_true(get_be64(cmd.in_buf + 8) == 100);
	assert_int_equal(get_be32(cmd.in_buf + 16), 28);
	assert_int_equal(cmd.in_buf[20], 1);
	assert_true(get_be64(cmd.in_buf + 24) == 128);
	assert_int_equal(get_be32(cmd.in_buf + 32), NBLOCKS - 128);
	assert_int_equal(cmd.in_buf[36], 0);

	put_be64(c + 2, NBLOCKS);
	prep(c, 16, NULL, 0);
	run(sbc_get_lba_status);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
}

/* A resync_size shrink in the middle of the command: the reply describes
 * the medium as the command first read its size, never a mix of two sizes
 * (reading nblocks twice lets a shrink in between wrap "nblocks - lba"). */
static void test_get_lba_status_one_size(void **state)
{
	uint8_t c[16] = {0x9e, 0x12};
	put_be64(c + 2, 100);
	put_be32(c + 10, 8 + 4 * 16);
	prep(c, 16, NULL, 0);
	fake.shrink_to = 1000;
	run(sbc_get_lba_status);
	assert_good();
	assert_int_equal(get_be32(cmd.in_buf), 4 + 2 * 16);
	assert_true(get_be64(cmd.in_buf + 8) == 100);
	assert_int_equal(get_be32(cmd.in_buf + 16), 28);
	assert_true(get_be64(cmd.in_buf + 24) == 128);
	assert_int_equal(get_be32(cmd.in_buf + 32), NBLOCKS - 128);

	/* The next command sees the new size. */
	put_be64(c + 2, 1000);
	prep(c, 16, NULL, 0);
	run(sbc_get_lba_status);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
}

/* --- WRITE SAME --- */

static void test_write_same_pattern_chunks(void **state)
{
	uint8_t c[16], block[BS];
	uint32_t blocks = 3 * (1u << 20) / BS + 7; /* three chunks and a bit */
	memset(block, 0x3c, sizeof(block));
	fill_disk(1000 + blocks, 1, 0xee);
	cdb16(c, 0x93, 0, 1000, blocks);
	prep(c, 16, block, BS);
	run(sbc_write_same);
	assert_good();
	assert_true(disk_is(1000, blocks, 0x3c));
	assert_true(disk_is(1000 + blocks, 1, 0xee));
	assert_int_equal(fake.ops[USCST_IO_WRITE], 4);
	assert_true(fake.max_len[USCST_IO_WRITE] <= (1u << 20));
}

static void test_write_same_async_chunks(void **state)
{
	uint8_t c[10], block[BS];
	uint32_t blocks = 2 * (1u << 20) / BS + 1;
	memset(block, 0x4d, sizeof(block));
	cdb10(c, 0x41, 0, 0, (uint16_t)blocks);
	prep(c, 10, block, BS);
	fake.async = true;
	sbc_write_same(&cmd);
	unsigned rounds = 0;
	while (fake.pending) {
		assert_int_equal(done_calls, 0);
		complete_pending();
		rounds++;
	}
	assert_int_equal(rounds, 3);
	assert_int_equal(done_calls, 1);
	assert_good();
	assert_true(disk_is(0, blocks, 0x4d));
}

static void test_write_same_zeroes_and_unmap(void **state)
{
	uint8_t c[10], block[BS] = {0};
	fill_disk(0, 300, 0xff);
	cdb10(c, 0x41, 0, 0, 100);
	prep(c, 10, block, BS);
	run(sbc_write_same);
	assert_good();
	assert_int_equal(fake.ops[USCST_IO_WRITE_ZEROES], 1);
	assert_true(disk_is(0, 100, 0));

	cdb10(c, 0x41, 0x08, 100, 200); /* UNMAP */
	prep(c, 10, block, BS);
	run(sbc_write_same);
	assert_good();
	assert_int_equal(fake.ops[USCST_IO_DISCARD], 1);
	assert_true(disk_is(100, 200, 0));

	/* UNMAP deallocates whatever the block holds (LBPRZ: zeros after). */
	fill_disk(0, 10, 0xff);
	block[0] = 1;
	cdb10(c, 0x41, 0x08, 0, 10);
	prep(c, 10, block, BS);
	run(sbc_write_same);
	assert_good();
	assert_true(disk_is(0, 10, 0));
	assert_int_equal(fake.ops[USCST_IO_DISCARD], 2);
	assert_int_equal(fake.ops[USCST_IO_WRITE], 0);

	/* WRITE SAME(10) UNMAP with NUMBER OF BLOCKS 0 runs to the end. */
	fill_disk(NBLOCKS - 3, 3, 0xff);
	memset(block, 0xff, sizeof(block));
	cdb10(c, 0x41, 0x08, NBLOCKS - 3, 0);
	prep(c, 10, block, BS);
	run(sbc_write_same);
	assert_good();
	assert_true(disk_is(NBLOCKS - 3, 3, 0));
}

/* A backend that cannot deallocate gets the initiator's block written. */
static void test_write_same_unmap_pattern_fallback(void **state)
{
	uint8_t c[16], block[BS];
	memset(block, 0x5a, sizeof(block));
	fill_disk(0, 10, 0xff);
	fake.no_discard = true;
	cdb16(c, 0x93, 0x08, 0, 10); /* UNMAP */
	prep(c, 16, block, BS);
	run(sbc_write_same);
	assert_good();
	assert_true(disk_is(0, 10, 0x5a));
	assert_int_equal(fake.ops[USCST_IO_DISCARD], 1);
	assert_int_equal(fake.ops[USCST_IO_WRITE_ZEROES], 0);
	assert_int_equal(fake.ops[USCST_IO_WRITE], 1);
}

static void test_write_same_discard_fallback(void **state)
{
	uint8_t c[16];
	fill_disk(0, 10, 0xff);
	fake.no_discard = true;
	cdb16(c, 0x93, 0x08 | 0x01, 0, 10); /* UNMAP, NDOB */
	prep(c, 16, NULL, 0);
	run(sbc_write_same);
	assert_good();
	assert_true(disk_is(0, 10, 0));
	assert_int_equal(fake.ops[USCST_IO_WRITE_ZEROES], 1);
}

static void test_write_same_invalid_fields(void **state)
{
	/* WRPROTECT, ANCHOR, PBDATA, LBDATA and NDOB in WRITE SAME(10) are
	 * refused by dispatch's usage mask (test_dispatch.c); UNMAP depends on
	 * the unit. */
	uint8_t c[10], block[BS] = {0};
	dev.thin_provisioned = false;
	cdb10(c, 0x41, 0x08, 0, 1);
	prep(c, 10, block, BS);
	run(sbc_write_same);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(fake.submits, 0);
}

static void test_write_same_dataout_size(void **state)
{
	uint8_t c[10], block[2 * BS] = {0};
	cdb10(c, 0x41, 0, 0, 1);
	prep(c, 10, block, BS / 2);
	run(sbc_write_same);
	assert_int_equal(cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(cmd.sense[2] & 0x0f, SK_ILLEGAL_REQUEST);

	/* The initiator announced two blocks; the target took one. */
	prep(c, 10, block, BS);
	cmd.exp_len = 2 * BS;
	run(sbc_write_same);
	assert_int_equal(cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(cmd.sense[2] & 0x0f, SK_ILLEGAL_REQUEST);
	assert_int_equal(fake.submits, 0);
}

static void test_write_same_zero_length_to_end(void **state)
{
	uint8_t c[16], block[BS];
	memset(block, 0x61, sizeof(block));
	cdb16(c, 0x93, 0, NBLOCKS - 10, 0);
	prep(c, 16, block, BS);
	run(sbc_write_same);
	assert_good();
	assert_true(disk_is(NBLOCKS - 10, 10, 0x61));

	cdb16(c, 0x93, 0, NBLOCKS + 1, 0);
	prep(c, 16, block, BS);
	run(sbc_write_same);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);

	/* Beyond MAXIMUM WRITE SAME LENGTH, explicit or implied. */
	dev.nblocks = SBC_MAX_WRITE_SAME_BLOCKS + 100ull;
	cdb16(c, 0x93, 0, 0, 0);
	prep(c, 16, block, BS);
	run(sbc_write_same);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	cdb16(c, 0x93, 0, 0, SBC_MAX_WRITE_SAME_BLOCKS + 1);
	prep(c, 16, block, BS);
	run(sbc_write_same);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(fake.submits, 1);
}

/* --- UNMAP --- */

static unsigned unmap_list(uint8_t *p, const uint64_t (*desc)[2], unsigned n)
{
	unsigned len = 8 + 16 * n;
	memset(p, 0, len);
	put_be16(p, (uint16_t)(len - 2));
	put_be16(p + 2, (uint16_t)(16 * n));
	for (unsigned i = 0; i < n; i++) {
		put_be64(p + 8 + 16 * i, desc[i][0]);
		put_be32(p + 16 + 16 * i, (uint32_t)desc[i][1]);
	}
	return len;
}

static void prep_unmap(const uint8_t *list, unsigned len)
{
	uint8_t c[10];
	cdb10(c, 0x42, 0, 0, (uint16_t)len);
	prep(c, 10, list, len);
}

static void test_unmap_simple(void **state)
{
	uint8_t p[8 + 3 * 16];
	const uint64_t d[3][2] = {{10, 5}, {100, 0}, {NBLOCKS - 1, 1}};
	fill_disk(0, NBLOCKS, 0xff);
	prep_unmap(p, unmap_list(p, d, 3));
	run(sbc_unmap);
	assert_good();
	assert_int_equal(fake.ops[USCST_IO_DISCARD], 2);
	assert_true(disk_is(10, 5, 0));
	assert_true(disk_is(15, 1, 0xff));
	assert_true(disk_is(NBLOCKS - 1, 1, 0));
}

static void test_unmap_many_sync_completions(void **state)
{
	static uint8_t p[8 + 256 * 16];
	static uint64_t d[256][2];
	for (unsigned i = 0; i < 256; i++) {
		d[i][0] = 2 * i;
		d[i][1] = 1;
	}
	prep_unmap(p, unmap_list(p, (const uint64_t(*)[2])d, 256));
	run(sbc_unmap);
	assert_good();
	assert_int_equal(fake.ops[USCST_IO_DISCARD], 256);
}

static void test_unmap_empty_lists(void **state)
{
	uint8_t c[10];
	cdb10(c, 0x42, 0, 0, 0); /* PARAMETER LIST LENGTH 0 */
	prep(c, 10, NULL, 0);
	run(sbc_unmap);
	assert_good();

	uint8_t p[8];
	const uint64_t none[1][2] = {{0, 0}};
	prep_unmap(p, unmap_list(p, none, 0));
	run(sbc_unmap);
	assert_good();

	const uint64_t at_end[1][2] = {{NBLOCKS, 0}};
	uint8_t q[24];
	prep_unmap(q, unmap_list(q, at_end, 1));
	run(sbc_unmap);
	assert_good();
	assert_int_equal(fake.submits, 0);
}

static void test_unmap_parameter_list_errors(void **state)
{
	uint8_t p[8 + 16];
	const uint64_t d[1][2] = {{0, 1}};

	/* Shorter than the header. */
	unmap_list(p, d, 1);
	prep_unmap(p, 4);
	run(sbc_unmap);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);

	/* Descriptor length beyond the data sent. */
	unmap_list(p, d, 1);
	put_be16(p + 2, 32);
	prep_unmap(p, sizeof(p));
	run(sbc_unmap);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);

	/* Data sent shorter than the CDB announced. */
	unmap_list(p, d, 1);
	uint8_t c[10];
	cdb10(c, 0x42, 0, 0, sizeof(p));
	prep(c, 10, p, 12);
	run(sbc_unmap);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	assert_int_equal(fake.submits, 0);
}

static void test_unmap_too_many_descriptors(void **state)
{
	static uint8_t p[8 + 257 * 16];
	static uint64_t d[257][2];
	prep_unmap(p, unmap_list(p, (const uint64_t(*)[2])d, SBC_MAX_UNMAP_DESCRIPTORS + 1));
	run(sbc_unmap);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
}

static void test_unmap_out_of_range_is_atomic(void **state)
{
	uint8_t p[8 + 2 * 16];
	const uint64_t d[2][2] = {{0, 4}, {NBLOCKS - 1, 2}};
	fill_disk(0, 4, 0xff);
	prep_unmap(p, unmap_list(p, d, 2));
	run(sbc_unmap);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	assert_true(disk_is(0, 4, 0xff));
	assert_int_equal(fake.submits, 0);
}

/* (ANCHOR is refused by dispatch's usage mask: test_dispatch.c.) */
static void test_unmap_not_thin(void **state)
{
	uint8_t p[24];
	const uint64_t d[1][2] = {{0, 1}};
	unsigned len = unmap_list(p, d, 1);
	dev.thin_provisioned = false;
	prep_unmap(p, len);
	run(sbc_unmap);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
}

/* --- durability of UNMAP and WRITE SAME --- */

/* Index in fake.log of the first `op` at or after `from`; -1 if none. */
static int log_find(enum uscst_io_op op, unsigned from)
{
	for (unsigned i = from; i < fake.nlog; i++)
		if (fake.log[i].op == op)
			return (int)i;
	return -1;
}

enum cache_mode { CACHE_WCE, CACHE_WRITE_THROUGH, CACHE_WCE_OFF, CACHE_NV };

static void set_cache(enum cache_mode m)
{
	dev.wce = m != CACHE_WCE_OFF;
	dev.write_through = m == CACHE_WRITE_THROUGH;
	dev.nv_cache = m == CACHE_NV;
}

/* Without a usable volatile cache (write_through 1, or WCE=0 from MODE
 * SELECT) GOOD must mean durable.  A DISCARD / WRITE ZEROES is an
 * fallocate, which FUA does not cover: a FLUSH must follow it, before the
 * command completes.  With WCE=1 (or a non-volatile cache) none is due. */
static void test_unmap_durable_without_cache(void **state)
{
	uint8_t p[8 + 2 * 16];
	const uint64_t d[2][2] = {{10, 5}, {50, 5}};
	for (enum cache_mode m = CACHE_WCE; m <= CACHE_NV; m++) {
		set_cache(m);
		prep_unmap(p, unmap_list(p, d, 2));
		fake.nlog = 0;
		memset(fake.ops, 0, sizeof(fake.ops));
		run(sbc_unmap);
		assert_good();
		bool durable = m == CACHE_WRITE_THROUGH || m == CACHE_WCE_OFF;
		assert_int_equal(fake.ops[USCST_IO_DISCARD], 2);
		assert_int_equal(fake.ops[USCST_IO_FLUSH], durable ? 1 : 0);
		if (durable) /* after both discards */
			assert_int_equal(log_find(USCST_IO_FLUSH, 0), 2);
	}

	/* Asynchronous completions: GOOD only once the FLUSH has completed. */
	set_cache(CACHE_WRITE_THROUGH);
	prep_unmap(p, unmap_list(p, d, 2));
	fake.nlog = 0;
	fake.async = true;
	sbc_unmap(&cmd);
	complete_pending();
	complete_pending();
	assert_int_equal(done_calls, 0);
	assert_int_equal(fake.pending->op, USCST_IO_FLUSH);
	complete_pending();
	assert_int_equal(done_calls, 1);
	assert_good();

	/* A failed FLUSH is a failed UNMAP. */
	fake.async = false;
	prep_unmap(p, unmap_list(p, d, 1));
	fake.async = true;
	sbc_unmap(&cmd);
	complete_pending();
	fake.fail_errno = EIO;
	complete_pending();
	assert_int_equal(done_calls, 1);
	assert_sense(SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
}

static void test_write_same_durable_without_cache(void **state)
{
	uint8_t c[16], zero[BS] = {0}, pattern[BS];
	memset(pattern, 0x6b, sizeof(pattern));
	/* flags: 0 = zeros (WRITE ZEROES), UNMAP = deallocate, pattern = WRITE */
	const struct {
		uint8_t flags;
		const uint8_t *block;
		enum uscst_io_op op;
	} forms[] = {
	    {0, zero, USCST_IO_WRITE_ZEROES},
	    {WS_UNMAP_BIT, zero, USCST_IO_DISCARD},
	    {WS_UNMAP_BIT, pattern, USCST_IO_DISCARD},
	    {0, pattern, USCST_IO_WRITE},
	};
	for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		for (enum cache_mode m = CACHE_WCE; m <= CACHE_NV; m++) {
			set_cache(m);
			cdb16(c, 0x93, forms[i].flags, 500, 64);
			prep(c, 16, forms[i].block, BS);
			fake.nlog = 0;
			memset(fake.ops, 0, sizeof(fake.ops));
			run(sbc_write_same);
			assert_good();
			bool durable = m == CACHE_WRITE_THROUGH || m == CACHE_WCE_OFF;
			assert_int_equal(fake.ops[forms[i].op], 1);
			if (forms[i].op == USCST_IO_WRITE) {
				/* A write carries FUA itself: no FLUSH needed. */
				assert_int_equal(fake.log[0].fua, durable);
				assert_int_equal(fake.ops[USCST_IO_FLUSH], 0);
			} else {
				assert_int_equal(fake.ops[USCST_IO_FLUSH], durable ? 1 : 0);
				if (durable)
					assert_int_equal(log_find(USCST_IO_FLUSH, 0), 1);
			}
		}
	}
}

/* --- COMPARE AND WRITE / ORWRITE --- */

static void caw_cdb(uint8_t *c, uint64_t lba, uint8_t blocks)
{
	memset(c, 0, 16);
	c[0] = 0x89;
	put_be64(c + 2, lba);
	c[13] = blocks;
}

static void test_caw_match_writes(void **state)
{
	uint8_t c[16], data[4 * BS];
	fill_disk(50, 2, 'A');
	memset(data, 'A', 2 * BS);
	memset(data + 2 * BS, 'B', 2 * BS);
	caw_cdb(c, 50, 2);
	prep(c, 16, data, sizeof(data));
	run(sbc_compare_and_write);
	assert_good();
	assert_true(disk_is(50, 2, 'B'));
}

static void test_caw_miscompare(void **state)
{
	uint8_t c[16], data[4 * BS];
	fill_disk(50, 2, 'A');
	memset(data, 'A', 2 * BS);
	data[2 * BS - 27] = 'C';
	memset(data + 2 * BS, 'B', 2 * BS);
	caw_cdb(c, 50, 2);
	prep(c, 16, data, sizeof(data));
	run(sbc_compare_and_write);
	assert_sense(SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY);
	assert_int_equal(sense_info(), 2 * BS - 27);
	assert_true(disk_is(50, 2, 'A'));
}

static void test_caw_dataout_size(void **state)
{
	uint8_t c[16], data[4 * BS] = {0};
	/* TL 1 but four blocks announced. */
	caw_cdb(c, 0, 1);
	prep(c, 16, data, 2 * BS);
	cmd.exp_len = 4 * BS;
	run(sbc_compare_and_write);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);

	/* TL 3 but only four blocks sent. */
	caw_cdb(c, 0, 3);
	prep(c, 16, data, 4 * BS);
	run(sbc_compare_and_write);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(fake.submits, 0);

	caw_cdb(c, NBLOCKS, 1);
	prep(c, 16, data, 2 * BS);
	run(sbc_compare_and_write);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
}

/* A second command of its own, for two commands in flight at once. */
static struct uscst_cmd other;
static unsigned other_done;

static void on_other_done(struct uscst_cmd *c) { other_done++; }

static void prep_other(const uint8_t *cdb, unsigned cdb_len, const void *out, uint32_t out_bytes)
{
	uscst_cmd_release(&other);
	uscst_cmd_init(&other, &test_nexus);
	memcpy(other.cdb, cdb, cdb_len);
	other.cdb_len = (uint16_t)cdb_len;
	other.dev = &dev;
	other.done = on_other_done;
	other.exp_len = out_bytes;
	other.exp_write = out_bytes != 0;
	if (out) {
		uscst_cmd_alloc_out(&other, out_bytes);
		memcpy(other.out_buf, out, out_bytes);
	}
	other_done = 0;
}

/* CAW of `blocks` at lba comparing `cmp` and writing `wr`, left in flight
 * (async) with its read parked. */
static void start_caw(uint64_t lba, uint8_t blocks, uint8_t cmp, uint8_t wr)
{
	static uint8_t data[2 * 8 * BS];
	uint8_t c[16];
	assert_true(blocks <= 8);
	memset(data, cmp, (size_t)blocks * BS);
	memset(data + (size_t)blocks * BS, wr, (size_t)blocks * BS);
	caw_cdb(c, lba, blocks);
	prep(c, 16, data, 2u * blocks * BS);
	fake.async = true;
	sbc_compare_and_write(&cmd);
	assert_int_equal(done_calls, 0);
}

/* A CAW that overlaps one in flight waits for it, then runs: no BUSY
 * (ESXi would pay a round trip per contended ATS). */
static void test_caw_overlap_waits(void **state)
{
	fill_disk(7, 1, 'X');
	start_caw(7, 1, 'X', 'Y');
	assert_int_equal(fake.nqueue, 1); /* its read */

	uint8_t c[16], data[2 * BS];
	memset(data, 'Y', BS); /* compares with what the first one writes */
	memset(data + BS, 'W', BS);
	caw_cdb(c, 7, 1);
	prep_other(c, 16, data, sizeof(data));
	sbc_compare_and_write(&other);
	assert_int_equal(other_done, 0);  /* waiting, not BUSY */
	assert_int_equal(fake.nqueue, 1); /* and not reading yet */

	complete_pending(); /* first read: equal, then its write */
	assert_int_equal(fake.nqueue, 1);
	assert_int_equal(fake.pending->op, USCST_IO_WRITE);
	complete_pending(); /* first write: first done, the second may read */
	assert_int_equal(done_calls, 1);
	assert_good();
	assert_int_equal(other_done, 0);
	assert_int_equal(fake.pending->op, USCST_IO_READ);
	complete_pending(); /* second read: sees Y */
	complete_pending(); /* second write */
	assert_int_equal(other_done, 1);
	assert_int_equal(other.status, SAM_STAT_GOOD);
	assert_true(disk_is(7, 1, 'W'));

	/* The range is free again. */
	fake.async = false;
	memset(data, 'W', BS);
	prep(c, 16, data, sizeof(data));
	run(sbc_compare_and_write);
	assert_good();
	uscst_cmd_release(&other);
}

/* A WRITE inside the range of a CAW in flight waits until the CAW has
 * written: the WRITE's data is not overwritten by the CAW (a lost write
 * that returned GOOD). */
static void test_write_waits_for_caw(void **state)
{
	fill_disk(100, 8, 'X');
	start_caw(100, 8, 'X', 'Y');

	uint8_t c[10], z[2 * BS];
	memset(z, 'Z', sizeof(z));
	cdb10(c, 0x2a, 0, 103, 2);
	prep_other(c, 10, z, sizeof(z));
	sbc_write(&other);
	assert_int_equal(other_done, 0);
	assert_int_equal(fake.nqueue, 1); /* the WRITE was not submitted */

	complete_pending(); /* CAW read: X, equal */
	complete_pending(); /* CAW write: Y */
	assert_int_equal(done_calls, 1);
	assert_good();
	assert_int_equal(fake.nqueue, 1); /* now the WRITE */
	assert_int_equal(fake.pending->op, USCST_IO_WRITE);
	complete_pending();
	assert_int_equal(other_done, 1);
	assert_int_equal(other.status, SAM_STAT_GOOD);
	/* Serial: CAW, then WRITE. */
	assert_true(disk_is(100, 3, 'Y'));
	assert_true(disk_is(103, 2, 'Z'));
	assert_true(disk_is(105, 3, 'Y'));
	uscst_cmd_release(&other);
}

/* A WRITE elsewhere on the device, or on another device, does not wait. */
static void test_write_outside_caw_runs(void **state)
{
	fill_disk(100, 8, 'X');
	start_caw(100, 8, 'X', 'Y');

	uint8_t c[10], z[BS];
	memset(z, 'Z', sizeof(z));
	cdb10(c, 0x2a, 0, 108, 1);
	prep_other(c, 10, z, sizeof(z));
	sbc_write(&other);
	assert_int_equal(fake.nqueue, 2); /* submitted at once */

	/* Another device: its own lock table, fast path. */
	struct uscst_device dev2 = dev;
	pthread_mutex_init(&dev2.ranges.mutex, NULL);
	atomic_init(&dev2.ranges.exclusive, 0);
	atomic_init(&dev2.ranges.fast_writers, 0);
	dev2.ranges.held = dev2.ranges.wait_head = dev2.ranges.wait_tail = NULL;
	struct uscst_cmd third;
	uscst_cmd_init(&third, &test_nexus);
	cdb10(third.cdb, 0x2a, 0, 100, 1);
	third.dev = &dev2;
	third.done = on_other_done;
	third.exp_len = BS;
	uscst_cmd_alloc_out(&third, BS);
	sbc_write(&third);
	assert_int_equal(fake.nqueue, 3);
	assert_int_equal(atomic_load(&dev2.ranges.fast_writers), 1);

	while (fake.pending)
		complete_pending();
	assert_int_equal(done_calls, 1);
	assert_int_equal(other_done, 2);
	assert_int_equal(atomic_load(&dev2.ranges.fast_writers), 0);
	assert_int_equal(atomic_load(&dev.ranges.fast_writers), 0);
	assert_int_equal(atomic_load(&dev.ranges.exclusive), 0);
	uscst_cmd_release(&third);
	uscst_cmd_release(&other);
	pthread_mutex_destroy(&dev2.ranges.mutex);
}

/* A CAW does not read while an overlapping WRITE is still in flight: the
 * WRITE would land between its read and its write. */
static void test_caw_waits_for_write_in_flight(void **state)
{
	fill_disk(200, 4, 'X');
	uint8_t c[10], z[BS];
	memset(z, 'Z', sizeof(z));
	cdb10(c, 0x2a, 0, 201, 1);
	prep_other(c, 10, z, sizeof(z));
	fake.async = true;
	sbc_write(&other);
	assert_int_equal(fake.nqueue, 1);

	start_caw(200, 4, 'X', 'Y');
	assert_int_equal(fake.nqueue, 1); /* no read yet */
	complete_pending();		  /* the WRITE lands */
	assert_int_equal(other_done, 1);
	assert_int_equal(fake.nqueue, 1); /* now the CAW reads */
	assert_int_equal(fake.pending->op, USCST_IO_READ);
	complete_pending();
	/* Serial: WRITE, then CAW, which miscompares at the WRITE's block. */
	assert_int_equal(done_calls, 1);
	assert_sense(SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY);
	assert_int_equal(sense_info(), BS);
	assert_true(disk_is(200, 1, 'X'));
	assert_true(disk_is(201, 1, 'Z'));
	assert_int_equal(fake.nqueue, 0);
	uscst_cmd_release(&other);
}

/* Every other command that changes the medium waits for the CAW too. */
static void test_medium_writers_wait_for_caw(void **state)
{
	uint8_t p[8 + 16], block[BS], c[16];
	const uint64_t d[1][2] = {{300, 2}};
	memset(block, 'Q', sizeof(block));
	for (int which = 0; which < 4; which++) {
		fill_disk(298, 8, 'X');
		start_caw(298, 8, 'X', 'Y');
		switch (which) {
		case 0: /* UNMAP */
			cdb10(c, 0x42, 0, 0, 0);
			put_be16(c + 7, (uint16_t)unmap_list(p, d, 1));
			prep_other(c, 10, p, get_be16(c + 7));
			sbc_unmap(&other);
			break;
		case 1: /* WRITE SAME(16) */
			cdb16(c, 0x93, 0, 300, 2);
			prep_other(c, 16, block, BS);
			sbc_write_same(&other);
			break;
		case 2: /* WRITE AND VERIFY(10) */
			cdb10(c, 0x2e, 0, 300, 1);
			prep_other(c, 10, block, BS);
			sbc_write_verify(&other);
			break;
		case 3: /* ORWRITE(16): exclusive itself */
			cdb16(c, 0x8b, 0, 300, 1);
			prep_other(c, 16, block, BS);
			sbc_orwrite(&other);
			break;
		}
		assert_int_equal(other_done, 0);
		assert_int_equal(fake.nqueue, 1); /* only the CAW's read */
		complete_pending();
		complete_pending();
		assert_int_equal(done_calls, 1);
		assert_good();
		while (fake.pending)
			complete_pending();
		assert_int_equal(other_done, 1);
		assert_int_equal(other.status, SAM_STAT_GOOD);
		assert_true(disk_is(298, 2, 'Y'));
		assert_true(disk_is(300, 1, which == 0 ? 0 : which == 3 ? ('Y' | 'Q') : 'Q'));
		fake.async = false;
	}
	uscst_cmd_release(&other);
}

/* A command aborted while it waits for a range never writes. */
static void test_aborted_waiter_does_not_write(void **state)
{
	fill_disk(400, 2, 'X');
	start_caw(400, 2, 'X', 'Y');
	uint8_t c[10], z[BS];
	memset(z, 'Z', sizeof(z));
	cdb10(c, 0x2a, 0, 400, 1);
	prep_other(c, 10, z, sizeof(z));
	sbc_write(&other);
	other.aborted = true; /* task management, while it waits */
	complete_pending();
	complete_pending();
	assert_int_equal(done_calls, 1);
	assert_int_equal(other_done, 1); /* completed (status thrown away) */
	assert_int_equal(fake.nqueue, 0);
	assert_true(disk_is(400, 2, 'Y'));
	assert_int_equal(atomic_load(&dev.ranges.exclusive), 0);
	assert_null(dev.ranges.held);
	uscst_cmd_release(&other);
}

static void test_orwrite(void **state)
{
	uint8_t c[16], data[2 * BS];
	fill_disk(60, 2, 0xa5);
	memset(data, 0x5a, sizeof(data));
	cdb16(c, 0x8b, 0, 60, 2);
	prep(c, 16, data, sizeof(data));
	run(sbc_orwrite);
	assert_good();
	assert_true(disk_is(60, 2, 0xff));

	cdb16(c, 0x8b, 0, ~0ull, 1);
	prep(c, 16, data, BS);
	run(sbc_orwrite);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
}

/* --- misc --- */

static void test_start_stop_removable(void **state)
{
	uint8_t eject[6] = {0x1b, 0, 0, 0, 0x02, 0};
	uint8_t load[6] = {0x1b, 0, 0, 0, 0x03, 0};
	uint8_t prevent[6] = {0x1e, 0, 0, 0, 1, 0};
	uint8_t allow[6] = {0x1e, 0, 0, 0, 0, 0};
	dev.removable = true;

	prep(prevent, 6, NULL, 0);
	run(sbc_prevent_allow);
	assert_true(dev.prevent_removal);
	prep(eject, 6, NULL, 0);
	run(sbc_start_stop_unit);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
	assert_true(dev.medium_present);

	prep(allow, 6, NULL, 0);
	run(sbc_prevent_allow);
	prep(eject, 6, NULL, 0);
	run(sbc_start_stop_unit);
	assert_good();
	assert_false(dev.medium_present);

	/* A power condition makes LOEJ/START ignored. */
	uint8_t pc[6] = {0x1b, 0, 0, 0, 0x30 | 0x03, 0};
	prep(pc, 6, NULL, 0);
	run(sbc_start_stop_unit);
	assert_false(dev.medium_present);

	prep(load, 6, NULL, 0);
	run(sbc_start_stop_unit);
	assert_good();
	assert_true(dev.medium_present);
}

/* Ejecting or loading through a read-only mapping would change the medium
 * of every group: DATA PROTECT, WRITE PROTECTED, the medium untouched. */
static void test_start_stop_read_only_mapping(void **state)
{
	uint8_t eject[6] = {0x1b, 0, 0, 0, 0x02, 0};
	uint8_t load[6] = {0x1b, 0, 0, 0, 0x03, 0};
	uint8_t start[6] = {0x1b, 0, 0, 0, 0x01, 0};
	struct uscst_lun ro = {.lun = 0, .dev = &dev, .read_only = true};
	dev.removable = true;

	prep(eject, 6, NULL, 0);
	cmd.lun_ent = &ro;
	run(sbc_start_stop_unit);
	assert_sense(SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	assert_true(dev.medium_present);

	/* START without LOEJ changes nothing: still GOOD. */
	prep(start, 6, NULL, 0);
	cmd.lun_ent = &ro;
	run(sbc_start_stop_unit);
	assert_good();

	/* A read-only device refuses LOEJ too, loading as well as ejecting. */
	dev.medium_present = false;
	dev.read_only = true;
	prep(load, 6, NULL, 0);
	run(sbc_start_stop_unit);
	assert_sense(SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	assert_false(dev.medium_present);
}

static void test_start_stop_fixed_disk(void **state)
{
	uint8_t eject[6] = {0x1b, 0, 0, 0, 0x02, 0};
	uint8_t prevent[6] = {0x1e, 0, 0, 0, 1, 0};
	uint8_t bad_prevent[6] = {0x1e, 0, 0, 0, 2, 0};
	prep(eject, 6, NULL, 0);
	run(sbc_start_stop_unit);
	assert_good();
	assert_true(dev.medium_present);
	prep(prevent, 6, NULL, 0);
	run(sbc_prevent_allow);
	assert_good();
	assert_false(dev.prevent_removal);
	prep(bad_prevent, 6, NULL, 0);
	run(sbc_prevent_allow);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}

static void test_sync_cache(void **state)
{
	uint8_t c[10];
	cdb10(c, 0x35, 0x02, 0, 0);
	prep(c, 10, NULL, 0);
	run(sbc_sync_cache);
	assert_good();
	assert_int_equal(fake.ops[USCST_IO_FLUSH], 1);

	cdb10(c, 0x35, 0, NBLOCKS - 1, 2);
	prep(c, 10, NULL, 0);
	run(sbc_sync_cache);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);

	dev.nv_cache = true;
	cdb10(c, 0x35, 0, 0, 0);
	prep(c, 10, NULL, 0);
	run(sbc_sync_cache);
	assert_good();
	assert_int_equal(fake.ops[USCST_IO_FLUSH], 1);
}

static void test_prefetch(void **state)
{
	uint8_t c[10];
	cdb10(c, 0x34, 0x02, NBLOCKS - 4, 4);
	prep(c, 10, NULL, 0);
	run(sbc_prefetch);
	assert_good();
	assert_int_equal(fake.ops[USCST_IO_PREFETCH], 1);

	cdb10(c, 0x34, 0, NBLOCKS - 1, 2);
	prep(c, 10, NULL, 0);
	run(sbc_prefetch);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);

	cdb10(c, 0x34, 0, 0, 0); /* to the end of the medium */
	prep(c, 10, NULL, 0);
	run(sbc_prefetch);
	assert_good();
}

/* --- READ DEFECT DATA --- */

static void cdb_rdd10(uint8_t *c, uint8_t flags, uint16_t alloc_len)
{
	memset(c, 0, 10);
	c[0] = 0x37;
	c[2] = flags;
	put_be16(c + 7, alloc_len);
}

static void cdb_rdd12(uint8_t *c, uint8_t flags, uint32_t index, uint32_t alloc_len)
{
	memset(c, 0, 12);
	c[0] = 0xb7;
	c[1] = flags;
	put_be32(c + 2, index);
	put_be32(c + 6, alloc_len);
}

static void test_read_defect_data10(void **state)
{
	uint8_t c[10];
	/* Every list / format combination: header only, lists echoed, empty. */
	static const uint8_t formats[] = {0, 1, 2, 3, 4, 5};
	for (unsigned i = 0; i < sizeof(formats); i++) {
		for (uint8_t lists = 0; lists <= 0x18; lists += 0x08) {
			cdb_rdd10(c, lists | formats[i], 32);
			prep(c, 10, NULL, 0);
			run(sbc_read_defect_data);
			assert_good();
			assert_int_equal(cmd.in_len, 4);
			assert_int_equal(cmd.in_buf[0], 0);
			assert_int_equal(cmd.in_buf[1], lists | formats[i]);
			assert_int_equal(get_be16(cmd.in_buf + 2), 0);
		}
	}
	assert_int_equal(fake.submits, 0);
}

static void test_read_defect_data12(void **state)
{
	uint8_t c[12];
	cdb_rdd12(c, 0x18 | 3, 0, 32);
	prep(c, 12, NULL, 0);
	run(sbc_read_defect_data);
	assert_good();
	assert_int_equal(cmd.in_len, 8);
	assert_int_equal(cmd.in_buf[1], 0x18 | 3);
	assert_int_equal(get_be16(cmd.in_buf + 2), 0); /* GENERATION CODE */
	assert_int_equal(get_be32(cmd.in_buf + 4), 0); /* DEFECT LIST LENGTH */

	/* An index past the (empty) list selects nothing; not an error. */
	cdb_rdd12(c, 0x08, 1000, 32);
	prep(c, 12, NULL, 0);
	run(sbc_read_defect_data);
	assert_good();
	assert_int_equal(cmd.in_len, 8);
	assert_int_equal(cmd.in_buf[1], 0x08);
	assert_int_equal(get_be32(cmd.in_buf + 4), 0);
}

static void test_read_defect_data_alloc_len(void **state)
{
	uint8_t c10[10], c12[12];
	cdb_rdd10(c10, 0x10, 0);
	prep(c10, 10, NULL, 0);
	run(sbc_read_defect_data);
	assert_good();
	assert_int_equal(cmd.in_len, 0);

	cdb_rdd10(c10, 0x10, 3);
	prep(c10, 10, NULL, 0);
	run(sbc_read_defect_data);
	assert_good();
	assert_int_equal(cmd.in_len, 3);
	assert_int_equal(cmd.in_buf[1], 0x10);

	cdb_rdd12(c12, 0x10, 0, 5);
	prep(c12, 12, NULL, 0);
	run(sbc_read_defect_data);
	assert_good();
	assert_int_equal(cmd.in_len, 5);

	/* Larger than the header: only the header is returned. */
	cdb_rdd12(c12, 0x10, 0, 0xffffffffu);
	prep(c12, 12, NULL, 0);
	run(sbc_read_defect_data);
	assert_good();
	assert_int_equal(cmd.in_len, 8);
}

static void test_read_defect_data_formats(void **state)
{
	uint8_t c10[10], c12[12];
	/* Vendor specific: the default (short block) format is returned and
	 * the command ends with RECOVERED ERROR, DEFECT LIST NOT FOUND. */
	cdb_rdd10(c10, 0x08 | 6, 32);
	prep(c10, 10, NULL, 0);
	run(sbc_read_defect_data);
	assert_sense(SK_RECOVERED_ERROR, 0x1c, 0x00);
	assert_int_equal(cmd.in_len, 4);
	assert_int_equal(cmd.in_buf[1], 0x08 | 0);

	cdb_rdd12(c12, 0x10 | 6, 0, 32);
	prep(c12, 12, NULL, 0);
	run(sbc_read_defect_data);
	assert_sense(SK_RECOVERED_ERROR, 0x1c, 0x00);
	assert_int_equal(cmd.in_len, 8);
	assert_int_equal(cmd.in_buf[1], 0x10 | 0);

	/* Reserved: INVALID FIELD IN CDB pointing at the format field. */
	cdb_rdd10(c10, 7, 32);
	prep(c10, 10, NULL, 0);
	run(sbc_read_defect_data);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(cmd.sense[15], 0xc0 | 0x08 | 2);
	assert_int_equal(get_be16(cmd.sense + 16), 2);

	cdb_rdd12(c12, 0x18 | 7, 0, 32);
	prep(c12, 12, NULL, 0);
	run(sbc_read_defect_data);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(get_be16(cmd.sense + 16), 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* --- WRITE ATOMIC(16) --- */

static void wa_cdb(uint8_t *c, uint8_t flags, uint64_t lba, uint16_t blocks)
{
	memset(c, 0, 16);
	c[0] = 0x9c;
	c[1] = flags;
	put_be64(c + 2, lba);
	put_be16(c + 12, blocks);
}

static void test_write_atomic_writes(void **state)
{
	uint8_t c[16], data[4 * BS];
	memset(data, 'A', sizeof(data));
	wa_cdb(c, 0, 10, 4);
	prep(c, 16, data, sizeof(data));
	run(sbc_write_atomic);
	assert_good();
	assert_true(disk_is(10, 4, 'A'));
	/* One backend write for the whole command. */
	assert_int_equal(fake.ops[USCST_IO_WRITE], 1);
	assert_false(fake.last_fua);

	wa_cdb(c, 0x08 /* FUA */, 10, 1);
	prep(c, 16, data, BS);
	run(sbc_write_atomic);
	assert_good();
	assert_true(fake.last_fua);
	/* No lock is left behind. */
	assert_int_equal(atomic_load(&dev.ranges.exclusive), 0);
	assert_null(dev.ranges.held);
}

static void test_write_atomic_zero_blocks(void **state)
{
	uint8_t c[16];
	wa_cdb(c, 0, NBLOCKS, 0); /* at the end, nothing: fine */
	prep(c, 16, NULL, 0);
	run(sbc_write_atomic);
	assert_good();
	wa_cdb(c, 0, NBLOCKS + 1, 0);
	prep(c, 16, NULL, 0);
	run(sbc_write_atomic);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	assert_int_equal(fake.submits, 0);
}

static void test_write_atomic_refusals_write_nothing(void **state)
{
	static uint8_t data[8 * BS];
	uint8_t c[16];
	memset(data, 'B', sizeof(data));
	/* Beyond the end of the medium, and an LBA that wraps. */
	wa_cdb(c, 0, NBLOCKS - 1, 2);
	prep(c, 16, data, 2 * BS);
	run(sbc_write_atomic);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	wa_cdb(c, 0, UINT64_MAX, 2);
	prep(c, 16, data, 2 * BS);
	run(sbc_write_atomic);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* Fewer blocks of Data-Out than the CDB names: all or none. */
	wa_cdb(c, 0, 0, 8);
	prep(c, 16, data, 3 * BS);
	run(sbc_write_atomic);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(cmd.sense[15], 0xc0); /* SKSV, C/D: the CDB */
	assert_int_equal(get_be16(cmd.sense + 16), 12);
	assert_int_equal(fake.submits, 0);
	assert_true(disk_is(0, 8, 0));
}

/* Above MAXIMUM ATOMIC TRANSFER LENGTH (SBC_MAX_ATOMIC_TRANSFER_BYTES):
 * on a 4096-byte device the 16-bit length can name more. */
static void test_write_atomic_above_max_length(void **state)
{
	uint32_t max = SBC_MAX_ATOMIC_TRANSFER_BYTES / 4096;
	assert_true(max < 0xffff);
	dev.block_size = 4096;
	dev.block_shift = 12;
	dev.nblocks = 1u << 20; /* nothing reaches the backend */
	uint8_t c[16];
	wa_cdb(c, 0, 0, (uint16_t)(max + 1));
	prep(c, 16, NULL, 0);
	run(sbc_write_atomic);
	assert_sense(SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(get_be16(cmd.sense + 16), 12);
	assert_int_equal(fake.submits, 0);
}

/* While a WRITE ATOMIC's write is in flight, an overlapping READ and an
 * overlapping WRITE wait: the READ sees all of it, the WRITE lands after. */
static void test_write_atomic_excludes_read_and_write(void **state)
{
	static uint8_t data[8 * BS];
	uint8_t c[16];
	fill_disk(200, 8, 'O');
	memset(data, 'N', sizeof(data));
	wa_cdb(c, 0, 200, 8);
	prep(c, 16, data, sizeof(data));
	fake.async = true;
	sbc_write_atomic(&cmd);
	assert_int_equal(fake.nqueue, 1); /* its write, parked */

	uint8_t r[16];
	cdb16(r, 0x88, 0, 204, 2); /* READ(16) of two of its blocks */
	prep_other(r, 16, NULL, 0);
	other.exp_read = true;
	other.exp_len = 2 * BS;
	sbc_read(&other);
	assert_int_equal(other_done, 0);
	assert_int_equal(fake.nqueue, 1); /* the READ was not submitted */

	complete_pending(); /* the atomic write: N everywhere */
	assert_int_equal(done_calls, 1);
	assert_good();
	assert_int_equal(fake.nqueue, 1);
	assert_int_equal(fake.pending->op, USCST_IO_READ);
	complete_pending();
	assert_int_equal(other_done, 1);
	assert_int_equal(other.status, SAM_STAT_GOOD);
	for (unsigned i = 0; i < 2 * BS; i++)
		assert_int_equal(other.in_buf[i], 'N');
	uscst_cmd_release(&other);

	/* And a WRITE that overlaps waits for it too. */
	wa_cdb(c, 0, 200, 8);
	prep(c, 16, data, sizeof(data));
	sbc_write_atomic(&cmd);
	uint8_t w[10], z[BS];
	memset(z, 'Z', sizeof(z));
	cdb10(w, 0x2a, 0, 207, 1);
	prep_other(w, 10, z, sizeof(z));
	sbc_write(&other);
	assert_int_equal(fake.nqueue, 1);
	complete_pending();
	assert_int_equal(fake.pending->op, USCST_IO_WRITE);
	complete_pending();
	assert_int_equal(other_done, 1);
	assert_true(disk_is(200, 7, 'N'));
	assert_true(disk_is(207, 1, 'Z'));
	uscst_cmd_release(&other);
}

/* A WRITE ATOMIC waits for an overlapping READ in flight: that READ may
 * not see part of it either. */
static void test_write_atomic_waits_for_read(void **state)
{
	static uint8_t data[4 * BS];
	uint8_t r[16], c[16];
	fill_disk(300, 4, 'O');
	fake.async = true;
	cdb16(r, 0x88, 0, 300, 4);
	prep_other(r, 16, NULL, 0);
	other.exp_read = true;
	other.exp_len = 4 * BS;
	sbc_read(&other);
	assert_int_equal(fake.nqueue, 1); /* the READ, parked */

	memset(data, 'N', sizeof(data));
	wa_cdb(c, 0, 302, 4);
	prep(c, 16, data, sizeof(data));
	sbc_write_atomic(&cmd);
	assert_int_equal(fake.nqueue, 1); /* waiting for the READ */
	complete_pending();
	assert_int_equal(other_done, 1);
	for (unsigned i = 0; i < 4 * BS; i++)
		assert_int_equal(other.in_buf[i], 'O');
	assert_int_equal(fake.nqueue, 1);
	assert_int_equal(fake.pending->op, USCST_IO_WRITE);
	complete_pending();
	assert_int_equal(done_calls, 1);
	assert_good();
	assert_true(disk_is(302, 4, 'N'));
	uscst_cmd_release(&other);
}

/* VERIFY with BYTCHK reads the medium as READ does: never in the middle of
 * a WRITE ATOMIC. */
static void test_write_atomic_excludes_verify(void **state)
{
	static uint8_t data[8 * BS];
	uint8_t c[16], v[16];
	fill_disk(400, 8, 'O');
	memset(data, 'N', sizeof(data));
	wa_cdb(c, 0, 400, 8);
	prep(c, 16, data, sizeof(data));
	fake.async = true;
	sbc_write_atomic(&cmd);
	assert_int_equal(fake.nqueue, 1);

	cdb16(v, 0x8f, 0x02 /* BYTCHK 01b */, 402, 2);
	prep_other(v, 16, data, 2 * BS); /* expects the new blocks */
	sbc_verify(&other);
	assert_int_equal(fake.nqueue, 1); /* its read waits */
	complete_pending();
	assert_int_equal(done_calls, 1);
	assert_int_equal(fake.pending->op, USCST_IO_READ);
	complete_pending();
	assert_int_equal(other_done, 1);
	assert_int_equal(other.status, SAM_STAT_GOOD);
	assert_int_equal(other.in_len, 0); /* no Data-In */
	uscst_cmd_release(&other);
}

/* What REPORT SUPPORTED OPERATION CODES and dispatch take from the table:
 * DPO and FUA, no WRPROTECT, no ATOMIC BOUNDARY. */
static void test_write_atomic_usage(void **state)
{
	uint8_t c[16];
	wa_cdb(c, 0, 0, 1);
	const struct scsi_opcode_desc *op = scsi_lookup_opcode(&dev, c);
	assert_non_null(op);
	assert_ptr_equal(op->exec, sbc_write_atomic);
	assert_int_equal(op->usage[1], 0x18);
	assert_int_equal(op->usage[10], 0);
	assert_int_equal(op->usage[11], 0);
	assert_int_equal(op->usage[12], 0xff);
	assert_true(op->flags & OPF_WRITES_MEDIUM);
	cmd.dev = &dev;
	memcpy(cmd.cdb, c, 16);
	assert_int_equal(op->out_len(&cmd), BS);
}

/* Block Limits VPD: the atomic fields say what sbc_atomic.c does. */
static void test_write_atomic_vpd(void **state)
{
	uint8_t c[6] = {0x12, 0x01, 0xb0, 0, 255, 0};
	prep(c, 6, NULL, 0);
	run(spc_inquiry);
	assert_good();
	const uint8_t *b = cmd.in_buf;
	assert_int_equal(get_be32(b + 44), SBC_MAX_ATOMIC_TRANSFER_BYTES / BS);
	assert_true(get_be32(b + 44) <= get_be32(b + 8)); /* <= MAXIMUM TRANSFER LENGTH */
	assert_int_equal(get_be32(b + 48), 0);		  /* ATOMIC ALIGNMENT */
	assert_int_equal(get_be32(b + 52), 0);		  /* GRANULARITY */
	assert_int_equal(get_be32(b + 56), 0);		  /* boundaries: none */
	assert_int_equal(get_be32(b + 60), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_read10_returns_data),
	    T(test_read10_beyond_eol),
	    T(test_read16_zero_blocks),
	    T(test_read_too_long),
	    T(test_read6_zero_means_256),
	    T(test_read_io_error),
	    T(test_io_error_information),
	    T(test_write10_and_fua),
	    T(test_write_residual_partial),
	    T(test_write_residual_nothing_sent),
	    T(test_write_enospc_thin),
	    T(test_verify_match),
	    T(test_verify_miscompare_offset),
	    T(test_verify_one_block_pattern),
	    T(test_verify_no_bytchk_and_protect),
	    T(test_write_verify),
	    T(test_read_capacity),
	    T(test_read_capacity16_lbppb),
	    T(test_get_lba_status),
	    T(test_get_lba_status_one_size),
	    T(test_write_same_pattern_chunks),
	    T(test_write_same_async_chunks),
	    T(test_write_same_zeroes_and_unmap),
	    T(test_write_same_discard_fallback),
	    T(test_write_same_unmap_pattern_fallback),
	    T(test_write_same_invalid_fields),
	    T(test_write_same_dataout_size),
	    T(test_write_same_zero_length_to_end),
	    T(test_unmap_simple),
	    T(test_unmap_many_sync_completions),
	    T(test_unmap_empty_lists),
	    T(test_unmap_parameter_list_errors),
	    T(test_unmap_too_many_descriptors),
	    T(test_unmap_out_of_range_is_atomic),
	    T(test_unmap_not_thin),
	    T(test_unmap_durable_without_cache),
	    T(test_write_same_durable_without_cache),
	    T(test_caw_match_writes),
	    T(test_caw_miscompare),
	    T(test_caw_dataout_size),
	    T(test_caw_overlap_waits),
	    T(test_write_waits_for_caw),
	    T(test_write_outside_caw_runs),
	    T(test_caw_waits_for_write_in_flight),
	    T(test_medium_writers_wait_for_caw),
	    T(test_aborted_waiter_does_not_write),
	    T(test_orwrite),
	    T(test_start_stop_removable),
	    T(test_start_stop_read_only_mapping),
	    T(test_start_stop_fixed_disk),
	    T(test_sync_cache),
	    T(test_prefetch),
	    T(test_read_defect_data10),
	    T(test_read_defect_data12),
	    T(test_read_defect_data_alloc_len),
	    T(test_read_defect_data_formats),
	    T(test_write_atomic_writes),
	    T(test_write_atomic_zero_blocks),
	    T(test_write_atomic_refusals_write_nothing),
	    T(test_write_atomic_above_max_length),
	    T(test_write_atomic_excludes_read_and_write),
	    T(test_write_atomic_waits_for_read),
	    T(test_write_atomic_excludes_verify),
	    T(test_write_atomic_usage),
	    T(test_write_atomic_vpd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
