/*
 * A connection added to an existing session (MC/S, RFC 7143 6.3 and
 * 11.12): a login with the session's ISID and TSIH.
 *
 * Threading: a session, its connections and their tasks are touched only
 * by the session's reactor thread (iscsi.h).  A connection is accepted on
 * whichever reactor has the least load; its first Login request names the
 * session, and if that session lives on another reactor the connection
 * moves there (iscsi_conn_move) before the request is processed: the
 * whole login, and everything after, then runs on the session's thread.
 * CmdSN order across connections, the session-wide window and the core
 * session need no lock that way, at the price of not spreading one
 * session's connections over several threads.
 *
 * The session is looked up again when the login ends: it may have ended
 * meanwhile (its last connection gone), and its connection count is
 * checked against MaxConnections only then, on its own thread.
 */
#include <string.h>

#include "iscsi/conn_join.h"
#include "lib/log.h"

/* Connections of sess still in use, but for one with this CID (which a
 * new login replaces); *same_cid gets that one. */
static unsigned live_conns(struct iscsi_session *sess, uint16_t cid, struct iscsi_conn **same_cid)
{
	struct iscsi_conn *c;
	unsigned live = 0;
	*same_cid = NULL;
	list_for_each_entry(c, &sess->conns, sess_node)
	{
		if (c->state == CONN_CLOSED)
			continue;
		if (c->cid == cid)
			*same_cid = c;
		else
			live++;
	}
	return live;
}

enum join_first iscsi_join_first(struct iscsi_conn *conn, uint16_t tsih, const uint8_t *isid,
				 uint16_t cid, void (*arrived)(struct iscsi_conn *conn, void *arg))
{
	struct reactor *r = NULL;
	struct iscsi_session *sess = iscsi_session_find(tsih, isid, &r);
	if (!sess)
		return JOIN_NO_SESSION;
	if (r != conn->reactor) {
		iscsi_conn_move(conn, r, arrived, NULL);
		return JOIN_MOVING;
	}
	/* On the session's thread: a login that cannot succeed is refused at
	 * once (checked again when it ends). */
	struct iscsi_conn *same;
	if (live_conns(sess, cid, &same) >= sess->params.max_connections)
		return JOIN_TOO_MANY;
	return JOIN_HERE;
}

static bool session_alive(const struct iscsi_session *sess)
{
	const struct iscsi_conn *c;
	list_for_each_entry(c, &sess->conns, sess_node)
	{
		if (c->state != CONN_CLOSED || c->retaining)
			return true;
	}
	return false;
}

enum iscsi_login_status iscsi_join_session(struct iscsi_conn *conn, const struct iscsi_join *j,
					   const char **why)
{
	if (iscsi_sessions_closing()) {
		*why = "daemon stopping";
		return ISCSI_LS_SERVICE_UNAVAILABLE;
	}
	struct reactor *r = NULL;
	struct iscsi_session *sess = iscsi_session_find(j->tsih, j->isid, &r);
	/* A session whose connections all ended (none keeps tasks for
	 * recovery) is over, even while they are still being freed. */
	if (!sess || r != conn->reactor || !session_alive(sess)) {
		*why = "the session ended during the login";
		return ISCSI_LS_SESSION_DOES_NOT_EXIST;
	}
	/* A connection belongs to the nexus of its session: same initiator,
	 * same target port (target and portal group: RFC 7143 4.4.1, a
	 * session's connections all end in one portal group); a discovery
	 * session has one connection. */
	if (!sess->tgt || sess->tgt != j->tgt || sess->tpgt != j->tpgt ||
	    strcmp(sess->params.initiator_name, j->initiator_name) != 0) {
		*why = "not the session's initiator, target and portal group";
		return ISCSI_LS_CANT_INCLUDE_IN_SESSION;
	}
	struct iscsi_conn *same_cid;
	unsigned live = live_conns(sess, j->cid, &same_cid);
	if (live >= sess->params.max_connections) {
		*why = "MaxConnections reached";
		return ISCSI_LS_TOO_MANY_CONNECTIONS;
	}
	/* RFC 7143 6.3.4: a login with the CID of a connection still in the
	 * session logs that connection out implicitly (connection
	 * reinstatement); the new one takes its place. */
	if (same_cid)
		iscsi_conn_close(same_cid, "reinstated by a new login with its CID");
	conn->cid = j->cid;
	iscsi_session_add_conn(sess, conn);
	log_info("%s: connection cid %u added to session tsih %u (%u of at most %u)", conn->peer,
		 j->cid, sess->tsih, live + 1, sess->params.max_connections);
	return ISCSI_LS_SUCCESS;
}
