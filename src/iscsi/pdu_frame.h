/* Framing of received PDUs: where one PDU ends and whether its lengths and
 * digests hold, before anything else looks at it.  Pure function. */
#ifndef USCST_ISCSI_PDU_FRAME_H
#define USCST_ISCSI_PDU_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pdu_frame_status {
	/* Fewer bytes than the PDU needs.  f->total_len says how many are
	 * needed before the next decision: the end of the header while it is
	 * incomplete, the whole PDU once its data length has been checked
	 * against the limit (so it is a safe size to buffer). */
	PDU_NEED_MORE,
	PDU_COMPLETE, /* f describes a whole PDU */
	/* Data segment above the limit; f->total_len bytes to skip.  Without a
	 * header digest this is judged from the BHS alone. */
	PDU_DATA_TOO_LONG,
	PDU_HEADER_DIGEST_BAD, /* nothing in the header can be trusted */
};

struct pdu_frame {
	uint32_t ahs_len;
	uint32_t data_len;  /* DataSegmentLength, without padding */
	uint32_t hdr_len;   /* BHS + AHS + header digest */
	uint32_t total_len; /* the whole PDU on the wire */
	const uint8_t *data;
	bool data_digest_bad;
};

enum pdu_frame_status iscsi_pdu_frame(const uint8_t *buf, size_t avail, bool header_digest,
				      bool data_digest, uint32_t max_data_len, struct pdu_frame *f);

#endif
