/*
 * Unit tests for persistent reservations that survive a restart: the PR
 * file (core/pr_persist.c) and its parser (core/pr_state.c) against
 * hostile contents, PERSISTENT RESERVE OUT writing and removing the file
 * as APTPL is set and cleared (scsi/pr_out.c), PTPL_C/PTPL_A in REPORT
 * CAPABILITIES, and uscst_device_open loading the file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/builtin.h"
#include "core/pr.h"
#include "fixtures/fixture_scsi.h"
#include "scsi/scsi.h"

#define PORT_A "iqn.2024-01.test:a,i,0x23d000000001"
#define PORT_B "iqn.2024-01.test:b,i,0x23d000000002"

static const struct pr_nexus nx_a = {PORT_A, 1};
static const struct pr_nexus nx_b = {PORT_B, 1};

static char tmpdir[64];

static int setup_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/uscst-prtest.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *tmp_path(const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
	return p;
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static bool exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

static struct pr_state *sample_state(void)
{
	struct pr_state *st = pr_state_new();
	assert_non_null(st);
	struct pr_register_args a = {.sa_key = 0x1111, .aptpl = true};
	assert_int_equal(pr_register(st, &nx_a, &a, NULL), PR_OK);
	struct pr_register_args b = {
	    .sa_key = 0xfedcba9876543210ull, .aptpl = true, .all_tg_pt = true};
	assert_int_equal(pr_register(st, &nx_b, &b, NULL), PR_OK);
	assert_int_equal(pr_reserve(st, &nx_a, 0x1111, PR_TYPE_WE), PR_OK);
	return st;
}

/* --- file round trip --- */

static void test_save_load_roundtrip(void **state)
{
	struct pr_state *st = sample_state();
	char *text = pr_state_text(st);
	assert_non_null(text);
	/* Missing directories are created. */
	char *path = tmp_path("sub/dir/disk0");
	char err[512];
	assert_int_equal(pr_file_save(path, text, err, sizeof(err)), 0);
	struct pr_state *back;
	char *back_text;
	assert_int_equal(pr_file_load(path, &back, &back_text, err, sizeof(err)), 0);
	assert_non_null(back);
	assert_string_equal(back_text, text);
	assert_int_equal(back->generation, st->generation);
	assert_true(back->aptpl);
	assert_int_equal(back->type, PR_TYPE_WE);
	assert_int_equal(back->nregs, 2);
	assert_true(pr_is_holder(back, &nx_a));
	assert_true(pr_find(back, &nx_b)->all_tg_pt);
	assert_int_equal(pr_find(back, &nx_b)->key, 0xfedcba9876543210ull);
	/* No temporary file is left behind. */
	char *tmp = tmp_path("sub/dir/disk0.tmp");
	assert_false(exists(tmp));
	pr_state_free(back);
	/* Removal, and removing what is gone already. */
	assert_int_equal(pr_file_remove(path, err, sizeof(err)), 0);
	assert_false(exists(path));
	assert_int_equal(pr_file_remove(path, err, sizeof(err)), 0);
	/* No file: no state, no error. */
	assert_int_equal(pr_file_load(path, &back, NULL, err, sizeof(err)), 0);
	assert_null(back);
	pr_state_free(st);
	free(text);
	free(back_text);
	free(path);
	free(tmp);
}

/* Port names that the line-and-blank format could not hold as they are:
 * each is written escaped and read back byte for byte, and none forges a
 * registrant or makes the file unreadable. */
