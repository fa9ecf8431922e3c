/*
 * libFuzzer target for the CDB parsing of the removable-medium command
 * sets: MMC (vcdrom), SSC (vtape) and SMC (vchanger), as fuzz_cdb.c does
 * for the disk.  Up to four commands per input go through
 * uscst_cmd_decode() and uscst_cmd_execute(), so that state one command
 * sets (MODE SELECT's block length, a position, a LOAD UNLOAD, a MOVE
 * MEDIUM) is there for the next.
 *
 * MMC and SSC devices are rebuilt for every input over in-memory media
 * whose backend completes synchronously: a 1 MiB disc, and a tape image
 * holding a few records and a filemark (copied afresh, so one input cannot
 * change the next).  The SMC changer is built once (a library directory of
 * three tapes, two drives loaded through a test double), as its state
 * lives in files; its element state carries over between inputs.
 *
 * Input: byte 0 selects the device (bits 0-1: MMC, SSC, SMC, SSC in
 * fixed-block mode), read-only (bit 2), no medium (bit 3), the read-only
 * LUN (bit 4); then per command: 4 bytes of Expected Data Transfer Length
 * (bit 31: a write), 16 bytes of CDB, 2 bytes of Data-Out length, the
 * Data-Out.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uscst/iov.h>

#include "backend/builtin.h"
#include "core/core.h"
#include "core/pr.h"
#include "lib/byteorder.h"
#include "lib/tape_format.h"
#include "scsi/scsi.h"
#include "scsi/smc.h"
#include "scsi/ssc.h"

#define DISC_BYTES (1u << 20)	 /* 512 blocks of 2048 */
#define TAPE_CAPACITY (1u << 20) /* the image: header + capacity */
#define TAPE_BYTES (TAPE_HEADER_SIZE + TAPE_CAPACITY)
#define MAX_EDTL (4u << 20)
#define MAX_CMDS 4

static uint8_t *medium;	    /* what the MMC or SSC backend reads and writes */
static uint64_t medium_len; /* its size */
static uint8_t *tape_seed;  /* the tape image each SSC input starts from */
static unsigned done_calls;

static void mem_submit(struct uscst_device *dev, struct uscst_io *io)
{
	/* Nothing may address beyond the medium. */
	if (io->op != USCST_IO_FLUSH && io->offset + io->len > medium_len)
		__builtin_trap();
	switch (io->op) {
	case USCST_IO_READ:
		uscst_iov_from_buf(io->iov, io->iovcnt, 0, medium + io->offset, io->len);
		break;
	case USCST_IO_WRITE:
		uscst_iov_to_buf(io->iov, io->iovcnt, 0, medium + io->offset, io->len);
		break;
	default:
		break;
	}
	io->result = (int64_t)io->len;
	io->done(io);
}

static const struct uscst_backend_ops mem_ops = {.name = "fuzzmem", .submit = mem_submit};

static void on_done(struct uscst_cmd *cmd) { done_calls++; }

/* ---- the seed tape: DATA 100, DATA 512 x3, FILEMARK, DATA 512, EOD ---- */

static void build_tape(void)
{
	struct tape_header h = {.capacity = TAPE_CAPACITY, .volume_id = 42};
	tape_header_encode(tape_seed, &h);
	static const uint32_t lens[] = {100, 512, 512, 512, 0, 512};
	uint64_t off = TAPE_HEADER_SIZE;
	uint32_t prev = tape_chain_seed(&h);
	uint8_t data[512];
	for (unsigned i = 0; i <= sizeof(lens) / sizeof(lens[0]); i++) {
		bool eod = i == sizeof(lens) / sizeof(lens[0]);
		uint32_t len = eod ? 0 : lens[i];
		for (uint32_t j = 0; j < len; j++)
			data[j] = (uint8_t)(i * 37 + j);
		struct tape_rec r = {.type = eod   ? TAPE_REC_EOD
					     : len ? TAPE_REC_DATA
						   : TAPE_REC_FILEMARK,
				     .seq = i,
				     .len = len,
				     .data_crc = len ? tape_crc(data, len) : 0,
				     .prev_crc = prev,
				     .salt = 0x1000 + i};
		tape_rec_encode(tape_seed + off, &r);
		memcpy(tape_seed + off + TAPE_REC_HDR_SIZE, data, len);
		prev = r.hdr_crc;
		off += tape_rec_size(len);
	}
}

/* ---- the changer: built once ---- */

static struct uscst_device *changer;

static bool double_usable(struct uscst_device *dev, char *why, size_t whylen) { return true; }

static int double_load(struct uscst_device *drive, const char *path, char *err, size_t errlen)
{
	return 0;
}

