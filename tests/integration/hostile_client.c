/*
 * hostile_client: a minimal iSCSI initiator on raw TCP sockets that sends
 * malformed or rule-breaking PDUs to uscstd and checks the answers against
 * RFC 7143.  It deliberately shares no code with the daemon (its own CRC32C,
 * its own PDU builder) so a bug in the daemon's helpers cannot hide itself.
 *
 * Usage: hostile_client --list
 *        hostile_client HOST PORT TARGET_IQN CASE
 * Runs one case, then (whatever the case did) a fresh login + TEST UNIT
 * READY + READ CAPACITY + READ(10) to prove the daemon still serves.
 * Prints one line "ok" or "error: why" and exits 0 or 1; the wrapper script
 * (hostile-pdus.sh) turns that into PASS/FAIL and checks the daemon's PID.
 */
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
#define INITIATOR "iqn.2026-11.org.uscst:hostile-client"

#define OP_NOP_OUT 0x00
#define OP_SCSI_CMD 0x01
#define OP_TMF_REQ 0x02
#define OP_LOGIN_REQ 0x03
#define OP_TEXT_REQ 0x04
#define OP_DATA_OUT 0x05
#define OP_LOGOUT_REQ 0x06
#define OP_SNACK_REQ 0x10
#define OP_NOP_IN 0x20
#define OP_SCSI_RSP 0x21
#define OP_TMF_RSP 0x22
#define OP_LOGIN_RSP 0x23
#define OP_TEXT_RSP 0x24
#define OP_DATA_IN 0x25
#define OP_LOGOUT_RSP 0x26
#define OP_R2T 0x31
#define OP_REJECT 0x3f
#define OP_IMMEDIATE 0x40

#define F_FINAL 0x80
#define F_READ 0x40
#define F_WRITE 0x20
#define F_CONTINUE 0x40 /* Text/Login: the same bit as F_READ */
#define RESERVED_TAG 0xffffffffu

#define ST_GOOD 0x00
#define ST_CHECK_CONDITION 0x02

static const char *g_host, *g_port, *g_target;
static char g_why[512];
static unsigned g_isid_seq; /* distinct ISIDs: no accidental session reinstatement */

static int failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g_why, sizeof(g_why), fmt, ap);
	va_end(ap);
	return -1;
}

/* --- CRC32C (Castagnoli, reflected 0x82f63b78), bitwise: speed is irrelevant --- */

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

/* --- connection --- */

enum rx { RX_OK = 0, RX_CLOSED = 1, RX_TIMEOUT = 2 };

