/*
 * End-to-end tests of `iotids replay`: the binary under test is
 * $IOTIDS_BIN and the generator $IOTGEN_BIN (make test sets both). Golden
 * cases are listed in one table, tests/golden/TESTLIST: expected output file
 * and arguments. `make golden` rewrites the expected files from it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/genrun.h"

#define DEMO "pcaps/demo.pcap"

#define TESTLIST "tests/golden/TESTLIST"

struct run {
	char *out;
	size_t out_len;
	char *err;
	int status;
};

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/iotids-replay-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(replay, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 300);

static const char *bin(const char *var)
{
	const char *b = getenv(var);
	cr_assert_not_null(b, "%s is not set; run the tests through make test", var);
	return b;
}

/* Runs "$IOTIDS_BIN args" through the shell with stdout and stderr kept. */
static struct run run_iotids(const char *args)
{
	char cmd[4096], out[128], err[128];
	struct run r = {0};
	snprintf(out, sizeof(out), "%s/stdout", tmpdir);
	snprintf(err, sizeof(err), "%s/stderr", tmpdir);
	snprintf(cmd, sizeof(cmd), "TZ=UTC '%s' %s >'%s' 2>'%s'", bin("IOTIDS_BIN"), args, out, err);
	int st = system(cmd);
	cr_assert(WIFEXITED(st), "iotids did not exit normally: %s", cmd);
	r.status = WEXITSTATUS(st);
	r.out = genrun_slurp(out, &r.out_len);
	r.err = genrun_slurp(err, NULL);
	cr_assert(r.out && r.err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void gen(const char *args)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "'%s' %s >/dev/null", bin("IOTGEN_BIN"), args);
	cr_assert_eq(system(cmd), 0, "generator failed: %s", cmd);
}

static json_t *parse_json_line(const char *line)
{
	json_error_t e;
	json_t *o = json_loads(line, JSON_DISABLE_EOF_CHECK, &e);
	cr_assert_not_null(o, "not JSON (%s): %.200s", e.text, line);
	return o;
}

Test(replay, every_golden_case_prints_its_expected_file)
{
	FILE *list = fopen(TESTLIST, "r");
	cr_assert_not_null(list, "%s: %s", TESTLIST, strerror(errno));
	char line[512];
	int cases = 0;
	while (fgets(line, sizeof(line), list)) {
		char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
		if (line[0] == '#' || !tab)
			continue;
		*tab = '\0';
		if (nl)
			*nl = '\0';
		char expected[600];
		snprintf(expected, sizeof(expected), "tests/golden/%s", line);
		struct run r = run_iotids(tab + 1);
		size_t n = 0;
		char *want = genrun_slurp(expected, &n);
		cr_assert_not_null(want, "missing %s (make golden writes it)", expected);
		cr_expect_eq(r.status, 0, "%s: exit %d: %s", tab + 1, r.status, r.err);
		cr_expect(n == r.out_len && memcmp(want, r.out, n) == 0, "iotids %s differs from %s; got:\n%s", tab + 1,
			  expected, r.out);
		free(want);
		run_free(&r);
		cases++;
	}
	fclose(list);
	cr_expect_geq(cases, 3);
}

Test(replay, the_demo_capture_is_regenerated_byte_for_byte_from_its_seed)
{
	char path[128], cmd[256];
	snprintf(path, sizeof(path), "%s/demo.pcap", tmpdir);
	snprintf(cmd, sizeof(cmd), "demo --seed 2026 -o '%s'", path);
	gen(cmd);
	size_t a = 0, b = 0;
	char *x = genrun_slurp(DEMO, &a), *y = genrun_slurp(path, &b);
	cr_assert(x && y);
	cr_expect(a == b && memcmp(x, y, a) == 0, "pcaps/demo.pcap is not what 'iotgen demo --seed 2026' writes");
	free(x);
	free(y);
}

Test(replay, two_replays_of_the_same_capture_print_the_same_bytes)
{
	struct run a = run_iotids("replay --flows --windows --devices --json " DEMO);
	struct run b = run_iotids("replay --flows --windows --devices --json " DEMO);
	cr_assert_eq(a.status, 0, "%s", a.err);
	cr_assert_gt(a.out_len, 1000);
	cr_expect(a.out_len == b.out_len && memcmp(a.out, b.out, a.out_len) == 0);
	run_free(&a);
	run_free(&b);
}

Test(replay, json_objects_carry_the_contract_fields)
{
	struct run r = run_iotids("replay --flows --devices --windows --json " DEMO);
	cr_assert_eq(r.status, 0, "%s", r.err);
	size_t flows = 0, devices = 0, windows = 0, named_remotes = 0;
	for (char *line = r.out, *eol; *line; line = eol + 1) {
		eol = strchr(line, '\n');
		cr_assert_not_null(eol, "output does not end with a newline");
		*eol = '\0';
		json_t *o = parse_json_line(line);
		const char *type = json_string_value(json_object_get(o, "type"));
		cr_assert_not_null(type);
		if (!strcmp(type, "flow")) {
			static const char *const keys[] = {"src",   "dst",	  "sport", "dport", "transport",
							   "packets", "bytes", "device", "l7",    "name"};
			for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
				cr_assert(json_object_get(o, keys[k]), "flow lacks %s: %s", keys[k], line);
			cr_assert(json_integer_value(json_object_get(o, "packets")) > 0);
			flows++;
		} else if (!strcmp(type, "device")) {
			const char *mac = json_string_value(json_object_get(o, "mac"));
			cr_assert_not_null(mac, "device without a MAC in an Ethernet capture: %s", line);
			cr_assert_eq(strlen(mac), 17);
			for (int i = 0; i < 17; i++)
				cr_assert(i % 3 == 2 ? mac[i] == ':' : (mac[i] >= '0' && mac[i] <= '9') || (mac[i] >= 'a' && mac[i] <= 'f'),
					  "MAC not lower-case colon form: %s", mac);
			cr_assert(json_is_array(json_object_get(o, "ips")));
			cr_assert(json_object_get(o, "vendor") && json_object_get(o, "hostname"), "%s", line);
			cr_assert(json_is_boolean(json_object_get(o, "randomized_mac")), "%s", line);
			json_t *ev = json_object_get(o, "evidence"), *e;
			size_t k;
			cr_assert(json_is_array(ev), "%s", line);
			json_array_foreach(ev, k, e)
			{
				cr_assert(json_is_string(json_object_get(e, "source")) &&
						  json_is_string(json_object_get(e, "value")) &&
						  json_is_string(json_object_get(e, "first_seen")),
					  "evidence without source, value, first_seen: %s", line);
			}
			devices++;
		} else if (!strcmp(type, "window")) {
			json_t *rs = json_object_get(o, "remotes"), *x;
			size_t k;
			cr_assert(json_is_array(rs));
			json_array_foreach(rs, k, x)
			{
				const char *dest = json_string_value(json_object_get(x, "destination"));
				const char *name = json_string_value(json_object_get(x, "name"));
				cr_assert_not_null(dest, "remote without a destination: %s", line);
				if (name) {
					cr_assert_str_eq(dest, name, "a named remote's destination is its name");
					named_remotes++;
				} else {
					cr_assert(strchr(dest, '/'), "an unnamed destination is a folded prefix: %s", dest);
				}
			}
			windows++;
		} else {
			cr_assert_fail("unexpected type %s", type);
		}
		json_decref(o);
	}
	cr_expect_gt(flows, 100);
	cr_expect_geq(devices, 6);
	cr_expect_gt(windows, 100);
	cr_expect_gt(named_remotes, 50);
	run_free(&r);
}

/* The demo's home without its attacks, and the generator's ground truth for
 * it (iotgen home --seed 2026: the demo's first two hours). */
static json_t *home_manifest(char *pcap, size_t len)
{
	char path[128], cmd[256];
	snprintf(path, sizeof(path), "%s/home.json", tmpdir);
	snprintf(pcap, len, "%s/home.pcap", tmpdir);
	snprintf(cmd, sizeof(cmd), "home --seed 2026 -o '%s' --manifest '%s'", pcap, path);
	gen(cmd);
	json_error_t e;
	json_t *man = json_load_file(path, 0, &e);
	cr_assert_not_null(man, "%s", e.text);
	return man;
}

static struct run run_on(const char *args, const char *pcap)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s '%s'", args, pcap);
	return run_iotids(cmd);
}

Test(replay, every_device_of_the_home_manifest_is_found_with_its_address)
{
	char home[128];
	json_t *man = home_manifest(home, sizeof(home));
	struct run r = run_on("replay --devices --json", home);
	cr_assert_eq(r.status, 0);
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(man, "devices"), i, d)
	{
		const char *mac = json_string_value(json_object_get(d, "mac"));
		const char *ip = json_string_value(json_object_get(d, "ipv4"));
		cr_assert(mac && ip);
		char needle[128];
		snprintf(needle, sizeof(needle), "\"mac\":\"%s\",\"ips\":[", mac);
		char *at = strstr(r.out, needle);
		cr_expect_not_null(at, "device %s missing from --devices", mac);
		if (!at)
			continue;
		char *eol = strchr(at, '\n');
		char quoted[64];
		snprintf(quoted, sizeof(quoted), "\"%s\"", ip);
		char *hit = strstr(at, quoted);
		cr_expect(hit && (!eol || hit < eol), "device %s lacks its address %s", mac, ip);
	}
	json_decref(man);
	run_free(&r);
}

/* Every JSON line of a run's output, as one array. */
static json_t *json_lines(char *out)
{
	json_t *all = json_array();
	for (char *line = out, *eol; *line; line = eol + 1) {
		eol = strchr(line, '\n');
		cr_assert_not_null(eol);
		*eol = '\0';
		json_array_append_new(all, parse_json_line(line));
	}
	return all;
}

static json_t *by_key(json_t *objs, const char *key, const char *value)
{
	size_t i;
	json_t *o;
	json_array_foreach(objs, i, o)
	{
		const char *v = json_string_value(json_object_get(o, key));
		if (v && !strcmp(v, value))
			return o;
	}
	return NULL;
}

static bool has_evidence(json_t *dev, const char *source, const char *value)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(dev, "evidence"), i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "source")), source) &&
		    (!value || !strcmp(json_string_value(json_object_get(e, "value")), value)))
			return true;
	}
	return false;
}

Test(replay, every_home_device_has_the_vendor_and_hostname_the_generator_gave_it)
{
	char home[128];
	json_t *man = home_manifest(home, sizeof(home));
	struct run r = run_on("replay --devices --json", home);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *devs = json_lines(r.out);
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(man, "devices"), i, m)
	{
		const char *mac = json_string_value(json_object_get(m, "mac"));
		json_t *d = by_key(devs, "mac", mac);
		cr_assert_not_null(d, "device %s missing", mac);
		json_t *want_vendor = json_object_get(m, "vendor");
		json_t *got_vendor = json_object_get(d, "vendor");
		cr_expect(json_equal(want_vendor, got_vendor), "%s: vendor %s, generator gave %s", mac,
			  json_string_value(got_vendor) ? json_string_value(got_vendor) : "null",
			  json_string_value(want_vendor) ? json_string_value(want_vendor) : "null");
		const char *host = json_string_value(json_object_get(m, "hostname"));
		cr_expect_str_eq(json_string_value(json_object_get(d, "hostname")), host, "%s", mac);
		cr_expect(json_equal(json_object_get(m, "randomized_mac"), json_object_get(d, "randomized_mac")), "%s",
			  mac);
		cr_expect(has_evidence(d, "dhcp_hostname", host), "%s: no DHCP hostname evidence", mac);
		const char *vc = json_string_value(json_object_get(m, "vendor_class"));
		if (vc)
			cr_expect(has_evidence(d, "dhcp_vendor_class", vc), "%s: no vendor class %s", mac, vc);
		cr_expect(has_evidence(d, "dhcp_fingerprint", NULL), "%s: no DHCP fingerprint", mac);
	}
	json_decref(devs);
	json_decref(man);
	run_free(&r);
}

