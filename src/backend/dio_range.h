/*
 * Byte-range locks of one vdisk_blockio device, for its read-modify-write.
 *
 * A write smaller than the storage's alignment reads the covering blocks,
 * patches them in a bounce buffer and writes them back.  Any other write
 * to those blocks that lands between that read and that write-back would
 * be lost (two 512-byte writes into one 4 KiB block: each writes back the
 * other's old bytes), so a read-modify-write holds its covering range
 * exclusively, and every other write to the device (direct, DISCARD,
 * WRITE ZEROES) holds its range shared: writes do not exclude each other,
 * only an overlapping read-modify-write.  SCSI gives no order to
 * overlapping commands in flight together; this only makes each one's
 * bytes land whole, as on a disk.
 *
 * Used only on devices where a request can be unaligned (a logical block
 * smaller than the storage's alignment): elsewhere no write takes a lock.
 * A request that conflicts with a held range, or with an older waiting one
 * (first come, first served), waits, and is resumed on its own reactor
 * thread once granted.  Any thread; one mutex per device.
 */
#ifndef USCST_BACKEND_DIO_RANGE_H
#define USCST_BACKEND_DIO_RANGE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <uscst/reactor.h>

#include "lib/list.h"

struct dio_range_table {
	pthread_mutex_t mutex;
	struct list_head held, waiting; /* of struct dio_range, waiting oldest first */
};

/* Embedded in the owner's request; private to dio_range.c. */
struct dio_range {
	uint64_t start, end; /* bytes, [start, end) */
	bool exclusive;
	bool queued; /* on a list of the table */
	struct reactor *reactor;
	void (*resume)(struct dio_range *r);
	struct list_head node;
	struct dio_range *granted_next;
	struct reactor_msg msg;
};

void dio_range_table_init(struct dio_range_table *t);
void dio_range_table_destroy(struct dio_range_table *t);

/* Takes [start, end).  true: held now.  false: queued; resume(r) runs
 * later on the calling thread's reactor (off any reactor, as in unit
 * tests: on the releasing thread) once it is held. */
bool dio_range_acquire(struct dio_range_table *t, struct dio_range *r, uint64_t start, uint64_t end,
		       bool exclusive, void (*resume)(struct dio_range *r));
/* Gives a held range back; waiters it unblocks are resumed. */
void dio_range_release(struct dio_range_table *t, struct dio_range *r);

#endif
