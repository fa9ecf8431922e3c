/*
 * uscst-rawbench: an iSCSI load generator on a small initiator of its own,
 * for what libiscsi 1.19 (uscst-bench) cannot do: DataDigest=CRC32C
 * (libiscsi's login offers only DataDigest=None).  READ(16) and WRITE(16)
 * only; one thread, one poll() loop over its sessions, each session's
 * queue refilled before the sockets are serviced again.  The output is
 * uscst-bench's (--json has the same fields), so bench/compare.sh reads
 * either.
 *
 * Login: one stage, operational to full feature (no security stage, so no
 * CHAP), ErrorRecoveryLevel=0, InitialR2T=Yes, ImmediateData=Yes: a write
 * sends what it may as immediate data, the rest as R2Ts ask.  Every PDU
 * received is checked: digests, lengths against what was negotiated or
 * asked for, the task its tag names.  Anything unexpected ends the run
 * with an error.
 *
 * Exit status: 0 ok, 1 on errors, 2 usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <isa-l/crc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench_util.h"

#define BHS 48
#define MAX_SESSIONS 64
#define MAX_QD 256
#define OUR_MRDSL (256u * 1024)			    /* MaxRecvDataSegmentLength we declare */
#define MAX_BS (16u * 1024 * 1024)		    /* largest --bs */
#define RX_CAP (BHS + 1020 + 4 + OUR_MRDSL + 4 + 4) /* BHS, AHS, digests, data, pad */
#define LOGIN_TIMEOUT_S 10
#define DRAIN_GRACE_NS (10ull * 1000000000ull)
#define RESERVED_ITT 0xffffffffu
#define LOGOUT_ITT 0x7ffffffeu
#define CAPACITY_ITT 0x7fffffffu

enum {
	OP_NOP_OUT = 0x00,
	OP_SCSI_CMD = 0x01,
	OP_LOGIN = 0x03,
	OP_DATA_OUT = 0x05,
	OP_LOGOUT = 0x06
};
enum {
	OP_NOP_IN = 0x20,
	OP_SCSI_RSP = 0x21,
	OP_LOGIN_RSP = 0x23,
	OP_DATA_IN = 0x25,
	OP_LOGOUT_RSP = 0x26,
	OP_R2T = 0x31,
	OP_ASYNC = 0x32,
	OP_REJECT = 0x3f
};

static struct {
	const char *url;
	bool write;
	bool random;
	uint32_t bs;
	int qd;
	int sessions;
	int seconds;
	bool header_digest, data_digest;
	int cpu_pid;
	bool json;
} opt = {.random = true,
	 .bs = 4096,
	 .qd = 32,
	 .sessions = 1,
	 .seconds = 10,
	 .header_digest = true,
	 .data_digest = true};

struct task {
	bool busy;
	uint64_t lba;
	uint32_t len;
	uint32_t received; /* Data-In bytes so far */
	uint8_t response, status;
	uint64_t submit_ns;
	unsigned char *buf;
};

struct session {
	int fd;
	struct sockaddr_in addr;
	char iqn[224];
	int lun;
	uint8_t lun_field[8];
	bool hd, dd;
	bool immediate_data;
	uint32_t target_mrdsl, first_burst;
	uint32_t cmdsn, exp_statsn, max_cmdsn;
	uint32_t block_size;
	uint64_t num_blocks;
	unsigned char *rx;
	size_t rx_len;
	unsigned char *tx;
	size_t tx_len, tx_off, tx_cap;
	struct task tasks[MAX_QD];
	struct task capacity; /* READ CAPACITY(16) at setup */
	int inflight;
	bool logged_out;
	uint64_t next_seq, rng;
	bool dead;
};

static struct {
	uint64_t hist[HIST_BUCKETS];
	uint64_t reads, writes, bytes, errors;
} st;

static uint64_t stop_ns;

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint32_t get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

static uint32_t pad4(uint32_t n) { return (n + 3) & ~3u; }

/* CRC32C as RFC 7143 13.1 has it (isa-l inverts neither end itself). */
static uint32_t digest(const void *data, size_t len)
{
	return crc32_iscsi((unsigned char *)data, (int)len, 0xffffffffu) ^ 0xffffffffu;
}

/* Digests go on the wire least significant byte first. */
static void put_digest(uint8_t *p, uint32_t crc)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(crc >> (8 * i));
}

