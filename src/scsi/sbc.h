/*
 * Helpers shared by the SBC handlers (sbc_*.c) and nothing else.  Kept out
 * of scsi.h so that the SPC and PR code does not see block-device internals.
 */
#ifndef USCST_SBC_H
#define USCST_SBC_H

#include <stdbool.h>
#include <stdint.h>

#include <uscst/reactor.h>

#include "scsi/scsi.h"

struct reactor;

/* --- sbc_rw.c --- */
/* Whether a write must be durable before completion: FUA asked for in the
 * CDB, or no usable volatile write cache. */
bool sbc_write_fua(struct uscst_device *dev, bool cdb_fua);
/* Sets LOGICAL BLOCK ADDRESS OUT OF RANGE and returns false unless
 * [lba, lba+blocks) lies on the medium. */
bool sbc_check_lba_range(struct uscst_cmd *cmd, uint64_t lba, uint64_t blocks);
/* The same against nblocks, the size the command read once (sbc_nblocks). */
bool sbc_check_lba_range_n(struct uscst_cmd *cmd, uint64_t nblocks, uint64_t lba, uint64_t blocks);
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

/* --- sbc_capacity.c --- */
/* READ CAPACITY(16)'s LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT. */
uint8_t sbc_lbppb_exponent(const struct uscst_device *dev);

/* --- sbc_range.c: LBA range locks ---
 *
 * COMPARE AND WRITE and ORWRITE read, then write: they hold their range
 * EXCLUSIVE from before the read until the write has completed; so does
 * WRITE ATOMIC around its write, and SANITIZE over the whole medium.
 * Every other command that changes the medium (WRITE, WRITE AND VERIFY,
 * WRITE SAME, UNMAP, the writes of EXTENDED COPY), and READ, holds the
 * range it writes or reads SHARED while its I/O is in flight: they do not
 * exclude each other, only an overlapping exclusive holder.  (The fast
 * path's counter, ranges.fast_writers, counts those reads too.)  A request that conflicts with a
 * held range, or with an older waiting one (first come, first served), is
 * queued, never refused, and resumed on its own reactor thread when it is
 * granted.
 *
 * Fast path: while no exclusive request is held or waiting on the device,
 * a shared request only counts itself in (an atomic increment, no mutex);
 * an exclusive request waits until those writes have completed. */
enum sbc_range_state {
	SBC_RANGE_IDLE = 0,
	SBC_RANGE_FAST, /* shared, counted in ranges.fast_writers only */
	SBC_RANGE_WAITING,
	SBC_RANGE_HELD,
};

/* Embedded in the owner's context; private to sbc_range.c except state. */
struct lba_range_lock {
	struct uscst_device *dev;
	uint64_t lba, end; /* [lba, end) */
	bool exclusive;
	uint8_t state;				  /* enum sbc_range_state */
	struct reactor *reactor;		  /* where resume() runs */
	void (*resume)(struct lba_range_lock *l); /* the request was granted */
	struct lba_range_lock *prev, *next;	  /* held or waiting list */
	struct lba_range_lock *granted_next;	  /* resumption list */
	struct uscst_cmd *cmd;	/* whose abort withdraws it while waiting; or NULL */
	struct reactor_msg msg; /* carries resume() to its reactor */
};

/* Takes [lba, lba+blocks) of dev (blocks > 0, inside the medium).  true:
 * held now.  false: queued; resume(l) runs later on the calling thread's
 * reactor (or, off any reactor as in unit tests, on the releasing thread)
 * once the range is held.  l must stay put until released. */
bool sbc_range_acquire(struct lba_range_lock *l, struct uscst_device *dev, uint64_t lba,
		       uint64_t blocks, bool exclusive, void (*resume)(struct lba_range_lock *l));
/* The same for a request on behalf of cmd (on cmd->dev) whose resume()
 * ends cmd when it is aborted: while it waits, an abort of cmd withdraws
 * it and runs resume(l) at once (sbc_range_cancel), instead of leaving the
 * abort to wait as long as what holds the range (a SANITIZE: hours). */
bool sbc_range_acquire_cmd(struct lba_range_lock *l, struct uscst_cmd *cmd, uint64_t lba,
			   uint64_t blocks, bool exclusive,
			   void (*resume)(struct lba_range_lock *l));
/* On cmd's thread, cmd aborted: withdraws its waiting request, if any, and
 * runs its resume() (which ends cmd); true if there was one. */
bool sbc_range_cancel(struct uscst_cmd *cmd);
/* The command set's abort_running (cmdset_sbc.c): a command waiting for a
 * range ends now; an aborted SANITIZE ends (sbc_sanitize_abort_running). */
void sbc_abort_running(struct uscst_cmd *cmd);
/* Gives the range back (or withdraws a waiting request); no-op when idle.
 * Waiters it unblocks are resumed on their own reactors. */
void sbc_range_release(struct lba_range_lock *l);
static inline bool sbc_range_held(const struct lba_range_lock *l)
{
	return l->state == SBC_RANGE_HELD || l->state == SBC_RANGE_FAST;
}

/* The same for handlers with a single write or read and no context of
 * their own (WRITE, WRITE AND VERIFY, READ): the state lives in cmd->hstate[3], which such
 * a handler must leave alone.  true: go on and write now.  false: the
 * command waits and resume(cmd) runs once the range is held (an aborted
 * command is completed instead), or it has already been completed (out of
 * memory).  sbc_write_gate_exit() after the write, in both cases. */
bool sbc_write_gate_enter(struct uscst_cmd *cmd, uint64_t lba, uint64_t blocks,
			  void (*resume)(struct uscst_cmd *cmd));
void sbc_write_gate_exit(struct uscst_cmd *cmd);

#endif
