/*
 * Unit tests for ALUA: DEVICE_GROUP / TARGET_GROUP in scst.conf (parse,
 * apply, errors with FILE:LINE, written back, compared by conf_diff), the
 * core's model (core/alua.c: states, 2Ah/06h on the nexuses of the device
 * group), and the SCSI side (scsi/spc_alua.c): REPORT TARGET PORT GROUPS in
 * both formats, SET TARGET PORT GROUPS and its bad CDBs and parameter
 * lists, INQUIRY TPGS and the VPD 83h designator, and the state rules of
 * dispatch.
 *
 * Devices and targets cannot be deleted from the core: every test uses its
 * own names (the prefix argument of conf()).
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

#include "backend/builtin.h"
#include "config/conf_alua.h"
#include "config/conf_apply.h"
#include "config/conf_diff.h"
#include "config/conf_exec.h"
#include "config/conf_writer.h"
#include "core/alua.h"
#include "core/core.h"
#include "fixtures/fixture_scsi.h"
#include "lib/log.h"
#include "scsi/scsi.h"
#include "scsi/smc.h"
#include "scsi/spc_alua.h"
#include "scsi/ssc.h"

static int stub_start(const struct uscst_transport *t, char *err, size_t errlen) { return 0; }
static void stub_stop(const struct uscst_transport *t) {}
static const struct uscst_transport stub_transport = {
    .name = "alua-test",
    .start = stub_start,
    .stop = stub_stop,
};

/* Device P-d (line 2, expl_alua EXPL), targets iqn.P-a (rel 1) and
 * iqn.P-b (rel 2) with LUN 0 P-d (lines 7-16), then DEVICE_GROUP text
 * from line 17 on (dg). */
static char *conf(const char *p, int expl, const char *dg)
{
	char *text = NULL;
	assert_true(asprintf(&text,
			     "HANDLER vdisk_nullio {\n"
			     "\tDEVICE %s-d {\n"
			     "\t\tsize_mb 1\n"
			     "\t\texpl_alua %d\n"
			     "\t}\n"
			     "}\n"
			     "TARGET_DRIVER alua-test {\n"
			     "\tTARGET iqn.%s-a {\n"
			     "\t\tLUN 0 %s-d\n"
			     "\t}\n"
			     "\tTARGET iqn.%s-b {\n"
			     "\t\tLUN 0 %s-d\n"
			     "\t}\n"
			     "\tTARGET iqn.%s-c {\n"
			     "\t}\n"
			     "}\n"
			     "%s",
			     p, expl, p, p, p, p, p, dg) > 0);
	return text;
}

/* A device group of P-d: group 1 (P-a) STATE_A preferred, group 2 (P-b)
 * STATE_B, group 3 a peer's target with rel_tgt_id 9 in standby. */
static char *dg_text(const char *p, const char *state_a, const char *state_b)
{
	char *text = NULL;
	assert_true(asprintf(&text,
			     "DEVICE_GROUP %s-dg {\n"	    /* 17 */
			     "\tDEVICE %s-d\n"		    /* 18 */
			     "\tTARGET_GROUP ta {\n"	    /* 19 */
			     "\t\tgroup_id 1\n"		    /* 20 */
			     "\t\tpreferred 1\n"	    /* 21 */
			     "\t\tstate %s\n"		    /* 22 */
			     "\t\tTARGET iqn.%s-a\n"	    /* 23 */
			     "\t}\n"			    /* 24 */
			     "\tTARGET_GROUP tb {\n"	    /* 25 */
			     "\t\tgroup_id 2\n"		    /* 26 */
			     "\t\tstate %s\n"		    /* 27 */
			     "\t\tTARGET iqn.%s-b\n"	    /* 28 */
			     "\t}\n"			    /* 29 */
			     "\tTARGET_GROUP peer {\n"	    /* 30 */
			     "\t\tgroup_id 3\n"		    /* 31 */
			     "\t\tstate standby\n"	    /* 32 */
			     "\t\tTARGET iqn.elsewhere {\n" /* 33 */
			     "\t\t\trel_tgt_id 9\n"	    /* 34 */
			     "\t\t}\n"			    /* 35 */
			     "\t}\n"			    /* 36 */
			     "}\n",
			     p, p, state_a, p, state_b, p) > 0);
	return text;
}

static void load(const char *p, int expl, const char *state_a, const char *state_b)
{
	char *dg = dg_text(p, state_a, state_b);
	char *text = conf(p, expl, dg);
	struct conf_result res;
	char err[1024] = "";
	if (conf_load_text(text, "a.conf", &res, err, sizeof(err)) != 0)
		fail_msg("load failed: %s\n%s", err, text);
	conf_result_free(&res);
	free(text);
	free(dg);
}

static void expect_refused(const char *p, const char *dg, int line, const char *want)
{
	char *text = conf(p, 0, dg);
	char err[1024] = "";
	int rc = conf_check_text(text, "a.conf", err, sizeof(err));
	if (rc == 0)
		fail_msg("configuration accepted:\n%s", text);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "a.conf:%d: ", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("message '%s' does not start with '%s'", err, prefix);
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);
	free(text);
}

/* ======================= configuration ======================= */

