/*
 * Tests for the traffic generator (pcaps/gen, the iotgen binary): run it as
 * a user would, from $IOTGEN_BIN into a scratch directory, and check the
 * files with libpcap and jansson: determinism, timestamp order, the
 * --duration window, the home manifest, IPv4 checksums of `mix`, the shape
 * of `synflood` and `noise`, TLS SNI matching the manifest, exit statuses.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/genrun.h"


static unsigned char *gen_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static bool gen_same_file(const char *a, const char *b)
{
	size_t la, lb;
	unsigned char *x = gen_slurp(a, &la), *y = gen_slurp(b, &lb);
	bool same = la == lb && memcmp(x, y, la) == 0;

	free(x);
	free(y);
	return same;
}

static pcap_t *gen_open(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);

	cr_assert_not_null(p, "libpcap cannot open %s: %s", path, err);
	cr_assert_eq(pcap_datalink(p), DLT_EN10MB);
	cr_assert_eq(pcap_snapshot(p), 65535);
	return p;
}

static uint64_t gen_ts(const struct pcap_pkthdr *h)
{
	return (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
}

static unsigned gen_sum16(const unsigned char *p, size_t n)
{
	unsigned long s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (unsigned)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (unsigned)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (unsigned)s;
}

/* 2026-03-02T06:00:00Z, the default start. */
#define GEN_DEFAULT_START 1772431200ULL

TestSuite(gen, .init = genrun_setup, .fini = genrun_teardown, .timeout = 30);

Test(gen, home_same_seed_same_bytes)
{
	cr_assert_eq(genrun_run("home", "--seed", "7", "--duration", "20m", "-o", genrun_path("a.pcap"), NULL), 0);
	cr_assert_eq(genrun_run("home", "--seed", "7", "--duration", "20m", "-o", genrun_path("b.pcap"), NULL), 0);
	cr_assert_eq(genrun_run("home", "--seed", "8", "--duration", "20m", "-o", genrun_path("c.pcap"), NULL), 0);
	cr_assert(gen_same_file(genrun_path("a.pcap"), genrun_path("b.pcap")), "same seed, different bytes");
	cr_assert_not(gen_same_file(genrun_path("a.pcap"), genrun_path("c.pcap")), "different seeds, same bytes");
}

Test(gen, home_default_run_is_ordered_ethernet)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t last = 0, n = 0, first = 0;
	pcap_t *p;

	cr_assert_eq(genrun_run("home", "--seed", "2026", "-o", genrun_path("h.pcap"), NULL), 0);
	p = gen_open(genrun_path("h.pcap"));
	while (pcap_next_ex(p, &h, &d) == 1) {
		cr_assert_geq(gen_ts(h), last, "packet %llu goes back in time", (unsigned long long)n);
		cr_assert_eq(h->caplen, h->len);
		cr_assert_geq(h->caplen, 42);
		if (!n)
			first = gen_ts(h);
		last = gen_ts(h);
		n++;
	}
	pcap_close(p);
	cr_assert_gt(n, 1000, "only %llu packets in two hours", (unsigned long long)n);
	/* Default start and duration. */
	cr_assert_geq(first, GEN_DEFAULT_START * 1000000);
	cr_assert_lt(last, (GEN_DEFAULT_START + 7200) * 1000000);
	cr_assert_gt(last, (GEN_DEFAULT_START + 7200 - 300) * 1000000);
}

Test(gen, home_duration_and_start_are_respected)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t first = 0, last = 0, start = GEN_DEFAULT_START + 4 * 3600; /* 10:00 */
	bool any = false;
	pcap_t *p;

	cr_assert_eq(genrun_run("home", "--seed", "3", "--start", "2026-03-02T10:00:00Z", "--duration", "45m",
			     "-o", genrun_path("d.pcap"), NULL), 0);
	p = gen_open(genrun_path("d.pcap"));
	while (pcap_next_ex(p, &h, &d) == 1) {
		if (!any)
			first = gen_ts(h);
		any = true;
		last = gen_ts(h);
	}
	pcap_close(p);
	cr_assert(any);
	cr_assert_geq(first, start * 1000000);
	cr_assert_lt(first, (start + 60) * 1000000, "first packet long after --start");
	cr_assert_lt(last, (start + 45 * 60) * 1000000, "packet after the end of --duration");
	cr_assert_gt(last, (start + 40 * 60) * 1000000, "capture stops well before --duration");
}

static json_t *gen_manifest(const char *pcap, const char *json)
{
	json_error_t e;
	json_t *m;

	cr_assert_eq(genrun_run("home", "--seed", "11", "--duration", "30m", "-o", genrun_path(pcap), "--manifest",
			     genrun_path(json), NULL), 0);
	m = json_load_file(genrun_path(json), 0, &e);
	cr_assert_not_null(m, "manifest is not JSON: %s", e.text);
	return m;
}

