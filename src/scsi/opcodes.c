/*
 * Opcode table for direct-access block devices: what each CDB is, how much
 * Data-Out it asks for, and which handler runs it.  REPORT SUPPORTED
 * OPERATION CODES is answered from this table, so it never lies about what
 * the target implements.
 */
#include <pthread.h>

#include "scsi/scsi.h"

static uint32_t blocks_bytes(const struct uscst_cmd *cmd, uint64_t blocks)
{
	uint64_t bytes = blocks * cmd->dev->block_size;
	return bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
}

/* WRITE, WRITE AND VERIFY, ORWRITE: TRANSFER LENGTH blocks. */
static uint32_t out_rw_blocks(const struct uscst_cmd *cmd)
{
	struct sbc_rw_fields f;
	if (!sbc_decode_rw(cmd->cdb, &f))
		return 0;
	return blocks_bytes(cmd, f.blocks);
}

/* VERIFY: BYTCHK 01b sends the blocks, 11b one block to compare with each. */
static uint32_t out_verify(const struct uscst_cmd *cmd)
{
	struct sbc_rw_fields f;
	if (!sbc_decode_rw(cmd->cdb, &f))
		return 0;
	switch ((cmd->cdb[1] >> 1) & 3) {
	case 1:
		return blocks_bytes(cmd, f.blocks);
	case 3:
		return f.blocks ? cmd->dev->block_size : 0;
	default:
		return 0;
	}
}

/* WRITE SAME: one block, none when WRITE SAME(16) has NDOB set. */
static uint32_t out_write_same(const struct uscst_cmd *cmd)
{
	if (cmd->cdb[0] == 0x93 && (cmd->cdb[1] & 0x01))
		return 0;
	return cmd->dev->block_size;
}

/* COMPARE AND WRITE: the compare blocks followed by the write blocks. */
static uint32_t out_caw(const struct uscst_cmd *cmd)
{
	return blocks_bytes(cmd, 2ull * cmd->cdb[13]);
}

static uint32_t out_param_byte4(const struct uscst_cmd *cmd)
{
	return cmd->cdb[4];
}

static uint32_t out_param_be16_at3(const struct uscst_cmd *cmd)
{
	return get_be16(cmd->cdb + 3);
}

static uint32_t out_param_be16_at7(const struct uscst_cmd *cmd)
{
	return get_be16(cmd->cdb + 7);
}

static uint32_t out_param_be32_at10(const struct uscst_cmd *cmd)
{
	return get_be32(cmd->cdb + 10);
}

static uint32_t out_param_be32_at5(const struct uscst_cmd *cmd)
{
	return get_be32(cmd->cdb + 5);
}

#define W OPF_WRITES_MEDIUM
#define M OPF_NEEDS_MEDIUM
#define ANY (OPF_ANY_LUN | OPF_NO_UA)

/* CDB USAGE DATA building blocks (SPC-5 6.36.3): a set bit is a CDB bit the
 * device server looks at; a service action code is given as its value.  In
 * the CONTROL byte NACA and LINK are looked at (and refused) by dispatch. */
#define CTL 0x05
#define DPOFUA 0x18 /* byte 1 of READ/WRITE: DPO and FUA are honoured */
#define LBA32 0xff, 0xff, 0xff, 0xff
#define LBA64 LBA32, LBA32
#define LEN32 0xff, 0xff, 0xff, 0xff

/* Sorted by opcode, then service action (REPORT SUPPORTED OPERATION CODES
 * lists them in this order). */
