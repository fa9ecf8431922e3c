/*
 * Aborting a session's tasks on behalf of another I_T nexus (LUN RESET or
 * TARGET RESET from elsewhere, PREEMPT AND ABORT).  The core calls in from
 * any thread; the work is handed to the connection's reactor, which owns
 * the tasks.  The aborted tasks get no response (TAS=0): tasks not yet
 * running are dropped, running ones have their result discarded.
 */
#include <stdlib.h>

#include "iscsi/iscsi.h"
#include "lib/log.h"

struct remote_abort {
	struct iscsi_conn *conn;
	const struct uscst_device *dev; /* NULL: every device */
};

static void abort_on_reactor(void *p)
{
	struct remote_abort *ra = p;
	struct iscsi_conn *conn = ra->conn;
	unsigned n = 0;
	struct iscsi_task *t, *next;
	list_for_each_entry_safe(t, next, &conn->tasks, node)
	{
		if (conn->state == CONN_CLOSED)
			break;
		if (t->aborted || t->state == TASK_DONE || (ra->dev && t->cmd.dev != ra->dev))
			continue;
		t->aborted = true;
		t->cmd.aborted = true;
		n++;
		/* Running (or held by the task set): discarded when it completes.
		 * Not yet in CmdSN order: freed when ExpCmdSN passes it. */
		if (t->state != TASK_EXECUTING && t->ordered)
			iscsi_task_free(t);
	}
	if (n)
		log_info("%s: %u tasks aborted by another I_T nexus", conn->peer, n);
	iscsi_conn_put(conn);
	free(ra);
}

void iscsi_abort_from_other_nexus(struct uscst_session *s, const struct uscst_device *dev,
				  void *ctx)
{
	struct iscsi_conn *conn = ctx;
	if (!iscsi_conn_tryget(conn))
		return; /* the connection is going away: so are its tasks */
	struct remote_abort *ra = malloc(sizeof(*ra));
	if (ra) {
		ra->conn = conn;
		ra->dev = dev;
	}
	if (!ra || reactor_post(conn->reactor, abort_on_reactor, ra) < 0) {
		log_err("%s: cannot abort tasks for another nexus (out of memory)", conn->peer);
		free(ra);
		iscsi_conn_put(conn);
	}
}
