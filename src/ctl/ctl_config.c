/*
 * `config apply NAME [--dry-run]`: the text of a configuration file comes
 * as the request's input (ctl/ctl_protocol.h), not as a path: uscstadmin
 * reads the file with its user's rights, and the daemon, which may run as
 * another user (--user) that cannot read it, never opens a path a client
 * names.  NAME is the file's name, for "FILE:LINE" in messages.
 *
 * The result:
 *   {"file", "dry_run", "changes": [{"change": "add lun 3 disk2 to target T",
 *                                    "state": "planned" | "applied" | "undone"}],
 *    "applied" (changes in force), "undone"}
 * and for people one line per change, or "no changes".
 *
 * SIGHUP (ctl_config_reload) applies the file uscstd was started with in
 * the same way, logging each change.
 */
#include "ctl/ctl_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf_exec.h"
#include "ctl/ctl_verbs.h"
#include "lib/log.h"

static const char *const state_names[] = {
    [CONF_EXEC_PLANNED] = "planned",
    [CONF_EXEC_APPLIED] = "applied",
    [CONF_EXEC_UNDONE] = "undone",
};

struct apply_out {
	struct ctl_call *c;
	struct json_object *list;
	FILE *text;
};

static void emit_change(void *arg, enum conf_exec_event ev, const char *change)
{
	struct apply_out *o = arg;
	struct json_object *e = jp_append(&o->c->failed, o->list, jp_object(&o->c->failed));
	jp_str(&o->c->failed, e, "change", change);
	jp_str(&o->c->failed, e, "state", state_names[ev]);
	fprintf(o->text, "%s%s\n", ev == CONF_EXEC_UNDONE ? "undone: " : "", change);
	if (ev != CONF_EXEC_PLANNED)
		log_info("config apply: %s%s", ev == CONF_EXEC_UNDONE ? "undone: " : "", change);
}

static struct json_object *do_apply(struct ctl_call *c)
{
	const char *name = ctl_arg(c, "FILE");
	bool dry_run = ctl_flag(c, "--dry-run");
	if (!c->input)
		return ctl_fail(c, "no configuration text: send the file's text as the request's "
				   "input (uscstadmin config apply FILE does)");
	if (strlen(c->input) != c->input_len)
		return ctl_fail(c, "%s: the file holds a NUL byte; it is not a text file", name);
	char *text = NULL;
	size_t len = 0;
	struct apply_out o = {.c = c, .list = jp_array(&c->failed)};
	o.text = open_memstream(&text, &len);
	if (!o.text) {
		json_object_put(o.list);
		return ctl_fail(c, "out of memory");
	}
	struct conf_exec_result res;
	char err[CTL_ERROR_MAX - 64] = "";
	int rc = conf_exec_apply(&conf_exec_core_ops, c->input, name, dry_run, emit_change, &o,
				 &res, err, sizeof(err));
	fclose(o.text);
	if (rc < 0) {
		json_object_put(o.list);
		free(text);
		return ctl_fail(c, "%s", err);
	}
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "file", name);
	jp_bool(&c->failed, r, "dry_run", dry_run);
	jp_put(&c->failed, r, "changes", o.list);
	jp_u64(&c->failed, r, "applied", res.applied);
	jp_u64(&c->failed, r, "undone", res.undone);
	if (len && text[len - 1] == '\n')
		text[len - 1] = '\0';
	if (res.planned == 0)
		ctl_message(c, "no changes");
	else if (dry_run)
		ctl_message(c, "%s\n(dry run: %zu change%s, none made)", text, res.planned,
			    res.planned == 1 ? "" : "s");
	else
		ctl_message(c, "%s", text);
	free(text);
	return r;
}

/* ---- SIGHUP ---- */

static char *startup_file;

bool ctl_config_set_startup_file(const char *path)
{
	free(startup_file);
	startup_file = path ? strdup(path) : NULL;
	return !path || startup_file;
}

static void log_change(void *arg, enum conf_exec_event ev, const char *change)
{
	log_info("reload: %s%s", ev == CONF_EXEC_UNDONE ? "undone: " : "", change);
}

/* The file's text, at most CONF_MAX_FILE_SIZE bytes; NULL with a message. */
static char *read_text(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(CONF_MAX_FILE_SIZE + 1);
	size_t n = buf ? fread(buf, 1, CONF_MAX_FILE_SIZE + 1, f) : 0;
	bool bad = !buf || ferror(f) || n > CONF_MAX_FILE_SIZE || memchr(buf, '\0', n);
	if (bad)
		snprintf(err, errlen, "%s: %s", path,
			 !buf			  ? "out of memory"
			 : ferror(f)		  ? strerror(errno)
			 : n > CONF_MAX_FILE_SIZE ? "larger than 16 MiB"
						  : "holds a NUL byte");
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

void ctl_config_reload(void)
{
	if (!startup_file) {
		log_info("reload (SIGHUP): uscstd was started without -c; nothing to re-read");
		return;
	}
	log_info("reload (SIGHUP): applying %s", startup_file);
	char err[1024];
	char *text = read_text(startup_file, err, sizeof(err));
	if (!text) {
		log_err("reload: %s; nothing changed", err);
		return;
	}
	struct conf_exec_result res;
	if (conf_exec_apply(&conf_exec_core_ops, text, startup_file, false, log_change, NULL, &res,
			    err, sizeof(err)) < 0)
		log_err("reload: %s", err);
	else if (res.planned == 0)
		log_info("reload: %s: no changes", startup_file);
	else
		log_info("reload: %s: %zu change%s applied", startup_file, res.applied,
			 res.applied == 1 ? "" : "s");
	free(text);
}

const struct ctl_verb ctl_config_verbs[] = {
    {"config apply FILE [--dry-run]", do_apply,
     "bring the daemon to FILE's state (scst.conf format) by applying only the difference; "
     "each change is printed; --dry-run only lists them (uscstadmin sends the file's text)",
     CTL_CHANGES_STATE, true},
    {NULL},
};
