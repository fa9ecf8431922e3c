/*
 * vtape: a tape drive holding a tape image (docs/tape-image.md), for the
 * SSC command set (src/scsi/cmdset_ssc.c).
 *
 * Where the format lives: the record format is in lib/tape_format.c, which
 * both layers may use; this backend only opens the image (creating a blank
 * tape if it is missing at start-up), refuses a malformed one with "PATH:
 * reason", and moves bytes with vdisk_fileio's I/O (backend/fileio.h:
 * asynchronous, on the reactor).  The SSC command set reads the header and
 * walks the record chain through struct uscst_io like any command set
 * reads its medium: the tape's position and index are command-set state,
 * the file is storage.
 *
 * The tape can be changed while the drive runs (filename is a run-time
 * attribute: uscstadmin device NAME set filename IMAGE|none, or a changer
 * moving a tape).  As in vcdrom, the open image is a reference-counted
 * medium that every I/O holds for its life.  A change is announced to the
 * command set as the old tape leaving, before the swap (from then on the
 * drive submits no I/O for the old tape's index), and the new one
 * arriving after it (uscst_device_medium_changed()).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uscst/backend.h>

#include "backend/builtin.h"
#include "backend/fileio.h"
#include "lib/log.h"
#include "lib/tape_format.h"

/* Capacity of a blank tape when size_mb is not set. */
#define VTAPE_DEFAULT_CAPACITY (1024ull << 20)

/* One open image. */
struct vtape_medium {
	atomic_int refs; /* the drive's (while loaded) and one per I/O in flight */
	int fd;
	uint64_t capacity;
};

/* Per device, in its backend_priv space (ops->dev_priv_size). */
struct vtape_dev {
	pthread_mutex_t lock;	     /* taking a reference vs. swapping the medium */
	struct vtape_medium *medium; /* NULL: an empty drive */
	bool opened;
};

static struct vtape_dev *vdev(struct uscst_device *dev) { return uscst_device_backend_priv(dev); }

static struct vtape_medium *medium_get(struct vtape_dev *vd)
{
	pthread_mutex_lock(&vd->lock);
	struct vtape_medium *m = vd->medium;
	if (m)
		atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&vd->lock);
	return m;
}

static void medium_put(struct vtape_medium *m)
{
	if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
		close(m->fd);
		free(m);
	}
}

static void medium_release(void *hold) { medium_put(hold); }

static int write_all(int fd, const uint8_t *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* A blank tape: the header, then an end-of-data marker as record 0, made
 * durable before the image is used. */
static int create_blank(const char *path, uint64_t capacity)
{
	struct tape_header h = {.capacity = capacity};
	if (getrandom(&h.volume_id, sizeof(h.volume_id), 0) != sizeof(h.volume_id))
		return -EIO;
	uint8_t buf[TAPE_HEADER_SIZE + TAPE_REC_HDR_SIZE];
	tape_header_encode(buf, &h);
	struct tape_rec eod = {.type = TAPE_REC_EOD, .prev_crc = tape_chain_seed(&h)};
	tape_rec_encode(buf + TAPE_HEADER_SIZE, &eod);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, buf, sizeof(buf), 0);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc)
		unlink(path);
	return rc;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;
	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/*
 * The image's lock (flock, exclusive; shared for a read-only drive): a
 * second guard, after the core's one-device-per-file check, against two
 * drives (or two daemons) appending to one tape.  A drive reloading the
 * image it holds (cur) shares its open file and so its lock.
 */
static int lock_image(int *fd, bool ro, const struct vtape_medium *cur)
{
	if (cur && same_file(*fd, cur->fd)) {
		int d = fcntl(cur->fd, F_DUPFD_CLOEXEC, 0);
		if (d < 0)
			return -errno;
		close(*fd);
		*fd = d;
		return 0;
	}
	if (flock(*fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	return 0;
}

/* Opens image `path` (read-only if ro) as a medium with the drive's
 * reference (cur: what the drive holds now, or NULL); a malformed one is
 * refused with "PATH: reason" in err. */
static int medium_open(const char *path, bool ro, const struct vtape_medium *cur,
		       struct vtape_medium **out, char *err, size_t errlen)
{
	int fd = fileio_open_storage(path, ro ? O_RDONLY : O_RDWR, false);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 fd == -EINVAL ? "not a regular file" : strerror(-fd));
		return fd;
	}
	int rc = lock_image(&fd, ro, cur);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 rc == -EBUSY ? "in use (locked by another drive or process)"
				      : strerror(-rc));
		close(fd);
		return rc;
	}
	uint8_t buf[TAPE_HEADER_SIZE];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	struct tape_header h;
	const char *why = n < 0 ? strerror(errno) : tape_header_decode(buf, (size_t)n, &h);
	struct vtape_medium *m = why ? NULL : malloc(sizeof(*m));
	if (!why && !m)
		why = "out of memory";
	if (why) {
		snprintf(err, errlen, "%s: %s", path, why);
		close(fd);
		return -EINVAL;
	}
	atomic_init(&m->refs, 1);
	m->fd = fd;
	m->capacity = h.capacity;
	*out = m;
	return 0;
}

static bool is_none(const char *filename) { return strcmp(filename, "none") == 0; }

