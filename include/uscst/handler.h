/*
 * User device handlers: the plugin ABI.
 *
 * A handler plugin is a shared object that uscstd loads (dlopen, RTLD_NOW |
 * RTLD_LOCAL) when a HANDLER block of the configuration names it:
 *
 *     HANDLER ramdisk {
 *             plugin /usr/lib/uscst/ramdisk.so
 *             DEVICE ram0 {
 *                     size_mb 64
 *             }
 *     }
 *
 * The plugin includes only uscst's public headers (include/uscst/); this
 * one is all it needs.  It exports one symbol, its descriptor, defined with
 * USCST_HANDLER_PLUGIN() below.  uscstd reads the descriptor's ABI numbers
 * before it calls anything: a plugin built for another ABI is refused with
 * a message naming the file, the plugin's ABI and the daemon's.  Then
 * init(host) registers one or more handlers through host->backend_register,
 * each a struct uscst_backend_ops (backend.h) with its name (the HANDLER
 * name), its DEVICE attributes, open/close and submit.
 *
 * The daemon is reached only through the host table passed to init(): it
 * exports no symbols, so a plugin cannot call, or clash with, anything of
 * its internals.  The functions backend.h, iov.h and reactor.h declare are
 * the built-in handlers' linkage; a plugin calls the same functions through
 * the table (host->device_attr(...) for uscst_device_attr(...)).  Build a
 * plugin with -fPIC -shared -Wl,-z,defs: any other reference to the daemon
 * then fails at link time rather than at load time.
 *
 * Two modes, chosen per handler by the ops it registers:
 *
 *  (a) Block I/O (ops.cmdset = "sbc", ops.submit): the core emulates SPC
 *      and SBC (INQUIRY, MODE SENSE, READ CAPACITY, reservations, range and
 *      CDB checks ...) and hands the handler struct uscst_io requests for
 *      byte ranges already checked against the device size:
 *        USCST_IO_READ, USCST_IO_WRITE   fill / take iov[0..iovcnt), exactly
 *                                        len bytes; io->fua: durable first
 *        USCST_IO_FLUSH                  make every completed write durable
 *        USCST_IO_DISCARD                deallocate (only if the handler
 *                                        called host->device_set_discard_ok)
 *        USCST_IO_WRITE_ZEROES           zero the range
 *        USCST_IO_PREFETCH               a hint: -EOPNOTSUPP is fine
 *      io->result: the bytes done, or -errno.  The core turns a failure
 *      into sense: a failed READ is MEDIUM ERROR / UNRECOVERED READ ERROR
 *      (03h/11h/00h), a failed or short WRITE MEDIUM ERROR / WRITE ERROR
 *      (03h/0Ch/00h); -ENOSPC on a thin-provisioned device is DATA PROTECT /
 *      SPACE ALLOCATION FAILED WRITE PROTECT (07h/27h/07h).
 *
 *  (b) Whole commands (ops.cmdset = "passthrough", ops.exec_cmd): the
 *      handler gets each command as a struct uscst_scsi_req (backend.h):
 *      CDB, direction, the initiator's data buffers; it answers with a SAM
 *      status, sense data and the bytes moved.  It emulates the device
 *      itself (INQUIRY, READ CAPACITY, its own opcodes ...), and must
 *      check every CDB field (nothing is checked for it).  The core still
 *      owns what several initiators share: the LUN map and REPORT LUNS,
 *      unit attentions and REQUEST SENSE per I_T nexus, SPC-2 and
 *      persistent reservations (a conflicting command never reaches the
 *      handler), task management, and commands that change shared state
 *      (MODE SELECT, LOG SELECT ...) only from a nexus that holds the
 *      device.  open() tells the core the device type
 *      (host->device_set_peripheral_type): a tape (01h) or changer (08h)
 *      gets one command at a time.  uscst_handler_check_condition() below
 *      builds fixed-format sense.
 *
 * The handler only ever sees its own device's requests and their buffers:
 * the core checks every range before it submits, so a handler that fails
 * or misbehaves hurts its own LUNs, never another device's data.  (It runs
 * in the daemon's address space, like a built-in handler: load only code
 * you trust, from a file only root can write.)
 *
 * Threads and completion.  submit() runs on a reactor thread (the one
 * serving the initiator's connection) and must not block.  A handler may
 * complete inline (io->done(io) before submit returns), or later on the
 * same thread; to complete from a thread of its own it calls
 * host->async_begin(&a, io) inside submit() and host->async_done(&a, result)
 * later from any thread: the daemon then runs io->done on the submitting
 * reactor.  init() and the backend's open() run while the configuration is
 * loaded, before uscstd detaches from its terminal (a fork): start threads
 * in the descriptor's start(), which runs once the daemon runs, and join
 * them in stop(), at shutdown, after the transports stopped and before the
 * reactors do (requests still queued must be completed there).
 */
#ifndef USCST_HANDLER_H
#define USCST_HANDLER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <uscst/attr.h>
#include <uscst/backend.h>
#include <uscst/reactor.h>

/* Bumped whenever struct uscst_handler_host, struct uscst_handler_plugin
 * or struct uscst_handler_async change.  The backend ops a plugin
 * registers have their own number, USCST_BACKEND_ABI: a descriptor records
 * both, and both must match the daemon's. */
#define USCST_HANDLER_ABI 1

/* The name of the descriptor symbol uscstd looks up. */
#define USCST_HANDLER_SYMBOL "uscst_handler_plugin"

/* Log levels of host->log (as uscstd's own). */
enum uscst_log_level {
	USCST_LOG_ERR = 0,
	USCST_LOG_WARN = 1,
	USCST_LOG_INFO = 2,
	USCST_LOG_DEBUG = 3,
};

