/* Unit attention conditions, queued per I_T nexus and LUN (SAM-5 5.14). */
#include <stdlib.h>

#include "core/core.h"

/* A nexus that never sends a command must not grow the queue without bound. */
#define UA_QUEUE_MAX 32

/* sess->ua_luns has the bit of every LUN with a UA pending, LUNs hashed to
 * one of 64 bits: a command whose LUN's bit is clear takes no lock.  A
 * count of all pending UAs would send every command of the session to
 * the lock while one LUN it does not use (a power-on UA never collected)
 * has one.  Two LUNs sharing a bit only cost the lock. */
static uint64_t lun_bit(uint64_t lun) { return 1ull << (lun % 64); }

/* Under ua_lock, after the queue changed. */
static void ua_luns_update(struct uscst_session *sess)
{
	uint64_t mask = 0;
	const struct uscst_ua *ua;
	list_for_each_entry(ua, &sess->uas, node) mask |= lun_bit(ua->lun);
	atomic_store_explicit(&sess->ua_luns, mask, memory_order_release);
}

void ua_establish(struct uscst_session *sess, uint64_t lun, uint8_t asc, uint8_t ascq)
{
	struct uscst_ua *ua;
	pthread_mutex_lock(&sess->ua_lock);
	unsigned n = 0;
	list_for_each_entry(ua, &sess->uas, node)
	{
		if (ua->lun == lun && ua->asc == asc && ua->ascq == ascq)
			goto out; /* already pending: report it once */
		n++;
	}
	if (n >= UA_QUEUE_MAX) {
		ua = list_entry(sess->uas.next, struct uscst_ua, node);
		list_del(&ua->node);
		free(ua);
	}
	ua = calloc(1, sizeof(*ua));
	if (ua) {
		ua->lun = lun;
		ua->asc = asc;
		ua->ascq = ascq;
		list_add_tail(&ua->node, &sess->uas);
	}
	ua_luns_update(sess);
out:
	pthread_mutex_unlock(&sess->ua_lock);
}

struct ua_dev_arg {
	struct uscst_device *dev;
	struct uscst_session *except;
	uint8_t asc, ascq;
};

static void ua_dev_one(struct uscst_session *sess, void *p)
{
	struct ua_dev_arg *a = p;
	if (sess == a->except)
		return;
	for (unsigned i = 0; i < sess->luns->count; i++)
		if (sess->luns->luns[i].dev == a->dev)
			ua_establish(sess, sess->luns->luns[i].lun, a->asc, a->ascq);
}

void ua_establish_dev(struct uscst_device *dev, struct uscst_session *except, uint8_t asc,
		      uint8_t ascq)
{
	struct ua_dev_arg a = {dev, except, asc, ascq};
	uscst_session_foreach(ua_dev_one, &a);
}

bool ua_take(struct uscst_session *sess, uint64_t lun, uint8_t *asc, uint8_t *ascq)
{
	/* Fast path: no lock when nothing is pending for this LUN. */
	if (!(atomic_load_explicit(&sess->ua_luns, memory_order_acquire) & lun_bit(lun)))
		return false;
	bool found = false;
	struct uscst_ua *ua;
	pthread_mutex_lock(&sess->ua_lock);
	list_for_each_entry(ua, &sess->uas, node)
	{
		if (ua->lun == lun) {
			*asc = ua->asc;
			*ascq = ua->ascq;
			list_del(&ua->node);
			free(ua);
			ua_luns_update(sess);
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&sess->ua_lock);
	return found;
}

bool ua_peek(struct uscst_session *sess, uint64_t lun, uint8_t *asc, uint8_t *ascq)
{
	if (!(atomic_load_explicit(&sess->ua_luns, memory_order_acquire) & lun_bit(lun)))
		return false;
	bool found = false;
	const struct uscst_ua *ua;
	pthread_mutex_lock(&sess->ua_lock);
	list_for_each_entry(ua, &sess->uas, node)
	{
		if (ua->lun == lun) {
			*asc = ua->asc;
			*ascq = ua->ascq;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&sess->ua_lock);
	return found;
}

void ua_clear_session(struct uscst_session *sess)
{
	struct uscst_ua *ua, *tmp;
	pthread_mutex_lock(&sess->ua_lock);
	list_for_each_entry_safe(ua, tmp, &sess->uas, node)
	{
		list_del(&ua->node);
		free(ua);
	}
	ua_luns_update(sess);
	pthread_mutex_unlock(&sess->ua_lock);
}
