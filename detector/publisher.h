/*
 * publisher — delivers alerts to Redis without ever blocking the packet path
 * and without losing them while Redis is away.
 *
 * The caller (the packet thread) hands each alert to publisher_submit(),
 * which only copies it into a bounded in-memory queue. A sender thread owns
 * the one hiredis connection: it sends queued alerts pipelined, as
 *
 *   XADD <prefix>:alerts MAXLEN ~ N * json J alert_id I device D kind K severity S gateway G
 *   PUBLISH <prefix>:alerts J
 *
 * and while Redis cannot be reached it appends them to an on-disk spool
 * (detector/spool.h), reconnecting on a capped exponential backoff with
 * jitter. Once the spool holds anything, every later alert goes through it
 * too, so delivery stays in order; the spool is delivered first at startup.
 *
 * Connection states: CONNECTED, or DOWN with a time of the next attempt.
 * A command that fails (I/O error, timeout, error reply) closes the
 * connection; the alerts Redis did not confirm go to the spool and are sent
 * again later. Duplicates in the stream come from there (an XADD Redis
 * applied whose reply was lost is sent again; counted in `resent`), and
 * from a restart after the spool failed to note a delivery (logged), so
 * delivery is at least once and consumers drop duplicates by alert_id.
 * The channel is best effort: PUBLISH goes with every XADD attempt.
 */
#ifndef IOTIDS_PUBLISHER_H
#define IOTIDS_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detector/spool.h"

/* A parsed redis:// or unix:// URL. */
struct pub_url {
	bool unix_socket;
	char host[256];      /* host name or address (IPv6 without brackets); the socket path for unix:// */
	uint16_t port;       /* 6379 unless given */
	char user[128];      /* empty: none given */
	char password[256];  /* empty: none given */
	bool has_password;
	uint32_t db;         /* SELECT db; 0 unless given */
};

/* Parses redis://[user[:password]@]host[:port][/db] (host may be [IPv6]) or
 * unix://[user[:password]@]/path/to/socket[?db=N]; user and password are
 * percent-decoded. 0, or -EINVAL with one line in err (the password never
 * quoted). */
int pub_url_parse(const char *url, struct pub_url *u, char *err, size_t errlen) __attribute__((warn_unused_result));

/* The URL for logs: the password replaced by "***". */
void pub_url_format(const struct pub_url *u, char *buf, size_t len);

struct pub_config {
	const char *url;
	const char *user, *password;   /* used when the URL gives none; NULL: none */
	uint32_t connect_timeout_ms;
	uint32_t command_timeout_ms;   /* each socket read or write of a pipeline */
	const char *prefix;            /* key prefix, "iotids" */
	const char *gateway_id;        /* names this gateway in the stats key and each entry */
	uint64_t stream_maxlen;        /* XADD MAXLEN ~ N; 0: the stream is not trimmed */
	uint64_t queue_bytes;          /* alerts held in memory at most */
	uint32_t backoff_min_ms, backoff_max_ms;
	/* Full queue: wait for room (replay, where nothing may be lost), or
	 * drop the alert and count it (live capture must not stall). */
	bool block_when_full;
	struct spool_config spool;
	/* Messages (connection lost, back, refused): called from the sender
	 * thread, and from publisher_new's caller for the first connection.
	 * NULL: stderr. */
	void (*log)(void *ctx, const char *msg);
	void *log_ctx;
};

/* Fills defaults: prefix "iotids", timeouts 2 s / 5 s, MAXLEN 100000, a
 * 8 MiB queue, backoff 100 ms to 30 s, a 64 MiB spool that drops its oldest,
 * fsync on. url, gateway_id and spool.dir are left NULL. */
void pub_config_defaults(struct pub_config *c);

struct pub_alert {
	const char *alert_id, *device, *kind, *severity;
	const char *json;   /* the alert as the JSON lines output has it */
};

struct pub_stats {
	uint64_t published;            /* confirmed by Redis straight from the queue */
	uint64_t spooled;              /* written to the spool */
	uint64_t delivered_from_spool; /* confirmed by Redis from the spool */
	uint64_t dropped;              /* lost: queue full without blocking, spool full or failing */
	uint64_t reconnects;           /* connections made after one was lost or refused */
	uint64_t resent;               /* unconfirmed when a connection failed, so sent again: Redis may
					* hold them already (an upper bound on stream duplicates) */
	uint64_t spool_pending;        /* in the spool now, not yet delivered */
	uint64_t queued;               /* in the memory queue now */
	bool connected;
};

struct publisher;

/* Parses the URL, opens the spool (creating its directory), makes the first
 * connection and starts the sender thread. Redis being unreachable is not an
 * error: alerts are spooled until it is back (one line is logged). A refused
 * AUTH or SELECT is: it is a configuration mistake the user must see now.
 * 0, or a negative errno with one line in err: -EINVAL bad URL or
 * configuration, -EACCES authentication refused, or the spool's error. */
int publisher_new(const struct pub_config *c, struct publisher **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Queues one alert (copied). Never waits on Redis; waits for queue room
 * only with block_when_full. 0, or -ENOBUFS when it was dropped (counted),
 * -ENOMEM. */
int publisher_submit(struct publisher *p, const struct pub_alert *a);

/* One field of a device summary. */
struct pub_field {
	const char *name, *value;
};
#define PUB_DEVICE_FIELDS 32

/* Queues a device summary for dashboards: HSET <prefix>:device:<device>
 * with the n fields (at most PUB_DEVICE_FIELDS) plus gateway and updated
 * (Unix time), and EXPIRE in PUB_DEVICE_TTL_S, so a device gone for a week
 * goes too. Best effort, unlike alerts: sent only while Redis is connected,
 * never spooled (the next summary supersedes it), never counted. 0, or
 * -EINVAL (too many fields), -ENOBUFS (queue full, not blocking), -ENOMEM. */
int publisher_device(struct publisher *p, const char *device, const struct pub_field *f, size_t n);
#define PUB_DEVICE_TTL_S (7 * 86400)

void publisher_stats(struct publisher *p, struct pub_stats *st);

/* The URL being published to, for messages (password hidden). */
const char *publisher_url(const struct publisher *p);
/* The gateway id in use (the host name unless configured). */
const char *publisher_gateway(const struct publisher *p);

/* Flushes: what is queued and spooled goes to Redis when it is reachable
 * (one more connection attempt is made if it is down), the rest to the
 * spool, which is synced. Then writes the stats hash, stops the thread and
 * frees p; the final counters go to *st when st is not NULL. NULL is a
 * no-op. Bounded by the timeouts: a server that stops answering costs at
 * most a connect timeout and a command timeout per socket call before the
 * rest goes to the spool. */
void publisher_close(struct publisher *p, struct pub_stats *st);

#endif
