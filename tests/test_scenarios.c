/*
 * Tests for `iotgen scenario` (pcaps/gen/scenario.c), run as a user would
 * from $IOTGEN_BIN into a scratch directory: every scenario writes a
 * capture in time order and a valid truth file whose window lies on the
 * last day inside the capture; the same seed gives the same bytes; until
 * the behaviour starts the capture is the plain home's; and the injected
 * traffic is really there, read back with libpcap (a telnet scan has
 * thousands of SYNs to 23/2323 from the camera's MAC, the thermostat goes
 * quiet, the camera's new lease follows a NAK, a firmware update's device
 * reboots and reports to its new telemetry host...).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/genrun.h"

static char *sc_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* Compares two files in chunks (captures are hundreds of megabytes). */
static bool sc_same_file(const char *a, const char *b)
{
	FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
	static char bx[1 << 16], by[1 << 16];
	bool same = x && y;

	while (same) {
		size_t nx = fread(bx, 1, sizeof(bx), x), ny = fread(by, 1, sizeof(by), y);

		same = nx == ny && !memcmp(bx, by, nx);
		if (nx == 0)
			break;
	}
	if (x)
		fclose(x);
	if (y)
		fclose(y);
	return same;
}

/* ---- the capture ------------------------------------------------------------ */

/* One frame, dissected as far as these tests need. */
struct pk {
	uint64_t ts;
	const u_char *d;
	size_t n;
	const u_char *smac, *dmac;
	uint16_t etype;
	bool ip4, tcp, udp, icmp;
	const u_char *sip, *dip;
	uint16_t sport, dport;
	uint8_t tflags;
	const u_char *pl; /* transport payload */
	size_t plen;
};

static void sc_parse(const struct pcap_pkthdr *h, const u_char *d, struct pk *p)
{
	size_t ihl, tl;

	memset(p, 0, sizeof(*p));
	p->ts = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
	p->d = d;
	p->n = h->caplen;
	if (h->caplen < 14)
		return;
	p->dmac = d;
	p->smac = d + 6;
	p->etype = (uint16_t)(d[12] << 8 | d[13]);
	if (p->etype != 0x0800 || h->caplen < 34 || (d[14] >> 4) != 4)
		return;
	ihl = (size_t)(d[14] & 15) * 4;
	tl = (size_t)d[16] << 8 | d[17];
	if (14 + tl > h->caplen || tl < ihl)
		return;
	p->ip4 = true;
	p->sip = d + 26;
	p->dip = d + 30;
	p->icmp = d[23] == 1;
	if (d[23] == 6 && tl >= ihl + 20) {
		const u_char *t = d + 14 + ihl;
		size_t thl = (size_t)(t[12] >> 4) * 4;

		p->tcp = true;
		p->sport = (uint16_t)(t[0] << 8 | t[1]);
		p->dport = (uint16_t)(t[2] << 8 | t[3]);
		p->tflags = t[13];
		if (ihl + thl <= tl) {
			p->pl = t + thl;
			p->plen = tl - ihl - thl;
		}
	} else if (d[23] == 17 && tl >= ihl + 8) {
		const u_char *u = d + 14 + ihl;

		p->udp = true;
		p->sport = (uint16_t)(u[0] << 8 | u[1]);
		p->dport = (uint16_t)(u[2] << 8 | u[3]);
		p->pl = u + 8;
		p->plen = tl - ihl - 8;
	}
}

typedef void (*sc_fn)(const struct pk *p, void *ctx);

/* Calls fn for every frame; checks the capture is Ethernet in time order.
 * Returns the number of frames and the first and last timestamps. */
static uint64_t sc_walk(const char *path, sc_fn fn, void *ctx, uint64_t *first, uint64_t *last)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	struct pk p;
	uint64_t n = 0, prev = 0;

	cr_assert_not_null(pc, "libpcap cannot open %s: %s", path, err);
	cr_assert_eq(pcap_datalink(pc), DLT_EN10MB);
	while (pcap_next_ex(pc, &h, &d) == 1) {
		sc_parse(h, d, &p);
		cr_assert_geq(p.ts, prev, "%s: frame %llu goes back in time", path, (unsigned long long)n);
		cr_assert_eq(h->caplen, h->len);
		if (!n && first)
			*first = p.ts;
		prev = p.ts;
		if (fn)
			fn(&p, ctx);
		n++;
	}
	pcap_close(pc);
	if (last)
		*last = prev;
	return n;
}

static bool ip_is(const u_char *ip, unsigned a, unsigned b, unsigned c, unsigned d)
{
	return ip[0] == a && ip[1] == b && ip[2] == c && ip[3] == d;
}

static bool lan(const u_char *ip)
{
	return ip[0] == 192 && ip[1] == 168 && ip[2] == 1;
}

/* The question name of a DNS message (uncompressed, as questions are). */
static bool dns_qname(const u_char *m, size_t n, char *out, size_t cap)
{
	size_t o = 12, w = 0;

	if (n < 12 || !(m[4] | m[5]))
		return false;
	while (o < n && m[o]) {
		size_t l = m[o++];

		if (l > 63 || o + l > n || w + l + 2 > cap)
			return false;
		if (w)
			out[w++] = '.';
		memcpy(out + w, m + o, l);
		w += l;
		o += l;
	}
	out[w] = '\0';
	return o < n;
}

static bool has_text(const u_char *p, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(p + i, needle, k))
			return true;
	return false;
}

/* ---- the truth ---------------------------------------------------------------- */

