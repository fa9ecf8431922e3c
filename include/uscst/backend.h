/*
 * Backend API: how the SCSI emulation reaches storage.
 *
 * A backend (vdisk_fileio, vdisk_nullio, ...) knows nothing of transports.
 * I/O is asynchronous: submit() queues the request and io->done() is called
 * later on the same reactor thread that submitted it (a backend may also
 * call done() before submit() returns, e.g. nullio; callers must allow it).
 *
 * A backend serves block I/O (submit: reads, writes, flush, discard, with
 * the core emulating the SCSI command set around it), or whole SCSI
 * commands (exec_cmd: pass-through to a real device, or a handler that
 * emulates a device itself), or both.
 *
 * A backend registers its ops table once, at start-up, with
 * uscst_backend_register(ops, USCST_BACKEND_ABI); the core reaches it only
 * through the registry, by the handler name of scst.conf.
 */
#ifndef USCST_BACKEND_H
#define USCST_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <uscst/attr.h>

struct uscst_device;

/* Bumped whenever struct uscst_backend_ops, struct uscst_io or the meaning
 * of their fields changes; a backend built against another version is
 * refused. */
#define USCST_BACKEND_ABI 7

/* Longest handler name. */
#define USCST_BACKEND_NAME_MAX 31

/* Bytes of struct uscst_io a backend may use for its own state. */
#define USCST_IO_BACKEND_PRIV 96

enum uscst_io_op {
	USCST_IO_READ,
	USCST_IO_WRITE,
	USCST_IO_FLUSH,	       /* offset/len ignored: make everything written durable */
	USCST_IO_DISCARD,      /* deallocate [offset, offset+len); reads return zeros after */
	USCST_IO_WRITE_ZEROES, /* write zeros to [offset, offset+len) */
	USCST_IO_PREFETCH,     /* read [offset, offset+len) into the cache, no data */
};

struct uscst_io {
	enum uscst_io_op op;
	uint64_t offset; /* bytes */
	uint64_t len;	 /* bytes */
	/* READ/WRITE data: iov[0..iovcnt) hold exactly len bytes, in segments
	 * of any sizes (include/uscst/iov.h helps to address them).  The
	 * array and the memory are the owner's and stay valid until done(). */
	const struct iovec *iov;
	unsigned iovcnt;
	/* WRITE: durable before completion.  Not honoured for DISCARD and
	 * WRITE_ZEROES (fallocate has no FUA form): whoever needs those
	 * durable submits a FLUSH after them, as UNMAP and WRITE SAME do. */
	bool fua;
	int64_t result; /* set before done(): bytes transferred, or -errno */
	/* With result -EIO, a backend that knows it may set the byte offset
	 * (on the device, in [offset, offset+len)) of the first block that
	 * failed: SBC's sense then carries that LBA in its INFORMATION field,
	 * as a disk reports a bad sector.  The owner sets UINT64_MAX
	 * (unknown) before submit(). */
	uint64_t error_offset;
	void (*done)(struct uscst_io *io);
	void *priv; /* owner's cookie */
	/* Scratch space for the backend while the I/O is in flight (e.g. a
	 * struct uscst_file_io and a progress counter); the owner never
	 * looks at it. */
	_Alignas(8) unsigned char backend_priv[USCST_IO_BACKEND_PRIV];
};

/*
 * A whole SCSI command, for a backend that executes commands itself
 * (uscst_backend_ops.exec_cmd): pass-through to a real or remote device,
 * or a user handler that emulates a device.  The core fills the request
 * part and calls exec_cmd(); the backend fills the result part and calls
 * done(req) exactly once, on the reactor thread that called exec_cmd()
 * (possibly before exec_cmd() returns).  The core has already done what it
 * owns for every device, whatever its type: the LUN map, unit attentions,
 * reservations (SPC-2 and persistent), task management and serialisation,
 * so a backend sees only commands it must run, from one I_T nexus at a
 * time or several, never knowing which.
 */
enum uscst_data_dir {
	USCST_DATA_NONE, /* no data phase */
	USCST_DATA_IN,	 /* device to initiator (READ, INQUIRY, ...) */
	USCST_DATA_OUT,	 /* initiator to device (WRITE, MODE SELECT, ...) */
};

/* Longest sense data a whole command returns (the rest is cut off). */
#define USCST_SCSI_SENSE_MAX 96

/* Bytes of struct uscst_scsi_req a backend may use for its own state. */
#define USCST_SCSI_REQ_BACKEND_PRIV 64

