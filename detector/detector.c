#include "detector/detector.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/cursor.h"
#include "features/hash.h"
#include "features/intern.h"

/* Fixed, so alert ids and set layouts are the same on every run. */
#define DET_SEED 0x243f6a8885a308d3ull
#define US 1000000ull
#define DEDUP_MAX 16384
#define NEW_DOMAIN_RING 32
#define TIMELINE_BUCKETS 64
#define TIMELINE_WIDTH_US (60 * US)
/* Flows others start to one of these ports are answers to the device's own
 * queries (an SSDP search is answered to its source port), not a service
 * it offers. 32768 is where Linux's ephemeral range begins. */
#define DYNAMIC_PORTS 32768
/* Flows to one destination this close together are one contact. */
#define HB_BURST_S 2
/* A heartbeat recurs at least this often... */
#define HB_MIN_PERIOD_S 10
/* ... and steadily: its jitter (median distance from the period) at most
 * this share of it. */
#define HB_MAX_JITTER 0.25

/* A set of 64-bit keys with counts, growing to a cap. Open addressing;
 * key 0 marks an empty slot (a real key of 0 is stored as 1). It keeps
 * what its Good-Turing novelty needs: observations, keys seen once. Each
 * key has an ordinal (the order it was met) and, when rec_size is set, a
 * zeroed record of that size at that ordinal: what the profile shows. */
struct kset {
	uint64_t *keys;    /* per slot */
	uint32_t *ords;    /* per slot */
	uint32_t *counts;  /* per ordinal */
	uint32_t n, slots, max;
	uint32_t refused;    /* inserts past max */
	uint64_t total;      /* every kset_add */
	uint32_t singletons; /* keys counted exactly once */
	void *recs;        /* per ordinal */
	size_t rec_size;
	uint32_t cap;      /* ordinals counts and recs have room for */
};

#define NO_ORD UINT32_MAX

enum feature {
	F_BYTES_OUT, F_BYTES_IN, F_FLOWS_OUT, F_REMOTE_HOSTS, F_REMOTE_PORTS, F_LAN_PEERS, F_FAILED, F_DNS,
	F_DNS_NX, F_DNS_LONG, F_DNS_TXT,
	F_COUNT
};

/* Per feature: its name, the alert kind it raises, and the least value
 * that may alert at all, so a device idle for days does not alert on its
 * first busy minute. */
static const struct {
	const char *name, *kind;
	double floor;
} features[F_COUNT] = {
	[F_BYTES_OUT] = {"bytes_out", "volume_out", 1e6},
	[F_BYTES_IN] = {"bytes_in", "volume_in", 1e7},
	[F_FLOWS_OUT] = {"flows_out", "flood", 200},
	[F_REMOTE_HOSTS] = {"remote_hosts", "scan", 20},
	[F_REMOTE_PORTS] = {"remote_ports", "scan", 20},
	[F_LAN_PEERS] = {"lan_peers", "scan", 10},
	[F_FAILED] = {"failed_conns", "connection_failures", 20},
	[F_DNS] = {"dns_queries", "dns_anomaly", 60},
	[F_DNS_NX] = {"dns_nxdomain", "dns_anomaly", 20},
	[F_DNS_LONG] = {"dns_long_names", "dns_anomaly", 20},
	[F_DNS_TXT] = {"dns_txt", "dns_anomaly", 20},
};

/* Robust z past which a window feature alerts (about one window in 10^9
 * under a normal model; real features have heavy tails, hence so high). */
#define Z_ALERT 6.0
/* The least spread assumed, on the log scale: a feature that was always
 * exactly the same still needs to double twice to count. */
#define SPREAD_FLOOR 0.35
/* The score of the first LAN peer, or the first service, of a device that
 * showed none while learning; a service reached from the internet (a port
 * forward, or IPv6 without a firewall, and something answering) is worse. */
#define FIRST_LAN 0.8
/* A device joining a network that was learned: worth a look, not a fright. */
#define NEW_DEVICE_SCORE 0.8
#define FIRST_FROM_INTERNET 0.9
/* After learning, one clean window in this many feeds the baselines:
 * they adapt slowly, and an attacker cannot walk them up quickly. */
#define ADAPT_EVERY 4

static const char *const kinds[] = {
	"unexpected_destination", "new_port", "new_lan_peer", "new_inbound_service", "heartbeat_missing",
	"scan", "flood", "volume_out", "volume_in", "connection_failures", "dns_anomaly", "new_device",
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static size_t kind_index(const char *kind)
{
	size_t i = 0;
	while (i < N_KINDS - 1 && strcmp(kinds[i], kind) != 0)
		i++;
	return i;
}

/* Flows learned over time since the profile began, in TIMELINE_BUCKETS
 * buckets that double in width (merging pairs) as learning goes on: 256
 * bytes, whether it learns an hour or a week. */
struct timeline {
	uint32_t n[TIMELINE_BUCKETS];
	uint64_t width_us;
};

static void timeline_add(struct timeline *tl, uint64_t offset_us)
{
	if (!tl->width_us)
		tl->width_us = TIMELINE_WIDTH_US;
	while (offset_us / tl->width_us >= TIMELINE_BUCKETS) {
		for (int i = 0; i < TIMELINE_BUCKETS / 2; i++)
			tl->n[i] = tl->n[2 * i] + tl->n[2 * i + 1];
		memset(tl->n + TIMELINE_BUCKETS / 2, 0, sizeof(tl->n) / 2);
		tl->width_us *= 2;
	}
	tl->n[offset_us / tl->width_us]++;
}

/* Flows from offset_us on (to bucket precision: a bucket counts when it
 * begins there or later). */
static uint64_t timeline_since(const struct timeline *tl, uint64_t offset_us)
{
	uint64_t sum = 0;
	for (uint64_t i = 0; tl->width_us && i < TIMELINE_BUCKETS; i++)
		if (i * tl->width_us >= offset_us)
			sum += tl->n[i];
	return sum;
}

/* What the profile keeps of each destination (name or prefix, port and
 * transport), for the user and for heartbeats: the last HB_RING intervals
 * between its contacts while learning give its period and jitter. */
#define HB_RING 8
struct dest_rec {
	char *dest;                /* name, or prefix text */
	char *domain;              /* registrable domain, NULL when the same as dest */
	struct ip_addr addr;       /* its last address */
	uint64_t flows;            /* every flow, learned and since */
	uint64_t bytes_out, bytes_in; /* of those that ended */
	uint64_t first_us, last_us; /* first and last flow start */
	uint16_t port, l7_master, l7_app;
	uint8_t proto;
	bool named;
	bool hb_reported;          /* heartbeat_missing raised for its current silence */
	uint32_t iv_s[HB_RING];
	uint32_t intervals, max_iv_s;
};

/* A LAN peer it starts flows to, and the services it used on it. */
#define PEER_SERVICES DET_PEER_SERVICES
struct peer_rec {
	struct ip_addr ip;
	uint64_t flows, first_us, last_us;
	uint32_t services[PEER_SERVICES]; /* port << 8 | transport, while learning */
	uint32_t n_services;
};

/* One of its own services others reach. */
struct service_rec {
	struct ip_addr last_client;
	uint64_t flows, first_us, last_us;
	uint64_t from_internet;
	uint16_t port;
	uint8_t proto;
};

/* A destination a person accepted: a name and its subdomains, or a prefix. */
struct accept_rec {
	char *dest;                /* lower case, as given */
	char *reason;              /* NULL when none */
	bool is_prefix;
	struct ip_prefix net;
	uint16_t port;             /* 0: any */
	uint8_t proto;             /* 0: any */
	uint64_t since_us, until_us; /* until 0: for good */
	uint64_t flows, last_us;
};

struct samples {
	float v[DET_SAMPLES];
	uint32_t n, next;
	uint64_t seen;   /* values offered while learning */
};

/* Of one alert kind: when the last DET_KIND_BURST were raised (a ring, n of
 * them, next the oldest once full), and alerts folded since the last one
 * raised. */
struct kind_burst {
	uint64_t raised_us[DET_KIND_BURST];
	uint32_t n, next, folded;
};

struct det_profile {
	struct det_profile *next;      /* hash chain */
	uint8_t key[16];           /* MAC, or IP for a device without one */
	bool has_mac;
	uint64_t first_us, last_us;
	uint64_t learn_start_us;   /* when its (last) learning began: first_us, or a relearn */
	uint64_t learn_end_us;     /* when it started enforcing; 0 while learning */
	uint64_t learn_until_us;   /* a relearn for a set time ends then; 0: the policy decides */
	struct kset dests;         /* destination (name or prefix) + port + transport: struct dest_rec */
	struct kset hosts;         /* destination alone */
	struct kset domains;       /* registrable domain (or prefix when unnamed), counted per flow */
	/* When (s after first_us) it met its last NEW_DOMAIN_RING new domains
	 * while learning: how many were late in learning says how open it is. */
	uint32_t new_domain_s[NEW_DOMAIN_RING];
	uint32_t new_domains;
	struct timeline flows;     /* destination flows learned, over time */
	struct kset prefixes;      /* address folded to /24 or /48 */
	struct kset peers;         /* LAN peers it starts flows to: struct peer_rec */
	struct kset services;      /* its own ports others start flows to: struct service_rec */
	/* Windows per hour of the week (UTC), learned and clean since. */
	uint32_t hours[DET_HOURS_OF_WEEK];
	uint64_t hours_total;
	/* The contacts whose heartbeats are watched, chosen when learning ended. */
	uint32_t heartbeats[DET_MAX_HEARTBEATS];
	uint32_t n_heartbeats;
	bool heartbeats_chosen;
	struct accept_rec *accepts;
	uint32_t n_accepts;
	uint32_t clean_windows;
	struct samples feat[F_COUNT];
	uint64_t last_window_us;   /* end of its last window */
	uint64_t max_gap_us;       /* longest silence between its windows while learning */
	bool announced;            /* its first window was seen (new_device) */
	bool silence_reported;     /* heartbeat_missing raised for the current silence */
	struct kind_burst burst[N_KINDS];
};

struct dedup {
	uint64_t key;
	uint64_t last_us;
	uint32_t folded;
};

struct detector {
	struct det_cfg cfg;
	det_alert_fn emit;
	det_suppress_fn suppress;
	void *suppress_ctx;
	void *ctx;
	struct det_profile **buckets;
	uint32_t mask;
	uint32_t n_profiles;
	struct dedup *dedup;       /* DEDUP_MAX slots, open addressing, cleared when full */
	uint32_t n_dedup;
	uint64_t last_tick_us;
	uint64_t first_us;         /* the earliest event: the network is watched since (UINT64_MAX: none yet,
	                              as 0 is a time a capture can hold) */
	struct det_stats stats;
};

/* ---- sets ---- */

static void kset_init(struct kset *s, uint32_t max, size_t rec_size)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
	s->rec_size = rec_size;
}

static void kset_fini(struct kset *s)
{
	free(s->keys);
	free(s->counts);
	free(s->ords);
	free(s->recs);
}

