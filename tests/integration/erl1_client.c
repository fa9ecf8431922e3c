/*
 * erl1_client: an iSCSI initiator on raw TCP sockets that logs in at
 * ErrorRecoveryLevel 1 with both digests and exercises the target's
 * recovery within a connection (RFC 7143 7.x, SNACK 11.16): a dropped
 * Data-In recovered with a Data SNACK, Status SNACK, DataACK, R-Data
 * SNACK, data digest errors on Data-Out and on immediate data, a lost
 * Data-Out, bad SNACKs, the retention bound, and the ERL 0 fallback.
 * Standalone like hostile_client (its own CRC32C and PDU code).
 *
 * Usage: erl1_client --list
 *        erl1_client HOST PORT TARGET_IQN CASE
 * TARGET_IQN is the ERL 1 target; TARGET_IQN-erl0 is one left at the
 * default.  Prints "ok" or "error: why"; exits 0 or 1.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
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
#define INITIATOR "iqn.2026-11.org.uscst:erl1-client"
#define OP_NOP_OUT 0x00
#define OP_SCSI_CMD 0x01
#define OP_LOGIN_REQ 0x03
#define OP_DATA_OUT 0x05
#define OP_SNACK 0x10
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
#define F_ACK 0x40    /* Data-In A bit */
#define F_STATUS 0x01 /* Data-In S bit */
#define RESERVED 0xffffffffu

#define MRDSL 8192u	/* ours: Data-In PDUs of 8 KiB */
#define BURST 32768u	/* MaxBurstLength: sequences of 4 PDUs */
#define READ_LEN 65536u /* 8 Data-In PDUs, 2 sequences */
#define BLOCK 512u

static const char *g_host, *g_port, *g_target;
static uint32_t g_login_mrdsl = MRDSL; /* what login declares */
static uint32_t g_login_burst = BURST, g_login_max_r2t = 1;
static char g_why[512];

static int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g_why, sizeof(g_why), fmt, ap);
	va_end(ap);
	return -1;
}

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return failf(__VA_ARGS__);                                                 \
	} while (0)

static uint32_t crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return crc ^ 0xffffffffu;
}

struct conn {
	int fd;
	bool digests; /* in force: after login */
	uint32_t cmdsn, itt;
	uint32_t statsn_next; /* one past the highest StatSN received */
	bool hold_ack;	      /* keep sending held_ack as ExpStatSN */
	uint32_t held_ack;
	uint32_t erl; /* negotiated */
};

struct pdu {
	uint8_t bhs[BHS_LEN];
	uint8_t data[300 * 1024];
	uint32_t dlen;
};

static uint32_t exp_statsn(const struct conn *c)
{
	return c->hold_ack ? c->held_ack : c->statsn_next;
}

static int conn_open(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(g_host, g_port, &hints, &ai))
		return failf("cannot resolve %s", g_host);
	c->fd = socket(ai->ai_family, SOCK_STREAM, 0);
	int rc = c->fd < 0 ? -1 : connect(c->fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc < 0)
		return failf("connect: %s", strerror(errno));
	struct timeval tv = {.tv_sec = 5};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->itt = 0x100;
	c->cmdsn = 1;
	return 0;
}

