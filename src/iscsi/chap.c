/*
 * Target side of the CHAP exchange (see chap.h).  Every value the
 * initiator sends is checked for form and length before it is used; the
 * response is compared in constant time; the initiator's challenge for
 * mutual CHAP must not be ours reflected back (RFC 7143 12.1.3: an attacker
 * could otherwise have us compute the answer to our own challenge).
 */
#include "iscsi/chap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

bool chap_account_parse(const char *attr, const char *value, struct chap_account *out, char *err,
			size_t errlen)
{
	size_t name_len = strcspn(value, " \t");
	const char *secret = value + name_len;
	secret += strspn(secret, " \t");
	size_t secret_len = strlen(secret);
	if (name_len == 0 || secret_len == 0) {
		snprintf(err, errlen, "%s: expected \"NAME SECRET\"", attr);
		return false;
	}
	if (name_len > CHAP_NAME_MAX) {
		snprintf(err, errlen, "%s: the name is %zu bytes, at most %d are allowed", attr,
			 name_len, CHAP_NAME_MAX);
		return false;
	}
	if (secret_len < CHAP_SECRET_MIN || secret_len > CHAP_SECRET_MAX) {
		snprintf(err, errlen,
			 "%s: the secret of '%.*s' is %zu bytes; a CHAP secret must be %d to %d "
			 "bytes",
			 attr, (int)name_len, value, secret_len, CHAP_SECRET_MIN, CHAP_SECRET_MAX);
		return false;
	}
	memcpy(out->name, value, name_len);
	out->name[name_len] = '\0';
	memcpy(out->secret, secret, secret_len);
	out->secret_len = secret_len;
	return true;
}

/* RFC 7143 12.1.3: the secret of OutgoingUser MUST NOT be the secret of
 * an IncomingUser (else a target's answer could be reflected as an
 * initiator's).  Whichever of the two comes second is refused; the
 * message names the accounts, never the secret. */
bool chap_accounts_check_with(const char *name, const char *value,
			      const char *(*get)(void *arg, const char *name, unsigned i), void *arg,
			      char *err, size_t errlen)
{
	bool out = !strcmp(name, "OutgoingUser");
	if (!out && strcmp(name, "IncomingUser") != 0)
		return true;
	struct chap_account a, b;
	char perr[8];
	if (!chap_account_parse(name, value, &a, perr, sizeof(perr)))
		return true; /* the table check reports it */
	const char *other = out ? "IncomingUser" : "OutgoingUser";
	bool ok = true;
	const char *v;
	for (unsigned i = 0; ok && (v = get(arg, other, i)); i++) {
		if (!chap_account_parse(other, v, &b, perr, sizeof(perr)))
			continue;
		if (a.secret_len == b.secret_len && CRYPTO_memcmp(a.secret, b.secret, a.secret_len) == 0) {
			snprintf(err, errlen,
				 "%s '%s' has the same secret as %s '%s': RFC 7143 (12.1.3) "
				 "forbids one secret for both directions of CHAP",
				 name, a.name, other, b.name);
			ok = false;
		}
		OPENSSL_cleanse(&b, sizeof(b));
	}
	OPENSSL_cleanse(&a, sizeof(a));
	return ok;
}

bool chap_account_attr_check(const struct uscst_attr_def *d, const char *value, char *err,
			     size_t errlen)
{
	struct chap_account acct;
	bool ok = chap_account_parse(d->name, value, &acct, err, errlen);
	OPENSSL_cleanse(&acct, sizeof(acct));
	return ok;
}

void chap_init(struct chap_exchange *x)
{
	memset(x, 0, sizeof(*x));
	x->state = CHAP_AWAIT_A;
}

static bool is_chap_key(const char *key) { return strncmp(key, "CHAP_", 5) == 0; }

bool chap_keys_present(const struct text_kv_list *keys)
{
	for (unsigned i = 0; i < keys->count; i++)
		if (is_chap_key(keys->pairs[i].key))
			return true;
	return false;
}

struct step {
	struct chap_exchange *x;
	const struct chap_accounts *acc;
	const struct text_kv_list *keys;
	struct text_buf *rsp;
	enum iscsi_login_status *status;
	char *reason;
	size_t reason_len;
};

static enum chap_step_result fail(struct step *s, enum iscsi_login_status status, const char *fmt,
				  ...) __attribute__((format(printf, 3, 4)));

static enum chap_step_result fail(struct step *s, enum iscsi_login_status status, const char *fmt,
				  ...)
{
	va_list ap;
	*s->status = status;
	va_start(ap, fmt);
	vsnprintf(s->reason, s->reason_len, fmt, ap);
	va_end(ap);
	return CHAP_STEP_FAIL;
}

