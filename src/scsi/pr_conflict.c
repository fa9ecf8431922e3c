/*
 * Reservation conflicts: which commands a nexus may run while another holds
 * an SPC-2 RESERVE(6/10) reservation or a persistent reservation.
 *
 * The persistent reservation rules follow the SPC-5 and SBC-4 tables of
 * "commands that are allowed in the presence of various reservations",
 * reduced to three classes: commands always allowed, commands that read
 * (allowed under Write Exclusive types), and everything else, which
 * conflicts unless the reservation type admits the registered nexus.
 */
#include "core/pr.h"
#include "scsi/scsi.h"

/* Opcodes named by the tables. */
enum {
	OP_TEST_UNIT_READY = 0x00,
	OP_REQUEST_SENSE = 0x03,
	OP_READ6 = 0x08,
	OP_INQUIRY = 0x12,
	OP_RESERVE6 = 0x16,
	OP_RELEASE6 = 0x17,
	OP_MODE_SENSE6 = 0x1a,
	OP_RECEIVE_DIAGNOSTIC = 0x1c,
	OP_READ_CAPACITY10 = 0x25,
	OP_READ10 = 0x28,
	OP_VERIFY10 = 0x2f,
	OP_PREFETCH10 = 0x34,
	OP_READ_DEFECT10 = 0x37,
	OP_READ_BUFFER = 0x3c,
	OP_READ_LONG10 = 0x3e,
	OP_LOG_SENSE = 0x4d,
	OP_RESERVE10 = 0x56,
	OP_RELEASE10 = 0x57,
	OP_MODE_SENSE10 = 0x5a,
	OP_PR_IN = 0x5e,
	OP_PR_OUT = 0x5f,
	OP_VARIABLE = 0x7f,
	OP_READ16 = 0x88,
	OP_READ_ATTRIBUTE = 0x8c,
	OP_VERIFY16 = 0x8f,
	OP_PREFETCH16 = 0x90,
	OP_SERVICE_ACTION_IN16 = 0x9e,
	OP_REPORT_LUNS = 0xa0,
	OP_MAINTENANCE_IN = 0xa3,
	OP_READ12 = 0xa8,
	OP_SERVICE_ACTION_IN12 = 0xab,
	OP_VERIFY12 = 0xaf,
	OP_READ_DEFECT12 = 0xb7,
};

#define SAI16_READ_CAPACITY16 0x10
#define SAI16_READ_LONG16 0x11
#define SAI16_GET_LBA_STATUS 0x12
#define MI_REPORT_SUPPORTED_OPCODES 0x0c
#define MI_REPORT_SUPPORTED_TMFS 0x0d
#define VAR_READ32 0x0009
#define VAR_VERIFY32 0x000a

/* REPORT SUPPORTED OPERATION CODES / TMFS go with MODE SENSE, as
 * ALLOW COMMANDS 010b says; REPORT TARGET PORT GROUPS etc. always run. */
static enum pr_cmd_class classify_maintenance_in(const uint8_t *cdb)
{
	uint8_t sa = cdb[1] & 0x1f;
	if (sa == MI_REPORT_SUPPORTED_OPCODES || sa == MI_REPORT_SUPPORTED_TMFS)
		return PR_CLASS_READ;
	return PR_CLASS_ALLOWED;
}

static enum pr_cmd_class classify_service_action_in16(const uint8_t *cdb)
{
	switch (cdb[1] & 0x1f) {
	case SAI16_READ_CAPACITY16:
		return PR_CLASS_ALLOWED;
	case SAI16_READ_LONG16:
	case SAI16_GET_LBA_STATUS:
		return PR_CLASS_READ;
	default:
		return PR_CLASS_WRITE;
	}
}

static enum pr_cmd_class classify_variable(const uint8_t *cdb)
{
	uint16_t sa = get_be16(cdb + 8);
	return (sa == VAR_READ32 || sa == VAR_VERIFY32) ? PR_CLASS_READ : PR_CLASS_WRITE;
}

