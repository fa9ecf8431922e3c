/* Sessions (I_T nexuses): creation, LUN lookup, and nexus loss. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmdset.h"
#include "core/core.h"
#include "core/stats.h"
#include "lib/log.h"

static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct list_head sessions = LIST_HEAD_INIT(sessions);
static uint64_t next_session_id = 1;

struct uscst_session *uscst_session_create(struct uscst_target *tgt, const char *initiator_name,
					   const char *initiator_port_name)
{
	return uscst_session_create_port(tgt, initiator_name, initiator_port_name, 1,
					 tgt->rel_tgt_id);
}

struct uscst_session *uscst_session_create_port(struct uscst_target *tgt,
						const char *initiator_name,
						const char *initiator_port_name, uint16_t tpgt,
						uint16_t rel_port_id)
{
	struct uscst_session *sess = calloc(1, sizeof(*sess));
	if (sess)
		sess->stats = uscst_stats_new(false);
	if (!sess || !sess->stats) {
		free(sess);
		return NULL;
	}
	sess->tgt = tgt;
	sess->tpgt = tpgt;
	sess->rel_port_id = rel_port_id;
	snprintf(sess->initiator_name, sizeof(sess->initiator_name), "%s", initiator_name);
	snprintf(sess->initiator_port, sizeof(sess->initiator_port), "%s", initiator_port_name);
	pthread_mutex_init(&sess->ua_lock, NULL);
	list_init(&sess->uas);
	atomic_init(&sess->ua_luns, 0);
	atomic_init(&sess->refs, 1);
	/* Run-time changes reach the session on the thread that logs it in
	 * (its connection's, for good): set before it is listed, so that a
	 * change never finds it without one (core/live_map.c). */
	atomic_store_explicit(&sess->reactor, reactor_current(), memory_order_release);

	/* The map of the initiator's group, and the listing, under the ACL
	 * lock: a run-time change either sees this session listed or is seen
	 * by it.  A target disabled since the login began takes no session. */
	char group[sizeof(((struct uscst_group *)0)->name)] = "";
	pthread_mutex_lock(&uscst_acl_lock);
	const struct uscst_group *g = uscst_target_group_for(tgt, initiator_name);
	if (g)
		snprintf(group, sizeof(group), "%s", g->name);
	const struct uscst_lun_map *map = g ? g->luns : tgt->luns;
	sess->map_hold = atomic_load_explicit(&tgt->enabled, memory_order_relaxed)
			     ? core_map_hold_new(map)
			     : NULL;
	if (!sess->map_hold) {
		pthread_mutex_unlock(&uscst_acl_lock);
		log_info("%s: no session for %s: target %s", tgt->name, initiator_port_name,
			 atomic_load_explicit(&tgt->enabled, memory_order_relaxed) ? "out of memory"
										   : "disabled");
		pthread_mutex_destroy(&sess->ua_lock);
		uscst_stats_free(sess->stats);
		free(sess);
		return NULL;
	}
	sess->luns = map;
	/* SAM-5: the first command to each LU on a new nexus reports the
	 * reset; on a nexus that was lost, the loss (core/nexus_loss.c). */
	bool returns = core_nexus_returns(initiator_port_name, tgt, rel_port_id);
	for (unsigned i = 0; i < sess->luns->count; i++) {
		if (returns)
			ua_establish(sess, sess->luns->luns[i].lun, ASC_I_T_NEXUS_LOSS);
		else
			ua_establish(sess, sess->luns->luns[i].lun, ASC_POWER_ON_RESET);
	}
	pthread_mutex_lock(&sessions_lock);
	sess->id = next_session_id++;
	list_add_tail(&sess->node, &sessions);
	tgt->nsessions++;
	pthread_mutex_unlock(&sessions_lock);
	pthread_mutex_unlock(&uscst_acl_lock);
	log_info("session %llu: %s logged in to %s (%s%s, %u LUNs)", (unsigned long long)sess->id,
		 sess->initiator_port, tgt->name, *group ? "group " : "default LUN map", group,
		 map->count);
	return sess;
}

struct core_map_hold *core_session_publish_map(struct uscst_session *s, struct core_map_hold *h)
{
	pthread_mutex_lock(&sessions_lock);
	struct core_map_hold *old = s->map_hold;
	s->map_hold = h;
	s->luns = h->map;
	pthread_mutex_unlock(&sessions_lock);
	return old;
}

int core_target_sessions(const struct uscst_target *tgt, struct uscst_session ***out)
{
	struct uscst_session *s, **v = NULL;
	unsigned n = 0;
	pthread_mutex_lock(&sessions_lock);
	v = malloc((tgt->nsessions + 1) * sizeof(*v));
	if (v) {
		list_for_each_entry(s, &sessions, node)
		{
			if (s->tgt != tgt)
				continue;
			core_session_get(s);
			v[n++] = s;
		}
	}
	pthread_mutex_unlock(&sessions_lock);
	*out = v;
	return v ? (int)n : -1;
}

struct uscst_session *core_session_find(uint64_t id)
{
	struct uscst_session *s, *found = NULL;
	pthread_mutex_lock(&sessions_lock);
	list_for_each_entry(s, &sessions, node)
	{
		if (s->id == id) {
			core_session_get(s);
			found = s;
			break;
		}
	}
	pthread_mutex_unlock(&sessions_lock);
	return found;
}

void uscst_session_destroy(struct uscst_session *sess)
{
	if (!sess)
		return;
	pthread_mutex_lock(&sessions_lock);
	list_del(&sess->node);
	sess->tgt->nsessions--;
	pthread_mutex_unlock(&sessions_lock);

	for (unsigned i = 0; i < sess->luns->count; i++) {
		struct uscst_device *dev = sess->luns->luns[i].dev;
		dev->cmdset->nexus_lost(dev, sess);
		/* A lost nexus no longer prevents medium removal (SPC-4 6.13). */
		pthread_mutex_lock(&dev->lock);
		uscst_prevent_set(dev, sess->id, false);
		pthread_mutex_unlock(&dev->lock);
	}
	log_info("session %llu: %s closed", (unsigned long long)sess->id, sess->initiator_port);
	core_nexus_lost(sess);
	ua_clear_session(sess);
	sess->gone = true;
	core_session_put(sess);
}

struct uscst_lun *uscst_session_lun(struct uscst_session *sess, uint64_t lun)
{
	return lun_map_find(sess->luns, lun);
}

bool uscst_lun_exists(struct uscst_session *sess, uint64_t lun)
{
	return uscst_session_lun(sess, lun) != NULL;
}

void uscst_session_foreach(void (*fn)(struct uscst_session *s, void *arg), void *arg)
{
	struct uscst_session *s;
	pthread_mutex_lock(&sessions_lock);
	list_for_each_entry(s, &sessions, node) fn(s, arg);
	pthread_mutex_unlock(&sessions_lock);
}
