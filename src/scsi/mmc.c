/*
 * MMC-6 commands of a read-only CD/DVD drive (vcdrom) about its medium and
 * tray: loading and ejecting, the media events of GET EVENT STATUS
 * NOTIFICATION, and the profile and features of GET CONFIGURATION.  What
 * the disc holds (TOC, disc and track information) is in mmc_disc.c.
 */
#include "scsi/mmc.h"

#include "lib/log.h"

struct mmc_dev *mmc_dev(struct uscst_device *dev) { return uscst_device_cmdset_priv(dev); }

/* ---- media events, per I_T nexus ---- */

struct nexus_ids {
	const struct uscst_device *dev;
	uint64_t ids[MMC_EVENT_NEXUS_MAX];
	unsigned n;
	bool dropped;
};

static void collect_nexus(struct uscst_session *s, void *arg)
{
	struct nexus_ids *x = arg;
	for (unsigned i = 0; i < s->luns->count; i++) {
		if (s->luns->luns[i].dev != x->dev)
			continue;
		if (x->n < MMC_EVENT_NEXUS_MAX)
			x->ids[x->n++] = s->id;
		else
			x->dropped = true;
		return; /* one event per nexus, even through two LUNs */
	}
}

/* The index of sess_id's pending event, npending if it has none; dev->lock
 * held. */
static unsigned find_pending(const struct mmc_dev *m, uint64_t sess_id)
{
	unsigned i = 0;
	while (i < m->npending && m->pending[i].sess_id != sess_id)
		i++;
	return i;
}

static void drop_pending(struct mmc_dev *m, unsigned i)
{
	m->pending[i] = m->pending[--m->npending];
}

/*
 * Queues `event` for every nexus that sees dev now (a later one starts
 * with the drive as it finds it).  A nexus with an event not yet taken
 * gets the newer one in its place (a removal then a new medium reads as
 * NEW MEDIA), so the table becomes exactly the nexuses found now: an entry
 * of a nexus that ended meanwhile goes too.  The session list is walked
 * before dev->lock is taken (its lock is never taken inside dev->lock).
 */
static void queue_media_event(struct uscst_device *dev, uint8_t event)
{
	struct nexus_ids x = {.dev = dev};
	uscst_session_foreach(collect_nexus, &x);
	struct mmc_dev *m = mmc_dev(dev);
	pthread_mutex_lock(&dev->lock);
	for (unsigned k = 0; k < x.n; k++) {
		m->pending[k].sess_id = x.ids[k];
		m->pending[k].event = event;
	}
	m->npending = x.n;
	pthread_mutex_unlock(&dev->lock);
	if (x.dropped)
		log_warn("device %s: more than %d nexuses see the drive; some get no media event "
			 "(they still get the unit attention)",
			 dev->name, MMC_EVENT_NEXUS_MAX);
}

void mmc_nexus_lost(struct uscst_device *dev, struct uscst_session *sess)
{
	scsi_reservations_nexus_lost(dev, sess);
	struct mmc_dev *m = mmc_dev(dev);
	pthread_mutex_lock(&dev->lock);
	unsigned i = find_pending(m, sess->id);
	if (i < m->npending)
		drop_pending(m, i);
	pthread_mutex_unlock(&dev->lock);
}

/* ---- loading and ejecting ---- */

/* START STOP UNIT CDB byte 4 (MMC-6 6.39). */
#define SSU_START 0x01
#define SSU_LOEJ 0x02

/*
 * LOEJ with POWER CONDITION 0: START loads the tray, !START ejects it.  An
 * eject is refused while any nexus prevents removal (MMC-6 6.11: MEDIUM
 * REMOVAL PREVENTED).  A load that puts the medium back is a medium change
 * for everyone: every I_T nexus, this one too, gets NOT READY TO READY
 * CHANGE, MEDIUM MAY HAVE CHANGED, so no initiator keeps a cached view of
 * what the drive held (MMC-6 4.1.5 / SPC-4 unit attention conditions).
 * Other power conditions change nothing: the drive has no power states.
 */
