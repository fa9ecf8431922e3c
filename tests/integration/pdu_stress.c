/*
 * pdu_stress: a seeded, time-bounded random-PDU stress client for uscstd
 * (issue 11, "hostile initiators").  Many connections at once (one thread
 * each), every socket non-blocking and every wait bounded by poll(), so the
 * client itself never hangs whatever the target does.  Each thread runs
 * "episodes" one after the other until the duration is over; an episode is
 * one connection (two or more for a session reinstatement) doing one kind of
 * abuse:
 *   mixed      valid commands (READ/WRITE small and large, TUR, INQUIRY,
 *              ...), writes with immediate / unsolicited / solicited data
 *              (R2Ts sometimes never answered or answered wrongly), pings,
 *              TMFs of every kind mixed in, the odd mutated PDU
 *   bigread    READ of several MiB followed in the same write() by a TMF
 *              (ABORT TASK of it, a bogus ABORT TASK, ABORT TASK SET, LUN
 *              RESET, TARGET WARM/COLD RESET)
 *   mutate     valid PDUs with bit flips, huge DataSegmentLength / AHS
 *              lengths on a 48-byte header, garbage AHS, truncated PDUs,
 *              random headers, data beyond MaxRecvDataSegmentLength
 *   cmdsn      CmdSN duplicated, out of order, outside the window, holes
 *              that never fill, duplicate ITTs
 *   reinstate  a login with the ISID + InitiatorName of a live session
 *              whose connection still has input pending (sometimes from
 *              another thread, so the sessions live on different reactors)
 *   slowread   large READs, then the socket is not read for seconds while
 *              more pings are sent, then read slowly
 *   login      hostile logins: PDUs before login, garbage keys, bit flips,
 *              half a login PDU, discovery sessions
 * Every episode ends at random: Logout, close, TCP RST (SO_LINGER 0),
 * shutdown(SHUT_WR) and reading until the target closes, or RST with input
 * still unread.  A probe thread logs in every few seconds and checks TEST
 * UNIT READY + READ(10) to notice a hung target while the stress runs.
 *
 * Each thread's random stream comes from SEED and its index, each episode
 * gets its own seed from that stream (logged with --log as SEED:KIND), and
 * --episode SEED:KIND replays one episode alone (the target's timing is not
 * replayed, so a race may need the whole run again: same SEED, SECONDS and
 * CONNECTIONS).
 *
 * Usage: pdu_stress SEED SECONDS CONNECTIONS HOST PORT TARGET_IQN
 *                   [--log FILE] [--only KIND[,KIND...]] [--episode SEED[:KIND]]
 *                   [--target2 IQN] [--luns N]
 *        pdu_stress --check HOST PORT TARGET_IQN
 * --target2: 30% of the sessions log in there instead (pdu-stress.sh gives
 * it 1 s/2 s NOP-In keep-alive timers and RspTimeout 2, so slow readers get
 * dropped).  --luns N: LUNs 1..N-1 exist too and get 30% of the commands
 * and LUN-scoped TMFs (the test maps a vdisk_nullio there).  --check: clears persistent
 * reservations, then four fresh sessions must do TEST UNIT READY, READ CAPACITY, READ, WRITE + READ
 * back. Exit status: 0 finished (counts on stdout), 1 the target stopped answering (refused
 * connections, probes timing out, a TMF never answered on a clean connection), 2 usage, 3 the
 * client's own watchdog fired (a bug here).
 *
 * Standalone on purpose, like hostile_client: no daemon code, its own
 * CRC32C and PDU builder.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
#include <time.h>
#include <unistd.h>

#include "wire.h"

#define BHS_LEN 48
#define INITIATOR "iqn.2026-11.org.uscst:pdu-stress"
#define OP_TIMEOUT_MS 5000 /* one request/answer round */
#define GRACE_MS 20000	   /* episodes still running at the end get this long */
#define TMF_STALL_MS 15000 /* a TMF on a clean connection not answered: a hang */
#define WATCHDOG_MS 30000  /* past the grace: the client itself is stuck */
#define MAX_THREADS 256
#define MAX_TASKS 64
#define PATTERN_LEN (4u << 20)
#define RX_CHUNK (256u * 1024)
#define KEEP_MAX (64u * 1024) /* received data kept (login/text/reject) */
#define BIG_READ_MIN (4u << 20)
#define BIG_READ_MAX (32u << 20)
#define WRITE_MAX (1u << 20)

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
#define OP_ASYNC 0x32
#define OP_REJECT 0x3f
#define OP_IMMEDIATE 0x40

#define F_FINAL 0x80
#define F_READ 0x40
#define F_WRITE 0x20
#define RESERVED_TAG 0xffffffffu

#define TMF_ABORT_TASK 1
#define TMF_ABORT_TASK_SET 2
#define TMF_CLEAR_ACA 3
#define TMF_CLEAR_TASK_SET 4
#define TMF_LUN_RESET 5
#define TMF_TARGET_WARM_RESET 6
#define TMF_TARGET_COLD_RESET 7

/* --- counters --- */

#define COUNTERS(X)                                                                                \
	X(EPISODES, "episodes")                                                                    \
	X(CONNECTS, "connections opened")                                                          \
	X(CONNECT_FAIL, "connections refused/failed")                                              \
	X(LOGIN_OK, "logins to full feature phase")                                                \
	X(LOGIN_REFUSED, "logins refused (status)")                                                \
	X(LOGIN_FAIL, "logins without an answer (closed/timeout)")                                 \
	X(PDU_TX, "PDUs sent")                                                                     \
	X(PDU_VALID, "  valid")                                                                    \
	X(PDU_MUTATED, "  mutated")                                                                \
	X(BYTES_TX, "bytes sent")                                                                  \
	X(PDU_RX, "PDUs received")                                                                 \
	X(BYTES_RX, "bytes received")                                                              \
	X(SCSI_CMDS, "SCSI commands")                                                              \
	X(BIG_READS, "  READs of >= 4 MiB")                                                        \
	X(WRITES, "  WRITEs")                                                                      \
	X(RANDOM_CDBS, "  random CDBs")                                                            \
	X(PR_OUT, "  PERSISTENT RESERVE OUT")                                                      \
	X(XCOPY, "  EXTENDED COPY")                                                                \
	X(AHS_CMDS, "  with an AHS (extended CDB, bidirectional)")                                 \
	X(TEXT, "Text Requests in full feature phase")                                             \
	X(SCSI_RSP, "SCSI responses (incl. Data-In with status)")                                  \
	X(ST_GOOD, "  GOOD")                                                                       \
	X(ST_CHECK, "  CHECK CONDITION")                                                           \
	X(ST_CONFLICT, "  RESERVATION CONFLICT")                                                   \
	X(ST_BUSY, "  BUSY / TASK SET FULL")                                                       \
	X(ST_OTHER, "  other status / iSCSI response != 0")                                        \
	X(XCOPY_GOOD, "  EXTENDED COPY with GOOD")                                                 \
	X(DATA_OUT, "Data-Out PDUs")                                                               \
	X(R2T_RX, "R2Ts received")                                                                 \
	X(R2T_IGNORED, "  never answered")                                                         \
	X(R2T_BAD, "  answered wrongly")                                                           \
	X(TMF_ABORT, "TMF ABORT TASK (real RTT)")                                                  \
	X(TMF_ABORT_BOGUS, "TMF ABORT TASK (bogus RTT)")                                           \
	X(TMF_ABORT_SET, "TMF ABORT/CLEAR TASK SET")                                               \
	X(TMF_LUN_RESET, "TMF LUN RESET")                                                          \
	X(TMF_WARM, "TMF TARGET WARM RESET")                                                       \
	X(TMF_COLD, "TMF TARGET COLD RESET")                                                       \
	X(TMF_OTHER, "TMF other function codes")                                                   \
	X(TMF_RSP, "TMF responses")                                                                \
	X(TMF_STALL, "  TMF never answered on a clean connection (hang)")                          \
	X(BIGREAD_TMF, "big READ + TMF in one write()")                                            \
	X(NOP_PING, "NOP-Out pings")                                                               \
	X(NOP_ANSWERED, "target NOP-In pings answered")                                            \
	X(REINSTATE, "session reinstatements")                                                     \
	X(REINSTATE_X, "  with another thread's ISID")                                             \
	X(CMDSN_GAMES, "CmdSN out of order/dup/outside window")                                    \
	X(BITFLIP, "bit-flipped headers")                                                          \
	X(BOGUS_LEN, "bogus DataSegmentLength/AHS lengths")                                        \
	X(TRUNCATED, "truncated PDUs")                                                             \
	X(SLOW_READ, "slow-reader pauses")                                                         \
	X(SLOW_HEAVY, "  with a window of 32 MiB READs unread")                                    \
	X(REJECT_RX, "Rejects received")                                                           \
	X(LOGOUT, "Logouts")                                                                       \
	X(END_CLOSE, "ended by close()")                                                           \
	X(END_RST, "ended by TCP RST")                                                             \
	X(END_HALF, "ended by shutdown(SHUT_WR)")                                                  \
	X(TARGET_CLOSED, "connections the target closed")                                          \
	X(STALLS, "waits that timed out")                                                          \
	X(PROBE_OK, "probes ok")                                                                   \
	X(PROBE_RETRY, "probe attempts failed (retried)")                                          \
	X(PROBE_FAIL, "probe rounds failed (3 attempts)")

enum ctr {
#define X(id, text) C_##id,
	COUNTERS(X)
#undef X
	    N_CTR
};
static const char *const ctr_names[] = {
#define X(id, text) text,
    COUNTERS(X)
#undef X
};
static atomic_ullong g_ctr[N_CTR];
static void cnt(enum ctr c, unsigned long long n) { atomic_fetch_add(&g_ctr[c], n); }

/* --- global configuration --- */

static const char *g_host, *g_port, *g_target;
static const char *g_target2; /* --target2: e.g. short NOP-In timers */
static struct sockaddr_storage g_addr;
static socklen_t g_addrlen;
static int64_t g_start, g_end, g_hard_end;
static atomic_bool g_stop;
static atomic_int g_refused_streak; /* consecutive refused connects, all threads */
static atomic_int g_running;
static uint64_t g_blocks = 131072; /* learned by the first probe */
static uint32_t g_bs = 512;
static uint8_t *g_pattern; /* write payload */
static FILE *g_log;
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned g_only; /* bit mask of episode kinds, 0: all */
static unsigned g_nthreads;
static unsigned g_nluns = 1;	 /* --luns: LUNs 0..N-1 exist */
static atomic_bool g_heavy_slow; /* one heavy slow reader at a time */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	if (!g_log)
		return;
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&g_log_lock);
	int64_t t = now_ms() - g_start;
	fprintf(g_log, "%3lld.%03lld ", (long long)(t / 1000), (long long)(t % 1000));
	vfprintf(g_log, fmt, ap);
	fputc('\n', g_log);
	fflush(g_log);
	pthread_mutex_unlock(&g_log_lock);
	va_end(ap);
}

/* --- random numbers (splitmix64: tiny, good enough, reproducible) --- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
/* The splitmix64 finaliser alone: independent-looking streams per thread
 * (seeds that differ by the increment would give shifted copies). */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static uint32_t below(struct rng *r, uint32_t n) { return n ? (uint32_t)(rnd(r) % n) : 0; }
static uint32_t range(struct rng *r, uint32_t lo, uint32_t hi)
{
	return lo + below(r, hi - lo + 1);
}
static bool chance(struct rng *r, unsigned pct) { return below(r, 100) < pct; }

/* --- sequence numbers --- */

static bool sn_lt(uint32_t a, uint32_t b) { return a != b && (int32_t)(a - b) < 0; }
static bool sn_le(uint32_t a, uint32_t b) { return a == b || sn_lt(a, b); }

/* --- CRC32C (Castagnoli, reflected 0x82f63b78), one table --- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
		crc_table[i] = c;
	}
}

static uint32_t crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

/* --- connection --- */

struct task {
	bool used;
	bool write;
	bool big;
	uint8_t r2t_policy; /* 0 answer, 1 ignore, 2 answer wrongly */
	uint32_t itt;
	uint32_t cmdsn;
	uint32_t edtl;
	uint64_t seq;  /* send order, for the TMFs covering older tasks */
	uint8_t *data; /* Data-Out parameter data (NULL: g_pattern) */
	uint8_t op;    /* CDB operation code */
	uint64_t lun;
	/* R2Ts left unanswered (or answered wrongly): when this initiator
	 * aborts the task it still answers them (RFC 7143 11.5.1), and the
	 * target's TMF answer waits for that. */
#define MAX_OPEN_R2T 8
	uint32_t open_ttt[MAX_OPEN_R2T], open_off[MAX_OPEN_R2T];
	unsigned nopen;
	bool abort_sent; /* an ABORT TASK / TASK SET covering it was sent */
};

struct conn {
	int fd;
	int tid;
	struct rng *r;
	bool hd, dd; /* digests in force */
	bool hd_neg, dd_neg;
	bool ffp;
	bool closed;	/* no more I/O: EOF, reset, error */
	bool no_read;	/* slow reader: leave the socket unread */
	bool rand_attr; /* random task attributes (ORDERED, HEAD OF QUEUE, ACA) */
	unsigned read_delay_ms;
	size_t read_chunk;
	uint32_t cmdsn, exp_statsn, exp_cmdsn, max_cmdsn;
	uint32_t itt;
	uint8_t isid[6];
	uint16_t tsih;
	uint32_t tgt_mrdsl, first_burst, max_burst;
	bool immediate_data, initial_r2t;
	/* output queue */
	uint8_t *tx;
	size_t tx_len, tx_off, tx_cap;
	/* input parser */
	uint8_t hdr[BHS_LEN + 1024 + 4];
	uint32_t hdr_have, hdr_need;
	bool in_body;
	uint8_t *body;
	uint32_t body_need, body_have, body_keep;
	/* what came back */
	bool login_rsp;
	uint8_t login_bhs[BHS_LEN];
	uint8_t *login_data;
	uint32_t login_dlen;
	uint32_t tmf_rsp_itt; /* the last TMF response's ITT */
	unsigned tmf_rsps;
	bool logout_rsp;
	unsigned rejects;
	/* tasks */
	struct task tasks[MAX_TASKS];
	uint64_t seq;
	uint8_t *scratch; /* RX_CHUNK bytes */
};

static int conn_open(struct conn *c, struct rng *r, int tid, const uint8_t *isid, int rcvbuf)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->r = r;
	c->tid = tid;
	c->hdr_need = BHS_LEN;
	c->read_chunk = RX_CHUNK;
	c->tgt_mrdsl = 8192;
	c->first_burst = 65536;
	c->max_burst = 262144;
	c->initial_r2t = true;
	c->itt = range(r, 1, 0x7fff0000);
	memcpy(c->isid, isid, 6);
	c->scratch = malloc(RX_CHUNK);
	if (!c->scratch)
		return -1;
	int fd = socket(g_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		free(c->scratch);
		c->scratch = NULL;
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	int rc = connect(fd, (const struct sockaddr *)&g_addr, g_addrlen);
	if (rc < 0 && errno == EINPROGRESS) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int err = 0;
		socklen_t el = sizeof(err);
		if (poll(&p, 1, OP_TIMEOUT_MS) == 1 &&
		    !getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) && !err)
			rc = 0;
		else
			errno = err ? err : ETIMEDOUT;
	}
	if (rc < 0) {
		int e = errno;
		if (e == ECONNREFUSED)
			atomic_fetch_add(&g_refused_streak, 1);
		cnt(C_CONNECT_FAIL, 1);
		close(fd);
		free(c->scratch);
		c->scratch = NULL;
		errno = e;
		return -1;
	}
	atomic_store(&g_refused_streak, 0);
	cnt(C_CONNECTS, 1);
	c->fd = fd;
	return 0;
}

