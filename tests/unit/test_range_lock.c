/*
 * The per-device LBA range lock table (scsi/sbc_range.c): who waits for
 * whom, first come first served, the lock-free fast path of writers, that a
 * waiter is resumed on its own reactor thread, and a multi-threaded stress
 * run checking mutual exclusion and that no wake-up is lost.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "reactor/reactor.h"
#include "scsi/sbc.h"
#include "scsi/scsi.h"

static struct uscst_device dev_a, dev_b;

static void init_dev(struct uscst_device *d)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->ranges.mutex, NULL);
	d->nblocks = 1u << 20;
	d->block_size = 512;
	d->block_shift = 9;
}

static int setup(void **state)
{
	init_dev(&dev_a);
	init_dev(&dev_b);
	return 0;
}

/* Every test must leave the tables empty. */
static void assert_idle(struct uscst_device *d)
{
	assert_null(d->ranges.held);
	assert_null(d->ranges.wait_head);
	assert_null(d->ranges.wait_tail);
	assert_int_equal(atomic_load(&d->ranges.exclusive), 0);
	assert_int_equal(atomic_load(&d->ranges.fast_writers), 0);
}

static int teardown(void **state)
{
	assert_idle(&dev_a);
	assert_idle(&dev_b);
	pthread_mutex_destroy(&dev_a.ranges.mutex);
	pthread_mutex_destroy(&dev_b.ranges.mutex);
	return 0;
}

/* A request with a resume counter. */
struct req {
	struct lba_range_lock l;
	unsigned resumed;
	unsigned order; /* value of resume_clock when resumed */
};

static unsigned resume_clock;

static void on_resume(struct lba_range_lock *l)
{
	struct req *r = (struct req *)((char *)l - offsetof(struct req, l));
	r->resumed++;
	r->order = ++resume_clock;
	assert_int_equal(l->state, SBC_RANGE_HELD);
}

static bool take(struct req *r, struct uscst_device *d, uint64_t lba, uint64_t blocks, bool excl)
{
	memset(r, 0, sizeof(*r));
	return sbc_range_acquire(&r->l, d, lba, blocks, excl, on_resume);
}

static void test_writer_fast_path(void **state)
{
	struct req w1, w2;
	assert_true(take(&w1, &dev_a, 0, 8, false));
	assert_true(take(&w2, &dev_a, 4, 8, false)); /* writers never exclude each other */
	assert_int_equal(w1.l.state, SBC_RANGE_FAST);
	assert_int_equal(atomic_load(&dev_a.ranges.fast_writers), 2);
	assert_null(dev_a.ranges.held); /* no table entry on the fast path */
	sbc_range_release(&w1.l);
	sbc_range_release(&w2.l);
	assert_int_equal(w1.l.state, SBC_RANGE_IDLE);
	sbc_range_release(&w1.l); /* releasing twice is harmless */
}

static void test_writer_waits_for_overlapping_exclusive(void **state)
{
	struct req caw, in, out, edge;
	assert_true(take(&caw, &dev_a, 10, 10, true));
	assert_false(take(&in, &dev_a, 15, 1, false));
	assert_int_equal(in.l.state, SBC_RANGE_WAITING);
	/* Not overlapping (ranges are half open): granted, through the table. */
	assert_true(take(&out, &dev_a, 20, 10, false));
	assert_int_equal(out.l.state, SBC_RANGE_HELD);
	assert_true(take(&edge, &dev_a, 0, 10, false));
	assert_int_equal(in.resumed, 0);

	sbc_range_release(&caw.l);
	assert_int_equal(in.resumed, 1);
	assert_int_equal(in.l.state, SBC_RANGE_HELD);
	sbc_range_release(&in.l);
	sbc_range_release(&out.l);
	sbc_range_release(&edge.l);
	assert_int_equal(out.resumed + edge.resumed, 0);
}

/* A write in flight on the fast path has no range in the table: an
 * exclusive request waits for every such write to complete. */
static void test_exclusive_waits_for_fast_writers(void **state)
{
	struct req w, caw, later;
	assert_true(take(&w, &dev_a, 0, 1, false));
	assert_int_equal(w.l.state, SBC_RANGE_FAST);
	assert_false(take(&caw, &dev_a, 100, 1, true));
	/* From now on writers go through the table: this one does not
	 * overlap the waiting CAW, so it runs. */
	assert_true(take(&later, &dev_a, 50, 1, false));
	assert_int_equal(later.l.state, SBC_RANGE_HELD);
	sbc_range_release(&later.l);
	assert_int_equal(caw.resumed, 0);
	sbc_range_release(&w.l); /* the last fast write: the CAW goes */
	assert_int_equal(caw.resumed, 1);
	sbc_range_release(&caw.l);
}

