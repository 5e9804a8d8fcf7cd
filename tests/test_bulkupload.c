/*
 * Tests for `iotgen bulkupload` (pcaps/gen/bulkupload.c), run as a user
 * would from $IOTGEN_BIN into a scratch directory: a run is a pure function
 * of its seed and writes exactly the records asked for; `iotids replay`
 * ($IOTIDS_BIN) finds the cameras and the plug the manifest lists; the
 * upload goes up in full segments that the server ACKs every second one,
 * at the rate asked, in one TLS connection (with SNI, after DNS through
 * the router) per video segment; bad options are usage errors.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/genrun.h"

#define BU_PORTS_MAX 64

TestSuite(bulkupload, .init = genrun_setup, .fini = genrun_teardown, .timeout = 120);

/* The fields of an Ethernet/IPv4 frame these tests look at; false for
 * anything else or anything cut short. */
struct bu_frame {
	const u_char *smac, *dmac;
	uint8_t sip[4], dip[4], proto;
	uint16_t sport, dport;
	uint8_t tcp_flags;
	const u_char *payload;
	size_t payload_len;
};

static bool bu_parse(const u_char *p, size_t n, struct bu_frame *f)
{
	size_t ihl, l4, thl;

	memset(f, 0, sizeof(*f));
	if (n < 14 + 20 || p[12] != 0x08 || p[13] != 0x00 || (p[14] >> 4) != 4)
		return false;
	f->dmac = p;
	f->smac = p + 6;
	ihl = (size_t)(p[14] & 0x0f) * 4;
	l4 = 14 + ihl;
	f->proto = p[14 + 9];
	memcpy(f->sip, p + 14 + 12, 4);
	memcpy(f->dip, p + 14 + 16, 4);
	if (ihl < 20 || n < l4 + 8)
		return false;
	f->sport = (uint16_t)(p[l4] << 8 | p[l4 + 1]);
	f->dport = (uint16_t)(p[l4 + 2] << 8 | p[l4 + 3]);
	if (f->proto == 17) {
		f->payload = p + l4 + 8;
		f->payload_len = n - l4 - 8;
		return true;
	}
	if (f->proto != 6 || n < l4 + 20)
		return false;
	thl = (size_t)(p[l4 + 12] >> 4) * 4;
	if (thl < 20 || n < l4 + thl)
		return false;
	f->tcp_flags = p[l4 + 13];
	f->payload = p + l4 + thl;
	f->payload_len = n - l4 - thl;
	return true;
}

static void bu_mac(const char *s, u_char mac[6])
{
	unsigned v[6];

	cr_assert_eq(sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]), 6, "%s", s);
	for (int i = 0; i < 6; i++)
		mac[i] = (u_char)v[i];
}

/* Runs "$IOTIDS_BIN args" with stdout into the scratch file out; returns that file's text. */
static char *bu_iotids(const char *args, const char *out)
{
	const char *bin = getenv("IOTIDS_BIN");
	char cmd[1024];
	int st;

	cr_assert_not_null(bin, "IOTIDS_BIN is not set (make test sets it)");
	snprintf(cmd, sizeof(cmd), "TZ=UTC '%s' %s >'%s' 2>'%s'", bin, args, genrun_path(out), genrun_path("iotids.err"));
	st = system(cmd);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: %s", cmd, genrun_slurp(genrun_path("iotids.err"), NULL));
	return genrun_slurp(genrun_path(out), NULL);
}

/* Every JSON line of text whose "type" is type, in an array. */
static json_t *bu_lines(char *text, const char *type)
{
	json_t *all = json_array();

	for (char *line = text, *nl; *line; line = nl + 1) {
		json_t *o;

		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		o = json_loads(line, 0, NULL);
		cr_assert_not_null(o, "not JSON: %s", line);
		if (!strcmp(json_string_value(json_object_get(o, "type")) ?: "", type))
			json_array_append(all, o);
		json_decref(o);
	}
	return all;
}

static json_t *bu_manifest(const char *path)
{
	json_error_t e;
	json_t *m = json_load_file(path, 0, &e);

	cr_assert_not_null(m, "%s: %s", path, e.text);
	return m;
}

