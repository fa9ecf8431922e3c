/*
 * The control verbs that change the configuration at run time, over the
 * core's operations (core/live.h).  Grammar, one request line each:
 *
 *   device add HANDLER NAME [ATTR=VALUE ...]
 *   device remove NAME
 *   device NAME resize SIZE          bytes, or with K, M, G or T (binary)
 *   lun add TARGET [group GROUP] LUN DEVICE [read_only]
 *   lun remove TARGET [group GROUP] LUN
 *   group add|remove TARGET GROUP
 *   initiator add|remove TARGET GROUP NAME
 *   target add DRIVER TARGET
 *   target remove|enable|disable TARGET
 *   portal add|remove DRIVER ADDR:PORT
 *   session close ID
 *   session close TARGET INITIATOR [ISID]
 *   chap add TARGET in|out USER SECRET
 *   chap remove TARGET in|out USER
 *
 * Each answers "ok: ..." or CTL_ERROR_PREFIX and what was wrong.
 */
#include "ctl/ctl_live.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "core/live.h"
#include "core/transports.h"
#include "ctl/ctl_server.h"

#define MAX_WORDS 40

const char ctl_live_help[] =
    "  device add HANDLER NAME [ATTR=VALUE ...]   open a new device\n"
    "  device remove NAME  refused while a LUN maps it\n"
    "  device NAME resize SIZE\n"
    "                     new size (bytes, or K/M/G/T) of a device whose size\n"
    "                     is configured (vdisk_nullio): CAPACITY DATA HAS CHANGED\n"
    "  lun add TARGET [group GROUP] LUN DEVICE [read_only]\n"
    "  lun remove TARGET [group GROUP] LUN\n"
    "                     the nexuses whose LUN map changed get REPORTED LUNS\n"
    "                     DATA HAS CHANGED; a removed LUN's commands are aborted\n"
    "  group add|remove TARGET GROUP\n"
    "  initiator add|remove TARGET GROUP NAME\n"
    "  target add DRIVER TARGET\n"
    "  target remove|enable|disable TARGET\n"
    "                     disable: no new login, its sessions are closed\n"
    "  portal add|remove DRIVER ADDR:PORT   listen (or stop) on a portal; sessions\n"
    "                     already there stay\n"
    "  session close ID | session close TARGET INITIATOR [ISID]\n"
    "  chap add TARGET in|out USER SECRET   (a known user gets the new secret)\n"
    "  chap remove TARGET in|out USER\n";

