/*
 * Login key negotiation, RFC 7143 sections 6 (text mode negotiation, login
 * phase) and 13 (the keys).
 *
 * The keys of one request are first indexed (catching duplicates and
 * repeats from earlier requests, which 6.3 makes a protocol error), then
 * handled in the order of key_table[], not in the order they arrived, so
 * that keys another key depends on (SessionType for Discovery irrelevance,
 * InitialR2T/ImmediateData for FirstBurstLength) are settled first.
 */
#include "iscsi/params.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "iscsi/allowed_portal.h"
#include "iscsi/chap.h"
#include "iscsi/portal_group.h"
#include "iscsi/redirect.h"

#define ISCSI_MRDSL_MIN 512u
#define ISCSI_MRDSL_MAX 16777215u /* 2^24 - 1: the DataSegmentLength field */

enum key_kind {
	KIND_INITIATOR_NAME,
	KIND_TARGET_NAME,
	KIND_INITIATOR_ALIAS,
	KIND_SESSION_TYPE,
	KIND_AUTH_METHOD,
	KIND_SECURITY, /* CHAP_* etc.: only after AuthMethod chose them */
	KIND_DIGEST,   /* list: first of the initiator's we accept */
	KIND_MRDSL,    /* declarative MaxRecvDataSegmentLength */
	KIND_NUM_MIN,  /* numerical, result = min */
	KIND_NUM_MAX,  /* numerical, result = max */
	KIND_BOOL_AND,
	KIND_BOOL_OR,
	KIND_MARKER,   /* obsolete IFMarker/OFMarker: answer No */
	KIND_MARK_INT, /* obsolete IFMarkInt/OFMarkInt: answer Reject */
	KIND_TASK_REPORTING,
	KIND_IRRELEVANT, /* keys only targets send, or only in full feature phase */
};

enum key_flags {
	F_LEADING_ONLY = 1 << 0, /* "Use: LO" */
	F_IRRELEVANT_IN_DISCOVERY = 1 << 1,
	F_SECURITY_STAGE = 1 << 2, /* only during security negotiation */
	F_ANY_STAGE = 1 << 3,	   /* declaratives: either login stage */
	F_FIRST_REQUEST = 1 << 4,  /* only in the first Login Request */
	F_MAY_OFFER = 1 << 5,	   /* we offer it when its default won't do */
	/* RFC 7143 13 "Use: ALL" (login or full feature phase) and "FFPO"
	 * (full feature phase only); every other key is login-only (IO, LO). */
	F_USE_ALL = 1 << 6,
	F_USE_FFPO = 1 << 7,
};

#define NO_FIELD ((size_t)-1)

struct key_def {
	const char *name;
	enum key_kind kind;
	unsigned flags;
	uint32_t min, max; /* numerical range */
	size_t param_off;  /* uint32_t or bool in struct iscsi_params */
	size_t limit_off;  /* the same type in struct iscsi_target_limits */
};

#define P(f) offsetof(struct iscsi_params, f)
#define L(f) offsetof(struct iscsi_target_limits, f)
#define LO_NORMAL (F_LEADING_ONLY | F_IRRELEVANT_IN_DISCOVERY)