static void task_del(struct task *t);

static void conn_free(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	for (int i = 0; i < MAX_TASKS; i++)
		task_del(&c->tasks[i]);
	free(c->tx);
	free(c->body);
	free(c->login_data);
	free(c->scratch);
	c->tx = c->body = c->login_data = c->scratch = NULL;
}

static void tx_reserve(struct conn *c, size_t n)
{
	if (c->tx_off && c->tx_off == c->tx_len)
		c->tx_off = c->tx_len = 0;
	if (c->tx_len + n <= c->tx_cap)
		return;
	if (c->tx_off) {
		memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
		c->tx_len -= c->tx_off;
		c->tx_off = 0;
	}
	size_t cap = c->tx_cap ? c->tx_cap : 65536;
	while (cap < c->tx_len + n)
		cap *= 2;
	uint8_t *p = realloc(c->tx, cap);
	if (!p) {
		fprintf(stderr, "pdu_stress: out of memory\n");
		exit(3);
	}
	c->tx = p;
	c->tx_cap = cap;
}

static void queue_raw(struct conn *c, const void *p, size_t n)
{
	tx_reserve(c, n);
	memcpy(c->tx + c->tx_len, p, n);
	c->tx_len += n;
	cnt(C_BYTES_TX, n);
}

#define CORRUPT_HD 1u
#define CORRUPT_DD 2u

/* Queues BHS (+AHS) (+header digest) (+data, padding, data digest).  The
 * header's length fields come from the arguments unless raw_lengths. */
static void queue_pdu_ex(struct conn *c, uint8_t *bhs, const uint8_t *ahs, uint32_t ahs_len,
			 const uint8_t *data, uint32_t dlen, bool raw_lengths, unsigned corrupt)
{
	if (!raw_lengths) {
		bhs[4] = (uint8_t)(ahs_len / 4);
		put24(bhs + 5, dlen);
	}
	uint32_t pad = (4 - (dlen & 3)) & 3;
	size_t total = BHS_LEN + ahs_len + (c->hd ? 4 : 0) + dlen + pad + (c->dd && dlen ? 4 : 0);
	tx_reserve(c, total);
	uint8_t *buf = c->tx + c->tx_len;
	memcpy(buf, bhs, BHS_LEN);
	size_t off = BHS_LEN;
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
	off += dlen;
	memset(buf + off, 0, pad);
	off += pad;
	if (c->dd && dlen) {
		put_digest(buf + off, crc32c(buf + data_off, dlen + pad) ^
					  (corrupt & CORRUPT_DD ? 0x00000100u : 0));
		off += 4;
	}
	c->tx_len += off;
	cnt(C_BYTES_TX, off);
	cnt(C_PDU_TX, 1);
}

static void queue_pdu(struct conn *c, uint8_t *bhs, const uint8_t *data, uint32_t dlen)
{
	queue_pdu_ex(c, bhs, NULL, 0, data, dlen, false, 0);
	cnt(C_PDU_VALID, 1);
}

/* --- input --- */

static void task_del(struct task *t)
{
	t->used = false;
	free(t->data);
	t->data = NULL;
}

static struct task *task_find(struct conn *c, uint32_t itt)
{
	for (int i = 0; i < MAX_TASKS; i++)
		if (c->tasks[i].used && c->tasks[i].itt == itt)
			return &c->tasks[i];
	return NULL;
}

static unsigned tasks_outstanding(const struct conn *c, bool big_only)
{
	unsigned n = 0;
	for (int i = 0; i < MAX_TASKS; i++)
		if (c->tasks[i].used && (!big_only || c->tasks[i].big))
			n++;
	return n;
}

static uint64_t task_lun(struct conn *c, uint32_t itt)
{
	struct task *t = task_find(c, itt);
	return t ? t->lun : 0;
}

/* A free slot; the oldest task is forgotten if there is none (its answer,
 * if it ever comes, is then just counted). */
static struct task *task_new(struct conn *c, uint32_t itt)
{
	struct task *oldest = &c->tasks[0];
	for (int i = 0; i < MAX_TASKS; i++) {
		if (!c->tasks[i].used) {
			oldest = &c->tasks[i];
			break;
		}
		if (c->tasks[i].seq < oldest->seq)
			oldest = &c->tasks[i];
	}
	free(oldest->data);
	memset(oldest, 0, sizeof(*oldest));
	oldest->used = true;
	oldest->itt = itt;
	oldest->seq = ++c->seq;
	return oldest;
}

static void note_sn(struct conn *c, const uint8_t *b, bool statsn)
{
	if (statsn) {
		uint32_t s = get32(b + 24) + 1;
		if (sn_lt(c->exp_statsn, s) || !c->exp_statsn)
			c->exp_statsn = s;
	}
	uint32_t exp = get32(b + 28), max = get32(b + 32);
	/* MaxCmdSN = ExpCmdSN - 1 means a closed window; anything "smaller"
	 * is to be ignored (RFC 7143 4.2.2.1). */
	if (sn_lt(max, exp - 1))
		return;
	if (sn_lt(c->exp_cmdsn, exp))
		c->exp_cmdsn = exp;
	if (sn_lt(c->max_cmdsn, max))
		c->max_cmdsn = max;
}

static void send_data_out_seq(struct conn *c, struct task *t, uint32_t ttt, uint32_t off,
			      uint32_t len, bool bad);
static void queue_data_out(struct conn *c, const struct task *t, uint32_t ttt, uint32_t datasn,
			   uint32_t off, uint32_t len, bool final, unsigned corrupt);

static void count_status(struct task *t, uint8_t response, uint8_t status)
{
	if (response)
		cnt(C_ST_OTHER, 1);
	else if (status == 0x00)
		cnt(C_ST_GOOD, 1);
	else if (status == 0x02)
		cnt(C_ST_CHECK, 1);
	else if (status == 0x18)
		cnt(C_ST_CONFLICT, 1);
	else if (status == 0x08 || status == 0x28)
		cnt(C_ST_BUSY, 1);
	else
		cnt(C_ST_OTHER, 1);
	if (t && t->op == 0x83 && !response && !status)
		cnt(C_XCOPY_GOOD, 1);
}

static void handle_pdu(struct conn *c, const uint8_t *b, const uint8_t *data, uint32_t dlen)
{
	uint8_t op = b[0] & 0x3f;
	cnt(C_PDU_RX, 1);
	switch (op) {
	case OP_LOGIN_RSP:
		c->login_rsp = true;
		memcpy(c->login_bhs, b, BHS_LEN);
		free(c->login_data);
		c->login_data = NULL;
		c->login_dlen = 0;
		if (dlen && data) {
			c->login_data = malloc(dlen + 1);
			if (c->login_data) {
				memcpy(c->login_data, data, dlen);
				c->login_data[dlen] = 0;
				c->login_dlen = dlen;
			}
		}
		break;
	case OP_SCSI_RSP: {
		cnt(C_SCSI_RSP, 1);
		note_sn(c, b, true);
		struct task *t = task_find(c, get32(b + 16));
		count_status(t, b[2], b[3]);
		if (t)
			task_del(t);
		break;
	}
	case OP_DATA_IN:
		note_sn(c, b, b[1] & 0x01);
		if (b[1] & 0x01) {
			cnt(C_SCSI_RSP, 1);
			struct task *t = task_find(c, get32(b + 16));
			count_status(t, 0, b[3]);
			if (t)
				task_del(t);
		}
		break;
	case OP_R2T: {
		cnt(C_R2T_RX, 1);
		note_sn(c, b, false);
		struct task *t = task_find(c, get32(b + 16));
		uint32_t ttt = get32(b + 20), off = get32(b + 40), len = get32(b + 44);
		if (!t || !t->write) {
			cnt(C_R2T_IGNORED, 1);
			break;
		}
		if (t->abort_sent) {
			/* Aborted by us: end the sequence at once, with no data. */
			queue_data_out(c, t, ttt, 0, off, 0, true, 0);
			break;
		}
		if (t->r2t_policy != 0 && t->nopen < MAX_OPEN_R2T) {
			t->open_ttt[t->nopen] = ttt;
			t->open_off[t->nopen++] = off;
		}
		if (t->r2t_policy == 1) {
			cnt(C_R2T_IGNORED, 1);
			break;
		}
		if ((uint64_t)off + len > t->edtl || len > PATTERN_LEN) {
			cnt(C_R2T_BAD, 1); /* the target asked for something odd */
			break;
		}
		bool bad = t->r2t_policy == 2;
		if (bad)
			cnt(C_R2T_BAD, 1);
		send_data_out_seq(c, t, ttt, off, len, bad);
		break;
	}
	case OP_NOP_IN:
		note_sn(c, b, true);
		if (get32(b + 20) != RESERVED_TAG) {
			/* The target's ping: answer it (immediate, no CmdSN). */
			uint8_t o[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
			memcpy(o + 8, b + 8, 8);
			put32(o + 16, RESERVED_TAG);
			memcpy(o + 20, b + 20, 4);
			put32(o + 24, c->cmdsn);
			put32(o + 28, c->exp_statsn);
			queue_pdu(c, o, NULL, 0);
			cnt(C_NOP_ANSWERED, 1);
		}
		break;
	case OP_TMF_RSP:
		cnt(C_TMF_RSP, 1);
		note_sn(c, b, true);
		c->tmf_rsps++;
		c->tmf_rsp_itt = get32(b + 16);
		break;
	case OP_LOGOUT_RSP:
		note_sn(c, b, true);
		c->logout_rsp = true;
		break;
	case OP_REJECT:
		cnt(C_REJECT_RX, 1);
		note_sn(c, b, true);
		c->rejects++;
		if (data && dlen >= BHS_LEN && (data[0] & 0x3f) == OP_SCSI_CMD) {
			struct task *t = task_find(c, get32(data + 16));
			if (t)
				task_del(t);
		}
		break;
	case OP_TEXT_RSP:
	case OP_ASYNC:
		note_sn(c, b, true);
		break;
	default:
		break;
	}
}

static bool keep_body(uint8_t op)
{
	return op == OP_LOGIN_RSP || op == OP_REJECT || op == OP_TEXT_RSP;
}

static void parser_reset(struct conn *c)
{
	c->hdr_have = 0;
	c->hdr_need = BHS_LEN;
	c->in_body = false;
	free(c->body);
	c->body = NULL;
	c->body_have = c->body_need = c->body_keep = 0;
}

static void feed(struct conn *c, const uint8_t *p, size_t n)
{
	while (n) {
		if (!c->in_body) {
			size_t take = c->hdr_need - c->hdr_have;
			if (take > n)
				take = n;
			memcpy(c->hdr + c->hdr_have, p, take);
			c->hdr_have += (uint32_t)take;
			p += take;
			n -= take;
			if (c->hdr_have == BHS_LEN && c->hdr_need == BHS_LEN)
				c->hdr_need = BHS_LEN + c->hdr[4] * 4u + (c->hd ? 4 : 0);
			if (c->hdr_have < c->hdr_need)
				continue;
			uint32_t dlen = get24(c->hdr + 5), pad = (4 - (dlen & 3)) & 3;
			c->body_need = dlen + pad + (c->dd && dlen ? 4 : 0);
			c->body_keep = keep_body(c->hdr[0] & 0x3f) ? dlen : 0;
			if (c->body_keep > KEEP_MAX)
				c->body_keep = KEEP_MAX;
			c->body = c->body_keep ? malloc(c->body_keep) : NULL;
			if (!c->body)
				c->body_keep = 0;
			c->body_have = 0;
			c->in_body = true;
		} else {
			size_t take = c->body_need - c->body_have;
			if (take > n)
				take = n;
			if (c->body_have < c->body_keep) {
				size_t k = c->body_keep - c->body_have;
				memcpy(c->body + c->body_have, p, k < take ? k : take);
			}
			c->body_have += (uint32_t)take;
			p += take;
			n -= take;
		}
		if (c->in_body && c->body_have == c->body_need) {
			uint32_t dlen = get24(c->hdr + 5);
			handle_pdu(c, c->hdr, c->body, c->body_keep < dlen ? c->body_keep : dlen);
			parser_reset(c);
		}
	}
}

/* Moves bytes both ways until cond(c) holds, the connection is gone or
 * `ms` elapsed.  Reading stops while c->no_read (slow reader). */
typedef bool (*cond_fn)(struct conn *c, uint32_t arg);

static bool cond_tx_empty(struct conn *c, uint32_t arg) { return c->tx_off == c->tx_len; }
static bool cond_login(struct conn *c, uint32_t arg) { return c->login_rsp; }
static bool cond_tmf(struct conn *c, uint32_t arg) { return c->tmf_rsps >= arg; }
static bool cond_logout(struct conn *c, uint32_t arg) { return c->logout_rsp; }
static bool cond_tasks_below(struct conn *c, uint32_t arg)
{
	return tasks_outstanding(c, false) <= arg;
}
static bool cond_window(struct conn *c, uint32_t arg) { return sn_le(c->cmdsn, c->max_cmdsn); }

static void mark_closed(struct conn *c)
{
	if (!c->closed)
		cnt(C_TARGET_CLOSED, 1);
	c->closed = true;
}

static bool pump(struct conn *c, int ms, cond_fn cond, uint32_t arg)
{
	int64_t until = now_ms() + ms;
	if (until > g_hard_end)
		until = g_hard_end;
	/* One non-blocking round even when ms is 0. */
	for (bool first = true;; first = false) {
		if (cond && cond(c, arg))
			return true;
		if (c->closed)
			return false;
		int64_t now = now_ms();
		if (!first && now >= until)
			return false;
		struct pollfd p = {.fd = c->fd, .events = 0};
		if (!c->no_read)
			p.events |= POLLIN;
		if (c->tx_off < c->tx_len)
			p.events |= POLLOUT;
		int wait = until > now ? (int)(until - now) : 0;
		if (wait > 50)
			wait = 50;
		int pr = poll(&p, 1, wait);
		if (pr < 0 && errno != EINTR)
			return false;
		if (pr <= 0)
			continue;
		if (p.revents & POLLOUT) {
			size_t n = c->tx_len - c->tx_off;
			if (n > RX_CHUNK)
				n = RX_CHUNK;
			ssize_t w = send(c->fd, c->tx + c->tx_off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				c->tx_off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				mark_closed(c);
				return cond && cond(c, arg);
			}
		}
		if (!c->no_read && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t rd = recv(c->fd, c->scratch, c->read_chunk, MSG_DONTWAIT);
			if (rd > 0) {
				cnt(C_BYTES_RX, (unsigned long long)rd);
				feed(c, c->scratch, (size_t)rd);
				if (c->read_delay_ms)
					usleep(c->read_delay_ms * 1000);
			} else if (rd == 0 || (errno != EAGAIN && errno != EINTR)) {
				mark_closed(c);
			}
		} else if (c->no_read && (p.revents & (POLLHUP | POLLERR))) {
			mark_closed(c);
		}
	}
}

static bool flush(struct conn *c) { return pump(c, OP_TIMEOUT_MS, cond_tx_empty, 0); }

/* Keeps our own output queue bounded between operations. */
static void settle(struct conn *c)
{
	if (c->tx_len - c->tx_off > (4u << 20))
		flush(c);
}

/* --- endings --- */

static void end_rst(struct conn *c)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	cnt(C_END_RST, 1);
	conn_free(c);
}

static void end_close(struct conn *c)
{
	pump(c, 1000, cond_tx_empty, 0);
	cnt(C_END_CLOSE, 1);
	conn_free(c);
}

static void end_half(struct conn *c, int ms)
{
	pump(c, 1000, cond_tx_empty, 0);
	shutdown(c->fd, SHUT_WR);
	cnt(C_END_HALF, 1);
	c->no_read = false;
	c->read_delay_ms = 0;
	c->read_chunk = RX_CHUNK;
	pump(c, ms, NULL, 0); /* until the target closes its side (or not) */
	conn_free(c);
}

