/*
 * Device attributes (the DEVICE block of scst.conf): two tables of
 * struct uscst_attr_def, the core's (what every device has: blocksize,
 * read_only, the identification strings, pr_file_name ...) and the one
 * of the device's handler (ops->dev_attrs: vdisk_fileio's filename ...).
 * Setting, `config write` and the admin listings all work from them.
 */
#ifndef USCST_CORE_DEVICE_ATTRS_H
#define USCST_CORE_DEVICE_ATTRS_H

#include <stdbool.h>
#include <stddef.h>

#include <uscst/attr.h>
#include <uscst/transport_reg.h>

struct uscst_device;

/* The attributes every device has, whatever its handler. */
extern const struct uscst_attr_def uscst_core_device_attrs[];

/* NULL, or why table cannot be a handler's device table (a name the core
 * owns, a name listed twice, min > max). */
const char *uscst_device_attr_table_problem(const struct uscst_attr_def *table);

/* The attributes to write back for dev, in table order, core first: those
 * configured, and those whose value in force differs from the table's
 * default; each under its first name when several name one value
 * (prod_id / t10_prod_id, size / size_mb).  Call with the configuration
 * lock held or before other threads run. */
void uscst_device_show_attrs(const struct uscst_device *dev, uscst_attr_emit_fn emit, void *arg);

#endif
