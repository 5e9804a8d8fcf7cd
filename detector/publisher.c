/*
 * publisher — the alert queue, the sender thread and its Redis connection.
 *
 * Design notes.
 *
 * Why a thread and a blocking hiredis context rather than hiredis's async
 * API on the packet loop: the packet loop then never runs Redis code at
 * all, only a mutex-protected append to a list, and the sender can use the
 * simple blocking calls with socket timeouts (redisSetTimeout) for its
 * pipelines. One thread owns the context, the spool and the reconnect
 * timer; nothing else touches them, so they need no lock.
 *
 * Why alerts are encoded once, as the spool's record: a queued alert is the
 * very bytes the spool would keep (a version byte, then alert_id, device,
 * kind, severity and JSON separated by NULs; jansson escapes NUL, so the
 * JSON holds none), so moving it to disk is one write and sending it is
 * argv pointers into the same buffer.
 *
 * Ordering: the spool is a FIFO and, while it holds anything, new alerts
 * join it rather than overtaking it. An alert Redis answered with an error
 * (OOM, NOPERM) goes to the spool with every alert after it in the same
 * pipeline, so the order is kept at the price of sending the later ones
 * again (counted in resent).
 *
 * Backoff: 100 ms doubling to 30 s by default, each wait drawn at random
 * from its upper half, so a thousand gateways whose central Redis restarts
 * do not reconnect in lockstep.
 */
#include "detector/publisher.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "features/text.h"

/* Alerts per pipeline: large enough that a local Redis is limited by its own
 * speed, not by round trips; small enough that one batch's replies arrive
 * well within a command timeout. */
#define BATCH_MAX 512
#define BATCH_BYTES (4u << 20)
/* The counters in Redis are refreshed at most this often while busy. */
#define STATS_EVERY_MS 1000
/* A sender woken by the first alert of a burst waits this long for the
 * rest, so a busy minute costs a few pipelines, not one round trip (and
 * two thread wake-ups) per alert. An alert is late by this much at most. */
#define LINGER_MS 10
#define RECORD_VERSION 1 /* an alert */
#define RECORD_DEVICE 2  /* a device summary: never spooled */
#define N_FIELDS 5

struct pub_item {
	struct pub_item *next;
	size_t len;
	char data[];
};

struct counters {
	_Atomic uint64_t published, spooled, from_spool, dropped, reconnects, resent, spool_pending;
	atomic_bool connected;
};

struct publisher {
	struct pub_url url;
	char url_text[600];
	char prefix[128], gateway[128];
	char stream_key[160], stats_key[300];
	char maxlen[24];
	uint32_t connect_timeout_ms, command_timeout_ms;
	uint32_t backoff_min_ms, backoff_max_ms;
	bool block_when_full;
	void (*log)(void *ctx, const char *msg);
	void *log_ctx;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t wake, room;
	struct pub_item *head, *tail;
	uint64_t queue_bytes, queue_max, queued;
	bool stopping;

	/* Sender thread only. */
	redisContext *conn;
	struct spool *spool;
	bool spool_dirty;
	uint32_t backoff_ms;
	uint64_t next_attempt_ms;
	uint64_t stats_at_ms;
	bool stats_stale;
	unsigned stats_appended;  /* HSETs in the current pipeline */
	uint64_t spool_dropped_seen; /* the spool's own dropped count, last read */
	uint64_t spool_retry_ms;  /* after a spool read error, not before this */
	bool final_tried;
	bool device_error_logged, publish_error_logged, stats_error_logged;
	bool spool_error_logged;    /* a write error, until one succeeds */
	/* Delivered from the spool through here, even when the spool could
	 * not record it, so a failing disk never makes us send a batch twice. */
	uint64_t delivered_through;
	bool lost_logged;
	unsigned rand_state;

	struct counters n;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void logf_(struct publisher *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct publisher *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->log)
		p->log(p->log_ctx, msg);
	else
		fprintf(stderr, "iotids: %s\n", msg);
}

/* snprintf for messages, where cutting a long one short is fine. */
static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ---- URL ---------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into out; -1 on a bad escape, a NUL or no room. */
static int pct_decode(const char *s, size_t n, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return -1;
			c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		}
		if (c == '\0' || o + 1 >= size)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

