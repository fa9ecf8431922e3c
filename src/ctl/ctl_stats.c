/*
 * `stats`: the verb, and its text: one table per kind of object (devices, targets, LUNs, sessions),
 * columns sized to their widest cell.  Errors are shown as a total and by
 * sense key; a LUN also shows its mean latency and the bucket its 99th
 * percentile falls in (the histogram's upper bound: "<= 64us").
 */
#include "ctl/ctl_stats.h"

#include <json-c/json.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_verbs.h"

#define MAX_COLS 14
#define CELL 256

struct table {
	unsigned ncols, nrows;
	unsigned nnames;	       /* the leading columns name the object: left-aligned */
	char (*cells)[MAX_COLS][CELL]; /* row 0: the header */
	size_t width[MAX_COLS];
};

static bool table_row(struct table *t)
{
	void *p = realloc(t->cells, (t->nrows + 1) * sizeof(*t->cells));
	if (!p)
		return false;
	t->cells = p;
	memset(t->cells[t->nrows], 0, sizeof(*t->cells));
	t->nrows++;
	return true;
}

static void cell(struct table *t, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cell(struct table *t, unsigned col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->cells[t->nrows - 1][col], CELL, fmt, ap);
	va_end(ap);
}

static void print_table(FILE *f, struct table *t)
{
	memset(t->width, 0, sizeof(t->width));
	for (unsigned r = 0; r < t->nrows; r++)
		for (unsigned c = 0; c < t->ncols; c++) {
			size_t w = strlen(t->cells[r][c]);
			if (w > t->width[c])
				t->width[c] = w;
		}
	for (unsigned r = 0; r < t->nrows; r++) {
		for (unsigned c = 0; c < t->ncols; c++) {
			bool name = c < t->nnames;
			int w = (int)t->width[c];
			if (c + 1 == t->ncols)
				fprintf(f, "%s", t->cells[r][c]);
			else if (name)
				fprintf(f, "%-*s  ", w, t->cells[r][c]);
			else
				fprintf(f, "%*s  ", w, t->cells[r][c]);
		}
		fputc('\n', f);
	}
}

/* "unit_attention=1 illegal_request=2", or "-". */
static void errors_by_key(const struct uscst_stats_sum *s, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned k = 0; k < USCST_ERR_KINDS; k++) {
		uint64_t v = s->v[USCST_STAT_ERRORS + k];
		if (v && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s=%" PRIu64, n ? " " : "",
					      uscst_stats_error_name(k), v);
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

static uint64_t errors_total(const struct uscst_stats_sum *s)
{
	uint64_t t = 0;
	for (unsigned k = 0; k < USCST_ERR_KINDS; k++)
		t += s->v[USCST_STAT_ERRORS + k];
	return t;
}

/* "12us", "3.4ms", "1.2s" */
static void duration(char *buf, size_t len, uint64_t ns)
{
	if (ns < 10000)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "us", ns / 1000, ns % 1000 / 100);
	else if (ns < 10000000)
		snprintf(buf, len, "%" PRIu64 "us", ns / 1000);
	else if (ns < 10000000000ull)
		snprintf(buf, len, "%" PRIu64 "ms", ns / 1000000);
	else
		snprintf(buf, len, "%" PRIu64 "s", ns / 1000000000);
}

/* The upper bound of the bucket the 99th percentile falls in. */
static void p99(const struct uscst_stats_sum *s, char *buf, size_t len)
{
	uint64_t n = s->v[USCST_STAT_COMMANDS], want = n - n / 100, seen = 0;
	if (!n) {
		snprintf(buf, len, "-");
		return;
	}
	for (unsigned b = 0; b < USCST_LAT_FINITE; b++) {
		seen += s->v[USCST_STAT_BUCKET0 + b];
		if (seen >= want) {
			char d[24];
			duration(d, sizeof(d), uscst_stats_bucket_bound_ns(b));
			snprintf(buf, len, "<=%s", d);
			return;
		}
	}
	snprintf(buf, len, ">16s");
}

static const char *const counter_heads[] = {"COMMANDS",	   "READS",  "WRITES", "READ_BYTES",
					    "WRITE_BYTES", "ABORTS", "ERRORS"};
static const enum uscst_stat counter_stats[] = {USCST_STAT_COMMANDS,	USCST_STAT_READS,
						USCST_STAT_WRITES,	USCST_STAT_READ_BYTES,
						USCST_STAT_WRITE_BYTES, USCST_STAT_ABORTS};
#define NCOUNTERS 7 /* the six above and the error total */

static void counter_cells(struct table *t, unsigned col, const struct uscst_stats_sum *s)
{
	for (unsigned i = 0; i < NCOUNTERS - 1; i++)
		cell(t, col + i, "%" PRIu64, s->v[counter_stats[i]]);
	cell(t, col + NCOUNTERS - 1, "%" PRIu64, errors_total(s));
}

