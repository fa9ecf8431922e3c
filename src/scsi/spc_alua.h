/*
 * Asymmetric logical unit access in the command sets (SPC-4 5.16): REPORT
 * and SET TARGET PORT GROUPS, the INQUIRY parts, and the one check that
 * refuses what a target port group's state does not allow (dispatch.c,
 * from the OPF_ALUA_* flags of the opcode tables).  The model and its
 * states are the core's (core/alua.h).
 */
#ifndef USCST_SCSI_SPC_ALUA_H
#define USCST_SCSI_SPC_ALUA_H

#include "scsi/scsi.h"

/* REPORT TARGET PORT GROUPS (SPC-4 6.37), MAINTENANCE IN service action
 * 0Ah: PARAMETER DATA FORMAT; ALLOCATION LENGTH. */
#define SPC_OPCODE_REPORT_TARGET_PORT_GROUPS                                                       \
	{                                                                                          \
		.opcode = 0xa3, .has_sa = true, .sa = 0x0a, .cdb_len = 12,                         \
		.flags = OPF_ALUA_ANY_STATE, .name = "REPORT TARGET PORT GROUPS",                  \
		.exec = spc_report_target_port_groups,                                             \
		.usage = {0xa3, 0xe0 | 0x0a, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0x00},         \
	}

/* SET TARGET PORT GROUPS (SPC-4 6.45), MAINTENANCE OUT service action
 * 0Ah: PARAMETER LIST LENGTH. */
#define SPC_OPCODE_SET_TARGET_PORT_GROUPS                                                          \
	{                                                                                          \
		.opcode = 0xa4, .has_sa = true, .sa = 0x0a, .cdb_len = 12,                         \
		.flags = OPF_ALUA_STANDBY | OPF_ALUA_UNAVAILABLE,                                  \
		.name = "SET TARGET PORT GROUPS", .out_len = spc_stpg_out_len,                     \
		.exec = spc_set_target_port_groups,                                                \
		.usage = {0xa4, 0x0a, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0x00},                \
	}

void spc_report_target_port_groups(struct uscst_cmd *cmd);
void spc_set_target_port_groups(struct uscst_cmd *cmd);
uint32_t spc_stpg_out_len(const struct uscst_cmd *cmd);

/* Dispatch: true when the state of the target port group cmd comes
 * through does not allow op (the command is then ended with NOT READY). */
bool scsi_alua_refused(struct uscst_cmd *cmd, const struct scsi_opcode_desc *op);
/* RTPG and STPG exist for dev (REPORT SUPPORTED OPERATION CODES). */
bool scsi_alua_opcode_available(const struct scsi_opcode_desc *op, const struct uscst_device *dev);
/* The TPGS field of standard INQUIRY data, in place (byte 5 bits 5..4). */
uint8_t scsi_alua_tpgs(const struct uscst_device *dev);
/* Writes the target port group designator of VPD page 83h at d when cmd's
 * path is in a target port group; returns its length (0: none). */
unsigned scsi_alua_tpg_designator(const struct uscst_cmd *cmd, uint8_t *d);

#endif
