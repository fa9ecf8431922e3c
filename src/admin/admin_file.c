#include "admin/admin_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The directory of path (for the temporary file and its fsync); malloc'd. */
static char *dir_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return NULL;
	char *dir = strdup(dirname(copy));
	free(copy);
	return dir;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* Creates DIR/.NAME.XXXXXX (random suffix, exclusive, never through a
 * symlink); the fd, with its name in tmp. */
static int create_temp(const char *path, char *tmp, size_t len)
{
	char *copy = strdup(path);
	if (!copy)
		return -1;
	char *dir = dir_of(path);
	const char *base = basename(copy);
	int fd = -1;
	for (int attempt = 0; dir && attempt < 100 && fd < 0; attempt++) {
		unsigned r;
		if (getentropy(&r, sizeof(r)) < 0)
			break;
		snprintf(tmp, len, "%s/.%s.%08x.tmp", dir, base, r);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	int e = errno;
	free(dir);
	free(copy);
	errno = e;
	return fd;
}

int admin_write_atomic(const char *path, const char *text, char *err, size_t errlen)
{
	char tmp[4096 + 64];
	if (strlen(path) > 4096) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	int fd = create_temp(path, tmp, sizeof(tmp));
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a file next to %s: %s", path, strerror(errno));
		return -1;
	}
	const char *step = "writing";
	int rc = write_all(fd, text, strlen(text));
	if (rc == 0) {
		step = "flushing";
		rc = fsync(fd);
	}
	int e = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc == 0) {
		step = "renaming";
		rc = rename(tmp, path);
		e = errno;
	}
	if (rc < 0) {
		unlink(tmp);
		snprintf(err, errlen, "%s %s: %s (%s unchanged)", step, tmp, strerror(e), path);
		return -1;
	}
	char *dir = dir_of(path);
	if (!dir || fsync_dir(dir) < 0) {
		snprintf(err, errlen, "%s written, but its directory could not be flushed: %s",
			 path, dir ? strerror(errno) : "out of memory");
		free(dir);
		return -1;
	}
	free(dir);
	return 0;
}

char *admin_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	char *buf = malloc(max + 1);
	size_t n = 0;
	while (buf && n <= max) {
		ssize_t r = read(fd, buf + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "reading %s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!buf || n > max) {
		snprintf(err, errlen, "%s: %s", path,
			 buf ? "larger than the configuration limit" : "out of memory");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}
