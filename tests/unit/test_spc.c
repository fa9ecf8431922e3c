/*
 * Unit tests for the SPC handlers (spc.c, spc_inquiry.c, spc_mode.c,
 * spc_rsoc.c): each case takes the shared fixture (a device, LUN map,
 * target and session built by hand), runs one CDB through the handler and
 * checks the bytes it returns.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "doubles/ua_record.h"
#include "fixtures/fixture_scsi.h"
#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"

/* The fixture (fixtures/fixture_scsi.c) runs each CDB through the opcode
 * table's real handler; the unit attention module is the recording double
 * (doubles/ua_record.c), to see which device-wide UAs MODE SELECT raises. */

static int setup512(void **state)
{
	*state = fixture_new(512);
	ua_record_reset();
	return 0;
}

static int setup4096(void **state)
{
	*state = fixture_new(4096);
	ua_record_reset();
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

/* Runs one CDB on LUN lun (mapped or not); Data-Out from out/out_len. */
static struct uscst_cmd *run_out(struct scsi_fixture *f, uint64_t lun, const uint8_t *cdb,
				 unsigned cdb_len, const uint8_t *out, uint32_t out_len)
{
	return fixture_run(f, lun, cdb, cdb_len, out, out_len);
}

static struct uscst_cmd *run(struct scsi_fixture *f, const uint8_t *cdb, unsigned cdb_len)
{
	return run_out(f, 0, cdb, cdb_len, NULL, 0);
}

#define RUN(f, ...)                                                                                \
	({                                                                                         \
		const uint8_t cdb_[] = {__VA_ARGS__};                                              \
		run(f, cdb_, sizeof(cdb_));                                                        \
	})

static void assert_good(const struct uscst_cmd *cmd) { fixture_assert_good(cmd); }

/* Fixed-format sense (the fixtures keep D_SENSE off). */
static void assert_sense(const struct uscst_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq)
{
	fixture_assert_sense(cmd, key, asc, ascq);
}

/* Field pointer of an INVALID FIELD sense (SKSV, C/D, byte). */
static void assert_field_pointer(const struct uscst_cmd *cmd, bool in_cdb, unsigned byte)
{
	assert_true(cmd->sense[15] & 0x80);
	assert_int_equal(!!(cmd->sense[15] & 0x40), in_cdb);
	assert_int_equal(get_be16(cmd->sense + 16), byte);
}

/* ======================= INQUIRY ======================= */

static void test_inquiry_standard_layout(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0x12, 0, 0, 0x01, 0x04, 0);
	const uint8_t *b = cmd->in_buf;

	assert_good(cmd);
	assert_int_equal(cmd->in_len, 96);
	assert_int_equal(b[0], 0x00);
	assert_int_equal(b[1], 0x00); /* not removable */
	assert_int_equal(b[2], 0x06); /* SPC-4 */
	assert_int_equal(b[3], 0x12); /* HISUP, format 2 */
	assert_int_equal(b[4], 96 - 5);
	assert_int_equal(b[7] & 0x02, 0x02); /* CMDQUE */
	assert_memory_equal(b + 8, "USCST   ", 8);
	assert_memory_equal(b + 16, "disk1           ", 16);
	assert_memory_equal(b + 32, "0100", 4);
	/* Version descriptors: SAM-5, iSCSI, SPC-4, SBC-3 (what libiscsi looks for). */
	assert_int_equal(get_be16(b + 58), 0x00a0);
	assert_int_equal(get_be16(b + 60), 0x0960);
	assert_int_equal(get_be16(b + 62), 0x0460);
	assert_int_equal(get_be16(b + 64), 0x04c0);
}

static void test_inquiry_removable_and_unmapped(void **state)
{
	struct scsi_fixture *f = *state;
	f->dev.removable = true;
	struct uscst_cmd *cmd = RUN(f, 0x12, 0, 0, 0, 0xff, 0);
	assert_good(cmd);
	assert_int_equal(cmd->in_buf[1], 0x80);

	const uint8_t cdb[6] = {0x12, 0, 0, 0, 0xff, 0};
	cmd = run_out(f, 7, cdb, sizeof(cdb), NULL, 0);
	assert_good(cmd);
	assert_int_equal(cmd->in_buf[0], 0x7f); /* qualifier 011b, type 1Fh */
}

static void test_inquiry_alloc_length(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0x12, 0, 0, 0, 5, 0);
	assert_good(cmd);
	assert_int_equal(cmd->in_len, 5);
	assert_int_equal(cmd->in_buf[4], 91); /* ADDITIONAL LENGTH is not clipped */

	cmd = RUN(f, 0x12, 0, 0, 0x01, 0xff, 0); /* 511 */
	uint8_t first[96];
	uint32_t first_len = cmd->in_len;
	memcpy(first, cmd->in_buf, first_len);
	cmd = RUN(f, 0x12, 0, 0, 0x02, 0x00, 0); /* 512 */
	assert_int_equal(cmd->in_len, first_len);
	assert_memory_equal(cmd->in_buf, first, first_len);

	cmd = RUN(f, 0x12, 0, 0, 0, 0, 0);
	assert_good(cmd);
	assert_int_equal(cmd->in_len, 0);
}

static void test_inquiry_invalid_fields(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0x12, 0, 0x01, 0x01, 0x00, 0); /* EVPD=0, page 1 */
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field_pointer(cmd, true, 2);

	cmd = RUN(f, 0x12, 0x01, 0xc7, 0, 0xff, 0); /* unknown VPD page */
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* CMDDT and the reserved bits: dispatch's usage mask (test_dispatch.c). */
}

