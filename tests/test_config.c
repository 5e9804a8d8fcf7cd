/*
 * Tests for cli/config.c: defaults, loading YAML files, error messages with
 * their exact positions, durations, and hostile input.
 *
 * Every test gets a fresh mkdtemp() directory, removed with its files after.
 */
#include "cli/config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/cap.h"

static char dir[PATH_MAX];
static char path[PATH_MAX + 16];  /* dir/cfg.yaml, the file most tests write */
static char err[512];

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/iotids-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/cfg.yaml", dir);
}

static void teardown(void)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char p[PATH_MAX * 2];
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) != 0)
			rmdir(p);
	}
	closedir(d);
	rmdir(dir);
}

TestSuite(config, .init = setup, .fini = teardown);

static void write_bytes(const char *p, const void *data, size_t len)
{
	FILE *f = fopen(p, "wb");
	cr_assert_not_null(f, "fopen %s: %s", p, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void write_cfg(const char *text)
{
	write_bytes(path, text, strlen(text));
}

static struct iotids_config defaults(void)
{
	struct iotids_config c;
	cfg_defaults(&c);
	return c;
}

/* A config that differs from the defaults everywhere, so "unchanged" cannot
 * pass by accident. */
static struct iotids_config custom(void)
{
	struct iotids_config c = defaults();
	cr_assert_eq(ip_prefix_parse("192.0.2.0/24", &c.home_nets[0]), 0);
	c.n_home_nets = 1;
	c.learn_ipv6_prefixes = false;
	c.window_s = 77;
	c.window_max_remotes = 7;
	c.max_flows = 7777;
	for (int t = 0; t < CFG_TIMEOUT_COUNT; t++)
		c.timeouts_s[t] = 70 + (uint32_t)t;
	c.max_devices = 777;
	return c;
}

static const char *prefix_text(const struct ip_prefix *p)
{
	static char buf[4][IP_PREFIX_STRLEN];
	static int i;
	i = (i + 1) % 4;
	return ip_prefix_format(p, buf[i], sizeof(buf[i]));
}

/* Loads `text` into a custom config and checks the error: rc, that the
 * message starts with "PATH:LINE:COL: ", contains `msg`, is one line, and
 * that the config is untouched. */
static void expect_error_rc(const char *text, int want_rc, const char *linecol, const char *msg)
{
	struct iotids_config c = custom(), before = c;
	char want[PATH_MAX + 64];

	write_cfg(text);
	int rc = cfg_load(&c, path, err, sizeof(err));
	cr_assert_eq(rc, want_rc, "rc %d, want %d (%s)", rc, want_rc, err);
	snprintf(want, sizeof(want), "%s:%s: ", path, linecol);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0, "error '%s' does not start with '%s'", err, want);
	cr_assert_not_null(strstr(err, msg), "error '%s' lacks '%s'", err, msg);
	cr_assert_null(strchr(err, '\n'), "error is more than one line: '%s'", err);
	cr_assert_eq(memcmp(&c, &before, sizeof(c)), 0, "config changed by a failed load");
}

static void expect_error(const char *text, const char *linecol, const char *msg)
{
	expect_error_rc(text, -EINVAL, linecol, msg);
}

static struct iotids_config load_ok(const char *text)
{
	struct iotids_config c = defaults();
	write_cfg(text);
	int rc = cfg_load(&c, path, err, sizeof(err));
	cr_assert_eq(rc, 0, "cfg_load: %d %s", rc, err);
	cr_assert_str_empty(err);
	return c;
}

/* ---- defaults and valid files ---- */

Test(config, defaults_match_the_documented_values)
{
	static const char *const nets[] = {
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
		"169.254.0.0/16", "fc00::/7", "fe80::/10",
	};
	struct iotids_config c = defaults();

	cr_assert_eq(c.n_home_nets, 7);
	for (size_t i = 0; i < c.n_home_nets; i++)
		cr_assert_str_eq(prefix_text(&c.home_nets[i]), nets[i]);
	cr_assert(c.learn_ipv6_prefixes);
	cr_assert_eq(c.window_s, 60);
	cr_assert_eq(c.window_max_remotes, 64);
	cr_assert_eq(c.max_flows, 131072);
	cr_assert_eq(c.timeouts_s[CFG_TIMEOUT_TCP_SYN], 30);
	cr_assert_eq(c.timeouts_s[CFG_TIMEOUT_TCP], 3600);
	cr_assert_eq(c.timeouts_s[CFG_TIMEOUT_TCP_CLOSED], 10);
	cr_assert_eq(c.timeouts_s[CFG_TIMEOUT_UDP], 120);
	cr_assert_eq(c.timeouts_s[CFG_TIMEOUT_ICMP], 30);
	cr_assert_eq(c.timeouts_s[CFG_TIMEOUT_OTHER], 60);
	cr_assert_eq(c.max_devices, 4096);
	cr_assert(c.dpi);
	cr_assert_eq(c.max_dpi_states, 16384);
	cr_assert_eq(c.max_names, 262144);
	cr_assert_eq(c.dns_cache_max, 65536);
	cr_assert_eq(c.dns_cache_per_device, 1024);
	cr_assert_str_eq(c.oui_dir, "/usr/share/ieee-data");
	cr_assert_str_eq(c.psl_path, "/usr/share/publicsuffix/public_suffix_list.dat");
}

Test(config, paths_must_be_absolute)
{
	struct iotids_config c = defaults();
	cr_assert_eq(cfg_set(&c, "identity.oui_dir", "/opt/ieee", err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.oui_dir, "/opt/ieee");
	cr_assert_neq(cfg_set(&c, "identity.oui_dir", "relative/dir", err, sizeof(err)), 0);
	cr_assert(strstr(err, "an absolute path"), "got: %s", err);
	cr_assert_str_eq(c.oui_dir, "/opt/ieee", "a rejected value must leave the setting unchanged");
	cr_assert_eq(cfg_set(&c, "dpi.enabled", "false", err, sizeof(err)), 0, "%s", err);
	cr_assert(!c.dpi);
}

Test(config, timeout_names_are_the_yaml_keys)
{
	cr_assert_str_eq(cfg_timeout_name(CFG_TIMEOUT_TCP_SYN), "tcp_syn");
	cr_assert_str_eq(cfg_timeout_name(CFG_TIMEOUT_TCP), "tcp");
	cr_assert_str_eq(cfg_timeout_name(CFG_TIMEOUT_TCP_CLOSED), "tcp_closed");
	cr_assert_str_eq(cfg_timeout_name(CFG_TIMEOUT_UDP), "udp");
	cr_assert_str_eq(cfg_timeout_name(CFG_TIMEOUT_ICMP), "icmp");
	cr_assert_str_eq(cfg_timeout_name(CFG_TIMEOUT_OTHER), "other");
	cr_assert_null(cfg_timeout_name(CFG_TIMEOUT_COUNT));
}

Test(config, an_empty_file_keeps_every_default)
{
	struct iotids_config want = defaults(), c = load_ok("");
	cr_assert_eq(memcmp(&c, &want, sizeof(c)), 0);
}

Test(config, a_file_of_comments_and_an_empty_document_keeps_every_default)
{
	struct iotids_config want = defaults();
	struct iotids_config c = load_ok("# nothing to see\n\n   # still nothing\n");
	cr_assert_eq(memcmp(&c, &want, sizeof(c)), 0);
	c = load_ok("---\n");
	cr_assert_eq(memcmp(&c, &want, sizeof(c)), 0);
}

Test(config, a_full_file_sets_every_field)
{
	struct iotids_config c = load_ok(
		"# every key\n"
		"home_networks:\n"
		"  - 192.168.1.0/24\n"
		"  - 2001:db8:4a2b::/48\n"
		"  - 10.1.2.3/16\n"
		"learn_ipv6_prefixes: false\n"
		"windows:\n"
		"  length: 5m\n"
		"  max_remotes: 128\n"
		"flows:\n"
		"  max: 262144\n"
		"  timeouts:\n"
		"    tcp_syn: 20s\n"
		"    tcp: 1h\n"
		"    tcp_closed: 5\n"
		"    udp: 3m\n"
		"    icmp: 15s\n"
		"    other: 1d\n"
		"devices:\n"
		"  max: 100000\n");

	cr_assert_eq(c.n_home_nets, 3);
	cr_assert_str_eq(prefix_text(&c.home_nets[0]), "192.168.1.0/24");
	cr_assert_str_eq(prefix_text(&c.home_nets[1]), "2001:db8:4a2b::/48");
	cr_assert_str_eq(prefix_text(&c.home_nets[2]), "10.1.0.0/16", "host bits are cleared");
	cr_assert_not(c.learn_ipv6_prefixes);
	cr_assert_eq(c.window_s, 300);
	cr_assert_eq(c.window_max_remotes, 128);
	cr_assert_eq(c.max_flows, 262144);
	cr_assert_eq(c.timeouts_s[CFG_TIMEOUT_TCP_SYN], 20);
	cr_assert_eq(c.timeouts_s[CFG_TIMEOUT_TCP], 3600);
	cr_assert_eq(c.timeouts_s[CFG_TIMEOUT_TCP_CLOSED], 5);
	cr_assert_eq(c.timeouts_s[CFG_TIMEOUT_UDP], 180);
	cr_assert_eq(c.timeouts_s[CFG_TIMEOUT_ICMP], 15);
	cr_assert_eq(c.timeouts_s[CFG_TIMEOUT_OTHER], 86400);
	cr_assert_eq(c.max_devices, 100000);
}

Test(config, flow_style_and_quoted_scalars_are_accepted)
{
	struct iotids_config c = load_ok(
		"home_networks: [\"::/0\", 'fe80::/10']\n"
		"windows: {length: \"20m\", max_remotes: 4096}\n"
		"flows: {max: 1024, timeouts: {udp: 1d}}\n");
	cr_assert_eq(c.n_home_nets, 2);
	cr_assert_str_eq(prefix_text(&c.home_nets[0]), "::/0");
	cr_assert_eq(c.window_s, 1200);
	cr_assert_eq(c.window_max_remotes, 4096);
	cr_assert_eq(c.max_flows, 1024);
	cr_assert_eq(c.timeouts_s[CFG_TIMEOUT_UDP], 86400);
}

Test(config, a_partial_file_keeps_the_other_defaults)
{
	struct iotids_config want = defaults();
	want.window_s = 120;
	want.timeouts_s[CFG_TIMEOUT_ICMP] = 5;

	struct iotids_config c = load_ok(
		"windows:\n"
		"  length: 2m\n"
		"flows:\n"
		"  timeouts:\n"
		"    icmp: 5s\n");
	cr_assert_eq(memcmp(&c, &want, sizeof(c)), 0);
}

Test(config, a_file_overlays_the_values_already_in_the_config)
{
	struct iotids_config c = custom(), want = custom();
	want.max_devices = 16;
	write_cfg("devices: {max: 16}\n");
	cr_assert_eq(cfg_load(&c, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(&c, &want, sizeof(c)), 0);
}

Test(config, a_section_with_every_key_commented_out_keeps_its_defaults)
{
	struct iotids_config want = defaults();
	struct iotids_config c = load_ok(
		"windows:\n"
		"#  length: 60s\n"
		"flows: ~\n"
		"devices: null\n");
	cr_assert_eq(memcmp(&c, &want, sizeof(c)), 0);
}

Test(config, home_networks_replaces_the_default_list)
{
	struct iotids_config c = load_ok("home_networks:\n  - 192.0.2.0/24\n");
	cr_assert_eq(c.n_home_nets, 1);
	cr_assert_str_eq(prefix_text(&c.home_nets[0]), "192.0.2.0/24");
}

Test(config, home_networks_accepts_exactly_the_maximum_number_of_prefixes)
{
	char text[4096];
	size_t o = (size_t)snprintf(text, sizeof(text), "home_networks:\n");
	for (int i = 0; i < CFG_MAX_HOME_NETS; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "  - 10.%d.0.0/16\n", i);
	struct iotids_config c = load_ok(text);
	cr_assert_eq(c.n_home_nets, CFG_MAX_HOME_NETS);
	cr_assert_str_eq(prefix_text(&c.home_nets[CFG_MAX_HOME_NETS - 1]), "10.31.0.0/16");
}

/* ---- durations ---- */

Test(config, durations_accept_a_whole_number_with_an_optional_unit)
{
	static const struct {
		const char *text;
		uint64_t seconds;
	} ok[] = {
		{"0", 0}, {"90", 90}, {"90s", 90}, {"20m", 1200}, {"24h", 86400},
		{"7d", 604800}, {"007s", 7}, {"365d", 31536000}, {"31536000", 31536000},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t s = 12345;
		cr_assert_eq(cfg_parse_duration(ok[i].text, &s), 0, "'%s'", ok[i].text);
		cr_assert_eq(s, ok[i].seconds, "'%s' gave %llu", ok[i].text, (unsigned long long)s);
	}
}

Test(config, durations_reject_malformed_text_without_touching_the_result)
{
	static const char *const bad[] = {
		"", "s", "-5s", "+5s", " 5s", "5s ", "5 s", "1.5h", "5x", "5sec", "5S",
		"5ms", "0x10", "1e3", "5m5s", "99999999999999999999999999x", "\t1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t s = 12345;
		cr_assert_eq(cfg_parse_duration(bad[i], &s), -EINVAL, "'%s'", bad[i]);
		cr_assert_eq(s, 12345, "'%s' wrote a result", bad[i]);
	}
}

Test(config, durations_past_one_year_are_out_of_range)
{
	static const char *const far[] = {
		"366d", "31536001", "8761h", "525601m", "18446744073709551616",
		"99999999999999999999999999999d",
	};
	for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
		uint64_t s = 12345;
		cr_assert_eq(cfg_parse_duration(far[i], &s), -ERANGE, "'%s'", far[i]);
		cr_assert_eq(s, 12345);
	}
}

/* ---- errors, each with its exact position ---- */

Test(config, a_missing_file_is_reported_with_its_reason)
{
	struct iotids_config c = custom(), before = c;
	char missing[PATH_MAX + 16], want[PATH_MAX + 64];
	snprintf(missing, sizeof(missing), "%s/nope.yaml", dir);
	snprintf(want, sizeof(want), "%s: cannot open: %s", missing, strerror(ENOENT));

	cr_assert_eq(cfg_load(&c, missing, err, sizeof(err)), -ENOENT);
	cr_assert_str_eq(err, want);
	cr_assert_eq(memcmp(&c, &before, sizeof(c)), 0);
}

Test(config, a_directory_is_reported_as_unreadable)
{
	struct iotids_config c = custom(), before = c;
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "%s: cannot open: %s", dir, strerror(EISDIR));

	cr_assert_eq(cfg_load(&c, dir, err, sizeof(err)), -EISDIR);
	cr_assert_str_eq(err, want);
	cr_assert_eq(memcmp(&c, &before, sizeof(c)), 0);
}

Test(config, a_yaml_syntax_error_reports_libyamls_problem_at_its_position)
{
	expect_error("windows:\n  length: 60s\n bad: [\n", "3:2", "did not find expected key");
	expect_error("windows:\n  length: \"60s\n", "3:1", "found unexpected end of stream");
	expect_error("windows:\n\tlength: 60s\n", "2:1", "found character that cannot start any token");
}

Test(config, invalid_utf8_is_reported_at_the_offending_byte)
{
	expect_error("windows:\n  length: 6\xff" "0s\n", "2:12", "invalid leading UTF-8 octet");
	expect_error("windows:\n  length: 60s\x01\n", "2:14", "control characters are not allowed");
}

Test(config, a_top_level_that_is_not_a_mapping_is_rejected)
{
	expect_error("42\n", "1:1", "expected a mapping at the top level");
	expect_error("# a list\n- 10.0.0.0/8\n", "2:1", "expected a mapping at the top level, got a list");
}

Test(config, an_unknown_key_is_reported_with_the_keys_expected_there)
{
	expect_error("windows:\n  lenght: 60s\n", "2:3",
		     "unknown key 'lenght' in windows (expected: length, max_remotes)");
	expect_error("home_network: []\n", "1:1",
		     "unknown key 'home_network' at the top level (expected: home_networks, "
		     "learn_ipv6_prefixes, windows, flows, devices, dpi, names, identity, detector, redis, capture)");
	expect_error("flows:\n  timeouts:\n    sctp: 1m\n", "3:5",
		     "unknown key 'sctp' in flows.timeouts (expected: tcp_syn, tcp, tcp_closed, udp, icmp, other)");
}

Test(config, a_bad_cidr_is_reported_with_its_list_index)
{
	expect_error("home_networks:\n  - 10.0.0.0/8\n  - 10.0.0.0/33\n", "3:5",
		     "home_networks[1]: '10.0.0.0/33' is not a CIDR prefix");
	expect_error("home_networks: [lan]\n", "1:17", "home_networks[0]: 'lan' is not a CIDR prefix");
	expect_error("home_networks: [[10.0.0.0/8]]\n", "1:17",
		     "home_networks[0]: expected a CIDR prefix, got a list");
	expect_error("home_networks: 10.0.0.0/8\n", "1:16",
		     "home_networks: expected a list of 1 to 32 CIDR prefixes, got '10.0.0.0/8'");
}

Test(config, home_networks_must_hold_at_least_one_and_at_most_the_maximum_prefixes)
{
	expect_error("home_networks: []\n", "1:16", "home_networks: expected 1 to 32 CIDR prefixes, got none");

	char text[4096];
	size_t o = (size_t)snprintf(text, sizeof(text), "home_networks:\n");
	for (int i = 0; i <= CFG_MAX_HOME_NETS; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "  - 10.%d.0.0/16\n", i);
	expect_error(text, "34:5", "home_networks: more than 32 prefixes");
}

Test(config, a_bad_integer_is_reported_with_its_range)
{
	expect_error("flows:\n  max: lots\n", "2:8", "flows.max: expected an integer from 1024 to 16777216, got 'lots'");
	expect_error("flows: {max: -1}\n", "1:14", "got '-1'");
	expect_error("flows: {max: +2048}\n", "1:14", "got '+2048'");
	expect_error("flows: {max: 0x1000}\n", "1:14", "got '0x1000'");
	expect_error("flows: {max: 2048.0}\n", "1:14", "got '2048.0'");
	expect_error("flows: {max: 99999999999999999999999}\n", "1:14", "got '99999999999999999999999'");
	expect_error("flows: {max: [1]}\n", "1:14", "got a list");
	expect_error("flows:\n  max:\n", "2:7", "got nothing");
}

Test(config, values_outside_their_range_are_rejected)
{
	expect_error("flows: {max: 1023}\n", "1:14", "flows.max: expected an integer from 1024 to 16777216, got '1023'");
	expect_error("flows: {max: 16777217}\n", "1:14", "got '16777217'");
	expect_error("windows: {max_remotes: 0}\n", "1:24",
		     "windows.max_remotes: expected an integer from 1 to 4096, got '0'");
	expect_error("devices: {max: 15}\n", "1:16", "devices.max: expected an integer from 16 to 1048576, got '15'");
	expect_error("devices: {max: 1048577}\n", "1:16", "got '1048577'");
	expect_error("windows:\n  length: 9s\n", "2:11",
		     "windows.length: expected a duration from 10s to 1d, got '9s'");
	expect_error("windows:\n  length: 25h\n", "2:11", "got '25h'");
	expect_error("flows:\n  timeouts:\n    tcp: 0s\n", "3:10",
		     "flows.timeouts.tcp: expected a duration from 1s to 1d, got '0s'");
	expect_error("flows:\n  timeouts:\n    udp: 366d\n", "3:10", "got '366d'");
	expect_error("flows:\n  timeouts:\n    icmp: 1.5m\n", "3:11", "got '1.5m'");
}

Test(config, a_boolean_must_be_exactly_true_or_false)
{
	expect_error("learn_ipv6_prefixes: yes\n", "1:22", "learn_ipv6_prefixes: expected true or false, got 'yes'");
	expect_error("learn_ipv6_prefixes: on\n", "1:22", "got 'on'");
	expect_error("learn_ipv6_prefixes: 1\n", "1:22", "got '1'");
	expect_error("learn_ipv6_prefixes:\n", "1:21", "got nothing");
}

Test(config, a_section_that_is_not_a_mapping_is_rejected)
{
	expect_error("windows: 60s\n", "1:10", "windows: expected a mapping, got '60s'");
	expect_error("flows:\n  timeouts: [1s]\n", "2:13", "flows.timeouts: expected a mapping, got a list");
}

Test(config, a_duplicate_key_is_an_error)
{
	expect_error("windows:\n  length: 60s\n  length: 30s\n", "3:3",
		     "duplicate key 'length' in windows (first at line 2)");
	expect_error("devices: {max: 16}\nflows: {}\ndevices: {max: 32}\n", "3:1",
		     "duplicate key 'devices' at the top level");
}

Test(config, anchors_and_aliases_are_rejected)
{
	expect_error("windows: &w {length: 60s}\n", "1:10", "aliases are not supported");
	expect_error("windows:\n  length: &d 60s\n", "2:11", "aliases are not supported");
	expect_error("windows: *w\n", "1:10", "aliases are not supported");
	expect_error("home_networks: [*a]\n", "1:17", "aliases are not supported");
}

Test(config, tags_are_rejected)
{
	expect_error("windows: !!map {length: 60s}\n", "1:10", "tags are not supported");
	expect_error("flows:\n  max: !!int 2048\n", "2:8", "tags are not supported");
	expect_error("devices: {max: ! 64}\n", "1:16", "tags are not supported");
}

Test(config, a_second_document_is_rejected)
{
	expect_error("windows: {}\n---\ndevices: {}\n", "2:1", "only one YAML document is allowed");
}

Test(config, a_key_that_is_not_a_scalar_is_rejected)
{
	expect_error("? [windows]\n: {}\n", "1:3", "expected a key at the top level, got a list");
}

Test(config, a_value_hiding_a_nul_escape_is_rejected)
{
	expect_error("devices: {max: \"100\\0\"}\n", "1:16", "devices.max: expected an integer");
	expect_error("home_networks: [\"10.0.0.0/8\\0junk\"]\n", "1:17", "is not a CIDR prefix");
}

Test(config, an_error_on_the_last_line_leaves_the_config_unchanged)
{
	/* Every key before the bad one is valid and would change the config. */
	expect_error(
		"home_networks: [10.9.0.0/16]\n"
		"learn_ipv6_prefixes: true\n"
		"windows: {length: 10m, max_remotes: 9}\n"
		"flows: {max: 99999, timeouts: {tcp: 1h}}\n"
		"devices: {max: 15}\n",
		"5:16", "devices.max");
}

Test(config, a_long_error_is_truncated_to_the_buffer)
{
	struct iotids_config c = defaults();
	char small[24];
	memset(small, 'X', sizeof(small));
	write_cfg("windows:\n  lenght: 60s\n");
	cr_assert_eq(cfg_load(&c, path, small, 16), -EINVAL);
	cr_assert_eq(strlen(small), 15);
	cr_assert_eq(small[16], 'X', "wrote past errlen");
	cr_assert_eq(cfg_load(&c, path, NULL, 0), -EINVAL);
}

Test(config, a_long_value_is_quoted_short_in_the_message)
{
	char text[8192];
	int n = snprintf(text, sizeof(text), "flows:\n  max: ");
	memset(text + n, '7', 5000);
	memcpy(text + n + 5000, "\n", 2);
	expect_error(text, "2:8", "got '7777777777777777777777777777777777777777...'");
}

/* ---- hostile input ---- */

static void expect_clean_failure(const char *file)
{
	struct iotids_config c = custom(), before = c;
	int rc = cfg_load(&c, file, err, sizeof(err));
	cr_assert_lt(rc, 0);
	cr_assert_eq(strncmp(err, file, strlen(file)), 0, "'%s'", err);
	cr_assert_null(strchr(err, '\n'));
	cr_assert_eq(memcmp(&c, &before, sizeof(c)), 0);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

Test(config, a_megabyte_of_random_bytes_fails_cleanly)
{
	size_t n = 1u << 20;
	unsigned char *buf = malloc(n);
	cr_assert_not_null(buf);
	uint64_t seed = 0x9e3779b97f4a7c15u;
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)xorshift(&seed);
	write_bytes(path, buf, n);
	free(buf);
	expect_clean_failure(path);
}

Test(config, a_megabyte_of_random_yaml_punctuation_fails_cleanly)
{
	static const char alphabet[] = "ab:-[]{},#&*!|>'\"%@`? \n\t\\10s";
	size_t n = 1u << 20;
	char *buf = malloc(n);
	cr_assert_not_null(buf);
	uint64_t seed = 42;
	/* Start with a valid key so the parser gets past the first token. */
	memcpy(buf, "windows:\n  ", 11);
	for (size_t i = 11; i < n; i++)
		buf[i] = alphabet[xorshift(&seed) % (sizeof(alphabet) - 1)];
	write_bytes(path, buf, n);
	free(buf);
	expect_clean_failure(path);
}

Test(config, ten_thousand_nested_flow_sequences_fail_cleanly)
{
	static const struct {
		const char *head, *linecol, *msg;
	} cases[] = {
		{"", "1:1", "expected a mapping at the top level, got a list"},
		{"home_networks: ", "1:17", "home_networks[0]: expected a CIDR prefix, got a list"},
		{"flows:\n  timeouts:\n    tcp: ", "3:10", "flows.timeouts.tcp: expected a duration"},
		{"windows: {", "1:11", "expected a key in windows, got a list"},
	};
	size_t depth = 10000;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t hl = strlen(cases[i].head);
		char *text = malloc(hl + depth + 1);
		cr_assert_not_null(text);
		memcpy(text, cases[i].head, hl);
		memset(text + hl, '[', depth);
		text[hl + depth] = '\0';
		expect_error(text, cases[i].linecol, cases[i].msg);
		free(text);
	}
}

