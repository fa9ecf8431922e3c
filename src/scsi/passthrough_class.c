/*
 * What a forwarded command does to a pass-through device, by the device's
 * PERIPHERAL DEVICE TYPE: the reservation tables (pr_conflict.c) were
 * written for block devices, and several opcodes mean something else on
 * another type (SPC-5 4.2.5.1: opcodes outside SPC are the command set's).
 * Judged by the disk table alone, an MMC SEND KEY (A3h, MAINTENANCE IN on
 * a disk) would be "always allowed", and a tape's READ(16) a mere read.
 */
#include "core/pr.h"
#include "scsi/passthrough.h"
#include "scsi/scsi.h"

#define PT_TYPE_MMC 0x05 /* CD/DVD device */

/* A tape's position is the one every initiator shares (SSC-4): a command
 * that moves it changes what the next initiator's READ or WRITE finds,
 * so under a reservation it is judged as a write. */
bool passthrough_moves_position(uint8_t type, const uint8_t *cdb)
{
	if (type != PT_TYPE_SEQUENTIAL)
		return false;
	switch (cdb[0]) {
	case 0x01: /* REWIND */
	case 0x04: /* FORMAT MEDIUM */
	case 0x08: /* READ(6) */
	case 0x0a: /* WRITE(6) */
	case 0x0f: /* READ REVERSE(6) */
	case 0x10: /* WRITE FILEMARKS(6) */
	case 0x11: /* SPACE(6) */
	case 0x13: /* VERIFY(6) */
	case 0x19: /* ERASE(6) */
	case 0x1b: /* LOAD UNLOAD */
	case 0x2b: /* LOCATE(10) */
	case 0x80: /* WRITE FILEMARKS(16) */
	case 0x81: /* READ REVERSE(16) */
	case 0x88: /* READ(16) */
	case 0x8a: /* WRITE(16) */
	case 0x8f: /* VERIFY(16) */
	case 0x91: /* SPACE(16) */
	case 0x92: /* LOCATE(16) */
	case 0x93: /* ERASE(16) */
		return true;
	default:
		return false;
	}
}

enum pr_cmd_class passthrough_classify(uint8_t type, const uint8_t *cdb)
{
	switch (type) {
	case PT_TYPE_MMC:
		/* MMC-6 SEND KEY: authentication state, and with key format
		 * 3Fh the drive's region, of which it allows a few changes in
		 * its life.  (REPORT KEY, A4h, is MAINTENANCE OUT's opcode and
		 * so needs exclusive use: it allocates AGIDs of the drive.) */
		if (cdb[0] == 0xa3)
			return PR_CLASS_WRITE;
		break;
	case PT_TYPE_CHANGER:
		/* SMC: INITIALIZE ELEMENT STATUS WITH RANGE (37h, SMC-1; READ
		 * DEFECT DATA on a disk) rescans, which may move media; READ
		 * ELEMENT STATUS (B8h) reads, as SMC-3's reservation table says
		 * (allowed under Write Exclusive). */
		if (cdb[0] == 0x37)
			return PR_CLASS_WRITE;
		if (cdb[0] == 0xb8)
			return PR_CLASS_READ;
		break;
	default:
		break;
	}
	return pr_classify_cdb(cdb);
}
