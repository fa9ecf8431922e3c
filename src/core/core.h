/*
 * The SCSI target middle level: devices, LUN maps, targets, sessions.
 *
 * Configuration objects are created at start-up (and, later, by the control
 * socket) and are read-mostly on the data path.  State that changes with
 * commands from several I_T nexuses (reservations, PR, mode pages) sits
 * behind dev->lock; unit attentions sit behind the session's ua_lock.
 */
#ifndef USCST_CORE_H
#define USCST_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uscst/backend.h>
#include <uscst/transport.h>

#include "lib/list.h"

struct pr_state;	/* core/pr.h */
struct uscst_cmdset;	/* core/cmdset.h */
struct uscst_transport; /* uscst/transport_reg.h */
struct uscst_stats;	/* core/stats.h */

/* I_T nexuses that may hold PREVENT MEDIUM REMOVAL at once (SPC-4: the
 * prevention lasts while any nexus holds it). */
#define USCST_PREVENT_MAX 32

/* A request for an LBA range lock; defined, taken and released by the
 * command set (the core only holds the table of each device). */
struct lba_range_lock;

/* One device's LBA range locks.  The two counters are
 * what every write looks at; the padding keeps their cache line away from
 * the read-mostly fields of the device the other threads read. */
struct uscst_range_locks {
	char pad_before[64];
	atomic_uint exclusive;	  /* exclusive requests held or waiting */
	atomic_uint fast_writers; /* writes in flight that did not enter the table */
	char pad_after[64];
	pthread_mutex_t mutex;		  /* protects the lists */
	struct lba_range_lock *held;	  /* granted requests */
	struct lba_range_lock *wait_head; /* waiting requests, oldest first */
	struct lba_range_lock *wait_tail;
};

struct uscst_device {
	struct list_head node; /* global device list */
	char name[64];
	const struct uscst_backend_ops *backend;
	/* What its LUs do with a command: the one its handler names
	 * (uscst_backend_ops.cmdset), set at creation. */
	const struct uscst_cmdset *cmdset;
	/* Attributes (core/device_attrs.c): the core's are kept in the fields
	 * below, with a bit per attribute of its table set once configured;
	 * the handler's are kept as text (struct uscst_attr). */
	uint32_t core_attrs_set;
	struct list_head handler_attrs;
	/* size and nblocks change on resync_size (control thread, under lock)
	 * and are read without a lock on the data path: atomic, explicit
	 * relaxed loads and stores (a reader sees the old or the new value). */
	_Atomic uint64_t size; /* bytes; multiple of block_size */
	uint32_t block_size;   /* 512 or 4096; 2048 for MMC */
	uint8_t block_shift;
	_Atomic uint64_t nblocks;
	/* read_only and write_through may change at run time
	 * (core/device_live.c): atomic, read without a lock. */
	_Atomic bool read_only;
	_Atomic bool write_through; /* WCE=0 */
	bool nv_cache;
	bool thin_provisioned;
	int8_t thin_cfg; /* thin_provisioned as configured: -1 = auto (backend decides) */
	bool removable;
	bool rotational;
	/* lb_per_pb_exp (SCST's name, a flag): READ CAPACITY(16) reports the
	 * backing store's physical block as LOGICAL BLOCKS PER PHYSICAL BLOCK
	 * EXPONENT (scsi/sbc_capacity.c).  Settable at run time. */
	_Atomic bool lb_per_pb_exp;
	/* The backing store's physical block in bytes, as its backend found
	 * it at open (uscst_device_set_physical_block_size); 0: unknown. */
	uint32_t phys_block_size;
	/* SET TARGET PORT GROUPS is served (SCST's expl_alua; core/alua.h):
	 * atomic, read by commands. */
	_Atomic bool expl_alua;
	/* Its device group in the ALUA model of a generation (core/alua.c):
	 * generation << 32 | index, a cache any thread may refresh. */
	_Atomic uint64_t alua_cache;
	char t10_vend_id[9];  /* 8 chars, space padded when reported */
	char t10_prod_id[17]; /* 16 chars */
	char prod_rev[5];     /* 4 chars */
	char t10_dev_id[64];
	char usn[64];
	uint64_t naa_id; /* NAA-6 low 64 bits, derived from the name unless set */
	bool discard_ok; /* backend can deallocate (punch holes) on this storage */
	/* PERIPHERAL DEVICE TYPE a whole-command backend found in its device's
	 * INQUIRY at open (uscst_device_set_peripheral_type); -1: not set, the
	 * command set's.  Written by open(), read-only afterwards. */
	int16_t peripheral_type;
	atomic_int refs;	   /* core/device_live.c */
	bool opened;		   /* its storage is open: closed with the last reference */
	struct uscst_stats *stats; /* I/O counters (core/stats.h); NULL: not counted */
	/* Persistent reservations that survive a restart (SCST pr_file_name). */
	char *pr_file_cfg;   /* as configured; NULL: not set, "": persistence off */
	char *pr_file_name;  /* in effect after open (cfg or --pr-dir/NAME); NULL: off */
	char *pr_file_canon; /* its canonical path, once the device owns it (core/device.c) */
	/* LBA range locks of a block command set: COMPARE AND WRITE and
	 * ORWRITE hold their range alone, every other command that changes
	 * the medium waits for them.  Has its own mutex. */
	struct uscst_range_locks ranges;

