/*
 * bounds_client: many iSCSI sessions from one process, on libiscsi's
 * asynchronous API, for the tests/integration/bounds-*.sh scripts (issue 16,
 * "Bounds"): idle sessions held for an RSS and CPU measurement, and
 * concurrent logins followed by load, to see which reactor each session
 * lands on.
 *
 *   bounds_client hold URL N SECONDS [PING_MS]
 *       logs in N sessions (up to LOGIN_BURST at a time), prints "ready N"
 *       once all are in full feature phase, then keeps them open and
 *       serviced (NOP-Ins answered) for SECONDS or until SIGTERM; logs out.
 *       With PING_MS, each sends a TEST UNIT READY that often: sessions
 *       that carry traffic but next to no load.
 *   bounds_client load URL N SECONDS QD BS read|write
 *       starts all N logins at once (a burst, as an initiator logging in
 *       to all its sessions at boot), then keeps QD random READs or WRITEs
 *       of BS bytes in flight per session for SECONDS.  WRITEs all send one
 *       shared buffer (the target's memory is measured, not the client's).
 *
 * Every session has its own ISID (random format, the session's number) and
 * every process its own initiator name (ending in its PID), so none
 * reinstates another.  Prints one line
 *   "ok sessions=N ios=X iops=Y min_iops=Z max_iops=W"   (load)
 *   "ok sessions=N"                                      (hold)
 * or "error: why"; exits 0 or 1.  Every wait is bounded.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define INITIATOR "iqn.2026-11.org.uscst:bounds-client" /* -PID appended */
#define LOGIN_BURST 128					/* hold: logins in flight at once */
#define LOGIN_TIMEOUT_MS 30000				/* all logins */
#define BLOCK 512					/* the test targets' logical block size */
#define SPAN (64u << 20)				/* I/O lands in the first 64 MiB */
#define MAX_QD 256

enum phase { S_IDLE, S_LOGGING_IN, S_READY, S_FAILED };

struct session {
	struct iscsi_context *iscsi;
	enum phase phase;
	unsigned inflight;
	uint64_t ios;
	unsigned index;
};

static struct session *sessions;
static unsigned nsessions;
static const char *portal, *target;
static int lun;
static volatile sig_atomic_t stop;
static bool writing, stopping;
static uint32_t io_bytes;
static unsigned char *write_buf;
static char why[256];
static char initiator[96];

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void failed(struct session *s, const char *what)
{
	if (!why[0])
		snprintf(why, sizeof(why), "session %u: %s: %s", s->index, what,
			 iscsi_get_error(s->iscsi));
	s->phase = S_FAILED;
}

static void logged_in(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	(void)iscsi;
	(void)data;
	struct session *s = priv;
	if (status != SCSI_STATUS_GOOD)
		failed(s, "login");
	else
		s->phase = S_READY;
}

