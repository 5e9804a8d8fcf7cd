/*
 * hostile — the demo home with one hostile flood over its enforcement hour.
 *
 * The home is taken from a capture (--base; by default the bundled demo is
 * generated from --seed into a temporary file) and replayed untouched: its
 * records are fed to the event engine at their own timestamps, and the
 * attack's packets are emitted on the same engine, so both come out merged
 * in time order and streamed (only packets in flight are held: ten million
 * packets need no ten-million-packet array). From the base only the router
 * is learned (the sender of DHCP server replies: its MAC is the next hop of
 * everything sent out, its /24 is the LAN) and which LAN addresses are in
 * use, so the attacks never reuse a real device's address as their own
 * host's.
 *
 * The attacks avoid the real devices on purpose: none of their packets is
 * from or to a real device or the router's own addresses (spoofed senders
 * may claim a real device's IPv4 address, as a flood tool picking random
 * addresses in the subnet would). Whatever changes in the real devices'
 * profiles or alerts is then the attack's side effect on shared tables,
 * which is what the run is for.
 *
 *   spoof     random source MACs and addresses (mostly on the LAN: 50 % in
 *             the home's /24, 20 % elsewhere in RFC 1918, 10 % ULA and 10 %
 *             link-local IPv6, 10 % public) and ports, 60 % TCP SYNs and
 *             40 % UDP datagrams with a few random bytes, to random internet
 *             hosts through the router: each is a new flow, and most a new
 *             device.
 *   dnsflood  DNS responses from random internet resolvers to random LAN
 *             hosts (a pool of 16384 made-up MACs in the home's /24, one of
 *             which gets an eighth of them), each to a new random name with
 *             a CNAME chain of 0-3 names and 1-24 A or 1-12 AAAA answers.
 *   names     one new LAN host (a compromised one, at a free address) that
 *             asks 8.8.8.8 for N distinct names (a label that encodes the
 *             name's number through a bijection, so no two are equal; one
 *             in ten answered through a CNAME) and opens a TCP connection
 *             to each answer's address, left established: query, answer,
 *             SYN, SYN+ACK, ACK.
 */
#include "pcaps/gen/hostile.h"

#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcaps/gen/addr.h"
#include "pcaps/gen/cli.h"
#include "pcaps/gen/dnsmsg.h"
#include "pcaps/gen/pcapw.h"
#include "pcaps/gen/pkt.h"
#include "pcaps/gen/prng.h"
#include "pcaps/gen/scenario.h"
#include "pcaps/gen/sim.h"

#define MS 1000ULL
#define SEC 1000000ULL
/* The demo's devices learn for two hours (replay --learn-for 2h). */
#define LEARN_DEFAULT_S 7200
/* The attack keeps a minute from the enforcement hour's edges. */
#define MARGIN_US (60 * SEC)
/* Packets emitted per run of a flood task. */
#define BATCH 1024
/* Products of count and span stay below 2^64 (see at()). */
#define COUNT_MAX 1000000000ULL
/* Distinct private source addresses remembered from the base. */
#define SEEN_MAX 4096
#define FAKE_HOSTS 16384
#define DNS_MSG_MAX 1232 /* the EDNS buffer size resolvers settled on */

enum attack { ATK_SPOOF, ATK_DNSFLOOD, ATK_NAMES, ATK_COUNT };

static const struct {
	const char *name;
	uint64_t count;
} attacks[ATK_COUNT] = {
	[ATK_SPOOF] = {"spoof", 10000000},
	[ATK_DNSFLOOD] = {"dnsflood", 1000000},
	[ATK_NAMES] = {"names", 1000000},
};

static const char usage[] =
	"usage: iotgen hostile --attack spoof|dnsflood|names --seed N -o OUT.pcap\n"
	"                      [--count N] [--base CAPTURE] [--learn DUR]\n"
	"  The demo home (`iotgen demo --seed N`, or the capture given with --base)\n"
	"  with one attack laid over its enforcement hour, from --learn (default 2h)\n"
	"  after its first packet to its end, a minute kept clear at each edge:\n"
	"  spoof     N packets (default 10000000) from random source MACs, addresses\n"
	"            (mostly LAN) and ports, TCP SYNs and UDP, to random internet\n"
	"            hosts: flow-table and device-table exhaustion\n"
	"  dnsflood  N DNS responses (default 1000000) from random resolvers to\n"
	"            random LAN hosts, each with a CNAME chain and up to 24 A/AAAA\n"
	"            answers: the DNS answer cache and the name table\n"
	"  names     one compromised LAN host resolving N distinct names (default\n"
	"            1000000) and connecting to each (5 packets a name)\n"
	"  --base    an Ethernet capture of the home, in time order, whole frames\n"
	"            (the router is the sender of its DHCP server replies)\n"
	"  The same arguments always give the same bytes.\n";