static int parse_uint(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	if (n == 0 || n > 10)
		return -1;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

static int url_fail(char *err, size_t errlen, const char *what)
{
	say(err, errlen, "redis URL: %s (expected redis://[user:password@]host[:port][/db] or unix:///path[?db=N])",
		 what);
	return -EINVAL;
}

int pub_url_parse(const char *url, struct pub_url *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	u->port = 6379;
	const char *rest;
	if (!strncmp(url, "redis://", 8)) {
		rest = url + 8;
	} else if (!strncmp(url, "unix://", 7)) {
		rest = url + 7;
		u->unix_socket = true;
	} else if (!strncmp(url, "rediss://", 9)) {
		return url_fail(err, errlen, "TLS (rediss://) is not supported; use a local stunnel or a unix socket");
	} else {
		return url_fail(err, errlen, "unknown scheme");
	}

	/* Credentials end at the last '@' before the path, so a password may hold '@' percent-encoded or not. */
	const char *path_start = u->unix_socket ? strchr(rest, '/') : strpbrk(rest, "/?");
	const char *end_auth = path_start ? path_start : rest + strlen(rest);
	const char *at = NULL;
	for (const char *q = rest; q < end_auth; q++)
		if (*q == '@')
			at = q;
	if (at) {
		const char *colon = memchr(rest, ':', (size_t)(at - rest));
		size_t ulen = colon ? (size_t)(colon - rest) : (size_t)(at - rest);
		if (pct_decode(rest, ulen, u->user, sizeof(u->user)) != 0)
			return url_fail(err, errlen, "bad user name");
		if (colon) {
			if (pct_decode(colon + 1, (size_t)(at - colon - 1), u->password, sizeof(u->password)) != 0)
				return url_fail(err, errlen, "bad password (percent-encode special characters)");
			u->has_password = true;
		} else if (u->user[0]) {
			/* "redis://secret@host" is the classic form for a password alone. */
			memcpy(u->password, u->user, sizeof(u->password) < sizeof(u->user) ? sizeof(u->password)
											 : sizeof(u->user));
			u->user[0] = '\0';
			u->has_password = true;
		}
		rest = at + 1;
	}

	if (u->unix_socket) {
		if (*rest != '/')
			return url_fail(err, errlen, "a unix socket needs an absolute path");
		const char *q = strchr(rest, '?');
		size_t plen = q ? (size_t)(q - rest) : strlen(rest);
		if (plen >= sizeof(u->host) || pct_decode(rest, plen, u->host, sizeof(u->host)) != 0)
			return url_fail(err, errlen, "bad socket path");
		if (q) {
			uint64_t db;
			if (strncmp(q, "?db=", 4) || parse_uint(q + 4, strlen(q + 4), 1u << 20, &db) != 0)
				return url_fail(err, errlen, "the only query is ?db=N");
			u->db = (uint32_t)db;
		}
		return 0;
	}

	const char *host = rest, *host_end;
	if (*host == '[') {
		host_end = strchr(host, ']');
		if (!host_end)
			return url_fail(err, errlen, "unclosed [ in the host");
		host++;
		rest = host_end + 1;
	} else {
		host_end = host + strcspn(host, ":/?");
		rest = host_end;
	}
	size_t hlen = (size_t)(host_end - host);
	if (hlen == 0 || hlen >= sizeof(u->host))
		return url_fail(err, errlen, "no host");
	memcpy(u->host, host, hlen);
	u->host[hlen] = '\0';
	for (size_t i = 0; i < hlen; i++) {
		unsigned char c = (unsigned char)u->host[i];
		if (c <= ' ' || c == '@' || c == '%' || c == '[' || c == ']')
			return url_fail(err, errlen, "bad character in the host");
	}
	if (*rest == ':') {
		rest++;
		size_t n = strcspn(rest, "/?");
		uint64_t port;
		if (parse_uint(rest, n, 65535, &port) != 0 || port == 0)
			return url_fail(err, errlen, "bad port");
		u->port = (uint16_t)port;
		rest += n;
	}
	if (*rest == '/') {
		rest++;
		if (*rest) {
			uint64_t db;
			if (parse_uint(rest, strlen(rest), 1u << 20, &db) != 0)
				return url_fail(err, errlen, "the path must be a database number");
			u->db = (uint32_t)db;
		}
	} else if (*rest) {
		return url_fail(err, errlen, "unexpected text after the host");
	}
	return 0;
}

void pub_url_format(const struct pub_url *u, char *buf, size_t len)
{
	char auth[200] = "";
	if (u->user[0] || u->has_password)
		snprintf(auth, sizeof(auth), "%s%s@", u->user, u->has_password ? ":***" : "");
	if (u->unix_socket)
		snprintf(buf, len, "unix://%s%s%s", auth, u->host, u->db ? "?db=" : "");
	else if (strchr(u->host, ':'))
		snprintf(buf, len, "redis://%s[%s]:%u", auth, u->host, (unsigned)u->port);
	else
		snprintf(buf, len, "redis://%s%s:%u", auth, u->host, (unsigned)u->port);
	if (u->db) {
		size_t o = strlen(buf);
		snprintf(buf + o, len > o ? len - o : 0, u->unix_socket ? "%u" : "/%u", (unsigned)u->db);
	}
}

/* ---- records ------------------------------------------------------------ */

/* An item of len bytes whose first is type; NULL out of memory. */
static struct pub_item *item_alloc(size_t len, char type)
{
	struct pub_item *it = malloc(sizeof(*it) + len);
	if (it) {
		it->next = NULL;
		it->len = len;
		it->data[0] = type;
	}
	return it;
}

static struct pub_item *item_new(const struct pub_alert *a)
{
	const char *f[N_FIELDS] = {a->alert_id, a->device, a->kind, a->severity, a->json};
	size_t len = 1;
	for (int i = 0; i < N_FIELDS; i++)
		len += strlen(f[i]) + (i < N_FIELDS - 1);
	struct pub_item *it = item_alloc(len, RECORD_VERSION);
	if (!it)
		return NULL;
	char *o = it->data + 1;
	for (int i = 0; i < N_FIELDS; i++) {
		size_t n = strlen(f[i]);
		memcpy(o, f[i], n);
		o += n;
		if (i < N_FIELDS - 1)
			*o++ = '\0';
	}
	return it;
}

/* A device summary: the type byte, then the device and each name and
 * value, every one NUL-terminated. */
static struct pub_item *device_item_new(const char *device, const struct pub_field *f, size_t n)
{
	size_t len = 1 + strlen(device) + 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(f[i].name) + 1 + strlen(f[i].value) + 1;
	struct pub_item *it = item_alloc(len, RECORD_DEVICE);
	if (!it)
		return NULL;
	char *o = it->data + 1;
	size_t w = strlen(device) + 1;
	memcpy(o, device, w);
	o += w;
	for (size_t i = 0; i < n; i++) {
		w = strlen(f[i].name) + 1;
		memcpy(o, f[i].name, w);
		o += w;
		w = strlen(f[i].value) + 1;
		memcpy(o, f[i].value, w);
		o += w;
	}
	return it;
}

/* Splits a record into its fields; -1 when it is not one of ours. */
static int record_fields(const char *data, size_t len, const char *f[N_FIELDS], size_t flen[N_FIELDS])
{
	if (len < 1 || data[0] != RECORD_VERSION)
		return -1;
	const char *p = data + 1, *end = data + len;
	for (int i = 0; i < N_FIELDS - 1; i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul)
			return -1;
		f[i] = p;
		flen[i] = (size_t)(nul - p);
		p = nul + 1;
	}
	f[N_FIELDS - 1] = p;
	flen[N_FIELDS - 1] = (size_t)(end - p);
	return flen[N_FIELDS - 1] ? 0 : -1;
}

