/* Transport registry: names, attribute tables, driver attribute values,
 * start and stop (include/uscst/transport_reg.h, core/transports.h). */
#include "core/transports.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"

#define MAX_TRANSPORTS 16

/* One configured value of a driver attribute. */
struct driver_value {
	const struct uscst_attr_def *def;
	char *value;
};

struct registered {
	const struct uscst_transport *t;
	struct driver_value *values; /* in configuration order */
	size_t nvalues;
	bool started;
};

static struct registered registry[MAX_TRANSPORTS];
static size_t nregistered;
/* Registration and configuration run at start-up; the lock only keeps a
 * late `show config` consistent. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

const struct uscst_attr_def uscst_core_target_attrs[] = {
    {.name = "enabled", .type = USCST_ATTR_BOOL, .def = "1"},
    /* Default: 1, 2, ... in the order the targets are created. */
    {.name = "rel_tgt_id", .type = USCST_ATTR_UINT, .min = 1, .max = 65535},
    {.name = NULL},
};

/* ---- registration ---- */

static struct registered *entry_of(const struct uscst_transport *t)
{
	for (size_t i = 0; i < nregistered; i++)
		if (registry[i].t == t)
			return &registry[i];
	return NULL;
}

static const char *table_problem(const struct uscst_attr_def *table, bool target_table)
{
	for (const struct uscst_attr_def *d = table; d && d->name; d++) {
		if (target_table && uscst_attr_find(uscst_core_target_attrs, d->name))
			return "target attribute that the core owns";
		if (d->type == USCST_ATTR_UINT && d->min > d->max)
			return "attribute with min > max";
		if (uscst_attr_find(table, d->name) != d)
			return "attribute listed twice";
	}
	return NULL;
}

int uscst_transport_register(const struct uscst_transport *t, unsigned abi)
{
	const char *name = t && t->name ? t->name : "?";
	if (abi != USCST_TRANSPORT_ABI) {
		log_err("transport '%s': built for transport ABI %u, this daemon has %u", name, abi,
			USCST_TRANSPORT_ABI);
		return -EPROTO;
	}
	if (!t || !t->name || !t->name[0] || strlen(t->name) > USCST_TRANSPORT_NAME_MAX ||
	    !t->start || !t->stop) {
		log_err("transport '%s': needs a name of 1 to %d characters, start and stop", name,
			USCST_TRANSPORT_NAME_MAX);
		return -EINVAL;
	}
	const char *problem = table_problem(t->target_attrs, true);
	if (!problem)
		problem = table_problem(t->driver_attrs, false);
	if (problem) {
		log_err("transport '%s': %s", name, problem);
		return -EINVAL;
	}
	pthread_mutex_lock(&registry_lock);
	int rc = 0;
	if (uscst_transport_find(t->name))
		rc = -EEXIST;
	else if (nregistered >= MAX_TRANSPORTS)
		rc = -ENOSPC;
	else
		registry[nregistered++] = (struct registered){.t = t};
	pthread_mutex_unlock(&registry_lock);
	if (rc == -EEXIST)
		log_err("transport '%s' is registered already", name);
	else if (rc == -ENOSPC)
		log_err("transport '%s': no room (at most %d transports)", name, MAX_TRANSPORTS);
	return rc;
}

const struct uscst_transport *uscst_transport_find(const char *name)
{
	for (size_t i = 0; i < nregistered; i++)
		if (strcmp(registry[i].t->name, name) == 0)
			return registry[i].t;
	return NULL;
}

const struct uscst_transport *uscst_transport_next(const struct uscst_transport *prev)
{
	size_t i = 0;
	if (prev) {
		struct registered *e = entry_of(prev);
		if (!e)
			return NULL;
		i = (size_t)(e - registry) + 1;
	}
	return i < nregistered ? registry[i].t : NULL;
}

