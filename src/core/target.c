/* Targets, their transport attributes and their default LUN map. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"

static struct list_head targets = LIST_HEAD_INIT(targets);
static uint16_t next_rel_tgt_id = 1;

struct uscst_target *uscst_target_create(const char *driver, const char *name, char *err,
					 size_t errlen)
{
	if (strcmp(driver, "iscsi") != 0) {
		snprintf(err, errlen, "unknown target driver '%s'", driver);
		return NULL;
	}
	if (!*name || strlen(name) >= USCST_NAME_MAX) {
		snprintf(err, errlen, "bad target name '%s'", name);
		return NULL;
	}
	if (uscst_target_find(name)) {
		snprintf(err, errlen, "target '%s' already exists", name);
		return NULL;
	}
	struct uscst_target *tgt = calloc(1, sizeof(*tgt));
	struct uscst_lun_map *map = calloc(1, sizeof(*map));
	if (!tgt || !map) {
		free(tgt);
		free(map);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(tgt->name, sizeof(tgt->name), "%s", name);
	snprintf(tgt->driver, sizeof(tgt->driver), "%s", driver);
	list_init(&tgt->attrs);
	tgt->luns = map;
	tgt->enabled = true;
	pthread_mutex_lock(&uscst_config_lock);
	tgt->rel_tgt_id = next_rel_tgt_id++;
	list_add_tail(&tgt->node, &targets);
	pthread_mutex_unlock(&uscst_config_lock);
	return tgt;
}

struct attr_rule {
	const char *name;
	unsigned long min, max; /* numeric; max 0: Yes/No; max 1: digest list */
};

/* iSCSI target attributes (SCST names) and the ranges iSCSI-SCST accepts. */
static const struct attr_rule iscsi_attrs[] = {
    {"InitialR2T", 0, 0},
    {"ImmediateData", 0, 0},
    {"HeaderDigest", 0, 1},
    {"DataDigest", 0, 1},
    {"MaxRecvDataSegmentLength", 512, 16777215},
    {"MaxXmitDataSegmentLength", 512, 16777215},
    {"MaxBurstLength", 512, 16777215},
    {"FirstBurstLength", 512, 16777215},
    {"MaxOutstandingR2T", 1, 65535},
    {"QueuedCommands", 1, 2048},
    {"NopInInterval", 0, 65535},
    {"NopInTimeout", 2, 65535},
    {"RspTimeout", 2, 65535},
    {"MaxSessions", 0, 65535},
};

