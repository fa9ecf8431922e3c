/* Per-thread event loops: epoll for sockets, io_uring for storage. */
#include "reactor/reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

#define RING_ENTRIES 1024
#define MAX_EVENTS 64
/* Busy shares of a core closer than this (per mille) count as equal in
 * placement: a few idle connections' ticks must not outweigh their count. */
#define CPU_BAND_PERMILLE 200

/* reactor_post()'s wrapper around a plain function call. */
struct posted {
	struct reactor_msg msg;
	void (*fn)(void *arg);
	void *arg;
};

struct reactor {
	unsigned index;
	pthread_t thread;
	int epfd;
	struct io_uring ring;
	int ring_efd; /* io_uring completions */
	int post_efd; /* reactor_post() wake-ups */
	int timer_fd; /* 1 s tick */
	struct reactor_event ring_ev, post_ev, timer_ev;
	pthread_mutex_t post_lock;
	struct reactor_msg *msg_head, *msg_tail;
	struct reactor_ticker tickers; /* list head */
	struct reactor_deferred *deferred_head, *deferred_tail;
	unsigned sqes_pending;
	uint64_t now_ms;		    /* the clock, read once per loop iteration */
	atomic_int conns;		    /* placed on it and not yet freed */
	atomic_int idle_conns;		    /* of which idle (reactor_conn_idle_add) */
	atomic_uint cpu_band;		    /* last second's busy share / CPU_BAND_PERMILLE */
	uint64_t cpu_ns_last, wall_ns_last; /* the reactor's own, for cpu_band */
	volatile bool stop;
};

static struct reactor *reactors;
static unsigned nreactors;
static __thread struct reactor *this_reactor;

static uint64_t clock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* On a reactor thread, the time its loop last woke up: every PDU stamps
 * the time, and a clock read per PDU showed in the profile, while what
 * the stamps serve (RspTimeout, LoginTimeout, keep-alives) counts seconds.
 * One iteration runs for well under a millisecond or two. */
uint64_t reactor_now_ms(void) { return this_reactor ? this_reactor->now_ms : clock_now_ms(); }

struct reactor *reactor_current(void) { return this_reactor; }

unsigned reactors_count(void) { return nreactors; }

/*
 * Placement: the fewest connections that carry traffic, then the least
 * busy thread (its CPU over the last second, in bands), then the fewest
 * connections.  Counting all connections alone leaves a reactor idle when
 * its connections are idle ones (a busy session on reactor 0 and an idle
 * one on reactor 1: the next busy session went to reactor 0, lower index
 * at a tie), or nearly idle (one that saturates its thread and one that
 * sends a command a second count the same).  A new connection counts as
 * busy until a tick finds it idle (reactor_conn_idle_add), so a burst of
 * logins spreads before any of them has sent a command; the CPU share
 * lags by a second, so it only breaks ties.
 */
static struct reactor *least_loaded(void)
{
	struct reactor *best = &reactors[0];
	int best_busy = 0, best_conns = 0;
	unsigned best_band = 0;
	for (unsigned i = 0; i < nreactors; i++) {
		int conns = atomic_load(&reactors[i].conns);
		int busy = conns - atomic_load(&reactors[i].idle_conns);
		unsigned band = atomic_load(&reactors[i].cpu_band);
		if (i == 0 || busy < best_busy ||
		    (busy == best_busy &&
		     (band < best_band || (band == best_band && conns < best_conns)))) {
			best = &reactors[i];
			best_busy = busy;
			best_band = band;
			best_conns = conns;
		}
	}
	return best;
}

struct reactor *reactor_pick(void) { return least_loaded(); }

/* Counted here, not when the connection starts on its reactor: the
 * acceptor places a burst of connections before any reactor has run the
 * first, and each must see the ones before it. */
struct reactor *reactor_place_conn(void)
{
	struct reactor *r = least_loaded();
	atomic_fetch_add(&r->conns, 1);
	return r;
}

void reactor_conn_count_add(struct reactor *r, int delta) { atomic_fetch_add(&r->conns, delta); }

void reactor_conn_idle_add(struct reactor *r, int delta)
{
	atomic_fetch_add(&r->idle_conns, delta);
}

int reactor_add_fd(struct reactor *r, int fd, uint32_t events, struct reactor_event *ev)
{
	struct epoll_event e = {.events = events, .data.ptr = ev};
	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

int reactor_mod_fd(struct reactor *r, int fd, uint32_t events, struct reactor_event *ev)
{
	struct epoll_event e = {.events = events, .data.ptr = ev};
	return epoll_ctl(r->epfd, EPOLL_CTL_MOD, fd, &e) ? -errno : 0;
}

void reactor_del_fd(struct reactor *r, int fd) { epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL); }

struct io_uring_sqe *reactor_get_sqe(struct reactor *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	if (!sqe) {
		io_uring_submit(&r->ring);
		r->sqes_pending = 0;
		sqe = io_uring_get_sqe(&r->ring);
	}
	if (sqe)
		r->sqes_pending++;
	return sqe;
}

