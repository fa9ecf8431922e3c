/*
 * Device attribute tables (core/device_attrs.c): the core's table and the
 * handlers' (ops->dev_attrs) decide what a DEVICE block may set, with which
 * values and defaults, what `config write` puts back and what the admin
 * listing (`show handlers`) shows.
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

#include "backend/builtin.h"
#include "core/backends.h"
#include "core/core.h"
#include "core/device_attrs.h"
#include "core/transports.h"
#include "fixtures/ctl_call.h"
#include "scsi/scsi.h"

static unsigned seq;

static struct uscst_device *new_dev(const char *handler)
{
	char name[32], err[256] = "";
	snprintf(name, sizeof(name), "attr%u", ++seq);
	struct uscst_device *dev = uscst_device_create(handler, name, err, sizeof(err));
	if (!dev)
		fail_msg("create: %s", err);
	return dev;
}

/* Expects name=value refused with a message containing want. */
static void expect_refused(struct uscst_device *dev, const char *name, const char *value,
			   const char *want)
{
	char err[256] = "";
	if (uscst_device_set_attr(dev, name, value, err, sizeof(err)))
		fail_msg("%s %s accepted", name, value);
	if (!strstr(err, want))
		fail_msg("%s %s: message '%s', wanted '%s'", name, value, err, want);
}

static void set_ok(struct uscst_device *dev, const char *name, const char *value)
{
	char err[256] = "";
	if (!uscst_device_set_attr(dev, name, value, err, sizeof(err)))
		fail_msg("%s %s refused: %s", name, value, err);
}

static void test_unknown_names_the_handler(void **state)
{
	struct uscst_device *null_dev = new_dev("vdisk_nullio");
	char want[128];
	snprintf(want, sizeof(want),
		 "unknown attribute 'bogus' for device '%s' (handler vdisk_nullio)",
		 uscst_device_name(null_dev));
	expect_refused(null_dev, "bogus", "1", want);
	/* vdisk_fileio's own attribute is not nullio's. */
	expect_refused(null_dev, "filename", "/tmp/x", "(handler vdisk_nullio)");
	/* Known to SCST, not built here: said so, still refused. */
	expect_refused(null_dev, "dummy", "1",
		       "vdisk_nullio device attribute 'dummy' is not "
		       "supported yet");
	struct uscst_device *file_dev = new_dev("vdisk_fileio");
	expect_refused(file_dev, "o_direct", "1", "vdisk_fileio device attribute 'o_direct'");
	expect_refused(file_dev, "dummy", "1", "(handler vdisk_fileio)");
	set_ok(file_dev, "filename", "/tmp/x");
}

static void test_bad_values(void **state)
{
	struct uscst_device *dev = new_dev("vdisk_nullio");
	expect_refused(dev, "blocksize", "1024", "blocksize: must be 512 or 4096, got '1024'");
	expect_refused(dev, "read_only", "2", "read_only: expected 0 or 1, got '2'");
	expect_refused(dev, "thin_provisioned", "auto", "thin_provisioned: expected 0 or 1");
	expect_refused(dev, "size", "0", "size: bad size '0'");
	expect_refused(dev, "size", "-5", "size: bad size");
	expect_refused(dev, "size_mb", "1099511627777", "size_mb: bad size");
	expect_refused(dev, "t10_vend_id", "NINECHARS",
		       "t10_vend_id: 'NINECHARS' is longer than 8");
	expect_refused(dev, "prod_rev_lvl", "12345", "longer than 4 characters");
	expect_refused(dev, "usn", "a\tb", "usn: only printable ASCII is allowed");
	/* Nothing refused was stored. */
	assert_int_equal(dev->block_size, 512);
	assert_false(dev->read_only);
	assert_string_equal(dev->t10_vend_id, "USCST");
}

/* A fresh device has the tables' defaults, and every default is a value
 * its own entry accepts. */
