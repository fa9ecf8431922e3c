/*
 * iSCSI login key negotiation (RFC 7143 sections 6 and 13).  Pure functions:
 * no I/O, no core calls.
 *
 * Use for one login (one TCP connection):
 *
 *   iscsi_params_init(&p);                  session values at RFC defaults
 *   p.target_alias may be set by the caller (declared on the first response)
 *   iscsi_login_neg_init(&neg, leading, tpgt);
 *   for each Login Request (data segments of C=1 PDUs concatenated first):
 *       text_kv_parse(data, len, &keys, NULL)        failure -> 0x0200
 *       text_buf_init(&rsp, 0)
 *       iscsi_login_negotiate(&neg, &p, &lim, &keys, csg, &rsp, &res)
 *           -1 -> send a Login Response with res.status (class<<8|detail)
 *                 and no data, then close
 *       after the first request: look up p.target_name (Normal sessions),
 *           0x0203 if unknown; check access; 0x0209 etc. are the caller's
 *       if csg == operational:
 *           iscsi_login_add_target_keys(&neg, &p, &lim, &rsp)
 *               returns true when it offered keys the initiator must
 *               answer: then the response must carry T=0 (RFC 7143 6.2:
 *               a target must not offer keys needing another request in
 *               a response with T=1)
 *       T=1 in the response only if the initiator set T=1 and
 *           !iscsi_login_awaiting_answers(&neg)
 *       the response data is rsp.data[0..rsp.len)
 *   when the response moves to full feature phase: iscsi_params_finalize(&p)
 *
 * If the initiator asks to go straight from security negotiation to full
 * feature phase while iscsi_login_needs_operational() is true, answer with
 * NSG=operational instead so the target's keys can be negotiated.
 */
#ifndef USCST_ISCSI_PARAMS_H
#define USCST_ISCSI_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uscst/attr.h>

#include "iscsi/text_kv.h"

#define ISCSI_NAME_MAX 224 /* 223 bytes + NUL (RFC 7143 6.1) */
#define ISCSI_ALIAS_MAX 256

/* Login Response status, class << 8 | detail (RFC 7143 11.13.5). */
enum iscsi_login_status {
	ISCSI_LS_SUCCESS = 0x0000,
	ISCSI_LS_TARGET_MOVED_TEMP = 0x0101, /* with TargetAddress (iscsi/redirect.c) */
	ISCSI_LS_TARGET_MOVED_PERM = 0x0102,
	ISCSI_LS_INITIATOR_ERROR = 0x0200,
	ISCSI_LS_AUTH_FAILURE = 0x0201,
	ISCSI_LS_AUTHORIZATION_FAILURE = 0x0202,
	ISCSI_LS_NOT_FOUND = 0x0203,
	ISCSI_LS_TARGET_REMOVED = 0x0204,
	ISCSI_LS_UNSUPPORTED_VERSION = 0x0205,
	ISCSI_LS_TOO_MANY_CONNECTIONS = 0x0206,
	ISCSI_LS_MISSING_PARAMETER = 0x0207,
	ISCSI_LS_CANT_INCLUDE_IN_SESSION = 0x0208,
	ISCSI_LS_SESSION_TYPE_UNSUPPORTED = 0x0209,
	ISCSI_LS_SESSION_DOES_NOT_EXIST = 0x020a,
	ISCSI_LS_INVALID_DURING_LOGIN = 0x020b,
	ISCSI_LS_TARGET_ERROR = 0x0300,
	ISCSI_LS_SERVICE_UNAVAILABLE = 0x0301,
	ISCSI_LS_OUT_OF_RESOURCES = 0x0302,
};

static inline uint8_t iscsi_ls_class(enum iscsi_login_status s) { return (uint8_t)(s >> 8); }
static inline uint8_t iscsi_ls_detail(enum iscsi_login_status s) { return (uint8_t)s; }

/* CSG/NSG values of the Login PDUs. */
enum iscsi_login_stage {
	ISCSI_STAGE_SECURITY = 0,
	ISCSI_STAGE_OPERATIONAL = 1,
	ISCSI_STAGE_FULL_FEATURE = 3,
};

