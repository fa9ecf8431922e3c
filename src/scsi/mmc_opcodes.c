/*
 * Opcode table of the MMC command set (cmdset_mmc.c): a read-only CD/DVD
 * drive.  The SPC commands reuse the SPC handlers, READ and READ CAPACITY
 * the SBC ones (the block arithmetic is the same with 2048-byte blocks);
 * the rest is MMC-6.  No write command is here: a read-only drive answers
 * them INVALID COMMAND OPERATION CODE, as a CD-ROM drive that has no
 * writing features does (MMC-6 4.1: commands of features it lacks).
 * The usage masks are enforced by dispatch, as for the disk table.
 */
#include "scsi/mmc.h"
#include "scsi/spc_alua.h"
#include "scsi/spc_opcodes.h"

#define M OPF_NEEDS_MEDIUM
#define ANY (OPF_ANY_LUN | OPF_NO_UA)
/* What a target port group in standby still serves (SPC-4 5.16.2.4.4). */
#define STANDBY_OK OPF_ALUA_STANDBY
#define CONTROL 0x00 /* NACA, FLAG, LINK: not supported */
#define LEN16 0xff, 0xff
#define LEN32 0xff, 0xff, 0xff, 0xff
#define LBA32 0xff, 0xff, 0xff, 0xff

