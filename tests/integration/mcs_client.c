/*
 * mcs_client: a raw-socket iSCSI initiator for several connections in one
 * session (MC/S) and connection recovery (ErrorRecoveryLevel 2), the paths
 * libiscsi and open-iscsi never take.  Standalone like hostile_client: its
 * own PDU builder, no daemon code.
 *
 * Usage: mcs_client --list
 *        mcs_client HOST PORT TARGET_IQN CASE
 * TARGET_IQN must allow at least 2 connections per session (MaxConnections);
 * the "one-conn" case uses TARGET_IQN-one, left at the default.
 * Prints "ok" or "error: why" and exits 0 or 1 (tests/integration/mcs.sh).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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
#define RX_TIMEOUT_S 5
#define INITIATOR "iqn.2026-11.org.uscst:mcs-client"
#define BLOCK 512u

#define OP_NOP_OUT 0x00
#define OP_SCSI_CMD 0x01
#define OP_TMF_REQ 0x02
#define OP_LOGIN_REQ 0x03
#define OP_DATA_OUT 0x05
#define OP_LOGOUT_REQ 0x06
#define OP_NOP_IN 0x20
#define OP_SCSI_RSP 0x21
#define OP_TMF_RSP 0x22
#define OP_LOGIN_RSP 0x23
#define OP_DATA_IN 0x25
#define OP_LOGOUT_RSP 0x26
#define OP_R2T 0x31
#define OP_ASYNC 0x32
#define OP_REJECT 0x3f
#define OP_IMMEDIATE 0x40
#define F_FINAL 0x80
#define F_READ 0x40
#define F_WRITE 0x20
#define RESERVED_TAG 0xffffffffu
#define ATTR_ORDERED 2

static const char *g_host, *g_port, *g_target;
static char g_why[512];

static int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failf(const char *fmt, ...)
{
	if (g_why[0])
		return -1; /* keep the first reason */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g_why, sizeof(g_why), fmt, ap);
	va_end(ap);
	return -1;
}

/* The session as the initiator sees it: one CmdSN and ITT space for all
 * of its connections. */
struct sess {
	uint8_t isid[6];
	uint16_t tsih;
	uint32_t cmdsn;
	uint32_t itt;
};

struct conn {
	int fd;
	struct sess *s;
	uint16_t cid;
	uint32_t exp_statsn;
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

static void sess_init(struct sess *s)
{
	memset(s, 0, sizeof(*s));
	s->isid[0] = 0x80; /* random qualifier format */
	s->isid[1] = 0x4d;
	static unsigned seq;
	put32(s->isid + 2, ((uint32_t)getpid() << 8) ^ ++seq);
	s->cmdsn = 1;
	s->itt = 0x100;
}

static int conn_open(struct conn *c, struct sess *s, uint16_t cid)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->s = s;
	c->cid = cid;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(g_host, g_port, &hints, &ai))
		return failf("cannot resolve %s:%s", g_host, g_port);
	int fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return failf("connect: %s", strerror(errno));
	}
	freeaddrinfo(ai);
	struct timeval tv = {.tv_sec = RX_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* A connection that dies without a Logout: the peer sees a reset. */
static void conn_kill(struct conn *c)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	conn_close(c);
}

static int send_pdu(struct conn *c, uint8_t *bhs, const void *data, uint32_t dlen)
{
	put24(bhs + 5, dlen);
	uint32_t pad = (4 - (dlen & 3)) & 3;
	size_t total = BHS_LEN + dlen + pad;
	uint8_t *buf = calloc(1, total);
	if (!buf)
		return -1;
	memcpy(buf, bhs, BHS_LEN);
	if (dlen)
		memcpy(buf + BHS_LEN, data, dlen);
	const uint8_t *p = buf;
	size_t left = total;
	while (left) {
		ssize_t n = send(c->fd, p, left, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return failf("cid %u: send failed", c->cid);
		}
		p += n;
		left -= (size_t)n;
	}
	free(buf);
	return 0;
}

enum rx { RX_OK, RX_CLOSED, RX_TIMEOUT };

static enum rx recv_all(struct conn *c, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = recv(c->fd, p, len, 0);
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

/* One PDU; the target's NOP-In pings are answered on the way. */
static enum rx recv_pdu(struct conn *c, struct pdu *p)
{
	for (;;) {
		p->data = NULL;
		p->dlen = 0;
		enum rx r = recv_all(c, p->bhs, BHS_LEN);
		if (r)
			return r;
		uint32_t ahs = p->bhs[4] * 4u, dlen = get24(p->bhs + 5);
		uint32_t body = ahs + dlen + ((4 - (dlen & 3)) & 3);
		if (body) {
			uint8_t *b = calloc(1, body + 1);
			if (!b || (r = recv_all(c, b, body))) {
				free(b);
				return r ? r : RX_CLOSED;
			}
			p->data = malloc(dlen + 1);
			memcpy(p->data, b + ahs, dlen);
			p->data[dlen] = 0;
			free(b);
			p->dlen = dlen;
		}
		uint8_t op = p->bhs[0] & 0x3f;
		if (op != OP_LOGIN_RSP && op != OP_DATA_IN && op != OP_R2T)
			c->exp_statsn = get32(p->bhs + 24) + 1;
		if (op == OP_DATA_IN && (p->bhs[1] & 0x01)) /* status in the Data-In */
			c->exp_statsn = get32(p->bhs + 24) + 1;
		if (op == OP_NOP_IN && get32(p->bhs + 20) != RESERVED_TAG) {
			uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
			memcpy(b + 8, p->bhs + 8, 8);
			put32(b + 16, RESERVED_TAG);
			memcpy(b + 20, p->bhs + 20, 4);
			put32(b + 24, c->s->cmdsn);
			put32(b + 28, c->exp_statsn);
			pdu_free(p);
			if (send_pdu(c, b, NULL, 0))
				return RX_CLOSED;
			continue;
		}
		if (op == OP_NOP_IN) { /* a window update: nothing to do */
			pdu_free(p);
			continue;
		}
		return RX_OK;
	}
}

/* Whether a PDU is waiting on c within ms. */
static bool readable(struct conn *c, int ms)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	return poll(&pfd, 1, ms) > 0;
}

