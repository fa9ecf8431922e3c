/*
 * vdisk_fileio's file I/O, shared with the backends that read or write a
 * file the same way (vcdrom): asynchronous on the calling reactor, short
 * transfers continued, reads past the end of the file as zeros.
 */
#ifndef USCST_BACKEND_FILEIO_H
#define USCST_BACKEND_FILEIO_H

#include <stdbool.h>
#include <stdint.h>

#include <uscst/backend.h>

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
