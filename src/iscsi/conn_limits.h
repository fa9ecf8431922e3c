/*
 * Daemon-wide limits of the iSCSI driver, from its TARGET_DRIVER iscsi
 * attributes (read when the portals start): they apply before a login has
 * named its target, so they cannot be per-target.
 *   LoginTimeout              seconds a connection may take to reach full
 *                             feature phase (default 30)
 *   MaxConnectionsPerAddress  connections from one initiator address,
 *                             logged in or not (default 64, 0 = no limit)
 */
#ifndef USCST_ISCSI_CONN_LIMITS_H
#define USCST_ISCSI_CONN_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#define ISCSI_DEFAULT_LOGIN_TIMEOUT "30"
#define ISCSI_DEFAULT_MAX_CONNS_PER_ADDR "64"

/* Sets the limits (attribute values as configured, already checked by the
 * core against the driver's attribute table; NULL keeps the default). */
void iscsi_conn_limits_set(const char *login_timeout, const char *max_conns_per_addr);
uint32_t iscsi_login_timeout_s(void);

/* Counts a connection from peer ("ADDR:PORT" or "[V6]:PORT"; the port is
 * left out): false if the address already has MaxConnectionsPerAddress.
 * Every true must be matched by one iscsi_addr_release(peer). */
bool iscsi_addr_acquire(const char *peer);
void iscsi_addr_release(const char *peer);

#endif
