/*
 * dev_sg's parts that need no /dev/sg: the worker pool (backend/
 * exec_pool.c) with a blocking double in place of SG_IO, and dev_sg's
 * refusal, at open, of a path that is not a SCSI generic device, with a
 * message that says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/builtin.h"
#include "backend/exec_pool.h"
#include "core/core.h"
#include "scsi/scsi.h"

/* --- the pool, with a double for the blocking call --- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool hold;	  /* runs wait until released */
	unsigned running; /* runs in progress */
	unsigned peak;	  /* most at once */
	unsigned ran;
	atomic_uint done;
	atomic_uint bad; /* completions without run()'s answer */
	void *ctx_seen;
} dbl = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static void fake_run(void *ctx, struct uscst_scsi_req *req)
{
	pthread_mutex_lock(&dbl.lock);
	dbl.ctx_seen = ctx;
	dbl.running++;
	if (dbl.running > dbl.peak)
		dbl.peak = dbl.running;
	pthread_cond_broadcast(&dbl.cond);
	while (dbl.hold)
		pthread_cond_wait(&dbl.cond, &dbl.lock);
	dbl.running--;
	dbl.ran++;
	pthread_mutex_unlock(&dbl.lock);
	req->result = 0;
	req->status = SAM_STAT_GOOD;
	req->transferred = req->data_len;
}

static void on_done(struct uscst_scsi_req *req)
{
	/* Not on a reactor (the test thread submitted): done runs on the
	 * worker, after run() filled the answer.  (No cmocka assertion on a
	 * worker thread: counted, checked by the test.) */
	if (req->transferred != req->data_len || req->result != 0)
		atomic_fetch_add(&dbl.bad, 1);
	atomic_fetch_add(&dbl.done, 1);
}

static void reset_double(bool hold)
{
	pthread_mutex_lock(&dbl.lock);
	dbl.hold = hold;
	dbl.running = dbl.peak = dbl.ran = 0;
	dbl.ctx_seen = NULL;
	atomic_store(&dbl.done, 0);
	atomic_store(&dbl.bad, 0);
	pthread_mutex_unlock(&dbl.lock);
}

static void wait_running(unsigned n)
{
	pthread_mutex_lock(&dbl.lock);
	while (dbl.running < n)
		pthread_cond_wait(&dbl.cond, &dbl.lock);
	pthread_mutex_unlock(&dbl.lock);
}

static void release_all(void)
{
	pthread_mutex_lock(&dbl.lock);
	dbl.hold = false;
	pthread_cond_broadcast(&dbl.cond);
	pthread_mutex_unlock(&dbl.lock);
}

#define NREQ 10

/* Every request runs once and completes once; the pool's context
 * reaches the blocking call. */
static void test_all_complete(void **state)
{
	struct exec_pool pool;
	static struct uscst_scsi_req reqs[NREQ];
	int ctx;
	reset_double(false);
	assert_int_equal(exec_pool_start(&pool, 2, fake_run, &ctx), 0);
	for (unsigned i = 0; i < NREQ; i++) {
		memset(&reqs[i], 0, sizeof(reqs[i]));
		reqs[i].data_len = i * 512;
		reqs[i].done = on_done;
		exec_pool_submit(&pool, &reqs[i]);
	}
	exec_pool_stop(&pool); /* drains the queue first */
	assert_int_equal(atomic_load(&dbl.done), NREQ);
	assert_int_equal(atomic_load(&dbl.bad), 0);
	assert_int_equal(dbl.ran, NREQ);
	assert_ptr_equal(dbl.ctx_seen, &ctx);
}

/* Up to the pool's size run at once, never more: blocked in their calls,
 * three workers hold three requests and the fourth waits. */
static void test_concurrency_bounded(void **state)
{
	struct exec_pool pool;
	static struct uscst_scsi_req reqs[4];
	reset_double(true);
	assert_int_equal(exec_pool_start(&pool, 3, fake_run, NULL), 0);
	for (unsigned i = 0; i < 4; i++) {
		memset(&reqs[i], 0, sizeof(reqs[i]));
		reqs[i].done = on_done;
		exec_pool_submit(&pool, &reqs[i]);
	}
	wait_running(3);
	usleep(20000); /* room for a fourth to start, were it allowed */
	pthread_mutex_lock(&dbl.lock);
	assert_int_equal(dbl.running, 3);
	pthread_mutex_unlock(&dbl.lock);
	assert_int_equal(atomic_load(&dbl.done), 0);
	release_all();
	exec_pool_stop(&pool);
	assert_int_equal(atomic_load(&dbl.done), 4);
	assert_int_equal(dbl.peak, 3);
}

static void test_bad_thread_count(void **state)
{
	struct exec_pool pool;
	assert_int_equal(exec_pool_start(&pool, 0, fake_run, NULL), -EINVAL);
	assert_int_equal(exec_pool_start(&pool, EXEC_POOL_MAX_THREADS + 1, fake_run, NULL),
			 -EINVAL);
}

/* --- dev_sg's open --- */

/* Opens a dev_sg device on path; returns the open's result, its error
 * text in err, and what was logged in logged. */
static int open_sg_on(const char *name, const char *path, char *err, size_t errlen, char *logged,
		      size_t loglen)
{
	struct uscst_device *dev = uscst_device_create("dev_sg", name, err, errlen);
	assert_non_null(dev);
	assert_true(uscst_device_set_attr(dev, "filename", path, err, errlen));
	char tmpl[] = "/tmp/uscst-sglog.XXXXXX";
	int logfd = mkstemp(tmpl);
	assert_true(logfd >= 0);
	unlink(tmpl);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(logfd, STDERR_FILENO);
	int rc = uscst_device_open(dev, err, errlen);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = pread(logfd, logged, loglen - 1, 0);
	logged[n > 0 ? n : 0] = '\0';
	close(logfd);
	return rc;
}

/* A regular file and a character device that is not sg are refused with
 * "not a SCSI generic device"; a missing path with its errno. */
static void test_open_refuses_non_sg(void **state)
{
	char err[256], logged[1024];
	char path[] = "/tmp/uscst-notsg.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(open_sg_on("sg_file", path, err, sizeof(err), logged, sizeof(logged)),
			 -ENOTTY);
	assert_non_null(strstr(logged, "not a SCSI generic device"));
	assert_non_null(strstr(logged, path));
	assert_non_null(strstr(err, path));
	unlink(path);

	assert_int_equal(
	    open_sg_on("sg_null", "/dev/null", err, sizeof(err), logged, sizeof(logged)), -ENOTTY);
	assert_non_null(strstr(logged, "dev_sg /dev/null: not a SCSI generic device"));

	assert_int_equal(
	    open_sg_on("sg_none", "/nonexistent/sg9", err, sizeof(err), logged, sizeof(logged)),
	    -ENOENT);
	assert_non_null(strstr(logged, "/nonexistent/sg9: No such file or directory"));
}

int main(void)
{
	if (!scsi_register_cmdsets() || uscst_backends_register_builtin() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_complete),
	    cmocka_unit_test(test_concurrency_bounded),
	    cmocka_unit_test(test_bad_thread_count),
	    cmocka_unit_test(test_open_refuses_non_sg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
