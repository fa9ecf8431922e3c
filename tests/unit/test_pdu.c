/*
 * Unit tests for iscsi_pdu_frame() (iscsi/pdu_frame.c) and the LUN / padding
 * helpers of iscsi/pdu.h.  The framer decides how many bytes the receive
 * loop consumes for every PDU, so each boundary is checked: one byte short
 * must always be "need more", and the exact length must be "complete".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/iscsi.h"
#include "iscsi/pdu_frame.h"

#define MAX_DSL 8192u

/* Builds a PDU in buf: BHS with ahs_words*4 AHS bytes and dlen data bytes,
 * then the optional digests.  Returns the wire length. */
static uint32_t build(uint8_t *buf, uint8_t ahs_words, uint32_t dlen, bool hd, bool dd)
{
	uint32_t off = 0;
	memset(buf, 0, ISCSI_BHS_LEN);
	buf[0] = ISCSI_OP_SCSI_CMD;
	buf[4] = ahs_words;
	put_be24(buf + 5, dlen);
	off = ISCSI_BHS_LEN;
	for (uint32_t i = 0; i < ahs_words * 4u; i++)
		buf[off++] = (uint8_t)(0xa0 + i);
	if (hd) {
		uint32_t crc = iscsi_digest(buf, off);
		memcpy(buf + off, &crc, 4); /* little-endian on the wire (x86 host) */
		off += 4;
	}
	uint32_t data_start = off;
	for (uint32_t i = 0; i < dlen; i++)
		buf[off++] = (uint8_t)i;
	for (uint32_t i = 0; i < pad4(dlen); i++)
		buf[off++] = 0;
	if (dd && dlen) {
		uint32_t crc = iscsi_digest(buf + data_start, off - data_start);
		memcpy(buf + off, &crc, 4);
		off += 4;
	}
	return off;
}

/* Every prefix shorter than len must ask for more; len must complete. */
static void assert_boundaries(const uint8_t *buf, uint32_t len, bool hd, bool dd)
{
	struct pdu_frame f;
	for (uint32_t n = 0; n < len; n++) {
		enum pdu_frame_status st = iscsi_pdu_frame(buf, n, hd, dd, MAX_DSL, &f);
		assert_int_equal(st, PDU_NEED_MORE);
		/* The hint never promises less than what is missing. */
		assert_true(f.total_len > n);
		assert_true(f.total_len <= len);
	}
	assert_int_equal(iscsi_pdu_frame(buf, len, hd, dd, MAX_DSL, &f), PDU_COMPLETE);
	assert_int_equal(f.total_len, len);
}

static void test_pad4(void **state)
{
	assert_int_equal(pad4(0), 0);
	assert_int_equal(pad4(1), 3);
	assert_int_equal(pad4(2), 2);
	assert_int_equal(pad4(3), 1);
	assert_int_equal(pad4(4), 0);
	assert_int_equal(pad4(5), 3);
	assert_int_equal(pad4(0xffffff), 1);
	assert_int_equal(pad4(0xfffffffcu), 0);
}

static void test_need_more_empty(void **state)
{
	uint8_t buf[ISCSI_BHS_LEN] = {0};
	struct pdu_frame f;
	assert_int_equal(iscsi_pdu_frame(buf, 0, false, false, MAX_DSL, &f), PDU_NEED_MORE);
	assert_int_equal(f.total_len, ISCSI_BHS_LEN);
	assert_int_equal(iscsi_pdu_frame(buf, 47, true, true, MAX_DSL, &f), PDU_NEED_MORE);
	assert_int_equal(f.total_len, ISCSI_BHS_LEN);
}

static void test_bhs_only(void **state)
{
	uint8_t buf[64];
	uint32_t len = build(buf, 0, 0, false, false);
	assert_int_equal(len, ISCSI_BHS_LEN);
	assert_boundaries(buf, len, false, false);
	struct pdu_frame f;
	assert_int_equal(iscsi_pdu_frame(buf, len, false, false, MAX_DSL, &f), PDU_COMPLETE);
	assert_int_equal(f.ahs_len, 0);
	assert_int_equal(f.data_len, 0);
	assert_int_equal(f.hdr_len, ISCSI_BHS_LEN);
	assert_false(f.data_digest_bad);
}

static void test_extra_bytes_ignored(void **state)
{
	/* A second PDU behind the first must not change the first's frame. */
	uint8_t buf[256];
	uint32_t len = build(buf, 0, 5, false, false);
	memset(buf + len, 0xff, sizeof(buf) - len);
	struct pdu_frame f;
	assert_int_equal(iscsi_pdu_frame(buf, sizeof(buf), false, false, MAX_DSL, &f),
			 PDU_COMPLETE);
	assert_int_equal(f.total_len, len);
	assert_int_equal(f.data_len, 5);
}

