/* SendTargets response text (RFC 7143 13.3, appendix C). */
#include "iscsi/sendtargets.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool sendtargets_format_address(const struct sendtargets_portal *portal, char *buf, size_t buflen)
{
	const char *host = portal->host;
	/* A colon in an unbracketed host can only be IPv6; the brackets keep
	 * it apart from the port (13.8). */
	bool bracket = strchr(host, ':') && host[0] != '[';
	int n = snprintf(buf, buflen, "%s%s%s:%u,%u", bracket ? "[" : "", host, bracket ? "]" : "",
			 (unsigned)portal->port, (unsigned)portal->tpgt);

	return n >= 0 && (size_t)n < buflen;
}

struct emit_ctx {
	const char *only; /* NULL: every target; else this name only */
	struct text_buf *out;
};

static void emit_target(void *ctx, const struct sendtargets_target *tgt)
{
	struct emit_ctx *e = ctx;
	char addr[TEXT_VALUE_MAX + 1];

	/* iSCSI names compare case-insensitively once normalised (RFC 3722);
	 * configured names are normalised, the initiator's may not be. */
	if (e->only && strcasecmp(e->only, tgt->name) != 0)
		return;
	text_buf_add(e->out, "TargetName", tgt->name);
	for (unsigned i = 0; i < tgt->nportals; i++) {
		if (!sendtargets_format_address(&tgt->portals[i], addr, sizeof(addr)))
			continue; /* a host name too long for a value cannot be sent */
		text_buf_add(e->out, "TargetAddress", addr);
	}
}

int sendtargets_build(const char *value, enum iscsi_session_type session_type,
		      const char *session_target, sendtargets_foreach_fn for_each_target, void *arg,
		      struct text_buf *out)
{
	struct emit_ctx e = {NULL, out};

	if (strcmp(value, "All") == 0) {
		/* 13.3: All MUST NOT be supported on an operational session. */
		if (session_type != ISCSI_SESSION_DISCOVERY)
			text_buf_add(out, "SendTargets", "Reject");
		else
			for_each_target(arg, emit_target, &e);
		return text_buf_error(out);
	}
	if (value[0] == '\0') {
		if (session_type != ISCSI_SESSION_NORMAL || !session_target)
			return text_buf_error(out);
		e.only = session_target;
	} else {
		e.only = value;
	}
	for_each_target(arg, emit_target, &e);
	return text_buf_error(out);
}
