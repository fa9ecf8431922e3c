/*
 * I/O with iovec arrays (struct uscst_io's iov/iovcnt): the helpers of
 * include/uscst/iov.h, vdisk_nullio zero-filling every segment of a read,
 * and vdisk_fileio against a temporary file with segments of odd sizes:
 * readv/writev, a short read at end of file that stops inside a segment
 * (the rest reads as zeros), more segments than one readv takes, and a
 * length that does not match the segments.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <uscst/iov.h>

#include "core/core.h"
#include "fixtures/backend_io.h"
#include "scsi/scsi.h"

/* ---- the helpers ---- */

static void test_iov_helpers(void **state)
{
	char a[3], b[1], c[5];
	struct iovec iov[4] = {{a, sizeof(a)}, {NULL, 0}, {b, sizeof(b)}, {c, sizeof(c)}};
	unsigned idx;
	size_t off;
	assert_int_equal(uscst_iov_length(iov, 4), 9);
	assert_true(uscst_iov_seek(iov, 4, 3, &idx, &off));
	assert_int_equal(idx, 2); /* the empty segment is skipped */
	assert_int_equal(off, 0);
	assert_true(uscst_iov_seek(iov, 4, 6, &idx, &off));
	assert_int_equal(idx, 3);
	assert_int_equal(off, 2);
	assert_false(uscst_iov_seek(iov, 4, 9, &idx, &off));

	assert_int_equal(uscst_iov_from_buf(iov, 4, 0, "abcdefghi", 9), 9);
	assert_memory_equal(a, "abc", 3);
	assert_memory_equal(b, "d", 1);
	assert_memory_equal(c, "efghi", 5);
	char out[9] = {0};
	assert_int_equal(uscst_iov_to_buf(iov, 4, 2, out, 5), 5);
	assert_memory_equal(out, "cdefg", 5);
	/* Nothing past the last segment. */
	assert_int_equal(uscst_iov_to_buf(iov, 4, 7, out, 5), 2);
	assert_int_equal(uscst_iov_memset(iov, 4, 1, 'z', 100), 8);
	assert_memory_equal(a, "azz", 3);
	assert_memory_equal(c, "zzzzz", 5);
}

/* ---- running I/O on a reactor (fixtures/backend_io.c) ---- */

static struct uscst_device *open_fileio(uint64_t file_bytes)
{
	struct uscst_device *dev = backend_io_open_file("vdisk_fileio", file_bytes, NULL);
	assert_non_null(dev);
	return dev;
}

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

static void test_nullio_zero_fills_segments(void **state)
{
	char err[256] = "";
	struct uscst_device *dev = uscst_device_create("vdisk_nullio", "iovnull", err, sizeof(err));
	assert_non_null(dev);
	assert_int_equal(uscst_device_open(dev, err, sizeof(err)), 0);
	uint8_t mem[7 + 1000 + 17 + 16];
	memset(mem, 0xee, sizeof(mem));
	/* Three segments with gaps between them that must stay untouched. */
	struct iovec iov[3] = {{mem, 7}, {mem + 8, 1000}, {mem + 1009, 17}};
	assert_int_equal(backend_io_run(dev, USCST_IO_READ, 512, iov, 3, 1024, false), 1024);
	for (unsigned i = 0; i < 3; i++)
		for (size_t j = 0; j < iov[i].iov_len; j++)
			assert_int_equal(((uint8_t *)iov[i].iov_base)[j], 0);
	assert_int_equal(mem[7], 0xee);
	assert_int_equal(mem[1008], 0xee);
	for (size_t j = 1026; j < sizeof(mem); j++)
		assert_int_equal(mem[j], 0xee);
	assert_int_equal(backend_io_run(dev, USCST_IO_WRITE, 0, iov, 3, 1024, true), 1024);
}

static void test_fileio_readv_writev(void **state)
{
	struct uscst_device *dev = open_fileio(64 * 1024);
	uint8_t data[2048], back[2048];
	fill_pattern(data, sizeof(data), 3);
	/* Written in three odd pieces, through the FUA path too. */
	struct iovec w[3] = {{data, 511}, {data + 511, 3}, {data + 514, 1534}};
	assert_int_equal(backend_io_run(dev, USCST_IO_WRITE, 4096, w, 3, 2048, false), 2048);
	assert_int_equal(backend_io_run(dev, USCST_IO_WRITE, 8192, w, 3, 2048, true), 2048);
	int fd = backend_io_fd;
	assert_int_equal(pread(fd, back, sizeof(back), 4096), (ssize_t)sizeof(back));
	assert_memory_equal(back, data, sizeof(data));
	assert_int_equal(pread(fd, back, sizeof(back), 8192), (ssize_t)sizeof(back));
	assert_memory_equal(back, data, sizeof(data));

	/* Read back in another split, into buffers with guard bytes around. */
	uint8_t s1[1 + 2], s2[2000 + 2], s3[47 + 2];
	memset(s1, 0xee, sizeof(s1));
	memset(s2, 0xee, sizeof(s2));
	memset(s3, 0xee, sizeof(s3));
	struct iovec r[3] = {{s1 + 1, 1}, {s2 + 1, 2000}, {s3 + 1, 47}};
	assert_int_equal(backend_io_run(dev, USCST_IO_READ, 4096, r, 3, 2048, false), 2048);
	assert_memory_equal(s1 + 1, data, 1);
	assert_memory_equal(s2 + 1, data + 1, 2000);
	assert_memory_equal(s3 + 1, data + 2001, 47);
	assert_int_equal(s1[0], 0xee);
	assert_int_equal(s1[2], 0xee);
	assert_int_equal(s2[0], 0xee);
	assert_int_equal(s2[2001], 0xee);
	assert_int_equal(s3[0], 0xee);
	assert_int_equal(s3[48], 0xee);
	backend_io_close_file(dev);
}

