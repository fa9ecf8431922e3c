/*
 * Unit tests: CHAP accounts in the configuration (iSCSI-SCST's
 * IncomingUser and OutgoingUser, per target and in the TARGET_DRIVER
 * iscsi block for discovery).  A malformed account or a secret outside
 * 12..255 bytes stops the load with FILE:LINE and a reason that never
 * quotes the secret; accepted accounts come back in `show config`.
 *
 * Targets cannot be deleted from the core: every test uses its own names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend/builtin.h"
#include "config/conf_apply.h"
#include "config/conf_writer.h"
#include "iscsi/driver.h"
#include "scsi/scsi.h"

/* A target tN whose line 4 is `line4` (inside TARGET_DRIVER and TARGET);
 * the driver's own attribute on line 2 is `line2` (may be empty). */
static char *conf(const char *name, const char *line2, const char *line4)
{
	char *text = NULL;
	assert_true(asprintf(&text,
			     "TARGET_DRIVER iscsi {\n"
			     "\t%s\n"
			     "\tTARGET iqn.2026-12.org.uscst:%s {\n"
			     "\t\t%s\n"
			     "\t}\n"
			     "}\n",
			     line2, name, line4) > 0);
	return text;
}

/* Loads text; expects failure at test.conf:LINE naming every word of want,
 * and not containing secret. */
static void expect_refused(char *text, int line, const char *secret, const char *const *want)
{
	struct conf_result res;
	char err[1024] = "";
	int rc = conf_load_text(text, "test.conf", &res, err, sizeof(err));
	conf_result_free(&res);
	if (rc == 0)
		fail_msg("configuration accepted:\n%s", text);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "test.conf:%d: ", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("message '%s' does not start with '%s'", err, prefix);
	for (; want && *want; want++)
		if (!strstr(err, *want))
			fail_msg("message '%s' lacks '%s'", err, *want);
	if (secret && strstr(err, secret))
		fail_msg("message '%s' shows the secret", err);
	free(text);
}

static void expect_accepted(char *text)
{
	struct conf_result res;
	char err[1024] = "";
	int rc = conf_load_text(text, "test.conf", &res, err, sizeof(err));
	conf_result_free(&res);
	if (rc != 0)
		fail_msg("refused: %s\nconfiguration:\n%s", err, text);
	free(text);
}

static void test_target_secret_too_short(void **state)
{
	/* 11 bytes */
	expect_refused(conf("t1", "", "IncomingUser \"joe elevenbytes\""), 4, "elevenbytes",
		       (const char *const[]){"IncomingUser", "joe", "11 bytes", "12 to 255", NULL});
}

static void test_target_secret_too_long(void **state)
{
	char line[300], secret[257];
	memset(secret, 's', 256);
	secret[256] = '\0';
	snprintf(line, sizeof(line), "IncomingUser \"joe %s\"", secret);
	expect_refused(conf("t2", "", line), 4, secret,
		       (const char *const[]){"IncomingUser", "256 bytes", NULL});
}

static void test_target_limits_accepted(void **state)
{
	char line[300], secret[256];
	memset(secret, 's', 255);
	secret[255] = '\0';
	snprintf(line, sizeof(line), "IncomingUser \"joe %s\"", secret);
	expect_accepted(conf("t3", "", line));
	expect_accepted(conf("t4", "", "IncomingUser \"joe twelvebytes!\""));
}

static void test_no_secret(void **state)
{
	expect_refused(conf("t5", "", "IncomingUser joe"), 4, NULL,
		       (const char *const[]){"IncomingUser", "NAME SECRET", NULL});
}

static void test_outgoing_secret_too_short(void **state)
{
	expect_refused(conf("t6", "", "OutgoingUser \"tgt short\""), 4, "short",
		       (const char *const[]){"OutgoingUser", "5 bytes", NULL});
}

static void test_discovery_secret_too_short(void **state)
{
	expect_refused(conf("t7", "IncomingUser \"disc 0123456789\"", ""), 2, "0123456789",
		       (const char *const[]){"IncomingUser", "disc", "10 bytes", NULL});
}

