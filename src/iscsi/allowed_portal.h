/*
 * allowed_portal (iSCSI-SCST target attribute, repeatable): the portals a
 * target can be reached through.  Each value is a pattern (lib/wildcard.h:
 * `*`, `?`, a leading `!`) matched against the target-side IP address of
 * the connection, without port or brackets ("10.0.0.5", "fe80::1").
 * As iSCSI-SCST evaluates them: no pattern, every portal; a portal is
 * allowed when it matches one positive pattern (if there is any) and none
 * of the `!` patterns.  A login through another portal gets 02/02 and
 * SendTargets on it does not list the target.
 */
#ifndef USCST_ISCSI_ALLOWED_PORTAL_H
#define USCST_ISCSI_ALLOWED_PORTAL_H

#include <stdbool.h>
#include <stddef.h>

#include <uscst/attr.h>
#include <uscst/transport.h>

/* Longest pattern (an IPv6 address with wildcards fits). */
#define ALLOWED_PORTAL_MAX 64

/* The attribute table's check of one value. */
bool allowed_portal_check(const struct uscst_attr_def *d, const char *value, char *err,
			  size_t errlen);

/* local_addr is "ADDR:PORT" or "[V6]:PORT" (iscsi_conn.local_addr); at(arg, i)
 * gives the i-th pattern, NULL past the last. */
bool allowed_portal_match(const char *(*at)(void *arg, unsigned i), void *arg,
			  const char *local_addr);

bool iscsi_portal_allowed(const struct uscst_target *tgt, const char *local_addr);

#endif
