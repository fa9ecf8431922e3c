/*
 * CHAP in the iSCSI login (src/iscsi/chap.c, login.c, params.c) driven
 * over a socket as an initiator would, against the in-process target
 * (fixtures/) configured with IncomingUser/OutgoingUser accounts, and the
 * driver's accounts for discovery sessions.  The test computes the
 * initiator's responses with libcrypto's EVP_Digest directly, not with
 * the target's chap_digest.c, and decodes the target's values itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "core/transports.h"
#include "fixtures/iscsi_client.h"
#include "fixtures/iscsi_target.h"
#include "iscsi/driver.h"

#define INI "InitiatorName=iqn.2026-12.org.uscst:chap-initiator"
#define ALICE "alice"
#define ALICE_SECRET "alicesecret12"
#define BOB "bob"
#define BOB_SECRET "bob-secret-with-more-bytes"
#define TGT_USER "target-user"
#define TGT_SECRET "targetsecret123"
#define DISC "disc"
#define DISC_SECRET "discoverysecret1"

static const char *const target_attrs[] = {"IncomingUser",
					   ALICE " " ALICE_SECRET,
					   "IncomingUser",
					   BOB " " BOB_SECRET,
					   "OutgoingUser",
					   TGT_USER " " TGT_SECRET,
					   NULL};

static int group_setup(void **state)
{
	if (iscsi_target_start(target_attrs))
		return -1;
	char err[256];
	if (uscst_transport_set_driver_attr(&iscsi_driver, "IncomingUser", DISC " " DISC_SECRET,
					    err, sizeof(err)) != USCST_ATTR_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	iscsi_target_stop();
	return 0;
}

static uint8_t seed = 0x40;

static int setup(void **state)
{
	struct iscsi_client *c = malloc(sizeof(*c));
	assert_non_null(c);
	client_open(c, ++seed);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct iscsi_client *c = *state;
	client_close(c);
	free(c);
	return 0;
}

/* --- the initiator's side --- */

static const EVP_MD *md_of(unsigned alg)
{
	switch (alg) {
	case 5:
		return EVP_md5();
	case 6:
		return EVP_sha1();
	case 7:
		return EVP_sha256();
	case 8:
		return EVP_sha3_256();
	default:
		fail_msg("algorithm %u", alg);
		return NULL;
	}
}

/* "0x..." into out; returns the length. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	assert_true(s[0] == '0' && s[1] == 'x');
	size_t n = strlen(s + 2);
	assert_true(n % 2 == 0 && n / 2 <= cap);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		assert_int_equal(sscanf(s + 2 + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n / 2;
}

/* "CHAP_R=0x" + hex of H(id || secret || challenge). */
static void response(char *out, size_t cap, const char *key, unsigned alg, unsigned id,
		     const char *secret, const uint8_t *ch, size_t chlen)
{
	uint8_t buf[2048], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	size_t slen = strlen(secret);
	buf[0] = (uint8_t)id;
	memcpy(buf + 1, secret, slen);
	memcpy(buf + 1 + slen, ch, chlen);
	assert_int_equal(EVP_Digest(buf, 1 + slen + chlen, md, &mdlen, md_of(alg), NULL), 1);
	int n = snprintf(out, cap, "%s=0x", key);
	for (unsigned i = 0; i < mdlen; i++)
		n += snprintf(out + n, cap - (size_t)n, "%02x", md[i]);
}

/* One Login Request with keys kv; returns the response. */
static const struct pdu *login_req(struct iscsi_client *c, uint8_t flags, const char *const *kv)
{
	uint8_t bhs[BHS_LEN];
	static char buf[8192];
	size_t n = 0;
	for (unsigned i = 0; kv[i]; i++) {
		int w = snprintf(buf + n, sizeof(buf) - n, "%s", kv[i]);
		assert_true(w > 0 && (size_t)w < sizeof(buf) - n);
		n += (size_t)w + 1;
	}
	login_bhs(c, bhs, flags, 0x55);
	pdu_send(c, bhs, buf, (uint32_t)n);
	const struct pdu *p = pdu_expect(c, OP_LOGIN_RSP);
	c->exp_statsn++;
	return p;
}

