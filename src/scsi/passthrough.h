/*
 * The pass-through command set (cmdset_passthrough.c) and the sending of
 * its commands to the backend (passthrough_exec.c).
 */
#ifndef USCST_SCSI_PASSTHROUGH_H
#define USCST_SCSI_PASSTHROUGH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/pr.h"

struct uscst_cmd;
struct uscst_device;
struct pt_ctx;

/* PERIPHERAL DEVICE TYPEs the command set treats apart (SPC-5 6.7.2). */
#define PT_TYPE_SEQUENTIAL 0x01 /* tape */
#define PT_TYPE_CHANGER 0x08	/* medium changer */
#define PT_TYPE_UNKNOWN 0x1f	/* no INQUIRY answer known */

/* Longest Data-In or Data-Out a forwarded command may have: larger ones
 * are refused rather than buffered (the core holds a command's data in
 * memory while the device runs it).  The block command set's limit too
 * (32 MiB), so a uscst upstream's BLOCK LIMITS, which reach the initiator
 * unchanged, hold through the gateway; a tape's largest block (READ
 * BLOCK LIMITS, 24 bits) fits. */
#define PT_MAX_TRANSFER (32u << 20)

/* One command at a time for a serialised device: the one in the device
 * (busy) and those waiting, oldest first, from any nexus and reactor. */
struct passthrough_queue {
	pthread_mutex_t lock;
	bool ready; /* lock initialised (power_on) */
	bool busy;
	struct pt_ctx *head, *tail;
};

/* The CDB's length by its operation code's group (SPC-5 4.2.5.1): what
 * goes to the device, not the transport's padded CDB; never more than
 * cmd->cdb_len. */
unsigned passthrough_cdb_len(const struct uscst_cmd *cmd);
/* Whether devices of this type run one command at a time. */
bool passthrough_serialised_type(uint8_t type);
void passthrough_queue_init(struct uscst_device *dev);
/* The reservation class (core/pr.h) of cdb on a device of this type:
 * the disk table, corrected where the type gives the opcode another
 * meaning (passthrough_class.c). */
enum pr_cmd_class passthrough_classify(uint8_t type, const uint8_t *cdb);
/* Whether cdb moves the shared position of a device of this type (a
 * tape's): judged as a write under reservations, whatever it transfers. */
bool passthrough_moves_position(uint8_t type, const uint8_t *cdb);
/* Sends cmd, which passed every check, to the backend's exec_cmd; waits
 * its turn first if serialised.  Ends cmd, on its own reactor. */
void passthrough_send(struct uscst_cmd *cmd, bool serialised);
/* The core aborted cmd (cmdset abort_running): if it is in the backend,
 * the backend's abort_cmd may end it early. */
void passthrough_abort_running(struct uscst_cmd *cmd);
/* ALUA of a device in a device group (passthrough_alua.c): REPORT / SET
 * TARGET PORT GROUPS are the core's; a forwarded command the path's state
 * does not allow is ended (true); standard INQUIRY data gets our TPGS. */
bool passthrough_alua_owned(const struct uscst_cmd *cmd);
bool passthrough_alua_refused(struct uscst_cmd *cmd);
void passthrough_alua_inquiry(struct uscst_cmd *cmd);

#endif
