/*
 * The mode parameters of a tape drive (SSC-4): MODE SENSE(6/10) and
 * MODE SELECT(6/10) with the block descriptor (density code, block
 * length: 0 is variable-block mode), the Control (0Ah), Data Compression
 * (0Fh) and Device Configuration (10h) pages; READ BLOCK LIMITS and REPORT
 * DENSITY SUPPORT, which describe the same limits.
 *
 * Changeable: the block length, BUFFERED MODE (0 or 1) and, in the
 * Control page, D_SENSE and SWP.  The other fields are reported and must
 * come back unchanged in a MODE SELECT (INVALID FIELD IN PARAMETER LIST
 * otherwise).  Nothing can be saved.  The mode parameters are the drive's,
 * shared by every I_T nexus: a change raises MODE PARAMETERS CHANGED on
 * the others.
 */
#include <string.h>

#include "scsi/ssc.h"

#define OP_MODE_SENSE6 0x1a
#define OP_MODE_SELECT6 0x15
#define PAGE_CONTROL 0x0a
#define PAGE_COMPRESSION 0x0f
#define PAGE_DEVCONF 0x10
#define PAGE_ALL 0x3f
#define PC_CURRENT 0
#define PC_CHANGEABLE 1
#define PC_DEFAULT 2
#define PC_SAVED 3
#define BUFFERED_MODE_1 0x10 /* device-specific parameter bits 6..4 */
#define DSP_WP 0x80

struct ssc_mode {
	uint32_t block_len;
	bool unbuffered, d_sense, swp;
};

static void current_mode(struct uscst_device *dev, const struct ssc_state *st, struct ssc_mode *m)
{
	m->block_len = st->block_len;
	m->unbuffered = st->unbuffered;
	m->d_sense = atomic_load_explicit(&dev->d_sense, memory_order_relaxed);
	m->swp = atomic_load_explicit(&dev->swp, memory_order_relaxed);
}

/* Writes page `code` for page control pc at b; returns its length. */
static unsigned put_page(uint8_t *b, uint8_t code, int pc, const struct ssc_mode *m)
{
	bool cur = pc == PC_CURRENT, chg = pc == PC_CHANGEABLE;
	switch (code) {
	case PAGE_CONTROL:
		memset(b, 0, 12);
		b[0] = PAGE_CONTROL;
		b[1] = 10;
		if (chg) {
			b[2] = 0x04; /* D_SENSE */
			b[4] = 0x08; /* SWP */
			return 12;
		}
		/* TST 001b: a task set per I_T nexus; GLTSD: no log pages. */
		b[2] = 0x20 | 0x02 | ((cur && m->d_sense) ? 0x04 : 0);
		b[4] = (cur && m->swp) ? 0x08 : 0;
		put_be16(b + 8, 0xffff); /* BUSY TIMEOUT PERIOD: unlimited */
		return 12;
	case PAGE_COMPRESSION:
		/* DCC 0: the drive cannot compress; DCE, DDE 0. */
		memset(b, 0, 16);
		b[0] = PAGE_COMPRESSION;
		b[1] = 14;
		return 16;
	case PAGE_DEVCONF:
		memset(b, 0, 16);
		b[0] = PAGE_DEVCONF;
		b[1] = 14;
		if (chg)
			return 16;
		/* LOIS: READ POSITION reports logical object identifiers;
		 * EEG: end of data is written (the marker); SEW: everything
		 * is written to the image when early warning is reached
		 * (nothing is held back). */
		b[8] = 0x40;
		b[10] = 0x10 | 0x08;
		return 16;
	default:
		return 0;
	}
}

static const uint8_t page_codes[] = {PAGE_CONTROL, PAGE_COMPRESSION, PAGE_DEVCONF};

