/*
 * A changer's library (scsi/smc.h): its configuration, its drives, the
 * tapes of library_dir and where they are put on a start.  The state file
 * that keeps their places across a restart is smc_state.c's, the rescan
 * of INITIALIZE ELEMENT STATUS smc_rescan.c's.  Runs at start-up (attach).
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

static bool parse_count(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = s ? strtoul(s, &end, 10) : 0;
	if (!s || !*s || *end || errno)
		return false;
	*out = (unsigned)v;
	return true;
}

/* SMC-3 volume identifiers: graphic ASCII characters, no spaces; '*' and
 * '?' are left out, being the wildcards of volume tag templates. */
static bool barcode_char_ok(char c) { return c > 0x20 && c < 0x7f && c != '*' && c != '?'; }

struct smc_element *smc_find_element(struct smc_library *lib, uint16_t addr)
{
	unsigned i;
	if (addr == SMC_ADDR_TRANSPORT)
		i = 0;
	else if (addr >= SMC_ADDR_IE && addr < SMC_ADDR_IE + lib->nie)
		i = 1 + (addr - SMC_ADDR_IE);
	else if (addr >= SMC_ADDR_DRIVE && addr < SMC_ADDR_DRIVE + lib->ndrives)
		i = 1 + lib->nie + (addr - SMC_ADDR_DRIVE);
	else if (addr >= SMC_ADDR_SLOT && addr < SMC_ADDR_SLOT + lib->nslots)
		i = 1 + lib->nie + lib->ndrives + (addr - SMC_ADDR_SLOT);
	else
		return NULL;
	return &lib->elems[i];
}

struct uscst_device *smc_element_drive(struct smc_library *lib, const struct smc_element *e)
{
	return e->type == SMC_ELEM_DRIVE ? lib->drives[e->addr - SMC_ADDR_DRIVE] : NULL;
}

static void library_free(struct smc_library *lib)
{
	if (!lib)
		return;
	for (unsigned i = 0; i < lib->ntapes; i++)
		free(lib->tapes[i].path);
	free(lib->tapes);
	free(lib->elems);
	free(lib->dir);
	free(lib->state_path);
	pthread_mutex_destroy(&lib->lock);
	free(lib);
}

/* --- the drives --- */

struct drive_owner_search {
	const struct uscst_device *self, *drive;
	const struct stat *dir_st;
	const char *drive_owner, *dir_owner;
};

static void find_owners(struct uscst_device *dev, void *arg)
{
	struct drive_owner_search *s = arg;
	if (dev == s->self || dev->cmdset != &scsi_smc_cmdset)
		return;
	struct smc_library *lib = smc_lib(dev);
	if (!lib)
		return;
	for (unsigned i = 0; s->drive && i < lib->ndrives; i++)
		if (lib->drives[i] == s->drive)
			s->drive_owner = dev->name;
	struct stat st;
	if (s->dir_st && stat(lib->dir, &st) == 0 && st.st_dev == s->dir_st->st_dev &&
	    st.st_ino == s->dir_st->st_ino)
		s->dir_owner = dev->name;
}

/* drives: a comma-separated list of distinct vtape devices, each of no
 * other changer. */