	/* Protects everything below.  The _Atomic fields are written under it
	 * but also read without it on the data path (dispatch, sense, the
	 * reservation fast path): explicit atomic loads and stores on both
	 * sides, relaxed unless the comment says otherwise. */
	pthread_mutex_t lock;
	/* Published with a release store, read with acquire without the lock;
	 * once set it stays (freed only with the device). */
	struct pr_state *_Atomic pr;
	char *pr_saved;		      /* text last written to pr_file_name; NULL: no file */
	_Atomic uint64_t spc2_holder; /* RESERVE(6/10) holder's session id, 0 if none */
	/* Mode page state (changeable by MODE SELECT; shared by all nexuses). */
	_Atomic bool wce;			     /* caching page: write cache enabled */
	_Atomic bool d_sense;			     /* control page: descriptor sense */
	_Atomic bool swp;			     /* control page: software write protect */
	bool prevent_removal;			     /* some I_T nexus prevents medium removal */
	uint64_t prevent_holders[USCST_PREVENT_MAX]; /* their session ids */
	unsigned nprevent;
	_Atomic bool medium_present;
	/* SANITIZE (scsi/sbc_sanitize.c): whether one runs or the last one
	 * failed, and how far it is (65536ths); read by every command's
	 * dispatch without a lock, changed by the command set only. */
	_Atomic uint8_t sanitize_state;
	_Atomic uint16_t sanitize_progress;
};

struct uscst_lun {
	uint64_t lun;
	struct uscst_device *dev;
	bool read_only; /* this LUN mapping is read-only */
	/* I/O counters and latency histogram (core/stats.h), allocated with
	 * the mapping; NULL: not counted.  Every map version that has the
	 * mapping holds a reference (stats_refs): freed with the last one
	 * (core/lun_map.c). */
	struct uscst_stats *stats;
	atomic_int *stats_refs;
};

/* Highest LUN number: SAM single level flat space addressing (SCST_MAX_LUN). */
#define USCST_LUN_MAX 16383

/* The LUNs one initiator sees through a target (core/lun_map.c); never
 * changed once published, replaced instead (core/live_map.c). */
struct uscst_lun_map {
	atomic_int refs;
	unsigned count, cap;
	struct uscst_lun *luns; /* sorted by lun number */
};

/* An initiator group (SCST security group, core/acl.c): a LUN map and the
 * initiator names and patterns that get it. */
struct uscst_group {
	struct list_head node; /* the target's groups, in configuration order */
	char name[64];
	struct uscst_lun_map *luns;
	char **initiators; /* INITIATOR patterns, in configuration order */
	unsigned ninitiators;
};

struct uscst_attr {
	struct list_head node;
	char *name;
	char *value;
};

struct uscst_target {
	struct list_head node;
	char name[USCST_NAME_MAX];
	const struct uscst_transport *transport; /* its TARGET_DRIVER (core/transports.c) */
	uint16_t rel_tgt_id;
	bool rel_tgt_id_set; /* configured, not given at creation (core/target_ports.c) */
	/* Read by login threads; written by the control thread (live_map.c). */
	_Atomic bool enabled;
	struct list_head attrs;		/* uscst_attr: transport attributes (MaxBurstLength ...) */
	struct list_head retired_attrs; /* values replaced at run time (core/target.c) */
	struct uscst_lun_map *luns;	/* default LUN map: initiators of no group */
	struct list_head groups;	/* uscst_group, in configuration order */
	unsigned nsessions;
	struct uscst_stats *stats; /* I/O counters (core/stats.h); NULL: not counted */
};

