/*
 * libFuzzer target for the CHAP exchange of a login to a target with
 * IncomingUser accounts: each request's text goes through the key
 * negotiation (security stage, CHAP required) and then chap_step(), as
 * login.c drives them.  The input is a selector byte, then the requests'
 * texts separated by 0xff bytes.
 *
 * Selector bits: 1 = the harness answers the challenge correctly for
 * "alice" (prepending CHAP_N and CHAP_R to the second CHAP request), so
 * that the mutual CHAP path and later requests are reached; 2 = the
 * target has an OutgoingUser.
 *
 * Besides memory errors the target checks: every failure carries a
 * class 2 or 3 status, every response is valid text, and without the
 * harness's correct answer the exchange never ends authenticated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/chap.h"
#include "iscsi/chap_digest.h"
#include "iscsi/params.h"
#include "iscsi/text_kv.h"

#define ALICE_SECRET "alicesecret12"

static const char *const incoming[] = {"alice " ALICE_SECRET, "bob bobsecret12345", NULL};

static const char *get_incoming(void *arg, unsigned i) { return i < 2 ? incoming[i] : NULL; }

static void check_rsp(const struct text_buf *rsp)
{
	if (text_buf_error(rsp) != TEXT_KV_OK || rsp->len == 0)
		return;
	struct text_kv_list back;
	if (text_kv_parse((const uint8_t *)rsp->data, rsp->len, &back, NULL) != TEXT_KV_OK)
		__builtin_trap();
	text_kv_list_free(&back);
}

static void check_status(enum iscsi_login_status s)
{
	if ((s >> 8) != 2 && (s >> 8) != 3)
		__builtin_trap();
}

/* "CHAP_N=alice\0CHAP_R=0x...\0" for the exchange's challenge, then seg. */
static uint8_t *with_answer(const struct chap_exchange *x, const uint8_t *seg, size_t len,
			    size_t *out_len)
{
	uint8_t r[CHAP_DIGEST_MAX];
	char hex[2 * CHAP_DIGEST_MAX + 3], head[128];
	if (chap_digest(x->alg, x->id, (const uint8_t *)ALICE_SECRET, strlen(ALICE_SECRET),
			x->challenge, CHAP_CHALLENGE_LEN, r))
		__builtin_trap();
	chap_encode_hex(r, chap_alg_digest_len(x->alg), hex);
	int n = snprintf(head, sizeof(head), "CHAP_N=alice%cCHAP_R=%s%c", 0, hex, 0);
	uint8_t *buf = malloc((size_t)n + len + 1);
	if (!buf)
		return NULL;
	memcpy(buf, head, (size_t)n);
	if (len)
		memcpy(buf + n, seg, len);
	*out_len = (size_t)n + len;
	return buf;
}

/* One request; false when the login ended (failure). */
static bool request(struct iscsi_login_neg *neg, struct iscsi_params *p,
		    const struct iscsi_target_limits *lim, struct chap_exchange *x,
		    const struct chap_accounts *acc, const uint8_t *data, size_t len)
{
	struct text_kv_list keys;
	if (text_kv_parse(data, len, &keys, NULL) != TEXT_KV_OK) {
		text_kv_list_free(&keys);
		return false;
	}
	struct text_buf rsp;
	struct iscsi_login_result res;
	memset(&res, 0, sizeof(res));
	text_buf_init(&rsp, 0);
	bool alive = false;
	if (iscsi_login_negotiate(neg, p, lim, &keys, ISCSI_STAGE_SECURITY, &rsp, &res) < 0) {
		check_status(res.status);
	} else if (!neg->chap_chosen) {
		alive = true;
	} else if (text_kv_find(&keys, "AuthMethod")) {
		/* login.c: CHAP keys together with AuthMethod end the login. */
		alive = !chap_keys_present(&keys);
		chap_init(x);
	} else {
		enum iscsi_login_status st = ISCSI_LS_SUCCESS;
		char why[128];
		enum chap_step_result rc = chap_step(x, acc, &keys, &rsp, &st, why, sizeof(why));
		if (rc == CHAP_STEP_FAIL)
			check_status(st);
		else if ((rc == CHAP_STEP_DONE) != (x->state == CHAP_DONE))
			__builtin_trap();
		alive = rc != CHAP_STEP_FAIL;
	}
	if (alive)
		check_rsp(&rsp);
	text_buf_free(&rsp);
	text_kv_list_free(&keys);
	return alive;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	data++;
	size--;

	struct iscsi_params p;
	struct iscsi_target_limits lim;
	struct iscsi_login_neg neg;
	struct chap_exchange x;
	iscsi_params_init(&p);
	iscsi_target_limits_init(&lim);
	iscsi_login_neg_init(&neg, true, 1);
	neg.chap_required = true;
	memset(&x, 0, sizeof(x));
	x.state = CHAP_AWAIT_A;
	struct chap_accounts acc = {get_incoming, (sel & 2) ? "tgt targetsecret123" : NULL, NULL};

	bool answered = false;
	for (unsigned n = 0; n < 8; n++) {
		const uint8_t *end = memchr(data, 0xff, size);
		size_t len = end ? (size_t)(end - data) : size;
		bool alive;
		if ((sel & 1) && !answered && x.state == CHAP_AWAIT_NR) {
			size_t blen = 0;
			uint8_t *buf = with_answer(&x, data, len, &blen);
			if (!buf)
				return 0;
			answered = true;
			alive = request(&neg, &p, &lim, &x, &acc, buf, blen);
			free(buf);
		} else {
			alive = request(&neg, &p, &lim, &x, &acc, data, len);
		}
		/* Nobody but the harness knows alice's or bob's secret. */
		if (x.state == CHAP_DONE && !answered)
			__builtin_trap();
		if (!alive || !end)
			break;
		size -= len + 1;
		data = end + 1;
	}
	return 0;
}
