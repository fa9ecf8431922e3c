/*
 * Run-time device attributes and medium change (core/device_runtime.c):
 * uscst_device_set_runtime_attr() refuses what the handler's table does
 * not allow while running, checks the value by the table, lets the
 * backend apply it and keeps the text; uscst_device_medium_changed() sets
 * the medium state and size, raises 06h/28h/00h on every nexus that sees
 * the device and tells the command set.  A fake backend ("rt-test") and a
 * fake command set record what they are asked; the sessions are real.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <uscst/transport_reg.h>

#include "core/backends.h"
#include "core/cmdset.h"
#include "core/core.h"
#include "core/device_attrs.h"
#include "fixtures/ctl_call.h"
#include "lib/log.h"

/* ---- the fake backend ---- */

struct rt_dev {
	unsigned set_calls;
	char last_name[32], last_value[256];
	int fail_with; /* set_attr returns this (and a message) when not 0 */
};

static struct rt_dev *rdev(struct uscst_device *dev) { return uscst_device_backend_priv(dev); }

static int rt_open(struct uscst_device *dev)
{
	uscst_device_set_size(dev, 64 * 512);
	return 0;
}
static void rt_close(struct uscst_device *dev) {}
static void rt_submit(struct uscst_device *dev, struct uscst_io *io)
{
	io->result = -EIO;
	io->done(io);
}

/* "medium" is the medium: "none" empties the drive, a number is a medium of
 * that many 512-byte blocks.  "level" is any other run-time setting. */
static int rt_set_attr(struct uscst_device *dev, const char *name, const char *value, char *err,
		       size_t errlen)
{
	struct rt_dev *r = rdev(dev);
	r->set_calls++;
	snprintf(r->last_name, sizeof(r->last_name), "%s", name);
	snprintf(r->last_value, sizeof(r->last_value), "%s", value);
	if (r->fail_with) {
		snprintf(err, errlen, "rt-test refuses %s", value);
		return r->fail_with;
	}
	if (!strcmp(name, "medium")) {
		bool present = strcmp(value, "none") != 0;
		uscst_device_set_size(dev, present ? strtoull(value, NULL, 10) * 512 : 0);
		uscst_device_medium_changed(dev, present);
	}
	return 0;
}

static const struct uscst_attr_def rt_attrs[] = {
    {.name = "medium",
     .type = USCST_ATTR_STRING,
     .flags = USCST_ATTR_RUNTIME | USCST_ATTR_MEDIUM,
     .def = "64"},
    {.name = "level", .type = USCST_ATTR_UINT, .flags = USCST_ATTR_RUNTIME, .min = 0, .max = 9},
    {.name = "mode", .type = USCST_ATTR_STRING, .def = "a"},
    {.name = NULL},
};

static const struct uscst_backend_ops rt_ops = {
    .name = "rt-test",
    .dev_attrs = rt_attrs,
    .open = rt_open,
    .close = rt_close,
    .submit = rt_submit,
    .set_attr = rt_set_attr,
    .dev_priv_size = sizeof(struct rt_dev),
    .cmdset = "rt-test",
};

/* ---- the fake command set ---- */

static struct {
	unsigned calls;
	struct uscst_device *dev;
	bool present;
} hook;

static void cs_decode(struct uscst_cmd *cmd) {}
static void cs_dispatch(struct uscst_cmd *cmd) {}
static void cs_nexus_lost(struct uscst_device *dev, struct uscst_session *sess) {}
static void cs_power_on(struct uscst_device *dev) {}
static void cs_lu_reset(struct uscst_device *dev) {}
static void cs_medium_changed(struct uscst_device *dev, bool present)
{
	hook.calls++;
	hook.dev = dev;
	hook.present = present;
}

static const struct uscst_cmdset rt_cmdset = {
    .name = "rt-test",
    .device_type = 0x05,
    .block_size = 512,
    .decode = cs_decode,
    .dispatch = cs_dispatch,
    .nexus_lost = cs_nexus_lost,
    .power_on = cs_power_on,
    .lu_reset = cs_lu_reset,
    .medium_changed = cs_medium_changed,
};

