/*
 * dev_iscsi's reading of an upstream SCSI Response's residual
 * (backend/upstream_residual.h): what it says was moved, and nothing
 * more when it says nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend/upstream_residual.h"

static struct uscst_scsi_req req_with(int result, uint8_t status, uint32_t data_len)
{
	struct uscst_scsi_req req = {.result = result, .status = status, .data_len = data_len};
	req.transferred = 12345;
	req.overflow = 678;
	return req;
}

/* No U or O flag: GOOD moved the whole buffer, anything else nothing. */
static void test_no_residual(void **state)
{
	struct uscst_scsi_req req = req_with(0, 0x00, 512);
	upstream_residual_apply(&req, UPSTREAM_RESIDUAL_NONE, 0);
	assert_int_equal(req.transferred, 512);
	assert_int_equal(req.overflow, 0);
	req = req_with(0, 0x02, 65536); /* CHECK CONDITION */
	upstream_residual_apply(&req, UPSTREAM_RESIDUAL_NONE, 0);
	assert_int_equal(req.transferred, 0);
	req = req_with(0, 0x08, 512); /* BUSY */
	upstream_residual_apply(&req, UPSTREAM_RESIDUAL_NONE, 0);
	assert_int_equal(req.transferred, 0);
}

static void test_underflow(void **state)
{
	struct uscst_scsi_req req = req_with(0, 0x02, 512);
	upstream_residual_apply(&req, UPSTREAM_RESIDUAL_UNDER, 500);
	assert_int_equal(req.transferred, 12);
	assert_int_equal(req.overflow, 0);
	/* A residual beyond the buffer (or beyond 32 bits) moved nothing. */
	upstream_residual_apply(&req, UPSTREAM_RESIDUAL_UNDER, 513);
	assert_int_equal(req.transferred, 0);
	upstream_residual_apply(&req, UPSTREAM_RESIDUAL_UNDER, (uint64_t)1 << 32);
	assert_int_equal(req.transferred, 0);
}

static void test_overflow_saturates(void **state)
{
	struct uscst_scsi_req req = req_with(0, 0x00, 512);
	upstream_residual_apply(&req, UPSTREAM_RESIDUAL_OVER, 100);
	assert_int_equal(req.transferred, 512);
	assert_int_equal(req.overflow, 100);
	upstream_residual_apply(&req, UPSTREAM_RESIDUAL_OVER, (uint64_t)1 << 40);
	assert_int_equal(req.overflow, UINT32_MAX);
}

/* Not delivered: nothing moved, whatever the flags. */
static void test_failed(void **state)
{
	struct uscst_scsi_req req = req_with(-5, 0x00, 512);
	upstream_residual_apply(&req, UPSTREAM_RESIDUAL_OVER, 100);
	assert_int_equal(req.transferred, 0);
	assert_int_equal(req.overflow, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_residual),
	    cmocka_unit_test(test_underflow),
	    cmocka_unit_test(test_overflow_saturates),
	    cmocka_unit_test(test_failed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
