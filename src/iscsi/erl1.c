/*
 * ErrorRecoveryLevel 1 (RFC 7143 6.x and 7.x, SNACK 11.16): recovery within
 * a connection.
 *
 * Retention.  At ERL >= 1 an answered task is not freed once its last PDU
 * is written: it waits on conn->erl_retained, in StatSN order, until the
 * initiator's ExpStatSN passes its StatSN (any PDU it sends carries one).
 * It keeps its status, sense and residuals, and for a READ its Data-In
 * buffer, which a DataACK (a SNACK answering a Data-In with the A bit,
 * data_in.c sets it at the end of each sequence) releases earlier.  The
 * core is done with the command (uscst_cmd_release), only the buffer
 * stays.
 *
 * The bound.  An initiator that never acknowledges must not make us hold
 * everything it ever read.  A connection retains at most
 * RETAIN_TASKS_PER_SLOT x QueuedCommands answered tasks (at least
 * RETAIN_MIN_TASKS), and at most half its memory cap (MaxSessionMemory, or
 * QueuedCommands x MaxBurstLength, conn.c) of Data-In buffers; retained
 * memory counts in the daemon's MaxBufferMemory total too.  Past the bytes
 * bound the oldest retained Data-In buffers are released first (their
 * status stays); past the count bound the oldest tasks go altogether.  A
 * SNACK for what was released that way gets a Reject with reason 0x03
 * (SNACK Reject): the initiator then ends the task as RFC 7143 7.x says.
 *
 * SNACKs (11.16.1 types) and their answers when something is wrong:
 *   Data/R2T (0)  the task by ITT: Data-In of a READ by DataSN, or the
 *                 open R2Ts of a WRITE by R2TSN;
 *   Status (1)    responses by StatSN;
 *   DataACK (2)   by the TTT of the A-bit Data-In; BegRun = next DataSN;
 *   R-Data (3)    the task by ITT: every unacknowledged Data-In again, cut
 *                 for today's MaxRecvDataSegmentLength, then a SCSI
 *                 Response carrying the SNACK Tag.
 * A field the type forbids (ITT, TTT, a run for DataACK or R-Data), an
 * unknown ITT or an unknown type: 0x09 invalid PDU field.  A run that asks
 * for what was never sent or was already acknowledged: 0x04 protocol error
 * (RFC 7143 11.16).  A DataACK naming no task or a DataSN that is not the
 * end of a sequence: 0x08 invalid DataACK.  Released by the bound, or a
 * StatSN we do not keep (only SCSI Responses are kept: NOP-In, Reject, TMF,
 * Text and Logout answers are recovered by the initiator asking again):
 * 0x03.  At ERL 0 every SNACK gets 0x04, as before.
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "lib/buf_pool.h"
#include "lib/log.h"

#define SNACK_DATA_R2T 0
#define SNACK_STATUS 1
#define SNACK_DATA_ACK 2
#define SNACK_R_DATA 3

#define RETAIN_TASKS_PER_SLOT 2u
#define RETAIN_MIN_TASKS 64u
/* Recovery R2Ts one task may have open on top of MaxOutstandingR2T. */
#define MAX_RECOVERY_R2TS 64u

static unsigned retain_max_tasks(const struct iscsi_conn *conn)
{
	unsigned n = conn->sess->cmd_window * RETAIN_TASKS_PER_SLOT;
	return n < RETAIN_MIN_TASKS ? RETAIN_MIN_TASKS : n;
}

static uint64_t retain_max_mem(const struct iscsi_conn *conn) { return conn->mem_cap / 2; }

static uint64_t retained_mem_of(const struct iscsi_task *t)
{
	return sizeof(*t) + (t->cmd.in_buf ? t->cmd.in_cap : 0);
}

