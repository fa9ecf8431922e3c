/*
 * resync_size (core/device_resize.c): a file-backed vdisk_fileio device is
 * grown or shrunk behind the daemon's back, resynced, and must report the
 * new number of blocks and queue CAPACITY DATA HAS CHANGED (2Ah/09h) on
 * every nexus that sees it, and on no other.
 */
#include <pthread.h>
#include <sched.h>
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

#include <uscst/transport_reg.h>

#include "backend/builtin.h"
#include "fixtures/ctl_call.h"
#include "lib/log.h"
#include "scsi/scsi.h"

#define MIB (1ull << 20)

struct fixture {
	char path[256];
	struct uscst_device *dev;
	struct uscst_target *tgt, *other_tgt;
	struct uscst_session *sess, *other_sess;
};

/* The targets' TARGET_DRIVER: a transport that serves nothing. */
static int stub_start(const struct uscst_transport *t, char *err, size_t errlen) { return 0; }
static void stub_stop(const struct uscst_transport *t) {}
static const struct uscst_transport stub_transport = {
    .name = "resync-test",
    .start = stub_start,
    .stop = stub_stop,
};

/* Devices and targets live in global lists with no removal: unique names. */
static unsigned seq;

static void set_file_size(const char *path, uint64_t bytes)
{
	assert_int_equal(truncate(path, (off_t)bytes), 0);
}

static void drain_power_on_ua(struct uscst_session *sess)
{
	uint8_t asc = 0, ascq = 0;
	/* A new nexus reports the power-on reset first (SAM-5). */
	assert_true(ua_take(sess, 0, &asc, &ascq));
	assert_int_equal(asc, 0x29);
	assert_int_equal(ascq, 0x00);
	assert_false(ua_take(sess, 0, &asc, &ascq));
}

/* Opens a vdisk_fileio device on a fresh file of file_bytes; cfg_size, if
 * not NULL, is the configured size attribute.  Maps it as LUN 0 of a target
 * with one session, and makes a second target/session that does not see it. */
static struct fixture *make_fixture(uint64_t file_bytes, const char *cfg_size,
				    const char *blocksize)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(f->path, sizeof(f->path), "%s/uscst-resync.XXXXXX", tmp ? tmp : "/tmp");
	assert_true(n > 0 && (size_t)n < sizeof(f->path));
	int fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	set_file_size(f->path, file_bytes);

	char name[64], iqn[96], err[256] = "";
	unsigned id = ++seq;
	snprintf(name, sizeof(name), "rs%u", id);
	f->dev = uscst_device_create("vdisk_fileio", name, err, sizeof(err));
	assert_non_null(f->dev);
	assert_true(uscst_device_set_attr(f->dev, "filename", f->path, err, sizeof(err)));
	if (cfg_size)
		assert_true(uscst_device_set_attr(f->dev, "size", cfg_size, err, sizeof(err)));
	if (blocksize)
		assert_true(
		    uscst_device_set_attr(f->dev, "blocksize", blocksize, err, sizeof(err)));
	assert_int_equal(uscst_device_open(f->dev, err, sizeof(err)), 0);

	snprintf(iqn, sizeof(iqn), "iqn.2026-11.test:resync%u", id);
	f->tgt = uscst_target_create("resync-test", iqn, err, sizeof(err));
	assert_non_null(f->tgt);
	assert_true(uscst_target_add_lun(f->tgt, 0, f->dev, false, err, sizeof(err)));
	f->sess = uscst_session_create(f->tgt, "iqn.2026-11.test:ini",
				       "iqn.2026-11.test:ini,i,0x23d000000001");
	assert_non_null(f->sess);
	drain_power_on_ua(f->sess);

	/* Another target with a LUN 0 on another device: must not hear of it. */
	snprintf(iqn, sizeof(iqn), "iqn.2026-11.test:other%u", id);
	f->other_tgt = uscst_target_create("resync-test", iqn, err, sizeof(err));
	assert_non_null(f->other_tgt);
	snprintf(name, sizeof(name), "rsnull%u", id);
	struct uscst_device *null_dev = uscst_device_create("vdisk_nullio", name, err, sizeof(err));
	assert_non_null(null_dev);
	assert_true(uscst_device_set_attr(null_dev, "size_mb", "1", err, sizeof(err)));
	assert_int_equal(uscst_device_open(null_dev, err, sizeof(err)), 0);
	assert_true(uscst_target_add_lun(f->other_tgt, 0, null_dev, false, err, sizeof(err)));
	f->other_sess = uscst_session_create(f->other_tgt, "iqn.2026-11.test:ini2",
					     "iqn.2026-11.test:ini2,i,0x23d000000002");
	assert_non_null(f->other_sess);
	drain_power_on_ua(f->other_sess);
	return f;
}

