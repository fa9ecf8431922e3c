/*
 * Opcode table entries of the SPC commands every device type answers (TEST
 * UNIT READY, REQUEST SENSE, INQUIRY, REPORT LUNS, REPORT SUPPORTED
 * OPERATION CODES): one definition each,
 * which every command set's table (opcodes.c, mmc_opcodes.c, smc_opcodes.c)
 * names, so that the handler, the flags and the CDB usage mask of a shared
 * command cannot drift apart between device types.  A table still lists
 * them itself, in its opcode order, because REPORT SUPPORTED OPERATION
 * CODES and the lookups walk one sorted array.
 */
#ifndef USCST_SCSI_SPC_OPCODES_H
#define USCST_SCSI_SPC_OPCODES_H

#include "scsi/scsi.h"

/* TEST UNIT READY (SPC-5 6.47); flags: OPF_NEEDS_MEDIUM on a device that
 * has a medium to be ready with, 0 on one that is always ready (a medium
 * changer). */
#define SPC_OPCODE_TEST_UNIT_READY(op_flags)                                                       \
	{                                                                                          \
		.opcode = 0x00, .cdb_len = 6, .flags = (op_flags), .name = "TEST UNIT READY",      \
		.exec = spc_test_unit_ready, .usage = {0x00, 0, 0, 0, 0, 0x00},                    \
	}

/* REQUEST SENSE (SPC-5 6.39): DESC; ALLOCATION LENGTH. */
#define SPC_OPCODE_REQUEST_SENSE                                                                   \
	{                                                                                          \
		.opcode = 0x03, .cdb_len = 6,                                                      \
		.flags = OPF_ANY_LUN | OPF_NO_UA | OPF_ALUA_ANY_STATE, .name = "REQUEST SENSE",    \
		.exec = spc_request_sense, .usage = {0x03, 0x01, 0, 0, 0xff, 0x00},                \
	}

/* INQUIRY (SPC-5 6.6): EVPD; PAGE CODE; ALLOCATION LENGTH. */
#define SPC_OPCODE_INQUIRY                                                                         \
	{                                                                                          \
		.opcode = 0x12, .cdb_len = 6,                                                      \
		.flags = OPF_ANY_LUN | OPF_NO_UA | OPF_ALUA_ANY_STATE, .name = "INQUIRY",          \
		.exec = spc_inquiry, .usage = {0x12, 0x01, 0xff, 0xff, 0xff, 0x00},                \
	}

/* REPORT LUNS (SPC-5 6.33): SELECT REPORT; ALLOCATION LENGTH. */
#define SPC_OPCODE_REPORT_LUNS                                                                     \
	{                                                                                          \
		.opcode = 0xa0, .cdb_len = 12,                                                     \
		.flags = OPF_ANY_LUN | OPF_NO_UA | OPF_ALUA_ANY_STATE, .name = "REPORT LUNS",      \
		.exec = spc_report_luns,                                                           \
		.usage = {0xa0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0x00},                \
	}

/* REPORT SUPPORTED OPERATION CODES (SPC-5 6.36), MAINTENANCE IN service
 * action 0Ch: RCTD, REPORTING OPTIONS; REQUESTED OPERATION CODE; REQUESTED
 * SERVICE ACTION; ALLOCATION LENGTH.  Answered from the device's own table
 * (scsi_opcode_table_of()); a table that lists it is looked up with its
 * service action (scsi_table_lookup()). */
#define SPC_OPCODE_REPORT_SUPPORTED_OPCODES                                                        \
	{                                                                                          \
		.opcode = 0xa3, .has_sa = true, .sa = 0x0c, .cdb_len = 12,                         \
		.flags = OPF_ALUA_ANY_STATE, .name = "REPORT SUPPORTED OPERATION CODES",           \
		.exec = spc_report_supported_opcodes,                                              \
		.usage = {0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0x00},    \
	}

#endif
