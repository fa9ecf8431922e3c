/*
 * iSCSI name syntax.  Names reach log lines, the ACL matcher and the PR
 * file (as part of the initiator port name), so a name is checked before
 * anything uses it; a bad one fails the login with 02/00.
 */
#include "iscsi/iscsi_name.h"

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
 * lock out initiators configured with them.  Bytes >= 0x80 (UTF-8) pass.
 */
static bool name_byte_ok(unsigned char b)
{
	return b == '-' || b == '.' || b == ':' || (b >= '0' && b <= '9') ||
	       (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b >= 0x80;
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
	for (size_t i = 0; i < len; i++)
		if (!name_byte_ok((unsigned char)name[i]))
			return false;
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
