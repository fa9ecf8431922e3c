/*
 * Connection recovery (ErrorRecoveryLevel 2, RFC 7143 6.2, 7.1.4, 11.5.1).
 *
 * When a connection of a session at ERL 2 fails, or is logged out with
 * "remove the connection for recovery", or is replaced by a login with its
 * CID, its tasks are not ended: they stay on the closed connection
 * (retained), which keeps a reference to itself and its ticker.  A task in
 * the backend finishes and keeps its answer.  The initiator logs in a
 * connection (a new one, or the same CID again) and sends TASK REASSIGN
 * for each task; the task then moves to that connection (allegiance) and
 * goes on: the R2Ts still open are sent again, the answer goes out
 * (Data-In from the ExpDataSN the request gives), or it just finishes
 * there.  Answered tasks whose status the initiator had not acknowledged
 * (kept by ERL 1, erl1.c) are kept too, and answered again when
 * reassigned.  After DefaultTime2Wait + DefaultTime2Retain seconds the tasks
 * left are dropped; if no other connection of the session is left, the
 * session ends with them.
 *
 * Everything runs on the session's reactor (iscsi.h), the closed
 * connection's ticker included.
 */
#include "iscsi/iscsi.h"
#include "lib/log.h"

bool iscsi_retain_tasks(struct iscsi_conn *conn)
{
	struct iscsi_session *sess = conn->sess;
	if (!sess || !sess->core || conn->no_recovery || sess->params.error_recovery_level < 2 ||
	    sess->params.default_time2retain == 0)
		return false;
	/* Nothing to keep, and the session goes on without it. */
	if (list_empty(&conn->tasks) && list_empty(&conn->erl_retained) &&
	    iscsi_session_still_used(conn))
		return false;
	uint32_t secs = sess->params.default_time2wait + sess->params.default_time2retain;
	unsigned n = 0;
	struct iscsi_task *t;
	list_for_each_entry(t, &conn->tasks, node)
	{
		if (!t->aborted && !t->cmd.aborted) {
			t->awaiting_reassign = true;
			n++;
		}
	}
	n += conn->erl_nretained; /* answered, not acknowledged (erl1.c) */
	conn->retaining = true;
	conn->retain_until_ms = reactor_now_ms() + (uint64_t)secs * 1000;
	iscsi_conn_get(conn); /* dropped by iscsi_retain_drop */
	log_info("connection %s (cid %u, session tsih %u): %u task(s) kept %u s for reassignment",
		 conn->peer, conn->cid, sess->tsih, n, secs);
	return true;
}

void iscsi_retain_drop(struct iscsi_conn *conn, const char *why)
{
	if (!conn->retaining)
		return;
	conn->retaining = false;
	reactor_del_ticker(conn->reactor, &conn->ticker);
	struct iscsi_session *sess = conn->sess;
	/* No connection left to go on with: the session ends (the nexus is
	 * lost once the tasks are released and the last connection freed). */
	bool session_ends = !iscsi_session_still_used(conn);
	if (session_ends)
		uscst_session_nexus_loss(sess->core);
	unsigned n = 0;
	struct iscsi_task *t, *next;
	list_for_each_entry_safe(t, next, &conn->tasks, node)
	{
		t->awaiting_reassign = false;
		t->aborted = true;
		n++;
		if (t->state != TASK_EXECUTING)
			iscsi_task_free(t); /* one still executing frees itself */
	}
	n += conn->erl_nretained;
	iscsi_erl1_drop_all(conn);
	log_info("connection %s (cid %u, session tsih %u): %s: %u task(s) dropped%s", conn->peer,
		 conn->cid, sess->tsih, why, n, session_ends ? ", session ended" : "");
	iscsi_conn_put(conn); /* iscsi_retain_tasks's */
}

void iscsi_retain_tick(struct iscsi_conn *conn, uint64_t now_ms)
{
	if (conn->retaining && now_ms >= conn->retain_until_ms)
		iscsi_retain_drop(conn, "Time2Retain expired");
}

/* The retained task with this ITT, or NULL; *allegiant when a live
 * connection of the session has a task with it.  A failed connection
 * keeps its unanswered tasks on its task list, and the answered ones that
 * were not acknowledged yet on its ERL 1 list (erl1.c): their answer may
 * not have arrived. */
