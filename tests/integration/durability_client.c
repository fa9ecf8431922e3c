/*
 * Write load and verify pass for tests/integration/durability.sh (built only
 * when libiscsi-dev is there):
 *
 *   durability_client load URL JOURNAL SECONDS FIRST_LBA NBLOCKS SEED
 *   durability_client verify URL JOURNAL [--wrong-pattern]
 *
 * load: one command at a time, for at most SECONDS, on the blocks
 * [FIRST_LBA, FIRST_LBA + NBLOCKS) of the LUN in URL (several clients may
 * share a LUN on disjoint ranges): WRITE(10)/WRITE(16) with FUA, plain
 * WRITE(10)/WRITE(16) later covered by SYNCHRONIZE CACHE(10)/(16), WRITE
 * SAME(10)/(16) of a zero block (UNMAP=0 and UNMAP=1) and UNMAP.  Every
 * block written carries (tag, seq, lba) and a fill derived from them, so a
 * block read back tells which operation wrote it.  The journal gets
 *   H tag block_size first_lba nblocks wce
 *   I seq W|Z lba n        before the command is sent (W: data, Z: zeros)
 *   D seq                  when it is acknowledged durable: GOOD for a FUA
 *                          write or on a LUN with WCE=0, else GOOD for a
 *                          later SYNCHRONIZE CACHE; fdatasync()ed then
 *   E reason               at the end
 * It stops when the connection is lost (the target was killed): exit 0;
 * when SECONDS pass first: exit 3; on an unexpected status: exit 1.
 *
 * verify: reads the whole range back and checks each block against the
 * journal.  With D the newest durable operation that covered the block:
 * it must hold D's data (or zeros if D zeroed it), or the data / zeros of
 * an operation sent after D (it may or may not have happened); a block no
 * durable operation covered may also read as zeros (the file starts
 * sparse).  Anything else is a lost acknowledged write or corruption: exit
 * 1.  --wrong-pattern checks against a wrong fill, so every written block
 * must fail (shows the verify can fail).
 *
 * One command is outstanding at a time, so sequence numbers are also the
 * order in which the target completed the commands.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define INITIATOR "iqn.2026-11.org.uscst:durability-client"
#define MAGIC "uscstDUR"
#define HDR_BYTES 32
#define MAX_WRITE_BLOCKS 64
#define MAX_ZERO_BLOCKS 48
#define READ_CHUNK 256 /* blocks per READ(16) in the verify pass */
#define MAX_CLEAR_TURS 8
#define MAX_REPORTED 20

static const char *prog = "durability_client";

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- block contents ---- */

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void fill_block(uint8_t *b, uint32_t bs, uint64_t tag, uint64_t seq, uint64_t lba)
{
	memcpy(b, MAGIC, 8);
	put64(b + 8, tag);
	put64(b + 16, seq);
	put64(b + 24, lba);
	uint64_t s = (seq * 0x9e3779b97f4a7c15ull) ^ lba ^ (tag << 1) ^ 0x5bd1e995ull;
	if (!s)
		s = 1;
	for (uint32_t i = HDR_BYTES; i < bs; i += 8)
		put64(b + i, xorshift(&s));
}

static bool all_zero(const uint8_t *b, uint32_t bs)
{
	for (uint32_t i = 0; i < bs; i++)
		if (b[i])
			return false;
	return true;
}

/* ---- journal ---- */

static int jfd = -1;

static void jsync(void)
{
	if (fdatasync(jfd) < 0) {
		say("journal fdatasync: %s", strerror(errno));
		exit(1);
	}
}

static void jwrite(bool sync, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jwrite(bool sync, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) || write(jfd, line, (size_t)n) != n) {
		say("journal write: %s", strerror(errno));
		exit(1);
	}
	if (sync)
		jsync();
}

/* ---- session ---- */

