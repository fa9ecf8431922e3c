/* Unit tests: iSCSI text parsing/building, login key negotiation, SendTargets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/iscsi_name.h"
#include "iscsi/params.h"
#include "iscsi/sendtargets.h"
#include "iscsi/text_kv.h"

/* String literals with embedded NULs: the size excludes the literal's own
 * terminating NUL, so a literal ending in "\0" ends with a complete pair. */
#define LIT(s) (const uint8_t *)(s), (sizeof(s) - 1)

/* --- helpers --- */

/* Value of key in a built buffer, or NULL.  Points into the buffer. */
static const char *rsp_value(const struct text_buf *b, const char *key)
{
	size_t key_len = strlen(key), pos = 0;

	while (pos < b->len) {
		const char *pair = b->data + pos;
		size_t n = strnlen(pair, b->len - pos);
		if (n > key_len && memcmp(pair, key, key_len) == 0 && pair[key_len] == '=')
			return pair + key_len + 1;
		pos += n + 1;
	}
	return NULL;
}

static unsigned rsp_count(const struct text_buf *b)
{
	unsigned count = 0;

	for (size_t i = 0; i < b->len; i++)
		count += b->data[i] == '\0';
	return count;
}

struct login_fx {
	struct iscsi_params p;
	struct iscsi_target_limits lim;
	struct iscsi_login_neg neg;
	struct text_buf rsp;
	struct iscsi_login_result res;
};

static int fx_setup(void **state)
{
	struct login_fx *f = calloc(1, sizeof(*f));

	iscsi_params_init(&f->p);
	iscsi_target_limits_init(&f->lim);
	iscsi_login_neg_init(&f->neg, true, 1);
	text_buf_init(&f->rsp, 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct login_fx *f = *state;

	text_buf_free(&f->rsp);
	free(f);
	return 0;
}

/* Runs one Login Request; the previous response is discarded first. */
static int do_login(struct login_fx *f, enum iscsi_login_stage csg, const uint8_t *data, size_t len)
{
	struct text_kv_list keys;

	assert_int_equal(text_kv_parse(data, len, &keys, NULL), TEXT_KV_OK);
	text_buf_reset(&f->rsp);
	int rc = iscsi_login_negotiate(&f->neg, &f->p, &f->lim, &keys, csg, &f->rsp, &f->res);
	text_kv_list_free(&keys);
	return rc;
}

#define NAMES "InitiatorName=iqn.2024-01.org.test:init\0TargetName=iqn.2024-01.org.test:tgt\0"
#define OP ISCSI_STAGE_OPERATIONAL
#define SEC ISCSI_STAGE_SECURITY

/* Starts a normal session with only the names, in the operational stage. */
static void start_normal(struct login_fx *f) { assert_int_equal(do_login(f, OP, LIT(NAMES)), 0); }

/* --- text_kv parsing --- */

static void test_parse_good(void **state)
{
	struct text_kv_list l;

	/* The last pair lacks its NUL: the length is authoritative. */
	assert_int_equal(text_kv_parse(LIT("A=1\0Bb=two\0C.d-e+f@g_h=x"), &l, NULL), 0);
	assert_int_equal(l.count, 3);
	assert_string_equal(l.pairs[0].key, "A");
	assert_string_equal(l.pairs[0].value, "1");
	assert_string_equal(l.pairs[1].value, "two");
	assert_string_equal(l.pairs[2].key, "C.d-e+f@g_h");
	assert_int_equal(l.pairs[2].value_len, 1);
	assert_non_null(text_kv_find(&l, "Bb"));
	assert_null(text_kv_find(&l, "bb"));
	text_kv_list_free(&l);
}

static void test_parse_padding_and_empty_values(void **state)
{
	struct text_kv_list l;

	assert_int_equal(text_kv_parse(LIT("SendTargets=\0CHAP_C=0bAB==\0\0\0\0"), &l, NULL), 0);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.pairs[0].value, "");
	assert_int_equal(l.pairs[0].value_len, 0);
	/* Only the first '=' separates: base64 padding stays in the value. */
	assert_string_equal(l.pairs[1].value, "0bAB==");
	text_kv_list_free(&l);

	assert_int_equal(text_kv_parse(NULL, 0, &l, NULL), 0);
	assert_int_equal(l.count, 0);
	text_kv_list_free(&l);
}

static void test_parse_missing_equals(void **state)
{
	struct text_kv_list l;
	size_t off = 99;

	assert_int_equal(text_kv_parse(LIT("A=1\0NoEquals\0"), &l, &off), TEXT_KV_NO_EQUALS);
	assert_int_equal(off, 4);
	assert_int_equal(l.count, 0);
	assert_null(l.pairs);
	text_kv_list_free(&l);
	assert_int_equal(text_kv_parse(LIT("=v\0"), &l, NULL), TEXT_KV_EMPTY_KEY);
	text_kv_list_free(&l);
	assert_string_equal(text_kv_strerror(TEXT_KV_NO_EQUALS), "key=value pair without '='");
}

static void test_parse_bad_key_chars(void **state)
{
	struct text_kv_list l;

	assert_int_equal(text_kv_parse(LIT("Bad Key=1\0"), &l, NULL), TEXT_KV_BAD_KEY_CHAR);
	assert_int_equal(text_kv_parse(LIT("Bad/Key=1\0"), &l, NULL), TEXT_KV_BAD_KEY_CHAR);
	assert_int_equal(text_kv_parse(LIT("A#b=1\0"), &l, NULL), TEXT_KV_BAD_KEY_CHAR);
	/* X#... is the registered-extension form and must parse. */
	assert_int_equal(text_kv_parse(LIT("X#org.example=1\0"), &l, NULL), 0);
	text_kv_list_free(&l);
}

