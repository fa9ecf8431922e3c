/*
 * WRITE SAME (10/16).  With UNMAP set on a thin device the range becomes one
 * DISCARD, whatever the block holds; otherwise zeros become one WRITE ZEROES
 * and any other pattern is replicated into a buffer of at most
 * WS_CHUNK_BYTES written again and again until the range is covered.
 *
 * The range is held shared (sbc_range.c) for the whole command, so it
 * never lands inside a COMPARE AND WRITE.  Without a usable write cache
 * (write_through, WCE=0) GOOD means durable: pattern writes go with FUA,
 * and a DISCARD or WRITE ZEROES (fallocate, which FUA does not cover) is
 * followed by one FLUSH before the command completes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/sbc.h"
#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"

#define WS_CHUNK_BYTES (1u << 20)

/* CDB byte 1 (the usage masks in opcodes.c refuse the others). */
#define WS_UNMAP 0x08
#define WS_NDOB 0x01 /* WRITE SAME(16) only */

enum ws_mode {
	WS_DISCARD, /* unmap; reads return zeros afterwards (LBPRZ) */
	WS_ZEROES,
	WS_PATTERN,
};

struct ws_ctx {
	struct uscst_cmd *cmd;
	struct lba_range_lock range;
	enum ws_mode mode;
	bool zeros; /* the block to write is all zeros (or NDOB) */
	uint64_t next_lba, end_lba;
	uint32_t chunk_blocks; /* blocks per WS_PATTERN write */
	bool fua;
	bool unsynced; /* a DISCARD / WRITE ZEROES completed that FUA did not cover */
	/* A backend may complete inside submit: the completion then only
	 * records it and the issuing loop carries on, keeping the stack flat. */
	bool in_submit, completed_inline;
	uint8_t *pattern; /* chunk_blocks copies of the block */
};

static void ws_finish(struct uscst_cmd *cmd)
{
	struct ws_ctx *ctx = cmd->hctx;
	sbc_range_release(&ctx->range);
	free(ctx->pattern);
	free(ctx);
	cmd->hctx = NULL;
	scsi_cmd_done(cmd);
}

/* chunk_blocks copies of `block`; false on ENOMEM. */
static bool ws_fill_pattern(struct ws_ctx *ctx, const uint8_t *block, uint32_t bs)
{
	uint64_t total = (uint64_t)ctx->chunk_blocks * bs;
	ctx->pattern = malloc(total);
	if (!ctx->pattern)
		return false;
	if (!block) {
		memset(ctx->pattern, 0, total);
		return true;
	}
	memcpy(ctx->pattern, block, bs);
	for (uint64_t done = bs; done < total;) {
		uint64_t n = done < total - done ? done : total - done;
		memcpy(ctx->pattern + done, ctx->pattern, n);
		done += n;
	}
	return true;
}

/* Handles the completed cmd->io.  true: carry on issuing; false: the
 * command has finished (with an error). */
static bool ws_io_result(struct uscst_cmd *cmd)
{
	struct ws_ctx *ctx = cmd->hctx;
	int64_t res = cmd->io.result;

	if (res == -EOPNOTSUPP && ctx->mode != WS_PATTERN) {
		/* The range could not be deallocated, so it is written instead,
		 * with the block the initiator sent (SBC-4 allows either): zeros
		 * go DISCARD -> WRITE ZEROES -> a zero buffer, any other
		 * pattern DISCARD -> the pattern. */
		if (ctx->mode == WS_DISCARD && ctx->zeros) {
			ctx->mode = WS_ZEROES;
			return true;
		}
		if (!ws_fill_pattern(ctx, ctx->zeros ? NULL : cmd->out_buf, cmd->dev->block_size)) {
			scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
			ws_finish(cmd);
			return false;
		}
		ctx->mode = WS_PATTERN;
		return true;
	}
	if (res < 0 || (ctx->mode == WS_PATTERN && (uint64_t)res < cmd->io.len)) {
		sbc_sense_io_error(cmd, true);
		ws_finish(cmd);
		return false;
	}
	if (ctx->mode != WS_PATTERN && ctx->fua)
		ctx->unsynced = true;
	ctx->next_lba += cmd->io.len >> cmd->dev->block_shift;
	return true;
}

static void ws_flushed(struct uscst_cmd *cmd)
{
	if (cmd->io.result < 0)
		sbc_sense_io_error(cmd, true);
	ws_finish(cmd);
}

static void ws_io_done(struct uscst_cmd *cmd);

/* Issues the next pieces until one completes asynchronously or the range
 * is covered. */
static void ws_issue(struct uscst_cmd *cmd)
{
	struct ws_ctx *ctx = cmd->hctx;
	uint8_t shift = cmd->dev->block_shift;
	static const enum uscst_io_op ops[] = {
	    [WS_DISCARD] = USCST_IO_DISCARD,
	    [WS_ZEROES] = USCST_IO_WRITE_ZEROES,
	    [WS_PATTERN] = USCST_IO_WRITE,
	};

	while (ctx->next_lba < ctx->end_lba) {
		uint64_t blocks = ctx->end_lba - ctx->next_lba;
		if (ctx->mode == WS_PATTERN && blocks > ctx->chunk_blocks)
			blocks = ctx->chunk_blocks;
		ctx->in_submit = true;
		ctx->completed_inline = false;
		bool pattern = ctx->mode == WS_PATTERN;
		scsi_submit_io(cmd, ops[ctx->mode], ctx->next_lba << shift, blocks << shift,
			       pattern ? ctx->pattern : NULL, pattern && ctx->fua, ws_io_done);
		/* Safe: an asynchronous completion runs later on this thread. */
		ctx->in_submit = false;
		if (!ctx->completed_inline)
			return;
		if (!ws_io_result(cmd))
			return;
	}
	if (ctx->unsynced) {
		ctx->unsynced = false;
		scsi_submit_io(cmd, USCST_IO_FLUSH, 0, 0, NULL, false, ws_flushed);
		return;
	}
	ws_finish(cmd);
}

