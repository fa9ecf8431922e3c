/*
 * Device attributes: the core's table, setting a value through the table
 * that owns its name, and the values to write back (core/device_attrs.h).
 *
 * The core keeps its own attributes in fields of struct uscst_device
 * (def->offset), parsed by the entry's check function, which also says how
 * the field is kept; a handler's attributes are kept as text for the
 * handler to read (uscst_device_attr()).
 */
#include "core/device_attrs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/attr_table.h"
#include "core/core.h"

/* ---- parsing: the check functions of the core's table ---- */

static bool parse_flag(const char *v, bool *out)
{
	if (!strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "true")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "false")) {
		*out = false;
		return true;
	}
	return false;
}

static bool parse_u64(const char *v, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 0);
	if (errno || end == v || *end || *v == '-')
		return false;
	*out = x;
	return true;
}

/* 0 or 1 (also yes/no, true/false): a bool field. */
static bool check_flag(const struct uscst_attr_def *d, const char *v, char *err, size_t errlen)
{
	bool b;
	if (parse_flag(v, &b))
		return true;
	snprintf(err, errlen, "%s: expected 0 or 1, got '%s'", d->name, v);
	return false;
}

/* A flag whose absence means "the handler decides" (thin_provisioned):
 * an int8_t field, -1 when not configured. */
static bool check_auto_flag(const struct uscst_attr_def *d, const char *v, char *err, size_t errlen)
{
	return check_flag(d, v, err, errlen);
}

/* Bytes in d->min..d->max (size), or MiB (size_mb: d->max MiB at most):
 * the device size. */
static bool check_size(const struct uscst_attr_def *d, const char *v, char *err, size_t errlen)
{
	uint64_t n;
	if (parse_u64(v, &n) && n >= d->min && n <= d->max)
		return true;
	snprintf(err, errlen, "%s: bad size '%s'", d->name, v);
	return false;
}

static bool check_size_mb(const struct uscst_attr_def *d, const char *v, char *err, size_t errlen)
{
	return check_size(d, v, err, errlen);
}

static bool check_blocksize(const struct uscst_attr_def *d, const char *v, char *err, size_t errlen)
{
	uint64_t n;
	if (parse_u64(v, &n) && (n == 512 || n == 4096))
		return true;
	snprintf(err, errlen, "%s: must be 512 or 4096, got '%s'", d->name, v);
	return false;
}

/* Identification reported verbatim in INQUIRY data: printable ASCII, at
 * most d->max characters (a char array of d->max + 1). */
static bool check_ident(const struct uscst_attr_def *d, const char *v, char *err, size_t errlen)
{
	if (strlen(v) > d->max) {
		snprintf(err, errlen, "%s: '%s' is longer than %" PRIu64 " characters", d->name, v,
			 d->max);
		return false;
	}
	for (const char *p = v; *p; p++) {
		if (*p < 0x20 || *p > 0x7e) {
			snprintf(err, errlen, "%s: only printable ASCII is allowed", d->name);
			return false;
		}
	}
	return true;
}

/* A path, kept as given ("" too: pr_file_name "" turns persistence off
 * even with a --pr-dir): a char * field. */
static bool check_path(const struct uscst_attr_def *d, const char *v, char *err, size_t errlen)
{
	return true;
}

#define FIELD(f) offsetof(struct uscst_device, f)
#define IDENT_MAX(f) (sizeof(((struct uscst_device *)0)->f) - 1)

