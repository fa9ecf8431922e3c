/* Task management (SAM-5 7), implemented once for every transport: which
 * commands a function aborts, on this nexus and on the others, the side
 * effects of LU and target resets, and the fence that holds the answer
 * until every aborted task has ended (core/inflight.c). */
#include <stdlib.h>

#include "core/cmdset.h"
#include "core/core.h"

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

/* SAM-5 7.7: a LU reset aborts the tasks of every nexus, not only those of
 * the nexus that asked.  TAS=0: the aborted tasks get no status. */
static void reset_device(struct uscst_device *dev, const struct uscst_session *issuer,
			 struct uscst_fence *fence)
{
	core_dev_abort_others(dev, issuer, fence);
	dev->cmdset->lu_reset(dev);
	pthread_mutex_lock(&dev->lock);
	uscst_prevent_clear_all(dev);
	pthread_mutex_unlock(&dev->lock);
	ua_establish_dev(dev, NULL, ASC_BUS_DEVICE_RESET);
}

struct drop_arg {
	const struct uscst_session *issuer;
	struct uscst_fence *fence;
};

static void drop_if_same_target(struct uscst_session *s, void *p)
{
	const struct drop_arg *a = p;
	if (s != a->issuer && s->tgt == a->issuer->tgt)
		core_session_abort_async(s, NULL, a->fence, CORE_ABORT_DROP_NEXUS);
}

/* This nexus's own commands: those of the LUN (all: every LUN) that the
 * transport says are older than the TMF. */
static unsigned abort_own(struct uscst_tmf *tmf, bool all_luns, bool wait_data)
{
	unsigned n = 0;
	struct uscst_cmd *c = tmf->sess->cmds, *next;
	for (; c; c = next) {
		next = c->s_next; /* the transport may free c */
		if (c->core_state == CORE_CMD_ENDED || (!all_luns && c->lun != tmf->lun))
			continue;
		if (tmf->covers && !tmf->covers(c, tmf))
			continue;
		n += core_cmd_abort(c, wait_data);
	}
	return n;
}

static enum uscst_tmf_response abort_task(struct uscst_tmf *tmf)
{
	for (struct uscst_cmd *c = tmf->sess->cmds; c; c = c->s_next) {
		if (c->tag != tmf->tag || c->core_state == CORE_CMD_ENDED || c->aborted)
			continue;
		if (c->lun != tmf->lun)
			return USCST_TMF_RSP_NO_TASK;
		return core_cmd_abort(c, true) ? USCST_TMF_RSP_COMPLETE : USCST_TMF_RSP_NO_TASK;
	}
	return USCST_TMF_RSP_NO_TASK;
}

static enum uscst_tmf_response run(struct uscst_tmf *tmf)
{
	struct uscst_session *s = tmf->sess;
	struct uscst_lun *l;
	switch (tmf->fn) {
	case USCST_TMF_ABORT_TASK:
		return abort_task(tmf);
	case USCST_TMF_ABORT_TASK_SET:
	case USCST_TMF_CLEAR_TASK_SET:
		/* One task set per nexus (TST=1): only this nexus's tasks. */
		if (!uscst_session_lun(s, tmf->lun))
			return USCST_TMF_RSP_NO_LUN;
		abort_own(tmf, false, true);
		return USCST_TMF_RSP_COMPLETE;
	case USCST_TMF_LUN_RESET:
		l = uscst_session_lun(s, tmf->lun);
		if (!l)
			return USCST_TMF_RSP_NO_LUN;
		abort_own(tmf, false, false);
		reset_device(l->dev, s, &tmf->fence);
		return USCST_TMF_RSP_COMPLETE;
	case USCST_TMF_TARGET_WARM_RESET:
	case USCST_TMF_TARGET_COLD_RESET: {
		abort_own(tmf, true, false);
		/* The LUs of this nexus's map: those it can address; LUs
		 * only other initiator groups see are not reset. */
		const struct uscst_lun_map *map = s->luns;
		for (unsigned i = 0; i < map->count; i++)
			reset_device(map->luns[i].dev, s, &tmf->fence);
		/* RFC 7143 11.5.1: after a cold reset the target closes every
		 * connection of every session, not only the one that asked
		 * (whose transport closes its own after answering). */
		if (tmf->fn == USCST_TMF_TARGET_COLD_RESET) {
			struct drop_arg a = {s, &tmf->fence};
			uscst_session_foreach(drop_if_same_target, &a);
		}
		return USCST_TMF_RSP_COMPLETE;
	}
	case USCST_TMF_CLEAR_ACA:
		return USCST_TMF_RSP_NOT_SUPPORTED;
	case USCST_TMF_QUERY_TASK:
		return core_tmf_query_task(tmf);
	case USCST_TMF_QUERY_TASK_SET:
		return core_tmf_query_task_set(tmf);
	case USCST_TMF_QUERY_ASYNC_EVENT:
		return core_tmf_query_async_event(tmf);
	case USCST_TMF_I_T_NEXUS_RESET:
		return core_tmf_it_nexus_reset(tmf);
	default:
		return USCST_TMF_RSP_REJECTED;
	}
}

/* On the session's thread, once the fence is down. */
static void tmf_answer(struct reactor_msg *m)
{
	struct uscst_tmf *tmf = (struct uscst_tmf *)((char *)m - offsetof(struct uscst_tmf, msg));
	tmf->done(tmf);
}

/* Any thread: the last aborted task anywhere has ended. */
static void tmf_fenced(struct uscst_fence *f)
{
	struct uscst_tmf *tmf = (struct uscst_tmf *)((char *)f - offsetof(struct uscst_tmf, fence));
	struct reactor *r = atomic_load_explicit(&tmf->sess->reactor, memory_order_acquire);
	if (r)
		reactor_send(r, &tmf->msg);
	else
		tmf->done(tmf); /* no reactor (unit tests): at once */
}

/* This nexus's aborted tasks have ended: drop the first reference. */
static void own_aborts_done(struct uscst_tmf_wait *w)
{
	struct uscst_tmf *tmf = (struct uscst_tmf *)((char *)w - offsetof(struct uscst_tmf, wait));
	uscst_fence_put(&tmf->fence);
}

enum uscst_tmf_response uscst_tmf_start(struct uscst_tmf *tmf)
{
	uscst_fence_init(&tmf->fence, tmf_fenced);
	tmf->msg.fn = tmf_answer;
	tmf->wait.release = own_aborts_done;
	enum uscst_tmf_response r = run(tmf);
	core_session_wait_aborts(tmf->sess, &tmf->wait);
	return r;
}
