/*
 * The pass-through command set (core/cmdset.h), "passthrough": a real
 * device (SG_IO), an upstream iSCSI LUN, or a user handler that receives
 * whole commands, shared by many initiators.  Commands go whole to the
 * backend's exec_cmd (passthrough_exec.c), except those through which one
 * initiator could break another's use of the device, which the core owns:
 *
 *   RESERVE/RELEASE(6/10), PERSISTENT RESERVE IN/OUT
 *       the core's emulation, as for a disk: reservations live in the
 *       core, between the initiators of this target; the device never sees
 *       them (it sees one initiator, us), and the core refuses a command
 *       that conflicts before it goes out.
 *   REPORT LUNS      our LUN map, not the device's.
 *   REQUEST SENSE    per I_T nexus: a pending unit attention, else NO SENSE.
 *                    The device's sense of a failed command reaches its
 *                    initiator as autosense; asked afterwards, the device
 *                    would answer with whatever its last command, maybe
 *                    another initiator's, left.
 *   MODE SELECT(6/10), LOG SELECT, WRITE BUFFER, MAINTENANCE OUT
 *       change what every initiator of the device sees (the block size of
 *       a tape, log counters, firmware, identification): passed on only
 *       from a nexus that holds the device exclusively (an SPC-2
 *       reservation, or the persistent reservation of type Write Exclusive
 *       or Exclusive Access) or that is the only nexus the device is
 *       mapped to; otherwise RESERVATION CONFLICT: "reserve it first".
 *       Once the device took one, the other nexuses get MODE or LOG
 *       PARAMETERS CHANGED from the core (passthrough_exec.c).
 *   Task management  LU reset and target reset never reach the device: the
 *       core aborts the tasks (waiting for those in the device to end),
 *       drops SPC-2 reservations and raises its unit attentions.  An
 *       aborted task that is in the device goes to the backend's
 *       abort_cmd, which may end it there (dev_iscsi: ABORT TASK upstream).
 *
 * read_only (of the device or of a LUN mapping): only commands known not
 * to change the medium go out (see read_only_allows()).
 *
 * Serialisation: a sequential-access device (tape, 01h) and a medium
 * changer (08h) run one command at a time, in arrival order, whichever
 * nexus and reactor it comes from: a tape has one position, and two
 * initiators' commands interleaved inside the device would move it under
 * each other.  The type is what the device's INQUIRY said at open
 * (uscst_device_set_peripheral_type).
 */
#include "core/pr.h"
#include "scsi/passthrough.h"
#include "scsi/scsi.h"

enum {
	OP_REQUEST_SENSE = 0x03,
	OP_INQUIRY = 0x12,
	OP_MODE_SELECT6 = 0x15,
	OP_RESERVE6 = 0x16,
	OP_RELEASE6 = 0x17,
	OP_WRITE_BUFFER = 0x3b,
	OP_LOG_SELECT = 0x4c,
	OP_MODE_SELECT10 = 0x55,
	OP_RESERVE10 = 0x56,
	OP_RELEASE10 = 0x57,
	OP_PR_IN = 0x5e,
	OP_PR_OUT = 0x5f,
	OP_REPORT_LUNS = 0xa0,
	OP_MAINTENANCE_OUT = 0xa4,
};

/* What the core runs itself, from the disk table (same CDB layouts). */
static bool core_owned(uint8_t opcode)
{
	switch (opcode) {
	case OP_REQUEST_SENSE:
	case OP_RESERVE6:
	case OP_RELEASE6:
	case OP_RESERVE10:
	case OP_RELEASE10:
	case OP_PR_IN:
	case OP_PR_OUT:
	case OP_REPORT_LUNS:
		return true;
	default:
		return false;
	}
}

/* Commands that change state every initiator of the device shares. */
static bool changes_shared_state(uint8_t opcode)
{
	switch (opcode) {
	case OP_MODE_SELECT6:
	case OP_MODE_SELECT10:
	case OP_LOG_SELECT:
	case OP_WRITE_BUFFER:
	case OP_MAINTENANCE_OUT:
		return true;
	default:
		return false;
	}
}

/* The descriptor of every command that goes to the device; dispatch
 * recognises it by address.  No usage mask: the device checks its CDBs. */
static void pt_forward(struct uscst_cmd *cmd);
static const struct scsi_opcode_desc forward_desc = {
    .name = "pass-through",
    .exec = pt_forward,
};

bool passthrough_serialised_type(uint8_t type)
{
	return type == PT_TYPE_SEQUENTIAL || type == PT_TYPE_CHANGER;
}

