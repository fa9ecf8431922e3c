/*
 * MODE SENSE(6/10) of a medium changer (SPC-5 6.11/6.12, SMC-3 7.3):
 * Element Address Assignment (1Dh), Transport Geometry Parameters (1Eh)
 * and Device Capabilities (1Fh).  No block descriptors (a changer has no
 * blocks), nothing changeable, nothing saved; MODE SELECT is not in the
 * table.
 */
#include <string.h>

#include "scsi/smc.h"

#define OP_MODE_SENSE6 0x1a
#define PAGE_ELEMENT_ADDRESS 0x1d
#define PAGE_TRANSPORT_GEOMETRY 0x1e
#define PAGE_DEVICE_CAPABILITIES 0x1f
#define PAGE_ALL 0x3f

#define PC_CHANGEABLE 1
#define PC_SAVED 3

/* Device capabilities bits: DT, I/E, ST, MT (bits 3..0). */
#define CAP_DT 0x08
#define CAP_IE 0x04
#define CAP_ST 0x02

static unsigned page_element_address(uint8_t *b, const struct smc_library *lib, bool zero)
{
	b[0] = PAGE_ELEMENT_ADDRESS;
	b[1] = 0x12;
	if (zero)
		return 20;
	put_be16(b + 2, SMC_ADDR_TRANSPORT);
	put_be16(b + 4, 1);
	put_be16(b + 6, SMC_ADDR_SLOT);
	put_be16(b + 8, (uint16_t)lib->nslots);
	put_be16(b + 10, lib->nie ? SMC_ADDR_IE : 0);
	put_be16(b + 12, (uint16_t)lib->nie);
	put_be16(b + 14, SMC_ADDR_DRIVE);
	put_be16(b + 16, (uint16_t)lib->ndrives);
	return 20;
}

/* One transport: no ROTATE (media have one side), MEMBER NUMBER 0. */
static unsigned page_transport_geometry(uint8_t *b)
{
	b[0] = PAGE_TRANSPORT_GEOMETRY;
	b[1] = 0x02;
	return 4;
}

/* Tapes rest in slots, I/E elements and drives, and move between any two
 * of those; the transport only carries.  No EXCHANGE MEDIUM. */
static unsigned page_device_capabilities(uint8_t *b, const struct smc_library *lib, bool zero)
{
	b[0] = PAGE_DEVICE_CAPABILITIES;
	b[1] = 0x12;
	if (zero)
		return 20;
	uint8_t where = CAP_DT | CAP_ST | (lib->nie ? CAP_IE : 0);
	b[2] = where;		     /* STORDT, STORI/E, STORST */
	b[5] = where;		     /* ST -> */
	b[6] = lib->nie ? where : 0; /* I/E -> */
	b[7] = where;		     /* DT -> */
	return 20;
}

static unsigned build_pages(uint8_t *b, uint8_t page, const struct smc_library *lib, bool zero)
{
	unsigned n = 0;
	if (page == PAGE_ELEMENT_ADDRESS || page == PAGE_ALL)
		n += page_element_address(b + n, lib, zero);
	if (page == PAGE_TRANSPORT_GEOMETRY || page == PAGE_ALL)
		n += page_transport_geometry(b + n);
	if (page == PAGE_DEVICE_CAPABILITIES || page == PAGE_ALL)
		n += page_device_capabilities(b + n, lib, zero);
	return n;
}

void smc_mode_sense(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool six = cdb[0] == OP_MODE_SENSE6;
	uint8_t pc = cdb[2] >> 6, page = cdb[2] & 0x3f, subpage = cdb[3];
	uint32_t alloc_len = six ? cdb[4] : get_be16(cdb + 7);
	struct smc_library *lib = smc_lib(cmd->dev);

	if (pc == PC_SAVED) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_SAVING_PARAMS_UNSUP);
		return;
	}
	if (page != PAGE_ELEMENT_ADDRESS && page != PAGE_TRANSPORT_GEOMETRY &&
	    page != PAGE_DEVICE_CAPABILITIES && page != PAGE_ALL) {
		scsi_invalid_field_cdb(cmd, 2, 5);
		scsi_cmd_done(cmd);
		return;
	}
	/* No subpages: 00h, or FFh with page 3Fh (all pages, all subpages). */
	if (subpage != 0 && !(page == PAGE_ALL && subpage == 0xff)) {
		scsi_invalid_field_cdb(cmd, 3, 7);
		scsi_cmd_done(cmd);
		return;
	}
	unsigned hdr = six ? 4 : 8;
	uint8_t *b = scsi_alloc_in(cmd, hdr + 44);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	pthread_mutex_lock(&lib->lock);
	unsigned len = hdr + build_pages(b + hdr, page, lib, pc == PC_CHANGEABLE);
	pthread_mutex_unlock(&lib->lock);
	/* MODE DATA LENGTH excludes itself; MEDIUM TYPE, DEVICE-SPECIFIC
	 * PARAMETER and BLOCK DESCRIPTOR LENGTH stay 0. */
	if (six)
		b[0] = (uint8_t)(len - 1);
	else
		put_be16(b, (uint16_t)(len - 2));
	cmd->in_len = len;
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}
