/*
 * The seam between a changer and its drives (scsi/smc.h): vtape devices,
 * loaded and unloaded through their run-time `filename` attribute, as an
 * administrator would do it by hand.  Tests replace it with a double.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scsi/smc.h"

/* A changer's drive is a vtape device configured empty (filename none):
 * which tape it holds is the changer's to say. */
static bool vtape_usable(struct uscst_device *dev, char *why, size_t whylen)
{
	if (strcmp(dev->backend->name, "vtape") != 0) {
		snprintf(why, whylen, "is a %s device, not a vtape drive", dev->backend->name);
		return false;
	}
	const char *f = uscst_device_attr(dev, "filename");
	if (f && strcmp(f, "none") != 0) {
		snprintf(why, whylen,
			 "has filename %s: a changer's drives are configured with filename none, "
			 "the changer loads them",
			 f);
		return false;
	}
	return true;
}

static int vtape_load(struct uscst_device *drive, const char *path, char *err, size_t errlen)
{
	(void)drive;
	(void)path;
	snprintf(err, errlen, "run-time filename changes are not built yet");
	return -ENOTSUP;
}

static bool vtape_removal_prevented(struct uscst_device *drive)
{
	pthread_mutex_lock(&drive->lock);
	bool prevented = drive->prevent_removal;
	pthread_mutex_unlock(&drive->lock);
	return prevented;
}

static const struct smc_drive_ops vtape_drive_ops = {
    .usable = vtape_usable,
    .load = vtape_load,
    .removal_prevented = vtape_removal_prevented,
};

static const struct smc_drive_ops *drive_ops = &vtape_drive_ops;

const struct smc_drive_ops *smc_drive_ops(void) { return drive_ops; }

void smc_set_drive_ops(const struct smc_drive_ops *ops)
{
	drive_ops = ops ? ops : &vtape_drive_ops;
}
