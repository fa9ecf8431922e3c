/*
 * READ and WRITE (6/10/12/16), and the small helpers every SBC handler
 * shares: write-cache policy, range checks, I/O error to sense mapping.
 */
#include <errno.h>
#include <string.h>

#include <uscst/iov.h>

#include "scsi/sbc.h"
#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"

/* FUA when the initiator asked for it or the write cache is disabled; a
 * non-volatile cache makes every write durable already. */
bool sbc_write_fua(struct uscst_device *dev, bool cdb_fua)
{
	if (dev->nv_cache)
		return false;
	bool wce = atomic_load_explicit(&dev->wce, memory_order_relaxed);
	return cdb_fua || !wce || atomic_load_explicit(&dev->write_through, memory_order_relaxed);
}

/* LOGICAL BLOCK ADDRESS OUT OF RANGE unless [lba, lba+blocks) is on the
 * medium.  A removable medium taken out after the command passed its
 * medium check leaves 0 blocks behind: that command is told the truth,
 * NOT READY, MEDIUM NOT PRESENT, not that its LBA was wrong. */
bool sbc_check_lba_range_n(struct uscst_cmd *cmd, uint64_t nblocks, uint64_t lba, uint64_t blocks)
{
	if (sbc_lba_in(nblocks, lba, blocks))
		return true;
	/* A removable unit with 0 blocks had no medium when the command read
	 * its size, even if the next one is in by now (a swap in between). */
	if ((nblocks == 0 && cmd->dev->removable) ||
	    !atomic_load_explicit(&cmd->dev->medium_present, memory_order_acquire))
		scsi_check_condition(cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	else
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	return false;
}

bool sbc_check_lba_range(struct uscst_cmd *cmd, uint64_t lba, uint64_t blocks)
{
	return sbc_check_lba_range_n(cmd, sbc_nblocks(cmd->dev), lba, blocks);
}

/* INVALID FIELD IN CDB (pointing at TRANSFER LENGTH) for a transfer above
 * the Block Limits VPD's MAXIMUM TRANSFER LENGTH. */
bool sbc_check_transfer_len(struct uscst_cmd *cmd, uint32_t blocks)
{
	if ((uint64_t)blocks << cmd->dev->block_shift <= SBC_MAX_TRANSFER_BYTES)
		return true;
	scsi_invalid_field_cdb(cmd, sbc_length_field_byte(cmd->cdb[0]), -1);
	return false;
}

/* Sense for a failed cmd->io: a full thin-provisioned store is a space
 * allocation failure, a medium removed while the command ran (a vcdrom
 * image changed) is not present, anything else a medium error, with the
 * LBA of the first failed block in the INFORMATION field when the backend
 * said which (io.error_offset inside the request). */
void sbc_sense_io_error(struct uscst_cmd *cmd, bool write)
{
	const struct uscst_io *io = &cmd->io;
	if (io->result == -ENOMEDIUM) {
		scsi_check_condition(cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
		return;
	}
	if (write && io->result == -ENOSPC && cmd->dev->thin_provisioned) {
		scsi_check_condition(cmd, SK_DATA_PROTECT, ASC_SPACE_ALLOC_FAILED_WRITE_PROTECT);
		return;
	}
	bool known = io->result == -EIO && io->error_offset >= io->offset &&
		     io->error_offset - io->offset < io->len;
	if (known && write)
		scsi_check_condition_info(cmd, SK_MEDIUM_ERROR, ASC_WRITE_ERROR,
					  io->error_offset >> cmd->dev->block_shift);
	else if (known)
		scsi_check_condition_info(cmd, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR,
					  io->error_offset >> cmd->dev->block_shift);
	else if (write)
		scsi_check_condition(cmd, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	else
		scsi_check_condition(cmd, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR);
}

/* Offset of the first byte where a and b differ, len if they are equal. */
uint64_t sbc_first_mismatch(const uint8_t *a, const uint8_t *b, uint64_t len)
{
	uint64_t off = 0;
	/* memcmp finds equal stretches fast; only the differing 4 KiB is scanned. */
	while (off < len) {
		uint64_t n = len - off < 4096 ? len - off : 4096;
		if (memcmp(a + off, b + off, n) != 0)
			break;
		off += n;
	}
	while (off < len && a[off] == b[off])
		off++;
	return off;
}

/* Whole blocks of Data-Out the initiator actually sent, at most `blocks`:
 * with an iSCSI residual overflow only those are written. */
uint32_t sbc_received_blocks(const struct uscst_cmd *cmd, uint32_t blocks)
{
	uint32_t got = cmd->out_buf ? cmd->out_buf_len >> cmd->dev->block_shift : 0;
	return got < blocks ? got : blocks;
}

/* Where the TRANSFER LENGTH / NUMBER OF BLOCKS field starts, by CDB size
 * (the opcode's group code), for the sense-key specific field pointer. */
unsigned sbc_length_field_byte(uint8_t opcode)
{
	switch (opcode >> 5) {
	case 0:
		return 4; /* 6-byte CDB */
	case 1:
	case 2:
		return 7; /* 10-byte CDB */
	case 5:
		return 6; /* 12-byte CDB */
	default:
		return 10; /* 16-byte CDB */
	}
}

/* --- READ / WRITE --- */

/* Checks common to READ and WRITE; false when the command already failed
 * (sense set). */
static bool rw_checks(struct uscst_cmd *cmd, const struct sbc_rw_fields *f)
{
	return sbc_check_lba_range(cmd, f->lba, f->blocks) &&
	       sbc_check_transfer_len(cmd, f->blocks);
}

static void read_done(struct uscst_cmd *cmd)
{
	sbc_write_gate_exit(cmd);
	int64_t res = cmd->io.result;
	if (res < 0) {
		cmd->in_len = 0;
		sbc_sense_io_error(cmd, false);
	} else {
		if ((uint64_t)res < cmd->io.len)
			/* Storage shorter than the device: never send stale bytes. */
			uscst_iov_memset(cmd->io.iov, cmd->io.iovcnt, (uint64_t)res, 0,
					 cmd->io.len - (uint64_t)res);
		/* Only the initiator's part was read: the transport reports
		 * the rest of the CDB's length as overflow. */
		struct sbc_rw_fields f;
		sbc_decode_rw(cmd->cdb, &f);
		uint32_t asked = f.blocks << cmd->dev->block_shift;
		if (asked > cmd->in_len)
			cmd->in_asked = asked;
	}
	scsi_cmd_done(cmd);
}

/* With the gate passed: no WRITE ATOMIC or COMPARE AND WRITE is half
 * done in the range. */
static void read_submit(struct uscst_cmd *cmd)
{
	struct sbc_rw_fields f;
	sbc_decode_rw(cmd->cdb, &f);
	/* DPO is a cache hint and FUA on a read is met by reading through the
	 * backend, which always sees the latest written data. */
	scsi_submit_io(cmd, USCST_IO_READ, f.lba << cmd->dev->block_shift, cmd->in_len, cmd->in_buf,
		       false, read_done);
}

void sbc_read(struct uscst_cmd *cmd)
{
	struct sbc_rw_fields f;
	sbc_decode_rw(cmd->cdb, &f);
	if (!rw_checks(cmd, &f)) {
		scsi_cmd_done(cmd);
		return;
	}
	if (!f.blocks) {
		scsi_cmd_done(cmd);
		return;
	}
	uint32_t len = f.blocks << cmd->dev->block_shift;
	/* Only what the initiator will take (its Expected Data Transfer
	 * Length, in whole blocks) is read: a 32 MiB READ announced as 512
	 * bytes must not make us allocate 32 MiB. */
	if (cmd->exp_read && cmd->exp_len < len) {
		uint32_t bs = cmd->dev->block_size;
		len = (uint32_t)(((uint64_t)cmd->exp_len + bs - 1) / bs * bs);
	}
	uint8_t *buf = scsi_alloc_in_raw(cmd, len);
	if (!buf) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	if (!len) {
		cmd->hstate[3] = 0; /* no gate entered: read_done() leaves it */
		read_done(cmd);	    /* nothing wanted: io.result is 0 */
		return;
	}
	/* The range is held shared while it is read, as writes hold theirs:
	 * an exclusive holder (WRITE ATOMIC, COMPARE AND WRITE) is never
	 * seen half done. */
	if (sbc_write_gate_enter(cmd, f.lba, len >> cmd->dev->block_shift, read_submit))
		read_submit(cmd);
}

static void write_done(struct uscst_cmd *cmd)
{
	sbc_write_gate_exit(cmd);
	if (cmd->io.result < 0 || (uint64_t)cmd->io.result < cmd->io.len)
		sbc_sense_io_error(cmd, true);
	scsi_cmd_done(cmd);
}

/* With the write gate passed: the range holds no COMPARE AND WRITE. */
static void write_submit(struct uscst_cmd *cmd)
{
	struct sbc_rw_fields f;
	sbc_decode_rw(cmd->cdb, &f);
	uint32_t blocks = sbc_received_blocks(cmd, f.blocks);
	bool fua = sbc_write_fua(cmd->dev, f.flags & 0x08);
	scsi_submit_io(cmd, USCST_IO_WRITE, f.lba << cmd->dev->block_shift,
		       (uint64_t)blocks << cmd->dev->block_shift, cmd->out_buf, fua, write_done);
}

void sbc_write(struct uscst_cmd *cmd)
{
	struct sbc_rw_fields f;
	sbc_decode_rw(cmd->cdb, &f);
	if (!rw_checks(cmd, &f)) {
		scsi_cmd_done(cmd);
		return;
	}
	uint32_t blocks = sbc_received_blocks(cmd, f.blocks);
	if (!blocks) {
		scsi_cmd_done(cmd);
		return;
	}
	if (sbc_write_gate_enter(cmd, f.lba, blocks, write_submit))
		write_submit(cmd);
}
