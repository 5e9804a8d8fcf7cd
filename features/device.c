#include "features/device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/hash.h"
#include "features/pool.h"

struct dev_entry {
	struct device d;
	struct lru_link lru;
	uint32_t self;  /* its own index: a handle without a division */
	uint32_t hnext;
	bool touched;  /* active since it was placed at the list's tail */
};

/* The LRU lists are kept lazily, as the flow table's: activity sets a flag
 * and eviction moves flagged heads to the tail first, at most this many. */
#define EVICT_MOVES 64
/* Fresh devices always have this share of the table (see device.h). */
#define FRESH_RESERVE_DIV 8

/* One row of the address index. */
struct ip_entry {
	struct ip_addr ip;
	uint32_t dev;
	uint32_t hnext;
};

struct dev_table {
	struct dev_table_cfg cfg;
	struct pool *devs, *ips;
	uint32_t *dev_buckets, *ip_buckets;
	uint32_t dev_mask, ip_mask;
	struct lru_list fresh, settled; /* see the eviction policy in device.h */
	uint32_t fresh_reserve;
	/* The entry a lookup returned last, and when: a creation at that same
	 * time must not evict it (a packet's sender while its receiver is
	 * made). */
	uint32_t pinned;
	uint64_t pinned_us;
	uint64_t next_id;
	struct dev_stats stats;
};

static struct dev_entry *dev_at(const struct dev_table *t, uint32_t idx)
{
	return pool_at(t->devs, idx);
}

static struct ip_entry *ipe_at(const struct dev_table *t, uint32_t idx)
{
	return pool_at(t->ips, idx);
}

static uint32_t *new_buckets(uint32_t n, uint32_t *mask)
{
	uint32_t nb = 1;
	while (nb < n)
		nb <<= 1;
	uint32_t *b = malloc((size_t)nb * sizeof(*b));
	if (b)
		memset(b, 0xff, (size_t)nb * sizeof(*b));
	*mask = nb - 1;
	return b;
}

struct dev_table *dev_table_new(const struct dev_table_cfg *cfg)
{
	if (cfg->max_devices == 0 || cfg->max_devices > (1u << 24))
		return NULL;
	struct dev_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *cfg;
	if (t->cfg.seed == 0)
		t->cfg.seed = hash_random_seed();
	uint32_t max_ips = cfg->max_devices * DEV_MAX_IPS;
	t->devs = pool_new(sizeof(struct dev_entry), cfg->max_devices);
	t->ips = pool_new(sizeof(struct ip_entry), max_ips);
	t->dev_buckets = new_buckets(cfg->max_devices, &t->dev_mask);
	t->ip_buckets = new_buckets(max_ips, &t->ip_mask);
	if (!t->devs || !t->ips || !t->dev_buckets || !t->ip_buckets) {
		dev_table_free(t);
		return NULL;
	}
	lru_init(&t->fresh, offsetof(struct dev_entry, lru));
	lru_init(&t->settled, offsetof(struct dev_entry, lru));
	t->pinned = POOL_NONE;
	t->fresh_reserve = cfg->max_devices / FRESH_RESERVE_DIV ? cfg->max_devices / FRESH_RESERVE_DIV : 1;
	t->next_id = 1;
	return t;
}

void dev_table_free(struct dev_table *t)
{
	if (!t)
		return;
	pool_free(t->devs);
	pool_free(t->ips);
	free(t->dev_buckets);
	free(t->ip_buckets);
	free(t);
}

static uint32_t mac_bucket(const struct dev_table *t, const uint8_t mac[6])
{
	uint64_t v = 0;
	memcpy(&v, mac, 6);
	return (uint32_t)hash_final(hash_mix(t->cfg.seed, v)) & t->dev_mask;
}

static uint32_t ip_bucket(const struct dev_table *t, const struct ip_addr *ip, uint32_t mask)
{
	return (uint32_t)hash_final(hash_bytes16(t->cfg.seed ^ 0x5bd1e995u, ip->b)) & mask;
}

static uint32_t key_bucket(const struct dev_table *t, const struct device *d)
{
	return d->has_mac ? mac_bucket(t, d->mac) : ip_bucket(t, &d->key_ip, t->dev_mask);
}

static uint32_t *ip_link(struct dev_table *t, const struct ip_addr *ip)
{
	uint32_t *link = &t->ip_buckets[ip_bucket(t, ip, t->ip_mask)];
	while (*link != POOL_NONE && !ip_equal(&ipe_at(t, *link)->ip, ip))
		link = &ipe_at(t, *link)->hnext;
	return link;
}