/* What the base capture tells about the LAN. */
struct lan {
	uint8_t gw_mac[6], gw_ip[4];
	bool have_gw;
	uint64_t first_us, last_us, records;
	uint8_t seen[SEEN_MAX][4]; /* private IPv4 sources, distinct */
	size_t n_seen;
	bool used[256];            /* host numbers of the router's /24 in use */
};

struct fake_host {
	uint8_t mac[6];
	uint8_t host;
};

struct atk {
	enum attack kind;
	struct prng rng;
	const struct lan *lan;
	uint64_t start, span, count, next;
	uint64_t salt;                /* names: the label bijection's offset */
	uint8_t host_mac[6], host_ip[4];
	uint16_t host_ipid;
	struct fake_host *fakes;      /* dnsflood; fakes[0] is the hot one */
};

struct base {
	pcap_t *p;
	uint8_t frame[PKT_MAX];
	uint32_t len;
	uint64_t ts;
	int err;
	char msg[PCAP_ERRBUF_SIZE + 64];
};

/* ---- the base capture ---- */

static int base_open(struct base *b, const char *path)
{
	char err[PCAP_ERRBUF_SIZE];

	memset(b, 0, sizeof(*b));
	b->p = pcap_open_offline(path, err);
	if (!b->p) {
		snprintf(b->msg, sizeof(b->msg), "%s", err);
		return -EIO;
	}
	if (pcap_datalink(b->p) != DLT_EN10MB) {
		snprintf(b->msg, sizeof(b->msg), "not an Ethernet capture");
		pcap_close(b->p);
		b->p = NULL;
		return -EINVAL;
	}
	return 0;
}

/* The next record into b: 1, 0 at the end, or a negative errno with b->msg. */
static int base_read(struct base *b)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	int rc = pcap_next_ex(b->p, &h, &d);

	if (rc == PCAP_ERROR_BREAK)
		return 0;
	if (rc != 1) {
		snprintf(b->msg, sizeof(b->msg), "%s", pcap_geterr(b->p));
		return -EIO;
	}
	uint64_t ts = (uint64_t)h->ts.tv_sec * SEC + (uint64_t)h->ts.tv_usec;
	/* Re-emitted as is, so they must be whole and fit a frame slot. */
	if (h->caplen != h->len || h->caplen > PKT_MAX) {
		snprintf(b->msg, sizeof(b->msg), "a record of %u bytes (%u captured): want whole frames of at most %d",
			 h->len, h->caplen, PKT_MAX);
		return -EINVAL;
	}
	if (ts < b->ts) {
		snprintf(b->msg, sizeof(b->msg), "records out of time order");
		return -EINVAL;
	}
	memcpy(b->frame, d, h->caplen);
	b->len = h->caplen;
	b->ts = ts;
	return 1;
}

static void base_close(struct base *b)
{
	if (b->p)
		pcap_close(b->p);
	b->p = NULL;
}

static bool private4(const uint8_t *a)
{
	return a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168);
}

static void note_source(struct lan *l, const uint8_t *ip)
{
	if (!private4(ip))
		return;
	for (size_t i = 0; i < l->n_seen; i++)
		if (!memcmp(l->seen[i], ip, 4))
			return;
	if (l->n_seen < SEEN_MAX)
		memcpy(l->seen[l->n_seen++], ip, 4);
}

/* One frame of the base: an IPv4 source to remember, or the router. */
static void scan_frame(struct lan *l, const uint8_t *f, uint32_t len)
{
	if (len < PKT_ETH_HDR + 20 || f[12] != 0x08 || f[13] != 0x00)
		return;
	const uint8_t *ip = f + PKT_ETH_HDR;
	uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;

	if ((ip[0] >> 4) != 4 || ihl < 20)
		return;
	note_source(l, ip + 12);
	if (l->have_gw || ip[9] != 17 || len < PKT_ETH_HDR + ihl + 8)
		return;
	const uint8_t *udp = ip + ihl;
	if (udp[0] == 0 && udp[1] == 67 && udp[2] == 0 && udp[3] == 68 && private4(ip + 12)) {
		memcpy(l->gw_mac, f + 6, 6);
		memcpy(l->gw_ip, ip + 12, 4);
		l->have_gw = true;
	}
}

