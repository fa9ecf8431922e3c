/*
 * fault_inject: a uscst handler plugin (include/uscst/handler.h, mode a)
 * that serves a file like vdisk_fileio and injects faults on given LBAs,
 * for testing how initiators handle errors:
 *
 *     HANDLER fault_inject {
 *             plugin /path/to/fault_inject.so
 *             DEVICE flaky0 {
 *                     filename /srv/flaky0.img   # created sparse (size) if missing
 *                     size_mb 64
 *                     read_error 100-199,4096    # READ of any of these LBAs: MEDIUM
 *                                                # ERROR, UNRECOVERED READ ERROR 03/11/00
 *                     write_error 2048-2055      # WRITE touching them: MEDIUM ERROR,
 *                                                # WRITE ERROR 03/0C/00; nothing written
 *                                                # (the sense's INFORMATION: the first
 *                                                # such LBA of the command)
 *                     delay_ms 250               # each I/O touching delay_lba waits
 *                     delay_lba all              # "all" (default), "none" or ranges
 *             }
 *     }
 *
 * A range list is "none" or comma-separated LBA or FIRST-LAST (at most 32),
 * in logical blocks of the device.  The four fault attributes may change
 * while the device runs (uscstadmin device flaky0 set read_error 300-310);
 * the faults are decided when a request arrives, against the values of
 * that moment.
 *
 * The I/O runs on the plugin's own threads (blocking pread/pwrite), started
 * in start() and joined in stop(): each request waits in a queue ordered
 * by the time it is due (now + its delay), so delays do not hold a thread;
 * completions go back to the reactors through host->async_done.
 *
 * Build: cc -std=gnu11 -Iinclude -fPIC -shared -pthread -Wl,-z,defs \
 *           -o fault_inject.so fault_inject.c
 */
#define _GNU_SOURCE /* fallocate, MADV_DONTNEED */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uscst/handler.h>

#define MAX_RANGES 32
#define WORKERS 4
#define MAX_DELAY_MS 600000

static const struct uscst_handler_host *host;

/* ---- LBA range lists ---- */

struct range_list {
	unsigned n;
	bool all;
	struct {
		uint64_t first, last;
	} r[MAX_RANGES];
};

static bool parse_u64(const char **s, uint64_t *out)
{
	char *end;
	if (**s < '0' || **s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(*s, &end, 10);
	if (errno)
		return false;
	*out = v;
	*s = end;
	return true;
}

/* "none", "all" or "A,B-C,..."; false with a message in err. */
static bool parse_ranges(const char *name, const char *v, struct range_list *out, char *err,
			 size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (strcmp(v, "none") == 0 || !*v)
		return true;
	if (strcmp(v, "all") == 0) {
		out->all = true;
		return true;
	}
	const char *s = v;
	for (;;) {
		uint64_t first, last;
		if (!parse_u64(&s, &first))
			goto bad;
		last = first;
		if (*s == '-') {
			s++;
			if (!parse_u64(&s, &last) || last < first)
				goto bad;
		}
		if (out->n == MAX_RANGES) {
			snprintf(err, errlen, "%s: at most %d ranges, got '%s'", name, MAX_RANGES,
				 v);
			return false;
		}
		out->r[out->n].first = first;
		out->r[out->n].last = last;
		out->n++;
		if (!*s)
			return true;
		if (*s++ != ',')
			goto bad;
	}
bad:
	snprintf(err, errlen, "%s: expected none, all or LBA[-LBA],..., got '%s'", name, v);
	return false;
}

static bool check_ranges(const struct uscst_attr_def *d, const char *v, char *err, size_t errlen)
{
	struct range_list l;
	return parse_ranges(d->name, v, &l, err, errlen);
}

/* Whether blocks [first, last] meet a range of the list; *hit: the lowest
 * such block. */
static bool ranges_hit(const struct range_list *l, uint64_t first, uint64_t last, uint64_t *hit)
{
	bool found = l->all;
	*hit = first;
	for (unsigned i = 0; i < l->n && !l->all; i++) {
		if (l->r[i].first > last || first > l->r[i].last)
			continue;
		uint64_t lba = l->r[i].first > first ? l->r[i].first : first;
		if (!found || lba < *hit)
			*hit = lba;
		found = true;
	}
	return found;
}

/* ---- devices ---- */

struct faults {
	struct range_list read_error, write_error, delay_lba;
	uint64_t delay_ms;
};

struct fi_dev {
	int fd;
	bool open;
	uint32_t block_size;
	pthread_mutex_t lock; /* faults: set from the control thread, read on reactors */
	struct faults faults;
};

static struct fi_dev *fi_of(struct uscst_device *dev) { return host->device_backend_priv(dev); }

/* The faults as the device's attributes say (the table checked them). */
static int load_faults(struct uscst_device *dev, struct faults *f)
{
	char err[256];
	const char *delay = host->device_attr(dev, "delay_ms");
	if (!parse_ranges("read_error", host->device_attr(dev, "read_error"), &f->read_error, err,
			  sizeof(err)) ||
	    !parse_ranges("write_error", host->device_attr(dev, "write_error"), &f->write_error,
			  err, sizeof(err)) ||
	    !parse_ranges("delay_lba", host->device_attr(dev, "delay_lba"), &f->delay_lba, err,
			  sizeof(err))) {
		host->log(USCST_LOG_ERR, "fault_inject %s: %s", host->device_name(dev), err);
		return -EINVAL;
	}
	f->delay_ms = strtoull(delay, NULL, 10);
	return 0;
}

static int storage_size(int fd, uint64_t *size)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL; /* a file; a block device would need BLKGETSIZE64 */
	*size = (uint64_t)st.st_size;
	return 0;
}

