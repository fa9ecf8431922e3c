/* Asymmetric logical unit access in the command sets (scsi/spc_alua.h). */
#include "scsi/spc_alua.h"

#include <errno.h>
#include <stdlib.h>

#include "core/alua.h"

#define RTPG_FORMAT_LENGTH 0x0	 /* header: RETURN DATA LENGTH only */
#define RTPG_FORMAT_EXTENDED 0x1 /* header with FORMAT TYPE and IMPLICIT TRANSITION TIME */
#define RTPG_DESC_LEN 8
#define RTPG_PORT_LEN 4
#define STPG_HEADER_LEN 4
#define STPG_DESC_LEN 4

/* SUPPORTED states of every group (SPC-4 6.37 table 306): T_SUP, O_SUP,
 * U_SUP, S_SUP, AN_SUP, AO_SUP; not LBA dependent. */
#define RTPG_SUPPORTED 0xcf

/* NOT READY, LOGICAL UNIT NOT ACCESSIBLE / NOT READY: per state. */
#define ASC_ALUA_TRANSITIONING 0x04, 0x0a
#define ASC_ALUA_STANDBY 0x04, 0x0b
#define ASC_ALUA_UNAVAILABLE 0x04, 0x0c
#define ASC_ALUA_OFFLINE 0x04, 0x12

/* ---- the state rules (SPC-4 5.16.2.4) ---- */

bool scsi_alua_refused(struct uscst_cmd *cmd, const struct scsi_opcode_desc *op)
{
	const struct uscst_alua_dg *dg;
	const struct uscst_alua_tg *tg;
	if (!uscst_alua_lookup(cmd->dev, cmd->sess, &dg, &tg) || !tg)
		return false;
	switch (atomic_load_explicit(&tg->state, memory_order_relaxed)) {
	case USCST_ALUA_STANDBY:
		if (op->flags & OPF_ALUA_STANDBY)
			return false;
		scsi_fail(cmd, SK_NOT_READY, ASC_ALUA_STANDBY);
		return true;
	case USCST_ALUA_UNAVAILABLE:
		if (op->flags & OPF_ALUA_UNAVAILABLE)
			return false;
		scsi_fail(cmd, SK_NOT_READY, ASC_ALUA_UNAVAILABLE);
		return true;
	case USCST_ALUA_TRANSITIONING:
		if (op->flags & OPF_ALUA_TRANSITIONING)
			return false;
		scsi_fail(cmd, SK_NOT_READY, ASC_ALUA_TRANSITIONING);
		return true;
	case USCST_ALUA_OFFLINE:
		/* Only what identifies the unit and reports the groups, as
		 * while transitioning. */
		if (op->flags & OPF_ALUA_TRANSITIONING)
			return false;
		scsi_fail(cmd, SK_NOT_READY, ASC_ALUA_OFFLINE);
		return true;
	default: /* active/optimized, active/non-optimized: everything */
		return false;
	}
}

/* ---- INQUIRY ---- */

static bool explicit_alua(const struct uscst_device *dev)
{
	return atomic_load_explicit(&dev->expl_alua, memory_order_relaxed);
}

uint8_t scsi_alua_tpgs(const struct uscst_device *dev)
{
	if (!dev || !uscst_alua_dg_of(uscst_alua_current(), dev))
		return 0;
	/* Implicit always (the administrator changes states); explicit
	 * (SET TARGET PORT GROUPS) when the device's expl_alua says so. */
	return explicit_alua(dev) ? 0x30 : 0x10;
}

unsigned scsi_alua_tpg_designator(const struct uscst_cmd *cmd, uint8_t *d)
{
	const struct uscst_alua_dg *dg;
	const struct uscst_alua_tg *tg;
	if (!uscst_alua_lookup(cmd->dev, cmd->sess, &dg, &tg) || !tg)
		return 0;
	d[0] = 0x01;	    /* CODE SET binary; PROTOCOL IDENTIFIER not valid */
	d[1] = 0x10 | 0x05; /* ASSOCIATION target port, TARGET PORT GROUP */
	d[3] = 4;
	put_be16(d + 6, tg->group_id);
	return 8;
}

bool scsi_alua_opcode_available(const struct scsi_opcode_desc *op, const struct uscst_device *dev)
{
	if (!op->has_sa || op->sa != 0x0a || (op->opcode != 0xa3 && op->opcode != 0xa4))
		return true;
	uint8_t tpgs = scsi_alua_tpgs(dev);
	return op->opcode == 0xa3 ? tpgs != 0 : (tpgs & 0x20) != 0;
}

/* ---- REPORT TARGET PORT GROUPS ---- */

static uint32_t rtpg_length(const struct uscst_alua_dg *dg, unsigned header)
{
	uint32_t len = header;
	for (unsigned i = 0; i < dg->ntgs; i++)
		len += RTPG_DESC_LEN +
		       RTPG_PORT_LEN * (dg->tgs[i].nports > 255 ? 255 : dg->tgs[i].nports);
	return len;
}

