/*
 * The verbs that change the configuration at run time, over the core's
 * operations (core/live.h): devices added and removed, LUNs mapped and
 * unmapped, groups and their initiators, targets, portals, sessions
 * closed, CHAP accounts.  Each answers "ok: ..." for people and, for
 * scripts (-j), an object with what it changed:
 *   device add/remove   {"device", "handler"}
 *   device resize       {"device", "size", "blocks"}
 *   lun add/remove      {"target", "group" (null: the default map), "lun",
 *                        "device" (add), "read_only" (add)}
 *   group add/remove    {"target", "group"}
 *   initiator add/remove {"target", "group", "initiator"}
 *   target ...          {"target", "enabled"} ({"target", "driver"} for add)
 *   portal add/remove   {"driver", "portal"}
 *   session close       {"closed": [ids]}
 *   chap add/remove     {"target", "direction" ("in" | "out"), "user"}
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "core/live.h"
#include "core/transports.h"
#include "ctl/ctl_verbs.h"

static struct json_object *no_target(struct ctl_call *c, const char *name)
{
	return ctl_fail(c, "no target '%s' (see 'uscstadmin list targets')", name);
}

static struct json_object *no_device(struct ctl_call *c, const char *name)
{
	return ctl_fail(c, "no device '%s' (see 'uscstadmin list devices')", name);
}

/* ---- devices ---- */

static struct json_object *do_device_add(struct ctl_call *c)
{
	static const char *const names[] = {"ATTR1", "ATTR2", "ATTR3", "ATTR4", "ATTR5", "ATTR6"};
	const char *handler = ctl_arg(c, "HANDLER"), *name = ctl_arg(c, "NAME");
	char *attrs[6];
	unsigned n = 0;
	for (unsigned i = 0; i < 6; i++) {
		const char *a = ctl_arg(c, names[i]);
		if (a && !(attrs[n++] = strdup(a))) {
			for (unsigned j = 0; j + 1 < n; j++)
				free(attrs[j]);
			return ctl_fail(c, "out of memory");
		}
	}
	char err[512] = "";
	struct uscst_device *dev = uscst_live_device_add(handler, name, attrs, n, err, sizeof(err));
	for (unsigned i = 0; i < n; i++)
		free(attrs[i]);
	if (!dev)
		return ctl_fail(c, "%s", err);
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "device", dev->name);
	jp_str(&c->failed, r, "handler", handler);
	ctl_message(c, "ok: device %s added", dev->name);
	return r;
}

static struct json_object *do_device_remove(struct ctl_call *c)
{
	const char *name = ctl_arg(c, "NAME");
	char err[512] = "";
	if (uscst_live_device_remove(name, err, sizeof(err)) < 0)
		return ctl_fail(c, "%s", err);
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "device", name);
	ctl_message(c, "ok: device %s removed", name);
	return r;
}

/* SIZE in bytes, or with a binary suffix K, M, G or T. */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	unsigned shift = 0;
	if (*end) {
		const char *units = "KMGT";
		const char *u = strchr(units, end[0] & ~0x20);
		if (!u || end[1])
			return false;
		shift = 10 * (unsigned)(u - units + 1);
	}
	if (shift && v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static struct json_object *do_device_resize(struct ctl_call *c)
{
	const char *name = ctl_arg(c, "NAME"), *size = ctl_arg(c, "SIZE");
	uint64_t bytes;
	if (!parse_size(size, &bytes))
		return ctl_fail(c, "bad size '%s': bytes, or a number with K, M, G or T", size);
	struct uscst_device *dev = uscst_device_find(name);
	if (!dev)
		return no_device(c, name);
	char err[512] = "";
	if (uscst_live_device_resize(dev, bytes, err, sizeof(err)) < 0)
		return ctl_fail(c, "%s", err);
	uint64_t blocks = atomic_load_explicit(&dev->nblocks, memory_order_relaxed);
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "device", dev->name);
	jp_u64(&c->failed, r, "size", bytes);
	jp_u64(&c->failed, r, "blocks", blocks);
	ctl_message(c, "ok: %s: %" PRIu64 " blocks", dev->name, blocks);
	return r;
}

