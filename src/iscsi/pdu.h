/* iSCSI PDU layout (RFC 7143 section 11): opcodes, flags and BHS fields. */
#ifndef USCST_ISCSI_PDU_H
#define USCST_ISCSI_PDU_H

#include <stdint.h>

#include "lib/byteorder.h"

#define ISCSI_BHS_LEN 48
#define ISCSI_DIGEST_LEN 4
#define ISCSI_RESERVED_TAG 0xffffffffu

/* Initiator opcodes. */
#define ISCSI_OP_NOP_OUT 0x00
#define ISCSI_OP_SCSI_CMD 0x01
#define ISCSI_OP_TMF_REQ 0x02
#define ISCSI_OP_LOGIN_REQ 0x03
#define ISCSI_OP_TEXT_REQ 0x04
#define ISCSI_OP_DATA_OUT 0x05
#define ISCSI_OP_LOGOUT_REQ 0x06
#define ISCSI_OP_SNACK_REQ 0x10
/* Target opcodes. */
#define ISCSI_OP_NOP_IN 0x20
#define ISCSI_OP_SCSI_RSP 0x21
#define ISCSI_OP_TMF_RSP 0x22
#define ISCSI_OP_LOGIN_RSP 0x23
#define ISCSI_OP_TEXT_RSP 0x24
#define ISCSI_OP_DATA_IN 0x25
#define ISCSI_OP_LOGOUT_RSP 0x26
#define ISCSI_OP_R2T 0x31
#define ISCSI_OP_ASYNC_MSG 0x32
#define ISCSI_OP_REJECT 0x3f

#define ISCSI_OP_IMMEDIATE 0x40
#define ISCSI_OPCODE_MASK 0x3f

/* Byte 1 flags. */
#define ISCSI_FLAG_FINAL 0x80
#define ISCSI_FLAG_CONTINUE 0x40 /* Login/Text C bit */
#define ISCSI_FLAG_TRANSIT 0x80	 /* Login T bit */
#define ISCSI_CMD_READ 0x40
#define ISCSI_CMD_WRITE 0x20
#define ISCSI_CMD_ATTR_MASK 0x07
#define ISCSI_DATA_ACK 0x40
#define ISCSI_DATA_STATUS 0x01 /* Data-In S bit */
#define ISCSI_FLAG_BIDI_OVERFLOW 0x10
#define ISCSI_FLAG_BIDI_UNDERFLOW 0x08
#define ISCSI_FLAG_OVERFLOW 0x04
#define ISCSI_FLAG_UNDERFLOW 0x02

/* Reject reasons (RFC 7143 11.17.1). */
#define ISCSI_REJECT_DATA_DIGEST 0x02
#define ISCSI_REJECT_SNACK 0x03
#define ISCSI_REJECT_PROTOCOL_ERROR 0x04
#define ISCSI_REJECT_CMD_NOT_SUPPORTED 0x05
#define ISCSI_REJECT_IMMEDIATE_CMD 0x06
#define ISCSI_REJECT_TASK_IN_PROGRESS 0x07
#define ISCSI_REJECT_INVALID_DATA_ACK 0x08
#define ISCSI_REJECT_INVALID_PDU_FIELD 0x09
#define ISCSI_REJECT_OUT_OF_RESOURCES 0x0a
#define ISCSI_REJECT_WAITING_FOR_LOGOUT 0x0c

/* Task management function responses (RFC 7143 11.6.1). */
#define ISCSI_TMF_RSP_COMPLETE 0
#define ISCSI_TMF_RSP_NO_TASK 1
#define ISCSI_TMF_RSP_NO_LUN 2
#define ISCSI_TMF_RSP_TASK_ALLEGIANT 3
#define ISCSI_TMF_RSP_NO_REASSIGN 4
#define ISCSI_TMF_RSP_NOT_SUPPORTED 5
#define ISCSI_TMF_RSP_AUTH_FAILED 6
#define ISCSI_TMF_RSP_SUCCEEDED 7 /* RFC 7144 4.2: a query found what it asked */
#define ISCSI_TMF_RSP_REJECTED 255

/* Common BHS fields. */
static inline uint8_t bhs_opcode(const uint8_t *bhs) { return bhs[0] & ISCSI_OPCODE_MASK; }
static inline uint32_t bhs_ahs_len(const uint8_t *bhs) { return (uint32_t)bhs[4] * 4; }
static inline uint32_t bhs_data_len(const uint8_t *bhs) { return get_be24(bhs + 5); }
static inline void bhs_set_data_len(uint8_t *bhs, uint32_t len)
{
	bhs[4] = 0;
	put_be24(bhs + 5, len);
}
static inline uint32_t bhs_itt(const uint8_t *bhs) { return get_be32(bhs + 16); }
static inline uint32_t pad4(uint32_t len) { return (4 - (len & 3)) & 3; }

/* SAM LUN (8 bytes) to a LUN number: single level, peripheral (00b) or
 * flat (01b) addressing, both read as the 14 bits after the method, as
 * SCST does.  That is the number libiscsi and Linux mean: they put a raw
 * 16-bit LUN in bytes 0-1 (300 goes out as 01 2C, which SAM would call
 * bus 1, LUN 44).  Logical unit (10b) and extended (11b) addressing and
 * second-level LUNs map to an impossible LUN, so they are refused. */
static inline uint64_t iscsi_decode_lun(const uint8_t *p)
{
	for (int i = 2; i < 8; i++)
		if (p[i])
			return UINT64_MAX;
	if (p[0] >> 7)
		return UINT64_MAX;
	return ((uint64_t)(p[0] & 0x3f) << 8) | p[1];
}

static inline void iscsi_encode_lun(uint8_t *p, uint64_t lun)
{
	for (int i = 0; i < 8; i++)
		p[i] = 0;
	if (lun < 256) {
		p[1] = (uint8_t)lun;
	} else {
		p[0] = (uint8_t)(0x40 | ((lun >> 8) & 0x3f));
		p[1] = (uint8_t)lun;
	}
}

#endif