static uint32_t get_digest(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Serial number arithmetic (RFC 1982) on 32-bit sequence numbers. */
static bool sn_after(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

static void sn_update(struct session *s, const uint8_t *bhs)
{
	uint32_t max = get32(bhs + 32);
	if (sn_after(max, s->max_cmdsn))
		s->max_cmdsn = max;
}

static void fail(struct session *s, const char *what)
{
	if (!s->dead)
		fprintf(stderr, "uscst-rawbench: %s\n", what);
	s->dead = true;
	st.errors += (uint64_t)(s->inflight > 0 ? s->inflight : 1);
}

/* tx: PDUs are built at the end of one buffer and written as the socket
 * takes them. */
static uint8_t *tx_reserve(struct session *s, size_t n)
{
	if (s->tx_off == s->tx_len)
		s->tx_off = s->tx_len = 0;
	if (s->tx_len + n > s->tx_cap) {
		size_t cap = s->tx_cap ? s->tx_cap : 65536;
		while (cap < s->tx_len + n)
			cap *= 2;
		uint8_t *p = realloc(s->tx, cap);
		if (!p) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
		s->tx = p;
		s->tx_cap = cap;
	}
	uint8_t *p = s->tx + s->tx_len;
	s->tx_len += n;
	return p;
}

/* Queues one PDU: BHS, header digest, data, pad, data digest. */
static void queue_pdu(struct session *s, const uint8_t *bhs, const void *data, uint32_t dlen)
{
	size_t n = BHS + (s->hd ? 4 : 0) + pad4(dlen) + (dlen && s->dd ? 4 : 0);
	uint8_t *p = tx_reserve(s, n);
	memcpy(p, bhs, BHS);
	put24(p + 5, dlen);
	size_t at = BHS;
	if (s->hd) {
		put_digest(p + at, digest(p, BHS));
		at += 4;
	}
	if (dlen) {
		memcpy(p + at, data, dlen);
		memset(p + at + dlen, 0, pad4(dlen) - dlen);
		at += pad4(dlen);
		if (s->dd) {
			put_digest(p + at, digest(p + at - pad4(dlen), pad4(dlen)));
			at += 4;
		}
	}
}

static int flush_tx(struct session *s)
{
	while (s->tx_off < s->tx_len) {
		ssize_t n = write(s->fd, s->tx + s->tx_off, s->tx_len - s->tx_off);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		s->tx_off += (size_t)n;
	}
	return 0;
}

static void scsi_command(struct session *s, uint32_t itt, const uint8_t *cdb, bool write,
			 uint32_t len, const unsigned char *buf)
{
	uint8_t bhs[BHS] = {0};
	/* Immediate data: what fits in the first burst and the target's PDU
	 * size; InitialR2T=Yes, so the rest waits for R2Ts. */
	uint32_t imm = 0;
	if (write && s->immediate_data) {
		imm = len < s->first_burst ? len : s->first_burst;
		if (imm > s->target_mrdsl)
			imm = s->target_mrdsl;
	}
	bhs[0] = OP_SCSI_CMD;
	bhs[1] = 0x80 | (write ? 0x20 : 0x40) | 0x01; /* F, W or R, simple */
	memcpy(bhs + 8, s->lun_field, 8);
	put32(bhs + 16, itt);
	put32(bhs + 20, len);
	put32(bhs + 24, s->cmdsn++);
	put32(bhs + 28, s->exp_statsn);
	memcpy(bhs + 32, cdb, 16);
	queue_pdu(s, bhs, buf, imm);
}

static void rw_cdb(uint8_t *cdb, bool write, uint64_t lba, uint32_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = write ? 0x8a : 0x88;
	put64(cdb + 2, lba);
	put32(cdb + 10, blocks);
}

/* Picks and queues the next command into the free slot t. */
static void submit(struct session *s, int t)
{
	struct task *tk = &s->tasks[t];
	uint32_t blocks = opt.bs / s->block_size;
	uint64_t chunks = s->num_blocks / blocks;
	uint64_t chunk = opt.random ? xorshift(&s->rng) % chunks : s->next_seq++ % chunks;
	uint8_t cdb[16];
	tk->lba = chunk * blocks;
	tk->len = opt.bs;
	tk->received = 0;
	tk->busy = true;
	tk->submit_ns = now_ns();
	rw_cdb(cdb, opt.write, tk->lba, blocks);
	scsi_command(s, (uint32_t)t, cdb, opt.write, tk->len, tk->buf);
	s->inflight++;
}

/* Every free slot gets a command, as far as the CmdSN window allows. */
static void fill_queue(struct session *s, uint64_t now)
{
	if (s->dead || now >= stop_ns)
		return;
	for (int t = 0; t < opt.qd && s->inflight < opt.qd; t++) {
		if (s->tasks[t].busy)
			continue;
		if (sn_after(s->cmdsn, s->max_cmdsn))
			return;
		submit(s, t);
	}
}

static struct task *task_of(struct session *s, uint32_t itt)
{
	if (itt == CAPACITY_ITT)
		return s->capacity.busy ? &s->capacity : NULL;
	if (itt < (uint32_t)opt.qd && s->tasks[itt].busy)
		return &s->tasks[itt];
	return NULL;
}

static void task_done(struct session *s, struct task *tk, uint8_t response, uint8_t status)
{
	tk->busy = false;
	tk->response = response;
	tk->status = status;
	if (tk == &s->capacity)
		return; /* read_capacity() looks at it */
	s->inflight--;
	if (response != 0 || status != 0) {
		if (st.errors < 8)
			fprintf(stderr,
				"uscst-rawbench: LBA %" PRIu64 ": response %u status 0x%02x\n",
				tk->lba, response, status);
		st.errors++;
		return;
	}
	if (!opt.write && tk->received != tk->len) {
		fprintf(stderr, "uscst-rawbench: LBA %" PRIu64 ": %u of %u bytes read\n", tk->lba,
			tk->received, tk->len);
		st.errors++;
		return;
	}
	st.hist[hist_index(now_ns() - tk->submit_ns)]++;
	st.bytes += tk->len;
	if (opt.write)
		st.writes++;
	else
		st.reads++;
}

/* An R2T: Data-Out PDUs of at most the target's segment size for the
 * range it asks, DataSN from 0, F on the last. */
static void answer_r2t(struct session *s, const uint8_t *bhs, struct task *tk)
{
	uint32_t off = get32(bhs + 40), want = get32(bhs + 44);
	if (off > tk->len || want > tk->len - off || want == 0) {
		fail(s, "R2T outside the command's buffer");
		return;
	}
	uint32_t sn = 0;
	for (uint32_t done = 0; done < want; sn++) {
		uint32_t n = want - done < s->target_mrdsl ? want - done : s->target_mrdsl;
		uint8_t out[BHS] = {0};
		out[0] = OP_DATA_OUT;
		out[1] = done + n == want ? 0x80 : 0;
		memcpy(out + 8, s->lun_field, 8);
		memcpy(out + 16, bhs + 16, 8); /* ITT, TTT */
		put32(out + 28, s->exp_statsn);
		put32(out + 36, sn);
		put32(out + 40, off + done);
		queue_pdu(s, out, tk->buf + off + done, n);
		done += n;
	}
}

static void data_in(struct session *s, const uint8_t *bhs, const uint8_t *data, uint32_t dlen)
{
	struct task *tk = task_of(s, get32(bhs + 16));
	uint32_t off = get32(bhs + 40);
	if (!tk) {
		fail(s, "Data-In for no command of ours");
		return;
	}
	if (off > tk->len || dlen > tk->len - off) {
		fail(s, "Data-In outside the command's buffer");
		return;
	}
	memcpy(tk->buf + off, data, dlen);
	tk->received += dlen;
	if (bhs[1] & 0x01) { /* S: status in this PDU */
		s->exp_statsn = get32(bhs + 24) + 1;
		task_done(s, tk, 0, bhs[3]);
	}
}

/* One whole PDU received (digests already checked). */
static void dispatch(struct session *s, const uint8_t *bhs, const uint8_t *data, uint32_t dlen)
{
	struct task *tk;
	uint8_t op = bhs[0] & 0x3f;
	sn_update(s, bhs);
	switch (op) {
	case OP_DATA_IN:
		data_in(s, bhs, data, dlen);
		break;
	case OP_SCSI_RSP:
		tk = task_of(s, get32(bhs + 16));
		if (!tk) {
			fail(s, "SCSI Response for no command of ours");
			return;
		}
		s->exp_statsn = get32(bhs + 24) + 1;
		task_done(s, tk, bhs[2], bhs[3]);
		break;
	case OP_R2T:
		tk = task_of(s, get32(bhs + 16));
		if (!tk || tk == &s->capacity) {
			fail(s, "R2T for no write of ours");
			return;
		}
		answer_r2t(s, bhs, tk);
		break;
	case OP_NOP_IN:
		/* A ping from the target (a TTT of its own) wants a NOP-Out. */
		if (get32(bhs + 20) != RESERVED_ITT) {
			uint8_t out[BHS] = {0};
			out[0] = 0x40 | OP_NOP_OUT;
			out[1] = 0x80;
			memcpy(out + 8, bhs + 8, 8);
			put32(out + 16, RESERVED_ITT);
			memcpy(out + 20, bhs + 20, 4);
			put32(out + 24, s->cmdsn);
			put32(out + 28, s->exp_statsn);
			queue_pdu(s, out, data, dlen);
		}
		break;
	case OP_LOGOUT_RSP:
		s->logged_out = true;
		break;
	case OP_REJECT: {
		/* Reason 0x02: a data digest the target found wrong. */
		char msg[64];
		snprintf(msg, sizeof(msg), "Reject from the target, reason 0x%02x", bhs[2]);
		fail(s, msg);
		break;
	}
	default: {
		char msg[64];
		snprintf(msg, sizeof(msg), "unexpected PDU, opcode 0x%02x", op);
		fail(s, msg);
	}
	}
}

/* Reads what the socket has and handles every whole PDU in it. */
static int receive(struct session *s)
{
	ssize_t n = read(s->fd, s->rx + s->rx_len, RX_CAP - s->rx_len);
	if (n == 0) {
		fail(s, "connection closed by the target");
		return -1;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		fail(s, strerror(errno));
		return -1;
	}
	s->rx_len += (size_t)n;
	size_t at = 0;
	while (!s->dead) {
		const uint8_t *p = s->rx + at;
		size_t have = s->rx_len - at, hlen = BHS + (s->hd ? 4 : 0);
		if (have < BHS)
			break;
		uint32_t ahs = p[4] * 4u, dlen = get24(p + 5);
		if (dlen > OUR_MRDSL) {
			fail(s, "data segment above our MaxRecvDataSegmentLength");
			return -1;
		}
		hlen += ahs;
		size_t need = hlen + pad4(dlen) + (dlen && s->dd ? 4 : 0);
		if (have < need)
			break;
		if (s->hd && get_digest(p + BHS + ahs) != digest(p, BHS + ahs)) {
			fail(s, "header digest mismatch");
			return -1;
		}
		if (dlen && s->dd &&
		    get_digest(p + hlen + pad4(dlen)) != digest(p + hlen, pad4(dlen))) {
			fail(s, "data digest mismatch");
			return -1;
		}
		dispatch(s, p, p + hlen, dlen);
		at += need;
	}
	memmove(s->rx, s->rx + at, s->rx_len - at);
	s->rx_len -= at;
	return s->dead ? -1 : 0;
}

/* Blocking read of exactly n bytes (login only). */
static int read_full(int fd, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

static size_t add_key(char *buf, size_t at, size_t cap, const char *key, const char *val)
{
	int n = snprintf(buf + at, cap - at, "%s=%s", key, val);
	if (n < 0 || (size_t)n + 1 > cap - at)
		return at;
	return at + (size_t)n + 1; /* keys are NUL-separated */
}

/* Applies the answer of one key from a Login Response. */
static int login_key(struct session *s, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq)
		return 0;
	size_t klen = (size_t)(eq - kv);
	const char *v = eq + 1;
	if (klen == 12 && !strncmp(kv, "HeaderDigest", klen))
		s->hd = !strcmp(v, "CRC32C");
	else if (klen == 10 && !strncmp(kv, "DataDigest", klen))
		s->dd = !strcmp(v, "CRC32C");
	else if (klen == 13 && !strncmp(kv, "ImmediateData", klen))
		s->immediate_data = !strcmp(v, "Yes");
	else if (klen == 24 && !strncmp(kv, "MaxRecvDataSegmentLength", klen))
		s->target_mrdsl = (uint32_t)strtoul(v, NULL, 10);
	else if (klen == 16 && !strncmp(kv, "FirstBurstLength", klen))
		s->first_burst = (uint32_t)strtoul(v, NULL, 10);
	else if (klen == 10 && !strncmp(kv, "InitialR2T", klen) && strcmp(v, "Yes") != 0) {
		fprintf(stderr, "uscst-rawbench: target answered InitialR2T=%s\n", v);
		return -1;
	}
	return 0;
}

static int login(struct session *s, uint16_t isid_low)
{
	char text[1024];
	size_t len = 0;
	char mrdsl[16];
	snprintf(mrdsl, sizeof(mrdsl), "%u", OUR_MRDSL);
	len = add_key(text, len, sizeof(text), "InitiatorName", "iqn.2026-12.org.uscst:rawbench");
	len = add_key(text, len, sizeof(text), "TargetName", s->iqn);
	len = add_key(text, len, sizeof(text), "SessionType", "Normal");
	len =
	    add_key(text, len, sizeof(text), "HeaderDigest", opt.header_digest ? "CRC32C" : "None");
	len = add_key(text, len, sizeof(text), "DataDigest", opt.data_digest ? "CRC32C" : "None");
	len = add_key(text, len, sizeof(text), "MaxRecvDataSegmentLength", mrdsl);
	len = add_key(text, len, sizeof(text), "InitialR2T", "Yes");
	len = add_key(text, len, sizeof(text), "ImmediateData", "Yes");
	len = add_key(text, len, sizeof(text), "FirstBurstLength", "262144");
	len = add_key(text, len, sizeof(text), "MaxBurstLength", "16776192");
	len = add_key(text, len, sizeof(text), "MaxConnections", "1");
	len = add_key(text, len, sizeof(text), "ErrorRecoveryLevel", "0");
	len = add_key(text, len, sizeof(text), "DataPDUInOrder", "Yes");
	len = add_key(text, len, sizeof(text), "DataSequenceInOrder", "Yes");
	/* Defaults of RFC 7143 for what the target does not answer. */
	s->target_mrdsl = 8192;
	s->first_burst = 65536;
	s->immediate_data = true;
	s->cmdsn = 1;
	for (int round = 0; round < 8; round++) {
		uint8_t bhs[BHS] = {0}, rsp[BHS];
		bhs[0] = 0x40 | OP_LOGIN;
		bhs[1] = 0x80 | (1 << 2) | 3; /* T, operational -> full feature */
		put24(bhs + 5, (uint32_t)len);
		bhs[8] = 0x80; /* ISID: random type */
		put16(bhs + 12, isid_low);
		put32(bhs + 24, s->cmdsn);
		put32(bhs + 28, s->exp_statsn);
		uint8_t pad[4] = {0};
		if (write(s->fd, bhs, BHS) != BHS ||
		    (len && write(s->fd, text, len) != (ssize_t)len) ||
		    (pad4((uint32_t)len) != len && write(s->fd, pad, pad4((uint32_t)len) - len) !=
						       (ssize_t)(pad4((uint32_t)len) - len)) ||
		    read_full(s->fd, rsp, BHS) != 0) {
			fprintf(stderr, "uscst-rawbench: login: connection failed\n");
			return -1;
		}
		uint32_t dlen = get24(rsp + 5);
		if ((rsp[0] & 0x3f) != OP_LOGIN_RSP || rsp[4] != 0 || dlen > OUR_MRDSL) {
			fprintf(stderr, "uscst-rawbench: login: bad answer (opcode 0x%02x)\n",
				rsp[0]);
			return -1;
		}
		char *data = calloc(1, pad4(dlen) + 1);
		if (!data || read_full(s->fd, data, pad4(dlen)) != 0) {
			free(data);
			fprintf(stderr, "uscst-rawbench: login: connection failed\n");
			return -1;
		}
		if (rsp[36] != 0) {
			fprintf(stderr, "uscst-rawbench: login refused: class %u detail %u\n",
				rsp[36], rsp[37]);
			free(data);
			return -1;
		}
		for (uint32_t at = 0; at < dlen; at += (uint32_t)strlen(data + at) + 1)
			if (login_key(s, data + at) != 0) {
				free(data);
				return -1;
			}
		free(data);
		s->exp_statsn = get32(rsp + 24) + 1;
		s->max_cmdsn = get32(rsp + 32);
		if ((rsp[1] & 0x80) && (rsp[1] & 3) == 3)
			break;
		len = 0; /* the target wants another round: nothing more to say */
		if (round == 7) {
			fprintf(stderr, "uscst-rawbench: login did not reach full feature phase\n");
			return -1;
		}
	}
	if (s->hd != opt.header_digest || s->dd != opt.data_digest) {
		fprintf(stderr, "uscst-rawbench: target answered HeaderDigest %s, DataDigest %s\n",
			s->hd ? "CRC32C" : "None", s->dd ? "CRC32C" : "None");
		return -1;
	}
	if (s->target_mrdsl < 512 || s->first_burst < 512) {
		fprintf(stderr, "uscst-rawbench: target's segment or burst length too small\n");
		return -1;
	}
	return 0;
}

/* Services the one session until its READ CAPACITY(16) is answered. */
static int read_capacity(struct session *s)
{
	uint8_t cdb[16] = {0x9e, 0x10};
	put32(cdb + 10, 32);
	/* A unit attention may come first after login: asked a few times. */
	for (int tries = 0; tries < 4; tries++) {
		s->capacity.busy = true;
		s->capacity.len = 32;
		s->capacity.received = 0;
		scsi_command(s, CAPACITY_ITT, cdb, false, 32, NULL);
		uint64_t deadline = now_ns() + LOGIN_TIMEOUT_S * 1000000000ull;
		while (s->capacity.busy && !s->dead) {
			struct pollfd p = {.fd = s->fd, .events = POLLIN};
			if (s->tx_off < s->tx_len)
				p.events |= POLLOUT;
			if (now_ns() > deadline || poll(&p, 1, 100) < 0) {
				fail(s, "READ CAPACITY(16) unanswered");
				return -1;
			}
			if ((p.revents & POLLOUT) && flush_tx(s) != 0) {
				fail(s, "send failed");
				return -1;
			}
			if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && receive(s) != 0)
				return -1;
		}
		if (s->dead)
			return -1;
		if (s->capacity.response == 0 && s->capacity.status == 0 &&
		    s->capacity.received >= 12) {
			s->num_blocks = get64(s->capacity.buf) + 1;
			s->block_size = get32(s->capacity.buf + 8);
			if (s->block_size < 512 || opt.bs % s->block_size != 0 ||
			    s->num_blocks < opt.bs / s->block_size) {
				fprintf(
				    stderr,
				    "uscst-rawbench: block size %u / LUN size do not fit --bs\n",
				    s->block_size);
				return -1;
			}
			return 0;
		}
	}
	fprintf(stderr, "uscst-rawbench: READ CAPACITY(16) failed\n");
	return -1;
}

static int parse_url(struct session *s, const char *url)
{
	char host[64];
	int port = 3260, lun, n = 0;
	if (sscanf(url, "iscsi://%63[^:/]%n", host, &n) != 1)
		return -1;
	url += n;
	if (*url == ':' && sscanf(url, ":%d%n", &port, &n) == 1)
		url += n;
	if (sscanf(url, "/%223[^/]/%d%n", s->iqn, &lun, &n) != 2 || url[n] != '\0' || lun < 0 ||
	    lun > 16383 || port <= 0 || port > 65535)
		return -1;
	s->addr.sin_family = AF_INET;
	s->addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &s->addr.sin_addr) != 1)
		return -1;
	s->lun = lun;
	/* SAM LUN: peripheral addressing below 256, flat space above. */
	memset(s->lun_field, 0, 8);
	s->lun_field[0] = lun < 256 ? 0 : (uint8_t)(0x40 | (lun >> 8));
	s->lun_field[1] = (uint8_t)lun;
	return 0;
}