/* Gives the Data-In buffer back; the status stays. */
static void free_data(struct iscsi_task *t)
{
	struct uscst_cmd *cmd = &t->cmd;
	t->erl.data_freed = true;
	if (!cmd->in_buf)
		return;
	if (t->erl.retained)
		t->conn->erl_retained_mem -= cmd->in_cap;
	buf_pool_put(cmd->in_buf, cmd->in_cap);
	cmd->in_buf = NULL;
	cmd->in_cap = 0;
}

static void enforce_bound(struct iscsi_conn *conn)
{
	struct iscsi_task *t, *n;
	uint64_t max_mem = retain_max_mem(conn);
	list_for_each_entry(t, &conn->erl_retained, node)
	{
		if (conn->erl_retained_mem <= max_mem)
			break;
		if (t->cmd.in_buf) {
			log_debug(
			    "%s: ERL 1 retention over %llu bytes: Data-In of ITT 0x%x released",
			    conn->peer, (unsigned long long)max_mem, t->itt);
			free_data(t);
		}
	}
	unsigned max_tasks = retain_max_tasks(conn);
	list_for_each_entry_safe(t, n, &conn->erl_retained, node)
	{
		if (conn->erl_nretained <= max_tasks)
			break;
		log_debug("%s: ERL 1 retention over %u tasks: StatSN %u released", conn->peer,
			  max_tasks, t->erl.stat_sn);
		iscsi_task_free(t);
	}
}

bool iscsi_erl1_retain(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	struct iscsi_task_erl *e = &task->erl;
	if (!iscsi_erl1(conn) || conn->state == CONN_CLOSED || !e->status_sent || task->aborted ||
	    task->cmd.aborted || sn_lt(e->stat_sn, conn->exp_stat_sn))
		return false;
	/* The core is done with the command; only its Data-In stays. */
	struct uscst_cmd *cmd = &task->cmd;
	uint8_t *buf = cmd->in_buf;
	uint32_t cap = cmd->in_cap, len = cmd->in_len;
	cmd->in_buf = NULL;
	uscst_cmd_release(cmd);
	cmd->in_buf = buf;
	cmd->in_cap = cap;
	cmd->in_len = len; /* the residual is computed from it again */
	if (e->din_len && e->acked_sn == e->din_count)
		free_data(task); /* a DataACK came before the last PDU was written */
	e->retained = true;
	list_add_tail(&task->node, &conn->erl_retained);
	conn->erl_nretained++;
	conn->erl_retained_mem += retained_mem_of(task);
	enforce_bound(conn);
	return true;
}

void iscsi_erl1_unretain(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	list_del(&task->node);
	conn->erl_nretained--;
	conn->erl_retained_mem -= retained_mem_of(task);
	task->erl.retained = false;
}

void iscsi_erl1_drop_all(struct iscsi_conn *conn)
{
	while (!list_empty(&conn->erl_retained))
		iscsi_task_free(list_entry(conn->erl_retained.next, struct iscsi_task, node));
}

void iscsi_erl1_exp_stat_sn(struct iscsi_conn *conn, const uint8_t *bhs)
{
	uint32_t v = get_be32(bhs + 28);
	/* Forward only, and never past what we sent. */
	if (!sn_lt(conn->exp_stat_sn, v) || sn_lt(conn->stat_sn, v))
		return;
	conn->exp_stat_sn = v;
	while (!list_empty(&conn->erl_retained)) {
		struct iscsi_task *t = list_entry(conn->erl_retained.next, struct iscsi_task, node);
		if (!sn_lt(t->erl.stat_sn, v))
			break;
		iscsi_task_free(t);
	}
}