static void free_fixture(struct fixture *f)
{
	uscst_session_destroy(f->sess);
	uscst_session_destroy(f->other_sess);
	f->dev->backend->close(f->dev);
	unlink(f->path);
	free(f);
}

static void assert_capacity_ua(struct uscst_session *sess)
{
	uint8_t asc = 0, ascq = 0;
	assert_true(ua_take(sess, 0, &asc, &ascq));
	assert_int_equal(asc, 0x2a);
	assert_int_equal(ascq, 0x09);
	/* Reported once, then the LU is quiet again. */
	assert_false(ua_take(sess, 0, &asc, &ascq));
}

static void assert_no_ua(struct uscst_session *sess)
{
	uint8_t asc, ascq;
	assert_false(ua_take(sess, 0, &asc, &ascq));
}

static void test_grow_sets_size_and_ua(void **state)
{
	struct fixture *f = make_fixture(1 * MIB, NULL, NULL);
	char err[256] = "";
	assert_int_equal(f->dev->nblocks, MIB / 512);

	/* A partial block at the end is not addressable: rounded down. */
	set_file_size(f->path, 3 * MIB + 100);
	assert_int_equal(uscst_device_resync_size(f->dev, err, sizeof(err)), 0);
	assert_int_equal(f->dev->nblocks, 3 * MIB / 512);
	assert_int_equal(f->dev->size, 3 * MIB);
	assert_capacity_ua(f->sess);
	assert_no_ua(f->other_sess);
	free_fixture(f);
}

static void test_unchanged_size_no_ua(void **state)
{
	struct fixture *f = make_fixture(2 * MIB, NULL, NULL);
	char err[256] = "";
	assert_int_equal(uscst_device_resync_size(f->dev, err, sizeof(err)), 0);
	assert_int_equal(f->dev->nblocks, 2 * MIB / 512);
	assert_no_ua(f->sess);
	free_fixture(f);
}

static void test_configured_size_then_whole_file(void **state)
{
	/* At start the configured size wins over a larger file ... */
	struct fixture *f = make_fixture(4 * MIB, "1048576", NULL);
	char err[256] = "";
	assert_int_equal(f->dev->nblocks, MIB / 512);
	/* ... and resync takes the whole file, as SCST does. */
	assert_int_equal(uscst_device_resync_size(f->dev, err, sizeof(err)), 0);
	assert_int_equal(f->dev->nblocks, 4 * MIB / 512);
	assert_capacity_ua(f->sess);
	free_fixture(f);
}

static void test_shrink_allowed(void **state)
{
	struct fixture *f = make_fixture(4 * MIB, NULL, NULL);
	char err[256] = "";
	set_file_size(f->path, 1 * MIB);
	assert_int_equal(uscst_device_resync_size(f->dev, err, sizeof(err)), 0);
	assert_int_equal(f->dev->nblocks, MIB / 512);
	assert_capacity_ua(f->sess);
	free_fixture(f);
}

static void test_4k_blocks_round_down(void **state)
{
	struct fixture *f = make_fixture(1 * MIB, NULL, "4096");
	char err[256] = "";
	assert_int_equal(f->dev->nblocks, MIB / 4096);
	set_file_size(f->path, 2 * MIB + 4095);
	assert_int_equal(uscst_device_resync_size(f->dev, err, sizeof(err)), 0);
	assert_int_equal(f->dev->nblocks, 2 * MIB / 4096);
	assert_int_equal(f->dev->size, 2 * MIB);
	assert_capacity_ua(f->sess);
	free_fixture(f);
}

static void test_smaller_than_one_block_refused(void **state)
{
	struct fixture *f = make_fixture(1 * MIB, NULL, NULL);
	char err[256] = "";
	set_file_size(f->path, 100);
	assert_true(uscst_device_resync_size(f->dev, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "smaller than one block"));
	/* Nothing changed, nobody is told anything. */
	assert_int_equal(f->dev->nblocks, MIB / 512);
	assert_no_ua(f->sess);
	free_fixture(f);
}

