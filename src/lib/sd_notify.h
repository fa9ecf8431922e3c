/*
 * systemd's readiness protocol (sd_notify(3)), written out: one datagram
 * with "READY=1", "STOPPING=1", ... to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).  It is a
 * few lines, so uscstd needs no libsystemd to run under Type=notify, and
 * nothing at all without systemd.
 */
#ifndef USCST_LIB_SD_NOTIFY_H
#define USCST_LIB_SD_NOTIFY_H

/* Sends state; 0 when sent or when $NOTIFY_SOCKET is not set (not under
 * systemd), -errno otherwise (-EINVAL: a name that is not an AF_UNIX
 * address). */
int sd_notify_send(const char *state);

#endif
