/*
 * Dropping root: uscstd --user NAME [--ctl-group NAME].
 *
 * The daemon binds its portals (port 3260 is below 1024), opens its devices
 * and creates its control socket as root, then becomes NAME for good: no
 * supplementary groups, NAME's primary group, NAME's uid (real, effective
 * and saved), so nothing it does afterwards can regain root.
 */
#ifndef USCST_LIB_PRIVILEGES_H
#define USCST_LIB_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct priv_user {
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* Looks NAME up in the user database.  0, or -1 with a message. */
int priv_lookup_user(const char *name, struct priv_user *u, char *err, size_t errlen);
/* Looks a group up by name.  0, or -1 with a message. */
int priv_lookup_group(const char *name, gid_t *gid, char *err, size_t errlen);

/* Refuses a user that would keep root: uid 0, or gid 0 as primary group.
 * 0, or -1 with a message.  priv_drop calls it; the daemon calls it at
 * start-up too, so a bad --user stops it before it opens anything. */
int priv_check_user(const struct priv_user *u, char *err, size_t errlen);

/* setgroups(none), setgid, setuid, in that order, each checked; then checks
 * that root cannot be taken back.  0, or -1 with a message: the caller
 * must not go on running as root by mistake. */
int priv_drop(const struct priv_user *u, char *err, size_t errlen);

#endif
