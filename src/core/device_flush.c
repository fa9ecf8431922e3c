/*
 * Flushing every device at a graceful stop (uscstd on SIGTERM): what the
 * initiators were told is written reaches stable storage before the
 * daemon exits, whatever their write cache setting.  A backend's submit
 * runs on a reactor (fileio's I/O goes through its io_uring), so the
 * FLUSHes are posted there and the caller waits for all of them, within a
 * bound.  Whole-command backends (pass-through) have no block I/O to
 * flush: the device behind them keeps its own cache; a device without a
 * medium or block storage answers ENOMEDIUM or EOPNOTSUPP, which is fine.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "lib/log.h"

struct flush_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned pending; /* FLUSHes posted and not done */
	unsigned failed;
	bool abandoned; /* the waiter gave up: the last done frees it */
};

struct flush_req {
	struct uscst_io io;
	struct uscst_device *dev;
	struct flush_wait *w;
};

static void flush_wait_free(struct flush_wait *w)
{
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static void flush_done(struct uscst_io *io)
{
	struct flush_req *r = io->priv; /* io is inside r */
	struct flush_wait *w = r->w;
	int64_t result = io->result;
	/* No medium (an empty drive) or no block storage (a changer): there
	 * is nothing to make durable. */
	if (result == -ENOMEDIUM || result == -EOPNOTSUPP) {
		log_debug("device %s: nothing to flush (%s)", r->dev->name, strerror((int)-result));
		result = 0;
	}
	if (result < 0)
		log_warn("device %s: flush failed: %s", r->dev->name, strerror((int)-result));
	else
		log_debug("device %s: flushed", r->dev->name);
	free(r);
	pthread_mutex_lock(&w->lock);
	if (result < 0)
		w->failed++;
	bool last = --w->pending == 0, gone = w->abandoned;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (last && gone)
		flush_wait_free(w);
}

static void submit_on_reactor(void *arg)
{
	struct flush_req *r = arg;
	r->dev->backend->submit(r->dev, &r->io);
}

static void post_flush(struct uscst_device *dev, void *arg)
{
	struct flush_wait *w = arg;
	if (!dev->backend->submit)
		return;
	struct flush_req *r = calloc(1, sizeof(*r));
	if (!r) {
		log_warn("device %s: not flushed: out of memory", dev->name);
		pthread_mutex_lock(&w->lock);
		w->failed++;
		pthread_mutex_unlock(&w->lock);
		return;
	}
	r->dev = dev;
	r->w = w;
	r->io.op = USCST_IO_FLUSH;
	r->io.done = flush_done;
	r->io.priv = r;
	pthread_mutex_lock(&w->lock);
	w->pending++;
	pthread_mutex_unlock(&w->lock);
	if (reactor_post(reactor_pick(), submit_on_reactor, r) < 0) {
		log_warn("device %s: not flushed: no reactor", dev->name);
		free(r);
		pthread_mutex_lock(&w->lock);
		w->pending--;
		w->failed++;
		pthread_mutex_unlock(&w->lock);
	}
}

int uscst_devices_flush(unsigned timeout_ms)
{
	struct flush_wait *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	uscst_device_foreach(post_flush, w);
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->lock);
	int rc = 0;
	while (w->pending && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w->cond, &w->lock, &until);
	unsigned pending = w->pending, failed = w->failed;
	w->abandoned = pending > 0;
	pthread_mutex_unlock(&w->lock);
	if (pending)
		log_warn("%u device flushes still running after %u ms", pending, timeout_ms);
	else
		flush_wait_free(w);
	return pending ? -ETIMEDOUT : failed ? -EIO : 0;
}
