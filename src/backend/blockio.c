/*
 * vdisk_blockio: a file or block device with O_DIRECT (SCST's "BLOCKIO on
 * files"): every I/O goes through the reactor's io_uring straight to the
 * storage, bypassing the host's page cache, so the target's memory use does
 * not grow with the data and a write is on the device once it completes
 * (and durable too with FUA or write_through: RWF_DSYNC).  SYNCHRONIZE
 * CACHE is an fdatasync, which flushes the device's volatile cache.
 *
 * Opening, sizes, provisioning, flush, DISCARD and WRITE ZEROES are
 * vdisk_fileio's (backend/fileio.h).  What O_DIRECT adds is alignment
 * (backend/dio_align.h): a request whose offset, length and buffer suit
 * the storage goes to it as it is (fileio_submit_fd); any other goes
 * through an aligned bounce buffer (lib/buf_pool.h), in steps of at
 * most BUF_POOL_MAX bytes: a read reads the covering aligned range and
 * copies out the requested bytes; a write reads the partial blocks at
 * either end, patches in the data and writes the covering range back
 * (read-modify-write), holding that range against every other write to it
 * (backend/dio_range.h) so that two small writes into one block keep both.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <uscst/backend.h>
#include <uscst/iov.h>
#include <uscst/reactor.h>

#include "backend/builtin.h"
#include "backend/dio_align.h"
#include "backend/dio_range.h"
#include "backend/fileio.h"
#include "lib/buf_pool.h"
#include "lib/log.h"

struct blockio_dev {
	struct fileio_dev f; /* first: the fileio_*(dev) functions use it */
	struct dio_align align;
	bool is_blk;
	/* The logical block is smaller than the storage's alignment, so a
	 * request may be unaligned and read-modify-write: every write then
	 * takes its range in `ranges`. */
	bool lock_writes;
	bool ranges_ready; /* ranges initialised (closed: destroy) */
	struct dio_range_table ranges;
};

static struct blockio_dev *bdev(struct uscst_device *dev) { return uscst_device_backend_priv(dev); }

/* ---- requests that go to the storage as they are ---- */

/* A range held for an aligned write, DISCARD or WRITE ZEROES (lock_writes
 * only): it is released by fileio_submit_fd's release, before done(). */
struct direct_hold {
	struct dio_range range;
	struct blockio_dev *bd;
	struct uscst_io *io;
};

static void direct_release(void *hold)
{
	struct direct_hold *h = hold;
	dio_range_release(&h->bd->ranges, &h->range);
	buf_pool_put(h, sizeof(*h));
}

static void direct_resume(struct dio_range *r)
{
	struct direct_hold *h = container_of(r, struct direct_hold, range);
	fileio_submit_fd(h->bd->f.fd, h->io, direct_release, h);
}

static void complete(struct uscst_io *io, int64_t result)
{
	io->result = result;
	io->done(io);
}

static void submit_direct(struct blockio_dev *bd, struct uscst_io *io, bool writes)
{
	if (!writes || !bd->lock_writes) {
		fileio_submit_fd(bd->f.fd, io, NULL, NULL);
		return;
	}
	struct direct_hold *h = buf_pool_get(sizeof(*h));
	if (!h) {
		complete(io, -ENOMEM);
		return;
	}
	h->bd = bd;
	h->io = io;
	if (dio_range_acquire(&bd->ranges, &h->range, io->offset, io->offset + io->len, false,
			      direct_resume))
		direct_resume(&h->range);
}

/* ---- requests bounced through an aligned buffer ---- */

enum bounce_step {
	STEP_READ,	/* the chunk, for a READ */
	STEP_READ_HEAD, /* its first block, for a WRITE that starts inside it */
	STEP_READ_TAIL, /* its last block, for a WRITE that ends inside it */
	STEP_WRITE,	/* the patched chunk */
};

