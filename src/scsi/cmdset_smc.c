/*
 * The SMC command set (core/cmdset.h): the medium changer of a virtual
 * tape library (vchanger).  Its state (the element map) is built by the
 * attach step, once the drives it names are open (smc_library.c).
 */
#include "scsi/smc.h"

static void smc_decode(struct uscst_cmd *cmd)
{
	cmd->op = smc_lookup_opcode(cmd->cdb);
	/* SET TARGET PORT GROUPS is the one SMC command here with Data-Out;
	 * an unknown one takes what the initiator sends, then fails. */
	if (cmd->op)
		cmd->out_len = cmd->op->out_len ? cmd->op->out_len(cmd) : 0;
	else
		cmd->out_len = cmd->exp_write ? cmd->exp_len : 0;
}

/* A changer opened but not attached (no library yet) answers only the
 * commands any LUN answers. */
static void smc_dispatch(struct uscst_cmd *cmd)
{
	if (cmd->dev && cmd->op && !(cmd->op->flags & OPF_ANY_LUN) && !smc_lib(cmd->dev)) {
		scsi_fail(cmd, SK_NOT_READY, ASC_LUN_NOT_READY_MANUAL_INTERVENTION);
		return;
	}
	scsi_dispatch(cmd);
}

/* Removable (RMB 1: tapes leave through the import/export elements), no
 * mode state of the disk kind. */
static void smc_power_on(struct uscst_device *dev)
{
	pthread_mutex_lock(&dev->lock);
	dev->removable = true;
	atomic_store_explicit(&dev->wce, false, memory_order_relaxed);
	atomic_store_explicit(&dev->d_sense, false, memory_order_relaxed);
	atomic_store_explicit(&dev->swp, false, memory_order_relaxed);
	uscst_prevent_clear_all(dev);
	pthread_mutex_unlock(&dev->lock);
}

/* A lost nexus's reservation and medium removal prevention go with it. */
static void smc_nexus_lost(struct uscst_device *dev, struct uscst_session *sess)
{
	scsi_reservations_nexus_lost(dev, sess);
	pthread_mutex_lock(&dev->lock);
	uscst_prevent_set(dev, sess->id, false);
	pthread_mutex_unlock(&dev->lock);
}

/* SAM-5 LU reset: reservations and preventions go; the tapes stay where
 * they are. */
static void smc_lu_reset(struct uscst_device *dev)
{
	scsi_reservations_reset(dev);
	pthread_mutex_lock(&dev->lock);
	uscst_prevent_clear_all(dev);
	pthread_mutex_unlock(&dev->lock);
}

const struct uscst_cmdset scsi_smc_cmdset = {
    .name = "smc",
    .device_type = SMC_DEVICE_TYPE,
    .dev_priv_size = sizeof(struct smc_dev),
    .decode = smc_decode,
    .dispatch = smc_dispatch,
    .nexus_lost = smc_nexus_lost,
    .power_on = smc_power_on,
    .lu_reset = smc_lu_reset,
    .attach = smc_attach,
};
