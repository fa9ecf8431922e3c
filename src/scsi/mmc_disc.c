/*
 * What the disc in a read-only CD/DVD drive (vcdrom) holds, as MMC-6
 * describes it: READ TOC/PMA/ATIP, READ DISC INFORMATION and READ TRACK
 * INFORMATION.  The image is a finalized disc of one complete session
 * holding one data track (track 1, mode 1, LBA 0 to the end), as an ISO
 * 9660 image burnt to a disc is.
 */
#include "scsi/mmc.h"

/* ADR 1 (Q sub-channel encodes the current position), CONTROL 0100b: a
 * data track recorded uninterrupted (MMC-6 table 6.26.2.3 / Q sub-channel
 * CONTROL field). */
#define ADR_CONTROL_DATA 0x14
#define TRACK_LEAD_OUT 0xaa

/* The largest MSF address: 255:59:74. */
#define MSF_MAX_FRAMES (255ull * 4500 + 59 * 75 + 74)

/*
 * A start address as the MSF bit asks: the LBA, or minute, second, frame
 * with LBA 0 at 00:02:00 (150 frames of pre-gap, 75 frames a second).  An
 * address past 255:59:74 cannot be written in MSF form (a DVD-sized
 * image); it saturates there.
 */
void mmc_put_address(uint8_t *p, uint64_t lba, bool msf)
{
	if (!msf) {
		put_be32(p, lba > UINT32_MAX ? UINT32_MAX : (uint32_t)lba);
		return;
	}
	uint64_t f = lba + 150;
	if (f > MSF_MAX_FRAMES)
		f = MSF_MAX_FRAMES;
	p[0] = 0;
	p[1] = (uint8_t)(f / 4500);
	p[2] = (uint8_t)(f / 75 % 60);
	p[3] = (uint8_t)(f % 75);
}

/* ---- READ TOC/PMA/ATIP (MMC-6 6.26) ---- */

#define TOC_FORMAT_TOC 0x0
#define TOC_FORMAT_SESSION 0x1
#define TOC_FORMAT_FULL 0x2

static void put_track(uint8_t *d, uint8_t track, uint64_t lba, bool msf)
{
	d[1] = ADR_CONTROL_DATA;
	d[2] = track;
	mmc_put_address(d + 4, lba, msf);
}

/* Format 0000b: the descriptors of the tracks from TRACK NUMBER on (0: from
 * the first), then the lead-out; AAh asks for the lead-out alone, a number
 * past the last track is an error (MMC-6 6.26.2.3). */
