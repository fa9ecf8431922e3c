/*
 * SCSI Command PDUs (RFC 7143 11.3): validation, CmdSN ordering, and the
 * hand-off to the core.  A task executes once it is in CmdSN order and all
 * its Data-Out has arrived.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/cmd_ahs.h"
#include "iscsi/cmd_window.h"
#include "iscsi/iscsi.h"
#include "lib/freelist.h"
#include "lib/log.h"
#include "lib/thread_exit.h"

static void task_done(struct uscst_cmd *cmd);
static void deliver_kicked(struct reactor_deferred *d);

/* Tasks come from a per-thread cache, not calloc (one per command). */
static __thread struct freelist task_cache = FREELIST_INIT(sizeof(struct iscsi_task), 256);
static void task_cache_drain(void) { freelist_drain(&task_cache); }
static __thread struct thread_exit_hook task_cache_hook = {.fn = task_cache_drain};

/* A task is in conn->itt_table from its arrival until it is answered
 * (TASK_DONE): then its ITT may be used again. */
struct iscsi_task *iscsi_task_find(struct iscsi_conn *conn, uint32_t itt)
{
	return task_table_get(&conn->itt_table, itt);
}

static bool cmdsn_taken(const struct iscsi_session *sess, uint32_t sn);
static void cmdsn_set_taken(struct iscsi_session *sess, uint32_t sn, bool taken);

/* Newer tasks of the session may proceed: after the current batch (the
 * caller may be walking a task list), on a connection still open. */
static void session_kick(struct iscsi_session *sess)
{
	struct iscsi_conn *c;
	list_for_each_entry(c, &sess->conns, sess_node)
	{
		if (c->state != CONN_CLOSED) {
			iscsi_conn_defer(c, &c->deliver_kick, deliver_kicked);
			return;
		}
	}
}

void iscsi_task_free(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	if (task->erl.retained) {
		iscsi_erl1_unretain(task); /* acknowledged, or over the bound (erl1.c) */
		goto release;
	}
	struct iscsi_session *sess = conn->sess;
	bool queued = task->wait_node.next != &task->wait_node;
	list_del(&task->node);
	list_del(&task->wait_node); /* a no-op when not queued (self-linked) */
	/* A command of a connection that went away before its CmdSN came up
	 * still takes its CmdSN: commands of the other connections must not
	 * wait for it for ever. */
	if (queued && !task->ordered)
		cmdsn_set_taken(sess, task->cmdsn, true);
	/* Leaving a queue may unblock newer tasks. */
	if (queued)
		session_kick(sess);
	if (task->state == TASK_RECV_DATA)
		iscsi_write_gate_kick(conn);
	conn->ntasks--;
	conn->nactive--; /* the window counts a task until its last PDU is written */
	sess->nactive--;
	if (task->immediate)
		conn->nimmediate--;
	task_table_del(&conn->itt_table, task->itt, task);
	if (conn->rx_direct.task == task)
		conn->rx_direct.task = NULL; /* its Data-Out still arriving is dropped */
	while (task->r2ts) {
		struct iscsi_r2t *r = task->r2ts;
		task->r2ts = r->next;
		iscsi_r2t_free(r);
	}
	/* ERL 1: kept, answered, until the initiator acknowledges it. */
	if (iscsi_erl1_retain(task))
		return;
release:
	uscst_cmd_release(&task->cmd);
	thread_exit_arm(&task_cache_hook);
	freelist_put(&task_cache, task);
	iscsi_conn_put(conn);
}

static bool ready_to_execute(const struct iscsi_task *task)
{
	/* After a close the teardown frees what has not started. */
	return task->state == TASK_RECV_DATA && task->received_all && task->ordered &&
	       (task->conn->state != CONN_CLOSED || task->awaiting_reassign) && !task->aborted;
}

static void start_task(struct iscsi_task *task)
{
	task->state = TASK_EXECUTING;
	/* Its buffer no longer counts against parked WRITEs, and the oldest
	 * undelivered task changed. */
	iscsi_write_gate_kick(task->conn);
	struct uscst_cmd *cmd = &task->cmd;
	if (task->data_digest_errors) {
		/* RFC 7143 7.8: at ERL 0 the task ends with a CRC error sense. */
		uscst_cmd_check_condition(cmd, SK_ABORTED_COMMAND, ASC_IU_CRC_ERROR);
		task_done(cmd);
		return;
	}
	if (task->protocol_error) {
		uscst_cmd_check_condition(cmd, SK_ABORTED_COMMAND, ASC_DATA_PHASE_ERROR);
		task_done(cmd);
		return;
	}
	if (task->out_too_big) {
		uscst_cmd_invalid_field_cdb(cmd, 0, -1);
		task_done(cmd);
		return;
	}
	if (task->cdb_too_long) {
		/* No command of ours has a CDB longer than USCST_MAX_CDB. */
		uscst_cmd_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		task_done(cmd);
		return;
	}
	uscst_cmd_execute(cmd);
}

