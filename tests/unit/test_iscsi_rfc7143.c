/*
 * RFC 7143 rules the review of issue 17 (section 4) found broken, driven
 * over a socket against the in-process target (fixtures/): each test fails
 * on the code before its fix.
 *   - the empty Login Response to a C=1 request names the request's CSG
 *     (11.13.1);
 *   - a NOP-In echoes at most the initiator's MaxRecvDataSegmentLength of
 *     the ping data (11.19);
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures/iscsi_client.h"
#include "fixtures/iscsi_target.h"

#define INITIATOR "InitiatorName=iqn.2026-12.org.uscst:unit-initiator"

static size_t keys_to(char *buf, size_t cap, const char *const *kv)
{
	size_t n = 0;
	for (unsigned i = 0; kv[i]; i++) {
		int w = snprintf(buf + n, cap - n, "%s", kv[i]);
		assert_true(w > 0 && (size_t)w < cap - n);
		n += (size_t)w + 1;
	}
	return n;
}

/* A first Login Request in the operational stage (CSG=1: security skipped,
 * allowed without authentication) split over two PDUs: the empty response
 * to the C=1 part names CSG=1, T=0 (RFC 7143 11.13.1: the response
 * carries the CSG of the request it answers). */
static void test_login_continue_keeps_csg(void **state)
{
	struct iscsi_client c;
	client_open(&c, 101);
	char buf[512];
	const char *const kv[] = {INITIATOR, "SessionType=Normal", "TargetName=" ISCSI_TEST_TARGET,
				  "HeaderDigest=None", NULL};
	size_t n = keys_to(buf, sizeof(buf), kv);
	uint8_t bhs[BHS_LEN];
	login_bhs(&c, bhs, LOGIN_C | STAGES(1, 0), 0x31);
	pdu_send(&c, bhs, buf, 20); /* cut inside a pair */
	const struct pdu *p = pdu_expect(&c, OP_LOGIN_RSP);
	assert_int_equal(pdu_itt(p), 0x31);
	assert_int_equal(login_status(p), 0);
	assert_int_equal(p->dlen, 0);
	if (p->bhs[1] != STAGES(1, 0))
		fail_msg("flags 0x%02x in the empty response, expected CSG=1 (0x%02x)", p->bhs[1],
			 STAGES(1, 0));
	c.exp_statsn = get32(p->bhs + 24) + 1;
	login_bhs(&c, bhs, LOGIN_T | STAGES(1, 3), 0x31);
	pdu_send(&c, bhs, buf + 20, (uint32_t)(n - 20));
	p = pdu_expect(&c, OP_LOGIN_RSP);
	assert_int_equal(login_status(p), 0);
	assert_int_equal(p->bhs[1] & 0x0c, STAGES(1, 0));
	client_close(&c);
}

/* A NOP-Out with more ping data than the initiator's MaxRecvDataSegmentLength
 * (8192, declared by client_login) but within the target's: the NOP-In
 * carries the first 8192 bytes only (RFC 7143 11.19). */
static void test_nop_in_echo_limited(void **state)
{
	struct iscsi_client *c = *state;
	uint32_t len = CLIENT_MRDSL + 3000;
	uint8_t *ping = malloc(len);
	assert_non_null(ping);
	for (uint32_t i = 0; i < len; i++)
		ping[i] = (uint8_t)(i * 7 + 1);
	uint8_t bhs[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, 0x80};
	bhs[9] = 0;
	put32(bhs + 16, 0x4242);
	put32(bhs + 20, 0xffffffff);
	put32(bhs + 24, c->cmdsn);
	put32(bhs + 28, c->exp_statsn);
	pdu_send(c, bhs, ping, len);
	const struct pdu *p = pdu_expect(c, OP_NOP_IN);
	assert_int_equal(pdu_itt(p), 0x4242);
	if (p->dlen != CLIENT_MRDSL)
		fail_msg("NOP-In echoes %u bytes, the initiator takes %u", p->dlen, CLIENT_MRDSL);
	assert_memory_equal(p->data, ping, CLIENT_MRDSL);
	c->exp_statsn++;
	free(ping);
	expect_ping(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_login_continue_keeps_csg),
	    cmocka_unit_test_setup_teardown(test_nop_in_echo_limited, client_session_setup,
					    client_session_teardown),
	};
	return cmocka_run_group_tests(tests, iscsi_target_group_setup, iscsi_target_group_teardown);
}