static void test_defaults(void **state)
{
	struct uscst_device *dev = new_dev("vdisk_fileio");
	assert_int_equal(dev->block_size, 512);
	assert_false(dev->read_only);
	assert_false(dev->write_through);
	assert_false(dev->nv_cache);
	assert_false(dev->removable);
	assert_true(dev->rotational);
	assert_true(dev->lb_per_pb_exp);     /* SCST's default: report the physical block */
	assert_int_equal(dev->thin_cfg, -1); /* auto */
	assert_string_equal(dev->t10_vend_id, "USCST");
	assert_string_equal(dev->prod_rev, "0100");
	assert_string_equal(dev->t10_prod_id, uscst_device_name(dev));
	assert_null(uscst_device_attr(dev, "filename"));
	assert_string_equal(uscst_device_attr(dev, "o_direct"), "0");
	assert_null(uscst_device_attr(dev, "no_such_attr"));

	char err[256];
	for (const struct uscst_attr_def *d = uscst_core_device_attrs; d->name; d++)
		if (d->def && !uscst_attr_check(d, d->def, err, sizeof(err)))
			fail_msg("core default %s=%s refused: %s", d->name, d->def, err);
	for (const struct uscst_backend_ops *o = uscst_backend_next(NULL); o;
	     o = uscst_backend_next(o))
		for (const struct uscst_attr_def *d = o->dev_attrs; d && d->name; d++)
			if (d->def && !uscst_attr_check(d, d->def, err, sizeof(err)))
				fail_msg("%s default %s=%s refused: %s", o->name, d->name, d->def,
					 err);
}

static void test_set_values(void **state)
{
	struct uscst_device *dev = new_dev("vdisk_nullio");
	set_ok(dev, "read_only", "yes");
	set_ok(dev, "rotational", "false");
	set_ok(dev, "blocksize", "4096");
	set_ok(dev, "t10_prod_id", "PRODUCT");
	set_ok(dev, "thin_provisioned", "0");
	set_ok(dev, "lb_per_pb_exp", "0");
	assert_true(dev->read_only);
	assert_false(dev->lb_per_pb_exp);
	assert_false(dev->rotational);
	assert_int_equal(dev->block_size, 4096);
	assert_string_equal(dev->t10_prod_id, "PRODUCT");
	assert_int_equal(dev->thin_cfg, 0);
	/* size and size_mb set one value: the last given wins. */
	set_ok(dev, "size", "4096");
	set_ok(dev, "size_mb", "2");
	assert_int_equal(uscst_device_size(dev), 2u << 20);
	set_ok(dev, "size", "0x3000");
	assert_int_equal(uscst_device_size(dev), 0x3000);
}

/* ---- config write ---- */

struct shown {
	char text[1024];
};

static void collect(void *arg, const char *name, const char *value)
{
	struct shown *s = arg;
	size_t used = strlen(s->text);
	snprintf(s->text + used, sizeof(s->text) - used, "%s=%s;", name, value);
}

static void show(struct uscst_device *dev, struct shown *s)
{
	s->text[0] = '\0';
	uscst_device_show_attrs(dev, collect, s);
}

/* Only what was configured or differs from the default is written, each
 * value once under its first name, the handler's first; loading what was
 * written gives the same device. */
static void test_written_back(void **state)
{
	struct uscst_device *dev = new_dev("vdisk_fileio");
	struct shown s;
	show(dev, &s);
	assert_string_equal(s.text, "");

	set_ok(dev, "t10_prod_id", "PRODUCT");
	set_ok(dev, "size_mb", "1");
	set_ok(dev, "read_only", "yes");
	set_ok(dev, "rotational", "1"); /* the default, but configured */
	set_ok(dev, "filename", "/srv/disk.img");
	set_ok(dev, "thin_provisioned", "0");
	set_ok(dev, "pr_file_name", "");
	set_ok(dev, "lb_per_pb_exp", "0");
	show(dev, &s);
	assert_string_equal(s.text, "filename=/srv/disk.img;size=1048576;read_only=1;"
				    "thin_provisioned=0;rotational=1;lb_per_pb_exp=0;"
				    "prod_id=PRODUCT;pr_file_name=;");

	/* Not configured but not the default either (as MODE SELECT or an
	 * older writer could leave it): written. */
	dev->nv_cache = true;
	show(dev, &s);
	assert_non_null(strstr(s.text, "nv_cache=1;"));

	/* The round trip. */
	struct uscst_device *again = new_dev("vdisk_fileio");
	char copy[1024];
	snprintf(copy, sizeof(copy), "%s", s.text);
	for (char *save = NULL, *kv = strtok_r(copy, ";", &save); kv;
	     kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');
		assert_non_null(eq);
		*eq = '\0';
		set_ok(again, kv, eq + 1);
	}
	struct shown s2;
	show(again, &s2);
	assert_string_equal(s2.text, s.text);
}

