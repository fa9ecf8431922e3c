/*
 * Transport API: everything a target driver (iSCSI today) needs from the
 * core.  A transport knows nothing of storage.
 *
 * Life of a command, all on the session's reactor thread:
 *   uscst_cmd_init()     transport fills cdb, lun, tag, exp_len, directions
 *   uscst_cmd_decode()   core: how many Data-Out bytes the CDB asks for
 *                        (cmd->out_len); never fails
 *   ...transport receives min(exp_len, out_len) bytes into cmd->out_buf
 *      (it must still drain anything else the initiator sends)...
 *   uscst_cmd_execute()  core: checks (LUN, UA, reservations, opcode) and
 *                        runs the command; calls cmd->done(cmd) exactly once,
 *                        possibly before returning
 *   ...transport sends cmd->in_buf[0..in_len) clipped to exp_len, status,
 *      sense and residuals...
 *   uscst_cmd_release()  frees data buffers
 *
 * A transport that ends a command itself, without executing it (a data
 * digest error, a protocol error), builds its CHECK CONDITION with
 * uscst_cmd_check_condition() and completes it on its own.
 */
#ifndef USCST_TRANSPORT_H
#define USCST_TRANSPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uscst/backend.h>
#include <uscst/reactor.h>
#include <uscst/scsi_codes.h>

#define USCST_MAX_CDB 32
#define USCST_SENSE_MAX 96
/* Room for an iSCSI name (at most 223 bytes) and its NUL: target and
 * initiator names. */
#define USCST_NAME_MAX 224

struct uscst_target;
struct uscst_session;
struct uscst_lun;
struct core_map_hold;
struct scsi_opcode_desc;
struct uscst_stats;

enum uscst_task_attr {
	USCST_TASK_SIMPLE = 0,
	USCST_TASK_ORDERED = 1,
	USCST_TASK_HEAD_OF_QUEUE = 2,
	USCST_TASK_ACA = 4,
};

struct uscst_cmd {
	/* --- filled by the transport before decode --- */
	struct uscst_session *sess;
	uint64_t lun; /* LUN number (already decoded from the 8-byte format) */
	uint8_t cdb[USCST_MAX_CDB];
	uint16_t cdb_len;
	uint8_t task_attr;
	uint64_t tag;
	uint32_t exp_len; /* initiator's Expected Data Transfer Length */
	bool exp_read;	  /* initiator expects Data-In  (R bit) */
	bool exp_write;	  /* initiator sends Data-Out (W bit) */
	void (*done)(struct uscst_cmd *cmd);
	void *transport_priv;

	/* --- set by decode --- */
	const struct scsi_opcode_desc *op; /* the command set's (opaque); NULL: unsupported */
	struct uscst_lun *lun_ent;	   /* NULL: LUN not mapped for this session */
	struct uscst_device *dev;	   /* lun_ent->dev or NULL */
	uint32_t out_len;		   /* Data-Out bytes the CDB asks for */

	/* --- data buffers --- */
	uint8_t *out_buf;     /* Data-Out as received (owned by the core, see cmd_alloc_out) */
	uint32_t out_buf_len; /* valid bytes in out_buf: min(exp_len, out_len) */
	uint8_t *in_buf;      /* Data-In produced by the command */
	uint32_t in_len;      /* valid bytes in in_buf (before clipping to exp_len) */
	uint32_t in_asked;    /* Data-In the CDB asked for when only in_len of it was
				 produced (what the initiator takes); 0: in_len */
	uint32_t in_cap;

	/* --- result --- */
	uint8_t status; /* SAM status */
	uint8_t sense_len;
	uint8_t sense[USCST_SENSE_MAX];
	bool aborted; /* set by task management: result will be discarded */
	/* The Data-In (in_len bytes) goes to the initiator with a CHECK
	 * CONDITION too; otherwise none does.  A tape READ that met a
	 * filemark or a block of another length sends what it read and says
	 * why it stopped (SSC-4 READ(6)). */
	bool in_with_sense;

	/* --- private to the core's task set (core/task_set.c) --- */
	void (*transport_done)(struct uscst_cmd *cmd);
	struct uscst_cmd *ts_next;

	/* --- private to the core: commands in flight (core/inflight.c) --- */
	uint8_t core_state;	  /* enum core_cmd_state (core/core.h) */
	bool abort_pending;	  /* aborted, counted until it ends or settles */
	struct uscst_cmd *s_next; /* session's list (the session's thread) */
	struct uscst_cmd **s_pprev;
	struct core_map_hold *map_hold; /* the LUN map lun_ent is in (core/live_map.c) */