static struct uscst_cmd *vpd(struct scsi_fixture *f, uint8_t page)
{
	struct uscst_cmd *cmd = RUN(f, 0x12, 0x01, page, 0x04, 0x00, 0);
	assert_good(cmd);
	assert_true(cmd->in_len >= 4);
	assert_int_equal(cmd->in_buf[0], 0x00);
	assert_int_equal(cmd->in_buf[1], page);
	assert_int_equal(get_be16(cmd->in_buf + 2) + 4u, cmd->in_len);
	return cmd;
}

static void test_vpd_supported_pages(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = vpd(f, 0x00);
	unsigned n = get_be16(cmd->in_buf + 2);
	uint8_t pages[32];
	assert_true(n >= 6 && n <= sizeof(pages));
	memcpy(pages, cmd->in_buf + 4, n);
	for (unsigned i = 1; i < n; i++)
		assert_true(pages[i - 1] < pages[i]); /* ascending */
	assert_int_equal(pages[0], 0x00);
	/* Every page listed can be read. */
	for (unsigned i = 0; i < n; i++)
		vpd(f, pages[i]);
}

static void test_vpd_unit_serial(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = vpd(f, 0x80);
	assert_int_equal(cmd->in_len, 4 + strlen("1a2b3c4d"));
	assert_memory_equal(cmd->in_buf + 4, "1a2b3c4d", 8);
}

struct designator {
	uint8_t code_set, proto, assoc, type, len;
	bool piv;
	const uint8_t *body;
};

/* Finds the designator with this association and type in page 83h. */
static bool find_designator(const uint8_t *page, unsigned len, uint8_t assoc, uint8_t type,
			    struct designator *d)
{
	unsigned off = 4;
	while (off + 4 <= len) {
		const uint8_t *p = page + off;
		assert_true(off + 4 + p[3] <= len); /* designators never overrun the page */
		d->code_set = p[0] & 0x0f;
		d->proto = p[0] >> 4;
		d->piv = p[1] & 0x80;
		d->assoc = (p[1] >> 4) & 3;
		d->type = p[1] & 0x0f;
		d->len = p[3];
		d->body = p + 4;
		if (d->assoc == assoc && d->type == type)
			return true;
		off += 4u + p[3];
	}
	return false;
}

static void test_vpd_device_identification(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = vpd(f, 0x83);
	const uint8_t *b = cmd->in_buf;
	struct designator d;

	/* NAA IEEE Registered Extended, binary, LU. */
	assert_true(find_designator(b, cmd->in_len, 0, 3, &d));
	assert_int_equal(d.code_set, 1);
	assert_int_equal(d.len, 16);
	assert_int_equal(d.body[0] >> 4, 6);
	assert_int_equal(get_be64(d.body), f->dev.naa_id);

	/* T10 vendor ID: vendor padded to 8 + t10_dev_id. */
	assert_true(find_designator(b, cmd->in_len, 0, 1, &d));
	assert_int_equal(d.code_set, 2);
	assert_int_equal(d.len, 8 + 5);
	assert_memory_equal(d.body, "USCST   disk1", 13);

	/* Relative target port, iSCSI, PIV. */
	assert_true(find_designator(b, cmd->in_len, 1, 4, &d));
	assert_true(d.piv);
	assert_int_equal(d.proto, 5);
	assert_int_equal(d.len, 4);
	assert_int_equal(get_be16(d.body + 2), FIXTURE_REL_TGT_ID);

	/* SCSI name strings: target port and target device. */
	assert_true(find_designator(b, cmd->in_len, 1, 8, &d));
	assert_int_equal(d.code_set, 3);
	assert_int_equal(d.len % 4, 0);
	assert_string_equal((const char *)d.body, FIXTURE_TGT_NAME ",t,0x0001");
	assert_true(find_designator(b, cmd->in_len, 2, 8, &d));
	assert_int_equal(d.len % 4, 0);
	assert_string_equal((const char *)d.body, FIXTURE_TGT_NAME);
}

static void check_block_limits(struct scsi_fixture *f)
{
	struct uscst_cmd *cmd = vpd(f, 0xb0);
	const uint8_t *b = cmd->in_buf;
	uint32_t bs = f->dev.block_size;
	assert_int_equal(get_be16(b + 2), 0x3c); /* SBC-3 length */
	assert_int_equal(b[5], SBC_MAX_CAW_BLOCKS);
	assert_int_equal(get_be32(b + 8), SBC_MAX_TRANSFER_BYTES / bs);
	assert_int_equal(get_be32(b + 12), SBC_OPTIMAL_TRANSFER_BYTES / bs);
	assert_int_equal(get_be64(b + 36), SBC_MAX_WRITE_SAME_BLOCKS);
	/* Fully provisioned: no UNMAP limits. */
	assert_int_equal(get_be32(b + 20), 0);
	assert_int_equal(get_be32(b + 24), 0);

	f->dev.thin_provisioned = true;
	cmd = vpd(f, 0xb0);
	b = cmd->in_buf;
	uint32_t max_unmap = get_be32(b + 20);
	assert_true(max_unmap > 0 && max_unmap <= 1024 * 1024); /* libiscsi's sanity bound */
	assert_int_equal(get_be32(b + 24), SBC_MAX_UNMAP_DESCRIPTORS);
	assert_int_equal(get_be32(b + 28), bs >= 4096 ? 1 : 4096 / bs);
}

