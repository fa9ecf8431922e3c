#include "config/conf_apply.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/conf_alua.h"
#include "core/alua.h"
#include "core/core.h"
#include "core/handler_plugin.h"
#include "core/transports.h"

#define DEVICE_NAME_MAX (sizeof(((struct uscst_device *)0)->name) - 1)

/* SCST global attributes we know of but have not built yet. */
static const char *const global_unsupported[] = {
    "setup_id",	   "threads",	      "poll_us", "max_tasklet_cmd",	  "cluster_name",
    "trace_level", "measure_latency", "suspend", "force_global_sgv_pool", "async_lun_replace",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static bool in_list(const char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

#define cerr_at(tree, line, ...) conf_error(err, errlen, (tree)->file, (line), __VA_ARGS__)

/* ---- small parsers ---- */

static bool parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "0") == 0 || strcmp(s, "1") == 0) {
		*out = s[0] == '1';
		return true;
	}
	return false;
}

/* Plain decimal only: "010" or "0x1" in a LUN number is almost certainly a typo. */
static bool parse_lun(const char *s, uint64_t *out)
{
	if (!*s || strlen(s) > 5 || (s[0] == '0' && s[1]))
		return false;
	uint64_t v = 0;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return false;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	if (v > CONF_MAX_LUN)
		return false;
	*out = v;
	return true;
}

/* ---- validation ---- */

/* What validation looks names up in.  Devices sorted by name (file order
 * among equal names) and, per LUN map, the LUN numbers seen so far: a file
 * with 16384 devices and LUNs validates in O(n log n), not O(n^2). */
struct validation {
	const struct conf_node **devs; /* every DEVICE of every HANDLER, sorted */
	size_t ndevs;
	int *lun_line; /* per LUN number: line of its LUN in the map being checked, or 0 */
};

static int device_order(const void *a, const void *b)
{
	const struct conf_node *x = *(const struct conf_node *const *)a;
	const struct conf_node *y = *(const struct conf_node *const *)b;
	int c = strcmp(x->args[0], y->args[0]);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static bool validation_init(struct validation *v, const struct conf_tree *tree)
{
	memset(v, 0, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < tree->root.nchildren; i++)
		if (strcmp(tree->root.children[i]->keyword, "HANDLER") == 0)
			n += tree->root.children[i]->nchildren;
	v->devs = calloc(n ? n : 1, sizeof(*v->devs));
	v->lun_line = calloc(CONF_MAX_LUN + 1, sizeof(*v->lun_line));
	if (!v->devs || !v->lun_line)
		return false;
	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *h = tree->root.children[i];
		if (strcmp(h->keyword, "HANDLER") == 0)
			for (size_t j = 0; j < h->nchildren; j++)
				v->devs[v->ndevs++] = h->children[j];
	}
	qsort(v->devs, v->ndevs, sizeof(*v->devs), device_order);
	return true;
}

static void validation_fini(struct validation *v)
{
	free(v->devs);
	free(v->lun_line);
}

