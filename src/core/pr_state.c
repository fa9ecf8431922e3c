/*
 * Persistent reservation state machine (SPC-5 5.14.7 to 5.14.11).  Pure
 * data: no locking, no sessions; see core/pr.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/pr.h"

struct pr_state *pr_state_new(void) { return calloc(1, sizeof(struct pr_state)); }

void pr_state_free(struct pr_state *st)
{
	if (!st)
		return;
	free(st->regs);
	free(st);
}

void pr_events_free(struct pr_events *ev)
{
	free(ev->ev);
	ev->ev = NULL;
	ev->count = ev->cap = 0;
}

bool pr_type_valid(uint8_t type)
{
	switch (type) {
	case PR_TYPE_WE:
	case PR_TYPE_EA:
	case PR_TYPE_WE_RO:
	case PR_TYPE_EA_RO:
	case PR_TYPE_WE_AR:
	case PR_TYPE_EA_AR:
		return true;
	default:
		return false;
	}
}

bool pr_type_all_registrants(uint8_t type)
{
	return type == PR_TYPE_WE_AR || type == PR_TYPE_EA_AR;
}

bool pr_type_for_registrants(uint8_t type)
{
	return type == PR_TYPE_WE_RO || type == PR_TYPE_EA_RO || pr_type_all_registrants(type);
}

/* iSCSI names are case-insensitive once normalised, and the ISID is hex. */
bool pr_nexus_match(const struct pr_reg *reg, const struct pr_nexus *n)
{
	return strcasecmp(reg->port, n->port) == 0 &&
	       (reg->all_tg_pt || reg->rel_tgt_id == n->rel_tgt_id);
}

static int find_index(const struct pr_state *st, const struct pr_nexus *n)
{
	for (unsigned i = 0; i < st->nregs; i++)
		if (pr_nexus_match(&st->regs[i], n))
			return (int)i;
	return -1;
}

struct pr_reg *pr_find(const struct pr_state *st, const struct pr_nexus *n)
{
	int i = find_index(st, n);
	return i < 0 ? NULL : &st->regs[i];
}

bool pr_is_registered(const struct pr_state *st, const struct pr_nexus *n)
{
	return pr_find(st, n) != NULL;
}

bool pr_reg_is_holder(const struct pr_state *st, const struct pr_reg *reg)
{
	if (st->type == PR_TYPE_NONE)
		return false;
	return pr_type_all_registrants(st->type) || reg->holder;
}

bool pr_is_holder(const struct pr_state *st, const struct pr_nexus *n)
{
	const struct pr_reg *reg = pr_find(st, n);
	return reg && pr_reg_is_holder(st, reg);
}

uint64_t pr_reservation_key(const struct pr_state *st)
{
	if (st->type == PR_TYPE_NONE || pr_type_all_registrants(st->type))
		return 0;
	for (unsigned i = 0; i < st->nregs; i++)
		if (st->regs[i].holder)
			return st->regs[i].key;
	return 0;
}

/* --- events --- */

static void event_add(struct pr_events *ev, const struct pr_reg *reg, uint8_t asc, uint8_t ascq)
{
	if (!ev)
		return;
	if (ev->count == ev->cap) {
		unsigned cap = ev->cap ? ev->cap * 2 : 8;
		struct pr_event *p = realloc(ev->ev, cap * sizeof(*p));
		if (!p) {
			ev->lost = true;
			return;
		}
		ev->ev = p;
		ev->cap = cap;
	}
	struct pr_event *e = &ev->ev[ev->count++];
	memcpy(e->port, reg->port, sizeof(e->port));
	e->rel_tgt_id = reg->rel_tgt_id;
	e->all_tg_pt = reg->all_tg_pt;
	e->asc = asc;
	e->ascq = ascq;
}

/* The same UA for every registrant except the one at index `except`. */
static void event_all_but(struct pr_events *ev, const struct pr_state *st, int except, uint8_t asc,
			  uint8_t ascq)
{
	for (unsigned i = 0; i < st->nregs; i++)
		if ((int)i != except)
			event_add(ev, &st->regs[i], asc, ascq);
}

/* --- registrations --- */

static enum pr_result add_reg(struct pr_state *st, const struct pr_nexus *n, uint64_t key,
			      bool all_tg_pt, int *index)
{
	if (st->nregs >= PR_MAX_REGISTRATIONS)
		return PR_NO_RESOURCES;
	if (strlen(n->port) >= PR_PORT_MAX)
		return PR_INVALID_PARAM;
	if (st->nregs == st->cap) {
		unsigned cap = st->cap ? st->cap * 2 : 4;
		struct pr_reg *p = realloc(st->regs, cap * sizeof(*p));
		if (!p)
			return PR_NOMEM;
		st->regs = p;
		st->cap = cap;
	}
	struct pr_reg *reg = &st->regs[st->nregs];
	memset(reg, 0, sizeof(*reg));
	snprintf(reg->port, sizeof(reg->port), "%s", n->port);
	reg->rel_tgt_id = n->rel_tgt_id;
	reg->all_tg_pt = all_tg_pt;
	reg->key = key;
	if (index)
		*index = (int)st->nregs;
	st->nregs++;
	return PR_OK;
}