static void expect_ok(const struct pdu *p)
{
	if (login_status(p) != 0)
		fail_msg("login status 0x%04x, expected success", login_status(p));
}

static void expect_reject(struct iscsi_client *c, const struct pdu *p, uint16_t status)
{
	if (login_status(p) != status)
		fail_msg("login status 0x%04x, expected 0x%04x", login_status(p), status);
	expect_closed(c);
}

#define SEC LOGIN_T | STAGES(0, 1)

/* First request: AuthMethod=CHAP,None to the test target (or a
 * discovery session); the answer must be CHAP with T=0. */
static void start(struct iscsi_client *c, bool discovery)
{
	const char *const normal[] = {INI, "SessionType=Normal", "TargetName=" ISCSI_TEST_TARGET,
				      "AuthMethod=CHAP,None", NULL};
	const char *const disc[] = {INI, "SessionType=Discovery", "AuthMethod=CHAP,None", NULL};
	const char *const *k = discovery ? disc : normal;
	const struct pdu *p = login_req(c, SEC, k);
	expect_ok(p);
	assert_string_equal(text_value(p, "AuthMethod"), "CHAP");
	assert_int_equal(p->bhs[1] & LOGIN_T, 0); /* the exchange has not happened */
}

struct challenge {
	unsigned alg, id;
	uint8_t c[1024];
	size_t len;
};

/* CHAP_A=list; the target's CHAP_A, CHAP_I and CHAP_C. */
static void ask(struct iscsi_client *c, const char *list, struct challenge *ch)
{
	char a[64];
	snprintf(a, sizeof(a), "CHAP_A=%s", list);
	const struct pdu *p = login_req(c, SEC, (const char *const[]){a, NULL});
	expect_ok(p);
	assert_int_equal(p->bhs[1] & LOGIN_T, 0);
	assert_non_null(text_value(p, "CHAP_A"));
	assert_non_null(text_value(p, "CHAP_I"));
	assert_non_null(text_value(p, "CHAP_C"));
	ch->alg = (unsigned)strtoul(text_value(p, "CHAP_A"), NULL, 10);
	ch->id = (unsigned)strtoul(text_value(p, "CHAP_I"), NULL, 0);
	assert_true(ch->id <= 255);
	ch->len = unhex(text_value(p, "CHAP_C"), ch->c, sizeof(ch->c));
	assert_true(ch->len >= 16); /* at least 16 random bytes */
}

/* Operational stage to full feature phase: the login succeeded. */
static void finish(struct iscsi_client *c)
{
	const struct pdu *p =
	    login_req(c, LOGIN_T | STAGES(1, 3),
		      (const char *const[]){"MaxRecvDataSegmentLength=8192", NULL});
	expect_ok(p);
	assert_int_equal(p->bhs[1], LOGIN_T | STAGES(1, 3));
	assert_int_not_equal(get16(p->bhs + 14), 0); /* TSIH: a session */
}

/* The whole one-way exchange with one algorithm list; returns the chosen one. */
static unsigned login_chap(struct iscsi_client *c, const char *list, const char *name,
			   const char *secret)
{
	struct challenge ch;
	char n[300], r[300];
	start(c, false);
	ask(c, list, &ch);
	snprintf(n, sizeof(n), "CHAP_N=%s", name);
	response(r, sizeof(r), "CHAP_R", ch.alg, ch.id, secret, ch.c, ch.len);
	const struct pdu *p = login_req(c, SEC, (const char *const[]){n, r, NULL});
	expect_ok(p);
	assert_int_equal(p->bhs[1], LOGIN_T | STAGES(0, 1));
	finish(c);
	return ch.alg;
}

/* --- tests --- */

static void test_md5(void **state)
{
	assert_int_equal(login_chap(*state, "5", ALICE, ALICE_SECRET), 5);
}
static void test_sha1(void **state)
{
	assert_int_equal(login_chap(*state, "6", BOB, BOB_SECRET), 6);
}
static void test_sha256(void **state)
{
	assert_int_equal(login_chap(*state, "7", ALICE, ALICE_SECRET), 7);
}
static void test_sha3_256(void **state)
{
	assert_int_equal(login_chap(*state, "8", BOB, BOB_SECRET), 8);
}

