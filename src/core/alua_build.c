/* Asymmetric logical unit access: the state names, building a model and
 * checking it as a whole (core/alua.h); publishing and states: alua.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alua.h"
#include "core/core.h"

static const struct {
	uint8_t state;
	const char *name;
} state_names[] = {
    {USCST_ALUA_ACTIVE_OPTIMIZED, "active"}, {USCST_ALUA_ACTIVE_NONOPTIMIZED, "nonoptimized"},
    {USCST_ALUA_STANDBY, "standby"},	     {USCST_ALUA_UNAVAILABLE, "unavailable"},
    {USCST_ALUA_OFFLINE, "offline"},	     {USCST_ALUA_TRANSITIONING, "transitioning"},
};

#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

const char *uscst_alua_state_name(uint8_t state)
{
	for (size_t i = 0; i < NSTATES; i++)
		if (state_names[i].state == state)
			return state_names[i].name;
	return "?";
}

bool uscst_alua_state_parse(const char *name, uint8_t *state)
{
	for (size_t i = 0; i < NSTATES; i++) {
		if (strcmp(state_names[i].name, name) == 0) {
			*state = state_names[i].state;
			return true;
		}
	}
	return false;
}

/* ---- building ---- */

struct uscst_alua_model *uscst_alua_model_new(void)
{
	return calloc(1, sizeof(struct uscst_alua_model));
}

void uscst_alua_model_free(struct uscst_alua_model *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->ndgs; i++) {
		struct uscst_alua_dg *dg = &m->dgs[i];
		for (unsigned j = 0; j < dg->ntgs; j++)
			free(dg->tgs[j].ports);
		free(dg->tgs);
		free(dg->devices);
		free(dg->tg_of_port);
	}
	free(m->dgs);
	free(m->ports);
	free(m);
}

/* One more element of *array (count of them): the array is reallocated,
 * so callers keep indexes, never pointers, while building. */
static void *grow_one(void *array, unsigned count, size_t elem)
{
	void *p = realloc(array, (count + 1) * elem);
	if (p)
		memset((char *)p + count * elem, 0, elem);
	return p;
}

static bool name_fits(const char *what, const char *name, size_t max, char *err, size_t errlen)
{
	if (*name && strlen(name) < max)
		return true;
	snprintf(err, errlen, "%s name must be 1 to %zu characters", what, max - 1);
	return false;
}

struct uscst_alua_dg *uscst_alua_add_dg(struct uscst_alua_model *m, const char *name, char *err,
					size_t errlen)
{
	if (!name_fits("device group", name, USCST_ALUA_NAME_MAX, err, errlen))
		return NULL;
	for (unsigned i = 0; i < m->ndgs; i++) {
		if (strcmp(m->dgs[i].name, name) == 0) {
			snprintf(err, errlen, "device group '%s' is defined twice", name);
			return NULL;
		}
	}
	struct uscst_alua_dg *dgs = grow_one(m->dgs, m->ndgs, sizeof(*dgs));
	if (!dgs) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->dgs = dgs;
	struct uscst_alua_dg *dg = &dgs[m->ndgs++];
	snprintf(dg->name, sizeof(dg->name), "%s", name);
	return dg;
}

