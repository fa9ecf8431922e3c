/*
 * `config apply` on the daemon's side (ctl/ctl_config.c) and the SIGHUP
 * reload, which applies the start-up file the same way.
 */
#ifndef USCST_CTL_CTL_CONFIG_H
#define USCST_CTL_CTL_CONFIG_H

#include <stdbool.h>

/* The file uscstd was started with (-c); NULL: none (--default-config),
 * then a reload only logs that there is nothing to re-read.  Kept as
 * given (an absolute path is best: uscstd may chdir).  false: ENOMEM. */
bool ctl_config_set_startup_file(const char *path);

/* Re-reads the start-up file and applies the difference, logging each
 * change (or why nothing changed).  Control thread only. */
void ctl_config_reload(void);

#endif
