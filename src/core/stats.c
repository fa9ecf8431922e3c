/*
 * Per-thread counter blocks (the design is in core/stats.h) and the count
 * of one command on its release.
 */
#include "core/stats.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

#define CACHE_LINE 64

/* Fixed before the first object is created (uscstd: from --threads). */
static unsigned private_slots = 8;
/* Slots handed out so far; a thread's own is remembered in my_slot (0:
 * none yet, else slot + 1). */
static atomic_uint slots_taken;
static _Thread_local unsigned my_slot;

void uscst_stats_set_threads(unsigned n) { private_slots = n ? n : 1; }

struct uscst_stats *uscst_stats_new(bool histogram)
{
	struct uscst_stats *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->ncounters = histogram ? USCST_STAT_ALL : USCST_STAT_NO_HIST;
	st->nslots = private_slots + 1; /* the last one is shared */
	st->stride = (st->ncounters * sizeof(uint64_t) + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
	st->blocks = aligned_alloc(CACHE_LINE, st->stride * st->nslots);
	if (!st->blocks) {
		free(st);
		return NULL;
	}
	memset((void *)st->blocks, 0, st->stride * st->nslots);
	return st;
}

void uscst_stats_free(struct uscst_stats *st)
{
	if (!st)
		return;
	free((void *)st->blocks);
	free(st);
}

static _Atomic uint64_t *block(const struct uscst_stats *st, unsigned slot)
{
	return (_Atomic uint64_t *)((char *)st->blocks + st->stride * slot);
}

/* The calling thread's slot; private_slots: the shared one. */
static unsigned thread_slot(void)
{
	if (!my_slot) {
		unsigned s = atomic_fetch_add_explicit(&slots_taken, 1, memory_order_relaxed);
		my_slot = (s < private_slots ? s : private_slots) + 1;
	}
	return my_slot - 1;
}

/* Where a thread with slot `slot` adds to st: its own block, or the shared
 * one (more counting threads than slots), which takes atomic adds. */
struct adder {
	_Atomic uint64_t *block;
	bool shared;
};

static struct adder adder_for(struct uscst_stats *st, unsigned slot)
{
	bool shared = slot >= st->nslots - 1;
	return (struct adder){block(st, shared ? st->nslots - 1 : slot), shared};
}

static void adder_add(struct adder a, enum uscst_stat c, uint64_t n)
{
	_Atomic uint64_t *v = &a.block[c];
	if (a.shared)
		atomic_fetch_add_explicit(v, n, memory_order_relaxed);
	else
		atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + n,
				      memory_order_relaxed);
}

void uscst_stats_add(struct uscst_stats *st, enum uscst_stat c, uint64_t n)
{
	adder_add(adder_for(st, thread_slot()), c, n);
}

void uscst_stats_read(const struct uscst_stats *st, struct uscst_stats_sum *out)
{
	memset(out, 0, sizeof(*out));
	if (!st)
		return;
	out->has_histogram = st->ncounters == USCST_STAT_ALL;
	for (unsigned s = 0; s < st->nslots; s++) {
		const _Atomic uint64_t *b = block(st, s);
		for (unsigned c = 0; c < st->ncounters; c++)
			out->v[c] += atomic_load_explicit(&b[c], memory_order_relaxed);
	}
}

unsigned uscst_stats_bucket(uint64_t ns)
{
	/* ns <= 1000 << i  <=>  ceil(ns / 1000) <= 1 << i, the bound being a
	 * multiple of 1000: i = ceil(log2(ceil(ns / 1000))). */
	uint64_t us = ns / 1000 + (ns % 1000 != 0);
	if (us <= 1)
		return 0;
	unsigned i = 64 - (unsigned)__builtin_clzll(us - 1);
	return i < USCST_LAT_FINITE ? i : USCST_LAT_FINITE;
}

static const char *const error_names[USCST_ERR_KINDS] = {
    "no_sense",	      "recovered_error", "not_ready",	   "medium_error",
    "hardware_error", "illegal_request", "unit_attention", "data_protect",
    "blank_check",    "vendor_specific", "copy_aborted",   "aborted_command",
    "obsolete_0c",    "volume_overflow", "miscompare",	   "completed",
    "none",
};

