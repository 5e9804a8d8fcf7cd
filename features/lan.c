#include "features/lan.h"

#include <stdlib.h>
#include <string.h>

#include "features/cursor.h"

#define LAN_MAX_NETS 64
#define ND_ROUTER_ADVERT 134
#define ND_OPT_PREFIX_INFO 3
#define ND_PREFIX_ON_LINK 0x80

/* A prefix as two 64-bit halves and masks: one compare per half. */
struct net {
	uint64_t hi, lo, mhi, mlo;
};

/* IPv4 prefixes apart, in host order: most packets are IPv4 and are
 * answered with one 32-bit compare per home network. */
struct net4 {
	uint32_t net, mask;
};

struct lan {
	struct net4 nets4[LAN_MAX_NETS];
	size_t n_nets4;
	struct net nets[LAN_MAX_NETS + LAN_MAX_LEARNED];
	size_t n_nets;
	struct ip_prefix learned[LAN_MAX_LEARNED];
	size_t n_learned;
	uint64_t learned_dropped;
	bool learn_ra;
};

static void halves(const struct ip_addr *ip, uint64_t *hi, uint64_t *lo)
{
	memcpy(hi, ip->b, 8);
	memcpy(lo, ip->b + 8, 8);
}

static struct net net_of(const struct ip_prefix *p)
{
	struct net n;
	struct ip_addr mask = {{0}};
	unsigned bits = ip_is_v4(&p->addr) ? 96u + p->len : p->len;
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = bits > i * 8 ? bits - i * 8 : 0;
		mask.b[i] = keep >= 8 ? 0xff : (uint8_t)(0xff00u >> keep);
	}
	halves(&p->addr, &n.hi, &n.lo);
	halves(&mask, &n.mhi, &n.mlo);
	return n;
}

struct lan *lan_new(const struct ip_prefix *nets, size_t n_nets, bool learn_ra)
{
	if (n_nets > LAN_MAX_NETS)
		return NULL;
	struct lan *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	for (size_t i = 0; i < n_nets; i++) {
		if (ip_is_v4(&nets[i].addr)) {
			uint32_t mask = nets[i].len ? 0xffffffffu << (32 - nets[i].len) : 0;
			l->nets4[l->n_nets4++] = (struct net4){ip_v4_host(&nets[i].addr) & mask, mask};
		} else {
			l->nets[l->n_nets++] = net_of(&nets[i]);
		}
	}
	l->learn_ra = learn_ra;
	return l;
}

void lan_free(struct lan *l)
{
	free(l);
}

bool lan_is_local(const struct lan *l, const struct ip_addr *ip)
{
	if (ip_is_v4(ip)) {
		uint32_t a = ip_v4_host(ip);
		for (size_t i = 0; i < l->n_nets4; i++)
			if ((a & l->nets4[i].mask) == l->nets4[i].net)
				return true;
		/* multicast 224/4, limited broadcast, unspecified */
		return (a & 0xf0000000u) == 0xe0000000u || a == 0xffffffffu || a == 0;
	}
	uint64_t hi, lo;
	halves(ip, &hi, &lo);
	for (size_t i = 0; i < l->n_nets; i++) {
		const struct net *n = &l->nets[i];
		if ((hi & n->mhi) == n->hi && (lo & n->mlo) == n->lo)
			return true;
	}
	return ip_is_multicast(ip) || ip_is_broadcast(ip) || ip_is_unspecified(ip);
}

static bool is_link_local_v6(const struct ip_addr *ip)
{
	return !ip_is_v4(ip) && ip->b[0] == 0xfe && (ip->b[1] & 0xc0) == 0x80;
}

static int learn_prefix(struct lan *l, const struct ip_prefix *p)
{
	for (size_t i = 0; i < l->n_learned; i++)
		if (l->learned[i].len == p->len && ip_equal(&l->learned[i].addr, &p->addr))
			return 0;
	if (l->n_learned == LAN_MAX_LEARNED) {
		l->learned_dropped++;
		return 0;
	}
	l->learned[l->n_learned++] = *p;
	l->nets[l->n_nets++] = net_of(p);
	return 1;
}

/*
 * Router Advertisement body after type/code/checksum, RFC 4861 section 4.2:
 *   | hop limit | M O flags | router lifetime | reachable time | retrans timer |
 * then options | type | length (8-byte units) | ... |; Prefix Information
 * (section 4.6.2): | prefix length | L A flags | valid | preferred | reserved |
 * prefix (16) |
 */
int lan_learn_ra(struct lan *l, const struct pkt_meta *m)
{
	if (!l->learn_ra || m->l3 != DEC_L3_IPV6 || m->proto != 58 || m->icmp_type != ND_ROUTER_ADVERT ||
	    m->icmp_code != 0 || m->ttl != 255 || !is_link_local_v6(&m->src) || m->is_fragment)
		return 0;
	struct cursor c;
	int added = 0;
	cur_init(&c, m->payload, m->payload_len);
	if (!cur_skip(&c, 12))
		return 0;
	while (cur_left(&c) >= 2) {
		uint8_t type, units;
		if (!cur_u8(&c, &type) || !cur_u8(&c, &units) || units == 0)
			break; /* a zero length would loop forever: RFC 4861 says discard */
		struct cursor opt = c;
		if (!cur_skip(&c, (size_t)units * 8 - 2))
			break;
		cur_limit(&opt, (size_t)units * 8 - 2);
		uint8_t plen, flags;
		uint32_t valid;
		uint8_t raw[16];
		if (type != ND_OPT_PREFIX_INFO || !cur_u8(&opt, &plen) || !cur_u8(&opt, &flags) ||
		    !cur_be32(&opt, &valid) || !cur_skip(&opt, 8) || !cur_bytes(&opt, raw, 16))
			continue;
		if (!(flags & ND_PREFIX_ON_LINK) || valid == 0 || plen < 48 || plen > 64)
			continue;
		struct ip_prefix p;
		ip_from_v6(&p.addr, raw);
		p.len = plen;
		for (unsigned i = plen / 8; i < 16; i++)
			p.addr.b[i] &= i == plen / 8 ? (uint8_t)(0xff00u >> (plen % 8)) : 0;
		if (is_link_local_v6(&p.addr) || p.addr.b[0] == 0xff)
			continue;
		added += learn_prefix(l, &p);
	}
	return added;
}

size_t lan_learned(const struct lan *l, struct ip_prefix *out, size_t max)
{
	for (size_t i = 0; i < l->n_learned && i < max; i++)
		out[i] = l->learned[i];
	return l->n_learned;
}

uint64_t lan_learned_dropped(const struct lan *l)
{
	return l->learned_dropped;
}
