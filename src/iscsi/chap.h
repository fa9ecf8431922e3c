/*
 * The CHAP exchange of iSCSI login (RFC 7143 12.1.3, RFC 1994), target
 * side, and the accounts it checks against (iSCSI-SCST's IncomingUser and
 * OutgoingUser attributes, "NAME SECRET").
 *
 * After AuthMethod=CHAP has been agreed, each Login Request of the
 * security stage goes through chap_step():
 *   1. CHAP_A=<list>     -> CHAP_A=<the strongest listed> CHAP_I CHAP_C
 *   2. CHAP_N CHAP_R     -> checked against every IncomingUser;
 *      [+ CHAP_I CHAP_C]    for mutual CHAP also CHAP_N CHAP_R of the
 *                           OutgoingUser
 * Anything else (a key out of order, a malformed or oversized value, a
 * wrong name or response) ends the login with the status returned.
 */
#ifndef USCST_ISCSI_CHAP_H
#define USCST_ISCSI_CHAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uscst/attr.h>

#include "iscsi/chap_digest.h"
#include "iscsi/params.h"
#include "iscsi/text_kv.h"

#define CHAP_NAME_MAX 255
#define CHAP_SECRET_MIN 12 /* 96 bits, the RFC 7143 12.1.3 minimum without IPsec */
#define CHAP_SECRET_MAX 255
#define CHAP_CHALLENGE_LEN 32 /* what we send: at least the longest digest */

/* One account, parsed from "NAME SECRET". */
struct chap_account {
	char name[CHAP_NAME_MAX + 1];
	uint8_t secret[CHAP_SECRET_MAX];
	size_t secret_len;
};

/*
 * Parses an IncomingUser/OutgoingUser value: a name, blanks, and a secret
 * of CHAP_SECRET_MIN..CHAP_SECRET_MAX bytes (which may itself contain
 * blanks).  false with a reason in err; the reason never quotes the
 * secret.  attr names the attribute in the reason.
 */
bool chap_account_parse(const char *attr, const char *value, struct chap_account *out, char *err,
			size_t errlen);

/* The check function of the IncomingUser/OutgoingUser attribute tables
 * entries (target and driver): chap_account_parse() under d->name. */
bool chap_account_attr_check(const struct uscst_attr_def *d, const char *value, char *err,
			     size_t errlen);

/* The transport's check_with (uscst/transport_reg.h) for targets and the
 * driver block: refuses an OutgoingUser whose secret is that of an
 * IncomingUser, or the other way round (RFC 7143 12.1.3). */
bool chap_accounts_check_with(const char *name, const char *value,
			      const char *(*get)(void *arg, const char *name, unsigned i), void *arg,
			      char *err, size_t errlen);

/* Where the accounts of one login come from (target or discovery). */
struct chap_accounts {
	/* The i-th IncomingUser value, NULL past the last. */
	const char *(*incoming)(void *arg, unsigned i);
	const char *outgoing; /* the OutgoingUser value, NULL if none */
	void *arg;
};

enum chap_state {
	CHAP_AWAIT_A,  /* AuthMethod=CHAP agreed, CHAP_A expected */
	CHAP_AWAIT_NR, /* challenge sent, CHAP_N and CHAP_R expected */
	CHAP_DONE,     /* the initiator is authenticated */
};

struct chap_exchange {
	enum chap_state state;
	unsigned alg;
	uint8_t id;
	uint8_t challenge[CHAP_CHALLENGE_LEN];
	char user[CHAP_NAME_MAX + 1]; /* who authenticated, for the log */
	bool mutual;
};

enum chap_step_result {
	CHAP_STEP_FAIL = -1,	/* *status and reason say why */
	CHAP_STEP_CONTINUE = 0, /* keys added to rsp; another request is needed */
	CHAP_STEP_DONE = 1,	/* authenticated; rsp may carry our mutual answer */
};

void chap_init(struct chap_exchange *x);

/* Whether keys holds any CHAP_* key. */
bool chap_keys_present(const struct text_kv_list *keys);

enum chap_step_result chap_step(struct chap_exchange *x, const struct chap_accounts *acc,
				const struct text_kv_list *keys, struct text_buf *rsp,
				enum iscsi_login_status *status, char *reason, size_t reason_len);

#endif
