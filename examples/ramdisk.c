/*
 * ramdisk: a uscst handler plugin (include/uscst/handler.h, mode a) that
 * keeps a disk in memory.  The core emulates SPC/SBC around it; this file
 * only reads, writes, zeroes and discards bytes.
 *
 *     HANDLER ramdisk {
 *             plugin /path/to/ramdisk.so
 *             DEVICE ram0 {
 *                     size_mb 64          # the core's size or size_mb: required
 *             }
 *     }
 *
 * The memory is an anonymous private mapping: untouched and discarded
 * pages cost nothing and read as zeros.  Everything completes inline, on
 * the reactor thread that submitted it; a read-write lock per device keeps
 * concurrent commands from different reactors apart.
 *
 * Build: cc -std=gnu11 -Iinclude -fPIC -shared -Wl,-z,defs -o ramdisk.so ramdisk.c
 */
#define _GNU_SOURCE /* fallocate, MADV_DONTNEED */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uscst/handler.h>

static const struct uscst_handler_host *host;

struct ramdisk {
	uint8_t *mem;
	uint64_t size; /* of the mapping */
	pthread_rwlock_t lock;
};

static struct ramdisk *ram_of(struct uscst_device *dev) { return host->device_backend_priv(dev); }

static int ramdisk_open(struct uscst_device *dev)
{
	struct ramdisk *rd = ram_of(dev);
	uint64_t size = host->device_size(dev);
	if (!size) {
		host->log(USCST_LOG_ERR, "ramdisk %s: give its size (size or size_mb)",
			  host->device_name(dev));
		return -EINVAL;
	}
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	rd->mem = mem;
	rd->size = size;
	pthread_rwlock_init(&rd->lock, NULL);
	/* Discarded pages go back to the system and read as zeros. */
	host->device_set_discard_ok(dev, true);
	return 0;
}

static void ramdisk_close(struct uscst_device *dev)
{
	struct ramdisk *rd = ram_of(dev);
	if (!rd->mem)
		return;
	munmap(rd->mem, rd->size);
	pthread_rwlock_destroy(&rd->lock);
	rd->mem = NULL;
}

/* Zeros [off, off+len): whole pages are given back, the edges cleared. */
static void zero_range(struct ramdisk *rd, uint64_t off, uint64_t len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t first = (off + page - 1) / page * page;
	uint64_t last = (off + len) / page * page;
	if (first >= last) {
		memset(rd->mem + off, 0, len);
		return;
	}
	memset(rd->mem + off, 0, first - off);
	if (madvise(rd->mem + first, last - first, MADV_DONTNEED) < 0)
		memset(rd->mem + first, 0, last - first);
	memset(rd->mem + last, 0, off + len - last);
}

static int64_t ramdisk_do(struct ramdisk *rd, struct uscst_io *io)
{
	/* The core checked the range against the device size; the device
	 * may have been resized since (it has no get_size, so it is not). */
	if (io->offset > rd->size || io->len > rd->size - io->offset)
		return -EINVAL;
	switch (io->op) {
	case USCST_IO_READ:
		pthread_rwlock_rdlock(&rd->lock);
		host->iov_from_buf(io->iov, io->iovcnt, 0, rd->mem + io->offset, io->len);
		pthread_rwlock_unlock(&rd->lock);
		return (int64_t)io->len;
	case USCST_IO_WRITE:
		pthread_rwlock_wrlock(&rd->lock);
		host->iov_to_buf(io->iov, io->iovcnt, 0, rd->mem + io->offset, io->len);
		pthread_rwlock_unlock(&rd->lock);
		return (int64_t)io->len;
	case USCST_IO_DISCARD:
	case USCST_IO_WRITE_ZEROES:
		pthread_rwlock_wrlock(&rd->lock);
		zero_range(rd, io->offset, io->len);
		pthread_rwlock_unlock(&rd->lock);
		return (int64_t)io->len;
	case USCST_IO_FLUSH:
		return 0; /* memory is all the durability there is */
	case USCST_IO_PREFETCH:
		return (int64_t)io->len; /* already "cached" */
	}
	return -EOPNOTSUPP;
}

static void ramdisk_submit(struct uscst_device *dev, struct uscst_io *io)
{
	io->result = ramdisk_do(ram_of(dev), io);
	io->done(io);
}

static const struct uscst_backend_ops ramdisk_ops = {
    .name = "ramdisk",
    .dev_priv_size = sizeof(struct ramdisk),
    .open = ramdisk_open,
    .close = ramdisk_close,
    .submit = ramdisk_submit,
    .cmdset = "sbc",
};

static int ramdisk_init(const struct uscst_handler_host *h)
{
	host = h;
	return h->backend_register(&ramdisk_ops, USCST_BACKEND_ABI);
}

USCST_HANDLER_PLUGIN(.name = "ramdisk example", .init = ramdisk_init);
