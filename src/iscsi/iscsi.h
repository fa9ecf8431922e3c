/*
 * The iSCSI target driver: connections, sessions and tasks.
 *
 * A session, its connections (MaxConnections, RFC 7143 MC/S) and their
 * tasks are touched only by the session's reactor thread: a connection
 * that joins an existing session moves onto that reactor while it logs in
 * (conn_join.c), so CmdSN ordering across connections, the session-wide
 * window and the core session need no lock.  The one shared structure is
 * the session table used for TSIH allocation, adding connections and
 * session reinstatement (iscsi/session.c).
 */
#ifndef USCST_ISCSI_H
#define USCST_ISCSI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <uscst/reactor.h>
#include <uscst/transport.h>
#include <uscst/transport_reg.h>

#include "iscsi/params.h"
#include "iscsi/pdu.h"
#include "iscsi/task_table.h"
#include "lib/list.h"

struct iscsi_conn;
struct iscsi_session;

/* One outgoing PDU: header (+ header digest), optional data, padding and
 * data digest.  Data points into a task buffer or into `owned`. */
struct iscsi_tx {
	struct list_head node;
	uint8_t hdr[ISCSI_BHS_LEN + ISCSI_DIGEST_LEN];
	uint32_t hdr_len;
	const uint8_t *data;
	uint32_t data_len;
	uint8_t trailer[3 + ISCSI_DIGEST_LEN]; /* padding + data digest */
	uint32_t trailer_len;
	uint32_t sent;			 /* bytes already written */
	void *owned;			 /* freed after sending */
	struct iscsi_task *release_task; /* task to free once this PDU is out */
	bool close_after;		 /* Logout Response, Login reject */
};

/* What an answered task keeps at ErrorRecoveryLevel >= 1 so that a SNACK
 * can have its Data-In and status sent again (erl1.c, data_in.c). */
struct iscsi_task_erl {
	bool retained;	  /* on conn->erl_retained until ExpStatSN passes stat_sn */
	bool status_sent; /* stat_sn is valid */
	bool collapsed;	  /* the status went in the last Data-In (S bit) */
	bool data_freed;  /* in_buf released (DataACK, or the retention bound) */
	uint32_t stat_sn;
	uint32_t din_len;		    /* Data-In bytes the task sends */
	uint32_t din_seg;		    /* segment size of the Data-In layout */
	uint32_t din_base_sn, din_base_off; /* the layout starts here (R-Data) */
	uint32_t din_count;		    /* DataSNs of the layout: base_sn + its PDUs */
	uint32_t acked_sn;		    /* DataSNs below are acknowledged (DataACK) */
	uint32_t ack_ttt;		    /* the TTT of its Data-In with the A bit */
	uint32_t snack_tag;		    /* of the last R-Data SNACK, 0: none */
};

enum iscsi_task_state {
	TASK_RECV_DATA, /* collecting Data-Out (and/or waiting for CmdSN order) */
	TASK_EXECUTING, /* in the core / backend */
	TASK_DONE,	/* response queued */
};

