/*
 * INQUIRY (SPC-5 6.7): standard data and the VPD pages a direct-access
 * block device reports (SPC-5 7.7, SBC-4 6.6).
 *
 * Every page is built whole into a buffer sized for its largest form and
 * then clipped to the ALLOCATION LENGTH, so a short allocation length never
 * changes the length fields the initiator sees.
 */
#include <stdio.h>
#include <string.h>

#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"
#include "scsi/smc.h"
#include "scsi/spc_alua.h"

#define INQ_VERSION_SPC4 0x06
#define INQ_STD_LEN 96 /* through the version descriptors and reserved bytes 74..95 */

/* Version descriptors (SPC-5 table 8x): what the target claims to implement. */
#define VD_SAM5 0x00a0
#define VD_ISCSI 0x0960
#define VD_SPC4 0x0460
#define VD_SBC3 0x04c0
#define VD_SMC3 0x0480

#define VPD_SUPPORTED_PAGES 0x00
#define VPD_UNIT_SERIAL 0x80
#define VPD_DEVICE_ID 0x83
#define VPD_EXTENDED_INQUIRY 0x86
#define VPD_BLOCK_LIMITS 0xb0
#define VPD_BLOCK_DEV_CHARS 0xb1
#define VPD_LB_PROVISIONING 0xb2

#define VPD_MAX_LEN 1024 /* larger than any page built here */

/* Designator fields of the Device Identification page (SPC-5 7.7.6). */
#define DESIG_CODE_BINARY 0x1
#define DESIG_CODE_ASCII 0x2
#define DESIG_CODE_UTF8 0x3
#define DESIG_PROTO_ISCSI 0x5
#define DESIG_ASSOC_LU 0x0
#define DESIG_ASSOC_PORT 0x1
#define DESIG_ASSOC_TARGET 0x2
#define DESIG_TYPE_T10_VENDOR 0x1
#define DESIG_TYPE_NAA 0x3
#define DESIG_TYPE_REL_PORT 0x4
#define DESIG_TYPE_SCSI_NAME 0x8

/* PERIPHERAL QUALIFIER 000b + device type, or 011b / 1Fh (no LU) when unmapped. */
static uint8_t peripheral_byte(const struct uscst_device *dev)
{
	return dev ? (uint8_t)(dev->cmdset->device_type & 0x1f) : 0x7f;
}

/* The block-device parts of INQUIRY (3PC through EXTENDED COPY, the SBC
 * version descriptor, the block VPD pages) describe only a direct-access
 * LU; another device type's command set (MMC) has none of them. */
static bool is_block_device(const struct uscst_device *dev)
{
	return !dev || dev->cmdset->device_type == SBC_DEVICE_TYPE;
}

/* ASCII field padded with spaces (SPC-5 4.3.1: left-aligned, no NULs). */
static void put_ascii_padded(uint8_t *dst, const char *src, size_t width)
{
	size_t n = strnlen(src, width);
	memcpy(dst, src, n);
	memset(dst + n, ' ', width - n);
}

static void finish(struct uscst_cmd *cmd, uint32_t len, uint32_t alloc_len)
{
	cmd->in_len = len;
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}

static void no_memory(struct uscst_cmd *cmd)
{
	scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
}

static void inquiry_standard(struct uscst_cmd *cmd, uint32_t alloc_len)
{
	const struct uscst_device *dev = cmd->dev;
	uint8_t *b = scsi_alloc_in(cmd, INQ_STD_LEN);
	if (!b) {
		no_memory(cmd);
		return;
	}
	b[0] = peripheral_byte(dev);
	b[1] = (dev && dev->removable) ? 0x80 : 0; /* RMB */
	b[2] = INQ_VERSION_SPC4;
	b[3] = 0x10 | 0x02; /* HISUP, RESPONSE DATA FORMAT 2 */
	b[4] = INQ_STD_LEN - 5;
	/* 3PC: EXTENDED COPY is supported (spc_xcopy.c), in the SBC table. */
	b[5] = is_block_device(dev) ? 0x08 : 0;
	b[5] |= scsi_alua_tpgs(dev); /* TPGS: ALUA, when a device group holds dev */
	b[7] = 0x02;		     /* CMDQUE: command queuing; no linked commands */
	if (dev) {
		put_ascii_padded(b + 8, dev->t10_vend_id, 8);
		put_ascii_padded(b + 16, dev->t10_prod_id, 16);
		put_ascii_padded(b + 32, dev->prod_rev, 4);
	} else {
		memset(b + 8, ' ', 28);
	}
	put_be16(b + 58, VD_SAM5);
	put_be16(b + 60, VD_ISCSI);
	put_be16(b + 62, VD_SPC4);
	if (is_block_device(dev))
		put_be16(b + 64, VD_SBC3);
	else if (dev->cmdset->device_type == SMC_DEVICE_TYPE)
		put_be16(b + 64, VD_SMC3);
	finish(cmd, INQ_STD_LEN, alloc_len);
}

