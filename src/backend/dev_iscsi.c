/*
 * dev_iscsi: a pass-through device whose real device is an upstream iSCSI
 * LUN (a gateway), reached with libiscsi's asynchronous API.  Its commands
 * come whole (exec_cmd) from the "passthrough" command set, which keeps
 * reservations, unit attentions and task management in the core and
 * serialises tapes and changers; this file only carries them.
 *
 * libiscsi's context is not thread-safe, so one thread per device owns
 * it: reactors queue requests (exec_cmd) and wake the thread with an
 * eventfd (the thread starts with the first command); the thread hands
 * them to libiscsi, polls its socket
 * (iscsi_get_fd / iscsi_which_events / iscsi_service) and posts every
 * completion back to the reactor that submitted it (reactor_send, with
 * the message embedded in the request: posting cannot fail).
 *
 * Attributes: url (iscsi://[user[%password]@]host[:port]/target-iqn/lun),
 * initiator_name (our name upstream; default iqn.2026-11.org.uscst:
 * gateway.<device name>) and timeout (seconds a command may take
 * upstream; default 0: by the device's type, backend/cmd_timeout.h).
 * The connection is made, and the device's INQUIRY read, at open: an
 * upstream that cannot be reached fails the open with libiscsi's reason.
 * A connection lost later is re-established by libiscsi's automatic
 * reconnect, which sends the commands in flight again on the new session;
 * the upstream then reports its unit attention (power on / nexus loss) to
 * the next command, which the command set shares with every initiator of
 * the device.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <uscst/backend.h>
#include <uscst/reactor.h>

#include "backend/builtin.h"
#include "backend/cmd_timeout.h"
#include "backend/upstream_residual.h"
#include "lib/byteorder.h"
#include "lib/log.h"

#define OPEN_TIMEOUT_S 30
/* No file system's device number: upstream LUs in storage_stat. */
#define UPSTREAM_DEV_MAJOR 0xfffffu

struct dev_iscsi {
	struct iscsi_context *iscsi;
	int lun;
	int wake_fd; /* eventfd: requests queued, or stop */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock; /* protects the fields below */
	struct uscst_scsi_req *queue_head, *queue_tail;
	struct abort_note *aborts; /* requests the core aborted, by seq */
	uint64_t next_seq;
	bool stop;
	/* Service thread only: the requests libiscsi has, newest first. */
	struct uscst_scsi_req *inflight;
	/* The upstream LU's (storage_stat, which the control thread may call
	 * for a device being opened or closed); 0: not open. */
	_Atomic uint64_t identity;
	char name[64];	   /* the device's, for log lines from the thread */
};

/* An abort the core asked for, named by the request's seq: the request
 * itself may be gone by the time the service thread reads this. */
struct abort_note {
	uint64_t seq;
	struct dev_iscsi *d;
	struct abort_note *next;
};

/* What a request carries while in this backend (req->backend_priv). */
struct dev_iscsi_req {
	struct reactor *reactor; /* where done() runs; NULL: the service thread */
	struct reactor_msg msg;
	struct uscst_scsi_req *next; /* in the queue, then in d->inflight */
	struct uscst_scsi_req *self;
	struct scsi_task *task; /* while libiscsi has it */
	uint64_t seq;		/* d->next_seq at exec_cmd */
	struct dev_iscsi *d;
};
_Static_assert(sizeof(struct dev_iscsi_req) <= USCST_SCSI_REQ_BACKEND_PRIV,
	       "dev_iscsi request state does not fit");

static struct dev_iscsi_req *req_priv(struct uscst_scsi_req *req)
{
	return (struct dev_iscsi_req *)req->backend_priv;
}

static void done_on_reactor(struct reactor_msg *m)
{
	struct dev_iscsi_req *p =
	    (struct dev_iscsi_req *)((char *)m - offsetof(struct dev_iscsi_req, msg));
	p->self->done(p->self);
}

