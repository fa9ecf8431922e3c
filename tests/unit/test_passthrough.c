/*
 * The pass-through command set: which commands reach the backend's
 * exec_cmd and how (direction and length from the transport, not from an
 * opcode), which the core keeps (reservations, REPORT LUNS, REQUEST SENSE,
 * shared-state changes from a nexus that does not hold the device), how
 * the device's answer comes back (status, sense, residuals, unit
 * attentions shared with the other nexuses), and the one-at-a-time queue
 * of tapes.  Two real sessions (core/session.c) see one device whose
 * backend is a recording double.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/alua.h"
#include "core/pr.h"
#include "fixtures/fixture_scsi.h"
#include "scsi/passthrough.h"
#include "scsi/scsi.h"

#define PORT_A "iqn.2024-01.test:a,i,0x000000000001"
#define PORT_B "iqn.2024-01.test:b,i,0x000000000002"

/* --- the backend double --- */

#define HELD_MAX 8

static struct {
	unsigned calls;
	uint8_t last_cdb[16];
	unsigned last_cdb_len;
	enum uscst_data_dir last_dir;
	uint32_t last_len;
	uint8_t last_out[64];
	/* The answer: */
	bool hold; /* keep requests for complete_held() instead of answering */
	int result;
	uint8_t status;
	uint8_t sense[18];
	uint8_t sense_len;
	uint32_t transferred; /* UINT32_MAX: all of data_len */
	uint32_t overflow;
	bool no_write; /* claim the transfer but write no Data-In */
	struct uscst_scsi_req *held[HELD_MAX];
	unsigned nheld;
} dbl;

static void answer(struct uscst_scsi_req *req)
{
	req->result = dbl.result;
	req->status = dbl.status;
	memcpy(req->sense, dbl.sense, dbl.sense_len);
	req->sense_len = dbl.sense_len;
	req->transferred = dbl.transferred == UINT32_MAX ? req->data_len : dbl.transferred;
	req->overflow = dbl.overflow;
	if (req->dir == USCST_DATA_IN && !dbl.no_write)
		for (uint32_t i = 0; i < req->transferred; i++)
			((uint8_t *)req->iov[0].iov_base)[i] = (uint8_t)(i + 1);
	req->done(req);
}

static void fake_exec(struct uscst_device *d, struct uscst_scsi_req *req)
{
	dbl.calls++;
	dbl.last_cdb_len = req->cdb_len;
	memcpy(dbl.last_cdb, req->cdb, req->cdb_len < 16 ? req->cdb_len : 16);
	dbl.last_dir = req->dir;
	dbl.last_len = req->data_len;
	if (req->dir == USCST_DATA_OUT)
		memcpy(dbl.last_out, req->iov[0].iov_base,
		       req->data_len < sizeof(dbl.last_out) ? req->data_len : sizeof(dbl.last_out));
	if (dbl.hold) {
		assert_true(dbl.nheld < HELD_MAX);
		dbl.held[dbl.nheld++] = req;
		return;
	}
	answer(req);
}

/* Answers the oldest held request. */
static void complete_held(void)
{
	assert_true(dbl.nheld > 0);
	struct uscst_scsi_req *req = dbl.held[0];
	memmove(dbl.held, dbl.held + 1, --dbl.nheld * sizeof(dbl.held[0]));
	answer(req);
}

/* abort_cmd: recorded; the held request (the only one) ends -ECANCELED. */
static unsigned abort_calls;
static void fake_abort(struct uscst_device *d, struct uscst_scsi_req *req)
{
	abort_calls++;
	assert_int_equal(dbl.nheld, 1);
	assert_ptr_equal(dbl.held[0], req);
	dbl.result = -ECANCELED;
	complete_held();
}

static const struct uscst_backend_ops fake_ops = {
    .name = "fake_pt", .exec_cmd = fake_exec, .abort_cmd = fake_abort};

/* --- two sessions on one pass-through device --- */

static struct uscst_device *dev;
static struct uscst_lun_map map;
static struct uscst_target tgt;
static struct uscst_session *sess_a, *sess_b;
static unsigned done_calls;

static void cmd_done(struct uscst_cmd *cmd) { done_calls++; }

/* A device of peripheral type `type` with room for the command set's
 * state after it, as uscst_device_create() allocates it. */
static void make_device(uint8_t type)
{
	size_t off = USCST_DEVICE_CMDSET_PRIV_OFFSET(0);
	dev = aligned_alloc(_Alignof(max_align_t),
			    (off + sizeof(struct passthrough_queue) + 63) / 64 * 64);
	assert_non_null(dev);
	fixture_device_init(dev, "pt0", 512, 0);
	memset((char *)dev + off, 0, sizeof(struct passthrough_queue));
	dev->backend = &fake_ops;
	dev->cmdset = &scsi_passthrough_cmdset;
	dev->peripheral_type = type;
	dev->cmdset->power_on(dev);
}

static int setup_type(uint8_t type)
{
	memset(&dbl, 0, sizeof(dbl));
	dbl.transferred = UINT32_MAX;
	abort_calls = 0;
	make_device(type);
	fixture_target_init(&tgt, &map, dev, "iqn.2024-01.test:tgt", 1);
	sess_a = uscst_session_create(&tgt, "iqn.2024-01.test:a", PORT_A);
	sess_b = uscst_session_create(&tgt, "iqn.2024-01.test:b", PORT_B);
	if (!sess_a || !sess_b)
		return -1;
	fixture_drain_uas(sess_a, 0);
	fixture_drain_uas(sess_b, 0);
	done_calls = 0;
	return 0;
}

