#include "detector/store.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "features/device.h"
#include "features/intern.h"
#include "features/ipaddr.h"
#include "features/text.h"

/* An alert queued for the next write; its strings are owned. */
struct queued_alert {
	char *alert_id, *device, *kind, *severity, *json, *suppressed_by;
	uint64_t ts_us;
	double score;
};

/* A version the detector asked for between checkpoints (store_version_add). */
struct queued_version {
	char *device, *reason;
	uint8_t *data;
	size_t len;
	uint64_t ts_us;
};
#define VERSION_QUEUE 64

struct store {
	sqlite3 *db;
	char *path;
	int64_t data_version;      /* as last seen: another process's commit changes it */
	struct queued_alert *queue;
	size_t n_queued;
	bool flush_failed;         /* a full queue could not be written */
	struct queued_version vqueue[VERSION_QUEUE];
	size_t n_vqueued;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS profiles("
	"  device TEXT PRIMARY KEY,"      /* MAC, or the address of a device without one */
	"  hostname TEXT,"
	"  state TEXT NOT NULL,"
	"  maturity REAL NOT NULL,"
	"  first_us INTEGER NOT NULL,"
	"  last_us INTEGER NOT NULL,"
	"  learn_end_us INTEGER NOT NULL," /* 0 while learning */
	"  destinations INTEGER NOT NULL,"
	"  version INTEGER NOT NULL,"      /* 0 until learning ends */
	"  checkpoint_us INTEGER NOT NULL,"
	"  data BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS versions("
	"  device TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  ts_us INTEGER NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  data BLOB NOT NULL,"
	"  PRIMARY KEY(device, version));"
	/* Requests from the CLI, kept as the audit log: a detector applies
	 * each to its profiles in the transaction of its next checkpoint (or
	 * when it loads), so its writes never undo one. */
	"CREATE TABLE IF NOT EXISTS changes("
	"  id INTEGER PRIMARY KEY,"
	"  device TEXT NOT NULL,"
	"  op TEXT NOT NULL,"
	"  wall_s INTEGER NOT NULL,"
	"  reason TEXT,"
	"  applied INTEGER NOT NULL DEFAULT 0);";

/* What each schema version adds to the one before: migrations[v] takes a
 * store from version v to v + 1. A new store gets schema, then each. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	[1] = "ALTER TABLE changes ADD COLUMN dest TEXT;"
	      "ALTER TABLE changes ADD COLUMN port INTEGER NOT NULL DEFAULT 0;"
	      "ALTER TABLE changes ADD COLUMN proto INTEGER NOT NULL DEFAULT 0;"
	      "ALTER TABLE changes ADD COLUMN for_us INTEGER NOT NULL DEFAULT 0;"
	      "ALTER TABLE changes ADD COLUMN version INTEGER NOT NULL DEFAULT 0;"
	      "CREATE TABLE alerts("
	      "  id INTEGER PRIMARY KEY,"
	      "  alert_id TEXT NOT NULL,"
	      "  device TEXT NOT NULL,"
	      "  ts_us INTEGER NOT NULL,"
	      "  kind TEXT NOT NULL,"
	      "  severity TEXT NOT NULL,"
	      "  score REAL NOT NULL,"
	      "  json TEXT NOT NULL);"
	      "CREATE INDEX alerts_by_time ON alerts(ts_us);"
	      "CREATE INDEX alerts_by_device ON alerts(device, ts_us);",
	[2] = "ALTER TABLE alerts ADD COLUMN suppressed_by TEXT;"
	      "CREATE INDEX alerts_raised ON alerts(id) WHERE suppressed_by IS NULL;"
	      "CREATE INDEX alerts_suppressed ON alerts(id) WHERE suppressed_by IS NOT NULL;",
};

/* The code for a failed SQLite call, its message in err. */
static int fail(struct store *s, int rc, const char *what, char *err, size_t errlen)
{
	int code = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? STORE_ERR_LOCKED
		   : rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ? STORE_ERR_FOREIGN
								  : STORE_ERR_IO;
	const char *why = code == STORE_ERR_LOCKED ? "locked by another process"
			  : code == STORE_ERR_FOREIGN ? "not an iotids store, or damaged"
						      : sqlite3_errmsg(s->db);
	snprintf(err, errlen, "%s: %s: %s", s->path, what, why);
	return code;
}

static void key_text(const uint8_t key[16], char *buf, size_t len)
{
	static const uint8_t zero[10];
	if (memcmp(key + 6, zero, 10) == 0) {
		dev_mac_format(key, buf, len);
	} else {
		struct ip_addr ip;
		memcpy(ip.b, key, 16);
		ip_format(&ip, buf, len);
	}
}

/* The schema version the file has: 0 for an empty database, -1 for one
 * that holds something else. */
static int schema_version(struct store *s, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	int objects = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc;
	*version = 0;
	if (!objects)
		return SQLITE_OK;
	*version = -1;
	rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return SQLITE_OK; /* no meta table: not ours */
	if (sqlite3_step(st) == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return SQLITE_OK;
}

/* Brings the schema from *version to STORE_SCHEMA_VERSION in one
 * transaction. Two processes may both find the file empty or old: the
 * version is read again under the lock, so each step is made once. */
static int migrate(struct store *s, int *version, char *why, size_t whylen)
{
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = schema_version(s, version);
	bool steps = rc == SQLITE_OK && *version >= 0 && *version < STORE_SCHEMA_VERSION;
	if (steps && *version == 0)
		rc = sqlite3_exec(s->db, schema, NULL, NULL, NULL);
	for (int v = *version ? *version : 1; steps && rc == SQLITE_OK && v < STORE_SCHEMA_VERSION; v++)
		rc = sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL);
	if (steps && rc == SQLITE_OK) {
		char sql[128];
		snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta VALUES('schema_version', '%d')",
			 STORE_SCHEMA_VERSION);
		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(s->db));
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc;
}

/* Changes whenever another connection commits; -1 when it cannot be read. */
static int64_t data_version(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

struct store *store_open(const char *path, bool create, char *err, size_t errlen, int *code)
{
	struct store *s = calloc(1, sizeof(*s));
	int version = 0, rc;
	*code = STORE_ERR_IO;
	if (!s || !(s->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc == SQLITE_CANTOPEN && !create && access(path, F_OK) != 0) {
		*code = STORE_ERR_MISSING;
		snprintf(err, errlen, "%s: no store there (iotids replay --db %s makes one)", path, path);
		goto fail;
	}
	if (rc != SQLITE_OK) {
		*code = fail(s, rc, "cannot open", err, errlen);
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	rc = schema_version(s, &version);
	if (rc != SQLITE_OK) {
		*code = fail(s, rc, "cannot read", err, errlen);
		goto fail;
	}
	if (version < 0) {
		*code = STORE_ERR_FOREIGN;
		snprintf(err, errlen, "%s: a database, but not an iotids store", path);
		goto fail;
	}
	if (version == 0 && !create) {
		*code = STORE_ERR_MISSING;
		snprintf(err, errlen, "%s: an empty database, no profiles yet", path);
		goto fail;
	}
	if (version > STORE_SCHEMA_VERSION) {
		*code = STORE_ERR_NEWER;
		snprintf(err, errlen, "%s: written by a newer iotids (store schema %d; this one reads %d)", path, version,
			 STORE_SCHEMA_VERSION);
		goto fail;
	}
	/* WAL: readers never block the writer, and a kill leaves the last
	 * committed checkpoint. */
	rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		*code = fail(s, rc, "cannot open", err, errlen);
		goto fail;
	}
	if (version < STORE_SCHEMA_VERSION) {
		char why[256];
		int from = version;
		if ((rc = migrate(s, &version, why, sizeof(why))) != SQLITE_OK) {
			*code = fail(s, rc, from ? "cannot migrate the store" : "cannot create the schema", err, errlen);
			if (*code == STORE_ERR_IO)
				snprintf(err, errlen, "%s: cannot %s schema %d: %s", path,
					 from ? "migrate the store from" : "create the store's", from ? from : STORE_SCHEMA_VERSION,
					 why);
			goto fail;
		}
	}
	s->data_version = data_version(s);
	*code = 0;
	return s;
fail:
	store_close(s);
	return NULL;
}

static void queue_clear(struct store *s)
{
	for (size_t i = 0; i < s->n_queued; i++) {
		struct queued_alert *q = &s->queue[i];
		free(q->alert_id);
		free(q->device);
		free(q->kind);
		free(q->severity);
		free(q->json);
		free(q->suppressed_by);
	}
	s->n_queued = 0;
	for (size_t i = 0; i < s->n_vqueued; i++) {
		free(s->vqueue[i].device);
		free(s->vqueue[i].reason);
		free(s->vqueue[i].data);
	}
	s->n_vqueued = 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	queue_clear(s);
	free(s->queue);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/* The profile key a stored device text stands for. */
static bool key_parse(const char *text, uint8_t key[16])
{
	unsigned v[6];
	char tail;
	memset(key, 0, 16);
	if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) == 6) {
		for (int i = 0; i < 6; i++)
			key[i] = (uint8_t)v[i];
		return true;
	}
	struct ip_addr ip;
	if (ip_parse(text, &ip) != 0)
		return false;
	memcpy(key, ip.b, 16);
	return true;
}

/* The blob of version of device (0: the profile as last written), into
 * *st (finalise it); SQLITE_ROW when found. */
static int version_blob(struct store *s, const char *device, int64_t version, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(s->db,
				    version ? "SELECT data, ts_us, reason FROM versions WHERE device = ?1 AND version = ?2"
					    : "SELECT data, last_us, 'as last written' FROM profiles WHERE device = ?1",
				    -1, st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(*st, 1, device, -1, SQLITE_STATIC);
	if (version)
		sqlite3_bind_int64(*st, 2, version);
	return sqlite3_step(*st);
}

/* Makes req on d's profile of device (key), at capture time now_us: the
 * one place a request's meaning lives, for the stored profile (store_
 * request) and for a running detector's (its next poll or checkpoint).
 * 0, or -1 with the reason in err. */
static int req_apply(struct store *s, struct detector *d, const char *device, const struct store_req *req,
		     uint64_t now_us, char *err, size_t errlen)
{
	uint8_t key[16];
	if (!key_parse(device, key)) {
		snprintf(err, errlen, "'%s' is not a device", device);
		return -1;
	}
	if (!strcmp(req->op, "forget") || !strcmp(req->op, "relearn")) {
		int rc = req->op[0] == 'f' ? det_profile_forget(d, key) : det_profile_relearn(d, key, now_us, 0);
		if (rc != 0)
			snprintf(err, errlen, "no profile");
		return rc;
	}
	if (!strcmp(req->op, "accept"))
		return det_profile_accept(d, key, req->dest ? req->dest : "", req->port, req->proto, req->for_us,
					  req->reason, now_us, err, errlen);
	if (strcmp(req->op, "rollback") != 0) {
		snprintf(err, errlen, "unknown request '%s'", req->op);
		return -1;
	}
	if (!det_profile_find(d, key)) {
		snprintf(err, errlen, "no profile");
		return -1;
	}
	sqlite3_stmt *st = NULL;
	int rc = req->version > 0 ? version_blob(s, device, req->version, &st) : SQLITE_DONE, code = -1;
	if (rc == SQLITE_ROW)
		code = det_profile_restore(d, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), err, errlen);
	else
		snprintf(err, errlen, "no version %lld (see profile history)", (long long)req->version);
	sqlite3_finalize(st);
	return code;
}

/* Applies the requests not yet applied, inside the caller's transaction.
 * One for a device d does not hold (evicted, or forgotten since) is moot.
 * The number applied, or a negative SQLite code. */
static int apply_changes(struct store *s, struct detector *d, uint64_t now_us)
{
	sqlite3_stmt *st = NULL;
	int n = 0, rc = sqlite3_prepare_v2(s->db,
					   "SELECT device, op, reason, dest, port, proto, for_us, version FROM changes"
					   " WHERE applied = 0 ORDER BY id",
					   -1, &st, NULL);
	if (rc != SQLITE_OK)
		return -rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char why[256];
		struct store_req req = {
			.op = (const char *)sqlite3_column_text(st, 1),
			.reason = (const char *)sqlite3_column_text(st, 2),
			.dest = (const char *)sqlite3_column_text(st, 3),
			.port = (uint16_t)sqlite3_column_int(st, 4),
			.proto = (uint8_t)sqlite3_column_int(st, 5),
			.for_us = (uint64_t)sqlite3_column_int64(st, 6),
			.version = sqlite3_column_int64(st, 7),
		};
		n += req_apply(s, d, (const char *)sqlite3_column_text(st, 0), &req, now_us, why, sizeof(why)) == 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -rc;
	rc = sqlite3_exec(s->db, "UPDATE changes SET applied = 1 WHERE applied = 0", NULL, NULL, NULL);
	return rc == SQLITE_OK ? n : -rc;
}

int store_load(struct store *s, struct detector *d, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int n = 0, rc = sqlite3_prepare_v2(s->db, "SELECT device, data FROM profiles ORDER BY first_us, device", -1,
					    &st, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, "cannot read profiles", err, errlen);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char why[160];
		const void *data = sqlite3_column_blob(st, 1);
		int len = sqlite3_column_bytes(st, 1);
		if (!data || det_profile_decode(d, data, (size_t)len, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: profile of %s: %s", s->path, (const char *)sqlite3_column_text(st, 0),
				 data ? why : "empty");
			sqlite3_finalize(st);
			return STORE_ERR_FOREIGN;
		}
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, rc, "cannot read profiles", err, errlen);
	/* Requests made while no detector ran are in the rows just read
	 * (store_request changed them): they are only marked as applied. */
	rc = sqlite3_exec(s->db, "UPDATE changes SET applied = 1 WHERE applied = 0", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, "cannot mark requests applied", err, errlen);
	s->data_version = data_version(s);
	return n;
}

enum { Q_GET, Q_PUT, Q_VERSION, Q_PRUNE, Q_COUNT };

static const char *const queries[Q_COUNT] = {
	/* The newest version may be one store_version_add made. */
	[Q_GET] = "SELECT (SELECT state FROM profiles WHERE device = ?1),"
		  " max(coalesce((SELECT version FROM profiles WHERE device = ?1), 0),"
		  " coalesce((SELECT max(version) FROM versions WHERE device = ?1), 0)),"
		  " (SELECT learn_end_us FROM profiles WHERE device = ?1)",
	/* A device not in the table now keeps the name it had. */
	[Q_PUT] = "INSERT INTO profiles(device, hostname, state, maturity, first_us, last_us, learn_end_us,"
		  " destinations, version, checkpoint_us, data) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
		  " ON CONFLICT(device) DO UPDATE SET hostname = coalesce(excluded.hostname, hostname),"
		  " state = excluded.state, maturity = excluded.maturity, first_us = excluded.first_us,"
		  " last_us = excluded.last_us, learn_end_us = excluded.learn_end_us,"
		  " destinations = excluded.destinations, version = excluded.version,"
		  " checkpoint_us = CASE excluded.checkpoint_us WHEN 0 THEN checkpoint_us"
		  " ELSE excluded.checkpoint_us END, data = excluded.data",
	[Q_VERSION] = "INSERT OR REPLACE INTO versions(device, version, ts_us, reason, data) VALUES(?1, ?2, ?3, ?4, ?5)",
	[Q_PRUNE] = "DELETE FROM versions WHERE device = ?1 AND version <= ?2",
};

static int prepare_all(struct store *s, sqlite3_stmt **q)
{
	int rc = SQLITE_OK;
	for (int i = 0; i < Q_COUNT && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v2(s->db, queries[i], -1, &q[i], NULL);
	return rc;
}

static void finalize_all(sqlite3_stmt **q)
{
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(q[i]);
}

/* One statement of q run once; SQLITE_OK when it did its work. */
static int step_once(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* One profile: its row, and a version (the newest STORE_MAX_VERSIONS are
 * kept) when it has just stopped learning, or with reason when one is given
 * (a request that changed it). */
static int put_profile(sqlite3_stmt **q, const struct det_profile *p, uint64_t now_us, store_name_fn name, void *ctx,
		       const char *reason)
{
	struct det_profile_info in;
	/* A hostname is a name of the name table: these hold any whole. */
	char dev[64], hostbuf[INTERN_MAX_LEN + 1], safe[INTERN_MAX_LEN + 1];
	uint8_t *data = NULL;
	size_t len;
	int rc = SQLITE_NOMEM;
	det_profile_info(p, &in);
	if (det_profile_encode(p, &data, &len) != 0)
		return rc;
	key_text(in.key, dev, sizeof(dev));
	const char *state = det_state_name(in.state), *host = name ? name(ctx, in.key, hostbuf, sizeof(hostbuf)) : NULL;
	/* Stored as safe text, whatever cut it on its way. */
	if (host)
		host = text_safe(safe, sizeof(safe), host);
	int64_t version = 0;
	bool was_learning = true, relearned = false;
	sqlite3_bind_text(q[Q_GET], 1, dev, -1, SQLITE_STATIC);
	rc = sqlite3_step(q[Q_GET]);
	if (rc == SQLITE_ROW) {
		const char *was = (const char *)sqlite3_column_text(q[Q_GET], 0);
		was_learning = !was || strcmp(was, "learning") == 0;
		version = sqlite3_column_int64(q[Q_GET], 1);
		/* A relearn that began and ended between two checkpoints. */
		relearned = was && (uint64_t)sqlite3_column_int64(q[Q_GET], 2) != in.learn_end_us;
		rc = SQLITE_DONE;
	}
	sqlite3_reset(q[Q_GET]);
	if (rc != SQLITE_DONE)
		goto out;
	rc = SQLITE_OK;
	if (reason || ((was_learning || relearned) && in.state == DET_ENFORCING)) {
		version++;
		sqlite3_bind_text(q[Q_VERSION], 1, dev, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q[Q_VERSION], 2, version);
		sqlite3_bind_int64(q[Q_VERSION], 3, (sqlite3_int64)(reason ? in.last_us : in.learn_end_us));
		sqlite3_bind_text(q[Q_VERSION], 4, reason ? reason : "learning ended", -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(q[Q_VERSION], 5, data, (int)len, SQLITE_STATIC);
		rc = step_once(q[Q_VERSION]);
		if (rc == SQLITE_OK && version > STORE_MAX_VERSIONS) {
			sqlite3_bind_text(q[Q_PRUNE], 1, dev, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(q[Q_PRUNE], 2, version - STORE_MAX_VERSIONS);
			rc = step_once(q[Q_PRUNE]);
		}
	}
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_bind_text(q[Q_PUT], 1, dev, -1, SQLITE_STATIC);
	if (host)
		sqlite3_bind_text(q[Q_PUT], 2, host, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q[Q_PUT], 2);
	sqlite3_bind_text(q[Q_PUT], 3, state, -1, SQLITE_STATIC);
	sqlite3_bind_double(q[Q_PUT], 4, in.maturity);
	sqlite3_bind_int64(q[Q_PUT], 5, (sqlite3_int64)in.first_us);
	sqlite3_bind_int64(q[Q_PUT], 6, (sqlite3_int64)in.last_us);
	sqlite3_bind_int64(q[Q_PUT], 7, (sqlite3_int64)in.learn_end_us);
	sqlite3_bind_int64(q[Q_PUT], 8, in.destinations);
	sqlite3_bind_int64(q[Q_PUT], 9, version);
	sqlite3_bind_int64(q[Q_PUT], 10, (sqlite3_int64)now_us);
	sqlite3_bind_blob(q[Q_PUT], 11, data, (int)len, SQLITE_STATIC);
	rc = step_once(q[Q_PUT]);
out:
	free(data);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The queued versions into the table, each the device's newest, inside
 * the caller's transaction. */
static int versions_write(struct store *s)
{
	sqlite3_stmt *st = NULL, *up = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "INSERT INTO versions(device, version, ts_us, reason, data) VALUES(?1,"
				    " max(coalesce((SELECT version FROM profiles WHERE device = ?1), 0),"
				    " coalesce((SELECT max(version) FROM versions WHERE device = ?1), 0)) + 1, ?2, ?3, ?4)",
				    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
					"UPDATE profiles SET version = (SELECT max(version) FROM versions WHERE device = ?1)"
					" WHERE device = ?1",
					-1, &up, NULL);
	for (size_t i = 0; i < s->n_vqueued && rc == SQLITE_OK; i++) {
		const struct queued_version *v = &s->vqueue[i];
		sqlite3_bind_text(st, 1, v->device, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)v->ts_us);
		sqlite3_bind_text(st, 3, v->reason, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, v->data, (int)v->len, SQLITE_STATIC);
		rc = step_once(st);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(up, 1, v->device, -1, SQLITE_STATIC);
			rc = step_once(up);
		}
	}
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	return rc;
}

/* The queued alerts into their table, inside the caller's transaction. */
static int alert_rows_write(struct store *s)
{
	if (!s->n_queued)
		return SQLITE_OK;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "INSERT INTO alerts(alert_id, device, ts_us, kind, severity, score, json, suppressed_by)"
				    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
				    -1, &st, NULL);
	for (size_t i = 0; i < s->n_queued && rc == SQLITE_OK; i++) {
		const struct queued_alert *a = &s->queue[i];
		sqlite3_bind_text(st, 1, a->alert_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, a->device, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)a->ts_us);
		sqlite3_bind_text(st, 4, a->kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, a->severity, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 6, a->score);
		sqlite3_bind_text(st, 7, a->json, -1, SQLITE_STATIC);
		if (a->suppressed_by)
			sqlite3_bind_text(st, 8, a->suppressed_by, -1, SQLITE_STATIC);
		rc = step_once(st);
	}
	sqlite3_finalize(st);
	/* Each kind its own newest STORE_MAX_ALERTS: what rules suppress never
	 * pushes out what they did not. */
	for (int sup = 0; sup < 2 && rc == SQLITE_OK; sup++) {
		char sql[320];
		const char *which = sup ? "suppressed_by IS NOT NULL" : "suppressed_by IS NULL";
		snprintf(sql, sizeof(sql),
			 "DELETE FROM alerts WHERE %s AND id <= (SELECT id FROM alerts WHERE %s ORDER BY id DESC"
			 " LIMIT 1 OFFSET %d)",
			 which, which, STORE_MAX_ALERTS);
		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	}
	return rc;
}

/* The queued versions, then alerts, inside the caller's transaction; the
 * queues are emptied by the caller once that commits. */
static int alerts_write(struct store *s)
{
	int rc = s->n_vqueued ? versions_write(s) : SQLITE_OK;
	return rc == SQLITE_OK ? alert_rows_write(s) : rc;
}

/* Commits what the caller's transaction did, or rolls it back: the code
 * of the failure, its message in err. */
static int finish(struct store *s, int rc, const char *what, char *err, size_t errlen)
{
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		queue_clear(s);
		s->flush_failed = false;
		return 0;
	}
	int code = fail(s, rc, what, err, errlen);
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return code;
}

