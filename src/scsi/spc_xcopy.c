/*
 * The copy manager: EXTENDED COPY (LID1, SPC-4 6.4) between block devices
 * this target exports, and RECEIVE COPY RESULTS (SPC-4 6.18) for it.
 *
 * A copy reads a bounded chunk from the source device and writes it to the
 * destination, chunk after chunk, driven by backend completions; the whole
 * parameter list is validated first so that a bad list moves no data.
 *
 * Every segment is a READ of its source and a WRITE of its destination from
 * the I_T nexus that sent the EXTENDED COPY, whichever LUN it was sent to:
 * the reservations of both devices (SPC-2 and persistent) are checked before
 * any data moves and again before each chunk (a reservation may be taken
 * while a long copy runs); a conflict ends the copy with RESERVATION
 * CONFLICT.  Each chunk's write holds its destination range shared
 * (sbc_range.c), so it never lands inside a COMPARE AND WRITE; each
 * chunk's read holds its source range shared too, so a SANITIZE (which
 * takes the whole medium exclusive) never runs under a read.  With the
 * range held, a device being sanitized, or left in sanitize failure mode,
 * ends the copy as it would a READ or WRITE: a sanitize that started
 * while a long copy ran stops it before it reads (or writes) more.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/sbc.h"
#include "scsi/spc_xcopy.h"

/* Bytes moved per read/write pair: bounds the memory one copy holds. */
#define XCOPY_CHUNK_BYTES (1024u * 1024)

/* COPY MANAGER STATUS (SPC-4 table 380). */
#define CM_STATUS_IN_PROGRESS 0x00
#define CM_STATUS_GOOD 0x01
#define CM_STATUS_ERROR 0x02

/* RECEIVE COPY RESULTS service actions. */
#define RCR_COPY_STATUS 0x00
#define RCR_OPERATING_PARAMS 0x03
#define RCR_FAILED_SEGMENT_DETAILS 0x04

/* --- copy status, by (I_T nexus, copy manager = device, list id) --- */

struct xcopy_status {
	bool used;
	bool running;
	bool held; /* LIST ID USAGE 00b: kept for RECEIVE COPY RESULTS after completion */
	bool anon; /* LIST ID USAGE 11b: no list id, never found by lookups */
	uint64_t sess_id;
	const struct uscst_device *dev; /* compared only, never dereferenced */
	uint8_t list_id;
	uint8_t cm_status;
	uint16_t segs_done;
	uint64_t bytes_done;
	uint64_t stamp; /* completion order, to evict the oldest first */
	uint8_t cmd_status;
	uint8_t sense_len;
	uint8_t sense[USCST_SENSE_MAX];
};

/* Bounded: a running copy pins its slot; finished ones are recycled oldest
 * first.  Copies run on several reactor threads, hence the mutex. */
static struct xcopy_status status_table[XCOPY_MAX_CONCURRENT];
static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t status_clock;

static bool status_match(const struct xcopy_status *s, uint64_t sess_id,
			 const struct uscst_device *dev, uint8_t list_id)
{
	return s->used && !s->anon && s->sess_id == sess_id && s->dev == dev &&
	       s->list_id == list_id;
}

/* Claims a slot for a starting copy.  Returns its index, -1 if a copy with
 * the same list id is still running on this nexus, -2 if every slot holds a
 * running copy. */
static int status_begin(const struct uscst_cmd *cmd, const struct xcopy_list *l)
{
	uint64_t sess_id = cmd->sess ? cmd->sess->id : 0;
	bool anon = l->list_id_usage == XCOPY_LIST_ID_NONE;
	int slot = -1, oldest = -1;

	pthread_mutex_lock(&status_lock);
	for (unsigned i = 0; i < XCOPY_MAX_CONCURRENT; i++) {
		struct xcopy_status *s = &status_table[i];
		if (!anon && status_match(s, sess_id, cmd->dev, l->list_id)) {
			if (s->running) {
				pthread_mutex_unlock(&status_lock);
				return -1;
			}
			/* A new copy replaces the status of the last one. */
			slot = (int)i;
			break;
		}
		if (!s->used) {
			if (slot < 0)
				slot = (int)i;
		} else if (!s->running && (oldest < 0 || s->stamp < status_table[oldest].stamp)) {
			oldest = (int)i;
		}
	}
	if (slot < 0)
		slot = oldest;
	if (slot >= 0) {
		struct xcopy_status *s = &status_table[slot];
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->running = true;
		s->held = l->list_id_usage == XCOPY_LIST_ID_HOLD;
		s->anon = anon;
		s->sess_id = sess_id;
		s->dev = cmd->dev;
		s->list_id = l->list_id;
		s->cm_status = CM_STATUS_IN_PROGRESS;
	}
	pthread_mutex_unlock(&status_lock);
	return slot >= 0 ? slot : -2;
}

