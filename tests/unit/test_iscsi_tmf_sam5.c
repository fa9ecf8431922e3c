/*
 * The task management functions RFC 7144 brought to iSCSI (SAM-5 7.7-7.10),
 * src/core/tmf_query.c and src/iscsi/tmf.c, over sockets against the
 * in-process target (fixtures/): QUERY TASK, QUERY TASK SET and QUERY
 * ASYNC EVENT answer "Function succeeded" (7) when they find something and
 * "Function complete" (0) when not, change nothing, and say which unit
 * attention is pending; I_T NEXUS RESET aborts the nexus's tasks, releases
 * its SPC-2 reservation and gives it, and only it, I_T NEXUS LOSS OCCURRED
 * (29h/07h).
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

/* RFC 7144 4.1 function codes, RFC 7143/7144 responses. */
enum {
	TMF_QUERY_TASK = 9,
	TMF_QUERY_TASK_SET = 10,
	TMF_I_T_NEXUS_RESET = 11,
	TMF_QUERY_ASYNC_EVENT = 12,
};
enum { RSP_COMPLETE = 0, RSP_NO_LUN = 2, RSP_SUCCEEDED = 7 };

static uint32_t send_tmf(struct iscsi_client *c, uint8_t function, uint8_t lun, uint32_t ref_itt)
{
	uint8_t bhs[BHS_LEN] = {OP_TMF_REQ | OP_IMMEDIATE};
	bhs[1] = (uint8_t)(0x80 | function);
	bhs[9] = lun;
	uint32_t itt = c->itt++;
	put32(bhs + 16, itt);
	put32(bhs + 20, ref_itt);
	put32(bhs + 24, c->cmdsn);
	put32(bhs + 28, c->exp_statsn);
	pdu_send(c, bhs, NULL, 0);
	return itt;
}

/* The TMF Response for itt; its Response, and bytes 36-38 in info. */
static uint8_t tmf_rsp(struct iscsi_client *c, uint32_t itt, uint8_t *info)
{
	const struct pdu *p = pdu_expect(c, OP_TMF_RSP);
	assert_int_equal(pdu_itt(p), itt);
	assert_int_equal(get32(p->bhs + 24), c->exp_statsn);
	c->exp_statsn++;
	if (info)
		memcpy(info, p->bhs + 36, 3);
	return p->bhs[2];
}

static uint8_t query(struct iscsi_client *c, uint8_t function, uint8_t lun, uint32_t ref_itt)
{
	return tmf_rsp(c, send_tmf(c, function, lun, ref_itt), NULL);
}

/* A WRITE of 8 blocks at lba whose R2T is open; returns its ITT and the
 * R2T's TTT, offset and length. */
static uint32_t open_write(struct iscsi_client *c, uint32_t lba, uint32_t *ttt, uint32_t *off,
			   uint32_t *len)
{
	uint8_t bhs[BHS_LEN], cdb[16];
	cdb_rw10(cdb, 0x2a, lba, 8);
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_W | CMD_SIMPLE, 8 * BS, cdb, 10);
	pdu_send(c, bhs, NULL, 0);
	const struct pdu *p = pdu_expect(c, OP_R2T);
	assert_int_equal(pdu_itt(p), itt);
	*ttt = get32(p->bhs + 20);
	*off = get32(p->bhs + 40);
	*len = get32(p->bhs + 44);
	return itt;
}

static void send_data(struct iscsi_client *c, uint32_t itt, uint32_t ttt, uint32_t off,
		      uint32_t len)
{
	uint8_t *data = calloc(1, len);
	assert_non_null(data);
	uint8_t out[BHS_LEN] = {OP_DATA_OUT, 0x80};
	put32(out + 16, itt);
	put32(out + 20, ttt);
	put32(out + 28, c->exp_statsn);
	put32(out + 40, off);
	pdu_send(c, out, data, len);
	free(data);
}

/* QUERY TASK and QUERY TASK SET see a WRITE waiting for its Data-Out,
 * leave it alone (it then completes GOOD), and no longer see it once it
 * has completed; another tag is not found; an unmapped LUN does not
 * exist. */
static void test_query_task_and_task_set(void **state)
{
	struct iscsi_client *c = *state;
	uint32_t ttt, off, len;
	uint32_t itt = open_write(c, 100, &ttt, &off, &len);
	assert_int_equal(query(c, TMF_QUERY_TASK, 0, itt), RSP_SUCCEEDED);
	assert_int_equal(query(c, TMF_QUERY_TASK, 0, itt + 1000), RSP_COMPLETE);
	assert_int_equal(query(c, TMF_QUERY_TASK_SET, 0, 0xffffffff), RSP_SUCCEEDED);
	assert_int_equal(query(c, TMF_QUERY_TASK, 7, itt), RSP_NO_LUN);
	send_data(c, itt, ttt, off, len);
	assert_int_equal(expect_status(c, itt, NULL), 0x00);
	assert_int_equal(query(c, TMF_QUERY_TASK, 0, itt), RSP_COMPLETE);
	assert_int_equal(query(c, TMF_QUERY_TASK_SET, 0, 0xffffffff), RSP_COMPLETE);
	expect_ping(c);
}

