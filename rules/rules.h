/*
 * rules — what a person says is expected (docs/rules.md): firmware-update
 * allowlists and scoped, expiring exceptions, read from YAML files.
 *
 * A rule set (struct rules) is what a load gives: immutable, checked whole
 * (every error reported, nothing half applied). The engine holds the set
 * in force and what rules do over time: each device's update window. A
 * reload swaps the set and keeps the windows.
 *
 * Everything is timed by the caller's clock, capture time, so a replay
 * with rules gives the same alerts byte for byte.
 */
#ifndef IOTIDS_RULES_H
#define IOTIDS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "features/flow.h"
#include "features/ipaddr.h"

/* Bounds on hostile input; a hand-written file is far below them. */
#define RULES_MAX_FILE_BYTES (4u << 20)
#define RULES_MAX_FILES 256
#define RULES_MAX_DEPTH 16
#define RULES_MAX_NODES 200000 /* YAML nodes per file */
#define RULES_MAX_RULES 4096
#define RULES_MAX_LIST 64
#define RULES_MAX_ERRORS 50    /* reported per load; the rest are counted */
#define RULES_NAME_MAX 64
#define RULES_MAX_WINDOWS 4096 /* devices with an update window at once */

/* One error, as "FILE:LINE:COLUMN: message". */
typedef void (*rules_error_fn)(void *ctx, const char *msg);

struct rules;

/* Loads the file at path, or every *.yaml and *.yml file of the directory
 * at path in name order. NULL when anything is wrong: every error went to
 * err (at most RULES_MAX_ERRORS, then one line counting the rest). */
struct rules *rules_load(const char *path, rules_error_fn err, void *ctx);
void rules_free(struct rules *rs);
/* How many rules of each type the set holds. */
void rules_count(const struct rules *rs, size_t *updates, size_t *exceptions);

/* What selectors look at; any pointer may be NULL (unknown). */
struct rules_device {
	bool has_mac;
	uint8_t mac[6];
	const char *vendor;   /* IEEE registry name of the MAC's vendor */
	const char *hostname; /* the name it goes by (ident_hostname) */
	const char *kind;     /* inferred kind (kind_classify) */
};

/* The other end of a flow, as rules see it. */
struct rules_peer {
	const char *name;     /* its destination name, NULL when none */
	struct ip_addr ip;
	uint16_t port;        /* the service port: the responder's */
	uint8_t proto;
	bool lan;             /* a LAN address */
	bool name_from_dns;   /* the name came from the device's DNS answer, not its own SNI or Host */
};

/* The other end of f for the device at one end of it. */
void rules_peer_of_flow(const struct flow *f, bool device_is_initiator, struct rules_peer *out);

struct rules_engine;

/* NULL out of memory. The engine starts with no rules. */
struct rules_engine *rules_engine_new(void);
void rules_engine_free(struct rules_engine *e);
/* Puts rs in force (the engine owns it; the set it replaces is freed).
 * Update windows already open stay open; counts stay with rule names. */
void rules_engine_set(struct rules_engine *e, struct rules *rs);
const struct rules *rules_engine_rules(const struct rules_engine *e);

/* An update window a flow opened. */
struct rules_update {
	const char *rule;     /* valid until the next rules_engine_set */
	const char *reason;   /* "" when the rule has none */
	uint64_t start_us, end_us;
	uint64_t relearn_us;  /* 0: no relearn */
};

/* Whether peer is an update host of some rule, whatever the device: the
 * cheap test a caller makes before it works out what selectors need. */
bool rules_engine_update_host(const struct rules_engine *e, const struct rules_peer *peer);

/* A flow the device (key as det_device_key) started to peer is ready at
 * now_us. When it goes to an update host of a rule for the device and no
 * window of that rule is open, it opens one: true, and *up says which. */
bool rules_engine_flow(struct rules_engine *e, const uint8_t key[16], const struct rules_device *dev,
		       const struct rules_peer *peer, uint64_t now_us, struct rules_update *up);

/* The name of the first rule that suppresses an alert of this kind about
 * the device at ts_us (peer: the other end of its flow, NULL for an alert
 * about no flow), or NULL. The name is valid until the next
 * rules_engine_set. */
const char *rules_engine_suppress(struct rules_engine *e, const uint8_t key[16], const struct rules_device *dev,
				  const char *kind, const struct rules_peer *peer, uint64_t ts_us);
/* Counts an alert the rule suppressed (one that went out as suppressed,
 * after deduplication). */
void rules_engine_record(struct rules_engine *e, const char *rule);

struct rules_stat {
	const char *name;
	bool update;
	uint64_t suppressed;  /* alerts it suppressed */
	uint64_t windows;     /* update windows it opened */
};

/* The i-th rule in force, in the order they apply; false past the last. */
bool rules_engine_stat(const struct rules_engine *e, size_t i, struct rules_stat *out);

#endif
