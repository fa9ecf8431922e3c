#include "iscsi/pdu_frame.h"

#include <string.h>

#include "iscsi/iscsi.h"

/*
 * f->total_len of PDU_NEED_MORE is never more than the caller may safely
 * buffer: up to the end of the header while the header is incomplete
 * (at most 48 + 1020 + 4 bytes), the whole PDU only once its
 * DataSegmentLength has been checked against max_data_len.  The receive
 * buffer grows to that hint, so a 48-byte header announcing 16 MiB must
 * not make it allocate anything.
 */
enum pdu_frame_status iscsi_pdu_frame(const uint8_t *buf, size_t avail, bool header_digest,
				      bool data_digest, uint32_t max_data_len, struct pdu_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->total_len = ISCSI_BHS_LEN;
	if (avail < ISCSI_BHS_LEN)
		return PDU_NEED_MORE;
	/* Both lengths come from the wire; they are bounded (AHS <= 1020,
	 * data < 2^24) so the sums below cannot overflow 32 bits. */
	f->ahs_len = bhs_ahs_len(buf);
	f->data_len = bhs_data_len(buf);
	f->hdr_len = ISCSI_BHS_LEN + f->ahs_len + (header_digest ? ISCSI_DIGEST_LEN : 0);
	uint32_t body =
	    f->data_len + pad4(f->data_len) + (data_digest && f->data_len ? ISCSI_DIGEST_LEN : 0);
	uint32_t whole = f->hdr_len + body;
	/* Without a header digest the BHS is all there is to trust: judge
	 * the length now rather than wait for an AHS. */
	if (!header_digest && f->data_len > max_data_len) {
		f->total_len = whole;
		return PDU_DATA_TOO_LONG;
	}
	if (avail < f->hdr_len) {
		f->total_len = f->hdr_len;
		return PDU_NEED_MORE;
	}
	/* The digest first: a corrupted length must not decide what to skip. */
	if (header_digest) {
		uint32_t crc;
		memcpy(&crc, buf + ISCSI_BHS_LEN + f->ahs_len, 4); /* little-endian on the wire */
		if (crc != iscsi_digest(buf, ISCSI_BHS_LEN + f->ahs_len))
			return PDU_HEADER_DIGEST_BAD;
	}
	f->total_len = whole;
	if (f->data_len > max_data_len)
		return PDU_DATA_TOO_LONG;
	if (avail < f->total_len)
		return PDU_NEED_MORE;
	f->data = buf + f->hdr_len;
	if (data_digest && f->data_len) {
		uint32_t crc;
		uint32_t padded = f->data_len + pad4(f->data_len);
		memcpy(&crc, f->data + padded, 4);
		f->data_digest_bad = crc != iscsi_digest(f->data, padded);
	}
	return PDU_COMPLETE;
}
