/*
 * Asynchronous Messages at a graceful stop (src/iscsi/async.c, quiesce.c),
 * driven over sockets against the in-process target (fixtures/): the
 * transport's quiesce asks every session to log out (AsyncEvent 1,
 * Parameter3 = the time it has), a session that logs out gets its Logout
 * Response, and one still there at the bound (the transport's stop) is
 * told its connection is dropped (AsyncEvent 2: Parameter1 its CID,
 * Parameter2 Time2Wait, Parameter3 Time2Retain 0) before the target
 * closes it (RFC 7143 11.9.1).  The stop closes the session table, so
 * this binary has one test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures/iscsi_client.h"
#include "fixtures/iscsi_target.h"
#include "iscsi/driver.h"

#define OP_ASYNC 0x32

/* The Async Message in c->rx: F=1, ITT 0xffffffff, StatSN in order,
 * AsyncEvent event; returns the header. */
static const uint8_t *expect_async(struct iscsi_client *c, uint8_t event)
{
	const struct pdu *p = pdu_expect(c, OP_ASYNC);
	assert_int_equal(p->bhs[1], 0x80);
	assert_int_equal(pdu_itt(p), 0xffffffff);
	assert_int_equal(get32(p->bhs + 24), c->exp_statsn);
	c->exp_statsn++;
	if (p->bhs[36] != event)
		fail_msg("AsyncEvent %u, expected %u", p->bhs[36], event);
	return p->bhs;
}

static void test_stop_asks_then_drops(void **state)
{
	struct iscsi_client a, b;
	client_open(&a, 201);
	client_login(&a);
	client_open(&b, 202);
	client_login(&b);

	iscsi_driver.quiesce(&iscsi_driver, 7);
	const uint8_t *h = expect_async(&a, 1);
	assert_int_equal(get16(h + 42), 7); /* log out within 7 s */
	h = expect_async(&b, 1);
	assert_int_equal(get16(h + 42), 7);

	/* a honours it: "close the session" is answered. */
	uint8_t bhs[BHS_LEN] = {0x06 | OP_IMMEDIATE, 0x80};
	put32(bhs + 16, 0x66);
	put16(bhs + 20, 1);
	put32(bhs + 24, a.cmdsn);
	put32(bhs + 28, a.exp_statsn);
	pdu_send(&a, bhs, NULL, 0);
	const struct pdu *p = pdu_expect(&a, 0x26);
	assert_int_equal(p->bhs[2], 0);
	expect_closed(&a);

	/* b does not: at the bound it is told, then closed. */
	iscsi_driver.stop(&iscsi_driver);
	h = expect_async(&b, 2);
	assert_int_equal(get16(h + 38), 1); /* the CID it logged in with */
	assert_int_equal(get16(h + 40), 2); /* DefaultTime2Wait as negotiated */
	assert_int_equal(get16(h + 42), 0); /* nothing retained */
	expect_closed(&b);
	client_close(&a);
	client_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stop_asks_then_drops),
	};
	return cmocka_run_group_tests(tests, iscsi_target_group_setup, iscsi_target_group_teardown);
}