/* Handling order matters; see the comment at the top. */
static const struct key_def key_table[] = {
    {"SessionType", KIND_SESSION_TYPE, F_ANY_STAGE | F_FIRST_REQUEST, 0, 0, NO_FIELD, NO_FIELD},
    {"InitiatorName", KIND_INITIATOR_NAME, F_ANY_STAGE | F_FIRST_REQUEST, 0, 0, NO_FIELD, NO_FIELD},
    {"TargetName", KIND_TARGET_NAME, F_ANY_STAGE | F_FIRST_REQUEST, 0, 0, NO_FIELD, NO_FIELD},
    {"InitiatorAlias", KIND_INITIATOR_ALIAS, F_ANY_STAGE | F_USE_ALL, 0, 0, NO_FIELD, NO_FIELD},
    {"AuthMethod", KIND_AUTH_METHOD, F_SECURITY_STAGE, 0, 0, NO_FIELD, NO_FIELD},
    {"CHAP_A", KIND_SECURITY, F_SECURITY_STAGE, 0, 0, NO_FIELD, NO_FIELD},
    {"CHAP_I", KIND_SECURITY, F_SECURITY_STAGE, 0, 0, NO_FIELD, NO_FIELD},
    {"CHAP_C", KIND_SECURITY, F_SECURITY_STAGE, 0, 0, NO_FIELD, NO_FIELD},
    {"CHAP_N", KIND_SECURITY, F_SECURITY_STAGE, 0, 0, NO_FIELD, NO_FIELD},
    {"CHAP_R", KIND_SECURITY, F_SECURITY_STAGE, 0, 0, NO_FIELD, NO_FIELD},
    {"HeaderDigest", KIND_DIGEST, F_MAY_OFFER, 0, 0, P(header_digest), L(header_digests)},
    {"DataDigest", KIND_DIGEST, F_MAY_OFFER, 0, 0, P(data_digest), L(data_digests)},
    {"MaxRecvDataSegmentLength", KIND_MRDSL, F_ANY_STAGE | F_USE_ALL, ISCSI_MRDSL_MIN,
     ISCSI_MRDSL_MAX, P(max_xmit_data_segment_length), L(max_xmit_data_segment_length)},
    {"MaxConnections", KIND_NUM_MIN, LO_NORMAL | F_MAY_OFFER, 1, 65535, P(max_connections),
     L(max_connections)},
    {"InitialR2T", KIND_BOOL_OR, LO_NORMAL | F_MAY_OFFER, 0, 0, P(initial_r2t), L(initial_r2t)},
    {"ImmediateData", KIND_BOOL_AND, LO_NORMAL | F_MAY_OFFER, 0, 0, P(immediate_data),
     L(immediate_data)},
    {"MaxBurstLength", KIND_NUM_MIN, LO_NORMAL | F_MAY_OFFER, 512, ISCSI_MRDSL_MAX,
     P(max_burst_length), L(max_burst_length)},
    {"FirstBurstLength", KIND_NUM_MIN, LO_NORMAL | F_MAY_OFFER, 512, ISCSI_MRDSL_MAX,
     P(first_burst_length), L(first_burst_length)},
    {"DefaultTime2Wait", KIND_NUM_MAX, F_LEADING_ONLY, 0, 3600, P(default_time2wait),
     L(default_time2wait)},
    {"DefaultTime2Retain", KIND_NUM_MIN, F_LEADING_ONLY, 0, 3600, P(default_time2retain),
     L(default_time2retain)},
    {"MaxOutstandingR2T", KIND_NUM_MIN, LO_NORMAL | F_MAY_OFFER, 1, 65535, P(max_outstanding_r2t),
     L(max_outstanding_r2t)},
    {"DataPDUInOrder", KIND_BOOL_OR, LO_NORMAL | F_MAY_OFFER, 0, 0, P(data_pdu_in_order),
     L(data_pdu_in_order)},
    {"DataSequenceInOrder", KIND_BOOL_OR, LO_NORMAL | F_MAY_OFFER, 0, 0, P(data_sequence_in_order),
     L(data_sequence_in_order)},
    {"ErrorRecoveryLevel", KIND_NUM_MIN, F_LEADING_ONLY | F_MAY_OFFER, 0, 2,
     P(error_recovery_level), L(error_recovery_level)},
    {"IFMarker", KIND_MARKER, 0, 0, 0, P(if_marker), NO_FIELD},
    {"OFMarker", KIND_MARKER, 0, 0, 0, P(of_marker), NO_FIELD},
    {"IFMarkInt", KIND_MARK_INT, 0, 0, 0, NO_FIELD, NO_FIELD},
    {"OFMarkInt", KIND_MARK_INT, 0, 0, 0, NO_FIELD, NO_FIELD},
    {"TaskReporting", KIND_TASK_REPORTING, LO_NORMAL, 0, 0, NO_FIELD, NO_FIELD},
    {"TargetAlias", KIND_IRRELEVANT, F_ANY_STAGE | F_USE_ALL, 0, 0, NO_FIELD, NO_FIELD},
    {"TargetAddress", KIND_IRRELEVANT, F_ANY_STAGE | F_USE_ALL, 0, 0, NO_FIELD, NO_FIELD},
    {"TargetPortalGroupTag", KIND_IRRELEVANT, F_ANY_STAGE, 0, 0, NO_FIELD, NO_FIELD},
    {"SendTargets", KIND_IRRELEVANT, F_ANY_STAGE | F_USE_FFPO, 0, 0, NO_FIELD, NO_FIELD},
};

#define KEY_COUNT (sizeof(key_table) / sizeof(key_table[0]))
_Static_assert(KEY_COUNT <= 64, "key bitmasks are uint64_t");

static void target_limits_defaults(struct iscsi_target_limits *lim);

/* Tasks of a failed connection are kept for reassignment only at
 * ErrorRecoveryLevel 2 (iscsi/reassign.c), for RFC 7143's default of 20 s
 * at most; below, nothing survives a connection (Time2Retain 0). */
static void retention_from_erl(struct iscsi_target_limits *lim)
{
	lim->default_time2retain = lim->error_recovery_level >= 2 ? 20 : 0;
}

static uint64_t key_bit(const struct key_def *d) { return UINT64_C(1) << (d - key_table); }

static const struct key_def *key_lookup(const char *name)
{
	for (size_t i = 0; i < KEY_COUNT; i++)
		if (strcmp(key_table[i].name, name) == 0)
			return &key_table[i];
	return NULL;
}

static uint32_t *param_u32(struct iscsi_params *p, const struct key_def *d)
{
	return (uint32_t *)((char *)p + d->param_off);
}
static bool *param_bool(struct iscsi_params *p, const struct key_def *d)
{
	return (bool *)((char *)p + d->param_off);
}
static enum iscsi_digest *param_digest(struct iscsi_params *p, const struct key_def *d)
{
	return (enum iscsi_digest *)((char *)p + d->param_off);
}
static uint32_t limit_u32(const struct iscsi_target_limits *lim, const struct key_def *d)
{
	return *(const uint32_t *)((const char *)lim + d->limit_off);
}
static bool limit_bool(const struct iscsi_target_limits *lim, const struct key_def *d)
{
	return *(const bool *)((const char *)lim + d->limit_off);
}
static unsigned limit_mask(const struct iscsi_target_limits *lim, const struct key_def *d)
{
	return *(const unsigned *)((const char *)lim + d->limit_off);
}

/* --- defaults --- */

void iscsi_params_init(struct iscsi_params *p)
{
	memset(p, 0, sizeof(*p));
	p->header_digest = ISCSI_DIGEST_NONE;
	p->data_digest = ISCSI_DIGEST_NONE;
	p->max_connections = 1;
	p->initial_r2t = true;
	p->immediate_data = true;
	p->max_recv_data_segment_length = 8192;
	p->max_xmit_data_segment_length = 8192;
	p->max_burst_length = 262144;
	p->first_burst_length = 65536;
	p->default_time2wait = 2;
	p->default_time2retain = 20;
	p->max_outstanding_r2t = 1;
	p->data_pdu_in_order = true;
	p->data_sequence_in_order = true;
	p->error_recovery_level = 0;
	p->if_marker = false;
	p->of_marker = false;
	p->if_mark_int = 2048;
	p->of_mark_int = 2048;
	p->session_type = ISCSI_SESSION_NORMAL;
}

