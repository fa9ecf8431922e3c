/*
 * RFC 7143 rules the review of issue 17 (section 4) found broken, driven
 * over a socket against the in-process target (fixtures/): each test fails
 * on the code before its fix.
 *   - the empty Login Response to a C=1 request names the request's CSG
 *     (11.13.1);
 *   - a NOP-In echoes at most the initiator's MaxRecvDataSegmentLength of
 *     the ping data (11.19);
 *   - the Data-Out an initiator still owes on an R2T of a task aborted by
 *     CLEAR TASK SET, LOGICAL UNIT RESET or TARGET WARM RESET is taken and
 *     dropped, never Rejected (11.5.1; ABORT TASK and ABORT TASK SET are in
 *     test_iscsi_tmf.c).
 *   - a command whose R/W bits contradict the CDB's data direction: a
 *     READ flagged as a write answers GOOD with the residual overflow of
 *     its undelivered Data-In, a WRITE flagged as a read gets CHECK
 *     CONDITION, ILLEGAL REQUEST, INVALID FIELD IN COMMAND INFORMATION
 *     UNIT (0Eh/03h); a bidirectional command (no command of this target
 *     is one) is refused so, with the Bidirectional Read Residual of its
 *     AHS (11.4.5.2); AHS lengths are checked (Reject).
 *   - a Text request in full feature phase: MaxRecvDataSegmentLength (Use:
 *     ALL, declarative) is taken and sizes the Data-In sent after it;
 *     login-only keys get Reject, keys only a target sends Irrelevant,
 *     unknown keys NotUnderstood (6.2, 13).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Function codes (RFC 7143 11.5.1). */
enum { TMF_CLEAR_TASK_SET = 4, TMF_LUN_RESET = 5, TMF_TARGET_WARM_RESET = 6 };

static uint32_t send_tmf(struct iscsi_client *c, uint8_t function, uint32_t ref_itt)
{
	uint8_t bhs[BHS_LEN] = {OP_TMF_REQ | OP_IMMEDIATE};
	bhs[1] = (uint8_t)(0x80 | function);
	uint32_t itt = c->itt++;
	put32(bhs + 16, itt);
	put32(bhs + 20, ref_itt);
	put32(bhs + 24, c->cmdsn);
	put32(bhs + 28, c->exp_statsn);
	pdu_send(c, bhs, NULL, 0);
	return itt;
}

/* The TMF Response for itt (with StatSN in order); returns its Response. */
static uint8_t expect_tmf_rsp(struct iscsi_client *c, uint32_t itt)
{
	const struct pdu *p = pdu_expect(c, OP_TMF_RSP);
	assert_int_equal(pdu_itt(p), itt);
	assert_int_equal(get32(p->bhs + 24), c->exp_statsn);
	c->exp_statsn++;
	return p->bhs[2];
}

/* A WRITE of 32 blocks with one immediate: the R2T for the other 31 is
 * open when `function` arrives.  The initiator then answers the R2T
 * (RFC 7143 11.5.1 b: it keeps responding to every TTT it holds): the
 * TMF is answered "Function complete" (CLEAR TASK SET only once that
 * Data-Out is in), and that Data-Out draws no Reject (before or after the
 * answer), nor does the WRITE get a response. */
static void task_set_abort_owed_data(struct iscsi_client *c, uint8_t function)
{
	uint8_t bhs[BHS_LEN], cdb[16];
	uint8_t *data = calloc(1, 32 * ISCSI_TEST_BLOCK);
	assert_non_null(data);
	cdb_rw10(cdb, 0x2a, 600, 32);
	uint32_t itt =
	    scsi_cmd_bhs(c, bhs, CMD_F | CMD_W | CMD_SIMPLE, 32 * ISCSI_TEST_BLOCK, cdb, 10);
	pdu_send(c, bhs, data, ISCSI_TEST_BLOCK);
	const struct pdu *p = pdu_expect(c, OP_R2T);
	assert_int_equal(pdu_itt(p), itt);
	uint32_t ttt = get32(p->bhs + 20);
	uint32_t offset = get32(p->bhs + 40), len = get32(p->bhs + 44);

	uint32_t tmf = send_tmf(c, function, 0xffffffff);
	/* CLEAR TASK SET waits for the TTT's answer (11.5.1); the resets do
	 * not (one must not hang on an initiator that never answers). */
	if (function == TMF_CLEAR_TASK_SET)
		pdu_expect_none(c, 200);
	uint8_t out[BHS_LEN] = {OP_DATA_OUT, 0x80};
	put32(out + 16, itt);
	put32(out + 20, ttt);
	put32(out + 28, c->exp_statsn);
	put32(out + 40, offset);
	pdu_send(c, out, data, len);
	free(data);
	assert_int_equal(expect_tmf_rsp(c, tmf), 0);
	if (pdu_recv_timeout(c, 300))
		fail_msg("function %u: after the answer, opcode 0x%02x (reason 0x%02x) for the "
			 "owed Data-Out",
			 function, pdu_opcode(&c->rx), c->rx.bhs[2]);
	if (function != TMF_CLEAR_TASK_SET)
		client_clear_ua(c); /* the resets' 29h/03h */
	expect_ping(c);
}

