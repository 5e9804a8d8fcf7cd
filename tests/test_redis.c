/*
 * Alerts to a real Redis: `iotids replay --redis` against a redis-server the
 * test starts on 127.0.0.1 and a free port (tests/redisrun.h). Every alert
 * of the demo must reach the stream and the channel; AUTH with an ACL user;
 * a wrong password refused; Redis killed mid-replay and restarted; Redis
 * down for a whole replay; the spool's full policy.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/genrun.h"
#include "tests/redisrun.h"

#define DEMO "pcaps/demo.pcap"

static struct redisrun srv;

static void setup(void)
{
	genrun_setup();
	memset(&srv, 0, sizeof(srv));
}

static void teardown(void)
{
	redisrun_stop(&srv);
	genrun_teardown();
}

TestSuite(redis, .init = setup, .fini = teardown, .timeout = 300);

struct run {
	int status;
	char *out, *err;
};

/* "$IOTIDS_BIN replay ARGS" with stdout and stderr kept. */
static struct run replay(const char *args)
{
	const char *bin = getenv("IOTIDS_BIN");
	cr_assert_not_null(bin, "IOTIDS_BIN is not set; run the tests through make test");
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "TZ=UTC '%s' replay %s >'%s' 2>'%s'", bin, args, genrun_path("out"), genrun_path("err"));
	int st = system(cmd);
	cr_assert(WIFEXITED(st), "iotids did not exit normally: %s", cmd);
	struct run r = {.status = WEXITSTATUS(st)};
	r.out = genrun_slurp(genrun_path("out"), NULL);
	r.err = genrun_slurp(genrun_path("err"), NULL);
	cr_assert(r.out && r.err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* The "redis" object of a --json summary. */
static json_t *redis_summary(const struct run *r)
{
	json_error_t e;
	json_t *o = json_loads(r->out, 0, &e);
	cr_assert_not_null(o, "summary is not JSON: %s\n%s", e.text, r->out);
	json_t *rd = json_incref(json_object_get(o, "redis"));
	json_decref(o);
	cr_assert(json_is_object(rd), "no redis in the summary: %s", r->out);
	return rd;
}

static long long counter(json_t *rd, const char *name)
{
	json_t *v = json_object_get(rd, name);
	cr_assert(json_is_integer(v), "no %s", name);
	return json_integer_value(v);
}

/* The lines of an alerts file, in order, as strings. */
static json_t *file_lines(const char *file)
{
	char *text = genrun_slurp(file, NULL);
	cr_assert_not_null(text, "%s", file);
	json_t *lines = json_array();
	for (char *line = text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		cr_assert_not_null(nl, "%s: last line not ended", file);
		json_array_append_new(lines, json_stringn(line, (size_t)(nl - line)));
	}
	free(text);
	return lines;
}

static const char *id_of(const char *json_line)
{
	static char id[32];
	json_t *o = json_loads(json_line, 0, NULL);
	cr_assert_not_null(o, "not JSON: %s", json_line);
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(o, "alert_id")));
	json_decref(o);
	return id;
}

/* Every entry of a stream as an object of its fields, in order. */
static json_t *stream(const char *key)
{
	redisContext *c = redisrun_connect(&srv);
	redisReply *r = redisrun_cmd(c, "XRANGE %s - +", key);
	cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
	json_t *all = json_array();
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *e = r->element[i], *f = e->element[1];
		json_t *o = json_object();
		json_object_set_new(o, "id", json_string(e->element[0]->str));
		for (size_t j = 0; j + 1 < f->elements; j += 2)
			json_object_set_new(o, f->element[j]->str, json_stringn(f->element[j + 1]->str, f->element[j + 1]->len));
		json_array_append_new(all, o);
	}
	freeReplyObject(r);
	redisFree(c);
	return all;
}

static const char *field(json_t *entry, const char *name)
{
	const char *v = json_string_value(json_object_get(entry, name));
	cr_assert_not_null(v, "entry without %s", name);
	return v;
}

