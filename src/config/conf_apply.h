/*
 * scst.conf tree -> core objects (devices, targets, LUN maps).
 *
 * The whole tree is validated before the first object is created, so a file
 * with a misplaced LUN or an unsupported section changes nothing.  Errors
 * that only the core can find (a bad attribute value, a file that does not
 * open, a backing file or PR file that another device uses already, however
 * it is spelt: symlinks and hard links are the same file) are found while
 * applying, at the line of the second device's filename / pr_file_name (or
 * its DEVICE line for a default PR file); objects created before that
 * point stay, as the core has no way to delete them yet, so a daemon should
 * treat any failure at start-up as fatal.
 *
 * What is implemented (everything else is an error, never silently ignored):
 *   HANDLER <h> { DEVICE <d> { <device attributes> } }   core validates names/values
 *   HANDLER <h> { plugin /abs/path.so  DEVICE ... }       a user handler: the plugin is
 *                                   loaded (core/handler_plugin.h) before its devices
 *   TARGET_DRIVER <registered transport, e.g. iscsi> {
 *           <driver attributes>     checked by the transport's table (iscsi:
 *                                   enabled 0|1, listen ADDR:PORT repeatable)
 *                                   and stored in the registry for its start
 *           TARGET <name> { <target attributes>; LUN <n> <dev> [{ read_only 0|1 }]
 *                   GROUP <g> { LUN ...; INITIATOR <pattern> } }
 *   }                               target attributes: the core's enabled and
 *                                   rel_tgt_id, the rest checked by the
 *                                   transport's table when the core sets them
 *   DEVICE_GROUP <dg> { DEVICE <d>; TARGET_GROUP <tg> { ... } }   ALUA
 *                                   (config/conf_alua.h), published last
 * Known SCST features not built yet (group attributes,
 * IncomingUser, iSNSServer, setup_id, ...) give "not supported yet".
 */
#ifndef USCST_CONFIG_CONF_APPLY_H
#define USCST_CONFIG_CONF_APPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "config/conf_parser.h"

#define CONF_MAX_LUN 16383 /* SCST_MAX_LUN */

/* Driver attributes (listen ...) are not here: they go to the transport
 * registry (core/transports.h), where each transport reads its own. */
struct conf_result {
	unsigned ndevices; /* created and opened */
	unsigned ntargets; /* created */
};

/* Checks everything that needs no core: placement, references, duplicates,
 * unsupported features.  0, or -1 with "FILE:LINE: message" in err. */
int conf_validate(const struct conf_tree *tree, char *err, size_t errlen);

/* Validates, then creates and opens devices, then creates targets, adds
 * their LUNs, and sets each target's `enabled` last (SCST's rule: a target
 * must be complete before initiators can log in).  out is filled even on
 * error as far as it got; free it with conf_result_free().  0 or -1. */
int conf_apply(const struct conf_tree *tree, struct conf_result *out, char *err, size_t errlen);

/* Parse + apply. */
int conf_load_file(const char *path, struct conf_result *out, char *err, size_t errlen);
int conf_load_text(const char *text, const char *name_for_errors, struct conf_result *out,
		   char *err, size_t errlen);

/* Parse + validate without touching the core (for a -t style check). */
int conf_check_only(const char *path, char *err, size_t errlen);
int conf_check_text(const char *text, const char *name_for_errors, char *err, size_t errlen);

void conf_result_free(struct conf_result *out);

#endif