/* Only the keys in allowed (a NULL-ended list) may appear in this step. */
static const char *unexpected_key(const struct text_kv_list *keys, const char *const *allowed)
{
	for (unsigned i = 0; i < keys->count; i++) {
		const char *k = keys->pairs[i].key;
		if (!is_chap_key(k))
			continue;
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			ok = ok || strcmp(k, *a) == 0;
		if (!ok)
			return k;
	}
	return NULL;
}

/* A CHAP_A or CHAP_I number: decimal, or 0x hex (RFC 7143 6.1). */
static bool parse_number(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned base = 10, v = 0;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0 || len > 8)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d;
		if (s[i] >= '0' && s[i] <= '9')
			d = (unsigned)(s[i] - '0');
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = (unsigned)(s[i] - 'a' + 10);
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = (unsigned)(s[i] - 'A' + 10);
		else
			return false;
		v = v * base + d;
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* The strongest algorithm we implement, whatever the order of the list. */
static unsigned strength(unsigned alg)
{
	switch (alg) {
	case CHAP_ALG_SHA3_256:
		return 4;
	case CHAP_ALG_SHA256:
		return 3;
	case CHAP_ALG_SHA1:
		return 2;
	case CHAP_ALG_MD5:
		return 1;
	default:
		return 0;
	}
}

static unsigned pick_algorithm(const char *list)
{
	unsigned best = 0;
	for (const char *p = list;;) {
		size_t len = strcspn(p, ",");
		unsigned a;
		/* Items we cannot parse or do not know are skipped: the
		 * initiator may list algorithms we do not implement. */
		if (parse_number(p, len, 255, &a) && strength(a) > strength(best))
			best = a;
		if (!p[len])
			return best;
		p += len + 1;
	}
}

static enum chap_step_result step_algorithm(struct step *s)
{
	static const char *const allowed[] = {"CHAP_A", NULL};
	const char *bad = unexpected_key(s->keys, allowed);
	if (bad)
		return fail(s, ISCSI_LS_INITIATOR_ERROR, "%s before CHAP_A", bad);
	const struct text_kv *a = text_kv_find(s->keys, "CHAP_A");
	if (!a)
		return fail(s, ISCSI_LS_INITIATOR_ERROR, "CHAP_A expected");
	unsigned alg = pick_algorithm(a->value);
	if (!alg)
		return fail(s, ISCSI_LS_AUTH_FAILURE, "no supported algorithm in CHAP_A=%.64s",
			    a->value);
	uint8_t id;
	/* A fresh identifier and challenge for every exchange. */
	if (getrandom(&id, 1, 0) != 1 ||
	    getrandom(s->x->challenge, CHAP_CHALLENGE_LEN, 0) != CHAP_CHALLENGE_LEN)
		return fail(s, ISCSI_LS_TARGET_ERROR, "getrandom: %s", strerror(errno));
	char hex[2 * CHAP_CHALLENGE_LEN + 3];
	chap_encode_hex(s->x->challenge, CHAP_CHALLENGE_LEN, hex);
	s->x->alg = alg;
	s->x->id = id;
	text_buf_add_u32(s->rsp, "CHAP_A", alg);
	text_buf_add_u32(s->rsp, "CHAP_I", id);
	text_buf_add(s->rsp, "CHAP_C", hex);
	s->x->state = CHAP_AWAIT_NR;
	return CHAP_STEP_CONTINUE;
}

/* Does (name, response) match one of the IncomingUser accounts? */
static bool response_matches(struct step *s, const char *name, const uint8_t *resp)
{
	size_t dlen = chap_alg_digest_len(s->x->alg);
	const char *v;
	bool match = false;
	for (unsigned i = 0; !match && (v = s->acc->incoming(s->acc->arg, i)); i++) {
		struct chap_account acct;
		char err[8];
		uint8_t expect[CHAP_DIGEST_MAX];
		if (!chap_account_parse("IncomingUser", v, &acct, err, sizeof(err)) ||
		    strcmp(acct.name, name) != 0)
			continue;
		if (chap_digest(s->x->alg, s->x->id, acct.secret, acct.secret_len, s->x->challenge,
				CHAP_CHALLENGE_LEN, expect) == 0)
			match = CRYPTO_memcmp(expect, resp, dlen) == 0;
		/* The expected digest is as good as a response for this challenge:
		 * wipe it with the secret. */
		OPENSSL_cleanse(expect, sizeof(expect));
		OPENSSL_cleanse(&acct, sizeof(acct));
	}
	return match;
}

/* The initiator's challenge for mutual CHAP, checked for form. */
struct mutual {
	unsigned id;
	uint8_t challenge[CHAP_BINARY_MAX];
	size_t len;
};

