/*
 * Graceful stop (uscstd on SIGTERM): no new connection or login, and every
 * session is asked to log out (RFC 7143 11.9.1, AsyncEvent 1) within the
 * daemon's stop bound.  An initiator that honours it logs out; its logout
 * is answered once its commands in the backend have finished (logout.c),
 * so what it sent before is completed, not cut.
 */
#include <stdlib.h>

#include "iscsi/conn_limits.h"
#include "iscsi/iscsi.h"
#include "lib/log.h"

#define ASYNC_EVENT_LOGOUT_REQUEST 1

struct logout_request {
	struct iscsi_conn *conn; /* referenced */
	uint16_t wait_s;
};

/* On the connection's reactor.  A discovery session has nothing to finish:
 * it is closed. */
static void send_logout_request(void *arg)
{
	struct logout_request *r = arg;
	struct iscsi_conn *conn = r->conn;
	uint16_t wait_s = r->wait_s;
	free(r);
	if (conn->state == CONN_FULL_FEATURE && conn->sess && !conn->sess->tgt) {
		iscsi_conn_close(conn, "daemon stopping (discovery session)");
	} else if (conn->state == CONN_FULL_FEATURE) {
		struct iscsi_tx *tx = iscsi_tx_new(conn);
		if (!tx) {
			iscsi_conn_close(conn,
					 "daemon stopping (out of memory for the logout request)");
		} else {
			tx->hdr[0] = ISCSI_OP_ASYNC_MSG;
			tx->hdr[1] = ISCSI_FLAG_FINAL;
			put_be32(tx->hdr + 16, ISCSI_RESERVED_TAG);
			iscsi_put_sn(conn, tx->hdr, true); /* an Async Message takes a StatSN */
			tx->hdr[36] = ASYNC_EVENT_LOGOUT_REQUEST;
			put_be16(tx->hdr + 42, wait_s); /* Parameter3: log out within */
			iscsi_tx_queue(conn, tx);
			iscsi_conn_flush(conn);
			log_info("connection %s: asked to log out within %u s", conn->peer, wait_s);
		}
	}
	iscsi_conn_put(conn);
}

static void ask_one(struct iscsi_session *s, void *arg)
{
	uint16_t wait_s = *(const uint16_t *)arg;
	struct logout_request *r = malloc(sizeof(*r));
	if (!r || !iscsi_conn_tryget(s->conn)) {
		free(r);
		return; /* being torn down already; without memory it is dropped at the bound */
	}
	*r = (struct logout_request){.conn = s->conn, .wait_s = wait_s};
	if (reactor_post(s->reactor, send_logout_request, r) < 0) {
		iscsi_conn_put(s->conn);
		free(r);
	}
}

void iscsi_quiesce(const struct uscst_transport *t, unsigned wait_s)
{
	iscsi_portals_close(); /* no connection is accepted */
	uint16_t w = wait_s > 0xffff ? 0xffff : (uint16_t)wait_s;
	/* From now on a login fails with Service Unavailable (login.c). */
	iscsi_sessions_close(ask_one, &w);
}

unsigned iscsi_active(const struct uscst_transport *t) { return iscsi_conns_count(); }
