/*
 * uscstadmin: talks to a running uscstd over its control socket.
 *
 * Each invocation sends one request line and prints the answer.  Exit codes:
 * 0 success, 1 the daemon answered with an error or could not be reached,
 * 2 bad usage.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/ctl_server.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f,
		"usage: uscstadmin [-s SOCKET] COMMAND\n"
		"\n"
		"commands:\n"
		"  show config [--json]   print the running configuration (scst.conf or JSON)\n"
		"  show handlers          the device attributes every device and each\n"
		"                         handler accepts, with types and defaults\n"
		"  device NAME resync_size\n"
		"                         take the new size of device NAME after its file or\n"
		"                         block device was grown (or shrunk); initiators are\n"
		"                         told through a CAPACITY DATA HAS CHANGED unit\n"
		"                         attention, sessions stay up\n"
		"  device NAME set ATTR VALUE\n"
		"                         change a run-time attribute of device NAME; for a\n"
		"                         vcdrom, filename IMAGE loads a new medium (initiators\n"
		"                         get NOT READY TO READY CHANGE) and filename none\n"
		"                         empties the drive; refused while an initiator\n"
		"                         prevents medium removal\n"
		"  version                print the daemon's version\n"
		"\n"
		"options:\n"
		"  -s, --socket SOCKET    control socket of uscstd (default %s)\n"
		"  -h, --help             this help\n",
		CTL_DEFAULT_SOCKET);
}

/* A word that goes into the request line must stay one word of one line. */
static bool plain_word(const char *w)
{
	if (!*w)
		return false;
	for (; *w; w++)
		if ((unsigned char)*w <= ' ' || *w == 0x7f)
			return false;
	return true;
}

/* A value is the rest of the request line: one line, no control bytes,
 * not empty (spaces inside are kept: a file name may have them). */
static bool plain_value(const char *v)
{
	if (!*v || *v == ' ' || v[strlen(v) - 1] == ' ')
		return false;
	for (; *v; v++)
		if ((unsigned char)*v < ' ' || *v == 0x7f)
			return false;
	return true;
}

/* "device NAME set ATTR VALUE" */
static bool set_request(const char *name, const char *attr, const char *value, char *buf,
			size_t size)
{
	if (!plain_word(name) || !plain_word(attr)) {
		fprintf(stderr, "uscstadmin: bad device or attribute name '%s' '%s'\n", name, attr);
		return false;
	}
	if (!plain_value(value)) {
		fprintf(stderr,
			"uscstadmin: bad value '%s' (empty, control characters, or "
			"leading or trailing spaces)\n",
			value);
		return false;
	}
	int n = snprintf(buf, size, "device %s set %s %s\n", name, attr, value);
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "uscstadmin: request too long\n");
		return false;
	}
	return true;
}

/* Turns the command words into the protocol's request line in buf (size
 * bytes); false if not a command or the line would not fit. */
static bool request_for(int argc, char **argv, char *buf, size_t size)
{
	const char *fixed = NULL;
	if (argc == 1 && strcmp(argv[0], "version") == 0)
		fixed = "version\n";
	else if (argc == 2 && strcmp(argv[0], "show") == 0 && strcmp(argv[1], "config") == 0)
		fixed = "show config\n";
	else if (argc == 2 && strcmp(argv[0], "show") == 0 && strcmp(argv[1], "handlers") == 0)
		fixed = "show handlers\n";
	else if (argc == 3 && strcmp(argv[0], "show") == 0 && strcmp(argv[1], "config") == 0 &&
		 strcmp(argv[2], "--json") == 0)
		fixed = "show config json\n";
	if (fixed) {
		int n = snprintf(buf, size, "%s", fixed);
		return n > 0 && (size_t)n < size;
	}
	if (argc == 3 && strcmp(argv[0], "device") == 0 && strcmp(argv[2], "resync_size") == 0) {
		if (!plain_word(argv[1])) {
			fprintf(stderr, "uscstadmin: bad device name '%s'\n", argv[1]);
			return false;
		}
		int n = snprintf(buf, size, "device %s resync_size\n", argv[1]);
		if (n < 0 || (size_t)n >= size) {
			fprintf(stderr, "uscstadmin: device name too long\n");
			return false;
		}
		return true;
	}
	if (argc == 5 && strcmp(argv[0], "device") == 0 && strcmp(argv[2], "set") == 0)
		return set_request(argv[1], argv[3], argv[4], buf, size);
	return false;
}

static int connect_socket(const char *path)
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
	return fd;
}

static bool send_request(int fd, const char *request)
{
	size_t len = strlen(request);
	while (len) {
		ssize_t w = send(fd, request, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "uscstadmin: sending the request: %s\n", strerror(errno));
			return false;
		}
		request += w;
		len -= (size_t)w;
	}
	return true;
}

/* Reads the whole answer (the server closes when done); malloc'd, NULL on error. */
static char *read_reply(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 == cap) {
			char *b = realloc(buf, cap * 2);
			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "uscstadmin: reading the answer: %s\n", strerror(errno));
			free(buf);
			return NULL;
		}
		if (r == 0) {
			buf[len] = '\0';
			return buf;
		}
		len += (size_t)r;
	}
	fprintf(stderr, "uscstadmin: out of memory\n");
	free(buf);
	return NULL;
}

static int run(const char *socket_path, const char *request)
{
	int fd = connect_socket(socket_path);
	if (fd < 0)
		return EXIT_FAILURE;
	char *reply = send_request(fd, request) ? read_reply(fd) : NULL;
	close(fd);
	if (!reply)
		return EXIT_FAILURE;
	if (!reply[0]) {
		fprintf(stderr, "uscstadmin: the daemon closed the connection without answering\n");
		free(reply);
		return EXIT_FAILURE;
	}
	bool failed = strncmp(reply, CTL_ERROR_PREFIX, strlen(CTL_ERROR_PREFIX)) == 0;
	fputs(reply, failed ? stderr : stdout);
	free(reply);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "uscstadmin: writing the output: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	const char *socket_path = CTL_DEFAULT_SOCKET;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return EXIT_SUCCESS;
		}
		if ((strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0) &&
		    i + 1 < argc) {
			socket_path = argv[++i];
			continue;
		}
		fprintf(stderr, "uscstadmin: unknown option or missing argument: %s\n", argv[i]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* The daemon reads at most CTL_MAX_REQUEST bytes, newline included. */
	char request[CTL_MAX_REQUEST + 1];
	if (!request_for(argc - i, argv + i, request, sizeof(request))) {
		fprintf(stderr, "uscstadmin: unknown command:");
		for (int j = i; j < argc; j++)
			fprintf(stderr, " %s", argv[j]);
		fputc('\n', stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	return run(socket_path, request);
}
