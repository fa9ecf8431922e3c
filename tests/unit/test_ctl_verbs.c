/*
 * The verb registry (ctl/ctl_verbs.h): every table line is well formed
 * and unique, words find their verb (flags in any order, optional
 * arguments), near misses are usage errors naming the verb, and the
 * listings answer with their stable field names even when empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/ctl_verbs.h"
#include "fixtures/ctl_call.h"
#include "lib/log.h"

struct seen {
	const char *patterns[256];
	unsigned n;
};

static void check_verb(const struct ctl_verb *v, void *arg)
{
	struct seen *s = arg;
	if (!ctl_pattern_valid(v->pattern))
		fail_msg("malformed pattern '%s'", v->pattern);
	assert_non_null(v->handler);
	assert_true(v->help && v->help[0]);
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->patterns[i], v->pattern) == 0)
			fail_msg("pattern '%s' twice", v->pattern);
	assert_true(s->n < 256);
	s->patterns[s->n++] = v->pattern;
}

static void test_tables(void **state)
{
	struct seen s = {.n = 0};
	ctl_verbs_foreach(check_verb, &s);
	assert_true(s.n >= 17);
}

static void test_patterns(void **state)
{
	const char *good[] = {"version", "device NAME set ATTR VALUE", "list luns [TARGET]",
			      "show config [--json]", "x A [--f] [--g] [B]"};
	const char *bad[] = {"",
			     "NAME first",
			     "a  b",
			     "a b ",
			     "a [B] c",
			     "a [b]",
			     "a [--]",
			     "a [B",
			     "a B]",
			     " a",
			     "a B C D E F G H I J"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!ctl_pattern_valid(good[i]))
			fail_msg("'%s' refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ctl_pattern_valid(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
}

/* "show config [--json]": the flag makes the result the JSON objects. */
static void test_flag(void **state)
{
	bool ok;
	char *text = ctl_call(&ok, "show", "config", NULL);
	assert_true(ok);
	assert_non_null(strstr(text, "# Running configuration"));
	free(text);
	text = ctl_call(&ok, "show", "config", "--json", NULL);
	assert_true(ok);
	assert_non_null(strstr(text, "\"devices\""));
	free(text);
	/* uscstadmin -j asks for data: the objects, not the text. */
	struct json_object *a = ctl_call_raw(
	    "{\"protocol\": 1, \"cmd\": [\"show\", \"config\"], \"output\": \"json\"}");
	struct json_object *r, *v;
	assert_true(json_object_object_get_ex(a, "result", &r));
	assert_true(json_object_object_get_ex(r, "devices", &v));
	assert_true(json_object_is_type(v, json_type_array));
	json_object_put(a);
	text = ctl_call(&ok, "show", "config", "--json", "--json", NULL);
	assert_false(ok);
	assert_non_null(strstr(text, "usage: show config [--json]"));
	free(text);
}

/* An optional argument: given it must name something. */
static void test_optional_arg(void **state)
{
	bool ok;
	char *text = ctl_call(&ok, "list", "luns", NULL);
	assert_true(ok);
	assert_string_equal(text, "[ ]\n");
	free(text);
	text = ctl_call(&ok, "list", "luns", "iqn.none", NULL);
	assert_false(ok);
	assert_string_equal(text, "no target 'iqn.none' (see 'uscstadmin list targets')");
	free(text);
	text = ctl_call(&ok, "list", "luns", "a", "b", NULL);
	assert_false(ok);
	assert_non_null(strstr(text, "usage: list luns [TARGET]"));
	free(text);
}

static void test_near_misses(void **state)
{
	bool ok;
	char *text = ctl_call(&ok, "list", "lunz", NULL);
	assert_false(ok);
	/* Every list verb is as close: all are named. */
	assert_non_null(strstr(text, "unknown command 'list lunz'; usage: list handlers; "));
	assert_non_null(strstr(text, "list luns [TARGET]"));
	free(text);
	text = ctl_call(&ok, (const char *)NULL, NULL);
	assert_false(ok);
	assert_string_equal(text, "empty command (try 'help')");
	free(text);
	text = ctl_call(&ok, "version", "2", NULL);
	assert_false(ok);
	assert_string_equal(text, "unknown command 'version 2'; usage: version (try 'help')");
	free(text);
}

static void test_session_id(void **state)
{
	bool ok;
	char *text = ctl_call(&ok, "show", "session", "x1", NULL);
	assert_false(ok);
	assert_string_equal(text, "ID: expected a number in 0..18446744073709551615, got 'x1' "
				  "(the number in the id column of 'uscstadmin list sessions')");
	free(text);
	const char *bad[] = {"-1", "1x", "18446744073709551616", " 1", "+1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		text = ctl_call(&ok, "show", "session", bad[i], NULL);
		assert_false(ok);
		if (!strstr(text, "ID: expected a number"))
			fail_msg("'%s': %s", bad[i], text);
		free(text);
	}
	text = ctl_call(&ok, "show", "session", "7", NULL);
	assert_false(ok);
	assert_string_equal(text, "no session 7 (see 'uscstadmin list sessions')");
	free(text);
}

static void test_help_and_version(void **state)
{
	bool ok;
	char *text = ctl_call(&ok, "help", NULL);
	assert_true(ok);
	assert_non_null(strstr(text, "\n  device NAME set ATTR VALUE"));
	assert_non_null(strstr(text, "\n  list sessions "));
	free(text);
	struct json_object *a =
	    ctl_call_raw("{\"protocol\": 1, \"cmd\": [\"version\"], \"output\": \"json\"}");
	struct json_object *r, *v;
	assert_true(json_object_object_get_ex(a, "result", &r));
	assert_true(json_object_object_get_ex(r, "version", &v));
	assert_string_equal(json_object_get_string(v), USCST_VERSION);
	assert_true(json_object_object_get_ex(r, "protocol", &v));
	assert_int_equal(json_object_get_int(v), CTL_PROTOCOL_VERSION);
	assert_true(json_object_object_get_ex(a, "message", &v));
	assert_string_equal(json_object_get_string(v), "uscstd " USCST_VERSION);
	json_object_put(a);
}

/* Input bytes after a request (config apply's file text) reach only a
 * verb that takes them; that verb without them says what to send. */
static const char *error_of(struct json_object *a)
{
	struct json_object *v;
	assert_true(json_object_object_get_ex(a, "error", &v));
	return json_object_get_string(v);
}

static void test_input_only_for_its_verbs(void **state)
{
	const char *words[] = {"version"};
	struct json_object *a = ctl_dispatch_input(words, 1, false, "abc", 3);
	assert_string_equal(error_of(a), "'version' takes no input, yet the request has "
					 "\"input_bytes\"");
	json_object_put(a);
	const char *apply[] = {"config", "apply", "x.conf"};
	a = ctl_dispatch(apply, 3, false);
	assert_non_null(strstr(error_of(a), "no configuration text"));
	json_object_put(a);
	a = ctl_dispatch_input(apply, 3, false, "a\0b", 3);
	assert_string_equal(error_of(a), "x.conf: the file holds a NUL byte; it is not a text "
					 "file");
	json_object_put(a);
}

int main(void)
{
	log_max_level = LOG_ERR;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tables),
	    cmocka_unit_test(test_patterns),
	    cmocka_unit_test(test_flag),
	    cmocka_unit_test(test_optional_arg),
	    cmocka_unit_test(test_near_misses),
	    cmocka_unit_test(test_session_id),
	    cmocka_unit_test(test_help_and_version),
	    cmocka_unit_test(test_input_only_for_its_verbs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