struct bounce {
	struct uscst_file_io fio; /* first: the completion finds the rest */
	struct dio_range range;
	struct blockio_dev *bd;
	struct uscst_io *io;
	uint8_t *buf;
	size_t cap;
	bool zeros;  /* WRITE ZEROES: the data written is zeros, not io->iov */
	bool locked; /* range is held */
	enum bounce_step step;
	struct dio_chunk chunk;
	uint64_t done;		     /* request bytes finished, in whole chunks */
	uint64_t step_pos, step_end; /* storage range of the step; pos moves on */
};

static void bounce_finish(struct bounce *b, int64_t result)
{
	struct uscst_io *io = b->io;
	if (b->locked)
		dio_range_release(&b->bd->ranges, &b->range);
	buf_pool_put(b->buf, b->cap);
	buf_pool_put(b, sizeof(*b));
	complete(io, result);
}

static void bounce_complete(struct uscst_file_io *fio, int32_t res);

static void bounce_issue(struct bounce *b)
{
	struct uscst_file_io *fio = &b->fio;
	bool write = b->step == STEP_WRITE;
	fio->fd = b->bd->f.fd;
	fio->op = write ? USCST_FILE_WRITE : USCST_FILE_READ;
	fio->dsync = write && b->io->fua;
	fio->buf = b->buf + (b->step_pos - b->chunk.start);
	fio->offset = b->step_pos;
	fio->len = b->step_end - b->step_pos;
	fio->done = bounce_complete;
	int rc = uscst_reactor_file_io(fio);
	if (rc < 0)
		bounce_finish(b, rc);
}

static void bounce_step(struct bounce *b, enum bounce_step step, uint64_t start, uint64_t end)
{
	b->step = step;
	b->step_pos = start;
	b->step_end = end;
	bounce_issue(b);
}

/* The partial blocks are in: the data goes over them, then all is written. */
static void bounce_write(struct bounce *b)
{
	const struct dio_chunk *c = &b->chunk;
	struct uscst_io *io = b->io;
	if (b->zeros)
		memset(b->buf + c->skip, 0, c->data_len);
	else
		uscst_iov_to_buf(io->iov, io->iovcnt, b->done, b->buf + c->skip, c->data_len);
	bounce_step(b, STEP_WRITE, c->start, c->end);
}

/* The next chunk of the request, or its end. */
static void bounce_next(struct bounce *b)
{
	struct uscst_io *io = b->io;
	if (b->done == io->len) {
		bounce_finish(b, (int64_t)io->len);
		return;
	}
	const struct dio_align *a = &b->bd->align;
	struct dio_chunk *c = &b->chunk;
	dio_next_chunk(a, io->offset, io->len, b->done, (uint32_t)b->cap, c);
	if (io->op == USCST_IO_READ)
		bounce_step(b, STEP_READ, c->start, c->end);
	else if (c->read_head)
		bounce_step(b, STEP_READ_HEAD, c->start, c->start + a->file);
	else if (c->read_tail)
		bounce_step(b, STEP_READ_TAIL, c->end - a->file, c->end);
	else
		bounce_write(b);
}

static void bounce_step_done(struct bounce *b)
{
	const struct dio_chunk *c = &b->chunk;
	switch (b->step) {
	case STEP_READ:
		uscst_iov_from_buf(b->io->iov, b->io->iovcnt, b->done, b->buf + c->skip,
				   c->data_len);
		b->done += c->data_len;
		bounce_next(b);
		return;
	case STEP_READ_HEAD:
		if (c->read_tail) {
			bounce_step(b, STEP_READ_TAIL, c->end - b->bd->align.file, c->end);
			return;
		}
		bounce_write(b);
		return;
	case STEP_READ_TAIL:
		bounce_write(b);
		return;
	case STEP_WRITE:
		b->done += c->data_len;
		bounce_next(b);
		return;
	}
}

