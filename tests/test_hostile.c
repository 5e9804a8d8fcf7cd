/*
 * Hostile traffic: `iotgen hostile` (pcaps/gen/hostile.c) lays a flood over
 * the demo's enforcement hour, and `iotids replay` ($IOTIDS_BIN) must take
 * it within its caps: the counters of the tables the attack aims at rise,
 * the run completes, and the demo's real devices keep every alert of the
 * clean run and their learned profiles. The same checks as bench/hostile.sh
 * at a scale of seconds, with small caps so the tables fill. The caps stay
 * above what the demo needs on its own (its flows peak at 3423 at once), so
 * a difference is the attack's doing.
 *
 * Also the policies that make this hold, one table at a time: the device
 * table's fresh and settled segments (device.h), the DNS cache's (dnscache.h)
 * and the name table's reserve (intern.h).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "features/device.h"
#include "features/dnscache.h"
#include "features/intern.h"
#include "tests/genrun.h"

#define DEMO "pcaps/demo.pcap"
#define DEMO_FLAGS "--learn-for 2h --rules rules/example.yaml"
#define S 1000000ull

TestSuite(hostile, .init = genrun_setup, .fini = genrun_teardown, .timeout = 240);

/* ---- running the binaries ---- */

static void gen(const char *attack, const char *count, const char *seed, const char *out)
{
	int rc = genrun_run("hostile", "--attack", attack, "--count", count, "--seed", seed, "--base", DEMO, "-o",
			    genrun_path(out), NULL);
	char *err = genrun_slurp(genrun_path("err.txt"), NULL);
	cr_assert_eq(rc, 0, "iotgen hostile --attack %s failed: %s", attack, err ? err : "");
	free(err);
}

/* Replays pcap (a path) with the demo's flags and extra, twice: the
 * summary and alerts into TAG.summary and TAG.alerts, then the profiles
 * into TAG.profiles. Returns the first run's exit status. */
static int replay(const char *tag, const char *pcap, const char *extra)
{
	const char *bin = getenv("IOTIDS_BIN");
	char cmd[2048];
	cr_assert_not_null(bin, "IOTIDS_BIN is not set (make test sets it)");
	snprintf(cmd, sizeof(cmd), "TZ=UTC '%s' replay " DEMO_FLAGS " %s --alerts '%s/%s.alerts' --json '%s' >'%s/%s.summary'",
		 bin, extra, genrun_dir, tag, pcap, genrun_dir, tag);
	int st = system(cmd);
	cr_assert(WIFEXITED(st), "iotids did not exit: %s", cmd);
	snprintf(cmd, sizeof(cmd), "TZ=UTC '%s' replay " DEMO_FLAGS " %s --alerts /dev/null --profiles --json '%s' >'%s/%s.profiles'",
		 bin, extra, pcap, genrun_dir, tag);
	int st2 = system(cmd);
	cr_assert(WIFEXITED(st2) && WEXITSTATUS(st2) == 0, "iotids --profiles failed: %s", cmd);
	return WEXITSTATUS(st);
}

static json_t *load_summary(const char *tag)
{
	char name[64];
	json_error_t e;
	snprintf(name, sizeof(name), "%s.summary", tag);
	json_t *o = json_load_file(genrun_path(name), 0, &e);
	cr_assert_not_null(o, "%s: %s", name, e.text);
	return o;
}

/* The integer at a path of keys in o. */
static long long counter(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	if (b)
		v = json_object_get(v, b);
	cr_assert(json_is_integer(v), "summary has no %s.%s", a, b ? b : "");
	return (long long)json_integer_value(v);
}