static void test_clear_task_set_owed_data(void **state)
{
	task_set_abort_owed_data(*state, TMF_CLEAR_TASK_SET);
}

static void test_lun_reset_owed_data(void **state)
{
	task_set_abort_owed_data(*state, TMF_LUN_RESET);
}

static void test_warm_reset_owed_data(void **state)
{
	task_set_abort_owed_data(*state, TMF_TARGET_WARM_RESET);
}

/* A SCSI Command with an AHS (no digests in these sessions): BHS, the AHS
 * (a multiple of 4 bytes), no data. */
static void send_with_ahs(struct iscsi_client *c, uint8_t *bhs, const uint8_t *ahs,
			  uint32_t ahs_len)
{
	assert_true(ahs_len % 4 == 0 && ahs_len <= 1020);
	uint8_t buf[BHS_LEN + 1020];
	put24(bhs + 5, 0);
	bhs[4] = (uint8_t)(ahs_len / 4);
	memcpy(buf, bhs, BHS_LEN);
	memcpy(buf + BHS_LEN, ahs, ahs_len);
	size_t n = BHS_LEN + ahs_len, off = 0;
	while (off < n) {
		ssize_t w = write(c->fd, buf + off, n - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
}

/* The sense of c->rx (a SCSI Response with CHECK CONDITION) is
 * key/asc/ascq. */
static void expect_sense(struct iscsi_client *c, uint8_t key, uint8_t asc, uint8_t ascq)
{
	const struct pdu *p = &c->rx;
	assert_true(p->dlen >= 2 + 14);
	if ((p->data[2 + 2] & 0x0f) != key || p->data[2 + 12] != asc || p->data[2 + 13] != ascq)
		fail_msg("sense %02x/%02x/%02x, expected %02x/%02x/%02x", p->data[2 + 2] & 0x0f,
			 p->data[2 + 12], p->data[2 + 13], key, asc, ascq);
}

/* Answers every R2T for itt with zeros until the status comes. */
static uint8_t status_feeding_r2ts(struct iscsi_client *c, uint32_t itt)
{
	static uint8_t zeros[64 * 1024];
	for (;;) {
		if (!pdu_recv_timeout(c, PDU_TIMEOUT_MS))
			fail_msg("no status for ITT 0x%x", itt);
		const struct pdu *p = &c->rx;
		if (pdu_opcode(p) == OP_R2T) {
			uint32_t ttt = get32(p->bhs + 20), off = get32(p->bhs + 40);
			uint32_t len = get32(p->bhs + 44);
			assert_true(len <= sizeof(zeros));
			uint8_t out[BHS_LEN] = {OP_DATA_OUT, 0x80};
			put32(out + 16, itt);
			put32(out + 20, ttt);
			put32(out + 28, c->exp_statsn);
			put32(out + 40, off);
			pdu_send(c, out, zeros, len);
			continue;
		}
		if (pdu_opcode(p) != OP_SCSI_RSP)
			fail_msg("opcode 0x%02x while waiting for the status of ITT 0x%x",
				 pdu_opcode(p), itt);
		assert_int_equal(pdu_itt(p), itt);
		assert_int_equal(get32(p->bhs + 24), c->exp_statsn);
		c->exp_statsn++;
		return p->bhs[3];
	}
}

/* READ(10) sent as a write (R=0, W=1): the initiator sends data the CDB
 * does not take and takes none of what it returns.  The target drops the
 * Data-Out, runs the READ and answers GOOD (libiscsi's Read10Invalid
 * expects it) with residual overflow 512: none of the block reached the
 * initiator (before: residual 0, as if all had).  A WRITE(10) sent as a
 * read (R=1, W=0) cannot run: the data it needs never comes; CHECK
 * CONDITION, INVALID FIELD IN COMMAND INFORMATION UNIT. */
static void test_read_with_write_bit(void **state)
{
	struct iscsi_client *c = *state;
	uint8_t bhs[BHS_LEN], cdb[16];
	cdb_rw10(cdb, 0x28, 0, 1);
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_W | CMD_SIMPLE, ISCSI_TEST_BLOCK, cdb, 10);
	pdu_send(c, bhs, NULL, 0);
	assert_int_equal(status_feeding_r2ts(c, itt), 0x00);
	if (!(c->rx.bhs[1] & 0x04) || get32(c->rx.bhs + 44) != ISCSI_TEST_BLOCK)
		fail_msg("READ with W: flags 0x%02x residual %u, expected overflow %u",
			 c->rx.bhs[1], get32(c->rx.bhs + 44), ISCSI_TEST_BLOCK);
	cdb_rw10(cdb, 0x2a, 0, 1);
	itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_R | CMD_SIMPLE, ISCSI_TEST_BLOCK, cdb, 10);
	pdu_send(c, bhs, NULL, 0);
	assert_int_equal(status_feeding_r2ts(c, itt), 0x02);
	expect_sense(c, 0x05, 0x0e, 0x03);
	expect_ping(c);
}

