/*
 * Devices added, removed and changed at run time.
 *
 * A device's references: the device list's (from creation to removal), and
 * one per LUN map that maps it (core/lun_map.c).  A map that a session
 * replaced stays alive while a command decoded with it runs
 * (core/live_map.c), so a device that a command may still reach keeps a
 * reference: removing a device takes it off the list at once (its name is
 * free again) and closes it when the last reference goes (on a thread of
 * its own if that is a reactor's, as the last command is released).  A
 * changer holds a reference on each of its drives (scsi/smc_library.c).
 *
 * The core attributes that may change at run time are read on the data
 * path without a lock: read_only and write_through are atomic (a command
 * checked before the change finishes as it started), lb_per_pb_exp too;
 * t10_dev_id is copied
 * under dev->lock by INQUIRY; the size as in core/device_resize.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmdset.h"
#include "core/core.h"
#include "core/live.h"
#include "core/pr.h"
#include "core/stats.h"
#include "lib/log.h"

static void device_destroy(struct uscst_device *dev)
{
	log_info("device %s: closed (removed, its last command ended)", dev->name);
	if (dev->opened)
		dev->backend->close(dev);
	pr_state_free(atomic_load(&dev->pr));
	uscst_stats_free(dev->stats);
	free(dev->pr_saved);
	free(dev->pr_file_cfg);
	free(dev->pr_file_name);
	free(dev->pr_file_canon);
	struct uscst_attr *a, *tmp;
	list_for_each_entry_safe(a, tmp, &dev->handler_attrs, node)
	{
		list_del(&a->node);
		free(a->name);
		free(a->value);
		free(a);
	}
	pthread_mutex_destroy(&dev->lock);
	pthread_mutex_destroy(&dev->ranges.mutex);
	free(dev);
}

static void *destroy_thread(void *arg)
{
	device_destroy(arg);
	return NULL;
}

void uscst_device_put(struct uscst_device *dev)
{
	if (atomic_fetch_sub(&dev->refs, 1) != 1)
		return;
	/* The last reference may go on a reactor thread, with the last
	 * command of a removed device: closing may block (a pass-through
	 * device logs out of its upstream), so it gets a thread of its own. */
	if (reactor_current()) {
		pthread_t t;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		int rc = pthread_create(&t, &attr, destroy_thread, dev);
		pthread_attr_destroy(&attr);
		if (rc == 0)
			return;
	}
	device_destroy(dev);
}

/* Drops the list's reference of a device not mapped anywhere. */
static void unlink_and_put(struct uscst_device *dev)
{
	pthread_mutex_lock(&uscst_config_lock);
	core_device_unlink(dev);
	pthread_mutex_unlock(&uscst_config_lock);
	uscst_device_put(dev);
}

struct uscst_device *uscst_live_device_add(const char *handler, const char *name,
					   char *const *attrs, unsigned nattrs, char *err,
					   size_t errlen)
{
	struct uscst_device *dev = uscst_device_create(handler, name, err, errlen);
	if (!dev)
		return NULL;
	for (unsigned i = 0; i < nattrs; i++) {
		char *eq = strchr(attrs[i], '=');
		if (!eq || eq == attrs[i]) {
			snprintf(err, errlen, "device '%s': '%s' is not ATTRIBUTE=VALUE", name,
				 attrs[i]);
			goto fail;
		}
		*eq = '\0';
		bool ok = uscst_device_set_attr(dev, attrs[i], eq + 1, err, errlen);
		*eq = '=';
		if (!ok)
			goto fail;
	}
	if (uscst_device_open(dev, err, errlen) < 0)
		goto fail;
	if (uscst_device_attach(dev, err, errlen) < 0)
		goto fail;
	log_info("device %s (%s): added", name, handler);
	return dev;
fail:
	unlink_and_put(dev);
	return NULL;
}

int uscst_live_device_remove(const char *name, char *err, size_t errlen)
{
	pthread_mutex_lock(&uscst_config_lock);
	struct uscst_device *dev = uscst_device_find_locked(name);
	char mapped[USCST_NAME_MAX + 128];
	int rc = 0;
	if (!dev) {
		snprintf(err, errlen, "no device '%s'", name);
		rc = -ENOENT;
	} else if (uscst_live_device_mapped(dev, mapped, sizeof(mapped))) {
		snprintf(err, errlen, "device '%s' is still mapped by %s: remove that LUN first",
			 name, mapped);
		rc = -EBUSY;
	} else {
		core_device_unlink(dev);
	}
	pthread_mutex_unlock(&uscst_config_lock);
	if (rc)
		return rc;
	int refs = atomic_load(&dev->refs);
	log_info("device %s: removed%s", name,
		 refs > 1 ? "; closed once the commands still holding it end" : "");
	uscst_device_put(dev);
	return 0;
}