struct truth {
	json_t *j;
	bool attack;
	const char *kind;        /* NULL when null */
	bool has_mac;
	uint8_t mac[6];
	uint64_t start, end;     /* microseconds */
	uint64_t cap_start, cap_end;
};

/* Days since 1970-01-01 of a Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static uint64_t rfc3339_us(const char *s)
{
	int y, mo, d, h, mi, sec, used = 0;

	cr_assert_not_null(s, "missing time");
	cr_assert(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec, &used) == 6 &&
		  used == 20 && !s[used], "'%s' is not RFC 3339 in whole seconds, UTC", s);
	return (uint64_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000000;
}

static void truth_load(struct truth *t, const char *path)
{
	json_error_t e;
	json_t *dev, *kind;
	const char *mac;

	memset(t, 0, sizeof(*t));
	t->j = json_load_file(path, 0, &e);
	cr_assert_not_null(t->j, "%s is not JSON: %s", path, e.text);
	cr_assert(json_is_string(json_object_get(t->j, "scenario")));
	cr_assert(json_is_boolean(json_object_get(t->j, "attack")));
	t->attack = json_is_true(json_object_get(t->j, "attack"));
	cr_assert_str_eq(json_string_value(json_object_get(t->j, "learn_for")), "24h");
	kind = json_object_get(t->j, "kind");
	cr_assert(json_is_string(kind) || json_is_null(kind));
	t->kind = json_string_value(kind);
	dev = json_object_get(t->j, "device");
	cr_assert(json_is_string(dev) || json_is_null(dev));
	mac = json_string_value(dev);
	if (mac) {
		unsigned m[6];

		cr_assert_eq(strlen(mac), 17, "bad MAC '%s'", mac);
		cr_assert_eq(sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]), 6);
		for (int i = 0; i < 6; i++)
			t->mac[i] = (uint8_t)m[i];
		t->has_mac = true;
	}
	t->start = rfc3339_us(json_string_value(json_object_get(t->j, "start")));
	t->end = rfc3339_us(json_string_value(json_object_get(t->j, "end")));
	t->cap_start = rfc3339_us(json_string_value(json_object_get(t->j, "capture_start")));
	t->cap_end = rfc3339_us(json_string_value(json_object_get(t->j, "capture_end")));
}

static bool from_dev(const struct pk *p, const struct truth *t)
{
	return p->smac && !memcmp(p->smac, t->mac, 6);
}

static bool to_dev(const struct pk *p, const struct truth *t)
{
	return p->dmac && !memcmp(p->dmac, t->mac, 6);
}

static bool in_window(const struct pk *p, const struct truth *t)
{
	return p->ts >= t->start && p->ts <= t->end;
}

/* ---- what each scenario injected ------------------------------------------------ */

#define SET_SLOTS 65536 /* counts stay exact up to SET_MAX */
#define SET_MAX 49152

/* A set of 32-bit values (addresses, ports, name hashes) for distinct
 * counts: open addressing, keys stored + 1 so 0 marks an empty slot. */
struct set {
	uint64_t v[SET_SLOTS];
	size_t n;
};

static uint64_t *set_slot(const struct set *s, uint32_t v)
{
	size_t i = (v * 2654435761u) % SET_SLOTS;

	while (s->v[i] && s->v[i] != (uint64_t)v + 1)
		i = (i + 1) % SET_SLOTS;
	return (uint64_t *)&s->v[i];
}

static void set_add(struct set *s, uint32_t v)
{
	uint64_t *slot = set_slot(s, v);

	if (!*slot && s->n < SET_MAX) {
		*slot = (uint64_t)v + 1;
		s->n++;
	}
}

static bool set_has(const struct set *s, uint32_t v)
{
	return *set_slot(s, v) != 0;
}

/* Names as hashes, for "never seen before". */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static uint32_t ip32(const u_char *ip)
{
	return (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];
}

struct acc {
	const struct truth *t;
	uint64_t a, b, c, d, e;
	struct set s1, s2, s3;
	uint64_t bytes[2];
	char name[320];
	uint64_t when[2];
};

static void telnet_scan_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;

	if (!in_window(p, k->t))
		return;
	if (from_dev(p, k->t) && p->tcp && p->tflags == 0x02 && (p->dport == 23 || p->dport == 2323)) {
		k->a++;
		k->b += p->dport == 2323;
		set_add(&k->s1, ip32(p->dip));
		k->e += lan(p->dip);
	}
	if (to_dev(p, k->t) && p->tcp && (p->tflags & 0x04) && (p->sport == 23 || p->sport == 2323))
		k->c++;
	if (from_dev(p, k->t) && p->tcp && (p->dport == 23 || p->dport == 2323) && p->plen &&
	    has_text(p->pl, p->plen, "\r\n") &&
	    (has_text(p->pl, p->plen, "root") || has_text(p->pl, p->plen, "admin")))
		k->d++;
}

static void check_telnet_scan(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));

	k->t = t;
	sc_walk(pcap, telnet_scan_fn, k, NULL, NULL);
	cr_expect_geq(k->a, 5000, "only %llu SYNs to 23/2323 from the camera", (unsigned long long)k->a);
	cr_expect_geq(k->s1.n, 1000, "SYNs to only %zu addresses", k->s1.n);
	cr_expect(k->b * 100 > k->a * 3 && k->b * 100 < k->a * 20, "%llu of %llu SYNs to 2323",
		  (unsigned long long)k->b, (unsigned long long)k->a);
	cr_expect_gt(k->e, 0, "no probe of a LAN address");
	cr_expect_gt(k->c, 50, "only %llu RSTs from closed ports", (unsigned long long)k->c);
	cr_expect_geq(k->d, 3, "only %llu login lines sent", (unsigned long long)k->d);
	free(k);
}

