/*
 * Login redirection (RFC 7143 11.13.5, status class 1): a target may be
 * configured to send its initiators elsewhere, to another portal of this
 * daemon or to another uscstd, with two target attributes (uscst's own:
 * SCST and LIO have none):
 *
 *   redirect_portal HOST:PORT[,TPGT]   where logins to this target go;
 *                                      [V6]:PORT for IPv6; TPGT default 1
 *   redirect_type   temporary|permanent (default temporary)
 *
 * A login naming the target (after the initiator's access check) gets
 * Login Response 01/01 "target moved temporarily" or 01/02 "target moved
 * permanently" with TargetAddress=HOST:PORT,TPGT, and the connection is
 * closed.  Discovery is unchanged: SendTargets still lists the target on
 * the portals it is configured on (the initiator is sent on at login).
 */
#ifndef USCST_ISCSI_REDIRECT_H
#define USCST_ISCSI_REDIRECT_H

#include <stdbool.h>
#include <stddef.h>

#include <uscst/attr.h>
#include <uscst/transport.h>

#include "iscsi/params.h"

/* Longest redirect_portal value: "[" IPv6 "]:" port "," tpgt, or a host name. */
#define REDIRECT_PORTAL_MAX 256

/* The attribute table's checks. */
bool redirect_portal_check(const struct uscst_attr_def *d, const char *value, char *err,
			   size_t errlen);
bool redirect_type_check(const struct uscst_attr_def *d, const char *value, char *err,
			 size_t errlen);

/* ISCSI_LS_TARGET_MOVED_TEMP/PERM with the TargetAddress value in addr,
 * or ISCSI_LS_SUCCESS when tgt does not redirect. */
enum iscsi_login_status iscsi_target_redirect(const struct uscst_target *tgt, char *addr,
					      size_t addrlen);

#endif