/*
 * Commands reach the core's task set in CmdSN order, and one still
 * receiving its Data-Out counts as an older task that has not completed
 * (SAM-5 8.6): an ORDERED task starts only when every older one has been
 * handed over, and nothing but HEAD OF QUEUE passes an ORDERED task that
 * waits for its data.  SIMPLE tasks pass SIMPLE tasks still receiving data.
 */
void iscsi_deliver_in_order(struct iscsi_conn *conn)
{
	bool older_waiting = false, ordered_waiting = false;
	struct iscsi_task *t, *n;
	/* The tasks of every connection of the session: one CmdSN order. */
	list_for_each_entry_safe(t, n, &conn->sess->exec_queue, wait_node)
	{
		uint8_t attr = t->cmd.task_attr;
		bool may_start = attr == USCST_TASK_HEAD_OF_QUEUE ||
				 (attr == USCST_TASK_ORDERED ? !older_waiting : !ordered_waiting);
		if (may_start && ready_to_execute(t)) {
			/* Only t can be freed while it runs (its response may
			 * go out at once); n has not started. */
			list_del(&t->wait_node);
			start_task(t);
			continue;
		}
		older_waiting = true;
		if (attr == USCST_TASK_ORDERED)
			ordered_waiting = true;
	}
}

static void deliver_kicked(struct reactor_deferred *d)
{
	struct iscsi_conn *conn =
	    (struct iscsi_conn *)((char *)d - offsetof(struct iscsi_conn, deliver_kick));
	iscsi_cmdsn_advance(conn);
	iscsi_conn_flush(conn);
	iscsi_conn_put(conn);
}

void iscsi_task_execute(struct iscsi_task *task)
{
	if (!task->immediate) {
		iscsi_deliver_in_order(task->conn);
		return;
	}
	if (ready_to_execute(task))
		start_task(task);
}

static void task_done(struct uscst_cmd *cmd)
{
	struct iscsi_task *task = (struct iscsi_task *)cmd;
	struct iscsi_conn *conn = task->conn;
	task_table_del(&conn->itt_table, task->itt, task);
	task->state = TASK_DONE;
	if (task->awaiting_reassign && !task->aborted && !cmd->aborted)
		return; /* answered on the connection it is reassigned to (reassign.c) */
	if (task->aborted || cmd->aborted || conn->state == CONN_CLOSED) {
		iscsi_task_free(task);
		return;
	}
	iscsi_task_send_response(task);
	/* Completions outside an rx pass (io_uring) must push the response
	 * out: once for all of the reactor's completion batch. */
	if (!conn->in_rx)
		iscsi_conn_flush_soon(conn);
}

static bool cmdsn_taken(const struct iscsi_session *sess, uint32_t sn)
{
	uint32_t bit = sn % ISCSI_CMDSN_RING;
	return sess->cmdsn_taken[bit / 64] >> (bit % 64) & 1;
}

static void cmdsn_set_taken(struct iscsi_session *sess, uint32_t sn, bool taken)
{
	uint32_t bit = sn % ISCSI_CMDSN_RING;
	uint64_t mask = (uint64_t)1 << (bit % 64);
	if (taken)
		sess->cmdsn_taken[bit / 64] |= mask;
	else
		sess->cmdsn_taken[bit / 64] &= ~mask;
}

/* ExpCmdSN passes one CmdSN; its ring bit is free for sn + RING. */
static void exp_cmdsn_step(struct iscsi_session *sess)
{
	cmdsn_set_taken(sess, sess->exp_cmdsn, false);
	sess->exp_cmdsn++;
}

/* Moves ExpCmdSN over every queued task (and taken CmdSN) that is now in
 * order; the tasks go to exec_queue and from there to the core. */
void iscsi_cmdsn_advance(struct iscsi_conn *conn)
{
	struct iscsi_session *sess = conn->sess;
	for (;;) {
		struct iscsi_task *t, *next = NULL;
		list_for_each_entry(t, &sess->cmdsn_queue, wait_node)
		{
			if (t->cmdsn == sess->exp_cmdsn) {
				next = t;
				break;
			}
		}
		if (!next) {
			if (!cmdsn_taken(sess, sess->exp_cmdsn))
				break;
			exp_cmdsn_step(sess);
			continue;
		}
		list_del(&next->wait_node);
		exp_cmdsn_step(sess);
		iscsi_write_gate_kick(next->conn); /* the oldest undelivered task may change */
		next->ordered = true;
		if (next->abort_owes_data)
			continue; /* freed when its open R2Ts have been answered */
		if (next->aborted)
			iscsi_task_free(next);
		else
			list_add_tail(&next->wait_node, &sess->exec_queue);
	}
	iscsi_cmd_window_sync(sess); /* passed slots give their room back */
	iscsi_deliver_in_order(conn);
}