/* The first DEVICE in the file with this name, or NULL. */
static const struct conf_node *find_device(const struct validation *v, const char *name)
{
	size_t lo = 0, hi = v->ndevs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(v->devs[mid]->args[0], name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->ndevs && strcmp(v->devs[lo]->args[0], name) == 0 ? v->devs[lo] : NULL;
}

static int validate_handler(const struct conf_tree *tree, const struct validation *v,
			    const struct conf_node *h, char *err, size_t errlen)
{
	/* `plugin PATH`: a user device handler (core/handler_plugin.h), loaded
	 * when the configuration is applied. */
	for (size_t i = 0; i < h->nattrs; i++) {
		const struct conf_attr *a = &h->attrs[i];
		if (strcmp(a->name, "plugin") != 0) {
			cerr_at(tree, a->line, "handler attribute '%s' is not supported yet",
				a->name);
			return -1;
		}
		if (i > 0) {
			cerr_at(tree, a->line, "handler '%s': plugin given twice", h->args[0]);
			return -1;
		}
		if (a->value[0] != '/') {
			cerr_at(tree, a->line, "plugin '%s': expected an absolute path", a->value);
			return -1;
		}
	}
	for (size_t i = 0; i < h->nchildren; i++) {
		const struct conf_node *d = h->children[i];
		const char *name = d->args[0];
		if (!*name || strlen(name) > DEVICE_NAME_MAX) {
			cerr_at(tree, d->line, "device name must be 1 to %zu characters",
				DEVICE_NAME_MAX);
			return -1;
		}
		const struct conf_node *prev = find_device(v, name);
		if (prev != d) {
			cerr_at(tree, d->line, "device '%s' is already defined at line %d", name,
				prev->line);
			return -1;
		}
	}
	return 0;
}

/* One LUN of a map; v->lun_line holds the map's LUNs checked before it
 * (validate_luns clears it again). */
static int validate_lun(const struct conf_tree *tree, const struct validation *v,
			const struct conf_node *lun, char *err, size_t errlen)
{
	uint64_t n;
	if (!parse_lun(lun->args[0], &n)) {
		cerr_at(tree, lun->line, "bad LUN number '%s' (expected 0 to %d)", lun->args[0],
			CONF_MAX_LUN);
		return -1;
	}
	if (v->lun_line[n]) {
		cerr_at(tree, lun->line, "LUN %s is already defined at line %d", lun->args[0],
			v->lun_line[n]);
		return -1;
	}
	v->lun_line[n] = lun->line;
	if (!find_device(v, lun->args[1])) {
		cerr_at(tree, lun->line, "LUN %s: unknown device '%s'", lun->args[0], lun->args[1]);
		return -1;
	}
	for (size_t i = 0; i < lun->nattrs; i++) {
		const struct conf_attr *a = &lun->attrs[i];
		bool ro;
		if (strcmp(a->name, "read_only") != 0) {
			cerr_at(tree, a->line, "unknown attribute '%s' for LUN %s", a->name,
				lun->args[0]);
			return -1;
		}
		if (!parse_bool(a->value, &ro)) {
			cerr_at(tree, a->line, "read_only must be 0 or 1, not '%s'", a->value);
			return -1;
		}
	}
	return 0;
}

static const struct conf_node *find_target(const struct conf_tree *tree, const char *name,
					   const struct conf_node *before)
{
	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *drv = tree->root.children[i];
		if (strcmp(drv->keyword, "TARGET_DRIVER") != 0)
			continue;
		for (size_t j = 0; j < drv->nchildren; j++) {
			if (drv->children[j] == before)
				return NULL;
			if (strcmp(drv->children[j]->args[0], name) == 0)
				return drv->children[j];
		}
	}
	return NULL;
}

/* The LUNs among map's children (a TARGET's default map or a GROUP). */
static int validate_luns(const struct conf_tree *tree, const struct validation *v,
			 const struct conf_node *map, char *err, size_t errlen)
{
	int rc = 0;
	for (size_t i = 0; i < map->nchildren && rc == 0; i++)
		if (strcmp(map->children[i]->keyword, "LUN") == 0)
			rc = validate_lun(tree, v, map->children[i], err, errlen);
	uint64_t n;
	for (size_t i = 0; i < map->nchildren; i++)
		if (strcmp(map->children[i]->keyword, "LUN") == 0 &&
		    parse_lun(map->children[i]->args[0], &n))
			v->lun_line[n] = 0;
	return rc;
}

/* SCST security group attributes not built yet. */
static const char *const group_unsupported[] = {
    "addr_method",
    "io_grouping_type",
    "cpu_mask",
    "black_hole",
};

/* GROUP name { LUN n dev [{ read_only 1 }] ... INITIATOR pattern ... }:
 * a unique name in its target, its LUNs checked as the target's are, and
 * every pattern valid and given once. */