static void test_loaded(void **state)
{
	load("ld", 0, "active", "nonoptimized");
	const struct uscst_alua_model *m = uscst_alua_current();
	assert_non_null(m);
	const struct uscst_device *dev = uscst_device_find("ld-d");
	const struct uscst_alua_dg *dg = uscst_alua_dg_of(m, dev);
	assert_non_null(dg);
	assert_string_equal(dg->name, "ld-dg");
	assert_int_equal(dg->ntgs, 3);
	assert_int_equal(dg->tgs[0].group_id, 1);
	assert_int_equal(atomic_load(&dg->tgs[0].state), USCST_ALUA_ACTIVE_OPTIMIZED);
	assert_true(atomic_load(&dg->tgs[0].preferred));
	assert_int_equal(atomic_load(&dg->tgs[1].state), USCST_ALUA_ACTIVE_NONOPTIMIZED);
	assert_false(atomic_load(&dg->tgs[1].preferred));
	/* The local targets' own relative port ids, the peer's configured one. */
	assert_int_equal(dg->tgs[0].ports[0].rel_tgt_id, uscst_target_find("iqn.ld-a")->rel_tgt_id);
	assert_int_equal(dg->tgs[1].ports[0].rel_tgt_id, uscst_target_find("iqn.ld-b")->rel_tgt_id);
	assert_int_equal(dg->tgs[2].ports[0].rel_tgt_id, 9);
	uint16_t rel_b = uscst_target_find("iqn.ld-b")->rel_tgt_id;
	assert_ptr_equal(uscst_alua_tg_of(dg, "iqn.ld-b", rel_b), &dg->tgs[1]);
	/* Another target port of the same target (another portal group): none. */
	assert_null(uscst_alua_tg_of(dg, "iqn.ld-b", 999));
	/* A target of no group: none. */
	assert_null(uscst_alua_tg_of(dg, "iqn.ld-c", uscst_target_find("iqn.ld-c")->rel_tgt_id));
}

static void test_written_back(void **state)
{
	load("wb", 0, "active", "standby");
	char *text = conf_running_text();
	assert_non_null(text);
	const char *dg = strstr(text, "DEVICE_GROUP wb-dg {");
	assert_non_null(dg);
	assert_non_null(strstr(dg, "\tDEVICE wb-d\n"));
	assert_non_null(strstr(dg, "TARGET_GROUP tb {\n\t\tgroup_id 2\n\t\tstate standby\n"
				   "\t\tTARGET iqn.wb-b\n"));
	assert_non_null(strstr(dg, "preferred 1"));
	assert_non_null(strstr(dg, "TARGET iqn.elsewhere {\n\t\t\trel_tgt_id 9\n"));
	/* A local target's rel_tgt_id is its own: not written. */
	assert_null(strstr(dg, "TARGET iqn.wb-a {"));
	free(text);
}

static void test_errors(void **state)
{
	expect_refused("e1", "DEVICE_GROUP g {\n\tDEVICE nosuch\n}\n", 18,
		       "unknown device 'nosuch'");
	expect_refused(
	    "e2", "DEVICE_GROUP g {\n\tDEVICE e2-d\n\tTARGET_GROUP t {\n\t\tstate bad\n\t}\n}\n",
	    20, "state: bad value 'bad'");
	expect_refused("e3", "DEVICE_GROUP g {\n\tTARGET_GROUP t {\n\t\tstate active\n\t}\n}\n", 18,
		       "needs a group_id");
	expect_refused("e4", "DEVICE_GROUP g {\n\tTARGET_GROUP t {\n\t\tgroup_id 0\n\t}\n}\n", 19,
		       "group_id: bad value '0'");
	expect_refused("e5",
		       "DEVICE_GROUP g {\n\tTARGET_GROUP t {\n\t\tgroup_id 1\n\t}\n"
		       "\tTARGET_GROUP u {\n\t\tgroup_id 1\n\t}\n}\n",
		       21, "same group_id 1");
	expect_refused(
	    "e6", "DEVICE_GROUP g {\n\tTARGET_GROUP t {\n\t\tgroup_id 1\n\t\tcolour red\n\t}\n}\n",
	    20, "unknown attribute 'colour'");
	expect_refused("e7",
		       "DEVICE_GROUP g {\n\tTARGET_GROUP t {\n\t\tgroup_id 1\n"
		       "\t\tTARGET iqn.not-here\n\t}\n}\n",
		       20, "give its rel_tgt_id");
	expect_refused("e8",
		       "DEVICE_GROUP g {\n\tTARGET_GROUP t {\n\t\tgroup_id 1\n"
		       "\t\tTARGET iqn.x {\n\t\t\trel_tgt_id 70000\n\t\t}\n\t}\n}\n",
		       21, "rel_tgt_id must be 1 to 65535");
	expect_refused("e9",
		       "DEVICE_GROUP g {\n\tDEVICE e9-d\n}\nDEVICE_GROUP h {\n\tDEVICE e9-d\n}\n",
		       17, "device groups 'g' and 'h'");
	expect_refused(
	    "e10",
	    "DEVICE_GROUP g {\n\tTARGET_GROUP t {\n\t\tgroup_id 1\n\t\tTARGET iqn.e10-a\n\t}\n"
	    "\tTARGET_GROUP u {\n\t\tgroup_id 2\n\t\tTARGET iqn.e10-a\n\t}\n}\n",
	    17, "is in target groups 't' and 'u'");
	expect_refused("e11", "DEVICE_GROUP g {\n\tpriority 1\n}\n", 18,
		       "unknown attribute 'priority'");
}