int uscst_reactor_file_io(struct uscst_file_io *fio)
{
	struct reactor *r = reactor_current();
	struct io_uring_sqe *sqe = r ? reactor_get_sqe(r) : NULL;
	if (!sqe)
		return -EAGAIN;
	switch (fio->op) {
	case USCST_FILE_READ:
		io_uring_prep_read(sqe, fio->fd, fio->buf, (unsigned)fio->len, fio->offset);
		break;
	case USCST_FILE_WRITE:
		io_uring_prep_write(sqe, fio->fd, fio->buf, (unsigned)fio->len, fio->offset);
		if (fio->dsync)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case USCST_FILE_FDATASYNC:
		io_uring_prep_fsync(sqe, fio->fd, IORING_FSYNC_DATASYNC);
		break;
	case USCST_FILE_PUNCH_HOLE:
		io_uring_prep_fallocate(sqe, fio->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)fio->offset, (off_t)fio->len);
		break;
	case USCST_FILE_ZERO_RANGE:
		io_uring_prep_fallocate(sqe, fio->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					(off_t)fio->offset, (off_t)fio->len);
		break;
	case USCST_FILE_WILLNEED:
		io_uring_prep_fadvise(sqe, fio->fd, fio->offset, (off_t)fio->len,
				      POSIX_FADV_WILLNEED);
		break;
	case USCST_FILE_READV:
		io_uring_prep_readv(sqe, fio->fd, fio->iov, fio->iovcnt, fio->offset);
		break;
	case USCST_FILE_WRITEV:
		io_uring_prep_writev(sqe, fio->fd, fio->iov, fio->iovcnt, fio->offset);
		if (fio->dsync)
			sqe->rw_flags = RWF_DSYNC;
		break;
	}
	io_uring_sqe_set_data(sqe, fio);
	return 0;
}

