/*
 * Verified I/O across run-time changes, for tests/integration/live-admin.sh
 * (built only when libiscsi-dev is installed):
 *
 *   live_io_client URL_A URL_B URL_C INITIATOR_B STEP...
 *
 * A (URL_A, its own initiator name) writes a pattern to LUN 0 and reads it
 * back, over and over; B (URL_B, INITIATOR_B) is a second session of the
 * same target in another initiator group; C (URL_C) is a session of
 * another target.  Each STEP is "NAME|C|COMMAND": COMMAND runs (system(3),
 * in a child) while A keeps its I/O going; when it has ended, A's LUNs 0
 * and 1 and B's LUN 0 are asked for their pending unit attentions (TEST
 * UNIT READY until GOOD), and one line is printed:
 *
 *   STEP NAME rc=N ios=N A=3f0e,2a09 B=- C=up
 *
 * A's unit attentions met during its I/O count too: an initiator retries
 * a command that got one, and so does A.  C is what the step expects of
 * the other target's session: "up" (a TEST UNIT READY is GOOD on the same
 * session), "down" (it fails: its session was closed and no new login is
 * accepted), "relogged" (its session was closed and a new one is up),
 * "login" (a new session logs in and is up).  Exit 0 if no I/O of A failed or
 * read back wrong and every C expectation held; 1 otherwise, with the
 * reason on stderr.  URLs may carry CHAP (iscsi://USER%SECRET@HOST...).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define INITIATOR_A "iqn.2026-12.org.uscst:live-a"
#define INITIATOR_C "iqn.2026-12.org.uscst:live-c"
#define BLOCK 512
#define NBLK 8	     /* blocks per I/O */
#define SPAN 2048    /* LBAs A writes over */
#define MAX_UA 16    /* distinct unit attentions kept per session and step */
#define MAX_TRIES 16 /* retries of one command on unit attentions */

struct uas {
	unsigned n;
	uint16_t v[MAX_UA]; /* asc << 8 | ascq */
};

static void ua_add(struct uas *u, uint8_t asc, uint8_t ascq)
{
	uint16_t v = (uint16_t)(asc << 8 | ascq);
	for (unsigned i = 0; i < u->n; i++)
		if (u->v[i] == v)
			return;
	if (u->n < MAX_UA)
		u->v[u->n++] = v;
}

static void ua_print(const char *who, const struct uas *u)
{
	printf(" %s=", who);
	if (!u->n)
		printf("-");
	for (unsigned i = 0; i < u->n; i++)
		printf("%s%04x", i ? "," : "", u->v[i]);
}

