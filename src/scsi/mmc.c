/*
 * MMC-6 commands of a read-only CD/DVD drive (vcdrom): loading and
 * ejecting the medium, and the table of contents of its one data track.
 * The image is one session holding one data track (track 1, LBA 0 to the
 * end), as an ISO 9660 image burnt to a disc is.
 */
#include "scsi/scsi.h"

/* START STOP UNIT CDB byte 4 (MMC-6 6.39). */
#define SSU_START 0x01
#define SSU_LOEJ 0x02

/*
 * LOEJ with POWER CONDITION 0: START loads the tray, !START ejects it.  An
 * eject is refused while any nexus prevents removal (MMC-6 6.11: MEDIUM
 * REMOVAL PREVENTED).  A load that puts the medium back is a medium change
 * for everyone: every I_T nexus, this one too, gets NOT READY TO READY
 * CHANGE, MEDIUM MAY HAVE CHANGED, so no initiator keeps a cached view of
 * what the drive held (MMC-6 4.1.5 / SPC-4 unit attention conditions).
 * Other power conditions change nothing: the drive has no power states.
 */
void mmc_start_stop_unit(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	uint8_t b4 = cmd->cdb[4];
	if ((b4 >> 4) != 0 || !(b4 & SSU_LOEJ)) {
		scsi_cmd_done(cmd);
		return;
	}
	bool load = b4 & SSU_START;
	if (load && sbc_nblocks(dev) == 0) {
		/* Closing the tray of a drive with no image (filename none)
		 * loads nothing: it stays NOT READY, MEDIUM NOT PRESENT. */
		scsi_cmd_done(cmd);
		return;
	}
	bool prevented, changed = false;
	pthread_mutex_lock(&dev->lock);
	prevented = !load && dev->prevent_removal;
	if (!prevented) {
		bool had = atomic_load_explicit(&dev->medium_present, memory_order_relaxed);
		atomic_store_explicit(&dev->medium_present, load, memory_order_relaxed);
		changed = load && !had;
	}
	pthread_mutex_unlock(&dev->lock);
	if (prevented)
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
	if (changed)
		ua_establish_dev(dev, NULL, ASC_NOT_READY_TO_READY_CHANGE);
	scsi_cmd_done(cmd);
}

/* READ TOC/PMA/ATIP (MMC-6 6.26) formats. */
#define TOC_FORMAT_TOC 0x0
#define TOC_FORMAT_SESSION 0x1
#define TOC_LEAD_OUT 0xaa
/* ADR 1 (Q sub-channel encodes the current position), CONTROL 0100b: a
 * data track recorded uninterrupted (MMC-6 table 6.26.2.3 / Q sub-channel
 * CONTROL field). */
#define TOC_ADR_CONTROL_DATA 0x14

/*
 * A track start address as the MSF bit asks: the LBA, or minute, second,
 * frame with LBA 0 at 00:02:00 (150 frames of pre-gap, 75 frames a
 * second).  An address past 255:59:74 cannot be written in MSF form (a
 * DVD-sized image); it saturates there.
 */
static void put_address(uint8_t *p, uint64_t lba, bool msf)
{
	if (!msf) {
		put_be32(p, lba > UINT32_MAX ? UINT32_MAX : (uint32_t)lba);
		return;
	}
	uint64_t f = lba + 150;
	if (f > 255ull * 4500 + 59 * 75 + 74)
		f = 255ull * 4500 + 59 * 75 + 74;
	p[0] = 0;
	p[1] = (uint8_t)(f / 4500);
	p[2] = (uint8_t)(f / 75 % 60);
	p[3] = (uint8_t)(f % 75);
}

static void put_track(uint8_t *d, uint8_t track, uint64_t lba, bool msf)
{
	d[1] = TOC_ADR_CONTROL_DATA;
	d[2] = track;
	put_address(d + 4, lba, msf);
}

void mmc_read_toc(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool msf = cdb[1] & 0x02;
	uint8_t format = cdb[2] & 0x0f;
	uint8_t track = cdb[6];
	uint16_t alloc_len = get_be16(cdb + 7);
	uint64_t nblocks = sbc_nblocks(cmd->dev);
	uint8_t *b;

	switch (format) {
	case TOC_FORMAT_TOC: {
		/* Descriptors of the tracks from TRACK NUMBER on (0: from the
		 * first), then the lead-out; AAh asks for the lead-out alone,
		 * a number past the last track is an error (MMC-6 6.26.2.3). */
		if (track > 1 && track != TOC_LEAD_OUT) {
			scsi_invalid_field_cdb(cmd, 6, 7);
			break;
		}
		unsigned ndesc = track == TOC_LEAD_OUT ? 1 : 2;
		uint32_t len = 4 + 8 * ndesc;
		b = scsi_alloc_in(cmd, len);
		if (!b) {
			scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
			break;
		}
		put_be16(b, (uint16_t)(len - 2)); /* TOC DATA LENGTH excludes itself */
		b[2] = 1;			  /* FIRST TRACK NUMBER */
		b[3] = 1;			  /* LAST TRACK NUMBER */
		if (ndesc == 2)
			put_track(b + 4, 1, 0, msf);
		put_track(b + 4 + 8 * (ndesc - 1), TOC_LEAD_OUT, nblocks, msf);
		scsi_clip_in(cmd, alloc_len);
		break;
	}
	case TOC_FORMAT_SESSION:
		/* One complete session; its first track, 1, starts at LBA 0
		 * (MMC-6 6.26.2.4).  TRACK/SESSION NUMBER is not used. */
		b = scsi_alloc_in(cmd, 12);
		if (!b) {
			scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
			break;
		}
		put_be16(b, 10);
		b[2] = 1; /* FIRST COMPLETE SESSION NUMBER */
		b[3] = 1; /* LAST COMPLETE SESSION NUMBER */
		put_track(b + 4, 1, 0, msf);
		scsi_clip_in(cmd, alloc_len);
		break;
	default:
		/* Raw TOC, PMA, ATIP, CD-TEXT: not built. */
		scsi_invalid_field_cdb(cmd, 2, 3);
		break;
	}
	scsi_cmd_done(cmd);
}
