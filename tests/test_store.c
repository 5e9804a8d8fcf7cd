/*
 * Tests for detector/store.c through its API: the bounds the store keeps
 * (the newest STORE_MAX_ALERTS alerts, the newest STORE_MAX_VERSIONS
 * versions of a device) and a request queued for a detector that has the
 * store open, applied by its next poll. The command-line behaviour (every
 * subcommand, errors, kill -9, concurrency, migration) is in test_replay.c.
 */
#include "detector/store.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S 1000000ull
#define T0 (1772431200ull * S)

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/iotids-store-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.db", dir);
}

static void teardown(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(store, .init = setup, .fini = teardown);

static void no_alert(void *ctx, const struct det_alert *a)
{
	(void)ctx;
	(void)a;
}

static struct detector *detector(void)
{
	struct det_cfg c = {.learn_for_us = 60 * S, .maturity_target = 1, .threshold = 0.75, .max_devices = 8};
	struct detector *d = det_new(&c, no_alert, NULL);
	cr_assert_not_null(d);
	return d;
}

static struct store *open_store(void)
{
	char err[512];
	int code;
	struct store *s = store_open(path, true, err, sizeof(err), &code);
	cr_assert_not_null(s, "%s", err);
	return s;
}

/* Device 02:00:00:00:00:01 with one flow to 203.0.113.5:443 at t. */
static void one_flow(struct detector *d, uint64_t t)
{
	struct device dv;
	struct flow f;
	memset(&dv, 0, sizeof(dv));
	memset(&f, 0, sizeof(f));
	dv.id = 1;
	dv.has_mac = true;
	dv.mac[0] = 2;
	dv.mac[5] = 1;
	cr_assert_eq(ip_parse("192.168.1.11", &dv.key_ip), 0);
	cr_assert_eq(ip_parse("203.0.113.5", &f.dst), 0);
	f.src = dv.key_ip;
	f.dport = 443;
	f.proto = 6;
	f.dir = FLOW_DIR_OUTBOUND;
	f.last_us = t;
	f.fwd.first_us = t;
	det_flow(d, &dv, &f, true, t);
}

static int count_alert(void *ctx, const struct store_alert *a)
{
	size_t *n = ctx;
	if (*n == 0)
		cr_expect_str_eq(a->alert_id, "0000000000000005", "the oldest kept is not the 6th");
	(*n)++;
	return 0;
}

static int count_suppressed(void *ctx, const struct store_alert *a)
{
	size_t *n = ctx;
	cr_expect_str_eq(a->suppressed_by, "quiet");
	if (*n == 0)
		cr_expect_str_eq(a->alert_id, "0000000010000005", "the oldest suppressed kept is not the 6th");
	(*n)++;
	return 0;
}

/* Raised and suppressed alerts each keep their newest STORE_MAX_ALERTS:
 * a flood of suppressed ones, after, pushes out none of the others. */
Test(store, keeps_the_newest_alerts_up_to_its_bound)
{
	struct store *s = open_store();
	char err[512], id[17], json[64];
	for (unsigned i = 0; i < 2 * (STORE_MAX_ALERTS + 5); i++) {
		bool sup = i >= STORE_MAX_ALERTS + 5;
		snprintf(id, sizeof(id), "%016x", sup ? 0x10000000u + i - (STORE_MAX_ALERTS + 5) : i);
		snprintf(json, sizeof(json), "{\"alert_id\":\"%s\"}", id);
		struct store_alert a = {.alert_id = id, .device = "02:00:00:00:00:01", .kind = "scan",
					.severity = "high", .ts_us = T0 + i, .score = 0.9, .json = json,
					.suppressed_by = sup ? "quiet" : NULL};
		cr_assert_eq(store_alert_add(s, &a, err, sizeof(err)), 0, "%s", err);
	}
	struct detector *d = detector();
	cr_assert_eq(store_checkpoint(s, d, T0, NULL, NULL, err, sizeof(err)), 0, "%s", err);
	size_t n = 0;
	struct store_alert_filter f = {0};
	cr_assert_eq(store_alerts_list(s, &f, count_alert, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, STORE_MAX_ALERTS);
	n = 0;
	f.suppressed = true;
	cr_assert_eq(store_alerts_list(s, &f, count_suppressed, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, STORE_MAX_ALERTS);
	det_free(d);
	store_close(s);
}

static int count_version(void *ctx, int64_t version, uint64_t ts_us, const char *reason)
{
	int64_t *first = ctx;
	(void)ts_us;
	(void)reason;
	if (!first[0])
		first[0] = version;
	first[1]++;
	return 0;
}

Test(store, keeps_the_newest_versions_of_a_device_and_a_running_detector_gets_requests_by_polling)
{
	struct store *s = open_store();
	struct detector *d = detector();
	char err[512];
	one_flow(d, T0);
	one_flow(d, T0 + 120 * S); /* learning is over: version 1 */
	cr_assert_eq(store_checkpoint(s, d, T0 + 120 * S, NULL, NULL, err, sizeof(err)), 0, "%s", err);

	/* Another process makes requests while this detector holds the store. */
	struct store *cli = open_store();
	for (int i = 1; i <= STORE_MAX_VERSIONS + 6; i++) {
		struct store_req r = {.op = "accept", .dest = "example.com", .for_us = (uint64_t)i * 60 * S};
		cr_assert_eq(store_request(cli, "02:00:00:00:00:01", &r, err, sizeof(err)), 0, "%s", err);
	}
	struct store_req bad = {.op = "rollback", .version = 1};
	cr_expect_eq(store_request(cli, "02:00:00:00:00:01", &bad, err, sizeof(err)), STORE_ERR_REQUEST,
		     "version 1 was not pruned");
	int64_t seen[2] = {0, 0};
	cr_assert_eq(store_history(cli, "02:00:00:00:00:01", count_version, seen, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(seen[1], STORE_MAX_VERSIONS);
	cr_expect_eq(seen[0], 1 + STORE_MAX_VERSIONS + 6 - STORE_MAX_VERSIONS + 1);
	store_close(cli);

	/* The detector's next poll applies all of them: one accept, the last. */
	cr_assert_eq(store_poll(s, d, T0 + 180 * S, err, sizeof(err)), STORE_MAX_VERSIONS + 6, "%s", err);
	uint8_t key[16] = {2, 0, 0, 0, 0, 1};
	struct det_accept_info ai;
	const struct det_profile *p = det_profile_find(d, key);
	cr_assert_not_null(p);
	cr_assert(det_profile_accepted(p, 0, &ai));
	cr_expect_str_eq(ai.dest, "example.com");
	cr_expect_eq(ai.until_us - ai.since_us, (uint64_t)(STORE_MAX_VERSIONS + 6) * 60 * S);
	cr_expect_not(det_profile_accepted(p, 1, &ai));
	/* Nothing more to apply: a poll is a no-op. */
	cr_expect_eq(store_poll(s, d, T0 + 181 * S, err, sizeof(err)), 0);
	det_free(d);
	store_close(s);
}
