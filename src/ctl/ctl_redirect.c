/*
 * Login redirection at run time (iscsi/redirect.h): the target attributes
 * redirect_portal and redirect_type, set or removed for the next logins
 * (sessions already logged in stay).  For scripts (-j):
 *   target redirect      {"target", "portal" (null: off), "type"}
 */
#include <string.h>

#include "core/core.h"
#include "ctl/ctl_verbs.h"

static bool any_value(const char *value, void *arg) { return true; }

static struct json_object *redirect_result(struct ctl_call *c, const struct uscst_target *tgt,
					   const char *portal, const char *type)
{
	struct json_object *r = jp_object(&c->failed);
	jp_str(&c->failed, r, "target", uscst_target_name(tgt));
	jp_str(&c->failed, r, "portal", portal); /* NULL: null */
	jp_str(&c->failed, r, "type", type);
	return r;
}

static struct json_object *do_redirect(struct ctl_call *c)
{
	const char *tname = ctl_arg(c, "TARGET"), *portal = ctl_arg(c, "PORTAL");
	const char *type = ctl_arg(c, "TYPE") ? ctl_arg(c, "TYPE") : "temporary";
	struct uscst_target *tgt = uscst_target_find(tname);
	if (!tgt)
		return ctl_fail(c, "no target '%s' (see 'uscstadmin list targets')", tname);
	/* Both values are checked before either is stored: the portal by the
	 * transport's table when it is set (first), the type here. */
	if (strcmp(type, "temporary") && strcmp(type, "permanent"))
		return ctl_fail(c, "TYPE: temporary or permanent, not '%s'", type);
	char err[512] = "";
	pthread_mutex_lock(&uscst_config_lock);
	bool ok = uscst_target_set_attr(tgt, "redirect_portal", portal, err, sizeof(err)) &&
		  uscst_target_set_attr(tgt, "redirect_type", type, err, sizeof(err));
	pthread_mutex_unlock(&uscst_config_lock);
	if (!ok)
		return ctl_fail(c, "%s", err);
	ctl_message(c, "ok: %s: logins redirected %s to %s", uscst_target_name(tgt), type, portal);
	return redirect_result(c, tgt, portal, type);
}

static struct json_object *do_redirect_off(struct ctl_call *c)
{
	const char *tname = ctl_arg(c, "TARGET");
	struct uscst_target *tgt = uscst_target_find(tname);
	if (!tgt)
		return ctl_fail(c, "no target '%s' (see 'uscstadmin list targets')", tname);
	pthread_mutex_lock(&uscst_config_lock);
	core_target_remove_attr(tgt, "redirect_portal", any_value, NULL);
	pthread_mutex_unlock(&uscst_config_lock);
	ctl_message(c, "ok: %s: logins no longer redirected", uscst_target_name(tgt));
	return redirect_result(c, tgt, NULL, "off");
}

const struct ctl_verb ctl_redirect_verbs[] = {
    {"target redirect TARGET off", do_redirect_off, "logins to TARGET are no longer redirected",
     CTL_CHANGES_STATE},
    {"target redirect TARGET PORTAL [TYPE]", do_redirect,
     "answer logins to TARGET with its new address PORTAL (HOST:PORT[,TPGT]); TYPE "
     "temporary (default, status 01/01) or permanent (01/02)",
     CTL_CHANGES_STATE},
    {NULL},
};