/* RFC 7143 6.1: no value type holds a control character (< 0x20, 0x7f). */
static void test_parse_control_chars_in_values(void **state)
{
	struct text_kv_list l;
	size_t off = 99;

	assert_int_equal(text_kv_parse(LIT("A=1\0InitiatorAlias=x\ny\0"), &l, &off),
			 TEXT_KV_BAD_VALUE_CHAR);
	assert_int_equal(off, 4);
	assert_int_equal(text_kv_parse(LIT("A=\t\0"), &l, NULL), TEXT_KV_BAD_VALUE_CHAR);
	assert_int_equal(text_kv_parse(LIT("A=x\x7f\0"), &l, NULL), TEXT_KV_BAD_VALUE_CHAR);
	assert_int_equal(text_kv_parse(LIT("A=x\x1b[2J\0"), &l, NULL), TEXT_KV_BAD_VALUE_CHAR);
	/* Blanks and UTF-8 (an alias is a UTF-8 string) still parse. */
	assert_int_equal(text_kv_parse(LIT("InitiatorAlias=host \xc3\xa9\0"), &l, NULL), 0);
	text_kv_list_free(&l);
}

static void test_iscsi_name_syntax(void **state)
{
	static const char *const good[] = {
	    "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test",
	    "iqn.1991-05.com.microsoft:host-01.example.com",
	    "iqn.1993-08.org.debian:01:4fa2b3c4d5e6",
	    "iqn.1998-01.com.vmware:ESX-Host7", /* case is folded when compared */
	    "iqn.2026-12.org.example:caf\xc3\xa9",
	    "eui.02004567A425678D",
	    "naa.52004567BA64678D",
	    "naa.62004567BA64678D0123456789ABCDEF",
	    "iqn.x:i",
	    "iqn.2026-12.jp.example:\xe6\x9d\xb1\xe4\xba\xac",
	    "iqn.2026-12.org.example:\xf0\x9f\x92\xbe",
	};
	static const char *const bad[] = {
	    "",
	    "iqn.",
	    "iqn.x:a\nb",
	    "iqn.x:a b",
	    "iqn.x:a\tb",
	    "iqn.x:a\x7f",
	    "iqn.x:a%0a",
	    "iqn.x:a_b",
	    "iqn.x:a/b",
	    "iqn.x:a,i,0x1",
	    "eui.02004567A425678",
	    "eui.02004567A425678G",
	    "naa.52004567BA64678D01",
	    "foo.bar",
	    "iqn2026",
	    "iqn.x:a\xc2\x85"
	    "b", /* NEL, a C1 control */
	    "iqn.x:a\xe2\x80\xa8"
	    "b",		   /* LINE SEPARATOR */
	    "iqn.x:a\xef\xbb\xbf", /* BOM */
	    "iqn.x:a\xe3\x80\x82"
	    "b",		       /* U+3002, RFC 3722 6.1 */
	    "iqn.x:a\xc3",	       /* truncated */
	    "iqn.x:a\xc0\x8a",	       /* overlong '\n' */
	    "iqn.x:a\xed\xa0\x80",     /* a surrogate */
	    "iqn.x:a\xf4\x90\x80\x80", /* above U+10FFFF */
	    "iqn.x:a\x85",	       /* a lone continuation byte */
	};
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!iscsi_name_valid(good[i], strlen(good[i])))
			fail_msg("refused: %s", good[i]);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (iscsi_name_valid(bad[i], strlen(bad[i])))
			fail_msg("accepted: %s", bad[i]);
	/* RFC 7143 4.2.7.1: at most 223 bytes. */
	char name[300];
	memset(name, 'a', sizeof(name));
	memcpy(name, "iqn.x:", 6);
	assert_true(iscsi_name_valid(name, 223));
	assert_false(iscsi_name_valid(name, 224));
	/* An embedded NUL is not part of any name. */
	assert_false(iscsi_name_valid("iqn.x:a\0b", 9));
}

static void test_parse_length_limits(void **state)
{
	struct text_kv_list l;
	char buf[9000];

	/* 63-byte key: fine; 64: too long. */
	memset(buf, 'K', 63);
	strcpy(buf + 63, "=v");
	assert_int_equal(text_kv_parse((uint8_t *)buf, strlen(buf), &l, NULL), 0);
	text_kv_list_free(&l);
	memset(buf, 'K', 64);
	strcpy(buf + 64, "=v");
	assert_int_equal(text_kv_parse((uint8_t *)buf, strlen(buf), &l, NULL),
			 TEXT_KV_KEY_TOO_LONG);

	/* 255-byte value fine, 256 not, except for security keys. */
	strcpy(buf, "Key=");
	memset(buf + 4, 'v', 255);
	buf[4 + 255] = '\0';
	assert_int_equal(text_kv_parse((uint8_t *)buf, strlen(buf), &l, NULL), 0);
	text_kv_list_free(&l);
	memset(buf + 4, 'v', 256);
	buf[4 + 256] = '\0';
	assert_int_equal(text_kv_parse((uint8_t *)buf, strlen(buf), &l, NULL),
			 TEXT_KV_VALUE_TOO_LONG);
	strcpy(buf, "CHAP_C=");
	memset(buf + 7, 'a', 8192);
	buf[7 + 8192] = '\0';
	assert_int_equal(text_kv_parse((uint8_t *)buf, strlen(buf), &l, NULL), 0);
	text_kv_list_free(&l);
	buf[7 + 8192] = 'a';
	buf[7 + 8193] = '\0';
	assert_int_equal(text_kv_parse((uint8_t *)buf, strlen(buf), &l, NULL),
			 TEXT_KV_VALUE_TOO_LONG);
}

static void test_complete_pair_helper(void **state)
{
	assert_true(text_kv_ends_with_complete_pair(LIT("")));
	assert_true(text_kv_ends_with_complete_pair(LIT("A=1\0")));
	assert_false(text_kv_ends_with_complete_pair(LIT("A=1\0B=")));
}

static void test_builder(void **state)
{
	struct text_buf b;

	text_buf_init(&b, 32);
	assert_int_equal(text_buf_add(&b, "Key", "value"), 0);
	assert_int_equal(text_buf_add_u32(&b, "N", 4294967295u), 0);
	assert_int_equal(b.len, sizeof("Key=value\0N=4294967295\0") - 1);
	assert_memory_equal(b.data, "Key=value\0N=4294967295\0", b.len);
	assert_true(text_buf_has_key(&b, "N"));
	assert_false(text_buf_has_key(&b, "Ke"));
	/* 23 bytes used of 32: this one does not fit, and the error sticks. */
	assert_int_equal(text_buf_add(&b, "Long", "0123456789"), TEXT_KV_TOO_BIG);
	assert_int_equal(text_buf_add(&b, "A", "b"), TEXT_KV_TOO_BIG);
	assert_int_equal(text_buf_error(&b), TEXT_KV_TOO_BIG);
	assert_int_equal(b.len, 23);
	text_buf_reset(&b);
	assert_int_equal(text_buf_addf(&b, "F", "%d-%s", 7, "x"), 0);
	assert_memory_equal(b.data, "F=7-x\0", 6);
	assert_int_equal(text_buf_add(&b, "bad key", "x"), TEXT_KV_BAD_KEY_CHAR);
	text_buf_free(&b);
}

