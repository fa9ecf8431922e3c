/*
 * `stats -j`: the snapshot as JSON (json-c), for scripts.  Field names are
 * stable:
 *   {"devices":  [{"device", COUNTERS}],
 *    "targets":  [{"target", COUNTERS}],
 *    "luns":     [{"target", "group" ("" = default map), "lun", "device",
 *                  COUNTERS, "latency": {"count", "sum_ns",
 *                  "buckets": [{"le_us": 1, "count": N}, ...,
 *                              {"le_us": null, "count": N}]}}],
 *    "sessions": [{"session", "target", "initiator", "initiator_port",
 *                  COUNTERS}]}
 * COUNTERS: "commands", "reads", "writes", "read_bytes", "write_bytes",
 * "aborts", "errors": {SENSE_KEY_NAME: N, ...} (only kinds that happened).
 * A bucket's count is its own, not cumulative; le_us null is +Inf.
 */
#include <json-c/json.h>

#include "ctl/ctl_stats.h"

#include <stdlib.h>
#include <string.h>

/* json-c's adders take ownership of the value; a NULL value (ENOMEM) is
 * remembered in *ok. */
static void put(json_object *o, const char *key, json_object *v, bool *ok)
{
	if (!v || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		*ok = false;
	}
}

static void counters(json_object *o, const struct uscst_stats_sum *s, bool *ok)
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
		put(o, fields[i].name, json_object_new_uint64(s->v[fields[i].stat]), ok);
	json_object *errors = json_object_new_object();
	for (unsigned k = 0; errors && k < USCST_ERR_KINDS; k++)
		if (s->v[USCST_STAT_ERRORS + k])
			put(errors, uscst_stats_error_name(k),
			    json_object_new_uint64(s->v[USCST_STAT_ERRORS + k]), ok);
	put(o, "errors", errors, ok);
}

static json_object *latency(const struct uscst_stats_sum *s, bool *ok)
{
	json_object *lat = json_object_new_object(), *buckets = json_object_new_array();
	if (!lat || !buckets) {
		json_object_put(lat);
		json_object_put(buckets);
		*ok = false;
		return NULL;
	}
	uint64_t count = 0;
	for (unsigned b = 0; b < USCST_LAT_BUCKETS; b++) {
		uint64_t n = s->v[USCST_STAT_BUCKET0 + b];
		count += n;
		json_object *bucket = json_object_new_object();
		if (!bucket) {
			*ok = false;
			break;
		}
		/* json-c writes a NULL value as null: the +Inf bucket. */
		if (b < USCST_LAT_FINITE)
			put(bucket, "le_us",
			    json_object_new_uint64(uscst_stats_bucket_bound_ns(b) / 1000), ok);
		else
			json_object_object_add(bucket, "le_us", NULL);
		put(bucket, "count", json_object_new_uint64(n), ok);
		if (json_object_array_add(buckets, bucket) != 0) {
			json_object_put(bucket);
			*ok = false;
		}
	}
	put(lat, "count", json_object_new_uint64(count), ok);
	put(lat, "sum_ns", json_object_new_uint64(s->v[USCST_STAT_LATENCY_NS]), ok);
	put(lat, "buckets", buckets, ok);
	return lat;
}

static json_object *entry(const struct uscst_stats_entry *e, bool *ok)
{
	json_object *o = json_object_new_object();
	if (!o) {
		*ok = false;
		return NULL;
	}
	switch (e->kind) {
	case USCST_STATS_DEVICE:
		put(o, "device", json_object_new_string(e->device), ok);
		break;
	case USCST_STATS_TARGET:
		put(o, "target", json_object_new_string(e->target), ok);
		break;
	case USCST_STATS_LUN:
		put(o, "target", json_object_new_string(e->target), ok);
		put(o, "group", json_object_new_string(e->group), ok);
		put(o, "lun", json_object_new_uint64(e->lun), ok);
		put(o, "device", json_object_new_string(e->device), ok);
		break;
	case USCST_STATS_SESSION:
		put(o, "session", json_object_new_uint64(e->session_id), ok);
		put(o, "target", json_object_new_string(e->target), ok);
		put(o, "initiator", json_object_new_string(e->initiator), ok);
		put(o, "initiator_port", json_object_new_string(e->port), ok);
		break;
	}
	counters(o, &e->sum, ok);
	if (e->kind == USCST_STATS_LUN && e->sum.has_histogram)
		put(o, "latency", latency(&e->sum, ok), ok);
	return o;
}

char *ctl_stats_format_json(const struct uscst_stats_snapshot *snap)
{
	static const char *const keys[] = {
	    [USCST_STATS_DEVICE] = "devices",
	    [USCST_STATS_TARGET] = "targets",
	    [USCST_STATS_LUN] = "luns",
	    [USCST_STATS_SESSION] = "sessions",
	};
	bool ok = true;
	json_object *root = json_object_new_object();
	json_object *lists[4] = {0};
	for (unsigned k = 0; root && k < 4; k++) {
		lists[k] = json_object_new_array();
		put(root, keys[k], lists[k], &ok);
	}
	for (size_t i = 0; ok && root && i < snap->n; i++) {
		json_object *o = entry(&snap->e[i], &ok);
		if (o && json_object_array_add(lists[snap->e[i].kind], o) != 0) {
			json_object_put(o);
			ok = false;
		}
	}
	char *text = NULL;
	if (ok && root) {
		const char *s = json_object_to_json_string_ext(
		    root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
		size_t len = s ? strlen(s) : 0;
		text = s ? malloc(len + 2) : NULL;
		if (text) {
			memcpy(text, s, len);
			memcpy(text + len, "\n", 2);
		}
	}
	json_object_put(root);
	return text;
}

char *ctl_stats_json(void)
{
	struct uscst_stats_snapshot snap;
	if (uscst_stats_snapshot_take(&snap) < 0)
		return NULL;
	char *text = ctl_stats_format_json(&snap);
	uscst_stats_snapshot_free(&snap);
	return text;
}
