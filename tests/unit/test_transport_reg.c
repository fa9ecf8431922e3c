/*
 * The transport registry (core/transports.c, include/uscst/transport_reg.h):
 * registration rules, TARGET_DRIVER names and attributes checked through
 * the owning transport's tables (by the core and by the configuration
 * code), iSCSI's table agreeing with what a login loads, driver attribute
 * values, start/stop order and `show config`.
 *
 * The registry has no removal, so every test registers transports of its
 * own names.  None of them serves anything: the real iSCSI driver is not
 * registered here (its start would open portals); its target table is, under
 * another name.
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
#include "config/conf_apply.h"
#include "config/conf_writer.h"
#include "core/core.h"
#include "core/transports.h"
#include "iscsi/params.h"
#include "lib/log.h"
#include "scsi/scsi.h"

/* ---- fakes ---- */

static char calls[512];	       /* "start:a stop:a ..." */
static const char *fail_start; /* name of a transport whose start fails */

static void record(const char *what, const struct uscst_transport *t)
{
	size_t len = strlen(calls);
	snprintf(calls + len, sizeof(calls) - len, "%s%s:%s", len ? " " : "", what, t->name);
}

static int fake_start(const struct uscst_transport *t, char *err, size_t errlen)
{
	record("start", t);
	if (fail_start && strcmp(fail_start, t->name) == 0) {
		snprintf(err, errlen, "%s: cannot start", t->name);
		return -1;
	}
	return 0;
}

static void fake_stop(const struct uscst_transport *t) { record("stop", t); }

static unsigned fake_open_conns; /* what fake-a's active says */

static void fake_quiesce(const struct uscst_transport *t, unsigned wait_s)
{
	char what[32];
	snprintf(what, sizeof(what), "quiesce(%u)", wait_s);
	record(what, t);
}

static unsigned fake_active(const struct uscst_transport *t) { return fake_open_conns; }

static bool check_even(const struct uscst_attr_def *d, const char *value, char *err, size_t errlen)
{
	char *end;
	unsigned long v = strtoul(value, &end, 10);
	if (*value && !*end && v % 2 == 0)
		return true;
	snprintf(err, errlen, "%s: expected an even number, got '%s'", d->name, value);
	return false;
}

static const struct uscst_attr_def fake_target_attrs[] = {
    {.name = "Depth", .type = USCST_ATTR_UINT, .min = 1, .max = 64, .def = "8"},
    {.name = "Fast", .type = USCST_ATTR_YESNO, .def = "No"},
    {.name = "Even", .type = USCST_ATTR_STRING, .check = check_even},
    {.name = "Secret", .type = USCST_ATTR_STRING, .flags = USCST_ATTR_NOT_BUILT},
    {.name = NULL},
};

static const struct uscst_attr_def fake_driver_attrs[] = {
    {.name = "enabled", .type = USCST_ATTR_BOOL},
    {.name = "portal", .type = USCST_ATTR_STRING, .flags = USCST_ATTR_MULTI, .def = "any"},
    {.name = "mode", .type = USCST_ATTR_STRING, .def = "normal"},
    {.name = "isns", .type = USCST_ATTR_STRING, .flags = USCST_ATTR_NOT_BUILT},
    {.name = NULL},
};

#define FAKE(n)                                                                                    \
	{                                                                                          \
		.name = n, .target_attrs = fake_target_attrs, .driver_attrs = fake_driver_attrs,   \
		.start = fake_start, .stop = fake_stop                                             \
	}

/* fake-a has the graceful-stop hooks, fake-b none (both are optional). */
static const struct uscst_transport fake_a = {
    .name = "fake-a",
    .target_attrs = fake_target_attrs,
    .driver_attrs = fake_driver_attrs,
    .start = fake_start,
    .stop = fake_stop,
    .quiesce = fake_quiesce,
    .active = fake_active,
};
static const struct uscst_transport fake_b = FAKE("fake-b");
static const struct uscst_transport fake_a_again = FAKE("fake-a");
/* iSCSI's real target table, without its portals. */
static const struct uscst_transport iscsi_table = {
    .name = "iscsi-table",
    .target_attrs = iscsi_target_attrs,
    .start = fake_start,
    .stop = fake_stop,
};