/* --- negotiation --- */

/* What libiscsi sends in its single operational-stage Login Request. */
static void test_libiscsi_style_login(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP,
				  LIT(NAMES "SessionType=Normal\0HeaderDigest=None,CRC32C\0"
					    "DataDigest=None\0InitialR2T=Yes\0ImmediateData=Yes\0"
					    "MaxBurstLength=262144\0FirstBurstLength=262144\0"
					    "DefaultTime2Wait=2\0DefaultTime2Retain=0\0"
					    "MaxOutstandingR2T=1\0ErrorRecoveryLevel=0\0"
					    "IFMarker=No\0OFMarker=No\0MaxConnections=1\0"
					    "MaxRecvDataSegmentLength=262144\0DataPDUInOrder=Yes\0"
					    "DataSequenceInOrder=Yes\0")),
			 0);
	assert_string_equal(rsp_value(&f->rsp, "HeaderDigest"), "None");
	assert_string_equal(rsp_value(&f->rsp, "DataDigest"), "None");
	assert_string_equal(rsp_value(&f->rsp, "InitialR2T"), "Yes");
	assert_string_equal(rsp_value(&f->rsp, "ImmediateData"), "Yes");
	assert_string_equal(rsp_value(&f->rsp, "MaxBurstLength"), "262144");
	/* FirstBurstLength: min(262144, ours 65536). */
	assert_string_equal(rsp_value(&f->rsp, "FirstBurstLength"), "65536");
	assert_string_equal(rsp_value(&f->rsp, "MaxOutstandingR2T"), "1");
	assert_string_equal(rsp_value(&f->rsp, "IFMarker"), "No");
	assert_string_equal(rsp_value(&f->rsp, "TargetPortalGroupTag"), "1");
	/* Declaratives get no answer. */
	assert_null(rsp_value(&f->rsp, "MaxRecvDataSegmentLength"));
	assert_null(rsp_value(&f->rsp, "InitiatorName"));
	assert_int_equal(f->p.max_xmit_data_segment_length, 262144);
	assert_string_equal(f->p.initiator_name, "iqn.2024-01.org.test:init");
	assert_string_equal(f->p.target_name, "iqn.2024-01.org.test:tgt");
	assert_int_equal(f->p.session_type, ISCSI_SESSION_NORMAL);

	/* The target declares its MaxRecvDataSegmentLength and, with default
	 * limits, needs nothing answered: T=1 is allowed. */
	assert_false(iscsi_login_add_target_keys(&f->neg, &f->p, &f->lim, &f->rsp));
	assert_string_equal(rsp_value(&f->rsp, "MaxRecvDataSegmentLength"), "262144");
	assert_int_equal(f->p.max_recv_data_segment_length, 262144);
	assert_false(iscsi_login_awaiting_answers(&f->neg));
}

static void test_digest_choice(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(
	    do_login(f, OP, LIT(NAMES "HeaderDigest=CRC32C,None\0DataDigest=None,CRC32C\0")), 0);
	assert_string_equal(rsp_value(&f->rsp, "HeaderDigest"), "CRC32C");
	assert_string_equal(rsp_value(&f->rsp, "DataDigest"), "None");
	assert_int_equal(f->p.header_digest, ISCSI_DIGEST_CRC32C);
	assert_int_equal(f->p.data_digest, ISCSI_DIGEST_NONE);
}

static void test_digest_unknown_items_skipped(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP, LIT(NAMES "HeaderDigest=MD5,CRC32C\0")), 0);
	assert_string_equal(rsp_value(&f->rsp, "HeaderDigest"), "CRC32C");
}

static void test_digest_reject(void **state)
{
	struct login_fx *f = *state;

	f->lim.header_digests = ISCSI_DIGEST_MASK(ISCSI_DIGEST_CRC32C);
	assert_int_equal(do_login(f, OP, LIT(NAMES "HeaderDigest=None\0")), -1);
	assert_string_equal(rsp_value(&f->rsp, "HeaderDigest"), "Reject");
	assert_int_equal(f->res.status, ISCSI_LS_INITIATOR_ERROR);
}

static void test_numeric_min_max(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP,
				  LIT(NAMES "MaxBurstLength=2097152\0MaxOutstandingR2T=64\0"
					    "MaxConnections=4\0DefaultTime2Wait=1\0"
					    "DefaultTime2Retain=20\0ErrorRecoveryLevel=2\0")),
			 0);
	assert_string_equal(rsp_value(&f->rsp, "MaxBurstLength"), "1048576");
	assert_string_equal(rsp_value(&f->rsp, "MaxOutstandingR2T"), "32");
	assert_string_equal(rsp_value(&f->rsp, "MaxConnections"), "1");
	/* DefaultTime2Wait is a max function: ours is 2. */
	assert_string_equal(rsp_value(&f->rsp, "DefaultTime2Wait"), "2");
	assert_string_equal(rsp_value(&f->rsp, "DefaultTime2Retain"), "0");
	assert_string_equal(rsp_value(&f->rsp, "ErrorRecoveryLevel"), "0");
	assert_int_equal(f->p.max_burst_length, 1048576);
	assert_int_equal(f->p.max_outstanding_r2t, 32);
	assert_int_equal(f->p.default_time2wait, 2);
	assert_int_equal(f->p.default_time2retain, 0);
}

/* The target's ErrorRecoveryLevel attribute is the highest it accepts:
 * an initiator asking for more gets it, one asking for less keeps its own. */
