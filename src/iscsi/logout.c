/* Logout (RFC 7143 11.14, 11.15).  ErrorRecoveryLevel 0: removing a
 * connection for recovery is not supported. */
#include "iscsi/iscsi.h"

#define LOGOUT_CLOSE_SESSION 0
#define LOGOUT_CLOSE_CONNECTION 1
#define LOGOUT_REMOVE_FOR_RECOVERY 2

void iscsi_logout_rx(struct iscsi_conn *conn, const uint8_t *bhs)
{
	uint8_t reason = bhs[1] & 0x7f;
	uint8_t response = 0;
	if (reason == LOGOUT_REMOVE_FOR_RECOVERY)
		response = 2;
	else if (reason == LOGOUT_CLOSE_CONNECTION && get_be16(bhs + 20) != conn->cid)
		response = 1;
	else if (reason > LOGOUT_REMOVE_FOR_RECOVERY) {
		iscsi_send_reject(conn, bhs, ISCSI_REJECT_INVALID_PDU_FIELD);
		return;
	}
	iscsi_cmdsn_consume(conn, bhs);
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	if (!tx) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	tx->hdr[0] = ISCSI_OP_LOGOUT_RSP;
	tx->hdr[1] = ISCSI_FLAG_FINAL;
	tx->hdr[2] = response;
	put_be32(tx->hdr + 16, bhs_itt(bhs));
	iscsi_put_sn(conn, tx->hdr, true);
	put_be16(tx->hdr + 40, 0); /* Time2Wait */
	put_be16(tx->hdr + 42, 0); /* Time2Retain: nothing is kept (ERL 0) */
	if (response == 0) {
		tx->close_after = true;
		conn->state = CONN_LOGGED_OUT;
	}
	iscsi_tx_queue(conn, tx);
}
