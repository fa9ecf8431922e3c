/*
 * Aborting a session's tasks on behalf of another I_T nexus (LUN RESET or
 * TARGET RESET from elsewhere, PREEMPT AND ABORT).  The core calls in from
 * any thread; the work is handed to the connection's reactor, which owns
 * the tasks.  The aborted tasks get no response (TAS=0).  The core's fence
 * is held until every aborted task that had started has ended, so the
 * other nexus's reset is not answered while our WRITE can still land.
 */
#include <stdlib.h>

#include "iscsi/iscsi.h"
#include "lib/log.h"

struct remote_abort {
	struct reactor_msg msg;
	struct iscsi_fence_waiter waiter;
	struct iscsi_conn *conn;
	const struct uscst_device *dev; /* NULL: every device */
	struct uscst_fence *fence;
	unsigned flags;
};

static void remote_abort_release(struct iscsi_fence_waiter *w)
{
	struct remote_abort *ra =
	    (struct remote_abort *)((char *)w - offsetof(struct remote_abort, waiter));
	uscst_fence_put(ra->fence);
	iscsi_conn_put(ra->conn);
	free(ra);
}

static void abort_on_reactor(struct reactor_msg *m)
{
	struct remote_abort *ra = (struct remote_abort *)m;
	struct iscsi_conn *conn = ra->conn;
	unsigned n = 0;
	struct iscsi_task *t, *next;
	list_for_each_entry_safe(t, next, &conn->tasks, node)
	{
		if (t->state == TASK_DONE || (ra->dev && t->cmd.dev != ra->dev))
			continue;
		n++;
		iscsi_abort_task(t);
	}
	if (n)
		log_info("%s: %u tasks aborted by another I_T nexus", conn->peer, n);
	if (ra->flags & USCST_ABORT_DROP_NEXUS)
		iscsi_conn_close(conn, "target cold reset by another session");
	iscsi_conn_fence_wait(conn, &ra->waiter);
}

void iscsi_abort_from_other_nexus(struct uscst_session *s, const struct uscst_device *dev,
				  struct uscst_fence *fence, unsigned flags, void *ctx)
{
	struct iscsi_conn *conn = ctx;
	/* No reference left: the connection is being freed, and since every
	 * task holds one, it has no tasks. */
	if (!iscsi_conn_tryget(conn))
		return;
	struct remote_abort *ra = calloc(1, sizeof(*ra));
	if (!ra) {
		log_err("%s: cannot abort tasks for another nexus (out of memory)", conn->peer);
		iscsi_conn_put(conn);
		return;
	}
	ra->msg.fn = abort_on_reactor;
	ra->waiter.release = remote_abort_release;
	ra->conn = conn;
	ra->dev = dev;
	ra->fence = fence;
	ra->flags = flags;
	uscst_fence_get(fence);
	reactor_send(conn->reactor, &ra->msg);
}