static int setup_disk(void **state) { return setup_type(0x00); }
static int setup_tape(void **state) { return setup_type(PT_TYPE_SEQUENTIAL); }
static int setup_cdrom(void **state) { return setup_type(0x05); }
static int setup_changer(void **state) { return setup_type(PT_TYPE_CHANGER); }

static int teardown(void **state)
{
	uscst_session_destroy(sess_a);
	uscst_session_destroy(sess_b);
	pr_state_free(dev->pr);
	free(map.luns);
	free(dev);
	return 0;
}

/* Decodes cmd from s as the transport would: exp_len bytes, read or
 * write; Data-Out (out, its length) collected if any. */
static void prepare(struct uscst_cmd *cmd, struct uscst_session *s, const uint8_t *cdb,
		    unsigned cdb_len, bool rd, bool wr, uint32_t exp_len, const void *out)
{
	fixture_cmd_init(cmd, s, 0, cdb, cdb_len, cmd_done);
	cmd->exp_len = exp_len;
	cmd->exp_read = rd;
	cmd->exp_write = wr;
	dev->cmdset->decode(cmd);
	if (wr) {
		assert_int_equal(cmd->out_len, exp_len);
		fixture_cmd_data_out(cmd, out, cmd->out_len);
	}
}

static void run(struct uscst_cmd *cmd, struct uscst_session *s, const uint8_t *cdb,
		unsigned cdb_len, bool rd, bool wr, uint32_t exp_len, const void *out)
{
	prepare(cmd, s, cdb, cdb_len, rd, wr, exp_len, out);
	unsigned before = done_calls;
	dev->cmdset->dispatch(cmd);
	assert_int_equal(done_calls, before + 1);
}

static const uint8_t reserve6[6] = {0x16};
static const uint8_t release6[6] = {0x17};
static const uint8_t write10[10] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0};
static const uint8_t read10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};

/* An opcode nobody here knows goes through with the initiator's length
 * and direction; the device's data and status come back. */
static void test_unknown_opcode_passes(void **state)
{
	struct uscst_cmd cmd;
	const uint8_t vendor[12] = {0xc5, 1, 2, 3};
	const uint8_t data[40] = {9, 8, 7};
	run(&cmd, sess_a, vendor, 12, false, true, sizeof(data), data);
	assert_int_equal(dbl.calls, 1);
	assert_memory_equal(dbl.last_cdb, vendor, 12);
	assert_int_equal(dbl.last_dir, USCST_DATA_OUT);
	assert_int_equal(dbl.last_len, sizeof(data));
	assert_memory_equal(dbl.last_out, data, sizeof(data));
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);

	run(&cmd, sess_a, vendor, 12, true, false, 100, NULL);
	assert_int_equal(dbl.last_dir, USCST_DATA_IN);
	assert_int_equal(cmd.in_len, 100);
	assert_int_equal(cmd.in_buf[99], 100);
	uscst_cmd_release(&cmd);

	run(&cmd, sess_a, vendor, 12, false, false, 0, NULL);
	assert_int_equal(dbl.last_dir, USCST_DATA_NONE);
	assert_int_equal(dbl.calls, 3);
	uscst_cmd_release(&cmd);
}

/* The device gets the CDB's own length, not the transport's 16 bytes;
 * NACA=1 in the CONTROL byte is refused with the field pointer. */
static void test_cdb_length_and_naca(void **state)
{
	struct uscst_cmd cmd;
	uint8_t read6[16] = {0x08, 0, 0, 0, 1, 0};
	prepare(&cmd, sess_a, read6, 16, true, false, 512, NULL);
	unsigned seen;
	dev->cmdset->dispatch(&cmd);
	seen = dbl.last_cdb_len;
	assert_int_equal(seen, 6);
	uscst_cmd_release(&cmd);
	uint8_t var[32] = {0x7f, 0, 0, 0, 0, 0, 0, 0x18, 0, 0x09};
	run(&cmd, sess_a, var, 32, true, false, 512, NULL);
	assert_int_equal(dbl.last_cdb_len, 32);
	uscst_cmd_release(&cmd);
	uint8_t vendor[16] = {0xc1};
	run(&cmd, sess_a, vendor, 16, false, false, 0, NULL);
	assert_int_equal(dbl.last_cdb_len, 16);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 3);

	read6[5] = 0x04;
	run(&cmd, sess_a, read6, 16, true, false, 512, NULL);
	fixture_assert_sense(&cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(cmd.sense[15], 0x80 | 0x40 | 0x08 | 2);
	assert_int_equal(get_be16(cmd.sense + 16), 5);
	uscst_cmd_release(&cmd);
	var[1] = 0x04;
	run(&cmd, sess_a, var, 32, true, false, 512, NULL);
	assert_int_equal(get_be16(cmd.sense + 16), 1);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 3);

	/* A variable-length CDB that says 32 bytes but arrived in 16 is not
	 * sent cut short: INVALID FIELD IN CDB, ADDITIONAL CDB LENGTH. */
	var[1] = 0;
	run(&cmd, sess_a, var, 16, true, false, 512, NULL);
	fixture_assert_sense(&cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(cmd.sense[15], 0x80 | 0x40);
	assert_int_equal(get_be16(cmd.sense + 16), 7);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 3);
	/* A backend that cannot carry a CDB (dev_iscsi: more than 16 bytes)
	 * says so: ILLEGAL REQUEST, not a retryable transport failure. */
	dbl.result = -EOPNOTSUPP;
	run(&cmd, sess_a, var, 32, true, false, 512, NULL);
	fixture_assert_sense(&cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(cmd.in_len, 0);
	uscst_cmd_release(&cmd);
}

