/*
 * Unit tests for initiator groups in scst.conf (config/conf_apply.c,
 * conf_writer.c): GROUP { LUN ...; INITIATOR ... } inside TARGET, every
 * error with FILE:LINE, and the running configuration written back with
 * the same groups in the same order.
 *
 * Devices and targets cannot be deleted from the core: every test uses its
 * own names (the prefix argument of conf()).
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
#include "config/conf_apply.h"
#include "config/conf_writer.h"
#include "core/core.h"
#include "lib/log.h"
#include "scsi/scsi.h"

static int stub_start(const struct uscst_transport *t, char *err, size_t errlen) { return 0; }
static void stub_stop(const struct uscst_transport *t) {}
static const struct uscst_transport stub_transport = {
    .name = "grp-test",
    .start = stub_start,
    .stop = stub_stop,
};

/* Two nullio devices P-d0 and P-d1 (lines 1-8), then "TARGET_DRIVER
 * grp-test {" (line 9) and "TARGET iqn.P {" (line 10); body starts at
 * line 11 and the two closing braces are added. */
static char *conf(const char *p, const char *body)
{
	char *text = NULL;
	assert_true(asprintf(&text,
			     "HANDLER vdisk_nullio {\n"
			     "\tDEVICE %s-d0 {\n"
			     "\t\tsize_mb 1\n"
			     "\t}\n"
			     "\tDEVICE %s-d1 {\n"
			     "\t\tsize_mb 1\n"
			     "\t}\n"
			     "}\n"
			     "TARGET_DRIVER grp-test {\n"
			     "\tTARGET iqn.%s {\n"
			     "%s"
			     "\t}\n"
			     "}\n",
			     p, p, p, body) > 0);
	return text;
}

static void expect_refused(const char *p, const char *body, int line, const char *want)
{
	char *text = conf(p, body);
	struct conf_result res;
	char err[1024] = "";
	int rc = conf_load_text(text, "g.conf", &res, err, sizeof(err));
	conf_result_free(&res);
	if (rc == 0)
		fail_msg("configuration accepted:\n%s", text);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "g.conf:%d: ", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("message '%s' does not start with '%s'", err, prefix);
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);
	free(text);
}

static struct uscst_target *expect_loaded(const char *p, const char *body)
{
	char *text = conf(p, body);
	struct conf_result res;
	char err[1024] = "";
	int rc = conf_load_text(text, "g.conf", &res, err, sizeof(err));
	conf_result_free(&res);
	if (rc != 0)
		fail_msg("refused: %s\nconfiguration:\n%s", err, text);
	free(text);
	char name[64];
	snprintf(name, sizeof(name), "iqn.%s", p);
	struct uscst_target *tgt = uscst_target_find(name);
	assert_non_null(tgt);
	return tgt;
}

static void test_groups_loaded(void **state)
{
	struct uscst_target *tgt =
	    expect_loaded("gl", "\t\tLUN 0 gl-d0\n"
				"\t\tGROUP db {\n"
				"\t\t\tLUN 0 gl-d1\n"
				"\t\t\tLUN 5 gl-d0 {\n"
				"\t\t\t\tread_only 1\n"
				"\t\t\t}\n"
				"\t\t\tLUN 16383 gl-d1\n"
				"\t\t\tINITIATOR iqn.1993-08.org.debian:01:db*\n"
				"\t\t\tINITIATOR iqn.2026-01.com.example:host7\n"
				"\t\t}\n"
				"\t\tGROUP empty {\n"
				"\t\t}\n");
	assert_int_equal(tgt->luns->count, 1);
	const struct uscst_group *g = uscst_target_group(tgt, "db");
	assert_non_null(g);
	assert_int_equal(g->luns->count, 3);
	assert_int_equal(g->luns->luns[1].lun, 5);
	assert_true(g->luns->luns[1].read_only);
	assert_string_equal(g->luns->luns[1].dev->name, "gl-d0");
	assert_false(g->luns->luns[0].read_only);
	assert_int_equal(g->luns->luns[2].lun, 16383);
	assert_int_equal(g->ninitiators, 2);
	assert_ptr_equal(uscst_target_group_for(tgt, "iqn.1993-08.org.debian:01:db42"), g);
	assert_ptr_equal(uscst_target_lun_map(tgt, "iqn.other"), tgt->luns);
	assert_non_null(uscst_target_group(tgt, "empty"));
}