struct uscst_scsi_req {
	/* --- request, set by the core; valid until done() --- */
	const uint8_t *cdb;
	unsigned cdb_len; /* 6 to 32 bytes, as received */
	/* Direction and length come from the transport (the initiator's
	 * expected transfer length and its read/write flags), never from an
	 * opcode table: an opcode neither the core nor the backend knows
	 * still goes through.  Bidirectional commands are never sent. */
	enum uscst_data_dir dir;
	/* DATA_OUT: the data to send, data_len bytes; DATA_IN: room for up to
	 * data_len bytes.  Segments of any sizes; NONE: iovcnt 0, data_len 0. */
	const struct iovec *iov;
	unsigned iovcnt;
	uint32_t data_len;
	uint8_t task_attr; /* SAM task attribute (uscst_task_attr: SIMPLE 0, ORDERED 1, ...) */
	/* --- result, set by the backend before done() --- */
	/* 0: the device answered, status and sense below are its answer.
	 * -errno: it could not be reached or the command was not delivered
	 * (connection lost, timeout, out of memory; -EOPNOTSUPP: it cannot
	 * carry this CDB, e.g. longer than its transport takes); the core
	 * then ends the command itself (see its command set for the sense it
	 * sends). */
	int result;
	uint8_t status;	   /* SAM status (GOOD, CHECK CONDITION, BUSY, ...) */
	uint8_t sense_len; /* valid bytes of sense: 0 unless CHECK CONDITION */
	uint8_t sense[USCST_SCSI_SENSE_MAX];
	/* Bytes actually moved: Data-In written to the start of iov, or
	 * Data-Out the device took; at most data_len.  The residual the
	 * initiator sees is data_len - transferred. */
	uint32_t transferred;
	/* Bytes the device would have moved beyond data_len (a residual
	 * overflow), 0 if none or not known. */
	uint32_t overflow;
	void (*done)(struct uscst_scsi_req *req);
	void *priv; /* owner's cookie */
	/* Scratch space for the backend while the command is in flight. */
	_Alignas(8) unsigned char backend_priv[USCST_SCSI_REQ_BACKEND_PRIV];
};

struct uscst_backend_ops {
	const char *name; /* SCST handler name: "vdisk_fileio", "vdisk_nullio" */
	/* Bytes of per-device state the backend keeps; the core allocates
	 * them zeroed with the device (uscst_device_backend_priv()). */
	size_t dev_priv_size;
	/* The device attributes the handler owns (vdisk_fileio's filename),
	 * ended by a NULL name; NULL: none.  Every device also has the core's
	 * (blocksize, read_only, t10_dev_id, ...), which a handler table may
	 * not name.  The core checks a value by the table and keeps it as
	 * text; the backend reads it in open() with uscst_device_attr(). */
	const struct uscst_attr_def *dev_attrs;
	/* Opens storage, as its attributes say; sets the size if the device
	 * has none configured. Returns 0 or -errno (message logged). */
	int (*open)(struct uscst_device *dev);
	void (*close)(struct uscst_device *dev);
	/* Block I/O, for the command sets that emulate SCSI around it ("sbc",
	 * "mmc").  NULL if the backend has exec_cmd only. */
	void (*submit)(struct uscst_device *dev, struct uscst_io *io);
	/* Provisioning status (GET LBA STATUS), synchronous: from offset, the
	 * length of the run that is all mapped or all unmapped.  NULL: always
	 * mapped.  Returns 0 or -errno. */
	int (*lba_status)(struct uscst_device *dev, uint64_t offset, uint64_t *run_len,
			  bool *mapped);
	/* Current size in bytes of the open storage (for resync_size, after an
	 * administrator grew or shrank it).  Slow path only: called from the
	 * control thread, never on a reactor.  NULL: the size is configured,
	 * not found (nullio).  Returns 0 or -errno. */
	int (*get_size)(struct uscst_device *dev, uint64_t *size);
	/* What the open storage is (its fstat), for the core's check that no
	 * two devices share one file or block device (they would keep separate
	 * reservations over the same blocks).  Called from the control thread
	 * for any device, open or not.  NULL: no storage (nullio).  Returns 0,
	 * or -errno (-EBADF: not open). */
	int (*storage_stat)(struct uscst_device *dev, struct stat *st);
	/* The command set of its devices (core/cmdset.h): "sbc", "mmc",
	 * "passthrough" (whole commands through exec_cmd). */
	const char *cmdset;
	/* Applies a new value of one of its attributes whose dev_attrs entry
	 * has USCST_ATTR_RUNTIME, to the open device (vcdrom's filename: a
	 * new medium).  The core has checked the value by the table (and, for
	 * USCST_ATTR_MEDIUM, that no initiator prevents removal), serialises
	 * the calls, and keeps the text once this returns 0.  Called from the
	 * control thread, or from a command set on a reactor (a changer
	 * loading a drive), while I/O may be in flight on the reactors: the
	 * backend swaps its state in safely.  A backend whose medium changed
	 * calls uscst_device_medium_changed(): with false before it swaps
	 * the medium (no command may use the old one's state with the new
	 * one), then with true once the new one is in.  Returns 0, or -errno with a
	 * message in err.  NULL: a table entry may not have
	 * USCST_ATTR_RUNTIME. */
	int (*set_attr)(struct uscst_device *dev, const char *name, const char *value, char *err,
			size_t errlen);
	/* Executes a whole SCSI command (struct uscst_scsi_req above),
	 * asynchronously; req->done(req) runs on the calling reactor thread.
	 * Used by the "passthrough" command set, which a backend with
	 * exec_cmd and no submit must name.  The backend may run several
	 * commands at once unless the command set serialises them (it does
	 * for tapes and changers).  A command the core aborts (task
	 * management) is still completed by the backend: the core discards
	 * the result.  NULL: block I/O only. */
	void (*exec_cmd)(struct uscst_device *dev, struct uscst_scsi_req *req);
	/* Optional: the core aborted (task management) the command of req,
	 * which exec_cmd took and whose done() has not run yet.  The backend
	 * may end it early, on the device too (an upstream ABORT TASK), so
	 * that the abort, which waits for it, completes; done() still runs
	 * exactly once, with -ECANCELED or whatever answer came first.
	 * Called on the reactor thread that submitted req; req may already be
	 * on its way back (then nothing to do).  NULL: the command runs to
	 * its end (or the backend's own timeout). */
	void (*abort_cmd)(struct uscst_device *dev, struct uscst_scsi_req *req);
};