static char url[64];

static const char *redis_url(void)
{
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", srv.port);
	return url;
}

static void write_text(const char *file, const char *text)
{
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	cr_assert_geq(fputs(text, f), 0);
	cr_assert_eq(fclose(f), 0);
}

Test(redis, every_alert_of_the_demo_reaches_the_stream_and_the_channel_in_order)
{
	redisrun_start(&srv, genrun_dir, false);
	redisContext *sub = redisrun_connect(&srv);
	/* A guard against a hang, not a measure: the replay takes seconds. */
	redisSetTimeout(sub, (struct timeval){.tv_sec = 120});
	freeReplyObject(redisrun_cmd(sub, "SUBSCRIBE iotids:alerts"));
	write_text(genrun_path("c.yaml"), "redis:\n  gateway_id: test-gw\n");
	char args[1024];
	snprintf(args, sizeof(args), "--json --learn-for 2h --config '%s' --alerts '%s' --redis %s --redis-spool '%s' %s",
		 genrun_path("c.yaml"), genrun_path("a.json"), redis_url(), genrun_path("spool"), DEMO);
	struct run run = replay(args);
	cr_assert_eq(run.status, 0, "%s", run.err);
	json_t *lines = file_lines(genrun_path("a.json"));
	size_t n = json_array_size(lines);
	cr_assert_geq(n, 20, "the demo raises its attacks' alerts");

	json_t *rd = redis_summary(&run);
	cr_expect_eq(counter(rd, "published"), (long long)n);
	cr_expect_eq(counter(rd, "spooled"), 0);
	cr_expect_eq(counter(rd, "dropped"), 0);
	cr_expect_eq(counter(rd, "resent"), 0);
	cr_expect_eq(counter(rd, "spool_pending"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(rd, "gateway")), "test-gw");

	json_t *entries = stream("iotids:alerts");
	cr_assert_eq(json_array_size(entries), n);
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(entries, i);
		const char *line = json_string_value(json_array_get(lines, i));
		cr_expect_str_eq(field(e, "json"), line, "entry %zu", i);
		json_t *o = json_loads(line, 0, NULL);
		cr_assert_not_null(o);
		cr_expect_str_eq(field(e, "alert_id"), json_string_value(json_object_get(o, "alert_id")));
		cr_expect_str_eq(field(e, "kind"), json_string_value(json_object_get(o, "kind")));
		cr_expect_str_eq(field(e, "severity"), json_string_value(json_object_get(o, "severity")));
		cr_expect_str_eq(field(e, "device"),
				 json_string_value(json_object_get(json_object_get(o, "device"), "mac")));
		cr_expect_str_eq(field(e, "gateway"), "test-gw");
		json_decref(o);
	}
	/* Live subscribers got the same documents, in the same order. */
	for (size_t i = 0; i < n; i++) {
		redisReply *m = NULL;
		cr_assert_eq(redisGetReply(sub, (void **)&m), REDIS_OK, "message %zu of %zu: %s", i, n, sub->errstr);
		cr_assert(m->type == REDIS_REPLY_ARRAY && m->elements == 3);
		cr_expect_str_eq(m->element[0]->str, "message");
		cr_expect_str_eq(m->element[2]->str, json_string_value(json_array_get(lines, i)));
		freeReplyObject(m);
	}
	redisContext *c = redisrun_connect(&srv);
	redisReply *h = redisrun_cmd(c, "HGET iotids:stats:test-gw published");
	cr_assert_eq(h->type, REDIS_REPLY_STRING);
	cr_expect_eq(strtoll(h->str, NULL, 10), (long long)n);
	freeReplyObject(h);
	h = redisrun_cmd(c, "HGET iotids:stats:test-gw dropped");
	cr_expect_str_eq(h->str, "0");
	freeReplyObject(h);
	/* Each device's summary, for dashboards: the camera the demo attacks. */
	h = redisrun_cmd(c, "HGETALL iotids:device:c0:56:e3:fa:8a:c3");
	cr_assert_eq(h->type, REDIS_REPLY_ARRAY);
	json_t *dev = json_object();
	for (size_t i = 0; i + 1 < h->elements; i += 2)
		json_object_set_new(dev, h->element[i]->str, json_string(h->element[i + 1]->str));
	freeReplyObject(h);
	cr_expect_str_eq(field(dev, "kind"), "camera");
	cr_expect_str_eq(field(dev, "state"), "enforcing");
	cr_expect_str_eq(field(dev, "gateway"), "test-gw");
	cr_expect_str_eq(field(dev, "hostname"), "DS-2CD2143G2-I");
	cr_expect_str_eq(field(dev, "last_seen"), "2026-03-02T08:59:23.539947Z");
	json_decref(dev);
	h = redisrun_cmd(c, "TTL iotids:device:c0:56:e3:fa:8a:c3");
	cr_expect(h->integer > 0 && h->integer <= 7 * 86400, "ttl %lld", h->integer);
	freeReplyObject(h);
	h = redisrun_cmd(c, "KEYS iotids:device:*");
	cr_expect_eq(h->elements, 9, "one summary per demo device");
	freeReplyObject(h);
	redisFree(c);
	redisFree(sub);
	json_decref(entries);
	json_decref(rd);
	json_decref(lines);
	run_free(&run);
}

