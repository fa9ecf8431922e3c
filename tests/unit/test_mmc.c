/*
 * The MMC command set (vcdrom): commands run through the command set's
 * decode and dispatch, as the transport runs them, so the usage masks and
 * the medium checks are part of what is tested.  The device holds an
 * in-memory image of NBLOCKS 2048-byte blocks.  UAs established for every
 * nexus are recorded by doubles/ua_record.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <uscst/iov.h>

#include "doubles/ua_record.h"
#include "fixtures/fixture_scsi.h"
#include "scsi/mmc.h"
#include "scsi/sbc.h"

#define BS 2048u
#define NBLOCKS 1000u

static uint8_t *image;

static void fake_submit(struct uscst_device *dev, struct uscst_io *io)
{
	assert_int_equal(io->op, USCST_IO_READ);
	assert_true(io->offset + io->len <= (uint64_t)NBLOCKS * BS);
	uscst_iov_from_buf(io->iov, io->iovcnt, 0, image + io->offset, io->len);
	io->result = (int64_t)io->len;
	io->done(io);
}

static const struct uscst_backend_ops fake_ops = {.name = "fake", .submit = fake_submit};

/* Two nexuses in the core's session list (media events go to every nexus
 * that sees the drive): commands run on A unless a test says B. */
static struct uscst_session *sa, *sb;

static int setup(void **state)
{
	struct scsi_fixture *f = fixture_new(512);
	sa = uscst_session_create(&f->tgt, "iqn.2026-11.test:a", "iqn.2026-11.test:a,i,0x1");
	sb = uscst_session_create(&f->tgt, "iqn.2026-11.test:b", "iqn.2026-11.test:b,i,0x2");
	assert_true(sa && sb);
	fixture_drain_uas(sa, 0);
	fixture_drain_uas(sb, 0);
	f->dev.cmdset = &scsi_mmc_cmdset;
	f->dev.backend = &fake_ops;
	f->dev.block_size = BS;
	f->dev.block_shift = 11;
	f->dev.nblocks = NBLOCKS;
	f->dev.size = (uint64_t)NBLOCKS * BS;
	f->dev.cmdset->power_on(&f->dev);
	image = malloc((size_t)NBLOCKS * BS);
	assert_non_null(image);
	for (size_t i = 0; i < (size_t)NBLOCKS * BS; i++)
		image[i] = (uint8_t)(i * 7 + i / BS);
	ua_record_reset();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct scsi_fixture *f = *state;
	uscst_cmd_release(&f->cmd);
	uscst_session_destroy(sa);
	uscst_session_destroy(sb);
	fixture_free(f);
	free(image);
	return 0;
}

static unsigned done_calls;
static void count_done(struct uscst_cmd *cmd) { done_calls++; }

/* Decode and dispatch through the MMC command set, on nexus sess. */
static struct uscst_cmd *run_on(struct scsi_fixture *f, struct uscst_session *sess,
				const uint8_t *cdb, unsigned len)
{
	struct uscst_cmd *cmd = &f->cmd;
	uscst_cmd_release(cmd);
	fixture_cmd_init(cmd, sess, 0, cdb, len, count_done);
	done_calls = 0;
	f->dev.cmdset->decode(cmd);
	f->dev.cmdset->dispatch(cmd);
	assert_int_equal(done_calls, 1);
	return cmd;
}

static struct uscst_cmd *run(struct scsi_fixture *f, const uint8_t *cdb, unsigned len)
{
	return run_on(f, sa, cdb, len);
}

/* ILLEGAL REQUEST, INVALID FIELD IN CDB, the field pointer at byte/bit
 * (bit -1: the whole byte, no BIT POINTER). */
static void assert_invalid_field(const struct uscst_cmd *cmd, unsigned byte, int bit)
{
	fixture_assert_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	assert_int_equal(cmd->sense[15], bit < 0 ? 0xc0 : 0x80 | 0x40 | 0x08 | bit);
	assert_int_equal(get_be16(cmd->sense + 16), byte);
}

static void test_inquiry_cdrom_removable(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t cdb[6] = {0x12, 0, 0, 0, 96, 0};
	struct uscst_cmd *cmd = run(f, cdb, 6);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_buf[0], 0x05);		 /* qualifier 000b, CD/DVD device */
	assert_int_equal(cmd->in_buf[1], 0x80);		 /* RMB */
	assert_int_equal(cmd->in_buf[5] & 0x08, 0);	 /* no EXTENDED COPY: not in the table */
	assert_int_equal(get_be16(cmd->in_buf + 64), 0); /* no SBC version descriptor */
}

static void test_inquiry_no_block_vpd_pages(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t list[6] = {0x12, 1, 0x00, 0, 255, 0};
	struct uscst_cmd *cmd = run(f, list, 6);
	fixture_assert_good(cmd);
	assert_int_equal(get_be16(cmd->in_buf + 2), 4);
	const uint8_t pages[4] = {0x00, 0x80, 0x83, 0x86};
	assert_memory_equal(cmd->in_buf + 4, pages, 4);
	const uint8_t b0[6] = {0x12, 1, 0xb0, 0, 255, 0};
	assert_invalid_field(run(f, b0, 6), 2, -1);
}

static void test_read_capacity_2048(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t cdb[10] = {0x25};
	struct uscst_cmd *cmd = run(f, cdb, 10);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 8);
	assert_int_equal(get_be32(cmd->in_buf), NBLOCKS - 1);
	assert_int_equal(get_be32(cmd->in_buf + 4), 2048);
	/* PMI is obsolete in MMC-6: a reserved bit. */
	const uint8_t pmi[10] = {0x25, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	assert_invalid_field(run(f, pmi, 10), 8, 0);
}

