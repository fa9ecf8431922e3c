/* Unit tests for portal_group (iscsi/portal_group.c): the attribute's
 * check, and which portal group (tag, relative port id) a connection's
 * target-side address logs in through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <uscst/transport_reg.h>

#include "core/core.h"
#include "iscsi/params.h"
#include "iscsi/portal_group.h"
#include "lib/log.h"

static int fake_start(const struct uscst_transport *t, char *err, size_t errlen) { return 0; }
static void fake_stop(const struct uscst_transport *t) {}
/* iSCSI's real target table, without its portals. */
static const struct uscst_transport pg_table = {
    .name = "pg-test",
    .target_attrs = iscsi_target_attrs,
    .start = fake_start,
    .stop = fake_stop,
    .attr_rel_port_id = portal_group_rel_port_id,
};

static bool valid(const char *value)
{
	char err[256] = "";
	return portal_group_check(NULL, value, err, sizeof(err));
}

static void test_check(void **state)
{
	assert_true(valid("2 7 127.0.0.2"));
	assert_true(valid("65535 65535 10.0.0.* !10.0.0.9 fe80::*"));
	assert_false(valid(""));
	assert_false(valid("2"));
	assert_false(valid("2 7"));	      /* no pattern */
	assert_false(valid("1 7 127.0.0.2")); /* tag 1 is the target's own group */
	assert_false(valid("0 7 127.0.0.2"));
	assert_false(valid("65536 7 127.0.0.2"));
	assert_false(valid("2 0 127.0.0.2")); /* relative port ids start at 1 */
	assert_false(valid("2 x 127.0.0.2"));
	assert_false(valid("-2 7 127.0.0.2"));
	assert_false(valid("2 7 a b c d e f g h i")); /* nine patterns */
}

static void test_group_of(void **state)
{
	char err[256] = "";
	struct uscst_target *t = uscst_target_create("pg-test", "iqn.pg", err, sizeof(err));
	assert_non_null(t);
	assert_true(uscst_target_set_attr(t, "rel_tgt_id", "3", err, sizeof(err)));
	uint16_t tag, rel;
	/* No portal_group: every portal is group 1, the target's own port. */
	iscsi_portal_group_of(t, "127.0.0.2:3260", &tag, &rel);
	assert_int_equal(tag, 1);
	assert_int_equal(rel, 3);
	assert_true(uscst_target_set_attr(t, "portal_group", "2 7 127.0.0.2", err, sizeof(err)));
	assert_true(uscst_target_set_attr(t, "portal_group", "3 8 10.1.* !10.1.0.9 fe80::1", err,
					  sizeof(err)));
	assert_false(uscst_target_set_attr(t, "portal_group", "1 9 1.2.3.4", err, sizeof(err)));
	iscsi_portal_group_of(t, "127.0.0.2:3260", &tag, &rel);
	assert_int_equal(tag, 2);
	assert_int_equal(rel, 7);
	iscsi_portal_group_of(t, "10.1.2.3:3261", &tag, &rel);
	assert_int_equal(tag, 3);
	assert_int_equal(rel, 8);
	iscsi_portal_group_of(t, "[fe80::1]:3260", &tag, &rel);
	assert_int_equal(tag, 3);
	/* A negative pattern, another address, garbage: group 1. */
	iscsi_portal_group_of(t, "10.1.0.9:3260", &tag, &rel);
	assert_int_equal(tag, 1);
	assert_int_equal(rel, 3);
	iscsi_portal_group_of(t, "127.0.0.1:3260", &tag, &rel);
	assert_int_equal(tag, 1);
	iscsi_portal_group_of(t, "nonsense", &tag, &rel);
	assert_int_equal(tag, 1);
}

static void expect_refused(struct uscst_target *t, const char *name, const char *value,
			   const char *want)
{
	char err[256] = "";
	assert_false(uscst_target_set_attr(t, name, value, err, sizeof(err)));
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);
}

/* No two target ports of the daemon with one relative port id: a
 * portal_group's REL_TGT_ID against every target's rel_tgt_id and every
 * other portal_group, a rel_tgt_id against the portal groups; an id given
 * at creation moves out of a configured one's way, and a new target's
 * skips the ids in use. */
static void test_unique_ids(void **state)
{
	char err[256] = "";
	struct uscst_target *a = uscst_target_create("pg-test", "iqn.uq-a", err, sizeof(err));
	struct uscst_target *b = uscst_target_create("pg-test", "iqn.uq-b", err, sizeof(err));
	assert_non_null(a);
	assert_non_null(b);
	assert_true(uscst_target_set_attr(a, "rel_tgt_id", "100", err, sizeof(err)));
	assert_true(uscst_target_set_attr(a, "portal_group", "2 101 127.0.0.2", err, sizeof(err)));
	expect_refused(a, "portal_group", "3 101 127.0.0.3",
		       "relative target port id 101 is already that of portal_group \"2 101 "
		       "127.0.0.2\" of target 'iqn.uq-a'");
	expect_refused(b, "portal_group", "2 101 127.0.0.2",
		       "relative target port id 101 is already that of portal_group");
	expect_refused(b, "portal_group", "2 100 127.0.0.2",
		       "relative target port id 100 is already target 'iqn.uq-a''s rel_tgt_id");
	expect_refused(a, "portal_group", "3 100 127.0.0.3", "is already target 'iqn.uq-a''s");
	expect_refused(
	    b, "rel_tgt_id", "101",
	    "rel_tgt_id 101: relative target port id 101 is already that of portal_group");
	expect_refused(b, "rel_tgt_id", "100", "already target 'iqn.uq-a''s rel_tgt_id");
	/* b's id was given at creation: a portal group that wants it takes
	 * it, and b moves to a free one. */
	uint16_t b_auto = b->rel_tgt_id;
	char value[64];
	snprintf(value, sizeof(value), "4 %u 127.0.0.4", b_auto);
	assert_true(uscst_target_set_attr(a, "portal_group", value, err, sizeof(err)));
	assert_int_not_equal(b->rel_tgt_id, b_auto);
	uint16_t ids[8];
	assert_int_equal(uscst_target_port_ids(a, ids, 8), 3);
	assert_int_equal(ids[0], 100);
	assert_int_equal(ids[1], 101);
	assert_int_equal(ids[2], b_auto);
	/* A new target: not an id in use. */
	struct uscst_target *c = uscst_target_create("pg-test", "iqn.uq-c", err, sizeof(err));
	assert_non_null(c);
	assert_int_not_equal(c->rel_tgt_id, b->rel_tgt_id);
	assert_int_not_equal(c->rel_tgt_id, b_auto);
	assert_true(c->rel_tgt_id != 100 && c->rel_tgt_id != 101);
	/* Its own rel_tgt_id again: fine. */
	snprintf(value, sizeof(value), "%u", c->rel_tgt_id);
	assert_true(uscst_target_set_attr(c, "rel_tgt_id", value, err, sizeof(err)));
}

int main(void)
{
	log_max_level = LOG_ERR;
	if (uscst_transport_register(&pg_table, USCST_TRANSPORT_ABI) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_group_of),
	    cmocka_unit_test(test_unique_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