enum iscsi_digest {
	ISCSI_DIGEST_NONE = 0,
	ISCSI_DIGEST_CRC32C = 1,
};
/* Sets of digests, for iscsi_target_limits. */
#define ISCSI_DIGEST_MASK(d) (1u << (d))

enum iscsi_session_type {
	ISCSI_SESSION_NORMAL = 0,
	ISCSI_SESSION_DISCOVERY = 1,
};

/* Negotiated values; iscsi_params_init() sets the RFC 7143 defaults. */
struct iscsi_params {
	enum iscsi_digest header_digest;
	enum iscsi_digest data_digest;
	uint32_t max_connections;
	bool initial_r2t;
	bool immediate_data;
	/* What we declared: the largest data segment we accept.  Stays at the
	 * RFC default 8192 until the target declares its own value. */
	uint32_t max_recv_data_segment_length;
	/* What the initiator declared, clamped to the target's
	 * MaxXmitDataSegmentLength: the largest data segment we send. */
	uint32_t max_xmit_data_segment_length;
	uint32_t max_burst_length;
	uint32_t first_burst_length;
	uint32_t default_time2wait;
	uint32_t default_time2retain;
	uint32_t max_outstanding_r2t;
	bool data_pdu_in_order;
	bool data_sequence_in_order;
	uint32_t error_recovery_level;
	bool if_marker;
	bool of_marker;
	uint32_t if_mark_int;
	uint32_t of_mark_int;
	enum iscsi_session_type session_type;
	char initiator_name[ISCSI_NAME_MAX];
	char initiator_alias[ISCSI_ALIAS_MAX];
	char target_name[ISCSI_NAME_MAX];
	char target_alias[ISCSI_ALIAS_MAX]; /* set by the caller; "" = none */
};

/* What the target offers and accepts (per target, from its attributes). */
struct iscsi_target_limits {
	uint32_t max_recv_data_segment_length; /* declared to the initiator */
	uint32_t max_xmit_data_segment_length; /* cap on what we send */
	uint32_t max_burst_length;
	uint32_t first_burst_length;
	uint32_t max_outstanding_r2t;
	uint32_t max_connections;
	uint32_t error_recovery_level; /* the highest we support */
	uint32_t default_time2wait;
	uint32_t default_time2retain;
	bool initial_r2t;
	bool immediate_data;
	bool data_pdu_in_order;
	bool data_sequence_in_order;
	unsigned header_digests; /* ISCSI_DIGEST_MASK() set of acceptable digests */
	unsigned data_digests;
	/* Not negotiated; kept here because they come from the same
	 * attributes (SCST names in parentheses). */
	uint32_t queued_commands;	/* QueuedCommands */
	uint32_t nop_in_interval;	/* NopInInterval, seconds, 0 = off */
	uint32_t nop_in_timeout;	/* NopInTimeout, seconds */
	uint32_t rsp_timeout;		/* RspTimeout, seconds */
	uint32_t max_sessions;		/* MaxSessions, 0 = unlimited */
	uint32_t max_session_memory_mb; /* MaxSessionMemory, MiB, 0 = derived */
};

void iscsi_params_init(struct iscsi_params *p);
/* The defaults: target attributes at their iscsi_target_attrs[] default. */
void iscsi_target_limits_init(struct iscsi_target_limits *lim);

/* The iSCSI target attributes (SCST names: MaxBurstLength, InitialR2T,
 * HeaderDigest ...) with their ranges and defaults; the transport's target
 * attribute table, so the core checks configured values with the parser
 * iscsi_target_limits_load() uses. */
extern const struct uscst_attr_def iscsi_target_attrs[];

/* Fills lim from target attributes looked up by SCST name through get()
 * (which returns NULL for an attribute that is not set: the default stays).
 * Returns NULL on success, or err (filled with a message naming the
 * attribute) when a value is malformed or out of range. */
const char *iscsi_target_limits_load(struct iscsi_target_limits *lim,
				     const char *(*get)(void *arg, const char *name), void *arg,
				     char *err, size_t errlen);