static void test_read10_read12(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t r10[10] = {0x28, 0, 0, 0, 0x01, 0x2c, 0, 0, 3, 0}; /* LBA 300, 3 blocks */
	struct uscst_cmd *cmd = run(f, r10, 10);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 3 * BS);
	assert_memory_equal(cmd->in_buf, image + 300 * BS, 3 * BS);
	const uint8_t r12[12] = {0xa8, 0, 0, 0, 0x03, 0xe6, 0, 0, 0, 2, 0, 0}; /* LBA 998, 2 */
	cmd = run(f, r12, 12);
	fixture_assert_good(cmd);
	assert_memory_equal(cmd->in_buf, image + 998 * BS, 2 * BS);
	const uint8_t past[10] = {0x28, 0, 0, 0, 0x03, 0xe7, 0, 0, 2, 0}; /* 999 + 2 */
	fixture_assert_sense(run(f, past, 10), SK_ILLEGAL_REQUEST, 0x21, 0x00);
	/* READ(12) STREAMING: not supported. */
	const uint8_t streaming[12] = {0xa8, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x80, 0};
	assert_invalid_field(run(f, streaming, 12), 10, 7);
}

static void test_writes_are_unknown_opcodes(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t w10[10] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	fixture_assert_sense(run(f, w10, 10), SK_ILLEGAL_REQUEST, 0x20, 0x00);
	/* An opcode with service actions in the disk table is still just
	 * unknown here (SERVICE ACTION IN(16): READ CAPACITY(16)). */
	const uint8_t rc16[16] = {0x9e, 0x10};
	fixture_assert_sense(run(f, rc16, 16), SK_ILLEGAL_REQUEST, 0x20, 0x00);
	const uint8_t msel[10] = {0x55, 0x10};
	fixture_assert_sense(run(f, msel, 10), SK_ILLEGAL_REQUEST, 0x20, 0x00);
}

static void test_toc_format0_lba(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t cdb[10] = {0x43, 0, 0, 0, 0, 0, 0, 0, 100, 0};
	struct uscst_cmd *cmd = run(f, cdb, 10);
	fixture_assert_good(cmd);
	const uint8_t want[20] = {0, 18,   1,	 1, /* length, first and last track */
				  0, 0x14, 1,	 0, 0, 0, 0,	0,     /* track 1 at LBA 0 */
				  0, 0x14, 0xaa, 0, 0, 0, 0x03, 0xe8}; /* lead-out at 1000 */
	assert_int_equal(cmd->in_len, 20);
	assert_memory_equal(cmd->in_buf, want, 20);
}

static void test_toc_format0_msf_and_track(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t msf[10] = {0x43, 0x02, 0, 0, 0, 0, 1, 0, 100, 0};
	struct uscst_cmd *cmd = run(f, msf, 10);
	fixture_assert_good(cmd);
	/* LBA 0 = 00:02:00; LBA 1000 = 1150 frames = 00:15:25. */
	const uint8_t t1[4] = {0, 0, 2, 0}, lo[4] = {0, 0, 15, 25};
	assert_memory_equal(cmd->in_buf + 8, t1, 4);
	assert_memory_equal(cmd->in_buf + 16, lo, 4);
	/* AAh: the lead-out alone. */
	const uint8_t leadout[10] = {0x43, 0, 0, 0, 0, 0, 0xaa, 0, 100, 0};
	cmd = run(f, leadout, 10);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 12);
	assert_int_equal(get_be16(cmd->in_buf), 10);
	assert_int_equal(cmd->in_buf[6], 0xaa);
	assert_int_equal(get_be32(cmd->in_buf + 8), NBLOCKS);
	/* Past the last track. */
	const uint8_t t2[10] = {0x43, 0, 0, 0, 0, 0, 2, 0, 100, 0};
	assert_invalid_field(run(f, t2, 10), 6, 7);
	/* ALLOCATION LENGTH clips; 0 sends nothing. */
	const uint8_t four[10] = {0x43, 0, 0, 0, 0, 0, 0, 0, 4, 0};
	cmd = run(f, four, 10);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 4);
	assert_int_equal(get_be16(cmd->in_buf), 18);
	const uint8_t zero[10] = {0x43};
	cmd = run(f, zero, 10);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 0);
}

static void test_toc_format1_and_bad_formats(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t sess[10] = {0x43, 0, 1, 0, 0, 0, 0, 0, 12, 0};
	struct uscst_cmd *cmd = run(f, sess, 10);
	fixture_assert_good(cmd);
	const uint8_t want[12] = {0, 10, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0};
	assert_int_equal(cmd->in_len, 12);
	assert_memory_equal(cmd->in_buf, want, 12);
	/* PMA (3) and the formats after it: a pressed disc has none. */
	const uint8_t pma[10] = {0x43, 0, 3, 0, 0, 0, 0, 0, 12, 0};
	assert_invalid_field(run(f, pma, 10), 2, 3);
	const uint8_t cdtext[10] = {0x43, 0, 5, 0, 0, 0, 0, 0, 12, 0};
	assert_invalid_field(run(f, cdtext, 10), 2, 3);
	/* Byte 1 bit 0 is reserved; byte 2 bits 7..4 too. */
	const uint8_t r1[10] = {0x43, 0x01, 0, 0, 0, 0, 0, 0, 12, 0};
	assert_invalid_field(run(f, r1, 10), 1, 0);
	const uint8_t r2[10] = {0x43, 0, 0x40, 0, 0, 0, 0, 0, 12, 0};
	assert_invalid_field(run(f, r2, 10), 2, 6);
}