/* --- VPD pages: each builder fills b (VPD_MAX_LEN zeroed bytes) and
 * returns the page's total length. --- */

static const uint8_t supported_vpd_pages[] = {
    VPD_SUPPORTED_PAGES, VPD_UNIT_SERIAL,     VPD_DEVICE_ID,	   VPD_EXTENDED_INQUIRY,
    VPD_BLOCK_LIMITS,	 VPD_BLOCK_DEV_CHARS, VPD_LB_PROVISIONING,
};

static uint32_t vpd_supported_pages(const struct uscst_cmd *cmd, uint8_t *b)
{
	/* Ascending order, as SPC-5 requires. */
	size_t n = sizeof(supported_vpd_pages);
	if (!is_block_device(cmd->dev))
		n = 4; /* through EXTENDED INQUIRY DATA: not the block pages */
	memcpy(b + 4, supported_vpd_pages, n);
	return 4 + (uint32_t)n;
}

static uint32_t vpd_unit_serial(const struct uscst_cmd *cmd, uint8_t *b)
{
	struct uscst_device *dev = cmd->dev;
	/* t10_dev_id may change at run time (core/device_live.c). */
	pthread_mutex_lock(&dev->lock);
	const char *usn = dev->usn[0] ? dev->usn : dev->t10_dev_id;
	size_t n = strnlen(usn, sizeof(dev->usn));
	memcpy(b + 4, usn, n);
	pthread_mutex_unlock(&dev->lock);
	return (uint32_t)(4 + n);
}

/* Writes a designation descriptor header; returns the offset of its body. */
static uint8_t *put_designator(uint8_t *d, uint8_t code_set, bool piv, uint8_t assoc, uint8_t type,
			       uint8_t len)
{
	d[0] = (uint8_t)((piv ? DESIG_PROTO_ISCSI << 4 : 0) | code_set);
	d[1] = (uint8_t)((piv ? 0x80 : 0) | (assoc << 4) | type);
	d[3] = len;
	return d + 4;
}

/* NAA 6 (IEEE Registered Extended): naa_id holds the first 8 bytes (NAA
 * nibble, company ID, vendor specific ID); the extension stays zero. */
static unsigned desig_naa(const struct uscst_device *dev, uint8_t *d)
{
	uint8_t *p =
	    put_designator(d, DESIG_CODE_BINARY, false, DESIG_ASSOC_LU, DESIG_TYPE_NAA, 16);
	put_be64(p, (dev->naa_id & 0x0fffffffffffffffull) | (6ull << 60));
	return 4 + 16;
}

static unsigned desig_t10_vendor(const struct uscst_device *dev, uint8_t *d)
{
	/* t10_dev_id may change at run time (core/device_live.c). */
	char id[sizeof(dev->t10_dev_id)];
	pthread_mutex_lock((pthread_mutex_t *)&dev->lock);
	memcpy(id, dev->t10_dev_id, sizeof(id));
	pthread_mutex_unlock((pthread_mutex_t *)&dev->lock);
	size_t id_len = strnlen(id, sizeof(id));
	uint8_t *p = put_designator(d, DESIG_CODE_ASCII, false, DESIG_ASSOC_LU,
				    DESIG_TYPE_T10_VENDOR, (uint8_t)(8 + id_len));
	put_ascii_padded(p, dev->t10_vend_id, 8);
	memcpy(p + 8, id, id_len);
	return (unsigned)(4 + 8 + id_len);
}

