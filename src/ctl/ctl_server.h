/*
 * Control socket of uscstd: a UNIX stream socket served by one dedicated
 * thread, so administration never runs on (or waits for) a data-path reactor.
 *
 * The protocol (one JSON request per connection, one JSON answer) is in
 * ctl/ctl_protocol.h, the verbs in ctl/ctl_verbs.h.  The thread serves up
 * to CTL_MAX_CLIENTS connections at once with poll(): a client that
 * connects and sends nothing, or sends slowly, holds only its own slot
 * until CTL_REQUEST_TIMEOUT_MS, and never stops the others; requests are
 * answered one at a time, in the order they complete.
 */
#ifndef USCST_CTL_CTL_SERVER_H
#define USCST_CTL_CTL_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "ctl/ctl_protocol.h"

#define CTL_NO_GROUP ((gid_t)-1)
#define CTL_MAX_CLIENTS 32	   /* connections served at once; more get an error */
#define CTL_WRITE_TIMEOUT_MS 10000 /* to take the whole answer */

/* Creates the socket (and its directory if missing; a stale socket file
 * left by a dead daemon is replaced, a live one is an error) and starts the
 * thread.  path NULL means CTL_DEFAULT_SOCKET.  The socket is mode 0600,
 * or 0660 owned by group when group is not CTL_NO_GROUP (--ctl-group).
 * 0, or -1 with a message. */
int ctl_server_start(const char *path, gid_t group, char *err, size_t errlen);
/* Asks the control thread to re-apply the start-up configuration file
 * (ctl/ctl_config.h: SIGHUP); returns at once.  Safe if not started. */
void ctl_server_reload(void);
/* Stops the thread, closes and removes the socket.  Safe if not started. */
void ctl_server_stop(void);

#endif