static const uint8_t tur[6] = {0x00};
static const uint8_t eject[6] = {0x1b, 0, 0, 0, 0x02, 0};
static const uint8_t load[6] = {0x1b, 0, 0, 0, 0x03, 0};
static const uint8_t prevent[6] = {0x1e, 0, 0, 0, 0x01, 0};
static const uint8_t allow[6] = {0x1e, 0, 0, 0, 0x00, 0};

static void test_eject_load_unit_attention(void **state)
{
	struct scsi_fixture *f = *state;
	fixture_assert_good(run(f, eject, 6));
	fixture_assert_sense(run(f, tur, 6), SK_NOT_READY, 0x3a, 0x00);
	const uint8_t r10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	fixture_assert_sense(run(f, r10, 10), SK_NOT_READY, 0x3a, 0x00);
	const uint8_t toc[10] = {0x43, 0, 0, 0, 0, 0, 0, 0, 100, 0};
	fixture_assert_sense(run(f, toc, 10), SK_NOT_READY, 0x3a, 0x00);
	const uint8_t cap[10] = {0x25};
	fixture_assert_sense(run(f, cap, 10), SK_NOT_READY, 0x3a, 0x00);
	assert_int_equal(ua_dev_record.calls, 0); /* ejecting is no medium change UA */
	fixture_assert_good(run(f, load, 6));
	assert_int_equal(ua_dev_record.calls, 1);
	assert_ptr_equal(ua_dev_record.dev, &f->dev);
	assert_null(ua_dev_record.except); /* every nexus, this one too */
	assert_int_equal(ua_dev_record.asc, 0x28);
	assert_int_equal(ua_dev_record.ascq, 0x00);
	fixture_assert_good(run(f, tur, 6));
	/* Loading a loaded drive changes nothing. */
	fixture_assert_good(run(f, load, 6));
	assert_int_equal(ua_dev_record.calls, 1);
	/* START without LOEJ, and a power condition, leave the medium. */
	const uint8_t stop[6] = {0x1b, 0, 0, 0, 0x00, 0};
	fixture_assert_good(run(f, stop, 6));
	const uint8_t idle_eject[6] = {0x1b, 0, 0, 0, 0x22, 0};
	fixture_assert_good(run(f, idle_eject, 6));
	fixture_assert_good(run(f, tur, 6));
	/* FL (byte 4 bit 2) is refused. */
	const uint8_t fl[6] = {0x1b, 0, 0, 0, 0x04, 0};
	assert_invalid_field(run(f, fl, 6), 4, 2);
}

static void test_eject_refused_while_prevented(void **state)
{
	struct scsi_fixture *f = *state;
	fixture_assert_good(run(f, prevent, 6));
	fixture_assert_sense(run(f, eject, 6), SK_ILLEGAL_REQUEST, 0x53, 0x02);
	fixture_assert_good(run(f, tur, 6)); /* still loaded */
	fixture_assert_good(run(f, allow, 6));
	fixture_assert_good(run(f, eject, 6));
	fixture_assert_sense(run(f, tur, 6), SK_NOT_READY, 0x3a, 0x00);
	/* PREVENT ALLOW works on an empty drive; a load is never refused. */
	fixture_assert_good(run(f, prevent, 6));
	fixture_assert_good(run(f, load, 6));
	fixture_assert_good(run(f, tur, 6));
	/* PERSISTENT (byte 4 bit 1) is not supported. */
	const uint8_t persistent[6] = {0x1e, 0, 0, 0, 0x02, 0};
	assert_invalid_field(run(f, persistent, 6), 4, 1);
}

/* filename none: no blocks, no medium; a load finds nothing to load and
 * raises no medium change, and is not refused while prevented (it is no
 * removal). */
static void test_empty_drive(void **state)
{
	struct scsi_fixture *f = *state;
	f->dev.nblocks = 0;
	f->dev.size = 0;
	f->dev.medium_present = false;
	fixture_assert_sense(run(f, tur, 6), SK_NOT_READY, 0x3a, 0x00);
	const uint8_t toc[10] = {0x43, 0, 0, 0, 0, 0, 0, 0, 100, 0};
	fixture_assert_sense(run(f, toc, 10), SK_NOT_READY, 0x3a, 0x00);
	fixture_assert_good(run(f, prevent, 6));
	fixture_assert_good(run(f, load, 6));
	assert_int_equal(ua_dev_record.calls, 0);
	fixture_assert_sense(run(f, tur, 6), SK_NOT_READY, 0x3a, 0x00);
	/* INQUIRY still answers: the drive is there, the disc is not. */
	const uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
	struct uscst_cmd *cmd = run(f, inq, 6);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_buf[0], 0x05);
}

static void test_get_configuration_all(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t cdb[10] = {0x46, 0, 0, 0, 0, 0, 0, 0x01, 0, 0};
	struct uscst_cmd *cmd = run(f, cdb, 10);
	fixture_assert_good(cmd);
	/* clang-format off */
	const uint8_t want[60] = {
	    0, 0, 0, 56, 0, 0, 0x00, 0x08,			     /* header: CD-ROM (2 MB) */
	    0x00, 0x00, 0x03, 8, 0x00, 0x10, 0, 0, 0x00, 0x08, 1, 0, /* profile list */
	    0x00, 0x01, 0x0b, 8, 0, 0, 0, 1, 0, 0, 0, 0,	     /* core v2, SCSI */
	    0x00, 0x02, 0x07, 4, 0, 0, 0, 0,			     /* morphing v1, polled */
	    0x00, 0x03, 0x0b, 4, 0x39, 0, 0, 0,			     /* removable v2: tray */
	    0x00, 0x10, 0x01, 8, 0, 0, 0x08, 0x00, 0, 1, 0, 0,	     /* random readable */
	};
	/* clang-format on */
	assert_int_equal(cmd->in_len, 60);
	assert_memory_equal(cmd->in_buf, want, 60);
}