/* True if the target closes c (PDUs before the close are skipped). */
static bool wait_closed(struct conn *c)
{
	for (int i = 0; i < 16; i++) {
		struct pdu p;
		enum rx r = recv_pdu(c, &p);
		pdu_free(&p);
		if (r == RX_CLOSED)
			return true;
		if (r == RX_TIMEOUT)
			return false;
	}
	return false;
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

struct keys {
	char buf[4096];
	uint32_t len;
};

static void key_add(struct keys *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void key_add(struct keys *k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(k->buf + k->len, sizeof(k->buf) - k->len, fmt, ap);
	va_end(ap);
	if (n > 0 && k->len + (uint32_t)n + 1 <= sizeof(k->buf))
		k->len += (uint32_t)n + 1;
}

struct login_opts {
	const char *target;	/* NULL: g_target */
	unsigned max_conns;	/* leading: MaxConnections to offer (0: not offered) */
	unsigned erl;		/* leading: ErrorRecoveryLevel */
	unsigned time2retain;	/* leading: DefaultTime2Retain */
	bool initial_r2t;	/* leading: InitialR2T=Yes, ImmediateData=No */
	bool header_digest;	/* HeaderDigest=CRC32C (this connection) */
	char got_max_conns[16]; /* the target's answers */
	char got_time2wait[16];
	char got_hdigest[16];
	char got_erl[16];
	char got_time2retain[16];
};

static void login_bhs(struct conn *c, uint8_t *b)
{
	memset(b, 0, BHS_LEN);
	b[0] = OP_LOGIN_REQ | OP_IMMEDIATE;
	b[1] = F_FINAL | (1 << 2) | 3; /* operational -> full feature */
	memcpy(b + 8, c->s->isid, 6);
	put16(b + 14, c->s->tsih);
	put32(b + 16, c->s->itt++);
	put16(b + 20, c->cid);
	put32(b + 24, c->s->cmdsn);
	put32(b + 28, c->exp_statsn);
}

/* Logs c in (leading if its session has no TSIH yet).  0, the Login
 * status the target refused with, or -1. */
static int login(struct conn *c, struct login_opts *o)
{
	bool leading = c->s->tsih == 0;
	struct keys k = {.len = 0};
	key_add(&k, "InitiatorName=%s", INITIATOR);
	key_add(&k, "TargetName=%s", o->target ? o->target : g_target);
	key_add(&k, "SessionType=Normal");
	key_add(&k, "HeaderDigest=%s", o->header_digest ? "CRC32C" : "None");
	key_add(&k, "DataDigest=None");
	key_add(&k, "MaxRecvDataSegmentLength=65536");
	if (leading) {
		if (o->max_conns)
			key_add(&k, "MaxConnections=%u", o->max_conns);
		key_add(&k, "ErrorRecoveryLevel=%u", o->erl);
		key_add(&k, "DefaultTime2Retain=%u", o->time2retain);
		key_add(&k, "DefaultTime2Wait=0");
		key_add(&k, "InitialR2T=%s", o->initial_r2t ? "Yes" : "No");
		key_add(&k, "ImmediateData=%s", o->initial_r2t ? "No" : "Yes");
		key_add(&k, "FirstBurstLength=65536");
		key_add(&k, "MaxBurstLength=262144");
	}
	uint8_t b[BHS_LEN];
	login_bhs(c, b);
	if (send_pdu(c, b, k.buf, k.len))
		return -1;
	for (int round = 0; round < 6; round++) {
		struct pdu p;
		enum rx r = recv_pdu(c, &p);
		if (r)
			return failf("cid %u login: no response (%s)", c->cid,
				     r == RX_CLOSED ? "closed" : "timeout");
		if ((p.bhs[0] & 0x3f) != OP_LOGIN_RSP) {
			pdu_free(&p);
			return failf("cid %u login: not a Login Response", c->cid);
		}
		uint16_t status = get16(p.bhs + 36);
		c->exp_statsn = get32(p.bhs + 24) + 1;
		if (status) {
			pdu_free(&p);
			return status;
		}
		key_find(&p, "MaxConnections", o->got_max_conns, sizeof(o->got_max_conns));
		key_find(&p, "ErrorRecoveryLevel", o->got_erl, sizeof(o->got_erl));
		key_find(&p, "DefaultTime2Retain", o->got_time2retain, sizeof(o->got_time2retain));
		key_find(&p, "DefaultTime2Wait", o->got_time2wait, sizeof(o->got_time2wait));
		key_find(&p, "HeaderDigest", o->got_hdigest, sizeof(o->got_hdigest));
		if ((p.bhs[1] & F_FINAL) && (p.bhs[1] & 3) == 3) {
			uint16_t tsih = get16(p.bhs + 14);
			if (!leading && tsih != c->s->tsih) {
				pdu_free(&p);
				return failf("cid %u login: TSIH %u, not the session's %u", c->cid,
					     tsih, c->s->tsih);
			}
			c->s->tsih = tsih;
			if (leading)
				c->s->cmdsn = get32(p.bhs + 28);
			pdu_free(&p);
			return 0;
		}
		/* The target offered keys: accept them as they are. */
		struct keys k2 = {.len = 0};
		for (uint32_t i = 0; i < p.dlen;) {
			const char *s = (const char *)p.data + i;
			size_t n = strnlen(s, p.dlen - i);
			if (n && !strstr(s, "MaxRecvDataSegmentLength") &&
			    !strstr(s, "TargetPortalGroupTag") && !strstr(s, "=Irrelevant") &&
			    !strstr(s, "=NotUnderstood"))
				key_add(&k2, "%s", s);
			i += (uint32_t)n + 1;
		}
		pdu_free(&p);
		login_bhs(c, b);
		if (send_pdu(c, b, k2.buf, k2.len))
			return -1;
	}
	return failf("cid %u login: no full feature phase", c->cid);
}

static int tur_clear_ua(struct conn *c);

/* A leading login; the new nexus's unit attention (power on, reset) is
 * taken by a TEST UNIT READY, so that later commands get GOOD. */
static int login_ok(struct conn *c, struct login_opts *o)
{
	int rc = login(c, o);
	if (rc > 0)
		return failf("cid %u login refused with status 0x%04x", c->cid, rc);
	return rc ? rc : tur_clear_ua(c);
}

/* Opens a connection and logs it in; expects status `want` (0: success). */
static int add_conn(struct conn *c, struct sess *s, uint16_t cid, struct login_opts *o,
		    uint16_t want)
{
	if (conn_open(c, s, cid))
		return -1;
	int rc = login(c, o);
	if (rc < 0)
		return -1;
	if (rc != want)
		return failf("cid %u login: status 0x%04x, expected 0x%04x", cid, rc, want);
	return 0;
}

/* --- SCSI --- */

struct cmd {
	uint32_t itt, cmdsn;
	uint8_t status;
	bool done;
	uint8_t *in;
	uint32_t in_len;
	uint32_t r2t_ttt, r2t_off, r2t_len; /* the last R2T */
	bool got_r2t;
};

static void cmd_send_hdr(struct conn *c, struct cmd *k, uint8_t flags, uint32_t edtl,
			 const uint8_t *cdb, const void *imm, uint32_t imm_len, bool advance)
{
	uint8_t b[BHS_LEN] = {OP_SCSI_CMD};
	b[1] = flags | F_FINAL | (flags & 7 ? 0 : 1); /* SIMPLE unless an ATTR is given */
	k->itt = c->s->itt++;
	k->cmdsn = c->s->cmdsn;
	if (advance)
		c->s->cmdsn++;
	put32(b + 16, k->itt);
	put32(b + 20, edtl);
	put32(b + 24, k->cmdsn);
	put32(b + 28, c->exp_statsn);
	memcpy(b + 32, cdb, 10);
	send_pdu(c, b, imm, imm_len);
}

static void rw10_cdb(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	put32(cdb + 2, lba);
	put16(cdb + 7, blocks);
}

/* Reads PDUs of c until k ends (or an R2T for k comes, if stop_at_r2t). */
static int cmd_wait(struct conn *c, struct cmd *k, bool stop_at_r2t)
{
	for (;;) {
		struct pdu p;
		enum rx r = recv_pdu(c, &p);
		if (r)
			return failf("cid %u: no answer to ITT 0x%x (%s)", c->cid, k->itt,
				     r == RX_CLOSED ? "closed" : "timeout");
		uint8_t op = p.bhs[0] & 0x3f;
		uint32_t itt = get32(p.bhs + 16);
		if (itt != k->itt) {
			pdu_free(&p);
			return failf("cid %u: PDU 0x%02x for ITT 0x%x while waiting for 0x%x",
				     c->cid, op, itt, k->itt);
		}
		if (op == OP_DATA_IN) {
			uint32_t off = get32(p.bhs + 40);
			if (off + p.dlen > k->in_len) {
				pdu_free(&p);
				return failf("Data-In beyond the buffer");
			}
			memcpy(k->in + off, p.data, p.dlen);
			bool status = p.bhs[1] & 0x01;
			if (status) {
				k->status = p.bhs[3];
				k->done = true;
			}
			pdu_free(&p);
			if (status)
				return 0;
			continue;
		}
		if (op == OP_SCSI_RSP) {
			k->status = p.bhs[3];
			k->done = true;
			pdu_free(&p);
			return 0;
		}
		if (op == OP_R2T) {
			k->got_r2t = true;
			k->r2t_ttt = get32(p.bhs + 20);
			k->r2t_off = get32(p.bhs + 40);
			k->r2t_len = get32(p.bhs + 44);
			pdu_free(&p);
			if (stop_at_r2t)
				return 0;
			continue;
		}
		pdu_free(&p);
		return failf("cid %u: unexpected opcode 0x%02x for ITT 0x%x", c->cid, op, k->itt);
	}
}

static int send_data_out(struct conn *c, uint32_t itt, uint32_t ttt, uint32_t datasn, uint32_t off,
			 const uint8_t *data, uint32_t len, bool final)
{
	uint8_t b[BHS_LEN] = {OP_DATA_OUT};
	b[1] = final ? F_FINAL : 0;
	put32(b + 16, itt);
	put32(b + 20, ttt);
	put32(b + 28, c->exp_statsn);
	put32(b + 36, datasn);
	put32(b + 40, off);
	return send_pdu(c, b, data, len);
}

/* Answers every R2T of a WRITE from buf until its status. */
static int write_answer_r2ts(struct conn *c, struct cmd *k, const uint8_t *buf)
{
	while (!k->done) {
		if (k->got_r2t) {
			k->got_r2t = false;
			if (send_data_out(c, k->itt, k->r2t_ttt, 0, k->r2t_off, buf + k->r2t_off,
					  k->r2t_len, true))
				return -1;
		}
		if (cmd_wait(c, k, true))
			return -1;
	}
	return k->status ? failf("WRITE status 0x%02x", k->status) : 0;
}

/* WRITE(10) of blocks at lba from buf (immediate data, or R2Ts). */
static int write10(struct conn *c, uint32_t lba, uint16_t blocks, const uint8_t *buf, bool imm)
{
	uint8_t cdb[16];
	rw10_cdb(cdb, 0x2a, lba, blocks);
	struct cmd k = {0};
	uint32_t len = blocks * BLOCK;
	cmd_send_hdr(c, &k, F_WRITE, len, cdb, imm ? buf : NULL, imm ? len : 0, true);
	if (cmd_wait(c, &k, true))
		return -1;
	return write_answer_r2ts(c, &k, buf);
}

static int read10(struct conn *c, uint32_t lba, uint16_t blocks, uint8_t *buf)
{
	uint8_t cdb[16];
	rw10_cdb(cdb, 0x28, lba, blocks);
	struct cmd k = {.in = buf, .in_len = blocks * BLOCK};
	cmd_send_hdr(c, &k, F_READ, k.in_len, cdb, NULL, 0, true);
	if (cmd_wait(c, &k, false))
		return -1;
	return k.status ? failf("READ status 0x%02x", k.status) : 0;
}

static int tur_clear_ua(struct conn *c)
{
	uint8_t cdb[16] = {0};
	for (int i = 0; i < 3; i++) {
		struct cmd k = {0};
		cmd_send_hdr(c, &k, 0, 0, cdb, NULL, 0, true);
		if (cmd_wait(c, &k, false))
			return -1;
		if (k.status == 0)
			return 0;
	}
	return failf("TEST UNIT READY keeps failing");
}

static void pattern(uint8_t *buf, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

/* Writes a pattern on w and reads it back on r. */
static int write_read_across(struct conn *w, struct conn *r, uint32_t lba, uint32_t seed)
{
	uint8_t out[8 * BLOCK], in[8 * BLOCK];
	pattern(out, sizeof(out), seed);
	if (write10(w, lba, 8, out, true) || read10(r, lba, 8, in))
		return -1;
	if (memcmp(out, in, sizeof(in)))
		return failf("data written on cid %u read back different on cid %u", w->cid,
			     r->cid);
	return 0;
}

/* Logout of cid `which` sent on c; returns the Logout Response's response
 * code, or -1. */
static int logout(struct conn *c, uint8_t reason, uint16_t which)
{
	uint8_t b[BHS_LEN] = {OP_LOGOUT_REQ | OP_IMMEDIATE};
	b[1] = F_FINAL | reason;
	put32(b + 16, c->s->itt++);
	put16(b + 20, which);
	put32(b + 24, c->s->cmdsn);
	put32(b + 28, c->exp_statsn);
	if (send_pdu(c, b, NULL, 0))
		return -1;
	struct pdu p;
	if (recv_pdu(c, &p))
		return failf("cid %u: no Logout Response", c->cid);
	int op = p.bhs[0] & 0x3f, rsp = p.bhs[2];
	pdu_free(&p);
	if (op != OP_LOGOUT_RSP)
		return failf("cid %u: opcode 0x%02x instead of a Logout Response", c->cid, op);
	return rsp;
}

/* --- cases --- */

/* Two connections; commands alternate between them in CmdSN order, each
 * write read back on the other one.  Then a READ sent first on B with the
 * next-but-one CmdSN must wait for the WRITE with the CmdSN before it,
 * sent afterwards on A: one CmdSN order for the session. */
static int case_two_conns(void)
{
	struct sess s;
	struct conn a, b;
	struct login_opts o = {.max_conns = 4};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o))
		return -1;
	if (strcmp(o.got_max_conns, "4"))
		return failf("MaxConnections=4 answered '%s'", o.got_max_conns);
	struct login_opts o2 = {0};
	if (add_conn(&b, &s, 1, &o2, 0))
		return -1;
	for (uint32_t i = 0; i < 6; i++)
		if (write_read_across(i & 1 ? &b : &a, i & 1 ? &a : &b, 100 + i * 8, i))
			return -1;
	/* The READ (CmdSN n+1) on b before the WRITE (CmdSN n) on a; ORDERED,
	 * so that it also completes after the WRITE. */
	uint8_t out[4 * BLOCK], in[4 * BLOCK];
	pattern(out, sizeof(out), 77);
	uint8_t cdb[16];
	struct cmd w = {0}, r = {.in = in, .in_len = sizeof(in)};
	uint32_t n = s.cmdsn;
	s.cmdsn = n + 1;
	rw10_cdb(cdb, 0x28, 300, 4);
	cmd_send_hdr(&b, &r, F_READ | ATTR_ORDERED, sizeof(in), cdb, NULL, 0, false);
	if (readable(&b, 300))
		return failf("the READ with CmdSN %u ran before CmdSN %u arrived", n + 1, n);
	s.cmdsn = n;
	rw10_cdb(cdb, 0x2a, 300, 4);
	cmd_send_hdr(&a, &w, F_WRITE, sizeof(out), cdb, out, sizeof(out), false);
	s.cmdsn = n + 2;
	if (cmd_wait(&a, &w, false) || w.status)
		return failf("%s", g_why[0] ? g_why : "WRITE failed");
	if (cmd_wait(&b, &r, false) || r.status)
		return failf("%s", g_why[0] ? g_why : "READ failed");
	if (memcmp(in, out, sizeof(in)))
		return failf("the READ on cid 1 did not see the WRITE before it in CmdSN order");
	if (logout(&b, 1, 1) != 0 || logout(&a, 0, 0) != 0)
		return failf("%s", g_why[0] ? g_why : "logout refused");
	conn_close(&a);
	conn_close(&b);
	return 0;
}

/* Sixteen WRITEs in flight at once, the even CmdSNs on one connection
 * and the odd ones on the other, each connection sending its own from
 * the newest to the oldest: every one waits for its turn in the session's
 * one CmdSN order, all complete, each on its own connection, and the data
 * reads back. */
static int case_interleave(void)
{
	enum { N = 16, BLOCKS = 2 };
	struct sess s;
	struct conn a, b;
	struct login_opts o = {.max_conns = 2}, o2 = {0};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o) || add_conn(&b, &s, 1, &o2, 0))
		return -1;
	static uint8_t out[N][BLOCKS * BLOCK], in[BLOCKS * BLOCK];
	struct cmd w[N];
	uint32_t base = s.cmdsn;
	uint8_t cdb[16];
	for (int k = N - 1; k >= 0; k--) {
		struct conn *c = k % 2 ? &b : &a;
		pattern(out[k], sizeof(out[k]), 100 + (uint32_t)k);
		rw10_cdb(cdb, 0x2a, 2000 + (uint32_t)k * BLOCKS, BLOCKS);
		memset(&w[k], 0, sizeof(w[k]));
		s.cmdsn = base + (uint32_t)k;
		cmd_send_hdr(c, &w[k], F_WRITE, sizeof(out[k]), cdb, out[k], sizeof(out[k]), false);
	}
	s.cmdsn = base + N;
	/* Each connection answers its own commands; their order within it
	 * is the target's (SIMPLE tasks), so take them as they come. */
	for (int side = 0; side < 2; side++) {
		struct conn *c = side ? &b : &a;
		for (int got = 0; got < N / 2; got++) {
			struct pdu p;
			if (recv_pdu(c, &p))
				return failf("cid %u: %d of %d WRITEs answered", c->cid, got,
					     N / 2);
			uint32_t itt = get32(p.bhs + 16);
			int op = p.bhs[0] & 0x3f, status = p.bhs[3];
			pdu_free(&p);
			int k = -1;
			for (int i = 0; i < N; i++)
				if (w[i].itt == itt && i % 2 == side)
					k = i;
			if (op != OP_SCSI_RSP || k < 0 || w[k].done || status)
				return failf(
				    "cid %u: opcode 0x%02x ITT 0x%x status 0x%02x: not the "
				    "answer of one of its WRITEs",
				    c->cid, op, itt, status);
			w[k].done = true;
		}
	}
	for (int k = 0; k < N; k++) {
		if (read10(k % 2 ? &a : &b, 2000 + (uint32_t)k * BLOCKS, BLOCKS, in))
			return -1;
		if (memcmp(in, out[k], sizeof(in)))
			return failf("WRITE %d read back different", k);
	}
	conn_close(&a);
	conn_close(&b);
	return 0;
}