void uscst_transport_names(char *buf, size_t len)
{
	size_t used = 0;
	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < nregistered && used < len; i++) {
		int n =
		    snprintf(buf + used, len - used, "%s'%s'", i ? ", " : "", registry[i].t->name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* ---- driver attributes ---- */

enum uscst_attr_result uscst_transport_check_driver_attr(const struct uscst_transport *t,
							 const char *name, const char *value,
							 char *err, size_t errlen)
{
	const struct uscst_attr_def *d = uscst_attr_find(t->driver_attrs, name);
	if (!d)
		return USCST_ATTR_UNKNOWN;
	if (d->flags & USCST_ATTR_NOT_BUILT)
		return USCST_ATTR_UNSUPPORTED;
	return uscst_attr_check(d, value, err, errlen) ? USCST_ATTR_OK : USCST_ATTR_BAD_VALUE;
}

static bool add_value(struct registered *e, const struct uscst_attr_def *d, const char *value)
{
	char *copy = strdup(value);
	if (!copy)
		return false;
	if (!(d->flags & USCST_ATTR_MULTI)) {
		for (size_t i = 0; i < e->nvalues; i++) {
			if (e->values[i].def == d) {
				free(e->values[i].value);
				e->values[i].value = copy;
				return true;
			}
		}
	}
	struct driver_value *v = realloc(e->values, (e->nvalues + 1) * sizeof(*v));
	if (!v) {
		free(copy);
		return false;
	}
	e->values = v;
	v[e->nvalues++] = (struct driver_value){.def = d, .value = copy};
	return true;
}

static const char *driver_attr_get(void *t, const char *name, unsigned i)
{
	return uscst_transport_driver_attr(t, name, i);
}

enum uscst_attr_result uscst_transport_set_driver_attr(const struct uscst_transport *t,
						       const char *name, const char *value,
						       char *err, size_t errlen)
{
	enum uscst_attr_result rc = uscst_transport_check_driver_attr(t, name, value, err, errlen);
	if (rc != USCST_ATTR_OK)
		return rc;
	if (t->check_with && !t->check_with(name, value, driver_attr_get, (void *)t, err, errlen))
		return USCST_ATTR_BAD_VALUE;
	pthread_mutex_lock(&registry_lock);
	struct registered *e = entry_of(t);
	if (!e || !add_value(e, uscst_attr_find(t->driver_attrs, name), value))
		rc = e ? USCST_ATTR_NO_MEMORY : USCST_ATTR_UNKNOWN;
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

static void clear_values(struct registered *e, const struct uscst_attr_def *only)
{
	size_t kept = 0;
	for (size_t i = 0; i < e->nvalues; i++) {
		if (!only || e->values[i].def == only)
			free(e->values[i].value);
		else
			e->values[kept++] = e->values[i];
	}
	e->nvalues = kept;
	if (!kept) {
		free(e->values);
		e->values = NULL;
	}
}

int uscst_live_portal(const char *driver, const char *addr, bool add, char *err, size_t errlen)
{
	const struct uscst_transport *t = uscst_transport_find(driver);
	const struct uscst_attr_def *d = t ? uscst_attr_find(t->driver_attrs, "listen") : NULL;
	if (!t) {
		snprintf(err, errlen, "unknown target driver '%s'", driver);
		return -ENOENT;
	}
	if (!d || !(add ? t->add_portal : t->remove_portal)) {
		snprintf(err, errlen, "target driver '%s' cannot change its portals while running",
			 driver);
		return -EOPNOTSUPP;
	}
	if ((add ? t->add_portal : t->remove_portal)(t, addr, err, errlen) < 0)
		return -EINVAL;
	/* The portals in force, for `show config`. */
	pthread_mutex_lock(&registry_lock);
	struct registered *e = entry_of(t);
	bool kept = true;
	if (add) {
		kept = e && add_value(e, d, addr);
	} else if (e) {
		size_t j = 0;
		for (size_t i = 0; i < e->nvalues; i++) {
			if (e->values[i].def == d && !strcmp(e->values[i].value, addr))
				free(e->values[i].value);
			else
				e->values[j++] = e->values[i];
		}
		e->nvalues = j;
	}
	pthread_mutex_unlock(&registry_lock);
	if (!kept)
		log_warn("%s: portal %s added, but not recorded (out of memory)", driver, addr);
	log_info("%s: portal %s %s", driver, addr, add ? "added" : "removed");
	return 0;
}

void uscst_transports_clear_driver_attrs(void)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < nregistered; i++)
		clear_values(&registry[i], NULL);
	pthread_mutex_unlock(&registry_lock);
}

int uscst_transports_replace_driver_attr(const char *name, const char *const *values, size_t n)
{
	int count = 0;
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < nregistered; i++) {
		struct registered *e = &registry[i];
		const struct uscst_attr_def *d = uscst_attr_find(e->t->driver_attrs, name);
		if (!d || (d->flags & USCST_ATTR_NOT_BUILT))
			continue;
		clear_values(e, d);
		for (size_t j = 0; j < n; j++) {
			if (!add_value(e, d, values[j])) {
				count = -1;
				break;
			}
		}
		if (count < 0)
			break;
		count++;
	}
	pthread_mutex_unlock(&registry_lock);
	return count;
}

