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
#include <time.h>
#include <unistd.h>

#include "ctl/ctl_config.h"
#include "ctl/ctl_request.h"
#include "ctl/ctl_verbs.h"
#include "lib/log.h"

/* ---- clients ---- */

struct client {
	int fd; /* -1: a free slot */
	bool writing;
	uint64_t deadline_ms;
	struct json_tokener *tok;
	size_t received;
	/* Input announced by the request ("input_bytes"): the parsed
	 * request waits here until all of it has come. */
	struct json_object *req;
	char *input;
	size_t input_len, input_got;
	char *answer;
	size_t len, sent;
};

static struct {
	bool running;
	int listen_fd;
	int stop_pipe[2]; /* written by ctl_server_stop() to wake the thread */
	pthread_t thread;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client clients[CTL_MAX_CLIENTS];
} ctl = {.listen_fd = -1, .stop_pipe = {-1, -1}};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void drop(struct client *c)
{
	close(c->fd);
	if (c->tok)
		json_tokener_free(c->tok);
	json_object_put(c->req);
	free(c->input);
	free(c->answer);
	*c = (struct client){.fd = -1};
}

/* Sends what the socket takes now; drops the client once all is sent or
 * it went away. */
static void write_some(struct client *c)
{
	while (c->sent < c->len) {
		/* MSG_NOSIGNAL: a client that went away must not kill the daemon with SIGPIPE. */
		ssize_t w =
		    send(c->fd, c->answer + c->sent, c->len - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w <= 0) {
			drop(c);
			return;
		}
		c->sent += (size_t)w;
	}
	drop(c);
}

/* Takes the answer object a (NULL: out of memory) and starts sending it. */
static void answer(struct client *c, struct json_object *a)
{
	c->answer = ctl_answer_text(a);
	if (!c->answer) {
		drop(c);
		return;
	}
	c->len = strlen(c->answer);
	c->writing = true;
	c->deadline_ms = now_ms() + CTL_WRITE_TIMEOUT_MS;
	json_tokener_free(c->tok);
	c->tok = NULL;
	write_some(c);
}

/* All the input has come: the verb runs. */
static void answer_with_input(struct client *c)
{
	c->input[c->input_len] = '\0';
	answer(c, ctl_answer_input(c->req, c->input, c->input_len));
	json_object_put(c->req);
	c->req = NULL;
	free(c->input);
	c->input = NULL;
}

static void read_input(struct client *c)
{
	ssize_t r = recv(c->fd, c->input + c->input_got, c->input_len - c->input_got, MSG_DONTWAIT);
	if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r < 0) {
		drop(c);
		return;
	}
	if (r == 0) {
		answer(c, ctl_error_answer("the request announced %zu bytes of input and sent %zu",
					   c->input_len, c->input_got));
		return;
	}
	c->input_got += (size_t)r;
	if (c->input_got == c->input_len)
		answer_with_input(c);
}

/* The request says "input_bytes": N; the bytes after its object in buf
 * (len of them) are the first of them.  false: no input announced. */
static bool start_input(struct client *c, struct json_object *req, const char *rest, size_t len)
{
	struct json_object *n;
	if (!json_object_object_get_ex(req, "input_bytes", &n))
		return false;
	int64_t want = json_object_get_int64(n);
	if (!json_object_is_type(n, json_type_int) || want < 1 || want > (int64_t)CTL_MAX_INPUT) {
		answer(c, ctl_error_answer("\"input_bytes\" is a number of bytes in 1..%u",
					   CTL_MAX_INPUT));
		return true;
	}
	if (len > (size_t)want) {
		answer(c, ctl_error_answer("more than the %lld bytes of input announced",
					   (long long)want));
		return true;
	}
	c->input = malloc((size_t)want + 1);
	if (!c->input) {
		answer(c, ctl_error_answer("no memory for %lld bytes of input", (long long)want));
		return true;
	}
	memcpy(c->input, rest, len);
	c->input_len = (size_t)want;
	c->input_got = len;
	c->req = json_object_get(req);
	if (c->input_got == c->input_len)
		answer_with_input(c);
	return true;
}

static void read_some(struct client *c)
{
	if (c->input) {
		read_input(c);
		return;
	}
	char buf[4096];
	size_t room = CTL_MAX_REQUEST + 1 - c->received; /* one more: to see it is too long */
	ssize_t r = recv(c->fd, buf, room < sizeof(buf) ? room : sizeof(buf), MSG_DONTWAIT);
	if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r < 0) {
		drop(c);
		return;
	}
	if (r == 0) {
		/* A connect and close without a word (a liveness probe) needs no answer. */
		if (c->received == 0)
			drop(c);
		else
			answer(c, ctl_error_answer("the request ended before its JSON object did"));
		return;
	}
	c->received += (size_t)r;
	if (c->received > CTL_MAX_REQUEST) {
		log_warn("ctl: a request over %d bytes refused", CTL_MAX_REQUEST);
		answer(c, ctl_error_answer("request longer than %d bytes", CTL_MAX_REQUEST));
		return;
	}
	struct json_object *req = json_tokener_parse_ex(c->tok, buf, (int)r);
	enum json_tokener_error e = json_tokener_get_error(c->tok);
	if (e == json_tokener_continue)
		return;
	if (e == json_tokener_success) {
		size_t end = json_tokener_get_parse_end(c->tok);
		if (!start_input(c, req, buf + end, (size_t)r - end))
			answer(c, ctl_answer(req));
	} else
		answer(c, ctl_error_answer("malformed JSON request: %s (send one object: "
					   "{\"protocol\": %d, \"cmd\": [\"word\", ...]})",
					   json_tokener_error_desc(e), CTL_PROTOCOL_VERSION));
	json_object_put(req);
}

