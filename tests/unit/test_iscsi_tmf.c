/*
 * iSCSI Task Management Function Requests (src/iscsi/tmf.c, core/tmf.c)
 * driven over a socket against the in-process target (fixtures/): the
 * responses RFC 7143 11.6.1 prescribes for ABORT TASK of a task that is
 * gone or was never received, ABORT TASK of a WRITE with an R2T open
 * (answered only after the owed Data-Out, RFC 7143 11.5.1),
 * LOGICAL UNIT RESET, and function codes this target does not support.
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

/* Function codes (RFC 7143 11.5.1) and responses (11.6.1). */
enum {
	TMF_ABORT_TASK = 1,
	TMF_ABORT_TASK_SET = 2,
	TMF_CLEAR_ACA = 3,
	TMF_LUN_RESET = 5,
	TMF_TASK_REASSIGN = 8
};
enum {
	RSP_COMPLETE = 0,
	RSP_NO_TASK = 1,
	RSP_NO_LUN = 2,
	RSP_NO_REASSIGN = 4,
	RSP_NOT_SUPPORTED = 5,
	RSP_REJECTED = 255,
};

/* Sends a TMF request (immediate, so it takes no CmdSN of its own but
 * carries the next one); returns its ITT. */
static uint32_t send_tmf(struct iscsi_client *c, uint8_t function, uint64_t lun, uint32_t ref_itt,
			 uint32_t ref_cmdsn)
{
	uint8_t bhs[BHS_LEN] = {OP_TMF_REQ | OP_IMMEDIATE};
	bhs[1] = (uint8_t)(0x80 | function);
	bhs[9] = (uint8_t)lun; /* peripheral addressing, LUN < 256 */
	uint32_t itt = c->itt++;
	put32(bhs + 16, itt);
	put32(bhs + 20, ref_itt);
	put32(bhs + 24, c->cmdsn);
	put32(bhs + 28, c->exp_statsn);
	put32(bhs + 32, ref_cmdsn);
	pdu_send(c, bhs, NULL, 0);
	return itt;
}

/* The TMF Response for itt; returns its Response field. */
static uint8_t expect_tmf_rsp(struct iscsi_client *c, uint32_t itt)
{
	const struct pdu *p = pdu_expect(c, OP_TMF_RSP);
	assert_int_equal(p->bhs[1], 0x80);
	assert_int_equal(pdu_itt(p), itt);
	assert_int_equal(get32(p->bhs + 24), c->exp_statsn);
	c->exp_statsn++;
	assert_int_equal(get32(p->bhs + 28), c->cmdsn);
	assert_int_equal(p->dlen, 0);
	return p->bhs[2];
}

/* ABORT TASK naming a READ that has already completed: its CmdSN is
 * below ExpCmdSN, outside the window, so "Task does not exist" (11.6.1
 * case c). */
static void test_abort_completed_task(void **state)
{
	struct iscsi_client *c = *state;
	uint8_t bhs[BHS_LEN], cdb[16];
	cdb_rw10(cdb, 0x28, 0, 1);
	uint32_t read_cmdsn = c->cmdsn;
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_R | CMD_SIMPLE, BS, cdb, 10);
	pdu_send(c, bhs, NULL, 0);
	assert_int_equal(expect_status(c, itt, NULL), 0x00);
	uint32_t tmf = send_tmf(c, TMF_ABORT_TASK, 0, itt, read_cmdsn);
	assert_int_equal(expect_tmf_rsp(c, tmf), RSP_NO_TASK);
	expect_ping(c);
}

/* ABORT TASK naming a command not received yet, whose RefCmdSN is in
 * the window and below the TMF's CmdSN: the target takes that CmdSN as
 * received and answers "Function complete" (11.6.1 case b); ExpCmdSN
 * passes it, and the command, should it come late, does not run. */
static void test_abort_not_received(void **state)
{
	struct iscsi_client *c = *state;
	uint32_t missing = c->cmdsn++; /* never sent (yet) */
	uint32_t tmf = send_tmf(c, TMF_ABORT_TASK, 0, 0x4242, missing);
	assert_int_equal(expect_tmf_rsp(c, tmf), RSP_COMPLETE); /* ExpCmdSN passed it */

	/* The late command with that CmdSN is dropped: no answer. */
	uint8_t bhs[BHS_LEN], cdb[16];
	cdb_rw10(cdb, 0x28, 0, 1);
	uint32_t next = c->cmdsn;
	c->cmdsn = missing;
	scsi_cmd_bhs(c, bhs, CMD_F | CMD_R | CMD_SIMPLE, BS, cdb, 10);
	c->cmdsn = next;
	pdu_send(c, bhs, NULL, 0);
	pdu_expect_none(c, 200);
	expect_ping(c);
}

/* An abort by `function` (ABORT TASK or ABORT TASK SET) of a WRITE
 * whose R2T is open: the initiator still answers the R2T, the target
 * takes that Data-Out without a Reject, and only then answers the TMF,
 * "Function complete"; the WRITE itself gets no response. */
