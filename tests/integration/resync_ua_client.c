/*
 * One persistent iSCSI session across a resync_size, for
 * tests/integration/resync-size.sh (built only when libiscsi-dev is there):
 *
 *   resync_ua_client URL BLOCKS_AFTER COMMAND
 *
 * Logs in to URL (iscsi://HOST:PORT/IQN/LUN), clears the power-on unit
 * attention with TEST UNIT READY, runs COMMAND (system(3); it grows the file
 * and calls uscstadmin ... resync_size), then expects on the same session:
 * TEST UNIT READY -> CHECK CONDITION, UNIT ATTENTION, CAPACITY DATA HAS
 * CHANGED (2Ah/09h); the next TEST UNIT READY -> GOOD; READ CAPACITY(16) ->
 * BLOCKS_AFTER blocks.  Had the session been dropped, libiscsi would have
 * logged in again and the first UA would be the power-on one, not 2Ah/09h.
 * Exit 0 if all of it holds, 1 otherwise; says why on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define INITIATOR "iqn.2026-11.org.uscst:resync-ua-client"
/* Enough for the power-on UA and anything else queued at login. */
#define MAX_CLEAR_TURS 8

static int failed(const char *what, struct iscsi_context *iscsi)
{
	fprintf(stderr, "resync_ua_client: %s%s%s\n", what, iscsi ? ": " : "",
		iscsi ? iscsi_get_error(iscsi) : "");
	return 0;
}

/* TEST UNIT READY; the task (caller frees) or NULL on a transport error. */
static struct scsi_task *tur(struct iscsi_context *iscsi, int lun)
{
	struct scsi_task *t = iscsi_testunitready_sync(iscsi, lun);
	if (!t)
		failed("TEST UNIT READY", iscsi);
	return t;
}

static int clear_uas(struct iscsi_context *iscsi, int lun)
{
	for (int i = 0; i < MAX_CLEAR_TURS; i++) {
		struct scsi_task *t = tur(iscsi, lun);
		if (!t)
			return 0;
		int status = t->status;
		scsi_free_scsi_task(t);
		if (status == SCSI_STATUS_GOOD)
			return 1;
	}
	return failed("TEST UNIT READY never returned GOOD", NULL);
}

static int expect_capacity_ua(struct iscsi_context *iscsi, int lun)
{
	struct scsi_task *t = tur(iscsi, lun);
	if (!t)
		return 0;
	int ok = t->status == SCSI_STATUS_CHECK_CONDITION &&
		 t->sense.key == SCSI_SENSE_UNIT_ATTENTION &&
		 t->sense.ascq == SCSI_SENSE_ASCQ_CAPACITY_DATA_HAS_CHANGED;
	if (ok)
		printf("TEST UNIT READY: UNIT ATTENTION 2Ah/09h (capacity data has changed)\n");
	else
		fprintf(stderr,
			"resync_ua_client: TEST UNIT READY after resync: status 0x%02x sense "
			"key 0x%x ASC/ASCQ %04xh, want CHECK CONDITION UNIT ATTENTION 2A09h\n",
			(unsigned)t->status, (unsigned)t->sense.key, (unsigned)t->sense.ascq);
	scsi_free_scsi_task(t);
	return ok;
}

static int expect_good(struct iscsi_context *iscsi, int lun)
{
	struct scsi_task *t = tur(iscsi, lun);
	if (!t)
		return 0;
	int ok = t->status == SCSI_STATUS_GOOD;
	if (ok)
		printf("TEST UNIT READY: GOOD\n");
	else
		fprintf(stderr,
			"resync_ua_client: second TEST UNIT READY: status 0x%02x ASC/ASCQ "
			"%04xh, want GOOD\n",
			(unsigned)t->status, (unsigned)t->sense.ascq);
	scsi_free_scsi_task(t);
	return ok;
}

/* READ CAPACITY(16): number of blocks, 0 on any failure. */
static uint64_t capacity(struct iscsi_context *iscsi, int lun)
{
	struct scsi_task *t = iscsi_readcapacity16_sync(iscsi, lun);
	if (!t) {
		failed("READ CAPACITY(16)", iscsi);
		return 0;
	}
	uint64_t blocks = 0;
	struct scsi_readcapacity16 *rc16 = NULL;
	if (t->status == SCSI_STATUS_GOOD)
		rc16 = scsi_datain_unmarshall(t);
	if (rc16)
		blocks = rc16->returned_lba + 1;
	else
		fprintf(stderr, "resync_ua_client: READ CAPACITY(16): status 0x%02x\n",
			(unsigned)t->status);
	scsi_free_scsi_task(t);
	return blocks;
}

static int run_command(const char *cmd)
{
	fflush(stdout);
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "resync_ua_client: '%s' failed (status %d)\n", cmd, st);
		return 0;
	}
	return 1;
}

static int check(struct iscsi_context *iscsi, int lun, uint64_t want_blocks, const char *cmd)
{
	if (!clear_uas(iscsi, lun))
		return 0;
	printf("before: %" PRIu64 " blocks\n", capacity(iscsi, lun));
	if (!run_command(cmd) || !expect_capacity_ua(iscsi, lun) || !expect_good(iscsi, lun))
		return 0;
	uint64_t now = capacity(iscsi, lun);
	printf("after: %" PRIu64 " blocks\n", now);
	if (now != want_blocks) {
		fprintf(stderr, "resync_ua_client: %" PRIu64 " blocks, want %" PRIu64 "\n", now,
			want_blocks);
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: resync_ua_client URL BLOCKS_AFTER COMMAND\n");
		return 2;
	}
	char *end;
	errno = 0;
	unsigned long long want = strtoull(argv[2], &end, 10);
	if (errno || end == argv[2] || *end) {
		fprintf(stderr, "resync_ua_client: bad block count '%s'\n", argv[2]);
		return 2;
	}
	struct iscsi_context *iscsi = iscsi_create_context(INITIATOR);
	if (!iscsi) {
		fprintf(stderr, "resync_ua_client: cannot create an iSCSI context\n");
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
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	int ok = 0;
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0)
		failed("login", iscsi);
	else
		ok = check(iscsi, url->lun, (uint64_t)want, argv[3]);
	iscsi_logout_sync(iscsi);
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	return ok ? 0 : 1;
}
