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
	if (pr_type(st) == PR_TYPE_NONE)
		return false;
	return pr_type_all_registrants(pr_type(st)) || reg->holder;
}

bool pr_is_holder(const struct pr_state *st, const struct pr_nexus *n)
{
	const struct pr_reg *reg = pr_find(st, n);
	return reg && pr_reg_is_holder(st, reg);
}

uint64_t pr_reservation_key(const struct pr_state *st)
{
	if (pr_type(st) == PR_TYPE_NONE || pr_type_all_registrants(pr_type(st)))
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
	atomic_store_explicit(&st->type, type, memory_order_relaxed);
}

uint8_t pr_reservation_type_unlocked(const struct pr_state *st) { return pr_type(st); }

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
	uint8_t type = pr_type(st);
	if (type != PR_TYPE_NONE) {
		if (pr_type_all_registrants(type)) {
			if (st->nregs == 1)
				drop_reservation(st);
		} else if (st->regs[idx].holder) {
			drop_reservation(st);
			if (type == PR_TYPE_WE_RO || type == PR_TYPE_EA_RO)
				event_all_but(ev, st, (int)idx, ASC_RESERVATIONS_RELEASED);
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
	if (pr_type(st) != PR_TYPE_NONE) {
		/* Only the holder may re-reserve, and only with the same type. */
		if (!pr_reg_is_holder(st, reg) || pr_type(st) != type)
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
	if (pr_type(st) != type)
		return PR_INVALID_RELEASE;
	drop_reservation(st);
	if (pr_type_for_registrants(type))
		event_all_but(ev, st, idx, ASC_RESERVATIONS_RELEASED);
	return PR_OK;
}

/* CLEAR (SPC-5 5.14.10.3). */
enum pr_result pr_clear(struct pr_state *st, const struct pr_nexus *n, uint64_t res_key,
			struct pr_events *ev)
{
	int idx = registered_with_key(st, n, res_key);
	if (idx < 0)
		return PR_CONFLICT;
	event_all_but(ev, st, idx, ASC_RESERVATIONS_PREEMPTED);
	drop_reservation(st);
	st->nregs = 0;
	st->generation++;
	return PR_OK;
}

static void event_preempted(struct pr_events *ev, const struct pr_reg *reg, bool abort)
{
	event_add(ev, reg, ASC_REGISTRATIONS_PREEMPTED);
	if (abort)
		event_add(ev, reg, ASC_COMMANDS_CLEARED_BY_ANOTHER_INITIATOR);
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
		event_all_but(ev, st, self, ASC_RESERVATIONS_RELEASED);
}

/* PREEMPT and PREEMPT AND ABORT (SPC-5 5.14.10.4, 5.14.10.5). */
enum pr_result pr_preempt(struct pr_state *st, const struct pr_nexus *n, uint64_t res_key,
			  uint64_t sa_key, uint8_t type, bool abort, struct pr_events *ev)
{
	int self = registered_with_key(st, n, res_key);
	if (self < 0)
		return PR_CONFLICT;
	uint8_t old_type = pr_type(st);

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
	if (!pr_reg_is_holder(st, &st->regs[self]) || pr_type_all_registrants(pr_type(st)))
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

/*
 * The port name is the initiator's iSCSI name plus ",i,0x<ISID>".  The
 * file is read line by line and split at blanks, so a name holding a
 * newline, a blank or a control byte (the login checks names, but the file
 * must not depend on that) could forge a line or make the file unreadable.
 * Such bytes, 0x7f and '%' itself are written as %XX (upper-case hex);
 * every other byte as is, so a name without those bytes reads back from
 * files of older versions unchanged.
 */
static bool port_byte_escaped(unsigned char b) { return b <= 0x20 || b == 0x7f || b == '%'; }

/* Writes the escaped form of port into out (PR_PORT_TEXT_MAX bytes). */
static void port_escape(const char *port, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)port; *p && o + 4 <= PR_PORT_TEXT_MAX;
	     p++) {
		if (port_byte_escaped(*p)) {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes %XX in place.  A '%' not followed by two hex digits is kept as
 * it is (files written before names were escaped); %00 is refused. */
static bool port_unescape(char *s)
{
	char *o = s;
	for (const char *p = s; *p; p++) {
		int hi, lo;
		if (*p == '%' && (hi = hex_digit(p[1])) >= 0 && (lo = hex_digit(p[2])) >= 0) {
			if (hi == 0 && lo == 0)
				return false;
			*o++ = (char)(hi << 4 | lo);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return true;
}

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
	EMIT("reservation %u %u\n", pr_type(st), st->scope);
	for (unsigned i = 0; i < st->nregs; i++) {
		const struct pr_reg *r = &st->regs[i];
		char port[PR_PORT_TEXT_MAX];
		port_escape(r->port, port);
		EMIT("registrant %u %d %d 0x%016" PRIx64 " %s\n", r->rel_tgt_id,
		     r->all_tg_pt ? 1 : 0, r->holder ? 1 : 0, r->key, port);
	}
#undef EMIT
	return used;
}

char *pr_state_text(const struct pr_state *st)
{
	size_t need = pr_state_serialise(st, NULL, 0);
	char *buf = malloc(need + 1);
	if (buf)
		pr_state_serialise(st, buf, need + 1);
	return buf;
}

struct pr_state *pr_state_copy(const struct pr_state *st)
{
	struct pr_state *c = pr_state_new();
	if (!c)
		return NULL;
	*c = *st;
	c->regs = NULL;
	c->cap = c->nregs;
	if (st->nregs) {
		c->regs = malloc(st->nregs * sizeof(*c->regs));
		if (!c->regs) {
			free(c);
			return NULL;
		}
		memcpy(c->regs, st->regs, st->nregs * sizeof(*c->regs));
	}
	return c;
}

void pr_state_restore(struct pr_state *st, struct pr_state *from)
{
	free(st->regs);
	st->generation = from->generation;
	st->aptpl = from->aptpl;
	st->scope = from->scope;
	st->nregs = from->nregs;
	st->cap = from->cap;
	st->regs = from->regs;
	set_type(st, pr_type(from));
	free(from);
}

/*
 * The parser trusts nothing in the text (it comes from a file anyone with
 * access to the PR directory may have edited): numbers are digits only with
 * range checks, every line has exactly its fields, and control characters,
 * duplicates and inconsistent holders are refused with a reason.
 */
#define PR_MAX_FIELDS 6

struct parse_ctx {
	struct pr_state *st;
	bool seen_header, seen_generation, seen_aptpl, seen_reservation;
	const char *why;
};

/* Unsigned decimal, or hexadecimal after "0x" when hex; no sign, no blanks,
 * no overflow, at most max. */
static bool parse_num(const char *tok, bool hex, uint64_t max, uint64_t *out)
{
	const char *p = tok;
	unsigned base = 10;
	if (hex) {
		if (p[0] != '0' || (p[1] != 'x' && p[1] != 'X'))
			return false;
		p += 2;
		base = 16;
	}
	if (!*p)
		return false;
	uint64_t v = 0;
	for (; *p; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (hex && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (hex && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Splits line in place at blanks; false if more than max fields. */
static bool split_fields(char *line, char **f, unsigned max, unsigned *n)
{
	char *save = NULL;
	*n = 0;
	for (char *p = strtok_r(line, " \t", &save); p; p = strtok_r(NULL, " \t", &save)) {
		if (*n == max)
			return false;
		f[(*n)++] = p;
	}
	return true;
}

static bool fail_why(struct parse_ctx *c, const char *why)
{
	c->why = why;
	return false;
}

/* Another registration for the same nexus, or overlapping via ALL_TG_PT. */
static bool overlaps(const struct pr_state *st, const char *port, uint16_t rel, bool all_tg_pt)
{
	for (unsigned i = 0; i < st->nregs; i++) {
		const struct pr_reg *r = &st->regs[i];
		if (strcasecmp(r->port, port) == 0 &&
		    (r->all_tg_pt || all_tg_pt || r->rel_tgt_id == rel))
			return true;
	}
	return false;
}

static bool parse_registrant(struct parse_ctx *c, char **f, unsigned n)
{
	uint64_t rel, atp, holder, key;
	if (n != 6)
		return fail_why(c, "registrant needs 5 fields");
	if (!parse_num(f[1], false, UINT16_MAX, &rel) || !parse_num(f[2], false, 1, &atp) ||
	    !parse_num(f[3], false, 1, &holder) || !parse_num(f[4], true, UINT64_MAX, &key))
		return fail_why(c, "bad number in registrant");
	if (key == 0)
		return fail_why(c, "registrant with a zero key");
	if (!port_unescape(f[5]) || strlen(f[5]) >= PR_PORT_MAX || !strstr(f[5], ",i,0x"))
		return fail_why(c, "bad initiator port name");
	if (overlaps(c->st, f[5], (uint16_t)rel, atp))
		return fail_why(c, "duplicate registrant");
	struct pr_nexus nx = {f[5], (uint16_t)rel};
	int idx;
	switch (add_reg(c->st, &nx, key, atp, &idx)) {
	case PR_OK:
		break;
	case PR_NOMEM:
		return fail_why(c, "out of memory");
	default:
		return fail_why(c, "too many registrants");
	}
	c->st->regs[idx].holder = holder;
	return true;
}

static bool once(struct parse_ctx *c, bool *seen)
{
	if (*seen)
		return fail_why(c, "duplicate line");
	*seen = true;
	return true;
}

static bool parse_line(struct parse_ctx *c, char *line)
{
	for (const char *p = line; *p; p++)
		if ((*p > 0 && *p < 0x20 && *p != '\t') || *p == 0x7f)
			return fail_why(c, "control character");
	char *f[PR_MAX_FIELDS];
	unsigned n;
	if (!split_fields(line, f, PR_MAX_FIELDS, &n))
		return fail_why(c, "too many fields");
	if (n == 0 || f[0][0] == '#')
		return true;
	uint64_t a, b;
	if (!c->seen_header) {
		if (strcmp(f[0], "uscst-pr") != 0 || n != 2)
			return fail_why(c, "missing 'uscst-pr 1' header");
		if (!parse_num(f[1], false, UINT32_MAX, &a) || a != 1)
			return fail_why(c, "unsupported format version");
		c->seen_header = true;
		return true;
	}
	if (strcmp(f[0], "registrant") == 0)
		return parse_registrant(c, f, n);
	if (strcmp(f[0], "generation") == 0) {
		if (n != 2 || !parse_num(f[1], false, UINT32_MAX, &a))
			return fail_why(c, "bad generation");
		c->st->generation = (uint32_t)a;
		return once(c, &c->seen_generation);
	}
	if (strcmp(f[0], "aptpl") == 0) {
		if (n != 2 || !parse_num(f[1], false, 1, &a))
			return fail_why(c, "bad aptpl (0 or 1)");
		c->st->aptpl = a;
		return once(c, &c->seen_aptpl);
	}
	if (strcmp(f[0], "reservation") == 0) {
		if (n != 3 || !parse_num(f[1], false, UINT8_MAX, &a) ||
		    !parse_num(f[2], false, UINT8_MAX, &b) ||
		    (a != PR_TYPE_NONE && !pr_type_valid((uint8_t)a)) || b != PR_SCOPE_LU)
			return fail_why(c, "bad reservation type or scope");
		atomic_store_explicit(&c->st->type, (uint8_t)a, memory_order_relaxed);
		return once(c, &c->seen_reservation);
	}
	return fail_why(c, "unknown keyword");
}

/* A reservation that is not all-registrants needs exactly one holder. */
static bool state_consistent(const struct pr_state *st)
{
	unsigned holders = 0;
	for (unsigned i = 0; i < st->nregs; i++)
		holders += st->regs[i].holder;
	if (pr_type(st) == PR_TYPE_NONE || pr_type_all_registrants(pr_type(st)))
		return holders == 0 && (pr_type(st) == PR_TYPE_NONE || st->nregs > 0);
	return holders == 1;
}

struct pr_state *pr_state_parse(const char *text, unsigned *line_no, const char **why)
{
	struct parse_ctx c = {.st = pr_state_new()};
	*line_no = 0;
	*why = "out of memory";
	if (!c.st)
		return NULL;
	const char *p = text;
	char line[PR_PORT_TEXT_MAX + 128];
	while (*p) {
		size_t n = strcspn(p, "\n");
		++*line_no;
		if (n >= sizeof(line)) {
			*why = "line too long";
			goto bad;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (!parse_line(&c, line)) {
			*why = c.why;
			goto bad;
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	*line_no = 0;
	if (!c.seen_header) {
		*why = "missing 'uscst-pr 1' header";
		goto bad;
	}
	if (!state_consistent(c.st)) {
		*why = "reservation holders do not match the reservation type";
		goto bad;
	}
	return c.st;
bad:
	pr_state_free(c.st);
	return NULL;
}

struct pr_state *pr_state_deserialise(const char *text)
{
	unsigned line;
	const char *why;
	return pr_state_parse(text, &line, &why);
}