/* A CAW that loses to another waits its turn, never BUSY. */
static void test_exclusive_waits_its_turn(void **state)
{
	struct req c1, c2, c3;
	assert_true(take(&c1, &dev_a, 0, 8, true));
	assert_false(take(&c2, &dev_a, 4, 8, true));
	assert_true(take(&c3, &dev_a, 100, 8, true)); /* elsewhere: at once */
	sbc_range_release(&c1.l);
	assert_int_equal(c2.resumed, 1);
	sbc_range_release(&c2.l);
	sbc_range_release(&c3.l);
}

/* First come, first served among conflicting requests: a stream of writes
 * cannot starve a CAW, nor CAWs a write. */
static void test_fifo(void **state)
{
	struct req c1, w1, c2, w2, w3;
	assert_true(take(&c1, &dev_a, 0, 10, true));
	assert_false(take(&w1, &dev_a, 5, 1, false)); /* behind c1 */
	assert_false(take(&c2, &dev_a, 5, 1, true));  /* behind w1 */
	assert_false(take(&w2, &dev_a, 5, 1, false)); /* behind c2, not beside w1 */
	assert_true(take(&w3, &dev_a, 50, 1, false)); /* conflicts with nobody */

	sbc_range_release(&c1.l);
	assert_int_equal(w1.resumed, 1);
	assert_int_equal(c2.resumed + w2.resumed, 0);
	sbc_range_release(&w1.l);
	assert_int_equal(c2.resumed, 1);
	assert_int_equal(w2.resumed, 0);
	sbc_range_release(&c2.l);
	assert_int_equal(w2.resumed, 1);
	assert_true(w1.order < c2.order && c2.order < w2.order);
	sbc_range_release(&w2.l);
	sbc_range_release(&w3.l);
}

/* Several waiters unblocked by one release are all resumed, in order. */
static void test_release_grants_all_that_can_go(void **state)
{
	struct req c, w[4];
	assert_true(take(&c, &dev_a, 0, 100, true));
	for (unsigned i = 0; i < 4; i++)
		assert_false(take(&w[i], &dev_a, i * 10, 5, false));
	sbc_range_release(&c.l);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(w[i].resumed, 1);
		if (i)
			assert_true(w[i - 1].order < w[i].order);
	}
	for (unsigned i = 0; i < 4; i++)
		sbc_range_release(&w[i].l);
}

/* Withdrawing a waiting request (its command ended) lets those behind it go. */
static void test_withdraw_waiting(void **state)
{
	struct req c1, c2, w;
	assert_true(take(&c1, &dev_a, 0, 10, true));
	assert_false(take(&c2, &dev_a, 0, 10, true));
	assert_false(take(&w, &dev_a, 0, 1, false));
	sbc_range_release(&c2.l); /* withdrawn */
	assert_int_equal(c2.resumed, 0);
	assert_int_equal(w.resumed, 0); /* c1 still holds */
	sbc_range_release(&c1.l);
	assert_int_equal(w.resumed, 1);
	sbc_range_release(&w.l);
}

/* One table per device: a CAW on one device does not slow another down. */
static void test_per_device(void **state)
{
	struct req c, w, c_b;
	assert_true(take(&c, &dev_a, 0, 10, true));
	assert_true(take(&w, &dev_b, 0, 10, false));
	assert_int_equal(w.l.state, SBC_RANGE_FAST);
	sbc_range_release(&w.l);
	assert_true(take(&c_b, &dev_b, 0, 10, true)); /* same LBAs, other device */
	sbc_range_release(&c_b.l);
	sbc_range_release(&c.l);
}

/* --- resumption on the waiter's own reactor --- */

struct cross {
	struct lba_range_lock l;
	struct reactor *resumed_on;
	sem_t sem;
	bool granted_at_once;
};

static struct cross holder, waiter;

static void cross_resume(struct lba_range_lock *l)
{
	struct cross *c = (struct cross *)((char *)l - offsetof(struct cross, l));
	c->resumed_on = reactor_current();
	sem_post(&c->sem);
}

static void cross_take_exclusive(void *arg)
{
	holder.granted_at_once = sbc_range_acquire(&holder.l, &dev_a, 0, 8, true, cross_resume);
	sem_post(&holder.sem);
}

static void cross_take_shared(void *arg)
{
	waiter.granted_at_once = sbc_range_acquire(&waiter.l, &dev_a, 4, 1, false, cross_resume);
	sem_post(&holder.sem);
}

static void cross_release(void *arg)
{
	sbc_range_release(&holder.l);
	sem_post(&holder.sem);
}

static void cross_release_waiter(void *arg)
{
	sbc_range_release(&waiter.l);
	sem_post(&holder.sem);
}

