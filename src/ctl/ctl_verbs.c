/*
 * The verb registry: matches the words of a request against the families'
 * patterns (ctl/ctl_verbs.h) and wraps the handler's result in the answer.
 */
#include "ctl/ctl_verbs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

/* One line per family (ctl/ctl_verbs.h); `help` lists them in this order. */
static const struct ctl_verb *const families[] = {
    ctl_show_verbs,	/* ctl_show.c */
    ctl_handler_verbs,	/* ctl_handlers.c */
    ctl_device_verbs,	/* ctl_device.c */
    ctl_target_verbs,	/* ctl_target.c */
    ctl_session_verbs,	/* ctl_session.c */
    ctl_stats_verbs,	/* ctl_stats.c */
    ctl_live_verbs,	/* ctl_live.c */
    ctl_alua_verbs,	/* ctl_alua.c */
    ctl_config_verbs,	/* ctl_config.c */
    ctl_redirect_verbs, /* ctl_redirect.c */
};

void ctl_verbs_foreach(void (*fn)(const struct ctl_verb *v, void *arg), void *arg)
{
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
		for (const struct ctl_verb *v = families[f]; v->pattern; v++)
			fn(v, arg);
}

/* ---- patterns ---- */

#define MAX_TOKENS 16
#define TOKEN_MAX 64

enum token_kind { TOK_LITERAL, TOK_PARAM, TOK_OPT_FLAG, TOK_OPT_PARAM };

struct token {
	enum token_kind kind;
	char text[TOKEN_MAX]; /* without brackets */
};