/* ---- fixture: the device at LUN 0 of a target with two sessions, and a
 * session of another target that does not see it ---- */

static int stub_start(const struct uscst_transport *t, char *err, size_t errlen) { return 0; }
static void stub_stop(const struct uscst_transport *t) {}
static const struct uscst_transport stub_transport = {
    .name = "rt-test",
    .start = stub_start,
    .stop = stub_stop,
};

struct fixture {
	struct uscst_device *dev;
	struct uscst_session *s1, *s2, *other;
};

static unsigned seq; /* devices and targets are never removed: unique names */

static void drain(struct uscst_session *s)
{
	uint8_t asc, ascq;
	while (ua_take(s, 0, &asc, &ascq))
		;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char name[32], iqn[64], err[256] = "";
	unsigned id = ++seq;
	snprintf(name, sizeof(name), "rt%u", id);
	f->dev = uscst_device_create("rt-test", name, err, sizeof(err));
	assert_non_null(f->dev);
	assert_int_equal(uscst_device_open(f->dev, err, sizeof(err)), 0);
	snprintf(iqn, sizeof(iqn), "iqn.2026-11.test:rt%u", id);
	struct uscst_target *tgt = uscst_target_create("rt-test", iqn, err, sizeof(err));
	assert_non_null(tgt);
	assert_true(uscst_target_add_lun(tgt, 0, f->dev, false, err, sizeof(err)));
	f->s1 = uscst_session_create(tgt, "iqn.2026-11.test:a", "iqn.2026-11.test:a,i,0x1");
	f->s2 = uscst_session_create(tgt, "iqn.2026-11.test:b", "iqn.2026-11.test:b,i,0x2");
	snprintf(iqn, sizeof(iqn), "iqn.2026-11.test:rtother%u", id);
	struct uscst_target *other = uscst_target_create("rt-test", iqn, err, sizeof(err));
	assert_non_null(other);
	f->other = uscst_session_create(other, "iqn.2026-11.test:c", "iqn.2026-11.test:c,i,0x3");
	assert_true(f->s1 && f->s2 && f->other);
	drain(f->s1);
	drain(f->s2);
	drain(f->other);
	memset(&hook, 0, sizeof(hook));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	uscst_session_destroy(f->s1);
	uscst_session_destroy(f->s2);
	uscst_session_destroy(f->other);
	free(f);
	return 0;
}

static void assert_changed_ua_once(struct uscst_session *s)
{
	uint8_t asc = 0, ascq = 0;
	assert_true(ua_take(s, 0, &asc, &ascq));
	assert_int_equal(asc, 0x28);
	assert_int_equal(ascq, 0x00);
	assert_false(ua_take(s, 0, &asc, &ascq));
}

static void assert_no_ua(struct uscst_session *s)
{
	uint8_t asc, ascq;
	assert_false(ua_take(s, 0, &asc, &ascq));
}

static bool medium_present(const struct uscst_device *dev)
{
	return atomic_load(&dev->medium_present);
}

/* ---- uscst_device_set_runtime_attr ---- */

static void test_unknown_attribute(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "nosuch", "1", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "unknown attribute 'nosuch'"));
	assert_int_equal(rdev(f->dev)->set_calls, 0);
}

static void test_not_runtime_refused(void **state)
{
	struct fixture *f = *state;
	char err[256] = "", want[128];
	/* A handler attribute without USCST_ATTR_RUNTIME ... */
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "mode", "b", err, sizeof(err)),
			 -EPERM);
	snprintf(want, sizeof(want), "attribute mode of device %s cannot be changed while running",
		 f->dev->name);
	assert_string_equal(err, want);
	assert_string_equal(uscst_device_attr(f->dev, "mode"), "a");
	/* ... and a core one. */
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "read_only", "1", err, sizeof(err)),
			 -EPERM);
	assert_non_null(strstr(err, "attribute read_only of device"));
	assert_false(f->dev->read_only);
	assert_int_equal(rdev(f->dev)->set_calls, 0);
}

static void test_value_checked_by_table(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "level", "10", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "level"));
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "level", "x", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(rdev(f->dev)->set_calls, 0);
	assert_null(uscst_device_attr(f->dev, "level"));
}