/* Registered once for the whole run (registration cannot be undone). */
static int setup_registry(void **state)
{
	if (uscst_transport_register(&fake_a, USCST_TRANSPORT_ABI) != 0 ||
	    uscst_transport_register(&fake_b, USCST_TRANSPORT_ABI) != 0 ||
	    uscst_transport_register(&iscsi_table, USCST_TRANSPORT_ABI) != 0)
		return -1;
	return 0;
}

/* Loads text ("t.conf"); expects refusal with a message starting with
 * "t.conf:LINE: " and containing want. */
static void expect_refused(const char *text, int line, const char *want)
{
	struct conf_result res;
	char err[512] = "", prefix[32];
	int rc = conf_load_text(text, "t.conf", &res, err, sizeof(err));
	conf_result_free(&res);
	if (rc == 0)
		fail_msg("accepted:\n%s", text);
	snprintf(prefix, sizeof(prefix), "t.conf:%d: ", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, want))
		fail_msg("message '%s', wanted '%s...%s'", err, prefix, want);
}

static void expect_loaded(const char *text)
{
	struct conf_result res;
	char err[512] = "";
	int rc = conf_load_text(text, "t.conf", &res, err, sizeof(err));
	conf_result_free(&res);
	if (rc != 0)
		fail_msg("refused: %s\n%s", err, text);
}

/* ---- registration ---- */

static void test_register_rules(void **state)
{
	/* Same name twice: refused, the first stays. */
	assert_int_equal(uscst_transport_register(&fake_a_again, USCST_TRANSPORT_ABI), -EEXIST);
	assert_ptr_equal(uscst_transport_find("fake-a"), &fake_a);
	/* Another ABI. */
	static const struct uscst_transport other_abi = FAKE("fake-abi");
	assert_int_equal(uscst_transport_register(&other_abi, USCST_TRANSPORT_ABI + 1), -EPROTO);
	assert_null(uscst_transport_find("fake-abi"));
	/* No start, no name, a name too long. */
	static const struct uscst_transport no_start = {.name = "fake-nostart", .stop = fake_stop};
	assert_int_equal(uscst_transport_register(&no_start, USCST_TRANSPORT_ABI), -EINVAL);
	static const struct uscst_transport no_name = {.start = fake_start, .stop = fake_stop};
	assert_int_equal(uscst_transport_register(&no_name, USCST_TRANSPORT_ABI), -EINVAL);
	static const struct uscst_transport long_name = FAKE("fake-0123456789012345678901234567");
	assert_int_equal(uscst_transport_register(&long_name, USCST_TRANSPORT_ABI), -EINVAL);
	/* A target attribute the core owns, an attribute twice. */
	static const struct uscst_attr_def takes_enabled[] = {
	    {.name = "enabled", .type = USCST_ATTR_BOOL}, {.name = NULL}};
	static const struct uscst_transport steals = {.name = "fake-steals",
						      .target_attrs = takes_enabled,
						      .start = fake_start,
						      .stop = fake_stop};
	assert_int_equal(uscst_transport_register(&steals, USCST_TRANSPORT_ABI), -EINVAL);
	static const struct uscst_attr_def twice[] = {{.name = "x", .type = USCST_ATTR_BOOL},
						      {.name = "x", .type = USCST_ATTR_BOOL},
						      {.name = NULL}};
	static const struct uscst_transport dup_attr = {
	    .name = "fake-dup", .driver_attrs = twice, .start = fake_start, .stop = fake_stop};
	assert_int_equal(uscst_transport_register(&dup_attr, USCST_TRANSPORT_ABI), -EINVAL);
	assert_null(uscst_transport_find("fake-dup"));

	/* Iteration: registration order. */
	assert_ptr_equal(uscst_transport_next(NULL), &fake_a);
	assert_ptr_equal(uscst_transport_next(&fake_a), &fake_b);
	assert_ptr_equal(uscst_transport_next(&fake_b), &iscsi_table);
	assert_null(uscst_transport_next(&iscsi_table));
}

/* ---- TARGET_DRIVER names ---- */

