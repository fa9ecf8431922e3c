/*
 * A raw client of the control socket for tests/integration/ctl-bad-input.sh;
 * standalone (no daemon code, no JSON library), so it can send what
 * uscstadmin never would:
 *
 *   ctl_raw_client SOCKET send      sends stdin as it is, shuts its write
 *                                   side, prints the answer on stdout
 *   ctl_raw_client SOCKET silent S  connects, sends nothing, prints what
 *                                   the daemon answers within S seconds
 *                                   and how long it waited ("after N ms")
 *
 * Exit 0 if an answer came, 1 if none (or an error, on stderr).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int connect_to(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("ctl_raw_client: connect");
		return -1;
	}
	return fd;
}

/* Copies what the daemon sends to stdout until it closes or timeout_ms. */
static int print_answer(int fd, long timeout_ms)
{
	long end = now_ms() + timeout_ms;
	size_t total = 0;
	char buf[4096];
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = end - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* ECONNRESET after the answer: it refused the rest */
		fwrite(buf, 1, (size_t)r, stdout);
		total += (size_t)r;
	}
	return total ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: ctl_raw_client SOCKET send | silent SECONDS\n");
		return 2;
	}
	int fd = connect_to(argv[1]);
	if (fd < 0)
		return 1;
	if (strcmp(argv[2], "silent") == 0 && argc == 4) {
		long t0 = now_ms();
		int rc = print_answer(fd, atol(argv[3]) * 1000L);
		printf("\nafter %ld ms\n", now_ms() - t0);
		return rc;
	}
	if (strcmp(argv[2], "send") != 0)
		return 2;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
		/* The daemon may stop reading a request that is too long: what
		 * it could not take is not an error here, its answer is what
		 * counts. */
		if (send(fd, buf, n, MSG_NOSIGNAL) < 0)
			break;
	}
	shutdown(fd, SHUT_WR);
	return print_answer(fd, 10000);
}