/* Each line of a JSON-lines file, parsed; *n is set to the count. */
static json_t **load_lines(const char *tag, const char *ext, size_t *n)
{
	char name[64];
	snprintf(name, sizeof(name), "%s.%s", tag, ext);
	char *text = genrun_slurp(genrun_path(name), NULL);
	cr_assert_not_null(text, "cannot read %s", name);
	size_t cap = 16;
	json_t **v = malloc(cap * sizeof(*v));
	cr_assert_not_null(v);
	*n = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line)
			continue;
		json_error_t e;
		json_t *o = json_loads(line, 0, &e);
		cr_assert_not_null(o, "%s: not JSON (%s): %.120s", name, e.text, line);
		if (*n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			cr_assert_not_null(v);
		}
		v[(*n)++] = o;
	}
	free(text);
	return v;
}

static void free_lines(json_t **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(v[i]);
	free(v);
}

static const char *str_at(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	if (b)
		v = json_object_get(v, b);
	return json_is_string(v) ? json_string_value(v) : "";
}

/* Every alert of the clean run (kind, device, subject) is in the other. */
static void expect_alerts_kept(const char *clean, const char *attacked)
{
	size_t nc, na, kept = 0;
	json_t **c = load_lines(clean, "alerts", &nc), **a = load_lines(attacked, "alerts", &na);
	cr_assert_gt(nc, 0, "the clean run raised no alert: nothing to compare");
	for (size_t i = 0; i < nc; i++) {
		bool found = false;
		for (size_t j = 0; j < na && !found; j++)
			found = !strcmp(str_at(c[i], "kind", NULL), str_at(a[j], "kind", NULL)) &&
				!strcmp(str_at(c[i], "device", "mac"), str_at(a[j], "device", "mac")) &&
				!strcmp(str_at(c[i], "about", NULL), str_at(a[j], "about", NULL));
		cr_expect(found, "%s: alert %s about %s of %s is no longer raised", attacked, str_at(c[i], "kind", NULL),
			  str_at(c[i], "about", NULL), str_at(c[i], "device", "mac"));
		kept += found;
	}
	cr_assert_eq(kept, nc);
	free_lines(c, nc);
	free_lines(a, na);
}

/* Every profile of the clean run is in the other, the same. */
static void expect_profiles_kept(const char *clean, const char *attacked)
{
	size_t nc, na;
	json_t **c = load_lines(clean, "profiles", &nc), **a = load_lines(attacked, "profiles", &na);
	cr_assert_gt(nc, 0, "the clean run learned no profile");
	for (size_t i = 0; i < nc; i++) {
		const char *mac = str_at(c[i], "device", NULL);
		json_t *other = NULL;
		for (size_t j = 0; j < na && !other; j++)
			if (!strcmp(mac, str_at(a[j], "device", NULL)))
				other = a[j];
		cr_assert_not_null(other, "%s: the profile of %s is gone", attacked, mac);
		char *x = json_dumps(c[i], JSON_COMPACT | JSON_SORT_KEYS), *y = json_dumps(other, JSON_COMPACT | JSON_SORT_KEYS);
		cr_assert(x && y);
		cr_expect_str_eq(y, x, "%s: the profile of %s changed", attacked, mac);
		free(x);
		free(y);
	}
	free_lines(c, nc);
	free_lines(a, na);
}

static void write_config(const char *name, const char *yaml)
{
	FILE *f = fopen(genrun_path(name), "w");
	cr_assert_not_null(f);
	cr_assert_geq(fputs(yaml, f), 0);
	cr_assert_eq(fclose(f), 0);
}

/* ---- the generator ---- */

struct census {
	uint64_t records, before, first_us, last_us;
	bool ordered;
};

/* Records of a capture, and how many come before at_us. */
static struct census count_records(const char *path, uint64_t at_us)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	struct census c = {.ordered = true};
	pcap_t *p = pcap_open_offline(path, err);
	cr_assert_not_null(p, "%s: %s", path, err);
	while (pcap_next_ex(p, &h, &d) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * S + (uint64_t)h->ts.tv_usec;
		if (c.records++ == 0)
			c.first_us = ts;
		c.ordered &= ts >= c.last_us;
		c.last_us = ts;
		c.before += ts < at_us;
	}
	pcap_close(p);
	return c;
}

