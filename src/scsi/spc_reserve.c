/*
 * SPC-2 RESERVE(6/10) and RELEASE(6/10): one logical-unit reservation held
 * by a session (dev->spc2_holder), dropped on release by the holder, on the
 * holder's I_T nexus loss and on LUN / target reset.  Third-party, long-ID
 * and extent reservations are not supported: the usage masks (opcodes.c)
 * refuse their bits.
 *
 * With persistent reservations around, the SPC-5 5.14.3 "compatible
 * reservation handling" rules (CRH=1 in REPORT CAPABILITIES) apply.
 */
#include "core/pr.h"
#include "scsi/scsi.h"

enum persistent_verdict {
	NO_PERSISTENT,	/* no registrations: SPC-2 rules apply */
	PR_HOLDER_NOOP, /* nexus holds the persistent reservation: GOOD, no effect */
	PR_CONFLICTS,	/* registrations exist: RESERVATION CONFLICT */
};

/* SPC-5 5.14.3 with CRH=1; called with dev->lock held. */
static enum persistent_verdict persistent_rules(const struct uscst_cmd *cmd)
{
	const struct pr_state *st = atomic_load_explicit(&cmd->dev->pr, memory_order_relaxed);
	if (!st || st->nregs == 0)
		return NO_PERSISTENT;
	struct pr_nexus n = {cmd->sess->initiator_port, cmd->sess->rel_port_id};
	return pr_is_holder(st, &n) ? PR_HOLDER_NOOP : PR_CONFLICTS;
}

/* dev->spc2_holder is also read without the lock (pr_conflict.c fast path). */
static uint64_t holder(const struct uscst_device *dev)
{
	return atomic_load_explicit(&dev->spc2_holder, memory_order_relaxed);
}

static void set_holder(struct uscst_device *dev, uint64_t id)
{
	atomic_store_explicit(&dev->spc2_holder, id, memory_order_relaxed);
}

void spc_reserve(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	pthread_mutex_lock(&dev->lock);
	enum persistent_verdict v = persistent_rules(cmd);
	if (v == PR_CONFLICTS ||
	    (v == NO_PERSISTENT && holder(dev) && holder(dev) != cmd->sess->id))
		cmd->status = SAM_STAT_RESERVATION_CONFLICT;
	else if (v == NO_PERSISTENT)
		set_holder(dev, cmd->sess->id);
	pthread_mutex_unlock(&dev->lock);
	scsi_cmd_done(cmd);
}

void spc_release(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	pthread_mutex_lock(&dev->lock);
	enum persistent_verdict v = persistent_rules(cmd);
	if (v == PR_CONFLICTS)
		cmd->status = SAM_STAT_RESERVATION_CONFLICT;
	/* A RELEASE from anyone but the holder succeeds without effect. */
	else if (v == NO_PERSISTENT && holder(dev) == cmd->sess->id)
		set_holder(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	scsi_cmd_done(cmd);
}

/* I_T nexus loss ends the nexus's SPC-2 reservation; persistent
 * registrations outlive the nexus by design. */
void scsi_reservations_nexus_lost(struct uscst_device *dev, struct uscst_session *sess)
{
	pthread_mutex_lock(&dev->lock);
	if (holder(dev) == sess->id)
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
