/*
 * Run-time changes (core/live_map.c, core/device_live.c): LUNs, groups,
 * initiators, devices and targets changed while sessions exist.  Each
 * change must reach exactly the sessions whose map changed, with REPORTED
 * LUNS DATA HAS CHANGED (3Fh/0Eh), keep the map a command was decoded with
 * alive until the command is released, and abort a removed LUN's commands.
 * No reactor here: the changes reach the sessions on the calling thread.
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
#include "core/core.h"
#include "core/live.h"
#include "core/transports.h"
#include "lib/log.h"
#include "scsi/scsi.h"

static int stub_start(const struct uscst_transport *t, char *err, size_t errlen) { return 0; }
static void stub_stop(const struct uscst_transport *t) {}
static const struct uscst_transport stub_transport = {
    .name = "live-test",
    .start = stub_start,
    .stop = stub_stop,
};

static unsigned seq;

struct fixture {
	struct uscst_device *dev0, *dev1;
	struct uscst_target *tgt, *other_tgt;
	char ini_a[96], ini_b[96];
	/* a and b log in to tgt (default map); other to other_tgt. */
	struct uscst_session *a, *b, *other;
};

static struct uscst_device *nullio(const char *prefix, unsigned id, const char *size_mb)
{
	char name[64], err[256] = "";
	snprintf(name, sizeof(name), "%s%u", prefix, id);
	char attr[32];
	snprintf(attr, sizeof(attr), "size_mb=%s", size_mb);
	char *attrs[] = {attr};
	struct uscst_device *dev =
	    uscst_live_device_add("vdisk_nullio", name, attrs, 1, err, sizeof(err));
	if (!dev)
		fail_msg("%s", err);
	return dev;
}

static void drain(struct uscst_session *s, uint64_t lun)
{
	uint8_t asc, ascq;
	while (ua_take(s, lun, &asc, &ascq))
		;
}

static bool has_ua(struct uscst_session *s, uint64_t lun, uint8_t want_asc, uint8_t want_ascq)
{
	uint8_t asc, ascq;
	bool found = false;
	while (ua_take(s, lun, &asc, &ascq))
		found |= asc == want_asc && ascq == want_ascq;
	return found;
}

static bool no_ua(struct uscst_session *s, uint64_t lun)
{
	uint8_t asc, ascq;
	return !ua_take(s, lun, &asc, &ascq);
}

static struct fixture *make_fixture(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	char iqn[96], err[256] = "";
	unsigned id = ++seq;
	f->dev0 = nullio("live0-", id, "1");
	f->dev1 = nullio("live1-", id, "2");
	snprintf(iqn, sizeof(iqn), "iqn.2026-12.test:live%u", id);
	f->tgt = uscst_target_create("live-test", iqn, err, sizeof(err));
	assert_non_null(f->tgt);
	assert_true(uscst_target_add_lun(f->tgt, 0, f->dev0, false, err, sizeof(err)));
	snprintf(f->ini_a, sizeof(f->ini_a), "iqn.2026-12.test:a%u", id);
	snprintf(f->ini_b, sizeof(f->ini_b), "iqn.2026-12.test:b%u", id);
	char port[160];
	snprintf(port, sizeof(port), "%s,i,0x1", f->ini_a);
	f->a = uscst_session_create(f->tgt, f->ini_a, port);
	snprintf(port, sizeof(port), "%s,i,0x2", f->ini_b);
	f->b = uscst_session_create(f->tgt, f->ini_b, port);
	assert_non_null(f->a);
	assert_non_null(f->b);

	snprintf(iqn, sizeof(iqn), "iqn.2026-12.test:other%u", id);
	f->other_tgt = uscst_target_create("live-test", iqn, err, sizeof(err));
	assert_non_null(f->other_tgt);
	assert_true(uscst_target_add_lun(f->other_tgt, 0, f->dev0, false, err, sizeof(err)));
	f->other = uscst_session_create(f->other_tgt, f->ini_a, "x,i,0x3");
	assert_non_null(f->other);
	drain(f->a, 0);
	drain(f->b, 0);
	drain(f->other, 0);
	return f;
}

static void free_fixture(struct fixture *f)
{
	uscst_session_destroy(f->a);
	uscst_session_destroy(f->b);
	uscst_session_destroy(f->other);
	free(f);
}

static unsigned dones;
static void count_done(struct uscst_cmd *cmd) { dones++; }

static void decode(struct uscst_cmd *cmd, struct uscst_session *s, uint64_t lun)
{
	uscst_cmd_init(cmd, s);
	cmd->done = count_done;
	cmd->lun = lun;
	cmd->cdb[0] = 0x00; /* TEST UNIT READY */
	cmd->cdb_len = 6;
	uscst_cmd_decode(cmd);
}

