/*
 * LUN maps and initiator groups changed at run time, safe against the data
 * path.
 *
 * The scheme:
 *   - A published LUN map (a target's default map, a group's, a session's)
 *     is never changed.  A change copies it (lun_map_copy), changes the
 *     copy, and swaps the owner's pointer under uscst_acl_lock, which a
 *     login also takes to choose its map (uscst_session_create).
 *   - Each session then gets the map its initiator now gets, by a message
 *     to the session's own reactor thread: every lookup of a LUN on the data
 *     path (decode, task management, REPORT LUNS) runs there, so the swap
 *     never races a lookup and the lookup stays a plain load and a binary
 *     search.  The swap is also made under the session list lock, which the
 *     other threads that read a session's map hold (UAs, PR, MMC events).
 *   - A command holds the map it was decoded with (its lun_ent points into
 *     it) until it is released: each session counts, per map it has had,
 *     the commands decoded with it (struct core_map_hold; the session's
 *     thread only, so no atomic on the fast path).  A map replaced since is
 *     freed when its last command is released, and the devices it mapped
 *     lose a reference then (a removed device is closed with its last one).
 *   - On the session's thread, right after the swap, the session gets
 *     REPORTED LUNS DATA HAS CHANGED (3Fh/0Eh) on each LUN of its new map.
 *     Its commands on a LUN that is gone (or now maps another device) are
 *     ended cleanly, each with an answer: one not yet started is refused
 *     when it would start (core_cmd_dispatch: ILLEGAL REQUEST, LOGICAL
 *     UNIT NOT SUPPORTED, as if sent after the change) and never touches
 *     the medium; one already running cannot be recalled, so it is waited
 *     for, as a LU reset waits for the tasks it aborts (the same
 *     counter and fence, core/inflight.c), and keeps its own status.
 *     Aborting them the LU reset way (TAS=0) would leave the initiator
 *     waiting for answers that never come until its own timeout.  The
 *     change is complete once they have ended.  Sessions whose map did not
 *     change get no message at all.
 *   - The caller (the control thread) waits for that fence, so a verb
 *     returns once every session sees the change; changes are serialised by
 *     live_lock, and the configuration locks are not held while waiting.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cmdset.h"
#include "core/core.h"
#include "core/live.h"
#include "lib/log.h"

pthread_mutex_t uscst_acl_lock = PTHREAD_MUTEX_INITIALIZER;
/* One change at a time (held while waiting for the sessions). */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

struct core_map_hold *core_map_hold_new(const struct uscst_lun_map *map)
{
	struct core_map_hold *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	lun_map_get(map);
	h->map = map;
	return h;
}

static void hold_free(struct core_map_hold *h)
{
	lun_map_put(h->map);
	free(h);
}

void core_map_hold_retire(struct core_map_hold *h)
{
	h->retired = true;
	if (!h->users)
		hold_free(h);
}

void core_cmd_take_map(struct uscst_cmd *cmd)
{
	struct core_map_hold *h = cmd->sess->map_hold;
	if (!h || cmd->map_hold)
		return;
	h->users++;
	cmd->map_hold = h;
}

void core_cmd_drop_map(struct uscst_cmd *cmd)
{
	struct core_map_hold *h = cmd->map_hold;
	if (!h)
		return;
	cmd->map_hold = NULL;
	if (--h->users == 0 && h->retired)
		hold_free(h);
}

/* --- waiting for the sessions --- */

struct live_wait {
	struct uscst_fence fence;
	pthread_mutex_t m;
	pthread_cond_t c;
	bool done;
};

static void live_wait_done(struct uscst_fence *f)
{
	struct live_wait *w = (struct live_wait *)f;
	pthread_mutex_lock(&w->m);
	w->done = true;
	pthread_cond_signal(&w->c);
	pthread_mutex_unlock(&w->m);
}

static void live_wait_init(struct live_wait *w)
{
	uscst_fence_init(&w->fence, live_wait_done);
	pthread_mutex_init(&w->m, NULL);
	pthread_cond_init(&w->c, NULL);
	w->done = false;
}

/* Drops the caller's reference and waits for every other one. */
static void live_wait_end(struct live_wait *w)
{
	uscst_fence_put(&w->fence);
	pthread_mutex_lock(&w->m);
	while (!w->done)
		pthread_cond_wait(&w->c, &w->m);
	pthread_mutex_unlock(&w->m);
	pthread_mutex_destroy(&w->m);
	pthread_cond_destroy(&w->c);
}