static void test_unknown_driver(void **state)
{
	char err[256] = "";
	assert_null(uscst_target_create("nosuch", "iqn.2026-11.test:x", err, sizeof(err)));
	assert_string_equal(err, "unknown target driver 'nosuch'");
	/* iSCSI is not registered in this binary: the core does not know it. */
	assert_null(uscst_target_create("iscsi", "iqn.2026-11.test:x", err, sizeof(err)));

	expect_refused("# a comment\nTARGET_DRIVER nosuch {\n}\n", 2,
		       "target driver 'nosuch' is not supported (one of 'fake-a', 'fake-b', "
		       "'iscsi-table')");
	char names[128];
	uscst_transport_names(names, sizeof(names));
	assert_string_equal(names, "'fake-a', 'fake-b', 'iscsi-table'");
}

/* ---- target attributes through the owner's table ---- */

static struct uscst_target *new_target(const struct uscst_transport *t, const char *suffix)
{
	char name[96], err[256] = "";
	snprintf(name, sizeof(name), "iqn.2026-11.test:%s", suffix);
	struct uscst_target *tgt = uscst_target_create(t->name, name, err, sizeof(err));
	if (!tgt)
		fail_msg("%s", err);
	assert_ptr_equal(tgt->transport, t);
	return tgt;
}

static void expect_attr(struct uscst_target *tgt, const char *name, const char *value,
			const char *want_err)
{
	char err[256] = "";
	bool ok = uscst_target_set_attr(tgt, name, value, err, sizeof(err));
	if (!want_err) {
		if (!ok)
			fail_msg("%s %s refused: %s", name, value, err);
		assert_string_equal(uscst_target_attr(tgt, name), value);
		return;
	}
	if (ok)
		fail_msg("%s %s accepted", name, value);
	assert_string_equal(err, want_err);
}

static void test_target_attrs_by_table(void **state)
{
	struct uscst_target *tgt = new_target(&fake_a, "attrs");
	expect_attr(tgt, "Depth", "64", NULL);
	expect_attr(tgt, "Depth", "65", "Depth: expected a number in 1..64, got '65'");
	expect_attr(tgt, "Depth", "0x10", "Depth: expected a number in 1..64, got '0x10'");
	expect_attr(tgt, "Depth", "", "Depth: expected a number in 1..64, got ''");
	expect_attr(tgt, "Fast", "yes", NULL);
	expect_attr(tgt, "Fast", "1", "Fast: expected Yes or No, got '1'");
	expect_attr(tgt, "Even", "12", NULL);
	expect_attr(tgt, "Even", "13", "Even: expected an even number, got '13'");
	expect_attr(tgt, "Secret", "x", "fake-a target attribute 'Secret' is not supported yet");
	expect_attr(tgt, "MaxBurstLength", "65536",
		    "unknown attribute 'MaxBurstLength' for target 'iqn.2026-11.test:attrs'");
	assert_null(uscst_target_attr(tgt, "MaxBurstLength"));
	/* The value in force is the last one set. */
	assert_string_equal(uscst_target_attr(tgt, "Depth"), "64");

	/* The core's own, for every transport. */
	char err[256] = "";
	assert_true(uscst_target_set_attr(tgt, "rel_tgt_id", "300", err, sizeof(err)));
	assert_int_equal(tgt->rel_tgt_id, 300);
	assert_true(uscst_target_set_attr(tgt, "enabled", "0", err, sizeof(err)));
	assert_false(tgt->enabled);
	expect_attr(tgt, "rel_tgt_id", "0", "rel_tgt_id: expected a number in 1..65535, got '0'");
	expect_attr(tgt, "enabled", "yes", "enabled: expected 0 or 1, got 'yes'");
	/* Not stored as transport attributes. */
	assert_null(uscst_target_attr(tgt, "enabled"));
}

