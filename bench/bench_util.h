/*
 * What bench/uscst-bench.c and bench/uscst-rawbench.c share: the clock,
 * the latency histogram, the random numbers, the target's CPU time and
 * the option parsers.  Header-only: each program is one compile.
 */
#ifndef USCST_BENCH_UTIL_H
#define USCST_BENCH_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

#endif
