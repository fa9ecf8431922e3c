/*
 * One SCSI command as one initiator, for tests/integration/acl-groups.sh
 * (built only when libiscsi-dev is there):
 *
 *   acl_client URL INITIATOR luns        REPORT LUNS: "LUN n" per entry,
 *                                        then "COUNT n"
 *   acl_client URL INITIATOR write LUN   WRITE(10) of block 0
 *   acl_client URL INITIATOR wp LUN      MODE SENSE(6): "WP 0" or "WP 1"
 *   acl_client URL INITIATOR xcopy SRC DST
 *                                        EXTENDED COPY through SRC of 8
 *                                        blocks from LUN SRC to the device
 *                                        of LUN DST as named by its NAA
 *                                        designator read through DST (or,
 *                                        with DST "naa:HEX32", that NAA)
 *   acl_client URL INITIATOR naa LUN     prints the LUN's NAA as HEX32
 *   acl_client URL INITIATOR inq LUN     standard INQUIRY: "PQ q TYPE t" (hex)
 *
 * URL is iscsi://HOST:PORT/IQN/LUN (libiscsi wants a LUN; it is not used).  A command prints "GOOD"
 * or "SENSE k/asc/ascq" (hex) or "STATUS s".  A login that fails prints "LOGIN-FAILED: reason" and
 * exits 3; a bad REPORT LUNS entry (not the single level encoding uscst promises: peripheral below
 * 256, flat above) prints "BAD-ENCODING" and exits 4.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define BS 512u
#define MAX_UA_RETRIES 8

static struct iscsi_context *login(const char *initiator, const char *url_text)
{
	struct iscsi_context *iscsi = iscsi_create_context(initiator);
	if (!iscsi)
		return NULL;
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_text);
	if (!url) {
		printf("LOGIN-FAILED: bad URL: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	int rc = iscsi_full_connect_sync(iscsi, url->portal, 0);
	iscsi_destroy_url(url);
	if (rc != 0) {
		printf("LOGIN-FAILED: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	return iscsi;
}

/* The power-on unit attention of a new nexus is not what is tested. */
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

static int print_status(struct scsi_task *t)
{
	if (!t) {
		printf("NO-RESPONSE\n");
		return 2;
	}
	if (t->status == SCSI_STATUS_GOOD)
		printf("GOOD\n");
	else if (t->status == SCSI_STATUS_CHECK_CONDITION)
		printf("SENSE %x/%02x/%02x\n", (unsigned)t->sense.key,
		       (unsigned)(t->sense.ascq >> 8), (unsigned)(t->sense.ascq & 0xff));
	else
		printf("STATUS %d\n", t->status);
	scsi_free_scsi_task(t);
	return 0;
}

static int report_luns(struct iscsi_context *iscsi)
{
	int alloc = 8 + 8 * 16400;
	struct scsi_task *t = RETRY_UA(iscsi_reportluns_sync(iscsi, 0, alloc));
	if (!t || t->status != SCSI_STATUS_GOOD)
		return print_status(t) ? 2 : 1;
	const uint8_t *p = t->datain.data;
	uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	int rc = 0;
	unsigned n = 0;
	for (uint32_t off = 8; off + 8 <= 8 + len && off + 8 <= (uint32_t)t->datain.size;
	     off += 8) {
		const uint8_t *e = p + off;
		unsigned method = e[0] >> 6;
		unsigned lun = (unsigned)(e[0] & 0x3f) << 8 | e[1];
		int rest_zero = !(e[2] | e[3] | e[4] | e[5] | e[6] | e[7]);
		if (!rest_zero || (lun < 256 ? method != 0 : method != 1)) {
			printf("BAD-ENCODING %02x%02x\n", e[0], e[1]);
			rc = 4;
		}
		printf("LUN %u\n", lun);
		n++;
	}
	printf("COUNT %u\n", n);
	scsi_free_scsi_task(t);
	return rc;
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
	return found;
}

static int parse_naa(const char *hex, uint8_t out[16])
{
	if (strlen(hex) != 32)
		return 0;
	for (int i = 0; i < 16; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return 0;
		out[i] = (uint8_t)v;
	}
	return 1;
}

/* EXTENDED COPY (LID1) through LUN src: 8 blocks from src's device to the
 * device named dst_naa, block 0 to block 8. */
