/*
 * Initiator groups (SCST security groups): which LUN map an initiator sees
 * through a target.
 *
 * A target has a default map (LUNs written directly in TARGET) and an
 * ordered list of groups, each with its own map and INITIATOR patterns.
 * An initiator gets:
 *   1. the group that names it exactly (no wildcard, any case), else
 *   2. the first group, in configuration order, with a pattern that
 *      matches it, else
 *   3. the default map.
 * SCST has only rule 2; rule 1 lets a host be singled out of a wildcard
 * without reordering the file.  A pattern takes `*` (any run, also empty)
 * and `?` (one character) and compares case-insensitively, as SCST's
 * wildcmp() does; a leading `!` inverts it: "!iqn.a*" matches every name
 * "iqn.a*" does not.  `!` anywhere else is refused, as SCST only honours it
 * at the start.  An empty map means no access at all (uscst_target_allows).
 *
 * Groups are built at start-up and only read afterwards, so lookups take
 * no lock.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "lib/log.h"

static bool is_wild(const char *pattern) { return strpbrk(pattern, "*?!") != NULL; }

/* Glob match of the whole name; on a mismatch after a `*`, that star takes
 * one more character and the match resumes (linear in practice, never
 * recursive). */
static bool glob_match(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;
	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p && (*p == '?' ||
				  tolower((unsigned char)*p) == tolower((unsigned char)*s))) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

bool acl_pattern_match(const char *pattern, const char *name)
{
	if (pattern[0] == '!')
		return !glob_match(pattern + 1, name);
	return glob_match(pattern, name);
}

bool acl_pattern_valid(const char *pattern, char *err, size_t errlen)
{
	size_t len = strlen(pattern);
	const char *body = pattern[0] == '!' ? pattern + 1 : pattern;
	if (!*body || len >= USCST_NAME_MAX) {
		snprintf(err, errlen, "bad initiator pattern '%s': must be 1 to %d characters",
			 pattern, USCST_NAME_MAX - 1);
		return false;
	}
	if (strchr(body, '!')) {
		snprintf(err, errlen,
			 "bad initiator pattern '%s': '!' (negation) is allowed only as its first "
			 "character",
			 pattern);
		return false;
	}
	for (const char *c = pattern; *c; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			snprintf(err, errlen,
				 "bad initiator pattern '%s': blanks and control characters are "
				 "not allowed",
				 pattern);
			return false;
		}
	}
	return true;
}

/* Whether some name matches both plain globs (no `!`): a walk over the
 * pairs of positions (i in a, j in b) reachable while reading one common
 * name.  A `*` may stay put and let the other side consume a character.
 * At most USCST_NAME_MAX^2 states, run only at start-up. */
static bool globs_intersect(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), w = lb + 1;
	unsigned char *seen = calloc((la + 1) * w, 1);
	size_t *stack = malloc((la + 1) * w * sizeof(*stack));
	bool found = false;
	if (!seen || !stack) {
		free(seen);
		free(stack);
		return true; /* cannot tell: warn rather than stay silent */
	}
	size_t top = 0;
	stack[top++] = 0;
	seen[0] = 1;
	while (top && !found) {
		size_t st = stack[--top], i = st / w, j = st % w;
		if (i == la && j == lb) {
			found = true;
			break;
		}
		size_t next[4];
		unsigned n = 0;
		if (i < la && a[i] == '*') {
			next[n++] = (i + 1) * w + j; /* the star matches nothing more */
			if (j < lb && b[j] != '*')
				next[n++] = i * w + j + 1; /* it eats b's character */
		}
		if (j < lb && b[j] == '*') {
			next[n++] = i * w + j + 1;
			if (i < la && a[i] != '*')
				next[n++] = (i + 1) * w + j;
		}
		if (i < la && j < lb && a[i] != '*' && b[j] != '*' &&
		    (a[i] == '?' || b[j] == '?' ||
		     tolower((unsigned char)a[i]) == tolower((unsigned char)b[j])))
			next[n++] = (i + 1) * w + j + 1;
		for (unsigned k = 0; k < n; k++) {
			if (!seen[next[k]]) {
				seen[next[k]] = 1;
				stack[top++] = next[k];
			}
		}
	}
	free(seen);
	free(stack);
	return found;
}

/* Whether one initiator name can match both patterns.  Exact for plain
 * globs and for a `!` pattern against a plain name; two patterns of which
 * one is negated and the other has wildcards are assumed to overlap (a
 * negation matches almost everything). */
bool acl_patterns_overlap(const char *a, const char *b)
{
	if (!is_wild(a))
		return acl_pattern_match(b, a);
	if (!is_wild(b))
		return acl_pattern_match(a, b);
	if (a[0] == '!' || b[0] == '!')
		return true;
	return globs_intersect(a, b);
}

