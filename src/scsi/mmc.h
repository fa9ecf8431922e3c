/*
 * The MMC command set's own state and handlers (cmdset_mmc.c, mmc*.c): a
 * read-only CD/DVD drive.  The table and the first handlers are declared
 * in scsi.h with the other command sets'.
 */
#ifndef USCST_SCSI_MMC_H
#define USCST_SCSI_MMC_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/scsi.h"

/* Nexuses that can have a media event pending at once: one per nexus that
 * sees the drive when its medium changes; more drop theirs (they still get
 * the unit attention). */
#define MMC_EVENT_NEXUS_MAX 64

/* Per drive, the command set's part of the device (cmdset dev_priv_size),
 * under dev->lock.  PREVENT ALLOW MEDIUM REMOVAL stays in the core (a
 * removable SBC disk has it too). */
struct mmc_dev {
	bool tray_open; /* ejected by START STOP UNIT, not loaded since */
	/* The media event (MEDIA_EVENT_*) each nexus has yet to take with GET
	 * EVENT STATUS NOTIFICATION: every nexus hears of a change, not only
	 * the first to poll. */
	unsigned npending;
	struct {
		uint64_t sess_id;
		uint8_t event;
	} pending[MMC_EVENT_NEXUS_MAX];
};

struct mmc_dev *mmc_dev(struct uscst_device *dev);

/* MEDIA EVENT CODE of a media class event (MMC-6 6.7). */
#define MEDIA_EVENT_NEW_MEDIA 0x2
#define MEDIA_EVENT_MEDIA_REMOVAL 0x3

/* Profiles (MMC-6 5.3.1): the current one is none without a medium, else
 * CD-ROM, or DVD-ROM for an image larger than a CD holds. */
#define PROFILE_NONE 0x0000
#define PROFILE_CD_ROM 0x0008
#define PROFILE_DVD_ROM 0x0010
uint16_t mmc_current_profile(const struct uscst_device *dev);

/* Writes an address in MSF form (minute, second, frame of LBA + 150; 4
 * bytes, the first 0) or as an LBA (4 bytes), as the MSF bit asks. */
void mmc_put_address(uint8_t *p, uint64_t lba, bool msf);

/* Medium state (mmc.c). */
void mmc_medium_changed(struct uscst_device *dev, bool present);
void mmc_nexus_lost(struct uscst_device *dev, struct uscst_session *sess);

/* mmc_disc.c: what the disc holds. */
void mmc_read_disc_information(struct uscst_cmd *cmd);
void mmc_read_track_information(struct uscst_cmd *cmd);

/* mmc_mode.c: the drive's capabilities and mechanism. */
void mmc_mode_sense(struct uscst_cmd *cmd);
void mmc_mechanism_status(struct uscst_cmd *cmd);

#endif