static int parse_drives(struct uscst_device *dev, struct smc_library *lib, char *err, size_t errlen)
{
	const char *list = uscst_device_attr(dev, "drives");
	if (!list || !*list) {
		snprintf(err, errlen,
			 "changer '%s': drives is not set (the names of its vtape devices)",
			 dev->name);
		return -EINVAL;
	}
	const char *p = list;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *next = p + n + (comma ? 1 : 0);
		/* "tape0, tape1" is meant as "tape0,tape1". */
		while (n && *p == ' ')
			p++, n--;
		while (n && p[n - 1] == ' ')
			n--;
		char name[sizeof(dev->name)];
		if (n == 0 || n >= sizeof(name)) {
			snprintf(err, errlen,
				 "changer '%s': drives '%s': an empty or too long name", dev->name,
				 list);
			return -EINVAL;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (lib->ndrives == SMC_DRIVES_MAX) {
			snprintf(err, errlen, "changer '%s': drives: more than %d drives",
				 dev->name, SMC_DRIVES_MAX);
			return -EINVAL;
		}
		struct uscst_device *d = uscst_device_find(name);
		char why[256] = "";
		if (!d) {
			snprintf(err, errlen, "changer '%s': drives: '%s' is not a device",
				 dev->name, name);
			return -ENOENT;
		}
		if (!smc_drive_ops()->usable(d, why, sizeof(why))) {
			snprintf(err, errlen, "changer '%s': drives: '%s' %s", dev->name, name,
				 why);
			return -EINVAL;
		}
		for (unsigned i = 0; i < lib->ndrives; i++)
			if (lib->drives[i] == d) {
				snprintf(err, errlen, "changer '%s': drives: '%s' is named twice",
					 dev->name, name);
				return -EINVAL;
			}
		struct drive_owner_search s = {.self = dev, .drive = d};
		uscst_device_foreach(find_owners, &s);
		if (s.drive_owner) {
			snprintf(err, errlen,
				 "changer '%s': drives: '%s' is a drive of changer '%s'", dev->name,
				 name, s.drive_owner);
			return -EBUSY;
		}
		/* Kept while the changer lives, even if the drive is removed
		 * at run time (core/device_live.c). */
		atomic_fetch_add(&d->refs, 1);
		lib->drives[lib->ndrives++] = d;
		p = next;
		if (comma && !*p) {
			snprintf(err, errlen, "changer '%s': drives '%s': an empty name", dev->name,
				 list);
			return -EINVAL;
		}
	}
	return 0;
}

/* --- the tapes of library_dir --- */

static int tape_order(const void *a, const void *b)
{
	return strcmp(((const struct smc_tape *)a)->barcode, ((const struct smc_tape *)b)->barcode);
}

