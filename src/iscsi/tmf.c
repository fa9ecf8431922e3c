/*
 * Task Management Function Requests (RFC 7143 11.5, 11.6): the PDU is
 * mapped to the core's task management (core/tmf.c), which aborts the
 * tasks, on this session and every other nexus, and calls back once none
 * of them can still end or touch the medium; then the response goes out.
 * What stays here is iSCSI's own: which of our tasks are older than the TMF
 * (CmdSN), an ABORT TASK naming a command not received yet, and the
 * response codes.  RFC 7144's functions (QUERY TASK, QUERY TASK SET,
 * I_T NEXUS RESET, QUERY ASYNC EVENT) go the same way; a query that found
 * something is answered "Function succeeded" (7), and QUERY ASYNC EVENT's
 * Additional Response Information (sense key, ASC, ASCQ of the pending
 * unit attention) is in bytes 36-38 of the response.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "lib/log.h"

struct tmf_ctx {
	struct uscst_tmf tmf; /* first */
	uint8_t bhs[ISCSI_BHS_LEN];
	uint8_t response;
	bool close_after;
	uint32_t below_cmdsn; /* tasks at or past this CmdSN are newer */
	struct iscsi_conn *conn;
};

/* info: the 3 bytes of Additional Response Information, or NULL. */
static void queue_tmf_response(struct iscsi_conn *conn, const uint8_t *req, uint8_t response,
			       bool close_after, const uint8_t *info)
{
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	if (!tx) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	tx->hdr[0] = ISCSI_OP_TMF_RSP;
	tx->hdr[1] = ISCSI_FLAG_FINAL;
	tx->hdr[2] = response;
	put_be32(tx->hdr + 16, bhs_itt(req));
	iscsi_put_sn(conn, tx->hdr, true);
	if (info)
		memcpy(tx->hdr + 36, info, 3);
	tx->close_after = close_after;
	iscsi_tx_queue(conn, tx);
}

void iscsi_send_tmf_response(struct iscsi_conn *conn, const uint8_t *req, uint8_t response,
			     bool close_after)
{
	queue_tmf_response(conn, req, response, close_after, NULL);
}

/* The core's "TMF done", on the connection's reactor. */
static void answer(struct uscst_tmf *tmf)
{
	struct tmf_ctx *ctx = (struct tmf_ctx *)tmf;
	struct iscsi_conn *conn = ctx->conn;
	bool info =
	    ctx->tmf.fn == USCST_TMF_QUERY_ASYNC_EVENT && ctx->response == ISCSI_TMF_RSP_SUCCEEDED;
	queue_tmf_response(conn, ctx->bhs, ctx->response, ctx->close_after,
			   info ? ctx->tmf.additional_info : NULL);
	if (ctx->close_after) { /* the session's other connections end at once */
		struct iscsi_conn *c, *n;
		list_for_each_entry_safe(c, n, &conn->sess->conns, sess_node)
		{
			if (c != conn)
				iscsi_conn_end(c, "target cold reset");
		}
	}
	iscsi_conn_flush(conn);
	iscsi_conn_put(conn);
	free(ctx);
}

/* A task is older than the TMF unless it is still waiting for CmdSN order
 * behind it. */
static bool covers(const struct uscst_cmd *cmd, const struct uscst_tmf *tmf)
{
	const struct iscsi_task *t = cmd->transport_priv;
	const struct tmf_ctx *ctx = (const struct tmf_ctx *)tmf;
	return t->immediate || t->ordered || sn_lt(t->cmdsn, ctx->below_cmdsn);
}