static void mode_sense_run(struct uscst_cmd *cmd, struct ssc_state *st)
{
	const uint8_t *cdb = cmd->cdb;
	struct uscst_device *dev = cmd->dev;
	bool ten = cdb[0] != OP_MODE_SENSE6;
	bool dbd = cdb[1] & 0x08;
	int pc = cdb[2] >> 6;
	uint8_t page = cdb[2] & 0x3f, subpage = cdb[3];
	uint32_t alloc_len = ten ? get_be16(cdb + 7) : cdb[4];
	if (pc == PC_SAVED) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_SAVING_PARAMS_UNSUP);
		return;
	}
	/* No page has subpages: 00h, or FFh (the page and its subpages). */
	if (subpage != 0 && subpage != 0xff) {
		scsi_invalid_field_cdb(cmd, 3, -1);
		scsi_cmd_done(cmd);
		return;
	}
	struct ssc_mode m;
	current_mode(dev, st, &m);
	if (pc == PC_DEFAULT)
		m = (struct ssc_mode){0};
	uint8_t pages[64];
	/* (page 00h: none) */
	unsigned plen = 0;
	for (size_t i = 0; i < sizeof(page_codes); i++)
		if (page == PAGE_ALL || page == page_codes[i])
			plen += put_page(pages + plen, page_codes[i], pc, &m);
	/* Page 00h: no page, the header and block descriptor alone (what
	 * tape drivers ask first, Linux st among them). */
	if (!plen && !(page == 0 && subpage == 0)) {
		scsi_invalid_field_cdb(cmd, 2, 5);
		scsi_cmd_done(cmd);
		return;
	}
	unsigned hlen = ten ? 8 : 4, bdlen = dbd ? 0 : 8;
	uint8_t *b = scsi_alloc_in(cmd, hlen + bdlen + plen);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	uint8_t dsp = 0;
	if (pc == PC_CHANGEABLE)
		dsp = 0x70; /* BUFFERED MODE */
	else if (pc == PC_CURRENT)
		dsp = (uint8_t)((m.unbuffered ? 0 : BUFFERED_MODE_1) |
				(ssc_write_protected(cmd, st) ? DSP_WP : 0));
	else
		dsp = BUFFERED_MODE_1;
	uint32_t total = hlen + bdlen + plen;
	if (ten) {
		put_be16(b, (uint16_t)(total - 2));
		b[3] = dsp;
		put_be16(b + 6, (uint16_t)bdlen);
	} else {
		b[0] = (uint8_t)(total - 1);
		b[2] = dsp;
		b[3] = (uint8_t)bdlen;
	}
	if (bdlen) {
		uint8_t *d = b + hlen;
		if (pc == PC_CHANGEABLE) {
			put_be24(d + 5, 0xffffff); /* BLOCK LENGTH */
		} else {
			/* DENSITY CODE of the loaded tape (0: none loaded);
			 * NUMBER OF BLOCKS 0: the rest of the medium. */
			d[0] = atomic_load_explicit(&dev->medium_present, memory_order_relaxed)
				   ? SSC_DENSITY
				   : 0;
			put_be24(d + 5, m.block_len);
		}
	}
	memcpy(b + hlen + bdlen, pages, plen);
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}

/* WP is the loaded tape's: a tape in the drive is mounted first (its
 * header's flag), so that what MODE SENSE reports is never the flag of a
 * tape that left the drive; without a tape, or unloaded, only the
 * device's own protection counts. */
void ssc_mode_sense(struct uscst_cmd *cmd)
{
	struct ssc_state *st = ssc_state(cmd->dev);
	ssc_sync_tape(st);
	if (atomic_load_explicit(&st->has_image, memory_order_relaxed) &&
	    !atomic_load_explicit(&st->changing, memory_order_relaxed) && !st->unloaded &&
	    !st->mounted) {
		ssc_with_tape(cmd, mode_sense_run);
		return;
	}
	mode_sense_run(cmd, st);
}

static uint32_t select_out_len6(const struct uscst_cmd *cmd) { return cmd->cdb[4]; }

/* Checks one page of a MODE SELECT parameter list at p (off: its offset,
 * for the field pointer) and takes its changeable fields into m; false
 * with the sense set if it is refused. */
