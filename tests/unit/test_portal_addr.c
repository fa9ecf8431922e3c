/*
 * iscsi_format_addr: the address strings that allowed_portal patterns and
 * the per-address connection count compare.  An IPv4 client of a
 * dual-stack [::] listener arrives as ::ffff:A.B.C.D and must be written
 * as A.B.C.D, the same as through an IPv4 listener.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "iscsi/iscsi.h"

static void fmt6(const char *addr, unsigned port, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
	s->sin6_family = AF_INET6;
	s->sin6_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET6, addr, &s->sin6_addr), 1);
	iscsi_format_addr(&ss, buf, len);
}

static void test_ipv4(void **state)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;
	s->sin_family = AF_INET;
	s->sin_port = htons(3260);
	assert_int_equal(inet_pton(AF_INET, "10.0.0.1", &s->sin_addr), 1);
	char buf[64];
	iscsi_format_addr(&ss, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.1:3260");
}

static void test_v4mapped_is_ipv4(void **state)
{
	char buf[64];
	fmt6("::ffff:10.0.0.1", 3260, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.1:3260");
	fmt6("::ffff:127.0.0.1", 51234, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:51234");
}

static void test_ipv6_kept(void **state)
{
	char buf[64];
	fmt6("fe80::1", 3260, buf, sizeof(buf));
	assert_string_equal(buf, "[fe80::1]:3260");
	fmt6("::1", 3260, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:3260");
	/* IPv4-compatible (deprecated, ::a.b.c.d) is not IPv4-mapped. */
	fmt6("::10.0.0.1", 3260, buf, sizeof(buf));
	assert_string_equal(buf, "[::10.0.0.1]:3260");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4),
	    cmocka_unit_test(test_v4mapped_is_ipv4),
	    cmocka_unit_test(test_ipv6_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
