#include "pcaps/gen/homenet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcaps/gen/appmsg.h"
#include "pcaps/gen/dhcpmsg.h"
#include "pcaps/gen/dnsmsg.h"
#include "pcaps/gen/ndmsg.h"
#include "pcaps/gen/pkt.h"

#define MS 1000ULL
#define SEC 1000000ULL

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t bcast_ip[4] = {255, 255, 255, 255};
static const uint8_t zero_ip[16];
static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};
static const uint8_t all_routers[16] = {0xff, 0x02, [15] = 2};

/* A provider's public address space (real prefixes it announces), round
 * trip from a European home, TTL its packets arrive with, and DNS habits. */
struct prov {
	uint8_t blocks[8][4]; /* a.b.[lo..hi].x */
	int nblocks;
	uint8_t v6[6];        /* a /48 of theirs */
	uint16_t rtt_lo, rtt_hi;
	uint8_t ttl_lo, ttl_hi;
	int nans;             /* addresses per answer */
	uint32_t ttl;
};

static const struct prov provs[HP_COUNT] = {
	[HP_AWS] = {{{3, 120, 0, 255}, {3, 121, 0, 255}, {3, 122, 0, 255}, {3, 123, 0, 255},
		     {18, 184, 0, 255}, {18, 185, 0, 255}, {52, 28, 0, 255}, {35, 157, 0, 255}},
		    8, {0x2a, 0x05, 0xd0, 0x14, 0x0a, 0x8c}, 18, 30, 44, 52, 2, 60},
	[HP_AMAZON] = {{{52, 94, 0, 255}, {52, 119, 0, 255}, {54, 239, 0, 255}, {54, 240, 0, 255},
			{52, 46, 0, 255}, {18, 196, 0, 255}},
		       6, {0x2a, 0x01, 0x05, 0x78, 0x00, 0x03}, 20, 38, 235, 242, 3, 60},
	[HP_GOOGLE] = {{{142, 250, 0, 255}, {142, 251, 0, 255}, {172, 217, 0, 255},
			{216, 58, 192, 223}, {74, 125, 0, 255}, {209, 85, 128, 255}},
		       6, {0x2a, 0x00, 0x14, 0x50, 0x40, 0x01}, 8, 15, 115, 120, 1, 300},
	[HP_CLOUDFRONT] = {{{13, 224, 0, 255}, {13, 225, 0, 255}, {13, 226, 0, 255}, {18, 64, 0, 255},
			    {18, 65, 0, 255}, {99, 84, 0, 255}, {108, 156, 0, 255}, {52, 84, 0, 255}},
			   8, {0x26, 0x00, 0x90, 0x00, 0x02, 0x1a}, 9, 18, 242, 248, 4, 60},
	[HP_AKAMAI] = {{{23, 32, 0, 255}, {23, 45, 0, 255}, {23, 54, 0, 255}, {2, 16, 0, 255},
			{2, 18, 0, 255}, {104, 85, 0, 255}, {184, 24, 0, 255}, {184, 50, 0, 255}},
		       8, {0x2a, 0x02, 0x26, 0xf0, 0x00, 0xd8}, 8, 16, 55, 59, 2, 20},
	[HP_CLOUDFLARE] = {{{104, 16, 0, 255}, {104, 17, 0, 255}, {104, 18, 0, 255}, {104, 19, 0, 255},
			    {104, 21, 0, 255}, {104, 22, 0, 255}, {172, 64, 0, 255}, {172, 67, 0, 255}},
			   8, {0x26, 0x06, 0x47, 0x00, 0x00, 0x00}, 7, 14, 55, 58, 2, 300},
	[HP_FASTLY] = {{{151, 101, 0, 255}, {146, 75, 0, 255}, {199, 232, 0, 255}},
		       3, {0x2a, 0x04, 0x4e, 0x42, 0x00, 0x00}, 9, 16, 56, 59, 4, 30},
	[HP_MICROSOFT] = {{{20, 50, 0, 255}, {20, 190, 0, 255}, {40, 126, 0, 255}, {52, 96, 0, 255},
			   {13, 107, 0, 255}, {20, 42, 0, 255}},
			  6, {0x26, 0x03, 0x10, 0x26, 0x00, 0x00}, 15, 30, 110, 118, 1, 300},
	[HP_FACEBOOK] = {{{157, 240, 0, 255}, {31, 13, 64, 127}, {179, 60, 192, 195}},
			 3, {0x2a, 0x03, 0x28, 0x80, 0xf0, 0x31}, 10, 20, 52, 57, 1, 60},
	[HP_APPLE] = {{{17, 253, 0, 255}, {17, 248, 0, 255}, {17, 57, 0, 255}, {17, 142, 0, 255}},
		      4, {0x26, 0x20, 0x01, 0x49, 0x00, 0x0a}, 12, 25, 50, 55, 2, 300},
	[HP_HOSTING] = {{{5, 9, 0, 255}, {78, 46, 0, 255}, {88, 198, 0, 255}, {95, 216, 0, 255},
			 {136, 243, 0, 255}, {144, 76, 0, 255}, {176, 9, 0, 255}, {51, 15, 0, 255}},
			8, {0x2a, 0x01, 0x04, 0xf8, 0x00, 0x0c}, 20, 60, 48, 56, 1, 3600},
	/* Open Connect caches sit inside the ISP: a few ms away. */
	[HP_NETFLIX] = {{{45, 57, 0, 127}, {198, 38, 96, 127}},
			2, {0x2a, 0x00, 0x86, 0xc0, 0x20, 0x12}, 3, 8, 58, 61, 1, 300},
	/* Alibaba Cloud's Frankfurt region (object storage, ECS). */
	[HP_ALIYUN] = {{{47, 254, 128, 191}, {8, 209, 64, 127}, {47, 91, 64, 95}},
		       3, {0x24, 0x08, 0x40, 0x05, 0x03, 0x00}, 12, 22, 48, 53, 1, 60},
};