Test(hostile, the_attack_is_laid_over_the_demos_enforcement_hour_and_is_a_function_of_the_seed)
{
	struct census demo = count_records(DEMO, UINT64_MAX);
	/* Two hours of learning and a minute's margin. */
	uint64_t start = demo.first_us + 7200 * S + 60 * S;
	struct census base = count_records(DEMO, start);
	static const struct {
		const char *attack;
		uint64_t per; /* packets per unit of --count */
	} cases[] = {{"spoof", 1}, {"dnsflood", 1}, {"names", 5}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gen(cases[i].attack, "3000", "7", "a.pcap");
		gen(cases[i].attack, "3000", "7", "b.pcap");
		gen(cases[i].attack, "3000", "8", "c.pcap");
		cr_expect(genrun_same_file(genrun_path("a.pcap"), genrun_path("b.pcap")), "%s: same seed, different bytes",
			  cases[i].attack);
		cr_expect_not(genrun_same_file(genrun_path("a.pcap"), genrun_path("c.pcap")),
			      "%s: different seeds, same bytes", cases[i].attack);
		struct census c = count_records(genrun_path("a.pcap"), start);
		cr_expect(c.ordered, "%s: records out of time order", cases[i].attack);
		cr_expect_eq(c.records, demo.records + 3000 * cases[i].per, "%s: %llu records", cases[i].attack,
			     (unsigned long long)c.records);
		cr_expect_eq(c.before, base.before, "%s: the learning hours were changed", cases[i].attack);
		cr_expect_eq(c.first_us, demo.first_us);
		cr_expect_eq(c.last_us, demo.last_us, "%s: the attack ran past the demo's end", cases[i].attack);
	}
}

Test(hostile, without_a_base_the_bundled_demo_is_generated_from_the_seed)
{
	cr_assert_eq(genrun_run("hostile", "--attack", "dnsflood", "--count", "500", "--seed", "2026", "-o",
				genrun_path("own.pcap"), NULL),
		     0);
	gen("dnsflood", "500", "2026", "based.pcap");
	cr_expect(genrun_same_file(genrun_path("own.pcap"), genrun_path("based.pcap")),
		  "the demo made from --seed 2026 is not " DEMO);
}

Test(hostile, an_unknown_attack_or_a_base_without_a_router_is_refused)
{
	cr_expect_eq(genrun_run("hostile", "--attack", "smurf", "--seed", "1", "-o", genrun_path("x.pcap"), NULL), 2);
	cr_expect_eq(genrun_run("hostile", "--attack", "spoof", "--seed", "1", NULL), 2);
	/* A capture with no DHCP server reply: no router to route through. */
	cr_assert_eq(genrun_run("synflood", "--seed", "1", "--packets", "1000", "-o", genrun_path("s.pcap"), NULL), 0);
	cr_expect_eq(genrun_run("hostile", "--attack", "spoof", "--seed", "1", "--base", genrun_path("s.pcap"), "-o",
				genrun_path("x.pcap"), NULL),
		     1);
}

/* ---- replayed ---- */

Test(hostile, a_spoofing_flood_fills_the_tables_with_its_own_sources_and_the_real_devices_keep_theirs)
{
	const char *caps = "--max-flows 4096 --max-devices 64";
	gen("spoof", "200000", "2026", "spoof.pcap");
	cr_assert_eq(replay("clean", DEMO, caps), 0);
	cr_assert_eq(replay("spoof", genrun_path("spoof.pcap"), caps), 0, "the attacked replay failed");
	json_t *s = load_summary("spoof");
	cr_expect_gt(counter(s, "flows", "created"), 200000);
	cr_expect_gt(json_integer_value(json_object_get(json_object_get(json_object_get(s, "flows"), "ended"), "evicted")),
		     0, "no flow was evicted");
	cr_expect_gt(counter(s, "devices", "evicted"), 100000, "the spoofed sources were not evicted");
	json_decref(s);
	expect_alerts_kept("clean", "spoof");
	expect_profiles_kept("clean", "spoof");
}

