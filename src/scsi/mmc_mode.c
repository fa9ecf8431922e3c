/*
 * What a read-only CD/DVD drive (vcdrom) says about itself: MODE SENSE
 * (6/10) with the CD/DVD Capabilities and Mechanical Status page (2Ah), the
 * only mode page it has, and MECHANISM STATUS.  MODE SELECT is not in the
 * table: nothing here can be changed, so the changeable values are all
 * zero, and nothing can be saved.
 */
#include <string.h>

#include "scsi/mmc.h"

#define OP_MODE_SENSE6 0x1a

#define PC_CURRENT 0
#define PC_CHANGEABLE 1
#define PC_DEFAULT 2
#define PC_SAVED 3

#define PAGE_CAPABILITIES 0x2a
#define PAGE_ALL 0x3f
#define SUBPAGE_ALL 0xff
/* Bytes 0..31: up to the (empty) list of write speed descriptors. */
#define CAPABILITIES_LEN 32

/* Byte 2: reads DVD-ROM media (and CD-ROM, which needs no bit). */
#define CAP_DVD_ROM_READ 0x08
/* Byte 6: LOCK (PREVENT ALLOW MEDIUM REMOVAL works), LOCK STATE (it is
 * prevented now), EJECT (START STOP UNIT LOEJ), LOADING MECHANISM TYPE
 * 001b, a tray.  PREVENT JUMPER 0: it powers up unlocked. */
#define CAP_LOCK 0x01
#define CAP_LOCK_STATE 0x02
#define CAP_EJECT 0x08
#define CAP_TRAY 0x20

/*
 * Page 2Ah as MMC describes it for a drive that reads CD-ROM and DVD-ROM
 * media and writes nothing: no audio, no CD-DA or sub-channel reads, no
 * write speeds; the obsolete speed fields and the buffer size are 0.
 */
static void put_capabilities(uint8_t *p, int pc, bool prevented)
{
	memset(p, 0, CAPABILITIES_LEN);
	p[0] = PAGE_CAPABILITIES; /* PS 0: nothing can be saved */
	p[1] = CAPABILITIES_LEN - 2;
	if (pc == PC_CHANGEABLE)
		return;
	p[2] = CAP_DVD_ROM_READ;
	p[6] =
	    CAP_TRAY | CAP_EJECT | CAP_LOCK | (pc == PC_CURRENT && prevented ? CAP_LOCK_STATE : 0);
}

/*
 * PC 11b (saved values) is refused as nothing can be saved; a subpage
 * other than 00h or FFh does not exist, nor does a page other than 2Ah
 * (3Fh: every page, which is 2Ah).  MMC has no block descriptors (the
 * BLOCK DESCRIPTOR LENGTH is 0 whatever DBD and LLBAA say) and the header's
 * MEDIUM TYPE and DEVICE-SPECIFIC PARAMETER are 0.  MODE DATA LENGTH
 * counts everything after itself, whatever ALLOCATION LENGTH cuts.
 */
void mmc_mode_sense(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool ten = cdb[0] != OP_MODE_SENSE6;
	int pc = cdb[2] >> 6;
	uint8_t page = cdb[2] & 0x3f, subpage = cdb[3];
	uint32_t alloc_len = ten ? get_be16(cdb + 7) : cdb[4];

	if (pc == PC_SAVED) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_SAVING_PARAMS_UNSUP);
		return;
	}
	if (subpage != 0 && subpage != SUBPAGE_ALL) {
		scsi_invalid_field_cdb(cmd, 3, -1);
		scsi_cmd_done(cmd);
		return;
	}
	if (page != PAGE_CAPABILITIES && page != PAGE_ALL) {
		scsi_invalid_field_cdb(cmd, 2, 5);
		scsi_cmd_done(cmd);
		return;
	}
	unsigned hdr_len = ten ? 8 : 4;
	unsigned total = hdr_len + CAPABILITIES_LEN;
	uint8_t *b = scsi_alloc_in(cmd, total);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	if (ten)
		put_be16(b, (uint16_t)(total - 2));
	else
		b[0] = (uint8_t)(total - 1);
	pthread_mutex_lock(&cmd->dev->lock);
	bool prevented = cmd->dev->prevent_removal;
	pthread_mutex_unlock(&cmd->dev->lock);
	put_capabilities(b + hdr_len, pc, prevented);
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}

/* MECHANISM STATUS (MMC-6 6.10): the header alone, no slot table. */
#define MECH_HEADER_LEN 8
#define MECH_DOOR_OPEN 0x10

/*
 * Not a changer: CHANGER STATE ready (0), CURRENT SLOT 0, NUMBER OF SLOTS
 * AVAILABLE 0, no slot table; MECHANISM STATE idle; DOOR OPEN while the
 * tray is out; CURRENT LBA 0 (no audio play or scan is ever in progress).
 */
void mmc_mechanism_status(struct uscst_cmd *cmd)
{
	uint16_t alloc_len = get_be16(cmd->cdb + 8);
	uint8_t *b = scsi_alloc_in(cmd, MECH_HEADER_LEN);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	pthread_mutex_lock(&cmd->dev->lock);
	bool open = mmc_dev(cmd->dev)->tray_open;
	pthread_mutex_unlock(&cmd->dev->lock);
	b[1] = open ? MECH_DOOR_OPEN : 0;
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}