static void remove_reg(struct pr_state *st, unsigned idx)
{
	memmove(&st->regs[idx], &st->regs[idx + 1], (st->nregs - idx - 1) * sizeof(st->regs[0]));
	st->nregs--;
}

/* The reservation type is read without dev->lock by the conflict check's
 * fast path (pr_reservation_type_unlocked), hence the atomic store. */
static void set_type(struct pr_state *st, uint8_t type)
{
	__atomic_store_n(&st->type, type, __ATOMIC_RELAXED);
}

uint8_t pr_reservation_type_unlocked(const struct pr_state *st)
{
	return __atomic_load_n(&st->type, __ATOMIC_RELAXED);
}

static void drop_reservation(struct pr_state *st)
{
	set_type(st, PR_TYPE_NONE);
	st->scope = PR_SCOPE_LU;
	for (unsigned i = 0; i < st->nregs; i++)
		st->regs[i].holder = false;
}

/*
 * Removes a registration as REGISTER with a zero key does.  A holder that
 * leaves takes a (non all-registrants) reservation with it; for the
 * registrants-only types the other registrants learn of it by UA
 * (SPC-5 5.14.11.2.3).  An all-registrants reservation lasts as long as any
 * registrant does.
 */
static void unregister_index(struct pr_state *st, unsigned idx, struct pr_events *ev)
{
	uint8_t type = st->type;
	if (type != PR_TYPE_NONE) {
		if (pr_type_all_registrants(type)) {
			if (st->nregs == 1)
				drop_reservation(st);
		} else if (st->regs[idx].holder) {
			drop_reservation(st);
			if (type == PR_TYPE_WE_RO || type == PR_TYPE_EA_RO)
				event_all_but(ev, st, (int)idx, PR_UA_RESERVATIONS_RELEASED);
		}
	}
	remove_reg(st, idx);
}

/* REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-5 5.14.7). */
enum pr_result pr_register(struct pr_state *st, const struct pr_nexus *n,
			   const struct pr_register_args *a, struct pr_events *ev)
{
	int idx = find_index(st, n);
	if (idx < 0) {
		/* An unregistered nexus must send a zero RESERVATION KEY. */
		if (!a->ignore_existing && a->res_key != 0)
			return PR_CONFLICT;
		if (a->sa_key == 0)
			return PR_OK; /* unregistering nothing: no change */
		enum pr_result r = add_reg(st, n, a->sa_key, a->all_tg_pt, NULL);
		if (r != PR_OK)
			return r;
	} else {
		if (!a->ignore_existing && a->res_key != st->regs[idx].key)
			return PR_CONFLICT;
		if (a->sa_key == 0)
			unregister_index(st, (unsigned)idx, ev);
		else
			st->regs[idx].key = a->sa_key;
	}
	st->aptpl = a->aptpl;
	st->generation++;
	return PR_OK;
}

/* Looks the nexus up and checks its RESERVATION KEY: every service action
 * but the REGISTERs needs a registered nexus quoting its own key. */
static int registered_with_key(const struct pr_state *st, const struct pr_nexus *n,
			       uint64_t res_key)
{
	int idx = find_index(st, n);
	if (idx < 0 || st->regs[idx].key != res_key)
		return -1;
	return idx;
}

/* RESERVE (SPC-5 5.14.9). */
enum pr_result pr_reserve(struct pr_state *st, const struct pr_nexus *n, uint64_t res_key,
			  uint8_t type)
{
	if (!pr_type_valid(type))
		return PR_INVALID_TYPE;
	int idx = registered_with_key(st, n, res_key);
	if (idx < 0)
		return PR_CONFLICT;
	struct pr_reg *reg = &st->regs[idx];
	if (st->type != PR_TYPE_NONE) {
		/* Only the holder may re-reserve, and only with the same type. */
		if (!pr_reg_is_holder(st, reg) || st->type != type)
			return PR_CONFLICT;
		return PR_OK;
	}
	set_type(st, type);
	st->scope = PR_SCOPE_LU;
	reg->holder = !pr_type_all_registrants(type);
	return PR_OK;
}

