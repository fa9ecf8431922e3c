/*
 * Task attributes (core/task_set.c): which commands start when, driven
 * through uscst_cmd_decode/uscst_cmd_execute against a backend that holds
 * every I/O until the test completes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <uscst/iov.h>

#include "fixtures/fixture_scsi.h"
#include "scsi/scsi.h"

#define BS 512u
#define NBLOCKS 1024u
#define MAX_PENDING 8

static struct {
	struct uscst_io *pending[MAX_PENDING];
	unsigned npending;
} fake;

static void fake_submit(struct uscst_device *dev, struct uscst_io *io)
{
	assert_true(fake.npending < MAX_PENDING);
	uscst_iov_memset(io->iov, io->iovcnt, 0, 0, io->len);
	io->result = (int64_t)io->len;
	fake.pending[fake.npending++] = io;
}

/* Completes the I/O of command `cmd`, wherever it is in the pending list. */
static void complete_io_of(struct uscst_cmd *cmd)
{
	for (unsigned i = 0; i < fake.npending; i++) {
		if (fake.pending[i] != &cmd->io)
			continue;
		struct uscst_io *io = fake.pending[i];
		memmove(&fake.pending[i], &fake.pending[i + 1],
			(fake.npending - i - 1) * sizeof(fake.pending[0]));
		fake.npending--;
		io->done(io);
		return;
	}
	fail_msg("command has no I/O in flight");
}

static bool io_started(const struct uscst_cmd *cmd)
{
	for (unsigned i = 0; i < fake.npending; i++)
		if (fake.pending[i] == &cmd->io)
			return true;
	return false;
}

static const struct uscst_backend_ops fake_ops = {.name = "fake", .submit = fake_submit};

static struct uscst_device dev;
static struct uscst_lun_map map;
static struct uscst_target tgt;
static struct uscst_session sess;
static struct uscst_cmd cmds[5];
static int done_order[5], ndone;

static void on_done(struct uscst_cmd *cmd) { done_order[ndone++] = (int)(cmd - cmds); }

static int setup(void **state)
{
	memset(&fake, 0, sizeof(fake));
	fixture_device_init(&dev, "disk0", BS, NBLOCKS);
	dev.backend = &fake_ops;
	fixture_target_init(&tgt, &map, &dev, "iqn.2024-01.test:tasks", 1);
	fixture_session_init(&sess, &tgt, 1);
	ndone = 0;
	return 0;
}

static int teardown(void **state)
{
	for (unsigned i = 0; i < 5; i++)
		uscst_cmd_release(&cmds[i]);
	pthread_mutex_destroy(&dev.lock);
	fixture_session_fini(&sess);
	return 0;
}

/* READ(10) of one block with the given task attribute. */
static struct uscst_cmd *submit_read(unsigned i, uint8_t attr)
{
	struct uscst_cmd *cmd = &cmds[i];
	uscst_cmd_init(cmd, &sess);
	cmd->cdb[0] = 0x28;
	put_be32(cmd->cdb + 2, i);
	cmd->cdb[8] = 1;
	cmd->cdb_len = 10;
	cmd->exp_len = BS;
	cmd->exp_read = true;
	cmd->task_attr = attr;
	cmd->done = on_done;
	uscst_cmd_decode(cmd);
	uscst_cmd_execute(cmd);
	return cmd;
}

static void test_simple_commands_run_together(void **state)
{
	struct uscst_cmd *a = submit_read(0, USCST_TASK_SIMPLE);
	struct uscst_cmd *b = submit_read(1, USCST_TASK_SIMPLE);
	assert_true(io_started(a));
	assert_true(io_started(b));
	complete_io_of(b);
	complete_io_of(a);
	assert_int_equal(ndone, 2);
	assert_int_equal(done_order[0], 1);
}

static void test_ordered_waits_for_older_and_blocks_newer(void **state)
{
	struct uscst_cmd *a = submit_read(0, USCST_TASK_SIMPLE);
	struct uscst_cmd *o = submit_read(1, USCST_TASK_ORDERED);
	struct uscst_cmd *c = submit_read(2, USCST_TASK_SIMPLE);
	assert_true(io_started(a));
	assert_false(io_started(o)); /* an older command is still running */
	assert_false(io_started(c)); /* must not pass the ORDERED one */
	complete_io_of(a);
	assert_true(io_started(o));
	assert_false(io_started(c)); /* the ORDERED one is running */
	complete_io_of(o);
	assert_true(io_started(c));
	complete_io_of(c);
	assert_int_equal(ndone, 3);
	assert_int_equal(done_order[0], 0);
	assert_int_equal(done_order[1], 1);
	assert_int_equal(done_order[2], 2);
	assert_int_equal(sess.ts_running, 0);
	assert_null(sess.ts_wait_head);
}

