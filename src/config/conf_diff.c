#include "config/conf_diff.h"
#include "config/conf_alua.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building the list ---- */

struct builder {
	struct conf_diff *d;
	const struct conf_tree *wanted;
	const struct conf_diff_policy *policy;
	char *err;
	size_t errlen;
	int failed; /* 0, or -1 once an error is in err */
};

static void oom(struct builder *b)
{
	if (!b->failed)
		conf_error(b->err, b->errlen, b->wanted->file, 0, "out of memory comparing");
	b->failed = -1;
}

static bool grow(void **array, size_t count, size_t elem)
{
	bool full = count == 0 || (count >= 8 && (count & (count - 1)) == 0);
	if (!full)
		return true;
	void *p = realloc(*array, (count ? count * 2 : 8) * elem);
	if (!p)
		return false;
	*array = p;
	return true;
}

/* A copy owned by the diff; NULL stays NULL. */
static const char *keep(struct builder *b, const char *s)
{
	if (!s || b->failed)
		return NULL;
	char *copy = strdup(s);
	if (!copy || !grow((void **)&b->d->strings, b->d->nstrings, sizeof(char *))) {
		free(copy);
		oom(b);
		return NULL;
	}
	b->d->strings[b->d->nstrings++] = copy;
	return copy;
}

static struct conf_change *add(struct builder *b, enum conf_change_kind kind, int line)
{
	if (b->failed)
		return NULL;
	if (!grow((void **)&b->d->changes, b->d->count, sizeof(struct conf_change))) {
		oom(b);
		return NULL;
	}
	struct conf_change *c = &b->d->changes[b->d->count++];
	*c = (struct conf_change){.kind = kind, .line = line};
	return c;
}

static void refuse(struct builder *b, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(struct builder *b, int line, const char *fmt, ...)
{
	if (b->failed)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_error(b->err, b->errlen, b->wanted->file, line, "%s", msg);
	b->failed = -1;
}

static bool is(const struct conf_node *n, const char *keyword)
{
	return n->keyword && strcmp(n->keyword, keyword) == 0;
}

static bool same(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* ---- devices ---- */

/* The DEVICE node called name under any HANDLER of tree, with its handler. */
static const struct conf_node *find_device(const struct conf_tree *tree, const char *name,
					   const struct conf_node **handler)
{
	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *h = tree->root.children[i];
		if (!is(h, "HANDLER"))
			continue;
		const struct conf_node *d = conf_node_child(h, "DEVICE", name);
		if (d) {
			*handler = h;
			return d;
		}
	}
	return NULL;
}

/* "NAME=VALUE" for each attribute of d, in file order, owned by the diff. */
static void keep_device_attrs(struct builder *b, struct conf_change *c, const struct conf_node *d)
{
	if (!c || !d->nattrs)
		return;
	c->attrs = calloc(d->nattrs, sizeof(char *));
	if (!c->attrs) {
		oom(b);
		return;
	}
	for (size_t i = 0; i < d->nattrs && !b->failed; i++) {
		char *s;
		if (asprintf(&s, "%s=%s", d->attrs[i].name, d->attrs[i].value) < 0) {
			oom(b);
			return;
		}
		const char *k = keep(b, s);
		free(s);
		c->attrs[c->nattrs++] = (char *)k;
	}
}

/* size_mb N is SCST's other spelling of size N MiB (the running
 * configuration writes size): both are compared as size. */
static const char *canonical(const char *attr)
{
	return strcmp(attr, "size_mb") == 0 ? "size" : attr;
}

static const char *effective(struct builder *b, const char *handler, const struct conf_node *d,
			     const char *attr)
{
	const char *v = conf_node_attr(d, attr);
	const char *mb = strcmp(attr, "size") == 0 ? conf_node_attr(d, "size_mb") : NULL;
	if (!v && mb) {
		/* The parser keeps the text; a size_mb that is no number
		 * compares unequal and the core refuses it when set. */
		char bytes[32];
		char *end;
		unsigned long long n = strtoull(mb, &end, 10);
		if (*mb && !*end && n <= UINT64_MAX / 1048576) {
			snprintf(bytes, sizeof(bytes), "%llu", n * 1048576);
			return keep(b, bytes);
		}
		return mb;
	}
	if (v || !b->policy->device_attr_default)
		return v;
	return b->policy->device_attr_default(b->policy->arg, handler, attr);
}

static void diff_device_attr(struct builder *b, const char *handler, const struct conf_node *cur,
			     const struct conf_node *want, const char *attr)
{
	const char *old = effective(b, handler, cur, attr);
	const char *now = effective(b, handler, want, attr);
	if (same(old, now))
		return;
	int line = want->line;
	for (size_t i = 0; i < want->nattrs; i++)
		if (strcmp(canonical(want->attrs[i].name), attr) == 0)
			line = want->attrs[i].line;
	/* Left out of the file and without a default (a fileio device's
	 * size, learnt from its file): whatever is in force stays. */
	if (!now)
		return;
	if (b->policy->device_attr(b->policy->arg, handler, attr) != CONF_ATTR_RUNTIME) {
		refuse(b, line,
		       "device %s: attribute %s cannot change while the device runs ('%s' -> "
		       "'%s'); remove the device and add it again, or restart",
		       want->args[0], attr, old ? old : "", now);
		return;
	}
	struct conf_change *c = add(b, CONF_DEVICE_SET, line);
	if (!c)
		return;
	c->name = keep(b, want->args[0]);
	c->handler = keep(b, handler);
	c->attr = keep(b, attr);
	c->value = keep(b, now);
	c->old_value = keep(b, old);
}

static bool named_before(const struct conf_node *n, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(n->attrs[j].name, n->attrs[i].name) == 0)
			return true;
	return false;
}

