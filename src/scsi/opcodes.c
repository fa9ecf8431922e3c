/*
 * Opcode table for direct-access block devices: what each CDB is, how much
 * Data-Out it asks for, and which handler runs it.  REPORT SUPPORTED
 * OPERATION CODES is answered from this table, so it never lies about what
 * the target implements.
 */
#include <pthread.h>

#include "scsi/sbc_limits.h"
#include "scsi/scsi.h"
#include "scsi/smc.h"
#include "scsi/spc_alua.h"
#include "scsi/spc_opcodes.h"
#include "scsi/ssc.h"

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

static uint32_t out_param_byte4(const struct uscst_cmd *cmd) { return cmd->cdb[4]; }

static uint32_t out_param_be16_at3(const struct uscst_cmd *cmd) { return get_be16(cmd->cdb + 3); }

static uint32_t out_param_be16_at7(const struct uscst_cmd *cmd) { return get_be16(cmd->cdb + 7); }

static uint32_t out_param_be32_at10(const struct uscst_cmd *cmd) { return get_be32(cmd->cdb + 10); }

static uint32_t out_param_be32_at5(const struct uscst_cmd *cmd) { return get_be32(cmd->cdb + 5); }

#define W OPF_WRITES_MEDIUM
#define M OPF_NEEDS_MEDIUM
#define ANY (OPF_ANY_LUN | OPF_NO_UA)
/* What a target port group in standby still serves (SPC-4 5.16.2.4.4). */
#define STANDBY_OK OPF_ALUA_STANDBY

/*
 * CDB USAGE DATA (SPC-5 6.36.3): byte 0 is the opcode, a service action is
 * given as its value, and every other set bit is a CDB bit the device server
 * evaluates.  Dispatch refuses a CDB with any other bit set (INVALID FIELD IN
 * CDB, pointing at the bit), so a reserved bit, and a defined bit of a
 * feature that is not implemented, must stay clear here; REPORT SUPPORTED
 * OPERATION CODES reports the same masks.  A field is all ones or all zeros:
 * handlers check the values a mask cannot express (a reserved BYTCHK code,
 * PF = 0, a PR TYPE).
 *
 * Refused by leaving them out: RDPROTECT / WRPROTECT / VRPROTECT /
 * ORPROTECT (no protection information), RARC (no rebuild assist), the
 * duration limit bits (DLD2..0), CMDDT, SP (nothing is saved), third-party
 * and extent reservations, ANCHOR (SBC_ANC_SUP), WRITE SAME's obsolete
 * PBDATA/LBDATA, and in the CONTROL byte NACA (no ACA), LINK and FLAG.
 * Accepted although they change nothing here: the obsolete FUA_NV and
 * SYNC_NV bits, which initiators (libiscsi among them) still set, and GROUP
 * NUMBER, which has nothing to collect into without a grouping function.
 */
#define CONTROL 0x00 /* NACA, FLAG, LINK: not supported */
#define DPO 0x10
#define FUA 0x08
#define FUA_NV 0x02		      /* obsolete in SBC-4 */
#define RW_FLAGS (DPO | FUA | FUA_NV) /* byte 1 of READ, WRITE, ORWRITE, CAW */
#define BYTCHK 0x06		      /* VERIFY, WRITE AND VERIFY: byte 1 bits 2..1 */
#define IMMED 0x02
#define SYNC_NV 0x04 /* SYNCHRONIZE CACHE, obsolete in SBC-4 */
#define WS_UNMAP 0x08
#define WS_NDOB 0x01
#define ANCHOR_BIT(bit) (SBC_ANC_SUP ? (bit) : 0)
#define GROUP 0x3f /* GROUP NUMBER */
#define SANITIZE_IMMED 0x80
#define SANITIZE_AUSE 0x20 /* ZNR (0x40) is for zoned devices: refused */
#define LBA32 0xff, 0xff, 0xff, 0xff
#define LBA64 LBA32, LBA32
#define LEN16 0xff, 0xff
#define LEN32 0xff, 0xff, 0xff, 0xff
#define LBA21 0x1f, 0xff, 0xff /* READ(6)/WRITE(6): bytes 1..3 */