static void ip_unindex(struct dev_table *t, const struct ip_addr *ip, uint32_t dev)
{
	uint32_t *link = ip_link(t, ip);
	uint32_t idx = *link;
	if (idx == POOL_NONE || ipe_at(t, idx)->dev != dev)
		return;
	*link = ipe_at(t, idx)->hnext;
	pool_release(t->ips, idx);
}

static void remove_ip(struct device *d, const struct ip_addr *ip)
{
	for (uint8_t i = 0; i < d->n_ips; i++) {
		if (!ip_equal(&d->ips[i], ip))
			continue;
		memmove(&d->ips[i], &d->ips[i + 1], (size_t)(d->n_ips - i - 1) * sizeof(d->ips[0]));
		d->n_ips--;
		return;
	}
}

/* The entry to evict from l: its least recently active, not the pinned
 * one. POOL_NONE if l holds nothing else. */
static uint32_t evict_choice(struct dev_table *t, struct lru_list *l)
{
	for (int moves = 0; moves < EVICT_MOVES && l->head != POOL_NONE && dev_at(t, l->head)->touched; moves++) {
		uint32_t idx = l->head;
		dev_at(t, idx)->touched = false;
		lru_touch(t->devs, l, idx);
	}
	if (l->head != POOL_NONE && l->head == t->pinned)
		lru_touch(t->devs, l, l->head);
	return l->head == t->pinned ? POOL_NONE : l->head;
}

/* Called with the table full, to make a device at now_us. False when the
 * only device is the pinned one. */
static bool evict(struct dev_table *t, uint64_t now_us)
{
	if (t->pinned_us != now_us)
		t->pinned = POOL_NONE;
	uint64_t fresh = t->stats.active - t->stats.settled;
	bool from_fresh = fresh > t->fresh_reserve || t->stats.settled == 0;
	struct lru_list *l = from_fresh ? &t->fresh : &t->settled;
	uint32_t idx = evict_choice(t, l);
	if (idx == POOL_NONE) {
		l = from_fresh ? &t->settled : &t->fresh;
		idx = evict_choice(t, l);
	}
	if (idx == POOL_NONE)
		return false;
	struct device *d = &dev_at(t, idx)->d;
	if (t->cfg.on_evict)
		t->cfg.on_evict(t->cfg.ctx, d);
	for (uint8_t i = 0; i < d->n_ips; i++)
		ip_unindex(t, &d->ips[i], idx);
	uint32_t *link = &t->dev_buckets[key_bucket(t, d)];
	while (*link != idx)
		link = &dev_at(t, *link)->hnext;
	*link = dev_at(t, idx)->hnext;
	lru_remove(t->devs, l, idx);
	if (!d->fresh) {
		t->stats.settled--;
		t->stats.evicted_settled++;
	}
	d->has_mac = false; /* handles to it must no longer match */
	pool_release(t->devs, idx);
	t->stats.active--;
	t->stats.evicted++;
	return true;
}

static struct device *create(struct dev_table *t, const uint8_t *mac, const struct ip_addr *ip, uint64_t now_us)
{
	uint32_t idx = pool_alloc(t->devs);
	if (idx == POOL_NONE && t->stats.active > 0 && evict(t, now_us))
		idx = pool_alloc(t->devs);
	if (idx == POOL_NONE) {
		t->stats.alloc_failed++;
		return NULL;
	}
	struct dev_entry *e = dev_at(t, idx);
	struct device *d = &e->d;
	e->self = idx;
	d->id = t->next_id++;
	if (mac) {
		d->has_mac = true;
		memcpy(d->mac, mac, 6);
	} else {
		d->key_ip = *ip;
	}
	d->first_us = d->last_us = now_us;
	d->fresh = true;
	uint32_t b = key_bucket(t, d);
	e->hnext = t->dev_buckets[b];
	t->dev_buckets[b] = idx;
	lru_push(t->devs, &t->fresh, idx);
	t->pinned = idx;
	t->pinned_us = now_us;
	t->stats.created++;
	if (++t->stats.active > t->stats.peak)
		t->stats.peak = t->stats.active;
	if (!mac)
		dev_table_bind_ip(t, d, ip);
	return d;
}

static uint32_t idx_of(const struct dev_table *t, const struct device *d)
{
	/* Entries never move, so the index is found from the key. */
	uint32_t idx = t->dev_buckets[key_bucket(t, d)];
	while (&dev_at(t, idx)->d != d)
		idx = dev_at(t, idx)->hnext;
	return idx;
}

static struct device *touch(struct dev_table *t, uint32_t idx, uint64_t now_us)
{
	struct device *d = &dev_at(t, idx)->d;
	if (now_us > d->last_us)
		d->last_us = now_us;
	dev_at(t, idx)->touched = true;
	t->pinned = idx;
	t->pinned_us = now_us;
	return d;
}