static void abort_write_with_open_r2t(struct iscsi_client *c, uint8_t function)
{
	uint8_t bhs[BHS_LEN], cdb[16];
	uint8_t *data = calloc(1, 32 * BS);
	assert_non_null(data);
	cdb_rw10(cdb, 0x2a, 500, 32);
	uint32_t write_cmdsn = c->cmdsn;
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_W | CMD_SIMPLE, 32 * BS, cdb, 10);
	pdu_send(c, bhs, data, BS); /* one block immediate, the rest by R2T */
	const struct pdu *p = pdu_expect(c, OP_R2T);
	assert_int_equal(pdu_itt(p), itt);
	uint32_t ttt = get32(p->bhs + 20);
	uint32_t offset = get32(p->bhs + 40), len = get32(p->bhs + 44);
	assert_int_equal(offset, BS);
	assert_int_equal(len, 31 * BS);

	uint32_t tmf = function == TMF_ABORT_TASK ? send_tmf(c, function, 0, itt, write_cmdsn)
						  : send_tmf(c, function, 0, 0xffffffff, 0);
	pdu_expect_none(c, 200); /* the answer waits for the Data-Out */

	uint8_t out[BHS_LEN] = {OP_DATA_OUT, 0x80};
	put32(out + 16, itt);
	put32(out + 20, ttt);
	put32(out + 28, c->exp_statsn);
	put32(out + 40, offset);
	pdu_send(c, out, data, len);
	free(data);
	assert_int_equal(expect_tmf_rsp(c, tmf), RSP_COMPLETE);
	pdu_expect_none(c, 100); /* no Reject, no SCSI Response for the WRITE */
	expect_ping(c);
}

static void test_abort_write_with_open_r2t(void **state)
{
	abort_write_with_open_r2t(*state, TMF_ABORT_TASK);
}

/* ABORT TASK SET (all of this session's tasks on the LU) waits the same
 * way for a WRITE with an open R2T. */
static void test_abort_task_set_with_open_r2t(void **state)
{
	abort_write_with_open_r2t(*state, TMF_ABORT_TASK_SET);
}

/* LOGICAL UNIT RESET: "Function complete", and the next command on the
 * LU reports the reset as a unit attention (SAM-5: BUS DEVICE RESET
 * FUNCTION OCCURRED, 29h/03h). */
static void test_lun_reset(void **state)
{
	struct iscsi_client *c = *state;
	uint32_t tmf = send_tmf(c, TMF_LUN_RESET, 0, 0xffffffff, 0);
	assert_int_equal(expect_tmf_rsp(c, tmf), RSP_COMPLETE);
	uint8_t bhs[BHS_LEN], tur[6] = {0};
	uint32_t itt = scsi_cmd_bhs(c, bhs, CMD_F | CMD_SIMPLE, 0, tur, sizeof(tur));
	pdu_send(c, bhs, NULL, 0);
	assert_int_equal(expect_status(c, itt, NULL), 0x02);
	const struct pdu *p = &c->rx;
	assert_true(p->dlen >= 2 + 14);
	assert_int_equal(p->data[2 + 2] & 0x0f, 0x06);
	assert_int_equal(p->data[2 + 12], 0x29);
	assert_int_equal(p->data[2 + 13], 0x03);
}

/* A LOGICAL UNIT RESET of a LUN that is not mapped: "LUN does not
 * exist". */
static void test_lun_reset_unknown_lun(void **state)
{
	struct iscsi_client *c = *state;
	uint32_t tmf = send_tmf(c, TMF_LUN_RESET, 9, 0xffffffff, 0);
	assert_int_equal(expect_tmf_rsp(c, tmf), RSP_NO_LUN);
}

/* TASK REASSIGN at ErrorRecoveryLevel 0: "Task allegiance reassignment
 * not supported"; CLEAR ACA, defined but not implemented (no NACA):
 * "Task management function not supported"; an unassigned function
 * code, for which RFC 7143 names no particular answer: refused, with
 * "not supported" or "Function rejected".  The connection stays usable. */
static void test_unsupported_functions(void **state)
{
	struct iscsi_client *c = *state;
	uint32_t tmf = send_tmf(c, TMF_TASK_REASSIGN, 0, 0x1, 0);
	assert_int_equal(expect_tmf_rsp(c, tmf), RSP_NO_REASSIGN);
	tmf = send_tmf(c, TMF_CLEAR_ACA, 0, 0xffffffff, 0);
	assert_int_equal(expect_tmf_rsp(c, tmf), RSP_NOT_SUPPORTED);
	tmf = send_tmf(c, 0x33, 0, 0xffffffff, 0);
	uint8_t r = expect_tmf_rsp(c, tmf);
	if (r != RSP_NOT_SUPPORTED && r != RSP_REJECTED)
		fail_msg("unassigned function 0x33 answered %u", r);
	expect_ping(c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, client_session_setup, client_session_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_abort_completed_task),
	    T(test_abort_not_received),
	    T(test_abort_write_with_open_r2t),
	    T(test_abort_task_set_with_open_r2t),
	    T(test_lun_reset),
	    T(test_lun_reset_unknown_lun),
	    T(test_unsupported_functions),
	};
	return cmocka_run_group_tests(tests, iscsi_target_group_setup, iscsi_target_group_teardown);
}
