/*
 * The SMC command set (vchanger): a changer built from a temporary
 * library directory by the real attach step, its drives two nullio
 * devices behind a drive double that records every load and unload (and
 * can fail one or report a prevention).  Commands run through the command
 * set's decode and dispatch, as the transport runs them, so the usage
 * masks are part of what is tested.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/builtin.h"
#include "fixtures/fixture_scsi.h"
#include "scsi/smc.h"

/* --- the drive double --- */

#define LOADS_MAX 16
static struct {
	unsigned nloads;
	char drive[LOADS_MAX][64];
	char path[LOADS_MAX][512]; /* "" for an unload */
	int fail_next;		   /* -errno for a coming load, 0: succeed */
	unsigned fail_skip;	   /* loads that succeed before fail_next hits */
	bool prevented[2];
} drv;

static bool double_usable(struct uscst_device *dev, char *why, size_t whylen)
{
	if (strncmp(uscst_device_name(dev), "smc_tape", 8) == 0)
		return true;
	snprintf(why, whylen, "is not a tape drive");
	return false;
}

static int double_load(struct uscst_device *drive, const char *path, char *err, size_t errlen)
{
	if (drv.fail_next && drv.fail_skip) {
		drv.fail_skip--;
	} else if (drv.fail_next) {
		int rc = drv.fail_next;
		drv.fail_next = 0;
		snprintf(err, errlen, "injected failure");
		return rc;
	}
	assert_true(drv.nloads < LOADS_MAX);
	snprintf(drv.drive[drv.nloads], sizeof(drv.drive[0]), "%s", uscst_device_name(drive));
	snprintf(drv.path[drv.nloads], sizeof(drv.path[0]), "%s", path ? path : "");
	drv.nloads++;
	return 0;
}

static bool double_prevented(struct uscst_device *drive)
{
	return drv.prevented[uscst_device_name(drive)[8] - '0'];
}

static const struct smc_drive_ops double_ops = {
    .usable = double_usable,
    .load = double_load,
    .removal_prevented = double_prevented,
};

/* --- set-up: a library of 3 tapes, 5 slots, 1 I/E, 2 drives --- */

static struct uscst_device *drives[2];
static struct uscst_device *disk; /* usable() refuses it */

struct smc_test {
	struct scsi_fixture *f;
	struct uscst_device *changer;
	char dir[64];
};

static void put_file(const char *dir, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("tape", fp);
	fclose(fp);
}

static int group_setup(void **state)
{
	assert_true(scsi_register_cmdsets());
	assert_int_equal(uscst_backends_register_builtin(), 0);
	char err[256];
	const char *names[3] = {"smc_tape0", "smc_tape1", "smc_disk"};
	for (int i = 0; i < 3; i++) {
		struct uscst_device *d =
		    uscst_device_create("vdisk_nullio", names[i], err, sizeof(err));
		assert_non_null(d);
		assert_true(uscst_device_set_attr(d, "size_mb", "1", err, sizeof(err)));
		assert_int_equal(uscst_device_open(d, err, sizeof(err)), 0);
		if (i < 2)
			drives[i] = d;
		else
			disk = d;
	}
	smc_set_drive_ops(&double_ops);
	return 0;
}

/* A changer device (not attached) over dir, with these attributes. */
static struct uscst_device *new_changer(const char *dir, const char *drive_list, const char *slots,
					const char *ie)
{
	static unsigned n;
	char name[32], err[256];
	snprintf(name, sizeof(name), "smc_lib%u", n++);
	struct uscst_device *c = uscst_device_create("vchanger", name, err, sizeof(err));
	assert_non_null(c);
	assert_true(uscst_device_set_attr(c, "library_dir", dir, err, sizeof(err)));
	assert_true(uscst_device_set_attr(c, "drives", drive_list, err, sizeof(err)));
	assert_true(uscst_device_set_attr(c, "slots", slots, err, sizeof(err)));
	assert_true(uscst_device_set_attr(c, "ie_slots", ie, err, sizeof(err)));
	assert_int_equal(uscst_device_open(c, err, sizeof(err)), 0);
	return c;
}

