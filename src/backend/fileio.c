/*
 * vdisk_fileio: a file (or block device) through the page cache, with every
 * I/O submitted asynchronously on the calling reactor (uscst_reactor_file_io,
 * io_uring underneath).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <limits.h>

#include <uscst/backend.h>
#include <uscst/iov.h>
#include <uscst/reactor.h>

#include "backend/builtin.h"
#include "backend/fileio.h"
#include "lib/log.h"

static struct fileio_dev *fdev(struct uscst_device *dev) { return uscst_device_backend_priv(dev); }

/* An I/O in flight, in the backend_priv space of its struct uscst_io. */
struct fileio_req {
	struct uscst_file_io fio;
	struct uscst_io *io;
	uint64_t done_bytes;
	/* What the submitter holds for the I/O (vcdrom: its medium), let go
	 * of when it ends; NULL: nothing. */
	void (*release)(void *hold);
	void *hold;
};
_Static_assert(sizeof(struct fileio_req) <= USCST_IO_BACKEND_PRIV, "fileio_req too large");

static struct fileio_req *req_of(struct uscst_io *io)
{
	return (struct fileio_req *)io->backend_priv;
}

/* Creates a missing image file as a sparse file of the configured size. */
int fileio_open_storage(const char *path, int flags, bool blk_ok)
{
	int fd = open(path, flags | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode) && !(blk_ok && S_ISBLK(st.st_mode)))
		rc = -EINVAL;
	else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static int open_or_create(struct uscst_device *dev)
{
	const char *filename = uscst_device_attr(dev, "filename");
	bool read_only = uscst_device_read_only(dev);
	uint64_t cfg_size = uscst_device_size(dev);
	int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int fd = fileio_open_storage(filename, flags, true);
	if (fd == -ENOENT && cfg_size && !read_only) {
		fd = open(filename, flags | O_CREAT | O_EXCL, 0600);
		if (fd >= 0 && ftruncate(fd, (off_t)cfg_size) < 0) {
			int e = errno;
			close(fd);
			unlink(filename);
			return -e;
		}
		if (fd < 0)
			return -errno;
		log_info("device %s: created sparse file %s", uscst_device_name(dev), filename);
	}
	if (fd == -EINVAL)
		log_err("device %s: %s is not a regular file or block device",
			uscst_device_name(dev), filename);
	return fd;
}

int fileio_storage_size(int fd, uint64_t *size)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Punching a hole past the end of a regular file changes nothing but tells
 * whether the file system can deallocate at all. */
static bool probe_discard(int fd, uint64_t size)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)size + (1 << 20),
			 4096) == 0;
}

/* The storage's physical block: what a block device reports (BLKPBSZGET),
 * or the file system's preferred I/O block of a file (st_blksize, the unit
 * below which a write is a read-modify-write of the page cache and a hole
 * cannot be punched); 0 when unknown. */
static uint32_t physical_block_size(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return 0;
	if (S_ISBLK(st.st_mode)) {
		unsigned int pbs = 0;
		return ioctl(fd, BLKPBSZGET, &pbs) < 0 ? 0 : pbs;
	}
	return st.st_blksize > 0 && st.st_blksize <= UINT32_MAX ? (uint32_t)st.st_blksize : 0;
}

int fileio_open_dev(struct uscst_device *dev)
{
	if (!uscst_device_attr(dev, "filename"))
		return -EINVAL;
	int fd = open_or_create(dev);
	if (fd < 0)
		return fd;
	uint64_t size;
	int rc = fileio_storage_size(fd, &size);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	uint64_t cfg_size = uscst_device_size(dev);
	if (!cfg_size || cfg_size > size)
		uscst_device_set_size(dev, size);
	*fdev(dev) = (struct fileio_dev){.fd = fd, .open = true};
	uscst_device_set_discard_ok(dev, !uscst_device_read_only(dev) && probe_discard(fd, size));
	uscst_device_set_physical_block_size(dev, physical_block_size(fd));
	return 0;
}

int fileio_get_size(struct uscst_device *dev, uint64_t *size)
{
	const struct fileio_dev *st = fdev(dev);
	return st->open ? fileio_storage_size(st->fd, size) : -EBADF;
}

int fileio_storage_stat(struct uscst_device *dev, struct stat *sb)
{
	const struct fileio_dev *st = fdev(dev);
	if (!st->open)
		return -EBADF;
	return fstat(st->fd, sb) < 0 ? -errno : 0;
}

void fileio_close(struct uscst_device *dev)
{
	struct fileio_dev *st = fdev(dev);
	if (st->open)
		close(st->fd);
	st->open = false;
}

static void fileio_queue(struct fileio_req *req);

static void finish(struct uscst_io *io, int64_t result)
{
	struct fileio_req *req = req_of(io);
	if (req->release)
		req->release(req->hold);
	io->result = result;
	io->done(io);
}

static void fileio_complete(struct uscst_file_io *fio, int32_t res)
{
	struct fileio_req *req = (struct fileio_req *)fio;
	struct uscst_io *io = req->io;
	if (res < 0) {
		finish(io, res);
		return;
	}
	if (io->op != USCST_IO_READ && io->op != USCST_IO_WRITE) {
		finish(io, (int64_t)io->len);
		return;
	}
	if (res == 0) {
		/* End of file on read: the rest of the range reads as zeros. */
		if (io->op == USCST_IO_READ)
			uscst_iov_memset(io->iov, io->iovcnt, req->done_bytes, 0,
					 io->len - req->done_bytes);
		finish(io, io->op == USCST_IO_READ ? (int64_t)io->len : -EIO);
		return;
	}
	req->done_bytes += (uint64_t)res;
	if (req->done_bytes >= io->len) {
		finish(io, (int64_t)req->done_bytes);
		return;
	}
	fileio_queue(req); /* short transfer: continue where it stopped */
}