static void test_data_boundaries(void **state)
{
	uint8_t buf[256];
	for (uint32_t dlen = 1; dlen <= 9; dlen++) {
		uint32_t len = build(buf, 0, dlen, false, false);
		assert_int_equal(len, ISCSI_BHS_LEN + dlen + pad4(dlen));
		assert_boundaries(buf, len, false, false);
	}
}

static void test_padding(void **state)
{
	uint8_t buf[128];
	struct pdu_frame f;
	uint32_t len = build(buf, 0, 1, false, false);
	assert_int_equal(len, ISCSI_BHS_LEN + 4);
	assert_int_equal(iscsi_pdu_frame(buf, len, false, false, MAX_DSL, &f), PDU_COMPLETE);
	/* data_len is without padding; data points right after the header. */
	assert_int_equal(f.data_len, 1);
	assert_ptr_equal(f.data, buf + ISCSI_BHS_LEN);
	/* The padding is part of the PDU: 49 bytes are not enough. */
	assert_int_equal(iscsi_pdu_frame(buf, ISCSI_BHS_LEN + 1, false, false, MAX_DSL, &f),
			 PDU_NEED_MORE);
}

static void test_ahs(void **state)
{
	uint8_t buf[256];
	struct pdu_frame f;
	uint32_t len = build(buf, 3, 6, false, false);
	assert_int_equal(len, ISCSI_BHS_LEN + 12 + 8);
	assert_boundaries(buf, len, false, false);
	assert_int_equal(iscsi_pdu_frame(buf, len, false, false, MAX_DSL, &f), PDU_COMPLETE);
	assert_int_equal(f.ahs_len, 12);
	assert_int_equal(f.hdr_len, ISCSI_BHS_LEN + 12);
	assert_ptr_equal(f.data, buf + ISCSI_BHS_LEN + 12);
	assert_int_equal(f.data[0], 0);
	assert_int_equal(f.data[5], 5);
}

static void test_ahs_max(void **state)
{
	/* TotalAHSLength 255 words = 1020 bytes, the largest the field holds. */
	static uint8_t buf[2048];
	struct pdu_frame f;
	uint32_t len = build(buf, 255, 0, true, false);
	assert_int_equal(len, ISCSI_BHS_LEN + 1020 + 4);
	assert_boundaries(buf, len, true, false);
	assert_int_equal(iscsi_pdu_frame(buf, len, true, false, MAX_DSL, &f), PDU_COMPLETE);
	assert_int_equal(f.ahs_len, 1020);
}

static void test_header_digest_good(void **state)
{
	uint8_t buf[256];
	uint32_t len = build(buf, 2, 7, true, false);
	assert_int_equal(len, ISCSI_BHS_LEN + 8 + 4 + 8);
	assert_boundaries(buf, len, true, false);
	struct pdu_frame f;
	iscsi_pdu_frame(buf, len, true, false, MAX_DSL, &f);
	assert_int_equal(f.hdr_len, ISCSI_BHS_LEN + 8 + 4);
	assert_ptr_equal(f.data, buf + f.hdr_len);
}

static void test_header_digest_bad(void **state)
{
	uint8_t buf[256];
	struct pdu_frame f;
	uint32_t len = build(buf, 1, 4, true, false);
	/* Corrupt the digest itself, then a header byte (with a good digest). */
	buf[ISCSI_BHS_LEN + 4] ^= 0x01;
	assert_int_equal(iscsi_pdu_frame(buf, len, true, false, MAX_DSL, &f),
			 PDU_HEADER_DIGEST_BAD);
	buf[ISCSI_BHS_LEN + 4] ^= 0x01;
	buf[20] ^= 0x80;
	assert_int_equal(iscsi_pdu_frame(buf, len, true, false, MAX_DSL, &f),
			 PDU_HEADER_DIGEST_BAD);
	/* A bad header digest is reported as soon as the header is there,
	 * before the data arrives: its lengths must not decide anything. */
	assert_int_equal(iscsi_pdu_frame(buf, ISCSI_BHS_LEN + 4 + 4, true, false, MAX_DSL, &f),
			 PDU_HEADER_DIGEST_BAD);
}

static void test_header_digest_bad_length(void **state)
{
	/* A huge DataSegmentLength under a bad digest: digest error, not
	 * "data too long" (which would skip bytes on the header's word). */
	uint8_t buf[64];
	struct pdu_frame f;
	build(buf, 0, 0, true, false);
	put_be24(buf + 5, 0xffffff);
	assert_int_equal(iscsi_pdu_frame(buf, ISCSI_BHS_LEN + 4, true, false, MAX_DSL, &f),
			 PDU_HEADER_DIGEST_BAD);
}

