/* Per-thread data buffers (lib/buf_pool.h). */
#include "lib/buf_pool.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/freelist.h"
#include "lib/thread_exit.h"

#define NCLASS 13 /* 256 B .. 1 MiB */
_Static_assert(BUF_POOL_MIN << (NCLASS - 1) == BUF_POOL_MAX, "one class per power of two");

struct pool {
	bool ready;
	/* Bounded in bytes, by `cached`, not by each list's count. */
	struct freelist bufs[NCLASS];
	size_t cached;
};

static __thread struct pool pool;

/* At thread exit: what the thread cached goes back to the allocator. */
static void drain(void)
{
	for (unsigned i = 0; i < NCLASS; i++)
		freelist_drain(&pool.bufs[i]);
	pool.cached = 0;
	pool.ready = false;
}

static __thread struct thread_exit_hook drain_hook = {.fn = drain};

static struct pool *this_pool(void)
{
	struct pool *p = &pool;
	if (!p->ready) {
		for (unsigned i = 0; i < NCLASS; i++) {
			size_t size = (size_t)BUF_POOL_MIN << i;
			p->bufs[i] = (struct freelist)FREELIST_INIT_ALIGNED(
			    size, UINT32_MAX, size < BUF_POOL_PAGE ? size : BUF_POOL_PAGE);
		}
		thread_exit_arm(&drain_hook);
		p->ready = true;
	}
	return p;
}

static unsigned class_of(size_t len)
{
	unsigned c = 0;
	while (((size_t)BUF_POOL_MIN << c) < len)
		c++;
	return c;
}

size_t buf_pool_cap(size_t len)
{
	if (len > BUF_POOL_MAX)
		return (len + BUF_POOL_PAGE - 1) & ~(size_t)(BUF_POOL_PAGE - 1);
	return (size_t)BUF_POOL_MIN << class_of(len);
}

void *buf_pool_get(size_t len)
{
	if (len > BUF_POOL_MAX)
		return aligned_alloc(BUF_POOL_PAGE, buf_pool_cap(len));
	struct pool *p = this_pool();
	struct freelist *fl = &p->bufs[class_of(len)];
	if (fl->head)
		p->cached -= fl->size;
	return freelist_get(fl);
}

void buf_pool_put(void *buf, size_t len)
{
	if (!buf)
		return;
	struct pool *p = this_pool();
	size_t cap = buf_pool_cap(len);
	if (len > BUF_POOL_MAX || p->cached + cap > BUF_POOL_CACHE_BYTES) {
		free(buf);
		return;
	}
	p->cached += cap;
	freelist_put(&p->bufs[class_of(len)], buf);
}