/* Service thread: hands req back to the reactor that submitted it. */
static void complete(struct uscst_scsi_req *req)
{
	struct dev_iscsi_req *p = req_priv(req);
	if (!p->reactor) {
		req->done(req);
		return;
	}
	p->msg.fn = done_on_reactor;
	reactor_send(p->reactor, &p->msg);
}

/* The sense bytes of a CHECK CONDITION: libiscsi keeps the sense data
 * segment (a 2-byte length, then the sense) in task->datain. */
static void copy_sense(struct uscst_scsi_req *req, const struct scsi_task *task)
{
	req->sense_len = 0;
	if (!task->datain.data || task->datain.size < 2)
		return;
	unsigned len = get_be16(task->datain.data);
	if (len > (unsigned)task->datain.size - 2)
		len = (unsigned)task->datain.size - 2;
	if (len > USCST_SCSI_SENSE_MAX)
		len = USCST_SCSI_SENSE_MAX;
	memcpy(req->sense, task->datain.data + 2, len);
	req->sense_len = (uint8_t)len;
}

static void inflight_remove(struct dev_iscsi *d, struct uscst_scsi_req *req)
{
	for (struct uscst_scsi_req **pp = &d->inflight; *pp; pp = &req_priv(*pp)->next)
		if (*pp == req) {
			*pp = req_priv(req)->next;
			break;
		}
	req_priv(req)->task = NULL;
}

static struct uscst_scsi_req *inflight_find(struct dev_iscsi *d, uint64_t seq)
{
	for (struct uscst_scsi_req *r = d->inflight; r; r = req_priv(r)->next)
		if (req_priv(r)->seq == seq)
			return r;
	return NULL;
}

static void command_cb(struct iscsi_context *iscsi, int status, void *command_data,
		       void *private_data)
{
	struct uscst_scsi_req *req = private_data;
	struct scsi_task *task = command_data;
	inflight_remove(req_priv(req)->d, req);
	switch (status) {
	case SCSI_STATUS_CANCELLED:
		req->result = -ECANCELED;
		break;
	case SCSI_STATUS_TIMEOUT:
		req->result = -ETIMEDOUT;
		break;
	case SCSI_STATUS_ERROR:
	case SCSI_STATUS_REDIRECT:
		req->result = -EIO;
		break;
	default:
		req->result = 0;
		req->status = (uint8_t)status;
		if (status == SCSI_STATUS_CHECK_CONDITION)
			copy_sense(req, task);
		break;
	}
	enum upstream_residual kind = UPSTREAM_RESIDUAL_NONE;
	if (task && task->residual_status == SCSI_RESIDUAL_UNDERFLOW)
		kind = UPSTREAM_RESIDUAL_UNDER;
	else if (task && task->residual_status == SCSI_RESIDUAL_OVERFLOW)
		kind = UPSTREAM_RESIDUAL_OVER;
	upstream_residual_apply(req, kind, task ? (uint64_t)task->residual : 0);
	if (task)
		scsi_free_scsi_task(task);
	complete(req);
}

static int xfer_dir(enum uscst_data_dir dir)
{
	return dir == USCST_DATA_IN    ? SCSI_XFER_READ
	       : dir == USCST_DATA_OUT ? SCSI_XFER_WRITE
				       : SCSI_XFER_NONE;
}

