#include "config/conf_exec.h"

#include <stdio.h>
#include <string.h>

#include "config/conf_apply.h"
#include "lib/log.h"

/* Undoes changes[0..n) in reverse; the number undone (stops at the first
 * undo that fails, whose message goes to err). */
static size_t undo(const struct conf_exec_ops *ops, const struct conf_change *changes, size_t n,
		   conf_exec_emit_fn emit, void *arg, char *err, size_t errlen)
{
	size_t undone = 0;
	while (n--) {
		struct conf_change u = conf_change_undo(&changes[n]);
		char line[1024];
		conf_change_describe(&u, line, sizeof(line));
		if (ops->apply(ops->arg, &u, err, errlen) < 0)
			break;
		undone++;
		emit(arg, CONF_EXEC_UNDONE, line);
	}
	return undone;
}

/* changes[failed] failed with why; undoes the ones before and says what
 * the daemon is left with in err. */
static void roll_back(const struct conf_exec_ops *ops, const struct conf_diff *d, size_t failed,
		      const char *why, const char *name, conf_exec_emit_fn emit, void *arg,
		      struct conf_exec_result *result, char *err, size_t errlen)
{
	char what[1024], undo_err[512] = "";
	conf_change_describe(&d->changes[failed], what, sizeof(what));
	size_t undone = undo(ops, d->changes, failed, emit, arg, undo_err, sizeof(undo_err));
	result->undone = undone;
	result->applied = failed - undone;
	int line = d->changes[failed].line;
	if (undone == failed) {
		conf_error(err, errlen, name, line,
			   "%s: %s; nothing changed (%zu change%s made before it undone)", what,
			   why, undone, undone == 1 ? "" : "s");
		return;
	}
	char stays[1024];
	conf_change_describe(&d->changes[failed - undone - 1], stays, sizeof(stays));
	conf_error(err, errlen, name, line,
		   "%s: %s; undoing failed too (%s), so the first %zu change%s stay applied, up "
		   "to '%s'",
		   what, why, undo_err, result->applied, result->applied == 1 ? "" : "s", stays);
}

static int run(const struct conf_exec_ops *ops, const struct conf_diff *d, const char *name,
	       bool dry_run, conf_exec_emit_fn emit, void *arg, struct conf_exec_result *result,
	       char *err, size_t errlen)
{
	for (size_t i = 0; i < d->count; i++) {
		char line[1024];
		conf_change_describe(&d->changes[i], line, sizeof(line));
		if (dry_run) {
			emit(arg, CONF_EXEC_PLANNED, line);
			continue;
		}
		char why[512] = "";
		if (ops->apply(ops->arg, &d->changes[i], why, sizeof(why)) < 0) {
			roll_back(ops, d, i, why[0] ? why : "failed", name, emit, arg, result, err,
				  errlen);
			return -1;
		}
		result->applied++;
		emit(arg, CONF_EXEC_APPLIED, line);
	}
	return 0;
}

int conf_exec_apply(const struct conf_exec_ops *ops, const char *text, const char *name,
		    bool dry_run, conf_exec_emit_fn emit, void *arg,
		    struct conf_exec_result *result, char *err, size_t errlen)
{
	*result = (struct conf_exec_result){0};
	struct conf_tree *wanted = conf_parse_text(text, name, err, errlen);
	if (!wanted)
		return -1;
	if (conf_validate(wanted, err, errlen) < 0) {
		conf_tree_free(wanted);
		return -1;
	}
	struct conf_tree *current = ops->running(ops->arg);
	if (!current) {
		conf_error(err, errlen, name, 0, "out of memory reading the running configuration");
		conf_tree_free(wanted);
		return -1;
	}
	struct conf_diff d;
	int rc = conf_diff(current, wanted, ops->policy, &d, err, errlen);
	conf_tree_free(current);
	conf_tree_free(wanted);
	if (rc < 0)
		return -1;
	result->planned = d.count;
	rc = run(ops, &d, name, dry_run, emit, arg, result, err, errlen);
	conf_diff_free(&d);
	return rc;
}
