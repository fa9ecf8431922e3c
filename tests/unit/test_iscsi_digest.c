/*
 * iSCSI digests and NOP-Out ping data (src/iscsi/conn.c, pdu_frame.c,
 * nop.c, scsi_cmd.c) over a socket against the in-process target
 * (fixtures/): with HeaderDigest and DataDigest CRC32C negotiated, every
 * PDU the target sends carries correct digests (the client checks them
 * with its own CRC32C), a data digest error on immediate data gets a
 * Reject and fails the command, a header digest error ends the
 * connection (RFC 7143 7.8, 11.17.1, 13.1), and a ping's data comes back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures/crc32c.h"
#include "fixtures/iscsi_client.h"
#include "fixtures/iscsi_target.h"

#define BS ISCSI_TEST_BLOCK

/* The client's CRC32C against the standard check value, so that a digest
 * mismatch below is the target's. */
static void test_crc32c_check_value(void **state)
{
	assert_int_equal(test_crc32c("123456789", 9), 0xe3069283);
}

/* NOP-Out with ping data: the NOP-In returns the same data (RFC 7143
 * 11.19), with digests on both. */
static void test_ping_data_echo(void **state)
{
	struct iscsi_client *c = *state;
	uint8_t ping[101];
	for (unsigned i = 0; i < sizeof(ping); i++)
		ping[i] = (uint8_t)(i * 7 + 1);
	uint8_t bhs[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, 0x80};
	put32(bhs + 16, 0x321);
	put32(bhs + 20, 0xffffffff);
	put32(bhs + 24, c->cmdsn);
	put32(bhs + 28, c->exp_statsn);
	pdu_send(c, bhs, ping, sizeof(ping));
	const struct pdu *p = pdu_expect(c, OP_NOP_IN);
	assert_int_equal(pdu_itt(p), 0x321);
	assert_int_equal(p->dlen, sizeof(ping));
	assert_memory_equal(p->data, ping, sizeof(ping));
	c->exp_statsn++;
}

/* A READ and a WRITE with both digests: the data and status come back
 * with digests the client verifies. */
static void test_read_write_with_digests(void **state)
{
	struct iscsi_client *c = *state;
	uint8_t bhs[BHS_LEN], cdb[16], data[3 * BS];
	memset(data, 0xa5, sizeof(data));
	cdb_rw10(cdb, 0x2a, 10, 3);
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_W | CMD_SIMPLE, sizeof(data), cdb, 10);
	pdu_send(c, bhs, data, sizeof(data));
	assert_int_equal(expect_status(c, itt, NULL), 0x00);
	uint32_t got;
	cdb_rw10(cdb, 0x28, 10, 24);
	itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_R | CMD_SIMPLE, 24 * BS, cdb, 10);
	pdu_send(c, bhs, NULL, 0);
	assert_int_equal(expect_status(c, itt, &got), 0x00);
	assert_int_equal(got, 24 * BS);
}

/* Immediate data with a wrong data digest: Reject "Data (payload) Digest
 * Error" carrying the command's header, and at ErrorRecoveryLevel 0 the
 * command ends with CHECK CONDITION, ABORTED COMMAND; the connection
 * stays (only the payload was bad). */
static void test_data_digest_error(void **state)
{
	struct iscsi_client *c = *state;
	uint8_t bhs[BHS_LEN], cdb[16], data[2 * BS] = {0};
	cdb_rw10(cdb, 0x2a, 20, 2);
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_W | CMD_SIMPLE, sizeof(data), cdb, 10);
	c->corrupt = CORRUPT_DATA_DIGEST;
	pdu_send(c, bhs, data, sizeof(data));
	const struct pdu *p = pdu_expect(c, OP_REJECT);
	assert_int_equal(p->bhs[2], 0x02);
	assert_int_equal(p->dlen, BHS_LEN);
	assert_int_equal(p->data[0] & 0x3f, OP_SCSI_CMD);
	assert_int_equal(get32(p->data + 16), itt);
	assert_int_equal(get32(p->bhs + 24), c->exp_statsn);
	c->exp_statsn++;
	assert_int_equal(expect_status(c, itt, NULL), 0x02);
	p = &c->rx;
	assert_true(p->dlen >= 2 + 14);
	assert_int_equal(p->data[2 + 2] & 0x0f, 0x0b); /* ABORTED COMMAND */
	expect_ping(c);
}

/* A header digest error: nothing in the header can be trusted, its
 * length included, so at ErrorRecoveryLevel 0 the target drops the
 * connection. */
static void test_header_digest_error(void **state)
{
	struct iscsi_client *c = *state;
	uint8_t bhs[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, 0x80};
	put32(bhs + 16, 0x654);
	put32(bhs + 20, 0xffffffff);
	put32(bhs + 24, c->cmdsn);
	put32(bhs + 28, c->exp_statsn);
	c->corrupt = CORRUPT_HEADER_DIGEST;
	pdu_send(c, bhs, NULL, 0);
	expect_closed(c);
}

#define T(fn)                                                                                      \
	cmocka_unit_test_setup_teardown(fn, client_session_setup_digests, client_session_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32c_check_value),
	    T(test_ping_data_echo),
	    T(test_read_write_with_digests),
	    T(test_data_digest_error),
	    T(test_header_digest_error),
	};
	return cmocka_run_group_tests(tests, iscsi_target_group_setup, iscsi_target_group_teardown);
}