Test(redis, an_acl_user_limited_to_its_prefix_publishes_with_auth)
{
	redisrun_start(&srv, genrun_dir, false);
	redisContext *c = redisrun_connect(&srv);
	freeReplyObject(redisrun_cmd(c, "ACL SETUSER gw7 on >s3cret-pw ~site1:* &site1:* +xadd +publish +hset +expire"));
	char cfg[256], args[1024];
	snprintf(cfg, sizeof(cfg), "redis:\n  url: redis://gw7:s3cret-pw@127.0.0.1:%d\n  prefix: site1\n  gateway_id: gw-7\n",
		 srv.port);
	write_text(genrun_path("c.yaml"), cfg);
	snprintf(args, sizeof(args), "--learn-for 2h --config '%s' --alerts '%s' --redis-spool '%s' %s", genrun_path("c.yaml"),
		 genrun_path("a.json"), genrun_path("spool"), DEMO);
	struct run run = replay(args);
	cr_assert_eq(run.status, 0, "%s", run.err);
	json_t *lines = file_lines(genrun_path("a.json"));
	size_t n = json_array_size(lines);
	cr_assert_gt(n, 0);
	json_t *entries = stream("site1:alerts");
	cr_expect_eq(json_array_size(entries), n);
	redisReply *h = redisrun_cmd(c, "HGET site1:stats:gw-7 published");
	cr_assert_eq(h->type, REDIS_REPLY_STRING);
	cr_expect_eq(strtoll(h->str, NULL, 10), (long long)n);
	freeReplyObject(h);
	/* The summary names the user and hides the password everywhere. */
	char want[128];
	snprintf(want, sizeof(want), "redis://gw7:***@127.0.0.1:%d as gw-7: %zu published", srv.port, n);
	cr_expect(strstr(run.out, want) != NULL, "%s", run.out);
	cr_expect(strstr(run.out, "s3cret") == NULL && strstr(run.err, "s3cret") == NULL);
	cr_expect(strstr(run.err, "refused") == NULL, "the ACL is enough: %s", run.err);
	h = redisrun_cmd(c, "EXISTS site1:device:c0:56:e3:fa:8a:c3");
	cr_expect_eq(h->integer, 1);
	freeReplyObject(h);
	redisFree(c);
	json_decref(entries);
	json_decref(lines);
	run_free(&run);
}