unsigned passthrough_cdb_len(const struct uscst_cmd *cmd)
{
	unsigned len;
	switch (cmd->cdb[0] >> 5) {
	case 0:
		len = 6;
		break;
	case 1:
	case 2:
		len = 10;
		break;
	case 3: /* 7Fh: variable length; 60h..7Eh are reserved */
		len = cmd->cdb[0] == 0x7f ? 8u + cmd->cdb[7] : cmd->cdb_len;
		break;
	case 4:
		len = 16;
		break;
	case 5:
		len = 12;
		break;
	default: /* vendor specific: as received */
		len = cmd->cdb_len;
		break;
	}
	return len <= cmd->cdb_len ? len : cmd->cdb_len;
}

/* The CONTROL byte's NACA bit (SAM-5 5.2): ACA on the shared device would
 * hold every initiator's commands until one of them clears it, and the
 * core does not do ACA; refused as for a disk, with the field pointer. */
static bool naca_requested(struct uscst_cmd *cmd)
{
	unsigned len = passthrough_cdb_len(cmd);
	unsigned control = cmd->cdb[0] == 0x7f ? 1 : len - 1;
	if (!(cmd->cdb[control] & 0x04))
		return false;
	scsi_invalid_field_cdb(cmd, control, 2);
	return true;
}

static void pt_decode(struct uscst_cmd *cmd)
{
	if (cmd->dev && (core_owned(cmd->cdb[0]) || passthrough_alua_owned(cmd))) {
		cmd->op = scsi_lookup_opcode(cmd->dev, cmd->cdb);
		if (cmd->op)
			cmd->out_len = cmd->op->out_len ? cmd->op->out_len(cmd) : 0;
		else
			cmd->out_len = cmd->exp_write ? cmd->exp_len : 0;
		return;
	}
	/* Length and direction are the initiator's (its expected transfer
	 * length and W bit), so an opcode nobody here knows still goes
	 * through; more than the device could take is not even collected. */
	cmd->op = &forward_desc;
	uint32_t len = cmd->exp_write ? cmd->exp_len : 0;
	cmd->out_len = len > PT_MAX_TRANSFER ? PT_MAX_TRANSFER : len;
}

/* The nexus holds the device for itself: the SPC-2 reservation, or the
 * persistent reservation of a type that admits no other initiator to
 * write (Write Exclusive, Exclusive Access). */
static bool holds_exclusively(const struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	pthread_mutex_lock(&dev->lock);
	bool mine = atomic_load_explicit(&dev->spc2_holder, memory_order_relaxed) == cmd->sess->id;
	const struct pr_state *st = atomic_load_explicit(&dev->pr, memory_order_relaxed);
	if (!mine && st && (pr_type(st) == PR_TYPE_WE || pr_type(st) == PR_TYPE_EA)) {
		struct pr_nexus n = {cmd->sess->initiator_port, cmd->sess->rel_port_id};
		mine = pr_is_holder(st, &n);
	}
	pthread_mutex_unlock(&dev->lock);
	return mine;
}

struct others_arg {
	const struct uscst_session *self;
	const struct uscst_device *dev;
	bool found;
};

static void look_for_other(struct uscst_session *s, void *p)
{
	struct others_arg *a = p;
	if (s == a->self || a->found || !s->luns)
		return;
	for (unsigned i = 0; i < s->luns->count; i++)
		a->found |= s->luns->luns[i].dev == a->dev;
}

/* Another I_T nexus has the device in its LUN map. */
static bool others_see_device(const struct uscst_cmd *cmd)
{
	struct others_arg a = {cmd->sess, cmd->dev, false};
	uscst_session_foreach(look_for_other, &a);
	return a.found;
}

/*
 * Reservations, judged by the core before the command goes out, by what
 * the command does on this type of device (passthrough_class.c).  Where
 * that is what the disk table says, the core's own judgement; where the
 * type gives the opcode another meaning (a tape's READ(16) moves the
 * position every initiator shares: a Write Exclusive holder's tape is not
 * moved by others' reads), as a READ(16) or WRITE(16) would be judged.
 */
static bool conflicts(struct uscst_cmd *cmd)
{
	uint8_t type = uscst_device_peripheral_type(cmd->dev);
	enum pr_cmd_class cls = passthrough_classify(type, cmd->cdb);
	if (passthrough_moves_position(type, cmd->cdb))
		cls = PR_CLASS_WRITE;
	if (cls == pr_classify_cdb(cmd->cdb))
		return scsi_reservation_conflict(cmd);
	return scsi_reservation_conflict_io(cmd, cmd->dev, cls == PR_CLASS_WRITE);
}