/* Sorted by opcode, then service action (REPORT SUPPORTED OPERATION CODES
 * lists them in this order). */
const struct scsi_opcode_desc scsi_disk_opcodes[] = {
    SPC_OPCODE_TEST_UNIT_READY(M),
    SPC_OPCODE_REQUEST_SENSE,
    {
	.opcode = 0x08,
	.cdb_len = 6,
	.flags = M,
	.name = "READ(6)",
	.exec = sbc_read,
	.usage = {0x08, LBA21, 0xff, CONTROL},
    },
    {
	.opcode = 0x0a,
	.cdb_len = 6,
	.flags = W | M,
	.name = "WRITE(6)",
	.out_len = out_rw_blocks,
	.exec = sbc_write,
	.usage = {0x0a, LBA21, 0xff, CONTROL},
    },
    SPC_OPCODE_INQUIRY,
    {
	.opcode = 0x15,
	.cdb_len = 6,
	.flags = STANDBY_OK,
	.name = "MODE SELECT(6)",
	.out_len = out_param_byte4,
	.exec = spc_mode_select,
	.usage = {0x15, 0x10 /* PF */, 0, 0, 0xff, CONTROL},
    },
    {
	.opcode = 0x16,
	.cdb_len = 6,
	.name = "RESERVE(6)",
	.exec = spc_reserve,
	.usage = {0x16, 0, 0, 0, 0, CONTROL},
    },
    {
	.opcode = 0x17,
	.cdb_len = 6,
	.name = "RELEASE(6)",
	.exec = spc_release,
	.usage = {0x17, 0, 0, 0, 0, CONTROL},
    },
    {
	.opcode = 0x1a,
	.cdb_len = 6,
	.flags = STANDBY_OK,
	.name = "MODE SENSE(6)",
	.exec = spc_mode_sense,
	.usage = {0x1a, 0x08 /* DBD */, 0xff, 0xff, 0xff, CONTROL},
    },
    {
	.opcode = 0x1b,
	.cdb_len = 6,
	.name = "START STOP UNIT",
	.exec = sbc_start_stop_unit,
	/* IMMED; POWER CONDITION MODIFIER; POWER CONDITION, NO_FLUSH, LOEJ, START */
	.usage = {0x1b, 0x01, 0, 0x0f, 0xf7, CONTROL},
    },
    {
	.opcode = 0x1d,
	.cdb_len = 6,
	.flags = STANDBY_OK,
	.name = "SEND DIAGNOSTIC",
	.out_len = out_param_be16_at3,
	.exec = spc_send_diagnostic,
	/* SELF-TEST CODE, PF, SELFTEST, DEVOFFL, UNITOFFL */
	.usage = {0x1d, 0xf7, 0, LEN16, CONTROL},
    },
    {
	.opcode = 0x1e,
	.cdb_len = 6,
	.name = "PREVENT ALLOW MEDIUM REMOVAL",
	.exec = sbc_prevent_allow,
	.usage = {0x1e, 0, 0, 0, 0x03 /* PREVENT */, CONTROL},
    },
    {
	.opcode = 0x25,
	.cdb_len = 10,
	.flags = M,
	.name = "READ CAPACITY(10)",
	.exec = sbc_read_capacity10,
	.usage = {0x25, 0, LBA32, 0, 0, 0x01 /* PMI */, CONTROL},
    },
    {
	.opcode = 0x28,
	.cdb_len = 10,
	.flags = M,
	.name = "READ(10)",
	.exec = sbc_read,
	.usage = {0x28, RW_FLAGS, LBA32, GROUP, LEN16, CONTROL},
    },
    {
	.opcode = 0x2a,
	.cdb_len = 10,
	.flags = W | M,
	.name = "WRITE(10)",
	.out_len = out_rw_blocks,
	.exec = sbc_write,
	.usage = {0x2a, RW_FLAGS, LBA32, GROUP, LEN16, CONTROL},
    },
    {
	.opcode = 0x2e,
	.cdb_len = 10,
	.flags = W | M,
	.name = "WRITE AND VERIFY(10)",
	.out_len = out_rw_blocks,
	.exec = sbc_write_verify,
	.usage = {0x2e, DPO | BYTCHK, LBA32, GROUP, LEN16, CONTROL},
    },
    {
	.opcode = 0x2f,
	.cdb_len = 10,
	.flags = M,
	.name = "VERIFY(10)",
	.out_len = out_verify,
	.exec = sbc_verify,
	.usage = {0x2f, DPO | BYTCHK, LBA32, GROUP, LEN16, CONTROL},
    },
    {
	.opcode = 0x34,
	.cdb_len = 10,
	.flags = M,
	.name = "PRE-FETCH(10)",
	.exec = sbc_prefetch,
	.usage = {0x34, IMMED, LBA32, GROUP, LEN16, CONTROL},
    },
    {
	.opcode = 0x35,
	.cdb_len = 10,
	.flags = M,
	.name = "SYNCHRONIZE CACHE(10)",
	.exec = sbc_sync_cache,
	.usage = {0x35, SYNC_NV | IMMED, LBA32, GROUP, LEN16, CONTROL},
    },
    {
	.opcode = 0x37,
	.cdb_len = 10,
	.flags = M,
	.name = "READ DEFECT DATA(10)",
	.exec = sbc_read_defect_data,
	/* REQ_PLIST, REQ_GLIST, DEFECT LIST FORMAT */
	.usage = {0x37, 0, 0x1f, 0, 0, 0, 0, LEN16, CONTROL},
    },
    {
	.opcode = 0x41,
	.cdb_len = 10,
	.flags = W | M,
	.name = "WRITE SAME(10)",
	.out_len = out_write_same,
	.exec = sbc_write_same,
	.usage = {0x41, ANCHOR_BIT(0x10) | WS_UNMAP, LBA32, GROUP, LEN16, CONTROL},
    },
    {
	.opcode = 0x42,
	.cdb_len = 10,
	.flags = W | M,
	.name = "UNMAP",
	.out_len = out_param_be16_at7,
	.exec = sbc_unmap,
	.usage = {0x42, ANCHOR_BIT(0x01), 0, 0, 0, 0, GROUP, LEN16, CONTROL},
    },
    /* SANITIZE (sbc_sanitize.c): CRYPTOGRAPHIC ERASE (03h) is not supported;
     * BLOCK ERASE is reported only by devices that can deallocate. */
    {
	.opcode = 0x48,
	.has_sa = true,
	.sa = 0x01,
	.cdb_len = 10,
	.flags = W | M,
	.name = "SANITIZE OVERWRITE",
	.out_len = out_param_be16_at7,
	.exec = sbc_sanitize,
	.usage = {0x48, SANITIZE_IMMED | SANITIZE_AUSE | 0x01, 0, 0, 0, 0, 0, LEN16, CONTROL},
    },
    {
	.opcode = 0x48,
	.has_sa = true,
	.sa = 0x02,
	.cdb_len = 10,
	.flags = W | M,
	.name = "SANITIZE BLOCK ERASE",
	.out_len = out_param_be16_at7,
	.exec = sbc_sanitize,
	.usage = {0x48, SANITIZE_IMMED | SANITIZE_AUSE | 0x02, 0, 0, 0, 0, 0, LEN16, CONTROL},
    },
    {
	.opcode = 0x48,
	.has_sa = true,
	.sa = 0x1f,
	.cdb_len = 10,
	.flags = M,
	.name = "SANITIZE EXIT FAILURE MODE",
	.out_len = out_param_be16_at7,
	.exec = sbc_sanitize,
	.usage = {0x48, SANITIZE_IMMED | SANITIZE_AUSE | 0x1f, 0, 0, 0, 0, 0, LEN16, CONTROL},
    },
    {
	.opcode = 0x55,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "MODE SELECT(10)",
	.out_len = out_param_be16_at7,
	.exec = spc_mode_select,
	.usage = {0x55, 0x10 /* PF */, 0, 0, 0, 0, 0, LEN16, CONTROL},
    },
    {
	.opcode = 0x56,
	.cdb_len = 10,
	.name = "RESERVE(10)",
	.exec = spc_reserve,
	.usage = {0x56, 0, 0, 0, 0, 0, 0, 0, 0, CONTROL},
    },
    {
	.opcode = 0x57,
	.cdb_len = 10,
	.name = "RELEASE(10)",
	.exec = spc_release,
	.usage = {0x57, 0, 0, 0, 0, 0, 0, 0, 0, CONTROL},
    },
    {
	.opcode = 0x5a,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "MODE SENSE(10)",
	.exec = spc_mode_sense,
	.usage = {0x5a, 0x18 /* LLBAA, DBD */, 0xff, 0xff, 0, 0, 0, LEN16, CONTROL},
    },
    {
	.opcode = 0x5e,
	.has_sa = true,
	.sa = 0x00,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "PERSISTENT RESERVE IN / READ KEYS",
	.exec = spc_pr_in,
	.usage = {0x5e, 0x00, 0, 0, 0, 0, 0, LEN16, CONTROL},
    },
    {
	.opcode = 0x5e,
	.has_sa = true,
	.sa = 0x01,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "PERSISTENT RESERVE IN / READ RESERVATION",
	.exec = spc_pr_in,
	.usage = {0x5e, 0x01, 0, 0, 0, 0, 0, LEN16, CONTROL},
    },
    {
	.opcode = 0x5e,
	.has_sa = true,
	.sa = 0x02,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "PERSISTENT RESERVE IN / REPORT CAPABILITIES",
	.exec = spc_pr_in,
	.usage = {0x5e, 0x02, 0, 0, 0, 0, 0, LEN16, CONTROL},
    },
    {
	.opcode = 0x5e,
	.has_sa = true,
	.sa = 0x03,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "PERSISTENT RESERVE IN / READ FULL STATUS",
	.exec = spc_pr_in,
	.usage = {0x5e, 0x03, 0, 0, 0, 0, 0, LEN16, CONTROL},
    },
    {
	.opcode = 0x5f,
	.has_sa = true,
	.sa = 0x00,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "PERSISTENT RESERVE OUT / REGISTER",
	.out_len = out_param_be32_at5,
	.exec = spc_pr_out,
	.usage = {0x5f, 0x00, 0xff /* SCOPE, TYPE */, 0, 0, LEN32, CONTROL},
    },
    {
	.opcode = 0x5f,
	.has_sa = true,
	.sa = 0x01,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "PERSISTENT RESERVE OUT / RESERVE",
	.out_len = out_param_be32_at5,
	.exec = spc_pr_out,
	.usage = {0x5f, 0x01, 0xff /* SCOPE, TYPE */, 0, 0, LEN32, CONTROL},
    },
    {
	.opcode = 0x5f,
	.has_sa = true,
	.sa = 0x02,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "PERSISTENT RESERVE OUT / RELEASE",
	.out_len = out_param_be32_at5,
	.exec = spc_pr_out,
	.usage = {0x5f, 0x02, 0xff /* SCOPE, TYPE */, 0, 0, LEN32, CONTROL},
    },
    {
	.opcode = 0x5f,
	.has_sa = true,
	.sa = 0x03,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "PERSISTENT RESERVE OUT / CLEAR",
	.out_len = out_param_be32_at5,
	.exec = spc_pr_out,
	.usage = {0x5f, 0x03, 0xff /* SCOPE, TYPE */, 0, 0, LEN32, CONTROL},
    },
    {
	.opcode = 0x5f,
	.has_sa = true,
	.sa = 0x04,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "PERSISTENT RESERVE OUT / PREEMPT",
	.out_len = out_param_be32_at5,
	.exec = spc_pr_out,
	.usage = {0x5f, 0x04, 0xff /* SCOPE, TYPE */, 0, 0, LEN32, CONTROL},
    },
    {
	.opcode = 0x5f,
	.has_sa = true,
	.sa = 0x05,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "PERSISTENT RESERVE OUT / PREEMPT AND ABORT",
	.out_len = out_param_be32_at5,
	.exec = spc_pr_out,
	.usage = {0x5f, 0x05, 0xff /* SCOPE, TYPE */, 0, 0, LEN32, CONTROL},
    },
    {
	.opcode = 0x5f,
	.has_sa = true,
	.sa = 0x06,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "PERSISTENT RESERVE OUT / REGISTER AND IGNORE EXISTING KEY",
	.out_len = out_param_be32_at5,
	.exec = spc_pr_out,
	.usage = {0x5f, 0x06, 0xff /* SCOPE, TYPE */, 0, 0, LEN32, CONTROL},
    },
    {
	.opcode = 0x5f,
	.has_sa = true,
	.sa = 0x07,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "PERSISTENT RESERVE OUT / REGISTER AND MOVE",
	.out_len = out_param_be32_at5,
	.exec = spc_pr_out,
	.usage = {0x5f, 0x07, 0xff /* SCOPE, TYPE */, 0, 0, LEN32, CONTROL},
    },
    {
	.opcode = 0x83,
	.has_sa = true,
	.sa = 0x00,
	.cdb_len = 16,
	.name = "EXTENDED COPY(LID1)",
	.out_len = out_param_be32_at10,
	.exec = spc_extended_copy,
	.usage = {0x83, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, LEN32, 0, CONTROL},
    },
    {
	.opcode = 0x84,
	.has_sa = true,
	.sa = 0x00,
	.cdb_len = 16,
	.name = "RECEIVE COPY RESULTS / COPY STATUS",
	.exec = spc_receive_copy_results,
	.usage = {0x84, 0x00, 0xff /* LIST IDENTIFIER */, 0, 0, 0, 0, 0, 0, 0, LEN32, 0, CONTROL},
    },
    {
	.opcode = 0x84,
	.has_sa = true,
	.sa = 0x03,
	.cdb_len = 16,
	.name = "RECEIVE COPY RESULTS / OPERATING PARAMETERS",
	.exec = spc_receive_copy_results,
	.usage = {0x84, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, LEN32, 0, CONTROL},
    },
    {
	.opcode = 0x84,
	.has_sa = true,
	.sa = 0x04,
	.cdb_len = 16,
	.name = "RECEIVE COPY RESULTS / FAILED SEGMENT DETAILS",
	.exec = spc_receive_copy_results,
	.usage = {0x84, 0x04, 0xff /* LIST IDENTIFIER */, 0, 0, 0, 0, 0, 0, 0, LEN32, 0, CONTROL},
    },
    {
	.opcode = 0x88,
	.cdb_len = 16,
	.flags = M,
	.name = "READ(16)",
	.exec = sbc_read,
	.usage = {0x88, RW_FLAGS, LBA64, LEN32, GROUP, CONTROL},
    },
    {
	.opcode = 0x89,
	.cdb_len = 16,
	.flags = W | M,
	.name = "COMPARE AND WRITE",
	.out_len = out_caw,
	.exec = sbc_compare_and_write,
	.usage = {0x89, RW_FLAGS, LBA64, 0, 0, 0, 0xff /* NUMBER OF LOGICAL BLOCKS */, GROUP,
		  CONTROL},
    },
    {
	.opcode = 0x8a,
	.cdb_len = 16,
	.flags = W | M,
	.name = "WRITE(16)",
	.out_len = out_rw_blocks,
	.exec = sbc_write,
	.usage = {0x8a, RW_FLAGS, LBA64, LEN32, GROUP, CONTROL},
    },
    {
	.opcode = 0x8b,
	.cdb_len = 16,
	.flags = W | M,
	.name = "ORWRITE(16)",
	.out_len = out_rw_blocks,
	.exec = sbc_orwrite,
	.usage = {0x8b, RW_FLAGS, LBA64, LEN32, GROUP, CONTROL},
    },
    {
	.opcode = 0x8e,
	.cdb_len = 16,
	.flags = W | M,
	.name = "WRITE AND VERIFY(16)",
	.out_len = out_rw_blocks,
	.exec = sbc_write_verify,
	.usage = {0x8e, DPO | BYTCHK, LBA64, LEN32, GROUP, CONTROL},
    },
    {
	.opcode = 0x8f,
	.cdb_len = 16,
	.flags = M,
	.name = "VERIFY(16)",
	.out_len = out_verify,
	.exec = sbc_verify,
	.usage = {0x8f, DPO | BYTCHK, LBA64, LEN32, GROUP, CONTROL},
    },
    {
	.opcode = 0x90,
	.cdb_len = 16,
	.flags = M,
	.name = "PRE-FETCH(16)",
	.exec = sbc_prefetch,
	.usage = {0x90, IMMED, LBA64, LEN32, GROUP, CONTROL},
    },
    {
	.opcode = 0x91,
	.cdb_len = 16,
	.flags = M,
	.name = "SYNCHRONIZE CACHE(16)",
	.exec = sbc_sync_cache,
	.usage = {0x91, SYNC_NV | IMMED, LBA64, LEN32, GROUP, CONTROL},
    },
    {
	.opcode = 0x93,
	.cdb_len = 16,
	.flags = W | M,
	.name = "WRITE SAME(16)",
	.out_len = out_write_same,
	.exec = sbc_write_same,
	.usage = {0x93, ANCHOR_BIT(0x10) | WS_UNMAP | WS_NDOB, LBA64, LEN32, GROUP, CONTROL},
    },
    {
	.opcode = 0x9c,
	.cdb_len = 16,
	.flags = W | M,
	.name = "WRITE ATOMIC(16)",
	.out_len = out_rw_blocks,
	.exec = sbc_write_atomic,
	/* ATOMIC BOUNDARY (bytes 10..11): boundaries are not supported. */
	.usage = {0x9c, DPO | FUA, LBA64, 0, 0, LEN16, GROUP, CONTROL},
    },
    {
	.opcode = 0x9e,
	.has_sa = true,
	.sa = 0x10,
	.cdb_len = 16,
	.flags = M,
	.name = "READ CAPACITY(16)",
	.exec = sbc_read_capacity16,
	/* The obsolete LOGICAL BLOCK ADDRESS and PMI are refused. */
	.usage = {0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, LEN32, 0, CONTROL},
    },
    {
	.opcode = 0x9e,
	.has_sa = true,
	.sa = 0x12,
	.cdb_len = 16,
	.flags = M,
	.name = "GET LBA STATUS",
	.exec = sbc_get_lba_status,
	/* REPORT TYPE (byte 14) is not supported. */
	.usage = {0x9e, 0x12, LBA64, LEN32, 0, CONTROL},
    },
    SPC_OPCODE_REPORT_LUNS,
    SPC_OPCODE_REPORT_TARGET_PORT_GROUPS,
    SPC_OPCODE_REPORT_SUPPORTED_OPCODES,
    {
	.opcode = 0xa3,
	.has_sa = true,
	.sa = 0x0d,
	.cdb_len = 12,
	.flags = OPF_ALUA_ANY_STATE,
	.name = "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS",
	.exec = spc_report_supported_tmfs,
	.usage = {0xa3, 0x0d, 0x80 /* REPD */, 0, 0, 0, LEN32, 0, CONTROL},
    },
    SPC_OPCODE_SET_TARGET_PORT_GROUPS,
    {
	.opcode = 0xa8,
	.cdb_len = 12,
	.flags = M,
	.name = "READ(12)",
	.exec = sbc_read,
	.usage = {0xa8, RW_FLAGS, LBA32, LEN32, GROUP, CONTROL},
    },
    {
	.opcode = 0xaa,
	.cdb_len = 12,
	.flags = W | M,
	.name = "WRITE(12)",
	.out_len = out_rw_blocks,
	.exec = sbc_write,
	.usage = {0xaa, RW_FLAGS, LBA32, LEN32, GROUP, CONTROL},
    },
    {
	.opcode = 0xae,
	.cdb_len = 12,
	.flags = W | M,
	.name = "WRITE AND VERIFY(12)",
	.out_len = out_rw_blocks,
	.exec = sbc_write_verify,
	.usage = {0xae, DPO | BYTCHK, LBA32, LEN32, GROUP, CONTROL},
    },
    {
	.opcode = 0xaf,
	.cdb_len = 12,
	.flags = M,
	.name = "VERIFY(12)",
	.out_len = out_verify,
	.exec = sbc_verify,
	.usage = {0xaf, DPO | BYTCHK, LBA32, LEN32, GROUP, CONTROL},
    },
    {
	.opcode = 0xb7,
	.cdb_len = 12,
	.flags = M,
	.name = "READ DEFECT DATA(12)",
	.exec = sbc_read_defect_data,
	/* REQ_PLIST, REQ_GLIST, DEFECT LIST FORMAT; ADDRESS DESCRIPTOR INDEX */
	.usage = {0xb7, 0x1f, LBA32, LEN32, 0, CONTROL},
    },
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

const struct scsi_opcode_desc *scsi_opcode_find(const struct scsi_opcode_desc *table,
						unsigned count, uint8_t opcode)
{
	for (unsigned i = 0; i < count; i++)
		if (table[i].opcode == opcode)
			return &table[i];
	return NULL;
}

/* Each command set of this directory with its table; a command set not
 * listed has none to report. */
static const struct {
	const struct uscst_cmdset *cs;
	const struct scsi_opcode_desc *ops;
	const unsigned *count;
} tables[] = {
    {&scsi_sbc_cmdset, scsi_disk_opcodes, &scsi_disk_opcodes_count},
    {&scsi_mmc_cmdset, scsi_mmc_opcodes, &scsi_mmc_opcodes_count},
    {&scsi_smc_cmdset, scsi_smc_opcodes, &scsi_smc_opcodes_count},
    /* The commands a pass-through device's core keeps (reservations,
     * REPORT LUNS, REQUEST SENSE) are the disk table's; the rest go to
     * the device, which answers REPORT SUPPORTED OPERATION CODES too. */
    {&scsi_passthrough_cmdset, scsi_disk_opcodes, &scsi_disk_opcodes_count},
};

struct scsi_opcode_table scsi_opcode_table_of(const struct uscst_device *dev)
{
	if (!dev)
		return (struct scsi_opcode_table){scsi_disk_opcodes, scsi_disk_opcodes_count};
	/* Built at first use: it borrows entries of the disk table. */
	if (dev->cmdset == &scsi_ssc_cmdset)
		return ssc_opcode_table();
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (tables[i].cs == dev->cmdset)
			return (struct scsi_opcode_table){tables[i].ops, *tables[i].count};
	return (struct scsi_opcode_table){NULL, 0};
}

const struct scsi_opcode_desc *scsi_table_lookup(struct scsi_opcode_table t, const uint8_t *cdb)
{
	for (unsigned i = 0; i < t.count; i++) {
		const struct scsi_opcode_desc *d = &t.ops[i];
		if (d->opcode == cdb[0] && (!d->has_sa || d->sa == (cdb[1] & 0x1f)))
			return d;
	}
	return NULL;
}

bool scsi_opcode_has_service_actions(const struct uscst_device *dev, const uint8_t *cdb)
{
	/* The disk table answers from its index; the others are short. */
	struct scsi_opcode_table t = scsi_opcode_table_of(dev);
	if (t.ops != scsi_disk_opcodes) {
		for (unsigned i = 0; i < t.count; i++)
			if (t.ops[i].opcode == cdb[0])
				return t.ops[i].has_sa;
		return false;
	}
	pthread_once(&disk_index_once, build_disk_index);
	unsigned i = disk_first[cdb[0]];
	return i && scsi_disk_opcodes[i - 1].has_sa;
}
