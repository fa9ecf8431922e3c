/*
 * Commands in flight.  A command is known to the core from its decode (the
 * transport has just received it; it may still be collecting Data-Out, or
 * waiting for its turn in the transport's command order) to its release.
 *
 * Each session lists its commands; only the session's thread touches that
 * list, and everything about the command's state: tracking a command takes
 * no lock.  A LU reset asks the thread of every other session with commands
 * in flight to abort those for the LU (core_session_abort_async); a
 * per-LU list of commands under a lock, taken twice per command, would
 * only spare the sessions with none for that LU a message.
 *
 * An aborted command that is still running (in the task set or in its
 * handler), or whose transport still waits for data the initiator owes,
 * is counted in sess->aborts_pending until it ends; whoever must not
 * answer before then (a TMF of this nexus, a reset or PREEMPT AND ABORT
 * from another one) waits on the session.  Waiting for every aborted
 * command of the session, not only the ones one abort hit, is stricter
 * than needed and keeps the bookkeeping one counter.
 */
#include <stdlib.h>

#include "core/cmdset.h"
#include "core/core.h"
#include "core/stats.h"
#include "lib/log.h"

/* The count the admin listing reads from another thread; only the
 * session's thread writes it, so a plain load and store (no locked
 * read-modify-write on the data path) keep it exact. */
static void session_count_cmds(struct uscst_session *s, int delta)
{
	unsigned n = atomic_load_explicit(&s->ncmds, memory_order_relaxed);
	atomic_store_explicit(&s->ncmds, n + (unsigned)delta, memory_order_relaxed);
}

void core_cmd_track(struct uscst_cmd *cmd)
{
	struct uscst_session *s = cmd->sess;
	if (cmd->core_state != CORE_CMD_UNTRACKED || !s)
		return;
	cmd->core_state = CORE_CMD_RECEIVED;
	cmd->s_next = s->cmds;
	if (s->cmds)
		s->cmds->s_pprev = &cmd->s_next;
	s->cmds = cmd;
	cmd->s_pprev = &s->cmds;
	session_count_cmds(s, 1);
}

static void settle(struct uscst_cmd *cmd)
{
	if (!cmd->abort_pending)
		return;
	cmd->abort_pending = false;
	struct uscst_session *s = cmd->sess;
	if (--s->aborts_pending)
		return;
	while (s->abort_waiters) {
		struct uscst_tmf_wait *w = s->abort_waiters;
		s->abort_waiters = w->next;
		w->release(w);
	}
}

void core_cmd_untrack(struct uscst_cmd *cmd)
{
	if (cmd->core_state == CORE_CMD_UNTRACKED)
		return;
	*cmd->s_pprev = cmd->s_next;
	if (cmd->s_next)
		cmd->s_next->s_pprev = cmd->s_pprev;
	session_count_cmds(cmd->sess, -1);
	cmd->s_next = NULL;
	cmd->s_pprev = NULL;
	cmd->core_state = CORE_CMD_UNTRACKED;
	settle(cmd);
}

void core_cmd_ended(struct uscst_cmd *cmd)
{
	if (cmd->core_state != CORE_CMD_UNTRACKED)
		cmd->core_state = CORE_CMD_ENDED;
	settle(cmd);
}

void uscst_cmd_abort_settled(struct uscst_cmd *cmd) { settle(cmd); }

static void count_pending(struct uscst_cmd *cmd)
{
	if (cmd->abort_pending)
		return;
	cmd->abort_pending = true;
	cmd->sess->aborts_pending++;
}

bool core_cmd_wait_for_end(struct uscst_cmd *cmd)
{
	if (cmd->core_state != CORE_CMD_QUEUED && cmd->core_state != CORE_CMD_RUNNING)
		return false;
	count_pending(cmd);
	return true;
}

bool core_cmd_abort(struct uscst_cmd *cmd, bool wait_data)
{
	switch (cmd->core_state) {
	case CORE_CMD_QUEUED:
	case CORE_CMD_RUNNING: {
		/* It cannot be recalled: its result is thrown away, and it is
		 * waited for (even if the transport already marked it aborted
		 * when its connection closed: it may still write).  Its command
		 * set may end it sooner (a pass-through device's upstream). */
		bool first = !cmd->abort_pending;
		cmd->aborted = true;
		count_pending(cmd);
		if (first && cmd->core_state == CORE_CMD_RUNNING && cmd->dev &&
		    cmd->dev->cmdset->abort_running)
			cmd->dev->cmdset->abort_running(cmd);
		return true;
	}
	case CORE_CMD_RECEIVED: {
		const struct uscst_transport_ops *ops = cmd->sess->tops;
		if (cmd->aborted) {
			/* Already aborted.  If it still waits for data, an abort that
			 * does not (a reset) stops the wait: it must not hang on an
			 * initiator that never answers. */
			if (cmd->abort_pending && !wait_data && ops) {
				settle(cmd);
				ops->cmd_aborted(cmd, false); /* may release cmd */
			}
			return false;
		}
		if (!ops) {
			cmd->aborted = true;
			return true;
		}
		cmd->aborted = true;
		/* The transport may release (and free) cmd here. */
		switch (ops->cmd_aborted(cmd, wait_data)) {
		case USCST_ABORT_WAIT:
			count_pending(cmd);
			return true;
		case USCST_ABORT_IGNORED:
			cmd->aborted = false;
			return false;
		case USCST_ABORT_DONE:
		default:
			return true;
		}
	}
	default:
		return false;
	}
}