void mmc_start_stop_unit(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	struct mmc_dev *m = mmc_dev(dev);
	uint8_t b4 = cmd->cdb[4];
	if ((b4 >> 4) != 0 || !(b4 & SSU_LOEJ)) {
		scsi_cmd_done(cmd);
		return;
	}
	bool load = b4 & SSU_START;
	bool prevented, changed = false, removed = false;
	pthread_mutex_lock(&dev->lock);
	prevented = !load && dev->prevent_removal;
	if (!prevented) {
		bool had = atomic_load_explicit(&dev->medium_present, memory_order_relaxed);
		/* Closing the tray of a drive with no image (filename none)
		 * loads nothing: it stays NOT READY, MEDIUM NOT PRESENT. */
		bool now = load && sbc_nblocks(dev) != 0;
		atomic_store_explicit(&dev->medium_present, now, memory_order_relaxed);
		m->tray_open = !load;
		changed = now && !had;
		removed = had && !now;
	}
	pthread_mutex_unlock(&dev->lock);
	if (prevented)
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_MEDIUM_REMOVAL_PREVENTED);
	if (changed) {
		ua_establish_dev(dev, NULL, ASC_NOT_READY_TO_READY_CHANGE);
		queue_media_event(dev, MEDIA_EVENT_NEW_MEDIA);
	} else if (removed) {
		queue_media_event(dev, MEDIA_EVENT_MEDIA_REMOVAL);
	}
	scsi_cmd_done(cmd);
}

/*
 * A medium put in or taken out by the administrator (vcdrom's filename
 * set while running): as if someone had put a disc in and closed the tray,
 * or taken the disc out.  The core has set the medium state and raised
 * NOT READY TO READY CHANGE; the drive queues the media event for GET
 * EVENT STATUS NOTIFICATION.
 */
void mmc_medium_changed(struct uscst_device *dev, bool present)
{
	if (present) {
		pthread_mutex_lock(&dev->lock);
		mmc_dev(dev)->tray_open = false;
		pthread_mutex_unlock(&dev->lock);
	}
	queue_media_event(dev, present ? MEDIA_EVENT_NEW_MEDIA : MEDIA_EVENT_MEDIA_REMOVAL);
}

/* ---- GET CONFIGURATION (MMC-6 6.6): profiles and features ---- */

/* An image larger than a CD holds (700 MiB, 80-minute media) is a DVD. */
#define CD_MAX_BYTES (700ull << 20)

#define FEATURE_PROFILE_LIST 0x0000
#define FEATURE_CORE 0x0001
#define FEATURE_MORPHING 0x0002
#define FEATURE_REMOVABLE_MEDIUM 0x0003
#define FEATURE_RANDOM_READABLE 0x0010

#define RT_ALL 0x0
#define RT_CURRENT 0x1
#define RT_ONE 0x2

/* The current profile: none without a medium, else by the image size. */
uint16_t mmc_current_profile(const struct uscst_device *dev)
{
	if (!atomic_load_explicit(&dev->medium_present, memory_order_relaxed))
		return PROFILE_NONE;
	return sbc_nblocks(dev) * 2048ull > CD_MAX_BYTES ? PROFILE_DVD_ROM : PROFILE_CD_ROM;
}

/* Feature descriptor header: code, VERSION (bits 5..2), PERSISTENT, CURRENT,
 * ADDITIONAL LENGTH.  Returns the descriptor's total length. */
static uint32_t put_feature(uint8_t *d, uint16_t code, uint8_t version, bool persistent,
			    bool current, uint8_t add_len)
{
	put_be16(d, code);
	d[2] = (uint8_t)(version << 2 | (persistent ? 0x02 : 0) | (current ? 0x01 : 0));
	d[3] = add_len;
	return 4u + add_len;
}

/* Writes feature `code` at d if this drive has it and RT lets it through;
 * returns its length (0: not written). */
static uint32_t build_feature(const struct uscst_device *dev, uint16_t code, bool only_current,
			      uint8_t *d)
{
	uint16_t profile = mmc_current_profile(dev);
	bool medium = profile != PROFILE_NONE;
	uint32_t n;
	switch (code) {
	case FEATURE_PROFILE_LIST:
		/* Every profile the drive can take, the most capable first;
		 * CURRENTP marks the one of the medium in it. */
		n = put_feature(d, code, 0, true, true, 8);
		put_be16(d + 4, PROFILE_DVD_ROM);
		d[6] = profile == PROFILE_DVD_ROM;
		put_be16(d + 8, PROFILE_CD_ROM);
		d[10] = profile == PROFILE_CD_ROM;
		return n;
	case FEATURE_CORE:
		/* PHYSICAL INTERFACE STANDARD 1: SCSI family (iSCSI).  INQ2
		 * and DBE stay 0: no device-busy events are reported. */
		n = put_feature(d, code, 2, true, true, 8);
		put_be32(d + 4, 1);
		return n;
	case FEATURE_MORPHING:
		/* Media changes are reported through GET EVENT STATUS
		 * NOTIFICATION, polled only: ASYNC 0, OCEVENT 0 (no
		 * operational change class). */
		return put_feature(d, code, 1, true, true, 4);
	case FEATURE_REMOVABLE_MEDIUM:
		/* LOADING MECHANISM TYPE 001b (tray), LOAD and EJECT (START
		 * STOP UNIT LOEJ), LOCK (PREVENT ALLOW MEDIUM REMOVAL); PRVNT
		 * JMPR 0: it powers up unlocked; no DBML. */
		n = put_feature(d, code, 2, true, true, 4);
		d[4] = 0x20 | 0x10 | 0x08 | 0x01;
		return n;
	case FEATURE_RANDOM_READABLE:
		/* Current only with a medium.  LOGICAL BLOCK SIZE 2048;
		 * BLOCKING: the blocks of one ECC unit (1 on CD, 16 on DVD);
		 * PP 0: no read/write error recovery mode page. */
		if (only_current && !medium)
			return 0;
		n = put_feature(d, code, 0, false, medium, 8);
		put_be32(d + 4, 2048);
		put_be16(d + 8, profile == PROFILE_DVD_ROM ? 16 : 1);
		return n;
	default:
		return 0;
	}
}

