/*
 * Small SPC-5 commands: TEST UNIT READY, REQUEST SENSE, REPORT LUNS,
 * SEND DIAGNOSTIC, REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS.
 */
#include <string.h>

#include "scsi/scsi.h"

void spc_test_unit_ready(struct uscst_cmd *cmd)
{
	/* Medium presence, unit attentions and reservations were checked by
	 * the dispatcher; a ready unit has nothing more to say. */
	scsi_cmd_done(cmd);
}

/* --- REQUEST SENSE (SPC-5 6.39) --- */

#define SENSE_BUF_LEN 32 /* >= fixed (18) and descriptor (8) sense without descriptors */

static void request_sense_reply(struct uscst_cmd *cmd, bool desc, uint8_t key, uint8_t asc,
				uint8_t ascq, uint32_t alloc_len)
{
	uint8_t *b = scsi_alloc_in(cmd, SENSE_BUF_LEN);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	cmd->in_len = uscst_sense_build(b, desc, key, asc, ascq, false, 0);
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}

void spc_request_sense(struct uscst_cmd *cmd)
{
	bool desc = cmd->cdb[1] & 0x01;
	uint32_t alloc_len = cmd->cdb[4];
	uint8_t asc, ascq;

	/* The sense data is returned as parameter data with GOOD status; a
	 * LUN with no logical unit reports that as its sense (SPC-5 6.39). */
	if (!cmd->dev) {
		request_sense_reply(cmd, desc, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED,
				    alloc_len);
		return;
	}
	/* A pending unit attention is reported, and thereby cleared. */
	if (ua_take(cmd->sess, cmd->lun, &asc, &ascq)) {
		request_sense_reply(cmd, desc, SK_UNIT_ATTENTION, asc, ascq, alloc_len);
		return;
	}
	if (!atomic_load_explicit(&cmd->dev->medium_present, memory_order_relaxed)) {
		request_sense_reply(cmd, desc, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT, alloc_len);
		return;
	}
	uint8_t sanitize[SENSE_BUF_LEN];
	unsigned n = sbc_sanitize_sense(cmd->dev, sanitize, desc);
	if (n) {
		uint8_t *b = scsi_alloc_in(cmd, n);
		if (!b) {
			scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
			return;
		}
		memcpy(b, sanitize, n);
		scsi_clip_in(cmd, alloc_len);
		scsi_cmd_done(cmd);
		return;
	}
	request_sense_reply(cmd, desc, SK_NO_SENSE, ASC_NO_ADDITIONAL_SENSE, alloc_len);
}

/* --- REPORT LUNS (SPC-5 6.33) --- */

#define SELECT_REPORT_ALL 0x00	      /* LUNs of logical units, no well-known LUs */
#define SELECT_REPORT_WELL_KNOWN 0x01 /* well-known LUs only: there are none */
#define SELECT_REPORT_EVERYTHING 0x02

/* Single level LUN structure (SAM-5 4.7): peripheral device addressing for
 * LUNs below 256, flat space addressing up to 16383; false if not encodable. */
static bool encode_lun(uint64_t lun, uint8_t *b)
{
	memset(b, 0, 8);
	if (lun < 256) {
		b[1] = (uint8_t)lun;
		return true;
	}
	if (lun < 16384) {
		b[0] = (uint8_t)(0x40 | (lun >> 8));
		b[1] = (uint8_t)lun;
		return true;
	}
	return false;
}

void spc_report_luns(struct uscst_cmd *cmd)
{
	uint8_t select = cmd->cdb[2];
	uint32_t alloc_len = get_be32(cmd->cdb + 6);
	const struct uscst_lun_map *map = cmd->sess ? cmd->sess->luns : NULL;

	if (select != SELECT_REPORT_ALL && select != SELECT_REPORT_WELL_KNOWN &&
	    select != SELECT_REPORT_EVERYTHING) {
		scsi_invalid_field_cdb(cmd, 2, -1);
		scsi_cmd_done(cmd);
		return;
	}
	if (alloc_len < 16) { /* SPC-5: shorter than the header plus one LUN */
		scsi_invalid_field_cdb(cmd, 6, -1);
		scsi_cmd_done(cmd);
		return;
	}
	unsigned count = (map && select != SELECT_REPORT_WELL_KNOWN) ? map->count : 0;
	uint8_t *b = scsi_alloc_in(cmd, 8 + 8 * count);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	unsigned n = 0;
	for (unsigned i = 0; i < count; i++)
		if (encode_lun(map->luns[i].lun, b + 8 + 8 * n))
			n++;
	put_be32(b, 8 * n);
	cmd->in_len = 8 + 8 * n;
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}

/* --- SEND DIAGNOSTIC (SPC-5 6.42) --- */

#define SELFTEST_CODE_DEFAULT 0
#define SELFTEST_CODE_FG_SHORT 5
#define SELFTEST_CODE_FG_EXTENDED 6

/*
 * There is nothing to test in an emulated unit, so every self-test that
 * needs no parameter data and no result log passes at once.  Background
 * self-tests (results only visible in a log page we do not have) and
 * diagnostic pages are refused.
 */
void spc_send_diagnostic(struct uscst_cmd *cmd)
{
	uint8_t code = cmd->cdb[1] >> 5;
	bool selftest = cmd->cdb[1] & 0x04;
	uint16_t param_len = get_be16(cmd->cdb + 3);
	bool code_ok =
	    code == SELFTEST_CODE_DEFAULT ||
	    (!selftest && (code == SELFTEST_CODE_FG_SHORT || code == SELFTEST_CODE_FG_EXTENDED));

	if (param_len)
		scsi_invalid_field_cdb(cmd, 3, -1);
	else if (!code_ok)
		scsi_invalid_field_cdb(cmd, 1, 5);
	scsi_cmd_done(cmd);
}

/* --- REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (SPC-5 6.38) --- */

#define TMF_ATS 0x80  /* ABORT TASK */
#define TMF_ATSS 0x40 /* ABORT TASK SET */
#define TMF_CTSS 0x10 /* CLEAR TASK SET */
#define TMF_LURS 0x08 /* LOGICAL UNIT RESET */
#define TMF_TRS 0x02  /* TARGET RESET (iSCSI TARGET WARM/COLD RESET) */

void spc_report_supported_tmfs(struct uscst_cmd *cmd)
{
	bool repd = cmd->cdb[2] & 0x80;
	uint32_t alloc_len = get_be32(cmd->cdb + 6);
	uint32_t len = repd ? 16 : 4;

	uint8_t *b = scsi_alloc_in(cmd, len);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	/* What the iSCSI layer implements (enum uscst_tmf_fn); CLEAR ACA is
	 * not, as NACA is refused. */
	b[0] = TMF_ATS | TMF_ATSS | TMF_CTSS | TMF_LURS | TMF_TRS;
	if (repd)
		b[3] = 0x0c; /* ADDITIONAL DATA LENGTH; no timeouts reported */
	scsi_clip_in(cmd, alloc_len);
	scsi_cmd_done(cmd);
}
