/*
 * Snapshots of the I/O counters: the objects are walked under the locks
 * that keep them alive (uscst_config_lock for devices, targets and LUN
 * maps; the session list's lock for sessions), and each one's slots are
 * summed on the way.
 */
#include "core/stats_snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* A new entry of kind with st's sums, or NULL (ENOMEM). */
static struct uscst_stats_entry *add(struct uscst_stats_snapshot *snap, enum uscst_stats_kind kind,
				     const struct uscst_stats *st)
{
	if (snap->n == snap->cap) {
		size_t cap = snap->cap ? snap->cap * 2 : 64;
		struct uscst_stats_entry *e = realloc(snap->e, cap * sizeof(*e));
		if (!e)
			return NULL;
		snap->e = e;
		snap->cap = cap;
	}
	struct uscst_stats_entry *e = &snap->e[snap->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	uscst_stats_read(st, &e->sum);
	return e;
}

static bool add_devices(struct uscst_stats_snapshot *snap)
{
	for (struct uscst_device *d = uscst_device_next(NULL); d; d = uscst_device_next(d)) {
		struct uscst_stats_entry *e = add(snap, USCST_STATS_DEVICE, d->stats);
		if (!e)
			return false;
		snprintf(e->device, sizeof(e->device), "%s", d->name);
	}
	return true;
}

static bool add_targets(struct uscst_stats_snapshot *snap)
{
	for (struct uscst_target *t = uscst_target_next(NULL); t; t = uscst_target_next(t)) {
		struct uscst_stats_entry *e = add(snap, USCST_STATS_TARGET, t->stats);
		if (!e)
			return false;
		snprintf(e->target, sizeof(e->target), "%s", t->name);
	}
	return true;
}

static bool add_map(struct uscst_stats_snapshot *snap, const struct uscst_target *t,
		    const char *group, const struct uscst_lun_map *map)
{
	for (unsigned i = 0; i < map->count; i++) {
		const struct uscst_lun *l = &map->luns[i];
		struct uscst_stats_entry *e = add(snap, USCST_STATS_LUN, l->stats);
		if (!e)
			return false;
		snprintf(e->target, sizeof(e->target), "%s", t->name);
		snprintf(e->group, sizeof(e->group), "%s", group);
		snprintf(e->device, sizeof(e->device), "%s", l->dev->name);
		e->lun = l->lun;
	}
	return true;
}

static bool add_luns(struct uscst_stats_snapshot *snap)
{
	for (struct uscst_target *t = uscst_target_next(NULL); t; t = uscst_target_next(t)) {
		if (!add_map(snap, t, "", t->luns))
			return false;
		struct uscst_group *g;
		list_for_each_entry(g, &t->groups, node)
		{
			if (!add_map(snap, t, g->name, g->luns))
				return false;
		}
	}
	return true;
}

struct session_walk {
	struct uscst_stats_snapshot *snap;
	bool failed;
};

static void add_session(struct uscst_session *s, void *arg)
{
	struct session_walk *w = arg;
	if (w->failed)
		return;
	struct uscst_stats_entry *e = add(w->snap, USCST_STATS_SESSION, s->stats);
	if (!e) {
		w->failed = true;
		return;
	}
	snprintf(e->target, sizeof(e->target), "%s", s->tgt->name);
	snprintf(e->initiator, sizeof(e->initiator), "%s", s->initiator_name);
	snprintf(e->port, sizeof(e->port), "%s", s->initiator_port);
	e->session_id = s->id;
}

int uscst_stats_snapshot_take(struct uscst_stats_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	pthread_mutex_lock(&uscst_config_lock);
	bool ok = add_devices(snap) && add_targets(snap) && add_luns(snap);
	pthread_mutex_unlock(&uscst_config_lock);
	if (ok) {
		struct session_walk w = {.snap = snap};
		uscst_session_foreach(add_session, &w);
		ok = !w.failed;
	}
	if (!ok) {
		uscst_stats_snapshot_free(snap);
		return -ENOMEM;
	}
	return 0;
}

void uscst_stats_snapshot_free(struct uscst_stats_snapshot *snap)
{
	free(snap->e);
	memset(snap, 0, sizeof(*snap));
}