static int validate_group(const struct conf_tree *tree, const struct validation *v,
			  const struct conf_node *tgt, const struct conf_node *grp, char *err,
			  size_t errlen)
{
	const char *name = grp->args[0];
	char msg[256];
	if (!*name || strlen(name) >= sizeof(((struct uscst_group *)0)->name)) {
		cerr_at(tree, grp->line, "group name must be 1 to %zu characters",
			sizeof(((struct uscst_group *)0)->name) - 1);
		return -1;
	}
	for (size_t i = 0; i < tgt->nchildren && tgt->children[i] != grp; i++) {
		const struct conf_node *o = tgt->children[i];
		if (strcmp(o->keyword, "GROUP") == 0 && strcmp(o->args[0], name) == 0) {
			cerr_at(tree, grp->line, "group '%s' is already defined at line %d", name,
				o->line);
			return -1;
		}
	}
	if (grp->nattrs) {
		const struct conf_attr *a = &grp->attrs[0];
		if (in_list(group_unsupported, ARRAY_SIZE(group_unsupported), a->name))
			cerr_at(tree, a->line, "group attribute '%s' is not supported yet",
				a->name);
		else
			cerr_at(tree, a->line, "unknown attribute '%s' for group '%s'", a->name,
				name);
		return -1;
	}
	if (validate_luns(tree, v, grp, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < grp->nchildren; i++) {
		const struct conf_node *c = grp->children[i];
		if (strcmp(c->keyword, "LUN") == 0)
			continue;
		/* INITIATOR: the parser allows nothing else in a GROUP. */
		if (!acl_pattern_valid(c->args[0], msg, sizeof(msg))) {
			cerr_at(tree, c->line, "%s", msg);
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			const struct conf_node *o = grp->children[j];
			if (strcmp(o->keyword, "INITIATOR") == 0 &&
			    strcasecmp(o->args[0], c->args[0]) == 0) {
				cerr_at(tree, c->line,
					"initiator '%s' is already in group '%s' at line %d",
					c->args[0], name, o->line);
				return -1;
			}
		}
	}
	return 0;
}

static int validate_target(const struct conf_tree *tree, const struct validation *v,
			   const struct conf_node *tgt, char *err, size_t errlen)
{
	const char *name = tgt->args[0];
	if (!*name || strlen(name) >= USCST_NAME_MAX) {
		cerr_at(tree, tgt->line, "target name must be 1 to %d characters",
			USCST_NAME_MAX - 1);
		return -1;
	}
	const struct conf_node *prev = find_target(tree, name, tgt);
	if (prev) {
		cerr_at(tree, tgt->line, "target '%s' is already defined at line %d", name,
			prev->line);
		return -1;
	}
	if (validate_luns(tree, v, tgt, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < tgt->nchildren; i++) {
		const struct conf_node *c = tgt->children[i];
		int rc = 0;
		if (strcmp(c->keyword, "LUN") == 0) {
			continue;
		} else if (strcmp(c->keyword, "GROUP") == 0) {
			rc = validate_group(tree, v, tgt, c, err, errlen);
		} else {
			cerr_at(tree, c->line, "%s is not supported yet", c->keyword);
			rc = -1;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* A driver attribute is checked by the table of the transport that owns it. */
static int validate_driver_attr(const struct conf_tree *tree, const struct uscst_transport *t,
				const struct conf_attr *a, char *err, size_t errlen)
{
	char msg[256] = "";
	switch (uscst_transport_check_driver_attr(t, a->name, a->value, msg, sizeof(msg))) {
	case USCST_ATTR_OK:
		return 0;
	case USCST_ATTR_UNSUPPORTED:
		cerr_at(tree, a->line, "%s driver attribute '%s' is not supported yet", t->name,
			a->name);
		return -1;
	case USCST_ATTR_BAD_VALUE:
		cerr_at(tree, a->line, "%s", msg);
		return -1;
	default:
		cerr_at(tree, a->line, "unknown attribute '%s' for target driver '%s'", a->name,
			t->name);
		return -1;
	}
}

static int validate_driver(const struct conf_tree *tree, const struct validation *v,
			   const struct conf_node *drv, char *err, size_t errlen)
{
	const struct uscst_transport *t = uscst_transport_find(drv->args[0]);
	if (!t) {
		char names[256];
		uscst_transport_names(names, sizeof(names));
		if (!names[0])
			cerr_at(tree, drv->line,
				"target driver '%s' is not supported (no transport is registered)",
				drv->args[0]);
		else
			cerr_at(tree, drv->line, "target driver '%s' is not supported (%s %s)",
				drv->args[0], strchr(names, ',') ? "one of" : "only", names);
		return -1;
	}
	for (size_t i = 0; i < drv->nattrs; i++)
		if (validate_driver_attr(tree, t, &drv->attrs[i], err, errlen) < 0)
			return -1;
	for (size_t i = 0; i < drv->nchildren; i++)
		if (validate_target(tree, v, drv->children[i], err, errlen) < 0)
			return -1;
	return 0;
}

static int validate_global_attrs(const struct conf_tree *tree, char *err, size_t errlen)
{
	if (!tree->root.nattrs)
		return 0;
	const struct conf_attr *a = &tree->root.attrs[0];
	if (in_list(global_unsupported, ARRAY_SIZE(global_unsupported), a->name))
		cerr_at(tree, a->line, "global attribute '%s' is not supported yet", a->name);
	else
		cerr_at(tree, a->line, "unknown global attribute '%s'", a->name);
	return -1;
}

static bool device_known(void *arg, const char *name) { return find_device(arg, name) != NULL; }

/* The ALUA device groups (config/conf_alua.h), checked by building them. */
static int validate_device_groups(const struct conf_tree *tree, struct validation *v, char *err,
				  size_t errlen)
{
	struct uscst_alua_model *m;
	if (conf_alua_build(tree, device_known, v, &m, err, errlen) < 0)
		return -1;
	char msg[256] = "";
	int rc = m ? uscst_alua_model_check(m, USCST_ALUA_TARGETS_NONE, msg, sizeof(msg)) : 0;
	uscst_alua_model_free(m);
	if (rc < 0) {
		const struct conf_node *first = conf_node_child(&tree->root, "DEVICE_GROUP", NULL);
		cerr_at(tree, first ? first->line : 0, "%s", msg);
	}
	return rc;
}

int conf_validate(const struct conf_tree *tree, char *err, size_t errlen)
{
	if (validate_global_attrs(tree, err, errlen) < 0)
		return -1;
	struct validation v;
	if (!validation_init(&v, tree)) {
		validation_fini(&v);
		cerr_at(tree, 0, "out of memory");
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < tree->root.nchildren && rc == 0; i++) {
		const struct conf_node *c = tree->root.children[i];
		if (strcmp(c->keyword, "HANDLER") == 0) {
			rc = validate_handler(tree, &v, c, err, errlen);
		} else if (strcmp(c->keyword, "TARGET_DRIVER") == 0) {
			rc = validate_driver(tree, &v, c, err, errlen);
		}
		/* DEVICE_GROUP: all of them at once, below. */
	}
	if (rc == 0)
		rc = validate_device_groups(tree, &v, err, errlen);
	validation_fini(&v);
	return rc;
}

/* ---- applying ---- */

/* Prefixes a message from the core with FILE:LINE; supplies one if the core left it empty. */
static void core_error(const struct conf_tree *tree, int line, const char *core_msg,
		       const char *fallback, char *err, size_t errlen)
{
	cerr_at(tree, line, "%s", core_msg[0] ? core_msg : fallback);
}

/* Line of the last `name` attribute of d (the one in effect), or 0. */
static int attr_line(const struct conf_node *d, const char *name)
{
	int line = 0;
	for (size_t i = 0; i < d->nattrs; i++)
		if (strcmp(d->attrs[i].name, name) == 0)
			line = d->attrs[i].line;
	return line;
}

/* Where a failed open points: a backing file or PR file that another device
 * uses already (uscst_device_open's -EBUSY / -EEXIST) is this device's
 * `filename` / `pr_file_name` line when it has one (a default PR file has
 * none); everything else is the DEVICE line. */
static int open_error_line(const struct conf_node *d, int rc)
{
	int line = 0;
	if (rc == -EBUSY)
		line = attr_line(d, "filename");
	else if (rc == -EEXIST)
		line = attr_line(d, "pr_file_name");
	return line ? line : d->line;
}

static int apply_device(const struct conf_tree *tree, const struct conf_node *h,
			const struct conf_node *d, char *err, size_t errlen)
{
	char msg[256] = "";
	struct uscst_device *dev = uscst_device_create(h->args[0], d->args[0], msg, sizeof(msg));
	if (!dev) {
		core_error(tree, d->line, msg, "cannot create the device", err, errlen);
		return -1;
	}
	for (size_t i = 0; i < d->nattrs; i++) {
		const struct conf_attr *a = &d->attrs[i];
		msg[0] = '\0';
		if (!uscst_device_set_attr(dev, a->name, a->value, msg, sizeof(msg))) {
			core_error(tree, a->line, msg, "cannot set the attribute", err, errlen);
			return -1;
		}
	}
	msg[0] = '\0';
	int rc = uscst_device_open(dev, msg, sizeof(msg));
	if (rc != 0) {
		core_error(tree, open_error_line(d, rc), msg, "cannot open the device", err,
			   errlen);
		return -1;
	}
	return 0;
}

/* Once every device is open, whatever the order of the HANDLER blocks:
 * the devices that work with others (a changer and its drives) find them.
 * A failure points at the DEVICE line; the message names the attribute. */
static int attach_devices(const struct conf_tree *tree, char *err, size_t errlen)
{
	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *h = tree->root.children[i];
		if (strcmp(h->keyword, "HANDLER") != 0)
			continue;
		for (size_t j = 0; j < h->nchildren; j++) {
			const struct conf_node *d = h->children[j];
			struct uscst_device *dev = uscst_device_find(d->args[0]);
			char msg[512] = "";
			if (dev && uscst_device_attach(dev, msg, sizeof(msg)) < 0) {
				core_error(tree, d->line, msg, "cannot attach the device", err,
					   errlen);
				return -1;
			}
		}
	}
	return 0;
}

static int apply_handlers(const struct conf_tree *tree, struct conf_result *out, char *err,
			  size_t errlen)
{
	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *h = tree->root.children[i];
		if (strcmp(h->keyword, "HANDLER") != 0)
			continue;
		const char *plugin = conf_node_attr(h, "plugin");
		char msg[512] = "";
		if (plugin && uscst_handler_plugin_load(plugin, h->args[0], msg, sizeof(msg)) < 0) {
			cerr_at(tree, attr_line(h, "plugin"), "%s", msg);
			return -1;
		}
		for (size_t j = 0; j < h->nchildren; j++) {
			if (apply_device(tree, h, h->children[j], err, errlen) < 0)
				return -1;
			out->ndevices++;
		}
	}
	return attach_devices(tree, err, errlen);
}

static int set_target_attrs(const struct conf_tree *tree, struct uscst_target *tgt,
			    const struct conf_node *t, bool enabled_pass, char *err, size_t errlen)
{
	for (size_t i = 0; i < t->nattrs; i++) {
		const struct conf_attr *a = &t->attrs[i];
		if ((strcmp(a->name, "enabled") == 0) != enabled_pass)
			continue;
		char msg[256] = "";
		if (!uscst_target_set_attr(tgt, a->name, a->value, msg, sizeof(msg))) {
			core_error(tree, a->line, msg, "cannot set the attribute", err, errlen);
			return -1;
		}
	}
	return 0;
}

static int add_lun(const struct conf_tree *tree, struct uscst_lun_map *map,
		   const struct conf_node *lun, char *err, size_t errlen)
{
	uint64_t n = 0;
	bool ro = false;
	parse_lun(lun->args[0], &n); /* validated already */
	const char *ro_value = conf_node_attr(lun, "read_only");
	if (ro_value)
		parse_bool(ro_value, &ro);
	struct uscst_device *dev = uscst_device_find(lun->args[1]);
	if (!dev) {
		cerr_at(tree, lun->line, "LUN %s: unknown device '%s'", lun->args[0], lun->args[1]);
		return -1;
	}
	char msg[256] = "";
	if (!lun_map_add(map, n, dev, ro, msg, sizeof(msg))) {
		core_error(tree, lun->line, msg, "cannot add the LUN", err, errlen);
		return -1;
	}
	return 0;
}

static int add_group(const struct conf_tree *tree, struct uscst_target *tgt,
		     const struct conf_node *grp, char *err, size_t errlen)
{
	char msg[256] = "";
	struct uscst_group *g = uscst_target_add_group(tgt, grp->args[0], msg, sizeof(msg));
	if (!g) {
		core_error(tree, grp->line, msg, "cannot create the group", err, errlen);
		return -1;
	}
	for (size_t i = 0; i < grp->nchildren; i++) {
		const struct conf_node *c = grp->children[i];
		if (strcmp(c->keyword, "LUN") == 0) {
			if (add_lun(tree, g->luns, c, err, errlen) < 0)
				return -1;
		} else if (!uscst_group_add_initiator(g, c->args[0], msg, sizeof(msg))) {
			core_error(tree, c->line, msg, "cannot add the initiator", err, errlen);
			return -1;
		}
	}
	return 0;
}

static int apply_target(const struct conf_tree *tree, const struct conf_node *drv,
			const struct conf_node *t, char *err, size_t errlen)
{
	char msg[256] = "";
	struct uscst_target *tgt = uscst_target_create(drv->args[0], t->args[0], msg, sizeof(msg));
	if (!tgt) {
		core_error(tree, t->line, msg, "cannot create the target", err, errlen);
		return -1;
	}
	if (set_target_attrs(tree, tgt, t, false, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < t->nchildren; i++) {
		const struct conf_node *c = t->children[i];
		int rc = strcmp(c->keyword, "GROUP") == 0
			     ? add_group(tree, tgt, c, err, errlen)
			     : add_lun(tree, tgt->luns, c, err, errlen);
		if (rc < 0)
			return -1;
	}
	uscst_target_warn_overlaps(tgt);
	return set_target_attrs(tree, tgt, t, true, err, errlen);
}

/* The driver's attributes go to its transport, which reads them when it starts. */
static int set_driver_attrs(const struct conf_tree *tree, const struct conf_node *drv, char *err,
			    size_t errlen)
{
	const struct uscst_transport *t = uscst_transport_find(drv->args[0]);
	for (size_t i = 0; t && i < drv->nattrs; i++) {
		const struct conf_attr *a = &drv->attrs[i];
		char msg[256] = "";
		enum uscst_attr_result rc =
		    uscst_transport_set_driver_attr(t, a->name, a->value, msg, sizeof(msg));
		if (rc != USCST_ATTR_OK) {
			core_error(tree, a->line, msg,
				   rc == USCST_ATTR_NO_MEMORY ? "out of memory"
							      : "cannot set the attribute",
				   err, errlen);
			return -1;
		}
	}
	return 0;
}

static int apply_drivers(const struct conf_tree *tree, struct conf_result *out, char *err,
			 size_t errlen)
{
	uscst_transports_clear_driver_attrs();
	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *drv = tree->root.children[i];
		if (strcmp(drv->keyword, "TARGET_DRIVER") != 0)
			continue;
		if (set_driver_attrs(tree, drv, err, errlen) < 0)
			return -1;
		for (size_t j = 0; j < drv->nchildren; j++) {
			if (apply_target(tree, drv, drv->children[j], err, errlen) < 0)
				return -1;
			out->ntargets++;
		}
	}
	return 0;
}

int conf_apply(const struct conf_tree *tree, struct conf_result *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (conf_validate(tree, err, errlen) < 0)
		return -1;
	if (apply_handlers(tree, out, err, errlen) < 0)
		return -1;
	if (apply_drivers(tree, out, err, errlen) < 0)
		return -1;
	/* The targets exist: the local ones give their relative port ids. */
	return conf_alua_apply(tree, err, errlen);
}

static int apply_and_free(struct conf_tree *tree, struct conf_result *out, char *err, size_t errlen)
{
	if (!tree) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	int rc = conf_apply(tree, out, err, errlen);
	conf_tree_free(tree);
	return rc;
}

int conf_load_file(const char *path, struct conf_result *out, char *err, size_t errlen)
{
	return apply_and_free(conf_parse_file(path, err, errlen), out, err, errlen);
}

int conf_load_text(const char *text, const char *name_for_errors, struct conf_result *out,
		   char *err, size_t errlen)
{
	return apply_and_free(conf_parse_text(text, name_for_errors, err, errlen), out, err,
			      errlen);
}

static int validate_and_free(struct conf_tree *tree, char *err, size_t errlen)
{
	if (!tree)
		return -1;
	int rc = conf_validate(tree, err, errlen);
	conf_tree_free(tree);
	return rc;
}

int conf_check_only(const char *path, char *err, size_t errlen)
{
	return validate_and_free(conf_parse_file(path, err, errlen), err, errlen);
}

int conf_check_text(const char *text, const char *name_for_errors, char *err, size_t errlen)
{
	return validate_and_free(conf_parse_text(text, name_for_errors, err, errlen), err, errlen);
}

void conf_result_free(struct conf_result *out) { memset(out, 0, sizeof(*out)); }
