/*
 * MODE SENSE(6/10) and MODE SELECT(6/10) (SPC-5 6.11-6.14, SBC-4 6.5).
 *
 * Pages: Caching (08h), Control (0Ah), Informational Exceptions Control
 * (1Ch).  Only WCE, D_SENSE and SWP are changeable; they live in the device
 * (dev->wce, dev->d_sense, dev->swp) and so are shared by every I_T nexus,
 * which is why a change raises MODE PARAMETERS CHANGED on the others.
 * Nothing can be saved.
 */
#include <stdbool.h>
#include <string.h>

#include "scsi/scsi.h"

#define OP_MODE_SELECT6 0x15
#define OP_MODE_SENSE6 0x1a

enum mode_pc {
	PC_CURRENT = 0,
	PC_CHANGEABLE = 1,
	PC_DEFAULT = 2,
	PC_SAVED = 3,
};

#define PAGE_CACHING 0x08
#define PAGE_CONTROL 0x0a
#define PAGE_INFO_EXCEPTIONS 0x1c
#define PAGE_ALL 0x3f
#define SUBPAGE_ALL 0xff

#define MODE_PAGES_MAX 64 /* bytes of all pages together */

/* The changeable state, copied out of the device under dev->lock. */
struct mode_state {
	bool wce, d_sense, swp;
};

struct mode_page {
	uint8_t code;
	uint8_t len; /* whole page, header included */
	/* Fills the page body (b[2..len)) for the given page control. */
	void (*fill)(uint8_t *b, enum mode_pc pc, const struct mode_state *st,
		     const struct uscst_device *dev);
};

static void fill_caching(uint8_t *b, enum mode_pc pc, const struct mode_state *st,
			 const struct uscst_device *dev)
{
	switch (pc) {
	case PC_CHANGEABLE:
		b[2] = 0x04; /* WCE */
		return;
	case PC_DEFAULT:
		b[2] = atomic_load_explicit(&dev->write_through, memory_order_relaxed) ? 0 : 0x04;
		break;
	default:
		b[2] = st->wce ? 0x04 : 0;
		break;
	}
	/* No read-ahead tuning: DISABLE PRE-FETCH TRANSFER LENGTH FFFFh. */
	put_be16(b + 4, 0xffff);
}

static void fill_control(uint8_t *b, enum mode_pc pc, const struct mode_state *st,
			 const struct uscst_device *dev)
{
	if (pc == PC_CHANGEABLE) {
		b[2] = 0x04; /* D_SENSE */
		b[4] = 0x08; /* SWP */
		return;
	}
	bool current = pc == PC_CURRENT;
	/* TST 001b: each I_T nexus has its own task set; GLTSD: no log pages
	 * to save. */
	b[2] = 0x20 | 0x02 | ((current && st->d_sense) ? 0x04 : 0);
	b[3] = 0x10; /* QUEUE ALGORITHM MODIFIER 1: unrestricted reordering; QERR 00b */
	b[4] = (current && st->swp) ? 0x08 : 0;
	put_be16(b + 8, 0xffff); /* BUSY TIMEOUT PERIOD: unlimited */
}

static void fill_info_exceptions(uint8_t *b, enum mode_pc pc, const struct mode_state *st,
				 const struct uscst_device *dev)
{
	if (pc != PC_CHANGEABLE)
		b[2] = 0x08; /* DEXCPT: no failure prediction to report */
}

/* Ascending page code: the order page 3Fh returns them in. */
static const struct mode_page mode_pages[] = {
    {PAGE_CACHING, 20, fill_caching},
    {PAGE_CONTROL, 12, fill_control},
    {PAGE_INFO_EXCEPTIONS, 12, fill_info_exceptions},
};
#define MODE_PAGE_COUNT (sizeof(mode_pages) / sizeof(mode_pages[0]))

static const struct mode_page *find_mode_page(uint8_t code)
{
	for (size_t i = 0; i < MODE_PAGE_COUNT; i++)
		if (mode_pages[i].code == code)
			return &mode_pages[i];
	return NULL;
}

static void read_state(struct uscst_device *dev, struct mode_state *st)
{
	pthread_mutex_lock(&dev->lock);
	st->wce = atomic_load_explicit(&dev->wce, memory_order_relaxed);
	st->d_sense = atomic_load_explicit(&dev->d_sense, memory_order_relaxed);
	st->swp = atomic_load_explicit(&dev->swp, memory_order_relaxed);
	pthread_mutex_unlock(&dev->lock);
}

