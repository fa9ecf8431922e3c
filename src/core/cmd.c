/*
 * The transport's side of a command's life (include/uscst/transport.h):
 * init, decode, Data-Out buffers, release.  What the CDB means is the
 * business of the device's command set (core/cmdset.h); uscst_cmd_execute
 * and the task set are in core/task_set.c.
 */
#include <stdlib.h>
#include <string.h>

#include "core/cmdset.h"
#include "core/core.h"
#include "core/stats.h"
#include "lib/buf_pool.h"

void uscst_cmd_init(struct uscst_cmd *cmd, struct uscst_session *sess)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->sess = sess;
	cmd->status = SAM_STAT_GOOD;
}

const struct uscst_cmdset *core_cmd_cmdset(const struct uscst_cmd *cmd)
{
	return cmd->dev ? cmd->dev->cmdset : uscst_cmdset_default();
}

void uscst_cmd_decode(struct uscst_cmd *cmd)
{
	core_cmd_take_map(cmd);
	cmd->lun_ent = uscst_session_lun(cmd->sess, cmd->lun);
	cmd->dev = cmd->lun_ent ? cmd->lun_ent->dev : NULL;
	const struct uscst_cmdset *cs = core_cmd_cmdset(cmd);
	if (cs) {
		cs->decode(cmd);
	} else {
		/* No command set to ask (none registered): take what the
		 * initiator sends; core_cmd_dispatch fails the command. */
		cmd->op = NULL;
		cmd->out_len = cmd->exp_write ? cmd->exp_len : 0;
	}
	cmd->lun_stats = cmd->lun_ent ? cmd->lun_ent->stats : NULL;
	core_stats_cmd_start(cmd);
	core_cmd_track(cmd);
}

void core_cmd_dispatch(struct uscst_cmd *cmd)
{
	/* The session's LUN map changed since the command was decoded (one
	 * compare; rare): a command whose LUN is gone must not touch the
	 * medium, and is answered as one sent after the change would be. */
	if (cmd->map_hold && cmd->map_hold != cmd->sess->map_hold &&
	    core_cmd_lost_its_lu(cmd, cmd->sess->luns)) {
		uscst_cmd_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
		cmd->done(cmd);
		return;
	}
	const struct uscst_cmdset *cs = core_cmd_cmdset(cmd);
	if (cs) {
		cs->dispatch(cmd);
		return;
	}
	uscst_cmd_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	cmd->done(cmd);
}

/* Command buffers come from the thread's pool (lib/buf_pool.h): no malloc
 * per command once it is warm, and page-aligned from 4 KiB up, which a
 * backend doing direct I/O (vdisk_blockio) passes to the storage without
 * a bounce copy.  out_buf's pool class is always that of out_buf_len.
 * out_buf is not zeroed: the transport fills every byte before the command
 * executes (iSCSI checks that the Data-Out covered it, iscsi/data_out.c). */
uint8_t *uscst_cmd_alloc_out(struct uscst_cmd *cmd, uint32_t len)
{
	buf_pool_put(cmd->out_buf, cmd->out_buf_len);
	/* Never NULL for a zero length: a pool buffer of the smallest class. */
	cmd->out_buf = buf_pool_get(len);
	cmd->out_buf_len = cmd->out_buf ? len : 0;
	return cmd->out_buf;
}

uint8_t *uscst_cmd_grow_out(struct uscst_cmd *cmd, uint32_t len)
{
	if (cmd->out_buf && len <= cmd->out_buf_len)
		return cmd->out_buf;
	uint8_t *p = cmd->out_buf;
	if (!p || buf_pool_cap(len) != buf_pool_cap(cmd->out_buf_len)) {
		p = buf_pool_get(len);
		if (!p)
			return NULL;
		if (cmd->out_buf_len)
			memcpy(p, cmd->out_buf, cmd->out_buf_len);
		buf_pool_put(cmd->out_buf, cmd->out_buf_len);
	}
	cmd->out_buf = p;
	cmd->out_buf_len = len;
	return p;
}

void uscst_cmd_release(struct uscst_cmd *cmd)
{
	/* Once: a released command is untracked. */
	if (cmd->core_state != CORE_CMD_UNTRACKED)
		core_stats_cmd_released(cmd);
	core_cmd_untrack(cmd);
	core_cmd_drop_map(cmd);
	buf_pool_put(cmd->out_buf, cmd->out_buf_len);
	buf_pool_put(cmd->in_buf, cmd->in_cap);
	cmd->out_buf = cmd->in_buf = NULL;
	cmd->out_buf_len = cmd->in_len = cmd->in_cap = 0;
}

void uscst_cmd_complete_status(struct uscst_cmd *cmd, uint8_t status)
{
	cmd->status = status;
	cmd->sense_len = 0;
	cmd->done(cmd);
}