/* The running configuration has the groups, in order, with their LUNs,
 * rights and patterns: a reload gives the same state. */
static void test_groups_written_back(void **state)
{
	static const char body[] = "\t\tGROUP zz_first {\n"
				   "\t\t\tLUN 3 gw-d1 {\n"
				   "\t\t\t\tread_only 1\n"
				   "\t\t\t}\n"
				   "\t\t\tLUN 300 gw-d0\n"
				   "\t\t\tINITIATOR !iqn.keep*\n"
				   "\t\t\tINITIATOR host?\n"
				   "\t\t}\n"
				   "\t\tGROUP aa_second {\n"
				   "\t\t\tLUN 0 gw-d0\n"
				   "\t\t\tINITIATOR iqn.keep:1\n"
				   "\t\t}\n";
	expect_loaded("gw", body);
	char *text = conf_running_text();
	assert_non_null(text);
	char err[512];
	struct conf_tree *run = conf_parse_text(text, "running", err, sizeof(err));
	assert_non_null(run);
	char *orig_text = conf("gw", body);
	struct conf_tree *orig = conf_parse_text(orig_text, "orig", err, sizeof(err));
	assert_non_null(orig);
	const struct conf_node *rt = conf_node_child(
	    conf_node_child(&run->root, "TARGET_DRIVER", "grp-test"), "TARGET", "iqn.gw");
	const struct conf_node *ot = conf_node_child(
	    conf_node_child(&orig->root, "TARGET_DRIVER", "grp-test"), "TARGET", "iqn.gw");
	assert_non_null(rt);
	assert_non_null(ot);
	/* Same children in the same order, recursively (attributes of the
	 * target itself, such as enabled, may be added by the writer). */
	assert_int_equal(rt->nchildren, ot->nchildren);
	for (size_t i = 0; i < ot->nchildren; i++) {
		const struct conf_node *a = ot->children[i], *b = rt->children[i];
		assert_string_equal(a->keyword, b->keyword);
		assert_string_equal(a->args[0], b->args[0]);
		assert_int_equal(a->nchildren, b->nchildren);
		for (size_t j = 0; j < a->nchildren; j++) {
			const struct conf_node *x = a->children[j], *y = b->children[j];
			assert_string_equal(x->keyword, y->keyword);
			assert_int_equal(x->nargs, y->nargs);
			for (size_t k = 0; k < x->nargs; k++)
				assert_string_equal(x->args[k], y->args[k]);
			const char *ro_x = conf_node_attr(x, "read_only");
			const char *ro_y = conf_node_attr(y, "read_only");
			assert_string_equal(ro_x ? ro_x : "0", ro_y ? ro_y : "0");
		}
	}
	conf_tree_free(run);
	conf_tree_free(orig);
	free(orig_text);
	free(text);
}

static void test_error_unknown_device(void **state)
{
	expect_refused("e1", "\t\tGROUP g {\n\t\t\tLUN 0 nosuch\n\t\t}\n", 12,
		       "unknown device 'nosuch'");
}

static void test_error_duplicate_lun_in_group(void **state)
{
	expect_refused("e2", "\t\tGROUP g {\n\t\t\tLUN 1 e2-d0\n\t\t\tLUN 1 e2-d1\n\t\t}\n", 13,
		       "LUN 1 is already defined at line 12");
}

/* The same LUN number in the default map and in a group is two maps: fine. */
static void test_same_lun_in_two_maps(void **state)
{
	struct uscst_target *tgt = expect_loaded(
	    "e3", "\t\tLUN 1 e3-d0\n\t\tGROUP g {\n\t\t\tLUN 1 e3-d0\n\t\t\tINITIATOR x\n\t\t}\n"
		  "\t\tGROUP h {\n\t\t\tLUN 1 e3-d0 {\n\t\t\t\tread_only 1\n\t\t\t}\n"
		  "\t\t\tINITIATOR y\n\t\t}\n");
	assert_false(uscst_target_group(tgt, "g")->luns->luns[0].read_only);
	assert_true(uscst_target_group(tgt, "h")->luns->luns[0].read_only);
}

static void test_error_lun_too_big(void **state)
{
	expect_refused("e4", "\t\tGROUP g {\n\t\t\tLUN 16384 e4-d0\n\t\t}\n", 12,
		       "bad LUN number '16384' (expected 0 to 16383)");
	expect_refused("e5", "\t\tLUN 99999 e5-d0\n", 11, "bad LUN number");
	expect_refused("e6", "\t\tGROUP g {\n\t\t\tLUN -1 e6-d0\n\t\t}\n", 12, "bad LUN number");
}

