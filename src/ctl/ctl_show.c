/* Verbs about the daemon itself: version, help, show config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf_writer.h"
#include "ctl/ctl_verbs.h"

static struct json_object *do_version(struct ctl_call *c)
{
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "version", USCST_VERSION);
	jp_u64(&c->failed, r, "protocol", CTL_PROTOCOL_VERSION);
	ctl_message(c, "uscstd " USCST_VERSION);
	return r;
}

struct help {
	struct ctl_call *c;
	struct json_object *list;
	FILE *text;
};

/* "  PATTERN" then the help on the same line when it fits, else below. */
static void help_entry(const struct ctl_verb *v, void *arg)
{
	struct help *h = arg;
	struct json_object *e = jp_append(&h->c->failed, h->list, jp_object(&h->c->failed));
	jp_str(&h->c->failed, e, "verb", v->pattern);
	jp_str(&h->c->failed, e, "help", v->help);
	jp_bool(&h->c->failed, e, "changes_state", v->changes_state);
	if (strlen(v->pattern) < 30)
		fprintf(h->text, "  %-30s %s\n", v->pattern, v->help);
	else
		fprintf(h->text, "  %s\n  %-30s %s\n", v->pattern, "", v->help);
}

static struct json_object *do_help(struct ctl_call *c)
{
	char *text = NULL;
	size_t len = 0;
	struct help h = {.c = c, .list = jp_array(&c->failed)};
	h.text = open_memstream(&text, &len);
	if (!h.text) {
		json_object_put(h.list);
		return ctl_fail(c, "out of memory");
	}
	fputs("commands (UPPERCASE: a value; [optional]):\n", h.text);
	ctl_verbs_foreach(help_entry, &h);
	if (fclose(h.text) != 0)
		c->failed = true;
	else if (len && text[len - 1] == '\n')
		text[len - 1] = '\0';
	if (text)
		ctl_message(c, "%s", text);
	free(text);
	return h.list;
}

/* The scst.conf text, or with --json (or uscstadmin -j) the same objects
 * as JSON (config/conf_writer.h). */
static struct json_object *do_show_config(struct ctl_call *c)
{
	if (c->json || ctl_flag(c, "--json")) {
		struct json_object *r = conf_running_json_object();
		return r ? r : ctl_fail(c, "out of memory writing the configuration");
	}
	char *text = conf_running_text();
	if (!text)
		return ctl_fail(c, "out of memory writing the configuration");
	struct json_object *r = json_object_new_string(text);
	free(text);
	if (!r)
		c->failed = true;
	return r;
}

const struct ctl_verb ctl_show_verbs[] = {
    {"version", do_version, "the daemon's version and protocol", CTL_READS_STATE},
    {"help", do_help, "this list", CTL_READS_STATE},
    {"show config [--json]", do_show_config,
     "the running configuration in scst.conf format (JSON with --json or -j)", CTL_READS_STATE},
    {NULL},
};
