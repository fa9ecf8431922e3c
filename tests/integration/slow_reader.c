/*
 * slow_reader: raw-socket iSCSI clients that try to make uscstd hold memory
 * or time it should not (issue 11, items 10, 11, 13), for
 * tests/integration/memory-bounds.sh.  Standalone like hostile_client.c (its
 * own PDU builder; the login helpers are taken from there): a bug in the
 * daemon's helpers cannot hide itself.
 *
 * Usage: slow_reader HOST PORT TARGET_IQN MODE ARGS...
 *   reads N MIB HOLD      log in, send up to N READ(10)s of MIB MiB each, as
 *                         many as the login's CmdSN window allows, never
 *                         read the socket; keep it open HOLD seconds
 *   immediate N MIB HOLD  the same with N immediate READs (no window)
 *   immlimit N LIMIT      N immediate WRITE(10)s whose Data-Out never comes
 *                         (they stay active): LIMIT get an R2T, the rest a
 *                         Reject with reason 0x06
 *   hugehdr N HOLD        N connections, each sends one 48-byte Login
 *                         Request header with an AHS and DataSegmentLength
 *                         2^24-1 and nothing else; kept open HOLD seconds
 *   rsptimeout N MIB WAIT like reads, then wait at most WAIT seconds for
 *                         the target to drop the connection (RspTimeout)
 *   starve SECONDS MAXMS  two sessions: one floods immediate NOP-Outs and
 *                         pipelined READs as fast as it can (and reads its
 *                         answers), the other measures TEST UNIT READY
 *                         latency for SECONDS; fails above MAXMS
 *   health                a fresh login, TEST UNIT READY and READ(10)
 * Prints one line "ok ..." or "error: why"; exits 0 or 1.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

#define BHS_LEN 48
#define RX_TIMEOUT_S 5
#define INITIATOR "iqn.2026-11.org.uscst:slow-reader"

#define OP_NOP_OUT 0x00
#define OP_SCSI_CMD 0x01
#define OP_LOGIN_REQ 0x03
#define OP_DATA_OUT 0x05
#define OP_NOP_IN 0x20
#define OP_SCSI_RSP 0x21
#define OP_LOGIN_RSP 0x23
#define OP_DATA_IN 0x25
#define OP_R2T 0x31
#define OP_REJECT 0x3f
#define OP_IMMEDIATE 0x40

#define F_FINAL 0x80
#define F_READ 0x40
#define F_WRITE 0x20
#define RESERVED_TAG 0xffffffffu

static const char *g_host, *g_port, *g_target;
static char g_why[512];
static unsigned g_isid_seq;

static int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g_why, sizeof(g_why), fmt, ap);
	va_end(ap);
	return -1;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* --- connection (no digests: none are negotiated) --- */

enum rx { RX_OK = 0, RX_CLOSED = 1, RX_TIMEOUT = 2 };

struct conn {
	int fd;
	uint32_t cmdsn; /* next CmdSN to use */
	uint32_t max_cmdsn;
	uint32_t exp_statsn;
	uint32_t itt;
	uint8_t isid[6];
	uint16_t tsih;
	uint32_t tgt_mrdsl;
};

struct pdu {
	uint8_t bhs[BHS_LEN];
	uint8_t *data;
	uint32_t dlen;
};

static void pdu_free(struct pdu *p)
{
	free(p->data);
	p->data = NULL;
	p->dlen = 0;
}

