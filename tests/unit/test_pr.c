/*
 * Unit tests for reservations: the persistent reservation state machine
 * (core/pr_state.c), the conflict table (scsi/pr_conflict.c) and the
 * handlers (scsi/pr_in.c, scsi/pr_out.c, scsi/spc_reserve.c) driven with
 * hand-built commands on two sessions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/pr.h"
#include "fixtures/fixture_scsi.h"
#include "scsi/scsi.h"

#define PORT_A "iqn.2024-01.test:a,i,0x23d000000001"
#define PORT_B "iqn.2024-01.test:b,i,0x23d000000002"
#define PORT_C "iqn.2024-01.test:c,i,0x23d000000003"

static const struct pr_nexus nx_a = {PORT_A, 1};
static const struct pr_nexus nx_b = {PORT_B, 1};
static const struct pr_nexus nx_c = {PORT_C, 1};

static enum pr_result reg(struct pr_state *st, const struct pr_nexus *n, uint64_t res_key,
			  uint64_t sa_key, struct pr_events *ev)
{
	struct pr_register_args a = {.res_key = res_key, .sa_key = sa_key};
	return pr_register(st, n, &a, ev);
}

static enum pr_result reg_ignore(struct pr_state *st, const struct pr_nexus *n, uint64_t sa_key)
{
	struct pr_register_args a = {.sa_key = sa_key, .ignore_existing = true};
	return pr_register(st, n, &a, NULL);
}

/* Number of events for port with the given ASC/ASCQ. */
static unsigned count_events(const struct pr_events *ev, const char *port, uint8_t asc,
			     uint8_t ascq)
{
	unsigned n = 0;
	for (unsigned i = 0; i < ev->count; i++)
		if (!strcmp(ev->ev[i].port, port) && ev->ev[i].asc == asc && ev->ev[i].ascq == ascq)
			n++;
	return n;
}

static int setup_state(void **state)
{
	*state = pr_state_new();
	return *state ? 0 : -1;
}

static int teardown_state(void **state)
{
	pr_state_free(*state);
	return 0;
}

/* --- registration --- */

static void test_register_new_key(void **state)
{
	struct pr_state *st = *state;
	assert_int_equal(reg(st, &nx_a, 0, 0x11, NULL), PR_OK);
	assert_true(pr_is_registered(st, &nx_a));
	assert_false(pr_is_registered(st, &nx_b));
	assert_int_equal(st->generation, 1);
	assert_int_equal(pr_find(st, &nx_a)->key, 0x11);
}

static void test_register_unregistered_nonzero_reskey_conflicts(void **state)
{
	struct pr_state *st = *state;
	assert_int_equal(reg(st, &nx_a, 0x99, 0x11, NULL), PR_CONFLICT);
	assert_false(pr_is_registered(st, &nx_a));
	assert_int_equal(st->generation, 0);
}

static void test_register_zero_key_unregistered_is_noop(void **state)
{
	struct pr_state *st = *state;
	assert_int_equal(reg(st, &nx_a, 0, 0, NULL), PR_OK);
	assert_int_equal(st->nregs, 0);
	assert_int_equal(st->generation, 0);
}

static void test_reregister_needs_current_key(void **state)
{
	struct pr_state *st = *state;
	assert_int_equal(reg(st, &nx_a, 0, 0x11, NULL), PR_OK);
	/* libiscsi's prout_reregister_key_fails: RESERVATION KEY 0, new key. */
	assert_int_equal(reg(st, &nx_a, 0, 0x12, NULL), PR_CONFLICT);
	assert_int_equal(reg(st, &nx_a, 0x11, 0x12, NULL), PR_OK);
	assert_int_equal(pr_find(st, &nx_a)->key, 0x12);
	assert_int_equal(st->generation, 2);
}

static void test_register_and_ignore_replaces_key(void **state)
{
	struct pr_state *st = *state;
	assert_int_equal(reg_ignore(st, &nx_a, 0x11), PR_OK);
	assert_int_equal(reg_ignore(st, &nx_a, 0x22), PR_OK);
	assert_int_equal(st->nregs, 1);
	assert_int_equal(pr_find(st, &nx_a)->key, 0x22);
}

static void test_unregister_with_zero_key(void **state)
{
	struct pr_state *st = *state;
	assert_int_equal(reg(st, &nx_a, 0, 0x11, NULL), PR_OK);
	assert_int_equal(reg(st, &nx_b, 0, 0x22, NULL), PR_OK);
	assert_int_equal(reg(st, &nx_a, 0x11, 0, NULL), PR_OK);
	assert_false(pr_is_registered(st, &nx_a));
	assert_true(pr_is_registered(st, &nx_b));
	assert_int_equal(st->generation, 3);
}

