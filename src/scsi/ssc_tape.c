/*
 * The tape image of an SSC drive, through its backend: mounting it (the
 * header, then the record chain into an in-memory index), appending
 * records, reading them back.  The format is lib/tape_format.h's
 * (docs/tape-image.md).
 *
 * Crash safety: every append writes its records and a fresh end-of-data
 * marker in one write at the end of data, so an image always ends with a
 * marker unless a write was cut short; each record names the CRC of the
 * header before it and carries a random salt, so a record left over from
 * an older, longer history never continues the chain.  Mounting stops at
 * the marker or at the first header that does not continue the chain (a
 * torn write), and then also drops a last data record whose data fail
 * their CRC (its header reached the file, its data not all).  A filemark
 * (WRITE FILEMARKS with IMMED clear) is acknowledged only after a flush.
 *
 * Only the running command touches this state (cmdset_ssc.c runs one
 * command at a time per drive), so the continuation of a multi-step
 * operation is kept in it (the k_ fields) rather than in the command.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "scsi/ssc.h"

uint64_t ssc_obj_off(const struct ssc_state *st, uint64_t n)
{
	if (n < st->count)
		return st->objs[n].off;
	if (!st->count)
		return TAPE_HEADER_SIZE;
	const struct ssc_obj *o = &st->objs[st->count - 1];
	return o->off + tape_rec_size(o->len);
}

uint64_t ssc_early_warning(const struct ssc_state *st)
{
	uint64_t ew = st->hdr.capacity / 16;
	return ew > (32u << 20) ? (32u << 20) : ew;
}

uint64_t ssc_file_of(const struct ssc_state *st, uint64_t n)
{
	uint64_t files = 0;
	for (uint64_t i = 0; i < n && i < st->count; i++)
		files += st->objs[i].type == TAPE_REC_FILEMARK;
	return files;
}

bool ssc_write_protected(const struct uscst_cmd *cmd, const struct ssc_state *st)
{
	return atomic_load_explicit(&cmd->dev->read_only, memory_order_relaxed) ||
	       (cmd->lun_ent && cmd->lun_ent->read_only) ||
	       atomic_load_explicit(&cmd->dev->swp, memory_order_relaxed) ||
	       (st->hdr.flags & TAPE_FLAG_WRITE_PROTECT);
}

/*
 * Every I/O of the drive: submitted only if the tape is still the one
 * mounted (no change since, none under way), under io_lock so that a
 * change cannot come between the check and the backend taking its
 * reference on the medium; otherwise cb sees -ENOMEDIUM at once.
 */
static void tape_io(struct uscst_cmd *cmd, struct ssc_state *st, enum uscst_io_op op,
		    uint64_t offset, uint64_t len, void *buf, void (*cb)(struct uscst_cmd *cmd))
{
	pthread_mutex_lock(&st->io_lock);
	bool same = !atomic_load_explicit(&st->changing, memory_order_relaxed) &&
		    atomic_load_explicit(&st->gen, memory_order_relaxed) == st->mount_gen;
	if (same)
		scsi_submit_io(cmd, op, offset, len, buf, false, cb);
	pthread_mutex_unlock(&st->io_lock);
	if (!same) {
		cmd->io.result = -ENOMEDIUM;
		cb(cmd);
	}
}

void ssc_sync_tape(struct ssc_state *st)
{
	if (st->mount_gen == atomic_load_explicit(&st->gen, memory_order_relaxed))
		return;
	ssc_unmount(st);
	st->unloaded = false;
	st->mount_gen = atomic_load_explicit(&st->gen, memory_order_relaxed);
}

void ssc_unmount(struct ssc_state *st)
{
	st->mounted = false;
	/* Nothing of the old tape's header (its write protection) outlives
	 * it. */
	memset(&st->hdr, 0, sizeof(st->hdr));
	st->count = 0;
	st->pos = 0;
	st->dirty = false;
}

static bool reserve(struct ssc_state *st, uint64_t n)
{
	if (n <= st->cap)
		return true;
	uint64_t cap = st->cap ? st->cap : 256;
	while (cap < n)
		cap *= 2;
	struct ssc_obj *o = realloc(st->objs, cap * sizeof(*o));
	if (!o)
		return false;
	st->objs = o;
	st->cap = cap;
	return true;
}