const struct scsi_opcode_desc scsi_disk_opcodes[] = {
	{0x00, false, 0, 6, M, "TEST UNIT READY", NULL, spc_test_unit_ready,
	 {0x00, 0, 0, 0, 0, CTL}},
	{0x03, false, 0, 6, ANY, "REQUEST SENSE", NULL, spc_request_sense,
	 {0x03, 0x01, 0, 0, 0xff, CTL}},
	{0x08, false, 0, 6, M, "READ(6)", NULL, sbc_read,
	 {0x08, 0x1f, 0xff, 0xff, 0xff, CTL}},
	{0x0a, false, 0, 6, W | M, "WRITE(6)", out_rw_blocks, sbc_write,
	 {0x0a, 0x1f, 0xff, 0xff, 0xff, CTL}},
	{0x12, false, 0, 6, ANY, "INQUIRY", NULL, spc_inquiry,
	 {0x12, 0x03, 0xff, 0xff, 0xff, CTL}},
	{0x15, false, 0, 6, 0, "MODE SELECT(6)", out_param_byte4, spc_mode_select,
	 {0x15, 0x11, 0, 0, 0xff, CTL}},
	{0x16, false, 0, 6, 0, "RESERVE(6)", NULL, spc_reserve,
	 {0x16, 0, 0, 0, 0, CTL}},
	{0x17, false, 0, 6, 0, "RELEASE(6)", NULL, spc_release,
	 {0x17, 0, 0, 0, 0, CTL}},
	{0x1a, false, 0, 6, 0, "MODE SENSE(6)", NULL, spc_mode_sense,
	 {0x1a, 0x08, 0xff, 0xff, 0xff, CTL}},
	{0x1b, false, 0, 6, 0, "START STOP UNIT", NULL, sbc_start_stop_unit,
	 {0x1b, 0x01, 0, 0x0f, 0xf7, CTL}},
	{0x1d, false, 0, 6, 0, "SEND DIAGNOSTIC", out_param_be16_at3, spc_send_diagnostic,
	 {0x1d, 0xf7, 0, 0xff, 0xff, CTL}},
	{0x1e, false, 0, 6, 0, "PREVENT ALLOW MEDIUM REMOVAL", NULL, sbc_prevent_allow,
	 {0x1e, 0, 0, 0, 0x03, CTL}},
	{0x25, false, 0, 10, M, "READ CAPACITY(10)", NULL, sbc_read_capacity10,
	 {0x25, 0, LBA32, 0, 0, 0x01, CTL}},
	{0x28, false, 0, 10, M, "READ(10)", NULL, sbc_read,
	 {0x28, DPOFUA, LBA32, 0, 0xff, 0xff, CTL}},
	{0x2a, false, 0, 10, W | M, "WRITE(10)", out_rw_blocks, sbc_write,
	 {0x2a, DPOFUA, LBA32, 0, 0xff, 0xff, CTL}},
	{0x2e, false, 0, 10, W | M, "WRITE AND VERIFY(10)", out_rw_blocks, sbc_write_verify,
	 {0x2e, 0x12, LBA32, 0, 0xff, 0xff, CTL}},
	{0x2f, false, 0, 10, M, "VERIFY(10)", out_verify, sbc_verify,
	 {0x2f, 0x16, LBA32, 0, 0xff, 0xff, CTL}},
	{0x34, false, 0, 10, M, "PRE-FETCH(10)", NULL, sbc_prefetch,
	 {0x34, 0x02, LBA32, 0, 0xff, 0xff, CTL}},
	{0x35, false, 0, 10, M, "SYNCHRONIZE CACHE(10)", NULL, sbc_sync_cache,
	 {0x35, 0x02, LBA32, 0, 0xff, 0xff, CTL}},
	{0x37, false, 0, 10, M, "READ DEFECT DATA(10)", NULL, sbc_read_defect_data,
	 {0x37, 0, 0x1f, 0, 0, 0, 0, 0xff, 0xff, CTL}},
	{0x41, false, 0, 10, W | M, "WRITE SAME(10)", out_write_same, sbc_write_same,
	 {0x41, 0x08, LBA32, 0, 0xff, 0xff, CTL}},
	{0x42, false, 0, 10, W | M, "UNMAP", out_param_be16_at7, sbc_unmap,
	 {0x42, 0, 0, 0, 0, 0, 0, 0xff, 0xff, CTL}},
	{0x55, false, 0, 10, 0, "MODE SELECT(10)", out_param_be16_at7, spc_mode_select,
	 {0x55, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, CTL}},
	{0x56, false, 0, 10, 0, "RESERVE(10)", NULL, spc_reserve,
	 {0x56, 0, 0, 0, 0, 0, 0, 0, 0, CTL}},
	{0x57, false, 0, 10, 0, "RELEASE(10)", NULL, spc_release,
	 {0x57, 0, 0, 0, 0, 0, 0, 0, 0, CTL}},
	{0x5a, false, 0, 10, 0, "MODE SENSE(10)", NULL, spc_mode_sense,
	 {0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, CTL}},
	{0x5e, true, 0x00, 10, 0, "PERSISTENT RESERVE IN / READ KEYS", NULL, spc_pr_in,
	 {0x5e, 0x00, 0, 0, 0, 0, 0, 0xff, 0xff, CTL}},
	{0x5e, true, 0x01, 10, 0, "PERSISTENT RESERVE IN / READ RESERVATION", NULL, spc_pr_in,
	 {0x5e, 0x01, 0, 0, 0, 0, 0, 0xff, 0xff, CTL}},
	{0x5e, true, 0x02, 10, 0, "PERSISTENT RESERVE IN / REPORT CAPABILITIES", NULL, spc_pr_in,
	 {0x5e, 0x02, 0, 0, 0, 0, 0, 0xff, 0xff, CTL}},
	{0x5e, true, 0x03, 10, 0, "PERSISTENT RESERVE IN / READ FULL STATUS", NULL, spc_pr_in,
	 {0x5e, 0x03, 0, 0, 0, 0, 0, 0xff, 0xff, CTL}},
	{0x5f, true, 0x00, 10, 0, "PERSISTENT RESERVE OUT / REGISTER", out_param_be32_at5,
	 spc_pr_out,
	 {0x5f, 0x00, 0xff, 0, 0, LEN32, CTL}},
	{0x5f, true, 0x01, 10, 0, "PERSISTENT RESERVE OUT / RESERVE", out_param_be32_at5,
	 spc_pr_out,
	 {0x5f, 0x01, 0xff, 0, 0, LEN32, CTL}},
	{0x5f, true, 0x02, 10, 0, "PERSISTENT RESERVE OUT / RELEASE", out_param_be32_at5,
	 spc_pr_out,
	 {0x5f, 0x02, 0xff, 0, 0, LEN32, CTL}},
	{0x5f, true, 0x03, 10, 0, "PERSISTENT RESERVE OUT / CLEAR", out_param_be32_at5, spc_pr_out,
	 {0x5f, 0x03, 0xff, 0, 0, LEN32, CTL}},
	{0x5f, true, 0x04, 10, 0, "PERSISTENT RESERVE OUT / PREEMPT", out_param_be32_at5,
	 spc_pr_out,
	 {0x5f, 0x04, 0xff, 0, 0, LEN32, CTL}},
	{0x5f, true, 0x05, 10, 0, "PERSISTENT RESERVE OUT / PREEMPT AND ABORT",
	 out_param_be32_at5, spc_pr_out,
	 {0x5f, 0x05, 0xff, 0, 0, LEN32, CTL}},
	{0x5f, true, 0x06, 10, 0, "PERSISTENT RESERVE OUT / REGISTER AND IGNORE EXISTING KEY",
	 out_param_be32_at5, spc_pr_out,
	 {0x5f, 0x06, 0xff, 0, 0, LEN32, CTL}},
	{0x5f, true, 0x07, 10, 0, "PERSISTENT RESERVE OUT / REGISTER AND MOVE",
	 out_param_be32_at5, spc_pr_out,
	 {0x5f, 0x07, 0xff, 0, 0, LEN32, CTL}},
	{0x83, true, 0x00, 16, 0, "EXTENDED COPY(LID1)", out_param_be32_at10, spc_extended_copy,
	 {0x83, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, LEN32, 0, CTL}},
	{0x84, true, 0x00, 16, 0, "RECEIVE COPY RESULTS / COPY STATUS", NULL,
	 spc_receive_copy_results, {0x84, 0x00, 0xff, 0, 0, 0, 0, 0, 0, 0, LEN32, 0, CTL}},
	{0x84, true, 0x03, 16, 0, "RECEIVE COPY RESULTS / OPERATING PARAMETERS", NULL,
	 spc_receive_copy_results, {0x84, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, LEN32, 0, CTL}},
	{0x84, true, 0x04, 16, 0, "RECEIVE COPY RESULTS / FAILED SEGMENT DETAILS", NULL,
	 spc_receive_copy_results, {0x84, 0x04, 0xff, 0, 0, 0, 0, 0, 0, 0, LEN32, 0, CTL}},
	{0x88, false, 0, 16, M, "READ(16)", NULL, sbc_read,
	 {0x88, DPOFUA, LBA64, LEN32, 0, CTL}},
	{0x89, false, 0, 16, W | M, "COMPARE AND WRITE", out_caw, sbc_compare_and_write,
	 {0x89, DPOFUA, LBA64, 0, 0, 0, 0xff, 0, CTL}},
	{0x8a, false, 0, 16, W | M, "WRITE(16)", out_rw_blocks, sbc_write,
	 {0x8a, DPOFUA, LBA64, LEN32, 0, CTL}},
	{0x8b, false, 0, 16, W | M, "ORWRITE(16)", out_rw_blocks, sbc_orwrite,
	 {0x8b, DPOFUA, LBA64, LEN32, 0, CTL}},
	{0x8e, false, 0, 16, W | M, "WRITE AND VERIFY(16)", out_rw_blocks, sbc_write_verify,
	 {0x8e, 0x12, LBA64, LEN32, 0, CTL}},
	{0x8f, false, 0, 16, M, "VERIFY(16)", out_verify, sbc_verify,
	 {0x8f, 0x16, LBA64, LEN32, 0, CTL}},
	{0x90, false, 0, 16, M, "PRE-FETCH(16)", NULL, sbc_prefetch,
	 {0x90, 0x02, LBA64, LEN32, 0, CTL}},
	{0x91, false, 0, 16, M, "SYNCHRONIZE CACHE(16)", NULL, sbc_sync_cache,
	 {0x91, 0x02, LBA64, LEN32, 0, CTL}},
	{0x93, false, 0, 16, W | M, "WRITE SAME(16)", out_write_same, sbc_write_same,
	 {0x93, 0x09, LBA64, LEN32, 0, CTL}},
	{0x9e, true, 0x10, 16, M, "READ CAPACITY(16)", NULL, sbc_read_capacity16,
	 {0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, LEN32, 0, CTL}},
	{0x9e, true, 0x12, 16, M, "GET LBA STATUS", NULL, sbc_get_lba_status,
	 {0x9e, 0x12, LBA64, LEN32, 0, CTL}},
	{0xa0, false, 0, 12, ANY, "REPORT LUNS", NULL, spc_report_luns,
	 {0xa0, 0, 0xff, 0, 0, 0, LEN32, 0, CTL}},
	{0xa3, true, 0x0c, 12, 0, "REPORT SUPPORTED OPERATION CODES", NULL,
	 spc_report_supported_opcodes,
	 {0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, LEN32, 0, CTL}},
	{0xa3, true, 0x0d, 12, 0, "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS", NULL,
	 spc_report_supported_tmfs,
	 {0xa3, 0x0d, 0x80, 0, 0, 0, LEN32, 0, CTL}},
	{0xa8, false, 0, 12, M, "READ(12)", NULL, sbc_read,
	 {0xa8, DPOFUA, LBA32, LEN32, 0, CTL}},
	{0xaa, false, 0, 12, W | M, "WRITE(12)", out_rw_blocks, sbc_write,
	 {0xaa, DPOFUA, LBA32, LEN32, 0, CTL}},
	{0xae, false, 0, 12, W | M, "WRITE AND VERIFY(12)", out_rw_blocks, sbc_write_verify,
	 {0xae, 0x12, LBA32, LEN32, 0, CTL}},
	{0xaf, false, 0, 12, M, "VERIFY(12)", out_verify, sbc_verify,
	 {0xaf, 0x16, LBA32, LEN32, 0, CTL}},
	{0xb7, false, 0, 12, M, "READ DEFECT DATA(12)", NULL, sbc_read_defect_data,
	 {0xb7, 0x1f, 0xff, 0xff, 0xff, 0xff, LEN32, 0, CTL}},
};