/* --- giving one session its new map --- */

struct remap {
	struct reactor_msg msg;
	struct uscst_tmf_wait wait;
	struct uscst_session *s;
	struct core_map_hold *h;
	struct uscst_fence *fence;
};

static void remap_release(struct uscst_tmf_wait *w)
{
	struct remap *rm = (struct remap *)((char *)w - offsetof(struct remap, wait));
	uscst_fence_put(rm->fence);
	core_session_put(rm->s);
	free(rm);
}

bool core_cmd_lost_its_lu(const struct uscst_cmd *c, const struct uscst_lun_map *map)
{
	if (!c->lun_ent)
		return false;
	const struct uscst_lun *l = lun_map_find(map, c->lun);
	return !l || l->dev != c->lun_ent->dev || l->read_only != c->lun_ent->read_only;
}

static bool maps_dev(const struct uscst_lun_map *map, const struct uscst_device *dev)
{
	for (unsigned i = 0; i < map->count; i++)
		if (map->luns[i].dev == dev)
			return true;
	return false;
}

/* The nexus to each LU the session no longer sees is gone, as if its
 * session had ended (uscst_session_destroy): its SPC-2 reservation and
 * medium removal prevention go. */
static void nexus_lost_to_gone_lus(struct uscst_session *s, const struct uscst_lun_map *old,
				   const struct uscst_lun_map *map)
{
	for (unsigned i = 0; i < old->count; i++) {
		struct uscst_device *dev = old->luns[i].dev;
		const struct uscst_lun *l = lun_map_find(map, old->luns[i].lun);
		if ((l && l->dev == dev) || maps_dev(map, dev))
			continue;	  /* still seen (the common case needs no scan) */
		bool seen_before = false; /* a device mapped twice: once */
		for (unsigned j = 0; j < i && !seen_before; j++)
			seen_before = old->luns[j].dev == dev;
		if (seen_before)
			continue;
		dev->cmdset->nexus_lost(dev, s);
		pthread_mutex_lock(&dev->lock);
		uscst_prevent_set(dev, s->id, false);
		pthread_mutex_unlock(&dev->lock);
	}
}

static void remap_on_session_thread(struct reactor_msg *m)
{
	struct remap *rm = (struct remap *)m;
	struct uscst_session *s = rm->s;
	if (s->gone) {
		core_map_hold_retire(rm->h);
		remap_release(&rm->wait);
		return;
	}
	struct core_map_hold *old = core_session_publish_map(s, rm->h);
	const struct uscst_lun_map *map = rm->h->map;
	nexus_lost_to_gone_lus(s, old->map, map);
	core_map_hold_retire(old);
	for (unsigned i = 0; i < map->count; i++)
		ua_establish(s, map->luns[i].lun, ASC_REPORTED_LUNS_DATA_CHANGED);
	unsigned n = 0;
	for (struct uscst_cmd *c = s->cmds; c; c = c->s_next)
		if (core_cmd_lost_its_lu(c, map))
			n += core_cmd_wait_for_end(c);
	if (n)
		log_info("session %llu: %u commands of an unmapped LUN still running; "
			 "waited for",
			 (unsigned long long)s->id, n);
	core_session_wait_aborts(s, &rm->wait);
}

static void remap_send(struct uscst_session *s, struct core_map_hold *h, struct uscst_fence *fence)
{
	struct remap *rm = calloc(1, sizeof(*rm));
	if (!rm) {
		/* Keeps its old map: logged, the change is still made elsewhere. */
		log_err("session %llu: cannot give it its new LUN map (out of memory)",
			(unsigned long long)s->id);
		core_map_hold_retire(h);
		return;
	}
	rm->msg.fn = remap_on_session_thread;
	rm->wait.release = remap_release;
	rm->s = s;
	rm->h = h;
	rm->fence = fence;
	core_session_get(s);
	uscst_fence_get(fence);
	struct reactor *r = atomic_load_explicit(&s->reactor, memory_order_acquire);
	if (r)
		reactor_send(r, &rm->msg);
	else
		remap_on_session_thread(&rm->msg); /* no reactor: the only thread */
}

/*
 * Gives every session of tgt the map its initiator gets now, and waits
 * until each one whose map changed has it.  Called with live_lock held and
 * the configuration changed (no configuration lock held).  Returns how many
 * sessions changed maps.
 */
