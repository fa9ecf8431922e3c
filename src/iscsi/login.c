/*
 * Login phase (RFC 7143 6.3, 11.12, 11.13): stage transitions, key
 * negotiation (through iscsi/params.c), target look-up, TSIH assignment,
 * session reinstatement, and connections added to a session (MC/S,
 * conn_join.c).  A failed login gets a Login Response with the
 * status class/detail of RFC 7143 11.13.5 and the connection is closed
 * after it is sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/allowed_portal.h"
#include "iscsi/chap.h"
#include "iscsi/cmd_window.h"
#include "iscsi/conn_join.h"
#include "iscsi/driver.h"
#include "iscsi/iscsi.h"
#include "iscsi/iscsi_name.h"
#include "iscsi/portal_group.h"
#include "iscsi/redirect.h"
#include "lib/log.h"

#define LOGIN_TEXT_MAX (64u * 1024)
#define TARGET_PORTAL_GROUP_TAG 1

struct iscsi_login {
	struct iscsi_login_neg neg;
	struct iscsi_params params;
	struct iscsi_target_limits lim;
	struct uscst_target *tgt;
	uint16_t rel_port_id;	   /* of the target port (portal group neg.tpgt) */
	struct chap_exchange chap; /* when neg.chap_required */
	bool started;
	uint8_t isid[6];
	uint16_t tsih;
	uint16_t cid;
	uint32_t itt;
	uint32_t cmdsn;
	bool join;	 /* adds a connection to the session l->tsih names */
	uint8_t *replay; /* the first request, processed again after a move */
	uint32_t replay_dlen;
	uint8_t stage; /* the stage the target is in */
	uint8_t *acc;  /* text of C=1 PDUs being reassembled */
	uint32_t acc_len;
};

void iscsi_login_free(struct iscsi_conn *conn)
{
	if (!conn->login)
		return;
	free(conn->login->acc);
	free(conn->login->replay);
	free(conn->login);
	conn->login = NULL;
}

static void fill_response_header(struct iscsi_conn *conn, struct iscsi_login *l, uint8_t *hdr,
				 uint8_t flags, uint32_t max_cmdsn)
{
	hdr[0] = ISCSI_OP_LOGIN_RSP;
	hdr[1] = flags;
	hdr[2] = 0x00; /* Version-max */
	hdr[3] = 0x00; /* Version-active */
	memcpy(hdr + 8, l->isid, 6);
	put_be16(hdr + 14, l->tsih);
	put_be32(hdr + 16, l->itt);
	put_be32(hdr + 24, conn->stat_sn++);
	put_be32(hdr + 28, l->cmdsn);
	put_be32(hdr + 32, max_cmdsn);
}

static void login_fail(struct iscsi_conn *conn, enum iscsi_login_status status, const char *why)
{
	struct iscsi_login *l = conn->login;
	log_info("login from %s (%s) to portal %s failed: status 0x%04x: %s", conn->peer,
		 l->params.initiator_name[0] ? l->params.initiator_name : "?", conn->local_addr,
		 status, why);
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	if (!tx) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	fill_response_header(conn, l, tx->hdr, 0, l->cmdsn);
	put_be16(tx->hdr + 14, 0);
	tx->hdr[36] = iscsi_ls_class(status);
	tx->hdr[37] = iscsi_ls_detail(status);
	tx->close_after = true;
	iscsi_tx_queue(conn, tx);
	/* Nothing more is read from this connection. */
	conn->state = CONN_LOGGED_OUT;
}

/* RFC 7143 11.13.5: status class 1, the target's new address in the data
 * segment; the connection is closed after it. */
