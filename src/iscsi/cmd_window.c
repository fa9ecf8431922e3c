/*
 * The CmdSN window, granted against the daemon's buffer memory.
 *
 * An initiator may send data unasked only with a command, and a command
 * only inside the window we grant (RFC 7143 4.2.2.1): immediate data up to
 * FirstBurstLength (and MaxRecvDataSegmentLength) with ImmediateData=Yes,
 * and with InitialR2T=No an unsolicited burst up to FirstBurstLength.  The
 * target cannot refuse those bytes once the command is in the window, so
 * each open slot (a CmdSN from ExpCmdSN to MaxCmdSN) reserves that much of
 * MaxBufferMemory before it is granted.  The reservation of a slot is given
 * back once ExpCmdSN passes it: by then its command is here and its buffer
 * is counted for real (write_buf.c).  Without this, 64 sessions at
 * QueuedCommands 32 and FirstBurstLength 64 KiB could hold 128 MiB beyond
 * MaxBufferMemory.
 *
 * No deadlock: a session with no command in the target (nactive 0) and no
 * open slot is granted one slot whatever the daemon's total, so the total
 * passes MaxBufferMemory by at most one slot per session (and by what
 * two reactors granting at once both see as room: the check and the
 * publication are two steps, as for a connection's own takes).  A session whose
 * slots are all used and that has commands in the target gets no slot
 * without room (else each of its QueuedCommands would take one), but it
 * needs none to move: those commands end (the oldest undelivered one is
 * never parked by the write gate, write_buf.c; the rest wait only for
 * older ones or for memory that older ones give back), each response
 * carries a new grant, and when the last task is freed with the window
 * still closed, iscsi_conn_flush sends the NOP-In of
 * iscsi_nop_window_update, whose grant then finds nactive 0 (the
 * connection's tick sends it too, should that NOP-In not be queued).
 * The one slot's command makes progress as the session's oldest.
 * Sessions held to small windows get bigger ones with their next PDU
 * after others give memory back.
 *
 * Everything here runs on the session's reactor (MC/S connections share
 * the session and its window); only the daemon total is shared.
 */
#include "iscsi/cmd_window.h"

#include "iscsi/conn_limits.h"
#include "iscsi/iscsi.h"

/* Bytes the initiator may send unasked with one command. */
static uint32_t unsol_per_slot(const struct iscsi_session *sess)
{
	const struct iscsi_params *p = &sess->params;
	if (!sess->tgt) /* discovery: no SCSI commands */
		return 0;
	if (!p->initial_r2t)
		return p->first_burst_length;
	if (!p->immediate_data)
		return 0;
	return p->first_burst_length < p->max_recv_data_segment_length
		   ? p->first_burst_length
		   : p->max_recv_data_segment_length;
}

static uint32_t open_slots(const struct iscsi_session *sess)
{
	return sn_le(sess->exp_cmdsn, sess->max_cmdsn) ? sess->max_cmdsn - sess->exp_cmdsn + 1 : 0;
}

/* What the session's connections hold in the daemon total. */
static uint64_t conns_held(const struct iscsi_session *sess)
{
	uint64_t held = 0;
	const struct iscsi_conn *c;
	list_for_each_entry(c, &sess->conns, sess_node) held += c->mem_published;
	return held;
}

/* The reservation counts in the daemon total, and as a small holder's
 * (conn_limits.c) while the session, its connections' holdings with it,
 * holds at most ISCSI_BUF_MEM_GUARANTEE: a session of small commands
 * beside ones that fill the pool gets its window from the reserve kept
 * for such holders, and sessions that hold much do not use that reserve
 * up with their reservations. */
static void reserve_set(struct iscsi_session *sess, uint64_t bytes)
{
	uint64_t small = conns_held(sess) + bytes <= ISCSI_BUF_MEM_GUARANTEE ? bytes : 0;
	if (bytes == sess->unsol_reserved && small == sess->unsol_small)
		return;
	iscsi_buf_mem_adjust((int64_t)(bytes - sess->unsol_reserved),
			     (int64_t)(small - sess->unsol_small));
	sess->unsol_reserved = bytes;
	sess->unsol_small = small;
}

/* The most of n slots of `each` bytes the daemon total has room for now
 * (iscsi_buf_mem_may_take is monotonic in what is asked). */
static uint32_t slots_with_room(uint64_t held, uint64_t each, uint32_t n)
{
	if (iscsi_buf_mem_may_take(held, (uint64_t)n * each))
		return n; /* the usual case: one look */
	uint32_t lo = 0, hi = n - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;
		if (iscsi_buf_mem_may_take(held, (uint64_t)mid * each))
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

void iscsi_cmd_window_sync(struct iscsi_session *sess)
{
	uint64_t want = (uint64_t)open_slots(sess) * sess->unsol_per_slot;
	if (want < sess->unsol_reserved)
		reserve_set(sess, want);
}

/* The window also shrinks with the tasks the session holds, so that an
 * initiator never has more than about QueuedCommands commands in the
 * target; it never moves backwards (RFC 7143 4.2.2.1). */
uint32_t iscsi_cmd_window_grant(struct iscsi_session *sess)
{
	uint32_t room = sess->cmd_window > sess->nactive ? sess->cmd_window - sess->nactive : 0;
	uint32_t candidate = sess->exp_cmdsn + room - 1;
	if (!sn_lt(sess->max_cmdsn, candidate))
		return sess->max_cmdsn; /* never backwards */
	uint32_t more = candidate - sess->max_cmdsn;
	if (sess->unsol_per_slot) {
		/* Slots ExpCmdSN has passed give their room back in the
		 * same step (one publication, none when nothing changes). */
		uint64_t per = sess->unsol_per_slot, kept = (uint64_t)open_slots(sess) * per;
		if (kept > sess->unsol_reserved)
			kept = sess->unsol_reserved;
		uint32_t fit = slots_with_room(conns_held(sess) + kept, per, more);
		/* The one slot that keeps an idle session moving is
		 * granted whatever the total (see the top of the file). */
		if (!fit && open_slots(sess) == 0 && sess->nactive == 0)
			fit = 1;
		reserve_set(sess, kept + fit * per);
		more = fit;
	}
	sess->max_cmdsn += more;
	return sess->max_cmdsn;
}

void iscsi_cmd_window_open(struct iscsi_session *sess)
{
	sess->unsol_per_slot = unsol_per_slot(sess);
	sess->max_cmdsn = sess->exp_cmdsn - 1; /* nothing granted yet */
	iscsi_cmd_window_grant(sess);
}

void iscsi_cmd_window_close(struct iscsi_session *sess) { reserve_set(sess, 0); }