int store_checkpoint(struct store *s, struct detector *d, uint64_t now_us, store_name_fn name, void *ctx, char *err,
		     size_t errlen)
{
	sqlite3_stmt *q[Q_COUNT] = {NULL};
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, "cannot begin a checkpoint", err, errlen);
	/* Read under the lock: a request committed after this is seen by
	 * the next poll. */
	int64_t seen = data_version(s);
	int applied = apply_changes(s, d, now_us);
	/* Versions kept before an update first: the one a profile makes
	 * below comes after them. */
	rc = applied < 0 ? -applied : s->n_vqueued ? versions_write(s) : SQLITE_OK;
	if (rc == SQLITE_OK)
		rc = prepare_all(s, q);
	for (const struct det_profile *p = det_profile_next(d, NULL); p && rc == SQLITE_OK; p = det_profile_next(d, p))
		rc = put_profile(q, p, now_us, name, ctx, NULL);
	finalize_all(q);
	if (rc == SQLITE_OK)
		rc = alert_rows_write(s);
	int code = finish(s, rc, "checkpoint not written", err, errlen);
	if (!code)
		s->data_version = seen;
	return code;
}

int store_poll(struct store *s, struct detector *d, uint64_t now_us, char *err, size_t errlen)
{
	int64_t v = data_version(s);
	if (v == s->data_version && !s->n_queued && !s->n_vqueued)
		return 0;
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, "cannot begin", err, errlen);
	v = data_version(s);
	int applied = apply_changes(s, d, now_us);
	rc = applied < 0 ? -applied : alerts_write(s);
	int code = finish(s, rc, "requests and alerts not written", err, errlen);
	if (!code)
		s->data_version = v;
	return code ? code : applied;
}