static int scan_base(struct lan *l, const char *path, char *msg, size_t msglen)
{
	struct base b;
	int rc = base_open(&b, path);

	memset(l, 0, sizeof(*l));
	while (rc == 0 && (rc = base_read(&b)) == 1) {
		if (l->records++ == 0)
			l->first_us = b.ts;
		l->last_us = b.ts;
		scan_frame(l, b.frame, b.len);
		rc = 0;
	}
	if (rc < 0)
		snprintf(msg, msglen, "%s: %s", path, b.msg);
	base_close(&b);
	if (rc < 0)
		return rc;
	if (!l->have_gw) {
		snprintf(msg, msglen, "%s: no DHCP server reply, so no router to route through", path);
		return -EINVAL;
	}
	for (size_t i = 0; i < l->n_seen; i++)
		if (!memcmp(l->seen[i], l->gw_ip, 3))
			l->used[l->seen[i][3]] = true;
	l->used[0] = l->used[255] = true;
	return 0;
}

static void base_run(struct sim *s, void *arg)
{
	struct base *b = arg;

	sim_emit(s, b->ts, b->frame, b->len);
	int rc = base_read(b);
	if (rc == 1) {
		sim_at(s, b->ts, base_run, b);
	} else if (rc < 0) {
		b->err = rc;
		sim_fail(s, rc);
	}
}

/* ---- the attacks ---- */

/* When the i-th of count events happens, spread evenly over the span. */
static uint64_t at(const struct atk *a, uint64_t i)
{
	return a->start + i * (a->span / a->count) + i * (a->span % a->count) / a->count;
}

static void random_mac(struct prng *r, uint8_t mac[6])
{
	prng_fill(r, mac, 6);
	mac[0] &= 0xfe; /* unicast */
	mac[5] |= 1;    /* never all zero */
}

/* A host number of the router's /24 that the base does not use. */
static uint8_t free_host(struct prng *r, const struct lan *l)
{
	uint8_t h;
	int tries = 0;

	do
		h = (uint8_t)prng_range(r, 2, 254);
	while (l->used[h] && ++tries < 1024);
	return h;
}

static void public6(struct prng *r, uint8_t ip[16])
{
	prng_fill(r, ip, 16);
	ip[0] = 0x2a;
	ip[1] = (uint8_t)(ip[1] & 0x0f); /* 2a00::/12, RIPE's */
}

static uint16_t spoof_dport(struct prng *r, bool tcp)
{
	static const uint16_t common[] = {80, 443, 22, 23, 8080, 8443, 3389, 445, 25, 1883};
	uint16_t p;

	if (tcp && prng_chance(r, 0.7))
		return common[prng_below(r, sizeof(common) / sizeof(common[0]))];
	/* Clear of the ports whose payloads iotids parses (DNS, DHCP, SSDP, mDNS). */
	do
		p = (uint16_t)prng_range(r, 1024, 65535);
	while (p == 1900 || p == 5353);
	return p;
}

