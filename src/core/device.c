/* Devices: configuration attributes (SCST vdisk names) and opening storage. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/backends.h"
#include "core/cmdset.h"
#include "core/core.h"
#include "core/pr.h"
#include "core/stats.h"
#include "lib/log.h"
#include "lib/names.h"

pthread_mutex_t uscst_config_lock = PTHREAD_MUTEX_INITIALIZER;
static struct list_head devices = LIST_HEAD_INIT(devices);
/* The same devices by name (open addressing, linear probing, under
 * uscst_config_lock): configurations with thousands of devices look each
 * one up once per LUN, so a list walk would make loading quadratic. */
static struct uscst_device **by_name;
static size_t by_name_cap, ndevices;
/* The devices that own a PR file, by its canonical path (pr_file_canon),
 * likewise: each open compares its PR file with every other one. */
static struct uscst_device **by_pr_file;
static size_t by_pr_file_cap, npr_files;
static char *pr_dir; /* uscst_set_pr_dir; NULL: no default pr_file_name */

bool uscst_set_pr_dir(const char *dir)
{
	char *copy = NULL;
	if (dir && *dir && !(copy = strdup(dir)))
		return false;
	free(pr_dir);
	pr_dir = copy;
	return true;
}

/* The storage a device's messages name: its handler's filename, if any. */
static const char *storage_name(const struct uscst_device *dev)
{
	const char *f = uscst_device_attr(dev, "filename");
	if (!f && dev->cmdset->whole_commands)
		f = uscst_device_attr(dev, "url"); /* a pass-through device's upstream */
	return f ? f : "";
}

/* FNV-1a: stable identifiers derived from the device name, so a restart
 * with the same configuration reports the same serial number and NAA. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

static const char *key_name(const struct uscst_device *dev) { return dev->name; }
static const char *key_pr_file(const struct uscst_device *dev) { return dev->pr_file_canon; }

/* Slot of key in an index (open addressing, linear probing): its device,
 * or the empty slot where it goes. */
