/*
 * The commands that move (or would move) the robot: MOVE MEDIUM (SMC-3
 * 6.6), POSITION TO ELEMENT (6.8), INITIALIZE ELEMENT STATUS (6.3) and
 * INITIALIZE ELEMENT STATUS WITH RANGE (6.4).
 *
 * A move is instantaneous and never leaves a tape in the transport.  It is
 * made durable before it is acknowledged: the state file is written first,
 * then the drives are unloaded / loaded; if a drive cannot take the tape,
 * the map and the file go back to what they were.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uscst/reactor.h>

#include "lib/log.h"
#include "scsi/smc.h"

/* MEDIUM TRANSPORT ADDRESS: the transport element, or 0 for the default
 * one (there is only one). */
static bool transport_ok(struct smc_library *lib, uint16_t addr)
{
	const struct smc_element *e = addr ? smc_find_element(lib, addr) : NULL;
	return !addr || (e && e->type == SMC_ELEM_TRANSPORT);
}

/* One move in the element map, and what undoing it needs. */
struct move {
	struct smc_element *src, *dst;
	int tape;
	uint16_t old_source;
	bool was_imported;
};

static void move_apply(struct smc_library *lib, struct move *m)
{
	struct smc_tape *t = &lib->tapes[m->tape];
	m->old_source = t->source;
	m->was_imported = t->imported;
	m->src->tape = -1;
	m->dst->tape = m->tape;
	t->source = m->src->addr;
	t->imported = false;
}

static void move_revert(struct smc_library *lib, const struct move *m)
{
	struct smc_tape *t = &lib->tapes[m->tape];
	m->dst->tape = -1;
	m->src->tape = m->tape;
	t->source = m->old_source;
	t->imported = m->was_imported;
}

/* A drive could not play its part: the map and the file go back (best
 * effort for the file), and a source drive already emptied gets its tape
 * back. */
static void move_undo(struct smc_library *lib, const struct move *m, struct uscst_device *reload)
{
	move_revert(lib, m);
	smc_save_state(lib);
	char msg[256] = "";
	if (reload && smc_drive_ops()->load(reload, lib->tapes[m->tape].path, msg, sizeof(msg)) < 0)
		log_err("drive %s: cannot reload tape %s: %s", uscst_device_name(reload),
			lib->tapes[m->tape].barcode, msg);
}

