/*
 * vcdrom (SCST's handler name): a CD/DVD-ROM drive holding an ISO image.
 * The same file I/O as vdisk_fileio (backend/fileio.h), but the image is
 * opened read-only whatever read_only says (the MMC command set has no
 * write commands, so nothing would write it), a missing image is an error,
 * never created, and `filename none` is an empty drive.
 *
 * The medium can be changed while the drive runs (filename is a run-time
 * attribute: uscstadmin device NAME set filename IMAGE|none).  Reads may
 * be in flight on every reactor meanwhile, so the open image is a
 * reference-counted medium: each I/O takes a reference for its life, a
 * change swaps the drive's pointer and drops the drive's own reference,
 * and the old image is closed when its last read ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uscst/backend.h>

#include "backend/builtin.h"
#include "backend/fileio.h"

/* The MMC command set's block: an image must hold at least one. */
#define CD_BLOCK 2048

/* One open image. */
struct vcdrom_medium {
	atomic_int refs; /* the drive's (while loaded) and one per I/O in flight */
	int fd;
};

/* Per device, in its backend_priv space (ops->dev_priv_size). */
struct vcdrom_dev {
	/* Taking a reference and swapping the medium: a reader must not
	 * take one on a medium whose last reference is being dropped. */
	pthread_mutex_t lock;
	struct vcdrom_medium *medium; /* NULL: an empty drive */
	bool opened;		      /* lock is initialised */
};

static struct vcdrom_dev *vdev(struct uscst_device *dev) { return uscst_device_backend_priv(dev); }

/* The loaded medium with a reference for the caller, or NULL (empty). */
static struct vcdrom_medium *medium_get(struct vcdrom_dev *vd)
{
	pthread_mutex_lock(&vd->lock);
	struct vcdrom_medium *m = vd->medium;
	if (m)
		atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&vd->lock);
	return m;
}

static void medium_put(struct vcdrom_medium *m)
{
	if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
		close(m->fd);
		free(m);
	}
}

static void medium_release(void *hold) { medium_put(hold); }

/* Opens image `path` as a medium (one reference, the drive's) of *size
 * bytes.  0, or -errno with a message. */
static int medium_open(const char *path, struct vcdrom_medium **out, uint64_t *size, char *err,
		       size_t errlen)
{
	int fd = fileio_open_storage(path, O_RDONLY, true);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", path,
			 fd == -EINVAL ? "not a regular file or block device" : strerror(-fd));
		return fd;
	}
	int rc = fileio_storage_size(fd, size);
	if (rc < 0)
		snprintf(err, errlen, "'%s': %s", path,
			 rc == -EINVAL ? "not a regular file or block device" : strerror(-rc));
	struct vcdrom_medium *m = rc == 0 ? malloc(sizeof(*m)) : NULL;
	if (rc == 0 && !m) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	atomic_init(&m->refs, 1);
	m->fd = fd;
	*out = m;
	return 0;
}

static bool is_none(const char *filename) { return strcmp(filename, "none") == 0; }

static int vcdrom_open(struct uscst_device *dev)
{
	struct vcdrom_dev *vd = vdev(dev);
	const char *filename = uscst_device_attr(dev, "filename");
	if (!filename)
		return -EINVAL;
	struct vcdrom_medium *m = NULL;
	uint64_t size = 0;
	char err[256];
	/* An image smaller than one block is the core's error, with the
	 * device's name. */
	if (!is_none(filename)) {
		int rc = medium_open(filename, &m, &size, err, sizeof(err));
		if (rc < 0)
			return rc;
	}
	pthread_mutex_init(&vd->lock, NULL);
	vd->medium = m;
	vd->opened = true;
	uscst_device_set_size(dev, size);
	/* SCST's empty drive: no image, no blocks, the tray empty. */
	uscst_device_set_medium_present(dev, m != NULL);
	uscst_device_set_discard_ok(dev, false);
	return 0;
}