static void test_data_digest_good(void **state)
{
	uint8_t buf[256];
	struct pdu_frame f;
	for (uint32_t dlen = 1; dlen <= 8; dlen++) {
		uint32_t len = build(buf, 0, dlen, false, true);
		assert_int_equal(len, ISCSI_BHS_LEN + dlen + pad4(dlen) + 4);
		assert_boundaries(buf, len, false, true);
		iscsi_pdu_frame(buf, len, false, true, MAX_DSL, &f);
		assert_false(f.data_digest_bad);
	}
}

static void test_data_digest_covers_padding(void **state)
{
	/* RFC 7143 13.1: the data digest is over the data and its padding. */
	uint8_t buf[128];
	struct pdu_frame f;
	uint32_t len = build(buf, 0, 3, false, true);
	buf[ISCSI_BHS_LEN + 3] = 0x55; /* the one pad byte */
	assert_int_equal(iscsi_pdu_frame(buf, len, false, true, MAX_DSL, &f), PDU_COMPLETE);
	assert_true(f.data_digest_bad);
}

static void test_data_digest_bad(void **state)
{
	uint8_t buf[128];
	struct pdu_frame f;
	uint32_t len = build(buf, 0, 8, true, true);
	buf[len - 1] ^= 0x10;
	/* The PDU is still framed (its header is sound); only the flag is set. */
	assert_int_equal(iscsi_pdu_frame(buf, len, true, true, MAX_DSL, &f), PDU_COMPLETE);
	assert_int_equal(f.total_len, len);
	assert_true(f.data_digest_bad);
	buf[len - 1] ^= 0x10;
	buf[ISCSI_BHS_LEN + 4 + 2] ^= 0x10;
	assert_int_equal(iscsi_pdu_frame(buf, len, true, true, MAX_DSL, &f), PDU_COMPLETE);
	assert_true(f.data_digest_bad);
}

static void test_data_digest_absent_without_data(void **state)
{
	/* No data segment, no data digest, even when negotiated. */
	uint8_t buf[64];
	struct pdu_frame f;
	uint32_t len = build(buf, 0, 0, true, true);
	assert_int_equal(len, ISCSI_BHS_LEN + 4);
	assert_boundaries(buf, len, true, true);
	iscsi_pdu_frame(buf, len, true, true, MAX_DSL, &f);
	assert_false(f.data_digest_bad);
}

static void test_data_too_long(void **state)
{
	uint8_t buf[64];
	struct pdu_frame f;
	build(buf, 1, 0, false, true);
	put_be24(buf + 5, MAX_DSL + 1);
	/* Reported from the header alone, with the length to skip. */
	assert_int_equal(iscsi_pdu_frame(buf, ISCSI_BHS_LEN + 4, false, true, MAX_DSL, &f),
			 PDU_DATA_TOO_LONG);
	assert_int_equal(f.data_len, MAX_DSL + 1);
	assert_int_equal(f.total_len, ISCSI_BHS_LEN + 4 + MAX_DSL + 1 + 3 + 4);
	/* Exactly the limit is fine (still needs its bytes). */
	put_be24(buf + 5, MAX_DSL);
	assert_int_equal(iscsi_pdu_frame(buf, ISCSI_BHS_LEN + 4, false, true, MAX_DSL, &f),
			 PDU_NEED_MORE);
	assert_int_equal(f.total_len, ISCSI_BHS_LEN + 4 + MAX_DSL + 4);
}

static void test_data_too_long_from_bhs(void **state)
{
	/* Without a header digest the BHS alone decides: an AHS that has not
	 * arrived yet does not postpone the verdict. */
	uint8_t buf[64];
	struct pdu_frame f;
	build(buf, 4, 0, false, false);
	put_be24(buf + 5, MAX_DSL + 100);
	assert_int_equal(iscsi_pdu_frame(buf, ISCSI_BHS_LEN, false, false, MAX_DSL, &f),
			 PDU_DATA_TOO_LONG);
	assert_int_equal(f.total_len, ISCSI_BHS_LEN + 16 + MAX_DSL + 100);
	assert_int_equal(iscsi_pdu_frame(buf, ISCSI_BHS_LEN + 16, false, false, MAX_DSL, &f),
			 PDU_DATA_TOO_LONG);
}

