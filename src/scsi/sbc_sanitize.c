/*
 * SANITIZE (SBC-4 5.30, sanitize operations 4.11).
 *
 * Service actions:
 *   OVERWRITE (01h): the initialization pattern of the parameter list,
 *     repeated to fill each logical block, is written over every block of
 *     the medium OVERWRITE COUNT times, inverted between passes when
 *     INVERT is set.  Each pass ends with a FLUSH: several passes that
 *     only met in the page cache would overwrite the medium once.
 *   BLOCK ERASE (02h): every block is deallocated (DISCARD, a punched
 *     hole), then a FLUSH.  Supported only where that really happens: a
 *     thin-provisioned device (LBPME 1) whose backend can deallocate.
 *     Reads then return zeros (LBPRZ), with GOOD: WABEREQ 01b in the Block
 *     Device Characteristics VPD page.
 *   CRYPTOGRAPHIC ERASE (03h): not supported.  SBC-4 defines it as
 *     changing the key with which the user data is encrypted on the
 *     medium.  No backend here encrypts what it stores: there is no key
 *     whose loss makes the data unrecoverable, and erasing the blocks some
 *     other way and calling it cryptographic would claim what did not
 *     happen.  It is refused as an unsupported service action (INVALID
 *     FIELD IN CDB), is absent from REPORT SUPPORTED OPERATION CODES, and
 *     WACEREQ is 00b.
 *   EXIT FAILURE MODE (1Fh): leaves the failure state of a sanitize that
 *     failed with AUSE set; GOOD, doing nothing, when there is none.
 *
 * The sanitize operation belongs to the logical unit, not to the command:
 * it holds the whole medium EXCLUSIVE (sbc_range.c), so writes and reads
 * in flight when it starts end first, and it runs on, through its
 * backend's asynchronous I/O on the reactor of the command that started
 * it, until it has covered the medium.  With IMMED the command ends with
 * GOOD once the operation has started; otherwise when it ends.  Task
 * management, resets and the loss of the I_T nexus end the command (its
 * status thrown away, abort_running), never the operation: SBC-4 has it
 * continue.  It keeps a reference on the device, which is therefore not
 * freed under it.
 *
 * While it runs every command but INQUIRY, REPORT LUNS, REQUEST SENSE and
 * LOG SENSE ends with NOT READY, LOGICAL UNIT NOT READY, SANITIZE IN
 * PROGRESS and the progress indication (SBC-4 4.11.2), checked by dispatch
 * before the unit attention: the LU cannot run the command, and a pending
 * unit attention stays pending until it can.  REQUEST SENSE returns that
 * sense with the progress.  A write that passed dispatch just before the
 * operation started and asks for its range only after waits until the
 * operation has ended, then runs: as if sent after it.
 *
 * A sanitize operation that fails (a backend error) ends an attached
 * command with MEDIUM ERROR, SANITIZE COMMAND FAILED and leaves the LU in
 * failure mode: commands that read or write the medium end with the same
 * sense until a SANITIZE completes without error or, if the failed one had
 * AUSE set, an EXIT FAILURE MODE.  With AUSE clear EXIT FAILURE MODE is
 * refused (INVALID FIELD IN CDB, pointing at the service action).
 *
 * Write protection (DATA PROTECT) and reservations (RESERVATION CONFLICT:
 * SANITIZE is in the write class) are the dispatcher's, through the opcode
 * flags and pr_conflict.c.  The state is not kept across a restart of the
 * daemon: an interrupted operation is not resumed (the medium is then
 * partly sanitized, and says nothing of it).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/sbc.h"
#include "scsi/scsi.h"

#define SA_OVERWRITE 0x01
#define SA_BLOCK_ERASE 0x02
#define SA_CRYPTO_ERASE 0x03
#define SA_EXIT_FAILURE_MODE 0x1f

#define CDB_IMMED 0x80
#define CDB_AUSE 0x20

#define ASC_SANITIZE_IN_PROGRESS 0x04, 0x1b
#define ASC_SANITIZE_COMMAND_FAILED 0x31, 0x03

/* dev->sanitize_state */
enum {
	SANITIZE_IDLE = 0,
	SANITIZE_RUNNING,
	SANITIZE_FAILED,      /* AUSE was 0: only a good SANITIZE leaves it */
	SANITIZE_FAILED_AUSE, /* AUSE was 1: EXIT FAILURE MODE leaves it too */
};

