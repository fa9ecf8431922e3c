/*
 * Attribute tables (include/uscst/attr.h) as the core reads them, whoever
 * owns the table: a transport's target and driver attributes, the core's
 * and a handler's device attributes.
 */
#ifndef USCST_CORE_ATTR_TABLE_H
#define USCST_CORE_ATTR_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include <uscst/attr.h>

/* The entry of table called name, or NULL (table may be NULL). */
const struct uscst_attr_def *uscst_attr_find(const struct uscst_attr_def *table, const char *name);

/* d->check(d, value, ...), or the check by d->type. */
bool uscst_attr_check(const struct uscst_attr_def *d, const char *value, char *err, size_t errlen);

#endif
