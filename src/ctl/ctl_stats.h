/* `stats` on the control socket (its verb in ctl_stats.c): the I/O
 * counters of a statistics snapshot (core/stats_snapshot.h) as tables for
 * people, or as JSON. */
#ifndef USCST_CTL_CTL_STATS_H
#define USCST_CTL_CTL_STATS_H

#include "core/stats_snapshot.h"

#include <stdbool.h>

struct json_object;

/* The tables of snap, malloc'd; NULL on ENOMEM. */
char *ctl_stats_format_text(const struct uscst_stats_snapshot *snap);
/* snap as JSON (ctl_stats_json.c, whose comment lists the field names);
 * an allocation failure sets *failed (lib/json_put.h). */
struct json_object *ctl_stats_json(const struct uscst_stats_snapshot *snap, bool *failed);

#endif