static int open_file(struct uscst_device *dev)
{
	const char *filename = host->device_attr(dev, "filename");
	bool ro = host->device_read_only(dev);
	uint64_t cfg_size = host->device_size(dev);
	if (!filename) {
		host->log(USCST_LOG_ERR, "fault_inject %s: filename is required",
			  host->device_name(dev));
		return -EINVAL;
	}
	int fd = open(filename, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && cfg_size && !ro) {
		fd = open(filename, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 && ftruncate(fd, (off_t)cfg_size) < 0) {
			int e = errno;
			close(fd);
			unlink(filename);
			return -e;
		}
	}
	return fd < 0 ? -errno : fd;
}

static int fi_open(struct uscst_device *dev)
{
	struct fi_dev *fi = fi_of(dev);
	struct faults f;
	int rc = load_faults(dev, &f);
	if (rc < 0)
		return rc;
	int fd = open_file(dev);
	if (fd < 0)
		return fd;
	uint64_t size = 0;
	rc = storage_size(fd, &size);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	uint64_t cfg_size = host->device_size(dev);
	if (!cfg_size || cfg_size > size)
		host->device_set_size(dev, size);
	*fi = (struct fi_dev){
	    .fd = fd, .open = true, .block_size = host->device_block_size(dev), .faults = f};
	pthread_mutex_init(&fi->lock, NULL);
	/* Punching a hole past the end changes nothing but tells whether the
	 * file system can deallocate. */
	host->device_set_discard_ok(dev,
				    !host->device_read_only(dev) &&
					fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						  (off_t)size + (1 << 20), 4096) == 0);
	host->log(USCST_LOG_INFO,
		  "fault_inject %s: %u read-error and %u write-error ranges%s, delay %" PRIu64
		  " ms",
		  host->device_name(dev), f.read_error.n, f.write_error.n,
		  f.read_error.all || f.write_error.all ? " (all)" : "", f.delay_ms);
	return 0;
}

static void fi_close(struct uscst_device *dev)
{
	struct fi_dev *fi = fi_of(dev);
	if (!fi->open)
		return;
	close(fi->fd);
	pthread_mutex_destroy(&fi->lock);
	fi->open = false;
}

static int fi_get_size(struct uscst_device *dev, uint64_t *size)
{
	struct fi_dev *fi = fi_of(dev);
	return fi->open ? storage_size(fi->fd, size) : -EBADF;
}

static int fi_storage_stat(struct uscst_device *dev, struct stat *st)
{
	struct fi_dev *fi = fi_of(dev);
	if (!fi->open)
		return -EBADF;
	return fstat(fi->fd, st) < 0 ? -errno : 0;
}

/* ---- requests ---- */

/* One request, in io->backend_priv. */
struct fi_req {
	struct uscst_handler_async async;
	struct fi_req *next;
	struct uscst_io *io;
	struct fi_dev *fi;
	uint64_t due_ms;
	uint64_t fail_lba; /* with fail: the first block that fails */
	bool fail;	   /* an injected error: -EIO, nothing done */
};
_Static_assert(sizeof(struct fi_req) <= USCST_IO_BACKEND_PRIV, "fi_req too large");

/* pread/pwrite of every segment, to the end of each (short transfers
 * continue). */