static void send_logout(struct conn *c, bool wait)
{
	uint8_t b[BHS_LEN] = {OP_LOGOUT_REQ | OP_IMMEDIATE, F_FINAL | 0};
	put32(b + 16, c->itt++);
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
	queue_pdu(c, b, NULL, 0);
	cnt(C_LOGOUT, 1);
	if (wait)
		pump(c, OP_TIMEOUT_MS, cond_logout, 0);
}

static uint32_t queue_read(struct conn *c, uint32_t bytes, bool immediate);

/* Logout with any reason (close the session / the connection / remove it
 * for recovery, which ERL 0 does not do), a CID that may not exist, maybe
 * non-immediate, with commands queued behind it. */
static void send_logout_random(struct conn *c)
{
	uint8_t b[BHS_LEN] = {OP_LOGOUT_REQ | OP_IMMEDIATE, F_FINAL};
	unsigned p = below(c->r, 100);
	b[1] |= (uint8_t)(p < 60 ? 0 : p < 85 ? 1 : p < 95 ? 2 : below(c->r, 0x80));
	if (chance(c->r, 20))
		b[0] = OP_LOGOUT_REQ;
	put32(b + 16, c->itt++);
	put16(b + 20, (uint16_t)(chance(c->r, 80) ? 0 : rnd(c->r)));
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
	if (!(b[0] & OP_IMMEDIATE))
		c->cmdsn++;
	queue_pdu(c, b, NULL, 0);
	cnt(C_LOGOUT, 1);
	if (chance(c->r, 30))
		for (unsigned k = range(c->r, 1, 4); k; k--)
			queue_read(c, range(c->r, 1, 4096) * g_bs, false);
	pump(c, OP_TIMEOUT_MS, cond_logout, 0);
}

/* Ends an episode one of the ways a real (or broken) initiator does. */
static void end_random(struct conn *c)
{
	if (c->fd < 0)
		return;
	c->no_read = false;
	c->read_delay_ms = 0;
	c->read_chunk = RX_CHUNK;
	switch (below(c->r, 10)) {
	case 0:
	case 1:
		if (c->ffp && !c->closed) {
			send_logout_random(c);
			pump(c, 500, NULL, 0);
		}
		end_close(c);
		break;
	case 2:
	case 3:
		end_close(c);
		break;
	case 4:
	case 5:
	case 6:
		end_rst(c);
		break;
	case 7:
	case 8:
		end_half(c, range(c->r, 100, 3000));
		break;
	default:
		/* RST with output of ours still queued and input unread. */
		end_rst(c);
		break;
	}
}

/* --- login --- */

struct lopts {
	const char *target; /* NULL: g_target; "" none */
	bool discovery;
	bool hd, dd;
	bool imm, initial_r2t;
	uint32_t first_burst, max_burst, mrdsl;
	uint16_t tsih;
	const char *extra;
	bool no_names; /* operational stage after security: names already sent */
};

static void random_lopts(struct rng *r, struct lopts *o)
{
	static const uint32_t mrdsl[] = {512, 4096, 8192, 65536, 262144, 1048576, 16777215};
	static const uint32_t mbl[] = {512, 8192, 65536, 262144, 1048576, 16776192};
	memset(o, 0, sizeof(*o));
	o->hd = chance(r, 25);
	o->dd = chance(r, 20);
	o->imm = chance(r, 70);
	o->initial_r2t = chance(r, 30);
	o->mrdsl = mrdsl[below(r, 7)];
	o->max_burst = mbl[below(r, 6)];
	o->first_burst = mbl[below(r, 6)];
	if (o->first_burst > o->max_burst)
		o->first_burst = o->max_burst;
	if (g_target2 && chance(r, 30))
		o->target = g_target2;
}

static void key_add(char *buf, uint32_t *len, uint32_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void key_add(char *buf, uint32_t *len, uint32_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n >= 0 && *len + (uint32_t)n + 1 <= cap)
		*len += (uint32_t)n + 1;
}

static const char *key_find(const uint8_t *d, uint32_t dlen, const char *key, char *out,
			    size_t outlen)
{
	size_t klen = strlen(key);
	for (uint32_t i = 0; i < dlen;) {
		const char *s = (const char *)d + i;
		size_t n = strnlen(s, dlen - i);
		if (n > klen && !strncmp(s, key, klen) && s[klen] == '=') {
			snprintf(out, outlen, "%.*s", (int)(n - klen - 1), s + klen + 1);
			return out;
		}
		i += (uint32_t)n + 1;
	}
	return NULL;
}

static void login_bhs(struct conn *c, uint8_t *b, uint8_t flags, uint16_t tsih)
{
	memset(b, 0, BHS_LEN);
	b[0] = OP_LOGIN_REQ | OP_IMMEDIATE;
	b[1] = flags;
	memcpy(b + 8, c->isid, 6);
	put16(b + 14, tsih);
	put32(b + 16, c->itt);
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
}

static uint32_t login_keys(const struct lopts *o, char *k, uint32_t cap)
{
	uint32_t len = 0;
	if (!o->no_names)
		key_add(k, &len, cap, "InitiatorName=%s", INITIATOR);
	if (o->no_names) {
		/* InitiatorName, TargetName and SessionType went in the
		 * security stage. */
	} else if (o->discovery) {
		key_add(k, &len, cap, "SessionType=Discovery");
	} else {
		if (!o->target || *o->target)
			key_add(k, &len, cap, "TargetName=%s", o->target ? o->target : g_target);
		key_add(k, &len, cap, "SessionType=Normal");
	}
	key_add(k, &len, cap, "HeaderDigest=%s", o->hd ? "CRC32C" : "None");
	key_add(k, &len, cap, "DataDigest=%s", o->dd ? "CRC32C" : "None");
	if (!o->discovery) {
		key_add(k, &len, cap, "InitialR2T=%s", o->initial_r2t ? "Yes" : "No");
		key_add(k, &len, cap, "ImmediateData=%s", o->imm ? "Yes" : "No");
		key_add(k, &len, cap, "FirstBurstLength=%u", o->first_burst);
		key_add(k, &len, cap, "MaxBurstLength=%u", o->max_burst);
	}
	key_add(k, &len, cap, "MaxRecvDataSegmentLength=%u", o->mrdsl);
	key_add(k, &len, cap, "ErrorRecoveryLevel=0");
	if (o->extra)
		key_add(k, &len, cap, "%s", o->extra);
	return len;
}

static void note_keys(struct conn *c)
{
	char v[64];
	const uint8_t *d = c->login_data;
	uint32_t n = c->login_dlen;
	if (key_find(d, n, "MaxRecvDataSegmentLength", v, sizeof(v)))
		c->tgt_mrdsl = (uint32_t)strtoul(v, NULL, 0);
	if (key_find(d, n, "FirstBurstLength", v, sizeof(v)))
		c->first_burst = (uint32_t)strtoul(v, NULL, 0);
	if (key_find(d, n, "MaxBurstLength", v, sizeof(v)))
		c->max_burst = (uint32_t)strtoul(v, NULL, 0);
	if (key_find(d, n, "ImmediateData", v, sizeof(v)))
		c->immediate_data = !strcmp(v, "Yes");
	if (key_find(d, n, "InitialR2T", v, sizeof(v)))
		c->initial_r2t = !strcmp(v, "Yes");
	if (key_find(d, n, "HeaderDigest", v, sizeof(v)))
		c->hd_neg = !strcmp(v, "CRC32C");
	if (key_find(d, n, "DataDigest", v, sizeof(v)))
		c->dd_neg = !strcmp(v, "CRC32C");
	if (c->tgt_mrdsl < 512 || c->tgt_mrdsl > 16777215)
		c->tgt_mrdsl = 8192;
	if (c->first_burst < 512)
		c->first_burst = 512;
	if (c->max_burst < 512)
		c->max_burst = 512;
}

/* Queues the first Login Request (CSG operational, NSG full feature). */
static void login_start(struct conn *c, const struct lopts *o)
{
	char k[2048];
	uint32_t len = login_keys(o, k, sizeof(k));
	uint8_t b[BHS_LEN];
	/* What we offer holds unless the target answers otherwise. */
	c->immediate_data = o->imm;
	c->initial_r2t = o->initial_r2t;
	c->first_burst = o->first_burst;
	c->max_burst = o->max_burst;
	login_bhs(c, b, F_FINAL | (1 << 2) | 3, o->tsih);
	queue_pdu(c, b, (const uint8_t *)k, len);
}

/* Reads Login Responses (echoing keys the target offers) until full feature
 * phase.  0 ok, 1 refused (status), -1 no answer. */
static int login_finish(struct conn *c, const struct lopts *o)
{
	for (int round = 0; round < 6; round++) {
		if (!pump(c, OP_TIMEOUT_MS, cond_login, 0)) {
			cnt(c->closed ? C_LOGIN_FAIL : C_STALLS, 1);
			if (!c->closed)
				cnt(C_LOGIN_FAIL, 1);
			return -1;
		}
		c->login_rsp = false;
		const uint8_t *b = c->login_bhs;
		c->exp_statsn = get32(b + 24) + 1;
		if (get16(b + 36)) {
			cnt(C_LOGIN_REFUSED, 1);
			return 1;
		}
		note_keys(c);
		if ((b[1] & F_FINAL) && (b[1] & 3) == 3) {
			c->tsih = get16(b + 14);
			c->exp_cmdsn = get32(b + 28);
			c->max_cmdsn = get32(b + 32);
			c->cmdsn = c->exp_cmdsn;
			c->hd = c->hd_neg;
			c->dd = c->dd_neg;
			c->ffp = true;
			cnt(C_LOGIN_OK, 1);
			return 0;
		}
		/* T=0: echo the keys the target offered and ask again. */
		char k[4096];
		uint32_t len = 0;
		for (uint32_t i = 0; i < c->login_dlen;) {
			const char *s = (const char *)c->login_data + i;
			size_t n = strnlen(s, c->login_dlen - i);
			if (n && strchr(s, '=') && strncmp(s, "TargetPortalGroupTag", 20) &&
			    strncmp(s, "MaxRecvDataSegmentLength", 24) &&
			    strncmp(s, "TargetAlias", 11) && strncmp(s, "TargetAddress", 13) &&
			    !strstr(s, "=NotUnderstood") && !strstr(s, "=Irrelevant") &&
			    !strstr(s, "=Reject"))
				key_add(k, &len, sizeof(k), "%s", s);
			i += (uint32_t)n + 1;
		}
		uint8_t hb[BHS_LEN];
		login_bhs(c, hb, F_FINAL | (1 << 2) | 3, o->tsih);
		queue_pdu(c, hb, (const uint8_t *)k, len);
	}
	cnt(C_LOGIN_FAIL, 1);
	return -1;
}

static int do_login(struct conn *c, const struct lopts *o)
{
	login_start(c, o);
	return login_finish(c, o);
}

/* ISIDs: [0x80 random-qualifier format][0x5a][thread][counter x3]; the
 * shared pool [0x80][0x5b][0 0 0][k] collides on purpose across threads. */
static void make_isid(uint8_t *isid, int tid, uint32_t n)
{
	isid[0] = 0x80;
	isid[1] = 0x5a;
	isid[2] = (uint8_t)tid;
	put24(isid + 3, n);
}

static void pool_isid(uint8_t *isid, unsigned k)
{
	memset(isid, 0, 6);
	isid[0] = 0x80;
	isid[1] = 0x5b;
	isid[5] = (uint8_t)k;
}

/* --- commands --- */

/* LUN 0 mostly, another configured LUN (--luns) 30% of the time. */
static uint64_t pick_lun(struct conn *c)
{
	return g_nluns > 1 && chance(c->r, 30) ? range(c->r, 1, g_nluns - 1) : 0;
}

static void cmd_bhs(struct conn *c, uint8_t *b, uint32_t itt, uint64_t lun, uint8_t flags,
		    uint32_t edtl, const uint8_t *cdb, size_t cdb_len, bool immediate)
{
	memset(b, 0, BHS_LEN);
	b[0] = OP_SCSI_CMD | (immediate ? OP_IMMEDIATE : 0);
	b[1] = flags;
	if (c->rand_attr && !(flags & 7)) {
		/* Mostly SIMPLE; ORDERED and HEAD OF QUEUE stress the task set
		 * (with aborts and resets), untagged and ACA the odd cases. */
		static const uint8_t attrs[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
						1, 1, 1, 1, 2, 2, 3, 3, 0, 4};
		b[1] |= attrs[below(c->r, sizeof(attrs))];
	}
	put64(b + 8, lun < 256 ? lun << 48 : lun);
	put32(b + 16, itt);
	put32(b + 20, edtl);
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
	memcpy(b + 32, cdb, cdb_len > 16 ? 16 : cdb_len);
	if (!immediate)
		c->cmdsn++;
	struct task *t = task_find(c, itt);
	if (t) {
		t->op = cdb[0];
		t->lun = lun;
	}
}

static void queue_data_out(struct conn *c, const struct task *t, uint32_t ttt, uint32_t datasn,
			   uint32_t off, uint32_t len, bool final, unsigned corrupt)
{
	uint32_t itt = t->itt;
	uint8_t b[BHS_LEN] = {OP_DATA_OUT, final ? F_FINAL : 0};
	put32(b + 16, itt);
	put32(b + 20, ttt);
	put32(b + 28, c->exp_statsn);
	put32(b + 36, datasn);
	put32(b + 40, off);
	const uint8_t *src;
	if (t->data && (uint64_t)off + len <= t->edtl)
		src = t->data + off;
	else
		src = g_pattern + (off < PATTERN_LEN - len ? off : 0);
	queue_pdu_ex(c, b, NULL, 0, src, len, false, corrupt);
	cnt(corrupt ? C_PDU_MUTATED : C_PDU_VALID, 1);
	cnt(C_DATA_OUT, 1);
}

/* Answers an R2T (or sends the unsolicited burst when ttt is RESERVED_TAG):
 * Data-Out PDUs of at most the target's MaxRecvDataSegmentLength.  `bad`
 * breaks one rule of the sequence on purpose. */
static void send_data_out_seq(struct conn *c, struct task *t, uint32_t ttt, uint32_t off,
			      uint32_t len, bool bad)
{
	uint32_t piece = c->tgt_mrdsl;
	unsigned how = bad ? below(c->r, 7) : 99;
	uint32_t sn = 0, done = 0;
	if (how == 0)
		ttt ^= 0x5a5a; /* wrong TTT */
	if (how == 1)
		off += range(c->r, 1, 1u << 20); /* outside the R2T */
	if (how == 2)
		len += range(c->r, 1, 65536); /* more than asked for */
	if (how == 6)
		piece = c->tgt_mrdsl + range(c->r, 4, 65536); /* PDUs too long */
	if (piece > PATTERN_LEN / 2)
		piece = PATTERN_LEN / 2;
	if (len > PATTERN_LEN)
		len = PATTERN_LEN;
	while (done < len) {
		uint32_t n = len - done < piece ? len - done : piece;
		bool final = done + n == len;
		uint32_t dsn = sn++;
		if (how == 3 && sn == 2)
			dsn += 7; /* DataSN gap */
		if (how == 4 && final)
			final = false; /* the sequence never ends */
		queue_data_out(c, t, ttt, dsn, off + done, n, final,
			       how == 5 && c->dd ? CORRUPT_DD : 0);
		done += n;
	}
}

static uint32_t rand_lba(struct rng *r, uint32_t blocks)
{
	uint64_t max = g_blocks > blocks ? g_blocks - blocks : 0;
	return (uint32_t)(rnd(r) % (max + 1));
}