Test(config, ten_thousand_nested_flow_mappings_fail_cleanly)
{
	size_t depth = 10000;
	char *text = malloc(depth + 1);
	cr_assert_not_null(text);
	memset(text, '{', depth);
	text[depth] = '\0';
	expect_error(text, "1:2", "expected a key at the top level, got a mapping");
	free(text);
}

/* ---- redis ---- */

Test(config, redis_defaults_match_the_documented_values)
{
	struct iotids_config c = defaults();
	cr_expect_str_eq(c.redis.url, "");
	cr_expect_str_eq(c.redis.prefix, "iotids");
	cr_expect_str_eq(c.redis.gateway_id, "");
	cr_expect_eq(c.redis.connect_timeout_ms, 2000);
	cr_expect_eq(c.redis.command_timeout_ms, 5000);
	cr_expect_eq(c.redis.backoff_max_ms, 30000);
	cr_expect_eq(c.redis.stream_maxlen, 100000);
	cr_expect_eq(c.redis.queue_bytes, 8u << 20);
	cr_expect_str_eq(c.redis.spool_dir, "/var/lib/iotids/spool");
	cr_expect_eq(c.redis.spool_max_bytes, 64u << 20);
	cr_expect_eq(c.redis.spool_when_full, 0);
	cr_expect(c.redis.spool_fsync);
	cr_expect(c.redis.device_summaries);
}

