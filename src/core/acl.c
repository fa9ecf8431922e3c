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
 * without reordering the file.  Patterns are SCST's (lib/wildcard.h: `*`,
 * `?`, any case, a leading `!` inverts).  An empty map means no access at
 * all (uscst_target_allows).
 *
 * Groups are built at start-up and changed at run time (core/live_map.c)
 * under uscst_acl_lock, which every lookup outside start-up holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "lib/log.h"
#include "lib/names.h"
#include "lib/wildcard.h"

static bool is_wild(const char *pattern) { return wildcard_is_pattern(pattern); }

bool acl_pattern_match(const char *pattern, const char *name)
{
	return wildcard_match(pattern, name);
}

bool acl_pattern_valid(const char *pattern, char *err, size_t errlen)
{
	return wildcard_valid(pattern, USCST_NAME_MAX, "initiator pattern", err, errlen);
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
	return wildcard_globs_intersect(a, b);
}

struct uscst_group *uscst_target_add_group(struct uscst_target *tgt, const char *name, char *err,
					   size_t errlen)
{
	if (!*name || strlen(name) >= sizeof(((struct uscst_group *)0)->name)) {
		snprintf(err, errlen, "group name must be 1 to %zu characters",
			 sizeof(((struct uscst_group *)0)->name) - 1);
		return NULL;
	}
	if (name_has_control_char(name)) {
		snprintf(err, errlen, "bad group name: it contains a control character");
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
	/* Login threads ask while the control thread may change the groups. */
	pthread_mutex_lock(&uscst_acl_lock);
	bool ok = atomic_load_explicit(&tgt->enabled, memory_order_relaxed) &&
		  uscst_target_lun_map(tgt, initiator_name)->count > 0;
	pthread_mutex_unlock(&uscst_acl_lock);
	return ok;
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