/* conf_diff: the same groups (spelt differently) are no change; another
 * state is one CONF_ALUA_SET whose undo puts the old text back. */
static void test_diff(void **state)
{
	char *a = dg_text("df", "active", "nonoptimized");
	char *b = dg_text("df", "active", "standby");
	/* "state active" left out, preferred 0 spelt out: the same. */
	const char *a2 =
	    "DEVICE_GROUP df-dg {\n\tDEVICE df-d\n\tTARGET_GROUP ta {\n\t\tgroup_id 1\n"
	    "\t\tpreferred 1\n\t\tTARGET iqn.df-a\n\t}\n\tTARGET_GROUP tb {\n"
	    "\t\tgroup_id 0x2\n\t\tpreferred 0\n\t\tstate nonoptimized\n"
	    "\t\tTARGET iqn.df-b\n\t}\n\tTARGET_GROUP peer {\n\t\tgroup_id 3\n"
	    "\t\tstate standby\n\t\tTARGET iqn.elsewhere {\n\t\t\trel_tgt_id 9\n"
	    "\t\t}\n\t}\n}\n";
	char *ta = conf("df", 0, a), *ta2 = conf("df", 0, a2), *tb = conf("df", 0, b),
	     *none = conf("df", 0, "");
	char err[512] = "";
	struct conf_tree *cur = conf_parse_text(ta, "cur", err, sizeof(err));
	struct conf_tree *same = conf_parse_text(ta2, "same", err, sizeof(err));
	struct conf_tree *other = conf_parse_text(tb, "other", err, sizeof(err));
	struct conf_tree *empty = conf_parse_text(none, "empty", err, sizeof(err));
	assert_non_null(cur);
	assert_non_null(same);
	assert_non_null(other);
	assert_non_null(empty);
	struct conf_diff d;
	assert_int_equal(conf_diff(cur, same, &conf_core_policy, &d, err, sizeof(err)), 0);
	assert_int_equal(d.count, 0);
	conf_diff_free(&d);

	assert_int_equal(conf_diff(cur, other, &conf_core_policy, &d, err, sizeof(err)), 0);
	assert_int_equal(d.count, 1);
	assert_int_equal(d.changes[0].kind, CONF_ALUA_SET);
	assert_int_equal(d.changes[0].line, 17);
	assert_non_null(strstr(d.changes[0].value, "state standby"));
	assert_non_null(strstr(d.changes[0].old_value, "state nonoptimized"));
	struct conf_change u = conf_change_undo(&d.changes[0]);
	assert_int_equal(u.kind, CONF_ALUA_SET);
	assert_string_equal(u.value, d.changes[0].old_value);
	char line[128];
	conf_change_describe(&d.changes[0], line, sizeof(line));
	assert_string_equal(line, "set ALUA device groups");
	conf_diff_free(&d);

	/* Every group removed: the change's text is empty. */
	assert_int_equal(conf_diff(cur, empty, &conf_core_policy, &d, err, sizeof(err)), 0);
	assert_int_equal(d.count, 1);
	assert_string_equal(d.changes[0].value, "");
	conf_change_describe(&d.changes[0], line, sizeof(line));
	assert_string_equal(line, "remove ALUA device groups");
	conf_diff_free(&d);

	conf_tree_free(cur);
	conf_tree_free(same);
	conf_tree_free(other);
	conf_tree_free(empty);
	free(a);
	free(b);
	free(ta);
	free(ta2);
	free(tb);
	free(none);
}

/* ======================= SCSI, through dispatch ======================= */

struct path {
	struct uscst_session *sess;
	struct uscst_cmd cmd;
	unsigned done;
};

static void on_done(struct uscst_cmd *cmd)
{
	struct path *p = (struct path *)((char *)cmd - offsetof(struct path, cmd));
	p->done++;
}

static void path_open(struct path *p, const char *target, const char *ini)
{
	char port[160];
	snprintf(port, sizeof(port), "%s,i,0x23d000000001", ini);
	memset(p, 0, sizeof(*p));
	p->sess = uscst_session_create(uscst_target_find(target), ini, port);
	assert_non_null(p->sess);
	ua_clear_session(p->sess);
}

static void path_close(struct path *p)
{
	uscst_cmd_release(&p->cmd);
	uscst_session_destroy(p->sess);
}

/* The CDB through scsi_dispatch on LUN 0, with Data-Out if out. */
static struct uscst_cmd *run(struct path *p, const uint8_t *cdb, unsigned len, const void *out,
			     uint32_t out_len)
{
	uscst_cmd_release(&p->cmd);
	fixture_cmd_init(&p->cmd, p->sess, 0, cdb, len, on_done);
	p->cmd.op = scsi_lookup_opcode(p->cmd.dev, p->cmd.cdb);
	if (out)
		fixture_cmd_data_out(&p->cmd, out, out_len);
	p->done = 0;
	scsi_dispatch(&p->cmd);
	assert_int_equal(p->done, 1);
	return &p->cmd;
}