static int conn_open(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(g_host, g_port, &hints, &ai))
		return failf("cannot resolve %s:%s", g_host, g_port);
	int fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return failf("connect to %s:%s: %s", g_host, g_port, strerror(errno));
	}
	freeaddrinfo(ai);
	/* Every receive and send is bounded. */
	struct timeval tv = {.tv_sec = RX_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->cmdsn = 1;
	c->itt = 0x1000;
	c->tgt_mrdsl = 8192;
	c->isid[0] = 0x80; /* random qualifier format */
	c->isid[1] = 0x34;
	put32(c->isid + 2, ((uint32_t)getpid() << 12) ^ ++g_isid_seq);
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_pdu(struct conn *c, uint8_t *bhs, const uint8_t *data, uint32_t dlen)
{
	bhs[4] = 0;
	put24(bhs + 5, dlen);
	uint32_t pad = (4 - (dlen & 3)) & 3;
	size_t total = BHS_LEN + dlen + pad;
	uint8_t *buf = calloc(1, total);
	if (!buf)
		return -1;
	memcpy(buf, bhs, BHS_LEN);
	if (dlen)
		memcpy(buf + BHS_LEN, data, dlen);
	int rc = send_all(c->fd, buf, total);
	free(buf);
	return rc;
}

static enum rx recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE)))
			return RX_CLOSED;
		if (n < 0)
			return RX_TIMEOUT;
		p += n;
		len -= (size_t)n;
	}
	return RX_OK;
}

/* Receives one PDU; answers the target's NOP-In pings by the way. */
static enum rx recv_pdu(struct conn *c, struct pdu *p)
{
	for (;;) {
		p->data = NULL;
		p->dlen = 0;
		enum rx r = recv_all(c->fd, p->bhs, BHS_LEN);
		if (r)
			return r;
		uint32_t ahs = p->bhs[4] * 4u, dlen = get24(p->bhs + 5);
		uint32_t pad = (4 - (dlen & 3)) & 3;
		uint8_t skip[1024];
		if (ahs && (r = recv_all(c->fd, skip, ahs)))
			return r;
		if (dlen) {
			p->data = calloc(1, dlen + pad + 1);
			if (!p->data || (r = recv_all(c->fd, p->data, dlen + pad))) {
				pdu_free(p);
				return r ? r : RX_CLOSED;
			}
			p->dlen = dlen;
		}
		uint8_t op = p->bhs[0] & 0x3f;
		if (op != OP_LOGIN_RSP && op != OP_DATA_IN && op != OP_R2T)
			c->exp_statsn = get32(p->bhs + 24) + 1;
		if (op != OP_LOGIN_RSP && op != OP_REJECT)
			c->max_cmdsn = get32(p->bhs + 32);
		if (op == OP_NOP_IN && get32(p->bhs + 20) != RESERVED_TAG) {
			uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
			memcpy(b + 8, p->bhs + 8, 8);
			put32(b + 16, RESERVED_TAG);
			memcpy(b + 20, p->bhs + 20, 4);
			put32(b + 24, c->cmdsn);
			put32(b + 28, c->exp_statsn);
			pdu_free(p);
			if (send_pdu(c, b, NULL, 0))
				return RX_CLOSED;
			continue;
		}
		return RX_OK;
	}
}

/* --- login (after hostile_client.c) --- */

struct keys {
	char buf[4096];
	uint32_t len;
};

static void key_add(struct keys *k, const char *kv)
{
	size_t n = strlen(kv) + 1;
	if (k->len + n <= sizeof(k->buf)) {
		memcpy(k->buf + k->len, kv, n);
		k->len += (uint32_t)n;
	}
}

static const char *key_find(const struct pdu *p, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	for (uint32_t i = 0; i < p->dlen;) {
		const char *s = (const char *)p->data + i;
		size_t n = strnlen(s, p->dlen - i);
		if (n > klen && !strncmp(s, key, klen) && s[klen] == '=') {
			snprintf(out, outlen, "%.*s", (int)(n - klen - 1), s + klen + 1);
			return out;
		}
		i += (uint32_t)n + 1;
	}
	return NULL;
}

static void login_bhs(struct conn *c, uint8_t *b, uint8_t flags)
{
	memset(b, 0, BHS_LEN);
	b[0] = OP_LOGIN_REQ | OP_IMMEDIATE;
	b[1] = flags;
	memcpy(b + 8, c->isid, 6);
	put16(b + 14, c->tsih);
	put32(b + 16, c->itt);
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
}

