/*
 * Command dispatch: the generic checks every command passes through before
 * its handler runs, in the order SAM-5 / SPC-5 give them precedence.
 */
#include "scsi/scsi.h"
#include "scsi/spc_alua.h"

static bool fail_unit_attention(struct uscst_cmd *cmd)
{
	uint8_t asc, ascq;
	if (!ua_take(cmd->sess, cmd->lun, &asc, &ascq))
		return false;
	scsi_check_condition(cmd, SK_UNIT_ATTENTION, asc, ascq);
	return true;
}

static bool write_protected(const struct uscst_cmd *cmd)
{
	return atomic_load_explicit(&cmd->dev->read_only, memory_order_relaxed) ||
	       cmd->lun_ent->read_only ||
	       atomic_load_explicit(&cmd->dev->swp, memory_order_relaxed);
}

/*
 * A CDB bit the opcode's usage mask (opcodes.c) does not allow: a reserved
 * bit, or one of a feature not implemented (NACA and LINK among them).  The
 * CONTROL byte is looked at first, as it always was right after the opcode,
 * then bytes 1.. in order; the field pointer names the byte and its most
 * significant offending bit (SPC-5 4.4.2.4.2).  It depends on the CDB
 * alone, so like an unknown opcode it takes precedence over the state of
 * the logical unit (reservations, medium, write protection).
 */
static bool cdb_bits_invalid(struct uscst_cmd *cmd)
{
	const struct scsi_opcode_desc *op = cmd->op;
	unsigned last = op->cdb_len - 1u;
	for (unsigned n = 0; n < last; n++) {
		unsigned i = n ? n : last;
		unsigned extra = cmd->cdb[i] & ~op->usage[i] & 0xffu;
		if (extra) {
			scsi_invalid_field_cdb(cmd, i, 31 - __builtin_clz(extra));
			return true;
		}
	}
	return false;
}

/*
 * The transport's data directions (iSCSI's R and W bits) against the
 * CDB's, where the command cannot run as asked: a bidirectional command
 * (none here is one), or Data-In asked of a command that takes Data-Out
 * it will then not get.  The command IU is at fault, not the CDB: ILLEGAL
 * REQUEST, INVALID FIELD IN COMMAND INFORMATION UNIT (SPC-4 0Eh/03h).
 * Data-Out announced for a command that only returns data (a READ with W
 * and not R) is not refused: it runs, the Data-Out is dropped and the
 * residual says that none of its Data-In reached the initiator (overflow,
 * iscsi/data_in.c), as for a transfer length too short; libiscsi's
 * iSCSIResiduals.Read10Invalid expects GOOD there, and no standard asks
 * for more.  No transfer announced at all is no contradiction either.
 */
static bool directions_contradict(const struct uscst_cmd *cmd)
{
	bool cdb_takes_data_out = cmd->op->out_len != NULL;
	if (cmd->exp_len == 0)
		return false;
	return (cmd->exp_read && cmd->exp_write) || (cmd->exp_read && cdb_takes_data_out);
}

void scsi_dispatch(struct uscst_cmd *cmd)
{
	const struct scsi_opcode_desc *op = cmd->op;

	if (!cmd->lun_ent && !(op && (op->flags & OPF_ANY_LUN))) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
		return;
	}
	/* Before the unit attention: an LU that sanitizes runs nothing, and
	 * the unit attention stays pending until it can (sbc_sanitize.c). */
	if (cmd->dev && sbc_sanitize_refuses(cmd)) {
		scsi_cmd_done(cmd);
		return;
	}
	if (!(op && (op->flags & OPF_NO_UA)) && fail_unit_attention(cmd)) {
		scsi_cmd_done(cmd);
		return;
	}
	if (!op) {
		if (scsi_opcode_has_service_actions(cmd->dev, cmd->cdb))
			scsi_invalid_field_cdb(cmd, 1, 4);
		else
			scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		scsi_cmd_done(cmd);
		return;
	}
	if (cdb_bits_invalid(cmd)) {
		scsi_cmd_done(cmd);
		return;
	}
	if (directions_contradict(cmd)) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
		return;
	}
	if (cmd->dev) {
		/* ALUA: what the path's target port group state does not allow. */
		if (scsi_alua_refused(cmd, op))
			return;
		if (scsi_reservation_conflict(cmd)) {
			cmd->status = SAM_STAT_RESERVATION_CONFLICT;
			scsi_cmd_done(cmd);
			return;
		}
		if ((op->flags & OPF_NEEDS_MEDIUM) &&
		    !atomic_load_explicit(&cmd->dev->medium_present, memory_order_relaxed)) {
			scsi_fail(cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
			return;
		}
		if ((op->flags & OPF_WRITES_MEDIUM) && write_protected(cmd)) {
			scsi_fail(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
			return;
		}
		if (sbc_sanitize_failed_refuses(cmd)) {
			scsi_cmd_done(cmd);
			return;
		}
	}
	op->exec(cmd);
}