static void test_lun_add_tells_only_its_nexuses(void **state)
{
	struct fixture *f = make_fixture();
	char err[256] = "";
	const struct uscst_stats *lun0_stats = uscst_session_lun(f->a, 0)->stats;
	assert_int_equal(uscst_live_lun_add(f->tgt, NULL, 1, f->dev1, false, err, sizeof(err)), 0);
	/* LUN 0 keeps its counters across the change, and the old map (no
	 * command holds it) is gone with its reference on them. */
	assert_ptr_equal(uscst_session_lun(f->a, 0)->stats, lun0_stats);
	assert_int_equal(atomic_load(uscst_session_lun(f->a, 0)->stats_refs), 1);
	assert_non_null(uscst_session_lun(f->a, 1));
	assert_ptr_equal(uscst_session_lun(f->a, 1)->dev, f->dev1);
	assert_true(has_ua(f->a, 0, 0x3f, 0x0e));
	assert_true(has_ua(f->a, 1, 0x3f, 0x0e));
	assert_true(has_ua(f->b, 0, 0x3f, 0x0e));
	/* Another target, same initiator, same device: its map did not change. */
	assert_true(no_ua(f->other, 0));
	assert_null(uscst_session_lun(f->other, 1));
	/* A number already mapped is refused, and nobody hears of it. */
	assert_int_equal(uscst_live_lun_add(f->tgt, NULL, 1, f->dev0, false, err, sizeof(err)),
			 -EEXIST);
	assert_true(no_ua(f->a, 0));
	free_fixture(f);
}