static void test_all_tg_pt_matches_every_port(void **state)
{
	struct pr_state *st = *state;
	struct pr_register_args a = {.sa_key = 0x11, .all_tg_pt = true};
	assert_int_equal(pr_register(st, &nx_a, &a, NULL), PR_OK);
	struct pr_nexus other_port = {PORT_A, 7};
	assert_true(pr_is_registered(st, &other_port));
	/* Nexus identity is the whole port name, ISID included; case does not matter. */
	struct pr_nexus upper = {"IQN.2024-01.TEST:A,I,0X23D000000001", 1};
	assert_true(pr_is_registered(st, &upper));
	struct pr_nexus other_isid = {"iqn.2024-01.test:a,i,0x23d000000009", 1};
	assert_false(pr_is_registered(st, &other_isid));
}

/* --- reserve / release --- */

static void test_reserve_needs_registration_and_key(void **state)
{
	struct pr_state *st = *state;
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, PR_TYPE_WE), PR_CONFLICT);
	assert_int_equal(reg(st, &nx_a, 0, 0x11, NULL), PR_OK);
	assert_int_equal(pr_reserve(st, &nx_a, 0x12, PR_TYPE_WE), PR_CONFLICT);
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, 0x2), PR_INVALID_TYPE);
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, PR_TYPE_WE), PR_OK);
	assert_int_equal(st->type, PR_TYPE_WE);
	assert_true(pr_is_holder(st, &nx_a));
	assert_int_equal(pr_reservation_key(st), 0x11);
	/* RESERVE does not change the generation. */
	assert_int_equal(st->generation, 1);
}

static void test_reserve_type_rules(void **state)
{
	struct pr_state *st = *state;
	reg(st, &nx_a, 0, 0x11, NULL);
	reg(st, &nx_b, 0, 0x22, NULL);
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, PR_TYPE_EA), PR_OK);
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, PR_TYPE_EA), PR_OK);
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, PR_TYPE_WE), PR_CONFLICT);
	assert_int_equal(pr_reserve(st, &nx_b, 0x22, PR_TYPE_EA), PR_CONFLICT);
	assert_false(pr_is_holder(st, &nx_b));
}

static void test_release_rules(void **state)
{
	struct pr_state *st = *state;
	reg(st, &nx_a, 0, 0x11, NULL);
	reg(st, &nx_b, 0, 0x22, NULL);
	/* Nothing reserved: GOOD, nothing happens. */
	assert_int_equal(pr_release(st, &nx_a, 0x11, PR_TYPE_WE, NULL), PR_OK);
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, PR_TYPE_WE), PR_OK);
	/* Non-holder: GOOD, reservation stays. */
	assert_int_equal(pr_release(st, &nx_b, 0x22, PR_TYPE_WE, NULL), PR_OK);
	assert_int_equal(st->type, PR_TYPE_WE);
	assert_int_equal(pr_release(st, &nx_a, 0x12, PR_TYPE_WE, NULL), PR_CONFLICT);
	assert_int_equal(pr_release(st, &nx_a, 0x11, PR_TYPE_EA, NULL), PR_INVALID_RELEASE);
	struct pr_events ev = {0};
	assert_int_equal(pr_release(st, &nx_a, 0x11, PR_TYPE_WE, &ev), PR_OK);
	assert_int_equal(st->type, PR_TYPE_NONE);
	assert_int_equal(ev.count, 0); /* no UA for Write Exclusive */
	assert_int_equal(st->generation, 2);
}

static void test_release_registrants_only_notifies_others(void **state)
{
	struct pr_state *st = *state;
	reg(st, &nx_a, 0, 0x11, NULL);
	reg(st, &nx_b, 0, 0x22, NULL);
	reg(st, &nx_c, 0, 0x33, NULL);
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, PR_TYPE_WE_RO), PR_OK);
	struct pr_events ev = {0};
	assert_int_equal(pr_release(st, &nx_a, 0x11, PR_TYPE_WE_RO, &ev), PR_OK);
	assert_int_equal(ev.count, 2);
	assert_int_equal(count_events(&ev, PORT_B, ASC_RESERVATIONS_RELEASED), 1);
	assert_int_equal(count_events(&ev, PORT_C, ASC_RESERVATIONS_RELEASED), 1);
	pr_events_free(&ev);
}

static void test_holder_unregister_releases(void **state)
{
	struct pr_state *st = *state;
	reg(st, &nx_a, 0, 0x11, NULL);
	reg(st, &nx_b, 0, 0x22, NULL);
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, PR_TYPE_EA_RO), PR_OK);
	struct pr_events ev = {0};
	assert_int_equal(reg(st, &nx_a, 0x11, 0, &ev), PR_OK);
	assert_int_equal(st->type, PR_TYPE_NONE);
	assert_int_equal(count_events(&ev, PORT_B, ASC_RESERVATIONS_RELEASED), 1);
	assert_int_equal(ev.count, 1);
	pr_events_free(&ev);
}