static void test_vpd_block_limits_512(void **state) { check_block_limits(*state); }

static void test_vpd_block_limits_4096(void **state) { check_block_limits(*state); }

static void test_vpd_characteristics_and_provisioning(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = vpd(f, 0xb1);
	assert_int_equal(get_be16(cmd->in_buf + 2), 0x3c);
	assert_int_equal(get_be16(cmd->in_buf + 4), 0); /* rotational: not reported */
	f->dev.rotational = false;
	cmd = vpd(f, 0xb1);
	assert_int_equal(get_be16(cmd->in_buf + 4), 1); /* non-rotating medium */

	cmd = vpd(f, 0xb2);
	assert_int_equal(cmd->in_buf[5] & 0xe0, 0); /* no LBPU/LBPWS/LBPWS10 */
	assert_int_equal(cmd->in_buf[6] & 0x07, 0); /* fully provisioned */
	f->dev.thin_provisioned = true;
	cmd = vpd(f, 0xb2);
	assert_int_equal(cmd->in_buf[5] & 0xe0, 0xe0);
	assert_int_equal(cmd->in_buf[6] & 0x07, 2); /* thin */
}

/* ======================= MODE SENSE / SELECT ======================= */

/* Finds page `code` in a MODE SENSE(6) answer; NULL if absent. */
static const uint8_t *mode6_page(const struct uscst_cmd *cmd, uint8_t code)
{
	unsigned off = 4u + cmd->in_buf[3];
	while (off + 2 <= cmd->in_len) {
		const uint8_t *p = cmd->in_buf + off;
		if ((p[0] & 0x3f) == code)
			return p;
		off += 2u + p[1];
	}
	return NULL;
}

static void test_mode_sense6_all_pages(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0x1a, 0, 0x3f, 0, 0xff, 0);
	const uint8_t *b = cmd->in_buf;
	assert_good(cmd);
	assert_int_equal(b[0] + 1u, cmd->in_len);
	assert_int_equal(b[2], 0x10); /* DPOFUA, not write protected */
	assert_int_equal(b[3], 8);
	assert_int_equal(get_be32(b + 4), f->dev.nblocks);
	assert_int_equal(get_be24(b + 9), f->dev.block_size);
	/* Pages in ascending order, each with its standard length. */
	assert_int_equal(b[12], 0x08);
	assert_int_equal(b[13], 0x12);
	assert_int_equal(b[12 + 20], 0x0a);
	assert_int_equal(b[13 + 20], 0x0a);
	assert_int_equal(b[12 + 32], 0x1c);
	assert_int_equal(cmd->in_len, 12u + 20 + 12 + 12);
	const uint8_t *caching = mode6_page(cmd, 0x08);
	assert_int_equal(caching[2] & 0x04, 0x04); /* WCE from dev->wce */
	const uint8_t *control = mode6_page(cmd, 0x0a);
	assert_int_equal(control[2] >> 5, 1);	/* TST 001b */
	assert_int_equal(control[2] & 0x04, 0); /* fixed sense */

	/* Subpage FFh gives the same pages (none has subpages). */
	uint8_t all[64];
	uint32_t all_len = cmd->in_len;
	memcpy(all, cmd->in_buf, all_len);
	cmd = RUN(f, 0x1a, 0, 0x3f, 0xff, 0xff, 0);
	assert_int_equal(cmd->in_len, all_len);
	assert_memory_equal(cmd->in_buf, all, all_len);
}

static void test_mode_sense6_all_pages_4096(void **state) { test_mode_sense6_all_pages(state); }

static void test_mode_sense6_clipped(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0x1a, 0, 0x3f, 0, 4, 0);
	assert_good(cmd);
	assert_int_equal(cmd->in_len, 4);
	/* MODE DATA LENGTH still describes the whole data (SPC-5 7.5.6). */
	assert_int_equal(cmd->in_buf[0], 12 + 20 + 12 + 12 - 1);

	cmd = RUN(f, 0x1a, 0x08, 0x0a, 0, 0xff, 0); /* DBD */
	assert_int_equal(cmd->in_buf[3], 0);
	assert_int_equal(cmd->in_len, 4 + 12);
	assert_int_equal(cmd->in_buf[0], 4 + 12 - 1);
}

static void test_mode_sense10_long_lba(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0x5a, 0x10, 0x08, 0, 0, 0, 0, 0x01, 0x00, 0);
	const uint8_t *b = cmd->in_buf;
	assert_good(cmd);
	assert_int_equal(cmd->in_len, 8 + 16 + 20);
	assert_int_equal(get_be16(b), cmd->in_len - 2);
	assert_int_equal(b[4] & 0x01, 1); /* LONGLBA */
	assert_int_equal(get_be16(b + 6), 16);
	assert_int_equal(get_be64(b + 8), f->dev.nblocks);
	assert_int_equal(get_be32(b + 20), f->dev.block_size);
	assert_int_equal(b[24], 0x08);
}