/* ---- connection ----------------------------------------------------------- */

static struct timeval ms_tv(uint32_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	return tv;
}

static void conn_close(struct publisher *p)
{
	if (p->conn) {
		redisFree(p->conn);
		p->conn = NULL;
	}
	atomic_store(&p->n.connected, false);
}

/* 0 connected; -EAGAIN unreachable (retry later); -EACCES or -EINVAL when
 * Redis refused us (AUTH, SELECT): retrying will not help until someone
 * fixes the configuration. err gets the reason either way. */
static int conn_open(struct publisher *p, char *err, size_t errlen)
{
	struct timeval tv = ms_tv(p->connect_timeout_ms);
	redisContext *c = p->url.unix_socket ? redisConnectUnixWithTimeout(p->url.host, tv)
					     : redisConnectWithTimeout(p->url.host, p->url.port, tv);
	redisReply *r = NULL;
	int rc = -EAGAIN;
	if (!c) {
		say(err, errlen, "%s: out of memory", p->url_text);
		return -ENOMEM;
	}
	if (c->err) {
		say(err, errlen, "%s: cannot connect: %s", p->url_text, c->errstr);
		goto out;
	}
	if (redisSetTimeout(c, ms_tv(p->command_timeout_ms)) != REDIS_OK ||
	    (!p->url.unix_socket && redisEnableKeepAlive(c) != REDIS_OK)) {
		say(err, errlen, "%s: cannot set socket options: %s", p->url_text, c->errstr);
		goto out;
	}
	if (p->url.has_password) {
		r = p->url.user[0] ? redisCommand(c, "AUTH %s %s", p->url.user, p->url.password)
				   : redisCommand(c, "AUTH %s", p->url.password);
		if (!r) {
			say(err, errlen, "%s: AUTH: %s", p->url_text, c->errstr);
			goto out;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			say(err, errlen, "%s: authentication refused: %s", p->url_text, r->str);
			rc = -EACCES;
			goto out;
		}
		freeReplyObject(r);
		r = NULL;
	}
	if (p->url.db) {
		r = redisCommand(c, "SELECT %u", (unsigned)p->url.db);
		if (!r) {
			say(err, errlen, "%s: SELECT: %s", p->url_text, c->errstr);
			goto out;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			say(err, errlen, "%s: SELECT %u refused: %s", p->url_text, (unsigned)p->url.db, r->str);
			rc = -EINVAL;
			goto out;
		}
		freeReplyObject(r);
		r = NULL;
	}
	/* A server that wants a password we lack says so here, not at the
	 * first XADD. */
	r = redisCommand(c, "PING");
	if (!r) {
		say(err, errlen, "%s: PING: %s", p->url_text, c->errstr);
		goto out;
	}
	/* NOPERM: authenticated, just not allowed PING, which we never need. */
	if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOPERM", 6)) {
		say(err, errlen, "%s: %s%s", p->url_text, r->str,
		    strncmp(r->str, "NOAUTH", 6) ? "" : " (give a password in the URL or redis.password)");
		rc = strncmp(r->str, "LOADING", 7) ? -EACCES : -EAGAIN;
		goto out;
	}
	freeReplyObject(r);
	r = NULL;
	p->conn = c;
	c = NULL;
	rc = 0;
	atomic_store(&p->n.connected, true);
out:
	freeReplyObject(r);
	if (c)
		redisFree(c);
	return rc;
}

static void schedule_retry(struct publisher *p)
{
	uint32_t b = p->backoff_ms;
	/* From the upper half of the current step: spread, never much sooner. */
	uint32_t wait = b / 2 + (uint32_t)(rand_r(&p->rand_state) % (b / 2 + 1));
	p->next_attempt_ms = now_ms() + wait;
	p->backoff_ms = b >= p->backoff_max_ms / 2 ? p->backoff_max_ms : b * 2;
}

/* Lost the connection (or never had it): spool from now on, try later. */
static void conn_lost(struct publisher *p, const char *why)
{
	conn_close(p);
	if (!p->lost_logged) {
		logf_(p, "%s; alerts are kept in the spool until Redis is back", why);
		p->lost_logged = true;
	}
	schedule_retry(p);
}