static struct uscst_cmd *rtpg(struct path *p, uint8_t format, uint32_t alloc)
{
	uint8_t cdb[12] = {0xa3, (uint8_t)(format << 5 | 0x0a)};
	put_be32(cdb + 6, alloc);
	return run(p, cdb, 12, NULL, 0);
}

static struct uscst_cmd *stpg(struct path *p, const uint8_t *param, uint32_t len)
{
	uint8_t cdb[12] = {0xa4, 0x0a};
	put_be32(cdb + 6, len);
	return run(p, cdb, 12, len ? param : NULL, len);
}

static struct uscst_cmd *read10(struct path *p)
{
	uint8_t cdb[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	return run(p, cdb, 10, NULL, 0);
}

static bool ua_is(struct path *p, uint8_t asc, uint8_t ascq)
{
	uint8_t a = 0, q = 0;
	return ua_take(p->sess, 0, &a, &q) && a == asc && q == ascq;
}

static void test_rtpg_formats(void **state)
{
	load("rt", 1, "active", "nonoptimized");
	struct path a, b;
	path_open(&a, "iqn.rt-a", "iqn.ini:rt1");
	path_open(&b, "iqn.rt-b", "iqn.ini:rt2");
	uint16_t rel_a = uscst_target_find("iqn.rt-a")->rel_tgt_id;
	uint16_t rel_b = uscst_target_find("iqn.rt-b")->rel_tgt_id;

	/* Extended header: FORMAT TYPE 1, then three 12-byte descriptors. */
	struct uscst_cmd *cmd = rtpg(&a, 1, 512);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 8 + 3 * 12);
	const uint8_t *r = cmd->in_buf;
	assert_int_equal(get_be32(r), 4 + 3 * 12);
	assert_int_equal(r[4], 0x10);
	assert_int_equal(r[8], 0x80 | 0x00); /* PREF, active/optimized */
	assert_int_equal(r[9], 0xcf);	     /* T, O, U, S, AN, AO supported */
	assert_int_equal(get_be16(r + 10), 1);
	assert_int_equal(r[15], 1);
	assert_int_equal(get_be16(r + 18), rel_a);
	assert_int_equal(r[20], 0x01); /* group 2: active/non-optimized */
	assert_int_equal(get_be16(r + 22), 2);
	assert_int_equal(get_be16(r + 30), rel_b);
	assert_int_equal(r[32], 0x02); /* the peer: standby */
	assert_int_equal(get_be16(r + 42), 9);
	uint8_t first[64];
	memcpy(first, r, 44);

	/* The same on the other path. */
	cmd = rtpg(&b, 1, 512);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 44);
	assert_memory_equal(cmd->in_buf, first, 44);

	/* Length-only header; clipped by the allocation length with the
	 * full RETURN DATA LENGTH. */
	cmd = rtpg(&a, 0, 512);
	assert_int_equal(cmd->in_len, 4 + 36);
	assert_int_equal(get_be32(cmd->in_buf), 36);
	assert_int_equal(get_be16(cmd->in_buf + 6), 1);
	cmd = rtpg(&a, 0, 6);
	assert_int_equal(cmd->in_len, 6);
	assert_int_equal(get_be32(cmd->in_buf), 36);

	/* A reserved format: INVALID FIELD IN CDB at byte 1. */
	cmd = rtpg(&a, 2, 512);
	fixture_assert_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(get_be16(cmd->sense + 16), 1);
	path_close(&a);
	path_close(&b);
}

static void test_inquiry(void **state)
{
	load("iq", 1, "active", "nonoptimized");
	struct path b;
	path_open(&b, "iqn.iq-b", "iqn.ini:iq");
	uint8_t std[6] = {0x12, 0, 0, 0, 96, 0};
	struct uscst_cmd *cmd = run(&b, std, 6, NULL, 0);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_buf[5] & 0x30, 0x30); /* implicit and explicit */

	uint8_t vpd[6] = {0x12, 0x01, 0x83, 0x04, 0x00, 0};
	cmd = run(&b, vpd, 6, NULL, 0);
	fixture_assert_good(cmd);
	const uint8_t *v = cmd->in_buf;
	bool tpg = false, rel = false;
	for (uint32_t off = 4; off + 4 <= cmd->in_len; off += 4u + v[off + 3]) {
		if ((v[off + 1] & 0x3f) == 0x15) { /* target port, TARGET PORT GROUP */
			assert_int_equal(v[off + 3], 4);
			assert_int_equal(get_be16(v + off + 6), 2);
			tpg = true;
		}
		if ((v[off + 1] & 0x3f) == 0x14) {
			assert_int_equal(get_be16(v + off + 6),
					 uscst_target_find("iqn.iq-b")->rel_tgt_id);
			rel = true;
		}
	}
	assert_true(tpg && rel);
	path_close(&b);

	/* Implicit only without expl_alua: TPGS 01b, STPG not supported. */
	load("im", 0, "active", "nonoptimized");
	path_open(&b, "iqn.im-b", "iqn.ini:im");
	cmd = run(&b, std, 6, NULL, 0);
	assert_int_equal(cmd->in_buf[5] & 0x30, 0x10);
	uint8_t p[8] = {0, 0, 0, 0, 0x02, 0, 0, 1};
	fixture_assert_sense(stpg(&b, p, 8), SK_ILLEGAL_REQUEST, 0x20, 0x00);
	path_close(&b);
}

