/*
 * The target ending connections on its own, and telling the initiator
 * first (RFC 7143 11.9.1).
 *
 * A whole session (the administrator closes it, its target is disabled,
 * its initiator loses access, or a TARGET COLD RESET from another session;
 * core drop_nexus): AsyncEvent 3 on each of its connections, then each is
 * closed once that message is written.  Its commands are already aborted
 * (the core does so before drop_nexus), so nothing is kept: Parameter3
 * (Time2Retain) is 0, which 11.9.1 defines as "the session is terminated";
 * Parameter2 is the negotiated DefaultTime2Wait, the least the initiator
 * waits before it logs in again.  Nothing is read on a connection once the
 * message is queued (CONN_LOGGED_OUT).  A connection of it that failed
 * and keeps tasks for reassignment (ErrorRecoveryLevel 2) drops them: the
 * session they could be reassigned in is gone.
 *
 * One connection of a session (a header digest error, RspTimeout, no
 * answer to NOP-In, a receive buffer it overflows): AsyncEvent 2 with its
 * CID goes out on another live connection of the session, since the
 * dropped one is either broken or not trusted any more.  It is sent after
 * the close, which decides whether the tasks are kept for reassignment
 * (ErrorRecoveryLevel 2, reassign.c): Parameter3 is then DefaultTime2Retain,
 * else 0 ("the target will terminate all outstanding commands on this
 * connection").  With no other connection, the session ends with it and
 * there is nobody to tell.  Connections the initiator itself ends (a
 * Logout, a login that reinstates its CID) get no message: the initiator
 * asked for it, and the Logout Response carries Time2Wait/Time2Retain.
 */
#include "iscsi/async.h"
#include "iscsi/iscsi.h"
#include "lib/log.h"

static uint16_t secs16(uint32_t s) { return s > 0xffff ? 0xffff : (uint16_t)s; }

/* A failed connection's retained tasks go too, from a job of their own:
 * dropping them may free the connection, and with the last one the
 * session being walked. */
static void drop_retained(void *arg)
{
	struct iscsi_conn *c = arg;
	iscsi_retain_drop(c, "session ended by the target");
	iscsi_conn_put(c);
}

void iscsi_session_drop(struct iscsi_session *sess, const char *why)
{
	uint16_t t2w = secs16(sess->params.default_time2wait);
	struct iscsi_conn *c, *n;
	list_for_each_entry_safe(c, n, &sess->conns, sess_node)
	{
		c->no_recovery = true; /* Time2Retain 0: no task is kept */
		if (c->state == CONN_CLOSED) {
			if (c->retaining && iscsi_conn_tryget(c) &&
			    reactor_post(sess->reactor, drop_retained, c) < 0)
				iscsi_conn_put(c); /* kept until Time2Retain ends */
			continue;
		}
		if (c->state == CONN_FULL_FEATURE && iscsi_async_drop_session(c, t2w, 0, true)) {
			log_info("connection %s (cid %u): told the session is dropped (%s)",
				 c->peer, c->cid, why);
			/* Closed once written (it may be already). */
			if (c->state == CONN_FULL_FEATURE)
				c->state = CONN_LOGGED_OUT;
			continue;
		}
		iscsi_conn_end(c, why);
	}
}

void iscsi_conn_drop(struct iscsi_conn *conn, const char *why)
{
	struct iscsi_session *sess = conn->sess;
	bool was_ffp = conn->state == CONN_FULL_FEATURE;
	iscsi_conn_close(conn, why);
	if (!was_ffp || !sess || !sess->core)
		return;
	struct iscsi_async_msg m = {
	    .event = ISCSI_ASYNC_DROP_CONNECTION,
	    .param1 = conn->cid,
	    .param2 = secs16(sess->params.default_time2wait),
	    .param3 = conn->retaining ? secs16(sess->params.default_time2retain) : 0,
	};
	struct iscsi_conn *c;
	list_for_each_entry(c, &sess->conns, sess_node)
	{
		if (c != conn && c->state == CONN_FULL_FEATURE && iscsi_async_send(c, &m)) {
			log_info("connection %s (cid %u): told cid %u is dropped", c->peer, c->cid,
				 conn->cid);
			return;
		}
	}
}
