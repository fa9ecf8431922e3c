/* The core's part of task management: resets of LUs and targets.  Aborting
 * the commands themselves is the transport's job (it owns them). */
#include "core/core.h"
#include "scsi/scsi.h"

struct abort_arg {
	const struct uscst_device *dev;
	const struct uscst_session *except;
};

static void abort_if_sees(struct uscst_session *s, void *p)
{
	const struct abort_arg *a = p;
	if (s == a->except || !s->abort_tasks)
		return;
	for (unsigned i = 0; i < s->luns->count; i++) {
		if (s->luns->luns[i].dev == a->dev) {
			s->abort_tasks(s, a->dev, s->abort_ctx);
			return;
		}
	}
}

/* SAM-5 7.7: a LU reset aborts the tasks of every nexus, not only those of
 * the nexus that asked (whose own tasks its transport aborts and waits
 * for).  TAS=0: the aborted tasks get no status. */
static void reset_device(struct uscst_device *dev, const struct uscst_session *issuer)
{
	struct abort_arg a = {dev, issuer};
	uscst_session_foreach(abort_if_sees, &a);
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
	reset_device(l->dev, sess);
	return true;
}

void uscst_tmf_target_reset(struct uscst_session *sess, bool cold)
{
	const struct uscst_lun_map *map = sess->tgt->luns;
	for (unsigned i = 0; i < map->count; i++)
		reset_device(map->luns[i].dev, sess);
}
