/*
 * Forwarded commands of the pass-through command set: a whole command
 * handed to the backend's exec_cmd (include/uscst/backend.h), its answer
 * turned back into the command's status, sense, Data-In and residual, and
 * the one-at-a-time queue of tapes and changers.
 *
 * Unit attentions the device reports belong to every initiator: the
 * device has one initiator (us), so a UA it raises (a reset, a medium
 * change, mode parameters changed) is the one report all our nexuses get.
 * The command that received it ends with it, as the device sent it, and
 * the same ASC/ASCQ is established on every other nexus the device is
 * mapped to, reported before their next command runs.  The exception is
 * REPORTED LUNS DATA HAS CHANGED: it speaks of the device's own LUN
 * inventory, which no initiator of ours sees (REPORT LUNS is ours), so it
 * is passed to the receiving nexus only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/passthrough.h"
#include "scsi/scsi.h"

struct pt_ctx {
	struct uscst_scsi_req req;
	struct iovec iov;
	struct uscst_cmd *cmd;
	bool serialised;
	bool in_backend;	/* exec_cmd took it; done() not yet run */
	struct pt_ctx *next;	/* waiting in the device's queue */
	struct reactor_msg msg; /* its turn, sent to its session's reactor */
};

void passthrough_queue_init(struct uscst_device *dev)
{
	struct passthrough_queue *q = uscst_device_cmdset_priv(dev);
	if (!q->ready) {
		pthread_mutex_init(&q->lock, NULL);
		q->ready = true;
	}
}

/* Key, ASC and ASCQ of fixed (70h/71h) or descriptor (72h/73h) sense;
 * false if the sense is too short or of another format. */
static bool sense_fields(const uint8_t *s, unsigned len, uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
	uint8_t code = len ? s[0] & 0x7f : 0;
	if ((code == 0x70 || code == 0x71) && len >= 14) {
		*key = s[2] & 0x0f;
		*asc = s[12];
		*ascq = s[13];
		return true;
	}
	if ((code == 0x72 || code == 0x73) && len >= 4) {
		*key = s[1] & 0x0f;
		*asc = s[2];
		*ascq = s[3];
		return true;
	}
	return false;
}

static void share_unit_attention(struct uscst_cmd *cmd)
{
	uint8_t key, asc, ascq;
	if (!sense_fields(cmd->sense, cmd->sense_len, &key, &asc, &ascq) ||
	    key != SK_UNIT_ATTENTION)
		return;
	if (asc == 0x3f && ascq == 0x0e) /* REPORTED LUNS DATA HAS CHANGED */
		return;
	ua_establish_dev(cmd->dev, cmd->sess, asc, ascq);
}

/* A command the device never answered: the link to it failed (ABORTED
 * COMMAND, LOGICAL UNIT COMMUNICATION FAILURE or TIME-OUT, which an
 * initiator retries), we ran out of resources (BUSY), or the backend
 * cannot carry the command (-EOPNOTSUPP: a CDB longer than its transport
 * takes; INVALID FIELD IN CDB). */
static void fail_undelivered(struct uscst_cmd *cmd, int err)
{
	if (err == -ENOMEM || err == -EAGAIN || err == -EBUSY)
		cmd->status = SAM_STAT_BUSY;
	else if (err == -EOPNOTSUPP) /* the backend cannot carry this CDB */
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	else if (err == -ETIMEDOUT)
		scsi_check_condition(cmd, SK_ABORTED_COMMAND, 0x08, 0x01);
	else
		scsi_check_condition(cmd, SK_ABORTED_COMMAND, 0x08, 0x00);
}

/* A MODE SELECT or LOG SELECT the device took changed what every nexus
 * sees; the device knows one nexus (us), so the others hear of it from the
 * core: MODE PARAMETERS CHANGED or LOG PARAMETERS CHANGED (SPC-5 5.14,
 * said even if the parameters sent equalled the old ones). */
