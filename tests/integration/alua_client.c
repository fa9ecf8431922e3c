/*
 * Two paths to one LUN under ALUA, for tests/integration/alua.sh (built
 * only when libiscsi-dev is there):
 *
 *   alua_client URL_A URL_B CMD_STANDBY CMD_ACTIVE
 *
 * URL_A and URL_B (iscsi://HOST:PORT/IQN/LUN) reach the same device
 * through two targets in two target port groups of one device group:
 * group 1 (URL_A's target) active/optimized and preferred, group 2
 * (URL_B's) active/non-optimized; explicit ALUA on.  CMD_STANDBY and
 * CMD_ACTIVE (system(3)) put group 2 in standby and back to active with
 * uscstadmin.  Checks, with both sessions logged in throughout:
 *   - INQUIRY TPGS 11b, VPD 83h target port group and relative port
 *     designators of each path;
 *   - REPORT TARGET PORT GROUPS (both formats) the same on both paths, with
 *     the states, PREF, and each path's relative port id;
 *   - I/O on both paths while active;
 *   - CMD_STANDBY: 2Ah/06h on both paths, then standby in RTPG; READ and
 *     TEST UNIT READY on the standby path get NOT READY 04h/0Bh, INQUIRY
 *     and RTPG still work there; I/O on the active path goes on;
 *   - SET TARGET PORT GROUPS from path A: group 2 unavailable (GOOD; 2Ah/06h
 *     on B only), READ on B 04h/0Ch, RTPG status "altered by STPG"; bad
 *     parameter lists refused (length, state, group);
 *   - CMD_ACTIVE: 2Ah/06h on B, then READ on B works again.
 * Prints one line per check; exit 0 if all hold, 1 otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define INITIATOR "iqn.2026-11.org.uscst:alua-client"
#define BS 512u
#define MAX_CLEAR 8

static int failures;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	failures += !ok;
}

struct path {
	struct iscsi_context *iscsi;
	int lun;
	const char *name;
};

static int login(struct path *p, const char *url_text, const char *name)
{
	p->name = name;
	p->iscsi = iscsi_create_context(INITIATOR);
	if (!p->iscsi)
		return 0;
	struct iscsi_url *url = iscsi_parse_full_url(p->iscsi, url_text);
	if (!url) {
		fprintf(stderr, "alua_client: bad URL %s: %s\n", url_text,
			iscsi_get_error(p->iscsi));
		return 0;
	}
	iscsi_set_targetname(p->iscsi, url->target);
	iscsi_set_session_type(p->iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(p->iscsi, ISCSI_HEADER_DIGEST_NONE);
	p->lun = url->lun;
	int rc = iscsi_full_connect_sync(p->iscsi, url->portal, url->lun);
	iscsi_destroy_url(url);
	if (rc != 0) {
		fprintf(stderr, "alua_client: login %s: %s\n", name, iscsi_get_error(p->iscsi));
		return 0;
	}
	return 1;
}

/* A CDB with Data-In of alloc bytes (or Data-Out of out_len bytes). */
static struct scsi_task *run(struct path *p, const uint8_t *cdb, int cdb_len, int alloc,
			     const uint8_t *out, int out_len)
{
	struct scsi_task *t =
	    scsi_create_task(cdb_len, (unsigned char *)cdb,
			     out ? SCSI_XFER_WRITE : (alloc ? SCSI_XFER_READ : SCSI_XFER_NONE),
			     out ? out_len : alloc);
	if (!t)
		return NULL;
	struct iscsi_data data = {.size = (size_t)out_len, .data = (unsigned char *)out};
	struct scsi_task *r = iscsi_scsi_command_sync(p->iscsi, p->lun, t, out ? &data : NULL);
	if (!r) {
		fprintf(stderr, "alua_client: %s: transport error: %s\n", p->name,
			iscsi_get_error(p->iscsi));
		scsi_free_scsi_task(t);
	}
	return r;
}

