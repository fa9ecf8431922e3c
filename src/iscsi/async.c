/*
 * Asynchronous Message PDUs (RFC 7143 11.9): opcode 0x32, F=1, the LUN
 * only for a SCSI event, ITT 0xffffffff, StatSN advanced (it is a status
 * the initiator acknowledges with ExpStatSN), AsyncEvent at byte 36,
 * AsyncVCode at 37, Parameter1..3 at 38, 40, 42.
 */
#include "iscsi/async.h"

#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"

bool iscsi_async_send(struct iscsi_conn *conn, const struct iscsi_async_msg *m)
{
	if (conn->state != CONN_FULL_FEATURE)
		return false;
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	if (!tx)
		return false;
	uint8_t *data = NULL;
	if (m->event == ISCSI_ASYNC_SCSI_EVENT && m->sense_len) {
		data = malloc(2u + m->sense_len);
		if (!data) {
			free(tx);
			return false;
		}
		put_be16(data, m->sense_len);
		memcpy(data + 2, m->sense, m->sense_len);
		tx->data = data;
		tx->owned = data;
		tx->data_len = 2u + m->sense_len;
	}
	uint8_t *h = tx->hdr;
	h[0] = ISCSI_OP_ASYNC_MSG;
	h[1] = ISCSI_FLAG_FINAL;
	if (m->event == ISCSI_ASYNC_SCSI_EVENT)
		iscsi_encode_lun(h + 8, m->lun);
	put_be32(h + 16, ISCSI_RESERVED_TAG);
	iscsi_put_sn(conn, h, true);
	h[36] = m->event;
	h[37] = m->event == ISCSI_ASYNC_VENDOR ? m->vcode : 0;
	put_be16(h + 38, m->param1);
	put_be16(h + 40, m->param2);
	put_be16(h + 42, m->param3);
	tx->close_after = m->close_after;
	iscsi_tx_queue(conn, tx);
	iscsi_conn_flush(conn);
	return true;
}

bool iscsi_async_logout_request(struct iscsi_conn *conn, uint16_t within_s)
{
	struct iscsi_async_msg m = {.event = ISCSI_ASYNC_LOGOUT_REQUEST, .param3 = within_s};
	return iscsi_async_send(conn, &m);
}

bool iscsi_async_drop_connection(struct iscsi_conn *conn, uint16_t time2wait, uint16_t time2retain,
				 bool close)
{
	struct iscsi_async_msg m = {.event = ISCSI_ASYNC_DROP_CONNECTION,
				    .param1 = conn->cid,
				    .param2 = time2wait,
				    .param3 = time2retain,
				    .close_after = close};
	return iscsi_async_send(conn, &m);
}

bool iscsi_async_drop_session(struct iscsi_conn *conn, uint16_t time2wait, uint16_t time2retain,
			      bool close)
{
	struct iscsi_async_msg m = {.event = ISCSI_ASYNC_DROP_SESSION,
				    .param2 = time2wait,
				    .param3 = time2retain,
				    .close_after = close};
	return iscsi_async_send(conn, &m);
}

bool iscsi_async_renegotiate(struct iscsi_conn *conn, uint16_t within_s)
{
	struct iscsi_async_msg m = {.event = ISCSI_ASYNC_RENEGOTIATE, .param3 = within_s};
	return iscsi_async_send(conn, &m);
}

bool iscsi_async_scsi_event(struct iscsi_conn *conn, uint64_t lun, const uint8_t *sense,
			    uint8_t sense_len)
{
	if (sense_len > 252)
		return false;
	struct iscsi_async_msg m = {
	    .event = ISCSI_ASYNC_SCSI_EVENT, .lun = lun, .sense = sense, .sense_len = sense_len};
	return iscsi_async_send(conn, &m);
}
