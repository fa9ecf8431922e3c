/*
 * WRITE ATOMIC(16) (SBC-4 5.48): the blocks of the command are written
 * all or none as far as every other command of every I_T nexus can tell.
 *
 * How: the range is held EXCLUSIVE (sbc_range.c, the lock COMPARE AND
 * WRITE uses) from before the single backend WRITE until it has completed.
 * Every other write holds its range shared, and so does every READ
 * (sbc_rw.c), so no write interleaves with it and no READ sees part of
 * it: a READ of an overlapping range runs wholly before or wholly after.
 *
 * What holds on a crash or power loss (a torn write): nothing more than a
 * WRITE gives.  vdisk_fileio writes through the page cache, which the
 * kernel writes back in pages in any order; vdisk_blockio writes with
 * O_DIRECT but without RWF_ATOMIC, so the kernel and the device may split
 * it.  The Block Limits VPD has no field that tells an initiator about
 * power-fail atomicity, so the lengths reported there describe the
 * command-level atomicity above, and this comment and the README say
 * what they do not cover.
 *
 * The Block Limits VPD fields (spc_inquiry.c) come from here:
 *   MAXIMUM ATOMIC TRANSFER LENGTH: SBC_MAX_ATOMIC_TRANSFER_BYTES, the
 *     MAXIMUM TRANSFER LENGTH, as the lock covers any range;
 *   ATOMIC ALIGNMENT, ATOMIC TRANSFER LENGTH GRANULARITY: 0, none;
 *   MAXIMUM ATOMIC TRANSFER LENGTH WITH ATOMIC BOUNDARY, MAXIMUM ATOMIC
 *     BOUNDARY SIZE: 0, atomic boundaries are not supported (a non-zero
 *     ATOMIC BOUNDARY field is refused by the usage mask in opcodes.c).
 */
#include <stddef.h>
#include <stdlib.h>

#include "scsi/sbc.h"
#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"

#define WA_FUA 0x08 /* CDB byte 1 */

struct atomic_ctx {
	struct uscst_cmd *cmd;
	struct lba_range_lock range;
	uint64_t lba;
	uint32_t blocks;
	bool fua;
};

static uint32_t max_atomic_blocks(const struct uscst_device *dev)
{
	return SBC_MAX_ATOMIC_TRANSFER_BYTES >> dev->block_shift;
}

static void atomic_finish(struct uscst_cmd *cmd)
{
	struct atomic_ctx *ctx = cmd->hctx;
	sbc_range_release(&ctx->range);
	free(ctx);
	cmd->hctx = NULL;
	scsi_cmd_done(cmd);
}

static void atomic_written(struct uscst_cmd *cmd)
{
	if (cmd->io.result < 0 || (uint64_t)cmd->io.result < cmd->io.len)
		sbc_sense_io_error(cmd, true);
	atomic_finish(cmd);
}

/* With the range held exclusive: the one write. */
static void atomic_write(struct uscst_cmd *cmd)
{
	struct atomic_ctx *ctx = cmd->hctx;
	scsi_submit_io(cmd, USCST_IO_WRITE, ctx->lba << cmd->dev->block_shift,
		       (uint64_t)ctx->blocks << cmd->dev->block_shift, cmd->out_buf, ctx->fua,
		       atomic_written);
}

/* The range was granted after a wait, on this command's own thread. */
static void atomic_resume(struct lba_range_lock *l)
{
	struct atomic_ctx *ctx =
	    (struct atomic_ctx *)((char *)l - offsetof(struct atomic_ctx, range));
	if (ctx->cmd->aborted)
		atomic_finish(ctx->cmd); /* status thrown away; nothing written */
	else if (sbc_sanitize_refuses_io(ctx->cmd, ctx->cmd->dev))
		atomic_finish(ctx->cmd); /* waited for a SANITIZE that failed */
	else
		atomic_write(ctx->cmd);
}

/* The CDB against the limits; false when sense is set. */
static bool atomic_checks(struct uscst_cmd *cmd, uint64_t lba, uint32_t blocks)
{
	if (!sbc_check_lba_range(cmd, lba, blocks))
		return false;
	if (blocks > max_atomic_blocks(cmd->dev)) {
		/* SBC-4: above MAXIMUM ATOMIC TRANSFER LENGTH. */
		scsi_invalid_field_cdb(cmd, 12, -1);
		return false;
	}
	/* All or none: a write of fewer blocks than the CDB names, because
	 * the initiator announced or sent less Data-Out, would be a part of
	 * it.  Nothing is written and the TRANSFER LENGTH is refused. */
	if (blocks && sbc_received_blocks(cmd, blocks) < blocks) {
		scsi_invalid_field_cdb(cmd, 12, -1);
		return false;
	}
	return true;
}

void sbc_write_atomic(struct uscst_cmd *cmd)
{
	uint64_t lba = get_be64(cmd->cdb + 2);
	uint32_t blocks = get_be16(cmd->cdb + 12);

	if (!atomic_checks(cmd, lba, blocks) || !blocks) {
		scsi_cmd_done(cmd);
		return;
	}
	struct atomic_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	ctx->cmd = cmd;
	ctx->lba = lba;
	ctx->blocks = blocks;
	/* DPO is a cache hint; FUA as for WRITE. */
	ctx->fua = sbc_write_fua(cmd->dev, cmd->cdb[1] & WA_FUA);
	cmd->hctx = ctx;
	if (sbc_range_acquire_cmd(&ctx->range, cmd, lba, blocks, true, atomic_resume))
		atomic_write(cmd);
}
