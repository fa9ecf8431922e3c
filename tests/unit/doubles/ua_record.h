/*
 * Test double of the core's unit attention module (src/core/ua.c), for
 * tests that check which device-wide unit attentions a handler raises
 * without other sessions to receive them.  Per-session queues behave like
 * the real ones (ua_establish, ua_take, ua_clear_session); ua_establish_dev
 * only records the call.  Linking doubles/ua_record.c replaces all of
 * ua.o: if something else pulls ua.o in, the link fails on a duplicate.
 */
#ifndef USCST_TEST_UA_RECORD_H
#define USCST_TEST_UA_RECORD_H

#include <stdbool.h>
#include <stdint.h>

struct uscst_device;
struct uscst_session;

struct ua_dev_record {
	unsigned calls;
	const struct uscst_device *dev;
	const struct uscst_session *except;
	uint8_t asc, ascq;
	bool medium_present; /* the device's medium_present when it was raised */
};

/* The ua_establish_dev calls since the last ua_record_reset(). */
extern struct ua_dev_record ua_dev_record;

void ua_record_reset(void);

/* Called (once: it is cleared first) at the start of the next ua_take:
 * what happens between a command's unit attention check and the rest of
 * its run. */
extern void (*ua_record_on_take)(void);

#endif
