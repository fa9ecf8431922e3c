/*
 * Handler plugins (core/handler_plugin.h, include/uscst/handler.h).
 *
 * Why a table of functions and not -rdynamic: with the daemon's symbols
 * exported, a plugin could call any internal function (core.h's included)
 * and its own global symbols could be bound to the daemon's of the same
 * name; the table is the whole interface, versioned by USCST_HANDLER_ABI,
 * and the daemon exports nothing.
 */
#include "core/handler_plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uscst/handler.h>
#include <uscst/iov.h>

#include "core/backends.h"
#include "core/core.h"
#include "core/plugin_file.h"
#include "lib/log.h"

#define MAX_PLUGINS 32
#define MAX_PLUGIN_HANDLERS 16

struct plugin {
	char *path;
	void *dl;
	const struct uscst_handler_plugin *desc;
	const char *handlers[MAX_PLUGIN_HANDLERS]; /* the ops' names */
	unsigned nhandlers;
	bool started;
};

/* Loading and start/stop run on the main thread only (configuration,
 * start-up, shutdown); uscst_handler_plugin_path() may be asked from the
 * control thread, hence the lock. */
static struct plugin plugins[MAX_PLUGINS];
static unsigned nplugins;
static pthread_mutex_t plugins_lock = PTHREAD_MUTEX_INITIALIZER;
/* The plugin whose init() runs: its registrations are recorded. */
static struct plugin *loading;

/* ---- the host table ---- */

static int host_backend_register(const struct uscst_backend_ops *ops, unsigned abi)
{
	if (!loading) {
		log_err("handler plugin: backend_register called outside init()");
		return -EPERM;
	}
	if (loading->nhandlers == MAX_PLUGIN_HANDLERS) {
		log_err("plugin %s: more than %d handlers", loading->path, MAX_PLUGIN_HANDLERS);
		return -ENOSPC;
	}
	int rc = uscst_backend_register(ops, abi);
	if (rc == 0)
		loading->handlers[loading->nhandlers++] = ops->name;
	return rc;
}

/* What struct uscst_handler_async holds: a block I/O (io) or a whole
 * command (req). */
struct async_state {
	struct reactor_msg msg; /* first: the message handler finds the rest */
	struct reactor *reactor;
	struct uscst_io *io;
	struct uscst_scsi_req *req;
	int64_t result;
};
_Static_assert(sizeof(struct async_state) <= sizeof(struct uscst_handler_async),
	       "struct uscst_handler_async too small");
_Static_assert(_Alignof(struct async_state) <= 8, "struct uscst_handler_async misaligned");

static void async_finish(struct async_state *st)
{
	if (st->req) {
		st->req->done(st->req);
		return;
	}
	struct uscst_io *io = st->io;
	io->result = st->result;
	io->done(io);
}

static void async_on_reactor(struct reactor_msg *m) { async_finish((struct async_state *)m); }

static void host_async_begin(struct uscst_handler_async *a, struct uscst_io *io)
{
	struct async_state *st = (struct async_state *)a->opaque;
	*st = (struct async_state){.reactor = reactor_current(), .io = io};
}

static void host_async_begin_cmd(struct uscst_handler_async *a, struct uscst_scsi_req *req)
{
	struct async_state *st = (struct async_state *)a->opaque;
	*st = (struct async_state){.reactor = reactor_current(), .req = req};
}

/* Runs the completion on the submitting reactor (the message carries
 * what the handler wrote before: reactor_send orders it). */
static void async_complete(struct async_state *st)
{
	/* No reactor (a test driving a device directly): the submitter
	 * accepts done() on any thread. */
	if (!st->reactor || st->reactor == reactor_current()) {
		async_finish(st);
		return;
	}
	st->msg.fn = async_on_reactor;
	reactor_send(st->reactor, &st->msg);
}

static void host_async_done(struct uscst_handler_async *a, int64_t result)
{
	struct async_state *st = (struct async_state *)a->opaque;
	st->result = result;
	async_complete(st);
}

static void host_async_done_cmd(struct uscst_handler_async *a)
{
	async_complete((struct async_state *)a->opaque);
}

