/*
 * Data-Out handling (RFC 7143 11.7) and R2T generation (11.8): immediate
 * data, the unsolicited sequence (InitialR2T=No), and solicited sequences
 * of at most MaxBurstLength with at most MaxOutstandingR2T open at once.
 * Data lands in the command's buffer at its buffer offset; anything the
 * CDB does not want (EDTL larger than the transfer length) is dropped.
 * A sequence ends with the PDU that has the F bit; the data phase ends when
 * every sequence has.
 *
 * The buffer is not zeroed (uscst_cmd_alloc_out), so a command may execute
 * only once the initiator has sent every byte of it.  With DataPDUInOrder=Yes
 * (the only value we negotiate) each PDU of a sequence must start where the
 * previous one ended, and a sequence must end at its length: then the
 * immediate data, the unsolicited sequence and the R2T sequences tile
 * [0, EDTL) exactly.  A gap or an overlap fails the command like any other
 * Data-Out protocol error.  Were DataPDUInOrder=No ever negotiated, the
 * buffer is zeroed instead (write_buf.c).
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "lib/freelist.h"
#include "lib/log.h"
#include "lib/thread_exit.h"

/* R2T sequences come from a per-thread cache, not calloc (one per burst). */
static __thread struct freelist r2t_cache = FREELIST_INIT(sizeof(struct iscsi_r2t), 256);
static void r2t_cache_drain(void) { freelist_drain(&r2t_cache); }
static __thread struct thread_exit_hook r2t_cache_hook = {.fn = r2t_cache_drain};

void iscsi_r2t_free(struct iscsi_r2t *r)
{
	thread_exit_arm(&r2t_cache_hook);
	freelist_put(&r2t_cache, r);
}

/* NULL (the connection closed): out of memory. */
struct iscsi_r2t *iscsi_r2t_alloc(struct iscsi_conn *conn)
{
	thread_exit_arm(&r2t_cache_hook);
	struct iscsi_r2t *r = freelist_get(&r2t_cache);
	if (!r)
		iscsi_conn_close(conn, "out of memory");
	return r;
}

static void place_data(struct iscsi_task *task, uint32_t offset, const uint8_t *data, uint32_t len)
{
	struct uscst_cmd *cmd = &task->cmd;
	/* Received in place (conn.c): nothing to copy. */
	if (!cmd->out_buf || offset >= cmd->out_buf_len || data == cmd->out_buf + offset)
		return;
	uint32_t n = cmd->out_buf_len - offset < len ? cmd->out_buf_len - offset : len;
	memcpy(cmd->out_buf + offset, data, n);
}

void iscsi_task_start_data(struct iscsi_task *task)
{
	const struct iscsi_params *p = &task->conn->sess->params;
	if (!task->cmd.exp_write || task->cmd.exp_len == 0) {
		task->received_all = !task->cmd.exp_write || task->cmd.exp_len == 0;
		return;
	}
	task->edtl_out = task->cmd.exp_len;
	if (!(task->bhs[1] & ISCSI_FLAG_FINAL)) {
		task->unsol_open = true;
		task->unsol_limit =
		    p->first_burst_length < task->edtl_out ? p->first_burst_length : task->edtl_out;
	}
}

void iscsi_task_immediate_data(struct iscsi_task *task, const uint8_t *data, uint32_t dlen,
			       bool digest_error)
{
	if (digest_error) {
		iscsi_send_reject(task->conn, task->bhs, ISCSI_REJECT_DATA_DIGEST);
		task->data_digest_errors++;
	} else if (!task->imm_placed) {
		place_data(task, 0, data, dlen);
	}
	task->next_r2t_off = dlen;
	task->unsol_next = dlen; /* the unsolicited sequence continues from here */
}

void iscsi_r2t_send(struct iscsi_task *task, const struct iscsi_r2t *r)
{
	struct iscsi_conn *conn = task->conn;
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	if (!tx) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	tx->hdr[0] = ISCSI_OP_R2T;
	tx->hdr[1] = ISCSI_FLAG_FINAL;
	memcpy(tx->hdr + 8, task->bhs + 8, 8); /* LUN */
	put_be32(tx->hdr + 16, task->itt);
	put_be32(tx->hdr + 20, r->ttt);
	iscsi_put_sn(conn, tx->hdr, false);
	put_be32(tx->hdr + 36, r->r2tsn);
	put_be32(tx->hdr + 40, r->offset);
	put_be32(tx->hdr + 44, r->length);
	iscsi_tx_queue(conn, tx);
}

uint32_t iscsi_new_ttt(struct iscsi_conn *conn)
{
	uint32_t ttt = conn->next_ttt++;
	if (ttt == ISCSI_RESERVED_TAG)
		ttt = conn->next_ttt++;
	return ttt;
}