const unsigned scsi_disk_opcodes_count = sizeof(scsi_disk_opcodes) / sizeof(scsi_disk_opcodes[0]);

/* First table index for each opcode (+1; 0 = none), built once. */
static uint8_t disk_first[256];
static pthread_once_t disk_index_once = PTHREAD_ONCE_INIT;

static void build_disk_index(void)
{
	for (unsigned i = scsi_disk_opcodes_count; i-- > 0;)
		disk_first[scsi_disk_opcodes[i].opcode] = (uint8_t)(i + 1);
}

const struct scsi_opcode_desc *scsi_lookup_opcode(const struct uscst_device *dev,
						  const uint8_t *cdb)
{
	pthread_once(&disk_index_once, build_disk_index);
	unsigned i = disk_first[cdb[0]];
	if (!i)
		return NULL;
	for (i--; i < scsi_disk_opcodes_count && scsi_disk_opcodes[i].opcode == cdb[0]; i++) {
		const struct scsi_opcode_desc *d = &scsi_disk_opcodes[i];
		if (!d->has_sa || d->sa == (cdb[1] & 0x1f))
			return d;
	}
	return NULL;
}

bool scsi_opcode_has_service_actions(const uint8_t *cdb)
{
	pthread_once(&disk_index_once, build_disk_index);
	unsigned i = disk_first[cdb[0]];
	return i && scsi_disk_opcodes[i - 1].has_sa;
}
