/*
 * NOP-Out / NOP-In (RFC 7143 11.18, 11.19): answering pings, and pinging
 * idle initiators every NopInInterval seconds; a connection whose ping goes
 * unanswered for NopInTimeout seconds is dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/async.h"
#include "iscsi/iscsi.h"
#include "lib/log.h"

#define LOGIN_TIMEOUT_MS 30000

void iscsi_nop_out_rx(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data,
		      uint32_t dlen)
{
	uint32_t itt = bhs_itt(bhs);
	uint32_t ttt = get_be32(bhs + 20);
	if (ttt != ISCSI_RESERVED_TAG) {
		/* The answer to our NOP-In; it has no answer itself. */
		if (ttt == conn->nop_ttt)
			conn->nop_sent_ms = 0;
		return;
	}
	if (itt == ISCSI_RESERVED_TAG) {
		/* A ping that wants no answer must be immediate (RFC 7143 11.18). */
		if (!(bhs[0] & ISCSI_OP_IMMEDIATE)) {
			iscsi_send_reject(conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR);
			iscsi_cmdsn_consume(conn, bhs); /* still takes its CmdSN */
		}
		return;
	}
	iscsi_cmdsn_consume(conn, bhs);
	/* RFC 7143 11.19: the ping data is returned "up to the first
	 * MaxRecvDataSegmentLength bytes" the initiator declared. */
	if (dlen > conn->max_xmit_dsl)
		dlen = conn->max_xmit_dsl;
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	uint8_t *copy = dlen ? malloc(dlen) : NULL;
	if (!tx || (dlen && !copy)) {
		free(tx);
		free(copy);
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	tx->hdr[0] = ISCSI_OP_NOP_IN;
	tx->hdr[1] = ISCSI_FLAG_FINAL;
	memcpy(tx->hdr + 8, bhs + 8, 8);
	put_be32(tx->hdr + 16, itt);
	put_be32(tx->hdr + 20, ISCSI_RESERVED_TAG);
	iscsi_put_sn(conn, tx->hdr, true);
	if (dlen) {
		memcpy(copy, data, dlen); /* ping data is echoed back */
		tx->data = copy;
		tx->owned = copy;
		tx->data_len = dlen;
	}
	iscsi_tx_queue(conn, tx);
}

static void send_ping(struct iscsi_conn *conn, uint64_t now_ms)
{
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	if (!tx)
		return;
	conn->nop_ttt = conn->next_ttt++;
	if (conn->nop_ttt == ISCSI_RESERVED_TAG)
		conn->nop_ttt = conn->next_ttt++;
	tx->hdr[0] = ISCSI_OP_NOP_IN;
	tx->hdr[1] = ISCSI_FLAG_FINAL;
	put_be32(tx->hdr + 16, ISCSI_RESERVED_TAG);
	put_be32(tx->hdr + 20, conn->nop_ttt);
	iscsi_put_sn(conn, tx->hdr, false); /* StatSN is not advanced */
	iscsi_tx_queue(conn, tx);
	conn->nop_sent_ms = now_ms;
}

/*
 * A task now counts against the CmdSN window until its last PDU is written,
 * so a response may carry MaxCmdSN = ExpCmdSN - 1 (window closed) and the
 * tasks that closed it go away only afterwards, with no PDU left to say
 * so.  An initiator that waits for the window would wait for ever: tell it
 * with a NOP-In that asks for no answer (ITT and TTT 0xffffffff, StatSN not
 * advanced; RFC 7143 11.19).
 */
bool iscsi_nop_window_update(struct iscsi_conn *conn)
{
	struct iscsi_session *sess = conn->sess;
	if (conn->state != CONN_FULL_FEATURE || !sess || !sess->core ||
	    !sn_lt(sess->max_cmdsn, sess->exp_cmdsn) || sess->nactive >= sess->cmd_window)
		return false;
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	if (!tx)
		return false; /* the next tick tries again */
	tx->hdr[0] = ISCSI_OP_NOP_IN;
	tx->hdr[1] = ISCSI_FLAG_FINAL;
	put_be32(tx->hdr + 16, ISCSI_RESERVED_TAG);
	put_be32(tx->hdr + 20, ISCSI_RESERVED_TAG);
	iscsi_put_sn(conn, tx->hdr, false);
	iscsi_tx_queue(conn, tx);
	return true;
}

void iscsi_nop_tick(struct iscsi_conn *conn, uint64_t now_ms)
{
	if (conn->state == CONN_LOGIN) {
		if (now_ms - conn->last_rx_ms > LOGIN_TIMEOUT_MS)
			iscsi_conn_close(conn, "login timed out");
		return;
	}
	if (conn->state != CONN_FULL_FEATURE || !conn->sess)
		return;
	const struct iscsi_target_limits *lim = &conn->sess->lim;
	if (conn->nop_sent_ms) {
		if (now_ms - conn->nop_sent_ms > (uint64_t)lim->nop_in_timeout * 1000)
			iscsi_conn_drop(conn, "no answer to NOP-In");
		return;
	}
	if (lim->nop_in_interval &&
	    now_ms - conn->last_rx_ms >= (uint64_t)lim->nop_in_interval * 1000)
		send_ping(conn, now_ms);
}
