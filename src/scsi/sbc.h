/*
 * Helpers shared by the SBC handlers (sbc_*.c) and nothing else.  Kept out
 * of scsi.h so that the SPC and PR code does not see block-device internals.
 */
#ifndef USCST_SBC_H
#define USCST_SBC_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/scsi.h"

/* --- sbc_rw.c --- */
/* Whether a write must be durable before completion: FUA asked for in the
 * CDB, or no usable volatile write cache. */
bool sbc_write_fua(struct uscst_device *dev, bool cdb_fua);
/* Sets LOGICAL BLOCK ADDRESS OUT OF RANGE and returns false unless
 * [lba, lba+blocks) lies on the medium. */
bool sbc_check_lba_range(struct uscst_cmd *cmd, uint64_t lba, uint64_t blocks);
/* INVALID FIELD IN CDB (TRANSFER LENGTH) above SBC_MAX_TRANSFER_BYTES. */
bool sbc_check_transfer_len(struct uscst_cmd *cmd, uint32_t blocks);
/* Sense for a failed cmd->io (read or write). */
void sbc_sense_io_error(struct uscst_cmd *cmd, bool write);
/* Offset of the first byte where a and b differ; len if they are equal. */
uint64_t sbc_first_mismatch(const uint8_t *a, const uint8_t *b, uint64_t len);
/* Whole blocks of Data-Out actually received, at most `blocks`. */
uint32_t sbc_received_blocks(const struct uscst_cmd *cmd, uint32_t blocks);
/* CDB byte where TRANSFER LENGTH / NUMBER OF BLOCKS starts, for the
 * sense-key specific field pointer. */
unsigned sbc_length_field_byte(uint8_t opcode);

/* --- sbc_caw.c: LBA range locks for read-modify-write commands --- */
/* Takes [lba, lba+blocks) of dev; false if it overlaps a held range or no
 * slot is free (the caller then ends the command with BUSY). */
bool sbc_range_lock(const struct uscst_device *dev, uint64_t lba, uint64_t blocks);
void sbc_range_unlock(const struct uscst_device *dev, uint64_t lba, uint64_t blocks);

#endif