static int setup(void **state)
{
	struct smc_test *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	strcpy(t->dir, "/tmp/test_smc.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	/* Name order is not creation order. */
	put_file(t->dir, "TAPE03.img");
	put_file(t->dir, "TAPE01.tape");
	put_file(t->dir, "TAPE02");
	memset(&drv, 0, sizeof(drv));
	/* Spaces around the names are allowed. */
	t->changer = new_changer(t->dir, "smc_tape0, smc_tape1", "5", "1");
	char err[512] = "";
	assert_int_equal(uscst_device_attach(t->changer, err, sizeof(err)), 0);
	t->f = fixture_new(512);
	t->f->map.luns[0].dev = t->changer;
	*state = t;
	return 0;
}

static void remove_dir(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static int teardown(void **state)
{
	struct smc_test *t = *state;
	smc_detach(t->changer);
	fixture_free(t->f);
	remove_dir(t->dir);
	free(t);
	return 0;
}

/* Decode and dispatch through the SMC command set. */
static struct uscst_cmd *run(struct smc_test *t, const uint8_t *cdb, unsigned len)
{
	struct uscst_cmd *cmd = fixture_prepare(t->f, 0, cdb, len);
	scsi_smc_cmdset.decode(cmd);
	scsi_smc_cmdset.dispatch(cmd);
	assert_int_equal(t->f->done_calls, 1);
	return cmd;
}

static void assert_invalid_field(const struct uscst_cmd *cmd, unsigned byte, int bit)
{
	fixture_assert_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(cmd->sense[15], bit < 0 ? 0xc0 : 0x80 | 0x40 | 0x08 | bit);
	assert_int_equal(get_be16(cmd->sense + 16), byte);
}

static struct uscst_cmd *move(struct smc_test *t, uint16_t mt, uint16_t src, uint16_t dst)
{
	uint8_t cdb[12] = {0xa5};
	put_be16(cdb + 2, mt);
	put_be16(cdb + 4, src);
	put_be16(cdb + 6, dst);
	return run(t, cdb, 12);
}

static struct uscst_cmd *res(struct smc_test *t, uint8_t b1, uint16_t start, uint16_t n, uint8_t b6,
			     uint32_t alloc)
{
	uint8_t cdb[12] = {0xb8, b1};
	put_be16(cdb + 2, start);
	put_be16(cdb + 4, n);
	cdb[6] = b6;
	cdb[7] = (uint8_t)(alloc >> 16);
	put_be16(cdb + 8, (uint16_t)alloc);
	return run(t, cdb, 12);
}

/* The barcode in the primary volume tag of a descriptor (VOLTAG set),
 * spaces stripped; "" for an empty element. */
static void volume_tag(const uint8_t *d, char *out)
{
	memcpy(out, d + 12, 32);
	out[32] = '\0';
	for (int i = 31; i >= 0 && (out[i] == ' ' || out[i] == '\0'); i--)
		out[i] = '\0';
}

/* The descriptor of element addr in a READ ELEMENT STATUS answer, or NULL. */
static const uint8_t *find_desc(const struct uscst_cmd *cmd, uint16_t addr)
{
	const uint8_t *b = cmd->in_buf;
	uint32_t end = 8 + get_be32(b + 4);
	uint32_t off = 8;
	while (off < end && off < cmd->in_len) {
		uint16_t dl = get_be16(b + off + 2);
		uint32_t count = get_be32(b + off + 4) & 0xffffff;
		for (uint32_t d = off + 8; d < off + 8 + count; d += dl)
			if (get_be16(b + d) == addr)
				return b + d;
		off += 8 + count;
	}
	return NULL;
}

static void assert_tag(const struct uscst_cmd *cmd, uint16_t addr, const char *barcode)
{
	const uint8_t *d = find_desc(cmd, addr);
	assert_non_null(d);
	char tag[33];
	volume_tag(d, tag);
	assert_string_equal(tag, barcode);
	assert_int_equal(d[2] & 0x01, barcode[0] ? 1 : 0); /* FULL */
}

/* --- tests --- */

static void test_inquiry_changer(void **state)
{
	struct smc_test *t = *state;
	const uint8_t cdb[6] = {0x12, 0, 0, 0, 96, 0};
	struct uscst_cmd *cmd = run(t, cdb, 6);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_buf[0], 0x08);		      /* medium changer */
	assert_int_equal(cmd->in_buf[1], 0x80);		      /* RMB */
	assert_int_equal(get_be16(cmd->in_buf + 64), 0x0480); /* SMC-3 */
	const uint8_t tur[6] = {0};
	fixture_assert_good(run(t, tur, 6));
	/* The shared SPC masks: a reserved bit of TEST UNIT READY. */
	const uint8_t tur_bad[6] = {0, 0, 1, 0, 0, 0};
	assert_invalid_field(run(t, tur_bad, 6), 2, 0);
	const uint8_t rl[12] = {0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0};
	cmd = run(t, rl, 12);
	fixture_assert_good(cmd);
	assert_int_equal(get_be32(cmd->in_buf), 8);
}

static void test_unknown_opcodes(void **state)
{
	struct smc_test *t = *state;
	/* A block read, MODE SELECT: unknown here. */
	const uint8_t r10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	fixture_assert_sense(run(t, r10, 10), SK_ILLEGAL_REQUEST, 0x20, 0x00);
	const uint8_t msel[6] = {0x15, 0x10, 0, 0, 0, 0};
	fixture_assert_sense(run(t, msel, 6), SK_ILLEGAL_REQUEST, 0x20, 0x00);
	/* Another service action of MAINTENANCE IN (REPORT SUPPORTED TASK
	 * MANAGEMENT FUNCTIONS): the field pointer at SERVICE ACTION. */
	const uint8_t rstmf[12] = {0xa3, 0x0d, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0};
	assert_invalid_field(run(t, rstmf, 12), 1, 4);
	/* EXCHANGE MEDIUM is not built. */
	const uint8_t xchg[12] = {0xa6};
	fixture_assert_sense(run(t, xchg, 12), SK_ILLEGAL_REQUEST, 0x20, 0x00);
}

/* REPORT SUPPORTED OPERATION CODES lists the changer's own table, with
 * its usage masks. */
static void test_report_supported_opcodes(void **state)
{
	struct smc_test *t = *state;
	const uint8_t all[12] = {0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0};
	struct uscst_cmd *cmd = run(t, all, 12);
	fixture_assert_good(cmd);
	/* Not REPORT / SET TARGET PORT GROUPS: the changer is in no device
	 * group. */
	unsigned listed = scsi_smc_opcodes_count - 2;
	assert_int_equal(get_be32(cmd->in_buf), 8 * listed);
	bool move_seen = false;
	for (unsigned i = 0; i < listed; i++)
		move_seen |= cmd->in_buf[4 + 8 * i] == 0xa5;
	assert_true(move_seen);
	/* One command: READ ELEMENT STATUS and its CDB usage data. */
	const uint8_t one[12] = {0xa3, 0x0c, 0x01, 0xb8, 0, 0, 0, 0, 0, 64, 0, 0};
	cmd = run(t, one, 12);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_buf[1] & 0x07, 0x03); /* SUPPORT: as the standard says */
	assert_int_equal(get_be16(cmd->in_buf + 2), 12);
	const uint8_t usage[12] = {0xb8, 0x1f, 0xff, 0xff, 0xff, 0xff,
				   0x03, 0xff, 0xff, 0xff, 0,	 0};
	assert_memory_equal(cmd->in_buf + 4, usage, 12);
	/* A disk command is not supported here. */
	const uint8_t r10[12] = {0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 0, 64, 0, 0};
	cmd = run(t, r10, 12);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_buf[1] & 0x07, 0x01); /* not supported */
}

