/*
 * The state file of a changer (library_dir/SMC_STATE_FILE): where each
 * tape is, so that a restart finds them there.  Text:
 *     vchanger-state 1
 *     BARCODE ADDRESS SOURCE
 * one line per tape: ADDRESS is its element, SOURCE the element it was
 * last moved from (0: none), both decimal.  Lines starting with # are
 * comments.  A tape of the file whose image is gone is dropped (logged);
 * a tape of the directory that the file does not name goes to the first
 * empty slot, in barcode order, as all tapes do on a first start
 * (smc_library.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "scsi/smc.h"

#define STATE_MAGIC "vchanger-state 1"

/* One "BARCODE ADDRESS SOURCE" line of the state file. */
static int state_line(struct smc_library *lib, char *line, unsigned lineno, char *err,
		      size_t errlen)
{
	char barcode[64];
	unsigned addr, source;
	char extra;
	if (sscanf(line, "%63s %u %u %c", barcode, &addr, &source, &extra) != 3) {
		snprintf(err, errlen, "%s:%u: expected 'BARCODE ADDRESS SOURCE'", lib->state_path,
			 lineno);
		return -EINVAL;
	}
	int tape = smc_find_tape(lib, barcode);
	if (tape < 0) {
		log_warn("%s:%u: tape '%s' is no longer in %s; forgotten", lib->state_path, lineno,
			 barcode, lib->dir);
		return 0;
	}
	struct smc_element *e = addr <= UINT16_MAX ? smc_find_element(lib, (uint16_t)addr) : NULL;
	if (!e || e->type == SMC_ELEM_TRANSPORT) {
		snprintf(err, errlen,
			 "%s:%u: tape '%s' at element %u, which this changer does not have "
			 "(slots %u, ie_slots %u, %u drives)",
			 lib->state_path, lineno, barcode, addr, lib->nslots, lib->nie,
			 lib->ndrives);
		return -EINVAL;
	}
	if (source != 0 && (source > UINT16_MAX || !smc_find_element(lib, (uint16_t)source))) {
		snprintf(err, errlen, "%s:%u: tape '%s': source element %u does not exist",
			 lib->state_path, lineno, barcode, source);
		return -EINVAL;
	}
	if (smc_tape_element(lib, tape) || e->tape >= 0) {
		snprintf(err, errlen, "%s:%u: tape '%s' or element %u named twice", lib->state_path,
			 lineno, barcode, addr);
		return -EINVAL;
	}
	e->tape = tape;
	lib->tapes[tape].source = (uint16_t)source;
	return 0;
}

int smc_load_state(struct smc_library *lib, char *err, size_t errlen)
{
	/* O_NOFOLLOW: a link planted at the name is not read as our state. */
	int fd = open(lib->state_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	if (!f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (e == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", lib->state_path, strerror(e));
		return -e;
	}
	char line[256];
	unsigned lineno = 0;
	bool magic = false;
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		size_t n = strlen(line);
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		else if (!feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", lib->state_path, lineno);
			rc = -EINVAL;
			break;
		}
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (!magic) {
			magic = strcmp(line, STATE_MAGIC) == 0;
			if (!magic) {
				snprintf(err, errlen, "%s:%u: expected '%s'", lib->state_path,
					 lineno, STATE_MAGIC);
				rc = -EINVAL;
			}
			continue;
		}
		rc = state_line(lib, line, lineno, err, errlen);
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", lib->state_path);
		rc = -EIO;
	}
	if (rc == 0 && !magic) {
		snprintf(err, errlen, "%s: empty (expected '%s')", lib->state_path, STATE_MAGIC);
		rc = -EINVAL;
	}
	fclose(f);
	return rc;
}

/* The state text, written to fd (which it closes). */
static int write_state(struct smc_library *lib, int fd)
{
	FILE *f = fdopen(fd, "w");
	if (!f) {
		int e = errno;
		close(fd);
		return -e;
	}
	fprintf(f, "# uscst vchanger: where each tape of this library is: BARCODE, its element\n"
		   "# address, the address it was last moved from (0: none).  Rewritten on\n"
		   "# every MOVE MEDIUM; edit only while uscstd is stopped.\n" STATE_MAGIC "\n");
	for (unsigned i = 0; i < lib->nelems; i++) {
		const struct smc_element *e = &lib->elems[i];
		if (e->tape >= 0)
			fprintf(f, "%s %u %u\n", lib->tapes[e->tape].barcode, e->addr,
				lib->tapes[e->tape].source);
	}
	int rc = fflush(f) != 0 || fsync(fileno(f)) != 0 ? -errno : 0;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* library_dir is the operator's side, where others may drop and remove
 * tape images: everything here is relative to the directory's descriptor,
 * and a name someone planted there (a symbolic link to a file of ours)
 * is replaced, never followed.  The temporary is removed first (unlinkat
 * takes a link itself) and then created only if it does not exist
 * (O_EXCL, which never follows a link); renameat replaces whatever sits
 * at the state file's name. */
static int save_in(struct smc_library *lib, int dfd)
{
	static const char tmp[] = SMC_STATE_FILE ".tmp";
	if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
		return -errno;
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = write_state(lib, fd);
	if (rc == 0 && renameat(dfd, tmp, dfd, SMC_STATE_FILE) != 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(dfd, tmp, 0);
		return rc;
	}
	return fsync(dfd) != 0 ? -errno : 0;
}

int smc_save_state(struct smc_library *lib)
{
	int dfd = open(lib->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = dfd < 0 ? -errno : save_in(lib, dfd);
	if (dfd >= 0)
		close(dfd);
	if (rc < 0)
		log_err("vchanger: cannot write %s: %s", lib->state_path, strerror(-rc));
	return rc;
}
