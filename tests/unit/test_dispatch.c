/*
 * Unit tests for the generic checks of scsi_dispatch (dispatch.c), and in
 * particular the CDB usage masks of the opcode table (opcodes.c): every
 * case is generated from the table itself, so a mask that changes is
 * tested as it is.  The table entry's handler is swapped for a recorder
 * (a copy of the entry), so that only dispatch decides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures/fixture_scsi.h"
#include "scsi/scsi.h"

/* The table entry under test, its exec replaced by record_exec, and how
 * many times that ran: only dispatch decides whether the handler runs. */
static struct scsi_opcode_desc op_copy;
static int exec_calls;

static void record_exec(struct uscst_cmd *cmd)
{
	exec_calls++;
	scsi_cmd_done(cmd);
}

static int setup(void **state)
{
	*state = fixture_new(512);
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

/* The CDB with only what selects the entry: opcode and service action. */
static void base_cdb(const struct scsi_opcode_desc *op, uint8_t *cdb)
{
	memset(cdb, 0, USCST_MAX_CDB);
	cdb[0] = op->opcode;
	if (op->has_sa)
		cdb[1] = (uint8_t)op->sa;
}

/* Runs cdb through scsi_dispatch as table entry op would be, on LUN 0
 * (mapped) or another (unmapped); the handler only records the call. */
static struct uscst_cmd *dispatch_on(struct scsi_fixture *f, uint64_t lun,
				     const struct scsi_opcode_desc *op, const uint8_t *cdb)
{
	struct uscst_cmd *cmd = fixture_prepare(f, lun, cdb, USCST_MAX_CDB);
	cmd->cdb_len = op->cdb_len;
	op_copy = *op;
	op_copy.exec = record_exec;
	cmd->op = &op_copy;
	exec_calls = 0;
	scsi_dispatch(cmd);
	assert_int_equal(f->done_calls, 1);
	return cmd;
}

static struct uscst_cmd *dispatch(struct scsi_fixture *f, const struct scsi_opcode_desc *op,
				  const uint8_t *cdb)
{
	return dispatch_on(f, 0, op, cdb);
}

static const struct scsi_opcode_desc *find(uint8_t opcode, int sa)
{
	for (unsigned i = 0; i < scsi_disk_opcodes_count; i++) {
		const struct scsi_opcode_desc *op = &scsi_disk_opcodes[i];
		if (op->opcode == opcode && (sa < 0 ? !op->has_sa : op->has_sa && op->sa == sa))
			return op;
	}
	fail_msg("opcode %02x/%d not in the table", opcode, sa);
	return NULL;
}

static void assert_ran(const struct scsi_fixture *f, const char *what)
{
	if (exec_calls != 1 || f->cmd.status != SAM_STAT_GOOD)
		fail_msg("%s: refused by dispatch (status %02x, sense key %x, ASC %02x, "
			 "field pointer byte %u, bit %u)",
			 what, f->cmd.status, f->cmd.sense[2] & 0x0f, f->cmd.sense[12],
			 get_be16(f->cmd.sense + 16), f->cmd.sense[15] & 7);
}

/* CHECK CONDITION, ILLEGAL REQUEST, INVALID FIELD IN CDB with the field
 * pointer at (byte, bit), fixed format; the handler did not run.  The bit
 * is the first offending one (the most significant), not necessarily the
 * left-most bit of a multi-bit field: RDPROTECT 001b points at bit 5. */
static void assert_invalid_field(const struct scsi_fixture *f, unsigned byte, unsigned bit)
{
	const struct uscst_cmd *cmd = &f->cmd;
	assert_int_equal(exec_calls, 0);
	assert_int_equal(cmd->status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(cmd->sense[0] & 0x7f, 0x70);
	assert_int_equal(cmd->sense[2] & 0x0f, SK_ILLEGAL_REQUEST);
	assert_int_equal(cmd->sense[12], 0x24);
	assert_int_equal(cmd->sense[13], 0x00);
	/* SKSV, C/D (in the CDB), BPV, BIT POINTER; FIELD POINTER */
	assert_int_equal(cmd->sense[15], 0x80 | 0x40 | 0x08 | bit);
	assert_int_equal(get_be16(cmd->sense + 16), byte);
}

/* ======================= the table itself ======================= */

static void test_table_shape(void **state)
{
	for (unsigned i = 0; i < scsi_disk_opcodes_count; i++) {
		const struct scsi_opcode_desc *op = &scsi_disk_opcodes[i];
		assert_non_null(op->name);
		assert_non_null(op->exec);
		assert_true(op->cdb_len == 6 || op->cdb_len == 10 || op->cdb_len == 12 ||
			    op->cdb_len == 16);
		/* The CDB size follows from the opcode's group code. */
		static const uint8_t group_len[8] = {6, 10, 10, 0, 16, 12, 0, 0};
		assert_int_equal(op->cdb_len, group_len[op->opcode >> 5]);
		assert_int_equal(op->usage[0], op->opcode);
		if (op->has_sa) {
			assert_true(op->sa <= 0x1f);
			assert_int_equal(op->usage[1] & 0x1f, op->sa);
			/* Bits 7..5 are reserved, but in SANITIZE (IMMED,
			 * AUSE) and REPORT TARGET PORT GROUPS (PARAMETER DATA
			 * FORMAT). */
			if (op->opcode == 0x48)
				assert_int_equal(op->usage[1] & 0xe0, 0xa0);
			else if (!(op->opcode == 0xa3 && op->sa == 0x0a))
				assert_int_equal(op->usage[1], op->sa);
		}
		for (unsigned j = op->cdb_len; j < sizeof(op->usage); j++)
			assert_int_equal(op->usage[j], 0);
		/* Dispatch finds this entry for its CDB. */
		uint8_t cdb[USCST_MAX_CDB];
		base_cdb(op, cdb);
		assert_ptr_equal(scsi_lookup_opcode(NULL, cdb), op);
		if (i > 0) { /* sorted: opcode, then service action */
			const struct scsi_opcode_desc *prev = &scsi_disk_opcodes[i - 1];
			assert_true(prev->opcode < op->opcode ||
				    (prev->opcode == op->opcode && prev->sa < op->sa));
		}
	}
}

/* ======================= the masks, generated from the table ======================= */

/* Every bit a mask allows is accepted, one at a time and all together. */
static void test_mask_bits_accepted(void **state)
{
	struct scsi_fixture *f = *state;
	char what[96];
	for (unsigned i = 0; i < scsi_disk_opcodes_count; i++) {
		const struct scsi_opcode_desc *op = &scsi_disk_opcodes[i];
		uint8_t cdb[USCST_MAX_CDB];
		base_cdb(op, cdb);
		dispatch(f, op, cdb);
		snprintf(what, sizeof(what), "%s, no bit set", op->name);
		assert_ran(f, what);

		uint8_t all[USCST_MAX_CDB];
		memcpy(all, op->usage, op->cdb_len);
		dispatch(f, op, all);
		snprintf(what, sizeof(what), "%s, every mask bit set", op->name);
		assert_ran(f, what);

		for (unsigned byte = 1; byte < op->cdb_len; byte++)
			for (unsigned bit = 0; bit < 8; bit++) {
				if (!(op->usage[byte] & (1u << bit)))
					continue;
				base_cdb(op, cdb);
				cdb[byte] |= (uint8_t)(1u << bit);
				dispatch(f, op, cdb);
				snprintf(what, sizeof(what), "%s, byte %u bit %u", op->name, byte,
					 bit);
				assert_ran(f, what);
			}
	}
}

/* Every bit a mask does not allow is refused with a field pointer to it. */
static void test_reserved_bits_refused(void **state)
{
	struct scsi_fixture *f = *state;
	unsigned cases = 0;
	for (unsigned i = 0; i < scsi_disk_opcodes_count; i++) {
		const struct scsi_opcode_desc *op = &scsi_disk_opcodes[i];
		for (unsigned byte = 1; byte < op->cdb_len; byte++)
			for (unsigned bit = 0; bit < 8; bit++) {
				if (op->usage[byte] & (1u << bit))
					continue;
				uint8_t cdb[USCST_MAX_CDB];
				base_cdb(op, cdb);
				cdb[byte] |= (uint8_t)(1u << bit);
				dispatch(f, op, cdb);
				assert_invalid_field(f, byte, bit);
				cases++;
			}
	}
	print_message("%u reserved or unsupported CDB bits refused in %u table entries\n", cases,
		      scsi_disk_opcodes_count);
	assert_true(cases > 0);
}

/* Several offending bits: the CONTROL byte first, then the lowest byte,
 * then its most significant bit (the start of the field in error). */
static void test_first_offending_bit(void **state)
{
	struct scsi_fixture *f = *state;
	const struct scsi_opcode_desc *read10 = find(0x28, -1);
	uint8_t cdb[USCST_MAX_CDB];

	base_cdb(read10, cdb);
	cdb[1] = 0xe0 | 0x04 | 0x01; /* RDPROTECT, RARC, obsolete bit 0 */
	cdb[6] = 0xc0;
	dispatch(f, read10, cdb);
	assert_invalid_field(f, 1, 7);

	cdb[1] = 0x05;
	dispatch(f, read10, cdb);
	assert_invalid_field(f, 1, 2);

	cdb[1] = 0;
	dispatch(f, read10, cdb);
	assert_invalid_field(f, 6, 7);

	cdb[9] = 0x04 | 0x01; /* NACA and LINK */
	dispatch(f, read10, cdb);
	assert_invalid_field(f, 9, 2);
	cdb[9] = 0x01;
	dispatch(f, read10, cdb);
	assert_invalid_field(f, 9, 0);
	cdb[9] = 0x40; /* vendor specific */
	dispatch(f, read10, cdb);
	assert_invalid_field(f, 9, 6);

	/* Bytes past the CDB's length are not looked at. */
	const struct scsi_opcode_desc *tur = find(0x00, -1);
	base_cdb(tur, cdb);
	cdb[6] = 0xff;
	cdb[15] = 0xff;
	dispatch(f, tur, cdb);
	assert_ran(f, "TEST UNIT READY with bytes past the CDB");
}

/* The checks the handlers used to make by hand, one each, by name. */
static void test_former_handler_checks(void **state)
{
	struct scsi_fixture *f = *state;
	static const struct {
		uint8_t opcode;
		int sa;
		unsigned byte;
		uint8_t value;
		unsigned bit;
	} cases[] = {
	    {0x28, -1, 1, 0x20, 5}, /* READ(10) RDPROTECT 001b */
	    {0xa8, -1, 1, 0xe0, 7}, /* READ(12) RDPROTECT 111b */
	    {0x88, -1, 1, 0x40, 6}, /* READ(16) RDPROTECT 010b */
	    {0x2a, -1, 1, 0x80, 7}, /* WRITE(10) WRPROTECT 100b */
	    {0x8a, -1, 1, 0x01, 0}, /* WRITE(16) DLD2 */
	    {0x2f, -1, 1, 0x20, 5}, /* VERIFY(10) VRPROTECT */
	    {0x8e, -1, 1, 0x60, 6}, /* WRITE AND VERIFY(16) WRPROTECT */
	    {0x8b, -1, 1, 0x40, 6}, /* ORWRITE ORPROTECT */
	    {0x89, -1, 1, 0xa0, 7}, /* COMPARE AND WRITE WRPROTECT */
	    {0x41, -1, 1, 0x20, 5}, /* WRITE SAME(10) WRPROTECT */
	    {0x41, -1, 1, 0x10, 4}, /* WRITE SAME(10) ANCHOR */
	    {0x41, -1, 1, 0x04, 2}, /* WRITE SAME(10) PBDATA */
	    {0x41, -1, 1, 0x02, 1}, /* WRITE SAME(10) LBDATA */
	    {0x41, -1, 1, 0x01, 0}, /* WRITE SAME(10): NDOB is WRITE SAME(16)'s */
	    {0x93, -1, 1, 0x10, 4}, /* WRITE SAME(16) ANCHOR */
	    {0x42, -1, 1, 0x01, 0}, /* UNMAP ANCHOR */
	    {0x12, -1, 1, 0x02, 1}, /* INQUIRY CMDDT */
	    {0x12, -1, 1, 0x80, 7}, /* INQUIRY reserved */
	    {0x15, -1, 1, 0x01, 0}, /* MODE SELECT(6) SP */
	    {0x55, -1, 1, 0x01, 0}, /* MODE SELECT(10) SP */
	    {0x16, -1, 1, 0x10, 4}, /* RESERVE(6) 3RDPTY */
	    {0x16, -1, 1, 0x01, 0}, /* RESERVE(6) EXTENT */
	    {0x17, -1, 1, 0x10, 4}, /* RELEASE(6) 3RDPTY */
	    {0x56, -1, 1, 0x10, 4}, /* RESERVE(10) 3RDPTY */
	    {0x56, -1, 1, 0x02, 1}, /* RESERVE(10) LONGID */
	    {0x57, -1, 1, 0x02, 1}, /* RELEASE(10) LONGID */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct scsi_opcode_desc *op = find(cases[i].opcode, cases[i].sa);
		uint8_t cdb[USCST_MAX_CDB];
		base_cdb(op, cdb);
		cdb[cases[i].byte] |= cases[i].value;
		dispatch(f, op, cdb);
		assert_invalid_field(f, cases[i].byte, cases[i].bit);
	}
}

/* Obsolete bits initiators still set, and GROUP NUMBER, are accepted. */
static void test_compat_bits_accepted(void **state)
{
	struct scsi_fixture *f = *state;
	static const struct {
		uint8_t opcode;
		unsigned byte;
		uint8_t value;
	} cases[] = {
	    {0x2a, 1, 0x1a},  /* WRITE(10) DPO FUA FUA_NV (libiscsi Write10.Flags) */
	    {0xaa, 1, 0x02},  /* WRITE(12) FUA_NV */
	    {0x88, 1, 0x18},  /* READ(16) DPO FUA */
	    {0x35, 1, 0x06},  /* SYNCHRONIZE CACHE(10) SYNC_NV IMMED (NoMedia tests) */
	    {0x91, 1, 0x06},  /* SYNCHRONIZE CACHE(16) */
	    {0x34, 6, 0x03},  /* PRE-FETCH(10) GROUP 3 (Prefetch10.Flags) */
	    {0x90, 14, 0x03}, /* PRE-FETCH(16) GROUP 3 */
	    {0x28, 6, 0x3f},  /* READ(10) GROUP */
	    {0x2f, 1, 0x16},  /* VERIFY(10) DPO BYTCHK 11b */
	    {0x93, 1, 0x09},  /* WRITE SAME(16) UNMAP NDOB */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct scsi_opcode_desc *op = find(cases[i].opcode, -1);
		uint8_t cdb[USCST_MAX_CDB];
		base_cdb(op, cdb);
		cdb[cases[i].byte] = cases[i].value;
		dispatch(f, op, cdb);
		assert_ran(f, op->name);
	}
}

/* ======================= precedence ======================= */

/* LUN, unit attention and opcode come before the CDB bits; the CDB bits
 * before reservations, medium and write protection. */
static void test_precedence(void **state)
{
	struct scsi_fixture *f = *state;
	const struct scsi_opcode_desc *write10 = find(0x2a, -1);
	uint8_t cdb[USCST_MAX_CDB];
	base_cdb(write10, cdb);
	cdb[1] = 0x80; /* WRPROTECT 100b */

	/* An unmapped LUN first. */
	struct uscst_cmd *cmd = dispatch_on(f, 5, write10, cdb);
	assert_int_equal(cmd->status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(cmd->sense[12], 0x25);

	/* A pending unit attention next (and it is consumed). */
	ua_establish(&f->sess, 0, ASC_POWER_ON_RESET);
	cmd = dispatch(f, write10, cdb);
	assert_int_equal(cmd->sense[2] & 0x0f, SK_UNIT_ATTENTION);
	assert_int_equal(cmd->sense[12], 0x29);
	assert_int_equal(exec_calls, 0);

	/* Then the CDB, ahead of an SPC-2 reservation of another nexus... */
	f->dev.spc2_holder = 99;
	dispatch(f, write10, cdb);
	assert_invalid_field(f, 1, 7);
	base_cdb(write10, cdb);
	cmd = dispatch(f, write10, cdb);
	assert_int_equal(cmd->status, SAM_STAT_RESERVATION_CONFLICT);
	f->dev.spc2_holder = 0;

	/* ...of a missing medium... */
	f->dev.medium_present = false;
	cdb[1] = 0x80;
	dispatch(f, write10, cdb);
	assert_invalid_field(f, 1, 7);
	base_cdb(write10, cdb);
	cmd = dispatch(f, write10, cdb);
	assert_int_equal(cmd->sense[2] & 0x0f, SK_NOT_READY);
	f->dev.medium_present = true;

	/* ...and of write protection. */
	f->map.luns[0].read_only = true;
	cdb[1] = 0x80;
	dispatch(f, write10, cdb);
	assert_invalid_field(f, 1, 7);
	base_cdb(write10, cdb);
	cmd = dispatch(f, write10, cdb);
	assert_int_equal(cmd->sense[2] & 0x0f, SK_DATA_PROTECT);
	f->map.luns[0].read_only = false;

	/* An unknown service action: an invalid field at byte 1 bit 4, where
	 * the usage mask would have pointed. */
	base_cdb(find(0x9e, 0x10), cdb);
	cdb[1] = 0x11;
	assert_null(scsi_lookup_opcode(&f->dev, cdb));
	fixture_prepare(f, 0, cdb, sizeof(cdb));
	exec_calls = 0;
	scsi_dispatch(&f->cmd);
	assert_int_equal(f->done_calls, 1);
	assert_invalid_field(f, 1, 4);
}

/* With D_SENSE the field pointer goes in a sense key specific descriptor. */
static void test_descriptor_sense(void **state)
{
	struct scsi_fixture *f = *state;
	const struct scsi_opcode_desc *sync16 = find(0x91, -1);
	uint8_t cdb[USCST_MAX_CDB];
	base_cdb(sync16, cdb);
	cdb[14] = 0x80; /* reserved above GROUP NUMBER */
	f->dev.d_sense = true;
	struct uscst_cmd *cmd = dispatch(f, sync16, cdb);
	assert_int_equal(cmd->status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(cmd->sense[0], 0x72);
	assert_int_equal(cmd->sense[1], SK_ILLEGAL_REQUEST);
	assert_int_equal(cmd->sense[2], 0x24);
	const uint8_t *d = cmd->sense + 8;
	assert_int_equal(d[0], 0x02);
	assert_int_equal(d[4], 0x80 | 0x40 | 0x08 | 7);
	assert_int_equal(get_be16(d + 5), 14);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_table_shape),
	    T(test_mask_bits_accepted),
	    T(test_reserved_bits_refused),
	    T(test_first_offending_bit),
	    T(test_former_handler_checks),
	    T(test_compat_bits_accepted),
	    T(test_precedence),
	    T(test_descriptor_sense),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