static unsigned resync_sessions(struct uscst_target *tgt)
{
	struct uscst_session **v;
	struct core_map_hold **holds;
	pthread_mutex_lock(&uscst_acl_lock);
	int n = core_target_sessions(tgt, &v);
	holds = n > 0 ? calloc((size_t)n, sizeof(*holds)) : NULL;
	if (n < 0 || (n > 0 && !holds)) {
		pthread_mutex_unlock(&uscst_acl_lock);
		log_err("target %s: cannot reach its sessions for a LUN map change (out of memory)",
			tgt->name);
		for (int i = 0; i < n; i++)
			core_session_put(v[i]);
		free(v);
		return 0;
	}
	/* Chosen under the ACL lock, as a login chooses; s->luns is stable
	 * here: only this thread's messages change it, and the last change
	 * was waited for. */
	for (int i = 0; i < n; i++) {
		const struct uscst_lun_map *want = uscst_target_lun_map(tgt, v[i]->initiator_name);
		if (want != v[i]->luns)
			holds[i] = core_map_hold_new(want);
	}
	pthread_mutex_unlock(&uscst_acl_lock);

	struct live_wait w;
	live_wait_init(&w);
	unsigned changed = 0;
	for (int i = 0; i < n; i++) {
		if (holds[i]) {
			remap_send(v[i], holds[i], &w.fence);
			changed++;
		}
		core_session_put(v[i]);
	}
	live_wait_end(&w);
	free(holds);
	free(v);
	return changed;
}

/* --- LUNs --- */

/* The map a LUN change is about: the group's, or the target's default. */
static struct uscst_lun_map **map_slot(struct uscst_target *tgt, const char *group, char *err,
				       size_t errlen)
{
	if (!group)
		return &tgt->luns;
	struct uscst_group *g = uscst_target_group(tgt, group);
	if (!g) {
		snprintf(err, errlen, "target '%s' has no group '%s'", tgt->name, group);
		return NULL;
	}
	return &g->luns;
}

static void where(char *buf, size_t len, const struct uscst_target *tgt, const char *group)
{
	if (group)
		snprintf(buf, len, "target %s group %s", tgt->name, group);
	else
		snprintf(buf, len, "target %s", tgt->name);
}

int uscst_live_lun_add(struct uscst_target *tgt, const char *group, uint64_t lun,
		       struct uscst_device *dev, bool read_only, char *err, size_t errlen)
{
	pthread_mutex_lock(&live_lock);
	pthread_mutex_lock(&uscst_config_lock);
	pthread_mutex_lock(&uscst_acl_lock);
	int rc = -ENOENT;
	struct uscst_lun_map **slot = map_slot(tgt, group, err, errlen);
	struct uscst_lun_map *map = slot ? lun_map_copy(*slot) : NULL;
	if (slot && !map) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	} else if (map && !lun_map_add(map, lun, dev, read_only, err, errlen)) {
		const struct uscst_lun *had = lun_map_find(*slot, lun);
		char w[USCST_NAME_MAX + 80], why[256];
		where(w, sizeof(w), tgt, group);
		snprintf(why, sizeof(why), "%s", err);
		if (had)
			snprintf(err, errlen,
				 "%s: LUN %llu already maps device %s (remove it first)", w,
				 (unsigned long long)lun, had->dev->name);
		else
			snprintf(err, errlen, "%s: %s", w, why);
		lun_map_put(map);
		map = NULL;
		rc = had ? -EEXIST : -EINVAL;
	}
	struct uscst_lun_map *old = NULL;
	if (map) {
		old = *slot;
		*slot = map;
	}
	pthread_mutex_unlock(&uscst_acl_lock);
	pthread_mutex_unlock(&uscst_config_lock);
	if (map) {
		lun_map_put(old);
		unsigned n = resync_sessions(tgt);
		char w[USCST_NAME_MAX + 80];
		where(w, sizeof(w), tgt, group);
		log_info("%s: LUN %llu -> device %s%s (%u sessions told)", w,
			 (unsigned long long)lun, dev->name, read_only ? ", read-only" : "", n);
		rc = 0;
	}
	pthread_mutex_unlock(&live_lock);
	return rc;
}