static bool wait_sem(sem_t *s)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	while (sem_timedwait(s, &ts) != 0)
		if (errno != EINTR)
			return false;
	return true;
}

static void test_resumed_on_own_reactor(void **state)
{
	if (reactors_start(2) != 0) {
		skip();
		return;
	}
	struct reactor *r0 = reactor_pick();
	reactor_conn_count_add(r0, 1);
	struct reactor *r1 = reactor_pick();
	assert_ptr_not_equal(r0, r1);
	sem_init(&holder.sem, 0, 0);
	sem_init(&waiter.sem, 0, 0);

	assert_int_equal(reactor_post(r0, cross_take_exclusive, NULL), 0);
	assert_true(wait_sem(&holder.sem));
	assert_true(holder.granted_at_once);
	assert_int_equal(reactor_post(r1, cross_take_shared, NULL), 0);
	assert_true(wait_sem(&holder.sem));
	assert_false(waiter.granted_at_once);

	/* Released on r0: the waiter must be resumed on r1, its own thread. */
	assert_int_equal(reactor_post(r0, cross_release, NULL), 0);
	assert_true(wait_sem(&holder.sem));
	assert_true(wait_sem(&waiter.sem));
	assert_ptr_equal(waiter.resumed_on, r1);
	assert_int_equal(reactor_post(r1, cross_release_waiter, NULL), 0);
	assert_true(wait_sem(&holder.sem));
	reactor_conn_count_add(r0, -1);
	reactors_stop();
}

/* --- stress: threads taking random ranges --- */

#define STRESS_THREADS 4
#define STRESS_ROUNDS 20000
#define STRESS_BLOCKS 64
#define EXCL_MARK 100000

static atomic_int occupancy[STRESS_BLOCKS];
static atomic_uint violations, lost_wakeups, waits;

struct stress_req {
	struct lba_range_lock l;
	sem_t sem;
};

static void stress_resume(struct lba_range_lock *l)
{
	struct stress_req *r = (struct stress_req *)((char *)l - offsetof(struct stress_req, l));
	sem_post(&r->sem);
}

static void *stress_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	struct stress_req r;
	sem_init(&r.sem, 0, 0);
	for (unsigned i = 0; i < STRESS_ROUNDS; i++) {
		uint64_t lba = (uint64_t)(rand_r(&seed) % STRESS_BLOCKS);
		uint64_t blocks = 1 + (uint64_t)(rand_r(&seed) % 8);
		if (lba + blocks > STRESS_BLOCKS)
			blocks = STRESS_BLOCKS - lba;
		bool excl = rand_r(&seed) % 8 == 0;
		memset(&r.l, 0, sizeof(r.l));
		if (!sbc_range_acquire(&r.l, &dev_a, lba, blocks, excl, stress_resume)) {
			atomic_fetch_add(&waits, 1);
			if (!wait_sem(&r.sem)) {
				atomic_fetch_add(&lost_wakeups, 1);
				break;
			}
		}
		int inc = excl ? EXCL_MARK : 1;
		for (uint64_t b = lba; b < lba + blocks; b++) {
			int before = atomic_fetch_add(&occupancy[b], inc);
			if (excl ? before != 0 : before >= EXCL_MARK)
				atomic_fetch_add(&violations, 1);
		}
		if (rand_r(&seed) % 4 == 0)
			sched_yield();
		for (uint64_t b = lba; b < lba + blocks; b++)
			atomic_fetch_sub(&occupancy[b], inc);
		sbc_range_release(&r.l);
	}
	sem_destroy(&r.sem);
	return NULL;
}

static void test_stress_threads(void **state)
{
	pthread_t th[STRESS_THREADS];
	for (unsigned i = 0; i < STRESS_THREADS; i++)
		assert_int_equal(
		    pthread_create(&th[i], NULL, stress_thread, (void *)(uintptr_t)(i * 7919 + 1)),
		    0);
	for (unsigned i = 0; i < STRESS_THREADS; i++)
		pthread_join(th[i], NULL);
	print_message("range lock stress: %u threads x %u rounds, %u waits\n", STRESS_THREADS,
		      STRESS_ROUNDS, atomic_load(&waits));
	assert_int_equal(atomic_load(&lost_wakeups), 0);
	assert_int_equal(atomic_load(&violations), 0);
	assert_true(atomic_load(&waits) > 0); /* the test did contend */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_writer_fast_path),
	    T(test_writer_waits_for_overlapping_exclusive),
	    T(test_exclusive_waits_for_fast_writers),
	    T(test_exclusive_waits_its_turn),
	    T(test_fifo),
	    T(test_release_grants_all_that_can_go),
	    T(test_withdraw_waiting),
	    T(test_per_device),
	    T(test_resumed_on_own_reactor),
	    T(test_stress_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
