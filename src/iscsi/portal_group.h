/*
 * portal_group (uscst's iSCSI target attribute, repeatable): a target
 * portal group of the target other than its first, "TAG REL_TGT_ID
 * PATTERN...".  A connection whose target-side address matches the
 * patterns (allowed_portal's syntax and rules: `*`, `?`, a leading `!`;
 * the IP address without port) logs in through portal group TAG (2 to
 * 65535), answered as TargetPortalGroupTag and listed so by SendTargets;
 * its session is a SCSI target port of its own, relative port REL_TGT_ID
 * (VPD 83h, persistent reservations, an ALUA TARGET_GROUP's `TARGET name
 * { rel_tgt_id REL_TGT_ID }`).  Connections no portal_group matches go to
 * portal group 1, the target's own relative port (rel_tgt_id).  The first
 * matching value wins.  REL_TGT_ID must differ from every other target
 * port's: the core checks it (core/target_ports.c) from what
 * portal_group_rel_port_id says a value claims.
 */
#ifndef USCST_ISCSI_PORTAL_GROUP_H
#define USCST_ISCSI_PORTAL_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uscst/attr.h>
#include <uscst/transport.h>

#define PORTAL_GROUP_MAX_PATTERNS 8

/* The attribute table's check of one value. */
bool portal_group_check(const struct uscst_attr_def *d, const char *value, char *err,
			size_t errlen);

/* The transport's attr_rel_port_id: REL_TGT_ID of a portal_group value, 0
 * for any other attribute (or a value the table check refuses). */
uint16_t portal_group_rel_port_id(const char *name, const char *value);

/* The portal group of tgt that local_addr ("ADDR:PORT", "[V6]:PORT") is
 * in: its tag and relative port id; tag 1 and the target's rel_tgt_id
 * when none of its portal_group values matches. */
void iscsi_portal_group_of(const struct uscst_target *tgt, const char *local_addr, uint16_t *tpgt,
			   uint16_t *rel_port_id);

#endif