int store_alert_add(struct store *s, const struct store_alert *a, char *err, size_t errlen)
{
	if (s->n_queued == STORE_ALERT_BATCH) {
		/* After one failed write, the next poll or checkpoint tries again:
		 * the alert path does not wait on a lock for each alert. */
		if (s->flush_failed) {
			snprintf(err, errlen, "%s: alert queue full, the store unwritable: alert %s not kept", s->path,
				 a->alert_id);
			return STORE_ERR_LOCKED;
		}
		int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		int code = rc != SQLITE_OK ? fail(s, rc, "cannot begin", err, errlen)
					   : finish(s, alerts_write(s), "alerts not written", err, errlen);
		if (code) {
			s->flush_failed = true;
			return code;
		}
	}
	if (!s->queue && !(s->queue = calloc(STORE_ALERT_BATCH, sizeof(*s->queue)))) {
		snprintf(err, errlen, "%s: out of memory", s->path);
		return STORE_ERR_IO;
	}
	struct queued_alert q = {
		.alert_id = strdup(a->alert_id),
		.device = strdup(a->device),
		.kind = strdup(a->kind),
		.severity = strdup(a->severity),
		.json = strdup(a->json),
		.suppressed_by = a->suppressed_by ? strdup(a->suppressed_by) : NULL,
		.ts_us = a->ts_us,
		.score = a->score,
	};
	if (!q.alert_id || !q.device || !q.kind || !q.severity || !q.json || (a->suppressed_by && !q.suppressed_by)) {
		free(q.suppressed_by);
		free(q.alert_id);
		free(q.device);
		free(q.kind);
		free(q.severity);
		free(q.json);
		snprintf(err, errlen, "%s: out of memory", s->path);
		return STORE_ERR_IO;
	}
	s->queue[s->n_queued++] = q;
	return 0;
}