static int sense_is(const struct scsi_task *t, int key, int asc_ascq)
{
	return t && t->status == SCSI_STATUS_CHECK_CONDITION && (int)t->sense.key == key &&
	       (int)t->sense.ascq == asc_ascq;
}

static void print_status(const char *what, const struct scsi_task *t)
{
	if (!t)
		printf("     %s: no answer\n", what);
	else
		printf("     %s: status 0x%02x sense key 0x%x ASC/ASCQ %04x\n", what, t->status,
		       t->sense.key, t->sense.ascq);
}

static int tur_status(struct path *p, int key, int asc_ascq)
{
	static const uint8_t cdb[6] = {0x00};
	struct scsi_task *t = run(p, cdb, 6, 0, NULL, 0);
	int ok = key ? sense_is(t, key, asc_ascq) : (t && t->status == SCSI_STATUS_GOOD);
	if (!ok)
		print_status("TEST UNIT READY", t);
	if (t)
		scsi_free_scsi_task(t);
	return ok;
}

static int clear_uas(struct path *p)
{
	for (int i = 0; i < MAX_CLEAR; i++)
		if (tur_status(p, 0, 0))
			return 1;
	return 0;
}

/* Data-In of a CDB into buf (at most len bytes); its length, or -1. */
static int read_in(struct path *p, const uint8_t *cdb, int cdb_len, uint8_t *buf, int len)
{
	struct scsi_task *t = run(p, cdb, cdb_len, len, NULL, 0);
	if (!t || t->status != SCSI_STATUS_GOOD) {
		print_status("data-in command", t);
		if (t)
			scsi_free_scsi_task(t);
		return -1;
	}
	int n = t->datain.size < len ? t->datain.size : len;
	memcpy(buf, t->datain.data, (size_t)n);
	scsi_free_scsi_task(t);
	return n;
}

static int rtpg(struct path *p, int extended, uint8_t *buf, int len)
{
	uint8_t cdb[12] = {0xa3, (uint8_t)((extended ? 0x20 : 0) | 0x0a)};
	cdb[6] = (uint8_t)(len >> 24);
	cdb[7] = (uint8_t)(len >> 16);
	cdb[8] = (uint8_t)(len >> 8);
	cdb[9] = (uint8_t)len;
	return read_in(p, cdb, 12, buf, len);
}

static unsigned be16(const uint8_t *b) { return (unsigned)b[0] << 8 | b[1]; }

/* The RTPG descriptor of group id in an extended-format answer, or NULL. */
static const uint8_t *rtpg_group(const uint8_t *b, int n, unsigned id)
{
	for (int off = 8; off + 8 <= n; off += 8 + 4 * b[off + 7])
		if (be16(b + off + 2) == id)
			return b + off;
	return NULL;
}

/* VPD 83h of a path: its target port group and relative port id (-1: none). */
static int vpd83(struct path *p, int *tpg, int *rel)
{
	uint8_t cdb[6] = {0x12, 0x01, 0x83, 0x04, 0x00, 0};
	uint8_t b[1024];
	int n = read_in(p, cdb, 6, b, sizeof(b));
	*tpg = *rel = -1;
	if (n < 4)
		return 0;
	for (int off = 4; off + 4 <= n && off + 4 + b[off + 3] <= n; off += 4 + b[off + 3]) {
		int type = b[off + 1] & 0x0f, assoc = (b[off + 1] >> 4) & 3;
		if (assoc == 1 && type == 5 && b[off + 3] == 4)
			*tpg = (int)be16(b + off + 6);
		if (assoc == 1 && type == 4 && b[off + 3] == 4)
			*rel = (int)be16(b + off + 6);
	}
	return 1;
}

static int rw_block(struct path *p, uint32_t lba, uint8_t fill)
{
	uint8_t data[BS], back[BS];
	memset(data, fill, sizeof(data));
	struct scsi_task *w =
	    iscsi_write10_sync(p->iscsi, p->lun, lba, data, BS, BS, 0, 0, 0, 0, 0);
	int ok = w && w->status == SCSI_STATUS_GOOD;
	if (!ok)
		print_status("WRITE(10)", w);
	if (w)
		scsi_free_scsi_task(w);
	uint8_t cdb[10] = {0x28,
			   0,
			   (uint8_t)(lba >> 24),
			   (uint8_t)(lba >> 16),
			   (uint8_t)(lba >> 8),
			   (uint8_t)lba,
			   0,
			   0,
			   1,
			   0};
	ok = ok && read_in(p, cdb, 10, back, BS) == (int)BS && memcmp(back, data, BS) == 0;
	return ok;
}

