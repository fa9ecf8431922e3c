/*
 * Unit attention queue (core/ua.c): a UA is reported once, to a command
 * for its own LUN; a UA pending on another LUN of the session (one the
 * initiator never uses) neither reaches nor holds up the others, LUNs
 * that share a bit of the lock-free hint included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"

static struct uscst_session sess;

static int setup(void **state)
{
	memset(&sess, 0, sizeof(sess));
	pthread_mutex_init(&sess.ua_lock, NULL);
	list_init(&sess.uas);
	return 0;
}

static int teardown(void **state)
{
	ua_clear_session(&sess);
	pthread_mutex_destroy(&sess.ua_lock);
	return 0;
}

static void test_ua_only_for_its_lun(void **state)
{
	uint8_t asc = 0, ascq = 0;
	ua_establish(&sess, 1, 0x29, 0x00);
	assert_false(ua_take(&sess, 0, &asc, &ascq));
	assert_true(ua_take(&sess, 1, &asc, &ascq));
	assert_int_equal(asc, 0x29);
	assert_false(ua_take(&sess, 1, &asc, &ascq)); /* reported once */
	assert_int_equal(atomic_load(&sess.ua_luns), 0);
}

static void test_luns_sharing_a_bit(void **state)
{
	uint8_t asc = 0, ascq = 0;
	/* LUNs 1 and 65 share the hint's bit: each still gets only its own. */
	ua_establish(&sess, 65, 0x2a, 0x09);
	assert_false(ua_take(&sess, 1, &asc, &ascq));
	ua_establish(&sess, 1, 0x29, 0x00);
	assert_true(ua_take(&sess, 1, &asc, &ascq));
	assert_int_equal(asc, 0x29);
	/* 65's is still pending, so the bit stays set. */
	assert_int_not_equal(atomic_load(&sess.ua_luns), 0);
	assert_true(ua_take(&sess, 65, &asc, &ascq));
	assert_int_equal(asc, 0x2a);
	assert_int_equal(atomic_load(&sess.ua_luns), 0);
}

static void test_clear_drops_all(void **state)
{
	uint8_t asc, ascq;
	ua_establish(&sess, 0, 0x29, 0x00);
	ua_establish(&sess, 3, 0x29, 0x00);
	ua_clear_session(&sess);
	assert_int_equal(atomic_load(&sess.ua_luns), 0);
	assert_false(ua_take(&sess, 0, &asc, &ascq));
	assert_false(ua_take(&sess, 3, &asc, &ascq));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ua_only_for_its_lun, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_luns_sharing_a_bit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clear_drops_all, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