const struct uscst_attr_def uscst_core_device_attrs[] = {
    /* No default: the handler's (vdisk_nullio) or the storage's size. */
    {.name = "size",
     .type = USCST_ATTR_UINT,
     .min = 1,
     .max = UINT64_MAX,
     .check = check_size,
     .offset = FIELD(size)},
    {.name = "size_mb",
     .type = USCST_ATTR_UINT,
     .min = 1,
     .max = 1ull << 40,
     .check = check_size_mb,
     .offset = FIELD(size)},
    {.name = "blocksize",
     .type = USCST_ATTR_UINT,
     .min = 512,
     .max = 4096,
     .def = "512",
     .check = check_blocksize,
     .offset = FIELD(block_size)},
    {.name = "read_only",
     .type = USCST_ATTR_BOOL,
     .def = "0",
     .check = check_flag,
     .offset = FIELD(read_only)},
    {.name = "write_through",
     .type = USCST_ATTR_BOOL,
     .def = "0",
     .check = check_flag,
     .offset = FIELD(write_through)},
    {.name = "nv_cache",
     .type = USCST_ATTR_BOOL,
     .def = "0",
     .check = check_flag,
     .offset = FIELD(nv_cache)},
    /* No default: thin when the handler can deallocate on this storage. */
    {.name = "thin_provisioned",
     .type = USCST_ATTR_BOOL,
     .check = check_auto_flag,
     .offset = FIELD(thin_cfg)},
    {.name = "removable",
     .type = USCST_ATTR_BOOL,
     .def = "0",
     .check = check_flag,
     .offset = FIELD(removable)},
    {.name = "expl_alua",
     .type = USCST_ATTR_BOOL,
     .def = "0",
     .check = check_flag,
     .offset = FIELD(expl_alua)},
    {.name = "rotational",
     .type = USCST_ATTR_BOOL,
     .def = "1",
     .check = check_flag,
     .offset = FIELD(rotational)},
    /* SCST's flag (not an exponent despite its name): 1 reports the
     * backing store's physical block in READ CAPACITY(16). */
    {.name = "lb_per_pb_exp",
     .type = USCST_ATTR_BOOL,
     .def = "1",
     .check = check_flag,
     .offset = FIELD(lb_per_pb_exp)},
    {.name = "t10_vend_id",
     .type = USCST_ATTR_STRING,
     .max = IDENT_MAX(t10_vend_id),
     .def = "USCST",
     .check = check_ident,
     .offset = FIELD(t10_vend_id)},
    /* No default: the device name. */
    {.name = "prod_id",
     .type = USCST_ATTR_STRING,
     .max = IDENT_MAX(t10_prod_id),
     .check = check_ident,
     .offset = FIELD(t10_prod_id)},
    {.name = "t10_prod_id",
     .type = USCST_ATTR_STRING,
     .max = IDENT_MAX(t10_prod_id),
     .check = check_ident,
     .offset = FIELD(t10_prod_id)},
    {.name = "prod_rev_lvl",
     .type = USCST_ATTR_STRING,
     .max = IDENT_MAX(prod_rev),
     .def = "0100",
     .check = check_ident,
     .offset = FIELD(prod_rev)},
    /* No default: the device name. */
    {.name = "t10_dev_id",
     .type = USCST_ATTR_STRING,
     .max = IDENT_MAX(t10_dev_id),
     .check = check_ident,
     .offset = FIELD(t10_dev_id)},
    /* No default: derived from a hash of the device name. */
    {.name = "usn",
     .type = USCST_ATTR_STRING,
     .max = IDENT_MAX(usn),
     .check = check_ident,
     .offset = FIELD(usn)},
    /* No default: --pr-dir/<device>, or no persistence. */
    {.name = "pr_file_name",
     .type = USCST_ATTR_STRING,
     .check = check_path,
     .offset = FIELD(pr_file_cfg)},
    {.name = NULL},
};

#define NCORE (sizeof(uscst_core_device_attrs) / sizeof(uscst_core_device_attrs[0]) - 1)
_Static_assert(NCORE <= 32, "struct uscst_device's core_attrs_set has a bit per core attribute");

/* ---- storing and reading back the core's fields ---- */

static void *field(struct uscst_device *dev, const struct uscst_attr_def *d)
{
	return (char *)dev + d->offset;
}

static const void *cfield(const struct uscst_device *dev, const struct uscst_attr_def *d)
{
	return (const char *)dev + d->offset;
}

/* Stores a checked value; false: ENOMEM. */
static bool store_core(struct uscst_device *dev, const struct uscst_attr_def *d, const char *v)
{
	uint64_t n = 0;
	bool b = false;
	if (d->check == check_flag) {
		parse_flag(v, &b);
		/* Some are read without a lock and set at run time. */
		atomic_store_explicit((_Atomic bool *)field(dev, d), b, memory_order_relaxed);
	} else if (d->check == check_auto_flag) {
		parse_flag(v, &b);
		*(int8_t *)field(dev, d) = b;
	} else if (d->check == check_size || d->check == check_size_mb) {
		parse_u64(v, &n);
		atomic_store_explicit((_Atomic uint64_t *)field(dev, d),
				      d->check == check_size_mb ? n << 20 : n,
				      memory_order_relaxed);
	} else if (d->check == check_blocksize) {
		parse_u64(v, &n);
		*(uint32_t *)field(dev, d) = (uint32_t)n;
	} else if (d->check == check_ident) {
		snprintf(field(dev, d), d->max + 1, "%s", v);
	} else if (d->check == check_path) {
		char *copy = strdup(v);
		if (!copy)
			return false;
		char **p = field(dev, d);
		free(*p);
		*p = copy;
	}
	return true;
}

/* The value in force as scst.conf spells it (in buf or the field), or
 * NULL when there is none (thin_provisioned auto, no pr_file_name). */
