/*
 * libFuzzer target for iscsi_pdu_frame(): the first input byte picks the
 * digest flags and the data segment limit, the rest is the receive buffer.
 * Every prefix of the buffer is framed too, because the receive loop calls
 * the framer on whatever a read() delivered.  The invariants checked are
 * the ones conn.c relies on to advance through rx_buf without overrunning.
 * A framed PDU's AHS is also parsed as a SCSI Command's (cmd_ahs.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/cmd_ahs.h"
#include "iscsi/iscsi.h"
#include "iscsi/pdu_frame.h"

static const uint32_t limits[] = {0, 1, 8192, 65536, 262144, 0xffffff, 0xffffffffu, 512};

static void check(const uint8_t *buf, size_t avail, bool hd, bool dd, uint32_t limit)
{
	struct pdu_frame f;
	enum pdu_frame_status st = iscsi_pdu_frame(buf, avail, hd, dd, limit, &f);
	switch (st) {
	case PDU_NEED_MORE:
		/* The caller grows its buffer to total_len: it must ask for more. */
		if (f.total_len <= avail || f.total_len < ISCSI_BHS_LEN)
			__builtin_trap();
		break;
	case PDU_COMPLETE:
		if (f.total_len > avail || f.hdr_len > f.total_len || f.data_len > limit)
			__builtin_trap();
		if (f.data != buf + f.hdr_len)
			__builtin_trap();
		if ((size_t)f.hdr_len + f.data_len + pad4(f.data_len) > avail)
			__builtin_trap();
		if (!dd && f.data_digest_bad)
			__builtin_trap();
		/* The AHS as a SCSI Command's (scsi_cmd.c): read within
		 * TotalAHSLength, never past the header. */
		{
			struct iscsi_cmd_ahs ahs;
			if (iscsi_cmd_ahs_parse(buf + ISCSI_BHS_LEN, f.ahs_len, &ahs) == 0 &&
			    ahs.ext_cdb_len > f.ahs_len)
				__builtin_trap();
		}
		/* Touch the whole data segment so ASan sees any overrun. */
		{
			volatile uint8_t sink = 0;
			for (uint32_t i = 0; i < f.data_len; i++)
				sink ^= f.data[i];
			(void)sink;
		}
		break;
	case PDU_DATA_TOO_LONG:
		if (f.data_len <= limit || f.total_len < f.hdr_len + f.data_len)
			__builtin_trap();
		break;
	case PDU_HEADER_DIGEST_BAD:
		if (!hd || avail < ISCSI_BHS_LEN + ISCSI_DIGEST_LEN)
			__builtin_trap();
		break;
	default:
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	bool hd = sel & 1, dd = sel & 2;
	uint32_t limit = limits[(sel >> 2) & 7];
	/* A private copy of exactly the bytes "received", so ASan catches reads
	 * past them. */
	size_t n = size - 1;
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, n);
	for (int flags = 0; flags < 4; flags++)
		check(buf, n, flags & 1, flags & 2, limit);
	/* Prefixes, as the receive loop sees them. */
	for (size_t k = 0; k < n && k < 2048; k += (k < 64 ? 1 : 61))
		check(buf, k, hd, dd, limit);
	free(buf);
	return 0;
}