Test(redis, a_wrong_password_is_refused_clearly_and_never_shown)
{
	redisrun_start(&srv, genrun_dir, false);
	redisContext *c = redisrun_connect(&srv);
	freeReplyObject(redisrun_cmd(c, "ACL SETUSER gw7 on >right-pw ~* &* +@all"));
	redisFree(c);
	char args[1024];
	snprintf(args, sizeof(args), "--learn-for 2h --redis redis://gw7:wrong-pw@127.0.0.1:%d --redis-spool '%s' %s",
		 srv.port, genrun_path("spool"), DEMO);
	struct run run = replay(args);
	cr_expect_eq(run.status, 2);
	char want[160];
	snprintf(want, sizeof(want), "iotids: redis://gw7:***@127.0.0.1:%d: authentication refused: WRONGPASS",
		 srv.port);
	cr_expect(strstr(run.err, want) != NULL, "%s", run.err);
	cr_expect(strstr(run.err, "wrong-pw") == NULL && strstr(run.out, "wrong-pw") == NULL);
	run_free(&run);
}

Test(redis, redis_down_for_a_whole_replay_spools_every_alert_and_the_next_start_delivers_them_first)
{
	srv.port = redisrun_free_port();
	char args[1024];
	snprintf(args, sizeof(args), "--json --learn-for 2h --alerts '%s' --redis %s --redis-spool '%s' %s",
		 genrun_path("a1.json"), redis_url(), genrun_path("spool"), DEMO);
	struct run run = replay(args);
	cr_assert_eq(run.status, 0, "%s", run.err);
	cr_expect(strstr(run.err, "cannot connect") && strstr(run.err, "kept in the spool"), "%s", run.err);
	json_t *a1 = file_lines(genrun_path("a1.json"));
	size_t n1 = json_array_size(a1);
	cr_assert_gt(n1, 0);
	json_t *rd = redis_summary(&run);
	cr_expect_eq(counter(rd, "published"), 0);
	cr_expect_eq(counter(rd, "spooled"), (long long)n1);
	cr_expect_eq(counter(rd, "spool_pending"), (long long)n1);
	cr_expect_eq(counter(rd, "dropped"), 0);
	json_decref(rd);
	run_free(&run);

	/* Later, Redis is there: a shorter-learning run's alerts follow the spooled ones. */
	redisrun_start(&srv, genrun_dir, false);
	snprintf(args, sizeof(args), "--json --learn-for 150m --alerts '%s' --redis %s --redis-spool '%s' %s",
		 genrun_path("a2.json"), redis_url(), genrun_path("spool"), DEMO);
	run = replay(args);
	cr_assert_eq(run.status, 0, "%s", run.err);
	json_t *a2 = file_lines(genrun_path("a2.json"));
	size_t n2 = json_array_size(a2);
	cr_assert_gt(n2, 0);
	cr_assert_neq(n1, n2);
	rd = redis_summary(&run);
	cr_expect_eq(counter(rd, "delivered_from_spool"), (long long)n1);
	cr_expect_eq(counter(rd, "published") + counter(rd, "spooled"), (long long)n2);
	cr_expect_eq(counter(rd, "spool_pending"), 0);
	json_t *entries = stream("iotids:alerts");
	cr_assert_eq(json_array_size(entries), n1 + n2);
	for (size_t i = 0; i < n1 + n2; i++) {
		json_t *want = i < n1 ? json_array_get(a1, i) : json_array_get(a2, i - n1);
		cr_expect_str_eq(field(json_array_get(entries, i), "json"), json_string_value(want), "entry %zu", i);
	}
	json_decref(entries);
	json_decref(rd);
	json_decref(a1);
	json_decref(a2);
	run_free(&run);
}