static const uint16_t features[] = {FEATURE_PROFILE_LIST, FEATURE_CORE, FEATURE_MORPHING,
				    FEATURE_REMOVABLE_MEDIUM, FEATURE_RANDOM_READABLE};

/*
 * RT 00b: every feature from STARTING FEATURE NUMBER on; 01b: the current
 * ones of those; 10b: the one feature named, if the drive has it (the
 * header alone otherwise); 11b is reserved.  The header's DATA LENGTH
 * counts everything after itself, whatever ALLOCATION LENGTH cuts.
 */
void mmc_get_configuration(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	uint8_t rt = cdb[1] & 0x03;
	uint16_t start = get_be16(cdb + 2);
	uint16_t alloc_len = get_be16(cdb + 7);
	if (rt == 0x3) {
		scsi_invalid_field_cdb(cmd, 1, 1);
		scsi_cmd_done(cmd);
		return;
	}
	/* Header (8) and the five descriptors (12 + 12 + 8 + 8 + 12). */
	uint8_t *b = scsi_alloc_in(cmd, 64);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	uint32_t len = 8;
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		if (rt == RT_ONE ? features[i] != start : features[i] < start)
			continue;
		len += build_feature(cmd->dev, features[i], rt == RT_CURRENT, b + len);
	}
	put_be32(b, len - 4);
	put_be16(b + 6, mmc_current_profile(cmd->dev));
	cmd->in_len = len;
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}

/* GET EVENT STATUS NOTIFICATION (MMC-6 6.7). */
#define GESN_POLLED 0x01
#define GESN_CLASS_MEDIA 4
#define GESN_SUPPORTED (1u << GESN_CLASS_MEDIA)
#define GESN_NEA 0x80

/*
 * Polled only (asynchronous notification is not built, so POLLED 0 is an
 * invalid field).  Of the classes asked for, only the media class exists:
 * the event this nexus has not taken yet (NEW MEDIA after a load, MEDIA
 * REMOVAL after an eject or emptying; NO CHANGE otherwise) is reported and
 * cleared for it alone, with MEDIA PRESENT and DOOR OR TRAY OPEN.  Asked
 * for no class it has, the drive answers the header alone with NEA set.
 */
void mmc_get_event_status(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	struct uscst_device *dev = cmd->dev;
	uint16_t alloc_len = get_be16(cdb + 7);
	if (!(cdb[1] & GESN_POLLED)) {
		scsi_invalid_field_cdb(cmd, 1, 0);
		scsi_cmd_done(cmd);
		return;
	}
	bool media = cdb[4] & GESN_SUPPORTED;
	uint8_t *b = scsi_alloc_in(cmd, media ? 8 : 4);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	b[3] = GESN_SUPPORTED;
	if (!media) {
		put_be16(b, 2);
		b[2] = GESN_NEA;
	} else {
		struct mmc_dev *m = mmc_dev(dev);
		put_be16(b, 6);
		b[2] = GESN_CLASS_MEDIA;
		pthread_mutex_lock(&dev->lock);
		unsigned i = find_pending(m, cmd->sess->id);
		if (i < m->npending) {
			b[4] = m->pending[i].event;
			drop_pending(m, i);
		}
		b[5] = (uint8_t)((atomic_load_explicit(&dev->medium_present, memory_order_relaxed)
				      ? 0x02
				      : 0) |
				 (m->tray_open ? 0x01 : 0));
		pthread_mutex_unlock(&dev->lock);
	}
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}