static void spoof_one(struct atk *a, struct sim *s, uint64_t t)
{
	static const uint8_t mss[4] = {2, 4, 0x05, 0xb4};
	struct prng *r = &a->rng;
	uint8_t frame[PKT_MAX], smac[6], sip[16], dip[16], payload[64];
	uint64_t v = prng_u64(r);
	unsigned kind = (unsigned)(v % 10);
	bool v6 = kind == 7 || kind == 8;
	size_t len;

	random_mac(r, smac);
	if (kind < 5) {
		memcpy(sip, a->lan->gw_ip, 3);
		sip[3] = (uint8_t)prng_range(r, 2, 254);
	} else if (kind == 5) {
		sip[0] = 10;
		prng_fill(r, sip + 1, 3);
	} else if (kind == 6) {
		sip[0] = 172;
		sip[1] = (uint8_t)prng_range(r, 16, 31);
		prng_fill(r, sip + 2, 2);
	} else if (kind == 7) {
		prng_fill(r, sip, 16);
		sip[0] = 0xfd;
	} else if (kind == 8) {
		memset(sip, 0, 8);
		sip[0] = 0xfe, sip[1] = 0x80;
		prng_fill(r, sip + 8, 8);
	} else {
		addr_public4(r, sip);
	}
	if (v6)
		public6(r, dip);
	else
		addr_public4(r, dip);
	struct pkt_l3 l3 = {.smac = smac, .dmac = a->lan->gw_mac, .sip = sip, .dip = dip, .v6 = v6,
			    .ttl = (v >> 8) & 1 ? 64 : 128, .df = true, .ipid = (uint16_t)(v >> 16),
			    .flow = (uint32_t)(v >> 32) & 0xfffff};
	uint16_t sport = (uint16_t)prng_range(r, 1024, 65535);
	if ((v >> 12) % 5 < 3) {
		struct pkt_tcph h = {.sport = sport, .dport = spoof_dport(r, true), .seq = prng_u32(r),
				     .flags = PKT_SYN, .win = 64240, .opt = mss, .optlen = sizeof(mss)};
		len = pkt_tcp(frame, &l3, &h, NULL, 0);
	} else {
		size_t n = prng_range(r, 8, sizeof(payload));
		prng_fill(r, payload, n);
		len = pkt_udp(frame, &l3, sport, spoof_dport(r, false), payload, n);
	}
	sim_emit(s, t, frame, pkt_pad(frame, len, PKT_ETH_MIN));
}

/* A random lowercase label of lo..hi letters and digits. */
static void random_label(struct prng *r, char *out, size_t lo, size_t hi)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t n = prng_range(r, lo, hi);

	for (size_t i = 0; i < n; i++)
		out[i] = alnum[prng_below(r, i ? 36 : 26)];
	out[n] = '\0';
}

static const char *const tlds[] = {"com", "net", "org", "io", "info", "xyz", "top", "cn", "ru", "de"};
#define N_TLDS (sizeof(tlds) / sizeof(tlds[0]))

static void udp_frame(struct sim *s, uint64_t t, const struct pkt_l3 *l3, uint16_t sport, uint16_t dport,
		      const uint8_t *msg, size_t len)
{
	uint8_t frame[PKT_MAX];

	if (!len) {
		sim_fail(s, -EINVAL);
		return;
	}
	size_t n = pkt_udp(frame, l3, sport, dport, msg, len);
	if (!n) {
		sim_fail(s, -EINVAL);
		return;
	}
	sim_emit(s, t, frame, pkt_pad(frame, n, PKT_ETH_MIN));
}

static void dnsflood_one(struct atk *a, struct sim *s, uint64_t t)
{
	static const uint32_t ttls[] = {30, 60, 300, 600, 3600, 86400};
	static const char *const cdns[] = {"edgekey.net", "akamaiedge.net", "cloudfront.net", "fastly.net",
					   "azureedge.net", "cdn.cloudflare.net"};
	struct prng *r = &a->rng;
	char label[32], qname[64], chain[3][64];
	uint8_t msg[DNS_MSG_MAX], rdata[16], src[4], dst[4];
	struct dnsm m;
	const struct fake_host *h = &a->fakes[prng_chance(r, 0.125) ? 0 : prng_below(r, FAKE_HOSTS)];
	bool v6 = prng_chance(r, 0.3);
	size_t nchain = prng_below(r, 4), nans = v6 ? prng_range(r, 1, 12) : prng_range(r, 1, 24);
	uint32_t ttl = ttls[prng_below(r, sizeof(ttls) / sizeof(ttls[0]))];

	random_label(r, label, 6, 20);
	snprintf(qname, sizeof(qname), "%s.%s", label, tlds[prng_below(r, N_TLDS)]);
	for (size_t i = 0; i < nchain; i++) {
		random_label(r, label, 4, 12);
		snprintf(chain[i], sizeof(chain[i]), "e%u.%s.%s", (unsigned)prng_below(r, 10000), label,
			 cdns[prng_below(r, sizeof(cdns) / sizeof(cdns[0]))]);
	}
	dnsm_init(&m, msg, sizeof(msg), (uint16_t)prng_u32(r), DNSM_QR | DNSM_RD | DNSM_RA);
	dnsm_question(&m, qname, v6 ? DNSM_AAAA : DNSM_A, DNSM_IN);
	const char *owner = qname;
	for (size_t i = 0; i < nchain; i++) {
		dnsm_rr_name(&m, DNSM_AN, owner, DNSM_CNAME, DNSM_IN, ttl, chain[i]);
		owner = chain[i];
	}
	for (size_t i = 0; i < nans; i++) {
		if (v6)
			public6(r, rdata);
		else
			addr_public4(r, rdata);
		dnsm_rr(&m, DNSM_AN, owner, v6 ? DNSM_AAAA : DNSM_A, DNSM_IN, ttl, rdata, v6 ? 16 : 4);
	}
	addr_public4(r, src);
	memcpy(dst, a->lan->gw_ip, 3);
	dst[3] = h->host;
	struct pkt_l3 l3 = {.smac = a->lan->gw_mac, .dmac = h->mac, .sip = src, .dip = dst, .ttl = 57,
			    .ipid = (uint16_t)prng_u32(r)};
	udp_frame(s, t, &l3, 53, (uint16_t)prng_range(r, 1024, 65535), msg, dnsm_finish(&m));
}