static bool is_param_name(const char *s)
{
	if (!(*s >= 'A' && *s <= 'Z'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Splits pattern into tokens; -1 if malformed (see ctl_verbs.h). */
static int tokenize(const char *pattern, struct token *t)
{
	int n = 0;
	bool optional_seen = false;
	for (const char *p = pattern; *p;) {
		size_t len = strcspn(p, " ");
		if (len == 0 || len >= TOKEN_MAX || n == MAX_TOKENS)
			return -1;
		bool opt = p[0] == '[';
		if (opt && (len < 3 || p[len - 1] != ']'))
			return -1;
		const char *w = opt ? p + 1 : p;
		size_t wlen = opt ? len - 2 : len;
		memcpy(t[n].text, w, wlen);
		t[n].text[wlen] = '\0';
		if (opt) {
			bool flag = wlen > 2 && w[0] == '-' && w[1] == '-';
			if (!flag && !is_param_name(t[n].text))
				return -1;
			t[n].kind = flag ? TOK_OPT_FLAG : TOK_OPT_PARAM;
			optional_seen = true;
		} else {
			if (optional_seen || strchr(t[n].text, '[') || strchr(t[n].text, ']'))
				return -1;
			t[n].kind = is_param_name(t[n].text) ? TOK_PARAM : TOK_LITERAL;
		}
		n++;
		p += len;
		if (*p == ' ' && *++p == '\0')
			return -1;
	}
	if (n == 0 || t[0].kind != TOK_LITERAL)
		return -1;
	unsigned args = 0;
	for (int i = 0; i < n; i++)
		args += t[i].kind != TOK_LITERAL;
	return args <= CTL_MAX_ARGS ? n : -1;
}

bool ctl_pattern_valid(const char *pattern)
{
	return tokenize(pattern, (struct token[MAX_TOKENS]){}) > 0;
}

/* Fills c's arguments if words make v's pattern; name[] points into tok. */
static bool match(const struct ctl_verb *v, struct token *tok, const char *const *words, size_t n,
		  struct ctl_call *c)
{
	int ntok = tokenize(v->pattern, tok);
	if (ntok < 0)
		return false;
	size_t w = 0;
	c->nargs = 0;
	int t = 0;
	for (; t < ntok && (tok[t].kind == TOK_LITERAL || tok[t].kind == TOK_PARAM); t++) {
		if (w == n)
			return false;
		if (tok[t].kind == TOK_LITERAL) {
			if (strcmp(words[w], tok[t].text) != 0)
				return false;
		} else {
			if (!words[w][0])
				return false;
			c->name[c->nargs] = tok[t].text;
			c->value[c->nargs++] = words[w];
		}
		w++;
	}
	unsigned first_opt = c->nargs;
	for (int o = t; o < ntok; o++) {
		c->name[c->nargs] = tok[o].text;
		c->value[c->nargs++] = NULL;
	}
	/* The rest: flags in any order, optional arguments in order. */
	for (; w < n; w++) {
		bool taken = false;
		for (unsigned a = first_opt; a < c->nargs && !taken; a++) {
			bool flag = c->name[a][0] == '-';
			if (c->value[a] || (flag && strcmp(words[w], c->name[a]) != 0))
				continue;
			if (!flag && (!words[w][0] || words[w][0] == '-'))
				continue;
			c->value[a] = words[w];
			taken = true;
		}
		if (!taken)
			return false;
	}
	return true;
}

/* How many of v's literal words the words have at their places, up to the
 * first that differs: how close a mistyped command came to v. */
static unsigned closeness(const struct ctl_verb *v, const char *const *words, size_t n)
{
	struct token tok[MAX_TOKENS];
	int ntok = tokenize(v->pattern, tok);
	unsigned score = 0;
	for (int t = 0; t < ntok && (size_t)t < n; t++) {
		if (tok[t].kind == TOK_LITERAL) {
			if (strcmp(words[t], tok[t].text) != 0)
				break;
			score++;
		} else if (tok[t].kind != TOK_PARAM) {
			break;
		}
	}
	return score;
}

/* ---- calls ---- */

const char *ctl_arg(const struct ctl_call *c, const char *name)
{
	for (unsigned i = 0; i < c->nargs; i++)
		if (strcmp(c->name[i], name) == 0)
			return c->value[i];
	return NULL;
}

bool ctl_flag(const struct ctl_call *c, const char *flag) { return ctl_arg(c, flag) != NULL; }

bool ctl_arg_u64(struct ctl_call *c, const char *name, uint64_t max, uint64_t *out)
{
	const char *w = ctl_arg(c, name);
	char *end = NULL;
	errno = 0;
	unsigned long long v = w && *w >= '0' && *w <= '9' ? strtoull(w, &end, 10) : 0;
	if (!w || !end || *end || errno || v > max) {
		ctl_fail(c, "%s: expected a number in 0..%llu, got '%s'", name,
			 (unsigned long long)max, w ? w : "");
		return false;
	}
	*out = v;
	return true;
}

struct json_object *ctl_fail(struct ctl_call *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	if (!c->error[0])
		snprintf(c->error, sizeof(c->error), "failed");
	return NULL;
}

void ctl_message(struct ctl_call *c, const char *fmt, ...)
{
	free(c->message);
	c->message = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&c->message, fmt, ap) < 0) {
		c->message = NULL;
		c->failed = true;
	}
	va_end(ap);
}

/* ---- answers ---- */

static struct json_object *answer(bool ok)
{
	bool failed = false;
	struct json_object *a = jp_object(&failed);
	jp_u64(&failed, a, "protocol", CTL_PROTOCOL_VERSION);
	jp_bool(&failed, a, "ok", ok);
	if (failed) {
		json_object_put(a);
		return NULL;
	}
	return a;
}

struct json_object *ctl_error_answer(const char *fmt, ...)
{
	char msg[CTL_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct json_object *a = answer(false);
	bool failed = false;
	jp_str(&failed, a, "error", msg);
	if (failed) {
		json_object_put(a);
		return NULL;
	}
	return a;
}

/* The words as one line, for messages and the log (cut when long). */
static void join_words(const char *const *words, size_t n, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		int w = snprintf(buf + len, size - len, "%s%s", i ? " " : "", words[i]);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

struct near_verbs {
	const char *const *words;
	size_t n;
	unsigned best;
	char usage[CTL_ERROR_MAX / 2];
	unsigned listed;
};

#define NEAR_MAX 12

static void collect_near(const struct ctl_verb *v, void *arg)
{
	struct near_verbs *nv = arg;
	unsigned s = closeness(v, nv->words, nv->n);
	if (s == 0 || s < nv->best)
		return;
	if (s > nv->best) {
		nv->best = s;
		nv->usage[0] = '\0';
		nv->listed = 0;
	}
	if (nv->listed++ >= NEAR_MAX)
		return;
	size_t len = strlen(nv->usage);
	snprintf(nv->usage + len, sizeof(nv->usage) - len, "%s%s", len ? "; " : "", v->pattern);
}

/* The words make no verb: a usage error ("usage": true in the answer, so
 * that uscstadmin exits 2 as for its own usage errors). */
static struct json_object *no_such_verb(const char *const *words, size_t n)
{
	char line[256];
	join_words(words, n, line, sizeof(line));
	struct near_verbs nv = {.words = words, .n = n};
	ctl_verbs_foreach(collect_near, &nv);
	struct json_object *a;
	if (n == 0)
		a = ctl_error_answer("empty command (try 'help')");
	else if (nv.best == 0)
		a = ctl_error_answer("unknown command '%s' (try 'help')", line);
	else
		a = ctl_error_answer("unknown command '%s'; usage: %s%s (try 'help')", line,
				     nv.usage, nv.listed > NEAR_MAX ? "; ..." : "");
	bool failed = false;
	jp_bool(&failed, a, "usage", true);
	if (failed) {
		json_object_put(a);
		return NULL;
	}
	return a;
}

struct finder {
	const char *const *words;
	size_t n;
	struct ctl_call *c;
	struct token tok[MAX_TOKENS]; /* the matched pattern's, c->name points here */
	const struct ctl_verb *found;
};

static void find_verb(const struct ctl_verb *v, void *arg)
{
	struct finder *f = arg;
	if (!f->found && match(v, f->tok, f->words, f->n, f->c))
		f->found = v;
}

static struct json_object *run(struct ctl_call *c, const char *line)
{
	if (c->verb->changes_state)
		log_info("ctl: %s", line);
	else
		log_debug("ctl: %s", line);
	struct json_object *result = c->verb->handler(c);
	if (c->failed) {
		json_object_put(result);
		return ctl_error_answer("out of memory while answering '%s'; try again", line);
	}
	if (!result) {
		if (c->verb->changes_state)
			log_info("ctl: %s: %s", line, c->error);
		return ctl_error_answer("%s", c->error[0] ? c->error : "failed");
	}
	struct json_object *a = answer(true);
	bool failed = false;
	jp_put(&failed, a, "result", result);
	if (c->message)
		jp_str(&failed, a, "message", c->message);
	if (failed) {
		json_object_put(a);
		return NULL;
	}
	return a;
}

struct json_object *ctl_dispatch(const char *const *words, size_t nwords, bool json)
{
	return ctl_dispatch_input(words, nwords, json, NULL, 0);
}

struct json_object *ctl_dispatch_input(const char *const *words, size_t nwords, bool json,
				       const char *input, size_t input_len)
{
	struct ctl_call c = {.json = json, .input = input, .input_len = input_len};
	struct finder f = {.words = words, .n = nwords, .c = &c};
	ctl_verbs_foreach(find_verb, &f);
	if (!f.found)
		return no_such_verb(words, nwords);
	c.verb = f.found;
	if (input && !c.verb->takes_input)
		return ctl_error_answer("'%s' takes no input, yet the request has \"input_bytes\"",
					c.verb->pattern);
	char line[512];
	join_words(words, nwords, line, sizeof(line));
	struct json_object *a = run(&c, line);
	free(c.message);
	return a;
}
