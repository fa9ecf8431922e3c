/*
 * PERSISTENT RESERVE OUT (SPC-5 6.17): checks the CDB and the parameter
 * list, runs the service action on dev->pr (core/pr_state.c) under
 * dev->lock, then delivers the unit attentions it produced once the lock
 * is dropped (ua_establish takes the session locks).
 *
 * Not supported: SPEC_I_PT (INVALID FIELD IN PARAMETER LIST; SIP_C=0 in
 * REPORT CAPABILITIES).  PREEMPT AND ABORT sets COMMANDS CLEARED BY
 * ANOTHER INITIATOR on the preempted nexuses and has their transport abort
 * their tasks for the device.
 *
 * APTPL (SPC-5 5.14.5): the APTPL bit of the latest REGISTER, REGISTER AND
 * IGNORE EXISTING KEY or REGISTER AND MOVE decides whether the state
 * persists.  While it is 1, every PR OUT that changes the state writes the
 * device's pr_file_name (core/pr_persist.c) before the command completes;
 * the registration that sets it to 0 removes the file.  APTPL=1 on a device
 * without a pr_file_name (PTPL_C=0) is INVALID FIELD IN PARAMETER LIST.
 * When the write or the removal fails, the command fails with HARDWARE
 * ERROR / INTERNAL TARGET FAILURE (SPC has no dedicated code) and the
 * in-memory state is rolled back to what it was before the command, unit
 * attentions dropped: the initiator saw a failure, so nothing changed, and
 * memory and file agree.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uscst/reactor.h>

#include "core/pr.h"
#include "lib/log.h"
#include "scsi/scsi.h"

enum {
	SA_REGISTER = 0x00,
	SA_RESERVE = 0x01,
	SA_RELEASE = 0x02,
	SA_CLEAR = 0x03,
	SA_PREEMPT = 0x04,
	SA_PREEMPT_AND_ABORT = 0x05,
	SA_REGISTER_AND_IGNORE = 0x06,
	SA_REGISTER_AND_MOVE = 0x07,
};

#define PARAM_LEN 24
/* Basic parameter list byte 20. */
#define P20_SPEC_I_PT 0x08
#define P20_ALL_TG_PT 0x04
#define P20_APTPL 0x01
/* REGISTER AND MOVE parameter list byte 17. */
#define P17_UNREG 0x02
#define P17_APTPL 0x01

/* iSCSI TransportID (SPC-5 7.6.4.6). */
#define TPID_PROTO_MASK 0x0f
#define TPID_PROTO_ISCSI 0x05
#define TPID_FORMAT_MASK 0xc0
#define TPID_FORMAT_PORT 0x40
#define TPID_HEADER_LEN 4

struct pr_out_params {
	uint8_t sa, scope, type;
	uint64_t res_key, sa_key;
	uint8_t flags20; /* byte 20 of the basic parameter list */
};

static bool is_register(uint8_t sa) { return sa == SA_REGISTER || sa == SA_REGISTER_AND_IGNORE; }

static bool needs_type(uint8_t sa)
{
	return sa == SA_RESERVE || sa == SA_RELEASE || sa == SA_PREEMPT ||
	       sa == SA_PREEMPT_AND_ABORT;
}

static void fail_param_length(struct uscst_cmd *cmd)
{
	scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
}

/* Checks the CDB and the parameter list; false once it has failed cmd.
 * The SERVICE ACTION needs no check: the opcode table routes only the
 * eight of PERSISTENT RESERVE OUT here, dispatch fails the others. */
