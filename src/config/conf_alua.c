/* DEVICE_GROUP blocks <-> the ALUA model (config/conf_alua.h). */
#include "config/conf_alua.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alua.h"
#include "lib/json_put.h"

#define cerr_at(tree, line, ...) conf_error(err, errlen, (tree)->file, (line), __VA_ARGS__)

static bool is(const struct conf_node *n, const char *keyword)
{
	return n->keyword && strcmp(n->keyword, keyword) == 0;
}

/* 1..65535, decimal or 0x hexadecimal. */
static bool parse_id(const char *s, uint16_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v == 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* A TARGET named in a TARGET_DRIVER block of tree. */
static bool target_in_tree(const struct conf_tree *tree, const char *name)
{
	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *drv = tree->root.children[i];
		if (is(drv, "TARGET_DRIVER") && conf_node_child(drv, "TARGET", name))
			return true;
	}
	return false;
}

/* check: the targets must be this file's unless rel_tgt_id is given (a
 * file being validated; the core checks the running targets when the
 * model is published). */
static int build_port(const struct conf_tree *tree, struct uscst_alua_tg *tg,
		      const struct conf_node *t, bool check, char *err, size_t errlen)
{
	uint16_t rel = 0;
	for (size_t i = 0; i < t->nattrs; i++) {
		const struct conf_attr *a = &t->attrs[i];
		if (strcmp(a->name, "rel_tgt_id") != 0) {
			cerr_at(tree, a->line,
				"unknown attribute '%s' for target '%s' of a TARGET_GROUP", a->name,
				t->args[0]);
			return -1;
		}
		if (!parse_id(a->value, &rel)) {
			cerr_at(tree, a->line, "rel_tgt_id must be 1 to 65535, not '%s'", a->value);
			return -1;
		}
	}
	if (check && !rel && !target_in_tree(tree, t->args[0])) {
		cerr_at(tree, t->line,
			"target group '%s': target '%s' is not defined here: give its rel_tgt_id",
			tg->name, t->args[0]);
		return -1;
	}
	char msg[256] = "";
	if (!uscst_alua_tg_add_port(tg, t->args[0], rel, msg, sizeof(msg))) {
		cerr_at(tree, t->line, "%s", msg);
		return -1;
	}
	return 0;
}

static int build_tg(const struct conf_tree *tree, struct uscst_alua_dg *dg,
		    const struct conf_node *n, bool check, char *err, size_t errlen)
{
	uint16_t id = 0;
	uint8_t state = USCST_ALUA_ACTIVE_OPTIMIZED;
	bool preferred = false;
	for (size_t i = 0; i < n->nattrs; i++) {
		const struct conf_attr *a = &n->attrs[i];
		bool ok;
		if (strcmp(a->name, "group_id") == 0)
			ok = parse_id(a->value, &id);
		else if (strcmp(a->name, "state") == 0)
			ok = uscst_alua_state_parse(a->value, &state);
		else if (strcmp(a->name, "preferred") == 0) {
			ok = !strcmp(a->value, "0") || !strcmp(a->value, "1");
			preferred = a->value[0] == '1';
		} else {
			cerr_at(tree, a->line, "unknown attribute '%s' for target group '%s'",
				a->name, n->args[0]);
			return -1;
		}
		if (!ok) {
			cerr_at(tree, a->line, "%s: bad value '%s' (%s)", a->name, a->value,
				a->name[0] == 'g'   ? "1 to 65535"
				: a->name[0] == 's' ? "active, nonoptimized, standby, unavailable, "
						      "offline or transitioning"
						    : "0 or 1");
			return -1;
		}
	}
	if (!id) {
		cerr_at(tree, n->line, "target group '%s' needs a group_id", n->args[0]);
		return -1;
	}
	char msg[256] = "";
	struct uscst_alua_tg *tg =
	    uscst_alua_dg_add_tg(dg, n->args[0], id, state, preferred, msg, sizeof(msg));
	if (!tg) {
		cerr_at(tree, n->line, "%s", msg);
		return -1;
	}
	for (size_t i = 0; i < n->nchildren; i++)
		if (build_port(tree, tg, n->children[i], check, err, errlen) < 0)
			return -1;
	return 0;
}

