/*
 * Unit tests for EXTENDED COPY (LID1): the parameter list parser
 * (spc_xcopy_parse.c) with every error it reports, and the copy manager
 * (spc_xcopy.c) run against in-memory devices whose backend completes
 * inside submit(), the case the copy loop must not recurse on.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <uscst/iov.h>

#include "core/pr.h"
#include "fixtures/fixture_scsi.h"
#include "scsi/sbc.h"
#include "scsi/scsi.h"
#include "scsi/spc_xcopy.h"

/* --- in-memory devices --- */

#define DEV_BYTES (8u * 1024 * 1024)

static unsigned submits;
/* Called after each completed WRITE (e.g. to take a reservation mid-copy). */
static void (*after_write)(struct uscst_device *dev);

/* Completes synchronously, like nullio: exercises the copy loop's inline
 * completion path. */
static uint8_t *mem_of(struct uscst_device *dev);

static void mem_submit(struct uscst_device *dev, struct uscst_io *io)
{
	uint8_t *mem = mem_of(dev);
	submits++;
	if (io->offset > dev->size || io->len > dev->size - io->offset) {
		io->result = -EIO;
	} else if (io->op == USCST_IO_READ) {
		uscst_iov_from_buf(io->iov, io->iovcnt, 0, mem + io->offset, io->len);
		io->result = (int64_t)io->len;
	} else if (io->op == USCST_IO_WRITE) {
		uscst_iov_to_buf(io->iov, io->iovcnt, 0, mem + io->offset, io->len);
		io->result = (int64_t)io->len;
		if (after_write)
			after_write(dev);
	} else {
		io->result = 0;
	}
	io->done(io);
}

static const struct uscst_backend_ops mem_ops = {
    .name = "test_mem",
    .submit = mem_submit,
};

static void init_dev(struct uscst_device *dev, const char *name, uint32_t bs, uint64_t naa)
{
	fixture_device_init(dev, name, bs, DEV_BYTES / bs);
	dev->backend = &mem_ops;
	dev->naa_id = naa;
}

struct fixture {
	struct uscst_device d0, d1, d4k;
	uint8_t *mem0, *mem1;	  /* DEV_BYTES each: d0's and d1's medium */
	struct uscst_lun_map map; /* LUN 0 -> d0, LUN 1 -> d1 */
	struct uscst_lun map_luns[2];
	struct uscst_target tgt;
	struct uscst_session sess;
	struct uscst_cmd cmd;
	unsigned done_calls;
	struct xcopy_list list;
	struct xcopy_err err;
	uint8_t p[16384];
};

static struct fixture *fx;

/* The medium of disk0 and disk1 (disk4k has none). */
static uint8_t *mem_of(struct uscst_device *dev)
{
	return dev == &fx->d0 ? fx->mem0 : dev == &fx->d1 ? fx->mem1 : NULL;
}

static void on_done(struct uscst_cmd *cmd) { fx->done_calls++; }

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	init_dev(&f->d0, "disk0", 512, 0x0123456789abcdefull);
	init_dev(&f->d1, "disk1", 512, 0x0fedcba987654321ull);
	init_dev(&f->d4k, "disk4k", 4096, 0x0aaaabbbbccccdddull);
	f->mem0 = calloc(1, DEV_BYTES);
	f->mem1 = calloc(1, DEV_BYTES);
	assert_non_null(f->mem0);
	assert_non_null(f->mem1);
	f->map.luns = f->map_luns;
	f->map.cap = 2;
	f->map.count = 2;
	f->map.luns[0].lun = 0;
	f->map.luns[0].dev = &f->d0;
	f->map.luns[1].lun = 1;
	f->map.luns[1].dev = &f->d1;
	f->tgt.rel_tgt_id = 1;
	f->tgt.luns = &f->map;
	fixture_session_init(&f->sess, &f->tgt, 42);
	fx = f;
	submits = 0;
	after_write = NULL;
	snprintf(f->sess.initiator_port, sizeof(f->sess.initiator_port), "iqn.copier,i,0x1");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	uscst_cmd_release(&f->cmd);
	fixture_session_fini(&f->sess);
	pr_state_free(f->d0.pr);
	pr_state_free(f->d1.pr);
	free(f->mem0);
	free(f->mem1);
	free(f);
	return 0;
}

/* The parser tests resolve designators against the three devices. */
static struct uscst_device *lookup(void *arg, const uint8_t *naa)
{
	struct fixture *f = arg;
	struct uscst_device *devs[] = {&f->d0, &f->d1, &f->d4k};
	uint8_t mine[16];
	for (unsigned i = 0; i < 3; i++) {
		xcopy_dev_naa(devs[i], mine);
		if (memcmp(mine, naa, 16) == 0)
			return devs[i];
	}
	return NULL;
}

