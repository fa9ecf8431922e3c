/*
 * The control socket under bad input: malformed, huge, too deep and
 * silent requests each get an error answer (or a timeout), an unknown
 * verb a usage error, and a silent client never stops the others.
 * The server runs as in uscstd, on a socket in a temporary directory.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "ctl/ctl_server.h"
#include "lib/log.h"

static char sock_path[108];
static char dir[64];

static int connect_ctl(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_text(int fd, const char *text, size_t len)
{
	while (len) {
		ssize_t w = send(fd, text, len, MSG_NOSIGNAL);
		assert_true(w > 0);
		text += w;
		len -= (size_t)w;
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Everything the server sends until it closes, within timeout_s. */
static char *read_all(int fd, double timeout_s)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	double end = now_s() + timeout_s;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int ms = (int)((end - now_s()) * 1000);
		if (ms <= 0 || poll(&p, 1, ms) <= 0)
			fail_msg("no answer within %.1f s", timeout_s);
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == ECONNRESET)
			r = 0;
		assert_true(r >= 0);
		if (r == 0)
			break;
		len += (size_t)r;
		assert_true(len < cap - 1);
	}
	buf[len] = '\0';
	return buf;
}

/* The answer to request text (sent whole, then the write side shut):
 * its "error", or NULL when ok. */
static char *error_of_answer(const char *answer)
{
	struct json_object *a = json_tokener_parse(answer);
	if (!a)
		fail_msg("answer is not JSON: '%s'", answer);
	struct json_object *ok, *err;
	assert_true(json_object_object_get_ex(a, "ok", &ok));
	char *e = NULL;
	if (!json_object_get_boolean(ok)) {
		assert_true(json_object_object_get_ex(a, "error", &err));
		e = strdup(json_object_get_string(err));
	}
	json_object_put(a);
	return e;
}

static char *ask(const char *request, size_t len)
{
	int fd = connect_ctl();
	send_text(fd, request, len);
	shutdown(fd, SHUT_WR);
	char *answer = read_all(fd, 3);
	close(fd);
	char *e = error_of_answer(answer);
	free(answer);
	return e;
}

static void expect_error(const char *request, const char *says)
{
	char *e = ask(request, strlen(request));
	if (!e || !strstr(e, says))
		fail_msg("request '%.60s': error '%s', expected '%s'", request, e ? e : "(none)",
			 says);
	free(e);
}

static const char version_req[] = "{\"protocol\": 1, \"cmd\": [\"version\"]}";

static void test_version(void **state)
{
	char *e = ask(version_req, strlen(version_req));
	assert_null(e);
}

static void test_malformed(void **state)
{
	expect_error("{\"protocol\": 1, \"cmd\": [\"version\"", "request ended before");
	expect_error("{\"protocol\": 1, \"cmd\": [version]}", "malformed JSON request");
	expect_error("[\"version\"]", "one JSON object");
	expect_error("{\"cmd\": [\"version\"]}", "no \"protocol\"");
	expect_error("{\"protocol\": 2, \"cmd\": [\"version\"]}", "protocol 2 is not spoken");
	expect_error("{\"protocol\": 1, \"cmd\": \"version\"}", "no \"cmd\" array");
	expect_error("{\"protocol\": 1, \"cmd\": [\"version\", 5]}", "word 2");
	expect_error("{\"protocol\": 1, \"cmd\": [\"ver\\u0000sion\"]}", "NUL");
	expect_error("{\"protocol\": 1, \"cmd\": [\"version\"], \"output\": \"xml\"}",
		     "\"output\"");
	expect_error("{\"protocol\": 1, \"cmd\": [[[[[[[[[[[\"deep\"]]]]]]]]]]]}",
		     "malformed JSON request");
}

static void test_unknown_verb(void **state)
{
	int fd = connect_ctl();
	const char req[] = "{\"protocol\": 1, \"cmd\": [\"frobnicate\", \"now\"]}";
	send_text(fd, req, sizeof(req) - 1);
	shutdown(fd, SHUT_WR);
	char *answer = read_all(fd, 3);
	close(fd);
	struct json_object *a = json_tokener_parse(answer), *v;
	assert_non_null(a);
	assert_true(json_object_object_get_ex(a, "usage", &v) && json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(a, "error", &v));
	assert_string_equal(json_object_get_string(v),
			    "unknown command 'frobnicate now' (try 'help')");
	json_object_put(a);
	free(answer);
}

/* More than CTL_MAX_REQUEST bytes: refused without reading it all. */
static void test_huge(void **state)
{
	size_t len = CTL_MAX_REQUEST + 4096;
	char *req = malloc(len + 1);
	memset(req, ' ', len);
	memcpy(req, "{\"protocol\": 1, \"cmd\": [\"", 25);
	memcpy(req + len - 4, "\"]}\n", 4);
	req[len] = '\0';
	for (size_t i = 25; i < len - 4; i++)
		req[i] = 'x';
	char *e = ask(req, len);
	assert_non_null(e);
	assert_non_null(strstr(e, "request longer than 65536 bytes"));
	free(e);
	free(req);
}

/* A client that connects and never sends: the others are answered at
 * once meanwhile, and it gets a timeout error after CTL_REQUEST_TIMEOUT_MS. */
static void test_silent_client(void **state)
{
	double t0 = now_s();
	int silent = connect_ctl();
	int half = connect_ctl();
	send_text(half, "{\"protocol\": 1,", 15); /* and then nothing more */
	for (int i = 0; i < 20; i++) {
		double t = now_s();
		char *e = ask(version_req, strlen(version_req));
		assert_null(e);
		if (now_s() - t > 0.5)
			fail_msg("answer %d took %.3f s beside a silent client", i, now_s() - t);
	}
	char *answer = read_all(silent, CTL_REQUEST_TIMEOUT_MS / 1000.0 + 2);
	double waited = now_s() - t0;
	char *e = error_of_answer(answer);
	assert_non_null(e);
	assert_non_null(strstr(e, "no complete request within 5000 ms"));
	assert_true(waited > CTL_REQUEST_TIMEOUT_MS / 1000.0 - 0.5);
	free(e);
	free(answer);
	answer = read_all(half, 2);
	e = error_of_answer(answer);
	assert_non_null(e);
	assert_non_null(strstr(e, "no complete request"));
	free(e);
	free(answer);
	close(silent);
	close(half);
}

/* CTL_MAX_CLIENTS held open: one more is told so at once; a probe that
 * connects and closes without a word is no trouble. */
static void test_too_many_clients(void **state)
{
	int fds[CTL_MAX_CLIENTS];
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		fds[i] = connect_ctl();
	usleep(100 * 1000); /* the server accepts them */
	int extra = connect_ctl();
	char *answer = read_all(extra, 2);
	char *e = error_of_answer(answer);
	assert_non_null(e);
	assert_non_null(strstr(e, "connected already"));
	free(e);
	free(answer);
	close(extra);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		close(fds[i]);
	usleep(100 * 1000);
	close(connect_ctl());
	e = ask(version_req, strlen(version_req));
	assert_null(e);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/uscst-ctl-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", dir);
	char err[256];
	if (ctl_server_start(sock_path, CTL_NO_GROUP, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	ctl_server_stop();
	rmdir(dir);
	return 0;
}

int main(void)
{
	log_max_level = LOG_ERR;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version),	  cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_unknown_verb),  cmocka_unit_test(test_huge),
	    cmocka_unit_test(test_silent_client), cmocka_unit_test(test_too_many_clients),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