void iscsi_target_limits_init(struct iscsi_target_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->max_connections = 1;
	lim->error_recovery_level = 0;
	lim->default_time2wait = 2;
	/* Nothing survives a connection loss at ErrorRecoveryLevel 0. */
	lim->default_time2retain = 0;
	lim->data_pdu_in_order = true;
	lim->data_sequence_in_order = true;
	/* Everything a target attribute sets: its default in iscsi_target_attrs[]. */
	target_limits_defaults(lim);
	retention_from_erl(lim);
}

void iscsi_params_finalize(struct iscsi_params *p)
{
	if (p->first_burst_length > p->max_burst_length)
		p->first_burst_length = p->max_burst_length;
}

/* --- value parsing --- */

/* RFC 7143 6.1 numbers: decimal, or hexadecimal with 0x/0X. */
static bool parse_u32(const char *s, uint32_t *out)
{
	int base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		unsigned digit;
		if (*s >= '0' && *s <= '9')
			digit = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			digit = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			digit = (unsigned)(*s - 'A' + 10);
		else
			return false;
		v = v * (unsigned)base + digit;
		if (v > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "Yes") == 0)
		*out = true;
	else if (strcmp(s, "No") == 0)
		*out = false;
	else
		return false;
	return true;
}

static const char *bool_str(bool v) { return v ? "Yes" : "No"; }

static bool is_reserved_answer(const char *v)
{
	return strcmp(v, "NotUnderstood") == 0 || strcmp(v, "Irrelevant") == 0 ||
	       strcmp(v, "Reject") == 0;
}

static const char *const digest_names[] = {
    [ISCSI_DIGEST_NONE] = "None", [ISCSI_DIGEST_CRC32C] = "CRC32C"};

static bool digest_from_name(const char *s, size_t len, enum iscsi_digest *out)
{
	for (int d = ISCSI_DIGEST_NONE; d <= ISCSI_DIGEST_CRC32C; d++) {
		if (strlen(digest_names[d]) == len && memcmp(digest_names[d], s, len) == 0) {
			*out = (enum iscsi_digest)d;
			return true;
		}
	}
	return false;
}

/* Calls fn for each comma-separated item of a list value until it returns
 * true; returns whether it did. */
static bool list_find(const char *list, bool (*fn)(const char *item, size_t len, void *arg),
		      void *arg)
{
	const char *p = list;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (fn(p, len, arg))
			return true;
		if (!comma)
			return false;
		p = comma + 1;
	}
}

static bool item_equals(const char *item, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(item, word, len) == 0;
}

/* --- the negotiation context --- */

struct neg_ctx {
	struct iscsi_login_neg *neg;
	struct iscsi_params *p;
	const struct iscsi_target_limits *lim;
	struct text_buf *rsp;
	struct iscsi_login_result *res;
	enum iscsi_login_stage csg;
};

static int fail(struct neg_ctx *c, enum iscsi_login_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct neg_ctx *c, enum iscsi_login_status status, const char *fmt, ...)
{
	va_list ap;

	c->res->status = status;
	va_start(ap, fmt);
	vsnprintf(c->res->reason, sizeof(c->res->reason), fmt, ap);
	va_end(ap);
	return -1;
}

static int answer(struct neg_ctx *c, const char *key, const char *value)
{
	text_buf_add(c->rsp, key, value);
	return 0;
}

static int answer_u32(struct neg_ctx *c, const char *key, uint32_t value)
{
	text_buf_add_u32(c->rsp, key, value);
	return 0;
}

static bool is_discovery(const struct neg_ctx *c)
{
	return c->p->session_type == ISCSI_SESSION_DISCOVERY;
}

/* --- handlers for keys the initiator offers or declares --- */

static int copy_name(struct neg_ctx *c, const struct text_kv *kv, char *dst, size_t dst_size)
{
	if (kv->value_len == 0 || kv->value_len >= dst_size)
		return fail(c, ISCSI_LS_INITIATOR_ERROR, "bad %s length %zu", kv->key,
			    kv->value_len);
	memcpy(dst, kv->value, kv->value_len + 1);
	return 0;
}

static int handle_session_type(struct neg_ctx *c, const struct text_kv *kv)
{
	if (strcmp(kv->value, "Normal") == 0)
		c->p->session_type = ISCSI_SESSION_NORMAL;
	else if (strcmp(kv->value, "Discovery") == 0)
		c->p->session_type = ISCSI_SESSION_DISCOVERY;
	else
		return fail(c, ISCSI_LS_SESSION_TYPE_UNSUPPORTED, "unknown SessionType \"%s\"",
			    kv->value);
	return 0;
}

struct list_choice {
	unsigned accepted; /* mask of acceptable items */
	int chosen;
};

static bool pick_digest(const char *item, size_t len, void *arg)
{
	struct list_choice *ch = arg;
	enum iscsi_digest d;

	/* Unknown items are skipped: the initiator may list digests we do
	 * not implement before ones we do. */
	if (!digest_from_name(item, len, &d) || !(ch->accepted & ISCSI_DIGEST_MASK(d)))
		return false;
	ch->chosen = (int)d;
	return true;
}

