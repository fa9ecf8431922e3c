/*
 * Devices: `list devices`, `show device NAME`, and the run-time changes
 * `device NAME resync_size` and `device NAME set ATTR VALUE`.
 *
 * A row of `list devices` (and the head of `show device`):
 *   {"name", "handler", "size" (bytes), "blocksize", "blocks",
 *    "read_only", "state" ("open", or "no medium" for an empty removable
 *    drive), "luns" (how many LUN maps export it)}
 * `show device` adds "attributes" {name: value} (as `show config` writes
 * them), "prevent_removal" and "exported_as" [{"target", "group" (null:
 * the default map), "lun", "read_only"}].
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/core.h"
#include "core/device_attrs.h"
#include "core/live.h"
#include "ctl/ctl_verbs.h"

/* Calls fn for every LUN of every map (default and groups) of every
 * target that exports dev.  Call with uscst_config_lock held. */
static void foreach_export(const struct uscst_device *dev,
			   void (*fn)(void *arg, const struct uscst_target *t,
				      const struct uscst_group *g, const struct uscst_lun *l),
			   void *arg)
{
	for (struct uscst_target *t = uscst_target_next(NULL); t; t = uscst_target_next(t)) {
		for (unsigned i = 0; t->luns && i < t->luns->count; i++)
			if (t->luns->luns[i].dev == dev)
				fn(arg, t, NULL, &t->luns->luns[i]);
		const struct uscst_group *g;
		list_for_each_entry(g, &t->groups, node)
		{
			for (unsigned i = 0; g->luns && i < g->luns->count; i++)
				if (g->luns->luns[i].dev == dev)
					fn(arg, t, g, &g->luns->luns[i]);
		}
	}
}

static void count_export(void *arg, const struct uscst_target *t, const struct uscst_group *g,
			 const struct uscst_lun *l)
{
	(*(uint64_t *)arg)++;
}

/* The row of `list devices`; call with uscst_config_lock held. */
static struct json_object *device_row(struct ctl_call *c, const struct uscst_device *dev)
{
	struct json_object *o = jp_object(&c->failed);
	uint64_t luns = 0;
	foreach_export(dev, count_export, &luns);
	jp_str(&c->failed, o, "name", dev->name);
	jp_str(&c->failed, o, "handler", dev->backend ? dev->backend->name : NULL);
	jp_u64(&c->failed, o, "size", atomic_load_explicit(&dev->size, memory_order_relaxed));
	jp_u64(&c->failed, o, "blocksize", dev->block_size);
	jp_u64(&c->failed, o, "blocks", atomic_load_explicit(&dev->nblocks, memory_order_relaxed));
	jp_bool(&c->failed, o, "read_only",
		atomic_load_explicit(&dev->read_only, memory_order_relaxed));
	bool medium = atomic_load_explicit(&dev->medium_present, memory_order_relaxed);
	jp_str(&c->failed, o, "state", medium ? "open" : "no medium");
	jp_u64(&c->failed, o, "luns", luns);
	return o;
}

static struct json_object *do_list_devices(struct ctl_call *c)
{
	struct json_object *list = jp_array(&c->failed);
	pthread_mutex_lock(&uscst_config_lock);
	for (struct uscst_device *d = uscst_device_next(NULL); d; d = uscst_device_next(d))
		jp_append(&c->failed, list, device_row(c, d));
	pthread_mutex_unlock(&uscst_config_lock);
	return list;
}

struct show {
	struct ctl_call *c;
	struct json_object *obj;
};

static void show_attr(void *arg, const char *name, const char *value)
{
	struct show *s = arg;
	jp_str(&s->c->failed, s->obj, name, value);
}

static void show_export(void *arg, const struct uscst_target *t, const struct uscst_group *g,
			const struct uscst_lun *l)
{
	struct show *s = arg;
	struct json_object *e = jp_append(&s->c->failed, s->obj, jp_object(&s->c->failed));
	jp_str(&s->c->failed, e, "target", t->name);
	jp_str(&s->c->failed, e, "group", g ? g->name : NULL);
	jp_u64(&s->c->failed, e, "lun", l->lun);
	jp_bool(&s->c->failed, e, "read_only", l->read_only);
}