bool iscsi_erl1_recovery_r2t(struct iscsi_task *task, uint32_t offset, uint32_t len)
{
	/* Each recovery R2T answers one bad or missing PDU, no more; still,
	 * an initiator that keeps spoiling them must not grow the list. */
	if (task->r2t_outstanding >=
	    task->conn->sess->params.max_outstanding_r2t + MAX_RECOVERY_R2TS)
		return false;
	struct iscsi_r2t *r = iscsi_r2t_alloc(task->conn);
	if (!r)
		return false;
	r->ttt = iscsi_new_ttt(task->conn);
	r->offset = offset;
	r->length = len;
	r->r2tsn = task->r2tsn++;
	r->received = 0;
	r->next_datasn = 0;
	r->next = task->r2ts;
	task->r2ts = r;
	task->r2t_outstanding++;
	log_debug("%s: ITT 0x%x: recovery R2T for %u bytes at %u", task->conn->peer, task->itt, len,
		  offset);
	iscsi_r2t_send(task, r);
	return true;
}

/* --- SNACK --- */

/* The task an ITT names: not answered yet, answered with its last PDU
 * still queued, or retained; the newest of them. */
static struct iscsi_task *find_by_itt(struct iscsi_conn *conn, uint32_t itt)
{
	struct iscsi_task *t = iscsi_task_find(conn, itt), *found = NULL;
	if (t)
		return t;
	list_for_each_entry(t, &conn->tasks, node) if (t->state == TASK_DONE && t->itt == itt &&
						       !t->aborted && t->erl.status_sent) found = t;
	if (found)
		return found;
	list_for_each_entry(t, &conn->erl_retained, node) if (t->itt == itt) found = t;
	return found;
}

static struct iscsi_task *find_by_ack_ttt(struct iscsi_conn *conn, uint32_t ttt)
{
	struct iscsi_task *t;
	list_for_each_entry(t, &conn->tasks, node) if (t->state == TASK_DONE && t->erl.din_len &&
						       t->erl.ack_ttt == ttt) return t;
	list_for_each_entry(t, &conn->erl_retained,
			    node) if (t->erl.din_len && t->erl.ack_ttt == ttt) return t;
	return NULL;
}

/* The run [*first, *end) of numbers from 0 that a SNACK asks for, given
 * that [lo, hi) may be asked for: BegRun 0 with RunLength 0 is every
 * unacknowledged one, RunLength 0 all from BegRun (11.16.1).  false:
 * something never sent or already acknowledged. */
static bool run_of(uint32_t beg, uint32_t run, uint32_t lo, uint32_t hi, uint32_t *first,
		   uint32_t *end)
{
	if (beg == 0 && run == 0) {
		*first = lo;
		*end = hi;
		return lo < hi;
	}
	if (beg < lo || beg >= hi || (run && run > hi - beg))
		return false;
	*first = beg;
	*end = run ? beg + run : hi;
	return true;
}

static uint8_t data_snack(struct iscsi_task *task, uint32_t beg, uint32_t run)
{
	const struct iscsi_task_erl *e = &task->erl;
	uint32_t first, end;
	if (!run_of(beg, run, e->acked_sn, e->din_count, &first, &end))
		return ISCSI_REJECT_PROTOCOL_ERROR;
	if (e->data_freed)
		return ISCSI_REJECT_SNACK;
	for (uint32_t sn = first; sn < end; sn++)
		if (!iscsi_data_in_resend(task, sn, true))
			return 0;
	return 0;
}

/* The open R2Ts of a task, newest first (each is prepended with the next
 * R2TSN: data_out.c, iscsi_erl1_recovery_r2t), turned around in place. */
static struct iscsi_r2t *r2ts_reversed(struct iscsi_r2t *r)
{
	struct iscsi_r2t *prev = NULL;
	while (r) {
		struct iscsi_r2t *next = r->next;
		r->next = prev;
		prev = r;
		r = next;
	}
	return prev;
}

/*
 * R2Ts are sent again exactly as they were, so the initiator answers them
 * from their start: the sequence's state starts again too.  The cost is
 * that of the open R2Ts, never of every R2TSN the task ever issued (a 4 GiB
 * WRITE in bursts of 512 bytes issues 8M of them): "all" (BegRun 0,
 * RunLength 0) walks the open list; an explicit run names R2Ts that must
 * all be open (an answered one is acknowledged), so one longer than the
 * R2Ts open is refused before anything is walked.
 */