/* Organisations recognisable from a name, for names given without spec. */
static const struct {
	const char *suffix;
	enum hn_prov prov;
	enum hn_cdn cdn;
	bool v6, quic;
} orgs[] = {
	{"google.com", HP_GOOGLE, HC_NONE, true, true},
	{"youtube.com", HP_GOOGLE, HC_NONE, true, true},
	{"gstatic.com", HP_GOOGLE, HC_NONE, true, true},
	{"googleapis.com", HP_GOOGLE, HC_NONE, true, true},
	{"ytimg.com", HP_GOOGLE, HC_NONE, true, true},
	{"doubleclick.net", HP_GOOGLE, HC_NONE, true, true},
	{"googletagmanager.com", HP_GOOGLE, HC_NONE, true, true},
	{"google-analytics.com", HP_GOOGLE, HC_NONE, true, true},
	{"facebook.com", HP_FACEBOOK, HC_NONE, true, true},
	{"facebook.net", HP_FACEBOOK, HC_NONE, true, true},
	{"fbcdn.net", HP_FACEBOOK, HC_NONE, true, true},
	{"instagram.com", HP_FACEBOOK, HC_NONE, true, true},
	{"cdninstagram.com", HP_FACEBOOK, HC_NONE, true, true},
	{"whatsapp.com", HP_FACEBOOK, HC_NONE, true, true},
	{"messenger.com", HP_FACEBOOK, HC_NONE, true, true},
	{"apple.com", HP_AKAMAI, HC_AKAMAI, true, false},
	{"icloud.com", HP_APPLE, HC_NONE, true, false},
	{"amazon.com", HP_AMAZON, HC_NONE, false, false},
	{"media-amazon.com", HP_CLOUDFRONT, HC_CLOUDFRONT, true, false},
	{"microsoft.com", HP_MICROSOFT, HC_AKAMAI, true, false},
	{"microsoftonline.com", HP_MICROSOFT, HC_NONE, false, false},
	{"live.com", HP_MICROSOFT, HC_NONE, true, false},
	{"office.com", HP_MICROSOFT, HC_NONE, true, false},
	{"bing.com", HP_MICROSOFT, HC_NONE, true, false},
	{"cloudflare.com", HP_CLOUDFLARE, HC_NONE, true, true},
	{"reddit.com", HP_FASTLY, HC_FASTLY, true, false},
	{"nytimes.com", HP_FASTLY, HC_FASTLY, true, false},
	{"github.com", HP_HOSTING, HC_NONE, false, false},
	{"netflix.com", HP_AWS, HC_ELB, false, false},
};

/* ---- small helpers ---------------------------------------------------- */

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n >= s && !strcmp(name + n - s, suffix) && (n == s || name[n - s - 1] == '.');
}

const char *hn_zone(const char *name)
{
	const char *dots[3] = {NULL, NULL, NULL};
	size_t nd = 0;

	for (const char *p = name; *p; p++) {
		if (*p == '.') {
			dots[2] = dots[1];
			dots[1] = dots[0];
			dots[0] = p;
			nd++;
		}
	}
	if (nd == 0)
		return name;
	/* "co.uk"-style second levels keep one more label. */
	if (strlen(dots[0] + 1) == 2 && dots[1] && dots[0] - dots[1] - 1 <= 3)
		return dots[2] ? dots[2] + 1 : name;
	return dots[1] ? dots[1] + 1 : name;
}

static uint64_t span(struct prng *r, uint64_t lo, uint64_t hi)
{
	return prng_range(r, lo, hi);
}

static void alnum(struct prng *r, char *out, size_t n)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	for (size_t i = 0; i < n; i++)
		out[i] = set[prng_below(r, sizeof(set) - 1)];
	out[n] = '\0';
}

/* ---- setup ------------------------------------------------------------ */

static void eui64(uint8_t out[8], const uint8_t mac[6])
{
	out[0] = mac[0] ^ 0x02;
	out[1] = mac[1];
	out[2] = mac[2];
	out[3] = 0xff;
	out[4] = 0xfe;
	memcpy(out + 5, mac + 3, 3);
}

int hn_init(struct hn *n, struct sim *s, uint64_t seed, uint64_t start, uint64_t end)
{
	static const uint8_t gw_mac[6] = {0x50, 0xc7, 0xbf, 0x3e, 0x91, 0x0a}; /* TP-Link */
	static const uint8_t pfx[8] = {0x20, 0x01, 0x0d, 0xb8, 0x4a, 0x2b, 0x00, 0x01};

	memset(n, 0, sizeof(*n));
	n->sim = s;
	n->seed = seed;
	n->start = start;
	n->end = end;
	prng_seed(&n->rng, seed, prng_hash("router"));
	memcpy(n->gw_mac, gw_mac, 6);
	n->gw_ip4[0] = 192, n->gw_ip4[1] = 168, n->gw_ip4[2] = 1, n->gw_ip4[3] = 1;
	memcpy(n->prefix6, pfx, 8);
	/* ULA fdXX:XXXX:XXXX:1::/64 with a random global id (RFC 4193). */
	n->ula6[0] = 0xfd;
	prng_fill(&n->rng, n->ula6 + 1, 5);
	n->ula6[7] = 1;
	n->gw_ll6[0] = 0xfe, n->gw_ll6[1] = 0x80;
	eui64(n->gw_ll6 + 8, gw_mac);
	memcpy(n->gw_gua6, pfx, 8);
	n->gw_gua6[15] = 1;
	n->gw_ipid = (uint16_t)prng_u32(&n->rng);
	return 0;
}

void hn_free(struct hn *n)
{
	for (size_t i = 0; i < n->nrem; i++)
		free(n->rem[i]);
	free(n->rem);
	for (size_t i = 0; i < n->ndev; i++) {
		free(n->dev[i].dc);
		free(n->dev[i].names);
	}
}

void hn_dev_addrs(struct hn *n, struct hn_dev *d)
{
	uint8_t iid[8];

	if (d->randomized)
		prng_fill(&d->rng, iid, 8); /* stable-privacy style, no MAC inside */
	else
		eui64(iid, d->mac);
	memset(d->ll6, 0, 16);
	d->ll6[0] = 0xfe, d->ll6[1] = 0x80;
	memcpy(d->ll6 + 8, iid, 8);
	memcpy(d->gua6, n->prefix6, 8);
	memcpy(d->gua6 + 8, iid, 8);
	if (d->randomized) /* the global address gets its own random id */
		prng_fill(&d->rng, d->gua6 + 8, 8);
}

/* ---- remotes ---------------------------------------------------------- */