const char *uscst_stats_error_name(unsigned kind)
{
	return kind < USCST_ERR_KINDS ? error_names[kind] : "none";
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void core_stats_cmd_start(struct uscst_cmd *cmd) { cmd->start_ns = now_ns(); }

/* What one command adds; counters left 0 are not touched. */
struct cmd_count {
	uint64_t reads, writes, read_bytes, write_bytes, aborts;
	int error; /* USCST_STAT_ERRORS + kind, or -1 */
};

/* The sense key of fixed (70h/71h) or descriptor (72h/73h) sense data. */
static int sense_key(const struct uscst_cmd *cmd)
{
	if (cmd->sense_len < 3)
		return USCST_ERR_NO_SENSE;
	uint8_t code = cmd->sense[0] & 0x7f;
	if (code == 0x72 || code == 0x73)
		return cmd->sense[1] & 0x0f;
	if (code == 0x70 || code == 0x71)
		return cmd->sense[2] & 0x0f;
	return USCST_ERR_NO_SENSE;
}

static void classify(const struct uscst_cmd *cmd, struct cmd_count *k)
{
	memset(k, 0, sizeof(*k));
	k->error = -1;
	k->reads = cmd->exp_read;
	k->writes = cmd->exp_write;
	if (cmd->aborted) {
		/* No status went out, and whatever data moved is void. */
		k->aborts = 1;
		return;
	}
	/* What the transport sends (include/uscst/transport.h): in_len
	 * clipped to exp_len, none with a CHECK CONDITION unless the data
	 * goes with it. */
	if (cmd->exp_read && (cmd->status != SAM_STAT_CHECK_CONDITION || cmd->in_with_sense))
		k->read_bytes = cmd->in_len < cmd->exp_len ? cmd->in_len : cmd->exp_len;
	k->write_bytes = cmd->out_buf_len;
	if (cmd->status == SAM_STAT_CHECK_CONDITION)
		k->error = USCST_STAT_ERRORS + sense_key(cmd);
	else if (cmd->status != SAM_STAT_GOOD && cmd->status != SAM_STAT_CONDITION_MET)
		k->error = USCST_STAT_ERRORS + USCST_ERR_NO_SENSE;
}

/* The thread's slot is looked up once per command, each object's block
 * once per object. */
static struct adder count(struct uscst_stats *st, unsigned slot, const struct cmd_count *k)
{
	struct adder a = adder_for(st, slot);
	adder_add(a, USCST_STAT_COMMANDS, 1);
	if (k->reads)
		adder_add(a, USCST_STAT_READS, 1);
	if (k->writes)
		adder_add(a, USCST_STAT_WRITES, 1);
	if (k->read_bytes)
		adder_add(a, USCST_STAT_READ_BYTES, k->read_bytes);
	if (k->write_bytes)
		adder_add(a, USCST_STAT_WRITE_BYTES, k->write_bytes);
	if (k->aborts)
		adder_add(a, USCST_STAT_ABORTS, 1);
	if (k->error >= 0)
		adder_add(a, (enum uscst_stat)k->error, 1);
	return a;
}

void core_stats_cmd_released(struct uscst_cmd *cmd)
{
	struct cmd_count k;
	classify(cmd, &k);
	unsigned slot = thread_slot();
	struct uscst_session *s = cmd->sess;
	if (s->stats)
		count(s->stats, slot, &k);
	if (s->tgt->stats)
		count(s->tgt->stats, slot, &k);
	if (cmd->dev && cmd->dev->stats)
		count(cmd->dev->stats, slot, &k);
	if (cmd->lun_stats) {
		struct adder a = count(cmd->lun_stats, slot, &k);
		uint64_t ns = now_ns() - cmd->start_ns;
		adder_add(a, USCST_STAT_LATENCY_NS, ns);
		adder_add(a, (enum uscst_stat)(USCST_STAT_BUCKET0 + uscst_stats_bucket(ns)), 1);
	}
}
