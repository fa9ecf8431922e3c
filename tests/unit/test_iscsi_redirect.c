/*
 * Login redirection (src/iscsi/redirect.c, login.c) over a socket against
 * the in-process target (fixtures/), configured with redirect_portal and
 * redirect_type: a login to the target gets status 01/02 (moved
 * permanently) or 01/01 (temporarily) with TargetAddress, TSIH 0, and the
 * connection closed; discovery still lists the target on this portal; an
 * unknown target is still "not found"; removing the attribute ends the
 * redirection; bad values are refused when set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "fixtures/iscsi_client.h"
#include "fixtures/iscsi_target.h"

#define INITIATOR "InitiatorName=iqn.2026-12.org.uscst:unit-initiator"

static int group_setup(void **state)
{
	static const char *const attrs[] = {"redirect_portal", "127.0.0.2:3261,7", "redirect_type",
					    "permanent", NULL};
	return iscsi_target_start(attrs);
}

static const struct pdu *first_login(struct iscsi_client *c, const char *const *kv)
{
	uint8_t bhs[BHS_LEN];
	char buf[512];
	size_t n = 0;
	for (unsigned i = 0; kv[i]; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", kv[i]) + 1;
	login_bhs(c, bhs, LOGIN_T | STAGES(0, 1), 0x21);
	pdu_send(c, bhs, buf, (uint32_t)n);
	return pdu_expect(c, OP_LOGIN_RSP);
}

static const char *const normal[] = {INITIATOR, "SessionType=Normal",
				     "TargetName=" ISCSI_TEST_TARGET, "AuthMethod=None", NULL};

static void expect_moved(uint8_t seed, uint16_t status, const char *addr)
{
	struct iscsi_client c;
	client_open(&c, seed);
	const struct pdu *p = first_login(&c, normal);
	if (login_status(p) != status)
		fail_msg("login status 0x%04x, expected 0x%04x", login_status(p), status);
	assert_int_equal(get16(p->bhs + 14), 0);
	assert_memory_equal(p->bhs + 8, c.isid, 6);
	assert_non_null(text_value(p, "TargetAddress"));
	assert_string_equal(text_value(p, "TargetAddress"), addr);
	expect_closed(&c);
	client_close(&c);
}

static void test_redirected(void **state)
{
	expect_moved(71, 0x0102, "127.0.0.2:3261,7");
	struct uscst_target *tgt = uscst_target_find(ISCSI_TEST_TARGET);
	char err[256];
	assert_true(uscst_target_set_attr(tgt, "redirect_type", "temporary", err, sizeof(err)));
	assert_true(uscst_target_set_attr(tgt, "redirect_portal", "[::1]:3262", err, sizeof(err)));
	expect_moved(72, 0x0101, "[::1]:3262,1");
}

/* Discovery lists the target where it is configured; a login to a target
 * that does not exist is still refused as such. */
static void test_discovery_and_unknown(void **state)
{
	struct iscsi_client c;
	client_open(&c, 73);
	const char *const unknown[] = {INITIATOR, "SessionType=Normal",
				       "TargetName=iqn.2026-12.org.uscst:nobody", "AuthMethod=None",
				       NULL};
	assert_int_equal(login_status(first_login(&c, unknown)), 0x0203);
	client_close(&c);

	client_open(&c, 74);
	const char *const disc[] = {INITIATOR, "SessionType=Discovery", "AuthMethod=None", NULL};
	const struct pdu *p = first_login(&c, disc);
	assert_int_equal(login_status(p), 0);
	c.exp_statsn = get32(p->bhs + 24) + 1;
	uint8_t bhs[BHS_LEN];
	static const char op[] = "HeaderDigest=None";
	login_bhs(&c, bhs, LOGIN_T | STAGES(1, 3), 0x22);
	pdu_send(&c, bhs, op, sizeof(op));
	p = pdu_expect(&c, OP_LOGIN_RSP);
	assert_int_equal(login_status(p), 0);
	c.tsih = get16(p->bhs + 14);
	c.exp_statsn = get32(p->bhs + 24) + 1;
	uint8_t t[BHS_LEN] = {OP_TEXT_REQ | OP_IMMEDIATE, 0x80};
	put32(t + 16, 0x99);
	put32(t + 20, 0xffffffff);
	put32(t + 24, c.cmdsn);
	put32(t + 28, c.exp_statsn);
	static const char st[] = "SendTargets=All";
	pdu_send(&c, t, st, sizeof(st));
	p = pdu_expect(&c, OP_TEXT_RSP);
	assert_non_null(text_value(p, "TargetName"));
	assert_string_equal(text_value(p, "TargetName"), ISCSI_TEST_TARGET);
	assert_string_equal(text_value(p, "TargetAddress"), ISCSI_TEST_PORTAL ",1");
	client_close(&c);
}

static bool any_value(const char *value, void *arg) { return true; }

/* Bad values are refused; without redirect_portal the login goes through. */
static void test_values_and_removal(void **state)
{
	struct uscst_target *tgt = uscst_target_find(ISCSI_TEST_TARGET);
	char err[256];
	static const char *const bad_portals[] = {"",
						  "127.0.0.2",
						  "127.0.0.2:",
						  "127.0.0.2:0",
						  "127.0.0.2:70000",
						  "[::1:3260",
						  "[]:3260",
						  "host name:3260",
						  "127.0.0.2:3260,",
						  "127.0.0.2:3260,x",
						  "127.0.0.2:3260,70000"};
	for (unsigned i = 0; i < sizeof(bad_portals) / sizeof(bad_portals[0]); i++)
		if (uscst_target_set_attr(tgt, "redirect_portal", bad_portals[i], err, sizeof(err)))
			fail_msg("redirect_portal '%s' taken", bad_portals[i]);
	assert_false(uscst_target_set_attr(tgt, "redirect_type", "forever", err, sizeof(err)));
	assert_true(uscst_target_set_attr(tgt, "redirect_portal", "storage-2.example.com:3260,2",
					  err, sizeof(err)));
	expect_moved(75, 0x0101, "storage-2.example.com:3260,2");
	core_target_remove_attr(tgt, "redirect_portal", any_value, NULL);
	struct iscsi_client c;
	client_open(&c, 76);
	client_login(&c);
	client_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redirected),
	    cmocka_unit_test(test_discovery_and_unknown),
	    cmocka_unit_test(test_values_and_removal),
	};
	return cmocka_run_group_tests(tests, group_setup, iscsi_target_group_teardown);
}