static void c2_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;
	char sni[256];

	if (!p->tcp || !from_dev(p, k->t) || p->dport != 443 || !genrun_sni(p->pl, p->plen, sni, sizeof(sni)))
		return;
	if (p->ts < k->t->start) {
		set_add(&k->s1, name_hash(sni));
		return;
	}
	if (!k->name[0])
		snprintf(k->name, sizeof(k->name), "%s", sni);
	if (!strcmp(sni, k->name)) {
		if (k->a)
			k->b += p->ts - k->when[0];
		k->when[0] = p->ts;
		k->a++;
	}
}

static void check_c2_beacon(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));
	double gap;

	k->t = t;
	sc_walk(pcap, c2_fn, k, NULL, NULL);
	cr_expect_geq(k->a, 20, "only %llu check-ins", (unsigned long long)k->a);
	gap = k->a > 1 ? (double)k->b / (double)(k->a - 1) / 1e6 : 0;
	cr_expect(gap > 50 && gap < 70, "check-ins every %.1f s, not ~60", gap);
	cr_expect(!set_has(&k->s1, name_hash(k->name)), "the plug used %s before", k->name);
	free(k);
}

static void syn_flood_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;
	uint64_t minute;

	if (!in_window(p, k->t) || !from_dev(p, k->t) || !p->tcp || p->tflags != 0x02)
		return;
	set_add(&k->s1, ip32(p->dip));
	set_add(&k->s2, p->sport);
	k->a++;
	minute = p->ts / 60000000;
	if (minute != k->when[0]) {
		k->when[0] = minute;
		k->c = 0;
	}
	if (++k->c > k->b)
		k->b = k->c;
}

static void check_syn_flood(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));

	k->t = t;
	sc_walk(pcap, syn_flood_fn, k, NULL, NULL);
	cr_expect_geq(k->a, 10000, "only %llu SYNs from the TV", (unsigned long long)k->a);
	cr_expect_geq(k->b, 5000, "at most %llu SYNs in a minute", (unsigned long long)k->b);
	cr_expect_leq(k->s1.n, 2, "SYNs to %zu targets, not one", k->s1.n);
	cr_expect_geq(k->s2.n, 2000, "only %zu source ports", k->s2.n);
	free(k);
}

static void udp_flood_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;

	if (!in_window(p, k->t))
		return;
	if (from_dev(p, k->t) && p->udp && !lan(p->dip) && p->plen == 512) {
		set_add(&k->s1, ip32(p->dip));
		set_add(&k->s2, p->dport);
		k->a++;
	}
	if (to_dev(p, k->t) && p->icmp)
		k->b++;
}

static void check_udp_flood(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));

	k->t = t;
	sc_walk(pcap, udp_flood_fn, k, NULL, NULL);
	cr_expect_geq(k->a, 20000, "only %llu 512-byte datagrams", (unsigned long long)k->a);
	cr_expect_eq(k->s1.n, 1, "datagrams to %zu targets, not one", k->s1.n);
	cr_expect_geq(k->s2.n, 2000, "only %zu destination ports", k->s2.n);
	cr_expect_gt(k->b, 30, "only %llu ICMP errors back", (unsigned long long)k->b);
	free(k);
}

static void exfil_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;
	char sni[256];

	if (!p->tcp || !from_dev(p, k->t) || p->dport != 443)
		return;
	if (p->plen && genrun_sni(p->pl, p->plen, sni, sizeof(sni))) {
		if (p->ts < k->t->start)
			set_add(&k->s2, name_hash(sni));
		else if (!k->name[0])
			snprintf(k->name, sizeof(k->name), "%s", sni);
	}
	if (in_window(p, k->t) && !lan(p->dip)) {
		if (!k->s1.n)
			set_add(&k->s1, ip32(p->dip));
		if (set_has(&k->s1, ip32(p->dip)))
			k->a += p->plen;
	}
}

static void check_exfil(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));

	k->t = t;
	sc_walk(pcap, exfil_fn, k, NULL, NULL);
	cr_expect_geq(k->a, 200ull * 1024 * 1024, "only %llu bytes up", (unsigned long long)k->a);
	cr_expect_leq(t->end - t->start, 10 * 60 * 1000000ull, "the upload took more than 10 minutes");
	cr_expect_neq(k->name[0], '\0', "no TLS server name for the upload");
	cr_expect(!set_has(&k->s2, name_hash(k->name)), "the camera used %s before", k->name);
	free(k);
}

static void dns_tunnel_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;
	char q[300], zone[300];

	if (!in_window(p, k->t) || !p->udp)
		return;
	if (from_dev(p, k->t) && p->dport == 53 && dns_qname(p->pl, p->plen, q, sizeof(q))) {
		char *last = strrchr(q, '.'), *z = NULL;

		k->a++;
		k->b += strlen(q);
		/* The zone: the last two labels. */
		if (last) {
			*last = '\0';
			z = strrchr(q, '.');
			*last = '.';
		}
		snprintf(zone, sizeof(zone), "%s", z ? z + 1 : q);
		if (strlen(q) > 60) {
			if (!k->name[0])
				snprintf(k->name, sizeof(k->name), "%s", zone);
			k->e += !strcmp(zone, k->name);
		}
	}
	if (to_dev(p, k->t) && p->sport == 53 && p->plen > 4 && (p->pl[3] & 15) == 3)
		k->c++;
}