static void test_head_of_queue_jumps_the_queue(void **state)
{
	struct uscst_cmd *a = submit_read(0, USCST_TASK_SIMPLE);
	struct uscst_cmd *o = submit_read(1, USCST_TASK_ORDERED);
	struct uscst_cmd *h = submit_read(2, USCST_TASK_HEAD_OF_QUEUE);
	assert_true(io_started(h));
	assert_false(io_started(o));
	complete_io_of(h);
	assert_false(io_started(o)); /* still waiting for the older SIMPLE one */
	complete_io_of(a);
	assert_true(io_started(o));
	complete_io_of(o);
	assert_int_equal(ndone, 3);
	assert_int_equal(done_order[0], 2);
}

static void test_ordered_alone_starts_at_once(void **state)
{
	struct uscst_cmd *o = submit_read(0, USCST_TASK_ORDERED);
	assert_true(io_started(o));
	complete_io_of(o);
	struct uscst_cmd *s = submit_read(1, USCST_TASK_SIMPLE);
	assert_true(io_started(s));
	complete_io_of(s);
	assert_int_equal(ndone, 2);
}

static void test_failing_command_releases_the_queue(void **state)
{
	/* An ORDERED command that fails its checks (LBA out of range) completes
	 * without I/O; the SIMPLE one queued behind it must then start. */
	struct uscst_cmd *a = submit_read(0, USCST_TASK_SIMPLE);
	struct uscst_cmd *o = &cmds[1];
	uscst_cmd_init(o, &sess);
	o->cdb[0] = 0x28;
	put_be32(o->cdb + 2, NBLOCKS + 10);
	o->cdb[8] = 1;
	o->exp_len = BS;
	o->exp_read = true;
	o->task_attr = USCST_TASK_ORDERED;
	o->done = on_done;
	uscst_cmd_decode(o);
	uscst_cmd_execute(o);
	struct uscst_cmd *c = submit_read(2, USCST_TASK_SIMPLE);
	assert_false(io_started(c));
	complete_io_of(a);
	assert_int_equal(o->status, SAM_STAT_CHECK_CONDITION);
	assert_true(io_started(c));
	complete_io_of(c);
	assert_int_equal(ndone, 3);
}

/* --- commands in flight and task management in the core --- */

static bool on_list(const struct uscst_cmd *head, const struct uscst_cmd *cmd)
{
	for (const struct uscst_cmd *c = head; c; c = c->s_next)
		if (c == cmd)
			return true;
	return false;
}

static void test_commands_known_from_decode_to_release(void **state)
{
	struct uscst_cmd *a = &cmds[0];
	uscst_cmd_init(a, &sess);
	a->cdb[0] = 0x28;
	a->cdb[8] = 1;
	a->exp_len = BS;
	a->exp_read = true;
	a->done = on_done;
	uscst_cmd_decode(a); /* received: the transport may still collect data */
	assert_true(on_list(sess.cmds, a));
	uscst_cmd_execute(a);
	complete_io_of(a);
	assert_int_equal(ndone, 1);
	uscst_cmd_release(a);
	assert_null(sess.cmds);
}

static int tmf_answers;
static void on_tmf_done(struct uscst_tmf *tmf) { tmf_answers++; }

static void start_tmf(struct uscst_tmf *tmf, uint8_t fn, uint64_t tag)
{
	memset(tmf, 0, sizeof(*tmf));
	tmf->sess = &sess;
	tmf->fn = fn;
	tmf->tag = tag;
	tmf->done = on_tmf_done;
}