static void test_mode_sense_page_control(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0x1a, 0x08, 0xca, 0, 0xff, 0); /* saved */
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_SAVING_PARAMS_UNSUP);

	cmd = RUN(f, 0x1a, 0x08, 0x4a, 0, 0xff, 0); /* changeable control page */
	assert_good(cmd);
	const uint8_t *p = mode6_page(cmd, 0x0a);
	assert_non_null(p);
	assert_int_equal(p[2], 0x04); /* D_SENSE */
	assert_int_equal(p[3], 0x00);
	assert_int_equal(p[4], 0x08); /* SWP */
	assert_int_equal(p[5], 0x00);

	cmd = RUN(f, 0x1a, 0x08, 0x48, 0, 0xff, 0); /* changeable caching page */
	p = mode6_page(cmd, 0x08);
	assert_int_equal(p[2], 0x04); /* WCE */

	f->dev.wce = false;
	cmd = RUN(f, 0x1a, 0x08, 0x88, 0, 0xff, 0); /* default caching page */
	p = mode6_page(cmd, 0x08);
	assert_int_equal(p[2] & 0x04, 0x04); /* default follows write_through=0 */
}

static void test_mode_sense_invalid_page(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0x1a, 0, 0x15, 0, 0xff, 0);
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field_pointer(cmd, true, 2);
	cmd = RUN(f, 0x1a, 0, 0x0a, 0x01, 0xff, 0);
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field_pointer(cmd, true, 3);
}

static void test_mode_sense_write_protect_bit(void **state)
{
	struct scsi_fixture *f = *state;
	f->dev.read_only = true;
	struct uscst_cmd *cmd = RUN(f, 0x1a, 0, 0x3f, 0, 0xff, 0);
	assert_int_equal(cmd->in_buf[2] & 0x80, 0x80);
	f->dev.read_only = false;
	f->map.luns[0].read_only = true;
	cmd = RUN(f, 0x1a, 0, 0x3f, 0, 0xff, 0);
	assert_int_equal(cmd->in_buf[2] & 0x80, 0x80);
	f->map.luns[0].read_only = false;
	f->dev.swp = true;
	cmd = RUN(f, 0x1a, 0, 0x3f, 0, 0xff, 0);
	assert_int_equal(cmd->in_buf[2] & 0x80, 0x80);
}

/* What libiscsi's set_swp() does: read the current control page with DBD,
 * flip SWP and send it back with a zeroed 4-byte header. */
static struct uscst_cmd *select6_control(struct scsi_fixture *f, uint8_t byte, uint8_t set,
					 uint8_t clear)
{
	struct uscst_cmd *cmd = RUN(f, 0x1a, 0x08, 0x0a, 0, 0xff, 0);
	uint8_t list[4 + 12] = {0};
	memcpy(list + 4, mode6_page(cmd, 0x0a), 12);
	list[4 + byte] = (uint8_t)((list[4 + byte] | set) & ~clear);
	const uint8_t cdb[6] = {0x15, 0x10, 0, 0, sizeof(list), 0};
	return run_out(f, 0, cdb, sizeof(cdb), list, sizeof(list));
}

static void test_mode_select_swp_and_d_sense(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = select6_control(f, 4, 0x08, 0);
	assert_good(cmd);
	assert_true(f->dev.swp);
	/* A change is a MODE PARAMETERS CHANGED for every other nexus (SPC-4 7.5.1). */
	assert_int_equal(ua_dev_record.calls, 1);
	assert_ptr_equal(ua_dev_record.dev, &f->dev);
	assert_ptr_equal(ua_dev_record.except, &f->sess);
	assert_int_equal(ua_dev_record.asc, 0x2a);
	assert_int_equal(ua_dev_record.ascq, 0x01);
	cmd = RUN(f, 0x1a, 0x08, 0x0a, 0, 0xff, 0);
	assert_int_equal(mode6_page(cmd, 0x0a)[4] & 0x08, 0x08);
	assert_int_equal(cmd->in_buf[2] & 0x80, 0x80); /* WP */

	cmd = select6_control(f, 4, 0, 0x08);
	assert_good(cmd);
	assert_false(f->dev.swp);

	cmd = select6_control(f, 2, 0x04, 0);
	assert_good(cmd);
	assert_true(f->dev.d_sense);

	/* Selecting the same values again changes nothing. */
	unsigned calls = ua_dev_record.calls;
	assert_int_equal(calls, 3);
	cmd = select6_control(f, 2, 0x04, 0);
	assert_good(cmd);
	assert_int_equal(ua_dev_record.calls, calls);
}

/* MODE SELECT changes D_SENSE while another I_T nexus, on another reactor,
 * builds sense data (which reads D_SENSE without dev->lock): every sense is
 * fixed or descriptor format, never a mix.  Under ThreadSanitizer (the TSan
 * stage of make test) this also fails on a plain load or store of the mode
 * page bits. */
struct sense_reader {
	struct uscst_device *dev;
	atomic_bool stop;
	atomic_ulong builds;
	unsigned long bad;
};

static void *build_sense_loop(void *p)
{
	struct sense_reader *r = p;
	struct uscst_cmd cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.dev = r->dev;
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		scsi_check_condition(&cmd, 0x02, 0x04, 0x00); /* NOT READY */
		uint8_t fmt = cmd.sense[0] & 0x7f;
		if (!((fmt == 0x70 && cmd.sense_len == 18 && cmd.sense[12] == 0x04) ||
		      (fmt == 0x72 && cmd.sense_len == 8 && cmd.sense[2] == 0x04)))
			r->bad++;
		atomic_fetch_add_explicit(&r->builds, 1, memory_order_relaxed);
	}
	return NULL;
}

