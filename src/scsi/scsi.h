/*
 * SCSI command-set emulation: shared definitions for spc*.c, sbc*.c, pr*.c.
 *
 * Handler contract: a handler `void h(struct uscst_cmd *cmd)` is called by
 * the dispatcher (scsi/dispatch.c) after the generic checks (LUN mapped,
 * unit attention, opcode, CDB bits against the usage mask, reservation
 * conflict, medium, write protect): it never sees a reserved or unsupported
 * CDB bit set, only values to check.  It must finish by
 * calling scsi_cmd_done(cmd) exactly once, either before returning or from
 * a backend completion.  Before that it sets cmd->status (GOOD is the
 * default), sense (through the helpers below) and Data-In (scsi_alloc_in).
 * Data-Out, if the CDB has any, is in cmd->out_buf[0..out_buf_len); it may be
 * shorter than cmd->out_len when the initiator sent less (iSCSI residuals).
 */
#ifndef USCST_SCSI_H
#define USCST_SCSI_H

#include <stdbool.h>
#include <stdint.h>

#include <uscst/scsi_codes.h>

#include "core/cmdset.h"
#include "core/core.h"
#include "core/sense.h"
#include "lib/byteorder.h"

/* Opcode flags. */
#define OPF_WRITES_MEDIUM 0x0001 /* refused with DATA PROTECT on read-only LUNs */
#define OPF_NO_UA 0x0002	 /* runs even with a pending unit attention */
#define OPF_ANY_LUN 0x0004	 /* runs on an unmapped LUN (INQUIRY, REPORT LUNS, REQUEST SENSE) */
#define OPF_NEEDS_MEDIUM 0x0008	 /* NOT READY / MEDIUM NOT PRESENT without medium */
/* Allowed through a target port group in that asymmetric access state
 * (SPC-4 5.16.2.4; transitioning also serves offline); others get NOT
 * READY (scsi/spc_alua.c).  Active states allow everything. */
#define OPF_ALUA_STANDBY 0x0100
#define OPF_ALUA_UNAVAILABLE 0x0200
#define OPF_ALUA_TRANSITIONING 0x0400
#define OPF_ALUA_ANY_STATE (OPF_ALUA_STANDBY | OPF_ALUA_UNAVAILABLE | OPF_ALUA_TRANSITIONING)

struct scsi_opcode_desc {
	uint8_t opcode;
	bool has_sa; /* service action in byte 1 (bits 4..0) of the CDB */
	uint16_t sa;
	uint8_t cdb_len;
	uint16_t flags;
	const char *name;
	/* Bytes of Data-Out the CDB asks for; NULL: none. */
	uint32_t (*out_len)(const struct uscst_cmd *cmd);
	void (*exec)(struct uscst_cmd *cmd);
	/* CDB USAGE DATA (cdb_len bytes): the CDB bits the command may set,
	 * enforced by dispatch and reported by REPORT SUPPORTED OPERATION CODES. */
	uint8_t usage[16];
};

/* PERIPHERAL DEVICE TYPE of a direct-access block device (SBC-4). */
#define SBC_DEVICE_TYPE 0x00

/* PERIPHERAL DEVICE TYPE of a CD/DVD device (MMC-6). */
#define MMC_DEVICE_TYPE 0x05

/* The command set of block devices (cmdset_sbc.c), "sbc". */
extern const struct uscst_cmdset scsi_sbc_cmdset;
/* The command set of read-only CD/DVD drives (cmdset_mmc.c), "mmc". */
extern const struct uscst_cmdset scsi_mmc_cmdset;
/* The command set of pass-through devices (cmdset_passthrough.c),
 * "passthrough": whole commands to the backend's exec_cmd. */
extern const struct uscst_cmdset scsi_passthrough_cmdset;
/* Registers the command sets of this directory (uscstd and the tests call
 * it at start-up); true if they are registered, also by an earlier call. */
bool scsi_register_cmdsets(void);