static struct iscsi_context *connect_lun(const char *url_text, int *lun)
{
	struct iscsi_context *iscsi = iscsi_create_context(INITIATOR);
	if (!iscsi) {
		say("cannot create an iSCSI context");
		return NULL;
	}
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_text);
	if (!url) {
		say("bad URL '%s': %s", url_text, iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	/* A killed target must end the load, not start reconnect attempts. */
	iscsi_set_noautoreconnect(iscsi, 1);
	iscsi_set_timeout(iscsi, 10);
	*lun = url->lun;
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0) {
		say("login to %s: %s", url_text, iscsi_get_error(iscsi));
		iscsi_destroy_url(url);
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_destroy_url(url);
	for (int i = 0; i < MAX_CLEAR_TURS; i++) {
		struct scsi_task *t = iscsi_testunitready_sync(iscsi, *lun);
		int st = t ? t->status : -1;
		if (t)
			scsi_free_scsi_task(t);
		if (st == SCSI_STATUS_GOOD)
			return iscsi;
	}
	say("TEST UNIT READY never returned GOOD");
	iscsi_destroy_context(iscsi);
	return NULL;
}

struct lun_info {
	uint32_t bs;
	uint64_t nblocks;
	bool thin;
	bool wce;
};

static int lun_info(struct iscsi_context *iscsi, int lun, struct lun_info *li)
{
	struct scsi_task *t = iscsi_readcapacity16_sync(iscsi, lun);
	struct scsi_readcapacity16 *rc =
	    t && t->status == SCSI_STATUS_GOOD ? scsi_datain_unmarshall(t) : NULL;
	if (!rc) {
		say("READ CAPACITY(16) failed: %s", iscsi_get_error(iscsi));
		if (t)
			scsi_free_scsi_task(t);
		return -1;
	}
	li->bs = rc->block_length;
	li->nblocks = rc->returned_lba + 1;
	li->thin = rc->lbpme;
	scsi_free_scsi_task(t);
	if (li->bs < 512 || li->bs > 65536 || li->bs % 8) {
		say("odd block size %u", li->bs);
		return -1;
	}
	/* WCE from the caching mode page (without block descriptors). */
	t = iscsi_modesense6_sync(iscsi, lun, 1, SCSI_MODESENSE_PC_CURRENT, SCSI_MODEPAGE_CACHING,
				  0, 255);
	if (!t || t->status != SCSI_STATUS_GOOD || t->datain.size < 4) {
		say("MODE SENSE(6) caching page failed: %s", iscsi_get_error(iscsi));
		if (t)
			scsi_free_scsi_task(t);
		return -1;
	}
	const uint8_t *d = t->datain.data;
	int off = 4 + d[3];
	if (t->datain.size < off + 3 || (d[off] & 0x3f) != SCSI_MODEPAGE_CACHING) {
		say("MODE SENSE(6): no caching page");
		scsi_free_scsi_task(t);
		return -1;
	}
	li->wce = d[off + 2] & 0x04;
	scsi_free_scsi_task(t);
	return 0;
}

/* ---- load ---- */

enum result { R_GOOD, R_REFUSED, R_LOST, R_FAILED };

/* GOOD, ILLEGAL REQUEST (the LUN does not do this; the op is dropped from
 * the mix), the connection gone, or anything else. */
static enum result classify(struct iscsi_context *iscsi, struct scsi_task *t, const char *what)
{
	enum result r;
	if (!t) {
		r = R_LOST;
	} else if (t->status == SCSI_STATUS_GOOD) {
		r = R_GOOD;
	} else if (t->status == SCSI_STATUS_CHECK_CONDITION) {
		r = t->sense.key == SCSI_SENSE_ILLEGAL_REQUEST ? R_REFUSED : R_FAILED;
		if (r == R_FAILED)
			say("%s: sense key 0x%x ASC/ASCQ %04xh", what, (unsigned)t->sense.key,
			    (unsigned)t->sense.ascq);
	} else if (t->status == SCSI_STATUS_ERROR || t->status == SCSI_STATUS_CANCELLED ||
		   t->status == SCSI_STATUS_TIMEOUT) {
		r = R_LOST;
	} else {
		say("%s: status 0x%x", what, (unsigned)t->status);
		r = R_FAILED;
	}
	if (r == R_LOST)
		say("%s: connection lost: %s", what, iscsi_get_error(iscsi));
	if (t)
		scsi_free_scsi_task(t);
	return r;
}

enum op {
	OP_W10_FUA,
	OP_W16_FUA,
	OP_W10,
	OP_W16,
	OP_SYNC10,
	OP_SYNC16,
	OP_WS10_ZERO,
	OP_WS16_ZERO,
	OP_WS16_UNMAP,
	OP_WS10_UNMAP,
	OP_UNMAP,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "WRITE(10) FUA",
    "WRITE(16) FUA",
    "WRITE(10)",
    "WRITE(16)",
    "SYNCHRONIZE CACHE(10)",
    "SYNCHRONIZE CACHE(16)",
    "WRITE SAME(10) zeros",
    "WRITE SAME(16) zeros",
    "WRITE SAME(16) UNMAP",
    "WRITE SAME(10) UNMAP",
    "UNMAP",
};

/* Relative weights of the operations in the mix. */
static const unsigned op_weight[OP_COUNT] = {14, 12, 16, 14, 6, 6, 7, 7, 6, 4, 8};

struct load {
	struct iscsi_context *iscsi;
	int lun;
	struct lun_info li;
	uint64_t tag, first, count;
	uint64_t seq;
	uint64_t *pending; /* GOOD but not durable yet (WCE=1, no FUA) */
	size_t npending, cap;
	uint64_t durable, issued;
	unsigned long by_op[OP_COUNT];
	bool disabled[OP_COUNT];
	uint8_t *buf, *zero;
	unsigned rng;
};

static unsigned rnd(struct load *l, unsigned n) { return (unsigned)rand_r(&l->rng) % n; }

static enum op pick_op(struct load *l)
{
	unsigned total = 0;
	for (int i = 0; i < OP_COUNT; i++)
		total += l->disabled[i] ? 0 : op_weight[i];
	unsigned r = rnd(l, total);
	for (int i = 0; i < OP_COUNT; i++) {
		if (l->disabled[i])
			continue;
		if (r < op_weight[i])
			return (enum op)i;
		r -= op_weight[i];
	}
	return OP_W10_FUA;
}

static void add_pending(struct load *l, uint64_t seq)
{
	if (l->npending == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->pending = realloc(l->pending, l->cap * sizeof(*l->pending));
		if (!l->pending) {
			say("out of memory");
			exit(1);
		}
	}
	l->pending[l->npending++] = seq;
}

/* A range inside this client's blocks. */
static void pick_range(struct load *l, unsigned max, uint64_t *lba, uint32_t *n)
{
	*lba = l->first + (uint64_t)rnd(l, (unsigned)l->count);
	uint64_t left = l->first + l->count - *lba;
	*n = 1 + rnd(l, max);
	if (*n > left)
		*n = (uint32_t)left;
}

/* Sends one operation; seqs[] get the journal sequence numbers it covers. */
static enum result run_op(struct load *l, enum op op, uint64_t *seqs, unsigned *nseqs)
{
	uint32_t bs = l->li.bs, n;
	uint64_t lba;
	struct scsi_task *t = NULL;
	*nseqs = 0;
	switch (op) {
	case OP_W10_FUA:
	case OP_W16_FUA:
	case OP_W10:
	case OP_W16: {
		pick_range(l, MAX_WRITE_BLOCKS, &lba, &n);
		uint64_t seq = ++l->seq;
		for (uint32_t i = 0; i < n; i++)
			fill_block(l->buf + (size_t)i * bs, bs, l->tag, seq, lba + i);
		jwrite(false, "I %" PRIu64 " W %" PRIu64 " %u\n", seq, lba, n);
		seqs[(*nseqs)++] = seq;
		int fua = op == OP_W10_FUA || op == OP_W16_FUA;
		if (op == OP_W10_FUA || op == OP_W10)
			t = iscsi_write10_sync(l->iscsi, l->lun, (uint32_t)lba, l->buf, n * bs, bs,
					       0, 0, fua, 0, 0);
		else
			t = iscsi_write16_sync(l->iscsi, l->lun, lba, l->buf, n * bs, bs, 0, 0, fua,
					       0, 0);
		break;
	}
	case OP_SYNC10:
		t = iscsi_synchronizecache10_sync(l->iscsi, l->lun, 0, 0, 0, 0);
		break;
	case OP_SYNC16:
		t = iscsi_synchronizecache16_sync(l->iscsi, l->lun, 0, 0, 0, 0);
		break;
	case OP_WS10_ZERO:
	case OP_WS16_ZERO:
	case OP_WS16_UNMAP:
	case OP_WS10_UNMAP: {
		pick_range(l, MAX_ZERO_BLOCKS, &lba, &n);
		uint64_t seq = ++l->seq;
		jwrite(false, "I %" PRIu64 " Z %" PRIu64 " %u\n", seq, lba, n);
		seqs[(*nseqs)++] = seq;
		int unmap = op == OP_WS16_UNMAP || op == OP_WS10_UNMAP;
		if (op == OP_WS10_ZERO || op == OP_WS10_UNMAP)
			t = iscsi_writesame10_sync(l->iscsi, l->lun, (uint32_t)lba, l->zero, bs,
						   (uint16_t)n, 0, unmap, 0, 0);
		else
			t = iscsi_writesame16_sync(l->iscsi, l->lun, lba, l->zero, bs, n, 0, unmap,
						   0, 0);
		break;
	}
	case OP_UNMAP: {
		struct unmap_list list[2];
		int nd = 1 + (int)rnd(l, 2);
		for (int i = 0; i < nd; i++) {
			pick_range(l, MAX_ZERO_BLOCKS, &lba, &n);
			list[i].lba = lba;
			list[i].num = n;
			uint64_t seq = ++l->seq;
			jwrite(false, "I %" PRIu64 " Z %" PRIu64 " %u\n", seq, lba, n);
			seqs[(*nseqs)++] = seq;
		}
		t = iscsi_unmap_sync(l->iscsi, l->lun, 0, 0, list, nd);
		break;
	}
	default:
		return R_FAILED;
	}
	return classify(l->iscsi, t, op_names[op]);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int do_load(int argc, char **argv)
{
	if (argc != 8) {
		say("usage: load URL JOURNAL SECONDS FIRST_LBA NBLOCKS SEED");
		return 2;
	}
	struct load l = {0};
	double seconds = atof(argv[4]);
	l.first = strtoull(argv[5], NULL, 0);
	l.count = strtoull(argv[6], NULL, 0);
	l.rng = (unsigned)strtoul(argv[7], NULL, 0);
	l.tag = ((uint64_t)l.rng << 32) ^ (uint64_t)getpid() ^ (uint64_t)time(NULL);
	if (seconds <= 0 || !l.count || l.count > (1u << 30)) {
		say("bad SECONDS or NBLOCKS");
		return 2;
	}
	jfd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (jfd < 0) {
		say("%s: %s", argv[3], strerror(errno));
		return 1;
	}
	l.iscsi = connect_lun(argv[2], &l.lun);
	if (!l.iscsi || lun_info(l.iscsi, l.lun, &l.li) < 0)
		return 1;
	if (l.first + l.count > l.li.nblocks || l.first + l.count > UINT32_MAX) {
		say("range %" PRIu64 "+%" PRIu64 " is outside the LUN (%" PRIu64 " blocks)",
		    l.first, l.count, l.li.nblocks);
		return 1;
	}
	if (!l.li.thin)
		l.disabled[OP_UNMAP] = true; /* UNMAP needs LBPME */
	l.buf = malloc((size_t)MAX_WRITE_BLOCKS * l.li.bs);
	l.zero = calloc(1, l.li.bs);
	if (!l.buf || !l.zero) {
		say("out of memory");
		return 1;
	}
	jwrite(true, "H %" PRIu64 " %u %" PRIu64 " %" PRIu64 " %d\n", l.tag, l.li.bs, l.first,
	       l.count, l.li.wce);
	printf("load: lun %d, %" PRIu64 " blocks of %u, WCE=%d, thin=%d, range %" PRIu64 "+%" PRIu64
	       "\n",
	       l.lun, l.li.nblocks, l.li.bs, l.li.wce, l.li.thin, l.first, l.count);
	fflush(stdout);

	double deadline = now() + seconds;
	enum result r = R_GOOD;
	uint64_t seqs[2];
	unsigned nseqs;
	while (now() < deadline) {
		enum op op = pick_op(&l);
		r = run_op(&l, op, seqs, &nseqs);
		l.issued++;
		if (r == R_LOST || r == R_FAILED)
			break;
		if (r == R_REFUSED) {
			/* Not supported here (e.g. no thin provisioning): the
			 * command changed nothing; drop it from the mix. */
			if (op == OP_W10_FUA || op == OP_W16_FUA || op == OP_W10 || op == OP_W16 ||
			    op == OP_SYNC10 || op == OP_SYNC16) {
				say("%s refused with ILLEGAL REQUEST", op_names[op]);
				r = R_FAILED;
				break;
			}
			printf("load: %s refused, left out\n", op_names[op]);
			l.disabled[op] = true;
			continue;
		}
		l.by_op[op]++;
		if (op == OP_SYNC10 || op == OP_SYNC16) {
			for (size_t i = 0; i < l.npending; i++)
				jwrite(false, "D %" PRIu64 "\n", l.pending[i]);
			if (l.npending)
				jsync();
			l.durable += l.npending;
			l.npending = 0;
			continue;
		}
		bool durable_now = !l.li.wce || op == OP_W10_FUA || op == OP_W16_FUA;
		for (unsigned i = 0; i < nseqs; i++) {
			if (durable_now)
				jwrite(false, "D %" PRIu64 "\n", seqs[i]);
			else
				add_pending(&l, seqs[i]);
		}
		if (durable_now) {
			jsync();
			l.durable += nseqs;
		}
	}
	jwrite(true, "E %s\n", r == R_LOST ? "lost" : r == R_FAILED ? "failed" : "deadline");
	printf("load: %" PRIu64 " commands, %" PRIu64 " journal entries acknowledged durable, "
	       "%zu not yet synced;",
	       l.issued, l.durable, l.npending);
	for (int i = 0; i < OP_COUNT; i++)
		printf(" %s=%lu", op_names[i], l.by_op[i]);
	printf("\nload: end: %s\n", r == R_LOST	    ? "connection lost"
				    : r == R_FAILED ? "failed"
						    : "deadline");
	if (r != R_LOST)
		iscsi_logout_sync(l.iscsi);
	iscsi_destroy_context(l.iscsi);
	free(l.pending);
	free(l.buf);
	free(l.zero);
	close(jfd);
	return r == R_LOST ? 0 : r == R_FAILED ? 1 : 3;
}

/* ---- verify ---- */

struct jop {
	char kind; /* 'W' or 'Z'; 0: no such seq */
	bool durable;
	uint64_t lba;
	uint32_t n;
};

struct journal {
	uint64_t tag, first, count;
	uint32_t bs;
	struct jop *ops; /* indexed by seq */
	uint64_t nops;	 /* highest seq + 1 */
	uint64_t ndurable;
};

static int read_journal(const char *path, struct journal *j)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		say("%s: %s", path, strerror(errno));
		return -1;
	}
	char line[256];
	int lineno = 0, wce;
	size_t cap = 0;
	memset(j, 0, sizeof(*j));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		uint64_t seq, lba;
		uint32_t n;
		char kind;
		if (lineno == 1) {
			if (sscanf(line, "H %" SCNu64 " %u %" SCNu64 " %" SCNu64 " %d", &j->tag,
				   &j->bs, &j->first, &j->count, &wce) != 5)
				goto bad;
			continue;
		}
		if (sscanf(line, "I %" SCNu64 " %c %" SCNu64 " %u", &seq, &kind, &lba, &n) == 4) {
			if ((kind != 'W' && kind != 'Z') || seq != (j->nops ? j->nops : 1) ||
			    lba < j->first || lba + n > j->first + j->count)
				goto bad;
			if (seq >= cap) {
				cap = cap ? cap * 2 : 1024;
				j->ops = realloc(j->ops, cap * sizeof(*j->ops));
				if (!j->ops)
					goto bad;
			}
			if (!j->nops)
				j->ops[0] = (struct jop){0};
			j->ops[seq] = (struct jop){.kind = kind, .lba = lba, .n = n};
			j->nops = seq + 1;
		} else if (sscanf(line, "D %" SCNu64, &seq) == 1) {
			if (seq == 0 || seq >= j->nops || j->ops[seq].durable)
				goto bad;
			j->ops[seq].durable = true;
			j->ndurable++;
		} else if (line[0] != 'E') {
			goto bad;
		}
	}
	fclose(f);
	if (lineno == 0) {
		say("%s: empty journal", path);
		return -1;
	}
	return 0;