/* A connection added with a TSIH no session has, or with the ISID of
 * another session: 02/0A Session does not exist. */
static int case_wrong_tsih(void)
{
	struct sess s, other;
	struct conn a, b;
	struct login_opts o = {.max_conns = 2};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o))
		return -1;
	other = s;
	other.tsih = (uint16_t)(s.tsih + 1000);
	struct login_opts o2 = {0};
	if (add_conn(&b, &other, 1, &o2, 0x020a))
		return -1;
	if (!wait_closed(&b))
		return failf("refused connection not closed");
	conn_close(&b);
	sess_init(&other);
	other.tsih = s.tsih; /* the TSIH, another ISID */
	if (add_conn(&b, &other, 1, &o2, 0x020a))
		return -1;
	conn_close(&b);
	/* The session is unharmed. */
	struct conn c;
	if (add_conn(&c, &s, 1, &o2, 0) || write_read_across(&a, &c, 40, 3))
		return -1;
	conn_close(&c);
	conn_close(&a);
	return 0;
}

/* A connection through another portal group of the target (MCS_PORTAL2,
 * "HOST:PORT", in portal group 2): a session's connections all end in one
 * portal group (RFC 7143 4.4.1), so 02/08 Can't include in session. */
static int case_other_portal_group(void)
{
	const char *portal2 = getenv("MCS_PORTAL2");
	char host2[64];
	const char *colon = portal2 ? strrchr(portal2, ':') : NULL;
	if (!colon || (size_t)(colon - portal2) >= sizeof(host2))
		return failf("MCS_PORTAL2 (HOST:PORT of portal group 2) is not set");
	snprintf(host2, sizeof(host2), "%.*s", (int)(colon - portal2), portal2);
	struct sess s;
	struct conn a, b;
	struct login_opts o = {.max_conns = 2}, o2 = {0};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o))
		return -1;
	const char *host = g_host, *port = g_port;
	g_host = host2;
	g_port = colon + 1;
	int rc = add_conn(&b, &s, 1, &o2, 0x0208);
	g_host = host;
	g_port = port;
	if (rc)
		return -1;
	conn_close(&b);
	/* Through the session's own portal group it joins. */
	if (add_conn(&b, &s, 1, &o2, 0) || write_read_across(&a, &b, 20, 11))
		return -1;
	conn_close(&b);
	conn_close(&a);
	return 0;
}

