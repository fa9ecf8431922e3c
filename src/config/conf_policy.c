/* What the core says about device attributes, for the diff (config/conf_diff.h). */
#include <string.h>

#include "config/conf_exec.h"
#include "core/backends.h"
#include "core/device_attrs.h"

/* The attributes the core changes itself at run time (resize, the
 * read-only and write-cache state, the identifier, the physical block
 * READ CAPACITY(16) reports), whatever the handler. */
static const char *const core_runtime[] = {"read_only", "write_through", "t10_dev_id",
					   "size",	"size_mb",	 "lb_per_pb_exp"};

static const struct uscst_attr_def *find_def(const struct uscst_attr_def *table, const char *name)
{
	for (const struct uscst_attr_def *d = table; d && d->name; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

static const struct uscst_attr_def *handler_def(const char *handler, const char *attr)
{
	const struct uscst_backend_ops *ops = uscst_backend_find(handler);
	return ops ? find_def(ops->dev_attrs, attr) : NULL;
}

static enum conf_attr_runtime device_attr(void *arg, const char *handler, const char *attr)
{
	for (size_t i = 0; i < sizeof(core_runtime) / sizeof(core_runtime[0]); i++)
		if (strcmp(attr, core_runtime[i]) == 0)
			return CONF_ATTR_RUNTIME;
	const struct uscst_attr_def *d = handler_def(handler, attr);
	return d && (d->flags & USCST_ATTR_RUNTIME) ? CONF_ATTR_RUNTIME : CONF_ATTR_FIXED;
}

static const char *device_attr_default(void *arg, const char *handler, const char *attr)
{
	const struct uscst_attr_def *d = find_def(uscst_core_device_attrs, attr);
	if (!d)
		d = handler_def(handler, attr);
	return d ? d->def : NULL;
}

const struct conf_diff_policy conf_core_policy = {device_attr, device_attr_default, NULL};
