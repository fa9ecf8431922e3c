/*
 * vdisk_fileio's file I/O, shared with the backends that read or write a
 * file the same way (vcdrom, vdisk_blockio): asynchronous on the calling
 * reactor, short transfers continued, reads past the end of the file as
 * zeros.
 */
#ifndef USCST_BACKEND_FILEIO_H
#define USCST_BACKEND_FILEIO_H

#include <stdbool.h>
#include <stdint.h>

#include <uscst/backend.h>

/* vdisk_fileio's per-device state, at the start of the backend_priv space
 * (ops->dev_priv_size) of every backend that uses the fileio_*(dev)
 * functions below (vdisk_blockio embeds it first in its own). */
struct fileio_dev {
	int fd;
	bool open; /* fd is the open storage (the space starts zeroed) */
};

/* vdisk_fileio's open: the "filename" attribute's file or block device,
 * created sparse of the configured size if missing; sets the device size
 * (the storage's, unless a smaller one is configured) and whether DISCARD
 * deallocates.  0 or -errno (logged). */
int fileio_open_dev(struct uscst_device *dev);
void fileio_close(struct uscst_device *dev);
/* The backend ops of the same names, on struct fileio_dev. */
int fileio_get_size(struct uscst_device *dev, uint64_t *size);
int fileio_storage_stat(struct uscst_device *dev, struct stat *sb);
int fileio_lba_status(struct uscst_device *dev, uint64_t offset, uint64_t *run_len, bool *mapped);

/* Size in bytes of a regular file or block device; 0 or -errno (-EINVAL:
 * neither). */
int fileio_storage_size(int fd, uint64_t *size);

/* Opens path (flags: O_RDONLY or O_RDWR, O_CLOEXEC added) as storage:
 * with O_NONBLOCK, so that a FIFO or a device that waits for a peer
 * cannot hang the caller (the control thread, holding the run-time
 * lock), then only a regular file or, if blk_ok, a block device is
 * taken, and O_NONBLOCK is cleared.  The fd, or -errno (-EINVAL: another
 * kind of file, -ENOENT: none). */
int fileio_open_storage(const char *path, int flags, bool blk_ok);

/* Runs io on fd, as a backend's submit does; release(hold), if release is
 * not NULL, runs once the I/O is over, just before io->done (what the
 * submitter held for it, e.g. the medium fd belongs to). */
void fileio_submit_fd(int fd, struct uscst_io *io, void (*release)(void *hold), void *hold);

#endif
