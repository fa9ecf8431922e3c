/* Login redirection: the target attributes and the answer (redirect.h). */
#include "iscsi/redirect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 7143 13.8 TargetAddress: a host (DNS name, dotted IPv4 address, or
 * an IPv6 address in brackets), a port, a portal group tag.  Splits value
 * into those; false if it is anything else. */
static bool parse_portal(const char *value, char *host, size_t hostlen, unsigned *port,
			 unsigned *tpgt)
{
	const char *p = value, *host_end;
	if (*p == '[') {
		host_end = strchr(p, ']');
		if (!host_end || host_end[1] != ':' || host_end == p + 1)
			return false;
		for (const char *c = p + 1; c < host_end; c++)
			if (!strchr("0123456789abcdefABCDEF:.", *c))
				return false;
		host_end++;
	} else {
		host_end = strchr(p, ':');
		if (!host_end || host_end == p)
			return false;
		for (const char *c = p; c < host_end; c++)
			if (!strchr(
				"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-",
				*c))
				return false;
	}
	size_t n = (size_t)(host_end - p);
	if (n >= hostlen)
		return false;
	memcpy(host, p, n);
	host[n] = '\0';
	char *end;
	const char *num = host_end + 1;
	if (*num < '0' || *num > '9')
		return false;
	unsigned long v = strtoul(num, &end, 10);
	if (v == 0 || v > 65535)
		return false;
	*port = (unsigned)v;
	*tpgt = 1;
	if (*end == ',') {
		num = end + 1;
		if (*num < '0' || *num > '9')
			return false;
		v = strtoul(num, &end, 10);
		if (v > 65535)
			return false;
		*tpgt = (unsigned)v;
	}
	return *end == '\0';
}

bool redirect_portal_check(const struct uscst_attr_def *d, const char *value, char *err,
			   size_t errlen)
{
	char host[REDIRECT_PORTAL_MAX];
	unsigned port, tpgt;
	if (strlen(value) < REDIRECT_PORTAL_MAX &&
	    parse_portal(value, host, sizeof(host), &port, &tpgt))
		return true;
	snprintf(err, errlen,
		 "redirect_portal: expected HOST:PORT[,TPGT] or [IPV6]:PORT[,TPGT], got '%s'",
		 value);
	return false;
}

bool redirect_type_check(const struct uscst_attr_def *d, const char *value, char *err,
			 size_t errlen)
{
	if (!strcmp(value, "temporary") || !strcmp(value, "permanent"))
		return true;
	snprintf(err, errlen, "redirect_type: expected temporary or permanent, got '%s'", value);
	return false;
}

enum iscsi_login_status iscsi_target_redirect(const struct uscst_target *tgt, char *addr,
					      size_t addrlen)
{
	const char *portal = uscst_target_attr(tgt, "redirect_portal");
	char host[REDIRECT_PORTAL_MAX];
	unsigned port, tpgt;
	/* Checked when set; an unparsable value (never) redirects nowhere. */
	if (!portal || !parse_portal(portal, host, sizeof(host), &port, &tpgt))
		return ISCSI_LS_SUCCESS;
	snprintf(addr, addrlen, "%s:%u,%u", host, port, tpgt);
	const char *type = uscst_target_attr(tgt, "redirect_type");
	return type && !strcmp(type, "permanent") ? ISCSI_LS_TARGET_MOVED_PERM
						  : ISCSI_LS_TARGET_MOVED_TEMP;
}
