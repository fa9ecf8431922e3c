/*
 * Each AHS is AHSLength (2 bytes), AHSType (1 byte) and AHSLength bytes
 * of its own, padded to a multiple of 4 (RFC 7143 11.2.2.2).  Both AHS of
 * a SCSI Command begin with a reserved byte: the Extended CDB's AHSLength
 * is its CDB bytes plus one (11.3.4), the Bidirectional Read EDTL's is 5
 * (11.3.5).  Nothing is read past len.
 */
#include "iscsi/cmd_ahs.h"

#include <string.h>

#include "iscsi/pdu.h"

uint8_t iscsi_cmd_ahs_parse(const uint8_t *ahs, uint32_t len, struct iscsi_cmd_ahs *out)
{
	memset(out, 0, sizeof(*out));
	bool have_cdb = false;
	uint32_t off = 0;
	while (off < len) {
		if (len - off < 4)
			return ISCSI_REJECT_INVALID_PDU_FIELD;
		uint32_t ahs_len = get_be16(ahs + off);
		uint8_t type = ahs[off + 2];
		uint32_t whole = 3 + ahs_len + pad4(3 + ahs_len);
		if (whole > len - off)
			return ISCSI_REJECT_INVALID_PDU_FIELD;
		const uint8_t *body = ahs + off + 4; /* after the reserved byte */
		switch (type) {
		case ISCSI_AHS_EXTENDED_CDB:
			if (have_cdb || ahs_len < 2)
				return ISCSI_REJECT_INVALID_PDU_FIELD;
			have_cdb = true;
			out->ext_cdb_len = ahs_len - 1;
			memcpy(out->ext_cdb, body,
			       out->ext_cdb_len < sizeof(out->ext_cdb) ? out->ext_cdb_len
								       : sizeof(out->ext_cdb));
			break;
		case ISCSI_AHS_BIDI_READ_LENGTH:
			if (out->bidi || ahs_len != 5)
				return ISCSI_REJECT_INVALID_PDU_FIELD;
			out->bidi = true;
			out->bidi_read_len = get_be32(body);
			break;
		default:
			/* Reserved, or an extension (60-63) we do not know. */
			return ISCSI_REJECT_INVALID_PDU_FIELD;
		}
		off += whole;
	}
	return 0;
}