static void test_error_duplicate_group(void **state)
{
	expect_refused("e7", "\t\tGROUP g {\n\t\t}\n\t\tGROUP g {\n\t\t}\n", 13,
		       "group 'g' is already defined at line 11");
}

static void test_error_bad_pattern(void **state)
{
	expect_refused("e8", "\t\tGROUP g {\n\t\t\tINITIATOR iqn.a!b\n\t\t}\n", 12,
		       "'!' (negation) is allowed only as its first character");
	expect_refused("e9", "\t\tGROUP g {\n\t\t\tINITIATOR !\n\t\t}\n", 12,
		       "bad initiator pattern '!'");
	expect_refused("e10", "\t\tGROUP g {\n\t\t\tINITIATOR \"a b\"\n\t\t}\n", 12,
		       "blanks and control characters");
}

static void test_error_duplicate_initiator(void **state)
{
	expect_refused("e11",
		       "\t\tGROUP g {\n\t\t\tINITIATOR iqn.x\n\t\t\tINITIATOR IQN.X\n\t\t}\n", 13,
		       "initiator 'IQN.X' is already in group 'g' at line 12");
}

static void test_error_lun_attribute(void **state)
{
	expect_refused(
	    "e12", "\t\tGROUP g {\n\t\t\tLUN 0 e12-d0 {\n\t\t\t\tread_write 1\n\t\t\t}\n\t\t}\n",
	    13, "unknown attribute 'read_write' for LUN 0");
	expect_refused(
	    "e13", "\t\tGROUP g {\n\t\t\tLUN 0 e13-d0 {\n\t\t\t\tread_only yes\n\t\t\t}\n\t\t}\n",
	    13, "read_only must be 0 or 1");
}

static void test_error_group_attributes(void **state)
{
	expect_refused("e14", "\t\tGROUP g {\n\t\t\taddr_method FLAT\n\t\t}\n", 12,
		       "group attribute 'addr_method' is not supported yet");
	expect_refused("e15", "\t\tGROUP g {\n\t\t\tcolour blue\n\t\t}\n", 12,
		       "unknown attribute 'colour' for group 'g'");
}

static void test_error_group_name(void **state)
{
	char body[256];
	char name[80];
	memset(name, 'n', 64);
	name[64] = 0;
	snprintf(body, sizeof(body), "\t\tGROUP %s {\n\t\t}\n", name);
	expect_refused("e16", body, 11, "group name must be 1 to 63 characters");
}

/* The parser's placement rules still hold: INITIATOR only in a GROUP. */
static void test_error_initiator_outside_group(void **state)
{
	expect_refused("e17", "\t\tINITIATOR iqn.x\n", 11,
		       "'INITIATOR' is not allowed inside TARGET");
}

/* Nothing is created when validation fails: a later error keeps the
 * devices of the file from being made. */
static void test_error_creates_nothing(void **state)
{
	expect_refused("e18", "\t\tGROUP g {\n\t\t\tLUN 0 e18-d0\n\t\t\tINITIATOR a!\n\t\t}\n", 13,
		       "bad initiator pattern");
	assert_null(uscst_device_find("e18-d0"));
	assert_null(uscst_target_find("iqn.e18"));
}

int main(void)
{
	if (!scsi_register_cmdsets())
		return 1;
	log_max_level = LOG_ERR;
	if (uscst_transport_register(&stub_transport, USCST_TRANSPORT_ABI) != 0)
		return 1;
	if (uscst_backends_register_builtin() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_groups_loaded),
	    cmocka_unit_test(test_groups_written_back),
	    cmocka_unit_test(test_error_unknown_device),
	    cmocka_unit_test(test_error_duplicate_lun_in_group),
	    cmocka_unit_test(test_same_lun_in_two_maps),
	    cmocka_unit_test(test_error_lun_too_big),
	    cmocka_unit_test(test_error_duplicate_group),
	    cmocka_unit_test(test_error_bad_pattern),
	    cmocka_unit_test(test_error_duplicate_initiator),
	    cmocka_unit_test(test_error_lun_attribute),
	    cmocka_unit_test(test_error_group_attributes),
	    cmocka_unit_test(test_error_group_name),
	    cmocka_unit_test(test_error_initiator_outside_group),
	    cmocka_unit_test(test_error_creates_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
