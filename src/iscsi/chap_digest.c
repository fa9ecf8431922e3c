/*
 * CHAP digests through libcrypto's EVP interface, and the binary value
 * encodings.  The decoders are strict and written here rather than taken
 * from libcrypto because EVP_DecodeBlock accepts whitespace and does not
 * report padding, and every length must be checked against the caller's
 * buffer before a byte is written.
 */
#include "iscsi/chap_digest.h"

#include <string.h>

#include <openssl/evp.h>

struct alg_info {
	unsigned number;
	const char *name;
	size_t len;
	const EVP_MD *(*md)(void);
};

static const struct alg_info algs[] = {
    {CHAP_ALG_MD5, "MD5", 16, EVP_md5},
    {CHAP_ALG_SHA1, "SHA-1", 20, EVP_sha1},
    {CHAP_ALG_SHA256, "SHA-256", 32, EVP_sha256},
    {CHAP_ALG_SHA3_256, "SHA3-256", 32, EVP_sha3_256},
};

static const struct alg_info *alg_find(unsigned alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].number == alg)
			return &algs[i];
	return NULL;
}

size_t chap_alg_digest_len(unsigned alg)
{
	const struct alg_info *a = alg_find(alg);
	return a ? a->len : 0;
}

const char *chap_alg_name(unsigned alg)
{
	const struct alg_info *a = alg_find(alg);
	return a ? a->name : "?";
}

int chap_digest(unsigned alg, uint8_t id, const uint8_t *secret, size_t secret_len,
		const uint8_t *challenge, size_t challenge_len, uint8_t *out)
{
	const struct alg_info *a = alg_find(alg);
	if (!a)
		return -1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -1;
	unsigned len = 0;
	int ok = EVP_DigestInit_ex(ctx, a->md(), NULL) && EVP_DigestUpdate(ctx, &id, 1) &&
		 EVP_DigestUpdate(ctx, secret, secret_len) &&
		 EVP_DigestUpdate(ctx, challenge, challenge_len) &&
		 EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
	return ok && len == a->len ? 0 : -1;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long decode_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);
	if (n == 0 || n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static long decode_base64(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);
	if (n == 0 || n % 4)
		return -1;
	/* Padding: at most two '=', only at the very end. */
	size_t pad = (s[n - 1] == '=') + (s[n - 1] == '=' && s[n - 2] == '=');
	size_t len = n / 4 * 3 - pad;
	if (len == 0 || len > cap)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		int v[4];
		for (int k = 0; k < 4; k++) {
			bool padded = last && (size_t)k >= 4 - pad;
			v[k] = padded ? 0 : b64_value(s[i + (size_t)k]);
			if (v[k] < 0)
				return -1;
		}
		uint32_t group = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
				 (uint32_t)v[3];
		uint8_t bytes[3] = {(uint8_t)(group >> 16), (uint8_t)(group >> 8), (uint8_t)group};
		size_t take = last ? 3 - pad : 3;
		/* Bits under the padding must be zero, or two encodings
		 * would mean the same bytes. */
		if (last && pad && bytes[take] != 0)
			return -1;
		memcpy(out + o, bytes, take);
		o += take;
	}
	return (long)o;
}

long chap_decode_binary(const char *s, uint8_t *out, size_t cap)
{
	if (s[0] != '0')
		return -1;
	if (s[1] == 'x' || s[1] == 'X')
		return decode_hex(s + 2, out, cap);
	if (s[1] == 'b' || s[1] == 'B')
		return decode_base64(s + 2, out, cap);
	return -1;
}

void chap_encode_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	*out++ = '0';
	*out++ = 'x';
	for (size_t i = 0; i < len; i++) {
		*out++ = digits[in[i] >> 4];
		*out++ = digits[in[i] & 15];
	}
	*out = '\0';
}
