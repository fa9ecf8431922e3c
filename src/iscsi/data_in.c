/*
 * Data-In (RFC 7143 11.7) and SCSI Response (11.4) PDUs.  Read data goes
 * out in PDUs of at most the initiator's MaxRecvDataSegmentLength, in
 * sequences of at most MaxBurstLength; status rides on the last Data-In
 * (phase collapse) unless there is sense data to send.
 *
 * The PDUs follow a layout (struct iscsi_task_erl) that any one of them
 * can be rebuilt from: at ErrorRecoveryLevel 1 a SNACK asks for some of
 * them again (erl1.c), exactly as they were, or after an R-Data SNACK
 * resegmented for a new MaxRecvDataSegmentLength.
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"

struct residual {
	uint8_t flags;
	uint32_t count;
};

/* The Data-In the command wanted to send.  Nothing is sent with CHECK
 * CONDITION (the sense says why), unless the command set says the data go
 * with it. */
static uint64_t wanted_in(const struct uscst_cmd *cmd)
{
	if (cmd->status == SAM_STAT_CHECK_CONDITION && !cmd->in_with_sense)
		return 0;
	return cmd->in_asked ? cmd->in_asked : cmd->in_len;
}

static struct residual residual_of(uint64_t wanted, uint32_t edtl)
{
	struct residual r = {0, 0};
	if (wanted > edtl) {
		r.flags = ISCSI_FLAG_OVERFLOW;
		r.count = (uint32_t)(wanted - edtl);
	} else if (wanted < edtl) {
		r.flags = ISCSI_FLAG_UNDERFLOW;
		r.count = (uint32_t)(edtl - wanted);
	}
	return r;
}

/* Residuals compare what the command wanted to move with the initiator's
 * Expected Data Transfer Length (RFC 7143 11.4.5); for a bidirectional
 * command that is the write part's (its read part: bidi_residual). */
static struct residual compute_residual(const struct iscsi_task *task)
{
	const struct uscst_cmd *cmd = &task->cmd;
	uint64_t wanted = 0;
	if (task->bidi)
		return residual_of(cmd->out_len, cmd->exp_len);
	if (cmd->exp_read)
		return residual_of(wanted_in(cmd), cmd->exp_len);
	if (cmd->in_len)
		/* Data-In of a command sent without R (a READ flagged as a
		 * write): none of it was sent, all of it is the overflow. */
		return residual_of(wanted_in(cmd), 0);
	if (cmd->exp_write || cmd->out_len)
		/* A CDB that wants Data-Out the initiator did not announce (W=0)
		 * moved nothing: the whole transfer is the overflow. */
		wanted = cmd->out_len;
	return residual_of(wanted, cmd->exp_len);
}

/* RFC 7143 11.4.5.2: the read part of a bidirectional command against its
 * Bidirectional Read EDTL, as the o (0x10) and u (0x08) flags and the
 * Bidirectional Read Residual Count of the SCSI Response. */
static void put_bidi_residual(const struct iscsi_task *task, uint8_t *h)
{
	if (!task->bidi)
		return;
	struct residual r = residual_of(wanted_in(&task->cmd), task->bidi_read_len);
	h[1] |= (uint8_t)(r.flags << 2);
	put_be32(h + 40, r.count);
}

/* --- the layout --- */

static uint32_t burst_of(const struct iscsi_task *task)
{
	return task->conn->sess->params.max_burst_length;
}

/* PDUs in one full sequence. */
static uint32_t pdus_per_burst(const struct iscsi_task *task)
{
	uint32_t burst = burst_of(task), seg = task->erl.din_seg;
	return burst / seg + (burst % seg != 0);
}

/* Sequences start at multiples of MaxBurstLength, and din_base_off is one
 * (0, or where a DataACK's BegRun starts a sequence: erl1.c checks), so
 * every sequence but the last has pdus_per_burst() PDUs. */
static uint32_t layout_count(const struct iscsi_task *task)
{
	const struct iscsi_task_erl *e = &task->erl;
	uint32_t burst = burst_of(task), rest = e->din_len - e->din_base_off;
	uint32_t last = rest % burst;
	return e->din_base_sn + rest / burst * pdus_per_burst(task) + last / e->din_seg +
	       (last % e->din_seg != 0);
}