/* New capacity in force; CAPACITY DATA HAS CHANGED on every nexus that
 * sees dev if it changed (as resync_size does). */
static int set_size(struct uscst_device *dev, uint64_t bytes, char *err, size_t errlen)
{
	uint64_t nblocks = bytes >> dev->block_shift;
	if (nblocks == 0 || (bytes & (dev->block_size - 1))) {
		snprintf(err, errlen,
			 "device '%s': size %" PRIu64 " is not a whole number of %u-byte blocks",
			 dev->name, bytes, dev->block_size);
		return -EINVAL;
	}
	pthread_mutex_lock(&dev->lock);
	uint64_t old = atomic_load_explicit(&dev->nblocks, memory_order_relaxed);
	atomic_store_explicit(&dev->size, bytes, memory_order_relaxed);
	atomic_store_explicit(&dev->nblocks, nblocks, memory_order_relaxed);
	pthread_mutex_unlock(&dev->lock);
	if (old != nblocks) {
		log_info("device %s: resized %" PRIu64 " -> %" PRIu64 " blocks", dev->name, old,
			 nblocks);
		ua_establish_dev(dev, NULL, ASC_CAPACITY_DATA_CHANGED);
	}
	return 0;
}

int uscst_live_device_resize(struct uscst_device *dev, uint64_t bytes, char *err, size_t errlen)
{
	if (dev->backend->get_size) {
		/* The storage says how big it is: grow it, then resync. */
		snprintf(err, errlen,
			 "device '%s' (%s) takes its size from its storage: resize the storage, "
			 "then 'device %s resync_size'",
			 dev->name, dev->backend->name, dev->name);
		return -EOPNOTSUPP;
	}
	if (dev->cmdset->whole_commands) {
		snprintf(err, errlen, "device '%s' is a pass-through device: its size is its own",
			 dev->name);
		return -EOPNOTSUPP;
	}
	int rc = set_size(dev, bytes, err, errlen);
	if (rc == 0) {
		/* Kept for `show config`. */
		char v[32];
		snprintf(v, sizeof(v), "%" PRIu64, bytes);
		pthread_mutex_lock(&uscst_config_lock);
		uscst_device_set_attr(dev, "size", v, err, errlen);
		pthread_mutex_unlock(&uscst_config_lock);
	}
	return rc;
}

int uscst_live_device_set(struct uscst_device *dev, const char *name, const char *value, char *err,
			  size_t errlen)
{
	bool ro = !strcmp(name, "read_only"), wt = !strcmp(name, "write_through");
	bool id = !strcmp(name, "t10_dev_id"), lbppb = !strcmp(name, "lb_per_pb_exp");
	if (!strcmp(name, "size") || !strcmp(name, "size_mb")) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(value, &end, 10);
		if (errno || end == value || *end || value[0] == '-' ||
		    (name[4] && n > (UINT64_MAX >> 20))) {
			snprintf(err, errlen, "bad %s '%s'", name, value);
			return -EINVAL;
		}
		return uscst_live_device_resize(dev, name[4] ? n << 20 : n, err, errlen);
	}
	if (!ro && !wt && !id && !lbppb)
		return uscst_device_set_runtime_attr(dev, name, value, err, errlen);
	/* Stored (and checked) by the attribute table: the field is what
	 * the data path reads.  t10_dev_id under dev->lock, as INQUIRY
	 * copies it. */
	pthread_mutex_lock(&uscst_config_lock);
	if (id)
		pthread_mutex_lock(&dev->lock);
	bool ok = uscst_device_set_attr(dev, name, value, err, errlen);
	if (id)
		pthread_mutex_unlock(&dev->lock);
	pthread_mutex_unlock(&uscst_config_lock);
	if (!ok)
		return -EINVAL;
	if (wt)
		atomic_store_explicit(
		    &dev->wce, !atomic_load_explicit(&dev->write_through, memory_order_relaxed),
		    memory_order_relaxed);
	log_info("device %s: %s set to '%s'", dev->name, name, value);
	if (id)
		ua_establish_dev(dev, NULL, ASC_INQUIRY_DATA_CHANGED);
	else if (lbppb)
		/* What READ CAPACITY(16) reports changed: the UA a resize gives. */
		ua_establish_dev(dev, NULL, ASC_CAPACITY_DATA_CHANGED);
	else
		/* The WP bit (read_only) or the caching page (write_through)
		 * a MODE SENSE reports changed. */
		ua_establish_dev(dev, NULL, ASC_MODE_PARAMETERS_CHANGED);
	return 0;
}