static void login_redirect(struct iscsi_conn *conn, enum iscsi_login_status status,
			   const char *initiator, const char *addr)
{
	struct iscsi_login *l = conn->login;
	log_info("login from %s (%s) to %s redirected %s to %s", conn->peer, initiator,
		 uscst_target_name(l->tgt),
		 status == ISCSI_LS_TARGET_MOVED_PERM ? "permanently" : "temporarily", addr);
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	struct text_buf *b = malloc(sizeof(*b));
	if (!tx || !b) {
		free(tx);
		free(b);
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	text_buf_init(b, 0);
	text_buf_add(b, "TargetAddress", addr);
	fill_response_header(conn, l, tx->hdr, 0, l->cmdsn);
	put_be16(tx->hdr + 14, 0);
	tx->hdr[36] = iscsi_ls_class(status);
	tx->hdr[37] = iscsi_ls_detail(status);
	if (text_buf_error(b) == TEXT_KV_OK) {
		tx->data = (const uint8_t *)b->data;
		tx->owned = b->data;
		tx->data_len = (uint32_t)b->len;
	} else {
		text_buf_free(b);
	}
	free(b);
	tx->close_after = true;
	iscsi_tx_queue(conn, tx);
	conn->state = CONN_LOGGED_OUT;
}

static const char *target_attr_get(void *arg, const char *name)
{
	return uscst_target_attr(arg, name);
}

/* CHAP accounts: a target's own, or the driver's for discovery sessions. */
static const char *target_incoming(void *arg, unsigned i)
{
	return uscst_target_attr_at(arg, "IncomingUser", i);
}

static const char *discovery_incoming(void *arg, unsigned i)
{
	return uscst_transport_driver_attr(&iscsi_driver, "IncomingUser", i);
}

static struct chap_accounts login_accounts(const struct iscsi_login *l)
{
	if (l->tgt)
		return (struct chap_accounts){target_incoming,
					      uscst_target_attr(l->tgt, "OutgoingUser"), l->tgt};
	return (struct chap_accounts){discovery_incoming,
				      uscst_transport_driver_attr(&iscsi_driver, "OutgoingUser", 0),
				      NULL};
}

/* On the first request: which target, and with which limits. */
static bool resolve_target(struct iscsi_conn *conn, struct iscsi_login *l,
			   const struct text_kv_list *keys)
{
	const struct text_kv *st = text_kv_find(keys, "SessionType");
	const struct text_kv *tn = text_kv_find(keys, "TargetName");
	if (st && !strcmp(st->value, "Discovery")) {
		l->neg.chap_required = discovery_incoming(NULL, 0) != NULL;
		return true;
	}
	if (!tn)
		return true; /* the negotiation reports the missing key */
	l->tgt = uscst_target_find(tn->value);
	if (!l->tgt || !uscst_target_enabled(l->tgt)) {
		login_fail(conn, ISCSI_LS_NOT_FOUND, "unknown target");
		return false;
	}
	const struct text_kv *in = text_kv_find(keys, "InitiatorName");
	if (in && !uscst_target_allows(l->tgt, in->value)) {
		login_fail(conn, ISCSI_LS_AUTHORIZATION_FAILURE, "initiator not allowed");
		return false;
	}
	char moved_to[REDIRECT_PORTAL_MAX];
	enum iscsi_login_status moved = iscsi_target_redirect(l->tgt, moved_to, sizeof(moved_to));
	if (moved != ISCSI_LS_SUCCESS) {
		login_redirect(conn, moved, in ? in->value : "?", moved_to);
		return false;
	}
	if (!iscsi_portal_allowed(l->tgt, conn->local_addr)) {
		login_fail(conn, ISCSI_LS_AUTHORIZATION_FAILURE, "portal not in allowed_portal");
		return false;
	}
	/* Its portal group: the tag answered, the SCSI target port used. */
	iscsi_portal_group_of(l->tgt, conn->local_addr, &l->neg.tpgt, &l->rel_port_id);
	char err[160];
	if (iscsi_target_limits_load(&l->lim, target_attr_get, l->tgt, err, sizeof(err))) {
		login_fail(conn, ISCSI_LS_TARGET_ERROR, err);
		return false;
	}
	l->neg.chap_required = target_incoming(l->tgt, 0) != NULL;
	return true;
}

/*
 * The security stage of a target with CHAP accounts: AuthMethod=CHAP must
 * be agreed, then chap_step() runs on every later request of the stage.
 * Sets *awaiting while the exchange needs another request (the response
 * then has T=0).  false when the login failed.
 */
static bool chap_stage(struct iscsi_conn *conn, struct iscsi_login *l,
		       const struct text_kv_list *keys, bool transit, struct text_buf *rsp,
		       bool *awaiting)
{
	if (!l->neg.chap_chosen) {
		if (transit) {
			login_fail(conn, ISCSI_LS_AUTH_FAILURE, "CHAP required, not negotiated");
			return false;
		}
		*awaiting = true;
		return true;
	}
	if (text_kv_find(keys, "AuthMethod")) {
		/* CHAP_A belongs in the request after our AuthMethod=CHAP. */
		if (chap_keys_present(keys)) {
			login_fail(conn, ISCSI_LS_INITIATOR_ERROR,
				   "CHAP keys before AuthMethod=CHAP was answered");
			return false;
		}
		chap_init(&l->chap);
		*awaiting = true;
		return true;
	}
	bool was_done = l->chap.state == CHAP_DONE;
	struct chap_accounts acc = login_accounts(l);
	enum iscsi_login_status status = ISCSI_LS_AUTH_FAILURE;
	char why[128] = "";
	enum chap_step_result rc = chap_step(&l->chap, &acc, keys, rsp, &status, why, sizeof(why));
	if (rc == CHAP_STEP_FAIL) {
		login_fail(conn, status, why);
		return false;
	}
	if (rc == CHAP_STEP_DONE && !was_done)
		log_info("%s: %s authenticated by CHAP (%s%s) as '%s' on portal %s", conn->peer,
			 l->params.initiator_name, chap_alg_name(l->chap.alg),
			 l->chap.mutual ? ", mutual" : "", l->chap.user, conn->local_addr);
	*awaiting = rc != CHAP_STEP_DONE;
	return true;
}

static void login_replay(struct iscsi_conn *conn, void *arg)
{
	(void)arg;
	struct iscsi_login *l = conn->login;
	uint8_t *pdu = l->replay;
	l->replay = NULL;
	iscsi_login_rx(conn, pdu, pdu + ISCSI_BHS_LEN, l->replay_dlen);
	free(pdu);
}

/* A login with a TSIH adds a connection to that session (conn_join.c).
 * false: refused, or moving to the session's reactor, where the request
 * is processed again (login_replay). */
static bool join_first(struct iscsi_conn *conn, struct iscsi_login *l, const uint8_t *bhs,
		       const uint8_t *data, uint32_t dlen)
{
	l->join = true;
	switch (iscsi_join_first(conn, l->tsih, l->isid, l->cid, login_replay)) {
	case JOIN_HERE:
		return true;
	case JOIN_TOO_MANY:
		login_fail(conn, ISCSI_LS_TOO_MANY_CONNECTIONS, "MaxConnections reached");
		return false;
	case JOIN_NO_SESSION:
		login_fail(conn, ISCSI_LS_SESSION_DOES_NOT_EXIST,
			   "no session with this ISID and TSIH");
		return false;
	case JOIN_MOVING:
	default:
		break;
	}
	l->replay = malloc(ISCSI_BHS_LEN + dlen);
	if (!l->replay) {
		iscsi_conn_close(conn, "out of memory");
		return false;
	}
	memcpy(l->replay, bhs, ISCSI_BHS_LEN);
	memcpy(l->replay + ISCSI_BHS_LEN, data, dlen);
	l->replay_dlen = dlen;
	return false;
}

static bool check_first_request(struct iscsi_conn *conn, struct iscsi_login *l, const uint8_t *bhs,
				const uint8_t *data, uint32_t dlen)
{
	/* Taken first: every Login Response, a refusal too, names the
	 * session's ISID (RFC 7143 11.13). */
	memcpy(l->isid, bhs + 8, 6);
	/* Only version 0 exists (RFC 7143 11.12.4). */
	if (bhs[3] > 0x00) {
		login_fail(conn, ISCSI_LS_UNSUPPORTED_VERSION, "unsupported version");
		return false;
	}
	l->tsih = get_be16(bhs + 14);
	l->cid = get_be16(bhs + 20);
	l->cmdsn = get_be32(bhs + 24);
	conn->stat_sn = get_be32(bhs + 28); /* our StatSN starts at their ExpStatSN */
	if (l->tsih != 0 && !join_first(conn, l, bhs, data, dlen))
		return false;
	l->started = true;
	return true;
}

/* Gathers the text of C=1 PDUs; true when the text is complete. */
static bool reassemble(struct iscsi_conn *conn, struct iscsi_login *l, const uint8_t *bhs,
		       const uint8_t *data, uint32_t dlen)
{
	if (l->acc_len + dlen > LOGIN_TEXT_MAX) {
		login_fail(conn, ISCSI_LS_INITIATOR_ERROR, "login text too long");
		return false;
	}
	uint8_t *p = realloc(l->acc, l->acc_len + dlen + 1);
	if (!p) {
		login_fail(conn, ISCSI_LS_OUT_OF_RESOURCES, "out of memory");
		return false;
	}
	l->acc = p;
	memcpy(l->acc + l->acc_len, data, dlen);
	l->acc_len += dlen;
	if (!(bhs[1] & ISCSI_FLAG_CONTINUE))
		return true;
	/* RFC 7143 11.13.1: answer a C=1 request with an empty response, in
	 * the stage the request is in (a first request may start at CSG=1). */
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	if (!tx) {
		iscsi_conn_close(conn, "out of memory");
		return false;
	}
	fill_response_header(conn, l, tx->hdr, (uint8_t)(bhs[1] & 0x0c), l->cmdsn);
	iscsi_tx_queue(conn, tx);
	return false;
}

static bool stages_valid(const uint8_t *bhs, struct iscsi_login *l)
{
	uint8_t csg = (bhs[1] >> 2) & 3, nsg = bhs[1] & 3;
	bool transit = bhs[1] & ISCSI_FLAG_TRANSIT;
	if (csg != ISCSI_STAGE_SECURITY && csg != ISCSI_STAGE_OPERATIONAL)
		return false;
	if (csg < l->stage) /* no going back to security negotiation */
		return false;
	if (transit && (nsg == 2 || nsg <= csg))
		return false;
	if (transit && (bhs[1] & ISCSI_FLAG_CONTINUE))
		return false; /* T and C together are a protocol error */
	return true;
}

/* NULL with *why and *why_text set (defaults: out of resources, "cannot
 * create session") if it cannot be created. */
static struct iscsi_session *create_session(struct iscsi_conn *conn, struct iscsi_login *l,
					    enum iscsi_login_status *why, const char **why_text)
{
	struct iscsi_session *sess = calloc(1, sizeof(*sess));
	if (!sess)
		return NULL;
	memcpy(sess->isid, l->isid, 6);
	sess->tpgt = l->neg.tpgt;
	sess->tgt = l->tgt;
	sess->params = l->params;
	sess->lim = l->lim;
	list_init(&sess->conns);
	list_init(&sess->cmdsn_queue);
	list_init(&sess->exec_queue);
	/* Not in the table yet: no lock needed (iscsi_session_add_conn). */
	list_add_tail(&conn->sess_node, &sess->conns);
	sess->nconns = 1;
	sess->reactor = conn->reactor;
	sess->exp_cmdsn = l->cmdsn;
	sess->cmd_window = l->lim.queued_commands ? l->lim.queued_commands : 32;
	sess->max_cmdsn = sess->exp_cmdsn + sess->cmd_window - 1;
	int rc = iscsi_session_register(sess, l->tgt ? l->lim.max_sessions : 0);
	if (rc < 0) {
		list_del(&conn->sess_node);
		list_init(&conn->sess_node);
		if (rc == -ESHUTDOWN) {
			*why = ISCSI_LS_SERVICE_UNAVAILABLE; /* the daemon is stopping */
			*why_text = "daemon stopping";
		} else {
			*why_text = rc == -EBUSY ? "MaxSessions reached" : "no TSIH left";
		}
		free(sess);
		return NULL;
	}
	if (l->tgt) {
		char port[USCST_NAME_MAX + 32];
		snprintf(port, sizeof(port), "%s,i,0x%02x%02x%02x%02x%02x%02x",
			 l->params.initiator_name, l->isid[0], l->isid[1], l->isid[2], l->isid[3],
			 l->isid[4], l->isid[5]);
		sess->core = uscst_session_create_port(l->tgt, l->params.initiator_name, port,
						       l->neg.tpgt, l->rel_port_id);
		if (!sess->core) {
			iscsi_session_unregister(sess);
			list_del(&conn->sess_node);
			list_init(&conn->sess_node);
			free(sess);
			return NULL;
		}
		uscst_session_set_transport(sess->core, &iscsi_core_ops, sess, conn->reactor);
	}
	iscsi_cmd_window_open(sess); /* against MaxBufferMemory: cmd_window.c */
	return sess;
}

/* The response that moves the connection to full feature phase. */
static bool enter_full_feature(struct iscsi_conn *conn, struct iscsi_login *l)
{
	iscsi_params_finalize(&l->params);
	if (l->join) {
		const char *why = "";
		struct iscsi_join j = {.tsih = l->tsih,
				       .cid = l->cid,
				       .isid = l->isid,
				       .tgt = l->tgt,
				       .tpgt = l->neg.tpgt,
				       .initiator_name = l->params.initiator_name};
		enum iscsi_login_status st = iscsi_join_session(conn, &j, &why);
		if (st != ISCSI_LS_SUCCESS) {
			login_fail(conn, st, why);
			return false;
		}
		return true;
	}
	enum iscsi_login_status why = ISCSI_LS_OUT_OF_RESOURCES;
	const char *why_text = "cannot create session";
	struct iscsi_session *sess = create_session(conn, l, &why, &why_text);
	if (!sess) {
		login_fail(conn, why, why_text);
		return false;
	}
	if (l->tgt)
		iscsi_session_reinstate_old(sess);
	l->tsih = sess->tsih;
	conn->sess = sess;
	conn->cid = l->cid; /* Logout "close the connection" names it */
	iscsi_session_publish(sess);
	return true;
}

static void send_response(struct iscsi_conn *conn, struct iscsi_login *l, uint8_t flags,
			  struct text_buf *rsp)
{
	struct iscsi_tx *tx = iscsi_tx_new(conn);
	if (!tx) {
		text_buf_free(rsp);
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	bool ffp = (flags & ISCSI_FLAG_TRANSIT) && (flags & 3) == ISCSI_STAGE_FULL_FEATURE;
	uint32_t max_cmdsn = ffp ? iscsi_conn_max_cmdsn(conn) : l->cmdsn;
	fill_response_header(conn, l, tx->hdr, flags, max_cmdsn);
	if (ffp)
		put_be32(tx->hdr + 28,
			 conn->sess->exp_cmdsn); /* a joining connection: the session's */
	tx->data = (const uint8_t *)rsp->data;
	tx->owned = rsp->data;
	tx->data_len = (uint32_t)rsp->len;
	rsp->data = NULL;
	iscsi_tx_queue(conn, tx);
	if (ffp) {
		if (!l->join)
			log_info("%s: %s session tsih %u with %s established", conn->peer,
				 l->tgt ? "normal" : "discovery", l->tsih,
				 l->params.initiator_name);
		/* An added connection negotiated its own digests and segment
		 * lengths; the rest is the session's. */
		iscsi_conn_enter_full_feature(conn, l->join ? &l->params : &conn->sess->params);
		iscsi_login_free(conn);
	}
}

static void negotiate(struct iscsi_conn *conn, struct iscsi_login *l, const uint8_t *bhs)
{
	uint8_t csg = (bhs[1] >> 2) & 3, nsg = bhs[1] & 3;
	bool transit = bhs[1] & ISCSI_FLAG_TRANSIT;
	struct text_kv_list keys;
	size_t bad_at = 0;
	int rc = text_kv_parse(l->acc, l->acc_len, &keys, &bad_at);
	free(l->acc);
	l->acc = NULL;
	l->acc_len = 0;
	if (rc != TEXT_KV_OK) {
		text_kv_list_free(&keys);
		login_fail(conn, ISCSI_LS_INITIATOR_ERROR, text_kv_strerror(rc));
		return;
	}
	/* Before any name is looked up, logged or stored. */
	const char *bad_name = iscsi_name_check_keys(&keys);
	if (bad_name) {
		char why[64];
		snprintf(why, sizeof(why), "%s is not a valid iSCSI name", bad_name);
		text_kv_list_free(&keys);
		login_fail(conn, ISCSI_LS_INITIATOR_ERROR, why);
		return;
	}
	if (!l->neg.first_done && !resolve_target(conn, l, &keys)) {
		text_kv_list_free(&keys);
		return;
	}
	struct text_buf rsp;
	text_buf_init(&rsp, 0);
	struct iscsi_login_result res = {0};
	rc = iscsi_login_negotiate(&l->neg, &l->params, &l->lim, &keys, csg, &rsp, &res);
	if (rc < 0) {
		text_kv_list_free(&keys);
		text_buf_free(&rsp);
		login_fail(conn, res.status, res.reason[0] ? res.reason : "negotiation failed");
		return;
	}
	/* No way around authentication: operational negotiation only after
	 * CHAP succeeded.  (Checked after the keys were read, so that the log
	 * line names the initiator.) */
	if (l->neg.chap_required && csg == ISCSI_STAGE_OPERATIONAL && l->chap.state != CHAP_DONE) {
		text_kv_list_free(&keys);
		text_buf_free(&rsp);
		login_fail(conn, ISCSI_LS_AUTH_FAILURE, "CHAP required, security stage skipped");
		return;
	}
	bool chap_awaiting = false;
	if (l->neg.chap_required && csg == ISCSI_STAGE_SECURITY &&
	    !chap_stage(conn, l, &keys, transit, &rsp, &chap_awaiting)) {
		text_kv_list_free(&keys);
		text_buf_free(&rsp);
		return;
	}
	text_kv_list_free(&keys);
	if (transit && csg == ISCSI_STAGE_SECURITY && nsg == ISCSI_STAGE_FULL_FEATURE &&
	    iscsi_login_needs_operational(&l->neg, &l->params, &l->lim))
		nsg = ISCSI_STAGE_OPERATIONAL;
	bool awaiting = false;
	if (csg == ISCSI_STAGE_OPERATIONAL || (transit && nsg == ISCSI_STAGE_OPERATIONAL) ||
	    (transit && nsg == ISCSI_STAGE_FULL_FEATURE))
		awaiting = iscsi_login_add_target_keys(&l->neg, &l->params, &l->lim, &rsp);
	awaiting = awaiting || chap_awaiting || iscsi_login_awaiting_answers(&l->neg);
	if (text_buf_error(&rsp) != TEXT_KV_OK || rsp.len > conn->max_xmit_dsl) {
		text_buf_free(&rsp);
		login_fail(conn, ISCSI_LS_OUT_OF_RESOURCES, "login response too long");
		return;
	}
	uint8_t flags = (uint8_t)(csg << 2);
	if (transit && !awaiting) {
		flags |= ISCSI_FLAG_TRANSIT | nsg;
		if (nsg == ISCSI_STAGE_FULL_FEATURE && !enter_full_feature(conn, l)) {
			text_buf_free(&rsp);
			return;
		}
		l->stage = nsg;
	} else {
		l->stage = csg;
	}
	send_response(conn, l, flags, &rsp);
}

void iscsi_login_rx(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data, uint32_t dlen)
{
	if (!conn->login) {
		conn->login = calloc(1, sizeof(*conn->login));
		if (!conn->login) {
			iscsi_conn_close(conn, "out of memory");
			return;
		}
		iscsi_params_init(&conn->login->params);
		iscsi_target_limits_init(&conn->login->lim);
		/* A login with a TSIH adds a connection: leading-only keys are
		 * the session's (RFC 7143 6.3). */
		iscsi_login_neg_init(&conn->login->neg, get_be16(bhs + 14) == 0,
				     TARGET_PORTAL_GROUP_TAG);
	}
	struct iscsi_login *l = conn->login;
	l->itt = bhs_itt(bhs); /* every response, a reject too, echoes this request's */
	if (!l->started) {
		if (!check_first_request(conn, l, bhs, data, dlen))
			return;
	} else if (memcmp(l->isid, bhs + 8, 6) || get_be16(bhs + 14) != l->tsih ||
		   get_be16(bhs + 20) != l->cid) {
		login_fail(conn, ISCSI_LS_INITIATOR_ERROR, "ISID/TSIH/CID changed during login");
		return;
	}
	if (!stages_valid(bhs, l)) {
		login_fail(conn, ISCSI_LS_INITIATOR_ERROR, "invalid stage transition");
		return;
	}
	if (!reassemble(conn, l, bhs, data, dlen))
		return;
	negotiate(conn, l, bhs);
}