static const enum uscst_file_op file_ops[] = {
    [USCST_IO_READ] = USCST_FILE_READ,
    [USCST_IO_WRITE] = USCST_FILE_WRITE,
    [USCST_IO_FLUSH] = USCST_FILE_FDATASYNC,
    [USCST_IO_DISCARD] = USCST_FILE_PUNCH_HOLE,
    [USCST_IO_WRITE_ZEROES] = USCST_FILE_ZERO_RANGE,
    [USCST_IO_PREFETCH] = USCST_FILE_WILLNEED,
};

/*
 * The rest of a READ or WRITE, from req->done_bytes on: what is left of
 * the current segment alone when that is all there is or when a short
 * transfer stopped inside it (the caller's iovec array cannot be trimmed),
 * else the whole segments from there with readv/writev, at most IOV_MAX
 * at a time.  A short or capped transfer comes back to this.
 */
static void set_rw_range(struct fileio_req *req)
{
	struct uscst_io *io = req->io;
	struct uscst_file_io *fio = &req->fio;
	uint64_t left = io->len - req->done_bytes;
	unsigned idx = 0;
	size_t off = 0;
	uscst_iov_seek(io->iov, io->iovcnt, req->done_bytes, &idx, &off);
	size_t seg_left = io->iov[idx].iov_len - off;
	if (off || left <= seg_left) {
		fio->buf = (char *)io->iov[idx].iov_base + off;
		fio->len = left < seg_left ? left : seg_left;
		return;
	}
	fio->op = io->op == USCST_IO_READ ? USCST_FILE_READV : USCST_FILE_WRITEV;
	fio->iov = &io->iov[idx];
	fio->iovcnt = io->iovcnt - idx < IOV_MAX ? io->iovcnt - idx : IOV_MAX;
	fio->len = left;
}

static void fileio_queue(struct fileio_req *req)
{
	struct uscst_io *io = req->io;
	req->fio.op = file_ops[io->op];
	req->fio.dsync = io->op == USCST_IO_WRITE && io->fua;
	req->fio.offset = io->offset + req->done_bytes;
	req->fio.len = io->len - req->done_bytes;
	if (io->op == USCST_IO_READ || io->op == USCST_IO_WRITE)
		set_rw_range(req);
	req->fio.done = fileio_complete;
	int rc = uscst_reactor_file_io(&req->fio);
	if (rc < 0)
		finish(io, rc);
}

void fileio_submit_fd(int fd, struct uscst_io *io, void (*release)(void *hold), void *hold)
{
	struct fileio_req *req = req_of(io);
	req->io = io;
	req->done_bytes = 0;
	req->release = release;
	req->hold = hold;
	req->fio.fd = fd;
	if (io->len == 0 && io->op != USCST_IO_FLUSH) {
		finish(io, 0);
		return;
	}
	/* The segments are walked by byte count: more or fewer bytes than
	 * len would move data outside [offset, offset + len). */
	if ((io->op == USCST_IO_READ || io->op == USCST_IO_WRITE) &&
	    uscst_iov_length(io->iov, io->iovcnt) != io->len) {
		finish(io, -EINVAL);
		return;
	}
	fileio_queue(req);
}

static void fileio_submit(struct uscst_device *dev, struct uscst_io *io)
{
	fileio_submit_fd(fdev(dev)->fd, io, NULL, NULL);
}

int fileio_lba_status(struct uscst_device *dev, uint64_t offset, uint64_t *run_len, bool *mapped)
{
	/* Read once: resync_size may change it on another thread, and a
	 * shrink between two reads would make "size - offset" wrap around. */
	uint64_t size = uscst_device_size(dev);
	int fd = fdev(dev)->fd;
	if (offset >= size) {
		*mapped = false;
		*run_len = 0;
		return 0;
	}
	off_t data = lseek(fd, (off_t)offset, SEEK_DATA);
	if (data < 0 && errno != ENXIO)
		return -errno;
	if (data < 0 || (uint64_t)data >= size) {
		*mapped = false;
		*run_len = size - offset;
		return 0;
	}
	if ((uint64_t)data > offset) {
		*mapped = false;
		*run_len = (uint64_t)data - offset;
		return 0;
	}
	off_t hole = lseek(fd, (off_t)offset, SEEK_HOLE);
	if (hole < 0)
		return -errno;
	*mapped = true;
	uint64_t end = (uint64_t)hole < size ? (uint64_t)hole : size;
	*run_len = end - offset;
	return 0;
}

/* SCST's vdisk_fileio names (scst_vdisk.c); the others it has, beyond
 * the core's, are not built here. */
static const struct uscst_attr_def fileio_attrs[] = {
    /* The image file or block device; created sparse, of the configured
     * size, if it does not exist. */
    {.name = "filename", .type = USCST_ATTR_STRING},
    {.name = "o_direct", .type = USCST_ATTR_BOOL, .flags = USCST_ATTR_NOT_BUILT, .def = "0"},
    {.name = NULL},
};

const struct uscst_backend_ops backend_fileio_ops = {
    .name = "vdisk_fileio",
    .dev_attrs = fileio_attrs,
    .open = fileio_open_dev,
    .close = fileio_close,
    .submit = fileio_submit,
    .lba_status = fileio_lba_status,
    .get_size = fileio_get_size,
    .storage_stat = fileio_storage_stat,
    .dev_priv_size = sizeof(struct fileio_dev),
    .cmdset = "sbc",
};
