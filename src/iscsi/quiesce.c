/*
 * Graceful stop (uscstd on SIGTERM): no new connection or login, and every
 * session is asked to log out (RFC 7143 11.9.1, AsyncEvent 1) within the
 * daemon's stop bound.  An initiator that honours it logs out; its logout
 * is answered once its commands in the backend have finished (logout.c),
 * so what it sent before is completed, not cut.  One that has not logged
 * out by the bound is told that its connection is dropped (AsyncEvent 2,
 * as 11.9.1 says of an initiator that does not log out within Parameter3)
 * and closed (iscsi_quiesce_drop_left, from the transport's stop).
 */
#include <stdlib.h>

#include "iscsi/async.h"
#include "iscsi/conn_limits.h"
#include "iscsi/iscsi.h"
#include "lib/log.h"

struct conn_job {
	struct iscsi_conn *conn; /* referenced */
	uint16_t wait_s;
};

/* On the connection's reactor.  A discovery session has nothing to finish:
 * it is closed. */
static void send_logout_request(void *arg)
{
	struct conn_job *r = arg;
	struct iscsi_conn *conn = r->conn;
	uint16_t wait_s = r->wait_s;
	free(r);
	if (conn->state == CONN_CLOSED) {
		/* Tasks kept for a reassignment that will not come. */
		iscsi_retain_drop(conn, "daemon stopping");
	} else if (conn->state == CONN_FULL_FEATURE && conn->sess && !conn->sess->tgt) {
		iscsi_conn_close(conn, "daemon stopping (discovery session)");
	} else if (conn->state == CONN_FULL_FEATURE) {
		if (iscsi_async_logout_request(conn, wait_s))
			log_info("connection %s: asked to log out within %u s", conn->peer, wait_s);
		else
			iscsi_conn_close(conn,
					 "daemon stopping (out of memory for the logout request)");
	}
	iscsi_conn_put(conn);
}

/* Runs fn(r) on s's reactor for every connection of s, with r->conn
 * referenced (not for one that is going already): AsyncEvent 1 and 2
 * concern the connection they are sent on. */
static void post_to_conn(struct iscsi_session *s, void (*fn)(void *), uint16_t wait_s)
{
	struct iscsi_conn *c;
	list_for_each_entry(c, &s->conns, sess_node)
	{
		struct conn_job *r = malloc(sizeof(*r));
		if (!r || !iscsi_conn_tryget(c)) {
			free(r);
			continue; /* being torn down already; without memory it is cut with
				     the process */
		}
		*r = (struct conn_job){.conn = c, .wait_s = wait_s};
		if (reactor_post(s->reactor, fn, r) < 0) {
			iscsi_conn_put(c);
			free(r);
		}
	}
}

static void ask_one(struct iscsi_session *s, void *arg)
{
	post_to_conn(s, send_logout_request, *(const uint16_t *)arg);
}

/* On the connection's reactor, at the bound: Time2Wait as negotiated,
 * Time2Retain 0 (nothing of the session is kept). */
static void send_drop(void *arg)
{
	struct conn_job *r = arg;
	struct iscsi_conn *conn = r->conn;
	free(r);
	conn->no_recovery = true; /* Time2Retain 0: no task is kept for reassignment */
	if (conn->state == CONN_FULL_FEATURE && conn->sess) {
		uint32_t t2w = conn->sess->params.default_time2wait;
		if (!iscsi_async_drop_connection(conn, t2w > 0xffff ? 0xffff : (uint16_t)t2w, 0,
						 true))
			iscsi_conn_close(conn, "daemon stopped");
	} else if (conn->state != CONN_CLOSED) {
		iscsi_conn_close(conn, "daemon stopped");
	} else {
		iscsi_retain_drop(conn, "daemon stopped"); /* failed, tasks kept (reassign.c) */
	}
	iscsi_conn_put(conn);
}

static void drop_one(struct iscsi_session *s, void *arg) { post_to_conn(s, send_drop, 0); }

void iscsi_quiesce_drop_left(void) { iscsi_sessions_close(drop_one, NULL); }

void iscsi_quiesce(const struct uscst_transport *t, unsigned wait_s)
{
	iscsi_portals_close(); /* no connection is accepted */
	uint16_t w = wait_s > 0xffff ? 0xffff : (uint16_t)wait_s;
	/* From now on a login fails with Service Unavailable (login.c). */
	iscsi_sessions_close(ask_one, &w);
}

unsigned iscsi_active(const struct uscst_transport *t) { return iscsi_conns_count(); }