static bool double_prevented(struct uscst_device *drive) { return false; }

static const struct smc_drive_ops double_ops = {
    .usable = double_usable,
    .load = double_load,
    .removal_prevented = double_prevented,
};

static char lib_dir[] = "/tmp/fuzz_cdb_devices.XXXXXX";

/* The library directory goes with the process (its tapes, the state file). */
static void remove_lib_dir(void)
{
	DIR *d = opendir(lib_dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(lib_dir);
}

static bool build_changer(void)
{
	const char *dir = lib_dir;
	char err[512], path[128];
	if (!mkdtemp(lib_dir))
		return false;
	atexit(remove_lib_dir);
	for (int i = 1; i <= 3; i++) {
		snprintf(path, sizeof(path), "%s/TAPE0%d.img", dir, i);
		FILE *f = fopen(path, "w");
		if (!f)
			return false;
		fputs("tape", f);
		fclose(f);
	}
	const char *names[2] = {"fz_tape0", "fz_tape1"};
	for (int i = 0; i < 2; i++) {
		struct uscst_device *d =
		    uscst_device_create("vdisk_nullio", names[i], err, sizeof(err));
		if (!d || !uscst_device_set_attr(d, "size_mb", "1", err, sizeof(err)) ||
		    uscst_device_open(d, err, sizeof(err)) < 0)
			return false;
	}
	smc_set_drive_ops(&double_ops);
	changer = uscst_device_create("vchanger", "fz_lib", err, sizeof(err));
	return changer && uscst_device_set_attr(changer, "library_dir", dir, err, sizeof(err)) &&
	       uscst_device_set_attr(changer, "drives", "fz_tape0,fz_tape1", err, sizeof(err)) &&
	       uscst_device_set_attr(changer, "slots", "5", err, sizeof(err)) &&
	       uscst_device_set_attr(changer, "ie_slots", "1", err, sizeof(err)) &&
	       uscst_device_open(changer, err, sizeof(err)) == 0 &&
	       uscst_device_attach(changer, err, sizeof(err)) == 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!scsi_register_cmdsets() || uscst_backends_register_builtin() != 0)
		return -1;
	medium = calloc(1, DISC_BYTES > TAPE_BYTES ? DISC_BYTES : TAPE_BYTES);
	tape_seed = calloc(1, TAPE_BYTES);
	if (!medium || !tape_seed || !build_changer())
		return -1;
	build_tape();
	return 0;
}

/* ---- one input ---- */

enum { DEV_MMC, DEV_SSC, DEV_SMC, DEV_SSC_FIXED };

static struct uscst_device *new_device(const struct uscst_cmdset *cs, uint32_t bs, uint64_t bytes,
				       uint8_t sel)
{
	struct uscst_device *dev =
	    calloc(1, USCST_DEVICE_CMDSET_PRIV_OFFSET(0) + cs->dev_priv_size);
	if (!dev)
		return NULL;
	pthread_mutex_init(&dev->lock, NULL);
	strcpy(dev->name, "fuzz0");
	dev->backend = &mem_ops;
	dev->cmdset = cs;
	dev->block_size = bs;
	dev->block_shift = (uint8_t)__builtin_ctz(bs);
	dev->nblocks = bytes / bs;
	dev->size = bytes;
	dev->medium_present = !(sel & 0x08);
	dev->read_only = sel & 0x04;
	strcpy(dev->t10_vend_id, "USCST");
	strcpy(dev->t10_prod_id, "fuzz0");
	strcpy(dev->prod_rev, "0100");
	strcpy(dev->t10_dev_id, "fuzz0");
	strcpy(dev->usn, "f00f");
	dev->naa_id = 0x6001405000000002ull;
	cs->power_on(dev);
	return dev;
}