struct iscsi_task {
	struct uscst_cmd cmd; /* first: the core's view */
	struct iscsi_conn *conn;
	struct list_head node; /* conn->tasks */
	/* sess->cmdsn_queue until in CmdSN order, then sess->exec_queue until
	 * handed to the core (session-wide: commands of every connection) */
	struct list_head wait_node;
	enum iscsi_task_state state;
	uint32_t itt;
	uint32_t cmdsn;
	bool immediate;
	uint8_t bhs[ISCSI_BHS_LEN]; /* the SCSI Command PDU, for Reject and decode */
	/* Data-Out bookkeeping (all offsets are in the initiator's EDTL space). */
	uint32_t edtl_out;     /* Data-Out the initiator will send (W bit) */
	uint32_t unsol_limit;  /* end of the unsolicited region */
	uint32_t next_r2t_off; /* first byte not yet solicited */
	uint32_t r2t_outstanding;
	uint32_t r2tsn;
	uint32_t unsol_datasn; /* expected DataSN in the unsolicited sequence */
	uint32_t unsol_next;   /* expected offset of the next unsolicited Data-Out */
	uint32_t data_digest_errors;
	struct iscsi_r2t *r2ts; /* outstanding R2T sequences */
	bool protocol_error;	/* a Data-Out broke the rules: fail the command */
	bool out_too_big;	/* Data-Out buffer refused: fail the command */
	bool unsol_open;	/* unsolicited Data-Out sequence still running */
	bool received_all;	/* every Data-Out sequence has ended */
	bool ordered;		/* ExpCmdSN has passed this task (or immediate) */
	bool aborted;
	/* Aborted by this initiator's own ABORT TASK / ABORT TASK SET / CLEAR
	 * TASK SET with R2Ts open: the initiator still answers them (RFC 7143
	 * 11.5.1), their Data-Out is taken and dropped, and the TMF answer
	 * waits until every one has ended (data_out.c). */
	bool abort_owes_data;
	bool r2t_parked;   /* waits for buffer memory before its first R2T (write_buf.c) */
	bool imm_placed;   /* the immediate data is in out_buf already (adopted) */
	bool cdb_too_long; /* an Extended CDB beyond USCST_MAX_CDB: refused */
	bool bidi;	   /* R and W, with the Bidirectional Read EDTL AHS */
	uint32_t bidi_read_len;
	struct iscsi_task_erl erl; /* ErrorRecoveryLevel 1: what a SNACK resends (erl1.c) */
	/* Its connection failed at ErrorRecoveryLevel 2: kept, unanswered,
	 * for a TASK REASSIGN on another connection (reassign.c). */
	bool awaiting_reassign;
	uint32_t datasn_skip; /* reassigned: Data-In below this DataSN is not sent again */
};

/* A solicited sequence: one R2T and the Data-Out PDUs answering it. */
struct iscsi_r2t {
	struct iscsi_r2t *next;
	uint32_t ttt;
	uint32_t offset, length;
	uint32_t received;
	uint32_t next_datasn;
	uint32_t r2tsn;
};

enum iscsi_conn_state {
	CONN_LOGIN,
	CONN_FULL_FEATURE,
	CONN_LOGGED_OUT, /* Logout Response queued: nothing more is accepted */
	CONN_CLOSED,
};

enum rx_stage { RX_BHS, RX_REST, RX_DISCARD };

/* A PDU whose data segment is read from the socket straight into place
 * (conn.c), not staged in rx_buf: a Data-Out into its task's buffer at its
 * offset, a WRITE's immediate data into `hold`, which the task then adopts
 * as its buffer (write_buf.c). */
struct iscsi_rx_direct {
	bool active;
	bool immediate; /* a SCSI Command: the data goes to hold */
	uint8_t bhs[ISCSI_BHS_LEN];
	struct iscsi_task *task;	    /* Data-Out: NULL once freed (the rest is dropped) */
	uint32_t offset;		    /* Data-Out: its BufferOffset */
	uint32_t dlen, got;		    /* data segment: length, bytes received */
	uint8_t tail[3 + ISCSI_DIGEST_LEN]; /* padding and data digest */
	uint32_t tail_len, tail_got;
	uint32_t crc; /* CRC32C so far of what was received (DataDigest) */
	struct uscst_cmd hold;
};

struct iscsi_conn {
	struct reactor *reactor;
	struct reactor_event ev;
	struct reactor_ticker ticker;
	struct reactor_deferred teardown; /* frees tasks and queues after a close */
	int fd;
	atomic_int refs;
	enum iscsi_conn_state state;
	char peer[64];
	char local_addr[64]; /* "addr:port" of our side, for SendTargets */
	struct iscsi_session *sess;
	struct list_head sess_node; /* sess->conns, changed under the table lock */
	/* Joining an existing session: handed over to the session's reactor
	 * (conn_join.c); nothing is read meanwhile. */
	bool moving;
	struct reactor_deferred move_kick;
	struct reactor *move_to;
	void (*move_arrived)(struct iscsi_conn *conn, void *arg);
	void *move_arg;

	/* Receive side: PDUs are parsed in place from rx_buf. */
	uint8_t *rx_buf;
	uint32_t rx_cap, rx_len;
	uint32_t rx_discard; /* bytes of an oversized PDU still to skip */
	struct iscsi_rx_direct rx_direct;
	bool rx_expect_large; /* the last PDU was received in place (conn.c) */

