/*
 * iSCSI SCSI Command, Data-In, R2T, Data-Out and SCSI Response PDUs
 * (src/iscsi/scsi_cmd.c, data_in.c, data_out.c) driven over a socket
 * against the in-process target with a nullio LUN (fixtures/): what RFC
 * 7143 11.3-11.8 says the target sends back, field by field.  The session
 * negotiates MaxRecvDataSegmentLength 8192 (ours), FirstBurstLength 16384,
 * MaxBurstLength 65536, InitialR2T=Yes, ImmediateData=Yes,
 * MaxOutstandingR2T 1 (fixtures/iscsi_client.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures/iscsi_client.h"
#include "fixtures/iscsi_target.h"

#define BS ISCSI_TEST_BLOCK
#define FLAG_U 0x02 /* residual underflow */
#define FLAG_O 0x04 /* residual overflow */

/* Sends READ(10) of `blocks` blocks with the given EDTL; returns the ITT. */
static uint32_t send_read(struct iscsi_client *c, uint16_t blocks, uint32_t edtl)
{
	uint8_t bhs[BHS_LEN], cdb[16];
	cdb_rw10(cdb, 0x28, 0, blocks);
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_R | CMD_SIMPLE, edtl, cdb, 10);
	pdu_send(c, bhs, NULL, 0);
	return itt;
}

/* One Data-In PDU of the command itt: DataSN, BufferOffset, the reserved
 * TTT, and its length within our MaxRecvDataSegmentLength. */
static const struct pdu *expect_data_in(struct iscsi_client *c, uint32_t itt, uint32_t datasn,
					uint32_t offset, uint32_t len)
{
	const struct pdu *p = pdu_expect(c, OP_DATA_IN);
	assert_int_equal(pdu_itt(p), itt);
	assert_int_equal(get32(p->bhs + 20), 0xffffffff);
	assert_int_equal(get32(p->bhs + 36), datasn);
	assert_int_equal(get32(p->bhs + 40), offset);
	assert_int_equal(p->dlen, len);
	assert_true(p->dlen <= CLIENT_MRDSL);
	return p;
}

/* The status on the last Data-In (S bit, phase collapse, RFC 7143
 * 11.7.1): status, StatSN in order, residual flags and count. */
static void expect_collapsed_status(struct iscsi_client *c, const struct pdu *p, uint8_t resid_flag,
				    uint32_t resid)
{
	assert_int_equal(p->bhs[1] & 0x81, 0x81); /* F and S */
	assert_int_equal(p->bhs[1] & (FLAG_U | FLAG_O), resid_flag);
	assert_int_equal(p->bhs[3], 0x00); /* GOOD */
	assert_int_equal(get32(p->bhs + 24), c->exp_statsn);
	c->exp_statsn++;
	assert_int_equal(get32(p->bhs + 28), c->cmdsn); /* ExpCmdSN passed the READ */
	assert_int_equal(get32(p->bhs + 44), resid);
}

/* 16 KiB read with our MaxRecvDataSegmentLength 8192: two Data-In PDUs,
 * the status on the second. */
static void test_read_data_in(void **state)
{
	struct iscsi_client *c = *state;
	uint32_t itt = send_read(c, 32, 32 * BS);
	const struct pdu *p = expect_data_in(c, itt, 0, 0, 8192);
	assert_int_equal(p->bhs[1] & 0x01, 0); /* no status yet */
	p = expect_data_in(c, itt, 1, 8192, 8192);
	expect_collapsed_status(c, p, 0, 0);
	expect_ping(c);
}

/* EDTL larger than the transfer: underflow, the residual is the rest
 * (RFC 7143 11.4.5). */
static void test_read_underflow(void **state)
{
	struct iscsi_client *c = *state;
	uint32_t itt = send_read(c, 1, 4096);
	const struct pdu *p = expect_data_in(c, itt, 0, 0, BS);
	expect_collapsed_status(c, p, FLAG_U, 4096 - BS);
}

/* EDTL smaller than the transfer: only EDTL bytes move, overflow. */
static void test_read_overflow(void **state)
{
	struct iscsi_client *c = *state;
	uint32_t itt = send_read(c, 8, 1024);
	const struct pdu *p = expect_data_in(c, itt, 0, 0, 1024);
	expect_collapsed_status(c, p, FLAG_O, 8 * BS - 1024);
}