static void test_abort_task_set_answers_after_running_tasks_end(void **state)
{
	tmf_answers = 0;
	struct uscst_cmd *a = submit_read(0, USCST_TASK_SIMPLE);
	struct uscst_cmd *b = submit_read(1, USCST_TASK_ORDERED); /* waits behind a */
	struct uscst_tmf tmf;
	start_tmf(&tmf, USCST_TMF_ABORT_TASK_SET, 0);
	assert_int_equal(uscst_tmf_start(&tmf), USCST_TMF_RSP_COMPLETE);
	assert_true(a->aborted && b->aborted);
	assert_int_equal(tmf_answers, 0); /* a is still in the backend */
	complete_io_of(a);		  /* its result is thrown away; b never starts */
	assert_false(io_started(b));
	assert_int_equal(ndone, 2);
	assert_int_equal(tmf_answers, 1);
	assert_int_equal(sess.aborts_pending, 0);
}

static enum uscst_abort_result owes_data(struct uscst_cmd *cmd, bool wait_data)
{
	return wait_data ? USCST_ABORT_WAIT : USCST_ABORT_DONE;
}
static const struct uscst_transport_ops waiting_ops = {.cmd_aborted = owes_data};

static void test_abort_task_waits_for_owed_data(void **state)
{
	tmf_answers = 0;
	sess.tops = &waiting_ops;
	struct uscst_cmd *a = &cmds[0];
	uscst_cmd_init(a, &sess);
	a->cdb[0] = 0x2a; /* WRITE(10) of one block, its Data-Out not all here */
	a->cdb[8] = 1;
	a->tag = 7;
	a->exp_len = BS;
	a->exp_write = true;
	a->done = on_done;
	uscst_cmd_decode(a);
	struct uscst_tmf tmf;
	start_tmf(&tmf, USCST_TMF_ABORT_TASK, 8);
	assert_int_equal(uscst_tmf_start(&tmf), USCST_TMF_RSP_NO_TASK);
	assert_int_equal(tmf_answers, 1);
	start_tmf(&tmf, USCST_TMF_ABORT_TASK, 7);
	assert_int_equal(uscst_tmf_start(&tmf), USCST_TMF_RSP_COMPLETE);
	assert_int_equal(tmf_answers, 1); /* the initiator still owes an R2T's data */
	uscst_cmd_abort_settled(a);
	assert_int_equal(tmf_answers, 2);
	uscst_cmd_release(a);
	sess.tops = NULL;
}

/* I_T nexus loss: every command of the session is aborted, the running one
 * and the one the task set holds back alike; neither is answered. */
static void test_nexus_loss_aborts_every_command(void **state)
{
	struct uscst_cmd *a = submit_read(0, USCST_TASK_SIMPLE);
	struct uscst_cmd *b = submit_read(1, USCST_TASK_ORDERED);
	uscst_session_nexus_loss(&sess);
	assert_true(a->aborted && b->aborted);
	complete_io_of(a);
	assert_false(io_started(b)); /* never reaches the medium */
	assert_int_equal(ndone, 2);
}

/* A reset does not wait for data an earlier ABORT TASK still waits for. */
static void test_lun_reset_stops_waiting_for_owed_data(void **state)
{
	tmf_answers = 0;
	sess.tops = &waiting_ops;
	struct uscst_cmd *a = &cmds[0];
	uscst_cmd_init(a, &sess);
	a->cdb[0] = 0x2a;
	a->cdb[8] = 1;
	a->tag = 9;
	a->exp_len = BS;
	a->exp_write = true;
	a->done = on_done;
	uscst_cmd_decode(a);
	struct uscst_tmf abort, reset;
	start_tmf(&abort, USCST_TMF_ABORT_TASK, 9);
	assert_int_equal(uscst_tmf_start(&abort), USCST_TMF_RSP_COMPLETE);
	assert_int_equal(tmf_answers, 0);
	start_tmf(&reset, USCST_TMF_LUN_RESET, 0);
	assert_int_equal(uscst_tmf_start(&reset), USCST_TMF_RSP_COMPLETE);
	assert_int_equal(tmf_answers, 2); /* both answered: nothing waits */
	assert_int_equal(sess.aborts_pending, 0);
	uscst_cmd_release(a);
	sess.tops = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_simple_commands_run_together, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ordered_waits_for_older_and_blocks_newer, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_head_of_queue_jumps_the_queue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ordered_alone_starts_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commands_known_from_decode_to_release, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_abort_task_set_answers_after_running_tasks_end,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abort_task_waits_for_owed_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nexus_loss_aborts_every_command, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lun_reset_stops_waiting_for_owed_data, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_failing_command_releases_the_queue, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