/* The strongest the initiator lists, whatever its order; unknown
 * numbers and words are skipped. */
static void test_strongest_listed(void **state)
{
	assert_int_equal(login_chap(*state, "5,7,6", ALICE, ALICE_SECRET), 7);
}

static void test_strongest_sha3(void **state)
{
	assert_int_equal(login_chap(*state, "5,99,8,junk", ALICE, ALICE_SECRET), 8);
}

static void test_unknown_only_listed(void **state)
{
	assert_int_equal(login_chap(*state, "200,0x5", ALICE, ALICE_SECRET), 5);
}

static void test_no_supported_algorithm(void **state)
{
	struct iscsi_client *c = *state;
	start(c, false);
	expect_reject(c, login_req(c, SEC, (const char *const[]){"CHAP_A=4,128", NULL}), 0x0201);
}

/* Two exchanges never share a challenge. */
static void test_fresh_challenge(void **state)
{
	struct iscsi_client *c = *state, c2;
	struct challenge a, b;
	start(c, false);
	ask(c, "5", &a);
	client_open(&c2, 0x3f);
	start(&c2, false);
	ask(&c2, "5", &b);
	assert_int_equal(a.len, b.len);
	assert_memory_not_equal(a.c, b.c, a.len);
	client_close(&c2);
}

static void test_base64_response(void **state)
{
	struct iscsi_client *c = *state;
	struct challenge ch;
	start(c, false);
	ask(c, "5", &ch);
	uint8_t buf[1 + sizeof(ALICE_SECRET) + 64], md[16];
	unsigned mdlen;
	buf[0] = (uint8_t)ch.id;
	memcpy(buf + 1, ALICE_SECRET, strlen(ALICE_SECRET));
	memcpy(buf + 1 + strlen(ALICE_SECRET), ch.c, ch.len);
	assert_int_equal(
	    EVP_Digest(buf, 1 + strlen(ALICE_SECRET) + ch.len, md, &mdlen, EVP_md5(), NULL), 1);
	char r[64] = "CHAP_R=0b";
	assert_int_equal(EVP_EncodeBlock((unsigned char *)r + 9, md, 16), 24);
	expect_ok(login_req(c, SEC, (const char *const[]){"CHAP_N=" ALICE, r, NULL}));
	finish(c);
}

static void test_wrong_secret(void **state)
{
	struct iscsi_client *c = *state;
	struct challenge ch;
	char r[300];
	start(c, false);
	ask(c, "7", &ch);
	response(r, sizeof(r), "CHAP_R", ch.alg, ch.id, "alicesecret13", ch.c, ch.len);
	expect_reject(c, login_req(c, SEC, (const char *const[]){"CHAP_N=" ALICE, r, NULL}),
		      0x0201);
}

/* Bob's secret under Alice's name. */
static void test_wrong_name(void **state)
{
	struct iscsi_client *c = *state;
	struct challenge ch;
	char r[300];
	start(c, false);
	ask(c, "5", &ch);
	response(r, sizeof(r), "CHAP_R", ch.alg, ch.id, BOB_SECRET, ch.c, ch.len);
	expect_reject(c, login_req(c, SEC, (const char *const[]){"CHAP_N=" ALICE, r, NULL}),
		      0x0201);
}

/* A SHA-256 sized answer to an MD5 exchange. */
static void test_wrong_response_length(void **state)
{
	struct iscsi_client *c = *state;
	struct challenge ch;
	char r[300];
	start(c, false);
	ask(c, "5", &ch);
	response(r, sizeof(r), "CHAP_R", 7, ch.id, ALICE_SECRET, ch.c, ch.len);
	expect_reject(c, login_req(c, SEC, (const char *const[]){"CHAP_N=" ALICE, r, NULL}),
		      0x0201);
}

