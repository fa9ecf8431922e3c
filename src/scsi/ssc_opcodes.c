/*
 * Opcode table of the SSC command set (cmdset_ssc.c): a tape drive.  The
 * SPC commands every device type answers come from spc_opcodes.h; the
 * reservation commands (RESERVE/RELEASE, PERSISTENT RESERVE IN/OUT with
 * their service actions) and PREVENT ALLOW MEDIUM REMOVAL are copied from
 * the disk table when the drive's table is first used (shared_with_disk
 * below), so that there is one definition of each.  The usage masks are
 * enforced by dispatch, and REPORT SUPPORTED OPERATION CODES reports the
 * same table.
 */
#include <pthread.h>
#include <stdlib.h>

#include "scsi/spc_alua.h"
#include "scsi/spc_opcodes.h"
#include "scsi/ssc.h"

#define W OPF_WRITES_MEDIUM
#define M OPF_NEEDS_MEDIUM
/* What a target port group in standby still serves (SPC-4 5.16.2.4.4). */
#define STANDBY_OK OPF_ALUA_STANDBY
#define CONTROL 0x00 /* NACA, FLAG, LINK: not supported */
#define LEN16 0xff, 0xff
#define LEN24 0xff, 0xff, 0xff
#define ID32 0xff, 0xff, 0xff, 0xff
#define ID64 ID32, ID32

static uint32_t out_mode_select(const struct uscst_cmd *cmd)
{
	return ssc_mode_select_out_len(cmd);
}

/* Sorted by opcode. */
static const struct scsi_opcode_desc ssc_own[] = {
    SPC_OPCODE_TEST_UNIT_READY(M),
    {
	/* SSC-4: IMMED. */
	.opcode = 0x01,
	.cdb_len = 6,
	.flags = M,
	.name = "REWIND",
	.exec = ssc_rewind,
	.usage = {0x01, 0x01, 0, 0, 0, CONTROL},
    },
    SPC_OPCODE_REQUEST_SENSE,
    {
	/* MLOI (byte 1 bit 0) is not supported. */
	.opcode = 0x05,
	.cdb_len = 6,
	.name = "READ BLOCK LIMITS",
	.exec = ssc_read_block_limits,
	.usage = {0x05, 0, 0, 0, 0, CONTROL},
    },
    {
	/* SILI, FIXED; TRANSFER LENGTH. */
	.opcode = 0x08,
	.cdb_len = 6,
	.flags = M,
	.name = "READ(6)",
	.exec = ssc_read6,
	.usage = {0x08, 0x03, LEN24, CONTROL},
    },
    {
	/* FIXED; TRANSFER LENGTH. */
	.opcode = 0x0a,
	.cdb_len = 6,
	.flags = W | M,
	.name = "WRITE(6)",
	.out_len = ssc_write_out_len,
	.exec = ssc_write6,
	.usage = {0x0a, 0x01, LEN24, CONTROL},
    },
    {
	/* IMMED; FILEMARK COUNT.  WSMK (setmarks) is not supported. */
	.opcode = 0x10,
	.cdb_len = 6,
	.flags = W | M,
	.name = "WRITE FILEMARKS(6)",
	.exec = ssc_write_filemarks,
	.usage = {0x10, 0x01, LEN24, CONTROL},
    },
    {
	/* CODE; COUNT. */
	.opcode = 0x11,
	.cdb_len = 6,
	.flags = M,
	.name = "SPACE(6)",
	.exec = ssc_space,
	.usage = {0x11, 0x0f, LEN24, CONTROL},
    },
    SPC_OPCODE_INQUIRY,
    {
	/* PF; PARAMETER LIST LENGTH.  SP is refused: nothing is saved. */
	.opcode = 0x15,
	.cdb_len = 6,
	.flags = STANDBY_OK,
	.name = "MODE SELECT(6)",
	.out_len = out_mode_select,
	.exec = ssc_mode_select,
	.usage = {0x15, 0x10, 0, 0, 0xff, CONTROL},
    },
    {
	/* IMMED, LONG. */
	.opcode = 0x19,
	.cdb_len = 6,
	.flags = W | M,
	.name = "ERASE(6)",
	.exec = ssc_erase,
	.usage = {0x19, 0x03, 0, 0, 0, CONTROL},
    },
    {
	/* DBD; PC, PAGE CODE; SUBPAGE CODE; ALLOCATION LENGTH. */
	.opcode = 0x1a,
	.cdb_len = 6,
	.flags = STANDBY_OK,
	.name = "MODE SENSE(6)",
	.exec = ssc_mode_sense,
	.usage = {0x1a, 0x08, 0xff, 0xff, 0xff, CONTROL},
    },
    {
	/* IMMED; EOT, RETEN, LOAD.  HOLD is not supported. */
	.opcode = 0x1b,
	.cdb_len = 6,
	.name = "LOAD UNLOAD",
	.exec = ssc_load_unload,
	.usage = {0x1b, 0x01, 0, 0, 0x07, CONTROL},
    },
    {
	/* BT, CP, IMMED; LOGICAL OBJECT IDENTIFIER; PARTITION. */
	.opcode = 0x2b,
	.cdb_len = 10,
	.flags = M,
	.name = "LOCATE(10)",
	.exec = ssc_locate,
	.usage = {0x2b, 0x07, 0, ID32, 0, 0xff, CONTROL},
    },
    {
	/* SERVICE ACTION (the form); ALLOCATION LENGTH. */
	.opcode = 0x34,
	.cdb_len = 10,
	.flags = M,
	.name = "READ POSITION",
	.exec = ssc_read_position,
	.usage = {0x34, 0x1f, 0, 0, 0, 0, 0, LEN16, CONTROL},
    },
    {
	/* MEDIA; ALLOCATION LENGTH.  MEDIUM TYPE is not supported. */
	.opcode = 0x44,
	.cdb_len = 10,
	.name = "REPORT DENSITY SUPPORT",
	.exec = ssc_report_density,
	.usage = {0x44, 0x01, 0, 0, 0, 0, 0, LEN16, CONTROL},
    },
    {
	.opcode = 0x55,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "MODE SELECT(10)",
	.out_len = out_mode_select,
	.exec = ssc_mode_select,
	.usage = {0x55, 0x10, 0, 0, 0, 0, 0, LEN16, CONTROL},
    },
    {
	/* DBD (LLBAA is refused: no long block descriptors on tape). */
	.opcode = 0x5a,
	.cdb_len = 10,
	.flags = STANDBY_OK,
	.name = "MODE SENSE(10)",
	.exec = ssc_mode_sense,
	.usage = {0x5a, 0x08, 0xff, 0xff, 0, 0, 0, LEN16, CONTROL},
    },
    {
	/* DEST_TYPE, CP, IMMED; PARTITION; LOGICAL IDENTIFIER.  BAM
	 * (implicit address mode) is not supported. */
	.opcode = 0x92,
	.cdb_len = 16,
	.flags = M,
	.name = "LOCATE(16)",
	.exec = ssc_locate,
	.usage = {0x92, 0x3b, 0, 0xff, ID64, 0, 0, 0, CONTROL},
    },
    SPC_OPCODE_REPORT_LUNS,
    SPC_OPCODE_REPORT_TARGET_PORT_GROUPS,
    SPC_OPCODE_REPORT_SUPPORTED_OPCODES,
    SPC_OPCODE_SET_TARGET_PORT_GROUPS,
};

