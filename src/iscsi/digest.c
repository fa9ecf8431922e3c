/* CRC32C header and data digests (RFC 7143 13.1), vectorised by isa-l. */
#include <isa-l/crc.h>

#include "iscsi/iscsi.h"

/* isa-l does neither the initial nor the final inversion itself. */
uint32_t iscsi_crc32c(const void *data, size_t len, uint32_t seed)
{
	return crc32_iscsi((unsigned char *)data, (int)len, seed);
}

uint32_t iscsi_digest(const void *data, size_t len)
{
	return iscsi_crc32c(data, len, ISCSI_CRC32C_SEED) ^ 0xffffffffu;
}
