/* Sense data (SPC-5 4.4) for the commands the core, a command set or a
 * transport ends with CHECK CONDITION: one builder for all of them. */
#include <string.h>

#include "core/core.h"
#include "core/sense.h"
#include "lib/byteorder.h"

/* Sense-key specific bytes for ILLEGAL REQUEST: the field pointer (SPC-5 4.4.2.4.2). */
static void put_field_pointer(uint8_t *p, bool in_cdb, unsigned byte, int bit)
{
	p[0] = 0x80 | (in_cdb ? 0x40 : 0);
	if (bit >= 0)
		p[0] |= 0x08 | (bit & 7);
	put_be16(p + 1, (uint16_t)byte);
}

unsigned uscst_sense_build(uint8_t *buf, bool descriptor, uint8_t key, uint8_t asc, uint8_t ascq,
			   bool info_valid, uint64_t info)
{
	if (descriptor) {
		memset(buf, 0, 8);
		buf[0] = 0x72;
		buf[1] = key;
		buf[2] = asc;
		buf[3] = ascq;
		if (!info_valid)
			return 8;
		uint8_t *d = buf + 8;
		memset(d, 0, 12);
		d[0] = 0x00; /* information descriptor */
		d[1] = 0x0a;
		d[2] = 0x80; /* VALID */
		put_be64(d + 4, info);
		buf[7] = 12;
		return 20;
	}
	memset(buf, 0, 18);
	buf[0] = 0x70 | (info_valid ? 0x80 : 0);
	buf[2] = key;
	if (info_valid)
		put_be32(buf + 3, (uint32_t)info);
	buf[7] = 10;
	buf[12] = asc;
	buf[13] = ascq;
	return 18;
}

static bool wants_descriptor(const struct uscst_cmd *cmd)
{
	return cmd->dev && atomic_load_explicit(&cmd->dev->d_sense, memory_order_relaxed);
}

void uscst_cmd_check_condition(struct uscst_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq)
{
	cmd->status = SAM_STAT_CHECK_CONDITION;
	cmd->sense_len =
	    (uint8_t)uscst_sense_build(cmd->sense, wants_descriptor(cmd), key, asc, ascq, false, 0);
}

void uscst_cmd_check_condition_info(struct uscst_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq,
				    uint64_t info)
{
	cmd->status = SAM_STAT_CHECK_CONDITION;
	cmd->sense_len = (uint8_t)uscst_sense_build(cmd->sense, wants_descriptor(cmd), key, asc,
						    ascq, true, info);
}

static void invalid_field(struct uscst_cmd *cmd, bool in_cdb, unsigned byte, int bit)
{
	if (in_cdb)
		uscst_cmd_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	else
		uscst_cmd_check_condition(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM_LIST);
	if (wants_descriptor(cmd)) {
		uint8_t *d = cmd->sense + cmd->sense_len;
		memset(d, 0, 8);
		d[0] = 0x02; /* sense key specific descriptor */
		d[1] = 0x06;
		put_field_pointer(d + 4, in_cdb, byte, bit);
		cmd->sense[7] += 8;
		cmd->sense_len += 8;
	} else {
		put_field_pointer(cmd->sense + 15, in_cdb, byte, bit);
	}
}

void uscst_cmd_invalid_field_cdb(struct uscst_cmd *cmd, unsigned byte, int bit)
{
	invalid_field(cmd, true, byte, bit);
}

void uscst_cmd_invalid_field_param(struct uscst_cmd *cmd, unsigned byte, int bit)
{
	invalid_field(cmd, false, byte, bit);
}