__attribute__((format(printf, 2, 3))) static void host_log(enum uscst_log_level level,
							   const char *fmt, ...)
{
	if ((int)level > log_max_level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_msg(level <= USCST_LOG_DEBUG ? (enum log_level)level : LOG_DEBUG, "%s", line);
}

static const struct uscst_handler_host host = {
    .abi = USCST_HANDLER_ABI,
    .size = sizeof(struct uscst_handler_host),
    .backend_abi = USCST_BACKEND_ABI,
    .backend_register = host_backend_register,
    .device_name = uscst_device_name,
    .device_attr = uscst_device_attr,
    .device_read_only = uscst_device_read_only,
    .device_size = uscst_device_size,
    .device_set_size = uscst_device_set_size,
    .device_set_discard_ok = uscst_device_set_discard_ok,
    .device_set_medium_present = uscst_device_set_medium_present,
    .device_medium_changed = uscst_device_medium_changed,
    .device_set_peripheral_type = uscst_device_set_peripheral_type,
    .device_backend_priv = uscst_device_backend_priv,
    .device_block_size = uscst_device_block_size,
    .iov_length = uscst_iov_length,
    .iov_from_buf = uscst_iov_from_buf,
    .iov_to_buf = uscst_iov_to_buf,
    .iov_memset = uscst_iov_memset,
    .file_io = uscst_reactor_file_io,
    .async_begin = host_async_begin,
    .async_done = host_async_done,
    .async_begin_cmd = host_async_begin_cmd,
    .async_done_cmd = host_async_done_cmd,
    .log = host_log,
    .now_ms = reactor_now_ms,
};

/* ---- loading ---- */

#define perr(...) snprintf(err, errlen, __VA_ARGS__)

static struct plugin *find_by_path(const char *path)
{
	for (unsigned i = 0; i < nplugins; i++)
		if (strcmp(plugins[i].path, path) == 0)
			return &plugins[i];
	return NULL;
}

static bool provides(const struct plugin *p, const char *handler)
{
	for (unsigned i = 0; i < p->nhandlers; i++)
		if (strcmp(p->handlers[i], handler) == 0)
			return true;
	return false;
}

/* "a, b" of the handlers p registered. */
static void handler_list(const struct plugin *p, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < p->nhandlers && n < len; i++) {
		int w = snprintf(buf + n, len - n, "%s%s", i ? ", " : "", p->handlers[i]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* dlopen and the descriptor's checks; nothing of the plugin runs here
 * (but its constructors, which dlopen runs). */
static int open_plugin(const char *path, struct plugin *p, char *err, size_t errlen)
{
	int fd = plugin_file_open(path, err, errlen);
	if (fd < 0)
		return fd;
	/* The descriptor's file, the one checked, whatever the path names by
	 * now.  The descriptor stays open once dlopen took it, even if the
	 * plugin is refused below: the loader knows the object by that name
	 * and would hand the same object back for a later plugin whose
	 * descriptor got the number again. */
	char fdpath[32];
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	void *dl = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		const char *why = dlerror();
		close(fd);
		perr("plugin %s: cannot load: %s", path, why ? why : "unknown error");
		return -ENOEXEC;
	}
	const struct uscst_handler_plugin *desc = dlsym(dl, USCST_HANDLER_SYMBOL);
	if (!desc) {
		perr("plugin %s: no entry point '%s' (not a uscst handler plugin?)", path,
		     USCST_HANDLER_SYMBOL);
		dlclose(dl);
		return -ENOENT;
	}
	if (desc->abi != USCST_HANDLER_ABI || desc->backend_abi != USCST_BACKEND_ABI) {
		perr("plugin %s: built for handler ABI %u and backend ABI %u, this uscstd has "
		     "handler ABI %u and backend ABI %u; rebuild it with this uscstd's headers",
		     path, desc->abi, desc->backend_abi, USCST_HANDLER_ABI, USCST_BACKEND_ABI);
		dlclose(dl);
		return -EPROTO;
	}
	if (!desc->init) {
		perr("plugin %s: its descriptor has no init function", path);
		dlclose(dl);
		return -EINVAL;
	}
	*p = (struct plugin){.dl = dl, .desc = desc};
	return 0;
}

static struct plugin *load_new(const char *path, char *err, size_t errlen, int *rc)
{
	if (nplugins == MAX_PLUGINS) {
		perr("plugin %s: too many plugins (at most %d)", path, MAX_PLUGINS);
		*rc = -ENOSPC;
		return NULL;
	}
	struct plugin p;
	*rc = open_plugin(path, &p, err, errlen);
	if (*rc < 0)
		return NULL;
	p.path = strdup(path);
	if (!p.path) {
		perr("plugin %s: out of memory", path);
		dlclose(p.dl);
		*rc = -ENOMEM;
		return NULL;
	}
	loading = &p;
	*rc = p.desc->init(&host);
	loading = NULL;
	/* Once init() ran, handlers it registered may point into the object:
	 * it stays loaded (and listed) even when init failed. */
	pthread_mutex_lock(&plugins_lock);
	struct plugin *slot = &plugins[nplugins++];
	*slot = p;
	pthread_mutex_unlock(&plugins_lock);
	if (*rc < 0) {
		perr("plugin %s: init failed: %s", path, strerror(-*rc));
		return NULL;
	}
	if (*rc > 0)
		*rc = 0;
	log_info("plugin %s (%s) loaded: %u handler(s)", path, p.desc->name ? p.desc->name : "?",
		 p.nhandlers);
	return slot;
}

int uscst_handler_plugin_load(const char *path, const char *handler, char *err, size_t errlen)
{
	if (!path || path[0] != '/') {
		perr("plugin %s: not an absolute path", path ? path : "(none)");
		return -EINVAL;
	}
	int rc = 0;
	struct plugin *p = find_by_path(path);
	if (!p)
		p = load_new(path, err, errlen, &rc);
	if (!p)
		return rc ? rc : -EINVAL;
	if (!provides(p, handler)) {
		char names[256];
		handler_list(p, names, sizeof(names));
		perr("plugin %s does not provide handler '%s' (it registered: %s)", path, handler,
		     names[0] ? names : "none");
		return -ENOENT;
	}
	return 0;
}

const char *uscst_handler_plugin_path(const char *handler)
{
	const char *path = NULL;
	pthread_mutex_lock(&plugins_lock);
	for (unsigned i = 0; i < nplugins && !path; i++)
		if (provides(&plugins[i], handler))
			path = plugins[i].path;
	pthread_mutex_unlock(&plugins_lock);
	return path;
}

int uscst_handler_plugins_start(char *err, size_t errlen)
{
	for (unsigned i = 0; i < nplugins; i++) {
		struct plugin *p = &plugins[i];
		int rc = p->desc->start ? p->desc->start() : 0;
		if (rc < 0) {
			perr("plugin %s: start failed: %s", p->path, strerror(-rc));
			uscst_handler_plugins_stop();
			return rc;
		}
		p->started = true;
	}
	return 0;
}

void uscst_handler_plugins_stop(void)
{
	for (unsigned i = nplugins; i-- > 0;) {
		struct plugin *p = &plugins[i];
		if (!p->started)
			continue;
		p->started = false;
		if (p->desc->stop)
			p->desc->stop();
	}
}
