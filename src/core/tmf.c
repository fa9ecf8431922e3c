/* The core's part of task management: resets of LUs and targets, and the
 * fences that make their answers wait for every aborted task.  Aborting
 * the commands themselves is the transports' job (they own them). */
#include "core/core.h"
#include "scsi/scsi.h"

void uscst_fence_init(struct uscst_fence *f, void (*done)(struct uscst_fence *f))
{
	atomic_init(&f->pending, 1);
	f->done = done;
}

void uscst_fence_get(struct uscst_fence *f) { atomic_fetch_add(&f->pending, 1); }

void uscst_fence_put(struct uscst_fence *f)
{
	if (atomic_fetch_sub(&f->pending, 1) == 1)
		f->done(f);
}

struct abort_arg {
	const struct uscst_device *dev;
	const struct uscst_session *except;
	struct uscst_fence *fence;
};

static void abort_if_sees(struct uscst_session *s, void *p)
{
	const struct abort_arg *a = p;
	if (s == a->except || !s->abort_tasks)
		return;
	for (unsigned i = 0; i < s->luns->count; i++) {
		if (s->luns->luns[i].dev == a->dev) {
			s->abort_tasks(s, a->dev, a->fence, 0, s->abort_ctx);
			return;
		}
	}
}

/* SAM-5 7.7: a LU reset aborts the tasks of every nexus, not only those of
 * the nexus that asked (whose own tasks its transport aborts and waits
 * for).  TAS=0: the aborted tasks get no status. */
static void reset_device(struct uscst_device *dev, const struct uscst_session *issuer,
			 struct uscst_fence *fence)
{
	struct abort_arg a = {dev, issuer, fence};
	uscst_session_foreach(abort_if_sees, &a);
	scsi_reservations_reset(dev);
	pthread_mutex_lock(&dev->lock);
	/* Mode pages return to their defaults (SAM-5 LU reset). */
	atomic_store_explicit(&dev->wce, !dev->write_through, memory_order_relaxed);
	atomic_store_explicit(&dev->d_sense, false, memory_order_relaxed);
	atomic_store_explicit(&dev->swp, false, memory_order_relaxed);
	uscst_prevent_clear_all(dev);
	pthread_mutex_unlock(&dev->lock);
	ua_establish_dev(dev, NULL, ASC_BUS_DEVICE_RESET);
}

bool uscst_tmf_lun_reset(struct uscst_session *sess, uint64_t lun, struct uscst_fence *fence)
{
	struct uscst_lun *l = uscst_session_lun(sess, lun);
	if (!l)
		return false;
	reset_device(l->dev, sess, fence);
	return true;
}

static void drop_if_same_target(struct uscst_session *s, void *p)
{
	const struct abort_arg *a = p;
	if (s != a->except && s->tgt == a->except->tgt && s->abort_tasks)
		s->abort_tasks(s, NULL, a->fence, USCST_ABORT_DROP_NEXUS, s->abort_ctx);
}

void uscst_tmf_target_reset(struct uscst_session *sess, bool cold, struct uscst_fence *fence)
{
	const struct uscst_lun_map *map = sess->tgt->luns;
	for (unsigned i = 0; i < map->count; i++)
		reset_device(map->luns[i].dev, sess, fence);
	/* RFC 7143 11.5.1: after a cold reset the target closes every
	 * connection of every session, not only the one that asked. */
	if (cold) {
		struct abort_arg a = {NULL, sess, fence};
		uscst_session_foreach(drop_if_same_target, &a);
	}
}