static void test_error_recovery_level_limit(void **state)
{
	struct login_fx *f = *state;

	f->lim.error_recovery_level = 1;
	assert_int_equal(do_login(f, OP, LIT(NAMES "ErrorRecoveryLevel=2\0")), 0);
	assert_string_equal(rsp_value(&f->rsp, "ErrorRecoveryLevel"), "1");
	assert_int_equal(f->p.error_recovery_level, 1);
}

static void test_error_recovery_level_initiator_zero(void **state)
{
	struct login_fx *f = *state;

	f->lim.error_recovery_level = 1;
	assert_int_equal(do_login(f, OP, LIT(NAMES "ErrorRecoveryLevel=0\0")), 0);
	assert_string_equal(rsp_value(&f->rsp, "ErrorRecoveryLevel"), "0");
	assert_int_equal(f->p.error_recovery_level, 0);
}

static void test_numeric_hex_value(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP, LIT(NAMES "MaxBurstLength=0x10000\0")), 0);
	assert_string_equal(rsp_value(&f->rsp, "MaxBurstLength"), "65536");
}

static void test_numeric_out_of_range_rejected(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP,
				  LIT(NAMES "MaxBurstLength=100\0MaxConnections=0\0"
					    "MaxOutstandingR2T=abc\0FirstBurstLength=99999999999\0"
					    "ErrorRecoveryLevel=3\0DefaultTime2Wait=-1\0")),
			 0);
	assert_string_equal(rsp_value(&f->rsp, "MaxBurstLength"), "Reject");
	assert_string_equal(rsp_value(&f->rsp, "MaxConnections"), "Reject");
	assert_string_equal(rsp_value(&f->rsp, "MaxOutstandingR2T"), "Reject");
	assert_string_equal(rsp_value(&f->rsp, "FirstBurstLength"), "Reject");
	assert_string_equal(rsp_value(&f->rsp, "ErrorRecoveryLevel"), "Reject");
	assert_string_equal(rsp_value(&f->rsp, "DefaultTime2Wait"), "Reject");
	/* Rejected keys keep their defaults. */
	assert_int_equal(f->p.max_burst_length, 262144);
	assert_int_equal(f->p.max_outstanding_r2t, 1);
}

static void test_first_burst_clamped_to_max_burst(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(
	    do_login(f, OP, LIT(NAMES "FirstBurstLength=65536\0MaxBurstLength=16384\0")), 0);
	assert_string_equal(rsp_value(&f->rsp, "MaxBurstLength"), "16384");
	assert_string_equal(rsp_value(&f->rsp, "FirstBurstLength"), "16384");
	assert_int_equal(f->p.first_burst_length, 16384);

	/* Negotiated in separate requests: finalize repairs the order. */
	struct iscsi_params p;
	iscsi_params_init(&p);
	p.max_burst_length = 8192;
	iscsi_params_finalize(&p);
	assert_int_equal(p.first_burst_length, 8192);
}

static void test_boolean_and_or(void **state)
{
	struct login_fx *f = *state;

	f->lim.immediate_data = false;
	assert_int_equal(do_login(f, OP,
				  LIT(NAMES "InitialR2T=No\0ImmediateData=Yes\0"
					    "DataPDUInOrder=No\0DataSequenceInOrder=No\0")),
			 0);
	/* OR with our No: the initiator's No stands. */
	assert_string_equal(rsp_value(&f->rsp, "InitialR2T"), "No");
	/* AND with our No. */
	assert_string_equal(rsp_value(&f->rsp, "ImmediateData"), "No");
	/* OR with our Yes. */
	assert_string_equal(rsp_value(&f->rsp, "DataPDUInOrder"), "Yes");
	assert_string_equal(rsp_value(&f->rsp, "DataSequenceInOrder"), "Yes");
	assert_false(f->p.initial_r2t);
	assert_false(f->p.immediate_data);
	assert_true(f->p.data_pdu_in_order);
}

static void test_boolean_bad_value_rejected(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP, LIT(NAMES "InitialR2T=yes\0ImmediateData=1\0")), 0);
	assert_string_equal(rsp_value(&f->rsp, "InitialR2T"), "Reject");
	assert_string_equal(rsp_value(&f->rsp, "ImmediateData"), "Reject");
	assert_true(f->p.initial_r2t);
}

static void test_first_burst_irrelevant_without_unsolicited_data(void **state)
{
	struct login_fx *f = *state;

	f->lim.initial_r2t = true;
	assert_int_equal(do_login(f, OP,
				  LIT(NAMES "FirstBurstLength=4096\0ImmediateData=No\0"
					    "InitialR2T=Yes\0")),
			 0);
	assert_string_equal(rsp_value(&f->rsp, "FirstBurstLength"), "Irrelevant");
}

static void test_mrdsl_declarative(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP, LIT(NAMES "MaxRecvDataSegmentLength=4096\0")), 0);
	assert_null(rsp_value(&f->rsp, "MaxRecvDataSegmentLength"));
	assert_int_equal(f->p.max_xmit_data_segment_length, 4096);

	/* Above our MaxXmitDataSegmentLength: clamped. */
	iscsi_login_neg_init(&f->neg, true, 1);
	assert_int_equal(do_login(f, OP, LIT(NAMES "MaxRecvDataSegmentLength=16777215\0")), 0);
	assert_int_equal(f->p.max_xmit_data_segment_length, 262144);

	/* Below 512: Reject, and the RFC default stays. */
	iscsi_params_init(&f->p);
	iscsi_login_neg_init(&f->neg, true, 1);
	assert_int_equal(do_login(f, OP, LIT(NAMES "MaxRecvDataSegmentLength=100\0")), 0);
	assert_string_equal(rsp_value(&f->rsp, "MaxRecvDataSegmentLength"), "Reject");
	assert_int_equal(f->p.max_xmit_data_segment_length, 8192);
}

static void test_unknown_keys_not_understood(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP,
				  LIT(NAMES "X-com.example.Foo=1\0X#org.example=2\0"
					    "FancyNewKey=Yes\0RDMAExtensions=Yes\0")),
			 0);
	assert_string_equal(rsp_value(&f->rsp, "X-com.example.Foo"), "NotUnderstood");
	assert_string_equal(rsp_value(&f->rsp, "X#org.example"), "NotUnderstood");
	assert_string_equal(rsp_value(&f->rsp, "FancyNewKey"), "NotUnderstood");
	assert_string_equal(rsp_value(&f->rsp, "RDMAExtensions"), "NotUnderstood");
}

