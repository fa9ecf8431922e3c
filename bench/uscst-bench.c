/*
 * uscst-bench: an iSCSI load generator on libiscsi's asynchronous API.
 *
 * Sessions are spread over threads; each thread runs one poll() loop over
 * its sessions and keeps every session's queue full (it submits as many
 * commands as the queue depth allows before servicing the sockets again).
 * Latency is measured per command from submit to callback and kept in a
 * log-linear histogram per thread, merged at the end.
 *
 * Exit status: 0 ok, 1 on command errors or verify mismatches, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
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

#include "bench_util.h"

#define MAX_URLS 64
#define MAX_SESSIONS 1024
#define MAX_THREADS 256
#define MAX_QD 1024
#define MAX_BS (16u * 1024 * 1024)
/* After --time, commands in flight get this long to finish; a target that
 * does not answer by then fails the run instead of hanging it. */
#define DRAIN_GRACE_NS (10ull * 1000000000ull)
/* Login and READ CAPACITY are synchronous; a dead target ends them here. */
#define LOGIN_TIMEOUT_S 10
/* Default verify region: enough to cross many blocks, quick on loopback. */
#define VERIFY_DEFAULT_BYTES (16ull * 1024 * 1024)

enum rw_mode { RW_READ, RW_WRITE, RW_MIX };
enum phase { PHASE_BOTH, PHASE_WRITE, PHASE_READ };

struct options {
	const char *urls[MAX_URLS];
	int url_count;
	enum rw_mode rw;
	int read_pct; /* for RW_MIX */
	bool random;
	uint32_t bs;
	int qd;
	int sessions;
	int threads;
	int seconds;
	bool verify;
	enum phase phase;
	uint32_t pass;
	uint64_t verify_bytes;
	bool json;
	bool header_digest; /* offer only HeaderDigest=CRC32C */
	int cpu_pid;	    /* target process whose CPU time is reported; 0: none */
};

static struct options opt = {
    .rw = RW_READ,
    .read_pct = 70,
    .random = true,
    .bs = 4096,
    .qd = 32,
    .sessions = 1,
    .threads = 1,
    .seconds = 10,
    .phase = PHASE_BOTH,
    .pass = 1,
};

struct stats {
	uint64_t hist[HIST_BUCKETS];
	uint64_t reads, writes, bytes, errors, mismatches;
};

struct thread_ctx;

/* One in-flight command slot; its buffer is reused for the session's life. */
struct slot {
	struct session *sess;
	uint64_t lba;
	uint32_t blocks;
	bool is_write;
	bool busy;
	uint64_t submit_ns;
	uint32_t pass;	       /* verify pattern pass of this command */
	struct scsi_iovec iov; /* read destination: buf */
	unsigned char *buf;
};

struct session {
	struct thread_ctx *thr;
	struct iscsi_context *iscsi;
	const char *url;
	int lun;
	uint32_t block_size;
	uint64_t num_blocks;
	uint32_t cmd_blocks;		  /* blocks per command (bs / block_size) */
	uint64_t span_blocks;		  /* LBAs used: whole LUN, or the verify region */
	uint64_t next_seq;		  /* next chunk for sequential/verify walks */
	uint64_t chunk_first, chunk_step; /* this session's chunks: first, step */
	bool verify_reading;		  /* verify: write pass done, now reading */
	uint32_t pass;			  /* verify: pattern pass being written/read */
	uint64_t passes_done;		  /* verify: complete write+read passes */
	int inflight;
	bool dead;
	uint64_t rng;
	struct slot slots[MAX_QD];
};

struct thread_ctx {
	pthread_t tid;
	struct session *sessions[MAX_SESSIONS];
	int session_count;
	struct stats st;
	uint64_t stop_ns;  /* no new commands after this */
	uint64_t abort_ns; /* hard deadline: fail what is still in flight */
	bool failed_setup;
};

/* The verify pattern: every 8-byte word names its LBA, the pass and its
 * place in the block, so a misplaced, stale or torn block all show up. */
static uint64_t pattern_word(uint64_t lba, uint32_t pass, uint32_t word)
{
	return (lba * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)pass << 48) ^ word;
}