static unsigned build_page(const struct mode_page *mp, uint8_t *b, enum mode_pc pc,
			   const struct mode_state *st, const struct uscst_device *dev)
{
	memset(b, 0, mp->len);
	b[0] = mp->code; /* PS 0: nothing is savable */
	b[1] = (uint8_t)(mp->len - 2);
	mp->fill(b, pc, st, dev);
	return mp->len;
}

static bool write_protected(const struct uscst_cmd *cmd, const struct mode_state *st)
{
	return atomic_load_explicit(&cmd->dev->read_only, memory_order_relaxed) ||
	       (cmd->lun_ent && cmd->lun_ent->read_only) || st->swp;
}

/* Read-only for this I_T nexus through its mapping or for everyone by the
 * device's configuration; SWP is left out, so that SWP can be cleared. */
static bool mapping_read_only(const struct uscst_cmd *cmd)
{
	return atomic_load_explicit(&cmd->dev->read_only, memory_order_relaxed) ||
	       (cmd->lun_ent && cmd->lun_ent->read_only);
}

/* Block descriptor (SBC-4 6.5.2): short (8 bytes) or long LBA (16 bytes). */
static unsigned put_block_descriptor(uint8_t *b, bool long_lba, enum mode_pc pc,
				     const struct uscst_device *dev)
{
	unsigned len = long_lba ? 16 : 8;
	memset(b, 0, len);
	if (pc == PC_CHANGEABLE)
		return len;		     /* neither capacity nor block size can be changed */
	uint64_t nblocks = sbc_nblocks(dev); /* once: see sbc_nblocks() */
	if (long_lba) {
		put_be64(b, nblocks);
		put_be32(b + 12, dev->block_size);
	} else {
		put_be32(b, nblocks > 0xffffffffull ? 0xffffffffu : (uint32_t)nblocks);
		put_be24(b + 5, dev->block_size);
	}
	return len;
}

struct mode_sense_req {
	bool ten; /* MODE SENSE(10) */
	bool dbd, llbaa;
	enum mode_pc pc;
	uint8_t page, subpage;
	uint32_t alloc_len;
};

static void decode_mode_sense(const uint8_t *cdb, struct mode_sense_req *r)
{
	r->ten = cdb[0] != OP_MODE_SENSE6;
	r->dbd = cdb[1] & 0x08;
	r->llbaa = r->ten && (cdb[1] & 0x10);
	r->pc = (enum mode_pc)(cdb[2] >> 6);
	r->page = cdb[2] & 0x3f;
	r->subpage = cdb[3];
	r->alloc_len = r->ten ? get_be16(cdb + 7) : cdb[4];
}

/* Appends the requested pages to b; false if the page/subpage is not supported. */
static bool build_pages(const struct mode_sense_req *r, uint8_t *b, unsigned *len,
			const struct mode_state *st, const struct uscst_device *dev)
{
	/* No page has subpages: only subpage 00h (the page) and FFh (the page
	 * and all its subpages, which is the same thing) exist. */
	if (r->subpage != 0 && r->subpage != SUBPAGE_ALL)
		return false;
	*len = 0;
	if (r->page == PAGE_ALL) {
		for (size_t i = 0; i < MODE_PAGE_COUNT; i++)
			*len += build_page(&mode_pages[i], b + *len, r->pc, st, dev);
		return true;
	}
	const struct mode_page *mp = find_mode_page(r->page);
	if (!mp)
		return false;
	*len = build_page(mp, b, r->pc, st, dev);
	return true;
}

