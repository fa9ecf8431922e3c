/* Targets, their transport attributes and their default LUN map (initiator
 * groups are in core/acl.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/stats.h"
#include "core/transports.h"
#include "lib/names.h"

static struct list_head targets = LIST_HEAD_INIT(targets);

/*
 * Target attributes are read by login threads (CHAP accounts, limits) and
 * changed at run time (core/target_live.c): the list is walked and changed
 * under attrs_lock, and a value is never freed while its target lives (a
 * reader uses the pointer it got after the lock is dropped): a replaced or
 * removed value moves to the target's retired list.  Run-time changes are
 * administrator actions, so what is kept stays small.
 */
static pthread_mutex_t attrs_lock = PTHREAD_MUTEX_INITIALIZER;

static void retire_value(struct uscst_target *tgt, char *value)
{
	struct uscst_attr *r = calloc(1, sizeof(*r));
	if (!r) {
		/* Leaked rather than freed under a reader. */
		return;
	}
	r->value = value;
	list_add_tail(&r->node, &tgt->retired_attrs);
}
static uint16_t next_rel_tgt_id = 1;

struct uscst_target *uscst_target_create(const char *driver, const char *name, char *err,
					 size_t errlen)
{
	const struct uscst_transport *transport = uscst_transport_find(driver);
	if (!transport) {
		snprintf(err, errlen, "unknown target driver '%s'", driver);
		return NULL;
	}
	if (!*name || strlen(name) >= USCST_NAME_MAX) {
		snprintf(err, errlen, "bad target name '%s'", name);
		return NULL;
	}
	if (name_has_control_char(name)) {
		snprintf(err, errlen, "bad target name: it contains a control character");
		return NULL;
	}
	if (uscst_target_find(name)) {
		snprintf(err, errlen, "target '%s' already exists", name);
		return NULL;
	}
	struct uscst_target *tgt = calloc(1, sizeof(*tgt));
	struct uscst_lun_map *map = lun_map_new();
	struct uscst_stats *stats = uscst_stats_new(false);
	if (!tgt || !map || !stats) {
		free(tgt);
		free(map);
		uscst_stats_free(stats);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(tgt->name, sizeof(tgt->name), "%s", name);
	tgt->transport = transport;
	list_init(&tgt->attrs);
	list_init(&tgt->retired_attrs);
	list_init(&tgt->groups);
	tgt->luns = map;
	tgt->stats = stats;
	atomic_init(&tgt->enabled, true);
	pthread_mutex_lock(&uscst_config_lock);
	/* The next id, past any a target port has (target_ports.c). */
	tgt->rel_tgt_id = core_target_free_rel_id(next_rel_tgt_id, 0);
	if (!tgt->rel_tgt_id) /* past the last: the lowest free one */
		tgt->rel_tgt_id = core_target_free_rel_id(1, 0);
	if (tgt->rel_tgt_id)
		next_rel_tgt_id = (uint16_t)(tgt->rel_tgt_id + 1);
	list_add_tail(&tgt->node, &targets);
	pthread_mutex_unlock(&uscst_config_lock);
	return tgt;
}

/* A repeatable attribute (IncomingUser) gets one more value; any other
 * one's value is replaced. */
static bool store_attr(struct uscst_target *tgt, const char *name, const char *value, bool multi)
{
	struct uscst_attr *a;
	pthread_mutex_lock(&attrs_lock);
	list_for_each_entry(a, &tgt->attrs, node)
	{
		if (!multi && !strcmp(a->name, name)) {
			char *v = strdup(value);
			if (v) {
				retire_value(tgt, a->value);
				a->value = v;
			}
			pthread_mutex_unlock(&attrs_lock);
			return v != NULL;
		}
	}
	pthread_mutex_unlock(&attrs_lock);
	a = calloc(1, sizeof(*a));
	if (!a)
		return false;
	a->name = strdup(name);
	a->value = strdup(value);
	if (!a->name || !a->value) {
		free(a->name);
		free(a->value);
		free(a);
		return false;
	}
	pthread_mutex_lock(&attrs_lock);
	list_add_tail(&a->node, &tgt->attrs);
	pthread_mutex_unlock(&attrs_lock);
	return true;
}

int core_target_remove_attr(struct uscst_target *tgt, const char *name,
			    bool (*match)(const char *value, void *arg), void *arg)
{
	struct uscst_attr *a, *tmp;
	int n = 0;
	pthread_mutex_lock(&attrs_lock);
	list_for_each_entry_safe(a, tmp, &tgt->attrs, node)
	{
		if (strcmp(a->name, name) != 0 || !match(a->value, arg))
			continue;
		list_del(&a->node);
		retire_value(tgt, a->value);
		free(a->name);
		free(a);
		n++;
	}
	pthread_mutex_unlock(&attrs_lock);
	return n;
}

static const char *target_attr_get(void *tgt, const char *name, unsigned i)
{
	return uscst_target_attr_at(tgt, name, i);
}

/* The core's own attributes ("enabled", "rel_tgt_id") are checked by the
 * core's table; every other one by the table of the target's transport,
 * and stored as given for the transport to read (uscst_target_attr). */
bool uscst_target_set_attr(struct uscst_target *tgt, const char *name, const char *value, char *err,
			   size_t errlen)
{
	const struct uscst_attr_def *d = uscst_attr_find(uscst_core_target_attrs, name);
	if (d) {
		if (!uscst_attr_check(d, value, err, errlen))
			return false;
		if (!strcmp(name, "enabled")) {
			atomic_store_explicit(&tgt->enabled, value[0] == '1', memory_order_relaxed);
		} else {
			if (!core_target_port_id_check(tgt, name, value, err, errlen))
				return false;
			tgt->rel_tgt_id = (uint16_t)strtoul(value, NULL, 10);
			tgt->rel_tgt_id_set = true;
		}
		return true;
	}
	d = uscst_attr_find(tgt->transport->target_attrs, name);
	if (!d) {
		snprintf(err, errlen, "unknown attribute '%s' for target '%s'", name, tgt->name);
		return false;
	}
	if (d->flags & USCST_ATTR_NOT_BUILT) {
		snprintf(err, errlen, "%s target attribute '%s' is not supported yet",
			 tgt->transport->name, name);
		return false;
	}
	if (!uscst_attr_check(d, value, err, errlen) ||
	    (tgt->transport->check_with &&
	     !tgt->transport->check_with(name, value, target_attr_get, tgt, err, errlen)) ||
	    !core_target_port_id_check(tgt, name, value, err, errlen))
		return false;
	if (!store_attr(tgt, name, value, d->flags & USCST_ATTR_MULTI)) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	return true;
}

void uscst_target_foreach_attr(const struct uscst_target *tgt,
			       void (*fn)(void *arg, const char *name, const char *value),
			       void *arg)
{
	const struct uscst_attr *a;
	pthread_mutex_lock(&attrs_lock);
	list_for_each_entry(a, &tgt->attrs, node) fn(arg, a->name, a->value);
	pthread_mutex_unlock(&attrs_lock);
}

const char *uscst_target_attr(const struct uscst_target *tgt, const char *name)
{
	return uscst_target_attr_at(tgt, name, 0);
}

const char *uscst_target_attr_at(const struct uscst_target *tgt, const char *name, unsigned i)
{
	const struct uscst_attr *a;
	const char *found = NULL;
	pthread_mutex_lock(&attrs_lock);
	list_for_each_entry(a, &tgt->attrs, node)
	{
		if (!strcmp(a->name, name) && i-- == 0) {
			found = a->value;
			break;
		}
	}
	pthread_mutex_unlock(&attrs_lock);
	return found;
}

bool uscst_target_add_lun(struct uscst_target *tgt, uint64_t lun, struct uscst_device *dev,
			  bool read_only, char *err, size_t errlen)
{
	return lun_map_add(tgt->luns, lun, dev, read_only, err, errlen);
}

struct uscst_target *uscst_target_find(const char *name)
{
	struct uscst_target *tgt, *found = NULL;
	pthread_mutex_lock(&uscst_config_lock);
	list_for_each_entry(tgt, &targets, node)
	{
		if (!strcmp(tgt->name, name)) {
			found = tgt;
			break;
		}
	}
	pthread_mutex_unlock(&uscst_config_lock);
	return found;
}

void uscst_target_foreach(void (*fn)(struct uscst_target *tgt, void *arg), void *arg)
{
	struct uscst_target *tgt;
	pthread_mutex_lock(&uscst_config_lock);
	list_for_each_entry(tgt, &targets, node)
	{
		if (atomic_load_explicit(&tgt->enabled, memory_order_relaxed))
			fn(tgt, arg);
	}
	pthread_mutex_unlock(&uscst_config_lock);
}

void core_target_unlink(struct uscst_target *tgt) { list_del(&tgt->node); }

struct uscst_target *uscst_target_next(struct uscst_target *prev)
{
	struct list_head *n = prev ? prev->node.next : targets.next;
	return n == &targets ? NULL : list_entry(n, struct uscst_target, node);
}

const char *uscst_target_name(const struct uscst_target *tgt) { return tgt->name; }

uint16_t uscst_target_rel_port_id(const struct uscst_target *tgt) { return tgt->rel_tgt_id; }
