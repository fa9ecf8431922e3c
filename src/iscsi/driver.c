/*
 * What the iSCSI driver registers (iscsi/driver.h): its target attributes
 * (iscsi_target_attrs[], iscsi/params.c), its driver attributes, and start
 * and stop of its portals (iscsi/portal.c).
 */
#include "iscsi/driver.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "iscsi/chap.h"
#include "iscsi/conn_limits.h"
#include "iscsi/iscsi.h"
#include "iscsi/params.h"
#include "iscsi/portal_group.h"
#include "lib/log.h"

#define DEFAULT_LISTEN "0.0.0.0:3260"

/* "ADDR:PORT" or "[V6ADDR]:PORT"; the portal resolves the address itself. */
static bool valid_listen(const char *s)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || !colon[1] || strlen(colon + 1) > 5)
		return false;
	unsigned long port = 0;
	for (const char *c = colon + 1; *c; c++) {
		if (*c < '0' || *c > '9')
			return false;
		port = port * 10 + (unsigned long)(*c - '0');
	}
	if (port == 0 || port > 65535)
		return false;
	if (s[0] == '[')
		return colon[-1] == ']' && colon - s > 2;
	/* A bare IPv6 address would be ambiguous about which ':' starts the port. */
	return memchr(s, ':', (size_t)(colon - s)) == NULL;
}

static bool check_listen(const struct uscst_attr_def *d, const char *value, char *err,
			 size_t errlen)
{
	if (valid_listen(value))
		return true;
	snprintf(err, errlen, "%s: expected ADDR:PORT or [IPV6]:PORT, got '%s'", d->name, value);
	return false;
}

#define NOT_BUILT(n)                                                                               \
	{                                                                                          \
		.name = n, .type = USCST_ATTR_STRING, .flags = USCST_ATTR_NOT_BUILT                \
	}

static const struct uscst_attr_def driver_attrs[] = {
    /* Accepted as SCST has it; the portals serve either way, and `show
     * config` reports the driver as running. */
    {.name = "enabled", .type = USCST_ATTR_BOOL},
    /* uscst's addition, repeatable; uscstd --listen replaces the lot. */
    {.name = "listen",
     .type = USCST_ATTR_STRING,
     .flags = USCST_ATTR_MULTI,
     .def = DEFAULT_LISTEN,
     .check = check_listen},
    /* CHAP accounts of discovery sessions (iscsi/chap.c), "NAME SECRET". */
    {.name = "IncomingUser",
     .type = USCST_ATTR_STRING,
     .flags = USCST_ATTR_MULTI,
     .check = chap_account_attr_check},
    {.name = "OutgoingUser", .type = USCST_ATTR_STRING, .check = chap_account_attr_check},
    /* uscst's limits against hostile initiators (conn_limits.h). */
    {.name = "LoginTimeout",
     .type = USCST_ATTR_UINT,
     .min = 1,
     .max = 3600,
     .def = ISCSI_DEFAULT_LOGIN_TIMEOUT},
    {.name = "MaxConnections",
     .type = USCST_ATTR_UINT,
     .min = 0,
     .max = 1u << 20,
     .def = ISCSI_DEFAULT_MAX_CONNS},
    {.name = "MaxConnectionsPerAddress",
     .type = USCST_ATTR_UINT,
     .min = 0,
     .max = 65535,
     .def = ISCSI_DEFAULT_MAX_CONNS_PER_ADDR},
    {.name = "MaxBufferMemory",
     .type = USCST_ATTR_UINT,
     .min = 0,
     .max = 1u << 20,
     .def = ISCSI_DEFAULT_MAX_BUFFER_MEMORY},
    /* iSCSI-SCST driver attributes not built yet. */
    NOT_BUILT("iSNSServer"),
    NOT_BUILT("isns_entity_name"),
    NOT_BUILT("internal_portal"),
    NOT_BUILT("link_local"),
    NOT_BUILT("trace_level"),
    {.name = NULL},
};

static atomic_bool running;