/* A bidirectional READ(10) (R=1, W=1, 512 bytes each way): the
 * Bidirectional Read Expected Data Transfer Length AHS (type 2) is read,
 * the command refused as above, and the response says that none of the
 * 512 bytes to read moved: u bit (0x08) and Bidirectional Read Residual
 * Count 512 (RFC 7143 11.4.5.2). */
static void test_bidirectional_refused(void **state)
{
	struct iscsi_client *c = *state;
	uint8_t bhs[BHS_LEN], cdb[16], ahs[8] = {0, 5, 2, 0};
	put32(ahs + 4, ISCSI_TEST_BLOCK);
	cdb_rw10(cdb, 0x28, 0, 1);
	uint32_t itt =
	    scsi_cmd_bhs(c, bhs, CMD_F | CMD_R | CMD_W | CMD_SIMPLE, ISCSI_TEST_BLOCK, cdb, 10);
	send_with_ahs(c, bhs, ahs, sizeof(ahs));
	assert_int_equal(status_feeding_r2ts(c, itt), 0x02);
	const struct pdu *p = &c->rx;
	if (!(p->bhs[1] & 0x08) || get32(p->bhs + 40) != ISCSI_TEST_BLOCK)
		fail_msg("flags 0x%02x, bidirectional read residual %u", p->bhs[1],
			 get32(p->bhs + 40));
	expect_sense(c, 0x05, 0x0e, 0x03);
	expect_ping(c);
}

/* Sends a TEST UNIT READY with this AHS; expects Reject reason 0x09
 * (Invalid PDU field) carrying the header. */
static void expect_ahs_reject(struct iscsi_client *c, uint8_t flags, const uint8_t *ahs,
			      uint32_t len, const char *what)
{
	uint8_t bhs[BHS_LEN], cdb[16] = {0};
	uint32_t itt = scsi_cmd_bhs(c, bhs, flags, 0, cdb, 6);
	send_with_ahs(c, bhs, ahs, len);
	if (!pdu_recv_timeout(c, PDU_TIMEOUT_MS))
		fail_msg("%s: no answer", what);
	const struct pdu *p = &c->rx;
	if (pdu_opcode(p) != 0x3f || p->bhs[2] != 0x09)
		fail_msg("%s: opcode 0x%02x byte 2 0x%02x, expected Reject 0x09", what,
			 pdu_opcode(p), p->bhs[2]);
	assert_int_equal(get32(p->data + 16), itt);
	c->exp_statsn++;
}

/* AHS lengths and types from the wire are checked: an AHSLength past
 * TotalAHSLength, a Bidirectional Read EDTL AHS of the wrong length, an
 * unassigned type, one on a command that is not bidirectional, a
 * bidirectional command without one. */
static void test_ahs_checked(void **state)
{
	struct iscsi_client *c = *state;
	const uint8_t past_end[8] = {0x00, 0x40, 1, 0, 0, 0, 0, 0};
	const uint8_t bidi_short[8] = {0x00, 0x03, 2, 0, 0, 0, 0, 0};
	const uint8_t unassigned[8] = {0x00, 0x05, 9, 0, 0, 0, 0, 0};
	const uint8_t bidi[8] = {0x00, 0x05, 2, 0, 0, 0, 2, 0};
	expect_ahs_reject(c, CMD_F | CMD_SIMPLE, past_end, 8, "AHSLength past the AHS");
	expect_ahs_reject(c, CMD_F | CMD_SIMPLE, bidi_short, 8, "bidirectional AHS of 3 bytes");
	expect_ahs_reject(c, CMD_F | CMD_SIMPLE, unassigned, 8, "AHS type 9");
	expect_ahs_reject(c, CMD_F | CMD_R | CMD_SIMPLE, bidi, 8, "bidirectional AHS, R only");
	expect_ahs_reject(c, CMD_F | CMD_R | CMD_W | CMD_SIMPLE, past_end, 0,
			  "R and W without the bidirectional AHS");
	expect_ping(c);
}

