/*
 * INITIALIZE ELEMENT STATUS of a changer: the operator's side of a virtual
 * library is its directory, read again here (scsi/smc.h, smc_rescan).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "scsi/smc.h"

/* The tape (not gone) whose barcode is the one of file name, or -1. */
static int find_tape_of_file(const struct smc_library *lib, const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t len = dot ? (size_t)(dot - name) : strlen(name);
	for (unsigned i = 0; i < lib->ntapes; i++)
		if (!lib->tapes[i].gone && strlen(lib->tapes[i].barcode) == len &&
		    memcmp(lib->tapes[i].barcode, name, len) == 0)
			return (int)i;
	return -1;
}

static struct smc_element *first_empty(struct smc_library *lib, uint8_t type)
{
	for (unsigned i = 0; i < lib->nelems; i++)
		if (lib->elems[i].type == type && lib->elems[i].tape < 0)
			return &lib->elems[i];
	return NULL;
}

/* A new image found by a rescan: placed, or left out (logged) when it is
 * malformed or finds no room.  true if the map changed. */
static bool import_tape(struct smc_library *lib, int dfd, const char *name)
{
	char err[512];
	unsigned before = lib->ntapes;
	if (smc_add_tape(lib, dfd, name, err, sizeof(err)) < 0) {
		log_warn("vchanger: %s; not imported", err);
		return false;
	}
	struct smc_element *e = first_empty(lib, SMC_ELEM_IE);
	if (!e)
		e = first_empty(lib, SMC_ELEM_STORAGE);
	if (!e) {
		log_warn("vchanger: %s: no empty I/E element or slot for tape %s", lib->dir,
			 lib->tapes[before].barcode);
		free(lib->tapes[before].path);
		lib->ntapes = before;
		return false;
	}
	e->tape = (int)before;
	lib->tapes[before].imported = e->type == SMC_ELEM_IE;
	log_info("vchanger: %s: tape %s imported into element %u", lib->dir,
		 lib->tapes[before].barcode, e->addr);
	return true;
}

/* The same barcode under another extension: the tape's image is the file
 * there now (a drive holding the old one keeps it open until unloaded). */
static void rename_tape(struct smc_library *lib, int dfd, struct smc_tape *t, const char *name)
{
	if (strcmp(strrchr(t->path, '/') + 1, name) == 0)
		return;
	/* As smc_add_tape: a symbolic link is no tape image. */
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		log_warn("vchanger: %s: '%s' is not a regular file; tape %s keeps %s", lib->dir,
			 name, t->barcode, t->path);
		return;
	}
	char *path;
	if (asprintf(&path, "%s/%s", lib->dir, name) < 0)
		return;
	free(t->path);
	t->path = path;
}

int smc_rescan(struct smc_library *lib)
{
	DIR *d = opendir(lib->dir);
	if (!d) {
		int e = errno;
		log_err("vchanger: library_dir %s: %s", lib->dir, strerror(e));
		return -e;
	}
	unsigned old = lib->ntapes;
	bool *seen = calloc(old ? old : 1, sizeof(*seen));
	if (!seen) {
		closedir(d);
		return -ENOMEM;
	}
	bool changed = false;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		int t = find_tape_of_file(lib, de->d_name);
		if (t >= 0 && (unsigned)t < old) {
			seen[t] = true;
			rename_tape(lib, dirfd(d), &lib->tapes[t], de->d_name);
		} else if (t < 0) {
			changed |= import_tape(lib, dirfd(d), de->d_name);
		}
	}
	closedir(d);
	for (unsigned t = 0; t < old; t++) {
		struct smc_element *e = lib->tapes[t].gone ? NULL : smc_tape_element(lib, (int)t);
		if (seen[t] || !e)
			continue;
		if (e->type == SMC_ELEM_DRIVE) {
			log_warn("vchanger: tape %s is gone from %s but stays in its drive",
				 lib->tapes[t].barcode, lib->dir);
			continue;
		}
		log_info("vchanger: tape %s is gone from %s; element %u is empty",
			 lib->tapes[t].barcode, lib->dir, e->addr);
		e->tape = -1;
		lib->tapes[t].gone = true;
		changed = true;
	}
	free(seen);
	return changed ? smc_save_state(lib) : 0;
}
