/*
 * The PR file of a device with persist-through-power-loss (SCST's
 * pr_file_name): the text form of core/pr_state.c, replaced atomically.
 *
 * A save is PATH.tmp written and fsynced, renamed over PATH, then the
 * directory fsynced so the rename itself survives a crash: PATH holds the
 * old or the new state, never a torn one.  A PATH.tmp left by a crash is
 * ignored on load and truncated by the next save.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/pr.h"

/* The directory part of path ("." for a bare name); NULL: ENOMEM. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* mkdir -p for the PR directory (e.g. a fresh /var/lib/uscst/pr); 0700
 * because registrations name the initiators allowed to write the LU. */
static int make_dirs(const char *dir)
{
	char *tmp = strdup(dir);
	if (!tmp)
		return -ENOMEM;
	int rc = 0;
	for (char *p = tmp + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
			rc = -errno;
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	free(tmp);
	return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int save_tmp(const char *tmp, const char *text)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, text, strlen(text));
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int pr_file_save(const char *path, const char *text, char *err, size_t errlen)
{
	char *tmp = NULL, *dir = dir_of(path);
	int rc = -ENOMEM;
	const char *step = "";
	if (!dir || asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		goto out;
	}
	step = "write";
	rc = save_tmp(tmp, text);
	if (rc == -ENOENT) {
		step = "create directory for";
		rc = make_dirs(dir);
		if (rc == 0) {
			step = "write";
			rc = save_tmp(tmp, text);
		}
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
		step = "rename over";
	}
	if (rc == 0) {
		step = "fsync the directory of";
		rc = fsync_dir(dir);
	} else {
		unlink(tmp);
	}
out:
	if (rc < 0)
		snprintf(err, errlen, "cannot %s PR file '%s': %s", step, path, strerror(-rc));
	free(tmp);
	free(dir);
	return rc;
}

int pr_file_remove(const char *path, char *err, size_t errlen)
{
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		int rc = -errno;
		snprintf(err, errlen, "cannot remove PR file '%s': %s", path, strerror(-rc));
		return rc;
	}
	char *dir = dir_of(path);
	int rc = dir ? fsync_dir(dir) : -ENOMEM;
	free(dir);
	if (rc < 0)
		snprintf(err, errlen, "cannot fsync the directory of PR file '%s': %s", path,
			 strerror(-rc));
	return rc;
}

/* The whole file as a string; refuses what is not a regular file, longer
 * than PR_FILE_MAX, or holds a NUL byte (the parser would stop there). */
static int read_text(int fd, const char *path, char **out, char *err, size_t errlen)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "PR file '%s': not a regular file", path);
		return -EINVAL;
	}
	if ((uint64_t)sb.st_size > PR_FILE_MAX) {
		snprintf(err, errlen, "PR file '%s': larger than %zu bytes", path, PR_FILE_MAX);
		return -EINVAL;
	}
	/* One byte more than the limit: a file growing under us is caught too. */
	char *buf = malloc(PR_FILE_MAX + 2);
	if (!buf)
		return -ENOMEM;
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, PR_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int rc = -errno;
			free(buf);
			return rc;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > PR_FILE_MAX) {
			snprintf(err, errlen, "PR file '%s': larger than %zu bytes", path,
				 PR_FILE_MAX);
			free(buf);
			return -EINVAL;
		}
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		snprintf(err, errlen, "PR file '%s': contains a NUL byte", path);
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	return 0;
}

int pr_file_load(const char *path, struct pr_state **out, char **text, char *err, size_t errlen)
{
	*out = NULL;
	if (text)
		*text = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* nothing persisted (yet) */
		int rc = -errno;
		snprintf(err, errlen, "cannot open PR file '%s': %s", path, strerror(-rc));
		return rc;
	}
	char *buf = NULL;
	err[0] = '\0';
	int rc = read_text(fd, path, &buf, err, errlen);
	close(fd);
	if (rc < 0) {
		if (!err[0])
			snprintf(err, errlen, "cannot read PR file '%s': %s", path, strerror(-rc));
		return rc;
	}
	unsigned line;
	const char *why;
	struct pr_state *st = pr_state_parse(buf, &line, &why);
	if (!st) {
		if (line)
			snprintf(err, errlen, "PR file %s:%u: %s", path, line, why);
		else
			snprintf(err, errlen, "PR file %s: %s", path, why);
		free(buf);
		return -EINVAL;
	}
	*out = st;
	if (text)
		*text = buf;
	else
		free(buf);
	return 0;
}