static char *reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *reply(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static char *failed(const char *err) { return reply(CTL_ERROR_PREFIX "%s\n", err); }

static char *usage(const char *u) { return reply(CTL_ERROR_PREFIX "usage: %s\n", u); }

static char *no_target(const char *name)
{
	return reply(CTL_ERROR_PREFIX "no target '%s'\n", name);
}

static bool parse_u64(const char *s, uint64_t *out)
{
	if (!*s || *s == '-' || *s == '+')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* SIZE in bytes, or with a binary suffix. */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	unsigned shift = 0;
	if (*end) {
		const char *units = "KMGT";
		const char *u = strchr(units, end[0] & ~0x20);
		if (!u || end[1])
			return false;
		shift = 10 * (unsigned)(u - units + 1);
	}
	if (shift && v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static char *device_verb(char **w, int n)
{
	char err[512] = "";
	if (n >= 4 && !strcmp(w[1], "add")) {
		struct uscst_device *dev =
		    uscst_live_device_add(w[2], w[3], w + 4, (unsigned)(n - 4), err, sizeof(err));
		return dev ? reply("ok: device %s added\n", dev->name) : failed(err);
	}
	if (n == 3 && !strcmp(w[1], "remove"))
		return uscst_live_device_remove(w[2], err, sizeof(err)) < 0
			   ? failed(err)
			   : reply("ok: device %s removed\n", w[2]);
	if (n == 4 && !strcmp(w[2], "resize")) {
		uint64_t bytes;
		if (!parse_size(w[3], &bytes))
			return reply(CTL_ERROR_PREFIX "bad size '%s' (bytes, or a number with K, "
						      "M, G or T)\n",
				     w[3]);
		struct uscst_device *dev = uscst_device_find(w[1]);
		if (!dev)
			return reply(CTL_ERROR_PREFIX "no device '%s'\n", w[1]);
		if (uscst_live_device_resize(dev, bytes, err, sizeof(err)) < 0)
			return failed(err);
		return reply("ok: %s: %" PRIu64 " blocks\n", dev->name,
			     atomic_load_explicit(&dev->nblocks, memory_order_relaxed));
	}
	return usage("device add HANDLER NAME [ATTR=VALUE ...] | device remove NAME | "
		     "device NAME resize SIZE");
}

/* "TARGET [group GROUP] LUN ..." from w[2]: the LUN word's index, or -1. */
static int lun_where(char **w, int n, struct uscst_target **tgt, const char **group)
{
	if (n < 4)
		return -1;
	*tgt = uscst_target_find(w[2]);
	*group = NULL;
	if (n >= 6 && !strcmp(w[3], "group")) {
		*group = w[4];
		return 5;
	}
	return 3;
}

static char *lun_verb(char **w, int n)
{
	static const char u[] = "lun add TARGET [group GROUP] LUN DEVICE [read_only] | "
				"lun remove TARGET [group GROUP] LUN";
	char err[512] = "";
	struct uscst_target *tgt = NULL;
	const char *group = NULL;
	bool add = n > 1 && !strcmp(w[1], "add"), remove = n > 1 && !strcmp(w[1], "remove");
	int at = lun_where(w, n, &tgt, &group);
	uint64_t lun;
	if ((!add && !remove) || at < 0 || !parse_u64(w[at], &lun))
		return usage(u);
	if (!tgt)
		return no_target(w[2]);
	if (remove) {
		if (n != at + 1)
			return usage(u);
		if (uscst_live_lun_remove(tgt, group, lun, err, sizeof(err)) < 0)
			return failed(err);
		return reply("ok: %s: LUN %" PRIu64 " removed\n", tgt->name, lun);
	}
	bool ro = n == at + 3 && !strcmp(w[at + 2], "read_only");
	if (n != at + 2 && !ro)
		return usage(u);
	struct uscst_device *dev = uscst_device_find(w[at + 1]);
	if (!dev)
		return reply(CTL_ERROR_PREFIX "no device '%s'\n", w[at + 1]);
	if (uscst_live_lun_add(tgt, group, lun, dev, ro, err, sizeof(err)) < 0)
		return failed(err);
	return reply("ok: %s: LUN %" PRIu64 " -> %s\n", tgt->name, lun, dev->name);
}

static char *group_verb(char **w, int n)
{
	char err[512] = "";
	if (n != 4 || (strcmp(w[1], "add") && strcmp(w[1], "remove")))
		return usage("group add|remove TARGET GROUP");
	struct uscst_target *tgt = uscst_target_find(w[2]);
	if (!tgt)
		return no_target(w[2]);
	int rc = !strcmp(w[1], "add") ? uscst_live_group_add(tgt, w[3], err, sizeof(err))
				      : uscst_live_group_remove(tgt, w[3], err, sizeof(err));
	return rc < 0 ? failed(err)
		      : reply("ok: %s: group %s %sed\n", tgt->name, w[3],
			      !strcmp(w[1], "add") ? "add" : "remov");
}

static char *initiator_verb(char **w, int n)
{
	char err[512] = "";
	if (n != 5 || (strcmp(w[1], "add") && strcmp(w[1], "remove")))
		return usage("initiator add|remove TARGET GROUP NAME");
	struct uscst_target *tgt = uscst_target_find(w[2]);
	if (!tgt)
		return no_target(w[2]);
	bool add = !strcmp(w[1], "add");
	int rc = add ? uscst_live_initiator_add(tgt, w[3], w[4], err, sizeof(err))
		     : uscst_live_initiator_remove(tgt, w[3], w[4], err, sizeof(err));
	return rc < 0 ? failed(err)
		      : reply("ok: %s: initiator %s %s group %s\n", tgt->name, w[4],
			      add ? "added to" : "removed from", w[3]);
}

static char *target_verb(char **w, int n)
{
	char err[512] = "";
	if (n == 4 && !strcmp(w[1], "add")) {
		struct uscst_target *tgt = uscst_live_target_add(w[2], w[3], err, sizeof(err));
		return tgt ? reply("ok: target %s added\n", tgt->name) : failed(err);
	}
	if (n != 3)
		return usage("target add DRIVER TARGET | target remove|enable|disable TARGET");
	struct uscst_target *tgt = uscst_target_find(w[2]);
	if (!tgt)
		return no_target(w[2]);
	int rc;
	if (!strcmp(w[1], "remove"))
		rc = uscst_live_target_remove(tgt, err, sizeof(err));
	else if (!strcmp(w[1], "enable") || !strcmp(w[1], "disable"))
		rc = uscst_live_target_enable(tgt, w[1][0] == 'e', err, sizeof(err));
	else
		return usage("target add DRIVER TARGET | target remove|enable|disable TARGET");
	return rc < 0 ? failed(err)
		      : reply("ok: target %s %sd\n", w[2], w[1][0] == 'r' ? "remove" : w[1]);
}

static char *portal_verb(char **w, int n)
{
	char err[512] = "";
	if (n != 4 || (strcmp(w[1], "add") && strcmp(w[1], "remove")))
		return usage("portal add|remove DRIVER ADDR:PORT");
	bool add = !strcmp(w[1], "add");
	if (uscst_live_portal(w[2], w[3], add, err, sizeof(err)) < 0)
		return failed(err);
	return reply("ok: %s: portal %s %s\n", w[2], w[3], add ? "added" : "removed");
}

struct session_match {
	const struct uscst_target *tgt;
	const char *initiator, *isid; /* isid: NULL for any */
	uint64_t ids[64];
	unsigned n;
};

static void match_session(struct uscst_session *s, void *arg)
{
	struct session_match *m = arg;
	if (s->tgt != m->tgt || strcasecmp(s->initiator_name, m->initiator) != 0 ||
	    m->n == sizeof(m->ids) / sizeof(m->ids[0]))
		return;
	if (m->isid) {
		/* initiator_port is "NAME,i,0x<ISID>" */
		const char *p = strrchr(s->initiator_port, ',');
		const char *want = strncasecmp(m->isid, "0x", 2) ? m->isid : m->isid + 2;
		if (!p || strncasecmp(p, ",0x", 3) != 0 || strcasecmp(p + 3, want) != 0)
			return;
	}
	m->ids[m->n++] = s->id;
}

static char *session_verb(char **w, int n)
{
	static const char u[] = "session close ID | session close TARGET INITIATOR [ISID]";
	char err[512] = "";
	if (n < 3 || strcmp(w[1], "close") != 0 || n > 5)
		return usage(u);
	uint64_t id;
	if (n == 3) {
		if (!parse_u64(w[2], &id))
			return usage(u);
		if (uscst_live_session_close(id, err, sizeof(err)) < 0)
			return failed(err);
		return reply("ok: session %" PRIu64 " closed\n", id);
	}
	struct uscst_target *tgt = uscst_target_find(w[2]);
	if (!tgt)
		return no_target(w[2]);
	struct session_match m = {tgt, w[3], n == 5 ? w[4] : NULL, {0}, 0};
	uscst_session_foreach(match_session, &m);
	if (!m.n)
		return reply(CTL_ERROR_PREFIX "no session of %s%s%s on %s\n", w[3],
			     m.isid ? " with ISID " : "", m.isid ? m.isid : "", tgt->name);
	unsigned closed = 0;
	for (unsigned i = 0; i < m.n; i++)
		closed += uscst_live_session_close(m.ids[i], err, sizeof(err)) == 0;
	return reply("ok: %u session%s closed\n", closed, closed == 1 ? "" : "s");
}

static char *chap_verb(char **w, int n)
{
	static const char u[] =
	    "chap add TARGET in|out USER SECRET | chap remove TARGET in|out USER";
	char err[512] = "";
	bool add = n == 6 && !strcmp(w[1], "add"), remove = n == 5 && !strcmp(w[1], "remove");
	if ((!add && !remove) || (strcmp(w[3], "in") && strcmp(w[3], "out")))
		return usage(u);
	struct uscst_target *tgt = uscst_target_find(w[2]);
	if (!tgt)
		return no_target(w[2]);
	bool in = !strcmp(w[3], "in");
	int rc = add ? uscst_live_chap_add(tgt, in, w[4], w[5], err, sizeof(err))
		     : uscst_live_chap_remove(tgt, in, w[4], err, sizeof(err));
	return rc < 0 ? failed(err)
		      : reply("ok: %s: %s CHAP user %s %s\n", tgt->name,
			      in ? "incoming" : "outgoing", w[4], add ? "set" : "removed");
}

static const struct {
	const char *first;
	char *(*fn)(char **w, int n);
} verbs[] = {
    {"device", device_verb},	   {"lun", lun_verb},	    {"group", group_verb},
    {"initiator", initiator_verb}, {"target", target_verb}, {"session", session_verb},
    {"chap", chap_verb},	   {"portal", portal_verb},
};

/* Whether the request is one of ours: "device" only for add, remove and
 * resize (the other device verbs are ctl_server.c's). */
static int verb_of(char **w, int n)
{
	if (n < 1)
		return -1;
	for (unsigned i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(w[0], verbs[i].first) != 0)
			continue;
		if (i == 0 && !(n >= 2 && (!strcmp(w[1], "add") || !strcmp(w[1], "remove"))) &&
		    !(n >= 3 && !strcmp(w[2], "resize")))
			return -1;
		return (int)i;
	}
	return -1;
}

bool ctl_live_request(const char *request, char **out)
{
	char *copy = strdup(request);
	if (!copy) {
		*out = NULL;
		return true;
	}
	char *w[MAX_WORDS];
	int n = 0;
	bool too_many = false;
	for (char *save = NULL, *t = strtok_r(copy, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_WORDS) {
			too_many = true;
			break;
		}
		w[n++] = t;
	}
	int v = verb_of(w, n);
	if (v < 0) {
		free(copy);
		return false;
	}
	*out = too_many ? reply(CTL_ERROR_PREFIX "more than %d words\n", MAX_WORDS)
			: verbs[v].fn(w, n);
	free(copy);
	return true;
}
