/*
 * The fault_inject example plugin seen from a libiscsi initiator, for
 * tests/integration/plugins.sh (built only when libiscsi-dev is there):
 *
 *   fault_client errors URL READ_ERR_LBA WRITE_ERR_LBA
 *       READ of READ_ERR_LBA (the first of its range), alone or inside a
 *       longer READ, gets MEDIUM ERROR / UNRECOVERED READ ERROR (03/11/00)
 *       with READ_ERR_LBA in the sense's INFORMATION field, the block
 *       before it reads; WRITE of WRITE_ERR_LBA gets MEDIUM ERROR / WRITE
 *       ERROR (03/0C/00) with its LBA and leaves the block as it was; the
 *       block after it is written and reads back.
 *   fault_client good URL LBA...
 *       each LBA reads, takes a WRITE and reads it back (no fault there).
 *   fault_client cdb URL HEXCDB INLEN EXPECT
 *       sends the CDB (hex digits) with INLEN bytes of Data-In (0: no
 *       data) and expects EXPECT: "good", or KKAAQQ (hex sense key, ASC,
 *       ASCQ) of a CHECK CONDITION.
 *   fault_client delay URL SLOW_LBA FAST_LBA DELAY_MS
 *       a READ of SLOW_LBA takes at least DELAY_MS, one of FAST_LBA less
 *       than half of it; 16 READs of SLOW_LBA in flight together finish
 *       within 2 x DELAY_MS (a delay holds no thread).
 *
 * URL is iscsi://HOST:PORT/IQN/LUN of a fault_inject LU with 512-byte
 * blocks.  Exit 0 if all of it holds, 1 otherwise (why on stderr).
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define BS 512
#define MAX_CLEAR_TURS 8
#define PARALLEL 16

static int fail(const char *what)
{
	fprintf(stderr, "fault_client: %s\n", what);
	return 0;
}

static struct iscsi_context *login(const char *url_s, int *lun)
{
	struct iscsi_context *iscsi = iscsi_create_context("iqn.2026-11.org.uscst:fault-client");
	if (!iscsi)
		return NULL;
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_s);
	if (!url) {
		fprintf(stderr, "fault_client: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	int rc = iscsi_full_connect_sync(iscsi, url->portal, url->lun);
	*lun = url->lun;
	iscsi_destroy_url(url);
	if (rc != 0) {
		fprintf(stderr, "fault_client: login: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	return iscsi;
}

/* The INFORMATION field of the last CHECK CONDITION, if it was valid. */
static int info_valid;
static uint64_t info;

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* libiscsi keeps the sense segment (2 bytes of length, then the sense) in
 * datain; fixed (70h) and descriptor (72h, information descriptor 00h)
 * formats. */
static void parse_information(const struct scsi_task *t)
{
	info_valid = 0;
	if (t->datain.size < 2 + 8)
		return;
	const unsigned char *d = t->datain.data + 2;
	int len = t->datain.size - 2;
	if ((d[0] & 0x7f) == 0x70 && len >= 7) {
		info_valid = d[0] & 0x80;
		info = be(d + 3, 4);
		return;
	}
	if ((d[0] & 0x7f) != 0x72)
		return;
	for (int at = 8; at + 12 <= len && at < 8 + d[7]; at += 2 + d[at + 1]) {
		if (d[at] == 0x00) {
			info_valid = d[at + 2] & 0x80;
			info = be(d + at + 4, 8);
			return;
		}
	}
}

/* 0 GOOD, KEY<<16 | ASC<<8 | ASCQ of a CHECK CONDITION, -1 otherwise; the
 * task is freed (its data copied to buf first, if any). */
static int outcome(struct scsi_task *t, void *buf, size_t len)
{
	int r;
	if (!t)
		return -1;
	if (t->status == SCSI_STATUS_GOOD) {
		r = 0;
		if (buf && t->datain.size >= (int)len)
			memcpy(buf, t->datain.data, len);
		else if (buf)
			r = -1;
	} else if (t->status == SCSI_STATUS_CHECK_CONDITION) {
		r = (int)t->sense.key << 16 | (t->sense.ascq & 0xffff);
		parse_information(t);
	} else {
		r = -1;
	}
	scsi_free_scsi_task(t);
	return r;
}

static int expect(const char *what, int got, int want)
{
	if (got == want)
		return 1;
	fprintf(stderr, "fault_client: %s: got %06x, want %06x\n", what, (unsigned)got,
		(unsigned)want);
	return 0;
}