struct uscst_ua {
	struct list_head node;
	uint64_t lun;
	uint8_t asc, ascq;
};

struct uscst_session {
	struct list_head node; /* global session list */
	struct uscst_target *tgt;
	/* The SCSI target port it came through (set at creation): the
	 * target's first (tpgt 1, its rel_tgt_id) or another of its portal
	 * groups (uscst_session_create_port). */
	uint16_t tpgt;
	uint16_t rel_port_id;
	/* Its target port in the ALUA model of a generation (core/alua.c):
	 * generation << 32 | index, a cache any thread may refresh. */
	_Atomic uint64_t alua_cache;
	char initiator_name[USCST_NAME_MAX];
	char initiator_port[USCST_NAME_MAX + 32]; /* "iqn...,i,0x<isid>" */
	uint64_t id;
	/* The session's map, and what its commands hold of it
	 * (core/live_map.c): replaced on the session's thread under the
	 * session list lock; read there without a lock, elsewhere with it. */
	const struct uscst_lun_map *luns;
	struct core_map_hold *map_hold;
	pthread_mutex_t ua_lock;
	_Atomic uint64_t ua_luns; /* LUNs with a UA pending (core/ua.c) */
	struct list_head uas;
	/* Task set (SAM-5 8.6), touched only on the session's reactor thread:
	 * commands held back by task attributes, and what is running. */
	struct uscst_cmd *ts_wait_head, *ts_wait_tail;
	unsigned ts_running, ts_ordered_running;
	/* Its transport, and the thread the session's commands run on.
	 * reactor is read by other threads (a LU reset, a TMF) without a lock:
	 * published with a release store after tops and tctx, read with
	 * acquire. */
	const struct uscst_transport_ops *tops;
	void *tctx;
	struct reactor *_Atomic reactor;
	atomic_int refs; /* the session's own, and messages in flight to it */
	bool gone;	 /* uscst_session_destroy() ran */
	/* Commands in flight (core/inflight.c), the session's thread only:
	 * every command from decode to release, and the aborted ones still
	 * running or owing data, with who waits for them to end. */
	struct uscst_cmd *cmds;
	_Atomic unsigned ncmds; /* how many on cmds; read by the admin listing */
	unsigned aborts_pending;
	struct uscst_tmf_wait *abort_waiters;
	/* I/O counters (core/stats.h), freed with the session; NULL: not counted. */
	struct uscst_stats *stats;
};

enum core_cmd_state {
	CORE_CMD_UNTRACKED, /* not decoded, or released */
	CORE_CMD_RECEIVED,  /* decoded: the transport collects its data */
	CORE_CMD_QUEUED,    /* executed, held back by the task set */
	CORE_CMD_RUNNING,   /* dispatched to its handler */
	CORE_CMD_ENDED,	    /* handed back to the transport */
};

/* The command set cmd goes to: its device's, or the default one for a LUN
 * with no device; NULL if none is registered (core/cmd.c). */
const struct uscst_cmdset *core_cmd_cmdset(const struct uscst_cmd *cmd);
/* Runs cmd through its command set (the task set lets it start). */
/* Run-time medium changes (device_runtime.c): the new file may not be
 * another device's storage or PR file (-EBUSY with a message); once
 * loaded, it is indexed as this device's storage (device.c). */
int core_device_check_medium_file(struct uscst_device *dev, const char *path, char *err,
				  size_t errlen);
void core_device_medium_file_changed(struct uscst_device *dev);
void core_cmd_dispatch(struct uscst_cmd *cmd);

/* Commands in flight (core/inflight.c). */
void core_cmd_track(struct uscst_cmd *cmd);
void core_cmd_untrack(struct uscst_cmd *cmd);
/* The command is handed back to the transport (its done callback). */
void core_cmd_ended(struct uscst_cmd *cmd);
/* Aborts cmd (the session's thread); true if it was aborted. */
bool core_cmd_abort(struct uscst_cmd *cmd, bool wait_data);
/* w->release(w) once no aborted command of s runs or owes data. */
void core_session_wait_aborts(struct uscst_session *s, struct uscst_tmf_wait *w);
/* Any thread, s kept alive by the caller (a lock): aborts, on s's thread,
 * every command of s for dev (NULL: all), holding a reference on fence
 * until they have ended. */