static void make_chain(struct hn_remote *r, struct prng *g, enum hn_cdn cdn)
{
	char id[24], label[24];
	const char *z = hn_zone(r->name);
	size_t ll = strcspn(z, ".");

	if (ll >= sizeof(label))
		ll = sizeof(label) - 1;
	memcpy(label, z, ll);
	label[ll] = '\0';
	switch (cdn) {
	case HC_CLOUDFRONT:
		alnum(g, id, 13);
		snprintf(r->chain[0], sizeof(r->chain[0]), "d%s.cloudfront.net", id);
		r->nchain = 1;
		break;
	case HC_AKAMAI:
		snprintf(r->chain[0], sizeof(r->chain[0]), "%s.edgekey.net", r->name);
		snprintf(r->chain[1], sizeof(r->chain[1]), "e%u.dscx.akamaiedge.net",
			 (unsigned)prng_range(g, 1000, 9999));
		r->nchain = 2;
		break;
	case HC_FASTLY:
		snprintf(r->chain[0], sizeof(r->chain[0]), "dualstack.%s.map.fastly.net", label);
		r->nchain = 1;
		break;
	case HC_ELB:
		alnum(g, id, 8);
		snprintf(r->chain[0], sizeof(r->chain[0]), "%s-%s-%u.eu-central-1.elb.amazonaws.com", label, id,
			 (unsigned)prng_range(g, 100000000, 999999999));
		r->nchain = 1;
		break;
	case HC_NONE:
		r->nchain = 0;
		break;
	}
}

static void fill_remote(struct hn *n, struct hn_remote *r, const struct hn_rspec *spec)
{
	static const uint32_t ttls[] = {60, 120, 300, 300, 300, 600, 1800, 3600};
	struct hn_rspec def = {0};
	const struct prov *p;
	struct prng g;
	int blk;

	prng_seed(&g, n->seed, prng_hash(r->name));
	if (!spec) {
		/* Known organisations, else a spread of hosting as on the web. */
		size_t i;
		uint64_t pick = prng_below(&g, 100);

		for (i = 0; i < sizeof(orgs) / sizeof(orgs[0]); i++)
			if (has_suffix(r->name, orgs[i].suffix))
				break;
		if (i < sizeof(orgs) / sizeof(orgs[0])) {
			def.prov = orgs[i].prov;
			def.cdn = orgs[i].cdn;
			def.v6 = orgs[i].v6;
			def.quic = orgs[i].quic;
		} else if (pick < 30) {
			def.prov = HP_CLOUDFLARE, def.v6 = true, def.quic = prng_chance(&g, 0.6);
		} else if (pick < 50) {
			def.prov = HP_CLOUDFRONT, def.cdn = HC_CLOUDFRONT, def.v6 = prng_chance(&g, 0.5);
		} else if (pick < 65) {
			def.prov = HP_AKAMAI, def.cdn = HC_AKAMAI, def.v6 = true;
		} else if (pick < 75) {
			def.prov = HP_FASTLY, def.cdn = HC_FASTLY, def.v6 = true;
		} else if (pick < 90) {
			def.prov = HP_AWS, def.cdn = prng_chance(&g, 0.5) ? HC_ELB : HC_NONE;
		} else {
			def.prov = HP_HOSTING, def.v6 = prng_chance(&g, 0.4);
		}
		def.ttl = ttls[prng_below(&g, sizeof(ttls) / sizeof(ttls[0]))];
		spec = &def;
	}
	p = &provs[spec->prov];
	r->prov = spec->prov;
	r->nx = spec->nx;
	r->quic = spec->quic;
	r->ttl = spec->ttl ? spec->ttl : p->ttl;
	r->rtt_us = (uint32_t)(spec->rtt_ms ? spec->rtt_ms * MS : span(&g, p->rtt_lo, p->rtt_hi) * MS);
	r->rtt_us += (uint32_t)prng_below(&g, 1000);
	r->ip_ttl = (uint8_t)span(&g, p->ttl_lo, p->ttl_hi);
	make_chain(r, &g, spec->cdn);
	blk = (int)prng_below(&g, (uint64_t)p->nblocks);
	r->n4 = 2 + (int)prng_below(&g, 5);
	for (int i = 0; i < r->n4; i++) {
		/* Mostly one block per name, as a CDN edge site or a load balancer. */
		const uint8_t *b = p->blocks[prng_chance(&g, 0.8) ? blk : (int)prng_below(&g, (uint64_t)p->nblocks)];

		r->v4[i][0] = b[0];
		r->v4[i][1] = b[1];
		r->v4[i][2] = (uint8_t)span(&g, b[2], b[3]);
		r->v4[i][3] = (uint8_t)span(&g, 1, 254);
	}
	r->nans = p->nans < r->n4 ? p->nans : r->n4;
	r->n6 = spec->v6 ? 1 + (int)prng_below(&g, 3) : 0;
	for (int i = 0; i < r->n6; i++) {
		memset(r->v6[i], 0, 16);
		memcpy(r->v6[i], p->v6, 6);
		r->v6[i][6] = (uint8_t)prng_below(&g, 0x10);
		r->v6[i][7] = (uint8_t)prng_below(&g, 0x100);
		r->v6[i][14] = (uint8_t)prng_below(&g, 0x30);
		r->v6[i][15] = (uint8_t)span(&g, 1, 255);
	}
}

struct hn_remote *hn_remote(struct hn *n, const char *name, const struct hn_rspec *spec)
{
	struct hn_remote *r;