static int login(struct conn *c)
{
	static const char *const declarative[] = {"MaxRecvDataSegmentLength",
						  "TargetPortalGroupTag", "TargetAlias",
						  "TargetAddress", NULL};
	struct keys k = {.len = 0};
	char kv[512];
	key_add(&k, "InitiatorName=" INITIATOR);
	snprintf(kv, sizeof(kv), "TargetName=%s", g_target);
	key_add(&k, kv);
	key_add(&k, "SessionType=Normal");
	key_add(&k, "HeaderDigest=None");
	key_add(&k, "DataDigest=None");
	key_add(&k, "InitialR2T=No");
	key_add(&k, "ImmediateData=Yes");
	key_add(&k, "FirstBurstLength=65536");
	key_add(&k, "MaxBurstLength=262144");
	key_add(&k, "MaxRecvDataSegmentLength=262144");
	key_add(&k, "ErrorRecoveryLevel=0");
	uint8_t b[BHS_LEN];
	login_bhs(c, b, F_FINAL | (1 << 2) | 3);
	if (send_pdu(c, b, (const uint8_t *)k.buf, k.len))
		return failf("login: send failed");
	for (int round = 0; round < 6; round++) {
		struct pdu p;
		enum rx r = recv_pdu(c, &p);
		if (r)
			return failf("login: no response (%s)",
				     r == RX_CLOSED ? "closed" : "timeout");
		if ((p.bhs[0] & 0x3f) != OP_LOGIN_RSP) {
			int op = p.bhs[0] & 0x3f;
			pdu_free(&p);
			return failf("login: opcode 0x%02x instead of a Login Response", op);
		}
		uint16_t status = get16(p.bhs + 36);
		c->exp_statsn = get32(p.bhs + 24) + 1;
		if (status) {
			pdu_free(&p);
			return failf("login refused with status 0x%04x", status);
		}
		char v[64];
		if (key_find(&p, "MaxRecvDataSegmentLength", v, sizeof(v)))
			c->tgt_mrdsl = (uint32_t)strtoul(v, NULL, 0);
		uint8_t flags = p.bhs[1];
		if ((flags & F_FINAL) && (flags & 3) == 3) {
			c->tsih = get16(p.bhs + 14);
			c->cmdsn = get32(p.bhs + 28);
			c->max_cmdsn = get32(p.bhs + 32);
			pdu_free(&p);
			return 0;
		}
		/* T=0: accept every key the target offered. */
		struct keys a = {.len = 0};
		for (uint32_t i = 0; i < p.dlen;) {
			const char *s = (const char *)p.data + i;
			size_t n = strnlen(s, p.dlen - i);
			bool skip = n == 0;
			for (int d = 0; !skip && declarative[d]; d++)
				skip = !strncmp(s, declarative[d], strlen(declarative[d]));
			if (!skip && strchr(s, '=') && !strstr(s, "=NotUnderstood") &&
			    !strstr(s, "=Irrelevant"))
				key_add(&a, s);
			i += (uint32_t)n + 1;
		}
		pdu_free(&p);
		login_bhs(c, b, F_FINAL | (1 << 2) | 3);
		if (send_pdu(c, b, (const uint8_t *)a.buf, a.len))
			return failf("login: send failed");
	}
	return failf("login: no full feature phase after 6 rounds");
}

static int open_and_login(struct conn *c)
{
	if (conn_open(c))
		return -1;
	if (login(c)) {
		conn_close(c);
		return -1;
	}
	return 0;
}

/* --- SCSI --- */

static bool in_window(const struct conn *c) { return (int32_t)(c->cmdsn - c->max_cmdsn) <= 0; }

static void cmd_bhs(struct conn *c, uint8_t *b, uint32_t itt, uint8_t flags, uint32_t edtl,
		    const uint8_t *cdb, size_t cdb_len, bool immediate)
{
	memset(b, 0, BHS_LEN);
	b[0] = OP_SCSI_CMD | (immediate ? OP_IMMEDIATE : 0);
	b[1] = flags;
	put32(b + 16, itt);
	put32(b + 20, edtl);
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
	memcpy(b + 32, cdb, cdb_len);
	if (!immediate)
		c->cmdsn++;
}