/* MaxConnections=2: a third connection gets 02/06 Too many connections,
 * and the two keep working. */
static int case_max_conns(void)
{
	struct sess s;
	struct conn a, b, c;
	struct login_opts o = {.max_conns = 2}, o2 = {0};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o) || add_conn(&b, &s, 1, &o2, 0))
		return -1;
	if (add_conn(&c, &s, 2, &o2, 0x0206))
		return -1;
	conn_close(&c);
	if (write_read_across(&b, &a, 60, 5))
		return -1;
	conn_close(&a);
	conn_close(&b);
	return 0;
}

/* An initiator that asks for one connection (or says nothing) gets one. */
static int case_one_conn(void)
{
	char one[256];
	snprintf(one, sizeof(one), "%s-one", g_target);
	struct sess s;
	struct conn a, b;
	/* A target left at MaxConnections 1, whatever we offer. */
	struct login_opts o = {.target = one, .max_conns = 4}, o2 = {.target = one};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o))
		return -1;
	if (strcmp(o.got_max_conns, "1"))
		return failf("target %s: MaxConnections=4 answered '%s'", one, o.got_max_conns);
	if (add_conn(&b, &s, 1, &o2, 0x0206))
		return -1;
	conn_close(&b);
	conn_close(&a);
	/* Our target, and the initiator asks for 1. */
	struct login_opts o3 = {.max_conns = 1};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o3))
		return -1;
	if (strcmp(o3.got_max_conns, "1"))
		return failf("MaxConnections=1 answered '%s'", o3.got_max_conns);
	struct login_opts o4 = {0};
	if (add_conn(&b, &s, 1, &o4, 0x0206))
		return -1;
	conn_close(&b);
	uint8_t buf[BLOCK];
	if (read10(&a, 0, 1, buf))
		return -1;
	conn_close(&a);
	return 0;
}

