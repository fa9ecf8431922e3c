/*
 * `config apply`'s executor (config/conf_exec.c) with its own ops: the
 * running configuration is a text, each applied change is recorded, and
 * one change can be made to fail.  Checks: a bad file is refused with
 * FILE:LINE and nothing is applied; a dry run applies nothing; a failure
 * in the middle undoes what was made, in reverse; an undo that fails too
 * is reported with what stays applied.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <uscst/transport_reg.h>

#include "backend/builtin.h"
#include "config/conf_exec.h"
#include "lib/log.h"
#include "scsi/scsi.h"

/* conf_validate wants the driver registered and the handler known. */
static int stub_start(const struct uscst_transport *t, char *err, size_t errlen) { return 0; }
static void stub_stop(const struct uscst_transport *t) {}
static const struct uscst_transport stub_transport = {
    .name = "exec-test",
    .start = stub_start,
    .stop = stub_stop,
};

static enum conf_attr_runtime runtime(void *arg, const char *handler, const char *attr)
{
	return strcmp(attr, "read_only") == 0 ? CONF_ATTR_RUNTIME : CONF_ATTR_FIXED;
}

static const char *default_of(void *arg, const char *handler, const char *attr) { return NULL; }

static const struct conf_diff_policy policy = {runtime, default_of, NULL};

struct fake {
	const char *running;
	unsigned fail_calls; /* bit n: the nth call (1, 2, ...) fails */
	int calls;
	char log[4096];	    /* "apply: ...\n" per call that succeeded */
	char emitted[4096]; /* what emit saw */
};

static int fake_apply(void *arg, const struct conf_change *c, char *err, size_t errlen)
{
	struct fake *f = arg;
	char line[512];
	conf_change_describe(c, line, sizeof(line));
	if (f->fail_calls & (1u << ++f->calls)) {
		snprintf(err, errlen, "cannot open /nonexistent");
		return -2;
	}
	size_t n = strlen(f->log);
	snprintf(f->log + n, sizeof(f->log) - n, "%s\n", line);
	return 0;
}

static struct conf_tree *fake_running(void *arg)
{
	struct fake *f = arg;
	char err[256];
	return conf_parse_text(f->running, "<running>", err, sizeof(err));
}

static void emit(void *arg, enum conf_exec_event ev, const char *change)
{
	struct fake *f = arg;
	static const char *const names[] = {"planned", "applied", "undone"};
	size_t n = strlen(f->emitted);
	snprintf(f->emitted + n, sizeof(f->emitted) - n, "%s: %s\n", names[ev], change);
}

static const char running[] = "HANDLER vdisk_fileio {\n"
			      "\tDEVICE disk1 {\n"
			      "\t\tfilename /srv/d1\n"
			      "\t}\n"
			      "}\n"
			      "TARGET_DRIVER exec-test {\n"
			      "\tTARGET T {\n"
			      "\t\tenabled 1\n"
			      "\t\tLUN 0 disk1\n"
			      "\t}\n"
			      "}\n";

/* disk2 added, LUN 1..3 map it, LUN 0 goes. */
static const char wanted[] = "HANDLER vdisk_fileio {\n"
			     "\tDEVICE disk1 {\n"
			     "\t\tfilename /srv/d1\n"
			     "\t}\n"
			     "\tDEVICE disk2 {\n"
			     "\t\tfilename /srv/d2\n"
			     "\t}\n"
			     "}\n"
			     "TARGET_DRIVER exec-test {\n"
			     "\tTARGET T {\n"
			     "\t\tenabled 1\n"
			     "\t\tLUN 1 disk2\n"
			     "\t\tLUN 2 disk2\n"
			     "\t\tLUN 3 disk2\n"
			     "\t}\n"
			     "}\n";

static int apply(struct fake *f, const char *text, bool dry_run, struct conf_exec_result *res,
		 char *err, size_t errlen)
{
	struct conf_exec_ops ops = {fake_apply, fake_running, &policy, f};
	return conf_exec_apply(&ops, text, "new.conf", dry_run, emit, f, res, err, errlen);
}

static void applies_in_order(void **state)
{
	struct fake f = {.running = running};
	struct conf_exec_result res;
	char err[512] = "";
	assert_int_equal(apply(&f, wanted, false, &res, err, sizeof(err)), 0);
	assert_string_equal(f.log, "remove lun 0 (disk1) from target T\n"
				   "add device disk2 (vdisk_fileio, filename=/srv/d2)\n"
				   "add lun 1 disk2 to target T\n"
				   "add lun 2 disk2 to target T\n"
				   "add lun 3 disk2 to target T\n");
	assert_int_equal(res.planned, 5);
	assert_int_equal(res.applied, 5);
	assert_int_equal(res.undone, 0);
}