/* The range was granted after a wait, on this command's own thread. */
static void ws_resume(struct lba_range_lock *l)
{
	struct ws_ctx *ctx = (struct ws_ctx *)((char *)l - offsetof(struct ws_ctx, range));
	/* Aborted, or it waited for a SANITIZE that failed (sbc_range.c). */
	if (ctx->cmd->aborted || sbc_sanitize_refuses_io(ctx->cmd, ctx->cmd->dev))
		ws_finish(ctx->cmd);
	else
		ws_issue(ctx->cmd);
}

static void ws_io_done(struct uscst_cmd *cmd)
{
	struct ws_ctx *ctx = cmd->hctx;
	if (ctx->in_submit) {
		ctx->completed_inline = true;
		return;
	}
	if (ws_io_result(cmd))
		ws_issue(cmd);
}

static bool all_zero(const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* UNMAP on a unit without logical block provisioning (LBPWS/LBPWS10 0):
 * the usage mask allows the bit, as thin units honour it.  false when
 * sense is set. */
static bool ws_unmap_ok(struct uscst_cmd *cmd, uint8_t flags)
{
	if (!(flags & WS_UNMAP) || cmd->dev->thin_provisioned)
		return true;
	scsi_invalid_field_cdb(cmd, 1, 3);
	return false;
}

/* Exactly one block of Data-Out, unless NDOB; the initiator's expected
 * length must agree too, or it sent something else than one block. */
static bool ws_dataout_ok(struct uscst_cmd *cmd, bool ndob)
{
	uint32_t bs = cmd->dev->block_size;
	if (ndob)
		return true;
	if (cmd->out_buf && cmd->out_buf_len == bs && cmd->exp_len == bs)
		return true;
	scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	return false;
}

/* Resolves the range; NUMBER OF LOGICAL BLOCKS 0 runs to the end of the
 * medium (WSNZ 0).  false when sense is set. */
static bool ws_range(struct uscst_cmd *cmd, const struct sbc_rw_fields *f, uint64_t *blocks)
{
	unsigned len_byte = sbc_length_field_byte(cmd->cdb[0]);
	if (!f->blocks && SBC_WSNZ) {
		scsi_invalid_field_cdb(cmd, len_byte, -1);
		return false;
	}
	uint64_t nblocks = sbc_nblocks(cmd->dev); /* once: see sbc_nblocks() */
	if (!sbc_check_lba_range_n(cmd, nblocks, f->lba, f->blocks))
		return false;
	*blocks = f->blocks ? f->blocks : nblocks - f->lba;
	if (*blocks > SBC_MAX_WRITE_SAME_BLOCKS) {
		scsi_invalid_field_cdb(cmd, len_byte, -1);
		return false;
	}
	return true;
}

void sbc_write_same(struct uscst_cmd *cmd)
{
	struct sbc_rw_fields f;
	uint64_t blocks;
	sbc_decode_rw(cmd->cdb, &f);
	bool ndob = cmd->cdb[0] == 0x93 && (f.flags & WS_NDOB);

	if (!ws_unmap_ok(cmd, f.flags) || !ws_dataout_ok(cmd, ndob) ||
	    !ws_range(cmd, &f, &blocks) || !blocks) {
		scsi_cmd_done(cmd);
		return;
	}
	struct ws_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	uint32_t bs = cmd->dev->block_size;
	ctx->zeros = ndob || all_zero(cmd->out_buf, bs);
	ctx->next_lba = f.lba;
	ctx->end_lba = f.lba + blocks;
	ctx->fua = sbc_write_fua(cmd->dev, false);
	ctx->chunk_blocks = WS_CHUNK_BYTES / bs;
	if (ctx->chunk_blocks > blocks)
		ctx->chunk_blocks = (uint32_t)blocks;
	/* UNMAP (ANCHOR 0) on a thin device: SBC-4 says the device server
	 * should deallocate each LBA, and that holds whatever the Data-Out
	 * block contains; the blocks then read back as zeros (LBPRZ), which
	 * is what initiators sending UNMAP with a non-zero block (libiscsi's
	 * WriteSame10.UnmapUntilEnd) expect.  Writing the pattern happens only
	 * when deallocation is not possible (ws_io_result). */
	if (f.flags & WS_UNMAP)
		ctx->mode = WS_DISCARD;
	else if (ctx->zeros)
		ctx->mode = WS_ZEROES;
	else
		ctx->mode = WS_PATTERN;
	if (ctx->mode == WS_PATTERN && !ws_fill_pattern(ctx, cmd->out_buf, bs)) {
		free(ctx);
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	ctx->cmd = cmd;
	cmd->hctx = ctx;
	if (sbc_range_acquire_cmd(&ctx->range, cmd, f.lba, blocks, false, ws_resume))
		ws_issue(cmd);
}
