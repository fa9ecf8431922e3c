/*
 * Client of tests/integration/graceful-stop.sh (built only when
 * libiscsi-dev is there):
 *
 *   graceful_client load URL JOURNAL SECONDS
 *   graceful_client verify IMAGE JOURNAL [--wrong-pattern]
 *   graceful_client late-login URL GO_FILE
 *   graceful_client hold URL SECONDS
 *
 * load: keeps QUEUE_DEPTH WRITE(10)s of CHUNK_BLOCKS blocks in flight on
 * successive LBAs of the first REGION_BLOCKS of the LUN in URL, round and
 * round (each block filled from its LBA alone, so a rewrite writes the
 * same), and at the end writes to JOURNAL the first LBA of every chunk
 * the target answered GOOD at least once.  libiscsi logs the target's Async Message asking for a
 * logout (AsyncEvent 1) and answers it with a Logout at once, immediate, while writes are still in
 * flight; from that message on no new write is sent. It ends when the logout has been answered and
 * no write is outstanding: prints "async-logout-request seen with K writes in flight, logout done,
 * N writes GOOD, M failed, U unanswered" and exits 0 if M and U are 0.  Exit 1: a write failed or
 * was never answered, 3: SECONDS passed without the whole sequence.
 *
 * verify: reads IMAGE (the LUN's backing file, after the daemon exited)
 * and checks every journalled write is there: exit 0, or 1 with the first
 * bad blocks.  --wrong-pattern checks against another fill, so that every
 * write must fail (shows the check can fail).
 *
 * late-login: opens the TCP connection (the daemon accepts it), prints
 * "connected", waits until GO_FILE exists (the test creates it once it has
 * sent SIGTERM), then logs in: the login must be refused with Service
 * Unavailable (status 0x0301) — exit 0, else 1.
 *
 * hold: logs in, prints "logged in", then reads nothing for SECONDS: an
 * initiator that never sees the Async Message, so never logs out.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define INITIATOR "iqn.2026-11.org.uscst:graceful-client"
#define BLOCK 512
#define CHUNK_BLOCKS 8
#define QUEUE_DEPTH 16
#define REGION_BLOCKS (64u * 1024) /* 32 MiB */

static bool saw_async_logout, saw_logout_done;
static unsigned outstanding, good, failed, in_flight_at_request, unsent_at_request;
static struct iscsi_context *ctx; /* for the log function, which gets none */
static bool chunk_good[REGION_BLOCKS / CHUNK_BLOCKS];
static uint32_t next_lba;
static int lun;

/* The fill of block lba: 8-byte words from the LBA (salt != 0: a wrong
 * one, for --wrong-pattern). */
static void fill_block(uint8_t *b, uint64_t lba, uint64_t salt)
{
	for (unsigned i = 0; i < BLOCK / 8; i++) {
		uint64_t v = (lba + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)i << 48) ^ salt;
		memcpy(b + i * 8, &v, 8);
	}
}

/* libiscsi's log: the only place it tells of the Async Message. */
static void on_log(int level, const char *msg)
{
	if (strstr(msg, "target requests logout")) {
		saw_async_logout = true;
		in_flight_at_request = outstanding;
		/* Still in libiscsi's queue: its Logout, immediate, goes ahead
		 * of them, so the target never sees them (they would be sent
		 * again after a reconnect). */
		unsent_at_request = (unsigned)iscsi_out_queue_length(ctx);
		printf("libiscsi: %s\n", msg);
	}
	if (strstr(msg, "logout successful")) {
		saw_logout_done = true;
		printf("libiscsi: %s\n", msg);
	}
}

struct write_ctx {
	uint32_t lba;
	unsigned slot; /* in in_flight[] */
	struct scsi_task *task;
	uint8_t data[CHUNK_BLOCKS * BLOCK];
};

/* The writes not answered yet: libiscsi may keep some of them when its
 * context is destroyed during a reconnect; they are freed here then. */
static struct write_ctx *in_flight[QUEUE_DEPTH];

static void send_write(struct iscsi_context *iscsi);

