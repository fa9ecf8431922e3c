/*
 * Daemon-wide limits of the iSCSI driver, from its TARGET_DRIVER iscsi
 * attributes (read when the portals start): they apply before a login has
 * named its target, so they cannot be per-target.
 *   LoginTimeout              seconds a connection may take to reach full
 *                             feature phase (default 30)
 *   MaxConnections            connections of the daemon in all, logged in
 *                             or not (default 4096, 0 = no limit)
 *   MaxConnectionsPerAddress  connections from one initiator address,
 *                             logged in or not (default 64, 0 = no limit)
 *   MaxBufferMemory           MiB of command buffers and queued responses
 *                             all connections together hold (default 0: a
 *                             quarter of the machine's memory)
 */
#ifndef USCST_ISCSI_CONN_LIMITS_H
#define USCST_ISCSI_CONN_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#define ISCSI_DEFAULT_LOGIN_TIMEOUT "30"
#define ISCSI_DEFAULT_MAX_CONNS "4096"
#define ISCSI_DEFAULT_MAX_CONNS_PER_ADDR "256"
#define ISCSI_DEFAULT_MAX_BUFFER_MEMORY "0"
/* The last eighth of MaxBufferMemory is kept for connections that hold
 * at most ISCSI_BUF_MEM_GUARANTEE (a few ordinary commands), so that
 * sessions which filled the rest cannot stall a session that asks for
 * little.  (It used to be taken on top of the cap: 64 sessions could hold
 * 256 MiB more than MaxBufferMemory.) */
#define ISCSI_BUF_MEM_GUARANTEE (4ull << 20)
#define ISCSI_BUF_MEM_RESERVE_DIV 8

/* Sets the limits (attribute values as configured, already checked by the
 * core against the driver's attribute table; NULL keeps the default). */
void iscsi_conn_limits_set(const char *login_timeout, const char *max_conns_per_addr);
uint32_t iscsi_login_timeout_s(void);

/* The daemon's command-buffer memory (MaxBufferMemory).  Each connection
 * publishes what it holds now and what it published before. */
void iscsi_buf_mem_set_cap(const char *mib);
uint64_t iscsi_buf_mem_cap(void);
uint64_t iscsi_buf_mem_total(void);
void iscsi_buf_mem_publish(uint64_t was, uint64_t now);
/* Adds to the total and to its part held by small holders, for a holder
 * that keeps track of its own shares (iscsi/cmd_window.c). */
void iscsi_buf_mem_adjust(int64_t total, int64_t small);
/* True if a connection that holds `held` (its own total, already counted)
 * may take `need` more bytes: within the reserve (the cap's last eighth,
 * shared by the connections that hold at most the guarantee) if it then
 * holds at most the guarantee, else within the cap less the reserve. */
bool iscsi_buf_mem_may_take(uint64_t held, uint64_t need);
/* MaxConnections (NULL: the default). */
void iscsi_conns_set_max(const char *max_conns);
/* Counts one more connection of the daemon: false if it already has
 * MaxConnections.  Every true must be matched by one iscsi_conns_release. */
bool iscsi_conns_acquire(void);
void iscsi_conns_release(void);
/* Connections counted now: each is released once the connection and every
 * command it had in the backend are gone (graceful stop waits for 0). */
unsigned iscsi_conns_count(void);

/* Counts a connection from peer ("ADDR:PORT" or "[V6]:PORT"; the port is
 * left out): false if the address already has MaxConnectionsPerAddress.
 * Every true must be matched by one iscsi_addr_release(peer). */
bool iscsi_addr_acquire(const char *peer);
void iscsi_addr_release(const char *peer);

#endif
