/*
 * The CmdSN window (MaxCmdSN) a session grants, and the room it reserves
 * in the daemon's MaxBufferMemory for what the initiator may send unasked
 * with each command inside it (cmd_window.c).
 */
#ifndef USCST_ISCSI_CMD_WINDOW_H
#define USCST_ISCSI_CMD_WINDOW_H

#include <stdint.h>

struct iscsi_session;

/* Sets the session's unsolicited bytes per slot from its negotiated
 * parameters and grants its first window (at login, before the response
 * that carries MaxCmdSN). */
void iscsi_cmd_window_open(struct iscsi_session *sess);
/* Advances MaxCmdSN as far as QueuedCommands and the reserved room allow
 * (never backwards, never below one open slot); returns it. */
uint32_t iscsi_cmd_window_grant(struct iscsi_session *sess);
/* Gives back the reservation of slots ExpCmdSN has passed. */
void iscsi_cmd_window_sync(struct iscsi_session *sess);
/* Gives back the whole reservation (the session is being freed). */
void iscsi_cmd_window_close(struct iscsi_session *sess);

#endif
