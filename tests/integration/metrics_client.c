/*
 * A known amount of I/O on one session, for tests/integration/metrics.sh
 * (built only when libiscsi-dev is there):
 *
 *   metrics_client URL NWRITES WBLOCKS NREADS RBLOCKS COMMAND
 *
 * Logs in to URL (iscsi://HOST:PORT/IQN/LUN) without any command of
 * libiscsi's own, then sends exactly, on that one session:
 *   TEST UNIT READY          -> CHECK CONDITION, UNIT ATTENTION (power on)
 *   NWRITES x WRITE(10) of WBLOCKS 512-byte blocks, LBA 0, WBLOCKS, ...
 *   NREADS x READ(10) of RBLOCKS blocks from LBA 0 on (the data written
 *                               is checked where the ranges overlap)
 *   READ(10) of 1 block past the end (READ CAPACITY(10) first tells where)
 *                            -> CHECK CONDITION, ILLEGAL REQUEST
 * then runs COMMAND (system(3), e.g. a scrape of /metrics) while still
 * logged in, and logs out.  Every status other than the expected one fails.
 * Exit 0 if all of it holds, 1 otherwise; says why on stderr.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define INITIATOR "iqn.2026-11.org.uscst:metrics-client"
#define BLOCK 512

static int failed(const char *what, struct iscsi_context *iscsi)
{
	fprintf(stderr, "metrics_client: %s%s%s\n", what, iscsi ? ": " : "",
		iscsi ? iscsi_get_error(iscsi) : "");
	return 0;
}

/* The task's status and sense key are what is wanted; frees it. */
static int expect(struct iscsi_context *iscsi, struct scsi_task *t, const char *what, int status,
		  int key)
{
	if (!t)
		return failed(what, iscsi);
	int ok = t->status == status &&
		 (status != SCSI_STATUS_CHECK_CONDITION || (int)t->sense.key == key);
	if (!ok)
		fprintf(stderr,
			"metrics_client: %s: status 0x%02x sense key 0x%x, want 0x%02x key 0x%x\n",
			what, (unsigned)t->status, (unsigned)t->sense.key, (unsigned)status,
			(unsigned)key);
	scsi_free_scsi_task(t);
	return ok;
}

static uint8_t pattern(uint64_t byte) { return (uint8_t)(byte * 7 + 3); }

static int io(struct iscsi_context *iscsi, int lun, unsigned nwrites, unsigned wblocks,
	      unsigned nreads, unsigned rblocks)
{
	uint64_t written = (uint64_t)nwrites * wblocks * BLOCK;
	size_t wlen = (size_t)wblocks * BLOCK, rlen = (size_t)rblocks * BLOCK;
	uint8_t *buf = malloc(wlen > rlen ? wlen : rlen);
	if (!buf)
		return failed("out of memory", NULL);
	int ok = 1;
	for (unsigned i = 0; ok && i < nwrites; i++) {
		uint64_t off = (uint64_t)i * wlen;
		for (size_t b = 0; b < wlen; b++)
			buf[b] = pattern(off + b);
		ok = expect(iscsi,
			    iscsi_write10_sync(iscsi, lun, (uint32_t)(off / BLOCK), buf,
					       (uint32_t)wlen, BLOCK, 0, 0, 0, 0, 0),
			    "WRITE(10)", SCSI_STATUS_GOOD, 0);
	}
	for (unsigned i = 0; ok && i < nreads; i++) {
		uint64_t off = (uint64_t)i * rlen;
		struct scsi_task *t = iscsi_read10_sync(iscsi, lun, (uint32_t)(off / BLOCK),
							(uint32_t)rlen, BLOCK, 0, 0, 0, 0, 0);
		if (t && t->status == SCSI_STATUS_GOOD) {
			if (t->datain.size != (int)rlen) {
				fprintf(stderr,
					"metrics_client: READ(10) gave %d bytes, want %zu\n",
					t->datain.size, rlen);
				ok = 0;
			}
			for (size_t b = 0; ok && b < rlen && off + b < written; b++)
				if (t->datain.data[b] != pattern(off + b)) {
					fprintf(stderr,
						"metrics_client: data differs at byte %llu\n",
						(unsigned long long)(off + b));
					ok = 0;
				}
		}
		ok = expect(iscsi, t, "READ(10)", SCSI_STATUS_GOOD, 0) && ok;
	}
	free(buf);
	return ok;
}

/* READ CAPACITY(10), then one block past the last: ILLEGAL REQUEST. */
static int read_past_end(struct iscsi_context *iscsi, int lun)
{
	struct scsi_task *t = iscsi_readcapacity10_sync(iscsi, lun, 0, 0);
	struct scsi_readcapacity10 *rc = NULL;
	if (t && t->status == SCSI_STATUS_GOOD)
		rc = scsi_datain_unmarshall(t);
	if (!rc) {
		if (t)
			scsi_free_scsi_task(t);
		return failed("READ CAPACITY(10)", iscsi);
	}
	uint32_t past = rc->lba + 1;
	scsi_free_scsi_task(t);
	return expect(iscsi, iscsi_read10_sync(iscsi, lun, past, BLOCK, BLOCK, 0, 0, 0, 0, 0),
		      "READ(10) past the end", SCSI_STATUS_CHECK_CONDITION,
		      SCSI_SENSE_ILLEGAL_REQUEST);
}

static int run_command(const char *cmd)
{
	fflush(stdout);
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "metrics_client: '%s' failed (status %d)\n", cmd, st);
		return 0;
	}
	return 1;
}

static unsigned number(const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 65535) {
		fprintf(stderr, "metrics_client: bad number '%s'\n", s);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr,
			"usage: metrics_client URL NWRITES WBLOCKS NREADS RBLOCKS COMMAND\n");
		return 2;
	}
	unsigned nwrites = number(argv[2]), wblocks = number(argv[3]);
	unsigned nreads = number(argv[4]), rblocks = number(argv[5]);
	struct iscsi_context *iscsi = iscsi_create_context(INITIATOR);
	if (!iscsi) {
		fprintf(stderr, "metrics_client: cannot create an iSCSI context\n");
		return 1;
	}
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, argv[1]);
	if (!url) {
		failed("bad URL", iscsi);
		iscsi_destroy_context(iscsi);
		return 2;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	int ok = 0;
	/* connect + login, not iscsi_full_connect_sync: that one may send
	 * commands of its own, and this client must know each one. */
	if (iscsi_connect_sync(iscsi, url->portal) != 0)
		failed("connect", iscsi);
	else if (iscsi_login_sync(iscsi) != 0)
		failed("login", iscsi);
	else
		ok = expect(iscsi, iscsi_testunitready_sync(iscsi, url->lun), "TEST UNIT READY",
			    SCSI_STATUS_CHECK_CONDITION, SCSI_SENSE_UNIT_ATTENTION) &&
		     io(iscsi, url->lun, nwrites, wblocks, nreads, rblocks) &&
		     read_past_end(iscsi, url->lun) && run_command(argv[6]);
	if (ok && iscsi_logout_sync(iscsi) != 0)
		ok = failed("logout", iscsi);
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	return ok ? 0 : 1;
}
