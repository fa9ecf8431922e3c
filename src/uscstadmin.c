/*
 * uscstadmin: talks to a running uscstd over its control socket.
 *
 * Generic: it sends the command words as they are (ctl/ctl_protocol.h) and
 * prints the answer: for people, the daemon's message or the result as a
 * table (admin/admin_format.h); with -j, the result as JSON.  The daemon
 * knows the commands ('uscstadmin help' lists them).
 *
 * Exit codes: 0 success; 1 the daemon answered with an error (its message
 * on stderr) or could not be reached; 2 bad usage (of uscstadmin, or words
 * that make no command of the daemon).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "admin/admin_file.h"
#include "admin/admin_format.h"
#include "ctl/ctl_protocol.h"

#define EXIT_USAGE 2
#define MAX_ANSWER (256u << 20) /* bytes: far above any listing */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: uscstadmin [-s SOCKET] [-j] [-t SECONDS] COMMAND [WORD...]\n"
		"\n"
		"Sends COMMAND to uscstd and prints the answer: a table for people, or\n"
		"JSON with stable field names for scripts (-j).  'uscstadmin help' lists the\n"
		"commands the daemon knows, e.g.\n"
		"  list devices | targets | groups | initiators | luns | portals |\n"
		"       sessions | connections | handlers\n"
		"  show config [--json]      show device NAME      show session ID\n"
		"  device NAME resync_size   device NAME set ATTR VALUE\n"
		"  config write FILE         the running configuration to FILE (atomically)\n"
		"  config apply FILE [--dry-run]\n"
		"                            bring uscstd to FILE's state, printing each change\n"
		"\n"
		"options:\n"
		"  -s, --socket SOCKET    control socket of uscstd (default %s)\n"
		"  -j, --json             print the result as JSON (--json also as the last\n"
		"                         word)\n"
		"  -t, --timeout SECONDS  give up waiting for the answer after SECONDS\n"
		"                         (default: wait)\n"
		"  -h, --help             this help\n"
		"\n"
		"exit status: 0 ok, 1 the daemon refused (its message on stderr) or could\n"
		"not be reached, 2 usage\n",
		CTL_DEFAULT_SOCKET);
}

static int connect_socket(const char *path, unsigned timeout_s)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "uscstadmin: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "uscstadmin: socket: %s\n", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		fprintf(stderr, "uscstadmin: cannot connect to %s: %s\n", path, strerror(e));
		if (e == ENOENT || e == ECONNREFUSED)
			fprintf(stderr, "uscstadmin: is uscstd running? (use -s to name another "
					"socket)\n");
		else if (e == EACCES)
			fprintf(stderr, "uscstadmin: permission denied: run as root or as a member "
					"of the socket's group\n");
		close(fd);
		return -1;
	}
	if (timeout_s) {
		struct timeval tv = {.tv_sec = timeout_s};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

/* {"protocol": 1, "cmd": [words], "output": "json"|"text"} as text; NULL on ENOMEM. */
static char *request_text(char **words, int n, bool json, size_t input_len)
{
	struct json_object *req = json_object_new_object();
	struct json_object *cmd = json_object_new_array();
	bool ok = req && cmd &&
		  json_object_object_add(req, "protocol",
					 json_object_new_int(CTL_PROTOCOL_VERSION)) == 0 &&
		  json_object_object_add(req, "cmd", json_object_get(cmd)) == 0 &&
		  json_object_object_add(req, "output",
					 json_object_new_string(json ? "json" : "text")) == 0;
	for (int i = 0; ok && i < n; i++)
		ok = json_object_array_add(cmd, json_object_new_string(words[i])) == 0;
	if (ok && input_len)
		ok = json_object_object_add(req, "input_bytes",
					    json_object_new_int64((int64_t)input_len)) == 0;
	char *text = NULL;
	if (ok)
		text = strdup(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	json_object_put(cmd);
	json_object_put(req);
	return text;
}

static bool send_bytes(int fd, const char *text, size_t len)
{
	while (len) {
		ssize_t w = send(fd, text, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "uscstadmin: sending the request: %s\n",
				w < 0 ? strerror(errno) : "connection closed");
			return false;
		}
		text += w;
		len -= (size_t)w;
	}
	return true;
}

static bool send_all(int fd, const char *text) { return send_bytes(fd, text, strlen(text)); }

/* The whole answer (the daemon closes when done); malloc'd, NULL on error. */
static char *read_answer(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 == cap) {
			char *b = cap < MAX_ANSWER ? realloc(buf, cap * 2) : NULL;
			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		/* The daemon closed with part of what we sent unread (it
		 * refused it): what it answered came first. */
		if (r < 0 && errno == ECONNRESET && len)
			r = 0;
		if (r < 0) {
			fprintf(stderr, "uscstadmin: reading the answer: %s\n",
				errno == EAGAIN ? "timed out" : strerror(errno));
			free(buf);
			return NULL;
		}
		if (r == 0) {
			buf[len] = '\0';
			return buf;
		}
		len += (size_t)r;
	}
	fprintf(stderr, "uscstadmin: out of memory, or an answer over %u bytes\n", MAX_ANSWER);
	free(buf);
	return NULL;
}

