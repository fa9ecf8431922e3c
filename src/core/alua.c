/* Asymmetric logical unit access: publishing the model, reading it on the
 * data path, changing states and telling the nexuses (core/alua.h has the
 * scheme; building and checking a model: alua_build.c). */
#include "core/alua.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "lib/log.h"

/* The model in force; NULL: no device group. */
static struct uscst_alua_model *_Atomic current;
/* Models replaced, kept until exit: a reader may still hold one. */
static struct uscst_alua_model *retired;
/* Serialises publications and state changes (control thread, STPG on a
 * reactor). */
static pthread_mutex_t alua_lock = PTHREAD_MUTEX_INITIALIZER;

#define UA_ASC_ALUA_CHANGED 0x2a
#define UA_ASCQ_ALUA_CHANGED 0x06

/* ---- reading ---- */

const struct uscst_alua_model *uscst_alua_current(void)
{
	return atomic_load_explicit(&current, memory_order_acquire);
}

static const struct uscst_alua_dg *dg_named(const struct uscst_alua_model *m, const char *device)
{
	for (unsigned i = 0; m && i < m->ndgs; i++)
		for (unsigned j = 0; j < m->dgs[i].ndevices; j++)
			if (strcmp(m->dgs[i].devices[j], device) == 0)
				return &m->dgs[i];
	return NULL;
}

/* The caches (struct uscst_device, struct uscst_session alua_cache):
 * generation << 32 | index; an index of NONE: not in the model. */
#define CACHE_NONE UINT32_MAX

static uint64_t cache_value(uint32_t gen, uint32_t index) { return (uint64_t)gen << 32 | index; }

/* What the cache holds for m, or false when it is of another generation. */
static bool cache_hit(uint64_t c, const struct uscst_alua_model *m, uint32_t *index)
{
	if ((uint32_t)(c >> 32) != m->gen)
		return false;
	*index = (uint32_t)c;
	return true;
}

/* The index of dev's device group in m (published), by name the first
 * time for m.  The cache is not part of what the device is: its const
 * callers may refresh it (any thread; relaxed, since the index is used
 * only with the model it names, read with acquire). */
static uint32_t dev_dg_index(const struct uscst_alua_model *m, const struct uscst_device *dev)
{
	_Atomic uint64_t *cache = &((struct uscst_device *)dev)->alua_cache;
	uint32_t index;
	if (cache_hit(atomic_load_explicit(cache, memory_order_relaxed), m, &index))
		return index;
	const struct uscst_alua_dg *dg = dg_named(m, dev->name);
	index = dg ? (uint32_t)(dg - m->dgs) : CACHE_NONE;
	atomic_store_explicit(cache, cache_value(m->gen, index), memory_order_relaxed);
	return index;
}

/* The index of sess's target port in m's ports (published), likewise. */
static uint32_t sess_port_index(const struct uscst_alua_model *m, const struct uscst_session *sess)
{
	_Atomic uint64_t *cache = &((struct uscst_session *)sess)->alua_cache;
	uint32_t index;
	if (cache_hit(atomic_load_explicit(cache, memory_order_relaxed), m, &index))
		return index;
	index = CACHE_NONE;
	for (unsigned i = 0; i < m->nports; i++)
		if (m->ports[i].rel_tgt_id == sess->rel_port_id &&
		    strcmp(m->ports[i].target, sess->tgt->name) == 0)
			index = i;
	atomic_store_explicit(cache, cache_value(m->gen, index), memory_order_relaxed);
	return index;
}

const struct uscst_alua_dg *uscst_alua_dg_of(const struct uscst_alua_model *m,
					     const struct uscst_device *dev)
{
	if (!m || !dev)
		return NULL;
	if (!m->gen) /* not published: no index */
		return dg_named(m, dev->name);
	uint32_t index = dev_dg_index(m, dev);
	return index == CACHE_NONE ? NULL : &m->dgs[index];
}

const struct uscst_alua_tg *uscst_alua_tg_of(const struct uscst_alua_dg *dg, const char *target,
					     uint16_t rel_port_id)
{
	for (unsigned i = 0; dg && i < dg->ntgs; i++)
		for (unsigned j = 0; j < dg->tgs[i].nports; j++)
			if (dg->tgs[i].ports[j].rel_tgt_id == rel_port_id &&
			    strcmp(dg->tgs[i].ports[j].target, target) == 0)
				return &dg->tgs[i];
	return NULL;
}

