/*
 * Dropping root for good (see privileges.h).  The order matters:
 * supplementary groups and the gid can only be changed while we are still
 * root, so setuid comes last.  setresgid/setresuid set the saved ids too,
 * so a later setuid(0) fails; glibc applies them to every thread.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/privileges.h"

int priv_lookup_user(const char *name, struct priv_user *u, char *err, size_t errlen)
{
	if (strlen(name) >= sizeof(u->name)) {
		snprintf(err, errlen, "user name too long: %s", name);
		return -1;
	}
	errno = 0;
	const struct passwd *pw = getpwnam(name);
	if (!pw) {
		snprintf(err, errlen, "no user %s%s%s", name, errno ? ": " : "",
			 errno ? strerror(errno) : "");
		return -1;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", name);
	return 0;
}

int priv_lookup_group(const char *name, gid_t *gid, char *err, size_t errlen)
{
	errno = 0;
	const struct group *gr = getgrnam(name);
	if (!gr) {
		snprintf(err, errlen, "no group %s%s%s", name, errno ? ": " : "",
			 errno ? strerror(errno) : "");
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

int priv_check_user(const struct priv_user *u, char *err, size_t errlen)
{
	if (u->uid == 0) {
		snprintf(err, errlen, "--user %s is root: nothing would be dropped", u->name);
		return -1;
	}
	/* Group root owns files (devices, /etc, logs) that a daemon which has
	 * dropped root must not reach: refuse it as primary group. */
	if (u->gid == 0) {
		snprintf(err, errlen,
			 "--user %s has group root (gid 0) as primary group: the daemon would "
			 "keep group root; give the user another primary group",
			 u->name);
		return -1;
	}
	return 0;
}

int priv_drop(const struct priv_user *u, char *err, size_t errlen)
{
	if (priv_check_user(u, err, errlen) < 0)
		return -1;
	if (setgroups(0, NULL) < 0) {
		snprintf(err, errlen, "setgroups: %s", strerror(errno));
		return -1;
	}
	if (setresgid(u->gid, u->gid, u->gid) < 0) {
		snprintf(err, errlen, "setgid(%u): %s", (unsigned)u->gid, strerror(errno));
		return -1;
	}
	if (setresuid(u->uid, u->uid, u->uid) < 0) {
		snprintf(err, errlen, "setuid(%u): %s", (unsigned)u->uid, strerror(errno));
		return -1;
	}
	/* Belt and braces: the ids are what we asked for, and root is gone. */
	uid_t r, e, s;
	gid_t gr, ge, gs;
	if (getresuid(&r, &e, &s) < 0 || getresgid(&gr, &ge, &gs) < 0 || r != u->uid ||
	    e != u->uid || s != u->uid || gr != u->gid || ge != u->gid || gs != u->gid) {
		snprintf(err, errlen, "the ids are not %u:%u after the drop", (unsigned)u->uid,
			 (unsigned)u->gid);
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen, "setuid(0) still succeeds after the drop");
		return -1;
	}
	return 0;
}
