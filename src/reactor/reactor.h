/*
 * Reactors: one event loop per worker thread.  A connection lives on one
 * reactor for its whole life, and so do its commands: parse, dispatch,
 * backend submission (through the reactor's io_uring), completion and
 * response all run on the same thread, with no lock on the fast path.
 *
 * Sockets are watched with epoll; the io_uring's completions wake the loop
 * through an eventfd registered in the same epoll set.  SQEs are submitted
 * in one batch per loop iteration.
 */
#ifndef USCST_REACTOR_H
#define USCST_REACTOR_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#include <uscst/backend.h>

struct reactor;

/* epoll registration: data.ptr points at one of these. */
struct reactor_event {
	void (*fn)(struct reactor_event *ev, uint32_t events);
};

/* Work deferred to the end of the current loop iteration, after every
 * event of the batch has been handled.  Freeing an object that owns an
 * epoll registration is only safe there: a later event of the same batch
 * may still point at it.  Embedded in the object, so deferring cannot fail. */
struct reactor_deferred {
	void (*fn)(struct reactor_deferred *d);
	struct reactor_deferred *next;
	bool queued;
};

/* A message to another reactor that cannot fail to be sent: the caller
 * embeds it in the object it concerns (no allocation). */
struct reactor_msg {
	void (*fn)(struct reactor_msg *m);
	struct reactor_msg *next;
};

/* Timer tick, once a second, for keep-alives and timeouts. */
struct reactor_ticker {
	void (*fn)(struct reactor_ticker *t, uint64_t now_ms);
	struct reactor_ticker *next, *prev;
};

int reactors_start(unsigned count);
void reactors_stop(void);
unsigned reactors_count(void);
/* Reactor to place a new connection on (least loaded). */
struct reactor *reactor_pick(void);
/* The reactor running on this thread, or NULL. */
struct reactor *reactor_current(void);

int reactor_add_fd(struct reactor *r, int fd, uint32_t events, struct reactor_event *ev);
int reactor_mod_fd(struct reactor *r, int fd, uint32_t events, struct reactor_event *ev);
void reactor_del_fd(struct reactor *r, int fd);
/* An SQE to fill; submitted at the end of this loop iteration. NULL only if
 * the ring is full even after submitting. */
struct io_uring_sqe *reactor_get_sqe(struct reactor *r);
/* Runs fn(arg) on reactor r's thread (thread-safe). */
int reactor_post(struct reactor *r, void (*fn)(void *arg), void *arg);
/* Runs m->fn(m) on reactor r's thread (thread-safe, never fails). */
void reactor_send(struct reactor *r, struct reactor_msg *m);
/* Runs d->fn(d) on r's thread once the current batch of events is done.
 * Call only from r's own thread; deferring an already queued d is a no-op. */
void reactor_defer(struct reactor *r, struct reactor_deferred *d);
void reactor_add_ticker(struct reactor *r, struct reactor_ticker *t);
void reactor_del_ticker(struct reactor *r, struct reactor_ticker *t);
void reactor_conn_count_add(struct reactor *r, int delta);
uint64_t reactor_now_ms(void);

#endif
