/*
 * Unit tests for initiator groups (core/acl.c): the wildcard matcher, the
 * overlap check the loader warns with, which group an initiator gets, and
 * the LUN map behind it (core/lun_map.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <uscst/transport_reg.h>

#include "backend/builtin.h"
#include "core/core.h"
#include "lib/log.h"
#include "scsi/scsi.h"

static int stub_start(const struct uscst_transport *t, char *err, size_t errlen) { return 0; }
static void stub_stop(const struct uscst_transport *t) {}
static const struct uscst_transport stub_transport = {
    .name = "acl-test",
    .start = stub_start,
    .stop = stub_stop,
};

static void test_glob_wildcards(void **state)
{
	assert_true(acl_pattern_match("iqn.a:host1", "iqn.a:host1"));
	assert_false(acl_pattern_match("iqn.a:host1", "iqn.a:host12"));
	assert_false(acl_pattern_match("iqn.a:host12", "iqn.a:host1"));
	assert_true(acl_pattern_match("iqn.a:*", "iqn.a:"));
	assert_true(acl_pattern_match("iqn.a:*", "iqn.a:anything"));
	assert_false(acl_pattern_match("iqn.a:*", "iqn.b:x"));
	assert_true(acl_pattern_match("*", ""));
	assert_true(acl_pattern_match("*", "x"));
	assert_true(acl_pattern_match("*:db*", "iqn.1993-08.org.debian:01:db7"));
	assert_true(acl_pattern_match("a*b*c", "a-b-b-c"));
	assert_false(acl_pattern_match("a*b*c", "a-b-b-c-d"));
	/* A star must backtrack past a false start. */
	assert_true(acl_pattern_match("*aab", "aaab"));
	assert_true(acl_pattern_match("host?", "host7"));
	assert_false(acl_pattern_match("host?", "host"));
	assert_false(acl_pattern_match("host?", "host77"));
	assert_true(acl_pattern_match("h??t*", "host7"));
	assert_true(acl_pattern_match("**", "abc"));
}

static void test_glob_case_insensitive(void **state)
{
	assert_true(
	    acl_pattern_match("IQN.2026-01.COM.Example:Host7", "iqn.2026-01.com.example:host7"));
	assert_true(acl_pattern_match("iqn.*:HOST?", "IQN.x:host9"));
}

static void test_negation(void **state)
{
	assert_false(acl_pattern_match("!iqn.a", "iqn.a"));
	assert_false(acl_pattern_match("!iqn.a", "IQN.A"));
	assert_true(acl_pattern_match("!iqn.a", "iqn.b"));
	assert_true(acl_pattern_match("!iqn.a*", "iqn.b:x"));
	assert_false(acl_pattern_match("!iqn.a*", "iqn.a:x"));
	assert_true(acl_pattern_match("!host?", "host"));
}

static void test_pattern_validity(void **state)
{
	char err[256];
	assert_true(acl_pattern_valid("iqn.a", err, sizeof(err)));
	assert_true(acl_pattern_valid("!iqn.a*", err, sizeof(err)));
	assert_true(acl_pattern_valid("*", err, sizeof(err)));
	assert_false(acl_pattern_valid("", err, sizeof(err)));
	assert_false(acl_pattern_valid("!", err, sizeof(err)));
	assert_false(acl_pattern_valid("iqn.a!b", err, sizeof(err)));
	assert_non_null(strstr(err, "first character"));
	assert_false(acl_pattern_valid("!!iqn", err, sizeof(err)));
	assert_false(acl_pattern_valid("iqn\ta", err, sizeof(err)));
	char longname[USCST_NAME_MAX + 1];
	memset(longname, 'a', USCST_NAME_MAX);
	longname[USCST_NAME_MAX] = 0;
	assert_false(acl_pattern_valid(longname, err, sizeof(err)));
	longname[USCST_NAME_MAX - 1] = 0;
	assert_true(acl_pattern_valid(longname, err, sizeof(err)));
}

