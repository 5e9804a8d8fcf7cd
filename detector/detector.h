/*
 * detector — each device's learned profile, and the alerts it raises.
 *
 * A device is learned from its first packet (state "learning") and then
 * enforced. While learning, everything it does goes into its profile:
 * destinations at three levels (name, registrable domain, address prefix)
 * with port and transport, its LAN peers, the services others reach on it,
 * and robust baselines of its per-window features. Once enforcing, a flow is
 * scored when its destination is known (at its first packet when DNS named
 * it, when nDPI has read its SNI or Host otherwise), and a window when it
 * closes. What was not learned is never silently added: a new destination
 * alerts (if the device is predictable enough) and stays new.
 *
 * How predictable a device is, is its maturity: 1 minus the Good-Turing
 * estimate of the chance that its next flow goes to a destination never
 * seen (destinations seen once / flows). Each kind of novelty is judged at
 * its own level: a new domain by how many new domains the device met in
 * the second half of its learning (a plug: none after boot; a phone: many,
 * however many of its flows go to google.com), a new LAN peer or service by
 * the novelty of that set, with a fixed prior for a device that showed
 * none. A device first seen after the network's first learning period
 * raises new_device.
 *
 * A device that goes silent for more than three times the longest gap it
 * showed while learning (and at least DET_SILENCE_MIN_S) raises
 * heartbeat_missing once, scored by its maturity: a plug going quiet is
 * news, a phone leaving the house is not. So does a heartbeat, a named
 * destination met at a steady period while learning, that stays silent
 * past three times its longest interval while the device itself goes on.
 *
 * The profile also keeps, for people (det_profile_*): each destination's
 * L7 protocol, counts, bytes, first and last contact, period and jitter;
 * the services used on each LAN peer; each inbound service's clients; and
 * the device's normal windows per hour of the week.
 *
 * Alerts are deduplicated: one per device, kind and destination per
 * DET_DEDUP_S of capture time, and at most DET_KIND_BURST per device and
 * kind in any DET_DEDUP_S (a sliding window); the next one carries how
 * many were folded into it.
 * Everything runs in capture time, so a replay gives the same alerts byte
 * for byte.
 */
#ifndef IOTIDS_DETECTOR_H
#define IOTIDS_DETECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "features/device.h"
#include "features/domain.h"
#include "features/flow.h"
#include "features/intern.h"
#include "features/window.h"

#define DET_SCHEMA_VERSION 1
#define DET_DEDUP_S 3600
/* Alerts of one kind per device in any DET_DEDUP_S at most; past it (a
 * scan touching 30,000 hosts) the rest are counted into the next one. */
#define DET_KIND_BURST 5
#define DET_MAX_REASONS 6
#define DET_MAX_DESTS 1024   /* destinations kept per device (beyond: counted, the device is open-world) */
#define DET_MAX_PEERS 256    /* LAN peers and inbound services kept per device */
#define DET_SAMPLES 128      /* window values kept per feature for its baseline */
#define DET_SILENCE_MIN_S 900 /* the shortest silence that may count as a missing heartbeat */
#define DET_MAX_HEARTBEATS 8 /* recurring contacts watched per device */
#define DET_HOURS_OF_WEEK 168 /* activity counted per hour of the week, Monday 00:00 UTC first */

enum det_state { DET_LEARNING, DET_ENFORCING };

struct det_cfg {
	uint64_t learn_for_us;    /* every device learns this long from its first packet; 0: the policy below */
	uint64_t learn_min_us;    /* policy: at least this long ... */
	uint64_t learn_max_us;    /* ... at most this long ... */
	double maturity_target;   /* ... ending early once maturity reaches this */
	double threshold;         /* alerts score at least this (0..1) */
	uint32_t max_devices;     /* profiles kept */
	/* These devices keep learning whatever the policy (--learn=DEVICES):
	 * a MAC, or for a device without one its address, as det_device_key. */
	const uint8_t (*learn_keys)[16];
	size_t n_learn_keys;
	const struct domain_db *psl;
};

/* Room for any name the tracker holds (INTERN_MAX_LEN) and what follows
 * it (":65535/tcp", " (never seen)"): a hostile name is never cut inside an
 * escape or a character, and two long names never share a key. */
#define DET_TEXT_MAX (INTERN_MAX_LEN + 32)

struct det_reason {
	const char *feature;
	char observed[DET_TEXT_MAX];
	char baseline[128];
	double contribution;      /* its share of the score, 0..1 */
};

