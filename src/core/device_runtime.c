/*
 * Run-time changes of a running device: a handler attribute marked
 * USCST_ATTR_RUNTIME set by the administrator (uscstadmin device NAME set
 * ATTR VALUE) or by a command set (a changer loading a drive), and the
 * medium change a backend reports (include/uscst/backend.h).
 *
 * An initiator that prevents medium removal (PREVENT ALLOW MEDIUM REMOVAL)
 * keeps its medium: a change of an attribute marked USCST_ATTR_MEDIUM is
 * refused with -EBUSY until every nexus allows removal again (or a LU
 * reset or the end of the nexus clears the prevention).  That is what SCST
 * does for vcdrom's filename (vcdrom_change refuses it while prevented)
 * and what PREVENT means to the initiator: the medium stays until it says
 * otherwise.  A PREVENT that arrives while the change is under way (after
 * the check) is ordered after it: its nexus sees the change by the unit
 * attention on its next command.
 */
#include <errno.h>
#include <stdio.h>

#include "core/attr_table.h"
#include "core/cmdset.h"
#include "core/core.h"
#include "core/device_attrs.h"
#include "lib/log.h"

/* One run-time change at a time, on any device: the backend's set_attr
 * never runs twice at once, and what it applied is what gets stored. */
static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;

static bool removal_prevented(struct uscst_device *dev)
{
	pthread_mutex_lock(&dev->lock);
	bool prevented = dev->prevent_removal;
	pthread_mutex_unlock(&dev->lock);
	return prevented;
}

int uscst_device_set_runtime_attr(struct uscst_device *dev, const char *name, const char *value,
				  char *err, size_t errlen)
{
	const struct uscst_attr_def *d = uscst_attr_find(dev->backend->dev_attrs, name);
	if (!d && !uscst_attr_find(uscst_core_device_attrs, name)) {
		snprintf(err, errlen, "unknown attribute '%s' for device '%s' (handler %s)", name,
			 dev->name, dev->backend->name);
		return -ENOENT;
	}
	if (!d || !(d->flags & USCST_ATTR_RUNTIME) || !dev->backend->set_attr) {
		snprintf(err, errlen, "attribute %s of device %s cannot be changed while running",
			 name, dev->name);
		return -EPERM;
	}
	if (!uscst_attr_check(d, value, err, errlen))
		return -EINVAL;

	pthread_mutex_lock(&runtime_lock);
	int rc = 0;
	if ((d->flags & USCST_ATTR_MEDIUM) && removal_prevented(dev)) {
		snprintf(err, errlen,
			 "device %s: an initiator prevents medium removal (PREVENT ALLOW MEDIUM "
			 "REMOVAL); %s not changed",
			 dev->name, name);
		rc = -EBUSY;
	}
	if (rc == 0 && (d->flags & USCST_ATTR_MEDIUM))
		rc = core_device_check_medium_file(dev, value, err, errlen);
	if (rc == 0)
		rc = dev->backend->set_attr(dev, name, value, err, errlen);
	if (rc == 0 && (d->flags & USCST_ATTR_MEDIUM))
		core_device_medium_file_changed(dev);
	if (rc == 0) {
		/* The text `show config` writes back; its readers hold the
		 * configuration lock. */
		pthread_mutex_lock(&uscst_config_lock);
		bool stored = uscst_device_set_attr(dev, name, value, err, errlen);
		pthread_mutex_unlock(&uscst_config_lock);
		if (!stored) {
			/* Applied, only the text could not be kept (ENOMEM). */
			log_warn("device %s: %s applied, but not recorded: %s", dev->name, name,
				 err);
		}
		log_info("device %s: %s set to '%s'", dev->name, name, value);
	} else if (rc > 0) {
		rc = -EIO; /* a backend's contract is 0 or -errno */
	}
	pthread_mutex_unlock(&runtime_lock);
	return rc;
}

/* The size first: a command that sees the medium sees its size. */
static void publish_medium(struct uscst_device *dev, bool present, uint64_t nblocks)
{
	pthread_mutex_lock(&dev->lock);
	atomic_store_explicit(&dev->size, nblocks << dev->block_shift, memory_order_relaxed);
	atomic_store_explicit(&dev->nblocks, nblocks, memory_order_relaxed);
	atomic_store_explicit(&dev->medium_present, present, memory_order_release);
	pthread_mutex_unlock(&dev->lock);
}

/*
 * An arrival is announced before it can be used: the unit attention is
 * established first, then the command set is told (vtape lets commands at
 * the new tape from then on), and only then are the medium and its size
 * published.  A command that finds the medium present was therefore
 * checked for unit attentions after the UA existed; one checked before
 * finds the medium still absent (NOT READY) or, in a command set that
 * tracks changes (ssc), the change behind its back.  A removal is
 * published first, then told to the command set.
 */
void uscst_device_medium_changed(struct uscst_device *dev, bool present)
{
	uint64_t size = atomic_load_explicit(&dev->size, memory_order_relaxed);
	uint64_t nblocks = present ? size >> dev->block_shift : 0;
	bool had = atomic_load_explicit(&dev->medium_present, memory_order_acquire);
	if (!present) {
		publish_medium(dev, false, 0);
		if (!had)
			return; /* nothing an initiator could tell apart */
		log_info("device %s: medium removed, the drive is empty", dev->name);
		if (dev->cmdset->medium_changed)
			dev->cmdset->medium_changed(dev, false);
		return;
	}
	log_info("device %s: new medium loaded", dev->name);
	/* Outside dev->lock: it takes the session list and UA locks. */
	ua_establish_dev(dev, NULL, ASC_NOT_READY_TO_READY_CHANGE);
	if (dev->cmdset->medium_changed)
		dev->cmdset->medium_changed(dev, true);
	publish_medium(dev, true, nblocks);
}