	for (size_t i = 0; i < n->nrem; i++)
		if (!strcmp(n->rem[i]->name, name))
			return n->rem[i];
	if (n->nrem == n->remcap) {
		size_t cap = n->remcap ? n->remcap * 2 : 64;
		struct hn_remote **v = realloc(n->rem, cap * sizeof(*v));

		if (!v)
			goto oom;
		n->rem = v;
		n->remcap = cap;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		goto oom;
	snprintf(r->name, sizeof(r->name), "%s", name);
	fill_remote(n, r, spec);
	n->rem[n->nrem++] = r;
	return r;
oom:
	sim_fail(n->sim, -ENOMEM);
	return NULL;
}

/* ---- frames from the router and the devices ---------------------------- */

static void gw_udp(struct hn *n, uint64_t t, const uint8_t *dmac, const uint8_t *dip, bool v6,
		   uint16_t sport, uint16_t dport, const void *p, size_t len)
{
	struct ep from, to;

	if (v6) {
		ep_v6(&from, n->gw_mac, n->gw_ll6, sport, 255, 0);
		ep_v6(&to, dmac, dip, dport, 64, 0);
	} else {
		ep_v4(&from, n->gw_mac, n->gw_ip4, sport, 64, 0);
		ep_v4(&to, dmac, dip, dport, 64, 0);
	}
	from.ipid = n->gw_ipid;
	ep_udp(n->sim, t, &from, &to, dmac, p, len);
	n->gw_ipid = from.ipid;
}

void hn_router_udp(struct hn *n, uint64_t t, const uint8_t *dmac, const uint8_t *dip, bool v6,
		   uint16_t sport, uint16_t dport, const void *p, size_t len)
{
	gw_udp(n, t, dmac, dip, v6, sport, dport, p, len);
}

void hn_dev_udp(struct hn *n, struct hn_dev *d, uint64_t t, bool v6, const uint8_t *dip,
		const uint8_t *dmac, uint16_t sport, uint16_t dport, const void *p, size_t len)
{
	struct ep from, to;
	/* Link-scope multicast (mDNS, SSDP) leaves with TTL 255 / 1 / 4. */
	uint8_t ttl = d->ip_ttl;

	if (v6) {
		ep_v6(&from, d->mac, dip[0] == 0xff ? d->ll6 : d->gua6, sport, ttl, 0);
		ep_v6(&to, dmac, dip, dport, 64, 0);
	} else {
		ep_v4(&from, d->mac, d->up ? d->ip4 : zero_ip, sport, ttl, 0);
		ep_v4(&to, dmac, dip, dport, 64, 0);
	}
	if (dip[0] == 224 || dip[0] == 239 || (v6 && dip[0] == 0xff))
		from.ttl = dport == 5353 ? 255 : (dport == 1900 ? 4 : 1);
	from.ipid = d->udp_ipid;
	from.pad = true;
	ep_udp(n->sim, t, &from, &to, dmac, p, len);
	d->udp_ipid = from.ipid;
}

static void arp(struct hn *n, uint64_t t, const uint8_t *dmac, uint16_t op, const uint8_t *sha,
		const uint8_t *spa, const uint8_t *tha, const uint8_t *tpa, bool pad)
{
	uint8_t f[PKT_MAX];
	size_t len = pkt_arp(f, dmac, op, sha, spa, tha, tpa);

	if (pad)
		len = pkt_pad(f, len, PKT_ETH_MIN);
	sim_emit(n->sim, t, f, len);
}

static void icmp6(struct hn *n, uint64_t t, const uint8_t *smac, const uint8_t *dmac,
		  const uint8_t *sip, const uint8_t *dip, const uint8_t *msg, size_t len)
{
	uint8_t f[PKT_MAX];
	struct pkt_l3 l3 = {.smac = smac, .dmac = dmac, .sip = sip, .dip = dip, .v6 = true, .ttl = 255};
	size_t flen = len ? pkt_icmp6(f, &l3, msg, len) : 0;

	if (!flen) {
		sim_fail(n->sim, -EINVAL);
		return;
	}
	sim_emit(n->sim, t, f, flen);
}

/* ---- ARP and ND ------------------------------------------------------- */

uint64_t hn_arp_gw(struct hn *n, struct hn_dev *d, uint64_t t)
{
	uint64_t tr;

	if (t < d->arp_until)
		return t;
	tr = t + span(&d->rng, 150, 500);
	arp(n, t, bcast_mac, 1, d->mac, d->ip4, NULL, n->gw_ip4, true);
	arp(n, tr, d->mac, 2, n->gw_mac, n->gw_ip4, d->mac, d->ip4, false);
	d->arp_until = tr + span(&d->rng, 5 * 60, 20 * 60) * SEC;
	return tr + 60;
}

uint64_t hn_router_arp(struct hn *n, struct hn_dev *d, uint64_t t)
{
	uint64_t tr = t + span(&n->rng, 300, 3000);

	arp(n, t, d->mac, 1, n->gw_mac, n->gw_ip4, NULL, d->ip4, false);
	arp(n, tr, n->gw_mac, 2, d->mac, d->ip4, n->gw_mac, n->gw_ip4, true);
	return tr;
}

uint64_t hn_arp_lan(struct hn *n, struct hn_dev *d, struct hn_dev *owner, uint64_t t)
{
	uint64_t tr = t + span(&d->rng, 400, 4000);

	arp(n, t, bcast_mac, 1, d->mac, d->ip4, NULL, owner->ip4, true);
	arp(n, tr, d->mac, 2, owner->mac, owner->ip4, d->mac, d->ip4, true);
	return tr + 50;
}

uint64_t hn_nd_gw(struct hn *n, struct hn_dev *d, uint64_t t)
{
	uint8_t msg[64], grp[16], mac[6];
	uint64_t tr;
	size_t len;

	if (t < d->nd_until)
		return t;
	ndm_solicited_node(grp, n->gw_ll6);
	pkt_mcast_mac(mac, true, grp);
	len = ndm_ns(msg, sizeof(msg), n->gw_ll6, d->mac);
	icmp6(n, t, d->mac, mac, d->ll6, grp, msg, len);
	tr = t + span(&d->rng, 200, 700);
	len = ndm_na(msg, sizeof(msg), n->gw_ll6, n->gw_mac, true, true);
	icmp6(n, tr, n->gw_mac, d->mac, n->gw_ll6, d->ll6, msg, len);
	d->nd_until = tr + span(&d->rng, 10 * 60, 30 * 60) * SEC;
	return tr + 60;
}

void hn_ra(struct hn *n, uint64_t t)
{
	struct ndm_prefix pfx[2] = {{{0}, 64, 86400, 14400}, {{0}, 64, 86400, 14400}};
	uint8_t msg[160], mac[6];
	size_t len;

	memcpy(pfx[0].addr, n->prefix6, 8);
	memcpy(pfx[1].addr, n->ula6, 8);
	pkt_mcast_mac(mac, true, all_nodes);
	len = ndm_ra(msg, sizeof(msg), n->gw_mac, 1800, pfx, 2);
	icmp6(n, t, n->gw_mac, mac, n->gw_ll6, all_nodes, msg, len);
}

/* Duplicate address detection: NS from :: to the solicited-node group. */
static void dad(struct hn *n, struct hn_dev *d, uint64_t t, const uint8_t *addr)
{
	uint8_t msg[64], grp[16], mac[6];
	size_t len = ndm_ns(msg, sizeof(msg), addr, NULL);

	ndm_solicited_node(grp, addr);
	pkt_mcast_mac(mac, true, grp);
	icmp6(n, t, d->mac, mac, zero_ip, grp, msg, len);
}

uint64_t hn_slaac(struct hn *n, struct hn_dev *d, uint64_t t)
{
	uint8_t msg[64], mac[6], ula[16];
	uint64_t t1, t2;
	size_t len;

	dad(n, d, t, d->ll6);
	t1 = t + SEC + span(&d->rng, 0, 60 * MS);
	pkt_mcast_mac(mac, true, all_routers);
	len = ndm_rs(msg, sizeof(msg), d->mac);
	icmp6(n, t1, d->mac, mac, d->ll6, all_routers, msg, len);
	t2 = t1 + span(&n->rng, 2 * MS, 8 * MS);
	hn_ra(n, t2);
	memcpy(ula, n->ula6, 8);
	memcpy(ula + 8, d->gua6 + 8, 8);
	dad(n, d, t2 + span(&d->rng, 5 * MS, 30 * MS), d->gua6);
	dad(n, d, t2 + span(&d->rng, 30 * MS, 60 * MS), ula);
	return t2 + SEC + span(&d->rng, 0, 100 * MS);
}

/* ---- DHCP ------------------------------------------------------------- */

static void dhcp_client_opts(struct wb *b, const struct hn_dev *d, bool init)
{
	uint8_t cid[7] = {1};

	memcpy(cid + 1, d->mac, 6);
	dhcpm_opt(b, 61, cid, sizeof(cid));
	if (init)
		dhcpm_opt(b, 50, d->ip4, 4);
	wb_u8(b, 57);
	wb_u8(b, 2);
	wb_u16(b, 1500);
	dhcpm_opt_str(b, 12, d->hostname);
	dhcpm_opt_str(b, 60, d->vendor_class);
	dhcpm_opt(b, 55, d->prl, d->nprl);
}

static void dhcp_server_opts(struct hn *n, struct wb *b)
{
	static const uint8_t mask[4] = {255, 255, 255, 0};
	uint8_t bcast[4] = {192, 168, 1, 255};

	dhcpm_opt(b, 54, n->gw_ip4, 4);
	dhcpm_opt_u32(b, 51, HN_LEASE_S);
	dhcpm_opt_u32(b, 58, HN_LEASE_S / 2);
	dhcpm_opt_u32(b, 59, HN_LEASE_S * 7 / 8);
	dhcpm_opt(b, 1, mask, 4);
	dhcpm_opt(b, 28, bcast, 4);
	dhcpm_opt(b, 3, n->gw_ip4, 4);
	dhcpm_opt(b, 6, n->gw_ip4, 4);
	dhcpm_opt_str(b, 15, "lan");
}

static void dhcp_dev_send(struct hn *n, struct hn_dev *d, uint64_t t, const uint8_t *msg, size_t len,
			  bool unicast)
{
	if (!len) {
		sim_fail(n->sim, -EINVAL);
		return;
	}
	hn_dev_udp(n, d, t, false, unicast ? n->gw_ip4 : bcast_ip, unicast ? n->gw_mac : bcast_mac,
		   68, 67, msg, len);
}

static void dhcp_gw_send(struct hn *n, struct hn_dev *d, uint64_t t, const uint8_t *msg, size_t len)
{
	if (!len) {
		sim_fail(n->sim, -EINVAL);
		return;
	}
	gw_udp(n, t, d->mac, d->ip4, false, 67, 68, msg, len);
}

/* The server's half of an exchange: an OFFER or ACK of d's address. */
static void dhcp_server_reply(struct hn *n, struct hn_dev *d, struct dhcpm_hdr *h, uint8_t type, uint64_t t)
{
	uint8_t msg[600];
	struct wb b;

	h->op = 2;
	h->type = type;
	h->yiaddr = d->ip4;
	h->siaddr = n->gw_ip4;
	dhcpm_begin(&b, msg, sizeof(msg), h);
	dhcp_server_opts(n, &b);
	dhcp_gw_send(n, d, t, msg, dhcpm_end(&b));
}

/* After the client's DISCOVER at t: the OFFER, its REQUEST and the ACK;
 * returns when the ACK went out. */
static uint64_t dhcp_offer_to_ack(struct hn *n, struct hn_dev *d, struct dhcpm_hdr *h, uint64_t t)
{
	uint8_t msg[600];
	struct wb b;
	uint64_t t1 = t + span(&n->rng, 1 * MS, 4 * MS), t2;

	dhcp_server_reply(n, d, h, DHCPM_OFFER, t1);
	t2 = t1 + span(&d->rng, 2 * MS, 30 * MS);
	h->op = 1;
	h->type = DHCPM_REQUEST;
	h->yiaddr = NULL;
	h->siaddr = NULL;
	dhcpm_begin(&b, msg, sizeof(msg), h);
	dhcp_client_opts(&b, d, true);
	dhcpm_opt(&b, 54, n->gw_ip4, 4);
	dhcp_dev_send(n, d, t2, msg, dhcpm_end(&b), false);
	uint64_t t3 = t2 + span(&n->rng, 1 * MS, 3 * MS);

	dhcp_server_reply(n, d, h, DHCPM_ACK, t3);
	return t3;
}

uint64_t hn_dhcp_join(struct hn *n, struct hn_dev *d, uint64_t t)
{
	uint8_t msg[600];
	struct wb b;
	struct dhcpm_hdr h = {.op = 1, .xid = prng_u32(&d->rng), .chaddr = d->mac};
	uint64_t t3;

	d->up = false;
	h.type = DHCPM_DISCOVER;
	dhcpm_begin(&b, msg, sizeof(msg), &h);
	dhcp_client_opts(&b, d, true);
	dhcp_dev_send(n, d, t, msg, dhcpm_end(&b), false);

	t3 = dhcp_offer_to_ack(n, d, &h, t);

	if (d->arp_probe) {
		/* RFC 5227: probes from 0.0.0.0, then an announcement. */
		uint64_t tp = t3 + span(&d->rng, 10 * MS, 200 * MS);

		for (int i = 0; i < 2; i++, tp += span(&d->rng, 1 * SEC, 2 * SEC))
			arp(n, tp, bcast_mac, 1, d->mac, zero_ip, NULL, d->ip4, true);
		arp(n, tp, bcast_mac, 1, d->mac, d->ip4, NULL, d->ip4, true);
		t3 = tp;
	}
	d->up = true;
	return t3 + 100;
}

uint64_t hn_dhcp_renew(struct hn *n, struct hn_dev *d, uint64_t t)
{
	uint8_t msg[600];
	struct wb b;
	struct dhcpm_hdr h = {.op = 1, .type = DHCPM_REQUEST, .xid = prng_u32(&d->rng),
			      .ciaddr = d->ip4, .chaddr = d->mac};
	uint64_t t1;

	t = hn_arp_gw(n, d, t);
	dhcpm_begin(&b, msg, sizeof(msg), &h);
	dhcp_client_opts(&b, d, false);
	dhcp_dev_send(n, d, t, msg, dhcpm_end(&b), true);
	t1 = t + span(&n->rng, 1 * MS, 3 * MS);
	dhcp_server_reply(n, d, &h, DHCPM_ACK, t1);
	return t1;
}

#define DHCPM_NAK 6

uint64_t hn_dhcp_readdress(struct hn *n, struct hn_dev *d, uint64_t t, const uint8_t new_ip[4])
{
	uint8_t msg[600];
	struct wb b;
	struct dhcpm_hdr h = {.op = 1, .type = DHCPM_REQUEST, .xid = prng_u32(&d->rng), .chaddr = d->mac};
	uint64_t t1;
	size_t len;

	/* INIT-REBOOT (RFC 2131 3.2): broadcast from 0.0.0.0, the old address
	 * in option 50, no server identifier. */
	d->up = false;
	dhcpm_begin(&b, msg, sizeof(msg), &h);
	dhcp_client_opts(&b, d, true);
	dhcp_dev_send(n, d, t, msg, dhcpm_end(&b), false);
	/* An authoritative server that does not know the lease NAKs, by
	 * broadcast since the client has no address. */
	t1 = t + span(&n->rng, 1 * MS, 3 * MS);
	h.op = 2;
	h.type = DHCPM_NAK;
	dhcpm_begin(&b, msg, sizeof(msg), &h);
	dhcpm_opt(&b, 54, n->gw_ip4, 4);
	dhcpm_opt_str(&b, 56, "address not available");
	len = dhcpm_end(&b);
	if (!len) {
		sim_fail(n->sim, -EINVAL);
		return t1;
	}
	gw_udp(n, t1, bcast_mac, bcast_ip, false, 67, 68, msg, len);
	/* Back to INIT: DISCOVER without a requested address, then the usual
	 * exchange for the address offered. */
	t = t1 + span(&d->rng, 500 * MS, 4 * SEC);
	h = (struct dhcpm_hdr){.op = 1, .type = DHCPM_DISCOVER, .xid = prng_u32(&d->rng), .chaddr = d->mac};
	dhcpm_begin(&b, msg, sizeof(msg), &h);
	dhcp_client_opts(&b, d, false);
	dhcp_dev_send(n, d, t, msg, dhcpm_end(&b), false);
	memcpy(d->ip4, new_ip, 4);
	t1 = dhcp_offer_to_ack(n, d, &h, t);
	d->up = true;
	d->arp_until = 0; /* a new address: neighbours are learned again */
	return t1 + 100;
}

/* ---- DNS -------------------------------------------------------------- */

static struct hn_dcache *dcache(struct hn *n, struct hn_dev *d, struct hn_remote *r)
{
	for (size_t i = 0; i < d->ndc; i++)
		if (d->dc[i].r == r)
			return &d->dc[i];
	if (d->ndc == d->dccap) {
		size_t cap = d->dccap ? d->dccap * 2 : 16;
		struct hn_dcache *v = realloc(d->dc, cap * sizeof(*v));

		if (!v) {
			sim_fail(n->sim, -ENOMEM);
			return NULL;
		}
		d->dc = v;
		d->dccap = cap;
	}
	memset(&d->dc[d->ndc], 0, sizeof(d->dc[0]));
	d->dc[d->ndc].r = r;
	return &d->dc[d->ndc++];
}

static void note_name(struct hn *n, struct hn_dev *d, const char *name)
{
	for (size_t i = 0; i < d->nnames; i++)
		if (!strcmp(d->names[i], name))
			return;
	if (d->nnames == d->namescap) {
		size_t cap = d->namescap ? d->namescap * 2 : 16;
		char(*v)[NAMES_MAXLEN] = realloc(d->names, cap * sizeof(*v));

		if (!v) {
			sim_fail(n->sim, -ENOMEM);
			return;
		}
		d->names = v;
		d->namescap = cap;
	}
	snprintf(d->names[d->nnames++], NAMES_MAXLEN, "%s", name);
}

/* One query from d and the router's answer; returns the answer's time. */
static uint64_t dns_exchange(struct hn *n, struct hn_dev *d, uint64_t t, uint64_t delay,
			     struct hn_remote *r, uint16_t qtype, uint32_t ttl)
{
	uint8_t msg[1024];
	struct dnsm m;
	uint16_t id = (uint16_t)prng_u32(&d->rng), port = (uint16_t)span(&d->rng, 32768, 60999);
	const char *last = r->nchain ? r->chain[r->nchain - 1] : r->name;
	char mname[NAMES_MAXLEN + 8], rname[NAMES_MAXLEN + 16];
	const char *zone = hn_zone(r->nx ? r->name : last);
	size_t len;
	uint64_t ta = t + delay;

