/*
 * The configuration uscstd runs with when given no file: one 1 GiB sparse
 * file-backed disk exported as LUN 0 of one enabled iSCSI target.
 */
#ifndef USCST_CONFIG_CONF_DEFAULT_H
#define USCST_CONFIG_CONF_DEFAULT_H

#define CONF_DEFAULT_TARGET "iqn.2026-11.org.uscst:default"
#define CONF_DEFAULT_DEVICE "disk0"
#define CONF_DEFAULT_SIZE 1073741824ull		    /* bytes */
#define CONF_DEFAULT_NAME "<default configuration>" /* for error messages */

/* scst.conf text with the disk image at <data_dir>/disk0.img (quoted if the
 * path needs it).  malloc'd; NULL on ENOMEM.  Feed it to conf_load_text(). */
char *conf_default_text(const char *data_dir);

#endif