/* A SCSI Response (RFC 7143 11.4) for itt: GOOD, completed at target. */
static void expect_good_response(struct iscsi_client *c, uint32_t itt)
{
	const struct pdu *p = pdu_expect(c, OP_SCSI_RSP);
	assert_int_equal(pdu_itt(p), itt);
	assert_int_equal(p->bhs[1] & 0x80, 0x80);
	assert_int_equal(p->bhs[1] & (FLAG_U | FLAG_O), 0);
	assert_int_equal(p->bhs[2], 0x00); /* Command Completed at Target */
	assert_int_equal(p->bhs[3], 0x00); /* GOOD */
	assert_int_equal(get32(p->bhs + 24), c->exp_statsn);
	c->exp_statsn++;
	assert_int_equal(get32(p->bhs + 28), c->cmdsn);
	assert_int_equal(get32(p->bhs + 44), 0);
	assert_int_equal(p->dlen, 0);
}

/* All the data as immediate data: no R2T, the response at once. */
static void test_write_immediate(void **state)
{
	struct iscsi_client *c = *state;
	uint8_t bhs[BHS_LEN], cdb[16], data[2 * BS];
	memset(data, 0x5a, sizeof(data));
	cdb_rw10(cdb, 0x2a, 100, 2);
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_W | CMD_SIMPLE, sizeof(data), cdb, 10);
	pdu_send(c, bhs, data, sizeof(data));
	expect_good_response(c, itt);
}

/* Sends a WRITE(10) of `blocks` blocks with `imm` bytes of immediate data
 * and expects the R2T for the rest (RFC 7143 11.8): the ITT and LUN of
 * the command, a TTT other than 0xffffffff, R2TSN 0, BufferOffset right
 * after the immediate data, DesiredDataTransferLength the rest (within
 * MaxBurstLength).  Returns the TTT. */
static uint32_t write_until_r2t(struct iscsi_client *c, uint16_t blocks, uint32_t imm,
				uint32_t *itt)
{
	uint8_t bhs[BHS_LEN], cdb[16];
	uint8_t *data = calloc(1, imm);
	assert_non_null(data);
	cdb_rw10(cdb, 0x2a, 200, blocks);
	*itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_W | CMD_SIMPLE, blocks * BS, cdb, 10);
	pdu_send(c, bhs, data, imm);
	free(data);
	const struct pdu *p = pdu_expect(c, OP_R2T);
	assert_int_equal(p->bhs[1], 0x80);
	assert_int_equal(pdu_itt(p), *itt);
	assert_memory_equal(p->bhs + 8, (uint8_t[8]){0}, 8); /* LUN 0 */
	uint32_t ttt = get32(p->bhs + 20);
	assert_int_not_equal(ttt, 0xffffffff);
	assert_int_equal(get32(p->bhs + 24), c->exp_statsn); /* StatSN not advanced */
	assert_int_equal(get32(p->bhs + 36), 0);	     /* R2TSN */
	assert_int_equal(get32(p->bhs + 40), imm);	     /* BufferOffset */
	assert_int_equal(get32(p->bhs + 44), blocks * BS - imm);
	return ttt;
}

/* Data-Out PDUs carrying [offset, offset + len) for ttt, in PDUs of
 * at most `seg` bytes, F on the last one. */
static void send_data_out(struct iscsi_client *c, uint32_t itt, uint32_t ttt, uint32_t offset,
			  uint32_t len, uint32_t seg)
{
	uint8_t *data = calloc(1, seg);
	assert_non_null(data);
	for (uint32_t done = 0, sn = 0; done < len; sn++) {
		uint32_t n = len - done < seg ? len - done : seg;
		uint8_t bhs[BHS_LEN] = {OP_DATA_OUT};
		bhs[1] = done + n == len ? 0x80 : 0x00;
		put32(bhs + 16, itt);
		put32(bhs + 20, ttt);
		put32(bhs + 28, c->exp_statsn);
		put32(bhs + 36, sn);
		put32(bhs + 40, offset + done);
		pdu_send(c, bhs, data, n);
		done += n;
	}
	free(data);
}

/* A WRITE larger than FirstBurstLength: the first burst as immediate
 * data, the rest solicited by one R2T and answered with two Data-Out. */
static void test_write_r2t(void **state)
{
	struct iscsi_client *c = *state;
	uint32_t itt;
	uint32_t ttt = write_until_r2t(c, 64, CLIENT_FIRST_BURST, &itt);
	pdu_expect_none(c, 100); /* nothing more until the data comes */
	send_data_out(c, itt, ttt, CLIENT_FIRST_BURST, 64 * BS - CLIENT_FIRST_BURST, 8192);
	expect_good_response(c, itt);
}

