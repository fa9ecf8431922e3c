/*
 * vdisk_blockio: the alignment arithmetic of bounced requests
 * (dio_next_chunk, dio_aligned), the byte-range locks of read-modify-write
 * (dio_range), the aligned buffer pool (lib/buf_pool), and the backend on a reactor
 * against a temporary file: aligned and unaligned requests (offset,
 * length, buffer address), requests of several bounce steps, writes that
 * must keep the bytes around them, two small writes into one block in
 * flight together, PREFETCH, and a length that does not match the
 * segments.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/dio_align.h"
#include "backend/dio_range.h"
#include "core/core.h"
#include "fixtures/backend_io.h"
#include "lib/buf_pool.h"
#include "scsi/scsi.h"

/* ---- arithmetic ---- */

static const struct dio_align a4k = {.file = 4096, .mem = 512};

/* The chunk of [off, off+len) after `done` bytes, in steps of at most max,
 * is the one given. */
static void expect_chunk(uint64_t off, uint64_t len, uint64_t done, uint32_t max, uint64_t start,
			 uint64_t end, uint32_t skip, uint32_t data_len, bool head, bool tail)
{
	struct dio_chunk c;
	dio_next_chunk(&a4k, off, len, done, max, &c);
	assert_int_equal(c.start, start);
	assert_int_equal(c.end, end);
	assert_int_equal(c.skip, skip);
	assert_int_equal(c.data_len, data_len);
	assert_int_equal(c.read_head, head);
	assert_int_equal(c.read_tail, tail);
}

static void test_chunk_aligned(void **state)
{
	expect_chunk(8192, 8192, 0, 1 << 20, 8192, 16384, 0, 8192, false, false);
}

static void test_chunk_inside_one_block(void **state)
{
	/* One 512-byte sector in the middle of a block: the head read brings
	 * the whole block, no second read of the same block for the tail. */
	expect_chunk(4096 + 1024, 512, 0, 1 << 20, 4096, 8192, 1024, 512, true, false);
	/* The first sector of a block: no head, but the tail. */
	expect_chunk(4096, 512, 0, 1 << 20, 4096, 8192, 0, 512, false, true);
	/* The last sector: head only. */
	expect_chunk(8192 - 512, 512, 0, 1 << 20, 4096, 8192, 3584, 512, true, false);
}

static void test_chunk_head_and_tail(void **state)
{
	/* [512, 9216): partial first and last blocks, a whole one between. */
	expect_chunk(512, 8704, 0, 1 << 20, 0, 12288, 512, 8704, true, true);
}

static void test_chunk_steps(void **state)
{
	/* 20 KiB at 1 KiB in steps of at most 8 KiB: 7 KiB to the end of the
	 * first step (no tail read: the data runs to its end), 8 KiB whole,
	 * then the last 5 KiB with a tail. */
	expect_chunk(1024, 20480, 0, 8192, 0, 8192, 1024, 7168, true, false);
	expect_chunk(1024, 20480, 7168, 8192, 8192, 16384, 0, 8192, false, false);
	expect_chunk(1024, 20480, 15360, 8192, 16384, 24576, 0, 5120, false, true);
}

static void test_aligned(void **state)
{
	const struct dio_align *a = &a4k;
	_Alignas(4096) static uint8_t buf[16384];
	struct iovec one = {buf, 8192};
	assert_true(dio_aligned(a, 4096, 8192, &one, 1));
	assert_false(dio_aligned(a, 512, 8192, &one, 1));  /* offset */
	assert_false(dio_aligned(a, 4096, 4608, &one, 1)); /* length */
	struct iovec odd = {buf + 16, 8192};
	assert_false(dio_aligned(a, 4096, 8192, &odd, 1)); /* address */
	struct iovec mem512 = {buf + 512, 8192};
	assert_true(dio_aligned(a, 4096, 8192, &mem512, 1));
	struct iovec two[2] = {{buf, 4096}, {buf + 8192, 4096}};
	assert_true(dio_aligned(a, 0, 8192, two, 2));
	two[0].iov_len = 3584; /* a segment that is not whole blocks */
	two[1].iov_len = 4608;
	assert_false(dio_aligned(a, 0, 8192, two, 2));
}

/* ---- range locks ---- */

static int resumed;
static void count_resume(struct dio_range *r) { resumed++; }

static void test_range_locks(void **state)
{
	struct dio_range_table t;
	dio_range_table_init(&t);
	struct dio_range w1, w2, rmw, w3, rmw2;
	resumed = 0;
	/* Writes do not exclude each other. */
	assert_true(dio_range_acquire(&t, &w1, 0, 8192, false, count_resume));
	assert_true(dio_range_acquire(&t, &w2, 4096, 12288, false, count_resume));
	/* A read-modify-write waits for overlapping writes... */
	assert_false(dio_range_acquire(&t, &rmw, 4096, 8192, true, count_resume));
	/* ...and a later write behind it waits its turn, even though it
	 * conflicts only with the waiting one. */
	assert_false(dio_range_acquire(&t, &w3, 0, 8192, false, count_resume));
	/* Elsewhere, nothing waits. */
	assert_true(dio_range_acquire(&t, &rmw2, 65536, 69632, true, count_resume));
	dio_range_release(&t, &w1);
	assert_int_equal(resumed, 0); /* w2 still overlaps */
	dio_range_release(&t, &w2);
	assert_int_equal(resumed, 1); /* rmw granted, w3 still behind it */
	dio_range_release(&t, &rmw);
	assert_int_equal(resumed, 2);
	dio_range_release(&t, &w3);
	dio_range_release(&t, &rmw2);
	dio_range_release(&t, &rmw2); /* twice: nothing */
	dio_range_table_destroy(&t);
}