Test(replay, every_cloud_flow_of_the_home_has_a_name_the_generator_used)
{
	char home[128];
	json_t *man = home_manifest(home, sizeof(home));
	struct run r = run_on("replay --flows --json", home);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *flows = json_lines(r.out);
	size_t i, cloud = 0;
	json_t *f;
	json_array_foreach(flows, i, f)
	{
		if (strcmp(json_string_value(json_object_get(f, "direction")), "outbound") != 0)
			continue;
		cloud++;
		const char *dev = json_string_value(json_object_get(f, "device"));
		const char *name = json_string_value(json_object_get(f, "name"));
		json_t *m = by_key(json_object_get(man, "devices"), "mac", dev);
		cr_assert_not_null(m, "flow of an unknown device %s", dev);
		cr_expect_not_null(name, "flow %s -> %s:%lld has no name", dev, json_string_value(json_object_get(f, "dst")),
				   (long long)json_integer_value(json_object_get(f, "dport")));
		if (!name)
			continue;
		bool used = false;
		size_t k;
		json_t *n;
		json_array_foreach(json_object_get(m, "names"), k, n)
			used |= !strcmp(json_string_value(n), name);
		cr_expect(used, "%s: flow named %s, a name the generator never used for it", dev, name);
		cr_expect_neq(json_object_get(f, "l7"), json_null());
	}
	cr_expect_gt(cloud, 50);
	json_decref(flows);
	json_decref(man);
	run_free(&r);
}

/* The profiles learned from the generated home: one per device of its
 * manifest, every named destination a name the generator used for that
 * device, counts that add up. */
Test(replay, every_home_device_gets_a_profile_of_the_names_the_generator_used_for_it)
{
	char home[128], alerts[160], cmd[256];
	json_t *man = home_manifest(home, sizeof(home));
	snprintf(alerts, sizeof(alerts), "%s/alerts.json", tmpdir);
	snprintf(cmd, sizeof(cmd), "replay --learn-for 1h --profiles --json --alerts '%s'", alerts);
	struct run r = run_on(cmd, home);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *profs = json_lines(r.out);
	size_t i, named = 0;
	json_t *m;
	json_array_foreach(json_object_get(man, "devices"), i, m)
	{
		const char *mac = json_string_value(json_object_get(m, "mac"));
		json_t *p = by_key(profs, "device", mac);
		cr_assert_not_null(p, "no profile for %s", mac);
		cr_expect_str_eq(json_string_value(json_object_get(p, "hostname")),
				 json_string_value(json_object_get(m, "hostname")));
		cr_expect_str_eq(json_string_value(json_object_get(p, "state")), "enforcing");
		json_int_t learned = 0;
		size_t k;
		json_t *d;
		json_array_foreach(json_object_get(p, "destinations"), k, d)
		{
			learned += json_integer_value(json_object_get(d, "flows_learned"));
			cr_expect_geq(json_integer_value(json_object_get(d, "flows")),
				      json_integer_value(json_object_get(d, "flows_learned")));
			cr_expect_leq(strcmp(json_string_value(json_object_get(d, "first_seen")),
					     json_string_value(json_object_get(d, "last_seen"))),
				      0);
			if (!json_is_true(json_object_get(d, "named")))
				continue;
			named++;
			const char *name = json_string_value(json_object_get(d, "destination"));
			bool used = false;
			size_t j;
			json_t *n;
			json_array_foreach(json_object_get(m, "names"), j, n)
				used |= !strcmp(json_string_value(n), name);
			cr_expect(used, "%s: learned %s, a name the generator never used for it", mac, name);
		}
		cr_expect_eq(learned, json_integer_value(json_object_get(p, "flows_learned")), "%s", mac);
		json_int_t windows = 0;
		json_t *h;
		cr_expect_eq(json_array_size(json_object_get(p, "hours_of_week_utc")), 168);
		json_array_foreach(json_object_get(p, "hours_of_week_utc"), k, h)
			windows += json_integer_value(h);
		cr_expect_gt(windows, 0, "%s: no activity counted", mac);
		cr_expect_eq(json_array_size(json_object_get(p, "baselines")), 11);
	}
	cr_expect_eq(json_array_size(profs), json_array_size(json_object_get(man, "devices")) + 1,
		     "one profile per device and the gateway");
	cr_expect_gt(named, 10);
	json_decref(profs);
	json_decref(man);
	run_free(&r);

	r = run_on("replay --profiles --no-detect", home);
	cr_expect_eq(r.status, 2);
	cr_expect_not_null(strstr(r.err, "--profiles"), "%s", r.err);
	run_free(&r);
}

/* Lines tcpdump prints for filter over file: an oracle independent of iotids. */
static int tcpdump_count(const char *file, const char *filter)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "tcpdump -nr '%s' '%s' 2>/dev/null | wc -l", file, filter);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	int n = -1;
	cr_assert_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static bool has_source_prefix(json_t *dev, const char *prefix)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(dev, "evidence"), i, e)
	{
		if (!strncmp(json_string_value(json_object_get(e, "source")), prefix, strlen(prefix)))
			return true;
	}
	return false;
}

/* IoT Sentinel: the MAC of each device in DEVICES.txt gets a vendor, and
 * DHCP, SSDP and mDNS evidence exactly when tcpdump finds that device
 * sending such messages (DHCP client requests; SSDP NOTIFY or search
 * answers; mDNS answers with records). */
Test(replay, every_iot_sentinel_device_gets_its_vendor_and_the_evidence_its_capture_holds)
{
	static const char dir[] = "../shared/pcaps/real/iot-sentinel";
	char path[600], line[256];
	snprintf(path, sizeof(path), "%s/DEVICES.txt", dir);
	FILE *list = fopen(path, "r");
	if (!list)
		cr_skip_test("%s is absent: no real captures to check", path);
	int devices = 0, captures = 0;
	while (fgets(line, sizeof(line), list)) {
		char name[128], mac[32];
		if (sscanf(line, "%127s %31s", name, mac) != 2 || !strcmp(name, "device"))
			continue;
		devices++;
		for (const char *const *setup = (const char *const[]){"A-1", "A-2", "C-1", "C-2", NULL}; *setup; setup++) {
			snprintf(path, sizeof(path), "%s/%s__Setup-%s-STA.pcap", dir, name, *setup);
			if (access(path, R_OK) != 0)
				continue;
			captures++;
			char args[700], filter[256];
			snprintf(args, sizeof(args), "replay --devices --json '%s'", path);
			struct run r = run_iotids(args);
			cr_assert_eq(r.status, 0, "%s: %s", path, r.err);
			json_t *devs = json_lines(r.out);
			json_t *d = by_key(devs, "mac", mac);
			cr_assert_not_null(d, "%s: no device %s", path, mac);
			cr_expect(json_is_string(json_object_get(d, "vendor")), "%s: %s has no vendor", path, mac);
			snprintf(filter, sizeof(filter), "ether src %s and udp src port 68 and udp dst port 67", mac);
			cr_expect_eq(tcpdump_count(path, filter) > 0, has_source_prefix(d, "dhcp_"), "%s: %s DHCP evidence",
				     path, mac);
			snprintf(filter, sizeof(filter),
				 "ether src %s and udp port 1900 and (udp[8:4] = 0x4e4f5449 or udp[8:4] = 0x48545450)", mac);
			cr_expect_eq(tcpdump_count(path, filter) > 0, has_source_prefix(d, "ssdp_"), "%s: %s SSDP evidence",
				     path, mac);
			snprintf(filter, sizeof(filter),
				 "ether src %s and udp src port 5353 and udp[10] & 0x80 != 0 and udp[14:2] > 0", mac);
			cr_expect_eq(tcpdump_count(path, filter) > 0, has_source_prefix(d, "mdns_"), "%s: %s mDNS evidence",
				     path, mac);
			json_decref(devs);
			run_free(&r);
		}
	}
	fclose(list);
	cr_expect_eq(devices, 31, "DEVICES.txt lists %d devices", devices);
	cr_expect_gt(captures, 55);
}

/* nDPI's own reader is the oracle: every protocol ndpiReader reports for a
 * snippet is the protocol (or sub-protocol) of at least one of our flows. */
Test(replay, every_ndpi_snippet_gets_the_protocols_ndpireader_names)
{
	static const char dir[] = "../shared/pcaps/real/ndpi-iot";
	if (access(dir, R_OK) != 0)
		cr_skip_test("%s is absent: no nDPI snippets to check", dir);
	char cmd[700], path[512];
	snprintf(cmd, sizeof(cmd), "ls %s/*.pcap %s/*.pcapng", dir, dir);
	FILE *ls = popen(cmd, "r");
	cr_assert_not_null(ls);
	int files = 0, protocols = 0;
	while (fgets(path, sizeof(path), ls)) {
		path[strcspn(path, "\n")] = '\0';
		char args[600];
		snprintf(args, sizeof(args), "replay --flows --json '%s'", path);
		struct run r = run_iotids(args);
		cr_expect_eq(r.status, 0, "%s: %s", path, r.err);
		files++;
		snprintf(cmd, sizeof(cmd),
			 "ndpiReader -i '%s' 2>/dev/null | sed -n '/Detected protocols/,/^$/p' | awk 'NR>1 && NF {print $1}'",
			 path);
		FILE *nr = popen(cmd, "r");
		cr_assert_not_null(nr);
		char proto[128];
		while (fscanf(nr, "%127s", proto) == 1) {
			if (!strcmp(proto, "Unknown"))
				continue;
			protocols++;
			/* "TLS.Amazon" counts for TLS and for Amazon. */
			bool found = false;
			size_t plen = strlen(proto);
			for (const char *s = r.out; !found && (s = strstr(s, "\"l7\":\"")) != NULL;) {
				s += 6;
				const char *end = strchr(s, '"');
				for (const char *part = s; part < end;) {
					const char *dot = memchr(part, '.', (size_t)(end - part));
					size_t n = (size_t)((dot ? dot : end) - part);
					found |= n == plen && !memcmp(part, proto, n);
					part += n + 1;
				}
			}
			cr_expect(found, "%s: ndpiReader reports %s, iotids has no such flow", path, proto);
		}
		pclose(nr);
		run_free(&r);
	}
	pclose(ls);
	cr_expect_gt(files, 20);
	cr_expect_gt(protocols, 40);
}

Test(replay, a_missing_file_is_one_clear_line_and_exit_1)
{
	struct run r = run_iotids("replay /nonexistent/x.pcap");
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "/nonexistent/x.pcap: cannot open: No such file or directory"), "%s", r.err);
	cr_expect_eq(strchr(r.err, '\n') - r.err + 1, (long)strlen(r.err), "more than one line: %s", r.err);
	run_free(&r);
}

Test(replay, an_empty_file_is_reported_as_empty)
{
	char args[256];
	snprintf(args, sizeof(args), "replay %s/empty.pcap", tmpdir);
	char path[128];
	snprintf(path, sizeof(path), "%s/empty.pcap", tmpdir);
	fclose(fopen(path, "w"));
	struct run r = run_iotids(args);
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "empty.pcap: empty file"), "%s", r.err);
	run_free(&r);
}

Test(replay, a_text_file_is_not_a_capture)
{
	struct run r = run_iotids("replay README.md");
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "README.md: not a pcap or pcapng file"), "%s", r.err);
	run_free(&r);
}

Test(replay, a_truncated_capture_reports_what_it_read_and_exits_1)
{
	size_t n = 0;
	char *demo = genrun_slurp(DEMO, &n);
	cr_assert_not_null(demo);
	char path[128], args[256];
	snprintf(path, sizeof(path), "%s/cut.pcap", tmpdir);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	/* Cut in the middle of a record. */
	cr_assert_eq(fwrite(demo, 1, n / 2 + 7, f), n / 2 + 7);
	fclose(f);
	free(demo);
	snprintf(args, sizeof(args), "replay --json %s", path);
	struct run r = run_iotids(args);
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "cut.pcap: packet "), "%s", r.err);
	cr_expect_not_null(strstr(r.err, "truncated"), "%s", r.err);
	json_t *o = parse_json_line(r.out);
	cr_expect_gt(json_integer_value(json_object_get(o, "packets")), 100, "the packets before the cut are lost");
	cr_expect(json_is_string(json_object_get(o, "error")));
	json_decref(o);
	run_free(&r);
}