/* RELEASE (SPC-5 5.14.10.2). */
enum pr_result pr_release(struct pr_state *st, const struct pr_nexus *n, uint64_t res_key,
			  uint8_t type, struct pr_events *ev)
{
	int idx = registered_with_key(st, n, res_key);
	if (idx < 0)
		return PR_CONFLICT;
	/* No reservation, or a non-holder releasing: GOOD, nothing changes. */
	if (!pr_reg_is_holder(st, &st->regs[idx]))
		return PR_OK;
	if (st->type != type)
		return PR_INVALID_RELEASE;
	drop_reservation(st);
	if (pr_type_for_registrants(type))
		event_all_but(ev, st, idx, PR_UA_RESERVATIONS_RELEASED);
	return PR_OK;
}

/* CLEAR (SPC-5 5.14.10.3). */
enum pr_result pr_clear(struct pr_state *st, const struct pr_nexus *n, uint64_t res_key,
			struct pr_events *ev)
{
	int idx = registered_with_key(st, n, res_key);
	if (idx < 0)
		return PR_CONFLICT;
	event_all_but(ev, st, idx, PR_UA_RESERVATIONS_PREEMPTED);
	drop_reservation(st);
	st->nregs = 0;
	st->generation++;
	return PR_OK;
}

static void event_preempted(struct pr_events *ev, const struct pr_reg *reg, bool abort)
{
	event_add(ev, reg, PR_UA_REGISTRATIONS_PREEMPTED);
	if (abort)
		event_add(ev, reg, PR_UA_COMMANDS_CLEARED);
}

/*
 * Removes every registration whose key is `key` (all of them if match_all)
 * except the preempting nexus at *self, which is kept up to date as the
 * array shrinks.
 */
static void remove_preempted(struct pr_state *st, int *self, uint64_t key, bool match_all,
			     bool abort, struct pr_events *ev)
{
	unsigned i = 0;
	while (i < st->nregs) {
		if ((int)i == *self || (!match_all && st->regs[i].key != key)) {
			i++;
			continue;
		}
		event_preempted(ev, &st->regs[i], abort);
		remove_reg(st, i);
		if ((int)i < *self)
			(*self)--;
	}
}

static bool key_registered(const struct pr_state *st, uint64_t key)
{
	for (unsigned i = 0; i < st->nregs; i++)
		if (st->regs[i].key == key)
			return true;
	return false;
}

/* The preempting nexus takes the reservation with the new type; when the
 * type changes the remaining registrants hear RESERVATIONS RELEASED. */
static void take_reservation(struct pr_state *st, int self, uint8_t old_type, uint8_t type,
			     struct pr_events *ev)
{
	drop_reservation(st);
	set_type(st, type);
	st->scope = PR_SCOPE_LU;
	st->regs[self].holder = !pr_type_all_registrants(type);
	if (old_type != type)
		event_all_but(ev, st, self, PR_UA_RESERVATIONS_RELEASED);
}

/* PREEMPT and PREEMPT AND ABORT (SPC-5 5.14.10.4, 5.14.10.5). */
enum pr_result pr_preempt(struct pr_state *st, const struct pr_nexus *n, uint64_t res_key,
			  uint64_t sa_key, uint8_t type, bool abort, struct pr_events *ev)
{
	int self = registered_with_key(st, n, res_key);
	if (self < 0)
		return PR_CONFLICT;
	uint8_t old_type = st->type;

	if (old_type != PR_TYPE_NONE && pr_type_all_registrants(old_type) && sa_key == 0) {
		/* Zero key against an all-registrants reservation: everyone else goes. */
		if (!pr_type_valid(type))
			return PR_INVALID_TYPE;
		remove_preempted(st, &self, 0, true, abort, ev);
		take_reservation(st, self, old_type, type, ev);
		st->generation++;
		return PR_OK;
	}
	if (sa_key == 0)
		return PR_INVALID_PARAM;
	if (!key_registered(st, sa_key))
		return PR_CONFLICT;

	bool preempts_holder = old_type != PR_TYPE_NONE && !pr_type_all_registrants(old_type) &&
			       pr_reservation_key(st) == sa_key;
	if (preempts_holder && !pr_type_valid(type))
		return PR_INVALID_TYPE;
	remove_preempted(st, &self, sa_key, false, abort, ev);
	if (preempts_holder)
		take_reservation(st, self, old_type, type, ev);
	/* Otherwise the reservation (if any) is untouched: only registrations go. */
	st->generation++;
	return PR_OK;
}

