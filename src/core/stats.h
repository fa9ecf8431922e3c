/*
 * I/O statistics of devices, LUNs, targets and sessions (core/stats.c).
 *
 * Counting happens once per command, when the transport releases it (its
 * status, sense and data are final then), on the thread that completes it:
 * a session's reactor.  It must cost the data path next to nothing, so no
 * counter is shared between threads: every object has one block of
 * counters per "slot", each thread that counts takes a slot of its own the
 * first time it counts, and a reader sums the slots.  A slot's counters
 * have one writer, which stores load+n (relaxed atomics: a plain load and
 * store on the usual CPUs, no locked instruction); a reader may see one
 * counter of a command before another of the same command, which is the
 * "consistent enough" a scrape needs.  Threads beyond the slots share the
 * last one with atomic read-modify-writes.
 *
 * A LUN's block also holds its latency histogram: log2 buckets whose
 * upper bounds are 1 us, 2 us, 4 us ... 2^24 us (16.8 s, the first bound
 * past 10 s), then +Inf.  The latency of a command runs from its decode
 * (the transport has received its CDB) to its release (its response is
 * handed to the transport's sending side).
 */
#ifndef USCST_CORE_STATS_H
#define USCST_CORE_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uscst_cmd;

/* Finite histogram bounds: 1000 << i ns for i in 0..USCST_LAT_FINITE-1. */
#define USCST_LAT_FINITE 25
#define USCST_LAT_BUCKETS (USCST_LAT_FINITE + 1) /* the last one: +Inf */
/* Errors by sense key (0..15), and one for a failing status that carries no
 * sense data (BUSY, RESERVATION CONFLICT, TASK SET FULL ...). */
#define USCST_ERR_NO_SENSE 16
#define USCST_ERR_KINDS 17

/* What each slot counts; the index of a counter in a block. */
enum uscst_stat {
	USCST_STAT_COMMANDS,	/* commands released (every one decoded) */
	USCST_STAT_READS,	/* commands with Data-In (SCST's data direction) */
	USCST_STAT_WRITES,	/* commands with Data-Out */
	USCST_STAT_READ_BYTES,	/* Data-In sent to the initiator */
	USCST_STAT_WRITE_BYTES, /* Data-Out received from it */
	USCST_STAT_ABORTS,	/* commands aborted by task management or nexus loss */
	USCST_STAT_LATENCY_NS,	/* sum of the latencies (LUNs only) */
	USCST_STAT_ERRORS,	/* + USCST_ERR_KINDS counters */
	USCST_STAT_BUCKET0 = USCST_STAT_ERRORS + USCST_ERR_KINDS, /* + USCST_LAT_BUCKETS */
	USCST_STAT_NO_HIST = USCST_STAT_BUCKET0, /* counters of a block without histogram */
	USCST_STAT_ALL = USCST_STAT_BUCKET0 + USCST_LAT_BUCKETS,
};

/* One object's counters: nslots blocks of `stride` bytes, each on cache
 * lines of its own. */
struct uscst_stats {
	unsigned ncounters; /* USCST_STAT_ALL with a histogram, else USCST_STAT_NO_HIST */
	unsigned nslots;
	size_t stride;
	_Atomic uint64_t *blocks;
};

/* A sum over the slots; counters past ncounters are 0. */
struct uscst_stats_sum {
	bool has_histogram;
	uint64_t v[USCST_STAT_ALL];
};

/* Threads that count with slots of their own (uscstd: its reactors, plus
 * one); the rest share one more slot.  Call before any object is created;
 * default 8. */
void uscst_stats_set_threads(unsigned n);

/* A zeroed block set; NULL on ENOMEM (the object then is not counted). */
struct uscst_stats *uscst_stats_new(bool histogram);
void uscst_stats_free(struct uscst_stats *st);
/* Adds n to counter c of the calling thread's slot (c < st->ncounters). */
void uscst_stats_add(struct uscst_stats *st, enum uscst_stat c, uint64_t n);
/* Sums the slots of st (NULL: all zero) into *out. */
void uscst_stats_read(const struct uscst_stats *st, struct uscst_stats_sum *out);

/* The histogram bucket of a latency: the smallest i with
 * ns <= 1000 << i, or USCST_LAT_FINITE (+Inf) past the last bound. */
unsigned uscst_stats_bucket(uint64_t ns);
/* The upper bound of finite bucket i, in nanoseconds. */
static inline uint64_t uscst_stats_bucket_bound_ns(unsigned i) { return 1000ull << i; }

/* The name of an error kind (0..USCST_ERR_KINDS-1): its sense key's
 * ("unit_attention"), or "none" for a failing status without sense. */
const char *uscst_stats_error_name(unsigned kind);

/* The data path: notes when a command starts (decode) ... */
void core_stats_cmd_start(struct uscst_cmd *cmd);
/* ... and counts it, once, on its release. */
void core_stats_cmd_released(struct uscst_cmd *cmd);

#endif