static void test_overlap(void **state)
{
	assert_true(acl_patterns_overlap("iqn.a*", "*:db"));
	assert_true(acl_patterns_overlap("iqn.a*", "iqn.ab*"));
	assert_false(acl_patterns_overlap("iqn.a*", "iqn.b*"));
	assert_true(acl_patterns_overlap("host?", "h*7"));
	assert_false(acl_patterns_overlap("host?", "host??"));
	assert_false(acl_patterns_overlap("*x", "*y"));
	assert_true(acl_patterns_overlap("a*", "*b"));
	assert_true(acl_patterns_overlap("A*", "a?"));
	/* A name against a pattern: exact. */
	assert_true(acl_patterns_overlap("iqn.host7", "iqn.*"));
	assert_false(acl_patterns_overlap("!iqn.host7", "iqn.host7"));
	assert_true(acl_patterns_overlap("!iqn.a*", "iqn.b"));
	/* Negation against a wildcard: assumed. */
	assert_true(acl_patterns_overlap("!iqn.a*", "iqn.b*"));
}

/* --- groups on a target --- */

static unsigned seq;

struct setup {
	struct uscst_target *tgt;
	struct uscst_device *d0, *d1;
};

static struct uscst_device *nullio(const char *prefix)
{
	char name[64], err[256];
	snprintf(name, sizeof(name), "%s-%u", prefix, seq++);
	struct uscst_device *dev = uscst_device_create("vdisk_nullio", name, err, sizeof(err));
	assert_non_null(dev);
	assert_true(uscst_device_set_attr(dev, "size_mb", "1", err, sizeof(err)));
	assert_int_equal(uscst_device_open(dev, err, sizeof(err)), 0);
	return dev;
}

static void make_target(struct setup *s)
{
	char name[64], err[256];
	snprintf(name, sizeof(name), "iqn.2026-12.test:acl%u", seq++);
	s->tgt = uscst_target_create("acl-test", name, err, sizeof(err));
	assert_non_null(s->tgt);
	s->d0 = nullio("acl-d0");
	s->d1 = nullio("acl-d1");
}

static struct uscst_group *group(struct setup *s, const char *name, uint64_t lun,
				 const char *const *patterns)
{
	char err[256];
	struct uscst_group *g = uscst_target_add_group(s->tgt, name, err, sizeof(err));
	assert_non_null(g);
	assert_true(uscst_group_add_lun(g, lun, s->d1, false, err, sizeof(err)));
	for (; *patterns; patterns++)
		assert_true(uscst_group_add_initiator(g, *patterns, err, sizeof(err)));
	return g;
}

static const char *group_of(struct setup *s, const char *initiator)
{
	const struct uscst_group *g = uscst_target_group_for(s->tgt, initiator);
	return g ? g->name : "(default)";
}

static void test_group_choice(void **state)
{
	struct setup s;
	char err[256];
	make_target(&s);
	assert_true(uscst_target_add_lun(s.tgt, 0, s.d0, false, err, sizeof(err)));
	group(&s, "wide", 1, (const char *const[]){"iqn.a*", NULL});
	group(&s, "narrow", 2, (const char *const[]){"iqn.ab*", "iqn.abc:exact", NULL});
	group(&s, "others", 3, (const char *const[]){"!iqn.*", NULL});

	/* First wildcard group in configuration order wins. */
	assert_string_equal(group_of(&s, "iqn.abd:x"), "wide");
	/* An exact name wins over an earlier wildcard, in any case. */
	assert_string_equal(group_of(&s, "iqn.abc:exact"), "narrow");
	assert_string_equal(group_of(&s, "IQN.ABC:EXACT"), "narrow");
	/* Negation: everything not iqn.* lands in "others". */
	assert_string_equal(group_of(&s, "eui.0123456789abcdef"), "others");
	/* No group: the default map. */
	assert_string_equal(group_of(&s, "iqn.b:x"), "(default)");

	assert_int_equal(uscst_target_lun_map(s.tgt, "iqn.b:x"), s.tgt->luns);
	const struct uscst_lun_map *m = uscst_target_lun_map(s.tgt, "iqn.abc:exact");
	assert_int_equal(m->count, 1);
	assert_int_equal(m->luns[0].lun, 2);
	assert_true(uscst_target_allows(s.tgt, "iqn.b:x"));

	/* wide/narrow overlap (iqn.ab* names match both); "others" is taken
	 * to overlap both: a negation against a wildcard is assumed to. */
	assert_int_equal(uscst_target_warn_overlaps(s.tgt), 3);
}