static void check_dns_tunnel(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));
	double minutes = (double)(t->end - t->start) / 60e6;

	k->t = t;
	sc_walk(pcap, dns_tunnel_fn, k, NULL, NULL);
	cr_expect_geq(k->a, 1000, "only %llu queries", (unsigned long long)k->a);
	cr_expect_geq((double)k->a / minutes, 150, "%.0f queries a minute", (double)k->a / minutes);
	cr_expect_gt(k->b / (k->a ? k->a : 1), 60, "names of %llu bytes on average", (unsigned long long)(k->b / (k->a ? k->a : 1)));
	cr_expect_geq(k->e * 10, k->a * 9, "long names under several zones");
	cr_expect_geq(k->c * 4, k->a, "only %llu NXDOMAIN of %llu", (unsigned long long)k->c, (unsigned long long)k->a);
	free(k);
}

static void lateral_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;

	if (!in_window(p, k->t) || !from_dev(p, k->t))
		return;
	if (p->etype == 0x0806 && p->n >= 42 && p->d[21] == 1)
		k->a++;
	if (p->tcp && p->tflags == 0x02 && lan(p->dip)) {
		set_add(&k->s1, p->dport);
		set_add(&k->s2, ip32(p->dip));
	}
}

static void check_lateral(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));

	k->t = t;
	sc_walk(pcap, lateral_fn, k, NULL, NULL);
	cr_expect_geq(k->a, 200, "an ARP sweep of the /24 has only %llu requests", (unsigned long long)k->a);
	for (uint32_t port = 22; port <= 445; port++)
		if (port == 22 || port == 23 || port == 80 || port == 445)
			cr_expect(set_has(&k->s1, port), "no connection to port %u", port);
	cr_expect_geq(k->s2.n, 4, "only %zu LAN hosts probed", k->s2.n);
	free(k);
}

static void new_service_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;

	if (!in_window(p, k->t) || !p->tcp)
		return;
	if (to_dev(p, k->t) && p->dport == 8023 && p->tflags == 0x02 && !lan(p->sip))
		k->a++;
	if (from_dev(p, k->t) && p->sport == 8023 && p->tflags == 0x12)
		k->b++;
	if (from_dev(p, k->t) && p->sport == 8023 && p->plen && has_text(p->pl, p->plen, "BusyBox"))
		k->c++;
}

static void check_new_service(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));

	k->t = t;
	sc_walk(pcap, new_service_fn, k, NULL, NULL);
	cr_expect_geq(k->a, 1, "no SYN from outside to 8023");
	cr_expect_eq(k->a, k->b, "%llu SYNs, %llu SYN-ACKs", (unsigned long long)k->a, (unsigned long long)k->b);
	cr_expect_geq(k->c, 1, "the camera never showed its shell");
	free(k);
}

static void silent_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;

	if (!from_dev(p, k->t))
		return;
	if (p->ts < k->t->start)
		k->a++;
	else
		k->b++;
}

static void check_silent(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));

	k->t = t;
	sc_walk(pcap, silent_fn, k, NULL, NULL);
	cr_expect_gt(k->a, 1000, "the thermostat was quiet from the start");
	cr_expect_eq(k->b, 0, "the thermostat sent %llu frames after going silent", (unsigned long long)k->b);
	cr_expect_geq(t->end - t->start, 6 * 3600 * 1000000ull, "the silence is shorter than 6 hours");
	free(k);
}

static void cdn_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;

	if (!from_dev(p, k->t) || !p->tcp || p->tflags != 0x02 || p->dport != 8883)
		return;
	if (p->ts < k->t->start)
		set_add(&k->s1, ip32(p->dip));
	else if (!set_has(&k->s1, ip32(p->dip)))
		k->a++;
}

static void check_cdn_rotation(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));

	k->t = t;
	sc_walk(pcap, cdn_fn, k, NULL, NULL);
	cr_expect_gt(k->s1.n, 0);
	cr_expect_gt(k->a, 0, "the plug never reached its cloud at a new address");
	free(k);
}

static void browsing_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;
	char q[300];

	if (!from_dev(p, k->t) || !p->udp || p->dport != 53 || !dns_qname(p->pl, p->plen, q, sizeof(q)))
		return;
	if (p->ts < k->t->start)
		set_add(&k->s1, name_hash(q));
	else if (!set_has(&k->s1, name_hash(q)))
		set_add(&k->s2, name_hash(q));
}

static void check_phone_browsing(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));

	k->t = t;
	sc_walk(pcap, browsing_fn, k, NULL, NULL);
	cr_expect_geq(k->s2.n, 100, "only %zu new names on the last day", k->s2.n);
	free(k);
}

static void new_device_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;

	if (!from_dev(p, k->t))
		return;
	if (p->ts < k->t->start)
		k->a++;
	else
		k->b++;
	if (p->udp && p->sport == 68 && p->dport == 67 && ip_is(p->sip, 0, 0, 0, 0) && !k->c)
		k->c = p->ts;
	if (p->tcp && p->dport == 8883 && p->tflags == 0x02)
		k->d++;
}

static void check_new_device(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));

	k->t = t;
	sc_walk(pcap, new_device_fn, k, NULL, NULL);
	cr_expect_eq(k->a, 0, "the new device was there before");
	cr_expect_gt(k->b, 100);
	cr_expect_eq(k->c, t->start, "its first frame is not its DHCP DISCOVER");
	cr_expect_geq(k->d, 1, "it never connected to its cloud");
	free(k);
}