static void test_mode_select_while_building_sense(void **state)
{
	struct scsi_fixture *f = *state;
	struct sense_reader r = {.dev = &f->dev};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, build_sense_loop, &r), 0);
	while (atomic_load_explicit(&r.builds, memory_order_relaxed) == 0)
		sched_yield();
	for (int i = 0; i < 40; i++)
		assert_good(select6_control(f, 2, i % 2 ? 0 : 0x04, i % 2 ? 0x04 : 0));
	atomic_store_explicit(&r.stop, true, memory_order_relaxed);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.bad, 0);
	assert_false(f->dev.d_sense);
}

/* Through a read-only mapping MODE SELECT may not change the per-device
 * mode parameters every other group shares (SWP would fail their writes,
 * WCE weaken them); a list that changes nothing still succeeds. */
static void test_mode_select_read_only_mapping(void **state)
{
	struct scsi_fixture *f = *state;
	f->map.luns[0].read_only = true;
	struct uscst_cmd *cmd = select6_control(f, 4, 0x08, 0); /* SWP=1 */
	assert_sense(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	assert_false(f->dev.swp);
	assert_int_equal(ua_dev_record.calls, 0);

	cmd = select6_control(f, 4, 0, 0); /* the current page again */
	assert_good(cmd);

	/* WCE off in the caching page. */
	cmd = RUN(f, 0x1a, 0x08, 0x08, 0, 0xff, 0);
	uint8_t list[4 + 20] = {0};
	memcpy(list + 4, mode6_page(cmd, 0x08), 20);
	list[4 + 2] &= (uint8_t)~0x04;
	const uint8_t cdb[6] = {0x15, 0x10, 0, 0, sizeof(list), 0};
	cmd = run_out(f, 0, cdb, sizeof(cdb), list, sizeof(list));
	assert_sense(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	assert_true(f->dev.wce);

	/* The same for a device configured read-only. */
	f->map.luns[0].read_only = false;
	f->dev.read_only = true;
	cmd = run_out(f, 0, cdb, sizeof(cdb), list, sizeof(list));
	assert_sense(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	assert_true(f->dev.wce);
	assert_int_equal(ua_dev_record.calls, 0);
}

static void test_mode_select_caching_10(void **state)
{
	struct scsi_fixture *f = *state;
	uint8_t list[8 + 8 + 20] = {0};
	list[7] = 8; /* block descriptor restating capacity and block size */
	put_be32(list + 8, (uint32_t)f->dev.nblocks);
	put_be24(list + 13, f->dev.block_size);
	struct uscst_cmd *cmd = RUN(f, 0x1a, 0x08, 0x08, 0, 0xff, 0);
	memcpy(list + 16, mode6_page(cmd, 0x08), 20);
	list[16 + 2] &= (uint8_t)~0x04; /* WCE off */
	const uint8_t cdb[10] = {0x55, 0x10, 0, 0, 0, 0, 0, 0, sizeof(list), 0};
	cmd = run_out(f, 0, cdb, sizeof(cdb), list, sizeof(list));
	assert_good(cmd);
	assert_false(f->dev.wce);

	/* A different block size is refused, pointing at the field. */
	put_be24(list + 13, f->dev.block_size * 2);
	cmd = run_out(f, 0, cdb, sizeof(cdb), list, sizeof(list));
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_field_pointer(cmd, false, 13);
}

static void test_mode_select_unchangeable_field(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = select6_control(f, 2, 0, 0xe0); /* TST 001b -> 000b */
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_field_pointer(cmd, false, 4 + 2);
	assert_int_equal(cmd->sense[15] & 0x0f, 0x08 | 5); /* BPV, bit 5 */

	/* Nothing was applied even though SWP was valid in the same list. */
	cmd = RUN(f, 0x1a, 0x08, 0x0a, 0, 0xff, 0);
	uint8_t list[4 + 12] = {0};
	memcpy(list + 4, mode6_page(cmd, 0x0a), 12);
	list[4 + 4] |= 0x08;
	list[4 + 3] ^= 0x10; /* QUEUE ALGORITHM MODIFIER */
	const uint8_t cdb[6] = {0x15, 0x10, 0, 0, sizeof(list), 0};
	cmd = run_out(f, 0, cdb, sizeof(cdb), list, sizeof(list));
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_false(f->dev.swp);
}

static void test_mode_select_cdb_and_length_errors(void **state)
{
	struct scsi_fixture *f = *state;
	uint8_t list[4 + 12] = {0};
	list[4] = 0x0a;
	list[5] = 0x0a;

	/* SP = 1 is refused by dispatch's usage mask (test_dispatch.c); PF = 0
	 * is a value the mask cannot refuse. */
	const uint8_t no_pf[6] = {0x15, 0x00, 0, 0, sizeof(list), 0};
	struct uscst_cmd *cmd = run_out(f, 0, no_pf, sizeof(no_pf), list, sizeof(list));
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field_pointer(cmd, true, 1);

	/* The initiator sent fewer bytes than the CDB announced. */
	const uint8_t ok[6] = {0x15, 0x10, 0, 0, sizeof(list), 0};
	cmd = run_out(f, 0, ok, sizeof(ok), list, 10);
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);

	/* A page running past the end of the list. */
	const uint8_t short_list[6] = {0x15, 0x10, 0, 0, 10, 0};
	cmd = run_out(f, 0, short_list, sizeof(short_list), list, 10);
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);

	/* Wrong page length, unknown page, bad block descriptor length. */
	list[5] = 0x08;
	cmd = run_out(f, 0, ok, sizeof(ok), list, sizeof(list));
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_field_pointer(cmd, false, 5);
	list[4] = 0x19;
	cmd = run_out(f, 0, ok, sizeof(ok), list, sizeof(list));
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	list[3] = 4;
	cmd = run_out(f, 0, ok, sizeof(ok), list, sizeof(list));
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_field_pointer(cmd, false, 3);

	/* Parameter list length 0: nothing to do. */
	const uint8_t empty[6] = {0x15, 0x10, 0, 0, 0, 0};
	cmd = run_out(f, 0, empty, sizeof(empty), NULL, 0);
	assert_good(cmd);
}

/* ======================= REQUEST SENSE, TUR ======================= */

static void test_request_sense_no_sense(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0x03, 0, 0, 0, 0xfc, 0);
	assert_good(cmd);
	assert_int_equal(cmd->in_len, 18);
	assert_int_equal(cmd->in_buf[0], 0x70);
	assert_int_equal(cmd->in_buf[2], SK_NO_SENSE);
	assert_int_equal(cmd->in_buf[12], 0);

	cmd = RUN(f, 0x03, 0x01, 0, 0, 0xfc, 0); /* DESC */
	assert_good(cmd);
	assert_int_equal(cmd->in_len, 8);
	assert_int_equal(cmd->in_buf[0], 0x72);

	cmd = RUN(f, 0x03, 0, 0, 0, 4, 0);
	assert_int_equal(cmd->in_len, 4);
}