Test(replay, usage_errors_exit_2_and_help_exits_0)
{
	struct run r = run_iotids("replay --bogus " DEMO);
	cr_expect_eq(r.status, 2);
	cr_expect_not_null(strstr(r.err, "--bogus"));
	run_free(&r);
	r = run_iotids("replay");
	cr_expect_eq(r.status, 2);
	run_free(&r);
	r = run_iotids("replay --max-flows lots " DEMO);
	cr_expect_eq(r.status, 2);
	cr_expect_not_null(strstr(r.err, "flows.max: expected an integer"), "%s", r.err);
	run_free(&r);
	r = run_iotids("frobnicate");
	cr_expect_eq(r.status, 2);
	run_free(&r);
	r = run_iotids("replay --help");
	cr_expect_eq(r.status, 0);
	cr_expect_not_null(strstr(r.out, "usage: iotids replay"));
	run_free(&r);
	r = run_iotids("--help");
	cr_expect_eq(r.status, 0);
	cr_expect_not_null(strstr(r.out, "replay"));
	run_free(&r);
	r = run_iotids("version");
	cr_expect_eq(r.status, 0);
	cr_expect_not_null(strstr(r.out, "iotids "));
	run_free(&r);
}

Test(replay, a_bad_config_file_names_its_line_and_exits_2)
{
	char path[128], args[256];
	snprintf(path, sizeof(path), "%s/bad.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("windows:\n  lenght: 60s\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "replay --config %s " DEMO, path);
	struct run r = run_iotids(args);
	cr_expect_eq(r.status, 2);
	cr_expect_not_null(strstr(r.err, "bad.yaml:2:3:"), "%s", r.err);
	run_free(&r);
}

Test(replay, a_missing_registry_or_suffix_list_is_one_clear_line_and_exit_1)
{
	char path[128], args[256];
	snprintf(path, sizeof(path), "%s/paths.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("identity: {oui_dir: /nonexistent/ieee}\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "replay --devices --config %s " DEMO, path);
	struct run r = run_iotids(args);
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "/nonexistent/ieee/oui.csv"), "%s", r.err);
	cr_expect_not_null(strstr(r.err, "identity.oui_dir"), "%s", r.err);
	cr_expect_eq(r.out_len, 0, "nothing may be printed before the failure");
	run_free(&r);

	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("identity: {public_suffix_list: /nonexistent/psl.dat}\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "replay --config %s " DEMO, path);
	r = run_iotids(args);
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "/nonexistent/psl.dat"), "%s", r.err);
	cr_expect_not_null(strstr(r.err, "identity.public_suffix_list"), "%s", r.err);
	run_free(&r);
}

/* Alerts end to end. The home is benign: with the default threshold it
 * raises nothing; the demo's last hour holds attacks, and a threshold of
 * 10% makes it raise low-score alerts too, which is enough to check the
 * plumbing (the scoring has its own suite). */
static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(replay, the_benign_home_raises_no_alert_after_learning_its_first_hour)
{
	char home[128];
	json_decref(home_manifest(home, sizeof(home)));
	struct run r = run_on("replay --json --learn-for 60m", home);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *o = parse_json_line(r.out);
	json_t *al = json_object_get(o, "alerts");
	cr_assert(json_is_object(al));
	cr_expect_eq(json_integer_value(json_object_get(al, "raised")), 0, "false alerts on benign traffic: %s", r.out);
	cr_expect_gt(json_integer_value(json_object_get(al, "flows_scored")), 100, "nothing was scored: %s", r.out);
	cr_expect_gt(json_integer_value(json_object_get(al, "windows_scored")), 100);
	json_decref(o);
	run_free(&r);
}

Test(replay, alerts_carry_the_contract_fields_and_are_the_same_on_every_run)
{
	char cfg[128], file[128], args[512];
	snprintf(cfg, sizeof(cfg), "%s/low.yaml", tmpdir);
	snprintf(file, sizeof(file), "%s/alerts.json", tmpdir);
	write_file(cfg, "detector: {threshold_percent: 10}\n");
	snprintf(args, sizeof(args), "replay --json --learn-for 60m --config %s " DEMO, cfg);
	struct run a = run_iotids(args);
	cr_assert_eq(a.status, 0, "%s", a.err);
	snprintf(args, sizeof(args), "replay --learn-for 60m --config %s --alerts %s " DEMO, cfg, file);
	struct run b = run_iotids(args);
	cr_assert_eq(b.status, 0, "%s", b.err);
	size_t len = 0;
	char *in_file = genrun_slurp(file, &len);
	cr_assert_not_null(in_file);
	/* With --json and no --alerts, alerts go to stdout, before the summary. */
	char *summary = strstr(a.out, "{\"type\":\"summary\"");
	cr_assert_not_null(summary);
	cr_expect_eq((size_t)(summary - a.out), len, "stdout alerts and --alerts FILE differ in length");
	cr_expect_eq(memcmp(a.out, in_file, len), 0, "stdout alerts and --alerts FILE differ");
	size_t lines = 0;
	for (const char *at = b.out; (at = strstr(at, "ALERT ")); at++)
		lines++;
	json_t *ids = json_object();
	size_t n = 0;
	for (char *line = in_file, *eol; *line; line = eol + 1) {
		eol = strchr(line, '\n');
		cr_assert_not_null(eol);
		*eol = '\0';
		json_t *o = parse_json_line(line);
		n++;
		cr_expect_str_eq(json_string_value(json_object_get(o, "type")), "alert");
		cr_expect_eq(json_integer_value(json_object_get(o, "schema_version")), 1);
		const char *id = json_string_value(json_object_get(o, "alert_id"));
		cr_assert(id && strlen(id) == 16, "%s", line);
		cr_expect_null(json_object_get(ids, id), "alert_id %s used twice", id);
		json_object_set_new(ids, id, json_true());
		const char *ts = json_string_value(json_object_get(o, "ts"));
		cr_expect(ts && strlen(ts) == 27 && ts[26] == 'Z', "ts not RFC 3339 with microseconds: %s", line);
		cr_expect(json_is_string(json_object_get(o, "kind")) && json_is_string(json_object_get(o, "severity")));
		double score = json_number_value(json_object_get(o, "score"));
		cr_expect(score >= 0.1 && score <= 1, "score %f", score);
		json_t *dev = json_object_get(o, "device");
		cr_expect(json_is_string(json_object_get(dev, "mac")), "%s", line);
		/* A device that joined late is still learning when announced. */
		cr_expect_str_eq(json_string_value(json_object_get(dev, "state")),
				 strcmp(json_string_value(json_object_get(o, "kind")), "new_device") ? "enforcing" : "learning");
		cr_expect(json_is_number(json_object_get(dev, "maturity")));
		json_t *rs = json_object_get(o, "reasons"), *x;
		size_t k;
		cr_expect_gt(json_array_size(rs), 0);
		json_array_foreach(rs, k, x)
		{
			cr_expect(json_is_string(json_object_get(x, "feature")) && json_is_string(json_object_get(x, "observed")) &&
					  json_is_string(json_object_get(x, "baseline")) &&
					  json_is_number(json_object_get(x, "contribution")),
				  "%s", line);
		}
		json_t *flow = json_object_get(o, "flow");
		if (json_is_object(flow))
			cr_expect(json_object_get(flow, "src") && json_object_get(flow, "dport") && json_object_get(flow, "l7"));
		json_decref(o);
	}
	cr_expect_gt(n, 3, "the low threshold should raise some alerts");
	cr_expect_eq(lines, n, "with --alerts FILE the terminal shows each alert as one line");
	struct run c = run_iotids(args);
	size_t len2 = 0;
	char *again = genrun_slurp(file, &len2);
	cr_expect(len2 == len && again && memcmp(again, a.out, len) == 0, "a second replay wrote other alerts");
	free(again);
	run_free(&c);
	json_decref(ids);
	free(in_file);
	run_free(&a);
	run_free(&b);
}