struct conn {
	int fd;
	bool hd, dd; /* digests in force (full feature phase only) */
	/* Data digests of received PDUs: how many verified, how many did not
	 * (and the opcode of the first bad one).  Counted rather than failed
	 * on the spot so a case can say which PDU was wrong. */
	unsigned dd_ok, dd_bad;
	uint8_t dd_bad_op;
	bool raw_pings; /* hand the target's NOP-In pings to the caller */
	uint32_t cmdsn; /* next CmdSN to use */
	uint32_t exp_statsn;
	uint32_t exp_cmdsn_seen; /* the last ExpCmdSN the target told us */
	uint32_t itt;
	uint8_t isid[6];
	uint16_t tsih;
	/* Negotiated. */
	uint32_t tgt_mrdsl; /* target's MaxRecvDataSegmentLength: what we may send */
	uint32_t first_burst, max_burst;
	bool immediate_data, initial_r2t;
	bool hd_negotiated, dd_negotiated;
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
	/* Every receive is bounded: a hung daemon must fail the case, not the run. */
	struct timeval tv = {.tv_sec = RX_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->cmdsn = 1;
	c->itt = 0x1000;
	c->tgt_mrdsl = 8192;
	c->first_burst = 65536;
	c->max_burst = 262144;
	c->initial_r2t = true;
	c->isid[0] = 0x80; /* random qualifier format */
	c->isid[1] = 0x12;
	put32(c->isid + 2, ((uint32_t)getpid() << 12) ^ ++g_isid_seq);
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int send_all(struct conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* When set, send_pdu_ex sends a PDU with at least SPLIT_MIN data bytes in
 * two parts with a pause between: the target then has its header while
 * most of the data segment is still to come (the dd-in-place cases). */
static bool g_split;
#define SPLIT_MIN 32768u

#define CORRUPT_HD 1u /* flip a bit of the header digest */
#define CORRUPT_DD 2u /* flip a bit of the data digest (if there is one) */

/* Sends BHS (+AHS) (+header digest) (+data, padding, data digest).  The
 * header's TotalAHSLength and DataSegmentLength are set from the arguments
 * unless raw_lengths; corrupt (CORRUPT_*) makes digests wrong. */
static int send_pdu_ex(struct conn *c, uint8_t *bhs, const uint8_t *ahs, uint32_t ahs_len,
		       const uint8_t *data, uint32_t dlen, bool raw_lengths, unsigned corrupt)
{
	if (!raw_lengths) {
		bhs[4] = (uint8_t)(ahs_len / 4);
		put24(bhs + 5, dlen);
	}
	uint32_t pad = (4 - (dlen & 3)) & 3;
	size_t total = BHS_LEN + ahs_len + (c->hd ? 4 : 0) + dlen + pad + (c->dd && dlen ? 4 : 0);
	uint8_t *buf = calloc(1, total);
	if (!buf)
		return -1;
	size_t off = 0;
	memcpy(buf, bhs, BHS_LEN);
	off = BHS_LEN;
	if (ahs_len)
		memcpy(buf + off, ahs, ahs_len);
	off += ahs_len;
	if (c->hd) {
		put_digest(buf + off, crc32c(buf, off) ^ (corrupt & CORRUPT_HD ? 0x00010000u : 0));
		off += 4;
	}
	size_t data_off = off;
	if (dlen)
		memcpy(buf + off, data, dlen);
	off += dlen + pad;
	if (c->dd && dlen) {
		put_digest(buf + off, crc32c(buf + data_off, dlen + pad) ^
					  (corrupt & CORRUPT_DD ? 0x00000100u : 0));
		off += 4;
	}
	/* Split: the header and a little data, a pause, the rest. */
	size_t first = g_split && dlen >= SPLIT_MIN ? data_off + 64 : off;
	int rc = send_all(c, buf, first);
	if (!rc && first < off) {
		usleep(20000);
		rc = send_all(c, buf + first, off - first);
	}
	free(buf);
	return rc;
}

static int send_pdu(struct conn *c, uint8_t *bhs, const uint8_t *data, uint32_t dlen)
{
	return send_pdu_ex(c, bhs, NULL, 0, data, dlen, false, 0);
}

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

/* Receives one PDU; answers the target's NOP-In pings by the way. */
static enum rx recv_pdu(struct conn *c, struct pdu *p)
{
	for (;;) {
		p->data = NULL;
		p->dlen = 0;
		enum rx r = recv_all(c, p->bhs, BHS_LEN);
		if (r)
			return r;
		uint32_t ahs = p->bhs[4] * 4u, dlen = get24(p->bhs + 5);
		uint32_t pad = (4 - (dlen & 3)) & 3;
		size_t rest = ahs + (c->hd ? 4 : 0);
		uint8_t skip[1024 + 4];
		if (rest && (r = recv_all(c, skip, rest)))
			return r;
		if (c->hd) {
			uint8_t hdr[BHS_LEN + 1024];
			memcpy(hdr, p->bhs, BHS_LEN);
			memcpy(hdr + BHS_LEN, skip, ahs);
			uint8_t want[4];
			put_digest(want, crc32c(hdr, BHS_LEN + ahs));
			if (memcmp(want, skip + ahs, 4)) {
				failf("target sent a bad header digest");
				return RX_CLOSED;
			}
		}
		size_t body = dlen + pad + (c->dd && dlen ? 4 : 0);
		if (body) {
			p->data = calloc(1, body + 1);
			if (!p->data || (r = recv_all(c, p->data, body))) {
				pdu_free(p);
				return r ? r : RX_CLOSED;
			}
			p->dlen = dlen;
			if (c->dd && dlen) {
				uint8_t want[4];
				put_digest(want, crc32c(p->data, dlen + pad));
				if (!memcmp(want, p->data + dlen + pad, 4))
					c->dd_ok++;
				else if (!c->dd_bad++)
					c->dd_bad_op = p->bhs[0] & 0x3f;
			}
		}
		uint8_t op = p->bhs[0] & 0x3f;
		if (op != OP_LOGIN_RSP && op != OP_DATA_IN && op != OP_R2T)
			c->exp_statsn = get32(p->bhs + 24) + 1;
		if (op != OP_LOGIN_RSP)
			c->exp_cmdsn_seen = get32(p->bhs + 28);
		if (op == OP_NOP_IN && get32(p->bhs + 20) != RESERVED_TAG && !c->raw_pings) {
			/* The target's keep-alive ping: answer and keep reading. */
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

/* True if the target closes the connection within the receive timeout;
 * PDUs it sends before closing are skipped. */
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

/* --- text keys --- */

struct keys {
	char buf[16384];
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

/* Value of key in a received text segment, or NULL. */
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

/* --- login --- */

struct login_opts {
	const char *target; /* NULL: g_target */
	bool no_initiator;
	bool header_digest;
	bool data_digest;
	uint32_t first_burst; /* FirstBurstLength to offer; 0: 16384 */
	uint32_t mrdsl;	      /* our MaxRecvDataSegmentLength; 0: 65536 */
	const char *extra[4];
};

static void login_bhs(struct conn *c, uint8_t *b, uint8_t flags)
{
	memset(b, 0, BHS_LEN);
	b[0] = OP_LOGIN_REQ | OP_IMMEDIATE;
	b[1] = flags;
	memcpy(b + 8, c->isid, 6);
	put16(b + 14, c->tsih);
	put32(b + 16, c->itt);
	put16(b + 20, 0); /* CID */
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
}

/* The first Login Request: CSG=operational, NSG=full feature, T=1. */
static int login_send_first(struct conn *c, const struct login_opts *o)
{
	struct keys k = {.len = 0};
	char kv[512];
	if (!o->no_initiator)
		key_add(&k, "InitiatorName=" INITIATOR);
	snprintf(kv, sizeof(kv), "TargetName=%s", o->target ? o->target : g_target);
	key_add(&k, kv);
	key_add(&k, "SessionType=Normal");
	key_add(&k, o->header_digest ? "HeaderDigest=CRC32C" : "HeaderDigest=None");
	key_add(&k, o->data_digest ? "DataDigest=CRC32C" : "DataDigest=None");
	key_add(&k, "InitialR2T=No");
	key_add(&k, "ImmediateData=Yes");
	snprintf(kv, sizeof(kv), "FirstBurstLength=%u", o->first_burst ? o->first_burst : 16384);
	key_add(&k, kv);
	key_add(&k, "MaxBurstLength=65536");
	snprintf(kv, sizeof(kv), "MaxRecvDataSegmentLength=%u", o->mrdsl ? o->mrdsl : 65536);
	key_add(&k, kv);
	key_add(&k, "ErrorRecoveryLevel=0");
	for (int i = 0; i < 4 && o->extra[i]; i++)
		key_add(&k, o->extra[i]);
	uint8_t b[BHS_LEN];
	login_bhs(c, b, F_FINAL | (1 << 2) | 3);
	return send_pdu(c, b, (const uint8_t *)k.buf, k.len);
}

static void note_keys(struct conn *c, const struct pdu *p)
{
	char v[256];
	if (key_find(p, "MaxRecvDataSegmentLength", v, sizeof(v)))
		c->tgt_mrdsl = (uint32_t)strtoul(v, NULL, 0);
	if (key_find(p, "FirstBurstLength", v, sizeof(v)))
		c->first_burst = (uint32_t)strtoul(v, NULL, 0);
	if (key_find(p, "MaxBurstLength", v, sizeof(v)))
		c->max_burst = (uint32_t)strtoul(v, NULL, 0);
	if (key_find(p, "ImmediateData", v, sizeof(v)))
		c->immediate_data = !strcmp(v, "Yes");
	if (key_find(p, "InitialR2T", v, sizeof(v)))
		c->initial_r2t = !strcmp(v, "Yes");
	if (key_find(p, "HeaderDigest", v, sizeof(v)))
		c->hd_negotiated = !strcmp(v, "CRC32C");
	if (key_find(p, "DataDigest", v, sizeof(v)))
		c->dd_negotiated = !strcmp(v, "CRC32C");
}

/* Reads Login Responses (answering keys the target offers) until full
 * feature phase.  Returns 0, the login status (class << 8 | detail) if the
 * target refused, or -1 (g_why says why).  *last gets the last response. */
static int login_finish(struct conn *c, struct pdu *last)
{
	static const char *const declarative[] = {"MaxRecvDataSegmentLength",
						  "TargetPortalGroupTag", "TargetAlias",
						  "TargetAddress", NULL};
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
			if (last)
				*last = p;
			else
				pdu_free(&p);
			return status;
		}
		note_keys(c, &p);
		uint8_t flags = p.bhs[1];
		if ((flags & F_FINAL) && (flags & 3) == 3) {
			c->tsih = get16(p.bhs + 14);
			c->exp_cmdsn_seen = get32(p.bhs + 28);
			c->cmdsn = c->exp_cmdsn_seen;
			c->hd = c->hd_negotiated;
			c->dd = c->dd_negotiated;
			if (last)
				*last = p;
			else
				pdu_free(&p);
			return 0;
		}
		/* T=0: echo every key the target offered (accepting its value),
		 * declarations aside, and ask again for full feature phase. */
		struct keys k = {.len = 0};
		for (uint32_t i = 0; i < p.dlen;) {
			const char *s = (const char *)p.data + i;
			size_t n = strnlen(s, p.dlen - i);
			bool skip = n == 0;
			for (int d = 0; !skip && declarative[d]; d++)
				skip = !strncmp(s, declarative[d], strlen(declarative[d]));
			if (!skip && strchr(s, '=') && !strstr(s, "=NotUnderstood") &&
			    !strstr(s, "=Irrelevant"))
				key_add(&k, s);
			i += (uint32_t)n + 1;
		}
		pdu_free(&p);
		uint8_t b[BHS_LEN];
		login_bhs(c, b, F_FINAL | (1 << 2) | 3);
		if (send_pdu(c, b, (const uint8_t *)k.buf, k.len))
			return failf("login: send failed");
	}
	return failf("login: no full feature phase after 6 rounds");
}

static int login(struct conn *c, const struct login_opts *o, struct pdu *last)
{
	if (login_send_first(c, o))
		return failf("login: send failed");
	int rc = login_finish(c, last);
	if (rc > 0)
		return failf("login refused with status 0x%04x", rc);
	return rc;
}

static int open_and_login(struct conn *c)
{
	struct login_opts o = {0};
	if (conn_open(c))
		return -1;
	if (login(c, &o, NULL)) {
		conn_close(c);
		return -1;
	}
	return 0;
}

/* --- SCSI --- */

struct scsi_res {
	bool done;
	uint8_t response, status;
	uint8_t sense[96];
	uint32_t sense_len;
	uint8_t *in;
	uint32_t in_len;
	uint8_t rsp_flags; /* of the response (residual bits: O 0x04, U 0x02) */
	uint32_t residual;
	unsigned rejects;
	uint8_t reject_reason; /* the first one */
	bool closed, timeout;
};

static void res_free(struct scsi_res *r) { free(r->in); }

static void cmd_bhs(struct conn *c, uint8_t *b, uint32_t itt, uint8_t lun, uint8_t flags,
		    uint32_t edtl, const uint8_t *cdb, size_t cdb_len, bool immediate)
{
	memset(b, 0, BHS_LEN);
	b[0] = OP_SCSI_CMD | (immediate ? OP_IMMEDIATE : 0);
	b[1] = flags;
	b[9] = lun;
	put32(b + 16, itt);
	put32(b + 20, edtl);
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
	memcpy(b + 32, cdb, cdb_len);
	if (!immediate)
		c->cmdsn++;
}

/* A Data-Out PDU; corrupt as for send_pdu_ex.  If sent_bhs is not NULL it
 * gets the header as it went out (a Reject must carry exactly that). */
static int send_data_out_ex(struct conn *c, uint32_t itt, uint32_t ttt, uint32_t datasn,
			    uint32_t offset, const uint8_t *data, uint32_t len, bool final,
			    unsigned corrupt, uint8_t *sent_bhs)
{
	uint8_t b[BHS_LEN] = {OP_DATA_OUT, final ? F_FINAL : 0};
	put32(b + 16, itt);
	put32(b + 20, ttt);
	put32(b + 28, c->exp_statsn);
	put32(b + 36, datasn);
	put32(b + 40, offset);
	int rc = send_pdu_ex(c, b, NULL, 0, data, len, false, corrupt);
	if (sent_bhs)
		memcpy(sent_bhs, b, BHS_LEN);
	return rc;
}

static int send_data_out(struct conn *c, uint32_t itt, uint32_t ttt, uint32_t datasn,
			 uint32_t offset, const uint8_t *data, uint32_t len, bool final)
{
	return send_data_out_ex(c, itt, ttt, datasn, offset, data, len, final, 0, NULL);
}

/* Status, response and sense of a SCSI Response PDU; the task is done. */
static void take_response(const struct pdu *p, struct scsi_res *res)
{
	res->response = p->bhs[2];
	res->status = p->bhs[3];
	res->rsp_flags = p->bhs[1];
	res->residual = get32(p->bhs + 44);
	if (p->dlen >= 2) {
		uint32_t sl = get16(p->data);
		if (sl > p->dlen - 2)
			sl = p->dlen - 2;
		if (sl > sizeof(res->sense))
			sl = sizeof(res->sense);
		memcpy(res->sense, p->data + 2, sl);
		res->sense_len = sl;
	}
	res->done = true;
}

/* Waits for the end of task itt: Data-In collected, R2Ts answered from
 * out[] (when out is NULL an R2T is a failure), Rejects counted. */
static void wait_task(struct conn *c, uint32_t itt, const uint8_t *out, uint32_t out_len,
		      struct scsi_res *res)
{
	while (!res->done) {
		struct pdu p;
		enum rx r = recv_pdu(c, &p);
		if (r) {
			res->closed = r == RX_CLOSED;
			res->timeout = r == RX_TIMEOUT;
			return;
		}
		uint8_t op = p.bhs[0] & 0x3f;
		switch (op) {
		case OP_DATA_IN: {
			uint32_t off = get32(p.bhs + 40);
			if (get32(p.bhs + 16) == itt && p.dlen && off < (1u << 24) &&
			    off + p.dlen < (1u << 24)) {
				if (off + p.dlen > res->in_len) {
					res->in = realloc(res->in, off + p.dlen);
					memset(res->in + res->in_len, 0,
					       off + p.dlen - res->in_len);
					res->in_len = off + p.dlen;
				}
				memcpy(res->in + off, p.data, p.dlen);
			}
			if (p.bhs[1] & 0x01) {
				res->status = p.bhs[3];
				res->done = true;
			}
			break;
		}
		case OP_SCSI_RSP:
			if (get32(p.bhs + 16) == itt)
				take_response(&p, res);
			break;
		case OP_R2T: {
			uint32_t ttt = get32(p.bhs + 20), off = get32(p.bhs + 40),
				 len = get32(p.bhs + 44);
			if (!out || get32(p.bhs + 16) != itt || (uint64_t)off + len > out_len) {
				failf("unexpected R2T (offset %u length %u)", off, len);
				res->timeout = true;
				pdu_free(&p);
				return;
			}
			uint32_t sn = 0;
			for (uint32_t done = 0; done < len; sn++) {
				uint32_t n = len - done < c->tgt_mrdsl ? len - done : c->tgt_mrdsl;
				if (send_data_out(c, itt, ttt, sn, off + done, out + off + done, n,
						  done + n == len)) {
					res->closed = true;
					pdu_free(&p);
					return;
				}
				done += n;
			}
			break;
		}
		case OP_REJECT:
			if (!res->rejects++)
				res->reject_reason = p.bhs[2];
			/* A rejected command gets no response of its own. */
			if (p.dlen >= BHS_LEN && (p.data[0] & 0x3f) == OP_SCSI_CMD &&
			    get32(p.data + 16) == itt)
				res->done = true;
			break;
		default:
			break;
		}
		pdu_free(&p);
	}
}

static void scsi(struct conn *c, uint8_t lun, const uint8_t *cdb, size_t cdb_len, uint8_t rw,
		 uint32_t edtl, const uint8_t *out, struct scsi_res *res)
{
	memset(res, 0, sizeof(*res));
	uint32_t itt = c->itt++;
	uint8_t b[BHS_LEN];
	cmd_bhs(c, b, itt, lun, F_FINAL | rw, edtl, cdb, cdb_len, false);
	if (send_pdu(c, b, NULL, 0)) {
		res->closed = true;
		return;
	}
	wait_task(c, itt, out, out ? edtl : 0, res);
}

static bool sense_is(const struct scsi_res *r, uint8_t key, uint8_t asc, uint8_t ascq)
{
	if (r->status != ST_CHECK_CONDITION || r->sense_len < 14)
		return false;
	if ((r->sense[0] & 0x7f) == 0x72 || (r->sense[0] & 0x7f) == 0x73)
		return (r->sense[1] & 0xf) == key && r->sense[2] == asc && r->sense[3] == ascq;
	return (r->sense[2] & 0xf) == key && r->sense[12] == asc && r->sense[13] == ascq;
}

static const char *describe(const struct scsi_res *r, char *buf, size_t len)
{
	if (r->closed)
		snprintf(buf, len, "connection closed");
	else if (!r->done)
		snprintf(buf, len, "no answer within %d s", RX_TIMEOUT_S);
	else if (r->status == ST_CHECK_CONDITION && r->sense_len >= 14)
		snprintf(buf, len, "CHECK CONDITION sense %02x %02x/%02x (%u rejects)",
			 r->sense[2] & 0xf, r->sense[12], r->sense[13], r->rejects);
	else
		snprintf(buf, len, "response %u status 0x%02x (%u rejects, first reason 0x%02x)",
			 r->response, r->status, r->rejects, r->reject_reason);
	return buf;
}

static int tur(struct conn *c, uint8_t lun, struct scsi_res *res)
{
	const uint8_t cdb[6] = {0x00};
	scsi(c, lun, cdb, 6, 0, 0, NULL, res);
	return res->done && res->status == ST_GOOD ? 0 : -1;
}

/* TEST UNIT READY until GOOD, letting unit attentions of a new nexus go by. */
static int tur_good(struct conn *c, const char *what)
{
	struct scsi_res r;
	char d[160];
	for (int i = 0; i < 4; i++) {
		if (!tur(c, 0, &r))
			return 0;
		if (!(r.done && sense_is(&r, 6, r.sense[12], r.sense[13])))
			break;
	}
	return failf("%s: TEST UNIT READY: %s", what, describe(&r, d, sizeof(d)));
}

static int read_capacity(struct conn *c, uint32_t *bs, uint32_t *last_lba)
{
	const uint8_t cdb[10] = {0x25};
	struct scsi_res r;
	char d[160];
	/* A unit attention of the new nexus may come first. */
	for (int i = 0; i < 4; i++) {
		scsi(c, 0, cdb, 10, F_READ, 8, NULL, &r);
		if (!sense_is(&r, 6, r.sense[12], r.sense[13]))
			break;
		res_free(&r);
	}
	if (!r.done || r.status != ST_GOOD || r.in_len < 8) {
		res_free(&r);
		return failf("READ CAPACITY(10): %s", describe(&r, d, sizeof(d)));
	}
	*last_lba = get32(r.in);
	*bs = get32(r.in + 4);
	res_free(&r);
	return 0;
}

static void read10(struct conn *c, uint8_t lun, uint32_t lba, uint16_t blocks, uint32_t edtl,
		   struct scsi_res *r)
{
	uint8_t cdb[10] = {0x28};
	put32(cdb + 2, lba);
	put16(cdb + 7, blocks);
	scsi(c, lun, cdb, 10, F_READ, edtl, NULL, r);
}

static void write10_cdb(uint8_t *cdb, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 10);
	cdb[0] = 0x2a;
	put32(cdb + 2, lba);
	put16(cdb + 7, blocks);
}

/* A fresh session must still log in, TEST UNIT READY and READ(10). */
static int health_check(void)
{
	struct conn c;
	char saved[sizeof(g_why)];
	snprintf(saved, sizeof(saved), "%s", g_why);
	if (open_and_login(&c))
		return -1;
	uint32_t bs, last;
	int rc = tur_good(&c, "health") || read_capacity(&c, &bs, &last);
	if (!rc) {
		struct scsi_res r;
		char d[160];
		read10(&c, 0, 0, 1, bs, &r);
		if (!r.done || r.status != ST_GOOD || r.in_len != bs)
			rc = failf("health: READ(10): %s, %u bytes", describe(&r, d, sizeof(d)),
				   r.in_len);
		res_free(&r);
	}
	conn_close(&c);
	if (!rc)
		snprintf(g_why, sizeof(g_why), "%s", saved);
	return rc ? -1 : 0;
}

/* The same connection still carries commands after a hostile PDU. */
static int same_conn_works(struct conn *c)
{
	/* No rewinding to the ExpCmdSN the target reports: every CmdSN the
	 * client used, Rejected commands included, must have been taken. */
	return tur_good(c, "same connection afterwards");
}

/* Accepts a Reject with one of the reasons, or (if may_close) a close. */
static int expect_reject(struct conn *c, const uint8_t *sent, uint8_t r1, uint8_t r2,
			 bool may_close, bool *closed)
{
	*closed = false;
	for (int i = 0; i < 8; i++) {
		struct pdu p;
		enum rx r = recv_pdu(c, &p);
		if (r == RX_CLOSED) {
			*closed = true;
			return may_close ? 0 : failf("connection closed instead of a Reject");
		}
		if (r)
			return failf("no Reject within %d s", RX_TIMEOUT_S);
		uint8_t op = p.bhs[0] & 0x3f, reason = p.bhs[2];
		bool echo = p.dlen >= BHS_LEN && !memcmp(p.data, sent, 20);
		pdu_free(&p);
		if (op != OP_REJECT)
			return failf("opcode 0x%02x instead of a Reject", op);
		if (reason != r1 && reason != r2)
			return failf("Reject reason 0x%02x, expected 0x%02x", reason, r1);
		if (!echo)
			return failf("Reject does not carry the rejected header");
		return 0;
	}
	return failf("no Reject");
}

/* --- cases: before login --- */

static int non_login_first(uint8_t opcode)
{
	struct conn c;
	if (conn_open(&c))
		return -1;
	uint8_t b[BHS_LEN] = {opcode | OP_IMMEDIATE, F_FINAL};
	put32(b + 16, 0x42);
	put32(b + 20, RESERVED_TAG);
	put32(b + 24, 1);
	if (opcode == OP_SCSI_CMD)
		b[1] = F_FINAL; /* TEST UNIT READY, CDB all zeros */
	const char *txt = "SendTargets=All";
	int rc = opcode == OP_TEXT_REQ ? send_pdu(&c, b, (const uint8_t *)txt, 16)
				       : send_pdu(&c, b, NULL, 0);
	if (rc) {
		conn_close(&c);
		return failf("send failed");
	}
	/* RFC 7143 6.2 / 11.13.5: only Login is allowed; the answer is a Login
	 * reject (class 2) or plainly closing the connection. */
	struct pdu p;
	enum rx r = recv_pdu(&c, &p);
	if (r == RX_OK) {
		uint8_t op = p.bhs[0] & 0x3f, cls = p.bhs[36];
		pdu_free(&p);
		if (op == OP_LOGIN_RSP && cls == 2) {
			rc = wait_closed(&c) ? 0 : failf("Login reject but connection not closed");
		} else if (op == OP_REJECT) {
			rc = wait_closed(&c) ? 0 : failf("Reject but connection not closed");
		} else {
			rc = failf("answered with opcode 0x%02x class %u", op, cls);
		}
	} else if (r == RX_TIMEOUT) {
		rc = failf("neither answered nor closed within %d s", RX_TIMEOUT_S);
	}
	conn_close(&c);
	return rc;
}

static int case_scsi_before_login(void) { return non_login_first(OP_SCSI_CMD); }
static int case_logout_before_login(void) { return non_login_first(OP_LOGOUT_REQ); }
static int case_text_before_login(void) { return non_login_first(OP_TEXT_REQ); }

/* Sends one raw login request and expects a Login Response with this status
 * (or, if want_class_only, any status of class want>>8), then a close. */
static int bad_login(uint8_t flags, uint8_t version_min, const struct keys *k, uint16_t want,
		     bool want_class_only)
{
	struct conn c;
	if (conn_open(&c))
		return -1;
	uint8_t b[BHS_LEN];
	login_bhs(&c, b, flags);
	b[2] = version_min; /* Version-max */
	b[3] = version_min; /* Version-min */
	if (send_pdu(&c, b, (const uint8_t *)k->buf, k->len)) {
		conn_close(&c);
		return failf("send failed");
	}
	struct pdu p;
	enum rx r = recv_pdu(&c, &p);
	int rc = 0;
	if (r) {
		rc = failf("no Login Response (%s)", r == RX_CLOSED ? "closed" : "timeout");
	} else {
		uint8_t op = p.bhs[0] & 0x3f;
		uint16_t st = get16(p.bhs + 36);
		if (op != OP_LOGIN_RSP)
			rc = failf("opcode 0x%02x instead of a Login Response", op);
		else if (want_class_only ? (st >> 8) != (want >> 8) : st != want)
			rc = failf("login status 0x%04x, expected 0x%04x", st, want);
		else if (!wait_closed(&c))
			rc = failf("connection not closed after the login reject");
	}
	pdu_free(&p);
	conn_close(&c);
	return rc;
}

static void std_keys(struct keys *k, bool initiator, const char *target)
{
	char kv[512];
	k->len = 0;
	if (initiator)
		key_add(k, "InitiatorName=" INITIATOR);
	snprintf(kv, sizeof(kv), "TargetName=%s", target ? target : g_target);
	key_add(k, kv);
	key_add(k, "SessionType=Normal");
}

#define FFP_FLAGS (F_FINAL | (1 << 2) | 3)

static int case_login_version_min(void)
{
	struct keys k;
	std_keys(&k, true, NULL);
	return bad_login(FFP_FLAGS, 0x01, &k, 0x0205, false);
}

static int case_login_garbage_keys(void)
{
	struct keys k;
	std_keys(&k, true, NULL);
	key_add(&k, "ThisHasNoEqualsSign");
	key_add(&k, "\x01\x02\x03garbage");
	return bad_login(FFP_FLAGS, 0, &k, 0x0200, true);
}

static int case_login_oversized_key(void)
{
	struct keys k;
	char kv[1200];
	std_keys(&k, true, NULL);
	/* RFC 7143 6.1: key names are at most 63 bytes. */
	memset(kv, 'K', 1000);
	strcpy(kv + 1000, "=1");
	key_add(&k, kv);
	return bad_login(FFP_FLAGS, 0, &k, 0x0200, true);
}

static int case_login_oversized_value(void)
{
	struct keys k;
	char kv[9000];
	std_keys(&k, false, NULL);
	/* A 8 KiB InitiatorName: names are at most 223 bytes. */
	strcpy(kv, "InitiatorName=iqn.2026-11.org.uscst:");
	size_t n = strlen(kv);
	memset(kv + n, 'x', 8000 - n);
	kv[8000] = 0;
	key_add(&k, kv);
	return bad_login(FFP_FLAGS, 0, &k, 0x0200, true);
}

static int case_login_unknown_key(void)
{
	struct conn c;
	if (conn_open(&c))
		return -1;
	struct login_opts o = {.extra = {"X-org.uscst.HostileKey=whatever"}};
	struct pdu last = {0};
	int rc = login(&c, &o, &last);
	if (!rc) {
		/* RFC 7143 6.2.1: unknown keys are answered NotUnderstood; the
		 * answer may be in any response, but ours is a one-round login. */
		char v[64];
		if (!key_find(&last, "X-org.uscst.HostileKey", v, sizeof(v)))
			rc = failf("unknown key not answered in the final Login Response");
		else if (strcmp(v, "NotUnderstood"))
			rc = failf("unknown key answered '%s', expected NotUnderstood", v);
		else
			rc = tur_good(&c, "after login");
	}
	pdu_free(&last);
	conn_close(&c);
	return rc;
}

static int case_login_missing_initiator(void)
{
	struct keys k;
	std_keys(&k, false, NULL);
	return bad_login(FFP_FLAGS, 0, &k, 0x0207, false);
}

static int case_login_unknown_target(void)
{
	struct keys k;
	std_keys(&k, true, "iqn.2026-11.org.uscst:no-such-target");
	return bad_login(FFP_FLAGS, 0, &k, 0x0203, false);
}

static int case_login_csg3(void)
{
	struct keys k;
	std_keys(&k, true, NULL);
	return bad_login(F_FINAL | (3 << 2) | 3, 0, &k, 0x0200, true);
}

static int case_login_nsg2(void)
{
	struct keys k;
	std_keys(&k, true, NULL);
	return bad_login(F_FINAL | (1 << 2) | 2, 0, &k, 0x0200, true);
}

static int case_login_64_concurrent(void)
{
	enum { N = 64 };
	static struct conn cs[N];
	int ok = 0, refused = 0, rc = 0;
	struct login_opts o = {0};
	for (int i = 0; i < N; i++) {
		if (conn_open(&cs[i]))
			return -1;
		if (login_send_first(&cs[i], &o))
			return failf("login %d: send failed", i);
	}
	/* All 64 requests are in flight before any answer is read. */
	for (int i = 0; i < N && !rc; i++) {
		int st = login_finish(&cs[i], NULL);
		if (st == 0)
			ok++;
		else if (st > 0 && (st >> 8) >= 2)
			refused++; /* a clean refusal (e.g. out of resources) */
		else
			rc = failf("login %d of %d: %s", i, N, g_why);
	}
	/* Every session that was granted must answer a ping. */
	for (int i = 0; i < N && !rc; i++) {
		if (cs[i].tsih == 0)
			continue;
		uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
		put32(b + 16, 0x777);
		put32(b + 20, RESERVED_TAG);
		put32(b + 24, cs[i].cmdsn);
		put32(b + 28, cs[i].exp_statsn);
		struct pdu p;
		if (send_pdu(&cs[i], b, NULL, 0) || recv_pdu(&cs[i], &p))
			rc = failf("session %d: no NOP-In", i);
		else if ((p.bhs[0] & 0x3f) != OP_NOP_IN)
			rc = failf("session %d: opcode 0x%02x instead of NOP-In", i,
				   p.bhs[0] & 0x3f);
		pdu_free(&p);
	}
	for (int i = 0; i < N; i++)
		conn_close(&cs[i]);
	if (!rc && ok == 0)
		rc = failf("none of %d logins succeeded (%d refused)", N, refused);
	return rc;
}

/* --- cases: full feature phase --- */

static int case_unknown_opcode(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	/* 0x15 is no initiator opcode (RFC 7143 11.1.1). */
	uint8_t b[BHS_LEN] = {0x15 | OP_IMMEDIATE, F_FINAL};
	put32(b + 16, 0x4242);
	put32(b + 24, c.cmdsn);
	bool closed;
	int rc = send_pdu(&c, b, NULL, 0) ? failf("send failed")
					  : expect_reject(&c, b, 0x05, 0x05, false, &closed);
	if (!rc)
		rc = same_conn_works(&c);
	conn_close(&c);
	return rc;
}

static int case_data_too_long(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	/* Our login declared nothing larger than the target's own declaration:
	 * one byte more than that must not be accepted. */
	uint32_t len = c.tgt_mrdsl + 1;
	uint8_t *data = calloc(1, len);
	uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
	put32(b + 16, 0x4343);
	put32(b + 20, RESERVED_TAG);
	put32(b + 24, c.cmdsn);
	bool closed = false;
	int rc = send_pdu(&c, b, data, len) ? 0 /* closed under us: allowed */
					    : expect_reject(&c, b, 0x04, 0x09, true, &closed);
	free(data);
	if (!rc && !closed)
		rc = same_conn_works(&c);
	conn_close(&c);
	return rc;
}

static int case_ahs_garbage(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	/* 1020 AHS bytes whose first AHS claims 65535 bytes of Extended CDB:
	 * the AHS must not be trusted beyond TotalAHSLength. */
	uint8_t ahs[1020];
	memset(ahs, 0xee, sizeof(ahs));
	ahs[0] = 0xff;
	ahs[1] = 0xff;
	ahs[2] = 0x01; /* Extended CDB */
	uint8_t b[BHS_LEN];
	const uint8_t cdb[6] = {0x00};
	uint32_t itt = c.itt++;
	cmd_bhs(&c, b, itt, 0, F_FINAL, 0, cdb, 6, true);
	struct scsi_res r = {0};
	int rc = 0;
	if (send_pdu_ex(&c, b, ahs, sizeof(ahs), NULL, 0, false, 0)) {
		rc = failf("send failed");
	} else {
		wait_task(&c, itt, NULL, 0, &r);
		char d[160];
		/* A Reject, a response or a close are all defensible; silence is not. */
		if (r.timeout)
			rc = failf("no answer to a command with a garbage AHS: %s",
				   describe(&r, d, sizeof(d)));
		else if (!r.closed)
			rc = same_conn_works(&c);
	}
	res_free(&r);
	conn_close(&c);
	return rc;
}

static int case_reserved_itt(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	uint8_t b[BHS_LEN];
	const uint8_t cdb[6] = {0x00};
	cmd_bhs(&c, b, RESERVED_TAG, 0, F_FINAL, 0, cdb, 6, true);
	bool closed;
	int rc = send_pdu(&c, b, NULL, 0) ? failf("send failed")
					  : expect_reject(&c, b, 0x09, 0x04, false, &closed);
	if (!rc)
		rc = same_conn_works(&c);
	conn_close(&c);
	return rc;
}

/* A command with immediate data that breaks a rule: Reject expected (or a
 * CHECK CONDITION for the command), never GOOD, then the connection works. */
static int bad_immediate(uint8_t flags, uint32_t edtl, const uint8_t *cdb, uint32_t dlen)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	if (!c.immediate_data) {
		conn_close(&c);
		return failf("ImmediateData=No negotiated; cannot test");
	}
	uint8_t *data = calloc(1, dlen);
	memset(data, 0x5a, dlen);
	uint8_t b[BHS_LEN];
	uint32_t itt = c.itt++;
	cmd_bhs(&c, b, itt, 0, flags, edtl, cdb, 10, true);
	struct scsi_res r = {0};
	int rc = 0;
	char d[160];
	if (send_pdu(&c, b, data, dlen)) {
		rc = failf("send failed");
	} else {
		wait_task(&c, itt, NULL, 0, &r);
		if (r.timeout)
			rc = failf("%s", describe(&r, d, sizeof(d)));
		else if (r.closed)
			; /* dropping the connection is allowed */
		else if (!r.rejects && r.status == ST_GOOD)
			rc = failf("accepted: %s", describe(&r, d, sizeof(d)));
		else if (r.rejects && r.reject_reason != 0x04 && r.reject_reason != 0x09)
			rc = failf("Reject reason 0x%02x", r.reject_reason);
		else
			rc = same_conn_works(&c);
	}
	free(data);
	res_free(&r);
	conn_close(&c);
	return rc;
}

static int case_immediate_without_w(void)
{
	/* READ(10) carrying a data segment: data without the W bit. */
	uint8_t cdb[10] = {0x28};
	put16(cdb + 7, 1);
	return bad_immediate(F_FINAL | F_READ, 512, cdb, 512);
}

static int case_immediate_gt_edtl(void)
{
	uint8_t cdb[10];
	write10_cdb(cdb, 100, 1);
	return bad_immediate(F_FINAL | F_WRITE, 512, cdb, 1024);
}

/* Sets up a WRITE(10) of `blocks` blocks at lba with F=1 (no unsolicited
 * data) and returns the first R2T's TTT/offset/length. */
static int write_until_r2t(struct conn *c, uint32_t lba, uint16_t blocks, uint32_t bs,
			   uint32_t *itt, uint32_t *ttt, uint32_t *off, uint32_t *len)
{
	uint8_t cdb[10], b[BHS_LEN];
	write10_cdb(cdb, lba, blocks);
	*itt = c->itt++;
	cmd_bhs(c, b, *itt, 0, F_FINAL | F_WRITE, blocks * bs, cdb, 10, false);
	if (send_pdu(c, b, NULL, 0))
		return failf("send failed");
	struct pdu p;
	enum rx r = recv_pdu(c, &p);
	if (r)
		return failf("no R2T (%s)", r == RX_CLOSED ? "closed" : "timeout");
	uint8_t op = p.bhs[0] & 0x3f;
	*ttt = get32(p.bhs + 20);
	*off = get32(p.bhs + 40);
	*len = get32(p.bhs + 44);
	pdu_free(&p);
	if (op != OP_R2T)
		return failf("opcode 0x%02x instead of R2T", op);
	return 0;
}

/* After hostile Data-Out: the command must end (not GOOD, or with a
 * Reject seen), the connection may be closed; then the connection works. */
static int finish_bad_write(struct conn *c, uint32_t itt, const uint8_t *out, uint32_t out_len,
			    uint8_t r1, uint8_t r2)
{
	struct scsi_res r = {0};
	char d[160];
	int rc = 0;
	wait_task(c, itt, out, out_len, &r);
	if (r.timeout)
		rc = failf("%s", describe(&r, d, sizeof(d)));
	else if (r.closed)
		rc = 0; /* allowed */
	else if (!r.rejects)
		rc = failf("no Reject; %s", describe(&r, d, sizeof(d)));
	else if (r.reject_reason != r1 && r.reject_reason != r2)
		rc = failf("Reject reason 0x%02x, expected 0x%02x", r.reject_reason, r1);
	else if (r.status == ST_GOOD)
		rc = failf("the command still ended GOOD: %s", describe(&r, d, sizeof(d)));
	else
		rc = same_conn_works(c);
	res_free(&r);
	return rc;
}

static int case_unsolicited_beyond_first_burst(void)
{
	struct conn c;
	uint32_t bs, last;
	if (open_and_login(&c))
		return -1;
	int rc = read_capacity(&c, &bs, &last);
	if (!rc && c.initial_r2t)
		rc = failf("InitialR2T=Yes negotiated; cannot test");
	if (!rc) {
		uint32_t fb = c.first_burst, edtl = 2 * fb + 2 * bs;
		uint16_t blocks = (uint16_t)(edtl / bs);
		uint8_t *buf = calloc(1, edtl), cdb[10], b[BHS_LEN];
		write10_cdb(cdb, 200, blocks);
		uint32_t itt = c.itt++;
		cmd_bhs(&c, b, itt, 0, F_WRITE, edtl, cdb, 10,
			false); /* F=0: unsolicited follows */
		if (send_pdu(&c, b, NULL, 0)) {
			rc = failf("send failed");
		} else {
			/* One sequence of FirstBurstLength + one block. */
			uint32_t len = fb + bs, sn = 0;
			for (uint32_t done = 0; done < len && !rc; sn++) {
				uint32_t n = len - done < c.tgt_mrdsl ? len - done : c.tgt_mrdsl;
				if (send_data_out(&c, itt, RESERVED_TAG, sn, done, buf + done, n,
						  done + n == len))
					rc = failf("send failed");
				done += n;
			}
			if (!rc)
				rc = finish_bad_write(&c, itt, buf, edtl, 0x04, 0x09);
		}
		free(buf);
	}
	conn_close(&c);
	return rc;
}

static int case_data_out_beyond_r2t(void)
{
	struct conn c;
	uint32_t bs, last, itt, ttt, off, len;
	if (open_and_login(&c))
		return -1;
	int rc = read_capacity(&c, &bs, &last);
	if (!rc)
		rc = write_until_r2t(&c, 300, 8, bs, &itt, &ttt, &off, &len);
	if (!rc) {
		/* The tgt heap overflow: data past the R2T (and past EDTL), then
		 * an offset that wraps 32 bits, then a sane tail with F=1. */
		uint32_t big = 8 * bs;
		uint8_t *junk = malloc(big);
		memset(junk, 0xcc, big);
		if (send_data_out(&c, itt, ttt, 0, off + len - bs, junk, big, false) ||
		    send_data_out(&c, itt, ttt, 1, 0xfffffe00u, junk, 1024, false) ||
		    send_data_out(&c, itt, ttt, 2, off, junk, len, true))
			rc = 0; /* the target may drop us while we send */
		else
			rc = finish_bad_write(&c, itt, NULL, 0, 0x04, 0x09);
		free(junk);
	}
	conn_close(&c);
	return rc;
}

static int case_data_out_unknown_itt(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	uint8_t data[512] = {0};
	uint8_t b[BHS_LEN] = {OP_DATA_OUT, F_FINAL};
	put32(b + 16, 0x00badbad);
	put32(b + 20, 0x1234);
	put32(b + 28, c.exp_statsn);
	bool closed;
	int rc = send_pdu(&c, b, data, sizeof(data))
		     ? failf("send failed")
		     : expect_reject(&c, b, 0x09, 0x04, false, &closed);
	if (!rc)
		rc = same_conn_works(&c);
	conn_close(&c);
	return rc;
}

static int case_data_out_wrong_ttt(void)
{
	struct conn c;
	uint32_t bs, last, itt, ttt, off, len;
	if (open_and_login(&c))
		return -1;
	int rc = read_capacity(&c, &bs, &last);
	if (!rc)
		rc = write_until_r2t(&c, 400, 4, bs, &itt, &ttt, &off, &len);
	if (!rc) {
		uint8_t *buf = calloc(1, 4 * bs);
		if (send_data_out(&c, itt, ttt ^ 0x5a5a0000u, 0, off, buf, len, true) ||
		    send_data_out(&c, itt, ttt, 0, off, buf, len, true))
			rc = 0;
		else
			rc = finish_bad_write(&c, itt, NULL, 0, 0x09, 0x04);
		free(buf);
	}
	conn_close(&c);
	return rc;
}

static int case_data_out_wrong_datasn(void)
{
	struct conn c;
	uint32_t bs, last, itt, ttt, off, len;
	if (open_and_login(&c))
		return -1;
	int rc = read_capacity(&c, &bs, &last);
	if (!rc)
		rc = write_until_r2t(&c, 500, 4, bs, &itt, &ttt, &off, &len);
	if (!rc) {
		uint8_t *buf = calloc(1, 4 * bs);
		uint32_t half = len / 2;
		if (send_data_out(&c, itt, ttt, 0, off, buf, half, false) ||
		    send_data_out(&c, itt, ttt, 7, off + half, buf, len - half, true))
			rc = 0;
		else
			rc = finish_bad_write(&c, itt, NULL, 0, 0x04, 0x09);
		free(buf);
	}
	conn_close(&c);
	return rc;
}

/*
 * Data-Out that does not tile the buffer.  The target does not zero a
 * WRITE's buffer, so a byte the initiator never sent must never reach the
 * medium: each of these must end the command with something other than
 * GOOD (and a Reject), because with DataPDUInOrder=Yes every PDU of a
 * sequence starts where the previous one ended.
 */
enum tiling { TILE_GAP, TILE_OVERLAP, TILE_UNSOL_HOLE };

/* R2T sequence of `len` bytes at off, answered with three PDUs that cover
 * it exactly once but out of order (gap, then the gap filled last), or
 * with two that overlap and so leave the tail unsent while the byte count
 * still adds up. */
static int tiling_r2t(struct conn *c, uint32_t itt, uint32_t ttt, uint32_t off, uint32_t len,
		      uint32_t bs, const uint8_t *buf, enum tiling how)
{
	uint32_t half = len / 2;
	if (how == TILE_GAP)
		return send_data_out(c, itt, ttt, 0, off, buf, half, false) ||
		       send_data_out(c, itt, ttt, 1, off + half + bs, buf, len - half - bs,
				     false) ||
		       send_data_out(c, itt, ttt, 2, off + half, buf, bs, true);
	return send_data_out(c, itt, ttt, 0, off, buf, half, false) ||
	       send_data_out(c, itt, ttt, 1, off + half - bs, buf, len - half, true);
}

static int tiling_case(enum tiling how)
{
	struct conn c;
	uint32_t bs, last, itt, ttt, off, len;
	if (open_and_login(&c))
		return -1;
	int rc = read_capacity(&c, &bs, &last);
	uint8_t *buf = calloc(1, 64 * 1024);
	if (!rc && how != TILE_UNSOL_HOLE) {
		rc = write_until_r2t(&c, 600 + how * 16, 8, bs, &itt, &ttt, &off, &len);
		if (!rc && len < 4 * bs)
			rc = failf("R2T for %u bytes: too short for the case", len);
		if (!rc)
			rc = tiling_r2t(&c, itt, ttt, off, len, bs, buf, how)
				 ? 0 /* the target may drop us while we send */
				 : finish_bad_write(&c, itt, NULL, 0, 0x04, 0x09);
	} else if (!rc && c.initial_r2t) {
		rc = failf("InitialR2T=Yes negotiated; cannot test");
	} else if (!rc) {
		/* Unsolicited data that skips the first block: the R2Ts then
		 * solicit only what follows its end. */
		uint8_t cdb[10], b[BHS_LEN];
		uint16_t blocks = 8;
		write10_cdb(cdb, 650, blocks);
		itt = c.itt++;
		cmd_bhs(&c, b, itt, 0, F_WRITE, blocks * bs, cdb, 10, false);
		if (send_pdu(&c, b, NULL, 0) ||
		    send_data_out(&c, itt, RESERVED_TAG, 0, bs, buf, bs, true))
			rc = failf("send failed");
		else
			rc = finish_bad_write(&c, itt, buf, blocks * bs, 0x04, 0x09);
	}
	free(buf);
	conn_close(&c);
	return rc;
}

static int case_data_out_gap(void) { return tiling_case(TILE_GAP); }
static int case_data_out_overlap(void) { return tiling_case(TILE_OVERLAP); }
static int case_unsolicited_hole(void) { return tiling_case(TILE_UNSOL_HOLE); }

static int case_snack_erl0(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	/* Status SNACK for StatSN 0: not supported at ErrorRecoveryLevel 0. */
	uint8_t b[BHS_LEN] = {OP_SNACK_REQ, F_FINAL | 0x01};
	put32(b + 16, RESERVED_TAG);
	put32(b + 20, RESERVED_TAG);
	put32(b + 28, c.exp_statsn);
	put32(b + 40, 0);
	put32(b + 44, 1);
	bool closed;
	int rc = send_pdu(&c, b, NULL, 0) ? failf("send failed")
					  : expect_reject(&c, b, 0x04, 0x05, false, &closed);
	if (!rc)
		rc = same_conn_works(&c);
	conn_close(&c);
	return rc;
}

/* One command on a fresh session; CHECK CONDITION with this sense wanted. */
static int expect_sense(uint8_t lun, const uint8_t *cdb, uint8_t rw, uint32_t edtl, uint8_t key,
			uint8_t asc, uint8_t ascq)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	/* The new nexus's unit attention would hide the sense we want. */
	int rc = lun == 0 ? tur_good(&c, "before") : 0;
	struct scsi_res r = {0};
	char d[160];
	if (!rc) {
		for (int i = 0; i < 3; i++) {
			res_free(&r);
			scsi(&c, lun, cdb, 16, rw, edtl, NULL, &r);
			if (!sense_is(&r, 6, r.sense[12], r.sense[13]))
				break;
		}
		if (!sense_is(&r, key, asc, ascq))
			rc = failf("expected CHECK CONDITION %x %02xh/%02xh, got %s", key, asc,
				   ascq, describe(&r, d, sizeof(d)));
		else
			rc = tur_good(&c, "afterwards");
	}
	res_free(&r);
	conn_close(&c);
	return rc;
}

static int case_invalid_cdb_opcode(void)
{
	uint8_t cdb[16] = {0x02}; /* no such command for a disk */
	return expect_sense(0, cdb, 0, 0, 0x5, 0x20, 0x00);
}

static int case_read_beyond_end(void)
{
	struct conn c;
	uint32_t bs, last;
	if (open_and_login(&c))
		return -1;
	int rc = tur_good(&c, "before") || read_capacity(&c, &bs, &last);
	conn_close(&c);
	if (rc)
		return -1;
	uint8_t cdb[16] = {0x28};
	put32(cdb + 2, last + 1);
	put16(cdb + 7, 1);
	return expect_sense(0, cdb, F_READ, bs, 0x5, 0x21, 0x00);
}

static int case_lun_not_mapped(void)
{
	uint8_t cdb[16] = {0x00};
	return expect_sense(7, cdb, 0, 0, 0x5, 0x25, 0x00);
}

static int case_tmf_abort_unknown(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	uint8_t b[BHS_LEN] = {OP_TMF_REQ | OP_IMMEDIATE, F_FINAL | 1 /* ABORT TASK */};
	put32(b + 16, 0x5151);
	put32(b + 20, 0x0dead0); /* Referenced Task Tag: never used */
	put32(b + 24, c.cmdsn);
	put32(b + 28, c.exp_statsn);
	put32(b + 32, c.cmdsn); /* RefCmdSN */
	int rc = 0;
	struct pdu p = {0};
	enum rx r;
	if (send_pdu(&c, b, NULL, 0)) {
		rc = failf("send failed");
	} else if ((r = recv_pdu(&c, &p))) {
		rc = failf("no TMF response (%s)", r == RX_CLOSED ? "closed" : "timeout");
	} else if ((p.bhs[0] & 0x3f) != OP_TMF_RSP) {
		rc = failf("opcode 0x%02x instead of a TMF response", p.bhs[0] & 0x3f);
	} else if (get32(p.bhs + 16) != 0x5151) {
		rc = failf("TMF response for ITT 0x%x", get32(p.bhs + 16));
	} else if (p.bhs[2] != 0 && p.bhs[2] != 1) {
		/* RFC 7143 11.6.1: "task does not exist" or, since the task may
		 * have completed, "function complete". */
		rc = failf("TMF response %u", p.bhs[2]);
	}
	pdu_free(&p);
	if (!rc)
		rc = same_conn_works(&c);
	conn_close(&c);
	return rc;
}

/* LUN RESET (function 5) for LUN 0, sent on c; 0 if "function complete". */
static int lun_reset(struct conn *c)
{
	uint8_t b[BHS_LEN] = {OP_TMF_REQ | OP_IMMEDIATE, F_FINAL | 5};
	put32(b + 16, 0x5252);
	put32(b + 20, RESERVED_TAG);
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
	struct pdu p = {0};
	enum rx r;
	int rc = 0;
	if (send_pdu(c, b, NULL, 0))
		rc = failf("LUN RESET: send failed");
	else if ((r = recv_pdu(c, &p)))
		rc =
		    failf("LUN RESET: no TMF response (%s)", r == RX_CLOSED ? "closed" : "timeout");
	else if ((p.bhs[0] & 0x3f) != OP_TMF_RSP || get32(p.bhs + 16) != 0x5252 || p.bhs[2])
		rc = failf("LUN RESET: opcode 0x%02x ITT 0x%x response %u", p.bhs[0] & 0x3f,
			   get32(p.bhs + 16), p.bhs[2]);
	pdu_free(&p);
	return rc;
}

/* SAM-5 7.7: a LUN RESET from one nexus aborts the tasks of every nexus.
 * The other nexus's WRITE (waiting for its Data-Out) must never be
 * answered (TAS=0), and that nexus then learns of the reset from the unit
 * attention BUS DEVICE RESET FUNCTION OCCURRED (29h/03h). */
static int case_lun_reset_aborts_other_nexus(void)
{
	struct conn a, b;
	uint32_t bs, last, itt, ttt, off, len;
	if (open_and_login(&a))
		return -1;
	if (open_and_login(&b)) {
		conn_close(&a);
		return -1;
	}
	int rc = read_capacity(&a, &bs, &last);
	if (!rc)
		rc = tur_good(&b, "B before the reset");
	if (!rc)
		rc = write_until_r2t(&a, 600, 4, bs, &itt, &ttt, &off, &len);
	if (!rc)
		rc = lun_reset(&b);
	if (!rc) {
		/* Give the reset time to reach A's reactor, then send the data. */
		usleep(300 * 1000);
		uint8_t *buf = calloc(1, 4 * bs);
		if (!buf || send_data_out(&a, itt, ttt, 0, off, buf, len, true))
			rc = failf("A: Data-Out send failed");
		free(buf);
	}
	if (!rc) {
		struct timeval tv = {.tv_sec = 1};
		setsockopt(a.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		struct pdu p = {0};
		enum rx r;
		while (!rc && (r = recv_pdu(&a, &p)) == RX_OK) {
			if ((p.bhs[0] & 0x3f) == OP_SCSI_RSP && get32(p.bhs + 16) == itt)
				rc = failf("A: the aborted WRITE was answered (status 0x%02x)",
					   p.bhs[3]);
			pdu_free(&p);
		}
		pdu_free(&p);
		tv.tv_sec = RX_TIMEOUT_S;
		setsockopt(a.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (!rc && r == RX_CLOSED)
			rc = failf("A: connection closed after the reset");
	}
	if (!rc) {
		struct scsi_res r;
		char d[160];
		tur(&a, 0, &r);
		if (!sense_is(&r, 6, 0x29, 0x03))
			rc = failf("A: TEST UNIT READY after the reset: %s instead of UNIT "
				   "ATTENTION 29h/03h",
				   describe(&r, d, sizeof(d)));
		res_free(&r);
	}
	if (!rc)
		rc = tur_good(&a, "A after the unit attention");
	conn_close(&a);
	conn_close(&b);
	return rc;
}

static int case_nop_ping_data(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	uint8_t data[1001];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
	put32(b + 16, 0x6161);
	put32(b + 20, RESERVED_TAG);
	put32(b + 24, c.cmdsn);
	put32(b + 28, c.exp_statsn);
	int rc = 0;
	struct pdu p = {0};
	enum rx r;
	if (send_pdu(&c, b, data, sizeof(data)))
		rc = failf("send failed");
	else if ((r = recv_pdu(&c, &p)))
		rc = failf("no NOP-In (%s)", r == RX_CLOSED ? "closed" : "timeout");
	else if ((p.bhs[0] & 0x3f) != OP_NOP_IN)
		rc = failf("opcode 0x%02x instead of NOP-In", p.bhs[0] & 0x3f);
	else if (get32(p.bhs + 16) != 0x6161 || get32(p.bhs + 20) != RESERVED_TAG)
		rc = failf("NOP-In ITT 0x%x TTT 0x%x", get32(p.bhs + 16), get32(p.bhs + 20));
	else if (p.dlen != sizeof(data) || memcmp(p.data, data, sizeof(data)))
		rc = failf("ping data not echoed (%u bytes back)", p.dlen);
	pdu_free(&p);
	if (!rc)
		rc = same_conn_works(&c);
	conn_close(&c);
	return rc;
}

/* Waits for a target-initiated NOP-In ping (ITT reserved, TTT set). */
static int expect_ping(struct conn *c, uint32_t *ttt)
{
	struct pdu p = {0};
	enum rx r = recv_pdu(c, &p);
	int rc = 0;
	if (r)
		rc = failf("no NOP-In ping (%s)", r == RX_CLOSED ? "closed" : "timeout");
	else if ((p.bhs[0] & 0x3f) != OP_NOP_IN || get32(p.bhs + 16) != RESERVED_TAG ||
		 get32(p.bhs + 20) == RESERVED_TAG)
		rc = failf("expected a NOP-In ping, got opcode 0x%02x ITT 0x%x TTT 0x%x",
			   p.bhs[0] & 0x3f, get32(p.bhs + 16), get32(p.bhs + 20));
	else
		*ttt = get32(p.bhs + 20);
	pdu_free(&p);
	return rc;
}

/* NopInInterval 1 / NopInTimeout 2 on the "-keepalive" target: an idle
 * initiator is pinged, an answered ping keeps the connection, an
 * unanswered one closes it (RFC 7143 11.19, iSCSI-SCST's NopIn* keys). */
static int case_nop_in_keepalive(void)
{
	static char name[512];
	const char *normal = g_target;
	snprintf(name, sizeof(name), "%s-keepalive", normal);
	g_target = name;
	struct conn c;
	int rc = open_and_login(&c);
	g_target = normal;
	if (rc)
		return -1;
	c.raw_pings = true;
	uint32_t ttt = 0;
	rc = expect_ping(&c, &ttt);
	if (!rc) {
		uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
		put32(b + 16, RESERVED_TAG);
		put32(b + 20, ttt);
		put32(b + 24, c.cmdsn);
		put32(b + 28, c.exp_statsn);
		if (send_pdu(&c, b, NULL, 0))
			rc = failf("cannot answer the ping");
	}
	if (!rc)
		rc = expect_ping(&c, &ttt); /* answered: still connected, pinged again */
	if (!rc) {
		/* Unanswered: closed after NopInTimeout (2 s); allow two receive timeouts. */
		struct pdu p = {0};
		enum rx r = recv_pdu(&c, &p);
		if (r == RX_TIMEOUT)
			r = recv_pdu(&c, &p);
		if (r != RX_CLOSED)
			rc = failf("connection not closed after an unanswered ping (%s)",
				   r == RX_OK ? "got a PDU" : "timeout");
		pdu_free(&p);
	}
	conn_close(&c);
	return rc;
}

static int case_cmdsn_outside_window(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	int rc = tur_good(&c, "before");
	if (!rc) {
		uint8_t b[BHS_LEN];
		const uint8_t cdb[6] = {0x00};
		uint32_t good = c.cmdsn;
		c.cmdsn += 1000000;
		cmd_bhs(&c, b, 0x7171, 0, F_FINAL, 0, cdb, 6, false);
		c.cmdsn = good;
		struct pdu p = {0};
		/* RFC 7143 4.2.2.1: silently ignored.  Use a shorter wait than
		 * the receive timeout: nothing should come at all. */
		struct timeval tv = {.tv_sec = 1};
		setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		enum rx r = send_pdu(&c, b, NULL, 0) ? RX_CLOSED : recv_pdu(&c, &p);
		tv.tv_sec = RX_TIMEOUT_S;
		setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (r == RX_OK)
			rc = failf("answered with opcode 0x%02x instead of ignoring it",
				   p.bhs[0] & 0x3f);
		else if (r == RX_CLOSED)
			rc = failf("connection closed instead of ignoring the command");
		else
			rc = tur_good(&c, "correct CmdSN afterwards");
		pdu_free(&p);
	}
	conn_close(&c);
	return rc;
}

static int case_header_digest_wrong(void)
{
	struct conn c;
	if (conn_open(&c))
		return -1;
	struct login_opts o = {.header_digest = true};
	int rc = login(&c, &o, NULL);
	if (!rc && !c.hd)
		rc = failf("target did not agree to HeaderDigest=CRC32C");
	/* First prove our digests are right: a ping with a good one. */
	if (!rc)
		rc = tur_good(&c, "with header digests");
	if (!rc) {
		uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
		put32(b + 16, 0x8181);
		put32(b + 20, RESERVED_TAG);
		put32(b + 24, c.cmdsn);
		put32(b + 28, c.exp_statsn);
		/* RFC 7143 7.8: a header digest error drops the connection at ERL 0. */
		if (send_pdu_ex(&c, b, NULL, 0, NULL, 0, false, CORRUPT_HD))
			rc = 0;
		else if (!wait_closed(&c))
			rc = failf("connection not closed after a bad header digest");
	}
	conn_close(&c);
	return rc;
}

static int case_half_pdu_login(void)
{
	struct conn c;
	if (conn_open(&c))
		return -1;
	uint8_t b[BHS_LEN];
	login_bhs(&c, b, FFP_FLAGS);
	int rc = send_all(&c, b, 30) ? failf("send failed") : 0;
	conn_close(&c);
	return rc;
}

static int case_half_pdu_ffp(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	/* A header announcing 4000 bytes of data, then 100 bytes, then close. */
	uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
	put32(b + 16, 0x9191);
	put32(b + 20, RESERVED_TAG);
	put32(b + 24, c.cmdsn);
	put24(b + 5, 4000);
	uint8_t data[100] = {0};
	int rc =
	    send_all(&c, b, BHS_LEN) || send_all(&c, data, sizeof(data)) ? failf("send failed") : 0;
	conn_close(&c);
	return rc;
}

static int case_tsih_unknown(void)
{
	struct conn c;
	if (conn_open(&c))
		return -1;
	/* A non-leading login into a session that does not exist: 0x020a. */
	c.tsih = 0x7eef;
	struct keys k;
	std_keys(&k, true, NULL);
	uint8_t b[BHS_LEN];
	login_bhs(&c, b, FFP_FLAGS);
	int rc = 0;
	struct pdu p = {0};
	if (send_pdu(&c, b, (const uint8_t *)k.buf, k.len) || recv_pdu(&c, &p))
		rc = failf("no Login Response");
	else if ((p.bhs[0] & 0x3f) != OP_LOGIN_RSP || get16(p.bhs + 36) != 0x020a)
		rc = failf("opcode 0x%02x status 0x%04x, expected Login Response 0x020a",
			   p.bhs[0] & 0x3f, get16(p.bhs + 36));
	pdu_free(&p);
	conn_close(&c);
	return rc;
}

/* failf() with a prefix in front of the reason already in g_why (copied
 * first: g_why cannot be both the format argument and the destination). */
static int refail(const char *what)
{
	char why[sizeof(g_why)];
	snprintf(why, sizeof(why), "%s", g_why);
	return failf("%s: %s", what, why);
}

/* --- cases: data digests (RFC 7143 7.8 at ErrorRecoveryLevel 0) --- */

static uint32_t dd_blocks = 8;
/* Less than dd_blocks blocks: a WRITE needs immediate data and an R2T. */
static uint32_t dd_first_burst = 2048;
/* Our MaxRecvDataSegmentLength: an 8-block READ comes in several Data-In
 * PDUs, each with a digest of its own. */
#define DD_MRDSL 1024
/* Our Data-Out size: several Data-Out PDUs (and digests) per R2T. */
static uint32_t dd_piece = 1024;

enum dd_fault { DD_NONE, DD_IMMEDIATE, DD_DATA_OUT };
static const char *const dd_fault_name[] = {"no fault", "bad data digest on the immediate data",
					    "bad data digest on the first solicited Data-Out"};

/* Block contents that differ from block to block and from seed to seed. */
static void dd_pattern(uint8_t *p, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + (i >> 9) * 7 + seed);
}

/* What a line error does to a PDU's data: one byte in every 512 changes,
 * so each block of the PDU differs from the data it was meant to carry. */
static void dd_corrupt(uint8_t *p, uint32_t len)
{
	for (uint32_t i = 100; i < len; i += 512)
		p[i] ^= 0xff;
}

/* Fails if any PDU the target sent had a data digest that did not verify. */
static int dd_check_rx(const struct conn *c, const char *what)
{
	if (c->dd_bad)
		return failf("%s: the target sent %u PDU(s) with a wrong data digest (the first "
			     "had opcode 0x%02x)",
			     what, c->dd_bad, c->dd_bad_op);
	return 0;
}

/* Logs in with DataDigest=CRC32C (and HeaderDigest=CRC32C if hd), lets the
 * new nexus's unit attention go by and gets the block size. */
static int dd_login(struct conn *c, bool hd, uint32_t *bs)
{
	struct login_opts o = {.header_digest = hd,
			       .data_digest = true,
			       .first_burst = dd_first_burst,
			       .mrdsl = DD_MRDSL};
	uint32_t last;
	if (conn_open(c))
		return -1;
	int rc = login(c, &o, NULL);
	if (!rc && !c->dd)
		rc = failf("target did not agree to DataDigest=CRC32C");
	else if (!rc && hd && !c->hd)
		rc = failf("target did not agree to HeaderDigest=CRC32C");
	else if (!rc && !c->immediate_data)
		rc = failf("ImmediateData=No negotiated; cannot test");
	if (!rc && (tur_good(c, "with data digests") || read_capacity(c, bs, &last)))
		rc = -1;
	if (!rc && dd_blocks * *bs <= c->first_burst)
		rc = failf("FirstBurstLength %u covers the whole %u-byte WRITE: no R2T needed",
			   c->first_burst, dd_blocks * *bs);
	if (!rc)
		rc = dd_check_rx(c, "TEST UNIT READY / READ CAPACITY");
	if (rc)
		conn_close(c);
	return rc;
}

/* WRITE(10) of dd_blocks blocks at lba from data[]: immediate data (F=1, so
 * no unsolicited Data-Out) up to FirstBurstLength, the rest in dd_piece
 * Data-Out PDUs answering R2Ts.  fault picks the one PDU whose data changes
 * after its digest was computed.  wire[] gets what really went out, and
 * bad_off and bad_len the corrupted range (length 0 if none).
 * DD_NONE wants no Reject and GOOD.  A fault wants RFC 7143 7.8 at ERL 0:
 * one Reject reason 0x02 carrying the faulty PDU's header, the rest of the
 * data still solicited (the rejected data counts), then CHECK CONDITION,
 * ABORTED COMMAND, 47h/05h PROTOCOL SERVICE CRC ERROR. */
static int dd_write(struct conn *c, uint32_t lba, uint32_t bs, const uint8_t *data,
		    enum dd_fault fault, uint8_t *wire, uint32_t *bad_off, uint32_t *bad_len)
{
	uint32_t edtl = dd_blocks * bs;
	uint32_t imm = c->first_burst < c->tgt_mrdsl ? c->first_burst : c->tgt_mrdsl;
	uint8_t cdb[10], b[BHS_LEN], bad_bhs[BHS_LEN];
	memcpy(wire, data, edtl);
	*bad_off = *bad_len = 0;
	write10_cdb(cdb, lba, dd_blocks);
	uint32_t itt = c->itt++;
	cmd_bhs(c, b, itt, 0, F_FINAL | F_WRITE, edtl, cdb, 10, false);
	if (fault == DD_IMMEDIATE) {
		dd_corrupt(wire, imm);
		*bad_len = imm;
	}
	if (send_pdu_ex(c, b, NULL, 0, wire, imm, false, fault == DD_IMMEDIATE ? CORRUPT_DD : 0))
		return failf("WRITE(10), %s: send failed", dd_fault_name[fault]);
	memcpy(bad_bhs, b, BHS_LEN); /* as sent: DataSegmentLength filled in */
	struct scsi_res res = {0};
	unsigned r2ts = 0, rejects = 0;
	uint32_t solicited = 0;
	int rc = 0;
	char d[160];
	while (!rc && !res.done) {
		struct pdu p;
		enum rx r = recv_pdu(c, &p);
		if (r) {
			rc = failf("%s after %u R2T(s) and %u Reject(s), before any SCSI Response",
				   r == RX_CLOSED ? "connection closed" : "nothing more received",
				   r2ts, rejects);
			break;
		}
		uint8_t op = p.bhs[0] & 0x3f;
		if (op == OP_REJECT) {
			uint8_t rop = p.dlen >= BHS_LEN ? p.data[0] & 0x3f : 0xff;
			uint32_t ritt = p.dlen >= BHS_LEN ? get32(p.data + 16) : 0;
			if (++rejects > 1)
				rc = failf("a second Reject (reason 0x%02x, opcode 0x%02x) for one "
					   "faulty PDU",
					   p.bhs[2], rop);
			else if (fault == DD_NONE)
				rc = failf("Reject reason 0x%02x of opcode 0x%02x though every "
					   "digest was right",
					   p.bhs[2], rop);
			else if (p.bhs[2] != 0x02)
				rc =
				    failf("Reject reason 0x%02x, expected 0x02 (data digest error)",
					  p.bhs[2]);
			else if (p.dlen < BHS_LEN)
				rc = failf("the Reject carries %u bytes, not the rejected 48-byte "
					   "header",
					   p.dlen);
			else if (!*bad_len)
				rc =
				    failf("Reject 0x02 of opcode 0x%02x before the faulty Data-Out "
					  "was sent",
					  rop);
			else if (memcmp(p.data, bad_bhs, BHS_LEN))
				rc = failf("the Reject carries a header (opcode 0x%02x ITT 0x%x) "
					   "that is not the faulty PDU's (opcode 0x%02x ITT 0x%x "
					   "offset %u)",
					   rop, ritt, bad_bhs[0] & 0x3f, get32(bad_bhs + 16),
					   get32(bad_bhs + 40));
		} else if (op == OP_R2T && get32(p.bhs + 16) == itt) {
			uint32_t ttt = get32(p.bhs + 20), off = get32(p.bhs + 40),
				 len = get32(p.bhs + 44);
			r2ts++;
			if (!len || off < imm || (uint64_t)off + len > edtl)
				rc = failf("R2T for offset %u length %u of a %u-byte WRITE whose "
					   "first %u bytes came as immediate data",
					   off, len, edtl, imm);
			for (uint32_t done = 0, sn = 0; !rc && done < len; sn++) {
				uint32_t n = len - done < dd_piece ? len - done : dd_piece;
				unsigned corrupt = 0;
				if (fault == DD_DATA_OUT && !*bad_len) {
					dd_corrupt(wire + off + done, n);
					*bad_off = off + done;
					*bad_len = n;
					corrupt = CORRUPT_DD;
				}
				if (send_data_out_ex(c, itt, ttt, sn, off + done, wire + off + done,
						     n, done + n == len, corrupt,
						     corrupt ? bad_bhs : NULL))
					rc = failf("Data-Out send failed (connection closed?)");
				done += n;
			}
			solicited += len;
		} else if (op == OP_SCSI_RSP && get32(p.bhs + 16) == itt) {
			take_response(&p, &res);
		} else {
			rc = failf("unexpected opcode 0x%02x (ITT 0x%x) during the WRITE", op,
				   get32(p.bhs + 16));
		}
		pdu_free(&p);
	}
	res.rejects = rejects; /* for describe() */
	if (rc)
		;
	else if (!r2ts)
		rc = failf("no R2T: the %u bytes after the immediate data were never solicited",
			   edtl - imm);
	else if (imm + solicited != edtl)
		rc = failf("%u bytes immediate + %u solicited for a %u-byte WRITE", imm, solicited,
			   edtl);
	else if (res.response)
		rc = failf("SCSI Response with response 0x%02x, not 0 (command completed at "
			   "target)",
			   res.response);
	else if (fault == DD_NONE && res.status != ST_GOOD)
		rc = failf("%s", describe(&res, d, sizeof(d)));
	else if (fault != DD_NONE && !rejects)
		rc = failf("no Reject (reason 0x02) before the SCSI Response; %s",
			   describe(&res, d, sizeof(d)));
	else if (fault != DD_NONE && !sense_is(&res, 0x0b, 0x47, 0x05))
		rc = failf("expected CHECK CONDITION ABORTED COMMAND 47h/05h (PROTOCOL "
			   "SERVICE CRC ERROR), got %s",
			   describe(&res, d, sizeof(d)));
	else
		rc = dd_check_rx(c, "during the WRITE");
	if (rc) {
		char what[128];
		snprintf(what, sizeof(what), "WRITE(10) of LBA %u, %s", lba, dd_fault_name[fault]);
		return refail(what);
	}
	return 0;
}

static int case_dd_roundtrip(void)
{
	struct conn c;
	uint32_t bs, off, len;
	if (dd_login(&c, true, &bs))
		return -1;
	uint32_t lba = 2000, edtl = dd_blocks * bs;
	uint8_t *data = malloc(edtl), *wire = malloc(edtl);
	dd_pattern(data, edtl, 0x21);
	int rc = dd_write(&c, lba, bs, data, DD_NONE, wire, &off, &len);
	if (!rc) {
		struct scsi_res r;
		char d[160];
		unsigned before = c.dd_ok;
		read10(&c, 0, lba, dd_blocks, edtl, &r);
		unsigned verified = c.dd_ok - before;
		if ((rc = dd_check_rx(&c, "READ(10)")))
			;
		else if (!r.done || r.status != ST_GOOD || r.in_len != edtl)
			rc = failf("READ(10): %s, %u of %u bytes", describe(&r, d, sizeof(d)),
				   r.in_len, edtl);
		else if (memcmp(r.in, data, edtl))
			rc = failf("READ(10) returned other data than the WRITE(10) stored");
		else if (verified < edtl / DD_MRDSL)
			rc = failf("only %u data digest(s) verified for a %u-byte READ(10) with "
				   "our MaxRecvDataSegmentLength %u: expected at least %u Data-In "
				   "PDUs",
				   verified, edtl, DD_MRDSL, edtl / DD_MRDSL);
		res_free(&r);
	}
	free(data);
	free(wire);
	conn_close(&c);
	return rc;
}

/* A faulty WRITE on a connection with data digests; the connection must
 * carry commands afterwards. */
static int dd_bad_write(enum dd_fault fault, bool hd, uint32_t lba)
{
	struct conn c;
	uint32_t bs, off, len;
	if (dd_login(&c, hd, &bs))
		return -1;
	uint32_t edtl = dd_blocks * bs;
	uint8_t *data = malloc(edtl), *wire = malloc(edtl);
	dd_pattern(data, edtl, 0x42);
	int rc = dd_write(&c, lba, bs, data, fault, wire, &off, &len);
	if (!rc)
		rc = same_conn_works(&c);
	if (!rc)
		rc = dd_check_rx(&c, "TEST UNIT READY afterwards");
	free(data);
	free(wire);
	conn_close(&c);
	return rc;
}

/* The same with large PDUs, each sent in two parts (g_split): a target
 * that receives a data segment straight into the command's buffer, not
 * through its receive buffer, must still check the digest over exactly
 * those bytes, answer a bad one as above, and store a good one intact. */
static int dd_in_place(enum dd_fault fault)
{
	uint32_t blocks = dd_blocks, first_burst = dd_first_burst, piece = dd_piece;
	dd_blocks = 512;
	dd_first_burst = 65536;
	dd_piece = 65536;
	g_split = true;
	int rc = fault == DD_NONE ? case_dd_roundtrip() : dd_bad_write(fault, true, 3000);
	g_split = false;
	dd_blocks = blocks;
	dd_first_burst = first_burst;
	dd_piece = piece;
	return rc;
}

static int case_dd_in_place_roundtrip(void) { return dd_in_place(DD_NONE); }
static int case_dd_in_place_bad_immediate(void) { return dd_in_place(DD_IMMEDIATE); }
static int case_dd_in_place_bad_dataout(void) { return dd_in_place(DD_DATA_OUT); }

static int case_dd_bad_immediate(void) { return dd_bad_write(DD_IMMEDIATE, false, 2100); }
static int case_dd_bad_dataout(void) { return dd_bad_write(DD_DATA_OUT, true, 2200); }

/* Old data, then a WRITE that fails on a data digest, then READ(10): the
 * bytes that failed their digest must not be on the disk.  The command
 * failed, so the rest may hold old or new data (the target's choice). */
static int dd_verify(struct conn *c, uint32_t bs, enum dd_fault fault, uint32_t lba)
{
	uint32_t edtl = dd_blocks * bs, off, len;
	uint8_t *old = malloc(edtl), *data = malloc(edtl), *wire = malloc(edtl);
	dd_pattern(old, edtl, 0x11 + lba);
	dd_pattern(data, edtl, 0x77 + lba);
	int rc = dd_write(c, lba, bs, old, DD_NONE, wire, &off, &len);
	if (!rc)
		rc = dd_write(c, lba, bs, data, fault, wire, &off, &len);
	if (!rc) {
		struct scsi_res r;
		char d[160];
		read10(c, 0, lba, dd_blocks, edtl, &r);
		if ((rc = dd_check_rx(c, "READ(10)")))
			;
		else if (!r.done || r.status != ST_GOOD || r.in_len != edtl)
			rc = failf("READ(10) after the failed WRITE: %s, %u of %u bytes",
				   describe(&r, d, sizeof(d)), r.in_len, edtl);
		/* Piece by piece: each 512 bytes of the range carry a changed byte. */
		for (uint32_t i = off; !rc && i < off + len; i += 512) {
			uint32_t n = off + len - i < 512 ? off + len - i : 512;
			if (!memcmp(r.in + i, wire + i, n))
				rc = failf("after the failed WRITE (%s), bytes %u-%u from LBA %u "
					   "hold the payload whose data digest was wrong",
					   dd_fault_name[fault], i, i + n - 1, lba);
		}
		res_free(&r);
	}
	free(old);
	free(data);
	free(wire);
	return rc;
}

static int case_dd_verify_block(void)
{
	struct conn c;
	uint32_t bs;
	if (dd_login(&c, false, &bs))
		return -1;
	int rc = dd_verify(&c, bs, DD_IMMEDIATE, 2300);
	if (!rc)
		rc = dd_verify(&c, bs, DD_DATA_OUT, 2400);
	conn_close(&c);
	return rc;
}

static int case_dd_bad_nop(void)
{
	struct conn c;
	uint32_t bs;
	if (dd_login(&c, false, &bs))
		return -1;
	/* 1001 bytes: the digest covers the 3 pad bytes too. */
	uint8_t data[1001];
	dd_pattern(data, sizeof(data), 0x33);
	uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
	put32(b + 16, 0x6262);
	put32(b + 20, RESERVED_TAG);
	put32(b + 24, c.cmdsn);
	put32(b + 28, c.exp_statsn);
	struct pdu p = {0};
	enum rx r;
	int rc = 0;
	if (send_pdu_ex(&c, b, NULL, 0, data, sizeof(data), false, CORRUPT_DD))
		rc = failf("send failed");
	else if ((r = recv_pdu(&c, &p)))
		rc = failf("no Reject for a ping whose data digest was wrong (%s)",
			   r == RX_CLOSED ? "connection closed" : "timeout");
	else if ((p.bhs[0] & 0x3f) == OP_NOP_IN && get32(p.bhs + 16) == 0x6262)
		rc = failf("the ping whose data digest was wrong was answered with a NOP-In "
			   "(%u bytes) instead of a Reject",
			   p.dlen);
	else if ((p.bhs[0] & 0x3f) != OP_REJECT)
		rc = failf("opcode 0x%02x instead of a Reject", p.bhs[0] & 0x3f);
	else if (p.bhs[2] != 0x02)
		rc = failf("Reject reason 0x%02x, expected 0x02 (data digest error)", p.bhs[2]);
	else if (p.dlen < BHS_LEN || memcmp(p.data, b, BHS_LEN))
		rc = failf("the Reject does not carry the rejected NOP-Out header (%u bytes)",
			   p.dlen);
	pdu_free(&p);
	if (!rc) {
		/* A good ping next: its echo must be the next PDU, so a late echo
		 * of the rejected one shows up before it. */
		put32(b + 16, 0x6363);
		if (send_pdu(&c, b, data, sizeof(data)))
			rc = failf("send of the second ping failed");
		else if ((r = recv_pdu(&c, &p)))
			rc = failf("no NOP-In for a good ping after the Reject (%s)",
				   r == RX_CLOSED ? "connection closed" : "timeout");
		else if ((p.bhs[0] & 0x3f) == OP_NOP_IN && get32(p.bhs + 16) == 0x6262)
			rc = failf("the rejected ping (ITT 0x6262) was echoed after its Reject");
		else if ((p.bhs[0] & 0x3f) != OP_NOP_IN || get32(p.bhs + 16) != 0x6363)
			rc = failf("opcode 0x%02x ITT 0x%x instead of the NOP-In for ITT 0x6363",
				   p.bhs[0] & 0x3f, get32(p.bhs + 16));
		else if (p.dlen != sizeof(data) || memcmp(p.data, data, sizeof(data)))
			rc = failf("the good ping's data was not echoed (%u bytes back)", p.dlen);
		pdu_free(&p);
	}
	if (!rc)
		rc = same_conn_works(&c);
	if (!rc)
		rc = dd_check_rx(&c, "pings");
	conn_close(&c);
	return rc;
}

/* RFC 7143 6.3.5: a leading login (TSIH 0) with the InitiatorName and ISID
 * of a live session to the same target reinstates it: the new login gets a
 * fresh TSIH and the old session's connection is closed.  Another ISID
 * names another session, which must be left alone. */
static int case_session_reinstatement(void)
{
	struct conn a, b, c;
	struct login_opts o = {0};
	if (open_and_login(&a))
		return refail("A (ISID X)");
	/* A really is in full feature phase (and its unit attention is gone). */
	int rc = tur_good(&a, "A before the reinstatement");
	if (rc) {
		conn_close(&a);
		return rc;
	}
	if (conn_open(&b)) {
		conn_close(&a);
		return -1;
	}
	memcpy(b.isid, a.isid, 6); /* same InitiatorName (INITIATOR), same ISID, TSIH 0 */
	if (login(&b, &o, NULL)) {
		rc = refail("B (same ISID X) login");
	} else if (b.tsih == 0 || b.tsih == a.tsih) {
		rc = failf("B's login answered TSIH 0x%04x (A has 0x%04x): not a new session",
			   b.tsih, a.tsih);
	} else if (!wait_closed(&a)) {
		rc = failf("A (TSIH 0x%04x) not closed within %d s after B reinstated its "
			   "session",
			   a.tsih, RX_TIMEOUT_S);
	} else {
		rc = tur_good(&b, "B after reinstating A's session");
	}
	conn_close(&a);
	if (rc) {
		conn_close(&b);
		return rc;
	}
	if (conn_open(&c)) {
		conn_close(&b);
		return -1;
	}
	/* conn_open gave C a fresh ISID Y; only the ISID differs from B. */
	if (login(&c, &o, NULL)) {
		rc = refail("C (other ISID Y) login");
	} else if (c.tsih == 0 || c.tsih == b.tsih) {
		rc = failf("C's login answered TSIH 0x%04x (B has 0x%04x)", c.tsih, b.tsih);
	} else {
		/* A wrongful reinstatement closes B from another thread: give
		 * it time to happen before asking B. */
		usleep(1000 * 1000);
		rc = tur_good(&b, "B after a login with the same InitiatorName but another ISID");
		if (!rc)
			rc = tur_good(&c, "C");
	}
	conn_close(&c);
	conn_close(&b);
	return rc;
}

/* --- CmdSN holes (issue 11 #12): every CmdSN in the window is taken --- */

/* Expects one PDU of opcode op within 2 s; 0 if it came. */
static int expect_op(struct conn *c, uint8_t op, struct pdu *out, const char *what)
{
	struct timeval tv = {.tv_sec = 2};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct pdu p = {0};
	enum rx r = recv_pdu(c, &p);
	tv.tv_sec = RX_TIMEOUT_S;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (r)
		return failf("%s: %s", what, r == RX_CLOSED ? "connection closed" : "no answer");
	if ((p.bhs[0] & 0x3f) != op) {
		uint8_t got = p.bhs[0] & 0x3f;
		pdu_free(&p);
		return failf("%s: opcode 0x%02x instead of 0x%02x", what, got, op);
	}
	if (out)
		*out = p;
	else
		pdu_free(&p);
	return 0;
}

/* The next command, with the next CmdSN and no rewinding, must run. */
static int next_cmdsn_runs(struct conn *c, const char *what)
{
	struct scsi_res r;
	char d[160];
	struct timeval tv = {.tv_sec = 2};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	tur(c, 0, &r);
	tv.tv_sec = RX_TIMEOUT_S;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!r.done || r.status != ST_GOOD)
		return failf("%s: TEST UNIT READY with the next CmdSN: %s (ExpCmdSN stuck?)", what,
			     describe(&r, d, sizeof(d)));
	return 0;
}

/* A non-immediate command the target Rejects still takes its CmdSN. */
static int case_cmdsn_hole_reject(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	int rc = tur_good(&c, "before");
	if (!rc) {
		uint8_t b[BHS_LEN], cdb[10];
		write10_cdb(cdb, 10, 1);
		uint8_t data[512] = {0};
		/* Immediate data on a command without the W bit: Reject. */
		cmd_bhs(&c, b, c.itt++, 0, F_FINAL, 0, cdb, 10, false);
		if (send_pdu(&c, b, data, sizeof(data)))
			rc = failf("send failed");
		else
			rc = expect_op(&c, OP_REJECT, NULL, "command with bad immediate data");
	}
	if (!rc)
		rc = next_cmdsn_runs(&c, "after the Reject");
	conn_close(&c);
	return rc;
}

/* A command with the ITT of a running task is Rejected; its CmdSN counts. */
static int case_cmdsn_hole_duplicate_itt(void)
{
	struct conn c;
	uint32_t bs, last, itt, ttt, off, len;
	if (open_and_login(&c))
		return -1;
	int rc = read_capacity(&c, &bs, &last);
	if (!rc)
		rc = write_until_r2t(&c, 700, 1, bs, &itt, &ttt, &off, &len);
	if (!rc) {
		uint8_t b[BHS_LEN];
		const uint8_t cdb[6] = {0x00};
		cmd_bhs(&c, b, itt, 0, F_FINAL, 0, cdb, 6, false);
		if (send_pdu(&c, b, NULL, 0))
			rc = failf("send failed");
		else
			rc = expect_op(&c, OP_REJECT, NULL, "command with a busy ITT");
	}
	if (!rc) {
		uint8_t *buf = calloc(1, bs);
		struct scsi_res r = {0};
		char d[160];
		if (!buf || send_data_out(&c, itt, ttt, 0, off, buf, len, true))
			rc = failf("Data-Out send failed");
		else
			wait_task(&c, itt, NULL, 0, &r);
		if (!rc && (!r.done || r.status != ST_GOOD))
			rc = failf("the WRITE: %s", describe(&r, d, sizeof(d)));
		res_free(&r);
		free(buf);
	}
	if (!rc)
		rc = next_cmdsn_runs(&c, "after the duplicate ITT");
	conn_close(&c);
	return rc;
}

/* RFC 7143 11.5.1: ABORT TASK for a command that never arrived makes its
 * CmdSN count as received; a copy that arrives later is not executed. */
static int case_cmdsn_hole_abort_unreceived(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	int rc = tur_good(&c, "before");
	uint32_t lost = c.cmdsn++;
	if (!rc) {
		uint8_t b[BHS_LEN] = {OP_TMF_REQ | OP_IMMEDIATE, F_FINAL | 1};
		put32(b + 16, 0x5353);
		put32(b + 20, 0x4242); /* the lost command's ITT */
		put32(b + 24, c.cmdsn);
		put32(b + 28, c.exp_statsn);
		put32(b + 32, lost);
		struct pdu p = {0};
		if (send_pdu(&c, b, NULL, 0))
			rc = failf("send failed");
		else if (!(rc = expect_op(&c, OP_TMF_RSP, &p, "ABORT TASK")) && p.bhs[2] != 0)
			rc = failf("ABORT TASK answered %u, not 'function complete'", p.bhs[2]);
		pdu_free(&p);
	}
	if (!rc)
		rc = next_cmdsn_runs(&c, "after ABORT TASK of an unreceived command");
	conn_close(&c);
	return rc;
}

/* A non-immediate NOP-Out ahead of ExpCmdSN takes its CmdSN when the
 * command before it arrives. */
static int case_cmdsn_hole_nop_ahead(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	int rc = tur_good(&c, "before");
	if (!rc) {
		uint32_t gap = c.cmdsn;
		uint8_t b[BHS_LEN] = {OP_NOP_OUT, F_FINAL};
		put32(b + 16, 0x5454); /* a ping: answered with a NOP-In */
		put32(b + 20, RESERVED_TAG);
		put32(b + 24, gap + 1);
		put32(b + 28, c.exp_statsn);
		if (send_pdu(&c, b, NULL, 0))
			rc = failf("send failed");
		/* Now the command with the CmdSN before the NOP's. */
		if (!rc)
			rc = next_cmdsn_runs(&c, "the command before the NOP-Out");
		c.cmdsn = gap + 2;
		if (!rc)
			rc = next_cmdsn_runs(&c, "the command after the NOP-Out");
	}
	conn_close(&c);
	return rc;
}

/* --- WRITE without the W bit (issue 11 #9) --- */

static int case_write_without_w_bit(void)
{
	struct conn c;
	uint32_t bs, last;
	if (open_and_login(&c))
		return -1;
	int rc = read_capacity(&c, &bs, &last);
	if (!rc) {
		uint8_t cdb[10];
		struct scsi_res r;
		char d[160];
		write10_cdb(cdb, 30, 1);
		scsi(&c, 0, cdb, 10, 0, 0, NULL, &r);
		/* RFC 7143 11.4.5.1: nothing was transferred, so GOOD must
		 * come with the whole transfer as residual overflow; CHECK
		 * CONDITION is the other honest answer. */
		if (!r.done)
			rc = failf("no answer: %s", describe(&r, d, sizeof(d)));
		else if (r.status == ST_GOOD && (!(r.rsp_flags & 0x04) || r.residual != bs))
			rc = failf("GOOD with flags 0x%02x residual %u: the missing Data-Out is "
				   "not reported",
				   r.rsp_flags, r.residual);
		else if (r.status != ST_GOOD && r.status != ST_CHECK_CONDITION)
			rc = failf("%s", describe(&r, d, sizeof(d)));
		res_free(&r);
	}
	conn_close(&c);
	return rc;
}

/* --- task attributes (issue 11 #6) and fencing (#4) --- */

#define ATTR_SIMPLE 1
#define ATTR_ORDERED 2

static void fill_pattern(uint8_t *p, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i += 4)
		put32(p + i, seed ^ (i * 2654435761u));
}

/* Nothing may arrive for ms milliseconds; 0 if nothing did. */
static int expect_silence(struct conn *c, int ms, const char *what)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	int n = poll(&pfd, 1, ms);
	if (n == 0)
		return 0;
	struct pdu p = {0};
	enum rx r = recv_pdu(c, &p);
	uint8_t op = p.bhs[0] & 0x3f;
	pdu_free(&p);
	if (r)
		return failf("%s: connection %s", what, r == RX_CLOSED ? "closed" : "stalled");
	return failf("%s: opcode 0x%02x arrived while it must wait", what, op);
}