int store_version_add(struct store *s, const struct det_profile *p, uint64_t ts_us, const char *reason, char *err,
		      size_t errlen)
{
	struct det_profile_info in;
	char dev[64];
	if (s->n_vqueued == VERSION_QUEUE) {
		snprintf(err, errlen, "%s: %d versions waiting to be written: this one is not kept", s->path,
			 VERSION_QUEUE);
		return STORE_ERR_LOCKED;
	}
	det_profile_info(p, &in);
	key_text(in.key, dev, sizeof(dev));
	struct queued_version *v = &s->vqueue[s->n_vqueued];
	v->device = strdup(dev);
	v->reason = strdup(reason);
	v->ts_us = ts_us;
	v->data = NULL;
	if (!v->device || !v->reason || det_profile_encode(p, &v->data, &v->len) != 0) {
		free(v->device);
		free(v->reason);
		free(v->data);
		snprintf(err, errlen, "%s: out of memory", s->path);
		return STORE_ERR_IO;
	}
	s->n_vqueued++;
	return 0;
}

int store_meta_set(struct store *s, const char *key, const char *value, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    value ? "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)"
					  : "DELETE FROM meta WHERE key = ?1",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		if (value)
			sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
		rc = step_once(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : fail(s, rc, "cannot write", err, errlen);
}

int store_meta_get(struct store *s, const char *key, char *buf, size_t len, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int found = 0, rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
			found = 1;
			rc = SQLITE_DONE;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? found : fail(s, rc, "cannot read", err, errlen);
}

int store_alerts_list(struct store *s, const struct store_alert_filter *f,
		      int (*fn)(void *ctx, const struct store_alert *a), void *ctx, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT alert_id, device, kind, severity, ts_us, score, json, suppressed_by FROM ("
				    " SELECT * FROM alerts WHERE (?1 IS NULL OR device = ?1) AND (?2 IS NULL OR kind = ?2)"
				    " AND ts_us >= ?3 AND (suppressed_by IS NOT NULL) = ?5 ORDER BY id DESC LIMIT ?4)"
				    " ORDER BY id",
				    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, "cannot read alerts", err, errlen);
	if (f->device)
		sqlite3_bind_text(st, 1, f->device, -1, SQLITE_STATIC);
	if (f->kind)
		sqlite3_bind_text(st, 2, f->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)f->since_us);
	sqlite3_bind_int64(st, 4, f->limit ? (sqlite3_int64)f->limit : -1);
	sqlite3_bind_int(st, 5, f->suppressed);
	int stop = 0;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_alert a = {
			.alert_id = (const char *)sqlite3_column_text(st, 0),
			.device = (const char *)sqlite3_column_text(st, 1),
			.kind = (const char *)sqlite3_column_text(st, 2),
			.severity = (const char *)sqlite3_column_text(st, 3),
			.ts_us = (uint64_t)sqlite3_column_int64(st, 4),
			.score = sqlite3_column_double(st, 5),
			.json = (const char *)sqlite3_column_text(st, 6),
			.suppressed_by = (const char *)sqlite3_column_text(st, 7),
		};
		stop = fn(ctx, &a);
	}
	sqlite3_finalize(st);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : fail(s, rc, "cannot read alerts", err, errlen);
}

