/*
 * One raw Login Request for tests/integration/redirect.sh (standalone, no
 * daemon code, byte order from wire.h):
 *
 *   redirect_client HOST PORT TARGET_IQN
 *
 * sends the first Login Request of a normal session (security stage,
 * T=1 to the operational stage) and prints "STATUS cccc" (class and
 * detail, hex), each key of the response's data segment on a line of its
 * own, "TSIH n", and "CLOSED" if the target then closes the connection
 * within 3 s.  Exit 0 if a Login Response came, 1 otherwise.
 */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(host, port, &hints, &ai))
		return -1;
	int fd = socket(ai->ai_family, ai->ai_socktype, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* Reads exactly len bytes within 3 s; false on EOF, error or timeout. */
static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 3000) != 1)
			return 0;
		ssize_t n = read(fd, buf + got, len - got);
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s HOST PORT TARGET_IQN\n", argv[0]);
		return 2;
	}
	int fd = dial(argv[1], argv[2]);
	if (fd < 0) {
		printf("CONNECT-FAILED\n");
		return 1;
	}
	char text[1024];
	int n = snprintf(text, sizeof(text),
			 "InitiatorName=iqn.2026-12.org.uscst:redirect-client%cSessionType=Normal%c"
			 "TargetName=%s%cAuthMethod=None%c",
			 0, 0, argv[3], 0, 0);
	if (n <= 0 || (size_t)n >= sizeof(text))
		return 2;
	uint32_t dlen = (uint32_t)n, pad = (4 - (dlen & 3)) & 3;
	uint8_t pdu[48 + sizeof(text) + 3] = {0x43, 0x81}; /* Login, I, T=1 CSG 0 NSG 1 */
	put24(pdu + 5, dlen);
	const uint8_t isid[6] = {0x80, 0, 0, 0x11, 0x22, 0x33};
	memcpy(pdu + 8, isid, 6);
	put32(pdu + 16, 1); /* ITT */
	put16(pdu + 20, 1); /* CID */
	memcpy(pdu + 48, text, dlen);
	if (write(fd, pdu, 48 + dlen + pad) != (ssize_t)(48 + dlen + pad))
		return 1;
	uint8_t bhs[48];
	if (!read_all(fd, bhs, sizeof(bhs)) || (bhs[0] & 0x3f) != 0x23) {
		printf("NO-LOGIN-RESPONSE\n");
		return 1;
	}
	uint32_t rlen = get24(bhs + 5), rpad = (4 - (rlen & 3)) & 3;
	uint8_t *data = calloc(1, rlen + rpad + 1);
	if (!data || !read_all(fd, data, rlen + rpad))
		return 1;
	printf("STATUS %02x%02x\n", bhs[36], bhs[37]);
	for (uint32_t off = 0; off < rlen;) {
		const char *kv = (const char *)data + off;
		size_t len = strnlen(kv, rlen - off);
		if (len)
			printf("%.*s\n", (int)len, kv);
		off += (uint32_t)len + 1;
	}
	printf("TSIH %u\n", get16(bhs + 14));
	uint8_t more;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 3000) == 1 && read(fd, &more, 1) == 0)
		printf("CLOSED\n");
	free(data);
	close(fd);
	return 0;
}