static const char *core_value(const struct uscst_device *dev, const struct uscst_attr_def *d,
			      char *buf, size_t len)
{
	if (d->check == check_flag)
		return *(const bool *)cfield(dev, d) ? "1" : "0";
	if (d->check == check_auto_flag) {
		int8_t t = *(const int8_t *)cfield(dev, d);
		return t < 0 ? NULL : t ? "1" : "0";
	}
	if (d->check == check_size) {
		snprintf(buf, len, "%" PRIu64,
			 atomic_load_explicit((const _Atomic uint64_t *)cfield(dev, d),
					      memory_order_relaxed));
		return buf;
	}
	if (d->check == check_blocksize) {
		snprintf(buf, len, "%" PRIu32, *(const uint32_t *)cfield(dev, d));
		return buf;
	}
	if (d->check == check_ident)
		return cfield(dev, d);
	if (d->check == check_path)
		return *(char *const *)cfield(dev, d);
	return NULL;
}

/* The entries that share d's field, d included (another name of the same
 * value): configured together, written under the first. */
static bool same_value(const struct uscst_attr_def *a, const struct uscst_attr_def *b)
{
	return a->offset == b->offset;
}

static const struct uscst_attr_def *first_name_of(const struct uscst_attr_def *d)
{
	const struct uscst_attr_def *e = uscst_core_device_attrs;
	while (!same_value(e, d))
		e++;
	return e;
}

static uint32_t bit_of(const struct uscst_attr_def *d)
{
	return 1u << (first_name_of(d) - uscst_core_device_attrs);
}

/* ---- the handler's attributes, kept as text ---- */

static struct uscst_attr *handler_value(const struct uscst_device *dev, const char *name)
{
	struct uscst_attr *a;
	list_for_each_entry(a, &dev->handler_attrs, node)
	{
		if (!strcmp(a->name, name))
			return a;
	}
	return NULL;
}

static bool store_handler(struct uscst_device *dev, const char *name, const char *value)
{
	char *copy = strdup(value);
	if (!copy)
		return false;
	struct uscst_attr *a = handler_value(dev, name);
	if (a) {
		free(a->value);
		a->value = copy;
		return true;
	}
	a = calloc(1, sizeof(*a));
	if (!a || !(a->name = strdup(name))) {
		free(a);
		free(copy);
		return false;
	}
	a->value = copy;
	list_add_tail(&a->node, &dev->handler_attrs);
	return true;
}

const char *uscst_device_attr(const struct uscst_device *dev, const char *name)
{
	const struct uscst_attr *a = handler_value(dev, name);
	if (a)
		return a->value;
	const struct uscst_attr_def *d = uscst_attr_find(dev->backend->dev_attrs, name);
	return d ? d->def : NULL;
}

/* ---- setting ---- */

bool uscst_device_set_attr(struct uscst_device *dev, const char *name, const char *value, char *err,
			   size_t errlen)
{
	const struct uscst_attr_def *d = uscst_attr_find(uscst_core_device_attrs, name);
	if (d) {
		if (!d->check(d, value, err, errlen))
			return false;
		if (!store_core(dev, d, value)) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		dev->core_attrs_set |= bit_of(d);
		return true;
	}
	const char *handler = dev->backend->name;
	d = uscst_attr_find(dev->backend->dev_attrs, name);
	if (!d) {
		snprintf(err, errlen, "unknown attribute '%s' for device '%s' (handler %s)", name,
			 dev->name, handler);
		return false;
	}
	if (d->flags & USCST_ATTR_NOT_BUILT) {
		snprintf(err, errlen, "%s device attribute '%s' is not supported yet", handler,
			 name);
		return false;
	}
	if (!uscst_attr_check(d, value, err, errlen))
		return false;
	if (!store_handler(dev, name, value)) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	return true;
}

/* ---- handler tables at registration ---- */

const char *uscst_device_attr_table_problem(const struct uscst_attr_def *table)
{
	for (const struct uscst_attr_def *d = table; d && d->name; d++) {
		if (uscst_attr_find(uscst_core_device_attrs, d->name))
			return "device attribute that the core owns";
		if (d->type == USCST_ATTR_UINT && d->min > d->max)
			return "attribute with min > max";
		if (uscst_attr_find(table, d->name) != d)
			return "attribute listed twice";
	}
	return NULL;
}

/* ---- writing back ---- */

void uscst_device_show_attrs(const struct uscst_device *dev, uscst_attr_emit_fn emit, void *arg)
{
	/* The handler's first, as configured: filename leads, as in SCST's files. */
	for (const struct uscst_attr_def *d = dev->backend->dev_attrs; d && d->name; d++) {
		const struct uscst_attr *a = handler_value(dev, d->name);
		if (a)
			emit(arg, d->name, a->value);
	}
	for (const struct uscst_attr_def *d = uscst_core_device_attrs; d->name; d++) {
		if (first_name_of(d) != d)
			continue;
		char buf[32];
		const char *v = core_value(dev, d, buf, sizeof(buf));
		bool configured = dev->core_attrs_set & bit_of(d);
		if (v && (configured || (d->def && strcmp(v, d->def) != 0)))
			emit(arg, d->name, v);
	}
}
