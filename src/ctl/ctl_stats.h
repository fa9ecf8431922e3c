/* `stats` on the control socket: the I/O counters of a statistics
 * snapshot (core/stats_snapshot.h) as tables for people, or as JSON. */
#ifndef USCST_CTL_CTL_STATS_H
#define USCST_CTL_CTL_STATS_H

#include "core/stats_snapshot.h"

/* The tables of snap, malloc'd; NULL on ENOMEM. */
char *ctl_stats_format_text(const struct uscst_stats_snapshot *snap);
/* A snapshot taken now, as text; NULL on ENOMEM. */
char *ctl_stats_text(void);
/* The same as JSON (ctl_stats_json.c, field names there); NULL on ENOMEM. */
char *ctl_stats_format_json(const struct uscst_stats_snapshot *snap);
char *ctl_stats_json(void);

#endif