static void test_hostile_port_names_roundtrip(void **state)
{
	static char longest[PR_PORT_MAX];
	memset(longest, '\n', sizeof(longest) - 1);
	memcpy(longest, "iqn.x:", 6);
	static const char isid[] = ",i,0x23d000000009";
	memcpy(longest + sizeof(longest) - sizeof(isid), isid, sizeof(isid) - 1);
	longest[sizeof(longest) - 1] = '\0';
	const char *names[] = {
	    "iqn.x:a\nregistrant 1 0 1 0x0000000000000042 iqn.x:forged,i,0x23d000000001,i,0x23d0",
	    "iqn.x:b c\td,i,0x23d000000002",
	    "iqn.x:100%41%,i,0x23d000000003",
	    "iqn.x:\x7f\x01\r\xc3\xa9,i,0x23d000000004",
	    "iqn.x:%00,i,0x23d000000005",
	    longest,
	};
	enum { N = sizeof(names) / sizeof(names[0]) };
	struct pr_state *st = pr_state_new();
	assert_non_null(st);
	for (unsigned i = 0; i < N; i++) {
		struct pr_nexus nx = {names[i], 1};
		struct pr_register_args a = {.sa_key = 0x100 + i, .aptpl = true};
		assert_int_equal(pr_register(st, &nx, &a, NULL), PR_OK);
	}
	char *text = pr_state_text(st);
	assert_non_null(text);
	char *path = tmp_path("hostile");
	char err[512];
	assert_int_equal(pr_file_save(path, text, err, sizeof(err)), 0);
	struct pr_state *back = NULL;
	if (pr_file_load(path, &back, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_non_null(back);
	assert_int_equal(back->nregs, N);
	for (unsigned i = 0; i < N; i++) {
		struct pr_nexus nx = {names[i], 1};
		const struct pr_reg *r = pr_find(back, &nx);
		assert_non_null(r);
		assert_string_equal(r->port, names[i]);
		assert_int_equal(r->key, 0x100 + i);
	}
	/* Files from before the escaping: a '%' without two hex digits after
	 * it is the byte itself; %00 cannot be a name. */
	struct pr_state *old = pr_state_deserialise(
	    "uscst-pr 1\nregistrant 1 0 0 0x1 iqn.x:5%zz%4,i,0x23d000000001\n");
	assert_non_null(old);
	assert_string_equal(old->regs[0].port, "iqn.x:5%zz%4,i,0x23d000000001");
	pr_state_free(old);
	assert_null(
	    pr_state_deserialise("uscst-pr 1\nregistrant 1 0 0 0x1 iqn.x:%00,i,0x23d000000001\n"));
	pr_state_free(back);
	pr_state_free(st);
	free(text);
	free(path);
}

static void test_save_failure_reported(void **state)
{
	char *file = tmp_path("plainfile");
	write_file(file, "x", 1);
	char *path = tmp_path("plainfile/disk0"); /* a file where a directory should be */
	char err[512] = "";
	assert_true(pr_file_save(path, "uscst-pr 1\n", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, path));
	free(file);
	free(path);
}

/* --- hostile contents --- */

static void expect_bad(const char *text, unsigned want_line)
{
	unsigned line = 99;
	const char *why = NULL;
	struct pr_state *st = pr_state_parse(text, &line, &why);
	if (st)
		fail_msg("accepted: %s", text);
	assert_non_null(why);
	if (line != want_line)
		fail_msg("line %u, want %u (%s) for: %s", line, want_line, why, text);
}

#define HDR "uscst-pr 1\n"
#define REG_A "registrant 1 0 1 0x11 " PORT_A "\n"

static void test_parse_rejects_hostile_lines(void **state)
{
	expect_bad("", 0); /* no header */
	expect_bad("# only a comment\n", 0);
	expect_bad("uscst-pr 2\n", 1);
	expect_bad("uscst-pr 1 extra\n", 1);
	expect_bad(HDR "generation\n", 2);
	expect_bad(HDR "generation -1\n", 2);
	expect_bad(HDR "generation +5\n", 2);
	expect_bad(HDR "generation 4294967296\n", 2);
	expect_bad(HDR "generation 99999999999999999999999\n", 2);
	expect_bad(HDR "generation 5x\n", 2);
	expect_bad(HDR "generation 5\ngeneration 6\n", 3);
	expect_bad(HDR "aptpl 2\n", 2);
	expect_bad(HDR "aptpl\n", 2);
	expect_bad(HDR "reservation 1\n", 2);
	expect_bad(HDR "reservation 2 0\n", 2);
	expect_bad(HDR "reservation 1 1\n", 2);
	expect_bad(HDR "reservation 257 0\n", 2);
	expect_bad(HDR "bogus 1\n", 2);
	expect_bad(HDR "generation 1\r\n", 2);
	expect_bad(HDR "registrant 1 0 0 0x11\n", 2);
	expect_bad(HDR "registrant 1 0 0 0x0 " PORT_A "\n", 2);
	expect_bad(HDR "registrant 1 0 0 11 " PORT_A "\n", 2);	   /* key without 0x */
	expect_bad(HDR "registrant 1 0 0 0x0x11 " PORT_A "\n", 2); /* double prefix */
	expect_bad(HDR "registrant 1 0 0 0x11111111111111111 " PORT_A "\n", 2);
	expect_bad(HDR "registrant 65536 0 0 0x11 " PORT_A "\n", 2);
	expect_bad(HDR "registrant 1 2 0 0x11 " PORT_A "\n", 2);
	expect_bad(HDR "registrant 1 0 0 0x11 " PORT_A " extra\n", 2);
	expect_bad(HDR "registrant 1 0 0 0x11 iqn.no-isid\n", 2);
	expect_bad(HDR "registrant 1 0 0 0x11 " PORT_A "\n"
		       "registrant 1 0 0 0x22 " PORT_A "\n",
		   3);
	expect_bad(HDR "registrant 1 1 0 0x11 " PORT_A "\n"
		       "registrant 2 0 0 0x22 " PORT_A "\n",
		   3);
	/* Whole-text consistency: a holder without a reservation, two holders,
	 * a registrants-only reservation with nobody holding it. */
	expect_bad(HDR REG_A, 0);
	expect_bad(HDR "reservation 1 0\n" REG_A "registrant 1 0 1 0x22 " PORT_B "\n", 0);
	expect_bad(HDR "reservation 7 0\n", 0);
	/* A port name longer than any initiator port (the line itself fits). */
	char longline[400];
	char name[301];
	memset(name, 'a', 300);
	name[300] = '\0';
	snprintf(longline, sizeof(longline), HDR "registrant 1 0 0 0x11 %s,i,0x1\n", name);
	expect_bad(longline, 2);
	/* A very long line. */
	char *huge = malloc(100000);
	assert_non_null(huge);
	memset(huge, '#', 99999);
	memcpy(huge, HDR, strlen(HDR));
	huge[99999] = '\0';
	expect_bad(huge, 2);
	free(huge);

	/* What is allowed: comments, blank lines, tabs between fields. */
	unsigned line;
	const char *why;
	struct pr_state *st = pr_state_parse("# saved by hand\nuscst-pr 1\n\n"
					     "reservation\t1 0\n" REG_A "# end\n",
					     &line, &why);
	assert_non_null(st);
	assert_true(pr_is_holder(st, &nx_a));
	pr_state_free(st);
}

/* Deterministic mutations of a valid text: whatever the parser accepts
 * must serialise and parse back to the same text; nothing may crash
 * (run under the sanitizer build for the full value). */
static void test_parse_mutations(void **state)
{
	struct pr_state *st = sample_state();
	char *good = pr_state_text(st);
	assert_non_null(good);
	pr_state_free(st);
	size_t len = strlen(good);
	char *buf = malloc(len + 1);
	assert_non_null(buf);
	static const char alphabet[] = "0123456789abcdefxX \t\n#-+,.:ir\x01\x7f\xff";
	uint32_t seed = 12345;
	unsigned accepted = 0;
	for (unsigned iter = 0; iter < 20000; iter++) {
		memcpy(buf, good, len + 1);
		unsigned nmut = 1 + iter % 4;
		for (unsigned m = 0; m < nmut; m++) {
			seed = seed * 1103515245u + 12345u;
			size_t pos = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			buf[pos] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
		}
		if (iter % 7 == 0) /* truncation */
			buf[(seed >> 4) % (len + 1)] = '\0';
		unsigned line;
		const char *why;
		struct pr_state *p = pr_state_parse(buf, &line, &why);
		if (!p) {
			assert_non_null(why);
			continue;
		}
		accepted++;
		char *again = pr_state_text(p);
		assert_non_null(again);
		struct pr_state *q = pr_state_parse(again, &line, &why);
		assert_non_null(q);
		char *third = pr_state_text(q);
		assert_non_null(third);
		assert_string_equal(again, third);
		free(again);
		free(third);
		pr_state_free(p);
		pr_state_free(q);
	}
	assert_true(accepted > 0); /* e.g. mutations inside the port name */
	free(buf);
	free(good);
}

static void test_load_reports_file_and_line(void **state)
{
	char *path = tmp_path("bad");
	write_file(path, HDR "generation 3\nreservation 9 0\n", strlen(HDR) + 29);
	struct pr_state *st;
	char err[512];
	assert_int_equal(pr_file_load(path, &st, NULL, err, sizeof(err)), -EINVAL);
	assert_null(st);
	char want[300];
	snprintf(want, sizeof(want), "%s:3:", path);
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);
	/* A NUL byte would end the text early: refused. */
	write_file(path, HDR "\0registrant junk\n", strlen(HDR) + 17);
	assert_int_equal(pr_file_load(path, &st, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NUL"));
	/* Larger than any real state. */
	char *big = calloc(1, PR_FILE_MAX + 10);
	assert_non_null(big);
	memset(big, '#', PR_FILE_MAX + 9);
	write_file(path, big, PR_FILE_MAX + 9);
	free(big);
	assert_int_equal(pr_file_load(path, &st, NULL, err, sizeof(err)), -EINVAL);
	/* A directory is not a PR file. */
	assert_true(pr_file_load(tmpdir, &st, NULL, err, sizeof(err)) < 0);
	assert_null(st);
	free(path);
}

/* --- PERSISTENT RESERVE OUT/IN on a device with a pr_file_name --- */

static struct uscst_device dev;
static struct uscst_lun_map map;
static struct uscst_target tgt;
static struct uscst_session *sess_a, *sess_b;

static void cmd_done(struct uscst_cmd *cmd) {}

static int setup_devices(void **state)
{
	if (setup_tmpdir(state) < 0)
		return -1;
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
	free(dev.pr_file_name);
	free(dev.pr_saved);
	return teardown_tmpdir(state);
}

/* A command on LUN 0 (dev) from s. */
static void init_cmd(struct uscst_cmd *cmd, struct uscst_session *s, const uint8_t *cdb,
		     unsigned cdb_len)
{
	fixture_cmd_init(cmd, s, 0, cdb, cdb_len, cmd_done);
}

/* PR OUT with a basic parameter list; sense_asc gets the ASC (0 if none). */
static uint8_t pr_out(struct uscst_session *s, uint8_t sa, uint8_t type, uint64_t res_key,
		      uint64_t sa_key, bool aptpl, uint8_t *sense_key, uint8_t *sense_asc)
{
	uint8_t cdb[10] = {0x5f, sa, type};
	put_be32(cdb + 5, 24);
	struct uscst_cmd cmd;
	init_cmd(&cmd, s, cdb, sizeof(cdb));
	uint8_t *buf = uscst_cmd_alloc_out(&cmd, 24);
	assert_non_null(buf);
	memset(buf, 0, 24);
	put_be64(buf, res_key);
	put_be64(buf + 8, sa_key);
	buf[20] = aptpl ? 0x01 : 0;
	spc_pr_out(&cmd);
	if (sense_key)
		*sense_key = cmd.sense_len ? cmd.sense[2] & 0x0f : 0;
	if (sense_asc)
		*sense_asc = cmd.sense_len ? cmd.sense[12] : 0;
	uscst_cmd_release(&cmd);
	return cmd.status;
}

/* REPORT CAPABILITIES byte 2 (PTPL_C in bit 0) and byte 3 (PTPL_A in bit 0). */
static void caps(uint8_t *b2, uint8_t *b3)
{
	uint8_t cdb[10] = {0x5e, 0x02};
	put_be16(cdb + 7, 8);
	struct uscst_cmd cmd;
	init_cmd(&cmd, sess_a, cdb, sizeof(cdb));
	spc_pr_in(&cmd);
	assert_int_equal(cmd.status, SAM_STAT_GOOD);
	*b2 = cmd.in_buf[2];
	*b3 = cmd.in_buf[3];
	uscst_cmd_release(&cmd);
}

static struct pr_state *load(const char *path)
{
	struct pr_state *st;
	char err[512];
	assert_int_equal(pr_file_load(path, &st, NULL, err, sizeof(err)), 0);
	return st;
}

static void test_aptpl_writes_and_removes_file(void **state)
{
	dev.pr_file_name = tmp_path("pr/disk0");
	uint8_t b2, b3;
	caps(&b2, &b3);
	assert_int_equal(b2 & 0x01, 0x01); /* PTPL_C */
	assert_int_equal(b3 & 0x01, 0);	   /* PTPL_A */
	/* Without APTPL nothing is written. */
	assert_int_equal(pr_out(sess_b, 0x06, 0, 0, 0x2222, false, NULL, NULL), SAM_STAT_GOOD);
	assert_false(exists(dev.pr_file_name));
	/* APTPL=1: the file follows every change. */
	assert_int_equal(pr_out(sess_a, 0x06, 0, 0, 0x1111, true, NULL, NULL), SAM_STAT_GOOD);
	caps(&b2, &b3);
	assert_int_equal(b3 & 0x01, 0x01);
	struct pr_state *st = load(dev.pr_file_name);
	assert_non_null(st);
	assert_true(st->aptpl);
	assert_int_equal(st->nregs, 2);
	assert_int_equal(st->type, PR_TYPE_NONE);
	pr_state_free(st);
	assert_int_equal(pr_out(sess_a, 0x01, PR_TYPE_WE, 0x1111, 0, false, NULL, NULL),
			 SAM_STAT_GOOD);
	st = load(dev.pr_file_name);
	assert_non_null(st);
	assert_int_equal(st->type, PR_TYPE_WE);
	assert_true(pr_is_holder(st, &nx_a));
	pr_state_free(st);
	/* A registration with APTPL=0 ends persistence: the file goes. */
	assert_int_equal(pr_out(sess_b, 0x00, 0, 0x2222, 0x3333, false, NULL, NULL), SAM_STAT_GOOD);
	assert_false(exists(dev.pr_file_name));
	caps(&b2, &b3);
	assert_int_equal(b3 & 0x01, 0);
	/* The reservation itself stays in memory. */
	assert_true(pr_is_holder(dev.pr, &nx_a));
}

static void test_aptpl_without_persistence_refused(void **state)
{
	uint8_t key, asc, b2, b3;
	assert_int_equal(pr_out(sess_a, 0x06, 0, 0, 0x1111, true, &key, &asc),
			 SAM_STAT_CHECK_CONDITION);
	assert_int_equal(key, SK_ILLEGAL_REQUEST);
	assert_int_equal(asc, 0x26);
	assert_true(!dev.pr || dev.pr->nregs == 0);
	caps(&b2, &b3);
	assert_int_equal(b2 & 0x01, 0); /* PTPL_C */
	/* APTPL means nothing to RESERVE etc.: not refused there. */
	assert_int_equal(pr_out(sess_a, 0x06, 0, 0, 0x1111, false, NULL, NULL), SAM_STAT_GOOD);
	assert_int_equal(pr_out(sess_a, 0x01, PR_TYPE_WE, 0x1111, 0, true, NULL, NULL),
			 SAM_STAT_GOOD);
}

static void test_write_failure_rolls_back(void **state)
{
	char *file = tmp_path("plainfile");
	write_file(file, "x", 1);
	dev.pr_file_name = tmp_path("plainfile/disk0");
	assert_int_equal(pr_out(sess_a, 0x06, 0, 0, 0x1111, false, NULL, NULL), SAM_STAT_GOOD);
	uint32_t gen = dev.pr->generation;
	uint8_t key, asc;
	assert_int_equal(pr_out(sess_b, 0x06, 0, 0, 0x2222, true, &key, &asc),
			 SAM_STAT_CHECK_CONDITION);
	assert_int_equal(key, SK_HARDWARE_ERROR);
	assert_int_equal(asc, 0x44);
	/* The failed command changed nothing. */
	assert_int_equal(dev.pr->nregs, 1);
	assert_false(dev.pr->aptpl);
	assert_int_equal(dev.pr->generation, gen);
	assert_false(pr_is_registered(dev.pr, &nx_b));
	free(file);
}

/* --- uscst_device_open loads the file --- */

static struct uscst_device *nullio_dev(const char *name, const char *pr_file)
{
	char err[256];
	struct uscst_device *d = uscst_device_create("vdisk_nullio", name, err, sizeof(err));
	assert_non_null(d);
	assert_true(uscst_device_set_attr(d, "size_mb", "1", err, sizeof(err)));
	assert_true(uscst_device_set_attr(d, "pr_file_name", pr_file, err, sizeof(err)));
	return d;
}

static void test_device_open_loads(void **state)
{
	char *path = tmp_path("good");
	const char *text = HDR "generation 7\naptpl 1\nreservation 1 0\n" REG_A;
	write_file(path, text, strlen(text));
	struct uscst_device *d = nullio_dev("pr_good", path);
	char err[256] = "";
	assert_int_equal(uscst_device_open(d, err, sizeof(err)), 0);
	assert_non_null(d->pr);
	assert_int_equal(d->pr->generation, 7);
	assert_true(d->pr->aptpl);
	assert_true(pr_is_holder(d->pr, &nx_a));
	assert_string_equal(d->pr_file_name, path);

	char *bad = tmp_path("malformed");
	write_file(bad, HDR "registrant 1 0 0 0x11\n", strlen(HDR) + 22);
	d = nullio_dev("pr_bad", bad);
	assert_true(uscst_device_open(d, err, sizeof(err)) < 0);
	char want[300];
	snprintf(want, sizeof(want), "%s:2:", bad);
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);

	/* An empty pr_file_name turns persistence off even with a PR directory. */
	assert_true(uscst_set_pr_dir(tmpdir));
	d = nullio_dev("pr_off", "");
	assert_int_equal(uscst_device_open(d, err, sizeof(err)), 0);
	assert_null(d->pr_file_name);
	/* Without pr_file_name: <pr dir>/<device name>. */
	struct uscst_device *e = uscst_device_create("vdisk_nullio", "pr_dflt", err, sizeof(err));
	assert_non_null(e);
	assert_true(uscst_device_set_attr(e, "size_mb", "1", err, sizeof(err)));
	assert_int_equal(uscst_device_open(e, err, sizeof(err)), 0);
	char *dflt = tmp_path("pr_dflt");
	assert_string_equal(e->pr_file_name, dflt);
	assert_true(uscst_set_pr_dir(NULL));
	free(dflt);
	free(path);
	free(bad);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, setup_tmpdir, teardown_tmpdir)
#define DEV_TEST(f) cmocka_unit_test_setup_teardown(f, setup_devices, teardown_devices)

int main(void)
{
	/* Devices take their command set when they are created (uscstd does the same). */
	if (!scsi_register_cmdsets())
		return 1;
	const struct CMUnitTest tests[] = {
	    TMP_TEST(test_save_load_roundtrip),
	    TMP_TEST(test_save_failure_reported),
	    TMP_TEST(test_hostile_port_names_roundtrip),
	    cmocka_unit_test(test_parse_rejects_hostile_lines),
	    cmocka_unit_test(test_parse_mutations),
	    TMP_TEST(test_load_reports_file_and_line),
	    DEV_TEST(test_aptpl_writes_and_removes_file),
	    DEV_TEST(test_aptpl_without_persistence_refused),
	    DEV_TEST(test_write_failure_rolls_back),
	    TMP_TEST(test_device_open_loads),
	};
	if (uscst_backends_register_builtin() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