/* One block written with attribute `write_attr` (its R2T left unanswered
 * for a while) and a READ of the same block with `read_attr` right behind
 * it: the READ must wait for the WRITE and return the new data. */
static int ordered_case(uint8_t write_attr, uint8_t read_attr)
{
	struct conn c;
	uint32_t bs, last;
	if (open_and_login(&c))
		return -1;
	int rc = read_capacity(&c, &bs, &last);
	uint8_t *data = calloc(1, bs ? bs : 1);
	uint32_t lba = 900, witt = 0, ritt = 0, ttt = 0, off = 0, len = 0;
	if (!rc && !data)
		rc = failf("out of memory");
	if (!rc) {
		uint8_t cdb[10], b[BHS_LEN];
		fill_pattern(data, bs, (uint32_t)time(NULL) ^ 0x5eed);
		write10_cdb(cdb, lba, 1);
		witt = c.itt++;
		cmd_bhs(&c, b, witt, 0, F_FINAL | F_WRITE | write_attr, bs, cdb, 10, false);
		struct pdu p = {0};
		if (send_pdu(&c, b, NULL, 0))
			rc = failf("send failed");
		else if (!(rc = expect_op(&c, OP_R2T, &p, "WRITE"))) {
			ttt = get32(p.bhs + 20);
			off = get32(p.bhs + 40);
			len = get32(p.bhs + 44);
		}
		pdu_free(&p);
	}
	if (!rc) {
		uint8_t cdb[10] = {0x28}, b[BHS_LEN];
		put32(cdb + 2, lba);
		put16(cdb + 7, 1);
		ritt = c.itt++;
		cmd_bhs(&c, b, ritt, 0, F_FINAL | F_READ | read_attr, bs, cdb, 10, false);
		if (send_pdu(&c, b, NULL, 0))
			rc = failf("send failed");
		else
			rc = expect_silence(&c, 300, "READ behind a WRITE waiting for its data");
	}
	if (!rc && send_data_out(&c, witt, ttt, 0, off, data, len, true))
		rc = failf("Data-Out send failed");
	if (!rc) {
		struct scsi_res w = {0}, r = {0};
		char d[160];
		/* Both answers, in whatever order. */
		for (int i = 0; i < 8 && !(w.done && r.done) && !rc; i++) {
			struct pdu p = {0};
			enum rx x = recv_pdu(&c, &p);
			if (x) {
				rc = failf("waiting for the answers: %s",
					   x == RX_CLOSED ? "closed" : "timeout");
				break;
			}
			uint8_t op = p.bhs[0] & 0x3f;
			uint32_t itt = get32(p.bhs + 16);
			if (op == OP_SCSI_RSP && itt == witt)
				take_response(&p, &w);
			else if (op == OP_SCSI_RSP && itt == ritt)
				take_response(&p, &r);
			else if (op == OP_DATA_IN && itt == ritt) {
				if (p.dlen == bs && get32(p.bhs + 40) == 0) {
					r.in = malloc(bs);
					if (r.in) {
						memcpy(r.in, p.data, bs);
						r.in_len = bs;
					}
				}
				if (p.bhs[1] & 0x01) {
					r.status = p.bhs[3];
					r.done = true;
				}
			}
			pdu_free(&p);
		}
		if (!rc && (!w.done || w.status != ST_GOOD))
			rc = failf("WRITE: %s", describe(&w, d, sizeof(d)));
		else if (!rc && (!r.done || r.status != ST_GOOD || r.in_len != bs))
			rc = failf("READ: %s", describe(&r, d, sizeof(d)));
		else if (!rc && memcmp(r.in, data, bs))
			rc = failf("the READ returned the data from before the WRITE");
		res_free(&w);
		res_free(&r);
	}
	free(data);
	conn_close(&c);
	return rc;
}

