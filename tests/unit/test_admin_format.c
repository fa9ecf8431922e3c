/*
 * uscstadmin's human output (admin/admin_format.h): tables from lists of
 * objects, key-value text from objects, strings as they are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "admin/admin_format.h"

static void expect_format(const char *json, const char *want)
{
	struct json_object *v = json_tokener_parse(json);
	if (!v && strcmp(json, "null") != 0)
		fail_msg("bad test JSON: %s", json);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	admin_format(f, v);
	fclose(f);
	if (strcmp(text, want) != 0)
		fail_msg("%s\nformatted as:\n%s\nexpected:\n%s", json, text, want);
	free(text);
	json_object_put(v);
}

/* Columns in first-seen order, as wide as their widest cell, the last not
 * padded; null, a missing member and an empty list "-", booleans yes/no,
 * a list of scalars joined; a nested object stays out of the table. */
static void test_table(void **state)
{
	expect_format("[{\"name\": \"disk0\", \"size\": 1073741824, \"read_only\": false,"
		      " \"params\": {\"a\": 1}},"
		      " {\"name\": \"d1\", \"size\": 5, \"read_only\": true, \"group\": null,"
		      " \"ports\": [\"a:1\", \"b:2\"]}]",
		      "NAME   SIZE        READ_ONLY  GROUP  PORTS\n"
		      "disk0  1073741824  no         -      -\n"
		      "d1     5           yes        -      a:1,b:2\n");
}

static void test_empty_and_scalars(void **state)
{
	expect_format("[]", "(none)\n");
	expect_format("[\"a\", 2]", "a\n2\n");
	expect_format("\"text without newline\"", "text without newline\n");
	expect_format("\"# config\\n\\nHANDLER x {\\n}\\n\"", "# config\n\nHANDLER x {\n}\n");
	expect_format("true", "yes\n");
	expect_format("null", "-\n");
}

/* An object: name: value lines; nested objects and lists indented. */
static void test_object(void **state)
{
	expect_format("{\"id\": 3, \"initiator\": \"iqn.x\", \"params\": {\"MaxBurstLength\": "
		      "\"262144\", \"ImmediateData\": \"Yes\"}, \"conns\": [{\"cid\": 0, "
		      "\"portal\": \"127.0.0.1:3260\"}], \"empty\": []}",
		      "id: 3\n"
		      "initiator: iqn.x\n"
		      "params:\n"
		      "  MaxBurstLength: 262144\n"
		      "  ImmediateData: Yes\n"
		      "conns:\n"
		      "  CID  PORTAL\n"
		      "  0    127.0.0.1:3260\n"
		      "empty: -\n");
}

/* Widths count characters, not bytes. */
static void test_utf8(void **state)
{
	expect_format("[{\"a\": \"\\u00e9t\\u00e9\", \"b\": 1}, {\"a\": \"x\", \"b\": 2}]",
		      "A    B\n"
		      "\xc3\xa9t\xc3\xa9  1\n"
		      "x    2\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_empty_and_scalars),
	    cmocka_unit_test(test_object),
	    cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
