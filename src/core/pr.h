/*
 * Persistent reservations (SPC-5 5.14) as plain data.
 *
 * struct pr_state holds one logical unit's registrations and reservation.
 * The functions here know nothing of sessions, commands or locks: they take
 * an I_T nexus identity, change the state and report the unit attentions
 * the change causes as a list of events (struct pr_events).  The command
 * set's PERSISTENT RESERVE OUT calls them under dev->lock and delivers the
 * events to the sessions after dropping it, so the UA code never runs
 * under dev->lock.
 *
 * An I_T nexus is (initiator port name, relative target port identifier).
 * For iSCSI the initiator port name is "<iSCSI name>,i,0x<ISID>".  A
 * registration made with ALL_TG_PT=1 stands for every target port.
 */
#ifndef USCST_CORE_PR_H
#define USCST_CORE_PR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uscst/scsi_codes.h>

/* Room for struct uscst_session.initiator_port ("iqn...,i,0x<isid>"). */
#define PR_PORT_MAX 256
/* The port name in the PR file, each byte at most three (%XX), and a NUL. */
#define PR_PORT_TEXT_MAX (3 * (PR_PORT_MAX - 1) + 1)
/* Beyond this REGISTER fails with INSUFFICIENT REGISTRATION RESOURCES. */
#define PR_MAX_REGISTRATIONS 1024

/* PERSISTENT RESERVE OUT TYPE field values (SPC-5 table 6.17.4). */
enum pr_type {
	PR_TYPE_NONE = 0x0, /* no reservation (not a CDB value) */
	PR_TYPE_WE = 0x1,   /* Write Exclusive */
	PR_TYPE_EA = 0x3,   /* Exclusive Access */
	PR_TYPE_WE_RO = 0x5,
	PR_TYPE_EA_RO = 0x6,
	PR_TYPE_WE_AR = 0x7,
	PR_TYPE_EA_AR = 0x8,
};
#define PR_SCOPE_LU 0x0

/* REPORT CAPABILITIES PERSISTENT RESERVATION TYPE MASK bits (bytes 4..5). */
#define PR_TYPE_MASK_ALL 0xea01

struct pr_nexus {
	const char *port;    /* initiator port name */
	uint16_t rel_tgt_id; /* relative target port identifier */
};

struct pr_reg {
	char port[PR_PORT_MAX];
	uint16_t rel_tgt_id;
	bool all_tg_pt; /* registered through every target port */
	bool holder;	/* holds a reservation that is not all-registrants */
	uint64_t key;
};

struct pr_state {
	uint32_t generation; /* PRGENERATION */
	bool aptpl;	     /* activate persist through power loss */
	/* enum pr_type; PR_TYPE_NONE: no reservation.  Written only under
	 * dev->lock, also read without it (pr_reservation_type_unlocked):
	 * _Atomic, every access through pr_type() or set_type(). */
	_Atomic uint8_t type;
	uint8_t scope;
	unsigned nregs, cap;
	struct pr_reg *regs;
};

enum pr_result {
	PR_OK = 0,
	PR_CONFLICT,	    /* RESERVATION CONFLICT status */
	PR_INVALID_RELEASE, /* 26h/04h INVALID RELEASE OF PERSISTENT RESERVATION */
	PR_INVALID_PARAM,   /* 26h/00h INVALID FIELD IN PARAMETER LIST */
	PR_INVALID_TYPE,    /* 24h/00h INVALID FIELD IN CDB (the TYPE field) */
	PR_NO_RESOURCES,    /* 55h/04h INSUFFICIENT REGISTRATION RESOURCES */
	PR_NOMEM,	    /* out of memory */
	PR_SAVE_FAILED,	    /* APTPL: the state could not be written (44h/00h) */
};

/* A unit attention for the initiator port of one nexus (or of all target
 * ports when all_tg_pt). */
struct pr_event {
	char port[PR_PORT_MAX];
	uint16_t rel_tgt_id;
	bool all_tg_pt;
	uint8_t asc, ascq;
};

struct pr_events {
	unsigned count, cap;
	struct pr_event *ev;
	bool lost; /* an event could not be recorded (ENOMEM) */
};

struct pr_state *pr_state_new(void);
void pr_state_free(struct pr_state *st);
void pr_events_free(struct pr_events *ev);

bool pr_type_valid(uint8_t type);
bool pr_type_all_registrants(uint8_t type);
/* Registrants-only or all-registrants: registered nexuses get access. */
bool pr_type_for_registrants(uint8_t type);

bool pr_nexus_match(const struct pr_reg *reg, const struct pr_nexus *n);
struct pr_reg *pr_find(const struct pr_state *st, const struct pr_nexus *n);
bool pr_is_registered(const struct pr_state *st, const struct pr_nexus *n);
/* Whether the nexus holds the reservation (any registrant for *_AR types). */
bool pr_is_holder(const struct pr_state *st, const struct pr_nexus *n);
bool pr_reg_is_holder(const struct pr_state *st, const struct pr_reg *reg);
/* st->type (relaxed atomic load; under dev->lock it is exact). */
static inline uint8_t pr_type(const struct pr_state *st)
{
	return atomic_load_explicit(&st->type, memory_order_relaxed);
}
/* st->type for readers that do not hold dev->lock (a snapshot). */
uint8_t pr_reservation_type_unlocked(const struct pr_state *st);
/* RESERVATION KEY for READ RESERVATION: the holder's, 0 for *_AR types. */
uint64_t pr_reservation_key(const struct pr_state *st);