static int session_open(struct session *s, int idx)
{
	if (parse_url(s, opt.url) != 0) {
		fprintf(stderr, "uscst-rawbench: bad URL %s (iscsi://IPv4[:PORT]/IQN/LUN)\n",
			opt.url);
		return -1;
	}
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct timeval tv = {.tv_sec = LOGIN_TIMEOUT_S};
	if (s->fd < 0 || setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(s->fd, (struct sockaddr *)&s->addr, sizeof(s->addr)) != 0) {
		fprintf(stderr, "uscst-rawbench: connect: %s\n", strerror(errno));
		return -1;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (login(s, (uint16_t)(getpid() * 64 + idx)) != 0)
		return -1;
	if (fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK) != 0)
		return -1;
	s->rx = malloc(RX_CAP);
	s->capacity.buf = calloc(1, 32);
	if (!s->rx || !s->capacity.buf)
		return -1;
	for (int t = 0; t < opt.qd; t++)
		if (!(s->tasks[t].buf = calloc(1, opt.bs)))
			return -1;
	s->rng = 0x2545F4914F6CDD1Dull ^ ((uint64_t)(idx + 1) * 0x9E3779B97F4A7C15ull);
	if (read_capacity(s) != 0)
		return -1;
	/* Sequential streams start apart so they do not read the same blocks. */
	s->next_seq = (uint64_t)idx * 1000003ull;
	return 0;
}