static uint8_t r2t_snack(struct iscsi_task *task, uint32_t beg, uint32_t run)
{
	uint32_t first, end;
	bool all = beg == 0 && run == 0;
	if (!run_of(beg, run, 0, task->r2tsn, &first, &end))
		return ISCSI_REJECT_PROTOCOL_ERROR;
	if (!all && end - first > task->r2t_outstanding)
		return ISCSI_REJECT_PROTOCOL_ERROR;
	uint32_t n = 0;
	for (struct iscsi_r2t *r = task->r2ts; r; r = r->next)
		if (r->r2tsn >= first && r->r2tsn < end)
			n++;
	if (!n || (!all && n != end - first))
		return ISCSI_REJECT_PROTOCOL_ERROR;
	/* Oldest first, as they were sent. */
	task->r2ts = r2ts_reversed(task->r2ts);
	for (struct iscsi_r2t *r = task->r2ts; r; r = r->next) {
		if (r->r2tsn < first || r->r2tsn >= end)
			continue;
		r->received = 0;
		r->next_datasn = 0;
		iscsi_r2t_send(task, r);
	}
	task->r2ts = r2ts_reversed(task->r2ts);
	return 0;
}

static uint8_t data_r2t_snack(struct iscsi_conn *conn, uint32_t itt, uint32_t ttt, uint32_t beg,
			      uint32_t run)
{
	if (itt == ISCSI_RESERVED_TAG || ttt != ISCSI_RESERVED_TAG)
		return ISCSI_REJECT_INVALID_PDU_FIELD;
	struct iscsi_task *task = find_by_itt(conn, itt);
	if (!task)
		return ISCSI_REJECT_INVALID_PDU_FIELD;
	if (task->state == TASK_RECV_DATA && task->cmd.exp_write && !task->aborted)
		return r2t_snack(task, beg, run);
	if (task->state == TASK_DONE && task->erl.din_len)
		return data_snack(task, beg, run);
	return ISCSI_REJECT_PROTOCOL_ERROR; /* nothing of the kind was sent */
}

static bool stat_sn_in(uint32_t sn, uint32_t first, uint32_t end)
{
	return sn_le(first, sn) && sn_lt(sn, end);
}

static uint8_t status_snack(struct iscsi_conn *conn, uint32_t itt, uint32_t ttt, uint32_t beg,
			    uint32_t run)
{
	if (itt != ISCSI_RESERVED_TAG || ttt != ISCSI_RESERVED_TAG)
		return ISCSI_REJECT_INVALID_PDU_FIELD;
	uint32_t lo = conn->exp_stat_sn, hi = conn->stat_sn, first, end;
	if (beg == 0 && run == 0) {
		first = lo;
		end = hi;
	} else {
		/* Serial numbers: within [ExpStatSN, StatSN) as distances. */
		if (sn_lt(beg, lo) || !sn_lt(beg, hi) || (run && run > hi - beg))
			return ISCSI_REJECT_PROTOCOL_ERROR;
		first = beg;
		end = run ? beg + run : hi;
	}
	if (first == end)
		return ISCSI_REJECT_PROTOCOL_ERROR;
	unsigned n = 0;
	struct iscsi_task *t;
	/* Oldest first: the retained tasks, then those still being written. */
	list_for_each_entry(t, &conn->erl_retained,
			    node) if (stat_sn_in(t->erl.stat_sn, first, end))
	{
		iscsi_response_resend(t);
		n++;
	}
	list_for_each_entry(t, &conn->tasks, node) if (t->state == TASK_DONE &&
						       t->erl.status_sent && !t->aborted &&
						       stat_sn_in(t->erl.stat_sn, first, end))
	{
		iscsi_response_resend(t);
		n++;
	}
	return n ? 0 : ISCSI_REJECT_SNACK;
}