static void fill_pattern(unsigned char *buf, uint64_t lba, uint32_t blocks, uint32_t block_size,
			 uint32_t pass)
{
	uint32_t words = block_size / 8;
	for (uint32_t b = 0; b < blocks; b++)
		for (uint32_t w = 0; w < words; w++) {
			uint64_t v = pattern_word(lba + b, pass, w);
			memcpy(buf + (size_t)b * block_size + (size_t)w * 8, &v, 8);
		}
}

/* Returns the number of mismatching blocks and reports the first few. */
static uint64_t check_pattern(const unsigned char *buf, size_t len, uint64_t lba, uint32_t blocks,
			      uint32_t block_size, uint32_t pass)
{
	uint64_t bad = 0;
	uint32_t words = block_size / 8;
	if (len < (size_t)blocks * block_size) {
		fprintf(stderr, "verify: LBA %" PRIu64 ": short read, %zu bytes\n", lba, len);
		return blocks;
	}
	for (uint32_t b = 0; b < blocks; b++)
		for (uint32_t w = 0; w < words; w++) {
			uint64_t v;
			memcpy(&v, buf + (size_t)b * block_size + (size_t)w * 8, 8);
			if (v != pattern_word(lba + b, pass, w)) {
				if (bad < 8)
					fprintf(stderr,
						"verify: mismatch at LBA %" PRIu64 " word %u\n",
						lba + b, w);
				bad++;
				break;
			}
		}
	return bad;
}

static int submit_one(struct session *s, struct slot *sl);

/* Bytes a read really returned: the target may report an underflow. */
static size_t read_length(const struct scsi_task *task, size_t asked)
{
	if (task->residual_status == SCSI_RESIDUAL_UNDERFLOW)
		return task->residual < asked ? asked - task->residual : 0;
	return asked;
}

static void command_done(struct iscsi_context *iscsi, int status, void *command_data, void *private)
{
	struct slot *sl = private;
	struct session *s = sl->sess;
	struct stats *st = &s->thr->st;
	struct scsi_task *task = command_data;
	uint64_t lat = now_ns() - sl->submit_ns;

	sl->busy = false;
	s->inflight--;
	if (s->dead) {
		/* Counted when the session died (deadline or connection loss);
		 * these are libiscsi cancelling what was still queued. */
		if (task)
			scsi_free_scsi_task(task);
		return;
	}
	if (status != SCSI_STATUS_GOOD) {
		/* Only the first few are printed: a dead target fails them all. */
		if (st->errors < 8)
			fprintf(stderr, "%s: %s LBA %" PRIu64 " failed: %s\n", s->url,
				sl->is_write ? "write" : "read", sl->lba, iscsi_get_error(iscsi));
		st->errors++;
	} else {
		st->hist[hist_index(lat)]++;
		st->bytes += (uint64_t)sl->blocks * s->block_size;
		if (sl->is_write)
			st->writes++;
		else
			st->reads++;
		if (opt.verify && !sl->is_write && task)
			st->mismatches +=
			    check_pattern(sl->buf, read_length(task, sl->iov.iov_len), sl->lba,
					  sl->blocks, s->block_size, sl->pass);
	}
	if (task)
		scsi_free_scsi_task(task);
}

/* Picks the next command of this session: false when the session has
 * nothing more to do (a finished verify pass). */
static bool next_command(struct session *s, uint64_t *lba, bool *is_write)
{
	uint64_t chunks = s->span_blocks / s->cmd_blocks;
	if (opt.verify) {
		/* Walk this session's chunks once writing, then once reading. */
		uint64_t chunk = s->chunk_first + s->next_seq * s->chunk_step;
		if (chunk >= chunks) {
			/* One walk is all a --phase run does. */
			if (opt.phase != PHASE_BOTH)
				return false;
			/* Every write acknowledged before reading back, every read
			 * checked before the next pass overwrites. */
			if (s->inflight > 0)
				return false;
			if (s->verify_reading) {
				s->passes_done++;
				s->pass++;
				if (now_ns() >= s->thr->stop_ns)
					return false;
			}
			s->verify_reading = !s->verify_reading;
			s->next_seq = 0;
			chunk = s->chunk_first;
			if (chunk >= chunks)
				return false;
		}
		s->next_seq++;
		*lba = chunk * s->cmd_blocks;
		/* --phase read only reads back what an earlier --phase write left. */
		*is_write =
		    opt.phase == PHASE_WRITE || (opt.phase == PHASE_BOTH && !s->verify_reading);
		return true;
	}
	uint64_t chunk;
	if (opt.random)
		chunk = xorshift(&s->rng) % chunks;
	else
		chunk = s->next_seq++ % chunks;
	*lba = chunk * s->cmd_blocks;
	if (opt.rw == RW_MIX)
		*is_write = (int)(xorshift(&s->rng) % 100) >= opt.read_pct;
	else
		*is_write = opt.rw == RW_WRITE;
	return true;
}