/* Immediate data beyond FirstBurstLength breaks RFC 7143 13.14: the
 * command is rejected (protocol error) and takes its CmdSN, so the
 * next command still runs. */
static void test_immediate_beyond_first_burst(void **state)
{
	struct iscsi_client *c = *state;
	uint8_t bhs[BHS_LEN], cdb[16];
	uint32_t len = CLIENT_FIRST_BURST + BS;
	uint8_t *data = calloc(1, len);
	assert_non_null(data);
	cdb_rw10(cdb, 0x2a, 300, (uint16_t)(2 * len / BS));
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_W | CMD_SIMPLE, 2 * len, cdb, 10);
	pdu_send(c, bhs, data, len);
	free(data);
	const struct pdu *p = pdu_expect(c, OP_REJECT);
	assert_int_equal(p->bhs[2], 0x04);  /* Protocol Error */
	assert_int_equal(p->dlen, BHS_LEN); /* the rejected header */
	assert_int_equal(get32(p->data + 16), itt);
	c->exp_statsn++;
	uint32_t next = send_read(c, 1, BS);
	p = expect_data_in(c, next, 0, 0, BS);
	expect_collapsed_status(c, p, 0, 0);
}

/* A Data-Out whose TTT the target never gave: Reject with "Invalid PDU
 * field" and the PDU's header (RFC 7143 11.17.1); the connection stays
 * and the command still ends with a response once its R2T is answered. */
static void test_data_out_unknown_ttt(void **state)
{
	struct iscsi_client *c = *state;
	uint32_t itt;
	uint32_t ttt = write_until_r2t(c, 64, CLIENT_FIRST_BURST, &itt);
	send_data_out(c, itt, ttt + 0x100, CLIENT_FIRST_BURST, BS, BS);
	const struct pdu *p = pdu_expect(c, OP_REJECT);
	assert_int_equal(p->bhs[2], 0x09); /* Invalid PDU field */
	assert_int_equal(get32(p->bhs + 16), 0xffffffff);
	assert_int_equal(get32(p->bhs + 24), c->exp_statsn);
	c->exp_statsn++;
	assert_int_equal(p->dlen, BHS_LEN);
	assert_int_equal(p->data[0] & 0x3f, OP_DATA_OUT);
	assert_int_equal(get32(p->data + 20), ttt + 0x100);
	send_data_out(c, itt, ttt, CLIENT_FIRST_BURST, 64 * BS - CLIENT_FIRST_BURST, 8192);
	p = pdu_expect(c, OP_SCSI_RSP);
	assert_int_equal(pdu_itt(p), itt);
	c->exp_statsn++;
	expect_ping(c);
}

/* One Data-Out PDU of `len` zero bytes at offset, with DataSN sn. */
static void send_one_data_out(struct iscsi_client *c, uint32_t itt, uint32_t ttt, uint32_t sn,
			      uint32_t offset, uint32_t len, bool final)
{
	uint8_t *data = calloc(1, len);
	assert_non_null(data);
	uint8_t bhs[BHS_LEN] = {OP_DATA_OUT};
	bhs[1] = final ? 0x80 : 0x00;
	put32(bhs + 16, itt);
	put32(bhs + 20, ttt);
	put32(bhs + 28, c->exp_statsn);
	put32(bhs + 36, sn);
	put32(bhs + 40, offset);
	pdu_send(c, bhs, data, len);
	free(data);
}

/* The R2T's range [FB, 64 blocks) answered so that it is not covered
 * exactly once in order: a gap filled last, or an overlap that leaves the
 * tail unsent while the byte count adds up.  The buffer is not zeroed, so
 * either must fail the command: a Reject (protocol error) for each PDU
 * that does not start where the previous one ended, then CHECK
 * CONDITION; the connection stays. */
