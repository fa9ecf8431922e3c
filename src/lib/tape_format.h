/*
 * The on-disk format of a virtual tape image (docs/tape-image.md): a file
 * header, then a chain of records (data blocks, filemarks) ended by an
 * end-of-data marker or by the first record that does not continue the
 * chain.  Pure encoding and checking, no I/O: the vtape backend checks the
 * header when it opens an image, the SSC command set (src/scsi/ssc_*.c)
 * reads and writes records through the backend.  In lib/ because both
 * layers need it and neither may include the other.
 */
#ifndef USCST_LIB_TAPE_FORMAT_H
#define USCST_LIB_TAPE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAPE_MAGIC "USCSTAPE"
#define TAPE_VERSION 1
/* The header takes the first 4 KiB: records start page-aligned. */
#define TAPE_HEADER_SIZE 4096u
#define TAPE_REC_HDR_SIZE 40u
#define TAPE_REC_MAGIC 0x54524543u /* "TREC" */
/* Largest data record (READ BLOCK LIMITS' MAXIMUM BLOCK LENGTH). */
#define TAPE_MAX_RECORD (8u << 20)
/* Smallest capacity an image may declare: 64 KiB. */
#define TAPE_MIN_CAPACITY (64u << 10)

#define TAPE_FLAG_WRITE_PROTECT 0x1u

enum tape_rec_type {
	TAPE_REC_DATA = 1,
	TAPE_REC_FILEMARK = 2,
	TAPE_REC_EOD = 3,
};

struct tape_header {
	uint64_t capacity;  /* bytes of records the tape holds (headers included) */
	uint32_t flags;	    /* TAPE_FLAG_* */
	uint64_t volume_id; /* random, set when the image is created */
};

struct tape_rec {
	uint8_t type;	   /* enum tape_rec_type */
	uint64_t seq;	   /* logical object number: 0 for the first record */
	uint32_t len;	   /* data bytes that follow the header (0 but for DATA) */
	uint32_t data_crc; /* CRC32C of the data */
	uint32_t prev_crc; /* hdr_crc of the previous record (tape_chain_seed for seq 0) */
	uint32_t salt;	   /* random: makes every header written unique */
	uint32_t hdr_crc;  /* CRC32C of the header's first 32 bytes */
};

/* CRC32C (Castagnoli), with the usual initial and final inversion. */
uint32_t tape_crc(const void *data, size_t len);

/* Writes the TAPE_HEADER_SIZE bytes of a header. */
void tape_header_encode(uint8_t *buf, const struct tape_header *h);
/* Checks and decodes a header of len bytes (the file may be shorter than
 * TAPE_HEADER_SIZE); NULL if it is valid, else why not ("bad magic"). */
const char *tape_header_decode(const uint8_t *buf, size_t len, struct tape_header *h);
/* What the first record's prev_crc must be. */
uint32_t tape_chain_seed(const struct tape_header *h);

/* Writes the TAPE_REC_HDR_SIZE bytes of a record header from r (type,
 * seq, len, data_crc, prev_crc, salt) and sets r->hdr_crc. */
void tape_rec_encode(uint8_t *buf, struct tape_rec *r);
/* Decodes a record header; false if it is no valid header on its own
 * (magic, CRC, type, length, reserved bytes). */
bool tape_rec_decode(const uint8_t *buf, struct tape_rec *r);
/* Whether a valid header r continues a chain whose next record must be
 * number seq and follow a header of CRC prev_crc. */
static inline bool tape_rec_follows(const struct tape_rec *r, uint64_t seq, uint32_t prev_crc)
{
	return r->seq == seq && r->prev_crc == prev_crc;
}
/* Bytes a record takes in the image. */
static inline uint64_t tape_rec_size(uint32_t len) { return TAPE_REC_HDR_SIZE + (uint64_t)len; }

#endif