static void test_res_all_voltag(void **state)
{
	struct smc_test *t = *state;
	struct uscst_cmd *cmd = res(t, 0x10, 0, 0xffff, 0, 4096);
	fixture_assert_good(cmd);
	const uint8_t *b = cmd->in_buf;
	/* 1 transport + 1 I/E + 2 drives + 5 slots, 4 pages of 8 bytes and
	 * descriptors of 12 + 36 bytes. */
	assert_int_equal(get_be16(b), SMC_ADDR_TRANSPORT);
	assert_int_equal(get_be16(b + 2), 9);
	assert_int_equal(get_be32(b + 4), 4 * 8 + 9 * 48);
	assert_int_equal(cmd->in_len, 8 + 4 * 8 + 9 * 48);
	/* Pages in address order: transport, I/E, drives, storage. */
	const uint8_t *p = b + 8;
	const uint8_t types[4] = {1, 3, 4, 2}, counts[4] = {1, 1, 2, 5};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(p[0], types[i]);
		assert_int_equal(p[1], 0x80); /* PVOLTAG */
		assert_int_equal(get_be16(p + 2), 48);
		assert_int_equal(get_be32(p + 4), counts[i] * 48);
		p += 8 + counts[i] * 48;
	}
	/* Tapes in barcode order from the first slot, whatever their
	 * extension; the volume tag is space padded. */
	assert_tag(cmd, SMC_ADDR_SLOT, "TAPE01");
	assert_tag(cmd, SMC_ADDR_SLOT + 1, "TAPE02");
	assert_tag(cmd, SMC_ADDR_SLOT + 2, "TAPE03");
	assert_tag(cmd, SMC_ADDR_SLOT + 3, "");
	assert_tag(cmd, SMC_ADDR_DRIVE, "");
	const uint8_t *d = find_desc(cmd, SMC_ADDR_SLOT);
	assert_int_equal(d[12 + 6], ' ');
	assert_int_equal(d[2], 0x09); /* ACCESS, FULL */
	assert_int_equal(d[9], 0x01); /* never moved: SVALID 0; data medium */
	d = find_desc(cmd, SMC_ADDR_IE);
	assert_int_equal(d[2], 0x38); /* INENAB, EXENAB, ACCESS */
	/* An empty element's volume tag is zero. */
	d = find_desc(cmd, SMC_ADDR_SLOT + 4);
	for (int i = 12; i < 48; i++)
		assert_int_equal(d[i], 0);
}

static void test_res_types_start_count(void **state)
{
	struct smc_test *t = *state;
	/* Storage only, from the second slot, two of them, no volume tags. */
	struct uscst_cmd *cmd = res(t, 0x02, SMC_ADDR_SLOT + 1, 2, 0, 4096);
	fixture_assert_good(cmd);
	assert_int_equal(get_be16(cmd->in_buf), SMC_ADDR_SLOT + 1);
	assert_int_equal(get_be16(cmd->in_buf + 2), 2);
	assert_int_equal(cmd->in_len, 8 + 8 + 2 * 12);
	assert_int_equal(cmd->in_buf[8], 2);
	assert_int_equal(cmd->in_buf[9], 0); /* no PVOLTAG */
	assert_int_equal(get_be16(cmd->in_buf + 10), 12);
	assert_int_equal(get_be16(cmd->in_buf + 16), SMC_ADDR_SLOT + 1);
	assert_int_equal(get_be16(cmd->in_buf + 28), SMC_ADDR_SLOT + 2);
	/* A start address between elements: the next ones of the type. */
	cmd = res(t, 0x04, 0x0005, 10, 0, 4096);
	fixture_assert_good(cmd);
	assert_int_equal(get_be16(cmd->in_buf), SMC_ADDR_DRIVE);
	assert_int_equal(get_be16(cmd->in_buf + 2), 2);
	/* Transport, I/E. */
	cmd = res(t, 0x01, 0, 10, 0, 4096);
	assert_int_equal(get_be16(cmd->in_buf + 2), 1);
	assert_int_equal(cmd->in_buf[8], 1);
	cmd = res(t, 0x03, 0, 10, 0, 4096);
	assert_int_equal(get_be16(cmd->in_buf + 2), 1);
	assert_int_equal(get_be16(cmd->in_buf), SMC_ADDR_IE);
	/* All types from the drives on: drives then slots. */
	cmd = res(t, 0x00, SMC_ADDR_DRIVE + 1, 3, 0, 4096);
	assert_int_equal(get_be16(cmd->in_buf + 2), 3);
	assert_int_equal(cmd->in_buf[8], 4);
	assert_int_equal(cmd->in_len, 8 + 8 + 12 + 8 + 2 * 12);
	/* NUMBER OF ELEMENTS 0: the header alone. */
	cmd = res(t, 0x00, 0, 0, 0, 4096);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 8);
	assert_int_equal(get_be16(cmd->in_buf + 2), 0);
}

static void test_res_errors_and_allocation(void **state)
{
	struct smc_test *t = *state;
	/* ELEMENT TYPE CODE 5: reserved. */
	assert_invalid_field(res(t, 0x05, 0, 10, 0, 4096), 1, 3);
	/* Bits 7..5 of byte 1, bits 7..2 of byte 6, byte 10: reserved. */
	assert_invalid_field(res(t, 0x20, 0, 10, 0, 4096), 1, 5);
	assert_invalid_field(res(t, 0x00, 0, 10, 0x04, 4096), 6, 2);
	uint8_t r10[12] = {0xb8, 0, 0, 0, 0, 10, 0, 0, 0x10, 0, 0x01, 0};
	assert_invalid_field(run(t, r10, 12), 10, 0);
	/* No element of the type at or above the start. */
	fixture_assert_sense(res(t, 0x04, SMC_ADDR_DRIVE + 2, 10, 0, 4096), SK_ILLEGAL_REQUEST,
			     0x21, 0x01);
	fixture_assert_sense(res(t, 0x00, 0xffff, 10, 0, 4096), SK_ILLEGAL_REQUEST, 0x21, 0x01);
	/* ALLOCATION LENGTH cuts the data, never the counts. */
	struct uscst_cmd *cmd = res(t, 0x10, 0, 0xffff, 0, 30);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 30);
	assert_int_equal(get_be16(cmd->in_buf + 2), 9);
	assert_int_equal(get_be32(cmd->in_buf + 4), 4 * 8 + 9 * 48);
	/* A 24-bit ALLOCATION LENGTH above 64 KiB is fine. */
	cmd = res(t, 0x10, 0, 0xffff, 0, 0x010000);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 8 + 4 * 8 + 9 * 48);
	cmd = res(t, 0x10, 0, 0xffff, 0, 0);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 0);
	/* CURDATA is accepted and changes nothing. */
	fixture_assert_good(res(t, 0x10, 0, 0xffff, 0x02, 4096));
}

static void test_res_dvcid(void **state)
{
	struct smc_test *t = *state;
	struct uscst_cmd *cmd = res(t, 0x14, 0, 10, 0x01, 4096);
	fixture_assert_good(cmd);
	/* Drives: 12 + 36 + 4 + 40. */
	assert_int_equal(get_be16(cmd->in_buf + 10), 92);
	const uint8_t *d = cmd->in_buf + 16;
	const uint8_t *id = d + 48;
	assert_int_equal(id[0], 0x02); /* ASCII */
	assert_int_equal(id[1], 0x01); /* LU, T10 vendor ID */
	assert_int_equal(id[3], 8 + strlen("smc_tape0"));
	assert_memory_equal(id + 4, "USCST   smc_tape0", 17);
	assert_int_equal(get_be16(d + 92), SMC_ADDR_DRIVE + 1);
	/* Other types keep their length. */
	cmd = res(t, 0x12, 0, 1, 0x01, 4096);
	assert_int_equal(get_be16(cmd->in_buf + 10), 48);
}