static void try_connect(struct publisher *p, bool first)
{
	char err[600];
	int rc = conn_open(p, err, sizeof(err));
	if (rc == 0) {
		if (!first)
			atomic_fetch_add(&p->n.reconnects, 1);
		if (p->lost_logged) {
			logf_(p, "%s: connected again; %llu spooled alerts to deliver", p->url_text,
			      (unsigned long long)atomic_load(&p->n.spool_pending));
			p->lost_logged = false;
		}
		p->stats_stale = true;
		return;
	}
	/* A refusal is logged every time: it needs a person, and the backoff
	 * cap keeps it to a few lines a minute. */
	if (rc != -EAGAIN)
		p->lost_logged = false;
	conn_lost(p, err);
}

/* ---- sending -------------------------------------------------------------- */

/* Queues one alert's XADD and PUBLISH on the connection. */
static int append_alert(struct publisher *p, const char *data, size_t len)
{
	const char *f[N_FIELDS];
	size_t fl[N_FIELDS];
	if (record_fields(data, len, f, fl) != 0)
		return -1;
	const char *argv[20];
	size_t argl[20];
	int n = 0;
#define ARG(s, l) (argv[n] = (s), argl[n] = (l), n++)
	ARG("XADD", 4);
	ARG(p->stream_key, strlen(p->stream_key));
	if (p->maxlen[0]) {
		ARG("MAXLEN", 6);
		ARG("~", 1);
		ARG(p->maxlen, strlen(p->maxlen));
	}
	ARG("*", 1);
	ARG("json", 4);
	ARG(f[4], fl[4]);
	ARG("alert_id", 8);
	ARG(f[0], fl[0]);
	ARG("device", 6);
	ARG(f[1], fl[1]);
	ARG("kind", 4);
	ARG(f[2], fl[2]);
	ARG("severity", 8);
	ARG(f[3], fl[3]);
	ARG("gateway", 7);
	ARG(p->gateway, strlen(p->gateway));
	if (redisAppendCommandArgv(p->conn, n, argv, argl) != REDIS_OK)
		return -2;
	n = 0;
	ARG("PUBLISH", 7);
	ARG(p->stream_key, strlen(p->stream_key));
	ARG(f[4], fl[4]);
#undef ARG
	return redisAppendCommandArgv(p->conn, n, argv, argl) == REDIS_OK ? 0 : -2;
}

static void append_stats(struct publisher *p)
{
	struct pub_stats s;
	publisher_stats(p, &s);
	char v[8][24];
	snprintf(v[0], sizeof(v[0]), "%llu", (unsigned long long)s.published);
	snprintf(v[1], sizeof(v[1]), "%llu", (unsigned long long)s.spooled);
	snprintf(v[2], sizeof(v[2]), "%llu", (unsigned long long)s.delivered_from_spool);
	snprintf(v[3], sizeof(v[3]), "%llu", (unsigned long long)s.dropped);
	snprintf(v[4], sizeof(v[4]), "%llu", (unsigned long long)s.reconnects);
	snprintf(v[5], sizeof(v[5]), "%llu", (unsigned long long)s.resent);
	snprintf(v[6], sizeof(v[6]), "%llu", (unsigned long long)(s.spool_pending + s.queued));
	snprintf(v[7], sizeof(v[7]), "%llu", (unsigned long long)s.spool_pending);
	char t[24];
	snprintf(t, sizeof(t), "%lld", (long long)time(NULL));
	const char *argv[] = {"HSET", p->stats_key, "published", v[0], "spooled", v[1], "delivered_from_spool", v[2],
			      "dropped", v[3], "reconnects", v[4], "resent", v[5], "backlog", v[6], "spool_pending", v[7],
			      "updated", t};
	size_t argl[sizeof(argv) / sizeof(argv[0])];
	for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
		argl[i] = strlen(argv[i]);
	if (redisAppendCommandArgv(p->conn, (int)(sizeof(argv) / sizeof(argv[0])), argv, argl) == REDIS_OK)
		p->stats_appended++;
}

/* Reads the replies of the stats HSETs in the pipeline; false when the
 * connection failed (the caller closes it). */
static bool read_stats_replies(struct publisher *p)
{
	for (unsigned i = 0; i < p->stats_appended; i++) {
		redisReply *r = NULL;
		if (redisGetReply(p->conn, (void **)&r) != REDIS_OK || !r)
			return false;
		if (r->type == REDIS_REPLY_ERROR && !p->stats_error_logged) {
			logf_(p, "%s: HSET %s refused: %s", p->url_text, p->stats_key, r->str);
			p->stats_error_logged = true;
		}
		freeReplyObject(r);
	}
	p->stats_appended = 0;
	return true;
}

/* Sends n records pipelined, each one XADD and one PUBLISH, and reads every
 * reply. Returns how many from the start Redis confirmed, in order: n when
 * all were. Anything less closes the connection (the caller keeps the rest
 * for later), with *maybe_applied set to how many of the rest Redis may
 * nevertheless hold (they will be sent again). Records that are not ours
 * (a damaged spool) are skipped and counted in dropped. */
