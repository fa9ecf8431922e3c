/*
 * I_T nexuses lost (SAM-5 6.3.4): when a session ends, its I_T nexus is
 * lost, and a unit attention I_T NEXUS LOSS OCCURRED (29h/07h) is owed to
 * its initiator port on each logical unit.  The nexus no longer exists to
 * report it, so it is remembered here (initiator port name, target, and
 * relative target port) and reported when the same I_T nexus is made
 * again (an iSCSI login with the same ISID through the same target portal
 * group): its LUs get 29h/07h where a nexus never seen gets POWER ON,
 * RESET, OR BUS DEVICE RESET OCCURRED (29h/00h).  A nexus lost before it
 * reported its power-on UA keeps 29h/00h (the higher priority, SAM-5
 * 5.14), so is not remembered.
 *
 * Bounded: the last NEXUS_LOSS_MAX lost nexuses; an older one coming back
 * gets 29h/00h, which is a reset too.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"

#define NEXUS_LOSS_MAX 256
#define KEY_MAX (USCST_NAME_MAX + 32 + USCST_NAME_MAX + 8)

static pthread_mutex_t lost_lock = PTHREAD_MUTEX_INITIALIZER;
static char lost[NEXUS_LOSS_MAX][KEY_MAX];
static unsigned nlost, next_slot; /* a ring: next_slot is the oldest once full */

static void key_of(char *key, const char *iport, const struct uscst_target *tgt, uint16_t rel)
{
	snprintf(key, KEY_MAX, "%s|%s|%u", iport, tgt->name, (unsigned)rel);
}

static bool power_on_pending(struct uscst_session *sess)
{
	bool found = false;
	const struct uscst_ua *ua;
	pthread_mutex_lock(&sess->ua_lock);
	list_for_each_entry(ua, &sess->uas, node) found |= ua->asc == 0x29 && ua->ascq == 0x00;
	pthread_mutex_unlock(&sess->ua_lock);
	return found;
}

void core_nexus_lost(struct uscst_session *sess)
{
	if (power_on_pending(sess))
		return;
	char key[KEY_MAX];
	key_of(key, sess->initiator_port, sess->tgt, sess->rel_port_id);
	pthread_mutex_lock(&lost_lock);
	bool known = false;
	for (unsigned i = 0; i < nlost && !known; i++)
		known = strcmp(lost[i], key) == 0;
	if (!known) {
		snprintf(lost[next_slot], KEY_MAX, "%s", key);
		next_slot = (next_slot + 1) % NEXUS_LOSS_MAX;
		if (nlost < NEXUS_LOSS_MAX)
			nlost++;
	}
	pthread_mutex_unlock(&lost_lock);
}

bool core_nexus_returns(const char *iport, const struct uscst_target *tgt, uint16_t rel)
{
	char key[KEY_MAX];
	key_of(key, iport, tgt, rel);
	bool found = false;
	pthread_mutex_lock(&lost_lock);
	for (unsigned i = 0; i < nlost && !found; i++) {
		if (strcmp(lost[i], key) == 0) {
			found = true;
			lost[i][0] = '\0'; /* reported once: the slot stays, empty */
		}
	}
	pthread_mutex_unlock(&lost_lock);
	return found;
}