static void report_shared_change(struct uscst_cmd *cmd)
{
	switch (cmd->cdb[0]) {
	case 0x15: /* MODE SELECT(6) */
	case 0x55: /* MODE SELECT(10) */
		ua_establish_dev(cmd->dev, cmd->sess, ASC_MODE_PARAMETERS_CHANGED);
		break;
	case 0x4c: /* LOG SELECT */
		ua_establish_dev(cmd->dev, cmd->sess, 0x2a, 0x02);
		break;
	default:
		break;
	}
}

/* a + b, or UINT32_MAX: a device's overflow count is not to be trusted
 * to keep the sum in range. */
static uint32_t add_sat(uint32_t a, uint32_t b) { return a > UINT32_MAX - b ? UINT32_MAX : a + b; }

static void take_answer(struct uscst_cmd *cmd, const struct uscst_scsi_req *req)
{
	if (req->result < 0) {
		fail_undelivered(cmd, req->result);
		cmd->in_len = 0;
		return;
	}
	cmd->status = req->status;
	if (req->status == SAM_STAT_GOOD)
		report_shared_change(cmd);
	if (req->status == SAM_STAT_CHECK_CONDITION) {
		unsigned n = req->sense_len < USCST_SENSE_MAX ? req->sense_len : USCST_SENSE_MAX;
		memcpy(cmd->sense, req->sense, n);
		cmd->sense_len = (uint8_t)n;
		share_unit_attention(cmd);
	}
	uint32_t moved = req->transferred < req->data_len ? req->transferred : req->data_len;
	if (req->dir == USCST_DATA_IN) {
		cmd->in_len = moved;
		/* What the device sent goes with its CHECK CONDITION (a tape
		 * READ stopped by a filemark or a block of another length):
		 * the count the backend reported, never more (the buffer is
		 * zeroed, so a backend's overstatement leaks nothing). */
		cmd->in_with_sense = req->status == SAM_STAT_CHECK_CONDITION && moved > 0;
		/* What the device wanted beyond the buffer: a residual overflow. */
		cmd->in_asked = req->overflow ? add_sat(req->data_len, req->overflow) : 0;
		if (req->status == SAM_STAT_GOOD)
			passthrough_alua_inquiry(cmd);
	} else if (req->dir == USCST_DATA_OUT) {
		/* The transport reports the Data-Out residual from out_len. */
		cmd->out_len = add_sat(moved, req->overflow);
	} else if (req->overflow) {
		/* The initiator expected no data, the device wanted some: all of
		 * it is a residual overflow, on the side the initiator named
		 * (Data-In if it set R, else Data-Out, as for no flags). */
		if (cmd->exp_read)
			cmd->in_asked = req->overflow;
		else
			cmd->out_len = req->overflow;
	}
}

/* The next waiting command of a serialised device, or NULL with the
 * device marked idle. */
static struct pt_ctx *queue_next(struct passthrough_queue *q)
{
	pthread_mutex_lock(&q->lock);
	struct pt_ctx *next = q->head;
	if (next) {
		q->head = next->next;
		if (!q->head)
			q->tail = NULL;
	} else {
		q->busy = false;
	}
	pthread_mutex_unlock(&q->lock);
	return next;
}

/* Whether ctx may go now; if not, it waits in the queue. */
static bool queue_enter(struct passthrough_queue *q, struct pt_ctx *ctx)
{
	pthread_mutex_lock(&q->lock);
	bool now = !q->busy;
	if (now) {
		q->busy = true;
	} else {
		ctx->next = NULL;
		if (q->tail)
			q->tail->next = ctx;
		else
			q->head = ctx;
		q->tail = ctx;
	}
	pthread_mutex_unlock(&q->lock);
	return now;
}

static void start(struct pt_ctx *ctx);

static void start_msg(struct reactor_msg *m)
{
	struct pt_ctx *ctx = (struct pt_ctx *)((char *)m - offsetof(struct pt_ctx, msg));
	start(ctx);
}

/* Hands the device to the next waiting command, on its session's reactor
 * (the thread its completion must run on).  A session with no reactor
 * (the unit tests) or on this thread starts it here. */
