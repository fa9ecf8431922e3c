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
#include <string.h>

#include "lib/log.h"
#include "scsi/smc.h"

/* MEDIUM TRANSPORT ADDRESS: the transport element, or 0 for the default
 * one (there is only one). */
static bool transport_ok(struct smc_library *lib, uint16_t addr)
{
	const struct smc_element *e = addr ? smc_find_element(lib, addr) : NULL;
	return !addr || (e && e->type == SMC_ELEM_TRANSPORT);
}

/* Puts the element map back to src holding tape (dst empty) after a
 * failed drive load; best effort for the file and the source drive. */
static void undo_move(struct smc_library *lib, struct smc_element *src, struct smc_element *dst,
		      uint16_t old_source)
{
	int tape = dst->tape;
	dst->tape = -1;
	src->tape = tape;
	lib->tapes[tape].source = old_source;
	smc_save_state(lib);
	struct uscst_device *drive = smc_element_drive(lib, src);
	if (drive) {
		char msg[256] = "";
		if (smc_drive_ops()->load(drive, lib->tapes[tape].path, msg, sizeof(msg)) < 0)
			log_err("drive %s: cannot reload tape %s: %s", uscst_device_name(drive),
				lib->tapes[tape].barcode, msg);
	}
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
	int tape = src->tape;
	uint16_t old_source = lib->tapes[tape].source;
	src->tape = -1;
	dst->tape = tape;
	lib->tapes[tape].source = src->addr;
	if (smc_save_state(lib) < 0) {
		dst->tape = -1;
		src->tape = tape;
		lib->tapes[tape].source = old_source;
		scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	char msg[256] = "";
	if (from && smc_drive_ops()->load(from, NULL, msg, sizeof(msg)) < 0) {
		log_err("drive %s: cannot unload tape %s: %s", uscst_device_name(from),
			lib->tapes[tape].barcode, msg);
		dst->tape = -1;
		src->tape = tape;
		lib->tapes[tape].source = old_source;
		smc_save_state(lib);
		scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	if (to && smc_drive_ops()->load(to, lib->tapes[tape].path, msg, sizeof(msg)) < 0) {
		log_err("drive %s: cannot load tape %s: %s", uscst_device_name(to),
			lib->tapes[tape].barcode, msg);
		undo_move(lib, src, dst, old_source);
		scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	log_info("changer %s: tape %s moved from %u to %u", uscst_device_name(cmd->dev),
		 lib->tapes[tape].barcode, src->addr, dst->addr);
}

void smc_move_medium(struct uscst_cmd *cmd)
{
	struct smc_library *lib = smc_lib(cmd->dev);
	pthread_mutex_lock(&lib->lock);
	move_locked(cmd, lib);
	pthread_mutex_unlock(&lib->lock);
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

/* The inventory is the element map itself, always current: there is
 * nothing to scan. */
void smc_initialize_element_status(struct uscst_cmd *cmd) { scsi_cmd_done(cmd); }

/* RANGE 1: the ELEMENT ADDRESS must be an element's (NUMBER OF ELEMENTS
 * from it may run past the last one, as SMC-3 allows); RANGE 0: every
 * element, the two fields ignored.  FAST changes nothing. */
void smc_initialize_element_status_range(struct uscst_cmd *cmd)
{
	struct smc_library *lib = smc_lib(cmd->dev);
	if (cmd->cdb[1] & 0x01) {
		pthread_mutex_lock(&lib->lock);
		bool ok = smc_find_element(lib, get_be16(cmd->cdb + 2)) != NULL;
		pthread_mutex_unlock(&lib->lock);
		if (!ok)
			scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_ELEMENT_ADDRESS);
	}
	scsi_cmd_done(cmd);
}
