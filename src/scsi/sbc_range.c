/*
 * LBA range locks, per device (see sbc.h for the rules).
 *
 * Why writers take part at all: COMPARE AND WRITE reads, compares, then
 * writes.  A WRITE from another nexus (on another reactor thread) that lands
 * between the read and the write is overwritten although it completed with
 * GOOD, a result no serial order gives.  So a write may not start while an
 * overlapping exclusive range is held, and an exclusive range may not be
 * granted while an overlapping write is in flight.
 *
 * The fast path keeps the common case (no COMPARE AND WRITE / ORWRITE on
 * the device) free of the mutex.  A writer increments fast_writers, then
 * reads exclusive; an exclusive request increments exclusive (under the
 * mutex), then reads fast_writers.  Both sequentially consistent, so at
 * least one of them sees the other: either the writer finds exclusive != 0
 * and enters the table instead, or the exclusive request finds the write
 * counted and waits until fast_writers drops to 0 (the writer that brings
 * it there, seeing exclusive != 0, runs the grant scan).  Reading only
 * "is an exclusive range held?" before a write would not do: the write
 * could still be in flight when a COMPARE AND WRITE starts reading.
 *
 * Granted waiters are resumed through reactor_send() on the reactor they
 * were queued from, after the mutex is dropped, never inline: their
 * connection, io_uring and task state belong to that thread, and resuming
 * inline could recurse through a chain of waiters.
 */
#include <stddef.h>
#include <stdlib.h>

#include <uscst/reactor.h>

#include "scsi/sbc.h"
#include "scsi/scsi.h"

#define container_of_lock(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static bool conflicts(const struct lba_range_lock *a, const struct lba_range_lock *b)
{
	return (a->exclusive || b->exclusive) && a->lba < b->end && b->lba < a->end;
}

/* With t->mutex held: whether l can be granted now.  Waiters older than l
 * (before `stop` in the queue; NULL: all of them) keep their turn. */
static bool grantable(struct uscst_range_locks *t, const struct lba_range_lock *l,
		      const struct lba_range_lock *stop)
{
	if (l->exclusive && atomic_load(&t->fast_writers) != 0)
		return false;
	for (const struct lba_range_lock *h = t->held; h; h = h->next)
		if (conflicts(l, h))
			return false;
	for (const struct lba_range_lock *w = t->wait_head; w && w != stop; w = w->next)
		if (conflicts(l, w))
			return false;
	return true;
}

static void held_add(struct uscst_range_locks *t, struct lba_range_lock *l)
{
	l->prev = NULL;
	l->next = t->held;
	if (t->held)
		t->held->prev = l;
	t->held = l;
	l->state = SBC_RANGE_HELD;
}

static void held_del(struct uscst_range_locks *t, struct lba_range_lock *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		t->held = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->prev = l->next = NULL;
}

static void wait_add(struct uscst_range_locks *t, struct lba_range_lock *l)
{
	l->next = NULL;
	l->prev = t->wait_tail;
	if (t->wait_tail)
		t->wait_tail->next = l;
	else
		t->wait_head = l;
	t->wait_tail = l;
	l->state = SBC_RANGE_WAITING;
}

static void wait_del(struct uscst_range_locks *t, struct lba_range_lock *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		t->wait_head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	else
		t->wait_tail = l->prev;
	l->prev = l->next = NULL;
}

/* With t->mutex held: grants every waiter that can go now, oldest first;
 * returns them as a list (granted_next) to resume once the mutex is gone. */
static struct lba_range_lock *grant_waiters(struct uscst_range_locks *t)
{
	struct lba_range_lock *granted = NULL, **tail = &granted;
	struct lba_range_lock *w = t->wait_head;
	while (w) {
		struct lba_range_lock *next = w->next;
		if (grantable(t, w, w)) {
			wait_del(t, w);
			held_add(t, w);
			w->granted_next = NULL;
			*tail = w;
			tail = &w->granted_next;
		}
		w = next;
	}
	return granted;
}

