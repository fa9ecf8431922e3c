/*
 * Handlers (device backends): `list handlers`, one row per registered
 * handler, and `show handlers`, every device attribute from the tables
 * (the core's, then each handler's), so the listing cannot drift from what
 * a DEVICE block accepts.  The human form of `show handlers`:
 *   ATTRIBUTE  TYPE [min..max]  default VALUE|-  [runtime] [not supported yet]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/backends.h"
#include "core/core.h"
#include "core/device_attrs.h"
#include "core/handler_plugin.h"
#include "ctl/ctl_verbs.h"

static const char *type_name(enum uscst_attr_type t)
{
	switch (t) {
	case USCST_ATTR_BOOL:
		return "0|1";
	case USCST_ATTR_UINT:
		return "number";
	case USCST_ATTR_YESNO:
		return "Yes|No";
	case USCST_ATTR_LIST:
		return "list";
	case USCST_ATTR_STRING:
		return "text";
	}
	return "?";
}

struct count {
	const struct uscst_backend_ops *ops;
	uint64_t n;
};

static void count_device(struct uscst_device *dev, void *arg)
{
	struct count *c = arg;
	c->n += dev->backend == c->ops;
}

static struct json_object *do_list_handlers(struct ctl_call *c)
{
	struct json_object *list = jp_array(&c->failed);
	for (const struct uscst_backend_ops *o = uscst_backend_next(NULL); o;
	     o = uscst_backend_next(o)) {
		struct count n = {.ops = o};
		uscst_device_foreach(count_device, &n);
		uint64_t nattrs = 0;
		for (const struct uscst_attr_def *d = o->dev_attrs; d && d->name; d++)
			nattrs++;
		struct json_object *h = jp_append(&c->failed, list, jp_object(&c->failed));
		jp_str(&c->failed, h, "name", o->name);
		jp_str(&c->failed, h, "command_set", o->cmdset ? o->cmdset : "sbc");
		jp_str(&c->failed, h, "io", o->exec_cmd && !o->submit ? "pass-through" : "block");
		jp_u64(&c->failed, h, "devices", n.n);
		jp_u64(&c->failed, h, "attributes", nattrs);
		jp_str(&c->failed, h, "plugin", uscst_handler_plugin_path(o->name));
	}
	return list;
}

/* Appends table's attributes to list (JSON) and to f (text), as handler's. */
static void show_table(struct ctl_call *c, struct json_object *list, FILE *f, const char *handler,
		       const struct uscst_attr_def *table)
{
	for (const struct uscst_attr_def *d = table; d && d->name; d++) {
		struct json_object *a = jp_append(&c->failed, list, jp_object(&c->failed));
		jp_str(&c->failed, a, "handler", handler);
		jp_str(&c->failed, a, "attribute", d->name);
		jp_str(&c->failed, a, "type", type_name(d->type));
		if (d->type == USCST_ATTR_UINT) {
			jp_u64(&c->failed, a, "min", d->min);
			jp_u64(&c->failed, a, "max", d->max);
		}
		jp_str(&c->failed, a, "default", d->def);
		jp_bool(&c->failed, a, "runtime", d->flags & USCST_ATTR_RUNTIME);
		jp_bool(&c->failed, a, "supported", !(d->flags & USCST_ATTR_NOT_BUILT));

		fprintf(f, "  %-18s %s", d->name, type_name(d->type));
		if (d->type == USCST_ATTR_UINT)
			fprintf(f, " %" PRIu64 "..%" PRIu64, d->min, d->max);
		fprintf(f, "  default %s", d->def ? d->def : "-");
		if (d->flags & USCST_ATTR_RUNTIME)
			fputs("  runtime", f);
		if (d->flags & USCST_ATTR_NOT_BUILT)
			fputs("  (not supported yet)", f);
		fputc('\n', f);
	}
}

/* Result: [{"handler" ("*" for every device's), "attribute", "type",
 * "min", "max" (numbers only), "default", "runtime", "supported"}]. */
static struct json_object *do_show_handlers(struct ctl_call *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return ctl_fail(c, "out of memory");
	struct json_object *list = jp_array(&c->failed);
	fputs("device attributes of every handler:\n", f);
	show_table(c, list, f, "*", uscst_core_device_attrs);
	for (const struct uscst_backend_ops *o = uscst_backend_next(NULL); o;
	     o = uscst_backend_next(o)) {
		const char *plugin = uscst_handler_plugin_path(o->name);
		if (plugin)
			fprintf(f, "HANDLER %s (plugin %s):\n", o->name, plugin);
		else
			fprintf(f, "HANDLER %s:\n", o->name);
		if (!o->dev_attrs || !o->dev_attrs->name)
			fputs("  (no attributes of its own)\n", f);
		show_table(c, list, f, o->name, o->dev_attrs);
	}
	if (fclose(f) != 0) {
		c->failed = true;
	} else {
		if (len && text[len - 1] == '\n')
			text[len - 1] = '\0';
		ctl_message(c, "%s", text);
	}
	free(text);
	return list;
}

const struct ctl_verb ctl_handler_verbs[] = {
    {"list handlers", do_list_handlers,
     "device handlers: command set, devices, attributes of their own", CTL_READS_STATE},
    {"show handlers", do_show_handlers,
     "device attributes every device and each handler accepts, with types and defaults",
     CTL_READS_STATE},
    {NULL},
};
