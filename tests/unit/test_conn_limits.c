/* Unit tests: the per-address connection counts and the driver's limits
 * (iscsi/conn_limits.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "iscsi/conn_limits.h"

static void test_defaults(void **state)
{
	iscsi_conn_limits_set(NULL, NULL);
	assert_int_equal(iscsi_login_timeout_s(), 30);
	iscsi_conn_limits_set("7", NULL);
	assert_int_equal(iscsi_login_timeout_s(), 7);
}

/* The port is not part of the address: the third connection from one
 * address is refused whatever its port, another address is not. */
static void test_limit_per_address(void **state)
{
	iscsi_conn_limits_set(NULL, "2");
	assert_true(iscsi_addr_acquire("127.0.0.2:1000"));
	assert_true(iscsi_addr_acquire("127.0.0.2:1001"));
	assert_false(iscsi_addr_acquire("127.0.0.2:1002"));
	assert_true(iscsi_addr_acquire("127.0.0.3:1000"));
	assert_true(iscsi_addr_acquire("127.0.0.20:1000")); /* not a prefix match */
	/* A release from any port frees one place. */
	iscsi_addr_release("127.0.0.2:1000");
	assert_true(iscsi_addr_acquire("127.0.0.2:2000"));
	assert_false(iscsi_addr_acquire("127.0.0.2:2001"));
	iscsi_addr_release("127.0.0.2:1001");
	iscsi_addr_release("127.0.0.2:2000");
	iscsi_addr_release("127.0.0.3:1000");
	iscsi_addr_release("127.0.0.20:1000");
	/* Everything given back: the address starts from zero again. */
	assert_true(iscsi_addr_acquire("127.0.0.2:3000"));
	assert_true(iscsi_addr_acquire("127.0.0.2:3001"));
	assert_false(iscsi_addr_acquire("127.0.0.2:3002"));
	iscsi_addr_release("127.0.0.2:3000");
	iscsi_addr_release("127.0.0.2:3001");
}

static void test_ipv6_address(void **state)
{
	iscsi_conn_limits_set(NULL, "1");
	assert_true(iscsi_addr_acquire("[::1]:3260"));
	assert_false(iscsi_addr_acquire("[::1]:3261"));
	assert_true(iscsi_addr_acquire("[::2]:3260"));
	iscsi_addr_release("[::1]:3260");
	iscsi_addr_release("[::2]:3260");
	assert_true(iscsi_addr_acquire("[::1]:3262"));
	iscsi_addr_release("[::1]:3262");
}

/* A release without an acquire (or one too many) changes nothing. */
static void test_release_unknown(void **state)
{
	iscsi_conn_limits_set(NULL, "1");
	iscsi_addr_release("127.0.0.9:1");
	assert_true(iscsi_addr_acquire("127.0.0.9:2"));
	iscsi_addr_release("127.0.0.9:2");
	iscsi_addr_release("127.0.0.9:2");
	assert_true(iscsi_addr_acquire("127.0.0.9:3"));
	assert_false(iscsi_addr_acquire("127.0.0.9:4"));
	iscsi_addr_release("127.0.0.9:3");
}

static void test_zero_is_unlimited(void **state)
{
	iscsi_conn_limits_set(NULL, "0");
	for (int i = 0; i < 1000; i++)
		assert_true(iscsi_addr_acquire("127.0.0.4:5"));
	for (int i = 0; i < 1000; i++)
		iscsi_addr_release("127.0.0.4:5");
	iscsi_conn_limits_set(NULL, "1");
	assert_true(iscsi_addr_acquire("127.0.0.4:5"));
	assert_false(iscsi_addr_acquire("127.0.0.4:6"));
	iscsi_addr_release("127.0.0.4:5");
}

/* MaxConnections: the daemon's total, whatever the addresses; 0 is no
 * limit, and the default is 4096. */
