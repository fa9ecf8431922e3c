/*
 * Reactors: one event loop per worker thread, as a transport or a device
 * handler sees them.  A connection lives on one reactor for its whole life,
 * and so do its commands: parse, dispatch, backend submission, completion
 * and response all run on the same thread, with no lock on the fast path.
 *
 * Transports register their sockets with epoll (reactor_add_fd); work is
 * handed to another reactor with reactor_post / reactor_send (thread-safe);
 * tickers give a once-a-second timer.  Device handlers do file I/O through
 * uscst_reactor_file_io(), which the reactor runs on its io_uring: nothing
 * here exposes liburing.
 */
#ifndef USCST_PUBLIC_REACTOR_H
#define USCST_PUBLIC_REACTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

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

/* Asynchronous file I/O on the calling thread's reactor.  The caller owns
 * the struct (embedded in its request) and fills it; done(fio, res) runs on
 * the same reactor thread, later, with res as the matching syscall would
 * return it (bytes transferred, 0 at end of file, or -errno). */
enum uscst_file_op {
	USCST_FILE_READ,       /* pread(fd, buf, len, offset) */
	USCST_FILE_WRITE,      /* pwrite(fd, buf, len, offset), RWF_DSYNC if dsync */
	USCST_FILE_FDATASYNC,  /* fdatasync(fd) */
	USCST_FILE_PUNCH_HOLE, /* fallocate PUNCH_HOLE|KEEP_SIZE over [offset, +len) */
	USCST_FILE_ZERO_RANGE, /* fallocate ZERO_RANGE|KEEP_SIZE over [offset, +len) */
	USCST_FILE_WILLNEED,   /* posix_fadvise WILLNEED over [offset, +len) */
	USCST_FILE_READV,      /* preadv(fd, iov, iovcnt, offset); len unused */
	USCST_FILE_WRITEV,     /* pwritev2(fd, iov, iovcnt, offset), RWF_DSYNC if dsync */
};

struct uscst_file_io {
	int fd;
	enum uscst_file_op op;
	bool dsync;
	void *buf;
	/* READV/WRITEV: at most IOV_MAX segments; the array must stay valid
	 * until done() (the kernel may read it as late as that). */
	const struct iovec *iov;
	unsigned iovcnt;
	uint64_t offset;
	uint64_t len;
	void (*done)(struct uscst_file_io *fio, int32_t res);
};

/* Queues fio; it is submitted with the others at the end of this loop
 * iteration.  0, or -EAGAIN when the calling thread is no reactor or its
 * ring is full even after submitting (done() is then never called). */
int uscst_reactor_file_io(struct uscst_file_io *fio);

/* The least loaded reactor: fewest busy connections, then the least busy
 * thread, then fewest connections (for work that is not a connection). */
struct reactor *reactor_pick(void);
/* reactor_pick() for a new connection, counted on the reactor at once;
 * reactor_conn_count_add(r, -1) gives it back. */
struct reactor *reactor_place_conn(void);
/* The reactor running on this thread, or NULL. */
struct reactor *reactor_current(void);

int reactor_add_fd(struct reactor *r, int fd, uint32_t events, struct reactor_event *ev);
int reactor_mod_fd(struct reactor *r, int fd, uint32_t events, struct reactor_event *ev);
void reactor_del_fd(struct reactor *r, int fd);
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
/* A connection of r went idle (+1) or carries traffic again (-1): idle
 * connections weigh less in reactor_pick(). */
void reactor_conn_idle_add(struct reactor *r, int delta);
/* CLOCK_MONOTONIC in ms.  On a reactor thread, as read when its loop last
 * woke up (one clock read per iteration, not per call). */
uint64_t reactor_now_ms(void);

#endif