static uint32_t queue_read(struct conn *c, uint32_t bytes, bool immediate)
{
	uint32_t blocks = bytes / g_bs;
	if (!blocks)
		blocks = 1;
	if (blocks > 0xffff)
		blocks = 0xffff;
	uint8_t cdb[10] = {0x28};
	put32(cdb + 2, rand_lba(c->r, blocks));
	put16(cdb + 7, (uint16_t)blocks);
	uint32_t edtl = blocks * g_bs;
	if (chance(c->r, 5))
		edtl = below(c->r, edtl * 2 + 1); /* residual over/underflow */
	uint32_t itt = c->itt++;
	struct task *t = task_new(c, itt);
	t->big = edtl >= BIG_READ_MIN;
	t->edtl = edtl;
	uint8_t b[BHS_LEN];
	t->cmdsn = c->cmdsn;
	cmd_bhs(c, b, itt, pick_lun(c), F_FINAL | F_READ, edtl, cdb, 10, immediate);
	queue_pdu(c, b, NULL, 0);
	cnt(C_SCSI_CMDS, 1);
	if (t->big)
		cnt(C_BIG_READS, 1);
	return itt;
}

/* A command with Data-Out: immediate data, an unsolicited burst and R2Ts
 * as the session allows; the task's R2T policy is picked here.  `param`
 * (edtl bytes, copied) is the data, else g_pattern. */
static uint32_t queue_out_cmd(struct conn *c, const uint8_t *cdb, uint32_t edtl,
			      const uint8_t *param, bool immediate, unsigned ignore_pct,
			      unsigned bad_pct)
{
	uint32_t itt = c->itt++;
	struct task *t = task_new(c, itt);
	t->write = true;
	t->edtl = edtl;
	t->cmdsn = c->cmdsn;
	if (param && edtl && (t->data = malloc(edtl)))
		memcpy(t->data, param, edtl);
	unsigned p = below(c->r, 100);
	t->r2t_policy = p < ignore_pct ? 1 : p < ignore_pct + bad_pct ? 2 : 0;
	uint32_t limit = c->first_burst < edtl ? c->first_burst : edtl;
	uint32_t imm = 0;
	if (c->immediate_data && chance(c->r, 70)) {
		imm = limit < c->tgt_mrdsl ? limit : c->tgt_mrdsl;
		imm = range(c->r, imm / 2, imm);
	}
	bool unsol = !c->initial_r2t && chance(c->r, 70) && imm < limit;
	uint8_t b[BHS_LEN];
	cmd_bhs(c, b, itt, pick_lun(c), (unsol ? 0 : F_FINAL) | (edtl ? F_WRITE : 0), edtl, cdb, 16,
		immediate);
	queue_pdu(c, b, t->data ? t->data : g_pattern, imm);
	cnt(C_SCSI_CMDS, 1);
	if (unsol)
		send_data_out_seq(c, t, RESERVED_TAG, imm, limit - imm, t->r2t_policy == 2);
	return itt;
}

/* A WRITE(10) of about `bytes`. */
static uint32_t queue_write(struct conn *c, uint32_t bytes, bool immediate, unsigned ignore_pct,
			    unsigned bad_pct)
{
	uint32_t blocks = bytes / g_bs;
	if (!blocks)
		blocks = 1;
	if (blocks * g_bs > WRITE_MAX)
		blocks = WRITE_MAX / g_bs;
	uint8_t cdb[16] = {0x2a};
	put32(cdb + 2, rand_lba(c->r, blocks));
	put16(cdb + 7, (uint16_t)blocks);
	cnt(C_WRITES, 1);
	return queue_out_cmd(c, cdb, blocks * g_bs, NULL, immediate, ignore_pct, bad_pct);
}

static uint64_t pr_key(int tid) { return 0x5500000000000000ull | (uint64_t)tid; }

/* PERSISTENT RESERVE OUT: REGISTER (AND IGNORE), RESERVE, RELEASE, CLEAR,
 * PREEMPT (AND ABORT: aborts the tasks of another nexus, maybe on the
 * other reactor), REGISTER AND MOVE with garbage.  Each thread has its key;
 * every episode is a new I_T nexus. */
static void queue_pr_out(struct conn *c)
{
	static const uint8_t types[] = {1, 3, 5, 6, 7, 8};
	uint8_t cdb[16] = {0x5f}, par[24] = {0};
	uint8_t sa, type = types[below(c->r, 6)];
	uint64_t mine = pr_key(c->tid), other = pr_key((int)below(c->r, g_nthreads + 1));
	unsigned p = below(c->r, 100);
	if (p < 30) {
		sa = 6; /* REGISTER AND IGNORE EXISTING KEY */
		put64(par + 8, chance(c->r, 10) ? 0 : mine);
	} else if (p < 45) {
		sa = 1; /* RESERVE */
		put64(par, mine);
	} else if (p < 60) {
		sa = 5; /* PREEMPT AND ABORT */
		put64(par, mine);
		put64(par + 8, other);
	} else if (p < 68) {
		sa = 4; /* PREEMPT */
		put64(par, mine);
		put64(par + 8, other);
	} else if (p < 83) {
		sa = 2; /* RELEASE */
		put64(par, mine);
	} else if (p < 95) {
		sa = 3; /* CLEAR */
		put64(par, mine);
	} else {
		sa = chance(c->r, 50) ? 7 : 0; /* REGISTER AND MOVE, REGISTER */
		for (int i = 0; i < 24; i++)
			par[i] = (uint8_t)rnd(c->r);
	}
	if (chance(c->r, 5))
		par[20] |= 1; /* APTPL: the state goes to the PR file */
	cdb[1] = sa;
	cdb[2] = type;
	put32(cdb + 5, sizeof(par));
	cnt(C_PR_OUT, 1);
	queue_out_cmd(c, cdb, sizeof(par), par, false, 0, 0);
}

/* The LU's NAA designator (VPD page 83h), for EXTENDED COPY descriptors. */
static uint8_t g_desig[20], g_desig_len, g_desig_hdr[2];

/* EXTENDED COPY (LID1) block to block inside LUN 0, up to 8 segments of
 * up to 32 MiB: long-running commands that TMFs and closes run into. */
static void queue_xcopy(struct conn *c)
{
	uint8_t par[16 + 32 + 8 * 28] = {0};
	unsigned nseg = range(c->r, 1, 8);
	par[1] = 0x18; /* LIST ID USAGE 11b: no list identifier */
	put16(par + 2, 32);
	put32(par + 8, nseg * 28);
	uint8_t *d = par + 16; /* identification CSCD descriptor */
	d[0] = 0xe4;
	d[4] = g_desig_hdr[0];
	d[5] = g_desig_hdr[1];
	d[7] = g_desig_len;
	memcpy(d + 8, g_desig, g_desig_len);
	put24(d + 29, g_bs);
	if (chance(c->r, 10))
		d[8 + below(c->r, 20)] ^= 0x10; /* a device that does not exist */
	for (unsigned i = 0; i < nseg; i++) {
		uint8_t *sg = par + 48 + i * 28;
		uint32_t blocks = chance(c->r, 70) ? range(c->r, 1, 2048) : range(c->r, 1, 65535);
		sg[0] = 0x02; /* block device to block device */
		put16(sg + 2, 0x18);
		put16(sg + 10, (uint16_t)blocks);
		put64(sg + 12, rand_lba(c->r, blocks));
		put64(sg + 20, chance(c->r, 5) ? g_blocks : rand_lba(c->r, blocks));
	}
	uint32_t len = 48 + nseg * 28;
	uint8_t cdb[16] = {0x83};
	put32(cdb + 10, len);
	cnt(C_XCOPY, 1);
	queue_out_cmd(c, cdb, len, par, false, 0, 0);
}

/* Other commands that carry data to the target. */
static void queue_out_misc(struct conn *c, unsigned ignore, unsigned bad)
{
	uint8_t cdb[16] = {0};
	uint8_t par[4096];
	switch (below(c->r, 9)) {
	case 0: { /* WRITE(16) */
		uint32_t blocks = range(c->r, 1, 256);
		cdb[0] = 0x8a;
		if (chance(c->r, 20))
			cdb[1] = 0x08; /* FUA */
		put64(cdb + 2, rand_lba(c->r, blocks));
		put32(cdb + 10, blocks);
		cnt(C_WRITES, 1);
		queue_out_cmd(c, cdb, blocks * g_bs, NULL, false, ignore, bad);
		break;
	}
	case 1: { /* COMPARE AND WRITE: mostly a miscompare */
		uint32_t blocks = range(c->r, 1, 4);
		cdb[0] = 0x89;
		put64(cdb + 2, rand_lba(c->r, blocks));
		cdb[13] = (uint8_t)blocks;
		queue_out_cmd(c, cdb, 2 * blocks * g_bs, NULL, false, ignore, bad);
		break;
	}
	case 2: { /* WRITE SAME(16), UNMAP bit sometimes, up to the whole disk */
		uint32_t blocks = chance(c->r, 80) ? range(c->r, 1, 4096) : (uint32_t)g_blocks;
		cdb[0] = 0x93;
		cdb[1] = chance(c->r, 50) ? 0x08 : 0;
		bool ndob = chance(c->r, 10);
		if (ndob)
			cdb[1] |= 0x01;
		put64(cdb + 2, rand_lba(c->r, blocks));
		put32(cdb + 10, chance(c->r, 5) ? 0 : blocks);
		queue_out_cmd(c, cdb, ndob ? 0 : g_bs, NULL, false, ignore, bad);
		break;
	}
	case 3: { /* UNMAP, 1..64 descriptors */
		unsigned n = range(c->r, 1, 64);
		memset(par, 0, 8 + n * 16);
		put16(par, (uint16_t)(6 + n * 16));
		put16(par + 2, (uint16_t)(n * 16));
		for (unsigned i = 0; i < n; i++) {
			uint32_t blocks = range(c->r, 0, 8192);
			put64(par + 8 + i * 16, rand_lba(c->r, blocks));
			put32(par + 16 + i * 16, blocks);
		}
		cdb[0] = 0x42;
		put16(cdb + 7, (uint16_t)(8 + n * 16));
		queue_out_cmd(c, cdb, 8 + n * 16, par, false, ignore, bad);
		break;
	}
	case 4: { /* VERIFY(16) BYTCHK=01b: compare with the data sent */
		uint32_t blocks = range(c->r, 1, 128);
		cdb[0] = 0x8f;
		cdb[1] = 0x02;
		put64(cdb + 2, rand_lba(c->r, blocks));
		put32(cdb + 10, blocks);
		queue_out_cmd(c, cdb, blocks * g_bs, NULL, false, ignore, bad);
		break;
	}
	case 5: /* MODE SELECT(10), caching page with random bits */
		memset(par, 0, 8 + 20);
		par[8] = 0x08;
		par[9] = 0x12;
		for (int i = 10; i < 28; i++)
			par[i] = chance(c->r, 30) ? (uint8_t)rnd(c->r) : 0;
		cdb[0] = 0x55;
		cdb[1] = 0x10;
		put16(cdb + 7, 28);
		queue_out_cmd(c, cdb, 28, par, false, 0, 0);
		break;
	case 6:
	case 7:
		queue_pr_out(c);
		break;
	default:
		if (g_desig_len)
			queue_xcopy(c);
		else
			queue_pr_out(c);
		break;
	}
}

/* imm: 1 immediate, 0 not, -1 sometimes. */
static void queue_simple_ex(struct conn *c, const uint8_t *cdb, uint8_t flags, uint32_t edtl,
			    uint64_t lun, int imm)
{
	uint32_t itt = c->itt++;
	struct task *t = task_new(c, itt);
	t->edtl = edtl;
	t->cmdsn = c->cmdsn;
	uint8_t b[BHS_LEN];
	cmd_bhs(c, b, itt, lun, F_FINAL | flags, edtl, cdb, 16, imm < 0 ? chance(c->r, 5) : imm);
	queue_pdu(c, b, NULL, 0);
	cnt(C_SCSI_CMDS, 1);
}

static void queue_simple(struct conn *c, const uint8_t *cdb, uint8_t flags, uint32_t edtl,
			 uint64_t lun)
{
	queue_simple_ex(c, cdb, flags, edtl, lun, -1);
}

static void queue_misc_cmd(struct conn *c)
{
	uint8_t cdb[16] = {0};
	uint64_t lun = chance(c->r, 5) ? range(c->r, g_nluns, 300) : pick_lun(c);
	switch (below(c->r, 9)) {
	case 0: /* TEST UNIT READY */
		queue_simple(c, cdb, 0, 0, lun);
		break;
	case 1: /* INQUIRY, sometimes a VPD page */
		cdb[0] = 0x12;
		if (chance(c->r, 50)) {
			static const uint8_t pages[] = {0x00, 0x80, 0x83, 0x86, 0xb0, 0xb1, 0xb2};
			cdb[1] = 1;
			cdb[2] = pages[below(c->r, 7)];
		}
		put16(cdb + 3, (uint16_t)range(c->r, 0, 512));
		queue_simple(c, cdb, F_READ, get16(cdb + 3), lun);
		break;
	case 2: /* READ CAPACITY(10) */
		cdb[0] = 0x25;
		queue_simple(c, cdb, F_READ, 8, lun);
		break;
	case 3: /* READ CAPACITY(16) */
		cdb[0] = 0x9e;
		cdb[1] = 0x10;
		put32(cdb + 10, 32);
		queue_simple(c, cdb, F_READ, 32, lun);
		break;
	case 4: /* REPORT LUNS */
		cdb[0] = 0xa0;
		put32(cdb + 6, 4096);
		queue_simple(c, cdb, F_READ, 4096, 0);
		break;
	case 5: /* MODE SENSE(6), all pages */
		cdb[0] = 0x1a;
		cdb[2] = 0x3f;
		cdb[4] = 0xff;
		queue_simple(c, cdb, F_READ, 255, lun);
		break;
	case 6: /* SYNCHRONIZE CACHE(10) */
		cdb[0] = 0x35;
		queue_simple(c, cdb, 0, 0, lun);
		break;
	case 7: /* REQUEST SENSE */
		cdb[0] = 0x03;
		cdb[4] = 252;
		queue_simple(c, cdb, F_READ, 252, lun);
		break;
	default: { /* random CDB, random direction and length */
		for (int i = 0; i < 16; i++)
			cdb[i] = (uint8_t)rnd(c->r);
		if (chance(c->r, 50))
			cdb[0] &= 0x3f; /* 6-byte opcodes more often */
		uint8_t fl = (uint8_t)(below(c->r, 3) == 0 ? F_READ : 0);
		uint32_t edtl = chance(c->r, 50) ? below(c->r, 65537) : 0;
		cnt(C_RANDOM_CDBS, 1);
		/* Never a write direction: it would wait for data. */
		queue_simple(c, cdb, fl, fl ? edtl : 0, lun);
		break;
	}
	}
}

static void queue_ping(struct conn *c)
{
	uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
	put32(b + 16, c->itt++);
	put32(b + 20, RESERVED_TAG);
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
	uint32_t len =
	    chance(c->r, 50) ? below(c->r, c->tgt_mrdsl < 4096 ? c->tgt_mrdsl : 4096) : 0;
	queue_pdu(c, b, g_pattern, len);
	cnt(C_NOP_PING, 1);
}

/* NOP-Out oddities: an answer to a ping the target never sent, and a
 * non-immediate ping (it takes a CmdSN). */