/* --- building parameter lists --- */

static void put_header(uint8_t *p, uint8_t list_id, uint8_t usage, uint32_t cscd_len,
		       uint32_t seg_len, uint32_t inline_len)
{
	memset(p, 0, XCOPY_HDR_LEN);
	p[0] = list_id;
	p[1] = (uint8_t)(usage << 3);
	put_be16(p + 2, (uint16_t)cscd_len);
	put_be32(p + 8, seg_len);
	put_be32(p + 12, inline_len);
}

/* An identification descriptor CSCD naming dev, as initiators build it
 * from INQUIRY page 83h. */
static uint32_t put_cscd(uint8_t *d, const struct uscst_device *dev, uint32_t block_len)
{
	memset(d, 0, XCOPY_CSCD_LEN);
	d[0] = XCOPY_CSCD_ID_DESC;
	d[1] = 0x00; /* LU ID TYPE 0, NUL 0, direct access */
	d[4] = 0x01; /* binary */
	d[5] = 0x03; /* LU association, NAA */
	d[7] = 16;
	xcopy_dev_naa(dev, d + 8);
	put_be24(d + 29, block_len);
	return XCOPY_CSCD_LEN;
}

static uint32_t put_seg(uint8_t *d, uint16_t src, uint16_t dst, uint16_t blocks, uint64_t src_lba,
			uint64_t dst_lba)
{
	memset(d, 0, XCOPY_SEG_B2B_LEN);
	d[0] = XCOPY_SEG_B2B;
	put_be16(d + 2, XCOPY_SEG_B2B_LEN - 4);
	put_be16(d + 4, src);
	put_be16(d + 6, dst);
	put_be16(d + 10, blocks);
	put_be64(d + 12, src_lba);
	put_be64(d + 20, dst_lba);
	return XCOPY_SEG_B2B_LEN;
}

/* header + CSCD(d0) + CSCD(d1) + one segment d0[src] -> d1[dst]. */
static uint32_t good_list(struct fixture *f, uint16_t blocks, uint64_t src_lba, uint64_t dst_lba)
{
	uint32_t off = XCOPY_HDR_LEN;
	off += put_cscd(f->p + off, &f->d0, 512);
	off += put_cscd(f->p + off, &f->d1, 512);
	off += put_seg(f->p + off, 0, 1, blocks, src_lba, dst_lba);
	put_header(f->p, 5, XCOPY_LIST_ID_HOLD, 2 * XCOPY_CSCD_LEN, XCOPY_SEG_B2B_LEN, 0);
	return off;
}

static int parse(struct fixture *f, uint32_t len)
{
	int rc = xcopy_parse(f->p, len, lookup, f, &f->list, &f->err);
	if (rc == 0)
		rc = xcopy_check_segments(&f->list, &f->err);
	return rc;
}

static void assert_err(const struct fixture *f, uint8_t key, uint8_t asc, uint8_t ascq)
{
	assert_int_equal(f->err.key, key);
	assert_int_equal(f->err.asc, asc);
	assert_int_equal(f->err.ascq, ascq);
}

/* --- parser --- */

static void test_good_list(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 100, 10, 2000);
	assert_int_equal(parse(f, len), 0);
	assert_int_equal(f->list.list_id, 5);
	assert_int_equal(f->list.list_id_usage, XCOPY_LIST_ID_HOLD);
	assert_true(f->list.hdr_valid);
	assert_int_equal(f->list.ncscd, 2);
	assert_int_equal(f->list.nseg, 1);
	assert_ptr_equal(f->list.cscd[0].dev, &f->d0);
	assert_ptr_equal(f->list.cscd[1].dev, &f->d1);
	assert_int_equal(f->list.seg[0].src_lba, 10);
	assert_int_equal(f->list.seg[0].dst_lba, 2000);
	assert_int_equal(f->list.seg[0].bytes, 100 * 512);
}

static void test_empty_list(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(xcopy_parse(NULL, 0, lookup, f, &f->list, &f->err), 1);
}