static void dhcp_change_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;

	/* A NAK: BOOTP reply with option 53 = 6 right after the cookie. */
	if (p->udp && p->sport == 67 && p->plen > 243 && p->pl[240] == 53 && p->pl[242] == 6 &&
	    !memcmp(p->pl + 28, k->t->mac, 6))
		k->a++;
	/* (a minute after the change, when nothing is still in flight) */
	if (from_dev(p, k->t) && p->ip4 && !ip_is(p->sip, 0, 0, 0, 0)) {
		if (p->ts < k->t->start)
			set_add(&k->s1, ip32(p->sip));
		else if (p->ts > k->t->start + 60 * 1000000ull)
			set_add(&k->s2, ip32(p->sip));
	}
}

static void check_dhcp_change(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));

	k->t = t;
	sc_walk(pcap, dhcp_change_fn, k, NULL, NULL);
	cr_expect_eq(k->a, 1, "%llu NAKs to the camera", (unsigned long long)k->a);
	cr_expect_eq(k->s1.n, 1, "the camera had %zu addresses before", k->s1.n);
	cr_expect_geq(k->s2.n, 1);
	cr_expect(!set_has(&k->s2, ip32((const u_char *)"\xc0\xa8\x01\x17")), "the camera kept 192.168.1.23");
	cr_expect(set_has(&k->s1, ip32((const u_char *)"\xc0\xa8\x01\x17")), "the camera was not 192.168.1.23");
	free(k);
}

/* Bytes the TV receives from 18:00 to 24:00 of the first and the last day. */
static void evening_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;
	uint64_t h = 3600 * 1000000ull, day = 24 * h, last = k->t->cap_end - day;

	if (!to_dev(p, k->t))
		return;
	if (p->ts >= k->t->cap_start + 12 * h && p->ts < k->t->cap_start + 18 * h)
		k->bytes[0] += p->n;
	if (p->ts >= last + 12 * h && p->ts < last + 18 * h)
		k->bytes[1] += p->n;
}

static void check_evening_peak(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));
	double ratio;

	k->t = t;
	sc_walk(pcap, evening_fn, k, NULL, NULL);
	ratio = (double)k->bytes[1] / (double)(k->bytes[0] ? k->bytes[0] : 1);
	cr_expect(ratio > 1.3 && ratio < 6, "the last evening is %.2f times the first", ratio);
	free(k);
}

/* When the TV first looks up www.netflix.com each day (its evening show). */
static void dst_fn(const struct pk *p, void *ctx)
{
	struct acc *k = ctx;
	char q[300];
	int day;

	/* (dst-shift concerns every device: the truth names none; the TV is
	 * 192.168.1.40) */
	if (!p->udp || p->dport != 53 || !ip_is(p->sip, 192, 168, 1, 40) ||
	    !dns_qname(p->pl, p->plen, q, sizeof(q)) || strcmp(q, "www.netflix.com"))
		return;
	day = p->ts >= k->t->cap_end - 24 * 3600 * 1000000ull;
	if (!k->when[day])
		k->when[day] = p->ts;
}

static void check_dst_shift(const char *pcap, const struct truth *t)
{
	struct acc *k = calloc(1, sizeof(*k));
	double h0, h1;

	k->t = t;
	sc_walk(pcap, dst_fn, k, NULL, NULL);
	cr_assert(k->when[0] && k->when[1], "no evening show");
	h0 = (double)(k->when[0] / 1000000 % 86400) / 3600;
	h1 = (double)(k->when[1] / 1000000 % 86400) / 3600;
	cr_expect(h0 >= 19 && h0 < 21.1, "the first show starts at %.2f UTC, not 19-21", h0);
	cr_expect(h1 >= 18 && h1 < 20.1, "the show on summer time starts at %.2f UTC, not 18-20", h1);
	free(k);
}

/* ---- firmware updates ------------------------------------------------------------ */

/* What a firmware update must show: the image host and the telemetry host
 * never used before; the image downloaded from the first; then the device
 * silent for a few seconds and back through DHCP (a reboot), resolving its
 * usual names again; and the new telemetry, periodic, after the reboot. */
struct fwx {
	const char *cdn, *telem, *usual;
	uint64_t min_bytes, period_s;
};

struct fwacc {
	const struct truth *t;
	const struct fwx *x;
	struct set before;       /* names queried or in a ClientHello before the update */
	struct set cdn_ip;       /* addresses the device sent the image host's ClientHello to */
	uint64_t cdn_query, image_bytes, image_last;
	uint64_t last_frame;     /* the device's last frame before the DISCOVER */
	uint64_t discover, gap;  /* the first DISCOVER after the download, and the silence before it */
	uint64_t usual_after;    /* queries for a usual name after the DISCOVER */
	uint64_t telem, telem_first, telem_last, telem_before_boot;
};

static bool dhcp_type(const struct pk *p, uint8_t type)
{
	return p->udp && p->sport == 68 && p->dport == 67 && p->plen > 243 && p->pl[240] == 53 && p->pl[242] == type;
}