static int case_ordered_write_holds_read(void) { return ordered_case(ATTR_ORDERED, ATTR_SIMPLE); }
static int case_ordered_read_waits_write(void) { return ordered_case(ATTR_SIMPLE, ATTR_ORDERED); }

/* READ(10) of one block, letting unit attentions go by. */
static int read_block(struct conn *c, uint32_t lba, uint32_t bs, uint8_t *out)
{
	struct scsi_res r;
	char d[160];
	for (int i = 0; i < 6; i++) {
		read10(c, 0, lba, 1, bs, &r);
		if (r.done && r.status == ST_GOOD && r.in_len == bs) {
			memcpy(out, r.in, bs);
			res_free(&r);
			return 0;
		}
		bool ua = sense_is(&r, 6, r.sense[12], r.sense[13]);
		res_free(&r);
		if (!ua)
			break;
	}
	return failf("READ(10) of LBA %u: %s", lba, describe(&r, d, sizeof(d)));
}

/* WRITE(10) FUA of `blocks` blocks from LBA 0 filled with seed's pattern:
 * returns once all Data-Out has been sent (the WRITE is then in the
 * backend), without waiting for the response. */
static int big_write_sent(struct conn *c, uint16_t blocks, uint32_t bs, uint32_t seed,
			  uint32_t *itt_out)
{
	uint32_t total = (uint32_t)blocks * bs;
	uint8_t *buf = malloc(total);
	if (!buf)
		return failf("out of memory");
	fill_pattern(buf, total, seed);
	uint8_t cdb[10], b[BHS_LEN];
	write10_cdb(cdb, 0, blocks);
	cdb[1] = 0x08; /* FUA */
	uint32_t itt = c->itt++;
	*itt_out = itt;
	cmd_bhs(c, b, itt, 0, F_FINAL | F_WRITE | ATTR_SIMPLE, total, cdb, 10, false);
	int rc = send_pdu(c, b, NULL, 0) ? failf("send failed") : 0;
	uint32_t sent = 0;
	while (!rc && sent < total) {
		struct pdu p = {0};
		enum rx r = recv_pdu(c, &p);
		if (r) {
			rc = failf("big WRITE: %s", r == RX_CLOSED ? "closed" : "timeout");
			break;
		}
		if ((p.bhs[0] & 0x3f) == OP_R2T && get32(p.bhs + 16) == itt) {
			uint32_t ttt = get32(p.bhs + 20), off = get32(p.bhs + 40),
				 len = get32(p.bhs + 44), sn = 0;
			for (uint32_t done = 0; !rc && done < len; sn++) {
				uint32_t n = len - done < c->tgt_mrdsl ? len - done : c->tgt_mrdsl;
				if (off + done + n > total ||
				    send_data_out(c, itt, ttt, sn, off + done, buf + off + done, n,
						  done + n == len))
					rc = failf("big WRITE: bad R2T or send failure");
				done += n;
			}
			sent += len;
		} else if ((p.bhs[0] & 0x3f) == OP_SCSI_RSP) {
			rc = failf("big WRITE answered early (status 0x%02x)", p.bhs[3]);
		}
		pdu_free(&p);
	}
	free(buf);
	return rc;
}

