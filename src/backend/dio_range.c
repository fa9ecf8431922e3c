/* Byte-range locks for read-modify-write (backend/dio_range.h). */
#include "backend/dio_range.h"

#include <stddef.h>

static bool conflicts(const struct dio_range *a, const struct dio_range *b)
{
	return (a->exclusive || b->exclusive) && a->start < b->end && b->start < a->end;
}

/* With the mutex: r may go now if no held range and no waiter queued
 * before it (up to stop; NULL: all) conflicts with it. */
static bool may_go(struct dio_range_table *t, const struct dio_range *r,
		   const struct dio_range *stop)
{
	const struct dio_range *o;
	list_for_each_entry(o, &t->held, node) if (conflicts(r, o)) return false;
	list_for_each_entry(o, &t->waiting, node)
	{
		if (o == stop)
			break;
		if (conflicts(r, o))
			return false;
	}
	return true;
}

void dio_range_table_init(struct dio_range_table *t)
{
	pthread_mutex_init(&t->mutex, NULL);
	list_init(&t->held);
	list_init(&t->waiting);
}

void dio_range_table_destroy(struct dio_range_table *t) { pthread_mutex_destroy(&t->mutex); }

bool dio_range_acquire(struct dio_range_table *t, struct dio_range *r, uint64_t start, uint64_t end,
		       bool exclusive, void (*resume)(struct dio_range *r))
{
	r->start = start;
	r->end = end;
	r->exclusive = exclusive;
	r->resume = resume;
	r->reactor = reactor_current();
	pthread_mutex_lock(&t->mutex);
	bool go = may_go(t, r, NULL);
	list_add_tail(&r->node, go ? &t->held : &t->waiting);
	r->queued = true;
	pthread_mutex_unlock(&t->mutex);
	return go;
}

static void resume_msg(struct reactor_msg *m)
{
	struct dio_range *r = container_of(m, struct dio_range, msg);
	r->resume(r);
}

void dio_range_release(struct dio_range_table *t, struct dio_range *r)
{
	if (!r->queued)
		return;
	struct dio_range *granted = NULL, **tail = &granted, *w, *next;
	pthread_mutex_lock(&t->mutex);
	list_del(&r->node);
	r->queued = false;
	list_for_each_entry_safe(w, next, &t->waiting, node)
	{
		if (!may_go(t, w, w))
			continue;
		list_del(&w->node);
		list_add_tail(&w->node, &t->held);
		w->granted_next = NULL;
		*tail = w;
		tail = &w->granted_next;
	}
	pthread_mutex_unlock(&t->mutex);
	/* Each resumes on its own thread (its I/O, its ring), never inline:
	 * a chain of waiters would otherwise recurse. */
	while (granted) {
		w = granted;
		granted = w->granted_next; /* w is its owner's once handed over */
		if (!w->reactor) {
			w->resume(w);
			continue;
		}
		w->msg.fn = resume_msg;
		reactor_send(w->reactor, &w->msg);
	}
}