static void read10_bhs(struct conn *c, uint8_t *b, uint32_t lba, uint32_t bytes, bool immediate)
{
	uint8_t cdb[10] = {0x28};
	put32(cdb + 2, lba);
	put16(cdb + 7, (uint16_t)(bytes / 512));
	cmd_bhs(c, b, c->itt++, F_FINAL | F_READ, bytes, cdb, 10, immediate);
}

/* Sends one command and waits for its end (Data-In collected and dropped).
 * Returns the SCSI status, or -1. */
static int scsi_wait(struct conn *c, uint8_t *b)
{
	uint32_t itt = get32(b + 16);
	if (send_pdu(c, b, NULL, 0))
		return failf("send failed");
	for (;;) {
		struct pdu p;
		enum rx r = recv_pdu(c, &p);
		if (r)
			return failf("no answer (%s)", r == RX_CLOSED ? "closed" : "timeout");
		uint8_t op = p.bhs[0] & 0x3f;
		int status = -2;
		if (op == OP_SCSI_RSP && get32(p.bhs + 16) == itt)
			status = p.bhs[3];
		else if (op == OP_DATA_IN && get32(p.bhs + 16) == itt && (p.bhs[1] & 0x01))
			status = p.bhs[3];
		else if (op == OP_REJECT)
			status = failf("rejected, reason 0x%02x", p.bhs[2]);
		pdu_free(&p);
		if (status != -2)
			return status;
	}
}

static int tur(struct conn *c)
{
	uint8_t b[BHS_LEN];
	const uint8_t cdb[6] = {0};
	cmd_bhs(c, b, c->itt++, F_FINAL, 0, cdb, 6, false);
	return scsi_wait(c, b);
}

/* TEST UNIT READY until GOOD (a new nexus may see a unit attention). */
static int tur_good(struct conn *c)
{
	for (int i = 0; i < 4; i++) {
		int st = tur(c);
		if (st == 0)
			return 0;
		if (st < 0)
			return -1;
	}
	return failf("TEST UNIT READY never GOOD");
}

static int mode_health(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	int rc = tur_good(&c);
	if (!rc) {
		uint8_t b[BHS_LEN];
		read10_bhs(&c, b, 0, 65536, false);
		int st = scsi_wait(&c, b);
		if (st != 0)
			rc = st < 0 ? -1 : failf("READ(10): status 0x%02x", st);
	}
	conn_close(&c);
	if (!rc)
		printf("ok health\n");
	return rc;
}

/* Sends up to n READs of mib MiB over a 64 MiB disk without reading
 * anything; returns how many went out, or -1. */
static int send_reads(struct conn *c, int n, unsigned mib, bool immediate)
{
	uint32_t bytes = mib << 20, blocks = bytes / 512, disk_blocks = 64u << 11;
	int sent = 0;
	for (int i = 0; i < n; i++) {
		if (!immediate && !in_window(c))
			break;
		uint8_t b[BHS_LEN];
		read10_bhs(c, b, (uint32_t)i * blocks % disk_blocks, bytes, immediate);
		if (send_pdu(c, b, NULL, 0))
			return failf("send of READ %d failed: %s", i, strerror(errno));
		sent++;
	}
	return sent;
}

/* Sends Data-Out for [off, off+len) of a WRITE; with skip_last the final
 * PDU is held back, so the command never completes. */