static void test_state_rules(void **state)
{
	load("sr", 1, "active", "standby");
	struct path b;
	path_open(&b, "iqn.sr-b", "iqn.ini:sr");
	/* Standby: READ and TEST UNIT READY refused, the listed ones served. */
	fixture_assert_sense(read10(&b), SK_NOT_READY, 0x04, 0x0b);
	uint8_t tur[6] = {0};
	fixture_assert_sense(run(&b, tur, 6, NULL, 0), SK_NOT_READY, 0x04, 0x0b);
	uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
	fixture_assert_good(run(&b, inq, 6, NULL, 0));
	uint8_t sense6[6] = {0x1a, 0, 0x3f, 0, 0xff, 0};
	fixture_assert_good(run(&b, sense6, 6, NULL, 0));
	uint8_t rl[12] = {0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
	fixture_assert_good(run(&b, rl, 12, NULL, 0));
	uint8_t prin[10] = {0x5e, 0, 0, 0, 0, 0, 0, 0x10, 0, 0};
	fixture_assert_good(run(&b, prin, 10, NULL, 0));
	fixture_assert_good(rtpg(&b, 0, 64));

	char err[256] = "";
	/* Unavailable: MODE SENSE no longer, RTPG still. */
	assert_int_equal(uscst_alua_set_tg("sr-dg", "tb", "unavailable", -1, err, sizeof(err)), 0);
	assert_true(ua_is(&b, 0x2a, 0x06));
	fixture_assert_sense(run(&b, sense6, 6, NULL, 0), SK_NOT_READY, 0x04, 0x0c);
	fixture_assert_sense(read10(&b), SK_NOT_READY, 0x04, 0x0c);
	fixture_assert_good(rtpg(&b, 0, 64));
	/* Transitioning and offline. */
	assert_int_equal(uscst_alua_set_tg("sr-dg", "tb", "transitioning", -1, err, sizeof(err)),
			 0);
	fixture_assert_sense(read10(&b), SK_UNIT_ATTENTION, 0x2a, 0x06);
	fixture_assert_sense(read10(&b), SK_NOT_READY, 0x04, 0x0a);
	fixture_assert_good(run(&b, inq, 6, NULL, 0));
	assert_int_equal(uscst_alua_set_tg("sr-dg", "tb", "offline", -1, err, sizeof(err)), 0);
	assert_true(ua_is(&b, 0x2a, 0x06));
	fixture_assert_sense(read10(&b), SK_NOT_READY, 0x04, 0x12);
	/* Both active states serve everything. */
	assert_int_equal(uscst_alua_set_tg("sr-dg", "tb", "nonoptimized", -1, err, sizeof(err)), 0);
	assert_true(ua_is(&b, 0x2a, 0x06));
	fixture_assert_good(read10(&b));
	/* The same state again, or preferred alone: no unit attention. */
	assert_int_equal(uscst_alua_set_tg("sr-dg", "tb", "nonoptimized", 1, err, sizeof(err)), 0);
	assert_false(ua_is(&b, 0x2a, 0x06));
	/* Unknown names. */
	assert_int_equal(uscst_alua_set_tg("sr-dg", "tb", "asleep", -1, err, sizeof(err)), -EINVAL);
	assert_int_equal(uscst_alua_set_tg("sr-dg", "tx", "active", -1, err, sizeof(err)), -ENOENT);
	assert_int_equal(uscst_alua_set_tg("nodg", "tb", "active", -1, err, sizeof(err)), -ENOENT);
	path_close(&b);
}

static void test_stpg(void **state)
{
	load("sp", 1, "active", "nonoptimized");
	struct path a, b;
	path_open(&a, "iqn.sp-a", "iqn.ini:sp1");
	path_open(&b, "iqn.sp-b", "iqn.ini:sp2");
	/* Group 2 to standby and group 1 to active/non-optimized at once. */
	uint8_t p[12] = {0, 0, 0, 0, 0x02, 0, 0, 2, 0x01, 0, 0, 1};
	fixture_assert_good(stpg(&a, p, 12));
	assert_false(ua_is(&a, 0x2a, 0x06)); /* not on the nexus that asked */
	assert_true(ua_is(&b, 0x2a, 0x06));
	struct uscst_cmd *cmd = rtpg(&a, 1, 512);
	assert_int_equal(cmd->in_buf[8], 0x80 | 0x01);
	assert_int_equal(cmd->in_buf[13], 1); /* altered by SET TARGET PORT GROUPS */
	assert_int_equal(cmd->in_buf[20], 0x02);
	assert_int_equal(cmd->in_buf[25], 1);
	assert_int_equal(cmd->in_buf[37], 0); /* the peer's group: untouched */
	/* STPG is served in standby. */
	uint8_t back[8] = {0, 0, 0, 0, 0x00, 0, 0, 2};
	fixture_assert_good(stpg(&b, back, 8));
	fixture_assert_good(read10(&b));
	assert_true(ua_is(&a, 0x2a, 0x06));

	/* Length 0: nothing to do. */
	fixture_assert_good(stpg(&a, NULL, 0));
	/* Lengths that are no header plus whole descriptors. */
	fixture_assert_sense(stpg(&a, p, 2), SK_ILLEGAL_REQUEST, 0x1a, 0x00);
	fixture_assert_sense(stpg(&a, p, 10), SK_ILLEGAL_REQUEST, 0x1a, 0x00);
	/* A huge length: no buffer that size, refused whole. */
	uint8_t big[12] = {0xa4, 0x0a};
	put_be32(big + 6, 0x10000000);
	uscst_cmd_release(&a.cmd);
	fixture_cmd_init(&a.cmd, a.sess, 0, big, 12, on_done);
	assert_int_equal(scsi_lookup_opcode(a.cmd.dev, big)->out_len(&a.cmd), 4 + 4 * 1024);
	uscst_cmd_release(&a.cmd);
	fixture_assert_sense(run(&a, big, 12, p, 12), SK_ILLEGAL_REQUEST, 0x1a, 0x00);
	/* A state STPG may not ask for (offline, transitioning, reserved),
	 * or an unknown group: INVALID FIELD IN PARAMETER LIST, nothing
	 * changed, the field pointer at the descriptor. */
	static const uint8_t bad_states[] = {0x0e, 0x0f, 0x04, 0x07};
	for (size_t i = 0; i < sizeof(bad_states); i++) {
		uint8_t q[12] = {0, 0, 0, 0, 0x02, 0, 0, 2, bad_states[i], 0, 0, 1};
		cmd = stpg(&a, q, 12);
		fixture_assert_sense(cmd, SK_ILLEGAL_REQUEST, 0x26, 0x00);
		assert_int_equal(get_be16(cmd->sense + 16), 8);
	}
	uint8_t q[12] = {0, 0, 0, 0, 0x02, 0, 0, 2, 0x02, 0, 0, 77};
	cmd = stpg(&a, q, 12);
	fixture_assert_sense(cmd, SK_ILLEGAL_REQUEST, 0x26, 0x00);
	assert_int_equal(get_be16(cmd->sense + 16), 10);
	cmd = rtpg(&a, 1, 512);
	assert_int_equal(cmd->in_buf[20] & 0x0f, 0x00); /* group 2 still active */
	assert_false(ua_is(&b, 0x2a, 0x06));
	path_close(&a);
	path_close(&b);
}

/* A published change of the groups tells every nexus of the devices
 * whose groups changed; a device in no group is not affected (no TPGS,
 * RTPG not supported), as before ALUA. */
static void test_publish_and_plain(void **state)
{
	load("pb", 1, "active", "nonoptimized");
	struct path a;
	path_open(&a, "iqn.pb-a", "iqn.ini:pb");
	char *dg = dg_text("pb", "active", "standby");
	char err[512] = "";
	char *text = NULL;
	assert_true(asprintf(&text, "%s", dg) > 0);
	assert_int_equal(conf_alua_apply_text(text, err, sizeof(err)), 0);
	assert_true(ua_is(&a, 0x2a, 0x06));
	/* The same again: nothing changed, no unit attention. */
	assert_int_equal(conf_alua_apply_text(text, err, sizeof(err)), 0);
	assert_false(ua_is(&a, 0x2a, 0x06));
	/* All groups removed: the device has no ALUA any more. */
	assert_int_equal(conf_alua_apply_text("", err, sizeof(err)), 0);
	assert_null(uscst_alua_current());
	assert_true(ua_is(&a, 0x2a, 0x06));
	uint8_t std[6] = {0x12, 0, 0, 0, 96, 0};
	assert_int_equal(run(&a, std, 6, NULL, 0)->in_buf[5] & 0x30, 0);
	fixture_assert_sense(rtpg(&a, 0, 64), SK_ILLEGAL_REQUEST, 0x20, 0x00);
	fixture_assert_good(read10(&a));
	/* A local target named with a rel_tgt_id none of its target ports
	 * has (its own, its portal groups'): refused, naming the ids it has;
	 * its own id is its first target port. */
	char *bad = NULL, *own = NULL;
	uint16_t rel_a = uscst_target_find("iqn.pb-a")->rel_tgt_id;
#define NAMED_WITH                                                                                 \
	"DEVICE_GROUP x {\n\tTARGET_GROUP t {\n\t\tgroup_id 1\n"                                   \
	"\t\tTARGET iqn.pb-a {\n\t\t\trel_tgt_id %u\n\t\t}\n\t}\n}\n"
	assert_true(asprintf(&bad, NAMED_WITH, rel_a + 100u) > 0);
	assert_true(asprintf(&own, NAMED_WITH, (unsigned)rel_a) > 0);
	assert_int_equal(conf_alua_apply_text(bad, err, sizeof(err)), -1);
	char want[160];
	snprintf(want, sizeof(want), "has no target port with rel_tgt_id %u (its ports: %u)",
		 rel_a + 100u, rel_a);
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);
	assert_int_equal(conf_alua_apply_text(own, err, sizeof(err)), 0);
	assert_ptr_equal(
	    uscst_alua_tg_of(&uscst_alua_current()->dgs[0], "iqn.pb-a", a.sess->rel_port_id),
	    &uscst_alua_current()->dgs[0].tgs[0]);
	assert_int_equal(conf_alua_apply_text("", err, sizeof(err)), 0);
	free(own);
	/* A target that is not here, named without rel_tgt_id: refused,
	 * unless the groups in force gave it one (an undo of a config apply
	 * that removed the target keeps it). */
#define GHOST(port)                                                                                \
	"DEVICE_GROUP x {\n\tTARGET_GROUP t {\n\t\tgroup_id 1\n\t\tTARGET iqn.ghost" port          \
	"\n\t}\n}\n"
	const char *unnamed = GHOST(""), *named = GHOST(" {\n\t\t\trel_tgt_id 7\n\t\t}");
	assert_int_equal(conf_alua_apply_text(unnamed, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "give its rel_tgt_id"));
	assert_int_equal(conf_alua_apply_text(named, err, sizeof(err)), 0);
	assert_int_equal(conf_alua_apply_text(unnamed, err, sizeof(err)), 0);
	assert_int_equal(uscst_alua_current()->dgs[0].tgs[0].ports[0].rel_tgt_id, 7);
	assert_int_equal(conf_alua_apply_text("", err, sizeof(err)), 0);

	free(bad);
	free(text);
	free(dg);
	path_close(&a);
}