int store_last_event(struct store *s, uint64_t *ts_us, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT max(coalesce((SELECT max(last_us) FROM profiles), 0),"
				    " coalesce((SELECT max(ts_us) FROM alerts), 0))",
				    -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ts_us = (uint64_t)sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : fail(s, rc, "cannot read", err, errlen);
}

int store_list(struct store *s, int (*fn)(void *ctx, const struct store_row *r), void *ctx, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT device, hostname, state, maturity, first_us, last_us, learn_end_us, destinations,"
				    " version, (SELECT count(*) FROM alerts WHERE alerts.device = profiles.device"
				    " AND suppressed_by IS NULL)"
				    " FROM profiles ORDER BY device",
				    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, "cannot read profiles", err, errlen);
	int stop = 0;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_row r = {
			.device = (const char *)sqlite3_column_text(st, 0),
			.hostname = (const char *)sqlite3_column_text(st, 1),
			.state = (const char *)sqlite3_column_text(st, 2),
			.maturity = sqlite3_column_double(st, 3),
			.first_us = (uint64_t)sqlite3_column_int64(st, 4),
			.last_us = (uint64_t)sqlite3_column_int64(st, 5),
			.learn_end_us = (uint64_t)sqlite3_column_int64(st, 6),
			.destinations = (uint32_t)sqlite3_column_int64(st, 7),
			.version = sqlite3_column_int64(st, 8),
			.alerts = (uint64_t)sqlite3_column_int64(st, 9),
		};
		stop = fn(ctx, &r);
	}
	sqlite3_finalize(st);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : fail(s, rc, "cannot read profiles", err, errlen);
}