	/* Transmit side. */
	struct list_head tx_queue;
	bool want_write;
	struct reactor_deferred flush_kick; /* iscsi_conn_flush_soon */

	/* Memory and time bounds (conn.c): what the connection holds is kept
	 * under mem_cap by not reading while above it. */
	uint64_t tx_bytes;		 /* unsent bytes on tx_queue */
	uint64_t tx_mem;		 /* memory owned by queued PDUs (not task buffers) */
	uint64_t mem_cap;		 /* bytes of commands and responses we hold at most */
	uint64_t mem_published;		 /* what we added to the daemon's total (conn_limits.c) */
	uint64_t tx_progress_ms;	 /* last write progress, or when the queue filled */
	bool rx_paused;			 /* EPOLLIN dropped: over the cap */
	struct reactor_deferred rx_kick; /* processes rx_buf after a resume */

	/* Negotiated values in force for this connection. */
	bool header_digest, data_digest;
	uint32_t max_recv_dsl; /* what we accept */
	uint32_t max_xmit_dsl; /* what we send */

	/* Sequence numbers. */
	uint32_t stat_sn;
	uint16_t cid;

	/* Login. */
	struct iscsi_login *login;
	uint64_t login_deadline_ms; /* closed if still in login then (LoginTimeout) */

	/* Full feature phase. */
	struct list_head tasks;
	struct task_table itt_table;	      /* tasks not yet answered, by ITT (scsi_cmd.c) */
	struct reactor_deferred deliver_kick; /* exec_queue changed outside rx */
	struct reactor_deferred write_kick;   /* buffers released: solicit parked tasks */
	bool write_parked;		      /* some task is r2t_parked */
	unsigned ntasks;
	unsigned nactive;    /* tasks not yet freed (their last PDU not yet written) */
	unsigned nimmediate; /* of which immediate commands */
	uint32_t next_ttt;
	/* Text request continuation (long SendTargets answers). */
	struct text_buf *text_pending;
	uint32_t text_sent;
	uint32_t text_ttt;
	uint32_t text_xmit_dsl; /* MaxRecvDataSegmentLength declared in it, or 0 */
	bool in_rx;		/* processing received PDUs: responses are flushed at the end */
	/* Keep-alive. */
	uint64_t last_rx_ms;
	bool counted_idle;    /* nothing received for CONN_IDLE_MS: reactor_conn_idle_add */
	uint64_t nop_sent_ms; /* 0: no ping outstanding */
	uint32_t nop_ttt;
	/* Sequences of tasks a reset aborted without waiting for their
	 * Data-Out: what the initiator still sends on them is dropped, not
	 * Rejected (abort.c).  A ring: the oldest is forgotten first. */
#define ISCSI_RETIRED_SEQS 32
	struct {
		uint32_t itt, ttt;
		bool open;
	} retired[ISCSI_RETIRED_SEQS];
	unsigned retired_next;
	/* Connection recovery (ErrorRecoveryLevel 2, reassign.c): a closed
	 * connection whose tasks are retained stays (with its ticker and a
	 * reference) until they are reassigned or Time2Wait + Time2Retain
	 * have passed.  no_recovery: its end is a logout or the session's,
	 * nothing is kept. */
	bool no_recovery;
	bool retaining;
	uint64_t retain_until_ms;
	/* A Logout that waits for the commands in the backend (logout.c). */
	bool logout_pending;
	uint32_t logout_itt;
	/* ErrorRecoveryLevel >= 1 (erl1.c): answered tasks kept until the
	 * initiator acknowledges their status, oldest (lowest StatSN) first. */
	struct list_head erl_retained;
	unsigned erl_nretained;
	uint64_t erl_retained_mem;
	uint32_t exp_stat_sn; /* the highest ExpStatSN the initiator sent */
};