/* Short reads give an underflow, a device that wanted more an overflow;
 * a short write's residual shows in out_len. */
static void test_residuals(void **state)
{
	struct uscst_cmd cmd;
	dbl.transferred = 30;
	run(&cmd, sess_a, read10, 10, true, false, 512, NULL);
	assert_int_equal(cmd.in_len, 30);
	assert_int_equal(cmd.in_asked, 0);
	uscst_cmd_release(&cmd);

	dbl.transferred = UINT32_MAX;
	dbl.overflow = 512;
	run(&cmd, sess_a, read10, 10, true, false, 512, NULL);
	assert_int_equal(cmd.in_len, 512);
	assert_int_equal(cmd.in_asked, 1024);
	uscst_cmd_release(&cmd);

	uint8_t data[512] = {0};
	dbl.overflow = 0;
	dbl.transferred = 256;
	run(&cmd, sess_a, write10, 10, false, true, sizeof(data), data);
	assert_int_equal(cmd.out_len, 256);
	uscst_cmd_release(&cmd);

	/* No data expected (length 0), the device wanted a block: overflow
	 * on the side the initiator named. */
	dbl.transferred = UINT32_MAX;
	dbl.overflow = 512;
	run(&cmd, sess_a, read10, 10, true, false, 0, NULL);
	assert_int_equal(dbl.last_dir, USCST_DATA_NONE);
	assert_int_equal(cmd.in_len, 0);
	assert_int_equal(cmd.in_asked, 512);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_a, write10, 10, false, false, 0, NULL);
	assert_int_equal(cmd.out_len, 512);
	uscst_cmd_release(&cmd);

	/* A hostile overflow count does not wrap the residual around. */
	dbl.overflow = UINT32_MAX - 10;
	run(&cmd, sess_a, read10, 10, true, false, 512, NULL);
	assert_int_equal(cmd.in_asked, UINT32_MAX);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_a, write10, 10, false, true, sizeof(data), data);
	assert_int_equal(cmd.out_len, UINT32_MAX);
	uscst_cmd_release(&cmd);
}

/* A backend that claims Data-In it never wrote (an upstream that left
 * out the residual) sends zeros, not what the heap held before: another
 * command's, or another initiator's, data. */
static void test_data_in_not_from_heap(void **state)
{
	uint8_t *old = malloc(4096);
	assert_non_null(old);
	memset(old, 0xaa, 4096);
	free(old); /* the Data-In buffer below likely reuses it */
	dbl.no_write = true;
	dbl.status = SAM_STAT_CHECK_CONDITION;
	static const uint8_t sense[18] = {0x70, 0, 0x03, [7] = 10, [12] = 0x11};
	memcpy(dbl.sense, sense, sizeof(sense));
	dbl.sense_len = sizeof(sense);
	struct uscst_cmd cmd;
	const uint8_t vendor[10] = {0xc1};
	run(&cmd, sess_a, vendor, 10, true, false, 4096, NULL);
	assert_int_equal(cmd.status, SAM_STAT_CHECK_CONDITION);
	for (uint32_t i = 0; i < cmd.in_len; i++)
		assert_int_equal(cmd.in_buf[i], 0);
	uscst_cmd_release(&cmd);
}