/* The slot holding k, or NO_ORD. */
static uint32_t kset_slot(const struct kset *s, uint64_t k)
{
	if (!s->slots)
		return NO_ORD;
	k = k ? k : 1;
	for (uint32_t i = (uint32_t)k & (s->slots - 1);; i = (i + 1) & (s->slots - 1)) {
		if (s->keys[i] == k)
			return i;
		if (s->keys[i] == 0)
			return NO_ORD;
	}
}

static uint32_t kset_count(const struct kset *s, uint64_t k)
{
	uint32_t i = kset_slot(s, k);
	return i == NO_ORD ? 0 : s->counts[s->ords[i]];
}

/* The ordinal of k, or NO_ORD. */
static uint32_t kset_ord(const struct kset *s, uint64_t k)
{
	uint32_t i = kset_slot(s, k);
	return i == NO_ORD ? NO_ORD : s->ords[i];
}

/* The record of the key met ord-th, NULL for NO_ORD or a set without. */
static void *kset_rec(const struct kset *s, uint32_t ord)
{
	return ord < s->n && s->rec_size ? (char *)s->recs + (size_t)ord * s->rec_size : NULL;
}

static int kset_grow(struct kset *s)
{
	uint32_t slots = s->slots ? s->slots * 2 : 16;
	uint64_t *keys = calloc(slots, sizeof(*keys));
	uint32_t *ords = calloc(slots, sizeof(*ords));
	if (!keys || !ords) {
		free(keys);
		free(ords);
		return -1;
	}
	for (uint32_t i = 0; i < s->slots; i++) {
		if (!s->keys[i])
			continue;
		uint32_t j = (uint32_t)s->keys[i] & (slots - 1);
		while (keys[j])
			j = (j + 1) & (slots - 1);
		keys[j] = s->keys[i];
		ords[j] = s->ords[i];
	}
	free(s->keys);
	free(s->ords);
	s->keys = keys;
	s->ords = ords;
	s->slots = slots;
	return 0;
}

/* Memory for one more key: its slot, count and record. 0, or -1 (the set
 * unchanged but for spare room). */
static int kset_reserve(struct kset *s)
{
	if ((s->n + 1) * 4 > s->slots * 3 && kset_grow(s) != 0)
		return -1;
	if (s->n < s->cap)
		return 0;
	uint32_t cap = s->cap ? s->cap * 2 : 8;
	cap = cap > s->max ? s->max : cap;
	uint32_t *counts = realloc(s->counts, (size_t)cap * sizeof(*counts));
	if (!counts)
		return -1;
	s->counts = counts;
	if (s->rec_size) {
		void *recs = realloc(s->recs, (size_t)cap * s->rec_size);
		if (!recs)
			return -1;
		memset((char *)recs + (size_t)s->cap * s->rec_size, 0, (size_t)(cap - s->cap) * s->rec_size);
		s->recs = recs;
	}
	s->cap = cap;
	return 0;
}

/* Memory for k as a new key, when it is one and the set has room for it:
 * after a 0, kset_add(s, k) cannot run out of memory. 0, or -1. */
static int kset_room(struct kset *s, uint64_t k)
{
	if (s->n >= s->max || kset_slot(s, k) != NO_ORD)
		return 0;
	return kset_reserve(s);
}

#define KSET_FULL (-1)
#define KSET_NOMEM (-2)

/* Counts k once more; returns its count before, KSET_FULL when it is new
 * and the set is full (counted in refused: the set is open-world), or
 * KSET_NOMEM when it is new and memory ran out (the observation is
 * dropped, the set unchanged: the caller counts it). *ord gets its
 * ordinal (NO_ORD on either failure). */
static int64_t kset_add(struct kset *s, uint64_t k, uint32_t *ord)
{
	uint32_t i = kset_slot(s, k);
	*ord = NO_ORD;
	if (i == NO_ORD && s->n < s->max && kset_reserve(s) != 0)
		return KSET_NOMEM;
	s->total++;
	if (i != NO_ORD) {
		uint32_t *c = &s->counts[s->ords[i]];
		if (*c == 1)
			s->singletons--;
		if (*c < UINT32_MAX)
			(*c)++;
		*ord = s->ords[i];
		return (int64_t)*c - 1;
	}
	if (s->n >= s->max) {
		s->refused++;
		return KSET_FULL;
	}
	k = k ? k : 1;
	i = (uint32_t)k & (s->slots - 1);
	while (s->keys[i])
		i = (i + 1) & (s->slots - 1);
	s->keys[i] = k;
	s->counts[s->n] = 1;
	s->ords[i] = s->n;
	*ord = s->n++;
	s->singletons++;
	return 0;
}

/* The Good-Turing estimate, with add-one smoothing, of the chance that the
 * next observation is a key never seen: (keys seen once + 1) / (observations
 * + 2). A full set is open-world by definition. */
static double kset_novelty(const struct kset *s)
{
	if (s->refused)
		return 1;
	return ((double)s->singletons + 1.0) / ((double)s->total + 2.0);
}

/* Eight bytes at a time: names are hashed for every new flow. */
static uint64_t hash_text(uint64_t h, const char *s)
{
	size_t len = strlen(s);
	h ^= len;
	for (; len >= 8; s += 8, len -= 8) {
		uint64_t v;
		memcpy(&v, s, 8);
		h = hash_mix(h, v);
	}
	uint64_t tail = 0;
	memcpy(&tail, s, len);
	return hash_final(hash_mix(h, tail));
}

/* The address folded to its /24 (IPv4) or /48 (IPv6), as a key. */
static uint64_t prefix_key(const struct ip_addr *ip)
{
	struct ip_addr net = *ip;
	if (ip_is_v4(&net))
		net.b[15] = 0;
	else
		memset(net.b + 6, 0, 10);
	return hash_final(hash_bytes16(DET_SEED ^ 2, net.b));
}

/* How long after a device's first packet its profile may be made and
 * still learn from that packet: the profile comes when the device settles
 * (features/device.h), which a real device does within its first window. */
#define SETTLE_SLACK_US (300ull * US)

/* ---- profiles ---- */

void det_device_key(const struct device *dev, uint8_t key[16])
{
	memset(key, 0, 16);
	if (dev->has_mac)
		memcpy(key, dev->mac, 6);
	else
		memcpy(key, dev->key_ip.b, 16);
}

static uint32_t key_bucket(const struct detector *d, const uint8_t key[16])
{
	return (uint32_t)hash_final(hash_bytes16(DET_SEED, key)) & d->mask;
}

static void profile_free(struct det_profile *p)
{
	for (uint32_t i = 0; i < p->dests.n; i++) {
		struct dest_rec *r = kset_rec(&p->dests, i);
		free(r->dest);
		free(r->domain);
	}
	kset_fini(&p->dests);
	kset_fini(&p->hosts);
	kset_fini(&p->domains);
	kset_fini(&p->prefixes);
	kset_fini(&p->peers);
	kset_fini(&p->services);
	for (uint32_t i = 0; i < p->n_accepts; i++) {
		free(p->accepts[i].dest);
		free(p->accepts[i].reason);
	}
	free(p->accepts);
	free(p);
}

static void evict_oldest(struct detector *d)
{
	struct det_profile **victim = NULL;
	for (uint32_t b = 0; b <= d->mask; b++)
		for (struct det_profile **pp = &d->buckets[b]; *pp; pp = &(*pp)->next)
			if (!victim || (*pp)->last_us < (*victim)->last_us)
				victim = pp;
	if (!victim)
		return;
	struct det_profile *p = *victim;
	*victim = p->next;
	profile_free(p);
	d->n_profiles--;
	d->stats.profiles_evicted++;
}

static struct det_profile *profile_lookup(const struct detector *d, const uint8_t key[16])
{
	for (struct det_profile *p = d->buckets[key_bucket(d, key)]; p; p = p->next)
		if (memcmp(p->key, key, 16) == 0)
			return p;
	return NULL;
}

/* A new, empty profile, not yet in the table. */
static struct det_profile *profile_alloc(const uint8_t key[16], bool has_mac)
{
	struct det_profile *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	memcpy(p->key, key, 16);
	p->has_mac = has_mac;
	kset_init(&p->dests, DET_MAX_DESTS, sizeof(struct dest_rec));
	kset_init(&p->hosts, DET_MAX_DESTS, 0);
	kset_init(&p->domains, DET_MAX_DESTS, 0);
	kset_init(&p->prefixes, DET_MAX_DESTS, 0);
	kset_init(&p->peers, DET_MAX_PEERS, sizeof(struct peer_rec));
	kset_init(&p->services, DET_MAX_PEERS, sizeof(struct service_rec));
	return p;
}

/* Into the table, evicting the profile seen least recently when full. */
static void profile_insert(struct detector *d, struct det_profile *p)
{
	if (d->n_profiles >= d->cfg.max_devices)
		evict_oldest(d);
	struct det_profile **b = &d->buckets[key_bucket(d, p->key)];
	p->next = *b;
	*b = p;
	d->n_profiles++;
	d->stats.profiles++;
}

static struct det_profile *profile_for(struct detector *d, const struct device *dev, uint64_t now_us)
{
	if (now_us < d->first_us)
		d->first_us = now_us;
	uint8_t key[16];
	det_device_key(dev, key);
	struct det_profile **b = &d->buckets[key_bucket(d, key)];
	for (struct det_profile *p = *b; p; p = p->next)
		if (memcmp(p->key, key, 16) == 0) {
			if (now_us > p->last_us)
				p->last_us = now_us;
			if (now_us < p->first_us && !p->learn_end_us) {
				if (p->learn_start_us == p->first_us)
					p->learn_start_us = now_us;
				p->first_us = now_us;
			}
			return p;
		}
	/* Only a settled device (device.h) gets a profile: a spoofed source,
	 * which sends one packet, never settles, so a flood of them neither
	 * evicts real profiles nor raises new_device alerts. */
	if (dev->fresh)
		return NULL;
	struct det_profile *p = profile_alloc(key, dev->has_mac);
	if (!p) {
		/* The event goes unlearned; the next one tries again. */
		d->stats.nomem++;
		return NULL;
	}
	/* Learning runs from the device's first packet, not from the event
	 * that made its profile once it settled (its second packet, at most a
	 * window later). A device seen long before (a profile forgotten or
	 * evicted while the device stayed) learns anew from now. */
	bool just_settled = dev->first_us < now_us && now_us - dev->first_us <= SETTLE_SLACK_US;
	p->first_us = p->learn_start_us = just_settled ? dev->first_us : now_us;
	p->last_us = now_us;
	profile_insert(d, p);
	return p;
}


/* The second half of its learning. */
static uint64_t late_from_us(const struct det_profile *p)
{
	return p->learn_end_us > p->first_us ? (p->learn_end_us - p->first_us) / 2 : 0;
}

/* New domains it met in the second half of its learning: a plug meets its
 * vendor's domains at boot and then none; a phone meets new ones all day,
 * however many of its flows go to the few it uses most. */
static uint32_t late_new_domains(const struct det_profile *p)
{
	uint64_t half_s = late_from_us(p) / US;
	uint32_t n = p->new_domains < NEW_DOMAIN_RING ? p->new_domains : NEW_DOMAIN_RING, late = 0;
	for (uint32_t i = 0; i < n; i++)
		late += p->new_domain_s[i] >= half_s;
	return late;
}

