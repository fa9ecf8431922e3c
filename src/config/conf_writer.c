#include "config/conf_writer.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf_alua.h"
#include "core/alua.h"
#include "core/core.h"
#include "core/device_attrs.h"
#include "core/handler_plugin.h"
#include "core/transports.h"
#include "lib/json_put.h"

/* ---- snapshot tree ---- */

struct snapshot {
	struct conf_tree *tree;
	struct conf_node *driver;
	struct conf_node *device; /* the DEVICE being written */
	bool failed;
};

static void add_attr(struct snapshot *s, struct conf_node *node, const char *name,
		     const char *value)
{
	if (!s->failed && !conf_node_add_attr(node, name, value, 0))
		s->failed = true;
}

static void add_attr_u64(struct snapshot *s, struct conf_node *node, const char *name,
			 uint64_t value)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRIu64, value);
	add_attr(s, node, name, buf);
}

static struct conf_node *add_child(struct snapshot *s, struct conf_node *parent,
				   const char *keyword, const char *const *args, size_t nargs)
{
	if (s->failed)
		return NULL;
	struct conf_node *n = conf_node_add_child(parent, keyword, args, nargs, 0);
	if (!n)
		s->failed = true;
	return n;
}

static struct conf_node *handler_node(struct snapshot *s, const char *handler)
{
	struct conf_node *h = conf_node_child(&s->tree->root, "HANDLER", handler);
	if (h)
		return h;
	h = add_child(s, &s->tree->root, "HANDLER", &handler, 1);
	if (!h)
		return NULL;
	h->has_block = true;
	const char *plugin = uscst_handler_plugin_path(handler);
	if (plugin)
		add_attr(s, h, "plugin", plugin);
	return h;
}

static void emit_device_attr(void *arg, const char *name, const char *value)
{
	struct snapshot *s = arg;
	add_attr(s, s->device, name, value);
}

static void snapshot_device(struct uscst_device *dev, void *arg)
{
	struct snapshot *s = arg;
	const char *handler = dev->backend ? dev->backend->name : "unknown";
	struct conf_node *h = handler_node(s, handler);
	const char *name = dev->name;
	struct conf_node *d = h ? add_child(s, h, "DEVICE", &name, 1) : NULL;
	if (!d)
		return;
	d->has_block = true;
	/* What SCST would mark [key]: from the core's and the handler's tables. */
	s->device = d;
	uscst_device_show_attrs(dev, emit_device_attr, s);
}

static void snapshot_luns(struct snapshot *s, struct conf_node *t, const struct uscst_lun_map *map)
{
	for (unsigned i = 0; map && i < map->count; i++) {
		const struct uscst_lun *l = &map->luns[i];
		char num[24];
		snprintf(num, sizeof(num), "%" PRIu64, l->lun);
		const char *args[2] = {num, l->dev ? l->dev->name : "?"};
		struct conf_node *ln = add_child(s, t, "LUN", args, 2);
		if (ln && l->read_only)
			add_attr(s, ln, "read_only", "1");
	}
}

static void snapshot_target(struct snapshot *s, struct uscst_target *tgt)
{
	const char *name = tgt->name;
	struct conf_node *t = add_child(s, s->driver, "TARGET", &name, 1);
	if (!t)
		return;
	t->has_block = true;
	add_attr(s, t, "enabled",
		 atomic_load_explicit(&tgt->enabled, memory_order_relaxed) ? "1" : "0");
	if (tgt->rel_tgt_id)
		add_attr_u64(s, t, "rel_tgt_id", tgt->rel_tgt_id);
	struct uscst_attr *a;
	list_for_each_entry(a, &tgt->attrs, node)
	{
		/* The core may mirror these two in its list; they are written above. */
		if (strcmp(a->name, "enabled") == 0 || strcmp(a->name, "rel_tgt_id") == 0)
			continue;
		add_attr(s, t, a->name, a->value ? a->value : "");
	}
	snapshot_luns(s, t, tgt->luns);
	/* Groups in their order: the first matching wildcard group wins, so
	 * the order is part of the configuration. */
	struct uscst_group *g;
	list_for_each_entry(g, &tgt->groups, node)
	{
		const char *gname = g->name;
		struct conf_node *gn = add_child(s, t, "GROUP", &gname, 1);
		if (!gn)
			return;
		gn->has_block = true;
		snapshot_luns(s, gn, g->luns);
		for (unsigned i = 0; i < g->ninitiators; i++) {
			const char *pat = g->initiators[i];
			add_child(s, gn, "INITIATOR", &pat, 1);
		}
	}
}

