/*
 * READ(6), WRITE(6), WRITE FILEMARKS(6) and ERASE: the
 * commands that move data or write marks at the current position.
 *
 * Sense of a READ that meets something else than what it asked for
 * (SSC-4): a filemark: NO SENSE, FILEMARK, FILEMARK DETECTED
 * (00h/01h), positioned after it; end of data: BLANK CHECK, END-OF-DATA
 * DETECTED (00h/05h), positioned at it; a block of another length:
 * NO SENSE, ILI, positioned after it.  INFORMATION (VALID) is the residue:
 * bytes (variable-block mode; negative for an overlength block) or blocks
 * (fixed-block mode) not transferred.
 */
#include <errno.h>

#include "scsi/ssc.h"

#define CDB_FIXED 0x01
#define CDB_SILI 0x02
#define CDB_IMMED 0x01

/* ---- READ(6) ---- */

static void read_failed(struct uscst_cmd *cmd, int err, int64_t residue)
{
	cmd->in_len = 0;
	if (err == -EBADMSG || err == -EIO) {
		ssc_sense(cmd, 0, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR, true, residue);
		scsi_cmd_done(cmd);
		return;
	}
	ssc_io_failed(cmd, err, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
}

/* hstate while a READ runs: [0] the transfer length, [1] the whole blocks
 * read (fixed mode), [2] what stopped it (enum below), [3] the bytes sent. */
enum { STOP_NONE, STOP_FILEMARK, STOP_EOD, STOP_LENGTH };

static void fixed_read_done(struct uscst_cmd *cmd, struct ssc_state *st, int err)
{
	uint32_t n = (uint32_t)cmd->hstate[0];
	uint64_t good = cmd->hstate[1];
	if (err == -EBADMSG) {
		/* A block whose data fail their CRC: the blocks before it go
		 * to the initiator, the position is after it, INFORMATION is
		 * the blocks not transferred (SSC-4: the bad one included). */
		uint64_t sent = st->k_bad;
		st->pos += sent + 1;
		cmd->in_len = (uint32_t)(sent * st->block_len);
		ssc_sense(cmd, 0, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR, true,
			  (int64_t)(n - sent));
		cmd->in_with_sense = cmd->in_len > 0;
		scsi_cmd_done(cmd);
		return;
	}
	if (err) {
		/* Nothing read: the position stays. */
		read_failed(cmd, err, n);
		return;
	}
	cmd->in_len = (uint32_t)cmd->hstate[3];
	switch (cmd->hstate[2]) {
	case STOP_NONE:
		st->pos += n;
		break;
	case STOP_FILEMARK:
		st->pos += good + 1;
		ssc_sense(cmd, SSC_FM, SK_NO_SENSE, 0x00, 0x01, true, (int64_t)(n - good));
		break;
	case STOP_EOD:
		st->pos += good;
		ssc_sense(cmd, 0, SK_BLANK_CHECK, 0x00, 0x05, true, (int64_t)(n - good));
		break;
	case STOP_LENGTH:
		st->pos += good + 1;
		ssc_sense(cmd, SSC_ILI, SK_NO_SENSE, 0x00, 0x00, true, (int64_t)(n - good));
		break;
	}
	/* The blocks read go to the initiator with the sense. */
	cmd->in_with_sense = cmd->in_len > 0;
	scsi_cmd_done(cmd);
}

/* n blocks of the mode's block length: the run of such blocks from the
 * position, then what ended it; a block of another length is sent too,
 * cut to the block length (SSC-4: its data up to the block length). */
static void read_fixed(struct uscst_cmd *cmd, struct ssc_state *st, uint32_t n, uint32_t bl)
{
	if ((uint64_t)n * bl > SSC_MAX_TRANSFER) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	uint64_t good = 0;
	while (good < n && st->pos + good < st->count &&
	       st->objs[st->pos + good].type == TAPE_REC_DATA && st->objs[st->pos + good].len == bl)
		good++;
	uint64_t stop = STOP_NONE, nread = good, bytes = good * bl, sent = bytes;
	if (good < n) {
		uint64_t i = st->pos + good;
		if (i == st->count) {
			stop = STOP_EOD;
		} else if (st->objs[i].type == TAPE_REC_FILEMARK) {
			stop = STOP_FILEMARK;
		} else {
			stop = STOP_LENGTH;
			nread++;
			bytes += st->objs[i].len;
			sent += st->objs[i].len < bl ? st->objs[i].len : bl;
		}
	}
	cmd->hstate[0] = n;
	cmd->hstate[1] = good;
	cmd->hstate[2] = stop;
	cmd->hstate[3] = sent;
	if (!nread) {
		fixed_read_done(cmd, st, 0);
		return;
	}
	uint8_t *buf = scsi_alloc_in_raw(cmd, (uint32_t)bytes);
	if (!buf) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	ssc_read_objs(cmd, st, st->pos, nread, buf, fixed_read_done);
}

static void variable_read_done(struct uscst_cmd *cmd, struct ssc_state *st, int err)
{
	uint32_t n = (uint32_t)cmd->hstate[0];
	bool sili = cmd->cdb[1] & CDB_SILI;
	uint32_t len = st->objs[st->pos].len;
	if (err) {
		st->pos++;
		read_failed(cmd, err, n);
		return;
	}
	st->pos++;
	cmd->in_len = len < n ? len : n;
	/* SILI suppresses the underlength report, and the overlength one in
	 * variable-block mode only (SSC-4 READ(6)). */
	bool report = len < n ? !sili : (len > n && (!sili || st->block_len));
	if (report) {
		ssc_sense(cmd, SSC_ILI, SK_NO_SENSE, 0x00, 0x00, true, (int64_t)n - (int64_t)len);
		cmd->in_with_sense = true; /* the block goes with it */
	}
	scsi_cmd_done(cmd);
}

/* One block of up to n bytes. */
static void read_variable(struct uscst_cmd *cmd, struct ssc_state *st, uint32_t n)
{
	if (st->pos == st->count) {
		ssc_sense(cmd, 0, SK_BLANK_CHECK, 0x00, 0x05, true, n);
		scsi_cmd_done(cmd);
		return;
	}
	const struct ssc_obj *o = &st->objs[st->pos];
	if (o->type == TAPE_REC_FILEMARK) {
		st->pos++;
		ssc_sense(cmd, SSC_FM, SK_NO_SENSE, 0x00, 0x01, true, n);
		scsi_cmd_done(cmd);
		return;
	}
	cmd->hstate[0] = n;
	uint8_t *buf = scsi_alloc_in_raw(cmd, o->len);
	if (!buf) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	ssc_read_objs(cmd, st, st->pos, 1, buf, variable_read_done);
}

static void read_start(struct uscst_cmd *cmd, struct ssc_state *st)
{
	bool fixed = cmd->cdb[1] & CDB_FIXED;
	uint32_t n = get_be24(cmd->cdb + 2);
	uint32_t bl = st->block_len; /* once: what the command runs with */
	if (fixed && (cmd->cdb[1] & CDB_SILI)) {
		scsi_invalid_field_cdb(cmd, 1, 1);
		scsi_cmd_done(cmd);
		return;
	}
	if (fixed && !bl) {
		scsi_invalid_field_cdb(cmd, 1, 0);
		scsi_cmd_done(cmd);
		return;
	}
	if (n == 0) {
		scsi_cmd_done(cmd);
		return;
	}
	if (fixed)
		read_fixed(cmd, st, n, bl);
	else
		read_variable(cmd, st, n);
}

void ssc_read6(struct uscst_cmd *cmd) { ssc_with_tape(cmd, read_start); }

/* ---- writing ---- */

static void write_failed(struct uscst_cmd *cmd, int err)
{
	if (err == -ENOMEM)
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
	else
		ssc_io_failed(cmd, err, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
}

/* How many records of len bytes fit from object `at` on, leaving room
 * for the end-of-data marker, within SSC_MAX_OBJECTS. */
static uint64_t room_for(const struct ssc_state *st, uint64_t at, uint32_t len)
{
	uint64_t end = TAPE_HEADER_SIZE + st->hdr.capacity;
	uint64_t off = ssc_obj_off(st, at) + TAPE_REC_HDR_SIZE;
	uint64_t fit = off >= end ? 0 : (end - off) / tape_rec_size(len);
	uint64_t objs = at >= SSC_MAX_OBJECTS ? 0 : SSC_MAX_OBJECTS - at;
	return fit < objs ? fit : objs;
}

/* After a write that went through: VOLUME OVERFLOW if it could not write
 * everything (hstate[1]: the residue), else NO SENSE with EOM once the
 * tape is past early warning (SSC-4: the data are written). */
static void wrote(struct uscst_cmd *cmd, struct ssc_state *st, int err)
{
	if (err) {
		write_failed(cmd, err);
		return;
	}
	uint64_t end = TAPE_HEADER_SIZE + st->hdr.capacity;
	uint64_t left = end - ssc_obj_off(st, st->count) - TAPE_REC_HDR_SIZE;
	if (cmd->hstate[1])
		ssc_sense(cmd, SSC_EOM, SK_VOLUME_OVERFLOW, 0x00, 0x02, true,
			  (int64_t)cmd->hstate[1]);
	else if (left < ssc_early_warning(st))
		ssc_sense(cmd, SSC_EOM, SK_NO_SENSE, 0x00, 0x02, true, 0);
	scsi_cmd_done(cmd);
}

static bool refuse_protected(struct uscst_cmd *cmd, const struct ssc_state *st)
{
	if (!ssc_write_protected(cmd, st))
		return false;
	scsi_fail(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	return true;
}

uint32_t ssc_write_out_len(const struct uscst_cmd *cmd)
{
	uint64_t n = get_be24(cmd->cdb + 2);
	if (cmd->cdb[1] & CDB_FIXED)
		n *= ssc_state(cmd->dev)->block_len;
	return n > SSC_MAX_TRANSFER ? 0 : (uint32_t)n;
}

static void write_start(struct uscst_cmd *cmd, struct ssc_state *st)
{
	bool fixed = cmd->cdb[1] & CDB_FIXED;
	uint32_t n = get_be24(cmd->cdb + 2);
	/* The block length once: the check, the byte count and the records
	 * written must agree (a 0 read late would write a 0-byte record). */
	uint32_t bl = st->block_len;
	if (fixed && !bl) {
		scsi_invalid_field_cdb(cmd, 1, 0);
		scsi_cmd_done(cmd);
		return;
	}
	uint64_t bytes = fixed ? (uint64_t)n * bl : n;
	if ((!fixed && n > SSC_MAX_BLOCK) || bytes > SSC_MAX_TRANSFER) {
		scsi_invalid_field_cdb(cmd, 2, -1);
		scsi_cmd_done(cmd);
		return;
	}
	if (refuse_protected(cmd, st))
		return;
	if (n == 0) {
		scsi_cmd_done(cmd);
		return;
	}
	/* The blocks must all be here (no short record from a residual). */
	if (!cmd->out_buf || cmd->out_buf_len < bytes) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}
	uint32_t nrec = fixed ? n : 1;
	uint32_t len = fixed ? bl : n;
	uint64_t fit = room_for(st, st->pos, len);
	if (fit == 0) {
		ssc_sense(cmd, SSC_EOM, SK_VOLUME_OVERFLOW, 0x00, 0x02, true, n);
		scsi_cmd_done(cmd);
		return;
	}
	if (fit > nrec)
		fit = nrec;
	cmd->hstate[1] = nrec - fit; /* fixed mode: the blocks left out */
	ssc_append(cmd, st, st->pos, TAPE_REC_DATA, (uint32_t)fit, len, cmd->out_buf,
		   st->unbuffered, wrote);
}

void ssc_write6(struct uscst_cmd *cmd) { ssc_with_tape(cmd, write_start); }

static void flushed_only(struct uscst_cmd *cmd, struct ssc_state *st, int err)
{
	if (err)
		write_failed(cmd, err);
	else
		scsi_cmd_done(cmd);
}

/* WRITE FILEMARKS(6): COUNT filemarks; with IMMED clear, everything
 * written before is made durable before GOOD (a count of 0 only does
 * that). */
static void write_filemarks_start(struct uscst_cmd *cmd, struct ssc_state *st)
{
	bool immed = cmd->cdb[1] & CDB_IMMED;
	uint32_t n = get_be24(cmd->cdb + 2);
	if (refuse_protected(cmd, st))
		return;
	if (n == 0) {
		if (immed)
			scsi_cmd_done(cmd);
		else
			ssc_flush(cmd, st, flushed_only);
		return;
	}
	uint64_t fit = room_for(st, st->pos, 0);
	if (fit == 0) {
		ssc_sense(cmd, SSC_EOM, SK_VOLUME_OVERFLOW, 0x00, 0x02, true, n);
		scsi_cmd_done(cmd);
		return;
	}
	if (fit > n)
		fit = n;
	cmd->hstate[1] = n - fit;
	ssc_append(cmd, st, st->pos, TAPE_REC_FILEMARK, (uint32_t)fit, 0, NULL, !immed, wrote);
}

void ssc_write_filemarks(struct uscst_cmd *cmd) { ssc_with_tape(cmd, write_filemarks_start); }

/* ERASE: end of data at the position (everything after it is gone); LONG
 * changes nothing more here (the rest of the image is unreachable). */
static void erase_start(struct uscst_cmd *cmd, struct ssc_state *st)
{
	if (refuse_protected(cmd, st))
		return;
	cmd->hstate[1] = 0;
	ssc_append(cmd, st, st->pos, TAPE_REC_FILEMARK, 0, 0, NULL, !(cmd->cdb[1] & 0x02),
		   flushed_only);
}

void ssc_erase(struct uscst_cmd *cmd) { ssc_with_tape(cmd, erase_start); }