/* ---- pool ---- */

static void test_pool(void **state)
{
	/* Powers of two, aligned to their size up to a page. */
	uint8_t *a = buf_pool_get(1);
	assert_non_null(a);
	assert_int_equal(buf_pool_cap(1), BUF_POOL_MIN);
	assert_int_equal((uintptr_t)a % BUF_POOL_MIN, 0);
	uint8_t *b = buf_pool_get(4097);
	assert_int_equal(buf_pool_cap(4097), 8192);
	assert_int_equal((uintptr_t)b % BUF_POOL_PAGE, 0);
	assert_int_equal(buf_pool_cap(3000), 4096);
	/* Beyond the largest class: whole pages, not cached. */
	uint8_t *c = buf_pool_get(BUF_POOL_MAX + 1);
	assert_non_null(c);
	assert_int_equal(buf_pool_cap(BUF_POOL_MAX + 1), BUF_POOL_MAX + BUF_POOL_PAGE);
	assert_int_equal((uintptr_t)c % BUF_POOL_PAGE, 0);
	buf_pool_put(c, BUF_POOL_MAX + 1);
	buf_pool_put(a, 1);
	/* Cached: the same buffer comes back for any length of its class. */
	assert_ptr_equal(buf_pool_get(200), a);
	buf_pool_put(a, 256);
	buf_pool_put(b, 8192);
	assert_ptr_equal(buf_pool_get(5000), b);
	buf_pool_put(b, 5000);
}

/* ---- the backend on a reactor ---- */

/* A blockio device over a new file (fixtures/backend_io.c); NULL (the test
 * skipped) where the file system cannot do O_DIRECT. */
static struct uscst_device *open_blockio(uint64_t bytes, const char *bs)
{
	return backend_io_open_file("vdisk_blockio", bytes, bs);
}

static int64_t run(struct uscst_device *dev, enum uscst_io_op op, uint64_t off, void *buf,
		   uint64_t len)
{
	struct iovec iov = {buf, len};
	return backend_io_run(dev, op, off, &iov, buf ? 1 : 0, len, false);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed + (i >> 9));
}

/* Bytes [off, off+n) of the file hold the pattern seed (at pattern
 * offset pat_off). */
static void assert_file(uint64_t off, size_t n, unsigned seed, size_t pat_off)
{
	uint8_t *want = malloc(pat_off + n), *got = malloc(n);
	fill(want, pat_off + n, seed);
	assert_int_equal(pread(backend_io_fd, got, n, (off_t)off), (ssize_t)n);
	assert_memory_equal(got, want + pat_off, n);
	free(want);
	free(got);
}

static void test_blockio_aligned_and_not(void **state)
{
	struct uscst_device *dev = open_blockio(4 << 20, "512");
	if (!dev)
		skip();
	/* Aligned memory and range: straight to the file. */
	uint8_t *al = aligned_alloc(4096, 65536);
	fill(al, 65536, 1);
	assert_int_equal(run(dev, USCST_IO_WRITE, 65536, al, 65536), 65536);
	assert_file(65536, 65536, 1, 0);
	/* Unaligned memory (malloc + 1), aligned range: bounced. */
	uint8_t *raw = malloc(65536 + 1), *odd = raw + 1;
	fill(odd, 65536, 2);
	assert_int_equal(run(dev, USCST_IO_WRITE, 0, odd, 65536), 65536);
	assert_file(0, 65536, 2, 0);
	memset(odd, 0, 65536);
	assert_int_equal(run(dev, USCST_IO_READ, 65536, odd, 65536), 65536);
	uint8_t *want = malloc(65536);
	fill(want, 65536, 1);
	assert_memory_equal(odd, want, 65536);
	/* An unaligned read inside: [65536 + 1536, +3000 sectors' worth). */
	assert_int_equal(run(dev, USCST_IO_READ, 65536 + 1536, odd, 3072), 3072);
	assert_memory_equal(odd, want + 1536, 3072);
	free(want);
	free(raw);
	free(al);
	backend_io_close_file(dev);
}

/* A 512-byte write in the middle of a block, a write over two partial
 * blocks, a write larger than one bounce step at an unaligned offset:
 * the bytes around each stay. */