static size_t index_slot(struct uscst_device **table, size_t cap,
			 const char *(*key_of)(const struct uscst_device *), const char *key)
{
	size_t i = (size_t)name_hash(key) & (cap - 1);
	while (table[i] && strcmp(key_of(table[i]), key) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

/* Adds dev (config lock held), keeping the index at most half full;
 * false on ENOMEM. */
static bool index_add(struct uscst_device ***table, size_t *cap, size_t *count,
		      const char *(*key_of)(const struct uscst_device *), struct uscst_device *dev)
{
	if (2 * (*count + 1) > *cap) {
		size_t ncap = *cap ? 2 * *cap : 64;
		struct uscst_device **t = calloc(ncap, sizeof(*t));
		if (!t)
			return false;
		for (size_t i = 0; i < *cap; i++)
			if ((*table)[i])
				t[index_slot(t, ncap, key_of, key_of((*table)[i]))] = (*table)[i];
		free(*table);
		*table = t;
		*cap = ncap;
	}
	(*table)[index_slot(*table, *cap, key_of, key_of(dev))] = dev;
	(*count)++;
	return true;
}

static struct uscst_device *index_find(struct uscst_device **table, size_t cap,
				       const char *(*key_of)(const struct uscst_device *),
				       const char *key)
{
	return cap ? table[index_slot(table, cap, key_of, key)] : NULL;
}

struct uscst_device *uscst_device_create(const char *handler, const char *name, char *err,
					 size_t errlen)
{
	const struct uscst_backend_ops *ops = uscst_backend_find(handler);
	if (!ops) {
		snprintf(err, errlen, "unknown handler '%s'", handler);
		return NULL;
	}
	const struct uscst_cmdset *cs = ops->cmdset ? uscst_cmdset_find(ops->cmdset) : NULL;
	if (!cs) {
		snprintf(err, errlen, "handler '%s': command set '%s' is not registered", handler,
			 ops->cmdset ? ops->cmdset : "(none)");
		return NULL;
	}
	if (cs->whole_commands ? !ops->exec_cmd : !ops->submit) {
		snprintf(err, errlen, "handler '%s': command set '%s' needs %s", handler, cs->name,
			 cs->whole_commands ? "exec_cmd (whole commands)" : "submit (block I/O)");
		return NULL;
	}
	if (!*name || strlen(name) >= sizeof(((struct uscst_device *)0)->name)) {
		snprintf(err, errlen, "bad device name '%s'", name);
		return NULL;
	}
	if (name_has_control_char(name)) {
		snprintf(err, errlen, "bad device name: it contains a control character");
		return NULL;
	}
	if (uscst_device_find(name)) {
		snprintf(err, errlen, "device '%s' already exists", name);
		return NULL;
	}
	/* The backend's and the command set's state come in the same zeroed
	 * allocation. */
	struct uscst_device *dev =
	    calloc(1, USCST_DEVICE_CMDSET_PRIV_OFFSET(ops->dev_priv_size) + cs->dev_priv_size);
	if (dev)
		dev->stats = uscst_stats_new(false);
	if (!dev || !dev->stats) {
		free(dev);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->backend = ops;
	dev->cmdset = cs;
	dev->block_size = 512;
	dev->thin_cfg = -1;
	dev->peripheral_type = -1;
	list_init(&dev->handler_attrs);
	dev->rotational = true;
	atomic_store_explicit(&dev->lb_per_pb_exp, true, memory_order_relaxed); /* SCST's default */
	atomic_store_explicit(&dev->medium_present, true, memory_order_relaxed);
	snprintf(dev->t10_vend_id, sizeof(dev->t10_vend_id), "USCST");
	snprintf(dev->t10_prod_id, sizeof(dev->t10_prod_id), "%.16s", name);
	snprintf(dev->prod_rev, sizeof(dev->prod_rev), "0100");
	snprintf(dev->t10_dev_id, sizeof(dev->t10_dev_id), "%s", name);
	uint64_t h = name_hash(name);
	snprintf(dev->usn, sizeof(dev->usn), "%08" PRIx64, h & 0xffffffffu);
	/* NAA 6 (IEEE Registered Extended); the low 60 bits come from the name. */
	dev->naa_id = (6ull << 60) | (h & 0x0fffffffffffffffull);
	pthread_mutex_init(&dev->lock, NULL);
	pthread_mutex_init(&dev->ranges.mutex, NULL);
	atomic_init(&dev->refs, 1);
	pthread_mutex_lock(&uscst_config_lock);
	bool indexed = index_add(&by_name, &by_name_cap, &ndevices, key_name, dev);
	if (indexed)
		list_add_tail(&dev->node, &devices);
	pthread_mutex_unlock(&uscst_config_lock);
	if (!indexed) {
		pthread_mutex_destroy(&dev->lock);
		pthread_mutex_destroy(&dev->ranges.mutex);
		uscst_stats_free(dev->stats);
		free(dev);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return dev;
}

/* pr_file_name in effect: the configured one, else --pr-dir/<name>.  A
 * name that is not a plain file name (".." or with a '/') would point
 * outside the directory, so such a device needs pr_file_name set. */
static int resolve_pr_file(struct uscst_device *dev, char *err, size_t errlen)
{
	free(dev->pr_file_name);
	dev->pr_file_name = NULL;
	if (dev->pr_file_cfg) {
		if (!dev->pr_file_cfg[0])
			return 0;
		dev->pr_file_name = strdup(dev->pr_file_cfg);
		return dev->pr_file_name ? 0 : -ENOMEM;
	}
	if (!pr_dir)
		return 0;
	if (strchr(dev->name, '/') || !strcmp(dev->name, ".") || !strcmp(dev->name, "..")) {
		snprintf(err, errlen,
			 "device '%s': the name cannot be a file in the PR directory; set "
			 "pr_file_name",
			 dev->name);
		return -EINVAL;
	}
	if (asprintf(&dev->pr_file_name, "%s/%s", pr_dir, dev->name) < 0) {
		dev->pr_file_name = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* ---- one device per backing file, one device per PR file ----
 *
 * Two devices on the same blocks would keep separate reservations, PR
 * registrations and COMPARE AND WRITE locks over them; two devices on one
 * PR file would load each other's registrations after a restart.  Files are
 * compared by what they are, not by how they are named: a second path, a
 * symlink or a hard link to the same file is the same file. */

/* What a file is: a block device by its device number (two nodes may name
 * one disk), anything else by file system and inode. */
struct file_id {
	bool blk;
	dev_t dev;
	ino_t ino;
};

static void file_id_of(const struct stat *sb, struct file_id *id)
{
	id->blk = S_ISBLK(sb->st_mode);
	id->dev = id->blk ? sb->st_rdev : sb->st_dev;
	id->ino = id->blk ? 0 : sb->st_ino;
}

/* false if dev has no storage, or none open. */
static bool dev_file_id(struct uscst_device *dev, struct file_id *id)
{
	struct stat sb;
	if (!dev->backend->storage_stat || dev->backend->storage_stat(dev, &sb) < 0)
		return false;
	file_id_of(&sb, id);
	return true;
}

/* false if path does not exist (or cannot be looked up). */
static bool path_file_id(const char *path, struct file_id *id)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		return false;
	file_id_of(&sb, id);
	return true;
}

static bool same_file(const struct file_id *a, const struct file_id *b)
{
	return a->blk == b->blk && a->dev == b->dev && a->ino == b->ino;
}

/* Open storage and existing PR files of the devices opened so far, by
 * file (under uscst_config_lock): each open looks its files up here rather
 * than stat'ing every other device's, which made loading thousands of
 * file-backed devices quadratic.  Devices are opened at start-up only, so
 * a PR file created later (by a save) cannot meet a device opened after. */
struct file_slot {
	struct file_id id;
	struct uscst_device *dev; /* NULL: empty */
};

struct file_index {
	struct file_slot *slots;
	size_t cap, count;
};

static struct file_index storage_files, pr_files;

static size_t file_slot_of(const struct file_slot *t, size_t cap, const struct file_id *id)
{
	uint64_t h = ((uint64_t)id->dev * 0x9e3779b97f4a7c15ull) ^ (uint64_t)id->ino ^ id->blk;
	size_t i = (size_t)(h * 0xff51afd7ed558ccdull >> 17) & (cap - 1);
	while (t[i].dev && !same_file(&t[i].id, id))
		i = (i + 1) & (cap - 1);
	return i;
}

/* An entry stays while its device still has that file: a device closed
 * since (unit tests close theirs) or a file replaced since does not count,
 * and its slot is taken by the next device with that file. */
static bool still_storage(struct uscst_device *dev, const struct file_id *id)
{
	struct file_id now;
	return dev_file_id(dev, &now) && same_file(&now, id);
}

static bool still_pr_file(struct uscst_device *dev, const struct file_id *id)
{
	struct file_id now;
	return dev->pr_file_name && path_file_id(dev->pr_file_name, &now) && same_file(&now, id);
}

static bool still_has(const struct file_index *x, const struct file_slot *sl)
{
	return x == &storage_files ? still_storage(sl->dev, &sl->id)
				   : still_pr_file(sl->dev, &sl->id);
}

static struct uscst_device *file_index_find(const struct file_index *x, const struct file_id *id)
{
	if (!x->cap)
		return NULL;
	const struct file_slot *sl = &x->slots[file_slot_of(x->slots, x->cap, id)];
	return sl->dev && still_has(x, sl) ? sl->dev : NULL;
}

/* false on ENOMEM; a file already there keeps its device while that one
 * still has it. */
static bool file_index_add(struct file_index *x, const struct file_id *id, struct uscst_device *dev)
{
	if (2 * (x->count + 1) > x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		struct file_slot *t = calloc(cap, sizeof(*t));
		if (!t)
			return false;
		for (size_t i = 0; i < x->cap; i++)
			if (x->slots[i].dev)
				t[file_slot_of(t, cap, &x->slots[i].id)] = x->slots[i];
		free(x->slots);
		x->slots = t;
		x->cap = cap;
	}
	struct file_slot *sl = &x->slots[file_slot_of(x->slots, x->cap, id)];
	if (!sl->dev)
		x->count++;
	if (!sl->dev || !still_has(x, sl))
		*sl = (struct file_slot){*id, dev};
	return true;
}

/* Removes every slot of dev (config lock held): each slot after it in its
 * probe run is put back where a lookup now finds it. */
static void file_index_remove(struct file_index *x, const struct uscst_device *dev)
{
	for (size_t i = 0; i < x->cap; i++) {
		if (x->slots[i].dev != dev)
			continue;
		x->slots[i].dev = NULL;
		x->count--;
		for (size_t j = (i + 1) & (x->cap - 1); x->slots[j].dev;
		     j = (j + 1) & (x->cap - 1)) {
			struct file_slot sl = x->slots[j];
			x->slots[j].dev = NULL;
			x->slots[file_slot_of(x->slots, x->cap, &sl.id)] = sl;
		}
	}
}

static void index_remove(struct uscst_device **table, size_t cap, size_t *count,
			 const char *(*key_of)(const struct uscst_device *),
			 const struct uscst_device *dev)
{
	for (size_t i = 0; i < cap; i++) {
		if (table[i] != dev)
			continue;
		table[i] = NULL;
		(*count)--;
		for (size_t j = (i + 1) & (cap - 1); table[j]; j = (j + 1) & (cap - 1)) {
			struct uscst_device *d = table[j];
			table[j] = NULL;
			table[index_slot(table, cap, key_of, key_of(d))] = d;
		}
	}
}

void core_device_unlink(struct uscst_device *dev)
{
	list_del(&dev->node);
	index_remove(by_name, by_name_cap, &ndevices, key_name, dev);
	if (dev->pr_file_canon)
		index_remove(by_pr_file, by_pr_file_cap, &npr_files, key_pr_file, dev);
	file_index_remove(&storage_files, dev);
	file_index_remove(&pr_files, dev);
}

/* Splits path into its directory and last component ("." and "" for the
 * last of "a/." and "a/").  NULL: ENOMEM. */
static char *split_path(const char *path, const char **last)
{
	const char *slash = strrchr(path, '/');
	*last = slash ? slash + 1 : path;
	if (!slash)
		return strdup(".");
	while (slash > path && slash[-1] == '/')
		slash--;
	return slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
}

/* The absolute, symlink-free name of directory `dir`, even if it does not
 * exist yet (the PR directory is created on the first save): the real path
 * of the longest existing ancestor, then the missing components with "."
 * and ".." applied by hand (no symlink can hide in what does not exist).
 * NULL: ENOMEM. */
static char *canonical_dir(const char *dir)
{
	char *real = realpath(dir, NULL);
	if (real || errno == ENOMEM)
		return real;
	if (!strcmp(dir, "/") || !strcmp(dir, "."))
		return strdup(dir); /* cannot happen short of a vanished cwd */
	const char *last;
	char *parent = split_path(dir, &last);
	if (!parent)
		return NULL;
	char *up = canonical_dir(parent);
	free(parent);
	if (!up || !*last || !strcmp(last, "."))
		return up;
	if (!strcmp(last, "..")) {
		char *s = strrchr(up, '/');
		if (s)
			s[s == up] = '\0'; /* "/a/b" -> "/a", "/a" -> "/" */
		return up;
	}
	char *out;
	if (asprintf(&out, "%s%s%s", up, up[strlen(up) - 1] == '/' ? "" : "/", last) < 0)
		out = NULL;
	free(up);
	return out;
}

/* The name under which path will be saved: the canonical directory plus
 * the file name, which is not resolved (a save renames over it).  NULL:
 * ENOMEM. */
static char *canonical_file(const char *path)
{
	const char *last;
	char *dir = split_path(path, &last);
	if (!dir)
		return NULL;
	char *out = NULL;
	if (!*last || !strcmp(last, ".") || !strcmp(last, "..")) {
		out = canonical_dir(path);
	} else {
		char *cdir = canonical_dir(dir);
		if (cdir && asprintf(&out, "%s%s%s", cdir, strcmp(cdir, "/") ? "/" : "", last) < 0)
			out = NULL;
		free(cdir);
	}
	free(dir);
	return out;
}

/* dev's storage (open) against every other device's storage and PR file
 * (existing when that device opened, or by name: fileio may just have
 * created the file).  -EBUSY with a message if shared. */
static int check_backing_unshared(struct uscst_device *dev, char *err, size_t errlen)
{
	struct file_id mine;
	if (!dev_file_id(dev, &mine))
		return 0; /* no backing storage (nullio) */
	char *canon = mine.blk ? NULL : canonical_file(storage_name(dev));
	int rc = 0;
	pthread_mutex_lock(&uscst_config_lock);
	struct uscst_device *o = file_index_find(&storage_files, &mine);
	if (o && o != dev) {
		snprintf(err, errlen,
			 "device '%s': '%s' is the backing %s of device '%s' (filename "
			 "'%s'); two devices on the same blocks would have separate "
			 "reservations and COMPARE AND WRITE locks",
			 dev->name, storage_name(dev), mine.blk ? "block device" : "file", o->name,
			 storage_name(o));
		rc = -EBUSY;
	} else {
		o = file_index_find(&pr_files, &mine);
		if (!o && canon)
			o = index_find(by_pr_file, by_pr_file_cap, key_pr_file, canon);
		if (o && o != dev) {
			snprintf(err, errlen,
				 "device '%s': '%s' is the PR file of device '%s' ('%s')",
				 dev->name, storage_name(dev), o->name, o->pr_file_name);
			rc = -EBUSY;
		}
	}
	pthread_mutex_unlock(&uscst_config_lock);
	free(canon);
	return rc;
}

/* A medium loaded at run time (an attribute marked USCST_ATTR_MEDIUM: a
 * file name, or none) against every other device's storage and PR file,
 * as check_backing_unshared does at start-up: two tape drives on one
 * image would overwrite each other's records.  A path that does not exist
 * is the backend's error to report. */
int core_device_check_medium_file(struct uscst_device *dev, const char *path, char *err,
				  size_t errlen)
{
	struct file_id id;
	if (!strcmp(path, "none") || !path_file_id(path, &id))
		return 0;
	pthread_mutex_lock(&uscst_config_lock);
	struct uscst_device *o = file_index_find(&storage_files, &id);
	const char *what = "backing file";
	if (!o || o == dev) {
		o = file_index_find(&pr_files, &id);
		what = "PR file";
	}
	int rc = 0;
	if (o && o != dev) {
		snprintf(err, errlen, "device '%s': '%s' is the %s of device '%s'; not loaded",
			 dev->name, path, what, o->name);
		rc = -EBUSY;
	}
	pthread_mutex_unlock(&uscst_config_lock);
	return rc;
}

/* After a run-time medium change: the device's storage now is its new
 * medium's file (the old file's entry lapses by itself: still_storage). */
void core_device_medium_file_changed(struct uscst_device *dev)
{
	struct file_id id;
	if (!dev_file_id(dev, &id))
		return;
	pthread_mutex_lock(&uscst_config_lock);
	if (!file_index_add(&storage_files, &id, dev))
		log_warn("device %s: out of memory indexing its new medium", dev->name);
	pthread_mutex_unlock(&uscst_config_lock);
}

/* dev's PR file (resolved, not loaded yet) against every other device's PR
 * file and every device's storage.  -EEXIST with a message if shared. */
static int check_pr_file_unshared(struct uscst_device *dev, char *err, size_t errlen)
{
	if (!dev->pr_file_name)
		return 0;
	char *mine = canonical_file(dev->pr_file_name);
	if (!mine) {
		snprintf(err, errlen, "device '%s': out of memory", dev->name);
		return -ENOMEM;
	}
	const char *dflt = dev->pr_file_cfg ? "" : " (the default, in --pr-dir)";
	struct file_id mine_id = {0};
	bool exists = path_file_id(dev->pr_file_name, &mine_id);
	int rc = 0;
	struct uscst_device *o;
	pthread_mutex_lock(&uscst_config_lock);
	/* The same name as another device's PR file. */
	o = index_find(by_pr_file, by_pr_file_cap, key_pr_file, mine);
	if (o && o != dev) {
		snprintf(err, errlen,
			 "device '%s': PR file '%s'%s is also the PR file of device '%s' "
			 "('%s'); "
			 "each device needs its own pr_file_name, or it would load the "
			 "other's registrations after a restart",
			 dev->name, dev->pr_file_name, dflt, o->name, o->pr_file_name);
		rc = -EEXIST;
	}
	if (rc == 0 && exists) {
		/* The same file under another name (a hard link), or a device's
		 * storage (this one's too): only an existing file can be either. */
		struct file_id own;
		if (dev_file_id(dev, &own) && same_file(&own, &mine_id))
			o = dev;
		else
			o = file_index_find(&storage_files, &mine_id);
		if (o) {
			snprintf(
			    err, errlen,
			    "device '%s': PR file '%s'%s is the backing file of %s '%s' ('%s')",
			    dev->name, dev->pr_file_name, dflt,
			    o == dev ? "this device," : "device", o->name, storage_name(o));
			rc = -EEXIST;
		} else if ((o = file_index_find(&pr_files, &mine_id))) {
			snprintf(err, errlen,
				 "device '%s': PR file '%s'%s is also the PR file of device '%s' "
				 "('%s'); "
				 "each device needs its own pr_file_name, or it would load the "
				 "other's registrations after a restart",
				 dev->name, dev->pr_file_name, dflt, o->name, o->pr_file_name);
			rc = -EEXIST;
		}
	}
	pthread_mutex_unlock(&uscst_config_lock);
	if (rc == 0)
		dev->pr_file_canon = mine;
	else
		free(mine);
	return rc;
}

/* dev now owns its PR file: later devices find it in the index.  false on
 * ENOMEM. */
static bool pr_file_claim(struct uscst_device *dev)
{
	struct file_id id;
	bool exists = path_file_id(dev->pr_file_name, &id);
	pthread_mutex_lock(&uscst_config_lock);
	bool ok = index_add(&by_pr_file, &by_pr_file_cap, &npr_files, key_pr_file, dev) &&
		  (!exists || file_index_add(&pr_files, &id, dev));
	pthread_mutex_unlock(&uscst_config_lock);
	return ok;
}

/* Registrations come back as data; the I_T nexuses they name come back
 * when those initiator ports log in again (same name, ISID and target). */
static int load_pr_file(struct uscst_device *dev, char *err, size_t errlen)
{
	int rc = resolve_pr_file(dev, err, errlen);
	if (rc < 0) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "device '%s': out of memory", dev->name);
		return rc;
	}
	if (!dev->pr_file_name)
		return 0;
	struct pr_state *st;
	char *text, msg[512];
	rc = check_pr_file_unshared(dev, err, errlen);
	if (rc == 0) {
		rc = pr_file_load(dev->pr_file_name, &st, &text, msg, sizeof(msg));
		if (rc < 0)
			snprintf(err, errlen, "device '%s': %s", dev->name, msg);
	}
	if (rc == 0 && !pr_file_claim(dev)) {
		snprintf(err, errlen, "device '%s': out of memory", dev->name);
		if (st) {
			pr_state_free(st);
			free(text);
		}
		rc = -ENOMEM;
	}
	if (rc < 0) {
		/* Not this device's file after all: no later device collides with it. */
		free(dev->pr_file_name);
		dev->pr_file_name = NULL;
		free(dev->pr_file_canon);
		dev->pr_file_canon = NULL;
		return rc;
	}
	if (!st)
		return 0;
	pthread_mutex_lock(&dev->lock);
	pr_state_free(atomic_load_explicit(&dev->pr, memory_order_relaxed));
	atomic_store_explicit(&dev->pr, st, memory_order_release);
	free(dev->pr_saved);
	dev->pr_saved = text;
	pthread_mutex_unlock(&dev->lock);
	log_info("device %s: %u persistent reservation registration(s) restored from %s%s",
		 dev->name, st->nregs, dev->pr_file_name,
		 pr_type(st) != PR_TYPE_NONE ? ", with a reservation" : "");
	return 0;
}

/* Besides the backend's and the PR file's errors: -EBUSY if the storage is
 * another device's (or its PR file), -EEXIST if the PR file is another
 * device's (or some device's storage); conf_apply points at the `filename`
 * or `pr_file_name` line for those.  A failed open leaves the device closed. */
int uscst_device_open(struct uscst_device *dev, char *err, size_t errlen)
{
	if (dev->cmdset->block_size)
		dev->block_size = dev->cmdset->block_size;
	/* A power of two: 512 or 4096 (the attribute's check), or 2048. */
	dev->block_shift = (uint8_t)__builtin_ctz(dev->block_size);
	atomic_store_explicit(&dev->medium_present, true, memory_order_relaxed);
	int rc = dev->backend->open(dev);
	if (rc < 0) {
		snprintf(err, errlen, "device '%s': cannot open '%s': %s", dev->name,
			 storage_name(dev), strerror(-rc));
		return rc;
	}
	uint64_t size = atomic_load_explicit(&dev->size, memory_order_relaxed);
	/* An empty drive (no medium) may have no blocks at all; nor does a
	 * device whose commands go whole to its backend (a tape, a changer):
	 * the core never addresses its blocks. */
	bool medium = atomic_load_explicit(&dev->medium_present, memory_order_relaxed);
	if (medium && size < dev->block_size && !dev->cmdset->whole_commands) {
		snprintf(err, errlen, "device '%s': size %" PRIu64 " is smaller than one block",
			 dev->name, size);
		dev->backend->close(dev);
		return -EINVAL;
	}
	rc = check_backing_unshared(dev, err, errlen);
	if (rc < 0) {
		dev->backend->close(dev);
		return rc;
	}
	uint64_t nblocks = size >> dev->block_shift;
	atomic_store_explicit(&dev->nblocks, nblocks, memory_order_relaxed);
	atomic_store_explicit(&dev->size, nblocks << dev->block_shift, memory_order_relaxed);
	dev->thin_provisioned =
	    dev->thin_cfg < 0 ? dev->discard_ok : (dev->thin_cfg && dev->discard_ok);
	if (dev->thin_cfg > 0 && !dev->discard_ok)
		log_warn("device %s: thin_provisioned 1 but %s cannot deallocate; ignored",
			 dev->name, dev->backend->name);
	dev->cmdset->power_on(dev);
	rc = load_pr_file(dev, err, errlen);
	if (rc < 0) {
		dev->backend->close(dev);
		return rc;
	}
	/* Later devices find this one's storage in the index. */
	struct file_id storage;
	if (dev_file_id(dev, &storage)) {
		pthread_mutex_lock(&uscst_config_lock);
		bool ok = file_index_add(&storage_files, &storage, dev);
		pthread_mutex_unlock(&uscst_config_lock);
		if (!ok) {
			snprintf(err, errlen, "device '%s': out of memory", dev->name);
			dev->backend->close(dev);
			return -ENOMEM;
		}
	}
	if (dev->cmdset->whole_commands)
		log_info("device %s (%s): pass-through, peripheral device type %02xh", dev->name,
			 dev->backend->name, uscst_device_peripheral_type(dev));
	else
		log_info("device %s (%s): %" PRIu64 " blocks of %u bytes%s%s", dev->name,
			 dev->backend->name, nblocks, dev->block_size,
			 atomic_load_explicit(&dev->read_only, memory_order_relaxed) ? ", read-only"
										     : "",
			 dev->thin_provisioned ? ", thin" : "");
	dev->opened = true;
	return 0;
}

int uscst_device_attach(struct uscst_device *dev, char *err, size_t errlen)
{
	return dev->cmdset->attach ? dev->cmdset->attach(dev, err, errlen) : 0;
}

struct uscst_device *uscst_device_find_locked(const char *name)
{
	return index_find(by_name, by_name_cap, key_name, name);
}

struct uscst_device *uscst_device_find(const char *name)
{
	struct uscst_device *found = NULL;
	pthread_mutex_lock(&uscst_config_lock);
	found = index_find(by_name, by_name_cap, key_name, name);
	pthread_mutex_unlock(&uscst_config_lock);
	return found;
}

void uscst_device_foreach(void (*fn)(struct uscst_device *dev, void *arg), void *arg)
{
	struct uscst_device *dev;
	pthread_mutex_lock(&uscst_config_lock);
	list_for_each_entry(dev, &devices, node) fn(dev, arg);
	pthread_mutex_unlock(&uscst_config_lock);
}

struct uscst_device *uscst_device_next(struct uscst_device *prev)
{
	struct list_head *n = prev ? prev->node.next : devices.next;
	return n == &devices ? NULL : list_entry(n, struct uscst_device, node);
}

bool uscst_prevent_set(struct uscst_device *dev, uint64_t session_id, bool prevent)
{
	unsigned i;
	for (i = 0; i < dev->nprevent; i++)
		if (dev->prevent_holders[i] == session_id)
			break;
	if (prevent && i == dev->nprevent) {
		if (dev->nprevent >= USCST_PREVENT_MAX)
			return false;
		dev->prevent_holders[dev->nprevent++] = session_id;
	} else if (!prevent && i < dev->nprevent) {
		dev->prevent_holders[i] = dev->prevent_holders[--dev->nprevent];
	}
	dev->prevent_removal = dev->nprevent > 0;
	return true;
}

void uscst_prevent_clear_all(struct uscst_device *dev)
{
	dev->nprevent = 0;
	dev->prevent_removal = false;
}