static void test_data_too_long_needs_digest(void **state)
{
	/* With a header digest the length is judged only once the digest
	 * vouches for it; until then the hint covers the header only. */
	uint8_t buf[64];
	struct pdu_frame f;
	build(buf, 1, 0, false, false);
	put_be24(buf + 5, MAX_DSL + 100);
	uint32_t crc = iscsi_digest(buf, ISCSI_BHS_LEN + 4);
	memcpy(buf + ISCSI_BHS_LEN + 4, &crc, 4);
	for (uint32_t n = ISCSI_BHS_LEN; n < ISCSI_BHS_LEN + 8; n++) {
		assert_int_equal(iscsi_pdu_frame(buf, n, true, false, MAX_DSL, &f), PDU_NEED_MORE);
		assert_int_equal(f.total_len, ISCSI_BHS_LEN + 8);
	}
	assert_int_equal(iscsi_pdu_frame(buf, ISCSI_BHS_LEN + 8, true, false, MAX_DSL, &f),
			 PDU_DATA_TOO_LONG);
	assert_int_equal(f.total_len, ISCSI_BHS_LEN + 8 + MAX_DSL + 100);
}

static void test_need_more_hint_bounded(void **state)
{
	/* A header announcing the largest data segment (and an AHS still to
	 * come) never asks the caller to buffer more than the header, nor
	 * more than the limit allows (issue 11: a 48-byte header made the
	 * receive buffer grow to 32 MiB). */
	uint8_t buf[ISCSI_BHS_LEN];
	struct pdu_frame f;
	memset(buf, 0, sizeof(buf));
	buf[0] = ISCSI_OP_LOGIN_REQ;
	buf[4] = 255;
	put_be24(buf + 5, 0xffffff);
	for (int hd = 0; hd < 2; hd++)
		for (int dd = 0; dd < 2; dd++) {
			enum pdu_frame_status st =
			    iscsi_pdu_frame(buf, ISCSI_BHS_LEN, hd, dd, MAX_DSL, &f);
			if (st == PDU_NEED_MORE)
				assert_true(f.total_len <= ISCSI_BHS_LEN + 1020 + 4);
			else
				assert_int_equal(st, PDU_DATA_TOO_LONG);
		}
	/* Within the limit, the hint is the whole PDU and no more. */
	buf[4] = 0;
	put_be24(buf + 5, MAX_DSL);
	assert_int_equal(iscsi_pdu_frame(buf, ISCSI_BHS_LEN, false, false, MAX_DSL, &f),
			 PDU_NEED_MORE);
	assert_int_equal(f.total_len, ISCSI_BHS_LEN + MAX_DSL);
}

static void test_max_lengths(void **state)
{
	/* DataSegmentLength 2^24-1 and 1020 AHS bytes with both digests: the
	 * sums stay well inside 32 bits. */
	uint8_t buf[ISCSI_BHS_LEN + 1020 + 4];
	struct pdu_frame f;
	uint32_t hlen = build(buf, 255, 0, true, false);
	/* Rewrite the length and the header digest over it. */
	put_be24(buf + 5, 0xffffff);
	uint32_t crc = iscsi_digest(buf, ISCSI_BHS_LEN + 1020);
	memcpy(buf + ISCSI_BHS_LEN + 1020, &crc, 4);
	assert_int_equal(iscsi_pdu_frame(buf, hlen, true, true, 0xffffff, &f), PDU_NEED_MORE);
	assert_int_equal(f.total_len, ISCSI_BHS_LEN + 1020 + 4 + 0xffffff + 1 + 4);
	assert_int_equal(iscsi_pdu_frame(buf, hlen, true, true, 0xfffffe, &f), PDU_DATA_TOO_LONG);
	assert_int_equal(iscsi_pdu_frame(buf, hlen, true, true, 0, &f), PDU_DATA_TOO_LONG);
}

static void test_zero_limit_no_data(void **state)
{
	/* A limit of 0 still admits PDUs without data. */
	uint8_t buf[64];
	struct pdu_frame f;
	uint32_t len = build(buf, 0, 0, false, false);
	assert_int_equal(iscsi_pdu_frame(buf, len, false, false, 0, &f), PDU_COMPLETE);
}

static void test_digest_known_vector(void **state)
{
	/* RFC 3720 B.4: 32 bytes of zeros give CRC32C aa 36 91 8a on the wire. */
	uint8_t z[32] = {0};
	uint32_t crc = iscsi_digest(z, sizeof(z));
	uint8_t wire[4];
	memcpy(wire, &crc, 4);
	const uint8_t want[4] = {0xaa, 0x36, 0x91, 0x8a};
	assert_memory_equal(wire, want, 4);
}