/* Seconds since the epoch of an alert's "ts". */
static long long ts_of(const char *json_line)
{
	json_t *o = json_loads(json_line, 0, NULL);
	cr_assert_not_null(o);
	struct tm tm = {0};
	cr_assert_eq(sscanf(json_string_value(json_object_get(o, "ts")), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon,
			    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
		     6);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	json_decref(o);
	return (long long)timegm(&tm);
}

static long long stream_len(const char *key)
{
	redisContext *c = redisrun_connect(&srv);
	redisReply *r = redisrun_cmd(c, "XLEN %s", key);
	long long n = r->integer;
	freeReplyObject(r);
	redisFree(c);
	return n;
}

/* iotids replay --json --learn-for 2h --alerts --redis --redis-spool,
 * reading a FIFO the test writes; its files are named after tag. */
struct fifo_run {
	pid_t pid;
	char fifo[160], out[160], err[160], alerts[160], spool[160];
};

static void fifo_replay_start(struct fifo_run *f, const char *tag)
{
	char name[64];
	snprintf(name, sizeof(name), "%s.fifo", tag);
	snprintf(f->fifo, sizeof(f->fifo), "%s", genrun_path(name));
	snprintf(name, sizeof(name), "%s.out", tag);
	snprintf(f->out, sizeof(f->out), "%s", genrun_path(name));
	snprintf(name, sizeof(name), "%s.err", tag);
	snprintf(f->err, sizeof(f->err), "%s", genrun_path(name));
	snprintf(f->alerts, sizeof(f->alerts), "%s", genrun_path("a.json"));
	snprintf(f->spool, sizeof(f->spool), "%s", genrun_path("spool"));
	cr_assert_eq(mkfifo(f->fifo, 0600), 0);
	redis_url();
	f->pid = fork();
	cr_assert_geq(f->pid, 0);
	if (f->pid == 0) {
		int o = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(f->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0 || dup2(o, STDOUT_FILENO) < 0 || dup2(e, STDERR_FILENO) < 0)
			_exit(99);
		execl(getenv("IOTIDS_BIN"), "iotids", "replay", "--json", "--learn-for", "2h", "--alerts", f->alerts,
		      "--redis", url, "--redis-spool", f->spool, f->fifo, (char *)NULL);
		_exit(98);
	}
}

/* Waits for it; its exit status, stdout and stderr. */
static struct run fifo_replay_wait(const struct fifo_run *f)
{
	int st;
	cr_assert_eq(waitpid(f->pid, &st, 0), f->pid);
	struct run r = {.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1, .out = genrun_slurp(f->out, NULL),
			.err = genrun_slurp(f->err, NULL)};
	cr_assert(r.out && r.err);
	return r;
}

Test(redis, redis_killed_mid_replay_and_restarted_later_loses_no_alert)
{
	/* Where each third of the demo's alerts ends, from a run without Redis. */
	char args[1024];
	snprintf(args, sizeof(args), "--learn-for 2h --alerts '%s' %s", genrun_path("ref.json"), DEMO);
	struct run run = replay(args);
	cr_assert_eq(run.status, 0, "%s", run.err);
	run_free(&run);
	json_t *ref = file_lines(genrun_path("ref.json"));
	size_t n = json_array_size(ref);
	cr_assert_geq(n, 9);
	long long cut1_ts = ts_of(json_string_value(json_array_get(ref, n / 3))) + 120;
	long long cut2_ts = ts_of(json_string_value(json_array_get(ref, 2 * n / 3))) + 120;

	char data[200];
	snprintf(data, sizeof(data), "%s/data", genrun_dir);
	cr_assert_eq(mkdir(data, 0700), 0);
	redisrun_start(&srv, data, true);
	struct fifo_run fr;
	fifo_replay_start(&fr, "kill");
	size_t len = 0;
	char *demo = genrun_slurp(DEMO, &len);
	cr_assert_not_null(demo);
	size_t cut1 = genrun_offset_at(demo, len, cut1_ts), cut2 = genrun_offset_at(demo, len, cut2_ts);
	cr_assert(24 < cut1 && cut1 < cut2 && cut2 < len);
	/* Close-on-exec: the restarted redis-server must not hold the pipe open. */
	FILE *w = fopen(fr.fifo, "wbe");
	cr_assert_not_null(w);
	/* A first third, delivered. */
	cr_assert_eq(fwrite(demo, 1, cut1, w), cut1);
	cr_assert_eq(fflush(w), 0);
	for (int i = 0; i < 3000 && stream_len("iotids:alerts") == 0; i++)
		nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
	cr_assert_gt(stream_len("iotids:alerts"), 0, "nothing delivered: %s", genrun_slurp(fr.err, NULL));
	/* Redis crashes; the second third's alerts find it gone. */
	redisrun_kill(&srv);
	cr_assert_eq(fwrite(demo + cut1, 1, cut2 - cut1, w), cut2 - cut1);
	cr_assert_eq(fflush(w), 0);
	cr_assert(genrun_wait_for_text(fr.err, "kept in the spool"), "iotids never noticed: %s", genrun_slurp(fr.err, NULL));
	/* It comes back (its append-only file kept what it had), then the rest. */
	redisrun_start(&srv, data, true);
	cr_assert_eq(fwrite(demo + cut2, 1, len - cut2, w), len - cut2);
	cr_assert_eq(fclose(w), 0);
	free(demo);
	struct run r = fifo_replay_wait(&fr);
	cr_assert_eq(r.status, 0, "%s", r.err);

	json_t *lines = file_lines(fr.alerts);
	cr_assert_eq(json_array_size(lines), n, "the same alerts as without Redis");
	json_t *rd = redis_summary(&r);
	cr_expect_gt(counter(rd, "spooled"), 0, "the crash was noticed");
	cr_expect_eq(counter(rd, "dropped"), 0);
	cr_expect_eq(counter(rd, "spool_pending"), 0);
	cr_expect_eq(counter(rd, "published") + counter(rd, "delivered_from_spool"), (long long)n);
	/* Every alert is there; the first time each appears, they are in the
	 * order raised; duplicates only as many as were resent. */
	json_t *entries = stream("iotids:alerts");
	json_t *seen = json_object(), *order = json_array();
	for (size_t i = 0; i < json_array_size(entries); i++) {
		const char *id = field(json_array_get(entries, i), "alert_id");
		if (!json_object_get(seen, id)) {
			json_object_set_new(seen, id, json_true());
			json_array_append_new(order, json_string(id));
		}
	}
	cr_assert_eq(json_array_size(order), n, "%zu distinct alerts in the stream, %zu raised",
		     json_array_size(order), n);
	for (size_t i = 0; i < n; i++)
		cr_expect_str_eq(json_string_value(json_array_get(order, i)),
				 id_of(json_string_value(json_array_get(lines, i))), "alert %zu", i);
	long long dups = (long long)json_array_size(entries) - (long long)n;
	cr_expect_leq(dups, counter(rd, "resent"), "%lld duplicates, %lld resent", dups, counter(rd, "resent"));
	json_decref(seen);
	json_decref(order);
	json_decref(entries);
	json_decref(rd);
	json_decref(lines);
	json_decref(ref);
	run_free(&r);
}

/* Two replays of the demo into a 64 KiB spool with Redis down, then a run
 * that raises nothing delivers what the spool kept. */
static void fill_spool(const char *when_full, json_t **all, json_t **stream_out, long long *dropped)
{
	srv.port = redisrun_free_port();
	char cfg[256], args[1024];
	snprintf(cfg, sizeof(cfg), "redis:\n  spool:\n    max_size: 64KiB\n    when_full: %s\n", when_full);
	write_text(genrun_path("c.yaml"), cfg);
	*all = json_array();
	*dropped = 0;
	for (int i = 0; i < 2; i++) {
		snprintf(args, sizeof(args), "--json --learn-for 2h --config '%s' --alerts '%s' --redis %s --redis-spool '%s' %s",
			 genrun_path("c.yaml"), genrun_path("a.json"), redis_url(), genrun_path("spool"), DEMO);
		struct run run = replay(args);
		cr_assert_eq(run.status, 0, "%s", run.err);
		json_t *lines = file_lines(genrun_path("a.json"));
		json_array_extend(*all, lines);
		json_t *rd = redis_summary(&run);
		cr_expect_eq(counter(rd, "published"), 0);
		*dropped += counter(rd, "dropped");
		if (i == 0)
			cr_expect_eq(counter(rd, "dropped"), 0, "the first run fits");
		json_decref(rd);
		json_decref(lines);
		run_free(&run);
	}
	cr_assert_gt(*dropped, 0, "the second run did not fill the spool");
	redisrun_start(&srv, genrun_dir, false);
	snprintf(args, sizeof(args), "--json --learn-for 3h --config '%s' --redis %s --redis-spool '%s' %s",
		 genrun_path("c.yaml"), redis_url(), genrun_path("spool"), DEMO);
	struct run run = replay(args);
	cr_assert_eq(run.status, 0, "%s", run.err);
	json_t *rd = redis_summary(&run);
	cr_expect_eq(counter(rd, "published"), 0, "learning all along: no alerts of its own");
	cr_expect_eq(counter(rd, "spool_pending"), 0);
	*stream_out = stream("iotids:alerts");
	cr_expect_eq(counter(rd, "delivered_from_spool"), (long long)json_array_size(*stream_out));
	cr_expect_eq((long long)json_array_size(*stream_out) + *dropped, (long long)json_array_size(*all),
		     "every alert delivered or counted dropped");
	json_decref(rd);
	run_free(&run);
}

Test(redis, a_full_spool_that_drops_the_newest_keeps_the_first_alerts_in_order)
{
	json_t *all, *got;
	long long dropped;
	fill_spool("drop_newest", &all, &got, &dropped);
	for (size_t i = 0; i < json_array_size(got); i++)
		cr_expect_str_eq(field(json_array_get(got, i), "json"), json_string_value(json_array_get(all, i)),
				 "entry %zu", i);
	json_decref(all);
	json_decref(got);
}

Test(redis, a_full_spool_that_drops_the_oldest_keeps_the_last_alerts_in_order)
{
	json_t *all, *got;
	long long dropped;
	fill_spool("drop_oldest", &all, &got, &dropped);
	size_t skip = json_array_size(all) - json_array_size(got);
	for (size_t i = 0; i < json_array_size(got); i++)
		cr_expect_str_eq(field(json_array_get(got, i), "json"),
				 json_string_value(json_array_get(all, skip + i)), "entry %zu", i);
	json_decref(all);
	json_decref(got);
}

/* A spool segment with something in it, in dir. */
static bool spool_has_records(const char *spool)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "find '%s' -name '*.seg' -size +0 2>/dev/null | grep -q .", spool);
	return system(cmd) == 0;
}