struct det_alert {
	char alert_id[17];        /* 16 hex digits, stable: a dedup key for consumers */
	uint64_t ts_us;
	const char *kind;
	const char *severity;     /* "low", "medium", "high" */
	double score;             /* 0..1 */
	const struct device *dev;
	enum det_state state;
	double maturity;
	char key[DET_TEXT_MAX];          /* what it is about: a destination, peer, service or feature */
	uint32_t repeats;         /* alerts of the same device, kind and key folded into this one */
	uint32_t others_folded;   /* alerts of the same device and kind, other keys, folded (see DET_KIND_BURST) */
	int n_reasons;
	struct det_reason reasons[DET_MAX_REASONS];
	const struct flow *flow;  /* the flow that caused it, or NULL (window alerts) */
	const char *suppressed_by; /* the rule that suppressed it, or NULL (see det_set_suppress) */
};

typedef void (*det_alert_fn)(void *ctx, const struct det_alert *a);

struct det_stats {
	uint64_t alerts, deduplicated;
	uint64_t suppressed;      /* alerts emitted as suppressed (not in alerts) */
	uint64_t flows_scored, windows_scored;
	uint64_t profiles, profiles_evicted;
	/* Allocations that failed while learning or scoring: each dropped the
	 * one flow or window it was for (never the run); the requests below
	 * report theirs instead. */
	uint64_t nomem;
};

struct detector;

/* NULL on a bad configuration or allocation failure. */
struct detector *det_new(const struct det_cfg *cfg, det_alert_fn emit, void *ctx);
void det_free(struct detector *d);

/* Asked about every alert before it is deduplicated: the name of a rule
 * that suppresses it, or NULL. A suppressed alert is still emitted, with
 * suppressed_by set, so it can be recorded; it is deduplicated apart from
 * the others and never counts toward DET_KIND_BURST, so alerts a rule
 * suppresses cannot crowd out one it does not. */
typedef const char *(*det_suppress_fn)(void *ctx, const struct det_alert *a);
void det_set_suppress(struct detector *d, det_suppress_fn fn, void *ctx);

/* A flow of dev is ready to score: dev started it (initiator) or receives it. */
void det_flow(struct detector *d, const struct device *dev, const struct flow *f, bool initiator, uint64_t now_us);
/* A flow dev started has ended: its destination's record takes its final
 * L7 protocol and its volume. Never alerts. */
void det_flow_end(struct detector *d, const struct device *dev, const struct flow *f);
/* A device's window closed. */
void det_window(struct detector *d, const struct dev_window *w);
/* Capture time has reached now_us (call at every window close): enforced
 * devices silent for much longer than any gap they showed while learning
 * raise heartbeat_missing. Checks at most once a minute of capture time. */
void det_tick(struct detector *d, uint64_t now_us);

/* The key a device's profile has: its MAC in the first 6 bytes and zeros,
 * or, for a device without one, its IP address. */
void det_device_key(const struct device *dev, uint8_t key[16]);

/* The device's state and maturity now (learning, 0 for a device never seen). */
enum det_state det_device_state(const struct detector *d, const struct device *dev, double *maturity);

/* ---- reading profiles (for profile show and the store) ----
 * Pointers into a profile stay valid until the next det_* call that is
 * not one of these. */

struct det_profile;

struct det_profile_info {
	uint8_t key[16];          /* as det_device_key */
	bool has_mac;
	enum det_state state;
	double maturity;
	uint64_t first_us, last_us;
	uint64_t learn_end_us;    /* 0 while learning */
	uint64_t flows_learned;   /* flows to the internet learned */
	uint32_t destinations, hosts, domains, prefixes, peers, services;
	uint32_t refused;         /* destinations past DET_MAX_DESTS */
	uint32_t heartbeats;      /* contacts watched (chosen at the first check after learning) */
	uint32_t accepts;         /* destinations a person accepted (det_profile_accepted) */
	uint32_t hours[DET_HOURS_OF_WEEK]; /* normal windows per hour of the week */
};

struct det_dest_info {
	const char *dest;         /* name, or address prefix ("203.0.113.0/24") when unnamed */
	const char *domain;       /* registrable domain (the prefix when unnamed) */
	bool named;
	uint16_t port;
	uint8_t proto;
	uint16_t l7_master, l7_app; /* nDPI ids, 0 when unknown */
	struct ip_addr addr;      /* its last address */
	uint64_t flows_learned, flows;
	uint64_t bytes_out, bytes_in; /* of the flows that ended */
	uint64_t first_us, last_us; /* first and last flow start */
	uint32_t intervals;       /* between contacts, while learning */
	double period_s, jitter_s; /* median interval and median distance from it (0 with < 2) */
	uint32_t longest_s;       /* longest interval learned */
	bool heartbeat;           /* steady enough to be watched */
};

#define DET_PEER_SERVICES 8
struct det_peer_info {
	struct ip_addr ip;
	uint64_t flows_learned, flows;
	uint64_t first_us, last_us;
	uint32_t n_services;      /* services it used on the peer while learning (at most DET_PEER_SERVICES) */
	uint16_t ports[DET_PEER_SERVICES];
	uint8_t protos[DET_PEER_SERVICES];
};

