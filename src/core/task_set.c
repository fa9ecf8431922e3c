/*
 * The task set of an I_T nexus (SAM-5 8.6, TST=1: one per nexus): task
 * attributes decide when a command may start.
 *   HEAD OF QUEUE  starts at once.
 *   ORDERED        starts when every older command has completed, and no
 *                  newer one starts before it completes.
 *   SIMPLE (and ACA, which needs no ACA support here)  starts at once
 *                  unless an ORDERED command is running or waiting ahead.
 * Waiting commands keep their arrival order.  One task set per session
 * covers all its LUNs, which is stricter than SAM needs only when ORDERED
 * commands go to several LUNs at once.
 *
 * A session lives on one reactor (all its connections too, MC/S included:
 * iscsi/conn_join.c), so no lock is needed.
 */
#include "core/core.h"

static bool blocked_by_running(const struct uscst_session *s, const struct uscst_cmd *cmd)
{
	if (cmd->task_attr == USCST_TASK_HEAD_OF_QUEUE)
		return false;
	if (s->ts_ordered_running)
		return true;
	return cmd->task_attr == USCST_TASK_ORDERED && s->ts_running;
}

static void task_set_done(struct uscst_cmd *cmd);

static void start(struct uscst_session *s, struct uscst_cmd *cmd)
{
	if (cmd->aborted) {
		/* Aborted while it waited: it must not touch the medium. */
		core_cmd_ended(cmd);
		cmd->done(cmd);
		return;
	}
	cmd->core_state = CORE_CMD_RUNNING;
	s->ts_running++;
	if (cmd->task_attr == USCST_TASK_ORDERED)
		s->ts_ordered_running++;
	cmd->transport_done = cmd->done;
	cmd->done = task_set_done;
	core_cmd_dispatch(cmd);
}

/* Starts waiting commands, oldest first, until one must still wait. */
static void start_waiting(struct uscst_session *s)
{
	while (s->ts_wait_head && !blocked_by_running(s, s->ts_wait_head)) {
		struct uscst_cmd *cmd = s->ts_wait_head;
		s->ts_wait_head = cmd->ts_next;
		if (!s->ts_wait_head)
			s->ts_wait_tail = NULL;
		cmd->ts_next = NULL;
		start(s, cmd);
	}
}

static void task_set_done(struct uscst_cmd *cmd)
{
	struct uscst_session *s = cmd->sess;
	s->ts_running--;
	if (cmd->task_attr == USCST_TASK_ORDERED)
		s->ts_ordered_running--;
	cmd->done = cmd->transport_done;
	core_cmd_ended(cmd);
	/* Start the next ones before handing this command back: the transport
	 * may free it, and with the last command the session too. */
	start_waiting(s);
	cmd->done(cmd);
}

void uscst_cmd_execute(struct uscst_cmd *cmd)
{
	struct uscst_session *s = cmd->sess;
	if (cmd->core_state != CORE_CMD_UNTRACKED)
		cmd->core_state = CORE_CMD_QUEUED;
	bool wait = cmd->task_attr != USCST_TASK_HEAD_OF_QUEUE &&
		    (s->ts_wait_head || blocked_by_running(s, cmd));
	if (!wait) {
		start(s, cmd);
		return;
	}
	cmd->ts_next = NULL;
	if (s->ts_wait_tail)
		s->ts_wait_tail->ts_next = cmd;
	else
		s->ts_wait_head = cmd;
	s->ts_wait_tail = cmd;
}
