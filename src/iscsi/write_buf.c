/*
 * Data-Out buffers, allocated only as fast as the initiator is allowed to
 * fill them.
 *
 * A WRITE's buffer (up to 64 MiB) used to be allocated whole when the
 * command arrived; an initiator that sent most of the data of a window's
 * worth of WRITEs and never the rest held QueuedCommands x 64 MiB.  Now a
 * command gets at arrival only what the initiator may send unasked
 * (immediate data and the unsolicited burst), and the rest when it is
 * about to be solicited with its first R2T.  That step is gated: while
 * tasks that have not reached the core already hold buffers, a task whose
 * buffer would take them above the connection's cap waits ("parked"), and
 * is solicited when buffers are released.  It waits too while the daemon's
 * total (MaxBufferMemory) has no room for the rest of its buffer: else
 * many connections, each under its own cap, would together hold any
 * amount.  Memory other connections give back is seen at the
 * connection's next tick, which kicks the parked tasks.
 *
 * No cycle can form: the oldest task not yet handed to the core (the
 * first of exec_queue, or the one whose CmdSN is ExpCmdSN) is never
 * parked, and everything newer waits only for older tasks or for memory
 * that older tasks give back once they reach the core.
 * The oldest's buffer is counted in the daemon's total like any other
 * (published as soon as it is taken), so the others wait for it: the
 * total passes MaxBufferMemory by at most one WRITE per session this way.
 * What the initiator may send unasked is reserved before the CmdSN window
 * lets it come (cmd_window.c).
 */
#include <string.h>

#include "iscsi/conn_limits.h"
#include "iscsi/iscsi.h"

static void write_gate_kicked(struct reactor_deferred *d);

/* Buffers are not zeroed: data_out.c makes sure the Data-Out covers every
 * byte, which it can only when PDUs come in order.  Otherwise (never
 * negotiated today, DataPDUInOrder is Yes) a hole must read as zeros. */
static void zero_unless_in_order(const struct iscsi_task *task, uint32_t from)
{
	const struct uscst_cmd *cmd = &task->cmd;
	if (!task->conn->sess->params.data_pdu_in_order && cmd->out_buf && from < cmd->out_buf_len)
		memset(cmd->out_buf + from, 0, cmd->out_buf_len - from);
}

/* Data-Out bytes the command will keep: the CDB's, clipped to EDTL. */
static uint32_t out_want(const struct iscsi_task *task)
{
	const struct uscst_cmd *cmd = &task->cmd;
	return cmd->exp_len < cmd->out_len ? cmd->exp_len : cmd->out_len;
}

bool iscsi_write_buf_start(struct iscsi_task *task, uint32_t immediate_len)
{
	struct uscst_cmd *cmd = &task->cmd;
	uint32_t want = out_want(task);
	if (want > ISCSI_MAX_OUT_BUFFER) {
		task->out_too_big = true; /* its data is drained and dropped */
		return true;
	}
	/* What may come without an R2T: immediate data, and with F=0 the
	 * unsolicited burst. */
	uint32_t head = task->unsol_open ? task->unsol_limit : immediate_len;
	if (head > want || task->edtl_out == 0)
		head = want;
	/* Immediate data read straight into the connection's hold buffer
	 * (conn.c) becomes the start of this buffer: no copy.  The hold is
	 * the whole buffer when conn.c could size it for the WRITE (it then
	 * holds now what the first R2T would take), else just the data. */
	struct uscst_cmd *hold = &task->conn->rx_direct.hold;
	bool whole = hold->out_buf_len == want && want >= immediate_len;
	if (immediate_len && hold->out_buf &&
	    (whole || (hold->out_buf_len == immediate_len && immediate_len <= head))) {
		cmd->out_buf = hold->out_buf;
		cmd->out_buf_len = hold->out_buf_len;
		hold->out_buf = NULL;
		hold->out_buf_len = 0;
		task->imm_placed = true;
		if (!whole && !uscst_cmd_grow_out(cmd, head))
			return false;
	} else if (!uscst_cmd_alloc_out(cmd, head)) {
		return false;
	}
	zero_unless_in_order(task, immediate_len);
	iscsi_conn_publish_mem(task->conn); /* the daemon's total sees it now */
	return true;
}