static void test_empty_default_map_denies(void **state)
{
	struct setup s;
	char err[256];
	make_target(&s);
	group(&s, "db", 0, (const char *const[]){"iqn.db*", NULL});
	struct uscst_group *empty = uscst_target_add_group(s.tgt, "denied", err, sizeof(err));
	assert_non_null(empty);
	assert_true(uscst_group_add_initiator(empty, "iqn.bad", err, sizeof(err)));

	assert_true(uscst_target_allows(s.tgt, "iqn.db1"));
	assert_false(uscst_target_allows(s.tgt, "iqn.other"));
	/* A LUN-less group denies too, even with a default map. */
	assert_true(uscst_target_add_lun(s.tgt, 0, s.d0, false, err, sizeof(err)));
	assert_true(uscst_target_allows(s.tgt, "iqn.other"));
	assert_false(uscst_target_allows(s.tgt, "iqn.bad"));
	/* A disabled target allows nobody. */
	s.tgt->enabled = false;
	assert_false(uscst_target_allows(s.tgt, "iqn.db1"));
	assert_int_equal(uscst_target_warn_overlaps(s.tgt), 0);
}

static void test_group_errors(void **state)
{
	struct setup s;
	char err[256];
	make_target(&s);
	struct uscst_group *g = uscst_target_add_group(s.tgt, "g", err, sizeof(err));
	assert_non_null(g);
	assert_null(uscst_target_add_group(s.tgt, "g", err, sizeof(err)));
	assert_non_null(strstr(err, "already defined"));
	assert_null(uscst_target_add_group(s.tgt, "", err, sizeof(err)));
	assert_true(uscst_group_add_initiator(g, "iqn.x", err, sizeof(err)));
	assert_false(uscst_group_add_initiator(g, "IQN.X", err, sizeof(err)));
	assert_non_null(strstr(err, "already in group"));
	assert_false(uscst_group_add_initiator(g, "a!b", err, sizeof(err)));
	assert_true(uscst_group_add_lun(g, 0, s.d0, false, err, sizeof(err)));
	assert_false(uscst_group_add_lun(g, 0, s.d1, false, err, sizeof(err)));
	assert_non_null(strstr(err, "already defined"));
	assert_false(uscst_group_add_lun(g, 16384, s.d1, false, err, sizeof(err)));
	assert_true(uscst_group_add_lun(g, 16383, s.d1, true, err, sizeof(err)));
}

/* 16384 LUNs in any order: sorted, every one found, nothing else. */
static void test_lun_map_large(void **state)
{
	char err[256];
	struct uscst_device *d = nullio("acl-big");
	struct uscst_lun_map *map = lun_map_new();
	assert_non_null(map);
	for (uint64_t i = 0; i <= USCST_LUN_MAX; i++) {
		uint64_t lun = (i * 7919) % (USCST_LUN_MAX + 1); /* a permutation */
		assert_true(lun_map_add(map, lun, d, lun % 2, err, sizeof(err)));
	}
	assert_int_equal(map->count, USCST_LUN_MAX + 1);
	for (unsigned i = 0; i < map->count; i++)
		assert_int_equal(map->luns[i].lun, i);
	for (uint64_t lun = 0; lun <= USCST_LUN_MAX; lun++) {
		struct uscst_lun *l = lun_map_find(map, lun);
		assert_non_null(l);
		assert_int_equal(l->lun, lun);
		assert_int_equal(l->read_only, lun % 2);
	}
	assert_null(lun_map_find(map, USCST_LUN_MAX + 1));
	assert_int_equal(atomic_load(&d->refs), 1 + USCST_LUN_MAX + 1);
	lun_map_free(map);
	assert_int_equal(atomic_load(&d->refs), 1);
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
	    cmocka_unit_test(test_glob_wildcards),
	    cmocka_unit_test(test_glob_case_insensitive),
	    cmocka_unit_test(test_negation),
	    cmocka_unit_test(test_pattern_validity),
	    cmocka_unit_test(test_overlap),
	    cmocka_unit_test(test_group_choice),
	    cmocka_unit_test(test_empty_default_map_denies),
	    cmocka_unit_test(test_group_errors),
	    cmocka_unit_test(test_lun_map_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