static int submit_one(struct session *s, struct slot *sl)
{
	uint64_t lba;
	bool is_write;
	if (!next_command(s, &lba, &is_write))
		return 1;
	uint32_t len = s->cmd_blocks * s->block_size;
	sl->lba = lba;
	sl->blocks = s->cmd_blocks;
	sl->is_write = is_write;
	if (is_write && opt.verify)
		fill_pattern(sl->buf, lba, sl->blocks, s->block_size, s->pass);
	sl->pass = s->pass;
	sl->submit_ns = now_ns();
	struct scsi_task *task;
	if (is_write)
		task = iscsi_write16_task(s->iscsi, s->lun, lba, sl->buf, len, (int)s->block_size,
					  0, 0, 0, 0, 0, command_done, sl);
	else {
		/* Data-In lands in the slot's own buffer: no allocation and copy
		 * per read inside libiscsi, which would cost the client, not the
		 * target. */
		sl->iov.iov_base = sl->buf;
		sl->iov.iov_len = len;
		task = iscsi_read16_iov_task(s->iscsi, s->lun, lba, len, (int)s->block_size, 0, 0,
					     0, 0, 0, command_done, sl, &sl->iov, 1);
	}
	if (!task) {
		fprintf(stderr, "%s: cannot queue a command: %s\n", s->url,
			iscsi_get_error(s->iscsi));
		s->thr->st.errors++;
		s->dead = true;
		return -1;
	}
	sl->busy = true;
	s->inflight++;
	return 0;
}

/* Fills the session's queue: every free slot gets a command. */
static void fill_queue(struct session *s, uint64_t now)
{
	if (s->dead)
		return;
	/* A verify run finishes at least one full write and read pass. */
	if (now >= s->thr->stop_ns &&
	    !(opt.verify && opt.phase == PHASE_BOTH && s->passes_done == 0))
		return;
	for (int i = 0; i < opt.qd && s->inflight < opt.qd; i++) {
		if (s->slots[i].busy)
			continue;
		if (submit_one(s, &s->slots[i]) != 0)
			return;
	}
}

