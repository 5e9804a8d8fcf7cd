/*
 * storebench — how long a checkpoint of N device profiles takes, against a
 * floor measured in the same run: the same number of rows, of the same
 * size, written by plain SQLite in one transaction on the same disk.
 *
 *   storebench DIR [N]     (N: 10000 by default)
 *
 * Each profile is learned from 40 flows to 8 destinations over its first
 * 40 minutes and 60 one-minute windows, then enforced: about what a quiet
 * IoT device holds after a day. DIR/store.db is left behind for timing
 * `iotids profile list` on it.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detector/detector.h"
#include "detector/store.h"

#define T0 (1772431200ull * 1000000ull)
#define MIN (60ull * 1000000ull)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void no_alert(void *ctx, const struct det_alert *a)
{
	(void)ctx;
	(void)a;
}

static void learn_device(struct detector *d, uint32_t i)
{
	struct device dev = {.id = i + 1, .has_mac = true};
	dev.mac[0] = 0x02;
	dev.mac[3] = (uint8_t)(i >> 16);
	dev.mac[4] = (uint8_t)(i >> 8);
	dev.mac[5] = (uint8_t)i;
	for (uint32_t k = 0; k < 40; k++) {
		struct flow f = {.proto = 6, .dport = k % 3 ? 443 : 8883, .dir = FLOW_DIR_OUTBOUND, .ready = 1};
		f.src.b[10] = f.src.b[11] = f.dst.b[10] = f.dst.b[11] = 0xff;
		f.src.b[12] = 192;
		f.src.b[13] = 168;
		f.src.b[15] = (uint8_t)i;
		f.dst.b[12] = 203;
		f.dst.b[13] = (uint8_t)(i % 200);
		f.dst.b[14] = (uint8_t)(k % 8);
		f.dst.b[15] = 1;
		f.last_us = f.fwd.first_us = T0 + k * MIN;
		f.fwd.bytes = 2000 + k;
		det_flow(d, &dev, &f, true, f.last_us);
		det_flow_end(d, &dev, &f);
	}
	for (uint64_t k = 0; k < 61; k++) {
		struct dev_window w = {.dev = &dev, .start_us = T0 + k * MIN, .end_us = T0 + (k + 1) * MIN};
		w.bytes_out = 1000 + k * 37 % 500;
		w.bytes_in = 3000 + k * 91 % 900;
		w.flows_out = (uint32_t)(k % 3);
		w.remote_hosts = 1 + (uint32_t)(k % 2);
		w.remote_ports = 1;
		det_window(d, &w);
	}
}

/* The floor: n rows of len bytes each, one transaction, as the store does. */
static double floor_write(const char *path, uint32_t n, size_t len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char key[32];
	uint8_t *blob = calloc(1, len);
	remove(path);
	if (!blob || sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			     "CREATE TABLE t(k TEXT PRIMARY KEY, v BLOB NOT NULL);",
			 NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "storebench: %s: cannot make the floor's database\n", path);
		exit(1);
	}
	double t = now_s();
	sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO t VALUES(?1, ?2)", -1, &st, NULL);
	for (uint32_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "02:00:00:%02x:%02x:%02x", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
		blob[0] = (uint8_t)i;
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, blob, (int)len, SQLITE_STATIC);
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	t = now_s() - t;
	sqlite3_close(db);
	free(blob);
	return t;
}

static int count_row(void *ctx, const struct store_row *r)
{
	(void)r;
	(*(uint32_t *)ctx)++;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: storebench DIR [N]\n");
		return 2;
	}
	uint32_t n = argc == 3 ? (uint32_t)strtoul(argv[2], NULL, 10) : 10000;
	char path[512], floor_path[512], err[512];
	snprintf(path, sizeof(path), "%s/store.db", argv[1]);
	snprintf(floor_path, sizeof(floor_path), "%s/floor.db", argv[1]);
	for (const char *ext = ""; ext; ext = !*ext ? "-wal" : ext[1] == 'w' ? "-shm" : NULL) {
		char f[600];
		snprintf(f, sizeof(f), "%s%s", path, ext);
		remove(f);
	}
	struct det_cfg cfg = {.learn_for_us = 60 * MIN, .threshold = 0.75, .max_devices = n};
	struct detector *d = det_new(&cfg, no_alert, NULL);
	if (!d || n == 0)
		return 1;
	for (uint32_t i = 0; i < n; i++)
		learn_device(d, i);
	size_t bytes = 0;
	for (const struct det_profile *p = det_profile_next(d, NULL); p; p = det_profile_next(d, p)) {
		uint8_t *buf;
		size_t len;
		if (det_profile_encode(p, &buf, &len) != 0)
			return 1;
		bytes += len;
		free(buf);
	}
	int code;
	struct store *s = store_open(path, true, err, sizeof(err), &code);
	if (!s) {
		fprintf(stderr, "storebench: %s\n", err);
		return 1;
	}
	double t1 = now_s();
	int rc1 = store_checkpoint(s, d, T0 + 61 * MIN, NULL, NULL, err, sizeof(err));
	t1 = now_s() - t1;
	double t2 = now_s();
	int rc2 = store_checkpoint(s, d, T0 + 62 * MIN, NULL, NULL, err, sizeof(err));
	t2 = now_s() - t2;
	uint32_t rows = 0;
	double t3 = now_s();
	int rc3 = store_list(s, count_row, &rows, err, sizeof(err));
	t3 = now_s() - t3;
	store_close(s);
	if (rc1 || rc2 || rc3 || rows != n) {
		fprintf(stderr, "storebench: %s (%u rows)\n", err, rows);
		return 1;
	}
	double fl = floor_write(floor_path, n, bytes / n);
	printf("checkpoint of %u profiles (%zu bytes each on average): %.3f s first, %.3f s again "
	       "(target <= 1 s) %s\n",
	       n, bytes / n, t1, t2, t1 <= 1 && t2 <= 1 ? "ok" : "MISSED");
	printf("floor (plain SQLite, %u rows of that size, one transaction): %.3f s; ratio checkpoint/floor %.2f\n", n,
	       fl, (t1 > t2 ? t1 : t2) / fl);
	printf("store_list over %u rows: %.3f s\n", n, t3);
	det_free(d);
	return 0;
}