/* The first camera's MAC, address and upload host, from a manifest. */
static void bu_first_camera(json_t *m, u_char mac[6], const char **ip, const char **upload)
{
	json_t *d = json_array_get(json_object_get(m, "devices"), 0);
	json_t *names = json_object_get(d, "names");

	cr_assert_str_eq(json_string_value(json_object_get(d, "kind")), "camera");
	bu_mac(json_string_value(json_object_get(d, "mac")), mac);
	*ip = json_string_value(json_object_get(d, "ipv4"));
	/* Its names: the NTP pool first, then the upload host. */
	*upload = json_string_value(json_array_get(names, json_array_size(names) - 1));
}

Test(bulkupload, same_seed_gives_same_bytes_other_seeds_differ_and_exactly_p_records)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t n = 0, last = 0;
	pcap_t *p;

	cr_assert_eq(genrun_run("bulkupload", "--seed", "7", "--packets", "40000", "-o", genrun_path("a.pcap"), NULL), 0);
	cr_assert_eq(genrun_run("bulkupload", "--seed", "7", "--packets", "40000", "-o", genrun_path("b.pcap"), NULL), 0);
	cr_assert_eq(genrun_run("bulkupload", "--seed", "8", "--packets", "40000", "-o", genrun_path("c.pcap"), NULL), 0);
	cr_assert(genrun_same_file(genrun_path("a.pcap"), genrun_path("b.pcap")), "same seed, different bytes");
	cr_assert_not(genrun_same_file(genrun_path("a.pcap"), genrun_path("c.pcap")), "different seeds, same bytes");

	p = pcap_open_offline(genrun_path("a.pcap"), err);
	cr_assert_not_null(p, "libpcap cannot open the capture: %s", err);
	cr_assert_eq(pcap_datalink(p), DLT_EN10MB);
	while (pcap_next_ex(p, &h, &d) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;

		cr_assert_geq(ts, last, "record %llu goes back in time", (unsigned long long)n);
		cr_assert_leq(h->caplen, 1514, "record %llu is longer than an Ethernet frame", (unsigned long long)n);
		last = ts;
		n++;
	}
	pcap_close(p);
	cr_assert_eq(n, 40000, "%llu records, asked for 40000", (unsigned long long)n);
}

Test(bulkupload, iotids_replay_finds_the_cameras_and_the_plug_of_the_manifest)
{
	json_t *m, *devs, *seen;
	char args[512], *out;
	size_t i;

	cr_assert_eq(genrun_run("bulkupload", "--seed", "5", "--devices", "3", "--packets", "60000", "-o",
				genrun_path("u.pcap"), "--manifest", genrun_path("u.json"), NULL),
		     0);
	m = bu_manifest(genrun_path("u.json"));
	devs = json_object_get(m, "devices");
	cr_assert_eq(json_array_size(devs), 4, "three cameras and the plug");
	snprintf(args, sizeof(args), "replay --devices --json '%s'", genrun_path("u.pcap"));
	out = bu_iotids(args, "devices.json");
	seen = bu_lines(out, "device");
	cr_expect_eq(json_array_size(seen), 5, "the manifest's devices and the router");
	for (i = 0; i < json_array_size(devs); i++) {
		json_t *want = json_array_get(devs, i), *got = NULL, *ips;
		const char *mac = json_string_value(json_object_get(want, "mac"));
		bool has_ip = false;

		for (size_t j = 0; j < json_array_size(seen) && !got; j++)
			if (!strcmp(json_string_value(json_object_get(json_array_get(seen, j), "mac")), mac))
				got = json_array_get(seen, j);
		cr_assert_not_null(got, "iotids did not see %s", mac);
		cr_expect_str_eq(json_string_value(json_object_get(got, "vendor")) ?: "(null)",
				 json_string_value(json_object_get(want, "vendor")), "%s", mac);
		cr_expect_str_eq(json_string_value(json_object_get(got, "hostname")) ?: "(null)",
				 json_string_value(json_object_get(want, "hostname")), "%s (from DHCP)", mac);
		ips = json_object_get(got, "ips");
		for (size_t j = 0; j < json_array_size(ips); j++)
			has_ip |= !strcmp(json_string_value(json_array_get(ips, j)),
					  json_string_value(json_object_get(want, "ipv4")));
		cr_expect(has_ip, "%s does not have its DHCP address", mac);
		cr_expect_gt(json_integer_value(json_object_get(got, "packets_out")), 0, "%s", mac);
	}
	json_decref(seen);
	json_decref(m);
	free(out);
}

