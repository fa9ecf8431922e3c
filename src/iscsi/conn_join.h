/*
 * Adding a connection to an existing session (MC/S): see conn_join.c.
 */
#ifndef USCST_ISCSI_CONN_JOIN_H
#define USCST_ISCSI_CONN_JOIN_H

#include "iscsi/iscsi.h"

enum join_first {
	JOIN_HERE,	 /* the session lives on this reactor: go on */
	JOIN_MOVING,	 /* moving to the session's reactor: arrived() goes on there */
	JOIN_NO_SESSION, /* no session with this ISID and TSIH (02/0A) */
	JOIN_TOO_MANY,	 /* MaxConnections reached (02/06) */
};

/* On the first Login request with a TSIH (and this CID). */
enum join_first iscsi_join_first(struct iscsi_conn *conn, uint16_t tsih, const uint8_t *isid,
				 uint16_t cid, void (*arrived)(struct iscsi_conn *conn, void *arg));

/* What the login of the added connection established. */
struct iscsi_join {
	uint16_t tsih;
	uint16_t cid;
	const uint8_t *isid;
	const struct uscst_target *tgt;
	uint16_t tpgt; /* the portal group it logged in through */
	const char *initiator_name;
};

/* When that login goes to full feature phase: conn joins the session, or
 * the Login status refusing it (with *why). */
enum iscsi_login_status iscsi_join_session(struct iscsi_conn *conn, const struct iscsi_join *j,
					   const char **why);

#endif
