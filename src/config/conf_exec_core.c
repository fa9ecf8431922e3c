/*
 * The daemon's way of making one change of `config apply`: the core's
 * run-time functions (core/live.h), which tell the sessions a change
 * concerns (3Fh/0Eh, 2Ah/09h ...) and leave the others alone.
 */
#include <errno.h>
#include <stdio.h>

#include "config/conf_alua.h"
#include "config/conf_exec.h"
#include "config/conf_writer.h"
#include "core/core.h"
#include "core/live.h"
#include "core/transports.h"

static struct uscst_target *target(const struct conf_change *c, char *err, size_t errlen)
{
	struct uscst_target *t = uscst_target_find(c->target);
	if (!t)
		snprintf(err, errlen, "no target '%s'", c->target);
	return t;
}

static struct uscst_device *device(const char *name, char *err, size_t errlen)
{
	struct uscst_device *d = uscst_device_find(name);
	if (!d)
		snprintf(err, errlen, "no device '%s'", name);
	return d;
}

static int add_target(const struct conf_change *c, char *err, size_t errlen)
{
	struct uscst_target *t = uscst_live_target_add(c->driver, c->target, err, errlen);
	if (!t)
		return -EINVAL;
	/* Complete before an initiator logs in: enabled by its own change,
	 * last (or right away when this undoes a removal of an enabled one). */
	return uscst_live_target_enable(t, c->was_enabled, err, errlen);
}

static int apply_target_change(const struct conf_change *c, char *err, size_t errlen)
{
	if (c->kind == CONF_TARGET_ADD)
		return add_target(c, err, errlen);
	struct uscst_target *t = target(c, err, errlen);
	if (!t)
		return -ENOENT;
	switch (c->kind) {
	case CONF_TARGET_REMOVE:
		return uscst_live_target_remove(t, err, errlen);
	case CONF_TARGET_ENABLE:
	case CONF_TARGET_DISABLE:
		return uscst_live_target_enable(t, c->kind == CONF_TARGET_ENABLE, err, errlen);
	case CONF_GROUP_ADD:
		return uscst_live_group_add(t, c->group, err, errlen);
	case CONF_GROUP_REMOVE:
		return uscst_live_group_remove(t, c->group, err, errlen);
	case CONF_INITIATOR_ADD:
		return uscst_live_initiator_add(t, c->group, c->name, err, errlen);
	case CONF_INITIATOR_REMOVE:
		return uscst_live_initiator_remove(t, c->group, c->name, err, errlen);
	case CONF_CHAP_ADD:
		return uscst_live_chap_add(t, c->incoming, c->name, c->value, err, errlen);
	case CONF_CHAP_REMOVE:
		return uscst_live_chap_remove(t, c->incoming, c->name, err, errlen);
	case CONF_LUN_REMOVE:
		return uscst_live_lun_remove(t, c->group, c->lun, err, errlen);
	case CONF_LUN_ADD: {
		struct uscst_device *d = device(c->device, err, errlen);
		return d ? uscst_live_lun_add(t, c->group, c->lun, d, c->read_only, err, errlen)
			 : -ENOENT;
	}
	default:
		snprintf(err, errlen, "not a target change");
		return -EINVAL;
	}
}

static int apply_change(void *arg, const struct conf_change *c, char *err, size_t errlen)
{
	switch (c->kind) {
	case CONF_DEVICE_ADD:
		return uscst_live_device_add(c->handler, c->name, c->attrs, (unsigned)c->nattrs,
					     err, errlen)
			   ? 0
			   : -EINVAL;
	case CONF_DEVICE_REMOVE:
		return uscst_live_device_remove(c->name, err, errlen);
	case CONF_DEVICE_SET: {
		struct uscst_device *d = device(c->name, err, errlen);
		return d ? uscst_live_device_set(d, c->attr, c->value, err, errlen) : -ENOENT;
	}
	case CONF_ALUA_SET:
		return conf_alua_apply_text(c->value, err, errlen) < 0 ? -EINVAL : 0;
	case CONF_PORTAL_ADD:
	case CONF_PORTAL_REMOVE:
		return uscst_live_portal(c->driver, c->name, c->kind == CONF_PORTAL_ADD, err,
					 errlen);
	default:
		return apply_target_change(c, err, errlen);
	}
}

static struct conf_tree *running(void *arg) { return conf_running_tree(); }

const struct conf_exec_ops conf_exec_core_ops = {apply_change, running, &conf_core_policy, NULL};