static void test_reserved_answers_accepted_silently(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP,
				  LIT(NAMES "MaxBurstLength=Irrelevant\0X-foo=NotUnderstood\0"
					    "ImmediateData=Reject\0")),
			 0);
	assert_null(rsp_value(&f->rsp, "MaxBurstLength"));
	assert_null(rsp_value(&f->rsp, "X-foo"));
	assert_null(rsp_value(&f->rsp, "ImmediateData"));
	assert_int_equal(f->p.max_burst_length, 262144);
}

static void test_missing_initiator_name(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP, LIT("TargetName=iqn.2024-01.org.test:tgt\0")), -1);
	assert_int_equal(f->res.status, ISCSI_LS_MISSING_PARAMETER);
	assert_int_equal(iscsi_ls_class(f->res.status), 2);
	assert_int_equal(iscsi_ls_detail(f->res.status), 7);
	assert_string_equal(f->res.reason, "InitiatorName missing");
}

static void test_missing_target_name(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, SEC, LIT("InitiatorName=iqn.x:i\0SessionType=Normal\0")), -1);
	assert_int_equal(f->res.status, ISCSI_LS_MISSING_PARAMETER);

	/* A Discovery session needs no TargetName and gets no TPGT. */
	iscsi_params_init(&f->p);
	iscsi_login_neg_init(&f->neg, true, 1);
	assert_int_equal(do_login(f, SEC, LIT("InitiatorName=iqn.x:i\0SessionType=Discovery\0")),
			 0);
	assert_int_equal(f->p.session_type, ISCSI_SESSION_DISCOVERY);
	assert_null(rsp_value(&f->rsp, "TargetPortalGroupTag"));
}

static void test_bad_session_type(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP, LIT(NAMES "SessionType=Weird\0")), -1);
	assert_int_equal(f->res.status, ISCSI_LS_SESSION_TYPE_UNSUPPORTED);
}

static void test_discovery_irrelevant_keys(void **state)
{
	struct login_fx *f = *state;

	/* SessionType arrives after keys it makes irrelevant. */
	assert_int_equal(do_login(f, OP,
				  LIT("InitiatorName=iqn.x:i\0MaxBurstLength=262144\0"
				      "FirstBurstLength=65536\0InitialR2T=Yes\0ImmediateData=Yes\0"
				      "MaxOutstandingR2T=1\0DataPDUInOrder=Yes\0"
				      "DataSequenceInOrder=Yes\0MaxConnections=1\0"
				      "HeaderDigest=None\0DefaultTime2Wait=2\0"
				      "SessionType=Discovery\0")),
			 0);
	const char *irrelevant[] = {"MaxBurstLength",	   "FirstBurstLength",	"InitialR2T",
				    "ImmediateData",	   "MaxOutstandingR2T", "DataPDUInOrder",
				    "DataSequenceInOrder", "MaxConnections"};
	for (size_t i = 0; i < sizeof(irrelevant) / sizeof(irrelevant[0]); i++)
		assert_string_equal(rsp_value(&f->rsp, irrelevant[i]), "Irrelevant");
	/* Still relevant in a Discovery session. */
	assert_string_equal(rsp_value(&f->rsp, "HeaderDigest"), "None");
	assert_string_equal(rsp_value(&f->rsp, "DefaultTime2Wait"), "2");
}

static void test_duplicate_key_in_request(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP, LIT(NAMES "MaxBurstLength=512\0MaxBurstLength=512\0")),
			 -1);
	assert_int_equal(f->res.status, ISCSI_LS_INITIATOR_ERROR);
}

static void test_renegotiation_in_later_request(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP, LIT(NAMES "MaxBurstLength=65536\0")), 0);
	assert_int_equal(do_login(f, OP, LIT("MaxBurstLength=65536\0")), -1);
	assert_int_equal(f->res.status, ISCSI_LS_INITIATOR_ERROR);
}

static void test_names_only_in_first_request(void **state)
{
	struct login_fx *f = *state;

	start_normal(f);
	assert_int_equal(do_login(f, OP, LIT("SessionType=Discovery\0")), -1);
	assert_int_equal(f->res.status, ISCSI_LS_INITIATOR_ERROR);
}

static void test_auth_method_none(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, SEC, LIT(NAMES "AuthMethod=CHAP,None\0")), 0);
	assert_string_equal(rsp_value(&f->rsp, "AuthMethod"), "None");
	assert_true(f->neg.auth_done);
	assert_string_equal(rsp_value(&f->rsp, "TargetPortalGroupTag"), "1");
	/* Now operational keys are welcome. */
	assert_int_equal(do_login(f, OP, LIT("HeaderDigest=None\0")), 0);
	assert_null(rsp_value(&f->rsp, "TargetPortalGroupTag"));
}

static void test_auth_method_chap_only(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, SEC, LIT(NAMES "AuthMethod=CHAP\0")), -1);
	assert_string_equal(rsp_value(&f->rsp, "AuthMethod"), "Reject");
	assert_int_equal(f->res.status, ISCSI_LS_AUTH_FAILURE);
}

static void test_chap_keys_without_chap(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, SEC, LIT(NAMES "AuthMethod=None\0")), 0);
	assert_int_equal(do_login(f, SEC, LIT("CHAP_A=5\0")), -1);
	assert_int_equal(f->res.status, ISCSI_LS_INITIATOR_ERROR);
}

static void test_keys_in_wrong_stage(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, SEC, LIT(NAMES "MaxBurstLength=65536\0")), -1);
	assert_int_equal(f->res.status, ISCSI_LS_INITIATOR_ERROR);

	iscsi_params_init(&f->p);
	iscsi_login_neg_init(&f->neg, true, 1);
	assert_int_equal(do_login(f, OP, LIT(NAMES "AuthMethod=None\0")), -1);
	assert_int_equal(f->res.status, ISCSI_LS_INITIATOR_ERROR);

	/* Declaratives are fine in the security stage. */
	iscsi_params_init(&f->p);
	iscsi_login_neg_init(&f->neg, true, 1);
	assert_int_equal(
	    do_login(f, SEC, LIT(NAMES "InitiatorAlias=host1\0MaxRecvDataSegmentLength=65536\0")),
	    0);
	assert_string_equal(f->p.initiator_alias, "host1");
	assert_int_equal(f->p.max_xmit_data_segment_length, 65536);
}

