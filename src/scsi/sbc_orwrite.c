/*
 * ORWRITE(16): the blocks become (medium OR Data-Out).  Read, OR, write,
 * with the range held exclusive (sbc_range.c) as COMPARE AND WRITE does, so
 * that neither those nor any write can land between the read and the write.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/sbc.h"
#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"

struct orwrite_ctx {
	struct uscst_cmd *cmd;
	struct lba_range_lock range;
	uint64_t lba;
	uint32_t blocks;
	bool fua;
	uint8_t data[]; /* blocks * block_size: medium, then the result */
};

static void orwrite_finish(struct uscst_cmd *cmd)
{
	struct orwrite_ctx *ctx = cmd->hctx;
	sbc_range_release(&ctx->range);
	free(ctx);
	cmd->hctx = NULL;
	scsi_cmd_done(cmd);
}

static void orwrite_written(struct uscst_cmd *cmd)
{
	if (cmd->io.result < 0 || (uint64_t)cmd->io.result < cmd->io.len)
		sbc_sense_io_error(cmd, true);
	orwrite_finish(cmd);
}

static void or_into(uint8_t *dst, const uint8_t *src, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		dst[i] |= src[i];
}

static void orwrite_read_done(struct uscst_cmd *cmd)
{
	struct orwrite_ctx *ctx = cmd->hctx;
	uint64_t len = cmd->io.len;
	int64_t res = cmd->io.result;

	if (res < 0) {
		sbc_sense_io_error(cmd, false);
		orwrite_finish(cmd);
		return;
	}
	if ((uint64_t)res < len)
		memset(ctx->data + res, 0, len - (uint64_t)res);
	or_into(ctx->data, cmd->out_buf, len);
	scsi_submit_io(cmd, USCST_IO_WRITE, ctx->lba << cmd->dev->block_shift, len, ctx->data,
		       ctx->fua, orwrite_written);
}

/* With the range held. */
static void orwrite_read(struct uscst_cmd *cmd)
{
	struct orwrite_ctx *ctx = cmd->hctx;
	scsi_submit_io(cmd, USCST_IO_READ, ctx->lba << cmd->dev->block_shift,
		       (uint64_t)ctx->blocks << cmd->dev->block_shift, ctx->data, false,
		       orwrite_read_done);
}

static void orwrite_resume(struct lba_range_lock *l)
{
	struct orwrite_ctx *ctx =
	    (struct orwrite_ctx *)((char *)l - offsetof(struct orwrite_ctx, range));
	/* Aborted, or it waited for a SANITIZE that failed (sbc_range.c). */
	if (ctx->cmd->aborted || sbc_sanitize_refuses_io(ctx->cmd, ctx->cmd->dev))
		orwrite_finish(ctx->cmd);
	else
		orwrite_read(ctx->cmd);
}

void sbc_orwrite(struct uscst_cmd *cmd)
{
	struct sbc_rw_fields f;
	sbc_decode_rw(cmd->cdb, &f);

	if (!sbc_check_lba_range(cmd, f.lba, f.blocks)) {
		scsi_cmd_done(cmd);
		return;
	}
	if (!sbc_check_transfer_len(cmd, f.blocks)) {
		scsi_cmd_done(cmd);
		return;
	}
	/* As for WRITE, only whole blocks the initiator sent are processed. */
	uint32_t blocks = sbc_received_blocks(cmd, f.blocks);
	if (!blocks) {
		scsi_cmd_done(cmd);
		return;
	}
	uint64_t len = (uint64_t)blocks << cmd->dev->block_shift;
	struct orwrite_ctx *ctx = malloc(sizeof(*ctx) + len);
	if (!ctx) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	ctx->cmd = cmd;
	ctx->lba = f.lba;
	ctx->blocks = blocks;
	ctx->fua = sbc_write_fua(cmd->dev, f.flags & 0x08);
	cmd->hctx = ctx;
	if (sbc_range_acquire_cmd(&ctx->range, cmd, f.lba, blocks, true, orwrite_resume))
		orwrite_read(cmd);
}