static void write_done(struct iscsi_context *iscsi, int status, void *command_data, void *priv)
{
	struct write_ctx *w = priv;
	struct scsi_task *task = command_data;
	outstanding--;
	if (status == SCSI_STATUS_GOOD) {
		good++;
		chunk_good[w->lba / CHUNK_BLOCKS] = true;
	} else {
		failed++;
		fprintf(stderr, "graceful_client: WRITE at %" PRIu32 " failed: status %d %s\n",
			w->lba, status, iscsi_get_error(iscsi));
	}
	in_flight[w->slot] = NULL;
	free(w);
	if (task)
		scsi_free_scsi_task(task);
	if (!saw_async_logout)
		send_write(iscsi);
}

static void send_write(struct iscsi_context *iscsi)
{
	unsigned slot = 0;
	while (slot < QUEUE_DEPTH && in_flight[slot])
		slot++;
	struct write_ctx *w = slot < QUEUE_DEPTH ? malloc(sizeof(*w)) : NULL;
	if (!w)
		return;
	w->slot = slot;
	w->lba = next_lba;
	next_lba = (next_lba + CHUNK_BLOCKS) % REGION_BLOCKS;
	for (unsigned i = 0; i < CHUNK_BLOCKS; i++)
		fill_block(w->data + i * BLOCK, w->lba + i, 0);
	w->task = iscsi_write10_task(iscsi, lun, w->lba, w->data, sizeof(w->data), BLOCK, 0, 0, 0,
				     0, 0, write_done, w);
	if (!w->task) {
		fprintf(stderr, "graceful_client: cannot send WRITE: %s\n", iscsi_get_error(iscsi));
		free(w);
		return;
	}
	in_flight[slot] = w;
	outstanding++;
}

static int load(const char *url_text, const char *journal_path, int seconds)
{
	struct iscsi_context *iscsi = iscsi_create_context(INITIATOR);
	struct iscsi_url *url = iscsi ? iscsi_parse_full_url(iscsi, url_text) : NULL;
	if (!url) {
		fprintf(stderr, "graceful_client: bad URL %s\n", url_text);
		return 1;
	}
	ctx = iscsi;
	iscsi_set_log_level(iscsi, 2);
	iscsi_set_log_fn(iscsi, on_log);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	lun = url->lun;
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0) {
		fprintf(stderr, "graceful_client: login: %s\n", iscsi_get_error(iscsi));
		return 1;
	}
	struct scsi_task *cap = iscsi_readcapacity10_sync(iscsi, lun, 0, 0);
	struct scsi_readcapacity10 *rc = cap ? scsi_datain_unmarshall(cap) : NULL;
	if (!rc || rc->block_size != BLOCK || rc->lba + 1 < REGION_BLOCKS) {
		fprintf(stderr,
			"graceful_client: READ CAPACITY failed, or not %d-byte blocks, or "
			"fewer than %u\n",
			BLOCK, REGION_BLOCKS);
		return 1;
	}
	scsi_free_scsi_task(cap);
	for (unsigned i = 0; i < QUEUE_DEPTH; i++)
		send_write(iscsi);
	printf("writing\n");
	fflush(stdout);
	time_t end = time(NULL) + seconds;
	while (time(NULL) < end && !(saw_logout_done && outstanding <= unsent_at_request)) {
		struct pollfd pfd = {.fd = iscsi_get_fd(iscsi),
				     .events = (short)iscsi_which_events(iscsi)};
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			break;
		if (iscsi_service(iscsi, pfd.revents) < 0) {
			fprintf(stderr, "graceful_client: %s\n", iscsi_get_error(iscsi));
			break;
		}
	}
	FILE *journal = fopen(journal_path, "w");
	if (!journal) {
		perror(journal_path);
		return 1;
	}
	for (uint32_t c = 0; c < REGION_BLOCKS / CHUNK_BLOCKS; c++)
		if (chunk_good[c])
			fprintf(journal, "%" PRIu32 "\n", c * CHUNK_BLOCKS);
	if (fclose(journal) != 0) {
		perror(journal_path);
		return 1;
	}
	printf("async-logout-request %s with %u writes in flight (%u sent, %u unsent), logout %s, "
	       "%u writes GOOD, %u failed, %u unanswered\n",
	       saw_async_logout ? "seen" : "NOT seen", in_flight_at_request,
	       in_flight_at_request - unsent_at_request, unsent_at_request,
	       saw_logout_done ? "done" : "NOT done", good, failed, outstanding);
	/* Every write the target received before the Logout is answered
	 * before the Logout Response. */
	int status = failed || outstanding > unsent_at_request ? 1
		     : saw_async_logout && saw_logout_done     ? 0
							       : 3;
	/* libiscsi would now reconnect to a daemon that no longer listens;
	 * the writes it still holds are cancelled (write_done frees them) or
	 * dropped (freed below). */
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	for (unsigned i = 0; i < QUEUE_DEPTH; i++) {
		if (in_flight[i]) {
			scsi_free_scsi_task(in_flight[i]->task);
			free(in_flight[i]);
		}
	}
	return status;
}

