#include "iscsi/pdu_frame.h"

#include <string.h>

#include "iscsi/iscsi.h"

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
	f->total_len = f->hdr_len + body;
	if (avail < f->hdr_len)
		return PDU_NEED_MORE;
	/* The digest first: a corrupted length must not decide what to skip. */
	if (header_digest) {
		uint32_t crc;
		memcpy(&crc, buf + ISCSI_BHS_LEN + f->ahs_len, 4); /* little-endian on the wire */
		if (crc != iscsi_digest(buf, ISCSI_BHS_LEN + f->ahs_len))
			return PDU_HEADER_DIGEST_BAD;
	}
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