static int session_open(struct session *s)
{
	s->iscsi = iscsi_create_context("iqn.2026-12.org.uscst:bench");
	if (!s->iscsi) {
		fprintf(stderr, "%s: cannot create an iSCSI context\n", s->url);
		return -1;
	}
	struct iscsi_url *url = iscsi_parse_full_url(s->iscsi, s->url);
	if (!url) {
		fprintf(stderr, "%s: bad URL: %s\n", s->url, iscsi_get_error(s->iscsi));
		return -1;
	}
	iscsi_set_session_type(s->iscsi, ISCSI_SESSION_NORMAL);
	/* Only one value offered, so the target cannot settle on another. */
	iscsi_set_header_digest(s->iscsi, opt.header_digest ? ISCSI_HEADER_DIGEST_CRC32C
							    : ISCSI_HEADER_DIGEST_NONE);
	iscsi_set_targetname(s->iscsi, url->target);
	if (url->user[0])
		iscsi_set_initiator_username_pwd(s->iscsi, url->user, url->passwd);
	iscsi_set_timeout(s->iscsi, LOGIN_TIMEOUT_S);
	s->lun = url->lun;
	int rc = iscsi_full_connect_sync(s->iscsi, url->portal, url->lun);
	iscsi_destroy_url(url);
	if (rc != 0) {
		fprintf(stderr, "%s: login failed: %s\n", s->url, iscsi_get_error(s->iscsi));
		return -1;
	}
	struct scsi_task *task = iscsi_readcapacity16_sync(s->iscsi, s->lun);
	if (!task || task->status != SCSI_STATUS_GOOD) {
		fprintf(stderr, "%s: READ CAPACITY(16) failed: %s\n", s->url,
			iscsi_get_error(s->iscsi));
		if (task)
			scsi_free_scsi_task(task);
		return -1;
	}
	struct scsi_readcapacity16 *rc16 = scsi_datain_unmarshall(task);
	if (!rc16 || rc16->block_length == 0 || rc16->block_length % 8 != 0) {
		fprintf(stderr, "%s: unusable READ CAPACITY(16) answer\n", s->url);
		scsi_free_scsi_task(task);
		return -1;
	}
	s->block_size = rc16->block_length;
	s->num_blocks = rc16->returned_lba + 1;
	scsi_free_scsi_task(task);
	/* Commands in flight are bounded by our own deadline, not libiscsi's. */
	iscsi_set_timeout(s->iscsi, 0);
	/* A dropped connection is an error to report, not to hide behind a
	 * silent re-login that would stall the run. */
	iscsi_set_noautoreconnect(s->iscsi, 1);

	if (opt.bs % s->block_size != 0) {
		fprintf(stderr, "%s: --bs %u is not a multiple of the block size %u\n", s->url,
			opt.bs, s->block_size);
		return -1;
	}
	s->cmd_blocks = opt.bs / s->block_size;
	s->span_blocks = s->num_blocks;
	if (opt.verify) {
		uint64_t want = opt.verify_bytes / s->block_size;
		if (want < s->span_blocks)
			s->span_blocks = want;
	}
	if (s->span_blocks < s->cmd_blocks) {
		fprintf(stderr, "%s: the LUN (or verify region) is smaller than --bs\n", s->url);
		return -1;
	}
	for (int i = 0; i < opt.qd; i++) {
		s->slots[i].sess = s;
		s->slots[i].buf = malloc(opt.bs);
		if (!s->slots[i].buf) {
			fprintf(stderr, "out of memory\n");
			return -1;
		}
		/* Non-verify writes send this; any content will do, zero is cheap. */
		memset(s->slots[i].buf, 0, opt.bs);
	}
	return 0;
}

static bool session_done(const struct session *s, uint64_t now)
{
	if (s->dead)
		return true;
	if (s->inflight > 0)
		return false;
	if (opt.verify) {
		uint64_t chunks = s->span_blocks / s->cmd_blocks;
		uint64_t chunk = s->chunk_first + s->next_seq * s->chunk_step;
		if (opt.phase != PHASE_BOTH)
			return chunk >= chunks;
		/* A session with no chunk of its own has nothing to verify. */
		return chunks <= s->chunk_first || (s->passes_done > 0 && now >= s->thr->stop_ns);
	}
	return now >= s->thr->stop_ns;
}

static pthread_barrier_t logged_in, go;
static bool setup_failed; /* written by main between the two barriers */