static struct scsi_task *xcopy(struct iscsi_context *iscsi, int src, const uint8_t src_naa[16],
			       const uint8_t dst_naa[16])
{
	uint8_t p[16 + 2 * 32 + 28];
	memset(p, 0, sizeof(p));
	p[1] = 3 << 3; /* LIST ID USAGE 11b */
	p[3] = 64;     /* CSCD descriptor list length */
	p[11] = 28;    /* segment descriptor list length */
	const uint8_t *naas[2] = {src_naa, dst_naa};
	for (int i = 0; i < 2; i++) {
		uint8_t *d = p + 16 + 32 * i;
		d[0] = 0xe4;
		d[4] = 0x01; /* binary */
		d[5] = 0x03; /* logical unit, NAA */
		d[7] = 16;
		memcpy(d + 8, naas[i], 16);
		d[30] = BS >> 8;
		d[31] = BS & 0xff;
	}
	uint8_t *s = p + 16 + 64;
	s[0] = 0x02; /* block to block */
	s[3] = 24;
	s[5] = 0; /* source: CSCD 0 */
	s[7] = 1; /* destination: CSCD 1 */
	s[11] = 8;
	s[27] = 8; /* destination LBA 8 */
	struct iscsi_data data = {.size = sizeof(p), .data = p};
	return RETRY_UA(iscsi_extended_copy_sync(iscsi, src, &data));
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: acl_client URL INITIATOR luns|write|wp|naa|xcopy ...\n");
		return 2;
	}
	const char *cmd = argv[3];
	struct iscsi_context *iscsi = login(argv[2], argv[1]);
	if (!iscsi)
		return 3;
	int rc = 2;
	if (!strcmp(cmd, "luns")) {
		rc = report_luns(iscsi);
	} else if (!strcmp(cmd, "write") && argc == 5) {
		static uint8_t b[BS];
		memset(b, 0xa5, sizeof(b));
		rc = print_status(RETRY_UA(
		    iscsi_write10_sync(iscsi, atoi(argv[4]), 0, b, BS, BS, 0, 0, 0, 0, 0)));
	} else if (!strcmp(cmd, "wp") && argc == 5) {
		struct scsi_task *t =
		    RETRY_UA(iscsi_modesense6_sync(iscsi, atoi(argv[4]), 1, 0, 0x3f, 0, 255));
		if (t && t->status == SCSI_STATUS_GOOD && t->datain.size >= 4) {
			printf("WP %d\n", (t->datain.data[2] & 0x80) ? 1 : 0);
			scsi_free_scsi_task(t);
			rc = 0;
		} else {
			rc = print_status(t) ? 2 : 1;
		}
	} else if (!strcmp(cmd, "inq") && argc == 5) {
		struct scsi_task *t = RETRY_UA(iscsi_inquiry_sync(iscsi, atoi(argv[4]), 0, 0, 36));
		if (t && t->status == SCSI_STATUS_GOOD && t->datain.size >= 1) {
			printf("PQ %x TYPE %02x\n", t->datain.data[0] >> 5,
			       t->datain.data[0] & 0x1f);
			scsi_free_scsi_task(t);
			rc = 0;
		} else {
			rc = print_status(t) ? 2 : 1;
		}
	} else if (!strcmp(cmd, "naa") && argc == 5) {
		uint8_t naa[16];
		if (get_naa(iscsi, atoi(argv[4]), naa)) {
			for (int i = 0; i < 16; i++)
				printf("%02x", naa[i]);
			printf("\n");
			rc = 0;
		} else {
			printf("NO-NAA\n");
		}
	} else if (!strcmp(cmd, "xcopy") && argc == 6) {
		uint8_t src_naa[16], dst_naa[16];
		int src = atoi(argv[4]);
		int ok = get_naa(iscsi, src, src_naa);
		if (!strncmp(argv[5], "naa:", 4))
			ok = ok && parse_naa(argv[5] + 4, dst_naa);
		else
			ok = ok && get_naa(iscsi, atoi(argv[5]), dst_naa);
		if (ok)
			rc = print_status(xcopy(iscsi, src, src_naa, dst_naa));
		else
			printf("NO-NAA\n");
	} else {
		fprintf(stderr, "acl_client: bad command\n");
	}
	iscsi_logout_sync(iscsi);
	iscsi_destroy_context(iscsi);
	return rc;
}