/* Bytes of pattern per OVERWRITE write; blocks per BLOCK ERASE discard. */
#define OVERWRITE_CHUNK_BYTES (1u << 20)
#define ERASE_CHUNK_BYTES (64ull << 20)

/* The overwrite parameter list (SBC-4 5.30.2.3). */
#define OW_HEADER_LEN 4
#define OW_INVERT 0x80
#define OW_TEST_MASK 0x60
#define OW_COUNT_MASK 0x1f

struct sanitize_op {
	struct uscst_device *dev;
	struct uscst_cmd *cmd; /* waits for the end (IMMED 0); NULL once detached */
	struct lba_range_lock range;
	struct uscst_io io;
	struct iovec iov;
	uint8_t sa;
	bool ause;
	bool invert;
	uint8_t passes, pass;
	uint64_t next, end;	   /* blocks of the current pass */
	uint64_t done_blocks, all; /* for the progress indication */
	uint32_t chunk_blocks;
	uint8_t *pattern[2]; /* chunk_blocks blocks of the pattern, and inverted */
	bool flushing;
	bool in_submit, completed_inline;
};

/* --- what other code asks --- */

bool sbc_sanitize_sa_supported(const struct uscst_device *dev, uint8_t sa)
{
	switch (sa) {
	case SA_OVERWRITE:
	case SA_EXIT_FAILURE_MODE:
		return true;
	case SA_BLOCK_ERASE:
		return dev && dev->thin_provisioned && dev->discard_ok;
	default:
		return false;
	}
}

static uint8_t state_of(const struct uscst_device *dev)
{
	return atomic_load_explicit(&dev->sanitize_state, memory_order_acquire);
}

/* NOT READY, SANITIZE IN PROGRESS with the PROGRESS INDICATION in the
 * sense-key specific bytes (SPC-5 4.4.2.4.4); returns the length. */
static unsigned build_in_progress(const struct uscst_device *dev, uint8_t *buf, bool desc)
{
	uint16_t progress = atomic_load_explicit(&dev->sanitize_progress, memory_order_relaxed);
	unsigned len =
	    uscst_sense_build(buf, desc, SK_NOT_READY, ASC_SANITIZE_IN_PROGRESS, false, 0);
	uint8_t *p = buf + 15;
	if (desc) {
		/* A sense key specific descriptor after the header. */
		p = buf + len;
		memset(p, 0, 8);
		p[0] = 0x02;
		p[1] = 0x06;
		buf[7] += 8;
		len += 8;
		p += 4;
	}
	p[0] = 0x80; /* SKSV */
	put_be16(p + 1, progress);
	return len;
}

/* cmd ends with dev's sanitize-in-progress sense (dev: the one it
 * addressed, or one a copy would use). */
static void sense_in_progress_of(struct uscst_cmd *cmd, const struct uscst_device *dev)
{
	bool desc = cmd->dev && atomic_load_explicit(&cmd->dev->d_sense, memory_order_relaxed);
	cmd->status = SAM_STAT_CHECK_CONDITION;
	cmd->sense_len = (uint8_t)build_in_progress(dev, cmd->sense, desc);
}

static void sense_in_progress(struct uscst_cmd *cmd) { sense_in_progress_of(cmd, cmd->dev); }

/* SBC-4 4.11.2: what a logical unit processes while it sanitizes. */
static bool allowed_while_running(const struct uscst_cmd *cmd)
{
	switch (cmd->cdb[0]) {
	case 0x03: /* REQUEST SENSE */
	case 0x12: /* INQUIRY */
	case 0x4d: /* LOG SENSE */
	case 0xa0: /* REPORT LUNS */
		return true;
	default:
		return false;
	}
}