static void queue_nop_odd(struct conn *c)
{
	uint8_t b[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
	if (chance(c->r, 50)) {
		put32(b + 16, RESERVED_TAG);
		put32(b + 20, (uint32_t)rnd(c->r) & 0x7fffffff);
	} else {
		b[0] = OP_NOP_OUT;
		put32(b + 16, c->itt++);
		put32(b + 20, RESERVED_TAG);
	}
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
	if (!(b[0] & OP_IMMEDIATE))
		c->cmdsn++;
	queue_pdu(c, b, NULL, 0);
	cnt(C_NOP_PING, 1);
}

/* Text Requests in full feature phase: SendTargets, key renegotiation
 * (MaxRecvDataSegmentLength may change mid-session), unknown and
 * forbidden keys, a continuation (C=1) that may never end, a TTT that
 * continues nothing. */
static void queue_text(struct conn *c)
{
	char txt[512];
	uint32_t len = 0;
	uint8_t b[BHS_LEN] = {OP_TEXT_REQ, F_FINAL};
	bool imm = chance(c->r, 50);
	if (imm)
		b[0] |= OP_IMMEDIATE;
	uint32_t itt = c->itt++;
	put32(b + 16, itt);
	put32(b + 20, chance(c->r, 10) ? (uint32_t)rnd(c->r) : RESERVED_TAG);
	switch (below(c->r, 5)) {
	case 0:
		key_add(txt, &len, sizeof(txt), "SendTargets=All");
		break;
	case 1:
		key_add(txt, &len, sizeof(txt), "MaxRecvDataSegmentLength=%u",
			chance(c->r, 50) ? 512 : range(c->r, 512, 16777215));
		break;
	case 2:
		key_add(txt, &len, sizeof(txt), "X-org.uscst.stress=%llx",
			(unsigned long long)rnd(c->r));
		key_add(txt, &len, sizeof(txt), "MaxBurstLength=512"); /* not in FFP */
		break;
	case 3: /* the first part of a key, C=1 */
		key_add(txt, &len, sizeof(txt), "SendTargets=All");
		len = range(c->r, 1, len - 1);
		b[1] = 0x40; /* C=1, F=0 */
		break;
	default: /* garbage */
		len = range(c->r, 1, sizeof(txt));
		for (uint32_t i = 0; i < len; i++)
			txt[i] = (char)rnd(c->r);
		break;
	}
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
	if (!imm)
		c->cmdsn++;
	queue_pdu(c, b, (const uint8_t *)txt, len);
	cnt(C_TEXT, 1);
	if (b[1] == 0x40 && chance(c->r, 60)) {
		/* The rest, with the same ITT. */
		static const char rest[] = "SendTargets=All";
		uint8_t b2[BHS_LEN] = {b[0], F_FINAL};
		put32(b2 + 16, itt);
		put32(b2 + 20, RESERVED_TAG);
		put32(b2 + 24, c->cmdsn);
		put32(b2 + 28, c->exp_statsn);
		if (!imm)
			c->cmdsn++;
		queue_pdu(c, b2, (const uint8_t *)rest + len, (uint32_t)sizeof(rest) - len);
	}
}

/* SCSI commands with an AHS: a 32-byte CDB (extended CDB AHS) or a
 * bidirectional command (Bidirectional Read EDTL AHS). */
static void queue_ahs_cmd(struct conn *c)
{
	uint8_t b[BHS_LEN], ahs[32] = {0}, cdb[32] = {0};
	uint32_t ahs_len, itt = c->itt++;
	struct task *t = task_new(c, itt);
	t->cmdsn = c->cmdsn;
	if (chance(c->r, 60)) {
		/* VARIABLE LENGTH CDB (7Fh), e.g. READ(32), service action 0009h */
		cdb[0] = 0x7f;
		cdb[7] = 0x18;
		put16(cdb + 8, chance(c->r, 70) ? 0x0009 : (uint16_t)rnd(c->r));
		put64(cdb + 12, rand_lba(c->r, 8));
		put32(cdb + 28, 8);
		if (chance(c->r, 10))
			cdb[below(c->r, 32)] ^= (uint8_t)rnd(c->r);
		put16(ahs, 17); /* 16 more CDB bytes + the reserved byte */
		ahs[2] = 1;
		memcpy(ahs + 4, cdb + 16, 16);
		ahs_len = 20;
		t->edtl = 8 * g_bs;
		cmd_bhs(c, b, itt, pick_lun(c), F_FINAL | F_READ, t->edtl, cdb, 16, false);
	} else {
		/* XDWRITEREAD(10): bidirectional; few targets have it */
		cdb[0] = 0x53;
		put32(cdb + 2, rand_lba(c->r, 1));
		put16(cdb + 7, 1);
		put16(ahs, 5);
		ahs[2] = 2;
		put32(ahs + 4, chance(c->r, 80) ? g_bs : (uint32_t)rnd(c->r));
		ahs_len = 8;
		t->edtl = g_bs;
		t->write = true;
		cmd_bhs(c, b, itt, pick_lun(c), F_FINAL | F_READ | F_WRITE, g_bs, cdb, 16, false);
	}
	queue_pdu_ex(c, b, ahs, ahs_len, NULL, 0, false, 0);
	cnt(C_PDU_VALID, 1);
	cnt(C_SCSI_CMDS, 1);
	cnt(C_AHS_CMDS, 1);
}

/* After an abort of t: the R2Ts it left open get an empty Data-Out that
 * ends their sequence (the target waits for it before answering). */
static void end_open_r2ts(struct conn *c, struct task *t)
{
	t->abort_sent = true;
	for (unsigned i = 0; i < t->nopen; i++)
		queue_data_out(c, t, t->open_ttt[i], 0, t->open_off[i], 0, true, 0);
	t->nopen = 0;
}

/* A TMF; rtt only for ABORT TASK.  Mostly immediate, as initiators do. */
static uint32_t queue_tmf(struct conn *c, uint8_t fn, uint32_t rtt, uint32_t ref_cmdsn,
			  uint64_t lun)
{
	uint8_t b[BHS_LEN] = {OP_TMF_REQ, (uint8_t)(F_FINAL | fn)};
	bool imm = !chance(c->r, 10);
	if (imm)
		b[0] |= OP_IMMEDIATE;
	put64(b + 8, lun << 48);
	uint32_t itt = c->itt++;
	put32(b + 16, itt);
	put32(b + 20, fn == TMF_ABORT_TASK ? rtt : RESERVED_TAG);
	put32(b + 24, c->cmdsn);
	put32(b + 28, c->exp_statsn);
	put32(b + 32, ref_cmdsn);
	if (!imm)
		c->cmdsn++;
	queue_pdu(c, b, NULL, 0);
	for (int i = 0; i < MAX_TASKS; i++) {
		struct task *t = &c->tasks[i];
		if (!t->used || !t->write)
			continue;
		if ((fn == TMF_ABORT_TASK && t->itt == rtt) ||
		    ((fn == TMF_ABORT_TASK_SET || fn == TMF_CLEAR_TASK_SET) && t->lun == lun))
			end_open_r2ts(c, t);
	}
	return itt;
}

/* A random TMF against what is outstanding.  Cold resets are rare: each
 * one ends every session of the target, which would cut the other
 * threads' episodes short. */
static void random_tmf(struct conn *c)
{
	struct task *live[MAX_TASKS];
	unsigned n = 0;
	for (int i = 0; i < MAX_TASKS; i++)
		if (c->tasks[i].used)
			live[n++] = &c->tasks[i];
	unsigned p = below(c->r, 100);
	if (p < 35 && n) {
		struct task *t = live[below(c->r, n)];
		queue_tmf(c, TMF_ABORT_TASK, t->itt, t->cmdsn, t->lun);
		cnt(C_TMF_ABORT, 1);
	} else if (p < 50) {
		uint32_t ref =
		    chance(c->r, 50) ? c->cmdsn + below(c->r, 4) - 2 : (uint32_t)rnd(c->r);
		queue_tmf(c, TMF_ABORT_TASK, (uint32_t)rnd(c->r), ref, 0);
		cnt(C_TMF_ABORT_BOGUS, 1);
	} else if (p < 65) {
		queue_tmf(c, chance(c->r, 70) ? TMF_ABORT_TASK_SET : TMF_CLEAR_TASK_SET, 0, 0,
			  chance(c->r, 10) ? 77 : pick_lun(c));
		cnt(C_TMF_ABORT_SET, 1);
	} else if (p < 80) {
		queue_tmf(c, TMF_LUN_RESET, 0, 0, chance(c->r, 10) ? 99 : pick_lun(c));
		cnt(C_TMF_LUN_RESET, 1);
	} else if (p < 91) {
		queue_tmf(c, TMF_TARGET_WARM_RESET, 0, 0, 0);
		cnt(C_TMF_WARM, 1);
	} else if (p < 92) {
		queue_tmf(c, TMF_TARGET_COLD_RESET, 0, 0, 0);
		cnt(C_TMF_COLD, 1);
	} else {
		static const uint8_t odd[] = {0, TMF_CLEAR_ACA, 8, 9, 15, 0x7f};
		queue_tmf(c, odd[below(c->r, 6)], (uint32_t)rnd(c->r), 0, 0);
		cnt(C_TMF_OTHER, 1);
	}
}

/* --- mutations --- */

/* A valid PDU of a random kind into b/data (data points to g_pattern). */
static uint32_t template_pdu(struct conn *c, uint8_t *b, const uint8_t **data)
{
	uint8_t cdb[16] = {0};
	*data = g_pattern;
	memset(b, 0, BHS_LEN);
	switch (below(c->r, 8)) {
	case 0: { /* READ(10) */
		cdb[0] = 0x28;
		put32(cdb + 2, rand_lba(c->r, 8));
		put16(cdb + 7, 8);
		cmd_bhs(c, b, c->itt++, pick_lun(c), F_FINAL | F_READ, 8 * g_bs, cdb, 10, false);
		return 0;
	}
	case 1: { /* WRITE(10) with immediate data */
		cdb[0] = 0x2a;
		put32(cdb + 2, rand_lba(c->r, 1));
		put16(cdb + 7, 1);
		cmd_bhs(c, b, c->itt++, pick_lun(c), F_FINAL | F_WRITE, g_bs, cdb, 10, false);
		return g_bs < c->tgt_mrdsl ? g_bs : c->tgt_mrdsl;
	}
	case 2: /* Data-Out for a task that may or may not exist */
		b[0] = OP_DATA_OUT;
		b[1] = F_FINAL;
		put32(b + 16, chance(c->r, 50) ? c->itt - 1 : (uint32_t)rnd(c->r));
		put32(b + 20, RESERVED_TAG);
		put32(b + 28, c->exp_statsn);
		return below(c->r, 2048);
	case 3: /* NOP-Out ping */
		b[0] = OP_NOP_OUT | OP_IMMEDIATE;
		b[1] = F_FINAL;
		put32(b + 16, c->itt++);
		put32(b + 20, RESERVED_TAG);
		put32(b + 24, c->cmdsn);
		put32(b + 28, c->exp_statsn);
		return below(c->r, 1024);
	case 4: /* TMF */
		b[0] = OP_TMF_REQ | OP_IMMEDIATE;
		b[1] = (uint8_t)(F_FINAL | range(c->r, 1, 7));
		put32(b + 16, c->itt++);
		put32(b + 20, c->itt - 2);
		put32(b + 24, c->cmdsn);
		put32(b + 28, c->exp_statsn);
		return 0;
	case 5: { /* Text */
		static const char txt[] = "SendTargets=All";
		*data = (const uint8_t *)txt;
		b[0] = OP_TEXT_REQ | OP_IMMEDIATE;
		b[1] = F_FINAL;
		put32(b + 16, c->itt++);
		put32(b + 20, RESERVED_TAG);
		put32(b + 24, c->cmdsn);
		put32(b + 28, c->exp_statsn);
		return sizeof(txt);
	}
	case 6: /* SNACK (not at ErrorRecoveryLevel 0) */
		b[0] = OP_SNACK_REQ;
		b[1] = F_FINAL;
		put32(b + 16, c->itt - 1);
		put32(b + 28, c->exp_statsn);
		return 0;
	default: /* Logout of the connection */
		b[0] = OP_LOGOUT_REQ | OP_IMMEDIATE;
		b[1] = (uint8_t)(F_FINAL | below(c->r, 4));
		put32(b + 16, c->itt++);
		put32(b + 24, c->cmdsn);
		put32(b + 28, c->exp_statsn);
		return 0;
	}
}

/* Queues one mutated PDU.  Returns false if the stream is now out of step
 * (the target will be reading garbage: the episode should wind down). */
static bool queue_mutated(struct conn *c)
{
	uint8_t b[BHS_LEN];
	const uint8_t *data;
	uint32_t dlen = template_pdu(c, b, &data);
	cnt(C_PDU_MUTATED, 1);
	switch (below(c->r, 11)) {
	case 0:
	case 1: { /* 1..4 random bit flips anywhere in the header */
		unsigned flips = range(c->r, 1, 4);
		put24(b + 5, dlen);
		b[4] = 0;
		for (unsigned i = 0; i < flips; i++)
			b[below(c->r, BHS_LEN)] ^= (uint8_t)(1u << below(c->r, 8));
		cnt(C_BITFLIP, 1);
		queue_pdu_ex(c, b, NULL, 0, data, dlen, true, 0);
		return b[4] == 0 && get24(b + 5) == dlen;
	}
	case 2: { /* a bit flip in a chosen field, lengths kept right */
		static const uint8_t fields[] = {0,  1,	 2,  3,	 8,  9,	 15, 16, 19, 20,
						 23, 24, 27, 28, 31, 32, 33, 40, 47};
		b[fields[below(c->r, sizeof(fields))]] ^= (uint8_t)(1u << below(c->r, 8));
		cnt(C_BITFLIP, 1);
		queue_pdu_ex(c, b, NULL, 0, data, dlen, false, 0);
		return true;
	}
	case 3: { /* DataSegmentLength huge, the data never comes */
		put24(b + 5, chance(c->r, 50) ? 0xffffff : range(c->r, c->tgt_mrdsl + 1, 0xffffff));
		b[4] = 0;
		cnt(C_BOGUS_LEN, 1);
		queue_pdu_ex(c, b, NULL, 0, NULL, 0, true, 0);
		return false;
	}
	case 4: { /* TotalAHSLength huge, no AHS bytes */
		b[4] = (uint8_t)(chance(c->r, 50) ? 0xff : range(c->r, 1, 0xff));
		put24(b + 5, 0);
		cnt(C_BOGUS_LEN, 1);
		queue_pdu_ex(c, b, NULL, 0, NULL, 0, true, 0);
		return false;
	}
	case 5: { /* a well-framed AHS of garbage */
		uint8_t ahs[256];
		uint32_t alen = 4 * range(c->r, 1, 64);
		for (uint32_t i = 0; i < alen; i++)
			ahs[i] = (uint8_t)rnd(c->r);
		put16(ahs, (uint16_t)(alen - 3)); /* AHSLength, sometimes wrong */
		if (chance(c->r, 30))
			put16(ahs, (uint16_t)rnd(c->r));
		queue_pdu_ex(c, b, ahs, alen, data, dlen, false, 0);
		return true;
	}
	case 6: { /* truncated: part of the header only */
		put24(b + 5, dlen);
		b[4] = 0;
		queue_raw(c, b, range(c->r, 1, BHS_LEN - 1));
		cnt(C_TRUNCATED, 1);
		cnt(C_PDU_TX, 1);
		return false;
	}
	case 7: { /* 48 random bytes */
		for (int i = 0; i < BHS_LEN; i++)
			b[i] = (uint8_t)rnd(c->r);
		if (chance(c->r, 50)) {
			b[4] = 0;
			put24(b + 5, below(c->r, 64));
		}
		uint32_t n = get24(b + 5) < 4096 ? get24(b + 5) : 4096;
		queue_pdu_ex(c, b, NULL, 0, g_pattern, n, true, 0);
		return b[4] == 0 && n == get24(b + 5);
	}
	case 8: { /* data beyond MaxRecvDataSegmentLength, honestly framed */
		uint32_t n = c->tgt_mrdsl + range(c->r, 1, 262144);
		if (n > PATTERN_LEN)
			n = PATTERN_LEN;
		cnt(C_BOGUS_LEN, 1);
		queue_pdu_ex(c, b, NULL, 0, g_pattern, n, false, 0);
		return true;
	}
	case 9: /* wrong digests, where negotiated */
		queue_pdu_ex(c, b, NULL, 0, data, dlen, false, CORRUPT_HD | CORRUPT_DD);
		return !c->hd;
	default: { /* DataSegmentLength a little off */
		put24(b + 5, dlen + range(c->r, 1, 8));
		b[4] = 0;
		cnt(C_BOGUS_LEN, 1);
		queue_pdu_ex(c, b, NULL, 0, data, dlen, true, 0);
		return false;
	}
	}
}

/* --- episodes --- */

enum kind { K_MIXED, K_BIGREAD, K_MUTATE, K_CMDSN, K_REINSTATE, K_SLOWREAD, K_LOGIN, N_KIND };
static const char *const kind_names[] = {"mixed",     "bigread",  "mutate", "cmdsn",
					 "reinstate", "slowread", "login"};
static const unsigned kind_weight[] = {30, 15, 15, 10, 12, 10, 8};

struct worker {
	int tid;
	struct rng r;
	uint32_t isid_seq;
	pthread_t th;
	uint64_t ep_seed; /* the running episode's, for stall reports */
};

static bool time_left(void) { return now_ms() < g_end && !atomic_load(&g_stop); }

/* A fresh connection logged in with random parameters. */
static int open_login(struct worker *w, struct rng *r, struct conn *c, const uint8_t *isid,
		      struct lopts *o, int rcvbuf)
{
	uint8_t own[6];
	if (!isid) {
		make_isid(own, w->tid, ++w->isid_seq);
		isid = own;
	}
	if (conn_open(c, r, w->tid, isid, rcvbuf))
		return -1;
	random_lopts(r, o);
	if (do_login(c, o)) {
		conn_free(c);
		return -1;
	}
	c->rand_attr = true;
	return 0;
}

/* Waits until CmdSN is inside the window; an ABORT TASK SET after a second
 * frees a window held by unanswered R2Ts.  False: give up. */
static bool wait_window(struct conn *c)
{
	if (pump(c, 0, cond_window, 0))
		return true;
	if (pump(c, 1000, cond_window, 0))
		return true;
	if (c->closed)
		return false;
	queue_tmf(c, TMF_ABORT_TASK_SET, 0, 0, 0);
	cnt(C_TMF_ABORT_SET, 1);
	if (pump(c, 3000, cond_window, 0))
		return true;
	if (!c->closed)
		cnt(C_STALLS, 1);
	return false;
}

static void ep_mixed(struct worker *w, struct rng *r)
{
	struct conn c;
	struct lopts o;
	if (open_login(w, r, &c, NULL, &o, 0))
		return;
	unsigned ops = range(r, 5, 300);
	unsigned ignore = chance(r, 30) ? 10 : 0, bad = chance(r, 20) ? 5 : 0;
	for (unsigned i = 0; i < ops && !c.closed && time_left(); i++) {
		if (!wait_window(&c))
			break;
		unsigned p = below(r, 100);
		if (p < 25)
			queue_read(&c, range(r, 1, 128) * g_bs, chance(r, 3));
		else if (p < 32 && tasks_outstanding(&c, true) < 2)
			queue_read(&c, range(r, BIG_READ_MIN, BIG_READ_MAX), false);
		else if (p < 48)
			queue_write(&c,
				    chance(r, 70) ? range(r, 1, 64) * g_bs : range(r, 1, WRITE_MAX),
				    chance(r, 3), ignore, bad);
		else if (p < 56)
			queue_out_misc(&c, ignore, bad);
		else if (p < 70)
			queue_misc_cmd(&c);
		else if (p < 72)
			queue_ahs_cmd(&c);
		else if (p < 80)
			queue_ping(&c);
		else if (p < 82)
			queue_nop_odd(&c);
		else if (p < 84)
			queue_text(&c);
		else if (p < 95)
			random_tmf(&c);
		else if (!queue_mutated(&c))
			break;
		if (chance(r, 30))
			pump(&c, (int)below(r, 20), NULL, 0);
		else
			pump(&c, 0, cond_tx_empty, 0);
		settle(&c);
		/* Keep the number of tasks in flight reasonable. */
		if (tasks_outstanding(&c, false) > 24)
			pump(&c, 2000, cond_tasks_below, 12);
	}
	if (chance(r, 50))
		pump(&c, (int)range(r, 10, 2000), cond_tasks_below, 0);
	end_random(&c);
}

/* READ of several MiB and a TMF in the same write(). */
static void ep_bigread(struct worker *w, struct rng *r)
{
	struct conn c;
	struct lopts o;
	if (open_login(w, r, &c, NULL, &o, chance(r, 30) ? 8192 : 0))
		return;
	unsigned rounds = range(r, 1, 6);
	for (unsigned i = 0; i < rounds && !c.closed && time_left(); i++) {
		if (!wait_window(&c))
			break;
		unsigned nreads = range(r, 1, 3);
		uint32_t itt = 0, cmdsn = 0;
		for (unsigned k = 0; k < nreads; k++) {
			cmdsn = c.cmdsn;
			itt = queue_read(&c, range(r, BIG_READ_MIN, BIG_READ_MAX), false);
		}
		if (chance(r, 30))
			queue_write(&c, range(r, 1, WRITE_MAX), false, 50, 10);
		unsigned p = below(r, 100);
		unsigned before = c.tmf_rsps;
		if (p < 35) {
			queue_tmf(&c, TMF_ABORT_TASK, itt, cmdsn, task_lun(&c, itt));
			cnt(C_TMF_ABORT, 1);
		} else if (p < 45) {
			queue_tmf(&c, TMF_ABORT_TASK, itt ^ 0x40000000u, cmdsn + 5, 0);
			cnt(C_TMF_ABORT_BOGUS, 1);
		} else if (p < 60) {
			queue_tmf(&c, TMF_ABORT_TASK_SET, 0, 0, pick_lun(&c));
			cnt(C_TMF_ABORT_SET, 1);
		} else if (p < 75) {
			queue_tmf(&c, TMF_LUN_RESET, 0, 0, pick_lun(&c));
			cnt(C_TMF_LUN_RESET, 1);
		} else if (p < 95) {
			queue_tmf(&c, TMF_TARGET_WARM_RESET, 0, 0, 0);
			cnt(C_TMF_WARM, 1);
		} else {
			queue_tmf(&c, TMF_TARGET_COLD_RESET, 0, 0, 0);
			cnt(C_TMF_COLD, 1);
		}
		cnt(C_BIGREAD_TMF, 1);
		/* All of it in one send() (a few hundred bytes fit). */
		if (!flush(&c))
			break;
		switch (below(r, 6)) {
		case 0: /* RST at once: the TMF and the reads are in flight */
			end_rst(&c);
			return;
		case 1: /* half-close at once */
			end_half(&c, 3000);
			return;
		case 2: /* a slow reader for a while */
			c.no_read = true;
			cnt(C_SLOW_READ, 1);
			pump(&c, (int)range(r, 100, 1500), NULL, 0);
			c.no_read = false;
			/* fall through */
		default:
			/* Only valid PDUs went on this connection and it is being
			 * read: the TMF must be answered (after the aborted READs
			 * finish in the backend) unless something closes it. */
			if (!pump(&c, TMF_STALL_MS, cond_tmf, before + 1) && !c.closed &&
			    now_ms() < g_hard_end) {
				cnt(C_TMF_STALL, 1);
				logf_("t%d STALL: no TMF response within %d s, connection open "
				      "(episode %016llx)",
				      w->tid, TMF_STALL_MS / 1000, (unsigned long long)w->ep_seed);
			}
			pump(&c, (int)range(r, 0, 3000), cond_tasks_below, 0);
			break;
		}
	}
	end_random(&c);
}

static void ep_mutate(struct worker *w, struct rng *r)
{
	struct conn c;
	struct lopts o;
	if (open_login(w, r, &c, NULL, &o, 0))
		return;
	unsigned n = range(r, 1, 40);
	for (unsigned i = 0; i < n && !c.closed && time_left(); i++) {
		bool in_step = true;
		if (chance(r, 40)) {
			if (wait_window(&c) && chance(r, 50))
				queue_read(&c, range(r, 1, 64) * g_bs, false);
			else
				queue_ping(&c);
		} else {
			in_step = queue_mutated(&c);
		}
		pump(&c, chance(r, 50) ? 0 : (int)below(r, 50), NULL, 0);
		if (!in_step) {
			/* The target now reads our next bytes as the rest of
			 * something: feed it a little more, or end abruptly. */
			unsigned p = below(r, 4);
			if (p == 0) {
				for (int k = 0; k < 4; k++)
					queue_ping(&c);
				pump(&c, 300, NULL, 0);
			} else if (p == 1) {
				uint8_t junk[4096];
				for (size_t k = 0; k < sizeof(junk); k++)
					junk[k] = (uint8_t)rnd(r);
				queue_raw(&c, junk, range(r, 1, sizeof(junk)));
				pump(&c, 300, NULL, 0);
			}
			break;
		}
	}
	pump(&c, (int)range(r, 0, 500), NULL, 0);
	end_random(&c);
}

static void ep_cmdsn(struct worker *w, struct rng *r)
{
	struct conn c;
	struct lopts o;
	if (open_login(w, r, &c, NULL, &o, 0))
		return;
	unsigned n = range(r, 1, 20);
	for (unsigned i = 0; i < n && !c.closed && time_left(); i++) {
		uint32_t base = c.cmdsn;
		cnt(C_CMDSN_GAMES, 1);
		switch (below(r, 9)) {
		case 8: /* a flood of immediate commands (outside the window) */
			for (unsigned k = range(r, 20, 300); k; k--) {
				if (chance(r, 70)) {
					uint8_t tur[16] = {0};
					queue_simple_ex(&c, tur, 0, 0, 0, 1);
				} else {
					queue_read(&c, range(r, 1, 256) * g_bs, true);
				}
			}
			break;
		case 0: /* the same CmdSN twice (distinct ITTs) */
			queue_read(&c, 8 * g_bs, false);
			c.cmdsn = base;
			queue_read(&c, 8 * g_bs, false);
			break;
		case 1: /* out of order, inside the window */
			c.cmdsn = base + 2;
			queue_read(&c, 4 * g_bs, false);
			c.cmdsn = base + 1;
			queue_write(&c, 4 * g_bs, false, 0, 0);
			c.cmdsn = base;
			queue_misc_cmd(&c);
			c.cmdsn = base + 3;
			break;
		case 2: /* far ahead of the window */
			c.cmdsn = base + range(r, 64, 0x7fffffff);
			queue_read(&c, 4 * g_bs, false);
			c.cmdsn = base;
			break;
		case 3: /* behind ExpCmdSN (already used) */
			c.cmdsn = base - range(r, 1, 1000);
			queue_read(&c, 4 * g_bs, false);
			c.cmdsn = base;
			break;
		case 4: /* a hole that never fills, then a TMF for the queued task */
			c.cmdsn = base + 1;
			{
				uint32_t itt = queue_read(&c, range(r, 1, 64) * g_bs, false);
				if (chance(r, 50))
					queue_tmf(&c, TMF_ABORT_TASK, itt, base + 1,
						  task_lun(&c, itt));
				else
					random_tmf(&c);
			}
			c.cmdsn = chance(r, 50) ? base : base + 2;
			break;
		case 5: { /* two outstanding tasks with the same ITT */
			uint32_t itt = c.itt;
			queue_write(&c, range(r, 1, 128) * g_bs, false, 0, 0);
			c.itt = itt;
			queue_read(&c, range(r, 1, 128) * g_bs, false);
			break;
		}
		case 6: /* immediate commands with any CmdSN */
			c.cmdsn = (uint32_t)rnd(r);
			queue_read(&c, 8 * g_bs, true);
			c.cmdsn = base;
			break;
		default: /* exactly at MaxCmdSN + 1 */
			c.cmdsn = c.max_cmdsn + 1;
			queue_read(&c, 8 * g_bs, false);
			c.cmdsn = base;
			break;
		}
		pump(&c, (int)below(r, 200), NULL, 0);
		if (chance(r, 30))
			c.cmdsn = c.exp_cmdsn; /* resynchronise, like a recovering initiator */
	}
	pump(&c, (int)range(r, 0, 1000), NULL, 0);
	end_random(&c);
}

/* Session reinstatement: a login with the ISID + InitiatorName of a live
 * session whose connection still has input pending. */
static void ep_reinstate(struct worker *w, struct rng *r)
{
	uint8_t isid[6];
	bool shared = chance(r, 40);
	if (shared)
		pool_isid(isid, below(r, 4));
	else
		make_isid(isid, w->tid, ++w->isid_seq);
	struct conn a, b;
	struct lopts o;
	if (open_login(w, r, &a, isid, &o, chance(r, 30) ? 4096 : 0))
		return;
	unsigned chain = range(r, 1, 3);
	for (unsigned step = 0; step < chain && time_left(); step++) {
		/* Work for A's target side: big reads (Data-In piling up), writes
		 * waiting for Data-Out, a burst of pings, maybe half a PDU. */
		for (unsigned k = range(r, 0, 3); k; k--)
			queue_read(&a, range(r, 1u << 20, BIG_READ_MAX), false);
		for (unsigned k = range(r, 0, 4); k; k--)
			queue_write(&a, range(r, 1, WRITE_MAX), false, 60, 10);
		for (unsigned k = range(r, 0, 40); k; k--)
			queue_ping(&a);
		if (chance(r, 30))
			random_tmf(&a);
		if (chance(r, 20)) {
			uint8_t half[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
			queue_raw(&a, half, range(r, 1, BHS_LEN - 1));
		}
		a.no_read = chance(r, 60);
		pump(&a, (int)below(r, 30), NULL, 0);
		/* B: same InitiatorName and ISID, TSIH 0 (sometimes A's TSIH:
		 * a connection reinstatement attempt, refused at ERL 0). */
		if (conn_open(&b, r, w->tid, isid, 0))
			break;
		struct lopts ob;
		random_lopts(r, &ob);
		if (chance(r, 90))
			ob.target = o.target; /* else: same ISID, another target */
		if (chance(r, 10))
			ob.tsih = a.tsih;
		login_start(&b, &ob);
		flush(&b);
		/* More input for A while B's login is being handled. */
		for (unsigned k = range(r, 0, 20); k; k--)
			queue_ping(&a);
		pump(&a, (int)below(r, 20), NULL, 0);
		cnt(C_REINSTATE, 1);
		if (shared)
			cnt(C_REINSTATE_X, 1);
		int rc = login_finish(&b, &ob);
		/* A: the target should close it; we may RST, close, keep
		 * sending, or keep reading. */
		switch (below(r, 4)) {
		case 0:
			end_rst(&a);
			break;
		case 1:
			a.no_read = false;
			for (unsigned k = range(r, 1, 10); k; k--)
				queue_ping(&a);
			pump(&a, 1000, NULL, 0);
			end_close(&a);
			break;
		case 2:
			a.no_read = false;
			pump(&a, OP_TIMEOUT_MS, NULL, 0); /* until closed */
			end_close(&a);
			break;
		default:
			end_half(&a, 1000);
			break;
		}
		if (rc) {
			conn_free(&b);
			return;
		}
		a = b; /* B is the next round's victim */
		memset(&b, 0, sizeof(b));
		b.fd = -1;
	}
	if (a.fd >= 0) {
		if (!a.closed && chance(r, 50)) {
			if (wait_window(&a))
				queue_read(&a, 8 * g_bs, false);
			pump(&a, 1000, cond_tasks_below, 0);
		}
		end_random(&a);
	}
}

/* Large READs and pings, the socket left unread for seconds, then drained
 * slowly. */
static void ep_slowread(struct worker *w, struct rng *r)
{
	struct conn c;
	struct lopts o;
	if (open_login(w, r, &c, NULL, &o, chance(r, 50) ? 4096 : 0))
		return;
	/* Heavy: a whole CmdSN window of 32 MiB READs left unread (one such
	 * connection at a time, so the target needs at most ~1 GiB if it
	 * buffers them all). */
	bool heavy = chance(r, 15) && !atomic_exchange(&g_heavy_slow, true);
	unsigned nreads = heavy ? 64 : range(r, 1, 4);
	for (unsigned k = nreads; k && sn_le(c.cmdsn, c.max_cmdsn); k--)
		queue_read(&c, heavy ? BIG_READ_MAX : range(r, BIG_READ_MIN, BIG_READ_MAX), false);
	if (heavy)
		cnt(C_SLOW_HEAVY, 1);
	flush(&c);
	c.no_read = true;
	cnt(C_SLOW_READ, 1);
	int64_t stop = now_ms() + range(r, 500, heavy ? 6000 : 4000);
	unsigned imm_reads = 0;
	while (now_ms() < stop && !c.closed && time_left()) {
		if (chance(r, 50))
			queue_ping(&c);
		if (chance(r, 10) && sn_le(c.cmdsn, c.max_cmdsn))
			queue_read(&c, range(r, 1, 64) * g_bs, false);
		/* Immediate commands are outside the CmdSN window: only the
		 * target's own limits stop a reader that never drains. */
		if (heavy && imm_reads < 32) {
			queue_read(&c, BIG_READ_MAX, true);
			imm_reads++;
		}
		if (chance(r, 5))
			random_tmf(&c);
		pump(&c, 100, NULL, 0);
	}
	if (chance(r, 20)) {
		/* Half-close while still not reading, then a reset: the target
		 * sees EOF with its output stuck. */
		pump(&c, 1000, cond_tx_empty, 0);
		shutdown(c.fd, SHUT_WR);
		cnt(C_END_HALF, 1);
		pump(&c, (int)range(r, 200, 3000), NULL, 0);
		end_rst(&c);
		goto out;
	}
	c.no_read = false;
	/* Trickle: small reads with pauses, then either all of it or an end. */
	c.read_chunk = range(r, 512, 16384);
	c.read_delay_ms = range(r, 1, 20);
	pump(&c, (int)range(r, 200, 2000), NULL, 0);
	c.read_chunk = RX_CHUNK;
	c.read_delay_ms = 0;
	if (chance(r, 50))
		pump(&c, OP_TIMEOUT_MS, cond_tasks_below, 0);
	end_random(&c);
out:
	if (heavy)
		atomic_store(&g_heavy_slow, false);
}

static void ep_login(struct worker *w, struct rng *r)
{
	struct conn c;
	uint8_t isid[6];
	make_isid(isid, w->tid, ++w->isid_seq);
	if (conn_open(&c, r, w->tid, isid, 0))
		return;
	struct lopts o;
	random_lopts(r, &o);
	char k[2048];
	uint32_t len = login_keys(&o, k, sizeof(k));
	uint8_t b[BHS_LEN];
	switch (below(r, 9)) {
	case 0: { /* a full feature phase PDU first */
		const uint8_t *data;
		uint32_t dlen = template_pdu(&c, b, &data);
		queue_pdu(&c, b, data, dlen);
		break;
	}
	case 1: /* garbage keys */
		for (uint32_t i = 0; i < len; i++)
			if (chance(r, 5))
				k[i] = (char)rnd(r);
		login_bhs(&c, b, F_FINAL | (1 << 2) | 3, 0);
		queue_pdu(&c, b, (const uint8_t *)k, len);
		break;
	case 2: /* bit flips in the login header */
		login_bhs(&c, b, F_FINAL | (1 << 2) | 3, 0);
		put24(b + 5, len);
		for (unsigned n = range(r, 1, 3); n; n--)
			b[below(r, BHS_LEN)] ^= (uint8_t)(1u << below(r, 8));
		queue_pdu_ex(&c, b, NULL, 0, (const uint8_t *)k, len, true, 0);
		cnt(C_BITFLIP, 1);
		cnt(C_PDU_MUTATED, 1);
		break;
	case 3: /* half a login PDU */
		login_bhs(&c, b, F_FINAL | (1 << 2) | 3, 0);
		put24(b + 5, len);
		queue_raw(&c, b, BHS_LEN);
		queue_raw(&c, k, below(r, len));
		cnt(C_TRUNCATED, 1);
		break;
	case 4: /* login data longer than 8192 (the login-phase limit) */
		login_bhs(&c, b, F_FINAL | (1 << 2) | 3, 0);
		queue_pdu_ex(&c, b, NULL, 0, g_pattern, range(r, 8193, 300000), false, 0);
		cnt(C_BOGUS_LEN, 1);
		cnt(C_PDU_MUTATED, 1);
		break;
	case 5: { /* discovery + SendTargets, then maybe full feature abuse */
		o.discovery = true;
		if (do_login(&c, &o) == 0) {
			static const char txt[] = "SendTargets=All";
			uint8_t t[BHS_LEN] = {OP_TEXT_REQ, F_FINAL};
			put32(t + 16, c.itt++);
			put32(t + 20, RESERVED_TAG);
			put32(t + 24, c.cmdsn++);
			put32(t + 28, c.exp_statsn);
			queue_pdu(&c, t, (const uint8_t *)txt, sizeof(txt));
			if (chance(r, 50))
				queue_read(&c, 8 * g_bs, false); /* SCSI on discovery */
			if (chance(r, 50))
				random_tmf(&c);
		}
		break;
	}
	case 6: /* an unknown target, or none */
		o.target = chance(r, 50) ? "" : "iqn.2026-11.org.uscst:no-such-target";
		login_start(&c, &o);
		break;
	case 8: { /* through the security stage (AuthMethod None, or CHAP) */
		char sk[512];
		uint32_t sl = 0;
		static const char *const auth[] = {"None",	"None", "None",
						   "CHAP,None", "CHAP", "SRP,KRB5"};
		key_add(sk, &sl, sizeof(sk), "InitiatorName=%s", INITIATOR);
		key_add(sk, &sl, sizeof(sk), "TargetName=%s", g_target);
		key_add(sk, &sl, sizeof(sk), "SessionType=Normal");
		key_add(sk, &sl, sizeof(sk), "AuthMethod=%s", auth[below(r, 6)]);
		login_bhs(&c, b, F_FINAL | (0 << 2) | 1, 0);
		queue_pdu(&c, b, (const uint8_t *)sk, sl);
		if (pump(&c, OP_TIMEOUT_MS, cond_login, 0) && !get16(c.login_bhs + 36) &&
		    (c.login_bhs[1] & F_FINAL) && (c.login_bhs[1] & 3) == 1) {
			c.login_rsp = false;
			c.exp_statsn = get32(c.login_bhs + 24) + 1;
			o.no_names = true;
			if (do_login(&c, &o) == 0 && wait_window(&c)) {
				queue_read(&c, range(r, 1, 64) * g_bs, false);
				pump(&c, 1000, cond_tasks_below, 0);
			}
		}
		break;
	}
	default: /* a good login, then at once another login PDU */
		if (do_login(&c, &o) == 0) {
			login_bhs(&c, b, F_FINAL | (1 << 2) | 3, 0);
			queue_pdu(&c, b, (const uint8_t *)k, len);
		}
		break;
	}
	pump(&c, (int)range(r, 0, 1500), NULL, 0);
	end_random(&c);
}

static void run_episode(struct worker *w, uint64_t seed, int only_kind)
{
	struct rng r = {seed};
	unsigned total = 0;
	for (int k = 0; k < N_KIND; k++)
		if (!g_only || g_only & (1u << k))
			total += kind_weight[k];
	unsigned pick = below(&r, total);
	int kind = 0;
	for (; kind < N_KIND; kind++) {
		if (g_only && !(g_only & (1u << kind)))
			continue;
		if (pick < kind_weight[kind])
			break;
		pick -= kind_weight[kind];
	}
	if (only_kind >= 0)
		kind = only_kind;
	w->ep_seed = seed;
	logf_("t%d episode %016llx:%s", w->tid, (unsigned long long)seed, kind_names[kind]);
	cnt(C_EPISODES, 1);
	switch (kind) {
	case K_MIXED:
		ep_mixed(w, &r);
		break;
	case K_BIGREAD:
		ep_bigread(w, &r);
		break;
	case K_MUTATE:
		ep_mutate(w, &r);
		break;
	case K_CMDSN:
		ep_cmdsn(w, &r);
		break;
	case K_REINSTATE:
		ep_reinstate(w, &r);
		break;
	case K_SLOWREAD:
		ep_slowread(w, &r);
		break;
	default:
		ep_login(w, &r);
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	while (time_left()) {
		if (atomic_load(&g_refused_streak) > 50) {
			/* The target is gone; the probe thread notices too. */
			atomic_store(&g_stop, true);
			break;
		}
		run_episode(w, rnd(&w->r), -1);
		if (atomic_load(&g_refused_streak))
			usleep(100 * 1000);
	}
	atomic_fetch_sub(&g_running, 1);
	return NULL;
}

/* --- probe: a fresh session must work (TUR, READ CAPACITY, READ) --- */

struct probe_res {
	char why[256];
	bool timeout; /* no answer (rather than a close, e.g. a cold reset) */
};

/* One SCSI command, answered synchronously; Data-In collected into `in`. */
static int probe_cmd(struct conn *c, const uint8_t *cdb, uint8_t flags, uint32_t edtl,
		     const uint8_t *out, uint8_t *in, uint8_t *status, struct probe_res *pr)
{
	uint32_t itt = c->itt++;
	uint8_t b[BHS_LEN];
	cmd_bhs(c, b, itt, 0, F_FINAL | flags, edtl, cdb, 16, false);
	/* Everything as immediate data if the session allows, else on R2T. */
	bool imm = out && c->immediate_data && edtl <= c->first_burst && edtl <= c->tgt_mrdsl;
	queue_pdu(c, b, out, imm ? edtl : 0);
	int64_t until = now_ms() + 10000;
	/* A small synchronous reader: Data-In bodies are needed here. */
	uint8_t hdr[BHS_LEN];
	uint32_t got = 0;
	if (!flush(c)) {
		snprintf(pr->why, sizeof(pr->why), "send failed");
		return -1;
	}
	for (;;) {
		/* read one header */
		size_t have = 0;
		while (have < BHS_LEN) {
			int64_t left = until - now_ms();
			struct pollfd p = {.fd = c->fd, .events = POLLIN};
			if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
				pr->timeout = true;
				snprintf(pr->why, sizeof(pr->why), "no answer to CDB %02x in 10 s",
					 cdb[0]);
				return -1;
			}
			ssize_t n = recv(c->fd, hdr + have, BHS_LEN - have, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				snprintf(pr->why, sizeof(pr->why), "closed during CDB %02x",
					 cdb[0]);
				return -1;
			}
			if (n > 0)
				have += (size_t)n;
		}
		uint32_t dlen = get24(hdr + 5), pad = (4 - (dlen & 3)) & 3;
		uint32_t body = hdr[4] * 4u + dlen + pad;
		uint8_t *buf = body ? malloc(body) : NULL;
		size_t bh = 0;
		while (bh < body) {
			int64_t left = until - now_ms();
			struct pollfd p = {.fd = c->fd, .events = POLLIN};
			if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
				free(buf);
				pr->timeout = true;
				snprintf(pr->why, sizeof(pr->why), "PDU body stalled");
				return -1;
			}
			ssize_t n = recv(c->fd, buf + bh, body - bh, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				free(buf);
				snprintf(pr->why, sizeof(pr->why), "closed during CDB %02x",
					 cdb[0]);
				return -1;
			}
			if (n > 0)
				bh += (size_t)n;
		}
		uint8_t op = hdr[0] & 0x3f;
		const uint8_t *d = buf ? buf + hdr[4] * 4u : NULL;
		int done = 0;
		if (op == OP_DATA_IN && get32(hdr + 16) == itt) {
			uint32_t off = get32(hdr + 40);
			if (in && (uint64_t)off + dlen <= edtl)
				memcpy(in + off, d, dlen);
			got += dlen;
			if (hdr[1] & 0x01) {
				*status = hdr[3];
				done = 1;
			}
		} else if (op == OP_SCSI_RSP && get32(hdr + 16) == itt) {
			*status = hdr[3];
			if (hdr[2])
				*status = 0xff;
			done = 1;
		} else if (op == OP_NOP_IN && get32(hdr + 20) != RESERVED_TAG) {
			uint8_t o[BHS_LEN] = {OP_NOP_OUT | OP_IMMEDIATE, F_FINAL};
			memcpy(o + 20, hdr + 20, 4);
			put32(o + 16, RESERVED_TAG);
			put32(o + 24, c->cmdsn);
			queue_pdu(c, o, NULL, 0);
			flush(c);
		} else if (op == OP_REJECT) {
			free(buf);
			snprintf(pr->why, sizeof(pr->why), "Reject 0x%02x to CDB %02x", hdr[2],
				 cdb[0]);
			return -1;
		} else if (op == OP_R2T && out && get32(hdr + 16) == itt) {
			uint32_t off = get32(hdr + 40), len = get32(hdr + 44);
			if ((uint64_t)off + len > edtl) {
				free(buf);
				snprintf(pr->why, sizeof(pr->why), "R2T beyond the data");
				return -1;
			}
			uint32_t sn = 0;
			for (uint32_t k = 0; k < len; sn++) {
				uint32_t n = len - k < c->tgt_mrdsl ? len - k : c->tgt_mrdsl;
				uint8_t dh[BHS_LEN] = {OP_DATA_OUT, k + n == len ? F_FINAL : 0};
				put32(dh + 16, itt);
				memcpy(dh + 20, hdr + 20, 4);
				put32(dh + 28, c->exp_statsn);
				put32(dh + 36, sn);
				put32(dh + 40, off + k);
				queue_pdu(c, dh, out + off + k, n);
				k += n;
			}
			flush(c);
		} else if (op == OP_R2T) {
			free(buf);
			snprintf(pr->why, sizeof(pr->why), "unexpected R2T");
			return -1;
		}
		free(buf);
		if (done)
			return 0;
	}
}

/* probe_cmd, again while the answer is CHECK CONDITION: resets from the
 * stress threads leave unit attentions on every nexus, the probe's too. */
static int probe_cmd_ua(struct conn *c, const uint8_t *cdb, uint8_t flags, uint32_t edtl,
			const uint8_t *out, uint8_t *in, uint8_t *status, struct probe_res *pr)
{
	for (int i = 0; i < 6; i++) {
		if (probe_cmd(c, cdb, flags, edtl, out, in, status, pr))
			return -1;
		if (*status != 0x02)
			break;
	}
	return 0;
}

/* Login, TEST UNIT READY (unit attentions allowed), READ CAPACITY(10),
 * READ(10) of one block; with `write`, also WRITE + READ back of one block
 * (last block of the disk) and a compare. */
/* A plain session for the probe and the clean-up (own ISIDs). */
static int probe_session(struct conn *c, struct rng *r, struct probe_res *pr)
{
	uint8_t isid[6];
	static atomic_uint seq;
	make_isid(isid, 250, atomic_fetch_add(&seq, 1));
	memset(pr, 0, sizeof(*pr));
	if (conn_open(c, r, 255, isid, 0)) {
		snprintf(pr->why, sizeof(pr->why), "connect: %s", strerror(errno));
		return -1;
	}
	struct lopts o = {.imm = true,
			  .initial_r2t = false,
			  .first_burst = 65536,
			  .max_burst = 262144,
			  .mrdsl = 262144};
	int rc = do_login(c, &o);
	if (rc) {
		pr->timeout = !c->closed;
		snprintf(pr->why, sizeof(pr->why), "login %s",
			 rc > 0	     ? "refused"
			 : c->closed ? "closed"
				     : "timed out");
		conn_free(c);
		return -1;
	}
	return 0;
}

/* The LU's designator from VPD page 83h (for EXTENDED COPY). */
static void learn_designator(struct conn *c, struct probe_res *pr)
{
	uint8_t cdb[16] = {0x12, 0x01, 0x83, 0x00, 0xff}, page[255] = {0}, st = 0xff;
	if (probe_cmd_ua(c, cdb, F_READ, sizeof(page), NULL, page, &st, pr) || st)
		return;
	uint32_t end = 4 + get16(page + 2);
	if (end > sizeof(page))
		end = sizeof(page);
	for (uint32_t i = 4; i + 4 <= end;) {
		uint8_t *d = page + i, len = d[3];
		if (i + 4 + len > end)
			break;
		/* Association: the logical unit; type NAA (3) preferred. */
		if (!(d[1] & 0x30) && len <= 20 && (!g_desig_len || (d[1] & 0x0f) == 3)) {
			g_desig_hdr[0] = d[0] & 0x0f;
			g_desig_hdr[1] = d[1] & 0x3f;
			g_desig_len = len;
			memcpy(g_desig, d + 4, len);
			if ((d[1] & 0x0f) == 3)
				break;
		}
		i += 4 + len;
	}
}

/* Leaves no persistent reservation behind: a new nexus registers (REGISTER
 * AND IGNORE EXISTING KEY) and CLEARs every registration. */
static int pr_cleanup(struct probe_res *pr)
{
	struct rng r = {(uint64_t)now_ms() ^ 0xc1ea};
	struct conn c;
	for (int attempt = 0; attempt < 3; attempt++) {
		if (probe_session(&c, &r, pr))
			continue;
		uint8_t cdb[16] = {0x5f, 6}, par[24] = {0}, st = 0xff;
		put32(cdb + 5, sizeof(par));
		put64(par + 8, 0xc1ea);
		int rc = probe_cmd_ua(&c, cdb, F_WRITE, sizeof(par), par, NULL, &st, pr);
		if (!rc && !st) {
			cdb[1] = 3;
			memset(par, 0, sizeof(par));
			put64(par, 0xc1ea);
			rc = probe_cmd_ua(&c, cdb, F_WRITE, sizeof(par), par, NULL, &st, pr);
		}
		conn_free(&c);
		if (!rc && !st)
			return 0;
		if (!pr->why[0])
			snprintf(pr->why, sizeof(pr->why), "PERSISTENT RESERVE OUT status 0x%02x",
				 st);
	}
	return -1;
}

static int probe_once(int tid, bool learn, bool write, struct probe_res *pr)
{
	struct rng r = {(uint64_t)now_ms() ^ 0x1234};
	struct conn c;
	if (probe_session(&c, &r, pr))
		return -1;
	int rc = 0;
	uint8_t cdb[16] = {0}, st = 0xff;
	if (probe_cmd_ua(&c, cdb, 0, 0, NULL, NULL, &st, pr))
		goto out;
	if (st) {
		snprintf(pr->why, sizeof(pr->why), "TEST UNIT READY status 0x%02x", st);
		rc = -1;
		goto out;
	}
	uint8_t cap[8] = {0};
	cdb[0] = 0x25;
	if (probe_cmd_ua(&c, cdb, F_READ, 8, NULL, cap, &st, pr))
		goto out;
	if (st) {
		snprintf(pr->why, sizeof(pr->why), "READ CAPACITY status 0x%02x", st);
		rc = -1;
		goto out;
	}
	uint32_t bs = get32(cap + 4);
	uint64_t blocks = (uint64_t)get32(cap) + 1;
	if (bs < 512 || bs > 65536 || blocks < 16) {
		snprintf(pr->why, sizeof(pr->why), "READ CAPACITY: %u blocks of %u bytes",
			 (unsigned)blocks, bs);
		rc = -1;
		goto out;
	}
	if (learn) {
		g_bs = bs;
		g_blocks = blocks;
		learn_designator(&c, pr);
		pr->why[0] = 0;
	}
	uint8_t *buf = calloc(2, bs);
	if (!buf) {
		rc = -1;
		goto out;
	}
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x28;
	put32(cdb + 2, (uint32_t)(rnd(&r) % blocks));
	put16(cdb + 7, 1);
	/* During the stress (no write check) a RESERVATION CONFLICT is an
	 * answer too: some session holds an exclusive reservation. */
	if (probe_cmd_ua(&c, cdb, F_READ, bs, NULL, buf, &st, pr) ||
	    (st && (write || st != 0x18))) {
		if (!pr->why[0])
			snprintf(pr->why, sizeof(pr->why), "READ(10) status 0x%02x", st);
		free(buf);
		rc = -1;
		goto out;
	}
	if (write && bs <= 65536) {
		for (uint32_t k = 0; k < bs; k++)
			buf[k] = (uint8_t)rnd(&r);
		cdb[0] = 0x2a;
		put32(cdb + 2, (uint32_t)(blocks - 1));
		if (probe_cmd_ua(&c, cdb, F_WRITE, bs, buf, NULL, &st, pr) || st) {
			if (!pr->why[0])
				snprintf(pr->why, sizeof(pr->why), "WRITE(10) status 0x%02x", st);
			rc = -1;
		} else {
			cdb[0] = 0x28;
			if (probe_cmd_ua(&c, cdb, F_READ, bs, NULL, buf + bs, &st, pr) || st) {
				if (!pr->why[0])
					snprintf(pr->why, sizeof(pr->why),
						 "READ(10) back status 0x%02x", st);
				rc = -1;
			} else if (memcmp(buf, buf + bs, bs)) {
				snprintf(pr->why, sizeof(pr->why),
					 "block read back differs from what was written");
				rc = -1;
			}
		}
	}
	free(buf);
	if (!rc) {
		send_logout(&c, false);
		flush(&c);
	}
out:
	if (pr->why[0])
		rc = -1;
	conn_free(&c);
	return rc;
}

/* Up to 3 attempts (a cold reset of another connection may end a probe's
 * session); returns 0 if one worked. */
static int probe(bool learn, bool write, struct probe_res *pr)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		if (!probe_once(255, learn, write, pr))
			return 0;
		cnt(C_PROBE_RETRY, 1);
		logf_("probe attempt %d failed: %s", attempt + 1, pr->why);
		usleep(200 * 1000);
	}
	return -1;
}