struct iscsi_session {
	struct list_head node; /* session table */
	uint8_t isid[6];
	uint16_t tsih;
	uint16_t tpgt;		  /* the target portal group logged in through */
	struct uscst_target *tgt; /* NULL for discovery sessions */
	struct uscst_session *core;
	struct iscsi_params params;
	struct iscsi_target_limits lim;
	/* Its connections (iscsi_conn.sess_node): added and removed on the
	 * session's reactor under the table lock, so that the control thread
	 * may list them (session_info.c). */
	struct list_head conns;
	unsigned nconns;
	struct reactor *reactor;
	/* Session-wide CmdSN order (RFC 7143 3.2.2.1): commands of every
	 * connection wait in cmdsn_queue until ExpCmdSN reaches them, then in
	 * exec_queue until handed to the core. */
	struct list_head cmdsn_queue;
	struct list_head exec_queue;
	unsigned nactive; /* tasks of all its connections not yet freed: the window */
	uint32_t exp_cmdsn;
	uint32_t max_cmdsn; /* the last MaxCmdSN we advertised */
	/* MaxBufferMemory reserved for unsolicited data of open slots
	 * (cmd_window.c): unsol_per_slot bytes each. */
	uint32_t unsol_per_slot;
	uint64_t unsol_reserved;
	uint64_t unsol_small; /* the part of it counted as a small holder's */
			      /* CmdSNs inside the window taken without a task (a Rejected command,
			       * a command ABORT TASK named before it arrived, a non-SCSI PDU out of
			       * order): ExpCmdSN passes them, a late command with one is dropped.
			       * Bit (sn % ISCSI_CMDSN_RING) stands for sn; the window (QueuedCommands
			       * <= 2048) is always smaller than the ring. */
#define ISCSI_CMDSN_RING 4096u
	uint64_t cmdsn_taken[ISCSI_CMDSN_RING / 64];
	uint32_t cmd_window; /* QueuedCommands */
	bool reinstated;
	/* Set under the table lock once login has filled everything the
	 * admin listing reads from the control thread (session_info.c):
	 * isid, tsih, tgt, core, params, cmd_window, none of which changes
	 * afterwards; conns (each one's cid, peer and local_addr are fixed)
	 * is read under the lock it changes under. */
	bool listed;
};

/* At most this many immediate commands per session (they bypass the
 * CmdSN window); more are rejected with reason 0x06 (RFC 7143 11.17.1). */
#define ISCSI_MAX_IMMEDIATE_CMDS 16

/* conn.c */
void iscsi_conn_accept(int fd, const char *peer, const char *local);
void iscsi_conn_close(struct iscsi_conn *conn, const char *why);
/* Closes conn with nothing kept for connection recovery (a logout, a
 * reinstated or reset session); drops what a closed one still retains. */
void iscsi_conn_end(struct iscsi_conn *conn, const char *why);
void iscsi_conn_get(struct iscsi_conn *conn);
/* Takes a reference unless the connection is already being freed. */
bool iscsi_conn_tryget(struct iscsi_conn *conn);
void iscsi_conn_put(struct iscsi_conn *conn);
/* Runs fn(d) after the reactor's current epoll batch, holding a reference
 * on conn until fn drops it; nothing if conn is closed or d is queued. */
void iscsi_conn_defer(struct iscsi_conn *conn, struct reactor_deferred *d,
		      void (*fn)(struct reactor_deferred *d));
/* p: the connection's negotiated values (digests, data segment lengths). */
void iscsi_conn_enter_full_feature(struct iscsi_conn *conn, const struct iscsi_params *p);
/* Hands a connection in login phase over to reactor `to`: after the
 * current batch it leaves this reactor, and arrived(conn, arg) runs on
 * `to` once it is registered there.  Nothing is read from it meanwhile.
 * If it is closed before it leaves, arrived never runs (arg is the
 * caller's to free: pass what the login owns). */
void iscsi_conn_move(struct iscsi_conn *conn, struct reactor *to,
		     void (*arrived)(struct iscsi_conn *conn, void *arg), void *arg);
/* Queues a PDU; hdr is the 48-byte BHS (digests and padding are added). */
struct iscsi_tx *iscsi_tx_new(struct iscsi_conn *conn);
void iscsi_tx_queue(struct iscsi_conn *conn, struct iscsi_tx *tx);
void iscsi_conn_flush(struct iscsi_conn *conn);
/* Flushes once the reactor's current batch of events and completions has
 * been handled: the responses of every command completing in the batch go
 * out in one writev, not one each. */
