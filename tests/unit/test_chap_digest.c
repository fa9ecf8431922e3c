/*
 * Unit tests: CHAP arithmetic (src/iscsi/chap_digest.c).  The expected
 * digests were computed offline, independently of uscst and libcrypto's
 * EVP code paths, with Python's hashlib:
 *   hashlib.new(NAME, bytes([id]) + secret + challenge).hexdigest()
 * and the base64 strings with base64.b64encode().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/chap_digest.h"

static const uint8_t secret[] = "verysecret1234"; /* 14 bytes used */

static void challenge_1_to_32(uint8_t c[32])
{
	for (int i = 0; i < 32; i++)
		c[i] = (uint8_t)(i + 1);
}

static void check_digest(unsigned alg, const char *expected_hex)
{
	uint8_t ch[32], out[CHAP_DIGEST_MAX];
	char hex[2 * CHAP_DIGEST_MAX + 3];
	challenge_1_to_32(ch);
	size_t len = chap_alg_digest_len(alg);
	assert_int_equal(len * 2, strlen(expected_hex));
	assert_int_equal(chap_digest(alg, 0x2a, secret, 14, ch, sizeof(ch), out), 0);
	chap_encode_hex(out, len, hex);
	assert_string_equal(hex + 2, expected_hex);
}

/* hashlib, id 0x2a, secret "verysecret1234", challenge bytes 1..32. */
static void test_md5(void **state)
{
	check_digest(CHAP_ALG_MD5, "660c8431fdbc5d2c17f7244757865dcd");
}

static void test_sha1(void **state)
{
	check_digest(CHAP_ALG_SHA1, "3a16d8c24622a197ee44b58053d9a6b3549d4b27");
}

static void test_sha256(void **state)
{
	check_digest(CHAP_ALG_SHA256,
		     "d7832c2278a459e286a59371235ef863ca1ff40206bfb4f291607d0496f32a24");
}

static void test_sha3_256(void **state)
{
	check_digest(CHAP_ALG_SHA3_256,
		     "f995513ced22fb0532c203dbb76ff967f8ead6fa2081f26696ace4a1bbf4beed");
}

/* The largest inputs: a 255-byte secret and a 1024-byte challenge
 * (hashlib: md5(b'\0' + b'x' * 255 + bytes(range(256)) * 4)). */
static void test_md5_largest_inputs(void **state)
{
	uint8_t sec[255], ch[1024], out[16];
	char hex[35];
	memset(sec, 'x', sizeof(sec));
	for (int i = 0; i < 1024; i++)
		ch[i] = (uint8_t)i;
	assert_int_equal(chap_digest(CHAP_ALG_MD5, 0, sec, sizeof(sec), ch, sizeof(ch), out), 0);
	chap_encode_hex(out, 16, hex);
	assert_string_equal(hex, "0x28d3803e0a92ec870a0d9407e5804457");
}

static void test_unknown_algorithm(void **state)
{
	uint8_t out[CHAP_DIGEST_MAX];
	assert_int_equal(chap_alg_digest_len(4), 0);
	assert_int_equal(chap_alg_digest_len(9), 0);
	assert_int_equal(chap_digest(9, 0, secret, 14, secret, 14, out), -1);
	assert_int_equal(chap_alg_digest_len(CHAP_ALG_MD5), 16);
	assert_int_equal(chap_alg_digest_len(CHAP_ALG_SHA1), 20);
	assert_int_equal(chap_alg_digest_len(CHAP_ALG_SHA256), 32);
	assert_int_equal(chap_alg_digest_len(CHAP_ALG_SHA3_256), 32);
}

static void test_decode_hex(void **state)
{
	uint8_t out[8];
	assert_int_equal(chap_decode_binary("0xdeadBEEF01", out, sizeof(out)), 5);
	assert_memory_equal(out, "\xde\xad\xbe\xef\x01", 5);
	assert_int_equal(chap_decode_binary("0X00", out, sizeof(out)), 1);
	assert_int_equal(out[0], 0);
	/* Exactly the capacity fits, one more byte does not. */
	assert_int_equal(chap_decode_binary("0x0102030405060708", out, 8), 8);
	assert_int_equal(chap_decode_binary("0x010203040506070809", out, 8), -1);
}