/* Logout of one connection: "close the connection" on itself and from the
 * other one, an unknown CID (response 1), "remove for recovery" at ERL 0
 * (response 2); the other connection keeps working throughout. */
static int case_logout_one(void)
{
	struct sess s;
	struct conn a, b;
	struct login_opts o = {.max_conns = 2}, o2 = {0};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o) || add_conn(&b, &s, 1, &o2, 0))
		return -1;
	int rc = logout(&b, 1, 1);
	if (rc != 0)
		return failf("logout of cid 1 on itself: response %d", rc);
	if (!wait_closed(&b))
		return failf("cid 1 not closed after its logout");
	conn_close(&b);
	uint8_t buf[BLOCK];
	if (read10(&a, 0, 1, buf))
		return -1;
	/* Again, from the other connection this time. */
	if (add_conn(&b, &s, 1, &o2, 0))
		return -1;
	rc = logout(&a, 1, 1);
	if (rc != 0)
		return failf("logout of cid 1 on cid 0: response %d", rc);
	if (!wait_closed(&b))
		return failf("cid 1 not closed after a logout of it on cid 0");
	conn_close(&b);
	rc = logout(&a, 1, 7);
	if (rc != 1)
		return failf("logout of unknown cid 7: response %d, expected 1", rc);
	rc = logout(&a, 2, 0);
	if (rc != 2)
		return failf("remove for recovery at ERL 0: response %d, expected 2", rc);
	if (write_read_across(&a, &a, 80, 9))
		return -1;
	/* A login with the CID of a live connection replaces it (6.3.4). */
	if (add_conn(&b, &s, 1, &o2, 0))
		return -1;
	struct conn b2;
	if (add_conn(&b2, &s, 1, &o2, 0))
		return -1;
	if (!wait_closed(&b))
		return failf("cid 1 not closed when a new login took its CID");
	conn_close(&b);
	if (write_read_across(&b2, &a, 88, 10))
		return -1;
	conn_close(&b2);
	conn_close(&a);
	return 0;
}

/* ErrorRecoveryLevel 0: a connection dies with a command still waiting
 * for an older CmdSN; its commands end with it, and the other connection's
 * commands after that CmdSN do not wait for it for ever. */
static int case_conn_dies_erl0(void)
{
	struct sess s;
	struct conn a, b;
	struct login_opts o = {.max_conns = 2}, o2 = {0};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o) || add_conn(&b, &s, 1, &o2, 0))
		return -1;
	uint8_t cdb[16], in[BLOCK];
	uint32_t n = s.cmdsn;
	struct cmd r = {.in = in, .in_len = sizeof(in)};
	rw10_cdb(cdb, 0x28, 0, 1);
	s.cmdsn = n + 1; /* before CmdSN n: it waits */
	cmd_send_hdr(&b, &r, F_READ, sizeof(in), cdb, NULL, 0, false);
	usleep(100000);
	conn_kill(&b);
	usleep(200000);
	s.cmdsn = n;
	if (tur_clear_ua(&a)) /* CmdSN n */
		return -1;
	s.cmdsn = n + 2;
	if (read10(&a, 0, 1, in)) /* CmdSN n + 2: runs once n + 1 is passed */
		return failf("%s (after a connection died with CmdSN %u waiting)", g_why, n + 1);
	conn_close(&a);
	return 0;
}