static bool kind_table(FILE *f, const struct uscst_stats_snapshot *snap, enum uscst_stats_kind kind)
{
	static const char *const names[][4] = {
	    [USCST_STATS_DEVICE] = {"DEVICE"},
	    [USCST_STATS_TARGET] = {"TARGET"},
	    [USCST_STATS_LUN] = {"TARGET", "GROUP", "LUN", "DEVICE"},
	    [USCST_STATS_SESSION] = {"SESSION", "TARGET", "INITIATOR_PORT"},
	};
	static const char *const titles[] = {
	    [USCST_STATS_DEVICE] = "devices",
	    [USCST_STATS_TARGET] = "targets",
	    [USCST_STATS_LUN] = "LUNs",
	    [USCST_STATS_SESSION] = "sessions",
	};
	unsigned nnames = 0;
	while (nnames < 4 && names[kind][nnames])
		nnames++;
	bool lun = kind == USCST_STATS_LUN;
	struct table t = {.ncols = nnames + NCOUNTERS + (lun ? 2 : 0) + 1, .nnames = nnames};
	if (!table_row(&t))
		return false;
	unsigned c = 0;
	for (; c < nnames; c++)
		cell(&t, c, "%s", names[kind][c]);
	for (unsigned i = 0; i < NCOUNTERS; i++)
		cell(&t, c++, "%s", counter_heads[i]);
	if (lun) {
		cell(&t, c++, "LATENCY_AVG");
		cell(&t, c++, "LAT_P99");
	}
	cell(&t, c, "ERRORS_BY_SENSE_KEY");
	unsigned rows = 0;
	for (size_t i = 0; i < snap->n; i++) {
		const struct uscst_stats_entry *e = &snap->e[i];
		if (e->kind != kind)
			continue;
		if (!table_row(&t)) {
			free(t.cells);
			return false;
		}
		rows++;
		c = 0;
		switch (kind) {
		case USCST_STATS_DEVICE:
			cell(&t, c++, "%s", e->device);
			break;
		case USCST_STATS_TARGET:
			cell(&t, c++, "%s", e->target);
			break;
		case USCST_STATS_LUN:
			cell(&t, c++, "%s", e->target);
			cell(&t, c++, "%s", e->group[0] ? e->group : "-");
			cell(&t, c++, "%" PRIu64, e->lun);
			cell(&t, c++, "%s", e->device);
			break;
		case USCST_STATS_SESSION:
			cell(&t, c++, "%" PRIu64, e->session_id);
			cell(&t, c++, "%s", e->target);
			cell(&t, c++, "%s", e->port);
			break;
		}
		counter_cells(&t, c, &e->sum);
		c += NCOUNTERS;
		if (lun) {
			uint64_t n = e->sum.v[USCST_STAT_COMMANDS];
			char d[32];
			if (n)
				duration(d, sizeof(d), e->sum.v[USCST_STAT_LATENCY_NS] / n);
			else
				snprintf(d, sizeof(d), "-");
			cell(&t, c++, "%s", d);
			p99(&e->sum, d, sizeof(d));
			cell(&t, c++, "%s", d);
		}
		char errs[CELL];
		errors_by_key(&e->sum, errs, sizeof(errs));
		cell(&t, c, "%s", errs);
	}
	fprintf(f, "%s:\n", titles[kind]);
	if (rows)
		print_table(f, &t);
	else
		fputs("  (none)\n", f);
	free(t.cells);
	return true;
}

char *ctl_stats_format_text(const struct uscst_stats_snapshot *snap)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	bool ok = true;
	static const enum uscst_stats_kind order[] = {USCST_STATS_DEVICE, USCST_STATS_TARGET,
						      USCST_STATS_LUN, USCST_STATS_SESSION};
	for (unsigned k = 0; ok && k < 4; k++) {
		if (k)
			fputc('\n', f);
		ok = kind_table(f, snap, order[k]);
	}
	if (fclose(f) != 0 || !ok) {
		free(text);
		return NULL;
	}
	return text;
}

/* Tables for people (a string result: uscstadmin prints it as it is), or
 * with --json (or uscstadmin -j) the same numbers as data. */
static struct json_object *do_stats(struct ctl_call *c)
{
	struct uscst_stats_snapshot snap;
	if (uscst_stats_snapshot_take(&snap) < 0)
		return ctl_fail(c, "out of memory taking the statistics");
	struct json_object *r = NULL;
	if (c->json || ctl_flag(c, "--json")) {
		r = ctl_stats_json(&snap, &c->failed);
	} else {
		char *text = ctl_stats_format_text(&snap);
		r = text ? json_object_new_string(text) : NULL;
		free(text);
		if (!r)
			c->failed = true;
	}
	uscst_stats_snapshot_free(&snap);
	return r;
}

const struct ctl_verb ctl_stats_verbs[] = {
    {"stats [--json]", do_stats,
     "I/O counters of every device, target, LUN and session: commands, reads, writes, "
     "bytes, aborts, errors by sense key, LUN latency (JSON with --json or -j)",
     CTL_READS_STATE},
    {NULL},
};
