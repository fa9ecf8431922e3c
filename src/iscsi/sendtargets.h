/*
 * SendTargets (RFC 7143 13.3 and appendix C): the text a target returns to
 * "SendTargets=All", "SendTargets=<target name>" or "SendTargets=" (empty:
 * the session's own target, in a Normal session).
 *
 * The caller supplies the targets through an iterator so this stays free of
 * the core: its foreach function calls emit() for every target the
 * initiator may see (uscst_target_foreach + uscst_target_allows), each with
 * the portals it is reachable on.  The whole response is built at once; a
 * caller whose initiator's MaxRecvDataSegmentLength is smaller slices the
 * buffer into Text Responses with the C bit (the initiator reassembles, so
 * slices need not follow pair boundaries).
 */
#ifndef USCST_ISCSI_SENDTARGETS_H
#define USCST_ISCSI_SENDTARGETS_H

#include <stdint.h>

#include "iscsi/params.h"
#include "iscsi/text_kv.h"

struct sendtargets_portal {
	const char *host; /* IPv4 dotted quad, IPv6 (brackets optional) or DNS name */
	uint16_t port;
	uint16_t tpgt;
};

struct sendtargets_target {
	const char *name;
	const struct sendtargets_portal *portals;
	unsigned nportals;
};

typedef void (*sendtargets_emit_fn)(void *ctx, const struct sendtargets_target *tgt);
/* Calls emit(ctx, t) for every target visible to the initiator. */
typedef void (*sendtargets_foreach_fn)(void *arg, sendtargets_emit_fn emit, void *ctx);

/*
 * Appends the response to a SendTargets request with this value to out.
 * session_type/session_target describe the session the Text Request came on
 * (session_target may be NULL in a Discovery session).
 *   All      : every target (Discovery sessions only; Normal: Reject)
 *   <name>   : that target, if visible (nothing otherwise)
 *   ""       : the session's target in a Normal session (nothing in a
 *              Discovery session, which has none)
 * Returns 0, or a text_kv_err when out overflowed.
 */
int sendtargets_build(const char *value, enum iscsi_session_type session_type,
		      const char *session_target, sendtargets_foreach_fn for_each_target, void *arg,
		      struct text_buf *out);

/* Formats "host:port,tpgt" with IPv6 hosts in brackets; returns false if it
 * does not fit. */
bool sendtargets_format_address(const struct sendtargets_portal *portal, char *buf, size_t buflen);

#endif
