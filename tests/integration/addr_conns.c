/*
 * addr_conns: opens N TCP connections to HOST:PORT from source address SRC
 * (any 127.0.0.0/8 address works on loopback), sends nothing, and reports
 * what the target did with them, every wait bounded:
 *   open=K refused=R      after SETTLE_MS: K still open, R closed by the
 *                         target (read returned 0 or an error)
 *   closed_all_ms=T       when the last of the K was closed, or
 *   still_open=X          if X were still open after HOLD_MS
 * For tests/integration/conn-limits.sh (MaxConnectionsPerAddress and
 * LoginTimeout).  Standalone: no daemon code.
 *
 * Usage: addr_conns SRC HOST PORT N SETTLE_MS HOLD_MS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_from(const char *src, const char *host, int port)
{
	struct sockaddr_in s = {.sin_family = AF_INET}, d = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, src, &s.sin_addr) != 1 || inet_pton(AF_INET, host, &d.sin_addr) != 1)
		return -1;
	d.sin_port = htons((unsigned short)port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&s, sizeof(s)) < 0 ||
	    connect(fd, (struct sockaddr *)&d, sizeof(d)) < 0) {
		perror("connect");
		close(fd);
		return -1;
	}
	return fd;
}

/* Closes (and forgets) every fd the target has closed; returns how many. */
static int reap_closed(int *fds, int n, int wait_ms)
{
	struct pollfd p[MAX_CONNS];
	int closed = 0;
	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN | POLLRDHUP};
	if (poll(p, (nfds_t)n, wait_ms) <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (fds[i] < 0 || !p[i].revents)
			continue;
		char buf[512];
		ssize_t r = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			close(fds[i]);
			fds[i] = -1;
			closed++;
		}
	}
	return closed;
}

static int count_open(const int *fds, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += fds[i] >= 0;
	return k;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: addr_conns SRC HOST PORT N SETTLE_MS HOLD_MS\n");
		return 2;
	}
	int n = atoi(argv[4]), port = atoi(argv[3]);
	long long settle = atoll(argv[5]), hold = atoll(argv[6]);
	if (n < 1 || n > MAX_CONNS || port < 1 || port > 65535 || settle < 0 || hold < 0) {
		fprintf(stderr, "addr_conns: bad arguments\n");
		return 2;
	}
	int fds[MAX_CONNS];
	for (int i = 0; i < n; i++) {
		fds[i] = connect_from(argv[1], argv[2], port);
		if (fds[i] < 0)
			return 1; /* the listen backlog accepts even what the target refuses */
	}
	long long start = now_ms();
	/* Parked fds (-1) are skipped by poll, so keep polling all n. */
	while (now_ms() - start < settle)
		reap_closed(fds, n, (int)(settle - (now_ms() - start)));
	int open = count_open(fds, n);
	printf("open=%d refused=%d\n", open, n - open);
	while (count_open(fds, n) && now_ms() - start < hold)
		reap_closed(fds, n, (int)(hold - (now_ms() - start)));
	if (count_open(fds, n))
		printf("still_open=%d\n", count_open(fds, n));
	else if (open)
		printf("closed_all_ms=%lld\n", now_ms() - start);
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return 0;
}