static void test_short_header(void **state)
{
	struct fixture *f = *state;
	good_list(f, 1, 0, 0);
	assert_int_equal(parse(f, XCOPY_HDR_LEN - 1), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
}

static void test_truncated_cscd(void **state)
{
	struct fixture *f = *state;
	good_list(f, 1, 0, 0);
	/* The header promises more than was sent. */
	assert_int_equal(parse(f, XCOPY_HDR_LEN + XCOPY_CSCD_LEN - 1), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
}

static void test_truncated_segment(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, 0, 0);
	assert_int_equal(parse(f, len - 1), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
}

static void test_cscd_list_not_whole(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, 0, 0);
	/* CSCD list length cuts the second descriptor short. */
	put_be16(f->p + 2, 2 * XCOPY_CSCD_LEN - 4);
	assert_int_equal(parse(f, len), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
}

static void test_desc_list_too_long(void **state)
{
	struct fixture *f = *state;
	uint32_t off = XCOPY_HDR_LEN + put_cscd(f->p + XCOPY_HDR_LEN, &f->d0, 512);
	unsigned n = (XCOPY_MAX_DESC_LIST_LEN - XCOPY_CSCD_LEN) / XCOPY_SEG_B2B_LEN + 1;
	for (unsigned i = 0; i < n; i++)
		off += put_seg(f->p + off, 0, 0, 1, 0, 1);
	put_header(f->p, 1, 0, XCOPY_CSCD_LEN, n * XCOPY_SEG_B2B_LEN, 0);
	assert_int_equal(parse(f, off), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
}

static void test_too_many_cscds(void **state)
{
	struct fixture *f = *state;
	uint32_t off = XCOPY_HDR_LEN;
	for (unsigned i = 0; i < XCOPY_MAX_CSCD_DESCS + 1; i++)
		off += put_cscd(f->p + off, &f->d0, 512);
	uint32_t cscd_len = off - XCOPY_HDR_LEN;
	off += put_seg(f->p + off, 0, 0, 1, 0, 1);
	put_header(f->p, 1, 0, cscd_len, XCOPY_SEG_B2B_LEN, 0);
	assert_int_equal(parse(f, off), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_TOO_MANY_CSCD_DESCS);
}

static void test_too_many_segments(void **state)
{
	struct fixture *f = *state;
	uint32_t off = XCOPY_HDR_LEN + put_cscd(f->p + XCOPY_HDR_LEN, &f->d0, 512);
	for (unsigned i = 0; i < XCOPY_MAX_SEG_DESCS + 1; i++)
		off += put_seg(f->p + off, 0, 0, 1, 0, 1);
	put_header(f->p, 1, 0, XCOPY_CSCD_LEN, (XCOPY_MAX_SEG_DESCS + 1) * XCOPY_SEG_B2B_LEN, 0);
	assert_int_equal(parse(f, off), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_TOO_MANY_SEG_DESCS);
}

static void test_unsupported_cscd_type(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, 0, 0);
	f->p[XCOPY_HDR_LEN] = 0xe0; /* Fibre Channel N_Port_Name */
	assert_int_equal(parse(f, len), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_UNSUPPORTED_CSCD_TYPE);
}

static void test_unsupported_peripheral_type(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, 0, 0);
	f->p[XCOPY_HDR_LEN + 1] = 0x01; /* sequential-access (tape) */
	assert_int_equal(parse(f, len), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_UNSUPPORTED_CSCD_TYPE);
}

static void test_lu_id_type_ignored(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, 0, 0);
	f->p[XCOPY_HDR_LEN + 1] = 0x80; /* LU ID TYPE 10b: ignored in SPC-4 */
	assert_int_equal(parse(f, len), 0);
}

static void test_unsupported_segment_type(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, 0, 0);
	f->p[XCOPY_HDR_LEN + 2 * XCOPY_CSCD_LEN] = 0x09; /* stream to stream */
	assert_int_equal(parse(f, len), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_UNSUPPORTED_SEG_TYPE);
}

static void test_bad_segment_length(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, 0, 0);
	uint32_t seg = XCOPY_HDR_LEN + 2 * XCOPY_CSCD_LEN;
	/* Consistent with the list length, wrong for the descriptor type. */
	put_be16(f->p + seg + 2, XCOPY_SEG_B2B_LEN - 8);
	put_be32(f->p + 8, XCOPY_SEG_B2B_LEN - 4);
	assert_int_equal(parse(f, len - 4), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_true(f->err.field);
	assert_int_equal(f->err.byte, seg + 2);
}

static void test_inline_data_refused(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, 0, 0);
	put_be32(f->p + 12, 4);
	assert_int_equal(parse(f, len + 4), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(f->err.byte, 12);
}

static void test_reserved_list_id_usage(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, 0, 0);
	f->p[1] = 1 << 3;
	assert_int_equal(parse(f, len), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(f->err.byte, 1);
	assert_int_equal(f->err.bit, 4);
	assert_false(f->list.hdr_valid);
}