/* PERSISTENT RESERVE OUT with a 24-byte parameter list. */
static int pr_out(struct conn *c, uint8_t sa, uint8_t type, uint64_t key, uint64_t sa_key,
		  const char *what)
{
	uint8_t cdb[10] = {0x5f, sa, type}, param[24] = {0};
	put32(cdb + 5, 24);
	put32(param, (uint32_t)(key >> 32));
	put32(param + 4, (uint32_t)key);
	put32(param + 8, (uint32_t)(sa_key >> 32));
	put32(param + 12, (uint32_t)sa_key);
	struct scsi_res r;
	char d[160];
	for (int i = 0; i < 6; i++) {
		scsi(c, 0, cdb, 10, F_WRITE, 24, param, &r);
		if (!sense_is(&r, 6, r.sense[12], r.sense[13]))
			break;
		res_free(&r);
	}
	int rc =
	    r.done && r.status == ST_GOOD ? 0 : failf("%s: %s", what, describe(&r, d, sizeof(d)));
	res_free(&r);
	return rc;
}

/* B has a 32 MiB FUA WRITE in the backend when A fences it off (LUN RESET
 * or PREEMPT AND ABORT).  Once A has its answer, the blocks must not change
 * any more: the WRITE either landed before the answer or never does. */
/* TARGET WARM RESET (function 6) on c; 0 if "function complete". */
static int target_warm_reset(struct conn *c)
{
	uint8_t b[BHS_LEN] = {OP_TMF_REQ | OP_IMMEDIATE, F_FINAL | 6};
	put32(b + 16, 0x5858);
	put32(b + 20, RESERVED_TAG);
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
	struct pdu p = {0};
	int rc = 0;
	if (send_pdu(c, b, NULL, 0))
		rc = failf("TARGET WARM RESET: send failed");
	else if (!(rc = expect_op(c, OP_TMF_RSP, &p, "TARGET WARM RESET")) && p.bhs[2])
		rc = failf("TARGET WARM RESET: response %u", p.bhs[2]);
	pdu_free(&p);
	return rc;
}