/* The data path resolves (device, target port) by name once per published
 * model, then works from the caches: with the names changed under them
 * (as no command compares them any more) the commands still see their
 * groups; a model published again is resolved again. */
static void test_lookup_cached(void **state)
{
	load("lc", 1, "active", "standby");
	struct path b;
	path_open(&b, "iqn.lc-b", "iqn.ini:lc");
	fixture_assert_sense(read10(&b), SK_NOT_READY, 0x04, 0x0b);
	struct uscst_device *dev = uscst_device_find("lc-d");
	struct uscst_target *tgt = uscst_target_find("iqn.lc-b");
	assert_non_null(dev);
	assert_non_null(tgt);
	char dev_name[sizeof(dev->name)], tgt_name[sizeof(tgt->name)];
	memcpy(dev_name, dev->name, sizeof(dev_name));
	memcpy(tgt_name, tgt->name, sizeof(tgt_name));
	dev->name[0] = 'X';
	tgt->name[0] = 'X';
	fixture_assert_sense(read10(&b), SK_NOT_READY, 0x04, 0x0b);
	const struct uscst_alua_dg *dg = NULL;
	const struct uscst_alua_tg *tg = NULL;
	assert_true(uscst_alua_lookup(dev, b.sess, &dg, &tg));
	assert_ptr_equal(tg, &uscst_alua_current()->dgs[0].tgs[1]);
	memcpy(dev->name, dev_name, sizeof(dev_name));
	memcpy(tgt->name, tgt_name, sizeof(tgt_name));
	/* A new model: a new generation, resolved again. */
	char *dgt = dg_text("lc", "active", "nonoptimized");
	char err[512] = "";
	assert_int_equal(conf_alua_apply_text(dgt, err, sizeof(err)), 0);
	assert_true(ua_is(&b, 0x2a, 0x06));
	fixture_assert_good(read10(&b));
	assert_true(uscst_alua_lookup(dev, b.sess, &dg, &tg));
	assert_ptr_equal(tg, &uscst_alua_current()->dgs[0].tgs[1]);
	/* A device of no group and a session of no port of the new model. */
	assert_int_equal(conf_alua_apply_text("", err, sizeof(err)), 0);
	assert_false(uscst_alua_lookup(dev, b.sess, &dg, &tg));
	assert_true(ua_is(&b, 0x2a, 0x06));
	fixture_assert_good(read10(&b));
	free(dgt);
	path_close(&b);
}