static void test_nullio_refused(void **state)
{
	char err[256] = "";
	struct uscst_device *dev =
	    uscst_device_create("vdisk_nullio", "rsnullonly", err, sizeof(err));
	assert_non_null(dev);
	assert_true(uscst_device_set_attr(dev, "size_mb", "2", err, sizeof(err)));
	assert_int_equal(uscst_device_open(dev, err, sizeof(err)), 0);
	assert_true(uscst_device_resync_size(dev, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "configured"));
	assert_int_equal(dev->nblocks, 2 * MIB / 512);
}

/* A reactor reading the capacity while the control thread resyncs it: the
 * reader sees the old or the new size, never anything else.  Under
 * ThreadSanitizer (make SAN=thread, the TSan stage of make test) this also
 * fails on any plain load or store of nblocks or size. */
struct capacity_reader {
	struct uscst_device *dev;
	atomic_bool stop;
	atomic_ulong reads;
	unsigned long bad;
};

static void *read_capacity_loop(void *p)
{
	struct capacity_reader *r = p;
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		uint64_t n = sbc_nblocks(r->dev);
		if (n != MIB / 512 && n != 2 * MIB / 512)
			r->bad++;
		uint64_t run_len;
		bool mapped;
		r->dev->backend->lba_status(r->dev, 0, &run_len, &mapped);
		atomic_fetch_add_explicit(&r->reads, 1, memory_order_relaxed);
	}
	return NULL;
}

static void test_resync_while_reading(void **state)
{
	struct fixture *f = make_fixture(1 * MIB, NULL, NULL);
	struct capacity_reader r = {.dev = f->dev};
	char err[256] = "";
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, read_capacity_loop, &r), 0);
	while (atomic_load_explicit(&r.reads, memory_order_relaxed) == 0)
		sched_yield();
	for (int i = 0; i < 40; i++) {
		set_file_size(f->path, i % 2 ? 1 * MIB : 2 * MIB);
		assert_int_equal(uscst_device_resync_size(f->dev, err, sizeof(err)), 0);
	}
	atomic_store_explicit(&r.stop, true, memory_order_relaxed);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.bad, 0);
	assert_int_equal(sbc_nblocks(f->dev), MIB / 512);
	free_fixture(f);
}

/* The control socket's verb, as uscstadmin sends it. */
static void test_ctl_request(void **state)
{
	struct fixture *f = make_fixture(1 * MIB, NULL, NULL);
	char want[128];
	bool ok;
	set_file_size(f->path, 2 * MIB);
	char *reply = ctl_call(&ok, "device", f->dev->name, "resync_size", NULL);
	assert_true(ok);
	snprintf(want, sizeof(want), "ok: %s: 2048 -> 4096 blocks\n", f->dev->name);
	assert_string_equal(reply, want);
	free(reply);
	assert_capacity_ua(f->sess);

	reply = ctl_call(&ok, "device", "no-such-device", "resync_size", NULL);
	assert_false(ok);
	assert_string_equal(reply, "no device 'no-such-device' (see 'uscstadmin list devices')");
	free(reply);

	reply = ctl_call(&ok, "device", "rsnullonly", "resync_size", NULL);
	assert_false(ok);
	assert_non_null(strstr(reply, "configured"));
	free(reply);

	/* Unknown device actions are unknown commands, not a resync. */
	reply = ctl_call(&ok, "device", f->dev->name, "grow", NULL);
	assert_false(ok);
	assert_non_null(strstr(reply, "usage: device NAME resync_size"));
	free(reply);
	assert_no_ua(f->sess);
	free_fixture(f);
}

int main(void)
{
	/* Devices take their command set when they are created (uscstd does the same). */
	if (!scsi_register_cmdsets())
		return 1;
	/* Only warnings and errors: the info lines of every open are noise here. */
	log_max_level = LOG_WARN;
	if (uscst_transport_register(&stub_transport, USCST_TRANSPORT_ABI) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grow_sets_size_and_ua),
	    cmocka_unit_test(test_unchanged_size_no_ua),
	    cmocka_unit_test(test_configured_size_then_whole_file),
	    cmocka_unit_test(test_shrink_allowed),
	    cmocka_unit_test(test_4k_blocks_round_down),
	    cmocka_unit_test(test_smaller_than_one_block_refused),
	    cmocka_unit_test(test_nullio_refused),
	    cmocka_unit_test(test_resync_while_reading),
	    cmocka_unit_test(test_ctl_request), /* after test_nullio_refused: uses its device */
	};
	if (uscst_backends_register_builtin() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
