/*
 * The SSC command set (core/cmdset.h): sequential-access devices (vtape).
 *
 * A tape has one position shared by every I_T nexus, and each command
 * moves it: commands run one at a time per drive, in arrival order, from
 * whichever sessions and reactor threads they come.  A command that finds
 * the drive busy waits in the drive's queue; when the running one ends,
 * the next is handed to its own session's reactor (where its transport
 * expects its completion) with a message embedded in the command.
 *
 * A tape change (the backend's run-time filename, a changer) does not wait
 * for the drive: see ssc_medium_changed and struct ssc_state.
 */
#include <stdlib.h>
#include <sys/random.h>

#include <uscst/reactor.h>

#include "scsi/ssc.h"

static void ssc_decode(struct uscst_cmd *cmd)
{
	cmd->op = ssc_lookup_opcode(cmd->cdb);
	if (cmd->op && cmd->op->out_len)
		cmd->out_len = cmd->dev ? cmd->op->out_len(cmd) : 0;
	else
		/* Unknown command: take what the initiator sends, then fail it. */
		cmd->out_len = (!cmd->op && cmd->exp_write) ? cmd->exp_len : 0;
}

/* While a command waits in the queue its hstate holds the message that
 * resumes it ([0..1]) and the queue link ([2]); the handler that runs it
 * later may reuse them. */
_Static_assert(sizeof(struct reactor_msg) <= 2 * sizeof(uint64_t), "reactor_msg in hstate");
static struct uscst_cmd *q_next(const struct uscst_cmd *cmd)
{
	return (struct uscst_cmd *)(uintptr_t)cmd->hstate[2];
}

static void set_q_next(struct uscst_cmd *cmd, struct uscst_cmd *next)
{
	cmd->hstate[2] = (uint64_t)(uintptr_t)next;
}

static void ssc_cmd_done(struct uscst_cmd *cmd);
static void mode_defaults(struct uscst_device *dev, struct ssc_state *st);

static void start(struct ssc_state *st, struct uscst_cmd *cmd)
{
	st->running_done = cmd->done;
	cmd->done = ssc_cmd_done;
	/* Before scsi_dispatch takes the unit attentions (seq_cst: a change
	 * that bumps gen later raised its UA before, see ssc_medium_changed). */
	st->start_gen = atomic_load(&st->gen);
	if (cmd->aborted) {
		/* Aborted while it waited: it must not move the tape. */
		scsi_cmd_done(cmd);
		return;
	}
	scsi_dispatch(cmd);
}

static void resume(struct reactor_msg *m)
{
	struct uscst_cmd *cmd =
	    (struct uscst_cmd *)((char *)m - offsetof(struct uscst_cmd, hstate));
	start(ssc_state(cmd->dev), cmd);
}

/* The next command starts on its session's thread; without reactors (unit
 * tests) at once. */
static void kick(struct ssc_state *st, struct uscst_cmd *next)
{
	struct reactor *r = atomic_load_explicit(&next->sess->reactor, memory_order_acquire);
	if (!r) {
		start(st, next);
		return;
	}
	struct reactor_msg *m = (struct reactor_msg *)next->hstate;
	m->fn = resume;
	m->next = NULL;
	reactor_send(r, m);
}

static void ssc_cmd_done(struct uscst_cmd *cmd)
{
	struct ssc_state *st = ssc_state(cmd->dev);
	void (*done)(struct uscst_cmd *) = st->running_done;
	cmd->done = done;
	pthread_mutex_lock(&st->qlock);
	if (st->reset_pending) {
		st->reset_pending = false;
		mode_defaults(cmd->dev, st);
	}
	struct uscst_cmd *next = st->qhead;
	if (next) {
		st->qhead = q_next(next);
		if (!st->qhead)
			st->qtail = NULL;
	} else {
		st->busy = false;
	}
	pthread_mutex_unlock(&st->qlock);
	/* The transport may free cmd: hand the drive on first. */
	if (next)
		kick(st, next);
	done(cmd);
}

/*
 * The backend changed the tape (uscst_device_medium_changed(): the old one
 * left, then maybe a new one arrived; the core set medium_present and
 * raised NOT READY TO READY CHANGE for an arrival).  It never waits (a
 * changer may call it on a reactor): the running command's next I/O finds
 * the change and ends NOT READY, and the next command mounts what is
 * loaded now, at BOT (ssc_sync_tape).
 */