static void *thread_main(void *arg)
{
	struct thread_ctx *t = arg;
	struct pollfd pfds[MAX_SESSIONS];

	for (int i = 0; i < t->session_count; i++)
		if (session_open(t->sessions[i]) != 0) {
			t->failed_setup = true;
			break;
		}
	pthread_barrier_wait(&logged_in);
	pthread_barrier_wait(&go);
	if (setup_failed)
		return NULL;
	for (;;) {
		uint64_t now = now_ns();
		int active = 0;
		for (int i = 0; i < t->session_count; i++) {
			struct session *s = t->sessions[i];
			fill_queue(s, now);
			pfds[i].fd = -1;
			pfds[i].events = 0;
			if (session_done(s, now))
				continue;
			pfds[i].fd = iscsi_get_fd(s->iscsi);
			pfds[i].events = (short)iscsi_which_events(s->iscsi);
			active++;
		}
		if (active == 0)
			break;
		if (now >= t->abort_ns) {
			for (int i = 0; i < t->session_count; i++) {
				struct session *s = t->sessions[i];
				if (!session_done(s, now)) {
					fprintf(stderr,
						"%s: %d commands unanswered at the deadline\n",
						s->url, s->inflight);
					t->st.errors += (uint64_t)s->inflight;
					s->dead = true;
				}
			}
			break;
		}
		int n = poll(pfds, (nfds_t)t->session_count, 100);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			t->st.errors++;
			break;
		}
		for (int i = 0; i < t->session_count; i++) {
			struct session *s = t->sessions[i];
			if (pfds[i].fd < 0 || pfds[i].revents == 0)
				continue;
			if (iscsi_service(s->iscsi, pfds[i].revents) < 0) {
				fprintf(stderr, "%s: connection failed: %s\n", s->url,
					iscsi_get_error(s->iscsi));
				t->st.errors += (uint64_t)(s->inflight > 0 ? s->inflight : 1);
				s->dead = true;
			}
		}
	}
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: uscst-bench [options] iscsi://HOST[:PORT]/IQN/LUN [URL...]\n"
		"  --rw read|write|mix[=READ_PCT]  workload (default read; mix 70%% reads)\n"
		"  --random | --seq                access pattern (default random)\n"
		"  --bs BYTES                      block size, K/M suffixes (default 4K)\n"
		"  --qd N                          queue depth per session (default 32)\n"
		"  --sessions N                    sessions, spread over the URLs (default 1)\n"
		"  --threads N                     threads; sessions spread over them (default 1)\n"
		"  --time SECONDS                  run length (default 10)\n"
		"  --verify                        write a pattern, read it back, compare\n"
		"  --verify-size BYTES             region verified (default 16M)\n"
		"  --phase write|read              verify: only the write or the read pass\n"
		"  --pass N                        verify: pass number mixed into the pattern\n"
		"  --json                          one JSON object instead of text\n"
		"  --digest none|header            HeaderDigest=CRC32C (libiscsi's login offers\n"
		"                                  only DataDigest=None: data is not digested)\n"
		"  --cpu-pid PID                   report PID's CPU time (user+sys, all threads)\n"
		"                                  over the measured interval, per command\n");
}

static int parse_args(int argc, char **argv)
{
	enum {
		O_RW = 256,
		O_RANDOM,
		O_SEQ,
		O_BS,
		O_QD,
		O_SESSIONS,
		O_THREADS,
		O_TIME,
		O_VERIFY,
		O_VSIZE,
		O_PHASE,
		O_PASS,
		O_JSON,
		O_DIGEST,
		O_CPU_PID,
		O_HELP
	};
	static const struct option longopts[] = {
	    {"rw", required_argument, 0, O_RW},
	    {"random", no_argument, 0, O_RANDOM},
	    {"seq", no_argument, 0, O_SEQ},
	    {"bs", required_argument, 0, O_BS},
	    {"qd", required_argument, 0, O_QD},
	    {"sessions", required_argument, 0, O_SESSIONS},
	    {"threads", required_argument, 0, O_THREADS},
	    {"time", required_argument, 0, O_TIME},
	    {"verify", no_argument, 0, O_VERIFY},
	    {"verify-size", required_argument, 0, O_VSIZE},
	    {"phase", required_argument, 0, O_PHASE},
	    {"pass", required_argument, 0, O_PASS},
	    {"json", no_argument, 0, O_JSON},
	    {"digest", required_argument, 0, O_DIGEST},
	    {"cpu-pid", required_argument, 0, O_CPU_PID},
	    {"help", no_argument, 0, O_HELP},
	    {0, 0, 0, 0},
	};
	int c, v;
	uint64_t size;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_RW:
			if (strcmp(optarg, "read") == 0)
				opt.rw = RW_READ;
			else if (strcmp(optarg, "write") == 0)
				opt.rw = RW_WRITE;
			else if (strcmp(optarg, "mix") == 0)
				opt.rw = RW_MIX;
			else if (strncmp(optarg, "mix=", 4) == 0 &&
				 parse_int(optarg + 4, 0, 100, &v)) {
				opt.rw = RW_MIX;
				opt.read_pct = v;
			} else
				goto bad;
			break;
		case O_RANDOM:
			opt.random = true;
			break;
		case O_SEQ:
			opt.random = false;
			break;
		case O_BS:
			if (!parse_size(optarg, &size) || size > MAX_BS)
				goto bad;
			opt.bs = (uint32_t)size;
			break;
		case O_QD:
			if (!parse_int(optarg, 1, MAX_QD, &opt.qd))
				goto bad;
			break;
		case O_SESSIONS:
			if (!parse_int(optarg, 1, MAX_SESSIONS, &opt.sessions))
				goto bad;
			break;
		case O_THREADS:
			if (!parse_int(optarg, 1, MAX_THREADS, &opt.threads))
				goto bad;
			break;
		case O_TIME:
			if (!parse_int(optarg, 1, 86400, &opt.seconds))
				goto bad;
			break;
		case O_VERIFY:
			opt.verify = true;
			break;
		case O_VSIZE:
			if (!parse_size(optarg, &size))
				goto bad;
			opt.verify_bytes = size;
			break;
		case O_PHASE:
			if (strcmp(optarg, "write") == 0)
				opt.phase = PHASE_WRITE;
			else if (strcmp(optarg, "read") == 0)
				opt.phase = PHASE_READ;
			else
				goto bad;
			break;
		case O_PASS:
			if (!parse_int(optarg, 0, 65535, &v))
				goto bad;
			opt.pass = (uint32_t)v;
			break;
		case O_JSON:
			opt.json = true;
			break;
		case O_DIGEST:
			if (strcmp(optarg, "none") == 0)
				opt.header_digest = false;
			else if (strcmp(optarg, "header") == 0)
				opt.header_digest = true;
			else if (strcmp(optarg, "data") == 0 || strcmp(optarg, "all") == 0) {
				fprintf(stderr,
					"uscst-bench: --digest %s: libiscsi's login offers "
					"only DataDigest=None\n",
					optarg);
				return -1;
			} else
				goto bad;
			break;
		case O_CPU_PID:
			if (!parse_int(optarg, 1, INT32_MAX, &opt.cpu_pid))
				goto bad;
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	for (; optind < argc; optind++) {
		if (opt.url_count >= MAX_URLS) {
			fprintf(stderr, "uscst-bench: at most %d URLs\n", MAX_URLS);
			return -1;
		}
		opt.urls[opt.url_count++] = argv[optind];
	}
	if (opt.url_count == 0) {
		usage(stderr);
		return -1;
	}
	if (opt.phase != PHASE_BOTH && !opt.verify) {
		fprintf(stderr, "uscst-bench: --phase needs --verify\n");
		return -1;
	}
	if (opt.verify_bytes == 0)
		opt.verify_bytes = VERIFY_DEFAULT_BYTES;
	if (opt.threads > opt.sessions)
		opt.threads = opt.sessions;
	return 0;
bad:
	fprintf(stderr, "uscst-bench: bad value '%s'\n", optarg);
	usage(stderr);
	return -1;
}