static void settle(struct iscsi_context *iscsi, int lun)
{
	for (int i = 0; i < MAX_CLEAR_TURS; i++) {
		int r = outcome(iscsi_testunitready_sync(iscsi, lun), NULL, 0);
		if (r < 0 || (r >> 16) != SCSI_SENSE_UNIT_ATTENTION)
			return;
	}
}

static int read_blocks(struct iscsi_context *s, int lun, uint32_t lba, uint32_t n, void *buf)
{
	return outcome(iscsi_read10_sync(s, lun, lba, n * BS, BS, 0, 0, 0, 0, 0), buf, n * BS);
}

static int write_block(struct iscsi_context *s, int lun, uint32_t lba, const void *buf)
{
	return outcome(iscsi_write10_sync(s, lun, lba, (unsigned char *)buf, BS, BS, 0, 0, 0, 0, 0),
		       NULL, 0);
}

#define READ_ERROR (SCSI_SENSE_MEDIUM_ERROR << 16 | 0x1100)
#define WRITE_ERROR (SCSI_SENSE_MEDIUM_ERROR << 16 | 0x0c00)

/* The sense of the last command said lba in its INFORMATION field. */
static int expect_info(const char *what, uint64_t lba)
{
	if (info_valid && info == lba)
		return 1;
	fprintf(stderr, "fault_client: %s: INFORMATION %s %llu, want %llu\n", what,
		info_valid ? "is" : "not valid, holds", (unsigned long long)info,
		(unsigned long long)lba);
	return 0;
}

static int check_errors(struct iscsi_context *s, int lun, uint32_t rlba, uint32_t wlba)
{
	unsigned char before[BS], pattern[BS], back[BS];
	int ok = 1;
	ok &= expect("READ of the read-error LBA", read_blocks(s, lun, rlba, 1, NULL), READ_ERROR);
	ok &= expect_info("READ of the read-error LBA", rlba);
	ok &=
	    expect("READ of 4 blocks over it", read_blocks(s, lun, rlba - 2, 4, NULL), READ_ERROR);
	ok &= expect_info("READ of 4 blocks over it", rlba);
	ok &= expect("READ of the block before it", read_blocks(s, lun, rlba - 1, 1, back), 0);

	memset(pattern, 0x5a, sizeof(pattern));
	ok &= expect("READ of the write-error LBA", read_blocks(s, lun, wlba, 1, before), 0);
	ok &=
	    expect("WRITE of the write-error LBA", write_block(s, lun, wlba, pattern), WRITE_ERROR);
	ok &= expect_info("WRITE of the write-error LBA", wlba);
	ok &= expect("READ after the failed WRITE", read_blocks(s, lun, wlba, 1, back), 0);
	if (memcmp(before, back, BS) != 0)
		ok = fail("the failed WRITE changed the block");
	ok &= expect("WRITE of the next block", write_block(s, lun, wlba + 1, pattern), 0);
	ok &= expect("READ of the next block", read_blocks(s, lun, wlba + 1, 1, back), 0);
	if (memcmp(pattern, back, BS) != 0)
		ok = fail("the next block did not read back");
	return ok;
}

static int check_good(struct iscsi_context *s, int lun, char **lbas, int n)
{
	unsigned char pattern[BS], back[BS];
	int ok = 1;
	for (int i = 0; i < n; i++) {
		uint32_t lba = (uint32_t)strtoul(lbas[i], NULL, 0);
		char what[64];
		memset(pattern, 0x30 + i, sizeof(pattern));
		snprintf(what, sizeof(what), "READ of LBA %u", lba);
		ok &= expect(what, read_blocks(s, lun, lba, 1, back), 0);
		snprintf(what, sizeof(what), "WRITE of LBA %u", lba);
		ok &= expect(what, write_block(s, lun, lba, pattern), 0);
		snprintf(what, sizeof(what), "READ back of LBA %u", lba);
		ok &= expect(what, read_blocks(s, lun, lba, 1, back), 0);
		if (memcmp(pattern, back, BS) != 0)
			ok = fail("a WRITE did not read back");
	}
	return ok;
}