/* --- connection recovery (ErrorRecoveryLevel 2) --- */

#define TMF_TASK_REASSIGN 8

/* TASK REASSIGN of ITT rtt sent on c; the TMF response code, or -1. */
static int task_reassign(struct conn *c, uint32_t rtt, uint32_t ref_cmdsn, uint32_t exp_datasn)
{
	uint8_t b[BHS_LEN] = {OP_TMF_REQ | OP_IMMEDIATE};
	b[1] = F_FINAL | TMF_TASK_REASSIGN;
	uint32_t itt = c->s->itt++;
	put32(b + 16, itt);
	put32(b + 20, rtt);
	put32(b + 24, c->s->cmdsn);
	put32(b + 28, c->exp_statsn);
	put32(b + 32, ref_cmdsn);
	put32(b + 36, exp_datasn);
	if (send_pdu(c, b, NULL, 0))
		return -1;
	struct pdu p;
	if (recv_pdu(c, &p))
		return failf("cid %u: no TMF response to TASK REASSIGN", c->cid);
	int op = p.bhs[0] & 0x3f, rsp = p.bhs[2];
	uint32_t got_itt = get32(p.bhs + 16);
	pdu_free(&p);
	if (op != OP_TMF_RSP || got_itt != itt)
		return failf("cid %u: opcode 0x%02x ITT 0x%x instead of the TMF response", c->cid,
			     op, got_itt);
	return rsp;
}

/* A WRITE of 64 blocks at lba from out on c, stopped at its first R2T
 * with part of the data sent. */
static int write_until_r2t(struct conn *c, struct cmd *w, uint32_t lba, const uint8_t *out)
{
	uint8_t cdb[16];
	rw10_cdb(cdb, 0x2a, lba, 64);
	memset(w, 0, sizeof(*w));
	cmd_send_hdr(c, w, F_WRITE, 64 * BLOCK, cdb, NULL, 0, true);
	if (cmd_wait(c, w, true))
		return -1;
	if (!w->got_r2t || w->r2t_off != 0)
		return failf("no R2T at offset 0 for the WRITE");
	w->got_r2t = false;
	/* A part of the solicited data, without the F bit. */
	if (send_data_out(c, w->itt, w->r2t_ttt, 0, 0, out, 4096, false))
		return -1;
	usleep(100000);
	return 0;
}

static struct login_opts erl2_opts(unsigned time2retain)
{
	return (struct login_opts){
	    .max_conns = 2, .erl = 2, .time2retain = time2retain, .initial_r2t = true};
}

/* A connection killed mid-write (after an R2T, part of its data sent),
 * or (reinstate) still open; a new connection, TASK REASSIGN, the R2T
 * again there, the write completes and reads back right. */
static int erl2_reassign(bool reinstate)
{
	struct sess s;
	struct conn a, b;
	struct login_opts o = erl2_opts(10), o2 = {0};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o))
		return -1;
	if (strcmp(o.got_erl, "2"))
		return failf("ErrorRecoveryLevel=2 answered '%s'", o.got_erl);
	static uint8_t out[64 * BLOCK], in[64 * BLOCK];
	pattern(out, sizeof(out), 41);
	struct cmd w;
	if (write_until_r2t(&a, &w, 500, out))
		return -1;
	/* Its tasks may be reassigned once it is logged out for recovery
	 * (RFC 7143 6.2.2): explicitly after it failed, or (reinstate)
	 * implicitly by a login with its CID while it is still open (6.3.4). */
	if (reinstate) {
		usleep(100000);
		if (add_conn(&b, &s, 0, &o2, 0))
			return -1;
		if (!wait_closed(&a))
			return failf("the connection whose CID a new login took is still open");
	} else {
		/* Explicitly logged out for recovery from the new one. */
		conn_kill(&a);
		usleep(200000);
		if (add_conn(&b, &s, 1, &o2, 0))
			return -1;
		int rc = logout(&b, 2, 0);
		if (rc != 0)
			return failf("logout for recovery of the failed cid 0: response %d", rc);
	}
	conn_close(&a);
	int rc = task_reassign(&b, 0x7777777, w.cmdsn, 0);
	if (rc != 1)
		return failf("TASK REASSIGN of an unknown task: response %d, expected 1", rc);
	rc = task_reassign(&b, w.itt, w.cmdsn, 0);
	if (rc != 0)
		return failf("TASK REASSIGN: response %d, expected 0", rc);
	if (cmd_wait(&b, &w, true))
		return -1;
	if (!w.got_r2t || w.r2t_off != 0 || w.r2t_len != sizeof(out))
		return failf(
		    "after TASK REASSIGN: no R2T for the whole write on the new connection");
	if (write_answer_r2ts(&b, &w, out) || read10(&b, 500, 64, in))
		return -1;
	if (memcmp(in, out, sizeof(in)))
		return failf("the reassigned WRITE wrote wrong data");
	rc = task_reassign(&b, w.itt, w.cmdsn, 0);
	if (rc != 1)
		return failf("TASK REASSIGN of a finished task: response %d, expected 1", rc);
	if (logout(&b, 0, 1) != 0)
		return failf("%s", g_why[0] ? g_why : "logout refused");
	conn_close(&b);
	return 0;
}

/* A READ whose Data-In is still queued in the target when its connection
 * dies: after TASK REASSIGN with ExpDataSN 2, the Data-In from DataSN 2
 * (offset 2 x 65536, our MaxRecvDataSegmentLength on both connections)
 * and GOOD come on the new connection. */