static int handle_digest(struct neg_ctx *c, const struct key_def *d, const struct text_kv *kv)
{
	struct list_choice ch = {.accepted = limit_mask(c->lim, d), .chosen = -1};

	if (!list_find(kv->value, pick_digest, &ch)) {
		answer(c, d->name, "Reject");
		return fail(c, ISCSI_LS_INITIATOR_ERROR, "no acceptable %s in \"%s\"", d->name,
			    kv->value);
	}
	*param_digest(c->p, d) = (enum iscsi_digest)ch.chosen;
	return answer(c, d->name, digest_names[ch.chosen]);
}

static bool is_none(const char *item, size_t len, void *arg)
{
	return item_equals(item, len, "None");
}

static bool is_chap(const char *item, size_t len, void *arg)
{
	return item_equals(item, len, "CHAP");
}

static int handle_auth_method(struct neg_ctx *c, const struct text_kv *kv)
{
	/* A target with CHAP accounts takes CHAP and nothing else. */
	if (c->neg->chap_required) {
		if (!list_find(kv->value, is_chap, NULL)) {
			answer(c, "AuthMethod", "Reject");
			return fail(c, ISCSI_LS_AUTH_FAILURE, "AuthMethod=%s: CHAP is required",
				    kv->value);
		}
		c->neg->auth_done = true;
		c->neg->chap_chosen = true;
		return answer(c, "AuthMethod", "CHAP");
	}
	/* Without accounts, only None: an initiator that insists on
	 * authentication cannot log in. */
	if (!list_find(kv->value, is_none, NULL)) {
		answer(c, "AuthMethod", "Reject");
		return fail(c, ISCSI_LS_AUTH_FAILURE, "AuthMethod \"%s\" not supported", kv->value);
	}
	c->neg->auth_done = true;
	return answer(c, "AuthMethod", "None");
}

static int handle_mrdsl(struct neg_ctx *c, const struct key_def *d, const struct text_kv *kv)
{
	uint32_t v;

	if (!parse_u32(kv->value, &v) || v < d->min || v > d->max)
		return answer(c, d->name, "Reject");
	uint32_t cap = limit_u32(c->lim, d);
	*param_u32(c->p, d) = v < cap ? v : cap;
	return 0; /* declarative: no answer */
}

static int handle_num(struct neg_ctx *c, const struct key_def *d, const struct text_kv *kv)
{
	uint32_t offer, ours = limit_u32(c->lim, d), result;

	if (!parse_u32(kv->value, &offer) || offer < d->min || offer > d->max)
		return answer(c, d->name, "Reject");
	if (d->kind == KIND_NUM_MIN)
		result = offer < ours ? offer : ours;
	else
		result = offer > ours ? offer : ours;
	/* FirstBurstLength must not exceed MaxBurstLength (13.14), which
	 * key_table[] order has already settled if it was offered. */
	if (d->param_off == P(first_burst_length) && result > c->p->max_burst_length)
		result = c->p->max_burst_length;
	*param_u32(c->p, d) = result;
	return answer_u32(c, d->name, result);
}

static int handle_bool(struct neg_ctx *c, const struct key_def *d, const struct text_kv *kv)
{
	bool offer, ours = limit_bool(c->lim, d), result;

	if (!parse_bool(kv->value, &offer))
		return answer(c, d->name, "Reject");
	result = d->kind == KIND_BOOL_AND ? (offer && ours) : (offer || ours);
	*param_bool(c->p, d) = result;
	return answer(c, d->name, bool_str(result));
}

static int handle_marker(struct neg_ctx *c, const struct key_def *d, const struct text_kv *kv)
{
	bool offer;

	if (!parse_bool(kv->value, &offer))
		return answer(c, d->name, "Reject");
	/* Markers are obsolete (13.26); "No" is the allowed alternative to
	 * "Reject" and is what RFC 3720 initiators expect from AND. */
	*param_bool(c->p, d) = false;
	return answer(c, d->name, "No");
}

static bool is_rfc3720(const char *item, size_t len, void *arg)
{
	return item_equals(item, len, "RFC3720");
}

static int handle_task_reporting(struct neg_ctx *c, const struct text_kv *kv)
{
	/* Neither ResponseFence nor FastAbort is implemented. */
	if (!list_find(kv->value, is_rfc3720, NULL))
		return answer(c, "TaskReporting", "Reject");
	return answer(c, "TaskReporting", "RFC3720");
}

/* Is the key one we must answer with Irrelevant here? */
static bool key_irrelevant(const struct neg_ctx *c, const struct key_def *d)
{
	if (d->kind == KIND_IRRELEVANT)
		return true;
	if ((d->flags & F_LEADING_ONLY) && !c->neg->leading)
		return true;
	if ((d->flags & F_IRRELEVANT_IN_DISCOVERY) && is_discovery(c))
		return true;
	/* 13.14: no unsolicited data at all, so no first burst. */
	if (d->param_off == P(first_burst_length) && c->p->initial_r2t && !c->p->immediate_data)
		return true;
	return false;
}

