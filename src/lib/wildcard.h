/*
 * SCST's name patterns (INITIATOR in a GROUP, allowed_portal): `*` is any
 * run of characters (also none), `?` one character, the whole name must
 * match, case is ignored (SCST's wildcmp() compares with tolower), and a
 * leading `!` inverts the rest: "!iqn.a*" matches every name "iqn.a*" does
 * not.  SCST honours `!` only at the start; elsewhere it is refused here.
 */
#ifndef USCST_LIB_WILDCARD_H
#define USCST_LIB_WILDCARD_H

#include <stdbool.h>
#include <stddef.h>

bool wildcard_match(const char *pattern, const char *name);
/* Whether the pattern has a wildcard or a negation (else it is a name). */
bool wildcard_is_pattern(const char *pattern);
/* 1 to max_len - 1 characters, no blank or control character, `!` only
 * first and not alone; false with "bad PATTERN_KIND 'P': why" in err. */
bool wildcard_valid(const char *pattern, size_t max_len, const char *kind, char *err,
		    size_t errlen);
/* Whether some name can match both plain patterns (no `!`). */
bool wildcard_globs_intersect(const char *a, const char *b);

#endif
