/* Looking up and checking attributes of a table (core/attr_table.h). */
#include "core/attr_table.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const struct uscst_attr_def *uscst_attr_find(const struct uscst_attr_def *table, const char *name)
{
	for (; table && table->name; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}

static bool check_uint(const struct uscst_attr_def *d, const char *value, char *err, size_t errlen)
{
	uint64_t v = 0;
	bool ok = *value != '\0' && strlen(value) <= 20;
	for (const char *c = value; ok && *c; c++) {
		unsigned digit = (unsigned)(*c - '0');
		ok = *c >= '0' && *c <= '9' && v <= (UINT64_MAX - digit) / 10;
		v = v * 10 + digit;
	}
	if (ok && v >= d->min && v <= d->max)
		return true;
	snprintf(err, errlen, "%s: expected a number in %llu..%llu, got '%s'", d->name,
		 (unsigned long long)d->min, (unsigned long long)d->max, value);
	return false;
}

bool uscst_attr_check(const struct uscst_attr_def *d, const char *value, char *err, size_t errlen)
{
	if (d->check)
		return d->check(d, value, err, errlen);
	switch (d->type) {
	case USCST_ATTR_BOOL:
		if (strcmp(value, "0") == 0 || strcmp(value, "1") == 0)
			return true;
		snprintf(err, errlen, "%s: expected 0 or 1, got '%s'", d->name, value);
		return false;
	case USCST_ATTR_UINT:
		return check_uint(d, value, err, errlen);
	case USCST_ATTR_YESNO:
		if (strcasecmp(value, "Yes") == 0 || strcasecmp(value, "No") == 0)
			return true;
		snprintf(err, errlen, "%s: expected Yes or No, got '%s'", d->name, value);
		return false;
	case USCST_ATTR_LIST:
	case USCST_ATTR_STRING:
		return true;
	}
	snprintf(err, errlen, "%s: attribute of unknown type", d->name);
	return false;
}