void reactor_send(struct reactor *r, struct reactor_msg *m)
{
	m->next = NULL;
	pthread_mutex_lock(&r->post_lock);
	if (r->msg_tail)
		r->msg_tail->next = m;
	else
		r->msg_head = m;
	r->msg_tail = m;
	pthread_mutex_unlock(&r->post_lock);
	uint64_t one = 1;
	if (write(r->post_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("reactor %u: eventfd write: %s", r->index, strerror(errno));
}

static void run_posted(struct reactor_msg *m)
{
	struct posted *p = (struct posted *)m;
	p->fn(p->arg);
	free(p);
}

int reactor_post(struct reactor *r, void (*fn)(void *arg), void *arg)
{
	struct posted *p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->msg.fn = run_posted;
	p->fn = fn;
	p->arg = arg;
	reactor_send(r, &p->msg);
	return 0;
}

void reactor_add_ticker(struct reactor *r, struct reactor_ticker *t)
{
	t->next = r->tickers.next;
	t->prev = &r->tickers;
	r->tickers.next->prev = t;
	r->tickers.next = t;
}

void reactor_del_ticker(struct reactor *r, struct reactor_ticker *t)
{
	if (!t->next)
		return;
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->next = t->prev = NULL;
}

void reactor_defer(struct reactor *r, struct reactor_deferred *d)
{
	if (d->queued)
		return;
	d->queued = true;
	d->next = NULL;
	if (r->deferred_tail)
		r->deferred_tail->next = d;
	else
		r->deferred_head = d;
	r->deferred_tail = d;
}

/* Deferred work may defer more; it all runs before the next epoll_wait. */
static void run_deferred(struct reactor *r)
{
	while (r->deferred_head) {
		struct reactor_deferred *d = r->deferred_head;
		r->deferred_head = d->next;
		if (!r->deferred_head)
			r->deferred_tail = NULL;
		d->queued = false;
		d->fn(d);
	}
}

/* One read takes an eventfd's whole count (no EFD_SEMAPHORE) and a timerfd's
 * expirations: a second would only return EAGAIN, a syscall per wake-up. */
static void drain_eventfd(int fd)
{
	uint64_t v;
	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

static unsigned reap_completions(struct reactor *r)
{
	struct io_uring_cqe *cqes[64];
	unsigned total = 0, n;
	while ((n = io_uring_peek_batch_cqe(&r->ring, cqes, 64)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			/* Every SQE is a uscst_reactor_file_io() request. */
			struct uscst_file_io *fio = io_uring_cqe_get_data(cqes[i]);
			int32_t res = cqes[i]->res;
			io_uring_cqe_seen(&r->ring, cqes[i]);
			if (fio)
				fio->done(fio, res);
		}
		total += n;
	}
	return total;
}

static void on_ring_event(struct reactor_event *ev, uint32_t events)
{
	struct reactor *r = (struct reactor *)((char *)ev - offsetof(struct reactor, ring_ev));
	drain_eventfd(r->ring_efd);
	reap_completions(r);
}

static void on_post_event(struct reactor_event *ev, uint32_t events)
{
	struct reactor *r = (struct reactor *)((char *)ev - offsetof(struct reactor, post_ev));
	drain_eventfd(r->post_efd);
	pthread_mutex_lock(&r->post_lock);
	struct reactor_msg *m = r->msg_head;
	r->msg_head = r->msg_tail = NULL;
	pthread_mutex_unlock(&r->post_lock);
	while (m) {
		struct reactor_msg *next = m->next; /* m may be freed by its fn */
		m->fn(m);
		m = next;
	}
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The thread's share of a core since the last tick: read once a second, so
 * the loop itself pays nothing for it. */
static void sample_cpu(struct reactor *r)
{
	uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID), wall = clock_ns(CLOCK_MONOTONIC);
	if (r->wall_ns_last && wall > r->wall_ns_last) {
		uint64_t permille = (cpu - r->cpu_ns_last) * 1000 / (wall - r->wall_ns_last);
		atomic_store(&r->cpu_band, (unsigned)(permille / CPU_BAND_PERMILLE));
	}
	r->cpu_ns_last = cpu;
	r->wall_ns_last = wall;
}

static void on_timer_event(struct reactor_event *ev, uint32_t events)
{
	struct reactor *r = (struct reactor *)((char *)ev - offsetof(struct reactor, timer_ev));
	drain_eventfd(r->timer_fd);
	sample_cpu(r);
	uint64_t now = r->now_ms;
	/* A ticker may remove itself (connection closed): take next first. */
	for (struct reactor_ticker *t = r->tickers.next, *next; t != &r->tickers; t = next) {
		next = t->next;
		t->fn(t, now);
	}
}

static void *reactor_main(void *arg)
{
	struct reactor *r = arg;
	this_reactor = r;
	r->now_ms = clock_now_ms();
	struct epoll_event evs[MAX_EVENTS];
	while (!r->stop) {
		if (r->sqes_pending) {
			io_uring_submit(&r->ring);
			r->sqes_pending = 0;
		}
		/* Completions that arrived during submission run before sleeping. */
		bool reaped = reap_completions(r);
		run_deferred(r);
		int timeout = reaped || r->sqes_pending ? 0 : 1000;
		int n = epoll_wait(r->epfd, evs, MAX_EVENTS, timeout);
		r->now_ms = clock_now_ms();
		if (n < 0 && errno != EINTR) {
			log_err("reactor %u: epoll_wait: %s", r->index, strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct reactor_event *ev = evs[i].data.ptr;
			ev->fn(ev, evs[i].events);
		}
		run_deferred(r);
	}
	return NULL;
}

static int reactor_init(struct reactor *r, unsigned index)
{
	r->index = index;
	r->tickers.next = r->tickers.prev = &r->tickers;
	pthread_mutex_init(&r->post_lock, NULL);
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return -errno;
	int rc = io_uring_queue_init(RING_ENTRIES, &r->ring, 0);
	if (rc < 0)
		return rc;
	r->ring_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->post_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->ring_efd < 0 || r->post_efd < 0 || r->timer_fd < 0)
		return -errno;
	rc = io_uring_register_eventfd(&r->ring, r->ring_efd);
	if (rc < 0)
		return rc;
	struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};
	timerfd_settime(r->timer_fd, 0, &its, NULL);
	r->ring_ev.fn = on_ring_event;
	r->post_ev.fn = on_post_event;
	r->timer_ev.fn = on_timer_event;
	if ((rc = reactor_add_fd(r, r->ring_efd, EPOLLIN, &r->ring_ev)) ||
	    (rc = reactor_add_fd(r, r->post_efd, EPOLLIN, &r->post_ev)) ||
	    (rc = reactor_add_fd(r, r->timer_fd, EPOLLIN, &r->timer_ev)))
		return rc;
	return 0;
}

int reactors_start(unsigned count)
{
	reactors = calloc(count, sizeof(*reactors));
	if (!reactors)
		return -ENOMEM;
	nreactors = count;
	for (unsigned i = 0; i < count; i++) {
		int rc = reactor_init(&reactors[i], i);
		if (rc < 0) {
			log_err("reactor %u: init failed: %s", i, strerror(-rc));
			return rc;
		}
		rc = pthread_create(&reactors[i].thread, NULL, reactor_main, &reactors[i]);
		if (rc)
			return -rc;
		/* Per-thread CPU in /proc/PID/task/TID/comm shows placement. */
		char name[16];
		snprintf(name, sizeof(name), "uscst-r%u", i % 100000u);
		pthread_setname_np(reactors[i].thread, name);
	}
	return 0;
}

static void stop_self(void *arg) { ((struct reactor *)arg)->stop = true; }

void reactors_stop(void)
{
	for (unsigned i = 0; i < nreactors; i++)
		reactor_post(&reactors[i], stop_self, &reactors[i]);
	for (unsigned i = 0; i < nreactors; i++)
		pthread_join(reactors[i].thread, NULL);
}