/* Seconds since the epoch of an RFC 3339 UTC time (fraction dropped). */
static long long epoch_s(const char *ts)
{
	struct tm tm = {0};
	cr_assert(ts && sscanf(ts, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			       &tm.tm_sec) == 6, "not a time: %s", ts ? ts : "(null)");
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

/* The README's main command: learning the demo's two benign hours, it
 * alerts on every attack of its last hour, for the device attacked, within
 * a minute; announces the robot vacuum that joins; and raises nothing
 * outside those behaviours (the victims of the LAN sweep may alert too:
 * they served something new). */
/* Whether alerts hold one for the behaviour b's device in its time (of
 * its kind, when it names one and is not an attack). */
static bool behaviour_alerted(json_t *alerts, json_t *b, bool to_end)
{
	const char *mac = json_string_value(json_object_get(b, "device"));
	const char *kind = json_string_value(json_object_get(b, "kind"));
	long long from = epoch_s(json_string_value(json_object_get(b, "start")));
	long long to = to_end ? epoch_s(json_string_value(json_object_get(b, "end"))) + 60 : from + 60;
	bool attack = json_is_true(json_object_get(b, "attack"));
	size_t j;
	json_t *a;
	json_array_foreach(alerts, j, a)
	{
		long long ts = epoch_s(json_string_value(json_object_get(a, "ts")));
		if (!strcmp(json_string_value(json_object_get(json_object_get(a, "device"), "mac")), mac) && ts >= from &&
		    ts <= to && (attack || !kind || !strcmp(json_string_value(json_object_get(a, "kind")), kind)))
			return true;
	}
	return false;
}

static json_t *demo_alerts(const char *rules)
{
	char file[128], cmd[512];
	snprintf(file, sizeof(file), "%s/alerts.json", tmpdir);
	snprintf(cmd, sizeof(cmd), "replay --learn-for 2h --alerts '%s' %s%s " DEMO, file, rules ? "--rules " : "",
		 rules ? rules : "");
	struct run r = run_iotids(cmd);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	char *text = genrun_slurp(file, NULL);
	cr_assert_not_null(text);
	json_t *alerts = json_lines(text);
	free(text);
	return alerts;
}

/* Every behaviour of the demo's truth alerts in its first minute: the
 * attacks, the new device, and the firmware update (a benign change the
 * example rules cover); with those rules the update raises nothing and
 * every attack still alerts. */
Test(replay, the_demo_alerts_on_each_of_its_behaviours_and_the_example_rules_quiet_only_the_update)
{
	char pcap[128], truth[128], cmd[512];
	snprintf(pcap, sizeof(pcap), "%s/demo.pcap", tmpdir);
	snprintf(truth, sizeof(truth), "%s/demo.json", tmpdir);
	snprintf(cmd, sizeof(cmd), "demo --seed 2026 -o '%s' --truth '%s'", pcap, truth);
	gen(cmd);
	json_error_t e;
	json_t *t = json_load_file(truth, 0, &e);
	cr_assert_not_null(t, "%s", e.text);
	cr_assert_str_eq(json_string_value(json_object_get(t, "learn_for")), "2h");
	json_t *alerts = demo_alerts(NULL), *ruled = demo_alerts("rules/example.yaml");
	json_t *behaviours = json_object_get(t, "behaviours"), *b, *a;
	size_t i, j, attacks = 0, updates = 0;
	cr_assert_geq(json_array_size(behaviours), 6);
	json_array_foreach(behaviours, i, b)
	{
		const char *name = json_string_value(json_object_get(b, "scenario"));
		bool attack = json_is_true(json_object_get(b, "attack"));
		bool update = !strncmp(name, "fw-update", 9);
		cr_expect(behaviour_alerted(alerts, b, false), "%s raised no alert in its first minute", name);
		if (attack)
			cr_expect(behaviour_alerted(ruled, b, false), "%s went unnoticed with the example rules", name);
		if (update)
			cr_expect(!behaviour_alerted(ruled, b, true), "%s alerted with the example rules", name);
		attacks += attack;
		updates += update;
	}
	cr_expect_geq(attacks, 5);
	cr_expect_eq(updates, 1);
	/* Nothing while learning, nothing in the gaps between behaviours
	 * (window alerts come at the end of the minute after). */
	json_array_foreach(alerts, j, a)
	{
		long long ts = epoch_s(json_string_value(json_object_get(a, "ts")));
		bool inside = false;
		json_array_foreach(behaviours, i, b)
		{
			inside |= ts >= epoch_s(json_string_value(json_object_get(b, "start"))) &&
				  ts <= epoch_s(json_string_value(json_object_get(b, "end"))) + 60;
		}
		cr_expect(inside, "an alert outside every behaviour: %s %s",
			  json_string_value(json_object_get(a, "ts")), json_string_value(json_object_get(a, "kind")));
	}
	cr_expect_gt(json_array_size(alerts), attacks);
	json_decref(alerts);
	json_decref(ruled);
	json_decref(t);
}

Test(replay, detector_options_are_checked)
{
	struct run r = run_iotids("replay --learn-for soon " DEMO);
	cr_expect_eq(r.status, 2);
	cr_expect_not_null(strstr(r.err, "--learn-for"), "%s", r.err);
	run_free(&r);
	r = run_iotids("replay --alerts /nonexistent/dir/a.json " DEMO);
	cr_expect_eq(r.status, 1);
	cr_expect_not_null(strstr(r.err, "/nonexistent/dir/a.json"), "%s", r.err);
	run_free(&r);
	r = run_iotids("replay --json --no-detect " DEMO);
	cr_expect_eq(r.status, 0);
	cr_expect_not_null(strstr(r.out, "\"alerts\":null"), "%s", r.out);
	run_free(&r);
	r = run_iotids("replay --json --learn --learn-for 1s " DEMO);
	cr_expect_eq(r.status, 0);
	cr_expect_not_null(strstr(r.out, "\"raised\":0"), "--learn must keep every device learning: %s", r.out);
	cr_expect_not_null(strstr(r.out, "\"flows_scored\":0"), "%s", r.out);
	run_free(&r);
}

Test(replay, home_net_flag_changes_what_is_local)
{
	/* With only 10/8 as home, the demo's 192.168.1.x devices are remote. */
	struct run r = run_iotids("replay --json --home-net 10.0.0.0/8 " DEMO);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *o = parse_json_line(r.out);
	json_t *dev = json_object_get(json_object_get(o, "devices"), "count");
	struct run d = run_iotids("replay --json " DEMO);
	json_t *o2 = parse_json_line(d.out);
	json_t *dev2 = json_object_get(json_object_get(o2, "devices"), "count");
	cr_expect_lt(json_integer_value(dev), json_integer_value(dev2));
	json_decref(o);
	json_decref(o2);
	run_free(&r);
	run_free(&d);
}

static void expect_counts_equal(json_t *got, json_t *want, const char *key)
{
	cr_expect_eq(json_integer_value(json_object_get(got, key)), json_integer_value(json_object_get(want, key)),
		     "%s: got %lld, expected %lld", key, (long long)json_integer_value(json_object_get(got, key)),
		     (long long)json_integer_value(json_object_get(want, key)));
}

Test(replay, a_million_labelled_malformed_packets_are_counted_exactly)
{
	char cmd[512], args[256], expect[128];
	snprintf(expect, sizeof(expect), "%s/garbage.json", tmpdir);
	snprintf(cmd, sizeof(cmd), "'%s' garbage --seed 11 --packets 1000000 -o %s/garbage.pcap >'%s'",
		 bin("IOTGEN_BIN"), tmpdir, expect);
	cr_assert_eq(system(cmd), 0);
	json_error_t e;
	json_t *want = json_load_file(expect, 0, &e);
	cr_assert_not_null(want, "%s", e.text);
	snprintf(args, sizeof(args), "replay --json %s/garbage.pcap", tmpdir);
	struct run r = run_iotids(args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *got = parse_json_line(r.out);
	expect_counts_equal(got, want, "packets");
	expect_counts_equal(got, want, "decoded");
	expect_counts_equal(got, want, "other");
	expect_counts_equal(got, want, "malformed_total");
	cr_expect(json_equal(json_object_get(got, "malformed"), json_object_get(want, "malformed")),
		  "per-reason counts differ: got %s", r.out);
	json_decref(got);
	json_decref(want);
	run_free(&r);
}

Test(replay, a_million_random_packets_are_all_accounted_for)
{
	char args[256];
	snprintf(args, sizeof(args), "noise --seed 5 --packets 1000000 -o %s/noise.pcap", tmpdir);
	gen(args);
	snprintf(args, sizeof(args), "replay --json %s/noise.pcap", tmpdir);
	struct run r = run_iotids(args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *o = parse_json_line(r.out);
	json_int_t total = json_integer_value(json_object_get(o, "decoded")) +
			   json_integer_value(json_object_get(o, "other")) +
			   json_integer_value(json_object_get(o, "malformed_total"));
	cr_expect_eq(json_integer_value(json_object_get(o, "packets")), 1000000);
	cr_expect_eq(total, 1000000);
	/* Random Ethernet frames: those under 14 bytes alone are ~7% of them. */
	cr_expect_gt(json_integer_value(json_object_get(json_object_get(o, "malformed"), "eth_truncated")), 50000);
	json_decref(o);
	run_free(&r);
}

/* Whole pcap records (classic format, 24-byte header) in the first len bytes. */
static size_t whole_records(const char *buf, size_t len)
{
	size_t off = 24, n = 0;
	while (off + 16 <= len) {
		uint32_t caplen;
		memcpy(&caplen, buf + off + 8, 4);
		if (off + 16 + caplen > len)
			break;
		off += 16 + caplen;
		n++;
	}
	return n;
}

/* The state letter of a process from /proc/PID/stat. */
static char proc_state(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return '?';
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren[2] : '?';
}

/* SIGTERM mid-run, without timing: the capture comes through a FIFO that
 * stays open, so once iotids has drained it and sleeps waiting for more,
 * it has read exactly the whole records written. */
Test(replay, sigterm_mid_run_reports_every_packet_read_and_exits_1)
{
	char fifo[128], out[128];
	snprintf(fifo, sizeof(fifo), "%s/in.fifo", tmpdir);
	snprintf(out, sizeof(out), "%s/sig.out", tmpdir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int nul = open("/dev/null", O_WRONLY);
		if (fd < 0 || nul < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(nul, STDERR_FILENO) < 0)
			_exit(99);
		execl(bin("IOTIDS_BIN"), "iotids", "replay", "--json", fifo, (char *)NULL);
		_exit(98);
	}
	size_t n = 0;
	char *demo = genrun_slurp(DEMO, &n);
	cr_assert_not_null(demo);
	size_t half = n / 2, want = whole_records(demo, half);
	FILE *w = fopen(fifo, "wb");
	cr_assert_not_null(w);
	cr_assert_eq(fwrite(demo, 1, half, w), half);
	cr_assert_eq(fflush(w), 0);
	free(demo);
	/* Poll (bounded, never asserted on time) until the FIFO is empty and
	 * iotids sleeps in read. */
	int unread = -1;
	for (int i = 0; i < 6000; i++) {
		if (ioctl(fileno(w), FIONREAD, &unread) == 0 && unread == 0 && proc_state(pid) == 'S')
			break;
		usleep(10000);
	}
	cr_assert_eq(unread, 0, "iotids never drained the FIFO");
	cr_assert_eq(kill(pid, SIGTERM), 0);
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	fclose(w);
	cr_assert(WIFEXITED(st), "iotids died of the signal instead of stopping cleanly");
	cr_expect_eq(WEXITSTATUS(st), 1);
	char *text = genrun_slurp(out, NULL);
	cr_assert_not_null(text);
	json_t *o = parse_json_line(text);
	cr_expect_eq(json_integer_value(json_object_get(o, "packets")), (json_int_t)want,
		     "read %lld packets, %zu were written whole",
		     (long long)json_integer_value(json_object_get(o, "packets")), want);
	const char *err = json_string_value(json_object_get(o, "error"));
	cr_expect(err && strstr(err, "interrupted by signal 15"), "error: %s", err ? err : "null");
	json_decref(o);
	free(text);
}

/* ---- the profile store (--db) ---- */

/* The generated home's first two hours, and its third hour as a capture of
 * its own (same seed, same devices). */
static void home_hours(char *a, char *b, size_t len)
{
	char cmd[512];
	snprintf(a, len, "%s/first.pcap", tmpdir);
	snprintf(b, len, "%s/later.pcap", tmpdir);
	snprintf(cmd, sizeof(cmd), "home --seed 2026 --duration 2h -o '%s'", a);
	gen(cmd);
	snprintf(cmd, sizeof(cmd), "home --seed 2026 --start 2026-03-02T09:00:00Z --duration 1h -o '%s'", b);
	gen(cmd);
}

static json_t *summary_of(struct run *r)
{
	cr_assert_eq(r->status, 0, "%s", r->err);
	return parse_json_line(r->out);
}

/* The lines sqlite3 prints for sql over db: the store read by another tool. */
static char *sqlite(const char *db, const char *sql)
{
	char cmd[1024], out[160];
	snprintf(out, sizeof(out), "%s/sqlite.out", tmpdir);
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"%s\" >'%s' 2>&1", db, sql, out);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	char *text = genrun_slurp(out, NULL);
	cr_assert_not_null(text);
	return text;
}

/* iotids with args exits with status and says says on stderr. */
static void expect_error(const char *args, int status, const char *says)
{
	struct run r = run_iotids(args);
	cr_expect_eq(r.status, status, "%s: exit %d", args, r.status);
	cr_expect_not_null(strstr(r.err, says), "%s: %s", args, r.err);
	run_free(&r);
}

/* `iotids replay --learn-for 1h --db DB PCAP`, started and not waited for. */
static pid_t replay_in_background(const char *db, const char *pcap)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);
		if (nul < 0 || dup2(nul, STDOUT_FILENO) < 0 || dup2(nul, STDERR_FILENO) < 0)
			_exit(99);
		execl(bin("IOTIDS_BIN"), "iotids", "replay", "--learn-for", "1h", "--db", db, pcap, (char *)NULL);
		_exit(98);
	}
	return pid;
}

Test(replay, a_store_learns_on_one_capture_and_detects_on_the_next)
{
	char a[128], b[128], db[128], args[512];
	home_hours(a, b, sizeof(a));
	snprintf(db, sizeof(db), "%s/profiles.db", tmpdir);
	/* Without a store, the later hour is learned from scratch: nothing scored. */
	struct run r = run_on("replay --learn-for 1h --json --alerts /dev/null", b);
	json_t *o = summary_of(&r);
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(o, "alerts"), "flows_scored")), 0);
	json_decref(o);
	run_free(&r);

	snprintf(args, sizeof(args), "replay --learn-for 1h --json --alerts /dev/null --db '%s'", db);
	r = run_on(args, a);
	o = summary_of(&r);
	json_t *st = json_object_get(o, "store");
	cr_expect_eq(json_integer_value(json_object_get(st, "loaded")), 0);
	/* Every 5 minutes of two hours, and the end. */
	cr_expect_eq(json_integer_value(json_object_get(st, "checkpoints")), 24);
	json_int_t profiles = json_integer_value(json_object_get(json_object_get(o, "alerts"), "profiles"));
	json_decref(o);
	run_free(&r);

	r = run_on(args, b);
	o = summary_of(&r);
	st = json_object_get(o, "store");
	cr_expect_eq(json_integer_value(json_object_get(st, "loaded")), profiles);
	json_t *al = json_object_get(o, "alerts");
	cr_expect_gt(json_integer_value(json_object_get(al, "flows_scored")), 0, "the later hour was not enforced");
	cr_expect_gt(json_integer_value(json_object_get(al, "windows_scored")), 0);
	cr_expect_eq(json_integer_value(json_object_get(al, "profiles")), profiles, "a device was learned anew");
	json_decref(o);
	run_free(&r);

	/* Read by sqlite3 itself: one row per device, each with the version
	 * its learning made. */
	char *rows = sqlite(db, "SELECT count(*), sum(state = 'enforcing'), sum(version) FROM profiles;");
	char want[64];
	snprintf(want, sizeof(want), "%lld|%lld|%lld\n", (long long)profiles, (long long)profiles, (long long)profiles);
	cr_expect_str_eq(rows, want);
	free(rows);
	rows = sqlite(db, "SELECT count(*) FROM versions WHERE reason = 'learning ended';");
	snprintf(want, sizeof(want), "%lld\n", (long long)profiles);
	cr_expect_str_eq(rows, want);
	free(rows);
	rows = sqlite(db, "SELECT hostname FROM profiles WHERE device = 'd8:1f:12:13:8a:c7';");
	cr_expect_str_eq(rows, "SmartPlug-5B1E\n");
	free(rows);
}