static bool select_page(struct uscst_cmd *cmd, const uint8_t *p, uint32_t left, uint32_t off,
			struct ssc_mode *m)
{
	uint8_t code = p[0] & 0x3f;
	uint8_t want[16], mask[16];
	/* SPF (subpage format) pages do not exist here. */
	unsigned len = (p[0] & 0x40) ? 0 : put_page(want, code, PC_CURRENT, m);
	if (!len) {
		scsi_invalid_field_param(cmd, off, -1);
		return false;
	}
	if (left < 2 || p[1] != len - 2) {
		scsi_invalid_field_param(cmd, off + 1, -1);
		return false;
	}
	if (left < len) {
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
		return false;
	}
	put_page(mask, code, PC_CHANGEABLE, m);
	/* Byte 0: PS is reserved in MODE SELECT, the rest is the code. */
	for (unsigned i = 2; i < len; i++) {
		uint8_t diff = (uint8_t)((p[i] ^ want[i]) & ~mask[i]);
		if (diff) {
			scsi_invalid_field_param(cmd, off + i, 31 - __builtin_clz(diff));
			return false;
		}
	}
	if (code == PAGE_CONTROL) {
		m->d_sense = p[2] & 0x04;
		m->swp = p[4] & 0x08;
	}
	return true;
}

/* The header and block descriptor; false with the sense set. */
static bool select_header(struct uscst_cmd *cmd, const uint8_t *p, uint32_t len, bool ten,
			  uint32_t *bdlen, struct ssc_mode *m)
{
	unsigned hlen = ten ? 8 : 4;
	uint8_t medium = ten ? p[2] : p[1], dsp = ten ? p[3] : p[2];
	*bdlen = ten ? get_be16(p + 6) : p[3];
	if (medium) {
		scsi_invalid_field_param(cmd, ten ? 2 : 1, -1);
		return false;
	}
	/* WP is ignored in MODE SELECT; BUFFERED MODE 0 or 1; SPEED 0. */
	uint8_t bm = (dsp >> 4) & 7;
	if (bm > 1 || (dsp & 0x0f)) {
		scsi_invalid_field_param(cmd, ten ? 3 : 2, bm > 1 ? 6 : 3);
		return false;
	}
	m->unbuffered = bm == 0;
	if (ten && (p[4] & 0x01)) { /* LONGLBA */
		scsi_invalid_field_param(cmd, 4, 0);
		return false;
	}
	if (*bdlen != 0 && *bdlen != 8) {
		scsi_invalid_field_param(cmd, ten ? 6 : 3, -1);
		return false;
	}
	if (len < hlen + *bdlen) {
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
		return false;
	}
	if (!*bdlen)
		return true;
	const uint8_t *d = p + hlen;
	/* DENSITY CODE: 0 (the default) or the drive's; NUMBER OF BLOCKS 0
	 * (the whole medium); BLOCK LENGTH 0 (variable) or 1..max. */
	if (d[0] != 0 && d[0] != SSC_DENSITY) {
		scsi_invalid_field_param(cmd, hlen, -1);
		return false;
	}
	if (get_be24(d + 1) || d[4]) {
		scsi_invalid_field_param(cmd, hlen + (get_be24(d + 1) ? 1 : 4), -1);
		return false;
	}
	uint32_t bl = get_be24(d + 5);
	if (bl > SSC_MAX_BLOCK) {
		scsi_invalid_field_param(cmd, hlen + 5, -1);
		return false;
	}
	m->block_len = bl;
	return true;
}

