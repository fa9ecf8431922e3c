/*
 * What iSCSI does when the core aborts one of its commands that has not
 * been handed to the core's task set yet (the core owns task management,
 * core/tmf.c): stop soliciting its data and never execute or answer it.
 * A task not yet in CmdSN order keeps its place, so that ExpCmdSN can still
 * pass it; iscsi_cmdsn_advance() frees it then.  When the initiator's own
 * abort hits a task with R2Ts open, the initiator keeps answering them
 * (RFC 7143 11.5.1): the task stays until each of those sequences has
 * ended (its Data-Out is accepted and dropped, never Rejected), and the
 * TMF answer waits for it.
 */
#include "iscsi/iscsi.h"

enum uscst_abort_result iscsi_cmd_aborted(struct uscst_cmd *cmd, bool wait_data)
{
	struct iscsi_task *task = cmd->transport_priv;
	if (task->state != TASK_RECV_DATA)
		return USCST_ABORT_IGNORED; /* answered already (a transport error) */
	task->aborted = true;
	task->abort_owes_data = false; /* a reset no longer waits for it */
	if (wait_data && task->r2t_outstanding) {
		/* No more R2Ts; the open ones are answered, then it goes. */
		task->abort_owes_data = true;
		return USCST_ABORT_WAIT;
	}
	if (task->ordered)
		iscsi_task_free(task);
	return USCST_ABORT_DONE;
}

void iscsi_drop_nexus(struct uscst_session *s, void *ctx)
{
	(void)s;
	iscsi_conn_close(ctx, "target cold reset by another session");
}

const struct uscst_transport_ops iscsi_core_ops = {
    .cmd_aborted = iscsi_cmd_aborted,
    .drop_nexus = iscsi_drop_nexus,
};