static int handle_offer(struct neg_ctx *c, const struct key_def *d, const struct text_kv *kv)
{
	/* Declaratives and offers share the reserved words only as answers;
	 * an initiator sending one unprompted is odd but harmless. */
	if (is_reserved_answer(kv->value))
		return 0;

	switch (d->kind) {
	case KIND_INITIATOR_NAME:
		return copy_name(c, kv, c->p->initiator_name, sizeof(c->p->initiator_name));
	case KIND_TARGET_NAME:
		return copy_name(c, kv, c->p->target_name, sizeof(c->p->target_name));
	case KIND_INITIATOR_ALIAS:
		/* The parser caps values at 255 bytes, so it fits. */
		memcpy(c->p->initiator_alias, kv->value, kv->value_len + 1);
		return 0;
	case KIND_SESSION_TYPE:
		return handle_session_type(c, kv);
	case KIND_MRDSL:
		return handle_mrdsl(c, d, kv);
	default:
		break;
	}

	if (key_irrelevant(c, d))
		return answer(c, d->name, "Irrelevant");

	switch (d->kind) {
	case KIND_AUTH_METHOD:
		return handle_auth_method(c, kv);
	case KIND_SECURITY:
		if (c->neg->chap_chosen)
			return 0; /* the exchange is iscsi/chap.c's */
		return fail(c, ISCSI_LS_INITIATOR_ERROR, "%s without AuthMethod=CHAP", d->name);
	case KIND_DIGEST:
		return handle_digest(c, d, kv);
	case KIND_NUM_MIN:
	case KIND_NUM_MAX:
		return handle_num(c, d, kv);
	case KIND_BOOL_AND:
	case KIND_BOOL_OR:
		return handle_bool(c, d, kv);
	case KIND_MARKER:
		return handle_marker(c, d, kv);
	case KIND_MARK_INT:
		/* 13.26: these MUST be answered Reject. */
		return answer(c, d->name, "Reject");
	case KIND_TASK_REPORTING:
		return handle_task_reporting(c, kv);
	default:
		return answer(c, d->name, "Irrelevant");
	}
}

/* --- answers to keys the target offered --- */

static bool digest_answer_ok(const struct neg_ctx *c, const struct key_def *d, const char *v,
			     enum iscsi_digest *out)
{
	return digest_from_name(v, strlen(v), out) &&
	       (limit_mask(c->lim, d) & ISCSI_DIGEST_MASK(*out));
}

static int handle_answer(struct neg_ctx *c, const struct key_def *d, const struct text_kv *kv)
{
	c->neg->offered &= ~key_bit(d);
	/* The initiator may decline an offer (6.2); the value then stays at
	 * its default. */
	if (is_reserved_answer(kv->value))
		return 0;

	enum iscsi_digest dg;
	uint32_t v;
	bool b;

	switch (d->kind) {
	case KIND_DIGEST:
		if (!digest_answer_ok(c, d, kv->value, &dg))
			break;
		*param_digest(c->p, d) = dg;
		return 0;
	case KIND_NUM_MIN:
		if (!parse_u32(kv->value, &v) || v < d->min || v > limit_u32(c->lim, d))
			break;
		*param_u32(c->p, d) = v;
		return 0;
	case KIND_NUM_MAX:
		if (!parse_u32(kv->value, &v) || v > d->max || v < limit_u32(c->lim, d))
			break;
		*param_u32(c->p, d) = v;
		return 0;
	case KIND_BOOL_AND:
		/* We offered our value; AND lets the answer only lower it. */
		if (!parse_bool(kv->value, &b) || (b && !limit_bool(c->lim, d)))
			break;
		*param_bool(c->p, d) = b;
		return 0;
	case KIND_BOOL_OR:
		if (!parse_bool(kv->value, &b) || (!b && limit_bool(c->lim, d)))
			break;
		*param_bool(c->p, d) = b;
		return 0;
	default:
		break;
	}
	return fail(c, ISCSI_LS_INITIATOR_ERROR, "bad answer %s=%s to our offer", d->name,
		    kv->value);
}

/* --- one request --- */

static int check_stage(struct neg_ctx *c, const struct key_def *d)
{
	if (d->flags & F_ANY_STAGE)
		return 0;
	bool security_key = d->flags & F_SECURITY_STAGE;
	if (security_key && c->csg != ISCSI_STAGE_SECURITY)
		return fail(c, ISCSI_LS_INITIATOR_ERROR, "%s outside security negotiation",
			    d->name);
	/* Hufferd/RFC 7143 13: keys that are neither security keys nor
	 * declaratives belong to operational negotiation. */
	if (!security_key && c->csg != ISCSI_STAGE_OPERATIONAL)
		return fail(c, ISCSI_LS_INITIATOR_ERROR, "%s during security negotiation", d->name);
	return 0;
}

/* Maps each request pair to a key_table index (-1: unknown), rejecting
 * keys sent twice in this login (RFC 7143 6.3). */
static int index_keys(struct neg_ctx *c, const struct text_kv_list *keys, int *slot_of_key,
		      uint64_t *seen)
{
	for (size_t i = 0; i < KEY_COUNT; i++)
		slot_of_key[i] = -1;
	*seen = 0;
	for (unsigned i = 0; i < keys->count; i++) {
		const struct key_def *d = key_lookup(keys->pairs[i].key);
		if (!d)
			continue;
		uint64_t bit = key_bit(d);
		if ((*seen | c->neg->received) & bit)
			return fail(c, ISCSI_LS_INITIATOR_ERROR, "key %s sent twice", d->name);
		if ((d->flags & F_FIRST_REQUEST) && c->neg->first_done)
			return fail(c, ISCSI_LS_INITIATOR_ERROR,
				    "%s allowed only in the first Login Request", d->name);
		*seen |= bit;
		slot_of_key[d - key_table] = (int)i;
	}
	return 0;
}

static void answer_unknown_keys(struct neg_ctx *c, const struct text_kv_list *keys)
{
	for (unsigned i = 0; i < keys->count; i++) {
		const struct text_kv *kv = &keys->pairs[i];
		/* An unknown key carrying a reserved word answers something we
		 * never sent; answering it back would loop. */
		if (!key_lookup(kv->key) && !is_reserved_answer(kv->value))
			answer(c, kv->key, "NotUnderstood");
	}
}

