/* vdisk_nullio: no storage.  Reads return zeros, writes are dropped; for
 * testing transports and measuring the target's own cost per command. */
#include <uscst/backend.h>
#include <uscst/iov.h>

#include "backend/builtin.h"

#define NULLIO_DEFAULT_SIZE (10ull << 30)

static int nullio_open(struct uscst_device *dev)
{
	if (!uscst_device_size(dev))
		uscst_device_set_size(dev, NULLIO_DEFAULT_SIZE);
	/* Nothing is stored, so every block reads as zero: deallocation is free. */
	uscst_device_set_discard_ok(dev, true);
	return 0;
}

static void nullio_close(struct uscst_device *dev) {}

static void nullio_submit(struct uscst_device *dev, struct uscst_io *io)
{
	if (io->op == USCST_IO_READ)
		uscst_iov_memset(io->iov, io->iovcnt, 0, 0, io->len);
	io->result = (int64_t)io->len;
	io->done(io);
}

static int nullio_lba_status(struct uscst_device *dev, uint64_t offset, uint64_t *run_len,
			     bool *mapped)
{
	uint64_t size = uscst_device_size(dev);
	*mapped = false;
	*run_len = offset < size ? size - offset : 0;
	return 0;
}

/* SCST's vdisk_nullio names beyond the core's (scst_vdisk.c). */
static const struct uscst_attr_def nullio_attrs[] = {
    /* A PQ 1 / type 0x1f placeholder for LUN 0. */
    {.name = "dummy", .type = USCST_ATTR_BOOL, .flags = USCST_ATTR_NOT_BUILT, .def = "0"},
    {.name = NULL},
};

const struct uscst_backend_ops backend_nullio_ops = {
    .name = "vdisk_nullio",
    .dev_attrs = nullio_attrs,
    .open = nullio_open,
    .close = nullio_close,
    .submit = nullio_submit,
    .lba_status = nullio_lba_status,
    .cmdset = "sbc",
};
