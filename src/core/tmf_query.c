/*
 * The task management functions SAM-3..5 added (SAM-5 7.7-7.10; iSCSI
 * carries them since RFC 7144): three queries that change nothing, and the
 * I_T nexus reset.  All on the session's thread, through uscst_tmf_start
 * (core/tmf.c).
 *
 * A query answers FUNCTION SUCCEEDED when it found what it asks about and
 * FUNCTION COMPLETE when not.  QUERY ASYNCHRONOUS EVENT reports a unit
 * attention pending for the I_T_L nexus (uscst has no deferred errors) in
 * its ADDITIONAL RESPONSE INFORMATION: sense key UNIT ATTENTION, ASC and
 * ASCQ, UADE DEPTH 0 (not reported), without clearing it.
 *
 * I_T NEXUS RESET is the I_T nexus loss event on every LU of the nexus
 * (SAM-5 6.3.4): the nexus's tasks are aborted (TAS=0: no status), its
 * SPC-2 reservations are released and its medium removal prevention
 * ends (SPC-4 5.12, 6.13; persistent reservations stay), and each of its
 * LUNs gets I_T NEXUS LOSS OCCURRED (29h/07h) for that nexus only.  The
 * session itself goes on.
 */
#include "core/cmdset.h"
#include "core/core.h"

static bool live(const struct uscst_cmd *c)
{
	return c->core_state != CORE_CMD_UNTRACKED && c->core_state != CORE_CMD_ENDED &&
	       !c->aborted;
}

enum uscst_tmf_response core_tmf_query_task(struct uscst_tmf *tmf)
{
	if (!uscst_session_lun(tmf->sess, tmf->lun))
		return USCST_TMF_RSP_NO_LUN;
	for (const struct uscst_cmd *c = tmf->sess->cmds; c; c = c->s_next)
		if (c->tag == tmf->tag && c->lun == tmf->lun && live(c))
			return USCST_TMF_RSP_SUCCEEDED;
	return USCST_TMF_RSP_COMPLETE;
}

/* Tasks of this nexus on the LUN that the transport counts as received
 * before the TMF (covers). */
enum uscst_tmf_response core_tmf_query_task_set(struct uscst_tmf *tmf)
{
	if (!uscst_session_lun(tmf->sess, tmf->lun))
		return USCST_TMF_RSP_NO_LUN;
	for (const struct uscst_cmd *c = tmf->sess->cmds; c; c = c->s_next)
		if (c->lun == tmf->lun && live(c) && (!tmf->covers || tmf->covers(c, tmf)))
			return USCST_TMF_RSP_SUCCEEDED;
	return USCST_TMF_RSP_COMPLETE;
}

enum uscst_tmf_response core_tmf_query_async_event(struct uscst_tmf *tmf)
{
	uint8_t asc, ascq;
	if (!uscst_session_lun(tmf->sess, tmf->lun))
		return USCST_TMF_RSP_NO_LUN;
	if (!ua_peek(tmf->sess, tmf->lun, &asc, &ascq))
		return USCST_TMF_RSP_COMPLETE;
	tmf->additional_info[0] = SK_UNIT_ATTENTION;
	tmf->additional_info[1] = asc;
	tmf->additional_info[2] = ascq;
	return USCST_TMF_RSP_SUCCEEDED;
}

enum uscst_tmf_response core_tmf_it_nexus_reset(struct uscst_tmf *tmf)
{
	struct uscst_session *s = tmf->sess;
	struct uscst_cmd *c = s->cmds, *next;
	for (; c; c = next) {
		next = c->s_next; /* the transport may free c */
		if (c->core_state != CORE_CMD_ENDED && (!tmf->covers || tmf->covers(c, tmf)))
			core_cmd_abort(c, false);
	}
	const struct uscst_lun_map *map = s->luns;
	for (unsigned i = 0; i < map->count; i++) {
		struct uscst_device *dev = map->luns[i].dev;
		bool seen_before = false; /* a device mapped twice: its nexus once */
		for (unsigned j = 0; j < i && !seen_before; j++)
			seen_before = map->luns[j].dev == dev;
		if (!seen_before) {
			dev->cmdset->nexus_lost(dev, s);
			pthread_mutex_lock(&dev->lock);
			uscst_prevent_set(dev, s->id, false);
			pthread_mutex_unlock(&dev->lock);
		}
		ua_establish(s, map->luns[i].lun, ASC_I_T_NEXUS_LOSS);
	}
	return USCST_TMF_RSP_COMPLETE;
}
