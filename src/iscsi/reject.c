/* Reject PDUs (RFC 7143 11.17): the rejected header goes back as data. */
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "lib/log.h"

void iscsi_send_reject(struct iscsi_conn *conn, const uint8_t *bhs, uint8_t reason)
{
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	uint8_t *copy = malloc(ISCSI_BHS_LEN);
	if (!tx || !copy) {
		free(tx);
		free(copy);
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	log_debug("%s: reject opcode 0x%02x reason 0x%02x", conn->peer, bhs[0] & 0x3f, reason);
	memcpy(copy, bhs, ISCSI_BHS_LEN);
	tx->hdr[0] = ISCSI_OP_REJECT;
	tx->hdr[1] = ISCSI_FLAG_FINAL;
	tx->hdr[2] = reason;
	put_be32(tx->hdr + 16, ISCSI_RESERVED_TAG);
	iscsi_put_sn(conn, tx->hdr, true);
	tx->data = copy;
	tx->owned = copy;
	tx->data_len = ISCSI_BHS_LEN;
	iscsi_tx_queue(conn, tx);
}
