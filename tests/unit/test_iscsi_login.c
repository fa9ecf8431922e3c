/*
 * iSCSI login phase (src/iscsi/login.c, params.c) driven over a socket as
 * an initiator would: stage transitions, the Login Response fields and
 * status codes of RFC 7143 11.13, negotiated keys, and a discovery
 * session's SendTargets (RFC 7143 appendix C).  The target runs in-process
 * on a reactor thread (fixtures/iscsi_target.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures/iscsi_client.h"
#include "fixtures/iscsi_target.h"

#define INITIATOR "InitiatorName=iqn.2026-12.org.uscst:unit-initiator"

/* Sends the first Login Request with the given flags, Version-min and
 * keys (a NULL-terminated list); returns the Login Response. */
static const struct pdu *first_login(struct iscsi_client *c, uint8_t flags, uint8_t version_min,
				     const char *const *kv)
{
	uint8_t bhs[BHS_LEN];
	char buf[512];
	size_t n = 0;
	for (unsigned i = 0; kv[i]; i++) {
		int w = snprintf(buf + n, sizeof(buf) - n, "%s", kv[i]);
		assert_true(w > 0 && (size_t)w < sizeof(buf) - n);
		n += (size_t)w + 1;
	}
	login_bhs(c, bhs, flags, 0x77);
	bhs[3] = version_min;
	pdu_send(c, bhs, buf, (uint32_t)n);
	const struct pdu *p = pdu_expect(c, OP_LOGIN_RSP);
	assert_int_equal(pdu_itt(p), 0x77);
	return p;
}

/* A failed login: the status, TSIH 0, and the connection closed after the
 * response (RFC 7143 11.13.5: the target terminates the connection). */
static void expect_login_reject(struct iscsi_client *c, const struct pdu *p, uint16_t status)
{
	if (login_status(p) != status)
		fail_msg("login status 0x%04x, expected 0x%04x", login_status(p), status);
	assert_int_equal(get16(p->bhs + 14), 0);
	/* Even a refusal names the session it refuses (RFC 7143 11.13). */
	assert_memory_equal(p->bhs + 8, c->isid, 6);
	expect_closed(c);
}

static void test_normal_login(void **state)
{
	struct iscsi_client c;
	client_open(&c, 1);
	client_login(&c);
	/* The final response's keys: the target's declaration and the
	 * results of RFC 7143 13 (minimum, OR, AND functions). */
	const struct pdu *p = &c.rx;
	/* Declared in one of the responses: the target attribute's default. */
	assert_int_equal(c.target_mrdsl, 262144);
	assert_string_equal(text_value(p, "MaxBurstLength"), "65536");
	assert_string_equal(text_value(p, "FirstBurstLength"), "16384");
	assert_string_equal(text_value(p, "InitialR2T"), "Yes");
	assert_string_equal(text_value(p, "ImmediateData"), "Yes");
	assert_string_equal(text_value(p, "HeaderDigest"), "None");
	assert_string_equal(text_value(p, "DataDigest"), "None");
	assert_string_equal(text_value(p, "MaxOutstandingR2T"), "1");
	assert_string_equal(text_value(p, "ErrorRecoveryLevel"), "0");
	/* Full feature phase: a ping and the first command's unit attention. */
	expect_ping(&c);
	client_clear_ua(&c);
	uint8_t bhs[BHS_LEN], tur[6] = {0};
	uint32_t itt = scsi_cmd_bhs(&c, bhs, CMD_F | CMD_SIMPLE, 0, tur, sizeof(tur));
	pdu_send(&c, bhs, NULL, 0);
	assert_int_equal(expect_status(&c, itt, NULL), 0x00);
	client_close(&c);
}

static void test_unknown_target(void **state)
{
	struct iscsi_client c;
	client_open(&c, 2);
	const char *const kv[] = {INITIATOR, "SessionType=Normal",
				  "TargetName=iqn.2026-12.org.uscst:nobody", "AuthMethod=None",
				  NULL};
	const struct pdu *p = first_login(&c, LOGIN_T | STAGES(0, 1), 0, kv);
	expect_login_reject(&c, p, 0x0203); /* Not found */
	client_close(&c);
}

static void test_unsupported_version(void **state)
{
	struct iscsi_client c;
	client_open(&c, 3);
	const char *const kv[] = {INITIATOR, "SessionType=Normal", "TargetName=" ISCSI_TEST_TARGET,
				  "AuthMethod=None", NULL};
	const struct pdu *p = first_login(&c, LOGIN_T | STAGES(0, 1), 0x01, kv);
	expect_login_reject(&c, p, 0x0205); /* Unsupported version */
	client_close(&c);
}

static const char *const normal_keys[] = {INITIATOR, "SessionType=Normal",
					  "TargetName=" ISCSI_TEST_TARGET, "AuthMethod=None", NULL};

/* T=1 with NSG not beyond CSG, or the reserved stage 2, or T and C
 * together: initiator errors (RFC 7143 11.12.1-11.12.3, 6.3). */