static void toc_format_toc(struct uscst_cmd *cmd, bool msf, uint8_t track, uint64_t nblocks)
{
	if (track > 1 && track != TRACK_LEAD_OUT) {
		scsi_invalid_field_cdb(cmd, 6, 7);
		return;
	}
	unsigned ndesc = track == TRACK_LEAD_OUT ? 1 : 2;
	uint32_t len = 4 + 8 * ndesc;
	uint8_t *b = scsi_alloc_in(cmd, len);
	if (!b) {
		scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	put_be16(b, (uint16_t)(len - 2)); /* TOC DATA LENGTH excludes itself */
	b[2] = 1;			  /* FIRST TRACK NUMBER */
	b[3] = 1;			  /* LAST TRACK NUMBER */
	if (ndesc == 2)
		put_track(b + 4, 1, 0, msf);
	put_track(b + 4 + 8 * (ndesc - 1), TRACK_LEAD_OUT, nblocks, msf);
}

/* Format 0001b: one complete session; its first track, 1, starts at LBA 0
 * (MMC-6 6.26.2.4).  TRACK/SESSION NUMBER is not used. */
static void toc_format_session(struct uscst_cmd *cmd, bool msf)
{
	uint8_t *b = scsi_alloc_in(cmd, 12);
	if (!b) {
		scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	put_be16(b, 10);
	b[2] = 1; /* FIRST COMPLETE SESSION NUMBER */
	b[3] = 1; /* LAST COMPLETE SESSION NUMBER */
	put_track(b + 4, 1, 0, msf);
}

/* POINT values of the lead-in's Q sub-channel (Full TOC descriptors). */
#define POINT_FIRST_TRACK 0xa0
#define POINT_LAST_TRACK 0xa1
#define POINT_LEAD_OUT 0xa2
#define FULL_TOC_DESC_LEN 11
/* A0's PSEC: DISC TYPE 00h, CD-DA or CD-ROM (a mode 1 data disc). */
#define DISC_TYPE_CD_ROM 0x00

/* One Full TOC descriptor of session 1: POINT and its PMIN, PSEC, PFRAME;
 * MIN, SEC, FRAME (the lead-in's running time) are left 0. */
static void put_full_desc(uint8_t *d, uint8_t point, uint8_t pmin, uint8_t psec, uint8_t pframe)
{
	d[0] = 1; /* SESSION NUMBER */
	d[1] = ADR_CONTROL_DATA;
	d[2] = 0; /* TNO: 0 in the lead-in */
	d[3] = point;
	d[8] = pmin;
	d[9] = psec;
	d[10] = pframe;
}

/*
 * Format 0010b, the Full TOC: the lead-in's Q sub-channel entries of the
 * sessions from SESSION NUMBER on (0 or 1: the one session; a later one
 * does not exist).  Their addresses are the sub-channel's own, in MSF form
 * whatever the MSF bit says.  A CD has a lead-in; a DVD has none, so for
 * a DVD-sized image the format is an invalid field (MMC-6 6.26.2.5: CD
 * media only).
 */
static void toc_format_full(struct uscst_cmd *cmd, uint8_t session, uint64_t nblocks)
{
	if (mmc_current_profile(cmd->dev) != PROFILE_CD_ROM) {
		scsi_invalid_field_cdb(cmd, 2, 3);
		return;
	}
	if (session > 1) {
		scsi_invalid_field_cdb(cmd, 6, 7);
		return;
	}
	uint32_t len = 4 + 4 * FULL_TOC_DESC_LEN;
	uint8_t *b = scsi_alloc_in(cmd, len);
	if (!b) {
		scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	put_be16(b, (uint16_t)(len - 2));
	b[2] = 1; /* FIRST COMPLETE SESSION NUMBER */
	b[3] = 1; /* LAST COMPLETE SESSION NUMBER */
	uint8_t *d = b + 4;
	uint8_t lead_out[4], track1[4];
	mmc_put_address(lead_out, nblocks, true);
	mmc_put_address(track1, 0, true);
	put_full_desc(d, POINT_FIRST_TRACK, 1, DISC_TYPE_CD_ROM, 0);
	put_full_desc(d + FULL_TOC_DESC_LEN, POINT_LAST_TRACK, 1, 0, 0);
	put_full_desc(d + 2 * FULL_TOC_DESC_LEN, POINT_LEAD_OUT, lead_out[1], lead_out[2],
		      lead_out[3]);
	put_full_desc(d + 3 * FULL_TOC_DESC_LEN, 1, track1[1], track1[2], track1[3]);
}

void mmc_read_toc(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool msf = cdb[1] & 0x02;
	uint8_t format = cdb[2] & 0x0f;
	uint8_t track_or_session = cdb[6];
	uint16_t alloc_len = get_be16(cdb + 7);
	uint64_t nblocks = sbc_nblocks(cmd->dev);

	switch (format) {
	case TOC_FORMAT_TOC:
		toc_format_toc(cmd, msf, track_or_session, nblocks);
		break;
	case TOC_FORMAT_SESSION:
		toc_format_session(cmd, msf);
		break;
	case TOC_FORMAT_FULL:
		toc_format_full(cmd, track_or_session, nblocks);
		break;
	default:
		/* PMA, ATIP, CD-TEXT: a pressed disc has none of them. */
		scsi_invalid_field_cdb(cmd, 2, 3);
		break;
	}
	if (cmd->status == SAM_STAT_GOOD)
		scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}

/* ---- READ DISC INFORMATION (MMC-6 6.22) ---- */

#define DISC_INFO_STANDARD 0x0
#define DISC_INFO_LEN 34
/* Byte 2: DISC INFORMATION DATA TYPE 000b, not erasable, STATE OF LAST
 * SESSION 11b (complete), DISC STATUS 10b (finalized). */
#define DISC_COMPLETE_FINALIZED 0x0e
/* Byte 7: URU, an unrestricted-use disc (only a CD-R/RW can say otherwise). */
#define DISC_URU 0x20

/*
 * DATA TYPE 000b, the standard disc information of a finalized disc with
 * one session and one track; track resources (001b) and POW resources
 * (010b) describe writable media only: an invalid field here.
 */
void mmc_read_disc_information(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	uint16_t alloc_len = get_be16(cdb + 7);
	if ((cdb[1] & 0x07) != DISC_INFO_STANDARD) {
		scsi_invalid_field_cdb(cmd, 1, 2);
		scsi_cmd_done(cmd);
		return;
	}
	uint8_t *b = scsi_alloc_in(cmd, DISC_INFO_LEN);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	put_be16(b, DISC_INFO_LEN - 2); /* no OPC tables */
	b[2] = DISC_COMPLETE_FINALIZED;
	b[3] = 1; /* NUMBER OF FIRST TRACK ON DISC */
	b[4] = 1; /* NUMBER OF SESSIONS (LSB) */
	b[5] = 1; /* FIRST TRACK NUMBER IN LAST SESSION (LSB) */
	b[6] = 1; /* LAST TRACK NUMBER IN LAST SESSION (LSB) */
	b[7] = DISC_URU;
	b[8] = 0x00; /* DISC TYPE: CD-DA or CD-ROM (00h for other media too) */
	/* Bytes 9-11, the numbers' MSBs, 0; no disc identification.  A
	 * complete disc has no next session: LAST SESSION LEAD-IN START
	 * ADDRESS and LAST POSSIBLE LEAD-OUT START ADDRESS FFFFFFFFh. */
	put_be32(b + 16, 0xffffffffu);
	put_be32(b + 20, 0xffffffffu);
	/* No bar code, DISC APPLICATION CODE 0, no OPC tables. */
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}

/* ---- READ TRACK INFORMATION (MMC-6 6.27) ---- */

#define ADDRESS_TYPE_LBA 0x0
#define ADDRESS_TYPE_TRACK 0x1
#define ADDRESS_TYPE_SESSION 0x2
#define TRACK_INFO_OPEN 0x04
#define TRACK_INFO_LEN 48
/* TRACK MODE 0100b: data, recorded uninterrupted (the Q CONTROL field). */
#define TRACK_MODE_DATA 0x04
/* DATA MODE 1h: mode 1 (2048 bytes of user data a sector). */
#define DATA_MODE_1 0x01

/*
 * The track is named by an LBA in it (00b: one past the last block is the
 * lead-out, LOGICAL BLOCK ADDRESS OUT OF RANGE), by its number (01b: only
 * track 1 exists; 0, the lead-in, and FFh, the invisible track of a
 * writable disc, have no track information here) or by a session whose
 * first track it is (10b: only session 1).  OPEN asks for the first open
 * track: a finalized disc has none.
 */
void mmc_read_track_information(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	uint8_t type = cdb[1] & 0x03;
	uint32_t number = get_be32(cdb + 2);
	uint16_t alloc_len = get_be16(cdb + 7);
	uint64_t nblocks = sbc_nblocks(cmd->dev);

	if (cdb[1] & TRACK_INFO_OPEN) {
		scsi_invalid_field_cdb(cmd, 1, 2);
	} else if (type == ADDRESS_TYPE_LBA) {
		if (number >= nblocks)
			scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	} else if (type == ADDRESS_TYPE_TRACK || type == ADDRESS_TYPE_SESSION) {
		if (number != 1)
			scsi_invalid_field_cdb(cmd, 2, 7);
	} else {
		scsi_invalid_field_cdb(cmd, 1, 1); /* 11b: reserved */
	}
	if (cmd->status != SAM_STAT_GOOD) {
		scsi_cmd_done(cmd);
		return;
	}
	uint8_t *b = scsi_alloc_in(cmd, TRACK_INFO_LEN);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	put_be16(b, TRACK_INFO_LEN - 2);
	b[2] = 1; /* LOGICAL TRACK NUMBER (LSB) */
	b[3] = 1; /* SESSION NUMBER (LSB) */
	b[5] = TRACK_MODE_DATA;
	b[6] = DATA_MODE_1; /* not reserved, blank, packet nor fixed packet */
	/* Byte 7: no NWA or LRA (nothing can be written).  Start 0, no free
	 * blocks; BLOCKING FACTOR: the blocks of one ECC block on a DVD (16),
	 * 0 for a CD. */
	put_be32(b + 20, mmc_current_profile(cmd->dev) == PROFILE_DVD_ROM ? 16 : 0);
	put_be32(b + 24, nblocks > UINT32_MAX ? UINT32_MAX : (uint32_t)nblocks);
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}
