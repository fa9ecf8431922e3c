/*
 * `uscstadmin -j stats`: the snapshot as JSON, for scripts.  Field names
 * are stable:
 *   {"devices":  [{"device", COUNTERS}],
 *    "targets":  [{"target", COUNTERS}],
 *    "luns":     [{"target", "group" ("" = default map), "lun", "device",
 *                  COUNTERS, "latency": {"count", "sum_ns",
 *                  "buckets": [{"le_us": 1, "count": N}, ...,
 *                              {"le_us": null, "count": N}]}}],
 *    "sessions": [{"session", "target", "initiator", "initiator_port",
 *                  COUNTERS}]}
 * COUNTERS: "commands", "reads", "writes", "read_bytes", "write_bytes",
 * "aborts", "errors" (the total), "errors_by_sense_key": {NAME: N, ...}
 * (only the kinds that happened).  A bucket's count is its own, not
 * cumulative; le_us null is +Inf.
 */
#include "ctl/ctl_stats.h"

#include "lib/json_put.h"

static void counters(bool *failed, struct json_object *o, const struct uscst_stats_sum *s)
{
	static const struct {
		const char *name;
		enum uscst_stat stat;
	} fields[] = {
	    {"commands", USCST_STAT_COMMANDS},	     {"reads", USCST_STAT_READS},
	    {"writes", USCST_STAT_WRITES},	     {"read_bytes", USCST_STAT_READ_BYTES},
	    {"write_bytes", USCST_STAT_WRITE_BYTES}, {"aborts", USCST_STAT_ABORTS},
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		jp_u64(failed, o, fields[i].name, s->v[fields[i].stat]);
	uint64_t total = 0;
	for (unsigned k = 0; k < USCST_ERR_KINDS; k++)
		total += s->v[USCST_STAT_ERRORS + k];
	jp_u64(failed, o, "errors", total);
	struct json_object *by_key = jp_put(failed, o, "errors_by_sense_key", jp_object(failed));
	for (unsigned k = 0; by_key && k < USCST_ERR_KINDS; k++)
		if (s->v[USCST_STAT_ERRORS + k])
			jp_u64(failed, by_key, uscst_stats_error_name(k),
			       s->v[USCST_STAT_ERRORS + k]);
}

static void latency(bool *failed, struct json_object *o, const struct uscst_stats_sum *s)
{
	struct json_object *lat = jp_put(failed, o, "latency", jp_object(failed));
	if (!lat)
		return;
	struct json_object *buckets = jp_array(failed);
	uint64_t count = 0;
	for (unsigned b = 0; buckets && b < USCST_LAT_BUCKETS; b++) {
		uint64_t n = s->v[USCST_STAT_BUCKET0 + b];
		count += n;
		struct json_object *e = jp_append(failed, buckets, jp_object(failed));
		if (b < USCST_LAT_FINITE)
			jp_u64(failed, e, "le_us", uscst_stats_bucket_bound_ns(b) / 1000);
		else
			jp_str(failed, e, "le_us", NULL); /* null: +Inf */
		jp_u64(failed, e, "count", n);
	}
	jp_u64(failed, lat, "count", count);
	jp_u64(failed, lat, "sum_ns", s->v[USCST_STAT_LATENCY_NS]);
	jp_put(failed, lat, "buckets", buckets);
}

static void entry(bool *failed, struct json_object *o, const struct uscst_stats_entry *e)
{
	switch (e->kind) {
	case USCST_STATS_DEVICE:
		jp_str(failed, o, "device", e->device);
		break;
	case USCST_STATS_TARGET:
		jp_str(failed, o, "target", e->target);
		break;
	case USCST_STATS_LUN:
		jp_str(failed, o, "target", e->target);
		jp_str(failed, o, "group", e->group);
		jp_u64(failed, o, "lun", e->lun);
		jp_str(failed, o, "device", e->device);
		break;
	case USCST_STATS_SESSION:
		jp_u64(failed, o, "session", e->session_id);
		jp_str(failed, o, "target", e->target);
		jp_str(failed, o, "initiator", e->initiator);
		jp_str(failed, o, "initiator_port", e->port);
		break;
	}
	counters(failed, o, &e->sum);
	if (e->kind == USCST_STATS_LUN && e->sum.has_histogram)
		latency(failed, o, &e->sum);
}

struct json_object *ctl_stats_json(const struct uscst_stats_snapshot *snap, bool *failed)
{
	static const char *const keys[] = {
	    [USCST_STATS_DEVICE] = "devices",
	    [USCST_STATS_TARGET] = "targets",
	    [USCST_STATS_LUN] = "luns",
	    [USCST_STATS_SESSION] = "sessions",
	};
	struct json_object *root = jp_object(failed);
	struct json_object *lists[4] = {0};
	for (unsigned k = 0; root && k < 4; k++)
		lists[k] = jp_put(failed, root, keys[k], jp_array(failed));
	for (size_t i = 0; root && i < snap->n; i++) {
		struct json_object *list = lists[snap->e[i].kind];
		struct json_object *o = list ? jp_append(failed, list, jp_object(failed)) : NULL;
		if (o)
			entry(failed, o, &snap->e[i]);
	}
	return root;
}