static int iscsi_start(const struct uscst_transport *t, char *err, size_t errlen)
{
	const char *addr;
	iscsi_conn_limits_set(uscst_transport_driver_attr(t, "LoginTimeout", 0),
			      uscst_transport_driver_attr(t, "MaxConnectionsPerAddress", 0));
	iscsi_conns_set_max(uscst_transport_driver_attr(t, "MaxConnections", 0));
	iscsi_buf_mem_set_cap(uscst_transport_driver_attr(t, "MaxBufferMemory", 0));
	for (unsigned i = 0; (addr = uscst_transport_driver_attr(t, "listen", i)); i++) {
		if (iscsi_portal_listen(addr, err, errlen) < 0) {
			iscsi_portals_close();
			return -1;
		}
	}
	atomic_store(&running, true);
	return 0;
}

/* The acceptor starts only now, after the drop of root: the ports were
 * bound by start (3260 needs root), and until here the kernel only queues
 * connections in the listen backlog; no PDU is read as root. */
static int iscsi_serve(const struct uscst_transport *t, char *err, size_t errlen)
{
	if (iscsi_portals_start() < 0) {
		snprintf(err, errlen, "cannot start the iSCSI portals' acceptor thread");
		return -1;
	}
	log_info("iscsi: accepting connections");
	return 0;
}

static void iscsi_stop(const struct uscst_transport *t)
{
	atomic_store(&running, false);
	iscsi_portals_close();
	/* After a graceful stop's bound: the sessions that did not log out
	 * are cut; say which, and tell them (AsyncEvent 2). */
	iscsi_sessions_log_left();
	iscsi_quiesce_drop_left();
}

/* While running: enabled 1 and the portals it listens on; before: enabled 0. */
static void iscsi_show(const struct uscst_transport *t, uscst_attr_emit_fn emit, void *arg)
{
	bool on = atomic_load(&running);
	const char *addr;
	emit(arg, "enabled", on ? "1" : "0");
	for (unsigned i = 0; on && (addr = uscst_transport_driver_attr(t, "listen", i)); i++)
		emit(arg, "listen", addr);
	/* Written back so that `show config` round-trips; it is a
	 * configuration dump, and scst.conf holds the secrets too. */
	const char *v;
	for (unsigned i = 0; (v = uscst_transport_driver_attr(t, "IncomingUser", i)); i++)
		emit(arg, "IncomingUser", v);
	if ((v = uscst_transport_driver_attr(t, "OutgoingUser", 0)))
		emit(arg, "OutgoingUser", v);
	/* The limits in force (conn_limits.h), defaults included. */
	static const char *const limits[] = {"LoginTimeout", "MaxConnections",
					     "MaxConnectionsPerAddress", "MaxBufferMemory"};
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		if ((v = uscst_transport_driver_attr(t, limits[i], 0)))
			emit(arg, limits[i], v);
}

static int iscsi_add_portal(const struct uscst_transport *t, const char *addr, char *err,
			    size_t errlen)
{
	if (!valid_listen(addr)) {
		snprintf(err, errlen, "bad portal '%s': ADDR:PORT or [V6]:PORT", addr);
		return -1;
	}
	return iscsi_portal_add(addr, err, errlen);
}

static int iscsi_remove_portal(const struct uscst_transport *t, const char *addr, char *err,
			       size_t errlen)
{
	return iscsi_portal_remove(addr, err, errlen);
}

const struct uscst_transport iscsi_driver = {
    .name = "iscsi",
    .target_attrs = iscsi_target_attrs,
    .driver_attrs = driver_attrs,
    .start = iscsi_start,
    .serve = iscsi_serve,
    .check_with = chap_accounts_check_with,
    .stop = iscsi_stop,
    .quiesce = iscsi_quiesce,
    .active = iscsi_active,
    .show = iscsi_show,
    .sessions = iscsi_report_sessions,
    .add_portal = iscsi_add_portal,
    .remove_portal = iscsi_remove_portal,
    .attr_rel_port_id = portal_group_rel_port_id,
};