static int send_all(struct conn *c, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return failf("send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* BHS (+ digest) (+ data, pad, digest); bad_dd: a wrong data digest. */
static int send_pdu(struct conn *c, uint8_t *bhs, const uint8_t *data, uint32_t dlen, bool bad_dd)
{
	static uint8_t buf[BHS_LEN + 8 + 300 * 1024];
	bhs[4] = 0;
	put24(bhs + 5, dlen);
	uint32_t pad = (4 - (dlen & 3)) & 3;
	size_t off = 0;
	memcpy(buf, bhs, BHS_LEN);
	off = BHS_LEN;
	if (c->digests) {
		put_digest(buf + off, crc32c(buf, BHS_LEN));
		off += 4;
	}
	size_t d0 = off;
	if (dlen)
		memcpy(buf + off, data, dlen);
	memset(buf + off + dlen, 0, pad);
	off += dlen + pad;
	if (c->digests && dlen) {
		put_digest(buf + off, crc32c(buf + d0, dlen + pad) ^ (bad_dd ? 0x100u : 0));
		off += 4;
	}
	return send_all(c, buf, off);
}

static int recv_all(struct conn *c, uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = recv(c->fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return failf("connection closed by the target");
		if (n < 0)
			return failf("receive: %s", errno == EAGAIN ? "timeout" : strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One PDU, digests checked; pings answered; StatSN noted. */
static int recv_pdu(struct conn *c, struct pdu *p)
{
	for (;;) {
		if (recv_all(c, p->bhs, BHS_LEN))
			return -1;
		CHECK(p->bhs[4] == 0, "AHS from the target");
		p->dlen = get24(p->bhs + 5);
		CHECK(p->dlen <= sizeof(p->data), "data segment of %u bytes", p->dlen);
		uint8_t dig[4], want[4];
		if (c->digests) {
			if (recv_all(c, dig, 4))
				return -1;
			put_digest(want, crc32c(p->bhs, BHS_LEN));
			CHECK(!memcmp(dig, want, 4), "bad header digest from the target");
		}
		uint32_t pad = (4 - (p->dlen & 3)) & 3;
		if (p->dlen) {
			if (recv_all(c, p->data, p->dlen + pad))
				return -1;
			if (c->digests) {
				if (recv_all(c, dig, 4))
					return -1;
				put_digest(want, crc32c(p->data, p->dlen + pad));
				CHECK(!memcmp(dig, want, 4), "bad data digest from the target");
			}
		}
		uint8_t op = p->bhs[0] & 0x3f;
		bool numbered = op == OP_SCSI_RSP || op == OP_REJECT ||
				(op == OP_DATA_IN && (p->bhs[1] & F_STATUS)) ||
				(op == OP_NOP_IN && get32(p->bhs + 16) != RESERVED);
		uint32_t sn = get32(p->bhs + 24);
		if (numbered && (int32_t)(sn + 1 - c->statsn_next) > 0)
			c->statsn_next = sn + 1;
		if (op == OP_NOP_IN && get32(p->bhs + 20) != RESERVED) {
			uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
			put32(b + 16, RESERVED);
			memcpy(b + 20, p->bhs + 20, 4);
			put32(b + 24, c->cmdsn);
			put32(b + 28, exp_statsn(c));
			if (send_pdu(c, b, NULL, 0, false))
				return -1;
			continue;
		}
		return 0;
	}
}

/* --- login --- */

static int login(struct conn *c, const char *target, uint32_t want_erl)
{
	char keys[1024];
	int n =
	    snprintf(keys, sizeof(keys),
		     "InitiatorName=" INITIATOR "%cTargetName=%s%cSessionType=Normal%c"
		     "HeaderDigest=CRC32C%cDataDigest=CRC32C%cInitialR2T=No%c"
		     "ImmediateData=Yes%cFirstBurstLength=16384%cMaxBurstLength=%u%c"
		     "MaxRecvDataSegmentLength=%u%cErrorRecoveryLevel=%u%cMaxOutstandingR2T=%u%c",
		     0, target, 0, 0, 0, 0, 0, 0, 0, g_login_burst, 0, g_login_mrdsl, 0, want_erl,
		     0, g_login_max_r2t, 0);
	uint8_t b[BHS_LEN] = {OP_LOGIN_REQ | OP_IMMEDIATE, F_FINAL | (1 << 2) | 3};
	b[8] = 0x80;
	put32(b + 10, (uint32_t)getpid() ^ (uint32_t)(uintptr_t)c);
	put32(b + 16, c->itt++);
	put32(b + 24, c->cmdsn);
	if (send_pdu(c, b, (const uint8_t *)keys, (uint32_t)n, false))
		return -1;
	static struct pdu p;
	if (recv_pdu(c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_LOGIN_RSP, "no Login Response");
	CHECK(get16(p.bhs + 36) == 0, "login refused: 0x%04x", get16(p.bhs + 36));
	CHECK((p.bhs[1] & 0x83) == 0x83, "login not in full feature phase in one step");
	c->statsn_next = get32(p.bhs + 24) + 1;
	c->cmdsn = get32(p.bhs + 28);
	c->erl = 99;
	for (uint32_t i = 0; i < p.dlen;) {
		const char *s = (const char *)p.data + i;
		if (!strncmp(s, "ErrorRecoveryLevel=", 19))
			c->erl = (uint32_t)atoi(s + 19);
		if (!strncmp(s, "HeaderDigest=", 13) || !strncmp(s, "DataDigest=", 11))
			CHECK(strstr(s, "CRC32C"), "digest not accepted: %s", s);
		if (!strncmp(s, "MaxBurstLength=", 15))
			CHECK((uint32_t)atoi(s + 15) == g_login_burst, "%s", s);
		i += (uint32_t)strnlen(s, p.dlen - i) + 1;
	}
	CHECK(c->erl != 99, "no ErrorRecoveryLevel in the answer");
	c->digests = true;
	return 0;
}

static void cmd_bhs(struct conn *c, uint8_t *b, uint8_t flags, uint32_t edtl, const uint8_t *cdb,
		    uint32_t itt);

/* A TEST UNIT READY takes the unit attention a new session has. */
static int clear_ua(struct conn *c)
{
	uint8_t cdb[16] = {0}, b[BHS_LEN];
	cmd_bhs(c, b, F_FINAL, 0, cdb, c->itt++);
	c->cmdsn++;
	static struct pdu p;
	if (send_pdu(c, b, NULL, 0, false) || recv_pdu(c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_SCSI_RSP, "no response to TEST UNIT READY");
	return 0;
}

static int open_erl1(struct conn *c)
{
	if (conn_open(c) || login(c, g_target, 1))
		return -1;
	CHECK(c->erl == 1, "ErrorRecoveryLevel %u negotiated, not 1", c->erl);
	return clear_ua(c);
}

/* --- commands --- */

static void cmd_bhs(struct conn *c, uint8_t *b, uint8_t flags, uint32_t edtl, const uint8_t *cdb,
		    uint32_t itt)
{
	memset(b, 0, BHS_LEN);
	b[0] = OP_SCSI_CMD;
	b[1] = flags | 1; /* SIMPLE */
	put32(b + 16, itt);
	put32(b + 20, edtl);
	put32(b + 24, c->cmdsn);
	put32(b + 28, exp_statsn(c));
	memcpy(b + 32, cdb, 10);
}

static void rw10(uint8_t *cdb, uint8_t op, uint32_t lba, uint32_t len)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	put32(cdb + 2, lba);
	put16(cdb + 7, (uint16_t)(len / BLOCK));
}

static int send_snack(struct conn *c, uint8_t type, uint32_t itt, uint32_t ttt, uint32_t beg,
		      uint32_t run)
{
	uint8_t b[BHS_LEN] = {OP_SNACK, (uint8_t)(F_FINAL | type)};
	put32(b + 16, itt);
	put32(b + 20, ttt);
	put32(b + 28, exp_statsn(c));
	put32(b + 40, beg);
	put32(b + 44, run);
	return send_pdu(c, b, NULL, 0, false);
}

static int expect_reject(struct conn *c, uint8_t reason, uint8_t op, const char *what)
{
	static struct pdu p;
	if (recv_pdu(c, &p))
		return failf("%s: %s", what, g_why);
	CHECK((p.bhs[0] & 0x3f) == OP_REJECT, "%s: opcode 0x%02x instead of a Reject", what,
	      p.bhs[0] & 0x3f);
	CHECK(p.bhs[2] == reason, "%s: Reject reason 0x%02x, wanted 0x%02x", what, p.bhs[2],
	      reason);
	CHECK(p.dlen >= BHS_LEN && (p.data[0] & 0x3f) == op, "%s: Reject without the header", what);
	return 0;
}

/* Nothing arrives within ms milliseconds. */
static int expect_silence(struct conn *c, int ms, const char *what)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = ms * 1000}, back = {.tv_sec = 5};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	uint8_t x;
	ssize_t n = recv(c->fd, &x, 1, MSG_PEEK);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &back, sizeof(back));
	CHECK(n < 0, "%s: the target sent something", what);
	return 0;
}

static void pattern(uint8_t *buf, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((i * 7 + seed * 13 + (i >> 9)) ^ (i >> 3));
}

struct rsp {
	uint8_t status;
	uint32_t statsn, snack_tag, exp_datasn;
	bool via_data_in;
};

/* Answers every R2T with Data-Out of MRDSL bytes from data; corrupt_at:
 * the Data-Out at this offset goes once with a bad data digest; skip_at:
 * the one at this offset is not sent the first time.  Counts recovery
 * R2Ts (those asking for less than a burst at a non-burst offset). */
struct write_opts {
	uint32_t corrupt_at, skip_at; /* RESERVED: none */
	unsigned rejects_02, recovery_r2ts, r2ts;
	uint32_t recovery_off, recovery_len;
	uint32_t first_off, first_len; /* the first R2T */
};

static int answer_r2t(struct conn *c, const struct pdu *p, const uint8_t *data,
		      struct write_opts *o)
{
	uint32_t ttt = get32(p->bhs + 20), off = get32(p->bhs + 40), len = get32(p->bhs + 44);
	if (!o->r2ts++) {
		o->first_off = off;
		o->first_len = len;
	}
	if (off % BURST || (len != BURST && off + len != READ_LEN)) {
		o->recovery_r2ts++;
		o->recovery_off = off;
		o->recovery_len = len;
	}
	uint32_t datasn = 0;
	for (uint32_t done = 0; done < len; done += MRDSL) {
		uint32_t n = len - done < MRDSL ? len - done : MRDSL;
		uint8_t b[BHS_LEN] = {OP_DATA_OUT};
		b[1] = done + n == len ? F_FINAL : 0;
		memcpy(b + 16, p->bhs + 16, 4);
		put32(b + 20, ttt);
		put32(b + 28, exp_statsn(c));
		put32(b + 36, datasn++);
		put32(b + 40, off + done);
		bool bad = off + done == o->corrupt_at;
		if (bad)
			o->corrupt_at = RESERVED;
		if (off + done == o->skip_at) {
			o->skip_at = RESERVED;
			continue;
		}
		if (send_pdu(c, b, data + off + done, n, bad))
			return -1;
	}
	return 0;
}

/* Reads PDUs of a WRITE until its response. */
static int write_until_rsp(struct conn *c, uint32_t itt, const uint8_t *data, struct write_opts *o,
			   struct rsp *r)
{
	static struct pdu p;
	for (int i = 0; i < 64; i++) {
		if (recv_pdu(c, &p))
			return -1;
		uint8_t op = p.bhs[0] & 0x3f;
		if (op == OP_R2T) {
			CHECK(get32(p.bhs + 16) == itt, "R2T for another ITT");
			if (answer_r2t(c, &p, data, o))
				return -1;
		} else if (op == OP_REJECT) {
			CHECK(p.bhs[2] == 0x02, "Reject reason 0x%02x during a WRITE", p.bhs[2]);
			o->rejects_02++;
		} else if (op == OP_SCSI_RSP) {
			CHECK(get32(p.bhs + 16) == itt, "response for another ITT");
			r->status = p.bhs[3];
			r->statsn = get32(p.bhs + 24);
			return 0;
		} else {
			return failf("opcode 0x%02x during a WRITE", op);
		}
	}
	return failf("no response to the WRITE");
}

static int do_write(struct conn *c, uint32_t lba, const uint8_t *data, uint32_t len,
		    struct write_opts *o)
{
	uint8_t cdb[16], b[BHS_LEN];
	rw10(cdb, 0x2a, lba, len);
	uint32_t itt = c->itt++;
	cmd_bhs(c, b, F_FINAL | F_WRITE, len, cdb, itt);
	c->cmdsn++;
	if (send_pdu(c, b, NULL, 0, false))
		return -1;
	struct rsp r = {0};
	if (write_until_rsp(c, itt, data, o, &r))
		return -1;
	CHECK(r.status == 0, "WRITE status 0x%02x", r.status);
	return 0;
}

/* A READ(10) of len bytes; Data-In PDUs land in buf; drop: the DataSN
 * not taken (RESERVED: none).  seen[] marks DataSNs; acks[] gets the TTT
 * of each A-bit PDU (RESERVED otherwise). */
struct read_state {
	uint32_t itt;
	bool seen[64];
	uint32_t acks[64]; /* TTT of an A-bit PDU, else RESERVED */
	bool abit[64];
	uint32_t npdus;
	struct rsp rsp;
	bool have_rsp;
};

static int take_data_in(struct read_state *s, const struct pdu *p, uint8_t *buf, uint32_t len,
			uint32_t drop)
{
	CHECK(get32(p->bhs + 16) == s->itt, "Data-In for ITT 0x%x, wanted 0x%x", get32(p->bhs + 16),
	      s->itt);
	uint32_t sn = get32(p->bhs + 36), off = get32(p->bhs + 40);
	CHECK(sn < 64 && off + p->dlen <= len, "Data-In DataSN %u offset %u", sn, off);
	if (sn + 1 > s->npdus)
		s->npdus = sn + 1;
	s->abit[sn] = p->bhs[1] & F_ACK;
	s->acks[sn] = s->abit[sn] ? get32(p->bhs + 20) : RESERVED;
	if (p->bhs[1] & F_STATUS) {
		s->have_rsp = true;
		s->rsp.status = p->bhs[3];
		s->rsp.statsn = get32(p->bhs + 24);
		s->rsp.via_data_in = true;
	}
	if (sn == drop)
		return 0;
	s->seen[sn] = true;
	memcpy(buf + off, p->data, p->dlen);
	return 0;
}

static int do_read(struct conn *c, uint32_t lba, uint8_t *buf, uint32_t len, uint32_t drop,
		   struct read_state *s)
{
	memset(s, 0, sizeof(*s));
	uint8_t cdb[16], b[BHS_LEN];
	rw10(cdb, 0x28, lba, len);
	s->itt = c->itt++;
	cmd_bhs(c, b, F_FINAL | F_READ, len, cdb, s->itt);
	c->cmdsn++;
	if (send_pdu(c, b, NULL, 0, false))
		return -1;
	static struct pdu p;
	while (!s->have_rsp) {
		if (recv_pdu(c, &p))
			return -1;
		uint8_t op = p.bhs[0] & 0x3f;
		if (op == OP_DATA_IN) {
			if (take_data_in(s, &p, buf, len, drop))
				return -1;
		} else if (op == OP_SCSI_RSP) {
			s->have_rsp = true;
			s->rsp.status = p.bhs[3];
			s->rsp.statsn = get32(p.bhs + 24);
		} else {
			return failf("opcode 0x%02x during a READ", op);
		}
	}
	CHECK(s->rsp.status == 0, "READ status 0x%02x", s->rsp.status);
	return 0;
}

static int compare(const uint8_t *got, const uint8_t *want, uint32_t len, const char *what)
{
	for (uint32_t i = 0; i < len; i++)
		CHECK(got[i] == want[i], "%s: byte %u is 0x%02x, wrote 0x%02x", what, i, got[i],
		      want[i]);
	return 0;
}

/* Writes a pattern at lba and returns it in want. */
static int prepare(struct conn *c, uint32_t lba, uint8_t *want, uint32_t len, uint32_t seed)
{
	pattern(want, len, seed);
	struct write_opts o = {.corrupt_at = RESERVED, .skip_at = RESERVED};
	return do_write(c, lba, want, len, &o);
}

static uint8_t g_want[READ_LEN], g_got[READ_LEN];

/* --- cases --- */

/* The Data-In of DataSN 2 is lost; a Data SNACK brings it back. */
static int case_data_snack(void)
{
	struct conn c;
	struct read_state s;
	if (open_erl1(&c) || prepare(&c, 100, g_want, READ_LEN, 1))
		return -1;
	memset(g_got, 0, sizeof(g_got));
	c.hold_ack = true; /* the status stays unacknowledged until the data is whole */
	c.held_ack = c.statsn_next;
	if (do_read(&c, 100, g_got, READ_LEN, 2, &s))
		return -1;
	CHECK(s.npdus == READ_LEN / MRDSL, "%u Data-In PDUs, wanted %u", s.npdus, READ_LEN / MRDSL);
	/* 11.7.2: A at the end of each sequence, and only there. */
	for (uint32_t sn = 0; sn < s.npdus; sn++)
		CHECK(s.abit[sn] == ((sn + 1) % (BURST / MRDSL) == 0) &&
			  s.abit[sn] == (s.acks[sn] != RESERVED),
		      "A bit %s on DataSN %u (TTT 0x%x)", s.abit[sn] ? "set" : "not set", sn,
		      s.acks[sn]);
	CHECK(!s.seen[2], "DataSN 2 was not dropped");
	if (send_snack(&c, 0, s.itt, RESERVED, 2, 1))
		return -1;
	static struct pdu p;
	if (recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_DATA_IN, "opcode 0x%02x after the Data SNACK",
	      p.bhs[0] & 0x3f);
	CHECK(get32(p.bhs + 36) == 2 && get32(p.bhs + 40) == 2 * MRDSL && p.dlen == MRDSL,
	      "resent Data-In DataSN %u offset %u length %u", get32(p.bhs + 36), get32(p.bhs + 40),
	      p.dlen);
	CHECK(!(p.bhs[1] & F_STATUS), "resent DataSN 2 carries status");
	if (take_data_in(&s, &p, g_got, READ_LEN, RESERVED))
		return -1;
	if (compare(g_got, g_want, READ_LEN, "READ recovered with a Data SNACK"))
		return -1;
	/* The last PDU with the status, again: the same StatSN. */
	if (send_snack(&c, 0, s.itt, RESERVED, 7, 0) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_DATA_IN && get32(p.bhs + 36) == 7 && (p.bhs[1] & F_STATUS) &&
		  get32(p.bhs + 24) == s.rsp.statsn,
	      "DataSN 7 resent as op 0x%02x DataSN %u flags 0x%02x StatSN %u (was %u)",
	      p.bhs[0] & 0x3f, get32(p.bhs + 36), p.bhs[1], get32(p.bhs + 24), s.rsp.statsn);
	/* Acknowledged: the task is gone; a SNACK for it names nothing. */
	c.hold_ack = false;
	if (send_snack(&c, 0, s.itt, RESERVED, 0, 1))
		return -1;
	return expect_reject(&c, 0x09, OP_SNACK, "Data SNACK after the status was acknowledged");
}

/* Status SNACK: a SCSI Response again, and a phase-collapsed one as its
 * Data-In; once acknowledged, a Reject. */
static int case_status_snack(void)
{
	struct conn c;
	if (open_erl1(&c))
		return -1;
	c.hold_ack = true;
	c.held_ack = c.statsn_next;
	uint8_t cdb[16] = {0}, b[BHS_LEN];
	uint32_t itt = c.itt++;
	cmd_bhs(&c, b, F_FINAL, 0, cdb, itt); /* TEST UNIT READY */
	c.cmdsn++;
	static struct pdu p;
	if (send_pdu(&c, b, NULL, 0, false) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_SCSI_RSP, "no response to TEST UNIT READY");
	uint32_t tur_sn = get32(p.bhs + 24);
	struct read_state s;
	if (do_read(&c, 100, g_got, READ_LEN, RESERVED, &s))
		return -1;
	CHECK(s.rsp.via_data_in, "READ status not in the last Data-In");
	/* Both StatSNs again, oldest first. */
	if (send_snack(&c, 1, RESERVED, RESERVED, tur_sn, 2) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_SCSI_RSP && get32(p.bhs + 16) == itt &&
		  get32(p.bhs + 24) == tur_sn && p.bhs[3] == 0,
	      "Status SNACK: op 0x%02x ITT 0x%x StatSN %u (wanted response 0x%x %u)",
	      p.bhs[0] & 0x3f, get32(p.bhs + 16), get32(p.bhs + 24), itt, tur_sn);
	if (recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_DATA_IN && (p.bhs[1] & F_STATUS) &&
		  get32(p.bhs + 24) == s.rsp.statsn && get32(p.bhs + 36) == 7 &&
		  !memcmp(p.data, g_got + 7 * MRDSL, MRDSL),
	      "Status SNACK of a collapsed status: op 0x%02x flags 0x%02x StatSN %u",
	      p.bhs[0] & 0x3f, p.bhs[1], get32(p.bhs + 24));
	/* Acknowledge the TEST UNIT READY only: its StatSN is gone. */
	c.held_ack = tur_sn + 1;
	if (send_snack(&c, 1, RESERVED, RESERVED, tur_sn, 1))
		return -1;
	if (expect_reject(&c, 0x04, OP_SNACK, "Status SNACK for an acknowledged StatSN"))
		return -1;
	/* A StatSN not sent yet. */
	if (send_snack(&c, 1, RESERVED, RESERVED, c.statsn_next + 5, 1))
		return -1;
	return expect_reject(&c, 0x04, OP_SNACK, "Status SNACK for a StatSN not sent");
}

/* Segments that do not divide MaxBurstLength (5000 in 32768: six of
 * 5000 and one of 2768 per sequence): the layout a SNACK rebuilds PDUs
 * from is the one they first went out in, and a DataACK must name a
 * sequence start. */
static int case_odd_segments(void)
{
	struct conn c;
	struct read_state s;
	g_login_mrdsl = 5000;
	if (open_erl1(&c) || prepare(&c, 900, g_want, READ_LEN, 9))
		return -1;
	c.hold_ack = true;
	c.held_ack = c.statsn_next;
	memset(g_got, 0, sizeof(g_got));
	if (do_read(&c, 900, g_got, READ_LEN, 9, &s))
		return -1;
	CHECK(s.npdus == 14, "%u Data-In PDUs, wanted 14", s.npdus);
	for (uint32_t sn = 0; sn < s.npdus; sn++)
		CHECK(s.abit[sn] == (sn == 6 || sn == 13), "A bit %s on DataSN %u",
		      s.abit[sn] ? "set" : "not set", sn);
	static struct pdu p;
	if (send_snack(&c, 0, s.itt, RESERVED, 9, 1) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_DATA_IN && get32(p.bhs + 36) == 9 &&
		  get32(p.bhs + 40) == BURST + 2 * 5000 && p.dlen == 5000,
	      "DataSN 9 resent at offset %u, %u bytes", get32(p.bhs + 40), p.dlen);
	memcpy(g_got + get32(p.bhs + 40), p.data, p.dlen);
	if (compare(g_got, g_want, READ_LEN, "READ with 5000-byte segments"))
		return -1;
	if (send_snack(&c, 0, s.itt, RESERVED, 13, 1) || recv_pdu(&c, &p))
		return -1;
	CHECK(get32(p.bhs + 40) == BURST + 6 * 5000 && p.dlen == READ_LEN - BURST - 6 * 5000 &&
		  (p.bhs[1] & F_STATUS),
	      "DataSN 13 resent at offset %u, %u bytes, flags 0x%02x", get32(p.bhs + 40), p.dlen,
	      p.bhs[1]);
	if (send_snack(&c, 2, RESERVED, s.acks[6], 8, 0) ||
	    expect_reject(&c, 0x08, OP_SNACK, "DataACK of DataSN 8, inside a sequence"))
		return -1;
	if (send_snack(&c, 2, RESERVED, s.acks[6], 7, 0) ||
	    expect_silence(&c, 200, "DataACK of the first sequence"))
		return -1;
	if (send_snack(&c, 0, s.itt, RESERVED, 6, 1) ||
	    expect_reject(&c, 0x04, OP_SNACK, "Data SNACK for DataSN 6, acknowledged"))
		return -1;
	return 0;
}

/* A CHECK CONDITION (a READ past the end): the Status SNACK brings the
 * same response back, sense data included. */
static int case_status_snack_sense(void)
{
	struct conn c;
	if (open_erl1(&c))
		return -1;
	c.hold_ack = true;
	c.held_ack = c.statsn_next;
	uint8_t cdb[16], b[BHS_LEN];
	rw10(cdb, 0x28, 0x7fffff00u, BLOCK);
	uint32_t itt = c.itt++;
	cmd_bhs(&c, b, F_FINAL | F_READ, BLOCK, cdb, itt);
	c.cmdsn++;
	static struct pdu first, p;
	if (send_pdu(&c, b, NULL, 0, false) || recv_pdu(&c, &first))
		return -1;
	CHECK((first.bhs[0] & 0x3f) == OP_SCSI_RSP && first.bhs[3] == 0x02 && first.dlen > 2,
	      "READ past the end: op 0x%02x status 0x%02x, %u bytes of sense", first.bhs[0] & 0x3f,
	      first.bhs[3], first.dlen);
	if (send_snack(&c, 1, RESERVED, RESERVED, get32(first.bhs + 24), 0) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_SCSI_RSP && p.dlen == first.dlen &&
		  !memcmp(p.data, first.data, p.dlen) && !memcmp(p.bhs + 1, first.bhs + 1, 23) &&
		  !memcmp(p.bhs + 36, first.bhs + 36, 12) &&
		  get32(p.bhs + 24) == get32(first.bhs + 24),
	      "the response sent again differs from the first");
	return 0;
}

/* DataACK releases the Data-In: SNACKs for it are refused, the status
 * comes back as a SCSI Response. */
static int case_data_ack(void)
{
	struct conn c;
	struct read_state s;
	if (open_erl1(&c) || prepare(&c, 200, g_want, READ_LEN, 2))
		return -1;
	c.hold_ack = true;
	c.held_ack = c.statsn_next;
	if (do_read(&c, 200, g_got, READ_LEN, RESERVED, &s))
		return -1;
	uint32_t ttt = s.acks[3];
	CHECK(ttt != RESERVED && ttt == s.acks[7], "A-bit TTTs 0x%x and 0x%x", ttt, s.acks[7]);
	/* Bad DataACKs first: not a sequence start, an unknown TTT, a run. */
	if (send_snack(&c, 2, RESERVED, ttt, 5, 0) ||
	    expect_reject(&c, 0x08, OP_SNACK, "DataACK in the middle of a sequence"))
		return -1;
	if (send_snack(&c, 2, RESERVED, ttt ^ 0x5a5a0000u, 4, 0) ||
	    expect_reject(&c, 0x08, OP_SNACK, "DataACK with an unknown TTT"))
		return -1;
	if (send_snack(&c, 2, RESERVED, ttt, 4, 1) ||
	    expect_reject(&c, 0x09, OP_SNACK, "DataACK with a RunLength"))
		return -1;
	/* The first sequence acknowledged: its data cannot be asked for. */
	if (send_snack(&c, 2, RESERVED, ttt, 4, 0) ||
	    expect_silence(&c, 200, "a good DataACK is not answered"))
		return -1;
	if (send_snack(&c, 0, s.itt, RESERVED, 1, 1) ||
	    expect_reject(&c, 0x04, OP_SNACK, "Data SNACK for acknowledged data"))
		return -1;
	if (send_snack(&c, 2, RESERVED, ttt, 4, 0) ||
	    expect_reject(&c, 0x08, OP_SNACK, "the same DataACK twice"))
		return -1;
	static struct pdu p;
	if (send_snack(&c, 0, s.itt, RESERVED, 5, 1) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_DATA_IN && get32(p.bhs + 36) == 5 &&
		  !memcmp(p.data, g_want + 5 * MRDSL, MRDSL),
	      "unacknowledged DataSN 5 not resent");
	/* All of it: the buffer is freed, the status alone remains. */
	if (send_snack(&c, 2, RESERVED, ttt, 8, 0) ||
	    expect_silence(&c, 200, "the last DataACK is not answered"))
		return -1;
	if (send_snack(&c, 0, s.itt, RESERVED, 6, 1) ||
	    expect_reject(&c, 0x04, OP_SNACK, "Data SNACK after the last DataACK"))
		return -1;
	if (send_snack(&c, 1, RESERVED, RESERVED, s.rsp.statsn, 1) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_SCSI_RSP && get32(p.bhs + 24) == s.rsp.statsn &&
		  get32(p.bhs + 16) == s.itt && get32(p.bhs + 36) == 8 && p.bhs[3] == 0,
	      "status after DataACK: op 0x%02x StatSN %u ExpDataSN %u", p.bhs[0] & 0x3f,
	      get32(p.bhs + 24), get32(p.bhs + 36));
	return 0;
}

/* R-Data SNACK: every unacknowledged Data-In again, then a SCSI Response
 * with the SNACK Tag.  MaxRecvDataSegmentLength is the same: lowering it
 * needs a Text request in full feature phase, which is not ours here. */
static int case_r_data(void)
{
	struct conn c;
	struct read_state s;
	if (open_erl1(&c) || prepare(&c, 300, g_want, READ_LEN, 3))
		return -1;
	c.hold_ack = true;
	c.held_ack = c.statsn_next;
	if (do_read(&c, 300, g_got, READ_LEN, 6, &s))
		return -1;
	/* The first sequence acknowledged: R-Data resends from DataSN 4. */
	if (send_snack(&c, 2, RESERVED, s.acks[3], 4, 0))
		return -1;
	memset(g_got + 4 * MRDSL, 0, READ_LEN - 4 * MRDSL);
	if (send_snack(&c, 3, s.itt, 0x1234, 0, 0))
		return -1;
	static struct pdu p;
	uint32_t next = 4;
	for (;;) {
		if (recv_pdu(&c, &p))
			return -1;
		uint8_t op = p.bhs[0] & 0x3f;
		if (op == OP_SCSI_RSP)
			break;
		CHECK(op == OP_DATA_IN, "opcode 0x%02x after R-Data", op);
		CHECK(get32(p.bhs + 36) == next && !(p.bhs[1] & F_STATUS),
		      "R-Data: DataSN %u flags 0x%02x, wanted DataSN %u without status",
		      get32(p.bhs + 36), p.bhs[1], next);
		memcpy(g_got + get32(p.bhs + 40), p.data, p.dlen);
		next++;
	}
	CHECK(next == 8, "R-Data resent DataSN 4..%u", next - 1);
	CHECK(get32(p.bhs + 20) == 0x1234 && get32(p.bhs + 24) == s.rsp.statsn && p.bhs[3] == 0,
	      "R-Data response: SNACK Tag 0x%x StatSN %u (wanted 0x1234, %u)", get32(p.bhs + 20),
	      get32(p.bhs + 24), s.rsp.statsn);
	if (compare(g_got, g_want, READ_LEN, "READ after R-Data"))
		return -1;
	/* A Status SNACK now gives the response with the tag. */
	if (send_snack(&c, 1, RESERVED, RESERVED, s.rsp.statsn, 1) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_SCSI_RSP && get32(p.bhs + 20) == 0x1234,
	      "Status SNACK after R-Data: op 0x%02x tag 0x%x", p.bhs[0] & 0x3f, get32(p.bhs + 20));
	return 0;
}

/* A Data-Out with a bad data digest: Reject 0x02, a recovery R2T for its
 * range, the WRITE completes with the right data. */
static int case_dataout_digest(void)
{
	struct conn c;
	if (open_erl1(&c))
		return -1;
	pattern(g_want, READ_LEN, 4);
	struct write_opts o = {.corrupt_at = MRDSL, .skip_at = RESERVED};
	if (do_write(&c, 400, g_want, READ_LEN, &o))
		return -1;
	CHECK(o.rejects_02 == 1, "%u Rejects with reason 0x02", o.rejects_02);
	CHECK(o.recovery_r2ts == 1 && o.recovery_off == MRDSL && o.recovery_len == MRDSL,
	      "%u recovery R2Ts, last for %u bytes at %u", o.recovery_r2ts, o.recovery_len,
	      o.recovery_off);
	struct read_state s;
	if (do_read(&c, 400, g_got, READ_LEN, RESERVED, &s))
		return -1;
	return compare(g_got, g_want, READ_LEN, "WRITE recovered from a digest error");
}

/* The unsolicited Data-Out after the immediate data has a bad digest: a
 * recovery R2T for it comes first, then the ordinary R2Ts. */
static int case_unsolicited_digest(void)
{
	struct conn c;
	if (open_erl1(&c))
		return -1;
	pattern(g_want, READ_LEN, 8);
	uint8_t cdb[16], b[BHS_LEN];
	rw10(cdb, 0x2a, 800, READ_LEN);
	uint32_t itt = c.itt++;
	cmd_bhs(&c, b, F_WRITE, READ_LEN, cdb, itt); /* F=0: unsolicited data follow */
	c.cmdsn++;
	if (send_pdu(&c, b, g_want, MRDSL, false))
		return -1;
	uint8_t d[BHS_LEN] = {OP_DATA_OUT, F_FINAL};
	put32(d + 16, itt);
	put32(d + 20, RESERVED);
	put32(d + 28, exp_statsn(&c));
	put32(d + 40, MRDSL);
	if (send_pdu(&c, d, g_want + MRDSL, MRDSL, true))
		return -1;
	struct write_opts o = {.corrupt_at = RESERVED, .skip_at = RESERVED};
	struct rsp r = {0};
	if (write_until_rsp(&c, itt, g_want, &o, &r))
		return -1;
	CHECK(r.status == 0, "WRITE status 0x%02x", r.status);
	CHECK(o.rejects_02 == 1 && o.first_off == MRDSL && o.first_len == MRDSL,
	      "%u Rejects 0x02, first R2T for %u bytes at %u", o.rejects_02, o.first_len,
	      o.first_off);
	struct read_state s;
	if (do_read(&c, 800, g_got, READ_LEN, RESERVED, &s))
		return -1;
	return compare(g_got, g_want, READ_LEN, "WRITE with unsolicited data recovered");
}

/* A Data-Out never sent (DataSN 1 of a sequence): a recovery R2T. */
static int case_dataout_lost(void)
{
	struct conn c;
	if (open_erl1(&c))
		return -1;
	pattern(g_want, READ_LEN, 5);
	struct write_opts o = {.corrupt_at = RESERVED, .skip_at = BURST + MRDSL};
	if (do_write(&c, 500, g_want, READ_LEN, &o))
		return -1;
	CHECK(o.recovery_r2ts == 1 && o.recovery_off == BURST + MRDSL && o.recovery_len == MRDSL,
	      "%u recovery R2Ts, last for %u bytes at %u", o.recovery_r2ts, o.recovery_len,
	      o.recovery_off);
	struct read_state s;
	if (do_read(&c, 500, g_got, READ_LEN, RESERVED, &s))
		return -1;
	return compare(g_got, g_want, READ_LEN, "WRITE recovered from a lost Data-Out");
}

/* Immediate data with a bad digest: Reject 0x02, the command is not
 * received; the same command again (same ITT and CmdSN) completes. */
static int case_immediate_digest(void)
{
	struct conn c;
	if (open_erl1(&c))
		return -1;
	pattern(g_want, READ_LEN, 6);
	uint8_t cdb[16], b[BHS_LEN];
	rw10(cdb, 0x2a, 600, 16384);
	uint32_t itt = c.itt++;
	cmd_bhs(&c, b, F_FINAL | F_WRITE, 16384, cdb, itt);
	if (send_pdu(&c, b, g_want, MRDSL, true))
		return -1;
	if (expect_reject(&c, 0x02, OP_SCSI_CMD, "immediate data with a bad digest") ||
	    expect_silence(&c, 200, "after the Reject nothing of the command"))
		return -1;
	/* A later command waits for the missing CmdSN: its TUR is answered
	 * only after the WRITE is sent again. */
	uint8_t tb[BHS_LEN], tur[16] = {0};
	uint32_t tur_itt = c.itt++;
	cmd_bhs(&c, tb, F_FINAL, 0, tur, tur_itt);
	put32(tb + 24, c.cmdsn + 1);
	if (send_pdu(&c, tb, NULL, 0, false) ||
	    expect_silence(&c, 200, "a command after the missing CmdSN"))
		return -1;
	cmd_bhs(&c, b, F_FINAL | F_WRITE, 16384, cdb, itt);
	c.cmdsn += 2;
	if (send_pdu(&c, b, g_want, MRDSL, false))
		return -1;
	struct write_opts o = {.corrupt_at = RESERVED, .skip_at = RESERVED};
	static struct pdu p;
	bool write_done = false, tur_done = false;
	for (int i = 0; i < 8 && !(write_done && tur_done); i++) {
		if (recv_pdu(&c, &p))
			return -1;
		uint8_t op = p.bhs[0] & 0x3f;
		if (op == OP_R2T) {
			if (answer_r2t(&c, &p, g_want, &o))
				return -1;
			continue;
		}
		CHECK(op == OP_SCSI_RSP && p.bhs[3] == 0, "opcode 0x%02x status 0x%02x", op,
		      p.bhs[3]);
		if (get32(p.bhs + 16) == itt)
			write_done = true;
		else if (get32(p.bhs + 16) == tur_itt)
			tur_done = true;
	}
	CHECK(write_done && tur_done, "WRITE %s, TEST UNIT READY %s", write_done ? "done" : "lost",
	      tur_done ? "done" : "lost");
	struct read_state s;
	if (do_read(&c, 600, g_got, 16384, RESERVED, &s))
		return -1;
	return compare(g_got, g_want, 16384, "WRITE sent again after a digest error");
}

/* Wall-clock milliseconds. */
static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads n R2Ts of itt (R2TSN first, first + 1, ...). */
static int read_r2ts(struct conn *c, uint32_t itt, uint32_t n, uint32_t first)
{
	static struct pdu p;
	for (uint32_t i = 0; i < n; i++) {
		CHECK(!recv_pdu(c, &p), "R2T %u of %u (R2TSN from %u) not received", i, n, first);
		CHECK((p.bhs[0] & 0x3f) == OP_R2T && get32(p.bhs + 16) == itt &&
			  get32(p.bhs + 36) == first + i,
		      "R2T %u of %u: op 0x%02x R2TSN %u", i, n, p.bhs[0] & 0x3f, get32(p.bhs + 36));
	}
	return 0;
}

#define COST_R2TS 32768u /* a 16 MiB WRITE in bursts of 512 bytes, all open */

/* An R2T SNACK costs what the open R2Ts cost, not the square of them
 * (r2t-snack-cost target: MaxOutstandingR2T 65535, bursts of 512): "all"
 * sends the 32768 open R2Ts again at once; a run longer than the R2Ts
 * that can be open is refused. */
static int case_r2t_snack_cost(void)
{
	char name[300];
	snprintf(name, sizeof(name), "%s-r2t", g_target);
	g_login_burst = 512;
	g_login_max_r2t = 65535;
	struct conn c;
	if (conn_open(&c) || login(&c, name, 1) || clear_ua(&c))
		return -1;
	uint8_t cdb[16], b[BHS_LEN];
	rw10(cdb, 0x2a, 0, COST_R2TS * 512);
	uint32_t itt = c.itt++;
	cmd_bhs(&c, b, F_FINAL | F_WRITE, COST_R2TS * 512, cdb, itt);
	c.cmdsn++;
	if (send_pdu(&c, b, NULL, 0, false) || read_r2ts(&c, itt, COST_R2TS, 0))
		return -1;
	uint64_t t0 = now_ms();
	if (send_snack(&c, 0, itt, RESERVED, 0, 0) || read_r2ts(&c, itt, COST_R2TS, 0))
		return -1;
	uint64_t took = now_ms() - t0;
	CHECK(took < 1500, "an R2T SNACK for %u open R2Ts took %llu ms", COST_R2TS,
	      (unsigned long long)took);
	/* From R2TSN 1, one more than can be open (none was answered). */
	if (send_snack(&c, 0, itt, RESERVED, 1, COST_R2TS) ||
	    expect_reject(&c, 0x04, OP_SNACK, "R2T SNACK run past the R2Ts sent"))
		return -1;
	close(c.fd);
	return 0;
}

/* An R2T lost: an R2T SNACK brings it back as it was; one for an R2TSN
 * not sent, or already answered, is refused. */
static int case_r2t_snack(void)
{
	struct conn c;
	if (open_erl1(&c))
		return -1;
	pattern(g_want, READ_LEN, 7);
	uint8_t cdb[16], b[BHS_LEN];
	rw10(cdb, 0x2a, 700, READ_LEN);
	uint32_t itt = c.itt++;
	cmd_bhs(&c, b, F_FINAL | F_WRITE, READ_LEN, cdb, itt);
	c.cmdsn++;
	static struct pdu lost, p;
	if (send_pdu(&c, b, NULL, 0, false) || recv_pdu(&c, &lost))
		return -1;
	CHECK((lost.bhs[0] & 0x3f) == OP_R2T && get32(lost.bhs + 36) == 0, "no R2T 0");
	if (send_snack(&c, 0, itt, RESERVED, 1, 1) ||
	    expect_reject(&c, 0x04, OP_SNACK, "R2T SNACK for an R2TSN not sent"))
		return -1;
	if (send_snack(&c, 0, itt, RESERVED, 0, 1) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_R2T && !memcmp(p.bhs + 16, lost.bhs + 16, 8) &&
		  !memcmp(p.bhs + 36, lost.bhs + 36, 12),
	      "R2T SNACK: op 0x%02x TTT 0x%x R2TSN %u offset %u length %u", p.bhs[0] & 0x3f,
	      get32(p.bhs + 20), get32(p.bhs + 36), get32(p.bhs + 40), get32(p.bhs + 44));
	struct write_opts o = {.corrupt_at = RESERVED, .skip_at = RESERVED};
	if (answer_r2t(&c, &p, g_want, &o) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_R2T && get32(p.bhs + 36) == 1, "no R2T 1");
	/* R2T 0 has been answered: acknowledged. */
	if (send_snack(&c, 0, itt, RESERVED, 0, 1) ||
	    expect_reject(&c, 0x04, OP_SNACK, "R2T SNACK for an answered R2T"))
		return -1;
	struct rsp r = {0};
	if (answer_r2t(&c, &p, g_want, &o) || write_until_rsp(&c, itt, g_want, &o, &r))
		return -1;
	CHECK(r.status == 0, "WRITE status 0x%02x", r.status);
	struct read_state s;
	if (do_read(&c, 700, g_got, READ_LEN, RESERVED, &s))
		return -1;
	return compare(g_got, g_want, READ_LEN, "WRITE after an R2T SNACK");
}

/* SNACKs with fields that break the rules. */
static int case_bad_snacks(void)
{
	struct conn c;
	struct read_state s;
	if (open_erl1(&c))
		return -1;
	c.hold_ack = true;
	c.held_ack = c.statsn_next;
	if (do_read(&c, 0, g_got, READ_LEN, RESERVED, &s))
		return -1;
	static const struct {
		uint8_t type;
		uint32_t itt, ttt, beg, run;
		uint8_t reason;
		const char *what;
	} bad[] = {
	    {0, 0x7777, RESERVED, 0, 1, 0x09, "Data SNACK for an unknown ITT"},
	    {0, RESERVED, RESERVED, 0, 1, 0x09, "Data SNACK with the reserved ITT"},
	    {0, 0, 0x55, 0, 1, 0x09, "Data SNACK with a TTT"},
	    {0, 0, RESERVED, 8, 1, 0x04, "Data SNACK for a DataSN not sent"},
	    {0, 0, RESERVED, 6, 3, 0x04, "Data SNACK running past the last DataSN"},
	    {0, 0, RESERVED, 2, 0xffffffffu, 0x04, "Data SNACK with a huge RunLength"},
	    {1, 0, RESERVED, 0, 0, 0x09, "Status SNACK with an ITT"},
	    {3, 0, 0, 0, 0, 0x09, "R-Data SNACK with SNACK Tag 0"},
	    {3, 0, RESERVED, 0, 0, 0x09, "R-Data SNACK with SNACK Tag 0xffffffff"},
	    {3, 0, 0x99, 1, 0, 0x09, "R-Data SNACK with a BegRun"},
	    {7, 0, RESERVED, 0, 0, 0x09, "SNACK of type 7"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t itt = bad[i].itt == 0 ? s.itt : bad[i].itt;
		if (send_snack(&c, bad[i].type, itt, bad[i].ttt, bad[i].beg, bad[i].run) ||
		    expect_reject(&c, bad[i].reason, OP_SNACK, bad[i].what))
			return -1;
	}
	/* A SNACK with a data segment. */
	uint8_t b[BHS_LEN] = {OP_SNACK, F_FINAL};
	put32(b + 16, s.itt);
	put32(b + 20, RESERVED);
	uint8_t junk[8] = {1};
	if (send_pdu(&c, b, junk, sizeof(junk), false) ||
	    expect_reject(&c, 0x09, OP_SNACK, "SNACK with a data segment"))
		return -1;
	/* The session still works and still resends. */
	static struct pdu p;
	if (send_snack(&c, 0, s.itt, RESERVED, 0, 1) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_DATA_IN && get32(p.bhs + 36) == 0, "no Data-In after");
	return 0;
}

/* Retention is bounded: reads nobody acknowledges lose their data past
 * half the session's memory (MaxSessionMemory 4 MiB), then their status
 * past 2 x QueuedCommands (at least 64) tasks; SNACKs for them: 0x03. */
static int case_retention_bound(void)
{
	struct conn c;
	struct read_state first, s;
	static uint8_t big[256 * 1024];
	if (open_erl1(&c))
		return -1;
	c.hold_ack = true;
	c.held_ack = c.statsn_next;
	if (do_read(&c, 0, big, sizeof(big), RESERVED, &first))
		return -1;
	for (int i = 0; i < 11; i++)
		if (do_read(&c, 0, big, sizeof(big), RESERVED, &s))
			return -1;
	static struct pdu p;
	if (send_snack(&c, 0, first.itt, RESERVED, 0, 1) ||
	    expect_reject(&c, 0x03, OP_SNACK, "Data SNACK for data released by the bound"))
		return -1;
	if (send_snack(&c, 1, RESERVED, RESERVED, first.rsp.statsn, 1) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_SCSI_RSP && get32(p.bhs + 24) == first.rsp.statsn,
	      "the status of a read whose data was released: op 0x%02x", p.bhs[0] & 0x3f);
	if (send_snack(&c, 0, s.itt, RESERVED, 0, 1) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_DATA_IN, "the newest read lost its data");
	for (int i = 0; i < 64; i++) {
		uint8_t cdb[16] = {0}, b[BHS_LEN];
		cmd_bhs(&c, b, F_FINAL, 0, cdb, c.itt++);
		c.cmdsn++;
		if (send_pdu(&c, b, NULL, 0, false) || recv_pdu(&c, &p))
			return -1;
		CHECK((p.bhs[0] & 0x3f) == OP_SCSI_RSP, "TEST UNIT READY %d: op 0x%02x", i,
		      p.bhs[0] & 0x3f);
	}
	if (send_snack(&c, 1, RESERVED, RESERVED, first.rsp.statsn, 1) ||
	    expect_reject(&c, 0x03, OP_SNACK, "Status SNACK for a status released by the bound"))
		return -1;
	if (send_snack(&c, 1, RESERVED, RESERVED, get32(p.bhs + 24), 1) || recv_pdu(&c, &p))
		return -1;
	CHECK((p.bhs[0] & 0x3f) == OP_SCSI_RSP, "the newest status was not kept");
	return 0;
}

/* A target left at the default negotiates ERL 0: no A bit, SNACK Rejected
 * with 0x04 as always. */
static int case_erl0(void)
{
	struct conn c;
	char name[512];
	snprintf(name, sizeof(name), "%s-erl0", g_target);
	if (conn_open(&c) || login(&c, name, 1))
		return -1;
	CHECK(c.erl == 0, "the default target negotiated ErrorRecoveryLevel %u", c.erl);
	if (clear_ua(&c))
		return -1;
	struct read_state s;
	if (do_read(&c, 0, g_got, READ_LEN, RESERVED, &s))
		return -1;
	for (uint32_t sn = 0; sn < s.npdus; sn++)
		CHECK(!s.abit[sn], "A bit at ERL 0 (DataSN %u)", sn);
	if (send_snack(&c, 0, s.itt, RESERVED, 0, 1))
		return -1;
	if (expect_reject(&c, 0x04, OP_SNACK, "SNACK at ERL 0"))
		return -1;
	/* The ERL 1 target, asked for 0, gives 0. */
	struct conn d;
	if (conn_open(&d) || login(&d, g_target, 0))
		return -1;
	CHECK(d.erl == 0, "ErrorRecoveryLevel=0 asked, %u given", d.erl);
	return 0;
}

static const struct wire_case cases[] = {
    {"data-snack", case_data_snack},
    {"status-snack", case_status_snack},
    {"status-snack-sense", case_status_snack_sense},
    {"data-ack", case_data_ack},
    {"odd-segments", case_odd_segments},
    {"r-data", case_r_data},
    {"r2t-snack", case_r2t_snack},
    {"r2t-snack-cost", case_r2t_snack_cost},
    {"dataout-digest", case_dataout_digest},
    {"dataout-lost", case_dataout_lost},
    {"unsolicited-digest", case_unsolicited_digest},
    {"immediate-digest", case_immediate_digest},
    {"bad-snacks", case_bad_snacks},
    {"retention-bound", case_retention_bound},
    {"erl0", case_erl0},
};

int main(int argc, char **argv)
{
	return wire_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), &g_host, &g_port,
			 &g_target, g_why);
}
