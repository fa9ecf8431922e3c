/* portal_group: a target's other portal groups (iscsi/portal_group.h). */
#include "iscsi/portal_group.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/allowed_portal.h"
#include "lib/wildcard.h"

struct portal_group {
	uint16_t tag, rel;
	char *patterns[PORTAL_GROUP_MAX_PATTERNS + 1]; /* into text; NULL-terminated */
	char text[ALLOWED_PORTAL_MAX * (PORTAL_GROUP_MAX_PATTERNS + 1) + 32];
};

static bool parse_u16(const char *s, unsigned min, uint16_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* Splits value into pg; false with a message. */
static bool parse(const char *value, struct portal_group *pg, char *err, size_t errlen)
{
	if (strlen(value) >= sizeof(pg->text)) {
		snprintf(err, errlen, "portal_group: value too long");
		return false;
	}
	memset(pg, 0, sizeof(*pg));
	strcpy(pg->text, value);
	char *save = NULL;
	char *tag = strtok_r(pg->text, " \t", &save);
	char *rel = tag ? strtok_r(NULL, " \t", &save) : NULL;
	if (!tag || !rel || !parse_u16(tag, 2, &pg->tag) || !parse_u16(rel, 1, &pg->rel)) {
		snprintf(err, errlen,
			 "portal_group: expected \"TAG REL_TGT_ID PATTERN...\" with TAG 2 to 65535 "
			 "and REL_TGT_ID 1 to 65535, got '%s'",
			 value);
		return false;
	}
	unsigned n = 0;
	for (char *p; (p = strtok_r(NULL, " \t", &save));) {
		if (n == PORTAL_GROUP_MAX_PATTERNS) {
			snprintf(err, errlen, "portal_group: at most %d patterns",
				 PORTAL_GROUP_MAX_PATTERNS);
			return false;
		}
		if (!wildcard_valid(p, ALLOWED_PORTAL_MAX, "portal_group pattern", err, errlen))
			return false;
		pg->patterns[n++] = p;
	}
	if (!n) {
		snprintf(err, errlen, "portal_group %u: no portal address pattern", pg->tag);
		return false;
	}
	return true;
}

bool portal_group_check(const struct uscst_attr_def *d, const char *value, char *err, size_t errlen)
{
	struct portal_group pg;
	return parse(value, &pg, err, errlen);
}

uint16_t portal_group_rel_port_id(const char *name, const char *value)
{
	struct portal_group pg;
	char err[160];
	if (strcmp(name, "portal_group") != 0 || !parse(value, &pg, err, sizeof(err)))
		return 0;
	return pg.rel;
}

static const char *pattern_at(void *arg, unsigned i)
{
	const struct portal_group *pg = arg;
	return i < PORTAL_GROUP_MAX_PATTERNS ? pg->patterns[i] : NULL;
}

void iscsi_portal_group_of(const struct uscst_target *tgt, const char *local_addr, uint16_t *tpgt,
			   uint16_t *rel_port_id)
{
	*tpgt = 1;
	*rel_port_id = uscst_target_rel_port_id(tgt);
	const char *value;
	char err[160];
	struct portal_group pg;
	for (unsigned i = 0; (value = uscst_target_attr_at(tgt, "portal_group", i)); i++) {
		if (parse(value, &pg, err, sizeof(err)) &&
		    allowed_portal_match(pattern_at, &pg, local_addr)) {
			*tpgt = pg.tag;
			*rel_port_id = pg.rel;
			return;
		}
	}
}