static int case_erl2_read_resend(void)
{
	enum { BLOCKS = 16384, LEN = BLOCKS * BLOCK, SEG = 65536, EXP = 2 };
	struct sess s;
	struct conn a, b;
	struct login_opts o = erl2_opts(10), o2 = {0};
	sess_init(&s);
	if (conn_open(&a, &s, 0))
		return -1;
	int small = 4096;
	setsockopt(a.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (login_ok(&a, &o))
		return -1;
	static uint8_t out[LEN], in[LEN];
	pattern(out, LEN, 53);
	if (write10(&a, 0, BLOCKS, out, false))
		return -1;
	uint8_t cdb[16];
	rw10_cdb(cdb, 0x28, 0, BLOCKS);
	struct cmd r = {.in = in, .in_len = LEN};
	cmd_send_hdr(&a, &r, F_READ, LEN, cdb, NULL, 0, true);
	usleep(300000); /* read from the disk, queued, not read by us */
	conn_kill(&a);
	usleep(200000);
	if (add_conn(&b, &s, 0, &o2, 0))
		return -1;
	int rc = task_reassign(&b, r.itt, r.cmdsn, EXP);
	if (rc != 0)
		return failf("TASK REASSIGN of the READ: response %d, expected 0", rc);
	struct pdu p;
	if (recv_pdu(&b, &p))
		return failf("no Data-In after TASK REASSIGN");
	uint32_t datasn = get32(p.bhs + 36), off = get32(p.bhs + 40);
	int op = p.bhs[0] & 0x3f;
	if (op == OP_DATA_IN && off + p.dlen <= LEN)
		memcpy(in + off, p.data, p.dlen);
	pdu_free(&p);
	if (op != OP_DATA_IN || datasn != EXP || off != EXP * SEG)
		return failf("first PDU after TASK REASSIGN: opcode 0x%02x DataSN %u offset %u, "
			     "expected Data-In %u at %u",
			     op, datasn, off, EXP, EXP * SEG);
	if (cmd_wait(&b, &r, false) || r.status)
		return failf("%s", g_why[0] ? g_why : "the reassigned READ failed");
	if (memcmp(in + EXP * SEG, out + EXP * SEG, LEN - EXP * SEG))
		return failf("the reassigned READ sent wrong data");
	conn_close(&b);
	return 0;
}

/* A READ answered (GOOD in its last Data-In) but never acknowledged (no
 * PDU with a higher ExpStatSN followed) when its connection dies: ERL 1
 * kept it, so after TASK REASSIGN its data and status come again on the
 * new connection. */
static int case_erl2_status_resend(void)
{
	struct sess s;
	struct conn a, b;
	struct login_opts o = erl2_opts(10), o2 = {0};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o))
		return -1;
	static uint8_t out[8 * BLOCK], in[8 * BLOCK];
	pattern(out, sizeof(out), 59);
	if (write10(&a, 1000, 8, out, false) || read10(&a, 1000, 8, in))
		return -1;
	uint32_t itt = s.itt - 1, cmdsn = s.cmdsn - 1;
	conn_kill(&a);
	usleep(200000);
	if (add_conn(&b, &s, 1, &o2, 0))
		return -1;
	int rc = logout(&b, 2, 0);
	if (rc != 0)
		return failf("logout for recovery of the failed cid 0: response %d", rc);
	memset(in, 0, sizeof(in));
	rc = task_reassign(&b, itt, cmdsn, 0);
	if (rc != 0)
		return failf("TASK REASSIGN of an answered, unacknowledged READ: response %d", rc);
	struct cmd r = {.itt = itt, .in = in, .in_len = sizeof(in)};
	if (cmd_wait(&b, &r, false) || r.status)
		return failf("%s", g_why[0] ? g_why : "the reassigned READ failed");
	if (memcmp(in, out, sizeof(in)))
		return failf("the reassigned READ sent wrong data");
	conn_close(&b);
	return 0;
}

static int case_erl2_reassign(void) { return erl2_reassign(false); }
static int case_erl2_reinstate(void) { return erl2_reassign(true); }

/* Logout "remove the connection for recovery" of cid 1 from cid 0, with
 * a WRITE of cid 1 waiting for its data: reassigned to cid 0. */
static int case_erl2_logout_recovery(void)
{
	struct sess s;
	struct conn a, b;
	struct login_opts o = erl2_opts(10), o2 = {0};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o) || add_conn(&b, &s, 1, &o2, 0))
		return -1;
	static uint8_t out[64 * BLOCK], in[64 * BLOCK];
	pattern(out, sizeof(out), 43);
	struct cmd w;
	if (write_until_r2t(&b, &w, 700, out))
		return -1;
	int rc = task_reassign(&a, w.itt, w.cmdsn, 0);
	if (rc != 3)
		return failf(
		    "TASK REASSIGN of a task of a live connection: response %d, expected 3", rc);
	rc = logout(&a, 2, 1);
	if (rc != 0)
		return failf("logout of cid 1 for recovery: response %d", rc);
	if (!wait_closed(&b))
		return failf("cid 1 not closed after its logout for recovery");
	conn_close(&b);
	if ((rc = task_reassign(&a, w.itt, w.cmdsn, 0)) != 0)
		return failf("TASK REASSIGN: response %d, expected 0", rc);
	if (cmd_wait(&a, &w, true) || write_answer_r2ts(&a, &w, out) || read10(&a, 700, 64, in))
		return -1;
	if (memcmp(in, out, sizeof(in)))
		return failf("the reassigned WRITE wrote wrong data");
	conn_close(&a);
	return 0;
}

/* Time2Retain 2 s: the session outlives its failed connection by
 * Time2Wait + Time2Retain, then ends. */
static int case_erl2_retain_expiry(void)
{
	struct sess s;
	struct conn a, b, c;
	struct login_opts o = erl2_opts(2), o2 = {0};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o))
		return -1;
	if (strcmp(o.got_time2retain, "2"))
		return failf("DefaultTime2Retain=2 answered '%s'", o.got_time2retain);
	static uint8_t out[64 * BLOCK];
	pattern(out, sizeof(out), 47);
	struct cmd w;
	if (write_until_r2t(&a, &w, 900, out))
		return -1;
	conn_kill(&a);
	usleep(300000);
	/* Still there: a connection may join; it leaves again (reason 1). */
	if (add_conn(&b, &s, 1, &o2, 0))
		return -1;
	if (logout(&b, 1, 1) != 0 || !wait_closed(&b))
		return failf("%s", g_why[0] ? g_why : "logout of cid 1 failed");
	conn_close(&b);
	/* Time2Wait (the target's 2 s: the larger of the two) + Time2Retain,
	 * and a tick. */
	sleep(5);
	if (add_conn(&c, &s, 2, &o2, 0x020a))
		return failf("%s (the session outlived Time2Retain)", g_why);
	conn_close(&c);
	return 0;
}

/* Initiators that ask for ErrorRecoveryLevel 0 (or a target that offers
 * no more) get 0, and TASK REASSIGN is not supported (response 4). */