void spc_mode_sense(struct uscst_cmd *cmd)
{
	struct mode_sense_req r;
	struct mode_state st;
	uint8_t pages[MODE_PAGES_MAX];
	unsigned pages_len;

	decode_mode_sense(cmd->cdb, &r);
	if (r.pc == PC_SAVED) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_SAVING_PARAMS_UNSUP);
		return;
	}
	read_state(cmd->dev, &st);
	if (!build_pages(&r, pages, &pages_len, &st, cmd->dev)) {
		if (r.subpage != 0 && r.subpage != SUBPAGE_ALL)
			scsi_invalid_field_cdb(cmd, 3, -1);
		else
			scsi_invalid_field_cdb(cmd, 2, 5);
		scsi_cmd_done(cmd);
		return;
	}

	unsigned hdr_len = r.ten ? 8 : 4;
	unsigned bd_len = r.dbd ? 0 : (r.llbaa ? 16 : 8);
	unsigned total = hdr_len + bd_len + pages_len;
	uint8_t *b = scsi_alloc_in(cmd, total);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	/* DPOFUA: DPO and FUA are honoured in READ/WRITE CDBs. */
	uint8_t dev_specific = 0x10 | (write_protected(cmd, &st) ? 0x80 : 0);
	/* MODE DATA LENGTH excludes itself and is not reduced by the
	 * allocation length (SPC-5 7.5.6). */
	if (r.ten) {
		put_be16(b, (uint16_t)(total - 2));
		b[3] = dev_specific;
		b[4] = r.llbaa ? 0x01 : 0; /* LONGLBA */
		put_be16(b + 6, (uint16_t)bd_len);
	} else {
		b[0] = (uint8_t)(total - 1);
		b[2] = dev_specific;
		b[3] = (uint8_t)bd_len;
	}
	if (bd_len)
		put_block_descriptor(b + hdr_len, r.llbaa, r.pc, cmd->dev);
	memcpy(b + hdr_len + bd_len, pages, pages_len);
	scsi_clip_in(cmd, r.alloc_len);
	scsi_cmd_done(cmd);
}

/* --- MODE SELECT --- */

/* Outcome of parsing the parameter list: either OK or the sense to return. */
struct select_error {
	bool length_error; /* PARAMETER LIST LENGTH ERROR */
	unsigned byte;	   /* else INVALID FIELD IN PARAMETER LIST at byte/bit */
	int bit;
};

static bool param_length_error(struct select_error *err)
{
	err->length_error = true;
	return false;
}

static bool param_invalid(struct select_error *err, unsigned byte, int bit)
{
	err->length_error = false;
	err->byte = byte;
	err->bit = bit;
	return false;
}

static int lowest_bit(uint8_t v)
{
	for (int bit = 0; bit < 8; bit++)
		if (v & (1u << bit))
			return bit;
	return -1;
}

/* The block descriptor may only restate the current capacity and block size. */
static bool check_block_descriptor(const uint8_t *bd, unsigned bd_len, unsigned base,
				   const struct uscst_device *dev, struct select_error *err)
{
	uint64_t nblocks;
	uint32_t block_len;
	if (bd_len == 16) {
		nblocks = get_be64(bd);
		block_len = get_be32(bd + 12);
	} else {
		nblocks = get_be32(bd);
		block_len = get_be24(bd + 5);
	}
	/* NUMBER OF LOGICAL BLOCKS 0 means "no change" (SBC-4 6.5.2). */
	uint64_t cur = sbc_nblocks(dev);
	bool capacity_ok = nblocks == 0 || nblocks == cur ||
			   (bd_len == 8 && nblocks == 0xffffffffu && cur > 0xffffffffu);
	if (!capacity_ok)
		return param_invalid(err, base, -1);
	if (block_len != dev->block_size)
		return param_invalid(err, base + (bd_len == 16 ? 12 : 5), -1);
	return true;
}

/*
 * Compares one page from the parameter list with the current page: only the
 * changeable bits may differ.  On success updates *st with the new values.
 */
static bool apply_page(const uint8_t *p, unsigned avail, unsigned base, struct mode_state *st,
		       const struct uscst_device *dev, struct select_error *err)
{
	if (avail < 2)
		return param_length_error(err);
	if (p[0] & 0x40) /* SPF: no page has subpages */
		return param_invalid(err, base, 6);
	const struct mode_page *mp = find_mode_page(p[0] & 0x3f);
	if (!mp)
		return param_invalid(err, base, -1);
	if (p[1] != mp->len - 2)
		return param_invalid(err, base + 1, -1);
	if (avail < mp->len)
		return param_length_error(err);

	uint8_t cur[MODE_PAGES_MAX], mask[MODE_PAGES_MAX];
	build_page(mp, cur, PC_CURRENT, st, dev);
	build_page(mp, mask, PC_CHANGEABLE, st, dev);
	/* Byte 0 carries PS, which is reserved in MODE SELECT: ignore it. */
	for (unsigned i = 2; i < mp->len; i++) {
		uint8_t diff = (uint8_t)((p[i] ^ cur[i]) & ~mask[i]);
		if (diff)
			return param_invalid(err, base + i, lowest_bit(diff));
	}
	if (mp->code == PAGE_CACHING)
		st->wce = p[2] & 0x04;
	else if (mp->code == PAGE_CONTROL) {
		st->d_sense = p[2] & 0x04;
		st->swp = p[4] & 0x08;
	}
	return true;
}