static int start_login(struct session *s)
{
	s->iscsi = iscsi_create_context(initiator);
	if (!s->iscsi) {
		snprintf(why, sizeof(why), "no iSCSI context");
		return -1;
	}
	/* RFC 7143 10.12.5 random format; the qualifier keeps 0 free. */
	iscsi_set_isid_random(s->iscsi, s->index + 1, 1);
	iscsi_set_targetname(s->iscsi, target);
	iscsi_set_session_type(s->iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(s->iscsi, ISCSI_HEADER_DIGEST_NONE);
	iscsi_set_noautoreconnect(s->iscsi, 1);
	s->phase = S_LOGGING_IN;
	if (iscsi_full_connect_async(s->iscsi, portal, lun, logged_in, s) != 0) {
		failed(s, "connect");
		return -1;
	}
	return 0;
}

static void submit(struct session *s);

static void io_done(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	(void)iscsi;
	struct session *s = priv;
	if (data)
		scsi_free_scsi_task(data);
	s->inflight--;
	if (status != SCSI_STATUS_GOOD) {
		failed(s, writing ? "WRITE(16)" : "READ(16)");
		return;
	}
	s->ios++;
}

static void submit(struct session *s)
{
	uint64_t blocks = (SPAN - io_bytes) / BLOCK;
	uint64_t lba = (uint64_t)rand() % (blocks + 1);
	lba -= lba % (io_bytes / BLOCK);
	struct scsi_task *t = writing ? iscsi_write16_task(s->iscsi, lun, lba, write_buf, io_bytes,
							   BLOCK, 0, 0, 0, 0, 0, io_done, s)
				      : iscsi_read16_task(s->iscsi, lun, lba, io_bytes, BLOCK, 0, 0,
							  0, 0, 0, io_done, s);
	if (!t) {
		failed(s, "queueing a command");
		return;
	}
	s->inflight++;
}

/* One poll over every live session; services what is ready.  False on a
 * poll error. */
static bool service_all(struct pollfd *pfds, int timeout_ms)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nsessions; i++) {
		struct session *s = &sessions[i];
		if (s->phase == S_IDLE || s->phase == S_FAILED)
			continue;
		pfds[n].fd = iscsi_get_fd(s->iscsi);
		pfds[n].events = (short)iscsi_which_events(s->iscsi);
		pfds[n].revents = 0;
		n++;
	}
	if (poll(pfds, n, timeout_ms) < 0 && errno != EINTR) {
		snprintf(why, sizeof(why), "poll: %s", strerror(errno));
		return false;
	}
	n = 0;
	for (unsigned i = 0; i < nsessions; i++) {
		struct session *s = &sessions[i];
		if (s->phase == S_IDLE || s->phase == S_FAILED)
			continue;
		/* revents 0 still runs libiscsi's timeouts. */
		if (iscsi_service(s->iscsi, pfds[n++].revents) != 0 && !stopping)
			failed(s, "service");
	}
	return true;
}

static unsigned count(enum phase p)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nsessions; i++)
		n += sessions[i].phase == p;
	return n;
}

/* Logs every session in, at most burst logins in flight. */
static int login_all(struct pollfd *pfds, unsigned burst)
{
	uint64_t deadline = now_ms() + LOGIN_TIMEOUT_MS;
	unsigned next = 0;
	while (count(S_READY) < nsessions) {
		while (next < nsessions && next - count(S_READY) < burst)
			if (start_login(&sessions[next++]) != 0)
				return -1;
		if (count(S_FAILED) || stop)
			return -1;
		if (now_ms() > deadline) {
			snprintf(why, sizeof(why), "%u of %u sessions logged in after %d ms",
				 count(S_READY), nsessions, LOGIN_TIMEOUT_MS);
			return -1;
		}
		if (!service_all(pfds, 100))
			return -1;
	}
	return 0;
}

static void logout_all(void)
{
	stopping = true;
	for (unsigned i = 0; i < nsessions; i++) {
		struct session *s = &sessions[i];
		if (!s->iscsi)
			continue;
		if (s->phase == S_READY)
			iscsi_logout_sync(s->iscsi);
		iscsi_destroy_context(s->iscsi);
	}
}

static void tur_done(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	(void)iscsi;
	struct session *s = priv;
	if (data)
		scsi_free_scsi_task(data);
	s->inflight--;
	/* A unit attention after login is an answer too; only errors count. */
	if (status != SCSI_STATUS_GOOD && status != SCSI_STATUS_CHECK_CONDITION)
		failed(s, "TEST UNIT READY");
}

static int run_hold(struct pollfd *pfds, unsigned seconds, unsigned ping_ms)
{
	if (login_all(pfds, LOGIN_BURST) != 0)
		return -1;
	printf("ready %u\n", nsessions);
	fflush(stdout);
	uint64_t end = now_ms() + (uint64_t)seconds * 1000, next_ping = now_ms();
	while (!stop && now_ms() < end) {
		if (ping_ms && now_ms() >= next_ping) {
			next_ping = now_ms() + ping_ms;
			for (unsigned i = 0; i < nsessions; i++) {
				struct session *s = &sessions[i];
				if (s->phase != S_READY || s->inflight)
					continue;
				if (!iscsi_testunitready_task(s->iscsi, lun, tur_done, s))
					failed(s, "queueing TEST UNIT READY");
				else
					s->inflight++;
			}
		}
		if (!service_all(pfds, ping_ms ? (int)ping_ms : 1000))
			return -1;
		if (count(S_FAILED))
			return -1;
	}
	return 0;
}