Test(bulkupload, the_upload_goes_up_in_full_segments_that_the_server_acks_every_second_one)
{
	char err[PCAP_ERRBUF_SIZE], args[512], *out;
	struct pcap_pkthdr *h;
	const u_char *d;
	u_char cam[6];
	const char *cam_ip, *upload;
	uint64_t full_up = 0, data_up = 0, acks_down = 0, other_down = 0;
	json_t *m, *flows;
	size_t uploads = 0;
	pcap_t *p;

	cr_assert_eq(genrun_run("bulkupload", "--seed", "11", "--packets", "80000", "-o", genrun_path("u.pcap"),
				"--manifest", genrun_path("u.json"), NULL),
		     0);
	m = bu_manifest(genrun_path("u.json"));
	bu_first_camera(m, cam, &cam_ip, &upload);
	p = pcap_open_offline(genrun_path("u.pcap"), err);
	cr_assert_not_null(p, "%s", err);
	while (pcap_next_ex(p, &h, &d) == 1) {
		struct bu_frame f;

		if (!bu_parse(d, h->caplen, &f) || f.proto != 6)
			continue;
		if (!memcmp(f.smac, cam, 6) && f.dport == 443 && f.payload_len) {
			data_up++;
			full_up += h->caplen == 1514 && f.payload_len == 1448;
		} else if (!memcmp(f.dmac, cam, 6) && f.sport == 443) {
			if (h->caplen == 66 && f.payload_len == 0 && f.tcp_flags == 0x10)
				acks_down++;
			else
				other_down++;
		}
	}
	pcap_close(p);
	/* Each send (a frame or more of video) ends in a short segment. */
	cr_expect_gt(full_up, 90 * data_up / 100, "%llu of %llu data segments are 1514-byte frames",
		     (unsigned long long)full_up, (unsigned long long)data_up);
	/* Every second segment, a few more at the ends of sends and after losses. */
	cr_expect(acks_down * 2 >= full_up * 95 / 100 && acks_down * 2 <= full_up * 110 / 100,
		  "%llu plain ACKs for %llu full segments", (unsigned long long)acks_down, (unsigned long long)full_up);
	cr_expect_lt(other_down, acks_down / 20, "the server sends little else: %llu", (unsigned long long)other_down);

	/* iotids sees the same: outbound flows named after the upload host,
	 * with ~45 bytes up for each one down. */
	snprintf(args, sizeof(args), "replay --flows --json '%s'", genrun_path("u.pcap"));
	out = bu_iotids(args, "flows.json");
	flows = bu_lines(out, "flow");
	for (size_t i = 0; i < json_array_size(flows); i++) {
		json_t *f = json_array_get(flows, i);
		double up = (double)json_integer_value(json_object_get(json_object_get(f, "fwd"), "bytes"));
		double down = (double)json_integer_value(json_object_get(json_object_get(f, "rev"), "bytes"));

		if (strcmp(json_string_value(json_object_get(f, "src")), cam_ip) ||
		    json_integer_value(json_object_get(f, "dport")) != 443 || up < 1e6)
			continue;
		uploads++;
		cr_expect_str_eq(json_string_value(json_object_get(f, "direction")), "outbound");
		cr_expect_str_eq(json_string_value(json_object_get(f, "name")) ?: "(null)", upload);
		cr_expect(up / down > 35 && up / down < 55, "bytes up / down = %.1f", up / down);
	}
	cr_expect_geq(uploads, 2, "an 80000-packet capture holds over a minute of video: %zu uploads", uploads);
	json_decref(flows);
	json_decref(m);
	free(out);
}

