/* SCST's name patterns (lib/wildcard.h). */
#include "lib/wildcard.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool wildcard_is_pattern(const char *pattern) { return strpbrk(pattern, "*?!") != NULL; }

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

bool wildcard_match(const char *pattern, const char *name)
{
	if (pattern[0] == '!')
		return !glob_match(pattern + 1, name);
	return glob_match(pattern, name);
}

bool wildcard_valid(const char *pattern, size_t max_len, const char *kind, char *err, size_t errlen)
{
	const char *body = pattern[0] == '!' ? pattern + 1 : pattern;
	if (!*body || strlen(pattern) >= max_len) {
		snprintf(err, errlen, "bad %s '%s': must be 1 to %zu characters", kind, pattern,
			 max_len - 1);
		return false;
	}
	if (strchr(body, '!')) {
		snprintf(err, errlen,
			 "bad %s '%s': '!' (negation) is allowed only as its first character", kind,
			 pattern);
		return false;
	}
	for (const char *c = pattern; *c; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			snprintf(err, errlen,
				 "bad %s '%s': blanks and control characters are not allowed", kind,
				 pattern);
			return false;
		}
	}
	return true;
}

/* A walk over the pairs of positions (i in a, j in b) reachable while
 * reading one common name; a `*` may stay put while the other side reads a
 * character.  (strlen(a)+1) * (strlen(b)+1) states at most: callers keep
 * patterns short (names are below 224 characters). */
bool wildcard_globs_intersect(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), w = lb + 1;
	unsigned char *seen = calloc((la + 1) * w, 1);
	size_t *stack = malloc((la + 1) * w * sizeof(*stack));
	bool found = false;
	if (!seen || !stack) {
		free(seen);
		free(stack);
		return true; /* cannot tell: say "maybe" */
	}
	size_t top = 0;
	stack[top++] = 0;
	seen[0] = 1;
	while (top) {
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
				next[n++] = i * w + j + 1; /* it takes b's character */
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
