/*
 * COMPARE AND WRITE, and the per-device LBA range locks that make it (and
 * ORWRITE) atomic against each other.
 *
 * A range lock is never waited for: commands of one device run on several
 * reactor threads and a completion must run on its own thread, so a
 * conflicting command ends with BUSY and the initiator retries it.
 */
#include <stdlib.h>
#include <string.h>

#include "scsi/sbc.h"
#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"

/* Read-modify-write commands in flight across all devices. */
#define RANGE_LOCKS_MAX 256

struct range_lock {
	const struct uscst_device *dev; /* NULL: free slot */
	uint64_t lba, blocks;
};

static struct range_lock range_locks[RANGE_LOCKS_MAX];
static pthread_mutex_t range_locks_mutex = PTHREAD_MUTEX_INITIALIZER;

static bool ranges_overlap(const struct range_lock *l, uint64_t lba, uint64_t blocks)
{
	return lba < l->lba + l->blocks && l->lba < lba + blocks;
}

/* Takes [lba, lba+blocks) of dev; false if it overlaps a range already held
 * (or the table is full). */
bool sbc_range_lock(const struct uscst_device *dev, uint64_t lba, uint64_t blocks)
{
	struct range_lock *free_slot = NULL;
	bool ok = true;
	pthread_mutex_lock(&range_locks_mutex);
	for (unsigned i = 0; i < RANGE_LOCKS_MAX; i++) {
		struct range_lock *l = &range_locks[i];
		if (!l->dev) {
			if (!free_slot)
				free_slot = l;
		} else if (l->dev == dev && ranges_overlap(l, lba, blocks)) {
			ok = false;
			break;
		}
	}
	if (ok && free_slot)
		*free_slot = (struct range_lock){dev, lba, blocks};
	pthread_mutex_unlock(&range_locks_mutex);
	return ok && free_slot;
}

void sbc_range_unlock(const struct uscst_device *dev, uint64_t lba, uint64_t blocks)
{
	pthread_mutex_lock(&range_locks_mutex);
	for (unsigned i = 0; i < RANGE_LOCKS_MAX; i++) {
		struct range_lock *l = &range_locks[i];
		if (l->dev == dev && l->lba == lba && l->blocks == blocks) {
			l->dev = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&range_locks_mutex);
}

/* --- COMPARE AND WRITE --- */

/* State between the read and the write. */
struct caw_ctx {
	uint64_t lba;
	uint32_t blocks;
	bool fua;
	uint8_t medium[]; /* blocks * block_size */
};

static void caw_finish(struct uscst_cmd *cmd)
{
	struct caw_ctx *ctx = cmd->hctx;
	sbc_range_unlock(cmd->dev, ctx->lba, ctx->blocks);
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

	if (f.flags & 0xe0) { /* WRPROTECT: no protection information */
		scsi_invalid_field_cdb(cmd, 1, 7);
		scsi_cmd_done(cmd);
		return;
	}
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
	if (!sbc_range_lock(cmd->dev, f.lba, f.blocks)) {
		free(ctx);
		cmd->status = SAM_STAT_BUSY;
		scsi_cmd_done(cmd);
		return;
	}
	ctx->lba = f.lba;
	ctx->blocks = f.blocks;
	ctx->fua = sbc_write_fua(cmd->dev, f.flags & 0x08);
	cmd->hctx = ctx;
	scsi_submit_io(cmd, USCST_IO_READ, f.lba << cmd->dev->block_shift, len, ctx->medium, false,
		       caw_read_done);
}
