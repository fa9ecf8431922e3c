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
#include <fcntl.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/builtin.h"
#include "backend/dio_align.h"
#include "backend/dio_range.h"
#include "core/core.h"
#include "lib/buf_pool.h"
#include "reactor/reactor.h"
#include "scsi/scsi.h"

/* ---- arithmetic ---- */

static void test_chunk_aligned(void **state)
{
	struct dio_align a = {.file = 4096, .mem = 512};
	struct dio_chunk c;
	dio_next_chunk(&a, 8192, 8192, 0, 1 << 20, &c);
	assert_int_equal(c.start, 8192);
	assert_int_equal(c.end, 16384);
	assert_int_equal(c.skip, 0);
	assert_int_equal(c.data_len, 8192);
	assert_false(c.read_head);
	assert_false(c.read_tail);
}

static void test_chunk_inside_one_block(void **state)
{
	struct dio_align a = {.file = 4096, .mem = 512};
	struct dio_chunk c;
	/* One 512-byte sector in the middle of a block: the head read brings
	 * the whole block, no second read of the same block for the tail. */
	dio_next_chunk(&a, 4096 + 1024, 512, 0, 1 << 20, &c);
	assert_int_equal(c.start, 4096);
	assert_int_equal(c.end, 8192);
	assert_int_equal(c.skip, 1024);
	assert_int_equal(c.data_len, 512);
	assert_true(c.read_head);
	assert_false(c.read_tail);
	/* The first sector of a block: no head, but the tail. */
	dio_next_chunk(&a, 4096, 512, 0, 1 << 20, &c);
	assert_false(c.read_head);
	assert_true(c.read_tail);
	/* The last sector: head only. */
	dio_next_chunk(&a, 8192 - 512, 512, 0, 1 << 20, &c);
	assert_true(c.read_head);
	assert_false(c.read_tail);
}

static void test_chunk_head_and_tail(void **state)
{
	struct dio_align a = {.file = 4096, .mem = 512};
	struct dio_chunk c;
	/* [512, 9216): partial first and last blocks, a whole one between. */
	dio_next_chunk(&a, 512, 8704, 0, 1 << 20, &c);
	assert_int_equal(c.start, 0);
	assert_int_equal(c.end, 12288);
	assert_int_equal(c.skip, 512);
	assert_int_equal(c.data_len, 8704);
	assert_true(c.read_head);
	assert_true(c.read_tail);
}

static void test_chunk_steps(void **state)
{
	struct dio_align a = {.file = 4096, .mem = 512};
	struct dio_chunk c;
	/* 20 KiB at 1 KiB in steps of at most 8 KiB. */
	uint64_t off = 1024, len = 20480, done = 0;
	dio_next_chunk(&a, off, len, done, 8192, &c);
	assert_int_equal(c.start, 0);
	assert_int_equal(c.end, 8192);
	assert_int_equal(c.skip, 1024);
	assert_int_equal(c.data_len, 7168);
	assert_true(c.read_head);
	assert_false(c.read_tail); /* the data runs to the chunk's end */
	done += c.data_len;
	dio_next_chunk(&a, off, len, done, 8192, &c);
	assert_int_equal(c.start, 8192);
	assert_int_equal(c.end, 16384);
	assert_int_equal(c.skip, 0);
	assert_int_equal(c.data_len, 8192);
	assert_false(c.read_head);
	assert_false(c.read_tail);
	done += c.data_len;
	dio_next_chunk(&a, off, len, done, 8192, &c);
	assert_int_equal(c.start, 16384);
	assert_int_equal(c.end, 24576);
	assert_int_equal(c.data_len, 5120);
	assert_false(c.read_head);
	assert_true(c.read_tail);
	assert_int_equal(done + c.data_len, len);
}