/* Mutual CHAP: our answer is the target account's digest of our challenge. */
static void test_mutual(void **state)
{
	struct iscsi_client *c = *state;
	struct challenge ch;
	char r[300], expect[300];
	const uint8_t mine[20] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	start(c, false);
	ask(c, "7", &ch);
	response(r, sizeof(r), "CHAP_R", ch.alg, ch.id, ALICE_SECRET, ch.c, ch.len);
	const struct pdu *p = login_req(
	    c, SEC,
	    (const char *const[]){"CHAP_N=" ALICE, r, "CHAP_I=77",
				  "CHAP_C=0x090807060504030201000102030405060708090a", NULL});
	expect_ok(p);
	assert_string_equal(text_value(p, "CHAP_N"), TGT_USER);
	response(expect, sizeof(expect), "CHAP_R", 7, 77, TGT_SECRET, mine, sizeof(mine));
	assert_string_equal(text_value(p, "CHAP_R"), expect + strlen("CHAP_R="));
	finish(c);
}

/* Our own challenge sent back to us is refused. */
static void test_mutual_reflection(void **state)
{
	struct iscsi_client *c = *state;
	struct challenge ch;
	char r[300], refl[2200] = "CHAP_C=0x";
	start(c, false);
	ask(c, "5", &ch);
	for (size_t i = 0; i < ch.len; i++)
		snprintf(refl + 9 + 2 * i, 3, "%02x", ch.c[i]);
	response(r, sizeof(r), "CHAP_R", ch.alg, ch.id, ALICE_SECRET, ch.c, ch.len);
	const struct pdu *p =
	    login_req(c, SEC, (const char *const[]){"CHAP_N=" ALICE, r, "CHAP_I=1", refl, NULL});
	expect_reject(c, p, 0x0201);
}

static void test_auth_none_refused(void **state)
{
	struct iscsi_client *c = *state;
	const struct pdu *p = login_req(
	    c, SEC,
	    (const char *const[]){INI, "TargetName=" ISCSI_TEST_TARGET, "AuthMethod=None", NULL});
	expect_reject(c, p, 0x0201);
}

/* Straight to the operational stage: no authentication, no login. */
static void test_security_stage_skipped(void **state)
{
	struct iscsi_client *c = *state;
	const struct pdu *p =
	    login_req(c, LOGIN_T | STAGES(1, 3),
		      (const char *const[]){INI, "TargetName=" ISCSI_TEST_TARGET, NULL});
	expect_reject(c, p, 0x0201);
}

/* Security stage, but T=1 without any AuthMethod. */
static void test_transit_without_auth(void **state)
{
	struct iscsi_client *c = *state;
	const struct pdu *p =
	    login_req(c, SEC, (const char *const[]){INI, "TargetName=" ISCSI_TEST_TARGET, NULL});
	expect_reject(c, p, 0x0201);
}

/* After AuthMethod=CHAP, moving on before the exchange is refused too. */
static void test_transit_before_exchange(void **state)
{
	struct iscsi_client *c = *state;
	start(c, false);
	expect_reject(c,
		      login_req(c, LOGIN_T | STAGES(1, 3),
				(const char *const[]){"MaxRecvDataSegmentLength=8192", NULL}),
		      0x0201);
}

/* --- malformed keys: 02/00 (initiator error), connection closed --- */

static void bad_response_step(void **state, const char *const *kv, uint16_t status)
{
	struct iscsi_client *c = *state;
	struct challenge ch;
	start(c, false);
	ask(c, "5", &ch);
	expect_reject(c, login_req(c, SEC, kv), status);
}

static void test_odd_hex(void **state)
{
	bad_response_step(state,
			  (const char *const[]){"CHAP_N=" ALICE,
						"CHAP_R=0x0123456789abcdef0123456789abcde", NULL},
			  0x0200);
}

static void test_name_without_response(void **state)
{
	bad_response_step(state, (const char *const[]){"CHAP_N=" ALICE, NULL}, 0x0200);
}

static void test_response_without_name(void **state)
{
	bad_response_step(state,
			  (const char *const[]){"CHAP_R=0x0123456789abcdef0123456789abcdef", NULL},
			  0x0200);
}

static void test_second_chap_a(void **state)
{
	bad_response_step(state, (const char *const[]){"CHAP_A=5", NULL}, 0x0200);
}

static void test_chap_i_without_chap_c(void **state)
{
	bad_response_step(state,
			  (const char *const[]){"CHAP_N=" ALICE,
						"CHAP_R=0x0123456789abcdef0123456789abcdef",
						"CHAP_I=3", NULL},
			  0x0200);
}