static int64_t rw_file(int fd, struct uscst_io *io)
{
	uint64_t at = io->offset;
	for (unsigned i = 0; i < io->iovcnt; i++) {
		char *p = io->iov[i].iov_base;
		size_t left = io->iov[i].iov_len;
		while (left) {
			ssize_t n = io->op == USCST_IO_READ ? pread(fd, p, left, (off_t)at)
							    : pwrite(fd, p, left, (off_t)at);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0) {
				if (io->op != USCST_IO_READ)
					return -EIO;
				memset(p, 0, left); /* past the end of the file: zeros */
				n = (ssize_t)left;
			}
			p += n;
			at += (uint64_t)n;
			left -= (size_t)n;
		}
	}
	if (io->op == USCST_IO_WRITE && io->fua && fdatasync(fd) < 0)
		return -errno;
	return (int64_t)io->len;
}

static int64_t do_io(struct fi_dev *fi, struct uscst_io *io)
{
	switch (io->op) {
	case USCST_IO_READ:
	case USCST_IO_WRITE:
		if (host->iov_length(io->iov, io->iovcnt) != io->len)
			return -EINVAL;
		return rw_file(fi->fd, io);
	case USCST_IO_FLUSH:
		return fdatasync(fi->fd) < 0 ? -errno : 0;
	case USCST_IO_DISCARD:
		return fallocate(fi->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				 (off_t)io->offset, (off_t)io->len) < 0
			   ? -errno
			   : (int64_t)io->len;
	case USCST_IO_WRITE_ZEROES:
		return fallocate(fi->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				 (off_t)io->offset, (off_t)io->len) < 0
			   ? -errno
			   : (int64_t)io->len;
	case USCST_IO_PREFETCH:
		return (int64_t)io->len;
	}
	return -EOPNOTSUPP;
}

static void run_req(struct fi_req *req)
{
	int64_t res = -EIO;
	if (req->fail) /* the sense says which block, as a disk's does */
		req->io->error_offset = req->fail_lba * req->fi->block_size;
	else
		res = do_io(req->fi, req->io);
	host->async_done(&req->async, res);
}

/* ---- the worker threads: a queue ordered by due time ---- */

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond;
static struct fi_req *queue_head;
static bool running;
static pthread_t workers[WORKERS];
static unsigned nworkers;

/* Queues req in due order; false if the threads do not run (before
 * start(), after stop()). */
static bool enqueue(struct fi_req *req)
{
	pthread_mutex_lock(&queue_lock);
	bool ok = running;
	if (ok) {
		struct fi_req **pp = &queue_head;
		while (*pp && (*pp)->due_ms <= req->due_ms)
			pp = &(*pp)->next;
		req->next = *pp;
		*pp = req;
		pthread_cond_broadcast(&queue_cond);
	}
	pthread_mutex_unlock(&queue_lock);
	return ok;
}

static void wait_until(uint64_t due_ms)
{
	/* host->now_ms is CLOCK_MONOTONIC milliseconds, as the condition's clock. */
	struct timespec ts = {.tv_sec = (time_t)(due_ms / 1000),
			      .tv_nsec = (long)(due_ms % 1000) * 1000000};
	pthread_cond_timedwait(&queue_cond, &queue_lock, &ts);
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&queue_lock);
	for (;;) {
		struct fi_req *req = queue_head;
		/* Stopping: what is queued runs at once, delays or not. */
		if (req && (!running || req->due_ms <= host->now_ms())) {
			queue_head = req->next;
			pthread_mutex_unlock(&queue_lock);
			run_req(req);
			pthread_mutex_lock(&queue_lock);
			continue;
		}
		if (!running)
			break;
		if (req)
			wait_until(req->due_ms);
		else
			pthread_cond_wait(&queue_cond, &queue_lock);
	}
	pthread_mutex_unlock(&queue_lock);
	return NULL;
}

static void fi_submit(struct uscst_device *dev, struct uscst_io *io)
{
	struct fi_dev *fi = fi_of(dev);
	struct fi_req *req = (struct fi_req *)io->backend_priv;
	*req = (struct fi_req){.io = io, .fi = fi};
	uint64_t delay = 0;
	if (io->len && (io->op == USCST_IO_READ || io->op == USCST_IO_WRITE ||
			io->op == USCST_IO_WRITE_ZEROES || io->op == USCST_IO_DISCARD)) {
		uint64_t first = io->offset / fi->block_size;
		uint64_t last = (io->offset + io->len - 1) / fi->block_size, unused;
		pthread_mutex_lock(&fi->lock);
		if (io->op == USCST_IO_READ)
			req->fail = ranges_hit(&fi->faults.read_error, first, last, &req->fail_lba);
		else if (io->op == USCST_IO_WRITE)
			req->fail =
			    ranges_hit(&fi->faults.write_error, first, last, &req->fail_lba);
		if (ranges_hit(&fi->faults.delay_lba, first, last, &unused))
			delay = fi->faults.delay_ms;
		pthread_mutex_unlock(&fi->lock);
	}
	host->async_begin(&req->async, io);
	req->due_ms = host->now_ms() + delay;
	if (!enqueue(req))
		run_req(req); /* no threads: inline, without the delay */
}