static atomic_bool g_probe_failed;
static char g_probe_why[256];

static void *probe_main(void *arg)
{
	while (time_left()) {
		struct probe_res pr;
		int64_t t0 = now_ms();
		if (probe(false, false, &pr)) {
			cnt(C_PROBE_FAIL, 1);
			if (pr.timeout || atomic_load(&g_refused_streak) > 0) {
				snprintf(g_probe_why, sizeof(g_probe_why), "%s", pr.why);
				atomic_store(&g_probe_failed, true);
			}
			logf_("PROBE FAILED: %s", pr.why);
		} else {
			cnt(C_PROBE_OK, 1);
			logf_("probe ok in %lld ms", (long long)(now_ms() - t0));
		}
		for (int i = 0; i < 20 && time_left(); i++)
			usleep(100 * 1000);
	}
	atomic_fetch_sub(&g_running, 1);
	return NULL;
}

/* --- main --- */

static int resolve(void)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(g_host, g_port, &hints, &ai)) {
		fprintf(stderr, "pdu_stress: cannot resolve %s:%s\n", g_host, g_port);
		return -1;
	}
	memcpy(&g_addr, ai->ai_addr, ai->ai_addrlen);
	g_addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s SEED SECONDS CONNECTIONS HOST PORT TARGET_IQN [--log FILE]\n"
		"          [--only KIND[,KIND...]] [--episode SEED[:KIND]] [--target2 IQN]\n"
		"          [--luns N]\n"
		"       %s --check HOST PORT TARGET_IQN\n"
		"kinds: mixed bigread mutate cmdsn reinstate slowread login\n",
		argv0, argv0);
}