	dnsm_init(&m, msg, sizeof(msg), id, DNSM_RD);
	dnsm_question(&m, r->name, qtype, DNSM_IN);
	len = dnsm_finish(&m);
	hn_dev_udp(n, d, t, false, n->gw_ip4, n->gw_mac, port, 53, msg, len);

	snprintf(mname, sizeof(mname), "ns1.%s", zone);
	snprintf(rname, sizeof(rname), "hostmaster.%s", zone);
	dnsm_init(&m, msg, sizeof(msg), id,
		  DNSM_QR | DNSM_RD | DNSM_RA | (r->nx ? DNSM_NXDOMAIN : 0));
	dnsm_question(&m, r->name, qtype, DNSM_IN);
	if (!r->nx) {
		const char *owner = r->name;
		int nrec = qtype == DNSM_A ? r->nans : (r->n6 < 2 ? r->n6 : 2);

		for (int i = 0; i < r->nchain; i++) {
			dnsm_rr_name(&m, DNSM_AN, owner, DNSM_CNAME, DNSM_IN, ttl, r->chain[i]);
			owner = r->chain[i];
		}
		for (int i = 0; i < nrec; i++) {
			if (qtype == DNSM_A)
				dnsm_rr(&m, DNSM_AN, owner, DNSM_A, DNSM_IN, ttl,
					r->v4[(r->rot + (uint32_t)i) % (uint32_t)r->n4], 4);
			else
				dnsm_rr(&m, DNSM_AN, owner, DNSM_AAAA, DNSM_IN, ttl,
					r->v6[(r->rot + (uint32_t)i) % (uint32_t)r->n6], 16);
		}
		if (nrec == 0)
			dnsm_rr_soa(&m, zone, mname, rname, 2026030100 + (uint32_t)(r->rot % 99), 60);
	} else if (strchr(r->name, '.')) {
		dnsm_rr_soa(&m, zone, mname, rname, 2026030100 + (uint32_t)(r->rot % 99), 900);
	}
	len = dnsm_finish(&m);
	if (!len) {
		sim_fail(n->sim, -EINVAL);
		return ta;
	}
	gw_udp(n, ta, d->mac, d->ip4, false, 53, port, msg, len);
	return ta;
}

uint64_t hn_resolve(struct hn *n, struct hn_dev *d, uint64_t t, struct hn_remote *r, bool want6,
		    struct hn_answer *a)
{
	struct hn_dcache *c;
	uint64_t delay, ta, t6;
	uint32_t ttl;

