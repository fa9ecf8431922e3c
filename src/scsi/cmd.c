/* Command buffers and backend submission on behalf of handlers. */
#include <stdlib.h>
#include <string.h>

#include "scsi/scsi.h"

void uscst_cmd_init(struct uscst_cmd *cmd, struct uscst_session *sess)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->sess = sess;
	cmd->status = SAM_STAT_GOOD;
}

uint8_t *uscst_cmd_alloc_out(struct uscst_cmd *cmd, uint32_t len)
{
	free(cmd->out_buf);
	/* At least one byte so that a zero-length buffer is still a valid pointer. */
	cmd->out_buf = calloc(1, len ? len : 1);
	cmd->out_buf_len = cmd->out_buf ? len : 0;
	return cmd->out_buf;
}

uint8_t *uscst_cmd_grow_out(struct uscst_cmd *cmd, uint32_t len)
{
	if (len <= cmd->out_buf_len)
		return cmd->out_buf;
	uint8_t *p = realloc(cmd->out_buf, len);
	if (!p)
		return NULL;
	memset(p + cmd->out_buf_len, 0, len - cmd->out_buf_len);
	cmd->out_buf = p;
	cmd->out_buf_len = len;
	return p;
}

uint8_t *scsi_alloc_in_raw(struct uscst_cmd *cmd, uint32_t len)
{
	if (!cmd->in_buf || cmd->in_cap < len) {
		free(cmd->in_buf);
		cmd->in_buf = malloc(len ? len : 1);
		cmd->in_cap = cmd->in_buf ? len : 0;
	}
	cmd->in_len = cmd->in_buf ? len : 0;
	return cmd->in_buf;
}

uint8_t *scsi_alloc_in(struct uscst_cmd *cmd, uint32_t len)
{
	uint8_t *buf = scsi_alloc_in_raw(cmd, len);
	if (buf)
		memset(buf, 0, len);
	return buf;
}

void uscst_cmd_release(struct uscst_cmd *cmd)
{
	core_cmd_untrack(cmd);
	free(cmd->out_buf);
	free(cmd->in_buf);
	cmd->out_buf = cmd->in_buf = NULL;
	cmd->out_buf_len = cmd->in_len = cmd->in_cap = 0;
}

void uscst_cmd_complete_status(struct uscst_cmd *cmd, uint8_t status)
{
	cmd->status = status;
	cmd->sense_len = 0;
	scsi_cmd_done(cmd);
}

static void io_done(struct uscst_io *io)
{
	struct uscst_cmd *cmd = io->priv;
	cmd->io_cb(cmd);
}

void scsi_submit_io(struct uscst_cmd *cmd, enum uscst_io_op op, uint64_t offset, uint64_t len,
		    void *buf, bool fua, void (*cb)(struct uscst_cmd *cmd))
{
	struct uscst_io *io = &cmd->io;
	io->op = op;
	io->offset = offset;
	io->len = len;
	/* One segment: the handlers work on contiguous buffers today. */
	cmd->io_iov = (struct iovec){.iov_base = buf, .iov_len = buf ? len : 0};
	io->iov = &cmd->io_iov;
	io->iovcnt = buf ? 1 : 0;
	io->fua = fua;
	io->result = 0;
	io->done = io_done;
	io->priv = cmd;
	cmd->io_cb = cb;
	cmd->dev->backend->submit(cmd->dev, io);
}