static void test_aligned(void **state)
{
	struct dio_align a = {.file = 4096, .mem = 512};
	_Alignas(4096) static uint8_t buf[16384];
	struct iovec one = {buf, 8192};
	assert_true(dio_aligned(&a, 4096, 8192, &one, 1));
	assert_false(dio_aligned(&a, 512, 8192, &one, 1));  /* offset */
	assert_false(dio_aligned(&a, 4096, 4608, &one, 1)); /* length */
	struct iovec odd = {buf + 16, 8192};
	assert_false(dio_aligned(&a, 4096, 8192, &odd, 1)); /* address */
	struct iovec mem512 = {buf + 512, 8192};
	assert_true(dio_aligned(&a, 4096, 8192, &mem512, 1));
	struct iovec two[2] = {{buf, 4096}, {buf + 8192, 4096}};
	assert_true(dio_aligned(&a, 0, 8192, two, 2));
	two[0].iov_len = 3584; /* a segment that is not whole blocks */
	two[1].iov_len = 4608;
	assert_false(dio_aligned(&a, 0, 8192, two, 2));
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

static sem_t io_sem;
static void io_done(struct uscst_io *io) { sem_post(&io_sem); }

/* Submits every I/O of a NULL-ended array in one go on the reactor, so
 * that they are in flight together. */
static void submit_all(void *arg)
{
	/* Read the whole array first: once the last I/O is done the waiting
	 * test may return and reuse the stack it is on. */
	struct uscst_io **ios = arg, *mine[16];
	unsigned n = 0;
	while (n < 16 && ios[n]) {
		mine[n] = ios[n];
		n++;
	}
	for (unsigned i = 0; i < n; i++) {
		struct uscst_device *dev = mine[i]->priv;
		dev->backend->submit(dev, mine[i]);
	}
}

static bool wait_sem(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	while (sem_timedwait(&io_sem, &ts) != 0)
		if (errno != EINTR)
			return false;
	return true;
}

static void make_io(struct uscst_io *io, struct uscst_device *dev, enum uscst_io_op op,
		    uint64_t off, struct iovec *iov, unsigned cnt, uint64_t len)
{
	*io = (struct uscst_io){.op = op,
				.offset = off,
				.len = len,
				.iov = iov,
				.iovcnt = cnt,
				.done = io_done,
				.priv = dev,
				.error_offset = UINT64_MAX};
}

static int64_t run(struct uscst_device *dev, enum uscst_io_op op, uint64_t off, void *buf,
		   uint64_t len)
{
	struct iovec iov = {buf, len};
	struct uscst_io io;
	make_io(&io, dev, op, off, &iov, buf ? 1 : 0, len);
	struct uscst_io *ios[] = {&io, NULL};
	assert_int_equal(reactor_post(reactor_pick(), submit_all, ios), 0);
	assert_true(wait_sem());
	return io.result;
}

static char path[256];
static int file_fd;
static unsigned seq;

/* A blockio device over a new file of `bytes`, blocks of `bs`; NULL (the
 * test skipped) where the file system cannot do O_DIRECT. */
static struct uscst_device *open_blockio(uint64_t bytes, const char *bs)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(path, sizeof(path), "%s/uscst-blockio.XXXXXX", tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)bytes), 0);
	close(fd);
	char name[32], err[256] = "";
	snprintf(name, sizeof(name), "blk%u", ++seq);
	struct uscst_device *dev = uscst_device_create("vdisk_blockio", name, err, sizeof(err));
	assert_non_null(dev);
	assert_true(uscst_device_set_attr(dev, "filename", path, err, sizeof(err)));
	assert_true(uscst_device_set_attr(dev, "blocksize", bs, err, sizeof(err)));
	if (uscst_device_open(dev, err, sizeof(err)) != 0) {
		unlink(path);
		print_message("no O_DIRECT here (%s): skipped\n", err);
		return NULL;
	}
	file_fd = open(path, O_RDWR);
	assert_true(file_fd >= 0);
	return dev;
}

static void close_blockio(struct uscst_device *dev)
{
	dev->backend->close(dev);
	close(file_fd);
	unlink(path);
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
	assert_int_equal(pread(file_fd, got, n, (off_t)off), (ssize_t)n);
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
	close_blockio(dev);
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
	assert_int_equal(pwrite(file_fd, base, big, 0), (ssize_t)big);

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
	struct uscst_io io;
	make_io(&io, dev, USCST_IO_WRITE, 512, &iov, 1, len);
	io.fua = true;
	struct uscst_io *ios[] = {&io, NULL};
	assert_int_equal(reactor_post(reactor_pick(), submit_all, ios), 0);
	assert_true(wait_sem());
	assert_int_equal(io.result, (int64_t)len);
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
	close_blockio(dev);
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
	struct uscst_io *ios[10];
	for (unsigned i = 0; i < 8; i++) {
		memset(data[i], 0x10 + i, 512);
		iov[i] = (struct iovec){data[i], 512};
		make_io(&io[i], dev, USCST_IO_WRITE, 8192 + i * 512, &iov[i], 1, 512);
		ios[i] = &io[i];
	}
	memset(data[8], 0x99, 4096);
	iov[8] = (struct iovec){data[8], 4096};
	make_io(&io[8], dev, USCST_IO_WRITE, 12288, &iov[8], 1, 4096);
	ios[8] = &io[8];
	ios[9] = NULL;
	assert_int_equal(reactor_post(reactor_pick(), submit_all, ios), 0);
	for (unsigned i = 0; i < 9; i++)
		assert_true(wait_sem());
	uint8_t got[8192];
	assert_int_equal(pread(file_fd, got, sizeof(got), 8192), (ssize_t)sizeof(got));
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(io[i].result, 512);
		for (unsigned j = 0; j < 512; j++)
			assert_int_equal(got[i * 512 + j], 0x10 + i);
	}
	for (unsigned j = 4096; j < 8192; j++)
		assert_int_equal(got[j], 0x99);
	close_blockio(dev);
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
	assert_int_equal(pread(file_fd, got, 4096, 4096), 4096);
	assert_memory_equal(got, zero, 4096);
	close_blockio(dev);
}

static int start(void **state)
{
	sem_init(&io_sem, 0, 0);
	if (uscst_backends_register_builtin() < 0 || reactors_start(1) != 0)
		return -1;
	return 0;
}

static int stop(void **state)
{
	reactors_stop();
	return 0;
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
	return cmocka_run_group_tests(tests, start, stop);
}
