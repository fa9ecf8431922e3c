/*
 * UNMAP: the parameter list is validated as a whole first (so an error
 * never leaves half of it done), then one DISCARD per non-empty descriptor,
 * issued one after another, each with its range held shared (sbc_range.c)
 * so that it never lands inside a COMPARE AND WRITE.  Without a usable
 * write cache (write_through, WCE=0) one FLUSH after the last makes them
 * durable before GOOD: a DISCARD is an fallocate, which FUA does not cover.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "scsi/sbc.h"
#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"

#define UNMAP_HEADER 8
#define UNMAP_DESC 16

struct unmap_ctx {
	struct uscst_cmd *cmd;
	struct lba_range_lock range; /* of the descriptor being processed */
	const uint8_t *desc;	     /* first descriptor in cmd->out_buf */
	unsigned count, next;
	bool zeroes;   /* the backend cannot discard: write zeros instead (LBPRZ) */
	bool fua;      /* durable before GOOD: FLUSH at the end */
	bool unsynced; /* a descriptor was processed since (fua) */
	bool in_submit, completed_inline; /* see sbc_write_same.c */
};

static uint64_t desc_lba(const uint8_t *d) { return get_be64(d); }

static uint32_t desc_blocks(const uint8_t *d) { return get_be32(d + 8); }

/* Number of block descriptors in a valid parameter list, or -1 with
 * sense set.  `len` is what may be read from cmd->out_buf. */
static int unmap_parse(struct uscst_cmd *cmd, uint32_t len)
{
	uint64_t nblocks = sbc_nblocks(cmd->dev); /* once for every descriptor */
	const uint8_t *p = cmd->out_buf;
	if (len < UNMAP_HEADER) {
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
		return -1;
	}
	uint32_t data_len = get_be16(p);     /* bytes after this field */
	uint32_t desc_len = get_be16(p + 2); /* bytes of descriptors */
	/* Lengths claiming more than was transferred cannot be trusted. */
	if (data_len + 2 > len || desc_len > len - UNMAP_HEADER) {
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
		return -1;
	}
	/* A trailing partial descriptor is ignored (SBC-4). */
	uint32_t count = desc_len / UNMAP_DESC;
	if (count > SBC_MAX_UNMAP_DESCRIPTORS) {
		scsi_invalid_field_param(cmd, 2, -1);
		return -1;
	}
	uint64_t total = 0;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *d = p + UNMAP_HEADER + i * UNMAP_DESC;
		if (!sbc_lba_in(nblocks, desc_lba(d), desc_blocks(d))) {
			scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
			return -1;
		}
		total += desc_blocks(d);
		if (total > SBC_MAX_UNMAP_LBA_COUNT) {
			scsi_invalid_field_param(cmd, UNMAP_HEADER + i * UNMAP_DESC + 8, -1);
			return -1;
		}
	}
	return (int)count;
}

static void unmap_finish(struct uscst_cmd *cmd)
{
	struct unmap_ctx *ctx = cmd->hctx;
	sbc_range_release(&ctx->range);
	free(ctx);
	cmd->hctx = NULL;
	scsi_cmd_done(cmd);
}

/* Handles the completed cmd->io; true: carry on, false: finished. */
static bool unmap_io_result(struct uscst_cmd *cmd)
{
	struct unmap_ctx *ctx = cmd->hctx;
	if (cmd->io.result == -EOPNOTSUPP && !ctx->zeroes) {
		ctx->zeroes = true; /* retry the same descriptor */
		return true;
	}
	if (cmd->io.result < 0) {
		sbc_sense_io_error(cmd, true);
		unmap_finish(cmd);
		return false;
	}
	sbc_range_release(&ctx->range);
	ctx->unsynced |= ctx->fua;
	ctx->next++;
	return true;
}

static void unmap_flushed(struct uscst_cmd *cmd)
{
	if (cmd->io.result < 0)
		sbc_sense_io_error(cmd, true);
	unmap_finish(cmd);
}

static void unmap_issue(struct uscst_cmd *cmd);

/* A descriptor's range was granted after a wait, on this command's thread. */
static void unmap_resume(struct lba_range_lock *l)
{
	struct unmap_ctx *ctx = (struct unmap_ctx *)((char *)l - offsetof(struct unmap_ctx, range));
	/* Aborted, or it waited for a SANITIZE that failed (sbc_range.c). */
	if (ctx->cmd->aborted || sbc_sanitize_refuses_io(ctx->cmd, ctx->cmd->dev))
		unmap_finish(ctx->cmd);
	else
		unmap_issue(ctx->cmd);
}

static void unmap_io_done(struct uscst_cmd *cmd);

static void unmap_issue(struct uscst_cmd *cmd)
{
	struct unmap_ctx *ctx = cmd->hctx;
	uint8_t shift = cmd->dev->block_shift;

	while (ctx->next < ctx->count) {
		const uint8_t *d = ctx->desc + ctx->next * UNMAP_DESC;
		if (!desc_blocks(d)) {
			ctx->next++;
			continue;
		}
		if (!sbc_range_held(&ctx->range) &&
		    !sbc_range_acquire_cmd(&ctx->range, cmd, desc_lba(d), desc_blocks(d), false,
					   unmap_resume))
			return; /* unmap_resume() carries on */
		ctx->in_submit = true;
		ctx->completed_inline = false;
		scsi_submit_io(cmd, ctx->zeroes ? USCST_IO_WRITE_ZEROES : USCST_IO_DISCARD,
			       desc_lba(d) << shift, (uint64_t)desc_blocks(d) << shift, NULL, false,
			       unmap_io_done);
		/* Safe: an asynchronous completion runs later on this thread. */
		ctx->in_submit = false;
		if (!ctx->completed_inline || !unmap_io_result(cmd))
			return;
	}
	if (ctx->unsynced) {
		ctx->unsynced = false;
		scsi_submit_io(cmd, USCST_IO_FLUSH, 0, 0, NULL, false, unmap_flushed);
		return;
	}
	unmap_finish(cmd);
}

static void unmap_io_done(struct uscst_cmd *cmd)
{
	struct unmap_ctx *ctx = cmd->hctx;
	if (ctx->in_submit) {
		ctx->completed_inline = true;
		return;
	}
	if (unmap_io_result(cmd))
		unmap_issue(cmd);
}

void sbc_unmap(struct uscst_cmd *cmd)
{
	/* Without logical block provisioning (LBPU 0) UNMAP is not supported. */
	if (!cmd->dev->thin_provisioned) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return;
	}
	uint32_t param_len = get_be16(cmd->cdb + 7);
	if (param_len == 0) {
		scsi_cmd_done(cmd);
		return;
	}
	uint32_t len = cmd->out_buf ? cmd->out_buf_len : 0;
	if (len > param_len)
		len = param_len;
	int count = unmap_parse(cmd, len);
	if (count <= 0) {
		scsi_cmd_done(cmd);
		return;
	}
	struct unmap_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	ctx->cmd = cmd;
	ctx->desc = cmd->out_buf + UNMAP_HEADER;
	ctx->count = (unsigned)count;
	ctx->fua = sbc_write_fua(cmd->dev, false);
	cmd->hctx = ctx;
	unmap_issue(cmd);
}
