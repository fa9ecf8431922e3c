/*
 * Data-In (RFC 7143 11.7) and SCSI Response (11.4) PDUs.  Read data goes
 * out in PDUs of at most the initiator's MaxRecvDataSegmentLength, in
 * sequences of at most MaxBurstLength; status rides on the last Data-In
 * (phase collapse) unless there is sense data to send.
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"

struct residual {
	uint8_t flags;
	uint32_t count;
};

/* Residuals compare what the command wanted to move with the initiator's
 * Expected Data Transfer Length (RFC 7143 11.4.5). */
static struct residual compute_residual(const struct iscsi_task *task)
{
	const struct uscst_cmd *cmd = &task->cmd;
	uint64_t wanted = 0;
	if (cmd->exp_read || cmd->in_len)
		/* Nothing is sent with CHECK CONDITION (the sense says why),
		 * unless the command set says the data go with it. */
		wanted = (cmd->status == SAM_STAT_CHECK_CONDITION && !cmd->in_with_sense) ? 0
			 : cmd->in_asked ? cmd->in_asked
					 : cmd->in_len;
	else if (cmd->exp_write || cmd->out_len)
		/* A CDB that wants Data-Out the initiator did not announce (W=0)
		 * moved nothing: the whole transfer is the overflow. */
		wanted = cmd->out_len;
	struct residual r = {0, 0};
	if (wanted > cmd->exp_len) {
		r.flags = ISCSI_FLAG_OVERFLOW;
		r.count = (uint32_t)(wanted - cmd->exp_len);
	} else if (wanted < cmd->exp_len) {
		r.flags = ISCSI_FLAG_UNDERFLOW;
		r.count = (uint32_t)(cmd->exp_len - wanted);
	}
	return r;
}

static bool send_data_in(struct iscsi_task *task, uint32_t len, bool collapse, struct residual res)
{
	struct iscsi_conn *conn = task->conn;
	const struct iscsi_params *p = &conn->sess->params;
	uint32_t seg = conn->max_xmit_dsl;
	uint32_t burst = p->max_burst_length;
	uint32_t off = 0, in_burst = 0;
	while (off < len) {
		struct iscsi_tx *tx = iscsi_tx_new(conn);
		if (!tx) {
			iscsi_conn_close(conn, "out of memory");
			return false;
		}
		uint32_t n = len - off < seg ? len - off : seg;
		if (burst - in_burst < n)
			n = burst - in_burst;
		bool last = off + n == len;
		in_burst += n;
		uint8_t flags = 0;
		if (last || in_burst == burst) {
			flags |= ISCSI_FLAG_FINAL;
			in_burst = 0;
		}
		uint8_t *h = tx->hdr;
		h[0] = ISCSI_OP_DATA_IN;
		memcpy(h + 8, task->bhs + 8, 8);
		put_be32(h + 16, task->itt);
		put_be32(h + 20, ISCSI_RESERVED_TAG);
		if (last && collapse) {
			flags |= ISCSI_DATA_STATUS | res.flags;
			h[3] = task->cmd.status;
			put_be32(h + 44, res.count);
			iscsi_put_sn(conn, h, true);
			tx->release_task = task;
		} else {
			iscsi_put_sn(conn, h, false);
			put_be32(h + 24, 0); /* StatSN is reserved without the S bit */
		}
		h[1] = flags;
		put_be32(h + 36, task->datasn_in++);
		put_be32(h + 40, off);
		tx->data = task->cmd.in_buf + off;
		tx->data_len = n;
		iscsi_tx_queue(conn, tx);
		off += n;
	}
	return true;
}

static void send_scsi_response(struct iscsi_task *task, struct residual res)
{
	struct iscsi_conn *conn = task->conn;
	struct uscst_cmd *cmd = &task->cmd;
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
	iscsi_put_sn(conn, h, true);
	put_be32(h + 36, task->datasn_in ? task->datasn_in : task->r2tsn);
	put_be32(h + 44, res.count);
	if (sense) {
		put_be16(sense, cmd->sense_len);
		memcpy(sense + 2, cmd->sense, cmd->sense_len);
		tx->data = sense;
		tx->owned = sense;
		tx->data_len = 2u + cmd->sense_len;
	}
	tx->release_task = task;
	iscsi_tx_queue(conn, tx);
}

void iscsi_task_send_response(struct iscsi_task *task)
{
	struct uscst_cmd *cmd = &task->cmd;
	struct residual res = compute_residual(task);
	uint32_t len = 0;
	if (cmd->exp_read && cmd->in_len &&
	    (cmd->status != SAM_STAT_CHECK_CONDITION || cmd->in_with_sense))
		len = cmd->in_len < cmd->exp_len ? cmd->in_len : cmd->exp_len;
	bool collapse = len && cmd->sense_len == 0;
	if (len && !send_data_in(task, len, collapse, res))
		return;
	if (!collapse)
		send_scsi_response(task, res);
}
