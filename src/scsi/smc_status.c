/*
 * READ ELEMENT STATUS (SMC-3 6.9): the elements of the requested type (or
 * all) from STARTING ELEMENT ADDRESS up, at most NUMBER OF ELEMENTS of
 * them, in ascending address order, one element status page per run of
 * one type.  The element map is always current (nothing mechanical to
 * scan), so CURDATA changes nothing.
 */
#include <string.h>

#include "scsi/smc.h"

#define RES_VOLTAG 0x10
#define RES_DVCID 0x01

#define HEADER_LEN 8
#define PAGE_HEADER_LEN 8
#define DESC_BASE_LEN 12
#define VOLTAG_LEN 36
/* DVCID: the drive's T10 vendor ID designator (SPC-5 7.7.6.4), as its
 * Device Identification VPD page gives it: vendor (8) + t10_dev_id, in a
 * field of fixed size so that every descriptor of the page has one length. */
#define DVCID_HEADER_LEN 4
#define DVCID_ID_MAX 40

/* Element descriptor byte 2 (SMC-3 6.9.3). */
#define EL_FULL 0x01
#define EL_IMPEXP 0x02
#define EL_ACCESS 0x08
#define EL_EXENAB 0x10
#define EL_INENAB 0x20
/* Byte 9. */
#define EL_SVALID 0x80
#define MEDIUM_TYPE_DATA 0x01

static unsigned desc_len(uint8_t type, bool voltag, bool dvcid)
{
	return DESC_BASE_LEN + (voltag ? VOLTAG_LEN : 0) +
	       (dvcid && type == SMC_ELEM_DRIVE ? DVCID_HEADER_LEN + DVCID_ID_MAX : 0);
}

static void put_padded(uint8_t *dst, const char *src, size_t width)
{
	size_t n = strnlen(src, width);
	memcpy(dst, src, n);
	memset(dst + n, ' ', width - n);
}

static void put_descriptor(uint8_t *d, struct smc_library *lib, const struct smc_element *e,
			   bool voltag, bool dvcid)
{
	const struct smc_tape *t = e->tape >= 0 ? &lib->tapes[e->tape] : NULL;
	put_be16(d, e->addr);
	switch (e->type) {
	case SMC_ELEM_TRANSPORT:
		break; /* no ACCESS bit; never holds a tape between commands */
	case SMC_ELEM_IE:
		/* The operator's side is the library directory: import and
		 * export both possible; IMPEXP 1 for a tape an INITIALIZE
		 * ELEMENT STATUS found there, 0 for one MOVE MEDIUM put. */
		d[2] = EL_INENAB | EL_EXENAB | EL_ACCESS | (t && t->imported ? EL_IMPEXP : 0);
		break;
	default:
		d[2] = EL_ACCESS;
		break;
	}
	if (t) {
		d[2] |= EL_FULL;
		if (t->source) {
			d[9] = EL_SVALID;
			put_be16(d + 10, t->source);
		}
		d[9] |= MEDIUM_TYPE_DATA;
	}
	/* Bytes 6-7 of a drive (NOT BUS, ID VALID, LU VALID): 0, its LUN
	 * depends on the initiator's map; DVCID names it instead. */
	uint8_t *p = d + DESC_BASE_LEN;
	if (voltag) {
		/* PRIMARY VOLUME TAG: the barcode, space padded; zero for an
		 * empty element. */
		if (t)
			put_padded(p, t->barcode, SMC_BARCODE_MAX);
		p += VOLTAG_LEN;
	}
	if (dvcid && e->type == SMC_ELEM_DRIVE) {
		const struct uscst_device *drive = smc_element_drive(lib, e);
		size_t id_len = strnlen(drive->t10_dev_id, DVCID_ID_MAX - 8);
		p[0] = 0x02; /* CODE SET: ASCII */
		p[1] = 0x01; /* ASSOCIATION: LU; IDENTIFIER TYPE: T10 vendor ID */
		p[3] = (uint8_t)(8 + id_len);
		put_padded(p + 4, drive->t10_vend_id, 8);
		memcpy(p + 12, drive->t10_dev_id, id_len);
	}
}

static bool wanted(const struct smc_element *e, uint8_t type, uint16_t start)
{
	return (type == SMC_ELEM_ALL || e->type == type) && e->addr >= start;
}

void smc_read_element_status(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool voltag = cdb[1] & RES_VOLTAG;
	uint8_t type = cdb[1] & 0x0f;
	uint16_t start = get_be16(cdb + 2);
	uint16_t max = get_be16(cdb + 4);
	bool dvcid = cdb[6] & RES_DVCID;
	uint32_t alloc_len = (uint32_t)cdb[7] << 16 | get_be16(cdb + 8);
	struct smc_library *lib = smc_lib(cmd->dev);

	if (type > SMC_ELEM_DRIVE) {
		scsi_invalid_field_cdb(cmd, 1, 3);
		scsi_cmd_done(cmd);
		return;
	}
	pthread_mutex_lock(&lib->lock);
	/* What is reported: the first `max` wanted elements, and the bytes
	 * they take (each change of type opens a page). */
	unsigned n = 0, first = lib->nelems;
	uint32_t len = HEADER_LEN;
	uint8_t prev_type = 0;
	bool any = false;
	for (unsigned i = 0; i < lib->nelems; i++) {
		const struct smc_element *e = &lib->elems[i];
		if (!wanted(e, type, start))
			continue;
		any = true;
		if (n == max)
			break;
		if (!n)
			first = i;
		if (e->type != prev_type)
			len += PAGE_HEADER_LEN;
		prev_type = e->type;
		len += desc_len(e->type, voltag, dvcid);
		n++;
	}
	/* No element of that type at or above STARTING ELEMENT ADDRESS. */
	if (!any) {
		pthread_mutex_unlock(&lib->lock);
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_ELEMENT_ADDRESS);
		return;
	}
	uint8_t *b = scsi_alloc_in(cmd, len);
	if (!b) {
		pthread_mutex_unlock(&lib->lock);
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	/* Element status data header: FIRST ELEMENT ADDRESS REPORTED, NUMBER
	 * OF ELEMENTS AVAILABLE, BYTE COUNT OF REPORT AVAILABLE (the pages,
	 * whatever ALLOCATION LENGTH cuts). */
	put_be16(b, n ? lib->elems[first].addr : 0);
	put_be16(b + 2, (uint16_t)n);
	put_be32(b + 4, len - HEADER_LEN); /* byte 4 reserved: len < 2^24 */
	uint8_t *page = NULL;
	uint32_t off = HEADER_LEN;
	for (unsigned i = first, done = 0; done < n; i++) {
		const struct smc_element *e = &lib->elems[i];
		if (!wanted(e, type, start))
			continue;
		unsigned dl = desc_len(e->type, voltag, dvcid);
		if (!page || page[0] != e->type) {
			/* Element status page header: type, PVOLTAG, ELEMENT
			 * DESCRIPTOR LENGTH, BYTE COUNT OF DESCRIPTOR DATA
			 * AVAILABLE (filled as descriptors are added). */
			page = b + off;
			page[0] = e->type;
			page[1] = voltag ? 0x80 : 0;
			put_be16(page + 2, (uint16_t)dl);
			off += PAGE_HEADER_LEN;
		}
		put_descriptor(b + off, lib, e, voltag, dvcid);
		off += dl;
		put_be32(page + 4, get_be32(page + 4) + dl);
		done++;
	}
	pthread_mutex_unlock(&lib->lock);
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}