Test(config, every_redis_key_is_read)
{
	struct iotids_config c = load_ok("redis:\n"
					 "  url: redis://10.0.0.2:6380/2\n"
					 "  user: gw7\n"
					 "  password: 'p@ss: word'\n"
					 "  prefix: site1\n"
					 "  gateway_id: gw-7\n"
					 "  connect_timeout_ms: 500\n"
					 "  command_timeout_ms: 900\n"
					 "  backoff_max_ms: 60000\n"
					 "  stream_maxlen: 0\n"
					 "  queue_size: 512KiB\n"
					 "  device_summaries: false\n"
					 "  spool:\n"
					 "    dir: /data/iotids/spool\n"
					 "    max_size: 2GiB\n"
					 "    when_full: drop_newest\n"
					 "    fsync: false\n");
	cr_expect_str_eq(c.redis.url, "redis://10.0.0.2:6380/2");
	cr_expect_str_eq(c.redis.user, "gw7");
	cr_expect_str_eq(c.redis.password, "p@ss: word");
	cr_expect_str_eq(c.redis.prefix, "site1");
	cr_expect_str_eq(c.redis.gateway_id, "gw-7");
	cr_expect_eq(c.redis.connect_timeout_ms, 500);
	cr_expect_eq(c.redis.command_timeout_ms, 900);
	cr_expect_eq(c.redis.backoff_max_ms, 60000);
	cr_expect_eq(c.redis.stream_maxlen, 0);
	cr_expect_eq(c.redis.queue_bytes, 512u << 10);
	cr_expect_str_eq(c.redis.spool_dir, "/data/iotids/spool");
	cr_expect_eq(c.redis.spool_max_bytes, 2ull << 30);
	cr_expect_eq(c.redis.spool_when_full, 1);
	cr_expect(!c.redis.spool_fsync);
	cr_expect(!c.redis.device_summaries);
	c = load_ok("redis:\n  spool:\n    max_size: 1048576\n");
	cr_expect_eq(c.redis.spool_max_bytes, 1u << 20);
}

