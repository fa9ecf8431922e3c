/*
 * LUN maps: the LUNs one initiator sees through one target (the target's
 * default map, or an initiator group's).  A sorted array that grows by
 * doubling, so a map of 16384 LUNs costs what it holds and a lookup on the
 * data path is a binary search.
 *
 * Once published (a group's or target's map, a session's) a map never
 * changes: a run-time change builds a new one with lun_map_copy and
 * publishes it (core/live_map.c).  A map is freed, and drops its device
 * references, when its last reference goes: its owner's, and each
 * session's (see live_map.c for how commands keep theirs).
 *
 * Each entry's counters (uscst_lun.stats) outlive map changes: every map
 * that holds the entry holds a reference on them (stats_refs), so they are
 * freed with the last map that has the LUN, hence after the last command
 * decoded with any of those maps is released (a command keeps the
 * pointer, cmd->lun_stats, from decode to release).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/stats.h"

/* Drops this map's reference on the entry's counters. */
static void stats_put(struct uscst_lun *l)
{
	if (l->stats_refs && atomic_fetch_sub(l->stats_refs, 1) == 1) {
		uscst_stats_free(l->stats);
		free(l->stats_refs);
	}
}

struct uscst_lun_map *lun_map_new(void)
{
	struct uscst_lun_map *map = calloc(1, sizeof(struct uscst_lun_map));
	if (map)
		atomic_init(&map->refs, 1);
	return map;
}

void lun_map_get(const struct uscst_lun_map *map)
{
	atomic_fetch_add(&((struct uscst_lun_map *)map)->refs, 1);
}

void lun_map_put(const struct uscst_lun_map *cmap)
{
	struct uscst_lun_map *map = (struct uscst_lun_map *)cmap;
	if (!map || atomic_fetch_sub(&map->refs, 1) != 1)
		return;
	for (unsigned i = 0; i < map->count; i++) {
		uscst_device_put(map->luns[i].dev);
		stats_put(&map->luns[i]);
	}
	free(map->luns);
	free(map);
}

void lun_map_free(struct uscst_lun_map *map) { lun_map_put(map); }

struct uscst_lun_map *lun_map_copy(const struct uscst_lun_map *from)
{
	struct uscst_lun_map *map = lun_map_new();
	if (!map)
		return NULL;
	if (from->count) {
		map->luns = malloc(from->count * sizeof(map->luns[0]));
		if (!map->luns) {
			free(map);
			return NULL;
		}
		memcpy(map->luns, from->luns, from->count * sizeof(map->luns[0]));
		map->count = map->cap = from->count;
	}
	for (unsigned i = 0; i < map->count; i++) {
		atomic_fetch_add(&map->luns[i].dev->refs, 1);
		if (map->luns[i].stats_refs)
			atomic_fetch_add(map->luns[i].stats_refs, 1);
	}
	return map;
}

bool lun_map_remove(struct uscst_lun_map *map, uint64_t lun)
{
	struct uscst_lun *l = lun_map_find(map, lun);
	if (!l)
		return false;
	struct uscst_lun gone = *l;
	unsigned pos = (unsigned)(l - map->luns);
	memmove(l, l + 1, (map->count - pos - 1) * sizeof(*l));
	map->count--;
	uscst_device_put(gone.dev);
	stats_put(&gone);
	return true;
}

/* Index of the first entry whose number is >= lun. */
static unsigned lower_bound(const struct uscst_lun_map *map, uint64_t lun)
{
	unsigned lo = 0, hi = map->count;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (map->luns[mid].lun < lun)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct uscst_lun *lun_map_find(const struct uscst_lun_map *map, uint64_t lun)
{
	unsigned pos = lower_bound(map, lun);
	if (pos < map->count && map->luns[pos].lun == lun)
		return &map->luns[pos];
	return NULL;
}

bool lun_map_add(struct uscst_lun_map *map, uint64_t lun, struct uscst_device *dev, bool read_only,
		 char *err, size_t errlen)
{
	if (lun > USCST_LUN_MAX) {
		snprintf(err, errlen, "LUN %llu: must be at most %d", (unsigned long long)lun,
			 USCST_LUN_MAX);
		return false;
	}
	unsigned pos = lower_bound(map, lun);
	if (pos < map->count && map->luns[pos].lun == lun) {
		snprintf(err, errlen, "LUN %llu is already defined", (unsigned long long)lun);
		return false;
	}
	if (map->count == map->cap) {
		unsigned cap = map->cap ? map->cap * 2 : 8;
		struct uscst_lun *n = realloc(map->luns, cap * sizeof(*n));
		if (!n) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		map->luns = n;
		map->cap = cap;
	}
	struct uscst_stats *stats = uscst_stats_new(true);
	atomic_int *stats_refs = malloc(sizeof(*stats_refs));
	if (!stats || !stats_refs) {
		uscst_stats_free(stats);
		free(stats_refs);
		snprintf(err, errlen, "out of memory");
		return false;
	}
	atomic_init(stats_refs, 1);
	memmove(&map->luns[pos + 1], &map->luns[pos], (map->count - pos) * sizeof(map->luns[0]));
	map->luns[pos] = (struct uscst_lun){.lun = lun,
					    .dev = dev,
					    .read_only = read_only,
					    .stats = stats,
					    .stats_refs = stats_refs};
	map->count++;
	atomic_fetch_add(&dev->refs, 1);
	return true;
}