static struct json_object *no_device(struct ctl_call *c, const char *name)
{
	return ctl_fail(c, "no device '%s' (see 'uscstadmin list devices')", name);
}

static struct json_object *do_show_device(struct ctl_call *c)
{
	const char *name = ctl_arg(c, "NAME");
	struct uscst_device *dev = uscst_device_find(name);
	if (!dev)
		return no_device(c, name);
	pthread_mutex_lock(&uscst_config_lock);
	struct json_object *o = device_row(c, dev);
	struct show s = {.c = c, .obj = jp_put(&c->failed, o, "attributes", jp_object(&c->failed))};
	uscst_device_show_attrs(dev, show_attr, &s);
	s.obj = jp_put(&c->failed, o, "exported_as", jp_array(&c->failed));
	foreach_export(dev, show_export, &s);
	pthread_mutex_unlock(&uscst_config_lock);
	pthread_mutex_lock(&dev->lock);
	bool prevent = dev->prevent_removal;
	pthread_mutex_unlock(&dev->lock);
	jp_bool(&c->failed, o, "prevent_removal", prevent);
	return o;
}

/* Verbs run one at a time on the control thread, and only verbs resize
 * devices, so nblocks read before and after the resync are exactly what
 * it changed. */
static struct json_object *do_resync_size(struct ctl_call *c)
{
	const char *name = ctl_arg(c, "NAME");
	struct uscst_device *dev = uscst_device_find(name);
	if (!dev)
		return no_device(c, name);
	char err[256] = "";
	uint64_t old = atomic_load_explicit(&dev->nblocks, memory_order_relaxed);
	if (uscst_device_resync_size(dev, err, sizeof(err)) < 0)
		return ctl_fail(c, "%s", err);
	uint64_t now = atomic_load_explicit(&dev->nblocks, memory_order_relaxed);
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "device", dev->name);
	jp_u64(&c->failed, r, "old_blocks", old);
	jp_u64(&c->failed, r, "blocks", now);
	jp_u64(&c->failed, r, "blocksize", dev->block_size);
	ctl_message(c, "ok: %s: %" PRIu64 " -> %" PRIu64 " blocks", dev->name, old, now);
	return r;
}

static struct json_object *do_set(struct ctl_call *c)
{
	const char *name = ctl_arg(c, "NAME"), *attr = ctl_arg(c, "ATTR");
	const char *value = ctl_arg(c, "VALUE");
	struct uscst_device *dev = uscst_device_find(name);
	if (!dev)
		return no_device(c, name);
	char err[512] = "";
	if (uscst_live_device_set(dev, attr, value, err, sizeof(err)) < 0)
		return ctl_fail(c, "%s", err);
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "device", dev->name);
	jp_str(&c->failed, r, "attribute", attr);
	jp_str(&c->failed, r, "value", value);
	ctl_message(c, "ok: %s: %s %s", dev->name, attr, value);
	return r;
}

const struct ctl_verb ctl_device_verbs[] = {
    {"list devices", do_list_devices, "devices: handler, size, block size, state, LUNs",
     CTL_READS_STATE},
    {"show device NAME", do_show_device, "one device: its attributes and where it is exported",
     CTL_READS_STATE},
    {"device NAME resync_size", do_resync_size,
     "take the new size of NAME's grown (or shrunk) file or block device; initiators get "
     "CAPACITY DATA HAS CHANGED, sessions stay up",
     CTL_CHANGES_STATE},
    {"device NAME set ATTR VALUE", do_set,
     "change a run-time attribute of NAME: read_only, write_through, t10_dev_id, size, "
     "size_mb, or a handler's (vcdrom/vtape: filename IMAGE|none loads or empties the "
     "drive; refused while an initiator prevents medium removal)",
     CTL_CHANGES_STATE},
    {NULL},
};