/* Per-login negotiation state. */
struct iscsi_login_neg {
	bool leading;	     /* the connection creates the session (TSIH 0) */
	uint16_t tpgt;	     /* returned as TargetPortalGroupTag */
	bool first_done;     /* the first Login Request has been processed */
	bool auth_done;	     /* AuthMethod was negotiated */
	bool chap_required;  /* set by the caller: the target has IncomingUser */
	bool chap_chosen;    /* AuthMethod=CHAP agreed: CHAP_* keys are the caller's */
	bool mrdsl_declared; /* our MaxRecvDataSegmentLength was sent */
	uint64_t received;   /* keys the initiator sent in this login */
	uint64_t offered;    /* keys we offered and whose answers are awaited */
};

struct iscsi_login_result {
	enum iscsi_login_status status; /* valid when negotiate returned -1 */
	char reason[128];		/* for the log */
};

void iscsi_login_neg_init(struct iscsi_login_neg *neg, bool leading, uint16_t tpgt);

/*
 * Processes the keys of one (reassembled) Login Request received in stage
 * csg (security or operational), appending answers to rsp and updating p.
 * Returns 0, or -1 when the login must fail with res->status:
 *   - malformed/duplicated/misplaced keys, answers that break the rules:
 *     0x0200 initiator error
 *   - InitiatorName missing from the first request, TargetName missing for
 *     a Normal session: 0x0207 missing parameter
 *   - SessionType other than Normal/Discovery: 0x0209
 *   - AuthMethod without "None" when neg->chap_required is false, or
 *     without "CHAP" when it is true: the answer AuthMethod=Reject is
 *     added and the status is 0x0201.  Once CHAP is agreed
 *     (neg->chap_chosen), the CHAP_* keys are left to iscsi/chap.c.
 *   - rsp overflow: 0x0302 out of resources
 * Keys the initiator sends that we do not know are answered NotUnderstood;
 * keys irrelevant here (Discovery session, leading-only keys on another
 * connection, FirstBurstLength with InitialR2T=Yes and ImmediateData=No,
 * keys only targets send) are answered Irrelevant; out-of-range values
 * are answered Reject (the value stays at its default).  IFMarker/OFMarker
 * are answered No and IFMarkInt/OFMarkInt Reject, as RFC 7143 13.26
 * ("obsoleted keys") allows / requires.
 */
int iscsi_login_negotiate(struct iscsi_login_neg *neg, struct iscsi_params *p,
			  const struct iscsi_target_limits *lim, const struct text_kv_list *keys,
			  enum iscsi_login_stage csg, struct text_buf *rsp,
			  struct iscsi_login_result *res);

/*
 * For a response in the operational stage: declares our
 * MaxRecvDataSegmentLength (once per login) and offers the keys the
 * initiator has not negotiated whose RFC default we cannot accept (e.g. a
 * configured MaxBurstLength below 262144, ImmediateData=No, CRC32C-only
 * digests).  Returns true if it offered keys that need an answer, in which
 * case the response must have T=0.
 */
bool iscsi_login_add_target_keys(struct iscsi_login_neg *neg, struct iscsi_params *p,
				 const struct iscsi_target_limits *lim, struct text_buf *rsp);

/* True while keys we offered have not been answered. */
bool iscsi_login_awaiting_answers(const struct iscsi_login_neg *neg);

/* True if the operational stage is still needed because some key must be
 * offered (the RFC default is unacceptable to us).  Skipping the stage
 * otherwise only leaves our receive limit at the RFC default 8192. */
bool iscsi_login_needs_operational(const struct iscsi_login_neg *neg, const struct iscsi_params *p,
				   const struct iscsi_target_limits *lim);

/*
 * One key of a Text request in full feature phase (SendTargets is the
 * caller's).  Appends its answer to rsp: NotUnderstood (unknown), Reject
 * (login-only keys, RFC 7143 13 "Use: IO/LO"; a value out of range),
 * Irrelevant (keys only a target sends), none (declaratives).  A valid
 * MaxRecvDataSegmentLength sets *xmit_dsl to what the target will send
 * from now on (clamped to MaxXmitDataSegmentLength); the caller applies it
 * once the exchange is over.
 */
void iscsi_ffp_negotiate_key(const struct text_kv *kv, const struct iscsi_target_limits *lim,
			     struct text_buf *rsp, uint32_t *xmit_dsl);

/* Final consistency fixes when entering full feature phase
 * (FirstBurstLength <= MaxBurstLength). */
void iscsi_params_finalize(struct iscsi_params *p);

#endif
