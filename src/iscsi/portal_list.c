/* The portals a SendTargets answer names (iscsi/portal_list.h). */
#include "iscsi/portal_list.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "HOST:PORT" -> host, port; false if it is not of that form. */
static bool split(const char *addr, char *host, uint16_t *port)
{
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || (size_t)(colon - addr) >= PORTAL_ADDR_MAX)
		return false;
	char *end;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (*end || end == colon + 1 || !p || p > 65535)
		return false;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	*port = (uint16_t)p;
	return true;
}

static bool is_ipv6(const char *host) { return host[0] == '['; }

static void add(struct portal_list *l, const char *host, uint16_t port)
{
	char addr[PORTAL_ADDR_MAX];
	int n = snprintf(addr, sizeof(addr), "%s:%u", host, (unsigned)port);
	if (n < 0 || (size_t)n >= sizeof(addr) || l->n == PORTAL_LIST_MAX)
		return;
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->addr[i], addr) == 0)
			return;
	snprintf(l->addr[l->n], PORTAL_ADDR_MAX, "%s", addr);
	snprintf(l->host[l->n], PORTAL_ADDR_MAX, "%s", host);
	l->port[l->n++] = port;
}

void portal_list_build(struct portal_list *l, const char *local_addr,
		       const char (*bound)[PORTAL_ADDR_MAX], unsigned nbound)
{
	char local_host[PORTAL_ADDR_MAX], host[PORTAL_ADDR_MAX];
	uint16_t local_port, port;
	l->n = 0;
	bool local_ok = split(local_addr, local_host, &local_port);
	if (local_ok)
		add(l, local_host, local_port);
	for (unsigned i = 0; i < nbound; i++) {
		if (!split(bound[i], host, &port))
			continue;
		if (strcmp(host, "0.0.0.0") == 0) {
			/* IPv4 only: the request's address if it is one. */
			if (local_ok && !is_ipv6(local_host))
				add(l, local_host, port);
		} else if (strcmp(host, "[::]") == 0) {
			/* Dual stack: the request's address, either family. */
			if (local_ok)
				add(l, local_host, port);
		} else {
			add(l, host, port);
		}
	}
}