/* A Logout (close the session), answered within a second or two. */
static void session_close(struct session *s)
{
	if (s->fd < 0)
		return;
	if (!s->dead) {
		uint8_t bhs[BHS] = {0};
		bhs[0] = 0x40 | OP_LOGOUT;
		bhs[1] = 0x80; /* close the session */
		put32(bhs + 16, LOGOUT_ITT);
		put32(bhs + 24, s->cmdsn);
		put32(bhs + 28, s->exp_statsn);
		queue_pdu(s, bhs, NULL, 0);
		uint64_t deadline = now_ns() + 2000000000ull;
		while (!s->logged_out && !s->dead && now_ns() < deadline) {
			struct pollfd p = {.fd = s->fd, .events = POLLIN};
			if (s->tx_off < s->tx_len)
				p.events |= POLLOUT;
			if (poll(&p, 1, 100) < 0)
				break;
			if ((p.revents & POLLOUT) && flush_tx(s) != 0)
				break;
			if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && receive(s) != 0)
				break;
		}
	}
	close(s->fd);
	s->fd = -1;
}

static void run(struct session *ss, int n)
{
	struct pollfd pfd[MAX_SESSIONS];
	uint64_t abort_ns = stop_ns + DRAIN_GRACE_NS;
	for (;;) {
		uint64_t now = now_ns();
		int active = 0;
		for (int i = 0; i < n; i++) {
			struct session *s = &ss[i];
			fill_queue(s, now);
			if (!s->dead && flush_tx(s) != 0)
				fail(s, "send failed");
			pfd[i].fd = -1;
			pfd[i].events = 0;
			if (s->dead || (now >= stop_ns && s->inflight == 0))
				continue;
			pfd[i].fd = s->fd;
			pfd[i].events = POLLIN | (s->tx_off < s->tx_len ? POLLOUT : 0);
			active++;
		}
		if (!active)
			return;
		if (now >= abort_ns) {
			for (int i = 0; i < n; i++)
				if (!ss[i].dead && ss[i].inflight)
					fail(&ss[i], "commands unanswered at the deadline");
			return;
		}
		if (poll(pfd, (nfds_t)n, 100) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			st.errors++;
			return;
		}
		for (int i = 0; i < n; i++) {
			if (pfd[i].fd < 0)
				continue;
			if ((pfd[i].revents & POLLOUT) && flush_tx(&ss[i]) != 0)
				fail(&ss[i], "send failed");
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				receive(&ss[i]);
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: uscst-rawbench [options] iscsi://IPv4[:PORT]/IQN/LUN\n"
		"  --rw read|write          workload (default read)\n"
		"  --random | --seq         access pattern (default random)\n"
		"  --bs BYTES               block size, K/M suffixes (default 4K)\n"
		"  --qd N                   queue depth per session (default 32, at most %d)\n"
		"  --sessions N             sessions, one thread (default 1, at most %d)\n"
		"  --time SECONDS           run length (default 10)\n"
		"  --digest all|header|none CRC32C digests (default all: header and data)\n"
		"  --cpu-pid PID            report PID's CPU time (user+sys, all threads)\n"
		"                           over the measured interval, per command\n"
		"  --json                   one JSON object instead of text (uscst-bench's)\n",
		MAX_QD, MAX_SESSIONS);
}

static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"rw", required_argument, 0, 'w'},	    {"random", no_argument, 0, 'r'},
	    {"seq", no_argument, 0, 's'},	    {"bs", required_argument, 0, 'b'},
	    {"qd", required_argument, 0, 'q'},	    {"sessions", required_argument, 0, 'n'},
	    {"time", required_argument, 0, 't'},    {"digest", required_argument, 0, 'd'},
	    {"cpu-pid", required_argument, 0, 'p'}, {"json", no_argument, 0, 'j'},
	    {"help", no_argument, 0, 'h'},	    {0, 0, 0, 0},
	};
	int c;
	uint64_t size;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (strcmp(optarg, "read") && strcmp(optarg, "write"))
				goto bad;
			opt.write = !strcmp(optarg, "write");
			break;
		case 'r':
			opt.random = true;
			break;
		case 's':
			opt.random = false;
			break;
		case 'b':
			if (!parse_size(optarg, &size) || size > MAX_BS || size % 512)
				goto bad;
			opt.bs = (uint32_t)size;
			break;
		case 'q':
			if (!parse_int(optarg, 1, MAX_QD, &opt.qd))
				goto bad;
			break;
		case 'n':
			if (!parse_int(optarg, 1, MAX_SESSIONS, &opt.sessions))
				goto bad;
			break;
		case 't':
			if (!parse_int(optarg, 1, 86400, &opt.seconds))
				goto bad;
			break;
		case 'd':
			if (!strcmp(optarg, "all"))
				opt.header_digest = opt.data_digest = true;
			else if (!strcmp(optarg, "header"))
				opt.header_digest = true, opt.data_digest = false;
			else if (!strcmp(optarg, "none"))
				opt.header_digest = opt.data_digest = false;
			else
				goto bad;
			break;
		case 'p':
			if (!parse_int(optarg, 1, INT32_MAX, &opt.cpu_pid))
				goto bad;
			break;
		case 'j':
			opt.json = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -1;
	}
	opt.url = argv[optind];
	return 0;