static void pass_turn(struct pt_ctx *next)
{
	struct reactor *r = atomic_load_explicit(&next->cmd->sess->reactor, memory_order_acquire);
	if (!r || r == reactor_current()) {
		start(next);
		return;
	}
	next->msg.fn = start_msg;
	reactor_send(r, &next->msg);
}

static void finish(struct pt_ctx *ctx)
{
	struct uscst_cmd *cmd = ctx->cmd;
	cmd->hctx = NULL;
	take_answer(cmd, &ctx->req);
	struct pt_ctx *next = NULL;
	if (ctx->serialised)
		next = queue_next(uscst_device_cmdset_priv(cmd->dev));
	free(ctx);
	scsi_cmd_done(cmd);
	if (next)
		pass_turn(next);
}

static void req_done(struct uscst_scsi_req *req)
{
	finish((struct pt_ctx *)((char *)req - offsetof(struct pt_ctx, req)));
}

static void start(struct pt_ctx *ctx)
{
	struct uscst_cmd *cmd = ctx->cmd;
	/* Aborted while waiting its turn (task management): the core discards
	 * the result; the device never sees it. */
	if (cmd->aborted) {
		ctx->req.result = -ECANCELED;
		finish(ctx);
		return;
	}
	ctx->in_backend = true;
	cmd->dev->backend->exec_cmd(cmd->dev, &ctx->req);
}

void passthrough_abort_running(struct uscst_cmd *cmd)
{
	/* On cmd's session thread, where finish() runs too: ctx is alive
	 * while cmd->hctx names it.  One still waiting its turn never goes
	 * out (start() sees cmd->aborted). */
	struct pt_ctx *ctx = cmd->hctx;
	const struct uscst_backend_ops *ops = cmd->dev->backend;
	if (ctx && ctx->in_backend && ops->abort_cmd)
		ops->abort_cmd(cmd->dev, &ctx->req);
}

void passthrough_send(struct uscst_cmd *cmd, bool serialised)
{
	struct pt_ctx *ctx = calloc(1, sizeof(*ctx));
	uint8_t *in = NULL;
	/* Zeroed: the Data-In buffer goes back as far as the backend says it
	 * wrote, and a backend (or an upstream that leaves out the residual)
	 * may claim more than it wrote; what follows must not be an earlier
	 * command's data from the heap. */
	if (ctx && cmd->exp_read)
		in = scsi_alloc_in(cmd, cmd->exp_len);
	if (!ctx || (cmd->exp_read && !in)) {
		free(ctx);
		cmd->in_len = 0;
		cmd->status = SAM_STAT_BUSY;
		scsi_cmd_done(cmd);
		return;
	}
	ctx->cmd = cmd;
	cmd->hctx = ctx;
	ctx->serialised = serialised;
	struct uscst_scsi_req *req = &ctx->req;
	req->cdb = cmd->cdb;
	req->cdb_len = passthrough_cdb_len(cmd);
	req->task_attr = cmd->task_attr;
	if (cmd->exp_read && cmd->exp_len) {
		req->dir = USCST_DATA_IN;
		ctx->iov = (struct iovec){in, cmd->exp_len};
		req->data_len = cmd->exp_len;
	} else if (cmd->exp_write && cmd->out_buf_len) {
		/* What the initiator sent: less than exp_len if it sent less. */
		req->dir = USCST_DATA_OUT;
		ctx->iov = (struct iovec){cmd->out_buf, cmd->out_buf_len};
		req->data_len = cmd->out_buf_len;
	} else {
		req->dir = USCST_DATA_NONE;
	}
	req->iov = req->dir == USCST_DATA_NONE ? NULL : &ctx->iov;
	req->iovcnt = req->dir == USCST_DATA_NONE ? 0 : 1;
	req->done = req_done;
	req->priv = cmd;
	if (!serialised || queue_enter(uscst_device_cmdset_priv(cmd->dev), ctx))
		start(ctx);
}
