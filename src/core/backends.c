/* Backend registry: SCST handler names to backend implementations, filled
 * by uscst_backend_register() (include/uscst/backend.h, core/backends.h). */
#include "core/backends.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "core/device_attrs.h"
#include "lib/log.h"

#define MAX_BACKENDS 64

static const struct uscst_backend_ops *registry[MAX_BACKENDS];
static size_t nregistered;
/* Registration runs at start-up; the lock only keeps a registration made
 * while another thread looks a handler up consistent. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct uscst_backend_ops *find_locked(const char *name)
{
	for (size_t i = 0; i < nregistered; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

int uscst_backend_register(const struct uscst_backend_ops *ops, unsigned abi)
{
	const char *name = ops && ops->name ? ops->name : "?";
	if (abi != USCST_BACKEND_ABI) {
		log_err("backend '%s': built for backend ABI %u, this daemon has %u", name, abi,
			USCST_BACKEND_ABI);
		return -EPROTO;
	}
	if (!ops || !ops->name || !ops->name[0] || strlen(ops->name) > USCST_BACKEND_NAME_MAX ||
	    !ops->open || !ops->close || (!ops->submit && !ops->exec_cmd)) {
		log_err("backend '%s': needs a name of 1 to %d characters, open, close, and submit "
			"or exec_cmd",
			name, USCST_BACKEND_NAME_MAX);
		return -EINVAL;
	}
	const char *problem = uscst_device_attr_table_problem(ops->dev_attrs);
	for (const struct uscst_attr_def *d = ops->dev_attrs; !problem && d && d->name; d++)
		if ((d->flags & USCST_ATTR_RUNTIME) && !ops->set_attr)
			problem = "run-time attribute (USCST_ATTR_RUNTIME) but no set_attr";
	if (problem) {
		log_err("backend '%s': %s", name, problem);
		return -EINVAL;
	}
	int rc = 0;
	pthread_mutex_lock(&registry_lock);
	if (find_locked(ops->name))
		rc = -EEXIST;
	else if (nregistered >= MAX_BACKENDS)
		rc = -ENOSPC;
	else
		registry[nregistered++] = ops;
	pthread_mutex_unlock(&registry_lock);
	if (rc == -EEXIST)
		log_err("backend '%s' is registered already", name);
	else if (rc == -ENOSPC)
		log_err("backend '%s': no room (at most %d backends)", name, MAX_BACKENDS);
	return rc;
}

const struct uscst_backend_ops *uscst_backend_find(const char *handler_name)
{
	pthread_mutex_lock(&registry_lock);
	const struct uscst_backend_ops *ops = find_locked(handler_name);
	pthread_mutex_unlock(&registry_lock);
	return ops;
}

const struct uscst_backend_ops *uscst_backend_next(const struct uscst_backend_ops *prev)
{
	const struct uscst_backend_ops *next = NULL;
	pthread_mutex_lock(&registry_lock);
	size_t i = 0;
	if (prev) {
		while (i < nregistered && registry[i] != prev)
			i++;
		i++;
	}
	if (i < nregistered)
		next = registry[i];
	pthread_mutex_unlock(&registry_lock);
	return next;
}