bad:
	fprintf(stderr, "uscst-rawbench: bad value '%s'\n", optarg);
	usage(stderr);
	return -1;
}

int main(int argc, char **argv)
{
	static struct session ss[MAX_SESSIONS];
	if (parse_args(argc, argv) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, bench_on_alarm);
	alarm((unsigned)opt.seconds + LOGIN_TIMEOUT_S * 2 +
	      (unsigned)(DRAIN_GRACE_NS / 1000000000ull) + 5);
	for (int i = 0; i < opt.sessions; i++)
		ss[i].fd = -1;
	for (int i = 0; i < opt.sessions; i++)
		if (session_open(&ss[i], i) != 0) {
			for (int j = 0; j <= i; j++)
				if (ss[j].fd >= 0)
					close(ss[j].fd);
			return 1;
		}
	long long cpu_start = opt.cpu_pid ? process_cpu_ticks(opt.cpu_pid) : -1;
	uint64_t start = now_ns();
	stop_ns = start + (uint64_t)opt.seconds * 1000000000ull;
	run(ss, opt.sessions);
	uint64_t elapsed = now_ns() - start;
	long long cpu_end = opt.cpu_pid ? process_cpu_ticks(opt.cpu_pid) : -1;
	for (int i = 0; i < opt.sessions; i++)
		session_close(&ss[i]);
	if (opt.cpu_pid && (cpu_start < 0 || cpu_end < 0)) {
		fprintf(stderr, "uscst-rawbench: cannot read /proc/%d/stat\n", opt.cpu_pid);
		return 1;
	}

	uint64_t done = st.reads + st.writes;
	struct bench_figures f =
	    bench_figures_of(st.hist, done, st.bytes, elapsed, opt.cpu_pid, cpu_start, cpu_end);
	if (opt.json) {
		bench_json_begin(&f, st.reads, st.writes, st.errors);
		bench_json_end(&f, opt.cpu_pid);
	} else {
		printf("time %.3f s, %d session(s) x QD%d, %u-byte %s %s, digests %s\n", f.secs,
		       opt.sessions, opt.qd, opt.bs, opt.random ? "random" : "sequential",
		       opt.write ? "write" : "read",
		       opt.data_digest	   ? "header+data"
		       : opt.header_digest ? "header"
					   : "none");
		printf("IOPS %.0f\nMB/s %.2f\n", f.iops, f.mbps);
		printf("latency us p50 %.1f p99 %.1f p99.9 %.1f\n", f.p50, f.p99, f.p999);
		printf("commands %" PRIu64 " (reads %" PRIu64 ", writes %" PRIu64
		       ")\nerrors %" PRIu64 "\n",
		       done, st.reads, st.writes, st.errors);
		if (opt.cpu_pid)
			printf("target CPU %.3f s (%.1f%% of one core), %.3f us per command\n",
			       f.cpu_s, f.busy * 100, f.cpu_us_per_cmd);
	}
	return st.errors ? 1 : 0;
}
