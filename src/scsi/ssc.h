/*
 * The SSC command set (vtape): a sequential-access device holding a tape
 * image in the format of lib/tape_format.h.  Shared by cmdset_ssc.c (the
 * command set, one command at a time per drive), ssc_tape.c (the image:
 * mount, index, record I/O), ssc_rw.c (READ, WRITE, WRITE FILEMARKS,
 * ERASE), ssc_position.c (SPACE, REWIND, LOCATE, READ POSITION, LOAD
 * UNLOAD), ssc_mode.c (MODE SENSE/SELECT, READ BLOCK LIMITS, REPORT
 * DENSITY SUPPORT) and ssc_opcodes.c (the opcode table).
 */
#ifndef USCST_SCSI_SSC_H
#define USCST_SCSI_SSC_H

#include "lib/tape_format.h"
#include "scsi/scsi.h"

/* PERIPHERAL DEVICE TYPE of a sequential-access device (SSC-4). */
#define SSC_DEVICE_TYPE 0x01
/* The one density the drive writes: vendor specific (80h and
 * up).  MODE SELECT also takes 0, "the default density". */
#define SSC_DENSITY 0x80
/* Fixed-block mode lengths MODE SELECT takes (READ BLOCK LIMITS): any
 * length from 1 to the largest record. */
#define SSC_MIN_BLOCK 1u
#define SSC_MAX_BLOCK TAPE_MAX_RECORD
/* Most logical objects (blocks and filemarks) a tape holds: the
 * in-memory index of a mounted tape is 24 bytes an object, and mounting
 * reads every header.  Writing past it is VOLUME OVERFLOW, as the end of
 * the medium; an image holding more is refused at mount. */
#define SSC_MAX_OBJECTS (1u << 21)
/* Largest transfer of one READ or WRITE in fixed-block mode. */
#define SSC_MAX_TRANSFER (16u << 20)

/* One logical object of the tape (a data block or a filemark) in the
 * in-memory index of the mounted image. */
struct ssc_obj {
	uint64_t off;  /* its record header's offset in the image */
	uint32_t len;  /* data bytes; 0 for a filemark */
	uint32_t crc;  /* its header's CRC: the next record's prev_crc */
	uint32_t dcrc; /* CRC32C of its data */
	uint8_t type;  /* TAPE_REC_DATA or TAPE_REC_FILEMARK */
};

/* Per-device state (uscst_device_cmdset_priv). */
struct ssc_state {
	/* --- one command at a time (cmdset_ssc.c), under qlock --- */
	pthread_mutex_t qlock;
	bool locks_ready; /* qlock and io_lock are initialised */
	bool busy;
	struct uscst_cmd *qhead, *qtail;
	void (*running_done)(struct uscst_cmd *cmd);
	/* A LU reset came while a command ran: the mode parameters return
	 * to their defaults when it ends, not under it (ssc_lu_reset). */
	bool reset_pending;

	/*
	 * --- tape changes (the backend's run-time filename, a changer) ---
	 * The backend announces the old tape leaving before it swaps the
	 * file and the new one arriving after; each bumps gen and sets
	 * changing while no tape may be used.  The running command never
	 * blocks a change: every I/O it submits checks, under io_lock
	 * (recursive: a completion may submit the next I/O), that the tape
	 * is still the one it mounted (mount_gen), so nothing written for
	 * the old tape's index reaches the new tape.
	 */
	pthread_mutex_t io_lock;
	_Atomic unsigned gen;
	_Atomic bool changing;
	_Atomic bool has_image; /* the backend holds an image (filename not none) */
	/* gen when the running command started, before its unit attention
	 * check: a change after it must not let the command at the new tape
	 * (it was not told of the change). */
	unsigned start_gen;

	/* --- the medium, touched only by the running command --- */
	bool mounted;	    /* the index below describes the image */
	unsigned mount_gen; /* gen when it was mounted */
	bool unloaded;	    /* LOAD UNLOAD took the tape out of the path */
	bool unbuffered;    /* MODE SELECT BUFFERED MODE 0: every write flushed */
	struct tape_header hdr;
	struct ssc_obj *objs; /* objects 0..count-1 */
	uint64_t count, cap;
	uint64_t pos; /* logical object number (count: at end of data) */
	bool dirty;   /* written since the last flush */
	uint32_t rng; /* xorshift state for record salts */
	/* Mode parameters (MODE SELECT), shared by every nexus.  Block
	 * length 0: variable-block mode.  Atomic: decode reads it on the
	 * reactor of any session, for the Data-Out of a fixed-block WRITE. */
	_Atomic uint32_t block_len;
	/* The operation in progress (ssc_tape.c): mount, append, read.  Only
	 * the running command uses them, so they live here, not in it. */
	void (*mount_cb)(struct uscst_cmd *cmd, struct ssc_state *st);
	void (*k_cb)(struct uscst_cmd *cmd, struct ssc_state *st, int err);
	uint8_t *k_buf; /* the I/O buffer */
	uint8_t *k_out; /* ssc_read_objs: where the data go */
	uint64_t k_off; /* mount: the next record's offset */
	uint64_t k_at, k_n;
	/* ssc_append: written so far, in the write under way, what to write */
	uint64_t k_done, k_chunk;
	uint8_t k_type;
	uint32_t k_len;
	const uint8_t *k_data;
	int k_err;	/* a failed append: its error, while the end of data is marked */
	uint64_t k_bad; /* ssc_read_objs, -EBADMSG: objects read before the bad one */
	bool k_flush;
};