/* The i-th distinct name: a label of 13 base-32 characters that spell a
 * bijection of i (splitmix64's finaliser), so no two names are equal. */
static void nth_name(const struct atk *a, uint64_t i, struct prng *r, char *out, size_t len)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint64_t v = prng_mix(i + a->salt);
	char label[14];

	for (int k = 0; k < 13; k++) {
		label[k] = b32[v & 31];
		v >>= 5;
	}
	label[13] = '\0';
	snprintf(out, len, "%s.%s", label, tlds[prng_below(r, N_TLDS)]);
}

static void names_one(struct atk *a, struct sim *s, uint64_t i, uint64_t t)
{
	static const uint8_t resolver[4] = {8, 8, 8, 8};
	static const uint8_t mss[4] = {2, 4, 0x05, 0xb4};
	struct prng *r = &a->rng;
	char qname[64], cname[96];
	uint8_t msg[DNS_MSG_MAX], frame[PKT_MAX], addr[4];
	struct dnsm m;
	uint16_t id = (uint16_t)prng_u32(r), qport = (uint16_t)prng_range(r, 32768, 60999);
	bool chained = prng_chance(r, 0.1);

	nth_name(a, i, r, qname, sizeof(qname));
	snprintf(cname, sizeof(cname), "%s.cdn.cloudflare.net", qname);
	addr_public4(r, addr);
	struct pkt_l3 out = {.smac = a->host_mac, .dmac = a->lan->gw_mac, .sip = a->host_ip, .dip = resolver,
			     .ttl = 64, .df = true};
	struct pkt_l3 in = {.smac = a->lan->gw_mac, .dmac = a->host_mac, .sip = resolver, .dip = a->host_ip,
			    .ttl = 117, .ipid = (uint16_t)prng_u32(r)};

	dnsm_init(&m, msg, sizeof(msg), id, DNSM_RD);
	dnsm_question(&m, qname, DNSM_A, DNSM_IN);
	out.ipid = a->host_ipid++;
	udp_frame(s, t, &out, qport, 53, msg, dnsm_finish(&m));
	uint64_t dns_rtt = prng_range(r, 8, 40) * MS;
	dnsm_init(&m, msg, sizeof(msg), id, DNSM_QR | DNSM_RD | DNSM_RA);
	dnsm_question(&m, qname, DNSM_A, DNSM_IN);
	if (chained)
		dnsm_rr_name(&m, DNSM_AN, qname, DNSM_CNAME, DNSM_IN, 300, cname);
	dnsm_rr(&m, DNSM_AN, chained ? cname : qname, DNSM_A, DNSM_IN, 300, addr, 4);
	udp_frame(s, t + dns_rtt, &in, 53, qport, msg, dnsm_finish(&m));

	/* The connection, left open: SYN, SYN+ACK, ACK. */
	uint64_t t1 = t + dns_rtt + prng_range(r, 200, 2000), rtt = prng_range(r, 15, 150) * MS;
	uint32_t cseq = prng_u32(r), sseq = prng_u32(r);
	uint16_t cport = (uint16_t)prng_range(r, 32768, 60999);
	struct pkt_tcph h = {.sport = cport, .dport = 443, .seq = cseq, .flags = PKT_SYN, .win = 64240,
			     .opt = mss, .optlen = sizeof(mss)};
	size_t n;

	out.dip = addr;
	out.ipid = a->host_ipid++;
	n = pkt_tcp(frame, &out, &h, NULL, 0);
	sim_emit(s, t1, frame, pkt_pad(frame, n, PKT_ETH_MIN));
	in.sip = addr;
	in.ttl = (uint8_t)prng_range(r, 40, 60);
	in.df = true;
	h = (struct pkt_tcph){.sport = 443, .dport = cport, .seq = sseq, .ack = cseq + 1,
			      .flags = PKT_SYN | PKT_ACK, .win = 65535, .opt = mss, .optlen = sizeof(mss)};
	n = pkt_tcp(frame, &in, &h, NULL, 0);
	sim_emit(s, t1 + rtt, frame, pkt_pad(frame, n, PKT_ETH_MIN));
	out.ipid = a->host_ipid++;
	h = (struct pkt_tcph){.sport = cport, .dport = 443, .seq = cseq + 1, .ack = sseq + 1, .flags = PKT_ACK,
			      .win = 502};
	n = pkt_tcp(frame, &out, &h, NULL, 0);
	sim_emit(s, t1 + rtt + prng_range(r, 50, 400), frame, pkt_pad(frame, n, PKT_ETH_MIN));
}