static void test_all_registrants_semantics(void **state)
{
	struct pr_state *st = *state;
	reg(st, &nx_a, 0, 0x11, NULL);
	reg(st, &nx_b, 0, 0x22, NULL);
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, PR_TYPE_EA_AR), PR_OK);
	/* Every registrant holds it; the reported key is zero. */
	assert_true(pr_is_holder(st, &nx_a));
	assert_true(pr_is_holder(st, &nx_b));
	assert_int_equal(pr_reservation_key(st), 0);
	assert_int_equal(pr_reserve(st, &nx_b, 0x22, PR_TYPE_EA_AR), PR_OK);
	/* The reserving nexus leaving does not end it ... */
	assert_int_equal(reg(st, &nx_a, 0x11, 0, NULL), PR_OK);
	assert_int_equal(st->type, PR_TYPE_EA_AR);
	/* ... and any remaining registrant may release it. */
	assert_int_equal(pr_release(st, &nx_b, 0x22, PR_TYPE_EA_AR, NULL), PR_OK);
	assert_int_equal(st->type, PR_TYPE_NONE);
}

static void test_all_registrants_ends_with_last_registrant(void **state)
{
	struct pr_state *st = *state;
	reg(st, &nx_a, 0, 0x11, NULL);
	reg(st, &nx_b, 0, 0x22, NULL);
	assert_int_equal(pr_reserve(st, &nx_b, 0x22, PR_TYPE_WE_AR), PR_OK);
	reg(st, &nx_a, 0x11, 0, NULL);
	assert_int_equal(st->type, PR_TYPE_WE_AR);
	reg(st, &nx_b, 0x22, 0, NULL);
	assert_int_equal(st->type, PR_TYPE_NONE);
	assert_int_equal(st->nregs, 0);
}

/* --- clear / preempt --- */

static void test_clear(void **state)
{
	struct pr_state *st = *state;
	reg(st, &nx_a, 0, 0x11, NULL);
	reg(st, &nx_b, 0, 0x22, NULL);
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, PR_TYPE_EA), PR_OK);
	uint32_t gen = st->generation;
	assert_int_equal(pr_clear(st, &nx_c, 0x33, NULL), PR_CONFLICT);
	assert_int_equal(pr_clear(st, &nx_b, 0x23, NULL), PR_CONFLICT);
	struct pr_events ev = {0};
	assert_int_equal(pr_clear(st, &nx_b, 0x22, &ev), PR_OK);
	assert_int_equal(st->nregs, 0);
	assert_int_equal(st->type, PR_TYPE_NONE);
	assert_int_equal(st->generation, gen + 1);
	assert_int_equal(ev.count, 1);
	assert_int_equal(count_events(&ev, PORT_A, ASC_RESERVATIONS_PREEMPTED), 1);
	pr_events_free(&ev);
}

static void test_preempt_registration_only(void **state)
{
	struct pr_state *st = *state;
	reg_ignore(st, &nx_a, 0x11);
	reg_ignore(st, &nx_b, 0x22);
	uint32_t gen = st->generation;
	struct pr_events ev = {0};
	/* test_prout_preempt_rm_reg: B preempts A's key, no reservation. */
	assert_int_equal(pr_preempt(st, &nx_b, 0x22, 0x11, PR_TYPE_EA, false, &ev), PR_OK);
	assert_false(pr_is_registered(st, &nx_a));
	assert_true(pr_is_registered(st, &nx_b));
	assert_int_equal(st->type, PR_TYPE_NONE);
	assert_int_equal(st->generation, gen + 1);
	assert_int_equal(ev.count, 1);
	assert_int_equal(count_events(&ev, PORT_A, ASC_REGISTRATIONS_PREEMPTED), 1);
	pr_events_free(&ev);
}

static void test_preempt_errors(void **state)
{
	struct pr_state *st = *state;
	reg_ignore(st, &nx_a, 0x11);
	reg_ignore(st, &nx_b, 0x22);
	assert_int_equal(pr_preempt(st, &nx_c, 0x33, 0x11, PR_TYPE_EA, false, NULL), PR_CONFLICT);
	assert_int_equal(pr_preempt(st, &nx_b, 0x21, 0x11, PR_TYPE_EA, false, NULL), PR_CONFLICT);
	/* A key nobody holds: RESERVATION CONFLICT. */
	assert_int_equal(pr_preempt(st, &nx_b, 0x22, 0x77, PR_TYPE_EA, false, NULL), PR_CONFLICT);
	/* Zero key without an all-registrants reservation. */
	assert_int_equal(pr_preempt(st, &nx_b, 0x22, 0, PR_TYPE_EA, false, NULL), PR_INVALID_PARAM);
	assert_int_equal(st->nregs, 2);
	assert_int_equal(st->generation, 2);
}

