/*
 * priv_check_user: the --user that the daemon refuses before it opens
 * anything (and again in priv_drop).  A user whose primary group is root
 * would keep group root after the drop, so it is refused like uid 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/privileges.h"

static void test_root_uid_refused(void **state)
{
	struct priv_user u = {.uid = 0, .gid = 0, .name = "root"};
	char err[256] = "";
	assert_int_equal(priv_check_user(&u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is root"));
}

static void test_root_gid_refused(void **state)
{
	struct priv_user u = {.uid = 1000, .gid = 0, .name = "alice"};
	char err[256] = "";
	assert_int_equal(priv_check_user(&u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "alice"));
	assert_non_null(strstr(err, "gid 0"));
}

static void test_plain_user_accepted(void **state)
{
	struct priv_user u = {.uid = 65534, .gid = 65534, .name = "nobody"};
	char err[256] = "";
	assert_int_equal(priv_check_user(&u, err, sizeof(err)), 0);
}

/* priv_drop refuses a gid-0 user before changing anything (this test runs
 * as any user: the refusal comes first, so no id is touched). */
static void test_drop_refuses_root_gid(void **state)
{
	struct priv_user u = {.uid = 1000, .gid = 0, .name = "alice"};
	char err[256] = "";
	assert_int_equal(priv_drop(&u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "gid 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_root_uid_refused),
	    cmocka_unit_test(test_root_gid_refused),
	    cmocka_unit_test(test_plain_user_accepted),
	    cmocka_unit_test(test_drop_refuses_root_gid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