struct pr_register_args {
	uint64_t res_key; /* RESERVATION KEY */
	uint64_t sa_key;  /* SERVICE ACTION RESERVATION KEY */
	bool ignore_existing;
	bool aptpl;
	bool all_tg_pt;
};

/* PERSISTENT RESERVE OUT service actions (SPC-5 5.14.7 ... 5.14.11). */
enum pr_result pr_register(struct pr_state *st, const struct pr_nexus *n,
			   const struct pr_register_args *a, struct pr_events *ev);
enum pr_result pr_reserve(struct pr_state *st, const struct pr_nexus *n, uint64_t res_key,
			  uint8_t type);
enum pr_result pr_release(struct pr_state *st, const struct pr_nexus *n, uint64_t res_key,
			  uint8_t type, struct pr_events *ev);
enum pr_result pr_clear(struct pr_state *st, const struct pr_nexus *n, uint64_t res_key,
			struct pr_events *ev);
/* PREEMPT, and PREEMPT AND ABORT when abort (adds COMMANDS CLEARED BY
 * ANOTHER INITIATOR for the preempted nexuses; aborting their tasks is up
 * to the transport). */
enum pr_result pr_preempt(struct pr_state *st, const struct pr_nexus *n, uint64_t res_key,
			  uint64_t sa_key, uint8_t type, bool abort, struct pr_events *ev);
/* REGISTER AND MOVE: registers sa_key for dest and moves the reservation
 * there; unreg drops the source's registration. */
enum pr_result pr_register_and_move(struct pr_state *st, const struct pr_nexus *n, uint64_t res_key,
				    uint64_t sa_key, const struct pr_nexus *dest, bool unreg,
				    bool aptpl, struct pr_events *ev);

/*
 * Text form, for saving when APTPL is set and for administration:
 *   uscst-pr 1
 *   generation <n>
 *   aptpl <0|1>
 *   reservation <type> <scope>
 *   registrant <rel_tgt_id> <all_tg_pt> <holder> 0x<key> <initiator port>
 * pr_state_serialise writes at most len bytes (NUL included) and returns
 * the length the full text needs, like snprintf.  pr_state_deserialise
 * returns NULL on malformed text or ENOMEM.
 */
size_t pr_state_serialise(const struct pr_state *st, char *buf, size_t len);
struct pr_state *pr_state_deserialise(const char *text);
/* The same with a reason: on failure *line is the 1-based line at fault (0
 * when the text as a whole is: no header, inconsistent holders, ENOMEM)
 * and *why a static message. */
struct pr_state *pr_state_parse(const char *text, unsigned *line, const char **why);
/* Heap text of pr_state_serialise (NUL-terminated); NULL: ENOMEM. */
char *pr_state_text(const struct pr_state *st);
/* A deep copy; NULL: ENOMEM. */
struct pr_state *pr_state_copy(const struct pr_state *st);
/* Puts the contents of `from` (a pr_state_copy of an earlier st) back into
 * st, keeping the st pointer that lock-free readers hold; frees from. */
void pr_state_restore(struct pr_state *st, struct pr_state *from);

/*
 * The PR file of a device with persistence (core/pr_persist.c).  Each
 * returns 0, or -errno with a message naming the file in err.
 * pr_file_save writes PATH.tmp, fsyncs it, renames it over PATH and fsyncs
 * the directory (creating missing directories first), so PATH is always
 * either the old or the new state.  pr_file_remove: ENOENT is success.
 * pr_file_load: *out is NULL when there is no file; a malformed file is
 * -EINVAL with "PATH:LINE: reason"; *text (if not NULL) gets the file's text.
 */
#define PR_FILE_MAX ((size_t)PR_MAX_REGISTRATIONS * (PR_PORT_TEXT_MAX + 64) + 4096)
int pr_file_save(const char *path, const char *text, char *err, size_t errlen);
int pr_file_remove(const char *path, char *err, size_t errlen);
int pr_file_load(const char *path, struct pr_state **out, char **text, char *err, size_t errlen);

/* --- command classes for the command set's reservation conflict table --- */
enum pr_cmd_class {
	PR_CLASS_ALLOWED, /* allowed whatever the reservation (INQUIRY ...) */
	PR_CLASS_READ,	  /* reads the medium or device state */
	PR_CLASS_WRITE,	  /* changes the medium or device state; the default */
	PR_CLASS_OWN,	  /* RESERVE/RELEASE/PR OUT: the handler decides */
};
enum pr_cmd_class pr_classify_cdb(const uint8_t *cdb);
/* SPC-5 table "commands allowed in the presence of various reservations"
 * for a nexus that is not the reservation holder. */
bool pr_class_conflicts(uint8_t type, bool registered, enum pr_cmd_class cls);
/* Whether a nexus other than the RESERVE(6/10) holder may run the command. */
bool spc2_allowed_for_others(const uint8_t *cdb);

#endif