/* ---- handler tables at registration ---- */

static int fake_open(struct uscst_device *dev) { return 0; }
static void fake_close(struct uscst_device *dev) {}
static void fake_submit(struct uscst_device *dev, struct uscst_io *io) {}

static void test_handler_table_checked(void **state)
{
	static const struct uscst_attr_def takes_core[] = {
	    {.name = "blocksize", .type = USCST_ATTR_UINT, .min = 512, .max = 4096},
	    {.name = NULL}};
	static const struct uscst_attr_def twice[] = {{.name = "x", .type = USCST_ATTR_BOOL},
						      {.name = "x", .type = USCST_ATTR_BOOL},
						      {.name = NULL}};
	static const struct uscst_attr_def bad_range[] = {
	    {.name = "y", .type = USCST_ATTR_UINT, .min = 5, .max = 4}, {.name = NULL}};
	static const struct uscst_attr_def good[] = {
	    {.name = "depth", .type = USCST_ATTR_UINT, .min = 1, .max = 8, .def = "4"},
	    {.name = NULL}};
	struct uscst_backend_ops ops = {
	    .open = fake_open, .close = fake_close, .submit = fake_submit, .cmdset = "sbc"};
	static struct uscst_backend_ops regs[4];
	const struct uscst_attr_def *tables[4] = {takes_core, twice, bad_range, good};
	const char *names[4] = {"t_core", "t_twice", "t_range", "t_good"};
	for (int i = 0; i < 4; i++) {
		regs[i] = ops;
		regs[i].name = names[i];
		regs[i].dev_attrs = tables[i];
		assert_int_equal(uscst_backend_register(&regs[i], USCST_BACKEND_ABI),
				 i < 3 ? -EINVAL : 0);
	}
	/* A handler's table checks by type when it gives no check function. */
	struct uscst_device *dev = new_dev("t_good");
	assert_string_equal(uscst_device_attr(dev, "depth"), "4");
	expect_refused(dev, "depth", "9", "depth: expected a number in 1..8, got '9'");
	set_ok(dev, "depth", "8");
	assert_string_equal(uscst_device_attr(dev, "depth"), "8");
	struct shown s;
	show(dev, &s);
	assert_string_equal(s.text, "depth=8;");
}

/* ---- the admin listing ---- */

/* Every entry of every table is listed, under its handler, with its
 * default; nothing is listed twice. */
static void test_show_handlers(void **state)
{
	bool ok;
	char *text = ctl_call(&ok, "show", "handlers", NULL);
	assert_true(ok);
	char line[160];
	for (const struct uscst_attr_def *d = uscst_core_device_attrs; d->name; d++) {
		snprintf(line, sizeof(line), "\n  %-18s ", d->name);
		const char *at = strstr(text, line);
		if (!at || strstr(at + 1, line))
			fail_msg("'%s' not listed once:\n%s", d->name, text);
		assert_true(at < strstr(text, "HANDLER "));
	}
	for (const struct uscst_backend_ops *o = uscst_backend_next(NULL); o;
	     o = uscst_backend_next(o)) {
		snprintf(line, sizeof(line), "\nHANDLER %s:\n", o->name);
		const char *h = strstr(text, line);
		assert_non_null(h);
		const char *next = strstr(h + 1, "\nHANDLER ");
		for (const struct uscst_attr_def *d = o->dev_attrs; d && d->name; d++) {
			snprintf(line, sizeof(line), "\n  %-18s ", d->name);
			const char *at = strstr(h, line);
			if (!at || (next && at > next))
				fail_msg("%s's '%s' not listed:\n%s", o->name, d->name, text);
		}
	}
	assert_non_null(strstr(text, "\n  blocksize          number 512..4096  default 512\n"));
	assert_non_null(
	    strstr(text, "\n  dummy              0|1  default 0  (not supported yet)\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unknown_names_the_handler),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_set_values),
	    cmocka_unit_test(test_written_back),
	    cmocka_unit_test(test_handler_table_checked),
	    cmocka_unit_test(test_show_handlers),
	};
	/* Devices take their command set when they are created (uscstd does the same). */
	if (!scsi_register_cmdsets() || uscst_backends_register_builtin() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