bad:
	say("%s:%d: bad journal line: %s", path, lineno, line);
	fclose(f);
	return -1;
}

static int do_verify(int argc, char **argv)
{
	if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "--wrong-pattern"))) {
		say("usage: verify URL JOURNAL [--wrong-pattern]");
		return 2;
	}
	bool wrong = argc == 5;
	struct journal j;
	if (read_journal(argv[3], &j) < 0)
		return 1;
	/* Per block: the newest durable op, and the newest zeroing op sent. */
	uint64_t *dur = calloc(j.count, sizeof(*dur)), *zmax = calloc(j.count, sizeof(*zmax));
	if (!dur || !zmax) {
		say("out of memory");
		return 1;
	}
	uint64_t covered = 0;
	for (uint64_t s = 1; s < j.nops; s++) {
		const struct jop *o = &j.ops[s];
		for (uint32_t i = 0; i < o->n; i++) {
			uint64_t b = o->lba - j.first + i;
			if (o->durable)
				dur[b] = s; /* s grows: the last one wins */
			if (o->kind == 'Z')
				zmax[b] = s;
		}
	}
	for (uint64_t b = 0; b < j.count; b++)
		covered += dur[b] != 0;

	int lun;
	struct lun_info li;
	struct iscsi_context *iscsi = connect_lun(argv[2], &lun);
	if (!iscsi || lun_info(iscsi, lun, &li) < 0)
		return 1;
	if (li.bs != j.bs) {
		say("block size is %u now, %u in the journal", li.bs, j.bs);
		return 1;
	}
	uint8_t *want = malloc(j.bs);
	if (!want) {
		say("out of memory");
		return 1;
	}
	uint64_t bad = 0, exact = 0, newer = 0, zeros = 0;
	for (uint64_t b0 = 0; b0 < j.count; b0 += READ_CHUNK) {
		uint32_t n = (uint32_t)(j.count - b0 < READ_CHUNK ? j.count - b0 : READ_CHUNK);
		struct scsi_task *t =
		    iscsi_read16_sync(iscsi, lun, j.first + b0, n * j.bs, j.bs, 0, 0, 0, 0, 0);
		if (!t || t->status != SCSI_STATUS_GOOD || t->datain.size != (int)(n * j.bs)) {
			say("READ(16) at %" PRIu64 " failed: %s", j.first + b0,
			    iscsi_get_error(iscsi));
			return 1;
		}
		for (uint32_t i = 0; i < n; i++) {
			uint64_t b = b0 + i, lba = j.first + b;
			const uint8_t *got = t->datain.data + (size_t)i * j.bs;
			uint64_t d = dur[b];
			const char *why = NULL;
			uint64_t s = 0;
			if (all_zero(got, j.bs)) {
				if (d == 0 || j.ops[d].kind == 'Z' || zmax[b] > d)
					zeros++;
				else
					why = "reads as zeros";
			} else if (memcmp(got, MAGIC, 8) != 0 || get64(got + 8) != j.tag ||
				   get64(got + 24) != lba) {
				why = "foreign or corrupt content";
			} else {
				s = get64(got + 16);
				const struct jop *o = s < j.nops ? &j.ops[s] : NULL;
				fill_block(want, j.bs, j.tag, wrong ? s ^ 1 : s, lba);
				if (wrong)
					memcpy(want + 16, got + 16, 8);
				if (!o || o->kind != 'W' || lba < o->lba || lba >= o->lba + o->n)
					why = "written by no journalled write";
				else if (memcmp(got, want, j.bs) != 0)
					why = "content differs from the pattern";
				else if (s < d)
					why = "older than an acknowledged durable operation";
				else if (s == d)
					exact++;
				else
					newer++;
			}
			if (why) {
				if (++bad <= MAX_REPORTED)
					printf("verify: LBA %" PRIu64 ": %s (holds seq %" PRIu64
					       "; newest durable op seq %" PRIu64 " %c)\n",
					       lba, why, s, d, d ? j.ops[d].kind : '-');
			}
		}
		scsi_free_scsi_task(t);
	}
	printf("verify: lun %d: %" PRIu64 " blocks read, %" PRIu64 " covered by %" PRIu64
	       " acknowledged durable journal entries; %" PRIu64 " hold the durable data, %" PRIu64
	       " newer data, %" PRIu64 " zeros; %" PRIu64 " bad\n",
	       lun, j.count, covered, j.ndurable, exact, newer, zeros, bad);
	iscsi_logout_sync(iscsi);
	iscsi_destroy_context(iscsi);
	free(dur);
	free(zmax);
	free(want);
	free(j.ops);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "load"))
		return do_load(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "verify"))
		return do_verify(argc, argv);
	fprintf(stderr,
		"usage: %s load URL JOURNAL SECONDS FIRST_LBA NBLOCKS SEED\n"
		"       %s verify URL JOURNAL [--wrong-pattern]\n",
		prog, prog);
	return 2;
}