/* The table for direct-access block devices (SBC-4 + SPC-5), opcodes.c. */
extern const struct scsi_opcode_desc scsi_disk_opcodes[];
extern const unsigned scsi_disk_opcodes_count;
const struct scsi_opcode_desc *scsi_lookup_opcode(const struct uscst_device *dev,
						  const uint8_t *cdb);
/* The entry of a table without service actions (MMC, SMC) for opcode,
 * or NULL. */
const struct scsi_opcode_desc *scsi_opcode_find(const struct scsi_opcode_desc *table,
						unsigned count, uint8_t opcode);
/* The opcode table of dev's command set (the disk table when dev is NULL;
 * empty for a command set not listed in opcodes.c), for REPORT SUPPORTED
 * OPERATION CODES and scsi_opcode_has_service_actions(); and a lookup in a
 * table by the opcode and, for commands that have one, the service
 * action. */
struct scsi_opcode_table {
	const struct scsi_opcode_desc *ops;
	unsigned count;
};
struct scsi_opcode_table scsi_opcode_table_of(const struct uscst_device *dev);
const struct scsi_opcode_desc *scsi_table_lookup(struct scsi_opcode_table t, const uint8_t *cdb);
/* True if the opcode exists but is qualified by a service action, in the
 * table of dev's command set (the disk table when dev is NULL). */
bool scsi_opcode_has_service_actions(const struct uscst_device *dev, const uint8_t *cdb);
/* The MMC table (mmc_opcodes.c). */
extern const struct scsi_opcode_desc scsi_mmc_opcodes[];
extern const unsigned scsi_mmc_opcodes_count;
const struct scsi_opcode_desc *mmc_lookup_opcode(const uint8_t *cdb);
/* mmc.c */
void mmc_start_stop_unit(struct uscst_cmd *cmd);
void mmc_read_toc(struct uscst_cmd *cmd);
void mmc_get_configuration(struct uscst_cmd *cmd);
void mmc_get_event_status(struct uscst_cmd *cmd);

/* Runs the generic checks and the handler (dispatch.c); the task set
 * (core/task_set.c) calls it through the command set when the command's
 * task attribute allows. */
void scsi_dispatch(struct uscst_cmd *cmd);

/* --- completion and sense: the core builds sense (core/sense.c); these are
 * the short names the handlers use. --- */
static inline void scsi_cmd_done(struct uscst_cmd *cmd) { cmd->done(cmd); }
/* CHECK CONDITION with fixed or descriptor sense, following the device's D_SENSE. */
static inline void scsi_check_condition(struct uscst_cmd *cmd, uint8_t key, uint8_t asc,
					uint8_t ascq)
{
	uscst_cmd_check_condition(cmd, key, asc, ascq);
}
/* As above, with the INFORMATION field (e.g. the miscompare offset) set and valid. */
static inline void scsi_check_condition_info(struct uscst_cmd *cmd, uint8_t key, uint8_t asc,
					     uint8_t ascq, uint64_t info)
{
	uscst_cmd_check_condition_info(cmd, key, asc, ascq, info);
}
/* ILLEGAL REQUEST, INVALID FIELD IN CDB / PARAMETER LIST with the sense-key
 * specific field pointer (byte, bit; bit < 0 means no bit pointer). */
static inline void scsi_invalid_field_cdb(struct uscst_cmd *cmd, unsigned byte, int bit)
{
	uscst_cmd_invalid_field_cdb(cmd, byte, bit);
}
static inline void scsi_invalid_field_param(struct uscst_cmd *cmd, unsigned byte, int bit)
{
	uscst_cmd_invalid_field_param(cmd, byte, bit);
}
static inline void scsi_fail(struct uscst_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq)
{
	scsi_check_condition(cmd, key, asc, ascq);
	scsi_cmd_done(cmd);
}

