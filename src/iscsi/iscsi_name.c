/*
 * iSCSI name syntax.  Names reach log lines, the ACL matcher and the PR
 * file (as part of the initiator port name), so a name is checked before
 * anything uses it; a bad one fails the login with 02/00.
 */
#include "iscsi/iscsi_name.h"

#include <stdint.h>
#include <string.h>

/*
 * RFC 7143 4.2.7.2: names are made of '-', '.', ':', ASCII digits and
 * lower-case letters, and the non-ASCII characters the iSCSI stringprep
 * profile (RFC 3722) allows; RFC 3722 section 6 prohibits every other
 * ASCII byte (0x00-0x2C, 0x2F, 0x3B-0x40, 0x5B-0x60, 0x7B-0x7F): no
 * blank, control byte, '%', '_', '/' or DEL.  Upper-case ASCII letters are
 * let through: stringprep would fold them to lower case, and names are
 * compared ignoring case, so they can neither confuse matching nor reach
 * a log line or file as anything but letters; refusing them would only
 * lock out initiators configured with them.  Non-ASCII: utf8_char_ok().
 */
static bool name_byte_ok(unsigned char b)
{
	return b == '-' || b == '.' || b == ':' || (b >= '0' && b <= '9') ||
	       (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
}

/*
 * The non-ASCII part: well-formed UTF-8 (RFC 3629: no overlong form, no
 * surrogate, nothing above U+10FFFF) without the characters stringprep's
 * prohibited-output tables list that could break a log line or a
 * terminal: the C1 controls U+0080-U+009F (RFC 3454 C.2.2, NEL among
 * them), LINE and PARAGRAPH SEPARATOR U+2028/U+2029 and the BOM U+FEFF
 * (C.2.2), and U+3002, which RFC 3722 section 6.1 prohibits.  Returns the
 * length of the sequence at s (at most len bytes), 0 if it is refused.
 */
static size_t utf8_char_ok(const unsigned char *s, size_t len)
{
	unsigned need;
	uint32_t cp, min;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1, cp = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0; /* a continuation byte, C0/C1 (overlong) or F5-FF */
	}
	if (len < need + 1)
		return 0;
	for (unsigned i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp <= 0x9f || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || cp == 0x3002)
		return 0;
	return need + 1;
}

static bool all_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

bool iscsi_name_valid(const char *name, size_t len)
{
	if (len < 5 || len > ISCSI_NAME_BYTES_MAX || memchr(name, '\0', len))
		return false;
	const unsigned char *u = (const unsigned char *)name;
	for (size_t i = 0; i < len;) {
		if (u[i] < 0x80) {
			if (!name_byte_ok(u[i]))
				return false;
			i++;
			continue;
		}
		size_t n = utf8_char_ok(u + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	/* RFC 7143 4.2.7.4-4.2.7.6: the type designator; "eui." takes 16 hex
	 * digits (EUI-64), "naa." 16 or 32 (RFC 3980).  The date and naming
	 * authority of "iqn." are not checked: they carry no risk and some
	 * initiators get them wrong. */
	if (!strncmp(name, "iqn.", 4))
		return true;
	if (!strncmp(name, "eui.", 4))
		return len - 4 == 16 && all_hex(name + 4, 16);
	if (!strncmp(name, "naa.", 4))
		return (len - 4 == 16 || len - 4 == 32) && all_hex(name + 4, len - 4);
	return false;
}

const char *iscsi_name_check_keys(const struct text_kv_list *keys)
{
	static const char *const name_keys[] = {"InitiatorName", "TargetName"};
	for (unsigned i = 0; i < keys->count; i++)
		for (unsigned k = 0; k < sizeof(name_keys) / sizeof(name_keys[0]); k++)
			if (!strcmp(keys->pairs[i].key, name_keys[k]) &&
			    !iscsi_name_valid(keys->pairs[i].value, keys->pairs[i].value_len))
				return name_keys[k];
	return NULL;
}