bool uscst_alua_lookup(const struct uscst_device *dev, const struct uscst_session *sess,
		       const struct uscst_alua_dg **dg, const struct uscst_alua_tg **tg)
{
	const struct uscst_alua_model *m = uscst_alua_current();
	if (!m || !dev)
		return false;
	uint32_t d = dev_dg_index(m, dev);
	if (d == CACHE_NONE)
		return false;
	*dg = &m->dgs[d];
	uint32_t p = sess && sess->tgt ? sess_port_index(m, sess) : CACHE_NONE;
	*tg = p == CACHE_NONE ? NULL : (*dg)->tg_of_port[p];
	return true;
}

/* ---- telling the nexuses ---- */

struct ua_arg {
	const struct uscst_alua_dg *dg; /* whose devices' nexuses */
	const struct uscst_session *except;
};

static bool dg_has_device(const struct uscst_alua_dg *dg, const char *name)
{
	for (unsigned i = 0; i < dg->ndevices; i++)
		if (strcmp(dg->devices[i], name) == 0)
			return true;
	return false;
}

/* The session list lock is held: a session's map is stable under it. */
static void ua_one(struct uscst_session *s, void *p)
{
	const struct ua_arg *a = p;
	if (s == a->except || !s->luns)
		return;
	for (unsigned i = 0; i < s->luns->count; i++) {
		const struct uscst_lun *l = &s->luns->luns[i];
		if (l->dev && dg_has_device(a->dg, l->dev->name))
			ua_establish(s, l->lun, UA_ASC_ALUA_CHANGED, UA_ASCQ_ALUA_CHANGED);
	}
}

/* SPC-4 5.16.2.5/6: every I_T nexus of every logical unit of the device
 * group (the state is reported through every path), but the one whose
 * SET TARGET PORT GROUPS made the change. */
static void tell_nexuses(const struct uscst_alua_dg *dg, const struct uscst_session *except)
{
	struct ua_arg a = {dg, except};
	uscst_session_foreach(ua_one, &a);
}

/* ---- publishing ---- */

/* The generation of the next model published (alua_lock). */
static uint32_t next_gen = 1;

/* m's target ports, once each, and every device group's target port group
 * of each: what the data path indexes.  false: ENOMEM. */
static bool index_ports(struct uscst_alua_model *m)
{
	for (unsigned i = 0; i < m->ndgs; i++)
		for (unsigned j = 0; j < m->dgs[i].ntgs; j++)
			for (unsigned k = 0; k < m->dgs[i].tgs[j].nports; k++) {
				const struct uscst_alua_port *p = &m->dgs[i].tgs[j].ports[k];
				unsigned n = 0;
				while (n < m->nports &&
				       !(m->ports[n].rel_tgt_id == p->rel_tgt_id &&
					 strcmp(m->ports[n].target, p->target) == 0))
					n++;
				if (n < m->nports)
					continue;
				struct uscst_alua_port_key *keys =
				    realloc(m->ports, (m->nports + 1) * sizeof(*keys));
				if (!keys)
					return false;
				m->ports = keys;
				keys[m->nports++] =
				    (struct uscst_alua_port_key){p->target, p->rel_tgt_id};
			}
	for (unsigned i = 0; i < m->ndgs; i++) {
		struct uscst_alua_dg *dg = &m->dgs[i];
		dg->tg_of_port = calloc(m->nports ? m->nports : 1, sizeof(*dg->tg_of_port));
		if (!dg->tg_of_port)
			return false;
		for (unsigned n = 0; n < m->nports; n++)
			dg->tg_of_port[n] =
			    uscst_alua_tg_of(dg, m->ports[n].target, m->ports[n].rel_tgt_id);
	}
	return true;
}

/* Whether the states (or the ports) a device group of `to` shows differ
 * from `from`'s group of the same name. */
