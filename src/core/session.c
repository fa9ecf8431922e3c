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
	struct uscst_session *sess = calloc(1, sizeof(*sess));
	if (sess)
		sess->stats = uscst_stats_new(false);
	if (!sess || !sess->stats) {
		free(sess);
		return NULL;
	}
	sess->tgt = tgt;
	snprintf(sess->initiator_name, sizeof(sess->initiator_name), "%s", initiator_name);
	snprintf(sess->initiator_port, sizeof(sess->initiator_port), "%s", initiator_port_name);
	/* Chosen once, at login: the map of the initiator's group. */
	sess->luns = uscst_target_lun_map(tgt, initiator_name);
	pthread_mutex_init(&sess->ua_lock, NULL);
	list_init(&sess->uas);
	atomic_init(&sess->ua_count, 0);
	atomic_init(&sess->refs, 1);

	/* SAM-5: the first command to each LU on a new nexus reports the reset. */
	for (unsigned i = 0; i < sess->luns->count; i++)
		ua_establish(sess, sess->luns->luns[i].lun, ASC_POWER_ON_RESET);

	pthread_mutex_lock(&sessions_lock);
	sess->id = next_session_id++;
	list_add_tail(&sess->node, &sessions);
	tgt->nsessions++;
	pthread_mutex_unlock(&sessions_lock);
	const struct uscst_group *g = uscst_target_group_for(tgt, initiator_name);
	log_info("session %llu: %s logged in to %s (%s%s, %u LUNs)", (unsigned long long)sess->id,
		 sess->initiator_port, tgt->name, g ? "group " : "default LUN map",
		 g ? g->name : "", sess->luns->count);
	return sess;
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
