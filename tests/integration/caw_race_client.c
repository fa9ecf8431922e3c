/*
 * COMPARE AND WRITE atomicity across sessions, for
 * tests/integration/caw-race.sh (built only when libiscsi-dev is there):
 *
 *   caw_race_client URL MODE ROUNDS SECONDS
 *
 * Logs in twice to URL (iscsi://HOST:PORT/IQN/LUN) as two initiators (two
 * I_T nexuses; with uscstd --threads 2 each connection gets its own reactor
 * thread) and runs up to ROUNDS rounds, for at most SECONDS seconds.  Each
 * round writes a fresh pattern X over CAW_BLOCKS blocks, then sends at the
 * same moment, through the asynchronous API:
 *
 *   MODE write: session A COMPARE AND WRITE (compare X, write Y) over the
 *               range, session B WRITE(16) of Z over WRITE_BLOCKS blocks
 *               inside it.  Serial orders: B first -> the CAW miscompares
 *               and the blocks are X with Z; CAW first -> Y with Z.
 *   MODE caw:   both sessions COMPARE AND WRITE (compare X; A writes Y, B
 *               writes W).  Exactly one must succeed and the other
 *               miscompare: neither may see BUSY (the loser waits its turn).
 *   MODE atomic: session A WRITE ATOMIC(16) of Y over the range, session B
 *               READ(16) of it.  The READ must return all X (it ran first)
 *               or all Y (it ran after), never part of each.
 *
 * Then it reads the range back and checks it against those outcomes.  Any
 * other result (lost WRITE, BUSY, a mix) is a violation.  Prints the tally;
 * exit 0 if no round violated, 1 otherwise, 2 on a usage or set-up error.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define INITIATOR_A "iqn.2026-11.org.uscst:caw-race-a"
#define INITIATOR_B "iqn.2026-11.org.uscst:caw-race-b"
#define BS 512u
#define CAW_BLOCKS 128u
#define WRITE_BLOCKS 8u
#define BASE_LBA 2048u
#define MAX_CLEAR_TURS 8
#define ROUND_TIMEOUT_MS 10000

struct pending {
	int done;
	int status;
	int sense_key;
	int ascq;
	uint8_t *data; /* READ: where its Data-In goes (CAW_BLOCKS blocks), or NULL */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_task(struct iscsi_context *iscsi, int status, void *command_data, void *priv)
{
	struct pending *p = priv;
	struct scsi_task *t = command_data;
	p->done = 1;
	p->status = status;
	if (t && status == SCSI_STATUS_CHECK_CONDITION) {
		p->sense_key = t->sense.key;
		p->ascq = t->sense.ascq;
	}
	if (t && p->data && status == SCSI_STATUS_GOOD) {
		if (t->datain.size == (int)(CAW_BLOCKS * BS))
			memcpy(p->data, t->datain.data, CAW_BLOCKS * BS);
		else
			p->status = -1;
	}
	if (t)
		scsi_free_scsi_task(t);
}

