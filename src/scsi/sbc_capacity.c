/* READ CAPACITY (10/16) and GET LBA STATUS. */
#include "scsi/sbc.h"
#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"

void sbc_read_capacity10(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	/* Without PMI the LOGICAL BLOCK ADDRESS field must be zero (SBC-3). */
	if (!(cmd->cdb[8] & 0x01) && get_be32(cmd->cdb + 2) != 0) {
		scsi_invalid_field_cdb(cmd, 2, -1);
		scsi_cmd_done(cmd);
		return;
	}
	uint8_t *p = scsi_alloc_in(cmd, 8);
	if (!p) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	uint64_t nblocks = sbc_nblocks(dev); /* once: see sbc_nblocks() */
	uint64_t last = nblocks ? nblocks - 1 : 0;
	/* 0xFFFFFFFF tells the initiator to use READ CAPACITY(16). */
	put_be32(p, last > 0xfffffffeull ? 0xffffffffu : (uint32_t)last);
	put_be32(p + 4, dev->block_size);
	scsi_cmd_done(cmd);
}

/* LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT: 0 unless lb_per_pb_exp is
 * set and the storage's physical block is a power of two above the
 * logical block (SBC-4: 2^exponent logical blocks per physical block). */
uint8_t sbc_lbppb_exponent(const struct uscst_device *dev)
{
	uint32_t pbs = dev->phys_block_size;
	if (!atomic_load_explicit(&dev->lb_per_pb_exp, memory_order_relaxed) ||
	    pbs <= dev->block_size || (pbs & (pbs - 1)) || pbs > SBC_MAX_PHYS_BLOCK_BYTES)
		return 0;
	return (uint8_t)(__builtin_ctz(pbs) - dev->block_shift);
}

void sbc_read_capacity16(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	uint32_t alloc_len = get_be32(cmd->cdb + 10);
	uint8_t *p = scsi_alloc_in(cmd, 32);
	if (!p) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	uint64_t nblocks = sbc_nblocks(dev);
	put_be64(p, nblocks ? nblocks - 1 : 0);
	put_be32(p + 8, dev->block_size);
	/* Byte 12: no protection information (P_TYPE 0, PROT_EN 0). */
	p[13] = sbc_lbppb_exponent(dev); /* P_I_EXPONENT 0 */
	if (dev->thin_provisioned)
		/* LBPME; LBPRZ because a deallocated block reads back as zeros. */
		p[14] = 0x80 | (SBC_LBPRZ ? 0x40 : 0);
	/* LOWEST ALIGNED LOGICAL BLOCK ADDRESS 0. */
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}

#define LBA_STATUS_HEADER 8
#define LBA_STATUS_DESC 16
/* Descriptors per GET LBA STATUS reply: enough for any sane initiator. */
#define LBA_STATUS_MAX_DESC 64

enum { PROVISIONING_MAPPED = 0, PROVISIONING_DEALLOCATED = 1 };

/* Provisioning of the run of blocks starting at lba (< nblocks, the size
 * the command read once): its length (at least one block, at most the rest
 * of the medium) and whether it is mapped. */
static int lba_run(struct uscst_device *dev, uint64_t nblocks, uint64_t lba, uint64_t *blocks,
		   bool *mapped)
{
	uint64_t rest = nblocks - lba;
	*mapped = true;
	*blocks = rest;
	if (!dev->thin_provisioned || !dev->backend->lba_status)
		return 0;
	uint64_t run_len = 0;
	int rc = dev->backend->lba_status(dev, lba << dev->block_shift, &run_len, mapped);
	if (rc < 0)
		return rc;
	uint64_t n = run_len >> dev->block_shift;
	if (n == 0)
		n = 1;
	*blocks = n < rest ? n : rest;
	return 0;
}

static void put_lba_status_desc(uint8_t *d, uint64_t lba, uint32_t blocks, bool mapped)
{
	put_be64(d, lba);
	put_be32(d + 8, blocks);
	d[12] = mapped ? PROVISIONING_MAPPED : PROVISIONING_DEALLOCATED;
}

void sbc_get_lba_status(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	uint64_t lba = get_be64(cmd->cdb + 2);
	uint32_t alloc_len = get_be32(cmd->cdb + 10);
	/* Read once: a resync_size shrink between two reads would let lba pass
	 * the first check and "nblocks - lba" wrap around in the second. */
	uint64_t nblocks = sbc_nblocks(dev);

	if (lba >= nblocks) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return;
	}
	unsigned max_desc =
	    alloc_len > LBA_STATUS_HEADER ? (alloc_len - LBA_STATUS_HEADER) / LBA_STATUS_DESC : 0;
	/* At least one descriptor is built even if it is clipped away. */
	if (max_desc == 0)
		max_desc = 1;
	if (max_desc > LBA_STATUS_MAX_DESC)
		max_desc = LBA_STATUS_MAX_DESC;
	uint8_t *p = scsi_alloc_in(cmd, LBA_STATUS_HEADER + max_desc * LBA_STATUS_DESC);
	if (!p) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	unsigned n = 0;
	while (n < max_desc && lba < nblocks) {
		uint64_t blocks;
		bool mapped;
		if (lba_run(dev, nblocks, lba, &blocks, &mapped) < 0) {
			cmd->in_len = 0;
			scsi_fail(cmd, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR);
			return;
		}
		if (blocks > UINT32_MAX)
			blocks = UINT32_MAX;
		put_lba_status_desc(p + LBA_STATUS_HEADER + n * LBA_STATUS_DESC, lba,
				    (uint32_t)blocks, mapped);
		lba += blocks;
		n++;
	}
	/* PARAMETER DATA LENGTH: the bytes after this field. */
	put_be32(p, 4 + n * LBA_STATUS_DESC);
	cmd->in_len = LBA_STATUS_HEADER + n * LBA_STATUS_DESC;
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}