/* ---- LUNs, groups, initiators ---- */

static struct json_object *where(struct ctl_call *c, const char *target, const char *group)
{
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "target", target);
	jp_str(&c->failed, r, "group", group);
	return r;
}

static struct json_object *do_lun_add(struct ctl_call *c)
{
	const char *tname = ctl_arg(c, "TARGET"), *group = ctl_arg(c, "GROUP");
	const char *dname = ctl_arg(c, "DEVICE");
	bool ro = ctl_flag(c, "--read-only");
	uint64_t lun;
	if (!ctl_arg_u64(c, "LUN", USCST_LUN_MAX, &lun))
		return NULL;
	struct uscst_target *tgt = uscst_target_find(tname);
	if (!tgt)
		return no_target(c, tname);
	struct uscst_device *dev = uscst_device_find(dname);
	if (!dev)
		return no_device(c, dname);
	char err[512] = "";
	if (uscst_live_lun_add(tgt, group, lun, dev, ro, err, sizeof(err)) < 0)
		return ctl_fail(c, "%s", err);
	struct json_object *r = where(c, tgt->name, group);
	jp_u64(&c->failed, r, "lun", lun);
	jp_str(&c->failed, r, "device", dev->name);
	jp_bool(&c->failed, r, "read_only", ro);
	ctl_message(c, "ok: %s%s%s: LUN %" PRIu64 " -> %s%s", tgt->name, group ? " group " : "",
		    group ? group : "", lun, dev->name, ro ? " (read-only)" : "");
	return r;
}

static struct json_object *do_lun_remove(struct ctl_call *c)
{
	const char *tname = ctl_arg(c, "TARGET"), *group = ctl_arg(c, "GROUP");
	uint64_t lun;
	if (!ctl_arg_u64(c, "LUN", USCST_LUN_MAX, &lun))
		return NULL;
	struct uscst_target *tgt = uscst_target_find(tname);
	if (!tgt)
		return no_target(c, tname);
	char err[512] = "";
	if (uscst_live_lun_remove(tgt, group, lun, err, sizeof(err)) < 0)
		return ctl_fail(c, "%s", err);
	struct json_object *r = where(c, tgt->name, group);
	jp_u64(&c->failed, r, "lun", lun);
	ctl_message(c, "ok: %s%s%s: LUN %" PRIu64 " removed", tgt->name, group ? " group " : "",
		    group ? group : "", lun);
	return r;
}

static struct json_object *group_change(struct ctl_call *c, bool add)
{
	const char *tname = ctl_arg(c, "TARGET"), *group = ctl_arg(c, "GROUP");
	struct uscst_target *tgt = uscst_target_find(tname);
	if (!tgt)
		return no_target(c, tname);
	char err[512] = "";
	int rc = add ? uscst_live_group_add(tgt, group, err, sizeof(err))
		     : uscst_live_group_remove(tgt, group, err, sizeof(err));
	if (rc < 0)
		return ctl_fail(c, "%s", err);
	ctl_message(c, "ok: %s: group %s %s", tgt->name, group, add ? "added" : "removed");
	return where(c, tgt->name, group);
}

static struct json_object *do_group_add(struct ctl_call *c) { return group_change(c, true); }
static struct json_object *do_group_remove(struct ctl_call *c) { return group_change(c, false); }

static struct json_object *initiator_change(struct ctl_call *c, bool add)
{
	const char *tname = ctl_arg(c, "TARGET"), *group = ctl_arg(c, "GROUP");
	const char *name = ctl_arg(c, "INITIATOR");
	struct uscst_target *tgt = uscst_target_find(tname);
	if (!tgt)
		return no_target(c, tname);
	char err[512] = "";
	int rc = add ? uscst_live_initiator_add(tgt, group, name, err, sizeof(err))
		     : uscst_live_initiator_remove(tgt, group, name, err, sizeof(err));
	if (rc < 0)
		return ctl_fail(c, "%s", err);
	struct json_object *r = where(c, tgt->name, group);
	jp_str(&c->failed, r, "initiator", name);
	ctl_message(c, "ok: %s: initiator %s %s group %s", tgt->name, name,
		    add ? "added to" : "removed from", group);
	return r;
}

