/*
 * The ITT table (src/iscsi/task_table.c): every key put is found until it
 * is deleted, whatever the order of deletes (backward-shift deletion must
 * never cut a probe run short), through growth, with clustered keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "iscsi/task_table.h"

#define N 2000

static int vals[N];

static void test_empty(void **state)
{
	struct task_table t = {0};
	assert_null(task_table_get(&t, 0));
	task_table_del(&t, 0, &vals[0]); /* no-op */
	task_table_free(&t);
}

/* Keys that collide in the low bits as well as sequential ones. */
static uint32_t key_of(unsigned i) { return i % 2 ? i : i << 20; }

static void test_put_get_del(void **state)
{
	struct task_table t = {0};
	for (unsigned i = 0; i < N; i++)
		assert_true(task_table_put(&t, key_of(i), &vals[i]));
	assert_int_equal(t.count, N);
	assert_true(t.count * 2 <= 1u << t.bits);
	for (unsigned i = 0; i < N; i++)
		assert_ptr_equal(task_table_get(&t, key_of(i)), &vals[i]);
	assert_null(task_table_get(&t, 0xdeadbeef));
	/* A key with the wrong value is not deleted. */
	task_table_del(&t, key_of(5), &vals[6]);
	assert_ptr_equal(task_table_get(&t, key_of(5)), &vals[5]);
	/* Delete in a scrambled order; the rest stays findable each time. */
	srand(7);
	unsigned order[N];
	for (unsigned i = 0; i < N; i++)
		order[i] = i;
	for (unsigned i = N - 1; i > 0; i--) {
		unsigned j = (unsigned)rand() % (i + 1), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	for (unsigned n = 0; n < N; n++) {
		unsigned k = order[n];
		task_table_del(&t, key_of(k), &vals[k]);
		assert_null(task_table_get(&t, key_of(k)));
		if (n % 97 == 0)
			for (unsigned m = n + 1; m < N; m++)
				assert_ptr_equal(task_table_get(&t, key_of(order[m])),
						 &vals[order[m]]);
	}
	assert_int_equal(t.count, 0);
	task_table_free(&t);
}

/* Wrap-around at the table's end: keys whose home is the last slot. */
static void test_wraparound(void **state)
{
	struct task_table t = {0};
	assert_true(task_table_put(&t, 1, &vals[0])); /* sets bits */
	uint32_t last = (1u << t.bits) - 1, found = 0, keys[8];
	for (uint32_t k = 2; found < 8; k++) {
		if ((uint32_t)(k * 2654435761u) >> (32 - t.bits) == last)
			keys[found++] = k;
	}
	for (unsigned i = 0; i < 8; i++)
		assert_true(task_table_put(&t, keys[i], &vals[i + 1]));
	for (unsigned i = 0; i < 8; i += 2)
		task_table_del(&t, keys[i], &vals[i + 1]);
	for (unsigned i = 1; i < 8; i += 2)
		assert_ptr_equal(task_table_get(&t, keys[i]), &vals[i + 1]);
	assert_ptr_equal(task_table_get(&t, 1), &vals[0]);
	task_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_put_get_del),
	    cmocka_unit_test(test_wraparound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
