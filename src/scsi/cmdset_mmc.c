/*
 * The MMC command set (core/cmdset.h): a read-only CD/DVD drive (vcdrom).
 * Its LUs are removable, with 2048-byte blocks (the user data of a CD
 * mode 1 or DVD sector), and answer the commands of mmc_opcodes.c.
 */
#include "scsi/mmc.h"

static void mmc_decode(struct uscst_cmd *cmd)
{
	cmd->op = mmc_lookup_opcode(cmd->cdb);
	/* SET TARGET PORT GROUPS is the one MMC command here with Data-Out;
	 * an unknown one (a write) takes what the initiator sends, then
	 * fails. */
	if (cmd->op)
		cmd->out_len = cmd->op->out_len ? cmd->op->out_len(cmd) : 0;
	else
		cmd->out_len = cmd->exp_write ? cmd->exp_len : 0;
}

/* A drive is removable by nature (INQUIRY RMB = 1, MMC-6 6.8), and starts
 * with its tray closed on the configured image, no media event pending.
 * MODE SELECT is not in the table, so the mode state stays at its
 * defaults: no write cache, fixed sense. */
static void mmc_power_on(struct uscst_device *dev)
{
	struct mmc_dev *m = mmc_dev(dev);
	pthread_mutex_lock(&dev->lock);
	m->tray_open = false;
	m->npending = 0;
	dev->removable = true;
	atomic_store_explicit(&dev->wce, false, memory_order_relaxed);
	atomic_store_explicit(&dev->d_sense, false, memory_order_relaxed);
	atomic_store_explicit(&dev->swp, false, memory_order_relaxed);
	pthread_mutex_unlock(&dev->lock);
}

/* SAM-5 LU reset: SPC-2 reservations go; the medium stays as it is (a
 * reset does not eject a disc). */
static void mmc_lu_reset(struct uscst_device *dev) { scsi_reservations_reset(dev); }

const struct uscst_cmdset scsi_mmc_cmdset = {
    .name = "mmc",
    .device_type = MMC_DEVICE_TYPE,
    .block_size = 2048,
    .dev_priv_size = sizeof(struct mmc_dev),
    .decode = mmc_decode,
    .dispatch = scsi_dispatch,
    .nexus_lost = mmc_nexus_lost,
    .power_on = mmc_power_on,
    .lu_reset = mmc_lu_reset,
    .medium_changed = mmc_medium_changed,
};