/* Sorted by opcode. */
const struct scsi_opcode_desc scsi_mmc_opcodes[] = {
    SPC_OPCODE_TEST_UNIT_READY(M),
    SPC_OPCODE_REQUEST_SENSE,
    SPC_OPCODE_INQUIRY,
    {
	/* MMC-6 6.39: IMMED; POWER CONDITION, LOEJ, START.  FL (format
	 * layer, byte 4 bit 2) is for BD/DVD+R writers: refused. */
	.opcode = 0x1b,
	.cdb_len = 6,
	.name = "START STOP UNIT",
	.exec = mmc_start_stop_unit,
	.usage = {0x1b, 0x01, 0, 0, 0xf3, CONTROL},
    },
    {
	/* SPC-5 6.11: DBD; PC, PAGE CODE; SUBPAGE CODE; ALLOCATION LENGTH.
	 * MMC-6 7.2: no block descriptor is ever returned. */
	.opcode = 0x1a,
	.cdb_len = 6,
	.flags = STANDBY_OK,
	.name = "MODE SENSE(6)",
	.exec = mmc_mode_sense,
	.usage = {0x1a, 0x08, 0xff, 0xff, 0xff, CONTROL},
    },
    {
	/* MMC-6 6.11: PERSISTENT (bit 1) and PREVENT (bit 0) in byte 4. */
	.opcode = 0x1e,
	.cdb_len = 6,
	.name = "PREVENT ALLOW MEDIUM REMOVAL",
	.exec = sbc_prevent_allow,
	.usage = {0x1e, 0, 0, 0, 0x01 /* PREVENT */, CONTROL},
    },
    {
	/* MMC-6 6.23: RELADR and PMI are obsolete, every other bit is
	 * reserved. */
	.opcode = 0x25,
	.cdb_len = 10,
	.flags = M,
	.name = "READ CAPACITY",
	.exec = sbc_read_capacity10,
	.usage = {0x25, 0, 0, 0, 0, 0, 0, 0, 0, CONTROL},
    },
    {
	/* MMC-6 6.19: DPO, FUA; LBA; TRANSFER LENGTH. */
	.opcode = 0x28,
	.cdb_len = 10,
	.flags = M,
	.name = "READ(10)",
	.exec = sbc_read,
	.usage = {0x28, 0x18, LBA32, 0, LEN16, CONTROL},
    },
    {
	/* MMC-6 6.26: MSF; FORMAT; TRACK/SESSION NUMBER; ALLOCATION LENGTH. */
	.opcode = 0x43,
	.cdb_len = 10,
	.flags = M,
	.name = "READ TOC/PMA/ATIP",
	.exec = mmc_read_toc,
	.usage = {0x43, 0x02, 0x0f, 0, 0, 0, 0xff, LEN16, CONTROL},
    },
    {
	/* MMC-6 6.6: RT; STARTING FEATURE NUMBER; ALLOCATION LENGTH.  It
	 * needs no medium and, as MMC-6 has it for GET CONFIGURATION,
	 * neither reports nor clears a unit attention, so an initiator can
	 * learn what the drive is while one is pending. */
	.opcode = 0x46,
	.cdb_len = 10,
	.flags = OPF_NO_UA,
	.name = "GET CONFIGURATION",
	.exec = mmc_get_configuration,
	.usage = {0x46, 0x03, LEN16, 0, 0, 0, LEN16, CONTROL},
    },
    {
	/* MMC-6 6.7: POLLED; NOTIFICATION CLASS REQUEST (classes 1 to 6,
	 * bits 0 and 7 are reserved); ALLOCATION LENGTH.  Like GET
	 * CONFIGURATION it needs no medium and leaves a unit attention
	 * pending: it is how a host polls for a medium change. */
	.opcode = 0x4a,
	.cdb_len = 10,
	.flags = OPF_NO_UA,
	.name = "GET EVENT STATUS NOTIFICATION",
	.exec = mmc_get_event_status,
	.usage = {0x4a, 0x01, 0, 0, 0x7e, 0, 0, LEN16, CONTROL},
    },
    {
	/* MMC-6 6.22: DATA TYPE; ALLOCATION LENGTH. */
	.opcode = 0x51,
	.cdb_len = 10,
	.flags = M,
	.name = "READ DISC INFORMATION",
	.exec = mmc_read_disc_information,
	.usage = {0x51, 0x07, 0, 0, 0, 0, 0, LEN16, CONTROL},
    },
    {
	/* MMC-6 6.27: OPEN, ADDRESS/NUMBER TYPE; LOGICAL BLOCK ADDRESS/TRACK/
	 * SESSION NUMBER; ALLOCATION LENGTH. */
	.opcode = 0x52,
	.cdb_len = 10,
	.flags = M,
	.name = "READ TRACK INFORMATION",
	.exec = mmc_read_track_information,
	.usage = {0x52, 0x07, LBA32, 0, LEN16, CONTROL},
    },
    {
	/* SPC-5 6.12: LLBAA, DBD; PC, PAGE CODE; SUBPAGE CODE; ALLOCATION
	 * LENGTH. */
	.opcode = 0x5a,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "MODE SENSE(10)",
	.exec = mmc_mode_sense,
	.usage = {0x5a, 0x18, 0xff, 0xff, 0, 0, 0, LEN16, CONTROL},
    },
    SPC_OPCODE_REPORT_LUNS,
    SPC_OPCODE_REPORT_TARGET_PORT_GROUPS,
    SPC_OPCODE_REPORT_SUPPORTED_OPCODES,
    SPC_OPCODE_SET_TARGET_PORT_GROUPS,
    {
	/* MMC-6 6.20: DPO, FUA; LBA; TRANSFER LENGTH.  STREAMING (byte 10
	 * bit 7) is for real-time writers' recovery: refused. */
	.opcode = 0xa8,
	.cdb_len = 12,
	.flags = M,
	.name = "READ(12)",
	.exec = sbc_read,
	.usage = {0xa8, 0x18, LBA32, LEN32, 0, CONTROL},
    },
    {
	/* MMC-6 6.10: ALLOCATION LENGTH; the rest is reserved. */
	.opcode = 0xbd,
	.cdb_len = 12,
	.name = "MECHANISM STATUS",
	.exec = mmc_mechanism_status,
	.usage = {0xbd, 0, 0, 0, 0, 0, 0, 0, LEN16, 0, CONTROL},
    },
};

const unsigned scsi_mmc_opcodes_count = sizeof(scsi_mmc_opcodes) / sizeof(scsi_mmc_opcodes[0]);

const struct scsi_opcode_desc *mmc_lookup_opcode(const uint8_t *cdb)
{
	return scsi_table_lookup(
	    (struct scsi_opcode_table){scsi_mmc_opcodes, scsi_mmc_opcodes_count}, cdb);
}
