/* One change of a configuration diff: its line for people and its undo. */
#include <inttypes.h>
#include <stdio.h>

#include "config/conf_diff.h"

static void describe_map(FILE *f, const struct conf_change *c, const char *prep)
{
	fprintf(f, " %s target %s", prep, c->target);
	if (c->group)
		fprintf(f, " group %s", c->group);
}

void conf_change_describe(const struct conf_change *c, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");
	if (!f) {
		snprintf(buf, len, "?");
		return;
	}
	setvbuf(f, NULL, _IONBF, 0);
	switch (c->kind) {
	case CONF_DEVICE_ADD:
		fprintf(f, "add device %s (%s", c->name, c->handler);
		for (size_t i = 0; i < c->nattrs; i++)
			fprintf(f, ", %s", c->attrs[i]);
		fputc(')', f);
		break;
	case CONF_DEVICE_REMOVE:
		fprintf(f, "remove device %s", c->name);
		break;
	case CONF_DEVICE_SET:
		fprintf(f, "set device %s %s %s", c->name, c->attr, c->value);
		break;
	case CONF_LUN_ADD:
		fprintf(f, "add lun %" PRIu64 " %s%s", c->lun, c->device,
			c->read_only ? " read_only" : "");
		describe_map(f, c, "to");
		break;
	case CONF_LUN_REMOVE:
		fprintf(f, "remove lun %" PRIu64 " (%s)", c->lun, c->device);
		describe_map(f, c, "from");
		break;
	case CONF_GROUP_ADD:
		fprintf(f, "add group %s to target %s", c->group, c->target);
		break;
	case CONF_GROUP_REMOVE:
		fprintf(f, "remove group %s from target %s", c->group, c->target);
		break;
	case CONF_INITIATOR_ADD:
		fprintf(f, "add initiator %s", c->name);
		describe_map(f, c, "to");
		break;
	case CONF_INITIATOR_REMOVE:
		fprintf(f, "remove initiator %s", c->name);
		describe_map(f, c, "from");
		break;
	case CONF_TARGET_ADD:
		fprintf(f, "add target %s (%s)", c->target, c->driver);
		break;
	case CONF_TARGET_REMOVE:
		fprintf(f, "remove target %s", c->target);
		break;
	case CONF_TARGET_ENABLE:
		fprintf(f, "enable target %s", c->target);
		break;
	case CONF_TARGET_DISABLE:
		fprintf(f, "disable target %s", c->target);
		break;
	case CONF_CHAP_ADD:
		fprintf(f, "%s %s user %s of target %s", c->old_value ? "change secret of" : "add",
			c->incoming ? "IncomingUser" : "OutgoingUser", c->name, c->target);
		break;
	case CONF_CHAP_REMOVE:
		fprintf(f, "remove %s user %s of target %s",
			c->incoming ? "IncomingUser" : "OutgoingUser", c->name, c->target);
		break;
	case CONF_PORTAL_ADD:
		fprintf(f, "add portal %s to driver %s", c->name, c->driver);
		break;
	case CONF_PORTAL_REMOVE:
		fprintf(f, "remove portal %s from driver %s", c->name, c->driver);
		break;
	case CONF_ALUA_SET:
		fprintf(f, "%s ALUA device groups", c->value && c->value[0] ? "set" : "remove");
		break;
	}
	fclose(f);
}

struct conf_change conf_change_undo(const struct conf_change *c)
{
	struct conf_change u = *c;
	static const enum conf_change_kind inverse[] = {
	    [CONF_TARGET_DISABLE] = CONF_TARGET_ENABLE,
	    [CONF_TARGET_ENABLE] = CONF_TARGET_DISABLE,
	    [CONF_LUN_REMOVE] = CONF_LUN_ADD,
	    [CONF_LUN_ADD] = CONF_LUN_REMOVE,
	    [CONF_INITIATOR_REMOVE] = CONF_INITIATOR_ADD,
	    [CONF_INITIATOR_ADD] = CONF_INITIATOR_REMOVE,
	    [CONF_GROUP_REMOVE] = CONF_GROUP_ADD,
	    [CONF_GROUP_ADD] = CONF_GROUP_REMOVE,
	    [CONF_CHAP_REMOVE] = CONF_CHAP_ADD,
	    [CONF_CHAP_ADD] = CONF_CHAP_REMOVE,
	    [CONF_TARGET_REMOVE] = CONF_TARGET_ADD,
	    [CONF_TARGET_ADD] = CONF_TARGET_REMOVE,
	    [CONF_PORTAL_REMOVE] = CONF_PORTAL_ADD,
	    [CONF_PORTAL_ADD] = CONF_PORTAL_REMOVE,
	    [CONF_DEVICE_REMOVE] = CONF_DEVICE_ADD,
	    [CONF_DEVICE_ADD] = CONF_DEVICE_REMOVE,
	    [CONF_DEVICE_SET] = CONF_DEVICE_SET,
	    [CONF_ALUA_SET] = CONF_ALUA_SET,
	};
	u.kind = inverse[c->kind];
	switch (c->kind) {
	case CONF_ALUA_SET:
	case CONF_DEVICE_SET:
		u.value = c->old_value;
		u.old_value = c->value;
		break;
	case CONF_CHAP_ADD:
		/* A changed secret goes back; a new account goes away. */
		if (c->old_value) {
			u.kind = CONF_CHAP_ADD;
			u.value = c->old_value;
			u.old_value = c->value;
		}
		break;
	case CONF_CHAP_REMOVE:
		u.value = c->old_value;
		u.old_value = NULL;
		break;
	default:
		break;
	}
	return u;
}
