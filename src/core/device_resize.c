/*
 * resync_size (SCST vdisk attribute): the administrator grew or shrank the
 * backing file or block device of a running device; take its new size and
 * tell every initiator that sees the device through the CAPACITY DATA HAS
 * CHANGED unit attention (SPC-4 5.14, ASC/ASCQ 2Ah/09h), so sessions stay up.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "lib/log.h"

int uscst_device_resync_size(struct uscst_device *dev, char *err, size_t errlen)
{
	if (!dev->backend->get_size) {
		snprintf(err, errlen,
			 "device '%s': handler %s has no backing storage to measure; its size is "
			 "configured (size or size_mb)",
			 dev->name, dev->backend->name);
		return -EOPNOTSUPP;
	}
	uint64_t bytes = 0;
	int rc = dev->backend->get_size(dev, &bytes);
	if (rc < 0) {
		snprintf(err, errlen, "device '%s': cannot read the size of '%s': %s", dev->name,
			 uscst_device_attr(dev, "filename") ?: "", strerror(-rc));
		return rc;
	}
	/* Whole blocks only: a partial block at the end cannot be addressed. */
	uint64_t nblocks = bytes >> dev->block_shift;
	if (nblocks == 0) {
		snprintf(err, errlen,
			 "device '%s': '%s' is now %" PRIu64 " bytes, smaller than one block of %u",
			 dev->name, uscst_device_attr(dev, "filename") ?: "", bytes,
			 dev->block_size);
		return -EINVAL;
	}

	pthread_mutex_lock(&dev->lock);
	uint64_t old = atomic_load_explicit(&dev->nblocks, memory_order_relaxed);
	/*
	 * The data path (READ CAPACITY, LBA range checks) reads nblocks on the
	 * reactor threads without dev->lock: taking a lock per command for a
	 * value that changes once in a blue moon is not worth it.  Both fields
	 * are _Atomic and both sides use relaxed atomic loads and stores (a
	 * plain 64-bit store would be a data race in C11, and TSan says so),
	 * so a reader sees the old or the new value, never a mix; size and
	 * nblocks are separate values, each read once per use.  Commands
	 * already past their range check finish against the old size, as
	 * with SCST.
	 */
	atomic_store_explicit(&dev->size, nblocks << dev->block_shift, memory_order_relaxed);
	atomic_store_explicit(&dev->nblocks, nblocks, memory_order_relaxed);
	pthread_mutex_unlock(&dev->lock);

	if (nblocks == old) {
		log_info("device %s: resync_size: unchanged at %" PRIu64 " blocks", dev->name, old);
		return 0;
	}
	if (nblocks < old)
		/* SCST allows it, but blocks past the new end vanish under the initiators. */
		log_warn("device %s: resync_size: shrunk from %" PRIu64 " to %" PRIu64
			 " blocks; data past the new end is no longer reachable",
			 dev->name, old, nblocks);
	else
		log_info("device %s: resync_size: %" PRIu64 " -> %" PRIu64 " blocks", dev->name,
			 old, nblocks);
	/* Outside dev->lock: ua_establish_dev takes the session list and UA locks. */
	ua_establish_dev(dev, NULL, ASC_CAPACITY_DATA_CHANGED);
	return 0;
}
