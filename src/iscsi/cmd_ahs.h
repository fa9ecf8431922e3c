/* The Additional Header Segments of a SCSI Command PDU (RFC 7143 11.2.2.2,
 * 11.3.4, 11.3.5): the Extended CDB and the Bidirectional Read Expected
 * Data Transfer Length.  Pure function over bytes from the wire. */
#ifndef USCST_ISCSI_CMD_AHS_H
#define USCST_ISCSI_CMD_AHS_H

#include <stdbool.h>
#include <stdint.h>

#include <uscst/transport.h>

#define ISCSI_AHS_EXTENDED_CDB 1
#define ISCSI_AHS_BIDI_READ_LENGTH 2

struct iscsi_cmd_ahs {
	/* CDB bytes after the first 16 (those are in the BHS). */
	uint8_t ext_cdb[USCST_MAX_CDB - 16];
	uint32_t ext_cdb_len; /* as announced: may exceed sizeof(ext_cdb) */
	bool bidi;	      /* a Bidirectional Read EDTL AHS was present */
	uint32_t bidi_read_len;
};

/* Parses len bytes (TotalAHSLength * 4) after the BHS.  Returns 0, or the
 * Reject reason (Invalid PDU field) for an AHS whose length runs past the
 * others, a reserved type, a type given twice, an Extended CDB without
 * CDB bytes, or a Bidirectional Read EDTL AHS whose AHSLength is not 5. */
uint8_t iscsi_cmd_ahs_parse(const uint8_t *ahs, uint32_t len, struct iscsi_cmd_ahs *out);

#endif
