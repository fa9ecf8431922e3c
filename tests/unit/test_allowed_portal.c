/* Unit tests for allowed_portal (iscsi/allowed_portal.c): patterns against
 * the target-side address of a connection, as iSCSI-SCST evaluates them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/allowed_portal.h"

/* NULL-terminated pattern list as the attribute getter. */
static const char *list_at(void *arg, unsigned i)
{
	const char *const *l = arg;
	for (unsigned k = 0; k < i; k++)
		if (!l[k])
			return NULL;
	return l[i];
}

static bool allowed(const char *const *patterns, const char *local_addr)
{
	return allowed_portal_match(list_at, (void *)patterns, local_addr);
}

static void test_none_allows_all(void **state)
{
	const char *const none[] = {NULL};
	assert_true(allowed(none, "10.0.0.1:3260"));
	assert_true(allowed(none, "[fe80::1]:3260"));
	assert_true(allowed(none, "garbage")); /* nothing to check against */
}

static void test_positives_or(void **state)
{
	const char *const p[] = {"10.170.77.*", "10.170.78.2", NULL};
	assert_true(allowed(p, "10.170.77.9:3260"));
	assert_true(allowed(p, "10.170.78.2:3261"));
	assert_false(allowed(p, "10.170.78.20:3260"));
	assert_false(allowed(p, "127.0.0.1:3260"));
}

static void test_negatives_and(void **state)
{
	const char *const p[] = {"!10.0.0.1", "!192.168.*", NULL};
	assert_true(allowed(p, "10.0.0.2:3260"));
	assert_false(allowed(p, "10.0.0.1:3260"));
	assert_false(allowed(p, "192.168.1.1:3260"));
	const char *const off[] = {"!*", NULL};
	assert_false(allowed(off, "10.0.0.2:3260"));
}

static void test_both(void **state)
{
	const char *const p[] = {"10.0.0.*", "!10.0.0.13", NULL};
	assert_true(allowed(p, "10.0.0.12:3260"));
	assert_false(allowed(p, "10.0.0.13:3260"));
	assert_false(allowed(p, "10.0.1.12:3260"));
}

/* The port and the brackets of an IPv6 address are not part of the match. */
static void test_host_only(void **state)
{
	const char *const v6[] = {"fe80::*", NULL};
	assert_true(allowed(v6, "[fe80::1]:3260"));
	assert_false(allowed(v6, "[2001:db8::1]:3260"));
	const char *const port[] = {"*:3260", NULL};
	assert_false(allowed(port, "10.0.0.1:3260"));
	/* Restricted but unreadable: refused. */
	const char *const any[] = {"*", NULL};
	assert_false(allowed(any, "noport"));
	assert_false(allowed(any, "[fe80::1:3260"));
}

static void test_check(void **state)
{
	char err[256];
	assert_true(allowed_portal_check(NULL, "10.0.0.*", err, sizeof(err)));
	assert_true(allowed_portal_check(NULL, "!10.0.0.1", err, sizeof(err)));
	assert_false(allowed_portal_check(NULL, "", err, sizeof(err)));
	assert_false(allowed_portal_check(NULL, "10.0.!0.1", err, sizeof(err)));
	assert_false(allowed_portal_check(NULL, "10.0.0.1 10.0.0.2", err, sizeof(err)));
	char longp[ALLOWED_PORTAL_MAX + 1];
	memset(longp, '1', ALLOWED_PORTAL_MAX);
	longp[ALLOWED_PORTAL_MAX] = 0;
	assert_false(allowed_portal_check(NULL, longp, err, sizeof(err)));
	assert_non_null(strstr(err, "allowed_portal"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_none_allows_all), cmocka_unit_test(test_positives_or),
	    cmocka_unit_test(test_negatives_and),   cmocka_unit_test(test_both),
	    cmocka_unit_test(test_host_only),	    cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