bool uscst_alua_dg_add_device(struct uscst_alua_dg *dg, const char *device, char *err,
			      size_t errlen)
{
	if (!name_fits("device", device, USCST_ALUA_NAME_MAX, err, errlen))
		return false;
	for (unsigned i = 0; i < dg->ndevices; i++) {
		if (strcmp(dg->devices[i], device) == 0) {
			snprintf(err, errlen, "device '%s' is in device group '%s' twice", device,
				 dg->name);
			return false;
		}
	}
	char(*d)[USCST_ALUA_NAME_MAX] = grow_one(dg->devices, dg->ndevices, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	dg->devices = d;
	snprintf(d[dg->ndevices++], USCST_ALUA_NAME_MAX, "%s", device);
	return true;
}

struct uscst_alua_tg *uscst_alua_dg_add_tg(struct uscst_alua_dg *dg, const char *name,
					   uint16_t group_id, uint8_t state, bool preferred,
					   char *err, size_t errlen)
{
	if (!name_fits("target group", name, USCST_ALUA_NAME_MAX, err, errlen))
		return NULL;
	for (unsigned i = 0; i < dg->ntgs; i++) {
		if (strcmp(dg->tgs[i].name, name) == 0) {
			snprintf(err, errlen, "target group '%s' is defined twice in '%s'", name,
				 dg->name);
			return NULL;
		}
		if (dg->tgs[i].group_id == group_id) {
			snprintf(err, errlen,
				 "target groups '%s' and '%s' of '%s' have the same group_id %u",
				 dg->tgs[i].name, name, dg->name, group_id);
			return NULL;
		}
	}
	if (!group_id) {
		snprintf(err, errlen, "target group '%s': group_id must be 1 to 65535", name);
		return NULL;
	}
	struct uscst_alua_tg *tgs = grow_one(dg->tgs, dg->ntgs, sizeof(*tgs));
	if (!tgs) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	dg->tgs = tgs;
	struct uscst_alua_tg *tg = &tgs[dg->ntgs++];
	snprintf(tg->name, sizeof(tg->name), "%s", name);
	tg->group_id = group_id;
	atomic_init(&tg->state, state);
	atomic_init(&tg->preferred, preferred);
	atomic_init(&tg->changed, USCST_ALUA_CHANGED_NONE);
	return tg;
}

bool uscst_alua_tg_add_port(struct uscst_alua_tg *tg, const char *target, uint16_t rel_tgt_id,
			    char *err, size_t errlen)
{
	if (!name_fits("target", target, USCST_ALUA_TARGET_MAX, err, errlen))
		return false;
	struct uscst_alua_port *p = grow_one(tg->ports, tg->nports, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	tg->ports = p;
	struct uscst_alua_port *port = &p[tg->nports++];
	snprintf(port->target, sizeof(port->target), "%s", target);
	port->rel_tgt_id_cfg = rel_tgt_id;
	port->rel_tgt_id = rel_tgt_id;
	return true;
}

/* ---- checking ---- */

static struct uscst_target *local_target(const char *name, bool config_locked)
{
	if (!config_locked)
		return uscst_target_find(name);
	for (struct uscst_target *t = uscst_target_next(NULL); t; t = uscst_target_next(t))
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

/* Every port of dg: its relative port id in effect, and no target (or
 * relative port id) in two of dg's target port groups. */
/* The relative port id the model in force gives target, or 0. */
static uint16_t rel_in_force(const char *target)
{
	const struct uscst_alua_model *m = uscst_alua_current();
	for (unsigned i = 0; m && i < m->ndgs; i++)
		for (unsigned j = 0; j < m->dgs[i].ntgs; j++)
			for (unsigned k = 0; k < m->dgs[i].tgs[j].nports; k++)
				if (strcmp(m->dgs[i].tgs[j].ports[k].target, target) == 0)
					return m->dgs[i].tgs[j].ports[k].rel_tgt_id;
	return 0;
}

#define PORT_IDS_MAX 64

/* A local target's configured rel_tgt_id names one of its target ports:
 * its own or one of another of its portal groups (the transport's). */
static bool has_port(const struct uscst_target *t, uint16_t id)
{
	uint16_t ids[PORT_IDS_MAX];
	unsigned n = uscst_target_port_ids(t, ids, PORT_IDS_MAX);
	for (unsigned i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static void port_ids_text(const struct uscst_target *t, char *buf, size_t len)
{
	uint16_t ids[PORT_IDS_MAX];
	unsigned n = uscst_target_port_ids(t, ids, PORT_IDS_MAX);
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%u", i ? ", " : "", ids[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static int check_ports(struct uscst_alua_dg *dg, enum uscst_alua_targets targets, char *err,
		       size_t errlen)
{
	bool config_locked = targets == USCST_ALUA_TARGETS_LOCKED;
	for (unsigned i = 0; targets != USCST_ALUA_TARGETS_NONE && i < dg->ntgs; i++) {
		struct uscst_alua_tg *tg = &dg->tgs[i];
		for (unsigned j = 0; j < tg->nports; j++) {
			struct uscst_alua_port *p = &tg->ports[j];
			struct uscst_target *t = local_target(p->target, config_locked);
			/* A local target's configured rel_tgt_id must name one
			 * of its target ports: its own (portal group 1) or that
			 * of another of its portal groups (the transport's).  A
			 * target gone since the model in force resolved it
			 * keeps that id (a config apply undoing its change of
			 * the groups after the target's removal). */
			if (t && p->rel_tgt_id_cfg && !has_port(t, p->rel_tgt_id_cfg)) {
				char ids[160];
				port_ids_text(t, ids, sizeof(ids));
				snprintf(err, errlen,
					 "target group '%s': target '%s' has no target port with "
					 "rel_tgt_id %u (its ports: %s)",
					 tg->name, p->target, p->rel_tgt_id_cfg, ids);
				return -1;
			}
			uint16_t before = t || p->rel_tgt_id_cfg ? 0 : rel_in_force(p->target);
			if (!t && !p->rel_tgt_id_cfg && !before) {
				snprintf(err, errlen,
					 "target group '%s': target '%s' is not defined here: give "
					 "its rel_tgt_id",
					 tg->name, p->target);
				return -1;
			}
			p->rel_tgt_id = p->rel_tgt_id_cfg ? p->rel_tgt_id_cfg
					: t		  ? t->rel_tgt_id
							  : before;
		}
	}
	/* Pairwise: a device group has a handful of ports. */
	for (unsigned i = 0; i < dg->ntgs; i++)
		for (unsigned j = 0; j < dg->tgs[i].nports; j++)
			for (unsigned k = i; k < dg->ntgs; k++)
				for (unsigned l = k == i ? j + 1 : 0; l < dg->tgs[k].nports; l++) {
					const struct uscst_alua_port *a = &dg->tgs[i].ports[j];
					const struct uscst_alua_port *b = &dg->tgs[k].ports[l];
					if (strcmp(a->target, b->target) == 0 &&
					    a->rel_tgt_id_cfg == b->rel_tgt_id_cfg) {
						snprintf(err, errlen,
							 "device group '%s': target '%s' is in "
							 "target groups '%s' and '%s'",
							 dg->name, a->target, dg->tgs[i].name,
							 dg->tgs[k].name);
						return -1;
					}
					if (a->rel_tgt_id && a->rel_tgt_id == b->rel_tgt_id) {
						snprintf(err, errlen,
							 "device group '%s': targets '%s' and '%s' "
							 "have the same rel_tgt_id %u",
							 dg->name, a->target, b->target,
							 a->rel_tgt_id);
						return -1;
					}
				}
	return 0;
}

int uscst_alua_model_check(struct uscst_alua_model *m, enum uscst_alua_targets targets, char *err,
			   size_t errlen)
{
	for (unsigned i = 0; i < m->ndgs; i++) {
		for (unsigned j = 0; j < m->dgs[i].ndevices; j++)
			for (unsigned k = 0; k < i; k++)
				for (unsigned l = 0; l < m->dgs[k].ndevices; l++)
					if (strcmp(m->dgs[i].devices[j], m->dgs[k].devices[l]) ==
					    0) {
						snprintf(err, errlen,
							 "device '%s' is in device groups '%s' and "
							 "'%s'",
							 m->dgs[i].devices[j], m->dgs[k].name,
							 m->dgs[i].name);
						return -1;
					}
		if (check_ports(&m->dgs[i], targets, err, errlen) < 0)
			return -1;
	}
	return 0;
}
