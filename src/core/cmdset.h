/*
 * Command sets: what a logical unit of one device type does with a
 * command, one per device type (block devices today).  The core runs a
 * command's life (decode, task set, task management, release) and calls
 * the device's command set through this table for everything that depends
 * on the device type; it never names a type itself.
 *
 * A core header, not include/uscst/: a command set works on the core's
 * struct uscst_device and struct uscst_cmd internals (mode page state,
 * reservations, the opcode descriptor), so it is part of the daemon, not a
 * plugin ABI.  Command sets are registered by an explicit call at start-up
 * (uscstd, the tests): libuscst.a is a static library, constructors in it
 * would not be linked in.
 */
#ifndef USCST_CORE_CMDSET_H
#define USCST_CORE_CMDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uscst_cmd;
struct uscst_device;
struct uscst_session;

/* Every operation is required, unless its comment says otherwise. */
struct uscst_cmdset {
	const char *name;    /* what a backend names in uscst_backend_ops.cmdset */
	uint8_t device_type; /* PERIPHERAL DEVICE TYPE (SPC-5 6.7.2) of its LUs */
	/* The logical block size the device type fixes (MMC: 2048, the user
	 * data of a CD/DVD sector); 0: the device's blocksize attribute. */
	uint32_t block_size;
	/* Bytes of per-device state the command set keeps (a tape's position,
	 * a changer's element map); the core allocates them zeroed with the
	 * device, after the backend's (uscst_device_cmdset_priv()).  0: none. */
	size_t dev_priv_size;
	/* Its commands go whole to the backend's exec_cmd (pass-through):
	 * the backend must have exec_cmd; otherwise it must have submit. */
	bool whole_commands;
	/* Sets cmd->op and cmd->out_len (the Data-Out bytes the CDB asks for)
	 * when the transport receives the command; never fails.  cmd->dev is
	 * NULL for a LUN with no device. */
	void (*decode)(struct uscst_cmd *cmd);
	/* Runs the command once its task attribute lets it start: the generic
	 * checks, then its handler; cmd->done(cmd) exactly once. */
	void (*dispatch)(struct uscst_cmd *cmd);
	/* The I_T nexus sess is lost (the session ends): what the device
	 * holds for it (reservations) goes. */
	void (*nexus_lost)(struct uscst_device *dev, struct uscst_session *sess);
	/* The device was opened, before any command reaches it: the state the
	 * command set keeps in it (mode pages) takes its power-on values. */
	void (*power_on)(struct uscst_device *dev);
	/* LU reset (LOGICAL UNIT RESET, target reset), after the core aborted
	 * the tasks: reservations and mode pages return to their defaults. */
	void (*lu_reset)(struct uscst_device *dev);
	/* Optional: the backend replaced or removed the medium
	 * (uscst_device_medium_changed()); called when a medium arrives
	 * (after the unit attention is raised, before medium_present and the
	 * size are published) and when a present one goes (after
	 * medium_present is cleared), without dev->lock.  MMC queues
	 * its media event, a tape drive rewinds. */
	void (*medium_changed)(struct uscst_device *dev, bool present);
	/* Optional (NULL: nothing to do): runs once every device of the
	 * configuration is open, before any command, for a device that works
	 * with other devices (a medium changer finds its tape drives and
	 * loads them).  0, or -errno with a message in err: the start stops. */
	int (*attach)(struct uscst_device *dev, char *err, size_t errlen);
	/* Optional: the core aborted cmd while its handler runs it
	 * (core_cmd_abort), on the command's session thread; the set may end
	 * it early (the abort waits for it).  cmd->done() still runs once. */
	void (*abort_running)(struct uscst_cmd *cmd);
};

/* The command set's per-device state: cs->dev_priv_size bytes, zeroed when
 * the device is created, aligned for any type; NULL if the size is 0. */
void *uscst_device_cmdset_priv(struct uscst_device *dev);

/* Adds cs to the registry; false if one of that name is already there or
 * the registry is full.  Not thread-safe: start-up only. */
bool uscst_cmdset_register(const struct uscst_cmdset *cs);
/* NULL if no command set of that name was registered. */
const struct uscst_cmdset *uscst_cmdset_find(const char *name);
/* The command set that answers commands to a LUN with no device (INQUIRY,
 * REPORT LUNS, REQUEST SENSE, which every command set has): the first one
 * registered.  NULL if none is. */
const struct uscst_cmdset *uscst_cmdset_default(void);

#endif