static int check_first_request(struct neg_ctx *c)
{
	if (c->p->initiator_name[0] == '\0')
		return fail(c, ISCSI_LS_MISSING_PARAMETER, "InitiatorName missing");
	if (c->p->session_type == ISCSI_SESSION_NORMAL && c->p->target_name[0] == '\0')
		return fail(c, ISCSI_LS_MISSING_PARAMETER, "TargetName missing");
	/* 13.9: the response to the first request that names the target
	 * carries the portal group tag. */
	if (c->p->target_name[0]) {
		answer_u32(c, "TargetPortalGroupTag", c->neg->tpgt);
		if (c->p->target_alias[0])
			answer(c, "TargetAlias", c->p->target_alias);
	}
	return 0;
}

void iscsi_login_neg_init(struct iscsi_login_neg *neg, bool leading, uint16_t tpgt)
{
	memset(neg, 0, sizeof(*neg));
	neg->leading = leading;
	neg->tpgt = tpgt;
}

int iscsi_login_negotiate(struct iscsi_login_neg *neg, struct iscsi_params *p,
			  const struct iscsi_target_limits *lim, const struct text_kv_list *keys,
			  enum iscsi_login_stage csg, struct text_buf *rsp,
			  struct iscsi_login_result *res)
{
	struct neg_ctx c = {neg, p, lim, rsp, res, csg};
	int slot_of_key[KEY_COUNT];
	uint64_t seen;

	res->status = ISCSI_LS_SUCCESS;
	res->reason[0] = '\0';
	if (csg != ISCSI_STAGE_SECURITY && csg != ISCSI_STAGE_OPERATIONAL)
		return fail(&c, ISCSI_LS_INITIATOR_ERROR, "bad login stage %d", (int)csg);
	if (index_keys(&c, keys, slot_of_key, &seen))
		return -1;

	for (size_t k = 0; k < KEY_COUNT; k++) {
		if (slot_of_key[k] < 0)
			continue;
		const struct key_def *d = &key_table[k];
		const struct text_kv *kv = &keys->pairs[slot_of_key[k]];
		int rc;

		if (neg->offered & key_bit(d))
			rc = handle_answer(&c, d, kv);
		else
			rc = check_stage(&c, d) ? -1 : handle_offer(&c, d, kv);
		if (rc)
			return -1;
	}
	neg->received |= seen;
	answer_unknown_keys(&c, keys);

	if (!neg->first_done) {
		if (check_first_request(&c))
			return -1;
		neg->first_done = true;
	}
	if (text_buf_error(rsp))
		return fail(&c, ISCSI_LS_OUT_OF_RESOURCES, "login response: %s",
			    text_kv_strerror(text_buf_error(rsp)));
	return 0;
}

/* --- full feature phase (Text requests) --- */

void iscsi_ffp_negotiate_key(const struct text_kv *kv, const struct iscsi_target_limits *lim,
			     struct text_buf *rsp, uint32_t *xmit_dsl)
{
	const struct key_def *d = key_lookup(kv->key);
	/* An answer to nothing we asked: never answered back (it would loop). */
	if (is_reserved_answer(kv->value))
		return;
	if (!d) {
		text_buf_add(rsp, kv->key, "NotUnderstood");
		return;
	}
	/* 6.2: a responder "not allowed to use" what is offered answers
	 * Reject; the login-only keys (Use: IO, LO) are not allowed now. */
	if (!(d->flags & (F_USE_ALL | F_USE_FFPO))) {
		text_buf_add(rsp, d->name, "Reject");
		return;
	}
	uint32_t v;
	switch (d->kind) {
	case KIND_MRDSL:
		/* Declarative (13.12): no answer; the caller applies it once
		 * this exchange is over. */
		if (!parse_u32(kv->value, &v) || v < d->min || v > d->max) {
			text_buf_add(rsp, d->name, "Reject");
			return;
		}
		*xmit_dsl = v < limit_u32(lim, d) ? v : limit_u32(lim, d);
		return;
	case KIND_INITIATOR_ALIAS:
		return; /* declarative, and only for display: taken as it is */
	default:
		/* Keys only a target sends (13.9-13.11), and SendTargets,
		 * which the caller answers before asking here. */
		text_buf_add(rsp, d->name, "Irrelevant");
		return;
	}
}

/* --- keys the target offers --- */

/* Would the current (default) value of an un-negotiated key be unacceptable? */
static bool must_offer(const struct iscsi_login_neg *neg, const struct iscsi_params *p,
		       const struct iscsi_target_limits *lim, const struct key_def *d)
{
	struct iscsi_params *mp = (struct iscsi_params *)p; /* accessors are not const */

	if (!(d->flags & F_MAY_OFFER) || ((neg->received | neg->offered) & key_bit(d)))
		return false;
	if ((d->flags & F_LEADING_ONLY) && !neg->leading)
		return false;
	if ((d->flags & F_IRRELEVANT_IN_DISCOVERY) && p->session_type == ISCSI_SESSION_DISCOVERY)
		return false;
	switch (d->kind) {
	case KIND_DIGEST:
		return !(limit_mask(lim, d) & ISCSI_DIGEST_MASK(*param_digest(mp, d)));
	case KIND_NUM_MIN:
		return limit_u32(lim, d) < *param_u32(mp, d);
	case KIND_BOOL_AND:
		return !limit_bool(lim, d) && *param_bool(mp, d);
	case KIND_BOOL_OR:
		return limit_bool(lim, d) && !*param_bool(mp, d);
	default:
		return false;
	}
}