bool sbc_sanitize_refuses(struct uscst_cmd *cmd)
{
	if (state_of(cmd->dev) != SANITIZE_RUNNING || allowed_while_running(cmd))
		return false;
	sense_in_progress(cmd);
	return true;
}

/* Commands that read or write the blocks of the medium. */
static bool accesses_medium(const struct scsi_opcode_desc *op)
{
	if (op->exec == sbc_sanitize)
		return false;
	return (op->flags & OPF_WRITES_MEDIUM) || op->exec == sbc_read || op->exec == sbc_verify ||
	       op->exec == sbc_prefetch || op->exec == sbc_get_lba_status;
}

bool sbc_sanitize_failed_refuses(struct uscst_cmd *cmd)
{
	uint8_t st = state_of(cmd->dev);
	if ((st != SANITIZE_FAILED && st != SANITIZE_FAILED_AUSE) || !accesses_medium(cmd->op))
		return false;
	scsi_check_condition(cmd, SK_MEDIUM_ERROR, ASC_SANITIZE_COMMAND_FAILED);
	return true;
}

bool sbc_sanitize_refuses_io(struct uscst_cmd *cmd, const struct uscst_device *dev)
{
	uint8_t st = state_of(dev);
	if (st == SANITIZE_RUNNING)
		sense_in_progress_of(cmd, dev);
	else if (st == SANITIZE_FAILED || st == SANITIZE_FAILED_AUSE)
		scsi_check_condition(cmd, SK_MEDIUM_ERROR, ASC_SANITIZE_COMMAND_FAILED);
	else
		return false;
	return true;
}

unsigned sbc_sanitize_sense(const struct uscst_device *dev, uint8_t *buf, bool desc)
{
	if (state_of(dev) != SANITIZE_RUNNING)
		return 0;
	return build_in_progress(dev, buf, desc);
}

/* --- the operation --- */

static void op_free(struct sanitize_op *op)
{
	free(op->pattern[0]);
	free(op->pattern[1]);
	free(op);
}

static void op_end(struct sanitize_op *op, bool ok)
{
	struct uscst_device *dev = op->dev;
	struct uscst_cmd *cmd = op->cmd;
	atomic_store_explicit(&dev->sanitize_progress, 0, memory_order_relaxed);
	uint8_t st = ok ? SANITIZE_IDLE : op->ause ? SANITIZE_FAILED_AUSE : SANITIZE_FAILED;
	atomic_store_explicit(&dev->sanitize_state, st, memory_order_release);
	/* After the state: the commands that waited for the medium see how
	 * the operation ended (sbc_range.c gate_resume). */
	sbc_range_release(&op->range);
	op_free(op);
	if (cmd) {
		cmd->hctx = NULL;
		if (!ok)
			scsi_check_condition(cmd, SK_MEDIUM_ERROR, ASC_SANITIZE_COMMAND_FAILED);
		scsi_cmd_done(cmd);
	}
	uscst_device_put(dev);
}

static void op_progress(struct sanitize_op *op)
{
	uint64_t p = op->all ? (op->done_blocks << 16) / op->all : 0;
	atomic_store_explicit(&op->dev->sanitize_progress, (uint16_t)(p > 0xffff ? 0xffff : p),
			      memory_order_relaxed);
}

static void op_io_done(struct uscst_io *io);

static void op_submit(struct sanitize_op *op, enum uscst_io_op kind, uint64_t lba, uint64_t blocks,
		      uint8_t *buf)
{
	struct uscst_io *io = &op->io;
	uint8_t shift = op->dev->block_shift;
	memset(io, 0, offsetof(struct uscst_io, backend_priv));
	io->op = kind;
	io->offset = lba << shift;
	io->len = kind == USCST_IO_FLUSH ? 0 : blocks << shift;
	op->iov = (struct iovec){.iov_base = buf, .iov_len = buf ? io->len : 0};
	io->iov = buf ? &op->iov : NULL;
	io->iovcnt = buf ? 1 : 0;
	io->error_offset = UINT64_MAX;
	io->done = op_io_done;
	io->priv = op;
	op->dev->backend->submit(op->dev, io);
}

