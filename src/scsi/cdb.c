/* Decoding of LBA and TRANSFER LENGTH fields shared by the SBC handlers. */
#include "scsi/scsi.h"

static void decode_10(const uint8_t *cdb, struct sbc_rw_fields *f)
{
	f->lba = get_be32(cdb + 2);
	f->blocks = get_be16(cdb + 7);
	f->group = cdb[6] & 0x3f;
}

static void decode_12(const uint8_t *cdb, struct sbc_rw_fields *f)
{
	f->lba = get_be32(cdb + 2);
	f->blocks = get_be32(cdb + 6);
	f->group = cdb[10] & 0x3f;
}

static void decode_16(const uint8_t *cdb, struct sbc_rw_fields *f)
{
	f->lba = get_be64(cdb + 2);
	f->blocks = get_be32(cdb + 10);
	f->group = cdb[14] & 0x3f;
}

bool sbc_decode_rw(const uint8_t *cdb, struct sbc_rw_fields *f)
{
	f->flags = cdb[1];
	f->group = 0;
	switch (cdb[0]) {
	case 0x08: /* READ(6) */
	case 0x0a: /* WRITE(6) */
		f->lba = get_be24(cdb + 1) & 0x1fffff;
		f->blocks = cdb[4] ? cdb[4] : 256;
		f->flags = 0;
		return true;
	case 0x28: /* READ(10) */
	case 0x2a: /* WRITE(10) */
	case 0x2e: /* WRITE AND VERIFY(10) */
	case 0x2f: /* VERIFY(10) */
	case 0x34: /* PRE-FETCH(10) */
	case 0x35: /* SYNCHRONIZE CACHE(10) */
	case 0x41: /* WRITE SAME(10) */
		decode_10(cdb, f);
		return true;
	case 0xa8: /* READ(12) */
	case 0xaa: /* WRITE(12) */
	case 0xae: /* WRITE AND VERIFY(12) */
	case 0xaf: /* VERIFY(12) */
		decode_12(cdb, f);
		return true;
	case 0x88: /* READ(16) */
	case 0x8a: /* WRITE(16) */
	case 0x8b: /* ORWRITE(16) */
	case 0x8e: /* WRITE AND VERIFY(16) */
	case 0x8f: /* VERIFY(16) */
	case 0x90: /* PRE-FETCH(16) */
	case 0x91: /* SYNCHRONIZE CACHE(16) */
	case 0x93: /* WRITE SAME(16) */
		decode_16(cdb, f);
		return true;
	case 0x9c: /* WRITE ATOMIC(16): bytes 10..11 are the ATOMIC BOUNDARY */
		f->lba = get_be64(cdb + 2);
		f->blocks = get_be16(cdb + 12);
		f->group = cdb[14] & 0x3f;
		return true;
	case 0x89: /* COMPARE AND WRITE */
		f->lba = get_be64(cdb + 2);
		f->blocks = cdb[13];
		f->group = cdb[14] & 0x3f;
		return true;
	default:
		return false;
	}
}
