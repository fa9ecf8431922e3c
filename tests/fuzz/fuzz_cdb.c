/*
 * libFuzzer target for the SCSI command path: uscst_cmd_decode() and
 * uscst_cmd_execute() with a fuzzed CDB, fuzzed transport fields and a
 * fuzzed Data-Out buffer, against an in-memory disk whose backend completes
 * synchronously inside submit() (the case where chained handlers most
 * easily go wrong).  The fixture is rebuilt for every input, as
 * tests/unit/test_spc.c does by hand, so one input cannot change the next
 * (mode pages, reservations and unit attentions are per device/session).
 *
 * Input: byte 0 selects block size / LUN / read-only / medium / direction
 * bits, bytes 1..4 the initiator's Expected Data Transfer Length (clamped),
 * bytes 5..20 the CDB (16 bytes; up to 32 with selector bit 0x80), the rest
 * is the Data-Out the initiator sent.  The disk is in an ALUA device group
 * (explicit ALUA) whose target port group holding the session's target is
 * put, for each input, in the state byte 1's low bits choose (so REPORT /
 * SET TARGET PORT GROUPS and the state rules of dispatch are fuzzed too).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uscst/iov.h>

#include "core/alua.h"
#include "core/core.h"
#include "core/pr.h"
#include "lib/byteorder.h"
#include "scsi/scsi.h"

#define DISK_BYTES (1u << 20) /* 2048 blocks of 512 or 256 of 4096 */
#define MAX_EDTL (4u << 20)   /* the iSCSI layer allows 64 MiB; keep runs fast */

static uint8_t *disk;
static unsigned done_calls;

static void mem_submit(struct uscst_device *dev, struct uscst_io *io)
{
	/* Handlers must never address beyond the device. */
	if (io->op != USCST_IO_FLUSH && io->offset + io->len > dev->size)
		__builtin_trap();
	switch (io->op) {
	case USCST_IO_READ:
		uscst_iov_from_buf(io->iov, io->iovcnt, 0, disk + io->offset, io->len);
		break;
	case USCST_IO_WRITE:
		uscst_iov_to_buf(io->iov, io->iovcnt, 0, disk + io->offset, io->len);
		break;
	case USCST_IO_DISCARD:
	case USCST_IO_WRITE_ZEROES:
		memset(disk + io->offset, 0, io->len);
		break;
	default:
		break;
	}
	io->result = (int64_t)io->len;
	io->done(io);
}

static int mem_lba_status(struct uscst_device *dev, uint64_t offset, uint64_t *run_len,
			  bool *mapped)
{
	*mapped = offset >= 65536;
	*run_len = offset < 65536 ? 65536 - offset : dev->size - offset;
	return 0;
}

static const struct uscst_backend_ops mem_ops = {
    .name = "fuzzmem",
    .submit = mem_submit,
    .lba_status = mem_lba_status,
};

static void on_done(struct uscst_cmd *cmd) { done_calls++; }

/* Device group "fdg": the disk; group "a" (1) the fuzzed session's
 * target, group "b" (2) another daemon's target. */
static int alua_init(void)
{
	char err[256];
	struct uscst_alua_model *m = uscst_alua_model_new();
	struct uscst_alua_dg *dg = m ? uscst_alua_add_dg(m, "fdg", err, sizeof(err)) : NULL;
	if (!dg || !uscst_alua_dg_add_device(dg, "fuzz0", err, sizeof(err)))
		return -1;
	struct uscst_alua_tg *a =
	    uscst_alua_dg_add_tg(dg, "a", 1, USCST_ALUA_ACTIVE_OPTIMIZED, true, err, sizeof(err));
	if (!a || !uscst_alua_tg_add_port(a, "iqn.2026-11.org.uscst:fuzz", 1, err, sizeof(err)))
		return -1;
	struct uscst_alua_tg *b =
	    uscst_alua_dg_add_tg(dg, "b", 2, USCST_ALUA_STANDBY, false, err, sizeof(err));
	if (!b || !uscst_alua_tg_add_port(b, "iqn.2026-11.org.uscst:peer", 2, err, sizeof(err)))
		return -1;
	return uscst_alua_publish(m, false, err, sizeof(err));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	disk = calloc(1, DISK_BYTES);
	return disk && alua_init() == 0 ? 0 : -1;
}