void uscst_session_nexus_loss(struct uscst_session *s)
{
	/* No callbacks: the transport is tearing every command down itself.
	 * A reset of another nexus still waits for the running ones. */
	for (struct uscst_cmd *c = s->cmds; c; c = c->s_next)
		c->aborted = true;
}

void core_session_wait_aborts(struct uscst_session *s, struct uscst_tmf_wait *w)
{
	if (!s->aborts_pending) {
		w->release(w);
		return;
	}
	w->next = s->abort_waiters;
	s->abort_waiters = w;
}

void core_session_get(struct uscst_session *s) { atomic_fetch_add(&s->refs, 1); }

void core_session_put(struct uscst_session *s)
{
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	if (s->map_hold)
		core_map_hold_retire(s->map_hold);
	pthread_mutex_destroy(&s->ua_lock);
	uscst_stats_free(s->stats);
	free(s);
}

/* --- aborts on behalf of another nexus --- */

struct remote_abort {
	struct reactor_msg msg;
	struct uscst_tmf_wait wait;
	struct uscst_session *s;
	const struct uscst_device *dev; /* NULL: every LU */
	struct uscst_fence *fence;
	unsigned flags;
};

static void remote_abort_release(struct uscst_tmf_wait *w)
{
	struct remote_abort *ra =
	    (struct remote_abort *)((char *)w - offsetof(struct remote_abort, wait));
	uscst_fence_put(ra->fence);
	core_session_put(ra->s);
	free(ra);
}

static void abort_on_session_thread(struct reactor_msg *m)
{
	struct remote_abort *ra = (struct remote_abort *)m;
	struct uscst_session *s = ra->s;
	unsigned n = 0;
	if (!s->gone) {
		struct uscst_cmd *c = s->cmds, *next;
		for (; c; c = next) {
			next = c->s_next; /* the transport may free c */
			if (ra->dev && c->dev != ra->dev)
				continue;
			n += core_cmd_abort(c, false);
		}
		if (n)
			log_info("session %llu: %u tasks aborted by another I_T nexus",
				 (unsigned long long)s->id, n);
		if ((ra->flags & CORE_ABORT_DROP_NEXUS) && s->tops && s->tops->drop_nexus)
			s->tops->drop_nexus(s, s->tctx);
	}
	core_session_wait_aborts(s, &ra->wait);
}

void core_session_abort_async(struct uscst_session *s, const struct uscst_device *dev,
			      struct uscst_fence *fence, unsigned flags)
{
	struct reactor *r = atomic_load_explicit(&s->reactor, memory_order_acquire);
	if (!r)
		return; /* no transport yet: no commands either */
	struct remote_abort *ra = calloc(1, sizeof(*ra));
	if (!ra) {
		log_err("session %llu: cannot abort tasks for another nexus (out of memory)",
			(unsigned long long)s->id);
		return;
	}
	ra->msg.fn = abort_on_session_thread;
	ra->wait.release = remote_abort_release;
	ra->s = s;
	ra->dev = dev;
	ra->fence = fence;
	ra->flags = flags;
	core_session_get(s);
	uscst_fence_get(fence);
	reactor_send(r, &ra->msg);
}

struct abort_others {
	const struct uscst_device *dev;
	const struct uscst_session *except;
	struct uscst_fence *fence;
};

static void abort_if_busy(struct uscst_session *s, void *arg)
{
	const struct abort_others *a = arg;
	/* A command counted after this read arrived after the reset. */
	if (s != a->except && atomic_load_explicit(&s->ncmds, memory_order_relaxed))
		core_session_abort_async(s, a->dev, a->fence, 0);
}

void core_dev_abort_others(struct uscst_device *dev, const struct uscst_session *except,
			   struct uscst_fence *fence)
{
	struct abort_others a = {dev, except, fence};
	uscst_session_foreach(abort_if_busy, &a);
}

void uscst_session_set_transport(struct uscst_session *s, const struct uscst_transport_ops *ops,
				 void *ctx, struct reactor *r)
{
	s->tops = ops;
	s->tctx = ctx;
	atomic_store_explicit(&s->reactor, r, memory_order_release);
}