static bool dg_changed(const struct uscst_alua_model *from, const struct uscst_alua_dg *dg)
{
	const struct uscst_alua_dg *old = NULL;
	for (unsigned i = 0; from && i < from->ndgs; i++)
		if (strcmp(from->dgs[i].name, dg->name) == 0)
			old = &from->dgs[i];
	if (!old || old->ntgs != dg->ntgs)
		return true;
	for (unsigned i = 0; i < dg->ntgs; i++) {
		const struct uscst_alua_tg *a = &old->tgs[i], *b = &dg->tgs[i];
		if (a->group_id != b->group_id || a->nports != b->nports ||
		    atomic_load(&a->state) != atomic_load(&b->state) ||
		    atomic_load(&a->preferred) != atomic_load(&b->preferred))
			return true;
		for (unsigned j = 0; j < a->nports; j++)
			if (a->ports[j].rel_tgt_id != b->ports[j].rel_tgt_id ||
			    strcmp(a->ports[j].target, b->ports[j].target) != 0)
				return true;
	}
	return false;
}

/* A device group of `from` whose devices lose their ALUA in `to`. */
static void tell_removed(const struct uscst_alua_model *from, const struct uscst_alua_model *to)
{
	for (unsigned i = 0; from && i < from->ndgs; i++) {
		bool kept = false;
		for (unsigned j = 0; to && j < to->ndgs; j++)
			kept |= strcmp(from->dgs[i].name, to->dgs[j].name) == 0;
		if (!kept)
			tell_nexuses(&from->dgs[i], NULL);
	}
}

