/*
 * The portals a SendTargets answer names (RFC 7143 13.3, appendix C: every
 * portal, of every portal group, through which a target is reachable and
 * the initiator may use): the one the request came in on, then each portal
 * uscstd listens on.  A wildcard listener (0.0.0.0, [::]) is named by the
 * address the request came to, with its own port: the initiator reached
 * that address, and the wildcard answers on it.  Which of them a target is
 * listed with (allowed_portal) and under which tag (portal_group) is the
 * caller's (text.c).
 */
#ifndef USCST_ISCSI_PORTAL_LIST_H
#define USCST_ISCSI_PORTAL_LIST_H

#include <stdint.h>

#define PORTAL_LIST_MAX 17 /* portal.c's MAX_PORTALS, and the request's own */
#define PORTAL_ADDR_MAX 64 /* iscsi_conn.local_addr */

struct portal_list {
	unsigned n;
	char addr[PORTAL_LIST_MAX][PORTAL_ADDR_MAX]; /* "A.B.C.D:PORT", "[V6]:PORT" */
	char host[PORTAL_LIST_MAX][PORTAL_ADDR_MAX]; /* addr without ":PORT" */
	uint16_t port[PORTAL_LIST_MAX];
};

/* The list for a request that came in on local_addr, with the bound
 * addresses of the listeners (iscsi_portal_bound_addrs): no address twice,
 * none that is not "HOST:PORT". */
void portal_list_build(struct portal_list *l, const char *local_addr,
		       const char (*bound)[PORTAL_ADDR_MAX], unsigned nbound);

/* portal.c: the address each listening socket is bound to, as
 * iscsi_format_addr writes it; at most max.  Returns how many. */
unsigned iscsi_portal_bound_addrs(char (*out)[PORTAL_ADDR_MAX], unsigned max);

#endif
