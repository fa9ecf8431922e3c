/* Device handler registry: SCST handler names to backend implementations. */
#include <string.h>

#include <uscst/backend.h>

extern const struct uscst_backend_ops backend_fileio_ops;
extern const struct uscst_backend_ops backend_nullio_ops;

static const struct uscst_backend_ops *const backends[] = {
    &backend_fileio_ops,
    &backend_nullio_ops,
};

const struct uscst_backend_ops *uscst_backend_find(const char *handler_name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i]->name, handler_name))
			return backends[i];
	return NULL;
}