static int fi_start(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&queue_cond, &ca);
	pthread_condattr_destroy(&ca);
	running = true;
	for (nworkers = 0; nworkers < WORKERS; nworkers++) {
		int rc = pthread_create(&workers[nworkers], NULL, worker, NULL);
		if (rc != 0) {
			pthread_mutex_lock(&queue_lock);
			running = false;
			pthread_cond_broadcast(&queue_cond);
			pthread_mutex_unlock(&queue_lock);
			while (nworkers)
				pthread_join(workers[--nworkers], NULL);
			return -rc;
		}
	}
	return 0;
}

static void fi_stop(void)
{
	pthread_mutex_lock(&queue_lock);
	running = false;
	pthread_cond_broadcast(&queue_cond);
	pthread_mutex_unlock(&queue_lock);
	while (nworkers)
		pthread_join(workers[--nworkers], NULL);
}

/* The faults may change while the device runs (uscstadmin device NAME set
 * read_error 300-310): the core checks the value by this table, then
 * fi_set_attr applies it. */
static const struct uscst_attr_def fi_attrs[] = {
    {.name = "filename", .type = USCST_ATTR_STRING},
    {.name = "read_error",
     .type = USCST_ATTR_STRING,
     .flags = USCST_ATTR_RUNTIME,
     .def = "none",
     .check = check_ranges},
    {.name = "write_error",
     .type = USCST_ATTR_STRING,
     .flags = USCST_ATTR_RUNTIME,
     .def = "none",
     .check = check_ranges},
    {.name = "delay_lba",
     .type = USCST_ATTR_STRING,
     .flags = USCST_ATTR_RUNTIME,
     .def = "all",
     .check = check_ranges},
    {.name = "delay_ms",
     .type = USCST_ATTR_UINT,
     .flags = USCST_ATTR_RUNTIME,
     .min = 0,
     .max = MAX_DELAY_MS,
     .def = "0"},
    {.name = NULL},
};

/* A new fault setting: requests that arrive from now on see it. */
static int fi_set_attr(struct uscst_device *dev, const char *name, const char *value, char *err,
		       size_t errlen)
{
	struct fi_dev *fi = fi_of(dev);
	struct range_list l;
	struct range_list *target = NULL;
	if (strcmp(name, "delay_ms") == 0) {
		pthread_mutex_lock(&fi->lock);
		fi->faults.delay_ms = strtoull(value, NULL, 10);
		pthread_mutex_unlock(&fi->lock);
		return 0;
	}
	if (!parse_ranges(name, value, &l, err, errlen))
		return -EINVAL;
	pthread_mutex_lock(&fi->lock);
	if (strcmp(name, "read_error") == 0)
		target = &fi->faults.read_error;
	else if (strcmp(name, "write_error") == 0)
		target = &fi->faults.write_error;
	else if (strcmp(name, "delay_lba") == 0)
		target = &fi->faults.delay_lba;
	if (target)
		*target = l;
	pthread_mutex_unlock(&fi->lock);
	if (!target) {
		snprintf(err, errlen, "%s cannot be changed while running", name);
		return -EPERM;
	}
	return 0;
}

static const struct uscst_backend_ops fi_ops = {
    .name = "fault_inject",
    .dev_priv_size = sizeof(struct fi_dev),
    .dev_attrs = fi_attrs,
    .open = fi_open,
    .close = fi_close,
    .submit = fi_submit,
    .get_size = fi_get_size,
    .storage_stat = fi_storage_stat,
    .set_attr = fi_set_attr,
    .cmdset = "sbc",
};

static int fi_init(const struct uscst_handler_host *h)
{
	host = h;
	return h->backend_register(&fi_ops, USCST_BACKEND_ABI);
}

USCST_HANDLER_PLUGIN(.name = "fault injection example", .init = fi_init, .start = fi_start,
		     .stop = fi_stop);