/* The relative port of the session's target port (one of its target's). */
static unsigned desig_rel_port(const struct uscst_session *sess, uint8_t *d)
{
	uint8_t *p =
	    put_designator(d, DESIG_CODE_BINARY, true, DESIG_ASSOC_PORT, DESIG_TYPE_REL_PORT, 4);
	put_be16(p + 2, sess->rel_port_id);
	return 4 + 4;
}

/* SCSI name string: NUL terminated and padded to a multiple of 4 bytes. */
static unsigned desig_scsi_name(uint8_t *d, uint8_t assoc, const char *name, const char *suffix)
{
	size_t name_len = strnlen(name, USCST_NAME_MAX);
	size_t suffix_len = strlen(suffix);
	size_t len = (name_len + suffix_len + 1 + 3) & ~(size_t)3;
	uint8_t *p =
	    put_designator(d, DESIG_CODE_UTF8, true, assoc, DESIG_TYPE_SCSI_NAME, (uint8_t)len);
	memcpy(p, name, name_len);
	memcpy(p + name_len, suffix, suffix_len);
	return (unsigned)(4 + len);
}

static uint32_t vpd_device_id(const struct uscst_cmd *cmd, uint8_t *b)
{
	const struct uscst_target *tgt = cmd->sess ? cmd->sess->tgt : NULL;
	unsigned off = 4;

	off += desig_naa(cmd->dev, b + off);
	off += desig_t10_vendor(cmd->dev, b + off);
	if (tgt) {
		off += desig_rel_port(cmd->sess, b + off);
		/* Target port name: iSCSI name plus ",t,0x" and the portal group tag. */
		char tag[16];
		snprintf(tag, sizeof(tag), ",t,0x%04x", cmd->sess->tpgt);
		off += desig_scsi_name(b + off, DESIG_ASSOC_PORT, tgt->name, tag);
		off += desig_scsi_name(b + off, DESIG_ASSOC_TARGET, tgt->name, "");
		off += scsi_alua_tpg_designator(cmd, b + off);
	}
	return off;
}

static uint32_t vpd_extended_inquiry(const struct uscst_cmd *cmd, uint8_t *b)
{
	/* Only SIMPLE task attributes are promised: the transport runs every
	 * command as it arrives. */
	b[5] = 0x01; /* SIMPSUP */
	/* V_SUP: a volatile write cache exists unless writes go straight through. */
	if (!atomic_load_explicit(&cmd->dev->write_through, memory_order_relaxed) &&
	    !cmd->dev->nv_cache)
		b[6] = 0x01;
	return 64;
}

static uint32_t blocks_of(uint32_t bytes, uint32_t block_size)
{
	uint32_t n = bytes / block_size;
	return n ? n : 1;
}

/* libiscsi treats more than 2^20 unmap LBAs per command as insane; the
 * reported limit may be lower than the one enforced, never higher. */
#define VPD_MAX_UNMAP_LBA_REPORTED (1u << 20)

static uint32_t vpd_block_limits(const struct uscst_cmd *cmd, uint8_t *b)
{
	const struct uscst_device *dev = cmd->dev;
	uint32_t bs = dev->block_size;
	uint32_t max_xfer = blocks_of(SBC_MAX_TRANSFER_BYTES, bs);

	b[4] = SBC_WSNZ ? 0x01 : 0; /* WSNZ */
	b[5] = (uint8_t)SBC_MAX_CAW_BLOCKS;
	put_be16(b + 6, 1); /* OPTIMAL TRANSFER LENGTH GRANULARITY */
	put_be32(b + 8, max_xfer);
	put_be32(b + 12, blocks_of(SBC_OPTIMAL_TRANSFER_BYTES, bs));
	put_be32(b + 16, max_xfer); /* MAXIMUM PREFETCH LENGTH */
	if (dev->thin_provisioned) {
		uint32_t max_unmap = SBC_MAX_UNMAP_LBA_COUNT;
		if (max_unmap > VPD_MAX_UNMAP_LBA_REPORTED)
			max_unmap = VPD_MAX_UNMAP_LBA_REPORTED;
		put_be32(b + 20, max_unmap);
		put_be32(b + 24, SBC_MAX_UNMAP_DESCRIPTORS);
		put_be32(b + 28, blocks_of(SBC_UNMAP_GRANULARITY_BYTES, bs));
	}
	put_be64(b + 36, SBC_MAX_WRITE_SAME_BLOCKS);
	/* WRITE ATOMIC(16) (sbc_atomic.c says what "atomic" covers): any
	 * length up to this, no alignment, no granularity (44..55); atomic
	 * boundaries are not supported (56..63 zero). */
	put_be32(b + 44, blocks_of(SBC_MAX_ATOMIC_TRANSFER_BYTES, bs));
	return 64;
}