enum fence_by { FENCE_LUN_RESET, FENCE_TARGET_RESET, FENCE_PREEMPT };

static int fence_case(enum fence_by by)
{
	bool preempt = by == FENCE_PREEMPT;
	const uint64_t ka = 0xa0a0a0a0a0a0a0a0ull, kb = 0xb0b0b0b0b0b0b0b0ull;
	for (int round = 0; round < 4; round++) {
		struct conn a, b;
		uint32_t bs, last, itt;
		if (open_and_login(&a))
			return -1;
		if (open_and_login(&b)) {
			conn_close(&a);
			return -1;
		}
		int rc = read_capacity(&a, &bs, &last) || tur_good(&b, "B");
		uint16_t blocks = (uint16_t)((32u << 20) / bs > 65535 ? 65535 : (32u << 20) / bs);
		uint8_t *x = malloc(bs), *y = malloc(bs);
		if (!rc && (!x || !y))
			rc = failf("out of memory");
		if (!rc && preempt)
			rc = pr_out(&a, 0, 0, 0, ka, "A: REGISTER") ||
			     pr_out(&b, 0, 0, 0, kb, "B: REGISTER") ||
			     pr_out(&b, 1, 1 /* WRITE EXCLUSIVE */, kb, 0, "B: RESERVE");
		if (!rc)
			rc = big_write_sent(&b, blocks, bs, 0x1000u + (uint32_t)round * 77u, &itt);
		if (!rc)
			rc = by == FENCE_PREEMPT ? pr_out(&a, 5, 1, ka, kb, "A: PREEMPT AND ABORT")
			     : by == FENCE_LUN_RESET ? lun_reset(&a)
						     : target_warm_reset(&a);
		if (!rc)
			rc = read_block(&a, blocks - 1u, bs, x);
		if (!rc) {
			usleep(400 * 1000);
			rc = read_block(&a, blocks - 1u, bs, y);
		}
		if (!rc && memcmp(x, y, bs))
			rc = failf("round %d: the aborted WRITE changed the medium after the %s "
				   "was answered",
				   round,
				   by == FENCE_PREEMPT	   ? "PREEMPT AND ABORT"
				   : by == FENCE_LUN_RESET ? "LUN RESET"
							   : "TARGET WARM RESET");
		if (preempt) /* leave no reservation behind for the other cases */
			pr_out(&a, 3 /* CLEAR */, 0, ka, 0, "A: CLEAR");
		free(x);
		free(y);
		conn_close(&a);
		conn_close(&b);
		if (rc)
			return rc;
	}
	return 0;
}

static int case_lun_reset_fences_write(void) { return fence_case(FENCE_LUN_RESET); }
static int case_target_reset_fences_write(void) { return fence_case(FENCE_TARGET_RESET); }
static int case_preempt_abort_fences_write(void) { return fence_case(FENCE_PREEMPT); }

/* RFC 7143 11.5.1: TARGET COLD RESET closes every session's connection. */
static int case_cold_reset_drops_all(void)
{
	struct conn a, b;
	if (open_and_login(&a))
		return -1;
	if (open_and_login(&b)) {
		conn_close(&a);
		return -1;
	}
	int rc = tur_good(&a, "A") || tur_good(&b, "B");
	if (!rc) {
		uint8_t t[BHS_LEN] = {OP_TMF_REQ | OP_IMMEDIATE, F_FINAL | 7};
		put32(t + 16, 0x5757);
		put32(t + 20, RESERVED_TAG);
		put32(t + 24, a.cmdsn);
		put32(t + 28, a.exp_statsn);
		if (send_pdu(&a, t, NULL, 0))
			rc = failf("send failed");
		else if (!wait_closed(&a))
			rc = failf("A (the issuer) not closed after TARGET COLD RESET");
		else if (!wait_closed(&b))
			rc = failf("B not closed after A's TARGET COLD RESET");
	}
	conn_close(&a);
	conn_close(&b);
	return rc;
}