static struct iscsi_task *find_retained(struct iscsi_session *sess, uint32_t itt, bool *allegiant)
{
	struct iscsi_conn *c;
	struct iscsi_task *t;
	*allegiant = false;
	list_for_each_entry(c, &sess->conns, sess_node)
	{
		list_for_each_entry(t, &c->tasks, node)
		{
			if (t->itt != itt || t->aborted || t->cmd.aborted)
				continue;
			if (t->awaiting_reassign)
				return t;
			*allegiant = true;
		}
		if (!c->retaining)
			continue;
		list_for_each_entry(t, &c->erl_retained, node)
		{
			if (t->itt == itt)
				return t;
		}
	}
	return NULL;
}

/* Its last task gone, a closed connection has nothing to keep. */
static void drop_if_empty(struct iscsi_conn *from)
{
	if (list_empty(&from->tasks) && list_empty(&from->erl_retained) &&
	    iscsi_session_still_used(from))
		iscsi_retain_drop(from, "every task reassigned");
}

/* An answered task ERL 1 kept on the failed connection becomes a task of
 * conn again, whose answer is still to be sent (and then kept again until
 * acknowledged). */
static void adopt_answered(struct iscsi_task *task, struct iscsi_conn *conn)
{
	struct iscsi_conn *from = task->conn;
	iscsi_erl1_unretain(task);
	task->erl.snack_tag = 0; /* an R-Data SNACK of the old connection is over */
	task->conn = conn;
	iscsi_conn_get(conn);
	list_add_tail(&task->node, &conn->tasks);
	/* Counted again, as iscsi_task_free() counts it out again. */
	conn->ntasks++;
	conn->nactive++;
	conn->sess->nactive++;
	if (task->immediate)
		conn->nimmediate++;
	drop_if_empty(from);
	iscsi_conn_put(from); /* the task's reference */
}

/* The task's allegiance moves from its closed connection to conn. */
static void move_task(struct iscsi_task *task, struct iscsi_conn *conn)
{
	struct iscsi_conn *from = task->conn;
	list_del(&task->node);
	from->ntasks--;
	from->nactive--;
	if (task->immediate)
		from->nimmediate--;
	if (task->state != TASK_DONE)
		task_table_del(&from->itt_table, task->itt, task);
	task->conn = conn;
	iscsi_conn_get(conn);
	list_add_tail(&task->node, &conn->tasks);
	conn->ntasks++;
	conn->nactive++;
	if (task->immediate)
		conn->nimmediate++;
	task->awaiting_reassign = false;
	drop_if_empty(from);
	iscsi_conn_put(from); /* the task's reference */
}

void iscsi_task_reassign_rx(struct iscsi_conn *conn, const uint8_t *bhs)
{
	struct iscsi_session *sess = conn->sess;
	uint32_t rtt = get_be32(bhs + 20), exp_datasn = get_be32(bhs + 36);
	if (sess->params.error_recovery_level < 2) {
		iscsi_send_tmf_response(conn, bhs, ISCSI_TMF_RSP_NO_REASSIGN, false);
		return;
	}
	bool allegiant;
	struct iscsi_task *task = find_retained(sess, rtt, &allegiant);
	if (!task) {
		/* 11.6.1: a task of a connection still in use stays where it is. */
		iscsi_send_tmf_response(
		    conn, bhs, allegiant ? ISCSI_TMF_RSP_TASK_ALLEGIANT : ISCSI_TMF_RSP_NO_TASK,
		    false);
		return;
	}
	bool answered = task->erl.retained;
	if (!answered && task->state != TASK_DONE && !task_table_put(&conn->itt_table, rtt, task)) {
		/* Its ITT is in use on this connection (or no memory). */
		iscsi_send_tmf_response(conn, bhs, ISCSI_TMF_RSP_REJECTED, false);
		return;
	}
	/* Data-In resent from ExpDataSN only if the PDUs are cut as they
	 * were (data_in.c's layout: same segment size, not re-cut by an
	 * R-Data SNACK). */
	const struct iscsi_task_erl *e = &task->erl;
	bool same_cut = e->din_seg == conn->max_xmit_dsl && e->din_base_sn == 0;
	uint32_t before = e->din_count;
	if (answered)
		adopt_answered(task, conn);
	else
		move_task(task, conn);
	log_info("%s: task ITT 0x%x reassigned to cid %u (ExpDataSN %u)", conn->peer, rtt,
		 conn->cid, exp_datasn);
	iscsi_send_tmf_response(conn, bhs, ISCSI_TMF_RSP_COMPLETE, false);
	switch (task->state) {
	case TASK_RECV_DATA:
		iscsi_task_resolicit(task);
		break;
	case TASK_DONE:
		task->datasn_skip = same_cut && exp_datasn <= before ? exp_datasn : 0;
		iscsi_task_send_response(task);
		break;
	case TASK_EXECUTING:
	default:
		break; /* answered here when it ends */
	}
}