static void test_get_configuration_rt_and_dvd(void **state)
{
	struct scsi_fixture *f = *state;
	/* RT 10b: the one feature; a feature the drive lacks: header only. */
	const uint8_t one[10] = {0x46, 0x02, 0x00, 0x10, 0, 0, 0, 0, 100, 0};
	struct uscst_cmd *cmd = run(f, one, 10);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 20);
	assert_int_equal(get_be32(cmd->in_buf), 16);
	assert_int_equal(get_be16(cmd->in_buf + 8), 0x0010);
	const uint8_t none[10] = {0x46, 0x02, 0x00, 0x1e, 0, 0, 0, 0, 100, 0};
	cmd = run(f, none, 10);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 8);
	assert_int_equal(get_be32(cmd->in_buf), 4);
	/* RT 00b from feature 3 on: removable medium and random readable. */
	const uint8_t from3[10] = {0x46, 0x00, 0x00, 0x03, 0, 0, 0, 0, 100, 0};
	cmd = run(f, from3, 10);
	assert_int_equal(cmd->in_len, 8 + 8 + 12);
	assert_int_equal(get_be16(cmd->in_buf + 8), 0x0003);
	/* RT 11b is reserved. */
	const uint8_t rt3[10] = {0x46, 0x03, 0, 0, 0, 0, 0, 0, 100, 0};
	assert_invalid_field(run(f, rt3, 10), 1, 1);
	const uint8_t resv[10] = {0x46, 0x04, 0, 0, 0, 0, 0, 0, 100, 0};
	assert_invalid_field(run(f, resv, 10), 1, 2);
	/* ALLOCATION LENGTH cuts, DATA LENGTH does not change. */
	const uint8_t short8[10] = {0x46, 0, 0, 0, 0, 0, 0, 0, 8, 0};
	cmd = run(f, short8, 10);
	assert_int_equal(cmd->in_len, 8);
	assert_int_equal(get_be32(cmd->in_buf), 56);
	/* More than 700 MiB: a DVD, blocking 16. */
	f->dev.nblocks = (701u << 20) / BS;
	const uint8_t all[10] = {0x46, 0, 0, 0, 0, 0, 0, 0, 100, 0};
	cmd = run(f, all, 10);
	assert_int_equal(get_be16(cmd->in_buf + 6), 0x0010);
	assert_int_equal(cmd->in_buf[14], 1); /* DVD-ROM CURRENTP */
	assert_int_equal(cmd->in_buf[18], 0); /* CD-ROM not */
	assert_int_equal(get_be16(cmd->in_buf + 56), 16);
}

/* No medium: no current profile, RANDOM READABLE not current (RT 01b
 * leaves it out); a pending UA neither fails nor is consumed by it. */
static void test_get_configuration_no_medium_and_ua(void **state)
{
	struct scsi_fixture *f = *state;
	fixture_assert_good(run(f, eject, 6));
	const uint8_t all[10] = {0x46, 0, 0, 0, 0, 0, 0, 0, 100, 0};
	struct uscst_cmd *cmd = run(f, all, 10);
	fixture_assert_good(cmd);
	assert_int_equal(get_be16(cmd->in_buf + 6), 0);
	assert_int_equal(cmd->in_buf[50], 0x00); /* random readable: not current */
	const uint8_t cur[10] = {0x46, 1, 0, 0, 0, 0, 0, 0, 100, 0};
	cmd = run(f, cur, 10);
	assert_int_equal(cmd->in_len, 48);
	ua_establish(sa, 0, 0x28, 0x00);
	fixture_assert_good(run(f, all, 10));
	fixture_assert_sense(run(f, tur, 6), SK_UNIT_ATTENTION, 0x28, 0x00);
}

static const uint8_t gesn_media[10] = {0x4a, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0};

/* Media events: none at first, MEDIA REMOVAL after an eject, NEW MEDIA
 * after a load, each reported once to each nexus; the status bits follow
 * the tray. */
static void test_gesn_media_events(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = run(f, gesn_media, 10);
	fixture_assert_good(cmd);
	const uint8_t idle[8] = {0, 6, 0x04, 0x10, 0x00, 0x02, 0, 0};
	assert_int_equal(cmd->in_len, 8);
	assert_memory_equal(cmd->in_buf, idle, 8);
	fixture_assert_good(run(f, eject, 6));
	cmd = run(f, gesn_media, 10);
	const uint8_t removed[8] = {0, 6, 0x04, 0x10, 0x03, 0x01, 0, 0};
	assert_memory_equal(cmd->in_buf, removed, 8);
	cmd = run(f, gesn_media, 10);
	assert_int_equal(cmd->in_buf[4], 0x00); /* taken */
	assert_int_equal(cmd->in_buf[5], 0x01);
	/* B has not polled: the removal is still its to take. */
	cmd = run_on(f, sb, gesn_media, 10);
	assert_memory_equal(cmd->in_buf, removed, 8);
	fixture_assert_good(run(f, load, 6));
	/* A UA is pending (recorded by the double for every nexus; here
	 * queued by hand): GESN still answers and leaves it. */
	ua_establish(sa, 0, 0x28, 0x00);
	cmd = run(f, gesn_media, 10);
	fixture_assert_good(cmd);
	const uint8_t loaded[8] = {0, 6, 0x04, 0x10, 0x02, 0x02, 0, 0};
	assert_memory_equal(cmd->in_buf, loaded, 8);
	fixture_assert_sense(run(f, tur, 6), SK_UNIT_ATTENTION, 0x28, 0x00);
	cmd = run_on(f, sb, gesn_media, 10);
	assert_memory_equal(cmd->in_buf, loaded, 8);
	cmd = run_on(f, sb, gesn_media, 10);
	assert_int_equal(cmd->in_buf[4], 0x00);
}