void iscsi_conn_flush_soon(struct iscsi_conn *conn);
/* Fills StatSN/ExpCmdSN/MaxCmdSN at bytes 24..35; advances StatSN if asked. */
void iscsi_put_sn(struct iscsi_conn *conn, uint8_t *bhs, bool advance_statsn);
uint32_t iscsi_conn_max_cmdsn(const struct iscsi_conn *conn);
/* Whether conn's session has another connection open or retaining tasks
 * (if not, the session ends with conn). */
bool iscsi_session_still_used(const struct iscsi_conn *conn);

/* erl1.c: ErrorRecoveryLevel 1 (RFC 7143 6, 11.16). */
static inline bool iscsi_erl1(const struct iscsi_conn *conn)
{
	return conn->sess && conn->sess->params.error_recovery_level >= 1;
}
void iscsi_snack_rx(struct iscsi_conn *conn, const uint8_t *bhs);
/* Every PDU in full feature phase: its ExpStatSN releases retained tasks. */
void iscsi_erl1_exp_stat_sn(struct iscsi_conn *conn, const uint8_t *bhs);
/* From iscsi_task_free: keeps an answered task for SNACK (true) or not. */
bool iscsi_erl1_retain(struct iscsi_task *task);
void iscsi_erl1_unretain(struct iscsi_task *task);
/* At teardown: frees every retained task. */
void iscsi_erl1_drop_all(struct iscsi_conn *conn);
/* A recovery R2T for [offset, offset + len) of a WRITE (digest error or a
 * lost Data-Out at ERL 1).  false: none (the task has too many open R2Ts,
 * or out of memory): the caller fails the command as at ERL 0. */
bool iscsi_erl1_recovery_r2t(struct iscsi_task *task, uint32_t offset, uint32_t len);

/* reject.c */
void iscsi_send_reject(struct iscsi_conn *conn, const uint8_t *bhs, uint8_t reason);

/* login.c */
void iscsi_login_rx(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data,
		    uint32_t dlen);
void iscsi_login_free(struct iscsi_conn *conn);

/* session.c */
/* -EBUSY: MaxSessions reached (max 0: no limit); -ENOSPC: no TSIH left;
 * -ESHUTDOWN: the table is closed (iscsi_sessions_close). */
int iscsi_session_register(struct iscsi_session *sess, unsigned max_sessions);
void iscsi_session_unregister(struct iscsi_session *sess);
bool iscsi_session_tsih_exists(uint16_t tsih);
/* sess is complete: the admin listing may show it (see listed). */
void iscsi_session_publish(struct iscsi_session *sess);
/* fn for every listed session, under the table lock (fn must not block). */
void iscsi_sessions_foreach_listed(void (*fn)(const struct iscsi_session *s, void *arg), void *arg);
void iscsi_session_reinstate_old(struct iscsi_session *newer);
/* The session a connection may join (RFC 7143 6.3: same ISID and TSIH,
 * neither ending nor reinstated) and its reactor; NULL if none.  The
 * pointer may be used only on that reactor (where the session is freed). */
struct iscsi_session *iscsi_session_find(uint16_t tsih, const uint8_t *isid, struct reactor **r);
/* On the session's reactor: conn becomes one of its connections. */
void iscsi_session_add_conn(struct iscsi_session *sess, struct iscsi_conn *conn);
/* conn leaves its session; true if it was the last (the session has left
 * the table and is the caller's to free). */
bool iscsi_session_remove_conn(struct iscsi_conn *conn);
/* Closes the table to new sessions and calls fn for every session in it,
 * under the table's lock (fn must not block or take it). */
void iscsi_sessions_close(void (*fn)(struct iscsi_session *s, void *arg), void *arg);
/* The table is closed (the daemon is stopping): no login may add to it. */
bool iscsi_sessions_closing(void);
/* Logs every session still in the table (at stop: those being cut). */
void iscsi_sessions_log_left(void);