enum { CORE_ABORT_DROP_NEXUS = 1 };
void core_session_abort_async(struct uscst_session *s, const struct uscst_device *dev,
			      struct uscst_fence *fence, unsigned flags);
/* Every session other than except with commands in flight: those on dev. */
void core_dev_abort_others(struct uscst_device *dev, const struct uscst_session *except,
			   struct uscst_fence *fence);
void core_session_get(struct uscst_session *s);
void core_session_put(struct uscst_session *s);

/* Where the backend's per-device state (ops->dev_priv_size bytes) starts
 * in the device's allocation: right after the struct, aligned for any type. */
#define USCST_DEVICE_PRIV_OFFSET                                                                   \
	((sizeof(struct uscst_device) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) *       \
	 _Alignof(max_align_t))

/* Where the command set's per-device state (cmdset->dev_priv_size bytes)
 * starts: after the backend's, aligned for any type. */
#define USCST_DEVICE_ALIGN_UP(n)                                                                   \
	(((n) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) * _Alignof(max_align_t))
#define USCST_DEVICE_CMDSET_PRIV_OFFSET(backend_priv_size)                                         \
	(USCST_DEVICE_PRIV_OFFSET + USCST_DEVICE_ALIGN_UP(backend_priv_size))

/* Devices. */
/* The PERIPHERAL DEVICE TYPE of dev: the one its backend learned at open,
 * else its command set's. */
uint8_t uscst_device_peripheral_type(const struct uscst_device *dev);
struct uscst_device *uscst_device_create(const char *handler, const char *name, char *err,
					 size_t errlen);
/* Sets a configuration attribute before open; false with a message if unknown/bad. */
bool uscst_device_set_attr(struct uscst_device *dev, const char *name, const char *value, char *err,
			   size_t errlen);
/* Opens the storage, then loads the PR file (pr_file_name) if there is one:
 * a malformed file fails the open with "PR file PATH:LINE: reason". */
int uscst_device_open(struct uscst_device *dev, char *err, size_t errlen);
/* Directory for the PR files of devices without pr_file_name (DIR/<device
 * name>); NULL or "": no default, such devices keep PR in memory only.  Set
 * before the devices are opened (uscstd --pr-dir).  false: ENOMEM. */
bool uscst_set_pr_dir(const char *dir);
/* Once every device of the configuration is open: the command set's
 * attach step (core/cmdset.h) for dev, if it has one.  0, or -errno with a
 * message. */
int uscst_device_attach(struct uscst_device *dev, char *err, size_t errlen);
struct uscst_device *uscst_device_find(const char *name);
struct uscst_device *uscst_device_find_locked(const char *name); /* config lock held */
/* Drops a reference; the last one closes and frees the device
 * (core/device_live.c). */
void uscst_device_put(struct uscst_device *dev);
/* Takes dev out of the device list and indexes (config lock held). */
void core_device_unlink(struct uscst_device *dev);
/* Takes the current size of the open storage (whole blocks; shrinking is
 * allowed, with a warning) and, if it changed, establishes CAPACITY DATA HAS
 * CHANGED on every nexus that sees dev.  Slow path (control thread).
 * 0, or -errno with a message (e.g. nullio, whose size is configured). */
int uscst_device_resync_size(struct uscst_device *dev, char *err, size_t errlen);
void uscst_device_foreach(void (*fn)(struct uscst_device *dev, void *arg), void *arg);
/* Makes everything written to every block-I/O device durable (a FLUSH
 * each, on the reactors, which must be running), waiting at most
 * timeout_ms (core/device_flush.c).  0, -EIO if one failed, -ETIMEDOUT,
 * -ENOMEM; each failure is logged. */
int uscst_devices_flush(unsigned timeout_ms);
/* Sets a handler attribute of a running device (core/device_runtime.c):
 * one whose table entry has USCST_ATTR_RUNTIME, checked by the table, then
 * applied by the backend's set_attr and kept for `show config`.  Any
 * thread (the control thread; a changer's command set); it may block on
 * the backend (opening a file).  0, or -errno with a message in err:
 *   -ENOENT  no such attribute
 *   -EPERM   it cannot be changed while running
 *   -EINVAL  a value the table refuses
 *   -EBUSY   a medium attribute while an initiator prevents removal
 *   or the backend's error. */
int uscst_device_set_runtime_attr(struct uscst_device *dev, const char *name, const char *value,
				  char *err, size_t errlen);

