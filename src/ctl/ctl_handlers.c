/*
 * `show handlers`: one line per device attribute, the core's first, then
 * each registered handler's, all read from the attribute tables (so the
 * listing cannot drift from what a DEVICE block accepts):
 *   ATTRIBUTE  TYPE [min..max]  default VALUE|-  [runtime] [not supported yet]
 */
#include "ctl/ctl_handlers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/backends.h"
#include "core/device_attrs.h"
#include "core/handler_plugin.h"

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

static void list_table(FILE *f, const struct uscst_attr_def *table)
{
	for (const struct uscst_attr_def *d = table; d && d->name; d++) {
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

char *ctl_handlers_text(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	fputs("device attributes of every handler:\n", f);
	list_table(f, uscst_core_device_attrs);
	for (const struct uscst_backend_ops *o = uscst_backend_next(NULL); o;
	     o = uscst_backend_next(o)) {
		const char *plugin = uscst_handler_plugin_path(o->name);
		if (plugin)
			fprintf(f, "HANDLER %s (plugin %s):\n", o->name, plugin);
		else
			fprintf(f, "HANDLER %s:\n", o->name);
		if (!o->dev_attrs || !o->dev_attrs->name)
			fputs("  (no attributes of its own)\n", f);
		list_table(f, o->dev_attrs);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