static const char *const alua_states[8] = {
    "active",  "nonoptimized",	"standby", "unavailable",
    "offline", "transitioning", "active",  "standby",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 21)
		return 0;
	uint8_t sel = data[0];
	uint32_t exp_len = get_be32(data + 1) % (MAX_EDTL + 1);
	unsigned cdb_len = (sel & 0x80) && size >= 37 ? 32 : 16;
	const uint8_t *cdb = data + 5;
	const uint8_t *out = data + 5 + cdb_len;
	size_t out_avail = size - 5 - cdb_len;

	static struct uscst_device dev;
	static struct uscst_lun_map map;
	static struct uscst_lun map_luns[2];
	static struct uscst_target tgt;
	static struct uscst_session sess;
	static struct uscst_cmd cmd;
	memset(&dev, 0, sizeof(dev));
	memset(&map, 0, sizeof(map));
	memset(&tgt, 0, sizeof(tgt));
	memset(&sess, 0, sizeof(sess));

	/* Commands to an unmapped LUN go to the default command set. */
	scsi_register_cmdsets();
	uint32_t bs = (sel & 1) ? 4096 : 512;
	pthread_mutex_init(&dev.lock, NULL);
	strcpy(dev.name, "fuzz0");
	dev.backend = &mem_ops;
	dev.cmdset = &scsi_sbc_cmdset;
	dev.block_size = bs;
	dev.block_shift = bs == 4096 ? 12 : 9;
	dev.nblocks = DISK_BYTES / bs;
	dev.size = DISK_BYTES;
	dev.medium_present = !(sel & 0x08);
	dev.read_only = sel & 0x04;
	dev.wce = true;
	atomic_init(&dev.refs, 1); /* a SANITIZE takes and drops one */
	dev.thin_provisioned = true;
	dev.discard_ok = true;
	dev.removable = sel & 0x40;
	dev.expl_alua = true;
	/* Every input starts from its own states (an STPG of the last one
	 * changed them). */
	char err[256];
	uscst_alua_set_tg("fdg", "a", alua_states[data[1] & 7], 1, err, sizeof(err));
	uscst_alua_set_tg("fdg", "b", "standby", 0, err, sizeof(err));
	strcpy(dev.t10_vend_id, "USCST");
	strcpy(dev.t10_prod_id, "fuzz0");
	strcpy(dev.prod_rev, "0100");
	strcpy(dev.t10_dev_id, "fuzz0");
	strcpy(dev.usn, "f00f");
	dev.naa_id = 0x6001405000000001ull;
	memset(map_luns, 0, sizeof(map_luns));
	map.luns = map_luns;
	map.cap = 2;
	map.count = 2;
	map.luns[0].lun = 0;
	map.luns[0].dev = &dev;
	map.luns[1].lun = 1;
	map.luns[1].dev = &dev;
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

	uscst_cmd_init(&cmd, &sess);
	memcpy(cmd.cdb, cdb, cdb_len);
	cmd.cdb_len = (uint16_t)cdb_len;
	cmd.lun = (sel & 0x30) == 0x30 ? 7 : (sel >> 4) & 1; /* LUN 7 is not mapped */
	cmd.tag = 1;
	cmd.task_attr = USCST_TASK_SIMPLE;
	cmd.exp_len = exp_len;
	cmd.exp_write = sel & 0x02;
	cmd.exp_read = !cmd.exp_write;
	cmd.done = on_done;

	uscst_cmd_decode(&cmd);
	if (cmd.exp_write) {
		/* What the iSCSI layer does: min(EDTL, what the CDB wants) bytes,
		 * of which the initiator may have sent fewer (zero-filled). */
		uint32_t want = cmd.exp_len < cmd.out_len ? cmd.exp_len : cmd.out_len;
		if (!uscst_cmd_alloc_out(&cmd, want))
			goto out;
		uint32_t got = out_avail < want ? out_avail : want;
		memcpy(cmd.out_buf, out, got);
		/* The buffer is not zeroed (uscst_cmd_alloc_out). */
		memset(cmd.out_buf + got, 0, want - got);
	}
	done_calls = 0;
	uscst_cmd_execute(&cmd);
	/* The backend is synchronous, so every command has completed by now,
	 * exactly once. */
	if (done_calls != 1)
		__builtin_trap();
	if (cmd.in_len > cmd.in_cap || (cmd.in_len && !cmd.in_buf))
		__builtin_trap();
	if (cmd.sense_len > sizeof(cmd.sense))
		__builtin_trap();
	if (cmd.status == 0x02 && cmd.sense_len == 0)
		__builtin_trap(); /* CHECK CONDITION without sense */
	if (cmd.in_len) {
		/* The transport sends in_buf[0..min(in_len, exp_len)). */
		volatile uint8_t sink = 0;
		for (uint32_t i = 0; i < cmd.in_len; i += 97)
			sink ^= cmd.in_buf[i];
		sink ^= cmd.in_buf[cmd.in_len - 1];
		(void)sink;
	}
out:
	uscst_cmd_release(&cmd);
	free(cmd.hctx);
	ua_clear_session(&sess);
	if (dev.pr)
		pr_state_free(dev.pr);
	pthread_mutex_destroy(&dev.lock);
	pthread_mutex_destroy(&sess.ua_lock);
	return 0;
}