static bool parse_params(struct uscst_cmd *cmd, struct pr_out_params *p)
{
	uint32_t param_len = get_be32(cmd->cdb + 5);
	p->sa = cmd->cdb[1] & 0x1f;
	p->scope = cmd->cdb[2] >> 4;
	p->type = cmd->cdb[2] & 0x0f;

	if (param_len < PARAM_LEN || cmd->out_buf_len < PARAM_LEN) {
		fail_param_length(cmd);
		return false;
	}
	const uint8_t *buf = cmd->out_buf;
	p->res_key = get_be64(buf);
	p->sa_key = get_be64(buf + 8);
	p->flags20 = p->sa == SA_REGISTER_AND_MOVE ? 0 : buf[20];

	if (p->flags20 & P20_SPEC_I_PT) {
		scsi_invalid_field_param(cmd, 20, 3); /* unsupported (SIP_C=0) */
		return false;
	}
	if (p->sa != SA_REGISTER_AND_MOVE && param_len != PARAM_LEN) {
		fail_param_length(cmd);
		return false;
	}
	/* The APTPL bit counts only for the registering service actions. */
	bool aptpl = p->sa == SA_REGISTER_AND_MOVE ? buf[17] & P17_APTPL
						   : is_register(p->sa) && (p->flags20 & P20_APTPL);
	if (aptpl && !cmd->dev->pr_file_name) {
		scsi_invalid_field_param(cmd, p->sa == SA_REGISTER_AND_MOVE ? 17 : 20, 0);
		return false;
	}
	if ((p->flags20 & P20_ALL_TG_PT) && !is_register(p->sa)) {
		scsi_invalid_field_param(cmd, 20, 2);
		return false;
	}
	if (needs_type(p->sa) && p->scope != PR_SCOPE_LU) {
		scsi_invalid_field_cdb(cmd, 2, 7);
		return false;
	}
	if (needs_type(p->sa) && !pr_type_valid(p->type)) {
		scsi_invalid_field_cdb(cmd, 2, 3);
		return false;
	}
	return true;
}

/* REGISTER AND MOVE's destination: RELATIVE TARGET PORT IDENTIFIER and an
 * iSCSI TransportID of format 01b naming the initiator port. */
static bool parse_move_dest(struct uscst_cmd *cmd, char *port, size_t port_size,
			    uint16_t *rel_tgt_id)
{
	const uint8_t *buf = cmd->out_buf;
	uint32_t param_len = get_be32(cmd->cdb + 5);
	uint32_t tid_len = get_be32(buf + 20);
	if (tid_len < TPID_HEADER_LEN || tid_len > param_len - PARAM_LEN ||
	    cmd->out_buf_len - PARAM_LEN < tid_len) {
		fail_param_length(cmd);
		return false;
	}
	const uint8_t *tid = buf + PARAM_LEN;
	if ((tid[0] & TPID_PROTO_MASK) != TPID_PROTO_ISCSI ||
	    (tid[0] & TPID_FORMAT_MASK) != TPID_FORMAT_PORT) {
		scsi_invalid_field_param(cmd, PARAM_LEN, 7);
		return false;
	}
	uint32_t name_len = get_be16(tid + 2);
	if (name_len > tid_len - TPID_HEADER_LEN) {
		scsi_invalid_field_param(cmd, PARAM_LEN + 2, -1);
		return false;
	}
	const char *name = (const char *)tid + TPID_HEADER_LEN;
	size_t n = strnlen(name, name_len);
	if (n == 0 || n == name_len || n >= port_size || !strstr(name, ",i,0x")) {
		scsi_invalid_field_param(cmd, PARAM_LEN + TPID_HEADER_LEN, -1);
		return false;
	}
	memcpy(port, name, n + 1);
	*rel_tgt_id = get_be16(buf + 18);
	return true;
}

static enum pr_result run_action(struct uscst_cmd *cmd, struct pr_state *st,
				 const struct pr_out_params *p, const struct pr_nexus *dest,
				 struct pr_events *ev)
{
	struct pr_nexus self = {cmd->sess->initiator_port, cmd->sess->rel_port_id};
	switch (p->sa) {
	case SA_REGISTER:
	case SA_REGISTER_AND_IGNORE: {
		struct pr_register_args a = {
		    .res_key = p->res_key,
		    .sa_key = p->sa_key,
		    .ignore_existing = p->sa == SA_REGISTER_AND_IGNORE,
		    .aptpl = p->flags20 & P20_APTPL,
		    .all_tg_pt = p->flags20 & P20_ALL_TG_PT,
		};
		return pr_register(st, &self, &a, ev);
	}
	case SA_RESERVE:
		return pr_reserve(st, &self, p->res_key, p->type);
	case SA_RELEASE:
		return pr_release(st, &self, p->res_key, p->type, ev);
	case SA_CLEAR:
		return pr_clear(st, &self, p->res_key, ev);
	case SA_PREEMPT:
	case SA_PREEMPT_AND_ABORT:
		return pr_preempt(st, &self, p->res_key, p->sa_key, p->type,
				  p->sa == SA_PREEMPT_AND_ABORT, ev);
	default: {
		const uint8_t *buf = cmd->out_buf;
		return pr_register_and_move(st, &self, p->res_key, p->sa_key, dest,
					    buf[17] & P17_UNREG, buf[17] & P17_APTPL, ev);
	}
	}
}

