/*
 * EXTENDED COPY against reservations on the devices it copies between, for
 * tests/integration/xcopy-reservation.sh (built only when libiscsi-dev is
 * there):
 *
 *   xcopy_resv_client URL
 *
 * URL is iscsi://HOST:PORT/IQN (no LUN); the target exports disk0 as LUN 0
 * and disk1 as LUN 1.  Two sessions: A holds the reservations, B sends
 * EXTENDED COPY through LUN 0 (disk0, never reserved).  The copy manager
 * must treat every segment as a READ of its source and a WRITE of its
 * destination from B's I_T nexus:
 *
 *   pr-we-dest          A: Write Exclusive on disk1; B copies disk0 -> disk1:
 *                       RESERVATION CONFLICT, disk1 unchanged
 *   pr-we-source        B copies disk1 -> disk0: reads are allowed, GOOD
 *   pr-holder           A copies disk0 -> disk1 itself: GOOD, data moved
 *   pr-ea-source        A: Exclusive Access on disk1; B copies disk1 ->
 *                       disk0: RESERVATION CONFLICT, disk0 unchanged
 *   spc2-dest           A: RESERVE(6) on disk1; B copies disk0 -> disk1:
 *                       RESERVATION CONFLICT, disk1 unchanged
 *   released            after A's RELEASE(6), the same copy: GOOD
 *
 * Prints PASS/FAIL per step; exit 0 if all pass, 1 otherwise, 2 on a
 * set-up error.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define INITIATOR_A "iqn.2026-11.org.uscst:xcopy-resv-a"
#define INITIATOR_B "iqn.2026-11.org.uscst:xcopy-resv-b"
#define BS 512u
#define BLOCKS 64u
#define KEY_A 0xa11ce00000000001ull
#define MAX_UA_RETRIES 8

#define PR_TYPE_WE 1
#define PR_TYPE_EA 3

static struct iscsi_context *ctx_a, *ctx_b;
static uint8_t naa[2][16];
static int failures;

static void result(const char *name, int ok, const char *why)
{
	printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", name, ok || !why ? "" : ": ", ok ? "" : why);
	failures += !ok;
}

static struct iscsi_context *login(const char *initiator, const char *url_text)
{
	struct iscsi_context *iscsi = iscsi_create_context(initiator);
	if (!iscsi)
		return NULL;
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_text);
	if (!url) {
		fprintf(stderr, "xcopy_resv_client: bad URL: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	int rc = iscsi_full_connect_sync(iscsi, url->portal, 0);
	iscsi_destroy_url(url);
	if (rc != 0) {
		fprintf(stderr, "xcopy_resv_client: login as %s: %s\n", initiator,
			iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	return iscsi;
}

/* Unit attentions (power on, reservations released ...) are not what is
 * tested: a command that gets one is simply sent again. */
#define RETRY_UA(expr)                                                                             \
	({                                                                                         \
		struct scsi_task *t_ = NULL;                                                       \
		for (int i_ = 0; i_ < MAX_UA_RETRIES; i_++) {                                      \
			if (t_)                                                                    \
				scsi_free_scsi_task(t_);                                           \
			t_ = (expr);                                                               \
			if (!t_ || t_->status != SCSI_STATUS_CHECK_CONDITION ||                    \
			    t_->sense.key != SCSI_SENSE_UNIT_ATTENTION)                            \
				break;                                                             \
		}                                                                                  \
		t_;                                                                                \
	})

/* Runs a command, frees the task; its SCSI status or -1. */
static int status_of(struct scsi_task *t)
{
	if (!t)
		return -1;
	int st = t->status;
	if (st == SCSI_STATUS_CHECK_CONDITION)
		fprintf(stderr, "  (CHECK CONDITION key 0x%x ascq %04x)\n", (unsigned)t->sense.key,
			(unsigned)t->sense.ascq);
	scsi_free_scsi_task(t);
	return st;
}

static int get_naa(struct iscsi_context *iscsi, int lun, uint8_t out[16])
{
	struct scsi_task *t = RETRY_UA(iscsi_inquiry_sync(iscsi, lun, 1, 0x83, 255));
	int found = 0;
	if (t && t->status == SCSI_STATUS_GOOD) {
		const uint8_t *p = t->datain.data;
		int len = t->datain.size;
		for (int off = 4; off + 4 <= len && !found;) {
			int dlen = p[off + 3];
			if ((p[off] & 0x0f) == 1 && (p[off + 1] & 0x3f) == 0x03 && dlen == 16 &&
			    off + 4 + dlen <= len) {
				memcpy(out, p + off + 4, 16);
				found = 1;
			}
			off += 4 + dlen;
		}
	}
	if (t)
		scsi_free_scsi_task(t);
	if (!found)
		fprintf(stderr, "xcopy_resv_client: no NAA designator on LUN %d\n", lun);
	return found;
}