/* How sure a new domain is news: 1 / (1 + new domains late in learning),
 * times the evidence, the flows late in learning (a device idle then has
 * shown nothing: no new domain, and no old one either). */
static double domain_stability(const struct det_profile *p, uint32_t late)
{
	double flows = (double)timeline_since(&p->flows, late_from_us(p));
	return 1.0 / (1.0 + late) * (1.0 - 1.0 / (flows + 2.0));
}

/* 1 - P(next flow goes to a destination, port and transport never seen). */
static double maturity(const struct det_profile *p)
{
	return 1.0 - kset_novelty(&p->dests);
}

static bool forced_learning(const struct detector *d, const struct det_profile *p)
{
	for (size_t i = 0; i < d->cfg.n_learn_keys; i++)
		if (memcmp(d->cfg.learn_keys[i], p->key, 16) == 0)
			return true;
	return false;
}

/* Learning ends once: what comes after, even an event timed a little
 * earlier (flows are scored at their last packet), is enforced. */
static bool enforcing(struct detector *d, struct det_profile *p, uint64_t now_us)
{
	if (p->learn_end_us)
		return true;
	const struct det_cfg *c = &d->cfg;
	if (forced_learning(d, p))
		return false;
	/* Flows are scored at their last packet, windows at their end: times
	 * reach a profile slightly out of order. */
	if (p->learn_until_us) {
		if (now_us < p->learn_until_us)
			return false;
		p->learn_end_us = p->learn_until_us;
		p->learn_until_us = 0;
		return true;
	}
	uint64_t age = now_us > p->learn_start_us ? now_us - p->learn_start_us : 0;
	bool done = c->learn_for_us ? age >= c->learn_for_us
				    : age >= c->learn_max_us || (age >= c->learn_min_us && maturity(p) >= c->maturity_target);
	if (done)
		p->learn_end_us = c->learn_for_us ? p->learn_start_us + c->learn_for_us : now_us;
	return done;
}

/* ---- alerts ---- */

static const char *severity(double score)
{
	return score >= 0.9 ? "high" : score >= 0.75 ? "medium" : "low";
}

static void add_reason(struct det_alert *a, const char *feature, double contribution, const char *observed,
		       const char *baseline)
{
	if (a->n_reasons == DET_MAX_REASONS)
		return;
	struct det_reason *r = &a->reasons[a->n_reasons++];
	r->feature = feature;
	r->contribution = contribution;
	snprintf(r->observed, sizeof(r->observed), "%s", observed);
	snprintf(r->baseline, sizeof(r->baseline), "%s", baseline);
}

/* Emits a unless one of the same device, kind and key went out less than
 * DET_DEDUP_S ago; then it is folded into the next one. */
static void raise_alert(struct detector *d, struct det_profile *p, struct det_alert *a)
{
	uint64_t k = hash_text(hash_bytes16(DET_SEED, p->key), a->kind);
	k = hash_text(k, a->key);
	a->suppressed_by = d->suppress ? d->suppress(d->suppress_ctx, a) : NULL;
	if (a->suppressed_by)
		k = hash_text(k, a->suppressed_by);
	k = k ? k : 1;
	if (d->n_dedup * 4 >= DEDUP_MAX * 3) {
		/* Full: forget, which at worst repeats an alert once. */
		memset(d->dedup, 0, DEDUP_MAX * sizeof(*d->dedup));
		d->n_dedup = 0;
	}
	uint32_t i = (uint32_t)k & (DEDUP_MAX - 1);
	while (d->dedup[i].key && d->dedup[i].key != k)
		i = (i + 1) & (DEDUP_MAX - 1);
	struct dedup *e = &d->dedup[i];
	/* An alert timed before the last one (out of order) is within it. */
	if (e->key == k && (a->ts_us < e->last_us || a->ts_us - e->last_us < DET_DEDUP_S * US)) {
		e->folded++;
		d->stats.deduplicated++;
		return;
	}
	/* Nothing a rule suppresses counts toward the burst. */
	if (!a->suppressed_by) {
		/* A sliding DET_DEDUP_S: fixed intervals would let a burst
		 * straddling one's end through twice. */
		struct kind_burst *b = &p->burst[kind_index(a->kind)];
		uint64_t oldest = b->raised_us[b->next];
		if (b->n == DET_KIND_BURST && (a->ts_us < oldest || a->ts_us - oldest < DET_DEDUP_S * US)) {
			b->folded++;
			d->stats.deduplicated++;
			return;
		}
		b->raised_us[b->next] = a->ts_us;
		b->next = (b->next + 1) % DET_KIND_BURST;
		if (b->n < DET_KIND_BURST)
			b->n++;
		a->others_folded = b->folded;
		b->folded = 0;
	}
	if (!e->key)
		d->n_dedup++;
	e->key = k;
	a->repeats = e->folded;
	e->folded = 0;
	e->last_us = a->ts_us;
	snprintf(a->alert_id, sizeof(a->alert_id), "%016llx",
		 (unsigned long long)hash_final(hash_mix(k, a->ts_us)));
	a->severity = severity(a->score);
	if (a->suppressed_by)
		d->stats.suppressed++;
	else
		d->stats.alerts++;
	d->emit(d->ctx, a);
}

static void alert_init(struct det_alert *a, const struct device *dev, const struct det_profile *p, const char *kind,
		       uint64_t ts_us, double score)
{
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->ts_us = ts_us;
	a->dev = dev;
	a->state = DET_ENFORCING;
	a->maturity = maturity(p);
	a->score = score < 0 ? 0 : score > 1 ? 1 : score;
}

/* ---- flows ---- */

static void fold_prefix(const struct ip_addr *ip, char *buf, size_t len)
{
	struct ip_addr net = *ip;
	char a[IP_STRLEN];
	if (ip_is_v4(&net)) {
		net.b[15] = 0;
		snprintf(buf, len, "%s/24", ip_format(&net, a, sizeof(a)));
	} else {
		memset(net.b + 6, 0, 10);
		snprintf(buf, len, "%s/48", ip_format(&net, a, sizeof(a)));
	}
}

static const char *transport(uint8_t proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : proto == 1 ? "icmp" : proto == 58 ? "icmpv6" : "ip";
}

static void learned_summary(const struct det_profile *p, char *buf, size_t len)
{
	snprintf(buf, len, "%u destinations in %llu flows learned", p->hosts.n, (unsigned long long)p->dests.total);
}

/* When a flow began: its first packet, or failing that when it was scored. */
static uint64_t flow_start(const struct flow *f, uint64_t now_us)
{
	return f->fwd.first_us ? f->fwd.first_us : now_us;
}

/* A new record takes the copies of its texts (domain NULL when the same
 * as dest). */
static void dest_rec_init(struct dest_rec *r, const struct flow *f, char *dest, char *domain)
{
	r->dest = dest;
	r->domain = domain;
	r->port = f->dport;
	r->proto = f->proto;
	r->named = f->name != NULL;
}

/* A flow to a known destination. While learning, the interval since its
 * last contact joins the ring; flows less than HB_BURST_S apart (a retry,
 * a second connection) are one contact. */
static void dest_note(struct dest_rec *r, const struct flow *f, uint64_t start, bool learning)
{
	if (r->flows && learning && start >= r->last_us + HB_BURST_S * US) {
		uint64_t iv = (start - r->last_us) / US;
		uint32_t v = iv > UINT32_MAX ? UINT32_MAX : (uint32_t)iv;
		r->iv_s[r->intervals % HB_RING] = v;
		r->intervals++;
		if (v > r->max_iv_s)
			r->max_iv_s = v;
	}
	if (!r->flows || start < r->first_us)
		r->first_us = start;
	if (start > r->last_us)
		r->last_us = start;
	r->flows++;
	r->addr = f->dst;
	if (f->l7_master || f->l7_app) {
		r->l7_master = f->l7_master;
		r->l7_app = f->l7_app;
	}
	r->hb_reported = false;
}

/* A flow's destination as a key: its name, or its prefix (hashed from
 * the address bytes: no text is made for the flows of a known prefix). */
static uint64_t dest_key(const struct flow *f)
{
	return f->name ? hash_text(DET_SEED, iname_str(f->name)) : prefix_key(&f->dst);
}

/* ... and as text: the name, or "a.b.c.0/24". */
static const char *dest_text(const struct flow *f, char *buf, size_t len)
{
	if (f->name)
		return iname_str(f->name);
	fold_prefix(&f->dst, buf, len);
	return buf;
}

/* Its registrable domain as a key (the prefix for an unnamed one), and
 * in *text, when asked, as text. */
static uint64_t domain_key(const struct detector *d, const struct flow *f, char *buf, size_t len, const char **text)
{
	if (!f->name) {
		if (text)
			*text = dest_text(f, buf, len);
		return prefix_key(&f->dst) ^ DET_SEED;
	}
	const char *name = iname_str(f->name);
	const char *dom = d->cfg.psl ? domain_registrable(d->cfg.psl, name, buf, len) : NULL;
	dom = dom ? dom : name;
	if (text)
		*text = dom;
	return hash_text(DET_SEED ^ 1, dom);
}

void det_flow_end(struct detector *d, const struct device *dev, const struct flow *f)
{
	if (f->dir != FLOW_DIR_OUTBOUND)
		return;
	uint8_t key[16];
	det_device_key(dev, key);
	struct det_profile *p = profile_lookup(d, key);
	if (!p)
		return;
	uint64_t kd = hash_mix(dest_key(f), (uint64_t)f->dport << 8 | f->proto);
	struct dest_rec *r = kset_rec(&p->dests, kset_ord(&p->dests, kd));
	if (!r)
		return;
	r->bytes_out += f->fwd.bytes;
	r->bytes_in += f->rev.bytes;
	if (f->l7_master || f->l7_app) {
		r->l7_master = f->l7_master;
		r->l7_app = f->l7_app;
	}
}

/* Whether a person accepted this flow's destination for the device (and
 * it has not expired); counts it on the first acceptance that matches. */
static bool accepted_dest(struct det_profile *p, const struct flow *f, uint64_t start, bool prefix_only)
{
	const char *name = f->name ? iname_str(f->name) : NULL;
	size_t nlen = name ? strlen(name) : 0;
	for (uint32_t i = 0; i < p->n_accepts; i++) {
		struct accept_rec *a = &p->accepts[i];
		if ((a->port && a->port != f->dport) || (a->proto && a->proto != f->proto) ||
		    (a->until_us && start >= a->until_us))
			continue;
		bool hit;
		if (prefix_only && !a->is_prefix)
			continue;
		if (a->is_prefix) {
			hit = ip_prefix_contains(&a->net, &f->dst);
		} else {
			size_t alen = strlen(a->dest);
			hit = name && nlen >= alen && strcmp(name + nlen - alen, a->dest) == 0 &&
			      (nlen == alen || name[nlen - alen - 1] == '.');
		}
		if (hit) {
			a->flows++;
			if (start > a->last_us)
				a->last_us = start;
			return true;
		}
	}
	return false;
}

