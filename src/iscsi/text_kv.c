/* iSCSI "key=value\0" text: parser and bounded builder (RFC 7143 6.1). */
#include "iscsi/text_kv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool key_char_valid(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '+' || c == '@' || c == '_';
}

bool text_kv_key_valid(const char *key, size_t len)
{
	if (len == 0 || len > TEXT_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		/* "X#name" is the RFC 7143 13.5.2 form of IANA-registered
		 * extension keys; '#' is legal only there. */
		if (i == 1 && key[0] == 'X' && key[1] == '#')
			continue;
		if (!key_char_valid(key[i]))
			return false;
	}
	return true;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

size_t text_kv_value_limit(const char *key)
{
	/* Authentication exchanges carry challenges, responses and tickets
	 * that RFC 7143 12.1 lets grow well past 255 bytes. */
	static const char *const long_prefixes[] = {"CHAP_", "SRP_", "KRB_", "SPKM_"};

	for (size_t i = 0; i < sizeof(long_prefixes) / sizeof(long_prefixes[0]); i++)
		if (has_prefix(key, long_prefixes[i]))
			return TEXT_VALUE_LONG_MAX;
	return TEXT_VALUE_MAX;
}

const char *text_kv_strerror(int err)
{
	switch (err) {
	case TEXT_KV_OK:
		return "success";
	case TEXT_KV_ENOMEM:
		return "out of memory";
	case TEXT_KV_NO_EQUALS:
		return "key=value pair without '='";
	case TEXT_KV_EMPTY_KEY:
		return "empty key name";
	case TEXT_KV_KEY_TOO_LONG:
		return "key name longer than 63 bytes";
	case TEXT_KV_BAD_KEY_CHAR:
		return "invalid character in key name";
	case TEXT_KV_VALUE_TOO_LONG:
		return "value too long";
	case TEXT_KV_BAD_VALUE_CHAR:
		return "control character in a value";
	case TEXT_KV_TOO_BIG:
		return "text too big";
	}
	return "unknown text error";
}

void text_kv_list_free(struct text_kv_list *list)
{
	free(list->pairs);
	free(list->storage);
	list->pairs = NULL;
	list->storage = NULL;
	list->count = 0;
}

/* Splits one NUL-terminated "key=value" string in place. */
static int split_pair(char *pair, size_t pair_len, struct text_kv *kv)
{
	char *eq = memchr(pair, '=', pair_len);

	if (!eq)
		return TEXT_KV_NO_EQUALS;
	size_t key_len = (size_t)(eq - pair);
	if (key_len == 0)
		return TEXT_KV_EMPTY_KEY;
	if (key_len > TEXT_KEY_MAX)
		return TEXT_KV_KEY_TOO_LONG;
	if (!text_kv_key_valid(pair, key_len))
		return TEXT_KV_BAD_KEY_CHAR;
	*eq = '\0';
	kv->key = pair;
	kv->value = eq + 1;
	kv->value_len = pair_len - key_len - 1;
	if (kv->value_len > text_kv_value_limit(kv->key))
		return TEXT_KV_VALUE_TOO_LONG;
	/* No value type of RFC 7143 6.1 holds a control character: text,
	 * numbers, hex and base64 constants and iSCSI names are printable
	 * ASCII or UTF-8, and an iSCSI-local-name-value (an alias) is meant
	 * for display.  Refusing them keeps a value from forging log lines
	 * or breaking files that store it (the PR file, by its port name). */
	for (size_t i = 0; i < kv->value_len; i++) {
		unsigned char b = (unsigned char)kv->value[i];
		if (b < 0x20 || b == 0x7f)
			return TEXT_KV_BAD_VALUE_CHAR;
	}
	return TEXT_KV_OK;
}

/* Upper bound on the pairs in len bytes: each takes at least "k=\0". */
static size_t max_pairs(size_t len) { return len / 3 + 1; }

int text_kv_parse(const uint8_t *data, size_t len, struct text_kv_list *out, size_t *err_offset)
{
	out->pairs = NULL;
	out->storage = NULL;
	out->count = 0;
	if (len > TEXT_BUF_DEFAULT_LIMIT)
		return TEXT_KV_TOO_BIG;
	if (len == 0)
		return TEXT_KV_OK;

	/* One spare byte so the last pair is terminated even when the
	 * sender's data segment ended without its NUL. */
	out->storage = malloc(len + 1);
	out->pairs = calloc(max_pairs(len), sizeof(*out->pairs));
	if (!out->storage || !out->pairs) {
		text_kv_list_free(out);
		return TEXT_KV_ENOMEM;
	}
	memcpy(out->storage, data, len);
	out->storage[len] = '\0';

	size_t pos = 0;
	while (pos < len) {
		char *pair = out->storage + pos;
		size_t pair_len = strlen(pair); /* bounded by the spare NUL */

		if (pair_len == 0) { /* padding or an empty entry */
			pos++;
			continue;
		}
		int rc = split_pair(pair, pair_len, &out->pairs[out->count]);
		if (rc != TEXT_KV_OK) {
			if (err_offset)
				*err_offset = pos;
			text_kv_list_free(out);
			return rc;
		}
		out->count++;
		pos += pair_len + 1;
	}
	return TEXT_KV_OK;
}

const struct text_kv *text_kv_find(const struct text_kv_list *list, const char *key)
{
	for (unsigned i = 0; i < list->count; i++)
		if (strcmp(list->pairs[i].key, key) == 0)
			return &list->pairs[i];
	return NULL;
}

bool text_kv_ends_with_complete_pair(const uint8_t *data, size_t len)
{
	return len == 0 || data[len - 1] == '\0';
}

/* --- builder --- */

void text_buf_init(struct text_buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit ? limit : TEXT_BUF_DEFAULT_LIMIT;
	b->error = TEXT_KV_OK;
}

void text_buf_free(struct text_buf *b)
{
	free(b->data);
	text_buf_init(b, b->limit);
}

void text_buf_reset(struct text_buf *b)
{
	b->len = 0;
	b->error = TEXT_KV_OK;
}

static int fail(struct text_buf *b, int err)
{
	b->error = err;
	return err;
}

static int reserve(struct text_buf *b, size_t extra)
{
	if (extra > b->limit - b->len)
		return fail(b, TEXT_KV_TOO_BIG);
	size_t need = b->len + extra;
	if (need <= b->cap)
		return TEXT_KV_OK;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > b->limit)
		cap = b->limit;
	char *p = realloc(b->data, cap);
	if (!p)
		return fail(b, TEXT_KV_ENOMEM);
	b->data = p;
	b->cap = cap;
	return TEXT_KV_OK;
}