uint32_t iscsi_data_in_offset(const struct iscsi_task *task, uint32_t datasn)
{
	const struct iscsi_task_erl *e = &task->erl;
	if (datasn >= e->din_count)
		return e->din_len;
	uint32_t k = datasn - e->din_base_sn, per = pdus_per_burst(task);
	return e->din_base_off + k / per * burst_of(task) + k % per * e->din_seg;
}

/* Length of the PDU at off, and whether it ends its sequence. */
static uint32_t pdu_len(const struct iscsi_task *task, uint32_t off, bool *final)
{
	const struct iscsi_task_erl *e = &task->erl;
	uint32_t burst = burst_of(task);
	uint32_t n = e->din_len - off < e->din_seg ? e->din_len - off : e->din_seg;
	uint32_t to_burst_end = burst - off % burst;
	if (n > to_burst_end)
		n = to_burst_end;
	*final = off + n == e->din_len || (off + n) % burst == 0;
	return n;
}

static void layout_init(struct iscsi_task *task, uint32_t len, bool collapse)
{
	struct iscsi_task_erl *e = &task->erl;
	e->din_len = len;
	e->din_seg = task->conn->max_xmit_dsl;
	e->din_base_sn = e->din_base_off = 0;
	e->din_count = layout_count(task);
	e->collapsed = collapse;
	e->ack_ttt = iscsi_erl1(task->conn) ? iscsi_new_ttt(task->conn) : ISCSI_RESERVED_TAG;
}

void iscsi_data_in_relayout(struct iscsi_task *task)
{
	struct iscsi_task_erl *e = &task->erl;
	uint32_t off = iscsi_data_in_offset(task, e->acked_sn);
	e->din_base_sn = e->acked_sn;
	e->din_base_off = off;
	e->din_seg = task->conn->max_xmit_dsl;
	e->din_count = layout_count(task);
	e->collapsed = false; /* the SCSI Response carries the SNACK Tag */
}

/* Fills StatSN: the next one the first time (recorded), the recorded one
 * when sent again (RFC 7143 11.16: replicas but for ExpCmdSN/MaxCmdSN). */
static void put_status_sn(struct iscsi_task *task, uint8_t *h, bool again)
{
	iscsi_put_sn(task->conn, h, !again);
	if (again) {
		put_be32(h + 24, task->erl.stat_sn);
	} else {
		task->erl.stat_sn = get_be32(h + 24);
		task->erl.status_sent = true;
	}
}

/* Queues Data-In PDU datasn; again: a resend, whose data is copied (the
 * task may be released before it is written).  false: out of memory. */
static bool queue_data_in(struct iscsi_task *task, uint32_t datasn, bool again)
{
	struct iscsi_conn *conn = task->conn;
	const struct iscsi_task_erl *e = &task->erl;
	uint32_t off = iscsi_data_in_offset(task, datasn);
	bool final;
	uint32_t n = pdu_len(task, off, &final);
	bool last = datasn + 1 == e->din_count;
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	uint8_t *copy = again ? malloc(n ? n : 1) : NULL;
	if (!tx || (again && !copy)) {
		free(tx);
		free(copy);
		iscsi_conn_close(conn, "out of memory");
		return false;
	}
	uint8_t *h = tx->hdr;
	h[0] = ISCSI_OP_DATA_IN;
	memcpy(h + 8, task->bhs + 8, 8);
	put_be32(h + 16, task->itt);
	put_be32(h + 20, ISCSI_RESERVED_TAG);
	uint8_t flags = final ? ISCSI_FLAG_FINAL : 0;
	/* RFC 7143 11.7.2: at ERL >= 1 the end of each sequence asks for a
	 * DataACK (at most once per MaxBurstLength), with a TTT to name it. */
	if (final && iscsi_erl1(conn)) {
		flags |= ISCSI_DATA_ACK;
		put_be32(h + 20, e->ack_ttt);
	}
	if (last && e->collapsed) {
		struct residual res = compute_residual(task);
		flags |= ISCSI_DATA_STATUS | res.flags;
		h[3] = task->cmd.status;
		put_be32(h + 44, res.count);
		put_status_sn(task, h, again);
		if (!again)
			tx->release_task = task;
	} else {
		iscsi_put_sn(conn, h, false);
		put_be32(h + 24, 0); /* StatSN is reserved without the S bit */
	}
	h[1] = flags;
	put_be32(h + 36, datasn);
	put_be32(h + 40, off);
	if (again) {
		memcpy(copy, task->cmd.in_buf + off, n);
		tx->data = copy;
		tx->owned = copy;
	} else {
		tx->data = task->cmd.in_buf + off;
	}
	tx->data_len = n;
	iscsi_tx_queue(conn, tx);
	return true;
}

