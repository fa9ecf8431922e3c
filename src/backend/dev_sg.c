/*
 * dev_sg: a pass-through device on a real SCSI device through the Linux
 * SCSI generic driver (SCST's dev_disk / dev_tape / dev_changer, in one
 * handler: the device type comes from the device's own INQUIRY).  Its
 * commands come whole (exec_cmd) from the "passthrough" command set; a
 * small pool of worker threads (exec_pool.c) runs each with the blocking
 * SG_IO ioctl and completes it on the reactor that submitted it.
 *
 * Attributes: filename (/dev/sgN; a path that is not an sg device is
 * refused at open, saying so), threads (workers, default 4: commands the
 * device may run at once; a tape or changer gets one at a time from the
 * command set anyway) and timeout (seconds a command may take; default 0:
 * by the device's type, 30 for a disk, 3600 for a tape: cmd_timeout.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uscst/backend.h>

#include "backend/builtin.h"
#include "backend/cmd_timeout.h"
#include "backend/exec_pool.h"
#include "lib/log.h"

/* SG_IO with iovecs and 32-byte CDBs: the sg driver of Linux 3.x on. */
#define SG_VERSION_MIN 30000

/* sg_io_hdr host_status / driver_status values (Linux scsi.h). */
#define DID_TIME_OUT 0x03
#define DRIVER_TIMEOUT 0x06
#define DRIVER_STATUS_MASK 0x0f

struct dev_sg {
	int fd;
	unsigned timeout_ms;
	unsigned nthreads;
	pthread_mutex_t start_lock; /* pool_started */
	bool pool_started;
	struct exec_pool pool;
	char path[256];
};

/* A worker: one command through SG_IO, its answer into req. */
static void sg_run(void *ctx, struct uscst_scsi_req *req)
{
	struct dev_sg *d = ctx;
	unsigned char sense[USCST_SCSI_SENSE_MAX];
	struct sg_io_hdr h = {
	    .interface_id = 'S',
	    .cmd_len = (unsigned char)req->cdb_len,
	    .cmdp = (unsigned char *)req->cdb,
	    .mx_sb_len = sizeof(sense),
	    .sbp = sense,
	    .timeout = d->timeout_ms,
	    .dxfer_len = req->data_len,
	};
	h.dxfer_direction = req->dir == USCST_DATA_IN	 ? SG_DXFER_FROM_DEV
			    : req->dir == USCST_DATA_OUT ? SG_DXFER_TO_DEV
							 : SG_DXFER_NONE;
	if (req->iovcnt == 1) {
		h.dxferp = req->iov[0].iov_base;
	} else if (req->iovcnt > 1) {
		/* sg_iovec_t is struct iovec's layout. */
		h.iovec_count = (unsigned short)req->iovcnt;
		h.dxferp = (void *)req->iov;
	}
	req->transferred = 0;
	req->overflow = 0;
	req->sense_len = 0;
	if (ioctl(d->fd, SG_IO, &h) < 0) {
		req->result = -errno;
		return;
	}
	if (h.host_status == DID_TIME_OUT ||
	    (h.driver_status & DRIVER_STATUS_MASK) == DRIVER_TIMEOUT) {
		req->result = -ETIMEDOUT;
		return;
	}
	if (h.host_status != 0) {
		/* The command did not reach the device or its answer was lost
		 * (DID_NO_CONNECT, DID_BUS_BUSY, DID_RESET, ...). */
		req->result = -EIO;
		return;
	}
	req->result = 0;
	req->status = h.status;
	if (h.sb_len_wr) {
		req->sense_len = h.sb_len_wr < sizeof(sense) ? h.sb_len_wr : sizeof(sense);
		memcpy(req->sense, sense, req->sense_len);
	}
	/* A residual beyond the buffer is nonsense: claim nothing arrived
	 * rather than send bytes the device may never have written. */
	if (h.resid < 0 || (unsigned)h.resid > req->data_len)
		req->transferred = 0;
	else
		req->transferred = req->data_len - (uint32_t)h.resid;
}

/* The workers start with the first command, not at open: uscstd opens
 * its devices before it becomes a daemon (fork), and threads do not
 * survive a fork. */
static void dev_sg_exec(struct uscst_device *dev, struct uscst_scsi_req *req)
{
	struct dev_sg *d = uscst_device_backend_priv(dev);
	pthread_mutex_lock(&d->start_lock);
	int rc = d->pool_started ? 0 : exec_pool_start(&d->pool, d->nthreads, sg_run, d);
	if (rc)
		log_err("dev_sg %s: cannot start its workers: %s", d->path, strerror(-rc));
	d->pool_started = rc == 0;
	pthread_mutex_unlock(&d->start_lock);
	if (rc) {
		req->result = -EAGAIN;
		req->done(req);
		return;
	}
	exec_pool_submit(&d->pool, req);
}