static void fw_fn(const struct pk *p, void *ctx)
{
	struct fwacc *k = ctx;
	const struct fwx *x = k->x;
	char name[300];
	bool q = false, hello = false;

	if (from_dev(p, k->t) && p->udp && p->dport == 53 && dns_qname(p->pl, p->plen, name, sizeof(name)))
		q = true;
	else if (from_dev(p, k->t) && p->tcp && p->plen && genrun_sni(p->pl, p->plen, name, sizeof(name)))
		hello = true;
	if (p->ts < k->t->start) {
		if (q || hello)
			set_add(&k->before, name_hash(name));
		return;
	}
	if (q && !strcmp(name, x->cdn) && !k->cdn_query)
		k->cdn_query = p->ts;
	if (hello && !strcmp(name, x->cdn))
		set_add(&k->cdn_ip, ip32(p->dip));
	if (to_dev(p, k->t) && p->tcp && p->plen && set_has(&k->cdn_ip, ip32(p->sip))) {
		k->image_bytes += p->plen;
		k->image_last = p->ts;
	}
	if (from_dev(p, k->t) && !k->discover) {
		if (k->image_last && dhcp_type(p, 1)) {
			k->discover = p->ts;
			k->gap = p->ts - k->last_frame;
		} else {
			k->last_frame = p->ts;
		}
	}
	if (q && k->discover && !strcmp(name, x->usual))
		k->usual_after++;
	if (hello && !strcmp(name, x->telem)) {
		if (!k->discover) {
			k->telem_before_boot++;
			return;
		}
		if (!k->telem)
			k->telem_first = p->ts;
		k->telem_last = p->ts;
		k->telem++;
	}
}

/* The registrable part of a name, as the last two labels (enough here). */
static const char *last2(const char *name)
{
	const char *a = strrchr(name, '.'), *b = a;

	while (b && b > name && b[-1] != '.')
		b--;
	return b && b != a ? b : name;
}

static void check_fw_update(const struct truth *t, const char *pcap, const struct fwx *x)
{
	struct fwacc *k = calloc(1, sizeof(*k));
	double gap;

	k->t = t;
	k->x = x;
	sc_walk(pcap, fw_fn, k, NULL, NULL);
	cr_expect(!set_has(&k->before, name_hash(x->cdn)), "the device used %s before the update", x->cdn);
	cr_expect(!set_has(&k->before, name_hash(x->telem)), "the device used %s before the update", x->telem);
	cr_expect(set_has(&k->before, name_hash(x->usual)), "the device never used %s before the update", x->usual);
	cr_expect_str_neq(last2(x->cdn), last2(x->telem), "the telemetry host is under the image host's domain");
	cr_expect_neq(k->cdn_query, 0, "the device never resolved %s", x->cdn);
	cr_expect_geq(k->cdn_query, t->start);
	cr_expect_geq(k->image_bytes, x->min_bytes, "only %llu bytes from %s", (unsigned long long)k->image_bytes,
		      x->cdn);
	cr_assert_neq(k->discover, 0, "no DHCP DISCOVER after the download: no reboot");
	cr_expect_gt(k->discover, k->image_last, "the DISCOVER comes before the download ends");
	cr_expect_geq(k->gap, 4000000, "the device was silent only %llu us before its DISCOVER",
		      (unsigned long long)k->gap);
	cr_expect_geq(k->usual_after, 1, "%s was not resolved again after the reboot", x->usual);
	cr_expect_eq(k->telem_before_boot, 0, "the old firmware talked to %s", x->telem);
	cr_assert_geq(k->telem, 5, "only %llu reports to %s", (unsigned long long)k->telem, x->telem);
	gap = (double)(k->telem_last - k->telem_first) / (double)(k->telem - 1) / 1e6;
	cr_expect(gap > (double)x->period_s * 0.75 && gap < (double)x->period_s * 1.25,
		  "reports every %.0f s, not ~%llu", gap, (unsigned long long)x->period_s);
	free(k);
}

static void check_fw_plug(const char *pcap, const struct truth *t)
{
	static const struct fwx x = {"ota-eu.tuyacdn.com", "telemetry-eu.tuyalog.com", "m2.tuyaeu.com", 1000000, 600};

	check_fw_update(t, pcap, &x);
}

static void check_fw_camera(const char *pcap, const struct truth *t)
{
	static const struct fwx x = {"hikfw-eu.oss-eu-central-1.aliyuncs.com", "devlog-eu.hik-iot.com",
				     "api.hik-connect.com", 20000000, 300};

	check_fw_update(t, pcap, &x);
}

static void check_fw_thermostat(const char *pcap, const struct truth *t)
{
	static const struct fwx x = {"fw-cdn.netatmo.com", "metrics-eu.netatmo.io", "mqtt.netatmo.net", 2500000, 600};

	check_fw_update(t, pcap, &x);
}

static void check_fw_tv(const char *pcap, const struct truth *t)
{
	static const struct fwx x = {"fota-eu.samsungcdn.net", "dc-eu.samsungiotcloud.com",
				     "log-ingestion-eu.samsungacr.com", 40000000, 900};

	check_fw_update(t, pcap, &x);
}

/* ---- the tests -------------------------------------------------------------------- */

/* No .timeout: criterion leaks its watchdog entry for a timed test still
 * pending when the run ends, which fails `make asan` (LeakSanitizer). */
TestSuite(scenarios, .init = genrun_setup, .fini = genrun_teardown);