static enum chap_step_result parse_mutual(struct step *s, const struct text_kv *i_kv,
					  const struct text_kv *c_kv, struct mutual *m)
{
	if (!parse_number(i_kv->value, i_kv->value_len, 255, &m->id))
		return fail(s, ISCSI_LS_INITIATOR_ERROR, "bad CHAP_I");
	long clen = chap_decode_binary(c_kv->value, m->challenge, sizeof(m->challenge));
	if (clen < 0)
		return fail(s, ISCSI_LS_INITIATOR_ERROR, "malformed or oversized CHAP_C");
	m->len = (size_t)clen;
	return CHAP_STEP_DONE;
}

/* Mutual CHAP: our name and our answer to the initiator's challenge. */
static enum chap_step_result answer_mutual(struct step *s, const struct mutual *m)
{
	if (m->len == CHAP_CHALLENGE_LEN &&
	    memcmp(m->challenge, s->x->challenge, CHAP_CHALLENGE_LEN) == 0)
		return fail(s, ISCSI_LS_AUTH_FAILURE, "mutual CHAP challenge reflects ours");
	struct chap_account out;
	char err[8];
	if (!s->acc->outgoing ||
	    !chap_account_parse("OutgoingUser", s->acc->outgoing, &out, err, sizeof(err)))
		return fail(s, ISCSI_LS_AUTH_FAILURE, "mutual CHAP asked, no OutgoingUser");
	uint8_t r[CHAP_DIGEST_MAX];
	char hex[2 * CHAP_DIGEST_MAX + 3];
	int rc = chap_digest(s->x->alg, (uint8_t)m->id, out.secret, out.secret_len, m->challenge,
			     m->len, r);
	OPENSSL_cleanse(out.secret, sizeof(out.secret));
	if (rc)
		return fail(s, ISCSI_LS_TARGET_ERROR, "digest failed");
	chap_encode_hex(r, chap_alg_digest_len(s->x->alg), hex);
	text_buf_add(s->rsp, "CHAP_N", out.name);
	text_buf_add(s->rsp, "CHAP_R", hex);
	s->x->mutual = true;
	return CHAP_STEP_DONE;
}

static enum chap_step_result step_response(struct step *s)
{
	static const char *const allowed[] = {"CHAP_N", "CHAP_R", "CHAP_I", "CHAP_C", NULL};
	const char *bad = unexpected_key(s->keys, allowed);
	if (bad)
		return fail(s, ISCSI_LS_INITIATOR_ERROR, "%s after the challenge", bad);
	const struct text_kv *n = text_kv_find(s->keys, "CHAP_N");
	const struct text_kv *r = text_kv_find(s->keys, "CHAP_R");
	const struct text_kv *i = text_kv_find(s->keys, "CHAP_I");
	const struct text_kv *c = text_kv_find(s->keys, "CHAP_C");
	if (!n || !r)
		return fail(s, ISCSI_LS_INITIATOR_ERROR, "CHAP_N and CHAP_R expected");
	if (!i != !c)
		return fail(s, ISCSI_LS_INITIATOR_ERROR, "CHAP_I and CHAP_C go together");
	if (n->value_len == 0 || n->value_len > CHAP_NAME_MAX)
		return fail(s, ISCSI_LS_INITIATOR_ERROR, "bad CHAP_N length %zu", n->value_len);
	/* Every value's form first: a malformed one is the initiator's
	 * error (02/00) whether or not the response is right. */
	uint8_t resp[CHAP_BINARY_MAX];
	long rlen = chap_decode_binary(r->value, resp, sizeof(resp));
	if (rlen < 0)
		return fail(s, ISCSI_LS_INITIATOR_ERROR, "malformed or oversized CHAP_R");
	struct mutual m;
	if (i && parse_mutual(s, i, c, &m) == CHAP_STEP_FAIL)
		return CHAP_STEP_FAIL;
	if ((size_t)rlen != chap_alg_digest_len(s->x->alg) || !response_matches(s, n->value, resp))
		return fail(s, ISCSI_LS_AUTH_FAILURE, "CHAP: wrong name or response for '%.64s'",
			    n->value);
	memcpy(s->x->user, n->value, n->value_len + 1);
	s->x->state = CHAP_DONE;
	if (i)
		return answer_mutual(s, &m);
	return CHAP_STEP_DONE;
}

enum chap_step_result chap_step(struct chap_exchange *x, const struct chap_accounts *acc,
				const struct text_kv_list *keys, struct text_buf *rsp,
				enum iscsi_login_status *status, char *reason, size_t reason_len)
{
	struct step s = {x, acc, keys, rsp, status, reason, reason_len};
	switch (x->state) {
	case CHAP_AWAIT_A:
		return step_algorithm(&s);
	case CHAP_AWAIT_NR:
		return step_response(&s);
	default:
		if (chap_keys_present(keys))
			return fail(&s, ISCSI_LS_INITIATOR_ERROR, "CHAP keys after authentication");
		return CHAP_STEP_DONE;
	}
}
