/*
 * The backends built into uscstd.  libuscst.a is a static library: a
 * backend object nothing references would be left out of the link, so the
 * daemon (and a test that needs real backends) registers them with one
 * explicit call at start-up rather than by constructors.
 */
#ifndef USCST_BACKEND_BUILTIN_H
#define USCST_BACKEND_BUILTIN_H

#include <uscst/backend.h>

extern const struct uscst_backend_ops backend_fileio_ops;
/* O_DIRECT on a file or block device (blockio.c). */
extern const struct uscst_backend_ops backend_blockio_ops;
extern const struct uscst_backend_ops backend_nullio_ops;
extern const struct uscst_backend_ops backend_vcdrom_ops;
extern const struct uscst_backend_ops backend_vtape_ops;
extern const struct uscst_backend_ops backend_changer_ops;
/* Pass-through devices: an upstream iSCSI LUN (dev_iscsi.c). */
extern const struct uscst_backend_ops backend_dev_iscsi_ops;
/* Pass-through devices: a real SCSI device through SG_IO (dev_sg.c). */
extern const struct uscst_backend_ops backend_dev_sg_ops;

/* Registers the backends above.  0, or the first failing
 * uscst_backend_register()'s -errno (logged). */
int uscst_backends_register_builtin(void);

#endif
