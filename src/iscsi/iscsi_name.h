/*
 * Syntax of iSCSI names (RFC 7143 4.2.7) as an initiator sends them in
 * InitiatorName and TargetName.
 */
#ifndef USCST_ISCSI_ISCSI_NAME_H
#define USCST_ISCSI_ISCSI_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include "iscsi/text_kv.h"

/* RFC 7143 4.2.7.1: an iSCSI name is at most 223 bytes. */
#define ISCSI_NAME_BYTES_MAX 223

/* Whether the len bytes at name form a valid iSCSI name. */
bool iscsi_name_valid(const char *name, size_t len);

/* The first InitiatorName or TargetName in keys that is not a valid
 * iSCSI name (its key name), or NULL when all are valid. */
const char *iscsi_name_check_keys(const struct text_kv_list *keys);

#endif