/* Two changes before B polls: B gets the newer one only; a lost nexus's
 * pending event goes with it. */
static void test_gesn_latest_event_and_nexus_loss(void **state)
{
	struct scsi_fixture *f = *state;
	fixture_assert_good(run(f, eject, 6));
	fixture_assert_good(run(f, load, 6));
	struct uscst_cmd *cmd = run_on(f, sb, gesn_media, 10);
	assert_int_equal(cmd->in_buf[4], 0x02);
	cmd = run_on(f, sb, gesn_media, 10);
	assert_int_equal(cmd->in_buf[4], 0x00);
	/* The administrator empties the drive (cmdset medium_changed). */
	f->dev.medium_present = false;
	f->dev.cmdset->medium_changed(&f->dev, false);
	struct mmc_dev *m = mmc_dev(&f->dev);
	assert_int_equal(m->npending, 2);
	f->dev.cmdset->nexus_lost(&f->dev, sb);
	assert_int_equal(m->npending, 1);
	cmd = run(f, gesn_media, 10);
	assert_int_equal(cmd->in_buf[4], 0x03);
	assert_int_equal(cmd->in_buf[5], 0x00); /* no medium, tray closed */
	assert_int_equal(m->npending, 0);
	/* An entry of a nexus that ended unheard goes at the next change:
	 * the table holds the nexuses that see the drive, no more. */
	m->pending[0].sess_id = 999999;
	m->pending[0].event = 0x03;
	m->npending = 1;
	f->dev.medium_present = true;
	f->dev.cmdset->medium_changed(&f->dev, true);
	assert_int_equal(m->npending, 2);
	for (unsigned i = 0; i < m->npending; i++) {
		assert_true(m->pending[i].sess_id == sa->id || m->pending[i].sess_id == sb->id);
		assert_int_equal(m->pending[i].event, 0x02);
	}
}

static void test_gesn_fields(void **state)
{
	struct scsi_fixture *f = *state;
	/* Asynchronous (POLLED 0): not supported. */
	const uint8_t async[10] = {0x4a, 0x00, 0, 0, 0x10, 0, 0, 0, 8, 0};
	assert_invalid_field(run(f, async, 10), 1, 0);
	/* Only classes the drive lacks (operational change, power): NEA. */
	const uint8_t other[10] = {0x4a, 0x01, 0, 0, 0x06, 0, 0, 0, 8, 0};
	struct uscst_cmd *cmd = run(f, other, 10);
	fixture_assert_good(cmd);
	const uint8_t nea[4] = {0, 2, 0x80, 0x10};
	assert_int_equal(cmd->in_len, 4);
	assert_memory_equal(cmd->in_buf, nea, 4);
	/* Reserved class bits 0 and 7. */
	const uint8_t r0[10] = {0x4a, 0x01, 0, 0, 0x11, 0, 0, 0, 8, 0};
	assert_invalid_field(run(f, r0, 10), 4, 0);
	const uint8_t r7[10] = {0x4a, 0x01, 0, 0, 0x90, 0, 0, 0, 8, 0};
	assert_invalid_field(run(f, r7, 10), 4, 7);
	/* ALLOCATION LENGTH cuts the answer; the length field stays. */
	const uint8_t hdr[10] = {0x4a, 0x01, 0, 0, 0x10, 0, 0, 0, 4, 0};
	cmd = run(f, hdr, 10);
	assert_int_equal(cmd->in_len, 4);
	assert_int_equal(get_be16(cmd->in_buf), 6);
}

/* ---- READ TOC format 2, READ DISC/TRACK INFORMATION ---- */

static void test_toc_format2_full_toc(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t cdb[10] = {0x43, 0, 2, 0, 0, 0, 0, 0, 100, 0};
	struct uscst_cmd *cmd = run(f, cdb, 10);
	fixture_assert_good(cmd);
	/* clang-format off */
	const uint8_t want[48] = {
	    0, 46, 1, 1,				/* length, sessions 1..1 */
	    1, 0x14, 0, 0xa0, 0, 0, 0, 0, 1, 0x00, 0,	/* A0: first track 1, CD-ROM */
	    1, 0x14, 0, 0xa1, 0, 0, 0, 0, 1, 0, 0,	/* A1: last track 1 */
	    1, 0x14, 0, 0xa2, 0, 0, 0, 0, 0, 15, 25,	/* A2: lead-out 00:15:25 */
	    1, 0x14, 0, 0x01, 0, 0, 0, 0, 0, 2, 0,	/* track 1 at 00:02:00 */
	};
	/* clang-format on */
	assert_int_equal(cmd->in_len, 48);
	assert_memory_equal(cmd->in_buf, want, 48);
	/* MSF makes no difference; session 1 is session 0's answer. */
	const uint8_t msf1[10] = {0x43, 0x02, 2, 0, 0, 0, 1, 0, 100, 0};
	cmd = run(f, msf1, 10);
	fixture_assert_good(cmd);
	assert_memory_equal(cmd->in_buf, want, 48);
	/* No session 2; clipped by ALLOCATION LENGTH. */
	const uint8_t s2[10] = {0x43, 0, 2, 0, 0, 0, 2, 0, 100, 0};
	assert_invalid_field(run(f, s2, 10), 6, 7);
	const uint8_t clip[10] = {0x43, 0, 2, 0, 0, 0, 0, 0, 15, 0};
	cmd = run(f, clip, 10);
	assert_int_equal(cmd->in_len, 15);
	assert_int_equal(get_be16(cmd->in_buf), 46);
	/* A DVD has no lead-in, no Full TOC. */
	f->dev.nblocks = (701u << 20) / BS;
	assert_invalid_field(run(f, cdb, 10), 2, 3);
	/* No medium: NOT READY first. */
	fixture_assert_good(run(f, eject, 6));
	fixture_assert_sense(run(f, cdb, 10), SK_NOT_READY, 0x3a, 0x00);
}