static bool digest_list_ok(const char *v)
{
	char buf[64];
	if (strlen(v) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", v);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (strcasecmp(t, "None") && strcasecmp(t, "CRC32C"))
			return false;
	return true;
}

static bool check_attr_value(const struct attr_rule *r, const char *value, char *err, size_t errlen)
{
	if (r->max == 0) {
		if (strcasecmp(value, "Yes") && strcasecmp(value, "No")) {
			snprintf(err, errlen, "%s: expected Yes or No, got '%s'", r->name, value);
			return false;
		}
		return true;
	}
	if (r->max == 1) {
		if (!digest_list_ok(value)) {
			snprintf(err, errlen, "%s: expected a list of CRC32C and None, got '%s'",
				 r->name, value);
			return false;
		}
		return true;
	}
	char *end;
	errno = 0;
	unsigned long n = strtoul(value, &end, 10);
	if (errno || end == value || *end || *value == '-' || n < r->min || n > r->max) {
		snprintf(err, errlen, "%s: expected a number in %lu..%lu, got '%s'", r->name,
			 r->min, r->max, value);
		return false;
	}
	return true;
}

static bool store_attr(struct uscst_target *tgt, const char *name, const char *value)
{
	struct uscst_attr *a;
	list_for_each_entry(a, &tgt->attrs, node)
	{
		if (!strcmp(a->name, name)) {
			char *v = strdup(value);
			if (!v)
				return false;
			free(a->value);
			a->value = v;
			return true;
		}
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return false;
	a->name = strdup(name);
	a->value = strdup(value);
	if (!a->name || !a->value) {
		free(a->name);
		free(a->value);
		free(a);
		return false;
	}
	list_add_tail(&a->node, &tgt->attrs);
	return true;
}

bool uscst_target_set_attr(struct uscst_target *tgt, const char *name, const char *value, char *err,
			   size_t errlen)
{
	if (!strcmp(name, "enabled")) {
		if (strcmp(value, "0") && strcmp(value, "1")) {
			snprintf(err, errlen, "enabled: expected 0 or 1, got '%s'", value);
			return false;
		}
		tgt->enabled = value[0] == '1';
		return true;
	}
	if (!strcmp(name, "rel_tgt_id")) {
		char *end;
		unsigned long n = strtoul(value, &end, 10);
		if (end == value || *end || n < 1 || n > 65535) {
			snprintf(err, errlen, "rel_tgt_id: expected 1..65535, got '%s'", value);
			return false;
		}
		tgt->rel_tgt_id = (uint16_t)n;
		return true;
	}
	for (size_t i = 0; i < sizeof(iscsi_attrs) / sizeof(iscsi_attrs[0]); i++) {
		if (strcmp(iscsi_attrs[i].name, name) != 0)
			continue;
		if (!check_attr_value(&iscsi_attrs[i], value, err, errlen))
			return false;
		if (!store_attr(tgt, name, value)) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		return true;
	}
	snprintf(err, errlen, "unknown attribute '%s' for target '%s'", name, tgt->name);
	return false;
}

const char *uscst_target_attr(const struct uscst_target *tgt, const char *name)
{
	const struct uscst_attr *a;
	list_for_each_entry(a, &tgt->attrs, node)
	{
		if (!strcmp(a->name, name))
			return a->value;
	}
	return NULL;
}

bool uscst_target_add_lun(struct uscst_target *tgt, uint64_t lun, struct uscst_device *dev,
			  bool read_only, char *err, size_t errlen)
{
	struct uscst_lun_map *map = tgt->luns;
	if (lun >= 16384) {
		snprintf(err, errlen, "LUN %llu: must be below 16384", (unsigned long long)lun);
		return false;
	}
	if (map->count >= USCST_MAX_LUNS) {
		snprintf(err, errlen, "too many LUNs (at most %d)", USCST_MAX_LUNS);
		return false;
	}
	unsigned pos = 0;
	while (pos < map->count && map->luns[pos].lun < lun)
		pos++;
	if (pos < map->count && map->luns[pos].lun == lun) {
		snprintf(err, errlen, "LUN %llu is already defined", (unsigned long long)lun);
		return false;
	}
	memmove(&map->luns[pos + 1], &map->luns[pos], (map->count - pos) * sizeof(map->luns[0]));
	map->luns[pos] = (struct uscst_lun){.lun = lun, .dev = dev, .read_only = read_only};
	map->count++;
	atomic_fetch_add(&dev->refs, 1);
	return true;
}

struct uscst_target *uscst_target_find(const char *name)
{
	struct uscst_target *tgt, *found = NULL;
	pthread_mutex_lock(&uscst_config_lock);
	list_for_each_entry(tgt, &targets, node)
	{
		if (!strcmp(tgt->name, name)) {
			found = tgt;
			break;
		}
	}
	pthread_mutex_unlock(&uscst_config_lock);
	return found;
}

void uscst_target_foreach(void (*fn)(struct uscst_target *tgt, void *arg), void *arg)
{
	struct uscst_target *tgt;
	pthread_mutex_lock(&uscst_config_lock);
	list_for_each_entry(tgt, &targets, node)
	{
		if (tgt->enabled)
			fn(tgt, arg);
	}
	pthread_mutex_unlock(&uscst_config_lock);
}

struct uscst_target *uscst_target_next(struct uscst_target *prev)
{
	struct list_head *n = prev ? prev->node.next : targets.next;
	return n == &targets ? NULL : list_entry(n, struct uscst_target, node);
}

const char *uscst_target_name(const struct uscst_target *tgt) { return tgt->name; }

uint16_t uscst_target_rel_port_id(const struct uscst_target *tgt) { return tgt->rel_tgt_id; }

bool uscst_target_allows(const struct uscst_target *tgt, const char *initiator_name)
{
	/* Initiator groups with access control come with GROUP support. */
	return tgt->enabled;
}
