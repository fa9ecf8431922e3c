/*
 * The metrics HTTP server: one thread, one poll loop, non-blocking
 * sockets.  A client gets at most HTTP_MAX_REQUEST bytes of request and
 * CLIENT_TIMEOUT_MS to send it and read the answer; past that it is
 * closed.  At most MAX_CLIENTS are served at once, so clients that stall
 * cost a slot each until their deadline and never the others' answers.
 * While they are all taken, a new client gets 503 from one of
 * MAX_REFUSING slots held for REFUSE_TIMEOUT_MS (long enough to drain its
 * request, so that closing does not reset the answer away); with those
 * taken too it is closed at once.  Every answer closes the connection
 * (Connection: close).
 */
#include "metrics/metrics_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/stats_snapshot.h"
#include "lib/log.h"
#include "metrics/http_request.h"
#include "metrics/prom_format.h"

#define MAX_CLIENTS 16
#define MAX_REFUSING 16
#define REFUSE_TIMEOUT_MS 1000
#define NSLOTS (MAX_CLIENTS + MAX_REFUSING)
#define CLIENT_TIMEOUT_MS 5000

struct client {
	int fd; /* -1: free slot */
	char req[HTTP_MAX_REQUEST];
	size_t len;
	char *resp; /* the whole answer, headers and body; NULL while reading */
	size_t resp_len, sent;
	bool draining; /* answered: reads what the client still sends, until it closes */
	uint64_t deadline_ms;
};

static struct {
	bool running;
	int listen_fd;
	int stop_pipe[2];
	pthread_t thread;
	struct client clients[NSLOTS]; /* MAX_CLIENTS served, then the refusing ones */
} srv = {.listen_fd = -1, .stop_pipe = {-1, -1}};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

/* The full answer for status; the body of a 200 is the metrics page. */
static char *build_response(int status, size_t *len)
{
	char *body = NULL;
	if (status == 200) {
		struct uscst_stats_snapshot snap;
		if (uscst_stats_snapshot_take(&snap) == 0) {
			body = prom_format(&snap);
			uscst_stats_snapshot_free(&snap);
		}
		if (!body)
			status = 500;
	}
	char *resp = NULL;
	int n;
	if (body)
		n = asprintf(&resp,
			     "HTTP/1.1 200 OK\r\nContent-Type: " PROM_CONTENT_TYPE "\r\n"
			     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			     strlen(body), body);
	else
		n = asprintf(&resp,
			     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
			     "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%d %s\n",
			     status, reason(status), strlen(reason(status)) + 5,
			     status == 405 ? "Allow: GET\r\n" : "", status, reason(status));
	free(body);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return resp;
}

static void client_close(struct client *c)
{
	close(c->fd);
	free(c->resp);
	c->fd = -1;
	c->resp = NULL;
	c->len = c->resp_len = c->sent = 0;
	c->draining = false;
}

/* Sends what the socket takes; closes the client once all is sent. */
static void client_write(struct client *c)
{
	while (c->sent < c->resp_len) {
		ssize_t w = send(c->fd, c->resp + c->sent, c->resp_len - c->sent, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w <= 0) {
			client_close(c);
			return;
		}
		c->sent += (size_t)w;
	}
	/* All sent: the client sees the end.  Closing now, with request bytes
	 * of it unread (an answer before the end of an oversized header, a
	 * body), would reset the connection and could destroy the answer
	 * before the client reads it: read and drop what it still sends until
	 * it closes, or until its deadline. */
	shutdown(c->fd, SHUT_WR);
	free(c->resp);
	c->resp = NULL;
	c->draining = true;
}

static void client_drain(struct client *c)
{
	char sink[4096];
	for (;;) {
		ssize_t r = recv(c->fd, sink, sizeof(sink), 0);
		if (r > 0 || (r < 0 && errno == EINTR))
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		client_close(c); /* EOF or error */
		return;
	}
}

static void client_answer(struct client *c, int status)
{
	c->resp = build_response(status, &c->resp_len);
	if (!c->resp) {
		client_close(c);
		return;
	}
	client_write(c);
}

static void client_read(struct client *c)
{
	for (;;) {
		if (c->len == sizeof(c->req)) {
			client_answer(c, 431);
			return;
		}
		ssize_t r = recv(c->fd, c->req + c->len, sizeof(c->req) - c->len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			client_close(c); /* gone, or closed before a whole request */
			return;
		}
		c->len += (size_t)r;
		int status = http_request_status(c->req, c->len);
		if (status) {
			log_debug("metrics: answer %d", status);
			client_answer(c, status);
			return;
		}
	}
}

