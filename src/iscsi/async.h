/*
 * Asynchronous Messages (RFC 7143 11.9): the target speaking first.  Every
 * function runs on the connection's reactor thread, takes a connection in
 * full feature phase of a normal or discovery session, queues the PDU
 * (ITT 0xffffffff, a StatSN of its own) and flushes it; false if the
 * connection is not in full feature phase or memory ran out (nothing was
 * sent).  The flush never blocks: what the socket does not take now goes
 * out with the connection's next write.
 */
#ifndef USCST_ISCSI_ASYNC_H
#define USCST_ISCSI_ASYNC_H

#include <stdbool.h>
#include <stdint.h>

struct iscsi_conn;

/* AsyncEvent codes (11.9.1). */
enum iscsi_async_event {
	ISCSI_ASYNC_SCSI_EVENT = 0,	 /* sense data in the data segment */
	ISCSI_ASYNC_LOGOUT_REQUEST = 1,	 /* Parameter3: log out within, seconds */
	ISCSI_ASYNC_DROP_CONNECTION = 2, /* P1 CID, P2 Time2Wait, P3 Time2Retain */
	ISCSI_ASYNC_DROP_SESSION = 3,	 /* P2 Time2Wait, P3 Time2Retain */
	ISCSI_ASYNC_RENEGOTIATE = 4,	 /* Parameter3: send a Text request within */
	ISCSI_ASYNC_VENDOR = 255,
};

struct iscsi_async_msg {
	uint8_t event;
	uint8_t vcode; /* AsyncVCode (event 255 only) */
	uint16_t param1, param2, param3;
	uint64_t lun;	      /* event 0: the LU the sense data is about */
	const uint8_t *sense; /* event 0: sense data (copied), SenseLength prepended */
	uint8_t sense_len;
	/* The target closes the connection once the PDU is written (events 2
	 * and 3, when it drops the connection itself right away). */
	bool close_after;
};

/* Any event, as given. */
bool iscsi_async_send(struct iscsi_conn *conn, const struct iscsi_async_msg *m);

/* 1: the initiator must log out within within_s seconds (graceful stop). */
bool iscsi_async_logout_request(struct iscsi_conn *conn, uint16_t within_s);
/* 2: this connection is dropped (closed after the message when close is
 * true); the initiator may reconnect after time2wait seconds and recover
 * tasks within time2retain (0: nothing is kept). */
bool iscsi_async_drop_connection(struct iscsi_conn *conn, uint16_t time2wait, uint16_t time2retain,
				 bool close);
/* 3: every connection of the session is dropped (this one closed after the
 * message when close is true); the other connections of the session (MC/S)
 * are the caller's. */
bool iscsi_async_drop_session(struct iscsi_conn *conn, uint16_t time2wait, uint16_t time2retain,
			      bool close);
/* 4: the initiator must renegotiate (a Text request) within within_s. */
bool iscsi_async_renegotiate(struct iscsi_conn *conn, uint16_t within_s);
/*
 * 0: a SCSI asynchronous event about lun, as sense data (at most 252
 * bytes).  Nothing in uscst sends one on its own: SPC-3 made the Control
 * mode page's RAEN/UAAENP/EAENP bits obsolete and SPC-4/SAM-5 define no
 * other way for an initiator to ask for asynchronous event reports, so a
 * target cannot know that one is wanted; unit attentions are reported with
 * the next command instead.
 */
bool iscsi_async_scsi_event(struct iscsi_conn *conn, uint64_t lun, const uint8_t *sense,
			    uint8_t sense_len);

/*
 * The target ends things on its own (conn_drop.c).  iscsi_session_drop:
 * every connection of sess, each told first (AsyncEvent 3, Time2Retain 0)
 * and closed once that is written; its commands must have been aborted.
 * iscsi_conn_drop: conn is closed now, and another live connection of its
 * session, if any, carries AsyncEvent 2 about it.
 */
struct iscsi_session;
void iscsi_session_drop(struct iscsi_session *sess, const char *why);
void iscsi_conn_drop(struct iscsi_conn *conn, const char *why);

#endif
