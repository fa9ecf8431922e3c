/* Sense data for commands a transport ends itself (include/uscst/transport.h). */
#include "scsi/scsi.h"

void uscst_cmd_check_condition(struct uscst_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq)
{
	scsi_check_condition(cmd, key, asc, ascq);
}

void uscst_cmd_invalid_field_cdb(struct uscst_cmd *cmd, unsigned byte, int bit)
{
	scsi_invalid_field_cdb(cmd, byte, bit);
}
