/*
 * EXTENDED COPY (LID1) parameter list (SPC-4 6.4): header, CSCD descriptors
 * and segment descriptors.  Every length is checked against the bytes the
 * initiator really sent before the bytes it covers are read.
 */
#include <string.h>

#include "scsi/spc_xcopy.h"

void xcopy_dev_naa(const struct uscst_device *dev, uint8_t naa[16])
{
	/* Must stay identical to desig_naa() in spc_inquiry.c: initiators copy
	 * the designator from page 83h into the CSCD descriptor byte for byte. */
	memset(naa, 0, 16);
	put_be64(naa, (dev->naa_id & 0x0fffffffffffffffull) | (6ull << 60));
}

static int fail(struct xcopy_err *e, uint8_t key, uint8_t asc, uint8_t ascq)
{
	e->key = key;
	e->asc = asc;
	e->ascq = ascq;
	e->field = false;
	e->byte = 0;
	e->bit = -1;
	return -1;
}

static int fail_at(struct xcopy_err *e, uint8_t key, uint8_t asc, uint8_t ascq, uint32_t byte,
		   int bit)
{
	fail(e, key, asc, ascq);
	e->field = true;
	e->byte = byte;
	e->bit = bit;
	return -1;
}

static int invalid_param(struct xcopy_err *e, uint32_t byte, int bit)
{
	return fail_at(e, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST, byte, bit);
}