static void test_group_lun_and_initiator_move(void **state)
{
	struct fixture *f = make_fixture();
	char err[256] = "";
	assert_int_equal(uscst_live_group_add(f->tgt, "g", err, sizeof(err)), 0);
	assert_int_equal(uscst_live_lun_add(f->tgt, "g", 5, f->dev1, true, err, sizeof(err)), 0);
	/* Nobody is in g yet: no map changed. */
	assert_true(no_ua(f->a, 0));
	assert_true(no_ua(f->b, 0));
	/* a moves into g: its map is g's (LUN 5 only), b stays. */
	assert_int_equal(uscst_live_initiator_add(f->tgt, "g", f->ini_a, err, sizeof(err)), 0);
	assert_null(uscst_session_lun(f->a, 0));
	assert_non_null(uscst_session_lun(f->a, 5));
	assert_true(uscst_session_lun(f->a, 5)->read_only);
	assert_true(has_ua(f->a, 5, 0x3f, 0x0e));
	assert_true(no_ua(f->b, 0));
	/* A LUN change of g reaches a only. */
	assert_int_equal(uscst_live_lun_add(f->tgt, "g", 6, f->dev0, false, err, sizeof(err)), 0);
	assert_true(has_ua(f->a, 6, 0x3f, 0x0e));
	assert_true(no_ua(f->b, 0));
	/* Back out: removing the initiator, then the group. */
	assert_int_equal(uscst_live_initiator_remove(f->tgt, "g", f->ini_a, err, sizeof(err)), 0);
	assert_non_null(uscst_session_lun(f->a, 0));
	assert_true(has_ua(f->a, 0, 0x3f, 0x0e));
	assert_int_equal(uscst_live_initiator_remove(f->tgt, "g", f->ini_a, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(
	    uscst_live_initiator_add(f->tgt, "g", "iqn.2026-12.test:a*", err, sizeof(err)), 0);
	assert_non_null(uscst_session_lun(f->a, 5));
	assert_int_equal(uscst_live_group_remove(f->tgt, "g", err, sizeof(err)), 0);
	assert_non_null(uscst_session_lun(f->a, 0));
	assert_null(uscst_session_lun(f->a, 5));
	assert_null(uscst_target_group(f->tgt, "g"));
	assert_int_equal(uscst_live_group_remove(f->tgt, "g", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no group 'g'"));
	free_fixture(f);
}

static void test_lun_remove_ends_its_commands_and_keeps_old_map(void **state)
{
	struct fixture *f = make_fixture();
	char err[256] = "";
	assert_int_equal(uscst_live_lun_add(f->tgt, NULL, 1, f->dev1, false, err, sizeof(err)), 0);
	drain(f->a, 0);
	drain(f->a, 1);
	int refs = atomic_load(&f->dev1->refs);
	struct uscst_cmd on1, on0;
	decode(&on1, f->a, 1);
	decode(&on0, f->a, 0);
	assert_ptr_equal(on1.dev, f->dev1);

	/* The device cannot go while a LUN maps it; the message names it. */
	assert_int_equal(uscst_live_device_remove(f->dev1->name, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, f->tgt->name));
	assert_non_null(strstr(err, "LUN 1"));

	/* a holds an SPC-2 reservation of the LU it is about to lose, b of
	 * LUN 0's, which it keeps. */
	atomic_store(&f->dev1->spc2_holder, f->a->id);
	atomic_store(&f->dev0->spc2_holder, f->b->id);
	assert_int_equal(uscst_live_lun_remove(f->tgt, NULL, 1, err, sizeof(err)), 0);
	assert_null(uscst_session_lun(f->a, 1));
	/* The I_T_L nexus is gone: as at the end of a session, its
	 * reservation with it. */
	assert_int_equal(atomic_load(&f->dev1->spc2_holder), 0);
	assert_int_equal(atomic_load(&f->dev0->spc2_holder), f->b->id);
	atomic_store(&f->dev0->spc2_holder, 0);
	assert_true(has_ua(f->a, 0, 0x3f, 0x0e));
	/* The commands still hold the old map: its entry is intact. */
	assert_ptr_equal(on1.lun_ent->dev, f->dev1);
	assert_int_equal(atomic_load(&f->dev1->refs), refs);
	/* Received before the change, started after: the one whose LUN is
	 * gone is answered LOGICAL UNIT NOT SUPPORTED without touching the
	 * medium; LUN 0 did not change and runs. */
	dones = 0;
	uscst_cmd_execute(&on1);
	assert_int_equal(dones, 1);
	assert_int_equal(on1.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(on1.sense[2] & 0x0f, 0x05);
	assert_int_equal(on1.sense[12], 0x25);
	uscst_cmd_execute(&on0);
	assert_int_equal(dones, 2);
	assert_int_equal(on0.status, SAM_STAT_GOOD);

	/* Now the device may go: off the list at once, closed with its
	 * last command. */
	char name[64];
	snprintf(name, sizeof(name), "%s", f->dev1->name);
	assert_int_equal(uscst_live_device_remove(name, err, sizeof(err)), 0);
	assert_null(uscst_device_find(name));
	assert_int_equal(atomic_load(&f->dev1->refs), 1);
	uscst_cmd_release(&on1);
	uscst_cmd_release(&on0);
	/* The name is free again. */
	struct uscst_device *again =
	    uscst_live_device_add("vdisk_nullio", name, NULL, 0, err, sizeof(err));
	assert_non_null(again);
	assert_int_equal(uscst_live_device_remove(name, err, sizeof(err)), 0);
	assert_int_equal(uscst_live_lun_remove(f->tgt, NULL, 1, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no LUN 1"));
	free_fixture(f);
}

static void test_device_add_refuses_bad_attributes(void **state)
{
	char err[256] = "";
	char bad[] = "no_such_attr=1", noeq[] = "size_mb";
	char *a1[] = {bad}, *a2[] = {noeq};
	assert_null(uscst_live_device_add("vdisk_nullio", "livebad", a1, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "no_such_attr"));
	assert_null(uscst_live_device_add("vdisk_nullio", "livebad", a2, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "ATTRIBUTE=VALUE"));
	/* Nothing left behind: the name is free. */
	assert_null(uscst_device_find("livebad"));
	assert_null(uscst_live_device_add("no_handler", "livebad", NULL, 0, err, sizeof(err)));
	assert_int_equal(uscst_live_device_remove("livebad", err, sizeof(err)), -ENOENT);
}

static void test_device_attributes_at_run_time(void **state)
{
	struct fixture *f = make_fixture();
	char err[256] = "";
	assert_int_equal(uscst_live_device_set(f->dev0, "read_only", "1", err, sizeof(err)), 0);
	assert_true(f->dev0->read_only);
	assert_true(has_ua(f->a, 0, 0x2a, 0x01));
	assert_true(has_ua(f->other, 0, 0x2a, 0x01));
	assert_int_equal(uscst_live_device_set(f->dev0, "read_only", "maybe", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(uscst_live_device_set(f->dev0, "t10_dev_id", "new-id", err, sizeof(err)),
			 0);
	assert_string_equal(f->dev0->t10_dev_id, "new-id");
	assert_true(has_ua(f->b, 0, 0x3f, 0x03));
	assert_int_equal(uscst_live_device_set(f->dev0, "size_mb", "4", err, sizeof(err)), 0);
	assert_int_equal(f->dev0->nblocks, 4 * 2048);
	assert_true(has_ua(f->a, 0, 0x2a, 0x09));
	assert_true(has_ua(f->other, 0, 0x2a, 0x09));
	/* The same size again: no unit attention. */
	assert_int_equal(uscst_live_device_resize(f->dev0, 4 << 20, err, sizeof(err)), 0);
	assert_true(no_ua(f->a, 0));
	assert_int_equal(uscst_live_device_resize(f->dev0, 1000, err, sizeof(err)), -EINVAL);
	assert_int_equal(uscst_live_device_set(f->dev0, "write_through", "1", err, sizeof(err)), 0);
	assert_false(atomic_load(&f->dev0->wce));
	/* lb_per_pb_exp changes what READ CAPACITY(16) reports. */
	has_ua(f->a, 0, 0, 0); /* drains the queue */
	assert_int_equal(uscst_live_device_set(f->dev0, "lb_per_pb_exp", "0", err, sizeof(err)), 0);
	assert_false(atomic_load(&f->dev0->lb_per_pb_exp));
	assert_true(has_ua(f->a, 0, 0x2a, 0x09));
	assert_int_equal(uscst_live_device_set(f->dev0, "lb_per_pb_exp", "2", err, sizeof(err)),
			 -EINVAL);
	free_fixture(f);
}

static unsigned tmf_dones;
static void count_tmf_done(struct uscst_tmf *tmf) { tmf_dones++; }

/* SAM-5's unit attentions around resets and nexus loss, which libiscsi's
 * Reserve6.LUNReset, PreventAllow.2ITNexuses and ModeSense6.Residuals rely
 * on with two nexuses: a LU reset reports 29h/03h to every I_T nexus of
 * the LU (the one that asked, the other one, and one through another
 * target); a lost nexus's pending UAs go with it, and the same I_T nexus
 * made again starts with I_T NEXUS LOSS OCCURRED alone. */
static void test_unit_attentions_of_reset_and_nexus_loss(void **state)
{
	struct fixture *f = make_fixture();
	struct uscst_tmf tmf = {.sess = f->a, .fn = USCST_TMF_LUN_RESET, .lun = 0};
	tmf.done = count_tmf_done;
	tmf_dones = 0;
	assert_int_equal(uscst_tmf_start(&tmf), USCST_TMF_RSP_COMPLETE);
	assert_int_equal(tmf_dones, 1);
	uint8_t asc, ascq;
	struct uscst_session *each[] = {f->a, f->b, f->other};
	for (unsigned i = 0; i < 3; i++) {
		assert_true(ua_take(each[i], 0, &asc, &ascq));
		assert_int_equal(asc, 0x29);
		assert_int_equal(ascq, 0x03);
		assert_true(no_ua(each[i], 0)); /* once */
	}

	/* b's nexus is lost with a UA pending; b comes back. */
	char err[256] = "", port[160];
	assert_int_equal(uscst_live_device_set(f->dev0, "read_only", "1", err, sizeof(err)), 0);
	uscst_session_destroy(f->b);
	snprintf(port, sizeof(port), "%s,i,0x2", f->ini_b);
	f->b = uscst_session_create(f->tgt, f->ini_b, port);
	assert_non_null(f->b);
	assert_true(ua_take(f->b, 0, &asc, &ascq));
	assert_int_equal(asc, 0x29);
	assert_int_equal(ascq, 0x07); /* I_T NEXUS LOSS OCCURRED (SAM-5 6.3.4) */
	assert_true(no_ua(f->b, 0));  /* not the lost nexus's 2Ah/01h */
	assert_true(has_ua(f->a, 0, 0x2a, 0x01));
	/* Every loss is reported: lost again, it comes back with 29h/07h
	 * again; a nexus lost with its power-on UA pending keeps that one. */
	uscst_session_destroy(f->b);
	f->b = uscst_session_create(f->tgt, f->ini_b, port);
	assert_non_null(f->b);
	assert_true(has_ua(f->b, 0, 0x29, 0x07));
	uscst_session_destroy(f->b);
	f->b = uscst_session_create(f->tgt, f->ini_b, port);
	assert_non_null(f->b);
	assert_true(has_ua(f->b, 0, 0x29, 0x07));
	snprintf(port, sizeof(port), "%s,i,0x3", f->ini_b);
	struct uscst_session *c = uscst_session_create(f->tgt, f->ini_b, port);
	assert_non_null(c);
	uscst_session_destroy(c);
	c = uscst_session_create(f->tgt, f->ini_b, port);
	assert_non_null(c);
	assert_true(has_ua(c, 0, 0x29, 0x00));
	uscst_session_destroy(c);
	free_fixture(f);
}

static void test_disabled_target_takes_no_session(void **state)
{
	struct fixture *f = make_fixture();
	char err[256] = "";
	assert_int_equal(uscst_live_target_enable(f->tgt, false, err, sizeof(err)), 0);
	assert_false(uscst_target_allows(f->tgt, f->ini_a));
	assert_null(uscst_session_create(f->tgt, f->ini_a, "late,i,0x9"));
	assert_int_equal(uscst_live_target_enable(f->tgt, true, err, sizeof(err)), 0);
	struct uscst_session *s = uscst_session_create(f->tgt, f->ini_a, "late,i,0x9");
	assert_non_null(s);
	uscst_session_destroy(s);
	assert_int_equal(uscst_live_session_close(999999, err, sizeof(err)), -ENOENT);
	free_fixture(f);
}

static void test_chap_accounts(void **state)
{
	char err[256] = "", iqn[96];
	snprintf(iqn, sizeof(iqn), "iqn.2026-12.test:chap%u", ++seq);
	struct uscst_target *tgt = uscst_live_target_add("live-test", iqn, err, sizeof(err));
	assert_non_null(tgt);
	/* The stub transport has no IncomingUser: refused by its table. */
	assert_int_equal(uscst_live_chap_add(tgt, true, "u", "secret123456", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "IncomingUser"));
	assert_int_equal(uscst_live_chap_add(tgt, true, "u u", "s", err, sizeof(err)), -EINVAL);
	assert_int_equal(uscst_live_chap_remove(tgt, true, "u", err, sizeof(err)), -ENOENT);
}

static void test_target_add_remove(void **state)
{
	char err[256] = "", iqn[96];
	snprintf(iqn, sizeof(iqn), "iqn.2026-12.test:gone%u", ++seq);
	assert_null(uscst_live_target_add("no-driver", iqn, err, sizeof(err)));
	struct uscst_target *tgt = uscst_live_target_add("live-test", iqn, err, sizeof(err));
	assert_non_null(tgt);
	assert_null(uscst_live_target_add("live-test", iqn, err, sizeof(err)));
	struct uscst_device *dev = nullio("gone", seq, "1");
	assert_int_equal(uscst_live_lun_add(tgt, NULL, 0, dev, false, err, sizeof(err)), 0);
	struct uscst_session *s = uscst_session_create(tgt, "iqn.x:y", "iqn.x:y,i,0x1");
	assert_non_null(s);
	assert_int_equal(uscst_live_target_remove(tgt, err, sizeof(err)), 0);
	assert_null(uscst_target_find(iqn));
	/* A login still under way on it gets no session. */
	assert_null(uscst_session_create(tgt, "iqn.x:y", "iqn.x:y,i,0x2"));
	/* Its LUN maps are gone: the device may go, and the name comes back. */
	char name[64];
	snprintf(name, sizeof(name), "%s", dev->name);
	uscst_session_destroy(s);
	assert_int_equal(uscst_live_device_remove(name, err, sizeof(err)), 0);
	assert_non_null(uscst_live_target_add("live-test", iqn, err, sizeof(err)));
}

static void test_portal_needs_the_transport(void **state)
{
	char err[256] = "";
	/* The stub transport has no listen attribute nor add_portal. */
	assert_int_equal(uscst_live_portal("live-test", "127.0.0.1:1", true, err, sizeof(err)),
			 -EOPNOTSUPP);
	assert_int_equal(uscst_live_portal("nodriver", "127.0.0.1:1", true, err, sizeof(err)),
			 -ENOENT);
}

int main(void)
{
	if (!scsi_register_cmdsets())
		return 1;
	log_max_level = LOG_WARN;
	if (uscst_transport_register(&stub_transport, USCST_TRANSPORT_ABI) != 0)
		return 1;
	if (uscst_backends_register_builtin() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lun_add_tells_only_its_nexuses),
	    cmocka_unit_test(test_group_lun_and_initiator_move),
	    cmocka_unit_test(test_lun_remove_ends_its_commands_and_keeps_old_map),
	    cmocka_unit_test(test_device_add_refuses_bad_attributes),
	    cmocka_unit_test(test_device_attributes_at_run_time),
	    cmocka_unit_test(test_unit_attentions_of_reset_and_nexus_loss),
	    cmocka_unit_test(test_disabled_target_takes_no_session),
	    cmocka_unit_test(test_chap_accounts),
	    cmocka_unit_test(test_target_add_remove),
	    cmocka_unit_test(test_portal_needs_the_transport),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
