/*
 * The portals a SendTargets answer names (iscsi/portal_list.c): the
 * request's own first, each listener once, a wildcard listener by the
 * request's address (IPv4 only for 0.0.0.0, either family for [::]),
 * nothing that is not HOST:PORT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/portal_list.h"

static void build(struct portal_list *l, const char *local, const char *const *bound, unsigned n)
{
	char b[PORTAL_LIST_MAX][PORTAL_ADDR_MAX];
	for (unsigned i = 0; i < n; i++)
		strcpy(b[i], bound[i]);
	portal_list_build(l, local, (const void *)b, n);
}

static void test_specific_listeners(void **state)
{
	struct portal_list l;
	const char *bound[] = {"127.0.0.1:3260", "127.0.0.2:3261", "[::1]:3260"};
	build(&l, "127.0.0.2:3261", bound, 3);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.addr[0], "127.0.0.2:3261"); /* the request's first */
	assert_string_equal(l.addr[1], "127.0.0.1:3260");
	assert_string_equal(l.addr[2], "[::1]:3260");
	assert_string_equal(l.host[2], "[::1]");
	assert_int_equal(l.port[1], 3260);
	assert_int_equal(l.port[0], 3261);
}

static void test_wildcards(void **state)
{
	struct portal_list l;
	const char *bound[] = {"0.0.0.0:3260", "[::]:3262", "0.0.0.0:3263"};
	build(&l, "10.0.0.5:3260", bound, 3);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.addr[0], "10.0.0.5:3260");
	assert_string_equal(l.addr[1], "10.0.0.5:3262");
	assert_string_equal(l.addr[2], "10.0.0.5:3263");
	/* An IPv6 request: not through an IPv4 wildcard. */
	build(&l, "[fe80::1]:3262", bound, 3);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.addr[0], "[fe80::1]:3262");
}

static void test_malformed(void **state)
{
	struct portal_list l;
	const char *bound[] = {"?", "1.2.3.4:", ":3260", "1.2.3.4:99999", "1.2.3.4:3260"};
	build(&l, "?", bound, 5);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.addr[0], "1.2.3.4:3260");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_specific_listeners),
	    cmocka_unit_test(test_wildcards),
	    cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
