/*
 * The transport registry as the rest of the daemon sees it (the public part
 * is include/uscst/transport_reg.h): the configuration code checks and
 * stores driver attributes through it, the core checks target attributes
 * with the owning transport's table, and uscstd starts and stops every
 * registered transport.  Registration, configuration and start happen
 * before any other thread runs; stop after the control thread stopped.
 */
#ifndef USCST_CORE_TRANSPORTS_H
#define USCST_CORE_TRANSPORTS_H

#include <stdbool.h>
#include <stddef.h>

#include <uscst/attr.h>
#include <uscst/transport_reg.h>

#include "core/attr_table.h"

/* Registered transports in registration order; NULL gives the first. */
const struct uscst_transport *uscst_transport_next(const struct uscst_transport *prev);

/* "'iscsi'" or "'a', 'b'": the registered names, for messages ("" if none). */
void uscst_transport_names(char *buf, size_t len);

/* The target attributes every transport's targets have, owned by the core. */
extern const struct uscst_attr_def uscst_core_target_attrs[];

enum uscst_attr_result {
	USCST_ATTR_OK = 0,
	USCST_ATTR_UNKNOWN,	/* not in the table */
	USCST_ATTR_UNSUPPORTED, /* in the table as USCST_ATTR_NOT_BUILT */
	USCST_ATTR_BAD_VALUE,	/* the table refused the value: message in err */
	USCST_ATTR_NO_MEMORY,
};

/* Looks up name in t's driver table and checks value; stores nothing. */
enum uscst_attr_result uscst_transport_check_driver_attr(const struct uscst_transport *t,
							 const char *name, const char *value,
							 char *err, size_t errlen);
/* Checks, then stores: one more value of a USCST_ATTR_MULTI attribute,
 * the value of any other (a repeated one: the last wins). */
enum uscst_attr_result uscst_transport_set_driver_attr(const struct uscst_transport *t,
						       const char *name, const char *value,
						       char *err, size_t errlen);
/* Forgets the driver attributes configured for every transport. */
void uscst_transports_clear_driver_attrs(void);
/* At run time: the transport driver listens on one more portal, or stops
 * listening on one (its add_portal / remove_portal), and its "listen"
 * attribute says so.  0, or -errno with a message. */
int uscst_live_portal(const char *driver, const char *addr, bool add, char *err, size_t errlen);
/* Gives driver attribute name the values values[0..n) in every transport
 * whose driver table has it (uscstd --listen), unchecked: start reports a
 * bad one.  Returns how many transports, or -1 (ENOMEM). */
int uscst_transports_replace_driver_attr(const char *name, const char *const *values, size_t n);

/* t's driver attributes in force: t->show, else the configured values in
 * table order. */
void uscst_transport_show(const struct uscst_transport *t, uscst_attr_emit_fn emit, void *arg);

/* Starts every registered transport in registration order; if one fails,
 * stops those started.  0, or -1 with the failing transport's message. */
int uscst_transports_start(char *err, size_t errlen);
/* Lets every started transport take connections (its serve), in
 * registration order: called once the daemon has dropped root.  0, or -1
 * with the failing transport's message (the caller stops them all). */
int uscst_transports_serve(char *err, size_t errlen);
/* Graceful stop: every started transport's quiesce (no new connection or
 * login, sessions asked to end within wait_s seconds), then the sum of
 * their active counts until it reaches 0 (uscstd polls it). */
void uscst_transports_quiesce(unsigned wait_s);
unsigned uscst_transports_active(void);
/* Stops the started transports, the last started first. */
void uscst_transports_stop(void);

#endif