/* While learning: the flow joins its destination's record and the sets.
 * The memory all of it needs is had first, so running out drops the flow
 * whole (counted) rather than learning half of it. */
static void learn_destination(struct detector *d, struct det_profile *p, const struct flow *f, uint64_t kh,
			      uint64_t kd, uint64_t kpre, uint64_t start, uint64_t now_us)
{
	char destbuf[64], domain[DET_TEXT_MAX];
	const char *dom = NULL;
	char *dest_copy = NULL, *dom_copy = NULL;
	uint32_t ord;
	bool known = kset_ord(&p->dests, kd) != NO_ORD, fresh = !known && p->dests.n < p->dests.max;
	uint64_t kdom = domain_key(d, f, domain, sizeof(domain), fresh ? &dom : NULL);
	if (fresh) {
		const char *dest = dest_text(f, destbuf, sizeof(destbuf));
		if (!(dest_copy = strdup(dest)) || (strcmp(dom, dest) && !(dom_copy = strdup(dom))))
			goto nomem;
	}
	if (kset_room(&p->dests, kd) || kset_room(&p->prefixes, kpre) || kset_room(&p->domains, kdom) ||
	    (!known && kset_room(&p->hosts, kh)))
		goto nomem;
	int64_t before = kset_add(&p->dests, kd, &ord);
	struct dest_rec *r = kset_rec(&p->dests, ord);
	if (r && before == 0)
		dest_rec_init(r, f, dest_copy, dom_copy);
	if (r)
		dest_note(r, f, start, true);
	kset_add(&p->prefixes, kpre, &ord);
	timeline_add(&p->flows, now_us > p->first_us ? now_us - p->first_us : 0);
	if (kset_add(&p->domains, kdom, &ord) == 0)
		p->new_domain_s[p->new_domains++ % NEW_DOMAIN_RING] =
			(uint32_t)(now_us > p->first_us ? (now_us - p->first_us) / US : 0);
	if (before <= 0)
		kset_add(&p->hosts, kh, &ord);
	return;
nomem:
	free(dest_copy);
	free(dom_copy);
	d->stats.nomem++;
}

static void score_destination(struct detector *d, const struct device *dev, struct det_profile *p, const struct flow *f,
			      uint64_t now_us)
{
	char destbuf[64], domain[DET_TEXT_MAX], obs[DET_TEXT_MAX], base[128];
	uint64_t service = (uint64_t)f->dport << 8 | f->proto;
	uint64_t kh = dest_key(f), kd = hash_mix(kh, service), kpre = prefix_key(&f->dst);
	uint64_t start = flow_start(f, now_us);

	if (!enforcing(d, p, now_us)) {
		learn_destination(d, p, f, kh, kd, kpre, start, now_us);
		return;
	}
	d->stats.flows_scored++;
	struct dest_rec *known = kset_rec(&p->dests, kset_ord(&p->dests, kd));
	if (known) {
		dest_note(known, f, start, false);
		return;
	}
	if (accepted_dest(p, f, start, false))
		return;
	const char *dom, *dest = dest_text(f, destbuf, sizeof(destbuf));
	uint64_t kdom = domain_key(d, f, domain, sizeof(domain), &dom);
	bool new_domain = !kset_count(&p->domains, kdom), new_port = kset_count(&p->hosts, kh) > 0;
	/* How far from anything known (level), times how rarely the device
	 * went somewhere new at that level. A new port on a known host, or a
	 * new host in a known domain (another CDN edge name), is judged by
	 * the device's destinations. A new domain is judged by its domains:
	 * a plug that talks to a few hosts of one vendor has seen each domain
	 * many times even when it saw some host once (at boot). */
	double level = new_port ? 0.8 : new_domain ? (kset_count(&p->prefixes, kpre) ? 0.8 : 1.0) : 0.5;
	uint32_t late = late_new_domains(p);
	double m = new_domain && !new_port ? domain_stability(p, late) : maturity(p);
	if (level * m < d->cfg.threshold)
		return;
	struct det_alert a;
	alert_init(&a, dev, p, new_port ? "new_port" : "unexpected_destination", now_us, level * m);
	snprintf(a.key, sizeof(a.key), "%s:%u/%s", dest, (unsigned)f->dport, transport(f->proto));
	a.flow = f;
	if (new_port) {
		snprintf(obs, sizeof(obs), "%u/%s", (unsigned)f->dport, transport(f->proto));
		add_reason(&a, "service", level, obs, "never used with this destination");
	} else {
		learned_summary(p, base, sizeof(base));
		add_reason(&a, "destination", level, dest, base);
	}
	if (new_domain && !new_port) {
		snprintf(obs, sizeof(obs), "%s (never seen)", dom);
		snprintf(base, sizeof(base), "%u domains learned; in the last half of learning %llu flows, %u new domains",
			 p->domains.n, (unsigned long long)timeline_since(&p->flows, late_from_us(p)), late);
		add_reason(&a, "domain_novelty", m, obs, base);
	} else {
		if (!new_port)
			add_reason(&a, "registrable_domain", 0, dom, "known");
		snprintf(obs, sizeof(obs), "%.3f", m);
		add_reason(&a, "maturity", m, obs, "chance of a new destination = 1 - maturity");
	}
	raise_alert(d, p, &a);
}

/* LAN peers it starts flows to (lateral movement), and its own services
 * others start flows to: a new one is judged by how rarely the set itself
 * grew while learning. A device that never did this kind of thing at all
 * has no such evidence; IoT devices are clients, and one that starts
 * serving, or reaching into the LAN, is news: it scores first_score.
 * Returns the record of a key learned, or known: NULL for a new one. */
static void *score_set(struct detector *d, const struct device *dev, struct det_profile *p, const struct flow *f,
		       uint64_t now_us, struct kset *set, uint64_t k, const char *kind, const char *feature,
		       const char *key, const char *what, double first_score)
{
	uint32_t ord;
	if (!enforcing(d, p, now_us)) {
		if (kset_add(set, k, &ord) == KSET_NOMEM)
			d->stats.nomem++;
		return kset_rec(set, ord);
	}
	d->stats.flows_scored++;
	void *known = kset_rec(set, kset_ord(set, k));
	if (known)
		return known;
	double ms = 1.0 - kset_novelty(set);
	double score = set->total ? 0.9 * ms : first_score;
	if (score < d->cfg.threshold)
		return NULL;
	struct det_alert a;
	char obs[96], base[96];
	alert_init(&a, dev, p, kind, now_us, score);
	snprintf(base, sizeof(base), "%u learned", set->n);
	add_reason(&a, feature, set->total ? 0.9 : first_score, what, base);
	if (set->total) {
		snprintf(obs, sizeof(obs), "%.3f", ms);
		snprintf(base, sizeof(base), "%llu learned, %u seen once", (unsigned long long)set->total,
			 set->singletons);
		add_reason(&a, "set_novelty", ms, obs, base);
	}
	snprintf(a.key, sizeof(a.key), "%s", key);
	a.flow = f;
	raise_alert(d, p, &a);
	return NULL;
}

static void peer_note(struct peer_rec *r, const struct flow *f, uint64_t start, bool learning)
{
	if (!r->flows || start < r->first_us)
		r->first_us = start;
	if (start > r->last_us)
		r->last_us = start;
	if (!r->flows)
		r->ip = f->dst;
	r->flows++;
	/* A dynamic port is the other end of a stream or an answer, not a
	 * service of the peer. */
	if (f->dport >= DYNAMIC_PORTS)
		return;
	uint32_t svc = (uint32_t)f->dport << 8 | f->proto;
	uint32_t i = 0;
	while (i < r->n_services && r->services[i] != svc)
		i++;
	if (learning && i == r->n_services && i < PEER_SERVICES)
		r->services[r->n_services++] = svc;
}

static void service_note(struct service_rec *r, const struct flow *f, uint64_t start)
{
	if (!r->flows || start < r->first_us)
		r->first_us = start;
	if (start > r->last_us)
		r->last_us = start;
	r->flows++;
	r->port = f->dport;
	r->proto = f->proto;
	r->last_client = f->src;
	r->from_internet += f->dir == FLOW_DIR_INBOUND;
}

/* A service is what the device accepted: a TCP connection it answered
 * with a SYN+ACK, a UDP datagram it answered. A refused port (RST) or an
 * ICMP error it received is not one. */
static bool accepted(const struct flow *f)
{
	if (f->proto == 6)
		return (f->rev.tcp_flags & 0x12) == 0x12;
	return f->proto == 17 && f->rev.packets > 0;
}

void det_flow(struct detector *d, const struct device *dev, const struct flow *f, bool initiator, uint64_t now_us)
{
	struct det_profile *p = profile_for(d, dev, now_us);
	if (!p)
		return;
	char key[IP_STRLEN + 16], what[2 * IP_STRLEN + 32], a[IP_STRLEN];
	/* Keyed by peer, and by service: one alert for a peer probed on
	 * four ports, one for a service reached from many hosts. */
	if (initiator && f->dir == FLOW_DIR_OUTBOUND) {
		score_destination(d, dev, p, f, now_us);
	} else if (initiator && f->dir == FLOW_DIR_LOCAL) {
		if (ip_is_multicast(&f->dst) || ip_is_broadcast(&f->dst))
			return;
		uint64_t kp = hash_bytes16(DET_SEED, f->dst.b);
		/* A LAN peer is accepted by its address only: a name may resolve
		 * to any address. */
		if (enforcing(d, p, now_us) && kset_ord(&p->peers, kp) == NO_ORD &&
		    accepted_dest(p, f, flow_start(f, now_us), true))
			return;
		ip_format(&f->dst, key, sizeof(key));
		snprintf(what, sizeof(what), "%s:%u/%s", key, (unsigned)f->dport, transport(f->proto));
		struct peer_rec *r = score_set(d, dev, p, f, now_us, &p->peers, kp,
					       "new_lan_peer", "lan_peer", key, what, FIRST_LAN);
		if (r)
			peer_note(r, f, flow_start(f, now_us), !p->learn_end_us);
	} else if (!initiator && (f->dir == FLOW_DIR_INBOUND || f->dir == FLOW_DIR_LOCAL) &&
		   f->dport < DYNAMIC_PORTS && accepted(f)) {
		snprintf(key, sizeof(key), "%u/%s", (unsigned)f->dport, transport(f->proto));
		snprintf(what, sizeof(what), "%s from %s", key, ip_format(&f->src, a, sizeof(a)));
		struct service_rec *r =
			score_set(d, dev, p, f, now_us, &p->services, hash_mix(DET_SEED, (uint64_t)f->dport << 8 | f->proto),
				  "new_inbound_service", "inbound_service", key, what,
				  f->dir == FLOW_DIR_INBOUND ? FIRST_FROM_INTERNET : FIRST_LAN);
		if (r)
			service_note(r, f, flow_start(f, now_us));
	}
}

/* ---- windows ---- */

static int cmp_float(const void *x, const void *y)
{
	float a = *(const float *)x, b = *(const float *)y;
	return (a > b) - (a < b);
}

/* While learning: a uniform sample of every window since the first
 * (reservoir sampling, seeded by the device so replays agree), so a day of
 * learning is judged as a day and not as its last two hours. */
