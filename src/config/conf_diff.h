/*
 * The difference between two configurations (scst.conf trees): what to do,
 * in order, to bring a running daemon ("current", e.g. conf_running_tree())
 * to the state a file describes ("wanted"), as `scstadmin -config` does.
 *
 * Pure: compares trees only.  What may change at run time, and what an
 * attribute left out of a file means (its default), comes from a policy the
 * caller gives (config/conf_exec.c asks the core; unit tests give their own).
 *
 * Objects are matched by name (devices, targets, groups), number (LUNs),
 * pattern (initiators), user (CHAP accounts) and address (portals).  A LUN
 * whose device or read_only changes is removed and added again.  An object
 * in `current` that `wanted` does not name is removed; a TARGET_DRIVER
 * block that `wanted` leaves out keeps its driver attributes but loses its
 * targets.  A device attribute the file leaves out goes back to its
 * default (the policy's), or stays as it is when it has none (a fileio
 * device's size); a target or driver attribute it leaves out stays as it
 * is (rel_tgt_id, given when the target was made); portals (listen) are
 * compared only when the file names at least one (uscstd --listen gives
 * them outside the file).
 *
 * The list is ordered so that every step is valid when it runs: first
 * target disables and every removal (LUNs before the groups, CHAP accounts
 * and targets that hold them; portals), then device removals (no LUN maps
 * them any more), device additions and attribute changes, target
 * additions, groups, initiators, CHAP accounts, portals, LUN additions (the
 * devices exist), the ALUA device groups (the targets exist), and target
 * enables last (SCST's rule: a target is
 * complete before an initiator logs in).  Within one kind, file order.
 *
 * Each change carries what its undo needs (the old value, the removed
 * LUN's device, the removed device's attributes), so an executor can roll
 * back a list applied in part: conf_change_undo().
 *
 * Refused (nothing to apply; the message names FILE:LINE, the object and
 * the attribute): an attribute that cannot change at run time, a device
 * whose handler changes, a target whose driver changes.
 */
#ifndef USCST_CONFIG_CONF_DIFF_H
#define USCST_CONFIG_CONF_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/conf_parser.h"

/* In the order they are applied. */
enum conf_change_kind {
	CONF_TARGET_DISABLE,
	CONF_LUN_REMOVE,
	CONF_INITIATOR_REMOVE,
	CONF_GROUP_REMOVE,
	CONF_CHAP_REMOVE,
	CONF_TARGET_REMOVE,
	CONF_PORTAL_REMOVE,
	CONF_DEVICE_REMOVE,
	CONF_DEVICE_ADD,
	CONF_DEVICE_SET,
	CONF_TARGET_ADD,
	CONF_GROUP_ADD,
	CONF_INITIATOR_ADD,
	CONF_CHAP_ADD,
	CONF_PORTAL_ADD,
	CONF_LUN_ADD,
	CONF_ALUA_SET, /* every DEVICE_GROUP at once (config/conf_alua.h) */
	CONF_TARGET_ENABLE,
};

struct conf_change {
	enum conf_change_kind kind;
	const char *driver;  /* targets, portals */
	const char *target;  /* targets, groups, initiators, LUNs, CHAP */
	const char *group;   /* NULL: the target's default LUN map */
	const char *name;    /* device, group, initiator pattern, CHAP user, portal */
	const char *handler; /* device add / remove */
	const char *device;  /* LUN add / remove */
	uint64_t lun;
	bool read_only;	       /* LUN add / remove */
	bool incoming;	       /* CHAP: IncomingUser (true) or OutgoingUser */
	bool was_enabled;      /* target remove: enabled before (its undo) */
	const char *attr;      /* device set */
	const char *value;     /* device set: the new value; CHAP add: the secret */
	const char *old_value; /* device set: the value in force; CHAP remove: its secret */
	/* ALUA set: value and old_value are the wanted and the running
	 * DEVICE_GROUP blocks, as conf_alua_text() writes them. */
	/* Device add (and remove, for its undo): "NAME=VALUE", file order. */
	char **attrs;
	size_t nattrs;
	int line; /* in the wanted file; 0 for a removal */
};

struct conf_diff {
	struct conf_change *changes;
	size_t count;
	/* The strings the changes point to. */
	char **strings;
	size_t nstrings;
};

enum conf_attr_runtime {
	CONF_ATTR_RUNTIME, /* can change while the device runs */
	CONF_ATTR_FIXED,   /* set when the device is created only */
};

struct conf_diff_policy {
	/* Whether a device attribute of this handler can change at run time. */
	enum conf_attr_runtime (*device_attr)(void *arg, const char *handler, const char *attr);
	/* The value a device has when the file does not name the attribute;
	 * NULL if there is none (the attribute then has no value at all). */
	const char *(*device_attr_default)(void *arg, const char *handler, const char *attr);
	void *arg;
};

/* Compares; 0 with the ordered list in *out (count 0: nothing to do), or
 * -1 with "FILE:LINE: message" in err (FILE: wanted's name) and *out
 * empty.  Both trees stay the caller's and must outlive *out only for
 * nothing: the changes hold copies. */
int conf_diff(const struct conf_tree *current, const struct conf_tree *wanted,
	      const struct conf_diff_policy *policy, struct conf_diff *out, char *err,
	      size_t errlen);
void conf_diff_free(struct conf_diff *d);

/* One line for people and logs ("add lun 3 disk2 to target T group G");
 * never a CHAP secret. */
void conf_change_describe(const struct conf_change *c, char *buf, size_t len);

/* The change that undoes c (for a device set, the old value back). */
struct conf_change conf_change_undo(const struct conf_change *c);

#endif
