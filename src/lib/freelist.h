/* A per-thread cache of fixed-size objects, for the per-command fast path.
 *
 * Declare one per object kind as `static __thread struct freelist fl =
 * FREELIST_INIT(sizeof(struct x), 256);`.  Because the list is thread-local
 * an object may be put back on any thread: it then simply joins that
 * thread's cache.  At most `max` objects are kept per thread; beyond that
 * they go back to malloc, so an idle daemon holds a bounded amount.  A thread
 * drains its caches before it exits (freelist_drain).
 * Objects come back uninitialised: the caller sets every field it uses. */
#ifndef USCST_LIB_FREELIST_H
#define USCST_LIB_FREELIST_H

#include <stddef.h>
#include <stdlib.h>

struct freelist_node {
	struct freelist_node *next;
};

struct freelist {
	struct freelist_node *head;
	unsigned count, max;
	size_t size;
	size_t align; /* 0: malloc's; else a power of two dividing size (FREELIST_INIT_ALIGNED) */
};

#define FREELIST_INIT(obj_size, max_cached)                                                        \
	{                                                                                          \
		.head = NULL, .count = 0, .max = (max_cached),                                     \
		.size = (obj_size) < sizeof(struct freelist_node) ? sizeof(struct freelist_node)   \
								  : (obj_size)                     \
	}

/* The same for objects aligned to `align` (a power of two that divides
 * obj_size), e.g. buffers for O_DIRECT. */
#define FREELIST_INIT_ALIGNED(obj_size, max_cached, alignment)                                     \
	{                                                                                          \
		.head = NULL, .count = 0, .max = (max_cached), .size = (obj_size),                 \
		.align = (alignment)                                                               \
	}

static inline void *freelist_get(struct freelist *fl)
{
	struct freelist_node *n = fl->head;
	if (n) {
		fl->head = n->next;
		fl->count--;
		return n;
	}
	return fl->align ? aligned_alloc(fl->align, fl->size) : malloc(fl->size);
}

static inline void freelist_put(struct freelist *fl, void *obj)
{
	if (!obj)
		return;
	if (fl->count >= fl->max) {
		free(obj);
		return;
	}
	struct freelist_node *n = obj;
	n->next = fl->head;
	fl->head = n;
	fl->count++;
}

/* Gives every cached object back to malloc: a thread calls it for each of its
 * caches before it exits (LeakSanitizer counts what a dead thread's cache
 * held as leaked, and it would be). */
static inline void freelist_drain(struct freelist *fl)
{
	while (fl->head) {
		struct freelist_node *n = fl->head;
		fl->head = n->next;
		free(n);
	}
	fl->count = 0;
}

#endif
