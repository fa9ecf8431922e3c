/*
 * Network portals: listening sockets served by one acceptor thread, which
 * hands each new connection to the least loaded reactor.
 *
 * Portals are added and removed at run time (iscsi_portal_add/remove, the
 * transport's add_portal/remove_portal) under portals_lock: the acceptor
 * copies the set when it starts and again whenever a byte 'r' on its pipe
 * asks it to; a removal waits until the acceptor has taken the new set
 * before it closes the socket, so the acceptor never polls a closed (or
 * reused) descriptor.  Connections accepted on a removed portal stay.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iscsi/iscsi.h"
#include "iscsi/portal_list.h"
#include "lib/log.h"

#define MAX_PORTALS 16

static pthread_mutex_t portals_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t portals_taken = PTHREAD_COND_INITIALIZER;
static int listen_fds[MAX_PORTALS];
static char listen_addrs[MAX_PORTALS][80]; /* as configured: how remove names it */
static unsigned nportals;
static unsigned reload_asked, reload_done; /* sets asked of and taken by the acceptor */
static pthread_t acceptor;
static bool acceptor_running;
static int stop_pipe[2] = {-1, -1};

void iscsi_format_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;
		inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
		port = ntohs(s->sin_port);
		snprintf(buf, len, "%s:%u", host, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;
		port = ntohs(s->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
			/* An IPv4 client of a dual-stack [::] listener: written as
			 * the IPv4 address it is, so that allowed_portal patterns
			 * ("!10.0.0.1") and the per-address connection count see
			 * one host under one name whichever socket it came in by. */
			inet_ntop(AF_INET, &s->sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(buf, len, "%s:%u", host, port);
			return;
		}
		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, port);
	} else {
		snprintf(buf, len, "?");
	}
}

unsigned iscsi_portal_bound_addrs(char (*out)[PORTAL_ADDR_MAX], unsigned max)
{
	unsigned n = 0;
	pthread_mutex_lock(&portals_lock);
	for (unsigned i = 0; i < nportals && n < max; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		if (getsockname(listen_fds[i], (struct sockaddr *)&ss, &len) == 0)
			iscsi_format_addr(&ss, out[n++], PORTAL_ADDR_MAX);
	}
	pthread_mutex_unlock(&portals_lock);
	return n;
}

/* "ADDR:PORT" or "[V6]:PORT"; the port defaults to 3260. */
static int split_addr(const char *spec, char *host, size_t hostlen, char *port, size_t portlen)
{
	snprintf(port, portlen, "3260");
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (!end || (size_t)(end - spec - 1) >= hostlen)
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(end - spec - 1), spec + 1);
		if (end[1] == ':')
			snprintf(port, portlen, "%s", end + 2);
		else if (end[1])
			return -1;
		return 0;
	}
	const char *colon = strrchr(spec, ':');
	if (colon) {
		if ((size_t)(colon - spec) >= hostlen)
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(colon - spec), spec);
		snprintf(port, portlen, "%s", colon + 1);
	} else {
		snprintf(host, hostlen, "%s", spec);
	}
	return 0;
}