static const unsigned ssc_own_count = sizeof(ssc_own) / sizeof(ssc_own[0]);

/* The commands of the disk table a tape drive has as they are:
 * RESERVE/RELEASE(6/10), PREVENT ALLOW MEDIUM REMOVAL, PERSISTENT RESERVE
 * IN/OUT. */
static bool shared_with_disk(uint8_t opcode)
{
	switch (opcode) {
	case 0x16:
	case 0x17:
	case 0x1e:
	case 0x56:
	case 0x57:
	case 0x5e:
	case 0x5f:
		return true;
	default:
		return false;
	}
}

/* The drive's whole table: its own entries and the shared ones of the disk
 * table, sorted by opcode and service action (as REPORT SUPPORTED
 * OPERATION CODES lists them), built once. */
#define SSC_TABLE_MAX 48
static struct scsi_opcode_desc ssc_table[SSC_TABLE_MAX];
static unsigned ssc_table_count;
static pthread_once_t ssc_table_once = PTHREAD_ONCE_INIT;

static void add_entry(const struct scsi_opcode_desc *d)
{
	if (ssc_table_count == SSC_TABLE_MAX)
		abort(); /* SSC_TABLE_MAX too small: a build-time mistake */
	unsigned i = ssc_table_count++;
	/* Insertion: entries arrive nearly sorted. */
	while (i > 0 && (ssc_table[i - 1].opcode > d->opcode ||
			 (ssc_table[i - 1].opcode == d->opcode && ssc_table[i - 1].sa > d->sa))) {
		ssc_table[i] = ssc_table[i - 1];
		i--;
	}
	ssc_table[i] = *d;
}

static void build_table(void)
{
	for (unsigned i = 0; i < ssc_own_count; i++)
		add_entry(&ssc_own[i]);
	for (unsigned i = 0; i < scsi_disk_opcodes_count; i++)
		if (shared_with_disk(scsi_disk_opcodes[i].opcode))
			add_entry(&scsi_disk_opcodes[i]);
}

struct scsi_opcode_table ssc_opcode_table(void)
{
	pthread_once(&ssc_table_once, build_table);
	return (struct scsi_opcode_table){ssc_table, ssc_table_count};
}

const struct scsi_opcode_desc *ssc_lookup_opcode(const uint8_t *cdb)
{
	return scsi_table_lookup(ssc_opcode_table(), cdb);
}