static struct iscsi_context *login(const char *initiator, const char *url_text, int quiet)
{
	struct iscsi_context *iscsi = iscsi_create_context(initiator);
	if (!iscsi)
		return NULL;
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_text);
	if (!url) {
		fprintf(stderr, "live_io_client: bad URL %s: %s\n", url_text,
			iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	if (url->user[0])
		iscsi_set_initiator_username_pwd(iscsi, url->user, url->passwd);
	/* A dropped session must show as a failure, not be logged in again. */
	iscsi_set_reconnect_max_retries(iscsi, 0);
	iscsi_set_timeout(iscsi, 10);
	int rc = iscsi_full_connect_sync(iscsi, url->portal, url->lun);
	iscsi_destroy_url(url);
	if (rc != 0) {
		if (!quiet)
			fprintf(stderr, "live_io_client: login to %s failed: %s\n", url_text,
				iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	return iscsi;
}

/* A unit attention in task: recorded, true (retry). */
static int took_ua(struct scsi_task *t, struct uas *u)
{
	if (t->status != SCSI_STATUS_CHECK_CONDITION || t->sense.key != SCSI_SENSE_UNIT_ATTENTION)
		return 0;
	ua_add(u, (uint8_t)(t->sense.ascq >> 8), (uint8_t)t->sense.ascq);
	return 1;
}

/* TEST UNIT READY until GOOD, collecting unit attentions; 1 GOOD, 0 LUN
 * not there (or not ready), -1 transport failure. */
static int drain(struct iscsi_context *iscsi, int lun, struct uas *u)
{
	for (int i = 0; i < MAX_TRIES; i++) {
		struct scsi_task *t = iscsi_testunitready_sync(iscsi, lun);
		if (!t)
			return -1;
		int ua = took_ua(t, u), good = t->status == SCSI_STATUS_GOOD;
		scsi_free_scsi_task(t);
		if (good)
			return 1;
		if (!ua)
			return 0;
	}
	return 0;
}

static void fill(uint8_t *buf, uint32_t lba, uint32_t round)
{
	for (unsigned i = 0; i < NBLK * BLOCK; i += 4) {
		uint32_t v = (lba + i / BLOCK) * 2654435761u ^ round ^ i;
		memcpy(buf + i, &v, 4);
	}
}

static uint32_t rounds;

/* One write of a fresh pattern and its read back; 0 on any failure. */
static int one_io(struct iscsi_context *a, struct uas *u)
{
	uint8_t out[NBLK * BLOCK], *in = NULL;
	uint32_t lba = (uint32_t)(rand() % (SPAN - NBLK));
	fill(out, lba, ++rounds);
	struct scsi_task *t = NULL;
	for (int i = 0; i < MAX_TRIES; i++) {
		t = iscsi_write10_sync(a, 0, lba, out, sizeof(out), BLOCK, 0, 0, 0, 0, 0);
		if (!t || !took_ua(t, u))
			break;
		scsi_free_scsi_task(t);
		t = NULL;
	}
	if (!t || t->status != SCSI_STATUS_GOOD) {
		fprintf(stderr, "live_io_client: WRITE(10) at %u failed: %s\n", lba,
			t ? iscsi_get_error(a) : "transport");
		return 0;
	}
	scsi_free_scsi_task(t);
	for (int i = 0; i < MAX_TRIES; i++) {
		t = iscsi_read10_sync(a, 0, lba, sizeof(out), BLOCK, 0, 0, 0, 0, 0);
		if (!t || !took_ua(t, u))
			break;
		scsi_free_scsi_task(t);
		t = NULL;
	}
	if (!t || t->status != SCSI_STATUS_GOOD || !(in = t->datain.data) ||
	    t->datain.size != (int)sizeof(out)) {
		fprintf(stderr, "live_io_client: READ(10) at %u failed: %s\n", lba,
			t ? iscsi_get_error(a) : "transport");
		return 0;
	}
	int same = memcmp(in, out, sizeof(out)) == 0;
	scsi_free_scsi_task(t);
	if (!same)
		fprintf(stderr, "live_io_client: data read back at %u differs\n", lba);
	return same;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: live_io_client URL_A URL_B URL_C INITIATOR_B STEP...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct iscsi_context *a = login(INITIATOR_A, argv[1], 0);
	struct iscsi_context *b = login(argv[4], argv[2], 0);
	struct iscsi_context *c = login(INITIATOR_C, argv[3], 0);
	if (!a || !b || !c)
		return 1;
	struct uas junk = {0};
	if (drain(a, 0, &junk) != 1 || drain(b, 0, &junk) != 1 || drain(c, 0, &junk) != 1) {
		fprintf(stderr, "live_io_client: a LUN 0 is not ready after login\n");
		return 1;
	}
	drain(a, 1, &junk);
	int ok = 1;
	for (int s = 5; s < argc && ok; s++) {
		char *step = argv[s], *bar1 = strchr(step, '|');
		char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
		if (!bar2) {
			fprintf(stderr, "live_io_client: bad step '%s'\n", step);
			return 2;
		}
		*bar1 = *bar2 = '\0';
		const char *name = step, *expect_c = bar1 + 1, *cmd = bar2 + 1;
		struct uas ua_a = {0}, ua_b = {0};
		unsigned ios = 0;
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			int rc = system(cmd);
			_exit(WIFEXITED(rc) ? WEXITSTATUS(rc) : 127);
		}
		int status = 0;
		/* A's I/O goes on while the command runs, and once more after. */
		for (;;) {
			pid_t done = waitpid(pid, &status, WNOHANG);
			if (!one_io(a, &ua_a)) {
				ok = 0;
				if (!done)
					waitpid(pid, &status, 0);
				break;
			}
			ios++;
			if (done == pid)
				break;
		}
		if (drain(a, 0, &ua_a) < 0 || drain(a, 1, &ua_a) < 0 || drain(b, 0, &ua_b) != 1) {
			fprintf(stderr, "live_io_client: step %s: session A or B lost\n", name);
			ok = 0;
		}
		const char *c_state = "up";
		if (!strcmp(expect_c, "login")) {
			iscsi_destroy_context(c);
			c = login(INITIATOR_C, argv[3], 0);
			c_state = c && drain(c, 0, &junk) == 1 ? "login" : "nologin";
		} else if (c) {
			/* A closed session fails the command, or libiscsi logs
			 * in again by itself: the new session's first command
			 * then reports the power-on reset (29h/00h). */
			struct uas cu = {0};
			int r = drain(c, 0, &cu);
			c_state = r == 1 ? "up" : "down";
			for (unsigned i = 0; r == 1 && i < cu.n; i++)
				if (cu.v[i] >> 8 == 0x29)
					c_state = "relogged";
			if (r != 1) {
				iscsi_destroy_context(c);
				/* And no new login while the target is disabled. */
				c = login(INITIATOR_C, argv[3], 1);
				if (c)
					c_state = "relogged";
			}
		} else {
			c_state = "down";
		}
		printf("STEP %s rc=%d ios=%u", name, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		       ios);
		ua_print("A", &ua_a);
		ua_print("B", &ua_b);
		printf(" C=%s\n", c_state);
		fflush(stdout);
		if (strcmp(c_state, expect_c) != 0) {
			fprintf(stderr, "live_io_client: step %s: C is %s, expected %s\n", name,
				c_state, expect_c);
			ok = 0;
		}
	}
	if (c)
		iscsi_destroy_context(c);
	iscsi_destroy_context(b);
	iscsi_destroy_context(a);
	return ok ? 0 : 1;
}