static void test_move_slot_drive_and_back(void **state)
{
	struct smc_test *t = *state;
	/* TAPE02 to the second drive: the drive loads its image. */
	fixture_assert_good(move(t, 0, SMC_ADDR_SLOT + 1, SMC_ADDR_DRIVE + 1));
	assert_int_equal(drv.nloads, 1);
	assert_string_equal(drv.drive[0], "smc_tape1");
	char want[128];
	snprintf(want, sizeof(want), "%s/TAPE02", t->dir);
	assert_string_equal(drv.path[0], want);
	struct uscst_cmd *cmd = res(t, 0x10, 0, 0xffff, 0, 4096);
	assert_tag(cmd, SMC_ADDR_DRIVE + 1, "TAPE02");
	assert_tag(cmd, SMC_ADDR_SLOT + 1, "");
	const uint8_t *d = find_desc(cmd, SMC_ADDR_DRIVE + 1);
	assert_int_equal(d[9] & 0x80, 0x80); /* SVALID: from slot 2 */
	assert_int_equal(get_be16(d + 10), SMC_ADDR_SLOT + 1);
	/* Back to another slot (transport given explicitly): unloaded. */
	fixture_assert_good(move(t, SMC_ADDR_TRANSPORT, SMC_ADDR_DRIVE + 1, SMC_ADDR_SLOT + 4));
	assert_int_equal(drv.nloads, 2);
	assert_string_equal(drv.drive[1], "smc_tape1");
	assert_string_equal(drv.path[1], "");
	cmd = res(t, 0x10, 0, 0xffff, 0, 4096);
	assert_tag(cmd, SMC_ADDR_SLOT + 4, "TAPE02");
	assert_tag(cmd, SMC_ADDR_DRIVE + 1, "");
	d = find_desc(cmd, SMC_ADDR_SLOT + 4);
	assert_int_equal(get_be16(d + 10), SMC_ADDR_DRIVE + 1);
	/* Drive to drive: unload one, load the other; slot to I/E and back. */
	fixture_assert_good(move(t, 0, SMC_ADDR_SLOT, SMC_ADDR_DRIVE));
	fixture_assert_good(move(t, 0, SMC_ADDR_DRIVE, SMC_ADDR_DRIVE + 1));
	assert_int_equal(drv.nloads, 5);
	assert_string_equal(drv.drive[3], "smc_tape0");
	assert_string_equal(drv.path[3], "");
	assert_string_equal(drv.drive[4], "smc_tape1");
	fixture_assert_good(move(t, 0, SMC_ADDR_SLOT + 2, SMC_ADDR_IE));
	cmd = res(t, 0x13, 0, 0xffff, 0, 4096);
	assert_tag(cmd, SMC_ADDR_IE, "TAPE03");
	assert_int_equal(drv.nloads, 5);
}

static void test_move_errors(void **state)
{
	struct smc_test *t = *state;
	/* Empty source, full destination, addresses of no element. */
	fixture_assert_sense(move(t, 0, SMC_ADDR_SLOT + 3, SMC_ADDR_SLOT + 4), SK_ILLEGAL_REQUEST,
			     0x3b, 0x0e);
	fixture_assert_sense(move(t, 0, SMC_ADDR_SLOT, SMC_ADDR_SLOT + 1), SK_ILLEGAL_REQUEST, 0x3b,
			     0x0d);
	fixture_assert_sense(move(t, 0, SMC_ADDR_SLOT + 5, SMC_ADDR_SLOT + 4), SK_ILLEGAL_REQUEST,
			     0x21, 0x01);
	fixture_assert_sense(move(t, 0, SMC_ADDR_SLOT, SMC_ADDR_DRIVE + 2), SK_ILLEGAL_REQUEST,
			     0x21, 0x01);
	fixture_assert_sense(move(t, SMC_ADDR_SLOT, SMC_ADDR_SLOT, SMC_ADDR_SLOT + 4),
			     SK_ILLEGAL_REQUEST, 0x21, 0x01);
	fixture_assert_sense(move(t, 2, SMC_ADDR_SLOT, SMC_ADDR_SLOT + 4), SK_ILLEGAL_REQUEST, 0x21,
			     0x01);
	/* The transport as source or destination. */
	assert_invalid_field(move(t, 0, SMC_ADDR_TRANSPORT, SMC_ADDR_SLOT + 4), 4, 7);
	assert_invalid_field(move(t, 0, SMC_ADDR_SLOT, SMC_ADDR_TRANSPORT), 6, 7);
	/* INVERT and reserved bytes. */
	uint8_t inv[12] = {0xa5, 0, 0, 0, 0x04, 0x00, 0x04, 0x04, 0, 0, 0x01, 0};
	assert_invalid_field(run(t, inv, 12), 10, 0);
	uint8_t rsv[12] = {0xa5, 0, 0, 0, 0x04, 0x00, 0x04, 0x04, 0x80, 0, 0, 0};
	assert_invalid_field(run(t, rsv, 12), 8, 7);
	/* Nothing moved, no drive touched. */
	assert_int_equal(drv.nloads, 0);
	struct uscst_cmd *cmd = res(t, 0x12, 0, 0xffff, 0, 4096);
	assert_tag(cmd, SMC_ADDR_SLOT, "TAPE01");
	assert_tag(cmd, SMC_ADDR_SLOT + 4, "");
}

