/*
 * ALUA for a pass-through device in a device group (scsi/passthrough.h):
 * the target port groups are uscst's, not the device's, so REPORT and SET
 * TARGET PORT GROUPS are answered here (from the disk table's entries),
 * the TPGS of the device's standard INQUIRY data is replaced by ours, and
 * a forwarded command is refused as a state of the path demands (SPC-4
 * 5.16.2.4), by its operation code since the device's commands have no
 * table here.  A device in no device group is untouched: what it says of
 * itself goes through.
 */
#include "scsi/passthrough.h"
#include "scsi/scsi.h"
#include "scsi/spc_alua.h"

#define OP_INQUIRY 0x12
#define OP_MAINTENANCE_IN 0xa3
#define OP_MAINTENANCE_OUT 0xa4
#define SA_TARGET_PORT_GROUPS 0x0a
#define SA_REPORT_SUPPORTED_OPCODES 0x0c
#define SA_REPORT_SUPPORTED_TMFS 0x0d

bool passthrough_alua_owned(const struct uscst_cmd *cmd)
{
	uint8_t op = cmd->cdb[0];
	return (op == OP_MAINTENANCE_IN || op == OP_MAINTENANCE_OUT) &&
	       (cmd->cdb[1] & 0x1f) == SA_TARGET_PORT_GROUPS && scsi_alua_tpgs(cmd->dev) != 0;
}

/* What the states let through of a forwarded command: SPC-4 5.16.2.4's
 * lists, as the disk table's flags have them. */
static uint16_t state_flags(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case OP_INQUIRY:
		return OPF_ALUA_ANY_STATE;
	case OP_MAINTENANCE_IN:
		switch (cdb[1] & 0x1f) {
		case SA_REPORT_SUPPORTED_OPCODES:
		case SA_REPORT_SUPPORTED_TMFS:
			return OPF_ALUA_ANY_STATE;
		default:
			return 0;
		}
	case 0x15: /* MODE SELECT(6) */
	case 0x1a: /* MODE SENSE(6) */
	case 0x1c: /* RECEIVE DIAGNOSTIC RESULTS */
	case 0x1d: /* SEND DIAGNOSTIC */
	case 0x4c: /* LOG SELECT */
	case 0x4d: /* LOG SENSE */
	case 0x55: /* MODE SELECT(10) */
	case 0x5a: /* MODE SENSE(10) */
		return OPF_ALUA_STANDBY;
	default:
		return 0;
	}
}

bool passthrough_alua_refused(struct uscst_cmd *cmd)
{
	const struct scsi_opcode_desc op = {.opcode = cmd->cdb[0], .flags = state_flags(cmd->cdb)};
	return scsi_alua_refused(cmd, &op);
}

void passthrough_alua_inquiry(struct uscst_cmd *cmd)
{
	if (cmd->cdb[0] != OP_INQUIRY || (cmd->cdb[1] & 0x01) || cmd->in_len < 6)
		return;
	uint8_t tpgs = scsi_alua_tpgs(cmd->dev);
	if (tpgs)
		cmd->in_buf[5] = (uint8_t)((cmd->in_buf[5] & ~0x30) | tpgs);
}