/* Parses the whole parameter list against *st, updating it page by page. */
static bool parse_select_list(const uint8_t *buf, unsigned len, bool ten,
			      const struct uscst_device *dev, struct mode_state *st,
			      struct select_error *err)
{
	unsigned hdr_len = ten ? 8 : 4;
	if (len < hdr_len)
		return param_length_error(err);
	bool long_lba = ten && (buf[4] & 0x01);
	unsigned bd_len = ten ? get_be16(buf + 6) : buf[3];
	unsigned bd_len_byte = ten ? 6 : 3;
	if (bd_len != 0 && bd_len != (long_lba ? 16u : 8u))
		return param_invalid(err, bd_len_byte, -1);
	if (len - hdr_len < bd_len)
		return param_length_error(err);
	if (bd_len && !check_block_descriptor(buf + hdr_len, bd_len, hdr_len, dev, err))
		return false;
	for (unsigned off = hdr_len + bd_len; off < len;) {
		const uint8_t *p = buf + off;
		if (!apply_page(p, len - off, off, st, dev, err))
			return false;
		off += (unsigned)p[1] + 2;
	}
	return true;
}

static bool same_state(const struct mode_state *a, const struct mode_state *b)
{
	return a->wce == b->wce && a->d_sense == b->d_sense && a->swp == b->swp;
}

static void select_failed(struct uscst_cmd *cmd, const struct select_error *err)
{
	if (err->length_error)
		scsi_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	else
		scsi_invalid_field_param(cmd, err->byte, err->bit);
	scsi_cmd_done(cmd);
}

void spc_mode_select(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	struct uscst_device *dev = cmd->dev;
	bool ten = cdb[0] != OP_MODE_SELECT6;
	uint32_t list_len = ten ? get_be16(cdb + 7) : cdb[4];

	if (!(cdb[1] & 0x10)) { /* PF: only the SPC page format is understood */
		scsi_invalid_field_cdb(cmd, 1, 4);
		scsi_cmd_done(cmd);
		return;
	}
	if (list_len == 0) {
		scsi_cmd_done(cmd);
		return;
	}
	/* The initiator may have sent less than the CDB announced. */
	if (cmd->out_buf_len < list_len || !cmd->out_buf) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}

	struct select_error err = {0};
	struct mode_state before, after;
	bool ok;
	/* Parse and apply under one lock hold so that two MODE SELECTs from
	 * different nexuses cannot interleave their checks and updates. */
	pthread_mutex_lock(&dev->lock);
	before.wce = atomic_load_explicit(&dev->wce, memory_order_relaxed);
	before.d_sense = atomic_load_explicit(&dev->d_sense, memory_order_relaxed);
	before.swp = atomic_load_explicit(&dev->swp, memory_order_relaxed);
	after = before;
	ok = parse_select_list(cmd->out_buf, list_len, ten, dev, &after, &err);
	/* WCE, D_SENSE and SWP are per device, shared by every I_T nexus (a
	 * change is a MODE PARAMETERS CHANGED for all others, SPC-4 7.5.1), so
	 * a read-only mapping must not change them: SWP=1 would fail every
	 * other group's writes, WCE=1 weaken their durability.  SPC-4 6.11
	 * defines no write protection for MODE SELECT; we refuse a change as
	 * a write of the medium would be (DATA PROTECT, WRITE PROTECTED, SBC-4
	 * 4.11), and let a MODE SELECT that changes nothing succeed. */
	bool refused = ok && !same_state(&before, &after) && mapping_read_only(cmd);
	if (ok && !refused) {
		atomic_store_explicit(&dev->wce, after.wce, memory_order_relaxed);
		atomic_store_explicit(&dev->d_sense, after.d_sense, memory_order_relaxed);
		atomic_store_explicit(&dev->swp, after.swp, memory_order_relaxed);
	}
	pthread_mutex_unlock(&dev->lock);

	if (!ok) {
		select_failed(cmd, &err);
		return;
	}
	if (refused) {
		scsi_fail(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
		return;
	}
	if (!same_state(&before, &after))
		ua_establish_dev(dev, cmd->sess, ASC_MODE_PARAMETERS_CHANGED);
	scsi_cmd_done(cmd);
}