Test(hostile, a_flood_of_dns_answers_to_made_up_hosts_churns_only_its_own_answers)
{
	write_config("small.yaml", "names:\n  max: 1024\n  dns_cache: 1024\n");
	char caps[512];
	snprintf(caps, sizeof(caps), "--max-devices 64 --config '%s'", genrun_path("small.yaml"));
	gen("dnsflood", "20000", "2026", "dnsflood.pcap");
	cr_assert_eq(replay("clean", DEMO, caps), 0);
	cr_assert_eq(replay("dnsflood", genrun_path("dnsflood.pcap"), caps), 0, "the attacked replay failed");
	json_t *s = load_summary("dnsflood");
	cr_expect_gt(counter(s, "devices", "evicted"), 0, "the made-up hosts were not evicted");
	cr_expect_gt(counter(s, "names", "dns_cache_evicted"), 0, "the DNS cache was not full");
	cr_expect_leq(counter(s, "names", "dns_cache_peak"), 1024);
	cr_expect_leq(counter(s, "names", "distinct_peak"), 1024);
	json_decref(s);
	expect_alerts_kept("clean", "dnsflood");
	expect_profiles_kept("clean", "dnsflood");
}

Test(hostile, a_host_resolving_twenty_thousand_names_is_held_below_the_name_tables_reserve)
{
	write_config("small.yaml", "names:\n  max: 2048\n");
	char caps[512];
	snprintf(caps, sizeof(caps), "--max-flows 4096 --config '%s'", genrun_path("small.yaml"));
	gen("names", "20000", "2026", "names.pcap");
	cr_assert_eq(replay("clean", DEMO, caps), 0);
	cr_assert_eq(replay("names", genrun_path("names.pcap"), caps), 0, "the attacked replay failed");
	json_t *s = load_summary("names");
	cr_expect_gt(counter(s, "names", "refused"), 0, "no name was refused");
	cr_expect_leq(counter(s, "names", "distinct_peak"), 2048);
	cr_expect_gt(counter(s, "names", "dns_cache_evicted"), 0);
	cr_expect_gt(json_integer_value(json_object_get(json_object_get(json_object_get(s, "flows"), "ended"), "evicted")),
		     0, "no flow was evicted");
	json_decref(s);
	expect_alerts_kept("clean", "names");
	expect_profiles_kept("clean", "names");
}

/* ---- the policies, table by table ---- */

TestSuite(hostile_tables);

static const uint8_t *mac_of(uint32_t n)
{
	static uint8_t m[4][6];
	static int i;
	i = (i + 1) % 4;
	uint8_t *p = m[i];
	p[0] = 0x02, p[1] = 0x00;
	p[2] = (uint8_t)(n >> 24), p[3] = (uint8_t)(n >> 16), p[4] = (uint8_t)(n >> 8), p[5] = (uint8_t)n;
	return p;
}

static struct dev_table *devices(uint32_t max)
{
	struct dev_table_cfg cfg = {.max_devices = max, .seed = 5};
	struct dev_table *t = dev_table_new(&cfg);
	cr_assert_not_null(t);
	return t;
}

/* A device that sends at t and again at t + 2 ms: settled. */
static struct device *settled_device(struct dev_table *t, uint32_t n, uint64_t t_us)
{
	struct device *d = dev_table_by_mac(t, mac_of(n), t_us, true);
	cr_assert_not_null(d);
	cr_assert_not(dev_table_sent(t, d, t_us));
	cr_assert(dev_table_sent(t, d, t_us + 2000));
	return d;
}