static void data_out_not_tiling(void **state, bool overlap)
{
	struct iscsi_client *c = *state;
	uint32_t itt;
	uint32_t ttt = write_until_r2t(c, 64, CLIENT_FIRST_BURST, &itt);
	uint32_t off = CLIENT_FIRST_BURST, len = 64 * BS - CLIENT_FIRST_BURST, half = len / 2;
	send_one_data_out(c, itt, ttt, 0, off, half, false);
	if (overlap) {
		send_one_data_out(c, itt, ttt, 1, off + half - BS, len - half, true);
	} else {
		send_one_data_out(c, itt, ttt, 1, off + half + BS, len - half - BS, false);
		send_one_data_out(c, itt, ttt, 2, off + half, BS, true);
	}
	/* The gap's two later PDUs both start elsewhere than expected. */
	const struct pdu *p;
	uint32_t bad[2] = {off + half + (overlap ? -BS : BS), off + half};
	for (int i = 0; i < (overlap ? 1 : 2); i++) {
		p = pdu_expect(c, OP_REJECT);
		assert_int_equal(p->bhs[2], 0x04); /* Protocol Error */
		assert_int_equal(get32(p->data + 40), bad[i]);
		c->exp_statsn++;
	}
	assert_int_equal(expect_status(c, itt, NULL), 0x02); /* CHECK CONDITION */
	uint32_t next = send_read(c, 1, BS);
	p = expect_data_in(c, next, 0, 0, BS);
	expect_collapsed_status(c, p, 0, 0);
}

static void test_data_out_gap(void **state) { data_out_not_tiling(state, false); }
static void test_data_out_overlap(void **state) { data_out_not_tiling(state, true); }

/* A Data-Out for an ITT with no task: Reject, Invalid PDU field. */
static void test_data_out_unknown_itt(void **state)
{
	struct iscsi_client *c = *state;
	send_data_out(c, 0xabcdef, 0x1234, 0, BS, BS);
	const struct pdu *p = pdu_expect(c, OP_REJECT);
	assert_int_equal(p->bhs[2], 0x09);
	assert_int_equal(get32(p->data + 16), 0xabcdef);
	c->exp_statsn++;
	expect_ping(c);
}

/* With InitialR2T=No (the target's default accepts it): the command
 * announces unsolicited data (F=0), which comes as immediate data and
 * Data-Out with the reserved TTT up to FirstBurstLength; the target then
 * solicits only the rest, from FirstBurstLength on (RFC 7143 11.8,
 * 13.11, 13.14). */
static void test_unsolicited_data_out(void **state)
{
	struct iscsi_client *c = *state;
	uint8_t bhs[BHS_LEN], cdb[16], imm[4096] = {0};
	cdb_rw10(cdb, 0x2a, 400, 64);
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_W | CMD_SIMPLE, 64 * BS, cdb, 10); /* F=0 */
	pdu_send(c, bhs, imm, sizeof(imm));
	send_data_out(c, itt, 0xffffffff, sizeof(imm), CLIENT_FIRST_BURST - sizeof(imm), 8192);
	const struct pdu *p = pdu_expect(c, OP_R2T);
	assert_int_equal(pdu_itt(p), itt);
	uint32_t ttt = get32(p->bhs + 20);
	assert_int_not_equal(ttt, 0xffffffff);
	assert_int_equal(get32(p->bhs + 36), 0);
	assert_int_equal(get32(p->bhs + 40), CLIENT_FIRST_BURST);
	assert_int_equal(get32(p->bhs + 44), 64 * BS - CLIENT_FIRST_BURST);
	send_data_out(c, itt, ttt, CLIENT_FIRST_BURST, 64 * BS - CLIENT_FIRST_BURST, 8192);
	expect_good_response(c, itt);
}

/* Unsolicited Data-Out beyond FirstBurstLength breaks RFC 7143 13.14:
 * Reject "Protocol Error" with the PDU's header.  The task ends as the
 * target chooses, but it does end (after its R2T, if it sends one), and
 * the connection stays. */
static void test_unsolicited_beyond_first_burst(void **state)
{
	struct iscsi_client *c = *state;
	uint8_t bhs[BHS_LEN], cdb[16];
	cdb_rw10(cdb, 0x2a, 450, 64);
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_W | CMD_SIMPLE, 64 * BS, cdb, 10); /* F=0 */
	pdu_send(c, bhs, NULL, 0);
	send_data_out(c, itt, 0xffffffff, 0, CLIENT_FIRST_BURST + BS, CLIENT_FIRST_BURST + BS);
	const struct pdu *p = pdu_expect(c, OP_REJECT);
	assert_int_equal(p->bhs[2], 0x04);
	assert_int_equal(p->dlen, BHS_LEN);
	assert_int_equal(p->data[0] & 0x3f, OP_DATA_OUT);
	assert_int_equal(get32(p->data + 16), itt);
	c->exp_statsn++;
	assert_true(pdu_recv_timeout(c, PDU_TIMEOUT_MS));
	if (pdu_opcode(&c->rx) == OP_R2T) {
		uint32_t ttt = get32(c->rx.bhs + 20), off = get32(c->rx.bhs + 40);
		send_data_out(c, itt, ttt, off, get32(c->rx.bhs + 44), 8192);
		p = pdu_expect(c, OP_SCSI_RSP);
	} else {
		p = &c->rx;
		assert_int_equal(pdu_opcode(p), OP_SCSI_RSP);
	}
	assert_int_equal(pdu_itt(p), itt);
	c->exp_statsn++;
	expect_ping(c);
}