static void show_emit(void *arg, const char *name, const char *value)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 512 - n, "%s=%s;", name, value);
}

static void test_applied_and_kept(void **state)
{
	struct fixture *f = *state;
	char err[256] = "", shown[512] = "";
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "level", "7", err, sizeof(err)), 0);
	assert_int_equal(rdev(f->dev)->set_calls, 1);
	assert_string_equal(rdev(f->dev)->last_name, "level");
	assert_string_equal(rdev(f->dev)->last_value, "7");
	assert_string_equal(uscst_device_attr(f->dev, "level"), "7");
	uscst_device_show_attrs(f->dev, show_emit, shown);
	assert_non_null(strstr(shown, "level=7;"));
	/* Not a medium: nobody is told of a change. */
	assert_int_equal(hook.calls, 0);
	assert_no_ua(f->s1);
}

static void test_backend_error_keeps_old_value(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "level", "3", err, sizeof(err)), 0);
	rdev(f->dev)->fail_with = -EIO;
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "level", "4", err, sizeof(err)),
			 -EIO);
	assert_string_equal(err, "rt-test refuses 4");
	assert_string_equal(uscst_device_attr(f->dev, "level"), "3");
	/* A backend that breaks the contract with a positive number still fails. */
	rdev(f->dev)->fail_with = 5;
	assert_true(uscst_device_set_runtime_attr(f->dev, "level", "5", err, sizeof(err)) < 0);
	assert_string_equal(uscst_device_attr(f->dev, "level"), "3");
}

static void test_medium_change_while_prevented(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	pthread_mutex_lock(&f->dev->lock);
	assert_true(uscst_prevent_set(f->dev, f->s1->id, true));
	pthread_mutex_unlock(&f->dev->lock);
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "medium", "none", err, sizeof(err)),
			 -EBUSY);
	assert_non_null(strstr(err, "prevents medium removal"));
	assert_int_equal(rdev(f->dev)->set_calls, 0);
	assert_true(medium_present(f->dev));
	assert_string_equal(uscst_device_attr(f->dev, "medium"), "64");
	/* Other run-time attributes are not the medium: they still change. */
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "level", "1", err, sizeof(err)), 0);
	/* Once every nexus allows removal, the change goes through. */
	pthread_mutex_lock(&f->dev->lock);
	uscst_prevent_set(f->dev, f->s1->id, false);
	pthread_mutex_unlock(&f->dev->lock);
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "medium", "none", err, sizeof(err)),
			 0);
	assert_false(medium_present(f->dev));
	assert_string_equal(uscst_device_attr(f->dev, "medium"), "none");
}

/* ---- uscst_device_medium_changed ---- */

static void test_new_medium_ua_on_every_nexus(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "medium", "100", err, sizeof(err)),
			 0);
	/* The size comes from the backend, in whole blocks. */
	assert_int_equal(atomic_load(&f->dev->nblocks), 100);
	assert_int_equal(atomic_load(&f->dev->size), 100 * 512);
	assert_true(medium_present(f->dev));
	assert_changed_ua_once(f->s1);
	assert_changed_ua_once(f->s2);
	assert_no_ua(f->other);
	assert_int_equal(hook.calls, 1);
	assert_ptr_equal(hook.dev, f->dev);
	assert_true(hook.present);
}

static void test_removal_no_ua(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "medium", "none", err, sizeof(err)),
			 0);
	assert_false(medium_present(f->dev));
	assert_int_equal(atomic_load(&f->dev->nblocks), 0);
	/* Not ready from now on, no unit attention (SPC-4: the medium is
	 * simply not there). */
	assert_no_ua(f->s1);
	assert_no_ua(f->s2);
	assert_int_equal(hook.calls, 1);
	assert_false(hook.present);
	/* Emptying an empty drive changes nothing anyone can see. */
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "medium", "none", err, sizeof(err)),
			 0);
	assert_int_equal(hook.calls, 1);
	/* Loading it again: the UA once per nexus, the hook once more. */
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "medium", "8", err, sizeof(err)), 0);
	assert_true(medium_present(f->dev));
	assert_int_equal(atomic_load(&f->dev->nblocks), 8);
	assert_changed_ua_once(f->s1);
	assert_changed_ua_once(f->s2);
	assert_int_equal(hook.calls, 2);
	assert_true(hook.present);
}

