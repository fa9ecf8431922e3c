/*
 * vdisk_fileio: a file (or block device) through the page cache, with every
 * I/O submitted asynchronously on the calling reactor's io_uring.
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

#include "core/core.h"
#include "lib/log.h"
#include "reactor/reactor.h"

/* Creates a missing image file as a sparse file of the configured size. */
static int open_or_create(struct uscst_device *dev)
{
	int flags = (dev->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int fd = open(dev->filename, flags);
	if (fd < 0 && errno == ENOENT && dev->size && !dev->read_only) {
		fd = open(dev->filename, flags | O_CREAT | O_EXCL, 0600);
		if (fd >= 0 && ftruncate(fd, (off_t)dev->size) < 0) {
			int e = errno;
			close(fd);
			unlink(dev->filename);
			return -e;
		}
		if (fd >= 0)
			log_info("device %s: created sparse file %s", dev->name, dev->filename);
	}
	return fd < 0 ? -errno : fd;
}

static int storage_size(int fd, uint64_t *size)
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

static int fileio_open(struct uscst_device *dev)
{
	if (!dev->filename)
		return -EINVAL;
	int fd = open_or_create(dev);
	if (fd < 0)
		return fd;
	uint64_t size;
	int rc = storage_size(fd, &size);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	if (!dev->size || dev->size > size)
		dev->size = size;
	dev->fd = fd;
	dev->discard_ok = !dev->read_only && probe_discard(fd, size);
	return 0;
}

static int fileio_get_size(struct uscst_device *dev, uint64_t *size)
{
	if (dev->fd < 0)
		return -EBADF;
	return storage_size(dev->fd, size);
}

static void fileio_close(struct uscst_device *dev)
{
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}

static void fileio_queue(struct uscst_device *dev, struct uscst_io *io);

static void finish(struct uscst_io *io, int64_t result)
{
	io->result = result;
	io->done(io);
}

static void fileio_complete(struct uscst_completion *c, int32_t res)
{
	struct uscst_io *io = (struct uscst_io *)((char *)c - offsetof(struct uscst_io, comp));
	struct uscst_device *dev = io->dev;
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
			memset((char *)io->buf + io->done_bytes, 0, io->len - io->done_bytes);
		finish(io, io->op == USCST_IO_READ ? (int64_t)io->len : -EIO);
		return;
	}
	io->done_bytes += (uint64_t)res;
	if (io->done_bytes >= io->len) {
		finish(io, (int64_t)io->done_bytes);
		return;
	}
	fileio_queue(dev, io); /* short transfer: continue where it stopped */
}

static void fileio_queue(struct uscst_device *dev, struct uscst_io *io)
{
	struct reactor *r = reactor_current();
	struct io_uring_sqe *sqe = r ? reactor_get_sqe(r) : NULL;
	if (!sqe) {
		finish(io, -EAGAIN);
		return;
	}
	uint64_t off = io->offset + io->done_bytes;
	uint64_t left = io->len - io->done_bytes;
	switch (io->op) {
	case USCST_IO_READ:
		io_uring_prep_read(sqe, dev->fd, (char *)io->buf + io->done_bytes, (unsigned)left,
				   off);
		break;
	case USCST_IO_WRITE:
		io_uring_prep_write(sqe, dev->fd, (char *)io->buf + io->done_bytes, (unsigned)left,
				    off);
		if (io->fua)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case USCST_IO_FLUSH:
		io_uring_prep_fsync(sqe, dev->fd, IORING_FSYNC_DATASYNC);
		break;
	case USCST_IO_DISCARD:
		io_uring_prep_fallocate(sqe, dev->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)off, (off_t)left);
		break;
	case USCST_IO_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, dev->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					(off_t)off, (off_t)left);
		break;
	case USCST_IO_PREFETCH:
		io_uring_prep_fadvise(sqe, dev->fd, off, (off_t)left, POSIX_FADV_WILLNEED);
		break;
	}
	io->comp.fn = fileio_complete;
	io_uring_sqe_set_data(sqe, &io->comp);
}

static void fileio_submit(struct uscst_device *dev, struct uscst_io *io)
{
	io->done_bytes = 0;
	io->dev = dev;
	if (io->len == 0 && io->op != USCST_IO_FLUSH) {
		finish(io, 0);
		return;
	}
	fileio_queue(dev, io);
}

static int fileio_lba_status(struct uscst_device *dev, uint64_t offset, uint64_t *run_len,
			     bool *mapped)
{
	/* Read once: resync_size may change it on another thread, and a
	 * shrink between two reads would make "size - offset" wrap around. */
	uint64_t size = __atomic_load_n(&dev->size, __ATOMIC_RELAXED);
	if (offset >= size) {
		*mapped = false;
		*run_len = 0;
		return 0;
	}
	off_t data = lseek(dev->fd, (off_t)offset, SEEK_DATA);
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
	off_t hole = lseek(dev->fd, (off_t)offset, SEEK_HOLE);
	if (hole < 0)
		return -errno;
	*mapped = true;
	uint64_t end = (uint64_t)hole < size ? (uint64_t)hole : size;
	*run_len = end - offset;
	return 0;
}

const struct uscst_backend_ops backend_fileio_ops = {
    .name = "vdisk_fileio",
    .open = fileio_open,
    .close = fileio_close,
    .submit = fileio_submit,
    .lba_status = fileio_lba_status,
    .get_size = fileio_get_size,
    .supports_discard = true,
};