static void report_result(struct uscst_cmd *cmd, enum pr_result r)
{
	switch (r) {
	case PR_OK:
		break;
	case PR_CONFLICT:
		cmd->status = SAM_STAT_RESERVATION_CONFLICT;
		break;
	case PR_INVALID_RELEASE:
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_RELEASE_OF_PR);
		break;
	case PR_INVALID_PARAM:
		scsi_invalid_field_param(cmd, 8, -1); /* SERVICE ACTION RESERVATION KEY */
		break;
	case PR_INVALID_TYPE:
		scsi_invalid_field_cdb(cmd, 2, 3);
		break;
	case PR_NO_RESOURCES:
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST,
				     ASC_INSUFFICIENT_REGISTRATION_RESOURCES);
		break;
	case PR_NOMEM:
	case PR_SAVE_FAILED:
		scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		break;
	}
}

/* --- unit attentions for the nexuses a service action affected --- */

struct ua_target {
	const struct uscst_device *dev;
	const struct pr_event *ev;
	const struct uscst_session *issuer;
	struct uscst_fence *fence; /* PREEMPT AND ABORT waits for the aborted tasks */
};

/* Every LUN through which the session sees the device gets the UA. */
static void ua_to_session_if_nexus(struct uscst_session *s, void *arg)
{
	const struct ua_target *t = arg;
	if (s == t->issuer && t->ev->asc == 0x2f && t->ev->ascq == 0x00)
		return; /* never our own tasks: this command is one of them */
	if (strcasecmp(s->initiator_port, t->ev->port) != 0)
		return;
	if (!t->ev->all_tg_pt && s->rel_port_id != t->ev->rel_tgt_id)
		return;
	const struct uscst_lun_map *map = s->luns;
	bool sees = false;
	for (unsigned i = 0; map && i < map->count; i++) {
		if (map->luns[i].dev == t->dev) {
			ua_establish(s, map->luns[i].lun, t->ev->asc, t->ev->ascq);
			sees = true;
		}
	}
	/* PREEMPT AND ABORT: the preempted nexuses lose their tasks too. */
	if (sees && t->ev->asc == 0x2f && t->ev->ascq == 0x00)
		core_session_abort_async(s, t->dev, t->fence, 0);
}

static void deliver_events(const struct uscst_device *dev, const struct pr_events *ev,
			   const struct uscst_session *issuer, struct uscst_fence *fence)
{
	for (unsigned i = 0; i < ev->count; i++) {
		struct ua_target t = {dev, &ev->ev[i], issuer, fence};
		uscst_session_foreach(ua_to_session_if_nexus, &t);
	}
}

/* PREEMPT AND ABORT completes only when no task it aborted, on any nexus
 * or thread, can still touch the medium (a cluster fences with it). */
struct preempt_abort {
	struct uscst_fence fence;
	struct reactor_msg msg;
	struct reactor *reactor;
	struct uscst_cmd *cmd;
};

static void preempt_abort_complete(struct reactor_msg *m)
{
	struct preempt_abort *pa =
	    (struct preempt_abort *)((char *)m - offsetof(struct preempt_abort, msg));
	struct uscst_cmd *cmd = pa->cmd;
	free(pa);
	scsi_cmd_done(cmd);
}

static void preempt_abort_fenced(struct uscst_fence *f)
{
	struct preempt_abort *pa = (struct preempt_abort *)f;
	reactor_send(pa->reactor, &pa->msg);
}

/* dev->pr exists from the first PERSISTENT RESERVE OUT on; NULL: ENOMEM. */
static struct pr_state *device_pr(struct uscst_device *dev)
{
	struct pr_state *st = atomic_load_explicit(&dev->pr, memory_order_relaxed);
	if (!st) {
		st = pr_state_new();
		atomic_store_explicit(&dev->pr, st, memory_order_release);
	}
	return st;
}

