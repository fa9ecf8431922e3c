/* `stats` on the control socket: the I/O counters of a statistics
 * snapshot (core/stats_snapshot.h) as tables for people. */
#ifndef USCST_CTL_CTL_STATS_H
#define USCST_CTL_CTL_STATS_H

#include "core/stats_snapshot.h"

/* The tables of snap, malloc'd; NULL on ENOMEM. */
char *ctl_stats_format_text(const struct uscst_stats_snapshot *snap);
/* A snapshot taken now, as text; NULL on ENOMEM. */
char *ctl_stats_text(void);

#endif