static void test_invalid_stage_transitions(void **state)
{
	const uint8_t bad[] = {LOGIN_T | STAGES(0, 0), LOGIN_T | STAGES(2, 3),
			       LOGIN_T | LOGIN_C | STAGES(0, 1)};
	for (unsigned i = 0; i < sizeof(bad); i++) {
		struct iscsi_client c;
		client_open(&c, (uint8_t)(10 + i));
		const struct pdu *p = first_login(&c, bad[i], 0, normal_keys);
		if (login_status(p) != 0x0200)
			fail_msg("flags %02x: login status 0x%04x, expected 0x0200", bad[i],
				 login_status(p));
		expect_closed(&c);
		client_close(&c);
	}
}

static void test_missing_initiator_name(void **state)
{
	struct iscsi_client c;
	client_open(&c, 4);
	const char *const kv[] = {"SessionType=Normal", "TargetName=" ISCSI_TEST_TARGET,
				  "AuthMethod=None", NULL};
	const struct pdu *p = first_login(&c, LOGIN_T | STAGES(0, 1), 0, kv);
	expect_login_reject(&c, p, 0x0207); /* Missing parameter */
	client_close(&c);
}

/* An InitiatorName that is no iSCSI name (RFC 7143 4.2.7.2), here one
 * that would forge a log line and split the PR file's port field, gets
 * "Initiator error" (02 00) and the connection is closed. */
static void test_bad_initiator_name(void **state)
{
	static const char *const names[] = {
	    "InitiatorName=iqn.2026-12.org.uscst:x\nregistrant 1 0 1 0x1 forged",
	    "InitiatorName=iqn.2026-12.org.uscst:a b",
	    "InitiatorName=iqn.2026-12.org.uscst:a%0a",
	    "InitiatorName=bogus",
	};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct iscsi_client c;
		client_open(&c, (uint8_t)(40 + i));
		const char *const kv[] = {names[i], "SessionType=Normal",
					  "TargetName=" ISCSI_TEST_TARGET, "AuthMethod=None", NULL};
		const struct pdu *p = first_login(&c, LOGIN_T | STAGES(0, 1), 0, kv);
		expect_login_reject(&c, p, 0x0200);
		client_close(&c);
	}
}

/* The same for a TargetName, and for a control byte in any other value. */
static void test_bad_target_name_and_control_chars(void **state)
{
	const char *const bad_target[] = {INITIATOR, "SessionType=Normal",
					  "TargetName=" ISCSI_TEST_TARGET "\r", "AuthMethod=None",
					  NULL};
	const char *const bad_alias[] = {INITIATOR,
					 "InitiatorAlias=host\n2",
					 "SessionType=Normal",
					 "TargetName=" ISCSI_TEST_TARGET,
					 "AuthMethod=None",
					 NULL};
	const char *const *cases[] = {bad_target, bad_alias};
	for (unsigned i = 0; i < 2; i++) {
		struct iscsi_client c;
		client_open(&c, (uint8_t)(50 + i));
		const struct pdu *p = first_login(&c, LOGIN_T | STAGES(0, 1), 0, cases[i]);
		expect_login_reject(&c, p, 0x0200);
		client_close(&c);
	}
}

/* A TSIH the target never gave: "Session does not exist" (02 0a). */
static void test_unknown_tsih(void **state)
{
	struct iscsi_client c;
	client_open(&c, 5);
	c.tsih = 0x7777;
	const struct pdu *p = first_login(&c, LOGIN_T | STAGES(0, 1), 0, normal_keys);
	c.tsih = 0;
	expect_login_reject(&c, p, 0x020a);
	client_close(&c);
}

/* A login with a session's ISID and TSIH adds a connection (RFC 7143
 * 6.3): with a CID of its own, beyond the target's MaxConnections (1 by
 * default) it gets 02/06; with the CID of the session's connection it
 * replaces that one (connection reinstatement, 6.3.4). */