static struct json_object *do_initiator_add(struct ctl_call *c)
{
	return initiator_change(c, true);
}

static struct json_object *do_initiator_remove(struct ctl_call *c)
{
	return initiator_change(c, false);
}

/* ---- targets, portals ---- */

static struct json_object *do_target_add(struct ctl_call *c)
{
	const char *driver = ctl_arg(c, "DRIVER"), *name = ctl_arg(c, "TARGET");
	char err[512] = "";
	struct uscst_target *tgt = uscst_live_target_add(driver, name, err, sizeof(err));
	if (!tgt)
		return ctl_fail(c, "%s", err);
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "target", tgt->name);
	jp_str(&c->failed, r, "driver", driver);
	ctl_message(c, "ok: target %s added", tgt->name);
	return r;
}

enum target_op { T_ENABLE, T_DISABLE, T_REMOVE };

static struct json_object *target_op(struct ctl_call *c, enum target_op op)
{
	const char *name = ctl_arg(c, "TARGET");
	struct uscst_target *tgt = uscst_target_find(name);
	if (!tgt)
		return no_target(c, name);
	char err[512] = "";
	int rc = op == T_REMOVE ? uscst_live_target_remove(tgt, err, sizeof(err))
				: uscst_live_target_enable(tgt, op == T_ENABLE, err, sizeof(err));
	if (rc < 0)
		return ctl_fail(c, "%s", err);
	static const char *const done[] = {"enabled", "disabled", "removed"};
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "target", name);
	jp_bool(&c->failed, r, "enabled", op == T_ENABLE);
	ctl_message(c, "ok: target %s %s", name, done[op]);
	return r;
}

static struct json_object *do_target_enable(struct ctl_call *c) { return target_op(c, T_ENABLE); }
static struct json_object *do_target_disable(struct ctl_call *c) { return target_op(c, T_DISABLE); }
static struct json_object *do_target_remove(struct ctl_call *c) { return target_op(c, T_REMOVE); }

static struct json_object *portal_change(struct ctl_call *c, bool add)
{
	const char *driver = ctl_arg(c, "DRIVER"), *portal = ctl_arg(c, "PORTAL");
	char err[512] = "";
	if (uscst_live_portal(driver, portal, add, err, sizeof(err)) < 0)
		return ctl_fail(c, "%s", err);
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "driver", driver);
	jp_str(&c->failed, r, "portal", portal);
	ctl_message(c, "ok: %s: portal %s %s", driver, portal, add ? "added" : "removed");
	return r;
}

static struct json_object *do_portal_add(struct ctl_call *c) { return portal_change(c, true); }
static struct json_object *do_portal_remove(struct ctl_call *c) { return portal_change(c, false); }

/* ---- sessions ---- */

#define CLOSE_MAX 256 /* sessions one `session close TARGET INITIATOR` ends */

struct session_match {
	const struct uscst_target *tgt;
	const char *initiator, *isid; /* isid: NULL for any */
	uint64_t ids[CLOSE_MAX];
	unsigned n;
};

static void match_session(struct uscst_session *s, void *arg)
{
	struct session_match *m = arg;
	if (s->tgt != m->tgt || strcasecmp(s->initiator_name, m->initiator) != 0 ||
	    m->n == CLOSE_MAX)
		return;
	if (m->isid) {
		/* initiator_port is "NAME,i,0x<ISID>" */
		const char *p = strrchr(s->initiator_port, ',');
		const char *want = strncasecmp(m->isid, "0x", 2) ? m->isid : m->isid + 2;
		if (!p || strncasecmp(p, ",0x", 3) != 0 || strcasecmp(p + 3, want) != 0)
			return;
	}
	m->ids[m->n++] = s->id;
}