	/* --- private to the core: statistics (core/stats.h) --- */
	uint64_t start_ns;	       /* CLOCK_MONOTONIC at decode */
	struct uscst_stats *lun_stats; /* its LUN's counters, NULL: LUN not mapped */

	/* --- private to the command's handler while it runs --- */
	struct uscst_io io;
	struct iovec io_iov;		      /* io's one segment (scsi_submit_io()) */
	void (*io_cb)(struct uscst_cmd *cmd); /* see scsi_submit_io() */
	void *hctx;			      /* handler context (freed by the handler) */
	uint64_t hstate[4];
};

/* Sessions (I_T nexus). */
struct uscst_target *uscst_target_find(const char *name);
/* Calls fn for every enabled target, in configuration order. */
void uscst_target_foreach(void (*fn)(struct uscst_target *tgt, void *arg), void *arg);
const char *uscst_target_name(const struct uscst_target *tgt);
/* Whether the target accepts logins (its "enabled" attribute). */
bool uscst_target_enabled(const struct uscst_target *tgt);
uint16_t uscst_target_rel_port_id(const struct uscst_target *tgt);
/* Target attribute value (e.g. "MaxBurstLength"), or NULL when not set. */
const char *uscst_target_attr(const struct uscst_target *tgt, const char *name);
/* The i-th value, in configuration order, of a repeatable target attribute
 * (IncomingUser), or NULL past the last. */
const char *uscst_target_attr_at(const struct uscst_target *tgt, const char *name, unsigned i);
/* Whether this initiator may see the target at all (for SendTargets). */
bool uscst_target_allows(const struct uscst_target *tgt, const char *initiator_name);

/* transport_id is the SPC TransportID's text: for iSCSI "iqn...,i,0x<isid hex>". */
struct uscst_session *uscst_session_create(struct uscst_target *tgt, const char *initiator_name,
					   const char *initiator_port_name);
/* The same through one of the target's other SCSI target ports (an iSCSI
 * target portal group other than the first): its portal group tag and
 * relative target port id (VPD 83h, persistent reservations, ALUA).
 * uscst_session_create is this with tpgt 1 and the target's rel_tgt_id. */
struct uscst_session *uscst_session_create_port(struct uscst_target *tgt,
						const char *initiator_name,
						const char *initiator_port_name, uint16_t tpgt,
						uint16_t rel_port_id);
/*
 * A fence makes task management a real fence: a LUN RESET, TARGET RESET or
 * PREEMPT AND ABORT is answered only once every task it aborted, on every
 * nexus and every thread, has finished or will never start.  Whoever must
 * wait holds a reference; done(f) runs on the thread that drops the last
 * one (any thread).
 */
struct uscst_fence {
	atomic_int pending;
	void (*done)(struct uscst_fence *f);
};
void uscst_fence_init(struct uscst_fence *f, void (*done)(struct uscst_fence *f));
void uscst_fence_get(struct uscst_fence *f);
void uscst_fence_put(struct uscst_fence *f);

/*
 * The core knows every command from the moment the transport decodes it
 * (uscst_cmd_decode(), when it is received, still collecting Data-Out) to
 * its release, per session and per LU, and implements task management
 * itself.  It asks the transport, always on the session's thread:
 */
enum uscst_abort_result {
	USCST_ABORT_DONE,    /* the transport is done with it (may have released it) */
	USCST_ABORT_WAIT,    /* still owed data: the transport calls
				uscst_cmd_abort_settled() (or releases it) later */
	USCST_ABORT_IGNORED, /* already answered: not aborted */
};
struct uscst_transport_ops {
	/* cmd, decoded but not executed, is aborted: stop its data transfer,
	 * never execute or answer it.  wait_data: the initiator keeps
	 * answering the target transfer tags of the task (its own ABORT TASK,
	 * RFC 7143 11.5.1), so the transport may wait for them. */
	/* A command it answered USCST_ABORT_WAIT for comes back with
	 * wait_data false when a reset covers it: stop waiting, return DONE. */
	enum uscst_abort_result (*cmd_aborted)(struct uscst_cmd *cmd, bool wait_data);
	/* End the nexus (TARGET COLD RESET from another nexus). */
	void (*drop_nexus)(struct uscst_session *s, void *ctx);
};
/* The session's transport and the thread its commands run on (r). */
void uscst_session_set_transport(struct uscst_session *s, const struct uscst_transport_ops *ops,
				 void *ctx, struct reactor *r);