static void test_lun_peripheral(void **state)
{
	uint8_t p[8];
	for (uint64_t lun = 0; lun < 256; lun++) {
		iscsi_encode_lun(p, lun);
		assert_int_equal(p[0], 0);
		assert_int_equal(p[1], lun);
		for (int i = 2; i < 8; i++)
			assert_int_equal(p[i], 0);
		assert_int_equal(iscsi_decode_lun(p), lun);
	}
}

static void test_lun_flat(void **state)
{
	uint8_t p[8];
	iscsi_encode_lun(p, 256);
	assert_int_equal(p[0], 0x41);
	assert_int_equal(p[1], 0x00);
	assert_int_equal(iscsi_decode_lun(p), 256);
	iscsi_encode_lun(p, 0x3fff);
	assert_int_equal(p[0], 0x7f);
	assert_int_equal(p[1], 0xff);
	assert_int_equal(iscsi_decode_lun(p), 0x3fff);
	for (uint64_t lun = 256; lun < 0x4000; lun += 97) {
		iscsi_encode_lun(p, lun);
		assert_int_equal(iscsi_decode_lun(p), lun);
	}
	/* Flat addressing may also name a small LUN. */
	const uint8_t flat5[8] = {0x40, 0x05};
	assert_int_equal(iscsi_decode_lun(flat5), 5);
}

/* Method 00b with a "bus" is what libiscsi and Linux send for a LUN above
 * 255 (a raw 16-bit number): the same LUN as flat addressing. */
static void test_lun_raw_peripheral(void **state)
{
	const uint8_t raw300[8] = {0x01, 0x2c};
	const uint8_t flat300[8] = {0x41, 0x2c};
	assert_int_equal(iscsi_decode_lun(raw300), 300);
	assert_int_equal(iscsi_decode_lun(flat300), 300);
	const uint8_t raw_max[8] = {0x3f, 0xff};
	assert_int_equal(iscsi_decode_lun(raw_max), 16383);
}

static void test_lun_invalid(void **state)
{
	/* Logical unit and extended addressing, and a second level, must map
	 * to a LUN that cannot exist. */
	const uint8_t logical[8] = {0x80, 0x01};
	const uint8_t extended[8] = {0xc0, 0x01};
	const uint8_t second_level[8] = {0x00, 0x01, 0x00, 0x02};
	const uint8_t last_byte[8] = {0x00, 0x01, 0, 0, 0, 0, 0, 0x01};
	assert_true(iscsi_decode_lun(logical) == UINT64_MAX);
	assert_true(iscsi_decode_lun(extended) == UINT64_MAX);
	assert_true(iscsi_decode_lun(second_level) == UINT64_MAX);
	assert_true(iscsi_decode_lun(last_byte) == UINT64_MAX);
}

static void test_lun_encode_clears(void **state)
{
	uint8_t p[8];
	memset(p, 0xff, sizeof(p));
	iscsi_encode_lun(p, 7);
	const uint8_t want[8] = {0, 7};
	assert_memory_equal(p, want, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pad4),
	    cmocka_unit_test(test_need_more_empty),
	    cmocka_unit_test(test_bhs_only),
	    cmocka_unit_test(test_extra_bytes_ignored),
	    cmocka_unit_test(test_data_boundaries),
	    cmocka_unit_test(test_padding),
	    cmocka_unit_test(test_ahs),
	    cmocka_unit_test(test_ahs_max),
	    cmocka_unit_test(test_header_digest_good),
	    cmocka_unit_test(test_header_digest_bad),
	    cmocka_unit_test(test_header_digest_bad_length),
	    cmocka_unit_test(test_data_digest_good),
	    cmocka_unit_test(test_data_digest_covers_padding),
	    cmocka_unit_test(test_data_digest_bad),
	    cmocka_unit_test(test_data_digest_absent_without_data),
	    cmocka_unit_test(test_data_too_long),
	    cmocka_unit_test(test_data_too_long_from_bhs),
	    cmocka_unit_test(test_data_too_long_needs_digest),
	    cmocka_unit_test(test_need_more_hint_bounded),
	    cmocka_unit_test(test_max_lengths),
	    cmocka_unit_test(test_zero_limit_no_data),
	    cmocka_unit_test(test_digest_known_vector),
	    cmocka_unit_test(test_lun_peripheral),
	    cmocka_unit_test(test_lun_flat),
	    cmocka_unit_test(test_lun_raw_peripheral),
	    cmocka_unit_test(test_lun_invalid),
	    cmocka_unit_test(test_lun_encode_clears),
	};
	return cmocka_run_group_tests_name("pdu", tests, NULL, NULL);
}