static void issue_r2ts(struct iscsi_task *task)
{
	const struct iscsi_params *p = &task->conn->sess->params;
	/* Whenever the buffer is short of the whole (before the first R2T;
	 * an ERL 1 recovery R2T may come before it): grown, or parked. */
	if (!task->unsol_open && task->next_r2t_off < task->edtl_out &&
	    !iscsi_write_buf_ready(task))
		return; /* parked: solicited when buffers are released */
	while (!task->unsol_open && task->next_r2t_off < task->edtl_out &&
	       task->r2t_outstanding < p->max_outstanding_r2t) {
		struct iscsi_r2t *r = iscsi_r2t_alloc(task->conn);
		if (!r)
			return;
		uint32_t left = task->edtl_out - task->next_r2t_off;
		r->ttt = iscsi_new_ttt(task->conn);
		r->offset = task->next_r2t_off;
		r->length = left < p->max_burst_length ? left : p->max_burst_length;
		r->r2tsn = task->r2tsn++;
		r->received = 0;
		r->next_datasn = 0;
		r->next = task->r2ts;
		task->r2ts = r;
		task->next_r2t_off += r->length;
		task->r2t_outstanding++;
		iscsi_r2t_send(task, r);
	}
}

/* RFC 7143 6.2.2 / 11.5.1: the R2Ts still open went out on the failed
 * connection: sent again on the new one, with new TTTs, for their whole
 * length (the data already received is simply received again); an
 * unsolicited burst that did not end is solicited from where it stopped. */
void iscsi_task_resolicit(struct iscsi_task *task)
{
	if (task->unsol_open) {
		task->unsol_open = false;
		task->next_r2t_off = task->unsol_next;
	}
	for (struct iscsi_r2t *r = task->r2ts; r; r = r->next) {
		r->ttt = iscsi_new_ttt(task->conn);
		r->received = 0;
		r->next_datasn = 0;
		r->r2tsn = task->r2tsn++;
		iscsi_r2t_send(task, r);
	}
	iscsi_task_check_data_done(task);
}

void iscsi_task_check_data_done(struct iscsi_task *task)
{
	if (task->state != TASK_RECV_DATA || task->received_all || task->aborted)
		return;
	issue_r2ts(task);
	if (task->unsol_open || task->r2t_outstanding || task->next_r2t_off < task->edtl_out)
		return;
	task->received_all = true;
	iscsi_task_execute(task);
}

static void data_out_error(struct iscsi_task *task, const uint8_t *bhs, const char *why)
{
	log_debug("%s: Data-Out for ITT 0x%x: %s", task->conn->peer, task->itt, why);
	iscsi_send_reject(task->conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR);
	task->protocol_error = true;
}

static bool pdu_in_order(const struct iscsi_task *task)
{
	return task->conn->sess->params.data_pdu_in_order;
}

static void unsolicited_data(struct iscsi_task *task, const uint8_t *bhs, uint32_t offset,
			     uint32_t dlen)
{
	uint32_t datasn = get_be32(bhs + 36);
	if (!task->unsol_open) {
		data_out_error(task, bhs, "unsolicited data after the first burst");
		return;
	}
	/* ERL 1: Data-Out PDUs lost before this one are asked for again
	 * (RFC 7143 7.8, a recovery R2T) instead of failing the command. */
	if (iscsi_erl1(task->conn) && pdu_in_order(task) && sn_lt(task->unsol_datasn, datasn) &&
	    offset > task->unsol_next && (uint64_t)offset + dlen <= task->unsol_limit &&
	    iscsi_erl1_recovery_r2t(task, task->unsol_next, offset - task->unsol_next)) {
		task->unsol_datasn = datasn;
		task->unsol_next = offset;
	}
	if (datasn != task->unsol_datasn)
		data_out_error(task, bhs, "DataSN out of order");
	task->unsol_datasn++;
	if ((uint64_t)offset + dlen > task->unsol_limit)
		data_out_error(task, bhs, "unsolicited data beyond FirstBurstLength");
	else if (offset != task->unsol_next && pdu_in_order(task))
		data_out_error(task, bhs, "offset not where the previous Data-Out ended");
	task->unsol_next = offset + dlen;
	if (offset + dlen > task->next_r2t_off && offset + dlen <= task->edtl_out)
		task->next_r2t_off = offset + dlen;
	if (bhs[1] & ISCSI_FLAG_FINAL)
		task->unsol_open = false;
}

static struct iscsi_r2t **find_r2t(struct iscsi_task *task, uint32_t ttt)
{
	for (struct iscsi_r2t **pp = &task->r2ts; *pp; pp = &(*pp)->next)
		if ((*pp)->ttt == ttt)
			return pp;
	return NULL;
}