static void resume_sent(struct reactor_msg *m)
{
	struct lba_range_lock *l = container_of_lock(m, struct lba_range_lock, msg);
	l->resume(l);
}

static void resume_all(struct lba_range_lock *granted)
{
	while (granted) {
		/* Once posted, l belongs to its thread again: read on first. */
		struct lba_range_lock *l = granted;
		granted = l->granted_next;
		if (!l->reactor) {
			/* Not on a reactor (unit tests): nothing to hand over to. */
			l->resume(l);
			continue;
		}
		/* The message is part of l: handing over cannot fail. */
		l->msg.fn = resume_sent;
		reactor_send(l->reactor, &l->msg);
	}
}

static void fast_exit(struct uscst_range_locks *t)
{
	if (atomic_fetch_sub(&t->fast_writers, 1) != 1 || atomic_load(&t->exclusive) == 0)
		return;
	/* The last fast write is done and an exclusive request may wait for it. */
	pthread_mutex_lock(&t->mutex);
	struct lba_range_lock *granted = grant_waiters(t);
	pthread_mutex_unlock(&t->mutex);
	resume_all(granted);
}

/* A shared request's fast path; true: counted in, nothing else to do. */
static bool fast_enter(struct uscst_range_locks *t)
{
	if (atomic_load_explicit(&t->exclusive, memory_order_relaxed) != 0)
		return false;
	atomic_fetch_add(&t->fast_writers, 1);
	if (atomic_load(&t->exclusive) == 0)
		return true;
	/* An exclusive request came in meanwhile and may be waiting for this
	 * very count to drop: step out, then go through the table. */
	fast_exit(t);
	return false;
}

/* The table: with the mutex, held now or queued. */
static bool acquire_slow(struct lba_range_lock *l, struct uscst_cmd *cmd, struct uscst_device *dev,
			 uint64_t lba, uint64_t blocks, bool exclusive,
			 void (*resume)(struct lba_range_lock *l))
{
	struct uscst_range_locks *t = &dev->ranges;
	l->dev = dev;
	l->cmd = cmd;
	l->lba = lba;
	l->end = lba + blocks;
	l->exclusive = exclusive;
	l->resume = resume;
	l->reactor = reactor_current();
	l->prev = l->next = l->granted_next = NULL;
	pthread_mutex_lock(&t->mutex);
	if (exclusive)
		atomic_fetch_add(&t->exclusive, 1);
	bool ok = grantable(t, l, NULL);
	if (ok)
		held_add(t, l);
	else
		wait_add(t, l);
	pthread_mutex_unlock(&t->mutex);
	return ok;
}

bool sbc_range_acquire(struct lba_range_lock *l, struct uscst_device *dev, uint64_t lba,
		       uint64_t blocks, bool exclusive, void (*resume)(struct lba_range_lock *l))
{
	if (!exclusive && fast_enter(&dev->ranges)) {
		l->dev = dev;
		l->state = SBC_RANGE_FAST;
		return true;
	}
	return acquire_slow(l, NULL, dev, lba, blocks, exclusive, resume);
}

bool sbc_range_acquire_cmd(struct lba_range_lock *l, struct uscst_cmd *cmd, uint64_t lba,
			   uint64_t blocks, bool exclusive,
			   void (*resume)(struct lba_range_lock *l))
{
	if (!exclusive && fast_enter(&cmd->dev->ranges)) {
		l->dev = cmd->dev;
		l->state = SBC_RANGE_FAST;
		return true;
	}
	return acquire_slow(l, cmd, cmd->dev, lba, blocks, exclusive, resume);
}