int text_buf_add(struct text_buf *b, const char *key, const char *value)
{
	if (b->error)
		return b->error;
	size_t key_len = strlen(key);
	size_t value_len = strlen(value);
	if (!text_kv_key_valid(key, key_len))
		return fail(b, TEXT_KV_BAD_KEY_CHAR);
	/* key + '=' + value + NUL; lengths are small so this cannot wrap. */
	int rc = reserve(b, key_len + value_len + 2);
	if (rc)
		return rc;
	char *p = b->data + b->len;
	memcpy(p, key, key_len);
	p[key_len] = '=';
	memcpy(p + key_len + 1, value, value_len);
	p[key_len + 1 + value_len] = '\0';
	b->len += key_len + value_len + 2;
	return TEXT_KV_OK;
}

int text_buf_add_u32(struct text_buf *b, const char *key, uint32_t value)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", value);
	return text_buf_add(b, key, num);
}

int text_buf_addf(struct text_buf *b, const char *key, const char *fmt, ...)
{
	char value[TEXT_VALUE_LONG_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(value))
		return b->error ? b->error : fail(b, TEXT_KV_VALUE_TOO_LONG);
	return text_buf_add(b, key, value);
}

bool text_buf_has_key(const struct text_buf *b, const char *key)
{
	size_t key_len = strlen(key);
	size_t pos = 0;

	while (pos < b->len) {
		const char *pair = b->data + pos;
		size_t pair_len = strnlen(pair, b->len - pos);

		if (pair_len > key_len && memcmp(pair, key, key_len) == 0 && pair[key_len] == '=')
			return true;
		pos += pair_len + 1;
	}
	return false;
}