/* The device's CHECK CONDITION reaches the initiator as it was sent. */
static void test_sense_passed(void **state)
{
	struct uscst_cmd cmd;
	static const uint8_t sense[18] = {0xf0, 0, 0x03, 0, 0, 0, 0x10, 10, [12] = 0x11};
	dbl.status = SAM_STAT_CHECK_CONDITION;
	memcpy(dbl.sense, sense, sizeof(sense));
	dbl.sense_len = sizeof(sense);
	dbl.transferred = 0;
	run(&cmd, sess_a, read10, 10, true, false, 512, NULL);
	assert_int_equal(cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(cmd.sense_len, sizeof(sense));
	assert_memory_equal(cmd.sense, sense, sizeof(sense));
	assert_false(cmd.in_with_sense); /* no data came */
	/* Not a UA: the other nexus hears nothing of it. */
	uint8_t asc, ascq;
	assert_false(ua_take(sess_b, 0, &asc, &ascq));
	uscst_cmd_release(&cmd);

	/* A tape READ(6) of a shorter block: ILI, and the block goes with
	 * the sense. */
	static const uint8_t ili[18] = {0xf0, 0, 0x20, 0, 0, 0x0f, 0x9c, 10};
	const uint8_t read6[6] = {0x08, 0x00, 0x01, 0x00, 0x00, 0x00};
	memcpy(dbl.sense, ili, sizeof(ili));
	dbl.transferred = 100;
	run(&cmd, sess_a, read6, 6, true, false, 65536, NULL);
	assert_int_equal(cmd.status, SAM_STAT_CHECK_CONDITION);
	assert_true(cmd.in_with_sense);
	assert_int_equal(cmd.in_len, 100);
	assert_int_equal(cmd.in_buf[99], 100);
	assert_int_equal(cmd.sense[2], 0x20);
	uscst_cmd_release(&cmd);
}

/* A unit attention from the device ends the command that got it and is
 * established on the other nexus, which sees it before its next command
 * reaches the device; REPORTED LUNS DATA HAS CHANGED is not shared. */
static void test_device_ua_shared(void **state)
{
	struct uscst_cmd cmd;
	static const uint8_t ua[18] = {0x70, 0, 0x06, 0, 0, 0, 0, 10, [12] = 0x28, 0x00};
	dbl.status = SAM_STAT_CHECK_CONDITION;
	memcpy(dbl.sense, ua, sizeof(ua));
	dbl.sense_len = sizeof(ua);
	run(&cmd, sess_a, read10, 10, true, false, 512, NULL);
	fixture_assert_sense(&cmd, SK_UNIT_ATTENTION, 0x28, 0x00);
	uscst_cmd_release(&cmd);

	dbl.status = SAM_STAT_GOOD;
	dbl.sense_len = 0;
	run(&cmd, sess_b, read10, 10, true, false, 512, NULL);
	fixture_assert_sense(&cmd, SK_UNIT_ATTENTION, 0x28, 0x00);
	assert_int_equal(dbl.calls, 1);
	uscst_cmd_release(&cmd);
	/* Reported once. */
	run(&cmd, sess_b, read10, 10, true, false, 512, NULL);
	fixture_assert_good(&cmd);
	assert_int_equal(dbl.calls, 2);
	uscst_cmd_release(&cmd);

	static const uint8_t luns_changed[8] = {0x72, 0x06, 0x3f, 0x0e};
	dbl.status = SAM_STAT_CHECK_CONDITION;
	memcpy(dbl.sense, luns_changed, sizeof(luns_changed));
	dbl.sense_len = sizeof(luns_changed);
	run(&cmd, sess_a, read10, 10, true, false, 512, NULL);
	assert_int_equal(cmd.sense[2], 0x3f);
	uscst_cmd_release(&cmd);
	uint8_t asc, ascq;
	assert_false(ua_take(sess_b, 0, &asc, &ascq));
}

/* SAM-5 5.14: INQUIRY neither reports nor clears a pending unit
 * attention; the next other command reports it. */
static void test_inquiry_keeps_unit_attention(void **state)
{
	struct uscst_cmd cmd;
	static const uint8_t ua[18] = {0x70, 0, 0x06, [7] = 10, [12] = 0x29, 0x00};
	dbl.status = SAM_STAT_CHECK_CONDITION;
	memcpy(dbl.sense, ua, sizeof(ua));
	dbl.sense_len = sizeof(ua);
	run(&cmd, sess_a, read10, 10, true, false, 512, NULL); /* shared with B */
	uscst_cmd_release(&cmd);
	dbl.status = SAM_STAT_GOOD;
	dbl.sense_len = 0;
	const uint8_t inquiry[6] = {0x12, 0, 0, 0, 36, 0};
	run(&cmd, sess_b, inquiry, 6, true, false, 36, NULL);
	fixture_assert_good(&cmd);
	assert_int_equal(cmd.in_len, 36);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 2);
	run(&cmd, sess_b, read10, 10, true, false, 512, NULL);
	fixture_assert_sense(&cmd, SK_UNIT_ATTENTION, 0x29, 0x00);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 2);
}

/* RESERVE is the core's: the device never sees it, and the other nexus
 * gets RESERVATION CONFLICT without its command going out, while the
 * holder's commands do; RELEASE opens the device again. */
static void test_spc2_reservation_enforced(void **state)
{
	struct uscst_cmd cmd;
	uint8_t data[512] = {1};
	run(&cmd, sess_a, reserve6, 6, false, false, 0, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 0);

	run(&cmd, sess_b, write10, 10, false, true, sizeof(data), data);
	assert_int_equal(cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_b, read10, 10, true, false, 512, NULL);
	assert_int_equal(cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 0);

	run(&cmd, sess_a, write10, 10, false, true, sizeof(data), data);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 1);

	run(&cmd, sess_a, release6, 6, false, false, 0, NULL);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_b, read10, 10, true, false, 512, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 2);
}

static void pr_out(struct uscst_session *s, uint8_t sa, uint8_t type, uint64_t key, uint64_t sa_key)
{
	uint8_t cdb[10] = {0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0};
	uint8_t param[24] = {0};
	put_be64(param, key);
	put_be64(param + 8, sa_key);
	struct uscst_cmd cmd;
	run(&cmd, s, cdb, 10, false, true, sizeof(param), param);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
}

/* PERSISTENT RESERVE OUT/IN are the core's; an Exclusive Access holder
 * keeps the device, the other nexus is refused without the device
 * hearing of it. */