static int send_burst(struct conn *c, uint32_t itt, uint32_t ttt, uint32_t off, uint32_t len,
		      const uint8_t *zeros, bool skip_last)
{
	uint32_t sn = 0;
	for (uint32_t done = 0; done < len; sn++) {
		uint32_t n = len - done < c->tgt_mrdsl ? len - done : c->tgt_mrdsl;
		bool last = done + n == len;
		if (last && skip_last)
			break;
		uint8_t b[BHS_LEN] = {OP_DATA_OUT, last ? F_FINAL : 0};
		put32(b + 16, itt);
		put32(b + 20, ttt);
		put32(b + 28, c->exp_statsn);
		put32(b + 36, sn);
		put32(b + 40, off + done);
		if (send_pdu(c, b, zeros, n))
			return failf("Data-Out send failed: %s", strerror(errno));
		done += n;
	}
	return 0;
}

/* n in-window WRITEs of mib MiB, every R2T answered except the last
 * Data-Out PDU of each command: without a bound the target holds all n
 * buffers full.  Runs for hold seconds. */
static int mode_writehold(int n, unsigned mib, int hold)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	if (tur_good(&c)) {
		conn_close(&c);
		return -1;
	}
	uint32_t total = mib << 20, first_itt = c.itt;
	uint8_t *zeros = calloc(1, c.tgt_mrdsl);
	bool *solicited = calloc((size_t)n, sizeof(bool));
	int rc = zeros && solicited ? 0 : failf("out of memory");
	int sent = 0;
	for (int i = 0; !rc && i < n && in_window(&c); i++) {
		uint8_t cdb[10] = {0x2a}, b[BHS_LEN];
		put32(cdb + 2, (uint32_t)i * (total / 512) % (64u << 11));
		put16(cdb + 7, (uint16_t)(total / 512));
		cmd_bhs(&c, b, c.itt++, F_FINAL | F_WRITE, total, cdb, 10, false);
		if (send_pdu(&c, b, NULL, 0))
			rc = failf("send of WRITE %d failed", i);
		sent++;
	}
	double end = now_ms() + hold * 1000.0;
	while (!rc && now_ms() < end) {
		struct pollfd pfd = {.fd = c.fd, .events = POLLIN};
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		struct pdu p;
		enum rx r = recv_pdu(&c, &p);
		if (r) {
			rc = failf("connection %s", r == RX_CLOSED ? "closed" : "stalled");
			break;
		}
		uint32_t itt = get32(p.bhs + 16);
		if ((p.bhs[0] & 0x3f) == OP_R2T && itt - first_itt < (uint32_t)sent) {
			uint32_t off = get32(p.bhs + 40), len = get32(p.bhs + 44);
			solicited[itt - first_itt] = true;
			if ((uint64_t)off + len > total)
				rc = failf("R2T beyond the transfer");
			else
				rc = send_burst(&c, itt, get32(p.bhs + 20), off, len, zeros,
						off + len == total);
		}
		pdu_free(&p);
	}
	int nsol = 0;
	for (int i = 0; solicited && i < sent; i++)
		nsol += solicited[i];
	printf("sent %d WRITEs of %u MiB, %d solicited, last Data-Out of each held back\n", sent,
	       mib, nsol);
	free(zeros);
	free(solicited);
	conn_close(&c);
	if (!rc)
		printf("ok\n");
	return rc;
}

/* n READs whose CDB asks for mib MiB but whose EDTL is one block, sent at
 * once without reading the answers: the target must not allocate (and
 * read) what the initiator will never take. */
static int mode_smalledtl(int n, unsigned mib, int hold)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	if (tur_good(&c)) {
		conn_close(&c);
		return -1;
	}
	uint32_t blocks = (mib << 20) / 512;
	int sent = 0, rc = 0;
	for (int i = 0; !rc && i < n && in_window(&c); i++) {
		uint8_t cdb[10] = {0x28}, b[BHS_LEN];
		put32(cdb + 2, ((uint32_t)i * 512u) % ((64u << 11) - blocks + 1));
		put16(cdb + 7, (uint16_t)blocks);
		cmd_bhs(&c, b, c.itt++, F_FINAL | F_READ, 512, cdb, 10, false);
		if (send_pdu(&c, b, NULL, 0))
			rc = failf("send of READ %d failed", i);
		sent++;
	}
	printf("sent %d READs of %u MiB with EDTL 512\n", sent, mib);
	fflush(stdout);
	sleep((unsigned)hold);
	conn_close(&c);
	if (!rc)
		printf("ok\n");
	return rc;
}