static int verify(const char *image, const char *journal_path, bool wrong)
{
	int fd = open(image, O_RDONLY);
	FILE *j = fopen(journal_path, "r");
	if (fd < 0 || !j) {
		perror(fd < 0 ? image : journal_path);
		return 1;
	}
	uint8_t got[BLOCK], want[BLOCK];
	unsigned checked = 0, bad = 0;
	uint32_t lba;
	while (fscanf(j, "%" SCNu32, &lba) == 1) {
		for (unsigned i = 0; i < CHUNK_BLOCKS; i++) {
			fill_block(want, lba + i, wrong ? 0x5a5a : 0);
			if (pread(fd, got, BLOCK, (off_t)(lba + i) * BLOCK) != BLOCK ||
			    memcmp(got, want, BLOCK) != 0) {
				if (bad++ < 5)
					fprintf(stderr,
						"graceful_client: block %" PRIu32 " is wrong\n",
						lba + i);
			}
			checked++;
		}
	}
	printf("%u blocks checked, %u wrong\n", checked, bad);
	return checked && !bad ? 0 : 1;
}

static int late_login(const char *url_text, const char *go_file)
{
	struct iscsi_context *iscsi = iscsi_create_context(INITIATOR);
	struct iscsi_url *url = iscsi ? iscsi_parse_full_url(iscsi, url_text) : NULL;
	if (!url) {
		fprintf(stderr, "graceful_client: bad URL %s\n", url_text);
		return 1;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_noautoreconnect(iscsi, 1);
	if (iscsi_connect_sync(iscsi, url->portal) != 0) {
		fprintf(stderr, "graceful_client: connect: %s\n", iscsi_get_error(iscsi));
		return 1;
	}
	printf("connected\n");
	for (int i = 0; i < 200 && access(go_file, F_OK) != 0; i++)
		usleep(50000);
	int rc;
	if (iscsi_login_sync(iscsi) == 0) {
		printf("login accepted\n");
		rc = 1;
	} else {
		const char *e = iscsi_get_error(iscsi);
		printf("login refused: %s\n", e);
		rc = strstr(e, "Service unavailable(769)") ? 0 : 1;
	}
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	return rc;
}

static int hold(const char *url_text, int seconds)
{
	struct iscsi_context *iscsi = iscsi_create_context(INITIATOR);
	struct iscsi_url *url = iscsi ? iscsi_parse_full_url(iscsi, url_text) : NULL;
	if (!url) {
		fprintf(stderr, "graceful_client: bad URL %s\n", url_text);
		return 1;
	}
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0) {
		fprintf(stderr, "graceful_client: login: %s\n", iscsi_get_error(iscsi));
		return 1;
	}
	printf("logged in\n");
	sleep((unsigned)seconds);
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "load"))
		return load(argv[2], argv[3], atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return hold(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "late-login"))
		return late_login(argv[2], argv[3]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "verify"))
		return verify(argv[2], argv[3], argc == 5 && !strcmp(argv[4], "--wrong-pattern"));
	fprintf(stderr, "usage: graceful_client load URL JOURNAL SECONDS\n"
			"       graceful_client verify IMAGE JOURNAL [--wrong-pattern]\n"
			"       graceful_client late-login URL GO_FILE\n"
			"       graceful_client hold URL SECONDS\n");
	return 2;
}