Test(replay, a_bad_store_is_one_clear_line_and_changes_nothing)
{
	char db[128], args[512], *rows;
	struct run r;
	/* Not a database; a database of something else. */
	expect_error("replay --db README.md " DEMO, 1, "README.md: cannot read: not an iotids store");
	snprintf(db, sizeof(db), "%s/other.db", tmpdir);
	free(sqlite(db, "CREATE TABLE recipes(name TEXT);"));
	snprintf(args, sizeof(args), "replay --db '%s' " DEMO, db);
	expect_error(args, 1, "a database, but not an iotids store");
	rows = sqlite(db, "SELECT name FROM sqlite_master;");
	cr_expect_str_eq(rows, "recipes\n", "the foreign database was changed");
	free(rows);
	/* A store from a newer iotids. */
	snprintf(db, sizeof(db), "%s/newer.db", tmpdir);
	snprintf(args, sizeof(args), "replay --learn-for 1h --db '%s' " DEMO, db);
	r = run_iotids(args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	free(sqlite(db, "UPDATE meta SET value = '99' WHERE key = 'schema_version';"));
	char *before = sqlite(db, "SELECT device, checkpoint_us FROM profiles ORDER BY device;");
	expect_error(args, 1, "newer iotids (store schema 99; this one reads 3)");
	char *after = sqlite(db, "SELECT device, checkpoint_us FROM profiles ORDER BY device;");
	cr_expect_str_eq(after, before, "a refused store was written");
	free(before);
	free(after);
	/* A damaged profile names its device. */
	free(sqlite(db, "UPDATE meta SET value = '3' WHERE key = 'schema_version';"
			" UPDATE profiles SET data = x'00' WHERE device = 'd8:1f:12:13:8a:c7';"));
	expect_error(args, 1, "profile of d8:1f:12:13:8a:c7: not a profile");
	/* A directory that does not exist; --db without detection. */
	expect_error("replay --db /nonexistent/dir/p.db " DEMO, 1, "/nonexistent/dir/p.db");
	expect_error("replay --no-detect --db p.db " DEMO, 2, "--db needs detection");
}

/* The profile commands read back what the replay printed: profile show is
 * replay --profiles, byte for byte, through the store. */
Test(replay, profile_show_reads_back_from_the_store_what_the_replay_learned)
{
	char db[128], args[512];
	snprintf(db, sizeof(db), "%s/demo.db", tmpdir);
	snprintf(args, sizeof(args), "replay --learn-for 2h --profiles --json --alerts /dev/null --db '%s'", db);
	struct run r = run_on(args, DEMO);
	cr_assert_eq(r.status, 0, "%s", r.err);
	char *replayed = strdup(r.out);
	json_t *profs = json_lines(r.out);
	run_free(&r);

	snprintf(args, sizeof(args), "profile list --json --db '%s'", db);
	r = run_iotids(args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *rows = json_lines(r.out);
	run_free(&r);
	cr_expect_eq(json_array_size(rows), json_array_size(profs));
	size_t i;
	json_t *p;
	json_array_foreach(profs, i, p)
	{
		const char *dev = json_string_value(json_object_get(p, "device"));
		json_t *row = by_key(rows, "device", dev);
		cr_assert_not_null(row, "%s not listed", dev);
		cr_expect(json_equal(json_object_get(row, "hostname"), json_object_get(p, "hostname")), "%s", dev);
		cr_expect_str_eq(json_string_value(json_object_get(row, "state")),
				 json_string_value(json_object_get(p, "state")));
		cr_expect_eq(json_integer_value(json_object_get(row, "destinations")),
			     (json_int_t)json_array_size(json_object_get(p, "destinations")));
	}
	/* By hostname prefix, in any case. */
	snprintf(args, sizeof(args), "profile show --json --db '%s' smartplug", db);
	r = run_iotids(args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	char *line = strstr(replayed, "{\"device\":\"d8:1f:12:13:8a:c7\"");
	cr_assert_not_null(line);
	*strchr(line, '\n') = '\0';
	cr_expect_eq(strlen(r.out), strlen(line) + 1, "show printed %zu bytes, the replay %zu", strlen(r.out),
		     strlen(line) + 1);
	cr_expect_eq(strncmp(r.out, line, strlen(line)), 0, "show differs from the replay:\n%s\n%s", r.out, line);
	run_free(&r);
	free(replayed);

	/* Its one version: when learning ended, as the profile says. */
	snprintf(args, sizeof(args), "profile history --json --db '%s' d8:1f", db);
	r = run_iotids(args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *h = parse_json_line(r.out);
	cr_expect_eq(json_integer_value(json_object_get(h, "version")), 1);
	cr_expect_str_eq(json_string_value(json_object_get(h, "reason")), "learning ended");
	cr_expect_str_eq(json_string_value(json_object_get(h, "time")),
			 json_string_value(json_object_get(by_key(profs, "device", "d8:1f:12:13:8a:c7"), "learning_ended")));
	cr_expect_eq((size_t)(strchr(r.out, '\n') - r.out) + 1, r.out_len, "more than one version: %s", r.out);
	json_decref(h);
	run_free(&r);
	snprintf(args, sizeof(args), "profile history --db '%s' roborock", db);
	r = run_iotids(args);
	cr_expect_eq(r.status, 0);
	cr_expect_not_null(strstr(r.out, "no version yet"), "%s", r.out);
	run_free(&r);
	json_decref(rows);
	json_decref(profs);

	static const struct {
		const char *args;
		int status;
		const char *says;
	} errors[] = {
		{"show nosuch", 3, "no device 'nosuch'"},
		{"show 7", 3, "'7' matches 2 devices: 70:ee:50:62:61:87, 72:29:72:56:0c:f7"},
		{"show", 2, "expected DEVICE"},
		{"frobnicate", 2, "unknown subcommand 'frobnicate'"},
		{"list --bogus", 2, "unknown or incomplete option"},
	};
	for (size_t k = 0; k < sizeof(errors) / sizeof(errors[0]); k++) {
		snprintf(args, sizeof(args), "profile --db '%s' %s", db, errors[k].args);
		expect_error(args, errors[k].status, errors[k].says);
	}
	snprintf(args, sizeof(args), "profile list --db '%s/none.db'", tmpdir);
	expect_error(args, 1, "no store there");
	r = run_iotids("profile --help");
	cr_expect_eq(r.status, 0);
	cr_expect_not_null(strstr(r.out, "show DEVICE"));
	run_free(&r);
}

/* profile list while a replay checkpoints into the same store: WAL
 * readers never wait for the writer, so every listing succeeds. */
Test(replay, profile_list_works_while_a_replay_writes_the_store)
{
	char a[128], b[128], db[128], args[512];
	home_hours(a, b, sizeof(a));
	snprintf(db, sizeof(db), "%s/busy.db", tmpdir);
	snprintf(args, sizeof(args), "replay --learn-for 1h --db '%s' '%s'", db, a);
	struct run r = run_iotids(args); /* the store exists, with every device */
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	pid_t pid = replay_in_background(db, b);
	snprintf(args, sizeof(args), "profile list --json --db '%s'", db);
	int listings = 0, st = 0;
	while (waitpid(pid, &st, WNOHANG) == 0 || listings == 0) {
		r = run_iotids(args);
		cr_expect_eq(r.status, 0, "listing %d: %s", listings, r.err);
		json_t *rows = json_lines(r.out);
		cr_expect_eq(json_array_size(rows), 8, "listing %d", listings);
		json_decref(rows);
		run_free(&r);
		listings++;
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the replay failed beside the listings");
}

static json_t *listed(const char *db, const char *device)
{
	char args[512];
	snprintf(args, sizeof(args), "profile list --json --db '%s'", db);
	struct run r = run_iotids(args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *rows = json_lines(r.out);
	run_free(&r);
	json_t *row = json_incref(by_key(rows, "device", device));
	json_decref(rows);
	return row;
}

/* relearn and forget act on the store at once, are audited, and a replay
 * writing the store at the same moment applies them instead of undoing
 * them, whenever they land. */
Test(replay, relearn_and_forget_take_effect_are_audited_and_survive_a_running_replay)
{
	char a[128], b[128], db[128], args[512];
	home_hours(a, b, sizeof(a));
	snprintf(db, sizeof(db), "%s/req.db", tmpdir);
	snprintf(args, sizeof(args), "replay --learn-for 1h --db '%s' '%s'", db, a);
	struct run r = run_iotids(args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);

	pid_t pid = replay_in_background(db, b);
	snprintf(args, sizeof(args), "profile relearn --db '%s' --reason 'firmware 1.2' smartplug", db);
	r = run_iotids(args);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_str_eq(r.out, "d8:1f:12:13:8a:c7: learning again from its last event\n");
	run_free(&r);
	snprintf(args, sizeof(args), "profile forget --db '%s' galaxy", db);
	r = run_iotids(args);
	cr_expect_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the replay failed");

	/* The plug learnt again: from its last event, 07:59 (the end of the
	 * first capture) when the request reached the store before the replay
	 * loaded it, or later; its first learning ended at 07:00:07. The
	 * others enforce; the phone,
	 * forgotten, was learned anew from its next packet or is gone, never
	 * its old enforcing profile. */
	json_t *tv = listed(db, "8c:79:f5:f4:8c:fe");
	cr_assert_not_null(tv);
	cr_expect_str_eq(json_string_value(json_object_get(tv, "state")), "enforcing");
	snprintf(args, sizeof(args), "profile show --json --db '%s' d8:1f:12:13:8a:c7", db);
	r = run_iotids(args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *plug = parse_json_line(r.out);
	run_free(&r);
	const char *ended = json_string_value(json_object_get(plug, "learning_ended"));
	cr_expect(!ended || strcmp(ended, "2026-03-02T08:59") > 0, "the relearn was undone: learning ended %s", ended);
	json_decref(plug);
	json_t *phone = listed(db, "72:29:72:56:0c:f7");
	if (phone)
		cr_expect_eq(json_integer_value(json_object_get(phone, "version")), 0,
			     "the forgotten phone kept its old version");
	json_decref(tv);
	json_decref(phone);
	char *audit = sqlite(db, "SELECT device, op, coalesce(reason, '-') FROM changes ORDER BY id;");
	cr_expect_str_eq(audit, "d8:1f:12:13:8a:c7|relearn|firmware 1.2\n72:29:72:56:0c:f7|forget|-\n");
	free(audit);
	/* A request that landed after the replay's last checkpoint waits for
	 * the next detector to load the store. */
	snprintf(args, sizeof(args), "replay --learn-for 1h --db '%s' '%s'", db, b);
	r = run_iotids(args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	audit = sqlite(db, "SELECT count(*) FROM changes WHERE applied = 0;");
	cr_expect_str_eq(audit, "0\n");
	free(audit);

	snprintf(args, sizeof(args), "profile forget --db '%s' nosuch", db);
	expect_error(args, 3, "no device 'nosuch'");
}

/* kill -9 at moments spread over a replay that checkpoints all along:
 * each time the file passes SQLite's integrity check and the next replay
 * loads every profile it holds. The moments are not asserted on. */
Test(replay, a_store_killed_mid_checkpoint_is_never_damaged)
{
	char a[128], b[128], db[128], args[512];
	home_hours(a, b, sizeof(a));
	snprintf(db, sizeof(db), "%s/killed.db", tmpdir);
	static const int delays_ms[] = {20, 60, 120, 200, 320, 450};
	for (size_t i = 0; i < sizeof(delays_ms) / sizeof(delays_ms[0]); i++) {
		pid_t pid = replay_in_background(db, i % 2 ? b : a);
		usleep((useconds_t)delays_ms[i] * 1000);
		kill(pid, SIGKILL);
		int st;
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		char *ok = sqlite(db, "PRAGMA integrity_check;");
		cr_expect_str_eq(ok, "ok\n", "after a kill at %d ms", delays_ms[i]);
		free(ok);
		/* Killed before the schema was made, the file is an empty database. */
		char *tables = sqlite(db, "SELECT count(*) FROM sqlite_master WHERE name = 'profiles';");
		long long stored = 0;
		if (strcmp(tables, "0\n") != 0) {
			char *count = sqlite(db, "SELECT count(*) FROM profiles;");
			stored = strtoll(count, NULL, 10);
			free(count);
		}
		free(tables);
		snprintf(args, sizeof(args), "replay --learn-for 1h --json --no-dpi --alerts /dev/null --db '%s'", db);
		struct run r = run_on(args, DEMO);
		json_t *o = summary_of(&r);
		json_int_t loaded = json_integer_value(json_object_get(json_object_get(o, "store"), "loaded"));
		cr_expect_eq(loaded, stored, "after a kill at %d ms: %lld stored, %lld loaded", delays_ms[i],
			     (long long)stored, (long long)loaded);
		json_decref(o);
		run_free(&r);
	}
}

/* Real device captures beside the project (never copied into it): each
 * replays cleanly, whatever its link type or format. */
Test(replay, every_real_capture_in_shared_replays_without_error)
{
	static const char *const dirs[] = {"../shared/pcaps/real/iot-sentinel", "../shared/pcaps/real/ndpi-iot"};
	int files = 0;
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "ls %s/*.pcap %s/*.pcapng 2>/dev/null", dirs[d], dirs[d]);
		FILE *ls = popen(cmd, "r");
		cr_assert_not_null(ls);
		char path[512];
		while (fgets(path, sizeof(path), ls)) {
			path[strcspn(path, "\n")] = '\0';
			char args[600];
			snprintf(args, sizeof(args), "replay --json --flows --devices --windows '%s'", path);
			struct run r = run_iotids(args);
			cr_expect_eq(r.status, 0, "%s: exit %d: %s", path, r.status, r.err);
			cr_expect_gt(r.out_len, 0, "%s: no output", path);
			run_free(&r);
			files++;
		}
		pclose(ls);
	}
	if (files == 0)
		cr_skip_test("../shared/pcaps/real is absent: no real captures to replay");
	cr_expect_gt(files, 40);
}

Test(replay, a_full_disk_is_a_clear_error_and_exit_1)
{
	char cmd[512], err[128];
	snprintf(err, sizeof(err), "%s/full.err", tmpdir);
	snprintf(cmd, sizeof(cmd), "'%s' replay --flows --json " DEMO " >/dev/full 2>'%s'", bin("IOTIDS_BIN"), err);
	int st = system(cmd);
	cr_assert(WIFEXITED(st));
	cr_expect_eq(WEXITSTATUS(st), 1);
	char *text = genrun_slurp(err, NULL);
	cr_assert_not_null(text);
	cr_expect_not_null(strstr(text, "writing output: No space left on device"), "%s", text);
	free(text);
}

/* iotids args, which must succeed; its stdout (free it). */
static char *ok_out(const char *args)
{
	struct run r = run_iotids(args);
	cr_assert_eq(r.status, 0, "%s: %s", args, r.err);
	free(r.err);
	return r.out;
}

/* The demo learned for 2h into a store at dir/name. */
static void demo_store(char *db, size_t len, const char *name)
{
	char args[512];
	snprintf(db, len, "%s/%s", tmpdir, name);
	snprintf(args, sizeof(args), "replay --learn-for 2h --alerts /dev/null --db '%s' " DEMO, db);
	free(ok_out(args));
}

/* accept and rollback act on the stored profile, each make a version with
 * its reason, are audited, and diff tells what they changed. */
Test(replay, accept_rollback_and_diff_make_versions_and_are_audited)
{
	char db[128], args[512], *out;
	demo_store(db, sizeof(db), "acc.db");
	snprintf(args, sizeof(args),
		 "profile accept --db '%s' --port 443/tcp --for 2h --reason 'vendor cdn' smartplug example.com", db);
	out = ok_out(args);
	cr_expect_str_eq(out, "d8:1f:12:13:8a:c7: example.com accepted for 2h (a new version)\n");
	free(out);

	snprintf(args, sizeof(args), "profile show --json --db '%s' smartplug", db);
	out = ok_out(args);
	json_t *p = parse_json_line(out), *acc = json_array_get(json_object_get(p, "accepted"), 0);
	free(out);
	cr_assert_not_null(acc);
	cr_expect_str_eq(json_string_value(json_object_get(acc, "dest")), "example.com");
	cr_expect_eq(json_integer_value(json_object_get(acc, "port")), 443);
	cr_expect_str_eq(json_string_value(json_object_get(acc, "transport")), "tcp");
	cr_expect_str_eq(json_string_value(json_object_get(acc, "reason")), "vendor cdn");
	/* From the plug's last event, in capture time. */
	cr_expect_str_eq(json_string_value(json_object_get(acc, "since")),
			 json_string_value(json_object_get(p, "last_seen")));
	cr_expect_str_eq(json_string_value(json_object_get(acc, "until")), "2026-03-02T10:59:00.000000Z");
	json_decref(p);

	snprintf(args, sizeof(args), "profile diff --json --db '%s' smartplug 1 2", db);
	out = ok_out(args);
	json_t *d = parse_json_line(out);
	free(out);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(d, "to"), "reason")),
			 "accepted example.com:443/tcp for 2h: vendor cdn");
	json_t *added = json_object_get(json_object_get(d, "accepted"), "added");
	cr_expect_eq(json_array_size(added), 1);
	cr_expect_str_eq(json_string_value(json_array_get(added, 0)), "example.com:443/tcp");
	cr_expect_eq(json_array_size(json_object_get(json_object_get(d, "destinations"), "added")), 0);
	cr_expect_eq(json_array_size(json_object_get(json_object_get(d, "destinations"), "removed")), 0);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(d, "state"), 1)), "enforcing");
	json_decref(d);
	/* The newest version against the profile as written: the same. */
	snprintf(args, sizeof(args), "profile diff --db '%s' smartplug", db);
	out = ok_out(args);
	cr_expect_not_null(strstr(out, "from version 2"), "%s", out);
	cr_expect_not_null(strstr(out, "  no change\n"), "%s", out);
	free(out);

	snprintf(args, sizeof(args), "profile rollback --db '%s' --reason oops d8:1f 1", db);
	out = ok_out(args);
	cr_expect_str_eq(out, "d8:1f:12:13:8a:c7: rolled back to version 1, in a new version\n");
	free(out);
	snprintf(args, sizeof(args), "profile history --json --db '%s' smartplug", db);
	out = ok_out(args);
	json_t *h = json_lines(out);
	free(out);
	cr_assert_eq(json_array_size(h), 3);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(h, 2), "reason")),
			 "rolled back to version 1: oops");
	json_decref(h);
	snprintf(args, sizeof(args), "profile diff --json --db '%s' smartplug 2 3", db);
	out = ok_out(args);
	d = parse_json_line(out);
	free(out);
	json_t *removed = json_object_get(json_object_get(d, "accepted"), "removed");
	cr_expect_eq(json_array_size(removed), 1);
	cr_expect_str_eq(json_string_value(json_array_get(removed, 0)), "example.com:443/tcp");
	json_decref(d);
	snprintf(args, sizeof(args), "profile show --json --db '%s' smartplug", db);
	out = ok_out(args);
	p = parse_json_line(out);
	free(out);
	cr_expect_eq(json_array_size(json_object_get(p, "accepted")), 0, "the rollback kept the accept");
	json_decref(p);

	char *audit = sqlite(db, "SELECT device, op, reason, coalesce(dest, '-'), port, proto, for_us, version"
				 " FROM changes ORDER BY id;");
	cr_expect_str_eq(audit, "d8:1f:12:13:8a:c7|accept|vendor cdn|example.com|443|6|7200000000|0\n"
				"d8:1f:12:13:8a:c7|rollback|oops|-|0|0|0|1\n");
	free(audit);

	/* Requests that cannot be made change nothing. */
	char *before = sqlite(db, "SELECT count(*) FROM versions; SELECT count(*) FROM changes;");
	static const struct {
		const char *args;
		int status;
		const char *says;
	} errors[] = {
		{"rollback smartplug 9", 1, "d8:1f:12:13:8a:c7: no version 9"},
		{"rollback smartplug first", 2, "'first' is not a version"},
		{"accept smartplug 'bad name!'", 1, "neither a host name, an address nor a CIDR"},
		{"accept smartplug 10.0.0.0/33", 1, "neither a host name"},
		{"accept --reason \"$(head -c 1100 /dev/zero | tr '\\0' r)\" smartplug example.com", 1,
		 "a reason of at most 1023 bytes"},
		{"accept --port 70000 smartplug example.com", 2, "--port '70000'"},
		{"accept --port 53/sctp smartplug example.com", 2, "--port '53/sctp'"},
		{"accept --for 0s smartplug example.com", 2, "--for '0s'"},
		{"accept smartplug", 2, "expected DEVICE DEST"},
		{"list --port 443", 2, "--port and --for are for accept"},
		{"diff smartplug 1 2 3", 2, "expected DEVICE [V1 [V2]]"},
		{"diff smartplug 7", 1, "has no version 7"},
		{"accept nosuch example.com", 3, "no device 'nosuch'"},
		{"rollback 7 1", 3, "matches 2 devices"},
	};
	for (size_t k = 0; k < sizeof(errors) / sizeof(errors[0]); k++) {
		snprintf(args, sizeof(args), "profile --db '%s' %s", db, errors[k].args);
		expect_error(args, errors[k].status, errors[k].says);
	}
	char *after = sqlite(db, "SELECT count(*) FROM versions; SELECT count(*) FROM changes;");
	cr_expect_str_eq(after, before, "a refused request changed the store");
	free(before);
	free(after);
}