static void expire(struct client *c)
{
	if (c->writing) {
		log_debug("ctl: a client did not take its answer in %d ms", CTL_WRITE_TIMEOUT_MS);
		drop(c);
		return;
	}
	log_debug("ctl: a client sent no complete request in %d ms", CTL_REQUEST_TIMEOUT_MS);
	answer(c, ctl_error_answer("no complete request within %d ms of connecting; send the "
				   "whole JSON object at once",
				   CTL_REQUEST_TIMEOUT_MS));
}

static struct client *free_slot(void)
{
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (ctl.clients[i].fd < 0)
			return &ctl.clients[i];
	return NULL;
}

/* Best effort, never blocking: a busy daemon says so and closes. */
static void refuse_busy(int fd)
{
	char *text = ctl_answer_text(ctl_error_answer(
	    "%d administration clients are connected already; try again", CTL_MAX_CLIENTS));
	if (text && send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("ctl: busy answer not sent: %s", strerror(errno));
	free(text);
	close(fd);
}

/* Takes the connections waiting on the (non-blocking) listening socket. */
static void accept_clients(void)
{
	for (;;) {
		int fd = accept4(ctl.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("ctl: accept: %s", strerror(errno));
			return;
		}
		struct client *c = free_slot();
		struct json_tokener *tok = c ? json_tokener_new_ex(CTL_MAX_DEPTH) : NULL;
		if (!tok) {
			refuse_busy(fd);
			continue;
		}
		*c = (struct client){
		    .fd = fd, .tok = tok, .deadline_ms = now_ms() + CTL_REQUEST_TIMEOUT_MS};
	}
}

static void drop_all(void)
{
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (ctl.clients[i].fd >= 0)
			drop(&ctl.clients[i]);
}

/* poll()'s timeout: until the nearest deadline, -1 if none. */
static int next_timeout(uint64_t now)
{
	uint64_t nearest = UINT64_MAX;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (ctl.clients[i].fd >= 0 && ctl.clients[i].deadline_ms < nearest)
			nearest = ctl.clients[i].deadline_ms;
	if (nearest == UINT64_MAX)
		return -1;
	return nearest <= now ? 0 : (int)(nearest - now);
}

/* Reads what was written to the pipe: 'r' (ctl_server_reload) re-applies
 * the start-up configuration here, on the control thread; anything else
 * (ctl_server_stop) asks the thread to end: false. */
static bool take_wakeups(void)
{
	char buf[64];
	ssize_t r;
	bool reload = false;
	while ((r = read(ctl.stop_pipe[0], buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != 'r')
				return false;
			reload = true;
		}
	if (reload)
		ctl_config_reload();
	return true;
}

static void *ctl_thread(void *arg)
{
	struct pollfd fds[2 + CTL_MAX_CLIENTS];
	struct client *owner[2 + CTL_MAX_CLIENTS];
	for (;;) {
		nfds_t n = 0;
		fds[n++] = (struct pollfd){.fd = ctl.listen_fd, .events = POLLIN};
		fds[n++] = (struct pollfd){.fd = ctl.stop_pipe[0], .events = POLLIN};
		for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
			struct client *c = &ctl.clients[i];
			if (c->fd < 0)
				continue;
			owner[n] = c;
			fds[n++] =
			    (struct pollfd){.fd = c->fd, .events = c->writing ? POLLOUT : POLLIN};
		}
		if (poll(fds, n, next_timeout(now_ms())) < 0) {
			if (errno == EINTR)
				continue;
			log_err("ctl: poll: %s", strerror(errno));
			drop_all();
			return NULL;
		}
		if (fds[1].revents && !take_wakeups()) {
			drop_all();
			return NULL;
		}
		/* A slot dropped and taken again in this round is skipped by
		 * its fd; clients accepted below wait for the next round. */
		for (nfds_t i = 2; i < n; i++) {
			struct client *c = owner[i];
			if (!fds[i].revents || c->fd != fds[i].fd)
				continue;
			if (c->writing)
				write_some(c);
			else
				read_some(c);
		}
		uint64_t now = now_ms();
		for (int i = 0; i < CTL_MAX_CLIENTS; i++)
			if (ctl.clients[i].fd >= 0 && ctl.clients[i].deadline_ms <= now)
				expire(&ctl.clients[i]);
		if (fds[0].revents & POLLIN)
			accept_clients();
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
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
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
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		ctl.clients[i] = (struct client){.fd = -1};
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

void ctl_server_reload(void)
{
	if (!ctl.running) {
		log_warn("SIGHUP: no control thread (the control socket is disabled): the "
			 "configuration is not re-read");
		return;
	}
	ssize_t w;
	do
		w = write(ctl.stop_pipe[1], "r", 1);
	while (w < 0 && errno == EINTR);
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