static void free_device(struct uscst_device *dev)
{
	if (dev->cmdset == &scsi_ssc_cmdset) {
		struct ssc_state *st = ssc_state(dev);
		free(st->objs);
		free(st->k_buf);
		pthread_mutex_destroy(&st->qlock);
		pthread_mutex_destroy(&st->io_lock);
	}
	if (dev->pr)
		pr_state_free(dev->pr);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

static void check_result(const struct uscst_cmd *cmd)
{
	/* The backend is synchronous: every command has completed, once. */
	if (done_calls != 1)
		__builtin_trap();
	if (cmd->in_len > cmd->in_cap || (cmd->in_len && !cmd->in_buf))
		__builtin_trap();
	if (cmd->sense_len > sizeof(cmd->sense))
		__builtin_trap();
	if (cmd->status == 0x02 && cmd->sense_len == 0)
		__builtin_trap(); /* CHECK CONDITION without sense */
	if (cmd->in_len) {
		volatile uint8_t sink = 0;
		for (uint32_t i = 0; i < cmd->in_len; i += 97)
			sink ^= cmd->in_buf[i];
		sink ^= cmd->in_buf[cmd->in_len - 1];
		(void)sink;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 + 20)
		return 0;
	uint8_t sel = data[0];
	unsigned kind = sel & 3;
	struct uscst_device *dev = changer;
	if (kind == DEV_MMC) {
		medium_len = DISC_BYTES;
		for (size_t i = 0; i < DISC_BYTES; i += 2048)
			medium[i] = (uint8_t)(i >> 11);
		dev = new_device(&scsi_mmc_cmdset, 2048, DISC_BYTES, sel);
	} else if (kind != DEV_SMC) {
		medium_len = TAPE_BYTES;
		memcpy(medium, tape_seed, TAPE_BYTES);
		dev = new_device(&scsi_ssc_cmdset, 512, TAPE_CAPACITY, sel);
		if (dev && kind == DEV_SSC_FIXED)
			ssc_state(dev)->block_len = 512;
	}
	if (!dev)
		return 0;

	static struct uscst_lun_map map;
	static struct uscst_lun map_luns[2];
	static struct uscst_target tgt;
	static struct uscst_session sess;
	static struct uscst_cmd cmd;
	memset(&map, 0, sizeof(map));
	memset(&tgt, 0, sizeof(tgt));
	memset(&sess, 0, sizeof(sess));
	memset(map_luns, 0, sizeof(map_luns));
	map.luns = map_luns;
	map.cap = 2;
	map.count = 2;
	map.luns[0].lun = 0;
	map.luns[0].dev = dev;
	map.luns[1].lun = 1;
	map.luns[1].dev = dev;
	map.luns[1].read_only = true;
	strcpy(tgt.name, "iqn.2026-11.org.uscst:fuzz");
	tgt.rel_tgt_id = 1;
	tgt.enabled = true;
	list_init(&tgt.attrs);
	list_init(&tgt.groups);
	tgt.luns = &map;
	sess.tgt = &tgt;
	sess.tpgt = 1;
	sess.rel_port_id = tgt.rel_tgt_id;
	sess.luns = &map;
	sess.id = 1;
	strcpy(sess.initiator_name, "iqn.2026-11.org.uscst:fuzzer");
	strcpy(sess.initiator_port, "iqn.2026-11.org.uscst:fuzzer,i,0x800000000001");
	pthread_mutex_init(&sess.ua_lock, NULL);
	list_init(&sess.uas);

	size_t at = 1;
	for (int n = 0; n < MAX_CMDS && size - at >= 20; n++) {
		uint32_t edtl = get_be32(data + at);
		const uint8_t *cdb = data + at + 4;
		at += 20;
		uint32_t out_avail = 0;
		if (size - at >= 2) {
			out_avail = get_be16(data + at);
			at += 2;
			if (out_avail > size - at)
				out_avail = (uint32_t)(size - at);
		}
		const uint8_t *out = data + at;
		at += out_avail;

		uscst_cmd_init(&cmd, &sess);
		memcpy(cmd.cdb, cdb, 16);
		cmd.cdb_len = 16;
		cmd.lun = (sel >> 4) & 1;
		cmd.tag = (uint64_t)n + 1;
		cmd.task_attr = USCST_TASK_SIMPLE;
		cmd.exp_len = (edtl & 0x7fffffff) % (MAX_EDTL + 1);
		cmd.exp_write = edtl >> 31;
		cmd.exp_read = !cmd.exp_write;
		cmd.done = on_done;
		uscst_cmd_decode(&cmd);
		bool ok = true;
		if (cmd.exp_write) {
			uint32_t want = cmd.exp_len < cmd.out_len ? cmd.exp_len : cmd.out_len;
			ok = uscst_cmd_alloc_out(&cmd, want) != NULL;
			if (ok) {
				uint32_t got = out_avail < want ? out_avail : want;
				memcpy(cmd.out_buf, out, got);
				/* The buffer is not zeroed (uscst_cmd_alloc_out). */
				memset(cmd.out_buf + got, 0, want - got);
			}
		}
		if (ok) {
			done_calls = 0;
			uscst_cmd_execute(&cmd);
			check_result(&cmd);
		}
		uscst_cmd_release(&cmd);
		free(cmd.hctx);
	}
	ua_clear_session(&sess);
	pthread_mutex_destroy(&sess.ua_lock);
	if (dev != changer)
		free_device(dev);
	return 0;
}