/* MaxSessions 2 on the "-max2" target: 24 leading logins in flight at
 * once, spread over the reactors, must not get more than 2 sessions
 * (the check and the registration were two steps). */
static int case_max_sessions_race(void)
{
	enum { N = 24 };
	static struct conn cs[N];
	char name[300];
	snprintf(name, sizeof(name), "%s-max2", g_target);
	struct login_opts o = {.target = name};
	int rc = 0;
	for (int round = 0; round < 5 && !rc; round++) {
		int ok = 0, opened = 0;
		for (int i = 0; i < N && !rc; i++) {
			if (conn_open(&cs[i]))
				rc = -1;
			else if (opened++, login_send_first(&cs[i], &o))
				rc = failf("login %d: send failed", i);
		}
		for (int i = 0; i < opened && !rc; i++) {
			int st = login_finish(&cs[i], NULL);
			if (st == 0)
				ok++;
			else if (st < 0)
				rc = failf("login %d: %s", i, g_why);
		}
		for (int i = 0; i < opened; i++)
			conn_close(&cs[i]);
		if (!rc && ok > 2)
			rc = failf("round %d: %d sessions with MaxSessions 2", round, ok);
		else if (!rc && ok == 0)
			rc = failf("round %d: no login succeeded", round);
		usleep(200 * 1000); /* the closed sessions go away */
	}
	return rc;
}

/* --- races between completions, task management and closing connections --- */

/* A READ(10) of `blocks` blocks from LBA 0 and a TMF request, in one TCP
 * write, so that the TMF arrives while the READ is still in the backend. */
static int read_then_tmf(struct conn *c, uint16_t blocks, uint32_t bs, uint8_t fn,
			 uint32_t *read_itt)
{
	uint8_t buf[2 * BHS_LEN];
	uint8_t cdb[10] = {0x28};
	put16(cdb + 7, blocks);
	uint32_t itt = c->itt++;
	cmd_bhs(c, buf, itt, 0, F_FINAL | F_READ, (uint32_t)blocks * bs, cdb, 10, false);
	uint8_t *t = buf + BHS_LEN;
	memset(t, 0, BHS_LEN);
	t[0] = OP_TMF_REQ | OP_IMMEDIATE;
	t[1] = F_FINAL | fn;
	put32(t + 16, itt + 0x100000);
	put32(t + 20, fn == 1 ? itt : RESERVED_TAG);
	put32(t + 24, c->cmdsn);
	put32(t + 28, c->exp_statsn);
	put32(t + 32, c->cmdsn - 1); /* RefCmdSN: the READ's */
	*read_itt = itt;
	if (c->hd)
		return failf("read_then_tmf needs HeaderDigest=None");
	return send_all(c, buf, sizeof(buf)) ? failf("send failed") : 0;
}

/* Issue 11, crash 1: the answer to a TARGET COLD RESET that waited for a
 * 32 MiB READ closes the connection from inside the READ's completion; the
 * completion must not touch (or free) the task afterwards. */
static int case_cold_reset_during_read(void)
{
	for (int round = 0; round < 8; round++) {
		struct conn c;
		uint32_t bs, last, itt;
		if (open_and_login(&c))
			return -1;
		int rc = read_capacity(&c, &bs, &last);
		uint16_t blocks = (uint16_t)((32u << 20) / bs > 65535 ? 65535 : (32u << 20) / bs);
		if (!rc && last + 1 < blocks)
			rc = failf("the disk is smaller than 32 MiB");
		if (!rc)
			rc = read_then_tmf(&c, blocks, bs, 7 /* TARGET COLD RESET */, &itt);
		if (!rc && !wait_closed(&c))
			rc = failf("round %d: the connection stayed open after TARGET COLD RESET",
				   round);
		conn_close(&c);
		if (rc)
			return rc;
	}
	return 0;
}

/* Issue 11, crash 1 (second trigger): ABORT TASK for a READ still in the
 * backend, then a TCP RST: the TMF response's write fails when the READ
 * completes, which closes the connection inside the completion. */
/* ABORT TASK of a WRITE whose R2T is open (RFC 7143 11.5.1): the initiator
 * keeps answering the R2T, and the target answers the TMF only after that
 * Data-Out; the owed Data-Out is taken and dropped (no Reject), the WRITE
 * gets no response and never reaches the medium. */
static int case_abort_task_r2t_open(void)
{
	struct conn c;
	uint32_t bs, last, itt = 0, ttt, off, len;
	const uint32_t lba = 3300;
	if (open_and_login(&c))
		return -1;
	int rc = read_capacity(&c, &bs, &last);
	uint8_t *before = malloc(8192), *after = malloc(8192), *junk = malloc(8192);
	if (!rc)
		rc = read_block(&c, lba, bs, before);
	if (!rc)
		rc = write_until_r2t(&c, lba, 1, bs, &itt, &ttt, &off, &len);
	uint8_t b[BHS_LEN] = {OP_TMF_REQ | OP_IMMEDIATE, F_FINAL | 1 /* ABORT TASK */};
	put32(b + 16, 0x6161);
	put32(b + 20, itt);
	put32(b + 24, c.cmdsn);
	put32(b + 28, c.exp_statsn);
	put32(b + 32, c.cmdsn - 1); /* RefCmdSN: the WRITE's */
	if (!rc && send_pdu(&c, b, NULL, 0))
		rc = failf("send failed");
	if (!rc)
		rc = expect_silence(&c, 500, "TMF answered while its task's R2T is open");
	memset(junk, 0xab, 8192);
	if (!rc && (len > 8192 || send_data_out(&c, itt, ttt, 0, off, junk, len, true)))
		rc = failf("cannot answer the R2T (%u bytes)", len);
	struct pdu p = {0};
	if (!rc)
		rc = expect_op(&c, OP_TMF_RSP, &p, "after the owed Data-Out");
	if (!rc && (get32(p.bhs + 16) != 0x6161 || p.bhs[2] != 0))
		rc = failf("TMF response for ITT 0x%x: %u, expected function complete",
			   get32(p.bhs + 16), p.bhs[2]);
	pdu_free(&p);
	if (!rc)
		rc =
		    expect_silence(&c, 300, "after the TMF response (the aborted WRITE answered?)");
	if (!rc)
		rc = read_block(&c, lba, bs, after);
	if (!rc && memcmp(before, after, bs))
		rc = failf("the aborted WRITE reached the medium");
	if (!rc)
		rc = same_conn_works(&c);
	free(before);
	free(after);
	free(junk);
	conn_close(&c);
	return rc;
}

static int case_abort_then_rst(void)
{
	for (int round = 0; round < 16; round++) {
		struct conn c;
		uint32_t bs, last, itt;
		if (open_and_login(&c))
			return -1;
		int rc = read_capacity(&c, &bs, &last);
		uint16_t blocks = (uint16_t)((32u << 20) / bs > 65535 ? 65535 : (32u << 20) / bs);
		if (!rc)
			rc = read_then_tmf(&c, blocks, bs, 1 /* ABORT TASK */, &itt);
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		conn_close(&c); /* RST */
		if (rc)
			return rc;
	}
	usleep(200 * 1000); /* let the aborted READs complete */
	return 0;
}

struct flood_arg {
	int fd;
	atomic_bool stop; /* set by the main thread: an atomic, not volatile */
	uint32_t cmdsn;
};

/* Keeps the old connection's input busy: immediate NOP-Outs (no ping
 * answer wanted: ITT 0xffffffff) until told to stop or the target closes. */
static void *nop_flood(void *p)
{
	struct flood_arg *a = p;
	uint8_t burst[16 * BHS_LEN];
	for (int i = 0; i < 16; i++) {
		uint8_t *b = burst + i * BHS_LEN;
		memset(b, 0, BHS_LEN);
		b[0] = OP_NOP_OUT | OP_IMMEDIATE;
		b[1] = F_FINAL;
		put32(b + 16, RESERVED_TAG);
		put32(b + 20, RESERVED_TAG);
		put32(b + 24, a->cmdsn);
	}
	while (!atomic_load_explicit(&a->stop, memory_order_relaxed))
		if (send(a->fd, burst, sizeof(burst), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
		    errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			break;
	return NULL;
}

/* Issue 11, crash 2: a login with the ISID and InitiatorName of a live
 * session while that session's connection has input pending.  The old
 * connection is closed from a posted job; its socket event may come later
 * in the same epoll batch and must not find freed memory. */
static int case_reinstate_with_pending_input(void)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int round = 0; round < 150; round++) {
		struct conn a, b;
		struct login_opts o = {0};
		if (open_and_login(&a))
			return refail("A");
		struct flood_arg fa = {.fd = a.fd, .cmdsn = a.cmdsn};
		pthread_t th;
		if (pthread_create(&th, NULL, nop_flood, &fa)) {
			conn_close(&a);
			return failf("pthread_create failed");
		}
		int rc = conn_open(&b);
		if (!rc) {
			memcpy(b.isid, a.isid, 6);
			if (login(&b, &o, NULL))
				rc = refail("B (same ISID) login");
			conn_close(&b);
		}
		atomic_store_explicit(&fa.stop, true, memory_order_relaxed);
		pthread_join(th, NULL);
		conn_close(&a);
		if (rc)
			return rc;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 20)
			break;
	}
	return 0;
}

/* Leading login of a Discovery session (no TargetName) that tells the
 * target how much text it may send per PDU. */
static int discovery_login(struct conn *c, uint32_t mrdsl)
{
	struct keys k = {.len = 0};
	char kv[64];
	key_add(&k, "InitiatorName=" INITIATOR);
	key_add(&k, "SessionType=Discovery");
	key_add(&k, "HeaderDigest=None");
	key_add(&k, "DataDigest=None");
	snprintf(kv, sizeof(kv), "MaxRecvDataSegmentLength=%u", mrdsl);
	key_add(&k, kv);
	uint8_t b[BHS_LEN];
	login_bhs(c, b, FFP_FLAGS);
	if (send_pdu(c, b, (const uint8_t *)k.buf, k.len))
		return failf("discovery login: send failed");
	int rc = login_finish(c, NULL);
	if (rc > 0)
		return failf("discovery login refused with status 0x%04x", rc);
	return rc ? refail("discovery login") : 0;
}

/* A non-immediate Text Request (F=1): each one takes a CmdSN. */
static int send_text(struct conn *c, uint32_t itt, uint32_t ttt, const char *txt, uint32_t len)
{
	uint8_t b[BHS_LEN] = {OP_TEXT_REQ, F_FINAL};
	put32(b + 16, itt);
	put32(b + 20, ttt);
	put32(b + 24, c->cmdsn++);
	put32(b + 28, c->exp_statsn);
	return send_pdu(c, b, (const uint8_t *)txt, len);
}

/* Logout (reason: close the session); a Logout Response with response 0. */
static int logout(struct conn *c)
{
	uint8_t b[BHS_LEN] = {OP_LOGOUT_REQ | OP_IMMEDIATE, F_FINAL | 0};
	uint32_t itt = c->itt++;
	put32(b + 16, itt);
	put16(b + 20, 0); /* CID */
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
	if (send_pdu(c, b, NULL, 0))
		return failf("logout: send failed");
	struct pdu p = {0};
	enum rx r = recv_pdu(c, &p);
	int rc = 0;
	if (r)
		rc = failf("no Logout Response (%s)", r == RX_CLOSED ? "closed" : "timeout");
	else if ((p.bhs[0] & 0x3f) != OP_LOGOUT_RSP)
		rc = failf("opcode 0x%02x instead of a Logout Response", p.bhs[0] & 0x3f);
	else if (get32(p.bhs + 16) != itt || p.bhs[2] != 0)
		rc = failf("Logout Response ITT 0x%x response %u, expected ITT 0x%x response 0",
			   get32(p.bhs + 16), p.bhs[2], itt);
	pdu_free(&p);
	return rc;
}

#define DISCOVERY_MRDSL 512 /* the smallest legal value: forces many pieces */
#define MAX_NAMES 256

/* The targets hostile-pdus.sh configures: the main one, "-keepalive",
 * "-max2" (MaxSessions 2), and
 * HOSTILE_MANY_COUNT named "<main>-many-NN-<HOSTILE_MANY_SUFFIX>" with NN
 * from 01.  The script passes the count and suffix so both sides use one
 * rule. */
static int expected_targets(char names[][256], unsigned *count)
{
	const char *cnt = getenv("HOSTILE_MANY_COUNT"), *suffix = getenv("HOSTILE_MANY_SUFFIX");
	if (!cnt || !suffix)
		return failf("HOSTILE_MANY_COUNT / HOSTILE_MANY_SUFFIX not set (run it from "
			     "hostile-pdus.sh)");
	unsigned many = (unsigned)strtoul(cnt, NULL, 10);
	if (many + 3 > MAX_NAMES)
		return failf("HOSTILE_MANY_COUNT %u is too large", many);
	unsigned n = 0;
	snprintf(names[n++], 256, "%s", g_target);
	snprintf(names[n++], 256, "%s-keepalive", g_target);
	snprintf(names[n++], 256, "%s-max2", g_target);
	for (unsigned i = 1; i <= many; i++)
		snprintf(names[n++], 256, "%s-many-%02u-%s", g_target, i, suffix);
	*count = n;
	return 0;
}

/* Checks the whole SendTargets=All text: NUL-terminated key=value pairs,
 * each TargetName= followed by at least one TargetAddress=, every configured
 * target named exactly once and nothing else named. */
static int check_sendtargets(const char *txt, size_t len, char names[][256], unsigned count)
{
	if (!len || txt[len - 1] != '\0')
		return failf("SendTargets answer (%zu bytes) does not end with a NUL", len);
	unsigned seen[MAX_NAMES] = {0};
	const char *prev = NULL; /* the last TargetName value */
	bool addressed = true;	 /* prev got its TargetAddress */
	for (size_t i = 0; i < len;) {
		const char *s = txt + i;
		size_t n = strlen(s);
		i += n + 1;
		if (!strncmp(s, "TargetName=", 11)) {
			if (!addressed)
				return failf("TargetName=%s has no TargetAddress", prev);
			prev = s + 11;
			addressed = false;
			unsigned k = 0;
			while (k < count && strcmp(names[k], prev))
				k++;
			if (k == count)
				return failf("unexpected TargetName=%.250s (%zu bytes)", prev,
					     strlen(prev));
			if (++seen[k] > 1)
				return failf("TargetName=%.250s appears twice", prev);
		} else if (!strncmp(s, "TargetAddress=", 14) && n > 14) {
			if (!prev)
				return failf("TargetAddress before any TargetName");
			addressed = true;
		} else {
			return failf("unexpected text at byte %zu: '%.80s'", (size_t)(s - txt), s);
		}
	}
	if (!addressed)
		return failf("TargetName=%s has no TargetAddress", prev);
	unsigned listed = 0, missing = count;
	for (unsigned k = 0; k < count; k++) {
		if (seen[k])
			listed++;
		else if (missing == count)
			missing = k;
	}
	if (missing < count)
		return failf("TargetName=%s missing (%u of %u targets listed)", names[missing],
			     listed, count);
	return 0;
}

/* RFC 7143 11.10/11.11: an answer longer than the initiator's
 * MaxRecvDataSegmentLength comes in pieces with C=1 and a TTT; an empty Text
 * Request with the same ITT and that TTT asks for the next piece. */
static int case_sendtargets_continuation(void)
{
	static char names[MAX_NAMES][256];
	unsigned count = 0;
	if (expected_targets(names, &count))
		return -1;
	struct conn c;
	if (conn_open(&c))
		return -1;
	int rc = discovery_login(&c, DISCOVERY_MRDSL);
	if (rc) {
		conn_close(&c);
		return rc;
	}
	const char req[] = "SendTargets=All";
	uint32_t itt = c.itt++;
	char *all = NULL;
	size_t all_len = 0;
	unsigned pieces = 0;
	if (send_text(&c, itt, RESERVED_TAG, req, sizeof(req)))
		rc = failf("send failed");
	while (!rc) {
		struct pdu p = {0};
		enum rx r = recv_pdu(&c, &p);
		uint8_t op = p.bhs[0] & 0x3f, fl = p.bhs[1];
		uint32_t ttt = get32(p.bhs + 20);
		if (r)
			rc = failf("no Text Response #%u (%s) after %zu bytes", pieces + 1,
				   r == RX_CLOSED ? "closed" : "timeout", all_len);
		else if (op == OP_REJECT)
			rc =
			    failf("Reject reason 0x%02x to Text Request #%u", p.bhs[2], pieces + 1);
		else if (op != OP_TEXT_RSP)
			rc = failf("opcode 0x%02x instead of Text Response #%u", op, pieces + 1);
		else if (get32(p.bhs + 16) != itt)
			rc = failf("Text Response #%u has ITT 0x%x, expected 0x%x", pieces + 1,
				   get32(p.bhs + 16), itt);
		else if (p.dlen > DISCOVERY_MRDSL)
			rc = failf("Text Response #%u carries %u bytes, more than our "
				   "MaxRecvDataSegmentLength %u",
				   pieces + 1, p.dlen, DISCOVERY_MRDSL);
		else if ((fl & F_FINAL) && (fl & F_CONTINUE))
			rc = failf("Text Response #%u has both F and C set", pieces + 1);
		else if (!(fl & (F_FINAL | F_CONTINUE)))
			rc = failf("Text Response #%u has neither F nor C set", pieces + 1);
		else if ((fl & F_CONTINUE) && ttt == RESERVED_TAG)
			rc = failf("Text Response #%u has C=1 but TTT 0xffffffff", pieces + 1);
		else if ((fl & F_FINAL) && ttt != RESERVED_TAG)
			rc = failf("final Text Response #%u has TTT 0x%x, expected 0xffffffff",
				   pieces + 1, ttt);
		else if (++pieces > 200)
			rc = failf("more than 200 Text Responses (%zu bytes)", all_len);
		if (!rc && p.dlen) {
			char *grown = realloc(all, all_len + p.dlen);
			if (!grown) {
				rc = failf("out of memory");
			} else {
				all = grown;
				memcpy(all + all_len, p.data, p.dlen);
				all_len += p.dlen;
			}
		}
		pdu_free(&p);
		if (rc || (fl & F_FINAL))
			break;
		/* C=1: ask for the next piece. */
		if (send_text(&c, itt, ttt, NULL, 0))
			rc = failf("send of continuation request #%u failed", pieces);
	}
	if (!rc && all_len <= DISCOVERY_MRDSL)
		rc = failf("SendTargets answer is only %zu bytes: the many targets are not "
			   "listed, continuation not exercised",
			   all_len);
	if (!rc && pieces < 2)
		rc = failf("%zu bytes came in one Text Response", all_len);
	if (!rc)
		rc = check_sendtargets(all, all_len, names, count);
	free(all);
	if (!rc)
		rc = logout(&c);
	conn_close(&c);
	return rc;
}