int store_find(struct store *s, const char *what, char *device, size_t len, char *err, size_t errlen)
{
	/* An exact device or hostname wins over prefixes (a hostname may be
	 * the prefix of another). */
	static const char *const sql[] = {
		"SELECT device FROM profiles WHERE device = lower(?1) OR lower(hostname) = lower(?1) ORDER BY device",
		"SELECT device FROM profiles WHERE substr(device, 1, length(?1)) = lower(?1)"
		" OR substr(lower(hostname), 1, length(?1)) = lower(?1) ORDER BY device",
	};
	for (size_t q = 0; q < sizeof(sql) / sizeof(sql[0]); q++) {
		sqlite3_stmt *st = NULL;
		int rc = sqlite3_prepare_v2(s->db, sql[q], -1, &st, NULL), n = 0;
		if (rc != SQLITE_OK)
			return fail(s, rc, "cannot read profiles", err, errlen);
		sqlite3_bind_text(st, 1, what, -1, SQLITE_STATIC);
		char some[160] = "";
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *dev = (const char *)sqlite3_column_text(st, 0);
			if (n++ == 0)
				snprintf(device, len, "%s", dev);
			if (n <= 3)
				snprintf(some + strlen(some), sizeof(some) - strlen(some), "%s%s", n > 1 ? ", " : "", dev);
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return fail(s, rc, "cannot read profiles", err, errlen);
		if (n > 1) {
			snprintf(err, errlen, "'%s' matches %d devices: %s%s", what, n, some, n > 3 ? ", ..." : "");
			return STORE_ERR_AMBIGUOUS;
		}
		if (n == 1)
			return 0;
	}
	snprintf(err, errlen, "no device '%s' in %s", what, s->path);
	return STORE_ERR_UNKNOWN;
}

