/*
 * READ DEFECT DATA (10) and (12).  A virtual disk has no medium defects: the
 * reply is the defect list header with an empty list.  An empty list can be
 * given in every address descriptor format SBC-4 defines, so those are all
 * honoured; only the vendor-specific format has no meaning here.
 */
#include "scsi/sbc.h"
#include "scsi/scsi.h"

/* CDB: byte 2 of the 10-byte CDB, byte 1 of the 12-byte one. */
#define RDD_REQ_PLIST 0x10
#define RDD_REQ_GLIST 0x08
#define RDD_FORMAT_MASK 0x07

/* Parameter data byte 1: PLISTV and GLISTV sit where the CDB has REQ_PLIST
 * and REQ_GLIST, followed by the format actually returned. */
#define RDD_PLISTV 0x10
#define RDD_GLISTV 0x08

#define RDD10_HEADER 4
#define RDD12_HEADER 8

/* DEFECT LIST FORMAT codes (SBC-4, address descriptor formats). */
enum {
	RDD_FMT_SHORT_BLOCK = 0,
	RDD_FMT_EXT_BYTES_FROM_INDEX = 1,
	RDD_FMT_EXT_PHYSICAL_SECTOR = 2,
	RDD_FMT_LONG_BLOCK = 3,
	RDD_FMT_BYTES_FROM_INDEX = 4,
	RDD_FMT_PHYSICAL_SECTOR = 5,
	RDD_FMT_VENDOR = 6,
	RDD_FMT_RESERVED = 7,
};

void sbc_read_defect_data(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool is12 = cdb[0] == 0xb7;
	unsigned flags_byte = is12 ? 1 : 2;
	uint8_t flags = cdb[flags_byte];
	uint8_t format = flags & RDD_FORMAT_MASK;
	uint32_t alloc_len = is12 ? get_be32(cdb + 6) : get_be16(cdb + 7);
	uint32_t header = is12 ? RDD12_HEADER : RDD10_HEADER;

	/* A reserved code is an invalid CDB field (SPC-5), not a format the
	 * device server merely lacks. */
	if (format == RDD_FMT_RESERVED) {
		scsi_invalid_field_cdb(cmd, flags_byte, 2);
		scsi_cmd_done(cmd);
		return;
	}
	/* No vendor-specific format exists: the list goes out in the default
	 * format, which the header then names. */
	uint8_t returned = format == RDD_FMT_VENDOR ? RDD_FMT_SHORT_BLOCK : format;

	uint8_t *p = scsi_alloc_in(cmd, header);
	if (!p) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	/* The lists asked for are returned, and valid, but empty.  With
	 * neither bit set only the header is returned (SBC-4). */
	p[1] = (uint8_t)((flags & (RDD_REQ_PLIST | RDD_REQ_GLIST)) | returned);
	/* (12): GENERATION CODE 0 (not supported), then DEFECT LIST LENGTH 0;
	 * (10): DEFECT LIST LENGTH 0.  The ADDRESS DESCRIPTOR INDEX of the
	 * 12-byte CDB indexes an empty list, so it selects nothing either. */
	scsi_clip_in(cmd, alloc_len);
	/* SBC-4: when the returned format differs from the requested one, the
	 * data is transferred and the command then ends with RECOVERED ERROR,
	 * DEFECT LIST NOT FOUND. */
	if (returned != format)
		scsi_check_condition(cmd, SK_RECOVERED_ERROR, ASC_DEFECT_LIST_NOT_FOUND);
	scsi_cmd_done(cmd);
}