static int parse_only(const char *s)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k = 0;
		while (k < N_KIND && strcmp(kind_names[k], t))
			k++;
		if (k == N_KIND) {
			fprintf(stderr, "pdu_stress: unknown kind %s\n", t);
			return -1;
		}
		g_only |= 1u << k;
	}
	return 0;
}

static void print_counts(double secs)
{
	printf("pdu_stress: %.1f s, %u connection threads\n", secs, g_nthreads);
	for (int i = 0; i < N_CTR; i++)
		printf("  %-46s %llu\n", ctr_names[i], (unsigned long long)atomic_load(&g_ctr[i]));
	unsigned long long pdus = atomic_load(&g_ctr[C_PDU_TX]) + atomic_load(&g_ctr[C_PDU_RX]);
	unsigned long long bytes =
	    atomic_load(&g_ctr[C_BYTES_TX]) + atomic_load(&g_ctr[C_BYTES_RX]);
	printf("  %-46s %.0f\n", "PDUs/s (sent + received)", secs > 0 ? pdus / secs : 0.0);
	printf("  %-46s %.1f\n", "MiB/s (sent + received)",
	       secs > 0 ? bytes / secs / 1048576.0 : 0.0);
	printf("  %-46s %.1f\n", "connections/s", secs > 0 ? g_ctr[C_CONNECTS] / secs : 0.0);
}

