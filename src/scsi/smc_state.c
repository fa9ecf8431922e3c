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
	FILE *f = fopen(lib->state_path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		int e = errno;
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

int smc_save_state(struct smc_library *lib)
{
	char tmp[4096 + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", lib->state_path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		goto fail;
	fprintf(f, "# uscst vchanger: where each tape of this library is: BARCODE, its element\n"
		   "# address, the address it was last moved from (0: none).  Rewritten on\n"
		   "# every MOVE MEDIUM; edit only while uscstd is stopped.\n" STATE_MAGIC "\n");
	for (unsigned i = 0; i < lib->nelems; i++) {
		const struct smc_element *e = &lib->elems[i];
		if (e->tape >= 0)
			fprintf(f, "%s %u %u\n", lib->tapes[e->tape].barcode, e->addr,
				lib->tapes[e->tape].source);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		int e = errno;
		fclose(f);
		unlink(tmp);
		errno = e;
		goto fail;
	}
	if (fclose(f) != 0 || rename(tmp, lib->state_path) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		goto fail;
	}
	int dfd = open(lib->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		goto fail;
	int rc = fsync(dfd);
	int e = errno;
	close(dfd);
	if (rc != 0) {
		errno = e;
		goto fail;
	}
	return 0;
fail:;
	int err = errno ? errno : EIO;
	log_err("vchanger: cannot write %s: %s", lib->state_path, strerror(err));
	return -err;
}
