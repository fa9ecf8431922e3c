/*
 * ALUA device groups (core/alua.h): `list alua` and the run-time changes
 * of a target port group's state and preferred bit, which every session
 * keeps through (the nexuses of the group's devices get ASYMMETRIC ACCESS
 * STATE CHANGED when a state changes).  Rows of `list alua` (one per
 * target port group):
 *   {"device_group", "devices" ("d1,d2"), "target_group", "group_id",
 *    "state", "preferred", "targets" ("name:rel_tgt_id,...")}
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alua.h"
#include "ctl/ctl_verbs.h"

/* "d1,d2,..." of the device group; NULL on ENOMEM. */
static char *joined(const struct uscst_alua_dg *dg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	for (unsigned i = 0; i < dg->ndevices; i++)
		fprintf(f, "%s%s", i ? "," : "", dg->devices[i]);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static char *ports_text(const struct uscst_alua_tg *tg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	for (unsigned i = 0; i < tg->nports; i++)
		fprintf(f, "%s%s:%u", i ? "," : "", tg->ports[i].target, tg->ports[i].rel_tgt_id);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static struct json_object *do_list_alua(struct ctl_call *c)
{
	struct json_object *list = jp_array(&c->failed);
	const struct uscst_alua_model *m = uscst_alua_current();
	for (unsigned i = 0; m && i < m->ndgs; i++) {
		const struct uscst_alua_dg *dg = &m->dgs[i];
		char *devs = joined(dg);
		for (unsigned j = 0; j < dg->ntgs; j++) {
			const struct uscst_alua_tg *tg = &dg->tgs[j];
			char *ports = ports_text(tg);
			struct json_object *o = jp_append(&c->failed, list, jp_object(&c->failed));
			jp_str(&c->failed, o, "device_group", dg->name);
			jp_str(&c->failed, o, "devices", devs ? devs : "");
			jp_str(&c->failed, o, "target_group", tg->name);
			jp_u64(&c->failed, o, "group_id", tg->group_id);
			jp_str(&c->failed, o, "state",
			       uscst_alua_state_name(atomic_load(&tg->state)));
			jp_bool(&c->failed, o, "preferred", atomic_load(&tg->preferred));
			jp_str(&c->failed, o, "targets", ports ? ports : "");
			c->failed |= !ports;
			free(ports);
		}
		c->failed |= !devs;
		free(devs);
	}
	return list;
}

static struct json_object *set_tg(struct ctl_call *c, const char *state, int preferred)
{
	char err[512] = "";
	const char *dg = ctl_arg(c, "DG"), *tg = ctl_arg(c, "TG");
	if (uscst_alua_set_tg(dg, tg, state, preferred, err, sizeof(err)) < 0)
		return ctl_fail(c, "%s (see 'uscstadmin list alua')", err);
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "device_group", dg);
	jp_str(&c->failed, r, "target_group", tg);
	ctl_message(c, "ok: device group %s target group %s %s %s", dg, tg,
		    state ? "state" : "preferred", state ? state : (preferred ? "1" : "0"));
	return r;
}

static struct json_object *do_set_state(struct ctl_call *c)
{
	return set_tg(c, ctl_arg(c, "STATE"), -1);
}

static struct json_object *do_set_preferred(struct ctl_call *c)
{
	const char *v = ctl_arg(c, "VALUE");
	if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
		return ctl_fail(c, "preferred is 0 or 1, not '%s'", v);
	return set_tg(c, NULL, v[0] == '1');
}

const struct ctl_verb ctl_alua_verbs[] = {
    {"list alua", do_list_alua,
     "ALUA target port groups: device group, devices, group id, state, preferred, targets",
     CTL_READS_STATE},
    {"alua DG TG state STATE", do_set_state,
     "set target group TG of device group DG to active, nonoptimized, standby, unavailable, "
     "offline or transitioning (sessions stay; their LUNs get 2Ah/06h)",
     CTL_CHANGES_STATE},
    {"alua DG TG preferred VALUE", do_set_preferred,
     "set the preferred bit (0 or 1) of target group TG of device group DG", CTL_CHANGES_STATE},
    {NULL},
};