int uscst_alua_publish(struct uscst_alua_model *m, bool config_locked, char *err, size_t errlen)
{
	enum uscst_alua_targets targets =
	    config_locked ? USCST_ALUA_TARGETS_LOCKED : USCST_ALUA_TARGETS_UNLOCKED;
	if (m && uscst_alua_model_check(m, targets, err, errlen) < 0) {
		uscst_alua_model_free(m);
		return -1;
	}
	if (m && !m->ndgs) {
		uscst_alua_model_free(m);
		m = NULL;
	}
	if (m && !index_ports(m)) {
		uscst_alua_model_free(m);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_lock(&alua_lock);
	if (m) {
		if (!next_gen) /* wrapped: 0 is no generation (a cache never filled) */
			next_gen = 1;
		m->gen = next_gen++;
	}
	struct uscst_alua_model *old = atomic_load_explicit(&current, memory_order_relaxed);
	/* A group that keeps its state keeps how it last changed. */
	for (unsigned i = 0; m && old && i < m->ndgs; i++) {
		const struct uscst_alua_dg *od = NULL;
		for (unsigned j = 0; j < old->ndgs; j++)
			if (strcmp(old->dgs[j].name, m->dgs[i].name) == 0)
				od = &old->dgs[j];
		for (unsigned k = 0; od && k < m->dgs[i].ntgs; k++) {
			struct uscst_alua_tg *tg = &m->dgs[i].tgs[k];
			const struct uscst_alua_tg *ot = NULL;
			for (unsigned l = 0; l < od->ntgs; l++)
				if (od->tgs[l].group_id == tg->group_id)
					ot = &od->tgs[l];
			if (!ot)
				continue;
			if (atomic_load(&ot->state) == atomic_load(&tg->state))
				atomic_store(&tg->changed, atomic_load(&ot->changed));
			else
				atomic_store(&tg->changed, USCST_ALUA_CHANGED_BY_IMPLICIT);
		}
	}
	atomic_store_explicit(&current, m, memory_order_release);
	if (old) {
		old->retired_next = retired;
		retired = old;
	}
	/* Told after the store: a nexus that takes the UA then sees the new
	 * state. */
	for (unsigned i = 0; m && i < m->ndgs; i++)
		if (dg_changed(old, &m->dgs[i]))
			tell_nexuses(&m->dgs[i], NULL);
	tell_removed(old, m);
	pthread_mutex_unlock(&alua_lock);
	return 0;
}

void uscst_alua_reset(void)
{
	pthread_mutex_lock(&alua_lock);
	uscst_alua_model_free(atomic_exchange(&current, NULL));
	while (retired) {
		struct uscst_alua_model *next = retired->retired_next;
		uscst_alua_model_free(retired);
		retired = next;
	}
	pthread_mutex_unlock(&alua_lock);
}

/* ---- changing states ---- */

/* SET TARGET PORT GROUPS may ask for these (SPC-4 6.45): not offline,
 * which only the target sets, nor transitioning. */
static bool settable_by_stpg(uint8_t state) { return state <= USCST_ALUA_UNAVAILABLE; }

/* The model's groups are not const to the one who changes states. */
static struct uscst_alua_tg *tg_by_id(const struct uscst_alua_dg *dg, uint16_t id)
{
	for (unsigned j = 0; j < dg->ntgs; j++)
		if (dg->tgs[j].group_id == id)
			return &dg->tgs[j];
	return NULL;
}

int uscst_alua_set_states(const struct uscst_device *dev, const struct uscst_alua_set *sets,
			  unsigned n, struct uscst_session *except, unsigned *bad)
{
	pthread_mutex_lock(&alua_lock);
	const struct uscst_alua_model *m = atomic_load_explicit(&current, memory_order_relaxed);
	const struct uscst_alua_dg *dg = uscst_alua_dg_of(m, dev);
	if (!dg) {
		pthread_mutex_unlock(&alua_lock);
		return -ENOENT;
	}
	/* Checked whole first: a bad descriptor changes nothing. */
	for (unsigned i = 0; i < n; i++) {
		if (!settable_by_stpg(sets[i].state) || !tg_by_id(dg, sets[i].group_id)) {
			*bad = i;
			pthread_mutex_unlock(&alua_lock);
			return settable_by_stpg(sets[i].state) ? -ESRCH : -EINVAL;
		}
	}
	bool changed = false;
	for (unsigned i = 0; i < n; i++) {
		struct uscst_alua_tg *tg = tg_by_id(dg, sets[i].group_id);
		uint8_t old = atomic_exchange(&tg->state, sets[i].state);
		atomic_store(&tg->changed, USCST_ALUA_CHANGED_BY_STPG);
		changed |= old != sets[i].state;
	}
	if (changed)
		tell_nexuses(dg, except);
	pthread_mutex_unlock(&alua_lock);
	return 0;
}

int uscst_alua_set_tg(const char *dg_name, const char *tg_name, const char *state, int preferred,
		      char *err, size_t errlen)
{
	uint8_t st = 0;
	if (state && !uscst_alua_state_parse(state, &st)) {
		snprintf(err, errlen,
			 "unknown state '%s' (active, nonoptimized, standby, unavailable, "
			 "offline, transitioning)",
			 state);
		return -EINVAL;
	}
	pthread_mutex_lock(&alua_lock);
	struct uscst_alua_model *m = atomic_load_explicit(&current, memory_order_relaxed);
	struct uscst_alua_dg *dg = NULL;
	struct uscst_alua_tg *tg = NULL;
	for (unsigned i = 0; m && i < m->ndgs; i++)
		if (strcmp(m->dgs[i].name, dg_name) == 0)
			dg = &m->dgs[i];
	for (unsigned i = 0; dg && i < dg->ntgs; i++)
		if (strcmp(dg->tgs[i].name, tg_name) == 0)
			tg = &dg->tgs[i];
	if (!tg) {
		pthread_mutex_unlock(&alua_lock);
		if (!dg)
			snprintf(err, errlen, "no device group '%s'", dg_name);
		else
			snprintf(err, errlen, "no target group '%s' in device group '%s'", tg_name,
				 dg_name);
		return -ENOENT;
	}
	bool changed = false;
	if (state) {
		changed |= atomic_exchange(&tg->state, st) != st;
		atomic_store(&tg->changed, USCST_ALUA_CHANGED_BY_IMPLICIT);
	}
	/* PREF is not an asymmetric access state: no unit attention for it
	 * (SPC-4 5.16.2.6 raises one for a state change). */
	if (preferred >= 0)
		atomic_store(&tg->preferred, preferred > 0);
	log_info("alua: device group %s target group %s: state %s%s", dg->name, tg->name,
		 uscst_alua_state_name(atomic_load(&tg->state)),
		 atomic_load(&tg->preferred) ? ", preferred" : "");
	if (changed)
		tell_nexuses(dg, NULL);
	pthread_mutex_unlock(&alua_lock);
	return 0;
}