/* REGISTER AND MOVE (SPC-5 5.14.8). */
enum pr_result pr_register_and_move(struct pr_state *st, const struct pr_nexus *n, uint64_t res_key,
				    uint64_t sa_key, const struct pr_nexus *dest, bool unreg,
				    bool aptpl, struct pr_events *ev)
{
	int self = registered_with_key(st, n, res_key);
	if (self < 0)
		return PR_CONFLICT;
	/* Only the holder of a reservation that has a single holder can move it. */
	if (!pr_reg_is_holder(st, &st->regs[self]) || pr_type_all_registrants(st->type))
		return PR_CONFLICT;
	if (sa_key == 0)
		return PR_INVALID_PARAM;
	if (pr_nexus_match(&st->regs[self], dest))
		return PR_INVALID_PARAM;
	int dst = find_index(st, dest);
	if (dst < 0) {
		enum pr_result r = add_reg(st, dest, sa_key, false, &dst);
		if (r != PR_OK)
			return r;
	}
	st->regs[self].holder = false;
	st->regs[dst].holder = true;
	if (unreg)
		remove_reg(st, (unsigned)self);
	st->aptpl = aptpl;
	st->generation++;
	return PR_OK;
}

/* --- text form --- */

size_t pr_state_serialise(const struct pr_state *st, char *buf, size_t len)
{
	size_t used = 0;
#define EMIT(...)                                                                                  \
	do {                                                                                       \
		int w_ = snprintf(buf ? buf + (used < len ? used : len) : NULL,                    \
				  used < len ? len - used : 0, __VA_ARGS__);                       \
		if (w_ > 0)                                                                        \
			used += (size_t)w_;                                                        \
	} while (0)
	EMIT("uscst-pr 1\n");
	EMIT("generation %" PRIu32 "\n", st->generation);
	EMIT("aptpl %d\n", st->aptpl ? 1 : 0);
	EMIT("reservation %u %u\n", st->type, st->scope);
	for (unsigned i = 0; i < st->nregs; i++) {
		const struct pr_reg *r = &st->regs[i];
		EMIT("registrant %u %d %d 0x%016" PRIx64 " %s\n", r->rel_tgt_id,
		     r->all_tg_pt ? 1 : 0, r->holder ? 1 : 0, r->key, r->port);
	}
#undef EMIT
	return used;
}

static bool parse_registrant(struct pr_state *st, const char *line)
{
	unsigned rel, atp, holder;
	uint64_t key;
	char port[PR_PORT_MAX];
	if (sscanf(line, "registrant %u %u %u %" SCNx64 " %255s", &rel, &atp, &holder, &key,
		   port) != 5)
		return false;
	if (rel > UINT16_MAX || atp > 1 || holder > 1 || key == 0)
		return false;
	struct pr_nexus n = {port, (uint16_t)rel};
	int idx;
	if (add_reg(st, &n, key, atp, &idx) != PR_OK)
		return false;
	st->regs[idx].holder = holder;
	return true;
}

static bool parse_line(struct pr_state *st, const char *line, bool *seen_header)
{
	unsigned a, b;
	if (!*seen_header)
		return (*seen_header = (sscanf(line, "uscst-pr %u", &a) == 1 && a == 1));
	if (sscanf(line, "generation %u", &a) == 1) {
		st->generation = a;
		return true;
	}
	if (sscanf(line, "aptpl %u", &a) == 1 && a <= 1) {
		st->aptpl = a;
		return true;
	}
	if (sscanf(line, "reservation %u %u", &a, &b) == 2) {
		if ((a != PR_TYPE_NONE && !pr_type_valid((uint8_t)a)) || b != PR_SCOPE_LU)
			return false;
		st->type = (uint8_t)a;
		return true;
	}
	if (strncmp(line, "registrant ", 11) == 0)
		return parse_registrant(st, line);
	return line[0] == '\0' || line[0] == '#';
}

/* A reservation that is not all-registrants needs exactly one holder. */
static bool state_consistent(const struct pr_state *st)
{
	unsigned holders = 0;
	for (unsigned i = 0; i < st->nregs; i++)
		holders += st->regs[i].holder;
	if (st->type == PR_TYPE_NONE || pr_type_all_registrants(st->type))
		return holders == 0 && (st->type == PR_TYPE_NONE || st->nregs > 0);
	return holders == 1;
}

struct pr_state *pr_state_deserialise(const char *text)
{
	struct pr_state *st = pr_state_new();
	if (!st)
		return NULL;
	bool seen_header = false;
	const char *p = text;
	char line[PR_PORT_MAX + 128];
	while (*p) {
		size_t n = strcspn(p, "\n");
		if (n >= sizeof(line))
			goto bad;
		memcpy(line, p, n);
		line[n] = '\0';
		if (!parse_line(st, line, &seen_header))
			goto bad;
		p += n;
		if (*p == '\n')
			p++;
	}
	if (seen_header && state_consistent(st))
		return st;
bad:
	pr_state_free(st);
	return NULL;
}
