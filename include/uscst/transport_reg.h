/*
 * Transport registry: how a target driver (iSCSI today) plugs into the
 * daemon.  A transport registers once, before the configuration is read,
 * with
 *   - its name, the TARGET_DRIVER name of scst.conf ("iscsi");
 *   - the attributes of its targets (TARGET <name> { ... } in its
 *     TARGET_DRIVER block): the core accepts only these, checked by the
 *     table, besides the core's own "enabled" and "rel_tgt_id";
 *   - the attributes of the driver itself (TARGET_DRIVER <name> { ... },
 *     e.g. iSCSI's "enabled" and "listen");
 *   - start, serve and stop, run once each by the daemon: start after the
 *     configuration is applied and the reactors run, serve once the daemon
 *     has dropped root (uscstd --user), stop at shutdown;
 *   - quiesce and active, for a graceful stop (SIGTERM): quiesce once,
 *     then the daemon polls active until it is 0 or its bound passes, then
 *     stop.
 * The core, the configuration code and the daemon know transports only
 * through this registry.
 */
#ifndef USCST_TRANSPORT_REG_H
#define USCST_TRANSPORT_REG_H

#include <stdbool.h>
#include <stddef.h>

#include <uscst/attr.h>

/* Bumped whenever struct uscst_transport or the meaning of its fields
 * changes; a transport built against another version is refused. */
#define USCST_TRANSPORT_ABI 5

/* Longest transport name. */
#define USCST_TRANSPORT_NAME_MAX 31

typedef void (*uscst_attr_emit_fn)(void *arg, const char *name, const char *value);

struct uscst_session;

/* One connection of a session, for `uscstadmin list connections`. */
struct uscst_conn_info {
	unsigned cid;	    /* the transport's connection id (iSCSI CID) */
	const char *portal; /* our ADDR:PORT the initiator connected to */
	const char *peer;   /* the initiator's ADDR:PORT */
};

/* A negotiated parameter, by its protocol name ("MaxBurstLength"). */
struct uscst_session_param {
	const char *name;
	const char *value;
};

/* One logged-in session as its transport reports it (`uscstadmin list
 * sessions`).  Everything is valid only during the emit call. */
struct uscst_session_info {
	const struct uscst_session *core; /* the core's I_T nexus (commands in flight) */
	const char *target;
	const char *initiator; /* the initiator's name */
	const char *isid;      /* the initiator's part of the session id ("0x...") */
	unsigned tsih;	       /* the target's part (iSCSI TSIH) */
	const struct uscst_conn_info *conns;
	unsigned nconns;
	const struct uscst_session_param *params;
	unsigned nparams;
};
typedef void (*uscst_session_emit_fn)(void *arg, const struct uscst_session_info *si);

struct uscst_transport {
	const char *name;
	/* Attribute tables (include/uscst/attr.h), ended by a NULL name; NULL: none. */
	const struct uscst_attr_def *target_attrs;
	const struct uscst_attr_def *driver_attrs;
	/* Gets ready to serve, as root: reads its driver attributes with
	 * uscst_transport_driver_attr() and binds its ports, but takes no
	 * connection yet.  0, or -1 with a message in err. */
	int (*start)(const struct uscst_transport *t, char *err, size_t errlen);
	/* Begins taking connections; only after a successful start, and after
	 * the daemon dropped root, so that no initiator is ever served by a
	 * root process.  0, or -1 with a message in err.  NULL: start serves
	 * already (a transport with nothing to protect, e.g. a test's). */
	int (*serve)(const struct uscst_transport *t, char *err, size_t errlen);
	/* Stops accepting and serving; only after a successful start. */
	void (*stop)(const struct uscst_transport *t);
	/* Graceful stop, from the daemon's main thread, once, after a
	 * successful start: accept no new connection or login, and ask every
	 * session to end within wait_s seconds (iSCSI: an Async Message
	 * asking for a logout).  Sessions go on serving their commands
	 * meanwhile.  NULL: the transport has no such request; stop ends it. */
	void (*quiesce)(const struct uscst_transport *t, unsigned wait_s);
	/* Connections still open, counting those whose commands are still in
	 * the backend; any thread.  The daemon waits for 0 after quiesce.
	 * NULL: nothing to wait for. */
	unsigned (*active)(const struct uscst_transport *t);
	/* Checks a target or driver attribute against those already set
	 * (get(arg, name, i): the i-th value of name, NULL past the last),
	 * for rules between attributes that one value's table check cannot
	 * see.  Called before the value is stored, at load and at run time.
	 * true, or false with a message in err.  NULL: no such rules. */
	bool (*check_with)(const char *name, const char *value,
			   const char *(*get)(void *arg, const char *name, unsigned i), void *arg,
			   char *err, size_t errlen);
	/* The driver attributes in force, for `show config`: emit(arg, name,
	 * value) for each, in order.  NULL: the configured values are shown. */
	void (*show)(const struct uscst_transport *t, uscst_attr_emit_fn emit, void *arg);
	/* Its logged-in sessions (not discovery ones), for the admin
	 * listings: emit(arg, &info) for each.  Runs on the control thread,
	 * never on a reactor: the transport reads only what it may from
	 * there (under its own lock), and emit neither blocks nor calls back
	 * into the transport.  NULL: it has none to report.  (ABI 5) */
	void (*sessions)(const struct uscst_transport *t, uscst_session_emit_fn emit, void *arg);
	/* At run time, after serve: listen on one more portal (ADDR:PORT, as
	 * the driver's "listen" attribute spells it), or stop listening on
	 * one; connections already accepted stay.  0, or -1 with a message.
	 * NULL: portals are fixed at start (ABI 5). */
	int (*add_portal)(const struct uscst_transport *t, const char *addr, char *err,
			  size_t errlen);
	int (*remove_portal)(const struct uscst_transport *t, const char *addr, char *err,
			     size_t errlen);
	/* The relative target port id a value of a target attribute gives a
	 * target port of its own (iSCSI's portal_group), 0 if none: the core
	 * keeps every target port's id unique (core/target_ports.c).  NULL:
	 * no attribute makes a target port. */
	uint16_t (*attr_rel_port_id)(const char *name, const char *value);
};

/*
 * Registers t, which must stay valid until the daemon exits; abi is
 * USCST_TRANSPORT_ABI as the transport was built.  Returns 0, or:
 *   -EPROTO  abi is not this daemon's USCST_TRANSPORT_ABI
 *   -EEXIST  a transport with this name is registered already
 *   -EINVAL  no or too long a name, no start or stop, or a target
 *            attribute that is the core's own ("enabled", "rel_tgt_id")
 *   -ENOSPC  the registry is full
 * with a log line saying which.  Call before the configuration is read.
 */
int uscst_transport_register(const struct uscst_transport *t, unsigned abi);

/* The transport registered as name, or NULL. */
const struct uscst_transport *uscst_transport_find(const char *name);

/*
 * The i-th value (in configuration order) of one of t's driver attributes;
 * when none is configured, i = 0 gives the table's default.  NULL past the
 * last value.  Valid until the configuration is applied again (start-up
 * only).
 */
const char *uscst_transport_driver_attr(const struct uscst_transport *t, const char *name,
					unsigned i);

#endif
