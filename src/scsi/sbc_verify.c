/*
 * VERIFY (10/12/16) and WRITE AND VERIFY (10/12/16).  Comparison is byte by
 * byte against what the backend returns; a miscompare reports the offset of
 * the first differing byte in the INFORMATION field.
 */
#include <stdlib.h>
#include <string.h>

#include "scsi/sbc.h"
#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"

/* BYTCHK (CDB byte 1 bits 2..1). */
enum bytchk {
	BYTCHK_NONE = 0,   /* check the medium only */
	BYTCHK_BLOCKS = 1, /* Data-Out holds every block */
	BYTCHK_RESERVED = 2,
	BYTCHK_ONE_BLOCK = 3, /* VERIFY: one block compared with each block */
};

/* Field checks shared by both commands; false when sense is set. */
static bool verify_checks(struct uscst_cmd *cmd, const struct sbc_rw_fields *f, bool write)
{
	unsigned bytchk = (f->flags >> 1) & 3;
	if (bytchk == BYTCHK_RESERVED || (write && bytchk == BYTCHK_ONE_BLOCK)) {
		scsi_invalid_field_cdb(cmd, 1, 2);
		return false;
	}
	if (!sbc_check_lba_range(cmd, f->lba, f->blocks))
		return false;
	/* Without BYTCHK nothing is transferred, so no transfer limit applies. */
	return bytchk == BYTCHK_NONE || sbc_check_transfer_len(cmd, f->blocks);
}

/* Offset of the first byte of medium (len bytes) that differs from the
 * Data-Out: the whole range, or one block repeated. */
static uint64_t compare_medium(const struct uscst_cmd *cmd, const uint8_t *medium, uint64_t len,
			       bool one_block)
{
	if (!one_block)
		return sbc_first_mismatch(medium, cmd->out_buf, len);
	uint32_t bs = cmd->dev->block_size;
	for (uint64_t off = 0; off < len; off += bs) {
		uint64_t m = sbc_first_mismatch(medium + off, cmd->out_buf, bs);
		if (m < bs)
			return off + m;
	}
	return len;
}

/* Completion of the read of the medium: in_buf is the buffer (the
 * command has no Data-In: in_len stays 0), hstate[0] says whether
 * Data-Out is one block for all. */
static void compare_read_done(struct uscst_cmd *cmd)
{
	sbc_write_gate_exit(cmd);
	uint8_t *medium = cmd->in_buf;
	uint64_t len = cmd->io.len;
	int64_t res = cmd->io.result;

	if (res < 0) {
		sbc_sense_io_error(cmd, false);
	} else {
		if ((uint64_t)res < len)
			memset(medium + res, 0, len - (uint64_t)res);
		uint64_t m = compare_medium(cmd, medium, len, cmd->hstate[0]);
		if (m < len)
			scsi_check_condition_info(cmd, SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY,
						  m);
	}
	scsi_cmd_done(cmd);
}

/* With the gate passed: no WRITE ATOMIC or COMPARE AND WRITE is half done
 * in the range (hstate[1], hstate[2]: its LBA and length). */
static void compare_read_submit(struct uscst_cmd *cmd)
{
	uint8_t shift = cmd->dev->block_shift;
	scsi_submit_io(cmd, USCST_IO_READ, cmd->hstate[1] << shift, cmd->hstate[2] << shift,
		       cmd->in_buf, false, compare_read_done);
}

/* Reads `blocks` from lba, holding the range shared as READ does, and
 * compares them with the Data-Out.  The medium is read into in_buf, which
 * the command owns until it is released (so an abort while it waits for
 * the range leaks nothing); in_len stays 0, nothing goes back as Data-In. */
static void read_and_compare(struct uscst_cmd *cmd, uint64_t lba, uint32_t blocks, bool one_block)
{
	uint64_t len = (uint64_t)blocks << cmd->dev->block_shift;
	if (!scsi_alloc_in_raw(cmd, (uint32_t)len)) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	cmd->in_len = 0;
	cmd->hstate[0] = one_block;
	cmd->hstate[1] = lba;
	cmd->hstate[2] = blocks;
	if (sbc_write_gate_enter(cmd, lba, blocks, compare_read_submit))
		compare_read_submit(cmd);
}

void sbc_verify(struct uscst_cmd *cmd)
{
	struct sbc_rw_fields f;
	sbc_decode_rw(cmd->cdb, &f);
	if (!verify_checks(cmd, &f, false)) {
		scsi_cmd_done(cmd);
		return;
	}
	unsigned bytchk = (f.flags >> 1) & 3;
	/* BYTCHK 0: the medium is a file whose blocks are always readable;
	 * DPO is only a cache hint. */
	if (bytchk == BYTCHK_NONE || !f.blocks) {
		scsi_cmd_done(cmd);
		return;
	}
	uint32_t blocks = f.blocks;
	if (bytchk == BYTCHK_BLOCKS)
		/* Only what the initiator sent can be compared. */
		blocks = sbc_received_blocks(cmd, f.blocks);
	else if (cmd->out_buf_len < cmd->dev->block_size || !cmd->out_buf)
		blocks = 0;
	if (!blocks) {
		scsi_cmd_done(cmd);
		return;
	}
	read_and_compare(cmd, f.lba, blocks, bytchk == BYTCHK_ONE_BLOCK);
}

/* The write is durable (FUA) so that the comparison, if any, is against
 * the medium rather than a volatile cache. */
static void write_verify_written(struct uscst_cmd *cmd)
{
	sbc_write_gate_exit(cmd);
	if (cmd->io.result < 0 || (uint64_t)cmd->io.result < cmd->io.len) {
		sbc_sense_io_error(cmd, true);
		scsi_cmd_done(cmd);
		return;
	}
	if (!cmd->hstate[1]) {
		scsi_cmd_done(cmd);
		return;
	}
	uint8_t shift = cmd->dev->block_shift;
	read_and_compare(cmd, cmd->io.offset >> shift, (uint32_t)(cmd->io.len >> shift), false);
}

/* With the write gate passed. */
static void write_verify_submit(struct uscst_cmd *cmd)
{
	struct sbc_rw_fields f;
	sbc_decode_rw(cmd->cdb, &f);
	uint32_t blocks = sbc_received_blocks(cmd, f.blocks);
	cmd->hstate[1] = ((f.flags >> 1) & 3) == BYTCHK_BLOCKS;
	scsi_submit_io(cmd, USCST_IO_WRITE, f.lba << cmd->dev->block_shift,
		       (uint64_t)blocks << cmd->dev->block_shift, cmd->out_buf,
		       sbc_write_fua(cmd->dev, true), write_verify_written);
}

void sbc_write_verify(struct uscst_cmd *cmd)
{
	struct sbc_rw_fields f;
	sbc_decode_rw(cmd->cdb, &f);
	if (!verify_checks(cmd, &f, true)) {
		scsi_cmd_done(cmd);
		return;
	}
	if (!sbc_check_transfer_len(cmd, f.blocks)) {
		scsi_cmd_done(cmd);
		return;
	}
	uint32_t blocks = sbc_received_blocks(cmd, f.blocks);
	if (!blocks) {
		scsi_cmd_done(cmd);
		return;
	}
	/* The range is held for the write only: the verify after it reads. */
	if (sbc_write_gate_enter(cmd, f.lba, blocks, write_verify_submit))
		write_verify_submit(cmd);
}