bool iscsi_data_in_resend(struct iscsi_task *task, uint32_t datasn, bool copy)
{
	return queue_data_in(task, datasn, copy);
}

static void send_scsi_response(struct iscsi_task *task, bool again)
{
	struct iscsi_conn *conn = task->conn;
	struct uscst_cmd *cmd = &task->cmd;
	struct residual res = compute_residual(task);
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	uint8_t *sense = cmd->sense_len ? malloc(2u + cmd->sense_len) : NULL;
	if (!tx || (cmd->sense_len && !sense)) {
		free(tx);
		free(sense);
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	uint8_t *h = tx->hdr;
	h[0] = ISCSI_OP_SCSI_RSP;
	h[1] = ISCSI_FLAG_FINAL | res.flags;
	h[2] = 0x00; /* command completed at target */
	h[3] = cmd->status;
	put_be32(h + 16, task->itt);
	put_be32(h + 20, task->erl.snack_tag);
	put_status_sn(task, h, again);
	put_be32(h + 36, task->erl.din_len ? task->erl.din_count : task->r2tsn);
	put_be32(h + 44, res.count);
	put_bidi_residual(task, h);
	if (sense) {
		put_be16(sense, cmd->sense_len);
		memcpy(sense + 2, cmd->sense, cmd->sense_len);
		tx->data = sense;
		tx->owned = sense;
		tx->data_len = 2u + cmd->sense_len;
	}
	if (!again)
		tx->release_task = task;
	iscsi_tx_queue(conn, tx);
}

void iscsi_response_resend(struct iscsi_task *task)
{
	const struct iscsi_task_erl *e = &task->erl;
	/* The Data-In that carried it, as it was; once its data is gone (a
	 * DataACK took it) a SCSI Response with the same StatSN says it all. */
	if (e->collapsed && !e->data_freed && e->din_count)
		queue_data_in(task, e->din_count - 1, true);
	else
		send_scsi_response(task, true);
}

void iscsi_task_send_response(struct iscsi_task *task)
{
	struct uscst_cmd *cmd = &task->cmd;
	if (task->erl.data_freed) {
		/* Reassigned after a DataACK took its Data-In (reassign.c):
		 * the initiator has the data, the status is what it lacks. */
		send_scsi_response(task, false);
		return;
	}
	uint32_t len = 0;
	uint32_t read_edtl = task->bidi ? task->bidi_read_len : cmd->exp_len;
	if (cmd->exp_read && cmd->in_len &&
	    (cmd->status != SAM_STAT_CHECK_CONDITION || cmd->in_with_sense))
		len = cmd->in_len < read_edtl ? cmd->in_len : read_edtl;
	/* A Data-In has no room for the bidirectional read residual: such a
	 * command's status goes in a SCSI Response. */
	bool collapse = len && cmd->sense_len == 0 && !task->bidi;
	if (len) {
		layout_init(task, len, collapse);
		/* Reassigned (reassign.c): what the initiator has is not sent
		 * again; the PDU with the status always is. */
		uint32_t last = collapse ? task->erl.din_count - 1 : task->erl.din_count;
		uint32_t sn = task->datasn_skip < last ? task->datasn_skip : last;
		task->datasn_skip = 0;
		for (; sn < task->erl.din_count; sn++)
			if (!queue_data_in(task, sn, false))
				return;
	}
	if (!collapse)
		send_scsi_response(task, false);
}
