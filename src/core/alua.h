/*
 * Asymmetric logical unit access (SPC-4 5.16): SCST's device groups.
 *
 * A device group holds devices and target port groups; a target port group
 * has an id, an asymmetric access state, a preferred bit and target ports
 * (targets by name: the local ones, and others that live elsewhere, e.g. on
 * an HA peer, with their relative target port id).  A command reaching a
 * device of a device group through a target of one of its target port
 * groups is subject to that group's state.  A device in no device group has
 * no ALUA at all.
 *
 * Publishing, as the LUN maps do (core/live_map.c): the model is built
 * privately, checked, then published with one atomic pointer store; the
 * data path reads the pointer once per command (acquire) and never takes a
 * lock.  Its structure is never changed once published: a new model
 * replaces it.  A replaced model is kept until exit (replacements come from
 * a `config apply`, rare), so a reader never sees it freed.  The states and
 * preferred bits are the only fields that change in place: atomics, each
 * change made under alua.c's lock, then the affected nexuses told with
 * ASYMMETRIC ACCESS STATE CHANGED (2Ah/06h).
 */
#ifndef USCST_CORE_ALUA_H
#define USCST_CORE_ALUA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uscst_device;
struct uscst_session;
struct uscst_target;

/* ASYMMETRIC ACCESS STATE values (SPC-4 6.37, table 307). */
enum uscst_alua_state {
	USCST_ALUA_ACTIVE_OPTIMIZED = 0x0,
	USCST_ALUA_ACTIVE_NONOPTIMIZED = 0x1,
	USCST_ALUA_STANDBY = 0x2,
	USCST_ALUA_UNAVAILABLE = 0x3,
	USCST_ALUA_OFFLINE = 0xe,
	USCST_ALUA_TRANSITIONING = 0xf,
};

/* How a state last changed (RTPG STATUS CODE, SPC-4 6.37). */
enum uscst_alua_change {
	USCST_ALUA_CHANGED_NONE = 0,
	USCST_ALUA_CHANGED_BY_STPG = 1,	    /* SET TARGET PORT GROUPS */
	USCST_ALUA_CHANGED_BY_IMPLICIT = 2, /* the administrator or a config apply */
};

#define USCST_ALUA_NAME_MAX 64
#define USCST_ALUA_TARGET_MAX 224 /* USCST_NAME_MAX */

/* A target port: a target of this daemon through its first portal group
 * (rel_tgt_id not given: the target's own), or through another of its
 * portal groups (that group's rel_tgt_id), or a target elsewhere. */
struct uscst_alua_port {
	char target[USCST_ALUA_TARGET_MAX];
	uint16_t rel_tgt_id_cfg; /* as configured; 0: not given (a local target's own) */
	uint16_t rel_tgt_id;	 /* in effect: configured, or the local target's */
};

struct uscst_alua_tg {
	char name[USCST_ALUA_NAME_MAX];
	uint16_t group_id;
	_Atomic uint8_t state;	 /* enum uscst_alua_state */
	_Atomic bool preferred;	 /* PREF bit */
	_Atomic uint8_t changed; /* enum uscst_alua_change */
	struct uscst_alua_port *ports;
	unsigned nports;
};

struct uscst_alua_dg {
	char name[USCST_ALUA_NAME_MAX];
	char (*devices)[USCST_ALUA_NAME_MAX];
	unsigned ndevices;
	struct uscst_alua_tg *tgs;
	unsigned ntgs;
	/* Set when the model is published: the target port group of each of
	 * the model's ports (uscst_alua_model.ports), NULL where none holds it. */
	const struct uscst_alua_tg **tg_of_port;
};

/* A target port the model names (target, relative port id in effect),
 * once however many groups name it. */
struct uscst_alua_port_key {
	const char *target; /* a port's, in the model */
	uint16_t rel_tgt_id;
};

struct uscst_alua_model {
	struct uscst_alua_dg *dgs;
	unsigned ndgs;
	/* Set when published (alua.c): the generation (never 0) that the
	 * devices' and sessions' alua_cache refer to, and the model's target
	 * ports, indexes of dg->tg_of_port.  The data path resolves a device
	 * and a session by name once per generation, then works with these
	 * indexes (uscst_alua_lookup). */
	uint32_t gen;
	struct uscst_alua_port_key *ports;
	unsigned nports;
	struct uscst_alua_model *retired_next; /* alua.c: replaced models, kept until exit */
};

