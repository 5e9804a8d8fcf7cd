/*
 * dnscache — which name each device asked for, by answer address.
 *
 * When a device resolves api.tuya.com and gets 52.4.1.7, a flow from that
 * device to 52.4.1.7 is "api.tuya.com", whatever the address's reverse DNS
 * or whichever other names share it behind a CDN. Entries are per device
 * (two devices can reach one CDN address under different names) and keep
 * the queried name and the CNAME chain of the answer.
 *
 * An entry is used until its TTL has passed plus DNSC_GRACE_S: devices keep
 * using an address well past its TTL (connection reuse, stub resolvers that
 * cache), and a flow to an address resolved 70 s ago with a 60 s TTL is
 * still that name. A newer answer for the same address replaces the entry.
 * A caller may also ask for an expired entry: a TCP connection seen only
 * mid-stream was opened earlier, when the answer may well have been fresh.
 *
 * Memory is bounded twice: per device (its oldest entry goes first, so a
 * device flooding answers only evicts its own) and overall. Overall, the
 * answers of fresh devices (device.h: not yet settled, as every spoofed or
 * made-up LAN address stays) go first, oldest first, while they hold more
 * than an eighth of the cache; otherwise the oldest answer of a settled
 * device goes. So a flood of answers to made-up LAN hosts churns through
 * its own entries and never evicts what the real devices resolved, and
 * settled devices can fill at most seven eighths. A device that settles
 * brings its answers over (dnsc_device_settled). Both evictions are
 * counted.
 *
 * Answers also hold names in the shared name table (intern.h), so when that
 * table is past its high-water mark the tracker sheds fresh devices' answers
 * (dnsc_shed_fresh), and a device holding half its cap or more
 * (dnsc_heavy) is held below the mark.
 */
#ifndef IOTIDS_DNSCACHE_H
#define IOTIDS_DNSCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "features/device.h"
#include "features/intern.h"
#include "features/ipaddr.h"

#define DNSC_GRACE_S 600
#define DNSC_MAX_TTL_S (7u * 24 * 3600)

struct dnsc_stats {
	uint64_t entries, peak;
	uint64_t added, replaced;
	uint64_t evicted_device;  /* a device's own cap */
	uint64_t evicted_total;   /* the overall cap */
	uint64_t evicted_settled; /* of evicted_total: answers of settled devices */
	uint64_t shed;            /* fresh devices' answers dropped for the name table */
	uint64_t hits, misses, expired;
	uint64_t stale_hits;      /* expired entries given to callers that accept them */
};

struct dns_cache;

/* NULL on allocation failure or a zero cap. Names are referenced in names. */
struct dns_cache *dnsc_new(uint32_t max_entries, uint32_t max_per_device, struct intern *names, uint64_t seed);
void dnsc_free(struct dns_cache *c);

/* Records that d got addr in an answer to its query for qname (chain: the
 * CNAMEs in between, NULL if none), valid for ttl_s from now_us. The cache
 * takes its own references. */
void dnsc_add(struct dns_cache *c, struct device *d, const struct ip_addr *addr, struct iname *qname,
	      struct iname *chain, uint32_t ttl_s, uint64_t now_us);

/* The name d asked for that answered addr, or NULL (unknown, or expired
 * and !stale_ok). *chain gets the CNAME chain (or NULL). No reference is
 * taken. */
struct iname *dnsc_lookup(struct dns_cache *c, const struct device *d, const struct ip_addr *addr,
			  uint64_t now_us, bool stale_ok, struct iname **chain);

/* Drops every entry of d (it is leaving the device table). */
void dnsc_device_gone(struct dns_cache *c, struct device *d);

/* d has just settled (dev_table_sent): its answers are a settled device's. */
void dnsc_device_settled(struct dns_cache *c, struct device *d);

/* Drops the oldest answer of a fresh device; false when there is none. */
bool dnsc_shed_fresh(struct dns_cache *c);

/* d holds half its per-device cap of answers or more. */
bool dnsc_heavy(const struct dns_cache *c, const struct device *d);

const struct dnsc_stats *dnsc_stats(const struct dns_cache *c);

#endif