static void test_read_disc_information(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t cdb[10] = {0x51, 0, 0, 0, 0, 0, 0, 0, 100, 0};
	struct uscst_cmd *cmd = run(f, cdb, 10);
	fixture_assert_good(cmd);
	/* clang-format off */
	const uint8_t want[34] = {
	    0, 32, 0x0e, 1, 1, 1, 1, 0x20,	/* complete, finalized; 1 session, track 1 */
	    0x00, 0, 0, 0, 0, 0, 0, 0,		/* CD-ROM; no disc id */
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* no next session */
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* no bar code, no OPC tables */
	};
	/* clang-format on */
	assert_int_equal(cmd->in_len, 34);
	assert_memory_equal(cmd->in_buf, want, 34);
	const uint8_t clip[10] = {0x51, 0, 0, 0, 0, 0, 0, 0, 2, 0};
	cmd = run(f, clip, 10);
	assert_int_equal(cmd->in_len, 2);
	/* Track resources, POW resources: writable media only; 011b..111b
	 * reserved. */
	for (uint8_t type = 1; type <= 7; type++) {
		const uint8_t bad[10] = {0x51, type, 0, 0, 0, 0, 0, 0, 100, 0};
		assert_invalid_field(run(f, bad, 10), 1, 2);
	}
	const uint8_t r1[10] = {0x51, 0x08, 0, 0, 0, 0, 0, 0, 100, 0};
	assert_invalid_field(run(f, r1, 10), 1, 3);
	const uint8_t r6[10] = {0x51, 0, 0, 0, 0, 0, 0x01, 0, 100, 0};
	assert_invalid_field(run(f, r6, 10), 6, 0);
	fixture_assert_good(run(f, eject, 6));
	fixture_assert_sense(run(f, cdb, 10), SK_NOT_READY, 0x3a, 0x00);
}

/* READ TRACK INFORMATION with ADDRESS/NUMBER TYPE type and field n. */
static struct uscst_cmd *track_info(struct scsi_fixture *f, uint8_t b1, uint32_t n, uint16_t alloc)
{
	uint8_t cdb[10] = {0x52, b1};
	put_be32(cdb + 2, n);
	put_be16(cdb + 7, alloc);
	return run(f, cdb, 10);
}

static void assert_track1(const struct uscst_cmd *cmd, uint32_t blocking)
{
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 48);
	uint8_t want[48] = {0, 46, 1, 1, 0, 0x04, 0x01, 0};
	put_be32(want + 20, blocking);
	put_be32(want + 24, NBLOCKS);
	assert_memory_equal(cmd->in_buf, want, 48);
}

static void test_read_track_information(void **state)
{
	struct scsi_fixture *f = *state;
	/* 00b: any LBA of the track; the lead-out is none. */
	assert_track1(track_info(f, 0, 0, 100), 0);
	assert_track1(track_info(f, 0, NBLOCKS - 1, 100), 0);
	fixture_assert_sense(track_info(f, 0, NBLOCKS, 100), SK_ILLEGAL_REQUEST, 0x21, 0x00);
	fixture_assert_sense(track_info(f, 0, 0xffffffffu, 100), SK_ILLEGAL_REQUEST, 0x21, 0x00);
	/* 01b: track 1 only; 0 (lead-in), 2, FFh (invisible) are not. */
	assert_track1(track_info(f, 1, 1, 100), 0);
	assert_invalid_field(track_info(f, 1, 0, 100), 2, 7);
	assert_invalid_field(track_info(f, 1, 2, 100), 2, 7);
	assert_invalid_field(track_info(f, 1, 0xff, 100), 2, 7);
	/* 10b: session 1's first track. */
	assert_track1(track_info(f, 2, 1, 100), 0);
	assert_invalid_field(track_info(f, 2, 2, 100), 2, 7);
	/* 11b reserved; OPEN: a finalized disc has no open track. */
	assert_invalid_field(track_info(f, 3, 1, 100), 1, 1);
	assert_invalid_field(track_info(f, 0x05, 1, 100), 1, 2);
	assert_invalid_field(track_info(f, 0x08, 1, 100), 1, 3);
	/* ALLOCATION LENGTH cuts; the length field stays. */
	struct uscst_cmd *cmd = track_info(f, 1, 1, 4);
	assert_int_equal(cmd->in_len, 4);
	assert_int_equal(get_be16(cmd->in_buf), 46);
	/* A DVD: BLOCKING FACTOR 16, the size in blocks. */
	f->dev.nblocks = (701u << 20) / BS;
	cmd = track_info(f, 1, 1, 100);
	fixture_assert_good(cmd);
	assert_int_equal(get_be32(cmd->in_buf + 20), 16);
	assert_int_equal(get_be32(cmd->in_buf + 24), (701u << 20) / BS);
	f->dev.nblocks = NBLOCKS;
	fixture_assert_good(run(f, eject, 6));
	fixture_assert_sense(track_info(f, 1, 1, 100), SK_NOT_READY, 0x3a, 0x00);
}

/* ---- MODE SENSE page 2Ah, MECHANISM STATUS ---- */

static struct uscst_cmd *mode_sense10(struct scsi_fixture *f, uint8_t b1, uint8_t b2, uint8_t sub,
				      uint16_t alloc)
{
	uint8_t cdb[10] = {0x5a, b1, b2, sub};
	put_be16(cdb + 7, alloc);
	return run(f, cdb, 10);
}