Test(hostile_tables, a_device_settles_when_it_sends_again_a_millisecond_after_it_was_first_seen)
{
	struct dev_table *t = devices(16);
	struct device *d = dev_table_by_mac(t, mac_of(1), 10 * S, true);
	cr_assert(d->fresh);
	cr_assert_not(dev_table_sent(t, d, 10 * S));
	cr_assert_not(dev_table_sent(t, d, 10 * S + DEV_SETTLE_US - 1));
	cr_assert(dev_table_sent(t, d, 10 * S + DEV_SETTLE_US), "not settled after DEV_SETTLE_US");
	cr_assert_not(d->fresh);
	cr_assert_not(dev_table_sent(t, d, 20 * S), "settled twice");
	cr_assert_eq(dev_table_stats(t)->settled, 1);
	dev_table_free(t);
}

Test(hostile_tables, a_flood_of_one_packet_sources_never_evicts_a_settled_device)
{
	struct dev_table *t = devices(16);
	struct device *a = settled_device(t, 1, 1 * S), *b = settled_device(t, 2, 1 * S);
	/* Sources seen once, each newer than a and b's last activity. */
	for (uint32_t i = 0; i < 1000; i++) {
		struct device *x = dev_table_by_mac(t, mac_of(100 + i), 5 * S + i, true);
		cr_assert_not_null(x);
		cr_assert_not(dev_table_sent(t, x, 5 * S + i));
	}
	const struct dev_stats *st = dev_table_stats(t);
	cr_expect_eq(st->evicted, 1000 - (16 - 2));
	cr_expect_eq(st->evicted_settled, 0);
	cr_expect_eq(dev_table_by_mac(t, mac_of(1), 6 * S, false), a);
	cr_expect_eq(dev_table_by_mac(t, mac_of(2), 6 * S, false), b);
	dev_table_free(t);
}

Test(hostile_tables, settled_devices_leave_an_eighth_of_the_table_to_newcomers)
{
	struct dev_table *t = devices(16);
	for (uint32_t i = 0; i < 16; i++)
		settled_device(t, i, (1 + i) * S);
	/* The reserve is 2: the first three newcomers each push out the least
	 * recently active settled device, then newcomers push out newcomers. */
	for (uint32_t i = 0; i < 5; i++)
		cr_assert_not_null(dev_table_by_mac(t, mac_of(100 + i), 50 * S + i, true));
	const struct dev_stats *st = dev_table_stats(t);
	cr_expect_eq(st->evicted, 5);
	cr_expect_eq(st->evicted_settled, 3);
	cr_expect_null(dev_table_by_mac(t, mac_of(0), 60 * S, false), "the least recently active settled device stayed");
	cr_expect_null(dev_table_by_mac(t, mac_of(2), 60 * S, false));
	cr_expect_not_null(dev_table_by_mac(t, mac_of(3), 60 * S, false));
	cr_expect_null(dev_table_by_mac(t, mac_of(100), 60 * S, false), "the oldest newcomer stayed");
	cr_expect_not_null(dev_table_by_mac(t, mac_of(104), 60 * S, false));
	dev_table_free(t);
}

static struct ip_addr addr_n(uint32_t n)
{
	struct ip_addr ip;
	char s[32];
	snprintf(s, sizeof(s), "198.51.%u.%u", (n >> 8) & 0xff, n & 0xff);
	cr_assert_eq(ip_parse(s, &ip), 0);
	return ip;
}