static void test_replace_medium_twice_one_pending_ua(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "medium", "10", err, sizeof(err)),
			 0);
	assert_int_equal(uscst_device_set_runtime_attr(f->dev, "medium", "20", err, sizeof(err)),
			 0);
	/* A replaced medium is a change even while one is present; a second
	 * change before the nexus heard of the first is the same condition,
	 * reported once (core/ua.c). */
	assert_changed_ua_once(f->s1);
	assert_changed_ua_once(f->s2);
	assert_int_equal(atomic_load(&f->dev->nblocks), 20);
	assert_int_equal(hook.calls, 2);
}

/* ---- the control socket ---- */

static void test_ctl_device_set(void **state)
{
	struct fixture *f = *state;
	char want[256];
	bool ok;
	char *reply = ctl_call(&ok, "device", f->dev->name, "set", "level", "6", NULL);
	assert_true(ok);
	snprintf(want, sizeof(want), "ok: %s: level 6\n", f->dev->name);
	assert_string_equal(reply, want);
	free(reply);
	assert_string_equal(uscst_device_attr(f->dev, "level"), "6");
	/* The value is one word, which may hold spaces. */
	reply = ctl_call(&ok, "device", f->dev->name, "set", "medium", "1 2", NULL);
	assert_true(ok);
	assert_string_equal(rdev(f->dev)->last_value, "1 2");
	free(reply);

	/* WORDS (after "device NAME") and what the error says. */
	const char *errors[][4] = {
	    {"set", "mode", "b", "cannot be changed while running"},
	    {"set", "level", NULL, "usage: device NAME set ATTR VALUE"},
	    {"set", NULL, NULL, "usage: device NAME set ATTR VALUE"},
	};
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		const char *const *e = errors[i];
		reply = ctl_call(&ok, "device", f->dev->name, e[0], e[1], e[2], NULL);
		assert_false(ok);
		if (!strstr(reply, e[3]))
			fail_msg("'%s' does not say '%s'", reply, e[3]);
		free(reply);
	}
	reply = ctl_call(&ok, "device", "nosuchdev", "set", "level", "1", NULL);
	assert_false(ok);
	assert_string_equal(reply, "no device 'nosuchdev' (see 'uscstadmin list devices')");
	free(reply);
}

/* ---- registration ---- */

static void test_runtime_attr_needs_set_attr(void **state)
{
	static const struct uscst_attr_def attrs[] = {
	    {.name = "x", .type = USCST_ATTR_STRING, .flags = USCST_ATTR_RUNTIME},
	    {.name = NULL},
	};
	static const struct uscst_backend_ops ops = {
	    .name = "rt-no-set",
	    .dev_attrs = attrs,
	    .open = rt_open,
	    .close = rt_close,
	    .submit = rt_submit,
	    .cmdset = "rt-test",
	};
	assert_int_equal(uscst_backend_register(&ops, USCST_BACKEND_ABI), -EINVAL);
	assert_null(uscst_backend_find("rt-no-set"));
}

int main(void)
{
	log_max_level = LOG_ERR;
	if (!uscst_cmdset_register(&rt_cmdset) ||
	    uscst_backend_register(&rt_ops, USCST_BACKEND_ABI) != 0 ||
	    uscst_transport_register(&stub_transport, USCST_TRANSPORT_ABI) != 0)
		return 1;
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_unknown_attribute),
	    T(test_not_runtime_refused),
	    T(test_value_checked_by_table),
	    T(test_applied_and_kept),
	    T(test_backend_error_keeps_old_value),
	    T(test_medium_change_while_prevented),
	    T(test_new_medium_ua_on_every_nexus),
	    T(test_removal_no_ua),
	    T(test_replace_medium_twice_one_pending_ua),
	    T(test_ctl_device_set),
	    cmocka_unit_test(test_runtime_attr_needs_set_attr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
