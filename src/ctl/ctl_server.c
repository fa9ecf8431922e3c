#include "ctl/ctl_server.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/conf_writer.h"
#include "core/core.h"
#include "ctl/ctl_handlers.h"
#include "lib/log.h"

/* A client that connects and then stalls must not block the control thread for long. */
#define CLIENT_TIMEOUT_SEC 5

static struct {
	bool running;
	int listen_fd;
	int stop_pipe[2]; /* written by ctl_server_stop() to wake the thread */
	pthread_t thread;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} ctl = {.listen_fd = -1, .stop_pipe = {-1, -1}};

/* ---- requests ---- */

static const char help_text[] =
    "commands:\n"
    "  version            daemon version\n"
    "  show config        running configuration (scst.conf format)\n"
    "  show config json   running configuration as JSON\n"
    "  show handlers      device attributes: every device's, each handler's\n"
    "  device NAME resync_size\n"
    "                     take the new size of NAME's grown (or shrunk)\n"
    "                     file or block device; initiators get the\n"
    "                     CAPACITY DATA HAS CHANGED unit attention\n"
    "  device NAME set ATTR VALUE\n"
    "                     change a run-time attribute of device NAME (vcdrom:\n"
    "                     filename IMAGE|none loads or empties the drive); VALUE\n"
    "                     is the rest of the line\n"
    "  help               this list\n";

/* Splits the request into at most max words (in place); returns the count or -1 if more. */
static int split_words(char *s, char **words, int max)
{
	int n = 0;
	for (char *save = NULL, *w = strtok_r(s, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return -1;
		words[n++] = w;
	}
	return n;
}

static bool words_are(char **words, int n, const char *a, const char *b, const char *c)
{
	const char *want[3] = {a, b, c};
	int nwant = c ? 3 : b ? 2 : 1;
	if (n != nwant)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(words[i], want[i]) != 0)
			return false;
	return true;
}

static char *unknown_command(const char *request)
{
	char *reply = NULL;
	if (asprintf(&reply, CTL_ERROR_PREFIX "unknown command '%s' (try 'help')\n", request) < 0)
		return NULL;
	return reply;
}

static char *or_oom(char *reply)
{
	return reply ? reply : strdup(CTL_ERROR_PREFIX "out of memory\n");
}

/* "device NAME resync_size": "ok: NAME: OLD -> NEW blocks" or an error.
 * Only this thread resizes devices, so nblocks read here before and after
 * the resync are exactly what it changed. */
static char *device_resync_size(const char *name)
{
	char *reply = NULL;
	struct uscst_device *dev = uscst_device_find(name);
	if (!dev) {
		if (asprintf(&reply, CTL_ERROR_PREFIX "no device '%s'\n", name) < 0)
			return NULL;
		return reply;
	}
	char err[256] = "";
	uint64_t old = atomic_load_explicit(&dev->nblocks, memory_order_relaxed);
	if (uscst_device_resync_size(dev, err, sizeof(err)) < 0) {
		if (asprintf(&reply, CTL_ERROR_PREFIX "%s\n", err) < 0)
			return NULL;
		return reply;
	}
	uint64_t now = atomic_load_explicit(&dev->nblocks, memory_order_relaxed);
	if (asprintf(&reply, "ok: %s: %" PRIu64 " -> %" PRIu64 " blocks\n", dev->name, old, now) <
	    0)
		return NULL;
	return reply;
}

/* The next word of *s (moved past it and the blanks after), NUL-ended in
 * place; NULL if none is left. */
static char *next_word(char **s)
{
	char *w = *s + strspn(*s, " \t");
	if (!*w)
		return NULL;
	char *end = w + strcspn(w, " \t");
	*s = end + strspn(end, " \t");
	if (*end)
		*end = '\0';
	return w;
}

/* "device NAME set ATTR VALUE" (s is a copy, cut in place), VALUE the rest
 * of the line without trailing blanks: "ok: NAME: ATTR VALUE" or an error. */
