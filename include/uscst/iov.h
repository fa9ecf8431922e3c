/*
 * Helpers for the data of a struct uscst_io, which is an iovec array (the
 * memory may come from a transport or a pool in pieces of any size).  The
 * functions address the segments as one run of bytes: `at` counts from the
 * start of iov[0], and nothing is touched past the last segment.
 */
#ifndef USCST_IOV_H
#define USCST_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Bytes in iov[0..cnt). */
uint64_t uscst_iov_length(const struct iovec *iov, unsigned cnt);

/* The segment holding byte at (zero-length segments are skipped): its
 * index in *idx and the offset in it in *off.  false if at is at or past
 * the end of the segments. */
bool uscst_iov_seek(const struct iovec *iov, unsigned cnt, uint64_t at, unsigned *idx, size_t *off);

/* Copies n bytes of src into the segments from byte at; returns the bytes
 * copied (fewer than n if the segments end first). */
size_t uscst_iov_from_buf(const struct iovec *iov, unsigned cnt, uint64_t at, const void *src,
			  size_t n);

/* Copies n bytes of the segments from byte at into dst; returns the bytes
 * copied (fewer than n if the segments end first). */
size_t uscst_iov_to_buf(const struct iovec *iov, unsigned cnt, uint64_t at, void *dst, size_t n);

/* Sets n bytes of the segments from byte at to c; returns the bytes set. */
size_t uscst_iov_memset(const struct iovec *iov, unsigned cnt, uint64_t at, int c, size_t n);

#endif