int uscst_live_lun_remove(struct uscst_target *tgt, const char *group, uint64_t lun, char *err,
			  size_t errlen)
{
	pthread_mutex_lock(&live_lock);
	pthread_mutex_lock(&uscst_config_lock);
	pthread_mutex_lock(&uscst_acl_lock);
	int rc = -ENOENT;
	char w[USCST_NAME_MAX + 80];
	where(w, sizeof(w), tgt, group);
	struct uscst_lun_map **slot = map_slot(tgt, group, err, errlen);
	struct uscst_lun_map *map = NULL;
	if (slot && !lun_map_find(*slot, lun)) {
		snprintf(err, errlen, "%s has no LUN %llu", w, (unsigned long long)lun);
	} else if (slot && !(map = lun_map_copy(*slot))) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	}
	struct uscst_lun_map *old = NULL;
	if (map) {
		lun_map_remove(map, lun);
		old = *slot;
		*slot = map;
	}
	pthread_mutex_unlock(&uscst_acl_lock);
	pthread_mutex_unlock(&uscst_config_lock);
	if (map) {
		/* The sessions drop the LUN and abort its commands before this
		 * returns; the device loses the map's reference once the last
		 * command decoded with the old map is released. */
		lun_map_put(old);
		unsigned n = resync_sessions(tgt);
		log_info("%s: LUN %llu removed (%u sessions told)", w, (unsigned long long)lun, n);
		rc = 0;
	}
	pthread_mutex_unlock(&live_lock);
	return rc;
}

/* --- groups and their initiators --- */

int uscst_live_group_add(struct uscst_target *tgt, const char *name, char *err, size_t errlen)
{
	/* An empty group matches no initiator: no session changes. */
	pthread_mutex_lock(&live_lock);
	pthread_mutex_lock(&uscst_config_lock);
	pthread_mutex_lock(&uscst_acl_lock);
	struct uscst_group *g = uscst_target_add_group(tgt, name, err, errlen);
	pthread_mutex_unlock(&uscst_acl_lock);
	pthread_mutex_unlock(&uscst_config_lock);
	pthread_mutex_unlock(&live_lock);
	if (g)
		log_info("target %s: group %s added", tgt->name, name);
	return g ? 0 : -EINVAL;
}

int uscst_live_group_remove(struct uscst_target *tgt, const char *name, char *err, size_t errlen)
{
	pthread_mutex_lock(&live_lock);
	pthread_mutex_lock(&uscst_config_lock);
	pthread_mutex_lock(&uscst_acl_lock);
	struct uscst_group *g = uscst_target_group(tgt, name);
	if (g)
		list_del(&g->node);
	pthread_mutex_unlock(&uscst_acl_lock);
	pthread_mutex_unlock(&uscst_config_lock);
	if (!g) {
		pthread_mutex_unlock(&live_lock);
		snprintf(err, errlen, "target '%s' has no group '%s'", tgt->name, name);
		return -ENOENT;
	}
	/* Its initiators fall to another group or the default map. */
	unsigned n = resync_sessions(tgt);
	pthread_mutex_unlock(&live_lock);
	lun_map_put(g->luns);
	for (unsigned i = 0; i < g->ninitiators; i++)
		free(g->initiators[i]);
	free(g->initiators);
	free(g);
	log_info("target %s: group %s removed (%u sessions moved)", tgt->name, name, n);
	return 0;
}

int uscst_live_initiator_add(struct uscst_target *tgt, const char *group, const char *pattern,
			     char *err, size_t errlen)
{
	pthread_mutex_lock(&live_lock);
	pthread_mutex_lock(&uscst_config_lock);
	pthread_mutex_lock(&uscst_acl_lock);
	struct uscst_group *g = uscst_target_group(tgt, group);
	if (!g)
		snprintf(err, errlen, "target '%s' has no group '%s'", tgt->name, group);
	bool ok = g && uscst_group_add_initiator(g, pattern, err, errlen);
	pthread_mutex_unlock(&uscst_acl_lock);
	pthread_mutex_unlock(&uscst_config_lock);
	unsigned n = ok ? resync_sessions(tgt) : 0;
	pthread_mutex_unlock(&live_lock);
	if (ok)
		log_info("target %s: initiator %s added to group %s (%u sessions moved)", tgt->name,
			 pattern, group, n);
	return ok ? 0 : -EINVAL;
}