/* A standard INQUIRY, synchronously, for the peripheral device type. */
static int inquire_type(struct dev_sg *d, uint8_t *type)
{
	unsigned char cdb[6] = {0x12, 0, 0, 0, 36, 0};
	unsigned char data[36] = {0}, sense[32];
	struct sg_io_hdr h = {
	    .interface_id = 'S',
	    .dxfer_direction = SG_DXFER_FROM_DEV,
	    .cmd_len = sizeof(cdb),
	    .cmdp = cdb,
	    .dxfer_len = sizeof(data),
	    .dxferp = data,
	    .mx_sb_len = sizeof(sense),
	    .sbp = sense,
	    .timeout = 30000,
	};
	if (ioctl(d->fd, SG_IO, &h) < 0) {
		int err = errno;
		log_err("dev_sg %s: INQUIRY: %s", d->path, strerror(err));
		return -err;
	}
	if (h.status != 0 || h.host_status != 0 || h.resid >= (int)sizeof(data)) {
		log_err("dev_sg %s: INQUIRY failed (status %02xh, host %u, driver %u)", d->path,
			h.status, h.host_status, h.driver_status);
		return -EIO;
	}
	if (data[0] >> 5) {
		log_err("dev_sg %s: no logical unit behind it (peripheral qualifier %u)", d->path,
			data[0] >> 5);
		return -ENODEV;
	}
	*type = data[0] & 0x1f;
	return 0;
}

/* Opens path and checks that it is an sg device. */
static int open_sg(struct dev_sg *d)
{
	d->fd = open(d->path, O_RDWR | O_CLOEXEC);
	if (d->fd < 0) {
		int err = errno;
		log_err("dev_sg %s: %s", d->path, strerror(err));
		return -err;
	}
	int version = 0;
	if (ioctl(d->fd, SG_GET_VERSION_NUM, &version) < 0 || version < SG_VERSION_MIN) {
		log_err("dev_sg %s: not a SCSI generic device (/dev/sgN)%s", d->path,
			version ? ": sg driver too old" : "");
		return -ENOTTY;
	}
	return 0;
}

static void dev_sg_close(struct uscst_device *dev)
{
	struct dev_sg *d = uscst_device_backend_priv(dev);
	if (d->pool_started)
		exec_pool_stop(&d->pool);
	d->pool_started = false;
	pthread_mutex_destroy(&d->start_lock);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* For the core's check that no two devices share one sg device: each
 * would keep its own reservations over the same real device. */
static int dev_sg_storage_stat(struct uscst_device *dev, struct stat *st)
{
	struct dev_sg *d = uscst_device_backend_priv(dev);
	if (d->fd < 0)
		return -EBADF;
	return fstat(d->fd, st) < 0 ? -errno : 0;
}

static unsigned attr_uint(struct uscst_device *dev, const char *name)
{
	const char *v = uscst_device_attr(dev, name);
	return v ? (unsigned)strtoul(v, NULL, 10) : 0;
}

static int dev_sg_open(struct uscst_device *dev)
{
	struct dev_sg *d = uscst_device_backend_priv(dev);
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	pthread_mutex_init(&d->start_lock, NULL);
	const char *path = uscst_device_attr(dev, "filename");
	if (!path || !*path) {
		log_err("device %s: dev_sg needs a filename (/dev/sgN)", uscst_device_name(dev));
		return -EINVAL;
	}
	snprintf(d->path, sizeof(d->path), "%s", path);
	uint8_t type = 0;
	int rc = open_sg(d);
	if (!rc)
		rc = inquire_type(d, &type);
	d->nthreads = attr_uint(dev, "threads");
	if (rc) {
		dev_sg_close(dev);
		return rc;
	}
	d->timeout_ms = cmd_timeout_seconds(attr_uint(dev, "timeout"), type) * 1000u;
	uscst_device_set_peripheral_type(dev, type);
	return 0;
}

static const struct uscst_attr_def dev_sg_attrs[] = {
    /* The SCSI generic device, /dev/sgN. */
    {.name = "filename", .type = USCST_ATTR_STRING},
    {.name = "threads",
     .type = USCST_ATTR_UINT,
     .min = 1,
     .max = EXEC_POOL_MAX_THREADS,
     .def = "4"},
    /* Seconds a command may take; 0: by the device's type (cmd_timeout.h). */
    {.name = "timeout", .type = USCST_ATTR_UINT, .min = 0, .max = 86400, .def = "0"},
    {.name = NULL},
};

const struct uscst_backend_ops backend_dev_sg_ops = {
    .name = "dev_sg",
    .dev_attrs = dev_sg_attrs,
    .dev_priv_size = sizeof(struct dev_sg),
    .open = dev_sg_open,
    .close = dev_sg_close,
    .exec_cmd = dev_sg_exec,
    .storage_stat = dev_sg_storage_stat,
    .cmdset = "passthrough",
};
