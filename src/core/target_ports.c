/*
 * Relative target port ids (SPC-4 7.8.x VPD 83h, RTPG, persistent
 * reservations: a relative target port identifier names one target port
 * of the SCSI target device, here the daemon).  A target is a target port
 * of its own (rel_tgt_id) and, for each value of an attribute its
 * transport says makes one (iSCSI's portal_group), another.  No two target
 * ports share an id: a configured one that would is refused with who has
 * it; an id given at creation (not configured) steps aside, to the lowest
 * free one, for a configured id that wants it.  As SCST refuses a
 * rel_tgt_id in use.
 *
 * Locking: the target list is read under uscst_config_lock, taken here
 * for the checks (their callers, the configuration's load, do not hold
 * it) and held by uscst_target_create's caller of core_target_free_rel_id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uscst/transport_reg.h>

#include "core/core.h"

static uint16_t attr_claim(const struct uscst_target *t, const char *name, const char *value)
{
	return t->transport->attr_rel_port_id ? t->transport->attr_rel_port_id(name, value) : 0;
}

struct claim_scan {
	const struct uscst_target *t;
	uint16_t id;	     /* looked for; 0: collect into ids */
	const char *found;   /* the value that claims id, or NULL */
	char found_name[64]; /* its attribute */
	uint16_t *ids;
	unsigned n, max;
};

static void scan_attr(void *arg, const char *name, const char *value)
{
	struct claim_scan *s = arg;
	uint16_t id = attr_claim(s->t, name, value);
	if (!id)
		return;
	if (!s->id) {
		if (s->n < s->max)
			s->ids[s->n++] = id;
	} else if (id == s->id && !s->found) {
		s->found = value; /* kept until the target goes (core/target.c) */
		snprintf(s->found_name, sizeof(s->found_name), "%s", name);
	}
}

unsigned uscst_target_port_ids(const struct uscst_target *tgt, uint16_t *ids, unsigned max)
{
	struct claim_scan s = {.t = tgt, .ids = ids, .max = max};
	if (max)
		ids[s.n++] = tgt->rel_tgt_id;
	uscst_target_foreach_attr(tgt, scan_attr, &s);
	return s.n;
}

/* Whether id is some target port's (uscst_config_lock held), but not the
 * one being set: except's rel_tgt_id when except_own. */
static bool id_in_use(uint16_t id, const struct uscst_target *except, bool except_own)
{
	for (struct uscst_target *t = uscst_target_next(NULL); t; t = uscst_target_next(t)) {
		if (t->rel_tgt_id == id && !(t == except && except_own))
			return true;
		struct claim_scan s = {.t = t, .id = id};
		uscst_target_foreach_attr(t, scan_attr, &s);
		if (s.found)
			return true;
	}
	return false;
}

uint16_t core_target_free_rel_id(uint16_t from, uint16_t also_taken)
{
	for (uint32_t id = from ? from : 1; id <= 65535; id++)
		if (id != also_taken && !id_in_use((uint16_t)id, NULL, false))
			return (uint16_t)id;
	return 0;
}

bool core_target_port_id_check(struct uscst_target *tgt, const char *name, const char *value,
			       char *err, size_t errlen)
{
	bool own = strcmp(name, "rel_tgt_id") == 0;
	uint16_t id = own ? (uint16_t)strtoul(value, NULL, 10) : attr_claim(tgt, name, value);
	if (!id)
		return true;
	bool ok = true;
	pthread_mutex_lock(&uscst_config_lock);
	for (struct uscst_target *t = uscst_target_next(NULL); ok && t; t = uscst_target_next(t)) {
		struct claim_scan s = {.t = t, .id = id};
		uscst_target_foreach_attr(t, scan_attr, &s);
		if (s.found) {
			snprintf(
			    err, errlen,
			    "%s %s: relative target port id %u is already that of %s \"%s\" of "
			    "target '%s'",
			    name, value, id, s.found_name, s.found, t->name);
			ok = false;
		} else if (t->rel_tgt_id == id && !(own && t == tgt)) {
			if (t->rel_tgt_id_set) {
				snprintf(
				    err, errlen,
				    "%s %s: relative target port id %u is already target '%s''s "
				    "rel_tgt_id",
				    name, value, id, t->name);
				ok = false;
			} else {
				/* Given at creation: it moves out of the way. */
				uint16_t free_id = core_target_free_rel_id(1, id);
				if (!free_id) {
					snprintf(err, errlen, "no free relative target port id");
					ok = false;
				} else {
					t->rel_tgt_id = free_id;
				}
			}
		}
	}
	pthread_mutex_unlock(&uscst_config_lock);
	return ok;
}