int uscst_live_initiator_remove(struct uscst_target *tgt, const char *group, const char *pattern,
				char *err, size_t errlen)
{
	pthread_mutex_lock(&live_lock);
	pthread_mutex_lock(&uscst_config_lock);
	pthread_mutex_lock(&uscst_acl_lock);
	struct uscst_group *g = uscst_target_group(tgt, group);
	char *gone = NULL;
	if (!g) {
		snprintf(err, errlen, "target '%s' has no group '%s'", tgt->name, group);
	} else {
		for (unsigned i = 0; i < g->ninitiators; i++) {
			if (strcasecmp(g->initiators[i], pattern) != 0)
				continue;
			gone = g->initiators[i];
			memmove(&g->initiators[i], &g->initiators[i + 1],
				(g->ninitiators - i - 1) * sizeof(g->initiators[0]));
			g->ninitiators--;
			break;
		}
		if (!gone)
			snprintf(err, errlen, "group '%s' of target '%s' has no initiator '%s'",
				 group, tgt->name, pattern);
	}
	pthread_mutex_unlock(&uscst_acl_lock);
	pthread_mutex_unlock(&uscst_config_lock);
	unsigned n = gone ? resync_sessions(tgt) : 0;
	pthread_mutex_unlock(&live_lock);
	if (!gone)
		return -ENOENT;
	log_info("target %s: initiator %s removed from group %s (%u sessions moved)", tgt->name,
		 gone, group, n);
	free(gone);
	return 0;
}

/* --- targets and sessions --- */

/* Ends sessions (the transport's drop_nexus, after aborting their
 * commands) and waits until their commands have ended. */
static void close_sessions(struct uscst_session **v, unsigned n)
{
	struct live_wait w;
	live_wait_init(&w);
	for (unsigned i = 0; i < n; i++) {
		core_session_abort_async(v[i], NULL, &w.fence, CORE_ABORT_DROP_NEXUS);
		core_session_put(v[i]);
	}
	live_wait_end(&w);
}

int uscst_live_target_enable(struct uscst_target *tgt, bool enable, char *err, size_t errlen)
{
	pthread_mutex_lock(&live_lock);
	/* Under the ACL lock: a login either saw it enabled and is listed
	 * (closed below), or sees it disabled (uscst_session_create). */
	pthread_mutex_lock(&uscst_acl_lock);
	atomic_store_explicit(&tgt->enabled, enable, memory_order_relaxed);
	struct uscst_session **v = NULL;
	int n = enable ? 0 : core_target_sessions(tgt, &v);
	pthread_mutex_unlock(&uscst_acl_lock);
	if (n < 0) {
		pthread_mutex_unlock(&live_lock);
		snprintf(err, errlen,
			 "target '%s' disabled, but its sessions could not be closed "
			 "(out of memory)",
			 tgt->name);
		return -ENOMEM;
	}
	if (n > 0)
		close_sessions(v, (unsigned)n);
	free(v);
	pthread_mutex_unlock(&live_lock);
	log_info("target %s: %s%s", tgt->name, enable ? "enabled" : "disabled",
		 n > 0 ? ", its sessions closed" : "");
	return 0;
}

int uscst_live_session_close(uint64_t id, char *err, size_t errlen)
{
	struct uscst_session *s = core_session_find(id);
	if (!s) {
		snprintf(err, errlen, "no session %llu", (unsigned long long)id);
		return -ENOENT;
	}
	pthread_mutex_lock(&live_lock);
	close_sessions(&s, 1);
	pthread_mutex_unlock(&live_lock);
	log_info("session %llu: closed by the administrator", (unsigned long long)id);
	return 0;
}

/* The device's first mapping, for the message that refuses its removal;
 * config lock held. */
bool uscst_live_device_mapped(const struct uscst_device *dev, char *where_, size_t len)
{
	for (struct uscst_target *t = uscst_target_next(NULL); t; t = uscst_target_next(t)) {
		for (unsigned i = 0; i < t->luns->count; i++) {
			if (t->luns->luns[i].dev == dev) {
				snprintf(where_, len, "target %s LUN %llu", t->name,
					 (unsigned long long)t->luns->luns[i].lun);
				return true;
			}
		}
		const struct uscst_group *g;
		list_for_each_entry(g, &t->groups, node)
		{
			for (unsigned i = 0; i < g->luns->count; i++) {
				if (g->luns->luns[i].dev == dev) {
					snprintf(where_, len, "target %s group %s LUN %llu",
						 t->name, g->name,
						 (unsigned long long)g->luns->luns[i].lun);
					return true;
				}
			}
		}
	}
	return false;
}