static int read_refused(struct path *p, int asc_ascq)
{
	uint8_t cdb[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	struct scsi_task *t = run(p, cdb, 10, BS, NULL, 0);
	int ok = sense_is(t, SCSI_SENSE_NOT_READY, asc_ascq);
	if (!ok)
		print_status("READ(10)", t);
	if (t)
		scsi_free_scsi_task(t);
	return ok;
}

/* SET TARGET PORT GROUPS with param (len bytes); the task, or NULL. */
static struct scsi_task *stpg(struct path *p, const uint8_t *param, int len)
{
	uint8_t cdb[12] = {0xa4, 0x0a, 0, 0, 0, 0, 0, 0, (uint8_t)(len >> 8), (uint8_t)len};
	return run(p, cdb, 12, 0, param, len);
}

static int stpg_expect(struct path *p, const uint8_t *param, int len, int key, int asc_ascq)
{
	struct scsi_task *t = stpg(p, param, len);
	int ok = key ? sense_is(t, key, asc_ascq) : (t && t->status == SCSI_STATUS_GOOD);
	if (!ok)
		print_status("SET TARGET PORT GROUPS", t);
	if (t)
		scsi_free_scsi_task(t);
	return ok;
}

static int group_state(struct path *p, unsigned id, int *state, int *pref, int *status)
{
	uint8_t b[512];
	int n = rtpg(p, 1, b, sizeof(b));
	const uint8_t *d = n > 0 ? rtpg_group(b, n, id) : NULL;
	if (!d)
		return 0;
	*state = d[0] & 0x0f;
	*pref = d[0] >> 7;
	*status = d[5];
	return 1;
}

static int inquiry_tpgs(struct path *p)
{
	uint8_t cdb[6] = {0x12, 0, 0, 0, 96, 0};
	uint8_t b[96];
	int n = read_in(p, cdb, 6, b, sizeof(b));
	return n > 5 ? (b[5] >> 4) & 3 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: alua_client URL_A URL_B CMD_STANDBY CMD_ACTIVE\n");
		return 2;
	}
	struct path a, b;
	if (!login(&a, argv[1], "path A") || !login(&b, argv[2], "path B"))
		return 1;
	check(clear_uas(&a) && clear_uas(&b), "both paths logged in, unit attentions cleared");

	check(inquiry_tpgs(&a) == 3 && inquiry_tpgs(&b) == 3, "INQUIRY TPGS 11b on both paths");
	int tpg_a, rel_a, tpg_b, rel_b;
	check(vpd83(&a, &tpg_a, &rel_a) && vpd83(&b, &tpg_b, &rel_b) && tpg_a == 1 && tpg_b == 2 &&
		  rel_a > 0 && rel_b > 0 && rel_a != rel_b,
	      "VPD 83h: target port group 1 / 2 and distinct relative ports");

	uint8_t ra[512], rb[512];
	int na = rtpg(&a, 1, ra, sizeof(ra)), nb = rtpg(&b, 1, rb, sizeof(rb));
	check(na > 8 && na == nb && memcmp(ra, rb, (size_t)na) == 0,
	      "REPORT TARGET PORT GROUPS (extended) identical on both paths");
	const uint8_t *g1 = na > 0 ? rtpg_group(ra, na, 1) : NULL;
	const uint8_t *g2 = na > 0 ? rtpg_group(ra, na, 2) : NULL;
	check(na > 8 && ra[4] == 0x10 && g1 && g2 && (g1[0] & 0x0f) == 0 && (g1[0] & 0x80) &&
		  (g2[0] & 0x0f) == 1 && !(g2[0] & 0x80) && g1[7] == 1 && g2[7] == 1 &&
		  (int)be16(g1 + 10) == rel_a && (int)be16(g2 + 10) == rel_b,
	      "RTPG: group 1 active/optimized preferred with path A, group 2 non-optimized with "
	      "path B");
	na = rtpg(&a, 0, ra, sizeof(ra));
	nb = rtpg(&b, 0, rb, sizeof(rb));
	check(na > 4 && na == nb && memcmp(ra, rb, (size_t)na) == 0 &&
		  (int)(ra[0] << 24 | ra[1] << 16 | ra[2] << 8 | ra[3]) == na - 4 &&
		  be16(ra + 4 + 2) == 1,
	      "RTPG (length only) identical on both paths");
	check(rw_block(&a, 8, 0xa1) && rw_block(&b, 9, 0xb1), "I/O on both active paths");

	int state, pref, status;
	check(system(argv[3]) == 0, "uscstadmin: group 2 to standby");
	check(tur_status(&b, SCSI_SENSE_UNIT_ATTENTION, 0x2a06), "path B: 2Ah/06h");
	check(tur_status(&a, SCSI_SENSE_UNIT_ATTENTION, 0x2a06), "path A: 2Ah/06h");
	check(group_state(&b, 2, &state, &pref, &status) && state == 2 && status == 2,
	      "RTPG on path B: group 2 standby, altered by implicit transition");
	check(read_refused(&b, 0x040b), "READ on the standby path: NOT READY 04h/0Bh");
	check(tur_status(&b, SCSI_SENSE_NOT_READY, 0x040b),
	      "TEST UNIT READY on the standby path: NOT READY 04h/0Bh");
	check(inquiry_tpgs(&b) == 3, "INQUIRY on the standby path");
	check(rw_block(&a, 10, 0xa2), "I/O on the active path");

	/* Explicit: group 2 unavailable, asked on path A. */
	uint8_t p[12] = {0};
	p[4] = 0x03; /* unavailable */
	p[7] = 2;
	check(stpg_expect(&a, p, 8, 0, 0), "SET TARGET PORT GROUPS: group 2 unavailable");
	check(tur_status(&a, 0, 0), "path A (the sender): no unit attention");
	check(tur_status(&b, SCSI_SENSE_UNIT_ATTENTION, 0x2a06), "path B: 2Ah/06h");
	check(read_refused(&b, 0x040c), "READ on the unavailable path: NOT READY 04h/0Ch");
	check(group_state(&a, 2, &state, &pref, &status) && state == 3 && status == 1,
	      "RTPG: group 2 unavailable, altered by SET TARGET PORT GROUPS");
	check(stpg_expect(&a, p, 6, SCSI_SENSE_ILLEGAL_REQUEST, 0x1a00),
	      "STPG: parameter list length 6 refused (1Ah/00h)");
	p[4] = 0x0e; /* offline: not for STPG */
	check(stpg_expect(&a, p, 8, SCSI_SENSE_ILLEGAL_REQUEST, 0x2600),
	      "STPG: offline refused (26h/00h)");
	p[4] = 0x00;
	p[7] = 99;
	check(stpg_expect(&a, p, 8, SCSI_SENSE_ILLEGAL_REQUEST, 0x2600),
	      "STPG: unknown group refused (26h/00h)");
	check(group_state(&a, 2, &state, &pref, &status) && state == 3,
	      "refused STPGs changed nothing");

	check(system(argv[4]) == 0, "uscstadmin: group 2 to active");
	check(tur_status(&b, SCSI_SENSE_UNIT_ATTENTION, 0x2a06), "path B: 2Ah/06h");
	check(rw_block(&b, 11, 0xb2), "I/O on path B again");

	iscsi_logout_sync(a.iscsi);
	iscsi_logout_sync(b.iscsi);
	iscsi_destroy_context(a.iscsi);
	iscsi_destroy_context(b.iscsi);
	printf("alua_client: %d failed\n", failures);
	return failures ? 1 : 0;
}