static size_t send_records(struct publisher *p, const struct spool_record *recs, size_t n, uint64_t *maybe_applied,
			   size_t *skipped)
{
	bool bad[BATCH_MAX] = {false};
	char why[512] = "";
	size_t first_fail = n;
	uint64_t applied_after = 0;
	bool io_error = false;

	*maybe_applied = 0;
	*skipped = 0;
	p->stats_appended = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = append_alert(p, recs[i].data, recs[i].len);
		if (rc == -1) {
			bad[i] = true;
			(*skipped)++;
			atomic_fetch_add(&p->n.dropped, 1);
			logf_(p, "spool record %llu is damaged; dropped", (unsigned long long)recs[i].seq);
		} else if (rc != 0) {
			say(why, sizeof(why), "%s: out of memory", p->url_text);
			io_error = true;
			first_fail = 0;
			applied_after = 0;
			goto out;
		}
	}
	uint64_t now = now_ms();
	if (p->stats_stale && now - p->stats_at_ms >= STATS_EVERY_MS) {
		append_stats(p);
		p->stats_at_ms = now;
		p->stats_stale = false;
	}
	for (size_t i = 0; i < n; i++) {
		if (bad[i])
			continue;
		redisReply *r = NULL;
		if (redisGetReply(p->conn, (void **)&r) != REDIS_OK || !r) {
			say(why, sizeof(why), "%s: connection lost: %s", p->url_text,
				 p->conn->errstr[0] ? p->conn->errstr : "no reply");
			io_error = true;
			if (first_fail > i)
				first_fail = i;
			/* Written but unanswered: Redis may have it. */
			for (size_t j = i; j < n; j++)
				applied_after += !bad[j];
			goto out;
		}
		bool ok = r->type != REDIS_REPLY_ERROR;
		if (!ok && !why[0])
			say(why, sizeof(why), "%s: XADD %s refused: %.*s", p->url_text, p->stream_key,
				 (int)(r->len < 300 ? r->len : 300), r->str);
		freeReplyObject(r);
		if (!ok && first_fail > i)
			first_fail = i;
		else if (ok && first_fail < i)
			applied_after++;
		if (redisGetReply(p->conn, (void **)&r) != REDIS_OK || !r) {
			say(why, sizeof(why), "%s: connection lost: %s", p->url_text,
				 p->conn->errstr[0] ? p->conn->errstr : "no reply");
			io_error = true;
			if (first_fail > i + 1)
				first_fail = i + 1;
			for (size_t j = i + 1; j < n; j++)
				applied_after += !bad[j];
			goto out;
		}
		if (r->type == REDIS_REPLY_ERROR && !p->publish_error_logged) {
			logf_(p, "%s: PUBLISH %s refused: %s; live subscribers get nothing", p->url_text, p->stream_key,
			      r->str);
			p->publish_error_logged = true;
		}
		freeReplyObject(r);
	}
	if (!read_stats_replies(p)) {
		if (!why[0])
			say(why, sizeof(why), "%s: connection lost: %s", p->url_text, p->conn->errstr);
		io_error = true;
	}
out:
	if (first_fail < n || io_error) {
		*maybe_applied = first_fail < n ? applied_after : 0;
		conn_lost(p, why);
	} else {
		/* Taken, not just connected: a server that accepts connections
		 * and refuses every XADD keeps the backoff growing. */
		p->backoff_ms = p->backoff_min_ms;
	}
	for (size_t i = first_fail; i < n; i++)
		*skipped -= bad[i];
	return first_fail;
}

/* Appends records to the spool; what it cannot keep is counted dropped. */
static void spool_records(struct publisher *p, const struct spool_record *recs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = spool_append(p->spool, recs[i].data, recs[i].len);
		if (rc == 0) {
			atomic_fetch_add(&p->n.spooled, 1);
			p->spool_dirty = true;
			p->spool_error_logged = false;
		} else if (rc < 0 && rc != -EMSGSIZE) {
			atomic_fetch_add(&p->n.dropped, 1);
			if (!p->spool_error_logged)
				logf_(p, "spool: cannot write alerts: %s; they are dropped (counted) until it can",
				      strerror(-rc));
			p->spool_error_logged = true;
		}
	}
	struct spool_stats st;
	spool_stats(p->spool, &st);
	/* The full policy's losses, counted by the spool. */
	atomic_fetch_add(&p->n.dropped, st.dropped - p->spool_dropped_seen);
	if (st.dropped != p->spool_dropped_seen && p->spool_dropped_seen == 0)
		logf_(p, "spool is full: alerts are being dropped (see redis.spool.when_full)");
	p->spool_dropped_seen = st.dropped;
	atomic_store(&p->n.spool_pending, st.pending);
	p->stats_stale = true;
}

/* Delivers one batch from the head of the spool; how many Redis took. */
static size_t deliver_spool_batch(struct publisher *p)
{
	struct spool_record recs[BATCH_MAX];
	if (now_ms() < p->spool_retry_ms)
		return 0;
	int n = spool_peek(p->spool, recs, BATCH_MAX, BATCH_BYTES);
	if (n < 0) {
		logf_(p, "spool: cannot read: %s; trying again in a minute", strerror(-n));
		p->spool_retry_ms = now_ms() + 60000;
		return 0;
	}
	/* Already delivered, the spool just could not note it: retry that
	 * first, and never send them again in this run. */
	size_t done = 0;
	while (done < (size_t)n && recs[done].seq <= p->delivered_through)
		done++;
	if (done == (size_t)n) {
		int rc = spool_consume(p->spool, p->delivered_through);
		if (rc != 0) {
			logf_(p, "spool: cannot record delivery: %s; trying again in a minute", strerror(-rc));
			p->spool_retry_ms = now_ms() + 60000;
			return 0;
		}
		return (size_t)n;
	}
	uint64_t maybe = 0;
	size_t skipped = 0;
	size_t ok = send_records(p, recs + done, (size_t)n - done, &maybe, &skipped);
	if (ok > 0) {
		p->delivered_through = recs[done + ok - 1].seq;
		int rc = spool_consume(p->spool, p->delivered_through);
		if (rc != 0)
			logf_(p, "spool: cannot record delivery: %s; a restart before it can would send %zu alerts again",
			      strerror(-rc), ok);
		atomic_fetch_add(&p->n.from_spool, ok - skipped);
	}
	atomic_fetch_add(&p->n.resent, maybe);
	struct spool_stats st;
	spool_stats(p->spool, &st);
	atomic_store(&p->n.spool_pending, st.pending);
	p->stats_stale = true;
	return ok;
}