/*
 * Registers ops, which must stay valid until the daemon exits; abi is
 * USCST_BACKEND_ABI as the backend was built.  Returns 0, or:
 *   -EPROTO  abi is not this daemon's USCST_BACKEND_ABI
 *   -EEXIST  a backend with this name is registered already
 *   -EINVAL  no or too long a name, no open or close, neither submit
 *            nor exec_cmd, or a dev_attrs table that names a core
 *            attribute or one twice
 *   -ENOSPC  the registry is full
 * with a log line saying which.  Call before the configuration is read.
 */
int uscst_backend_register(const struct uscst_backend_ops *ops, unsigned abi);

/*
 * What a backend may read and set of its device (struct uscst_device is
 * the core's).  open() runs before the device is visible to any command;
 * the setters are for open() and close() only.
 */
const char *uscst_device_name(const struct uscst_device *dev);
/* One of the handler's own attributes (ops->dev_attrs): the configured
 * value, else the table's default, else NULL. */
const char *uscst_device_attr(const struct uscst_device *dev, const char *name);
bool uscst_device_read_only(const struct uscst_device *dev);
/* Size in bytes: the configured one (0: none) before open() sets it; may
 * change at any time afterwards (resync_size), so read it once per use. */
uint64_t uscst_device_size(const struct uscst_device *dev);
void uscst_device_set_size(struct uscst_device *dev, uint64_t size);
/* Logical block size in bytes (the blocksize attribute: 512 or 4096);
 * fixed once the device exists. */
uint32_t uscst_device_block_size(const struct uscst_device *dev);
/* For open() of a removable-medium device that has no medium in (vcdrom's
 * `filename none`): false makes the commands that need a medium answer NOT
 * READY, MEDIUM NOT PRESENT, and lets the size be 0.  Every open starts
 * with a medium present. */
void uscst_device_set_medium_present(struct uscst_device *dev, bool present);
/*
 * The medium was replaced or removed (a backend's set_attr, after the new
 * medium is in place and uscst_device_set_size() says its size; any
 * thread).  The core takes the size, and when present: every I_T nexus
 * gets NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED (06h/28h/00h);
 * when not: the commands that need a medium answer NOT READY, MEDIUM NOT
 * PRESENT.  The command set hears of it too (MMC: a media event).  An I/O
 * that finds no medium any more completes with -ENOMEDIUM (NOT READY,
 * MEDIUM NOT PRESENT to the initiator).
 */
void uscst_device_medium_changed(struct uscst_device *dev, bool present);
/* For open() of a device whose commands go whole to exec_cmd: its
 * PERIPHERAL DEVICE TYPE as its own INQUIRY reports it (SPC-5 6.7.2, 0 to
 * 1Fh), which tells the core what to serialise (one command at a time for
 * a sequential-access device, 01h, and a medium changer, 08h).  Not set:
 * the command set's type. */
void uscst_device_set_peripheral_type(struct uscst_device *dev, uint8_t type);
/* Whether DISCARD really deallocates on this storage (thin provisioning). */
void uscst_device_set_discard_ok(struct uscst_device *dev, bool ok);
/* The storage's physical block in bytes (a block device's BLKPBSZGET, a
 * file's st_blksize), for READ CAPACITY(16) when the device's
 * lb_per_pb_exp is set; 0 (the default): unknown, reported as one
 * logical block per physical block. */
void uscst_device_set_physical_block_size(struct uscst_device *dev, uint32_t bytes);
/* The backend's per-device state: ops->dev_priv_size bytes, zeroed when
 * the device is created, aligned for any type; NULL if the size is 0. */
void *uscst_device_backend_priv(struct uscst_device *dev);

#endif
