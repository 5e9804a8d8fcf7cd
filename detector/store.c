#include "detector/store.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "features/device.h"
#include "features/ipaddr.h"

struct store {
	sqlite3 *db;
	char *path;
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
	/* Two processes may both find the file empty: the schema is made
	 * only where it is not yet. */
	if (rc == SQLITE_OK && version == 0) {
		char sql[sizeof(schema) + 128];
		snprintf(sql, sizeof(sql),
			 "BEGIN IMMEDIATE; %s INSERT OR IGNORE INTO meta VALUES('schema_version', '%d'); COMMIT;", schema,
			 STORE_SCHEMA_VERSION);
		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		*code = fail(s, rc, version ? "cannot open" : "cannot create the schema", err, errlen);
		goto fail;
	}
	*code = 0;
	return s;
fail:
	store_close(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
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

/* Applies the requests not yet applied, inside the caller's transaction. */
static int apply_changes(struct store *s, struct detector *d, uint64_t now_us)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "SELECT device, op FROM changes WHERE applied = 0 ORDER BY id", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint8_t key[16];
		const char *op = (const char *)sqlite3_column_text(st, 1);
		if (!key_parse((const char *)sqlite3_column_text(st, 0), key))
			continue;
		if (!strcmp(op, "forget"))
			det_profile_forget(d, key);
		else if (!strcmp(op, "relearn"))
			det_profile_relearn(d, key, now_us);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;
	return sqlite3_exec(s->db, "UPDATE changes SET applied = 1 WHERE applied = 0", NULL, NULL, NULL);
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
	/* Requests made while no detector ran. */
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK && (rc = apply_changes(s, d, 0)) == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int code = fail(s, rc, "cannot apply requests", err, errlen);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return code;
	}
	return n;
}

enum { Q_GET, Q_PUT, Q_VERSION, Q_COUNT };

static const char *const queries[Q_COUNT] = {
	[Q_GET] = "SELECT state, version FROM profiles WHERE device = ?1",
	/* A device not in the table now keeps the name it had. */
	[Q_PUT] = "INSERT INTO profiles(device, hostname, state, maturity, first_us, last_us, learn_end_us,"
		  " destinations, version, checkpoint_us, data) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
		  " ON CONFLICT(device) DO UPDATE SET hostname = coalesce(excluded.hostname, hostname),"
		  " state = excluded.state, maturity = excluded.maturity, first_us = excluded.first_us,"
		  " last_us = excluded.last_us, learn_end_us = excluded.learn_end_us,"
		  " destinations = excluded.destinations, version = excluded.version,"
		  " checkpoint_us = excluded.checkpoint_us, data = excluded.data",
	[Q_VERSION] = "INSERT OR REPLACE INTO versions(device, version, ts_us, reason, data) VALUES(?1, ?2, ?3, ?4, ?5)",
};

