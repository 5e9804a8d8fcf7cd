#include "features/dnscache.h"

#include <stdbool.h>
#include <stdlib.h>

#include "features/hash.h"
#include "features/pool.h"

struct dnsc_entry {
	struct ip_addr addr;
	struct device *dev;
	struct iname *name, *chain;
	uint64_t expires_us;
	uint32_t hnext;            /* bucket chain */
	struct lru_link lru;       /* overall age, in its device's class list */
	uint32_t dprev, dnext;     /* the device's entries, oldest first */
	bool settled;              /* in the settled list */
};

/* Fresh devices' answers always have this share of the cache (see the header). */
#define FRESH_RESERVE_DIV 8

struct dns_cache {
	struct pool *pool;
	uint32_t *buckets;
	uint32_t mask;
	uint32_t max_per_device;
	uint64_t seed;
	struct lru_list fresh, settled;
	uint64_t n_settled;        /* entries in the settled list */
	uint32_t fresh_reserve;
	struct intern *names;
	struct dnsc_stats stats;
};

static struct dnsc_entry *at(const struct dns_cache *c, uint32_t idx)
{
	return pool_at(c->pool, idx);
}

static uint32_t bucket(const struct dns_cache *c, const struct device *d, const struct ip_addr *addr)
{
	return (uint32_t)hash_final(hash_bytes16(c->seed ^ d->id, addr->b)) & c->mask;
}

struct dns_cache *dnsc_new(uint32_t max_entries, uint32_t max_per_device, struct intern *names, uint64_t seed)
{
	if (max_entries == 0 || max_per_device == 0)
		return NULL;
	struct dns_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	uint32_t n = 16;
	while (n < max_entries && n < (1u << 31))
		n <<= 1;
	c->pool = pool_new(sizeof(struct dnsc_entry), max_entries);
	c->buckets = malloc((size_t)n * sizeof(*c->buckets));
	if (!c->pool || !c->buckets) {
		dnsc_free(c);
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++)
		c->buckets[i] = POOL_NONE;
	c->mask = n - 1;
	c->max_per_device = max_per_device;
	c->seed = seed ? seed : hash_random_seed();
	c->names = names;
	c->fresh_reserve = max_entries / FRESH_RESERVE_DIV ? max_entries / FRESH_RESERVE_DIV : 1;
	lru_init(&c->fresh, offsetof(struct dnsc_entry, lru));
	lru_init(&c->settled, offsetof(struct dnsc_entry, lru));
	return c;
}

void dnsc_free(struct dns_cache *c)
{
	if (!c)
		return;
	struct lru_list *lists[] = {&c->fresh, &c->settled};
	for (size_t i = 0; c->pool && i < 2; i++)
		while (lists[i]->head != POOL_NONE) {
			uint32_t idx = lists[i]->head;
			struct dnsc_entry *e = at(c, idx);
			intern_put(c->names, e->name);
			intern_put(c->names, e->chain);
			lru_remove(c->pool, lists[i], idx);
		}
	pool_free(c->pool);
	free(c->buckets);
	free(c);
}

static uint32_t find(const struct dns_cache *c, const struct device *d, const struct ip_addr *addr)
{
	for (uint32_t idx = c->buckets[bucket(c, d, addr)]; idx != POOL_NONE; idx = at(c, idx)->hnext) {
		const struct dnsc_entry *e = at(c, idx);
		if (e->dev == d && ip_equal(&e->addr, addr))
			return idx;
	}
	return POOL_NONE;
}

static void drop(struct dns_cache *c, uint32_t idx)
{
	struct dnsc_entry *e = at(c, idx);
	struct device *d = e->dev;
	uint32_t *link = &c->buckets[bucket(c, d, &e->addr)];
	while (*link != idx)
		link = &at(c, *link)->hnext;
	*link = e->hnext;
	if (e->dprev != POOL_NONE)
		at(c, e->dprev)->dnext = e->dnext;
	else
		d->dns.head = e->dnext;
	if (e->dnext != POOL_NONE)
		at(c, e->dnext)->dprev = e->dprev;
	else
		d->dns.tail = e->dprev;
	d->dns.count--;
	lru_remove(c->pool, e->settled ? &c->settled : &c->fresh, idx);
	c->n_settled -= e->settled;
	intern_put(c->names, e->name);
	intern_put(c->names, e->chain);
	pool_release(c->pool, idx);
	c->stats.entries--;
}