static void test_blockio_read_modify_write(void **state)
{
	struct uscst_device *dev = open_blockio(8 << 20, "512");
	if (!dev)
		skip();
	size_t big = (3u << 20) + 4096;
	uint8_t *base = malloc(big), *w = malloc(big);
	fill(base, big, 7);
	assert_int_equal(pwrite(backend_io_fd, base, big, 0), (ssize_t)big);

	fill(w, 512, 8);
	assert_int_equal(run(dev, USCST_IO_WRITE, 4096 + 1024, w, 512), 512);
	assert_file(4096 + 1024, 512, 8, 0);
	assert_file(0, 4096 + 1024, 7, 0);
	assert_file(4096 + 1536, 2560, 7, 4096 + 1536);

	fill(w, 5120, 9);
	assert_int_equal(run(dev, USCST_IO_WRITE, 16384 + 3584, w, 5120), 5120);
	assert_file(16384 + 3584, 5120, 9, 0);
	assert_file(16384, 3584, 7, 16384);
	assert_file(16384 + 8704, 3584, 7, 16384 + 8704);

	/* 3 MiB at 512: four bounce steps of at most 1 MiB, head and tail
	 * partial; FUA on the way. */
	size_t len = 3u << 20;
	fill(w, len, 10);
	struct iovec iov = {w, len};
	assert_int_equal(backend_io_run(dev, USCST_IO_WRITE, 512, &iov, 1, len, true),
			 (int64_t)len);
	assert_file(0, 512, 7, 0);
	assert_file(512, len, 10, 0);
	assert_file(512 + len, 3584, 7, 512 + len);
	/* And read back the same way, unaligned. */
	memset(w, 0, len);
	assert_int_equal(run(dev, USCST_IO_READ, 512, w, len), (int64_t)len);
	fill(base, len, 10);
	assert_memory_equal(w, base, len);
	free(base);
	free(w);
	backend_io_close_file(dev);
}

/* All eight sectors of one block written by eight requests in flight
 * together, and an aligned write of the next block overlapping none: each
 * keeps its bytes. */
static void test_blockio_concurrent_small_writes(void **state)
{
	struct uscst_device *dev = open_blockio(1 << 20, "512");
	if (!dev)
		skip();
	uint8_t data[9][4096];
	struct iovec iov[9];
	struct uscst_io io[9];
	struct uscst_io *ios[9];
	for (unsigned i = 0; i < 8; i++) {
		memset(data[i], 0x10 + i, 512);
		iov[i] = (struct iovec){data[i], 512};
		backend_io_make(&io[i], dev, USCST_IO_WRITE, 8192 + i * 512, &iov[i], 1, 512,
				false);
		ios[i] = &io[i];
	}
	memset(data[8], 0x99, 4096);
	iov[8] = (struct iovec){data[8], 4096};
	backend_io_make(&io[8], dev, USCST_IO_WRITE, 12288, &iov[8], 1, 4096, false);
	ios[8] = &io[8];
	backend_io_wait(ios, 9);
	uint8_t got[8192];
	assert_int_equal(pread(backend_io_fd, got, sizeof(got), 8192), (ssize_t)sizeof(got));
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(io[i].result, 512);
		for (unsigned j = 0; j < 512; j++)
			assert_int_equal(got[i * 512 + j], 0x10 + i);
	}
	for (unsigned j = 4096; j < 8192; j++)
		assert_int_equal(got[j], 0x99);
	backend_io_close_file(dev);
}

static void test_blockio_misc(void **state)
{
	struct uscst_device *dev = open_blockio(1 << 20, "4096");
	if (!dev)
		skip();
	/* A 4096-byte LUN on a file: never a read-modify-write. */
	uint8_t buf[8192];
	fill(buf, sizeof(buf), 3);
	assert_int_equal(run(dev, USCST_IO_WRITE, 4096, buf, 8192), 8192);
	assert_file(4096, 8192, 3, 0);
	/* PREFETCH: nothing to load, done at once. */
	assert_int_equal(run(dev, USCST_IO_PREFETCH, 0, NULL, 65536), 65536);
	assert_int_equal(run(dev, USCST_IO_FLUSH, 0, NULL, 0), 0);
	/* Segments that do not add up to len. */
	assert_int_equal(run(dev, USCST_IO_READ, 0, NULL, 4096), -EINVAL);
	/* WRITE ZEROES over data. */
	assert_int_equal(run(dev, USCST_IO_WRITE_ZEROES, 4096, NULL, 4096), 4096);
	uint8_t zero[4096] = {0}, got[4096];
	assert_int_equal(pread(backend_io_fd, got, 4096, 4096), 4096);
	assert_memory_equal(got, zero, 4096);
	backend_io_close_file(dev);
}

int main(void)
{
	if (!scsi_register_cmdsets())
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chunk_aligned),
	    cmocka_unit_test(test_chunk_inside_one_block),
	    cmocka_unit_test(test_chunk_head_and_tail),
	    cmocka_unit_test(test_chunk_steps),
	    cmocka_unit_test(test_aligned),
	    cmocka_unit_test(test_range_locks),
	    cmocka_unit_test(test_pool),
	    cmocka_unit_test(test_blockio_aligned_and_not),
	    cmocka_unit_test(test_blockio_read_modify_write),
	    cmocka_unit_test(test_blockio_concurrent_small_writes),
	    cmocka_unit_test(test_blockio_misc),
	};
	return cmocka_run_group_tests(tests, backend_io_start, backend_io_stop);
}