static void test_mode_sense_capabilities(void **state)
{
	struct scsi_fixture *f = *state;
	/* clang-format off */
	uint8_t want[40] = {
	    0, 38, 0, 0, 0, 0, 0, 0,		/* header: no block descriptor */
	    0x2a, 30, 0x08, 0, 0, 0, 0x29, 0,	/* reads DVD-ROM; tray, eject, lock */
	};
	/* clang-format on */
	struct uscst_cmd *cmd = mode_sense10(f, 0, 0x2a, 0, 100);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 40);
	assert_memory_equal(cmd->in_buf, want, 40);
	/* All pages, with DBD and LLBAA (no block descriptors anyway). */
	cmd = mode_sense10(f, 0x18, 0x3f, 0xff, 100);
	fixture_assert_good(cmd);
	assert_memory_equal(cmd->in_buf, want, 40);
	/* LOCK STATE follows PREVENT in the current values only. */
	fixture_assert_good(run(f, prevent, 6));
	cmd = mode_sense10(f, 0, 0x2a, 0, 100);
	assert_int_equal(cmd->in_buf[14], 0x2b);
	cmd = mode_sense10(f, 0, 0x80 | 0x2a, 0, 100); /* default */
	assert_int_equal(cmd->in_buf[14], 0x29);
	/* Changeable: nothing. */
	cmd = mode_sense10(f, 0, 0x40 | 0x3f, 0, 100);
	fixture_assert_good(cmd);
	uint8_t zero[40] = {0, 38, 0, 0, 0, 0, 0, 0, 0x2a, 30};
	assert_memory_equal(cmd->in_buf, zero, 40);
	/* MODE SENSE(6): the same page after a 4-byte header. */
	const uint8_t ms6[6] = {0x1a, 0, 0x2a, 0, 255, 0};
	cmd = run(f, ms6, 6);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_len, 36);
	assert_int_equal(cmd->in_buf[0], 35);
	assert_int_equal(cmd->in_buf[3], 0);
	assert_int_equal(cmd->in_buf[4], 0x2a);
	/* ALLOCATION LENGTH cuts, MODE DATA LENGTH stays. */
	cmd = mode_sense10(f, 0, 0x2a, 0, 2);
	assert_int_equal(cmd->in_len, 2);
	assert_int_equal(get_be16(cmd->in_buf), 38);
	/* Needs no medium. */
	fixture_assert_good(run(f, allow, 6));
	fixture_assert_good(run(f, eject, 6));
	fixture_assert_good(mode_sense10(f, 0, 0x2a, 0, 100));
}

static void test_mode_sense_bad_fields(void **state)
{
	struct scsi_fixture *f = *state;
	/* Saved values: nothing can be saved. */
	fixture_assert_sense(mode_sense10(f, 0, 0xc0 | 0x2a, 0, 100), SK_ILLEGAL_REQUEST, 0x39,
			     0x00);
	/* Pages the drive lacks: the disk's caching and control pages. */
	assert_invalid_field(mode_sense10(f, 0, 0x08, 0, 100), 2, 5);
	assert_invalid_field(mode_sense10(f, 0, 0x0a, 0, 100), 2, 5);
	/* Subpages: only 00h and FFh. */
	assert_invalid_field(mode_sense10(f, 0, 0x2a, 0x01, 100), 3, -1);
	/* Reserved bits: byte 1 of (10) but LLBAA/DBD; bytes 4..6. */
	assert_invalid_field(mode_sense10(f, 0x01, 0x2a, 0, 100), 1, 0);
	const uint8_t r4[10] = {0x5a, 0, 0x2a, 0, 0x01, 0, 0, 0, 100, 0};
	assert_invalid_field(run(f, r4, 10), 4, 0);
	const uint8_t llbaa6[6] = {0x1a, 0x10, 0x2a, 0, 255, 0};
	assert_invalid_field(run(f, llbaa6, 6), 1, 4);
	/* MODE SELECT is no command here. */
	const uint8_t msel6[6] = {0x15, 0x10, 0, 0, 0, 0};
	fixture_assert_sense(run(f, msel6, 6), SK_ILLEGAL_REQUEST, 0x20, 0x00);
}

static void test_mechanism_status(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t cdb[12] = {0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0};
	struct uscst_cmd *cmd = run(f, cdb, 12);
	fixture_assert_good(cmd);
	const uint8_t closed[8] = {0};
	assert_int_equal(cmd->in_len, 8);
	assert_memory_equal(cmd->in_buf, closed, 8);
	/* Ejected: DOOR OPEN; no medium needed to answer. */
	fixture_assert_good(run(f, eject, 6));
	cmd = run(f, cdb, 12);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_buf[1], 0x10);
	fixture_assert_good(run(f, load, 6));
	cmd = run(f, cdb, 12);
	assert_int_equal(cmd->in_buf[1], 0x00);
	/* The administrator loads a medium: the tray closes. */
	fixture_assert_good(run(f, eject, 6));
	f->dev.medium_present = true;
	f->dev.cmdset->medium_changed(&f->dev, true);
	cmd = run(f, cdb, 12);
	assert_int_equal(cmd->in_buf[1], 0x00);
	/* ALLOCATION LENGTH cuts; every other byte is reserved. */
	const uint8_t four[12] = {0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0};
	cmd = run(f, four, 12);
	assert_int_equal(cmd->in_len, 4);
	for (unsigned byte = 1; byte < 11; byte++) {
		if (byte == 8 || byte == 9)
			continue;
		uint8_t bad[12] = {0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0};
		bad[byte] = 0x01;
		assert_invalid_field(run(f, bad, 12), byte, 0);
	}
}

/* ---- REPORT SUPPORTED OPERATION CODES from the MMC table ---- */