static int list_len_error(struct xcopy_err *e)
{
	return fail(e, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
}

/* Length of a CSCD descriptor by type code (SPC-4 table 114): the IPv6 and
 * IP copy service descriptors are 64 bytes, every other one 32. */
static uint32_t cscd_desc_len(uint8_t type) { return (type == 0xea || type == 0xeb) ? 64 : 32; }

/* Walks [off, end) as a list of CSCD descriptors, counting them. */
static int count_cscds(const uint8_t *p, uint32_t off, uint32_t end, unsigned *count,
		       struct xcopy_err *e)
{
	unsigned n = 0;
	while (off < end) {
		uint32_t dlen = cscd_desc_len(p[off]);
		if (end - off < dlen)
			return list_len_error(e);
		off += dlen;
		/* Stop counting early: a huge list must not cost a long walk. */
		if (++n > XCOPY_MAX_CSCD_DESCS)
			return fail(e, SK_ILLEGAL_REQUEST, ASC_TOO_MANY_CSCD_DESCS);
	}
	*count = n;
	return 0;
}

/* Segment descriptors carry their own length (bytes 2-3, after the first 4). */
static int count_segs(const uint8_t *p, uint32_t off, uint32_t end, unsigned *count,
		      struct xcopy_err *e)
{
	unsigned n = 0;
	while (off < end) {
		if (end - off < 4)
			return list_len_error(e);
		uint32_t dlen = 4u + get_be16(p + off + 2);
		if (end - off < dlen)
			return list_len_error(e);
		off += dlen;
		if (++n > XCOPY_MAX_SEG_DESCS)
			return fail(e, SK_ILLEGAL_REQUEST, ASC_TOO_MANY_SEG_DESCS);
	}
	*count = n;
	return 0;
}

/* One identification descriptor CSCD descriptor (SPC-4 6.4.5.7) at p[off],
 * XCOPY_CSCD_LEN bytes known to be present. */
static int parse_cscd(const uint8_t *p, uint32_t off, xcopy_lookup_fn lookup, void *arg,
		      struct xcopy_cscd *c, struct xcopy_err *e)
{
	const uint8_t *d = p + off;
	if (d[0] != XCOPY_CSCD_ID_DESC)
		return fail_at(e, SK_ILLEGAL_REQUEST, ASC_UNSUPPORTED_CSCD_TYPE, off, -1);
	/* LU ID TYPE and NUL are ignored for this descriptor in SPC-4 (NUL is
	 * obsolete); the RELATIVE INITIATOR PORT IDENTIFIER is not needed as
	 * every device is reached inside this target. */
	if ((d[1] & 0x1f) != SBC_DEVICE_TYPE)
		return fail_at(e, SK_ILLEGAL_REQUEST, ASC_UNSUPPORTED_CSCD_TYPE, off + 1, 4);

	/* Designation descriptor: bytes 4..23, designator at most 16 bytes. */
	const uint8_t *desig = d + 4;
	uint8_t code_set = desig[0] & 0x0f;
	uint8_t assoc = (desig[1] >> 4) & 0x03;
	uint8_t type = desig[1] & 0x0f;
	uint8_t dlen = desig[3];
	if (dlen > 16)
		return invalid_param(e, off + 7, -1);

	c->off = off;
	c->block_len = get_be24(d + 29);
	c->dev = NULL;
	/* Only a logical unit's binary NAA designator names a device here;
	 * anything else stays unresolved and fails only if a segment uses it,
	 * as SPC-4 does not require unused CSCDs to be reachable. */
	if (code_set == 0x1 && assoc == 0 && type == 0x3 && dlen == 16)
		c->dev = lookup(arg, desig + 4);
	return 0;
}

/* One block device to block device segment descriptor (SPC-4 6.4.6.5). */
static int parse_seg(const uint8_t *p, uint32_t off, struct xcopy_seg *s, struct xcopy_err *e)
{
	const uint8_t *d = p + off;
	if (d[0] != XCOPY_SEG_B2B)
		return fail_at(e, SK_ILLEGAL_REQUEST, ASC_UNSUPPORTED_SEG_TYPE, off, -1);
	if (4u + get_be16(d + 2) != XCOPY_SEG_B2B_LEN)
		return invalid_param(e, off + 2, -1);
	s->off = off;
	s->dc = d[1] & 0x02;
	/* CAT only matters with residual bytes, which check_segment refuses. */
	s->src = get_be16(d + 4);
	s->dst = get_be16(d + 6);
	s->blocks = get_be16(d + 10);
	s->src_lba = get_be64(d + 12);
	s->dst_lba = get_be64(d + 20);
	s->bytes = 0;
	return 0;
}

int xcopy_parse(const uint8_t *p, uint32_t len, xcopy_lookup_fn lookup, void *arg,
		struct xcopy_list *l, struct xcopy_err *e)
{
	/* A zero parameter list length is not an error (SPC-4 6.4.1). */
	l->hdr_valid = false;
	if (len == 0)
		return 1;
	if (!p || len < XCOPY_HDR_LEN)
		return list_len_error(e);

	l->list_id = p[0];
	l->str = p[1] & 0x20;
	l->list_id_usage = (p[1] >> 3) & 0x03;
	l->priority = p[1] & 0x07;
	if (p[1] & 0xc0)
		return invalid_param(e, 1, (p[1] & 0x80) ? 7 : 6);
	if (l->list_id_usage == 1) /* reserved */
		return invalid_param(e, 1, 4);
	if (l->list_id_usage == XCOPY_LIST_ID_NONE && l->list_id != 0)
		return invalid_param(e, 0, -1);
	l->hdr_valid = true;

	uint32_t cscd_len = get_be16(p + 2);
	uint32_t seg_len = get_be32(p + 8);
	uint32_t inline_len = get_be32(p + 12);
	/* 64-bit sums: the three fields together can overflow 32 bits. */
	uint64_t desc_len = (uint64_t)cscd_len + seg_len + inline_len;
	if (XCOPY_HDR_LEN + desc_len > len)
		return list_len_error(e);
	if (desc_len > XCOPY_MAX_DESC_LIST_LEN)
		return list_len_error(e);
	if (inline_len > XCOPY_MAX_INLINE_DATA)
		return invalid_param(e, 12, -1);

	uint32_t cscd_off = XCOPY_HDR_LEN;
	uint32_t seg_off = cscd_off + cscd_len;
	uint32_t seg_end = seg_off + seg_len;
	if (count_cscds(p, cscd_off, seg_off, &l->ncscd, e) ||
	    count_segs(p, seg_off, seg_end, &l->nseg, e))
		return -1;

	uint32_t off = cscd_off;
	for (unsigned i = 0; i < l->ncscd; i++) {
		if (parse_cscd(p, off, lookup, arg, &l->cscd[i], e))
			return -1;
		off += cscd_desc_len(p[off]);
	}
	off = seg_off;
	for (unsigned i = 0; i < l->nseg; i++) {
		if (parse_seg(p, off, &l->seg[i], e))
			return -1;
		off += 4u + get_be16(p + off + 2);
	}
	return 0;
}

/* Errors found while checking a segment against its devices end the copy
 * with COPY ABORTED (SPC-4 6.4.3) and a segment pointer to the field. */
static int copy_aborted(struct xcopy_err *e, uint8_t asc, uint8_t ascq, uint32_t byte)
{
	return fail_at(e, SK_COPY_ABORTED, asc, ascq, byte, -1);
}

static const struct xcopy_cscd *seg_cscd(const struct xcopy_list *l, uint16_t idx, uint32_t field,
					 struct xcopy_err *e)
{
	if (idx >= l->ncscd) {
		copy_aborted(e, ASC_COPY_TARGET_NOT_REACHABLE, field);
		return NULL;
	}
	const struct xcopy_cscd *c = &l->cscd[idx];
	if (!c->dev) {
		copy_aborted(e, ASC_COPY_TARGET_NOT_REACHABLE, field);
		return NULL;
	}
	/* The initiator states the block length it expects: a mismatch means
	 * it has the wrong device in mind. */
	if (c->block_len != c->dev->block_size) {
		copy_aborted(e, ASC_INCORRECT_COPY_TARGET_TYPE, c->off + 29);
		return NULL;
	}
	return c;
}

static int check_segment(const struct xcopy_list *l, struct xcopy_seg *s, struct xcopy_err *e)
{
	const struct xcopy_cscd *src = seg_cscd(l, s->src, s->off + 4, e);
	if (!src)
		return -1;
	const struct xcopy_cscd *dst = seg_cscd(l, s->dst, s->off + 6, e);
	if (!dst)
		return -1;
	uint32_t sbs = src->dev->block_size, dbs = dst->dev->block_size;
	uint64_t bytes = (uint64_t)s->blocks * (s->dc ? dbs : sbs);
	/* Whole blocks on both sides only: no residue for CAT to handle. */
	if (bytes % sbs || bytes % dbs || bytes > XCOPY_MAX_SEGMENT_BYTES)
		return copy_aborted(e, ASC_NO_ADDITIONAL_SENSE, s->off + 10);
	if (!sbc_lba_in(src->nblocks, s->src_lba, bytes / sbs))
		return copy_aborted(e, ASC_NO_ADDITIONAL_SENSE, s->off + 12);
	if (!sbc_lba_in(dst->nblocks, s->dst_lba, bytes / dbs))
		return copy_aborted(e, ASC_NO_ADDITIONAL_SENSE, s->off + 20);
	s->bytes = bytes;
	return 0;
}

int xcopy_check_segments(struct xcopy_list *l, struct xcopy_err *e)
{
	/* Every segment on a device is checked against the same size, even if
	 * resync_size changes it meanwhile. */
	for (unsigned i = 0; i < l->ncscd; i++)
		l->cscd[i].nblocks = l->cscd[i].dev ? sbc_nblocks(l->cscd[i].dev) : 0;
	for (unsigned i = 0; i < l->nseg; i++)
		if (check_segment(l, &l->seg[i], e))
			return -1;
	return 0;
}