/* One Text request (immediate, F=1) in full feature phase; returns the
 * Text Response (F=1 expected: the answer fits one PDU). */
static const struct pdu *text_exchange(struct iscsi_client *c, const char *const *kv)
{
	char buf[512];
	size_t n = keys_to(buf, sizeof(buf), kv);
	uint8_t bhs[BHS_LEN] = {OP_TEXT_REQ | OP_IMMEDIATE, 0x80};
	uint32_t itt = c->itt++;
	put32(bhs + 16, itt);
	put32(bhs + 20, 0xffffffff);
	put32(bhs + 24, c->cmdsn);
	put32(bhs + 28, c->exp_statsn);
	pdu_send(c, bhs, buf, (uint32_t)n);
	const struct pdu *p = pdu_expect(c, OP_TEXT_RSP);
	assert_int_equal(pdu_itt(p), itt);
	assert_int_equal(p->bhs[1] & 0xc0, 0x80);
	assert_int_equal(get32(p->bhs + 24), c->exp_statsn);
	c->exp_statsn++;
	return p;
}

static void expect_answer(const struct pdu *p, const char *key, const char *want)
{
	const char *v = text_value(p, key);
	if (want == NULL && v != NULL)
		fail_msg("%s=%s answered, expected no answer", key, v);
	if (want && (!v || strcmp(v, want)))
		fail_msg("%s=%s, expected %s", key, v ? v : "(none)", want);
}

/* The Data-In PDUs of a READ(10) of `blocks`: each no longer than max. */
static void read_in_pieces(struct iscsi_client *c, uint16_t blocks, uint32_t max)
{
	uint8_t bhs[BHS_LEN], cdb[16];
	cdb_rw10(cdb, 0x28, 0, blocks);
	uint32_t len = blocks * ISCSI_TEST_BLOCK, got = 0;
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_R | CMD_SIMPLE, len, cdb, 10);
	pdu_send(c, bhs, NULL, 0);
	for (;;) {
		const struct pdu *p = pdu_expect(c, OP_DATA_IN);
		assert_int_equal(pdu_itt(p), itt);
		if (p->dlen > max)
			fail_msg("Data-In of %u bytes after MaxRecvDataSegmentLength=%u", p->dlen,
				 max);
		got += p->dlen;
		if (p->bhs[1] & 0x01) {
			c->exp_statsn++;
			break;
		}
	}
	assert_int_equal(got, len);
}

static void test_ffp_text_keys(void **state)
{
	struct iscsi_client *c = *state;
	read_in_pieces(c, 16, CLIENT_MRDSL); /* 8192 bytes, the login's value */
	const char *const kv[] = {"MaxRecvDataSegmentLength=4096",
				  "HeaderDigest=CRC32C,None",
				  "MaxConnections=2",
				  "MaxBurstLength=4096",
				  "InitiatorName=iqn.2026-12.org.uscst:other",
				  "TargetAlias=pretender",
				  "X-org.uscst.unknown=1",
				  NULL};
	const struct pdu *p = text_exchange(c, kv);
	expect_answer(p, "MaxRecvDataSegmentLength", NULL); /* declarative */
	expect_answer(p, "HeaderDigest", "Reject");	    /* Use: IO */
	expect_answer(p, "MaxConnections", "Reject");	    /* Use: LO */
	expect_answer(p, "MaxBurstLength", "Reject");
	expect_answer(p, "InitiatorName", "Reject");
	expect_answer(p, "TargetAlias", "Irrelevant"); /* only a target declares it */
	expect_answer(p, "X-org.uscst.unknown", "NotUnderstood");
	read_in_pieces(c, 16, 4096);
	/* Out of range (below 512): Reject, the value in force stays. */
	const char *const bad[] = {"MaxRecvDataSegmentLength=100", NULL};
	p = text_exchange(c, bad);
	expect_answer(p, "MaxRecvDataSegmentLength", "Reject");
	read_in_pieces(c, 16, 4096);
	expect_ping(c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, client_session_setup, client_session_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_login_continue_keeps_csg),
	    T(test_nop_in_echo_limited),
	    T(test_clear_task_set_owed_data),
	    T(test_lun_reset_owed_data),
	    T(test_warm_reset_owed_data),
	    T(test_read_with_write_bit),
	    T(test_bidirectional_refused),
	    T(test_ahs_checked),
	    T(test_ffp_text_keys),
	};
	return cmocka_run_group_tests(tests, iscsi_target_group_setup, iscsi_target_group_teardown);
}