/* The driver's targets, disabled ones too (uscst_target_foreach skips those). */
static void snapshot_targets(struct snapshot *s, const struct uscst_transport *tr)
{
	pthread_mutex_lock(&uscst_config_lock);
	for (struct uscst_target *t = uscst_target_next(NULL); t; t = uscst_target_next(t))
		if (t->transport == tr)
			snapshot_target(s, t);
	pthread_mutex_unlock(&uscst_config_lock);
}

static void emit_driver_attr(void *arg, const char *name, const char *value)
{
	struct snapshot *s = arg;
	add_attr(s, s->driver, name, value);
}

/* One TARGET_DRIVER block per registered transport: the driver attributes
 * it reports as in force, then its targets. */
static void snapshot_drivers(struct snapshot *s)
{
	for (const struct uscst_transport *tr = uscst_transport_next(NULL); tr && !s->failed;
	     tr = uscst_transport_next(tr)) {
		s->driver = add_child(s, &s->tree->root, "TARGET_DRIVER", &tr->name, 1);
		if (!s->driver)
			return;
		s->driver->has_block = true;
		uscst_transport_show(tr, emit_driver_attr, s);
		if (!s->failed)
			snapshot_targets(s, tr);
	}
}

struct conf_tree *conf_running_tree(void)
{
	struct snapshot s = {.tree = conf_tree_new("<running>")};
	if (!s.tree)
		return NULL;
	uscst_device_foreach(snapshot_device, &s);
	snapshot_drivers(&s);
	if (!s.failed && !conf_alua_snapshot(s.tree, uscst_alua_current()))
		s.failed = true;
	if (s.failed) {
		conf_tree_free(s.tree);
		return NULL;
	}
	return s.tree;
}

/* ---- output ---- */

typedef int (*tree_writer)(const struct conf_tree *tree, FILE *f);

static int write_running_with(tree_writer writer, FILE *f)
{
	struct conf_tree *tree = conf_running_tree();
	if (!tree)
		return -1;
	int rc = writer(tree, f);
	conf_tree_free(tree);
	return rc;
}

static char *running_text_with(tree_writer writer)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	int rc = write_running_with(writer, f);
	if (fclose(f) != 0 || rc != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static int write_conf_with_header(const struct conf_tree *tree, FILE *f)
{
	fputs("# Running configuration of uscstd (scst.conf format).\n\n", f);
	return conf_tree_write(tree, f);
}

int conf_write_running(FILE *f) { return write_running_with(write_conf_with_header, f); }

char *conf_running_text(void) { return running_text_with(write_conf_with_header); }

int conf_write_running_json(FILE *f) { return write_running_with(conf_tree_write_json, f); }

char *conf_running_json(void) { return running_text_with(conf_tree_write_json); }

/* ---- JSON ---- */

static bool seen_before(const struct conf_node *n, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(n->attrs[j].name, n->attrs[i].name) == 0)
			return true;
	return false;
}

/* One key per name; a repeated name (IncomingUser ...) becomes an array. */
static struct json_object *json_attrs(bool *failed, const struct conf_node *n)
{
	struct json_object *o = jp_object(failed);
	for (size_t i = 0; i < n->nattrs; i++) {
		const char *name = n->attrs[i].name;
		if (seen_before(n, i))
			continue;
		size_t count = 0;
		for (size_t j = i; j < n->nattrs; j++)
			count += strcmp(n->attrs[j].name, name) == 0;
		if (count == 1) {
			jp_str(failed, o, name, n->attrs[i].value);
			continue;
		}
		struct json_object *values = jp_put(failed, o, name, jp_array(failed));
		for (size_t j = i; j < n->nattrs; j++)
			if (strcmp(n->attrs[j].name, name) == 0)
				jp_append_str(failed, values, n->attrs[j].value);
	}
	return o;
}

static struct json_object *json_devices(bool *failed, const struct conf_tree *tree)
{
	struct json_object *list = jp_array(failed);
	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *h = tree->root.children[i];
		if (strcmp(h->keyword, "HANDLER") != 0)
			continue;
		for (size_t j = 0; j < h->nchildren; j++) {
			const struct conf_node *d = h->children[j];
			struct json_object *o = jp_append(failed, list, jp_object(failed));
			jp_str(failed, o, "name", d->args[0]);
			jp_str(failed, o, "handler", h->args[0]);
			const char *plugin = conf_node_attr(h, "plugin");
			if (plugin)
				jp_str(failed, o, "plugin", plugin);
			jp_put(failed, o, "attributes", json_attrs(failed, d));
		}
	}
	return list;
}