static int vtape_open(struct uscst_device *dev)
{
	struct vtape_dev *vd = vdev(dev);
	const char *path = uscst_device_attr(dev, "filename");
	if (!path)
		return -EINVAL;
	bool ro = uscst_device_read_only(dev);
	uint64_t cfg = uscst_device_size(dev);
	struct vtape_medium *m = NULL;
	if (!is_none(path)) {
		bool created = false;
		if (!ro && access(path, F_OK) < 0 && errno == ENOENT) {
			uint64_t capacity = cfg ? cfg : VTAPE_DEFAULT_CAPACITY;
			/* A capacity no image may have is refused before a file
			 * exists (it would fail every later start). */
			uint8_t hb[TAPE_HEADER_SIZE];
			struct tape_header h = {.capacity = capacity}, back;
			tape_header_encode(hb, &h);
			const char *why = tape_header_decode(hb, sizeof(hb), &back);
			if (why) {
				log_err("device %s: size_mb: %s", uscst_device_name(dev), why);
				return -EINVAL;
			}
			int rc = create_blank(path, capacity);
			if (rc < 0 && rc != -EEXIST)
				return rc;
			created = rc == 0;
			log_info("device %s: created blank tape %s", uscst_device_name(dev), path);
		}
		char err[512];
		int rc = medium_open(path, ro, NULL, &m, err, sizeof(err));
		if (rc < 0) {
			log_err("%s", err);
			/* What this start created goes with it. */
			if (created)
				unlink(path);
			return rc;
		}
		if (cfg && cfg != m->capacity)
			log_warn("device %s: %s holds a tape of %llu bytes; size_mb ignored",
				 uscst_device_name(dev), path, (unsigned long long)m->capacity);
	}
	pthread_mutex_init(&vd->lock, NULL);
	vd->medium = m;
	vd->opened = true;
	/* The device's size is the tape's capacity (what REPORT DENSITY
	 * SUPPORT reports); a tape has no logical blocks. */
	uscst_device_set_size(dev, m ? m->capacity : 0);
	uscst_device_set_medium_present(dev, m != NULL);
	uscst_device_set_discard_ok(dev, false);
	return 0;
}

static void vtape_close(struct uscst_device *dev)
{
	struct vtape_dev *vd = vdev(dev);
	if (!vd->opened)
		return;
	medium_put(vd->medium);
	vd->medium = NULL;
	pthread_mutex_destroy(&vd->lock);
	vd->opened = false;
}

/* filename: load IMAGE (an existing tape image; nothing is created while
 * running) in place of what is loaded, or for none empty the drive. */
static int vtape_set_attr(struct uscst_device *dev, const char *name, const char *value, char *err,
			  size_t errlen)
{
	struct vtape_dev *vd = vdev(dev);
	if (strcmp(name, "filename") != 0 || !vd->opened) {
		snprintf(err, errlen, "vtape: %s cannot be changed while running", name);
		return -EPERM;
	}
	struct vtape_medium *m = NULL;
	if (!is_none(value)) {
		struct vtape_medium *cur = medium_get(vd);
		int rc = medium_open(value, uscst_device_read_only(dev), cur, &m, err, errlen);
		medium_put(cur);
		if (rc < 0)
			return rc;
	}
	/* The old tape leaves first: the command set stops using its index
	 * before the swap. */
	uscst_device_medium_changed(dev, false);
	pthread_mutex_lock(&vd->lock);
	struct vtape_medium *old = vd->medium;
	vd->medium = m;
	pthread_mutex_unlock(&vd->lock);
	if (m) {
		uscst_device_set_size(dev, m->capacity);
		uscst_device_medium_changed(dev, true);
	}
	/* What was written to the old tape reaches its file's storage before
	 * it leaves the drive, as a drive writes its buffer before an unload. */
	if (old && !uscst_device_read_only(dev) && fdatasync(old->fd) < 0)
		log_warn("device %s: flushing the tape that left the drive: %s",
			 uscst_device_name(dev), strerror(errno));
	/* Its lock goes with it, even while a read or write that raced the
	 * change still holds the file open: a changer may load it into
	 * another drive at once.  (Not when it is the new tape's own file.) */
	if (old && !(m && same_file(old->fd, m->fd)))
		flock(old->fd, LOCK_UN);
	medium_put(old);
	return 0;
}

static void vtape_submit(struct uscst_device *dev, struct uscst_io *io)
{
	struct vtape_medium *m = medium_get(vdev(dev));
	if (!m) {
		io->result = -ENOMEDIUM;
		io->done(io);
		return;
	}
	fileio_submit_fd(m->fd, io, medium_release, m);
}

static int vtape_storage_stat(struct uscst_device *dev, struct stat *sb)
{
	struct vtape_dev *vd = vdev(dev);
	struct vtape_medium *m = vd->opened ? medium_get(vd) : NULL;
	if (!m)
		return -EBADF;
	int rc = fstat(m->fd, sb) < 0 ? -errno : 0;
	medium_put(m);
	return rc;
}

static const struct uscst_attr_def vtape_attrs[] = {
    /* The tape image; at start-up created blank, of size_mb (default
     * 1024), if it does not exist; "none": an empty drive.  Changed while
     * running (an existing image), it is a new tape. */
    {.name = "filename",
     .type = USCST_ATTR_STRING,
     .flags = USCST_ATTR_RUNTIME | USCST_ATTR_MEDIUM},
    {.name = NULL},
};

const struct uscst_backend_ops backend_vtape_ops = {
    .name = "vtape",
    .dev_attrs = vtape_attrs,
    .open = vtape_open,
    .close = vtape_close,
    .submit = vtape_submit,
    .storage_stat = vtape_storage_stat,
    .set_attr = vtape_set_attr,
    .dev_priv_size = sizeof(struct vtape_dev),
    .cmdset = "ssc",
};