static void test_added_connection(void **state)
{
	struct iscsi_client c1, c2, c3;
	client_open(&c1, 8);
	client_login(&c1);
	client_open(&c2, 9);
	memcpy(c2.isid, c1.isid, 6);
	c2.tsih = c1.tsih;
	uint8_t bhs[BHS_LEN];
	char buf[512];
	size_t n = 0;
	for (unsigned i = 0; normal_keys[i]; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", normal_keys[i]) + 1;
	login_bhs(&c2, bhs, LOGIN_T | STAGES(0, 1), 0x78);
	put16(bhs + 20, 2); /* a CID of its own */
	pdu_send(&c2, bhs, buf, (uint32_t)n);
	const struct pdu *p = pdu_expect(&c2, OP_LOGIN_RSP);
	c2.tsih = 0;
	expect_login_reject(&c2, p, 0x0206);
	client_close(&c2);
	/* The same CID as c1's (login_bhs sends 1): c1 is replaced. */
	client_open(&c3, 10);
	memcpy(c3.isid, c1.isid, 6);
	c3.tsih = c1.tsih;
	p = first_login(&c3, LOGIN_T | STAGES(0, 1), 0, normal_keys);
	assert_int_equal(login_status(p), 0);
	c3.exp_statsn = get32(p->bhs + 24) + 1;
	const char *const op[] = {"HeaderDigest=None", "DataDigest=None", NULL};
	p = first_login(&c3, LOGIN_T | STAGES(1, 3), 0, op);
	assert_int_equal(login_status(p), 0);
	assert_int_equal(p->bhs[1], LOGIN_T | STAGES(1, 3));
	assert_int_equal(get16(p->bhs + 14), c1.tsih);
	expect_closed(&c1);
	c1.tsih = 0;
	client_close(&c1);
	client_close(&c3);
}

/* Discovery session: SendTargets=All lists the target and this portal
 * with its group tag (RFC 7143 appendix C). */
static void test_discovery_send_targets(void **state)
{
	struct iscsi_client c;
	client_open(&c, 6);
	const char *const kv[] = {INITIATOR, "SessionType=Discovery", "AuthMethod=None", NULL};
	const struct pdu *p = first_login(&c, LOGIN_T | STAGES(0, 1), 0, kv);
	assert_int_equal(login_status(p), 0);
	c.exp_statsn = get32(p->bhs + 24) + 1;
	const char *const op[] = {"HeaderDigest=None", "DataDigest=None", NULL};
	p = first_login(&c, LOGIN_T | STAGES(1, 3), 0, op);
	assert_int_equal(login_status(p), 0);
	assert_memory_equal(p->bhs + 8, c.isid, 6);
	assert_int_equal(p->bhs[1], LOGIN_T | STAGES(1, 3));
	c.tsih = get16(p->bhs + 14);
	assert_int_not_equal(c.tsih, 0);
	c.exp_statsn = get32(p->bhs + 24) + 1;

	uint8_t bhs[BHS_LEN] = {OP_TEXT_REQ | OP_IMMEDIATE, 0x80};
	put32(bhs + 16, 0x99);
	put32(bhs + 20, 0xffffffff);
	put32(bhs + 24, c.cmdsn);
	put32(bhs + 28, c.exp_statsn);
	static const char st[] = "SendTargets=All";
	pdu_send(&c, bhs, st, sizeof(st));
	p = pdu_expect(&c, OP_TEXT_RSP);
	assert_int_equal(pdu_itt(p), 0x99);
	assert_int_equal(p->bhs[1] & 0xc0, 0x80);	  /* F=1, C=0: complete */
	assert_int_equal(get32(p->bhs + 20), 0xffffffff); /* TTT with F=1 */
	assert_int_equal(get32(p->bhs + 24), c.exp_statsn);
	assert_non_null(text_value(p, "TargetName"));
	assert_string_equal(text_value(p, "TargetName"), ISCSI_TEST_TARGET);
	assert_non_null(text_value(p, "TargetAddress"));
	assert_string_equal(text_value(p, "TargetAddress"), ISCSI_TEST_PORTAL ",1");
	client_close(&c);
}

/* Logout "close the session" (RFC 7143 11.14, 11.15): Logout Response
 * with "connection or session closed successfully", then the target
 * closes the connection and the session is gone. */
static void test_logout(void **state)
{
	struct iscsi_client c;
	client_open(&c, 7);
	client_login(&c);
	uint8_t bhs[BHS_LEN] = {0x06 | OP_IMMEDIATE, 0x80 | 0}; /* reason 0 */
	put32(bhs + 16, 0x55);
	put16(bhs + 20, 1); /* CID */
	put32(bhs + 24, c.cmdsn);
	put32(bhs + 28, c.exp_statsn);
	pdu_send(&c, bhs, NULL, 0);
	const struct pdu *p = pdu_expect(&c, 0x26);
	assert_int_equal(p->bhs[1], 0x80);
	assert_int_equal(p->bhs[2], 0); /* closed successfully */
	assert_int_equal(pdu_itt(p), 0x55);
	assert_int_equal(get32(p->bhs + 24), c.exp_statsn);
	assert_int_equal(get32(p->bhs + 28), c.cmdsn);
	assert_int_equal(p->dlen, 0);
	expect_closed(&c);
	client_close(&c); /* waits until the session is gone */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normal_login),
	    cmocka_unit_test(test_unknown_target),
	    cmocka_unit_test(test_unsupported_version),
	    cmocka_unit_test(test_invalid_stage_transitions),
	    cmocka_unit_test(test_missing_initiator_name),
	    cmocka_unit_test(test_bad_initiator_name),
	    cmocka_unit_test(test_bad_target_name_and_control_chars),
	    cmocka_unit_test(test_unknown_tsih),
	    cmocka_unit_test(test_added_connection),
	    cmocka_unit_test(test_discovery_send_targets),
	    cmocka_unit_test(test_logout),
	};
	return cmocka_run_group_tests(tests, iscsi_target_group_setup, iscsi_target_group_teardown);
}