/* Sends device summaries when connected; otherwise they are let go. */
static void send_devices(struct publisher *p, const struct spool_record *recs, size_t n)
{
	char key[400], t[24], ttl[24];
	const char *argv[4 + 2 * PUB_DEVICE_FIELDS + 4];
	size_t argl[sizeof(argv) / sizeof(argv[0])];
	size_t sent = 0;
	snprintf(t, sizeof(t), "%lld", (long long)time(NULL));
	snprintf(ttl, sizeof(ttl), "%d", PUB_DEVICE_TTL_S);
	for (size_t i = 0; i < n && p->conn; i++) {
		const char *s = (const char *)recs[i].data + 1, *end = (const char *)recs[i].data + recs[i].len;
		snprintf(key, sizeof(key), "%s:device:%s", p->prefix, s);
		int argc = 0;
		argv[argc++] = "HSET";
		argv[argc++] = key;
		for (s += strlen(s) + 1; s < end && argc < 2 + 2 * PUB_DEVICE_FIELDS; s += strlen(s) + 1)
			argv[argc++] = s;
		argv[argc++] = "gateway";
		argv[argc++] = p->gateway;
		argv[argc++] = "updated";
		argv[argc++] = t;
		for (int a = 0; a < argc; a++)
			argl[a] = strlen(argv[a]);
		const char *ex[] = {"EXPIRE", key, ttl};
		size_t exl[] = {6, strlen(key), strlen(ttl)};
		if (redisAppendCommandArgv(p->conn, argc, argv, argl) != REDIS_OK ||
		    redisAppendCommandArgv(p->conn, 3, ex, exl) != REDIS_OK) {
			/* A half-queued pipeline would pair later replies wrongly. */
			conn_lost(p, "redis: out of memory queueing a device summary");
			return;
		}
		sent++;
	}
	for (size_t i = 0; i < 2 * sent; i++) {
		redisReply *r = NULL;
		if (redisGetReply(p->conn, (void **)&r) != REDIS_OK || !r) {
			char why[600];
			say(why, sizeof(why), "%s: connection lost: %s", p->url_text, p->conn->errstr);
			conn_lost(p, why);
			return;
		}
		if (r->type == REDIS_REPLY_ERROR && !p->device_error_logged) {
			logf_(p, "%s: device summary refused: %s", p->url_text, r->str);
			p->device_error_logged = true;
		}
		freeReplyObject(r);
	}
}

/* Routes items taken off the queue, in order, and frees them. */
static void route_items(struct publisher *p, struct pub_item *list)
{
	struct spool_record recs[BATCH_MAX];
	while (list) {
		size_t n = 0;
		struct pub_item *next = list;
		bool devices = list->data[0] == RECORD_DEVICE;
		while (next && n < BATCH_MAX && (next->data[0] == RECORD_DEVICE) == devices) {
			recs[n++] = (struct spool_record){.seq = 0, .data = next->data, .len = next->len};
			next = next->next;
		}
		size_t sent = 0;
		if (devices) {
			send_devices(p, recs, n);
			sent = n;
		} else if (p->conn && atomic_load(&p->n.spool_pending) == 0) {
			uint64_t maybe = 0;
			size_t skipped = 0;
			sent = send_records(p, recs, n, &maybe, &skipped);
			atomic_fetch_add(&p->n.published, sent - skipped);
			atomic_fetch_add(&p->n.resent, maybe);
			p->stats_stale = true;
		}
		if (sent < n)
			spool_records(p, recs + sent, n - sent);
		while (list != next) {
			struct pub_item *it = list;
			list = list->next;
			free(it);
		}
	}
}

static void write_stats(struct publisher *p)
{
	if (!p->conn)
		return;
	p->stats_appended = 0;
	append_stats(p);
	if (!read_stats_replies(p)) {
		char why[600];
		say(why, sizeof(why), "%s: connection lost: %s", p->url_text, p->conn->errstr);
		conn_lost(p, why);
	}
}

/* Waits on wake (p->mu held) for at most ms milliseconds. */
static void timed_wait_ms(struct publisher *p, uint64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec + ms % 1000 * 1000000u;
	ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	pthread_cond_timedwait(&p->wake, &p->mu, &ts);
}

static void wait_for_work(struct publisher *p)
{
	for (;;) {
		if (p->head || p->stopping)
			return;
		uint64_t now = now_ms(), deadline;
		if (!p->conn) {
			if (now >= p->next_attempt_ms)
				return;
			deadline = p->next_attempt_ms;
		} else if (atomic_load(&p->n.spool_pending) > 0 && now >= p->spool_retry_ms) {
			return;
		} else if (p->stats_stale) {
			deadline = p->stats_at_ms + STATS_EVERY_MS;
			if (now >= deadline)
				return;
		} else {
			deadline = now + 60000;
		}
		timed_wait_ms(p, deadline - now);
	}
}