/* Service thread: gives one queued request to libiscsi. */
static void send_one(struct dev_iscsi *d, struct uscst_scsi_req *req)
{
	/* libiscsi keeps the CDB in a 16-byte array (SCSI_CDB_MAX_SIZE)
	 * and copies cdb_len bytes into it: a longer one is refused. */
	if (req->cdb_len > SCSI_CDB_MAX_SIZE) {
		req->result = -EOPNOTSUPP;
		complete(req);
		return;
	}
	struct scsi_task *task = scsi_create_task((int)req->cdb_len, (unsigned char *)req->cdb,
						  xfer_dir(req->dir), (int)req->data_len);
	if (!task) {
		req->result = -ENOMEM;
		complete(req);
		return;
	}
	/* struct scsi_iovec is struct iovec by libiscsi's promise: data goes
	 * straight between the initiator's buffer and the socket. */
	if (req->dir == USCST_DATA_IN)
		scsi_task_set_iov_in(task, (struct scsi_iovec *)req->iov, (int)req->iovcnt);
	else if (req->dir == USCST_DATA_OUT)
		scsi_task_set_iov_out(task, (struct scsi_iovec *)req->iov, (int)req->iovcnt);
	struct dev_iscsi_req *p = req_priv(req);
	p->task = task;
	p->next = d->inflight;
	d->inflight = req;
	if (iscsi_scsi_command_async(d->iscsi, d->lun, task, command_cb, NULL, req) < 0) {
		log_warn("device %s: upstream command 0x%02x not sent: %s", d->name, req->cdb[0],
			 iscsi_get_error(d->iscsi));
		inflight_remove(d, req);
		scsi_free_scsi_task(task);
		req->result = -EIO;
		complete(req);
	}
}

/* The upstream answered our ABORT TASK (or it failed or timed out): the
 * task is over there, no answer of it can follow (RFC 7143 11.5.1), so
 * libiscsi may forget it: command_cb ends it with -ECANCELED.  If its
 * answer came first, it is no longer in flight. */
static void abort_cb(struct iscsi_context *iscsi, int status, void *command_data,
		     void *private_data)
{
	struct abort_note *n = private_data;
	struct dev_iscsi *d = n->d;
	struct uscst_scsi_req *req = inflight_find(d, n->seq);
	free(n);
	if (status != SCSI_STATUS_GOOD)
		log_warn("device %s: upstream ABORT TASK not answered: %s", d->name,
			 iscsi_get_error(iscsi));
	if (req && req_priv(req)->task)
		iscsi_scsi_cancel_task(iscsi, req_priv(req)->task);
}

/* Service thread: ABORT TASK upstream for an aborted request still in
 * flight; if it cannot be sent (not logged in), the task is forgotten
 * here at once. */
static void abort_one(struct dev_iscsi *d, struct abort_note *n)
{
	struct uscst_scsi_req *req = inflight_find(d, n->seq);
	if (!req || !req_priv(req)->task) {
		free(n);
		return;
	}
	struct scsi_task *task = req_priv(req)->task;
	n->d = d;
	if (iscsi_task_mgmt_abort_task_async(d->iscsi, task, abort_cb, n) < 0) {
		free(n);
		iscsi_scsi_cancel_task(d->iscsi, task);
	}
}