Test(config, bad_redis_values_are_refused_with_what_is_expected)
{
	expect_error("redis:\n  spool:\n    max_size: 1KiB\n", "3:15", "a size from 64 KiB to");
	expect_error("redis:\n  spool:\n    max_size: 64MB\n", "3:15", "a size from 64 KiB to");
	expect_error("redis:\n  spool:\n    max_size: 2TiB\n", "3:15", "a size from");
	expect_error("redis:\n  spool:\n    when_full: block\n", "3:16", "one of drop_oldest, drop_newest");
	expect_error("redis:\n  connect_timeout_ms: 10\n", "2:23", "an integer from 100 to 60000");
	expect_error("redis:\n  prefix: \"\"\n", "2:11", "text of 1 to 64 printable characters");
	expect_error("redis:\n  urll: redis://x\n", "2:3", "urll");
}

Test(config, a_refused_password_is_never_quoted)
{
	expect_error("redis:\n  password: \"sec\\tret\"\n", "2:13", "not shown: it may hold a password");
	cr_expect(strstr(err, "sec") == NULL, "%s", err);
	expect_error("redis:\n  url: \"redis://u:sec\\tret@h\"\n", "2:8", "not shown: it may hold a password");
	cr_expect(strstr(err, "sec") == NULL, "%s", err);
	struct iotids_config c = defaults();
	cr_expect_neq(cfg_set(&c, "redis.url", "redis://u:sec\tret@h", err, sizeof(err)), 0);
	cr_expect(strstr(err, "sec") == NULL, "%s", err);
}