static void test_persistent_reservation_enforced(void **state)
{
	pr_out(sess_a, 0x00 /* REGISTER */, 0, 0, 0xaa);
	pr_out(sess_a, 0x01 /* RESERVE */, PR_TYPE_EA, 0xaa, 0);
	assert_int_equal(dbl.calls, 0);

	struct uscst_cmd cmd;
	const uint8_t pr_in[10] = {0x5e, 0x01 /* READ RESERVATION */, 0, 0, 0, 0, 0, 0, 64, 0};
	run(&cmd, sess_b, pr_in, 10, true, false, 64, NULL);
	fixture_assert_good(&cmd);
	assert_int_equal(cmd.in_buf[21] & 0x0f, PR_TYPE_EA);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_b, read10, 10, true, false, 512, NULL);
	assert_int_equal(cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 0);
	run(&cmd, sess_a, read10, 10, true, false, 512, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 1);
}

/* A PR IN service action the core does not know is refused, not passed
 * on: reservations never reach the device. */
static void test_unknown_pr_action_refused(void **state)
{
	struct uscst_cmd cmd;
	const uint8_t pr_in[10] = {0x5e, 0x1f, 0, 0, 0, 0, 0, 0, 64, 0};
	run(&cmd, sess_a, pr_in, 10, true, false, 64, NULL);
	fixture_assert_sense(&cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(dbl.calls, 0);
	uscst_cmd_release(&cmd);
}

/* REPORT LUNS and REQUEST SENSE are answered by the core. */
static void test_core_answers_luns_and_sense(void **state)
{
	struct uscst_cmd cmd;
	const uint8_t report_luns[12] = {0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	run(&cmd, sess_a, report_luns, 12, true, false, 256, NULL);
	fixture_assert_good(&cmd);
	assert_int_equal(get_be32(cmd.in_buf), 8);
	uscst_cmd_release(&cmd);
	const uint8_t request_sense[6] = {0x03, 0, 0, 0, 18, 0};
	run(&cmd, sess_a, request_sense, 6, true, false, 18, NULL);
	fixture_assert_good(&cmd);
	assert_int_equal(cmd.in_buf[2] & 0x0f, SK_NO_SENSE);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 0);
}

/* MODE SELECT changes what every initiator sees: refused while another
 * nexus shares the device and this one does not hold it; passed once it
 * holds the SPC-2 reservation, or when it is alone. */
static void test_mode_select_needs_exclusive_use(void **state)
{
	struct uscst_cmd cmd;
	const uint8_t mode_select6[6] = {0x15, 0x10, 0, 0, 12, 0};
	const uint8_t log_select[10] = {0x4c, 0x02, 0, 0, 0, 0, 0, 0, 0, 0};
	uint8_t param[12] = {0, 0, 0, 8};
	run(&cmd, sess_a, mode_select6, 6, false, true, sizeof(param), param);
	assert_int_equal(cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_a, log_select, 10, false, false, 0, NULL);
	assert_int_equal(cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 0);

	run(&cmd, sess_a, reserve6, 6, false, false, 0, NULL);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_a, mode_select6, 6, false, true, sizeof(param), param);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 1);
	run(&cmd, sess_a, release6, 6, false, false, 0, NULL);
	uscst_cmd_release(&cmd);

	/* B hears of the change from the core (the device knows one nexus). */
	uint8_t asc, ascq;
	assert_true(ua_take(sess_b, 0, &asc, &ascq));
	assert_int_equal(asc, 0x2a);
	assert_int_equal(ascq, 0x01);
	assert_false(ua_take(sess_a, 0, &asc, &ascq));

	/* Alone: once B has logged out, A may. */
	uscst_session_destroy(sess_b);
	run(&cmd, sess_a, log_select, 10, false, false, 0, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 2);
	sess_b = uscst_session_create(&tgt, "iqn.2024-01.test:b", PORT_B);
	assert_non_null(sess_b);
}

/* A LU reset drops the SPC-2 reservation in the core; the device is not
 * told (nothing is sent). */