/* One profile: its row, and a version when it has just stopped learning. */
static int put_profile(sqlite3_stmt **q, const struct det_profile *p, uint64_t now_us, store_name_fn name,
		       void *ctx)
{
	struct det_profile_info in;
	char dev[64], hostbuf[256];
	uint8_t *data = NULL;
	size_t len;
	int rc = SQLITE_NOMEM;
	det_profile_info(p, &in);
	if (det_profile_encode(p, &data, &len) != 0)
		return rc;
	key_text(in.key, dev, sizeof(dev));
	const char *state = det_state_name(in.state), *host = name ? name(ctx, in.key, hostbuf, sizeof(hostbuf)) : NULL;
	int64_t version = 0;
	bool was_learning = true;
	sqlite3_bind_text(q[Q_GET], 1, dev, -1, SQLITE_STATIC);
	rc = sqlite3_step(q[Q_GET]);
	if (rc == SQLITE_ROW) {
		was_learning = strcmp((const char *)sqlite3_column_text(q[Q_GET], 0), "learning") == 0;
		version = sqlite3_column_int64(q[Q_GET], 1);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(q[Q_GET]);
	if (rc != SQLITE_DONE)
		goto out;
	if (was_learning && in.state == DET_ENFORCING) {
		version++;
		sqlite3_bind_text(q[Q_VERSION], 1, dev, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q[Q_VERSION], 2, version);
		sqlite3_bind_int64(q[Q_VERSION], 3, (sqlite3_int64)in.learn_end_us);
		sqlite3_bind_text(q[Q_VERSION], 4, "learning ended", -1, SQLITE_STATIC);
		sqlite3_bind_blob(q[Q_VERSION], 5, data, (int)len, SQLITE_STATIC);
		rc = sqlite3_step(q[Q_VERSION]);
		sqlite3_reset(q[Q_VERSION]);
		if (rc != SQLITE_DONE)
			goto out;
	}
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
	rc = sqlite3_step(q[Q_PUT]);
	sqlite3_reset(q[Q_PUT]);
	sqlite3_clear_bindings(q[Q_PUT]);
out:
	free(data);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store_checkpoint(struct store *s, struct detector *d, uint64_t now_us, store_name_fn name, void *ctx, char *err,
		     size_t errlen)
{
	sqlite3_stmt *q[Q_COUNT] = {NULL};
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL), code = 0;
	if (rc != SQLITE_OK)
		return fail(s, rc, "cannot begin a checkpoint", err, errlen);
	rc = apply_changes(s, d, now_us);
	for (int i = 0; i < Q_COUNT && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v2(s->db, queries[i], -1, &q[i], NULL);
	for (const struct det_profile *p = det_profile_next(d, NULL); p && rc == SQLITE_OK; p = det_profile_next(d, p))
		rc = put_profile(q, p, now_us, name, ctx);
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(q[i]);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		code = fail(s, rc, "checkpoint not written", err, errlen);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return code;
}

int store_list(struct store *s, int (*fn)(void *ctx, const struct store_row *r), void *ctx, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT device, hostname, state, maturity, first_us, last_us, learn_end_us, destinations,"
				    " version FROM profiles ORDER BY device",
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
		if (sqlite3_column_text(st, 1))
			snprintf(host, hostlen, "%s", (const char *)sqlite3_column_text(st, 1));
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

/* The stored profile of device, relearning: decoded, changed, encoded. */
static int relearn_row(struct store *s, const char *device, char *err, size_t errlen)
{
	struct det_cfg cfg = {.learn_min_us = 1, .learn_max_us = 1, .maturity_target = 1, .threshold = 1, .max_devices = 1};
	struct detector *d = det_new(&cfg, no_alert, NULL);
	sqlite3_stmt *st = NULL;
	uint8_t key[16], *data = NULL;
	size_t len;
	char host[8];
	int code = d ? store_load_one(s, d, device, host, sizeof(host), err, errlen) : STORE_ERR_IO;
	if (code == 0 && (!key_parse(device, key) || det_profile_relearn(d, key, 0) != 0 ||
			  det_profile_encode(det_profile_find(d, key), &data, &len) != 0)) {
		snprintf(err, errlen, "%s: cannot relearn %s", s->path, device);
		code = STORE_ERR_IO;
	}
	if (code == 0) {
		int rc = sqlite3_prepare_v2(s->db,
					    "UPDATE profiles SET state = 'learning', learn_end_us = 0, data = ?2"
					    " WHERE device = ?1",
					    -1, &st, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
			sqlite3_bind_blob(st, 2, data, (int)len, SQLITE_STATIC);
			rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_OK)
			code = fail(s, rc, "cannot relearn", err, errlen);
	}
	free(data);
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

int store_request(struct store *s, const char *device, const char *op, const char *reason, char *err,
		  size_t errlen)
{
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL), code = 0;
	if (rc != SQLITE_OK)
		return fail(s, rc, "cannot begin", err, errlen);
	if (!strcmp(op, "forget")) {
		rc = exec_bound(s, "DELETE FROM profiles WHERE device = ?1", device, NULL, 0);
		if (rc == SQLITE_OK)
			rc = exec_bound(s, "DELETE FROM versions WHERE device = ?1", device, NULL, 0);
	} else if (!strcmp(op, "relearn")) {
		code = relearn_row(s, device, err, errlen);
	} else {
		snprintf(err, errlen, "unknown request '%s'", op);
		code = STORE_ERR_IO;
	}
	if (!code && rc == SQLITE_OK)
		rc = exec_bound(s,
				!strcmp(op, "forget")
					? "INSERT INTO changes(device, op, reason, wall_s) VALUES(?1, 'forget', ?2, ?3)"
					: "INSERT INTO changes(device, op, reason, wall_s) VALUES(?1, 'relearn', ?2, ?3)",
				device, reason, (int64_t)time(NULL));
	if (!code && rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (!code && rc != SQLITE_OK)
		code = fail(s, rc, "request not made", err, errlen);
	if (code)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return code;
}
