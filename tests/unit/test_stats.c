/* Unit tests: the I/O counters (core/stats.c): histogram bucket edges,
 * sums over the per-thread slots, and what one command adds to its
 * session, target, device and LUN. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "core/stats.h"

/* The bound of bucket i is 1000 << i ns, inclusive (Prometheus' le). */
static void test_bucket_edges(void **state)
{
	assert_int_equal(uscst_stats_bucket(0), 0);
	assert_int_equal(uscst_stats_bucket(1), 0);
	assert_int_equal(uscst_stats_bucket(1000), 0);
	assert_int_equal(uscst_stats_bucket(1001), 1);
	assert_int_equal(uscst_stats_bucket(2000), 1);
	assert_int_equal(uscst_stats_bucket(2001), 2);
	assert_int_equal(uscst_stats_bucket(4000), 2);
	assert_int_equal(uscst_stats_bucket(4001), 3);
	for (unsigned i = 1; i < USCST_LAT_FINITE; i++) {
		uint64_t b = uscst_stats_bucket_bound_ns(i);
		assert_int_equal(uscst_stats_bucket(b), i);
		assert_int_equal(uscst_stats_bucket(b - 1), i);
		assert_int_equal(uscst_stats_bucket(b + 1), i + 1);
		assert_int_equal(uscst_stats_bucket(uscst_stats_bucket_bound_ns(i - 1) + 1), i);
	}
	/* 10 s is inside the last finite bucket (2^24 us = 16.777216 s). */
	assert_int_equal(uscst_stats_bucket(10000000000ull), USCST_LAT_FINITE - 1);
	assert_int_equal(uscst_stats_bucket(16777216000ull), USCST_LAT_FINITE - 1);
	assert_int_equal(uscst_stats_bucket(16777216001ull), USCST_LAT_FINITE);
	assert_int_equal(uscst_stats_bucket(UINT64_MAX), USCST_LAT_FINITE);
}

#define PER_THREAD 200000
#define NTHREADS 5

static void *add_many(void *arg)
{
	struct uscst_stats *st = arg;
	for (unsigned i = 0; i < PER_THREAD; i++) {
		uscst_stats_add(st, USCST_STAT_COMMANDS, 1);
		uscst_stats_add(st, USCST_STAT_READ_BYTES, 512);
	}
	return NULL;
}

/* Five threads, two slots of their own (the first two to count), the
 * other three on the shared slot: nothing is lost, and the sum is read
 * while they count. */
static void test_sum_across_threads(void **state)
{
	uscst_stats_set_threads(2);
	struct uscst_stats *st = uscst_stats_new(true);
	assert_non_null(st);
	assert_int_equal(st->nslots, 3);
	assert_int_equal(st->stride % 64, 0);
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, add_many, st), 0);
	struct uscst_stats_sum sum;
	uint64_t last = 0;
	for (int i = 0; i < 100; i++) {
		uscst_stats_read(st, &sum);
		assert_true(sum.v[USCST_STAT_COMMANDS] >= last); /* never goes back */
		last = sum.v[USCST_STAT_COMMANDS];
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	uscst_stats_read(st, &sum);
	assert_true(sum.has_histogram);
	assert_int_equal(sum.v[USCST_STAT_COMMANDS], (uint64_t)NTHREADS * PER_THREAD);
	assert_int_equal(sum.v[USCST_STAT_READ_BYTES], (uint64_t)NTHREADS * PER_THREAD * 512);
	assert_int_equal(sum.v[USCST_STAT_WRITES], 0);
	uscst_stats_free(st);

	/* Without a histogram the block is shorter; NULL reads as zeros. */
	st = uscst_stats_new(false);
	assert_int_equal(st->ncounters, USCST_STAT_NO_HIST);
	uscst_stats_read(st, &sum);
	assert_false(sum.has_histogram);
	uscst_stats_free(st);
	uscst_stats_read(NULL, &sum);
	assert_int_equal(sum.v[USCST_STAT_COMMANDS], 0);
}

/* --- one command, counted on release --- */

static struct uscst_device dev;
static struct uscst_target tgt;
static struct uscst_session sess;
static struct uscst_lun lun;

static int objects_setup(void **state)
{
	uscst_stats_set_threads(4);
	dev.stats = uscst_stats_new(false);
	tgt.stats = uscst_stats_new(false);
	sess.stats = uscst_stats_new(false);
	lun.stats = uscst_stats_new(true);
	lun.dev = &dev;
	sess.tgt = &tgt;
	return !dev.stats || !tgt.stats || !sess.stats || !lun.stats;
}