static void bounce_complete(struct uscst_file_io *fio, int32_t res)
{
	struct bounce *b = (struct bounce *)fio;
	if (res < 0) {
		bounce_finish(b, res);
		return;
	}
	uint64_t want = b->step_end - b->step_pos;
	if (b->step != STEP_WRITE && (uint64_t)res < want) {
		/* Short read: the end of the storage (it shrank under the device,
		 * as before a resync_size), which reads as zeros. */
		memset(b->buf + (b->step_pos - b->chunk.start) + res, 0, want - (uint64_t)res);
		res = (int32_t)want;
	}
	b->step_pos += (uint64_t)res;
	if (b->step_pos < b->step_end) {
		/* A short write continues where it stopped, if O_DIRECT can. */
		if (res == 0 || b->step_pos % b->bd->align.file) {
			bounce_finish(b, -EIO);
			return;
		}
		bounce_issue(b);
		return;
	}
	bounce_step_done(b);
}

static void bounce_resume(struct dio_range *r)
{
	struct bounce *b = container_of(r, struct bounce, range);
	bounce_next(b);
}

static void submit_bounced(struct blockio_dev *bd, struct uscst_io *io, bool zeros)
{
	const struct dio_align *a = &bd->align;
	uint64_t start = dio_down(io->offset, a->file), end = dio_up(io->offset + io->len, a->file);
	bool unaligned = (io->offset | io->len) & (a->file - 1);
	bool writes = io->op != USCST_IO_READ;
	if (writes && unaligned && !bd->lock_writes) {
		/* Cannot happen: requests are in logical blocks, and these are
		 * no smaller than the alignment when writes take no lock. */
		log_err("vdisk_blockio: write at %llu+%llu not on %u-byte blocks",
			(unsigned long long)io->offset, (unsigned long long)io->len, a->file);
		complete(io, -EIO);
		return;
	}
	struct bounce *b = buf_pool_get(sizeof(*b));
	size_t len = end - start < BUF_POOL_MAX ? end - start : BUF_POOL_MAX;
	/* Power-of-two sizes, aligned to their size up to a page: a multiple
	 * of the file alignment, in memory aligned at least as needed. */
	size_t cap = buf_pool_cap(len);
	uint8_t *buf = b ? buf_pool_get(len) : NULL;
	if (!buf) {
		buf_pool_put(b, sizeof(*b));
		complete(io, -ENOMEM);
		return;
	}
	*b = (struct bounce){.bd = bd, .io = io, .buf = buf, .cap = cap, .zeros = zeros};
	if (writes && bd->lock_writes) {
		b->locked = true;
		/* Only a read-modify-write excludes the others. */
		if (!dio_range_acquire(&bd->ranges, &b->range, start, end, unaligned,
				       bounce_resume))
			return;
	}
	bounce_next(b);
}

/* ---- the backend ---- */

static void blockio_submit(struct uscst_device *dev, struct uscst_io *io)
{
	struct blockio_dev *bd = bdev(dev);
	const struct dio_align *a = &bd->align;
	switch (io->op) {
	case USCST_IO_READ:
	case USCST_IO_WRITE:
		/* The segments are walked by byte count (as fileio checks). */
		if (uscst_iov_length(io->iov, io->iovcnt) != io->len) {
			complete(io, -EINVAL);
			return;
		}
		if (io->len == 0) {
			complete(io, 0);
			return;
		}
		if (dio_aligned(a, io->offset, io->len, io->iov, io->iovcnt))
			submit_direct(bd, io, io->op == USCST_IO_WRITE);
		else
			submit_bounced(bd, io, false);
		return;
	case USCST_IO_FLUSH:
		submit_direct(bd, io, false);
		return;
	case USCST_IO_PREFETCH:
		/* Nothing is cached here: loading the page cache would only
		 * make it grow, and later reads would not use it. */
		complete(io, (int64_t)io->len);
		return;
	case USCST_IO_WRITE_ZEROES:
		/* fallocate on a block device takes only whole logical blocks
		 * (a file system zeroes partial ones itself). */
		if (bd->is_blk && ((io->offset | io->len) & (a->file - 1)) && io->len) {
			submit_bounced(bd, io, true);
			return;
		}
		submit_direct(bd, io, true);
		return;
	case USCST_IO_DISCARD:
		submit_direct(bd, io, true);
		return;
	}
	complete(io, -EOPNOTSUPP);
}