Test(redis, sigterm_mid_replay_with_redis_down_keeps_every_alert_in_the_spool)
{
	srv.port = redisrun_free_port();
	struct fifo_run fr;
	fifo_replay_start(&fr, "term");
	size_t len = 0;
	char *demo = genrun_slurp(DEMO, &len);
	cr_assert_not_null(demo);
	uint32_t first;
	memcpy(&first, demo + 24, 4);
	/* The learning hours and the first attacks, then SIGTERM while iotids
	 * waits for more. */
	size_t cut = genrun_offset_at(demo, len, (long long)first + 2 * 3600 + 40 * 60);
	FILE *w = fopen(fr.fifo, "wbe");
	cr_assert_not_null(w);
	cr_assert_eq(fwrite(demo, 1, cut, w), cut);
	cr_assert_eq(fflush(w), 0);
	for (int i = 0; i < 3000 && !spool_has_records(fr.spool); i++)
		nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
	cr_assert(spool_has_records(fr.spool), "nothing spooled: %s", genrun_slurp(fr.err, NULL));
	cr_assert_eq(kill(fr.pid, SIGTERM), 0);
	struct run r = fifo_replay_wait(&fr);
	fclose(w);
	free(demo);
	cr_expect_eq(r.status, 1, "interrupted is exit 1: %s", r.err);
	cr_expect(strstr(r.err, "interrupted by signal 15") != NULL, "%s", r.err);
	json_t *lines = file_lines(fr.alerts);
	size_t n = json_array_size(lines);
	cr_assert_gt(n, 0);
	json_t *rd = redis_summary(&r);
	cr_expect_eq(counter(rd, "spooled"), (long long)n, "every alert raised before the signal is spooled");
	cr_expect_eq(counter(rd, "spool_pending"), (long long)n);
	cr_expect_eq(counter(rd, "dropped"), 0);
	json_decref(rd);
	run_free(&r);

	/* Delivered, in order, once Redis is there. */
	redisrun_start(&srv, genrun_dir, false);
	char args[1024];
	snprintf(args, sizeof(args), "--json --learn-for 3h --redis %s --redis-spool '%s' %s", redis_url(), fr.spool,
		 DEMO);
	struct run again = replay(args);
	cr_assert_eq(again.status, 0, "%s", again.err);
	json_t *entries = stream("iotids:alerts");
	cr_assert_eq(json_array_size(entries), n);
	for (size_t i = 0; i < n; i++)
		cr_expect_str_eq(field(json_array_get(entries, i), "json"), json_string_value(json_array_get(lines, i)),
				 "entry %zu", i);
	json_decref(entries);
	json_decref(lines);
	run_free(&again);
}

