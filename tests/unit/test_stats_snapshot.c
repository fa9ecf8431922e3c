/*
 * Unit tests: statistics snapshots of real core objects
 * (core/stats_snapshot.c).  Commands go through the transport's own
 * calls (init, decode, release), on sessions of a target whose default
 * LUN map and initiator group map different devices as LUN 0; a session
 * that ends leaves no entry, while its LUN's and device's counts stay.
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
#include "core/core.h"
#include "core/stats_snapshot.h"
#include "lib/log.h"
#include "scsi/scsi.h"

static int stub_start(const struct uscst_transport *t, char *err, size_t errlen) { return 0; }
static void stub_stop(const struct uscst_transport *t) {}
static const struct uscst_transport stub_transport = {
    .name = "stats-test",
    .start = stub_start,
    .stop = stub_stop,
};

static const char config[] = "HANDLER vdisk_nullio {\n"
			     "\tDEVICE st-d0 {\n\t\tsize_mb 1\n\t}\n"
			     "\tDEVICE st-d1 {\n\t\tsize_mb 1\n\t}\n"
			     "}\n"
			     "TARGET_DRIVER stats-test {\n"
			     "\tTARGET iqn.st {\n"
			     "\t\tLUN 0 st-d0\n"
			     "\t\tGROUP db {\n"
			     "\t\t\tLUN 0 st-d1\n"
			     "\t\t\tINITIATOR iqn.db-host\n"
			     "\t\t}\n"
			     "\t}\n"
			     "}\n";

static void done(struct uscst_cmd *cmd) {}

/* A READ(10) of `blocks` blocks at LBA 0, answered GOOD with its data by
 * hand (the test is the transport: it never executes the command). */
static void read_cmd(struct uscst_session *s, uint64_t lun, uint32_t blocks)
{
	struct uscst_cmd cmd;
	uscst_cmd_init(&cmd, s);
	cmd.lun = lun;
	cmd.cdb[0] = 0x28;
	cmd.cdb[8] = (uint8_t)blocks;
	cmd.cdb_len = 10;
	cmd.exp_read = true;
	cmd.exp_len = blocks * 512;
	cmd.done = done;
	uscst_cmd_decode(&cmd);
	assert_non_null(scsi_alloc_in(&cmd, cmd.exp_len));
	uscst_cmd_release(&cmd);
}

static const struct uscst_stats_entry *find(const struct uscst_stats_snapshot *snap,
					    enum uscst_stats_kind kind, const char *name,
					    const char *group)
{
	for (size_t i = 0; i < snap->n; i++) {
		const struct uscst_stats_entry *e = &snap->e[i];
		if (e->kind != kind)
			continue;
		switch (kind) {
		case USCST_STATS_DEVICE:
			if (!strcmp(e->device, name))
				return e;
			break;
		case USCST_STATS_TARGET:
			if (!strcmp(e->target, name))
				return e;
			break;
		case USCST_STATS_LUN:
			if (!strcmp(e->target, name) && !strcmp(e->group, group))
				return e;
			break;
		case USCST_STATS_SESSION:
			if (!strcmp(e->initiator, name))
				return e;
			break;
		}
	}
	return NULL;
}

static uint64_t cmds(const struct uscst_stats_entry *e)
{
	assert_non_null(e);
	return e->sum.v[USCST_STAT_COMMANDS];
}

static void test_snapshot(void **state)
{
	struct conf_result res;
	char err[512] = "";
	if (conf_load_text(config, "st.conf", &res, err, sizeof(err)) != 0)
		fail_msg("config refused: %s", err);
	conf_result_free(&res);
	struct uscst_target *tgt = uscst_target_find("iqn.st");
	assert_non_null(tgt);
	struct uscst_session *plain =
	    uscst_session_create(tgt, "iqn.plain-host", "iqn.plain,i,0x1");
	struct uscst_session *db = uscst_session_create(tgt, "iqn.db-host", "iqn.db,i,0x2");
	assert_non_null(plain);
	assert_non_null(db);
	read_cmd(plain, 0, 8); /* default map: st-d0 */
	read_cmd(plain, 0, 8);
	read_cmd(db, 0, 2); /* group db: st-d1 */
	read_cmd(db, 5, 1); /* not mapped: nexus and target only */

	struct uscst_stats_snapshot snap;
	assert_int_equal(uscst_stats_snapshot_take(&snap), 0);
	assert_int_equal(cmds(find(&snap, USCST_STATS_DEVICE, "st-d0", NULL)), 2);
	assert_int_equal(cmds(find(&snap, USCST_STATS_DEVICE, "st-d1", NULL)), 1);
	assert_int_equal(cmds(find(&snap, USCST_STATS_TARGET, "iqn.st", NULL)), 4);
	const struct uscst_stats_entry *l0 = find(&snap, USCST_STATS_LUN, "iqn.st", "");
	const struct uscst_stats_entry *ldb = find(&snap, USCST_STATS_LUN, "iqn.st", "db");
	assert_int_equal(cmds(l0), 2);
	assert_string_equal(l0->device, "st-d0");
	assert_int_equal(l0->sum.v[USCST_STAT_READ_BYTES], 2 * 8 * 512);
	assert_int_equal(cmds(ldb), 1);
	assert_string_equal(ldb->device, "st-d1");
	assert_true(ldb->sum.has_histogram);
	const struct uscst_stats_entry *sdb = find(&snap, USCST_STATS_SESSION, "iqn.db-host", NULL);
	assert_int_equal(cmds(sdb), 2);
	assert_string_equal(sdb->port, "iqn.db,i,0x2");
	assert_int_equal(sdb->session_id, db->id);
	assert_int_equal(cmds(find(&snap, USCST_STATS_SESSION, "iqn.plain-host", NULL)), 2);
	/* Kinds come in order: devices, targets, LUNs, sessions. */
	for (size_t i = 1; i < snap.n; i++)
		assert_true(snap.e[i - 1].kind <= snap.e[i].kind);
	uscst_stats_snapshot_free(&snap);

	/* The db session ends: its entry goes, its LUN's and device's counts
	 * stay, and a new session of the same initiator starts from zero. */
	uscst_session_destroy(db);
	assert_int_equal(uscst_stats_snapshot_take(&snap), 0);
	assert_null(find(&snap, USCST_STATS_SESSION, "iqn.db-host", NULL));
	assert_int_equal(cmds(find(&snap, USCST_STATS_LUN, "iqn.st", "db")), 1);
	assert_int_equal(cmds(find(&snap, USCST_STATS_DEVICE, "st-d1", NULL)), 1);
	uscst_stats_snapshot_free(&snap);
	db = uscst_session_create(tgt, "iqn.db-host", "iqn.db,i,0x3");
	assert_non_null(db);
	read_cmd(db, 0, 1);
	assert_int_equal(uscst_stats_snapshot_take(&snap), 0);
	assert_int_equal(cmds(find(&snap, USCST_STATS_SESSION, "iqn.db-host", NULL)), 1);
	assert_int_equal(cmds(find(&snap, USCST_STATS_LUN, "iqn.st", "db")), 2);
	uscst_stats_snapshot_free(&snap);
	uscst_session_destroy(db);
	uscst_session_destroy(plain);
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
	    cmocka_unit_test(test_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
