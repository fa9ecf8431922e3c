/*
 * CHAP arithmetic for iSCSI (RFC 7143 12.1.3, RFC 1994 4.1): the four
 * algorithms CHAP_A may name, the response digest, and the binary value
 * encodings of RFC 7143 6.1 ("0x" hex, "0b" base64) that CHAP_C and CHAP_R
 * travel in.  Pure functions, no state: the exchange is iscsi/chap.c.
 */
#ifndef USCST_ISCSI_CHAP_DIGEST_H
#define USCST_ISCSI_CHAP_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CHAP_A values: the IANA PPP authentication algorithm numbers. */
enum chap_alg {
	CHAP_ALG_MD5 = 5,
	CHAP_ALG_SHA1 = 6,
	CHAP_ALG_SHA256 = 7,
	CHAP_ALG_SHA3_256 = 8,
};

#define CHAP_DIGEST_MAX 32 /* the longest digest (SHA-256, SHA3-256) */
/* RFC 7143 12.1.3: CHAP_C and CHAP_R are at most 1024 bytes once decoded. */
#define CHAP_BINARY_MAX 1024

/* Digest length of a CHAP_A number, or 0 if we do not implement it. */
size_t chap_alg_digest_len(unsigned alg);
/* "MD5", "SHA-1" ...: for log lines. */
const char *chap_alg_name(unsigned alg);

/*
 * RFC 1994 4.1: out = H(id || secret || challenge), chap_alg_digest_len()
 * bytes.  Returns 0, or -1 when alg is unknown or libcrypto fails.
 */
int chap_digest(unsigned alg, uint8_t id, const uint8_t *secret, size_t secret_len,
		const uint8_t *challenge, size_t challenge_len, uint8_t *out);

/*
 * Decodes an RFC 7143 binary value: "0x"/"0X" and an even number of hex
 * digits, or "0b"/"0B" and base64 (RFC 4648, padded to a multiple of four).
 * Returns the decoded length (at least 1), or -1 for anything else:
 * no prefix, a bad digit, an odd hex length, misplaced padding, nothing
 * after the prefix, or more than cap bytes.
 */
long chap_decode_binary(const char *s, uint8_t *out, size_t cap);

/* Writes "0x" and the lowercase hex of in; out must hold 2 * len + 3 bytes. */
void chap_encode_hex(const uint8_t *in, size_t len, char *out);

#endif