/* Every command set whose device can be in a device group has REPORT and
 * SET TARGET PORT GROUPS, the same descriptors as the disk's, and serves
 * MODE SENSE in standby (SPC-4 5.16.2.4.4). */
static void test_tables_of_every_type(void **state)
{
	const struct uscst_cmdset *sets[] = {&scsi_sbc_cmdset, &scsi_mmc_cmdset, &scsi_ssc_cmdset,
					     &scsi_smc_cmdset};
	const uint8_t rtpg_cdb[12] = {0xa3, 0x0a}, stpg_cdb[12] = {0xa4, 0x0a};
	const uint8_t sense6[6] = {0x1a}, sense10[10] = {0x5a};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		struct uscst_device d = {.cmdset = sets[i]};
		struct scsi_opcode_table t = scsi_opcode_table_of(&d);
		const struct scsi_opcode_desc *r = scsi_table_lookup(t, rtpg_cdb);
		const struct scsi_opcode_desc *w = scsi_table_lookup(t, stpg_cdb);
		if (!r || !w)
			fail_msg("command set %s lacks RTPG or STPG", sets[i]->name);
		assert_ptr_equal(r->exec, spc_report_target_port_groups);
		assert_int_equal(r->flags, OPF_ALUA_ANY_STATE);
		assert_ptr_equal(w->exec, spc_set_target_port_groups);
		assert_ptr_equal(w->out_len, spc_stpg_out_len);
		assert_int_equal(w->flags, OPF_ALUA_STANDBY | OPF_ALUA_UNAVAILABLE);
		const struct scsi_opcode_desc *m6 = scsi_table_lookup(t, sense6);
		const struct scsi_opcode_desc *m10 = scsi_table_lookup(t, sense10);
		assert_true(m6 && (m6->flags & OPF_ALUA_STANDBY));
		assert_true(m10 && (m10->flags & OPF_ALUA_STANDBY));
		/* Decode asks the transport for STPG's parameter list. */
		struct uscst_cmd cmd = {.dev = &d, .exp_write = true, .exp_len = 12};
		memcpy(cmd.cdb, stpg_cdb, sizeof(stpg_cdb));
		cmd.cdb[9] = 12;
		cmd.cdb_len = 12;
		sets[i]->decode(&cmd);
		assert_ptr_equal(cmd.op, w);
		assert_int_equal(cmd.out_len, 12);
	}
}