/* What was accepted in the store is what the detector honours: the same
 * capture replayed over two copies of a store, one with an accept. */
Test(replay, a_destination_accepted_in_the_store_no_longer_alerts)
{
	char db[128], with[128], args[512], a1[128], a2[128];
	demo_store(db, sizeof(db), "base.db");
	snprintf(with, sizeof(with), "%s/with.db", tmpdir);
	snprintf(args, sizeof(args), "VACUUM INTO '%s';", with);
	free(sqlite(db, args));
	snprintf(args, sizeof(args), "profile accept --db '%s' --port 80/tcp c0:56 146.187.105.0/24", with);
	free(ok_out(args));
	snprintf(a1, sizeof(a1), "%s/a1.json", tmpdir);
	snprintf(a2, sizeof(a2), "%s/a2.json", tmpdir);
	snprintf(args, sizeof(args), "replay --learn-for 2h --alerts '%s' --db '%s' " DEMO, a1, db);
	free(ok_out(args));
	snprintf(args, sizeof(args), "replay --learn-for 2h --alerts '%s' --db '%s' " DEMO, a2, with);
	free(ok_out(args));
	char *t1 = genrun_slurp(a1, NULL), *t2 = genrun_slurp(a2, NULL);
	cr_assert(t1 && t2);
	cr_expect_not_null(strstr(t1, "\"about\":\"146.187.105.0/24:80/tcp\""), "the control run lacks the alert");
	cr_expect_null(strstr(t2, "\"about\":\"146.187.105.0/24:80/tcp\""), "an accepted destination alerted");
	cr_expect_not_null(strstr(t2, ":23/tcp\""), "the camera's other destinations stopped alerting");
	free(t1);
	free(t2);
	snprintf(args, sizeof(args), "profile show --json --db '%s' c0:56", with);
	char *out = ok_out(args);
	json_t *p = parse_json_line(out);
	free(out);
	json_t *acc = json_array_get(json_object_get(p, "accepted"), 0);
	cr_assert_not_null(acc);
	cr_expect_geq(json_integer_value(json_object_get(acc, "flows")), 1);
	json_decref(p);
}