static void test_no_list_id_needs_zero(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, 0, 0);
	f->p[1] = XCOPY_LIST_ID_NONE << 3; /* list id 5 stays: refused */
	assert_int_equal(parse(f, len), -1);
	assert_err(f, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(f->err.byte, 0);
	f->p[0] = 0;
	assert_int_equal(parse(f, len), 0);
}

static void test_bad_cscd_index(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, 0, 0);
	put_be16(f->p + XCOPY_HDR_LEN + 2 * XCOPY_CSCD_LEN + 6, 2); /* only 0 and 1 exist */
	assert_int_equal(parse(f, len), -1);
	assert_err(f, SK_COPY_ABORTED, ASC_COPY_TARGET_NOT_REACHABLE);
}

static void test_unknown_device(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, 0, 0);
	f->p[XCOPY_HDR_LEN + 8 + 15] ^= 0xff; /* designator names no device */
	assert_int_equal(xcopy_parse(f->p, len, lookup, f, &f->list, &f->err), 0);
	assert_null(f->list.cscd[0].dev);
	assert_int_equal(xcopy_check_segments(&f->list, &f->err), -1);
	assert_err(f, SK_COPY_ABORTED, ASC_COPY_TARGET_NOT_REACHABLE);
}

static void test_block_length_mismatch(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, 0, 0);
	put_be24(f->p + XCOPY_HDR_LEN + XCOPY_CSCD_LEN + 29, 4096);
	assert_int_equal(parse(f, len), -1);
	assert_err(f, SK_COPY_ABORTED, ASC_INCORRECT_COPY_TARGET_TYPE);
}

static void test_dst_lba_out_of_range(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 2, 0, f->d1.nblocks - 1);
	assert_int_equal(parse(f, len), -1);
	assert_err(f, SK_COPY_ABORTED, ASC_NO_ADDITIONAL_SENSE);
	assert_true(f->err.field);
	assert_int_equal(f->err.byte, XCOPY_HDR_LEN + 2 * XCOPY_CSCD_LEN + 20);
}

static void test_src_lba_out_of_range(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 1, UINT64_MAX, 0); /* no wrap-around */
	assert_int_equal(parse(f, len), -1);
	assert_err(f, SK_COPY_ABORTED, ASC_NO_ADDITIONAL_SENSE);
	assert_int_equal(f->err.byte, XCOPY_HDR_LEN + 2 * XCOPY_CSCD_LEN + 12);
}

static void test_mixed_block_sizes(void **state)
{
	struct fixture *f = *state;
	uint32_t off = XCOPY_HDR_LEN;
	off += put_cscd(f->p + off, &f->d0, 512);
	off += put_cscd(f->p + off, &f->d4k, 4096);
	uint32_t seg = off;
	off += put_seg(f->p + off, 0, 1, 2, 0, 0); /* 2 destination blocks, DC=1 */
	f->p[seg + 1] = 0x02;
	off += put_seg(f->p + off, 0, 1, 3, 0, 0); /* 3 source blocks: not whole 4K */
	put_header(f->p, 1, 0, 2 * XCOPY_CSCD_LEN, 2 * XCOPY_SEG_B2B_LEN, 0);
	assert_int_equal(parse(f, off), -1);
	assert_err(f, SK_COPY_ABORTED, ASC_NO_ADDITIONAL_SENSE);
	assert_int_equal(f->list.seg[0].bytes, 8192);
	assert_int_equal(f->err.byte, seg + XCOPY_SEG_B2B_LEN + 10);
}

/* --- the copy manager --- */

static void run_cmd(struct fixture *f, void (*handler)(struct uscst_cmd *), const uint8_t *cdb,
		    const uint8_t *out, uint32_t out_len)
{
	uscst_cmd_release(&f->cmd);
	fixture_cmd_init(&f->cmd, &f->sess, 0, cdb, 16, on_done); /* LUN 0: d0 */
	f->cmd.out_len = out_len;
	if (out_len)
		fixture_cmd_data_out(&f->cmd, out, out_len);
	f->done_calls = 0;
	handler(&f->cmd);
	assert_int_equal(f->done_calls, 1);
}

static void xcopy_cdb(uint8_t *cdb, uint32_t len)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x83;
	put_be32(cdb + 10, len);
}

static void rcr_cdb(uint8_t *cdb, uint8_t sa, uint8_t list_id)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x84;
	cdb[1] = sa;
	cdb[2] = list_id;
	put_be32(cdb + 10, 1024);
}