void ssc_mode_select(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	struct uscst_device *dev = cmd->dev;
	struct ssc_state *st = ssc_state(dev);
	bool ten = cdb[0] != OP_MODE_SELECT6;
	uint32_t len = ten ? get_be16(cdb + 7) : cdb[4];
	if (len == 0) {
		scsi_cmd_done(cmd);
		return;
	}
	if (!cmd->out_buf || cmd->out_buf_len < len || len < (ten ? 8u : 4u)) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}
	const uint8_t *p = cmd->out_buf;
	struct ssc_mode m;
	current_mode(dev, st, &m);
	uint32_t bdlen;
	if (!select_header(cmd, p, len, ten, &bdlen, &m)) {
		scsi_cmd_done(cmd);
		return;
	}
	for (uint32_t off = (ten ? 8 : 4) + bdlen; off < len;) {
		if (!select_page(cmd, p + off, len - off, off, &m)) {
			scsi_cmd_done(cmd);
			return;
		}
		off += p[off + 1] + 2u;
	}
	struct ssc_mode before;
	current_mode(dev, st, &before);
	pthread_mutex_lock(&dev->lock);
	atomic_store_explicit(&dev->d_sense, m.d_sense, memory_order_relaxed);
	atomic_store_explicit(&dev->swp, m.swp, memory_order_relaxed);
	pthread_mutex_unlock(&dev->lock);
	st->block_len = m.block_len;
	st->unbuffered = m.unbuffered;
	if (memcmp(&before, &m, sizeof(m)) != 0)
		ua_establish_dev(dev, cmd->sess, ASC_MODE_PARAMETERS_CHANGED);
	scsi_cmd_done(cmd);
}

uint32_t ssc_mode_select_out_len(const struct uscst_cmd *cmd)
{
	return cmd->cdb[0] == OP_MODE_SELECT6 ? select_out_len6(cmd) : get_be16(cmd->cdb + 7);
}

/* READ BLOCK LIMITS: GRANULARITY 0 (any length), the largest
 * and smallest block.  MLOI is not supported (mask). */
void ssc_read_block_limits(struct uscst_cmd *cmd)
{
	uint8_t *b = scsi_alloc_in(cmd, 6);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	put_be24(b + 1, SSC_MAX_BLOCK);
	put_be16(b + 4, SSC_MIN_BLOCK);
	scsi_cmd_done(cmd);
}

static void put_ascii(uint8_t *b, const char *s, size_t n)
{
	memset(b, ' ', n);
	memcpy(b, s, strlen(s) < n ? strlen(s) : n);
}

/* REPORT DENSITY SUPPORT: one density, the drive's.  MEDIA 1
 * reports the loaded tape's (NOT READY without one), with its capacity;
 * MEDIA 0 what the drive can do.  MEDIUM TYPE is not supported (mask). */
void ssc_report_density(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	bool media = cmd->cdb[1] & 0x01;
	uint16_t alloc_len = get_be16(cmd->cdb + 7);
	bool loaded = atomic_load_explicit(&dev->medium_present, memory_order_relaxed);
	if (media && !loaded) {
		scsi_fail(cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
		return;
	}
	uint8_t *b = scsi_alloc_in(cmd, 4 + 52);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INSUFFICIENT_RESOURCES);
		return;
	}
	put_be16(b, 52 + 2); /* AVAILABLE DENSITY SUPPORT LENGTH */
	uint8_t *d = b + 4;
	d[0] = SSC_DENSITY; /* PRIMARY DENSITY CODE */
	d[1] = SSC_DENSITY; /* SECONDARY DENSITY CODE */
	d[2] = 0x80 | 0x20; /* WRTOK, DEFLT */
	/* BITS PER MM, MEDIA WIDTH, TRACKS: a file has none (0).  CAPACITY
	 * in units of 10^6 bytes: the loaded tape's, or the largest an image
	 * may have (1 PiB). */
	uint64_t cap = (media ? uscst_device_size(dev) : 1ull << 50) / 1000000u;
	put_be32(d + 12, cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap);
	put_ascii(d + 16, "USCST", 8);		   /* ASSIGNING ORGANIZATION */
	put_ascii(d + 24, "VTAPE", 8);		   /* DENSITY NAME */
	put_ascii(d + 32, "uscst tape image", 20); /* DESCRIPTION */
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}