static void test_lu_reset_stays_in_core(void **state)
{
	struct uscst_cmd cmd;
	run(&cmd, sess_a, reserve6, 6, false, false, 0, NULL);
	uscst_cmd_release(&cmd);
	dev->cmdset->lu_reset(dev);
	assert_int_equal(dbl.calls, 0);
	run(&cmd, sess_b, read10, 10, true, false, 512, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
}

/* Undelivered commands: the link failed (ABORTED COMMAND, LOGICAL UNIT
 * COMMUNICATION FAILURE / TIME-OUT), or no resources (BUSY). */
static void test_undelivered(void **state)
{
	struct uscst_cmd cmd;
	dbl.result = -ECONNRESET;
	run(&cmd, sess_a, read10, 10, true, false, 512, NULL);
	fixture_assert_sense(&cmd, SK_ABORTED_COMMAND, 0x08, 0x00);
	assert_int_equal(cmd.in_len, 0);
	uscst_cmd_release(&cmd);
	dbl.result = -ETIMEDOUT;
	run(&cmd, sess_a, read10, 10, true, false, 512, NULL);
	fixture_assert_sense(&cmd, SK_ABORTED_COMMAND, 0x08, 0x01);
	uscst_cmd_release(&cmd);
	dbl.result = -ENOMEM;
	run(&cmd, sess_a, read10, 10, true, false, 512, NULL);
	assert_int_equal(cmd.status, SAM_STAT_BUSY);
	uscst_cmd_release(&cmd);
}

/* Bidirectional and oversized transfers are refused before going out. */
static void test_refused_transfers(void **state)
{
	struct uscst_cmd cmd;
	const uint8_t vendor[6] = {0xc0};
	uint8_t data[8] = {0};
	run(&cmd, sess_a, vendor, 6, true, true, sizeof(data), data);
	fixture_assert_sense(&cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	uscst_cmd_release(&cmd);
	prepare(&cmd, sess_a, vendor, 6, true, false, PT_MAX_TRANSFER + 1, NULL);
	dev->cmdset->dispatch(&cmd);
	fixture_assert_sense(&cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	uscst_cmd_release(&cmd);
	/* Not collected either. */
	prepare(&cmd, sess_a, vendor, 6, false, false, 0, NULL);
	cmd.exp_write = true;
	cmd.exp_len = PT_MAX_TRANSFER + 4096;
	dev->cmdset->decode(&cmd);
	assert_int_equal(cmd.out_len, PT_MAX_TRANSFER);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 0);
}

/* A disk takes several commands at once. */
static void test_disk_concurrent(void **state)
{
	struct uscst_cmd c1, c2;
	dbl.hold = true;
	prepare(&c1, sess_a, read10, 10, true, false, 512, NULL);
	prepare(&c2, sess_b, read10, 10, true, false, 512, NULL);
	dev->cmdset->dispatch(&c1);
	dev->cmdset->dispatch(&c2);
	assert_int_equal(dbl.calls, 2);
	complete_held();
	complete_held();
	assert_int_equal(done_calls, 2);
	uscst_cmd_release(&c1);
	uscst_cmd_release(&c2);
}

/* A tape runs one command at a time, in arrival order, from any nexus;
 * one aborted while it waits never reaches the device. */
static void test_tape_serialised(void **state)
{
	struct uscst_cmd c1, c2, c3;
	const uint8_t read6[6] = {0x08, 0, 0, 0x02, 0, 0};
	const uint8_t tur[6] = {0x00};
	const uint8_t rewind[6] = {0x01};
	dbl.hold = true;
	prepare(&c1, sess_a, read6, 6, true, false, 512, NULL);
	prepare(&c2, sess_b, tur, 6, false, false, 0, NULL);
	prepare(&c3, sess_a, rewind, 6, false, false, 0, NULL);
	dev->cmdset->dispatch(&c1);
	dev->cmdset->dispatch(&c2);
	dev->cmdset->dispatch(&c3);
	assert_int_equal(dbl.calls, 1);
	assert_int_equal(dbl.last_cdb[0], 0x08);
	c2.aborted = true;
	complete_held(); /* c1 ends; c2 is skipped; c3 goes */
	assert_int_equal(done_calls, 2);
	assert_int_equal(dbl.calls, 2);
	assert_int_equal(dbl.last_cdb[0], 0x01);
	complete_held();
	assert_int_equal(done_calls, 3);
	/* Idle again: the next one goes at once. */
	uscst_cmd_release(&c1);
	prepare(&c1, sess_b, tur, 6, false, false, 0, NULL);
	dev->cmdset->dispatch(&c1);
	assert_int_equal(dbl.calls, 3);
	complete_held();
	uscst_cmd_release(&c1);
	uscst_cmd_release(&c2);
	uscst_cmd_release(&c3);
}

/* A command the core aborts while the device has it goes to the
 * backend's abort_cmd (which may end it early: the abort waits for it);
 * one still waiting its turn does not, nor one already ended. */
static void test_abort_reaches_backend(void **state)
{
	struct uscst_cmd c1, c2;
	const uint8_t read6[6] = {0x08, 0, 0, 0x02, 0, 0};
	const uint8_t tur[6] = {0x00};
	dbl.hold = true;
	prepare(&c1, sess_a, read6, 6, true, false, 512, NULL);
	prepare(&c2, sess_b, tur, 6, false, false, 0, NULL);
	dev->cmdset->dispatch(&c1);
	dev->cmdset->dispatch(&c2); /* waits behind c1 */
	assert_non_null(dev->cmdset->abort_running);
	c2.aborted = true;
	dev->cmdset->abort_running(&c2);
	assert_int_equal(abort_calls, 0);
	c1.aborted = true;
	dev->cmdset->abort_running(&c1); /* c1 ends; c2 is skipped */
	assert_int_equal(abort_calls, 1);
	assert_int_equal(done_calls, 2);
	assert_int_equal(dbl.calls, 1);
	dev->cmdset->abort_running(&c1);
	assert_int_equal(abort_calls, 1);
	uscst_cmd_release(&c1);
	uscst_cmd_release(&c2);
}

/* Under a Write Exclusive reservation others may read a disk, but a
 * tape's READ(6) would move the holder's position: refused. */
static void test_tape_read_under_write_exclusive(void **state)
{
	pr_out(sess_a, 0x00, 0, 0, 0xaa);
	pr_out(sess_a, 0x01, PR_TYPE_WE, 0xaa, 0);
	struct uscst_cmd cmd;
	const uint8_t read6[6] = {0x08, 0, 0, 0x02, 0, 0};
	run(&cmd, sess_b, read6, 6, true, false, 512, NULL);
	assert_int_equal(cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	uscst_cmd_release(&cmd);
	/* Every command that moves the position, whatever the disk table
	 * calls its opcode: READ(16), VERIFY(16), SPACE(6), LOCATE(16). */
	const uint8_t read16[16] = {0x88, [14] = 2};
	const uint8_t verify16[16] = {0x8f, [14] = 2};
	const uint8_t space6[6] = {0x11, 0x01, 0, 0, 1, 0};
	const uint8_t locate16[16] = {0x92, [11] = 5};
	run(&cmd, sess_b, read16, 16, true, false, 512, NULL);
	assert_int_equal(cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_b, verify16, 16, false, false, 0, NULL);
	assert_int_equal(cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_b, space6, 6, false, false, 0, NULL);
	assert_int_equal(cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_b, locate16, 16, false, false, 0, NULL);
	assert_int_equal(cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 0);
	/* What only reads the drive's state still goes: MODE SENSE, READ
	 * POSITION (34h, PRE-FETCH on a disk). */
	const uint8_t mode_sense6[6] = {0x1a, 0, 0x3f, 0, 255, 0};
	run(&cmd, sess_b, mode_sense6, 6, true, false, 255, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	const uint8_t read_position[10] = {0x34};
	run(&cmd, sess_b, read_position, 10, true, false, 20, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 2);
	/* The holder moves it. */
	run(&cmd, sess_a, read16, 16, true, false, 512, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
}

/* A read-only LUN: reads and status commands go out, a write or an
 * unknown opcode gets DATA PROTECT, WRITE PROTECTED. */
static void test_read_only_lun(void **state)
{
	struct uscst_cmd cmd;
	uint8_t data[512] = {0};
	const uint8_t vendor[6] = {0xc0};
	const uint8_t rewind[6] = {0x01};
	map.luns[0].read_only = true;
	run(&cmd, sess_a, write10, 10, false, true, sizeof(data), data);
	fixture_assert_sense(&cmd, SK_DATA_PROTECT, 0x27, 0x00);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_a, vendor, 6, false, false, 0, NULL);
	fixture_assert_sense(&cmd, SK_DATA_PROTECT, 0x27, 0x00);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_a, rewind, 6, false, false, 0, NULL); /* a disk: no */
	fixture_assert_sense(&cmd, SK_DATA_PROTECT, 0x27, 0x00);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 0);
	run(&cmd, sess_a, read10, 10, true, false, 512, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 1);
}

/* An opcode means what the device's type says: an MMC SEND KEY (A3h,
 * MAINTENANCE IN on a disk; key format 3Fh sets the drive's region) is a
 * write, refused to a non-holder under an SPC-2 reservation and under
 * Exclusive Access, and on a read-only mapping. */
static const uint8_t send_key[12] = {0xa3, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0x3f, 0};
static const uint8_t region[8] = {0, 6, 0, 0, 0xfe, 0, 0, 0};

static void test_mmc_send_key_is_a_write(void **state)
{
	struct uscst_cmd cmd;
	run(&cmd, sess_a, reserve6, 6, false, false, 0, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_b, send_key, 12, false, true, sizeof(region), region);
	assert_int_equal(cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_a, release6, 6, false, false, 0, NULL);
	uscst_cmd_release(&cmd);

	pr_out(sess_a, 0x00, 0, 0, 0xaa);
	pr_out(sess_a, 0x01, PR_TYPE_EA, 0xaa, 0);
	run(&cmd, sess_b, send_key, 12, false, true, sizeof(region), region);
	assert_int_equal(cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 0);
	run(&cmd, sess_a, send_key, 12, false, true, sizeof(region), region);
	fixture_assert_good(&cmd); /* the holder's goes out */
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 1);

	map.luns[0].read_only = true;
	run(&cmd, sess_a, send_key, 12, false, true, sizeof(region), region);
	fixture_assert_sense(&cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 1);
}

/* On a disk A3h is MAINTENANCE IN (REPORT TARGET PORT GROUPS ...): it
 * still runs for everyone. */
static void test_disk_maintenance_in_allowed(void **state)
{
	pr_out(sess_a, 0x00, 0, 0, 0xaa);
	pr_out(sess_a, 0x01, PR_TYPE_EA, 0xaa, 0);
	struct uscst_cmd cmd;
	const uint8_t rtpg[12] = {0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
	run(&cmd, sess_b, rtpg, 12, true, false, 256, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
}

/* A changer: INITIALIZE ELEMENT STATUS WITH RANGE (37h, SMC-1) rescans
 * (a write); READ ELEMENT STATUS (B8h) reads, allowed under Write
 * Exclusive as SMC-3 says. */
static void test_changer_opcodes(void **state)
{
	pr_out(sess_a, 0x00, 0, 0, 0xaa);
	pr_out(sess_a, 0x01, PR_TYPE_WE, 0xaa, 0);
	struct uscst_cmd cmd;
	const uint8_t iesr[10] = {0x37};
	run(&cmd, sess_b, iesr, 10, false, false, 0, NULL);
	assert_int_equal(cmd.status, SAM_STAT_RESERVATION_CONFLICT);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 0);
	const uint8_t res[12] = {0xb8, 0, 0, 0, 0xff, 0xff, 0, 0, 0x10, 0, 0, 0};
	run(&cmd, sess_b, res, 12, true, false, 4096, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 1);
}

/* A read-only tape can still be positioned and read. */
static void test_read_only_tape(void **state)
{
	struct uscst_cmd cmd;
	const uint8_t rewind[6] = {0x01};
	const uint8_t read6[6] = {0x08, 0, 0, 0x02, 0, 0};
	const uint8_t write6[6] = {0x0a, 0, 0, 0x02, 0, 0};
	const uint8_t erase[6] = {0x19, 0x01};
	uint8_t data[512] = {0};
	dev->read_only = true;
	run(&cmd, sess_a, rewind, 6, false, false, 0, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_a, read6, 6, true, false, 512, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 2);
	run(&cmd, sess_a, write6, 6, false, true, sizeof(data), data);
	fixture_assert_sense(&cmd, SK_DATA_PROTECT, 0x27, 0x00);
	uscst_cmd_release(&cmd);
	run(&cmd, sess_a, erase, 6, false, false, 0, NULL);
	fixture_assert_sense(&cmd, SK_DATA_PROTECT, 0x27, 0x00);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 2);
}

/* A pass-through device in a device group, its path in standby: the
 * target port groups are ours (RTPG answered here, TPGS put in the
 * device's INQUIRY data), and what standby does not allow never reaches
 * the device. */
static void test_alua_standby(void **state)
{
	char err[256] = "";
	struct uscst_alua_model *m = uscst_alua_model_new();
	assert_non_null(m);
	struct uscst_alua_dg *dg = uscst_alua_add_dg(m, "pt-dg", err, sizeof(err));
	assert_non_null(dg);
	assert_true(uscst_alua_dg_add_device(dg, dev->name, err, sizeof(err)));
	struct uscst_alua_tg *tg =
	    uscst_alua_dg_add_tg(dg, "t", 5, USCST_ALUA_STANDBY, false, err, sizeof(err));
	assert_non_null(tg);
	assert_true(uscst_alua_tg_add_port(tg, tgt.name, tgt.rel_tgt_id, err, sizeof(err)));
	assert_int_equal(uscst_alua_publish(m, false, err, sizeof(err)), 0);
	fixture_drain_uas(sess_a, 0);

	struct uscst_cmd cmd;
	const uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
	run(&cmd, sess_a, inq, 6, true, false, 36, NULL);
	fixture_assert_good(&cmd);
	assert_int_equal(dbl.calls, 1);
	assert_int_equal(cmd.in_buf[5], (6 & ~0x30) | 0x10); /* the device's byte, our TPGS */
	uscst_cmd_release(&cmd);
	const uint8_t rtpg[12] = {0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
	run(&cmd, sess_a, rtpg, 12, true, false, 256, NULL);
	fixture_assert_good(&cmd);
	assert_int_equal(cmd.in_buf[4] & 0x0f, USCST_ALUA_STANDBY);
	assert_int_equal(get_be16(cmd.in_buf + 6), 5);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 1);
	run(&cmd, sess_a, read10, 10, true, false, 512, NULL);
	fixture_assert_sense(&cmd, SK_NOT_READY, 0x04, 0x0b);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 1);
	const uint8_t sense6[6] = {0x1a, 0, 0x3f, 0, 0xff, 0};
	run(&cmd, sess_a, sense6, 6, true, false, 255, NULL);
	fixture_assert_good(&cmd);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 2);
	/* Implicit ALUA only: SET TARGET PORT GROUPS is not supported. */
	const uint8_t stpg[12] = {0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0};
	const uint8_t active[8] = {0, 0, 0, 0, 0x00, 0, 0, 5};
	run(&cmd, sess_a, stpg, 12, false, true, 8, active);
	fixture_assert_sense(&cmd, SK_ILLEGAL_REQUEST, 0x20, 0x00);
	uscst_cmd_release(&cmd);
	assert_int_equal(dbl.calls, 2);
	uscst_alua_reset();
}