static void test_preempt_holder_takes_reservation(void **state)
{
	struct pr_state *st = *state;
	reg_ignore(st, &nx_a, 0x11);
	reg_ignore(st, &nx_b, 0x22);
	reg_ignore(st, &nx_c, 0x33);
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, PR_TYPE_WE), PR_OK);
	struct pr_events ev = {0};
	assert_int_equal(pr_preempt(st, &nx_b, 0x22, 0x11, PR_TYPE_EA, true, &ev), PR_OK);
	assert_false(pr_is_registered(st, &nx_a));
	assert_true(pr_is_holder(st, &nx_b));
	assert_int_equal(st->type, PR_TYPE_EA);
	assert_int_equal(pr_reservation_key(st), 0x22);
	assert_int_equal(count_events(&ev, PORT_A, ASC_REGISTRATIONS_PREEMPTED), 1);
	assert_int_equal(count_events(&ev, PORT_A, ASC_COMMANDS_CLEARED_BY_ANOTHER_INITIATOR), 1);
	/* Type changed: the remaining registrant C hears of it. */
	assert_int_equal(count_events(&ev, PORT_C, ASC_RESERVATIONS_RELEASED), 1);
	assert_int_equal(count_events(&ev, PORT_B, ASC_RESERVATIONS_RELEASED), 0);
	pr_events_free(&ev);
}

static void test_preempt_all_registrants_zero_key(void **state)
{
	struct pr_state *st = *state;
	reg_ignore(st, &nx_a, 0x11);
	reg_ignore(st, &nx_b, 0x22);
	reg_ignore(st, &nx_c, 0x33);
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, PR_TYPE_WE_AR), PR_OK);
	struct pr_events ev = {0};
	assert_int_equal(pr_preempt(st, &nx_b, 0x22, 0, PR_TYPE_WE, false, &ev), PR_OK);
	assert_int_equal(st->nregs, 1);
	assert_true(pr_is_holder(st, &nx_b));
	assert_int_equal(st->type, PR_TYPE_WE);
	assert_int_equal(count_events(&ev, PORT_A, ASC_REGISTRATIONS_PREEMPTED), 1);
	assert_int_equal(count_events(&ev, PORT_C, ASC_REGISTRATIONS_PREEMPTED), 1);
	pr_events_free(&ev);
}

static void test_register_and_move(void **state)
{
	struct pr_state *st = *state;
	reg_ignore(st, &nx_a, 0x11);
	assert_int_equal(pr_register_and_move(st, &nx_a, 0x11, 0x44, &nx_b, false, false, NULL),
			 PR_CONFLICT); /* not a holder */
	assert_int_equal(pr_reserve(st, &nx_a, 0x11, PR_TYPE_EA), PR_OK);
	assert_int_equal(pr_register_and_move(st, &nx_a, 0x11, 0x44, &nx_a, false, false, NULL),
			 PR_INVALID_PARAM);
	assert_int_equal(pr_register_and_move(st, &nx_a, 0x11, 0x44, &nx_b, true, false, NULL),
			 PR_OK);
	assert_false(pr_is_registered(st, &nx_a));
	assert_true(pr_is_holder(st, &nx_b));
	assert_int_equal(pr_reservation_key(st), 0x44);
	assert_int_equal(st->type, PR_TYPE_EA);
}

static void test_serialise_roundtrip(void **state)
{
	struct pr_state *st = *state;
	struct pr_register_args a = {
	    .sa_key = 0xabcdef0123456789ull, .aptpl = true, .all_tg_pt = true};
	reg_ignore(st, &nx_b, 0x22);
	/* APTPL is the one of the latest registration. */
	pr_register(st, &nx_a, &a, NULL);
	pr_reserve(st, &nx_b, 0x22, PR_TYPE_WE_RO);
	size_t need = pr_state_serialise(st, NULL, 0);
	char *buf = malloc(need + 1);
	assert_non_null(buf);
	assert_int_equal(pr_state_serialise(st, buf, need + 1), need);
	struct pr_state *copy = pr_state_deserialise(buf);
	free(buf);
	assert_non_null(copy);
	assert_int_equal(copy->generation, st->generation);
	assert_true(copy->aptpl);
	assert_int_equal(copy->type, PR_TYPE_WE_RO);
	assert_int_equal(copy->nregs, 2);
	assert_int_equal(pr_find(copy, &nx_a)->key, 0xabcdef0123456789ull);
	assert_true(pr_find(copy, &nx_a)->all_tg_pt);
	assert_true(pr_is_holder(copy, &nx_b));
	pr_state_free(copy);
}