static void samples_learn(struct samples *s, float v, uint64_t seed)
{
	s->seen++;
	if (s->n < DET_SAMPLES) {
		s->v[s->n++] = v;
		return;
	}
	uint64_t j = hash_final(hash_mix(seed, s->seen)) % s->seen;
	if (j < DET_SAMPLES)
		s->v[j] = v;
}

/* After learning: the oldest value goes (slow adaptation). */
static void samples_add(struct samples *s, float v)
{
	s->v[s->next] = v;
	s->next = (s->next + 1) % DET_SAMPLES;
	if (s->n < DET_SAMPLES)
		s->n++;
}

/* Median and MAD of the samples (on the log scale they are kept in). */
static void samples_stats(const struct samples *s, double *median, double *mad)
{
	float v[DET_SAMPLES];
	memcpy(v, s->v, s->n * sizeof(float));
	qsort(v, s->n, sizeof(float), cmp_float);
	*median = s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2.0;
	for (uint32_t i = 0; i < s->n; i++)
		v[i] = (float)fabs(v[i] - *median);
	qsort(v, s->n, sizeof(float), cmp_float);
	*mad = s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2.0;
}

static double feature_value(const struct dev_window *w, enum feature f)
{
	switch (f) {
	case F_BYTES_OUT: return (double)w->bytes_out;
	case F_BYTES_IN: return (double)w->bytes_in;
	case F_FLOWS_OUT: return w->flows_out;
	case F_REMOTE_HOSTS: return w->remote_hosts;
	case F_REMOTE_PORTS: return w->remote_ports;
	case F_LAN_PEERS: return w->lan_peers;
	case F_FAILED: return w->failed_conns;
	case F_DNS: return w->dns_queries;
	case F_DNS_NX: return w->dns_nxdomain;
	case F_DNS_LONG: return w->dns_long_names;
	case F_DNS_TXT: return w->dns_txt;
	default: return 0;
	}
}

/* A device first seen once the network itself has been learned (as long
 * as a device learns) joined it: announced at its first whole window, so the
 * alert carries the name and vendor its DHCP and mDNS gave. A device that
 * was there from the start is not news; one whose profile was evicted
 * (DET cap) and comes back is announced again. */
static void announce(struct detector *d, struct det_profile *p, const struct dev_window *w)
{
	p->announced = true;
	uint64_t settle = d->cfg.learn_for_us ? d->cfg.learn_for_us : d->cfg.learn_min_us;
	uint64_t since = p->first_us > d->first_us ? p->first_us - d->first_us : 0;
	if (since < settle || NEW_DEVICE_SCORE < d->cfg.threshold || forced_learning(d, p))
		return;
	struct det_alert a;
	char obs[64], base[96];
	alert_init(&a, w->dev, p, "new_device", w->end_us, NEW_DEVICE_SCORE);
	a.state = DET_LEARNING;
	snprintf(obs, sizeof(obs), "first seen %llu s after the capture began",
		 (unsigned long long)(since / US));
	snprintf(base, sizeof(base), "%u devices known", d->n_profiles - 1);
	add_reason(&a, "device", NEW_DEVICE_SCORE, obs, base);
	snprintf(a.key, sizeof(a.key), "new_device");
	raise_alert(d, p, &a);
}

/* Hours since Monday 00:00 UTC (1 January 1970 was a Thursday). */
static unsigned hour_of_week(uint64_t us)
{
	return (unsigned)((us / (3600 * US) + 72) % DET_HOURS_OF_WEEK);
}

static void count_hour(struct det_profile *p, unsigned how)
{
	if (p->hours[how] < UINT32_MAX)
		p->hours[how]++;
	p->hours_total++;
}

/* Context, not evidence: whether the device is usually busy at this hour. */
static void hour_reason(struct det_alert *a, const struct det_profile *p, unsigned how)
{
	static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	char obs[32], base[96];
	snprintf(obs, sizeof(obs), "%s %02u:00-%02u:59 UTC", days[how / 24], how % 24, how % 24);
	snprintf(base, sizeof(base), "%u of %llu normal windows fell in this hour of the week", p->hours[how],
		 (unsigned long long)p->hours_total);
	add_reason(a, "hour_of_week", 0, obs, base);
}

void det_window(struct detector *d, const struct dev_window *w)
{
	/* A partial window (end of capture, eviction) is not a whole minute. */
	if (w->partial)
		return;
	struct det_profile *p = profile_for(d, w->dev, w->end_us);
	if (!p)
		return;
	if (!p->announced)
		announce(d, p, w);
	if (p->last_window_us && w->start_us > p->last_window_us && !enforcing(d, p, w->end_us)) {
		uint64_t gap = w->start_us - p->last_window_us;
		if (gap > p->max_gap_us)
			p->max_gap_us = gap;
	}
	p->last_window_us = w->end_us;
	p->silence_reported = false;
	float x[F_COUNT];
	unsigned how = hour_of_week(w->start_us);
	for (int f = 0; f < F_COUNT; f++)
		x[f] = (float)log1p(feature_value(w, (enum feature)f));
	if (!enforcing(d, p, w->end_us)) {
		uint64_t seed = hash_bytes16(DET_SEED, p->key);
		for (int f = 0; f < F_COUNT; f++)
			samples_learn(&p->feat[f], x[f], hash_mix(seed, (uint64_t)f));
		count_hour(p, how);
		return;
	}
	d->stats.windows_scored++;
	double z[F_COUNT] = {0}, med[F_COUNT] = {0};
	bool anomalous = false;
	for (int f = 0; f < F_COUNT; f++) {
		const struct samples *s = &p->feat[f];
		double mad;
		if (s->n < 8 || feature_value(w, (enum feature)f) < features[f].floor)
			continue;
		samples_stats(s, &med[f], &mad);
		double spread = 1.4826 * mad > SPREAD_FLOOR ? 1.4826 * mad : SPREAD_FLOOR;
		z[f] = (x[f] - med[f]) / spread;
		anomalous |= z[f] >= Z_ALERT;
	}
	if (!anomalous) {
		/* Poisoning resistance: only clean windows feed the baselines. */
		count_hour(p, how);
		if (++p->clean_windows % ADAPT_EVERY == 0)
			for (int f = 0; f < F_COUNT; f++)
				samples_add(&p->feat[f], x[f]);
		return;
	}
	/* One alert per kind, its reasons the features that raised it. */
	for (int f = 0; f < F_COUNT; f++) {
		if (z[f] < Z_ALERT)
			continue;
		const char *kind = features[f].kind;
		bool first = true;
		for (int g = 0; g < f; g++)
			first &= !(z[g] >= Z_ALERT && !strcmp(features[g].kind, kind));
		if (!first)
			continue;
		struct det_alert a;
		double zmax = 0, ztotal = 0;
		for (int g = f; g < F_COUNT; g++)
			if (z[g] >= Z_ALERT && !strcmp(features[g].kind, kind)) {
				ztotal += z[g];
				zmax = z[g] > zmax ? z[g] : zmax;
			}
		/* z = 6 scores 0.5, z = 12 scores 1. */
		double score = (zmax - 3.0) / 6.0;
		if (score < d->cfg.threshold)
			continue;
		alert_init(&a, w->dev, p, kind, w->end_us, score);
		for (int g = f; g < F_COUNT; g++) {
			if (z[g] < Z_ALERT || strcmp(features[g].kind, kind))
				continue;
			char obs[96], base[96];
			snprintf(obs, sizeof(obs), "%.0f", feature_value(w, (enum feature)g));
			snprintf(base, sizeof(base), "median %.0f, robust z %.1f", expm1(med[g]), z[g]);
			add_reason(&a, features[g].name, z[g] / ztotal, obs, base);
		}
		hour_reason(&a, p, how);
		snprintf(a.key, sizeof(a.key), "%s", kind);
		raise_alert(d, p, &a);
	}
}

/* ---- heartbeats and silence ---- */

/* Its period (median interval) and jitter (median distance from it), from
 * the last HB_RING intervals learned; false with fewer than two. */
static bool dest_period(const struct dest_rec *r, double *period_s, double *jitter_s)
{
	uint32_t n = r->intervals < HB_RING ? r->intervals : HB_RING;
	float v[HB_RING];
	if (n < 2)
		return false;
	for (uint32_t i = 0; i < n; i++)
		v[i] = (float)r->iv_s[i];
	qsort(v, n, sizeof(float), cmp_float);
	double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
	for (uint32_t i = 0; i < n; i++)
		v[i] = (float)fabs(v[i] - med);
	qsort(v, n, sizeof(float), cmp_float);
	*period_s = med;
	*jitter_s = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
	return true;
}

/* A heartbeat: a named contact met HB_RING times or more at a steady
 * period. An unnamed one is not watched: its key changes when the device
 * resolves the name again and DNS names the flow. */
static bool dest_is_heartbeat(const struct dest_rec *r)
{
	double period, jitter;
	return r->named && r->intervals >= HB_RING && dest_period(r, &period, &jitter) &&
	       period >= HB_MIN_PERIOD_S && jitter <= HB_MAX_JITTER * period;
}

/* Like a device's silence: three times the longest pause learned. */
static uint64_t heartbeat_limit(const struct dest_rec *r)
{
	uint64_t limit = 3 * (uint64_t)r->max_iv_s * US;
	return limit > DET_SILENCE_MIN_S * US ? limit : DET_SILENCE_MIN_S * US;
}

/* Once, at the first check after learning: the heartbeats met most often,
 * leaving out any already silent past its limit when learning ended. */
static void choose_heartbeats(struct det_profile *p)
{
	p->heartbeats_chosen = true;
	for (uint32_t i = 0; i < p->dests.n; i++) {
		const struct dest_rec *r = kset_rec(&p->dests, i);
		if (!dest_is_heartbeat(r) || r->last_us + heartbeat_limit(r) < p->learn_end_us)
			continue;
		uint32_t j = p->n_heartbeats;
		if (j == DET_MAX_HEARTBEATS) {
			const struct dest_rec *last = kset_rec(&p->dests, p->heartbeats[j - 1]);
			if (r->intervals <= last->intervals)
				continue;
			j--;
		} else {
			p->n_heartbeats++;
		}
		while (j > 0 && ((const struct dest_rec *)kset_rec(&p->dests, p->heartbeats[j - 1]))->intervals <
					r->intervals) {
			p->heartbeats[j] = p->heartbeats[j - 1];
			j--;
		}
		p->heartbeats[j] = i;
	}
}

/* The device may have left the table: its identity is the key. */
static void profile_device(const struct det_profile *p, struct device *dev)
{
	memset(dev, 0, sizeof(*dev));
	dev->has_mac = p->has_mac;
	if (p->has_mac)
		memcpy(dev->mac, p->key, 6);
	else
		memcpy(dev->key_ip.b, p->key, 16);
}

/* A heartbeat overdue while the device itself goes on (a window after it
 * was due): something stopped the part of it that talks to that host. The
 * longer it was steady and the more predictable the device, the surer; a
 * contact just past its limit scores 0.8 of that, at twice the limit all. */