Test(gen, home_manifest_lists_devices)
{
	json_t *m = gen_manifest("m.pcap", "m.json"), *devs = json_object_get(m, "devices");
	int randomized = 0;

	cr_assert_eq(json_integer_value(json_object_get(m, "seed")), 11);
	cr_assert_eq(json_integer_value(json_object_get(m, "duration_s")), 1800);
	cr_assert_str_eq(json_string_value(json_object_get(m, "start")), "2026-03-02T06:00:00Z");
	cr_assert(json_is_array(devs));
	cr_assert_geq(json_array_size(devs), 6);
	for (size_t i = 0; i < json_array_size(devs); i++) {
		json_t *d = json_array_get(devs, i);
		const char *mac = json_string_value(json_object_get(d, "mac"));
		unsigned b0;

		cr_assert_not_null(mac);
		cr_assert_eq(strlen(mac), 17, "bad MAC '%s'", mac);
		cr_assert_not_null(json_string_value(json_object_get(d, "ipv4")));
		cr_assert_not_null(json_string_value(json_object_get(d, "hostname")));
		cr_assert_not_null(json_string_value(json_object_get(d, "vendor_class")));
		cr_assert_gt(json_array_size(json_object_get(d, "names")), 0, "%s resolved nothing", mac);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(mac, json_string_value(json_object_get(json_array_get(devs, j), "mac")));
		cr_assert_eq(sscanf(mac, "%2x", &b0), 1);
		cr_assert_eq(b0 & 1, 0, "multicast MAC %s", mac);
		if (json_is_true(json_object_get(d, "randomized_mac"))) {
			randomized++;
			cr_assert_eq(b0 & 2, 2, "randomized MAC %s lacks the locally administered bit", mac);
		} else {
			cr_assert_eq(b0 & 2, 0, "vendor MAC %s has the local bit", mac);
			cr_assert_not_null(json_string_value(json_object_get(d, "vendor")));
		}
	}
	cr_assert_eq(randomized, 1);
	json_decref(m);
}

static bool gen_device_has_name(json_t *devs, const char *ip, const char *name)
{
	for (size_t i = 0; i < json_array_size(devs); i++) {
		json_t *d = json_array_get(devs, i), *names = json_object_get(d, "names");

		if (strcmp(json_string_value(json_object_get(d, "ipv4")), ip))
			continue;
		for (size_t j = 0; j < json_array_size(names); j++)
			if (!strcmp(json_string_value(json_array_get(names, j)), name))
				return true;
	}
	return false;
}

Test(gen, home_tls_sni_and_dns_dhcp)
{
	json_t *m = gen_manifest("s.pcap", "s.json"), *devs = json_object_get(m, "devices");
	struct pcap_pkthdr *h;
	const u_char *d;
	int hellos = 0, dhcp = 0, dns = 0;
	pcap_t *p = gen_open(genrun_path("s.pcap"));
	char sni[256], ip[16];

	while (pcap_next_ex(p, &h, &d) == 1) {
		size_t ihl, thl, tl;

		if (h->caplen < 34 || d[12] != 0x08 || d[13] != 0x00)
			continue;
		ihl = (size_t)(d[14] & 15) * 4;
		tl = (size_t)d[16] << 8 | d[17];
		cr_assert_eq(gen_sum16(d + 14, ihl), 0xffff, "bad IPv4 header checksum");
		if (d[23] == 17) {
			unsigned dport = (unsigned)d[14 + ihl + 2] << 8 | d[14 + ihl + 3];

			dhcp += dport == 67 || dport == 68;
			dns += dport == 53;
			continue;
		}
		if (d[23] != 6)
			continue;
		thl = (size_t)(d[14 + ihl + 12] >> 4) * 4;
		if (tl <= ihl + thl || !genrun_sni(d + 14 + ihl + thl, tl - ihl - thl, sni, sizeof(sni)))
			continue;
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", d[26], d[27], d[28], d[29]);
		cr_assert(gen_device_has_name(devs, ip, sni), "%s sent SNI %s it never resolved", ip, sni);
		hellos++;
	}
	pcap_close(p);
	json_decref(m);
	cr_assert_gt(hellos, 5);
	cr_assert_geq(dhcp, 4 * 6, "every device should do DISCOVER/OFFER/REQUEST/ACK");
	cr_assert_gt(dns, 20);
}

Test(gen, mix_exact_count_valid_ipv4_checksums)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t n = 0, full = 0, last = 0;
	pcap_t *p;

	cr_assert_eq(genrun_run("mix", "--seed", "5", "--packets", "30000", "-o", genrun_path("x.pcap"), NULL), 0);
	p = gen_open(genrun_path("x.pcap"));
	while (pcap_next_ex(p, &h, &d) == 1) {
		cr_assert_geq(gen_ts(h), last);
		last = gen_ts(h);
		cr_assert_geq(h->caplen, 34);
		cr_assert(d[12] == 0x08 && d[13] == 0x00, "mix is IPv4 only");
		cr_assert_eq(d[14] >> 4, 4);
		cr_assert_eq(gen_sum16(d + 14, (size_t)(d[14] & 15) * 4), 0xffff,
			     "packet %llu: bad IPv4 header checksum", (unsigned long long)n);
		cr_assert((d[26] == 192 && d[27] == 168) || (d[30] == 192 && d[31] == 168),
			  "packet %llu has no end in 192.168/16", (unsigned long long)n);
		full += h->caplen == 1514;
		n++;
	}
	pcap_close(p);
	cr_assert_eq(n, 30000);
	cr_assert_gt(full * 100 / n, 25, "bulk traffic should bring many full-size frames");
}