/* State of one completion from another thread, in memory the handler owns
 * until async_done() (io->backend_priv has room for it and more). */
struct uscst_handler_async {
	_Alignas(8) unsigned char opaque[48];
};

/*
 * What the daemon offers a plugin, passed to init() and valid until the
 * daemon exits.  Every function may be called from open()/close() and
 * submit() (on a reactor thread) unless it says otherwise.
 */
struct uscst_handler_host {
	unsigned abi;	      /* USCST_HANDLER_ABI of the daemon */
	size_t size;	      /* sizeof(struct uscst_handler_host) of the daemon */
	unsigned backend_abi; /* USCST_BACKEND_ABI of the daemon */

	/* Registers a handler (see uscst_backend_register() in backend.h for
	 * the rules and error codes); init() only.  abi: USCST_BACKEND_ABI. */
	int (*backend_register)(const struct uscst_backend_ops *ops, unsigned abi);

	/* The device accessors of backend.h. */
	const char *(*device_name)(const struct uscst_device *dev);
	const char *(*device_attr)(const struct uscst_device *dev, const char *name);
	bool (*device_read_only)(const struct uscst_device *dev);
	uint64_t (*device_size)(const struct uscst_device *dev);
	void (*device_set_size)(struct uscst_device *dev, uint64_t size);
	void (*device_set_discard_ok)(struct uscst_device *dev, bool ok);
	void (*device_set_medium_present)(struct uscst_device *dev, bool present);
	void (*device_medium_changed)(struct uscst_device *dev, bool present);
	void (*device_set_peripheral_type)(struct uscst_device *dev, uint8_t type);
	void *(*device_backend_priv)(struct uscst_device *dev);
	/* Logical block size in bytes (512 or 4096, the core's `blocksize`);
	 * I/O offsets and lengths are multiples of it. */
	uint32_t (*device_block_size)(const struct uscst_device *dev);

	/* The iovec helpers of iov.h. */
	uint64_t (*iov_length)(const struct iovec *iov, unsigned cnt);
	size_t (*iov_from_buf)(const struct iovec *iov, unsigned cnt, uint64_t at, const void *src,
			       size_t n);
	size_t (*iov_to_buf)(const struct iovec *iov, unsigned cnt, uint64_t at, void *dst,
			     size_t n);
	size_t (*iov_memset)(const struct iovec *iov, unsigned cnt, uint64_t at, int c, size_t n);

	/* uscst_reactor_file_io() of reactor.h: asynchronous file I/O on
	 * the calling reactor's io_uring (from submit() only). */
	int (*file_io)(struct uscst_file_io *fio);

	/* Completion from any thread.  async_begin, in submit() on the
	 * reactor thread, records where io->done must run; async_done(a,
	 * result), from any thread, sets io->result and runs io->done there
	 * (at once when called on that thread).  a must stay valid until
	 * io->done has run; after async_done the handler must not touch io. */
	void (*async_begin)(struct uscst_handler_async *a, struct uscst_io *io);
	void (*async_done)(struct uscst_handler_async *a, int64_t result);
	/* The same for a whole command (mode b): async_begin_cmd in
	 * exec_cmd(); the handler fills req's result fields (result, status,
	 * sense, transferred ...) and calls async_done_cmd from any thread,
	 * which runs req->done on the reactor that called exec_cmd. */
	void (*async_begin_cmd)(struct uscst_handler_async *a, struct uscst_scsi_req *req);
	void (*async_done_cmd)(struct uscst_handler_async *a);

	/* A line in the daemon's log (printf format, no newline). */
	void (*log)(enum uscst_log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
	/* Milliseconds of a monotonic clock. */
	uint64_t (*now_ms)(void);
};

/* The descriptor a plugin exports as USCST_HANDLER_SYMBOL. */
struct uscst_handler_plugin {
	/* Read before anything else: these two fields stay first in every
	 * future version. */
	unsigned abi;	      /* USCST_HANDLER_ABI the plugin was built with */
	unsigned backend_abi; /* USCST_BACKEND_ABI the plugin was built with */
	const char *name;     /* for messages: "ramdisk example" */
	/* Registers the plugin's handlers with host->backend_register.
	 * 0, or -errno (the load fails with its message). */
	int (*init)(const struct uscst_handler_host *host);
	/* Optional: once the daemon runs (after the fork, reactors started,
	 * before initiators are served).  0 or -errno (uscstd stops). */
	int (*start)(void);
	/* Optional: at shutdown.  Complete (async_done) whatever is queued. */
	void (*stop)(void);
};

/* Mode (b): ends req with CHECK CONDITION and fixed-format sense (SPC-4
 * 4.5.3) of key/asc/ascq, nothing transferred. */
static inline void uscst_handler_check_condition(struct uscst_scsi_req *req, uint8_t key,
						 uint8_t asc, uint8_t ascq)
{
	for (unsigned i = 0; i < 18; i++)
		req->sense[i] = 0;
	req->sense[0] = 0x70; /* current error, fixed format */
	req->sense[2] = key & 0x0f;
	req->sense[7] = 10; /* additional sense length */
	req->sense[12] = asc;
	req->sense[13] = ascq;
	req->sense_len = 18;
	req->status = 0x02; /* CHECK CONDITION */
	req->result = 0;
	req->transferred = 0;
}

/* Defines the descriptor with the ABI numbers of the headers the plugin is
 * built with:  USCST_HANDLER_PLUGIN(.name = "x", .init = x_init);  */
#define USCST_HANDLER_PLUGIN(...)                                                                  \
	__attribute__((visibility("default")))                                                     \
	const struct uscst_handler_plugin uscst_handler_plugin = {                                 \
	    .abi = USCST_HANDLER_ABI, .backend_abi = USCST_BACKEND_ABI, __VA_ARGS__}

#endif