static void diff_device(struct builder *b, const struct conf_node *cur_h,
			const struct conf_node *cur, const struct conf_node *want_h,
			const struct conf_node *want)
{
	const char *handler = want_h->args[0];
	if (strcmp(cur_h->args[0], handler) != 0) {
		refuse(b, want->line,
		       "device %s: its handler cannot change while it runs (%s -> %s); remove "
		       "the device and add it again",
		       want->args[0], cur_h->args[0], handler);
		return;
	}
	/* Each name once, in the wanted file's order, then those only the
	 * running device has. */
	for (size_t i = 0; i < want->nattrs && !b->failed; i++)
		if (!named_before(want, i))
			diff_device_attr(b, handler, cur, want, canonical(want->attrs[i].name));
	for (size_t i = 0; i < cur->nattrs && !b->failed; i++) {
		const char *attr = canonical(cur->attrs[i].name);
		if (!named_before(cur, i) && !conf_node_attr(want, attr) &&
		    !(strcmp(attr, "size") == 0 && conf_node_attr(want, "size_mb")))
			diff_device_attr(b, handler, cur, want, attr);
	}
}

static void diff_devices(struct builder *b, const struct conf_tree *current)
{
	const struct conf_tree *wanted = b->wanted;
	for (size_t i = 0; i < current->root.nchildren; i++) {
		const struct conf_node *h = current->root.children[i];
		for (size_t j = 0; is(h, "HANDLER") && j < h->nchildren; j++) {
			const struct conf_node *d = h->children[j], *wh;
			if (!is(d, "DEVICE") || find_device(wanted, d->args[0], &wh))
				continue;
			struct conf_change *c = add(b, CONF_DEVICE_REMOVE, 0);
			if (!c)
				return;
			c->name = keep(b, d->args[0]);
			c->handler = keep(b, h->args[0]);
			keep_device_attrs(b, c, d);
		}
	}
	for (size_t i = 0; i < wanted->root.nchildren; i++) {
		const struct conf_node *h = wanted->root.children[i];
		for (size_t j = 0; is(h, "HANDLER") && j < h->nchildren; j++) {
			const struct conf_node *d = h->children[j], *ch;
			if (!is(d, "DEVICE"))
				continue;
			const struct conf_node *cd = find_device(current, d->args[0], &ch);
			if (cd) {
				diff_device(b, ch, cd, h, d);
				continue;
			}
			struct conf_change *c = add(b, CONF_DEVICE_ADD, d->line);
			if (!c)
				return;
			c->name = keep(b, d->args[0]);
			c->handler = keep(b, h->args[0]);
			keep_device_attrs(b, c, d);
		}
	}
}

