/*
 * How long a pass-through backend lets one command run before it gives up
 * on it (ABORTED COMMAND, TIME-OUT ON LOGICAL UNIT for the initiator):
 * the device's `timeout` attribute in seconds, or by its peripheral type
 * when that is 0.  A bound matters beyond the stuck command: the core
 * answers ABORT TASK and LU RESET only once the aborted commands have
 * left the device, and a tape or changer runs one command at a time, so
 * every initiator waits behind the stuck one.
 */
#ifndef USCST_BACKEND_CMD_TIMEOUT_H
#define USCST_BACKEND_CMD_TIMEOUT_H

#include <stdint.h>

/* Seconds for a device of this type when its attribute says 0:
 * disks 30 (the Linux SCSI disk default); a CD/DVD device 600 (BLANK,
 * FORMAT UNIT or CLOSE TRACK without IMMED); tapes 3600 (a rewind or
 * LOCATE across a whole tape; a long ERASE may need more: set timeout);
 * changers 600 (INITIALIZE ELEMENT STATUS of a large library). */
static inline unsigned cmd_timeout_default(uint8_t type)
{
	switch (type) {
	case 0x01: /* sequential access */
		return 3600;
	case 0x05: /* CD/DVD */
	case 0x08: /* medium changer */
		return 600;
	default:
		return 30;
	}
}

/* The timeout in seconds: attr (the attribute's value) unless 0. */
static inline unsigned cmd_timeout_seconds(unsigned attr, uint8_t type)
{
	return attr ? attr : cmd_timeout_default(type);
}

#endif