static void attack_run(struct sim *s, void *arg)
{
	struct atk *a = arg;
	uint64_t stop = a->next + (a->kind == ATK_NAMES ? 1 : BATCH);

	if (stop > a->count)
		stop = a->count;
	for (; a->next < stop; a->next++) {
		uint64_t t = at(a, a->next);
		switch (a->kind) {
		case ATK_SPOOF:
			spoof_one(a, s, t);
			break;
		case ATK_DNSFLOOD:
			dnsflood_one(a, s, t);
			break;
		default:
			names_one(a, s, a->next, t);
			break;
		}
	}
	if (a->next < a->count)
		sim_at(s, at(a, a->next), attack_run, a);
}

static int attack_init(struct atk *a, enum attack kind, uint64_t seed, const struct lan *l)
{
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->lan = l;
	prng_seed(&a->rng, seed, prng_hash("hostile") ^ prng_hash(attacks[kind].name));
	a->salt = prng_u64(&a->rng);
	if (kind == ATK_DNSFLOOD) {
		a->fakes = calloc(FAKE_HOSTS, sizeof(*a->fakes));
		if (!a->fakes)
			return -ENOMEM;
		for (size_t i = 0; i < FAKE_HOSTS; i++) {
			random_mac(&a->rng, a->fakes[i].mac);
			a->fakes[i].host = free_host(&a->rng, l);
		}
	} else if (kind == ATK_NAMES) {
		/* An ESP32 module: the kind of device that gets taken over. */
		static const uint8_t espressif[3] = {0x24, 0x0a, 0xc4};
		memcpy(a->host_mac, espressif, 3);
		prng_fill(&a->rng, a->host_mac + 3, 3);
		memcpy(a->host_ip, l->gw_ip, 3);
		a->host_ip[3] = free_host(&a->rng, l);
		a->host_ipid = (uint16_t)prng_u32(&a->rng);
	}
	return 0;
}

/* ---- the command ---- */