static void *sender_main(void *arg)
{
	struct publisher *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		wait_for_work(p);
		if (!p->stopping && p->conn && p->head && p->queued < BATCH_MAX)
			timed_wait_ms(p, LINGER_MS);
		bool stopping = p->stopping;
		/* Direct sends take a batch at a time; what is bound for the spool
		 * goes at once, and so does a queue ¾ full when the packet thread
		 * must not wait (live capture): that frees the queue at once, for at
		 * most twice its size in memory. */
		bool direct = p->conn && atomic_load(&p->n.spool_pending) == 0 &&
			      (p->block_when_full || p->queue_bytes <= p->queue_max / 4 * 3);
		struct pub_item *list = p->head, *last = NULL;
		size_t n = 0;
		for (struct pub_item *it = p->head; it && (!direct || n < BATCH_MAX); it = it->next) {
			last = it;
			n++;
			p->queue_bytes -= it->len;
		}
		if (last) {
			p->head = last->next;
			if (!p->head)
				p->tail = NULL;
			last->next = NULL;
			p->queued -= n;
		} else {
			list = NULL;
		}
		pthread_cond_broadcast(&p->room);
		pthread_mutex_unlock(&p->mu);

		if (!p->conn && (now_ms() >= p->next_attempt_ms || (stopping && !p->final_tried))) {
			p->final_tried = stopping;
			try_connect(p, false);
		}
		if (p->conn && atomic_load(&p->n.spool_pending) > 0)
			deliver_spool_batch(p);
		route_items(p, list);
		if (p->spool_dirty) {
			int rc = spool_sync(p->spool);
			if (rc != 0)
				logf_(p, "spool: cannot sync: %s", strerror(-rc));
			p->spool_dirty = false;
		}
		if (p->conn && p->stats_stale && now_ms() - p->stats_at_ms >= STATS_EVERY_MS) {
			write_stats(p);
			p->stats_at_ms = now_ms();
			p->stats_stale = false;
		}

		pthread_mutex_lock(&p->mu);
		if (stopping && !p->head) {
			pthread_mutex_unlock(&p->mu);
			while (p->conn && atomic_load(&p->n.spool_pending) > 0 && deliver_spool_batch(p) > 0)
				;
			write_stats(p);
			return NULL;
		}
	}
}

/* ---- API ------------------------------------------------------------------ */

void pub_config_defaults(struct pub_config *c)
{
	memset(c, 0, sizeof(*c));
	c->connect_timeout_ms = 2000;
	c->command_timeout_ms = 5000;
	c->prefix = "iotids";
	c->stream_maxlen = 100000;
	c->queue_bytes = 8u << 20;
	c->backoff_min_ms = 100;
	c->backoff_max_ms = 30000;
	c->block_when_full = true;
	c->spool.max_bytes = 64u << 20;
	c->spool.when_full = SPOOL_DROP_OLDEST;
	c->spool.fsync = true;
}

/* Key parts: printable, no spaces, so keys read well in redis-cli. */
static bool key_part_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("_-.:", c)))
			return false;
	}
	return true;
}

/* mkdir -p of dir's parent, so a default spool under /var/lib works on a
 * fresh system. */
static void make_parents(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", dir);
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
}