int main(int argc, char **argv)
{
	crc_init();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "--check")) {
		g_host = argv[2];
		g_port = argv[3];
		g_target = argv[4];
		if (resolve())
			return 2;
		g_start = now_ms();
		g_end = g_start;
		g_hard_end = g_start + 60000;
		struct probe_res cl;
		if (pr_cleanup(&cl)) {
			printf("error: clearing persistent reservations: %s\n", cl.why);
			return 1;
		}
		/* Several fresh sessions: with two reactors they land on both. */
		for (int i = 0; i < 4; i++) {
			struct probe_res pr;
			if (probe(i == 0, true, &pr)) {
				printf("error: check %d: %s\n", i + 1, pr.why);
				return 1;
			}
		}
		printf("ok\n");
		return 0;
	}
	if (argc < 7) {
		usage(argv[0]);
		return 2;
	}
	uint64_t seed = strtoull(argv[1], NULL, 0);
	long secs = strtol(argv[2], NULL, 10);
	long nconn = strtol(argv[3], NULL, 10);
	g_host = argv[4];
	g_port = argv[5];
	g_target = argv[6];
	const char *log_path = NULL;
	bool one_episode = false;
	uint64_t episode_seed = 0;
	int episode_kind = -1; /* -1: drawn from the seed */
	for (int i = 7; i < argc; i++) {
		if (!strcmp(argv[i], "--log") && i + 1 < argc) {
			log_path = argv[++i];
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			if (parse_only(argv[++i]))
				return 2;
		} else if (!strcmp(argv[i], "--target2") && i + 1 < argc) {
			g_target2 = argv[++i];
		} else if (!strcmp(argv[i], "--luns") && i + 1 < argc) {
			g_nluns = (unsigned)strtoul(argv[++i], NULL, 10);
			if (g_nluns < 1 || g_nluns > 255) {
				usage(argv[0]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--episode") && i + 1 < argc) {
			/* SEED[:KIND] as the log prints it; the kind is drawn from
			 * the seed either way, so the random stream is the same. */
			char *end;
			one_episode = true;
			episode_seed = strtoull(argv[++i], &end, 16);
			if (*end == ':') {
				episode_kind = 0;
				while (episode_kind < N_KIND &&
				       strcmp(kind_names[episode_kind], end + 1))
					episode_kind++;
				if (episode_kind == N_KIND) {
					fprintf(stderr, "pdu_stress: unknown kind %s\n", end + 1);
					return 2;
				}
			} else if (*end) {
				usage(argv[0]);
				return 2;
			}
		} else {
			usage(argv[0]);
			return 2;
		}
	}
	if (secs < 1 || secs > 86400 || nconn < 1 || nconn > MAX_THREADS - 8) {
		fprintf(stderr, "pdu_stress: SECONDS 1..86400, CONNECTIONS 1..%d\n",
			MAX_THREADS - 8);
		return 2;
	}
	if (resolve())
		return 2;
	if (log_path && !(g_log = fopen(log_path, "w"))) {
		perror(log_path);
		return 2;
	}
	g_pattern = malloc(PATTERN_LEN);
	if (!g_pattern)
		return 3;
	struct rng pr = {seed ^ 0xa5a5a5a5a5a5a5a5ull};
	for (uint32_t i = 0; i < PATTERN_LEN; i += 8)
		put64(g_pattern + i, rnd(&pr));
	g_start = now_ms();
	g_end = g_start + secs * 1000;
	g_hard_end = g_end + GRACE_MS;
	struct probe_res first;
	if (probe(true, false, &first)) {
		printf("error: the target does not work before the stress: %s\n", first.why);
		return 1;
	}
	printf("pdu_stress: seed %llu, %ld s, %ld connections, disk %llu blocks of %u bytes\n",
	       (unsigned long long)seed, secs, nconn, (unsigned long long)g_blocks, g_bs);
	if (one_episode) {
		struct worker w = {.tid = 0};
		g_nthreads = 1;
		run_episode(&w, episode_seed, episode_kind);
		print_counts((now_ms() - g_start) / 1000.0);
		free(g_pattern);
		if (g_log)
			fclose(g_log);
		return 0;
	}
	g_nthreads = (unsigned)nconn;
	struct worker *ws = calloc((size_t)nconn, sizeof(*ws));
	if (!ws)
		return 3;
	pthread_t probe_th;
	atomic_store(&g_running, (int)nconn + 1);
	for (long i = 0; i < nconn; i++) {
		ws[i].tid = (int)i;
		ws[i].r.s = mix64(seed ^ mix64((uint64_t)i + 0x5eed));
		if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i])) {
			fprintf(stderr, "pdu_stress: pthread_create failed\n");
			return 3;
		}
	}
	if (pthread_create(&probe_th, NULL, probe_main, NULL)) {
		fprintf(stderr, "pdu_stress: pthread_create failed\n");
		return 3;
	}
	/* Watchdog: every operation is bounded, so this only fires on a bug
	 * in this client. */
	while (atomic_load(&g_running) > 0) {
		if (now_ms() > g_hard_end + WATCHDOG_MS) {
			print_counts((now_ms() - g_start) / 1000.0);
			printf("error: pdu_stress watchdog: %d threads still running\n",
			       atomic_load(&g_running));
			fflush(stdout);
			_exit(3);
		}
		usleep(100 * 1000);
	}
	for (long i = 0; i < nconn; i++)
		pthread_join(ws[i].th, NULL);
	pthread_join(probe_th, NULL);
	/* The stress may leave reservations behind; later users of the LU
	 * should not trip over them. */
	struct probe_res cl;
	g_hard_end = now_ms() + 30000;
	if (!atomic_load(&g_stop) && pr_cleanup(&cl))
		printf("warning: clearing persistent reservations: %s\n", cl.why);
	double elapsed = (now_ms() - g_start) / 1000.0;
	print_counts(elapsed);
	free(ws);
	free(g_pattern);
	if (g_log)
		fclose(g_log);
	if (atomic_load(&g_refused_streak) > 0 || atomic_load(&g_stop)) {
		printf("error: the target stopped accepting connections\n");
		return 1;
	}
	if (atomic_load(&g_ctr[C_TMF_STALL])) {
		printf("error: %llu TMFs were never answered on open connections (see the STALL "
		       "lines of --log for the episodes)\n",
		       (unsigned long long)atomic_load(&g_ctr[C_TMF_STALL]));
		return 1;
	}
	if (atomic_load(&g_probe_failed)) {
		printf("error: a fresh session did not work during the stress: %s\n", g_probe_why);
		return 1;
	}
	printf("ok\n");
	return 0;
}