/* The login is synchronous; if a dead target stalls it past every
 * deadline, this ends the run with an error rather than a hang. */
int main(int argc, char **argv)
{
	if (parse_args(argc, argv) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, bench_on_alarm);
	alarm((unsigned)opt.seconds + LOGIN_TIMEOUT_S * 2 +
	      (unsigned)(DRAIN_GRACE_NS / 1000000000ull) + 5);

	struct thread_ctx *threads = calloc((size_t)opt.threads, sizeof(*threads));
	struct session *sessions = calloc((size_t)opt.sessions, sizeof(*sessions));
	if (!threads || !sessions) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (int i = 0; i < opt.sessions; i++) {
		struct session *s = &sessions[i];
		struct thread_ctx *t = &threads[i % opt.threads];
		s->thr = t;
		s->url = opt.urls[i % opt.url_count];
		s->rng = 0x2545F4914F6CDD1Dull ^ ((uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull);
		/* Sessions on the same URL split its chunks so verify never races. */
		int same_url = (opt.sessions - 1 - (i % opt.url_count)) / opt.url_count + 1;
		s->chunk_first = (uint64_t)(i / opt.url_count);
		s->chunk_step = (uint64_t)same_url;
		/* Sequential streams start apart so they do not read the same blocks. */
		s->next_seq = opt.verify ? 0 : (uint64_t)i * 1000003ull;
		s->pass = opt.pass;
		t->sessions[t->session_count++] = s;
	}
	if (pthread_barrier_init(&logged_in, NULL, (unsigned)opt.threads + 1) != 0 ||
	    pthread_barrier_init(&go, NULL, (unsigned)opt.threads + 1) != 0) {
		fprintf(stderr, "cannot set up barriers\n");
		return 1;
	}
	for (int i = 0; i < opt.threads; i++)
		if (pthread_create(&threads[i].tid, NULL, thread_main, &threads[i]) != 0) {
			fprintf(stderr, "cannot start a thread\n");
			return 1;
		}
	/* The clock starts once every session is logged in, so login time is
	 * not counted and all threads share one stop time. */
	pthread_barrier_wait(&logged_in);
	for (int i = 0; i < opt.threads; i++)
		if (threads[i].failed_setup)
			setup_failed = true;
	/* The target's CPU time is read where the clock starts and stops, so
	 * logins and logouts are left out as they are from the IOPS. */
	long long cpu_start = opt.cpu_pid ? process_cpu_ticks(opt.cpu_pid) : -1;
	uint64_t start = now_ns();
	for (int i = 0; i < opt.threads; i++) {
		threads[i].stop_ns = start + (uint64_t)opt.seconds * 1000000000ull;
		threads[i].abort_ns = threads[i].stop_ns + DRAIN_GRACE_NS;
	}
	pthread_barrier_wait(&go);
	for (int i = 0; i < opt.threads; i++)
		pthread_join(threads[i].tid, NULL);
	uint64_t elapsed = now_ns() - start;
	long long cpu_end = opt.cpu_pid ? process_cpu_ticks(opt.cpu_pid) : -1;

	for (int i = 0; i < opt.sessions; i++) {
		if (sessions[i].iscsi) {
			if (!sessions[i].dead && !setup_failed)
				iscsi_logout_sync(sessions[i].iscsi);
			iscsi_destroy_context(sessions[i].iscsi);
		}
		for (int q = 0; q < MAX_QD; q++)
			free(sessions[i].slots[q].buf);
	}
	if (setup_failed) {
		free(sessions);
		free(threads);
		return 1;
	}
	if (opt.cpu_pid && (cpu_start < 0 || cpu_end < 0)) {
		fprintf(stderr, "uscst-bench: cannot read /proc/%d/stat\n", opt.cpu_pid);
		return 1;
	}

	struct stats total = {0};
	for (int i = 0; i < opt.threads; i++) {
		for (unsigned b = 0; b < HIST_BUCKETS; b++)
			total.hist[b] += threads[i].st.hist[b];
		total.reads += threads[i].st.reads;
		total.writes += threads[i].st.writes;
		total.bytes += threads[i].st.bytes;
		total.errors += threads[i].st.errors;
		total.mismatches += threads[i].st.mismatches;
	}
	uint64_t passes = 0;
	for (int i = 0; i < opt.sessions; i++) {
		passes += sessions[i].passes_done;
	}
	/* Counted: the sessions and threads go, so LeakSanitizer (ASan builds)
	 * sees every allocation given back. */
	free(sessions);
	free(threads);
	uint64_t done = total.reads + total.writes;
	struct bench_figures f = bench_figures_of(total.hist, done, total.bytes, elapsed,
						  opt.cpu_pid, cpu_start, cpu_end);
	if (opt.json) {
		bench_json_begin(&f, total.reads, total.writes, total.errors);
		printf(",\"verify_mismatches\":%" PRIu64 ",\"verify_passes\":%" PRIu64,
		       total.mismatches, passes);
		bench_json_end(&f, opt.cpu_pid);
	} else {
		printf("time %.3f s, %d session(s) x QD%d, %u-byte %s %s\n", f.secs, opt.sessions,
		       opt.qd, opt.bs, opt.random && !opt.verify ? "random" : "sequential",
		       opt.verify	    ? "verify"
		       : opt.rw == RW_READ  ? "read"
		       : opt.rw == RW_WRITE ? "write"
					    : "mix");
		printf("IOPS %.0f\nMB/s %.2f\n", f.iops, f.mbps);
		printf("latency us p50 %.1f p99 %.1f p99.9 %.1f\n", f.p50, f.p99, f.p999);
		printf("commands %" PRIu64 " (reads %" PRIu64 ", writes %" PRIu64
		       ")\nerrors %" PRIu64 "\n",
		       done, total.reads, total.writes, total.errors);
		if (opt.cpu_pid)
			printf("target CPU %.3f s (%.1f%% of one core), %.3f us per command\n",
			       f.cpu_s, f.busy * 100, f.cpu_us_per_cmd);
		if (opt.verify)
			printf("verify mismatches %" PRIu64 ", full passes %" PRIu64
			       " (over %d sessions)\n",
			       total.mismatches, passes, opt.sessions);
	}
	return total.errors || total.mismatches ? 1 : 0;
}