int store_load_one(struct store *s, struct detector *d, const char *device, char *host, size_t hostlen, char *err,
		   size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "SELECT data, hostname FROM profiles WHERE device = ?1", -1, &st, NULL);
	int code = 0;
	host[0] = '\0';
	if (rc != SQLITE_OK)
		return fail(s, rc, "cannot read profiles", err, errlen);
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		char why[160];
		/* Safe however the file was written. */
		if (sqlite3_column_text(st, 1))
			text_copy(host, hostlen, (const char *)sqlite3_column_text(st, 1));
		const void *data = sqlite3_column_blob(st, 0);
		if (!data || det_profile_decode(d, data, (size_t)sqlite3_column_bytes(st, 0), why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: profile of %s: %s", s->path, device, data ? why : "empty");
			code = STORE_ERR_FOREIGN;
		}
	} else if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "no device '%s' in %s", device, s->path);
		code = STORE_ERR_UNKNOWN;
	} else {
		code = fail(s, rc, "cannot read profiles", err, errlen);
	}
	sqlite3_finalize(st);
	return code;
}

int store_history(struct store *s, const char *device,
		  int (*fn)(void *ctx, int64_t version, uint64_t ts_us, const char *reason), void *ctx, char *err,
		  size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "SELECT version, ts_us, reason FROM versions WHERE device = ?1 ORDER BY version",
				    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, "cannot read versions", err, errlen);
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	int stop = 0;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = fn(ctx, sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
			  (const char *)sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : fail(s, rc, "cannot read versions", err, errlen);
}

static void no_alert(void *ctx, const struct det_alert *a)
{
	(void)ctx;
	(void)a;
}

/* "2h" for 7200 s: the largest unit that divides it. */
static void duration_text(uint64_t us, char *buf, size_t len)
{
	static const struct {
		uint64_t s;
		char unit;
	} units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
	uint64_t sec = us / 1000000;
	size_t i = 0;
	while (units[i].s > 1 && (sec == 0 || sec % units[i].s))
		i++;
	snprintf(buf, len, "%llu%c", (unsigned long long)(sec / units[i].s), units[i].unit);
}

/* The reason a version made by req gives, into buf; NULL when req makes
 * none (relearn: its version comes when learning ends again). */