/* The store keeps every alert of the replay, as the JSON lines it wrote,
 * and alerts list filters them. */
Test(replay, alerts_list_gives_back_the_alerts_of_the_replay_and_filters_them)
{
	char db[128], args[512], file[128];
	snprintf(db, sizeof(db), "%s/alerts.db", tmpdir);
	snprintf(file, sizeof(file), "%s/alerts.json", tmpdir);
	snprintf(args, sizeof(args), "replay --learn-for 2h --alerts '%s' --db '%s' " DEMO, file, db);
	free(ok_out(args));
	char *written = genrun_slurp(file, NULL);
	cr_assert_not_null(written);
	snprintf(args, sizeof(args), "alerts list --json --db '%s'", db);
	char *out = ok_out(args);
	cr_expect_str_eq(out, written, "the store's alerts differ from the file's");
	free(out);
	char *copy = strdup(written);
	json_t *all = json_lines(copy); /* it cuts its argument into lines */
	free(copy);
	size_t n = json_array_size(all), cam = 0, scans = 0, late = 0, i;
	json_t *o;
	cr_assert_gt(n, 5);
	json_array_foreach(all, i, o)
	{
		json_t *dev = json_object_get(o, "device");
		cam += !strcmp(json_string_value(json_object_get(dev, "mac")), "c0:56:e3:fa:8a:c3");
		scans += !strcmp(json_string_value(json_object_get(o, "kind")), "new_lan_peer");
		late += strcmp(json_string_value(json_object_get(o, "ts")), "2026-03-02T08:30:00") >= 0;
	}
	struct {
		const char *filter;
		size_t want;
	} cases[] = {
		{"--device DS-2CD", cam},
		{"--kind new_lan_peer", scans},
		{"--since 2026-03-02T08:30:00Z", late},
		{"--limit 3", 3},
		{"--since 2026-03-03", 0},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		snprintf(args, sizeof(args), "alerts list --json --db '%s' %s", db, cases[k].filter);
		out = ok_out(args);
		json_t *got = json_lines(out);
		cr_expect_eq(json_array_size(got), cases[k].want, "%s: %zu alerts", cases[k].filter, json_array_size(got));
		json_decref(got);
		free(out);
	}
	/* profile list counts them per device. */
	json_t *row = listed(db, "c0:56:e3:fa:8a:c3");
	cr_assert_not_null(row);
	cr_expect_eq((size_t)json_integer_value(json_object_get(row, "alerts")), cam);
	json_decref(row);
	/* --limit gives the newest; --since a duration counts back from the
	 * newest event the store knows (the capture's end, 08:59:56). */
	snprintf(args, sizeof(args), "alerts list --json --db '%s' --limit 1", db);
	out = ok_out(args);
	cr_assert_not_null(strstr(written, out));
	cr_expect_eq(strlen(strstr(written, out)), strlen(out), "--limit 1 is not the last alert");
	free(out);
	snprintf(args, sizeof(args), "alerts list --db '%s' --since 30m", db);
	char *rel = ok_out(args);
	snprintf(args, sizeof(args), "alerts list --db '%s' --since 2026-03-02T08:29:56Z", db);
	out = ok_out(args);
	cr_expect_str_eq(rel, out);
	cr_expect_not_null(strstr(out, "TIME"), "%s", out);
	free(rel);
	free(out);
	json_decref(all);
	free(written);

	snprintf(args, sizeof(args), "alerts list --db '%s' --kind nope", db);
	expect_error(args, 2, "not a kind of alert; the kinds are: unexpected_destination");
	snprintf(args, sizeof(args), "alerts list --db '%s' --since yesterday", db);
	expect_error(args, 2, "--since 'yesterday'");
	snprintf(args, sizeof(args), "alerts list --db '%s' --since 2026-03-02T08:30:00+05:00", db);
	expect_error(args, 2, "--since '2026-03-02T08:30:00+05:00'");
	snprintf(args, sizeof(args), "alerts list --db '%s' --device nosuch", db);
	expect_error(args, 3, "no device 'nosuch'");
	snprintf(args, sizeof(args), "alerts --db '%s'", db);
	expect_error(args, 2, "the subcommand is list");
}

/* A store of schema 1 (tests/data/store-v1.sql, made by iotids before
 * schema 2) is migrated when opened: its profiles read, its queued request
 * applied, its tables gain what schemas 2 and 3 have. */
Test(replay, a_schema_1_store_is_migrated_and_keeps_its_profiles)
{
	char db[128], args[512];
	snprintf(db, sizeof(db), "%s/v1.db", tmpdir);
	free(sqlite(db, ".read tests/data/store-v1.sql"));
	char *v = sqlite(db, "SELECT value FROM meta;");
	cr_assert_str_eq(v, "1\n");
	free(v);
	snprintf(args, sizeof(args), "profile list --json --db '%s'", db);
	char *out = ok_out(args);
	json_t *rows = json_lines(out);
	free(out);
	cr_expect_eq(json_array_size(rows), 2);
	json_decref(rows);
	v = sqlite(db, "SELECT value FROM meta; SELECT count(*) FROM alerts; SELECT count(*) FROM changes WHERE"
		       " applied = 0 AND op = 'relearn'; SELECT count(*) FROM pragma_table_info('alerts')"
		       " WHERE name = 'suppressed_by';");
	cr_expect_str_eq(v, "3\n0\n1\n1\n");
	free(v);
	snprintf(args, sizeof(args), "profile show --db '%s' smartplug", db);
	out = ok_out(args);
	cr_expect_not_null(strstr(out, "device d8:1f:12:13:8a:c7"), "%s", out);
	free(out);
	snprintf(args, sizeof(args), "replay --learn-for 1h --json --alerts /dev/null --db '%s' " DEMO, db);
	struct run r = run_iotids(args);
	json_t *o = summary_of(&r);
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(o, "store"), "loaded")), 2);
	json_decref(o);
	run_free(&r);
	v = sqlite(db, "SELECT count(*) FROM changes WHERE applied = 0;");
	cr_expect_str_eq(v, "0\n");
	free(v);
}

/* A writer holding the store's lock past STORE_BUSY_MS: a request says the
 * store is locked and changes nothing; a listing still reads (WAL). */
Test(replay, a_locked_store_is_one_clear_line_and_changes_nothing)
{
	char db[128], args[512], ready[160], script[512];
	demo_store(db, sizeof(db), "locked.db");
	snprintf(ready, sizeof(ready), "%s/lock-held", tmpdir);
	snprintf(script, sizeof(script),
		 "(echo 'BEGIN IMMEDIATE;'; echo \"SELECT 'held';\"; sleep 30; echo 'COMMIT;') | sqlite3 '%s' >'%s'", db,
		 ready);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setsid();
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(98);
	}
	for (int i = 0; i < 3000; i++) {
		char *held = genrun_slurp(ready, NULL);
		bool yes = held && strstr(held, "held");
		free(held);
		if (yes)
			break;
		usleep(10000);
	}
	snprintf(args, sizeof(args), "profile accept --db '%s' smartplug example.com", db);
	expect_error(args, 1, "locked by another process");
	snprintf(args, sizeof(args), "profile list --db '%s'", db);
	free(ok_out(args));
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
	char *n = sqlite(db, "SELECT count(*) FROM changes; SELECT count(*) FROM versions WHERE reason LIKE 'accepted%';");
	cr_expect_str_eq(n, "0\n0\n");
	free(n);
}

/* ---- rules ---- */

/* The camera's HTTP to 146.187.105.0/24 that the demo alerts on, excepted
 * for the camera; the same exception for the plug must change nothing. */
static const char cam_rules[] = "exceptions:\n"
				"  - name: plug-http\n"
				"    devices: {hostname: \"SmartPlug-*\"}\n"
				"    destinations: [146.187.105.0/24]\n"
				"    reason: scope test, must not touch the camera\n"
				"  - name: cam-http\n"
				"    devices: {oui: \"c0:56:e3\"}\n"
				"    destinations: [146.187.105.0/24]\n"
				"    ports: [80/tcp]\n"
				"    reason: the camera's vendor portal\n";

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

Test(replay, rules_check_says_ok_or_lists_every_error_with_its_line)
{
	char good[128], bad[128], args[512];
	snprintf(good, sizeof(good), "%s/good.yaml", tmpdir);
	snprintf(bad, sizeof(bad), "%s/bad.yaml", tmpdir);
	write_file(good, cam_rules);
	write_file(bad, "exceptions:\n  - name: x\n    devices: {mac: nope}\n    kinds: [scan, nonsense]\n");
	snprintf(args, sizeof(args), "rules check '%s'", good);
	char *out = ok_out(args);
	cr_expect(strstr(out, ": ok, 0 update rules and 2 exceptions") != NULL, "%s", out);
	free(out);
	snprintf(args, sizeof(args), "rules check '%s'", bad);
	struct run r = run_iotids(args);
	cr_expect_eq(r.status, 1);
	char want[256];
	snprintf(want, sizeof(want), "%s:3:20: mac: nope: expected six bytes", bad);
	cr_expect(strstr(r.err, want) != NULL, "%s", r.err);
	snprintf(want, sizeof(want), "%s:4:19: kinds: unknown alert kind 'nonsense'", bad);
	cr_expect(strstr(r.err, want) != NULL, "%s", r.err);
	snprintf(want, sizeof(want), "%s:2:5: exceptions: a rule needs name, devices and reason; this one has no reason", bad);
	cr_expect(strstr(r.err, want) != NULL, "%s", r.err);
	cr_expect(strstr(r.err, ": 3 errors") != NULL, "%s", r.err);
	run_free(&r);
	/* A replay refuses the same file before reading any packet. */
	snprintf(args, sizeof(args), "replay --rules '%s' " DEMO, bad);
	r = run_iotids(args);
	cr_expect_eq(r.status, 2);
	cr_expect(strstr(r.err, "kinds: unknown alert kind 'nonsense'") != NULL, "%s", r.err);
	cr_expect_eq(r.out_len, 0);
	run_free(&r);
}

/* An exception suppresses exactly what it covers: gone from the alerts
 * output, kept in the store with the rule, counted in the summary. */
