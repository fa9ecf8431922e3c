/*
 * COMPARE AND WRITE (SBC-4 5.3): read, compare, write as one uninterrupted
 * operation.  The range is held exclusive (sbc_range.c) from before the
 * read until the write has completed, so no other COMPARE AND WRITE,
 * ORWRITE or write of any kind lands in between; a command that conflicts
 * waits for its turn instead of failing with BUSY (ESXi's ATS would pay a
 * round trip for every contended attempt).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/sbc.h"
#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"

/* State between the read and the write. */
struct caw_ctx {
	struct uscst_cmd *cmd;
	struct lba_range_lock range;
	uint64_t lba;
	uint32_t blocks;
	bool fua;
	uint8_t medium[]; /* blocks * block_size */
};

static void caw_finish(struct uscst_cmd *cmd)
{
	struct caw_ctx *ctx = cmd->hctx;
	sbc_range_release(&ctx->range);
	free(ctx);
	cmd->hctx = NULL;
	scsi_cmd_done(cmd);
}

static void caw_written(struct uscst_cmd *cmd)
{
	if (cmd->io.result < 0 || (uint64_t)cmd->io.result < cmd->io.len)
		sbc_sense_io_error(cmd, true);
	caw_finish(cmd);
}

static void caw_read_done(struct uscst_cmd *cmd)
{
	struct caw_ctx *ctx = cmd->hctx;
	uint64_t len = cmd->io.len;
	int64_t res = cmd->io.result;

	if (res < 0) {
		sbc_sense_io_error(cmd, false);
		caw_finish(cmd);
		return;
	}
	if ((uint64_t)res < len)
		memset(ctx->medium + res, 0, len - (uint64_t)res);
	uint64_t m = sbc_first_mismatch(ctx->medium, cmd->out_buf, len);
	if (m < len) {
		scsi_check_condition_info(cmd, SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY, m);
		caw_finish(cmd);
		return;
	}
	scsi_submit_io(cmd, USCST_IO_WRITE, ctx->lba << cmd->dev->block_shift, len,
		       cmd->out_buf + len, ctx->fua, caw_written);
}

/* With the range held. */
static void caw_read(struct uscst_cmd *cmd)
{
	struct caw_ctx *ctx = cmd->hctx;
	scsi_submit_io(cmd, USCST_IO_READ, ctx->lba << cmd->dev->block_shift,
		       (uint64_t)ctx->blocks << cmd->dev->block_shift, ctx->medium, false,
		       caw_read_done);
}

/* The range was granted after a wait, on this command's own thread. */
static void caw_resume(struct lba_range_lock *l)
{
	struct caw_ctx *ctx = (struct caw_ctx *)((char *)l - offsetof(struct caw_ctx, range));
	/* Aborted, or it waited for a SANITIZE that failed (sbc_range.c). */
	if (ctx->cmd->aborted || sbc_sanitize_refuses_io(ctx->cmd, ctx->cmd->dev))
		caw_finish(ctx->cmd); /* status thrown away; nothing to compare */
	else
		caw_read(ctx->cmd);
}

/* Data-Out must be exactly the verify and write instances of the blocks:
 * anything else (including an iSCSI expected length that disagrees with
 * the CDB) would compare or write the wrong bytes. */
static bool caw_dataout_ok(const struct uscst_cmd *cmd, uint32_t blocks)
{
	uint64_t want = 2ull * blocks << cmd->dev->block_shift;
	if (!blocks)
		return cmd->exp_len == 0;
	return cmd->out_buf && cmd->out_buf_len == want && cmd->exp_len == want;
}

void sbc_compare_and_write(struct uscst_cmd *cmd)
{
	struct sbc_rw_fields f;
	sbc_decode_rw(cmd->cdb, &f);

	if (f.blocks > SBC_MAX_CAW_BLOCKS || !caw_dataout_ok(cmd, f.blocks)) {
		scsi_invalid_field_cdb(cmd, 13, -1);
		scsi_cmd_done(cmd);
		return;
	}
	if (!sbc_check_lba_range(cmd, f.lba, f.blocks) || !f.blocks) {
		scsi_cmd_done(cmd);
		return;
	}
	uint64_t len = (uint64_t)f.blocks << cmd->dev->block_shift;
	struct caw_ctx *ctx = malloc(sizeof(*ctx) + len);
	if (!ctx) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	ctx->cmd = cmd;
	ctx->lba = f.lba;
	ctx->blocks = f.blocks;
	ctx->fua = sbc_write_fua(cmd->dev, f.flags & 0x08);
	cmd->hctx = ctx;
	if (sbc_range_acquire_cmd(&ctx->range, cmd, f.lba, f.blocks, true, caw_resume))
		caw_read(cmd);
}
