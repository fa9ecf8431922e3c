/*
 * A snapshot of every object's I/O counters (core/stats.h), summed over
 * the threads: what `uscstadmin stats` and the Prometheus /metrics page
 * print.  Taken on a control thread; the data path never waits for it.
 */
#ifndef USCST_CORE_STATS_SNAPSHOT_H
#define USCST_CORE_STATS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <uscst/transport.h>

#include "core/stats.h"

enum uscst_stats_kind {
	USCST_STATS_DEVICE,  /* device: every LUN that maps it, for as long as it exists */
	USCST_STATS_TARGET,  /* target: every session of it, past ones too */
	USCST_STATS_LUN,     /* target, group, lun, device; with the latency histogram */
	USCST_STATS_SESSION, /* target, initiator, session id: all its connections',
				gone with the session */
};

struct uscst_stats_entry {
	enum uscst_stats_kind kind;
	char target[USCST_NAME_MAX];	/* TARGET, LUN, SESSION */
	char group[64];			/* LUN: its initiator group, "" for the default map */
	char device[64];		/* DEVICE, LUN */
	char initiator[USCST_NAME_MAX]; /* SESSION: initiator name */
	char port[USCST_NAME_MAX + 32]; /* SESSION: initiator port ("iqn...,i,0x<isid>") */
	uint64_t lun;			/* LUN */
	uint64_t session_id;		/* SESSION */
	struct uscst_stats_sum sum;
};

/* Entries grouped by kind, in the order of the enum; within a kind in
 * configuration (or login) order. */
struct uscst_stats_snapshot {
	struct uscst_stats_entry *e;
	size_t n, cap;
};

/* 0, or -ENOMEM (snap is then empty). */
int uscst_stats_snapshot_take(struct uscst_stats_snapshot *snap);
void uscst_stats_snapshot_free(struct uscst_stats_snapshot *snap);

#endif