static int check_cdb(struct iscsi_context *s, int lun, const char *hex, int inlen,
		     const char *want_s)
{
	unsigned char cdb[32];
	int n = 0;
	for (; hex[2 * n] && hex[2 * n + 1] && n < (int)sizeof(cdb); n++) {
		char byte[3] = {hex[2 * n], hex[2 * n + 1], 0};
		cdb[n] = (unsigned char)strtoul(byte, NULL, 16);
	}
	if (n < 6 || hex[2 * n])
		return fail("bad CDB");
	struct scsi_task *t =
	    scsi_create_task(n, cdb, inlen > 0 ? SCSI_XFER_READ : SCSI_XFER_NONE, inlen);
	if (!t)
		return fail("scsi_create_task");
	struct scsi_task *r = iscsi_scsi_command_sync(s, lun, t, NULL);
	int got = r ? outcome(r, NULL, 0) : -1;
	int want = strcmp(want_s, "good") == 0 ? 0 : (int)strtol(want_s, NULL, 16);
	return expect(hex, got, want);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t timed_read(struct iscsi_context *s, int lun, uint32_t lba, int *r)
{
	uint64_t t0 = now_ms();
	*r = read_blocks(s, lun, lba, 1, NULL);
	return now_ms() - t0;
}

static int pending, bad;

static void read_cb(struct iscsi_context *s, int status, void *data, void *priv)
{
	pending--;
	if (status != SCSI_STATUS_GOOD)
		bad++;
	if (data)
		scsi_free_scsi_task(data);
}

/* PARALLEL READs of lba in flight together; the milliseconds they took,
 * or 0 on an error. */
static uint64_t parallel_reads(struct iscsi_context *s, int lun, uint32_t lba)
{
	uint64_t t0 = now_ms();
	pending = 0;
	bad = 0;
	for (int i = 0; i < PARALLEL; i++) {
		if (!iscsi_read10_task(s, lun, lba, BS, BS, 0, 0, 0, 0, 0, read_cb, NULL))
			return 0;
		pending++;
	}
	while (pending > 0) {
		struct pollfd pfd = {.fd = iscsi_get_fd(s), .events = iscsi_which_events(s)};
		if (poll(&pfd, 1, 10000) <= 0 || iscsi_service(s, pfd.revents) < 0)
			return 0;
	}
	return bad ? 0 : now_ms() - t0;
}

static int check_delay(struct iscsi_context *s, int lun, uint32_t slow, uint32_t fast,
		       uint64_t delay)
{
	int r, ok = 1;
	uint64_t t = timed_read(s, lun, slow, &r);
	printf("READ of the delayed LBA: %llu ms\n", (unsigned long long)t);
	ok &= expect("READ of the delayed LBA", r, 0);
	if (t < delay)
		ok = fail("the delayed READ was not delayed");
	t = timed_read(s, lun, fast, &r);
	printf("READ of an undelayed LBA: %llu ms\n", (unsigned long long)t);
	ok &= expect("READ of an undelayed LBA", r, 0);
	if (t >= delay / 2)
		ok = fail("an undelayed READ took too long");
	t = parallel_reads(s, lun, slow);
	printf("%d delayed READs in flight together: %llu ms\n", PARALLEL, (unsigned long long)t);
	if (t < delay || t >= 2 * delay)
		ok = fail("parallel delayed READs did not overlap");
	return ok;
}

int main(int argc, char **argv)
{
	int lun = 0, ok;
	if (argc < 4) {
		fprintf(stderr, "usage: fault_client errors URL READ_ERR_LBA WRITE_ERR_LBA\n"
				"       fault_client good URL LBA...\n"
				"       fault_client cdb URL HEXCDB INLEN EXPECT\n"
				"       fault_client delay URL SLOW_LBA FAST_LBA DELAY_MS\n");
		return 2;
	}
	struct iscsi_context *s = login(argv[2], &lun);
	if (!s)
		return 1;
	settle(s, lun);
	if (strcmp(argv[1], "errors") == 0 && argc == 5)
		ok = check_errors(s, lun, (uint32_t)strtoul(argv[3], NULL, 0),
				  (uint32_t)strtoul(argv[4], NULL, 0));
	else if (strcmp(argv[1], "cdb") == 0 && argc == 6)
		ok = check_cdb(s, lun, argv[3], atoi(argv[4]), argv[5]);
	else if (strcmp(argv[1], "good") == 0)
		ok = check_good(s, lun, argv + 3, argc - 3);
	else if (strcmp(argv[1], "delay") == 0 && argc == 6)
		ok = check_delay(s, lun, (uint32_t)strtoul(argv[3], NULL, 0),
				 (uint32_t)strtoul(argv[4], NULL, 0), strtoull(argv[5], NULL, 0));
	else
		ok = fail("bad arguments");
	iscsi_logout_sync(s);
	iscsi_destroy_context(s);
	return ok ? 0 : 1;
}