static int case_erl_fallback(void)
{
	char one[256];
	snprintf(one, sizeof(one), "%s-one", g_target);
	struct sess s;
	struct conn a;
	struct login_opts o = {.target = one, .erl = 2, .time2retain = 10};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o))
		return -1;
	if (strcmp(o.got_erl, "0"))
		return failf("target %s: ErrorRecoveryLevel=2 answered '%s'", one, o.got_erl);
	int rc = task_reassign(&a, 0x1234, s.cmdsn, 0);
	if (rc != 4)
		return failf("TASK REASSIGN at ERL 0: response %d, expected 4", rc);
	conn_close(&a);
	struct login_opts o2 = {.erl = 0, .max_conns = 2};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o2))
		return -1;
	if (strcmp(o2.got_erl, "0"))
		return failf("ErrorRecoveryLevel=0 answered '%s'", o2.got_erl);
	rc = task_reassign(&a, 0x1234, s.cmdsn, 0);
	if (rc != 4)
		return failf("TASK REASSIGN at ERL 0: response %d, expected 4", rc);
	conn_close(&a);
	return 0;
}

/* --- the target dropping connections on its own (RFC 7143 11.9.1) --- */

/* The next PDU on c is an Async Message with this event and parameters
 * (p1 < 0: not checked). */
static int expect_async(struct conn *c, uint8_t event, int p1, uint16_t p2, uint16_t p3)
{
	struct pdu p;
	enum rx r = recv_pdu(c, &p);
	if (r)
		return failf("cid %u: no Async Message (%s)", c->cid,
			     r == RX_CLOSED ? "closed first" : "timeout");
	uint8_t op = p.bhs[0] & 0x3f;
	uint8_t ev = p.bhs[36];
	uint16_t g1 = get16(p.bhs + 38), g2 = get16(p.bhs + 40), g3 = get16(p.bhs + 42);
	uint32_t itt = get32(p.bhs + 16);
	pdu_free(&p);
	if (op != OP_ASYNC)
		return failf("cid %u: opcode 0x%02x, expected an Async Message", c->cid, op);
	if (ev != event || itt != RESERVED_TAG)
		return failf("cid %u: AsyncEvent %u ITT 0x%x, expected %u, 0xffffffff", c->cid, ev,
			     itt, event);
	if ((p1 >= 0 && g1 != p1) || g2 != p2 || g3 != p3)
		return failf("cid %u: AsyncEvent %u parameters %u/%u/%u, expected %d/%u/%u", c->cid,
			     ev, g1, g2, g3, p1, p2, p3);
	return 0;
}

/* The administrator closes a session of two connections (MCS_CLOSE_CMD,
 * from mcs.sh): each is told "all connections of this session are
 * dropped" (AsyncEvent 3, Time2Wait as negotiated, Time2Retain 0: the
 * session is terminated), and then closed. */
static int case_admin_close(void)
{
	const char *cmd = getenv("MCS_CLOSE_CMD");
	if (!cmd)
		return failf("MCS_CLOSE_CMD not set (mcs.sh sets it)");
	struct sess s;
	struct conn a, b;
	struct login_opts o = {.max_conns = 2}, o2 = {0};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o) || add_conn(&b, &s, 1, &o2, 0))
		return -1;
	uint16_t t2w = (uint16_t)atoi(o.got_time2wait);
	if (!o.got_time2wait[0] || !t2w)
		return failf("DefaultTime2Wait answered '%s', expected the target's 2",
			     o.got_time2wait);
	if (system(cmd) != 0)
		return failf("'%s' failed", cmd);
	if (expect_async(&a, 3, -1, t2w, 0) || expect_async(&b, 3, -1, t2w, 0))
		return -1;
	if (!wait_closed(&a) || !wait_closed(&b))
		return failf("a connection stays open after AsyncEvent 3");
	conn_close(&a);
	conn_close(&b);
	return 0;
}

/* The target drops one connection of a session on its own (a header
 * digest error: nothing in that header can be trusted): the other
 * connection carries AsyncEvent 2 with its CID (Time2Retain 0 at ERL 0:
 * its commands end), and goes on working. */
static int case_drop_one(void)
{
	struct sess s;
	struct conn a, b;
	struct login_opts o = {.max_conns = 2}, o2 = {.header_digest = true};
	sess_init(&s);
	if (conn_open(&a, &s, 0) || login_ok(&a, &o) || add_conn(&b, &s, 1, &o2, 0))
		return -1;
	if (strcmp(o2.got_hdigest, "CRC32C"))
		return failf("HeaderDigest answered '%s', expected CRC32C", o2.got_hdigest);
	uint16_t t2w = (uint16_t)atoi(o.got_time2wait);
	/* A NOP-Out whose header digest is wrong. */
	uint8_t pdu[BHS_LEN + 4] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
	put32(pdu + 16, 0x7777);
	put32(pdu + 20, RESERVED_TAG);
	put32(pdu + 24, s.cmdsn);
	put32(pdu + 28, b.exp_statsn);
	put32(pdu + BHS_LEN, 0xdeadbeef);
	if (write(b.fd, pdu, sizeof(pdu)) != (ssize_t)sizeof(pdu))
		return failf("send on cid 1: %s", strerror(errno));
	if (expect_async(&a, 2, 1, t2w, 0))
		return -1;
	if (!wait_closed(&b))
		return failf("cid 1 not closed after its header digest error");
	conn_close(&b);
	uint8_t buf[BLOCK];
	if (read10(&a, 0, 1, buf))
		return -1;
	conn_close(&a);
	return 0;
}

static const struct wire_case cases[] = {
    {"two-conns", case_two_conns},
    {"interleave", case_interleave},
    {"wrong-tsih", case_wrong_tsih},
    {"max-conns", case_max_conns},
    {"other-portal-group", case_other_portal_group},
    {"one-conn", case_one_conn},
    {"logout-one", case_logout_one},
    {"conn-dies-erl0", case_conn_dies_erl0},
    {"erl2-reassign", case_erl2_reassign},
    {"erl2-reinstate", case_erl2_reinstate},
    {"erl2-read-resend", case_erl2_read_resend},
    {"erl2-status-resend", case_erl2_status_resend},
    {"erl2-logout-recovery", case_erl2_logout_recovery},
    {"erl2-retain-expiry", case_erl2_retain_expiry},
    {"erl-fallback", case_erl_fallback},
    {"admin-close", case_admin_close},
    {"drop-one", case_drop_one},
};

int main(int argc, char **argv)
{
	return wire_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), &g_host, &g_port,
			 &g_target, g_why);
}
