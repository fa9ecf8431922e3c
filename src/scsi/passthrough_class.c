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
