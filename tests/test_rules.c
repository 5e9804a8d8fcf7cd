/*
 * Tests for rules/rules.c: the loader (every error with file, line and
 * column; hostile files), each selector and destination matcher, scope,
 * expiry and hours in capture time, update windows, and reload.
 */
#include "features/text.h"
#include "rules/rules.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S 1000000ull
#define T0 (1772431200ull * S) /* 2026-03-02T06:00:00Z */

static char dir[64];
static char errors[8192];
static unsigned n_errors;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/iotids-rules-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	errors[0] = '\0';
	n_errors = 0;
}

static void teardown(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(rules, .init = setup, .fini = teardown);

static void collect(void *ctx, const char *msg)
{
	(void)ctx;
	n_errors++;
	size_t used = strlen(errors);
	snprintf(errors + used, sizeof(errors) - used, "%s\n", msg);
}

static const char *write_file(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	cr_assert_eq(fclose(f), 0);
	return path;
}

static struct rules *load_text(const char *text)
{
	return rules_load(write_file("r.yaml", text), collect, NULL);
}

static struct rules_engine *engine_of(const char *text)
{
	struct rules *rs = load_text(text);
	cr_assert_not_null(rs, "rules refused:\n%s", errors);
	struct rules_engine *e = rules_engine_new();
	cr_assert_not_null(e);
	rules_engine_set(e, rs);
	return e;
}

static const uint8_t MAC_A[6] = {0xd8, 0x1f, 0x12, 0x00, 0x00, 0x01};
static const uint8_t MAC_B[6] = {0xc0, 0x56, 0xe3, 0x00, 0x00, 0x02};

static struct rules_device device(const uint8_t mac[6], const char *vendor, const char *host, const char *kind)
{
	struct rules_device d = {.has_mac = mac != NULL, .vendor = vendor, .hostname = host, .kind = kind};
	if (mac)
		memcpy(d.mac, mac, 6);
	return d;
}

static void key_of(const struct rules_device *d, uint8_t key[16])
{
	memset(key, 0, 16);
	memcpy(key, d->mac, 6);
}

static struct rules_peer peer(const char *name, const char *ip, uint16_t port, uint8_t proto)
{
	struct rules_peer p = {.name = name, .port = port, .proto = proto, .name_from_dns = name != NULL};
	cr_assert_eq(ip_parse(ip, &p.ip), 0);
	p.lan = !strncmp(ip, "192.168.", 8);
	return p;
}

/* The rule that suppresses kind for d about p (NULL: no flow) at ts, or NULL. */
static const char *verdict(struct rules_engine *e, const struct rules_device *d, const char *kind,
			   const struct rules_peer *p, uint64_t ts)
{
	uint8_t key[16];
	key_of(d, key);
	return rules_engine_suppress(e, key, d, kind, p, ts);
}

static bool suppressed_to(struct rules_engine *e, const char *name)
{
	struct rules_device d = device(MAC_A, NULL, NULL, NULL);
	struct rules_peer p = peer(name, "203.0.113.9", 443, 6);
	return verdict(e, &d, "unexpected_destination", &p, T0) != NULL;
}

static const char *one_exception(const char *dest)
{
	static char text[512];
	snprintf(text, sizeof(text),
		 "exceptions:\n"
		 "  - name: x\n"
		 "    devices: all\n"
		 "    destinations: [\"%s\"]\n"
		 "    reason: test\n",
		 dest);
	return text;
}

Test(rules, a_file_with_every_section_loads_and_is_counted)
{
	struct rules *rs = load_text("# a comment\n"
				     "version: 1\n"
				     "updates:\n"
				     "  - name: tuya-fw\n"
				     "    devices: {vendor: \"Tuya*\"}\n"
				     "    hosts: [\"*.tuyacdn.com\", images.tuyaeu.com, 203.0.113.0/24]\n"
				     "    ports: [443, 80/tcp]\n"
				     "    window: 2h\n"
				     "    relearn: 24h\n"
				     "exceptions:\n"
				     "  - name: nas\n"
				     "    devices: [{mac: \"aa:bb:cc:dd:ee:ff\"}, {hostname: \"nas-*\"}]\n"
				     "    destinations: [domain:backup.example, controller:https://c.example/x, lan]\n"
				     "    ports: 8000-8100/tcp\n"
				     "    kinds: [volume_out, new_port]\n"
				     "    hours: \"22:00-06:00\"\n"
				     "    expires: 2027-01-01\n"
				     "    reason: nightly backup\n"
				     "controllers:\n"
				     "  \"https://c.example/x\": [192.168.1.10, 10.0.0.0/8]\n");
	cr_assert_not_null(rs, "%s", errors);
	size_t u, x;
	rules_count(rs, &u, &x);
	cr_assert_eq(u, 1);
	cr_assert_eq(x, 1);
	rules_free(rs);
}

Test(rules, an_empty_file_or_one_of_comments_holds_no_rules)
{
	const char *texts[] = {"", "# nothing yet\n", "updates:\nexceptions:\n"};
	for (size_t i = 0; i < 3; i++) {
		struct rules *rs = load_text(texts[i]);
		cr_assert_not_null(rs, "%s: %s", texts[i], errors);
		size_t u, x;
		rules_count(rs, &u, &x);
		cr_assert_eq(u + x, 0);
		rules_free(rs);
	}
}

Test(rules, every_error_is_reported_with_its_file_line_and_column)
{
	const char *path = write_file("bad.yaml", "updates:\n"
						  "  - name: a\n"
						  "    devices: all\n"
						  "    hots: [x.example]\n"
						  "exceptions:\n"
						  "  - name: b\n"
						  "    devices: {mac: 12}\n"
						  "    destinations: [10.0.0.1/8]\n"
						  "    ports: [70000]\n"
						  "    kinds: [spam]\n"
						  "    window: 2h\n"
						  "    reason: [1]\n");
	cr_assert_null(rules_load(path, collect, NULL));
	char want[8][200];
	snprintf(want[0], 200, "%s:4:5: updates: unknown key 'hots' (expected name, devices, hosts, ports, window, relearn, reason)", path);
	snprintf(want[1], 200, "%s:2:5: updates: a rule needs name, devices and hosts; this one has no hosts", path);
	snprintf(want[2], 200, "%s:7:20: mac: 12: expected six bytes, 'aa:bb:cc:dd:ee:ff'", path);
	snprintf(want[3], 200, "%s:8:20: destinations: 10.0.0.1/8 has host bits set (the network is 10.0.0.0/8)", path);
	snprintf(want[4], 200, "%s:9:13: ports: 70000: expected a port 1-65535", path);
	snprintf(want[5], 200, "%s:10:13: kinds: unknown alert kind 'spam' (one of unexpected_destination, ", path);
	snprintf(want[6], 200, "%s:11:5: exceptions: unknown key 'window' (expected name, devices, destinations,", path);
	snprintf(want[7], 200, "%s:12:13: reason: expected text, got a list", path);
	for (size_t i = 0; i < 8; i++)
		cr_expect(strstr(errors, want[i]) != NULL, "missing \"%s\" in:\n%s", want[i], errors);
	cr_assert_eq(n_errors, 8, "%s", errors);
}

Test(rules, a_star_label_matches_subdomains_and_nothing_that_only_looks_alike)
{
	struct rules_engine *e = engine_of(one_exception("*.example.com"));
	cr_expect(suppressed_to(e, "a.example.com"));
	cr_expect(suppressed_to(e, "a.b.example.com"));
	cr_expect(suppressed_to(e, "A.Example.COM."));
	cr_expect(!suppressed_to(e, "example.com"));
	cr_expect(!suppressed_to(e, "example.com.evil.net"));
	cr_expect(!suppressed_to(e, "badexample.com"));
	cr_expect(!suppressed_to(e, "a.badexample.com"));
	cr_expect(!suppressed_to(e, NULL));
	rules_engine_free(e);
}

Test(rules, an_inner_star_takes_exactly_one_label)
{
	struct rules_engine *e = engine_of(one_exception("ota.*.example.com"));
	cr_expect(suppressed_to(e, "ota.eu.example.com"));
	cr_expect(!suppressed_to(e, "ota.example.com"));
	cr_expect(!suppressed_to(e, "ota.a.b.example.com"));
	cr_expect(!suppressed_to(e, "x.ota.eu.example.com"));
	rules_engine_free(e);
}

Test(rules, an_exact_name_matches_only_itself_in_any_case)
{
	struct rules_engine *e = engine_of(one_exception("OTA.example.com"));
	cr_expect(suppressed_to(e, "ota.example.com"));
	cr_expect(suppressed_to(e, "ota.example.com."));
	cr_expect(!suppressed_to(e, "x.ota.example.com"));
	cr_expect(!suppressed_to(e, "example.com"));
	rules_engine_free(e);
}

Test(rules, a_domain_pattern_takes_the_domain_and_everything_under_it)
{
	struct rules_engine *e = engine_of(one_exception("domain:example.com"));
	cr_expect(suppressed_to(e, "example.com"));
	cr_expect(suppressed_to(e, "a.b.example.com"));
	cr_expect(!suppressed_to(e, "badexample.com"));
	cr_expect(!suppressed_to(e, "example.com.evil.net"));
	rules_engine_free(e);
}

Test(rules, an_address_prefix_matches_the_remote_address_named_or_not)
{
	struct rules_engine *e = engine_of(one_exception("198.51.100.0/24"));
	struct rules_device d = device(MAC_A, NULL, NULL, NULL);
	struct rules_peer in = peer("any.example", "198.51.100.77", 443, 6), out = peer(NULL, "198.51.101.1", 443, 6);
	cr_expect_not_null(verdict(e, &d, "new_port", &in, T0));
	cr_expect_null(verdict(e, &d, "new_port", &out, T0));
	rules_engine_free(e);
	e = engine_of(one_exception("2001:db8::/32"));
	struct rules_peer v6 = peer(NULL, "2001:db8:1::5", 443, 6);
	cr_expect_not_null(verdict(e, &d, "new_port", &v6, T0));
	rules_engine_free(e);
}

Test(rules, a_bad_pattern_is_refused_with_what_was_expected)
{
	const char *bad[] = {"fw-*.example.com", "a..b", "exa mple.com", "10.0.0.0/33", "lan.*", "*", "domain:*.x.com"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errors[0] = '\0';
		cr_expect_null(load_text(one_exception(bad[i])), "%s was accepted", bad[i]);
		cr_expect(strstr(errors, ":4:20: destinations: ") != NULL, "%s: %s", bad[i], errors);
	}
	errors[0] = '\0';
	cr_expect_null(load_text(one_exception("fw-*.example.com")));
	cr_expect(strstr(errors, "a '*' must be a whole label") != NULL, "%s", errors);
}

Test(rules, each_selector_picks_its_devices)
{
	struct rules_engine *e = engine_of("exceptions:\n"
					   "  - {name: by-mac, devices: {mac: \"D8:1F:12:00:00:01\"}, kinds: [scan], reason: r}\n"
					   "  - {name: by-oui, devices: {oui: c0:56:e3}, kinds: [flood], reason: r}\n"
					   "  - {name: by-vendor, devices: {vendor: \"tuya*\"}, kinds: [volume_in], reason: r}\n"
					   "  - {name: by-host, devices: {hostname: \"SmartPlug-????\"}, kinds: [volume_out], reason: r}\n"
					   "  - {name: by-kind, devices: {kind: camera}, kinds: [dns_anomaly], reason: r}\n"
					   "  - {name: by-all, devices: all, kinds: [heartbeat_missing], reason: r}\n");
	struct rules_device plug = device(MAC_A, "Tuya Smart Inc.", "SmartPlug-5B1E", "plug");
	struct rules_device cam = device(MAC_B, "Hangzhou Hikvision", "DS-2CD2143G2-I", "camera");
	struct rules_device nomac = device(NULL, NULL, "SmartPlug-0000", "camera");
	cr_expect_str_eq(verdict(e, &plug, "scan", NULL, T0), "by-mac");
	cr_expect_null(verdict(e, &cam, "scan", NULL, T0));
	cr_expect_str_eq(verdict(e, &cam, "flood", NULL, T0), "by-oui");
	cr_expect_null(verdict(e, &plug, "flood", NULL, T0));
	cr_expect_str_eq(verdict(e, &plug, "volume_in", NULL, T0), "by-vendor");
	cr_expect_null(verdict(e, &cam, "volume_in", NULL, T0));
	cr_expect_str_eq(verdict(e, &plug, "volume_out", NULL, T0), "by-host");
	cr_expect_null(verdict(e, &cam, "volume_out", NULL, T0));
	cr_expect_str_eq(verdict(e, &cam, "dns_anomaly", NULL, T0), "by-kind");
	cr_expect_null(verdict(e, &plug, "dns_anomaly", NULL, T0));
	cr_expect_str_eq(verdict(e, &plug, "heartbeat_missing", NULL, T0), "by-all");
	/* Without a MAC, only what does not need one can match. */
	cr_expect_null(verdict(e, &nomac, "scan", NULL, T0));
	cr_expect_null(verdict(e, &nomac, "flood", NULL, T0));
	cr_expect_str_eq(verdict(e, &nomac, "volume_out", NULL, T0), "by-host");
	cr_expect_str_eq(verdict(e, &nomac, "dns_anomaly", NULL, T0), "by-kind");
	rules_engine_free(e);
}

Test(rules, keys_of_one_selector_all_match_and_a_list_of_selectors_any)
{
	struct rules_engine *e = engine_of("exceptions:\n"
					   "  - name: both\n"
					   "    devices: {vendor: \"Tuya*\", hostname: \"lamp-*\"}\n"
					   "    kinds: [scan]\n"
					   "    reason: r\n"
					   "  - name: either\n"
					   "    devices: [{mac: \"c0:56:e3:00:00:02\"}, {kind: [tv, speaker]}]\n"
					   "    kinds: [flood]\n"
					   "    reason: r\n");
	struct rules_device lamp = device(MAC_A, "Tuya Smart Inc.", "lamp-1", "light");
	struct rules_device plug = device(MAC_A, "Tuya Smart Inc.", "plug-1", "plug");
	struct rules_device cam = device(MAC_B, NULL, NULL, NULL);
	struct rules_device tv = device(MAC_A, NULL, NULL, "tv");
	cr_expect_not_null(verdict(e, &lamp, "scan", NULL, T0));
	cr_expect_null(verdict(e, &plug, "scan", NULL, T0));
	cr_expect_not_null(verdict(e, &cam, "flood", NULL, T0));
	cr_expect_not_null(verdict(e, &tv, "flood", NULL, T0));
	cr_expect_null(verdict(e, &plug, "flood", NULL, T0));
	rules_engine_free(e);
}

Test(rules, an_unknown_device_kind_is_refused)
{
	cr_assert_null(load_text("exceptions:\n  - {name: k, devices: {kind: toaster}, reason: r}\n"));
	cr_expect(strstr(errors, "r.yaml:2:31: kind: unknown kind 'toaster' (one of ") != NULL, "%s", errors);
}

Test(rules, ports_match_by_number_range_and_transport)
{
	struct rules_engine *e = engine_of("exceptions:\n"
					   "  - {name: p, devices: all, ports: [53/udp, 443, 8000-8100/tcp], reason: r}\n");
	struct rules_device d = device(MAC_A, NULL, NULL, NULL);
	struct {
		uint16_t port;
		uint8_t proto;
		bool hit;
	} cases[] = {{53, 17, true}, {53, 6, false}, {443, 6, true}, {443, 17, true}, {8000, 6, true},
		     {8100, 6, true}, {8101, 6, false}, {8050, 17, false}, {444, 6, false}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rules_peer p = peer("x.example", "203.0.113.1", cases[i].port, cases[i].proto);
		cr_expect_eq(verdict(e, &d, "new_port", &p, T0) != NULL, cases[i].hit, "%u/%u", cases[i].port,
			     cases[i].proto);
	}
	rules_engine_free(e);
}

Test(rules, an_exception_never_widens_beyond_its_device_peer_port_and_kind)
{
	struct rules_engine *e = engine_of("exceptions:\n"
					   "  - name: cam-nas\n"
					   "    devices: {mac: \"c0:56:e3:00:00:02\"}\n"
					   "    destinations: [nas.example]\n"
					   "    ports: [443/tcp]\n"
					   "    kinds: [unexpected_destination]\n"
					   "    reason: the camera backs up to the NAS\n");
	struct rules_device cam = device(MAC_B, NULL, NULL, NULL), plug = device(MAC_A, NULL, NULL, NULL);
	struct rules_peer nas = peer("nas.example", "203.0.113.7", 443, 6);
	struct rules_peer other = peer("other.example", "203.0.113.7", 443, 6);
	struct rules_peer port = peer("nas.example", "203.0.113.7", 8443, 6);
	cr_expect_str_eq(verdict(e, &cam, "unexpected_destination", &nas, T0), "cam-nas");
	cr_expect_null(verdict(e, &plug, "unexpected_destination", &nas, T0));
	cr_expect_null(verdict(e, &cam, "unexpected_destination", &other, T0));
	cr_expect_null(verdict(e, &cam, "unexpected_destination", &port, T0));
	cr_expect_null(verdict(e, &cam, "new_port", &nas, T0));
	/* An exception with destinations says nothing about alerts on no flow. */
	cr_expect_null(verdict(e, &cam, "unexpected_destination", NULL, T0));
	rules_engine_free(e);
}

Test(rules, an_exception_expires_in_capture_time)
{
	struct rules_engine *e = engine_of("exceptions:\n"
					   "  - {name: e, devices: all, kinds: [scan], expires: \"2026-03-02T07:00:00Z\", reason: r}\n");
	struct rules_device d = device(MAC_A, NULL, NULL, NULL);
	cr_expect_not_null(verdict(e, &d, "scan", NULL, T0));
	cr_expect_not_null(verdict(e, &d, "scan", NULL, T0 + 3599 * S));
	cr_expect_null(verdict(e, &d, "scan", NULL, T0 + 3600 * S));
	rules_engine_free(e);
}

Test(rules, an_expiry_on_a_day_that_does_not_exist_is_refused)
{
	cr_expect_null(load_text("exceptions:\n  - {name: e, devices: all, expires: 2027-02-30, reason: r}\n"));
	cr_expect(strstr(errors, "r.yaml:2:38: expires: 2027-02-30: expected an RFC 3339 UTC time") != NULL, "%s",
		  errors);
}

Test(rules, hours_hold_from_start_to_end_and_may_wrap_midnight)
{
	struct rules_engine *e = engine_of("exceptions:\n"
					   "  - {name: night, devices: all, kinds: [volume_out], hours: \"22:00-06:00\", reason: r}\n"
					   "  - {name: day, devices: all, kinds: [flood], hours: \"09:30-17:00\", reason: r}\n");
	struct rules_device d = device(MAC_A, NULL, NULL, NULL);
	uint64_t midnight = T0 - 6 * 3600 * S;
	cr_expect_not_null(verdict(e, &d, "volume_out", NULL, midnight + 23 * 3600 * S));
	cr_expect_not_null(verdict(e, &d, "volume_out", NULL, midnight + 5 * 3600 * S + 59 * 60 * S));
	cr_expect_null(verdict(e, &d, "volume_out", NULL, midnight + 6 * 3600 * S));
	cr_expect_null(verdict(e, &d, "volume_out", NULL, midnight + 12 * 3600 * S));
	cr_expect_not_null(verdict(e, &d, "volume_out", NULL, midnight + 22 * 3600 * S));
	cr_expect_null(verdict(e, &d, "flood", NULL, midnight + 9 * 3600 * S + 29 * 60 * S));
	cr_expect_not_null(verdict(e, &d, "flood", NULL, midnight + 9 * 3600 * S + 30 * 60 * S));
	cr_expect_null(verdict(e, &d, "flood", NULL, midnight + 17 * 3600 * S));
	rules_engine_free(e);
}

static const char update_rule[] = "updates:\n"
				  "  - name: plug-fw\n"
				  "    devices: {vendor: \"Tuya*\"}\n"
				  "    hosts: [\"*.tuyacdn.com\"]\n"
				  "    ports: [443]\n"
				  "    window: 1h\n"
				  "    relearn: 24h\n";

Test(rules, an_update_host_is_never_an_unexpected_destination_for_its_devices)
{
	struct rules_engine *e = engine_of(update_rule);
	struct rules_device plug = device(MAC_A, "Tuya Smart Inc.", NULL, NULL);
	struct rules_device cam = device(MAC_B, "Hikvision", NULL, NULL);
	struct rules_peer cdn = peer("fw.eu.tuyacdn.com", "203.0.113.20", 443, 6);
	struct rules_peer cdn80 = peer("fw.eu.tuyacdn.com", "203.0.113.20", 80, 6);
	cr_expect_str_eq(verdict(e, &plug, "unexpected_destination", &cdn, T0), "plug-fw");
	cr_expect_str_eq(verdict(e, &plug, "new_port", &cdn, T0 + 30 * 86400 * S), "plug-fw");
	cr_expect_null(verdict(e, &plug, "unexpected_destination", &cdn80, T0));
	cr_expect_null(verdict(e, &cam, "unexpected_destination", &cdn, T0));
	/* Nothing else of it: a flood to the CDN is still a flood. */
	cr_expect_null(verdict(e, &plug, "flood", &cdn, T0));
	rules_engine_free(e);
}

Test(rules, an_update_host_named_only_by_the_device_itself_opens_nothing)
{
	struct rules_engine *e = engine_of(update_rule);
	struct rules_device plug = device(MAC_A, "Tuya Smart Inc.", NULL, NULL);
	/* TLS SNI or HTTP Host: the device's own claim, for any address. */
	struct rules_peer sni = peer("fw.eu.tuyacdn.com", "198.51.100.66", 443, 6);
	sni.name_from_dns = false;
	uint8_t key[16];
	struct rules_update up;
	key_of(&plug, key);
	cr_expect(!rules_engine_flow(e, key, &plug, &sni, T0, &up));
	cr_expect_null(verdict(e, &plug, "unexpected_destination", &sni, T0));
	rules_engine_free(e);
	/* An exception is the person's own scope: it takes the name as named. */
	e = engine_of(one_exception("fw.eu.tuyacdn.com"));
	cr_expect_not_null(verdict(e, &plug, "unexpected_destination", &sni, T0));
	rules_engine_free(e);
}

Test(rules, a_selector_repeating_a_key_is_one_error_however_often)
{
	char *text = malloc(200000);
	cr_assert_not_null(text);
	size_t n = (size_t)snprintf(text, 200000, "exceptions:\n  - name: x\n    reason: r\n    devices:\n");
	for (int i = 0; i < 4000; i++)
		n += (size_t)snprintf(text + n, 200000 - n, "      mac: \"aa:bb:cc:dd:ee:ff\"\n");
	cr_expect_null(load_text(text));
	cr_expect_eq(n_errors, 1, "%s", errors);
	cr_expect(strstr(errors, "devices: more than the 5 keys a selector has") != NULL, "%s", errors);
	free(text);
}

Test(rules, a_fifo_in_a_rules_directory_is_refused_not_waited_on)
{
	char fifo[128];
	snprintf(fifo, sizeof(fifo), "%s/x.yaml", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_expect_null(rules_load(dir, collect, NULL));
	cr_expect(strstr(errors, "x.yaml: not a regular file") != NULL, "%s", errors);
}

Test(rules, a_contact_opens_a_time_boxed_window_that_suppresses_the_download_only)
{
	struct rules_engine *e = engine_of(update_rule);
	struct rules_device plug = device(MAC_A, "Tuya Smart Inc.", NULL, NULL);
	struct rules_device lamp = device(MAC_B, "Tuya Smart Inc.", NULL, NULL);
	struct rules_peer cdn = peer("fw.eu.tuyacdn.com", "203.0.113.20", 443, 6);
	struct rules_peer api = peer("a1.tuyaeu.com", "203.0.113.21", 443, 6);
	uint8_t key[16];
	struct rules_update up;
	key_of(&plug, key);
	cr_expect_null(verdict(e, &plug, "volume_in", NULL, T0));
	cr_assert(!rules_engine_update_host(e, &api));
	cr_assert(rules_engine_update_host(e, &cdn));
	cr_assert(!rules_engine_flow(e, key, &plug, &api, T0, &up));
	cr_assert(rules_engine_flow(e, key, &plug, &cdn, T0, &up));
	cr_expect_str_eq(up.rule, "plug-fw");
	cr_expect_eq(up.start_us, T0);
	cr_expect_eq(up.end_us, T0 + 3600 * S);
	cr_expect_eq(up.relearn_us, 86400 * S);
	/* Open: more contacts do not reopen or stretch it. */
	cr_expect(!rules_engine_flow(e, key, &plug, &cdn, T0 + 600 * S, &up));
	cr_expect_str_eq(verdict(e, &plug, "volume_in", NULL, T0 + 1800 * S), "plug-fw");
	cr_expect_null(verdict(e, &plug, "volume_out", NULL, T0 + 1800 * S));
	cr_expect_null(verdict(e, &lamp, "volume_in", NULL, T0 + 1800 * S));
	cr_expect_null(verdict(e, &plug, "volume_in", NULL, T0 + 3600 * S));
	/* The next update opens the next window. */
	cr_expect(rules_engine_flow(e, key, &plug, &cdn, T0 + 86400 * S, &up));
	cr_expect_eq(up.start_us, T0 + 86400 * S);
	cr_expect_not_null(verdict(e, &plug, "volume_in", NULL, T0 + 86400 * S + 60 * S));
	struct rules_stat st;
	cr_assert(rules_engine_stat(e, 0, &st));
	cr_expect_eq(st.windows, 2);
	rules_engine_free(e);
}

Test(rules, a_reload_that_fails_keeps_the_rules_in_force_and_windows_and_counts_survive_one_that_works)
{
	struct rules_engine *e = engine_of(update_rule);
	struct rules_device plug = device(MAC_A, "Tuya Smart Inc.", NULL, NULL);
	struct rules_peer cdn = peer("fw.eu.tuyacdn.com", "203.0.113.20", 443, 6);
	uint8_t key[16];
	struct rules_update up;
	key_of(&plug, key);
	cr_assert(rules_engine_flow(e, key, &plug, &cdn, T0, &up));
	rules_engine_record(e, "plug-fw");
	cr_assert_null(load_text("updates:\n  - name: plug-fw\n    devices: all\n    hosts: [\"*.tuyacdn.com\n"));
	cr_expect(strstr(errors, "r.yaml:") != NULL, "%s", errors);
	cr_expect_str_eq(verdict(e, &plug, "unexpected_destination", &cdn, T0), "plug-fw");
	struct rules *rs = load_text("updates:\n"
				     "  - {name: plug-fw, devices: all, hosts: [\"*.tuyacdn.com\"]}\n"
				     "exceptions:\n"
				     "  - {name: quiet, devices: all, kinds: [scan], reason: r}\n");
	cr_assert_not_null(rs, "%s", errors);
	rules_engine_set(e, rs);
	cr_expect_str_eq(verdict(e, &plug, "volume_in", NULL, T0 + 60 * S), "plug-fw");
	cr_expect_str_eq(verdict(e, &plug, "scan", NULL, T0), "quiet");
	struct rules_stat st;
	cr_assert(rules_engine_stat(e, 0, &st));
	cr_expect_eq(st.suppressed, 1);
	cr_expect_eq(st.windows, 1);
	rules_engine_free(e);
}

Test(rules, a_controller_pattern_takes_the_addresses_listed_for_it)
{
	struct rules_engine *e = engine_of("exceptions:\n"
					   "  - name: ctl\n"
					   "    devices: all\n"
					   "    destinations: [\"controller:https://hub.example/ctl\"]\n"
					   "    reason: r\n"
					   "controllers:\n"
					   "  \"https://hub.example/ctl\": [192.168.1.10]\n");
	struct rules_device d = device(MAC_A, NULL, NULL, NULL);
	struct rules_peer hub = peer(NULL, "192.168.1.10", 8080, 6), other = peer(NULL, "192.168.1.11", 8080, 6);
	cr_expect_not_null(verdict(e, &d, "new_lan_peer", &hub, T0));
	cr_expect_null(verdict(e, &d, "new_lan_peer", &other, T0));
	rules_engine_free(e);
	cr_expect_null(load_text(one_exception("controller:https://nowhere.example")));
	cr_expect(strstr(errors, "r.yaml:4:20: destinations: controller https://nowhere.example is not listed") != NULL,
		  "%s", errors);
}

Test(rules, lan_takes_lan_addresses_only)
{
	struct rules_engine *e = engine_of(one_exception("lan"));
	struct rules_device d = device(MAC_A, NULL, NULL, NULL);
	struct rules_peer lan = peer(NULL, "192.168.1.20", 22, 6), wan = peer(NULL, "203.0.113.1", 22, 6);
	cr_expect_not_null(verdict(e, &d, "new_lan_peer", &lan, T0));
	cr_expect_null(verdict(e, &d, "new_lan_peer", &wan, T0));
	rules_engine_free(e);
}

Test(rules, a_directory_is_read_in_name_order_and_names_are_unique_across_its_files)
{
	write_file("20-b.yaml", "exceptions:\n  - {name: second, devices: all, kinds: [scan], reason: r}\n");
	write_file("10-a.yml", "exceptions:\n  - {name: first, devices: all, kinds: [scan], reason: r}\n");
	write_file("notes.txt", "not yaml: [");
	struct rules *rs = rules_load(dir, collect, NULL);
	cr_assert_not_null(rs, "%s", errors);
	struct rules_engine *e = rules_engine_new();
	rules_engine_set(e, rs);
	struct rules_device d = device(MAC_A, NULL, NULL, NULL);
	cr_expect_str_eq(verdict(e, &d, "scan", NULL, T0), "first");
	rules_engine_free(e);
	const char *dup = write_file("30-c.yaml", "exceptions:\n  - {name: first, devices: all, reason: r}\n");
	cr_expect_null(rules_load(dir, collect, NULL));
	char want[300];
	snprintf(want, sizeof(want), "%s:2:6: name: 'first' is already the name of a rule (%s/10-a.yml:2:5)", dup, dir);
	cr_expect(strstr(errors, want) != NULL, "want %s in:\n%s", want, errors);
}

Test(rules, yaml_anchors_aliases_tags_and_second_documents_are_refused)
{
	const char *bad[] = {
		"exceptions:\n  - &a {name: x, devices: all, reason: r}\n  - *a\n",
		"exceptions: !!seq []\n",
		"exceptions: []\n---\nupdates: []\n",
	};
	const char *why[] = {"anchors and aliases are not supported", "tags are not supported",
			     "one YAML document per file"};
	for (size_t i = 0; i < 3; i++) {
		errors[0] = '\0';
		cr_expect_null(load_text(bad[i]));
		cr_expect(strstr(errors, why[i]) != NULL, "%s", errors);
	}
}

Test(rules, wrong_types_and_unknown_top_level_keys_are_errors)
{
	cr_expect_null(load_text("updates: {name: x}\nrules: []\nversion: 2\n"));
	cr_expect(strstr(errors, "r.yaml:1:10: updates: expected a list of rules, got a mapping") != NULL, "%s", errors);
	cr_expect(strstr(errors, "r.yaml:2:1: unknown key 'rules'") != NULL, "%s", errors);
	cr_expect(strstr(errors, "r.yaml:3:10: version: expected 1, got '2'") != NULL, "%s", errors);
	errors[0] = '\0';
	cr_expect_null(load_text("- just\n- a list\n"));
	cr_expect(strstr(errors, "r.yaml:1:1: expected a mapping") != NULL, "%s", errors);
}

Test(rules, deeply_nested_yaml_stops_at_the_depth_limit)
{
	size_t n = 100000;
	char *text = malloc(2 * n + 16);
	cr_assert_not_null(text);
	memcpy(text, "updates: ", 9);
	memset(text + 9, '[', n);
	memset(text + 9 + n, ']', n);
	text[9 + 2 * n] = '\0';
	cr_expect_null(load_text(text));
	cr_expect(strstr(errors, "nested deeper than 16 levels") != NULL, "%s", errors);
	free(text);
}

Test(rules, a_hostile_value_is_quoted_in_an_error_as_safe_text)
{
	/* C1 NEL, a line separator and a right-to-left override: a terminal
	 * acts on each (found by fuzz_rules). */
	cr_assert_null(load_text("version: 1\nupdates: \"a\xc2\x85" "b\xe2\x80\xa8" "c\xe2\x80\xae" "d\\\\e\"\n"));
	cr_assert_eq(n_errors, 1, "%s", errors);
	char line[sizeof(errors)];
	snprintf(line, sizeof(line), "%s", errors);
	line[strcspn(line, "\n")] = '\0';
	cr_assert(text_is_safe(line), "%s", errors);
	/* YAML folds the NEL of a quoted scalar into a space. */
	cr_assert_not_null(strstr(errors, "'a b\\xe2\\x80\\xa8" "c\\xe2\\x80\\xae" "d\\x5ce'"), "%s", errors);
}

Test(rules, ten_megabytes_of_garbage_are_refused_whole_and_a_megabyte_is_a_parse_error)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < 10u << 20; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		fputc((int)(x & 0xff), f);
	}
	cr_assert_eq(fclose(f), 0);
	cr_expect_null(rules_load(path, collect, NULL));
	cr_expect(strstr(errors, "larger than 4194304 bytes") != NULL, "%s", errors);
	cr_assert_eq(truncate(path, 1 << 20), 0);
	errors[0] = '\0';
	n_errors = 0;
	cr_expect_null(rules_load(path, collect, NULL));
	cr_expect_eq(n_errors, 1, "%s", errors);
	cr_expect(strncmp(errors, path, strlen(path)) == 0 && errors[strlen(path)] == ':', "%s", errors);
}

Test(rules, a_missing_path_says_so)
{
	cr_expect_null(rules_load("/nonexistent/rules.yaml", collect, NULL));
	cr_expect_str_eq(errors, "/nonexistent/rules.yaml: cannot read: No such file or directory\n");
}