Test(bulkupload, rate_and_reconnect_shape_the_upload_one_tls_connection_per_segment)
{
	char err[PCAP_ERRBUF_SIZE], sni[128];
	struct pcap_pkthdr *h;
	const u_char *d;
	u_char cam[6];
	const char *cam_ip, *upload;
	uint16_t ports[BU_PORTS_MAX];
	size_t nports = 0, hellos = 0;
	uint64_t first_us = 0, last_us = 0, bytes_up = 0, dns_q = 0, dns_a = 0, first_syn_us = 0, dns_before = 0;
	json_t *m;
	pcap_t *p;

	cr_assert_eq(genrun_run("bulkupload", "--seed", "3", "--packets", "60000", "--rate", "4M", "--reconnect", "10s",
				"-o", genrun_path("r.pcap"), "--manifest", genrun_path("r.json"), NULL),
		     0);
	m = bu_manifest(genrun_path("r.json"));
	bu_first_camera(m, cam, &cam_ip, &upload);
	p = pcap_open_offline(genrun_path("r.pcap"), err);
	cr_assert_not_null(p, "%s", err);
	while (pcap_next_ex(p, &h, &d) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
		struct bu_frame f;

		if (!bu_parse(d, h->caplen, &f))
			continue;
		/* DNS with the router, 192.168.1.1, both ways. */
		if (f.proto == 17 && !memcmp(f.smac, cam, 6) && f.dport == 53 &&
		    !memcmp(f.dip, (const uint8_t[]){192, 168, 1, 1}, 4)) {
			dns_q++;
			dns_before += !first_syn_us;
		}
		if (f.proto == 17 && !memcmp(f.dmac, cam, 6) && f.sport == 53 &&
		    !memcmp(f.sip, (const uint8_t[]){192, 168, 1, 1}, 4))
			dns_a++;
		if (f.proto != 6 || memcmp(f.smac, cam, 6) || f.dport != 443)
			continue;
		if (f.tcp_flags == 0x02) {
			bool seen = false;

			for (size_t i = 0; i < nports; i++)
				seen |= ports[i] == f.sport;
			cr_expect_not(seen, "source port %u used twice", f.sport);
			if (nports < BU_PORTS_MAX)
				ports[nports++] = f.sport;
			if (!first_syn_us)
				first_syn_us = ts;
		}
		if (genrun_sni(f.payload, f.payload_len, sni, sizeof(sni))) {
			hellos++;
			cr_expect_str_eq(sni, upload);
		}
		if (f.payload_len) {
			if (!first_us)
				first_us = ts;
			last_us = ts;
			bytes_up += f.payload_len;
		}
	}
	pcap_close(p);
	cr_expect_geq(dns_before, 1, "the camera resolves its upload host before connecting");
	cr_expect_eq(dns_q, dns_a, "every query answered by the router");
	cr_expect_eq(hellos, nports, "a ClientHello with SNI on each of the %zu connections", nports);
	/* TLS records and HTTP add a little to the video: 4 Mbit/s, +-10 %. */
	double secs = (double)(last_us - first_us) / 1e6, mbit = (double)bytes_up * 8 / secs / 1e6;
	cr_expect(mbit > 3.6 && mbit < 4.4, "%.2f Mbit/s of TCP payload over %.1f s", mbit, secs);
	/* A connection per 10 s of video; the last one cut by the packet budget. */
	cr_expect(nports >= (size_t)(secs / 10) && nports <= (size_t)(secs / 10) + 2, "%zu connections in %.1f s",
		  nports, secs);
	json_decref(m);
}

Test(bulkupload, reconnect_by_size_and_bad_options)
{
	char *err;

	cr_assert_eq(genrun_run("bulkupload", "--seed", "1", "--packets", "2000", "--reconnect", "256KiB", "-o",
				genrun_path("s.pcap"), NULL),
		     0);
	cr_expect_eq(genrun_run("bulkupload", "--help", NULL), 0);
	err = genrun_slurp(genrun_path("out.txt"), NULL);
	cr_expect(strstr(err, "usage: iotgen bulkupload") != NULL, "%s", err);
	free(err);
	static const char *const bad[][3] = {
		{"--devices", "0", "bad --devices '0' (want 1..7 cameras)"},
		{"--devices", "8", "bad --devices '8' (want 1..7 cameras)"},
		{"--rate", "50k", "bad --rate '50k'"},
		{"--rate", "8Mbps", "bad --rate '8Mbps'"},
		{"--reconnect", "1KB", "bad --reconnect '1KB'"},
		{"--reconnect", "soon", "bad --reconnect 'soon'"},
		{"--packets", "0", "bad --packets '0'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(genrun_run("bulkupload", "--seed", "1", "-o", genrun_path("x.pcap"), bad[i][0], bad[i][1], NULL),
			     2, "%s %s", bad[i][0], bad[i][1]);
		err = genrun_slurp(genrun_path("err.txt"), NULL);
		cr_expect(strstr(err, bad[i][2]) != NULL, "%s", err);
		free(err);
	}
	cr_expect_eq(genrun_run("bulkupload", "-o", genrun_path("x.pcap"), NULL), 2);
	err = genrun_slurp(genrun_path("err.txt"), NULL);
	cr_expect(strstr(err, "iotgen bulkupload: --seed and -o are required") != NULL, "%s", err);
	free(err);
}