static char *device_set(char *s)
{
	char *reply = NULL;
	next_word(&s); /* device */
	char *name = next_word(&s);
	next_word(&s); /* set */
	char *attr = next_word(&s);
	char *value = s;
	size_t len = strlen(value);
	while (len && (value[len - 1] == ' ' || value[len - 1] == '\t'))
		value[--len] = '\0';
	if (!attr || !*value) {
		reply = strdup(CTL_ERROR_PREFIX "usage: device NAME set ATTR VALUE\n");
		return reply;
	}
	struct uscst_device *dev = uscst_device_find(name);
	if (!dev) {
		if (asprintf(&reply, CTL_ERROR_PREFIX "no device '%s'\n", name) < 0)
			return NULL;
		return reply;
	}
	char err[512] = "";
	if (uscst_device_set_runtime_attr(dev, attr, value, err, sizeof(err)) < 0) {
		if (asprintf(&reply, CTL_ERROR_PREFIX "%s\n", err) < 0)
			return NULL;
		return reply;
	}
	if (asprintf(&reply, "ok: %s: %s %s\n", dev->name, attr, value) < 0)
		return NULL;
	return reply;
}

/* Whether request is "device NAME set ..." (any number of words after). */
static bool is_device_set(const char *request)
{
	char copy[CTL_MAX_REQUEST + 1];
	snprintf(copy, sizeof(copy), "%s", request);
	char *s = copy, *w[3];
	for (int i = 0; i < 3; i++)
		if (!(w[i] = next_word(&s)))
			return false;
	return !strcmp(w[0], "device") && !strcmp(w[2], "set");
}

char *ctl_handle_request(const char *request)
{
	if (is_device_set(request)) {
		char *copy = strdup(request);
		char *reply = copy ? or_oom(device_set(copy)) : NULL;
		free(copy);
		return reply;
	}

	char *copy = strdup(request);
	if (!copy)
		return NULL;
	char *words[4];
	int n = split_words(copy, words, 4);
	char *reply;
	if (n == 0)
		reply = strdup(CTL_ERROR_PREFIX "empty request (try 'help')\n");
	else if (words_are(words, n, "version", NULL, NULL))
		reply = strdup("uscstd " USCST_VERSION "\n");
	else if (words_are(words, n, "help", NULL, NULL))
		reply = strdup(help_text);
	else if (words_are(words, n, "show", "config", NULL))
		reply = or_oom(conf_running_text());
	else if (words_are(words, n, "show", "config", "json"))
		reply = or_oom(conf_running_json());
	else if (words_are(words, n, "show", "handlers", NULL))
		reply = or_oom(ctl_handlers_text());
	else if (n == 3 && !strcmp(words[0], "device") && !strcmp(words[2], "resync_size"))
		reply = or_oom(device_resync_size(words[1]));
	else
		reply = unknown_command(request);
	free(copy);
	return reply;
}

/* ---- connections ---- */

/* Reads one line (without '\n' or '\r'); false if the client sent nothing usable. */
static bool read_request(int fd, char *buf, size_t size, bool *too_long)
{
	size_t n = 0;
	*too_long = false;
	while (n < size - 1) {
		ssize_t r = recv(fd, buf + n, size - 1 - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = '\0';
	char *nl = strchr(buf, '\n');
	if (!nl && n == size - 1) {
		*too_long = true;
		return false;
	}
	if (nl)
		*nl = '\0';
	size_t len = strlen(buf);
	if (len && buf[len - 1] == '\r')
		buf[len - 1] = '\0';
	return n > 0;
}

static void send_all(int fd, const char *text)
{
	size_t len = strlen(text);
	while (len) {
		/* MSG_NOSIGNAL: a client that went away must not kill the daemon with SIGPIPE. */
		ssize_t w = send(fd, text, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		text += w;
		len -= (size_t)w;
	}
}

static void serve_client(int fd)
{
	struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_SEC};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	char request[CTL_MAX_REQUEST + 1];
	bool too_long;
	char *reply;
	if (read_request(fd, request, sizeof(request), &too_long))
		reply = ctl_handle_request(request);
	else if (too_long)
		reply = strdup(CTL_ERROR_PREFIX "request too long\n");
	else
		return;
	log_debug("ctl: request '%s'", too_long ? "<too long>" : request);
	send_all(fd, reply ? reply : CTL_ERROR_PREFIX "out of memory\n");
	free(reply);
}

static void *ctl_thread(void *arg)
{
	struct pollfd fds[2] = {
	    {.fd = ctl.listen_fd, .events = POLLIN},
	    {.fd = ctl.stop_pipe[0], .events = POLLIN},
	};
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("ctl: poll: %s", strerror(errno));
			return NULL;
		}
		if (fds[1].revents)
			return NULL;
		if (!(fds[0].revents & POLLIN))
			continue;
		int fd = accept4(ctl.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
				log_warn("ctl: accept: %s", strerror(errno));
			continue;
		}
		serve_client(fd);
		close(fd);
	}
}