static uint8_t tur_sense(struct iscsi_client *c, uint8_t *asc, uint8_t *ascq)
{
	uint8_t bhs[BHS_LEN], cdb[6] = {0};
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_SIMPLE, 0, cdb, sizeof(cdb));
	pdu_send(c, bhs, NULL, 0);
	uint8_t st = expect_status(c, itt, NULL);
	if (st == 0x02) {
		assert_true(c->rx.dlen >= 2 + 14);
		*asc = c->rx.data[2 + 12];
		*ascq = c->rx.data[2 + 13];
	}
	return st;
}

/* A new session has its power-on unit attention pending: QUERY ASYNC
 * EVENT reports it (06h/29h/xx) and leaves it there for the next
 * command; once taken, nothing is pending. */
static void test_query_async_event(void **state)
{
	struct iscsi_client c;
	client_open(&c, 61);
	client_login(&c);
	uint8_t info[3];
	uint32_t tmf = send_tmf(&c, TMF_QUERY_ASYNC_EVENT, 0, 0xffffffff);
	assert_int_equal(tmf_rsp(&c, tmf, info), RSP_SUCCEEDED);
	assert_int_equal(info[0] & 0x0f, 0x06);
	assert_int_equal(info[1], 0x29);
	client_clear_ua(&c); /* still pending: the next command gets it */
	tmf = send_tmf(&c, TMF_QUERY_ASYNC_EVENT, 0, 0xffffffff);
	assert_int_equal(tmf_rsp(&c, tmf, info), RSP_COMPLETE);
	client_close(&c);
}

/* I_T NEXUS RESET from a: its open WRITE is aborted (no response; the
 * Data-Out it still owes draws no Reject), its RESERVE(6) is released (b
 * may read again), a's LU reports I_T NEXUS LOSS OCCURRED and b's
 * nothing. */
static void test_it_nexus_reset(void **state)
{
	struct iscsi_client *a = *state, b;
	client_open(&b, 62);
	client_login(&b);
	client_clear_ua(&b);
	uint8_t bhs[BHS_LEN], cdb[16] = {0x16}; /* RESERVE(6) */
	uint32_t itt = scsi_cmd_bhs(a, bhs, CMD_F | CMD_SIMPLE, 0, cdb, 6);
	pdu_send(a, bhs, NULL, 0);
	assert_int_equal(expect_status(a, itt, NULL), 0x00);
	cdb_rw10(cdb, 0x28, 0, 1);
	itt = scsi_cmd_bhs(&b, bhs, CMD_F | CMD_R | CMD_SIMPLE, BS, cdb, 10);
	pdu_send(&b, bhs, NULL, 0);
	assert_int_equal(expect_status(&b, itt, NULL), 0x18); /* RESERVATION CONFLICT */

	uint32_t ttt, off, len;
	uint32_t w = open_write(a, 200, &ttt, &off, &len);
	assert_int_equal(query(a, TMF_I_T_NEXUS_RESET, 0, 0xffffffff), RSP_COMPLETE);
	send_data(a, w, ttt, off, len);
	if (pdu_recv_timeout(a, 300))
		fail_msg("opcode 0x%02x after the reset (the WRITE's response or a Reject)",
			 pdu_opcode(&a->rx));
	uint8_t asc = 0, ascq = 0;
	assert_int_equal(tur_sense(a, &asc, &ascq), 0x02);
	assert_int_equal(asc, 0x29);
	assert_int_equal(ascq, 0x07);
	assert_int_equal(tur_sense(&b, &asc, &ascq), 0x00);
	itt = scsi_cmd_bhs(&b, bhs, CMD_F | CMD_R | CMD_SIMPLE, BS, cdb, 10);
	pdu_send(&b, bhs, NULL, 0);
	assert_int_equal(expect_status(&b, itt, NULL), 0x00);
	expect_ping(a);
	client_close(&b);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, client_session_setup, client_session_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_query_task_and_task_set),
	    cmocka_unit_test(test_query_async_event),
	    T(test_it_nexus_reset),
	};
	return cmocka_run_group_tests(tests, iscsi_target_group_setup, iscsi_target_group_teardown);
}
