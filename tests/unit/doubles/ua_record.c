/* Recording double of src/core/ua.c: see ua_record.h. */
#include "ua_record.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"

struct ua_dev_record ua_dev_record;
void (*ua_record_on_take)(void);

void ua_record_reset(void)
{
	memset(&ua_dev_record, 0, sizeof(ua_dev_record));
	ua_record_on_take = NULL;
}

void ua_establish(struct uscst_session *sess, uint64_t lun, uint8_t asc, uint8_t ascq)
{
	struct uscst_ua *ua = calloc(1, sizeof(*ua));
	if (!ua)
		abort();
	ua->lun = lun;
	ua->asc = asc;
	ua->ascq = ascq;
	pthread_mutex_lock(&sess->ua_lock);
	list_add_tail(&ua->node, &sess->uas);
	pthread_mutex_unlock(&sess->ua_lock);
}

void ua_establish_dev(struct uscst_device *dev, struct uscst_session *except, uint8_t asc,
		      uint8_t ascq)
{
	ua_dev_record.calls++;
	ua_dev_record.dev = dev;
	ua_dev_record.except = except;
	ua_dev_record.asc = asc;
	ua_dev_record.ascq = ascq;
	ua_dev_record.medium_present = atomic_load(&dev->medium_present);
}

bool ua_take(struct uscst_session *sess, uint64_t lun, uint8_t *asc, uint8_t *ascq)
{
	void (*hook)(void) = ua_record_on_take;
	ua_record_on_take = NULL;
	if (hook)
		hook();
	struct uscst_ua *ua;
	bool found = false;
	pthread_mutex_lock(&sess->ua_lock);
	list_for_each_entry(ua, &sess->uas, node)
	{
		if (ua->lun != lun)
			continue;
		*asc = ua->asc;
		*ascq = ua->ascq;
		list_del(&ua->node);
		free(ua);
		found = true;
		break;
	}
	pthread_mutex_unlock(&sess->ua_lock);
	return found;
}

bool ua_peek(struct uscst_session *sess, uint64_t lun, uint8_t *asc, uint8_t *ascq)
{
	const struct uscst_ua *ua;
	bool found = false;
	pthread_mutex_lock(&sess->ua_lock);
	list_for_each_entry(ua, &sess->uas, node)
	{
		if (ua->lun != lun)
			continue;
		*asc = ua->asc;
		*ascq = ua->ascq;
		found = true;
		break;
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
	pthread_mutex_unlock(&sess->ua_lock);
}