static void vcdrom_close(struct uscst_device *dev)
{
	struct vcdrom_dev *vd = vdev(dev);
	if (!vd->opened)
		return;
	medium_put(vd->medium);
	vd->medium = NULL;
	pthread_mutex_destroy(&vd->lock);
	vd->opened = false;
}

/* filename: load IMAGE (replacing what is loaded) or, for none, empty the
 * drive.  The core has checked that no initiator prevents removal. */
static int vcdrom_set_attr(struct uscst_device *dev, const char *name, const char *value, char *err,
			   size_t errlen)
{
	struct vcdrom_dev *vd = vdev(dev);
	if (strcmp(name, "filename") != 0 || !vd->opened) {
		snprintf(err, errlen, "vcdrom: %s cannot be changed while running", name);
		return -EPERM;
	}
	struct vcdrom_medium *m = NULL;
	uint64_t size = 0;
	if (!is_none(value)) {
		int rc = medium_open(value, &m, &size, err, errlen);
		if (rc < 0)
			return rc;
		if (size < CD_BLOCK) {
			snprintf(err, errlen, "'%s' is %llu bytes, smaller than one %d-byte block",
				 value, (unsigned long long)size, CD_BLOCK);
			medium_put(m);
			return -EINVAL;
		}
	}
	/* The old disc leaves first (commands that need a medium answer NOT
	 * READY from now on); the new one is announced (its unit attention
	 * raised) before it can be read: no command reads the new disc
	 * without having been told of the change. */
	uscst_device_medium_changed(dev, false);
	pthread_mutex_lock(&vd->lock);
	struct vcdrom_medium *old = vd->medium;
	vd->medium = m;
	pthread_mutex_unlock(&vd->lock);
	if (m) {
		uscst_device_set_size(dev, size);
		uscst_device_medium_changed(dev, true);
	}
	/* Reads still on the old image keep it open until they end. */
	medium_put(old);
	return 0;
}

static void vcdrom_submit(struct uscst_device *dev, struct uscst_io *io)
{
	struct vcdrom_medium *m = medium_get(vdev(dev));
	if (!m) {
		/* Emptied after the command checked for a medium. */
		io->result = -ENOMEDIUM;
		io->done(io);
		return;
	}
	fileio_submit_fd(m->fd, io, medium_release, m);
}

static int vcdrom_get_size(struct uscst_device *dev, uint64_t *size)
{
	struct vcdrom_dev *vd = vdev(dev);
	struct vcdrom_medium *m = vd->opened ? medium_get(vd) : NULL;
	if (!m)
		return vd->opened ? -ENOMEDIUM : -EBADF;
	int rc = fileio_storage_size(m->fd, size);
	medium_put(m);
	return rc;
}

static int vcdrom_storage_stat(struct uscst_device *dev, struct stat *sb)
{
	struct vcdrom_dev *vd = vdev(dev);
	struct vcdrom_medium *m = vd->opened ? medium_get(vd) : NULL;
	if (!m)
		return -EBADF;
	int rc = fstat(m->fd, sb) < 0 ? -errno : 0;
	medium_put(m);
	return rc;
}

static const struct uscst_attr_def vcdrom_attrs[] = {
    /* The ISO image (or a block device holding one); "none": an empty
     * drive.  Changed while running, it is a new medium. */
    {.name = "filename",
     .type = USCST_ATTR_STRING,
     .flags = USCST_ATTR_RUNTIME | USCST_ATTR_MEDIUM},
    {.name = NULL},
};

const struct uscst_backend_ops backend_vcdrom_ops = {
    .name = "vcdrom",
    .dev_attrs = vcdrom_attrs,
    .open = vcdrom_open,
    .close = vcdrom_close,
    .submit = vcdrom_submit,
    .get_size = vcdrom_get_size,
    .storage_stat = vcdrom_storage_stat,
    .set_attr = vcdrom_set_attr,
    .dev_priv_size = sizeof(struct vcdrom_dev),
    .cmdset = "mmc",
};