static void test_leading_only_on_other_connection(void **state)
{
	struct login_fx *f = *state;

	iscsi_login_neg_init(&f->neg, false, 1);
	assert_int_equal(do_login(f, OP,
				  LIT(NAMES "MaxBurstLength=65536\0ErrorRecoveryLevel=0\0"
					    "HeaderDigest=CRC32C\0")),
			 0);
	assert_string_equal(rsp_value(&f->rsp, "MaxBurstLength"), "Irrelevant");
	assert_string_equal(rsp_value(&f->rsp, "ErrorRecoveryLevel"), "Irrelevant");
	/* Connection-scoped keys are negotiated as usual. */
	assert_string_equal(rsp_value(&f->rsp, "HeaderDigest"), "CRC32C");
}

static void test_obsolete_markers(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP,
				  LIT(NAMES "IFMarker=Yes\0OFMarker=No\0IFMarkInt=2048\0"
					    "OFMarkInt=1024~2048\0")),
			 0);
	assert_string_equal(rsp_value(&f->rsp, "IFMarker"), "No");
	assert_string_equal(rsp_value(&f->rsp, "OFMarker"), "No");
	assert_string_equal(rsp_value(&f->rsp, "IFMarkInt"), "Reject");
	assert_string_equal(rsp_value(&f->rsp, "OFMarkInt"), "Reject");
	assert_false(f->p.if_marker);
}

static void test_task_reporting_and_target_only_keys(void **state)
{
	struct login_fx *f = *state;

	assert_int_equal(do_login(f, OP,
				  LIT(NAMES "TaskReporting=FastAbort,RFC3720\0"
					    "TargetAddress=1.2.3.4\0")),
			 0);
	assert_string_equal(rsp_value(&f->rsp, "TaskReporting"), "RFC3720");
	assert_string_equal(rsp_value(&f->rsp, "TargetAddress"), "Irrelevant");
}

static void test_target_alias_declared(void **state)
{
	struct login_fx *f = *state;

	strcpy(f->p.target_alias, "disk array");
	start_normal(f);
	assert_string_equal(rsp_value(&f->rsp, "TargetAlias"), "disk array");
}

static void test_target_offers_and_answers(void **state)
{
	struct login_fx *f = *state;

	f->lim.max_burst_length = 65536;
	f->lim.first_burst_length = 16384;
	f->lim.immediate_data = false;
	f->lim.header_digests = ISCSI_DIGEST_MASK(ISCSI_DIGEST_CRC32C);
	start_normal(f);
	assert_true(iscsi_login_needs_operational(&f->neg, &f->p, &f->lim));
	assert_true(iscsi_login_add_target_keys(&f->neg, &f->p, &f->lim, &f->rsp));
	assert_string_equal(rsp_value(&f->rsp, "MaxRecvDataSegmentLength"), "262144");
	assert_string_equal(rsp_value(&f->rsp, "MaxBurstLength"), "65536");
	assert_string_equal(rsp_value(&f->rsp, "FirstBurstLength"), "16384");
	assert_string_equal(rsp_value(&f->rsp, "ImmediateData"), "No");
	assert_string_equal(rsp_value(&f->rsp, "HeaderDigest"), "CRC32C");
	/* DataDigest=None (the default) is acceptable: not offered. */
	assert_null(rsp_value(&f->rsp, "DataDigest"));
	assert_true(iscsi_login_awaiting_answers(&f->neg));

	/* The initiator answers; answers are not answered back. */
	assert_int_equal(do_login(f, OP,
				  LIT("MaxBurstLength=32768\0FirstBurstLength=16384\0"
				      "ImmediateData=No\0HeaderDigest=CRC32C\0")),
			 0);
	assert_int_equal(f->rsp.len, 0);
	assert_int_equal(f->p.max_burst_length, 32768);
	assert_false(f->p.immediate_data);
	assert_int_equal(f->p.header_digest, ISCSI_DIGEST_CRC32C);
	assert_false(iscsi_login_awaiting_answers(&f->neg));
	/* Declared once only, nothing more to offer. */
	text_buf_reset(&f->rsp);
	assert_false(iscsi_login_add_target_keys(&f->neg, &f->p, &f->lim, &f->rsp));
	assert_int_equal(f->rsp.len, 0);
	assert_false(iscsi_login_needs_operational(&f->neg, &f->p, &f->lim));
}

static void test_bad_answer_to_offer(void **state)
{
	struct login_fx *f = *state;

	f->lim.max_burst_length = 65536;
	start_normal(f);
	assert_true(iscsi_login_add_target_keys(&f->neg, &f->p, &f->lim, &f->rsp));
	/* A min function cannot answer above the offer. */
	assert_int_equal(do_login(f, OP, LIT("MaxBurstLength=131072\0")), -1);
	assert_int_equal(f->res.status, ISCSI_LS_INITIATOR_ERROR);
}

static void test_declined_offer_keeps_default(void **state)
{
	struct login_fx *f = *state;

	f->lim.immediate_data = false;
	start_normal(f);
	assert_true(iscsi_login_add_target_keys(&f->neg, &f->p, &f->lim, &f->rsp));
	assert_int_equal(do_login(f, OP, LIT("ImmediateData=Reject\0")), 0);
	assert_true(f->p.immediate_data);
	assert_false(iscsi_login_awaiting_answers(&f->neg));
}

static void test_discovery_offers_only_digests(void **state)
{
	struct login_fx *f = *state;

	f->lim.max_burst_length = 4096;
	f->lim.data_digests = ISCSI_DIGEST_MASK(ISCSI_DIGEST_CRC32C);
	assert_int_equal(do_login(f, OP, LIT("InitiatorName=iqn.x:i\0SessionType=Discovery\0")), 0);
	assert_true(iscsi_login_add_target_keys(&f->neg, &f->p, &f->lim, &f->rsp));
	assert_null(rsp_value(&f->rsp, "MaxBurstLength"));
	assert_string_equal(rsp_value(&f->rsp, "DataDigest"), "CRC32C");
	assert_int_equal(rsp_count(&f->rsp), 2); /* + MaxRecvDataSegmentLength */
}