Test(gen, synflood_1000_small_syns)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	unsigned n = 0, syn = 0;
	pcap_t *p;

	cr_assert_eq(genrun_run("synflood", "--seed", "1", "--packets", "1000", "-o", genrun_path("f.pcap"), NULL), 0);
	p = gen_open(genrun_path("f.pcap"));
	while (pcap_next_ex(p, &h, &d) == 1) {
		cr_assert_eq(h->caplen, 64);
		cr_assert_eq(h->len, 64);
		syn += d[23] == 6 && d[14 + 20 + 13] == 0x02 && d[36] == 0 && d[37] == 80;
		n++;
	}
	pcap_close(p);
	cr_assert_eq(n, 1000);
	cr_assert_geq(syn, 950, "only %u SYN-only packets to port 80", syn);
}

Test(gen, synflood_keeps_a_trickle_of_real_traffic)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	unsigned n = 0, other = 0;
	pcap_t *p;

	cr_assert_eq(genrun_run("synflood", "--seed", "2", "--packets", "300000", "-o", genrun_path("g.pcap"), NULL), 0);
	p = gen_open(genrun_path("g.pcap"));
	while (pcap_next_ex(p, &h, &d) == 1) {
		other += h->caplen != 64;
		n++;
	}
	pcap_close(p);
	cr_assert_eq(n, 300000);
	cr_assert_gt(other, 0, "no normal traffic under the flood");
	cr_assert_lt(other, n / 100, "normal traffic should be a trickle (~0.1%%), got %u", other);
}

Test(gen, noise_records)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t last = 0;
	unsigned n = 0, empty = 0;
	pcap_t *p;

	cr_assert_eq(genrun_run("noise", "--seed", "9", "--packets", "20000", "-o", genrun_path("n.pcap"), NULL), 0);
	p = gen_open(genrun_path("n.pcap"));
	while (pcap_next_ex(p, &h, &d) == 1) {
		cr_assert_eq(h->caplen, h->len);
		cr_assert_leq(h->caplen, 200);
		cr_assert_gt(gen_ts(h), last);
		last = gen_ts(h);
		empty += h->caplen == 0;
		n++;
	}
	pcap_close(p);
	cr_assert_eq(n, 20000);
	cr_assert_gt(empty, 0, "lengths should include 0");
}

Test(gen, bad_arguments_exit_2)
{
	const char *o = genrun_path("bad.pcap");

	cr_assert_eq(genrun_run(NULL), 2);
	cr_assert_eq(genrun_run("frobnicate", NULL), 2);
	cr_assert_eq(genrun_run("home", "-o", o, NULL), 2);
	cr_assert_eq(genrun_run("home", "--seed", "1", NULL), 2);
	cr_assert_eq(genrun_run("home", "--seed", "x1", "-o", o, NULL), 2);
	cr_assert_eq(genrun_run("home", "--seed", "1", "--duration", "5x", "-o", o, NULL), 2);
	cr_assert_eq(genrun_run("home", "--seed", "1", "--duration", "0s", "-o", o, NULL), 2);
	cr_assert_eq(genrun_run("home", "--seed", "1", "--start", "2026-13-02T06:00:00Z", "-o", o, NULL), 2);
	cr_assert_eq(genrun_run("home", "--seed", "1", "--bogus", "-o", o, NULL), 2);
	cr_assert_eq(genrun_run("mix", "--seed", "1", "--packets", "0", "-o", o, NULL), 2);
	cr_assert_eq(genrun_run("mix", "--seed", "1", "--packets", "12abc", "-o", o, NULL), 2);
	cr_assert_eq(genrun_run("synflood", "--seed", "1", "--packets", "10", NULL), 2);
	cr_assert_eq(genrun_run("noise", "--seed", "-1", "--packets", "10", "-o", o, NULL), 2);
	cr_assert_eq(genrun_run("noise", "--seed", "1", "--packets", "10", "-o", o, "extra", NULL), 2);
}

Test(gen, help_exits_0_and_write_errors_exit_1)
{
	static const char *const cmds[] = {"home", "mix", "synflood", "noise"};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		cr_assert_eq(genrun_run(cmds[i], "--help", NULL), 0, "%s --help", cmds[i]);
	cr_assert_eq(genrun_run("--help", NULL), 0);
	cr_assert_eq(genrun_run("noise", "--seed", "1", "--packets", "10", "-o", "/nonexistent/dir/x.pcap", NULL), 1);
	cr_assert_eq(genrun_run("home", "--seed", "1", "--duration", "90s", "-o", "/nonexistent/dir/x.pcap", NULL), 1);
}
