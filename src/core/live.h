/*
 * Run-time changes of the configuration (core/live_map.c,
 * core/device_live.c): the operations the control verbs and a later
 * `config apply` use.  Each is made in full or not at all, tells the
 * sessions it concerns before returning, and returns 0 or -errno with a
 * message in err that names the object.  Call from the control thread.
 */
#ifndef USCST_CORE_LIVE_H
#define USCST_CORE_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uscst_device;
struct uscst_target;

/* Devices.  attrs are "NAME=VALUE" (modified while parsed, restored). */
struct uscst_device *uscst_live_device_add(const char *handler, const char *name,
					   char *const *attrs, unsigned nattrs, char *err,
					   size_t errlen);
/* -EBUSY with the target, group and LUN that still map it. */
int uscst_live_device_remove(const char *name, char *err, size_t errlen);
/* A device whose size is configured (vdisk_nullio); 2Ah/09h if it changed. */
int uscst_live_device_resize(struct uscst_device *dev, uint64_t bytes, char *err, size_t errlen);
/* read_only, write_through (2Ah/01h), t10_dev_id (3Fh/03h), size and
 * size_mb (resize), or a handler's run-time attribute. */
int uscst_live_device_set(struct uscst_device *dev, const char *name, const char *value, char *err,
			  size_t errlen);
/* Config lock held: "target T [group G] LUN n" of the first mapping of dev. */
bool uscst_live_device_mapped(const struct uscst_device *dev, char *where, size_t len);

/* LUNs of a target's default map (group NULL) or of one of its groups;
 * 3Fh/0Eh on every nexus whose map changed; a removed LUN's commands are
 * aborted and have ended when this returns. */
int uscst_live_lun_add(struct uscst_target *tgt, const char *group, uint64_t lun,
		       struct uscst_device *dev, bool read_only, char *err, size_t errlen);
int uscst_live_lun_remove(struct uscst_target *tgt, const char *group, uint64_t lun, char *err,
			  size_t errlen);

/* Groups and their initiators; the sessions that change groups get their
 * new map (3Fh/0Eh). */
int uscst_live_group_add(struct uscst_target *tgt, const char *name, char *err, size_t errlen);
int uscst_live_group_remove(struct uscst_target *tgt, const char *name, char *err, size_t errlen);
int uscst_live_initiator_add(struct uscst_target *tgt, const char *group, const char *pattern,
			     char *err, size_t errlen);
int uscst_live_initiator_remove(struct uscst_target *tgt, const char *group, const char *pattern,
				char *err, size_t errlen);

/* Disable: no new login, every session closed (the transport's
 * drop_nexus) and its commands ended when this returns. */
int uscst_live_target_enable(struct uscst_target *tgt, bool enable, char *err, size_t errlen);
int uscst_live_session_close(uint64_t id, char *err, size_t errlen);

/* Targets (core/target_live.c): a new one is enabled; a removed one is
 * disabled (its sessions closed) and emptied first. */
struct uscst_target *uscst_live_target_add(const char *driver, const char *name, char *err,
					   size_t errlen);
int uscst_live_target_remove(struct uscst_target *tgt, char *err, size_t errlen);
/* CHAP accounts of a target, for the next logins: incoming
 * (IncomingUser; an account of the same name gets the new secret) or
 * outgoing (OutgoingUser, one). */
int uscst_live_chap_add(struct uscst_target *tgt, bool incoming, const char *user,
			const char *secret, char *err, size_t errlen);
int uscst_live_chap_remove(struct uscst_target *tgt, bool incoming, const char *user, char *err,
			   size_t errlen);

#endif