int smc_add_tape(struct smc_library *lib, int dfd, const char *name, char *err, size_t errlen)
{
	struct stat st;
	/* Not followed: a link could make a "tape" of any file uscstd may
	 * open, another changer's or drive's tape included. */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		snprintf(err, errlen, "library_dir %s: '%s': %s", lib->dir, name, strerror(e));
		return -e;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen,
			 "library_dir %s: '%s' is a symbolic link; put the tape image itself there",
			 lib->dir, name);
		return -EINVAL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "library_dir %s: '%s' is not a regular file (a tape image)",
			 lib->dir, name);
		return -EINVAL;
	}
	const char *dot = strrchr(name, '.');
	size_t len = dot ? (size_t)(dot - name) : strlen(name);
	if (len == 0 || len > SMC_BARCODE_MAX) {
		snprintf(err, errlen,
			 "library_dir %s: '%s': the barcode (the name without its extension) must "
			 "be 1 to %d characters",
			 lib->dir, name, SMC_BARCODE_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if (!barcode_char_ok(name[i])) {
			snprintf(err, errlen,
				 "library_dir %s: '%s': a barcode takes printable ASCII without "
				 "spaces, '*' or '?'",
				 lib->dir, name);
			return -EINVAL;
		}
	if (lib->ntapes == lib->tapes_cap) {
		unsigned ncap = lib->tapes_cap ? lib->tapes_cap * 2 : 16;
		struct smc_tape *t = realloc(lib->tapes, ncap * sizeof(*t));
		if (!t)
			goto nomem;
		lib->tapes = t;
		lib->tapes_cap = ncap;
	}
	struct smc_tape *t = &lib->tapes[lib->ntapes];
	memset(t, 0, sizeof(*t));
	memcpy(t->barcode, name, len);
	if (asprintf(&t->path, "%s/%s", lib->dir, name) < 0)
		goto nomem;
	lib->ntapes++;
	return 0;
nomem:
	snprintf(err, errlen, "library_dir %s: out of memory", lib->dir);
	return -ENOMEM;
}

static int scan_dir(struct smc_library *lib, char *err, size_t errlen)
{
	DIR *d = opendir(lib->dir);
	if (!d) {
		int e = errno;
		snprintf(err, errlen, "library_dir %s: %s", lib->dir, strerror(e));
		return -e;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			rc = smc_add_tape(lib, dirfd(d), de->d_name, err, errlen);
	closedir(d);
	if (rc < 0)
		return rc;
	if (lib->ntapes) /* an empty library has no array to sort */
		qsort(lib->tapes, lib->ntapes, sizeof(*lib->tapes), tape_order);
	for (unsigned i = 1; i < lib->ntapes; i++)
		if (strcmp(lib->tapes[i - 1].barcode, lib->tapes[i].barcode) == 0) {
			snprintf(err, errlen,
				 "library_dir %s: '%s' and '%s' have the same barcode '%s'",
				 lib->dir, strrchr(lib->tapes[i - 1].path, '/') + 1,
				 strrchr(lib->tapes[i].path, '/') + 1, lib->tapes[i].barcode);
			return -EINVAL;
		}
	return 0;
}

static int build_elements(struct smc_library *lib)
{
	lib->nelems = 1 + lib->nie + lib->ndrives + lib->nslots;
	lib->elems = calloc(lib->nelems, sizeof(*lib->elems));
	if (!lib->elems)
		return -ENOMEM;
	struct smc_element *e = lib->elems;
	*e++ = (struct smc_element){SMC_ELEM_TRANSPORT, SMC_ADDR_TRANSPORT, -1};
	for (unsigned i = 0; i < lib->nie; i++)
		*e++ = (struct smc_element){SMC_ELEM_IE, (uint16_t)(SMC_ADDR_IE + i), -1};
	for (unsigned i = 0; i < lib->ndrives; i++)
		*e++ = (struct smc_element){SMC_ELEM_DRIVE, (uint16_t)(SMC_ADDR_DRIVE + i), -1};
	for (unsigned i = 0; i < lib->nslots; i++)
		*e++ = (struct smc_element){SMC_ELEM_STORAGE, (uint16_t)(SMC_ADDR_SLOT + i), -1};
	return 0;
}

int smc_find_tape(const struct smc_library *lib, const char *barcode)
{
	struct smc_tape key;
	if (!lib->ntapes || strlen(barcode) > SMC_BARCODE_MAX)
		return -1;
	memcpy(key.barcode, barcode, strlen(barcode) + 1);
	const struct smc_tape *t =
	    bsearch(&key, lib->tapes, lib->ntapes, sizeof(*lib->tapes), tape_order);
	return t ? (int)(t - lib->tapes) : -1;
}

struct smc_element *smc_tape_element(struct smc_library *lib, int tape)
{
	for (unsigned i = 0; i < lib->nelems; i++)
		if (lib->elems[i].tape == tape)
			return &lib->elems[i];
	return NULL;
}

/* The tapes the state file did not place go to the empty slots, in
 * barcode order. */
static int place_new_tapes(struct smc_library *lib, char *err, size_t errlen)
{
	unsigned slot = 1 + lib->nie + lib->ndrives;
	for (unsigned t = 0; t < lib->ntapes; t++) {
		if (smc_tape_element(lib, (int)t))
			continue;
		while (slot < lib->nelems && lib->elems[slot].tape >= 0)
			slot++;
		if (slot == lib->nelems) {
			snprintf(err, errlen,
				 "library_dir %s: %u tapes, more than the %u slots have room for "
				 "(tape '%s' finds no empty slot)",
				 lib->dir, lib->ntapes, lib->nslots, lib->tapes[t].barcode);
			return -ENOSPC;
		}
		lib->elems[slot].tape = (int)t;
	}
	return 0;
}

static int read_config(struct uscst_device *dev, struct smc_library *lib, char *err, size_t errlen)
{
	const char *dir = uscst_device_attr(dev, "library_dir");
	if (!dir || !*dir) {
		snprintf(err, errlen, "changer '%s': library_dir is not set", dev->name);
		return -EINVAL;
	}
	if (!parse_count(uscst_device_attr(dev, "slots"), &lib->nslots) ||
	    !parse_count(uscst_device_attr(dev, "ie_slots"), &lib->nie) ||
	    lib->nslots > SMC_SLOTS_MAX || lib->nie > SMC_IE_MAX) {
		snprintf(err, errlen, "changer '%s': bad slots or ie_slots", dev->name);
		return -EINVAL;
	}
	/* Trailing slashes would only make the paths in messages ugly. */
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	lib->dir = strndup(dir, n);
	if (!lib->dir || asprintf(&lib->state_path, "%s/%s", lib->dir, SMC_STATE_FILE) < 0) {
		lib->state_path = NULL;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct stat st;
	if (stat(lib->dir, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "library_dir %s: %s", lib->dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "library_dir %s: not a directory", lib->dir);
		return -ENOTDIR;
	}
	struct drive_owner_search s = {.self = dev, .dir_st = &st};
	uscst_device_foreach(find_owners, &s);
	if (s.dir_owner) {
		snprintf(err, errlen, "library_dir %s: already the library of changer '%s'",
			 lib->dir, s.dir_owner);
		return -EBUSY;
	}
	return 0;
}

/* Loads the tapes the state puts in drives into them, and empties the
 * other drives if their configuration gave them an image (a configuration
 * written back by `show config` names the tape a drive held). */
static int load_drives(struct smc_library *lib, char *err, size_t errlen)
{
	for (unsigned i = 0; i < lib->ndrives; i++) {
		const struct smc_element *e = &lib->elems[1 + lib->nie + i];
		struct uscst_device *drive = lib->drives[i];
		const char *path = e->tape >= 0 ? lib->tapes[e->tape].path : NULL;
		const char *had = uscst_device_attr(drive, "filename");
		if (!path && (!had || strcmp(had, "none") == 0))
			continue;
		if (!path)
			log_warn("drive %s: filename %s replaced by none: the changer holds no "
				 "tape in it",
				 uscst_device_name(drive), had);
		char msg[256] = "";
		int rc = smc_drive_ops()->load(drive, path, msg, sizeof(msg));
		if (rc < 0) {
			snprintf(err, errlen, "drive '%s': cannot load %s%s%s: %s",
				 uscst_device_name(drive), path ? "tape '" : "nothing",
				 path ? lib->tapes[e->tape].barcode : "", path ? "'" : "",
				 msg[0] ? msg : strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int smc_attach(struct uscst_device *dev, char *err, size_t errlen)
{
	struct smc_dev *sd = uscst_device_cmdset_priv(dev);
	if (sd->lib)
		return 0;
	struct smc_library *lib = calloc(1, sizeof(*lib));
	if (!lib) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&lib->lock, NULL);
	int rc = read_config(dev, lib, err, errlen);
	if (rc == 0)
		rc = scan_dir(lib, err, errlen);
	if (rc == 0)
		rc = parse_drives(dev, lib, err, errlen);
	if (rc == 0 && build_elements(lib) < 0) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	}
	if (rc == 0)
		rc = smc_load_state(lib, err, errlen);
	if (rc == 0)
		rc = place_new_tapes(lib, err, errlen);
	if (rc == 0)
		rc = load_drives(lib, err, errlen);
	if (rc < 0) {
		library_free(lib);
		return rc;
	}
	sd->lib = lib;
	log_info("changer %s: %u tapes from %s, %u slots, %u import/export, %u drives", dev->name,
		 lib->ntapes, lib->dir, lib->nslots, lib->nie, lib->ndrives);
	return 0;
}

void smc_detach(struct uscst_device *dev)
{
	struct smc_dev *sd = uscst_device_cmdset_priv(dev);
	library_free(sd->lib);
	sd->lib = NULL;
}