/* A mutual challenge of 1025 bytes: over the 1024 RFC 7143 allows. */
static void test_oversized_challenge(void **state)
{
	static char big[2 * 1025 + 16] = "CHAP_C=0x";
	for (size_t i = 0; i < 1025; i++)
		memcpy(big + 9 + 2 * i, "ab", 2);
	bad_response_step(state,
			  (const char *const[]){"CHAP_N=" ALICE,
						"CHAP_R=0x0123456789abcdef0123456789abcdef",
						"CHAP_I=3", big, NULL},
			  0x0200);
}

static void test_response_before_algorithm(void **state)
{
	struct iscsi_client *c = *state;
	start(c, false);
	expect_reject(
	    c,
	    login_req(c, SEC,
		      (const char *const[]){"CHAP_N=" ALICE,
					    "CHAP_R=0x0123456789abcdef0123456789abcdef", NULL}),
	    0x0200);
}

/* CHAP_A must wait for our AuthMethod=CHAP. */
static void test_algorithm_with_auth_method(void **state)
{
	struct iscsi_client *c = *state;
	const struct pdu *p = login_req(c, SEC,
					(const char *const[]){INI, "TargetName=" ISCSI_TEST_TARGET,
							      "AuthMethod=CHAP", "CHAP_A=5", NULL});
	expect_reject(c, p, 0x0200);
}

/* One connection's bad CHAP does not disturb another's exchange. */
static void test_other_connection_undisturbed(void **state)
{
	struct iscsi_client *c = *state, bad;
	struct challenge ch;
	char r[300];
	start(c, false);
	ask(c, "6", &ch);
	client_open(&bad, 0x3e);
	start(&bad, false);
	expect_reject(&bad, login_req(&bad, SEC, (const char *const[]){"CHAP_R=0xzz", NULL}),
		      0x0200);
	client_close(&bad);
	response(r, sizeof(r), "CHAP_R", ch.alg, ch.id, ALICE_SECRET, ch.c, ch.len);
	expect_ok(login_req(c, SEC, (const char *const[]){"CHAP_N=" ALICE, r, NULL}));
	finish(c);
}

/* --- discovery sessions: the driver's accounts --- */

static void discovery(struct iscsi_client *c, const char *name, const char *secret, uint16_t status)
{
	struct challenge ch;
	char n[300], r[300];
	start(c, true);
	ask(c, "5", &ch);
	snprintf(n, sizeof(n), "CHAP_N=%s", name);
	response(r, sizeof(r), "CHAP_R", ch.alg, ch.id, secret, ch.c, ch.len);
	const struct pdu *p = login_req(c, SEC, (const char *const[]){n, r, NULL});
	if (status) {
		expect_reject(c, p, status);
		return;
	}
	expect_ok(p);
	finish(c);
}

static void test_discovery_chap(void **state) { discovery(*state, DISC, DISC_SECRET, 0); }

/* A target's account is not a discovery account. */
static void test_discovery_target_account(void **state)
{
	discovery(*state, ALICE, ALICE_SECRET, 0x0201);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_md5),
	    T(test_sha1),
	    T(test_sha256),
	    T(test_sha3_256),
	    T(test_strongest_listed),
	    T(test_strongest_sha3),
	    T(test_unknown_only_listed),
	    T(test_no_supported_algorithm),
	    T(test_fresh_challenge),
	    T(test_base64_response),
	    T(test_wrong_secret),
	    T(test_wrong_name),
	    T(test_wrong_response_length),
	    T(test_mutual),
	    T(test_mutual_reflection),
	    T(test_auth_none_refused),
	    T(test_security_stage_skipped),
	    T(test_transit_without_auth),
	    T(test_transit_before_exchange),
	    T(test_odd_hex),
	    T(test_name_without_response),
	    T(test_response_without_name),
	    T(test_second_chap_a),
	    T(test_chap_i_without_chap_c),
	    T(test_oversized_challenge),
	    T(test_response_before_algorithm),
	    T(test_algorithm_with_auth_method),
	    T(test_other_connection_undisturbed),
	    T(test_discovery_chap),
	    T(test_discovery_target_account),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