/* --- data buffers (cmd.c) --- */
/* Zeroed Data-In buffer of len bytes; sets cmd->in_len = len. NULL on ENOMEM. */
uint8_t *scsi_alloc_in(struct uscst_cmd *cmd, uint32_t len);
/* The same without zeroing, for callers that fill every byte (READ: the
 * backend zero-fills what it cannot read, and a failed read sends no data). */
uint8_t *scsi_alloc_in_raw(struct uscst_cmd *cmd, uint32_t len);
/* Clips Data-In to the CDB's ALLOCATION LENGTH. */
static inline void scsi_clip_in(struct uscst_cmd *cmd, uint32_t alloc_len)
{
	if (cmd->in_len > alloc_len)
		cmd->in_len = alloc_len;
}

/* --- backend I/O for handlers (cmd.c) --- */
/* Submits cmd->io with the given parameters; cb(cmd) runs on completion
 * with cmd->io.result set. */
void scsi_submit_io(struct uscst_cmd *cmd, enum uscst_io_op op, uint64_t offset, uint64_t len,
		    void *buf, bool fua, void (*cb)(struct uscst_cmd *cmd));

/* --- handlers --- */
/* spc.c, spc_inquiry.c, spc_mode.c, spc_rsoc.c */
void spc_inquiry(struct uscst_cmd *cmd);
void spc_report_luns(struct uscst_cmd *cmd);
void spc_test_unit_ready(struct uscst_cmd *cmd);
void spc_request_sense(struct uscst_cmd *cmd);
void spc_mode_sense(struct uscst_cmd *cmd);  /* 6 and 10 */
void spc_mode_select(struct uscst_cmd *cmd); /* 6 and 10 */
void spc_report_supported_opcodes(struct uscst_cmd *cmd);
void spc_report_supported_tmfs(struct uscst_cmd *cmd);
void spc_send_diagnostic(struct uscst_cmd *cmd);
/* spc_reserve.c, pr_in.c, pr_out.c */
void spc_reserve(struct uscst_cmd *cmd); /* 6 and 10 */
void spc_release(struct uscst_cmd *cmd); /* 6 and 10 */
void spc_pr_in(struct uscst_cmd *cmd);
void spc_pr_out(struct uscst_cmd *cmd);
/* Reservation conflict check, called by the dispatcher with dev->lock NOT
 * held; true if the command must end with RESERVATION CONFLICT. */
bool scsi_reservation_conflict(struct uscst_cmd *cmd);
/* The same for a READ (write false) or a WRITE of another device's medium
 * from cmd's I_T nexus: the copy manager (EXTENDED COPY) checks every
 * device it reads or writes, not only the one the command addressed. */
bool scsi_reservation_conflict_io(const struct uscst_cmd *cmd, struct uscst_device *dev,
				  bool write);
/* I_T nexus loss and resets (called from core). */
void scsi_reservations_nexus_lost(struct uscst_device *dev, struct uscst_session *sess);
void scsi_reservations_reset(struct uscst_device *dev); /* LUN / target reset */

/* sbc_rw.c, sbc_verify.c, sbc_capacity.c, sbc_misc.c, sbc_write_same.c,
 * sbc_unmap.c, sbc_caw.c */
void sbc_read(struct uscst_cmd *cmd);	/* READ 6/10/12/16 */
void sbc_write(struct uscst_cmd *cmd);	/* WRITE 6/10/12/16 */
void sbc_verify(struct uscst_cmd *cmd); /* VERIFY 10/12/16 */
void sbc_write_verify(struct uscst_cmd *cmd);
void sbc_read_capacity10(struct uscst_cmd *cmd);
void sbc_read_capacity16(struct uscst_cmd *cmd);
void sbc_get_lba_status(struct uscst_cmd *cmd);
void sbc_prefetch(struct uscst_cmd *cmd);
void sbc_sync_cache(struct uscst_cmd *cmd);
void sbc_write_same(struct uscst_cmd *cmd);
void sbc_unmap(struct uscst_cmd *cmd);
void sbc_compare_and_write(struct uscst_cmd *cmd);
void sbc_orwrite(struct uscst_cmd *cmd);
void sbc_start_stop_unit(struct uscst_cmd *cmd);
void sbc_prevent_allow(struct uscst_cmd *cmd);
void sbc_read_defect_data(struct uscst_cmd *cmd); /* 10 and 12; sbc_defect.c */
void sbc_write_atomic(struct uscst_cmd *cmd);	  /* WRITE ATOMIC(16); sbc_atomic.c */
/* sbc_sanitize.c: SANITIZE, and what the LU's sanitize state means for
 * the other commands. */