/* RFC 7143 12.1.3: OutgoingUser must not share a secret with an
 * IncomingUser of the same target, whichever comes first, nor in the
 * driver block (discovery).  The line is the second of the two; the
 * message names both accounts and never the secret. */
static void test_same_secret_both_ways(void **state)
{
	expect_refused(strdup("TARGET_DRIVER iscsi {\n"
			      "\tTARGET iqn.2026-12.org.uscst:s1 {\n"
			      "\t\tIncomingUser \"joe sharedsecret12\"\n"
			      "\t\tIncomingUser \"ann sharedsecret99\"\n"
			      "\t\tOutgoingUser \"tgt sharedsecret99\"\n"
			      "\t}\n"
			      "}\n"),
		       5, "sharedsecret99",
		       (const char *const[]){"OutgoingUser", "tgt", "IncomingUser", "ann",
					     "12.1.3", NULL});
	expect_refused(strdup("TARGET_DRIVER iscsi {\n"
			      "\tTARGET iqn.2026-12.org.uscst:s2 {\n"
			      "\t\tOutgoingUser \"tgt sharedsecret12\"\n"
			      "\t\tIncomingUser \"joe sharedsecret12\"\n"
			      "\t}\n"
			      "}\n"),
		       4, "sharedsecret12",
		       (const char *const[]){"IncomingUser", "joe", "OutgoingUser", "tgt", NULL});
	expect_refused(conf("s3",
			    "IncomingUser \"disc discoverysecret\"\n"
			    "\tOutgoingUser \"tgt discoverysecret\"",
			    ""),
		       3, "discoverysecret",
		       (const char *const[]){"OutgoingUser", "tgt", "IncomingUser", "disc", NULL});
	/* Different secrets, or the same secret in another target: fine. */
	expect_accepted(strdup("TARGET_DRIVER iscsi {\n"
			       "\tTARGET iqn.2026-12.org.uscst:s4 {\n"
			       "\t\tIncomingUser \"joe sharedsecret12\"\n"
			       "\t}\n"
			       "\tTARGET iqn.2026-12.org.uscst:s5 {\n"
			       "\t\tIncomingUser \"joe othersecret12\"\n"
			       "\t\tOutgoingUser \"tgt sharedsecret12\"\n"
			       "\t}\n"
			       "}\n"));
}

/* Repeated IncomingUser, OutgoingUser and the discovery account all come
 * back in the running configuration. */
static void test_written_back(void **state)
{
	expect_accepted(strdup("TARGET_DRIVER iscsi {\n"
			       "\tIncomingUser \"disc discoverysecret\"\n"
			       "\tOutgoingUser \"dtgt discoverysecret2\"\n"
			       "\tTARGET iqn.2026-12.org.uscst:t8 {\n"
			       "\t\tIncomingUser \"alice alicesecret12\"\n"
			       "\t\tIncomingUser \"bob bob secret with blanks\"\n"
			       "\t\tOutgoingUser \"tgt targetsecret123\"\n"
			       "\t}\n"
			       "}\n"));
	char *text = conf_running_text();
	assert_non_null(text);
	const char *want[] = {
	    "IncomingUser \"disc discoverysecret\"", "OutgoingUser \"dtgt discoverysecret2\"",
	    "IncomingUser \"alice alicesecret12\"", "IncomingUser \"bob bob secret with blanks\"",
	    "OutgoingUser \"tgt targetsecret123\""};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(text, want[i]))
			fail_msg("'%s' missing from:\n%s", want[i], text);
	free(text);
}

int main(void)
{
	if (!scsi_register_cmdsets() || uscst_backends_register_builtin() < 0 ||
	    uscst_transport_register(&iscsi_driver, USCST_TRANSPORT_ABI) < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_target_secret_too_short),
	    cmocka_unit_test(test_target_secret_too_long),
	    cmocka_unit_test(test_target_limits_accepted),
	    cmocka_unit_test(test_no_secret),
	    cmocka_unit_test(test_outgoing_secret_too_short),
	    cmocka_unit_test(test_discovery_secret_too_short),
	    cmocka_unit_test(test_written_back),
	    cmocka_unit_test(test_same_secret_both_ways),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