/* The same on every path: the groups of the device group, each with its
 * state and ports, in configuration order. */
void spc_report_target_port_groups(struct uscst_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	unsigned format = cdb[1] >> 5;
	uint32_t alloc_len = get_be32(cdb + 6);
	const struct uscst_alua_dg *dg = uscst_alua_dg_of(uscst_alua_current(), cmd->dev);
	if (!dg) {
		/* TPGS 00b: the command is not supported on this unit. */
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return;
	}
	if (format != RTPG_FORMAT_LENGTH && format != RTPG_FORMAT_EXTENDED) {
		scsi_invalid_field_cdb(cmd, 1, 7);
		scsi_cmd_done(cmd);
		return;
	}
	unsigned header = format == RTPG_FORMAT_EXTENDED ? 8 : 4;
	uint32_t len = rtpg_length(dg, header);
	uint8_t *b = scsi_alloc_in(cmd, len);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	put_be32(b, len - 4);
	if (format == RTPG_FORMAT_EXTENDED)
		b[4] = 0x10; /* FORMAT TYPE 001b; IMPLICIT TRANSITION TIME 0: none given */
	uint8_t *d = b + header;
	for (unsigned i = 0; i < dg->ntgs; i++) {
		const struct uscst_alua_tg *tg = &dg->tgs[i];
		unsigned nports = tg->nports > 255 ? 255 : tg->nports;
		d[0] = (uint8_t)((atomic_load_explicit(&tg->preferred, memory_order_relaxed) ? 0x80
											     : 0) |
				 (atomic_load_explicit(&tg->state, memory_order_relaxed) & 0x0f));
		d[1] = RTPG_SUPPORTED;
		put_be16(d + 2, tg->group_id);
		d[5] = atomic_load_explicit(&tg->changed, memory_order_relaxed);
		d[7] = (uint8_t)nports;
		for (unsigned j = 0; j < nports; j++)
			put_be16(d + RTPG_DESC_LEN + RTPG_PORT_LEN * j + 2,
				 tg->ports[j].rel_tgt_id);
		d += RTPG_DESC_LEN + RTPG_PORT_LEN * nports;
	}
	cmd->in_len = len;
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}

/* ---- SET TARGET PORT GROUPS ---- */

/* At most this many descriptors: more than any device group can name. */
#define STPG_MAX_DESCS 1024
#define STPG_MAX_LEN (STPG_HEADER_LEN + STPG_DESC_LEN * STPG_MAX_DESCS)

/* A longer list is refused whole (PARAMETER LIST LENGTH ERROR): no buffer
 * of the size the CDB claims is ever made for it. */
uint32_t spc_stpg_out_len(const struct uscst_cmd *cmd)
{
	uint32_t len = get_be32(cmd->cdb + 6);
	return len > STPG_MAX_LEN ? STPG_MAX_LEN : len;
}

void spc_set_target_port_groups(struct uscst_cmd *cmd)
{
	uint32_t param_len = get_be32(cmd->cdb + 6);
	if (!(scsi_alua_tpgs(cmd->dev) & 0x20)) {
		/* TPGS without explicit ALUA: SET TARGET PORT GROUPS is not supported. */
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return;
	}
	if (param_len == 0) {
		scsi_cmd_done(cmd); /* nothing to change (SPC-4 6.45) */
		return;
	}
	if (param_len < STPG_HEADER_LEN || (param_len - STPG_HEADER_LEN) % STPG_DESC_LEN ||
	    (param_len - STPG_HEADER_LEN) / STPG_DESC_LEN > STPG_MAX_DESCS ||
	    cmd->out_buf_len < param_len) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}
	unsigned n = (param_len - STPG_HEADER_LEN) / STPG_DESC_LEN;
	struct uscst_alua_set *sets = calloc(n ? n : 1, sizeof(*sets));
	if (!sets) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	const uint8_t *p = cmd->out_buf + STPG_HEADER_LEN;
	for (unsigned i = 0; i < n; i++, p += STPG_DESC_LEN) {
		sets[i].state = p[0] & 0x0f;
		sets[i].group_id = get_be16(p + 2);
	}
	unsigned bad = 0;
	int rc = uscst_alua_set_states(cmd->dev, sets, n, cmd->sess, &bad);
	free(sets);
	if (rc == -EINVAL || rc == -ESRCH) {
		/* The descriptor's state or group: the field pointer names it. */
		unsigned at = STPG_HEADER_LEN + STPG_DESC_LEN * bad;
		if (rc == -EINVAL)
			scsi_invalid_field_param(cmd, at, 3);
		else
			scsi_invalid_field_param(cmd, at + 2, -1);
		scsi_cmd_done(cmd);
		return;
	}
	if (rc < 0) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return;
	}
	scsi_cmd_done(cmd);
}