static void test_report_supported_opcodes(void **state)
{
	struct scsi_fixture *f = *state;
	const uint8_t all[12] = {0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0};
	struct uscst_cmd *cmd = run(f, all, 12);
	fixture_assert_good(cmd);
	uint32_t len = get_be32(cmd->in_buf);
	/* Not REPORT / SET TARGET PORT GROUPS: the drive is in no device group. */
	assert_int_equal(len, 8 * (scsi_mmc_opcodes_count - 2));
	bool seen[256] = {false};
	for (uint32_t off = 4; off < 4 + len; off += 8)
		seen[cmd->in_buf[off]] = true;
	const uint8_t want[] = {0x1a, 0x43, 0x51, 0x52, 0x5a, 0xa3, 0xbd, 0x4a, 0x46, 0x28};
	for (size_t i = 0; i < sizeof(want); i++)
		assert_true(seen[want[i]]);
	assert_false(seen[0x2a]); /* no WRITE(10) */
	assert_false(seen[0x15]); /* no MODE SELECT */
	/* One command: READ TRACK INFORMATION and its usage data. */
	const uint8_t one[12] = {0xa3, 0x0c, 0x01, 0x52, 0, 0, 0, 0, 0, 100, 0, 0};
	cmd = run(f, one, 12);
	fixture_assert_good(cmd);
	const uint8_t usage[14] = {0,	 0x03, 0,    10, 0x52, 0x07, 0xff,
				   0xff, 0xff, 0xff, 0,	 0xff, 0xff, 0};
	assert_int_equal(cmd->in_len, 14);
	assert_memory_equal(cmd->in_buf, usage, 14);
	/* WRITE(10): not supported; RSOC itself with its service action. */
	const uint8_t w10[12] = {0xa3, 0x0c, 0x01, 0x2a, 0, 0, 0, 0, 0, 100, 0, 0};
	cmd = run(f, w10, 12);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_buf[1] & 0x07, 0x01);
	const uint8_t self[12] = {0xa3, 0x0c, 0x02, 0xa3, 0, 0x0c, 0, 0, 0, 100, 0, 0};
	cmd = run(f, self, 12);
	fixture_assert_good(cmd);
	assert_int_equal(cmd->in_buf[1] & 0x07, 0x03);
	/* MECHANISM STATUS has no service action: option 2 is refused. */
	const uint8_t mech_sa[12] = {0xa3, 0x0c, 0x02, 0xbd, 0, 0, 0, 0, 0, 100, 0, 0};
	assert_invalid_field(run(f, mech_sa, 12), 3, -1);
	/* Another MAINTENANCE IN service action is unknown to the drive. */
	const uint8_t rstmf[12] = {0xa3, 0x0d, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0};
	assert_invalid_field(run(f, rstmf, 12), 1, 4);
}

/* A READ that passed its medium check just before the disc was taken out
 * meets 0 blocks at its range check: NOT READY, MEDIUM NOT PRESENT, not
 * LOGICAL BLOCK ADDRESS OUT OF RANGE (seen in vcdrom.sh's reads under
 * swaps). */
static void test_range_check_after_removal(void **state)
{
	struct scsi_fixture *f = *state;
	struct uscst_cmd *cmd = &f->cmd;
	const uint8_t r10[10] = {0x28, 0, 0, 0, 0x01, 0x2c, 0, 0, 3, 0};
	uscst_cmd_release(cmd);
	fixture_cmd_init(cmd, sa, 0, r10, 10, count_done);
	f->dev.cmdset->decode(cmd);
	atomic_store(&f->dev.medium_present, false);
	assert_false(sbc_check_lba_range_n(cmd, 0, 300, 3));
	fixture_assert_sense(cmd, SK_NOT_READY, 0x3a, 0x00);
	atomic_store(&f->dev.medium_present, true);
	uscst_cmd_release(cmd);
	fixture_cmd_init(cmd, sa, 0, r10, 10, count_done);
	f->dev.cmdset->decode(cmd);
	assert_false(sbc_check_lba_range_n(cmd, 100, 300, 3));
	fixture_assert_sense(cmd, SK_ILLEGAL_REQUEST, 0x21, 0x00);
	/* The size was read while the drive was empty, and the next disc is
	 * in by the time the sense is chosen: the command met no medium. */
	uscst_cmd_release(cmd);
	fixture_cmd_init(cmd, sa, 0, r10, 10, count_done);
	f->dev.cmdset->decode(cmd);
	assert_false(sbc_check_lba_range_n(cmd, 0, 300, 3));
	fixture_assert_sense(cmd, SK_NOT_READY, 0x3a, 0x00);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_inquiry_cdrom_removable),
	    T(test_inquiry_no_block_vpd_pages),
	    T(test_read_capacity_2048),
	    T(test_read10_read12),
	    T(test_range_check_after_removal),
	    T(test_writes_are_unknown_opcodes),
	    T(test_toc_format0_lba),
	    T(test_toc_format0_msf_and_track),
	    T(test_toc_format1_and_bad_formats),
	    T(test_eject_load_unit_attention),
	    T(test_eject_refused_while_prevented),
	    T(test_empty_drive),
	    T(test_get_configuration_all),
	    T(test_get_configuration_rt_and_dvd),
	    T(test_get_configuration_no_medium_and_ua),
	    T(test_gesn_media_events),
	    T(test_gesn_latest_event_and_nexus_loss),
	    T(test_gesn_fields),
	    T(test_toc_format2_full_toc),
	    T(test_read_disc_information),
	    T(test_read_track_information),
	    T(test_mode_sense_capabilities),
	    T(test_mode_sense_bad_fields),
	    T(test_mechanism_status),
	    T(test_report_supported_opcodes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