/* An aborted command that owed data (USCST_ABORT_WAIT) no longer does. */
void uscst_cmd_abort_settled(struct uscst_cmd *cmd);
/* The nexus is lost (its connection closed; the transport stops all its
 * I/O): every command of s is aborted without status, from the session's
 * thread.  Those still running end on their own and are dropped; the
 * transport releases the others.  uscst_session_destroy() follows once
 * every command is released. */
void uscst_session_nexus_loss(struct uscst_session *s);
/* I_T nexus loss: drops SPC-2 reservations, sets UAs on other nexuses as
 * SPC wants.  The transport has released every command of the session. */
void uscst_session_destroy(struct uscst_session *sess);

/* Commands. */
void uscst_cmd_init(struct uscst_cmd *cmd, struct uscst_session *sess);
void uscst_cmd_decode(struct uscst_cmd *cmd);
/* Data-Out buffer of len bytes, NOT zeroed: the transport fills every byte
 * before executing the command (no stale memory may reach a device).
 * NULL on ENOMEM. */
uint8_t *uscst_cmd_alloc_out(struct uscst_cmd *cmd, uint32_t len);
/* Grows the Data-Out buffer to len bytes, keeping what it holds (the rest
 * not zeroed, as above): a transport may allocate the part the initiator sends unasked
 * first and the rest when it solicits it.  NULL on ENOMEM (buffer kept). */
uint8_t *uscst_cmd_grow_out(struct uscst_cmd *cmd, uint32_t len);
void uscst_cmd_execute(struct uscst_cmd *cmd);
void uscst_cmd_release(struct uscst_cmd *cmd);
/* Completes a command that was never executed with status BUSY / TASK SET FULL etc. */
void uscst_cmd_complete_status(struct uscst_cmd *cmd, uint8_t status);
/* Sets CHECK CONDITION and sense data (fixed or descriptor, as the LU's
 * D_SENSE says) on a command the transport ends without executing it; the
 * transport then completes it itself.  E.g.
 * uscst_cmd_check_condition(cmd, SK_ABORTED_COMMAND, ASC_DATA_PHASE_ERROR). */
void uscst_cmd_check_condition(struct uscst_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq);
/* ILLEGAL REQUEST, INVALID FIELD IN CDB with the field pointer at (byte,
 * bit); bit < 0: no bit pointer. */
void uscst_cmd_invalid_field_cdb(struct uscst_cmd *cmd, unsigned byte, int bit);

/*
 * Task management (SAM-5 7), on the session's thread.  The transport fills
 * sess, fn (enum uscst_tmf_fn), lun, tag (ABORT TASK), covers (which of its
 * own commands are older than the TMF; NULL: all) and done;
 * uscst_tmf_start() aborts what the function covers and returns the
 * response (enum uscst_tmf_response); done(tmf) runs later on the
 * session's thread, once every aborted task, on this nexus and every
 * other one (LU and target resets abort every nexus's tasks, TAS=0), has
 * ended or will never start: then the transport answers.  A TARGET COLD
 * RESET also ends every other nexus of the target (RFC 7143 11.5.1).
 */
enum uscst_tmf_response {
	USCST_TMF_RSP_COMPLETE,
	USCST_TMF_RSP_NO_TASK,
	USCST_TMF_RSP_NO_LUN,
	USCST_TMF_RSP_NOT_SUPPORTED,
	USCST_TMF_RSP_REJECTED,
	/* SAM-5 FUNCTION SUCCEEDED: a query found what it asked about. */
	USCST_TMF_RSP_SUCCEEDED,
};
struct uscst_tmf {
	struct uscst_session *sess;
	uint8_t fn;
	uint64_t lun;
	uint64_t tag;
	bool (*covers)(const struct uscst_cmd *cmd, const struct uscst_tmf *tmf);
	void (*done)(struct uscst_tmf *tmf);
	/* Set by the core: QUERY ASYNCHRONOUS EVENT's ADDITIONAL RESPONSE
	 * INFORMATION (SAM-5 7.6) when it SUCCEEDED: the pending unit
	 * attention's sense key, ASC, ASCQ. */
	uint8_t additional_info[3];
	/* --- private to the core --- */
	struct uscst_fence fence;
	struct uscst_tmf_wait {
		struct uscst_tmf_wait *next;
		void (*release)(struct uscst_tmf_wait *w);
	} wait;
	struct reactor_msg msg;
};
enum uscst_tmf_response uscst_tmf_start(struct uscst_tmf *tmf);
/* Tasks aborted by another I_T nexus (CLEAR TASK SET / PREEMPT AND ABORT)
 * get a UA on the nexus that owned them. */
bool uscst_lun_exists(struct uscst_session *sess, uint64_t lun);

#endif
