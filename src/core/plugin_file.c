/*
 * A plugin file opened safely (core/plugin_file.h).
 *
 * stat(path) then dlopen(path) would check one file and load another if
 * someone who may write a directory on the way swapped it in between.
 * Instead: the directory is resolved once (realpath: symbolic links of
 * the operator's own layout, /lib -> usr/lib, are fine) and then walked
 * from / one component at a time with O_NOFOLLOW, each directory checked
 * on its descriptor; the file is opened relative to the last one, also
 * with O_NOFOLLOW, and checked with fstat.  A swap after realpath finds a
 * symbolic link in the walk and is refused.
 */
#include "core/plugin_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define perr(...) snprintf(err, errlen, __VA_ARGS__)

static bool owner_trusted(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

/* Whether someone other than its owner (root or us) may change the
 * directory's entries: group or other write without the sticky bit (with
 * it, as in /tmp, they cannot rename or remove what is not theirs). */
static bool dir_trusted(const struct stat *st)
{
	if (!owner_trusted(st))
		return false;
	return !(st->st_mode & (S_IWGRP | S_IWOTH)) || (st->st_mode & S_ISVTX);
}

/* The canonical directory, walked from / with each component checked:
 * a descriptor of it, or -errno with err set. */
static int open_dir_checked(const char *path, const char *dir, char *err, size_t errlen)
{
	char *canon = realpath(dir, NULL);
	if (!canon) {
		int e = errno;
		perr("plugin %s: %s", path, strerror(e));
		return -e;
	}
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *save = NULL;
	char *at = canon;
	int rc = 0;
	for (;;) {
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			/* ELOOP or ENOTDIR: a component became a symbolic link
			 * after realpath, a swap under way. */
			int e = errno;
			rc = e == ELOOP || e == ENOTDIR ? -EPERM : -e;
			perr("plugin %s: refused: directory %s changed while checked: %s", path,
			     canon, strerror(e));
			break;
		}
		if (!dir_trusted(&st)) {
			rc = -EPERM;
			perr("plugin %s: refused: a directory on its path (%s, mode %04o, uid %u) "
			     "may "
			     "be changed by another user; its code would run inside uscstd",
			     path, canon, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
			break;
		}
		const char *name = strtok_r(at, "/", &save);
		at = NULL;
		if (!name)
			break;
		int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	free(canon);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

int plugin_file_open(const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (!slash || !*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		perr("plugin %s: not a file name", path);
		return -EINVAL;
	}
	char dir[PATH_MAX];
	size_t dlen = (size_t)(slash - path);
	if (dlen >= sizeof(dir)) {
		perr("plugin %s: %s", path, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	memcpy(dir, path, dlen);
	dir[dlen ? dlen : 1] = '\0';
	if (!dlen)
		dir[0] = '/';
	int dfd = open_dir_checked(path, dir, err, errlen);
	if (dfd < 0)
		return dfd;
	int fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int e = errno;
	close(dfd);
	if (fd < 0) {
		if (e == ELOOP) {
			perr("plugin %s: refused: a symbolic link; name the file itself", path);
			return -EPERM;
		}
		perr("plugin %s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		perr("plugin %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	/* Its code runs inside the daemon, as root until --user drops it:
	 * a file someone else may rewrite would hand them the daemon. */
	if (st.st_mode & (S_IWGRP | S_IWOTH) || !owner_trusted(&st)) {
		perr("plugin %s: refused: writable by group or others, or owned by another user "
		     "(mode %04o, uid %u); its code would run inside uscstd",
		     path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
		close(fd);
		return -EPERM;
	}
	return fd;
}
