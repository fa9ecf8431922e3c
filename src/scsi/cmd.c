/* Data-In buffers and backend submission on behalf of handlers. */
#include <stdlib.h>
#include <string.h>

#include "lib/buf_pool.h"
#include "scsi/scsi.h"

uint8_t *scsi_alloc_in_raw(struct uscst_cmd *cmd, uint32_t len)
{
	if (!cmd->in_buf || cmd->in_cap < len) {
		/* From the thread's pool, as out_buf (core/cmd.c); in_cap is
		 * the buffer's whole capacity. */
		buf_pool_put(cmd->in_buf, cmd->in_cap);
		cmd->in_buf = buf_pool_get(len);
		cmd->in_cap = cmd->in_buf ? buf_pool_cap(len) : 0;
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
	io->error_offset = UINT64_MAX;
	io->done = io_done;
	io->priv = cmd;
	cmd->io_cb = cb;
	cmd->dev->backend->submit(cmd->dev, io);
}
