/*
 * mini_disk: a uscst handler plugin that receives whole commands
 * (include/uscst/handler.h, mode b): a small disk in memory that answers
 * its SCSI commands itself.  What the core keeps for every shared device
 * (REPORT LUNS, REQUEST SENSE, reservations, unit attentions, task
 * management) never reaches it; everything else does, and everything it
 * does not know gets INVALID COMMAND OPERATION CODE.
 *
 *     HANDLER mini_disk {
 *             plugin /path/to/mini_disk.so
 *             DEVICE mini0 {
 *                     size_mb 8           # the core's size or size_mb: required
 *             }
 *     }
 *
 * Commands: TEST UNIT READY, INQUIRY (standard data, VPD pages 00h, 80h
 * and 83h), READ CAPACITY (10) and (16), READ (10), WRITE (10), SYNCHRONIZE
 * CACHE (10), each with its CDB checked; 512-byte blocks.  Commands
 * complete inline, on the reactor thread (a handler with threads of its
 * own would use host->async_begin_cmd / async_done_cmd).
 *
 * Build: cc -std=gnu11 -Iinclude -fPIC -shared -pthread -Wl,-z,defs \
 *           -o mini_disk.so mini_disk.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uscst/handler.h>

#define BS 512u
#define MAX_BYTES (1ull << 32) /* READ CAPACITY (10) and READ (10) stay simple */

static const struct uscst_handler_host *host;

struct mini {
	uint8_t *mem;
	uint64_t blocks;
	pthread_mutex_t lock;
};

static struct mini *mini_of(struct uscst_device *dev) { return host->device_backend_priv(dev); }

static int mini_open(struct uscst_device *dev)
{
	struct mini *m = mini_of(dev);
	uint64_t size = host->device_size(dev);
	if (size < BS || size > MAX_BYTES || host->device_block_size(dev) != BS) {
		host->log(USCST_LOG_ERR, "mini_disk %s: size must be 512 B to 4 GiB, blocks 512",
			  host->device_name(dev));
		return -EINVAL;
	}
	m->blocks = size / BS;
	m->mem = calloc(m->blocks, BS);
	if (!m->mem)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	host->device_set_peripheral_type(dev, 0x00); /* direct access */
	return 0;
}