/*
 * A read-only device or LUN mapping: what the core cannot tell harmless
 * may change the medium, so only commands the reservation tables call
 * reads or always allowed go out (READ, VERIFY, MODE SENSE, INQUIRY ...),
 * and on a tape the ones that move it without writing (positioning is
 * what reading a tape needs).  The rest: DATA PROTECT, WRITE PROTECTED.
 */
static bool read_only_allows(const struct uscst_cmd *cmd)
{
	uint8_t type = uscst_device_peripheral_type(cmd->dev);
	enum pr_cmd_class cls = passthrough_classify(type, cmd->cdb);
	if (cls == PR_CLASS_ALLOWED || cls == PR_CLASS_READ)
		return true;
	if (type != PT_TYPE_SEQUENTIAL)
		return false;
	switch (cmd->cdb[0]) {
	case 0x01: /* REWIND */
	case 0x05: /* READ BLOCK LIMITS */
	case 0x11: /* SPACE(6) */
	case 0x1b: /* LOAD UNLOAD */
	case 0x2b: /* LOCATE(10) */
	case 0x44: /* REPORT DENSITY SUPPORT */
	case 0x91: /* SPACE(16) */
	case 0x92: /* LOCATE(16) */
		return true;
	default:
		return false;
	}
}

static void pt_forward(struct uscst_cmd *cmd)
{
	uint8_t asc, ascq;
	/* SAM-5 5.14: INQUIRY neither reports nor clears a unit attention
	 * (an initiator probing after a reset gets its data); REPORT LUNS and
	 * REQUEST SENSE are the core's, which treats them so too. */
	if (cmd->cdb[0] != OP_INQUIRY && ua_take(cmd->sess, cmd->lun, &asc, &ascq)) {
		scsi_fail(cmd, SK_UNIT_ATTENTION, asc, ascq);
		return;
	}
	if (passthrough_alua_refused(cmd))
		return;
	/* Bidirectional commands have no place in struct uscst_scsi_req; and
	 * a transfer beyond PT_MAX_TRANSFER was not collected. */
	if ((cmd->exp_read && cmd->exp_write) || cmd->exp_len > PT_MAX_TRANSFER) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	/* A variable-length CDB (7Fh) longer than what arrived: the device
	 * would get it cut short, read as another command. */
	if (cmd->cdb[0] == 0x7f && 8u + cmd->cdb[7] > cmd->cdb_len) {
		scsi_invalid_field_cdb(cmd, 7, -1);
		scsi_cmd_done(cmd);
		return;
	}
	if (naca_requested(cmd)) {
		scsi_cmd_done(cmd);
		return;
	}
	bool serialised = passthrough_serialised_type(uscst_device_peripheral_type(cmd->dev));
	if (conflicts(cmd) || (changes_shared_state(cmd->cdb[0]) && !holds_exclusively(cmd) &&
			       others_see_device(cmd))) {
		cmd->status = SAM_STAT_RESERVATION_CONFLICT;
		scsi_cmd_done(cmd);
		return;
	}
	if ((atomic_load_explicit(&cmd->dev->read_only, memory_order_relaxed) ||
	     cmd->lun_ent->read_only) &&
	    !read_only_allows(cmd)) {
		scsi_fail(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
		return;
	}
	passthrough_send(cmd, serialised);
}

static void pt_dispatch(struct uscst_cmd *cmd)
{
	if (cmd->op == &forward_desc)
		pt_forward(cmd);
	else
		scsi_dispatch(cmd); /* the core-owned commands, checked as for a disk */
}

/* Nothing of the device's own state is the core's to reset: its mode
 * pages are the device's.  The serialisation queue is set up once. */
static void pt_power_on(struct uscst_device *dev) { passthrough_queue_init(dev); }

/* SAM-5 LU reset: SPC-2 reservations go.  The device itself is not reset
 * (other initiators may be in the middle of using it, and it is not ours
 * alone to reset); the core aborted the tasks and raises the UAs. */
static void pt_lu_reset(struct uscst_device *dev) { scsi_reservations_reset(dev); }

const struct uscst_cmdset scsi_passthrough_cmdset = {
    .name = "passthrough",
    .device_type = PT_TYPE_UNKNOWN,
    .dev_priv_size = sizeof(struct passthrough_queue),
    .whole_commands = true,
    .decode = pt_decode,
    .dispatch = pt_dispatch,
    .nexus_lost = scsi_reservations_nexus_lost,
    .power_on = pt_power_on,
    .lu_reset = pt_lu_reset,
    .abort_running = passthrough_abort_running,
};