static uint32_t next_salt(struct ssc_state *st)
{
	uint32_t x = st->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	st->rng = x;
	return x;
}

/* ---- mounting ---- */

static void mount_end(struct uscst_cmd *cmd, struct ssc_state *st, int err)
{
	free(st->k_buf);
	st->k_buf = NULL;
	if (err) {
		ssc_unmount(st);
		if (err == -ENOMEDIUM) {
			ssc_io_failed(cmd, err, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
			return;
		}
		log_err("device %s: cannot mount the tape image: %s", cmd->dev->name,
			err == -EINVAL ? "not a valid tape image" : strerror(-err));
		scsi_fail(cmd, SK_MEDIUM_ERROR, 0x30, 0x00); /* INCOMPATIBLE MEDIUM INSTALLED */
		return;
	}
	st->mounted = true;
	st->pos = 0;
	st->dirty = false;
	st->mount_cb(cmd, st);
}

static void scan_next(struct uscst_cmd *cmd);

/* The last data record before a torn end: its data must match its CRC. */
static void torn_data_read(struct uscst_cmd *cmd)
{
	struct ssc_state *st = ssc_state(cmd->dev);
	const struct ssc_obj *o = &st->objs[st->count - 1];
	if (cmd->io.result < 0) {
		mount_end(cmd, st, (int)cmd->io.result);
		return;
	}
	if (tape_crc(st->k_buf, o->len) != o->dcrc) {
		log_warn("device %s: tape image: last block %llu torn, cut", cmd->dev->name,
			 (unsigned long long)(st->count - 1));
		st->count--;
	}
	mount_end(cmd, st, 0);
}

static void scan_end(struct uscst_cmd *cmd, struct ssc_state *st, bool torn)
{
	if (torn)
		log_warn("device %s: tape image: end of data recovered after %llu objects "
			 "(no end-of-data marker: the last write was cut short)",
			 cmd->dev->name, (unsigned long long)st->count);
	if (!torn || !st->count || st->objs[st->count - 1].type != TAPE_REC_DATA) {
		mount_end(cmd, st, 0);
		return;
	}
	const struct ssc_obj *o = &st->objs[st->count - 1];
	free(st->k_buf);
	st->k_buf = malloc(o->len);
	if (!st->k_buf) {
		mount_end(cmd, st, -ENOMEM);
		return;
	}
	tape_io(cmd, st, USCST_IO_READ, o->off + TAPE_REC_HDR_SIZE, o->len, st->k_buf,
		torn_data_read);
}

/* Bytes of the image one read of the mount takes: many small records'
 * headers at once. */
#define SCAN_CHUNK (256u << 10)

/* A chunk of the image from offset k_at, k_n bytes long, has been read:
 * the records whose headers lie in it join the index. */
static void scan_chunk(struct uscst_cmd *cmd)
{
	struct ssc_state *st = ssc_state(cmd->dev);
	if (cmd->io.result < 0) {
		mount_end(cmd, st, (int)cmd->io.result);
		return;
	}
	uint64_t limit = TAPE_HEADER_SIZE + st->hdr.capacity;
	while (st->k_off + TAPE_REC_HDR_SIZE <= st->k_at + st->k_n) {
		struct tape_rec r;
		uint32_t prev = st->count ? st->objs[st->count - 1].crc : tape_chain_seed(&st->hdr);
		if (!tape_rec_decode(st->k_buf + (st->k_off - st->k_at), &r) ||
		    !tape_rec_follows(&r, st->count, prev) ||
		    st->k_off + tape_rec_size(r.len) > limit) {
			scan_end(cmd, st, true);
			return;
		}
		if (r.type == TAPE_REC_EOD) {
			scan_end(cmd, st, false);
			return;
		}
		if (st->count == SSC_MAX_OBJECTS) {
			log_err("device %s: tape image holds more than %u objects", cmd->dev->name,
				SSC_MAX_OBJECTS);
			mount_end(cmd, st, -EFBIG);
			return;
		}
		if (!reserve(st, st->count + 1)) {
			mount_end(cmd, st, -ENOMEM);
			return;
		}
		st->objs[st->count++] = (struct ssc_obj){.off = st->k_off,
							 .len = r.len,
							 .crc = r.hdr_crc,
							 .dcrc = r.data_crc,
							 .type = r.type};
		st->k_off += tape_rec_size(r.len);
	}
	scan_next(cmd);
}

/* Reads the chunk that holds the next record's header (at k_off). */
static void scan_next(struct uscst_cmd *cmd)
{
	struct ssc_state *st = ssc_state(cmd->dev);
	uint64_t limit = TAPE_HEADER_SIZE + st->hdr.capacity;
	if (st->k_off + TAPE_REC_HDR_SIZE > limit) {
		scan_end(cmd, st, true);
		return;
	}
	uint64_t len = limit - st->k_off < SCAN_CHUNK ? limit - st->k_off : SCAN_CHUNK;
	st->k_at = st->k_off;
	st->k_n = len;
	tape_io(cmd, st, USCST_IO_READ, st->k_off, len, st->k_buf, scan_chunk);
}

static void header_read(struct uscst_cmd *cmd)
{
	struct ssc_state *st = ssc_state(cmd->dev);
	if (cmd->io.result < 0) {
		mount_end(cmd, st, (int)cmd->io.result);
		return;
	}
	/* The backend checked the header when it opened the image; a file
	 * changed behind its back is refused here. */
	if (tape_header_decode(st->k_buf, TAPE_HEADER_SIZE, &st->hdr)) {
		mount_end(cmd, st, -EINVAL);
		return;
	}
	st->count = 0;
	st->k_off = TAPE_HEADER_SIZE;
	free(st->k_buf);
	st->k_buf = malloc(SCAN_CHUNK);
	if (!st->k_buf) {
		mount_end(cmd, st, -ENOMEM);
		return;
	}
	scan_next(cmd);
}

void ssc_with_tape(struct uscst_cmd *cmd, void (*fn)(struct uscst_cmd *, struct ssc_state *))
{
	struct ssc_state *st = ssc_state(cmd->dev);
	ssc_sync_tape(st);
	if (st->start_gen != atomic_load(&st->gen) ||
	    atomic_load_explicit(&st->changing, memory_order_relaxed)) {
		/* Between the old tape leaving and a new one arriving, or the
		 * tape changed after this command passed its unit attention
		 * check: it must not reach a tape it was not told of. */
		scsi_fail(cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
		return;
	}
	if (st->mounted) {
		fn(cmd, st);
		return;
	}
	st->mount_cb = fn;
	free(st->k_buf);
	st->k_buf = malloc(TAPE_HEADER_SIZE);
	if (!st->k_buf) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	tape_io(cmd, st, USCST_IO_READ, 0, TAPE_HEADER_SIZE, st->k_buf, header_read);
}

/* ---- writing ---- */

static void k_end(struct uscst_cmd *cmd, struct ssc_state *st, int err)
{
	free(st->k_buf);
	st->k_buf = NULL;
	st->k_cb(cmd, st, err);
}

static void flushed(struct uscst_cmd *cmd)
{
	struct ssc_state *st = ssc_state(cmd->dev);
	if (cmd->io.result >= 0)
		st->dirty = false;
	k_end(cmd, st, cmd->io.result < 0 ? (int)cmd->io.result : 0);
}

void ssc_flush(struct uscst_cmd *cmd, struct ssc_state *st,
	       void (*cb)(struct uscst_cmd *, struct ssc_state *, int err))
{
	st->k_cb = cb;
	if (!st->dirty) {
		k_end(cmd, st, 0);
		return;
	}
	tape_io(cmd, st, USCST_IO_FLUSH, 0, 0, NULL, flushed);
}

/* Bytes of records one write of an append takes at most: a WRITE
 * FILEMARKS of 16M filemarks, or a fixed-block WRITE of 16M one-byte
 * blocks, goes out in pieces, not in one buffer of hundreds of MB. */
#define APPEND_CHUNK (4u << 20)

static void append_chunk(struct uscst_cmd *cmd, struct ssc_state *st);

static void end_data_written(struct uscst_cmd *cmd)
{
	struct ssc_state *st = ssc_state(cmd->dev);
	if (cmd->io.result < 0)
		log_warn("device %s: cannot mark the end of data after a failed write: %s",
			 cmd->dev->name, strerror((int)-cmd->io.result));
	k_end(cmd, st, st->k_err);
}

/*
 * A write failed (err): the tape ends at object count now, but the image
 * may still hold the records that were there before, chained, and they
 * would come back at the next mount.  A fresh end-of-data marker at
 * count makes the image say what the index says (unless the tape is
 * gone: then it is not this drive's to write).  cb gets err either way.
 */
static void end_data_here(struct uscst_cmd *cmd, struct ssc_state *st, int err)
{
	st->k_err = err;
	if (err == -ENOMEDIUM || !st->k_buf) {
		k_end(cmd, st, err);
		return;
	}
	uint64_t n = st->count;
	struct tape_rec eod = {.type = TAPE_REC_EOD,
			       .seq = n,
			       .prev_crc = n ? st->objs[n - 1].crc : tape_chain_seed(&st->hdr),
			       .salt = next_salt(st)};
	tape_rec_encode(st->k_buf, &eod);
	tape_io(cmd, st, USCST_IO_WRITE, ssc_obj_off(st, n), TAPE_REC_HDR_SIZE, st->k_buf,
		end_data_written);
}

static void appended(struct uscst_cmd *cmd)
{
	struct ssc_state *st = ssc_state(cmd->dev);
	uint64_t end = st->k_at + st->k_done;
	if (cmd->io.result < 0) {
		/* What follows the chunk's start may be half overwritten: the
		 * tape ends there now (the chunks before it stand), on disk as
		 * in memory. */
		if (st->count > end)
			st->count = end;
		st->pos = st->count;
		end_data_here(cmd, st, (int)cmd->io.result);
		return;
	}
	st->k_done += st->k_chunk;
	st->count = st->k_at + st->k_done;
	st->pos = st->count;
	st->dirty = true;
	if (st->k_done < st->k_n) {
		append_chunk(cmd, st);
		return;
	}
	if (st->k_flush) {
		free(st->k_buf);
		st->k_buf = NULL;
		tape_io(cmd, st, USCST_IO_FLUSH, 0, 0, NULL, flushed);
		return;
	}
	k_end(cmd, st, 0);
}

/* The next chunk of the append: records k_done.. of k_n, then an
 * end-of-data marker, in one write at the end of data. */
static void append_chunk(struct uscst_cmd *cmd, struct ssc_state *st)
{
	uint64_t at = st->k_at + st->k_done;
	uint32_t len = st->k_len;
	uint64_t per = APPEND_CHUNK / tape_rec_size(len);
	uint64_t nrec = st->k_n - st->k_done;
	if (nrec > per)
		nrec = per ? per : 1;
	uint64_t bytes = nrec * tape_rec_size(len) + TAPE_REC_HDR_SIZE;
	free(st->k_buf);
	st->k_buf = malloc(bytes);
	if (!st->k_buf) {
		k_end(cmd, st, -ENOMEM);
		return;
	}
	uint64_t start = ssc_obj_off(st, at), off = start;
	uint32_t prev = at ? st->objs[at - 1].crc : tape_chain_seed(&st->hdr);
	uint8_t *p = st->k_buf;
	/* The new objects go into the index beyond count (scratch until the
	 * write succeeds: appended() moves count over them). */
	for (uint64_t i = 0; i < nrec; i++) {
		const uint8_t *d = st->k_type == TAPE_REC_DATA
				       ? st->k_data + (st->k_done + i) * (uint64_t)len
				       : NULL;
		struct tape_rec r = {.type = st->k_type,
				     .seq = at + i,
				     .len = d ? len : 0,
				     .data_crc = d ? tape_crc(d, len) : 0,
				     .prev_crc = prev,
				     .salt = next_salt(st)};
		tape_rec_encode(p, &r);
		if (d)
			memcpy(p + TAPE_REC_HDR_SIZE, d, len);
		st->objs[at + i] = (struct ssc_obj){
		    .off = off, .len = r.len, .crc = r.hdr_crc, .dcrc = r.data_crc, .type = r.type};
		prev = r.hdr_crc;
		off += tape_rec_size(r.len);
		p += tape_rec_size(r.len);
	}
	struct tape_rec eod = {
	    .type = TAPE_REC_EOD, .seq = at + nrec, .prev_crc = prev, .salt = next_salt(st)};
	tape_rec_encode(p, &eod);
	st->k_chunk = nrec;
	tape_io(cmd, st, USCST_IO_WRITE, start, bytes, st->k_buf, appended);
}

void ssc_append(struct uscst_cmd *cmd, struct ssc_state *st, uint64_t at, uint8_t type,
		uint32_t nrec, uint32_t len, const uint8_t *data, bool flush,
		void (*cb)(struct uscst_cmd *, struct ssc_state *, int err))
{
	st->k_cb = cb;
	if (!reserve(st, at + nrec)) {
		k_end(cmd, st, -ENOMEM);
		return;
	}
	/* Objects from `at` on are gone whatever the write does. */
	if (st->count > at)
		st->count = at;
	st->k_at = at;
	st->k_n = nrec;
	st->k_done = 0;
	st->k_type = type;
	st->k_len = type == TAPE_REC_DATA ? len : 0;
	st->k_data = data;
	st->k_flush = flush;
	append_chunk(cmd, st);
}

/* ---- reading ---- */

static void objs_read(struct uscst_cmd *cmd)
{
	struct ssc_state *st = ssc_state(cmd->dev);
	if (cmd->io.result < 0) {
		k_end(cmd, st, (int)cmd->io.result);
		return;
	}
	uint64_t base = st->objs[st->k_at].off;
	uint8_t *out = st->k_out;
	for (uint64_t i = st->k_at; i < st->k_at + st->k_n; i++) {
		const struct ssc_obj *o = &st->objs[i];
		const uint8_t *d = st->k_buf + (o->off - base) + TAPE_REC_HDR_SIZE;
		if (tape_crc(d, o->len) != o->dcrc) {
			st->k_bad = i - st->k_at; /* the good ones before it are in k_out */
			k_end(cmd, st, -EBADMSG);
			return;
		}
		memcpy(out, d, o->len);
		out += o->len;
	}
	k_end(cmd, st, 0);
}

void ssc_read_objs(struct uscst_cmd *cmd, struct ssc_state *st, uint64_t first, uint64_t n,
		   uint8_t *buf, void (*cb)(struct uscst_cmd *, struct ssc_state *, int err))
{
	st->k_cb = cb;
	const struct ssc_obj *last = &st->objs[first + n - 1];
	uint64_t start = st->objs[first].off;
	uint64_t bytes = last->off + tape_rec_size(last->len) - start;
	st->k_buf = malloc(bytes);
	if (!st->k_buf) {
		k_end(cmd, st, -ENOMEM);
		return;
	}
	st->k_out = buf;
	st->k_at = first;
	st->k_n = n;
	tape_io(cmd, st, USCST_IO_READ, start, bytes, st->k_buf, objs_read);
}

/* ---- sense ---- */

void ssc_io_failed(struct uscst_cmd *cmd, int err, uint8_t key, uint8_t asc, uint8_t ascq)
{
	if (err == -ENOMEDIUM)
		scsi_fail(cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
	else
		scsi_fail(cmd, key, asc, ascq);
}

void ssc_sense(struct uscst_cmd *cmd, uint8_t bits, uint8_t key, uint8_t asc, uint8_t ascq,
	       bool info_valid, int64_t info)
{
	if (info_valid)
		scsi_check_condition_info(cmd, key, asc, ascq, (uint64_t)info);
	else
		scsi_check_condition(cmd, key, asc, ascq);
	if (!bits)
		return;
	if ((cmd->sense[0] & 0x7f) == 0x70) {
		cmd->sense[2] |= bits; /* FILEMARK, EOM, ILI */
		return;
	}
	/* Descriptor format: the stream commands descriptor (SPC-5,
	 * type 04h). */
	uint8_t *d = cmd->sense + cmd->sense_len;
	memset(d, 0, 4);
	d[0] = 0x04;
	d[1] = 0x02;
	d[3] = bits;
	cmd->sense[7] += 4;
	cmd->sense_len += 4;
}
