/* Encoding and checking of tape images (lib/tape_format.h). */
#include <string.h>

#include <isa-l/crc.h>

#include "lib/byteorder.h"
#include "lib/tape_format.h"

uint32_t tape_crc(const void *data, size_t len)
{
	/* isa-l does neither inversion itself. */
	return crc32_iscsi((unsigned char *)data, (int)len, 0xffffffffu) ^ 0xffffffffu;
}

/* Header layout (big-endian): magic[8], version u32, header size u32,
 * capacity u64, flags u32, reserved u32, volume id u64, reserved up to the
 * CRC32C of bytes 0..59 at 60. */
#define H_VERSION 8
#define H_SIZE 12
#define H_CAPACITY 16
#define H_FLAGS 24
#define H_VOLUME_ID 32
#define H_CRC 60

void tape_header_encode(uint8_t *buf, const struct tape_header *h)
{
	memset(buf, 0, TAPE_HEADER_SIZE);
	memcpy(buf, TAPE_MAGIC, 8);
	put_be32(buf + H_VERSION, TAPE_VERSION);
	put_be32(buf + H_SIZE, TAPE_HEADER_SIZE);
	put_be64(buf + H_CAPACITY, h->capacity);
	put_be32(buf + H_FLAGS, h->flags);
	put_be64(buf + H_VOLUME_ID, h->volume_id);
	put_be32(buf + H_CRC, tape_crc(buf, H_CRC));
}

const char *tape_header_decode(const uint8_t *buf, size_t len, struct tape_header *h)
{
	if (len < 64)
		return "too short for a tape image header";
	if (memcmp(buf, TAPE_MAGIC, 8) != 0)
		return "not a tape image (bad magic)";
	if (get_be32(buf + H_CRC) != tape_crc(buf, H_CRC))
		return "tape image header checksum mismatch";
	if (get_be32(buf + H_VERSION) != TAPE_VERSION)
		return "unsupported tape image version";
	if (get_be32(buf + H_SIZE) != TAPE_HEADER_SIZE)
		return "unsupported tape image header size";
	h->capacity = get_be64(buf + H_CAPACITY);
	h->flags = get_be32(buf + H_FLAGS);
	h->volume_id = get_be64(buf + H_VOLUME_ID);
	if (h->capacity < TAPE_MIN_CAPACITY)
		return "capacity below 64 KiB";
	if (h->capacity > (1ull << 50))
		return "capacity above 1 PiB";
	if (h->flags & ~TAPE_FLAG_WRITE_PROTECT)
		return "unknown flags in the tape image header";
	return NULL;
}

uint32_t tape_chain_seed(const struct tape_header *h)
{
	uint8_t b[8];
	put_be64(b, h->volume_id);
	return tape_crc(b, sizeof(b));
}

/* Record header layout (big-endian): magic u32, type u8, 3 reserved
 * bytes, seq u64, len u32, data CRC u32, prev CRC u32, salt u32, header
 * CRC u32 (of bytes 0..31), 4 reserved bytes. */
void tape_rec_encode(uint8_t *buf, struct tape_rec *r)
{
	memset(buf, 0, TAPE_REC_HDR_SIZE);
	put_be32(buf, TAPE_REC_MAGIC);
	buf[4] = r->type;
	put_be64(buf + 8, r->seq);
	put_be32(buf + 16, r->len);
	put_be32(buf + 20, r->data_crc);
	put_be32(buf + 24, r->prev_crc);
	put_be32(buf + 28, r->salt);
	r->hdr_crc = tape_crc(buf, 32);
	put_be32(buf + 32, r->hdr_crc);
}

bool tape_rec_decode(const uint8_t *buf, struct tape_rec *r)
{
	static const uint8_t zero[4];
	if (get_be32(buf) != TAPE_REC_MAGIC || get_be32(buf + 32) != tape_crc(buf, 32))
		return false;
	if (memcmp(buf + 5, zero, 3) != 0 || memcmp(buf + 36, zero, 4) != 0)
		return false;
	r->type = buf[4];
	r->seq = get_be64(buf + 8);
	r->len = get_be32(buf + 16);
	r->data_crc = get_be32(buf + 20);
	r->prev_crc = get_be32(buf + 24);
	r->salt = get_be32(buf + 28);
	r->hdr_crc = get_be32(buf + 32);
	switch (r->type) {
	case TAPE_REC_DATA:
		return r->len > 0 && r->len <= TAPE_MAX_RECORD;
	case TAPE_REC_FILEMARK:
	case TAPE_REC_EOD:
		return r->len == 0;
	default:
		return false;
	}
}