static int build_dg(const struct conf_tree *tree, struct uscst_alua_model *m,
		    const struct conf_node *n, bool (*device_known)(void *, const char *),
		    void *arg, char *err, size_t errlen)
{
	if (n->nattrs) {
		cerr_at(tree, n->attrs[0].line, "unknown attribute '%s' for device group '%s'",
			n->attrs[0].name, n->args[0]);
		return -1;
	}
	char msg[256] = "";
	struct uscst_alua_dg *dg = uscst_alua_add_dg(m, n->args[0], msg, sizeof(msg));
	if (!dg) {
		cerr_at(tree, n->line, "%s", msg);
		return -1;
	}
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *c = n->children[i];
		if (is(c, "DEVICE")) {
			if (device_known && !device_known(arg, c->args[0])) {
				cerr_at(tree, c->line, "device group '%s': unknown device '%s'",
					n->args[0], c->args[0]);
				return -1;
			}
			if (!uscst_alua_dg_add_device(dg, c->args[0], msg, sizeof(msg))) {
				cerr_at(tree, c->line, "%s", msg);
				return -1;
			}
		} else if (build_tg(tree, dg, c, device_known != NULL, err, errlen) < 0) {
			return -1;
		}
	}
	return 0;
}

int conf_alua_build(const struct conf_tree *tree, bool (*device_known)(void *arg, const char *name),
		    void *arg, struct uscst_alua_model **out, char *err, size_t errlen)
{
	*out = NULL;
	struct uscst_alua_model *m = NULL;
	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *n = tree->root.children[i];
		if (!is(n, "DEVICE_GROUP"))
			continue;
		if (!m && !(m = uscst_alua_model_new())) {
			cerr_at(tree, n->line, "out of memory");
			return -1;
		}
		if (build_dg(tree, m, n, device_known, arg, err, errlen) < 0) {
			uscst_alua_model_free(m);
			return -1;
		}
	}
	*out = m;
	return 0;
}

/* ---- writing ---- */

static bool add_u(struct conf_node *n, const char *name, unsigned v)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%u", v);
	return conf_node_add_attr(n, name, buf, 0);
}

static bool snapshot_tg(struct conf_node *dgn, const struct uscst_alua_tg *tg)
{
	const char *name = tg->name;
	struct conf_node *n = conf_node_add_child(dgn, "TARGET_GROUP", &name, 1, 0);
	if (!n)
		return false;
	n->has_block = true;
	if (!add_u(n, "group_id", tg->group_id) ||
	    (atomic_load(&tg->preferred) && !conf_node_add_attr(n, "preferred", "1", 0)) ||
	    !conf_node_add_attr(n, "state", uscst_alua_state_name(atomic_load(&tg->state)), 0))
		return false;
	for (unsigned i = 0; i < tg->nports; i++) {
		const char *t = tg->ports[i].target;
		struct conf_node *p = conf_node_add_child(n, "TARGET", &t, 1, 0);
		if (!p)
			return false;
		/* Written only when configured: a local target's is its own. */
		if (tg->ports[i].rel_tgt_id_cfg) {
			p->has_block = true;
			if (!add_u(p, "rel_tgt_id", tg->ports[i].rel_tgt_id_cfg))
				return false;
		}
	}
	return true;
}

