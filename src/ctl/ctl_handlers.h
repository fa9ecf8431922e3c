/* `show handlers` on the control socket: the device attributes every
 * device has and those of each registered handler, from their tables. */
#ifndef USCST_CTL_CTL_HANDLERS_H
#define USCST_CTL_CTL_HANDLERS_H

/* The listing, malloc'd; NULL on ENOMEM. */
char *ctl_handlers_text(void);

#endif