/* ---- start / stop ---- */

static int make_parent_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(ctl.path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0 || errno == EEXIST)
		return 0;
	snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(errno));
	return -1;
}

/* A socket file nobody listens on is what a crashed daemon leaves: remove it.
 * One somebody listens on means another daemon: refuse. */
static int remove_stale_socket(const struct sockaddr_un *addr, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(addr->sun_path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", addr->sun_path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	bool alive = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	if (alive) {
		snprintf(err, errlen, "another daemon is already listening on %s", addr->sun_path);
		return -1;
	}
	unlink(addr->sun_path);
	return 0;
}

/* The socket gives full control of the daemon: it is created 0600 (umask
 * around bind, so it is never reachable by others even for a moment), or
 * 0660 and group `group` for --ctl-group. */
static int open_listen_socket(const char *path, gid_t group, char *err, size_t errlen)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "control socket path too long (at most %zu bytes): %s",
			 sizeof(addr.sun_path) - 1, path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	if (make_parent_dir(path, err, errlen) < 0 || remove_stale_socket(&addr, err, errlen) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	mode_t old_mask = umask(0177);
	int rc = bind(fd, (const struct sockaddr *)&addr, sizeof(addr));
	umask(old_mask);
	if (rc < 0) {
		snprintf(err, errlen, "cannot bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (group != CTL_NO_GROUP && (chown(path, (uid_t)-1, group) < 0 || chmod(path, 0660) < 0)) {
		snprintf(err, errlen, "cannot give %s to group %u: %s", path, (unsigned)group,
			 strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (listen(fd, 16) < 0) {
		snprintf(err, errlen, "listen on %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

/* The thread blocks all signals so SIGINT/SIGTERM reach the daemon's main thread. */
static int start_thread(char *err, size_t errlen)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&ctl.thread, NULL, ctl_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the control thread: %s", strerror(rc));
		return -1;
	}
	pthread_setname_np(ctl.thread, "uscst-ctl");
	return 0;
}

static void close_fds(void)
{
	if (ctl.listen_fd >= 0)
		close(ctl.listen_fd);
	for (int i = 0; i < 2; i++)
		if (ctl.stop_pipe[i] >= 0)
			close(ctl.stop_pipe[i]);
	ctl.listen_fd = ctl.stop_pipe[0] = ctl.stop_pipe[1] = -1;
}

int ctl_server_start(const char *path, gid_t group, char *err, size_t errlen)
{
	if (ctl.running) {
		snprintf(err, errlen, "control server already running on %s", ctl.path);
		return -1;
	}
	if (!path)
		path = CTL_DEFAULT_SOCKET;
	ctl.listen_fd = open_listen_socket(path, group, err, errlen);
	if (ctl.listen_fd < 0)
		return -1;
	snprintf(ctl.path, sizeof(ctl.path), "%s", path);
	if (pipe2(ctl.stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (start_thread(err, errlen) < 0)
		goto fail;
	ctl.running = true;
	log_info("control socket: %s", path);
	return 0;
fail:
	close_fds();
	unlink(path);
	return -1;
}

void ctl_server_stop(void)
{
	if (!ctl.running)
		return;
	ssize_t w;
	do
		w = write(ctl.stop_pipe[1], "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(ctl.thread, NULL);
	close_fds();
	/* After --user the directory may not let us: the file stays, and the
	 * next start replaces it as a stale socket. */
	unlink(ctl.path);
	ctl.running = false;
}
