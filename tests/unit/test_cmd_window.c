/* Unit tests: the CmdSN window granted against MaxBufferMemory
 * (iscsi/cmd_window.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "iscsi/cmd_window.h"
#include "iscsi/conn_limits.h"
#include "iscsi/iscsi.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

static char a_target; /* only its address is used: not a discovery session */

/* A session of QueuedCommands 32 whose commands may each bring `burst`
 * bytes unasked (InitialR2T No), or none (InitialR2T Yes, ImmediateData
 * No), with nactive tasks in the target. */
static struct iscsi_session *session(uint32_t burst, bool unsolicited, unsigned nactive)
{
	struct iscsi_session *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	list_init(&s->conns);
	s->tgt = (struct uscst_target *)&a_target;
	s->params.initial_r2t = !unsolicited;
	s->params.immediate_data = unsolicited;
	s->params.first_burst_length = burst;
	s->params.max_recv_data_segment_length = burst;
	s->cmd_window = 32;
	s->exp_cmdsn = 100;
	s->nactive = nactive;
	iscsi_cmd_window_open(s);
	return s;
}

static uint32_t open_slots(const struct iscsi_session *s)
{
	return s->max_cmdsn + 1 - s->exp_cmdsn;
}

static void done(struct iscsi_session *s)
{
	iscsi_cmd_window_close(s);
	free(s);
}

/* MaxBufferMemory 8 MiB: 7 MiB shared, 1 MiB kept for small holders. */
static void test_window_follows_room(void **state)
{
	iscsi_buf_mem_set_cap("8");
	struct iscsi_session *a = session(256 * KIB, true, 0);
	assert_int_equal(open_slots(a), 28); /* 7 MiB / 256 KiB, not 32 */
	struct iscsi_session *b = session(256 * KIB, true, 0);
	assert_int_equal(open_slots(b), 4); /* the small holders' 1 MiB */
	struct iscsi_session *idle = session(256 * KIB, true, 0);
	assert_int_equal(open_slots(idle), 1); /* no room: the one slot */
	struct iscsi_session *busy = session(256 * KIB, true, 1);
	assert_int_equal(open_slots(busy), 0); /* its response will grant */
	assert_int_equal(iscsi_buf_mem_total(), 8 * MIB + 256 * KIB);
	/* Ten commands of a arrive: their slots' room is given back, and
	 * busy's next grant (its response, nactive 0 by then) takes it. */
	a->exp_cmdsn += 10;
	iscsi_cmd_window_sync(a);
	assert_int_equal(iscsi_buf_mem_total(), 8 * MIB + 256 * KIB - 10 * 256 * KIB);
	busy->nactive = 0;
	iscsi_cmd_window_grant(busy);
	assert_true(open_slots(busy) >= 1);
	assert_true(iscsi_buf_mem_total() <= 8 * MIB + 256 * KIB);
	/* MaxCmdSN never moves backwards. */
	uint32_t before = a->max_cmdsn;
	a->nactive = 32;
	assert_int_equal(iscsi_cmd_window_grant(a), before);
	done(a);
	done(b);
	done(idle);
	done(busy);
	assert_int_equal(iscsi_buf_mem_total(), 0);
}

/* Nothing unsolicited (or a discovery session): the whole window, nothing
 * reserved, whatever the total. */
static void test_no_unsolicited_data(void **state)
{
	iscsi_buf_mem_set_cap("1");
	struct iscsi_session *full = session(256 * KIB, true, 0);
	struct iscsi_session *s = session(256 * KIB, false, 0);
	assert_int_equal(open_slots(s), 32);
	assert_int_equal(s->unsol_reserved, 0);
	done(s);
	done(full);
	assert_int_equal(iscsi_buf_mem_total(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_window_follows_room),
	    cmocka_unit_test(test_no_unsolicited_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
