/*
 * Control socket of uscstd: a UNIX stream socket served by one dedicated
 * thread, so administration never runs on (or waits for) a data-path reactor.
 *
 * Protocol: the client sends one request line, the server answers with text
 * and closes the connection.  Answers to failed requests start with "error: ".
 *   version              "uscstd <version>"
 *   show config          running configuration in scst.conf format
 *   show config json     the same objects as JSON (see config/conf_writer.h)
 *   show handlers        device attributes from the tables: the core's, then
 *                        each registered handler's (ctl/ctl_handlers.c)
 *   device NAME resync_size
 *                        re-reads the size of NAME's storage (SCST resync_size):
 *                        "ok: NAME: OLD -> NEW blocks"
 *   help                 the list of commands
 */
#ifndef USCST_CTL_CTL_SERVER_H
#define USCST_CTL_CTL_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#ifndef USCST_VERSION
#define USCST_VERSION "0.1.0"
#endif

#define CTL_DEFAULT_SOCKET "/run/uscst/uscstd.sock"
#define CTL_MAX_REQUEST 1024 /* bytes in a request line, newline included */
#define CTL_ERROR_PREFIX "error: "

#define CTL_NO_GROUP ((gid_t)-1)

/* Creates the socket (and its directory if missing; a stale socket file
 * left by a dead daemon is replaced, a live one is an error) and starts the
 * thread.  path NULL means CTL_DEFAULT_SOCKET.  The socket is mode 0600,
 * or 0660 owned by group when group is not CTL_NO_GROUP (--ctl-group).
 * 0, or -1 with a message. */
int ctl_server_start(const char *path, gid_t group, char *err, size_t errlen);
/* Stops the thread, closes and removes the socket.  Safe if not started. */
void ctl_server_stop(void);

/* The answer to one request line (without its newline); malloc'd, NULL on ENOMEM. */
char *ctl_handle_request(const char *request);

#endif
