/*
 * What bench/uscst-bench.c and bench/uscst-rawbench.c share: the clock,
 * the latency histogram, the random numbers, the target's CPU time, the
 * option parsers, the run's figures and its deadline.  Header-only: each program is one compile.
 */
#ifndef USCST_BENCH_UTIL_H
#define USCST_BENCH_UTIL_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Log-linear histogram: 16 linear sub-buckets per power of two of
 * nanoseconds, so every bucket is within 1/16 (6 %) of its values. */
#define HIST_SUB_BITS 4
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS (64 * HIST_SUB)

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline unsigned hist_index(uint64_t v)
{
	if (v < HIST_SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned sub = (unsigned)(v >> (msb - HIST_SUB_BITS)) & (HIST_SUB - 1);
	return (msb - HIST_SUB_BITS + 1) * HIST_SUB + sub;
}

/* Lower bound of a bucket: what a percentile reports. */
static inline uint64_t hist_value(unsigned idx)
{
	if (idx < HIST_SUB)
		return idx;
	unsigned msb = idx / HIST_SUB + HIST_SUB_BITS - 1;
	uint64_t sub = idx % HIST_SUB;
	return (1ull << msb) | (sub << (msb - HIST_SUB_BITS));
}

static inline uint64_t hist_percentile(const uint64_t *hist, uint64_t total, double pct)
{
	if (total == 0)
		return 0;
	uint64_t want = (uint64_t)((double)total * pct / 100.0);
	if (want >= total)
		want = total - 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += hist[i];
		if (seen > want)
			return hist_value(i);
	}
	return hist_value(HIST_BUCKETS - 1);
}

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* utime + stime of every thread of PID, living or gone (/proc/PID/stat
 * fields 14 and 15), in clock ticks; -1 if it cannot be read. */
static inline long long process_cpu_ticks(int pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	/* The command name (field 2) may hold spaces and ')': fields are
	 * counted from the last ')'. */
	char *p = strrchr(line, ')');
	if (!p)
		return -1;
	unsigned long long utime, stime;
	/* After ')': field 3 (state) up to field 13 skipped, then 14 and 15. */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
		   &stime) != 2)
		return -1;
	return (long long)(utime + stime);
}

/* Parses a positive size with an optional K/M/G suffix; false if invalid. */
static inline bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return false;
	uint64_t mult = 1;
	if (*end == 'k' || *end == 'K')
		mult = 1024;
	else if (*end == 'm' || *end == 'M')
		mult = 1024 * 1024;
	else if (*end == 'g' || *end == 'G')
		mult = 1024ull * 1024 * 1024;
	if (mult != 1)
		end++;
	if (*end != '\0' || v == 0 || v > UINT64_MAX / mult)
		return false;
	*out = v * mult;
	return true;
}

static inline bool parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

/* The figures of a run, as both clients print them. */
struct bench_figures {
	uint64_t done;
	double secs, iops, mbps, p50, p99, p999;
	double cpu_s, cpu_us_per_cmd, busy; /* 0 without --cpu-pid */
};

static inline struct bench_figures bench_figures_of(const uint64_t *hist, uint64_t done,
						    uint64_t bytes, uint64_t elapsed_ns,
						    int cpu_pid, long long cpu_start,
						    long long cpu_end)
{
	struct bench_figures f = {.done = done, .secs = (double)elapsed_ns / 1e9};
	f.iops = f.secs > 0 ? (double)done / f.secs : 0;
	f.mbps = f.secs > 0 ? (double)bytes / f.secs / 1e6 : 0;
	f.p50 = (double)hist_percentile(hist, done, 50.0) / 1000.0;
	f.p99 = (double)hist_percentile(hist, done, 99.0) / 1000.0;
	f.p999 = (double)hist_percentile(hist, done, 99.9) / 1000.0;
	f.cpu_s = cpu_pid ? (double)(cpu_end - cpu_start) / (double)sysconf(_SC_CLK_TCK) : 0;
	f.cpu_us_per_cmd = done ? f.cpu_s * 1e6 / (double)done : 0;
	f.busy = f.secs > 0 ? f.cpu_s / f.secs : 0;
	return f;
}

/* --json: the fields both clients print, up to "errors"; the caller may
 * add its own before bench_json_end. */
static inline void bench_json_begin(const struct bench_figures *f, uint64_t reads, uint64_t writes,
				    uint64_t errors)
{
	printf("{\"seconds\":%.3f,\"iops\":%.0f,\"mb_per_s\":%.2f,\"lat_us_p50\":%.1f,"
	       "\"lat_us_p99\":%.1f,\"lat_us_p999\":%.1f,\"reads\":%" PRIu64 ",\"writes\":%" PRIu64
	       ",\"commands\":%" PRIu64 ",\"errors\":%" PRIu64,
	       f->secs, f->iops, f->mbps, f->p50, f->p99, f->p999, reads, writes, f->done, errors);
}

static inline void bench_json_end(const struct bench_figures *f, int cpu_pid)
{
	if (cpu_pid)
		printf(",\"target_cpu_s\":%.3f,\"target_cpu_us_per_cmd\":%.3f"
		       ",\"target_busy\":%.4f",
		       f->cpu_s, f->cpu_us_per_cmd, f->busy);
	printf("}\n");
}

/* SIGALRM: the login is synchronous; if a dead target stalls the run past
 * every deadline, this ends it with an error rather than a hang (only
 * async-signal-safe calls). */
static inline void bench_on_alarm(int sig)
{
	static const char msg[] = ": run deadline passed, target not answering\n";
	(void)sig;
	ssize_t ignored =
	    write(2, program_invocation_short_name, strlen(program_invocation_short_name));
	ignored = write(2, msg, sizeof(msg) - 1);
	(void)ignored;
	_exit(1);
}

#endif
