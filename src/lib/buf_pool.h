/*
 * Data buffers cached per thread (each reactor its own; no lock): a
 * command's Data-Out and Data-In, and vdisk_blockio's bounce buffers.
 *
 * A request for len bytes gets a buffer of the next power of two from
 * BUF_POOL_MIN to BUF_POOL_MAX (buf_pool_cap(len) bytes usable), aligned
 * to its size up to BUF_POOL_PAGE: from 4 KiB up whole pages, so that a
 * backend doing direct I/O (O_DIRECT) hands it to the storage as it is.
 * Beyond BUF_POOL_MAX it comes from aligned_alloc each time.  A thread
 * keeps at most BUF_POOL_CACHE_BYTES of free buffers; beyond that they go
 * back to the allocator, and all of them when the thread exits.  A buffer
 * may be given back on any thread (it joins that thread's cache).
 * Contents come back uninitialised.
 */
#ifndef USCST_LIB_BUF_POOL_H
#define USCST_LIB_BUF_POOL_H

#include <stddef.h>

#define BUF_POOL_MIN 256u
#define BUF_POOL_MAX (1u << 20)
#define BUF_POOL_PAGE 4096u
#define BUF_POOL_CACHE_BYTES (8u << 20)

/* NULL: out of memory. */
void *buf_pool_get(size_t len);
/* Gives back buf (NULL: nothing), got for len bytes or for any length of
 * the same buf_pool_cap(). */
void buf_pool_put(void *buf, size_t len);
/* Bytes usable in a buffer got for len. */
size_t buf_pool_cap(size_t len);

#endif