/* ---- LUN maps ---- */

struct where {
	const char *driver, *target, *group;
};

static void set_where(struct builder *b, struct conf_change *c, const struct where *w)
{
	if (!c)
		return;
	c->driver = keep(b, w->driver);
	c->target = keep(b, w->target);
	c->group = keep(b, w->group);
}

static bool lun_ro(const struct conf_node *l)
{
	const char *ro = conf_node_attr(l, "read_only");
	return ro && strcmp(ro, "1") == 0;
}

/* The validated trees spell LUN numbers in decimal; "007" and "7" are one LUN. */
static uint64_t lun_number(const struct conf_node *l) { return strtoull(l->args[0], NULL, 10); }

static const struct conf_node *find_lun(const struct conf_node *map, uint64_t n)
{
	for (size_t i = 0; map && i < map->nchildren; i++)
		if (is(map->children[i], "LUN") && lun_number(map->children[i]) == n)
			return map->children[i];
	return NULL;
}

static void lun_change(struct builder *b, enum conf_change_kind kind, const struct where *w,
		       const struct conf_node *l, int line)
{
	struct conf_change *c = add(b, kind, line);
	set_where(b, c, w);
	if (!c)
		return;
	c->lun = lun_number(l);
	c->device = keep(b, l->args[1]);
	c->read_only = lun_ro(l);
}

/* The LUN children of cur and want (either may be NULL: a map that goes or
 * comes with its group or target). */
static void diff_luns(struct builder *b, const struct where *w, const struct conf_node *cur,
		      const struct conf_node *want)
{
	for (size_t i = 0; cur && i < cur->nchildren; i++) {
		const struct conf_node *l = cur->children[i];
		if (!is(l, "LUN"))
			continue;
		const struct conf_node *wl = find_lun(want, lun_number(l));
		if (!wl || strcmp(wl->args[1], l->args[1]) != 0 || lun_ro(wl) != lun_ro(l))
			lun_change(b, CONF_LUN_REMOVE, w, l, 0);
	}
	for (size_t i = 0; want && i < want->nchildren; i++) {
		const struct conf_node *l = want->children[i];
		if (!is(l, "LUN"))
			continue;
		const struct conf_node *cl = find_lun(cur, lun_number(l));
		if (!cl || strcmp(cl->args[1], l->args[1]) != 0 || lun_ro(cl) != lun_ro(l))
			lun_change(b, CONF_LUN_ADD, w, l, l->line);
	}
}

static void initiator_change(struct builder *b, enum conf_change_kind kind, const struct where *w,
			     const struct conf_node *in)
{
	struct conf_change *c = add(b, kind, kind == CONF_INITIATOR_ADD ? in->line : 0);
	set_where(b, c, w);
	if (c)
		c->name = keep(b, in->args[0]);
}

static void diff_initiators(struct builder *b, const struct where *w, const struct conf_node *cur,
			    const struct conf_node *want)
{
	for (size_t i = 0; cur && i < cur->nchildren; i++)
		if (is(cur->children[i], "INITIATOR") &&
		    !(want && conf_node_child(want, "INITIATOR", cur->children[i]->args[0])))
			initiator_change(b, CONF_INITIATOR_REMOVE, w, cur->children[i]);
	for (size_t i = 0; want && i < want->nchildren; i++)
		if (is(want->children[i], "INITIATOR") &&
		    !(cur && conf_node_child(cur, "INITIATOR", want->children[i]->args[0])))
			initiator_change(b, CONF_INITIATOR_ADD, w, want->children[i]);
}

static void diff_groups(struct builder *b, const char *driver, const char *target,
			const struct conf_node *cur, const struct conf_node *want)
{
	for (size_t i = 0; cur && i < cur->nchildren; i++) {
		const struct conf_node *g = cur->children[i];
		if (!is(g, "GROUP"))
			continue;
		const struct conf_node *wg =
		    want ? conf_node_child(want, "GROUP", g->args[0]) : NULL;
		struct where w = {driver, target, g->args[0]};
		diff_luns(b, &w, g, wg);
		diff_initiators(b, &w, g, wg);
		if (!wg)
			set_where(b, add(b, CONF_GROUP_REMOVE, 0), &w);
	}
	for (size_t i = 0; want && i < want->nchildren; i++) {
		const struct conf_node *g = want->children[i];
		if (!is(g, "GROUP") || (cur && conf_node_child(cur, "GROUP", g->args[0])))
			continue;
		struct where w = {driver, target, g->args[0]};
		set_where(b, add(b, CONF_GROUP_ADD, g->line), &w);
		diff_luns(b, &w, NULL, g);
		diff_initiators(b, &w, NULL, g);
	}
}