struct opts {
	enum attack kind;
	uint64_t seed, count, learn_s;
	const char *out, *base;
};

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{"attack", required_argument, NULL, 'a'},
		{"seed", required_argument, NULL, 's'},
		{"count", required_argument, NULL, 'n'},
		{"base", required_argument, NULL, 'b'},
		{"learn", required_argument, NULL, 'l'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool have_seed = false, have_kind = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->learn_s = LEARN_DEFAULT_S;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":a:s:n:b:l:o:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			for (int k = 0; k < ATK_COUNT && !have_kind; k++)
				if (!strcmp(optarg, attacks[k].name)) {
					o->kind = (enum attack)k;
					have_kind = true;
				}
			if (!have_kind)
				return cli_usage_error("hostile", "unknown --attack '%s' (spoof, dnsflood or names)",
						       optarg);
			break;
		case 's':
			if (cli_u64(optarg, 0, UINT64_MAX, &o->seed))
				return cli_usage_error("hostile", "bad --seed '%s' (want an unsigned integer)", optarg);
			have_seed = true;
			break;
		case 'n':
			if (cli_u64(optarg, 1, COUNT_MAX, &o->count))
				return cli_usage_error("hostile", "bad --count '%s' (want 1..%llu)", optarg,
						       (unsigned long long)COUNT_MAX);
			break;
		case 'b':
			o->base = optarg;
			break;
		case 'l':
			if (cli_duration(optarg, &o->learn_s))
				return cli_usage_error("hostile", "bad --learn '%s' (want e.g. 2h)", optarg);
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		case ':':
			return cli_usage_error("hostile", "option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("hostile", "unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("hostile", "unexpected argument '%s'", argv[optind]);
	if (!have_kind || !have_seed || !o->out)
		return cli_usage_error("hostile", "--attack, --seed and -o are required (see --help)");
	if (!o->count)
		o->count = attacks[o->kind].count;
	return -1;
}

/* The demo from seed into a new temporary file named in path. */
static int make_demo(uint64_t seed, char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");
	char seedbuf[24], demo[] = "demo", opt_seed[] = "--seed", opt_out[] = "-o";

	snprintf(path, len, "%s/iotgen-hostile-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		int err = errno;
		cli_runtime_error("hostile", "%s: %s", path, strerror(err));
		path[0] = '\0';
		return CLI_RUNTIME;
	}
	close(fd);
	snprintf(seedbuf, sizeof(seedbuf), "%llu", (unsigned long long)seed);
	char *argv[] = {demo, opt_seed, seedbuf, opt_out, path, NULL};
	return gen_demo_main(5, argv);
}

static int generate(const struct opts *o, const char *base_path)
{
	struct lan *lan = calloc(1, sizeof(*lan));
	struct atk a = {0};
	struct base b = {0};
	struct sim *s = NULL;
	struct pw *w = NULL;
	char msg[PCAP_ERRBUF_SIZE + 128];
	int rc = CLI_RUNTIME, err;

	if (!lan) {
		rc = cli_runtime_error("hostile", "out of memory");
		goto out;
	}
	if (scan_base(lan, base_path, msg, sizeof(msg)) != 0) {
		rc = cli_runtime_error("hostile", "%s", msg);
		goto out;
	}
	uint64_t start = lan->first_us + o->learn_s * SEC + MARGIN_US;
	if (lan->last_us < start + MARGIN_US + SEC) {
		rc = cli_runtime_error("hostile", "%s: the capture ends before its enforcement hour (--learn)", base_path);
		goto out;
	}
	if (attack_init(&a, o->kind, o->seed, lan) != 0) {
		rc = cli_runtime_error("hostile", "out of memory");
		goto out;
	}
	a.start = start;
	a.span = lan->last_us - MARGIN_US - start;
	a.count = o->count;
	err = base_open(&b, base_path);
	if (!err)
		err = base_read(&b) == 1 ? 0 : -EINVAL;
	if (err) {
		rc = cli_runtime_error("hostile", "%s: %s", base_path, b.msg);
		goto out;
	}
	err = pw_open(&w, o->out);
	if (err) {
		rc = cli_runtime_error("hostile", "%s: %s", o->out, strerror(-err));
		goto out;
	}
	err = sim_new(&s, w, lan->last_us + 1, 0);
	if (err) {
		rc = cli_runtime_error("hostile", "setup: %s", strerror(-err));
		goto out;
	}
	sim_at(s, b.ts, base_run, &b);
	sim_at(s, a.start, attack_run, &a);
	err = sim_run(s);
	int cerr = pw_close(w);
	w = NULL;
	if (b.err)
		rc = cli_runtime_error("hostile", "%s: %s", base_path, b.msg);
	else if (err || cerr)
		rc = cli_runtime_error("hostile", "writing %s: %s", o->out, strerror(-(err ? err : cerr)));
	else
		rc = CLI_OK;
out:
	if (w)
		pw_close(w);
	sim_free(s);
	base_close(&b);
	free(a.fakes);
	free(lan);
	return rc;
}

int gen_hostile_main(int argc, char **argv)
{
	struct opts o;
	char tmp[4096] = "";
	int rc = parse(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (!o.base) {
		rc = make_demo(o.seed, tmp, sizeof(tmp));
		if (rc == CLI_OK)
			rc = generate(&o, tmp);
		if (tmp[0])
			unlink(tmp);
		return rc;
	}
	return generate(&o, o.base);
}