int publisher_new(const struct pub_config *c, struct publisher **out, char *err, size_t errlen)
{
	*out = NULL;
	struct publisher *p = calloc(1, sizeof(*p));
	int rc = -ENOMEM;
	if (!p) {
		say(err, errlen, "out of memory");
		return rc;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_cond_init(&p->room, NULL);
	pthread_condattr_destroy(&ca);

	if (!c->url) {
		say(err, errlen, "redis: no URL");
		rc = -EINVAL;
		goto fail;
	}
	if ((rc = pub_url_parse(c->url, &p->url, err, errlen)) != 0)
		goto fail;
	if (!p->url.user[0] && c->user)
		snprintf(p->url.user, sizeof(p->url.user), "%s", c->user);
	if (!p->url.has_password && c->password && c->password[0]) {
		snprintf(p->url.password, sizeof(p->url.password), "%s", c->password);
		p->url.has_password = true;
	}
	if (p->url.user[0] && !p->url.has_password) {
		say(err, errlen, "redis: user %s has no password (give it in the URL or redis.password)",
			 p->url.user);
		rc = -EINVAL;
		goto fail;
	}
	pub_url_format(&p->url, p->url_text, sizeof(p->url_text));

	const char *prefix = c->prefix ? c->prefix : "iotids";
	char host[HOST_NAME_MAX + 1] = "";
	const char *gw = c->gateway_id;
	if (!gw) {
		if (gethostname(host, sizeof(host)) != 0 || !host[0])
			snprintf(host, sizeof(host), "gateway");
		host[sizeof(host) - 1] = '\0';
		gw = host;
	}
	if (!key_part_ok(prefix, 64)) {
		say(err, errlen, "redis: key prefix '%.64s': 1 to 64 of A-Z a-z 0-9 _ - . :", prefix);
		rc = -EINVAL;
		goto fail;
	}
	if (!key_part_ok(gw, 64)) {
		say(err, errlen, "redis: gateway id '%.64s': 1 to 64 of A-Z a-z 0-9 _ - . :", gw);
		rc = -EINVAL;
		goto fail;
	}
	snprintf(p->prefix, sizeof(p->prefix), "%s", prefix);
	snprintf(p->gateway, sizeof(p->gateway), "%s", gw);
	snprintf(p->stream_key, sizeof(p->stream_key), "%s:alerts", prefix);
	snprintf(p->stats_key, sizeof(p->stats_key), "%s:stats:%s", prefix, gw);
	if (c->stream_maxlen)
		snprintf(p->maxlen, sizeof(p->maxlen), "%llu", (unsigned long long)c->stream_maxlen);
	p->connect_timeout_ms = c->connect_timeout_ms;
	p->command_timeout_ms = c->command_timeout_ms;
	p->backoff_min_ms = c->backoff_min_ms ? c->backoff_min_ms : 1;
	p->backoff_max_ms = c->backoff_max_ms > p->backoff_min_ms ? c->backoff_max_ms : p->backoff_min_ms;
	p->backoff_ms = p->backoff_min_ms;
	p->block_when_full = c->block_when_full;
	p->queue_max = c->queue_bytes;
	p->log = c->log;
	p->log_ctx = c->log_ctx;
	p->rand_state = (unsigned)getpid() ^ (unsigned)now_ms();

	if (!c->spool.dir) {
		say(err, errlen, "redis: no spool directory");
		rc = -EINVAL;
		goto fail;
	}
	make_parents(c->spool.dir);
	if ((rc = spool_open(&c->spool, &p->spool, err, errlen)) != 0)
		goto fail;
	struct spool_stats st;
	spool_stats(p->spool, &st);
	atomic_store(&p->n.spool_pending, st.pending);
	p->spool_dropped_seen = st.dropped;

	/* hiredis writes with write(): a server closing on us mid-AUTH must
	 * give EPIPE here too, not kill the caller. */
	char why[600];
	sigset_t pipe_set, old_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
	rc = conn_open(p, why, sizeof(why));
	while (sigtimedwait(&pipe_set, NULL, &(struct timespec){0}) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	if (rc == -EAGAIN) {
		conn_lost(p, why);
	} else if (rc != 0) {
		say(err, errlen, "%s", why);
		goto fail;
	}
	p->stats_stale = true;

	/* The sender takes no signals: SIGTERM and SIGHUP are the packet
	 * loop's, and a write to a closed socket must give EPIPE, not kill. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->thread, NULL, sender_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		say(err, errlen, "redis: cannot start the sender thread: %s", strerror(rc));
		rc = -rc;
		goto fail;
	}
	p->thread_started = true;
	*out = p;
	return 0;
fail:
	conn_close(p);
	spool_close(p->spool);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->room);
	pthread_mutex_destroy(&p->mu);
	free(p);
	return rc;
}

/* Queues an item (taking it), waiting for room or refusing it. */
static int enqueue(struct publisher *p, struct pub_item *it)
{
	pthread_mutex_lock(&p->mu);
	while (p->head && p->queue_bytes + it->len > p->queue_max) {
		if (!p->block_when_full) {
			pthread_mutex_unlock(&p->mu);
			free(it);
			return -ENOBUFS;
		}
		pthread_cond_wait(&p->room, &p->mu);
	}
	if (p->tail)
		p->tail->next = it;
	else
		p->head = it;
	p->tail = it;
	p->queue_bytes += it->len;
	p->queued++;
	/* The sender sleeps only on an empty queue, or lingers for a batch. */
	if (p->queued == 1 || p->queued == BATCH_MAX)
		pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int publisher_submit(struct publisher *p, const struct pub_alert *a)
{
	struct pub_item *it = item_new(a);
	int rc = it ? enqueue(p, it) : -ENOMEM;
	if (rc != 0)
		atomic_fetch_add(&p->n.dropped, 1);
	return rc;
}

int publisher_device(struct publisher *p, const char *device, const struct pub_field *f, size_t n)
{
	if (n > PUB_DEVICE_FIELDS)
		return -EINVAL;
	/* Dashboards show these values: one that is not safe text (a name cut
	 * inside a character on its way here) is made safe (features/text.h). */
	struct pub_field safe[PUB_DEVICE_FIELDS];
	char *made[PUB_DEVICE_FIELDS] = {NULL};
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		safe[i] = f[i];
		if (text_is_safe(f[i].value))
			continue;
		if ((made[i] = text_safe_dup(f[i].value)))
			safe[i].value = made[i];
		else
			rc = -ENOMEM;
	}
	if (rc == 0) {
		struct pub_item *it = device_item_new(device, safe, n);
		rc = it ? enqueue(p, it) : -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		free(made[i]);
	return rc;
}

void publisher_stats(struct publisher *p, struct pub_stats *st)
{
	st->published = atomic_load(&p->n.published);
	st->spooled = atomic_load(&p->n.spooled);
	st->delivered_from_spool = atomic_load(&p->n.from_spool);
	st->dropped = atomic_load(&p->n.dropped);
	st->reconnects = atomic_load(&p->n.reconnects);
	st->resent = atomic_load(&p->n.resent);
	st->spool_pending = atomic_load(&p->n.spool_pending);
	st->connected = atomic_load(&p->n.connected);
	pthread_mutex_lock(&p->mu);
	st->queued = p->queued;
	pthread_mutex_unlock(&p->mu);
}

const char *publisher_url(const struct publisher *p)
{
	return p->url_text;
}

const char *publisher_gateway(const struct publisher *p)
{
	return p->gateway;
}

void publisher_close(struct publisher *p, struct pub_stats *st)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->mu);
	if (p->thread_started)
		pthread_join(p->thread, NULL);
	conn_close(p);
	if (st)
		publisher_stats(p, st);
	spool_close(p->spool);
	while (p->head) {
		struct pub_item *it = p->head;
		p->head = it->next;
		free(it);
	}
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->room);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
