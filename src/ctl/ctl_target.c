/*
 * Targets and what hangs off them: `list targets`, `list groups`,
 * `list initiators`, `list luns` (each optionally for one TARGET) and
 * `list portals`.  Rows (stable field names):
 *   targets     {"name", "driver", "enabled", "rel_tgt_id", "luns" (in the
 *                default map), "groups", "sessions"}
 *   groups      {"target", "name", "luns", "initiators"}
 *   initiators  {"target", "group", "initiator"} (a name or a pattern)
 *   luns        {"target", "group" (null: the default map), "lun",
 *                "device", "read_only"}
 *   portals     {"driver", "portal"}
 * `show target TARGET`: the row plus "attributes" {name: value, or [values]
 * for a repeated one} and "group_names".
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/transports.h"
#include "ctl/ctl_verbs.h"

static unsigned map_count(const struct uscst_lun_map *m) { return m ? m->count : 0; }

struct session_count {
	const struct uscst_target *tgt;
	uint64_t n;
};

/* Called with uscst_config_lock held: the order is the configuration lock,
 * then the session list's (uscst_session_foreach). */
static void count_session(struct uscst_session *s, void *arg)
{
	struct session_count *sc = arg;
	sc->n += s->tgt == sc->tgt;
}

/* The target TARGET names, or every target (NULL) when not given; false
 * with the error set if TARGET names none.  Call with uscst_config_lock. */
static bool only_target(struct ctl_call *c, struct uscst_target **only)
{
	const char *name = ctl_arg(c, "TARGET");
	*only = NULL;
	if (!name)
		return true;
	for (struct uscst_target *t = uscst_target_next(NULL); t; t = uscst_target_next(t))
		if (strcmp(t->name, name) == 0) {
			*only = t;
			return true;
		}
	ctl_fail(c, "no target '%s' (see 'uscstadmin list targets')", name);
	return false;
}

/* The row of `list targets`; call with uscst_config_lock held. */
static struct json_object *target_row(struct ctl_call *c, const struct uscst_target *t)
{
	struct session_count sc = {.tgt = t};
	uscst_session_foreach(count_session, &sc);
	uint64_t ngroups = 0;
	const struct uscst_group *g;
	list_for_each_entry(g, &t->groups, node) ngroups++;
	struct json_object *o = jp_object(&c->failed);
	jp_str(&c->failed, o, "name", t->name);
	jp_str(&c->failed, o, "driver", t->transport ? t->transport->name : NULL);
	jp_bool(&c->failed, o, "enabled", t->enabled);
	jp_u64(&c->failed, o, "rel_tgt_id", t->rel_tgt_id);
	jp_u64(&c->failed, o, "luns", map_count(t->luns));
	jp_u64(&c->failed, o, "groups", ngroups);
	jp_u64(&c->failed, o, "sessions", sc.n);
	return o;
}

static struct json_object *do_list_targets(struct ctl_call *c)
{
	struct json_object *list = jp_array(&c->failed);
	pthread_mutex_lock(&uscst_config_lock);
	for (struct uscst_target *t = uscst_target_next(NULL); t; t = uscst_target_next(t))
		jp_append(&c->failed, list, target_row(c, t));
	pthread_mutex_unlock(&uscst_config_lock);
	return list;
}

/* A CHAP account's value is "NAME SECRET": a listing shows the name only
 * (`show config`, a configuration dump, writes the secret). */
static bool is_account(const char *attr)
{
	return strcmp(attr, "IncomingUser") == 0 || strcmp(attr, "OutgoingUser") == 0;
}

/* The row, "attributes" {name: value, or [values] for a repeated one}
 * (CHAP accounts without their secrets) and "group_names". */
static struct json_object *do_show_target(struct ctl_call *c)
{
	pthread_mutex_lock(&uscst_config_lock);
	struct uscst_target *t;
	if (!only_target(c, &t)) {
		pthread_mutex_unlock(&uscst_config_lock);
		return NULL;
	}
	struct json_object *o = target_row(c, t);
	struct json_object *attrs = jp_put(&c->failed, o, "attributes", jp_object(&c->failed));
	const struct uscst_attr *a;
	list_for_each_entry(a, &t->attrs, node)
	{
		/* The core may mirror these two in its list; the row has them. */
		if (strcmp(a->name, "enabled") == 0 || strcmp(a->name, "rel_tgt_id") == 0)
			continue;
		char shown[256];
		const char *v = a->value ? a->value : "";
		if (is_account(a->name))
			snprintf(shown, sizeof(shown), "%.*s (secret not shown)",
				 (int)strcspn(v, " \t"), v);
		else
			snprintf(shown, sizeof(shown), "%s", v);
		struct json_object *prev;
		if (!json_object_object_get_ex(attrs, a->name, &prev)) {
			jp_str(&c->failed, attrs, a->name, shown);
			continue;
		}
		if (!json_object_is_type(prev, json_type_array)) {
			/* A second value: the member becomes the list of them. */
			struct json_object *list = jp_array(&c->failed);
			jp_append(&c->failed, list, json_object_get(prev));
			prev = jp_put(&c->failed, attrs, a->name, list);
		}
		jp_append_str(&c->failed, prev, shown);
	}
	struct json_object *names = jp_put(&c->failed, o, "group_names", jp_array(&c->failed));
	const struct uscst_group *g;
	list_for_each_entry(g, &t->groups, node) jp_append_str(&c->failed, names, g->name);
	pthread_mutex_unlock(&uscst_config_lock);
	return o;
}

