/*
 * EXTENDED COPY (LID1) parameter list parsing, shared by spc_xcopy.c (the
 * copy manager) and spc_xcopy_parse.c, and exposed for the unit tests.
 *
 * Parsing is split from execution so that every length and field of the
 * parameter list can be checked without devices doing any I/O.
 */
#ifndef USCST_SPC_XCOPY_H
#define USCST_SPC_XCOPY_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/scsi.h"

/* Limits enforced by the parser and reported by RECEIVE COPY RESULTS
 * (OPERATING PARAMETERS); one place so that the two cannot disagree. */
#define XCOPY_MAX_CSCD_DESCS 32u
#define XCOPY_MAX_SEG_DESCS 256u
/* Large enough for the maximum counts of the descriptors supported (32 *
 * 32 + 256 * 28 = 8192 bytes) so the count limits are what an initiator
 * hits first with those. */
#define XCOPY_MAX_DESC_LIST_LEN 8192u
/* A block to block segment moves at most 65535 blocks of 4 KiB. */
#define XCOPY_MAX_SEGMENT_BYTES (256u * 1024 * 1024)
#define XCOPY_MAX_INLINE_DATA 0u
/* Copies whose status can be tracked at once (RECEIVE COPY RESULTS). */
#define XCOPY_MAX_CONCURRENT 64u

#define XCOPY_HDR_LEN 16u
#define XCOPY_CSCD_ID_DESC 0xe4 /* identification descriptor CSCD descriptor */
#define XCOPY_CSCD_LEN 32u
#define XCOPY_SEG_B2B 0x02 /* block device to block device */
#define XCOPY_SEG_B2B_LEN 28u

/* LIST ID USAGE (SPC-4 table 111). */
#define XCOPY_LIST_ID_HOLD 0	/* list id valid; status held for RECEIVE COPY RESULTS */
#define XCOPY_LIST_ID_NO_HOLD 2 /* list id valid (unique while running); no status */
#define XCOPY_LIST_ID_NONE 3	/* no list id at all */

/* Additional sense codes of the copy manager. */
#define ASC_TOO_MANY_CSCD_DESCS 0x26, 0x06
#define ASC_UNSUPPORTED_CSCD_TYPE 0x26, 0x07
#define ASC_TOO_MANY_SEG_DESCS 0x26, 0x08
#define ASC_UNSUPPORTED_SEG_TYPE 0x26, 0x09
#define ASC_COPY_TARGET_NOT_REACHABLE 0x0d, 0x02
#define ASC_INCORRECT_COPY_TARGET_TYPE 0x0d, 0x03
#define ASC_OPERATION_IN_PROGRESS 0x00, 0x16

/* Why a list was refused: sense key, ASC/ASCQ and, when field is set, the
 * byte (and bit, or -1) of the parameter list it is about, reported in the
 * sense-key specific bytes (field pointer / segment pointer). */
struct xcopy_err {
	uint8_t key, asc, ascq;
	bool field;
	uint32_t byte;
	int bit;
};

struct xcopy_cscd {
	struct uscst_device *dev; /* NULL: names no device this nexus sees */
	uint32_t block_len;	  /* from the block device type specific parameters */
	uint32_t off;		  /* of the descriptor in the parameter list */
	uint64_t nblocks;	  /* dev's size, read once by xcopy_check_segments() */
};

struct xcopy_seg {
	uint16_t src, dst; /* CSCD descriptor indexes */
	bool dc;	   /* NUMBER OF BLOCKS counts destination blocks */
	uint32_t blocks;
	uint64_t src_lba, dst_lba;
	uint32_t off; /* of the descriptor in the parameter list */
	/* Filled in by xcopy_check_segments(). */
	uint64_t bytes;
};

struct xcopy_list {
	uint8_t list_id;
	uint8_t list_id_usage;
	uint8_t priority;
	bool str;
	/* The header's list identifier fields are valid (set even when a
	 * later part of the list is refused). */
	bool hdr_valid;
	unsigned ncscd, nseg;
	struct xcopy_cscd cscd[XCOPY_MAX_CSCD_DESCS];
	struct xcopy_seg seg[XCOPY_MAX_SEG_DESCS];
};

/* Finds the device whose logical unit NAA designator (16 bytes, as the
 * Device Identification VPD page reports it) is naa; NULL if none. */
typedef struct uscst_device *(*xcopy_lookup_fn)(void *arg, const uint8_t *naa);

/* The 16-byte NAA designator of dev, exactly as INQUIRY page 83h reports
 * it (spc_inquiry.c, desig_naa()). */
void xcopy_dev_naa(const struct uscst_device *dev, uint8_t naa[16]);

/* Parses the parameter list p[0..len).  Returns 1 for an empty list (no
 * copy, not an error), 0 when l holds the parsed list, -1 with e filled. */
int xcopy_parse(const uint8_t *p, uint32_t len, xcopy_lookup_fn lookup, void *arg,
		struct xcopy_list *l, struct xcopy_err *e);

/* Checks every segment of a parsed list against its devices (indexes,
 * reachability, block lengths, LBA ranges) and sets seg->bytes; before any
 * data moves, so a bad list changes nothing.  0, or -1 with e filled. */
int xcopy_check_segments(struct xcopy_list *l, struct xcopy_err *e);

#endif