/* The CDB through dev's command set (decode, dispatch) on LUN 0. */
static struct uscst_cmd *run_cs(struct path *p, const uint8_t *cdb, unsigned len, const void *out,
				uint32_t out_len)
{
	uscst_cmd_release(&p->cmd);
	fixture_cmd_init(&p->cmd, p->sess, 0, cdb, len, on_done);
	p->cmd.exp_read = !out;
	p->cmd.exp_write = out != NULL;
	p->cmd.exp_len = out ? out_len : 4096;
	p->cmd.dev->cmdset->decode(&p->cmd);
	/* The Data-Out the transport would collect: what decode asks for. */
	assert_int_equal(p->cmd.out_len, out ? out_len : 0);
	if (out)
		fixture_cmd_data_out(&p->cmd, out, out_len);
	p->done = 0;
	p->cmd.dev->cmdset->dispatch(&p->cmd);
	assert_int_equal(p->done, 1);
	return &p->cmd;
}

/* A CD and a tape drive in a device group: TPGS, RTPG and STPG answered
 * through their own command sets, the states enforced by their tables. */
static void test_cd_and_tape_in_group(void **state)
{
	static const char text[] = "HANDLER vcdrom {\n\tDEVICE ct-cd {\n\t\tfilename none\n"
				   "\t\texpl_alua 1\n\t}\n}\n"
				   "HANDLER vtape {\n\tDEVICE ct-tape {\n\t\tfilename none\n"
				   "\t\texpl_alua 1\n\t}\n}\n"
				   "TARGET_DRIVER alua-test {\n"
				   "\tTARGET iqn.ct-a {\n\t\tLUN 0 ct-cd\n\t}\n"
				   "\tTARGET iqn.ct-b {\n\t\tLUN 0 ct-tape\n\t}\n}\n"
				   "DEVICE_GROUP ct-dg {\n\tDEVICE ct-cd\n\tDEVICE ct-tape\n"
				   "\tTARGET_GROUP ta {\n\t\tgroup_id 1\n\t\tstate standby\n"
				   "\t\tTARGET iqn.ct-a\n\t\tTARGET iqn.ct-b\n\t}\n}\n";
	struct conf_result res;
	char err[1024] = "";
	if (conf_load_text(text, "a.conf", &res, err, sizeof(err)) != 0)
		fail_msg("load failed: %s", err);
	conf_result_free(&res);
	const char *targets[] = {"iqn.ct-a", "iqn.ct-b"};
	for (int i = 0; i < 2; i++) {
		struct path p;
		path_open(&p, targets[i], i ? "iqn.ini:ct2" : "iqn.ini:ct1");
		uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
		assert_int_equal(run_cs(&p, inq, 6, NULL, 0)->in_buf[5] & 0x30, 0x30);
		uint8_t rtpg_cdb[12] = {0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
		struct uscst_cmd *cmd = run_cs(&p, rtpg_cdb, 12, NULL, 0);
		fixture_assert_good(cmd);
		assert_int_equal(cmd->in_buf[4] & 0x0f, USCST_ALUA_STANDBY);
		assert_int_equal(get_be16(cmd->in_buf + 6), 1);
		uint8_t sense6[6] = {0x1a, 0, 0x3f, 0, 0xff, 0};
		fixture_assert_good(run_cs(&p, sense6, 6, NULL, 0));
		uint8_t tur[6] = {0};
		fixture_assert_sense(run_cs(&p, tur, 6, NULL, 0), SK_NOT_READY, 0x04, 0x0b);
		/* STPG: to active and back to standby, from this path. */
		uint8_t stpg_cdb[12] = {0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0};
		uint8_t active[8] = {0, 0, 0, 0, 0x00, 0, 0, 1};
		fixture_assert_good(run_cs(&p, stpg_cdb, 12, active, 8));
		fixture_assert_sense(run_cs(&p, tur, 6, NULL, 0), SK_NOT_READY, 0x3a, 0x00);
		uint8_t standby[8] = {0, 0, 0, 0, 0x02, 0, 0, 1};
		fixture_assert_good(run_cs(&p, stpg_cdb, 12, standby, 8));
		path_close(&p);
	}
	assert_int_equal(conf_alua_apply_text("", err, sizeof(err)), 0);
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
	    cmocka_unit_test(test_loaded),
	    cmocka_unit_test(test_written_back),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_rtpg_formats),
	    cmocka_unit_test(test_inquiry),
	    cmocka_unit_test(test_state_rules),
	    cmocka_unit_test(test_stpg),
	    cmocka_unit_test(test_publish_and_plain),
	    cmocka_unit_test(test_lookup_cached),
	    cmocka_unit_test(test_tables_of_every_type),
	    cmocka_unit_test(test_cd_and_tape_in_group),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	uscst_alua_reset();
	return rc;
}