Test(config, a_size_too_large_to_hold_is_refused_not_wrapped)
{
	expect_error("redis:\n  queue_size: 17179869185GiB\n", "2:15", "a size from");
	expect_error("redis:\n  queue_size: 99999999999999999999\n", "2:15", "a size from");
}

Test(config, the_capture_section_sets_the_live_source)
{
	struct iotids_config c = defaults();
	cr_expect_eq(c.capture.source, CFG_CAPTURE_AUTO);
	cr_expect_eq(c.capture.ebpf_hook, CFG_HOOK_AUTO);
	cr_expect_eq(c.capture.buffer_bytes, 16u << 20);
	cr_expect_eq(c.capture.snaplen, 65535);
	cr_expect(c.capture.promisc);
	cr_expect_eq(c.capture.stats_every_s, 60);
	cr_expect_str_eq(c.capture.interface, "");
	cr_expect_str_eq(c.capture.filter, "");
	c = load_ok("capture:\n  interface: br-lan\n  source: pcap\n  buffer: 4MiB\n  snaplen: 256\n"
		    "  promisc: false\n  filter: \"not port 22\"\n  stats_every: 5m\n");
	cr_expect_str_eq(c.capture.interface, "br-lan");
	cr_expect_eq(c.capture.source, CFG_CAPTURE_PCAP);
	cr_expect_eq(c.capture.buffer_bytes, 4u << 20);
	cr_expect_eq(c.capture.snaplen, 256);
	cr_expect(!c.capture.promisc);
	cr_expect_str_eq(c.capture.filter, "not port 22");
	cr_expect_eq(c.capture.stats_every_s, 300);
	c = load_ok("capture:\n  source: ebpf\n  ebpf_hook: clsact\n  stats_every: 0\n");
	cr_expect_eq(c.capture.source, CFG_CAPTURE_EBPF);
	cr_expect_eq(c.capture.ebpf_hook, CFG_HOOK_CLSACT);
	cr_expect_eq((int)CFG_HOOK_CLSACT, (int)CAP_HOOK_CLSACT, "the live source takes the value as it is");
	cr_expect_eq((int)CFG_HOOK_TCX, (int)CAP_HOOK_TCX);
	cr_expect_eq(c.capture.stats_every_s, 0);
}

Test(config, bad_capture_values_are_refused_with_what_is_expected)
{
	expect_error("capture:\n  source: xdp\n", "2:11", "one of auto, ebpf, pcap");
	expect_error("capture:\n  ebpf_hook: xdp\n", "2:14", "one of auto, tcx, clsact");
	expect_error("capture:\n  buffer: 2GiB\n", "2:11", "a size from 64 KiB to");
	expect_error("capture:\n  snaplen: 10\n", "2:12", "an integer from 64 to 262144");
	expect_error("capture:\n  interface: a-name-too-long-for-linux\n", "2:14", "text of 1 to 15");
}