static void fill(uint8_t *b, uint8_t v)
{
	for (unsigned i = 0; i < BLOCKS * BS; i++)
		b[i] = (uint8_t)(v + i / BS);
}

static int write_blocks(struct iscsi_context *iscsi, int lun, uint64_t lba, uint8_t v)
{
	static uint8_t b[BLOCKS * BS];
	fill(b, v);
	return status_of(RETRY_UA(iscsi_write16_sync(iscsi, lun, lba, b, sizeof(b), BS, 0, 0, 0, 0,
						     0))) == SCSI_STATUS_GOOD;
}

/* True if [lba, lba+BLOCKS) of the LUN holds the pattern v. */
static int blocks_are(struct iscsi_context *iscsi, int lun, uint64_t lba, uint8_t v)
{
	static uint8_t want[BLOCKS * BS];
	fill(want, v);
	struct scsi_task *t =
	    RETRY_UA(iscsi_read16_sync(iscsi, lun, lba, BLOCKS * BS, BS, 0, 0, 0, 0, 0));
	int ok = t && t->status == SCSI_STATUS_GOOD && t->datain.size == (int)sizeof(want) &&
		 memcmp(t->datain.data, want, sizeof(want)) == 0;
	if (t)
		scsi_free_scsi_task(t);
	return ok;
}

/* EXTENDED COPY (LID1, no list identifier) through LUN 0 of one block to
 * block segment: BLOCKS blocks from src (0: disk0, 1: disk1) to dst. */
static int xcopy(struct iscsi_context *iscsi, int src, uint64_t src_lba, int dst, uint64_t dst_lba)
{
	uint8_t p[16 + 2 * 32 + 28];
	memset(p, 0, sizeof(p));
	p[1] = 3 << 3; /* LIST ID USAGE 11b */
	p[2] = 0;
	p[3] = 64;  /* CSCD descriptor list length */
	p[11] = 28; /* segment descriptor list length */
	for (int i = 0; i < 2; i++) {
		uint8_t *d = p + 16 + 32 * i;
		d[0] = 0xe4;
		d[4] = 0x01; /* binary */
		d[5] = 0x03; /* logical unit, NAA */
		d[7] = 16;
		memcpy(d + 8, naa[i], 16);
		d[30] = BS >> 8; /* disk block length */
		d[31] = BS & 0xff;
	}
	uint8_t *s = p + 16 + 64;
	s[0] = 0x02; /* block to block */
	s[3] = 24;
	s[5] = (uint8_t)src;
	s[7] = (uint8_t)dst;
	s[10] = 0;
	s[11] = BLOCKS;
	for (int i = 0; i < 8; i++) {
		s[12 + i] = (uint8_t)(src_lba >> (56 - 8 * i));
		s[20 + i] = (uint8_t)(dst_lba >> (56 - 8 * i));
	}
	struct iscsi_data data = {.size = sizeof(p), .data = p};
	return status_of(RETRY_UA(iscsi_extended_copy_sync(iscsi, 0, &data)));
}

static int pr_out(struct iscsi_context *iscsi, int lun, int sa, int type, uint64_t key,
		  uint64_t sa_key)
{
	struct scsi_persistent_reserve_out_basic b = {
	    .reservation_key = key,
	    .service_action_reservation_key = sa_key,
	};
	return status_of(RETRY_UA(iscsi_persistent_reserve_out_sync(
		   iscsi, lun, sa, SCSI_PERSISTENT_RESERVE_SCOPE_LU, type, &b))) ==
	       SCSI_STATUS_GOOD;
}

