/*
 * A changer's library (scsi/smc.h): its configuration, the tapes of
 * library_dir, where they are, and the state file that keeps it across a
 * restart.  Everything here runs at start-up (attach) except
 * smc_save_state, which each MOVE MEDIUM calls.
 *
 * State file (library_dir/SMC_STATE_FILE), text:
 *     vchanger-state 1
 *     BARCODE ADDRESS SOURCE
 * one line per tape: ADDRESS is its element, SOURCE the element it was
 * last moved from (0: none), both decimal.  Lines starting with # are
 * comments.  A tape of the file whose image is gone is dropped (logged);
 * a tape of the directory that the file does not name goes to the first
 * empty slot, in barcode order, as all tapes do on a first start.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "scsi/smc.h"

#define STATE_MAGIC "vchanger-state 1"

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

/* One entry of library_dir: a tape, or an error for anything that is not
 * a regular file with a good barcode.  Hidden names are not tapes. */
static int add_tape(struct smc_library *lib, int dfd, const char *name, char *err, size_t errlen)
{
	struct stat st;
	if (fstatat(dfd, name, &st, 0) < 0) {
		int e = errno;
		snprintf(err, errlen, "library_dir %s: '%s': %s", lib->dir, name, strerror(e));
		return -e;
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
			rc = add_tape(lib, dirfd(d), de->d_name, err, errlen);
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

static int find_tape(const struct smc_library *lib, const char *barcode)
{
	struct smc_tape key;
	if (!lib->ntapes || strlen(barcode) > SMC_BARCODE_MAX)
		return -1;
	memcpy(key.barcode, barcode, strlen(barcode) + 1);
	const struct smc_tape *t =
	    bsearch(&key, lib->tapes, lib->ntapes, sizeof(*lib->tapes), tape_order);
	return t ? (int)(t - lib->tapes) : -1;
}

static bool tape_placed(const struct smc_library *lib, int tape)
{
	for (unsigned i = 0; i < lib->nelems; i++)
		if (lib->elems[i].tape == tape)
			return true;
	return false;
}

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
	int tape = find_tape(lib, barcode);
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
	if (tape_placed(lib, tape) || e->tape >= 0) {
		snprintf(err, errlen, "%s:%u: tape '%s' or element %u named twice", lib->state_path,
			 lineno, barcode, addr);
		return -EINVAL;
	}
	e->tape = tape;
	lib->tapes[tape].source = (uint16_t)source;
	return 0;
}

static int load_state(struct smc_library *lib, char *err, size_t errlen)
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

/* The tapes the state file did not place go to the empty slots, in
 * barcode order. */
static int place_new_tapes(struct smc_library *lib, char *err, size_t errlen)
{
	unsigned slot = 1 + lib->nie + lib->ndrives;
	for (unsigned t = 0; t < lib->ntapes; t++) {
		if (tape_placed(lib, (int)t))
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

/* --- rescans --- */

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

static struct smc_element *element_of(struct smc_library *lib, int tape)
{
	for (unsigned i = 0; i < lib->nelems; i++)
		if (lib->elems[i].tape == tape)
			return &lib->elems[i];
	return NULL;
}

/* A new image found by a rescan: placed, or left out (logged) when it is
 * malformed or finds no room.  true if the map changed. */
static bool import_tape(struct smc_library *lib, int dfd, const char *name)
{
	char err[512];
	unsigned before = lib->ntapes;
	if (add_tape(lib, dfd, name, err, sizeof(err)) < 0) {
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
static void rename_tape(struct smc_library *lib, struct smc_tape *t, const char *name)
{
	if (strcmp(strrchr(t->path, '/') + 1, name) == 0)
		return;
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
			rename_tape(lib, &lib->tapes[t], de->d_name);
		} else if (t < 0) {
			changed |= import_tape(lib, dirfd(d), de->d_name);
		}
	}
	closedir(d);
	for (unsigned t = 0; t < old; t++) {
		struct smc_element *e = lib->tapes[t].gone ? NULL : element_of(lib, (int)t);
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
		rc = load_state(lib, err, errlen);
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