static const struct {
	const char *name, *kind;
	bool attack;
} expected[] = {
	{"telnet-scan", "scan", true},
	{"c2-beacon", "unexpected_destination", true},
	{"syn-flood", "flood", true},
	{"udp-flood", "flood", true},
	{"exfil", "volume_out", true},
	{"dns-tunnel", "dns_anomaly", true},
	{"lateral", "new_lan_peer", true},
	{"new-service", "new_inbound_service", true},
	{"silent", "heartbeat_missing", true},
	{"cdn-rotation", NULL, false},
	{"phone-browsing", NULL, false},
	{"new-device", "new_device", false},
	{"dhcp-change", NULL, false},
	{"evening-peak", NULL, false},
	{"dst-shift", NULL, false},
	{"fw-update-plug", NULL, false},
	{"fw-update-camera", NULL, false},
	{"fw-update-thermostat", NULL, false},
	{"fw-update-tv", NULL, false},
};

Test(scenarios, list_names_every_scenario_with_its_label)
{
	char *out;

	cr_assert_eq(genrun_run("scenario", "--list", NULL), 0);
	out = sc_slurp(genrun_path("out.txt"), NULL);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		char line[128];

		snprintf(line, sizeof(line), "%s ", expected[i].name);
		const char *at = strstr(out, line);

		cr_assert_not_null(at, "--list lacks %s", expected[i].name);
		cr_expect(at == out || at[-1] == '\n', "%s is not at the start of a line", expected[i].name);
		cr_expect_not_null(strstr(at, expected[i].attack ? "attack" : "benign"));
	}
	free(out);
}

/* Generates one scenario and checks what every scenario must hold, then
 * what this one injected. */
static void run_scenario(const char *name, const char *seed, void (*check)(const char *, const struct truth *))
{
	const char *pcap = genrun_path("s.pcap"), *json = genrun_path("s.json");
	size_t i;
	struct truth t;
	uint64_t first = 0, last = 0, n;

	cr_assert_eq(genrun_run("scenario", name, "--seed", seed, "-o", pcap, "--truth", json, NULL), 0,
		     "iotgen scenario %s failed", name);
	truth_load(&t, json);
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		if (!strcmp(expected[i].name, name))
			break;
	cr_assert_lt(i, sizeof(expected) / sizeof(expected[0]));
	cr_expect_str_eq(json_string_value(json_object_get(t.j, "scenario")), name);
	cr_expect_eq(t.attack, expected[i].attack, "%s: attack is %d", name, t.attack);
	if (expected[i].kind)
		cr_expect_str_eq(t.kind ? t.kind : "(null)", expected[i].kind);
	else
		cr_expect_null(t.kind, "%s expects %s", name, t.kind);
	cr_expect(t.has_mac || !strcmp(name, "dst-shift"), "%s: no device", name);
	cr_expect_eq(t.cap_end - t.cap_start, 2 * 86400 * 1000000ull, "not two days");

	n = sc_walk(pcap, NULL, NULL, &first, &last);
	cr_assert_gt(n, 100000, "%s: only %llu frames in two days", name, (unsigned long long)n);
	cr_expect_lt(t.start, t.end, "%s: empty window", name);
	cr_expect_geq(t.start, first / 1000000 * 1000000, "%s: the window starts before the capture", name);
	cr_expect_leq(t.end, (last / 1000000 + 1) * 1000000, "%s: the window ends after the capture", name);
	cr_expect_geq(first, t.cap_start);
	cr_expect_lt(last, t.cap_end);
	/* On the last day, once the detector has learned (dst-shift's change
	 * comes the night before its last day, the first on summer time). */
	if (strcmp(name, "dst-shift"))
		cr_expect_geq(t.start, t.cap_start + 86400 * 1000000ull + 3600 * 1000000ull,
			      "%s: starts before the last day's first hour", name);
	if (check)
		check(pcap, &t);
	json_decref(t.j);
}

/* Seed 7 unless SCENARIO_SEED says otherwise (to try the checks on others). */
static const char *sc_seed(void)
{
	const char *s = getenv("SCENARIO_SEED");

	return s && *s ? s : "7";
}

