/*
 * The running configuration, as scst.conf text or JSON.
 *
 * Both are produced from one snapshot tree (conf_running_tree), so the two
 * formats always show the same objects.  The scst.conf text loads back with
 * conf_load_file() into the same devices, targets and LUNs.
 *
 * Attributes written for a device: filename, size, blocksize (if not 512),
 * the flags that differ from the defaults (read_only, write_through,
 * nv_cache, thin_provisioned as configured, removable, rotational 0), the
 * identification strings that differ from the core's defaults, and usn.
 *
 * Configuration objects are created at start-up before the control socket
 * serves requests and are never deleted, so reading them from the control
 * thread only needs uscst_config_lock.
 */
#ifndef USCST_CONFIG_CONF_WRITER_H
#define USCST_CONFIG_CONF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config/conf_parser.h"

/* Snapshot of devices, then one TARGET_DRIVER block per registered
 * transport (the driver attributes it reports, its targets, their LUNs
 * and initiator groups), then the ALUA device groups with their states
 * in force; NULL on ENOMEM.  Free with conf_tree_free(). */
struct conf_tree *conf_running_tree(void);

/* scst.conf text.  Return 0 or -1. */
int conf_write_running(FILE *f);
char *conf_running_text(void); /* malloc'd; NULL on ENOMEM */

/* JSON:
 *   {"devices": [{"name", "handler", "attributes": {name: value or [values]}}],
 *    "targets": [{"name", "driver", "attributes": {...},
 *                 "luns": [{"lun": N, "device": "d", "read_only": bool}],
 *                 "groups": [{"name", "luns": [...], "initiators": ["pattern"]}]}],
 *    "iscsi": {"enabled": bool, "listen": ["ADDR:PORT", ...]},
 *    "alua": [device groups, config/conf_alua.h]}
 * Attribute values are strings, as in scst.conf. */
struct json_object; /* json-c */
/* The object (json-c), NULL on ENOMEM; the caller puts it. */
struct json_object *conf_tree_json(const struct conf_tree *tree);
struct json_object *conf_running_json_object(void);
/* The object as indented text. */
int conf_tree_write_json(const struct conf_tree *tree, FILE *f);
int conf_write_running_json(FILE *f);
char *conf_running_json(void); /* malloc'd; NULL on ENOMEM */

#endif
