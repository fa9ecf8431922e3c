/*
 * PERSISTENT RESERVE IN (SPC-5 6.16): READ KEYS, READ RESERVATION,
 * REPORT CAPABILITIES, READ FULL STATUS.  Each builds the complete
 * parameter data from dev->pr under dev->lock, then clips it to the
 * ALLOCATION LENGTH (the length fields keep the untruncated values).
 */
#include <string.h>

#include "core/pr.h"
#include "scsi/scsi.h"

enum {
	SA_READ_KEYS = 0x00,
	SA_READ_RESERVATION = 0x01,
	SA_REPORT_CAPABILITIES = 0x02,
	SA_READ_FULL_STATUS = 0x03,
};

#define PR_IN_HEADER_LEN 8
#define READ_RESERVATION_DESC_LEN 16
#define REPORT_CAPS_LEN 8
#define FULL_STATUS_DESC_LEN 24

/* REPORT CAPABILITIES byte 2 and 3 bits. */
#define CAPS_CRH 0x10
#define CAPS_SIP_C 0x08
#define CAPS_ATP_C 0x04
#define CAPS_PTPL_C 0x01
#define CAPS_TMV 0x80
/* 010b: TEST UNIT READY allowed through any reservation; MODE SENSE, READ
 * BUFFER, RECEIVE DIAGNOSTIC RESULTS, REPORT SUPPORTED OPERATION CODES ...
 * allowed through Write Exclusive, conflicting with Exclusive Access. */
#define CAPS_ALLOW_COMMANDS (0x2 << 4)
#define CAPS_PTPL_A 0x01

/* iSCSI TransportID (SPC-5 7.6.4.6), format 01b: "<name>,i,0x<isid>". */
#define TPID_PROTO_ISCSI 0x05
#define TPID_FORMAT_PORT 0x40
#define TPID_HEADER_LEN 4
#define TPID_MIN_NAME_LEN 20

static const struct pr_state empty_state;

static uint32_t tpid_name_len(const struct pr_reg *reg)
{
	uint32_t len = (uint32_t)strnlen(reg->port, PR_PORT_MAX - 1) + 1; /* with the NUL */
	len = (len + 3) & ~3u;
	return len < TPID_MIN_NAME_LEN ? TPID_MIN_NAME_LEN : len;
}

static uint32_t put_transport_id(uint8_t *p, const struct pr_reg *reg)
{
	uint32_t name_len = tpid_name_len(reg);
	p[0] = TPID_FORMAT_PORT | TPID_PROTO_ISCSI;
	put_be16(p + 2, (uint16_t)name_len);
	memcpy(p + TPID_HEADER_LEN, reg->port, strnlen(reg->port, PR_PORT_MAX - 1));
	return TPID_HEADER_LEN + name_len;
}

static bool read_keys(struct uscst_cmd *cmd, const struct pr_state *st)
{
	uint32_t list_len = st->nregs * 8u;
	uint8_t *p = scsi_alloc_in(cmd, PR_IN_HEADER_LEN + list_len);
	if (!p)
		return false;
	put_be32(p, st->generation);
	put_be32(p + 4, list_len);
	for (unsigned i = 0; i < st->nregs; i++)
		put_be64(p + PR_IN_HEADER_LEN + 8 * i, st->regs[i].key);
	return true;
}

static bool read_reservation(struct uscst_cmd *cmd, const struct pr_state *st)
{
	bool reserved = pr_type(st) != PR_TYPE_NONE;
	uint32_t len = reserved ? READ_RESERVATION_DESC_LEN : 0;
	uint8_t *p = scsi_alloc_in(cmd, PR_IN_HEADER_LEN + len);
	if (!p)
		return false;
	put_be32(p, st->generation);
	put_be32(p + 4, len);
	if (reserved) {
		put_be64(p + 8, pr_reservation_key(st));
		p[21] = (uint8_t)((st->scope << 4) | pr_type(st));
	}
	return true;
}

static bool report_capabilities(struct uscst_cmd *cmd, const struct pr_state *st)
{
	uint8_t *p = scsi_alloc_in(cmd, REPORT_CAPS_LEN);
	if (!p)
		return false;
	put_be16(p, REPORT_CAPS_LEN);
	/* SIP_C stays 0: SPEC_I_PT is refused (see pr_out.c).  PTPL_C only
	 * with a file to persist to (pr_file_name). */
	p[2] = CAPS_CRH | CAPS_ATP_C | (cmd->dev->pr_file_name ? CAPS_PTPL_C : 0);
	p[3] = CAPS_TMV | CAPS_ALLOW_COMMANDS | (st->aptpl ? CAPS_PTPL_A : 0);
	put_be16(p + 4, PR_TYPE_MASK_ALL);
	return true;
}

static bool read_full_status(struct uscst_cmd *cmd, const struct pr_state *st)
{
	uint32_t total = PR_IN_HEADER_LEN;
	for (unsigned i = 0; i < st->nregs; i++)
		total += FULL_STATUS_DESC_LEN + TPID_HEADER_LEN + tpid_name_len(&st->regs[i]);
	uint8_t *p = scsi_alloc_in(cmd, total);
	if (!p)
		return false;
	put_be32(p, st->generation);
	put_be32(p + 4, total - PR_IN_HEADER_LEN);
	uint8_t *d = p + PR_IN_HEADER_LEN;
	for (unsigned i = 0; i < st->nregs; i++) {
		const struct pr_reg *reg = &st->regs[i];
		bool holder = pr_reg_is_holder(st, reg);
		put_be64(d, reg->key);
		d[12] = (uint8_t)((reg->all_tg_pt ? 0x02 : 0) | (holder ? 0x01 : 0));
		if (holder)
			d[13] = (uint8_t)((st->scope << 4) | pr_type(st));
		put_be16(d + 18, reg->rel_tgt_id);
		uint32_t tid_len = put_transport_id(d + FULL_STATUS_DESC_LEN, reg);
		put_be32(d + 20, tid_len);
		d += FULL_STATUS_DESC_LEN + tid_len;
	}
	return true;
}

void spc_pr_in(struct uscst_cmd *cmd)
{
	struct uscst_device *dev = cmd->dev;
	uint8_t sa = cmd->cdb[1] & 0x1f;
	uint16_t alloc_len = get_be16(cmd->cdb + 7);
	bool ok;

	pthread_mutex_lock(&dev->lock);
	const struct pr_state *st = atomic_load_explicit(&dev->pr, memory_order_relaxed);
	if (!st)
		st = &empty_state;
	switch (sa) {
	case SA_READ_KEYS:
		ok = read_keys(cmd, st);
		break;
	case SA_READ_RESERVATION:
		ok = read_reservation(cmd, st);
		break;
	case SA_REPORT_CAPABILITIES:
		ok = report_capabilities(cmd, st);
		break;
	case SA_READ_FULL_STATUS:
		ok = read_full_status(cmd, st);
		break;
	default:
		pthread_mutex_unlock(&dev->lock);
		scsi_invalid_field_cdb(cmd, 1, 4);
		scsi_cmd_done(cmd);
		return;
	}
	pthread_mutex_unlock(&dev->lock);

	if (!ok)
		scsi_check_condition(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
	else
		scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}