static struct iscsi_context *login(const char *initiator, const char *url_text, int *lun)
{
	struct iscsi_context *iscsi = iscsi_create_context(initiator);
	if (!iscsi)
		return NULL;
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_text);
	if (!url) {
		fprintf(stderr, "caw_race_client: bad URL: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	*lun = url->lun;
	int rc = iscsi_full_connect_sync(iscsi, url->portal, url->lun);
	iscsi_destroy_url(url);
	if (rc != 0) {
		fprintf(stderr, "caw_race_client: login as %s: %s\n", initiator,
			iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	for (int i = 0; i < MAX_CLEAR_TURS; i++) {
		struct scsi_task *t = iscsi_testunitready_sync(iscsi, *lun);
		int st = t ? t->status : -1;
		if (t)
			scsi_free_scsi_task(t);
		if (st == SCSI_STATUS_GOOD)
			return iscsi;
	}
	fprintf(stderr, "caw_race_client: TEST UNIT READY never GOOD\n");
	iscsi_destroy_context(iscsi);
	return NULL;
}

/* Services both contexts until every pending task is done; 0 on timeout or
 * a transport error. */
static int wait_all(struct iscsi_context **ctx, struct pending **p, int n)
{
	double deadline = now_s() + ROUND_TIMEOUT_MS / 1000.0;
	for (;;) {
		int left = 0;
		for (int i = 0; i < n; i++)
			left += !p[i]->done;
		if (!left)
			return 1;
		if (now_s() > deadline) {
			fprintf(stderr, "caw_race_client: round timed out\n");
			return 0;
		}
		struct pollfd pfd[2];
		for (int i = 0; i < n; i++) {
			pfd[i].fd = iscsi_get_fd(ctx[i]);
			pfd[i].events = (short)iscsi_which_events(ctx[i]);
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)n, 100) < 0 && errno != EINTR)
			return 0;
		for (int i = 0; i < n; i++) {
			if (iscsi_service(ctx[i], pfd[i].revents) < 0) {
				fprintf(stderr, "caw_race_client: %s\n", iscsi_get_error(ctx[i]));
				return 0;
			}
		}
	}
}

static void fill(uint8_t *b, unsigned blocks, uint32_t tag, uint8_t kind)
{
	for (unsigned i = 0; i < blocks * BS; i += 8) {
		b[i] = kind;
		b[i + 1] = (uint8_t)(i / BS);
		memcpy(b + i + 2, &tag, 4);
		b[i + 6] = 0x5a;
		b[i + 7] = (uint8_t)~kind;
	}
}

static int is_miscompare(const struct pending *p)
{
	return p->status == SCSI_STATUS_CHECK_CONDITION && p->sense_key == SCSI_SENSE_MISCOMPARE;
}

static const char *outcome(const struct pending *p)
{
	static char buf[64];
	if (p->status == SCSI_STATUS_GOOD)
		return "GOOD";
	if (is_miscompare(p))
		return "MISCOMPARE";
	if (p->status == SCSI_STATUS_BUSY)
		return "BUSY";
	snprintf(buf, sizeof(buf), "status 0x%02x key 0x%x ascq %04x", (unsigned)p->status,
		 (unsigned)p->sense_key, (unsigned)p->ascq);
	return buf;
}

struct tally {
	unsigned rounds, caw_first, other_first, violations, busy;
};

static int read_range(struct iscsi_context *iscsi, int lun, uint8_t *out)
{
	struct scsi_task *t =
	    iscsi_read16_sync(iscsi, lun, BASE_LBA, CAW_BLOCKS * BS, BS, 0, 0, 0, 0, 0);
	int ok = t && t->status == SCSI_STATUS_GOOD && t->datain.size == (int)(CAW_BLOCKS * BS);
	if (ok)
		memcpy(out, t->datain.data, CAW_BLOCKS * BS);
	else
		fprintf(stderr, "caw_race_client: READ(16) failed\n");
	if (t)
		scsi_free_scsi_task(t);
	return ok;
}

static int write_range(struct iscsi_context *iscsi, int lun, uint8_t *data)
{
	struct scsi_task *t =
	    iscsi_write16_sync(iscsi, lun, BASE_LBA, data, CAW_BLOCKS * BS, BS, 0, 0, 0, 0, 0);
	int ok = t && t->status == SCSI_STATUS_GOOD;
	if (!ok)
		fprintf(stderr, "caw_race_client: WRITE(16) of X failed\n");
	if (t)
		scsi_free_scsi_task(t);
	return ok;
}

/* Bytes of the range as a serial order would leave them: base, with the
 * blocks [off, off+n) from overlay (n 0: none). */
static int range_is(const uint8_t *got, const uint8_t *base, const uint8_t *overlay, unsigned off,
		    unsigned n)
{
	if (memcmp(got, base, off * BS) != 0)
		return 0;
	if (n && memcmp(got + off * BS, overlay, n * BS) != 0)
		return 0;
	return memcmp(got + (off + n) * BS, base + (off + n) * BS, (CAW_BLOCKS - off - n) * BS) ==
	       0;
}

static int round_write(struct iscsi_context **ctx, int lun, uint32_t tag, struct tally *tl)
{
	static uint8_t x[CAW_BLOCKS * BS], caw[2 * CAW_BLOCKS * BS], z[WRITE_BLOCKS * BS],
	    got[CAW_BLOCKS * BS];
	unsigned off = (unsigned)(rand() % (int)(CAW_BLOCKS - WRITE_BLOCKS + 1));
	fill(x, CAW_BLOCKS, tag, 'X');
	memcpy(caw, x, sizeof(x));
	fill(caw + sizeof(x), CAW_BLOCKS, tag, 'Y');
	fill(z, WRITE_BLOCKS, tag, 'Z');
	if (!write_range(ctx[0], lun, x))
		return 0;

	struct pending pa = {0}, pb = {0};
	struct pending *pp[2] = {&pa, &pb};
	if (!iscsi_compareandwrite_task(ctx[0], lun, BASE_LBA, caw, sizeof(caw), BS, 0, 0, 0, 0, 0,
					on_task, &pa) ||
	    !iscsi_write16_task(ctx[1], lun, BASE_LBA + off, z, sizeof(z), BS, 0, 0, 0, 0, 0,
				on_task, &pb)) {
		fprintf(stderr, "caw_race_client: cannot queue the commands\n");
		return 0;
	}
	if (!wait_all(ctx, pp, 2) || !read_range(ctx[0], lun, got))
		return 0;
	tl->rounds++;
	int ok;
	if (pb.status != SCSI_STATUS_GOOD) {
		ok = 0;
	} else if (pa.status == SCSI_STATUS_GOOD) {
		/* CAW first, then the WRITE: Y with Z. */
		ok = range_is(got, caw + sizeof(x), z, off, WRITE_BLOCKS);
		tl->caw_first += ok;
	} else if (is_miscompare(&pa)) {
		/* The WRITE first: X with Z, the CAW compared against that. */
		ok = range_is(got, x, z, off, WRITE_BLOCKS);
		tl->other_first += ok;
	} else {
		ok = 0;
	}
	tl->busy += pa.status == SCSI_STATUS_BUSY || pb.status == SCSI_STATUS_BUSY;
	if (!ok) {
		tl->violations++;
		if (tl->violations <= 5) {
			int all_y = range_is(got, caw + sizeof(x), NULL, 0, 0);
			fprintf(
			    stderr,
			    "caw_race_client: round %u: CAW %s, WRITE %s, blocks %s (Z at +%u)\n",
			    tl->rounds, outcome(&pa), outcome(&pb),
			    all_y ? "all Y: the WRITE was lost" : "not a serial result", off);
		}
	}
	return 1;
}

static int round_caw(struct iscsi_context **ctx, int lun, uint32_t tag, struct tally *tl)
{
	static uint8_t x[CAW_BLOCKS * BS], ca[2 * CAW_BLOCKS * BS], cb[2 * CAW_BLOCKS * BS],
	    got[CAW_BLOCKS * BS];
	fill(x, CAW_BLOCKS, tag, 'X');
	memcpy(ca, x, sizeof(x));
	fill(ca + sizeof(x), CAW_BLOCKS, tag, 'Y');
	memcpy(cb, x, sizeof(x));
	fill(cb + sizeof(x), CAW_BLOCKS, tag, 'W');
	if (!write_range(ctx[0], lun, x))
		return 0;

	struct pending pa = {0}, pb = {0};
	struct pending *pp[2] = {&pa, &pb};
	if (!iscsi_compareandwrite_task(ctx[0], lun, BASE_LBA, ca, sizeof(ca), BS, 0, 0, 0, 0, 0,
					on_task, &pa) ||
	    !iscsi_compareandwrite_task(ctx[1], lun, BASE_LBA, cb, sizeof(cb), BS, 0, 0, 0, 0, 0,
					on_task, &pb)) {
		fprintf(stderr, "caw_race_client: cannot queue the commands\n");
		return 0;
	}
	if (!wait_all(ctx, pp, 2) || !read_range(ctx[0], lun, got))
		return 0;
	tl->rounds++;
	int ok;
	if (pa.status == SCSI_STATUS_GOOD && is_miscompare(&pb)) {
		ok = range_is(got, ca + sizeof(x), NULL, 0, 0);
		tl->caw_first += ok;
	} else if (pb.status == SCSI_STATUS_GOOD && is_miscompare(&pa)) {
		ok = range_is(got, cb + sizeof(x), NULL, 0, 0);
		tl->other_first += ok;
	} else {
		ok = 0;
	}
	tl->busy += pa.status == SCSI_STATUS_BUSY || pb.status == SCSI_STATUS_BUSY;
	if (!ok) {
		tl->violations++;
		if (tl->violations <= 5)
			fprintf(stderr, "caw_race_client: round %u: CAW A %s, CAW B %s\n",
				tl->rounds, outcome(&pa), outcome(&pb));
	}
	return 1;
}

/* WRITE ATOMIC(16) of Y against a READ(16) of the same range. */
static int round_atomic(struct iscsi_context **ctx, int lun, uint32_t tag, struct tally *tl)
{
	static uint8_t x[CAW_BLOCKS * BS], y[CAW_BLOCKS * BS], got[CAW_BLOCKS * BS];
	fill(x, CAW_BLOCKS, tag, 'X');
	fill(y, CAW_BLOCKS, tag, 'Y');
	if (!write_range(ctx[0], lun, x))
		return 0;

	struct pending pa = {0}, pb = {.data = got};
	struct pending *pp[2] = {&pa, &pb};
	if (!iscsi_writeatomic16_task(ctx[0], lun, BASE_LBA, y, sizeof(y), BS, 0, 0, 0, 0, on_task,
				      &pa) ||
	    !iscsi_read16_task(ctx[1], lun, BASE_LBA, sizeof(got), BS, 0, 0, 0, 0, 0, on_task,
			       &pb)) {
		fprintf(stderr, "caw_race_client: cannot queue the commands\n");
		return 0;
	}
	if (!wait_all(ctx, pp, 2))
		return 0;
	tl->rounds++;
	int ok = pa.status == SCSI_STATUS_GOOD && pb.status == SCSI_STATUS_GOOD;
	if (ok && range_is(got, y, NULL, 0, 0))
		tl->caw_first++;
	else if (ok && range_is(got, x, NULL, 0, 0))
		tl->other_first++;
	else
		ok = 0;
	if (!ok) {
		tl->violations++;
		if (tl->violations <= 5)
			fprintf(stderr, "caw_race_client: round %u: WRITE ATOMIC %s, READ %s, %s\n",
				tl->rounds, outcome(&pa), outcome(&pb),
				pb.status == SCSI_STATUS_GOOD ? "a mix of X and Y read" : "");
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 5 ||
	    (strcmp(argv[2], "write") && strcmp(argv[2], "caw") && strcmp(argv[2], "atomic"))) {
		fprintf(stderr, "usage: caw_race_client URL write|caw|atomic ROUNDS SECONDS\n");
		return 2;
	}
	int caw_mode = strcmp(argv[2], "caw") == 0;
	int atomic_mode = strcmp(argv[2], "atomic") == 0;
	unsigned rounds = (unsigned)strtoul(argv[3], NULL, 10);
	double seconds = strtod(argv[4], NULL);
	int lun;
	struct iscsi_context *ctx[2];
	ctx[0] = login(INITIATOR_A, argv[1], &lun);
	ctx[1] = ctx[0] ? login(INITIATOR_B, argv[1], &lun) : NULL;
	if (!ctx[0] || !ctx[1]) {
		if (ctx[0])
			iscsi_destroy_context(ctx[0]);
		return 2;
	}
	srand((unsigned)time(NULL));
	struct tally tl = {0};
	double deadline = now_s() + seconds;
	int ok = 1;
	for (unsigned i = 0; i < rounds && now_s() < deadline; i++) {
		uint32_t tag = (uint32_t)i * 2654435761u + 1;
		int r = atomic_mode ? round_atomic(ctx, lun, tag, &tl)
			: caw_mode  ? round_caw(ctx, lun, tag, &tl)
				    : round_write(ctx, lun, tag, &tl);
		if (!r) {
			ok = 0;
			break;
		}
	}
	printf("caw_race_client %s: %u rounds, %u CAW-first (A-first), %u other-first, %u BUSY, "
	       "%u violations\n",
	       argv[2], tl.rounds, tl.caw_first, tl.other_first, tl.busy, tl.violations);
	for (int i = 0; i < 2; i++) {
		iscsi_logout_sync(ctx[i]);
		iscsi_destroy_context(ctx[i]);
	}
	if (!ok)
		return 2;
	return tl.violations || !tl.rounds ? 1 : 0;
}