static int mode_reads(int n, unsigned mib, int hold, bool immediate)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	if (tur_good(&c)) {
		conn_close(&c);
		return -1;
	}
	int sent = send_reads(&c, n, mib, immediate);
	if (sent < 0) {
		conn_close(&c);
		return -1;
	}
	printf("sent %d %s READs of %u MiB\n", sent, immediate ? "immediate" : "in-window", mib);
	fflush(stdout);
	sleep((unsigned)hold);
	conn_close(&c);
	printf("ok\n");
	return 0;
}

static int mode_rsptimeout(int n, unsigned mib, int wait_s)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	if (tur_good(&c)) {
		conn_close(&c);
		return -1;
	}
	int sent = send_reads(&c, n, mib, false);
	if (sent < 0) {
		conn_close(&c);
		return -1;
	}
	double t0 = now_ms();
	/* Unread data stays queued, so only the target's FIN or a reset tells
	 * that it dropped the connection.  A reset sent into our zero window
	 * may be ignored (RFC 5961), so a small NOP-Out now and then makes the
	 * target's kernel answer a closed socket with a reset we do see. */
	bool dropped = false;
	while (!dropped && now_ms() - t0 < wait_s * 1000.0) {
		struct pollfd pfd = {.fd = c.fd, .events = POLLRDHUP};
		if (poll(&pfd, 1, 500) > 0 && (pfd.revents & (POLLRDHUP | POLLERR | POLLHUP))) {
			dropped = true;
			break;
		}
		uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
		put32(b + 16, RESERVED_TAG);
		put32(b + 20, RESERVED_TAG);
		put32(b + 24, c.cmdsn);
		if (send(c.fd, b, BHS_LEN, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
			dropped = true;
	}
	double dt = (now_ms() - t0) / 1000.0;
	conn_close(&c);
	if (!dropped)
		return failf("%d READs unread: the target kept the connection for %d s", sent,
			     wait_s);
	printf("ok dropped after %.1f s with %d READs unread\n", dt, sent);
	return 0;
}

static int mode_hugehdr(int n, int hold)
{
	int *fds = calloc((size_t)n, sizeof(int));
	if (!fds)
		return failf("out of memory");
	int opened = 0;
	for (int i = 0; i < n; i++) {
		struct conn c;
		if (conn_open(&c))
			break;
		uint8_t b[BHS_LEN];
		login_bhs(&c, b, F_FINAL | (1 << 2) | 3);
		b[4] = 1;		/* a 4-byte AHS that never comes */
		put24(b + 5, 0xffffff); /* and the largest data segment */
		if (send_all(c.fd, b, BHS_LEN)) {
			conn_close(&c);
			break;
		}
		fds[opened++] = c.fd;
	}
	printf("sent %d oversized headers\n", opened);
	fflush(stdout);
	sleep((unsigned)hold);
	int dropped = 0;
	for (int i = 0; i < opened; i++) {
		struct pollfd pfd = {.fd = fds[i], .events = POLLRDHUP};
		if (poll(&pfd, 1, 0) > 0)
			dropped++;
		close(fds[i]);
	}
	free(fds);
	if (opened < n)
		return failf("only %d of %d connections: %s", opened, n, g_why);
	printf("ok %d of %d closed by the target\n", dropped, opened);
	return 0;
}

static int mode_immlimit(int n, int limit)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	if (tur_good(&c)) {
		conn_close(&c);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		uint8_t b[BHS_LEN], cdb[10] = {0x2a};
		put32(cdb + 2, (uint32_t)i);
		put16(cdb + 7, 1);
		cmd_bhs(&c, b, c.itt++, F_FINAL | 0x20 /* W */, 512, cdb, 10, true);
		if (send_pdu(&c, b, NULL, 0)) {
			conn_close(&c);
			return failf("send of WRITE %d failed", i);
		}
	}
	int r2ts = 0, rejects = 0, other = 0;
	while (r2ts + rejects + other < n) {
		struct pdu p;
		if (recv_pdu(&c, &p))
			break;
		uint8_t op = p.bhs[0] & 0x3f;
		if (op == OP_R2T)
			r2ts++;
		else if (op == OP_REJECT && p.bhs[2] == 0x06)
			rejects++;
		else if (op != OP_NOP_IN) /* window updates are fine */
			other++;
		pdu_free(&p);
	}
	conn_close(&c);
	printf("%d immediate WRITEs waiting for Data-Out: %d R2Ts, %d Rejects 0x06, %d other\n", n,
	       r2ts, rejects, other);
	if (r2ts != limit || rejects != n - limit || other)
		return failf("wanted %d R2Ts and %d Rejects with reason 0x06", limit, n - limit);
	printf("ok\n");
	return 0;
}