Test(replay, an_exception_suppresses_its_alerts_records_them_and_touches_nothing_else)
{
	char rules[128], db[128], a1[128], a2[128], args[768];
	snprintf(rules, sizeof(rules), "%s/cam.yaml", tmpdir);
	snprintf(db, sizeof(db), "%s/rules.db", tmpdir);
	snprintf(a1, sizeof(a1), "%s/a1.json", tmpdir);
	snprintf(a2, sizeof(a2), "%s/a2.json", tmpdir);
	write_file(rules, cam_rules);
	snprintf(args, sizeof(args), "replay --learn-for 2h --alerts '%s' " DEMO, a1);
	free(ok_out(args));
	snprintf(args, sizeof(args), "replay --learn-for 2h --alerts '%s' --rules '%s' --db '%s' " DEMO, a2, rules, db);
	char *summary = ok_out(args);
	char *t1 = genrun_slurp(a1, NULL), *t2 = genrun_slurp(a2, NULL);
	cr_assert(t1 && t2);
	size_t cam80 = count_of(t1, "\"about\":\"146.187.105.0/24:80/tcp\"");
	cr_assert_geq(cam80, 1, "the control run lacks the camera's alert");
	cr_expect_eq(count_of(t2, "\"about\":\"146.187.105.0/24:80/tcp\""), 0);
	cr_expect_eq(count_of(t2, "suppressed_by"), 0, "a suppressed alert reached the alerts output");
	/* Every other alert is still raised. (Some the burst limit folded may
	 * now go out: what a rule suppresses never crowds out the rest.) */
	for (char *line = t1, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		json_t *a = parse_json_line(line);
		const char *id = json_string_value(json_object_get(a, "alert_id"));
		const char *about = json_string_value(json_object_get(a, "about"));
		char want_id[64];
		snprintf(want_id, sizeof(want_id), "\"alert_id\":\"%s\"", id);
		if (strcmp(about, "146.187.105.0/24:80/tcp") != 0)
			cr_expect(strstr(t2, want_id) != NULL, "alert %s (%s) is gone", id, about);
		json_decref(a);
	}
	snprintf(args, sizeof(args), "alerts list --suppressed --json --db '%s'", db);
	char *sup = ok_out(args);
	cr_expect_eq(count_of(sup, "\"suppressed_by\":\"cam-http\""), cam80, "%s", sup);
	cr_expect_eq(count_of(sup, "\n"), cam80);
	cr_expect_eq(count_of(sup, "plug-http"), 0);
	snprintf(args, sizeof(args), "alerts list --db '%s'", db);
	char *listed_text = ok_out(args);
	cr_expect_eq(count_of(listed_text, "146.187.105.0/24:80/tcp"), 0);
	char want[128];
	snprintf(want, sizeof(want), "alerts suppressed (cam-http %zu)", cam80);
	cr_expect(strstr(summary, want) != NULL, "%s", summary);
	cr_expect(strstr(summary, "rules       2 (0 updates, 2 exceptions) from ") != NULL, "%s", summary);
	free(listed_text);
	free(sup);
	free(summary);
	free(t1);
	free(t2);
}

/* The demo through a FIFO: its learning hours, then SIGHUP with new rules
 * on disk (sent by `iotids rules reload --db` when db is given), then the
 * rest. Returns iotids' stderr; the alerts go to alerts. */
static char *replay_with_reload(const char *rules, const char *next_rules, const char *alerts, const char *db)
{
	char fifo[128], err[128];
	snprintf(fifo, sizeof(fifo), "%s/hup.fifo", tmpdir);
	snprintf(err, sizeof(err), "%s/hup.err", tmpdir);
	unlink(fifo);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int nul = open("/dev/null", O_WRONLY);
		if (fd < 0 || nul < 0 || dup2(nul, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(99);
		if (db)
			execl(bin("IOTIDS_BIN"), "iotids", "replay", "--learn-for", "2h", "--rules", rules, "--alerts",
			      alerts, "--db", db, fifo, (char *)NULL);
		else
			execl(bin("IOTIDS_BIN"), "iotids", "replay", "--learn-for", "2h", "--rules", rules, "--alerts",
			      alerts, fifo, (char *)NULL);
		_exit(98);
	}
	size_t n = 0;
	char *demo = genrun_slurp(DEMO, &n);
	cr_assert_not_null(demo);
	uint32_t first;
	memcpy(&first, demo + 24, 4);
	size_t cut = genrun_offset_at(demo, n, first + 2 * 3600);
	cr_assert(cut > 24 && cut < n);
	FILE *w = fopen(fifo, "wb");
	cr_assert_not_null(w);
	cr_assert_eq(fwrite(demo, 1, cut, w), cut);
	cr_assert_eq(fflush(w), 0);
	char path[128];
	snprintf(path, sizeof(path), "%s.new", rules);
	write_file(path, next_rules);
	cr_assert_eq(rename(path, rules), 0);
	/* Delivered before iotids can see a byte of what follows. The FIFO
	 * holds less than what was written: iotids is reading packets, past
	 * recording its pid in the store. */
	if (db) {
		char args[512];
		snprintf(args, sizeof(args), "rules reload --db '%s'", db);
		struct run r = run_iotids(args);
		cr_assert_eq(r.status, 0, "%s", r.err);
		char want[64];
		snprintf(want, sizeof(want), "sent SIGHUP to iotids (pid %ld)", (long)pid);
		cr_expect(strstr(r.out, want) != NULL, "%s", r.out);
		run_free(&r);
	} else {
		cr_assert_eq(kill(pid, SIGHUP), 0);
	}
	cr_assert_eq(fwrite(demo + cut, 1, n - cut, w), n - cut);
	cr_assert_eq(fclose(w), 0);
	free(demo);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "iotids failed: %s", genrun_slurp(err, NULL));
	return genrun_slurp(err, NULL);
}

Test(replay, sighup_reloads_the_rules_and_a_broken_file_keeps_the_old_ones)
{
	char rules[128], alerts[128];
	snprintf(rules, sizeof(rules), "%s/live.yaml", tmpdir);
	snprintf(alerts, sizeof(alerts), "%s/hup.json", tmpdir);
	/* None, then the camera's exception: its attack hour is suppressed. */
	write_file(rules, "# none yet\n");
	char *err = replay_with_reload(rules, cam_rules, alerts, NULL);
	cr_expect(strstr(err, "iotids: rules: reloaded 2 rules (0 updates, 2 exceptions) from ") != NULL, "%s", err);
	char *text = genrun_slurp(alerts, NULL);
	cr_assert_not_null(text);
	cr_expect_eq(count_of(text, "\"about\":\"146.187.105.0/24:80/tcp\""), 0, "the reloaded rule did not apply");
	cr_expect_geq(count_of(text, ":23/tcp\""), 1);
	free(text);
	free(err);
	/* The exception, then a broken file: the exception stays in force. */
	write_file(rules, cam_rules);
	err = replay_with_reload(rules, "exceptions:\n  - name: [oops\n", alerts, NULL);
	cr_expect(strstr(err, "live.yaml:3:1: did not find expected ',' or ']'") != NULL, "%s", err);
	cr_expect(strstr(err, "not reloaded: the 2 rules in force stay") != NULL, "%s", err);
	text = genrun_slurp(alerts, NULL);
	cr_assert_not_null(text);
	cr_expect_eq(count_of(text, "\"about\":\"146.187.105.0/24:80/tcp\""), 0, "a broken reload dropped the rules");
	free(text);
	free(err);
}

Test(replay, rules_reload_signals_the_iotids_that_has_the_store_open)
{
	char db[128], args[256], rules[128], alerts[128];
	snprintf(rules, sizeof(rules), "%s/live.yaml", tmpdir);
	snprintf(alerts, sizeof(alerts), "%s/cli.json", tmpdir);
	snprintf(db, sizeof(db), "%s/live.db", tmpdir);
	write_file(rules, "# none yet\n");
	char *err = replay_with_reload(rules, cam_rules, alerts, db);
	cr_expect(strstr(err, "iotids: rules: reloaded 2 rules") != NULL, "%s", err);
	free(err);
	char *text = genrun_slurp(alerts, NULL);
	cr_assert_not_null(text);
	cr_expect_eq(count_of(text, "\"about\":\"146.187.105.0/24:80/tcp\""), 0, "the reloaded rule did not apply");
	free(text);
	/* Once it exited, nothing has the store open. */
	snprintf(args, sizeof(args), "rules reload --db '%s'", db);
	struct run r = run_iotids(args);
	cr_expect_eq(r.status, 1);
	cr_expect(strstr(r.err, "no iotids has") != NULL, "%s", r.err);
	run_free(&r);
	/* A stale pid left by a killed iotids gets no signal. */
	free(sqlite(db, "INSERT INTO meta(key, value) VALUES('detector_pid', '1');"));
	r = run_iotids(args);
	cr_expect_eq(r.status, 1);
	cr_expect(strstr(r.err, "process 1 is not a running iotids") != NULL, "%s", r.err);
	run_free(&r);
	r = run_iotids("rules reload --pid nope");
	cr_expect_eq(r.status, 2);
	run_free(&r);
}

/* The demo's plug pulls an image from a new CDN host at 08:48:30 and then
 * reports to a new telemetry host: an update rule with relearn opens a
 * window, keeps the profile before the update as a version, and the
 * version when relearning ends holds what the new firmware does. */
Test(replay, an_update_rule_relearns_the_device_and_keeps_the_profile_before_and_after)
{
	char rules[128], db[128], alerts[128], args[512];
	snprintf(rules, sizeof(rules), "%s/fw.yaml", tmpdir);
	snprintf(db, sizeof(db), "%s/fw.db", tmpdir);
	snprintf(alerts, sizeof(alerts), "%s/fw.json", tmpdir);
	write_file(rules, "updates:\n"
			  "  - name: tuya-fw\n"
			  "    devices: {vendor: \"Tuya*\"}\n"
			  "    hosts: [\"*.tuyacdn.com\"]\n"
			  "    window: 30m\n"
			  "    relearn: 5m\n");
	snprintf(args, sizeof(args), "replay --learn-for 2h --rules '%s' --db '%s' --alerts '%s' " DEMO, rules, db,
		 alerts);
	char *out = ok_out(args);
	cr_expect(strstr(out, ": 1 update windows, 0 alerts suppressed") != NULL, "%s", out);
	free(out);
	char *text = genrun_slurp(alerts, NULL);
	cr_assert_not_null(text);
	cr_expect_eq(count_of(text, "tuyacdn.com"), 0, "%s", text);
	cr_expect_eq(count_of(text, "tuyalog.com"), 0, "%s", text);
	free(text);
	snprintf(args, sizeof(args), "profile history --db '%s' smartplug", db);
	out = ok_out(args);
	cr_expect(strstr(out, "      2 2026-03-02T08:48:30.572714Z before firmware update: rule tuya-fw, "
			      "ota-eu.tuyacdn.com:443/tcp; relearning for 300s\n") != NULL,
		  "%s", out);
	cr_expect(strstr(out, "      3 2026-03-02T08:53:30.572714Z learning ended\n") != NULL, "%s", out);
	free(out);
	snprintf(args, sizeof(args), "profile diff --db '%s' smartplug 2 3", db);
	out = ok_out(args);
	cr_expect(strstr(out, "  + destination      ota-eu.tuyacdn.com:443/tcp\n") != NULL, "%s", out);
	cr_expect(strstr(out, "  + destination      telemetry-eu.tuyalog.com:443/tcp\n") != NULL, "%s", out);
	cr_expect_eq(count_of(out, "  - "), 0, "an update removed something: %s", out);
	free(out);
	/* A relearn that begins and ends between two checkpoints (every 5
	 * minutes of capture time) still gets its version. */
	write_file(rules, "updates:\n"
			  "  - {name: tuya-fw, devices: {vendor: \"Tuya*\"}, hosts: [\"*.tuyacdn.com\"], relearn: 60s}\n");
	snprintf(db, sizeof(db), "%s/fw60.db", tmpdir);
	snprintf(args, sizeof(args), "replay --learn-for 2h --rules '%s' --db '%s' --alerts /dev/null " DEMO, rules, db);
	free(ok_out(args));
	snprintf(args, sizeof(args), "profile history --db '%s' smartplug", db);
	out = ok_out(args);
	cr_expect(strstr(out, "      2 2026-03-02T08:48:30.572714Z before firmware update: rule tuya-fw, ") != NULL,
		  "%s", out);
	cr_expect(strstr(out, "      3 2026-03-02T08:49:30.572714Z learning ended\n") != NULL, "%s", out);
	free(out);
	/* Without the rule the same capture alerts on both hosts. */
	snprintf(args, sizeof(args), "replay --learn-for 2h --alerts '%s' " DEMO, alerts);
	free(ok_out(args));
	text = genrun_slurp(alerts, NULL);
	cr_assert_not_null(text);
	cr_expect_geq(count_of(text, "\"about\":\"ota-eu.tuyacdn.com:443/tcp\""), 1);
	cr_expect_geq(count_of(text, "\"about\":\"telemetry-eu.tuyalog.com:443/tcp\""), 1);
	free(text);
}