static void expect_copy(const char *name, struct iscsi_context *iscsi, int src, uint64_t src_lba,
			int dst, uint64_t dst_lba, int want_status, struct iscsi_context *reader,
			uint8_t want_pattern)
{
	int st = xcopy(iscsi, src, src_lba, dst, dst_lba);
	char why[160];
	if (st != want_status) {
		snprintf(why, sizeof(why), "EXTENDED COPY status 0x%02x, want 0x%02x", st,
			 want_status);
		result(name, 0, why);
		return;
	}
	if (!blocks_are(reader, dst, dst_lba, want_pattern)) {
		snprintf(why, sizeof(why), "destination blocks are not pattern 0x%02x (%s)",
			 want_pattern,
			 want_status == SCSI_STATUS_GOOD ? "not copied" : "overwritten");
		result(name, 0, why);
		return;
	}
	result(name, 1, NULL);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: xcopy_resv_client iscsi://HOST:PORT/IQN\n");
		return 2;
	}
	char url[512];
	snprintf(url, sizeof(url), "%s/0", argv[1]);
	ctx_a = login(INITIATOR_A, url);
	ctx_b = ctx_a ? login(INITIATOR_B, url) : NULL;
	if (!ctx_b || !get_naa(ctx_a, 0, naa[0]) || !get_naa(ctx_a, 1, naa[1]))
		return 2;
	/* Start clean: no registrations left from anything else. */
	pr_out(ctx_a, 1, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY, 0, 0, KEY_A);
	pr_out(ctx_a, 1, SCSI_PERSISTENT_RESERVE_CLEAR, 0, KEY_A, 0);
	if (!write_blocks(ctx_a, 0, 0, 0x10) || !write_blocks(ctx_a, 1, 0, 0x40) ||
	    !write_blocks(ctx_a, 0, 1000, 0x70) || !write_blocks(ctx_a, 0, 2000, 0x90)) {
		fprintf(stderr, "xcopy_resv_client: cannot write the initial patterns\n");
		return 2;
	}

	/* Persistent reservation, Write Exclusive, held by A on disk1. */
	if (!pr_out(ctx_a, 1, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0, KEY_A) ||
	    !pr_out(ctx_a, 1, SCSI_PERSISTENT_RESERVE_RESERVE, PR_TYPE_WE, KEY_A, 0)) {
		fprintf(stderr, "xcopy_resv_client: A cannot reserve disk1\n");
		return 2;
	}
	expect_copy("pr-we-dest", ctx_b, 0, 0, 1, 0, SCSI_STATUS_RESERVATION_CONFLICT, ctx_a, 0x40);
	expect_copy("pr-we-source", ctx_b, 1, 0, 0, 1000, SCSI_STATUS_GOOD, ctx_b, 0x40);
	expect_copy("pr-holder", ctx_a, 0, 0, 1, 0, SCSI_STATUS_GOOD, ctx_a, 0x10);
	write_blocks(ctx_a, 1, 0, 0x40);

	/* Exclusive Access: B may not even read disk1. */
	pr_out(ctx_a, 1, SCSI_PERSISTENT_RESERVE_RELEASE, PR_TYPE_WE, KEY_A, 0);
	if (!pr_out(ctx_a, 1, SCSI_PERSISTENT_RESERVE_RESERVE, PR_TYPE_EA, KEY_A, 0)) {
		fprintf(stderr, "xcopy_resv_client: A cannot reserve disk1 (EA)\n");
		return 2;
	}
	expect_copy("pr-ea-source", ctx_b, 1, 0, 0, 2000, SCSI_STATUS_RESERVATION_CONFLICT, ctx_b,
		    0x90);
	pr_out(ctx_a, 1, SCSI_PERSISTENT_RESERVE_CLEAR, 0, KEY_A, 0);

	/* SPC-2 RESERVE(6) by A on disk1. */
	if (status_of(RETRY_UA(iscsi_reserve6_sync(ctx_a, 1))) != SCSI_STATUS_GOOD) {
		fprintf(stderr, "xcopy_resv_client: A cannot RESERVE(6) disk1\n");
		return 2;
	}
	expect_copy("spc2-dest", ctx_b, 0, 0, 1, 0, SCSI_STATUS_RESERVATION_CONFLICT, ctx_a, 0x40);
	status_of(RETRY_UA(iscsi_release6_sync(ctx_a, 1)));
	expect_copy("released", ctx_b, 0, 0, 1, 0, SCSI_STATUS_GOOD, ctx_b, 0x10);

	iscsi_logout_sync(ctx_a);
	iscsi_logout_sync(ctx_b);
	iscsi_destroy_context(ctx_a);
	iscsi_destroy_context(ctx_b);
	printf("xcopy_resv_client: %d failed\n", failures);
	return failures ? 1 : 0;
}