static struct json_object *closed(struct ctl_call *c, const uint64_t *ids, unsigned n)
{
	struct json_object *r = jp_object(&c->failed);
	struct json_object *a = jp_put(&c->failed, r, "closed", jp_array(&c->failed));
	for (unsigned i = 0; i < n; i++) {
		struct json_object *v = json_object_new_uint64(ids[i]);
		if (!v)
			c->failed = true;
		else
			jp_append(&c->failed, a, v);
	}
	ctl_message(c, "ok: %u session%s closed", n, n == 1 ? "" : "s");
	return r;
}

static struct json_object *do_session_close_id(struct ctl_call *c)
{
	uint64_t id;
	if (!ctl_arg_u64(c, "ID", UINT64_MAX, &id))
		return NULL;
	char err[512] = "";
	if (uscst_live_session_close(id, err, sizeof(err)) < 0)
		return ctl_fail(c, "%s (see 'uscstadmin list sessions')", err);
	return closed(c, &id, 1);
}

static struct json_object *do_session_close_of(struct ctl_call *c)
{
	const char *tname = ctl_arg(c, "TARGET");
	struct uscst_target *tgt = uscst_target_find(tname);
	if (!tgt)
		return no_target(c, tname);
	struct session_match *m = calloc(1, sizeof(*m));
	if (!m)
		return ctl_fail(c, "out of memory");
	m->tgt = tgt;
	m->initiator = ctl_arg(c, "INITIATOR");
	m->isid = ctl_arg(c, "ISID");
	uscst_session_foreach(match_session, m);
	if (!m->n) {
		ctl_fail(c, "no session of %s%s%s on %s (see 'uscstadmin list sessions')",
			 m->initiator, m->isid ? " with ISID " : "", m->isid ? m->isid : "",
			 tgt->name);
		free(m);
		return NULL;
	}
	unsigned n = 0;
	char err[512];
	for (unsigned i = 0; i < m->n; i++)
		if (uscst_live_session_close(m->ids[i], err, sizeof(err)) == 0)
			m->ids[n++] = m->ids[i]; /* one that ended meanwhile is not counted */
	struct json_object *r = closed(c, m->ids, n);
	free(m);
	return r;
}

/* ---- CHAP ---- */

/* "in" (IncomingUser) or "out" (OutgoingUser); false with the error set. */
static bool direction(struct ctl_call *c, bool *in)
{
	const char *d = ctl_arg(c, "DIRECTION");
	*in = !strcmp(d, "in");
	if (*in || !strcmp(d, "out"))
		return true;
	ctl_fail(c,
		 "DIRECTION: 'in' (IncomingUser, the initiator's account) or 'out' "
		 "(OutgoingUser, the target's for mutual CHAP), not '%s'",
		 d);
	return false;
}

static struct json_object *chap_change(struct ctl_call *c, bool add)
{
	const char *tname = ctl_arg(c, "TARGET"), *user = ctl_arg(c, "USER");
	bool in;
	if (!direction(c, &in))
		return NULL;
	struct uscst_target *tgt = uscst_target_find(tname);
	if (!tgt)
		return no_target(c, tname);
	char err[512] = "";
	int rc = add ? uscst_live_chap_add(tgt, in, user, ctl_arg(c, "SECRET"), err, sizeof(err))
		     : uscst_live_chap_remove(tgt, in, user, err, sizeof(err));
	if (rc < 0)
		return ctl_fail(c, "%s", err);
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "target", tgt->name);
	jp_str(&c->failed, r, "direction", in ? "in" : "out");
	jp_str(&c->failed, r, "user", user);
	ctl_message(c, "ok: %s: %s CHAP user %s %s", tgt->name, in ? "incoming" : "outgoing", user,
		    add ? "set" : "removed");
	return r;
}

