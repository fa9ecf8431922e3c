/*
 * vdisk_blockio's memory for bounced requests, cached per thread (each
 * reactor keeps its own; no lock): buffers aligned for O_DIRECT, in
 * power-of-two sizes from DIO_POOL_MIN to DIO_POOL_MAX bytes, and the small
 * records that track a bounced request.  A thread keeps at most
 * DIO_POOL_CACHE_BYTES of free buffers (and DIO_POOL_CACHE_RECS records);
 * beyond that they go back to the allocator, and all of them when the
 * thread exits.  Buffers in use are bounded by the requests in flight:
 * one per request, of at most DIO_POOL_MAX bytes (a larger request is
 * bounced in steps of that size).
 */
#ifndef USCST_BACKEND_DIO_POOL_H
#define USCST_BACKEND_DIO_POOL_H

#include <stddef.h>
#include <stdint.h>

#define DIO_POOL_MIN 4096u
#define DIO_POOL_MAX (1u << 20)
#define DIO_POOL_CACHE_BYTES (8u << 20)
/* Size of a record (dio_pool_rec_get). */
#define DIO_POOL_REC_SIZE 256u
#define DIO_POOL_CACHE_RECS 256u

/* A buffer of at least len bytes (len <= DIO_POOL_MAX), aligned to
 * DIO_POOL_MIN; *cap: its size, to give back with it.  NULL: no memory. */
void *dio_pool_get(size_t len, size_t *cap);
void dio_pool_put(void *buf, size_t cap);

/* A record of DIO_POOL_REC_SIZE bytes, uninitialised; NULL: no memory. */
void *dio_pool_rec_get(void);
void dio_pool_rec_put(void *rec);

#endif