struct uscst_group *uscst_target_add_group(struct uscst_target *tgt, const char *name, char *err,
					   size_t errlen)
{
	if (!*name || strlen(name) >= sizeof(((struct uscst_group *)0)->name)) {
		snprintf(err, errlen, "group name must be 1 to %zu characters",
			 sizeof(((struct uscst_group *)0)->name) - 1);
		return NULL;
	}
	if (uscst_target_group(tgt, name)) {
		snprintf(err, errlen, "group '%s' is already defined in target '%s'", name,
			 tgt->name);
		return NULL;
	}
	struct uscst_group *g = calloc(1, sizeof(*g));
	if (!g || !(g->luns = lun_map_new())) {
		free(g);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(g->name, sizeof(g->name), "%s", name);
	list_add_tail(&g->node, &tgt->groups);
	return g;
}

struct uscst_group *uscst_target_group(const struct uscst_target *tgt, const char *name)
{
	struct uscst_group *g;
	list_for_each_entry(g, &tgt->groups, node)
	{
		if (!strcmp(g->name, name))
			return g;
	}
	return NULL;
}

bool uscst_group_add_lun(struct uscst_group *g, uint64_t lun, struct uscst_device *dev,
			 bool read_only, char *err, size_t errlen)
{
	return lun_map_add(g->luns, lun, dev, read_only, err, errlen);
}

bool uscst_group_add_initiator(struct uscst_group *g, const char *pattern, char *err, size_t errlen)
{
	if (!acl_pattern_valid(pattern, err, errlen))
		return false;
	for (unsigned i = 0; i < g->ninitiators; i++) {
		if (!strcasecmp(g->initiators[i], pattern)) {
			snprintf(err, errlen, "initiator '%s' is already in group '%s'", pattern,
				 g->name);
			return false;
		}
	}
	char *copy = strdup(pattern);
	char **n = realloc(g->initiators, (g->ninitiators + 1) * sizeof(*n));
	if (!copy || !n) {
		free(copy);
		if (n)
			g->initiators = n;
		snprintf(err, errlen, "out of memory");
		return false;
	}
	g->initiators = n;
	g->initiators[g->ninitiators++] = copy;
	return true;
}

static bool group_names_exactly(const struct uscst_group *g, const char *initiator)
{
	for (unsigned i = 0; i < g->ninitiators; i++)
		if (!is_wild(g->initiators[i]) && !strcasecmp(g->initiators[i], initiator))
			return true;
	return false;
}

static bool group_matches(const struct uscst_group *g, const char *initiator)
{
	for (unsigned i = 0; i < g->ninitiators; i++)
		if (acl_pattern_match(g->initiators[i], initiator))
			return true;
	return false;
}

const struct uscst_group *uscst_target_group_for(const struct uscst_target *tgt,
						 const char *initiator)
{
	const struct uscst_group *g;
	list_for_each_entry(g, &tgt->groups, node)
	{
		if (group_names_exactly(g, initiator))
			return g;
	}
	list_for_each_entry(g, &tgt->groups, node)
	{
		if (group_matches(g, initiator))
			return g;
	}
	return NULL;
}

const struct uscst_lun_map *uscst_target_lun_map(const struct uscst_target *tgt,
						 const char *initiator)
{
	const struct uscst_group *g = uscst_target_group_for(tgt, initiator);
	return g ? g->luns : tgt->luns;
}

bool uscst_target_allows(const struct uscst_target *tgt, const char *initiator_name)
{
	return tgt->enabled && uscst_target_lun_map(tgt, initiator_name)->count > 0;
}

/* First pair of patterns, one from each group, that one initiator can match
 * with the same kind of rule (both exact, or both wildcards: an exact name
 * beats a wildcard, so that pair decides nothing by order). */
static bool groups_overlap(const struct uscst_group *a, const struct uscst_group *b,
			   const char **pa, const char **pb)
{
	for (unsigned i = 0; i < a->ninitiators; i++) {
		for (unsigned j = 0; j < b->ninitiators; j++) {
			const char *x = a->initiators[i], *y = b->initiators[j];
			if (is_wild(x) != is_wild(y))
				continue;
			if (is_wild(x) ? acl_patterns_overlap(x, y) : !strcasecmp(x, y)) {
				*pa = x;
				*pb = y;
				return true;
			}
		}
	}
	return false;
}

unsigned uscst_target_warn_overlaps(const struct uscst_target *tgt)
{
	unsigned n = 0;
	const struct uscst_group *a, *b;
	list_for_each_entry(a, &tgt->groups, node)
	{
		for (b = list_entry(a->node.next, struct uscst_group, node);
		     &b->node != &tgt->groups;
		     b = list_entry(b->node.next, struct uscst_group, node)) {
			const char *pa, *pb;
			if (!groups_overlap(a, b, &pa, &pb))
				continue;
			log_warn("target %s: initiator groups '%s' ('%s') and '%s' ('%s') can both "
				 "match one initiator; it gets the first, '%s'",
				 tgt->name, a->name, pa, b->name, pb, a->name);
			n++;
		}
	}
	return n;
}
