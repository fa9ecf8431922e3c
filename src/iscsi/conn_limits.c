/*
 * Daemon-wide connection limits (conn_limits.h).  The per-address counts
 * are taken on the acceptor thread and given back wherever a connection is
 * freed, so they sit behind one mutex; an address is in the table only
 * while it has connections, so the table is at most as big as the number
 * of connections.
 */
#include "iscsi/conn_limits.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ADDR_BUCKETS 256
#define ADDR_KEY_MAX 48 /* an IPv6 text address is at most 45 characters */

struct addr_count {
	struct addr_count *next;
	unsigned conns;
	char key[ADDR_KEY_MAX];
};

static atomic_uint login_timeout_s = 30;
static atomic_uint max_conns_per_addr = 64;
static atomic_uint max_conns_total = 4096;
static atomic_uint conns_total;
static _Atomic uint64_t buf_mem_cap = UINT64_MAX;
static _Atomic uint64_t buf_mem_total;
/* The part of buf_mem_total held by connections that hold at most
 * ISCSI_BUF_MEM_GUARANTEE: the reserve is theirs alone. */
static _Atomic uint64_t buf_mem_small;
static pthread_mutex_t addr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct addr_count *addr_table[ADDR_BUCKETS];

static unsigned parse_or(const char *s, unsigned dflt)
{
	if (!s)
		return dflt;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	return *s && !*end && v <= 0xffffffffu ? (unsigned)v : dflt;
}

void iscsi_conn_limits_set(const char *login_timeout, const char *max_conns)
{
	atomic_store(&login_timeout_s, parse_or(login_timeout, 30));
	atomic_store(&max_conns_per_addr, parse_or(max_conns, 64));
}

uint32_t iscsi_login_timeout_s(void) { return atomic_load(&login_timeout_s); }

void iscsi_conns_set_max(const char *max) { atomic_store(&max_conns_total, parse_or(max, 4096)); }

/* Optimistic: a connection over the limit is counted for a moment and
 * given back, so two acceptors racing never both pass the last slot. */
bool iscsi_conns_acquire(void)
{
	unsigned max = atomic_load(&max_conns_total);
	unsigned before = atomic_fetch_add(&conns_total, 1);
	if (max && before >= max) {
		atomic_fetch_sub(&conns_total, 1);
		return false;
	}
	return true;
}

void iscsi_conns_release(void) { atomic_fetch_sub(&conns_total, 1); }

unsigned iscsi_conns_count(void) { return atomic_load(&conns_total); }

/* 0 (the default): a quarter of the machine's memory, so that buffers
 * alone never push the host into swapping or the OOM killer. */
void iscsi_buf_mem_set_cap(const char *mib)
{
	uint64_t cap = (uint64_t)parse_or(mib, 0) << 20;
	if (cap == 0) {
		long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
		cap = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page / 4 : UINT64_MAX;
	}
	atomic_store(&buf_mem_cap, cap);
}

uint64_t iscsi_buf_mem_cap(void) { return atomic_load(&buf_mem_cap); }
uint64_t iscsi_buf_mem_total(void) { return atomic_load(&buf_mem_total); }
static uint64_t small_part(uint64_t held) { return held <= ISCSI_BUF_MEM_GUARANTEE ? held : 0; }

void iscsi_buf_mem_adjust(int64_t total, int64_t small)
{
	/* Modulo 2^64: a decrease too. */
	atomic_fetch_add(&buf_mem_total, (uint64_t)total);
	atomic_fetch_add(&buf_mem_small, (uint64_t)small);
}

void iscsi_buf_mem_publish(uint64_t was, uint64_t now)
{
	iscsi_buf_mem_adjust((int64_t)(now - was), (int64_t)(small_part(now) - small_part(was)));
}

/*
 * Connections above the guarantee share the cap less the reserve; those at
 * or under it may always use the reserve, whatever the others hold, and
 * the common room besides.  The reserve used to be only the cap's last
 * eighth, which the others could not take but which the commands every
 * connection is let take with nothing else in flight (conn.c) could: four
 * sessions stuck with 16 MiB READs filled a 64 MiB cap, and a session of
 * 4 KiB READs beside them took one command per turn of the reactor.
 */
bool iscsi_buf_mem_may_take(uint64_t held, uint64_t need)
{
	uint64_t total = atomic_load(&buf_mem_total), cap = atomic_load(&buf_mem_cap);
	uint64_t reserve = cap / ISCSI_BUF_MEM_RESERVE_DIV, common = cap - reserve;
	if (held + need <= ISCSI_BUF_MEM_GUARANTEE) {
		uint64_t small = atomic_load(&buf_mem_small);
		if (small <= reserve && need <= reserve - small)
			return true;
	}
	return total <= common && need <= common - total;
}

/* The address part of "ADDR:PORT" / "[V6]:PORT"; false if it does not fit. */
static bool addr_key(const char *peer, char key[ADDR_KEY_MAX])
{
	const char *colon = strrchr(peer, ':');
	size_t len = colon ? (size_t)(colon - peer) : strlen(peer);
	if (len >= ADDR_KEY_MAX)
		return false;
	memcpy(key, peer, len);
	key[len] = '\0';
	return true;
}

static unsigned bucket_of(const char *key)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (const char *c = key; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	return h % ADDR_BUCKETS;
}

bool iscsi_addr_acquire(const char *peer)
{
	char key[ADDR_KEY_MAX];
	unsigned max = atomic_load(&max_conns_per_addr);
	if (!addr_key(peer, key))
		return max == 0;
	bool ok = true;
	pthread_mutex_lock(&addr_lock);
	struct addr_count **head = &addr_table[bucket_of(key)], *e = *head;
	while (e && strcmp(e->key, key) != 0)
		e = e->next;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (e) {
			memcpy(e->key, key, sizeof(key));
			e->next = *head;
			*head = e;
		}
	}
	if (!e || (max && e->conns >= max))
		ok = false; /* out of memory counts as over the limit */
	else
		e->conns++;
	pthread_mutex_unlock(&addr_lock);
	return ok;
}

void iscsi_addr_release(const char *peer)
{
	char key[ADDR_KEY_MAX];
	if (!addr_key(peer, key))
		return;
	pthread_mutex_lock(&addr_lock);
	struct addr_count **p = &addr_table[bucket_of(key)];
	while (*p && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	struct addr_count *e = *p;
	if (e && e->conns && --e->conns == 0) {
		*p = e->next;
		free(e);
	}
	pthread_mutex_unlock(&addr_lock);
}
