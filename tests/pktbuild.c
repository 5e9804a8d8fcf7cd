/*
 * pktbuild — see pktbuild.h.
 */
#include "tests/pktbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *grow(struct tpkt *p, size_t n)
{
	if (n > TPKT_MAX - p->len) {
		fprintf(stderr, "pktbuild: packet longer than %d bytes\n", TPKT_MAX);
		abort();
	}
	uint8_t *at = p->b + p->len;
	memset(at, 0, n);
	p->len += n;
	return at;
}

static void wr16(uint8_t *at, uint16_t v)
{
	at[0] = (uint8_t)(v >> 8);
	at[1] = (uint8_t)v;
}

static void wr32(uint8_t *at, uint32_t v)
{
	wr16(at, (uint16_t)(v >> 16));
	wr16(at + 2, (uint16_t)v);
}

static void add_fixup(struct tpkt *p, size_t field, size_t from, size_t minus, bool ipv4)
{
	if (p->n_fixups == TPKT_MAX_FIXUPS) {
		fprintf(stderr, "pktbuild: more than %d length fields\n", TPKT_MAX_FIXUPS);
		abort();
	}
	p->fixups[p->n_fixups++] = (struct tpkt_fixup){.field = field, .from = from, .minus = minus, .ipv4 = ipv4};
}

void tpkt_init(struct tpkt *p)
{
	p->len = 0;
	p->n_fixups = 0;
}

size_t tpkt_eth(struct tpkt *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	size_t off = p->len;
	uint8_t *h = grow(p, 14);
	memcpy(h, dst, 6);
	memcpy(h + 6, src, 6);
	wr16(h + 12, type);
	return off;
}

size_t tpkt_vlan(struct tpkt *p, uint16_t tci, uint16_t type)
{
	size_t off = p->len;
	uint8_t *h = grow(p, 4);
	wr16(h, tci);
	wr16(h + 2, type);
	return off;
}

size_t tpkt_sll(struct tpkt *p, const uint8_t src[6], uint16_t proto)
{
	size_t off = p->len;
	uint8_t *h = grow(p, 16);
	wr16(h, 0);      /* packet type: to us */
	wr16(h + 2, 1);  /* ARPHRD_ETHER */
	wr16(h + 4, 6);  /* address length */
	memcpy(h + 6, src, 6);
	wr16(h + 14, proto);
	return off;
}

size_t tpkt_sll2(struct tpkt *p, const uint8_t src[6], uint16_t proto)
{
	size_t off = p->len;
	uint8_t *h = grow(p, 20);
	wr16(h, proto);
	wr32(h + 4, 2);  /* interface index */
	wr16(h + 8, 1);  /* ARPHRD_ETHER */
	h[10] = 0;       /* packet type: to us */
	h[11] = 6;       /* address length */
	memcpy(h + 12, src, 6);
	return off;
}

size_t tpkt_null(struct tpkt *p, uint32_t family, bool big_endian)
{
	size_t off = p->len;
	uint8_t *h = grow(p, 4);
	if (big_endian) {
		wr32(h, family);
	} else {
		for (int i = 0; i < 4; i++)
			h[i] = (uint8_t)(family >> (8 * i));
	}
	return off;
}

size_t tpkt_ipv4(struct tpkt *p, const struct tpkt_ipv4 *ip)
{
	size_t off = p->len;
	size_t opt = ip->opt_len;
	if (opt % 4 != 0 || opt > 40) {
		fprintf(stderr, "pktbuild: bad IPv4 option length %zu\n", opt);
		abort();
	}
	uint8_t *h = grow(p, 20 + opt);
	h[0] = (uint8_t)(0x40 | (20 + opt) / 4);
	wr16(h + 4, ip->id);
	uint16_t ff = (uint16_t)((ip->frag_off / 8) & 0x1fff);
	if (ip->more_frags)
		ff |= 0x2000;
	if (ip->dont_frag)
		ff |= 0x4000;
	wr16(h + 6, ff);
	h[8] = ip->ttl ? ip->ttl : 64;
	h[9] = ip->proto;
	memcpy(h + 12, ip->src, 4);
	memcpy(h + 16, ip->dst, 4);
	/* Options: NOPs, then End of Option List in the last byte. */
	if (opt > 0) {
		memset(h + 20, 1, opt - 1);
		h[20 + opt - 1] = 0;
	}
	add_fixup(p, off + 2, off, 0, true);
	return off;
}

size_t tpkt_ipv6(struct tpkt *p, const uint8_t src[16], const uint8_t dst[16], uint8_t next)
{
	size_t off = p->len;
	uint8_t *h = grow(p, 40);
	h[0] = 0x60;
	h[6] = next;
	h[7] = 64;
	memcpy(h + 8, src, 16);
	memcpy(h + 24, dst, 16);
	add_fixup(p, off + 4, off, 40, false);
	return off;
}