struct det_service_info {
	uint16_t port;
	uint8_t proto;
	uint64_t flows_learned, flows;
	uint64_t first_us, last_us;
	uint64_t from_internet;   /* flows from outside the LAN */
	struct ip_addr last_client;
};

/* A window feature's baseline, on its natural scale. */
struct det_feature_info {
	const char *name;
	uint32_t samples;
	double median, mad, q95;  /* mad: median absolute deviation, on the log scale */
};

/* The profile with this key (det_device_key), NULL when none. */
const struct det_profile *det_profile_find(const struct detector *d, const uint8_t key[16]);
/* Every profile once, in a stable order: NULL gives the first, NULL after the last. */
const struct det_profile *det_profile_next(const struct detector *d, const struct det_profile *prev);
void det_profile_info(const struct det_profile *p, struct det_profile_info *out);
/* The i-th destination, peer or service, in the order they were met, or
 * feature; false past the last. */
bool det_profile_dest(const struct det_profile *p, uint32_t i, struct det_dest_info *out);
bool det_profile_peer(const struct det_profile *p, uint32_t i, struct det_peer_info *out);
bool det_profile_service(const struct det_profile *p, uint32_t i, struct det_service_info *out);
bool det_profile_feature(const struct det_profile *p, uint32_t i, struct det_feature_info *out);

/* ---- requests ---- */

/* The device learns again from now_us (or its last event, if later),
 * keeping what it learned: for for_us, or (0) as long as a new device
 * would. 0, or -1 when it has no profile. */
int det_profile_relearn(struct detector *d, const uint8_t key[16], uint64_t now_us, uint64_t for_us);
/* The profile is dropped: the device is learned anew, as a new device,
 * when it is next seen. 0, or -1 when it has none. */
int det_profile_forget(struct detector *d, const uint8_t key[16]);

/* ---- accepted destinations (profile accept) ---- */

#define DET_MAX_ACCEPTS 64 /* per device; an expired one makes room for a new one */
#define DET_ACCEPT_REASON_MAX 1023

/* A destination a person accepted for a device: while enforcing, a flow
 * to it raises no unexpected_destination, new_port or new_lan_peer. */
struct det_accept_info {
	const char *dest;         /* a name (its subdomains too), or an address prefix */
	const char *reason;       /* "" when none was given */
	uint16_t port;            /* 0: any */
	uint8_t proto;            /* 6 or 17; 0: any */
	uint64_t since_us;        /* when accepted, in the device's time */
	uint64_t until_us;        /* when it expires; 0: never */
	uint64_t flows, last_us;  /* flows it let through, and the last one's start */
};

/* Accepts dest for the device: a name, covering its subdomains, or an
 * address or CIDR. It holds from now_us (or the device's last event, if
 * later) for for_us, or for good when for_us is 0. The same dest, port and
 * transport again replaces the earlier one. 0, or -1 with the reason in
 * err: no such profile, a bad dest, DET_MAX_ACCEPTS in force. */
int det_profile_accept(struct detector *d, const uint8_t key[16], const char *dest, uint16_t port, uint8_t proto,
		       uint64_t for_us, const char *reason, uint64_t now_us, char *err, size_t errlen);
/* The i-th accepted destination (an expired one's slot may be reused);
 * false past the last. */
bool det_profile_accepted(const struct det_profile *p, uint32_t i, struct det_accept_info *out);

/* ---- profiles as bytes (the store) ---- */

/* 2 added accepted destinations, 3 the end of a relearn for a set time;
 * versions 1 and 2 are still read. */
#define DET_PROFILE_VERSION 3

/* Everything the profile learned, as bytes: *out is malloc'd (the caller
 * frees it). 0, or -1 out of memory. */
int det_profile_encode(const struct det_profile *p, uint8_t **out, size_t *len);
/* Puts the profile the bytes hold in place of the device's profile, if
 * any. 0, or -1 with a message in err: not a profile, another version,
 * truncated or invalid (nothing changed then), out of memory. */
int det_profile_decode(struct detector *d, const uint8_t *buf, size_t len, char *err, size_t errlen);
/* Rolls the device back to the profile the bytes hold (an earlier version
 * of it): what it learned and accepted comes back, while what it did since
 * stays (when it and each destination were last seen), so a rollback does
 * not make its heartbeats look missing. Otherwise as det_profile_decode. */
int det_profile_restore(struct detector *d, const uint8_t *buf, size_t len, char *err, size_t errlen);

/* The i-th alert kind the detector raises, NULL past the last. */
const char *det_kind_name(size_t i);

const struct det_stats *det_stats(const struct detector *d);
const char *det_state_name(enum det_state s);

#endif