Test(hostile_tables, a_full_dns_cache_evicts_the_answers_of_fresh_devices_before_a_settled_devices)
{
	struct intern *names = intern_new(4096, 3);
	struct dns_cache *c = dnsc_new(64, 1024, names, 3);
	struct dev_table *t = devices(16);
	struct device *real = settled_device(t, 1, 1 * S);
	struct device *flood = dev_table_by_mac(t, mac_of(2), 2 * S, true);
	struct iname *n = intern_get(names, "api.example.com", 15);
	cr_assert(names && c && n);
	for (uint32_t i = 0; i < 10; i++) {
		struct ip_addr ip = addr_n(i);
		dnsc_add(c, real, &ip, n, NULL, 300, 1 * S);
	}
	for (uint32_t i = 0; i < 500; i++) {
		struct ip_addr ip = addr_n(1000 + i);
		dnsc_add(c, flood, &ip, n, NULL, 300, 3 * S);
	}
	const struct dnsc_stats *st = dnsc_stats(c);
	cr_expect_eq(st->evicted_total, 500 - (64 - 10));
	cr_expect_eq(st->evicted_settled, 0);
	for (uint32_t i = 0; i < 10; i++) {
		struct ip_addr ip = addr_n(i);
		struct iname *chain;
		cr_expect_eq(dnsc_lookup(c, real, &ip, 4 * S, false, &chain), n, "the real device lost answer %u", i);
	}
	dnsc_device_gone(c, real);
	dnsc_device_gone(c, flood);
	intern_put(names, n);
	dnsc_free(c);
	dev_table_free(t);
	cr_expect_eq(intern_stats(names)->names, 0, "names leaked");
	intern_free(names);
}

Test(hostile_tables, a_device_that_settles_brings_its_answers_over_and_fresh_ones_can_be_shed)
{
	struct intern *names = intern_new(4096, 3);
	struct dns_cache *c = dnsc_new(1024, 1024, names, 3);
	struct dev_table *t = devices(16);
	struct device *d = dev_table_by_mac(t, mac_of(1), 1 * S, true), *f = dev_table_by_mac(t, mac_of(2), 1 * S, true);
	struct iname *n = intern_get(names, "cloud.example.net", 17);
	for (uint32_t i = 0; i < 4; i++) {
		struct ip_addr a = addr_n(i), b = addr_n(100 + i);
		dnsc_add(c, d, &a, n, NULL, 300, 1 * S);
		dnsc_add(c, f, &b, n, NULL, 300, 1 * S);
	}
	cr_assert(dev_table_sent(t, d, 2 * S));
	dnsc_device_settled(c, d);
	/* Only f's four answers are a fresh device's now. */
	int shed = 0;
	while (dnsc_shed_fresh(c))
		shed++;
	cr_expect_eq(shed, 4);
	cr_expect_eq(f->dns.count, 0);
	cr_expect_eq(d->dns.count, 4);
	cr_expect_eq(dnsc_stats(c)->shed, 4);
	cr_expect_not(dnsc_heavy(c, d), "4 of 1024 answers is not heavy");
	dnsc_device_gone(c, d);
	intern_put(names, n);
	dnsc_free(c);
	dev_table_free(t);
	intern_free(names);
}

Test(hostile_tables, a_limited_caller_is_refused_past_seven_eighths_of_the_name_table_and_others_are_not)
{
	struct intern *t = intern_new(16, 9);
	struct iname *held[16];
	char s[16];
	for (int i = 0; i < 14; i++) {
		snprintf(s, sizeof(s), "n%d", i);
		held[i] = intern_get_limited(t, s, strlen(s));
		cr_assert_not_null(held[i], "refused below the high-water mark (%d names)", i);
	}
	cr_expect_not(intern_above_high_water(t));
	cr_expect_null(intern_get_limited(t, "n14", 3), "a limited caller passed the high-water mark");
	cr_expect_eq(intern_stats(t)->refused_limited, 1);
	struct iname *again = intern_get_limited(t, "n3", 2);
	cr_expect_eq(again, held[3], "an existing name must be shared with a limited caller");
	intern_put(t, again);
	held[14] = intern_get(t, "n14", 3);
	held[15] = intern_get(t, "n15", 3);
	cr_expect(held[14] && held[15], "the reserve is for unlimited callers");
	cr_expect(intern_above_high_water(t));
	cr_expect_null(intern_get(t, "n16", 3), "past the cap");
	for (int i = 0; i < 16; i++)
		intern_put(t, held[i]);
	intern_free(t);
}
