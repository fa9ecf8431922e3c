/* Logout (RFC 7143 11.14, 11.15): of the session (every connection), or
 * of one connection of it, named by its CID, from that connection or
 * from another (MC/S).  Removing a connection for recovery keeps its
 * tasks for reassignment at ErrorRecoveryLevel 2 (reassign.c); below, it
 * is not supported (response 2). */
#include "iscsi/iscsi.h"
#include "lib/log.h"

#define LOGOUT_CLOSE_SESSION 0
#define LOGOUT_CLOSE_CONNECTION 1
#define LOGOUT_REMOVE_FOR_RECOVERY 2

/* close_this: the Logout ends the connection it came on (after the
 * response is written). */
static void send_logout_rsp(struct iscsi_conn *conn, uint32_t itt, uint8_t response,
			    bool close_this)
{
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	if (!tx) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	tx->hdr[0] = ISCSI_OP_LOGOUT_RSP;
	tx->hdr[1] = ISCSI_FLAG_FINAL;
	tx->hdr[2] = response;
	put_be32(tx->hdr + 16, itt);
	iscsi_put_sn(conn, tx->hdr, true);
	/* Time2Wait and Time2Retain: how long tasks of a connection logged
	 * out are kept for reassignment (ErrorRecoveryLevel 2; else 0,
	 * nothing is kept). */
	const struct iscsi_params *p = &conn->sess->params;
	bool keeps = p->error_recovery_level >= 2 && conn->sess->core;
	put_be16(tx->hdr + 40, keeps ? (uint16_t)p->default_time2wait : 0);
	put_be16(tx->hdr + 42, keeps ? (uint16_t)p->default_time2retain : 0);
	if (response == 0 && close_this) {
		tx->close_after = true;
		conn->state = CONN_LOGGED_OUT;
	}
	iscsi_tx_queue(conn, tx);
}

static unsigned count_executing(const struct iscsi_conn *conn)
{
	unsigned n = 0;
	const struct iscsi_task *t;
	list_for_each_entry(t, &conn->tasks, node) if (t->state == TASK_EXECUTING) n++;
	return n;
}

/* The connection of conn's session with this CID: one still open, else
 * one that failed and retains its tasks (at ERL 2 the initiator logs that
 * one out for recovery, or closes it, from another connection: RFC 7143
 * 6.2.2). */
static struct iscsi_conn *find_cid(struct iscsi_conn *conn, uint16_t cid)
{
	struct iscsi_conn *c, *failed = NULL;
	list_for_each_entry(c, &conn->sess->conns, sess_node)
	{
		if (c->cid != cid)
			continue;
		if (c->state != CONN_CLOSED)
			return c;
		if (c->retaining)
			failed = c;
	}
	return failed;
}

/* Closing the session: its other connections end with this one. */
static void close_others(struct iscsi_conn *conn)
{
	struct iscsi_conn *c, *n;
	list_for_each_entry_safe(c, n, &conn->sess->conns, sess_node)
	{
		if (c != conn)
			iscsi_conn_end(c, "session logged out");
	}
}

void iscsi_logout_rx(struct iscsi_conn *conn, const uint8_t *bhs)
{
	uint8_t reason = bhs[1] & 0x7f;
	uint8_t response = 0;
	struct iscsi_conn *target = conn; /* the connection logged out */
	if (reason > LOGOUT_REMOVE_FOR_RECOVERY) {
		iscsi_send_reject(conn, bhs, ISCSI_REJECT_INVALID_PDU_FIELD);
		return;
	}
	if (reason != LOGOUT_CLOSE_SESSION) {
		target = find_cid(conn, get_be16(bhs + 20));
		if (!target)
			response = 1; /* CID not found */
		else if (reason == LOGOUT_REMOVE_FOR_RECOVERY &&
			 conn->sess->params.error_recovery_level < 2)
			response = 2; /* connection recovery is not supported */
	}
	iscsi_cmdsn_consume(conn, bhs);
	bool recovery = reason == LOGOUT_REMOVE_FOR_RECOVERY;
	if (response == 0 && target != conn) {
		/* Another connection: it ends now (if it has not failed
		 * already), and this one goes on.  "close the connection"
		 * terminates its commands (RFC 7143 11.14.1); "remove for
		 * recovery" keeps them for a TASK REASSIGN (reassign.c). */
		log_info("connection %s: cid %u logged out from cid %u%s", target->peer,
			 target->cid, conn->cid, recovery ? " for recovery" : "");
		if (recovery)
			iscsi_conn_close(target,
					 "removed for recovery by a Logout on another connection");
		else
			iscsi_conn_end(target, "logged out by a Logout on another connection");
		send_logout_rsp(conn, bhs_itt(bhs), 0, false);
		return;
	}
	if (response == 0 && !recovery)
		conn->no_recovery = true; /* its close keeps nothing */
	if (response == 0 && reason == LOGOUT_CLOSE_SESSION)
		close_others(conn);
	/*
	 * An initiator asked to log out (a graceful stop, quiesce.c) may send
	 * its Logout at once, immediate, with commands still in the backend
	 * (libiscsi does).  Those finish and are answered first: the answer
	 * waits until none is executing (iscsi_logout_pending_check), so
	 * the initiator learns they are done instead of retrying them.
	 * Nothing else is read meanwhile (CONN_LOGGED_OUT), and RspTimeout
	 * still bounds the wait.
	 */
	/* Removed for recovery, its commands are kept: nothing to wait for. */
	unsigned executing = response == 0 && !recovery ? count_executing(conn) : 0;
	if (executing) {
		log_info("connection %s: logout answered once its %u command(s) in the backend end",
			 conn->peer, executing);
		conn->state = CONN_LOGGED_OUT;
		conn->logout_pending = true;
		conn->logout_itt = bhs_itt(bhs);
		return;
	}
	send_logout_rsp(conn, bhs_itt(bhs), response, true);
}

void iscsi_logout_pending_check(struct iscsi_conn *conn)
{
	if (!conn->logout_pending || count_executing(conn))
		return;
	conn->logout_pending = false;
	send_logout_rsp(conn, conn->logout_itt, 0, true);
}
