/*
 * Targets and their CHAP accounts changed at run time.
 *
 * A removed target is disabled first (no new login, its sessions closed
 * and their commands ended), then taken off the target list and emptied:
 * its LUN maps and groups go, so the devices they mapped can be removed.
 * The struct itself is kept until exit: a login in progress on another
 * connection may still point at it (it then finds it disabled and gets no
 * session), and the transport holds no reference to count.
 *
 * CHAP accounts are the target's IncomingUser / OutgoingUser attributes,
 * which the transport reads at each login: a change applies to the next
 * login and leaves every session alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/live.h"
#include "lib/log.h"
#include "lib/names.h"

static struct list_head removed_targets = LIST_HEAD_INIT(removed_targets);

struct uscst_target *uscst_live_target_add(const char *driver, const char *name, char *err,
					   size_t errlen)
{
	struct uscst_target *tgt = uscst_target_create(driver, name, err, errlen);
	if (tgt)
		log_info("target %s (%s): added", name, driver);
	return tgt;
}

int uscst_live_target_remove(struct uscst_target *tgt, char *err, size_t errlen)
{
	int rc = uscst_live_target_enable(tgt, false, err, errlen);
	if (rc < 0)
		return rc;
	struct uscst_lun_map *empty = lun_map_new();
	if (!empty) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&uscst_config_lock);
	pthread_mutex_lock(&uscst_acl_lock);
	core_target_unlink(tgt);
	list_add_tail(&tgt->node, &removed_targets);
	struct uscst_lun_map *map = tgt->luns;
	tgt->luns = empty;
	struct list_head groups;
	list_init(&groups);
	while (!list_empty(&tgt->groups)) {
		struct list_head *n = tgt->groups.next;
		list_del(n);
		list_add_tail(n, &groups);
	}
	pthread_mutex_unlock(&uscst_acl_lock);
	pthread_mutex_unlock(&uscst_config_lock);
	lun_map_put(map);
	while (!list_empty(&groups)) {
		struct uscst_group *g = list_entry(groups.next, struct uscst_group, node);
		list_del(&g->node);
		lun_map_put(g->luns);
		for (unsigned i = 0; i < g->ninitiators; i++)
			free(g->initiators[i]);
		free(g->initiators);
		free(g);
	}
	log_info("target %s: removed", tgt->name);
	return 0;
}

static const char *chap_attr(bool incoming) { return incoming ? "IncomingUser" : "OutgoingUser"; }

/* The account's name: the value's first word. */
static bool same_user(const char *value, void *arg)
{
	const char *user = arg;
	size_t n = strcspn(value, " \t");
	return n == strlen(user) && !strncmp(value, user, n);
}

/* The first `left` accounts named user (the older ones). */
struct first_n {
	const char *user;
	unsigned left;
};

static bool first_n_of_user(const char *value, void *arg)
{
	struct first_n *m = arg;
	if (!m->left || !same_user(value, (void *)m->user))
		return false;
	m->left--;
	return true;
}

int uscst_live_chap_add(struct uscst_target *tgt, bool incoming, const char *user,
			const char *secret, char *err, size_t errlen)
{
	if (!*user || strpbrk(user, " \t") || !*secret || strpbrk(secret, " \t")) {
		snprintf(err, errlen, "a CHAP user and secret are one word each");
		return -EINVAL;
	}
	if (name_has_control_char(user) || name_has_control_char(secret)) {
		snprintf(err, errlen, "a CHAP user or secret may not contain control characters");
		return -EINVAL;
	}
	char value[512];
	if ((size_t)snprintf(value, sizeof(value), "%s %s", user, secret) >= sizeof(value)) {
		snprintf(err, errlen, "CHAP user or secret too long");
		return -EINVAL;
	}
	pthread_mutex_lock(&uscst_config_lock);
	/* An account of the same name is replaced (a new secret): the new one
	 * is added first, so that a login in between finds one of them. */
	unsigned old = 0;
	const char *v;
	for (unsigned i = 0; incoming && (v = uscst_target_attr_at(tgt, "IncomingUser", i)); i++)
		old += same_user(v, (void *)user);
	bool ok = uscst_target_set_attr(tgt, chap_attr(incoming), value, err, errlen);
	if (ok && old) {
		struct first_n m = {user, old};
		core_target_remove_attr(tgt, "IncomingUser", first_n_of_user, &m);
	}
	pthread_mutex_unlock(&uscst_config_lock);
	if (!ok)
		return -EINVAL;
	log_info("target %s: CHAP %s user %s %s", tgt->name, incoming ? "incoming" : "outgoing",
		 user, old || !incoming ? "set" : "added");
	return 0;
}

int uscst_live_chap_remove(struct uscst_target *tgt, bool incoming, const char *user, char *err,
			   size_t errlen)
{
	pthread_mutex_lock(&uscst_config_lock);
	int n = core_target_remove_attr(tgt, chap_attr(incoming), same_user, (void *)user);
	pthread_mutex_unlock(&uscst_config_lock);
	if (!n) {
		snprintf(err, errlen, "target '%s' has no %s '%s'", tgt->name, chap_attr(incoming),
			 user);
		return -ENOENT;
	}
	log_info("target %s: CHAP %s user %s removed", tgt->name,
		 incoming ? "incoming" : "outgoing", user);
	return 0;
}