static void test_deserialise_rejects_bad_text(void **state)
{
	assert_null(pr_state_deserialise("garbage\n"));
	assert_null(pr_state_deserialise("uscst-pr 1\nreservation 2 0\n"));
	/* A single-holder type without its holder. */
	assert_null(pr_state_deserialise("uscst-pr 1\nreservation 1 0\n"
					 "registrant 1 0 0 0x11 " PORT_A "\n"));
	struct pr_state *st = pr_state_deserialise("uscst-pr 1\ngeneration 5\n");
	assert_non_null(st);
	assert_int_equal(st->generation, 5);
	pr_state_free(st);
}

/* --- conflict table --- */

static void test_classify_cdb(void **state)
{
	uint8_t cdb[16] = {0};
	cdb[0] = 0x28; /* READ(10) */
	assert_int_equal(pr_classify_cdb(cdb), PR_CLASS_READ);
	cdb[0] = 0x2a; /* WRITE(10) */
	assert_int_equal(pr_classify_cdb(cdb), PR_CLASS_WRITE);
	cdb[0] = 0x12; /* INQUIRY */
	assert_int_equal(pr_classify_cdb(cdb), PR_CLASS_ALLOWED);
	cdb[0] = 0x00; /* TEST UNIT READY */
	assert_int_equal(pr_classify_cdb(cdb), PR_CLASS_ALLOWED);
	cdb[0] = 0x5f;
	assert_int_equal(pr_classify_cdb(cdb), PR_CLASS_OWN);
	cdb[0] = 0x9e;
	cdb[1] = 0x10; /* READ CAPACITY(16) */
	assert_int_equal(pr_classify_cdb(cdb), PR_CLASS_ALLOWED);
	cdb[1] = 0x12; /* GET LBA STATUS */
	assert_int_equal(pr_classify_cdb(cdb), PR_CLASS_READ);
	cdb[0] = 0x35; /* SYNCHRONIZE CACHE(10) */
	assert_int_equal(pr_classify_cdb(cdb), PR_CLASS_WRITE);
}

/* The read/write expectations of libiscsi's test_prout_reserve_access_*:
 * {type, reg read, reg write, unreg read, unreg write} for a non-holder. */
static void test_conflict_table(void **state)
{
	static const struct {
		uint8_t type;
		bool reg_read, reg_write, unreg_read, unreg_write;
	} rows[] = {
	    {PR_TYPE_EA, false, false, false, false},  {PR_TYPE_WE, true, false, true, false},
	    {PR_TYPE_EA_RO, true, true, false, false}, {PR_TYPE_WE_RO, true, true, true, false},
	    {PR_TYPE_EA_AR, true, true, false, false}, {PR_TYPE_WE_AR, true, true, true, false},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t t = rows[i].type;
		assert_int_equal(!pr_class_conflicts(t, true, PR_CLASS_READ), rows[i].reg_read);
		assert_int_equal(!pr_class_conflicts(t, true, PR_CLASS_WRITE), rows[i].reg_write);
		assert_int_equal(!pr_class_conflicts(t, false, PR_CLASS_READ), rows[i].unreg_read);
		assert_int_equal(!pr_class_conflicts(t, false, PR_CLASS_WRITE),
				 rows[i].unreg_write);
		assert_false(pr_class_conflicts(t, false, PR_CLASS_ALLOWED));
		assert_false(pr_class_conflicts(t, false, PR_CLASS_OWN));
	}
	assert_false(pr_class_conflicts(PR_TYPE_NONE, false, PR_CLASS_WRITE));
}

static void test_spc2_allowed_commands(void **state)
{
	uint8_t cdb[16] = {0};
	static const uint8_t allowed[] = {0x00, 0x03, 0x12, 0xa0, 0x17, 0x57, 0x5e};
	static const uint8_t refused[] = {0x1a, 0x28, 0x2a, 0x16, 0x56, 0x5f, 0x25};
	for (size_t i = 0; i < sizeof(allowed); i++) {
		cdb[0] = allowed[i];
		assert_true(spc2_allowed_for_others(cdb));
	}
	for (size_t i = 0; i < sizeof(refused); i++) {
		cdb[0] = refused[i];
		assert_false(spc2_allowed_for_others(cdb));
	}
}

/* --- handlers, on two sessions to one device --- */

static struct uscst_device dev;
static struct uscst_lun_map map;
static struct uscst_target tgt;
static struct uscst_session *sess_a, *sess_b;
static unsigned done_calls;

static void cmd_done(struct uscst_cmd *cmd) { done_calls++; }

static int setup_devices(void **state)
{
	fixture_device_init(&dev, "disk0", 512, 2048);
	fixture_target_init(&tgt, &map, &dev, "iqn.2024-01.test:tgt", 1);
	sess_a = uscst_session_create(&tgt, "iqn.2024-01.test:a", PORT_A);
	sess_b = uscst_session_create(&tgt, "iqn.2024-01.test:b", PORT_B);
	if (!sess_a || !sess_b)
		return -1;
	fixture_drain_uas(sess_a, 0);
	fixture_drain_uas(sess_b, 0);
	return 0;
}

