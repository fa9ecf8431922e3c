/*
 * Prometheus text format (0.0.4).  Every metric family is written once,
 * with its HELP and TYPE lines, then its samples from every object of its
 * kind: the per-LUN families carry the conventional names
 * (uscst_commands_total ...), the coarser objects the same counters under
 * uscst_device_, uscst_target_ and uscst_session_, so that a sum over one
 * family never counts a command twice.
 */
#include "metrics/prom_format.h"

#include <inttypes.h>
#include <stdlib.h>

void prom_escape_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* The counters each kind of object has, as families. */
struct counter_family {
	enum uscst_stat stat;
	const char *name; /* after the kind's prefix */
	const char *help;
};

static const struct counter_family counters[] = {
    {USCST_STAT_COMMANDS, "commands_total", "SCSI commands completed"},
    {USCST_STAT_READS, "reads_total", "commands with Data-In (read direction)"},
    {USCST_STAT_WRITES, "writes_total", "commands with Data-Out (write direction)"},
    {USCST_STAT_READ_BYTES, "read_bytes_total", "bytes of Data-In sent to initiators"},
    {USCST_STAT_WRITE_BYTES, "write_bytes_total", "bytes of Data-Out received from initiators"},
    {USCST_STAT_ABORTS, "aborts_total", "commands aborted (task management, nexus loss)"},
};

struct kind_desc {
	enum uscst_stats_kind kind;
	const char *prefix; /* "uscst_" + this */
	const char *what;   /* for HELP */
};

static const struct kind_desc kinds[] = {
    {USCST_STATS_LUN, "", "per LUN"},
    {USCST_STATS_DEVICE, "device_", "per device"},
    {USCST_STATS_TARGET, "target_", "per target"},
    {USCST_STATS_SESSION, "session_", "per session (its one connection)"},
};

static void write_labels(FILE *f, const struct uscst_stats_entry *e, const char *extra_name,
			 const char *extra_value)
{
	const char *sep = "";
	fputc('{', f);
#define LABEL(name, value)                                                                         \
	do {                                                                                       \
		fprintf(f, "%s" name "=\"", sep);                                                  \
		prom_escape_label(f, value);                                                       \
		fputc('"', f);                                                                     \
		sep = ",";                                                                         \
	} while (0)
	switch (e->kind) {
	case USCST_STATS_LUN: {
		char lun[24];
		snprintf(lun, sizeof(lun), "%" PRIu64, e->lun);
		LABEL("target", e->target);
		LABEL("group", e->group);
		LABEL("lun", lun);
		LABEL("device", e->device);
		break;
	}
	case USCST_STATS_DEVICE:
		LABEL("device", e->device);
		break;
	case USCST_STATS_TARGET:
		LABEL("target", e->target);
		break;
	case USCST_STATS_SESSION: {
		char id[24];
		snprintf(id, sizeof(id), "%" PRIu64, e->session_id);
		LABEL("target", e->target);
		LABEL("initiator", e->initiator);
		LABEL("session", id);
		break;
	}
	}
	if (extra_name)
		fprintf(f, "%s%s=\"%s\"", sep, extra_name, extra_value);
#undef LABEL
	fputc('}', f);
}

static void header(FILE *f, const char *prefix, const char *name, const char *help,
		   const char *what, const char *type)
{
	fprintf(f, "# HELP uscst_%s%s %s, %s.\n", prefix, name, help, what);
	fprintf(f, "# TYPE uscst_%s%s %s\n", prefix, name, type);
}

static void write_counters(FILE *f, const struct uscst_stats_snapshot *snap,
			   const struct kind_desc *k)
{
	for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		header(f, k->prefix, counters[c].name, counters[c].help, k->what, "counter");
		for (size_t i = 0; i < snap->n; i++) {
			const struct uscst_stats_entry *e = &snap->e[i];
			if (e->kind != k->kind)
				continue;
			fprintf(f, "uscst_%s%s", k->prefix, counters[c].name);
			write_labels(f, e, NULL, NULL);
			fprintf(f, " %" PRIu64 "\n", e->sum.v[counters[c].stat]);
		}
	}
	/* Errors: one series per error kind that happened. */
	header(f, k->prefix, "command_errors_total",
	       "commands that failed, by sense key (none: a failing status without sense)", k->what,
	       "counter");
	for (size_t i = 0; i < snap->n; i++) {
		const struct uscst_stats_entry *e = &snap->e[i];
		if (e->kind != k->kind)
			continue;
		for (unsigned kind = 0; kind < USCST_ERR_KINDS; kind++) {
			uint64_t v = e->sum.v[USCST_STAT_ERRORS + kind];
			if (!v)
				continue;
			fprintf(f, "uscst_%scommand_errors_total", k->prefix);
			write_labels(f, e, "sense_key", uscst_stats_error_name(kind));
			fprintf(f, " %" PRIu64 "\n", v);
		}
	}
}

/* Seconds as exact decimal text: us microseconds. */
static void write_seconds_us(char *buf, size_t len, uint64_t us)
{
	uint64_t frac = us % 1000000;
	if (!frac) {
		snprintf(buf, len, "%" PRIu64, us / 1000000);
		return;
	}
	int digits = 6;
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, len, "%" PRIu64 ".%0*" PRIu64, us / 1000000, digits, frac);
}

static void write_histograms(FILE *f, const struct uscst_stats_snapshot *snap)
{
	header(f, "", "command_duration_seconds",
	       "time from a command's arrival to its response being handed to the transport",
	       "per LUN", "histogram");
	for (size_t i = 0; i < snap->n; i++) {
		const struct uscst_stats_entry *e = &snap->e[i];
		if (e->kind != USCST_STATS_LUN || !e->sum.has_histogram)
			continue;
		uint64_t cumulative = 0;
		char le[32];
		for (unsigned b = 0; b < USCST_LAT_BUCKETS; b++) {
			cumulative += e->sum.v[USCST_STAT_BUCKET0 + b];
			if (b < USCST_LAT_FINITE)
				write_seconds_us(le, sizeof(le),
						 uscst_stats_bucket_bound_ns(b) / 1000);
			else
				snprintf(le, sizeof(le), "+Inf");
			fputs("uscst_command_duration_seconds_bucket", f);
			write_labels(f, e, "le", le);
			fprintf(f, " %" PRIu64 "\n", cumulative);
		}
		uint64_t ns = e->sum.v[USCST_STAT_LATENCY_NS];
		fputs("uscst_command_duration_seconds_sum", f);
		write_labels(f, e, NULL, NULL);
		fprintf(f, " %" PRIu64 ".%09" PRIu64 "\n", ns / 1000000000u, ns % 1000000000u);
		fputs("uscst_command_duration_seconds_count", f);
		write_labels(f, e, NULL, NULL);
		fprintf(f, " %" PRIu64 "\n", cumulative);
	}
}

char *prom_format(const struct uscst_stats_snapshot *snap)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		write_counters(f, snap, &kinds[k]);
	write_histograms(f, snap);
	if (ferror(f)) {
		fclose(f);
		free(text);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