/* --- RFC 7143 rules of issue 17 section 4 (unit tests: test_iscsi_rfc7143.c) --- */

/* Reads PDUs until one with opcode op; anything else is skipped; a
 * timeout or close fails. */
static int next_of(struct conn *c, uint8_t op, struct pdu *p, const char *what)
{
	for (;;) {
		enum rx r = recv_pdu(c, p);
		if (r)
			return failf("%s: %s", what, r == RX_CLOSED ? "closed" : "timeout");
		if ((p->bhs[0] & 0x3f) == op)
			return 0;
		pdu_free(p);
	}
}

/* RFC 7143 11.19: the NOP-In carries at most the first
 * MaxRecvDataSegmentLength (ours: 4096) bytes of the ping data. */
static int case_rfc_nop_echo_within_mrdsl(void)
{
	struct conn c;
	struct login_opts o = {.mrdsl = 4096};
	if (conn_open(&c))
		return -1;
	if (login(&c, &o, NULL)) {
		conn_close(&c);
		return -1;
	}
	uint8_t data[6000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 5 + 1);
	uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
	put32(b + 16, 0x6262);
	put32(b + 20, RESERVED_TAG);
	put32(b + 24, c.cmdsn);
	put32(b + 28, c.exp_statsn);
	struct pdu p = {0};
	int rc = send_pdu(&c, b, data, sizeof(data)) ? failf("send failed")
						     : next_of(&c, OP_NOP_IN, &p, "NOP-In");
	if (!rc && (p.dlen != 4096 || memcmp(p.data, data, 4096)))
		rc = failf("NOP-In echoes %u bytes; the initiator takes 4096", p.dlen);
	pdu_free(&p);
	if (!rc)
		rc = same_conn_works(&c);
	conn_close(&c);
	return rc;
}

/* RFC 7143 6.2, 13: MaxRecvDataSegmentLength renegotiated in full
 * feature phase (declarative: no answer) sizes the Data-In after it; a
 * login-only key gets Reject, an unknown one NotUnderstood. */
static int case_rfc_ffp_text_keys(void)
{
	struct conn c;
	uint32_t bs, last;
	if (open_and_login(&c))
		return -1;
	int rc = read_capacity(&c, &bs, &last);
	static const char txt[] = "MaxRecvDataSegmentLength=1024\0HeaderDigest=None\0"
				  "X-org.uscst.probe=1";
	struct pdu p = {0};
	char v[64];
	if (!rc && send_text(&c, c.itt++, RESERVED_TAG, txt, sizeof(txt)))
		rc = failf("send failed");
	if (!rc)
		rc = next_of(&c, OP_TEXT_RSP, &p, "Text Response");
	if (!rc && key_find(&p, "MaxRecvDataSegmentLength", v, sizeof(v)))
		rc = failf("MaxRecvDataSegmentLength=%s answered (declarative)", v);
	if (!rc && (!key_find(&p, "HeaderDigest", v, sizeof(v)) || strcmp(v, "Reject")))
		rc = failf("HeaderDigest in full feature phase answered '%s', not Reject",
			   key_find(&p, "HeaderDigest", v, sizeof(v)) ? v : "nothing");
	if (!rc && (!key_find(&p, "X-org.uscst.probe", v, sizeof(v)) || strcmp(v, "NotUnderstood")))
		rc = failf("unknown key not answered NotUnderstood");
	pdu_free(&p);
	if (!rc) {
		uint8_t cdb[10] = {0x28};
		put16(cdb + 7, (uint16_t)(8192 / bs ? 8192 / bs : 1));
		uint32_t len = (8192 / bs ? 8192 / bs : 1) * bs, itt = c.itt++;
		uint8_t b[BHS_LEN];
		cmd_bhs(&c, b, itt, 0, F_FINAL | F_READ, len, cdb, 10, false);
		if (send_pdu(&c, b, NULL, 0))
			rc = failf("send failed");
		for (bool end = false; !rc && !end;) {
			if ((rc = next_of(&c, OP_DATA_IN, &p, "Data-In")))
				break;
			if (p.dlen > 1024)
				rc = failf(
				    "a Data-In of %u bytes after MaxRecvDataSegmentLength=1024",
				    p.dlen);
			end = p.bhs[1] & 0x01;
			pdu_free(&p);
		}
	}
	if (!rc)
		rc = same_conn_works(&c);
	conn_close(&c);
	return rc;
}

/* RFC 7143 11.5.1: the Data-Out still owed on an R2T of a WRITE a LUN
 * RESET aborted is taken and dropped, never Rejected. */
static int case_rfc_lun_reset_owed_data(void)
{
	struct conn c;
	uint32_t bs, last, itt, ttt, off, len;
	if (open_and_login(&c))
		return -1;
	int rc = read_capacity(&c, &bs, &last);
	if (!rc)
		rc = write_until_r2t(&c, 700, 8, bs, &itt, &ttt, &off, &len);
	if (!rc)
		rc = lun_reset(&c);
	uint8_t *buf = calloc(1, 8 * bs);
	if (!rc && (!buf || send_data_out(&c, itt, ttt, 0, off, buf, len, true)))
		rc = failf("Data-Out send failed");
	free(buf);
	if (!rc) {
		struct scsi_res r;
		char d[160];
		tur(&c, 0, &r); /* the reset's unit attention; a Reject would come first */
		if (r.rejects)
			rc = failf("the owed Data-Out was Rejected (reason 0x%02x)",
				   r.reject_reason);
		else if (!sense_is(&r, 6, 0x29, 0x03))
			rc = failf("TEST UNIT READY after the reset: %s",
				   describe(&r, d, sizeof(d)));
		res_free(&r);
	}
	if (!rc)
		rc = same_conn_works(&c);
	conn_close(&c);
	return rc;
}

/* RFC 7143 11.3.5, 11.4.5.2: a bidirectional READ(10) (R and W, with the
 * Bidirectional Read EDTL AHS) is refused (no bidirectional command here)
 * with 05h/0Eh/03h and its whole read length as Bidirectional Read
 * Residual (u bit, byte 40). */
static int case_rfc_bidi_refused(void)
{
	struct conn c;
	uint32_t bs, last;
	if (open_and_login(&c))
		return -1;
	int rc = read_capacity(&c, &bs, &last);
	uint8_t cdb[10] = {0x28}, ahs[8] = {0, 5, 2, 0}, b[BHS_LEN];
	put16(cdb + 7, 1);
	uint32_t itt = c.itt++;
	if (!rc) {
		put32(ahs + 4, bs);
		cmd_bhs(&c, b, itt, 0, F_FINAL | F_READ | F_WRITE, bs, cdb, 10, false);
		if (send_pdu_ex(&c, b, ahs, sizeof(ahs), NULL, 0, false, 0))
			rc = failf("send failed");
	}
	uint8_t *zero = calloc(1, bs ? bs : 1);
	while (!rc) {
		struct pdu p = {0};
		enum rx r = recv_pdu(&c, &p);
		if (r) {
			rc = failf("no response (%s)", r == RX_CLOSED ? "closed" : "timeout");
			break;
		}
		uint8_t op = p.bhs[0] & 0x3f;
		if (op == OP_R2T && get32(p.bhs + 16) == itt) {
			uint32_t len = get32(p.bhs + 44);
			if (len > bs || send_data_out(&c, itt, get32(p.bhs + 20), 0,
						      get32(p.bhs + 40), zero, len, true))
				rc = failf("R2T of %u bytes for a %u-byte write", len, bs);
		} else if (op == OP_SCSI_RSP && get32(p.bhs + 16) == itt) {
			struct scsi_res res = {0};
			take_response(&p, &res);
			char d[160];
			if (!sense_is(&res, 5, 0x0e, 0x03))
				rc = failf("bidirectional READ(10): %s",
					   describe(&res, d, sizeof(d)));
			else if (!(p.bhs[1] & 0x08) || get32(p.bhs + 40) != bs)
				rc = failf(
				    "flags 0x%02x, bidirectional read residual %u (want u, %u)",
				    p.bhs[1], get32(p.bhs + 40), bs);
			pdu_free(&p);
			break;
		} else if (op == OP_DATA_IN || op == OP_REJECT) {
			rc = failf("opcode 0x%02x for the bidirectional command", op);
		}
		pdu_free(&p);
	}
	free(zero);
	if (!rc)
		rc = same_conn_works(&c);
	conn_close(&c);
	return rc;
}

/* RFC 7144 / SAM-5 7.8, 7.10: QUERY TASK of a tag not in the task set is
 * "Function complete" (0); QUERY ASYNC EVENT on a new session reports its
 * power-on unit attention, "Function succeeded" (7), sense key 6, ASC
 * 29h in bytes 36-38, and leaves it pending. */
static int case_rfc_query_tmfs(void)
{
	struct conn c;
	if (open_and_login(&c))
		return -1;
	int rc = 0;
	const uint8_t fns[2] = {9, 12};
	const uint8_t want[2] = {0, 7};
	for (int i = 0; i < 2 && !rc; i++) {
		uint8_t b[BHS_LEN] = {OP_TMF_REQ | OP_IMMEDIATE, (uint8_t)(F_FINAL | fns[i])};
		put32(b + 16, 0x7100u + (uint32_t)i);
		put32(b + 20, i == 0 ? 0x12345 : RESERVED_TAG);
		put32(b + 24, c.cmdsn);
		put32(b + 28, c.exp_statsn);
		struct pdu p = {0};
		if (send_pdu(&c, b, NULL, 0))
			rc = failf("send failed");
		else if (!(rc = next_of(&c, OP_TMF_RSP, &p, "TMF Response"))) {
			if (p.bhs[2] != want[i])
				rc = failf("function %u answered %u, expected %u", fns[i], p.bhs[2],
					   want[i]);
			else if (fns[i] == 12 && ((p.bhs[36] & 0x0f) != 6 || p.bhs[37] != 0x29))
				rc = failf("QUERY ASYNC EVENT information %02x/%02x/%02x",
					   p.bhs[36], p.bhs[37], p.bhs[38]);
		}
		pdu_free(&p);
	}
	if (!rc) {
		struct scsi_res r;
		char d[160];
		tur(&c, 0, &r);
		if (!sense_is(&r, 6, 0x29, 0x00) && !(r.sense_len > 13 && r.sense[12] == 0x29))
			rc = failf("the unit attention is gone after the query: %s",
				   describe(&r, d, sizeof(d)));
		res_free(&r);
	}
	if (!rc)
		rc = same_conn_works(&c);
	conn_close(&c);
	return rc;
}

struct hcase {
	const char *name;
	int (*fn)(void);
};

static const struct hcase cases[] = {
    {"scsi-before-login", case_scsi_before_login},
    {"logout-before-login", case_logout_before_login},
    {"text-before-login", case_text_before_login},
    {"login-version-min", case_login_version_min},
    {"login-garbage-keys", case_login_garbage_keys},
    {"login-oversized-key", case_login_oversized_key},
    {"login-oversized-value", case_login_oversized_value},
    {"login-unknown-key", case_login_unknown_key},
    {"login-missing-initiator", case_login_missing_initiator},
    {"login-unknown-target", case_login_unknown_target},
    {"login-csg3", case_login_csg3},
    {"login-nsg2", case_login_nsg2},
    {"login-unknown-tsih", case_tsih_unknown},
    {"login-64-concurrent", case_login_64_concurrent},
    {"ffp-unknown-opcode", case_unknown_opcode},
    {"ffp-data-too-long", case_data_too_long},
    {"ffp-ahs-garbage", case_ahs_garbage},
    {"ffp-reserved-itt", case_reserved_itt},
    {"ffp-immediate-without-w", case_immediate_without_w},
    {"ffp-immediate-gt-edtl", case_immediate_gt_edtl},
    {"ffp-unsolicited-beyond-first-burst", case_unsolicited_beyond_first_burst},
    {"ffp-data-out-beyond-r2t", case_data_out_beyond_r2t},
    {"ffp-data-out-unknown-itt", case_data_out_unknown_itt},
    {"ffp-data-out-wrong-ttt", case_data_out_wrong_ttt},
    {"ffp-data-out-wrong-datasn", case_data_out_wrong_datasn},
    {"ffp-data-out-gap", case_data_out_gap},
    {"ffp-data-out-overlap", case_data_out_overlap},
    {"ffp-unsolicited-hole", case_unsolicited_hole},
    {"ffp-snack-erl0", case_snack_erl0},
    {"ffp-invalid-cdb-opcode", case_invalid_cdb_opcode},
    {"ffp-read-beyond-end", case_read_beyond_end},
    {"ffp-lun-not-mapped", case_lun_not_mapped},
    {"ffp-tmf-abort-unknown-task", case_tmf_abort_unknown},
    {"ffp-lun-reset-aborts-other-nexus", case_lun_reset_aborts_other_nexus},
    {"ffp-nop-ping-data", case_nop_ping_data},
    {"ffp-nop-in-keepalive", case_nop_in_keepalive},
    {"ffp-cmdsn-outside-window", case_cmdsn_outside_window},
    {"ffp-header-digest-wrong", case_header_digest_wrong},
    {"ffp-data-digest-roundtrip", case_dd_roundtrip},
    {"ffp-data-digest-bad-immediate", case_dd_bad_immediate},
    {"ffp-data-digest-in-place-roundtrip", case_dd_in_place_roundtrip},
    {"ffp-data-digest-in-place-bad-immediate", case_dd_in_place_bad_immediate},
    {"ffp-data-digest-in-place-bad-dataout", case_dd_in_place_bad_dataout},
    {"ffp-data-digest-bad-dataout", case_dd_bad_dataout},
    {"ffp-data-digest-bad-nop", case_dd_bad_nop},
    {"ffp-data-digest-verify-block", case_dd_verify_block},
    {"ffp-session-reinstatement", case_session_reinstatement},
    {"race-cold-reset-during-read", case_cold_reset_during_read},
    {"cmdsn-hole-reject", case_cmdsn_hole_reject},
    {"cmdsn-hole-duplicate-itt", case_cmdsn_hole_duplicate_itt},
    {"cmdsn-hole-abort-unreceived", case_cmdsn_hole_abort_unreceived},
    {"cmdsn-hole-nop-ahead", case_cmdsn_hole_nop_ahead},
    {"write-without-w-bit", case_write_without_w_bit},
    {"ordered-write-holds-read", case_ordered_write_holds_read},
    {"ordered-read-waits-write", case_ordered_read_waits_write},
    {"lun-reset-fences-write", case_lun_reset_fences_write},
    {"target-reset-fences-write", case_target_reset_fences_write},
    {"preempt-abort-fences-write", case_preempt_abort_fences_write},
    {"cold-reset-drops-all-sessions", case_cold_reset_drops_all},
    {"login-max-sessions-race", case_max_sessions_race},
    {"race-abort-then-rst", case_abort_then_rst},
    {"abort-task-r2t-open", case_abort_task_r2t_open},
    {"race-reinstate-with-pending-input", case_reinstate_with_pending_input},
    {"discovery-sendtargets-continuation", case_sendtargets_continuation},
    {"half-pdu-login-close", case_half_pdu_login},
    {"half-pdu-ffp-close", case_half_pdu_ffp},
    {"rfc-nop-echo-within-mrdsl", case_rfc_nop_echo_within_mrdsl},
    {"rfc-ffp-text-keys", case_rfc_ffp_text_keys},
    {"rfc-lun-reset-owed-data", case_rfc_lun_reset_owed_data},
    {"rfc-bidi-refused", case_rfc_bidi_refused},
    {"rfc-query-tmfs", case_rfc_query_tmfs},
};

int main(int argc, char **argv)
{
	size_t n = sizeof(cases) / sizeof(cases[0]);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", cases[i].name);
		return 0;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: %s --list | HOST PORT TARGET_IQN CASE\n", argv[0]);
		return 2;
	}
	g_host = argv[1];
	g_port = argv[2];
	g_target = argv[3];
	for (size_t i = 0; i < n; i++) {
		if (strcmp(cases[i].name, argv[4]))
			continue;
		int rc = cases[i].fn();
		char case_why[sizeof(g_why)];
		snprintf(case_why, sizeof(case_why), "%s", rc ? g_why : "");
		/* The daemon must serve a fresh session whatever happened. */
		if (health_check()) {
			printf("error: %s%shealth check after the case: %s\n", case_why,
			       rc ? "; " : "", g_why);
			return 1;
		}
		if (rc) {
			printf("error: %s\n", case_why);
			return 1;
		}
		printf("ok\n");
		return 0;
	}
	fprintf(stderr, "unknown case %s\n", argv[4]);
	return 2;
}