static void test_move_drive_prevented_and_failing(void **state)
{
	struct smc_test *t = *state;
	fixture_assert_good(move(t, 0, SMC_ADDR_SLOT, SMC_ADDR_DRIVE));
	drv.prevented[0] = true;
	fixture_assert_sense(move(t, 0, SMC_ADDR_DRIVE, SMC_ADDR_SLOT), SK_ILLEGAL_REQUEST, 0x53,
			     0x02);
	drv.prevented[0] = false;
	assert_int_equal(drv.nloads, 1);
	/* A prevention that comes between the check and the unload: the
	 * drive refuses (-EBUSY), the same sense, the tape stays. */
	drv.fail_next = -EBUSY;
	fixture_assert_sense(move(t, 0, SMC_ADDR_DRIVE, SMC_ADDR_SLOT), SK_ILLEGAL_REQUEST, 0x53,
			     0x02);
	assert_int_equal(drv.nloads, 1);
	assert_tag(res(t, 0x14, 0, 0xffff, 0, 4096), SMC_ADDR_DRIVE, "TAPE01");
	/* A drive that cannot load: HARDWARE ERROR, the tape where it was. */
	drv.fail_next = -EIO;
	fixture_assert_sense(move(t, 0, SMC_ADDR_SLOT + 1, SMC_ADDR_DRIVE + 1), SK_HARDWARE_ERROR,
			     0x44, 0x00);
	struct uscst_cmd *cmd = res(t, 0x10, 0, 0xffff, 0, 4096);
	assert_tag(cmd, SMC_ADDR_SLOT + 1, "TAPE02");
	assert_tag(cmd, SMC_ADDR_DRIVE + 1, "");
	assert_tag(cmd, SMC_ADDR_DRIVE, "TAPE01");
	const uint8_t *d = find_desc(cmd, SMC_ADDR_SLOT + 1);
	assert_int_equal(d[9] & 0x80, 0); /* its source is as before */
	/* Drive to drive, the second drive failing: the first gets its tape
	 * back (unload, failed load, reload). */
	drv.nloads = 0;
	drv.fail_next = -EIO;
	drv.fail_skip = 1;
	fixture_assert_sense(move(t, 0, SMC_ADDR_DRIVE, SMC_ADDR_DRIVE + 1), SK_HARDWARE_ERROR,
			     0x44, 0x00);
	assert_int_equal(drv.nloads, 2);
	assert_string_equal(drv.drive[0], "smc_tape0");
	assert_string_equal(drv.path[0], "");
	assert_string_equal(drv.drive[1], "smc_tape0");
	char want[128];
	snprintf(want, sizeof(want), "%s/TAPE01.tape", t->dir);
	assert_string_equal(drv.path[1], want);
	cmd = res(t, 0x14, 0, 0xffff, 0, 4096);
	assert_tag(cmd, SMC_ADDR_DRIVE, "TAPE01");
	assert_tag(cmd, SMC_ADDR_DRIVE + 1, "");
}

/* INITIALIZE ELEMENT STATUS takes in what the operator did to the
 * directory: new images in the I/E element (IMPEXP) then the slots, gone
 * ones out of their slots (not out of a drive), bad names ignored. */
