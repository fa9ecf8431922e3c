/*
 * The medium changer (SMC-3) of a virtual tape library (handler vchanger):
 * its elements, the tapes in them, and the seam to its tape drives.
 *
 * One changer has one medium transport element (the robot), `ie_slots`
 * import/export elements, one data transfer element per drive of `drives`
 * (vtape devices) and `slots` storage elements.  The tapes are the image
 * files of `library_dir`; a tape's barcode is its file name without the
 * extension.  Where each tape is (and where it came from) survives a
 * restart in the state file SMC_STATE_FILE of library_dir (smc_library.c).
 *
 * Element addresses are fixed by type, so a configuration change of one
 * count does not move the others:
 *   medium transport     0001h
 *   import/export        0010h + i   (i < SMC_IE_MAX)
 *   data transfer        0100h + i   (i < SMC_DRIVES_MAX)
 *   storage              0400h + i   (i < SMC_SLOTS_MAX)
 */
#ifndef USCST_SCSI_SMC_H
#define USCST_SCSI_SMC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/scsi.h"

/* PERIPHERAL DEVICE TYPE of a medium changer (SMC-3). */
#define SMC_DEVICE_TYPE 0x08

/* ELEMENT TYPE CODE (SMC-3 READ ELEMENT STATUS). */
enum smc_elem_type {
	SMC_ELEM_ALL = 0,
	SMC_ELEM_TRANSPORT = 1,
	SMC_ELEM_STORAGE = 2,
	SMC_ELEM_IE = 3,
	SMC_ELEM_DRIVE = 4,
};

#define SMC_ADDR_TRANSPORT 0x0001
#define SMC_ADDR_IE 0x0010
#define SMC_ADDR_DRIVE 0x0100
#define SMC_ADDR_SLOT 0x0400

#define SMC_SLOTS_MAX 1024
#define SMC_IE_MAX 16
#define SMC_DRIVES_MAX 32
/* A volume identifier is 32 bytes (SMC-3 volume tag). */
#define SMC_BARCODE_MAX 32

/* Hidden (a leading dot), so it is never taken for a tape. */
#define SMC_STATE_FILE ".uscst-vchanger.state"

struct smc_tape {
	char barcode[SMC_BARCODE_MAX + 1];
	char *path; /* library_dir/file */
	/* The element it was last moved from (SOURCE STORAGE ELEMENT
	 * ADDRESS, SVALID); 0: never moved. */
	uint16_t source;
	/* Put in an import/export element by a rescan (IMPEXP), until moved. */
	bool imported;
	/* Its image left library_dir (a rescan): in no element any more. */
	bool gone;
};

struct smc_element {
	uint8_t type; /* enum smc_elem_type */
	uint16_t addr;
	int tape; /* index in lib->tapes; -1: empty */
};

struct smc_library {
	/* Protects the element map; held across a move, drive loads
	 * included, so that two moves never interleave. */
	pthread_mutex_t lock;
	char *dir;
	char *state_path;
	unsigned nslots, nie, ndrives;
	struct uscst_device *drives[SMC_DRIVES_MAX];
	unsigned ntapes, tapes_cap;
	struct smc_tape *tapes; /* sorted by barcode until a rescan appends */
	/* Every element in ascending address order: the transport, the
	 * import/export elements, the drives, the slots. */
	unsigned nelems;
	struct smc_element *elems;
};

/* The command set's per-device state (cmdset dev_priv_size). */
struct smc_dev {
	struct smc_library *lib; /* set by attach; NULL before */
};

static inline struct smc_library *smc_lib(struct uscst_device *dev)
{
	return ((struct smc_dev *)uscst_device_cmdset_priv(dev))->lib;
}

/*
 * The seam between the changer and its drives.  The real one works on
 * vtape devices through their run-time `filename` attribute; the unit
 * tests put a double in its place that records the calls.
 */
struct smc_drive_ops {
	/* Whether dev may be a changer's drive: false with the reason in why. */
	bool (*usable)(struct uscst_device *dev, char *why, size_t whylen);
	/* Loads the tape image at path into the drive; path NULL unloads it.
	 * 0, or -errno with a message. */
	int (*load)(struct uscst_device *drive, const char *path, char *err, size_t errlen);
	/* An initiator of the drive prevents medium removal. */
	bool (*removal_prevented)(struct uscst_device *drive);
};
const struct smc_drive_ops *smc_drive_ops(void);
/* NULL: the real one again.  Tests only. */
void smc_set_drive_ops(const struct smc_drive_ops *ops);

/* smc_library.c */
/* The cmdset's attach: reads the attributes, scans library_dir, restores
 * the state file, finds and loads the drives.  0 or -errno with a message
 * naming the path or attribute at fault. */
int smc_attach(struct uscst_device *dev, char *err, size_t errlen);
/* Frees what smc_attach built (tests; devices live as long as uscstd). */
void smc_detach(struct uscst_device *dev);
/* One entry of library_dir, name in the directory dfd, appended to
 * lib->tapes: 0, or -errno with "library_dir PATH: 'NAME': reason" for
 * anything but a regular file with a good barcode. */
int smc_add_tape(struct smc_library *lib, int dfd, const char *name, char *err, size_t errlen);
/* The tape of that barcode (while lib->tapes is sorted: at attach), or -1. */
int smc_find_tape(const struct smc_library *lib, const char *barcode);
/* The element holding tape, or NULL. */
struct smc_element *smc_tape_element(struct smc_library *lib, int tape);
/* smc_state.c: places the tapes as the state file says (none: nothing).
 * 0, or -errno with "PATH:LINE: reason". */
int smc_load_state(struct smc_library *lib, char *err, size_t errlen);
/* The element at addr, or NULL if no element has it. */
struct smc_element *smc_find_element(struct smc_library *lib, uint16_t addr);
/* The vtape device of a data transfer element; NULL for another type. */
struct uscst_device *smc_element_drive(struct smc_library *lib, const struct smc_element *e);
/* smc_rescan.c, INITIALIZE ELEMENT STATUS: reads library_dir again.  A new image (an
 * operator's import) goes to the first empty import/export element, else
 * the first empty slot; a tape whose image is gone leaves its slot or I/E
 * element (one in a drive stays: the drive holds the image open).  Caller
 * holds lib->lock.  0, or -errno (logged) if the directory cannot be
 * read or the state not written. */
int smc_rescan(struct smc_library *lib);
/* smc_state.c: writes the element map to the state file (temp, fsync, rename, fsync of
 * the directory).  Caller holds lib->lock.  0 or -errno (logged). */
int smc_save_state(struct smc_library *lib);

/* The SMC table (smc_opcodes.c). */
extern const struct scsi_opcode_desc scsi_smc_opcodes[];
extern const unsigned scsi_smc_opcodes_count;
const struct scsi_opcode_desc *smc_lookup_opcode(const uint8_t *cdb);

/* Handlers: smc_status.c (READ ELEMENT STATUS), smc_move.c (MOVE MEDIUM,
 * POSITION TO ELEMENT, INITIALIZE ELEMENT STATUS [WITH RANGE]),
 * smc_mode.c (MODE SENSE). */
void smc_read_element_status(struct uscst_cmd *cmd);
void smc_move_medium(struct uscst_cmd *cmd);
void smc_position_to_element(struct uscst_cmd *cmd);
void smc_initialize_element_status(struct uscst_cmd *cmd);
void smc_initialize_element_status_range(struct uscst_cmd *cmd);
void smc_mode_sense(struct uscst_cmd *cmd);

/* The command set, "smc" (cmdset_smc.c). */
extern const struct uscst_cmdset scsi_smc_cmdset;

#endif
