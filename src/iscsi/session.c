/*
 * The iSCSI session table: TSIH allocation and session reinstatement
 * (RFC 7143 6.3.5: a leading login with the ISID and initiator name of an
 * existing session to the same target replaces that session), and the
 * connections of each session (MC/S: a login with a session's ISID and
 * TSIH adds one).  Shared by all reactors, so it has its own lock; it is
 * touched only at login and at connection teardown.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "lib/log.h"

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct list_head table = LIST_HEAD_INIT(table);
static uint16_t next_tsih = 1;
static bool table_closed; /* the daemon is stopping: no new session */

static bool tsih_in_use(uint16_t tsih)
{
	struct iscsi_session *s;
	list_for_each_entry(s, &table, node)
	{
		if (s->tsih == tsih)
			return true;
	}
	return false;
}

/* Whether newer's login replaces s (RFC 7143 6.3.5). */
static bool replaces(const struct iscsi_session *newer, const struct iscsi_session *s)
{
	return s != newer && !s->reinstated && s->tgt == newer->tgt && newer->tgt &&
	       s->tpgt == newer->tpgt && memcmp(s->isid, newer->isid, 6) == 0 &&
	       strcmp(s->params.initiator_name, newer->params.initiator_name) == 0;
}

/* The MaxSessions check and the registration happen under one lock, so
 * that two logins racing on two reactors cannot both take the last place;
 * a session this login reinstates does not count against it. */
int iscsi_session_register(struct iscsi_session *sess, unsigned max_sessions)
{
	pthread_mutex_lock(&table_lock);
	if (table_closed) {
		pthread_mutex_unlock(&table_lock);
		return -ESHUTDOWN;
	}
	if (sess->tgt && max_sessions) {
		unsigned n = 0;
		struct iscsi_session *s;
		list_for_each_entry(s, &table, node)
		{
			if (s->tgt == sess->tgt && !s->reinstated && !replaces(sess, s))
				n++;
		}
		if (n >= max_sessions) {
			pthread_mutex_unlock(&table_lock);
			return -EBUSY;
		}
	}
	for (unsigned tries = 0; tries < 65536; tries++) {
		uint16_t t = next_tsih++;
		if (t == 0)
			continue;
		if (!tsih_in_use(t)) {
			sess->tsih = t;
			list_add_tail(&sess->node, &table);
			pthread_mutex_unlock(&table_lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&table_lock);
	return -ENOSPC;
}

void iscsi_session_unregister(struct iscsi_session *sess)
{
	pthread_mutex_lock(&table_lock);
	if (sess->node.next)
		list_del(&sess->node);
	pthread_mutex_unlock(&table_lock);
}

bool iscsi_session_tsih_exists(uint16_t tsih)
{
	pthread_mutex_lock(&table_lock);
	bool found = tsih_in_use(tsih);
	pthread_mutex_unlock(&table_lock);
	return found;
}

void iscsi_session_publish(struct iscsi_session *sess)
{
	pthread_mutex_lock(&table_lock);
	sess->listed = true;
	pthread_mutex_unlock(&table_lock);
}

void iscsi_sessions_foreach_listed(void (*fn)(const struct iscsi_session *s, void *arg), void *arg)
{
	struct iscsi_session *s;
	pthread_mutex_lock(&table_lock);
	list_for_each_entry(s, &table, node)
	{
		if (s->listed)
			fn(s, arg);
	}
	pthread_mutex_unlock(&table_lock);
}

/* A session nobody may join or reinstate any more: its last connection
 * is gone (it is about to be freed) or a newer login replaced it. */
static bool joinable(const struct iscsi_session *s) { return !s->reinstated && s->nconns; }

struct iscsi_session *iscsi_session_find(uint16_t tsih, const uint8_t *isid, struct reactor **r)
{
	struct iscsi_session *s, *found = NULL;
	pthread_mutex_lock(&table_lock);
	list_for_each_entry(s, &table, node)
	{
		if (s->tsih == tsih && joinable(s) && memcmp(s->isid, isid, 6) == 0) {
			found = s;
			*r = s->reactor;
			break;
		}
	}
	pthread_mutex_unlock(&table_lock);
	return found;
}

void iscsi_session_add_conn(struct iscsi_session *sess, struct iscsi_conn *conn)
{
	pthread_mutex_lock(&table_lock);
	list_add_tail(&conn->sess_node, &sess->conns);
	sess->nconns++;
	conn->sess = sess;
	pthread_mutex_unlock(&table_lock);
}

bool iscsi_session_remove_conn(struct iscsi_conn *conn)
{
	struct iscsi_session *sess = conn->sess;
	pthread_mutex_lock(&table_lock);
	list_del(&conn->sess_node);
	list_init(&conn->sess_node);
	bool last = --sess->nconns == 0;
	/* Out of the table in the same step: no login can join it now. */
	if (last && sess->node.next)
		list_del(&sess->node);
	pthread_mutex_unlock(&table_lock);
	return last;
}

static void close_reinstated(void *arg)
{
	struct iscsi_conn *conn = arg;
	iscsi_conn_end(conn, "session reinstated by a new login");
	iscsi_conn_put(conn);
}

/* Every connection of s is closed on s's reactor. */
static void close_all_posted(struct iscsi_session *s, void (*fn)(void *arg))
{
	struct iscsi_conn *c;
	list_for_each_entry(c, &s->conns, sess_node)
	{
		if (!iscsi_conn_tryget(c))
			continue; /* already being torn down */
		if (reactor_post(s->reactor, fn, c) < 0)
			iscsi_conn_put(c);
	}
}

void iscsi_session_reinstate_old(struct iscsi_session *newer)
{
	struct iscsi_session *s;
	pthread_mutex_lock(&table_lock);
	list_for_each_entry(s, &table, node)
	{
		if (!replaces(newer, s))
			continue;
		s->reinstated = true;
		log_info("reinstating session tsih %u of %s", s->tsih, s->params.initiator_name);
		close_all_posted(s, close_reinstated);
	}
	pthread_mutex_unlock(&table_lock);
}

bool iscsi_sessions_closing(void)
{
	pthread_mutex_lock(&table_lock);
	bool closed = table_closed;
	pthread_mutex_unlock(&table_lock);
	return closed;
}

void iscsi_sessions_close(void (*fn)(struct iscsi_session *s, void *arg), void *arg)
{
	struct iscsi_session *s;
	pthread_mutex_lock(&table_lock);
	table_closed = true;
	list_for_each_entry(s, &table, node)
	{
		if (!s->reinstated)
			fn(s, arg);
	}
	pthread_mutex_unlock(&table_lock);
}

void iscsi_sessions_log_left(void)
{
	struct iscsi_session *s;
	pthread_mutex_lock(&table_lock);
	list_for_each_entry(s, &table, node)
	{
		/* Set at login and never changed: readable from this thread
		 * while the session is in the table (its connection is freed
		 * only after it leaves). */
		if (s->reinstated)
			continue;
		struct iscsi_conn *c;
		list_for_each_entry(c, &s->conns, sess_node) log_warn(
		    "stop: %s session tsih %u of %s from %s cut", s->tgt ? "normal" : "discovery",
		    s->tsih, s->params.initiator_name, c->peer);
	}
	pthread_mutex_unlock(&table_lock);
}
