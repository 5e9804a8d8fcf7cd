/*
 * store — profiles that last across runs: an SQLite database in WAL mode,
 * so a CLI can read it while the detector writes.
 *
 * A checkpoint writes every profile in one transaction (each as the bytes
 * det_profile_encode gives, beside a few columns a listing needs), so a
 * process killed at any moment leaves the previous checkpoint whole: SQLite's
 * journal rolls an unfinished transaction back. synchronous=NORMAL: after a
 * power cut the last checkpoint may be lost, never the file.
 *
 * A profile that moved from learning to enforcing since it was last
 * written gets a version: a copy of it with its time and the reason, the
 * history `profile history` shows.
 *
 * The schema has a version in its meta table. A store written by a newer
 * iotids is refused, not misread; so is a database that is not a store.
 */
#ifndef IOTIDS_STORE_H
#define IOTIDS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detector/detector.h"

/* 2 added the alerts table and the arguments of accept and rollback
 * requests, 3 the rule that suppressed an alert; an older store is
 * migrated when opened. */
#define STORE_SCHEMA_VERSION 3
#define STORE_BUSY_MS 5000 /* how long a call waits for a lock another process holds */
#define STORE_MAX_VERSIONS 64 /* versions kept per device, the newest */
#define STORE_MAX_ALERTS 100000 /* alerts kept, the newest; as many suppressed ones beside them */
#define STORE_ALERT_BATCH 1024 /* alerts queued before they are written */

/* Errors, as negative codes; the message goes to err. */
enum store_error {
	STORE_ERR_IO = -1,      /* cannot open or write the file, out of memory */
	STORE_ERR_LOCKED = -2,  /* another process held the lock past STORE_BUSY_MS */
	STORE_ERR_NEWER = -3,   /* written by a newer iotids */
	STORE_ERR_FOREIGN = -4, /* not an iotids store, or damaged */
	STORE_ERR_MISSING = -5, /* no store there (and not asked to create one) */
	STORE_ERR_UNKNOWN = -6, /* no such device */
	STORE_ERR_AMBIGUOUS = -7, /* more than one device matches */
	STORE_ERR_REQUEST = -8,  /* a request that cannot be made: a bad destination, no such version */
};

struct store;

/* Opens the store at path; with create, makes it (and its schema) when
 * missing. NULL on failure, with the reason in err and its code in *code. */
struct store *store_open(const char *path, bool create, char *err, size_t errlen, int *code);
void store_close(struct store *s);

/* Puts every stored profile into d, then applies the requests made while
 * no detector had the store open. The number loaded, or a negative
 * store_error (a profile that does not decode names its device). */
int store_load(struct store *s, struct detector *d, char *err, size_t errlen);

/* The name a checkpoint stores beside a device's profile, or NULL. */
typedef const char *(*store_name_fn)(void *ctx, const uint8_t key[16], char *buf, size_t len);

/* Applies the requests (profile relearn, forget, accept, rollback) made
 * since the last checkpoint, then writes every profile of d and the alerts
 * queued, in one transaction at capture time now_us. 0, or a negative
 * store_error (nothing of this checkpoint is written then). */
int store_checkpoint(struct store *s, struct detector *d, uint64_t now_us, store_name_fn name, void *ctx, char *err,
		     size_t errlen);

/* Between checkpoints: when another process changed the store (a request
 * came) or alerts are queued, applies the requests to d and writes the
 * alerts, in one short transaction. Cheap when there is nothing to do (one
 * read of SQLite's shared memory): call it about once a second. The number
 * of requests applied, or a negative store_error. */
int store_poll(struct store *s, struct detector *d, uint64_t now_us, char *err, size_t errlen);

/* A request a person makes on a stored profile. */
struct store_req {
	const char *op;           /* "relearn", "forget", "accept" or "rollback" */
	const char *reason;       /* kept in the audit log; may be NULL */
	const char *dest;         /* accept: as det_profile_accept */
	uint16_t port;            /* accept: 0 any */
	uint8_t proto;            /* accept: 0 any */
	uint64_t for_us;          /* accept: 0 for good */
	int64_t version;          /* rollback: to this version */
};

/* Makes req on device (as store_find gives it) at once on the stored
 * profile, and queues it for a detector that has the store open, in one
 * transaction; kept as the audit log. An accept or a rollback makes a new
 * version. 0, or a negative store_error (a bad request: STORE_ERR_REQUEST). */