#define SCENARIO_TEST(id, name, check)                                            \
	Test(scenarios, id##_writes_its_capture_truth_and_traffic)                \
	{                                                                         \
		run_scenario(name, sc_seed(), check);                             \
	}

SCENARIO_TEST(telnet_scan, "telnet-scan", check_telnet_scan)
SCENARIO_TEST(c2_beacon, "c2-beacon", check_c2_beacon)
SCENARIO_TEST(syn_flood, "syn-flood", check_syn_flood)
SCENARIO_TEST(udp_flood, "udp-flood", check_udp_flood)
SCENARIO_TEST(exfil, "exfil", check_exfil)
SCENARIO_TEST(dns_tunnel, "dns-tunnel", check_dns_tunnel)
SCENARIO_TEST(lateral, "lateral", check_lateral)
SCENARIO_TEST(new_service, "new-service", check_new_service)
SCENARIO_TEST(silent, "silent", check_silent)
SCENARIO_TEST(cdn_rotation, "cdn-rotation", check_cdn_rotation)
SCENARIO_TEST(phone_browsing, "phone-browsing", check_phone_browsing)
SCENARIO_TEST(new_device, "new-device", check_new_device)
SCENARIO_TEST(dhcp_change, "dhcp-change", check_dhcp_change)
SCENARIO_TEST(evening_peak, "evening-peak", check_evening_peak)
SCENARIO_TEST(dst_shift, "dst-shift", check_dst_shift)
SCENARIO_TEST(fw_update_plug, "fw-update-plug", check_fw_plug)
SCENARIO_TEST(fw_update_camera, "fw-update-camera", check_fw_camera)
SCENARIO_TEST(fw_update_thermostat, "fw-update-thermostat", check_fw_thermostat)
SCENARIO_TEST(fw_update_tv, "fw-update-tv", check_fw_tv)

Test(scenarios, same_seed_same_bytes_other_seed_other_bytes)
{
	cr_assert_eq(genrun_run("scenario", "c2-beacon", "--seed", "5", "-o", genrun_path("a.pcap"), "--truth",
			    genrun_path("a.json"), NULL), 0);
	cr_assert_eq(genrun_run("scenario", "c2-beacon", "--seed", "5", "-o", genrun_path("b.pcap"), "--truth",
			    genrun_path("b.json"), NULL), 0);
	cr_expect(sc_same_file(genrun_path("a.pcap"), genrun_path("b.pcap")), "same seed, different captures");
	cr_expect(sc_same_file(genrun_path("a.json"), genrun_path("b.json")), "same seed, different truths");
	unlink(genrun_path("b.pcap"));
	cr_assert_eq(genrun_run("scenario", "c2-beacon", "--seed", "6", "-o", genrun_path("c.pcap"), "--truth",
			    genrun_path("c.json"), NULL), 0);
	cr_expect_not(sc_same_file(genrun_path("a.pcap"), genrun_path("c.pcap")), "different seeds, same capture");
	cr_expect_not(sc_same_file(genrun_path("a.json"), genrun_path("c.json")), "different seeds, same truth");
}

/* Records of a classic pcap file one by one, without libpcap, to compare
 * two captures byte for byte up to a time. */
static bool next_record(FILE *f, uint64_t *ts, unsigned char *buf, uint32_t *len)
{
	uint32_t h[4];

	if (fread(h, 4, 4, f) != 4 || h[2] > 65535 || fread(buf, 1, h[2], f) != h[2])
		return false;
	*ts = (uint64_t)h[0] * 1000000 + h[1];
	*len = h[2];
	return true;
}

Test(scenarios, until_the_behaviour_starts_the_capture_is_the_plain_home)
{
	static unsigned char ra[65536], rb[65536];
	struct truth t;
	FILE *a, *b;
	unsigned char hdr_a[24], hdr_b[24];
	uint64_t ta, tb, n = 0;
	uint32_t la, lb;

	cr_assert_eq(genrun_run("scenario", "telnet-scan", "--seed", "4", "-o", genrun_path("s.pcap"), "--truth",
			    genrun_path("s.json"), NULL), 0);
	cr_assert_eq(genrun_run("home", "--seed", "4", "--start", "2026-03-02T06:00:00Z", "--duration", "2d", "-o",
			    genrun_path("h.pcap"), NULL), 0);
	truth_load(&t, genrun_path("s.json"));
	a = fopen(genrun_path("s.pcap"), "rb");
	b = fopen(genrun_path("h.pcap"), "rb");
	cr_assert(a && b);
	cr_assert(fread(hdr_a, 1, 24, a) == 24 && fread(hdr_b, 1, 24, b) == 24);
	cr_expect(!memcmp(hdr_a, hdr_b, 24));
	for (;;) {
		bool ok_a = next_record(a, &ta, ra, &la), ok_b = next_record(b, &tb, rb, &lb);

		cr_assert(ok_a && ok_b, "a capture ended before the behaviour started");
		if (ta >= t.start || tb >= t.start)
			break;
		cr_assert(ta == tb && la == lb && !memcmp(ra, rb, la), "record %llu differs from the plain home",
			  (unsigned long long)n);
		n++;
	}
	cr_expect_gt(n, 100000, "only %llu identical records", (unsigned long long)n);
	/* ... and from then on it is not. */
	cr_expect(ta != tb || la != lb || memcmp(ra, rb, la));
	fclose(a);
	fclose(b);
	json_decref(t.j);
}

Test(scenarios, bad_arguments_exit_2_and_write_errors_exit_1)
{
	const char *o = genrun_path("x.pcap"), *j = genrun_path("x.json");

	cr_expect_eq(genrun_run("scenario", NULL), 2);
	cr_expect_eq(genrun_run("scenario", "no-such-thing", "--seed", "1", "-o", o, "--truth", j, NULL), 2);
	cr_expect_eq(genrun_run("scenario", "exfil", "--seed", "1", "-o", o, NULL), 2);
	cr_expect_eq(genrun_run("scenario", "exfil", "--seed", "1", "--truth", j, NULL), 2);
	cr_expect_eq(genrun_run("scenario", "exfil", "-o", o, "--truth", j, NULL), 2);
	cr_expect_eq(genrun_run("scenario", "exfil", "--seed", "1", "--days", "1", "-o", o, "--truth", j, NULL), 2);
	cr_expect_eq(genrun_run("scenario", "exfil", "--seed", "1", "--days", "61", "-o", o, "--truth", j, NULL), 2);
	cr_expect_eq(genrun_run("scenario", "exfil", "silent", "--seed", "1", "-o", o, "--truth", j, NULL), 2);
	cr_expect_eq(genrun_run("scenario", "exfil", "--seed", "1", "--bogus", "-o", o, "--truth", j, NULL), 2);
	cr_expect_eq(genrun_run("scenario", "--help", NULL), 0);
	cr_expect_eq(genrun_run("scenario", "silent", "--seed", "1", "-o", "/nonexistent/dir/x.pcap", "--truth", j,
			    NULL), 1);
	cr_expect_eq(genrun_run("scenario", "silent", "--seed", "1", "-o", o, "--truth", "/nonexistent/dir/x.json",
			    NULL), 1);
}
