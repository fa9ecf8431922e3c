/*
 * The configuration diff (config/conf_diff.c): two scst.conf texts give
 * exactly the expected change list, in the order an executor can apply
 * it; attributes that cannot change at run time are refused with
 * FILE:LINE and no change; every change has an undo that restores it.
 * The policy is the test's own: read_only, write_through, t10_dev_id and
 * size change at run time; read_only, write_through default to 0 and
 * blocksize to 512.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/conf_diff.h"

static enum conf_attr_runtime runtime(void *arg, const char *handler, const char *attr)
{
	static const char *const names[] = {"read_only", "write_through", "t10_dev_id", "size"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(attr, names[i]) == 0)
			return CONF_ATTR_RUNTIME;
	return CONF_ATTR_FIXED;
}

static const char *default_of(void *arg, const char *handler, const char *attr)
{
	if (strcmp(attr, "read_only") == 0 || strcmp(attr, "write_through") == 0)
		return "0";
	if (strcmp(attr, "blocksize") == 0)
		return "512";
	return NULL;
}

static const struct conf_diff_policy policy = {runtime, default_of, NULL};

/* The diff of two texts as lines "change\n"; or "ERROR: message". */
static char *diff_text(const char *current, const char *wanted)
{
	char err[512] = "";
	struct conf_tree *cur = conf_parse_text(current, "running", err, sizeof(err));
	assert_non_null(cur);
	struct conf_tree *want = conf_parse_text(wanted, "new.conf", err, sizeof(err));
	assert_non_null(want);
	struct conf_diff d;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	if (conf_diff(cur, want, &policy, &d, err, sizeof(err)) < 0) {
		assert_int_equal(d.count, 0);
		fprintf(f, "ERROR: %s", err);
	}
	for (size_t i = 0; i < d.count; i++) {
		char line[512];
		conf_change_describe(&d.changes[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
	fclose(f);
	conf_diff_free(&d);
	conf_tree_free(cur);
	conf_tree_free(want);
	return text;
}

#define assert_diff(current, wanted, expected)                                                     \
	do {                                                                                       \
		char *got_ = diff_text(current, wanted);                                           \
		assert_string_equal(got_, expected);                                               \
		free(got_);                                                                        \
	} while (0)

static const char base[] = "HANDLER vdisk_fileio {\n"
			   "\tDEVICE disk1 {\n"
			   "\t\tfilename /srv/d1\n"
			   "\t\tread_only 0\n"
			   "\t}\n"
			   "}\n"
			   "TARGET_DRIVER iscsi {\n"
			   "\tenabled 1\n"
			   "\tlisten 127.0.0.1:3260\n"
			   "\tTARGET T {\n"
			   "\t\tenabled 1\n"
			   "\t\tLUN 0 disk1\n"
			   "\t\tGROUP G {\n"
			   "\t\t\tLUN 0 disk1\n"
			   "\t\t\tINITIATOR iqn.a\n"
			   "\t\t}\n"
			   "\t}\n"
			   "}\n";

static void same_config_no_change(void **state) { assert_diff(base, base, ""); }

/* An attribute written with its default value equals one left out. */
static void default_equals_absent(void **state)
{
	static const char wanted[] = "HANDLER vdisk_fileio {\n"
				     "\tDEVICE disk1 {\n"
				     "\t\tfilename /srv/d1\n"
				     "\t\tblocksize 512\n"
				     "\t}\n"
				     "}\n"
				     "TARGET_DRIVER iscsi {\n"
				     "\tenabled 1\n"
				     "\tlisten 127.0.0.1:3260\n"
				     "\tTARGET T {\n"
				     "\t\tenabled 1\n"
				     "\t\tLUN 0 disk1\n"
				     "\t\tGROUP G {\n"
				     "\t\t\tLUN 0 disk1\n"
				     "\t\t\tINITIATOR iqn.a\n"
				     "\t\t}\n"
				     "\t}\n"
				     "}\n";
	assert_diff(base, wanted, "");
}

/* A device and three LUNs added, one LUN removed: the removal first, the
 * device before the LUNs that map it. */
static void add_device_and_luns(void **state)
{
	static const char wanted[] = "HANDLER vdisk_fileio {\n"
				     "\tDEVICE disk1 {\n"
				     "\t\tfilename /srv/d1\n"
				     "\t}\n"
				     "\tDEVICE disk2 {\n"
				     "\t\tfilename /srv/d2\n"
				     "\t\tblocksize 4096\n"
				     "\t}\n"
				     "}\n"
				     "TARGET_DRIVER iscsi {\n"
				     "\tenabled 1\n"
				     "\tlisten 127.0.0.1:3260\n"
				     "\tTARGET T {\n"
				     "\t\tenabled 1\n"
				     "\t\tLUN 1 disk2\n"
				     "\t\tLUN 2 disk2\n"
				     "\t\tGROUP G {\n"
				     "\t\t\tLUN 0 disk1\n"
				     "\t\t\tLUN 3 disk2 {\n"
				     "\t\t\t\tread_only 1\n"
				     "\t\t\t}\n"
				     "\t\t\tINITIATOR iqn.a\n"
				     "\t\t}\n"
				     "\t}\n"
				     "}\n";
	assert_diff(base, wanted,
		    "remove lun 0 (disk1) from target T\n"
		    "add device disk2 (vdisk_fileio, filename=/srv/d2, blocksize=4096)\n"
		    "add lun 1 disk2 to target T\n"
		    "add lun 2 disk2 to target T\n"
		    "add lun 3 disk2 read_only to target T group G\n");
}

/* Everything removed: LUNs, initiators, groups, the target, then the
 * device no LUN maps any more; portals stay (the driver block is kept). */
static void remove_everything(void **state)
{
	static const char wanted[] = "TARGET_DRIVER iscsi {\n"
				     "\tenabled 1\n"
				     "\tlisten 127.0.0.1:3260\n"
				     "}\n";
	assert_diff(base, wanted,
		    "disable target T\n"
		    "remove lun 0 (disk1) from target T\n"
		    "remove lun 0 (disk1) from target T group G\n"
		    "remove initiator iqn.a from target T group G\n"
		    "remove group G from target T\n"
		    "remove target T\n"
		    "remove device disk1\n");
}

/* From nothing: the target is enabled last, after its LUNs. */
static void build_from_empty(void **state)
{
	assert_diff("TARGET_DRIVER iscsi {\n\tenabled 1\n\tlisten 127.0.0.1:3260\n}\n", base,
		    "add device disk1 (vdisk_fileio, filename=/srv/d1, read_only=0)\n"
		    "add target T (iscsi)\n"
		    "add group G to target T\n"
		    "add initiator iqn.a to target T group G\n"
		    "add lun 0 disk1 to target T\n"
		    "add lun 0 disk1 to target T group G\n"
		    "enable target T\n");
}

static char *replace(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	assert_non_null(p);
	char *out;
	assert_true(asprintf(&out, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from)) > 0);
	return out;
}

static void runtime_attribute_set(void **state)
{
	char *wanted = replace(base, "read_only 0", "read_only 1\n\t\tt10_dev_id abc");
	assert_diff(base, wanted,
		    "set device disk1 read_only 1\n"
		    "set device disk1 t10_dev_id abc\n");
	free(wanted);
}

/* blocksize cannot change while running: refused at its line, nothing
 * listed, even with other changes in the file. */
static void fixed_attribute_refused(void **state)
{
	char *wanted = replace(base, "read_only 0", "read_only 1\n\t\tblocksize 4096");
	assert_diff(base, wanted,
		    "ERROR: new.conf:5: device disk1: attribute blocksize cannot change while the "
		    "device runs ('512' -> '4096'); remove the device and add it again, or "
		    "restart");
	free(wanted);
}

static void handler_change_refused(void **state)
{
	char *wanted = replace(base, "vdisk_fileio", "vdisk_blockio");
	char *got = diff_text(base, wanted);
	assert_non_null(strstr(got, "new.conf:2: device disk1: its handler cannot change"));
	free(got);
	free(wanted);
}

static void driver_attribute_refused(void **state)
{
	char *wanted = replace(base, "\tenabled 1\n\tlisten", "\tenabled 0\n\tlisten");
	char *got = diff_text(base, wanted);
	assert_string_equal(got, "ERROR: new.conf:8: driver iscsi: attribute enabled cannot "
				 "change while uscstd runs; restart uscstd with the new file");
	free(got);
	free(wanted);
}

/* A LUN whose device or read_only changes is removed, then added. */
static void lun_remapped(void **state)
{
	char *wanted = replace(base, "\t\tLUN 0 disk1\n\t\tGROUP",
			       "\t\tLUN 0 disk1 {\n"
			       "\t\t\tread_only 1\n"
			       "\t\t}\n\t\tGROUP");
	assert_diff(base, wanted,
		    "remove lun 0 (disk1) from target T\n"
		    "add lun 0 disk1 read_only to target T\n");
	free(wanted);
}

static void portals_and_chap(void **state)
{
	char *w1 = replace(base, "\tlisten 127.0.0.1:3260\n", "\tlisten 127.0.0.1:3261\n");
	char *wanted = replace(w1, "\t\tenabled 1\n",
			       "\t\tenabled 0\n"
			       "\t\tIncomingUser \"joe secretsecret12\"\n");
	assert_diff(base, wanted,
		    "disable target T\n"
		    "remove portal 127.0.0.1:3260 from driver iscsi\n"
		    "add IncomingUser user joe of target T\n"
		    "add portal 127.0.0.1:3261 to driver iscsi\n");
	/* Another secret for joe: a change, its text without the secret. */
	char *again = replace(wanted, "secretsecret12", "othersecret123");
	char *got = diff_text(wanted, again);
	assert_string_equal(got, "change secret of IncomingUser user joe of target T\n");
	assert_null(strstr(got, "othersecret"));
	free(got);
	free(again);
	free(wanted);
	free(w1);
}

static void target_attribute_refused(void **state)
{
	char *wanted = replace(base, "\t\tenabled 1\n", "\t\tenabled 1\n\t\trel_tgt_id 7\n");
	char *got = diff_text(base, wanted);
	assert_string_equal(got, "ERROR: new.conf:12: target T: attribute rel_tgt_id cannot "
				 "change while the target exists; remove the target and add it "
				 "again");
	free(got);
	free(wanted);
}

/* What the file leaves out of a target or driver (rel_tgt_id, listen,
 * LoginTimeout) stays as it is: no change, no refusal. */
static void omitted_target_and_driver_attrs_kept(void **state)
{
	char *running = replace(base, "\t\tenabled 1\n", "\t\tenabled 1\n\t\trel_tgt_id 3\n");
	char *r2 = replace(running, "\tlisten 127.0.0.1:3260\n",
			   "\tlisten 127.0.0.1:3260\n\tLoginTimeout 30\n");
	char *wanted = replace(base, "\tlisten 127.0.0.1:3260\n", "");
	assert_diff(r2, wanted, "");
	free(wanted);
	free(r2);
	free(running);
}

/* A target the file does not say `enabled` of is enabled, as at start-up:
 * no change against a running "enabled 1"; "enabled 0" disables it. */
static void enabled_by_default(void **state)
{
	char *wanted = replace(base, "\t\tenabled 1\n", "");
	assert_diff(base, wanted, "");
	char *off = replace(base, "\t\tenabled 1\n", "\t\tenabled 0\n");
	assert_diff(base, off, "disable target T\n");
	assert_diff(off, wanted, "enable target T\n");
	free(off);
	free(wanted);
}

/* size_mb N and size N MiB are one value; a new size_mb is a resize. */
static void size_mb_is_size(void **state)
{
	char *running =
	    replace(base, "\t\tfilename /srv/d1\n", "\t\tfilename /srv/d1\n\t\tsize 16777216\n");
	char *wanted =
	    replace(base, "\t\tfilename /srv/d1\n", "\t\tfilename /srv/d1\n\t\tsize_mb 16\n");
	assert_diff(running, wanted, "");
	char *bigger =
	    replace(base, "\t\tfilename /srv/d1\n", "\t\tfilename /srv/d1\n\t\tsize_mb 32\n");
	assert_diff(running, bigger, "set device disk1 size 33554432\n");
	free(bigger);
	free(wanted);
	free(running);
}

/* Every change's undo: the inverse kind, with the old values. */
static void undo_restores(void **state)
{
	char err[256];
	struct conf_tree *cur = conf_parse_text(base, "running", err, sizeof(err));
	char *text = replace(base, "read_only 0", "read_only 1");
	char *t2 = replace(text, "\t\tLUN 0 disk1\n\t\tGROUP", "\t\tLUN 5 disk1\n\t\tGROUP");
	struct conf_tree *want = conf_parse_text(t2, "new.conf", err, sizeof(err));
	assert_non_null(cur);
	assert_non_null(want);
	struct conf_diff d;
	assert_int_equal(conf_diff(cur, want, &policy, &d, err, sizeof(err)), 0);
	const char *expected_undo[] = {
	    "add lun 0 disk1 to target T",
	    "set device disk1 read_only 0",
	    "remove lun 5 (disk1) from target T",
	};
	assert_int_equal(d.count, 3);
	for (size_t i = 0; i < d.count; i++) {
		struct conf_change u = conf_change_undo(&d.changes[i]);
		char line[256];
		conf_change_describe(&u, line, sizeof(line));
		assert_string_equal(line, expected_undo[i]);
	}
	conf_diff_free(&d);
	conf_tree_free(cur);
	conf_tree_free(want);
	free(text);
	free(t2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(same_config_no_change),
	    cmocka_unit_test(default_equals_absent),
	    cmocka_unit_test(add_device_and_luns),
	    cmocka_unit_test(remove_everything),
	    cmocka_unit_test(build_from_empty),
	    cmocka_unit_test(runtime_attribute_set),
	    cmocka_unit_test(fixed_attribute_refused),
	    cmocka_unit_test(handler_change_refused),
	    cmocka_unit_test(driver_attribute_refused),
	    cmocka_unit_test(lun_remapped),
	    cmocka_unit_test(portals_and_chap),
	    cmocka_unit_test(target_attribute_refused),
	    cmocka_unit_test(omitted_target_and_driver_attrs_kept),
	    cmocka_unit_test(enabled_by_default),
	    cmocka_unit_test(size_mb_is_size),
	    cmocka_unit_test(undo_restores),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
