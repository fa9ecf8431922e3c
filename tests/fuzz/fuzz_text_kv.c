/*
 * libFuzzer target for the login text path: text_kv_parse() on the data,
 * then a whole login negotiation over the parsed keys (security stage then
 * operational stage, or operational twice), as login.c drives it.  The
 * first byte chooses leading/non-leading and the stages; the response the
 * target builds must itself be valid text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/params.h"
#include "iscsi/text_kv.h"

/* What we send must parse: an unparsable answer would break initiators. */
static void check_rsp(const struct text_buf *rsp)
{
	if (text_buf_error(rsp) != TEXT_KV_OK || rsp->len == 0)
		return;
	struct text_kv_list back;
	if (text_kv_parse((const uint8_t *)rsp->data, rsp->len, &back, NULL) != TEXT_KV_OK)
		__builtin_trap();
	text_kv_list_free(&back);
}

static int negotiate_round(struct iscsi_login_neg *neg, struct iscsi_params *p,
			   const struct iscsi_target_limits *lim, const struct text_kv_list *keys,
			   enum iscsi_login_stage csg)
{
	struct text_buf rsp;
	struct iscsi_login_result res;
	memset(&res, 0, sizeof(res));
	text_buf_init(&rsp, 0);
	int rc = iscsi_login_negotiate(neg, p, lim, keys, csg, &rsp, &res);
	if (rc == 0) {
		if (csg == ISCSI_STAGE_OPERATIONAL || iscsi_login_needs_operational(neg, p, lim))
			iscsi_login_add_target_keys(neg, p, lim, &rsp);
		(void)iscsi_login_awaiting_answers(neg);
		check_rsp(&rsp);
	} else if ((res.status >> 8) != 2 && (res.status >> 8) != 3) {
		__builtin_trap(); /* a failure must carry a class 2 or 3 status */
	}
	text_buf_free(&rsp);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	data++;
	size--;

	(void)text_kv_ends_with_complete_pair(data, size);
	struct text_kv_list keys;
	size_t bad_at = 0;
	int rc = text_kv_parse(data, size, &keys, &bad_at);
	if (rc != TEXT_KV_OK) {
		if (keys.count != 0 || bad_at > size || !text_kv_strerror(rc))
			__builtin_trap();
		text_kv_list_free(&keys);
		return 0;
	}
	for (unsigned i = 0; i < keys.count; i++) {
		if (!text_kv_key_valid(keys.pairs[i].key, strlen(keys.pairs[i].key)))
			__builtin_trap();
		if (strlen(keys.pairs[i].value) != keys.pairs[i].value_len)
			__builtin_trap();
		if (keys.pairs[i].value_len > text_kv_value_limit(keys.pairs[i].key))
			__builtin_trap();
	}
	(void)text_kv_find(&keys, "InitiatorName");

	struct iscsi_params p;
	struct iscsi_target_limits lim;
	struct iscsi_login_neg neg;
	iscsi_params_init(&p);
	iscsi_target_limits_init(&lim);
	if (sel & 0x10) {
		/* A stricter target: digests required, small bursts, no immediate data. */
		lim.header_digests = 1u << ISCSI_DIGEST_CRC32C;
		lim.data_digests = 1u << ISCSI_DIGEST_CRC32C;
		lim.max_burst_length = 4096;
		lim.first_burst_length = 2048;
		lim.immediate_data = false;
		lim.initial_r2t = true;
		lim.error_recovery_level = 2;
	}
	iscsi_login_neg_init(&neg, sel & 1, 1);
	enum iscsi_login_stage first = (sel & 2) ? ISCSI_STAGE_SECURITY : ISCSI_STAGE_OPERATIONAL;
	if (negotiate_round(&neg, &p, &lim, &keys, first) == 0) {
		/* The same keys again in the next stage: duplicates, misplaced
		 * keys and answers to our offers all go through the rules. */
		if (!(sel & 4) ||
		    negotiate_round(&neg, &p, &lim, &keys, ISCSI_STAGE_OPERATIONAL) == 0) {
			iscsi_params_finalize(&p);
			/* What full feature phase relies on. */
			if (p.first_burst_length > p.max_burst_length)
				__builtin_trap();
		}
	}
	text_kv_list_free(&keys);
	return 0;
}