/* The completed op->io; true: go on, false: the operation has ended. */
static bool op_result(struct sanitize_op *op)
{
	struct uscst_io *io = &op->io;
	bool write = io->op == USCST_IO_WRITE;
	if (io->result < 0 || (write && (uint64_t)io->result < io->len)) {
		op_end(op, false);
		return false;
	}
	if (op->flushing) {
		op->flushing = false;
		if (++op->pass >= op->passes) {
			op_end(op, true);
			return false;
		}
		op->next = 0;
		return true;
	}
	uint64_t blocks = io->len >> op->dev->block_shift;
	op->next += blocks;
	op->done_blocks += blocks;
	op_progress(op);
	return true;
}

/* Issues pieces until one completes asynchronously or the operation ends. */
static void op_issue(struct sanitize_op *op)
{
	for (;;) {
		op->in_submit = true;
		op->completed_inline = false;
		if (op->next >= op->end) {
			op->flushing = true;
			op_submit(op, USCST_IO_FLUSH, 0, 0, NULL);
		} else if (op->sa == SA_OVERWRITE) {
			uint64_t n = op->end - op->next;
			if (n > op->chunk_blocks)
				n = op->chunk_blocks;
			uint8_t *buf = op->pattern[op->invert && (op->pass & 1)];
			op_submit(op, USCST_IO_WRITE, op->next, n, buf);
		} else {
			uint64_t n = op->end - op->next;
			uint64_t max = ERASE_CHUNK_BYTES >> op->dev->block_shift;
			op_submit(op, USCST_IO_DISCARD, op->next, n > max ? max : n, NULL);
		}
		/* Safe: an asynchronous completion runs later on this thread. */
		op->in_submit = false;
		if (!op->completed_inline || !op_result(op))
			return;
	}
}

static void op_io_done(struct uscst_io *io)
{
	struct sanitize_op *op = io->priv;
	if (op->in_submit) {
		op->completed_inline = true;
		return;
	}
	if (op_result(op))
		op_issue(op);
}

/* The medium is ours (granted after a wait), on the starting thread. */
static void op_resume(struct lba_range_lock *l)
{
	op_issue((struct sanitize_op *)((char *)l - offsetof(struct sanitize_op, range)));
}

void sbc_sanitize_abort_running(struct uscst_cmd *cmd)
{
	/* On the command's session thread, where the operation runs too:
	 * the command ends now, the operation goes on without it. */
	if (!cmd->op || cmd->op->exec != sbc_sanitize || !cmd->hctx)
		return;
	struct sanitize_op *op = cmd->hctx;
	op->cmd = NULL;
	cmd->hctx = NULL;
	scsi_cmd_done(cmd);
}

/* --- the command --- */

/* The overwrite parameter list; fills op's pattern.  false: sense set. */
static bool parse_overwrite(struct uscst_cmd *cmd, uint32_t plen, struct sanitize_op *op)
{
	uint32_t bs = cmd->dev->block_size;
	const uint8_t *p = cmd->out_buf;
	if (!p || cmd->out_buf_len < plen) {
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
		return false;
	}
	if (p[0] & OW_TEST_MASK) {
		/* TEST: only 00b, the normal operation, is implemented. */
		scsi_invalid_field_param(cmd, 0, 6);
		return false;
	}
	if (!(p[0] & OW_COUNT_MASK)) {
		scsi_invalid_field_param(cmd, 0, 4);
		return false;
	}
	if (p[1]) {
		scsi_invalid_field_param(cmd, 1, 31 - __builtin_clz(p[1]));
		return false;
	}
	uint32_t ipl = get_be16(p + 2);
	if (!ipl || ipl > bs || ipl > plen - OW_HEADER_LEN) {
		scsi_invalid_field_param(cmd, 2, -1);
		return false;
	}
	op->invert = p[0] & OW_INVERT;
	op->passes = p[0] & OW_COUNT_MASK;
	uint64_t chunk = (uint64_t)op->chunk_blocks * bs;
	for (int i = 0; i < (op->invert ? 2 : 1); i++) {
		uint8_t *b;
		if (posix_memalign((void **)&b, 4096, chunk)) {
			scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
			return false;
		}
		op->pattern[i] = b;
		/* The pattern from the start of each block, cut at its end. */
		for (uint32_t off = 0; off < bs; off += ipl)
			memcpy(b + off, p + OW_HEADER_LEN, bs - off < ipl ? bs - off : ipl);
		if (i)
			for (uint32_t k = 0; k < bs; k++)
				b[k] = (uint8_t)~b[k];
		for (uint64_t done = bs; done < chunk; done += bs)
			memcpy(b + done, b, bs);
	}
	return true;
}

