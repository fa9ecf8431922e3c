/* Registration of the built-in backends (backend/builtin.h). */
#include "backend/builtin.h"

static const struct uscst_backend_ops *const builtin[] = {
    &backend_fileio_ops, &backend_blockio_ops, &backend_nullio_ops,    &backend_vcdrom_ops,
    &backend_vtape_ops,	 &backend_changer_ops, &backend_dev_iscsi_ops, &backend_dev_sg_ops,
};

int uscst_backends_register_builtin(void)
{
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		int rc = uscst_backend_register(builtin[i], USCST_BACKEND_ABI);
		if (rc < 0)
			return rc;
	}
	return 0;
}