/* ---- targets ---- */

static bool is_chap(const char *attr, bool *incoming)
{
	*incoming = strcmp(attr, "IncomingUser") == 0;
	return *incoming || strcmp(attr, "OutgoingUser") == 0;
}

/* "user secret" -> user (first word) in buf; the secret after it, or "". */
static const char *chap_split(const char *value, char *user, size_t len)
{
	size_t n = strcspn(value, " \t");
	snprintf(user, len, "%.*s", (int)n, value);
	value += n;
	return value + strspn(value, " \t");
}

/* The secret of user in t's accounts of one kind, or NULL. */
static const char *chap_find(const struct conf_node *t, const char *attr, const char *user)
{
	for (size_t i = 0; t && i < t->nattrs; i++) {
		char u[CONF_MAX_NAME];
		if (strcmp(t->attrs[i].name, attr) != 0)
			continue;
		const char *secret = chap_split(t->attrs[i].value, u, sizeof(u));
		if (strcmp(u, user) == 0)
			return secret;
	}
	return NULL;
}

static void diff_chap(struct builder *b, const struct where *w, const struct conf_node *cur,
		      const struct conf_node *want)
{
	for (size_t i = 0; cur && i < cur->nattrs; i++) {
		bool incoming;
		const struct conf_attr *a = &cur->attrs[i];
		char user[CONF_MAX_NAME];
		if (!is_chap(a->name, &incoming))
			continue;
		const char *secret = chap_split(a->value, user, sizeof(user));
		if (chap_find(want, a->name, user))
			continue;
		struct conf_change *c = add(b, CONF_CHAP_REMOVE, 0);
		set_where(b, c, w);
		if (!c)
			return;
		c->incoming = incoming;
		c->name = keep(b, user);
		c->old_value = keep(b, secret);
	}
	for (size_t i = 0; want && i < want->nattrs; i++) {
		bool incoming;
		const struct conf_attr *a = &want->attrs[i];
		char user[CONF_MAX_NAME];
		if (!is_chap(a->name, &incoming))
			continue;
		const char *secret = chap_split(a->value, user, sizeof(user));
		const char *old = chap_find(cur, a->name, user);
		if (same(old, secret))
			continue;
		struct conf_change *c = add(b, CONF_CHAP_ADD, a->line);
		set_where(b, c, w);
		if (!c)
			return;
		c->incoming = incoming;
		c->name = keep(b, user);
		c->value = keep(b, secret);
		c->old_value = keep(b, old);
	}
}

/* A target the file does not say `enabled` of is enabled (the core's
 * default, as at start-up). */
static bool target_enabled(const struct conf_node *t)
{
	if (!t)
		return false;
	const char *e = conf_node_attr(t, "enabled");
	return !e || strcmp(e, "1") == 0;
}

/* All values of attr in n, in order, joined by newlines (to compare a
 * repeated attribute as a whole); "" if none. */
static char *values_of(const struct conf_node *n, const char *attr)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; n && i < n->nattrs; i++)
		if (strcmp(n->attrs[i].name, attr) == 0)
			fprintf(f, "%s\n", n->attrs[i].value);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Target attributes other than enabled and CHAP accounts: set when the
 * target is created only. */
static void check_fixed_attr(struct builder *b, const struct conf_node *cur,
			     const struct conf_node *want, const char *attr, int line)
{
	bool incoming;
	if (strcmp(attr, "enabled") == 0 || is_chap(attr, &incoming))
		return;
	char *old = values_of(cur, attr), *now = values_of(want, attr);
	if (!old || !now)
		oom(b);
	else if (strcmp(old, now) != 0)
		refuse(b, line,
		       "target %s: attribute %s cannot change while the target exists; remove "
		       "the target and add it again",
		       want->args[0], attr);
	free(old);
	free(now);
}

