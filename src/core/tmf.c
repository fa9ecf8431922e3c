/* The core's part of task management: resets of LUs and targets.  Aborting
 * the commands themselves is the transport's job (it owns them). */
#include "core/core.h"
#include "scsi/scsi.h"

static void reset_device(struct uscst_device *dev)
{
	scsi_reservations_reset(dev);
	pthread_mutex_lock(&dev->lock);
	/* Mode pages return to their defaults (SAM-5 LU reset). */
	dev->wce = !dev->write_through;
	dev->d_sense = false;
	dev->swp = false;
	uscst_prevent_clear_all(dev);
	pthread_mutex_unlock(&dev->lock);
	ua_establish_dev(dev, NULL, ASC_BUS_DEVICE_RESET);
}

bool uscst_tmf_lun_reset(struct uscst_session *sess, uint64_t lun)
{
	struct uscst_lun *l = uscst_session_lun(sess, lun);
	if (!l)
		return false;
	reset_device(l->dev);
	return true;
}

void uscst_tmf_target_reset(struct uscst_session *sess, bool cold)
{
	const struct uscst_lun_map *map = sess->tgt->luns;
	for (unsigned i = 0; i < map->count; i++)
		reset_device(map->luns[i].dev);
}
