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

#define HELP_INDENT 30 /* where the help text starts */
#define HELP_WIDTH 79  /* where lines end */

/* Writes text from column HELP_INDENT (the cursor at col), wrapped at
 * spaces before HELP_WIDTH. */
static void wrap_help(FILE *f, const char *text, int col)
{
	const char *p = text;
	while (*p) {
		for (; col < HELP_INDENT; col++)
			fputc(' ', f);
		size_t room = HELP_WIDTH - HELP_INDENT, len = strlen(p), cut = len;
		if (len > room) {
			cut = room;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = strcspn(p, " ");
		}
		fprintf(f, "%.*s\n", (int)cut, p);
		p += cut;
		p += strspn(p, " ");
		col = 0;
	}
}

/* "  PATTERN" then its help, wrapped, beside it when it fits, else below. */
static void help_entry(const struct ctl_verb *v, void *arg)
{
	struct help *h = arg;
	struct json_object *e = jp_append(&h->c->failed, h->list, jp_object(&h->c->failed));
	jp_str(&h->c->failed, e, "verb", v->pattern);
	jp_str(&h->c->failed, e, "help", v->help);
	jp_bool(&h->c->failed, e, "changes_state", v->changes_state);
	int col = fprintf(h->text, "  %s", v->pattern);
	if (col >= HELP_INDENT - 1) {
		fputc('\n', h->text);
		col = 0;
	}
	wrap_help(h->text, v->help, col);
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