/* --- starvation --- */

struct flood {
	struct conn c;
	atomic_bool stop;
	atomic_uint max_cmdsn; /* from the answers, for the READ window */
	atomic_ulong pdus_sent, bytes_read;
	int error;
};

/* Drains everything the target sends, keeping MaxCmdSN. */
static void *flood_reader(void *arg)
{
	struct flood *f = arg;
	size_t cap = 1 << 20, len = 0;
	uint8_t *buf = malloc(cap);
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	setsockopt(f->c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (buf && !atomic_load(&f->stop)) {
		ssize_t n = recv(f->c.fd, buf + len, cap - len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		atomic_fetch_add(&f->bytes_read, (unsigned long)n);
		len += (size_t)n;
		/* Walk whole PDUs; keep a partial one for the next recv. */
		size_t off = 0;
		while (len - off >= BHS_LEN) {
			const uint8_t *h = buf + off;
			uint32_t dlen = get24(h + 5);
			size_t total = BHS_LEN + h[4] * 4u + dlen + ((4 - (dlen & 3)) & 3);
			if (len - off < total) {
				if (total > cap) { /* never with MaxRecvDataSegmentLength 256 KiB */
					free(buf);
					return NULL;
				}
				break;
			}
			uint8_t op = h[0] & 0x3f;
			if (op != OP_DATA_IN && op != OP_LOGIN_RSP && op != OP_REJECT)
				atomic_store(&f->max_cmdsn, get32(h + 32));
			off += total;
		}
		memmove(buf, buf + off, len - off);
		len -= off;
	}
	free(buf);
	return NULL;
}

/* Immediate NOP-Outs in batches, plus 64 KiB READs whenever the window has
 * room, as fast as the socket takes them. */
static void *flood_writer(void *arg)
{
	struct flood *f = arg;
	enum { BATCH = 256 };
	uint8_t *buf = malloc(BATCH * BHS_LEN);
	while (buf && !atomic_load(&f->stop)) {
		size_t off = 0;
		for (int i = 0; i < BATCH; i++) {
			uint8_t *b = buf + off;
			f->c.max_cmdsn = atomic_load(&f->max_cmdsn);
			if (i % 8 == 0 && in_window(&f->c)) {
				read10_bhs(&f->c, b, (uint32_t)i * 128, 65536, false);
			} else {
				memset(b, 0, BHS_LEN);
				b[0] = OP_NOP_OUT | OP_IMMEDIATE;
				b[1] = F_FINAL;
				put32(b + 16, f->c.itt++);
				put32(b + 20, RESERVED_TAG);
				put32(b + 24, f->c.cmdsn);
			}
			off += BHS_LEN;
		}
		if (send_all(f->c.fd, buf, off)) {
			if (!atomic_load(&f->stop))
				f->error = errno ? errno : EPIPE;
			break;
		}
		atomic_fetch_add(&f->pdus_sent, BATCH);
	}
	free(buf);
	return NULL;
}

static int mode_starve(int seconds, double max_ms)
{
	struct conn m;
	if (open_and_login(&m))
		return -1;
	if (tur_good(&m)) {
		conn_close(&m);
		return -1;
	}
	struct flood *f = calloc(1, sizeof(*f));
	if (!f || open_and_login(&f->c)) {
		free(f);
		conn_close(&m);
		return -1;
	}
	atomic_store(&f->max_cmdsn, f->c.max_cmdsn);
	pthread_t rd, wr;
	pthread_create(&rd, NULL, flood_reader, f);
	pthread_create(&wr, NULL, flood_writer, f);
	usleep(300000); /* let the flood build up */
	double worst = 0, sum = 0, t_end = now_ms() + seconds * 1000.0;
	unsigned count = 0;
	int rc = 0;
	while (now_ms() < t_end) {
		double t0 = now_ms();
		int st = tur(&m);
		double dt = now_ms() - t0;
		if (st < 0) {
			char why[sizeof(g_why)];
			snprintf(why, sizeof(why), "%s", g_why);
			rc = failf("TEST UNIT READY during the flood: %s after %.0f ms", why, dt);
			worst = dt > worst ? dt : worst;
			break;
		}
		worst = dt > worst ? dt : worst;
		sum += dt;
		count++;
		usleep(20000);
	}
	atomic_store(&f->stop, true);
	shutdown(f->c.fd, SHUT_RDWR);
	pthread_join(wr, NULL);
	pthread_join(rd, NULL);
	unsigned long sent = atomic_load(&f->pdus_sent), got = atomic_load(&f->bytes_read);
	conn_close(&f->c);
	conn_close(&m);
	free(f);
	if (rc)
		return rc;
	if (count == 0)
		return failf("no TEST UNIT READY completed");
	printf("TUR latency: %u commands, average %.2f ms, worst %.2f ms; flood sent %lu PDUs, "
	       "read %lu bytes\n",
	       count, sum / count, worst, sent, got);
	if (sent < 10000)
		return failf("the flood sent only %lu PDUs: no flood, no test", sent);
	if (worst > max_ms)
		return failf("worst TEST UNIT READY latency %.1f ms > %.0f ms", worst, max_ms);
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s HOST PORT TARGET_IQN MODE ARGS...\n", argv[0]);
		return 2;
	}
	g_host = argv[1];
	g_port = argv[2];
	g_target = argv[3];
	const char *mode = argv[4];
	int rc;
#define ARG(i) (argc > 4 + (i) ? atoi(argv[4 + (i)]) : 0)
	if (!strcmp(mode, "reads") && argc == 8)
		rc = mode_reads(ARG(1), (unsigned)ARG(2), ARG(3), false);
	else if (!strcmp(mode, "immediate") && argc == 8)
		rc = mode_reads(ARG(1), (unsigned)ARG(2), ARG(3), true);
	else if (!strcmp(mode, "smalledtl") && argc == 8)
		rc = mode_smalledtl(ARG(1), (unsigned)ARG(2), ARG(3));
	else if (!strcmp(mode, "writehold") && argc == 8)
		rc = mode_writehold(ARG(1), (unsigned)ARG(2), ARG(3));
	else if (!strcmp(mode, "immlimit") && argc == 7)
		rc = mode_immlimit(ARG(1), ARG(2));
	else if (!strcmp(mode, "rsptimeout") && argc == 8)
		rc = mode_rsptimeout(ARG(1), (unsigned)ARG(2), ARG(3));
	else if (!strcmp(mode, "hugehdr") && argc == 7)
		rc = mode_hugehdr(ARG(1), ARG(2));
	else if (!strcmp(mode, "starve") && argc == 7)
		rc = mode_starve(ARG(1), ARG(2));
	else if (!strcmp(mode, "health") && argc == 5)
		rc = mode_health();
	else {
		fprintf(stderr, "%s: bad mode or arguments\n", argv[0]);
		return 2;
	}
	if (rc)
		printf("error: %s\n", g_why);
	return rc ? 1 : 0;
}
