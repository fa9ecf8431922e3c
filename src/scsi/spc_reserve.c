/*
 * SPC-2 RESERVE(6/10) and RELEASE(6/10): one logical-unit reservation held
 * by a session (dev->spc2_holder), dropped on release by the holder, on the
 * holder's I_T nexus loss and on LUN / target reset.  Third-party and
 * extent reservations are not supported.
 *
 * With persistent reservations around, the SPC-5 5.14.3 "compatible
 * reservation handling" rules (CRH=1 in REPORT CAPABILITIES) apply.
 */
#include "core/pr.h"
#include "scsi/scsi.h"

#define OP_RESERVE10 0x56
#define OP_RELEASE10 0x57
#define CDB10_THIRD_PARTY 0x10
#define CDB10_LONGID 0x02
#define CDB6_THIRD_PARTY 0x10
#define CDB6_EXTENT 0x01

/* Rejects third-party, long-ID and extent forms; true if it failed cmd. */
static bool unsupported_form(struct uscst_cmd *cmd)
{
	uint8_t b1 = cmd->cdb[1];
	bool ten = cmd->cdb[0] == OP_RESERVE10 || cmd->cdb[0] == OP_RELEASE10;
	if (ten && (b1 & CDB10_THIRD_PARTY)) {
		scsi_invalid_field_cdb(cmd, 1, 4);
		return true;
	}
	if (ten && (b1 & CDB10_LONGID)) {
		scsi_invalid_field_cdb(cmd, 1, 1);
		return true;
	}
	if (!ten && (b1 & CDB6_THIRD_PARTY)) {
		scsi_invalid_field_cdb(cmd, 1, 4);
		return true;
	}
	if (!ten && (b1 & CDB6_EXTENT)) {
		scsi_invalid_field_cdb(cmd, 1, 0);
		return true;
	}
	return false;
}

enum persistent_verdict {
	NO_PERSISTENT,	/* no registrations: SPC-2 rules apply */
	PR_HOLDER_NOOP, /* nexus holds the persistent reservation: GOOD, no effect */
	PR_CONFLICTS,	/* registrations exist: RESERVATION CONFLICT */
};

/* SPC-5 5.14.3 with CRH=1; called with dev->lock held. */
static enum persistent_verdict persistent_rules(const struct uscst_cmd *cmd)
{
	const struct pr_state *st = cmd->dev->pr;
	if (!st || st->nregs == 0)
		return NO_PERSISTENT;
	struct pr_nexus n = {cmd->sess->initiator_port, cmd->sess->tgt->rel_tgt_id};
	return pr_is_holder(st, &n) ? PR_HOLDER_NOOP : PR_CONFLICTS;
}

static void set_holder(struct uscst_device *dev, uint64_t id)
{
	__atomic_store_n(&dev->spc2_holder, id, __ATOMIC_RELAXED);
}

void spc_reserve(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	if (unsupported_form(cmd)) {
		scsi_cmd_done(cmd);
		return;
	}
	pthread_mutex_lock(&dev->lock);
	enum persistent_verdict v = persistent_rules(cmd);
	if (v == PR_CONFLICTS ||
	    (v == NO_PERSISTENT && dev->spc2_holder && dev->spc2_holder != cmd->sess->id))
		cmd->status = SAM_STAT_RESERVATION_CONFLICT;
	else if (v == NO_PERSISTENT)
		set_holder(dev, cmd->sess->id);
	pthread_mutex_unlock(&dev->lock);
	scsi_cmd_done(cmd);
}

void spc_release(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	if (unsupported_form(cmd)) {
		scsi_cmd_done(cmd);
		return;
	}
	pthread_mutex_lock(&dev->lock);
	enum persistent_verdict v = persistent_rules(cmd);
	if (v == PR_CONFLICTS)
		cmd->status = SAM_STAT_RESERVATION_CONFLICT;
	/* A RELEASE from anyone but the holder succeeds without effect. */
	else if (v == NO_PERSISTENT && dev->spc2_holder == cmd->sess->id)
		set_holder(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	scsi_cmd_done(cmd);
}

/* I_T nexus loss ends the nexus's SPC-2 reservation; persistent
 * registrations outlive the nexus by design. */
void scsi_reservations_nexus_lost(struct uscst_device *dev, struct uscst_session *sess)
{
	pthread_mutex_lock(&dev->lock);
	if (dev->spc2_holder == sess->id)
		set_holder(dev, 0);
	pthread_mutex_unlock(&dev->lock);
}

/* LUN reset and target reset release SPC-2 reservations (SPC-2 5.5.1);
 * persistent reservations are unaffected (SPC-5 5.14.1). */
void scsi_reservations_reset(struct uscst_device *dev)
{
	pthread_mutex_lock(&dev->lock);
	set_holder(dev, 0);
	pthread_mutex_unlock(&dev->lock);
}