static struct json_object *do_chap_add(struct ctl_call *c) { return chap_change(c, true); }
static struct json_object *do_chap_remove(struct ctl_call *c) { return chap_change(c, false); }

const struct ctl_verb ctl_live_verbs[] = {
    {"device add HANDLER NAME [ATTR1] [ATTR2] [ATTR3] [ATTR4] [ATTR5] [ATTR6]", do_device_add,
     "open a new device; each ATTR is NAME=VALUE (e.g. filename=/srv/d.img size_mb=64)",
     CTL_CHANGES_STATE},
    {"device remove NAME", do_device_remove,
     "remove a device no LUN maps (closed once its last command ends)", CTL_CHANGES_STATE},
    {"device NAME resize SIZE", do_device_resize,
     "new size (bytes, or K/M/G/T) of a device whose size is configured (vdisk_nullio); "
     "its initiators get CAPACITY DATA HAS CHANGED",
     CTL_CHANGES_STATE},
    {"lun add TARGET group GROUP LUN DEVICE [--read-only]", do_lun_add,
     "map DEVICE as LUN of GROUP's map", CTL_CHANGES_STATE},
    {"lun add TARGET LUN DEVICE [--read-only]", do_lun_add,
     "map DEVICE as LUN of TARGET's default map; the nexuses whose map changes get REPORTED "
     "LUNS DATA HAS CHANGED",
     CTL_CHANGES_STATE},
    {"lun remove TARGET group GROUP LUN", do_lun_remove, "unmap LUN of GROUP's map",
     CTL_CHANGES_STATE},
    {"lun remove TARGET LUN", do_lun_remove,
     "unmap LUN of TARGET's default map; its commands end first (those not started: LOGICAL "
     "UNIT NOT SUPPORTED)",
     CTL_CHANGES_STATE},
    {"group add TARGET GROUP", do_group_add, "a new, empty initiator group", CTL_CHANGES_STATE},
    {"group remove TARGET GROUP", do_group_remove,
     "remove a group; its initiators get the next group that matches, or the default map",
     CTL_CHANGES_STATE},
    {"initiator add TARGET GROUP INITIATOR", do_initiator_add,
     "an initiator name or pattern joins GROUP; its sessions get GROUP's map", CTL_CHANGES_STATE},
    {"initiator remove TARGET GROUP INITIATOR", do_initiator_remove,
     "an initiator name or pattern leaves GROUP", CTL_CHANGES_STATE},
    {"target add DRIVER TARGET", do_target_add, "a new, enabled target with no LUN",
     CTL_CHANGES_STATE},
    {"target enable TARGET", do_target_enable, "accept logins again", CTL_CHANGES_STATE},
    {"target disable TARGET", do_target_disable, "refuse new logins and close TARGET's sessions",
     CTL_CHANGES_STATE},
    {"target remove TARGET", do_target_remove,
     "close TARGET's sessions and remove it with its groups and LUN maps", CTL_CHANGES_STATE},
    {"portal add DRIVER PORTAL", do_portal_add, "listen on one more ADDR:PORT", CTL_CHANGES_STATE},
    {"portal remove DRIVER PORTAL", do_portal_remove,
     "stop listening on ADDR:PORT (its connections stay)", CTL_CHANGES_STATE},
    {"session close ID", do_session_close_id, "end a session (its id from 'list sessions')",
     CTL_CHANGES_STATE},
    {"session close TARGET INITIATOR [ISID]", do_session_close_of,
     "end INITIATOR's sessions on TARGET (or only the one with that ISID)", CTL_CHANGES_STATE},
    {"chap add TARGET DIRECTION USER SECRET", do_chap_add,
     "DIRECTION in|out; a known incoming USER gets the new SECRET; for the next logins",
     CTL_CHANGES_STATE},
    {"chap remove TARGET DIRECTION USER", do_chap_remove, "remove a CHAP account",
     CTL_CHANGES_STATE},
    {NULL},
};
