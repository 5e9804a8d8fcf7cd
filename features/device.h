/*
 * device — the LAN endpoints being watched.
 *
 * A device is identified by its MAC address; where the link type carries no
 * MAC for an endpoint (raw IP captures, the receiver in a Linux cooked
 * capture) it is found by IP through the address index, which maps each LAN
 * address to the device that last used it as a source. An address moves to
 * its new owner when DHCP hands it to another device; a device keeps the
 * DEV_MAX_IPS addresses it used most recently.
 *
 * The table is capped; when full, one device is evicted (on_evict is told
 * first) and counted. A flood of spoofed sources must not push out the real
 * devices, so the table is split in two (a segmented LRU):
 *
 *   - a device is *fresh* from its first packet, and *settled* once it sends
 *     again at least DEV_SETTLE_US after it was first seen (dev_table_sent).
 *     A spoofed source, used for one packet, never settles; nor does an
 *     address that only receives (a made-up destination). A real device
 *     settles within its first exchange.
 *   - eviction takes the least recently active fresh device while fresh
 *     devices hold more than an eighth of the table (the fresh reserve);
 *     otherwise the least recently active settled one. So a flood of new
 *     sources only ever evicts itself, however long it lasts, while settled
 *     devices can hold at most seven eighths of the table and newcomers
 *     always find room to prove themselves.
 *
 * Recency is kept lazily in both lists, as in the flow table: activity sets
 * a flag, and eviction moves flagged devices to the tail (at most
 * EVICT_MOVES of them) before choosing. stats.evicted_settled counts the
 * settled devices evicted: under a spoofing flood it stays 0.
 *
 * The device a lookup returned last is not evicted by a creation at the
 * same time (now_us): a packet's sender survives the creation of its
 * receiver. When it is the only one left to evict, the creation fails
 * (stats.alloc_failed).
 *
 * The limit of the policy: a flood that sends twice from each source, a
 * millisecond apart, settles its sources, and is then ordinary churn among
 * settled devices (the least recently active goes), as it was without it.
 * Rejected: ranking by packet count (a quiet sensor sends few packets, and
 * a flood can send many per source), and refusing new devices when full (a
 * flood would then lock real newcomers out).
 *
 * The other tables follow the same split: the DNS answer cache (dnscache.h),
 * the name table's reserve (intern.h) and nDPI states (tracker.c) favour
 * settled devices in the same way.
 */
#ifndef IOTIDS_DEVICE_H
#define IOTIDS_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "features/ipaddr.h"

/* Why 8: an IPv4 lease, a link-local and a few SLAAC/privacy IPv6 addresses. */
#define DEV_MAX_IPS 8
/* A millisecond: a spoofing tool gives each made-up source one packet (or a
 * back-to-back pair), while a real device's first exchanges already take
 * longer (its DHCP REQUEST follows the server's OFFER). Settling early
 * matters: a joining device may then be silent for seconds, longer than a
 * fresh device lasts in a flood. */
#define DEV_SETTLE_US 1000u

struct device {
	uint64_t id;            /* first-seen order, from 1 */
	bool has_mac;
	uint8_t mac[6];
	struct ip_addr key_ip;  /* the identity when !has_mac */
	uint8_t n_ips;
	struct ip_addr ips[DEV_MAX_IPS]; /* least recently used first */
	uint64_t first_us, last_us;
	/* Set by the table: from its first packet until it settles (see the
	 * eviction policy above). False in a device made outside a table. */
	bool fresh;
	uint64_t packets_out, packets_in, bytes_out, bytes_in;
	uint64_t flows_out;     /* flows it started */
	uint64_t flows_in;      /* flows others started toward it */
	void *win;              /* owned by the window module */
	void *ident;            /* owned by the identity module */
	struct {
		uint32_t head, tail, count;
	} dns;                  /* owned by the DNS answer cache */
};

typedef void (*dev_evict_fn)(void *ctx, struct device *d);

struct dev_table_cfg {
	uint32_t max_devices;
	uint64_t seed;          /* 0 draws one from the OS */
	dev_evict_fn on_evict;
	void *ctx;
};

struct dev_stats {
	uint64_t active, peak, created, evicted, alloc_failed;
	uint64_t settled;          /* settled devices in the table now */
	uint64_t evicted_settled;  /* of evicted: settled ones */
};

struct dev_table;

struct dev_table *dev_table_new(const struct dev_table_cfg *cfg);
void dev_table_free(struct dev_table *t);

/* The device with this MAC, created if absent and create is true; its last
 * activity becomes now_us. NULL when absent (or no entry could be had). */
struct device *dev_table_by_mac(struct dev_table *t, const uint8_t mac[6], uint64_t now_us, bool create);

/* The device that owns ip, or (create) a new device identified by ip. */
struct device *dev_table_by_ip(struct dev_table *t, const struct ip_addr *ip, uint64_t now_us, bool create);

/* A handle for a MAC-keyed device that a caller may keep across packets
 * (a flow remembers its devices): it stays valid while the device lives,
 * and dev_table_by_handle tells when it no longer is. */
uint32_t dev_table_handle(const struct dev_table *t, const struct device *d);

/* The device behind handle h if it is still the live device of mac (its
 * last activity becomes now_us); NULL otherwise: look it up by MAC. */
struct device *dev_table_by_handle(struct dev_table *t, uint32_t h, const uint8_t mac[6], uint64_t now_us);

/* Records that d uses ip as its own address, moving it from any other owner. */
void dev_table_bind_ip(struct dev_table *t, struct device *d, const struct ip_addr *ip);

/* Records that d sent a packet at now_us (lookups do not tell senders from
 * receivers). True when that settled it, now and not before: the caller
 * may move what it keeps for fresh devices (dnsc_device_settled). */
bool dev_table_sent(struct dev_table *t, struct device *d, uint64_t now_us);

/* Devices in first-seen order; *n is set to the count. The array is the
 * caller's to free; the devices stay the table's. NULL if out of memory. */
struct device **dev_table_list(const struct dev_table *t, size_t *n);

const struct dev_stats *dev_table_stats(const struct dev_table *t);

/* "aa:bb:cc:dd:ee:ff"; buf >= 18 bytes. */
char *dev_mac_format(const uint8_t mac[6], char *buf, size_t len);

#endif
