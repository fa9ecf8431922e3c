/* PRE-FETCH, SYNCHRONIZE CACHE, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL. */
#include <errno.h>

#include "scsi/sbc.h"
#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"

/* For PRE-FETCH and SYNCHRONIZE CACHE a length of 0 means "to the end of
 * the medium".  Returns false (sense set) when the range is off the medium. */
static bool range_to_end(struct uscst_cmd *cmd, uint64_t *lba, uint64_t *blocks)
{
	struct sbc_rw_fields f;
	sbc_decode_rw(cmd->cdb, &f);
	uint64_t nblocks = sbc_nblocks(cmd->dev); /* once: see sbc_nblocks() */
	if (!sbc_check_lba_range_n(cmd, nblocks, f.lba, f.blocks))
		return false;
	*lba = f.lba;
	*blocks = f.blocks ? f.blocks : nblocks - f.lba;
	return true;
}

static void prefetch_done(struct uscst_cmd *cmd)
{
	/* A backend without read-ahead support has simply nothing to do. */
	if (cmd->io.result < 0 && cmd->io.result != -EOPNOTSUPP)
		sbc_sense_io_error(cmd, false);
	scsi_cmd_done(cmd);
}

/* GOOD rather than CONDITION MET: the page cache may not keep the blocks,
 * which is exactly when SBC-4 asks for GOOD. */
void sbc_prefetch(struct uscst_cmd *cmd)
{
	uint64_t lba, blocks;
	if (!range_to_end(cmd, &lba, &blocks)) {
		scsi_cmd_done(cmd);
		return;
	}
	if (!blocks) {
		scsi_cmd_done(cmd);
		return;
	}
	uint8_t shift = cmd->dev->block_shift;
	uint64_t max_blocks = SBC_MAX_TRANSFER_BYTES >> shift;
	/* An explicit length above MAXIMUM PREFETCH LENGTH (Block Limits VPD)
	 * is refused; "to the end of the medium" is trimmed to it, as reading
	 * gigabytes ahead would only evict useful pages. */
	struct sbc_rw_fields f;
	sbc_decode_rw(cmd->cdb, &f);
	if (f.blocks > max_blocks) {
		scsi_invalid_field_cdb(cmd, cmd->cdb[0] == 0x34 ? 7 : 10, -1);
		scsi_cmd_done(cmd);
		return;
	}
	if (blocks > max_blocks)
		blocks = max_blocks;
	scsi_submit_io(cmd, USCST_IO_PREFETCH, lba << shift, blocks << shift, NULL, false,
		       prefetch_done);
}

static void flush_done(struct uscst_cmd *cmd)
{
	if (cmd->io.result < 0)
		sbc_sense_io_error(cmd, true);
	scsi_cmd_done(cmd);
}

/* The whole device is flushed whatever the range; IMMED is honoured by
 * completing after the flush, which SBC-4 permits. */
void sbc_sync_cache(struct uscst_cmd *cmd)
{
	uint64_t lba, blocks;
	if (!range_to_end(cmd, &lba, &blocks)) {
		scsi_cmd_done(cmd);
		return;
	}
	if (cmd->dev->nv_cache) {
		scsi_cmd_done(cmd);
		return;
	}
	scsi_submit_io(cmd, USCST_IO_FLUSH, 0, 0, NULL, false, flush_done);
}

/* START STOP UNIT CDB byte 4. */
#define SSU_START 0x01
#define SSU_LOEJ 0x02

/* LOEJ on a removable unit: START loads, !START ejects; both are refused
 * while removal is prevented (SBC-4 5.28, PREVENT ALLOW MEDIUM REMOVAL). */
static void load_eject(struct uscst_cmd *cmd, bool load)
{
	struct uscst_device *dev = cmd->dev;
	bool prevented;
	pthread_mutex_lock(&dev->lock);
	prevented = dev->prevent_removal;
	if (!prevented)
		atomic_store_explicit(&dev->medium_present, load, memory_order_relaxed);
	pthread_mutex_unlock(&dev->lock);
	if (prevented)
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
}

void sbc_start_stop_unit(struct uscst_cmd *cmd)
{
	uint8_t power_condition = cmd->cdb[4] >> 4;
	uint8_t flags = cmd->cdb[4];

	/* A POWER CONDITION other than START_VALID (0) makes START and LOEJ
	 * ignored; there are no power states to enter, so nothing happens.
	 * Stopping is likewise accepted without effect: the unit stays ready. */
	if (power_condition == 0 && (flags & SSU_LOEJ) && cmd->dev->removable) {
		/* Loading or ejecting changes the medium of every I_T nexus:
		 * refused through a read-only mapping (or on a read-only
		 * device) as a write is, with DATA PROTECT, WRITE PROTECTED. */
		if (atomic_load_explicit(&cmd->dev->read_only, memory_order_relaxed) ||
		    (cmd->lun_ent && cmd->lun_ent->read_only))
			scsi_check_condition(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
		else
			load_eject(cmd, flags & SSU_START);
	}
	scsi_cmd_done(cmd);
}

void sbc_prevent_allow(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	uint8_t prevent = cmd->cdb[4] & 0x03;
	/* 10b/11b are for medium changers only. */
	if (prevent > 1) {
		scsi_invalid_field_cdb(cmd, 4, 1);
		scsi_cmd_done(cmd);
		return;
	}
	/* A fixed disk has nothing to lock in; accepted as a no-op. */
	if (dev->removable) {
		pthread_mutex_lock(&dev->lock);
		bool ok = uscst_prevent_set(dev, cmd->sess->id, prevent);
		pthread_mutex_unlock(&dev->lock);
		if (!ok)
			scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_INSUFFICIENT_RESOURCES);
	}
	scsi_cmd_done(cmd);
}