static void ssc_medium_changed(struct uscst_device *dev, bool present)
{
	struct ssc_state *st = ssc_state(dev);
	pthread_mutex_lock(&st->io_lock);
	/* seq_cst: for an arrival the core has raised the unit attention
	 * already; a command that sees this gen sees that UA too. */
	atomic_fetch_add(&st->gen, 1);
	atomic_store_explicit(&st->changing, !present, memory_order_relaxed);
	atomic_store_explicit(&st->has_image, present, memory_order_relaxed);
	pthread_mutex_unlock(&st->io_lock);
}

static void ssc_dispatch(struct uscst_cmd *cmd)
{
	if (!cmd->dev) {
		scsi_dispatch(cmd);
		return;
	}
	struct ssc_state *st = ssc_state(cmd->dev);
	pthread_mutex_lock(&st->qlock);
	if (st->busy) {
		set_q_next(cmd, NULL);
		if (st->qtail)
			set_q_next(st->qtail, cmd);
		else
			st->qhead = cmd;
		st->qtail = cmd;
		pthread_mutex_unlock(&st->qlock);
		return;
	}
	st->busy = true;
	pthread_mutex_unlock(&st->qlock);
	start(st, cmd);
}

static void mode_defaults(struct uscst_device *dev, struct ssc_state *st)
{
	pthread_mutex_lock(&dev->lock);
	atomic_store_explicit(&dev->wce, false, memory_order_relaxed);
	atomic_store_explicit(&dev->d_sense, false, memory_order_relaxed);
	atomic_store_explicit(&dev->swp, false, memory_order_relaxed);
	pthread_mutex_unlock(&dev->lock);
	st->block_len = 0; /* variable-block mode */
	st->unbuffered = false;
}

/* A tape drive's medium is removable (INQUIRY RMB = 1).  The image is
 * mounted by the first command that needs it (ssc_with_tape). */
static void ssc_power_on(struct uscst_device *dev)
{
	struct ssc_state *st = ssc_state(dev);
	if (!st->locks_ready) {
		pthread_mutexattr_t attr;
		pthread_mutexattr_init(&attr);
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&st->io_lock, &attr);
		pthread_mutexattr_destroy(&attr);
		pthread_mutex_init(&st->qlock, NULL);
		st->locks_ready = true;
	}
	dev->removable = true;
	st->reset_pending = false;
	mode_defaults(dev, st);
	ssc_unmount(st);
	st->unloaded = false;
	atomic_store_explicit(&st->changing, false, memory_order_relaxed);
	/* The backend has opened the image, or found `filename none`. */
	atomic_store_explicit(&st->has_image,
			      atomic_load_explicit(&dev->medium_present, memory_order_relaxed),
			      memory_order_relaxed);
	if (getrandom(&st->rng, sizeof(st->rng), 0) != sizeof(st->rng) || !st->rng)
		st->rng = 0x9e3779b9u;
}

/* SAM-5 LU reset: SPC-2 reservations go, mode parameters return to their
 * defaults; the tape keeps its position (a reset does not rewind).  The
 * reset comes from the task management thread: a command still running
 * keeps the block length it started with (it may be in the middle of a
 * fixed-block WRITE), so the defaults wait for it to end (ssc_cmd_done). */
static void ssc_lu_reset(struct uscst_device *dev)
{
	struct ssc_state *st = ssc_state(dev);
	scsi_reservations_reset(dev);
	pthread_mutex_lock(&st->qlock);
	if (st->busy)
		st->reset_pending = true;
	else
		mode_defaults(dev, st);
	pthread_mutex_unlock(&st->qlock);
}

const struct uscst_cmdset scsi_ssc_cmdset = {
    .name = "ssc",
    .device_type = SSC_DEVICE_TYPE,
    .dev_priv_size = sizeof(struct ssc_state),
    .decode = ssc_decode,
    .dispatch = ssc_dispatch,
    .nexus_lost = scsi_reservations_nexus_lost,
    .power_on = ssc_power_on,
    .lu_reset = ssc_lu_reset,
    .medium_changed = ssc_medium_changed,
};
