/* Per-thread buffers for bounced direct I/O (backend/dio_pool.h). */
#include "backend/dio_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lib/freelist.h"

#define NCLASS 9 /* 4 KiB .. 1 MiB */
_Static_assert(DIO_POOL_MIN << (NCLASS - 1) == DIO_POOL_MAX, "one class per power of two");

struct pool {
	bool ready;
	struct freelist bufs[NCLASS]; /* counted in bytes, by cached, not by max */
	struct freelist recs;
	size_t cached;
};

static __thread struct pool pool;
static pthread_key_t drain_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

/* At thread exit: what the thread cached goes back to the allocator. */
static void drain(void *arg)
{
	struct pool *p = arg;
	for (unsigned i = 0; i < NCLASS; i++)
		freelist_drain(&p->bufs[i]);
	freelist_drain(&p->recs);
	p->cached = 0;
}

static void make_key(void) { pthread_key_create(&drain_key, drain); }

static struct pool *this_pool(void)
{
	struct pool *p = &pool;
	if (!p->ready) {
		for (unsigned i = 0; i < NCLASS; i++)
			p->bufs[i] = (struct freelist)FREELIST_INIT_ALIGNED(
			    DIO_POOL_MIN << i, UINT32_MAX, DIO_POOL_MIN);
		p->recs = (struct freelist)FREELIST_INIT(DIO_POOL_REC_SIZE, DIO_POOL_CACHE_RECS);
		pthread_once(&key_once, make_key);
		pthread_setspecific(drain_key, p);
		p->ready = true;
	}
	return p;
}

static unsigned class_of(size_t len)
{
	unsigned c = 0;
	while (((size_t)DIO_POOL_MIN << c) < len)
		c++;
	return c;
}

void *dio_pool_get(size_t len, size_t *cap)
{
	if (len > DIO_POOL_MAX)
		return NULL;
	struct pool *p = this_pool();
	unsigned c = class_of(len);
	struct freelist *fl = &p->bufs[c];
	if (fl->head)
		p->cached -= fl->size;
	*cap = fl->size;
	return freelist_get(fl);
}

void dio_pool_put(void *buf, size_t cap)
{
	if (!buf)
		return;
	struct pool *p = this_pool();
	if (p->cached + cap > DIO_POOL_CACHE_BYTES) {
		free(buf);
		return;
	}
	p->cached += cap;
	freelist_put(&p->bufs[class_of(cap)], buf);
}

void *dio_pool_rec_get(void) { return freelist_get(&this_pool()->recs); }

void dio_pool_rec_put(void *rec) { freelist_put(&this_pool()->recs, rec); }