static void check_heartbeats(struct detector *d, struct det_profile *p, uint64_t now_us)
{
	if (!p->heartbeats_chosen)
		choose_heartbeats(p);
	for (uint32_t i = 0; i < p->n_heartbeats; i++) {
		struct dest_rec *r = kset_rec(&p->dests, p->heartbeats[i]);
		uint64_t limit = heartbeat_limit(r), due = r->last_us + limit;
		if (r->hb_reported || now_us <= due || p->last_window_us <= due)
			continue;
		double over = (double)(now_us - due) / (double)limit, m = maturity(p);
		double evidence = 1.0 - 1.0 / (r->intervals + 2.0), late = 0.8 + 0.2 * (over > 1 ? 1 : over);
		if (evidence * m * late < d->cfg.threshold)
			continue;
		r->hb_reported = true;
		struct det_alert a;
		struct device dev;
		char obs[DET_TEXT_MAX], base[128];
		double period = 0, jitter = 0;
		dest_period(r, &period, &jitter);
		profile_device(p, &dev);
		alert_init(&a, &dev, p, "heartbeat_missing", now_us, evidence * m * late);
		snprintf(a.key, sizeof(a.key), "%s:%u/%s", r->dest ? r->dest : "", (unsigned)r->port,
			 transport(r->proto));
		snprintf(obs, sizeof(obs), "silent %llu s, the device active",
			 (unsigned long long)((now_us - r->last_us) / US));
		snprintf(base, sizeof(base), "every %.0f s +- %.0f s, %u intervals learned, longest %u s, limit %llu s",
			 period, jitter, r->intervals, r->max_iv_s, (unsigned long long)(limit / US));
		add_reason(&a, "heartbeat", evidence * late, obs, base);
		snprintf(obs, sizeof(obs), "%.3f", m);
		add_reason(&a, "maturity", m, obs, "chance of a new destination = 1 - maturity");
		raise_alert(d, p, &a);
	}
}

static uint64_t silence_limit(const struct det_profile *p)
{
	uint64_t limit = 3 * p->max_gap_us;
	return limit > DET_SILENCE_MIN_S * US ? limit : DET_SILENCE_MIN_S * US;
}

void det_tick(struct detector *d, uint64_t now_us)
{
	if (now_us < d->last_tick_us + 60 * US)
		return;
	d->last_tick_us = now_us;
	for (uint32_t b = 0; b <= d->mask; b++) {
		for (struct det_profile *p = d->buckets[b]; p; p = p->next) {
			if (!p->last_window_us || !enforcing(d, p, now_us))
				continue;
			check_heartbeats(d, p, now_us);
			if (p->silence_reported)
				continue;
			uint64_t silent = now_us - p->last_window_us, limit = silence_limit(p);
			if (silent <= limit)
				continue;
			p->silence_reported = true;
			/* A predictable device just past the limit scores about 0.8,
			 * at twice the limit its maturity; a phone that leaves the
			 * house (low maturity) does not alert. */
			double over = (double)(silent - limit) / (double)limit;
			double score = maturity(p) * (0.8 + 0.2 * (over > 1 ? 1 : over));
			if (score < d->cfg.threshold)
				continue;
			struct det_alert a;
			struct device dev;
			profile_device(p, &dev);
			alert_init(&a, &dev, p, "heartbeat_missing", now_us, score);
			char obs[DET_TEXT_MAX], base[128];
			snprintf(obs, sizeof(obs), "silent %llu s", (unsigned long long)(silent / US));
			snprintf(base, sizeof(base), "longest gap while learning %llu s, limit %llu s",
				 (unsigned long long)(p->max_gap_us / US), (unsigned long long)(limit / US));
			add_reason(&a, "silence", 1, obs, base);
			snprintf(a.key, sizeof(a.key), "silence");
			raise_alert(d, p, &a);
		}
	}
}

/* ---- the rest ---- */

struct detector *det_new(const struct det_cfg *cfg, det_alert_fn emit, void *ctx)
{
	if (!emit || cfg->max_devices == 0 || cfg->threshold <= 0 || cfg->threshold > 1)
		return NULL;
	struct detector *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->cfg = *cfg;
	d->emit = emit;
	d->ctx = ctx;
	d->first_us = UINT64_MAX;
	uint32_t n = 16;
	while (n < cfg->max_devices && n < (1u << 24))
		n <<= 1;
	d->buckets = calloc(n, sizeof(*d->buckets));
	d->dedup = calloc(DEDUP_MAX, sizeof(*d->dedup));
	if (!d->buckets || !d->dedup) {
		det_free(d);
		return NULL;
	}
	d->mask = n - 1;
	return d;
}

void det_free(struct detector *d)
{
	if (!d)
		return;
	for (uint32_t b = 0; d->buckets && b <= d->mask; b++) {
		struct det_profile *p = d->buckets[b];
		while (p) {
			struct det_profile *next = p->next;
			profile_free(p);
			p = next;
		}
	}
	free(d->buckets);
	free(d->dedup);
	free(d);
}

enum det_state det_device_state(const struct detector *d, const struct device *dev, double *m)
{
	uint8_t key[16];
	det_device_key(dev, key);
	for (const struct det_profile *p = d->buckets[key_bucket(d, key)]; p; p = p->next)
		if (memcmp(p->key, key, 16) == 0) {
			*m = maturity(p);
			return p->learn_end_us && p->last_us >= p->learn_end_us ? DET_ENFORCING : DET_LEARNING;
		}
	*m = 0;
	return DET_LEARNING;
}

/* ---- encoding (for the store) ----
 * Big-endian, as the cursor reads, counts and times as varints: a magic,
 * a version, then every field of the profile. Sets go as their keys (fixed
 * 8 bytes: hashes) and counts in ordinal order, each with
 * its record; counts of features and kinds are written, so a later version
 * may add some and still read this one. Dedup state is the detector's, not
 * the profile's, and is not kept: after a restart an alert may repeat once. */

#define CODEC_MAGIC 0x49505246u /* "IPRF" */

struct wbuf {
	uint8_t *b;
	size_t len, cap;
	bool failed;
};

static void put_bytes(struct wbuf *w, const void *v, size_t n)
{
	if (w->failed || n == 0)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 1024;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *b = realloc(w->b, cap);
		if (!b) {
			w->failed = true;
			return;
		}
		w->b = b;
		w->cap = cap;
	}
	memcpy(w->b + w->len, v, n);
	w->len += n;
}

static void put_u8(struct wbuf *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

static void put_u16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put_bytes(w, b, 2);
}

static void put_be32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	put_bytes(w, b, 4);
}