static void status_progress(int slot, uint16_t segs_done, uint64_t bytes_done)
{
	pthread_mutex_lock(&status_lock);
	status_table[slot].segs_done = segs_done;
	status_table[slot].bytes_done = bytes_done;
	pthread_mutex_unlock(&status_lock);
}

static void status_end(int slot, const struct uscst_cmd *cmd)
{
	pthread_mutex_lock(&status_lock);
	struct xcopy_status *s = &status_table[slot];
	s->running = false;
	if (!s->held) {
		/* Nothing to report later: free the slot right away. */
		s->used = false;
	} else {
		s->cm_status = cmd->status == SAM_STAT_GOOD ? CM_STATUS_GOOD : CM_STATUS_ERROR;
		s->cmd_status = cmd->status;
		s->sense_len = cmd->sense_len;
		memcpy(s->sense, cmd->sense, cmd->sense_len);
		s->stamp = ++status_clock;
	}
	pthread_mutex_unlock(&status_lock);
}

/* Copies the status of (nexus, device, list id) out; false if none is held. */
static bool status_get(const struct uscst_cmd *cmd, uint8_t list_id, struct xcopy_status *out)
{
	uint64_t sess_id = cmd->sess ? cmd->sess->id : 0;
	bool found = false;
	pthread_mutex_lock(&status_lock);
	for (unsigned i = 0; i < XCOPY_MAX_CONCURRENT; i++) {
		if (status_match(&status_table[i], sess_id, cmd->dev, list_id)) {
			/* A running copy without hold still answers COPY STATUS:
			 * the initiator may poll it while it runs. */
			*out = status_table[i];
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&status_lock);
	return found;
}

/* --- sense --- */

/* CHECK CONDITION from a parser error, with the field / segment pointer
 * (SPC-4 4.5.2.4.2, 4.5.2.4.5) relative to the parameter list. */
static void set_sense(struct uscst_cmd *cmd, const struct xcopy_err *e)
{
	scsi_check_condition(cmd, e->key, e->asc, e->ascq);
	if (!e->field)
		return;
	uint8_t sks[3];
	sks[0] = 0x80; /* SKSV; C/D and SD zero: the parameter list */
	if (e->bit >= 0)
		sks[0] |= 0x08 | (e->bit & 7);
	put_be16(sks + 1, (uint16_t)(e->byte > 0xffff ? 0xffff : e->byte));
	if (cmd->sense[0] == 0x72) {
		if (cmd->sense_len + 8u > sizeof(cmd->sense))
			return;
		uint8_t *d = cmd->sense + cmd->sense_len;
		memset(d, 0, 8);
		d[0] = 0x02; /* sense key specific descriptor */
		d[1] = 0x06;
		memcpy(d + 4, sks, 3);
		cmd->sense[7] += 8;
		cmd->sense_len += 8;
	} else {
		memcpy(cmd->sense + 15, sks, 3);
	}
}

/* --- device lookup for CSCD descriptors --- */

/* The map the command was decoded with: it keeps its devices while the
 * command runs, even if the session's map changes meanwhile
 * (core/live_map.c). */
static const struct uscst_lun_map *nexus_map(const struct uscst_cmd *cmd)
{
	if (cmd->map_hold)
		return cmd->map_hold->map;
	return cmd->sess ? cmd->sess->luns : NULL;
}

/* Only devices this I_T nexus can see are copy targets: a CSCD must not
 * reach storage the initiator has no LUN for. */
static struct uscst_device *lookup_in_session(void *arg, const uint8_t *naa)
{
	const struct uscst_cmd *cmd = arg;
	const struct uscst_lun_map *map = nexus_map(cmd);
	uint8_t mine[16];
	if (!map) {
		if (!cmd->dev)
			return NULL;
		xcopy_dev_naa(cmd->dev, mine);
		return memcmp(mine, naa, 16) == 0 ? cmd->dev : NULL;
	}
	for (unsigned i = 0; i < map->count; i++) {
		struct uscst_device *dev = map->luns[i].dev;
		/* A pass-through device has no block I/O to copy with: not a
		 * copy target (its command set has no EXTENDED COPY either). */
		if (!dev || !dev->backend->submit)
			continue;
		xcopy_dev_naa(dev, mine);
		if (memcmp(mine, naa, 16) == 0)
			return dev;
	}
	return NULL;
}

/* Write protected as this nexus sees dev: the device itself, or any LUN
 * of the session that maps it read-only. */
static bool write_protected(const struct uscst_cmd *cmd, const struct uscst_device *dev)
{
	if (atomic_load_explicit(&dev->read_only, memory_order_relaxed) ||
	    atomic_load_explicit(&dev->swp, memory_order_relaxed))
		return true;
	if (dev == cmd->dev && cmd->lun_ent && cmd->lun_ent->read_only)
		return true;
	const struct uscst_lun_map *map = nexus_map(cmd);
	for (unsigned i = 0; map && i < map->count; i++)
		if (map->luns[i].dev == dev && map->luns[i].read_only)
			return true;
	return false;
}

/* --- the copy --- */

struct xcopy_ctx {
	struct uscst_cmd *cmd;
	struct xcopy_list list;
	int slot;
	uint8_t *buf;
	unsigned seg;	   /* segment being copied */
	uint64_t seg_done; /* bytes of it already written */
	uint64_t total_done;
	uint64_t chunk; /* bytes of the I/O in flight */
	bool writing;	/* the I/O in flight is the write half of a chunk */
	/* Synchronous completion detection, see run(). */
	bool in_submit;
	bool done_inline;
	struct uscst_io io;
	struct iovec iov;	     /* io's one segment: buf */
	struct lba_range_lock range; /* of the chunk being read or written */
};

static void finish(struct xcopy_ctx *x)
{
	struct uscst_cmd *cmd = x->cmd;
	sbc_range_release(&x->range);
	if (x->slot >= 0)
		status_end(x->slot, cmd);
	free(x->buf);
	free(x);
	cmd->hctx = NULL;
	scsi_cmd_done(cmd);
}

static void io_done(struct uscst_io *io);

static void submit(struct xcopy_ctx *x, struct uscst_device *dev, enum uscst_io_op op,
		   uint64_t offset, bool fua)
{
	struct uscst_io *io = &x->io;
	memset(io, 0, sizeof(*io));
	io->op = op;
	io->offset = offset;
	io->len = x->chunk;
	x->iov = (struct iovec){.iov_base = x->buf, .iov_len = x->chunk};
	io->iov = &x->iov;
	io->iovcnt = 1;
	io->fua = fua;
	io->done = io_done;
	io->priv = x;
	dev->backend->submit(dev, io);
}

/* Handles the completion of the I/O in flight.  false when the copy has
 * ended (the command is completed and x freed). */
static bool complete_io(struct xcopy_ctx *x)
{
	struct uscst_cmd *cmd = x->cmd;
	const struct xcopy_seg *s = &x->list.seg[x->seg];
	int64_t res = x->io.result;

	if (!x->writing) {
		sbc_range_release(&x->range);
		if (res < 0) {
			scsi_check_condition(cmd, SK_COPY_ABORTED, ASC_UNRECOVERED_READ_ERROR);
			finish(x);
			return false;
		}
		/* Storage shorter than the device reads as zeros. */
		if ((uint64_t)res < x->chunk)
			memset(x->buf + res, 0, x->chunk - (uint64_t)res);
		x->writing = true;
		return true;
	}
	sbc_range_release(&x->range);
	if (res < 0 || (uint64_t)res < x->chunk) {
		const struct uscst_device *dst = x->list.cscd[s->dst].dev;
		if (res == -ENOSPC && dst->thin_provisioned)
			scsi_check_condition(cmd, SK_COPY_ABORTED,
					     ASC_SPACE_ALLOC_FAILED_WRITE_PROTECT);
		else
			scsi_check_condition(cmd, SK_COPY_ABORTED, ASC_WRITE_ERROR);
		finish(x);
		return false;
	}
	x->writing = false;
	x->seg_done += x->chunk;
	x->total_done += x->chunk;
	if (x->seg_done >= s->bytes) {
		x->seg++;
		x->seg_done = 0;
	}
	if (x->slot >= 0)
		status_progress(x->slot, (uint16_t)x->seg, x->total_done);
	return true;
}

/* A chunk's I/O would conflict with a reservation of dev, as a READ or
 * WRITE from this nexus would: the copy ends with RESERVATION CONFLICT
 * (and x is freed). */
static bool reserved_away(struct xcopy_ctx *x, struct uscst_device *dev, bool write)
{
	if (!scsi_reservation_conflict_io(x->cmd, dev, write))
		return false;
	x->cmd->status = SAM_STAT_RESERVATION_CONFLICT;
	x->cmd->sense_len = 0;
	finish(x);
	return true;
}

static void run(struct xcopy_ctx *x);

/* With the chunk's range on dev held: a sanitize in progress or failed
 * ends the copy with its sense (and x is freed). */
static bool sanitized_away(struct xcopy_ctx *x, const struct uscst_device *dev)
{
	if (!sbc_sanitize_refuses_io(x->cmd, dev))
		return false;
	finish(x);
	return true;
}

/* The range of a chunk was granted after a wait, on the command's own
 * thread (run() stops at once if it was aborted meanwhile). */
static void range_granted(struct lba_range_lock *l)
{
	run((struct xcopy_ctx *)((char *)l - offsetof(struct xcopy_ctx, range)));
}

/*
 * Issues I/O until one completes asynchronously or the copy ends.  A
 * backend may complete inside submit(); io_done() then only flags it and
 * this loop carries on, so a long copy on such a backend never recurses.
 */
static void run(struct xcopy_ctx *x)
{
	for (;;) {
		struct uscst_cmd *cmd = x->cmd;
		/* Skip empty segments (NUMBER OF BLOCKS 0 moves nothing). */
		while (x->seg < x->list.nseg && x->list.seg[x->seg].bytes == 0)
			x->seg++;
		if (x->seg >= x->list.nseg || cmd->aborted) {
			/* An aborted command's status is discarded by the
			 * transport; stopping between chunks is enough. */
			finish(x);
			return;
		}
		const struct xcopy_seg *s = &x->list.seg[x->seg];
		if (!x->writing) {
			struct uscst_device *src = x->list.cscd[s->src].dev;
			uint64_t lba = s->src_lba + (x->seg_done >> src->block_shift);
			uint64_t left = s->bytes - x->seg_done;
			x->chunk = left < XCOPY_CHUNK_BYTES ? left : XCOPY_CHUNK_BYTES;
			if (!sbc_range_held(&x->range)) {
				/* A sanitize already running: no wait for its end. */
				if (reserved_away(x, src, false) || sanitized_away(x, src))
					return;
				uint64_t blocks =
				    (x->chunk + src->block_size - 1) >> src->block_shift;
				if (!sbc_range_acquire(&x->range, src, lba, blocks, false,
						       range_granted))
					return; /* range_granted() carries on */
			}
			if (sanitized_away(x, src))
				return;
			x->in_submit = true;
			x->done_inline = false;
			submit(x, src, USCST_IO_READ,
			       (s->src_lba << src->block_shift) + x->seg_done, false);
		} else {
			struct uscst_device *dst = x->list.cscd[s->dst].dev;
			uint64_t lba = s->dst_lba + (x->seg_done >> dst->block_shift);
			if (!sbc_range_held(&x->range)) {
				if (reserved_away(x, dst, true) || sanitized_away(x, dst))
					return;
				if (!sbc_range_acquire(&x->range, dst, lba,
						       x->chunk >> dst->block_shift, false,
						       range_granted))
					return; /* range_granted() carries on */
			}
			if (sanitized_away(x, dst))
				return;
			x->in_submit = true;
			x->done_inline = false;
			submit(x, dst, USCST_IO_WRITE, lba << dst->block_shift,
			       sbc_write_fua(dst, false));
		}
		x->in_submit = false;
		if (!x->done_inline)
			return; /* io_done() resumes */
		if (!complete_io(x))
			return;
	}
}

static void io_done(struct uscst_io *io)
{
	struct xcopy_ctx *x = io->priv;
	if (x->in_submit) {
		x->done_inline = true;
		return;
	}
	if (complete_io(x))
		run(x);
}

/* Checks the devices the copy touches can be used as this nexus sees them,
 * in the order the dispatcher checks a command: reservations first. */
static bool devices_usable(struct uscst_cmd *cmd, const struct xcopy_list *l)
{
	for (unsigned i = 0; i < l->nseg; i++) {
		const struct xcopy_seg *s = &l->seg[i];
		struct uscst_device *src = l->cscd[s->src].dev;
		struct uscst_device *dst = l->cscd[s->dst].dev;
		if (s->bytes == 0)
			continue;
		if (scsi_reservation_conflict_io(cmd, src, false) ||
		    scsi_reservation_conflict_io(cmd, dst, true)) {
			cmd->status = SAM_STAT_RESERVATION_CONFLICT;
			cmd->sense_len = 0;
			return false;
		}
		if (!src->medium_present || !dst->medium_present) {
			scsi_check_condition(cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
			return false;
		}
		/* A device being sanitized, or left in sanitize failure mode,
		 * answers the copy as it would a READ or WRITE. */
		if (sbc_sanitize_refuses_io(cmd, src) || sbc_sanitize_refuses_io(cmd, dst))
			return false;
		if (write_protected(cmd, dst)) {
			scsi_check_condition(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
			return false;
		}
	}
	return true;
}

static uint64_t max_segment_bytes(const struct xcopy_list *l)
{
	uint64_t m = 0;
	for (unsigned i = 0; i < l->nseg; i++)
		if (l->seg[i].bytes > m)
			m = l->seg[i].bytes;
	return m;
}

/* Page-aligned (direct-I/O backends can use it as is) chunk buffer. */
static bool alloc_buffer(struct xcopy_ctx *x)
{
	uint64_t len = max_segment_bytes(&x->list);
	if (len > XCOPY_CHUNK_BYTES)
		len = XCOPY_CHUNK_BYTES;
	if (!len)
		return true;
	void *buf;
	if (posix_memalign(&buf, 4096, len) != 0)
		return false;
	x->buf = buf;
	return true;
}

void spc_extended_copy(struct uscst_cmd *cmd)
{
	struct xcopy_err e;
	/* The initiator may send less than the CDB's PARAMETER LIST LENGTH:
	 * only bytes really received count. */
	uint32_t len = cmd->out_buf ? cmd->out_buf_len : 0;
	if (len > cmd->out_len)
		len = cmd->out_len;

	struct xcopy_ctx *x = calloc(1, sizeof(*x));
	if (!x) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	x->cmd = cmd;
	x->slot = -1;
	int rc = xcopy_parse(cmd->out_buf, len, lookup_in_session, cmd, &x->list, &e);
	if (rc == 1) {
		free(x);
		scsi_cmd_done(cmd);
		return;
	}
	/* Once the list identifier is known, even a refused list leaves its
	 * status (and sense, for FAILED SEGMENT DETAILS) behind. */
	if (x->list.hdr_valid) {
		int slot = status_begin(cmd, &x->list);
		if (slot < 0) {
			free(x);
			if (slot == -1) {
				scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_OPERATION_IN_PROGRESS);
			} else {
				/* Every slot holds a running copy: try again later. */
				cmd->status = SAM_STAT_BUSY;
				scsi_cmd_done(cmd);
			}
			return;
		}
		x->slot = slot;
	}
	if (rc == 0)
		rc = xcopy_check_segments(&x->list, &e);
	if (rc < 0)
		set_sense(cmd, &e);
	else if (!devices_usable(cmd, &x->list))
		rc = -1;
	else if (!alloc_buffer(x)) {
		scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		rc = -1;
	}
	if (rc < 0) {
		if (x->slot >= 0)
			status_end(x->slot, cmd);
		free(x->buf);
		free(x);
		scsi_cmd_done(cmd);
		return;
	}
	cmd->hctx = x;
	run(x);
}

/* --- RECEIVE COPY RESULTS --- */

static void rcr_finish(struct uscst_cmd *cmd, uint32_t len)
{
	cmd->in_len = len;
	scsi_clip_in(cmd, get_be32(cmd->cdb + 10));
	scsi_cmd_done(cmd);
}

/* TRANSFER COUNT in the smallest unit that fits 32 bits (SPC-4 table 381:
 * 0 bytes, 1 KiB, 2 MiB, 3 GiB, 4 TiB, ...). */
static void put_transfer_count(uint8_t *b, uint64_t bytes)
{
	uint8_t unit = 0;
	while (bytes > 0xffffffffull) {
		bytes >>= 10;
		unit++;
	}
	b[0] = unit;
	put_be32(b + 1, (uint32_t)bytes);
}

static void rcr_copy_status(struct uscst_cmd *cmd)
{
	struct xcopy_status st;
	if (!status_get(cmd, cmd->cdb[2], &st)) {
		scsi_invalid_field_cdb(cmd, 2, -1);
		scsi_cmd_done(cmd);
		return;
	}
	uint8_t *b = scsi_alloc_in(cmd, 12);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	put_be32(b, 8);
	b[4] = st.cm_status; /* HDD 0: no held data */
	put_be16(b + 5, st.segs_done);
	put_transfer_count(b + 7, st.bytes_done);
	rcr_finish(cmd, 12);
}

static const uint8_t implemented_descs[] = {XCOPY_SEG_B2B, XCOPY_CSCD_ID_DESC};

static void rcr_operating_params(struct uscst_cmd *cmd)
{
	uint32_t len = 44 + sizeof(implemented_descs);
	uint8_t *b = scsi_alloc_in(cmd, len);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	put_be32(b, len - 4);
	b[4] = 0x01; /* SNLID: LIST ID USAGE 11b (no list identifier) is supported */
	put_be16(b + 8, XCOPY_MAX_CSCD_DESCS);
	put_be16(b + 10, XCOPY_MAX_SEG_DESCS);
	put_be32(b + 12, XCOPY_MAX_DESC_LIST_LEN);
	put_be32(b + 16, XCOPY_MAX_SEGMENT_BYTES);
	put_be32(b + 20, XCOPY_MAX_INLINE_DATA);
	put_be32(b + 24, 0); /* HELD DATA LIMIT: no data is held */
	put_be32(b + 28, 0); /* MAXIMUM STREAM DEVICE TRANSFER SIZE: no streams */
	put_be16(b + 34, XCOPY_MAX_CONCURRENT);
	b[36] = XCOPY_MAX_CONCURRENT;
	/* Granularities are log2 of bytes: data moves in whole blocks, so
	 * the smallest block size (512) is the segment granularity. */
	b[37] = 9;
	b[38] = 0;
	b[39] = 0;
	b[43] = sizeof(implemented_descs);
	memcpy(b + 44, implemented_descs, sizeof(implemented_descs));
	rcr_finish(cmd, len);
}

static void rcr_failed_segment_details(struct uscst_cmd *cmd)
{
	struct xcopy_status st;
	if (!status_get(cmd, cmd->cdb[2], &st)) {
		scsi_invalid_field_cdb(cmd, 2, -1);
		scsi_cmd_done(cmd);
		return;
	}
	if (st.running) {
		/* Still running: no details yet (AVAILABLE DATA 0). */
		uint8_t *b = scsi_alloc_in(cmd, 4);
		if (!b) {
			scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
			return;
		}
		rcr_finish(cmd, 4);
		return;
	}
	uint32_t len = 60u + st.sense_len;
	uint8_t *b = scsi_alloc_in(cmd, len);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	put_be32(b, len - 4);
	b[56] = st.cmd_status; /* COPY COMMAND STATUS */
	put_be16(b + 58, st.sense_len);
	memcpy(b + 60, st.sense, st.sense_len);
	rcr_finish(cmd, len);
}

void spc_receive_copy_results(struct uscst_cmd *cmd)
{
	switch (cmd->cdb[1] & 0x1f) {
	case RCR_COPY_STATUS:
		rcr_copy_status(cmd);
		break;
	case RCR_OPERATING_PARAMS:
		rcr_operating_params(cmd);
		break;
	case RCR_FAILED_SEGMENT_DETAILS:
		rcr_failed_segment_details(cmd);
		break;
	default:
		/* The opcode table only routes the service actions above here. */
		scsi_invalid_field_cdb(cmd, 1, 4);
		scsi_cmd_done(cmd);
		break;
	}
}