/* Buffers held by tasks the core does not own yet, other than task. */
static uint64_t undelivered_buffers(const struct iscsi_conn *conn, const struct iscsi_task *task)
{
	uint64_t sum = 0;
	const struct iscsi_task *t;
	list_for_each_entry(t, &conn->tasks, node)
	{
		if (t != task && t->state == TASK_RECV_DATA)
			sum += t->cmd.out_buf_len;
	}
	return sum;
}

/* The oldest non-immediate task not yet handed to the core. */
static bool is_oldest_undelivered(const struct iscsi_task *task)
{
	const struct iscsi_conn *conn = task->conn;
	if (task->immediate)
		return false;
	if (!list_empty(&conn->sess->exec_queue))
		return conn->sess->exec_queue.next == &task->wait_node;
	return task->cmdsn == conn->sess->exp_cmdsn;
}

bool iscsi_write_buf_ready(struct iscsi_task *task)
{
	struct uscst_cmd *cmd = &task->cmd;
	uint32_t want = out_want(task);
	if (task->out_too_big || cmd->out_buf_len >= want)
		return true;
	struct iscsi_conn *conn = task->conn;
	uint64_t held = undelivered_buffers(conn, task);
	/* The oldest undelivered task never waits: it is what lets the others
	 * move (see the top of the file). */
	if (!is_oldest_undelivered(task) &&
	    ((held && held + want > conn->mem_cap) ||
	     !iscsi_buf_mem_may_take(iscsi_conn_publish_mem(conn), want - cmd->out_buf_len))) {
		task->r2t_parked = true;
		conn->write_parked = true;
		return false;
	}
	task->r2t_parked = false;
	uint32_t had = cmd->out_buf_len;
	if (!uscst_cmd_grow_out(cmd, want))
		task->out_too_big = true; /* fails with INVALID FIELD once drained */
	else
		zero_unless_in_order(task, had);
	iscsi_conn_publish_mem(conn);
	return true;
}

/* The rest beyond the immediate data is not reserved by the CmdSN window
 * (cmd_window.c): it must pass the same gate as a first R2T, else every
 * WRITE up to BUF_POOL_MAX with immediate data would take its whole buffer
 * at arrival, past MaxBufferMemory. */
bool iscsi_write_buf_may_hold(struct iscsi_conn *conn, uint32_t edtl, uint32_t imm)
{
	uint64_t held = undelivered_buffers(conn, NULL);
	if (held && held + edtl > conn->mem_cap)
		return false;
	return iscsi_buf_mem_may_take(iscsi_conn_publish_mem(conn), edtl - imm);
}

void iscsi_write_gate_kick(struct iscsi_conn *conn)
{
	if (conn->write_parked)
		iscsi_conn_defer(conn, &conn->write_kick, write_gate_kicked);
}

/* Parked tasks are solicited in arrival order; a list walk restarts after
 * each one, since soliciting queues PDUs and may flush. */
static void write_gate_kicked(struct reactor_deferred *d)
{
	struct iscsi_conn *conn =
	    (struct iscsi_conn *)((char *)d - offsetof(struct iscsi_conn, write_kick));
	bool again = true;
	while (again && conn->state != CONN_CLOSED) {
		again = false;
		conn->write_parked = false;
		struct iscsi_task *t;
		list_for_each_entry(t, &conn->tasks, node)
		{
			if (!t->r2t_parked || t->state != TASK_RECV_DATA)
				continue;
			t->r2t_parked = false;
			iscsi_task_check_data_done(t); /* parks it again if it must wait */
			again = !t->r2t_parked;
			break;
		}
		/* Tasks after a still-parked one keep waiting their turn. */
		if (!again) {
			list_for_each_entry(t, &conn->tasks, node) if (t->r2t_parked)
			    conn->write_parked = true;
		}
	}
	iscsi_conn_flush(conn);
	iscsi_conn_put(conn);
}