/* --- limits from attributes --- */

struct attr {
	const char *name, *value;
};

static const char *get_attr(void *arg, const char *name)
{
	for (const struct attr *a = arg; a->name; a++)
		if (strcmp(a->name, name) == 0)
			return a->value;
	return NULL;
}

static void test_limits_load(void **state)
{
	struct iscsi_target_limits lim;
	char err[128];
	struct attr good[] = {{"MaxRecvDataSegmentLength", "1048576"},
			      {"MaxBurstLength", "0x20000"},
			      {"InitialR2T", "Yes"},
			      {"ImmediateData", "No"},
			      {"HeaderDigest", "CRC32C"},
			      {"DataDigest", "None, CRC32C"},
			      {"QueuedCommands", "128"},
			      {"NopInInterval", "0"},
			      {"MaxSessions", "4"},
			      {NULL, NULL}};

	iscsi_target_limits_init(&lim);
	assert_null(iscsi_target_limits_load(&lim, get_attr, good, err, sizeof(err)));
	assert_int_equal(lim.max_recv_data_segment_length, 1048576);
	assert_int_equal(lim.max_burst_length, 131072);
	assert_int_equal(lim.first_burst_length, 65536); /* untouched default */
	assert_true(lim.initial_r2t);
	assert_false(lim.immediate_data);
	assert_int_equal(lim.header_digests, ISCSI_DIGEST_MASK(ISCSI_DIGEST_CRC32C));
	assert_int_equal(lim.data_digests, ISCSI_DIGEST_MASK(ISCSI_DIGEST_CRC32C) |
					       ISCSI_DIGEST_MASK(ISCSI_DIGEST_NONE));
	assert_int_equal(lim.queued_commands, 128);
	assert_int_equal(lim.nop_in_interval, 0);
	assert_int_equal(lim.max_sessions, 4);
}

static void test_limits_load_errors(void **state)
{
	struct iscsi_target_limits lim;
	char err[128];
	struct attr small[] = {{"MaxRecvDataSegmentLength", "100"}, {NULL, NULL}};
	struct attr boolean[] = {{"ImmediateData", "maybe"}, {NULL, NULL}};
	struct attr digest[] = {{"HeaderDigest", "CRC32C,MD5"}, {NULL, NULL}};
	struct attr queued[] = {{"QueuedCommands", "0"}, {NULL, NULL}};

	iscsi_target_limits_init(&lim);
	assert_ptr_equal(iscsi_target_limits_load(&lim, get_attr, small, err, sizeof(err)), err);
	assert_non_null(strstr(err, "MaxRecvDataSegmentLength"));
	assert_non_null(iscsi_target_limits_load(&lim, get_attr, boolean, err, sizeof(err)));
	assert_non_null(strstr(err, "ImmediateData"));
	assert_non_null(iscsi_target_limits_load(&lim, get_attr, digest, err, sizeof(err)));
	assert_non_null(iscsi_target_limits_load(&lim, get_attr, queued, err, sizeof(err)));
}

/* --- SendTargets --- */

static const struct sendtargets_portal portals_a[] = {{"192.168.1.10", 3260, 1},
						      {"fe80::1", 3260, 2}};
static const struct sendtargets_portal portals_b[] = {{"[2001:db8::5]", 3261, 1}};
static const struct sendtargets_target targets[] = {
    {"iqn.2024-01.org.test:a", portals_a, 2},
    {"iqn.2024-01.org.test:b", portals_b, 1},
};

static void foreach_targets(void *arg, sendtargets_emit_fn emit, void *ctx)
{
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		emit(ctx, &targets[i]);
}

static void test_sendtargets_all(void **state)
{
	struct text_buf b;
	static const char expect[] = "TargetName=iqn.2024-01.org.test:a\0"
				     "TargetAddress=192.168.1.10:3260,1\0"
				     "TargetAddress=[fe80::1]:3260,2\0"
				     "TargetName=iqn.2024-01.org.test:b\0"
				     "TargetAddress=[2001:db8::5]:3261,1\0";

	text_buf_init(&b, 0);
	assert_int_equal(
	    sendtargets_build("All", ISCSI_SESSION_DISCOVERY, NULL, foreach_targets, NULL, &b), 0);
	assert_int_equal(b.len, sizeof(expect) - 1);
	assert_memory_equal(b.data, expect, b.len);
	text_buf_free(&b);
}

static void test_sendtargets_named_and_empty(void **state)
{
	struct text_buf b;

	text_buf_init(&b, 0);
	assert_int_equal(sendtargets_build("iqn.2024-01.org.test:b", ISCSI_SESSION_DISCOVERY, NULL,
					   foreach_targets, NULL, &b),
			 0);
	assert_string_equal(rsp_value(&b, "TargetName"), "iqn.2024-01.org.test:b");
	assert_int_equal(rsp_count(&b), 2);

	/* Empty value in a Normal session: the session's own target. */
	text_buf_reset(&b);
	assert_int_equal(sendtargets_build("", ISCSI_SESSION_NORMAL, "iqn.2024-01.org.test:a",
					   foreach_targets, NULL, &b),
			 0);
	assert_string_equal(rsp_value(&b, "TargetName"), "iqn.2024-01.org.test:a");
	assert_int_equal(rsp_count(&b), 3);

	/* Unknown target, or empty value in a Discovery session: nothing. */
	text_buf_reset(&b);
	assert_int_equal(
	    sendtargets_build("iqn.nope", ISCSI_SESSION_DISCOVERY, NULL, foreach_targets, NULL, &b),
	    0);
	assert_int_equal(b.len, 0);
	assert_int_equal(
	    sendtargets_build("", ISCSI_SESSION_DISCOVERY, NULL, foreach_targets, NULL, &b), 0);
	assert_int_equal(b.len, 0);
	text_buf_free(&b);
}