static void test_request_sense_reports_ua(void **state)
{
	struct scsi_fixture *f = *state;
	ua_establish(&f->sess, 0, ASC_POWER_ON_RESET);
	struct uscst_cmd *cmd = RUN(f, 0x03, 0, 0, 0, 0xfc, 0);
	assert_good(cmd);
	assert_int_equal(cmd->in_buf[2], SK_UNIT_ATTENTION);
	assert_int_equal(cmd->in_buf[12], 0x29);
	assert_int_equal(cmd->in_buf[13], 0x00);
	/* Reported once, then gone. */
	cmd = RUN(f, 0x03, 0, 0, 0, 0xfc, 0);
	assert_int_equal(cmd->in_buf[2], SK_NO_SENSE);
}

static void test_request_sense_unmapped_lun(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t cdb[6] = {0x03, 0, 0, 0, 0xfc, 0};
	struct uscst_cmd *cmd = run_out(f, 9, cdb, sizeof(cdb), NULL, 0);
	assert_good(cmd);
	assert_int_equal(cmd->in_buf[2], SK_ILLEGAL_REQUEST);
	assert_int_equal(cmd->in_buf[12], 0x25);
}

static void test_test_unit_ready(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0x00, 0, 0, 0, 0, 0);
	assert_good(cmd);
	assert_int_equal(cmd->in_len, 0);
}

/* ======================= REPORT LUNS ======================= */

static void test_report_luns_encoding(void **state)
{
	struct scsi_fixture *f = *state;
	f->map.count = 3;
	f->map.luns[1].lun = 5;
	f->map.luns[1].dev = &f->dev;
	f->map.luns[2].lun = 300;
	f->map.luns[2].dev = &f->dev;
	struct uscst_cmd *cmd = RUN(f, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0);
	const uint8_t *b = cmd->in_buf;
	assert_good(cmd);
	assert_int_equal(get_be32(b), 24);
	assert_int_equal(cmd->in_len, 32);
	const uint8_t lun0[8] = {0}, lun5[8] = {0, 5}, lun300[8] = {0x41, 0x2c};
	assert_memory_equal(b + 8, lun0, 8);
	assert_memory_equal(b + 16, lun5, 8);
	assert_memory_equal(b + 24, lun300, 8);

	/* Clipped to 16 bytes; LUN LIST LENGTH still counts all. */
	cmd = RUN(f, 0xa0, 0, 0x02, 0, 0, 0, 0, 0, 0, 16, 0, 0);
	assert_int_equal(cmd->in_len, 16);
	assert_int_equal(get_be32(cmd->in_buf), 24);

	/* Well-known LUs only: there are none. */
	cmd = RUN(f, 0xa0, 0, 0x01, 0, 0, 0, 0, 0, 0x10, 0, 0, 0);
	assert_good(cmd);
	assert_int_equal(get_be32(cmd->in_buf), 0);
	assert_int_equal(cmd->in_len, 8);
}

/* A map of all 16384 flat-space LUNs (a group's, or the default): every
 * one listed once, in order, peripheral below 256 and flat above, bytes
 * 2..7 zero. */
static void test_report_luns_all_flat_space(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_lun *fixture_luns = f->map.luns;
	unsigned n = USCST_LUN_MAX + 1;
	struct uscst_lun *luns = calloc(n, sizeof(*luns));
	assert_non_null(luns);
	for (unsigned i = 0; i < n; i++)
		luns[i] = (struct uscst_lun){.lun = i, .dev = &f->dev};
	f->map.luns = luns;
	f->map.count = n;
	uint32_t alloc = 8 + 8 * n;
	struct uscst_cmd *cmd =
	    RUN(f, 0xa0, 0, 0, 0, 0, 0, (uint8_t)(alloc >> 24), (uint8_t)(alloc >> 16),
		(uint8_t)(alloc >> 8), (uint8_t)alloc, 0, 0);
	assert_good(cmd);
	const uint8_t *b = cmd->in_buf;
	assert_int_equal(get_be32(b), 8 * n);
	assert_int_equal(cmd->in_len, alloc);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = b + 8 + 8 * i;
		uint8_t want[8] = {0};
		want[0] = i < 256 ? 0 : (uint8_t)(0x40 | (i >> 8));
		want[1] = (uint8_t)i;
		if (memcmp(e, want, 8) != 0)
			fail_msg("LUN %u reported as %02x %02x %02x ...", i, e[0], e[1], e[2]);
	}
	f->map.luns = fixture_luns;
	f->map.count = 1;
	free(luns);
}