static void offer_digests(struct text_buf *rsp, const char *key, unsigned mask)
{
	/* Our preference: CRC32C first. */
	if ((mask & ISCSI_DIGEST_MASK(ISCSI_DIGEST_CRC32C)) &&
	    (mask & ISCSI_DIGEST_MASK(ISCSI_DIGEST_NONE)))
		text_buf_add(rsp, key, "CRC32C,None");
	else if (mask & ISCSI_DIGEST_MASK(ISCSI_DIGEST_CRC32C))
		text_buf_add(rsp, key, "CRC32C");
	else
		text_buf_add(rsp, key, "None");
}

static void offer_key(const struct key_def *d, const struct iscsi_target_limits *lim,
		      struct text_buf *rsp)
{
	switch (d->kind) {
	case KIND_DIGEST:
		offer_digests(rsp, d->name, limit_mask(lim, d));
		break;
	case KIND_NUM_MIN:
		text_buf_add_u32(rsp, d->name, limit_u32(lim, d));
		break;
	case KIND_BOOL_AND:
	case KIND_BOOL_OR:
		text_buf_add(rsp, d->name, bool_str(limit_bool(lim, d)));
		break;
	default:
		break;
	}
}

bool iscsi_login_add_target_keys(struct iscsi_login_neg *neg, struct iscsi_params *p,
				 const struct iscsi_target_limits *lim, struct text_buf *rsp)
{
	if (!neg->mrdsl_declared) {
		text_buf_add_u32(rsp, "MaxRecvDataSegmentLength",
				 lim->max_recv_data_segment_length);
		p->max_recv_data_segment_length = lim->max_recv_data_segment_length;
		neg->mrdsl_declared = true;
	}
	for (size_t k = 0; k < KEY_COUNT; k++) {
		const struct key_def *d = &key_table[k];
		if (!must_offer(neg, p, lim, d))
			continue;
		offer_key(d, lim, rsp);
		neg->offered |= key_bit(d);
	}
	return neg->offered != 0;
}

bool iscsi_login_awaiting_answers(const struct iscsi_login_neg *neg) { return neg->offered != 0; }

bool iscsi_login_needs_operational(const struct iscsi_login_neg *neg, const struct iscsi_params *p,
				   const struct iscsi_target_limits *lim)
{
	for (size_t k = 0; k < KEY_COUNT; k++)
		if (must_offer(neg, p, lim, &key_table[k]))
			return true;
	return neg->offered != 0;
}

/* --- limits from target attributes --- */

/*
 * The target attributes of the iSCSI transport (SCST names), their ranges
 * and defaults: the one description the core checks configured values with
 * (through iscsi_target_attrs[], the transport's table) and login reads
 * them with (iscsi_target_limits_load), so what the configuration accepts
 * is what a login can use.
 */

/* Accepts what SCST's sysfs shows and takes (Yes/No), plus 1/0. */
static bool parse_attr_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "yes") == 0 || strcmp(s, "1") == 0)
		*out = true;
	else if (strcasecmp(s, "no") == 0 || strcmp(s, "0") == 0)
		*out = false;
	else
		return false;
	return true;
}

/* Digest names in a configured list: any case, blanks around items. */
static bool add_digest_item(const char *item, size_t len, void *arg)
{
	unsigned *mask = arg;
	bool known = false;

	while (len > 0 && *item == ' ') { /* "CRC32C, None" */
		item++;
		len--;
	}
	while (len > 0 && item[len - 1] == ' ')
		len--;
	for (int d = ISCSI_DIGEST_NONE; d <= ISCSI_DIGEST_CRC32C; d++) {
		if (strlen(digest_names[d]) == len &&
		    strncasecmp(digest_names[d], item, len) == 0) {
			*mask |= ISCSI_DIGEST_MASK(d);
			known = true;
		}
	}
	if (!known) {
		*mask = 0; /* poison: reported as an error */
		return true;
	}
	return false;
}

/* Parses value as attribute d into lim, or only checks it (lim NULL). */
static bool parse_target_attr(const struct uscst_attr_def *d, const char *value,
			      struct iscsi_target_limits *lim, char *err, size_t errlen)
{
	char *field = lim ? (char *)lim + d->offset : NULL;
	uint32_t v;
	bool b;
	unsigned mask = 0;

	switch (d->type) {
	case USCST_ATTR_UINT:
		if (!parse_u32(value, &v) || v < d->min || v > d->max) {
			snprintf(err, errlen, "%s: expected a number in %llu..%llu, got '%s'",
				 d->name, (unsigned long long)d->min, (unsigned long long)d->max,
				 value);
			return false;
		}
		if (field)
			*(uint32_t *)field = v;
		return true;
	case USCST_ATTR_YESNO:
		if (!parse_attr_bool(value, &b)) {
			snprintf(err, errlen, "%s: expected Yes or No, got '%s'", d->name, value);
			return false;
		}
		if (field)
			*(bool *)field = b;
		return true;
	case USCST_ATTR_LIST:
		list_find(value, add_digest_item, &mask);
		if (mask == 0) {
			snprintf(err, errlen, "%s: expected a list of CRC32C and None, got '%s'",
				 d->name, value);
			return false;
		}
		if (field)
			*(unsigned *)field = mask;
		return true;
	default:
		snprintf(err, errlen, "%s: not an iSCSI target attribute", d->name);
		return false;
	}
}

static bool check_target_attr(const struct uscst_attr_def *d, const char *value, char *err,
			      size_t errlen)
{
	return parse_target_attr(d, value, NULL, err, errlen);
}

