/*
 * Sessions and connections, as their transports report them
 * (uscst_transport.sessions, include/uscst/transport_reg.h): ctl never
 * sees a transport's own structures.  Rows (stable field names):
 *   sessions     {"id" (the core's session id, as the log names it),
 *                 "driver", "target", "initiator", "isid", "tsih",
 *                 "portal", "peer" (of its first connection),
 *                 "connections", "commands" (in flight now)}
 *   show session ID: the row plus "params" {name: value} (negotiated at
 *                 login) and "conns" [{"cid", "portal", "peer"}]
 *   connections  {"session", "target", "initiator", "cid", "portal", "peer"}
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/transports.h"
#include "ctl/ctl_verbs.h"

enum session_view { VIEW_SESSIONS, VIEW_ONE, VIEW_CONNECTIONS };

struct collect {
	struct ctl_call *c;
	struct json_object *out; /* the list, or the one session's object */
	enum session_view view;
	uint64_t want_id; /* VIEW_ONE */
	const char *driver;
};

static void session_row(struct collect *k, struct json_object *o,
			const struct uscst_session_info *si)
{
	bool *failed = &k->c->failed;
	jp_u64(failed, o, "id", si->core->id);
	jp_str(failed, o, "driver", k->driver);
	jp_str(failed, o, "target", si->target);
	jp_str(failed, o, "initiator", si->initiator);
	jp_str(failed, o, "isid", si->isid);
	jp_u64(failed, o, "tsih", si->tsih);
	jp_str(failed, o, "portal", si->nconns ? si->conns[0].portal : NULL);
	jp_str(failed, o, "peer", si->nconns ? si->conns[0].peer : NULL);
	jp_u64(failed, o, "connections", si->nconns);
	jp_u64(failed, o, "commands", atomic_load_explicit(&si->core->ncmds, memory_order_relaxed));
}

static void session_details(struct collect *k, struct json_object *o,
			    const struct uscst_session_info *si)
{
	bool *failed = &k->c->failed;
	struct json_object *p = jp_put(failed, o, "params", jp_object(failed));
	for (unsigned i = 0; i < si->nparams; i++)
		jp_str(failed, p, si->params[i].name, si->params[i].value);
	struct json_object *conns = jp_put(failed, o, "conns", jp_array(failed));
	for (unsigned i = 0; i < si->nconns; i++) {
		struct json_object *e = jp_append(failed, conns, jp_object(failed));
		jp_u64(failed, e, "cid", si->conns[i].cid);
		jp_str(failed, e, "portal", si->conns[i].portal);
		jp_str(failed, e, "peer", si->conns[i].peer);
	}
}

/* Under the transport's lock: builds JSON only, never blocks. */
static void take_session(void *arg, const struct uscst_session_info *si)
{
	struct collect *k = arg;
	bool *failed = &k->c->failed;
	switch (k->view) {
	case VIEW_SESSIONS:
		session_row(k, jp_append(failed, k->out, jp_object(failed)), si);
		break;
	case VIEW_ONE:
		if (si->core->id != k->want_id || k->out)
			break;
		k->out = jp_object(failed);
		session_row(k, k->out, si);
		session_details(k, k->out, si);
		break;
	case VIEW_CONNECTIONS:
		for (unsigned i = 0; i < si->nconns; i++) {
			struct json_object *e = jp_append(failed, k->out, jp_object(failed));
			jp_u64(failed, e, "session", si->core->id);
			jp_str(failed, e, "target", si->target);
			jp_str(failed, e, "initiator", si->initiator);
			jp_u64(failed, e, "cid", si->conns[i].cid);
			jp_str(failed, e, "portal", si->conns[i].portal);
			jp_str(failed, e, "peer", si->conns[i].peer);
		}
		break;
	}
}

static void collect_all(struct collect *k)
{
	for (const struct uscst_transport *t = uscst_transport_next(NULL); t;
	     t = uscst_transport_next(t)) {
		if (!t->sessions)
			continue;
		k->driver = t->name;
		t->sessions(t, take_session, k);
	}
}

static struct json_object *do_list_sessions(struct ctl_call *c)
{
	struct collect k = {.c = c, .out = jp_array(&c->failed), .view = VIEW_SESSIONS};
	collect_all(&k);
	return k.out;
}

static struct json_object *do_list_connections(struct ctl_call *c)
{
	struct collect k = {.c = c, .out = jp_array(&c->failed), .view = VIEW_CONNECTIONS};
	collect_all(&k);
	return k.out;
}

static struct json_object *do_show_session(struct ctl_call *c)
{
	uint64_t id;
	if (!ctl_arg_u64(c, "ID", UINT64_MAX, &id)) {
		char why[CTL_ERROR_MAX];
		snprintf(why, sizeof(why), "%s", c->error);
		return ctl_fail(c, "%s (the number in the id column of 'uscstadmin list sessions')",
				why);
	}
	struct collect k = {.c = c, .view = VIEW_ONE, .want_id = id};
	collect_all(&k);
	if (!k.out && !c->failed)
		return ctl_fail(c, "no session %" PRIu64 " (see 'uscstadmin list sessions')", id);
	return k.out;
}

const struct ctl_verb ctl_session_verbs[] = {
    {"list sessions", do_list_sessions,
     "logged-in sessions: initiator, ISID, TSIH, portal, connections, commands in flight",
     CTL_READS_STATE},
    {"show session ID", do_show_session,
     "one session (ID from list sessions) with its negotiated parameters", CTL_READS_STATE},
    {"list connections", do_list_connections, "connections of every session: CID, portal, peer",
     CTL_READS_STATE},
    {NULL},
};