static struct json_object *json_luns(bool *failed, const struct conf_node *t)
{
	struct json_object *list = jp_array(failed);
	for (size_t i = 0; i < t->nchildren; i++) {
		const struct conf_node *l = t->children[i];
		if (strcmp(l->keyword, "LUN") != 0 || l->nargs < 2)
			continue;
		const char *ro = conf_node_attr(l, "read_only");
		struct json_object *o = jp_append(failed, list, jp_object(failed));
		/* A number unless the tree came from an unvalidated file. */
		const char *num = l->args[0];
		if (num[0] && strspn(num, "0123456789") == strlen(num) && strlen(num) < 20)
			jp_u64(failed, o, "lun", strtoull(num, NULL, 10));
		else
			jp_str(failed, o, "lun", num);
		jp_str(failed, o, "device", l->args[1]);
		jp_bool(failed, o, "read_only", ro && strcmp(ro, "1") == 0);
	}
	return list;
}

static struct json_object *json_groups(bool *failed, const struct conf_node *t)
{
	struct json_object *list = jp_array(failed);
	for (size_t i = 0; i < t->nchildren; i++) {
		const struct conf_node *g = t->children[i];
		if (strcmp(g->keyword, "GROUP") != 0 || g->nargs < 1)
			continue;
		struct json_object *o = jp_append(failed, list, jp_object(failed));
		jp_str(failed, o, "name", g->args[0]);
		jp_put(failed, o, "luns", json_luns(failed, g));
		struct json_object *ini = jp_put(failed, o, "initiators", jp_array(failed));
		for (size_t j = 0; j < g->nchildren; j++) {
			const struct conf_node *in = g->children[j];
			if (strcmp(in->keyword, "INITIATOR") == 0 && in->nargs >= 1)
				jp_append_str(failed, ini, in->args[0]);
		}
	}
	return list;
}

static struct json_object *json_targets(bool *failed, const struct conf_tree *tree)
{
	struct json_object *list = jp_array(failed);
	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *drv = tree->root.children[i];
		if (strcmp(drv->keyword, "TARGET_DRIVER") != 0)
			continue;
		for (size_t j = 0; j < drv->nchildren; j++) {
			const struct conf_node *t = drv->children[j];
			if (strcmp(t->keyword, "TARGET") != 0)
				continue;
			struct json_object *o = jp_append(failed, list, jp_object(failed));
			jp_str(failed, o, "name", t->args[0]);
			jp_str(failed, o, "driver", drv->args[0]);
			jp_put(failed, o, "attributes", json_attrs(failed, t));
			jp_put(failed, o, "luns", json_luns(failed, t));
			jp_put(failed, o, "groups", json_groups(failed, t));
		}
	}
	return list;
}

static struct json_object *json_iscsi(bool *failed, const struct conf_tree *tree)
{
	const struct conf_node *drv = conf_node_child(&tree->root, "TARGET_DRIVER", "iscsi");
	const char *enabled = drv ? conf_node_attr(drv, "enabled") : NULL;
	struct json_object *o = jp_object(failed);
	jp_bool(failed, o, "enabled", enabled && strcmp(enabled, "1") == 0);
	struct json_object *listen = jp_put(failed, o, "listen", jp_array(failed));
	for (size_t i = 0; drv && i < drv->nattrs; i++)
		if (strcmp(drv->attrs[i].name, "listen") == 0)
			jp_append_str(failed, listen, drv->attrs[i].value);
	return o;
}

struct json_object *conf_tree_json(const struct conf_tree *tree)
{
	bool failed = false;
	struct json_object *o = jp_object(&failed);
	jp_put(&failed, o, "devices", json_devices(&failed, tree));
	jp_put(&failed, o, "targets", json_targets(&failed, tree));
	jp_put(&failed, o, "iscsi", json_iscsi(&failed, tree));
	jp_put(&failed, o, "alua", conf_alua_json(&failed, tree));
	if (failed) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *conf_running_json_object(void)
{
	struct conf_tree *tree = conf_running_tree();
	if (!tree)
		return NULL;
	struct json_object *o = conf_tree_json(tree);
	conf_tree_free(tree);
	return o;
}

int conf_tree_write_json(const struct conf_tree *tree, FILE *f)
{
	struct json_object *o = conf_tree_json(tree);
	char *text = o ? jp_text(o, true) : NULL;
	json_object_put(o);
	if (!text)
		return -1;
	fputs(text, f);
	free(text);
	return ferror(f) ? -1 : 0;
}