enum pr_cmd_class pr_classify_cdb(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case OP_TEST_UNIT_READY:
	case OP_REQUEST_SENSE:
	case OP_INQUIRY:
	case OP_READ_CAPACITY10:
	case OP_LOG_SENSE:
	case OP_PR_IN:
	case OP_REPORT_LUNS:
	case OP_SERVICE_ACTION_IN12: /* READ MEDIA SERIAL NUMBER */
		return PR_CLASS_ALLOWED;
	case OP_MAINTENANCE_IN:
		return classify_maintenance_in(cdb);
	case OP_RESERVE6:
	case OP_RELEASE6:
	case OP_RESERVE10:
	case OP_RELEASE10:
	case OP_PR_OUT:
		return PR_CLASS_OWN;
	case OP_READ6:
	case OP_READ10:
	case OP_READ12:
	case OP_READ16:
	case OP_VERIFY10:
	case OP_VERIFY12:
	case OP_VERIFY16:
	case OP_PREFETCH10:
	case OP_PREFETCH16:
	case OP_MODE_SENSE6:
	case OP_MODE_SENSE10:
	case OP_RECEIVE_DIAGNOSTIC:
	case OP_READ_BUFFER:
	case OP_READ_ATTRIBUTE:
	case OP_READ_DEFECT10:
	case OP_READ_DEFECT12:
	case OP_READ_LONG10:
		return PR_CLASS_READ;
	case OP_SERVICE_ACTION_IN16:
		return classify_service_action_in16(cdb);
	case OP_VARIABLE:
		return classify_variable(cdb);
	default:
		return PR_CLASS_WRITE;
	}
}

/* For a nexus that does not hold the reservation. */
bool pr_class_conflicts(uint8_t type, bool registered, enum pr_cmd_class cls)
{
	if (type == PR_TYPE_NONE || cls == PR_CLASS_ALLOWED || cls == PR_CLASS_OWN)
		return false;
	/* Registrants-only and all-registrants types treat registrants as holders. */
	if (pr_type_for_registrants(type) && registered)
		return false;
	bool exclusive_access =
	    type == PR_TYPE_EA || type == PR_TYPE_EA_RO || type == PR_TYPE_EA_AR;
	if (cls == PR_CLASS_READ)
		return exclusive_access;
	return true;
}

/*
 * SPC-2 reservations let others run only commands that do not touch the
 * medium or the device's state: the identification and status commands,
 * RELEASE (which then does nothing) and PERSISTENT RESERVE IN.
 */
bool spc2_allowed_for_others(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case OP_TEST_UNIT_READY:
	case OP_REQUEST_SENSE:
	case OP_INQUIRY:
	case OP_REPORT_LUNS:
	case OP_MAINTENANCE_IN:
	case OP_RELEASE6:
	case OP_RELEASE10:
	case OP_PR_IN:
		return true;
	default:
		return false;
	}
}

static bool spc2_conflict(const struct uscst_session *sess, const uint8_t *cdb, uint64_t holder)
{
	if (holder == 0 || holder == sess->id)
		return false;
	/* RESERVE from another nexus conflicts; spc_reserve() says so itself. */
	return !spc2_allowed_for_others(cdb);
}

static bool persistent_conflict(const struct uscst_session *sess, const uint8_t *cdb,
				const struct pr_state *st)
{
	if (!st || pr_type(st) == PR_TYPE_NONE)
		return false;
	enum pr_cmd_class cls = pr_classify_cdb(cdb);
	if (cls == PR_CLASS_ALLOWED || cls == PR_CLASS_OWN)
		return false;
	struct pr_nexus n = {sess->initiator_port, sess->rel_port_id};
	const struct pr_reg *reg = pr_find(st, &n);
	if (reg && pr_reg_is_holder(st, reg))
		return false;
	return pr_class_conflicts(pr_type(st), reg != NULL, cls);
}

/* Whether cdb from the nexus sess conflicts with dev's reservations. */
static bool conflict_on(struct uscst_device *dev, const struct uscst_session *sess,
			const uint8_t *cdb)
{
	/*
	 * Fast path: no SPC-2 holder and no persistent reservation.  Both are
	 * only changed under dev->lock (dev->pr, once set, stays); a stale read
	 * here is the same as the command having arrived a moment earlier.
	 */
	const struct pr_state *st = atomic_load_explicit(&dev->pr, memory_order_acquire);
	if (!atomic_load_explicit(&dev->spc2_holder, memory_order_relaxed) &&
	    (!st || pr_reservation_type_unlocked(st) == PR_TYPE_NONE))
		return false;
	if (!sess)
		return false; /* not from a nexus (internal use): nothing to check */

	pthread_mutex_lock(&dev->lock);
	bool conflict =
	    spc2_conflict(sess, cdb,
			  atomic_load_explicit(&dev->spc2_holder, memory_order_relaxed)) ||
	    persistent_conflict(sess, cdb, atomic_load_explicit(&dev->pr, memory_order_relaxed));
	pthread_mutex_unlock(&dev->lock);
	return conflict;
}

bool scsi_reservation_conflict(struct uscst_cmd *cmd)
{
	return conflict_on(cmd->dev, cmd->sess, cmd->cdb);
}

bool scsi_reservation_conflict_io(const struct uscst_cmd *cmd, struct uscst_device *dev, bool write)
{
	/* Judged exactly as a READ(16) or WRITE(16) of dev from the nexus. */
	static const uint8_t read16[16] = {0x88}, write16[16] = {0x8a};
	return conflict_on(dev, cmd->sess, write ? write16 : read16);
}