/* quiesce.c: the transport's graceful stop (include/uscst/transport_reg.h). */
void iscsi_quiesce(const struct uscst_transport *t, unsigned wait_s);
unsigned iscsi_active(const struct uscst_transport *t);
/* After the stop's bound (the transport's stop): every session left is
 * told its connection is dropped (AsyncEvent 2) and closed, on its
 * reactor (which handles it before it stops). */
void iscsi_quiesce_drop_left(void);

/* scsi_cmd.c, data_out.c, data_in.c */
void iscsi_scsi_cmd_rx(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data,
		       uint32_t dlen, bool digest_error);
void iscsi_data_out_rx(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data,
		       uint32_t dlen, bool digest_error);
void iscsi_task_start_data(struct iscsi_task *task);
void iscsi_task_immediate_data(struct iscsi_task *task, const uint8_t *data, uint32_t dlen,
			       bool digest_error);
/* Marks the data phase complete when it is, and executes the task if ready. */
void iscsi_task_check_data_done(struct iscsi_task *task);
void iscsi_task_send_response(struct iscsi_task *task);
void iscsi_task_free(struct iscsi_task *task);
void iscsi_r2t_free(struct iscsi_r2t *r);
struct iscsi_r2t *iscsi_r2t_alloc(struct iscsi_conn *conn);
void iscsi_r2t_send(struct iscsi_task *task, const struct iscsi_r2t *r);
uint32_t iscsi_new_ttt(struct iscsi_conn *conn);
/* data_in.c: Data-In PDU datasn of the task's layout again (a copy of its
 * data), and its status again (the SCSI Response, or the last Data-In). */
bool iscsi_data_in_resend(struct iscsi_task *task, uint32_t datasn, bool copy);
void iscsi_response_resend(struct iscsi_task *task);
/* Offset of DataSN datasn in the task's Data-In layout. */
uint32_t iscsi_data_in_offset(const struct iscsi_task *task, uint32_t datasn);
/* Lays the Data-In out again from DataSN acked_sn with today's segment size. */
void iscsi_data_in_relayout(struct iscsi_task *task);
void iscsi_cmdsn_advance(struct iscsi_conn *conn);
/* A non-SCSI PDU (NOP-Out, TMF, Text, Logout) that is not immediate takes
 * its CmdSN when it is the next one expected. */
void iscsi_cmdsn_consume(struct iscsi_conn *conn, const uint8_t *bhs);
/* Counts a CmdSN inside the window as received without a task to run. */
void iscsi_cmdsn_mark_received(struct iscsi_conn *conn, uint32_t cmdsn);
/* Hands the tasks of conn->exec_queue that may start to the core. */
void iscsi_deliver_in_order(struct iscsi_conn *conn);
struct iscsi_task *iscsi_task_find(struct iscsi_conn *conn, uint32_t itt);
/* The task whose buffer a Data-Out (header bhs, dlen data bytes) may be
 * received straight into at its BufferOffset: one that takes this PDU as
 * the next of an open sequence, within its buffer.  NULL: anything else
 * (errors included) takes the ordinary path through rx_buf. */
struct iscsi_task *iscsi_data_out_direct(struct iscsi_conn *conn, const uint8_t *bhs,
					 uint32_t dlen);
void iscsi_task_execute(struct iscsi_task *task);

/* write_buf.c: a WRITE's buffer grows as its data is solicited, within the
 * connection's cap.  Largest Data-Out buffer one command may make us hold. */
#define ISCSI_MAX_OUT_BUFFER (64u * 1024 * 1024)
/* At arrival (after iscsi_task_start_data): the part sent unasked. false:
 * out of memory. */
bool iscsi_write_buf_start(struct iscsi_task *task, uint32_t immediate_len);
/* Before the first R2T: the whole buffer, or false (the task is parked). */
bool iscsi_write_buf_ready(struct iscsi_task *task);
/* Buffers were released or the oldest task changed: retry parked tasks. */
void iscsi_write_gate_kick(struct iscsi_conn *conn);
/* True if a WRITE of edtl bytes arriving with imm bytes of immediate data
 * may have its whole buffer now (as iscsi_write_buf_ready would let it),
 * rather than only the immediate data. */