static void check_target_attrs(struct builder *b, const struct conf_node *cur,
			       const struct conf_node *want)
{
	/* Only those the file names: one it leaves out keeps its value
	 * (rel_tgt_id is given one when the target is made). */
	for (size_t i = 0; i < want->nattrs && !b->failed; i++)
		check_fixed_attr(b, cur, want, want->attrs[i].name, want->attrs[i].line);
}

/* A target that exists in current (cur) and/or wanted (want). */
static void diff_target(struct builder *b, const char *driver, const struct conf_node *cur,
			const struct conf_node *want)
{
	const char *name = (want ? want : cur)->args[0];
	struct where w = {driver, name, NULL};
	if (cur && want)
		check_target_attrs(b, cur, want);
	if (!want || (cur && target_enabled(cur) && !target_enabled(want)))
		set_where(b, add(b, CONF_TARGET_DISABLE, want ? want->line : 0), &w);
	if (!cur)
		set_where(b, add(b, CONF_TARGET_ADD, want->line), &w);
	diff_luns(b, &w, cur, want);
	diff_groups(b, driver, name, cur, want);
	diff_chap(b, &w, cur, want);
	if (!want) {
		struct conf_change *c = add(b, CONF_TARGET_REMOVE, 0);
		set_where(b, c, &w);
		if (c)
			c->was_enabled = target_enabled(cur);
	}
	if (want && target_enabled(want) && !(cur && target_enabled(cur)))
		set_where(b, add(b, CONF_TARGET_ENABLE, want->line), &w);
}

/* The TARGET called name under any TARGET_DRIVER of tree, with its driver. */
static const struct conf_node *find_target(const struct conf_tree *tree, const char *name,
					   const struct conf_node **driver)
{
	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *drv = tree->root.children[i];
		const struct conf_node *t =
		    is(drv, "TARGET_DRIVER") ? conf_node_child(drv, "TARGET", name) : NULL;
		if (t) {
			*driver = drv;
			return t;
		}
	}
	return NULL;
}

static void portal_change(struct builder *b, enum conf_change_kind kind, const char *driver,
			  const struct conf_attr *a)
{
	struct conf_change *c = add(b, kind, kind == CONF_PORTAL_ADD ? a->line : 0);
	if (!c)
		return;
	c->driver = keep(b, driver);
	c->name = keep(b, a->value);
}

static bool has_value(const struct conf_node *n, const char *attr, const char *value)
{
	for (size_t i = 0; i < n->nattrs; i++)
		if (strcmp(n->attrs[i].name, attr) == 0 && strcmp(n->attrs[i].value, value) == 0)
			return true;
	return false;
}

/* Driver attributes: listen (portals) changes; the others cannot. */
static void diff_driver_attrs(struct builder *b, const struct conf_node *cur,
			      const struct conf_node *want)
{
	const char *driver = want->args[0];
	/* A file without listen leaves the portals alone (uscstd --listen
	 * gives them outside the file). */
	bool portals = conf_node_attr(want, "listen") != NULL;
	for (size_t i = 0; portals && i < cur->nattrs; i++)
		if (strcmp(cur->attrs[i].name, "listen") == 0 &&
		    !has_value(want, "listen", cur->attrs[i].value))
			portal_change(b, CONF_PORTAL_REMOVE, driver, &cur->attrs[i]);
	for (size_t i = 0; i < want->nattrs; i++) {
		const struct conf_attr *a = &want->attrs[i];
		if (strcmp(a->name, "listen") == 0) {
			if (!has_value(cur, "listen", a->value))
				portal_change(b, CONF_PORTAL_ADD, driver, a);
			continue;
		}
		char *old = values_of(cur, a->name), *now = values_of(want, a->name);
		if (!old || !now)
			oom(b);
		else if (strcmp(old, now) != 0)
			refuse(b, a->line,
			       "driver %s: attribute %s cannot change while uscstd runs; restart "
			       "uscstd with the new file",
			       driver, a->name);
		free(old);
		free(now);
	}
}