static const char *version_reason(const struct store_req *req, char *buf, size_t len)
{
	char port[32] = "", dur[32] = "";
	if (!strcmp(req->op, "accept")) {
		if (req->port)
			snprintf(port, sizeof(port), ":%u", (unsigned)req->port);
		if (req->proto)
			snprintf(port + strlen(port), sizeof(port) - strlen(port), "/%s", req->proto == 6 ? "tcp" : "udp");
		if (req->for_us)
			duration_text(req->for_us, dur, sizeof(dur));
		snprintf(buf, len, "accepted %s%s%s%s", req->dest, port, req->for_us ? " for " : "", dur);
	} else if (!strcmp(req->op, "rollback")) {
		snprintf(buf, len, "rolled back to version %lld", (long long)req->version);
	} else {
		return NULL;
	}
	if (req->reason && *req->reason)
		snprintf(buf + strlen(buf), len - strlen(buf), ": %s", req->reason);
	return buf;
}

/* req on the stored profile of device: decoded, changed as a detector
 * would change it, written back (with a version when req makes one). */
static int request_row(struct store *s, const char *device, const struct store_req *req, char *err, size_t errlen)
{
	struct det_cfg cfg = {.learn_min_us = 1, .learn_max_us = 1, .maturity_target = 1, .threshold = 1, .max_devices = 1};
	struct detector *d = det_new(&cfg, no_alert, NULL);
	sqlite3_stmt *q[Q_COUNT] = {NULL};
	char host[8], why[512];
	int code = d ? store_load_one(s, d, device, host, sizeof(host), err, errlen) : STORE_ERR_IO;
	if (code == 0 && req_apply(s, d, device, req, 0, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", device, why);
		code = STORE_ERR_REQUEST;
	}
	if (code == 0) {
		int rc = prepare_all(s, q);
		if (rc == SQLITE_OK)
			rc = put_profile(q, det_profile_next(d, NULL), 0, NULL, NULL, version_reason(req, why, sizeof(why)));
		finalize_all(q);
		if (rc != SQLITE_OK)
			code = fail(s, rc, "cannot write the profile", err, errlen);
	}
	det_free(d);
	return code;
}

/* One statement with up to three parameters: text, text or NULL, number. */
static int exec_bound(struct store *s, const char *sql, const char *a, const char *b, int64_t n)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	int params = sqlite3_bind_parameter_count(st);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (params >= 2 && b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (params >= 3)
		sqlite3_bind_int64(st, 3, n);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The request into the changes table: the audit log, and the queue of a
 * running detector. */
static int audit(struct store *s, const char *device, const struct store_req *req)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "INSERT INTO changes(device, op, wall_s, reason, dest, port, proto, for_us, version)"
				    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
				    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->op, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	if (req->reason)
		sqlite3_bind_text(st, 4, req->reason, -1, SQLITE_STATIC);
	if (req->dest)
		sqlite3_bind_text(st, 5, req->dest, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, req->port);
	sqlite3_bind_int(st, 7, req->proto);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)req->for_us);
	sqlite3_bind_int64(st, 9, req->version);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store_request(struct store *s, const char *device, const struct store_req *req, char *err, size_t errlen)
{
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL), code = 0;
	if (rc != SQLITE_OK)
		return fail(s, rc, "cannot begin", err, errlen);
	if (!strcmp(req->op, "forget")) {
		rc = exec_bound(s, "DELETE FROM profiles WHERE device = ?1", device, NULL, 0);
		if (rc == SQLITE_OK)
			rc = exec_bound(s, "DELETE FROM versions WHERE device = ?1", device, NULL, 0);
	} else {
		code = request_row(s, device, req, err, errlen);
	}
	if (!code && rc == SQLITE_OK)
		rc = audit(s, device, req);
	if (!code && rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (!code && rc != SQLITE_OK)
		code = fail(s, rc, "request not made", err, errlen);
	if (code)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return code;
}

int store_load_version(struct store *s, struct detector *d, const char *device, int64_t version, uint64_t *ts_us,
		       char *reason, size_t reasonlen, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char why[160];
	int rc = version_blob(s, device, version, &st), code = 0;
	if (rc == SQLITE_ROW) {
		const void *data = sqlite3_column_blob(st, 0);
		if (ts_us)
			*ts_us = (uint64_t)sqlite3_column_int64(st, 1);
		if (reason)
			snprintf(reason, reasonlen, "%s", (const char *)sqlite3_column_text(st, 2));
		if (!data || det_profile_decode(d, data, (size_t)sqlite3_column_bytes(st, 0), why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: version %lld of %s: %s", s->path, (long long)version, device,
				 data ? why : "empty");
			code = STORE_ERR_FOREIGN;
		}
	} else if (rc == SQLITE_DONE) {
		if (version)
			snprintf(err, errlen, "%s has no version %lld (see profile history)", device, (long long)version);
		else
			snprintf(err, errlen, "no device '%s' in %s", device, s->path);
		code = version ? STORE_ERR_REQUEST : STORE_ERR_UNKNOWN;
	} else {
		code = fail(s, rc, "cannot read versions", err, errlen);
	}
	sqlite3_finalize(st);
	return code;
}