bool iscsi_write_buf_may_hold(struct iscsi_conn *conn, uint32_t edtl, uint32_t imm);
/* Brings the daemon's total (MaxBufferMemory) up to date with what conn
 * holds now; returns that (conn.c). */
uint64_t iscsi_conn_publish_mem(struct iscsi_conn *conn);

/* abort.c: the core's callbacks into this transport. */
extern const struct uscst_transport_ops iscsi_core_ops;
enum uscst_abort_result iscsi_cmd_aborted(struct uscst_cmd *cmd, bool wait_data);
/* Data-Out on a sequence of a task aborted without waiting for it (true:
 * drop it silently); an F bit ends the sequence. */
bool iscsi_retired_data_out(struct iscsi_conn *conn, const uint8_t *bhs);
void iscsi_drop_nexus(struct uscst_session *s, void *ctx);

/* reassign.c: connection recovery (ErrorRecoveryLevel 2). */
/* At conn's close: whether its tasks are kept for reassignment; if so
 * they are marked retained and conn keeps a reference and its ticker. */
bool iscsi_retain_tasks(struct iscsi_conn *conn);
/* On the closed conn's tick: drops its tasks once Time2Retain is over. */
void iscsi_retain_tick(struct iscsi_conn *conn, uint64_t now_ms);
/* Drops every retained task of the closed conn now. */
void iscsi_retain_drop(struct iscsi_conn *conn, const char *why);
/* TMF TASK REASSIGN (RFC 7143 11.5.1) received on conn. */
void iscsi_task_reassign_rx(struct iscsi_conn *conn, const uint8_t *bhs);
/* data_out.c: a reassigned WRITE asks again for the Data-Out it lacks. */
void iscsi_task_resolicit(struct iscsi_task *task);

/* nop.c: an unsolicited NOP-In telling a MaxCmdSN that reopens a closed
 * window; returns true if one was queued. */
bool iscsi_nop_window_update(struct iscsi_conn *conn);

/* tmf.c, nop.c, text.c, logout.c */
void iscsi_send_tmf_response(struct iscsi_conn *conn, const uint8_t *req, uint8_t response,
			     bool close_after);
void iscsi_tmf_rx(struct iscsi_conn *conn, const uint8_t *bhs);
void iscsi_nop_out_rx(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data,
		      uint32_t dlen);
void iscsi_nop_tick(struct iscsi_conn *conn, uint64_t now_ms);
void iscsi_text_rx(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data, uint32_t dlen);
void iscsi_logout_rx(struct iscsi_conn *conn, const uint8_t *bhs);
/* Answers a waiting Logout once no command of conn is executing. */
void iscsi_logout_pending_check(struct iscsi_conn *conn);

/* session_info.c: the transport's sessions op (`uscstadmin list sessions`). */
void iscsi_report_sessions(const struct uscst_transport *t, uscst_session_emit_fn emit, void *arg);

/* digest.c */
uint32_t iscsi_crc32c(const void *data, size_t len, uint32_t seed);
#define ISCSI_CRC32C_SEED 0xffffffffu
uint32_t iscsi_digest(const void *data, size_t len);

/* portal.c */
int iscsi_portal_listen(const char *addr_port, char *err, size_t errlen);
int iscsi_portals_start(void);
/* At run time (the acceptor running or not): listen on one more portal,
 * or stop listening on one (as it was added or configured). 0 or -1. */
int iscsi_portal_add(const char *addr_port, char *err, size_t errlen);
int iscsi_portal_remove(const char *addr_port, char *err, size_t errlen);
void iscsi_portals_close(void);
/* "A.B.C.D:PORT" or "[V6]:PORT" for the log, allowed_portal and the
 * per-address limit; an IPv4-mapped IPv6 address is written as IPv4. */
struct sockaddr_storage;
void iscsi_format_addr(const struct sockaddr_storage *ss, char *buf, size_t len);

/* Command-sequence arithmetic (RFC 1982 serial numbers, 32 bits). */
static inline bool sn_lt(uint32_t a, uint32_t b) { return a != b && (int32_t)(a - b) < 0; }
static inline bool sn_le(uint32_t a, uint32_t b) { return a == b || (int32_t)(a - b) < 0; }

#endif