static void blockio_close(struct uscst_device *dev)
{
	struct blockio_dev *bd = bdev(dev);
	fileio_close(dev);
	if (bd->ranges_ready)
		dio_range_table_destroy(&bd->ranges);
	bd->ranges_ready = false;
}

/* What is usable of the storage: whole aligned blocks only, so that the
 * covering range of a request never reaches past its end. */
static int blockio_get_size(struct uscst_device *dev, uint64_t *size)
{
	int rc = fileio_get_size(dev, size);
	if (rc == 0)
		*size = dio_down(*size, bdev(dev)->align.file);
	return rc;
}

/* fileio's open, then O_DIRECT on the descriptor (its error is clearer
 * than open's EINVAL) and the alignment the storage needs. */
static int setup_direct(struct uscst_device *dev, struct blockio_dev *bd)
{
	const char *name = uscst_device_name(dev);
	int fd = bd->f.fd;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_DIRECT) < 0) {
		int e = errno;
		log_err("device %s: O_DIRECT refused (%s): the file system cannot do direct "
			"I/O; use vdisk_fileio",
			name, strerror(e));
		return -e;
	}
	int rc = dio_align_query(fd, &bd->align);
	if (rc < 0) {
		log_err("device %s: direct I/O alignment unknown or above %u bytes: %s", name,
			DIO_ALIGN_MAX, strerror(-rc));
		return rc;
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	bd->is_blk = S_ISBLK(st.st_mode);
	uint64_t usable;
	rc = blockio_get_size(dev, &usable);
	if (rc < 0)
		return rc;
	if (uscst_device_size(dev) > usable) {
		log_info("device %s: size %llu cut to %llu, whole %u-byte blocks of the storage",
			 name, (unsigned long long)uscst_device_size(dev),
			 (unsigned long long)usable, bd->align.file);
		uscst_device_set_size(dev, usable);
	}
	bd->lock_writes = uscst_device_block_size(dev) < bd->align.file;
	log_info("device %s: O_DIRECT, %u-byte alignment (memory %u)%s", name, bd->align.file,
		 bd->align.mem, bd->lock_writes ? "; smaller writes by read-modify-write" : "");
	return 0;
}

static int blockio_open(struct uscst_device *dev)
{
	int rc = fileio_open_dev(dev);
	if (rc < 0)
		return rc;
	struct blockio_dev *bd = bdev(dev);
	rc = setup_direct(dev, bd);
	if (rc < 0) {
		fileio_close(dev);
		return rc;
	}
	dio_range_table_init(&bd->ranges);
	bd->ranges_ready = true;
	return 0;
}

/* SCST's vdisk_blockio names beyond the core's (blocksize, read_only,
 * write_through, nv_cache, rotational, thin_provisioned, ...). */
static const struct uscst_attr_def blockio_attrs[] = {
    /* The file or block device; a missing file is created sparse, of the
     * configured size. */
    {.name = "filename", .type = USCST_ATTR_STRING},
    {.name = NULL},
};

const struct uscst_backend_ops backend_blockio_ops = {
    .name = "vdisk_blockio",
    .dev_attrs = blockio_attrs,
    .open = blockio_open,
    .close = blockio_close,
    .submit = blockio_submit,
    .lba_status = fileio_lba_status,
    .get_size = blockio_get_size,
    .storage_stat = fileio_storage_stat,
    .dev_priv_size = sizeof(struct blockio_dev),
    .cmdset = "sbc",
};