static uint8_t response_code(enum uscst_tmf_response r)
{
	switch (r) {
	case USCST_TMF_RSP_COMPLETE:
		return ISCSI_TMF_RSP_COMPLETE;
	case USCST_TMF_RSP_NO_TASK:
		return ISCSI_TMF_RSP_NO_TASK;
	case USCST_TMF_RSP_NO_LUN:
		return ISCSI_TMF_RSP_NO_LUN;
	case USCST_TMF_RSP_NOT_SUPPORTED:
		return ISCSI_TMF_RSP_NOT_SUPPORTED;
	case USCST_TMF_RSP_SUCCEEDED:
		return ISCSI_TMF_RSP_SUCCEEDED;
	default:
		return ISCSI_TMF_RSP_REJECTED;
	}
}

/* RFC 7143 11.5.1 b): ABORT TASK of a command not received yet (its CmdSN
 * is inside the window and older than this TMF) counts as received and
 * aborted: ExpCmdSN passes it, and if it comes later it is dropped.
 * c): anything else, including a task that already completed (its CmdSN
 * is below ExpCmdSN), does not exist. */
static bool abort_not_received(struct iscsi_conn *conn, const uint8_t *bhs)
{
	uint32_t ref_cmdsn = get_be32(bhs + 32);
	uint32_t cmdsn = get_be32(bhs + 24);
	struct iscsi_session *sess = conn->sess;
	if (sn_le(sess->exp_cmdsn, ref_cmdsn) && sn_le(ref_cmdsn, iscsi_conn_max_cmdsn(conn)) &&
	    sn_lt(ref_cmdsn, cmdsn)) {
		iscsi_cmdsn_mark_received(conn, ref_cmdsn);
		return true;
	}
	return false;
}

void iscsi_tmf_rx(struct iscsi_conn *conn, const uint8_t *bhs)
{
	if (!conn->sess->core) {
		iscsi_send_reject(conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR);
		return;
	}
	if (!(bhs[1] & 0x80)) {
		iscsi_send_reject(conn, bhs, ISCSI_REJECT_INVALID_PDU_FIELD);
		return;
	}
	iscsi_cmdsn_consume(conn, bhs);
	uint8_t fn = bhs[1] & 0x7f;
	if (fn == USCST_TMF_TASK_REASSIGN) {
		iscsi_task_reassign_rx(conn, bhs); /* connection recovery, reassign.c */
		return;
	}
	struct tmf_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		iscsi_send_tmf_response(conn, bhs, ISCSI_TMF_RSP_REJECTED, false);
		return;
	}
	memcpy(ctx->bhs, bhs, ISCSI_BHS_LEN);
	ctx->conn = conn;
	uint32_t cmdsn = get_be32(bhs + 24);
	/* ABORT TASK SET, CLEAR TASK SET and QUERY TASK SET cover the tasks
	 * before the TMF; the resets also the one with the TMF's own CmdSN. */
	ctx->below_cmdsn = fn == USCST_TMF_ABORT_TASK_SET || fn == USCST_TMF_CLEAR_TASK_SET ||
				   fn == USCST_TMF_QUERY_TASK_SET
			       ? cmdsn
			       : cmdsn + 1;
	ctx->tmf.sess = conn->sess->core;
	ctx->tmf.fn = fn;
	ctx->tmf.lun = iscsi_decode_lun(bhs + 8);
	ctx->tmf.tag = get_be32(bhs + 20);
	ctx->tmf.covers = covers;
	ctx->tmf.done = answer;
	/* A cold reset ends every connection, this one included. */
	ctx->close_after = fn == USCST_TMF_TARGET_COLD_RESET;
	if (ctx->close_after)
		conn->no_recovery = true; /* nothing is kept through a cold reset */
	iscsi_conn_get(conn);		  /* dropped once answered */
	log_debug("%s: TMF function %u", conn->peer, fn);
	enum uscst_tmf_response r = uscst_tmf_start(&ctx->tmf);
	if (fn == USCST_TMF_ABORT_TASK && r == USCST_TMF_RSP_NO_TASK &&
	    abort_not_received(conn, bhs))
		r = USCST_TMF_RSP_COMPLETE;
	/* answer() runs later, from the reactor's message queue. */
	ctx->response = response_code(r);
}