/* Service thread: takes everything the reactors queued; false: stop. */
static bool take_queue(struct dev_iscsi *d)
{
	uint64_t n;
	if (read(d->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("device %s: eventfd read: %s", d->name, strerror(errno));
	pthread_mutex_lock(&d->lock);
	struct uscst_scsi_req *req = d->queue_head;
	d->queue_head = d->queue_tail = NULL;
	struct abort_note *aborts = d->aborts;
	d->aborts = NULL;
	bool stop = d->stop;
	pthread_mutex_unlock(&d->lock);
	while (req) {
		struct uscst_scsi_req *next = req_priv(req)->next;
		send_one(d, req);
		req = next;
	}
	/* After the sends: an abort never overtakes its own request. */
	while (aborts) {
		struct abort_note *next = aborts->next;
		abort_one(d, aborts); /* takes it */
		aborts = next;
	}
	return !stop;
}

/* Says when the upstream session goes and comes back (libiscsi
 * reconnects on its own, silently). */
static void watch_login(struct dev_iscsi *d, bool *logged_in)
{
	bool now = iscsi_is_logged_in(d->iscsi) != 0;
	if (now == *logged_in)
		return;
	*logged_in = now;
	if (now)
		log_info("device %s: upstream session re-established", d->name);
	else
		log_warn("device %s: upstream session lost, reconnecting", d->name);
}

static void *service_thread(void *arg)
{
	struct dev_iscsi *d = arg;
	bool logged_in = true;
	for (;;) {
		int events = iscsi_which_events(d->iscsi);
		struct pollfd pfd[2] = {
		    {.fd = d->wake_fd, .events = POLLIN},
		    {.fd = iscsi_get_fd(d->iscsi), .events = (short)events},
		};
		/* No events: libiscsi waits to reconnect; ask again in 100 ms.
		 * Otherwise wake at least once a second for its timeouts. */
		int rc = poll(pfd, events ? 2 : 1, events ? 1000 : 100);
		if (rc < 0 && errno != EINTR) {
			log_err("device %s: poll: %s", d->name, strerror(errno));
			break;
		}
		if (rc > 0 && (pfd[0].revents & POLLIN) && !take_queue(d))
			break;
		short revents = events && rc > 0 ? pfd[1].revents : 0;
		if (iscsi_service(d->iscsi, revents) < 0)
			log_warn("device %s: upstream: %s", d->name, iscsi_get_error(d->iscsi));
		watch_login(d, &logged_in);
	}
	return NULL;
}

/* Starts the service thread, with d->lock held.  Done at the first
 * command, not at open: uscstd opens its devices before it becomes a
 * daemon (fork), and a thread does not survive a fork.  The thread takes
 * no signal (the daemon's main thread handles them). */
static int start_thread_locked(struct dev_iscsi *d)
{
	if (d->thread_started)
		return 0;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&d->thread, NULL, service_thread, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		log_err("device %s: cannot start its service thread: %s", d->name, strerror(rc));
		return -rc;
	}
	d->thread_started = true;
	return 0;
}

static void dev_iscsi_exec(struct uscst_device *dev, struct uscst_scsi_req *req)
{
	struct dev_iscsi *d = uscst_device_backend_priv(dev);
	struct dev_iscsi_req *p = req_priv(req);
	p->reactor = reactor_current();
	p->self = req;
	p->next = NULL;
	p->task = NULL;
	p->d = d;
	pthread_mutex_lock(&d->lock);
	p->seq = d->next_seq++;
	int rc = start_thread_locked(d);
	if (rc) {
		pthread_mutex_unlock(&d->lock);
		req->result = -EAGAIN;
		req->done(req);
		return;
	}
	if (d->queue_tail)
		req_priv(d->queue_tail)->next = req;
	else
		d->queue_head = req;
	d->queue_tail = req;
	pthread_mutex_unlock(&d->lock);
	uint64_t one = 1;
	if (write(d->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("device %s: eventfd write: %s", d->name, strerror(errno));
}

/* The core aborted req's command: noted for the service thread, which
 * sends ABORT TASK upstream if it is still there.  Without memory the
 * command runs on, bounded by the timeout. */
static void dev_iscsi_abort(struct uscst_device *dev, struct uscst_scsi_req *req)
{
	struct dev_iscsi *d = uscst_device_backend_priv(dev);
	struct abort_note *n = malloc(sizeof(*n));
	if (!n)
		return;
	n->seq = req_priv(req)->seq;
	pthread_mutex_lock(&d->lock);
	n->next = d->aborts;
	d->aborts = n;
	pthread_mutex_unlock(&d->lock);
	uint64_t one = 1;
	if (write(d->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("device %s: eventfd write: %s", d->name, strerror(errno));
}

/* The device's PERIPHERAL DEVICE TYPE, from a standard INQUIRY. */
static int inquire_type(struct dev_iscsi *d, uint8_t *type)
{
	struct scsi_task *task = iscsi_inquiry_sync(d->iscsi, d->lun, 0, 0, 36);
	if (!task || task->status != SCSI_STATUS_GOOD || task->datain.size < 1) {
		log_err("device %s: upstream INQUIRY failed: %s", d->name,
			iscsi_get_error(d->iscsi));
		if (task)
			scsi_free_scsi_task(task);
		return -EIO;
	}
	*type = task->datain.data[0] & 0x1f;
	uint8_t qualifier = task->datain.data[0] >> 5;
	scsi_free_scsi_task(task);
	if (qualifier != 0) {
		log_err("device %s: upstream LUN %d has no logical unit (qualifier %u)", d->name,
			d->lun, qualifier);
		return -ENODEV;
	}
	return 0;
}

/* libiscsi's own errors and reconnects, in our debug log (no context is
 * passed: the line names no device).  Not higher: libiscsi reports every
 * CHECK CONDITION as an error, and a tape answers many (filemarks, end of
 * medium) in normal use. */
static void libiscsi_log(int level, const char *message)
{
	log_debug("dev_iscsi: libiscsi: %s", message);
}

/* The upstream LU's identity: FNV-1a of the target's name (iSCSI names
 * compare case-insensitively; one names a target whatever portal reaches
 * it) and the LUN.  Never 0. */
static uint64_t lu_identity(const char *target, int lun)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *c = target; *c; c++)
		h = (h ^ (uint8_t)tolower((unsigned char)*c)) * 0x100000001b3ull;
	h = (h ^ (uint32_t)lun) * 0x100000001b3ull;
	return h ? h : 1;
}

static int connect_upstream(struct uscst_device *dev, struct dev_iscsi *d, const char *url_text)
{
	const char *initiator = uscst_device_attr(dev, "initiator_name");
	char default_name[128];
	if (!initiator || !*initiator) {
		snprintf(default_name, sizeof(default_name), "iqn.2026-11.org.uscst:gateway.%s",
			 uscst_device_name(dev));
		initiator = default_name;
	}
	d->iscsi = iscsi_create_context(initiator);
	if (!d->iscsi) {
		log_err("device %s: cannot create an iSCSI context", d->name);
		return -ENOMEM;
	}
	iscsi_set_log_fn(d->iscsi, libiscsi_log);
	/* The login and INQUIRY at open: an upstream that accepts the
	 * connection and then says nothing must not hold up the start. */
	iscsi_set_timeout(d->iscsi, OPEN_TIMEOUT_S);
	iscsi_set_log_level(d->iscsi, 1);
	struct iscsi_url *url = iscsi_parse_full_url(d->iscsi, url_text);
	if (!url) {
		log_err("device %s: url '%s': %s", d->name, url_text, iscsi_get_error(d->iscsi));
		return -EINVAL;
	}
	d->lun = url->lun;
	d->identity = lu_identity(url->target, url->lun);
	iscsi_set_targetname(d->iscsi, url->target);
	iscsi_set_session_type(d->iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(d->iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	int rc = 0;
	if (url->user[0] && iscsi_set_initiator_username_pwd(d->iscsi, url->user, url->passwd) != 0)
		rc = -EINVAL;
	if (!rc && iscsi_full_connect_sync(d->iscsi, url->portal, url->lun) != 0) {
		log_err("device %s: cannot log in to %s LUN %d at %s: %s", d->name, url->target,
			url->lun, url->portal, iscsi_get_error(d->iscsi));
		rc = -ECONNREFUSED;
	}
	iscsi_destroy_url(url);
	return rc;
}

static void dev_iscsi_close(struct uscst_device *dev)
{
	struct dev_iscsi *d = uscst_device_backend_priv(dev);
	d->identity = 0;
	pthread_mutex_lock(&d->lock);
	bool started = d->thread_started;
	d->stop = true;
	pthread_mutex_unlock(&d->lock);
	if (started) {
		uint64_t one = 1;
		if (write(d->wake_fd, &one, sizeof(one)) < 0)
			log_warn("device %s: eventfd write: %s", d->name, strerror(errno));
		pthread_join(d->thread, NULL);
		d->thread_started = false;
	}
	if (d->iscsi) {
		/* An upstream that is gone must not hold up the stop: no
		 * reconnect, and a bounded wait for the logout. */
		iscsi_set_noautoreconnect(d->iscsi, 1);
		iscsi_set_timeout(d->iscsi, 3);
		if (iscsi_is_logged_in(d->iscsi))
			iscsi_logout_sync(d->iscsi);
		iscsi_destroy_context(d->iscsi);
		d->iscsi = NULL;
	}
	while (d->aborts) {
		struct abort_note *n = d->aborts;
		d->aborts = n->next;
		free(n);
	}
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	d->wake_fd = -1;
	pthread_mutex_destroy(&d->lock);
}

/* For the core's check that no two devices share one upstream LU (each
 * would keep its own reservations over it, as two devices on one file
 * would): not a file, so a made-up identity, a device number no file
 * system has and the LU's identity as the inode. */
static int dev_iscsi_storage_stat(struct uscst_device *dev, struct stat *st)
{
	struct dev_iscsi *d = uscst_device_backend_priv(dev);
	uint64_t id = d->identity;
	if (!id)
		return -EBADF;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0600;
	st->st_dev = makedev(UPSTREAM_DEV_MAJOR, 0);
	st->st_ino = (ino_t)id;
	return 0;
}

static unsigned attr_uint(struct uscst_device *dev, const char *name)
{
	const char *v = uscst_device_attr(dev, name);
	return v ? (unsigned)strtoul(v, NULL, 10) : 0;
}

static int dev_iscsi_open(struct uscst_device *dev)
{
	struct dev_iscsi *d = uscst_device_backend_priv(dev);
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", uscst_device_name(dev));
	pthread_mutex_init(&d->lock, NULL);
	d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	const char *url = uscst_device_attr(dev, "url");
	if (!url || !*url) {
		log_err("device %s: dev_iscsi needs a url (iscsi://host[:port]/target/lun)",
			d->name);
		dev_iscsi_close(dev);
		return -EINVAL;
	}
	int rc = d->wake_fd < 0 ? -errno : connect_upstream(dev, d, url);
	uint8_t type = 0;
	if (!rc)
		rc = inquire_type(d, &type);
	if (rc) {
		dev_iscsi_close(dev);
		return rc;
	}
	/* libiscsi ends a command that outlives it with SCSI_STATUS_TIMEOUT
	 * (scanned by iscsi_service, which the service thread runs at least
	 * once a second); set before the thread starts. */
	unsigned timeout = cmd_timeout_seconds(attr_uint(dev, "timeout"), type);
	iscsi_set_timeout(d->iscsi, (int)timeout);
	uscst_device_set_peripheral_type(dev, type);
	log_info("device %s: upstream %s, peripheral device type %02xh, command timeout %us",
		 d->name, url, type, timeout);
	return 0;
}

static const struct uscst_attr_def dev_iscsi_attrs[] = {
    /* The upstream LUN: iscsi://[user[%password]@]host[:port]/target/lun. */
    {.name = "url", .type = USCST_ATTR_STRING},
    /* Our initiator name upstream; default iqn.2026-11.org.uscst:gateway.DEVICE. */
    {.name = "initiator_name", .type = USCST_ATTR_STRING},
    /* Seconds a command may take upstream; 0: by the device's type
     * (cmd_timeout.h).  Then ABORTED COMMAND, TIME-OUT ON LOGICAL UNIT. */
    {.name = "timeout", .type = USCST_ATTR_UINT, .min = 0, .max = 86400, .def = "0"},
    {.name = NULL},
};

const struct uscst_backend_ops backend_dev_iscsi_ops = {
    .name = "dev_iscsi",
    .dev_attrs = dev_iscsi_attrs,
    .dev_priv_size = sizeof(struct dev_iscsi),
    .open = dev_iscsi_open,
    .close = dev_iscsi_close,
    .exec_cmd = dev_iscsi_exec,
    .abort_cmd = dev_iscsi_abort,
    .storage_stat = dev_iscsi_storage_stat,
    .cmdset = "passthrough",
};