bool conf_alua_snapshot(struct conf_tree *tree, const struct uscst_alua_model *m)
{
	for (unsigned i = 0; m && i < m->ndgs; i++) {
		const struct uscst_alua_dg *dg = &m->dgs[i];
		const char *name = dg->name;
		struct conf_node *n = conf_node_add_child(&tree->root, "DEVICE_GROUP", &name, 1, 0);
		if (!n)
			return false;
		n->has_block = true;
		for (unsigned j = 0; j < dg->ndevices; j++) {
			const char *d = dg->devices[j];
			if (!conf_node_add_child(n, "DEVICE", &d, 1, 0))
				return false;
		}
		for (unsigned j = 0; j < dg->ntgs; j++)
			if (!snapshot_tg(n, &dg->tgs[j]))
				return false;
	}
	return true;
}

char *conf_alua_text(const struct conf_tree *tree, char *err, size_t errlen)
{
	struct uscst_alua_model *m;
	if (conf_alua_build(tree, NULL, NULL, &m, err, errlen) < 0)
		return NULL;
	struct conf_tree *t = conf_tree_new("<alua>");
	char *text = NULL;
	if (t && conf_alua_snapshot(t, m))
		text = conf_tree_to_text(t);
	conf_tree_free(t);
	uscst_alua_model_free(m);
	if (!text)
		conf_error(err, errlen, tree->file, 0, "out of memory");
	return text;
}

static int publish(const struct conf_tree *tree, char *err, size_t errlen)
{
	struct uscst_alua_model *m;
	if (conf_alua_build(tree, NULL, NULL, &m, err, errlen) < 0)
		return -1;
	char msg[512] = "";
	if (uscst_alua_publish(m, false, msg, sizeof(msg)) < 0) {
		conf_error(err, errlen, tree->file, 0, "%s", msg);
		return -1;
	}
	return 0;
}

int conf_alua_apply(const struct conf_tree *tree, char *err, size_t errlen)
{
	return publish(tree, err, errlen);
}

int conf_alua_apply_text(const char *text, char *err, size_t errlen)
{
	struct conf_tree *tree = conf_parse_text(text, "<device groups>", err, errlen);
	if (!tree)
		return -1;
	int rc = publish(tree, err, errlen);
	conf_tree_free(tree);
	return rc;
}

/* ---- JSON (config/conf_writer.h's "alua") ---- */

static struct json_object *json_tg(bool *failed, const struct conf_node *n)
{
	struct json_object *o = jp_object(failed);
	jp_str(failed, o, "name", n->args[0]);
	const char *id = conf_node_attr(n, "group_id");
	jp_u64(failed, o, "group_id", id ? strtoul(id, NULL, 0) : 0);
	const char *state = conf_node_attr(n, "state");
	jp_str(failed, o, "state", state ? state : "active");
	const char *pref = conf_node_attr(n, "preferred");
	jp_bool(failed, o, "preferred", pref && strcmp(pref, "1") == 0);
	struct json_object *ports = jp_put(failed, o, "targets", jp_array(failed));
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *t = n->children[i];
		struct json_object *p = jp_append(failed, ports, jp_object(failed));
		jp_str(failed, p, "name", t->args[0]);
		const char *rel = conf_node_attr(t, "rel_tgt_id");
		if (rel)
			jp_u64(failed, p, "rel_tgt_id", strtoul(rel, NULL, 0));
	}
	return o;
}

struct json_object *conf_alua_json(bool *failed, const struct conf_tree *tree)
{
	struct json_object *list = jp_array(failed);
	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *dg = tree->root.children[i];
		if (!is(dg, "DEVICE_GROUP"))
			continue;
		struct json_object *o = jp_append(failed, list, jp_object(failed));
		jp_str(failed, o, "name", dg->args[0]);
		struct json_object *devs = jp_put(failed, o, "devices", jp_array(failed));
		struct json_object *tgs = jp_put(failed, o, "target_groups", jp_array(failed));
		for (size_t j = 0; j < dg->nchildren; j++) {
			const struct conf_node *c = dg->children[j];
			if (is(c, "DEVICE"))
				jp_append_str(failed, devs, c->args[0]);
			else
				jp_append(failed, tgs, json_tg(failed, c));
		}
	}
	return list;
}