static void test_copy_between_devices(void **state)
{
	struct fixture *f = *state;
	uint8_t *src = f->mem0, *dst = f->mem1;
	for (uint32_t i = 0; i < DEV_BYTES; i++)
		src[i] = (uint8_t)(i * 13 + (i >> 9));
	/* 6000 blocks = ~2.9 MiB: several chunks, all completed inline. */
	uint32_t len = good_list(f, 6000, 7, 100);
	uint8_t cdb[16];
	xcopy_cdb(cdb, len);
	run_cmd(f, spc_extended_copy, cdb, f->p, len);
	assert_int_equal(f->cmd.status, SAM_STAT_GOOD);
	assert_memory_equal(dst + 100 * 512, src + 7 * 512, 6000 * 512);
	assert_int_equal(dst[100 * 512 - 1], 0);
	assert_int_equal(dst[6100 * 512], 0);
	assert_int_equal(submits, 2 * 3); /* 3 chunks of at most 1 MiB */

	rcr_cdb(cdb, 0x00, 5);
	run_cmd(f, spc_receive_copy_results, cdb, NULL, 0);
	assert_int_equal(f->cmd.status, SAM_STAT_GOOD);
	assert_int_equal(f->cmd.in_len, 12);
	assert_int_equal(get_be32(f->cmd.in_buf), 8);
	assert_int_equal(f->cmd.in_buf[4], 0x01); /* completed, no errors */
	assert_int_equal(get_be16(f->cmd.in_buf + 5), 1);
	assert_int_equal(get_be32(f->cmd.in_buf + 8), 6000 * 512);

	/* Another list id has no status: INVALID FIELD IN CDB. */
	rcr_cdb(cdb, 0x00, 6);
	run_cmd(f, spc_receive_copy_results, cdb, NULL, 0);
	assert_int_equal(f->cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(f->cmd.sense[12], 0x24);
}

static void test_copy_read_only_destination(void **state)
{
	struct fixture *f = *state;
	f->map.luns[1].read_only = true;
	uint32_t len = good_list(f, 8, 0, 0);
	uint8_t cdb[16];
	xcopy_cdb(cdb, len);
	run_cmd(f, spc_extended_copy, cdb, f->p, len);
	assert_int_equal(f->cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(f->cmd.sense[2], SK_DATA_PROTECT);
	assert_int_equal(submits, 0);

	/* The refusal is what FAILED SEGMENT DETAILS reports for list id 5. */
	rcr_cdb(cdb, 0x04, 5);
	run_cmd(f, spc_receive_copy_results, cdb, NULL, 0);
	assert_int_equal(f->cmd.status, SAM_STAT_GOOD);
	assert_int_equal(f->cmd.in_buf[56], SAM_STAT_CHECK_CONDITION);
	assert_int_equal(get_be16(f->cmd.in_buf + 58), 18);
	assert_int_equal(f->cmd.in_buf[60 + 2], SK_DATA_PROTECT);
}

/* A device that is being sanitized answers the copy NOT READY, SANITIZE
 * IN PROGRESS; one left in sanitize failure mode MEDIUM ERROR, SANITIZE
 * COMMAND FAILED (as a READ or WRITE addressed to it would). */
static void test_copy_sanitizing_device(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 8, 0, 0);
	uint8_t cdb[16];
	xcopy_cdb(cdb, len);
	f->d1.sanitize_state = 1; /* running */
	f->d1.sanitize_progress = 0x1234;
	run_cmd(f, spc_extended_copy, cdb, f->p, len);
	assert_int_equal(f->cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(f->cmd.sense[2], SK_NOT_READY);
	assert_int_equal(f->cmd.sense[12], 0x04);
	assert_int_equal(f->cmd.sense[13], 0x1b);
	assert_int_equal(get_be16(f->cmd.sense + 16), 0x1234);
	f->d1.sanitize_state = 0;
	f->d0.sanitize_state = 2; /* failed */
	run_cmd(f, spc_extended_copy, cdb, f->p, len);
	assert_int_equal(f->cmd.sense[2], SK_MEDIUM_ERROR);
	assert_int_equal(f->cmd.sense[12], 0x31);
	assert_int_equal(f->cmd.sense[13], 0x03);
	assert_int_equal(submits, 0);
	f->d0.sanitize_state = 0;
}

static void test_copy_sense_segment_pointer(void **state)
{
	struct fixture *f = *state;
	uint32_t len = good_list(f, 2, 0, f->d1.nblocks - 1);
	uint8_t cdb[16];
	xcopy_cdb(cdb, len);
	run_cmd(f, spc_extended_copy, cdb, f->p, len);
	assert_int_equal(f->cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(f->cmd.sense[2], SK_COPY_ABORTED);
	assert_int_equal(f->cmd.sense[15], 0x80); /* SKSV, relative to the list */
	assert_int_equal(get_be16(f->cmd.sense + 16), XCOPY_HDR_LEN + 2 * XCOPY_CSCD_LEN + 20);
}

/* --- reservations of the devices a copy touches --- */

/* Another I_T nexus registers and reserves dev with a persistent
 * reservation of the given type. */
static void reserve_by_other(struct uscst_device *dev, uint8_t type)
{
	if (!dev->pr)
		dev->pr = pr_state_new();
	assert_non_null(dev->pr);
	struct pr_nexus other = {"iqn.holder,i,0x1", 1};
	struct pr_register_args a = {.sa_key = 0x1234};
	struct pr_events ev = {0};
	assert_int_equal(pr_register(dev->pr, &other, &a, &ev), PR_OK);
	pr_events_free(&ev);
	assert_int_equal(pr_reserve(dev->pr, &other, 0x1234, type), PR_OK);
}

static void fill_src(struct fixture *f)
{
	uint8_t *src = f->mem0, *d1 = f->mem1;
	for (uint32_t i = 0; i < DEV_BYTES; i++) {
		src[i] = (uint8_t)(i * 7 + 1);
		d1[i] = (uint8_t)(i * 3 + 5);
	}
}

static void assert_conflict(struct fixture *f)
{
	assert_int_equal(f->cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	assert_int_equal(f->cmd.sense_len, 0);
}

/* Sent through LUN 0 (disk0, not reserved), the copy still may not write
 * disk1 that another nexus holds Write Exclusive: it is a WRITE of disk1
 * from this nexus.  Reading disk1 is allowed under Write Exclusive. */
static void test_copy_pr_write_exclusive_destination(void **state)
{
	struct fixture *f = *state;
	fill_src(f);
	static uint8_t before[64 * 512];
	memcpy(before, f->mem1, sizeof(before));
	reserve_by_other(&f->d1, PR_TYPE_WE);
	uint32_t len = good_list(f, 64, 0, 0);
	uint8_t cdb[16];
	xcopy_cdb(cdb, len);
	run_cmd(f, spc_extended_copy, cdb, f->p, len);
	assert_conflict(f);
	assert_int_equal(submits, 0);
	assert_memory_equal(f->mem1, before, sizeof(before));

	/* RECEIVE COPY RESULTS tells the same. */
	rcr_cdb(cdb, 0x04, 5);
	run_cmd(f, spc_receive_copy_results, cdb, NULL, 0);
	assert_int_equal(f->cmd.in_buf[56], SAM_STAT_RESERVATION_CONFLICT);

	/* disk1 -> disk0: a READ of disk1, allowed. */
	uint32_t off = XCOPY_HDR_LEN;
	off += put_cscd(f->p + off, &f->d0, 512);
	off += put_cscd(f->p + off, &f->d1, 512);
	off += put_seg(f->p + off, 1, 0, 64, 0, 1000);
	put_header(f->p, 6, XCOPY_LIST_ID_NONE, 2 * XCOPY_CSCD_LEN, XCOPY_SEG_B2B_LEN, 0);
	f->p[0] = 0;
	xcopy_cdb(cdb, off);
	run_cmd(f, spc_extended_copy, cdb, f->p, off);
	assert_int_equal(f->cmd.status, SAM_STAT_GOOD);
	assert_memory_equal((uint8_t *)f->mem0 + 1000 * 512, f->mem1, 64 * 512);
}

/* Exclusive Access: not even reading the source. */
static void test_copy_pr_exclusive_access_source(void **state)
{
	struct fixture *f = *state;
	fill_src(f);
	reserve_by_other(&f->d1, PR_TYPE_EA);
	uint32_t off = XCOPY_HDR_LEN;
	off += put_cscd(f->p + off, &f->d0, 512);
	off += put_cscd(f->p + off, &f->d1, 512);
	off += put_seg(f->p + off, 1, 0, 64, 0, 1000);
	put_header(f->p, 7, XCOPY_LIST_ID_HOLD, 2 * XCOPY_CSCD_LEN, XCOPY_SEG_B2B_LEN, 0);
	uint8_t cdb[16];
	xcopy_cdb(cdb, off);
	run_cmd(f, spc_extended_copy, cdb, f->p, off);
	assert_conflict(f);
	assert_int_equal(submits, 0);
}

/* SPC-2 RESERVE(6) by another nexus on the destination; by this nexus it
 * is no obstacle. */
static void test_copy_spc2_reserved_destination(void **state)
{
	struct fixture *f = *state;
	fill_src(f);
	f->d1.spc2_holder = 99;
	uint32_t len = good_list(f, 64, 0, 0);
	uint8_t cdb[16];
	xcopy_cdb(cdb, len);
	run_cmd(f, spc_extended_copy, cdb, f->p, len);
	assert_conflict(f);
	assert_int_equal(submits, 0);

	f->d1.spc2_holder = f->sess.id;
	run_cmd(f, spc_extended_copy, cdb, f->p, len);
	assert_int_equal(f->cmd.status, SAM_STAT_GOOD);
	assert_memory_equal(f->mem1, f->mem0, 64 * 512);
}

static void reserve_d1_now(struct uscst_device *dev)
{
	if (dev == &fx->d1)
		dev->spc2_holder = 99;
}

/* A reservation taken while a long copy runs stops it before its next
 * chunk: nothing more is written to the reserved device. */
static void test_copy_reservation_taken_mid_copy(void **state)
{
	struct fixture *f = *state;
	fill_src(f);
	static uint8_t before[DEV_BYTES];
	memcpy(before, f->mem1, DEV_BYTES);
	after_write = reserve_d1_now;
	uint32_t len = good_list(f, 6000, 0, 0); /* 3 chunks */
	uint8_t cdb[16];
	xcopy_cdb(cdb, len);
	run_cmd(f, spc_extended_copy, cdb, f->p, len);
	assert_conflict(f);
	uint32_t chunk = 1024 * 1024;
	assert_memory_equal(f->mem1, f->mem0, chunk);
	assert_memory_equal((uint8_t *)f->mem1 + chunk, before + chunk, DEV_BYTES - chunk);
	/* Chunk 1 read and written, chunk 2 read (disk0 is free), not written. */
	assert_int_equal(submits, 3);
}

/* A SANITIZE that starts on the source while a long copy runs (the
 * state set, its exclusive range not yet taken): the copy reads no more
 * of the medium being sanitized, and ends as a READ would, NOT READY,
 * SANITIZE IN PROGRESS. */
static void sanitize_d0_now(struct uscst_device *dev)
{
	if (dev == &fx->d1)
		atomic_store(&fx->d0.sanitize_state, 1); /* SANITIZE_RUNNING */
}

static void test_copy_source_sanitized_mid_copy(void **state)
{
	struct fixture *f = *state;
	fill_src(f);
	static uint8_t before[DEV_BYTES];
	memcpy(before, f->mem1, DEV_BYTES);
	after_write = sanitize_d0_now;
	uint32_t len = good_list(f, 6000, 0, 0); /* 3 chunks */
	uint8_t cdb[16];
	xcopy_cdb(cdb, len);
	run_cmd(f, spc_extended_copy, cdb, f->p, len);
	assert_int_equal(f->cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(f->cmd.sense[2], SK_NOT_READY);
	assert_int_equal(f->cmd.sense[12], 0x04);
	assert_int_equal(f->cmd.sense[13], 0x1b);
	uint32_t chunk = 1024 * 1024;
	assert_memory_equal((uint8_t *)f->mem1 + chunk, before + chunk, DEV_BYTES - chunk);
	assert_int_equal(submits, 2); /* chunk 1 read and written; nothing of chunk 2 */
	atomic_store(&f->d0.sanitize_state, 0);
	assert_null(f->d0.ranges.held);
}

/* A sanitize holding the source medium (exclusive): the copy's next read
 * waits for it, and after a sanitize that failed ends with SANITIZE
 * COMMAND FAILED instead of reading. */
static void count_resume(struct lba_range_lock *l);
static struct lba_range_lock g_sanitizing;
static void sanitize_holds_d0(struct uscst_device *dev)
{
	if (dev != &fx->d1 || sbc_range_held(&g_sanitizing))
		return;
	atomic_store(&fx->d0.sanitize_state, 1);
	assert_true(
	    sbc_range_acquire(&g_sanitizing, &fx->d0, 0, fx->d0.nblocks, true, count_resume));
}

static void test_copy_source_read_waits_for_sanitize(void **state)
{
	struct fixture *f = *state;
	fill_src(f);
	memset(&g_sanitizing, 0, sizeof(g_sanitizing));
	after_write = sanitize_holds_d0;
	uint32_t len = good_list(f, 6000, 0, 0);
	uint8_t cdb[16];
	xcopy_cdb(cdb, len);
	uscst_cmd_release(&f->cmd);
	fixture_cmd_init(&f->cmd, &f->sess, 0, cdb, 16, on_done);
	f->cmd.out_len = len;
	fixture_cmd_data_out(&f->cmd, f->p, len);
	f->done_calls = 0;
	spc_extended_copy(&f->cmd);
	assert_int_equal(submits, 2); /* chunk 2 is not read under the sanitize */
	if (f->done_calls == 0) {
		/* Waiting: the sanitize fails and lets go of the medium. */
		atomic_store(&f->d0.sanitize_state, 2); /* SANITIZE_FAILED */
		sbc_range_release(&g_sanitizing);
	}
	assert_int_equal(f->done_calls, 1);
	assert_int_equal(f->cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(submits, 2);
	if (sbc_range_held(&g_sanitizing))
		sbc_range_release(&g_sanitizing);
	atomic_store(&f->d0.sanitize_state, 0);
	assert_null(f->d0.ranges.held);
}

static unsigned range_resumed;
static void count_resume(struct lba_range_lock *l) { range_resumed++; }

/* The copy's writes respect a COMPARE AND WRITE's range on the destination:
 * the write waits until the range is released, then the copy goes on. */
static void test_copy_waits_for_caw_range(void **state)
{
	struct fixture *f = *state;
	fill_src(f);
	struct lba_range_lock caw = {0};
	assert_true(sbc_range_acquire(&caw, &f->d1, 10, 1, true, count_resume));

	uint32_t len = good_list(f, 64, 0, 0);
	uint8_t cdb[16];
	xcopy_cdb(cdb, len);
	uscst_cmd_release(&f->cmd);
	fixture_cmd_init(&f->cmd, &f->sess, 0, cdb, 16, on_done);
	f->cmd.out_len = len;
	fixture_cmd_data_out(&f->cmd, f->p, len);
	f->done_calls = 0;
	spc_extended_copy(&f->cmd);
	assert_int_equal(f->done_calls, 0); /* waiting for the range */
	assert_int_equal(submits, 1);	    /* the read only */
	assert_int_not_equal(((uint8_t *)f->mem1)[0], ((uint8_t *)f->mem0)[0]);

	sbc_range_release(&caw); /* resumes the copy (inline: no reactor here) */
	assert_int_equal(f->done_calls, 1);
	assert_int_equal(f->cmd.status, SAM_STAT_GOOD);
	assert_memory_equal(f->mem1, f->mem0, 64 * 512);
	assert_int_equal(range_resumed, 0);
	assert_null(f->d1.ranges.held);
	assert_int_equal(atomic_load(&f->d1.ranges.exclusive), 0);
}

static void test_operating_parameters(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	rcr_cdb(cdb, 0x03, 0);
	run_cmd(f, spc_receive_copy_results, cdb, NULL, 0);
	const uint8_t *b = f->cmd.in_buf;
	assert_int_equal(f->cmd.status, SAM_STAT_GOOD);
	assert_int_equal(f->cmd.in_len, 46);
	assert_int_equal(get_be32(b), 42);
	assert_int_equal(b[4] & 1, 1); /* SNLID */
	assert_int_equal(get_be16(b + 8), XCOPY_MAX_CSCD_DESCS);
	assert_int_equal(get_be16(b + 10), XCOPY_MAX_SEG_DESCS);
	assert_int_equal(get_be32(b + 12), XCOPY_MAX_DESC_LIST_LEN);
	assert_int_equal(get_be32(b + 16), XCOPY_MAX_SEGMENT_BYTES);
	assert_int_equal(get_be32(b + 20), 0);
	assert_int_equal(get_be32(b + 24), 0);
	assert_int_equal(b[43], 2);
	assert_int_equal(b[44], 0x02);
	assert_int_equal(b[45], 0xe4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_good_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_short_header, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_cscd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_segment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cscd_list_not_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_desc_list_too_long, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many_cscds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many_segments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsupported_cscd_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsupported_peripheral_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lu_id_type_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsupported_segment_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_segment_length, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inline_data_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reserved_list_id_usage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_list_id_needs_zero, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_cscd_index, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_block_length_mismatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dst_lba_out_of_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_src_lba_out_of_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mixed_block_sizes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_between_devices, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_read_only_destination, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_sanitizing_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_sense_segment_pointer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_operating_parameters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_pr_write_exclusive_destination, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_copy_pr_exclusive_access_source, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_spc2_reserved_destination, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_reservation_taken_mid_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_source_sanitized_mid_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_source_read_waits_for_sanitize, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_copy_waits_for_caw_range, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