	memset(a, 0, sizeof(*a));
	if (!r)
		return t;
	if (!r->nx)
		note_name(n, d, r->name);
	c = dcache(n, d, r);
	if (!c)
		return t;
	want6 = want6 && d->v6;
	if (t < c->until && (c->a.ok6 || !want6 || r->n6 == 0)) {
		*a = c->a;
		return t;
	}
	t = hn_arp_gw(n, d, t);
	/* Single-label names never leave the router (dnsmasq domain-needed). */
	if (t < r->cache_until || !strchr(r->name, '.')) {
		delay = span(&n->rng, 150, 700);
		ttl = (uint32_t)((r->cache_until - t) / SEC);
		if (ttl == 0)
			ttl = 1;
	} else {
		/* The router asks upstream; CDN chains take a few lookups more. */
		delay = (uint64_t)prng_lognormal(&n->rng, 18000.0 + 12000.0 * r->nchain, 0.5);
		if (delay > 400 * MS)
			delay = 400 * MS;
		r->rot = prng_u32(&n->rng);
		r->cache_until = t + delay + (uint64_t)r->ttl * SEC;
		ttl = r->ttl;
	}
	ta = dns_exchange(n, d, t, delay, r, DNSM_A, ttl);
	if (want6) {
		t6 = dns_exchange(n, d, t + span(&d->rng, 80, 400), delay + span(&n->rng, 0, 300), r,
				  DNSM_AAAA, ttl);
		if (t6 > ta)
			ta = t6;
	}
	if (!r->nx) {
		a->ok4 = true;
		memcpy(a->v4, r->v4[r->rot % (uint32_t)r->n4], 4);
		if (want6 && r->n6) {
			a->ok6 = true;
			memcpy(a->v6, r->v6[r->rot % (uint32_t)r->n6], 16);
		}
	}
	c->a = *a;
	c->until = ta + (uint64_t)ttl * SEC;
	return ta + span(&d->rng, 50, 400);
}

/* ---- NTP -------------------------------------------------------------- */

uint64_t hn_ntp(struct hn *n, struct hn_dev *d, uint64_t t, const char *name)
{
	static const struct hn_rspec pool = {.prov = HP_HOSTING, .ttl = 150};
	struct hn_remote *r = hn_remote(n, name, &pool);
	uint8_t req[APP_NTP_LEN], rep[APP_NTP_LEN], refid[4];
	struct hn_answer a;
	struct ep c, s;
	uint64_t tr, skew;

	t = hn_resolve(n, d, t, r, false, &a);
	if (!a.ok4)
		return t;
	ep_v4(&c, d->mac, d->ip4, (uint16_t)span(&d->rng, 32768, 60999), d->ip_ttl, d->lan_rtt_us);
	c.pad = true;
	c.ipid = d->udp_ipid;
	ep_v4(&s, n->gw_mac, a.v4, 123, r->ip_ttl, r->rtt_us);
	/* The device clock is a few ms off, which is why it asks. */
	skew = span(&d->rng, 0, 40 * MS);
	app_ntp_client(req, t + skew - 20 * MS, (uint8_t)span(&d->rng, 6, 10));
	ep_udp(n->sim, t, &c, &s, NULL, req, sizeof(req));
	d->udp_ipid = c.ipid;
	tr = t + ep_rtt(&s, &d->rng);
	memcpy(refid, r->v4[(r->rot + 1) % (uint32_t)r->n4], 4);
	refid[3] ^= 0x5a; /* its upstream: a neighbour of the pool hosts */
	app_ntp_server(rep, req, t + s.rtt_us / 2, t + s.rtt_us / 2 + 30, 2, refid);
	ep_udp(n->sim, tr, &s, &c, NULL, rep, sizeof(rep));
	return tr;
}

/* ---- TLS and QUIC ----------------------------------------------------- */

static void remote_ep(struct hn *n, struct ep *e, const struct hn_remote *r, const struct hn_answer *a,
		      bool v6, uint16_t port)
{
	if (v6)
		ep_v6(e, n->gw_mac, a->v6, port, r->ip_ttl, r->rtt_us);
	else
		ep_v4(e, n->gw_mac, a->v4, port, r->ip_ttl, r->rtt_us);
}

static void dev_ep(struct hn_dev *d, struct ep *e, bool v6)
{
	uint16_t port = (uint16_t)span(&d->rng, 32768, 60999);

	if (v6)
		ep_v6(e, d->mac, d->gua6, port, d->ip_ttl, d->lan_rtt_us);
	else
		ep_v4(e, d->mac, d->ip4, port, d->ip_ttl, d->lan_rtt_us);
	e->pad = true;
}

uint64_t hn_tls_open(struct hn *n, struct hn_dev *d, struct hn_tls *c, uint64_t t,
		     const struct hn_tls_opts *o)
{
	uint8_t buf[TLSM_MAX_FLIGHT];
	struct tlsm_hello h = {.sni = o->name, .alpn = o->alpn, .tls13 = d->tls13};
	struct hn_remote *r = hn_remote(n, o->name, o->spec);
	struct hn_answer a;
	struct tcpf_src src;
	bool v6;
	size_t len;

	memset(c, 0, sizeof(*c));
	c->r = r;
	t = hn_resolve(n, d, t, r, o->prefer6, &a);
	if (!a.ok4 && !a.ok6)
		return t;
	v6 = o->prefer6 && a.ok6;
	if (v6)
		t = hn_nd_gw(n, d, t);
	else
		t = hn_arp_gw(n, d, t);
	dev_ep(d, &c->tcp.e[TCPF_C].ep, v6);
	remote_ep(n, &c->tcp.e[TCPF_S].ep, r, &a, v6, o->port);
	c->tcp.e[TCPF_C].rate_bps = o->up_bps ? o->up_bps : 20000000;
	c->tcp.e[TCPF_C].rwnd = d->tls13 ? 262144 : 65535;
	c->tcp.e[TCPF_C].wscale = d->tls13 ? 7 : 2;
	c->tcp.e[TCPF_S].rate_bps = 90000000; /* the home's downlink */
	c->tcp.e[TCPF_S].rwnd = 262144;
	c->tcp.e[TCPF_S].wscale = 9;
	tcpf_init(&c->tcp, n->sim, &d->rng);
	if (prng_chance(&d->rng, o->fail_p)) {
		c->busy = tcpf_refused(&c->tcp, t);
		return c->busy;
	}
	t = tcpf_open(&c->tcp, t);
	len = tlsm_client_hello(buf, sizeof(buf), &d->rng, &h, &c->ss);
	src = tcpf_src_buf(buf, len);
	t = tcpf_send(&c->tcp, TCPF_C, t, &src, TCPF_NOACK);
	len = tlsm_server_flight(buf, sizeof(buf), &d->rng, &c->ss, o->alpn,
				 (size_t)span(&d->rng, 2400, 4300));
	src = tcpf_src_buf(buf, len);
	t = tcpf_send(&c->tcp, TCPF_S, t + span(&d->rng, 200, 1500), &src, TCPF_NOACK);
	len = tlsm_client_finish(buf, sizeof(buf), &d->rng, &c->ss);
	src = tcpf_src_buf(buf, len);
	/* The server answers the Finished at once (tickets, or CCS/Finished). */
	t = tcpf_send(&c->tcp, TCPF_C, t + span(&d->rng, 300, 3000), &src, TCPF_NOACK);
	len = tlsm_server_finish(buf, sizeof(buf), &d->rng, &c->ss);
	src = tcpf_src_buf(buf, len);
	t = tcpf_send(&c->tcp, TCPF_S, t + span(&d->rng, 100, 800), &src, 0);
	if (!len)
		sim_fail(n->sim, -EINVAL);
	c->open = true;
	c->busy = t;
	return t;
}

static uint64_t app_send(struct hn_tls *c, int from, uint64_t t, size_t bytes, unsigned flags)
{
	struct tlsm_stream st;
	struct tcpf_src src;

	tlsm_stream_init(&st, prng_u64(c->tcp.rng), &c->ss, bytes, 16384, false);
	src.fill = tlsm_stream_fill;
	src.ctx = &st;
	src.len = st.len;
	return tcpf_send(&c->tcp, from, t, &src, flags);
}

uint64_t hn_tls_rr(struct hn_tls *c, uint64_t t, size_t up, size_t down, uint64_t think_us)
{
	if (!c->open)
		return t;
	if (t < c->busy)
		t = c->busy;
	if (up)
		t = app_send(c, TCPF_C, t, up, down && think_us < 40 * MS ? TCPF_NOACK : 0);
	if (down)
		t = app_send(c, TCPF_S, t + think_us, down, 0);
	c->busy = t;
	return t;
}

uint64_t hn_tls_push(struct hn_tls *c, uint64_t t, size_t bytes)
{
	return hn_tls_rr(c, t, 0, bytes, 0);
}

uint64_t hn_tls_close(struct hn_tls *c, uint64_t t, int from, bool rst)
{
	uint8_t buf[64];
	struct tcpf_src src;
	size_t len;

	if (!c->open)
		return t;
	if (t < c->busy)
		t = c->busy;
	c->open = false;
	if (rst) {
		c->busy = tcpf_reset(&c->tcp, from, t);
		return c->busy;
	}
	len = tlsm_close_notify(buf, sizeof(buf), c->tcp.rng, &c->ss);
	src = tcpf_src_buf(buf, len);
	tcpf_send(&c->tcp, from, t, &src, TCPF_NOACK);
	/* The FIN follows the alert at once. */
	c->busy = tcpf_close(&c->tcp, from, c->tcp.e[from].last_data + span(c->tcp.rng, 50, 400));
	return c->busy;
}

uint64_t hn_quic_fetch(struct hn *n, struct hn_dev *d, uint64_t t, struct hn_remote *r,
		       const struct hn_answer *a, size_t up, size_t down)
{
	struct quicf q;
	bool v6 = a->ok6 && d->v6;

	memset(&q, 0, sizeof(q));
	t = v6 ? hn_nd_gw(n, d, t) : hn_arp_gw(n, d, t);
	dev_ep(d, &q.e[QUICF_C], v6);
	remote_ep(n, &q.e[QUICF_S], r, a, v6, 443);
	q.rate_bps[QUICF_C] = 20000000;
	q.rate_bps[QUICF_S] = 90000000;
	quicf_init(&q, n->sim, &d->rng);
	t = quicf_handshake(&q, t, (size_t)span(&d->rng, 2500, 4200));
	t = quicf_send(&q, QUICF_C, t, up);
	t = quicf_send(&q, QUICF_S, t + span(&d->rng, 2 * MS, 40 * MS), down);
	if (prng_chance(&d->rng, 0.3))
		t = quicf_close(&q, QUICF_C, t + span(&d->rng, 1 * SEC, 10 * SEC));
	return t;
}

uint64_t hn_http(struct hn *n, struct hn_dev *d, uint64_t t, const char *name,
		 const struct hn_rspec *spec, const char *req, const char *resp)
{
	struct hn_remote *r = hn_remote(n, name, spec);
	struct hn_answer a;
	struct tcpf_src src;
	struct tcpf f;

	t = hn_resolve(n, d, t, r, false, &a);
	if (!a.ok4)
		return t;
	memset(&f, 0, sizeof(f));
	dev_ep(d, &f.e[TCPF_C].ep, false);
	remote_ep(n, &f.e[TCPF_S].ep, r, &a, false, 80);
	tcpf_init(&f, n->sim, &d->rng);
	t = tcpf_open(&f, t);
	src = tcpf_src_buf((const uint8_t *)req, strlen(req));
	t = tcpf_send(&f, TCPF_C, t, &src, TCPF_NOACK);
	src = tcpf_src_buf((const uint8_t *)resp, strlen(resp));
	t = tcpf_send(&f, TCPF_S, t + span(&d->rng, 200, 2000), &src, 0);
	return tcpf_close(&f, TCPF_C, t + span(&d->rng, 5 * MS, 100 * MS));
}