static void test_report_luns_invalid(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0);
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field_pointer(cmd, true, 6);
	cmd = RUN(f, 0xa0, 0, 0x07, 0, 0, 0, 0, 0, 0x10, 0, 0, 0);
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field_pointer(cmd, true, 2);
}

/* ======================= REPORT SUPPORTED OPERATION CODES ======================= */

static void test_rsoc_all(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0);
	const uint8_t *b = cmd->in_buf;
	assert_good(cmd);
	uint32_t len = get_be32(b);
	assert_int_equal(len + 4, cmd->in_len);
	assert_int_equal(len % 8, 0);
	/* UNMAP and SANITIZE BLOCK ERASE are left out on a fully provisioned
	 * unit (they need deallocation), REPORT and SET TARGET PORT GROUPS on
	 * one without ALUA. */
	assert_int_equal(len / 8, scsi_disk_opcodes_count - 4);
	bool saw_rc16 = false;
	for (uint32_t off = 4; off < cmd->in_len; off += 8) {
		const uint8_t *d = b + off;
		bool servactv = d[5] & 0x01;
		assert_int_equal(d[5] & 0x02, 0); /* no CTDP without RCTD */
		if (!servactv)
			assert_int_equal(get_be16(d + 2), 0);
		assert_true(get_be16(d + 6) >= 6);
		assert_int_not_equal(d[0], 0x42);
		assert_false(d[0] == 0x48 && get_be16(d + 2) == 0x02);
		if (d[0] == 0x9e && get_be16(d + 2) == 0x10) {
			saw_rc16 = true;
			assert_true(servactv);
			assert_int_equal(get_be16(d + 6), 16);
		}
	}
	assert_true(saw_rc16);

	/* RCTD: every descriptor carries a 12-byte timeouts descriptor.  A
	 * thin unit that can deallocate has every command of the table. */
	f->dev.thin_provisioned = true;
	f->dev.discard_ok = true;
	cmd = RUN(f, 0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0);
	assert_int_equal(get_be32(cmd->in_buf), 20 * (scsi_disk_opcodes_count - 2));
	for (uint32_t off = 4; off < cmd->in_len; off += 20) {
		assert_int_equal(cmd->in_buf[off + 5] & 0x02, 0x02);
		assert_int_equal(get_be16(cmd->in_buf + off + 8), 0x0a);
	}

	/* Clipped by the allocation length. */
	cmd = RUN(f, 0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0);
	assert_int_equal(cmd->in_len, 12);
	assert_int_equal(get_be32(cmd->in_buf), 8 * (scsi_disk_opcodes_count - 2));
}

static void test_rsoc_one_command(void **state)
{
	struct scsi_fixture *f = *state;
	/* READ(10): supported, usage data with DPO/FUA (MODE SENSE says DPOFUA). */
	struct uscst_cmd *cmd = RUN(f, 0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 0xff, 0xff, 0, 0);
	const uint8_t *b = cmd->in_buf;
	assert_good(cmd);
	assert_int_equal(b[1] & 0x07, 3);
	assert_int_equal(get_be16(b + 2), 10);
	assert_int_equal(cmd->in_len, 14);
	assert_int_equal(b[4], 0x28);
	assert_int_equal(b[5] & 0x18, 0x18);

	/* An opcode with service actions cannot be asked about without one. */
	cmd = RUN(f, 0xa3, 0x0c, 0x01, 0x9e, 0, 0x10, 0, 0, 0xff, 0xff, 0, 0);
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* ... and one without service actions not with one. */
	cmd = RUN(f, 0xa3, 0x0c, 0x02, 0x28, 0, 0, 0, 0, 0xff, 0xff, 0, 0);
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);

	cmd = RUN(f, 0xa3, 0x0c, 0x82, 0x9e, 0, 0x10, 0, 0, 0xff, 0xff, 0, 0);
	b = cmd->in_buf;
	assert_good(cmd);
	assert_int_equal(b[1], 0x80 | 3); /* CTDP */
	assert_int_equal(get_be16(b + 2), 16);
	assert_int_equal(b[4], 0x9e);
	assert_int_equal(b[5], 0x10);
	assert_int_equal(cmd->in_len, 4 + 16 + 12);
	assert_int_equal(get_be16(b + 20), 0x0a);

	/* Not implemented: SUPPORT 001b. */
	cmd = RUN(f, 0xa3, 0x0c, 0x01, 0xe7, 0, 0, 0, 0, 0xff, 0xff, 0, 0);
	assert_good(cmd);
	assert_int_equal(cmd->in_buf[1] & 0x07, 1);
	cmd = RUN(f, 0xa3, 0x0c, 0x02, 0x9e, 0, 0x1f, 0, 0, 0xff, 0xff, 0, 0);
	assert_int_equal(cmd->in_buf[1] & 0x07, 1);
	/* UNMAP on a fully provisioned unit. */
	cmd = RUN(f, 0xa3, 0x0c, 0x01, 0x42, 0, 0, 0, 0, 0xff, 0xff, 0, 0);
	assert_int_equal(cmd->in_buf[1] & 0x07, 1);

	/* Reporting options 011b: either form. */
	cmd = RUN(f, 0xa3, 0x0c, 0x03, 0x28, 0, 0, 0, 0, 0xff, 0xff, 0, 0);
	assert_int_equal(cmd->in_buf[1] & 0x07, 3);
	cmd = RUN(f, 0xa3, 0x0c, 0x03, 0x5e, 0, 0x02, 0, 0, 0xff, 0xff, 0, 0);
	assert_int_equal(cmd->in_buf[1] & 0x07, 3);
	cmd = RUN(f, 0xa3, 0x0c, 0x04, 0x28, 0, 0, 0, 0, 0xff, 0xff, 0, 0);
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}

