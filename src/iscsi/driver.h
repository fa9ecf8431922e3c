/*
 * The iSCSI target driver as a registered transport (TARGET_DRIVER iscsi):
 * the daemon registers it with
 *   uscst_transport_register(&iscsi_driver, USCST_TRANSPORT_ABI);
 * and from then on reaches it only through the registry.
 */
#ifndef USCST_ISCSI_DRIVER_H
#define USCST_ISCSI_DRIVER_H

#include <uscst/transport_reg.h>

extern const struct uscst_transport iscsi_driver;

#endif