/* Runs with lib->lock held; the sense of a refusal is set on cmd. */
static void move_locked(struct uscst_cmd *cmd, struct smc_library *lib)
{
	const uint8_t *cdb = cmd->cdb;
	struct smc_element *src = smc_find_element(lib, get_be16(cdb + 4));
	struct smc_element *dst = smc_find_element(lib, get_be16(cdb + 6));
	if (!transport_ok(lib, get_be16(cdb + 2)) || !src || !dst) {
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_ELEMENT_ADDRESS);
		return;
	}
	/* The transport is neither a source nor a destination here (device
	 * capabilities page: no move from or to MT). */
	if (src->type == SMC_ELEM_TRANSPORT) {
		scsi_invalid_field_cdb(cmd, 4, 7);
		return;
	}
	if (dst->type == SMC_ELEM_TRANSPORT) {
		scsi_invalid_field_cdb(cmd, 6, 7);
		return;
	}
	if (src->tape < 0) {
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_MEDIUM_SOURCE_ELEMENT_EMPTY);
		return;
	}
	if (dst->tape >= 0) {
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_MEDIUM_DEST_ELEMENT_FULL);
		return;
	}
	struct uscst_device *from = smc_element_drive(lib, src);
	struct uscst_device *to = smc_element_drive(lib, dst);
	/* An initiator of the drive holds PREVENT MEDIUM REMOVAL: the tape
	 * stays (SMC-3 6.6: MEDIUM REMOVAL PREVENTED). */
	if (from && smc_drive_ops()->removal_prevented(from)) {
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
		return;
	}
	struct move m = {.src = src, .dst = dst, .tape = src->tape};
	const struct smc_tape *t = &lib->tapes[m.tape];
	move_apply(lib, &m);
	if (smc_save_state(lib) < 0) {
		move_revert(lib, &m);
		scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	char msg[256] = "";
	int rc = from ? smc_drive_ops()->load(from, NULL, msg, sizeof(msg)) : 0;
	if (rc < 0) {
		log_err("drive %s: cannot unload tape %s: %s", uscst_device_name(from), t->barcode,
			msg);
		move_undo(lib, &m, NULL);
		/* -EBUSY: a PREVENT came in after the check above. */
		if (rc == -EBUSY)
			scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
		else
			scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	if (to && smc_drive_ops()->load(to, t->path, msg, sizeof(msg)) < 0) {
		log_err("drive %s: cannot load tape %s: %s", uscst_device_name(to), t->barcode,
			msg);
		move_undo(lib, &m, from);
		scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	log_info("changer %s: tape %s moved from %u to %u", uscst_device_name(cmd->dev), t->barcode,
		 src->addr, dst->addr);
}

static void run_move(struct uscst_cmd *cmd)
{
	struct smc_library *lib = smc_lib(cmd->dev);
	pthread_mutex_lock(&lib->lock);
	move_locked(cmd, lib);
	pthread_mutex_unlock(&lib->lock);
}

/*
 * A move runs on a thread of its own and completes back on the command's
 * reactor.  Loading a drive may block: the tape drive waits for the
 * command it is running to end before it lets its tape go, and that
 * command may belong to a session of this very reactor (one iSCSI session
 * carries the changer's and the drives' LUNs); the state file's fsync
 * blocks too.
 */
struct move_job {
	struct reactor_msg msg; /* first: the completion on the reactor */
	struct reactor *reactor;
	struct uscst_cmd *cmd;
};

static void move_completed(struct reactor_msg *m)
{
	struct move_job *job = (struct move_job *)m;
	struct uscst_cmd *cmd = job->cmd;
	free(job);
	scsi_cmd_done(cmd);
}

static void *move_thread(void *arg)
{
	struct move_job *job = arg;
	run_move(job->cmd);
	reactor_send(job->reactor, &job->msg);
	return NULL;
}

void smc_move_medium(struct uscst_cmd *cmd)
{
	struct reactor *r = reactor_current();
	struct move_job *job = r ? calloc(1, sizeof(*job)) : NULL;
	if (job) {
		*job = (struct move_job){.msg.fn = move_completed, .reactor = r, .cmd = cmd};
		pthread_attr_t attr;
		pthread_t tid;
		bool started = pthread_attr_init(&attr) == 0;
		if (started) {
			pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
			started = pthread_create(&tid, &attr, move_thread, job) == 0;
			pthread_attr_destroy(&attr);
		}
		if (started)
			return;
		free(job);
		log_warn("changer %s: no thread for MOVE MEDIUM; run on the reactor",
			 uscst_device_name(cmd->dev));
	}
	/* No reactor (unit tests) or no thread: here and now. */
	run_move(cmd);
	scsi_cmd_done(cmd);
}

/* Nothing to move: the addresses are checked and the robot "is" there. */
void smc_position_to_element(struct uscst_cmd *cmd)
{
	struct smc_library *lib = smc_lib(cmd->dev);
	pthread_mutex_lock(&lib->lock);
	bool ok = transport_ok(lib, get_be16(cmd->cdb + 2)) &&
		  smc_find_element(lib, get_be16(cmd->cdb + 4));
	pthread_mutex_unlock(&lib->lock);
	if (!ok)
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_ELEMENT_ADDRESS);
	scsi_cmd_done(cmd);
}

/* The element map is always current for what moved through the changer;
 * what an operator did to the library directory (images added or removed)
 * is taken in by a rescan (smc_rescan). */
static void rescan(struct uscst_cmd *cmd, struct smc_library *lib)
{
	if (smc_rescan(lib) < 0)
		scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
}

void smc_initialize_element_status(struct uscst_cmd *cmd)
{
	struct smc_library *lib = smc_lib(cmd->dev);
	pthread_mutex_lock(&lib->lock);
	rescan(cmd, lib);
	pthread_mutex_unlock(&lib->lock);
	scsi_cmd_done(cmd);
}

/* RANGE 1: the ELEMENT ADDRESS must be an element's (NUMBER OF ELEMENTS
 * from it may run past the last one, as SMC-3 allows); RANGE 0: every
 * element, the two fields ignored.  Either way the whole directory is
 * rescanned (an import may land in any empty element).  FAST changes
 * nothing. */
void smc_initialize_element_status_range(struct uscst_cmd *cmd)
{
	struct smc_library *lib = smc_lib(cmd->dev);
	pthread_mutex_lock(&lib->lock);
	if ((cmd->cdb[1] & 0x01) && !smc_find_element(lib, get_be16(cmd->cdb + 2)))
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_ELEMENT_ADDRESS);
	else
		rescan(cmd, lib);
	pthread_mutex_unlock(&lib->lock);
	scsi_cmd_done(cmd);
}
