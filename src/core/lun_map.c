/*
 * LUN maps: the LUNs one initiator sees through one target (the target's
 * default map, or an initiator group's).  A sorted array that grows by
 * doubling, so a map of 16384 LUNs costs what it holds and a lookup on the
 * data path is a binary search.
 *
 * Each entry owns its LUN's counters (uscst_lun.stats), allocated by
 * lun_map_add and freed by lun_map_free: code that copies entries into
 * another map must move them (and clear the old), never share them, and
 * must free them only once no command of that LUN can still be released
 * (a command keeps the pointer, cmd->lun_stats, from decode to release).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/stats.h"

struct uscst_lun_map *lun_map_new(void) { return calloc(1, sizeof(struct uscst_lun_map)); }

void lun_map_free(struct uscst_lun_map *map)
{
	if (!map)
		return;
	for (unsigned i = 0; i < map->count; i++) {
		atomic_fetch_sub(&map->luns[i].dev->refs, 1);
		uscst_stats_free(map->luns[i].stats);
	}
	free(map->luns);
	free(map);
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
	if (!stats) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	memmove(&map->luns[pos + 1], &map->luns[pos], (map->count - pos) * sizeof(map->luns[0]));
	map->luns[pos] =
	    (struct uscst_lun){.lun = lun, .dev = dev, .read_only = read_only, .stats = stats};
	map->count++;
	atomic_fetch_add(&dev->refs, 1);
	return true;
}