static uint8_t data_ack(struct iscsi_conn *conn, uint32_t itt, uint32_t ttt, uint32_t beg,
			uint32_t run)
{
	if (itt != ISCSI_RESERVED_TAG || run != 0)
		return ISCSI_REJECT_INVALID_PDU_FIELD;
	struct iscsi_task *task = ttt == ISCSI_RESERVED_TAG ? NULL : find_by_ack_ttt(conn, ttt);
	if (!task)
		return ISCSI_REJECT_INVALID_DATA_ACK;
	struct iscsi_task_erl *e = &task->erl;
	/* BegRun is the DataSN after one with the A bit: a sequence's start
	 * (MaxBurstLength multiple), or the end of the data. */
	if (beg <= e->acked_sn || beg > e->din_count ||
	    (beg < e->din_count &&
	     iscsi_data_in_offset(task, beg) % conn->sess->params.max_burst_length))
		return ISCSI_REJECT_INVALID_DATA_ACK;
	e->acked_sn = beg;
	if (beg == e->din_count && e->retained)
		free_data(task);
	return 0;
}

static uint8_t r_data_snack(struct iscsi_conn *conn, uint32_t itt, uint32_t tag, uint32_t beg,
			    uint32_t run)
{
	/* 11.16.5: the SNACK Tag is neither 0 nor 0xffffffff. */
	if (itt == ISCSI_RESERVED_TAG || beg || run || tag == 0 || tag == ISCSI_RESERVED_TAG)
		return ISCSI_REJECT_INVALID_PDU_FIELD;
	struct iscsi_task *task = find_by_itt(conn, itt);
	if (!task)
		return ISCSI_REJECT_INVALID_PDU_FIELD;
	struct iscsi_task_erl *e = &task->erl;
	if (task->state != TASK_DONE || !e->din_len)
		return ISCSI_REJECT_PROTOCOL_ERROR;
	if (e->data_freed && e->acked_sn < e->din_count)
		return ISCSI_REJECT_SNACK;
	iscsi_data_in_relayout(task);
	e->snack_tag = tag;
	for (uint32_t sn = e->din_base_sn; sn < e->din_count; sn++)
		if (!iscsi_data_in_resend(task, sn, true))
			return 0;
	iscsi_response_resend(task); /* the SCSI Response with the tag */
	return 0;
}

void iscsi_snack_rx(struct iscsi_conn *conn, const uint8_t *bhs)
{
	uint8_t reason;
	if (!iscsi_erl1(conn)) {
		reason = ISCSI_REJECT_PROTOCOL_ERROR; /* ERL 0 has no SNACK */
	} else if ((bhs[1] & 0xf0) != ISCSI_FLAG_FINAL || bhs_data_len(bhs) || bhs[4]) {
		reason = ISCSI_REJECT_INVALID_PDU_FIELD;
	} else {
		uint32_t itt = bhs_itt(bhs), ttt = get_be32(bhs + 20);
		uint32_t beg = get_be32(bhs + 40), run = get_be32(bhs + 44);
		switch (bhs[1] & 0x0f) {
		case SNACK_DATA_R2T:
			reason = data_r2t_snack(conn, itt, ttt, beg, run);
			break;
		case SNACK_STATUS:
			reason = status_snack(conn, itt, ttt, beg, run);
			break;
		case SNACK_DATA_ACK:
			reason = data_ack(conn, itt, ttt, beg, run);
			break;
		case SNACK_R_DATA:
			reason = r_data_snack(conn, itt, ttt, beg, run);
			break;
		default:
			reason = ISCSI_REJECT_INVALID_PDU_FIELD;
			break;
		}
	}
	if (reason && conn->state != CONN_CLOSED)
		iscsi_send_reject(conn, bhs, reason);
}