static void test_decode_hex_malformed(void **state)
{
	uint8_t out[8];
	assert_int_equal(chap_decode_binary("0xabc", out, sizeof(out)), -1); /* odd */
	assert_int_equal(chap_decode_binary("0x", out, sizeof(out)), -1);
	assert_int_equal(chap_decode_binary("0xzz", out, sizeof(out)), -1);
	assert_int_equal(chap_decode_binary("0x12 4", out, sizeof(out)), -1);
	assert_int_equal(chap_decode_binary("1234", out, sizeof(out)), -1); /* no prefix */
	assert_int_equal(chap_decode_binary("", out, sizeof(out)), -1);
	assert_int_equal(chap_decode_binary("0", out, sizeof(out)), -1);
	assert_int_equal(chap_decode_binary("0y12", out, sizeof(out)), -1);
}

/* base64.b64encode(b'\xde\xad\xbe\xef\x01') == '3q2+7wE=', of 4 bytes
 * '3q2+7w==', of 3 bytes '3q2+'. */
static void test_decode_base64(void **state)
{
	uint8_t out[8];
	assert_int_equal(chap_decode_binary("0b3q2+7wE=", out, sizeof(out)), 5);
	assert_memory_equal(out, "\xde\xad\xbe\xef\x01", 5);
	assert_int_equal(chap_decode_binary("0B3q2+7w==", out, sizeof(out)), 4);
	assert_memory_equal(out, "\xde\xad\xbe\xef", 4);
	assert_int_equal(chap_decode_binary("0b3q2+", out, sizeof(out)), 3);
	assert_memory_equal(out, "\xde\xad\xbe", 3);
	assert_int_equal(chap_decode_binary("0b3q2+7wE=", out, 4), -1); /* over cap */
	assert_int_equal(chap_decode_binary("0b3q2+7wE=", out, 5), 5);
}

static void test_decode_base64_malformed(void **state)
{
	uint8_t out[8];
	assert_int_equal(chap_decode_binary("0b3q2+7wE", out, sizeof(out)), -1);  /* not 4n */
	assert_int_equal(chap_decode_binary("0b3q2=7wE=", out, sizeof(out)), -1); /* '=' inside */
	assert_int_equal(chap_decode_binary("0b3q2+7===", out, sizeof(out)), -1); /* 3 pads */
	assert_int_equal(chap_decode_binary("0b3q2+7wF=", out, sizeof(out)),
			 -1); /* bits under pad */
	assert_int_equal(chap_decode_binary("0b3q2+7x==", out, sizeof(out)),
			 -1); /* bits under pad */
	assert_int_equal(chap_decode_binary("0b3q2 7wE=", out, sizeof(out)), -1); /* space */
	assert_int_equal(chap_decode_binary("0b====", out, sizeof(out)), -1);
	assert_int_equal(chap_decode_binary("0b", out, sizeof(out)), -1);
}

static void test_encode_hex(void **state)
{
	char hex[9];
	chap_encode_hex((const uint8_t *)"\x00\x7f\xa0", 3, hex);
	assert_string_equal(hex, "0x007fa0");
	uint8_t back[3];
	assert_int_equal(chap_decode_binary(hex, back, sizeof(back)), 3);
	assert_memory_equal(back, "\x00\x7f\xa0", 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_md5),
	    cmocka_unit_test(test_sha1),
	    cmocka_unit_test(test_sha256),
	    cmocka_unit_test(test_sha3_256),
	    cmocka_unit_test(test_md5_largest_inputs),
	    cmocka_unit_test(test_unknown_algorithm),
	    cmocka_unit_test(test_decode_hex),
	    cmocka_unit_test(test_decode_hex_malformed),
	    cmocka_unit_test(test_decode_base64),
	    cmocka_unit_test(test_decode_base64_malformed),
	    cmocka_unit_test(test_encode_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