static int teardown_devices(void **state)
{
	uscst_session_destroy(sess_a);
	uscst_session_destroy(sess_b);
	pr_state_free(dev.pr);
	dev.pr = NULL;
	return 0;
}

/* A command on LUN 0 (dev) from s. */
static void init_cmd(struct uscst_cmd *cmd, struct uscst_session *s, const uint8_t *cdb,
		     unsigned cdb_len)
{
	fixture_cmd_init(cmd, s, 0, cdb, cdb_len, cmd_done);
}

/* Runs PR OUT with a basic parameter list; sent bytes may be < 24. */
static uint8_t run_pr_out(struct uscst_session *s, uint8_t sa, uint8_t type, uint64_t res_key,
			  uint64_t sa_key, uint32_t param_len, uint32_t sent, uint8_t *sense_asc)
{
	uint8_t cdb[10] = {0x5f, sa, type};
	put_be32(cdb + 5, param_len);
	struct uscst_cmd cmd;
	init_cmd(&cmd, s, cdb, sizeof(cdb));
	uint8_t *buf = uscst_cmd_alloc_out(&cmd, sent);
	assert_non_null(buf);
	uint8_t param[24] = {0};
	put_be64(param, res_key);
	put_be64(param + 8, sa_key);
	memcpy(buf, param, sent < 24 ? sent : 24);
	unsigned before = done_calls;
	spc_pr_out(&cmd);
	assert_int_equal(done_calls, before + 1);
	if (sense_asc)
		*sense_asc = cmd.sense_len ? cmd.sense[12] : 0;
	uscst_cmd_release(&cmd);
	return cmd.status;
}

static void run_pr_in(struct uscst_session *s, uint8_t sa, uint16_t alloc_len,
		      struct uscst_cmd *cmd)
{
	uint8_t cdb[10] = {0x5e, sa};
	put_be16(cdb + 7, alloc_len);
	init_cmd(cmd, s, cdb, sizeof(cdb));
	spc_pr_in(cmd);
}

static void test_pr_out_parameter_list_length(void **state)
{
	uint8_t asc;
	/* PARAMETER LIST LENGTH in the CDB too short. */
	assert_int_equal(run_pr_out(sess_a, 0x06, 0, 0, 0x11, 20, 20, &asc),
			 SAM_STAT_CHECK_CONDITION);
	assert_int_equal(asc, 0x1a);
	/* CDB says 24 but the initiator sent less. */
	assert_int_equal(run_pr_out(sess_a, 0x06, 0, 0, 0x11, 24, 10, &asc),
			 SAM_STAT_CHECK_CONDITION);
	assert_int_equal(asc, 0x1a);
	/* Longer than 24 without SPEC_I_PT. */
	assert_int_equal(run_pr_out(sess_a, 0x06, 0, 0, 0x11, 28, 24, &asc),
			 SAM_STAT_CHECK_CONDITION);
	assert_int_equal(asc, 0x1a);
	/* Scope other than LU_SCOPE, unknown type. */
	assert_int_equal(run_pr_out(sess_a, 0x01, 0x11, 0x11, 0, 24, 24, &asc),
			 SAM_STAT_CHECK_CONDITION);
	assert_int_equal(asc, 0x24);
	assert_int_equal(run_pr_out(sess_a, 0x01, 0x02, 0x11, 0, 24, 24, &asc),
			 SAM_STAT_CHECK_CONDITION);
	assert_int_equal(asc, 0x24);
}

static void test_pr_in_read_keys_truncated(void **state)
{
	assert_int_equal(run_pr_out(sess_a, 0x06, 0, 0, 0x1111, 24, 24, NULL), SAM_STAT_GOOD);
	assert_int_equal(run_pr_out(sess_b, 0x06, 0, 0, 0x2222, 24, 24, NULL), SAM_STAT_GOOD);
	struct uscst_cmd cmd;
	run_pr_in(sess_a, 0x00, 8, &cmd);
	assert_int_equal(cmd.status, SAM_STAT_GOOD);
	assert_int_equal(cmd.in_len, 8);
	assert_int_equal(get_be32(cmd.in_buf + 4), 16); /* untruncated ADDITIONAL LENGTH */
	uscst_cmd_release(&cmd);
	run_pr_in(sess_a, 0x00, 16384, &cmd);
	assert_int_equal(cmd.in_len, 24);
	assert_int_equal(get_be64(cmd.in_buf + 8), 0x1111);
	assert_int_equal(get_be64(cmd.in_buf + 16), 0x2222);
	uscst_cmd_release(&cmd);
}