/* Every table entry's CDB USAGE DATA is well formed. */
static void test_rsoc_usage_table(void **state)
{
	for (unsigned i = 0; i < scsi_disk_opcodes_count; i++) {
		const struct scsi_opcode_desc *op = &scsi_disk_opcodes[i];
		assert_int_equal(op->usage[0], op->opcode);
		if (op->has_sa)
			assert_int_equal(op->usage[1] & 0x1f, op->sa);
		assert_int_equal(op->usage[op->cdb_len - 1], 0); /* CONTROL: no NACA, LINK */
		for (unsigned j = op->cdb_len; j < sizeof(op->usage); j++)
			assert_int_equal(op->usage[j], 0);
		if (i > 0) { /* sorted: opcode, then service action */
			const struct scsi_opcode_desc *prev = &scsi_disk_opcodes[i - 1];
			assert_true(prev->opcode < op->opcode ||
				    (prev->opcode == op->opcode && prev->sa < op->sa));
		}
	}
}

/* ======================= SEND DIAGNOSTIC, REPORT TMFs ======================= */

static void test_send_diagnostic(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0x1d, 0x04, 0, 0, 0, 0); /* default self-test */
	assert_good(cmd);
	cmd = RUN(f, 0x1d, 0xa0, 0, 0, 0, 0); /* foreground short self-test */
	assert_good(cmd);
	cmd = RUN(f, 0x1d, 0x24, 0, 0, 0, 0); /* SELFTEST with a code */
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	cmd = RUN(f, 0x1d, 0x20, 0, 0, 0, 0); /* background self-test */
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	const uint8_t cdb[6] = {0x1d, 0x10, 0, 0, 4, 0};
	const uint8_t page[4] = {0};
	cmd = run_out(f, 0, cdb, sizeof(cdb), page, sizeof(page));
	assert_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_field_pointer(cmd, true, 3);
}

static void test_report_supported_tmfs(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = RUN(f, 0xa3, 0x0d, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0);
	assert_good(cmd);
	assert_int_equal(cmd->in_len, 4);
	assert_int_equal(cmd->in_buf[0], 0x80 | 0x40 | 0x10 | 0x08 | 0x02);
	cmd = RUN(f, 0xa3, 0x0d, 0x80, 0, 0, 0, 0, 0, 0, 0xff, 0, 0);
	assert_int_equal(cmd->in_len, 16);
	assert_int_equal(cmd->in_buf[3], 0x0c);
	cmd = RUN(f, 0xa3, 0x0d, 0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0);
	assert_int_equal(cmd->in_len, 2);
}

#define T512(fn) cmocka_unit_test_setup_teardown(fn, setup512, teardown)
#define T4096(fn) cmocka_unit_test_setup_teardown(fn, setup4096, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T512(test_inquiry_standard_layout),
	    T512(test_inquiry_removable_and_unmapped),
	    T512(test_inquiry_alloc_length),
	    T512(test_inquiry_invalid_fields),
	    T512(test_vpd_supported_pages),
	    T512(test_vpd_unit_serial),
	    T512(test_vpd_device_identification),
	    T512(test_vpd_block_limits_512),
	    T4096(test_vpd_block_limits_4096),
	    T512(test_vpd_characteristics_and_provisioning),
	    T512(test_mode_sense6_all_pages),
	    T4096(test_mode_sense6_all_pages_4096),
	    T512(test_mode_sense6_clipped),
	    T4096(test_mode_sense10_long_lba),
	    T512(test_mode_sense_page_control),
	    T512(test_mode_sense_invalid_page),
	    T512(test_mode_sense_write_protect_bit),
	    T512(test_mode_select_swp_and_d_sense),
	    T512(test_mode_select_while_building_sense),
	    T512(test_mode_select_read_only_mapping),
	    T4096(test_mode_select_caching_10),
	    T512(test_mode_select_unchangeable_field),
	    T512(test_mode_select_cdb_and_length_errors),
	    T512(test_request_sense_no_sense),
	    T512(test_request_sense_reports_ua),
	    T512(test_request_sense_unmapped_lun),
	    T512(test_test_unit_ready),
	    T512(test_report_luns_encoding),
	    T512(test_report_luns_all_flat_space),
	    T512(test_report_luns_invalid),
	    T512(test_rsoc_all),
	    T512(test_rsoc_one_command),
	    T512(test_rsoc_usage_table),
	    T512(test_send_diagnostic),
	    T512(test_report_supported_tmfs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