static void accept_clients(void)
{
	for (;;) {
		int fd = accept4(srv.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
				log_warn("metrics: accept: %s", strerror(errno));
			return;
		}
		struct client *c = NULL;
		int i = 0;
		while (i < NSLOTS && srv.clients[i].fd >= 0)
			i++;
		if (i == NSLOTS) {
			close(fd); /* refusing slots taken too */
			continue;
		}
		c = &srv.clients[i];
		c->fd = fd;
		if (i < MAX_CLIENTS) {
			c->deadline_ms = now_ms() + CLIENT_TIMEOUT_MS;
			continue;
		}
		/* Every serving slot is taken: 503 at once, then drained. */
		c->deadline_ms = now_ms() + REFUSE_TIMEOUT_MS;
		client_answer(c, 503);
	}
}

static void *metrics_thread(void *arg)
{
	struct pollfd fds[2 + NSLOTS];
	struct client *owner[2 + NSLOTS];
	for (;;) {
		uint64_t now = now_ms();
		int timeout = -1;
		nfds_t n = 0;
		fds[n++] = (struct pollfd){.fd = srv.stop_pipe[0], .events = POLLIN};
		fds[n++] = (struct pollfd){.fd = srv.listen_fd, .events = POLLIN};
		for (int i = 0; i < NSLOTS; i++) {
			struct client *c = &srv.clients[i];
			if (c->fd < 0)
				continue;
			if (now >= c->deadline_ms) {
				log_debug("metrics: client timed out");
				client_close(c);
				continue;
			}
			int left = (int)(c->deadline_ms - now);
			if (timeout < 0 || left < timeout)
				timeout = left;
			owner[n] = c;
			/* Reading its request or draining it: POLLIN; answering: POLLOUT. */
			short ev = c->resp ? POLLOUT : POLLIN;
			fds[n++] = (struct pollfd){.fd = c->fd, .events = ev};
		}
		if (poll(fds, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_err("metrics: poll: %s", strerror(errno));
			return NULL;
		}
		if (fds[0].revents)
			return NULL;
		for (nfds_t i = 2; i < n; i++) {
			struct client *c = owner[i];
			if (!fds[i].revents)
				continue;
			if (c->draining)
				client_drain(c);
			else if (c->resp)
				client_write(c);
			else
				client_read(c);
		}
		if (fds[1].revents & POLLIN)
			accept_clients();
	}
}

/* Splits "HOST:PORT" / "[V6]:PORT" into host and port (in buf). */
static int split_addr(const char *addr, char *buf, size_t buflen, const char **host,
		      const char **port)
{
	if (strlen(addr) >= buflen)
		return -1;
	strcpy(buf, addr);
	char *colon = strrchr(buf, ':');
	if (!colon || !colon[1])
		return -1;
	*colon = '\0';
	*port = colon + 1;
	char *h = buf;
	if (*h == '[') {
		size_t l = strlen(h);
		if (l < 2 || h[l - 1] != ']')
			return -1;
		h[l - 1] = '\0';
		h++;
	}
	if (!*h)
		return -1;
	*host = h;
	return 0;
}

static int open_listen(const char *addr, char *err, size_t errlen)
{
	char buf[256];
	const char *host, *port;
	if (split_addr(addr, buf, sizeof(buf), &host, &port) < 0) {
		snprintf(err, errlen, "--metrics %s: expected ADDR:PORT", addr);
		return -1;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "--metrics %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "--metrics: socket: %s", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "--metrics %s: %s", addr, strerror(errno));
		close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static void close_fds(void)
{
	if (srv.listen_fd >= 0)
		close(srv.listen_fd);
	for (int i = 0; i < 2; i++)
		if (srv.stop_pipe[i] >= 0)
			close(srv.stop_pipe[i]);
	srv.listen_fd = srv.stop_pipe[0] = srv.stop_pipe[1] = -1;
}

int metrics_server_start(const char *addr, char *err, size_t errlen)
{
	if (srv.running) {
		snprintf(err, errlen, "metrics server already running");
		return -1;
	}
	for (int i = 0; i < NSLOTS; i++)
		srv.clients[i].fd = -1;
	srv.listen_fd = open_listen(addr, err, errlen);
	if (srv.listen_fd < 0)
		return -1;
	if (pipe2(srv.stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close_fds();
		return -1;
	}
	/* All signals blocked: SIGINT/SIGTERM go to the main thread. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&srv.thread, NULL, metrics_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the metrics thread: %s", strerror(rc));
		close_fds();
		return -1;
	}
	pthread_setname_np(srv.thread, "uscst-metrics");
	srv.running = true;
	log_info("metrics: http://%s/metrics", addr);
	return 0;
}

void metrics_server_stop(void)
{
	if (!srv.running)
		return;
	ssize_t w;
	do
		w = write(srv.stop_pipe[1], "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(srv.thread, NULL);
	for (int i = 0; i < NSLOTS; i++)
		if (srv.clients[i].fd >= 0)
			client_close(&srv.clients[i]);
	close_fds();
	srv.running = false;
}