static int objects_teardown(void **state)
{
	uscst_stats_free(dev.stats);
	uscst_stats_free(tgt.stats);
	uscst_stats_free(sess.stats);
	uscst_stats_free(lun.stats);
	dev.stats = tgt.stats = sess.stats = lun.stats = NULL;
	return 0;
}

static void run_cmd(struct uscst_cmd *cmd)
{
	/* What uscst_cmd_decode and uscst_cmd_release do around a command. */
	cmd->sess = &sess;
	cmd->dev = &dev;
	cmd->lun_ent = &lun;
	cmd->lun_stats = lun.stats;
	core_stats_cmd_start(cmd);
	core_stats_cmd_released(cmd);
}

static void read_all(struct uscst_stats_sum s[4])
{
	uscst_stats_read(sess.stats, &s[0]);
	uscst_stats_read(tgt.stats, &s[1]);
	uscst_stats_read(dev.stats, &s[2]);
	uscst_stats_read(lun.stats, &s[3]);
}

static void test_command_counts(void **state)
{
	struct uscst_cmd cmd;
	/* A READ of 8 KiB the initiator asked 4 KiB of: 4 KiB goes out. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.exp_read = true;
	cmd.exp_len = 4096;
	cmd.in_len = 8192;
	run_cmd(&cmd);
	/* A WRITE of 64 KiB. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.exp_write = true;
	cmd.exp_len = 65536;
	cmd.out_buf_len = 65536;
	run_cmd(&cmd);
	/* A READ that fails with fixed sense MEDIUM ERROR: no data goes out. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.exp_read = true;
	cmd.exp_len = 512;
	cmd.in_len = 512;
	cmd.status = SAM_STAT_CHECK_CONDITION;
	cmd.sense_len = 18;
	cmd.sense[0] = 0x70;
	cmd.sense[2] = SK_MEDIUM_ERROR;
	run_cmd(&cmd);
	/* TEST UNIT READY with descriptor sense UNIT ATTENTION. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.status = SAM_STAT_CHECK_CONDITION;
	cmd.sense_len = 8;
	cmd.sense[0] = 0x72;
	cmd.sense[1] = SK_UNIT_ATTENTION;
	run_cmd(&cmd);
	/* RESERVATION CONFLICT: an error without sense. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.status = SAM_STAT_RESERVATION_CONFLICT;
	run_cmd(&cmd);
	/* An aborted WRITE: counted as a command and an abort, no bytes. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.exp_write = true;
	cmd.out_buf_len = 4096;
	cmd.aborted = true;
	run_cmd(&cmd);

	struct uscst_stats_sum s[4];
	read_all(s);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(s[i].v[USCST_STAT_COMMANDS], 6);
		assert_int_equal(s[i].v[USCST_STAT_READS], 2);
		assert_int_equal(s[i].v[USCST_STAT_WRITES], 2);
		assert_int_equal(s[i].v[USCST_STAT_READ_BYTES], 4096);
		assert_int_equal(s[i].v[USCST_STAT_WRITE_BYTES], 65536);
		assert_int_equal(s[i].v[USCST_STAT_ABORTS], 1);
		assert_int_equal(s[i].v[USCST_STAT_ERRORS + SK_MEDIUM_ERROR], 1);
		assert_int_equal(s[i].v[USCST_STAT_ERRORS + SK_UNIT_ATTENTION], 1);
		assert_int_equal(s[i].v[USCST_STAT_ERRORS + USCST_ERR_NO_SENSE], 1);
		assert_int_equal(s[i].v[USCST_STAT_ERRORS + SK_ILLEGAL_REQUEST], 0);
	}
	/* Only the LUN has the histogram: one observation per command, each
	 * took well under the last bound. */
	uint64_t n = 0;
	for (unsigned b = 0; b < USCST_LAT_BUCKETS; b++)
		n += s[3].v[USCST_STAT_BUCKET0 + b];
	assert_int_equal(n, 6);
	assert_int_equal(s[3].v[USCST_STAT_BUCKET0 + USCST_LAT_FINITE], 0);
	assert_int_equal(s[0].v[USCST_STAT_LATENCY_NS], 0);

	/* A command for a LUN that is not mapped counts on the nexus and the
	 * target only. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.sess = &sess;
	core_stats_cmd_start(&cmd);
	core_stats_cmd_released(&cmd);
	read_all(s);
	assert_int_equal(s[0].v[USCST_STAT_COMMANDS], 7);
	assert_int_equal(s[1].v[USCST_STAT_COMMANDS], 7);
	assert_int_equal(s[2].v[USCST_STAT_COMMANDS], 6);
	assert_int_equal(s[3].v[USCST_STAT_COMMANDS], 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bucket_edges),
	    cmocka_unit_test(test_sum_across_threads),
	    cmocka_unit_test_setup_teardown(test_command_counts, objects_setup, objects_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