Test(redis, a_server_that_wants_a_password_we_lack_is_a_configuration_error)
{
	redisrun_start(&srv, genrun_dir, false);
	redisContext *c = redisrun_connect(&srv);
	freeReplyObject(redisrun_cmd(c, "CONFIG SET requirepass sesame"));
	redisFree(c);
	char args[1024];
	snprintf(args, sizeof(args), "--learn-for 2h --redis %s --redis-spool '%s' %s", redis_url(), genrun_path("spool"), DEMO);
	struct run run = replay(args);
	cr_expect_eq(run.status, 2);
	cr_expect(strstr(run.err, "NOAUTH") && strstr(run.err, "give a password"), "%s", run.err);
	run_free(&run);
}

Test(redis, a_spool_that_cannot_note_deliveries_never_sends_an_alert_twice_in_a_run)
{
	srv.port = redisrun_free_port();
	char args[1024];
	snprintf(args, sizeof(args), "--json --learn-for 2h --alerts '%s' --redis %s --redis-spool '%s' %s",
		 genrun_path("a.json"), redis_url(), genrun_path("spool"), DEMO);
	struct run run = replay(args);
	cr_assert_eq(run.status, 0, "%s", run.err);
	run_free(&run);
	json_t *lines = file_lines(genrun_path("a.json"));
	size_t n = json_array_size(lines);
	/* The delivery mark cannot be written: its temporary name is taken. */
	char blocker[200];
	snprintf(blocker, sizeof(blocker), "%s/consumed.tmp", genrun_path("spool"));
	cr_assert_eq(mkdir(blocker, 0700), 0);
	redisrun_start(&srv, genrun_dir, false);
	snprintf(args, sizeof(args), "--json --learn-for 3h --redis %s --redis-spool '%s' %s", redis_url(),
		 genrun_path("spool"), DEMO);
	run = replay(args);
	cr_assert_eq(run.status, 0, "%s", run.err);
	cr_expect(strstr(run.err, "cannot record delivery") != NULL, "%s", run.err);
	cr_expect_eq(stream_len("iotids:alerts"), (long long)n, "each alert once, however often the mark fails");
	json_t *rd = redis_summary(&run);
	cr_expect_eq(counter(rd, "delivered_from_spool"), (long long)n);
	json_decref(rd);
	run_free(&run);
	json_decref(lines);
}