/* Prints the answer; returns the exit code. */
static int print_answer(const char *text, bool json)
{
	if (!text[0]) {
		fprintf(stderr, "uscstadmin: the daemon closed the connection without answering\n");
		return EXIT_FAILURE;
	}
	enum json_tokener_error e;
	struct json_object *a = json_tokener_parse_verbose(text, &e);
	struct json_object *ok, *v;
	if (!a || !json_object_object_get_ex(a, "ok", &ok)) {
		fprintf(stderr,
			"uscstadmin: the daemon's answer is not a protocol %d answer (%s)\n",
			CTL_PROTOCOL_VERSION, a ? "no \"ok\"" : json_tokener_error_desc(e));
		json_object_put(a);
		return EXIT_FAILURE;
	}
	int rc = EXIT_SUCCESS;
	if (!json_object_get_boolean(ok)) {
		const char *msg = json_object_object_get_ex(a, "error", &v)
				      ? json_object_get_string(v)
				      : "failed (no message)";
		fprintf(stderr, CTL_ERROR_PREFIX "%s\n", msg);
		rc = json_object_object_get_ex(a, "usage", &v) && json_object_get_boolean(v)
			 ? EXIT_USAGE
			 : EXIT_FAILURE;
	} else if (json) {
		struct json_object *result = NULL;
		json_object_object_get_ex(a, "result", &result);
		puts(json_object_to_json_string_ext(result, JSON_C_TO_STRING_PRETTY |
								JSON_C_TO_STRING_SPACED |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (json_object_object_get_ex(a, "message", &v)) {
		puts(json_object_get_string(v));
	} else {
		struct json_object *result = NULL;
		json_object_object_get_ex(a, "result", &result);
		admin_format(stdout, result);
	}
	json_object_put(a);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "uscstadmin: writing the output: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	return rc;
}

/* Sends request (and input_len bytes of input after it) and returns the
 * answer text; NULL with a message on stderr. */
static char *exchange(const char *socket_path, unsigned timeout_s, const char *request,
		      const char *input, size_t input_len)
{
	int fd = connect_socket(socket_path, timeout_s);
	if (fd < 0)
		return NULL;
	char *answer = NULL;
	if (send_all(fd, request) && (!input || send_bytes(fd, input, input_len))) {
		shutdown(fd, SHUT_WR); /* nothing more comes: the daemon may answer */
		answer = read_answer(fd);
	}
	close(fd);
	return answer;
}

/* The request for words, with "input_bytes" when input follows. */
static char *checked_request(char **words, int n, bool json, size_t input_len)
{
	char *request = request_text(words, n, json, input_len);
	if (!request) {
		fprintf(stderr, "uscstadmin: out of memory\n");
		return NULL;
	}
	if (strlen(request) > CTL_MAX_REQUEST) {
		fprintf(stderr,
			"uscstadmin: the command is longer than the %d bytes uscstd takes\n",
			CTL_MAX_REQUEST);
		free(request);
		return NULL;
	}
	return request;
}

static int run_with_input(const char *socket_path, unsigned timeout_s, char **words, int n,
			  bool json, const char *input, size_t input_len)
{
	char *request = checked_request(words, n, json, input ? input_len : 0);
	if (!request)
		return EXIT_USAGE;
	char *answer = exchange(socket_path, timeout_s, request, input, input_len);
	free(request);
	int rc = answer ? print_answer(answer, json) : EXIT_FAILURE;
	free(answer);
	return rc;
}

static int run(const char *socket_path, unsigned timeout_s, char **words, int n, bool json)
{
	return run_with_input(socket_path, timeout_s, words, n, json, NULL, 0);
}

/* config apply FILE [--dry-run]: the file is read here, with the user's
 * rights, and its text sent as the request's input (the daemon opens no
 * path a client names; it may run as a user that cannot read FILE). */
static int config_apply(const char *socket_path, unsigned timeout_s, char **words, int n, bool json)
{
	char err[512];
	size_t len = 0;
	char *text = admin_read_file(words[2], CTL_MAX_INPUT, &len, err, sizeof(err));
	if (!text) {
		fprintf(stderr, "uscstadmin: %s\n", err);
		return EXIT_FAILURE;
	}
	/* An empty file is a configuration without objects: one newline
	 * says so (the protocol's input is 1 byte or more). */
	int rc = run_with_input(socket_path, timeout_s, words, n, json, len ? text : "\n",
				len ? len : 1);
	free(text);
	return rc;
}

/* config write FILE: the daemon's `show config` text, written here
 * atomically with the user's rights (admin/admin_file.h). */
static int config_write(const char *socket_path, unsigned timeout_s, const char *path, bool json)
{
	char *words[] = {"show", "config"};
	char *request = checked_request(words, 2, false, 0);
	char *answer = request ? exchange(socket_path, timeout_s, request, NULL, 0) : NULL;
	free(request);
	struct json_object *a = answer ? json_tokener_parse(answer) : NULL, *ok, *v;
	int rc = EXIT_FAILURE;
	if (!a || !json_object_object_get_ex(a, "ok", &ok)) {
		if (answer)
			fprintf(stderr,
				"uscstadmin: the daemon's answer is not a protocol %d "
				"answer\n",
				CTL_PROTOCOL_VERSION);
	} else if (!json_object_get_boolean(ok)) {
		fprintf(stderr, CTL_ERROR_PREFIX "%s\n",
			json_object_object_get_ex(a, "error", &v) ? json_object_get_string(v)
								  : "failed");
	} else if (!json_object_object_get_ex(a, "result", &v) ||
		   !json_object_is_type(v, json_type_string)) {
		fprintf(stderr, "uscstadmin: the daemon sent no configuration text\n");
	} else {
		char err[1024];
		if (admin_write_atomic(path, json_object_get_string(v), err, sizeof(err)) < 0) {
			fprintf(stderr, "uscstadmin: %s\n", err);
		} else {
			struct json_object *r = json_object_new_object();
			if (json && r &&
			    json_object_object_add(r, "file", json_object_new_string(path)) == 0)
				puts(json_object_to_json_string_ext(
				    r, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					   JSON_C_TO_STRING_NOSLASHESCAPE));
			else
				printf("ok: the running configuration written to %s\n", path);
			json_object_put(r);
			rc = EXIT_SUCCESS;
		}
	}
	json_object_put(a);
	free(answer);
	return rc;
}

int main(int argc, char **argv)
{
	const char *socket_path = CTL_DEFAULT_SOCKET;
	bool json = false;
	unsigned timeout_s = 0;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];
		if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
			usage(stdout);
			return EXIT_SUCCESS;
		}
		if (strcmp(o, "-j") == 0 || strcmp(o, "--json") == 0) {
			json = true;
			continue;
		}
		if ((strcmp(o, "-s") == 0 || strcmp(o, "--socket") == 0) && i + 1 < argc) {
			socket_path = argv[++i];
			continue;
		}
		if ((strcmp(o, "-t") == 0 || strcmp(o, "--timeout") == 0) && i + 1 < argc) {
			char *end;
			unsigned long t = strtoul(argv[++i], &end, 10);
			if (*end || !*argv[i] || t == 0 || t > 86400) {
				fprintf(stderr, "uscstadmin: bad timeout '%s' (1..86400 s)\n",
					argv[i]);
				return EXIT_USAGE;
			}
			timeout_s = (unsigned)t;
			continue;
		}
		fprintf(stderr, "uscstadmin: unknown option or missing argument: %s\n", o);
		usage(stderr);
		return EXIT_USAGE;
	}
	int n = argc - i;
	/* `show config --json` (as uscstadmin always took it): a last --json
	 * is the option. */
	if (n > 1 && strcmp(argv[argc - 1], "--json") == 0) {
		json = true;
		n--;
	}
	if (n == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (n > CTL_MAX_WORDS) {
		fprintf(stderr, "uscstadmin: %d words; a command has at most %d\n", n,
			CTL_MAX_WORDS);
		return EXIT_USAGE;
	}
	char **words = argv + i;
	if (n >= 1 && strcmp(words[0], "config") == 0) {
		if (n == 3 && strcmp(words[1], "write") == 0)
			return config_write(socket_path, timeout_s, words[2], json);
		if ((n == 3 || (n == 4 && strcmp(words[3], "--dry-run") == 0)) &&
		    strcmp(words[1], "apply") == 0)
			return config_apply(socket_path, timeout_s, words, n, json);
		fprintf(stderr, "uscstadmin: usage: config write FILE | config apply FILE "
				"[--dry-run]\n");
		return EXIT_USAGE;
	}
	return run(socket_path, timeout_s, words, n, json);
}