/* The same checks from a configuration file, with FILE:LINE. */
static void test_target_attrs_in_config(void **state)
{
	static int n;
	char text[512];
	struct {
		const char *attr, *want; /* want NULL: accepted */
	} cases[] = {
	    {"Depth 4", NULL},
	    {"Depth 99", "Depth: expected a number in 1..64, got '99'"},
	    {"Even 3", "Even: expected an even number, got '3'"},
	    {"Nope 1", "unknown attribute 'Nope' for target 'iqn.2026-11.test:conf"},
	    {"Secret s", "fake-b target attribute 'Secret' is not supported yet"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n++;
		snprintf(text, sizeof(text),
			 "HANDLER vdisk_nullio {\n"
			 "\tDEVICE trnull%d {\n"
			 "\t\tsize_mb 1\n"
			 "\t}\n"
			 "}\n"
			 "TARGET_DRIVER fake-b {\n"
			 "\tTARGET iqn.2026-11.test:conf%d {\n"
			 "\t\t%s\n" /* line 8 */
			 "\t\tLUN 0 trnull%d\n"
			 "\t}\n"
			 "}\n",
			 n, n, cases[i].attr, n);
		if (cases[i].want)
			expect_refused(text, 8, cases[i].want);
		else
			expect_loaded(text);
	}
}

/* iSCSI's table: what the core accepts is exactly what a login loads. */
struct one_attr {
	const char *name, *value;
};

static const char *get_one(void *arg, const char *name)
{
	const struct one_attr *a = arg;
	return strcmp(a->name, name) == 0 ? a->value : NULL;
}

static void test_iscsi_table_matches_login(void **state)
{
	struct uscst_target *tgt = new_target(&iscsi_table, "iscsi-table");
	static const struct one_attr cases[] = {
	    {"MaxBurstLength", "65536"},
	    {"MaxBurstLength", "0x20000"},
	    {"MaxBurstLength", "511"},
	    {"MaxBurstLength", "-1"},
	    {"MaxBurstLength", ""},
	    {"FirstBurstLength", "16777215"},
	    {"FirstBurstLength", "16777216"},
	    {"InitialR2T", "Yes"},
	    {"InitialR2T", "no"},
	    {"InitialR2T", "1"},
	    {"InitialR2T", "maybe"},
	    {"HeaderDigest", "CRC32C,None"},
	    {"HeaderDigest", "crc32c"},
	    {"HeaderDigest", "None, CRC32C"},
	    {"HeaderDigest", "CRC32C,MD5"},
	    {"DataDigest", ""},
	    {"DataDigest", "CRC32C,,None"},
	    {"QueuedCommands", "0"},
	    {"QueuedCommands", "2048"},
	    {"NopInTimeout", "1"},
	    {"RspTimeout", "65535"},
	    {"MaxSessions", "0"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err1[256] = "", err2[256] = "";
		bool set =
		    uscst_target_set_attr(tgt, cases[i].name, cases[i].value, err1, sizeof(err1));
		struct iscsi_target_limits lim;
		iscsi_target_limits_init(&lim);
		bool loads = iscsi_target_limits_load(&lim, get_one, (void *)&cases[i], err2,
						      sizeof(err2)) == NULL;
		if (set != loads)
			fail_msg("%s '%s': the core %s it, a login %s it", cases[i].name,
				 cases[i].value, set ? "accepts" : "refuses",
				 loads ? "loads" : "refuses");
		if (!set)
			assert_string_equal(err1, err2);
	}
	char err[256] = "";
	/* The CHAP accounts have their own check (iscsi/chap.c); a login
	 * reads them itself, not through iscsi_target_limits_load(). */
	assert_false(uscst_target_set_attr(tgt, "IncomingUser", "joe", err, sizeof(err)));
	assert_string_equal(err, "IncomingUser: expected \"NAME SECRET\"");
	for (const struct uscst_attr_def *d = iscsi_target_attrs; d->name; d++) {
		char want[256];
		if (!(d->flags & USCST_ATTR_NOT_BUILT))
			continue;
		assert_false(uscst_target_set_attr(tgt, d->name, "x", err, sizeof(err)));
		snprintf(want, sizeof(want),
			 "iscsi-table target attribute '%s' is not supported yet", d->name);
		assert_string_equal(err, want);
	}
}

/* The table's defaults are valid and are what iscsi_target_limits_init() sets. */
static void test_iscsi_table_defaults(void **state)
{
	struct iscsi_target_limits lim;
	iscsi_target_limits_init(&lim);
	unsigned with_default = 0;
	for (const struct uscst_attr_def *d = iscsi_target_attrs; d->name; d++) {
		char err[256] = "";
		/* Not-built ones, the CHAP accounts, allowed_portal (none:
		 * every portal), portal_group (none: one portal group) and
		 * redirect_portal (none: no redirection) have no default. */
		if ((d->flags & USCST_ATTR_NOT_BUILT) || !strcmp(d->name, "IncomingUser") ||
		    !strcmp(d->name, "OutgoingUser") || !strcmp(d->name, "allowed_portal") ||
		    !strcmp(d->name, "portal_group") || !strcmp(d->name, "redirect_portal"))
			continue;
		assert_non_null(d->def);
		if (!uscst_attr_check(d, d->def, err, sizeof(err)))
			fail_msg("default of %s: %s", d->name, err);
		with_default++;
	}
	assert_int_equal(with_default, 18); /* redirect_type: temporary; MaxConnections */
	assert_int_equal(lim.max_connections, 1);
	assert_int_equal(lim.max_recv_data_segment_length, 262144);
	assert_int_equal(lim.max_xmit_data_segment_length, 262144);
	assert_int_equal(lim.max_burst_length, 1048576);
	assert_int_equal(lim.first_burst_length, 65536);
	assert_int_equal(lim.max_outstanding_r2t, 32);
	assert_false(lim.initial_r2t);
	assert_true(lim.immediate_data);
	assert_int_equal(lim.header_digests, ISCSI_DIGEST_MASK(ISCSI_DIGEST_CRC32C) |
						 ISCSI_DIGEST_MASK(ISCSI_DIGEST_NONE));
	assert_int_equal(lim.data_digests, lim.header_digests);
	assert_int_equal(lim.queued_commands, 32);
	assert_int_equal(lim.nop_in_interval, 30);
	assert_int_equal(lim.nop_in_timeout, 30);
	assert_int_equal(lim.rsp_timeout, 90);
	assert_int_equal(lim.max_sessions, 0);
	assert_int_equal(lim.max_session_memory_mb, 0); /* derived from QueuedCommands */
	assert_int_equal(lim.error_recovery_level, 0);	/* ErrorRecoveryLevel: ERL 0 */
	/* Not attributes: fixed. */
	assert_int_equal(lim.max_connections, 1);
}

/* ---- driver attributes ---- */

static void test_driver_attrs(void **state)
{
	expect_refused("TARGET_DRIVER fake-a {\n\tenabled 2\n}\n", 2,
		       "enabled: expected 0 or 1, got '2'");
	expect_refused("TARGET_DRIVER fake-a {\n\tenabled 1\n\tbogus 1\n}\n", 3,
		       "unknown attribute 'bogus' for target driver 'fake-a'");
	expect_refused("TARGET_DRIVER fake-a {\n\tisns host\n}\n", 2,
		       "fake-a driver attribute 'isns' is not supported yet");

	/* Defaults until configured. */
	uscst_transports_clear_driver_attrs();
	assert_string_equal(uscst_transport_driver_attr(&fake_a, "portal", 0), "any");
	assert_null(uscst_transport_driver_attr(&fake_a, "portal", 1));
	assert_null(uscst_transport_driver_attr(&fake_a, "enabled", 0));
	assert_null(uscst_transport_driver_attr(&fake_a, "nosuch", 0));

	/* A repeatable attribute collects values; another one keeps the last. */
	expect_loaded("TARGET_DRIVER fake-a {\n"
		      "\tportal p1\n"
		      "\tmode m1\n"
		      "\tportal p2\n"
		      "\tmode m2\n"
		      "}\n");
	assert_string_equal(uscst_transport_driver_attr(&fake_a, "portal", 0), "p1");
	assert_string_equal(uscst_transport_driver_attr(&fake_a, "portal", 1), "p2");
	assert_null(uscst_transport_driver_attr(&fake_a, "portal", 2));
	assert_string_equal(uscst_transport_driver_attr(&fake_a, "mode", 0), "m2");
	assert_null(uscst_transport_driver_attr(&fake_a, "mode", 1));
	/* Only fake-a's. */
	assert_string_equal(uscst_transport_driver_attr(&fake_b, "portal", 0), "any");

	/* What uscstd --listen does: replace one attribute everywhere it exists. */
	const char *const portals[] = {"q1"};
	assert_int_equal(uscst_transports_replace_driver_attr("portal", portals, 1), 2);
	assert_string_equal(uscst_transport_driver_attr(&fake_a, "portal", 0), "q1");
	assert_null(uscst_transport_driver_attr(&fake_a, "portal", 1));
	assert_string_equal(uscst_transport_driver_attr(&fake_a, "mode", 0), "m2");
	assert_string_equal(uscst_transport_driver_attr(&fake_b, "portal", 0), "q1");
	assert_int_equal(uscst_transports_replace_driver_attr("nosuch", portals, 1), 0);

	/* Applying a configuration again starts from nothing. */
	expect_loaded("TARGET_DRIVER fake-b {\n}\n");
	assert_string_equal(uscst_transport_driver_attr(&fake_a, "portal", 0), "any");
	assert_string_equal(uscst_transport_driver_attr(&fake_a, "mode", 0), "normal");
}

/* One TARGET_DRIVER block per transport, with its attributes and targets. */
static void test_show_config(void **state)
{
	expect_loaded("TARGET_DRIVER fake-b {\n"
		      "\tportal pb\n"
		      "\tTARGET iqn.2026-11.test:shown {\n"
		      "\t\tDepth 2\n"
		      "\t}\n"
		      "}\n");
	char *text = conf_running_text();
	assert_non_null(text);
	const char *a = strstr(text, "TARGET_DRIVER fake-a {");
	const char *b = strstr(text, "TARGET_DRIVER fake-b {\n\tportal pb\n");
	const char *shown = strstr(text, "\tTARGET iqn.2026-11.test:shown {\n"
					 "\t\tenabled 1\n");
	const char *depth = shown ? strstr(shown, "\t\tDepth 2\n") : NULL;
	const char *t = strstr(text, "TARGET_DRIVER iscsi-table {");
	if (!a || !b || !shown || !depth || !t || !(a < b && b < shown && shown < t))
		fail_msg("unexpected running configuration:\n%s", text);
	free(text);
}

/* ---- start and stop ---- */

static void test_start_stop(void **state)
{
	char err[256] = "";
	calls[0] = '\0';
	fail_start = "fake-b";
	assert_int_equal(uscst_transports_start(err, sizeof(err)), -1);
	assert_string_equal(err, "fake-b: cannot start");
	assert_string_equal(calls, "start:fake-a start:fake-b stop:fake-a");

	calls[0] = '\0';
	fail_start = NULL;
	assert_int_equal(uscst_transports_start(err, sizeof(err)), 0);
	uscst_transports_stop();
	assert_string_equal(calls, "start:fake-a start:fake-b start:iscsi-table stop:iscsi-table "
				   "stop:fake-b stop:fake-a");
	calls[0] = '\0';
	uscst_transports_stop(); /* nothing is running */
	assert_string_equal(calls, "");
}

/* Graceful stop: quiesce reaches the started transports that have it,
 * active sums theirs; neither touches a transport that is not running. */
static void test_quiesce_active(void **state)
{
	char err[256] = "";
	fail_start = NULL;
	assert_int_equal(uscst_transports_start(err, sizeof(err)), 0);
	calls[0] = '\0';
	fake_open_conns = 3;
	uscst_transports_quiesce(7);
	assert_string_equal(calls, "quiesce(7):fake-a");
	assert_int_equal(uscst_transports_active(), 3);
	fake_open_conns = 0;
	assert_int_equal(uscst_transports_active(), 0);
	uscst_transports_stop();
	calls[0] = '\0';
	fake_open_conns = 5;
	uscst_transports_quiesce(1);
	assert_string_equal(calls, "");
	assert_int_equal(uscst_transports_active(), 0);
}

int main(void)
{
	/* Devices take their command set when they are created (uscstd does the same). */
	if (!scsi_register_cmdsets())
		return 1;
	/* Refused registrations log an error each: expected here. */
	log_max_level = -1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register_rules),
	    cmocka_unit_test(test_unknown_driver),
	    cmocka_unit_test(test_target_attrs_by_table),
	    cmocka_unit_test(test_target_attrs_in_config),
	    cmocka_unit_test(test_iscsi_table_matches_login),
	    cmocka_unit_test(test_iscsi_table_defaults),
	    cmocka_unit_test(test_driver_attrs),
	    cmocka_unit_test(test_show_config),
	    cmocka_unit_test(test_start_stop),
	    cmocka_unit_test(test_quiesce_active),
	};
	if (uscst_backends_register_builtin() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup_registry, NULL);
}