int main(void)
{
	if (!scsi_register_cmdsets())
		return 1;
#define DISK(f) cmocka_unit_test_setup_teardown(f, setup_disk, teardown)
#define TAPE(f) cmocka_unit_test_setup_teardown(f, setup_tape, teardown)
#define CDROM(f) cmocka_unit_test_setup_teardown(f, setup_cdrom, teardown)
#define CHANGER(f) cmocka_unit_test_setup_teardown(f, setup_changer, teardown)
	const struct CMUnitTest tests[] = {
	    DISK(test_unknown_opcode_passes),
	    DISK(test_cdb_length_and_naca),
	    DISK(test_residuals),
	    DISK(test_data_in_not_from_heap),
	    DISK(test_sense_passed),
	    DISK(test_device_ua_shared),
	    DISK(test_inquiry_keeps_unit_attention),
	    DISK(test_spc2_reservation_enforced),
	    DISK(test_persistent_reservation_enforced),
	    DISK(test_unknown_pr_action_refused),
	    DISK(test_core_answers_luns_and_sense),
	    DISK(test_mode_select_needs_exclusive_use),
	    DISK(test_lu_reset_stays_in_core),
	    DISK(test_undelivered),
	    DISK(test_refused_transfers),
	    DISK(test_disk_concurrent),
	    TAPE(test_tape_serialised),
	    TAPE(test_abort_reaches_backend),
	    TAPE(test_tape_read_under_write_exclusive),
	    DISK(test_read_only_lun),
	    TAPE(test_read_only_tape),
	    CDROM(test_mmc_send_key_is_a_write),
	    DISK(test_disk_maintenance_in_allowed),
	    CHANGER(test_changer_opcodes),
	    TAPE(test_alua_standby),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