void sbc_sanitize(struct uscst_cmd *cmd);
/* Whether dev can run the SANITIZE service action sa (REPORT SUPPORTED
 * OPERATION CODES lists only those, the Block Device Characteristics VPD
 * page's WABEREQ follows). */
bool sbc_sanitize_sa_supported(const struct uscst_device *dev, uint8_t sa);
/* Dispatch: true, with sense set, if a sanitize operation in progress
 * refuses cmd (NOT READY, SANITIZE IN PROGRESS) / a failed one refuses
 * its medium access (MEDIUM ERROR, SANITIZE COMMAND FAILED). */
bool sbc_sanitize_refuses(struct uscst_cmd *cmd);
bool sbc_sanitize_failed_refuses(struct uscst_cmd *cmd);
/* The same for a device the copy manager (EXTENDED COPY) of cmd would read
 * or write: true, with cmd's sense set, while dev sanitizes or is in
 * sanitize failure mode. */
bool sbc_sanitize_refuses_io(struct uscst_cmd *cmd, const struct uscst_device *dev);
/* REQUEST SENSE: while a sanitize operation runs, its sense (NOT READY,
 * SANITIZE IN PROGRESS, progress indication) built into buf (>= 18
 * bytes) in fixed or descriptor format; returns the length, 0 if none
 * runs. */
unsigned sbc_sanitize_sense(const struct uscst_device *dev, uint8_t *buf, bool desc);
/* The command set's abort_running: an aborted SANITIZE ends, its
 * operation does not. */
void sbc_sanitize_abort_running(struct uscst_cmd *cmd);
/* spc_xcopy.c: EXTENDED COPY (LID1) and RECEIVE COPY RESULTS */
void spc_extended_copy(struct uscst_cmd *cmd);
void spc_receive_copy_results(struct uscst_cmd *cmd);

/* CDB field decoding shared by handlers and the opcode table (cdb.c). */
struct sbc_rw_fields {
	uint64_t lba;
	uint32_t blocks;
	uint8_t flags; /* byte 1 of the CDB (RDPROTECT/WRPROTECT, DPO, FUA, BYTCHK) */
	uint8_t group;
};
/* Decodes LBA / TRANSFER LENGTH of READ/WRITE/VERIFY/WRITE AND VERIFY/
 * PRE-FETCH/WRITE SAME/ORWRITE/COMPARE AND WRITE CDBs by opcode. false if the
 * opcode has no such fields. READ(6)/WRITE(6) length 0 means 256 blocks. */
bool sbc_decode_rw(const uint8_t *cdb, struct sbc_rw_fields *f);
/* The number of blocks of dev.  resync_size may change it on another thread
 * at any moment: a command reads it ONCE and works with that value, or a
 * shrink between two reads could make "nblocks - lba" wrap around. */
static inline uint64_t sbc_nblocks(const struct uscst_device *dev)
{
	return atomic_load_explicit(&dev->nblocks, memory_order_relaxed);
}
/* Whether [lba, lba+blocks) lies inside a medium of nblocks blocks. */
static inline bool sbc_lba_in(uint64_t nblocks, uint64_t lba, uint64_t blocks)
{
	return lba <= nblocks && blocks <= nblocks - lba;
}
/* The same against the current size (one read of it). */
static inline bool sbc_lba_in_range(const struct uscst_device *dev, uint64_t lba, uint64_t blocks)
{
	return sbc_lba_in(sbc_nblocks(dev), lba, blocks);
}

#endif