static void diff_drivers(struct builder *b, const struct conf_tree *current)
{
	const struct conf_tree *wanted = b->wanted;
	/* Removals first in the list's discovery order, then the rest. */
	for (size_t i = 0; i < current->root.nchildren; i++) {
		const struct conf_node *drv = current->root.children[i];
		for (size_t j = 0; is(drv, "TARGET_DRIVER") && j < drv->nchildren; j++) {
			const struct conf_node *t = drv->children[j], *wd;
			if (is(t, "TARGET") && !find_target(wanted, t->args[0], &wd))
				diff_target(b, drv->args[0], t, NULL);
		}
	}
	for (size_t i = 0; i < wanted->root.nchildren; i++) {
		const struct conf_node *drv = wanted->root.children[i];
		if (!is(drv, "TARGET_DRIVER"))
			continue;
		const struct conf_node *cdrv =
		    conf_node_child(&current->root, "TARGET_DRIVER", drv->args[0]);
		if (cdrv)
			diff_driver_attrs(b, cdrv, drv);
		for (size_t j = 0; j < drv->nchildren; j++) {
			const struct conf_node *t = drv->children[j], *cd;
			if (!is(t, "TARGET"))
				continue;
			const struct conf_node *ct = find_target(current, t->args[0], &cd);
			if (ct && strcmp(cd->args[0], drv->args[0]) != 0) {
				refuse(b, t->line,
				       "target %s: its driver cannot change (%s -> %s); remove "
				       "the target and add it again",
				       t->args[0], cd->args[0], drv->args[0]);
				return;
			}
			diff_target(b, drv->args[0], ct, t);
		}
	}
}

/* ---- ALUA device groups: compared and replaced as a whole ---- */

static void diff_alua(struct builder *b, const struct conf_tree *current)
{
	/* The wanted groups first: a refusal names the file asked for.  The
	 * groups in force were built when they were applied; only a tree
	 * that never was in force can fail here. */
	char *want = conf_alua_text(b->wanted, b->err, b->errlen);
	char *now = want ? conf_alua_text(current, b->err, b->errlen) : NULL;
	if (!now) {
		b->failed = -1;
	} else if (strcmp(now, want) != 0) {
		const struct conf_node *first =
		    conf_node_child(&b->wanted->root, "DEVICE_GROUP", NULL);
		struct conf_change *c = add(b, CONF_ALUA_SET, first ? first->line : 0);
		if (c) {
			c->value = keep(b, want);
			c->old_value = keep(b, now);
		}
	}
	free(now);
	free(want);
}

/* ---- the whole ---- */

int conf_diff(const struct conf_tree *current, const struct conf_tree *wanted,
	      const struct conf_diff_policy *policy, struct conf_diff *out, char *err,
	      size_t errlen)
{
	*out = (struct conf_diff){0};
	struct builder b = {
	    .d = out, .wanted = wanted, .policy = policy, .err = err, .errlen = errlen};
	diff_devices(&b, current);
	if (!b.failed)
		diff_drivers(&b, current);
	if (!b.failed)
		diff_alua(&b, current);
	if (b.failed) {
		conf_diff_free(out);
		return -1;
	}
	/* A stable sort by kind (qsort is not stable): counting per kind. */
	struct conf_change *sorted = out->count ? malloc(out->count * sizeof(*sorted)) : NULL;
	if (out->count && !sorted) {
		conf_error(err, errlen, wanted->file, 0, "out of memory comparing");
		conf_diff_free(out);
		return -1;
	}
	size_t n = 0;
	for (int k = CONF_TARGET_DISABLE; k <= CONF_TARGET_ENABLE; k++)
		for (size_t i = 0; i < out->count; i++)
			if ((int)out->changes[i].kind == k)
				sorted[n++] = out->changes[i];
	free(out->changes);
	out->changes = sorted;
	return 0;
}

void conf_diff_free(struct conf_diff *d)
{
	for (size_t i = 0; i < d->count; i++)
		free(d->changes[i].attrs);
	free(d->changes);
	for (size_t i = 0; i < d->nstrings; i++)
		free(d->strings[i]);
	free(d->strings);
	*d = (struct conf_diff){0};
}