/* The MaxCmdSN of the last PDU that carried one. */
static uint32_t last_max_cmdsn(const struct iscsi_client *c) { return get32(c->rx.bhs + 32); }

/* Commands are delivered in CmdSN order (RFC 7143 4.2.2.1): one that
 * arrives ahead of a missing CmdSN waits for it, then both run. */
static void test_cmdsn_order(void **state)
{
	struct iscsi_client *c = *state;
	uint8_t first[BHS_LEN], second[BHS_LEN], cdb[16];
	cdb_rw10(cdb, 0x28, 0, 1);
	uint32_t a = scsi_cmd_bhs(c, first, CMD_F | CMD_R | CMD_SIMPLE, BS, cdb, 10);
	uint32_t b = scsi_cmd_bhs(c, second, CMD_F | CMD_R | CMD_SIMPLE, BS, cdb, 10);
	pdu_send(c, second, NULL, 0); /* CmdSN n + 1 before n */
	pdu_expect_none(c, 200);
	pdu_send(c, first, NULL, 0);
	uint32_t seen = 0;
	for (int i = 0; i < 2; i++) {
		const struct pdu *p = pdu_expect(c, OP_DATA_IN);
		assert_true(pdu_itt(p) == a || pdu_itt(p) == b);
		seen |= pdu_itt(p) == a ? 1 : 2;
		assert_int_equal(p->bhs[1] & 0x81, 0x81);
		assert_int_equal(get32(p->bhs + 24), c->exp_statsn);
		c->exp_statsn++;
	}
	assert_int_equal(seen, 3);
	assert_int_equal(get32(c->rx.bhs + 28), c->cmdsn); /* ExpCmdSN passed both */
}

/* A command whose CmdSN is outside [ExpCmdSN, MaxCmdSN] is silently
 * ignored (RFC 7143 4.2.2.1): no answer, nothing kept (its ITT is free
 * again at once), and the session carries on. */
static void test_cmdsn_outside_window(void **state)
{
	struct iscsi_client *c = *state;
	expect_ping(c);
	uint32_t max = last_max_cmdsn(c);
	uint8_t bhs[BHS_LEN], cdb[16];
	cdb_rw10(cdb, 0x28, 0, 1);
	uint32_t next = c->cmdsn, itt = c->itt;
	const uint32_t outside[] = {max + 1, next - 1};
	for (unsigned i = 0; i < 2; i++) {
		c->cmdsn = outside[i];
		c->itt = itt; /* the same ITT each time: a kept task would clash */
		scsi_cmd_bhs(c, bhs, CMD_F | CMD_R | CMD_SIMPLE, BS, cdb, 10);
		pdu_send(c, bhs, NULL, 0);
		pdu_expect_none(c, 200);
	}
	c->cmdsn = next;
	c->itt = itt;
	assert_int_equal(send_read(c, 1, BS), itt);
	const struct pdu *p = expect_data_in(c, itt, 0, 0, BS);
	expect_collapsed_status(c, p, 0, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, client_session_setup, client_session_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_read_data_in),
	    T(test_read_underflow),
	    T(test_read_overflow),
	    T(test_write_immediate),
	    T(test_write_r2t),
	    T(test_immediate_beyond_first_burst),
	    T(test_data_out_unknown_ttt),
	    T(test_data_out_unknown_itt),
	    T(test_data_out_gap),
	    T(test_data_out_overlap),
	    cmocka_unit_test_setup_teardown(test_unsolicited_data_out,
					    client_session_setup_unsolicited,
					    client_session_teardown),
	    cmocka_unit_test_setup_teardown(test_unsolicited_beyond_first_burst,
					    client_session_setup_unsolicited,
					    client_session_teardown),
	    T(test_cmdsn_order),
	    T(test_cmdsn_outside_window),
	};
	return cmocka_run_group_tests(tests, iscsi_target_group_setup, iscsi_target_group_teardown);
}
