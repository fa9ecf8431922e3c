/*
 * The SBC command set (core/cmdset.h): direct-access block devices, with
 * the SPC commands every LU has.  What the core asks of it: how many
 * Data-Out bytes a CDB asks for, running a command, and what opening the
 * device, a lost nexus or a LU reset does to the state the device keeps
 * for the commands (reservations, mode pages).  MODE SELECT itself is one
 * of its commands (spc_mode.c), changing that state for every nexus.
 */
#include "scsi/sbc.h"
#include "scsi/scsi.h"
#include "scsi/smc.h"
#include "scsi/ssc.h"

static void sbc_decode(struct uscst_cmd *cmd)
{
	cmd->op = scsi_lookup_opcode(cmd->dev, cmd->cdb);
	if (cmd->op && cmd->op->out_len && cmd->dev)
		cmd->out_len = cmd->op->out_len(cmd);
	else if (cmd->op && cmd->op->out_len)
		cmd->out_len = 0;
	else
		/* Unknown command: take what the initiator sends, then fail it. */
		cmd->out_len = (!cmd->op && cmd->exp_write) ? cmd->exp_len : 0;
}

/* The mode pages MODE SELECT may change, at their defaults: the write
 * cache as configured (write_through), fixed sense, no software write
 * protection. */
static void mode_pages_default(struct uscst_device *dev)
{
	pthread_mutex_lock(&dev->lock);
	atomic_store_explicit(&dev->wce,
			      !atomic_load_explicit(&dev->write_through, memory_order_relaxed),
			      memory_order_relaxed);
	atomic_store_explicit(&dev->d_sense, false, memory_order_relaxed);
	atomic_store_explicit(&dev->swp, false, memory_order_relaxed);
	pthread_mutex_unlock(&dev->lock);
}

/* SAM-5 LU reset: SPC-2 reservations go, mode pages return to their
 * defaults. */
static void sbc_lu_reset(struct uscst_device *dev)
{
	scsi_reservations_reset(dev);
	mode_pages_default(dev);
}

const struct uscst_cmdset scsi_sbc_cmdset = {
    .name = "sbc",
    .device_type = SBC_DEVICE_TYPE,
    .decode = sbc_decode,
    .dispatch = scsi_dispatch,
    .nexus_lost = scsi_reservations_nexus_lost,
    .power_on = mode_pages_default,
    .lu_reset = sbc_lu_reset,
    .abort_running = sbc_abort_running,
};

bool scsi_register_cmdsets(void)
{
	/* SBC first: the default command set, for LUNs with no device. */
	bool sbc = uscst_cmdset_find(scsi_sbc_cmdset.name) == &scsi_sbc_cmdset ||
		   uscst_cmdset_register(&scsi_sbc_cmdset);
	bool mmc = uscst_cmdset_find(scsi_mmc_cmdset.name) == &scsi_mmc_cmdset ||
		   uscst_cmdset_register(&scsi_mmc_cmdset);
	bool ssc = uscst_cmdset_find(scsi_ssc_cmdset.name) == &scsi_ssc_cmdset ||
		   uscst_cmdset_register(&scsi_ssc_cmdset);
	bool smc = uscst_cmdset_find(scsi_smc_cmdset.name) == &scsi_smc_cmdset ||
		   uscst_cmdset_register(&scsi_smc_cmdset);
	bool pt = uscst_cmdset_find(scsi_passthrough_cmdset.name) == &scsi_passthrough_cmdset ||
		  uscst_cmdset_register(&scsi_passthrough_cmdset);
	return sbc && mmc && ssc && smc && pt;
}