static void test_total_connections(void **state)
{
	iscsi_conns_set_max("3");
	assert_true(iscsi_conns_acquire());
	assert_true(iscsi_conns_acquire());
	assert_true(iscsi_conns_acquire());
	assert_false(iscsi_conns_acquire());
	assert_false(iscsi_conns_acquire()); /* a refusal takes no place */
	iscsi_conns_release();
	assert_true(iscsi_conns_acquire());
	assert_false(iscsi_conns_acquire());
	for (int i = 0; i < 3; i++)
		iscsi_conns_release();
	iscsi_conns_set_max("0");
	for (int i = 0; i < 5000; i++)
		assert_true(iscsi_conns_acquire());
	for (int i = 0; i < 5000; i++)
		iscsi_conns_release();
	iscsi_conns_set_max(NULL);
	for (int i = 0; i < 4096; i++)
		assert_true(iscsi_conns_acquire());
	assert_false(iscsi_conns_acquire());
	for (int i = 0; i < 4096; i++)
		iscsi_conns_release();
}

#define MIB (1ull << 20)

/* Above the guarantee a connection takes only what fits in the daemon's
 * cap less its last eighth (the reserve); within the guarantee it may use
 * the reserve whatever the others hold (even past the common part, as the
 * one command each connection may take with nothing in flight can push
 * them), and the common room besides. */
static void test_buffer_memory_cap(void **state)
{
	iscsi_buf_mem_set_cap("64");
	assert_int_equal(iscsi_buf_mem_cap(), 64 * MIB);
	uint64_t base = iscsi_buf_mem_total();
	assert_int_equal(base, 0);
	iscsi_buf_mem_publish(0, 52 * MIB);			    /* a big one holds 52 MiB */
	assert_true(iscsi_buf_mem_may_take(8 * MIB, 4 * MIB));	    /* 56: fits exactly */
	assert_false(iscsi_buf_mem_may_take(8 * MIB, 4 * MIB + 1)); /* one byte over */
	/* Within the guarantee: the reserve. */
	iscsi_buf_mem_publish(0, 1 * MIB); /* a small one holds 1 MiB */
	assert_true(iscsi_buf_mem_may_take(1 * MIB, 3 * MIB));
	/* The big ones past the common part (64 in all): the reserve stays. */
	iscsi_buf_mem_publish(52 * MIB, 63 * MIB);
	assert_int_equal(iscsi_buf_mem_total(), 64 * MIB);
	assert_false(iscsi_buf_mem_may_take(8 * MIB, 1));
	assert_true(iscsi_buf_mem_may_take(1 * MIB, 3 * MIB));
	assert_false(iscsi_buf_mem_may_take(1 * MIB, 3 * MIB + 1)); /* over the guarantee */
	/* Small ones share the reserve: 1 + 4 held, 3 left. */
	iscsi_buf_mem_publish(0, 4 * MIB);
	assert_true(iscsi_buf_mem_may_take(0, 3 * MIB));
	assert_false(iscsi_buf_mem_may_take(0, 3 * MIB + 1));
	assert_false(iscsi_buf_mem_may_take(0, 4 * MIB));
	/* A small one that grows past the guarantee leaves the reserve. */
	iscsi_buf_mem_publish(4 * MIB, 5 * MIB);
	assert_true(iscsi_buf_mem_may_take(0, 4 * MIB));
	/* Given back: room again. */
	iscsi_buf_mem_publish(63 * MIB, 0);
	iscsi_buf_mem_publish(1 * MIB, 0);
	iscsi_buf_mem_publish(5 * MIB, 0);
	assert_int_equal(iscsi_buf_mem_total(), 0);
	assert_true(iscsi_buf_mem_may_take(32 * MIB, 56 * MIB));
	assert_false(iscsi_buf_mem_may_take(32 * MIB, 56 * MIB + 1));
}

/* 0 means a quarter of the machine's memory: something, and not all. */
static void test_buffer_memory_default(void **state)
{
	iscsi_buf_mem_set_cap("0");
	uint64_t quarter = iscsi_buf_mem_cap();
	assert_true(quarter >= 16 * MIB);
	iscsi_buf_mem_set_cap(NULL);
	assert_int_equal(iscsi_buf_mem_cap(), quarter);
	iscsi_buf_mem_set_cap("1");
	assert_int_equal(iscsi_buf_mem_cap(), MIB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),	      cmocka_unit_test(test_limit_per_address),
	    cmocka_unit_test(test_ipv6_address),      cmocka_unit_test(test_release_unknown),
	    cmocka_unit_test(test_zero_is_unlimited), cmocka_unit_test(test_total_connections),
	    cmocka_unit_test(test_buffer_memory_cap), cmocka_unit_test(test_buffer_memory_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