static void no_changes(void **state)
{
	struct fake f = {.running = running};
	struct conf_exec_result res;
	char err[512] = "";
	assert_int_equal(apply(&f, running, false, &res, err, sizeof(err)), 0);
	assert_int_equal(res.planned, 0);
	assert_int_equal(f.calls, 0);
}

static void dry_run_applies_nothing(void **state)
{
	struct fake f = {.running = running};
	struct conf_exec_result res;
	char err[512] = "";
	assert_int_equal(apply(&f, wanted, true, &res, err, sizeof(err)), 0);
	assert_int_equal(f.calls, 0);
	assert_int_equal(res.planned, 5);
	assert_non_null(strstr(f.emitted, "planned: add lun 3 disk2 to target T\n"));
}

static void bad_file_refused_with_line(void **state)
{
	struct fake f = {.running = running};
	struct conf_exec_result res;
	char err[512] = "";
	static const char bad[] = "HANDLER vdisk_fileio {\n"
				  "\tDEVICE disk1 {\n"
				  "\t\tfilename /srv/d1\n"
				  "\t}\n"
				  "}\n"
				  "TARGET_DRIVER exec-test {\n"
				  "\tTARGET T {\n"
				  "\t\tLUN 0 nosuchdisk\n"
				  "\t}\n"
				  "}\n";
	assert_int_equal(apply(&f, bad, false, &res, err, sizeof(err)), -1);
	assert_int_equal(f.calls, 0);
	assert_memory_equal(err, "new.conf:8: ", 12);
	char unbalanced[] = "HANDLER vdisk_fileio {\n";
	assert_int_equal(apply(&f, unbalanced, false, &res, err, sizeof(err)), -1);
	assert_int_equal(f.calls, 0);
	assert_memory_equal(err, "new.conf:", 9);
}

/* The third change (the first LUN add) fails: the device add and the LUN
 * removal are undone, in reverse. */
static void failure_rolls_back(void **state)
{
	struct fake f = {.running = running, .fail_calls = 1u << 3};
	struct conf_exec_result res;
	char err[512] = "";
	assert_int_equal(apply(&f, wanted, false, &res, err, sizeof(err)), -1);
	assert_string_equal(f.log, "remove lun 0 (disk1) from target T\n"
				   "add device disk2 (vdisk_fileio, filename=/srv/d2)\n"
				   "remove device disk2\n"
				   "add lun 0 disk1 to target T\n");
	assert_string_equal(err, "new.conf:12: add lun 1 disk2 to target T: cannot open "
				 "/nonexistent; nothing changed (2 changes made before it undone)");
	assert_int_equal(res.applied, 0);
	assert_int_equal(res.undone, 2);
	assert_non_null(strstr(f.emitted, "undone: remove device disk2\n"
					  "undone: add lun 0 disk1 to target T\n"));
}

/* The undo of the device add fails too: the message says what stays. */
static void failed_undo_reported(void **state)
{
	struct fake f = {.running = running, .fail_calls = 1u << 3 | 1u << 4};
	struct conf_exec_result res;
	char err[512] = "";
	assert_int_equal(apply(&f, wanted, false, &res, err, sizeof(err)), -1);
	assert_string_equal(err, "new.conf:12: add lun 1 disk2 to target T: cannot open "
				 "/nonexistent; undoing failed too (cannot open /nonexistent), so "
				 "the first 2 changes stay applied, up to 'add device disk2 "
				 "(vdisk_fileio, filename=/srv/d2)'");
	assert_int_equal(res.applied, 2);
	assert_int_equal(res.undone, 0);
}

int main(void)
{
	log_max_level = LOG_ERR;
	if (!scsi_register_cmdsets() ||
	    uscst_transport_register(&stub_transport, USCST_TRANSPORT_ABI) != 0 ||
	    uscst_backends_register_builtin() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(applies_in_order),	       cmocka_unit_test(no_changes),
	    cmocka_unit_test(dry_run_applies_nothing), cmocka_unit_test(bad_file_refused_with_line),
	    cmocka_unit_test(failure_rolls_back),      cmocka_unit_test(failed_undo_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
