/* Unit tests: the Prometheus text of a statistics snapshot
 * (metrics/prom_format.c) and the request check of the metrics server
 * (metrics/http_request.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/http_request.h"
#include "metrics/prom_format.h"

static char *escaped(const char *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	prom_escape_label(f, s);
	fclose(f);
	return out;
}

static void test_escape(void **state)
{
	char *e = escaped("plain-iqn.2026:x");
	assert_string_equal(e, "plain-iqn.2026:x");
	free(e);
	e = escaped("a\\b\"c\nd");
	assert_string_equal(e, "a\\\\b\\\"c\\nd");
	free(e);
	e = escaped("");
	assert_string_equal(e, "");
	free(e);
}

/* Index of the line that starts with prefix, or -1. */
static int line_of(const char *text, const char *prefix)
{
	int n = 0;
	size_t plen = strlen(prefix);
	for (const char *p = text; *p; n++) {
		if (!strncmp(p, prefix, plen))
			return n;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return -1;
}

static void test_format(void **state)
{
	struct uscst_stats_entry e[3];
	memset(e, 0, sizeof(e));
	e[0].kind = USCST_STATS_DEVICE;
	snprintf(e[0].device, sizeof(e[0].device), "disk0");
	e[0].sum.v[USCST_STAT_COMMANDS] = 7;
	e[1].kind = USCST_STATS_LUN;
	snprintf(e[1].target, sizeof(e[1].target), "iqn.x:\"odd\\name\"");
	snprintf(e[1].device, sizeof(e[1].device), "disk0");
	e[1].lun = 3;
	e[1].sum.has_histogram = true;
	e[1].sum.v[USCST_STAT_COMMANDS] = 7;
	e[1].sum.v[USCST_STAT_READ_BYTES] = 4096;
	e[1].sum.v[USCST_STAT_ERRORS + SK_UNIT_ATTENTION] = 1;
	e[1].sum.v[USCST_STAT_BUCKET0 + 0] = 2;
	e[1].sum.v[USCST_STAT_BUCKET0 + 3] = 4;
	e[1].sum.v[USCST_STAT_BUCKET0 + USCST_LAT_FINITE] = 1;
	e[1].sum.v[USCST_STAT_LATENCY_NS] = 20000001500ull;
	e[2].kind = USCST_STATS_SESSION;
	snprintf(e[2].target, sizeof(e[2].target), "t");
	snprintf(e[2].initiator, sizeof(e[2].initiator), "iqn.i\nx");
	e[2].session_id = 42;
	struct uscst_stats_snapshot snap = {.e = e, .n = 3, .cap = 3};
	char *text = prom_format(&snap);
	assert_non_null(text);

	const char *labels = "{target=\"iqn.x:\\\"odd\\\\name\\\"\",group=\"\",lun=\"3\","
			     "device=\"disk0\"";
	char want[512];
	/* HELP and TYPE come right before the family's samples. */
	int help = line_of(text, "# HELP uscst_commands_total ");
	int type = line_of(text, "# TYPE uscst_commands_total counter");
	snprintf(want, sizeof(want), "uscst_commands_total%s} 7\n", labels);
	assert_non_null(strstr(text, want));
	assert_true(help >= 0 && type == help + 1);
	assert_int_equal(line_of(text, "uscst_commands_total{"), type + 1);
	snprintf(want, sizeof(want), "uscst_read_bytes_total%s} 4096\n", labels);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want),
		 "uscst_command_errors_total%s,sense_key=\"unit_attention\"} 1\n", labels);
	assert_non_null(strstr(text, want));
	assert_null(strstr(text, "sense_key=\"medium_error\"")); /* zero: not written */
	assert_non_null(strstr(text, "uscst_device_commands_total{device=\"disk0\"} 7\n"));
	assert_non_null(strstr(text, "uscst_session_commands_total{target=\"t\","
				     "initiator=\"iqn.i\\nx\",session=\"42\"} 0\n"));
	assert_true(line_of(text, "# TYPE uscst_command_duration_seconds histogram") >= 0);
	/* Buckets are cumulative; +Inf and _count are the total. */
	snprintf(want, sizeof(want), "uscst_command_duration_seconds_bucket%s,le=\"0.000001\"} 2\n",
		 labels);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "uscst_command_duration_seconds_bucket%s,le=\"0.000004\"} 2\n",
		 labels);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "uscst_command_duration_seconds_bucket%s,le=\"0.000008\"} 6\n",
		 labels);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want),
		 "uscst_command_duration_seconds_bucket%s,le=\"16.777216\"} 6\n", labels);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "uscst_command_duration_seconds_bucket%s,le=\"+Inf\"} 7\n",
		 labels);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "uscst_command_duration_seconds_sum%s} 20.000001500\n",
		 labels);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "uscst_command_duration_seconds_count%s} 7\n", labels);
	assert_non_null(strstr(text, want));
	/* Every family is written once. */
	const char *first = strstr(text, "# TYPE uscst_aborts_total ");
	assert_non_null(first);
	assert_null(strstr(first + 1, "# TYPE uscst_aborts_total "));
	free(text);
}

static int status(const char *req) { return http_request_status(req, strlen(req)); }

static void test_http_request(void **state)
{
	assert_int_equal(status("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
	assert_int_equal(status("GET /metrics HTTP/1.0\r\n\r\n"), 200);
	assert_int_equal(status("GET /metrics?x=1 HTTP/1.1\n\n"), 200);
	assert_int_equal(status("GET /metrics HTTP/1.1\r\nHost: x\r\n"), 0); /* not yet */
	assert_int_equal(status("GET /metr"), 0);
	assert_int_equal(status("GET / HTTP/1.1\r\n\r\n"), 404);
	assert_int_equal(status("GET /metricsx HTTP/1.1\r\n\r\n"), 404);
	assert_int_equal(status("POST /metrics HTTP/1.1\r\n\r\n"), 405);
	assert_int_equal(status("HEAD /metrics HTTP/1.1\r\n\r\n"), 405);
	assert_int_equal(status("GET /metrics HTTP/2.0\r\n\r\n"), 400);
	assert_int_equal(status("GET /metrics\r\n\r\n"), 400);
	assert_int_equal(status("garbage\r\n\r\n"), 400);
	assert_int_equal(status("GET  /metrics HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(status("\r\n\r\n"), 400);
	char big[HTTP_MAX_REQUEST];
	memset(big, 'a', sizeof(big));
	assert_int_equal(http_request_status(big, sizeof(big)), 431);
	assert_int_equal(http_request_status(big, sizeof(big) - 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_http_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
