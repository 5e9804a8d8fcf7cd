#include "pcaps/gen/pkt.h"

#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Unfolded one's-complement sum of big-endian 16-bit words. */
static uint64_t sum16(const uint8_t *p, size_t len)
{
	uint64_t s = 0;

	for (; len >= 2; p += 2, len -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (len)
		s += (uint32_t)p[0] << 8;
	return s;
}

static uint16_t fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

uint16_t pkt_csum(const void *data, size_t len)
{
	return fold(sum16(data, len));
}

static size_t eth(uint8_t *out, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(out, dst, 6);
	memcpy(out + 6, src, 6);
	put16(out + 12, type);
	return PKT_ETH_HDR;
}

/* Writes Ethernet + IP headers for an l4len-byte payload of protocol proto;
 * returns the offset of the transport header and the pseudo-header sum. */
static size_t ip_hdrs(uint8_t *out, const struct pkt_l3 *l3, uint8_t proto, size_t l4len,
		      uint64_t *pseudo)
{
	size_t o = eth(out, l3->dmac, l3->smac, l3->v6 ? PKT_ETH_IPV6 : PKT_ETH_IPV4);
	uint8_t *ip = out + o;

	if (l3->v6) {
		put32(ip, 6u << 28 | (uint32_t)l3->tos << 20 | (l3->flow & 0xfffff));
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = proto;
		ip[7] = l3->ttl;
		memcpy(ip + 8, l3->sip, 16);
		memcpy(ip + 24, l3->dip, 16);
		*pseudo = sum16(ip + 8, 32) + l4len + proto;
		return o + 40;
	}
	ip[0] = 0x45;
	ip[1] = l3->tos;
	put16(ip + 2, (uint16_t)(20 + l4len));
	put16(ip + 4, l3->ipid);
	put16(ip + 6, l3->df ? 0x4000 : 0);
	ip[8] = l3->ttl;
	ip[9] = proto;
	put16(ip + 10, 0);
	memcpy(ip + 12, l3->sip, 4);
	memcpy(ip + 16, l3->dip, 4);
	put16(ip + 10, pkt_csum(ip, 20));
	*pseudo = sum16(ip + 12, 8) + l4len + proto;
	return o + 20;
}

static size_t ip_overhead(const struct pkt_l3 *l3)
{
	return PKT_ETH_HDR + (l3->v6 ? 40 : 20);
}

/* Copies the payload (or zeroes) and returns its checksum contribution. */
static uint64_t put_payload(uint8_t *dst, const void *payload, size_t len)
{
	if (!payload) {
		memset(dst, 0, len);
		return 0;
	}
	memcpy(dst, payload, len);
	return sum16(dst, len);
}

size_t pkt_tcp(uint8_t *out, const struct pkt_l3 *l3, const struct pkt_tcph *t,
	       const void *payload, size_t len)
{
	size_t hl = 20 + t->optlen, o;
	uint64_t s;
	uint8_t *h;

	if (t->optlen % 4 || t->optlen > 40 || ip_overhead(l3) + hl + len > PKT_MAX)
		return 0;
	o = ip_hdrs(out, l3, 6, hl + len, &s);
	h = out + o;
	put16(h, t->sport);
	put16(h + 2, t->dport);
	put32(h + 4, t->seq);
	put32(h + 8, t->ack);
	h[12] = (uint8_t)(hl / 4) << 4;
	h[13] = t->flags;
	put16(h + 14, t->win);
	put16(h + 16, 0);
	put16(h + 18, 0);
	if (t->optlen)
		memcpy(h + 20, t->opt, t->optlen);
	/* hl is a multiple of 4, so the payload starts word-aligned. */
	s += sum16(h, hl) + put_payload(h + hl, payload, len);
	put16(h + 16, fold(s));
	return o + hl + len;
}

size_t pkt_udp(uint8_t *out, const struct pkt_l3 *l3, uint16_t sport, uint16_t dport,
	       const void *payload, size_t len)
{
	uint16_t c;
	uint64_t s;
	size_t o;
	uint8_t *h;

	if (ip_overhead(l3) + 8 + len > PKT_MAX)
		return 0;
	o = ip_hdrs(out, l3, 17, 8 + len, &s);
	h = out + o;
	put16(h, sport);
	put16(h + 2, dport);
	put16(h + 4, (uint16_t)(8 + len));
	put16(h + 6, 0);
	s += sum16(h, 8) + put_payload(h + 8, payload, len);
	c = fold(s);
	put16(h + 6, c ? c : 0xffff); /* 0 means "no checksum" in UDP */
	return o + 8 + len;
}

size_t pkt_icmp6(uint8_t *out, const struct pkt_l3 *l3, const void *msg, size_t len)
{
	uint64_t s;
	size_t o;
	uint8_t *h;

	if (!l3->v6 || len < 4 || ip_overhead(l3) + len > PKT_MAX)
		return 0;
	o = ip_hdrs(out, l3, 58, len, &s);
	h = out + o;
	memcpy(h, msg, len);
	put16(h + 2, 0);
	put16(h + 2, fold(s + sum16(h, len)));
	return o + len;
}

size_t pkt_arp(uint8_t *out, const uint8_t *eth_dst, uint16_t op, const uint8_t sha[6],
	       const uint8_t spa[4], const uint8_t *tha, const uint8_t tpa[4])
{
	size_t o = eth(out, eth_dst, sha, PKT_ETH_ARP);
	uint8_t *a = out + o;

	put16(a, 1);
	put16(a + 2, PKT_ETH_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, spa, 4);
	if (tha)
		memcpy(a + 18, tha, 6);
	else
		memset(a + 18, 0, 6);
	memcpy(a + 24, tpa, 4);
	return o + 28;
}

size_t pkt_pad(uint8_t *frame, size_t len, size_t min)
{
	if (len >= min)
		return len;
	memset(frame + len, 0, min - len);
	return min;
}

void pkt_mcast_mac(uint8_t mac[6], bool v6, const uint8_t *ip)
{
	if (v6) {
		mac[0] = 0x33;
		mac[1] = 0x33;
		memcpy(mac + 2, ip + 12, 4);
		return;
	}
	mac[0] = 0x01;
	mac[1] = 0x00;
	mac[2] = 0x5e;
	mac[3] = ip[1] & 0x7f;
	mac[4] = ip[2];
	mac[5] = ip[3];
}