bool sbc_range_cancel(struct uscst_cmd *cmd)
{
	if (!cmd->dev)
		return false;
	struct uscst_range_locks *t = &cmd->dev->ranges;
	struct lba_range_lock *l, *granted = NULL;
	pthread_mutex_lock(&t->mutex);
	for (l = t->wait_head; l && l->cmd != cmd; l = l->next)
		;
	if (l) {
		/* Granted already, it is not on the list: its resume() is on
		 * its way and sees the abort. */
		wait_del(t, l);
		if (l->exclusive)
			atomic_fetch_sub(&t->exclusive, 1);
		l->state = SBC_RANGE_IDLE;
		granted = grant_waiters(t); /* those it held back */
	}
	pthread_mutex_unlock(&t->mutex);
	resume_all(granted);
	if (!l)
		return false;
	/* cmd->aborted: the owner ends it, its release of l a no-op. */
	l->resume(l);
	return true;
}

void sbc_abort_running(struct uscst_cmd *cmd)
{
	if (!sbc_range_cancel(cmd))
		sbc_sanitize_abort_running(cmd);
}

void sbc_range_release(struct lba_range_lock *l)
{
	struct uscst_range_locks *t;
	switch (l->state) {
	case SBC_RANGE_FAST:
		l->state = SBC_RANGE_IDLE;
		fast_exit(&l->dev->ranges);
		return;
	case SBC_RANGE_HELD:
	case SBC_RANGE_WAITING:
		t = &l->dev->ranges;
		pthread_mutex_lock(&t->mutex);
		if (l->state == SBC_RANGE_HELD)
			held_del(t, l);
		else
			wait_del(t, l);
		if (l->exclusive)
			atomic_fetch_sub(&t->exclusive, 1);
		l->state = SBC_RANGE_IDLE;
		struct lba_range_lock *granted = grant_waiters(t);
		pthread_mutex_unlock(&t->mutex);
		resume_all(granted);
		return;
	default:
		return;
	}
}

/* --- the write gate for single-write handlers --- */

#define GATE_NONE 0u
#define GATE_FAST 1u

struct write_gate {
	struct lba_range_lock range;
	struct uscst_cmd *cmd;
	void (*resume)(struct uscst_cmd *cmd);
};

static void gate_resume(struct lba_range_lock *l)
{
	struct write_gate *g = container_of_lock(l, struct write_gate, range);
	struct uscst_cmd *cmd = g->cmd;
	/* Aborted while it waited: its status is thrown away, and the blocks
	 * must not change after the abort.  Or it waited for a SANITIZE that
	 * has left the medium in failure mode (or another that started):
	 * it ends as the dispatcher would end it now. */
	if (cmd->aborted || sbc_sanitize_refuses_io(cmd, cmd->dev)) {
		sbc_write_gate_exit(cmd);
		scsi_cmd_done(cmd);
		return;
	}
	g->resume(cmd);
}

bool sbc_write_gate_enter(struct uscst_cmd *cmd, uint64_t lba, uint64_t blocks,
			  void (*resume)(struct uscst_cmd *cmd))
{
	if (fast_enter(&cmd->dev->ranges)) {
		cmd->hstate[3] = GATE_FAST;
		return true;
	}
	struct write_gate *g = malloc(sizeof(*g));
	if (!g) {
		cmd->hstate[3] = GATE_NONE;
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return false;
	}
	g->cmd = cmd;
	g->resume = resume;
	g->range.state = SBC_RANGE_IDLE;
	cmd->hstate[3] = (uint64_t)(uintptr_t)g;
	return acquire_slow(&g->range, cmd, cmd->dev, lba, blocks, false, gate_resume);
}

void sbc_write_gate_exit(struct uscst_cmd *cmd)
{
	uint64_t st = cmd->hstate[3];
	cmd->hstate[3] = GATE_NONE;
	if (st == GATE_NONE)
		return;
	if (st == GATE_FAST) {
		fast_exit(&cmd->dev->ranges);
		return;
	}
	struct write_gate *g = (struct write_gate *)(uintptr_t)st;
	sbc_range_release(&g->range);
	free(g);
}
