/*
 * What iSCSI does when the core aborts one of its commands that has not
 * been handed to the core's task set yet (the core owns task management,
 * core/tmf.c): stop soliciting its data and never execute or answer it.
 * A task not yet in CmdSN order keeps its place, so that ExpCmdSN can still
 * pass it; iscsi_cmdsn_advance() frees it then.  When the initiator's own
 * abort hits a task with R2Ts open, the initiator keeps answering them
 * (RFC 7143 11.5.1): the task stays until each of those sequences has
 * ended (its Data-Out is accepted and dropped, never Rejected), and the
 * TMF answer waits for it.  A reset does not wait (a LU or target reset
 * must not hang on an initiator that stops answering), but the Data-Out
 * the initiator may still send on the open sequences is taken and dropped
 * all the same (RFC 7143 11.5.1: it keeps answering every TTT it holds),
 * not Rejected as data for an unknown task.
 */
#include "iscsi/async.h"
#include "iscsi/iscsi.h"

static void retire_seq(struct iscsi_conn *conn, uint32_t itt, uint32_t ttt)
{
	unsigned i = conn->retired_next++ % ISCSI_RETIRED_SEQS;
	conn->retired[i].itt = itt;
	conn->retired[i].ttt = ttt;
	conn->retired[i].open = true;
}

/* The task goes while the initiator may still send Data-Out for it. */
static void retire_open_sequences(struct iscsi_task *task)
{
	for (struct iscsi_r2t *r = task->r2ts; r; r = r->next)
		retire_seq(task->conn, task->itt, r->ttt);
	if (task->unsol_open)
		retire_seq(task->conn, task->itt, ISCSI_RESERVED_TAG);
}

bool iscsi_retired_data_out(struct iscsi_conn *conn, const uint8_t *bhs)
{
	uint32_t itt = bhs_itt(bhs), ttt = get_be32(bhs + 20);
	for (unsigned i = 0; i < ISCSI_RETIRED_SEQS; i++) {
		if (!conn->retired[i].open || conn->retired[i].itt != itt ||
		    conn->retired[i].ttt != ttt)
			continue;
		if (bhs[1] & ISCSI_FLAG_FINAL) /* the sequence is over */
			conn->retired[i].open = false;
		return true;
	}
	return false;
}

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
	retire_open_sequences(task);
	if (task->ordered)
		iscsi_task_free(task);
	return USCST_ABORT_DONE;
}

/* ctx is the iSCSI session: every connection of it ends, each told first
 * (conn_drop.c).  The administrator closing it, its target disabled, its
 * initiator's access removed, or a cold reset from another session. */
void iscsi_drop_nexus(struct uscst_session *s, void *ctx)
{
	(void)s;
	iscsi_session_drop(ctx, "session ended by the target");
}

const struct uscst_transport_ops iscsi_core_ops = {
    .cmd_aborted = iscsi_cmd_aborted,
    .drop_nexus = iscsi_drop_nexus,
};
