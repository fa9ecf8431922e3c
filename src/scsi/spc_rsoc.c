/*
 * REPORT SUPPORTED OPERATION CODES (SPC-5 6.36), answered from the opcode
 * table (opcodes.c) so that it always matches what dispatch accepts.
 */
#include <string.h>

#include "scsi/scsi.h"
#include "scsi/spc_alua.h"

#define RSOC_ALL 0x0	   /* every command */
#define RSOC_OPCODE 0x1	   /* one opcode without service actions */
#define RSOC_OPCODE_SA 0x2 /* one opcode + service action */
#define RSOC_EITHER 0x3	   /* SPC-5: one opcode, with SA if it has them */

#define SUPPORT_NOT_SUPPORTED 0x1
#define SUPPORT_STANDARD 0x3

#define CMD_DESC_LEN 8
#define TIMEOUTS_DESC_LEN 12

/* UNMAP only exists on thin-provisioned units (its handler refuses it
 * otherwise), so it is not advertised on the others; a SANITIZE service
 * action only where the device can do it (sbc_sanitize.c); nor are REPORT /
 * SET TARGET PORT GROUPS on a unit without (explicit) ALUA. */
static bool available(const struct scsi_opcode_desc *op, const struct uscst_device *dev)
{
	if (op->opcode == 0x48 && op->exec == sbc_sanitize)
		return dev && sbc_sanitize_sa_supported(dev, (uint8_t)op->sa);
	return !(op->opcode == 0x42 && dev && !dev->thin_provisioned) &&
	       scsi_alua_opcode_available(op, dev);
}

/* Command timeouts descriptor (SPC-5 6.36.4): no timeouts specified. */
static void put_timeouts(uint8_t *b)
{
	memset(b, 0, TIMEOUTS_DESC_LEN);
	put_be16(b, TIMEOUTS_DESC_LEN - 2);
}

static void report_all(struct uscst_cmd *cmd, bool rctd, uint32_t alloc_len)
{
	struct scsi_opcode_table t = scsi_opcode_table_of(cmd->dev);
	unsigned desc_len = CMD_DESC_LEN + (rctd ? TIMEOUTS_DESC_LEN : 0);
	uint8_t *b = scsi_alloc_in(cmd, 4 + desc_len * t.count);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	uint32_t off = 4;
	for (unsigned i = 0; i < t.count; i++) {
		const struct scsi_opcode_desc *op = &t.ops[i];
		if (!available(op, cmd->dev))
			continue;
		uint8_t *d = b + off;
		d[0] = op->opcode;
		put_be16(d + 2, op->has_sa ? op->sa : 0);
		d[5] = (uint8_t)((rctd ? 0x02 : 0) | (op->has_sa ? 0x01 : 0)); /* CTDP, SERVACTV */
		put_be16(d + 6, op->cdb_len);
		if (rctd)
			put_timeouts(d + CMD_DESC_LEN);
		off += desc_len;
	}
	put_be32(b, off - 4);
	cmd->in_len = off;
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}

/* The entry of dev's table for (opcode, sa); sa < 0 matches an entry
 * without one. */
static const struct scsi_opcode_desc *find_op(const struct uscst_device *dev, uint8_t opcode,
					      int sa)
{
	struct scsi_opcode_table t = scsi_opcode_table_of(dev);
	for (unsigned i = 0; i < t.count; i++) {
		const struct scsi_opcode_desc *op = &t.ops[i];
		if (op->opcode != opcode)
			continue;
		if (sa < 0 ? !op->has_sa : (op->has_sa && op->sa == sa))
			return op;
	}
	return NULL;
}

static void report_one(struct uscst_cmd *cmd, const struct scsi_opcode_desc *op, bool rctd,
		       uint32_t alloc_len)
{
	unsigned cdb_len = op ? op->cdb_len : 0;
	uint8_t *b = scsi_alloc_in(cmd, 4 + cdb_len + TIMEOUTS_DESC_LEN);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	uint32_t len = 4;
	if (op) {
		b[1] = (uint8_t)((rctd ? 0x80 : 0) | SUPPORT_STANDARD);
		put_be16(b + 2, (uint16_t)cdb_len);
		memcpy(b + 4, op->usage, cdb_len);
		len += cdb_len;
		if (rctd) {
			put_timeouts(b + len);
			len += TIMEOUTS_DESC_LEN;
		}
	} else {
		b[1] = SUPPORT_NOT_SUPPORTED;
	}
	cmd->in_len = len;
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}

void spc_report_supported_opcodes(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool rctd = cdb[2] & 0x80;
	uint8_t options = cdb[2] & 0x07;
	uint8_t opcode = cdb[3];
	uint16_t sa = get_be16(cdb + 4);
	uint32_t alloc_len = get_be32(cdb + 6);
	uint8_t probe[2] = {opcode, 0};
	bool has_sa = scsi_opcode_has_service_actions(cmd->dev, probe);
	const struct scsi_opcode_desc *op = NULL;

	switch (options) {
	case RSOC_ALL:
		report_all(cmd, rctd, alloc_len);
		return;
	case RSOC_OPCODE:
		if (has_sa)
			goto invalid_opcode_field;
		op = find_op(cmd->dev, opcode, -1);
		break;
	case RSOC_OPCODE_SA:
		if (!has_sa)
			goto invalid_opcode_field;
		op = sa <= 0x1f ? find_op(cmd->dev, opcode, sa) : NULL;
		break;
	case RSOC_EITHER:
		op = has_sa ? (sa <= 0x1f ? find_op(cmd->dev, opcode, sa) : NULL)
			    : find_op(cmd->dev, opcode, -1);
		break;
	default:
		scsi_invalid_field_cdb(cmd, 2, 2);
		scsi_cmd_done(cmd);
		return;
	}
	if (op && !available(op, cmd->dev))
		op = NULL;
	report_one(cmd, op, rctd, alloc_len);
	return;

invalid_opcode_field:
	/* SPC-5: the REQUESTED OPERATION CODE does not fit the REPORTING OPTIONS. */
	scsi_invalid_field_cdb(cmd, 3, -1);
	scsi_cmd_done(cmd);
}