int iscsi_portal_listen(const char *addr_port, char *err, size_t errlen)
{
	char host[128], port[16];
	if (strlen(addr_port) >= sizeof(listen_addrs[0]) ||
	    split_addr(addr_port, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "bad listen address '%s'", addr_port);
		return -1;
	}
	pthread_mutex_lock(&portals_lock);
	bool full = nportals >= MAX_PORTALS, dup = false;
	for (unsigned i = 0; i < nportals; i++)
		dup |= !strcmp(listen_addrs[i], addr_port);
	pthread_mutex_unlock(&portals_lock);
	if (full) {
		snprintf(err, errlen, "listen %s: at most %d portals", addr_port, MAX_PORTALS);
		return -1;
	}
	if (dup) {
		snprintf(err, errlen, "already listening on %s", addr_port);
		return -1;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "listen %s: %s", addr_port, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		snprintf(err, errlen, "listen %s: %s", addr_port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	pthread_mutex_lock(&portals_lock);
	if (nportals >= MAX_PORTALS) {
		pthread_mutex_unlock(&portals_lock);
		close(fd);
		snprintf(err, errlen, "listen %s: at most %d portals", addr_port, MAX_PORTALS);
		return -1;
	}
	snprintf(listen_addrs[nportals], sizeof(listen_addrs[0]), "%s", addr_port);
	listen_fds[nportals++] = fd;
	pthread_mutex_unlock(&portals_lock);
	log_info("listening on %s", addr_port);
	return 0;
}

/* Asks the acceptor to take the current set; with portals_lock held,
 * returns the number to wait for (reload_done reaching it). */
static unsigned ask_reload(void)
{
	unsigned want = ++reload_asked;
	if (write(stop_pipe[1], "r", 1) < 0)
		log_warn("acceptor reload: %s", strerror(errno));
	return want;
}

int iscsi_portal_add(const char *addr_port, char *err, size_t errlen)
{
	if (iscsi_portal_listen(addr_port, err, errlen) < 0)
		return -1;
	pthread_mutex_lock(&portals_lock);
	int fl = 1;
	ioctl(listen_fds[nportals - 1], FIONBIO, &fl);
	if (acceptor_running)
		ask_reload();
	pthread_mutex_unlock(&portals_lock);
	return 0;
}

int iscsi_portal_remove(const char *addr_port, char *err, size_t errlen)
{
	pthread_mutex_lock(&portals_lock);
	unsigned i = 0;
	while (i < nportals && strcmp(listen_addrs[i], addr_port) != 0)
		i++;
	if (i == nportals) {
		pthread_mutex_unlock(&portals_lock);
		snprintf(err, errlen, "not listening on '%s'", addr_port);
		return -1;
	}
	int fd = listen_fds[i];
	for (; i + 1 < nportals; i++) {
		listen_fds[i] = listen_fds[i + 1];
		memcpy(listen_addrs[i], listen_addrs[i + 1], sizeof(listen_addrs[0]));
	}
	nportals--;
	if (acceptor_running) {
		unsigned want = ask_reload();
		while ((int)(reload_done - want) < 0)
			pthread_cond_wait(&portals_taken, &portals_lock);
	}
	pthread_mutex_unlock(&portals_lock);
	close(fd);
	log_info("no longer listening on %s", addr_port);
	return 0;
}

static void accept_one(int lfd)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE)
			usleep(100000); /* let connections close before trying again */
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	getsockname(fd, (struct sockaddr *)&local, &llen);
	char p[64], l[64];
	iscsi_format_addr(&peer, p, sizeof(p));
	iscsi_format_addr(&local, l, sizeof(l));
	iscsi_conn_accept(fd, p, l);
}

static void *acceptor_main(void *arg)
{
	struct pollfd pfds[MAX_PORTALS + 1];
	for (;;) {
		/* Take the current set. */
		pthread_mutex_lock(&portals_lock);
		unsigned n = nportals;
		for (unsigned i = 0; i < n; i++)
			pfds[i] = (struct pollfd){.fd = listen_fds[i], .events = POLLIN};
		reload_done = reload_asked;
		pthread_cond_broadcast(&portals_taken);
		pthread_mutex_unlock(&portals_lock);
		pfds[n] = (struct pollfd){.fd = stop_pipe[0], .events = POLLIN};
		for (;;) {
			int rc = poll(pfds, n + 1, -1);
			if (rc < 0 && errno != EINTR)
				return NULL;
			if (rc < 0)
				continue;
			if (pfds[n].revents) {
				char c = 'x';
				if (read(stop_pipe[0], &c, 1) != 1 || c != 'r')
					return NULL; /* stop */
				break;		     /* a new set */
			}
			for (unsigned i = 0; i < n; i++)
				if (pfds[i].revents & POLLIN)
					accept_one(pfds[i].fd);
		}
	}
}

int iscsi_portals_start(void)
{
	if (pipe2(stop_pipe, O_CLOEXEC) < 0)
		return -errno;
	pthread_mutex_lock(&portals_lock);
	for (unsigned i = 0; i < nportals; i++) {
		int fl = 1;
		ioctl(listen_fds[i], FIONBIO, &fl);
	}
	acceptor_running = pthread_create(&acceptor, NULL, acceptor_main, NULL) == 0;
	pthread_mutex_unlock(&portals_lock);
	return acceptor_running ? 0 : -1;
}

void iscsi_portals_close(void)
{
	if (acceptor_running) {
		if (write(stop_pipe[1], "x", 1) < 0)
			log_warn("acceptor stop: %s", strerror(errno));
		pthread_join(acceptor, NULL);
		pthread_mutex_lock(&portals_lock);
		acceptor_running = false;
		pthread_mutex_unlock(&portals_lock);
	}
	pthread_mutex_lock(&portals_lock);
	for (unsigned i = 0; i < nportals; i++)
		close(listen_fds[i]);
	nportals = 0;
	pthread_mutex_unlock(&portals_lock);
}