/* Spellings of scst.conf and uscstadmin (SCST's): "active", "nonoptimized",
 * "standby", "unavailable", "offline", "transitioning". */
const char *uscst_alua_state_name(uint8_t state);
bool uscst_alua_state_parse(const char *name, uint8_t *state);

/* --- building (any thread, private until published) --- */
struct uscst_alua_model *uscst_alua_model_new(void);
void uscst_alua_model_free(struct uscst_alua_model *m);
/* Each returns NULL with a message: ENOMEM, a name too long or given twice. */
struct uscst_alua_dg *uscst_alua_add_dg(struct uscst_alua_model *m, const char *name, char *err,
					size_t errlen);
bool uscst_alua_dg_add_device(struct uscst_alua_dg *dg, const char *device, char *err,
			      size_t errlen);
struct uscst_alua_tg *uscst_alua_dg_add_tg(struct uscst_alua_dg *dg, const char *name,
					   uint16_t group_id, uint8_t state, bool preferred,
					   char *err, size_t errlen);
bool uscst_alua_tg_add_port(struct uscst_alua_tg *tg, const char *target, uint16_t rel_tgt_id,
			    char *err, size_t errlen);

/* Checks m as a whole (a device in one device group, a target in one
 * target port group of a device group) and, unless targets is NONE (a file
 * validated before its targets exist), resolves the local targets'
 * relative port ids: rel_tgt_id given for a target not defined here, no
 * two ports of a device group with the same.  LOCKED: the caller holds
 * uscst_config_lock.  0 or -1 with a message. */
enum uscst_alua_targets {
	USCST_ALUA_TARGETS_NONE,
	USCST_ALUA_TARGETS_LOCKED,
	USCST_ALUA_TARGETS_UNLOCKED,
};
int uscst_alua_model_check(struct uscst_alua_model *m, enum uscst_alua_targets targets, char *err,
			   size_t errlen);
/* Checks, then publishes m (taking it over, also on error: freed) in place
 * of the current model.  Every nexus of a device whose state through some
 * target changes gets 2Ah/06h.  0 or -1 with a message. */
int uscst_alua_publish(struct uscst_alua_model *m, bool config_locked, char *err, size_t errlen);
/* Frees every model (exit, tests). */
void uscst_alua_reset(void);

/* --- reading (any thread, lock-free) --- */
/* The current model, NULL when none is configured.  Valid until exit. */
const struct uscst_alua_model *uscst_alua_current(void);
/* dev's device group in m, or NULL. */
const struct uscst_alua_dg *uscst_alua_dg_of(const struct uscst_alua_model *m,
					     const struct uscst_device *dev);
/* The target port group of dg holding the target port (target name,
 * relative port id), or NULL. */
const struct uscst_alua_tg *uscst_alua_tg_of(const struct uscst_alua_dg *dg, const char *target,
					     uint16_t rel_port_id);
/* What a command from sess to dev sees: false when dev has no ALUA;
 * otherwise *dg, and *tg (NULL when the session's target is in none of
 * the device group's target port groups: no restriction).  O(1): dev's
 * device group and sess's target port are resolved by name once per
 * published model and kept in their alua_cache. */
bool uscst_alua_lookup(const struct uscst_device *dev, const struct uscst_session *sess,
		       const struct uscst_alua_dg **dg, const struct uscst_alua_tg **tg);

/* --- changing states (any thread) --- */
struct uscst_alua_set {
	uint16_t group_id;
	uint8_t state;
};
/* The states of target port groups of dev's device group, all or none
 * (SET TARGET PORT GROUPS): -ENOENT (dev has no device group), -EINVAL (a
 * state STPG may not ask for: offline, transitioning, reserved) or -ESRCH
 * (a group not of dev's device group), with *bad the index of the
 * descriptor; 2Ah/06h on every nexus of its devices but `except`. */
int uscst_alua_set_states(const struct uscst_device *dev, const struct uscst_alua_set *sets,
			  unsigned n, struct uscst_session *except, unsigned *bad);
/* The administrator's: device group and target group by name; state NULL
 * leaves it, preferred < 0 leaves it.  0 or -errno with a message. */
int uscst_alua_set_tg(const char *dg, const char *tg, const char *state, int preferred, char *err,
		      size_t errlen);

#endif
