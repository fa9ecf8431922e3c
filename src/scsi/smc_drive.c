/*
 * The seam between a changer and its drives (scsi/smc.h): vtape devices,
 * loaded and unloaded through their run-time `filename` attribute, as an
 * administrator would do it by hand.  Tests replace it with a double.
 */
#include <stdio.h>
#include <string.h>

#include "scsi/smc.h"

/* A changer's drive is a vtape device.  What it holds at start is the
 * changer's to say (smc_library.c loads or empties it), whatever its own
 * filename was. */
static bool vtape_usable(struct uscst_device *dev, char *why, size_t whylen)
{
	if (strcmp(dev->backend->name, "vtape") != 0) {
		snprintf(why, whylen, "is a %s device, not a vtape drive", dev->backend->name);
		return false;
	}
	return true;
}

/* vtape's filename is a run-time medium attribute: an image loads that
 * tape, "none" empties the drive; the core refuses it while an initiator
 * of the drive prevents removal. */
static int vtape_load(struct uscst_device *drive, const char *path, char *err, size_t errlen)
{
	return uscst_device_set_runtime_attr(drive, "filename", path ? path : "none", err, errlen);
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