static inline struct ssc_state *ssc_state(struct uscst_device *dev)
{
	return uscst_device_cmdset_priv(dev);
}

/* The command set (cmdset_ssc.c) and its table (ssc_opcodes.c). */
extern const struct uscst_cmdset scsi_ssc_cmdset;
/* The drive's table (ssc_opcodes.c). */
struct scsi_opcode_table ssc_opcode_table(void);
/* The SSC entry for the CDB, else the shared SPC one of the disk table
 * (INQUIRY, REQUEST SENSE, reservations, ...); NULL: unsupported. */
const struct scsi_opcode_desc *ssc_lookup_opcode(const uint8_t *cdb);

/* --- the image (ssc_tape.c) --- */
/* Runs fn once the image is mounted (its index built, the torn tail of a
 * crash cut off); a mount that fails ends cmd with MEDIUM ERROR. */
void ssc_with_tape(struct uscst_cmd *cmd, void (*fn)(struct uscst_cmd *, struct ssc_state *));
/* Forgets the mounted image (a new tape, or none): the next command
 * mounts again from the backend. */
void ssc_unmount(struct ssc_state *st);
/* At the start of a command: a tape change since the mount makes the drive
 * forget the old tape (and that it was unloaded). */
void ssc_sync_tape(struct ssc_state *st);
/* Image offset where object n starts (the end of data for n == count). */
uint64_t ssc_obj_off(const struct ssc_state *st, uint64_t n);
/* Image bytes in use up to object n (headers included). */
static inline uint64_t ssc_used(const struct ssc_state *st, uint64_t n)
{
	return ssc_obj_off(st, n) - TAPE_HEADER_SIZE;
}
/* Early warning: bytes before the end of the tape where it starts. */
uint64_t ssc_early_warning(const struct ssc_state *st);
/* Filemarks before object n (its logical file identifier). */
uint64_t ssc_file_of(const struct ssc_state *st, uint64_t n);
/* Appends objects at object `at` (everything from there on is dropped):
 * nrec records of the given type, data[i*len..] for DATA, then an
 * end-of-data marker, in one write; then, if flush, the image is made
 * durable.  cb(cmd, st, err) with err 0 or -errno; the index and
 * position (after the last new object) are updated only on success. */
void ssc_append(struct uscst_cmd *cmd, struct ssc_state *st, uint64_t at, uint8_t type,
		uint32_t nrec, uint32_t len, const uint8_t *data, bool flush,
		void (*cb)(struct uscst_cmd *, struct ssc_state *, int err));
/* Makes what was written durable (if anything was); cb as above. */
void ssc_flush(struct uscst_cmd *cmd, struct ssc_state *st,
	       void (*cb)(struct uscst_cmd *, struct ssc_state *, int err));
/* Reads the data of objects [first, first+n) (all DATA) into buf, packed,
 * checking each one's CRC; cb's err is -EBADMSG for a CRC mismatch, with
 * the data of the k_bad objects before the bad one in buf. */
void ssc_read_objs(struct uscst_cmd *cmd, struct ssc_state *st, uint64_t first, uint64_t n,
		   uint8_t *buf, void (*cb)(struct uscst_cmd *, struct ssc_state *, int err));
/* The image is write-protected (its header flag, read_only, a read-only
 * LUN or MODE SELECT's SWP). */
bool ssc_write_protected(const struct uscst_cmd *cmd, const struct ssc_state *st);

/* A failed I/O of the backend ends cmd: NOT READY, MEDIUM NOT PRESENT if
 * the tape was taken away meanwhile, else the given sense. */
void ssc_io_failed(struct uscst_cmd *cmd, int err, uint8_t key, uint8_t asc, uint8_t ascq);

/* --- sense with the stream bits --- */
#define SSC_FM 0x80
#define SSC_EOM 0x40
#define SSC_ILI 0x20
void ssc_sense(struct uscst_cmd *cmd, uint8_t bits, uint8_t key, uint8_t asc, uint8_t ascq,
	       bool info_valid, int64_t info);

/* --- handlers --- */
void ssc_read6(struct uscst_cmd *cmd);
void ssc_write6(struct uscst_cmd *cmd);
void ssc_write_filemarks(struct uscst_cmd *cmd);
void ssc_erase(struct uscst_cmd *cmd);
void ssc_space(struct uscst_cmd *cmd);
void ssc_rewind(struct uscst_cmd *cmd);
void ssc_locate(struct uscst_cmd *cmd); /* 10 and 16 */
void ssc_read_position(struct uscst_cmd *cmd);
void ssc_load_unload(struct uscst_cmd *cmd);
void ssc_mode_sense(struct uscst_cmd *cmd);  /* 6 and 10 */
void ssc_mode_select(struct uscst_cmd *cmd); /* 6 and 10 */
void ssc_read_block_limits(struct uscst_cmd *cmd);
void ssc_report_density(struct uscst_cmd *cmd);
/* Data-Out of MODE SELECT(6/10): the parameter list length. */
uint32_t ssc_mode_select_out_len(const struct uscst_cmd *cmd);
/* Data-Out of WRITE(6): blocks x the block length, or the byte count. */
uint32_t ssc_write_out_len(const struct uscst_cmd *cmd);

#endif