/* The storage shrank under the device (as before a resync_size): the read
 * stops at end of file inside the second segment; what follows, in that
 * segment and the next, reads as zeros and the whole length is reported. */
static void test_fileio_eof_inside_segment(void **state)
{
	struct uscst_device *dev = open_fileio(8192);
	uint8_t data[1000];
	fill_pattern(data, sizeof(data), 11);
	int fd = backend_io_fd;
	assert_int_equal(pwrite(fd, data, sizeof(data), 4096), (ssize_t)sizeof(data));
	assert_int_equal(ftruncate(fd, 4096 + 1000), 0);

	uint8_t mem[2048];
	memset(mem, 0xee, sizeof(mem));
	struct iovec iov[3] = {{mem, 700}, {mem + 700, 333}, {mem + 1033, 1015}};
	assert_int_equal(backend_io_run(dev, USCST_IO_READ, 4096, iov, 3, 2048, false), 2048);
	assert_memory_equal(mem, data, 1000);
	for (size_t j = 1000; j < sizeof(mem); j++)
		assert_int_equal(mem[j], 0);

	/* Entirely past the end: all zeros. */
	memset(mem, 0xee, sizeof(mem));
	assert_int_equal(backend_io_run(dev, USCST_IO_READ, 6144, iov, 3, 2048, false), 2048);
	for (size_t j = 0; j < sizeof(mem); j++)
		assert_int_equal(mem[j], 0);
	backend_io_close_file(dev);
}

/* More segments than one readv/writev may take (IOV_MAX): the transfer is
 * continued with the rest. */
static void test_fileio_more_than_iov_max(void **state)
{
	enum { NSEG = IOV_MAX + 77, SEG = 3 };
	struct uscst_device *dev = open_fileio(64 * 1024);
	static uint8_t data[NSEG * SEG], back[NSEG * SEG];
	static struct iovec iov[NSEG];
	fill_pattern(data, sizeof(data), 5);
	for (unsigned i = 0; i < NSEG; i++)
		iov[i] = (struct iovec){data + i * SEG, SEG};
	assert_int_equal(backend_io_run(dev, USCST_IO_WRITE, 1024, iov, NSEG, sizeof(data), false),
			 (int64_t)sizeof(data));
	assert_int_equal(pread(backend_io_fd, back, sizeof(back), 1024), (ssize_t)sizeof(back));
	assert_memory_equal(back, data, sizeof(data));
	memset(back, 0, sizeof(back));
	for (unsigned i = 0; i < NSEG; i++)
		iov[i] = (struct iovec){back + i * SEG, SEG};
	assert_int_equal(backend_io_run(dev, USCST_IO_READ, 1024, iov, NSEG, sizeof(back), false),
			 (int64_t)sizeof(back));
	assert_memory_equal(back, data, sizeof(data));
	backend_io_close_file(dev);
}

/* Segments holding more or fewer bytes than len are refused, not walked
 * past. */
static void test_fileio_length_mismatch(void **state)
{
	struct uscst_device *dev = open_fileio(8192);
	uint8_t mem[1024];
	struct iovec iov[2] = {{mem, 512}, {mem + 512, 512}};
	assert_int_equal(backend_io_run(dev, USCST_IO_READ, 0, iov, 2, 512, false), -EINVAL);
	assert_int_equal(backend_io_run(dev, USCST_IO_WRITE, 0, iov, 2, 2048, false), -EINVAL);
	assert_int_equal(backend_io_run(dev, USCST_IO_READ, 0, iov, 0, 512, false), -EINVAL);
	backend_io_close_file(dev);
}

int main(void)
{
	/* Devices take their command set when they are created (uscstd does the same). */
	if (!scsi_register_cmdsets())
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_iov_helpers),
	    cmocka_unit_test(test_nullio_zero_fills_segments),
	    cmocka_unit_test(test_fileio_readv_writev),
	    cmocka_unit_test(test_fileio_eof_inside_segment),
	    cmocka_unit_test(test_fileio_more_than_iov_max),
	    cmocka_unit_test(test_fileio_length_mismatch),
	};
	return cmocka_run_group_tests(tests, backend_io_start, backend_io_stop);
}