size_t tpkt_ipv6_ext(struct tpkt *p, uint8_t type, uint8_t next, size_t len)
{
	size_t off = p->len;
	bool ah = type == TPKT_IP_AH;
	if (len < 8 || len % (ah ? 4 : 8) != 0 || len > (ah ? 257 * 4 : 256 * 8)) {
		fprintf(stderr, "pktbuild: bad IPv6 extension header length %zu\n", len);
		abort();
	}
	uint8_t *h = grow(p, len);
	h[0] = next;
	h[1] = (uint8_t)(ah ? len / 4 - 2 : len / 8 - 1);
	if (type == TPKT_IP_ROUTING) {
		h[2] = 4; /* segment routing header type, segments left 0 */
	} else if (!ah) {
		/* One PadN option covering the rest of the header. */
		h[2] = 1;
		h[3] = (uint8_t)(len - 4);
	}
	return off;
}

size_t tpkt_ipv6_frag(struct tpkt *p, uint8_t next, uint16_t offset, bool more, uint32_t id)
{
	size_t off = p->len;
	uint8_t *h = grow(p, 8);
	h[0] = next;
	wr16(h + 2, (uint16_t)((offset & 0xfff8) | (more ? 1 : 0)));
	wr32(h + 4, id);
	return off;
}

size_t tpkt_arp(struct tpkt *p, uint16_t op, const uint8_t sha[6], const uint8_t spa[4], const uint8_t tha[6],
		const uint8_t tpa[4])
{
	size_t off = p->len;
	uint8_t *h = grow(p, 28);
	wr16(h, 1);
	wr16(h + 2, TPKT_ETH_IPV4);
	h[4] = 6;
	h[5] = 4;
	wr16(h + 6, op);
	memcpy(h + 8, sha, 6);
	memcpy(h + 14, spa, 4);
	memcpy(h + 18, tha, 6);
	memcpy(h + 24, tpa, 4);
	return off;
}

size_t tpkt_tcp(struct tpkt *p, uint16_t sport, uint16_t dport, uint8_t flags, size_t opt_len)
{
	size_t off = p->len;
	if (opt_len % 4 != 0 || opt_len > 40) {
		fprintf(stderr, "pktbuild: bad TCP option length %zu\n", opt_len);
		abort();
	}
	uint8_t *h = grow(p, 20 + opt_len);
	wr16(h, sport);
	wr16(h + 2, dport);
	wr32(h + 4, 0x01020304);  /* sequence */
	wr32(h + 8, (flags & 0x10) ? 0x0a0b0c0du : 0);
	h[12] = (uint8_t)((20 + opt_len) / 4 << 4);
	h[13] = flags;
	wr16(h + 14, 65535);
	memset(h + 20, 1, opt_len);  /* NOP */
	if (opt_len >= 4) {
		h[20] = 2;  /* MSS 1460 */
		h[21] = 4;
		wr16(h + 22, 1460);
	}
	return off;
}

size_t tpkt_udp(struct tpkt *p, uint16_t sport, uint16_t dport)
{
	size_t off = p->len;
	uint8_t *h = grow(p, 8);
	wr16(h, sport);
	wr16(h + 2, dport);
	add_fixup(p, off + 4, off, 0, false);
	return off;
}

size_t tpkt_icmp(struct tpkt *p, uint8_t type, uint8_t code, uint32_t rest)
{
	size_t off = p->len;
	uint8_t *h = grow(p, 8);
	h[0] = type;
	h[1] = code;
	wr32(h + 4, rest);
	return off;
}

size_t tpkt_bytes(struct tpkt *p, const void *data, size_t n)
{
	size_t off = p->len;
	if (n > 0)
		memcpy(grow(p, n), data, n);
	return off;
}

size_t tpkt_fill(struct tpkt *p, uint8_t byte, size_t n)
{
	size_t off = p->len;
	memset(grow(p, n), byte, n);
	return off;
}

static uint16_t ipv4_checksum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t tpkt_finish(struct tpkt *p)
{
	/* Innermost first, so that an outer IPv4 checksum is never taken before
	 * an inner length it covers changes (it covers only its own header, but
	 * the order costs nothing). */
	for (size_t i = p->n_fixups; i-- > 0;) {
		const struct tpkt_fixup *f = &p->fixups[i];
		size_t n = p->len - f->from - f->minus;
		wr16(p->b + f->field, (uint16_t)(n > 0xffff ? 0xffff : n));
		if (f->ipv4) {
			uint8_t *h = p->b + f->from;
			size_t hlen = (size_t)(h[0] & 0x0f) * 4;
			wr16(h + 10, 0);
			wr16(h + 10, ipv4_checksum(h, hlen));
		}
	}
	p->n_fixups = 0;
	return p->len;
}

void tpkt_pad(struct tpkt *p, size_t min_len)
{
	if (p->len < min_len)
		grow(p, min_len - p->len);
}

void tpkt_put8(struct tpkt *p, size_t off, uint8_t v)
{
	if (off >= p->len)
		abort();
	p->b[off] = v;
}

void tpkt_put16(struct tpkt *p, size_t off, uint16_t v)
{
	if (off + 2 > p->len)
		abort();
	wr16(p->b + off, v);
}