void dnsc_add(struct dns_cache *c, struct device *d, const struct ip_addr *addr, struct iname *qname,
	      struct iname *chain, uint32_t ttl_s, uint64_t now_us)
{
	if (!qname)
		return;
	/* RFC 2181 section 8: a TTL with the top bit set means 0. Past a week
	 * (RFC 8767's cap for serving stale data) an answer is not trusted. */
	if (ttl_s & 0x80000000u)
		ttl_s = 0;
	if (ttl_s > DNSC_MAX_TTL_S)
		ttl_s = DNSC_MAX_TTL_S;
	uint32_t idx = find(c, d, addr);
	if (idx != POOL_NONE) {
		drop(c, idx);
		c->stats.replaced++;
	}
	if (d->dns.count >= c->max_per_device) {
		drop(c, d->dns.head);
		c->stats.evicted_device++;
	}
	idx = pool_alloc(c->pool);
	if (idx == POOL_NONE) {
		bool fresh = c->stats.entries - c->n_settled > c->fresh_reserve || c->n_settled == 0;
		c->stats.evicted_settled += !fresh;
		drop(c, fresh ? c->fresh.head : c->settled.head);
		c->stats.evicted_total++;
		idx = pool_alloc(c->pool);
		if (idx == POOL_NONE)
			return;
	}
	if (d->dns.count == 0)
		d->dns.head = d->dns.tail = POOL_NONE; /* a new device's links are zero, not empty */
	struct dnsc_entry *e = at(c, idx);
	e->addr = *addr;
	e->dev = d;
	e->name = intern_ref(qname);
	e->chain = intern_ref(chain);
	e->expires_us = now_us + ((uint64_t)ttl_s + DNSC_GRACE_S) * 1000000u;
	uint32_t *b = &c->buckets[bucket(c, d, addr)];
	e->hnext = *b;
	*b = idx;
	e->dprev = d->dns.tail;
	e->dnext = POOL_NONE;
	if (d->dns.tail != POOL_NONE)
		at(c, d->dns.tail)->dnext = idx;
	else
		d->dns.head = idx;
	d->dns.tail = idx;
	d->dns.count++;
	e->settled = !d->fresh;
	c->n_settled += e->settled;
	lru_push(c->pool, e->settled ? &c->settled : &c->fresh, idx);
	c->stats.added++;
	if (++c->stats.entries > c->stats.peak)
		c->stats.peak = c->stats.entries;
}

struct iname *dnsc_lookup(struct dns_cache *c, const struct device *d, const struct ip_addr *addr,
			  uint64_t now_us, bool stale_ok, struct iname **chain)
{
	*chain = NULL;
	if (d->dns.count == 0) {
		c->stats.misses++;
		return NULL;
	}
	uint32_t idx = find(c, d, addr);
	if (idx == POOL_NONE) {
		c->stats.misses++;
		return NULL;
	}
	const struct dnsc_entry *e = at(c, idx);
	if (now_us >= e->expires_us && !stale_ok) {
		c->stats.expired++;
		return NULL;
	}
	(*(now_us >= e->expires_us ? &c->stats.stale_hits : &c->stats.hits))++;
	*chain = e->chain;
	return e->name;
}

void dnsc_device_gone(struct dns_cache *c, struct device *d)
{
	while (d->dns.count > 0)
		drop(c, d->dns.head);
}

void dnsc_device_settled(struct dns_cache *c, struct device *d)
{
	for (uint32_t idx = d->dns.count ? d->dns.head : POOL_NONE; idx != POOL_NONE; idx = at(c, idx)->dnext) {
		struct dnsc_entry *e = at(c, idx);
		if (e->settled)
			continue;
		/* Appended as the newest settled answers: an approximation of
		 * their age that only delays their eviction. */
		lru_remove(c->pool, &c->fresh, idx);
		lru_push(c->pool, &c->settled, idx);
		e->settled = true;
		c->n_settled++;
	}
}

bool dnsc_shed_fresh(struct dns_cache *c)
{
	if (c->fresh.head == POOL_NONE)
		return false;
	drop(c, c->fresh.head);
	c->stats.shed++;
	return true;
}

bool dnsc_heavy(const struct dns_cache *c, const struct device *d)
{
	return d->dns.count >= (c->max_per_device + 1) / 2;
}

const struct dnsc_stats *dnsc_stats(const struct dns_cache *c)
{
	return &c->stats;
}