/* PREVENT ALLOW MEDIUM REMOVAL state, per I_T nexus; call with dev->lock held.
 * Returns false if no more nexuses can hold a prevention. */
bool uscst_prevent_set(struct uscst_device *dev, uint64_t session_id, bool prevent);
void uscst_prevent_clear_all(struct uscst_device *dev);

/* Targets and LUN maps. */
struct uscst_target *uscst_target_create(const char *driver, const char *name, char *err,
					 size_t errlen);
bool uscst_target_set_attr(struct uscst_target *tgt, const char *name, const char *value, char *err,
			   size_t errlen);
bool uscst_target_add_lun(struct uscst_target *tgt, uint64_t lun, struct uscst_device *dev,
			  bool read_only, char *err, size_t errlen);
struct uscst_lun *uscst_session_lun(struct uscst_session *sess, uint64_t lun);

/* LUN maps (core/lun_map.c).  lun_map_add keeps the map sorted and takes a
 * reference on dev; false with a message for a LUN above USCST_LUN_MAX, a
 * number already mapped, or ENOMEM. */
struct uscst_lun_map *lun_map_new(void);
void lun_map_free(struct uscst_lun_map *map); /* lun_map_put */
void lun_map_get(const struct uscst_lun_map *map);
void lun_map_put(const struct uscst_lun_map *map);
/* A private copy (references on its devices taken) to change and publish;
 * NULL on ENOMEM. */
struct uscst_lun_map *lun_map_copy(const struct uscst_lun_map *from);
/* Removes lun from a private map; false if it is not there. */
bool lun_map_remove(struct uscst_lun_map *map, uint64_t lun);
bool lun_map_add(struct uscst_lun_map *map, uint64_t lun, struct uscst_device *dev, bool read_only,
		 char *err, size_t errlen);
struct uscst_lun *lun_map_find(const struct uscst_lun_map *map, uint64_t lun);

/* Initiator groups (core/acl.c; the rules are in its header comment). */
bool acl_pattern_valid(const char *pattern, char *err, size_t errlen);
bool acl_pattern_match(const char *pattern, const char *name);
/* Whether one initiator name can match both patterns (see acl.c for the
 * cases where it answers "maybe" with true). */
bool acl_patterns_overlap(const char *a, const char *b);
/* NULL with a message: bad or duplicate name, ENOMEM. */
struct uscst_group *uscst_target_add_group(struct uscst_target *tgt, const char *name, char *err,
					   size_t errlen);
struct uscst_group *uscst_target_group(const struct uscst_target *tgt, const char *name);
bool uscst_group_add_lun(struct uscst_group *g, uint64_t lun, struct uscst_device *dev,
			 bool read_only, char *err, size_t errlen);
/* false with a message: bad pattern, already in this group, ENOMEM. */
bool uscst_group_add_initiator(struct uscst_group *g, const char *pattern, char *err,
			       size_t errlen);
/* The group this initiator gets, or NULL for the default map. */
const struct uscst_group *uscst_target_group_for(const struct uscst_target *tgt,
						 const char *initiator);
const struct uscst_lun_map *uscst_target_lun_map(const struct uscst_target *tgt,
						 const char *initiator);
/* Logs a warning for each pair of groups one initiator can match both of
 * (the first wins); returns how many pairs.  Called once the target is built. */
unsigned uscst_target_warn_overlaps(const struct uscst_target *tgt);
void uscst_session_foreach(void (*fn)(struct uscst_session *s, void *arg), void *arg);

/* Unit attentions (SAM-5 / SPC-4 5.14). */
void ua_establish(struct uscst_session *sess, uint64_t lun, uint8_t asc, uint8_t ascq);
/* Every nexus that sees dev, except `except` (may be NULL). */
void ua_establish_dev(struct uscst_device *dev, struct uscst_session *except, uint8_t asc,
		      uint8_t ascq);
/* Removes and returns the oldest UA for (sess, lun); false if none. */
bool ua_take(struct uscst_session *sess, uint64_t lun, uint8_t *asc, uint8_t *ascq);
/* The UA ua_take would report next, left pending. */
bool ua_peek(struct uscst_session *sess, uint64_t lun, uint8_t *asc, uint8_t *ascq);
/* core/tmf_query.c: QUERY TASK, QUERY TASK SET, QUERY ASYNCHRONOUS EVENT
 * and I_T NEXUS RESET (SAM-5 7.7-7.10), for core/tmf.c. */