/* Runs fn for each target (or the one TARGET names), under the lock. */
static struct json_object *per_target(struct ctl_call *c,
				      void (*fn)(struct ctl_call *c, struct json_object *list,
						 const struct uscst_target *t))
{
	pthread_mutex_lock(&uscst_config_lock);
	struct uscst_target *only;
	if (!only_target(c, &only)) {
		pthread_mutex_unlock(&uscst_config_lock);
		return NULL;
	}
	struct json_object *list = jp_array(&c->failed);
	for (struct uscst_target *t = uscst_target_next(NULL); t; t = uscst_target_next(t))
		if (!only || t == only)
			fn(c, list, t);
	pthread_mutex_unlock(&uscst_config_lock);
	return list;
}

static void groups_of(struct ctl_call *c, struct json_object *list, const struct uscst_target *t)
{
	const struct uscst_group *g;
	list_for_each_entry(g, &t->groups, node)
	{
		struct json_object *o = jp_append(&c->failed, list, jp_object(&c->failed));
		jp_str(&c->failed, o, "target", t->name);
		jp_str(&c->failed, o, "name", g->name);
		jp_u64(&c->failed, o, "luns", map_count(g->luns));
		jp_u64(&c->failed, o, "initiators", g->ninitiators);
	}
}

static struct json_object *do_list_groups(struct ctl_call *c) { return per_target(c, groups_of); }

static void initiators_of(struct ctl_call *c, struct json_object *list,
			  const struct uscst_target *t)
{
	const struct uscst_group *g;
	list_for_each_entry(g, &t->groups, node)
	{
		for (unsigned i = 0; i < g->ninitiators; i++) {
			struct json_object *o = jp_append(&c->failed, list, jp_object(&c->failed));
			jp_str(&c->failed, o, "target", t->name);
			jp_str(&c->failed, o, "group", g->name);
			jp_str(&c->failed, o, "initiator", g->initiators[i]);
		}
	}
}

static struct json_object *do_list_initiators(struct ctl_call *c)
{
	return per_target(c, initiators_of);
}

static void map_rows(struct ctl_call *c, struct json_object *list, const struct uscst_target *t,
		     const struct uscst_group *g, const struct uscst_lun_map *m)
{
	for (unsigned i = 0; i < map_count(m); i++) {
		const struct uscst_lun *l = &m->luns[i];
		struct json_object *o = jp_append(&c->failed, list, jp_object(&c->failed));
		jp_str(&c->failed, o, "target", t->name);
		jp_str(&c->failed, o, "group", g ? g->name : NULL);
		jp_u64(&c->failed, o, "lun", l->lun);
		jp_str(&c->failed, o, "device", l->dev ? l->dev->name : NULL);
		jp_bool(&c->failed, o, "read_only", l->read_only);
	}
}

static void luns_of(struct ctl_call *c, struct json_object *list, const struct uscst_target *t)
{
	map_rows(c, list, t, NULL, t->luns);
	const struct uscst_group *g;
	list_for_each_entry(g, &t->groups, node) map_rows(c, list, t, g, g->luns);
}

static struct json_object *do_list_luns(struct ctl_call *c) { return per_target(c, luns_of); }

struct portals {
	struct ctl_call *c;
	struct json_object *list;
	const char *driver;
};

static void portal_attr(void *arg, const char *name, const char *value)
{
	struct portals *p = arg;
	if (strcmp(name, "listen") != 0)
		return;
	struct json_object *o = jp_append(&p->c->failed, p->list, jp_object(&p->c->failed));
	jp_str(&p->c->failed, o, "driver", p->driver);
	jp_str(&p->c->failed, o, "portal", value);
}

/* The addresses each transport listens on (its "listen" in force). */
static struct json_object *do_list_portals(struct ctl_call *c)
{
	struct portals p = {.c = c, .list = jp_array(&c->failed)};
	for (const struct uscst_transport *t = uscst_transport_next(NULL); t;
	     t = uscst_transport_next(t)) {
		p.driver = t->name;
		uscst_transport_show(t, portal_attr, &p);
	}
	return p.list;
}

const struct ctl_verb ctl_target_verbs[] = {
    {"list targets", do_list_targets, "targets: driver, enabled, LUNs, groups, sessions",
     CTL_READS_STATE},
    {"show target TARGET", do_show_target,
     "one target: its attributes (CHAP accounts without secrets) and groups", CTL_READS_STATE},
    {"list groups [TARGET]", do_list_groups, "initiator groups of every target (or TARGET's)",
     CTL_READS_STATE},
    {"list initiators [TARGET]", do_list_initiators, "initiator names and patterns of each group",
     CTL_READS_STATE},
    {"list luns [TARGET]", do_list_luns,
     "LUNs of each target's default map and groups: device, read-only", CTL_READS_STATE},
    {"list portals", do_list_portals, "addresses the target drivers listen on", CTL_READS_STATE},
    {NULL},
};