const char *uscst_transport_driver_attr(const struct uscst_transport *t, const char *name,
					unsigned i)
{
	const struct uscst_attr_def *d = uscst_attr_find(t->driver_attrs, name);
	const char *found = NULL;
	if (!d)
		return NULL;
	pthread_mutex_lock(&registry_lock);
	struct registered *e = entry_of(t);
	unsigned seen = 0;
	for (size_t j = 0; e && j < e->nvalues && !found; j++)
		if (e->values[j].def == d && seen++ == i)
			found = e->values[j].value;
	pthread_mutex_unlock(&registry_lock);
	if (!found && seen == 0 && i == 0)
		found = d->def;
	return found;
}

void uscst_transport_show(const struct uscst_transport *t, uscst_attr_emit_fn emit, void *arg)
{
	if (t->show) {
		t->show(t, emit, arg);
		return;
	}
	pthread_mutex_lock(&registry_lock);
	struct registered *e = entry_of(t);
	for (const struct uscst_attr_def *d = t->driver_attrs; e && d && d->name; d++)
		for (size_t j = 0; j < e->nvalues; j++)
			if (e->values[j].def == d)
				emit(arg, d->name, e->values[j].value);
	pthread_mutex_unlock(&registry_lock);
}

/* ---- start and stop ---- */

int uscst_transports_start(char *err, size_t errlen)
{
	for (size_t i = 0; i < nregistered; i++) {
		struct registered *e = &registry[i];
		if (e->started)
			continue;
		if (e->t->start(e->t, err, errlen) < 0) {
			uscst_transports_stop();
			return -1;
		}
		e->started = true;
	}
	return 0;
}

int uscst_transports_serve(char *err, size_t errlen)
{
	for (size_t i = 0; i < nregistered; i++) {
		struct registered *e = &registry[i];
		if (e->started && e->t->serve && e->t->serve(e->t, err, errlen) < 0)
			return -1;
	}
	return 0;
}

void uscst_transports_quiesce(unsigned wait_s)
{
	for (size_t i = 0; i < nregistered; i++) {
		struct registered *e = &registry[i];
		if (e->started && e->t->quiesce)
			e->t->quiesce(e->t, wait_s);
	}
}

unsigned uscst_transports_active(void)
{
	unsigned n = 0;
	for (size_t i = 0; i < nregistered; i++) {
		struct registered *e = &registry[i];
		if (e->started && e->t->active)
			n += e->t->active(e->t);
	}
	return n;
}

void uscst_transports_stop(void)
{
	for (size_t i = nregistered; i-- > 0;) {
		struct registered *e = &registry[i];
		if (!e->started)
			continue;
		e->t->stop(e->t);
		e->started = false;
	}
}
