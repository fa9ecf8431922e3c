/*
 * scst.conf's DEVICE_GROUP blocks <-> the core's ALUA model (core/alua.h).
 *
 *   DEVICE_GROUP dg {
 *           DEVICE disk1                    a defined device, in one device group
 *           TARGET_GROUP local {
 *                   group_id 256            1..65535, unique in the device group
 *                   preferred 1             0 (default) or 1
 *                   state active            active, nonoptimized, standby,
 *                                           unavailable, offline, transitioning
 *                   TARGET iqn...:tgt       a target of this file ...
 *                   TARGET iqn...:peer {    ... or one elsewhere (an HA peer),
 *                           rel_tgt_id 2    with its relative target port id
 *                   }
 *           }
 *   }
 *
 * `config apply` replaces all device groups at once when their normalised
 * text (conf_alua_text) differs: one change, CONF_ALUA_SET, whose undo puts
 * the old text back.
 */
#ifndef USCST_CONFIG_CONF_ALUA_H
#define USCST_CONFIG_CONF_ALUA_H

#include <stdbool.h>
#include <stddef.h>

#include "config/conf_parser.h"

struct uscst_alua_model;

/* The model of tree's DEVICE_GROUP blocks (*out NULL when there is none).
 * device_known (may be NULL: not checked) says whether a DEVICE names a
 * device.  0, or -1 with "FILE:LINE: message". */
int conf_alua_build(const struct conf_tree *tree, bool (*device_known)(void *arg, const char *name),
		    void *arg, struct uscst_alua_model **out, char *err, size_t errlen);

/* Adds the DEVICE_GROUP blocks of m (NULL: none) to tree's root; false on ENOMEM. */
bool conf_alua_snapshot(struct conf_tree *tree, const struct uscst_alua_model *m);

/* tree's DEVICE_GROUP blocks, normalised (parsed into a model and written
 * back): "" when there is none; NULL with a message on error. */
char *conf_alua_text(const struct conf_tree *tree, char *err, size_t errlen);

/* Publishes the device groups of text (conf_alua_text's form; "" removes
 * them all).  0 or -1 with a message. */
int conf_alua_apply_text(const char *text, char *err, size_t errlen);

/* Publishes tree's device groups (after its targets exist).  0 or -1. */
int conf_alua_apply(const struct conf_tree *tree, char *err, size_t errlen);

/* tree's device groups as JSON: [{"name", "devices": [names],
 * "target_groups": [{"name", "group_id", "state", "preferred",
 * "targets": [{"name"[, "rel_tgt_id"]}]}]}]. */
struct json_object;
struct json_object *conf_alua_json(bool *failed, const struct conf_tree *tree);

#endif
