/*
 * The systemd side of sd_notify for tests/integration/notify-log.sh;
 * standalone (no daemon code):
 *
 *   notify_listen SOCKET PORT SECONDS
 *
 * Binds a unix datagram socket at SOCKET, a path or "@name" for the
 * abstract namespace (the test gives it to uscstd as NOTIFY_SOCKET) and prints every datagram, one
 * per line.  On READY=1 it also connects to 127.0.0.1:PORT and prints "port open at READY" or "port
 * closed at READY": READY must come once the portal takes connections.  Ends after STOPPING=1 (exit
 * 0) or SECONDS (exit 3).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *port_state(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	if (fd >= 0)
		close(fd);
	return rc == 0 ? "open" : "closed";
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: notify_listen SOCKET PORT SECONDS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "notify_listen: socket path too long\n");
		return 2;
	}
	/* "@name": the abstract namespace, as systemd writes it. */
	size_t len = strlen(argv[1]);
	memcpy(sun.sun_path, argv[1], len);
	bool abstract = argv[1][0] == '@';
	if (abstract)
		sun.sun_path[0] = '\0';
	else
		unlink(argv[1]);
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + !abstract);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, alen) < 0) {
		perror("notify_listen: bind");
		return 1;
	}
	printf("listening\n");
	time_t end = time(NULL) + atoi(argv[3]);
	while (time(NULL) < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		char buf[4096];
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			continue;
		buf[n] = '\0';
		printf("%s\n", buf);
		if (strcmp(buf, "READY=1") == 0)
			printf("port %s at READY\n", port_state((unsigned)atoi(argv[2])));
		if (strcmp(buf, "STOPPING=1") == 0)
			return 0;
	}
	return 3;
}