int store_request(struct store *s, const char *device, const struct store_req *req, char *err, size_t errlen);

/* What a listing shows of a stored profile, without decoding it. */
struct store_row {
	const char *device;       /* MAC, or the address of a device without one */
	const char *hostname;     /* NULL when none was known */
	const char *state;
	double maturity;
	uint64_t first_us, last_us, learn_end_us;
	uint32_t destinations;
	int64_t version;
	uint64_t alerts;          /* of the device, among those the store keeps */
};

/* Calls fn for every stored profile, ordered by device; strings are valid
 * during the call. 0, or a negative store_error (fn returning non-zero
 * stops the walk, and is returned). */
int store_list(struct store *s, int (*fn)(void *ctx, const struct store_row *r), void *ctx, char *err, size_t errlen);

/* The device what names: a MAC or address, a hostname (case folded), or a
 * unique prefix of a MAC or a hostname. Its stored key goes to device.
 * 0, STORE_ERR_UNKNOWN, STORE_ERR_AMBIGUOUS (err lists some), or another
 * store_error. */
int store_find(struct store *s, const char *what, char *device, size_t len, char *err, size_t errlen);

/* Puts version (0: the profile as last written) of device into d; its
 * time and reason go to *ts_us and reason (NULL: not wanted). */
int store_load_version(struct store *s, struct detector *d, const char *device, int64_t version, uint64_t *ts_us,
		       char *reason, size_t reasonlen, char *err, size_t errlen);

/* Calls fn for each version of device, oldest first. 0, or a negative
 * store_error (fn returning non-zero stops the walk, and is returned). */
int store_history(struct store *s, const char *device,
		  int (*fn)(void *ctx, int64_t version, uint64_t ts_us, const char *reason), void *ctx, char *err,
		  size_t errlen);

/* Puts one stored profile (device as store_find gives it) into d; its
 * stored hostname goes to host ("" when none). */
int store_load_one(struct store *s, struct detector *d, const char *device, char *host, size_t hostlen, char *err,
		   size_t errlen);

/* An alert as the store keeps it. */
struct store_alert {
	const char *alert_id, *device, *kind, *severity;
	uint64_t ts_us;
	double score;
	const char *json;         /* the alert as the JSON lines output has it */
	const char *suppressed_by; /* the rule that suppressed it, or NULL */
};

/* Queues a copy of the alert; it is written with the next checkpoint or
 * poll, or at once when STORE_ALERT_BATCH are queued. The store keeps the
 * newest STORE_MAX_ALERTS. 0, or a negative store_error. */
int store_alert_add(struct store *s, const struct store_alert *a, char *err, size_t errlen);

/* Keeps the profile as it is now as the device's newest version, with its
 * time and reason (a firmware update is about to change it), written with
 * the next checkpoint or poll. 0, or a negative store_error. */
int store_version_add(struct store *s, const struct det_profile *p, uint64_t ts_us, const char *reason, char *err,
		      size_t errlen);

/* A note in the store's meta table (NULL value: removed), e.g. the pid of
 * the detector that has it open. 0, or a negative store_error. */
int store_meta_set(struct store *s, const char *key, const char *value, char *err, size_t errlen);
/* The note's text into buf: 1, 0 when there is none, or a negative
 * store_error. */
int store_meta_get(struct store *s, const char *key, char *buf, size_t len, char *err, size_t errlen);

/* Which stored alerts store_alerts_list gives: NULL or 0 is any. */
struct store_alert_filter {
	const char *device;       /* as store_find gives it */
	const char *kind;
	uint64_t since_us;
	uint32_t limit;           /* the newest this many */
	bool suppressed;          /* the suppressed ones instead of the others */
};

/* Calls fn for each stored alert that passes f, in the order they were
 * raised (a flow's alert is timed at its start, so times may go back a
 * little). 0, or a
 * negative store_error (fn returning non-zero stops the walk, and is
 * returned). */
int store_alerts_list(struct store *s, const struct store_alert_filter *f,
		      int (*fn)(void *ctx, const struct store_alert *a), void *ctx, char *err, size_t errlen);

/* The capture time of the newest event the store knows of: the latest
 * profile's last event, or the newest alert. 0 when empty. */
int store_last_event(struct store *s, uint64_t *ts_us, char *err, size_t errlen);

#endif