/* Counts and times as LEB128 varints: most counts fit one byte. */
static void put_uv(struct wbuf *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	do {
		b[n++] = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	put_bytes(w, b, n);
}

static void put_f32(struct wbuf *w, float v)
{
	uint32_t u;
	memcpy(&u, &v, 4);
	put_be32(w, u);
}

static void put_str(struct wbuf *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	put_u16(w, (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n));
	put_bytes(w, s, n > UINT16_MAX ? UINT16_MAX : n);
}

static CUR_CHECK bool get_u64(struct cursor *c, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b;
		if (!cur_u8(c, &b) || (shift == 63 && b > 1))
			return false;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

static CUR_CHECK bool get_u32(struct cursor *c, uint32_t *v)
{
	uint64_t x;
	if (!get_u64(c, &x) || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

static CUR_CHECK bool get_f32(struct cursor *c, float *v)
{
	uint32_t u;
	if (!cur_be32(c, &u))
		return false;
	memcpy(v, &u, 4);
	return true;
}

static CUR_CHECK bool get_bool(struct cursor *c, bool *v)
{
	uint8_t b;
	if (!cur_u8(c, &b) || b > 1)
		return false;
	*v = b;
	return true;
}

/* What reads a profile: the bytes, and whether reading stopped for want
 * of memory rather than at bad bytes (the readers that allocate set it). */
struct reader {
	struct cursor c;
	bool nomem;
};

/* A string of at most max bytes, without NULs, malloc'd; NULL when empty. */
static CUR_CHECK bool get_str(struct reader *rd, char **out, size_t max)
{
	struct cursor *c = &rd->c;
	uint16_t n;
	*out = NULL;
	if (!cur_be16(c, &n) || n > max || !cur_has(c, n) || memchr(cur_ptr(c), 0, n))
		return false;
	if (n) {
		*out = malloc((size_t)n + 1);
		if (!*out) {
			rd->nomem = true;
			return false;
		}
		memcpy(*out, cur_ptr(c), n);
		(*out)[n] = '\0';
	}
	return cur_skip(c, n);
}

static CUR_CHECK bool get_addr(struct cursor *c, struct ip_addr *ip)
{
	return cur_bytes(c, ip->b, 16);
}

static void put_addr(struct wbuf *w, const struct ip_addr *ip)
{
	put_bytes(w, ip->b, 16);
}

static void put_kset(struct wbuf *w, const struct kset *s, uint64_t *by_ord)
{
	for (uint32_t i = 0; i < s->slots; i++)
		if (s->keys[i])
			by_ord[s->ords[i]] = s->keys[i];
	put_uv(w, s->n);
	put_uv(w, s->refused);
	put_uv(w, s->total);
	for (uint32_t i = 0; i < s->n; i++) {
		put_be32(w, (uint32_t)(by_ord[i] >> 32));
		put_be32(w, (uint32_t)by_ord[i]);
		put_uv(w, s->counts[i]);
	}
}

/* Keys come in ordinal order, each once, each counted at least once. */
static CUR_CHECK bool get_kset(struct reader *rd, struct kset *s)
{
	struct cursor *c = &rd->c;
	uint32_t n, refused;
	uint64_t total;
	if (!get_u32(c, &n) || !get_u32(c, &refused) || !get_u64(c, &total) || n > s->max)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t hi, lo, count, ord;
		if (!cur_be32(c, &hi) || !cur_be32(c, &lo) || !get_u32(c, &count) || count == 0)
			return false;
		uint64_t k = (uint64_t)hi << 32 | lo;
		if (k == 0 || kset_slot(s, k) != NO_ORD)
			return false;
		int64_t added = kset_add(s, k, &ord);
		rd->nomem |= added == KSET_NOMEM;
		if (added != 0 || ord != i)
			return false;
		s->counts[i] = count;
		s->singletons -= count != 1;
	}
	s->refused = refused;
	s->total = total;
	return true;
}

int det_profile_encode(const struct det_profile *p, uint8_t **out, size_t *len)
{
	struct wbuf w = {0};
	uint64_t *by_ord = calloc(DET_MAX_DESTS, sizeof(*by_ord));
	if (!by_ord)
		return -1;
	put_be32(&w, CODEC_MAGIC);
	put_u16(&w, DET_PROFILE_VERSION);
	put_bytes(&w, p->key, 16);
	put_u8(&w, p->has_mac);
	put_uv(&w, p->first_us);
	put_uv(&w, p->learn_start_us);
	put_uv(&w, p->last_us);
	put_uv(&w, p->learn_end_us);
	put_kset(&w, &p->dests, by_ord);
	for (uint32_t i = 0; i < p->dests.n; i++) {
		const struct dest_rec *r = kset_rec(&p->dests, i);
		put_str(&w, r->dest);
		put_str(&w, r->domain);
		put_addr(&w, &r->addr);
		put_uv(&w, r->flows);
		put_uv(&w, r->bytes_out);
		put_uv(&w, r->bytes_in);
		put_uv(&w, r->first_us);
		put_uv(&w, r->last_us);
		put_u16(&w, r->port);
		put_u16(&w, r->l7_master);
		put_u16(&w, r->l7_app);
		put_u8(&w, r->proto);
		put_u8(&w, r->named);
		put_u8(&w, r->hb_reported);
		for (int j = 0; j < HB_RING; j++)
			put_uv(&w, r->iv_s[j]);
		put_uv(&w, r->intervals);
		put_uv(&w, r->max_iv_s);
	}
	put_kset(&w, &p->hosts, by_ord);
	put_kset(&w, &p->domains, by_ord);
	put_kset(&w, &p->prefixes, by_ord);
	put_kset(&w, &p->peers, by_ord);
	for (uint32_t i = 0; i < p->peers.n; i++) {
		const struct peer_rec *r = kset_rec(&p->peers, i);
		put_addr(&w, &r->ip);
		put_uv(&w, r->flows);
		put_uv(&w, r->first_us);
		put_uv(&w, r->last_us);
		put_uv(&w, r->n_services);
		for (uint32_t j = 0; j < r->n_services; j++)
			put_uv(&w, r->services[j]);
	}
	put_kset(&w, &p->services, by_ord);
	for (uint32_t i = 0; i < p->services.n; i++) {
		const struct service_rec *r = kset_rec(&p->services, i);
		put_addr(&w, &r->last_client);
		put_uv(&w, r->flows);
		put_uv(&w, r->first_us);
		put_uv(&w, r->last_us);
		put_uv(&w, r->from_internet);
		put_u16(&w, r->port);
		put_u8(&w, r->proto);
	}
	put_uv(&w, p->new_domains);
	for (int i = 0; i < NEW_DOMAIN_RING; i++)
		put_uv(&w, p->new_domain_s[i]);
	put_uv(&w, p->flows.width_us);
	for (int i = 0; i < TIMELINE_BUCKETS; i++)
		put_uv(&w, p->flows.n[i]);
	put_uv(&w, p->clean_windows);
	put_uv(&w, F_COUNT);
	for (int f = 0; f < F_COUNT; f++) {
		const struct samples *s = &p->feat[f];
		put_uv(&w, s->n);
		put_uv(&w, s->next);
		put_uv(&w, s->seen);
		for (uint32_t i = 0; i < s->n; i++)
			put_f32(&w, s->v[i]);
	}
	put_uv(&w, p->last_window_us);
	put_uv(&w, p->max_gap_us);
	put_u8(&w, p->announced);
	put_u8(&w, p->silence_reported);
	for (int i = 0; i < DET_HOURS_OF_WEEK; i++)
		put_uv(&w, p->hours[i]);
	put_uv(&w, p->hours_total);
	put_u8(&w, p->heartbeats_chosen);
	put_uv(&w, p->n_heartbeats);
	for (uint32_t i = 0; i < p->n_heartbeats; i++)
		put_uv(&w, p->heartbeats[i]);
	put_uv(&w, p->n_accepts);
	for (uint32_t i = 0; i < p->n_accepts; i++) {
		const struct accept_rec *a = &p->accepts[i];
		put_str(&w, a->dest);
		put_str(&w, a->reason);
		put_u16(&w, a->port);
		put_u8(&w, a->proto);
		put_uv(&w, a->since_us);
		put_uv(&w, a->until_us);
		put_uv(&w, a->flows);
		put_uv(&w, a->last_us);
	}
	put_uv(&w, p->learn_until_us);
	free(by_ord);
	if (w.failed) {
		free(w.b);
		return -1;
	}
	*out = w.b;
	*len = w.len;
	return 0;
}

static CUR_CHECK bool get_dests(struct reader *rd, struct det_profile *p)
{
	struct cursor *c = &rd->c;
	if (!get_kset(rd, &p->dests))
		return false;
	for (uint32_t i = 0; i < p->dests.n; i++) {
		struct dest_rec *r = kset_rec(&p->dests, i);
		if (!get_str(rd, &r->dest, 1023) || !r->dest || !get_str(rd, &r->domain, 1023) ||
		    !get_addr(c, &r->addr) || !get_u64(c, &r->flows) || !get_u64(c, &r->bytes_out) ||
		    !get_u64(c, &r->bytes_in) || !get_u64(c, &r->first_us) || !get_u64(c, &r->last_us) ||
		    !cur_be16(c, &r->port) || !cur_be16(c, &r->l7_master) || !cur_be16(c, &r->l7_app) ||
		    !cur_u8(c, &r->proto) || !get_bool(c, &r->named) || !get_bool(c, &r->hb_reported))
			return false;
		for (int j = 0; j < HB_RING; j++)
			if (!get_u32(c, &r->iv_s[j]))
				return false;
		if (!get_u32(c, &r->intervals) || !get_u32(c, &r->max_iv_s))
			return false;
	}
	return true;
}

static CUR_CHECK bool get_sets(struct reader *rd, struct det_profile *p)
{
	struct cursor *c = &rd->c;
	if (!get_kset(rd, &p->hosts) || !get_kset(rd, &p->domains) || !get_kset(rd, &p->prefixes) ||
	    !get_kset(rd, &p->peers))
		return false;
	for (uint32_t i = 0; i < p->peers.n; i++) {
		struct peer_rec *r = kset_rec(&p->peers, i);
		if (!get_addr(c, &r->ip) || !get_u64(c, &r->flows) || !get_u64(c, &r->first_us) ||
		    !get_u64(c, &r->last_us) || !get_u32(c, &r->n_services) || r->n_services > PEER_SERVICES)
			return false;
		for (uint32_t j = 0; j < r->n_services; j++)
			if (!get_u32(c, &r->services[j]))
				return false;
	}
	if (!get_kset(rd, &p->services))
		return false;
	for (uint32_t i = 0; i < p->services.n; i++) {
		struct service_rec *r = kset_rec(&p->services, i);
		if (!get_addr(c, &r->last_client) || !get_u64(c, &r->flows) || !get_u64(c, &r->first_us) ||
		    !get_u64(c, &r->last_us) || !get_u64(c, &r->from_internet) || !cur_be16(c, &r->port) ||
		    !cur_u8(c, &r->proto))
			return false;
	}
	return true;
}

static CUR_CHECK bool get_rest(struct cursor *c, struct det_profile *p)
{
	uint32_t nf;
	if (!get_u32(c, &p->new_domains))
		return false;
	for (int i = 0; i < NEW_DOMAIN_RING; i++)
		if (!get_u32(c, &p->new_domain_s[i]))
			return false;
	if (!get_u64(c, &p->flows.width_us))
		return false;
	for (int i = 0; i < TIMELINE_BUCKETS; i++)
		if (!get_u32(c, &p->flows.n[i]))
			return false;
	if (!get_u32(c, &p->clean_windows) || !get_u32(c, &nf) || nf != F_COUNT)
		return false;
	for (int f = 0; f < F_COUNT; f++) {
		struct samples *s = &p->feat[f];
		if (!get_u32(c, &s->n) || !get_u32(c, &s->next) || !get_u64(c, &s->seen) || s->n > DET_SAMPLES ||
		    s->next >= DET_SAMPLES)
			return false;
		for (uint32_t i = 0; i < s->n; i++)
			if (!get_f32(c, &s->v[i]) || !isfinite(s->v[i]))
				return false;
	}
	if (!get_u64(c, &p->last_window_us) || !get_u64(c, &p->max_gap_us) || !get_bool(c, &p->announced) ||
	    !get_bool(c, &p->silence_reported))
		return false;
	for (int i = 0; i < DET_HOURS_OF_WEEK; i++)
		if (!get_u32(c, &p->hours[i]))
			return false;
	if (!get_u64(c, &p->hours_total) || !get_bool(c, &p->heartbeats_chosen) || !get_u32(c, &p->n_heartbeats) ||
	    p->n_heartbeats > DET_MAX_HEARTBEATS)
		return false;
	for (uint32_t i = 0; i < p->n_heartbeats; i++)
		if (!get_u32(c, &p->heartbeats[i]) || p->heartbeats[i] >= p->dests.n)
			return false;
	return true;
}

/* dest as an accepted destination: an address or CIDR, or a host name
 * (lower-cased; a leading "*." or a trailing dot is dropped, as a name
 * covers its subdomains anyway). 0, -EINVAL on anything else, or -ENOMEM. */
static int accept_parse(struct accept_rec *a, const char *dest)
{
	char name[256];
	if (ip_prefix_parse(dest, &a->net) == 0) {
		a->is_prefix = true;
		a->dest = strdup(ip_prefix_format(&a->net, name, sizeof(name)));
		return a->dest ? 0 : -ENOMEM;
	}
	if (!strncmp(dest, "*.", 2))
		dest += 2;
	size_t n = strlen(dest);
	if (n && dest[n - 1] == '.')
		n--;
	if (n == 0 || n >= sizeof(name) || dest[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = dest[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
			  c == '_' || (c == '.' && dest[i + 1] != '.');
		if (!ok)
			return -EINVAL;
		name[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	name[n] = '\0';
	a->is_prefix = false;
	a->dest = strdup(name);
	return a->dest ? 0 : -ENOMEM;
}

static CUR_CHECK bool get_accepts(struct reader *rd, struct det_profile *p)
{
	struct cursor *c = &rd->c;
	uint32_t n;
	if (!get_u32(c, &n) || n > DET_MAX_ACCEPTS)
		return false;
	if (n && !(p->accepts = calloc(n, sizeof(*p->accepts)))) {
		rd->nomem = true;
		return false;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct accept_rec *a = &p->accepts[i];
		char *dest;
		if (!get_str(rd, &dest, 1023))
			return false;
		int rc = dest ? accept_parse(a, dest) : -EINVAL;
		free(dest);
		rd->nomem |= rc == -ENOMEM;
		p->n_accepts += rc == 0;
		if (rc != 0 || !get_str(rd, &a->reason, DET_ACCEPT_REASON_MAX) || !cur_be16(c, &a->port) || !cur_u8(c, &a->proto) ||
		    !get_u64(c, &a->since_us) || !get_u64(c, &a->until_us) || !get_u64(c, &a->flows) ||
		    !get_u64(c, &a->last_us))
			return false;
	}
	return true;
}

static void profile_remove(struct detector *d, const uint8_t key[16])
{
	for (struct det_profile **pp = &d->buckets[key_bucket(d, key)]; *pp; pp = &(*pp)->next)
		if (memcmp((*pp)->key, key, 16) == 0) {
			struct det_profile *p = *pp;
			*pp = p->next;
			profile_free(p);
			d->n_profiles--;
			return;
		}
}

/* The profile the bytes hold, not yet in the table; NULL with the reason
 * in err. */
static struct det_profile *profile_decode(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct reader rd = {.nomem = false};
	struct cursor *c = &rd.c;
	uint32_t magic;
	uint16_t version;
	uint8_t key[16];
	bool has_mac;
	cur_init(c, buf, len);
	if (!cur_be32(c, &magic) || magic != CODEC_MAGIC || !cur_be16(c, &version)) {
		snprintf(err, errlen, "not a profile");
		return NULL;
	}
	if (version < 1 || version > DET_PROFILE_VERSION) {
		snprintf(err, errlen, "profile encoding version %u, this iotids reads 1 to %u", version,
			 DET_PROFILE_VERSION);
		return NULL;
	}
	if (!cur_bytes(c, key, 16) || !get_bool(c, &has_mac)) {
		snprintf(err, errlen, "truncated at byte %zu", c->off);
		return NULL;
	}
	struct det_profile *p = profile_alloc(key, has_mac);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	bool ok = get_u64(c, &p->first_us) && get_u64(c, &p->learn_start_us) && get_u64(c, &p->last_us) &&
		  get_u64(c, &p->learn_end_us) && get_dests(&rd, p) && get_sets(&rd, p) && get_rest(c, p) &&
		  (version < 2 || get_accepts(&rd, p)) && (version < 3 || get_u64(c, &p->learn_until_us));
	if (!ok && rd.nomem) {
		snprintf(err, errlen, "out of memory");
		profile_free(p);
		return NULL;
	}
	if (!ok || cur_left(c)) {
		snprintf(err, errlen, "%s at byte %zu", ok ? "trailing bytes" : "truncated or invalid", c->off);
		profile_free(p);
		return NULL;
	}
	return p;
}

static void profile_replace(struct detector *d, struct det_profile *p)
{
	profile_remove(d, p->key);
	profile_insert(d, p);
	if (p->first_us < d->first_us)
		d->first_us = p->first_us;
}

int det_profile_decode(struct detector *d, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct det_profile *p = profile_decode(buf, len, err, errlen);
	if (!p)
		return -1;
	profile_replace(d, p);
	return 0;
}

int det_profile_restore(struct detector *d, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct det_profile *p = profile_decode(buf, len, err, errlen);
	if (!p)
		return -1;
	const struct det_profile *old = profile_lookup(d, p->key);
	if (old) {
		if (old->last_us > p->last_us)
			p->last_us = old->last_us;
		if (old->last_window_us > p->last_window_us) {
			p->last_window_us = old->last_window_us;
			p->silence_reported = old->silence_reported;
		}
		p->announced |= old->announced;
		memcpy(p->burst, old->burst, sizeof(p->burst));
		for (uint32_t i = 0; i < p->dests.slots; i++) {
			if (!p->dests.keys[i])
				continue;
			struct dest_rec *r = kset_rec(&p->dests, p->dests.ords[i]);
			const struct dest_rec *o = kset_rec(&old->dests, kset_ord(&old->dests, p->dests.keys[i]));
			if (o && o->last_us > r->last_us) {
				r->last_us = o->last_us;
				r->hb_reported = o->hb_reported;
			}
		}
	}
	profile_replace(d, p);
	return 0;
}

/* ---- requests (profile relearn, forget) ---- */

int det_profile_relearn(struct detector *d, const uint8_t key[16], uint64_t now_us, uint64_t for_us)
{
	struct det_profile *p = profile_lookup(d, key);
	if (!p)
		return -1;
	p->learn_end_us = 0;
	p->learn_start_us = now_us > p->last_us ? now_us : p->last_us;
	p->learn_until_us = for_us ? p->learn_start_us + for_us : 0;
	p->heartbeats_chosen = false;
	p->n_heartbeats = 0;
	p->silence_reported = false;
	return 0;
}

int det_profile_forget(struct detector *d, const uint8_t key[16])
{
	if (!profile_lookup(d, key))
		return -1;
	profile_remove(d, key);
	return 0;
}

int det_profile_accept(struct detector *d, const uint8_t key[16], const char *dest, uint16_t port, uint8_t proto,
		       uint64_t for_us, const char *reason, uint64_t now_us, char *err, size_t errlen)
{
	struct det_profile *p = profile_lookup(d, key);
	struct accept_rec a = {.port = port, .proto = proto};
	if (!p) {
		snprintf(err, errlen, "no profile");
		return -1;
	}
	if (reason && strlen(reason) > DET_ACCEPT_REASON_MAX) {
		snprintf(err, errlen, "a reason of at most %d bytes", DET_ACCEPT_REASON_MAX);
		return -1;
	}
	int rc = accept_parse(&a, dest);
	if (rc == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "'%s' is neither a host name, an address nor a CIDR", dest);
		return -1;
	}
	a.since_us = now_us > p->last_us ? now_us : p->last_us;
	a.until_us = for_us ? a.since_us + for_us : 0;
	if (reason && *reason && !(a.reason = strdup(reason))) {
		free(a.dest);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* The same destination again, else an expired one, else a new slot. */
	uint32_t i = 0;
	while (i < p->n_accepts && (strcmp(p->accepts[i].dest, a.dest) || p->accepts[i].port != port ||
				    p->accepts[i].proto != proto))
		i++;
	for (uint32_t j = 0; i == p->n_accepts && j < p->n_accepts; j++)
		if (p->accepts[j].until_us && p->accepts[j].until_us <= a.since_us)
			i = j;
	if (i == p->n_accepts) {
		struct accept_rec *grown = NULL;
		if (p->n_accepts < DET_MAX_ACCEPTS)
			grown = realloc(p->accepts, (p->n_accepts + 1) * sizeof(*grown));
		if (!grown) {
			snprintf(err, errlen, p->n_accepts < DET_MAX_ACCEPTS ? "out of memory"
									    : "%d accepted destinations in force already",
				 DET_MAX_ACCEPTS);
			free(a.dest);
			free(a.reason);
			return -1;
		}
		p->accepts = grown;
		p->n_accepts++;
	} else {
		free(p->accepts[i].dest);
		free(p->accepts[i].reason);
	}
	p->accepts[i] = a;
	return 0;
}

/* ---- reading profiles ---- */

const struct det_profile *det_profile_find(const struct detector *d, const uint8_t key[16])
{
	return profile_lookup(d, key);
}

const struct det_profile *det_profile_next(const struct detector *d, const struct det_profile *prev)
{
	if (prev && prev->next)
		return prev->next;
	for (uint32_t b = prev ? key_bucket(d, prev->key) + 1 : 0; b <= d->mask; b++)
		if (d->buckets[b])
			return d->buckets[b];
	return NULL;
}

void det_profile_info(const struct det_profile *p, struct det_profile_info *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->key, p->key, 16);
	out->has_mac = p->has_mac;
	out->state = p->learn_end_us ? DET_ENFORCING : DET_LEARNING;
	out->maturity = maturity(p);
	out->first_us = p->first_us;
	out->last_us = p->last_us;
	out->learn_end_us = p->learn_end_us;
	out->flows_learned = p->dests.total;
	out->destinations = p->dests.n;
	out->hosts = p->hosts.n;
	out->domains = p->domains.n;
	out->prefixes = p->prefixes.n;
	out->peers = p->peers.n;
	out->services = p->services.n;
	out->refused = p->dests.refused;
	out->heartbeats = p->n_heartbeats;
	out->accepts = p->n_accepts;
	memcpy(out->hours, p->hours, sizeof(out->hours));
}

bool det_profile_dest(const struct det_profile *p, uint32_t i, struct det_dest_info *out)
{
	const struct dest_rec *r = kset_rec(&p->dests, i);
	if (!r)
		return false;
	memset(out, 0, sizeof(*out));
	out->dest = r->dest ? r->dest : "";
	out->domain = r->domain ? r->domain : out->dest;
	out->named = r->named;
	out->port = r->port;
	out->proto = r->proto;
	out->l7_master = r->l7_master;
	out->l7_app = r->l7_app;
	out->addr = r->addr;
	out->flows_learned = p->dests.counts[i];
	out->flows = r->flows;
	out->bytes_out = r->bytes_out;
	out->bytes_in = r->bytes_in;
	out->first_us = r->first_us;
	out->last_us = r->last_us;
	out->intervals = r->intervals;
	out->longest_s = r->max_iv_s;
	dest_period(r, &out->period_s, &out->jitter_s);
	out->heartbeat = dest_is_heartbeat(r);
	return true;
}

bool det_profile_peer(const struct det_profile *p, uint32_t i, struct det_peer_info *out)
{
	const struct peer_rec *r = kset_rec(&p->peers, i);
	if (!r)
		return false;
	memset(out, 0, sizeof(*out));
	out->ip = r->ip;
	out->flows_learned = p->peers.counts[i];
	out->flows = r->flows;
	out->first_us = r->first_us;
	out->last_us = r->last_us;
	out->n_services = r->n_services;
	for (uint32_t j = 0; j < r->n_services; j++) {
		out->ports[j] = (uint16_t)(r->services[j] >> 8);
		out->protos[j] = (uint8_t)r->services[j];
	}
	return true;
}

bool det_profile_service(const struct det_profile *p, uint32_t i, struct det_service_info *out)
{
	const struct service_rec *r = kset_rec(&p->services, i);
	if (!r)
		return false;
	memset(out, 0, sizeof(*out));
	out->port = r->port;
	out->proto = r->proto;
	out->flows_learned = p->services.counts[i];
	out->flows = r->flows;
	out->first_us = r->first_us;
	out->last_us = r->last_us;
	out->from_internet = r->from_internet;
	out->last_client = r->last_client;
	return true;
}

bool det_profile_feature(const struct det_profile *p, uint32_t i, struct det_feature_info *out)
{
	if (i >= F_COUNT)
		return false;
	const struct samples *s = &p->feat[i];
	memset(out, 0, sizeof(*out));
	out->name = features[i].name;
	out->samples = s->n;
	if (!s->n)
		return true;
	float v[DET_SAMPLES];
	memcpy(v, s->v, s->n * sizeof(float));
	qsort(v, s->n, sizeof(float), cmp_float);
	double med, mad;
	samples_stats(s, &med, &mad);
	out->median = expm1(med);
	out->mad = mad;
	out->q95 = expm1(v[(s->n * 95 - 1) / 100]);
	return true;
}

bool det_profile_accepted(const struct det_profile *p, uint32_t i, struct det_accept_info *out)
{
	if (i >= p->n_accepts)
		return false;
	const struct accept_rec *a = &p->accepts[i];
	*out = (struct det_accept_info){
		.dest = a->dest,
		.reason = a->reason ? a->reason : "",
		.port = a->port,
		.proto = a->proto,
		.since_us = a->since_us,
		.until_us = a->until_us,
		.flows = a->flows,
		.last_us = a->last_us,
	};
	return true;
}

void det_set_suppress(struct detector *d, det_suppress_fn fn, void *ctx)
{
	d->suppress = fn;
	d->suppress_ctx = ctx;
}

const char *det_kind_name(size_t i)
{
	return i < N_KINDS ? kinds[i] : NULL;
}

const struct det_stats *det_stats(const struct detector *d)
{
	return &d->stats;
}

const char *det_state_name(enum det_state s)
{
	return s == DET_ENFORCING ? "enforcing" : "learning";
}
