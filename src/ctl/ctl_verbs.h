/*
 * The verbs of the control socket: one table entry per verb, one file per
 * family of verbs (ctl_show.c, ctl_handlers.c, ctl_device.c, ctl_target.c,
 * ctl_session.c, ...).
 *
 * Adding a verb:
 *   1. In the family's file (or a new ctl_FAMILY.c), write the handler
 *          static struct json_object *do_thing(struct ctl_call *c)
 *      It reads its words with ctl_arg(c, "NAME"), ctl_flag(c, "--force")
 *      and ctl_arg_u64(c, "LUN", max, &lun), builds its result with
 *      lib/json_put.h (jp_*(&c->failed, ...)) and returns it, or returns
 *      ctl_fail(c, "what was wrong; what to do").  Field names are part of
 *      the interface (scripts read them with -j): snake_case, and a
 *      listing is an array of flat objects (nested ones are for `show`).
 *      c->json is set when the client wants data rather than text.
 *      ctl_message(c, ...) adds the line a person sees instead of the
 *      formatted result (for acknowledgements: "ok: ...").
 *   2. Add a line to the family's table, ended by {NULL}:
 *          {"thing NAME set ATTR VALUE [--force]", do_thing,
 *           "one line of help", CTL_CHANGES_STATE},
 *   3. A new family: declare its table below and add one line to
 *      families[] in ctl_verbs.c.  uscstadmin needs no change: it sends the words and
 *      formats whatever result comes back (src/admin/admin_format.c).
 *
 * Patterns: words separated by one space.  A lowercase word must be typed
 * as is; an UPPERCASE word (NAME, ATTR) takes any one word (which may hold
 * spaces, e.g. a quoted file name); optional words come last, in brackets:
 * [--flag] is a flag the user may give in any order after the required
 * words, [NAME] an optional argument.  The first pattern matching the
 * words wins, so a more specific pattern goes before a more general one.
 *
 * Every verb runs on the control thread, one at a time, never on a
 * reactor: a handler may take uscst_config_lock and may block briefly
 * (opening a file), and two state-changing verbs never interleave.  Verbs
 * that change state are logged at info level with their words.
 */
#ifndef USCST_CTL_CTL_VERBS_H
#define USCST_CTL_CTL_VERBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "ctl/ctl_protocol.h"
#include "lib/json_put.h"

#define CTL_MAX_ARGS 8	   /* UPPERCASE words and flags in one pattern */
#define CTL_ERROR_MAX 1024 /* bytes of an error message */

enum { CTL_READS_STATE = 0, CTL_CHANGES_STATE = 1 };

struct ctl_call;
typedef struct json_object *(*ctl_handler_fn)(struct ctl_call *c);

struct ctl_verb {
	const char *pattern; /* NULL ends a table */
	ctl_handler_fn handler;
	const char *help;
	bool changes_state;
	bool takes_input; /* reads c->input (others refuse one) */
};

/* One request being answered. */
struct ctl_call {
	const struct ctl_verb *verb;
	/* The pattern's UPPERCASE words and [--flags], in pattern order:
	 * name[i] is the pattern word (without brackets), value[i] the
	 * user's word, or NULL for an optional one not given. */
	const char *name[CTL_MAX_ARGS];
	const char *value[CTL_MAX_ARGS];
	unsigned nargs;
	bool json;		   /* the client wants data, not text (uscstadmin -j) */
	const char *input;	   /* the bytes after the request (ctl_protocol.h); NULL: none */
	size_t input_len;	   /* input is NUL-terminated at input[input_len] */
	bool failed;		   /* an allocation failed while building the result */
	char *message;		   /* ctl_message(); freed with the call */
	char error[CTL_ERROR_MAX]; /* ctl_fail(); "" when none */
};

/* The user's word for an UPPERCASE pattern word; NULL if an optional one
 * was not given (or the pattern has no such word). */
const char *ctl_arg(const struct ctl_call *c, const char *name);
/* The user's word for name as a decimal number in 0..max; false with the
 * error set ("NAME: expected a number in 0..MAX, got 'x'") if it is not
 * one, or was not given. */
bool ctl_arg_u64(struct ctl_call *c, const char *name, uint64_t max, uint64_t *out);
/* Whether the user gave the [--flag]. */
bool ctl_flag(const struct ctl_call *c, const char *flag);
/* Sets the error (printf format) and returns NULL, for `return ctl_fail(...)`. */
struct json_object *ctl_fail(struct ctl_call *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets the human answer (printf format; a later call replaces it). */
void ctl_message(struct ctl_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The families (each table ended by {NULL}). */
extern const struct ctl_verb ctl_show_verbs[];	  /* ctl_show.c: version, help, show config */
extern const struct ctl_verb ctl_handler_verbs[]; /* ctl_handlers.c: list/show handlers */
extern const struct ctl_verb ctl_device_verbs[];  /* ctl_device.c: devices */
extern const struct ctl_verb ctl_target_verbs[];  /* ctl_target.c: targets, groups, LUNs, portals */
extern const struct ctl_verb ctl_session_verbs[]; /* ctl_session.c: sessions, connections */
extern const struct ctl_verb ctl_stats_verbs[];	  /* ctl_stats.c: I/O statistics */
extern const struct ctl_verb ctl_live_verbs[];	  /* ctl_live.c: run-time changes */
extern const struct ctl_verb ctl_config_verbs[];  /* ctl_config.c: config apply */
extern const struct ctl_verb ctl_alua_verbs[];	  /* ctl_alua.c: ALUA states */
extern const struct ctl_verb ctl_redirect_verbs[]; /* ctl_redirect.c: login redirection */

/* Calls fn for every verb of every family, in table order. */
void ctl_verbs_foreach(void (*fn)(const struct ctl_verb *v, void *arg), void *arg);

/*
 * Runs the verb the words make and returns the answer object
 * ({"protocol", "ok", "result", "message"} or {"protocol", "ok", "error"},
 * ctl/ctl_protocol.h); NULL only on ENOMEM.  Words that make no verb get an
 * error naming the closest verbs' usage, or "unknown command".
 */
struct json_object *ctl_dispatch(const char *const *words, size_t nwords, bool json);
/* The same with the request's input bytes (NULL: none). */
struct json_object *ctl_dispatch_input(const char *const *words, size_t nwords, bool json,
				       const char *input, size_t input_len);

/* The answer object for an error (printf format); NULL on ENOMEM. */
struct json_object *ctl_error_answer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether pattern is well formed (tests; ctl_dispatch assumes it). */
bool ctl_pattern_valid(const char *pattern);

#endif