static void solicited_data(struct iscsi_task *task, const uint8_t *bhs, uint32_t ttt,
			   uint32_t offset, uint32_t dlen)
{
	struct iscsi_r2t **pp = find_r2t(task, ttt);
	if (!pp) {
		iscsi_send_reject(task->conn, bhs, ISCSI_REJECT_INVALID_PDU_FIELD);
		task->protocol_error = true;
		return;
	}
	struct iscsi_r2t *r = *pp;
	uint32_t datasn = get_be32(bhs + 36), expect = r->offset + r->received;
	/* ERL 1: as for the unsolicited sequence above. */
	if (iscsi_erl1(task->conn) && pdu_in_order(task) && sn_lt(r->next_datasn, datasn) &&
	    offset > expect && (uint64_t)offset + dlen <= (uint64_t)r->offset + r->length &&
	    iscsi_erl1_recovery_r2t(task, expect, offset - expect)) {
		pp = find_r2t(task, ttt); /* the list changed */
		r = *pp;
		r->received = offset - r->offset;
		r->next_datasn = datasn;
	}
	if (datasn != r->next_datasn)
		data_out_error(task, bhs, "DataSN out of order");
	r->next_datasn++;
	if (offset < r->offset || (uint64_t)offset + dlen > (uint64_t)r->offset + r->length)
		data_out_error(task, bhs, "data outside the R2T's range");
	else if (offset != r->offset + r->received && pdu_in_order(task))
		data_out_error(task, bhs, "offset not where the previous Data-Out ended");
	r->received += dlen;
	if (!(bhs[1] & ISCSI_FLAG_FINAL))
		return;
	if (r->received != r->length)
		data_out_error(task, bhs, "sequence ended short of the R2T's length");
	*pp = r->next;
	iscsi_r2t_free(r);
	task->r2t_outstanding--;
}

/* Data-Out owed to an aborted task: dropped; the sequence it ends (F bit)
 * no longer counts, and once none is open the abort is over. */
static void aborted_data_out(struct iscsi_task *task, const uint8_t *bhs)
{
	struct iscsi_r2t **pp = find_r2t(task, get_be32(bhs + 20));
	if (!pp || !(bhs[1] & ISCSI_FLAG_FINAL))
		return;
	struct iscsi_r2t *r = *pp;
	*pp = r->next;
	iscsi_r2t_free(r);
	if (--task->r2t_outstanding)
		return;
	task->abort_owes_data = false;
	uscst_cmd_abort_settled(&task->cmd);
	/* Not yet in CmdSN order: iscsi_cmdsn_advance() frees it. */
	if (task->ordered)
		iscsi_task_free(task);
}

/* The same rules as iscsi_data_out_rx and the sequence checks below, for
 * a PDU that breaks none of them. */
struct iscsi_task *iscsi_data_out_direct(struct iscsi_conn *conn, const uint8_t *bhs, uint32_t dlen)
{
	struct iscsi_task *task = iscsi_task_find(conn, bhs_itt(bhs));
	if (!task || task->aborted || task->cmd.aborted || task->abort_owes_data ||
	    task->state != TASK_RECV_DATA || task->received_all || !task->cmd.exp_write ||
	    task->r2t_parked || task->out_too_big || !task->cmd.out_buf || !pdu_in_order(task))
		return NULL;
	uint32_t ttt = get_be32(bhs + 20), offset = get_be32(bhs + 40);
	uint64_t end = (uint64_t)offset + dlen;
	if (end > task->cmd.out_buf_len)
		return NULL;
	if (ttt == ISCSI_RESERVED_TAG)
		return task->unsol_open && offset == task->unsol_next && end <= task->unsol_limit
			   ? task
			   : NULL;
	struct iscsi_r2t **pp = find_r2t(task, ttt);
	if (!pp || offset != (*pp)->offset + (*pp)->received ||
	    end > (uint64_t)(*pp)->offset + (*pp)->length)
		return NULL;
	return task;
}

void iscsi_data_out_rx(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data,
		       uint32_t dlen, bool digest_error)
{
	struct iscsi_task *task = iscsi_task_find(conn, bhs_itt(bhs));
	if (task && task->abort_owes_data) {
		aborted_data_out(task, bhs);
		return;
	}
	if (!task || task->aborted || task->cmd.aborted) {
		/* Data for a task aborted by task management is dropped silently. */
		if (!task && !iscsi_retired_data_out(conn, bhs))
			iscsi_send_reject(conn, bhs, ISCSI_REJECT_INVALID_PDU_FIELD);
		return;
	}
	if (task->state != TASK_RECV_DATA || task->received_all || !task->cmd.exp_write) {
		iscsi_send_reject(conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR);
		return;
	}
	uint32_t ttt = get_be32(bhs + 20);
	uint32_t offset = get_be32(bhs + 40);
	if (ttt == ISCSI_RESERVED_TAG)
		unsolicited_data(task, bhs, offset, dlen);
	else
		solicited_data(task, bhs, ttt, offset, dlen);
	if (digest_error) {
		iscsi_send_reject(conn, bhs, ISCSI_REJECT_DATA_DIGEST);
		/* RFC 7143 7.8: at ERL 1 the data is asked for again; at 0
		 * the command ends with a CRC error (scsi_cmd.c). */
		if (!iscsi_erl1(conn) || task->protocol_error || !dlen ||
		    (uint64_t)offset + dlen > task->edtl_out ||
		    !iscsi_erl1_recovery_r2t(task, offset, dlen))
			task->data_digest_errors++;
	} else if ((uint64_t)offset + dlen <= task->edtl_out) {
		place_data(task, offset, data, dlen);
	}
	iscsi_task_check_data_done(task);
}