struct device *dev_table_by_mac(struct dev_table *t, const uint8_t mac[6], uint64_t now_us, bool create_it)
{
	for (uint32_t idx = t->dev_buckets[mac_bucket(t, mac)]; idx != POOL_NONE; idx = dev_at(t, idx)->hnext) {
		struct device *d = &dev_at(t, idx)->d;
		if (d->has_mac && memcmp(d->mac, mac, 6) == 0)
			return touch(t, idx, now_us);
	}
	return create_it ? create(t, mac, NULL, now_us) : NULL;
}

uint32_t dev_table_handle(const struct dev_table *t, const struct device *d)
{
	(void)t;
	/* The device is the first member of its entry. */
	return ((const struct dev_entry *)d)->self;
}

struct device *dev_table_by_handle(struct dev_table *t, uint32_t h, const uint8_t mac[6], uint64_t now_us)
{
	if (h >= t->devs->cap)
		return NULL;
	/* Released entries have has_mac cleared (see evict), and a MAC has one
	 * live device at most, so a match is that device. */
	const struct device *d = &dev_at(t, h)->d;
	if (!d->has_mac || memcmp(d->mac, mac, 6) != 0)
		return NULL;
	return touch(t, h, now_us);
}

struct device *dev_table_by_ip(struct dev_table *t, const struct ip_addr *ip, uint64_t now_us, bool create_it)
{
	uint32_t ie = *ip_link(t, ip);
	if (ie != POOL_NONE)
		return touch(t, ipe_at(t, ie)->dev, now_us);
	return create_it ? create(t, NULL, ip, now_us) : NULL;
}

void dev_table_bind_ip(struct dev_table *t, struct device *d, const struct ip_addr *ip)
{
	/* Called for every packet a device sends: most are from its newest address. */
	if (d->n_ips && ip_equal(&d->ips[d->n_ips - 1], ip))
		return;
	uint32_t didx = idx_of(t, d);
	uint32_t *link = ip_link(t, ip);
	if (*link != POOL_NONE && ipe_at(t, *link)->dev == didx) {
		/* In use again: make it the newest, so it is the last to go. */
		remove_ip(d, ip);
		d->ips[d->n_ips++] = *ip;
		return;
	}
	if (d->n_ips == DEV_MAX_IPS) {
		ip_unindex(t, &d->ips[0], didx);
		remove_ip(d, &d->ips[0]);
		link = ip_link(t, ip);
	}
	if (*link != POOL_NONE) {
		/* The address changed hands (a new DHCP lease). */
		struct ip_entry *ie = ipe_at(t, *link);
		remove_ip(&dev_at(t, ie->dev)->d, ip);
		ie->dev = didx;
	} else {
		/* Cannot fail: the pool holds DEV_MAX_IPS rows per device. */
		uint32_t idx = pool_alloc(t->ips);
		if (idx == POOL_NONE)
			return;
		struct ip_entry *ie = ipe_at(t, idx);
		ie->ip = *ip;
		ie->dev = didx;
		ie->hnext = POOL_NONE;
		*link = idx;
	}
	d->ips[d->n_ips++] = *ip;
}

bool dev_table_sent(struct dev_table *t, struct device *d, uint64_t now_us)
{
	if (!d->fresh || now_us < d->first_us + DEV_SETTLE_US)
		return false;
	uint32_t idx = dev_table_handle(t, d);
	lru_remove(t->devs, &t->fresh, idx);
	lru_push(t->devs, &t->settled, idx);
	d->fresh = false;
	t->stats.settled++;
	return true;
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = (*(struct device *const *)a)->id, y = (*(struct device *const *)b)->id;
	return (x > y) - (x < y);
}

struct device **dev_table_list(const struct dev_table *t, size_t *n)
{
	struct device **out = malloc(((size_t)pool_used(t->devs) + 1) * sizeof(*out));
	if (!out)
		return NULL;
	*n = 0;
	for (uint32_t idx = t->fresh.head; idx != POOL_NONE; idx = dev_at(t, idx)->lru.next)
		out[(*n)++] = &dev_at(t, idx)->d;
	for (uint32_t idx = t->settled.head; idx != POOL_NONE; idx = dev_at(t, idx)->lru.next)
		out[(*n)++] = &dev_at(t, idx)->d;
	qsort(out, *n, sizeof(*out), by_id);
	return out;
}

const struct dev_stats *dev_table_stats(const struct dev_table *t)
{
	return &t->stats;
}

char *dev_mac_format(const uint8_t mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}
