/* A connection's tasks by Initiator Task Tag: open addressing with linear
 * probing, so finding the task of a Data-Out (or checking a new command's
 * ITT) costs O(1) instead of a walk of every task.  Keys are unique (the
 * caller keeps only tasks whose ITT is in use); values are never NULL. */
#ifndef USCST_ISCSI_TASK_TABLE_H
#define USCST_ISCSI_TASK_TABLE_H

#include <stdbool.h>
#include <stdint.h>

struct task_slot {
	uint32_t key;
	void *val; /* NULL: empty */
};

struct task_table {
	struct task_slot *slots;
	uint32_t bits; /* 1 << bits slots; 0 before the first insert */
	uint32_t count;
};

/* Adds key -> val (key not present); false on ENOMEM (table unchanged). */
bool task_table_put(struct task_table *t, uint32_t key, void *val);
void *task_table_get(const struct task_table *t, uint32_t key);
/* Removes key if it maps to val. */
void task_table_del(struct task_table *t, uint32_t key, const void *val);
void task_table_free(struct task_table *t);

#endif