static void test_pr_in_report_capabilities(void **state)
{
	struct uscst_cmd cmd;
	run_pr_in(sess_a, 0x02, 16384, &cmd);
	assert_int_equal(cmd.status, SAM_STAT_GOOD);
	assert_int_equal(cmd.in_len, 8);
	assert_int_equal(get_be16(cmd.in_buf), 8);
	assert_int_equal(cmd.in_buf[2] & 0x10, 0x10);	    /* CRH */
	assert_int_equal(cmd.in_buf[3] & 0x80, 0x80);	    /* TMV */
	assert_true(((cmd.in_buf[3] >> 4) & 7) <= 5);	    /* ALLOW COMMANDS */
	assert_int_equal(get_be16(cmd.in_buf + 4), 0xea01); /* all six types */
	uscst_cmd_release(&cmd);
	run_pr_in(sess_a, 0x04, 16384, &cmd);
	assert_int_equal(cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(cmd.sense[12], 0x24);
	uscst_cmd_release(&cmd);
}

static void test_pr_in_read_full_status(void **state)
{
	assert_int_equal(run_pr_out(sess_a, 0x06, 0, 0, 0x1111, 24, 24, NULL), SAM_STAT_GOOD);
	assert_int_equal(run_pr_out(sess_a, 0x01, PR_TYPE_WE, 0x1111, 0, 24, 24, NULL),
			 SAM_STAT_GOOD);
	struct uscst_cmd cmd;
	run_pr_in(sess_b, 0x03, 16384, &cmd);
	assert_int_equal(cmd.status, SAM_STAT_GOOD);
	const uint8_t *d = cmd.in_buf + 8;
	assert_int_equal(get_be64(d), 0x1111);
	assert_int_equal(d[12] & 0x01, 0x01); /* R_HOLDER */
	assert_int_equal(d[13], PR_TYPE_WE);
	assert_int_equal(get_be16(d + 18), 1);
	uint32_t tid_len = get_be32(d + 20);
	assert_int_equal(tid_len % 4, 0);
	assert_int_equal(d[24], 0x45); /* format 01b, iSCSI */
	assert_string_equal((const char *)d + 28, PORT_A);
	assert_int_equal(get_be32(cmd.in_buf + 4), 24 + tid_len);
	uscst_cmd_release(&cmd);
}

static bool conflicts(struct uscst_session *s, uint8_t opcode)
{
	uint8_t cdb[10] = {opcode};
	struct uscst_cmd cmd;
	init_cmd(&cmd, s, cdb, sizeof(cdb));
	return scsi_reservation_conflict(&cmd);
}

static void test_pr_out_preempt_sets_unit_attention(void **state)
{
	assert_int_equal(run_pr_out(sess_a, 0x06, 0, 0, 0x1111, 24, 24, NULL), SAM_STAT_GOOD);
	assert_int_equal(run_pr_out(sess_b, 0x06, 0, 0, 0x2222, 24, 24, NULL), SAM_STAT_GOOD);
	assert_int_equal(run_pr_out(sess_a, 0x01, PR_TYPE_EA, 0x1111, 0, 24, 24, NULL),
			 SAM_STAT_GOOD);
	assert_true(conflicts(sess_b, 0x28));
	assert_false(conflicts(sess_a, 0x28));
	assert_false(conflicts(sess_b, 0x12));
	assert_int_equal(run_pr_out(sess_b, 0x04, PR_TYPE_EA, 0x2222, 0x1111, 24, 24, NULL),
			 SAM_STAT_GOOD);
	uint8_t asc, ascq;
	assert_true(ua_take(sess_a, 0, &asc, &ascq));
	assert_int_equal(asc, 0x2a);
	assert_int_equal(ascq, 0x05);
	assert_false(ua_take(sess_b, 0, &asc, &ascq));
	assert_true(conflicts(sess_a, 0x28));
	assert_false(conflicts(sess_b, 0x2a));
	/* A no longer registered: RESERVATION CONFLICT for RESERVE. */
	assert_int_equal(run_pr_out(sess_a, 0x01, PR_TYPE_EA, 0x1111, 0, 24, 24, NULL),
			 SAM_STAT_RESERVATION_CONFLICT);
}

static uint8_t run_simple(struct uscst_session *s, uint8_t opcode, void (*fn)(struct uscst_cmd *))
{
	uint8_t cdb[6] = {opcode};
	struct uscst_cmd cmd;
	init_cmd(&cmd, s, cdb, sizeof(cdb));
	if (scsi_reservation_conflict(&cmd))
		return SAM_STAT_RESERVATION_CONFLICT;
	fn(&cmd);
	return cmd.status;
}

static void test_spc2_reserve_release(void **state)
{
	assert_int_equal(run_simple(sess_a, 0x16, spc_reserve), SAM_STAT_GOOD);
	assert_int_equal(run_simple(sess_a, 0x16, spc_reserve), SAM_STAT_GOOD);
	assert_int_equal(run_simple(sess_b, 0x16, spc_reserve), SAM_STAT_RESERVATION_CONFLICT);
	/* RELEASE from a non-holder: GOOD, no effect. */
	assert_int_equal(run_simple(sess_b, 0x17, spc_release), SAM_STAT_GOOD);
	assert_true(conflicts(sess_b, 0x1a)); /* MODE SENSE(6) */
	assert_false(conflicts(sess_a, 0x1a));
	assert_false(conflicts(sess_b, 0x12));
	assert_int_equal(run_simple(sess_a, 0x17, spc_release), SAM_STAT_GOOD);
	assert_int_equal(run_simple(sess_b, 0x16, spc_reserve), SAM_STAT_GOOD);
	/* LUN reset and nexus loss drop it. */
	scsi_reservations_reset(&dev);
	assert_int_equal(dev.spc2_holder, 0);
	assert_int_equal(run_simple(sess_a, 0x16, spc_reserve), SAM_STAT_GOOD);
	scsi_reservations_nexus_lost(&dev, sess_b);
	assert_int_equal(dev.spc2_holder, sess_a->id);
	scsi_reservations_nexus_lost(&dev, sess_a);
	assert_int_equal(dev.spc2_holder, 0);
}

static void test_spc2_reserve_with_registrations(void **state)
{
	/* (A third-party RESERVE is refused by dispatch's usage mask:
	 * test_dispatch.c.)  Registrations exist: RESERVE conflicts; the PR holder gets GOOD. */
	assert_int_equal(run_pr_out(sess_a, 0x06, 0, 0, 0x1111, 24, 24, NULL), SAM_STAT_GOOD);
	assert_int_equal(run_simple(sess_b, 0x16, spc_reserve), SAM_STAT_RESERVATION_CONFLICT);
	assert_int_equal(run_pr_out(sess_a, 0x01, PR_TYPE_WE, 0x1111, 0, 24, 24, NULL),
			 SAM_STAT_GOOD);
	assert_int_equal(run_simple(sess_a, 0x16, spc_reserve), SAM_STAT_GOOD);
	assert_int_equal(dev.spc2_holder, 0);
	/* PR OUT conflicts when another nexus holds an SPC-2 reservation. */
	assert_int_equal(run_pr_out(sess_a, 0x03, 0, 0x1111, 0, 24, 24, NULL), SAM_STAT_GOOD);
	assert_int_equal(run_simple(sess_b, 0x16, spc_reserve), SAM_STAT_GOOD);
	assert_true(conflicts(sess_a, 0x5f));
	assert_false(conflicts(sess_a, 0x5e));
	scsi_reservations_reset(&dev);
}

#define STATE_TEST(f) cmocka_unit_test_setup_teardown(f, setup_state, teardown_state)
#define DEV_TEST(f) cmocka_unit_test_setup_teardown(f, setup_devices, teardown_devices)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    STATE_TEST(test_register_new_key),
	    STATE_TEST(test_register_unregistered_nonzero_reskey_conflicts),
	    STATE_TEST(test_register_zero_key_unregistered_is_noop),
	    STATE_TEST(test_reregister_needs_current_key),
	    STATE_TEST(test_register_and_ignore_replaces_key),
	    STATE_TEST(test_unregister_with_zero_key),
	    STATE_TEST(test_all_tg_pt_matches_every_port),
	    STATE_TEST(test_reserve_needs_registration_and_key),
	    STATE_TEST(test_reserve_type_rules),
	    STATE_TEST(test_release_rules),
	    STATE_TEST(test_release_registrants_only_notifies_others),
	    STATE_TEST(test_holder_unregister_releases),
	    STATE_TEST(test_all_registrants_semantics),
	    STATE_TEST(test_all_registrants_ends_with_last_registrant),
	    STATE_TEST(test_clear),
	    STATE_TEST(test_preempt_registration_only),
	    STATE_TEST(test_preempt_errors),
	    STATE_TEST(test_preempt_holder_takes_reservation),
	    STATE_TEST(test_preempt_all_registrants_zero_key),
	    STATE_TEST(test_register_and_move),
	    STATE_TEST(test_serialise_roundtrip),
	    cmocka_unit_test(test_deserialise_rejects_bad_text),
	    cmocka_unit_test(test_classify_cdb),
	    cmocka_unit_test(test_conflict_table),
	    cmocka_unit_test(test_spc2_allowed_commands),
	    DEV_TEST(test_pr_out_parameter_list_length),
	    DEV_TEST(test_pr_in_read_keys_truncated),
	    DEV_TEST(test_pr_in_report_capabilities),
	    DEV_TEST(test_pr_in_read_full_status),
	    DEV_TEST(test_pr_out_preempt_sets_unit_attention),
	    DEV_TEST(test_spc2_reserve_release),
	    DEV_TEST(test_spc2_reserve_with_registrations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