/*
 * Brings pr_file_name in line with st after a successful service action:
 * written while APTPL is set (unless the text did not change, e.g. a
 * repeated RESERVE), removed once it is cleared.  Called with dev->lock
 * held, so files are written in the order the states were made.  This is
 * synchronous file I/O with fsyncs on the reactor thread: acceptable for PR
 * OUT, an administrative command sent at cluster membership changes, not
 * on the I/O path.  false: failed, logged, message in err.
 */
static bool persist(struct uscst_device *dev, const struct pr_state *st, char *err, size_t errlen)
{
	if (!st->aptpl) {
		if (!dev->pr_saved)
			return true;
		if (pr_file_remove(dev->pr_file_name, err, errlen) < 0)
			return false;
		free(dev->pr_saved);
		dev->pr_saved = NULL;
		return true;
	}
	char *text = pr_state_text(st);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	if (dev->pr_saved && strcmp(text, dev->pr_saved) == 0) {
		free(text);
		return true;
	}
	if (pr_file_save(dev->pr_file_name, text, err, errlen) < 0) {
		free(text);
		return false;
	}
	free(dev->pr_saved);
	dev->pr_saved = text;
	return true;
}

/* Runs the action; with persistence, on a copy-backed state that goes back
 * to its old contents (events dropped) if the file cannot follow. */
static enum pr_result run_locked(struct uscst_cmd *cmd, const struct pr_out_params *p,
				 const struct pr_nexus *dest, struct pr_events *ev)
{
	struct uscst_device *dev = cmd->dev;
	struct pr_state *st = device_pr(dev);
	if (!st)
		return PR_NOMEM;
	if (!dev->pr_file_name)
		return run_action(cmd, st, p, dest, ev);
	struct pr_state *before = pr_state_copy(st);
	if (!before)
		return PR_NOMEM;
	enum pr_result r = run_action(cmd, st, p, dest, ev);
	char err[512];
	if (r == PR_OK && !persist(dev, st, err, sizeof(err))) {
		log_err("%s: PERSISTENT RESERVE OUT failed, state unchanged: %s", dev->name, err);
		pr_state_restore(st, before);
		before = NULL;
		pr_events_free(ev);
		ev->lost = false;
		r = PR_SAVE_FAILED;
	}
	pr_state_free(before);
	return r;
}

void spc_pr_out(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	struct pr_out_params p;
	char dest_port[PR_PORT_MAX];
	struct pr_nexus dest = {dest_port, 0};
	struct pr_events ev = {0};

	if (!parse_params(cmd, &p) ||
	    (p.sa == SA_REGISTER_AND_MOVE &&
	     !parse_move_dest(cmd, dest_port, sizeof(dest_port), &dest.rel_tgt_id))) {
		scsi_cmd_done(cmd);
		return;
	}

	/* Allocated before the action so that a PREEMPT AND ABORT never
	 * changes the state and then cannot wait for its aborts. */
	struct preempt_abort *pa = NULL;
	if (p.sa == SA_PREEMPT_AND_ABORT) {
		pa = calloc(1, sizeof(*pa));
		if (!pa) {
			scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
			scsi_cmd_done(cmd);
			return;
		}
		uscst_fence_init(&pa->fence, preempt_abort_fenced);
		pa->msg.fn = preempt_abort_complete;
		pa->reactor = reactor_current();
		pa->cmd = cmd;
	}

	pthread_mutex_lock(&dev->lock);
	enum pr_result r = run_locked(cmd, &p, &dest, &ev);
	pthread_mutex_unlock(&dev->lock);

	report_result(cmd, r);
	deliver_events(dev, &ev, cmd->sess, pa ? &pa->fence : NULL);
	if (ev.lost)
		log_warn("%s: out of memory: some reservation unit attentions not queued",
			 dev->name);
	pr_events_free(&ev);
	if (pa && pa->reactor) {
		uscst_fence_put(&pa->fence);
		return;
	}
	free(pa); /* no reactor (unit tests): nothing runs elsewhere */
	scsi_cmd_done(cmd);
}