static uint32_t vpd_block_dev_chars(const struct uscst_cmd *cmd, uint8_t *b)
{
	/* MEDIUM ROTATION RATE: 1 = non-rotating (solid state); 0 = not reported. */
	put_be16(b + 4, cmd->dev->rotational ? 0 : 1);
	/* WABEREQ 01b: a read after a SANITIZE BLOCK ERASE completes with GOOD
	 * (the blocks read as zeros, LBPRZ); 00b where there is none.
	 * WACEREQ 00b: no CRYPTOGRAPHIC ERASE (sbc_sanitize.c says why). */
	if (sbc_sanitize_sa_supported(cmd->dev, 0x02))
		b[7] = 0x40;
	return 64;
}

static uint32_t vpd_lb_provisioning(const struct uscst_cmd *cmd, uint8_t *b)
{
	if (cmd->dev->thin_provisioned) {
		/* UNMAP, WRITE SAME(16) and WRITE SAME(10) with UNMAP all
		 * deallocate: LBPU, LBPWS, LBPWS10. */
		b[5] = 0x80 | 0x40 | 0x20;
		if (SBC_LBPRZ)
			b[5] |= 0x04; /* LBPRZ 001b: unmapped blocks read as zeros */
		if (SBC_ANC_SUP)
			b[5] |= 0x02;
		b[6] = 0x02; /* PROVISIONING TYPE: thin */
	}
	return 8;
}

struct vpd_page {
	uint8_t code;
	uint32_t (*build)(const struct uscst_cmd *cmd, uint8_t *b);
};

static const struct vpd_page vpd_pages[] = {
    {VPD_SUPPORTED_PAGES, vpd_supported_pages},
    {VPD_UNIT_SERIAL, vpd_unit_serial},
    {VPD_DEVICE_ID, vpd_device_id},
    {VPD_EXTENDED_INQUIRY, vpd_extended_inquiry},
    {VPD_BLOCK_LIMITS, vpd_block_limits},
    {VPD_BLOCK_DEV_CHARS, vpd_block_dev_chars},
    {VPD_LB_PROVISIONING, vpd_lb_provisioning},
};

static const struct vpd_page *find_vpd_page(uint8_t code)
{
	for (size_t i = 0; i < sizeof(vpd_pages) / sizeof(vpd_pages[0]); i++)
		if (vpd_pages[i].code == code)
			return &vpd_pages[i];
	return NULL;
}

static void inquiry_vpd(struct uscst_cmd *cmd, uint8_t page_code, uint32_t alloc_len)
{
	const struct vpd_page *page = find_vpd_page(page_code);
	if (page && page_code >= VPD_BLOCK_LIMITS && !is_block_device(cmd->dev))
		page = NULL;
	if (!cmd->dev) {
		/* No logical unit behind this LUN: nothing to describe. */
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
		return;
	}
	if (!page) {
		scsi_invalid_field_cdb(cmd, 2, -1);
		scsi_cmd_done(cmd);
		return;
	}
	uint8_t *b = scsi_alloc_in(cmd, VPD_MAX_LEN);
	if (!b) {
		no_memory(cmd);
		return;
	}
	uint32_t len = page->build(cmd, b);
	b[0] = peripheral_byte(cmd->dev);
	b[1] = page_code;
	put_be16(b + 2, (uint16_t)(len - 4));
	finish(cmd, len, alloc_len);
}

void spc_inquiry(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool evpd = cdb[1] & 0x01;
	uint32_t alloc_len = get_be16(cdb + 3);

	if (!evpd && cdb[2]) {
		scsi_invalid_field_cdb(cmd, 2, -1);
		scsi_cmd_done(cmd);
		return;
	}
	if (evpd)
		inquiry_vpd(cmd, cdb[2], alloc_len);
	else
		inquiry_standard(cmd, alloc_len);
}