void iscsi_cmdsn_mark_received(struct iscsi_conn *conn, uint32_t cmdsn)
{
	struct iscsi_session *sess = conn->sess;
	if (cmdsn == sess->exp_cmdsn) {
		exp_cmdsn_step(sess);
		iscsi_cmdsn_advance(conn);
	} else if (sn_lt(sess->exp_cmdsn, cmdsn) && sn_le(cmdsn, iscsi_conn_max_cmdsn(conn))) {
		cmdsn_set_taken(sess, cmdsn, true);
	}
}

void iscsi_cmdsn_consume(struct iscsi_conn *conn, const uint8_t *bhs)
{
	if (!(bhs[0] & ISCSI_OP_IMMEDIATE))
		iscsi_cmdsn_mark_received(conn, get_be32(bhs + 24));
}

/* Checks the PDU's fields that do not depend on the command, and reads its
 * AHS (which follows bhs); returns a Reject reason or 0. */
static uint8_t validate(struct iscsi_conn *conn, const uint8_t *bhs, uint32_t dlen,
			struct iscsi_cmd_ahs *ahs)
{
	const struct iscsi_params *p = &conn->sess->params;
	uint8_t flags = bhs[1];
	uint32_t edtl = get_be32(bhs + 20);
	if (bhs_itt(bhs) == ISCSI_RESERVED_TAG)
		return ISCSI_REJECT_INVALID_PDU_FIELD;
	if (!conn->sess->core)
		return ISCSI_REJECT_PROTOCOL_ERROR; /* discovery sessions carry no commands
						     */
	if (dlen && (!(flags & ISCSI_CMD_WRITE) || !p->immediate_data || dlen > edtl ||
		     dlen > p->first_burst_length))
		return ISCSI_REJECT_PROTOCOL_ERROR;
	if ((flags & ISCSI_CMD_WRITE) && !(flags & ISCSI_FLAG_FINAL) && p->initial_r2t)
		return ISCSI_REJECT_PROTOCOL_ERROR;
	if (!(flags & ISCSI_FLAG_FINAL) && !(flags & ISCSI_CMD_WRITE))
		return ISCSI_REJECT_PROTOCOL_ERROR;
	if (!(flags & (ISCSI_CMD_READ | ISCSI_CMD_WRITE)) && edtl)
		return ISCSI_REJECT_PROTOCOL_ERROR;
	uint8_t reason = iscsi_cmd_ahs_parse(bhs + ISCSI_BHS_LEN, bhs_ahs_len(bhs), ahs);
	if (reason)
		return reason;
	/* RFC 7143 11.3.5: the read length of a command with R and W is in
	 * its AHS, and only such a command has one. */
	bool bidi = (flags & ISCSI_CMD_READ) && (flags & ISCSI_CMD_WRITE);
	if (ahs->bidi != bidi)
		return ISCSI_REJECT_INVALID_PDU_FIELD;
	return 0;
}

/* The CDB bytes beyond 16 and the bidirectional read length. */
static void apply_ahs(struct iscsi_task *task, const struct iscsi_cmd_ahs *ahs)
{
	struct uscst_cmd *cmd = &task->cmd;
	if (ahs->ext_cdb_len > sizeof(ahs->ext_cdb)) {
		task->cdb_too_long = true;
	} else if (ahs->ext_cdb_len) {
		memcpy(cmd->cdb + 16, ahs->ext_cdb, ahs->ext_cdb_len);
		cmd->cdb_len = (uint16_t)(16 + ahs->ext_cdb_len);
	}
	task->bidi = ahs->bidi;
	task->bidi_read_len = ahs->bidi_read_len;
}

/* RFC 7143 11.3.1 ATTR: 0 untagged and 1 simple are both SIMPLE to the
 * core; the numbers differ from SAM's (enum uscst_task_attr). */
static uint8_t task_attr_from_pdu(uint8_t flags)
{
	switch (flags & ISCSI_CMD_ATTR_MASK) {
	case 2:
		return USCST_TASK_ORDERED;
	case 3:
		return USCST_TASK_HEAD_OF_QUEUE;
	case 4:
		return USCST_TASK_ACA;
	default:
		return USCST_TASK_SIMPLE;
	}
}

