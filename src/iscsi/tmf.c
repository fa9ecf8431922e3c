/*
 * Task management (RFC 7143 11.5, 11.6).  Aborted tasks that are still in
 * the backend cannot be recalled from io_uring; their results are thrown
 * away.  The TMF response waits on a fence (core/tmf.c) until the last
 * task it aborted, on this session and on every other nexus the core
 * asked, has finished: the initiator never sees a response for an
 * aborted task after the TMF, and no aborted WRITE lands after it.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "lib/log.h"

struct tmf_ctx {
	uint8_t bhs[ISCSI_BHS_LEN];
	uint8_t response;
	bool close_after;
	struct iscsi_conn *conn;
	struct uscst_fence fence;	  /* done: every aborted task has ended */
	struct iscsi_fence_waiter waiter; /* this connection's aborted tasks */
	struct reactor_msg msg;		  /* fence done -> this reactor */
};

static void send_tmf_response(struct iscsi_conn *conn, const uint8_t *req, uint8_t response,
			      bool close_after)
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
	tx->close_after = close_after;
	iscsi_tx_queue(conn, tx);
}

/* On the connection's reactor, once the fence is down. */
static void answer(struct reactor_msg *m)
{
	struct tmf_ctx *ctx = (struct tmf_ctx *)((char *)m - offsetof(struct tmf_ctx, msg));
	struct iscsi_conn *conn = ctx->conn;
	send_tmf_response(conn, ctx->bhs, ctx->response, ctx->close_after);
	iscsi_conn_flush(conn);
	iscsi_conn_put(conn);
	free(ctx);
}

/* Any thread: the last aborted task anywhere has ended. */
static void fence_done(struct uscst_fence *f)
{
	struct tmf_ctx *ctx = (struct tmf_ctx *)((char *)f - offsetof(struct tmf_ctx, fence));
	reactor_send(ctx->conn->reactor, &ctx->msg);
}

static void own_tasks_done(struct iscsi_fence_waiter *w)
{
	struct tmf_ctx *ctx = (struct tmf_ctx *)((char *)w - offsetof(struct tmf_ctx, waiter));
	uscst_fence_put(&ctx->fence);
}

static void abort_matching(struct iscsi_conn *conn, bool all_luns, uint64_t lun,
			   uint32_t below_cmdsn)
{
	struct iscsi_task *t, *n;
	list_for_each_entry_safe(t, n, &conn->tasks, node)
	{
		if (t->state == TASK_DONE)
			continue;
		if (!all_luns && t->cmd.lun != lun)
			continue;
		if (!t->immediate && !sn_lt(t->cmdsn, below_cmdsn) && !t->ordered)
			continue; /* newer than the TMF: not covered */
		iscsi_abort_task(t);
	}
}

static uint8_t abort_one(struct iscsi_conn *conn, const uint8_t *bhs)
{
	uint32_t rtt = get_be32(bhs + 20);
	uint32_t ref_cmdsn = get_be32(bhs + 32);
	uint32_t cmdsn = get_be32(bhs + 24);
	struct iscsi_task *task = iscsi_task_find(conn, rtt);
	if (task) {
		if (task->cmd.lun != iscsi_decode_lun(bhs + 8))
			return ISCSI_TMF_RSP_NO_TASK;
		iscsi_abort_task(task);
		return ISCSI_TMF_RSP_COMPLETE;
	}
	/* RFC 7143 11.5.1 b): a command not received yet (its CmdSN is inside
	 * the window and older than this TMF) counts as received and aborted:
	 * ExpCmdSN passes it, and if it comes later it is dropped.
	 * c): anything else, including a task that already completed (its
	 * CmdSN is below ExpCmdSN), does not exist. */
	struct iscsi_session *sess = conn->sess;
	if (sn_le(sess->exp_cmdsn, ref_cmdsn) && sn_le(ref_cmdsn, iscsi_conn_max_cmdsn(conn)) &&
	    sn_lt(ref_cmdsn, cmdsn)) {
		iscsi_cmdsn_mark_received(conn, ref_cmdsn);
		return ISCSI_TMF_RSP_COMPLETE;
	}
	return ISCSI_TMF_RSP_NO_TASK;
}

static uint8_t run_function(struct iscsi_conn *conn, const uint8_t *bhs, struct tmf_ctx *ctx)
{
	uint8_t fn = bhs[1] & 0x7f;
	uint64_t lun = iscsi_decode_lun(bhs + 8);
	uint32_t cmdsn = get_be32(bhs + 24);
	struct uscst_session *core = conn->sess->core;
	switch (fn) {
	case USCST_TMF_ABORT_TASK:
		return abort_one(conn, bhs);
	case USCST_TMF_ABORT_TASK_SET:
	case USCST_TMF_CLEAR_TASK_SET:
		if (!uscst_lun_exists(core, lun))
			return ISCSI_TMF_RSP_NO_LUN;
		abort_matching(conn, false, lun, cmdsn);
		return ISCSI_TMF_RSP_COMPLETE;
	case USCST_TMF_LUN_RESET:
		if (!uscst_lun_exists(core, lun))
			return ISCSI_TMF_RSP_NO_LUN;
		abort_matching(conn, false, lun, cmdsn + 1);
		uscst_tmf_lun_reset(core, lun, &ctx->fence);
		return ISCSI_TMF_RSP_COMPLETE;
	case USCST_TMF_TARGET_WARM_RESET:
	case USCST_TMF_TARGET_COLD_RESET:
		abort_matching(conn, true, 0, cmdsn + 1);
		uscst_tmf_target_reset(core, fn == USCST_TMF_TARGET_COLD_RESET, &ctx->fence);
		/* A cold reset ends every connection, this one included. */
		ctx->close_after = fn == USCST_TMF_TARGET_COLD_RESET;
		return ISCSI_TMF_RSP_COMPLETE;
	case USCST_TMF_CLEAR_ACA:
		return ISCSI_TMF_RSP_NOT_SUPPORTED;
	case USCST_TMF_TASK_REASSIGN:
		return ISCSI_TMF_RSP_NO_REASSIGN; /* ErrorRecoveryLevel 0 */
	default:
		return ISCSI_TMF_RSP_REJECTED;
	}
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
	struct tmf_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		send_tmf_response(conn, bhs, ISCSI_TMF_RSP_REJECTED, false);
		return;
	}
	memcpy(ctx->bhs, bhs, ISCSI_BHS_LEN);
	ctx->conn = conn;
	ctx->msg.fn = answer;
	ctx->waiter.release = own_tasks_done;
	iscsi_conn_get(conn); /* dropped once answered */
	log_debug("%s: TMF function %u", conn->peer, bhs[1] & 0x7f);
	/* The first reference is ours: dropped after this connection's own
	 * aborted tasks have ended (the waiter); other nexuses take theirs. */
	uscst_fence_init(&ctx->fence, fence_done);
	ctx->response = run_function(conn, bhs, ctx);
	iscsi_conn_fence_wait(conn, &ctx->waiter);
}
