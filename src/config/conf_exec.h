/*
 * `config apply`: brings the running configuration to a file's state by
 * applying only the difference (config/conf_diff.h), as `scstadmin -config`
 * does.
 *
 *   1. The text is parsed and validated (conf_validate): an error is
 *      "FILE:LINE: message" and nothing changes.
 *   2. It is compared with the running configuration (conf_running_tree);
 *      a change the daemon cannot make at run time is refused the same
 *      way, before anything is applied.
 *   3. The changes are applied in order, each reported (emit) as it is
 *      made.  If one fails, those already made are undone in reverse order
 *      (each undo reported too), so the daemon is left as it was; if an
 *      undo fails as well, the message says exactly which changes stay.
 *
 * Runs on the control thread (a verb, or SIGHUP's reload), one at a time.
 * How a change is applied is the caller's (struct conf_exec_ops): the
 * daemon's are the core's run-time functions (conf_exec_core_ops); unit
 * tests give their own, which can fail on purpose.
 */
#ifndef USCST_CONFIG_CONF_EXEC_H
#define USCST_CONFIG_CONF_EXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "config/conf_diff.h"

struct conf_exec_ops {
	/* Makes one change: 0, or -errno with a message naming the object. */
	int (*apply)(void *arg, const struct conf_change *c, char *err, size_t errlen);
	/* The running configuration as a tree (conf_running_tree); NULL on ENOMEM. */
	struct conf_tree *(*running)(void *arg);
	const struct conf_diff_policy *policy;
	void *arg;
};

enum conf_exec_event {
	CONF_EXEC_PLANNED, /* dry run: would be made */
	CONF_EXEC_APPLIED, /* made */
	CONF_EXEC_UNDONE,  /* made, then undone after a later failure */
};

typedef void (*conf_exec_emit_fn)(void *arg, enum conf_exec_event ev, const char *change);

struct conf_exec_result {
	size_t planned; /* changes in the difference */
	size_t applied; /* made and kept */
	size_t undone;	/* made and undone */
};

/* Parses text (named name in messages), compares, applies (unless
 * dry_run).  0 (result->planned 0: nothing to do), or -1 with the message
 * in err. */
int conf_exec_apply(const struct conf_exec_ops *ops, const char *text, const char *name,
		    bool dry_run, conf_exec_emit_fn emit, void *arg,
		    struct conf_exec_result *result, char *err, size_t errlen);

/* The daemon's: the core's tables (what changes at run time, defaults)
 * and its run-time functions (config/conf_exec_core.c). */
extern const struct conf_diff_policy conf_core_policy;
extern const struct conf_exec_ops conf_exec_core_ops;

#endif