enum uscst_tmf_response core_tmf_query_task(struct uscst_tmf *tmf);
enum uscst_tmf_response core_tmf_query_task_set(struct uscst_tmf *tmf);
enum uscst_tmf_response core_tmf_query_async_event(struct uscst_tmf *tmf);
enum uscst_tmf_response core_tmf_it_nexus_reset(struct uscst_tmf *tmf);
void ua_clear_session(struct uscst_session *sess);

struct uscst_target *uscst_target_next(struct uscst_target *prev); /* NULL: first */
/* Every transport attribute of tgt, in order (under the attribute lock:
 * fn must not set attributes). */
void uscst_target_foreach_attr(const struct uscst_target *tgt,
			       void (*fn)(void *arg, const char *name, const char *value),
			       void *arg);
/* I_T nexus loss (core/nexus_loss.c): a session's nexus ends; whether the
 * nexus (initiator port, target, relative port) of a new session was lost
 * since it last reported a reset (true once per loss). */
void core_nexus_lost(struct uscst_session *sess);
bool core_nexus_returns(const char *iport, const struct uscst_target *tgt, uint16_t rel);
/* Relative target port ids (core/target_ports.c): tgt's (its rel_tgt_id
 * first, then those its attributes give); at most max.  How many. */
unsigned uscst_target_port_ids(const struct uscst_target *tgt, uint16_t *ids, unsigned max);
/* Before tgt's attribute name takes value: false with a message when the
 * id it gives is another target port's (an id given at creation moves). */
bool core_target_port_id_check(struct uscst_target *tgt, const char *name, const char *value,
			       char *err, size_t errlen);
/* The lowest id from `from` on that no target port has, nor also_taken;
 * 0: none left.  uscst_config_lock held. */
uint16_t core_target_free_rel_id(uint16_t from, uint16_t also_taken);
struct uscst_device *uscst_device_next(struct uscst_device *prev);

/* Removes every attribute name of tgt whose value match()es; how many.
 * Their values are kept until exit (readers may still hold them). */
int core_target_remove_attr(struct uscst_target *tgt, const char *name,
			    bool (*match)(const char *value, void *arg), void *arg);
/* Takes tgt off the target list (config lock held). */
void core_target_unlink(struct uscst_target *tgt);

/* Global lock for configuration lists and the session list (slow path only). */
extern pthread_mutex_t uscst_config_lock;

/* What the commands of one session hold of one of its LUN maps
 * (core/live_map.c): touched only on the session's thread. */
struct core_map_hold {
	const struct uscst_lun_map *map; /* one reference */
	unsigned users;			 /* commands decoded with it */
	bool retired;			 /* no longer the session's map */
};
/* Protects the groups of every target, their initiators and the map
 * pointers of targets and groups (after uscst_config_lock, before the
 * session list lock). */
extern pthread_mutex_t uscst_acl_lock;
/* NULL on ENOMEM; takes a reference on map. */
struct core_map_hold *core_map_hold_new(const struct uscst_lun_map *map);
/* The session's thread: the hold is no longer the session's; freed with
 * its map reference once no command uses it. */
void core_map_hold_retire(struct core_map_hold *h);
/* The session's thread: decode takes the session's current hold, release
 * gives it back. */
void core_cmd_take_map(struct uscst_cmd *cmd);
void core_cmd_drop_map(struct uscst_cmd *cmd);
/* Whether map no longer gives cmd its LU under its LUN number (gone, or
 * another device, or another read_only). */
bool core_cmd_lost_its_lu(const struct uscst_cmd *cmd, const struct uscst_lun_map *map);
/* The session's thread: cmd, queued or running, is waited for as an
 * aborted one is (core_session_wait_aborts) but not aborted: it ends with
 * its own status.  true if it is waited for. */
bool core_cmd_wait_for_end(struct uscst_cmd *cmd);
/* The session's thread (or the only thread, with no reactor): publishes h
 * as s's map under the session list lock; returns the old hold. */
struct core_map_hold *core_session_publish_map(struct uscst_session *s, struct core_map_hold *h);
/* Every session of tgt, with a reference (core_session_put each), in
 * *out (malloc'd); -1 on ENOMEM. */
/* The session with this id, with a reference, or NULL. */
struct uscst_session *core_session_find(uint64_t id);
int core_target_sessions(const struct uscst_target *tgt, struct uscst_session ***out);

#endif
