/*
 * The Prometheus text exposition format (version 0.0.4) of a statistics
 * snapshot: what GET /metrics answers.
 */
#ifndef USCST_METRICS_PROM_FORMAT_H
#define USCST_METRICS_PROM_FORMAT_H

#include <stdio.h>

#include "core/stats_snapshot.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The whole page, NUL-ended (malloc'd), or NULL on ENOMEM. */
char *prom_format(const struct uscst_stats_snapshot *snap);
/* Writes s as a label value: \ " and newline escaped as \\ \" \n. */
void prom_escape_label(FILE *f, const char *s);

#endif