/* The CDB's PARAMETER LIST LENGTH for the service action; false: sense set. */
static bool check_param_len(struct uscst_cmd *cmd, uint8_t sa, uint32_t plen)
{
	bool ok = sa == SA_OVERWRITE
		      ? plen > OW_HEADER_LEN && plen <= cmd->dev->block_size + OW_HEADER_LEN
		      : plen == 0;
	if (!ok)
		scsi_invalid_field_cdb(cmd, 7, -1);
	return ok;
}

static void exit_failure_mode(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	uint8_t st = SANITIZE_FAILED_AUSE;
	if (atomic_compare_exchange_strong(&dev->sanitize_state, &st, SANITIZE_IDLE) ||
	    st == SANITIZE_IDLE) {
		scsi_cmd_done(cmd);
		return;
	}
	if (st == SANITIZE_RUNNING) /* one started after dispatch looked */
		sense_in_progress(cmd);
	else /* failed with AUSE 0: only a SANITIZE that succeeds ends it */
		scsi_invalid_field_cdb(cmd, 1, 4);
	scsi_cmd_done(cmd);
}

void sbc_sanitize(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	uint8_t sa = cmd->cdb[1] & 0x1f;
	uint32_t plen = get_be16(cmd->cdb + 7);

	if (!sbc_sanitize_sa_supported(dev, sa)) {
		/* The opcode table lists it, the device cannot (BLOCK ERASE
		 * without deallocation). */
		scsi_invalid_field_cdb(cmd, 1, 4);
		scsi_cmd_done(cmd);
		return;
	}
	if (!check_param_len(cmd, sa, plen)) {
		scsi_cmd_done(cmd);
		return;
	}
	if (sa == SA_EXIT_FAILURE_MODE) {
		exit_failure_mode(cmd);
		return;
	}
	struct sanitize_op *op = calloc(1, sizeof(*op));
	if (!op) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	uint64_t nblocks = sbc_nblocks(dev);
	op->dev = dev;
	op->sa = sa;
	op->ause = cmd->cdb[1] & CDB_AUSE;
	op->passes = 1;
	op->chunk_blocks = OVERWRITE_CHUNK_BYTES >> dev->block_shift;
	if (sa == SA_OVERWRITE && !parse_overwrite(cmd, plen, op)) {
		op_free(op);
		scsi_cmd_done(cmd);
		return;
	}
	/* The LU's, from here on: one at a time. */
	uint8_t st = state_of(dev);
	do {
		if (st == SANITIZE_RUNNING) {
			op_free(op);
			sense_in_progress(cmd);
			scsi_cmd_done(cmd);
			return;
		}
	} while (!atomic_compare_exchange_weak(&dev->sanitize_state, &st, SANITIZE_RUNNING));
	atomic_store_explicit(&dev->sanitize_progress, 0, memory_order_relaxed);
	atomic_fetch_add(&dev->refs, 1); /* uscst_device_put() in op_end() */
	op->end = nblocks;
	op->all = nblocks * op->passes;
	if (cmd->cdb[1] & CDB_IMMED) {
		scsi_cmd_done(cmd); /* GOOD: it has started */
	} else {
		op->cmd = cmd;
		cmd->hctx = op;
	}
	if (!nblocks) {
		op_end(op, true);
		return;
	}
	if (sbc_range_acquire(&op->range, dev, 0, nblocks, true, op_resume))
		op_issue(op);
}
