/* Run-time configuration verbs of the control socket (ctl/ctl_live.c). */
#ifndef USCST_CTL_CTL_LIVE_H
#define USCST_CTL_CTL_LIVE_H

#include <stdbool.h>

/* Their lines for `help`. */
extern const char ctl_live_help[];

/* If request is one of these verbs: true, with the answer (malloc'd; NULL
 * on ENOMEM) in *out.  false: not one of them. */
bool ctl_live_request(const char *request, char **out);

#endif
