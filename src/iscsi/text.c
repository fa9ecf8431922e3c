/*
 * Text requests in full feature phase (RFC 7143 11.10, 11.11): SendTargets
 * discovery, and the keys that may be negotiated then (params.c; in
 * practice MaxRecvDataSegmentLength, which takes effect for what we send
 * once the answer is out).  An answer longer than the initiator's
 * MaxRecvDataSegmentLength goes out in pieces with the C bit; the
 * initiator fetches each next piece with an empty Text Request carrying
 * our Target Transfer Tag.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/allowed_portal.h"
#include "iscsi/iscsi.h"
#include "iscsi/portal_group.h"
#include "iscsi/portal_list.h"
#include "iscsi/sendtargets.h"
#include "lib/log.h"

struct foreach_ctx {
	struct iscsi_conn *conn;
	sendtargets_emit_fn emit;
	void *emit_ctx;
	const struct portal_list *portals; /* the request's first */
};

static void emit_target(struct uscst_target *tgt, void *arg)
{
	struct foreach_ctx *c = arg;
	/* A target the request's portal does not admit (allowed_portal) is
	 * not listed at all, as in iSCSI-SCST: discovery through a portal
	 * shows what may be reached through it. */
	if (!uscst_target_allows(tgt, c->conn->sess->params.initiator_name) ||
	    !iscsi_portal_allowed(tgt, c->conn->local_addr))
		return;
	/* Every portal it is reachable on (RFC 7143 13.3), each with the tag
	 * of its portal group for this target. */
	struct sendtargets_portal portals[PORTAL_LIST_MAX];
	unsigned n = 0;
	for (unsigned i = 0; i < c->portals->n; i++) {
		const char *addr = c->portals->addr[i];
		if (!iscsi_portal_allowed(tgt, addr))
			continue;
		uint16_t rel;
		portals[n].host = c->portals->host[i];
		portals[n].port = c->portals->port[i];
		iscsi_portal_group_of(tgt, addr, &portals[n].tpgt, &rel);
		n++;
	}
	struct sendtargets_target t = {uscst_target_name(tgt), portals, n};
	c->emit(c->emit_ctx, &t);
}

static void for_each_target(void *arg, sendtargets_emit_fn emit, void *ctx)
{
	struct foreach_ctx *c = arg;
	c->emit = emit;
	c->emit_ctx = ctx;
	uscst_target_foreach(emit_target, c);
}

static void send_text_response(struct iscsi_conn *conn, const uint8_t *req)
{
	struct text_buf *b = conn->text_pending;
	uint32_t left = (uint32_t)b->len - conn->text_sent;
	uint32_t n = left < conn->max_xmit_dsl ? left : conn->max_xmit_dsl;
	bool more = n < left;
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	uint8_t *copy = n ? malloc(n) : NULL;
	if (!tx || (n && !copy)) {
		free(tx);
		free(copy);
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	tx->hdr[0] = ISCSI_OP_TEXT_RSP;
	tx->hdr[1] = more ? ISCSI_FLAG_CONTINUE : ISCSI_FLAG_FINAL;
	memcpy(tx->hdr + 8, req + 8, 8);
	put_be32(tx->hdr + 16, bhs_itt(req));
	if (more) {
		conn->text_ttt = conn->next_ttt++;
		put_be32(tx->hdr + 20, conn->text_ttt);
	} else {
		put_be32(tx->hdr + 20, ISCSI_RESERVED_TAG);
	}
	iscsi_put_sn(conn, tx->hdr, true);
	if (n) {
		memcpy(copy, b->data + conn->text_sent, n);
		tx->data = copy;
		tx->owned = copy;
		tx->data_len = n;
	}
	iscsi_tx_queue(conn, tx);
	conn->text_sent += n;
	if (!more) {
		text_buf_free(b);
		free(b);
		conn->text_pending = NULL;
		/* The negotiation is over: the new value governs what follows. */
		if (conn->text_xmit_dsl)
			conn->max_xmit_dsl = conn->text_xmit_dsl;
		conn->text_xmit_dsl = 0;
	}
}

static bool build_answer(struct iscsi_conn *conn, const struct text_kv_list *keys,
			 struct text_buf *out)
{
	struct iscsi_session *sess = conn->sess;
	for (unsigned i = 0; i < keys->count; i++) {
		const struct text_kv *kv = &keys->pairs[i];
		if (!strcmp(kv->key, "SendTargets")) {
			/* About 3 KiB, once per SendTargets. */
			struct portal_list portals;
			char bound[PORTAL_LIST_MAX][PORTAL_ADDR_MAX];
			unsigned nbound = iscsi_portal_bound_addrs(bound, PORTAL_LIST_MAX);
			portal_list_build(&portals, conn->local_addr, (const void *)bound, nbound);
			struct foreach_ctx c = {.conn = conn, .portals = &portals};
			sendtargets_build(kv->value, sess->params.session_type,
					  sess->tgt ? uscst_target_name(sess->tgt) : NULL,
					  for_each_target, &c, out);
		} else {
			iscsi_ffp_negotiate_key(kv, &sess->lim, out, &conn->text_xmit_dsl);
		}
	}
	return text_buf_error(out) == TEXT_KV_OK;
}

void iscsi_text_rx(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data, uint32_t dlen)
{
	uint32_t ttt = get_be32(bhs + 20);
	iscsi_cmdsn_consume(conn, bhs);
	if (ttt != ISCSI_RESERVED_TAG) {
		if (!conn->text_pending || ttt != conn->text_ttt) {
			iscsi_send_reject(conn, bhs, ISCSI_REJECT_INVALID_PDU_FIELD);
			return;
		}
		send_text_response(conn, bhs);
		return;
	}
	if (bhs[1] & ISCSI_FLAG_CONTINUE) {
		/* Multi-PDU requests are not needed for SendTargets. */
		iscsi_send_reject(conn, bhs, ISCSI_REJECT_CMD_NOT_SUPPORTED);
		return;
	}
	if (conn->text_pending) {
		/* A new request abandons the previous answer (RFC 7143 11.10.4). */
		text_buf_free(conn->text_pending);
		free(conn->text_pending);
		conn->text_pending = NULL;
	}
	struct text_kv_list keys;
	if (text_kv_parse(data, dlen, &keys, NULL) != TEXT_KV_OK) {
		text_kv_list_free(&keys);
		iscsi_send_reject(conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR);
		return;
	}
	struct text_buf *out = malloc(sizeof(*out));
	if (!out) {
		text_kv_list_free(&keys);
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	text_buf_init(out, 0);
	conn->text_xmit_dsl = 0;
	bool ok = build_answer(conn, &keys, out);
	text_kv_list_free(&keys);
	if (!ok) {
		text_buf_free(out);
		free(out);
		iscsi_send_reject(conn, bhs, ISCSI_REJECT_OUT_OF_RESOURCES);
		return;
	}
	conn->text_pending = out;
	conn->text_sent = 0;
	send_text_response(conn, bhs);
}