static void test_rescan_imports_and_removals(void **state)
{
	struct smc_test *t = *state;
	const uint8_t ies[6] = {0x07};
	fixture_assert_good(move(t, 0, SMC_ADDR_SLOT, SMC_ADDR_DRIVE));
	put_file(t->dir, "NEW05.tape");
	put_file(t->dir, "NEW06.tape");
	put_file(t->dir, "bad name.tape");
	char path[160];
	snprintf(path, sizeof(path), "%s/TAPE01.tape", t->dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/TAPE02", t->dir);
	assert_int_equal(unlink(path), 0);
	fixture_assert_good(run(t, ies, 6));
	struct uscst_cmd *cmd = res(t, 0x10, 0, 0xffff, 0, 4096);
	assert_tag(cmd, SMC_ADDR_DRIVE, "TAPE01"); /* stays in its drive */
	assert_tag(cmd, SMC_ADDR_SLOT + 1, "");	   /* TAPE02 is gone */
	/* Directory order is not name order: one in the I/E element, the
	 * other in the first empty slot. */
	char ie_tag[33], slot_tag[33];
	volume_tag(find_desc(cmd, SMC_ADDR_IE), ie_tag);
	volume_tag(find_desc(cmd, SMC_ADDR_SLOT), slot_tag);
	assert_true((!strcmp(ie_tag, "NEW05") && !strcmp(slot_tag, "NEW06")) ||
		    (!strcmp(ie_tag, "NEW06") && !strcmp(slot_tag, "NEW05")));
	assert_int_equal(find_desc(cmd, SMC_ADDR_IE)[2], 0x3b); /* IMPEXP, FULL */
	/* Moved out and back by the changer: IMPEXP 0. */
	fixture_assert_good(move(t, 0, SMC_ADDR_IE, SMC_ADDR_SLOT + 1));
	fixture_assert_good(move(t, 0, SMC_ADDR_SLOT + 1, SMC_ADDR_IE));
	cmd = res(t, 0x13, 0, 0xffff, 0, 4096);
	assert_int_equal(find_desc(cmd, SMC_ADDR_IE)[2], 0x39);
	/* Nothing new: nothing changes; WITH RANGE rescans too. */
	fixture_assert_good(run(t, ies, 6));
	put_file(t->dir, "NEW07.tape");
	const uint8_t range[10] = {0xe7, 0x01, 0x04, 0x00, 0, 0, 0, 1, 0, 0};
	fixture_assert_good(run(t, range, 10));
	cmd = res(t, 0x12, 0, 0xffff, 0, 4096);
	assert_tag(cmd, SMC_ADDR_SLOT + 1, "NEW07");
	/* The state file has it all (a bad name stops a start, unlike a
	 * rescan: out with it first). */
	smc_detach(t->changer);
	snprintf(path, sizeof(path), "%s/bad name.tape", t->dir);
	assert_int_equal(unlink(path), 0);
	t->changer = new_changer(t->dir, "smc_tape0,smc_tape1", "5", "1");
	t->f->map.luns[0].dev = t->changer;
	char err[512] = "";
	assert_int_equal(uscst_device_attach(t->changer, err, sizeof(err)), 0);
	cmd = res(t, 0x10, 0, 0xffff, 0, 4096);
	assert_tag(cmd, SMC_ADDR_SLOT + 1, "NEW07");
	assert_tag(cmd, SMC_ADDR_IE, ie_tag);
	assert_tag(cmd, SMC_ADDR_SLOT, slot_tag);
}

/* The state file cannot be written (its temporary name is taken by a
 * directory): the move is refused and nothing changes. */
static void test_move_state_write_fails(void **state)
{
	struct smc_test *t = *state;
	char path[128];
	snprintf(path, sizeof(path), "%s/" SMC_STATE_FILE ".tmp", t->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	fixture_assert_sense(move(t, 0, SMC_ADDR_SLOT, SMC_ADDR_DRIVE), SK_HARDWARE_ERROR, 0x44,
			     0x00);
	assert_int_equal(drv.nloads, 0);
	struct uscst_cmd *cmd = res(t, 0x10, 0, 0xffff, 0, 4096);
	assert_tag(cmd, SMC_ADDR_SLOT, "TAPE01");
	assert_tag(cmd, SMC_ADDR_DRIVE, "");
	rmdir(path);
	fixture_assert_good(move(t, 0, SMC_ADDR_SLOT, SMC_ADDR_DRIVE));
	assert_int_equal(drv.nloads, 1);
}

static void test_move_read_only_mapping(void **state)
{
	struct smc_test *t = *state;
	t->f->map.luns[0].read_only = true;
	fixture_assert_sense(move(t, 0, SMC_ADDR_SLOT, SMC_ADDR_DRIVE), SK_DATA_PROTECT, 0x27,
			     0x00);
	fixture_assert_good(res(t, 0x10, 0, 0xffff, 0, 4096));
	assert_int_equal(drv.nloads, 0);
}

/* The state file brings the tapes back where they were, loads the drives
 * that hold one, forgets a tape whose image is gone and puts a new one in
 * the first empty slot. */
static void test_state_survives_restart(void **state)
{
	struct smc_test *t = *state;
	fixture_assert_good(move(t, 0, SMC_ADDR_SLOT + 2, SMC_ADDR_DRIVE + 1));
	fixture_assert_good(move(t, 0, SMC_ADDR_SLOT, SMC_ADDR_SLOT + 3));
	smc_detach(t->changer);
	char path[128];
	snprintf(path, sizeof(path), "%s/TAPE02", t->dir);
	assert_int_equal(unlink(path), 0);
	put_file(t->dir, "TAPE00.tape");
	memset(&drv, 0, sizeof(drv));
	t->changer = new_changer(t->dir, "smc_tape0,smc_tape1", "5", "1");
	t->f->map.luns[0].dev = t->changer;
	char err[512] = "";
	assert_int_equal(uscst_device_attach(t->changer, err, sizeof(err)), 0);
	assert_int_equal(drv.nloads, 1);
	assert_string_equal(drv.drive[0], "smc_tape1");
	snprintf(path, sizeof(path), "%s/TAPE03.img", t->dir);
	assert_string_equal(drv.path[0], path);
	struct uscst_cmd *cmd = res(t, 0x10, 0, 0xffff, 0, 4096);
	assert_tag(cmd, SMC_ADDR_DRIVE + 1, "TAPE03");
	assert_tag(cmd, SMC_ADDR_SLOT + 3, "TAPE01");
	assert_tag(cmd, SMC_ADDR_SLOT, "TAPE00");
	assert_tag(cmd, SMC_ADDR_SLOT + 1, "");
	assert_tag(cmd, SMC_ADDR_SLOT + 2, "");
	const uint8_t *d = find_desc(cmd, SMC_ADDR_SLOT + 3);
	assert_int_equal(get_be16(d + 10), SMC_ADDR_SLOT);
	/* The file itself: no temporary left behind. */
	snprintf(path, sizeof(path), "%s/" SMC_STATE_FILE ".tmp", t->dir);
	assert_int_equal(access(path, F_OK), -1);
}

/* Attach on a fresh changer over dir; returns its error. */
static int attach_error(const char *dir, const char *drive_list, const char *slots, char *err,
			size_t errlen)
{
	struct uscst_device *c = new_changer(dir, drive_list, slots, "1");
	err[0] = '\0';
	int rc = uscst_device_attach(c, err, errlen);
	smc_detach(c);
	return rc;
}

static void assert_attach_fails(const char *dir, const char *drive_list, const char *slots,
				const char *want)
{
	char err[512];
	assert_true(attach_error(dir, drive_list, slots, err, sizeof(err)) < 0);
	if (!strstr(err, want))
		fail_msg("'%s' does not say '%s'", err, want);
}

static void test_config_errors(void **state)
{
	struct smc_test *t = *state;
	char dir[64] = "/tmp/test_smc_bad.XXXXXX";
	assert_non_null(mkdtemp(dir));
	smc_detach(t->changer);
	/* The drives. */
	assert_attach_fails(dir, "smc_tape9", "5", "drives: 'smc_tape9' is not a device");
	assert_attach_fails(dir, "smc_disk", "5", "drives: 'smc_disk' is not a tape drive");
	assert_attach_fails(dir, "smc_tape0,smc_tape0", "5", "'smc_tape0' is named twice");
	assert_attach_fails(dir, "smc_tape0,", "5", "an empty name");
	/* The real seam takes only vtape devices. */
	smc_set_drive_ops(NULL);
	assert_attach_fails(dir, "smc_tape0", "5",
			    "'smc_tape0' is a vdisk_nullio device, not a vtape");
	smc_set_drive_ops(&double_ops);
	assert_attach_fails(dir, ",smc_tape0", "5", "an empty or too long name");
	/* Another changer's drive, another changer's directory. */
	char err[512];
	struct uscst_device *other = new_changer(t->dir, "smc_tape1", "5", "1");
	assert_int_equal(uscst_device_attach(other, err, sizeof(err)), 0);
	assert_attach_fails(dir, "smc_tape0,smc_tape1", "5", "'smc_tape1' is a drive of changer");
	assert_attach_fails(t->dir, "smc_tape0", "5", "already the library of changer");
	smc_detach(other);
	/* The directory. */
	assert_attach_fails("/nonexistent/smc", "smc_tape0", "5",
			    "library_dir /nonexistent/smc: No such file or directory");
	char path[160];
	snprintf(path, sizeof(path), "%s/TAPE01.tape", t->dir);
	assert_attach_fails(path, "smc_tape0", "5", "not a directory");
	put_file(dir, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456.tape"); /* 33 characters */
	assert_attach_fails(dir, "smc_tape0", "5", "must be 1 to 32 characters");
	snprintf(path, sizeof(path), "%s/ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456.tape", dir);
	unlink(path);
	put_file(dir, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345.tape"); /* 32: fine */
	assert_int_equal(attach_error(dir, "smc_tape0", "5", err, sizeof(err)), 0);
	put_file(dir, "has space.tape");
	assert_attach_fails(dir, "smc_tape0", "5", "'has space.tape': a barcode takes");
	snprintf(path, sizeof(path), "%s/has space.tape", dir);
	unlink(path);
	put_file(dir, ".tape");
	put_file(dir, "A.tape");
	put_file(dir, "A.img");
	assert_attach_fails(dir, "smc_tape0", "5", "have the same barcode 'A'");
	snprintf(path, sizeof(path), "%s/A.img", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_attach_fails(dir, "smc_tape0", "5", "'sub' is not a regular file");
	rmdir(path);
	/* A link would make a tape of any file uscstd may open. */
	snprintf(path, sizeof(path), "%s/L.tape", dir);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_attach_fails(dir, "smc_tape0", "5", "'L.tape' is a symbolic link");
	unlink(path);
	/* Three tapes ("." files are hidden) in two slots. */
	put_file(dir, "B.tape");
	assert_attach_fails(dir, "smc_tape0", "2", "tape 'B' finds no empty slot");
	assert_int_equal(attach_error(dir, "smc_tape0", "3", err, sizeof(err)), 0);
	remove_dir(dir);
}

static void write_state(const char *dir, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/" SMC_STATE_FILE, dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_state_file_errors(void **state)
{
	struct smc_test *t = *state;
	smc_detach(t->changer);
	write_state(t->dir, "vchanger-state 2\n");
	assert_attach_fails(t->dir, "smc_tape0", "5",
			    SMC_STATE_FILE ":1: expected 'vchanger-state 1'");
	write_state(t->dir, "# c\nvchanger-state 1\nTAPE01 1024\n");
	assert_attach_fails(t->dir, "smc_tape0", "5", ":3: expected 'BARCODE ADDRESS SOURCE'");
	write_state(t->dir, "vchanger-state 1\nTAPE01 1029 0\n");
	assert_attach_fails(t->dir, "smc_tape0", "5", ":2: tape 'TAPE01' at element 1029");
	write_state(t->dir, "vchanger-state 1\nTAPE01 1 0\n");
	assert_attach_fails(t->dir, "smc_tape0", "5", "at element 1,");
	write_state(t->dir, "vchanger-state 1\nTAPE01 1024 0\nTAPE02 1024 0\n");
	assert_attach_fails(t->dir, "smc_tape0", "5", ":3: tape 'TAPE02' or element 1024 named");
	write_state(t->dir, "vchanger-state 1\nTAPE01 1024 7\n");
	assert_attach_fails(t->dir, "smc_tape0", "5", "source element 7 does not exist");
	write_state(t->dir, "");
	assert_attach_fails(t->dir, "smc_tape0", "5", "empty");
	/* A tape no longer there is forgotten, not an error. */
	char err[512];
	write_state(t->dir, "vchanger-state 1\nGONE 1024 0\nTAPE03 256 1025\n");
	memset(&drv, 0, sizeof(drv));
	assert_int_equal(attach_error(t->dir, "smc_tape0", "5", err, sizeof(err)), 0);
	assert_int_equal(drv.nloads, 1);
	/* A drive that cannot take its tape stops the start. */
	drv.fail_next = -ENOENT;
	assert_attach_fails(t->dir, "smc_tape0", "5",
			    "drive 'smc_tape0': cannot load tape 'TAPE03'");
}

/* library_dir is where others drop tapes: a link planted at the state
 * file's temporary (or its own) name is replaced, and the file it points
 * to is neither written nor read. */
static void test_state_file_links_not_followed(void **state)
{
	struct smc_test *t = *state;
	char victim[128], link[128];
	snprintf(victim, sizeof(victim), "%s/.victim", t->dir);
	FILE *fp = fopen(victim, "w");
	assert_non_null(fp);
	fputs("keep\n", fp);
	fclose(fp);
	snprintf(link, sizeof(link), "%s/" SMC_STATE_FILE ".tmp", t->dir);
	assert_int_equal(symlink(victim, link), 0);
	fixture_assert_good(move(t, 0, SMC_ADDR_SLOT, SMC_ADDR_DRIVE));
	char buf[32] = "";
	fp = fopen(victim, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_string_equal(buf, "keep\n");
	struct stat st;
	snprintf(link, sizeof(link), "%s/" SMC_STATE_FILE, t->dir);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0077, 0);

	/* A tape's image replaced by a link (same barcode, another
	 * extension): a rescan does not take the link as the tape. */
	char img[128], lnk[128];
	snprintf(img, sizeof(img), "%s/TAPE03.img", t->dir);
	snprintf(lnk, sizeof(lnk), "%s/TAPE03.lnk", t->dir);
	assert_int_equal(unlink(img), 0);
	assert_int_equal(symlink(victim, lnk), 0);
	const uint8_t ies[6] = {0x07};
	fixture_assert_good(run(t, ies, 6));
	fixture_assert_good(move(t, 0, SMC_ADDR_SLOT + 2, SMC_ADDR_DRIVE + 1));
	assert_string_equal(drv.path[1], img);
	unlink(lnk);

	/* A link at the state file's own name is not read as the state. */
	smc_detach(t->changer);
	unlink(link);
	fp = fopen(victim, "w");
	assert_non_null(fp);
	fputs("vchanger-state 1\nTAPE01 1029 0\n", fp); /* would stop the start */
	fclose(fp);
	assert_int_equal(symlink(victim, link), 0);
	char err[512];
	assert_true(attach_error(t->dir, "smc_tape0", "5", err, sizeof(err)) < 0);
	if (!strstr(err, "Too many levels of symbolic links"))
		fail_msg("'%s'", err);
}

static struct uscst_cmd *mode_sense10(struct smc_test *t, uint8_t b1, uint8_t b2, uint8_t sub,
				      uint16_t alloc)
{
	uint8_t cdb[10] = {0x5a, b1, b2, sub};
	put_be16(cdb + 7, alloc);
	return run(t, cdb, 10);
}

static void test_mode_sense(void **state)
{
	struct smc_test *t = *state;
	struct uscst_cmd *cmd = mode_sense10(t, 0, 0x1d, 0, 255);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 8 + 20);
	assert_int_equal(get_be16(cmd->in_buf), 26);
	assert_int_equal(get_be16(cmd->in_buf + 6), 0); /* no block descriptors */
	const uint8_t ea[20] = {0x1d, 0x12, 0x00, 0x01, 0x00, 0x01, 0x04, 0x00, 0x00, 0x05,
				0x00, 0x10, 0x00, 0x01, 0x01, 0x00, 0x00, 0x02, 0,    0};
	assert_memory_equal(cmd->in_buf + 8, ea, 20);
	/* All pages, MODE SENSE(6), DBD set. */
	const uint8_t ms6[6] = {0x1a, 0x08, 0x3f, 0, 255, 0};
	cmd = run(t, ms6, 6);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 4 + 20 + 4 + 20);
	assert_int_equal(cmd->in_buf[0], 47);
	assert_int_equal(cmd->in_buf[4 + 20], 0x1e);
	assert_int_equal(cmd->in_buf[4 + 21], 0x02);
	const uint8_t *cap = cmd->in_buf + 4 + 24;
	assert_int_equal(cap[0], 0x1f);
	assert_int_equal(cap[2], 0x0e); /* stores in DT, I/E, ST */
	assert_int_equal(cap[4], 0x00); /* nothing from MT */
	assert_int_equal(cap[5], 0x0e);
	assert_int_equal(cap[6], 0x0e);
	assert_int_equal(cap[7], 0x0e);
	/* 3Fh/FFh is all pages too; truncation keeps MODE DATA LENGTH. */
	cmd = mode_sense10(t, 0x10, 0x3f, 0xff, 10);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 10);
	assert_int_equal(get_be16(cmd->in_buf), 8 + 44 - 2);
	/* Changeable values: nothing. */
	cmd = mode_sense10(t, 0, 0x40 | 0x1d, 0, 255);
	fixture_assert_good(cmd);
	for (int i = 2; i < 20; i++)
		assert_int_equal(cmd->in_buf[8 + i], 0);
	/* Saved: not supported; unknown page and subpage; reserved bits. */
	fixture_assert_sense(mode_sense10(t, 0, 0xdd, 0, 255), SK_ILLEGAL_REQUEST, 0x39, 0x00);
	assert_invalid_field(mode_sense10(t, 0, 0x08, 0, 255), 2, 5);
	assert_invalid_field(mode_sense10(t, 0, 0x1d, 0x01, 255), 3, 7);
	assert_invalid_field(mode_sense10(t, 0x01, 0x1d, 0, 255), 1, 0);
}

static void test_position_initialize_prevent(void **state)
{
	struct smc_test *t = *state;
	uint8_t pos[10] = {0x2b, 0, 0, 0, 0x04, 0x02, 0, 0, 0, 0};
	fixture_assert_good(run(t, pos, 10));
	pos[5] = 0x05; /* slot 6 of 5 */
	fixture_assert_sense(run(t, pos, 10), SK_ILLEGAL_REQUEST, 0x21, 0x01);
	pos[5] = 0x02;
	pos[3] = 0x10; /* an I/E element is no transport */
	fixture_assert_sense(run(t, pos, 10), SK_ILLEGAL_REQUEST, 0x21, 0x01);
	pos[3] = 0;
	pos[8] = 0x01; /* INVERT */
	assert_invalid_field(run(t, pos, 10), 8, 0);

	const uint8_t ies[6] = {0x07};
	fixture_assert_good(run(t, ies, 6));
	const uint8_t ies_bad[6] = {0x07, 0x01};
	assert_invalid_field(run(t, ies_bad, 6), 1, 0);
	uint8_t range[10] = {0xe7, 0x01, 0x01, 0x00, 0, 0, 0, 2, 0, 0};
	fixture_assert_good(run(t, range, 10));
	range[2] = 0x02; /* 0200h: no element */
	fixture_assert_sense(run(t, range, 10), SK_ILLEGAL_REQUEST, 0x21, 0x01);
	range[1] = 0x02; /* RANGE 0 (FAST): the address is not looked at */
	fixture_assert_good(run(t, range, 10));
	range[4] = 0x01; /* byte 4: reserved */
	assert_invalid_field(run(t, range, 10), 4, 0);

	const uint8_t prevent[6] = {0x1e, 0, 0, 0, 1, 0};
	fixture_assert_good(run(t, prevent, 6));
	assert_true(t->changer->prevent_removal);
	/* A lost nexus takes its prevention with it. */
	scsi_smc_cmdset.nexus_lost(t->changer, &t->f->sess);
	assert_false(t->changer->prevent_removal);
	const uint8_t prevent2[6] = {0x1e, 0, 0, 0, 2, 0};
	assert_invalid_field(run(t, prevent2, 6), 4, 1);
	const uint8_t allow[6] = {0x1e, 0, 0, 0, 0, 0};
	fixture_assert_good(run(t, allow, 6));
}

static void test_not_attached(void **state)
{
	struct smc_test *t = *state;
	smc_detach(t->changer);
	fixture_assert_sense(res(t, 0x10, 0, 10, 0, 4096), SK_NOT_READY, 0x04, 0x03);
	const uint8_t inq[6] = {0x12, 0, 0, 0, 96, 0};
	fixture_assert_good(run(t, inq, 6));
}

/* Random CDBs of every opcode of the table (and a few others): each
 * completes exactly once, with GOOD or CHECK CONDITION, and never reads or
 * writes out of bounds (the sanitizer build checks that). */
static void test_random_cdbs(void **state)
{
	struct smc_test *t = *state;
	const uint8_t ops[] = {0x00, 0x03, 0x07, 0x12, 0x1a, 0x1e, 0x2b, 0x5a,
			       0xa0, 0xa5, 0xb8, 0xe7, 0x28, 0xa3, 0x01};
	uint32_t x = 12345;
	for (int i = 0; i < 3000; i++) {
		uint8_t cdb[16];
		for (int j = 0; j < 16; j++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			cdb[j] = (uint8_t)x;
		}
		cdb[0] = ops[x % sizeof(ops)];
		/* Mostly valid reserved bits and small addresses, so that the
		 * handlers run, not only the mask check. */
		if (i % 2) {
			const struct scsi_opcode_desc *op = smc_lookup_opcode(cdb);
			for (unsigned j = 1; op && j < op->cdb_len; j++)
				cdb[j] &= op->usage[j];
			if (cdb[0] == 0xa5 || cdb[0] == 0xb8 || cdb[0] == 0x2b) {
				cdb[2] &= 0x04;
				cdb[4] &= 0x04;
				cdb[6] &= cdb[0] == 0xa5 ? 0x04 : 0xff;
			}
		}
		drv.nloads = 0;
		struct uscst_cmd *cmd = run(t, cdb, 16);
		assert_true(cmd->status == SAM_STAT_GOOD ||
			    cmd->status == SAM_STAT_CHECK_CONDITION);
		fixture_drain_uas(&t->f->sess, 0);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_inquiry_changer),
	    T(test_unknown_opcodes),
	    T(test_report_supported_opcodes),
	    T(test_res_all_voltag),
	    T(test_res_types_start_count),
	    T(test_res_errors_and_allocation),
	    T(test_res_dvcid),
	    T(test_move_slot_drive_and_back),
	    T(test_move_errors),
	    T(test_move_drive_prevented_and_failing),
	    T(test_move_state_write_fails),
	    T(test_rescan_imports_and_removals),
	    T(test_move_read_only_mapping),
	    T(test_state_survives_restart),
	    T(test_config_errors),
	    T(test_state_file_errors),
	    T(test_state_file_links_not_followed),
	    T(test_mode_sense),
	    T(test_position_initialize_prevent),
	    T(test_not_attached),
	    T(test_random_cdbs),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
