/*
 * iSCSI text data segments (RFC 7143 6.1): a sequence of "key=value\0"
 * pairs, used by Login and Text PDUs.
 *
 * Parsing copies the data once and splits it in place, so the caller may
 * drop the PDU right away.  Login/Text continuation (C bit) is reassembled
 * by the caller: it concatenates data segments until a PDU arrives with
 * C=0, and only then parses.  text_kv_ends_with_complete_pair() tells a
 * caller whether a buffer could be parsed as it stands.
 */
#ifndef USCST_ISCSI_TEXT_KV_H
#define USCST_ISCSI_TEXT_KV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEXT_KEY_MAX 63	   /* RFC 7143 6.1: key names are at most 63 bytes */
#define TEXT_VALUE_MAX 255 /* RFC 7143 6.1: default cap on one value */
#define TEXT_VALUE_LONG_MAX                                                                        \
	8192 /* security keys (CHAP_C, CHAP_R, ...) carry long binary values                       \
	      */
#define TEXT_BUF_DEFAULT_LIMIT 65536 /* largest text we build or accept in one exchange */

enum text_kv_err {
	TEXT_KV_OK = 0,
	TEXT_KV_ENOMEM = -1,
	TEXT_KV_NO_EQUALS = -2,	     /* a pair without '=' */
	TEXT_KV_EMPTY_KEY = -3,	     /* "=value" */
	TEXT_KV_KEY_TOO_LONG = -4,   /* more than TEXT_KEY_MAX bytes */
	TEXT_KV_BAD_KEY_CHAR = -5,   /* a byte outside a-zA-Z0-9.-+@_ in a key */
	TEXT_KV_VALUE_TOO_LONG = -6, /* longer than the key allows */
	TEXT_KV_TOO_BIG = -7,	     /* input or output above the size limit */
	TEXT_KV_BAD_VALUE_CHAR = -8, /* a byte below 0x20 or 0x7f in a value */
};

struct text_kv {
	const char *key;   /* NUL-terminated, points into the list's storage */
	const char *value; /* NUL-terminated; may be empty ("SendTargets=") */
	size_t value_len;
};

struct text_kv_list {
	struct text_kv *pairs;
	unsigned count;
	char *storage; /* private copy of the data segment */
};

/* Parses len bytes of data (len is authoritative: the last pair may lack its
 * NUL; NUL bytes between or after pairs are skipped as padding).  On error
 * *err_offset (if not NULL) gets the offset of the offending pair and the
 * list is left empty.  Free with text_kv_list_free() in every case. */
int text_kv_parse(const uint8_t *data, size_t len, struct text_kv_list *out, size_t *err_offset);
void text_kv_list_free(struct text_kv_list *list);
const char *text_kv_strerror(int err);

/* First pair with this key (exact, case-sensitive as RFC 7143 says), or NULL. */
const struct text_kv *text_kv_find(const struct text_kv_list *list, const char *key);

/* Longest value RFC 7143 allows for this key, as enforced by the parser. */
size_t text_kv_value_limit(const char *key);
/* Whether key is a syntactically valid key name. */
bool text_kv_key_valid(const char *key, size_t len);

/* True if data[0..len) holds only whole pairs, i.e. it is empty or ends with
 * a NUL.  A PDU with the C bit set may end in the middle of a pair. */
bool text_kv_ends_with_complete_pair(const uint8_t *data, size_t len);

/*
 * Output builder: appends "key=value\0" to a heap buffer that grows up to
 * limit bytes.  Errors are sticky: after one failed add every later add is
 * ignored and text_buf_error() reports the first error, so a caller can add
 * many keys and check once.
 */
struct text_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit;
	int error; /* enum text_kv_err; TEXT_KV_OK while all adds succeeded */
};

/* limit 0 means TEXT_BUF_DEFAULT_LIMIT. */
void text_buf_init(struct text_buf *b, size_t limit);
void text_buf_free(struct text_buf *b);
/* Empties the buffer and clears a sticky error; keeps the memory. */
void text_buf_reset(struct text_buf *b);
int text_buf_add(struct text_buf *b, const char *key, const char *value);
int text_buf_add_u32(struct text_buf *b, const char *key, uint32_t value);
int text_buf_addf(struct text_buf *b, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int text_buf_error(const struct text_buf *b) { return b->error; }
/* Whether a pair with this key has already been added. */
bool text_buf_has_key(const struct text_buf *b, const char *key);

#endif