#define U32_ATTR(n, f, lo, hi, dflt)                                                               \
	{                                                                                          \
		.name = n, .type = USCST_ATTR_UINT, .min = lo, .max = hi, .def = dflt,             \
		.offset = L(f), .check = check_target_attr                                         \
	}
#define YESNO_ATTR(n, f, dflt)                                                                     \
	{                                                                                          \
		.name = n, .type = USCST_ATTR_YESNO, .def = dflt, .offset = L(f),                  \
		.check = check_target_attr                                                         \
	}
#define DIGEST_ATTR(n, f)                                                                          \
	{                                                                                          \
		.name = n, .type = USCST_ATTR_LIST, .def = "CRC32C,None", .offset = L(f),          \
		.check = check_target_attr                                                         \
	}
#define NOT_BUILT_ATTR(n)                                                                          \
	{                                                                                          \
		.name = n, .type = USCST_ATTR_STRING, .flags = USCST_ATTR_NOT_BUILT                \
	}

const struct uscst_attr_def iscsi_target_attrs[] = {
    U32_ATTR("MaxRecvDataSegmentLength", max_recv_data_segment_length, ISCSI_MRDSL_MIN,
	     ISCSI_MRDSL_MAX, "262144"),
    U32_ATTR("MaxXmitDataSegmentLength", max_xmit_data_segment_length, ISCSI_MRDSL_MIN,
	     ISCSI_MRDSL_MAX, "262144"),
    U32_ATTR("MaxBurstLength", max_burst_length, 512, ISCSI_MRDSL_MAX, "1048576"),
    U32_ATTR("FirstBurstLength", first_burst_length, 512, ISCSI_MRDSL_MAX, "65536"),
    U32_ATTR("MaxOutstandingR2T", max_outstanding_r2t, 1, 65535, "32"),
    YESNO_ATTR("InitialR2T", initial_r2t, "No"),
    YESNO_ATTR("ImmediateData", immediate_data, "Yes"),
    DIGEST_ATTR("HeaderDigest", header_digests),
    DIGEST_ATTR("DataDigest", data_digests),
    U32_ATTR("QueuedCommands", queued_commands, 1, 2048, "32"),
    /* Connections per session (MC/S, iscsi/conn_join.c): 1 as RFC 7143
     * 13.2's default and LIO's, so that nothing changes unless asked. */
    U32_ATTR("MaxConnections", max_connections, 1, 65535, "1"),
    U32_ATTR("NopInInterval", nop_in_interval, 0, 65535, "30"),
    U32_ATTR("NopInTimeout", nop_in_timeout, 2, 65535, "30"),
    U32_ATTR("RspTimeout", rsp_timeout, 2, 65535, "90"),
    U32_ATTR("MaxSessions", max_sessions, 0, 65535, "0"),
    /* The highest ErrorRecoveryLevel the target accepts (the key is
     * negotiated as the lower of the two).  Default 0: what SCST and LIO
     * give, and what libiscsi and open-iscsi ask for; ERL 1 makes the
     * target keep answered reads until acknowledged (iscsi/erl1.c), ERL 2
     * also the tasks of a failed connection (iscsi/reassign.c). */
    U32_ATTR("ErrorRecoveryLevel", error_recovery_level, 0, 2, "0"),
    /* uscst's: command-buffer memory of one session (iscsi/conn.c). */
    U32_ATTR("MaxSessionMemory", max_session_memory_mb, 0, 4096, "0"),
    /* CHAP accounts (iscsi/chap.c), "NAME SECRET": any number of
     * initiator accounts, one for mutual CHAP. */
    {.name = "IncomingUser",
     .type = USCST_ATTR_STRING,
     .flags = USCST_ATTR_MULTI,
     .check = chap_account_attr_check},
    {.name = "OutgoingUser", .type = USCST_ATTR_STRING, .check = chap_account_attr_check},
    /* Portals the target answers on (iscsi/allowed_portal.c). */
    {.name = "allowed_portal",
     .type = USCST_ATTR_STRING,
     .flags = USCST_ATTR_MULTI,
     .check = allowed_portal_check},
    /* Portal groups other than the first (iscsi/portal_group.c). */
    {.name = "portal_group",
     .type = USCST_ATTR_STRING,
     .flags = USCST_ATTR_MULTI,
     .check = portal_group_check},
    /* Login redirection (iscsi/redirect.c). */
    {.name = "redirect_portal", .type = USCST_ATTR_STRING, .check = redirect_portal_check},
    {.name = "redirect_type",
     .type = USCST_ATTR_STRING,
     .def = "temporary",
     .check = redirect_type_check},
    {.name = NULL},
};

const char *iscsi_target_limits_load(struct iscsi_target_limits *lim,
				     const char *(*get)(void *arg, const char *name), void *arg,
				     char *err, size_t errlen)
{
	for (const struct uscst_attr_def *d = iscsi_target_attrs; d->name; d++) {
		/* Only what lands in lim; the CHAP accounts are read at login. */
		const char *s = d->check == check_target_attr ? get(arg, d->name) : NULL;
		if (s && !parse_target_attr(d, s, lim, err, errlen))
			return err;
	}
	retention_from_erl(lim);
	return NULL;
}

/* The defaults of iscsi_target_attrs[]; they parse (a unit test checks). */
static void target_limits_defaults(struct iscsi_target_limits *lim)
{
	char err[160];
	for (const struct uscst_attr_def *d = iscsi_target_attrs; d->name; d++)
		if (d->check == check_target_attr && d->def)
			parse_target_attr(d, d->def, lim, err, sizeof(err));
}
