/*
 * Positioning (SSC-4): SPACE(6), REWIND, LOCATE(10/16), READ POSITION and
 * LOAD UNLOAD.  The position is a logical object number: blocks and
 * filemarks count alike, and `count` is end of data.  Every command that
 * moves the tape first makes what was written durable, as a drive writes
 * its buffer before it moves (SSC-4).
 */
#include "scsi/ssc.h"

#define ASC_FILEMARK 0x00, 0x01
#define ASC_BOP 0x00, 0x04
#define ASC_EOD 0x00, 0x05

static bool past_early_warning(const struct ssc_state *st, uint64_t n)
{
	uint64_t end = TAPE_HEADER_SIZE + st->hdr.capacity;
	uint64_t off = ssc_obj_off(st, n);
	return off >= end || end - off < ssc_early_warning(st);
}

static bool flush_failed(struct uscst_cmd *cmd, int err)
{
	if (!err)
		return false;
	ssc_io_failed(cmd, err, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	return true;
}

/* End of data met while moving forward: BLANK CHECK, with EOM past early
 * warning. */
static void at_eod(struct uscst_cmd *cmd, struct ssc_state *st, bool info, uint64_t residue)
{
	st->pos = st->count;
	ssc_sense(cmd, past_early_warning(st, st->count) ? SSC_EOM : 0, SK_BLANK_CHECK, ASC_EOD,
		  info, (int64_t)residue);
}

/* ---- SPACE(6) ---- */

#define SPACE_BLOCKS 0
#define SPACE_FILEMARKS 1
#define SPACE_EOD 3

static void space_blocks(struct uscst_cmd *cmd, struct ssc_state *st, int32_t count)
{
	uint64_t n = count < 0 ? (uint64_t) - (int64_t)count : (uint64_t)count, p = st->pos, i;
	for (i = 0; i < n; i++) {
		if (count > 0) {
			if (p == st->count) {
				at_eod(cmd, st, true, n - i);
				return;
			}
			if (st->objs[p].type == TAPE_REC_FILEMARK) {
				st->pos = p + 1;
				ssc_sense(cmd, SSC_FM, SK_NO_SENSE, ASC_FILEMARK, true,
					  (int64_t)(n - i));
				return;
			}
			p++;
		} else {
			if (p == 0) {
				st->pos = 0;
				ssc_sense(cmd, SSC_EOM, SK_NO_SENSE, ASC_BOP, true,
					  (int64_t)(n - i));
				return;
			}
			if (st->objs[p - 1].type == TAPE_REC_FILEMARK) {
				/* Stops on the BOT side of the filemark. */
				st->pos = p - 1;
				ssc_sense(cmd, SSC_FM, SK_NO_SENSE, ASC_FILEMARK, true,
					  (int64_t)(n - i));
				return;
			}
			p--;
		}
	}
	st->pos = p;
}

static void space_filemarks(struct uscst_cmd *cmd, struct ssc_state *st, int32_t count)
{
	uint64_t n = count < 0 ? (uint64_t) - (int64_t)count : (uint64_t)count, p = st->pos, i = 0;
	if (count > 0) {
		while (i < n) {
			if (p == st->count) {
				at_eod(cmd, st, true, n - i);
				return;
			}
			if (st->objs[p++].type == TAPE_REC_FILEMARK)
				i++;
		}
	} else {
		while (i < n) {
			if (p == 0) {
				st->pos = 0;
				ssc_sense(cmd, SSC_EOM, SK_NO_SENSE, ASC_BOP, true,
					  (int64_t)(n - i));
				return;
			}
			if (st->objs[--p].type == TAPE_REC_FILEMARK)
				i++;
		}
	}
	st->pos = p;
}

static void space_go(struct uscst_cmd *cmd, struct ssc_state *st, int err)
{
	if (flush_failed(cmd, err))
		return;
	uint32_t raw = get_be24(cmd->cdb + 2);
	int32_t count = (int32_t)(raw << 8) >> 8; /* 24-bit two's complement */
	switch (cmd->cdb[1] & 0x0f) {
	case SPACE_BLOCKS:
		space_blocks(cmd, st, count);
		break;
	case SPACE_FILEMARKS:
		space_filemarks(cmd, st, count);
		break;
	case SPACE_EOD:
		st->pos = st->count;
		break;
	}
	scsi_cmd_done(cmd);
}

static void space_start(struct uscst_cmd *cmd, struct ssc_state *st)
{
	uint8_t code = cmd->cdb[1] & 0x0f;
	/* Sequential filemarks (2) and setmarks (4) are not supported; the
	 * other codes are reserved. */
	if (code != SPACE_BLOCKS && code != SPACE_FILEMARKS && code != SPACE_EOD) {
		scsi_invalid_field_cdb(cmd, 1, 3);
		scsi_cmd_done(cmd);
		return;
	}
	ssc_flush(cmd, st, space_go);
}

void ssc_space(struct uscst_cmd *cmd) { ssc_with_tape(cmd, space_start); }

/* ---- REWIND ---- */

static void rewind_go(struct uscst_cmd *cmd, struct ssc_state *st, int err)
{
	if (flush_failed(cmd, err))
		return;
	st->pos = 0;
	scsi_cmd_done(cmd);
}

static void rewind_start(struct uscst_cmd *cmd, struct ssc_state *st)
{
	ssc_flush(cmd, st, rewind_go);
}

void ssc_rewind(struct uscst_cmd *cmd) { ssc_with_tape(cmd, rewind_start); }

/* ---- LOCATE(10), LOCATE(16) ---- */

#define DEST_OBJECT 0
#define DEST_FILE 1
#define DEST_EOD 3

static void locate_go(struct uscst_cmd *cmd, struct ssc_state *st, int err)
{
	if (flush_failed(cmd, err))
		return;
	const uint8_t *cdb = cmd->cdb;
	bool l16 = cdb[0] == 0x92;
	uint8_t dest = l16 ? (cdb[1] >> 3) & 7 : DEST_OBJECT;
	uint64_t id = l16 ? get_be64(cdb + 4) : get_be32(cdb + 3);
	if (dest == DEST_EOD) {
		st->pos = st->count;
	} else if (dest == DEST_FILE) {
		/* File 0 starts at BOT, file F after the F-th filemark. */
		uint64_t p = 0, files = 0;
		while (files < id && p < st->count)
			files += st->objs[p++].type == TAPE_REC_FILEMARK;
		if (files < id)
			at_eod(cmd, st, false, 0);
		else
			st->pos = p;
	} else if (id > st->count) {
		at_eod(cmd, st, false, 0);
	} else {
		st->pos = id;
	}
	scsi_cmd_done(cmd);
}

static void locate_start(struct uscst_cmd *cmd, struct ssc_state *st)
{
	const uint8_t *cdb = cmd->cdb;
	bool l16 = cdb[0] == 0x92;
	bool cp = cdb[1] & 0x02;
	uint8_t partition = l16 ? cdb[3] : cdb[8];
	/* One partition: changing to another than 0 is refused. */
	if (cp && partition != 0) {
		scsi_invalid_field_cdb(cmd, l16 ? 3 : 8, -1);
		scsi_cmd_done(cmd);
		return;
	}
	if (l16) {
		uint8_t dest = (cdb[1] >> 3) & 7;
		if (dest != DEST_OBJECT && dest != DEST_FILE && dest != DEST_EOD) {
			scsi_invalid_field_cdb(cmd, 1, 5);
			scsi_cmd_done(cmd);
			return;
		}
	}
	ssc_flush(cmd, st, locate_go);
}

void ssc_locate(struct uscst_cmd *cmd) { ssc_with_tape(cmd, locate_start); }

/* ---- READ POSITION ---- */

#define RP_SHORT 0x00
#define RP_LONG 0x06

static void read_position_start(struct uscst_cmd *cmd, struct ssc_state *st)
{
	const uint8_t *cdb = cmd->cdb;
	uint8_t sa = cdb[1] & 0x1f;
	if (sa != RP_SHORT && sa != RP_LONG) {
		/* The vendor-specific short form and the extended form are
		 * not built. */
		scsi_invalid_field_cdb(cmd, 1, 4);
		scsi_cmd_done(cmd);
		return;
	}
	/* SSC-4: ALLOCATION LENGTH is zero for the short and long forms. */
	if (get_be16(cdb + 7)) {
		scsi_invalid_field_cdb(cmd, 7, -1);
		scsi_cmd_done(cmd);
		return;
	}
	uint8_t *b = scsi_alloc_in(cmd, sa == RP_LONG ? 32 : 20);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	uint8_t flags = (uint8_t)((st->pos == 0 ? 0x80 : 0) |
				  (past_early_warning(st, st->pos) ? 0x40 : 0)); /* BOP, EOP */
	b[0] = flags;
	if (sa == RP_LONG) {
		/* Partition 0; LOGICAL OBJECT NUMBER; LOGICAL FILE IDENTIFIER. */
		put_be64(b + 8, st->pos);
		put_be64(b + 16, ssc_file_of(st, st->pos));
	} else if (st->pos > UINT32_MAX) {
		b[0] |= 0x04; /* BPU: the number does not fit */
	} else {
		/* FIRST and LAST LOGICAL OBJECT LOCATION: nothing is
		 * buffered, so both are the position; no objects or bytes in
		 * the buffer. */
		put_be32(b + 4, (uint32_t)st->pos);
		put_be32(b + 8, (uint32_t)st->pos);
	}
	scsi_cmd_done(cmd);
}

void ssc_read_position(struct uscst_cmd *cmd) { ssc_with_tape(cmd, read_position_start); }

/* ---- LOAD UNLOAD ---- */

#define LU_LOAD 0x01
#define LU_EOT 0x04

static void unloaded(struct uscst_cmd *cmd, struct ssc_state *st, int err)
{
	if (flush_failed(cmd, err))
		return;
	ssc_unmount(st);
	st->unloaded = true;
	uscst_device_set_medium_present(cmd->dev, false);
	scsi_cmd_done(cmd);
}

static void loaded_flushed(struct uscst_cmd *cmd, struct ssc_state *st, int err)
{
	if (flush_failed(cmd, err))
		return;
	bool was_unloaded = st->unloaded;
	st->unloaded = false;
	st->pos = 0;
	uscst_device_set_medium_present(cmd->dev, true);
	/* The tape became ready: the other nexuses learn that it may have
	 * changed (SPC-5 unit attention conditions). */
	if (was_unloaded)
		ua_establish_dev(cmd->dev, cmd->sess, ASC_NOT_READY_TO_READY_CHANGE);
	scsi_cmd_done(cmd);
}

/* A LOAD of a loaded tape rewinds it: what was written goes first. */
static void loaded(struct uscst_cmd *cmd, struct ssc_state *st)
{
	ssc_flush(cmd, st, loaded_flushed);
}

/*
 * LOAD: the tape is (again) ready, at BOT; without a tape in the drive
 * (filename none) NOT READY, MEDIUM NOT PRESENT.  UNLOAD: written data go
 * to the image, the tape rewinds and leaves the path: commands that need
 * it answer NOT READY, MEDIUM NOT PRESENT until a LOAD.  EOT
 * with LOAD is an invalid combination; HOLD is not supported (mask).  An
 * UNLOAD while an initiator prevents medium removal is refused (MEDIUM
 * REMOVAL PREVENTED).
 */
void ssc_load_unload(struct uscst_cmd *cmd)
{
	struct ssc_state *st = ssc_state(cmd->dev);
	uint8_t b4 = cmd->cdb[4];
	ssc_sync_tape(st);
	if ((b4 & LU_LOAD) && (b4 & LU_EOT)) {
		scsi_invalid_field_cdb(cmd, 4, 2);
		scsi_cmd_done(cmd);
		return;
	}
	if (b4 & LU_LOAD) {
		if (!atomic_load_explicit(&st->has_image, memory_order_relaxed)) {
			scsi_fail(cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
			return;
		}
		/* The tape is mounted again: a LOAD finds out whether there
		 * still is one (NOT READY, MEDIUM NOT PRESENT if not). */
		ssc_with_tape(cmd, loaded);
		return;
	}
	if (!atomic_load_explicit(&st->has_image, memory_order_relaxed) || st->unloaded) {
		scsi_cmd_done(cmd);
		return;
	}
	/* An initiator prevents removal (PREVENT ALLOW MEDIUM REMOVAL). */
	pthread_mutex_lock(&cmd->dev->lock);
	bool prevented = cmd->dev->prevent_removal;
	pthread_mutex_unlock(&cmd->dev->lock);
	if (prevented) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
		return;
	}
	if (!st->mounted) {
		unloaded(cmd, st, 0);
		return;
	}
	ssc_flush(cmd, st, unloaded);
}
