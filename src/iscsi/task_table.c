#include "iscsi/task_table.h"

#include <stdlib.h>

#define MIN_BITS 6 /* 64 slots: QueuedCommands 32 plus immediates at half load */

/* Fibonacci hashing: initiators hand out ITTs in sequence, and the high
 * bits of the product spread consecutive keys over the table. */
static uint32_t slot_of(const struct task_table *t, uint32_t key)
{
	return (uint32_t)(key * 2654435761u) >> (32 - t->bits);
}

static uint32_t mask_of(const struct task_table *t) { return (1u << t->bits) - 1; }

static void insert(struct task_table *t, uint32_t key, void *val)
{
	uint32_t i = slot_of(t, key), mask = mask_of(t);
	while (t->slots[i].val)
		i = (i + 1) & mask;
	t->slots[i].key = key;
	t->slots[i].val = val;
	t->count++;
}

/* Kept at most half full: probes stay short. */
static bool grow(struct task_table *t)
{
	uint32_t bits = t->bits ? t->bits + 1 : MIN_BITS;
	struct task_slot *slots = calloc((size_t)1 << bits, sizeof(*slots));
	if (!slots)
		return false;
	struct task_table old = *t;
	t->slots = slots;
	t->bits = bits;
	t->count = 0;
	for (uint32_t i = 0; old.bits && i <= mask_of(&old); i++)
		if (old.slots[i].val)
			insert(t, old.slots[i].key, old.slots[i].val);
	free(old.slots);
	return true;
}

bool task_table_put(struct task_table *t, uint32_t key, void *val)
{
	if ((!t->bits || (t->count + 1) * 2 > (1u << t->bits)) && !grow(t))
		return false;
	insert(t, key, val);
	return true;
}

void *task_table_get(const struct task_table *t, uint32_t key)
{
	if (!t->count)
		return NULL;
	uint32_t mask = mask_of(t);
	for (uint32_t i = slot_of(t, key); t->slots[i].val; i = (i + 1) & mask)
		if (t->slots[i].key == key)
			return t->slots[i].val;
	return NULL;
}

void task_table_del(struct task_table *t, uint32_t key, const void *val)
{
	if (!t->count)
		return;
	uint32_t mask = mask_of(t), i = slot_of(t, key);
	while (t->slots[i].val && !(t->slots[i].key == key && t->slots[i].val == val))
		i = (i + 1) & mask;
	if (!t->slots[i].val)
		return;
	t->count--;
	/* Backward-shift deletion: move up every later entry of the run that
	 * may not sit beyond the hole, so no lookup stops early (no tombstones). */
	uint32_t hole = i;
	for (uint32_t j = (i + 1) & mask; t->slots[j].val; j = (j + 1) & mask) {
		uint32_t home = slot_of(t, t->slots[j].key);
		/* j may move to the hole if its home is not in (hole, j]. */
		bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
		if (stays)
			continue;
		t->slots[hole] = t->slots[j];
		hole = j;
	}
	t->slots[hole].val = NULL;
}

void task_table_free(struct task_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->bits = t->count = 0;
}