static struct iscsi_task *task_new(struct iscsi_conn *conn, const uint8_t *bhs)
{
	thread_exit_arm(&task_cache_hook);
	struct iscsi_task *task = freelist_get(&task_cache);
	if (!task)
		return NULL;
	memset(task, 0, sizeof(*task));
	task->itt = bhs_itt(bhs);
	if (!task_table_put(&conn->itt_table, task->itt, task)) {
		freelist_put(&task_cache, task);
		return NULL;
	}
	uscst_cmd_init(&task->cmd, conn->sess->core);
	task->conn = conn;
	iscsi_conn_get(conn);
	list_add_tail(&task->node, &conn->tasks);
	list_init(&task->wait_node);
	conn->ntasks++;
	conn->nactive++;
	conn->sess->nactive++;
	memcpy(task->bhs, bhs, ISCSI_BHS_LEN);
	task->cmdsn = get_be32(bhs + 24);
	task->immediate = bhs[0] & ISCSI_OP_IMMEDIATE;
	if (task->immediate)
		conn->nimmediate++;
	task->state = TASK_RECV_DATA;

	struct uscst_cmd *cmd = &task->cmd;
	cmd->lun = iscsi_decode_lun(bhs + 8);
	memcpy(cmd->cdb, bhs + 32, 16);
	cmd->cdb_len = 16;
	cmd->tag = task->itt;
	cmd->task_attr = task_attr_from_pdu(bhs[1]);
	cmd->exp_len = get_be32(bhs + 20);
	cmd->exp_read = bhs[1] & ISCSI_CMD_READ;
	cmd->exp_write = bhs[1] & ISCSI_CMD_WRITE;
	cmd->done = task_done;
	cmd->transport_priv = task;
	return task;
}

/* Places the command in CmdSN order; false if it must be dropped. */
static bool order_task(struct iscsi_conn *conn, struct iscsi_task *task)
{
	struct iscsi_session *sess = conn->sess;
	if (task->immediate) {
		task->ordered = true;
		return true;
	}
	uint32_t max = iscsi_conn_max_cmdsn(conn);
	if (sn_lt(task->cmdsn, sess->exp_cmdsn) || sn_lt(max, task->cmdsn))
		return false; /* RFC 7143 4.2.2.1: outside the window, silently ignored */
	if (cmdsn_taken(sess, task->cmdsn))
		return false; /* aborted before it arrived, or a duplicate */
	struct iscsi_task *t;
	list_for_each_entry(t, &sess->cmdsn_queue, wait_node)
	{
		if (t->cmdsn == task->cmdsn)
			return false; /* a duplicate CmdSN (on any connection) */
	}
	list_add_tail(&task->wait_node, &sess->cmdsn_queue);
	return true;
}

/* A non-immediate command that gets no task still takes its CmdSN, or
 * every later command would wait for it for ever. */
static void reject_cmd(struct iscsi_conn *conn, const uint8_t *bhs, uint8_t reason)
{
	iscsi_send_reject(conn, bhs, reason);
	if (conn->sess->core && !(bhs[0] & ISCSI_OP_IMMEDIATE))
		iscsi_cmdsn_mark_received(conn, get_be32(bhs + 24));
}

void iscsi_scsi_cmd_rx(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data,
		       uint32_t dlen, bool digest_error)
{
	if ((bhs[0] & ISCSI_OP_IMMEDIATE) && conn->nimmediate >= ISCSI_MAX_IMMEDIATE_CMDS) {
		reject_cmd(conn, bhs, ISCSI_REJECT_IMMEDIATE_CMD);
		return;
	}
	struct iscsi_cmd_ahs ahs;
	uint8_t reason = validate(conn, bhs, dlen, &ahs);
	if (reason) {
		reject_cmd(conn, bhs, reason);
		return;
	}
	if (digest_error && dlen && iscsi_erl1(conn)) {
		/* RFC 7143 7.8: at ERL 1 the command is discarded as if never
		 * received (its CmdSN stays free): the initiator sends it again. */
		iscsi_send_reject(conn, bhs, ISCSI_REJECT_DATA_DIGEST);
		return;
	}
	if (iscsi_task_find(conn, bhs_itt(bhs))) {
		reject_cmd(conn, bhs, ISCSI_REJECT_TASK_IN_PROGRESS);
		return;
	}
	struct iscsi_task *task = task_new(conn, bhs);
	if (!task) {
		reject_cmd(conn, bhs, ISCSI_REJECT_OUT_OF_RESOURCES);
		return;
	}
	if (!order_task(conn, task)) {
		log_debug("%s: CmdSN %u outside window, dropped", conn->peer, task->cmdsn);
		iscsi_task_free(task);
		return;
	}
	struct uscst_cmd *cmd = &task->cmd;
	apply_ahs(task, &ahs);
	uscst_cmd_decode(cmd);
	iscsi_task_start_data(task);
	if (cmd->exp_write && !iscsi_write_buf_start(task, dlen))
		task->out_too_big = true;
	if (dlen)
		iscsi_task_immediate_data(task, data, dlen, digest_error);
	iscsi_task_check_data_done(task);
	if (!task->immediate)
		iscsi_cmdsn_advance(conn);
	else
		iscsi_task_execute(task);
}
