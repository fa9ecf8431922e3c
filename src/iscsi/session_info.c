/*
 * What `uscstadmin list sessions` shows of an iSCSI session: initiator
 * name, ISID, TSIH, its connections (MaxConnections may be above 1) and the
 * parameters negotiated at login.  Runs on the control thread: it reads
 * only what login filled before iscsi_session_publish() and never changes
 * afterwards (iscsi.h, struct iscsi_session), under the session table's
 * lock, which also keeps the session from being freed meanwhile.
 */
#include <stdio.h>

#include "iscsi/iscsi.h"

#define NPARAMS 17
#define MAX_LISTED_CONNS 64 /* shown of one session at most */
#define VALUE_MAX 16

struct report {
	uscst_session_emit_fn emit;
	void *arg;
};

static const char *yes_no(bool b) { return b ? "Yes" : "No"; }

static const char *digest_name(enum iscsi_digest d)
{
	return d == ISCSI_DIGEST_CRC32C ? "CRC32C" : "None";
}

struct params {
	struct uscst_session_param p[NPARAMS];
	char num[NPARAMS][VALUE_MAX];
	unsigned n;
};

static void add(struct params *ps, const char *name, const char *value)
{
	if (ps->n < NPARAMS)
		ps->p[ps->n++] = (struct uscst_session_param){.name = name, .value = value};
}

static void add_u32(struct params *ps, const char *name, uint32_t v)
{
	if (ps->n >= NPARAMS)
		return;
	snprintf(ps->num[ps->n], VALUE_MAX, "%u", v);
	add(ps, name, ps->num[ps->n]);
}

static void fill_params(struct params *ps, const struct iscsi_session *s)
{
	const struct iscsi_params *p = &s->params;
	add(ps, "HeaderDigest", digest_name(p->header_digest));
	add(ps, "DataDigest", digest_name(p->data_digest));
	add_u32(ps, "MaxConnections", p->max_connections);
	add(ps, "InitialR2T", yes_no(p->initial_r2t));
	add(ps, "ImmediateData", yes_no(p->immediate_data));
	add_u32(ps, "MaxRecvDataSegmentLength", p->max_recv_data_segment_length);
	add_u32(ps, "MaxXmitDataSegmentLength", p->max_xmit_data_segment_length);
	add_u32(ps, "MaxBurstLength", p->max_burst_length);
	add_u32(ps, "FirstBurstLength", p->first_burst_length);
	add_u32(ps, "DefaultTime2Wait", p->default_time2wait);
	add_u32(ps, "DefaultTime2Retain", p->default_time2retain);
	add_u32(ps, "MaxOutstandingR2T", p->max_outstanding_r2t);
	add(ps, "DataPDUInOrder", yes_no(p->data_pdu_in_order));
	add(ps, "DataSequenceInOrder", yes_no(p->data_sequence_in_order));
	add_u32(ps, "ErrorRecoveryLevel", p->error_recovery_level);
	add_u32(ps, "QueuedCommands", s->cmd_window);
	if (p->initiator_alias[0])
		add(ps, "InitiatorAlias", p->initiator_alias);
}

static void report_one(const struct iscsi_session *s, void *arg)
{
	struct report *r = arg;
	if (!s->tgt || !s->core)
		return; /* discovery sessions have no nexus to show */
	char isid[16];
	snprintf(isid, sizeof(isid), "0x%02x%02x%02x%02x%02x%02x", s->isid[0], s->isid[1],
		 s->isid[2], s->isid[3], s->isid[4], s->isid[5]);
	struct uscst_conn_info conns[MAX_LISTED_CONNS];
	unsigned nconns = 0;
	const struct iscsi_conn *c;
	list_for_each_entry(c, &s->conns, sess_node)
	{
		if (nconns == MAX_LISTED_CONNS)
			break;
		conns[nconns++] = (struct uscst_conn_info){
		    .cid = c->cid, .portal = c->local_addr, .peer = c->peer};
	}
	struct params ps = {.n = 0};
	fill_params(&ps, s);
	struct uscst_session_info info = {
	    .core = s->core,
	    .target = uscst_target_name(s->tgt),
	    .initiator = s->params.initiator_name,
	    .isid = isid,
	    .tsih = s->tsih,
	    .conns = conns,
	    .nconns = nconns,
	    .params = ps.p,
	    .nparams = ps.n,
	};
	r->emit(r->arg, &info);
}

void iscsi_report_sessions(const struct uscst_transport *t, uscst_session_emit_fn emit, void *arg)
{
	struct report r = {.emit = emit, .arg = arg};
	iscsi_sessions_foreach_listed(report_one, &r);
}
