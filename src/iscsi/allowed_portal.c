/* allowed_portal: which portals a target answers on (iscsi/allowed_portal.h). */
#include "iscsi/allowed_portal.h"

#include <stdio.h>
#include <string.h>

#include "lib/wildcard.h"

bool allowed_portal_check(const struct uscst_attr_def *d, const char *value, char *err,
			  size_t errlen)
{
	return wildcard_valid(value, ALLOWED_PORTAL_MAX, "allowed_portal pattern", err, errlen);
}

/* "1.2.3.4:3260" -> "1.2.3.4", "[fe80::1]:3260" -> "fe80::1"; false if
 * the text is not of either form. */
static bool portal_host(const char *local_addr, char *host, size_t hostlen)
{
	const char *colon = strrchr(local_addr, ':');
	if (!colon)
		return false;
	const char *start = local_addr, *end = colon;
	if (*start == '[') {
		start++;
		if (end == start || end[-1] != ']')
			return false;
		end--;
	}
	size_t len = (size_t)(end - start);
	if (!len || len >= hostlen)
		return false;
	memcpy(host, start, len);
	host[len] = '\0';
	return true;
}

bool allowed_portal_match(const char *(*at)(void *arg, unsigned i), void *arg,
			  const char *local_addr)
{
	const char *p = at(arg, 0);
	if (!p)
		return true; /* no restriction configured */
	char host[ALLOWED_PORTAL_MAX];
	if (!portal_host(local_addr, host, sizeof(host)))
		return false; /* restricted, and we cannot tell which portal: refuse */
	bool any_positive = false, positive_match = false;
	for (unsigned i = 0; (p = at(arg, i)); i++) {
		if (p[0] == '!') {
			if (!wildcard_match(p, host))
				return false; /* a negative pattern names this portal */
		} else {
			any_positive = true;
			positive_match = positive_match || wildcard_match(p, host);
		}
	}
	return !any_positive || positive_match;
}

static const char *target_pattern(void *arg, unsigned i)
{
	return uscst_target_attr_at(arg, "allowed_portal", i);
}

bool iscsi_portal_allowed(const struct uscst_target *tgt, const char *local_addr)
{
	return allowed_portal_match(target_pattern, (void *)tgt, local_addr);
}
