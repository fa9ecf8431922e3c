/*
 * Opcode table of the SMC command set (cmdset_smc.c): a medium changer.
 * The SPC commands come from spc_opcodes.h, PREVENT ALLOW MEDIUM REMOVAL
 * reuses the SBC handler (it records the prevention per I_T nexus); the
 * rest is SMC-3.  SET TARGET PORT GROUPS is the only command with Data-Out;
 * it and the other MAINTENANCE IN / OUT commands the only ones with a
 * service action.  The
 * usage masks are enforced by dispatch, as for the other tables.
 */
#include "scsi/smc.h"
#include "scsi/spc_alua.h"
#include "scsi/spc_opcodes.h"

/* What a target port group in standby still serves (SPC-4 5.16.2.4.4). */
#define STANDBY_OK OPF_ALUA_STANDBY
#define CONTROL 0x00 /* NACA, FLAG, LINK: not supported */
#define ADDR16 0xff, 0xff
#define LEN16 0xff, 0xff
#define LEN24 0xff, 0xff, 0xff

/* Sorted by opcode. */
const struct scsi_opcode_desc scsi_smc_opcodes[] = {
    /* The changer is always ready: it has no medium of its own. */
    SPC_OPCODE_TEST_UNIT_READY(0),
    SPC_OPCODE_REQUEST_SENSE,
    {
	/* SMC-3 6.3: no fields. */
	.opcode = 0x07,
	.cdb_len = 6,
	.name = "INITIALIZE ELEMENT STATUS",
	.exec = smc_initialize_element_status,
	.usage = {0x07, 0, 0, 0, 0, CONTROL},
    },
    SPC_OPCODE_INQUIRY,
    {
	/* SPC-5 6.11: DBD; PC, PAGE CODE; SUBPAGE CODE; ALLOCATION LENGTH. */
	.opcode = 0x1a,
	.cdb_len = 6,
	.flags = STANDBY_OK,
	.name = "MODE SENSE(6)",
	.exec = smc_mode_sense,
	.usage = {0x1a, 0x08, 0xff, 0xff, 0xff, CONTROL},
    },
    {
	/* SMC-3 6.12: PREVENT 00b/01b; the other values are reserved. */
	.opcode = 0x1e,
	.cdb_len = 6,
	.name = "PREVENT ALLOW MEDIUM REMOVAL",
	.exec = sbc_prevent_allow,
	.usage = {0x1e, 0, 0, 0, 0x01, CONTROL},
    },
    {
	/* SMC-3 6.8: MEDIUM TRANSPORT ADDRESS, DESTINATION ELEMENT ADDRESS;
	 * INVERT (byte 8 bit 0) refused: tapes have one side. */
	.opcode = 0x2b,
	.cdb_len = 10,
	.name = "POSITION TO ELEMENT",
	.exec = smc_position_to_element,
	.usage = {0x2b, 0, ADDR16, ADDR16, 0, 0, 0, CONTROL},
    },
    {
	/* SPC-5 6.12: LLBAA, DBD; PC, PAGE CODE; SUBPAGE CODE; ALLOCATION
	 * LENGTH.  No block descriptors either way. */
	.opcode = 0x5a,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "MODE SENSE(10)",
	.exec = smc_mode_sense,
	.usage = {0x5a, 0x18, 0xff, 0xff, 0, 0, 0, LEN16, CONTROL},
    },
    SPC_OPCODE_REPORT_LUNS,
    SPC_OPCODE_REPORT_TARGET_PORT_GROUPS,
    SPC_OPCODE_REPORT_SUPPORTED_OPCODES,
    SPC_OPCODE_SET_TARGET_PORT_GROUPS,
    {
	/* SMC-3 6.6: MEDIUM TRANSPORT, SOURCE and DESTINATION ADDRESS;
	 * INVERT (byte 10 bit 0) refused.  It changes what every initiator
	 * sees: refused on a read-only mapping, as a write is. */
	.opcode = 0xa5,
	.cdb_len = 12,
	.flags = OPF_WRITES_MEDIUM,
	.name = "MOVE MEDIUM",
	.exec = smc_move_medium,
	.usage = {0xa5, 0, ADDR16, ADDR16, ADDR16, 0, 0, 0, CONTROL},
    },
    {
	/* SMC-3 6.9: VOLTAG, ELEMENT TYPE CODE; STARTING ELEMENT ADDRESS;
	 * NUMBER OF ELEMENTS; CURDATA, DVCID; ALLOCATION LENGTH. */
	.opcode = 0xb8,
	.cdb_len = 12,
	.name = "READ ELEMENT STATUS",
	.exec = smc_read_element_status,
	.usage = {0xb8, 0x1f, ADDR16, LEN16, 0x03, LEN24, 0, CONTROL},
    },
    {
	/* SMC-3 6.4: FAST, RANGE; ELEMENT ADDRESS; NUMBER OF ELEMENTS. */
	.opcode = 0xe7,
	.cdb_len = 10,
	.name = "INITIALIZE ELEMENT STATUS WITH RANGE",
	.exec = smc_initialize_element_status_range,
	.usage = {0xe7, 0x03, ADDR16, 0, 0, LEN16, 0, CONTROL},
    },
};

const unsigned scsi_smc_opcodes_count = sizeof(scsi_smc_opcodes) / sizeof(scsi_smc_opcodes[0]);

/* REPORT SUPPORTED OPERATION CODES is a service action of MAINTENANCE
 * IN: the lookup takes service actions into account. */
const struct scsi_opcode_desc *smc_lookup_opcode(const uint8_t *cdb)
{
	return scsi_table_lookup(
	    (struct scsi_opcode_table){scsi_smc_opcodes, scsi_smc_opcodes_count}, cdb);
}