static int run_load(struct pollfd *pfds, unsigned seconds, unsigned qd)
{
	if (login_all(pfds, nsessions) != 0)
		return -1;
	uint64_t start = now_ms(), end = start + (uint64_t)seconds * 1000;
	while (!stop && now_ms() < end) {
		for (unsigned i = 0; i < nsessions; i++)
			while (sessions[i].phase == S_READY && sessions[i].inflight < qd)
				submit(&sessions[i]);
		if (!service_all(pfds, 100) || count(S_FAILED))
			return -1;
	}
	/* In-flight commands finish, bounded; their count is not kept. */
	uint64_t drain = now_ms() + 5000;
	uint64_t ios = 0, min = UINT64_MAX, max = 0;
	for (unsigned i = 0; i < nsessions; i++) {
		ios += sessions[i].ios;
		min = sessions[i].ios < min ? sessions[i].ios : min;
		max = sessions[i].ios > max ? sessions[i].ios : max;
	}
	uint64_t ms = now_ms() - start;
	for (unsigned i = 0; i < nsessions; i++)
		while (sessions[i].inflight && sessions[i].phase == S_READY && now_ms() < drain)
			if (!service_all(pfds, 100))
				break;
	printf("ok sessions=%u ios=%llu iops=%llu min_iops=%llu max_iops=%llu\n", nsessions,
	       (unsigned long long)ios, (unsigned long long)(ios * 1000 / ms),
	       (unsigned long long)(min * 1000 / ms), (unsigned long long)(max * 1000 / ms));
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: bounds_client hold URL N SECONDS [PING_MS]\n"
			"       bounds_client load URL N SECONDS QD BS read|write\n");
	return 2;
}

int main(int argc, char **argv)
{
	bool load = argc == 8 && strcmp(argv[1], "load") == 0;
	if (!load && !((argc == 5 || argc == 6) && strcmp(argv[1], "hold") == 0))
		return usage();
	unsigned ping_ms = !load && argc == 6 ? (unsigned)strtoul(argv[5], NULL, 10) : 0;
	nsessions = (unsigned)strtoul(argv[3], NULL, 10);
	unsigned seconds = (unsigned)strtoul(argv[4], NULL, 10);
	unsigned qd = load ? (unsigned)strtoul(argv[5], NULL, 10) : 0;
	io_bytes = load ? (uint32_t)strtoul(argv[6], NULL, 10) : 0;
	writing = load && strcmp(argv[7], "write") == 0;
	if (nsessions == 0 || nsessions > 65536 || seconds == 0 || seconds > 600 ||
	    ping_ms > 60000 ||
	    (load && (qd == 0 || qd > MAX_QD || io_bytes < BLOCK || io_bytes % BLOCK ||
		      io_bytes > SPAN / 2)))
		return usage();

	/* One name per process: clients running side by side are different
	 * initiators, and none reinstates the other's sessions. */
	snprintf(initiator, sizeof(initiator), "%s-%ld", INITIATOR, (long)getpid());
	struct iscsi_context *probe = iscsi_create_context(initiator);
	struct iscsi_url *url = probe ? iscsi_parse_full_url(probe, argv[2]) : NULL;
	if (!url) {
		printf("error: bad URL %s\n", argv[2]);
		return 1;
	}
	portal = url->portal;
	target = url->target;
	lun = url->lun;

	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sessions = calloc(nsessions, sizeof(*sessions));
	struct pollfd *pfds = calloc(nsessions, sizeof(*pfds));
	write_buf = writing ? calloc(1, io_bytes) : NULL;
	if (!sessions || !pfds || (writing && !write_buf)) {
		printf("error: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < nsessions; i++)
		sessions[i].index = i;
	srand((unsigned)now_ms());

	int rc = load ? run_load(pfds, seconds, qd) : run_hold(pfds, seconds, ping_ms);
	if (rc == 0 && !load)
		printf("ok sessions=%u\n", nsessions);
	else if (rc != 0)
		printf("error: %s\n", why[0] ? why : "interrupted");
	logout_all();
	iscsi_destroy_url(url);
	iscsi_destroy_context(probe);
	free(write_buf);
	free(pfds);
	free(sessions);
	return rc == 0 ? 0 : 1;
}
