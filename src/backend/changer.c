/*
 * vchanger: the medium changer of a virtual tape library.  It has no
 * storage of its own: its attributes say where the tapes are (library_dir,
 * a directory of vtape images), which vtape devices are its drives and how
 * many slots it has; the SMC command set (scsi/smc_library.c) builds the
 * library from them once every device is open.  No command submits I/O to
 * it.
 */
#include <errno.h>

#include <uscst/backend.h>

#include "backend/builtin.h"

/* A changer has no logical blocks and no medium in the disk sense. */
static int changer_open(struct uscst_device *dev)
{
	uscst_device_set_size(dev, 0);
	uscst_device_set_medium_present(dev, false);
	uscst_device_set_discard_ok(dev, false);
	return 0;
}

static void changer_close(struct uscst_device *dev) { (void)dev; }

/* The SMC table has no command that reads or writes blocks. */
static void changer_submit(struct uscst_device *dev, struct uscst_io *io)
{
	(void)dev;
	io->result = -EOPNOTSUPP;
	io->done(io);
}

static const struct uscst_attr_def changer_attrs[] = {
    /* The directory of tape images: each regular file is a tape, its
     * barcode the file name without the extension. */
    {.name = "library_dir", .type = USCST_ATTR_STRING},
    /* Its drives: vtape devices, comma-separated, in element order. */
    {.name = "drives", .type = USCST_ATTR_LIST},
    {.name = "slots", .type = USCST_ATTR_UINT, .min = 1, .max = 1024, .def = "10"},
    {.name = "ie_slots", .type = USCST_ATTR_UINT, .min = 0, .max = 16, .def = "1"},
    {.name = NULL},
};

const struct uscst_backend_ops backend_changer_ops = {
    .name = "vchanger",
    .dev_attrs = changer_attrs,
    .open = changer_open,
    .close = changer_close,
    .submit = changer_submit,
    .cmdset = "smc",
};