static void test_sendtargets_all_in_normal_session(void **state)
{
	struct text_buf b;

	text_buf_init(&b, 0);
	assert_int_equal(sendtargets_build("All", ISCSI_SESSION_NORMAL, "iqn.2024-01.org.test:a",
					   foreach_targets, NULL, &b),
			 0);
	assert_string_equal(rsp_value(&b, "SendTargets"), "Reject");
	assert_null(rsp_value(&b, "TargetName"));
	text_buf_free(&b);
}

static void test_sendtargets_overflow(void **state)
{
	struct text_buf b;

	text_buf_init(&b, 40);
	assert_int_equal(
	    sendtargets_build("All", ISCSI_SESSION_DISCOVERY, NULL, foreach_targets, NULL, &b),
	    TEXT_KV_TOO_BIG);
	text_buf_free(&b);
}

#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)

/* Full feature phase Text keys (iscsi_ffp_negotiate_key): the table's
 * Use flags decide.  MaxRecvDataSegmentLength (ALL, declarative): no
 * answer, the new sending limit clamped to MaxXmitDataSegmentLength, a
 * value out of range Reject; login-only keys (IO, LO) Reject; a key only
 * a target sends Irrelevant; InitiatorAlias (ALL) taken silently; unknown
 * keys NotUnderstood; reserved words as values never answered. */
static void test_ffp_text_keys(void **state)
{
	struct iscsi_target_limits lim;
	iscsi_target_limits_init(&lim);
	lim.max_xmit_data_segment_length = 65536;
	static const char in[] = "MaxRecvDataSegmentLength=1048576\0HeaderDigest=CRC32C\0"
				 "MaxConnections=2\0ErrorRecoveryLevel=1\0TargetAlias=x\0"
				 "InitiatorAlias=host\0SessionType=Discovery\0AuthMethod=None\0"
				 "X-com.example.key=1\0TaskReporting=Reject";
	struct text_kv_list keys;
	assert_int_equal(text_kv_parse((const uint8_t *)in, sizeof(in), &keys, NULL), TEXT_KV_OK);
	struct text_buf rsp;
	text_buf_init(&rsp, 0);
	uint32_t xmit = 0;
	for (unsigned i = 0; i < keys.count; i++)
		iscsi_ffp_negotiate_key(&keys.pairs[i], &lim, &rsp, &xmit);
	assert_int_equal(xmit, 65536);
	assert_null(rsp_value(&rsp, "MaxRecvDataSegmentLength"));
	assert_string_equal(rsp_value(&rsp, "HeaderDigest"), "Reject");
	assert_string_equal(rsp_value(&rsp, "MaxConnections"), "Reject");
	assert_string_equal(rsp_value(&rsp, "ErrorRecoveryLevel"), "Reject");
	assert_string_equal(rsp_value(&rsp, "SessionType"), "Reject");
	assert_string_equal(rsp_value(&rsp, "AuthMethod"), "Reject");
	assert_string_equal(rsp_value(&rsp, "TargetAlias"), "Irrelevant");
	assert_null(rsp_value(&rsp, "InitiatorAlias"));
	assert_string_equal(rsp_value(&rsp, "X-com.example.key"), "NotUnderstood");
	assert_null(rsp_value(&rsp, "TaskReporting"));
	text_kv_list_free(&keys);
	text_buf_free(&rsp);

	static const char small[] = "MaxRecvDataSegmentLength=511";
	assert_int_equal(text_kv_parse((const uint8_t *)small, sizeof(small), &keys, NULL),
			 TEXT_KV_OK);
	text_buf_init(&rsp, 0);
	xmit = 0;
	iscsi_ffp_negotiate_key(&keys.pairs[0], &lim, &rsp, &xmit);
	assert_int_equal(xmit, 0);
	assert_string_equal(rsp_value(&rsp, "MaxRecvDataSegmentLength"), "Reject");
	text_kv_list_free(&keys);
	text_buf_free(&rsp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_padding_and_empty_values),
	    cmocka_unit_test(test_parse_missing_equals),
	    cmocka_unit_test(test_parse_bad_key_chars),
	    cmocka_unit_test(test_parse_control_chars_in_values),
	    cmocka_unit_test(test_iscsi_name_syntax),
	    cmocka_unit_test(test_parse_length_limits),
	    cmocka_unit_test(test_complete_pair_helper),
	    cmocka_unit_test(test_builder),
	    FX(test_libiscsi_style_login),
	    FX(test_digest_choice),
	    FX(test_digest_unknown_items_skipped),
	    FX(test_digest_reject),
	    FX(test_numeric_min_max),
	    FX(test_error_recovery_level_limit),
	    FX(test_error_recovery_level_initiator_zero),
	    FX(test_numeric_hex_value),
	    FX(test_numeric_out_of_range_rejected),
	    FX(test_first_burst_clamped_to_max_burst),
	    FX(test_boolean_and_or),
	    FX(test_boolean_bad_value_rejected),
	    FX(test_first_burst_irrelevant_without_unsolicited_data),
	    FX(test_mrdsl_declarative),
	    FX(test_unknown_keys_not_understood),
	    FX(test_reserved_answers_accepted_silently),
	    FX(test_missing_initiator_name),
	    FX(test_missing_target_name),
	    FX(test_bad_session_type),
	    FX(test_discovery_irrelevant_keys),
	    FX(test_duplicate_key_in_request),
	    FX(test_renegotiation_in_later_request),
	    FX(test_names_only_in_first_request),
	    FX(test_auth_method_none),
	    FX(test_auth_method_chap_only),
	    FX(test_chap_keys_without_chap),
	    FX(test_keys_in_wrong_stage),
	    FX(test_leading_only_on_other_connection),
	    FX(test_obsolete_markers),
	    FX(test_task_reporting_and_target_only_keys),
	    FX(test_target_alias_declared),
	    FX(test_target_offers_and_answers),
	    FX(test_bad_answer_to_offer),
	    FX(test_declined_offer_keeps_default),
	    FX(test_discovery_offers_only_digests),
	    cmocka_unit_test(test_limits_load),
	    cmocka_unit_test(test_limits_load_errors),
	    cmocka_unit_test(test_sendtargets_all),
	    cmocka_unit_test(test_sendtargets_named_and_empty),
	    cmocka_unit_test(test_sendtargets_all_in_normal_session),
	    cmocka_unit_test(test_sendtargets_overflow),
	    cmocka_unit_test(test_ffp_text_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
