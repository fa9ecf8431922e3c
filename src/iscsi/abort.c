/*
 * Aborting a connection's tasks, and knowing when the abort is over.
 *
 * An aborted task that has not started is dropped and never starts.  One
 * that has (in the core's task set or in the backend) cannot be recalled:
 * it is "fenced", counted in conn->aborted_running until it ends, and its
 * result is thrown away.  Whoever must not answer before the aborted tasks
 * are gone (a TMF of this session, a reset or PREEMPT AND ABORT from
 * another nexus) waits on the connection with a fence waiter, released
 * when the count drops to zero.  Waiting for every aborted task of the
 * connection, not only the ones this abort hit, is stricter than needed
 * and keeps the bookkeeping one counter.
 */
#include "iscsi/iscsi.h"

bool iscsi_abort_task(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	task->aborted = true;
	task->cmd.aborted = true;
	if (task->state == TASK_EXECUTING) {
		if (!task->fenced) {
			task->fenced = true;
			conn->aborted_running++;
		}
		return false;
	}
	/* A task not yet in CmdSN order keeps its place so that ExpCmdSN can
	 * still pass it; iscsi_cmdsn_advance() frees it then.  A finished one
	 * (response queued) is freed once the response is out. */
	if (task->state == TASK_RECV_DATA && task->ordered) {
		iscsi_task_free(task);
		return true;
	}
	return false;
}

static void release_waiters(struct iscsi_conn *conn)
{
	while (!list_empty(&conn->fence_waiters)) {
		struct iscsi_fence_waiter *w =
		    list_entry(conn->fence_waiters.next, struct iscsi_fence_waiter, node);
		list_del(&w->node);
		w->release(w);
	}
}

void iscsi_conn_fence_wait(struct iscsi_conn *conn, struct iscsi_fence_waiter *w)
{
	if (conn->aborted_running == 0) {
		w->release(w);
		return;
	}
	list_add_tail(&w->node, &conn->fence_waiters);
}

void iscsi_fence_task_finished(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	if (!task->fenced)
		return;
	task->fenced = false;
	if (--conn->aborted_running == 0)
		release_waiters(conn);
}