static void mini_close(struct uscst_device *dev)
{
	struct mini *m = mini_of(dev);
	if (!m->mem)
		return;
	free(m->mem);
	pthread_mutex_destroy(&m->lock);
	m->mem = NULL;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

static void good(struct uscst_scsi_req *req, uint32_t transferred)
{
	req->result = 0;
	req->status = 0x00; /* GOOD */
	req->sense_len = 0;
	req->transferred = transferred;
	req->overflow = 0;
}

/* Data-In of len bytes from buf, cut to what the initiator takes. */
static void data_in(struct uscst_scsi_req *req, const void *buf, uint32_t len)
{
	if (req->dir != USCST_DATA_IN) {
		good(req, 0);
		return;
	}
	uint32_t n = len < req->data_len ? len : req->data_len;
	good(req, (uint32_t)host->iov_from_buf(req->iov, req->iovcnt, 0, buf, n));
}

#define INVALID_FIELD_IN_CDB 0x24, 0x00

static void inquiry(struct uscst_device *dev, struct uscst_scsi_req *req)
{
	const uint8_t *cdb = req->cdb;
	uint8_t buf[64] = {0};
	uint16_t alloc = (uint16_t)(cdb[3] << 8 | cdb[4]);
	if (cdb[1] & 0xfe) { /* reserved bits and the obsolete CMDDT */
		uscst_handler_check_condition(req, 0x05, INVALID_FIELD_IN_CDB);
		return;
	}
	if (!(cdb[1] & 0x01)) {
		if (cdb[2]) { /* PAGE CODE without EVPD */
			uscst_handler_check_condition(req, 0x05, INVALID_FIELD_IN_CDB);
			return;
		}
		buf[2] = 0x06; /* SPC-4 */
		buf[3] = 0x02; /* response data format */
		buf[4] = 36 - 5;
		memcpy(buf + 8, "USCST   ", 8);
		memcpy(buf + 16, "MINI DISK       ", 16);
		memcpy(buf + 32, "0001", 4);
		data_in(req, buf, alloc < 36 ? alloc : 36);
		return;
	}
	const char *name = host->device_name(dev);
	size_t n = strlen(name) > 32 ? 32 : strlen(name);
	buf[1] = cdb[2];
	switch (cdb[2]) {
	case 0x00: /* supported pages */
		buf[3] = 3;
		buf[4] = 0x00;
		buf[5] = 0x80;
		buf[6] = 0x83;
		break;
	case 0x80: /* unit serial number: the device name */
		buf[3] = (uint8_t)n;
		memcpy(buf + 4, name, n);
		break;
	case 0x83:	       /* device identification (mandatory, SPC-4 7.8.6): one
				* T10 vendor ID designator, "USCST   " and the name */
		buf[4] = 0x02; /* code set ASCII */
		buf[5] = 0x01; /* association: the LU; type: T10 vendor ID */
		buf[7] = (uint8_t)(8 + n);
		memcpy(buf + 8, "USCST   ", 8);
		memcpy(buf + 16, name, n);
		buf[3] = (uint8_t)(4 + 8 + n);
		break;
	default:
		uscst_handler_check_condition(req, 0x05, INVALID_FIELD_IN_CDB);
		return;
	}
	uint32_t len = 4u + buf[3];
	data_in(req, buf, alloc < len ? alloc : len);
}

static void read_capacity10(struct mini *m, struct uscst_scsi_req *req)
{
	const uint8_t *cdb = req->cdb;
	/* LBA and PMI are obsolete: zero (SBC-4 5.20) */
	if ((cdb[1] & 0xff) || be32(cdb + 2) || (cdb[8] & 0x01)) {
		uscst_handler_check_condition(req, 0x05, INVALID_FIELD_IN_CDB);
		return;
	}
	uint8_t buf[8];
	put_be(buf, m->blocks - 1, 4);
	put_be(buf + 4, BS, 4);
	data_in(req, buf, sizeof(buf));
}

static void read_capacity16(struct mini *m, struct uscst_scsi_req *req)
{
	const uint8_t *cdb = req->cdb;
	if ((cdb[1] & 0x1f) != 0x10) { /* SERVICE ACTION IN (16): only READ CAPACITY (16) */
		uscst_handler_check_condition(req, 0x05, 0x20, 0x00);
		return;
	}
	uint32_t alloc = be32(cdb + 10);
	uint8_t buf[32] = {0};
	put_be(buf, m->blocks - 1, 8);
	put_be(buf + 8, BS, 4);
	data_in(req, buf, alloc < sizeof(buf) ? alloc : sizeof(buf));
}

/* READ (10) / WRITE (10): the range on the medium, then the data the
 * initiator sent or takes (whole blocks of it). */
static void read_write10(struct mini *m, struct uscst_scsi_req *req, bool write)
{
	const uint8_t *cdb = req->cdb;
	uint64_t lba = be32(cdb + 2);
	uint32_t blocks = (uint32_t)(cdb[7] << 8 | cdb[8]);
	/* RDPROTECT/WRPROTECT (no protection information), the reserved and
	 * obsolete bits; DPO (10h) and FUA (08h) are fine: memory is all. */
	if ((cdb[1] & 0xe7) || (cdb[6] & 0xe0)) {
		uscst_handler_check_condition(req, 0x05, INVALID_FIELD_IN_CDB);
		return;
	}
	if (lba > m->blocks || blocks > m->blocks - lba) {
		uscst_handler_check_condition(req, 0x05, 0x21, 0x00); /* LBA OUT OF RANGE */
		return;
	}
	uint32_t want = blocks * BS;
	uint32_t have =
	    (write ? req->dir == USCST_DATA_OUT : req->dir == USCST_DATA_IN) ? req->data_len : 0;
	/* A WRITE whose data did not all come (a smaller expected length, or
	 * no W flag) is refused: writing part of it and answering GOOD would
	 * lose the rest silently. */
	if (write && have < want) {
		uscst_handler_check_condition(req, 0x05, INVALID_FIELD_IN_CDB);
		return;
	}
	/* A READ into a smaller buffer sends what fits; the rest is the
	 * residual overflow the initiator is told of. */
	uint32_t len = have < want ? have : want;
	pthread_mutex_lock(&m->lock);
	if (write)
		host->iov_to_buf(req->iov, req->iovcnt, 0, m->mem + lba * BS, len);
	else
		host->iov_from_buf(req->iov, req->iovcnt, 0, m->mem + lba * BS, len);
	pthread_mutex_unlock(&m->lock);
	good(req, len);
	req->overflow = want - len;
}

static void test_unit_ready(struct uscst_scsi_req *req)
{
	const uint8_t *cdb = req->cdb;
	if (cdb[1] | cdb[2] | cdb[3] | cdb[4]) /* reserved */
		uscst_handler_check_condition(req, 0x05, INVALID_FIELD_IN_CDB);
	else
		good(req, 0);
}

/* Nothing is cached; the range is still checked (SBC-4 5.29). */
static void synchronize_cache10(struct mini *m, struct uscst_scsi_req *req)
{
	const uint8_t *cdb = req->cdb;
	uint64_t lba = be32(cdb + 2);
	uint32_t blocks = (uint32_t)(cdb[7] << 8 | cdb[8]);
	if ((cdb[1] & 0xf9) || (cdb[6] & 0xe0)) /* all but IMMED; the group number */
		uscst_handler_check_condition(req, 0x05, INVALID_FIELD_IN_CDB);
	else if (lba > m->blocks || blocks > m->blocks - lba)
		uscst_handler_check_condition(req, 0x05, 0x21, 0x00);
	else
		good(req, 0);
}

static void mini_exec(struct uscst_device *dev, struct uscst_scsi_req *req)
{
	struct mini *m = mini_of(dev);
	switch (req->cdb[0]) {
	case 0x00:
		test_unit_ready(req);
		break;
	case 0x35:
		synchronize_cache10(m, req);
		break;
	case 0x12:
		inquiry(dev, req);
		break;
	case 0x25:
		read_capacity10(m, req);
		break;
	case 0x9e:
		read_capacity16(m, req);
		break;
	case 0x28:
		read_write10(m, req, false);
		break;
	case 0x2a:
		read_write10(m, req, true);
		break;
	default:
		uscst_handler_check_condition(req, 0x05, 0x20, 0x00); /* INVALID COMMAND OPCODE */
		break;
	}
	req->done(req);
}

static const struct uscst_backend_ops mini_ops = {
    .name = "mini_disk",
    .dev_priv_size = sizeof(struct mini),
    .open = mini_open,
    .close = mini_close,
    .exec_cmd = mini_exec,
    .cmdset = "passthrough",
};

static int mini_init(const struct uscst_handler_host *h)
{
	host = h;
	return h->backend_register(&mini_ops, USCST_BACKEND_ABI);
}

USCST_HANDLER_PLUGIN(.name = "whole-command mini disk example", .init = mini_init);
