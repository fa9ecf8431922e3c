/*
 * Placement of connections on reactors (reactor/reactor.c): a burst placed
 * before any reactor has run is spread, what is given back is counted, and
 * idle connections weigh less than busy ones.  Two real reactor threads;
 * nothing is posted to them, so the counts are only what the test does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "reactor/reactor.h"

static int start(void **state)
{
	(void)state;
	return reactors_start(2) == 0 ? 0 : -1;
}

static int stop(void **state)
{
	(void)state;
	reactors_stop();
	return 0;
}

/* The count is taken at placement: four placements in a row, with no
 * reactor running anything in between, land two and two. */
static void test_burst_spreads(void **state)
{
	(void)state;
	struct reactor *r[4];
	for (int i = 0; i < 4; i++)
		r[i] = reactor_place_conn();
	int on_first = 0;
	for (int i = 0; i < 4; i++)
		on_first += r[i] == r[0];
	assert_int_equal(on_first, 2);
	assert_ptr_not_equal(r[0], r[1]);
	for (int i = 0; i < 4; i++)
		reactor_conn_count_add(r[i], -1);
}

/* Given back, the counts are even again: the next two spread too. */
static void test_counts_given_back(void **state)
{
	(void)state;
	struct reactor *a = reactor_place_conn();
	reactor_conn_count_add(a, -1);
	struct reactor *b = reactor_place_conn();
	assert_ptr_equal(a, b); /* nothing left on it: the same first choice */
	struct reactor *c = reactor_place_conn();
	assert_ptr_not_equal(b, c);
	reactor_conn_count_add(b, -1);
	reactor_conn_count_add(c, -1);
}

/* One connection each; the one on c goes idle: the next goes to c, where
 * nothing carries traffic, not to the lower-indexed reactor with a busy
 * one.  Busy again, it ties, and the fewest connections decide. */
static void test_idle_weighs_less(void **state)
{
	(void)state;
	struct reactor *b = reactor_place_conn();
	struct reactor *c = reactor_place_conn();
	assert_ptr_not_equal(b, c);
	reactor_conn_idle_add(c, 1);
	struct reactor *d = reactor_place_conn();
	assert_ptr_equal(d, c);
	reactor_conn_idle_add(c, -1);
	/* b: 1 busy; c: 2 busy. */
	struct reactor *e = reactor_place_conn();
	assert_ptr_equal(e, b);
	/* reactor_pick (work that is no connection) counts nothing. */
	assert_ptr_equal(reactor_pick(), reactor_pick());
	reactor_conn_count_add(b, -2);
	reactor_conn_count_add(c, -2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_spreads),
	    cmocka_unit_test(test_counts_given_back),
	    cmocka_unit_test(test_idle_weighs_less),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
