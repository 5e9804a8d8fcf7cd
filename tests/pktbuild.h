/*
 * pktbuild — test packets, header by header, into a byte buffer.
 *
 * Layers are appended outermost first; each call returns the offset where
 * its header starts, so a test can damage one field afterwards (tpkt_put8,
 * tpkt_put16). Length fields (IPv4 total length, IPv6 payload length, UDP
 * length) and the IPv4 header checksum are filled in by tpkt_finish(), called
 * once after the last layer, from each header to the end of what was appended
 * so far; a quoted datagram in an ICMP error therefore gets lengths that end
 * where the packet ends. Transport checksums are left zero. Ethernet padding
 * goes after tpkt_finish():
 *
 *     struct tpkt p;
 *     tpkt_init(&p);
 *     tpkt_eth(&p, dst, src, TPKT_ETH_IPV4);
 *     tpkt_ipv4(&p, &(struct tpkt_ipv4){.src = {10, 0, 0, 1}, .dst = {10, 0, 0, 2},
 *                                       .proto = TPKT_IP_UDP});
 *     tpkt_udp(&p, 5353, 53);
 *     tpkt_fill(&p, 0xab, 4);
 *     tpkt_finish(&p);
 *     tpkt_pad(&p, 60);
 *     dec_packet(d, DLT_EN10MB, p.b, (uint32_t)p.len, (uint32_t)p.len, 0, &m);
 *
 * Writing past TPKT_MAX bytes aborts: it is a bug in the test.
 */
#ifndef IOTIDS_TESTS_PKTBUILD_H
#define IOTIDS_TESTS_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TPKT_MAX 4096
#define TPKT_MAX_FIXUPS 16

#define TPKT_ETH_IPV4 0x0800
#define TPKT_ETH_ARP 0x0806
#define TPKT_ETH_8021Q 0x8100
#define TPKT_ETH_8021AD 0x88a8
#define TPKT_ETH_IPV6 0x86dd
#define TPKT_ETH_LLDP 0x88cc

#define TPKT_IP_HOPOPTS 0
#define TPKT_IP_ICMP 1
#define TPKT_IP_TCP 6
#define TPKT_IP_UDP 17
#define TPKT_IP_ROUTING 43
#define TPKT_IP_FRAGMENT 44
#define TPKT_IP_AH 51
#define TPKT_IP_ICMPV6 58
#define TPKT_IP_NONE 59
#define TPKT_IP_DSTOPTS 60

struct tpkt_fixup {
	size_t field; /* where the 16-bit length goes */
	size_t from;  /* the length counts from here ... */
	size_t minus; /* ... less this many bytes */
	bool ipv4;    /* also recompute the IPv4 header checksum */
};

struct tpkt {
	uint8_t b[TPKT_MAX];
	size_t len;
	size_t n_fixups;
	struct tpkt_fixup fixups[TPKT_MAX_FIXUPS];
};

struct tpkt_ipv4 {
	uint8_t src[4], dst[4];
	uint8_t proto;
	uint8_t ttl;         /* 0 means 64 */
	uint8_t opt_len;     /* option bytes, a multiple of 4, at most 40 */
	uint16_t id;
	uint16_t frag_off;   /* fragment offset in bytes, a multiple of 8 */
	bool more_frags;
	bool dont_frag;
};

void tpkt_init(struct tpkt *p);

/* Link layers. */
size_t tpkt_eth(struct tpkt *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type);
/* One 802.1Q/802.1ad tag after the TPID already written: TCI, next type. */
size_t tpkt_vlan(struct tpkt *p, uint16_t tci, uint16_t type);
/* Linux cooked v1 / v2 (DLT_LINUX_SLL / SLL2), Ethernet ARPHRD, sender MAC. */
size_t tpkt_sll(struct tpkt *p, const uint8_t src[6], uint16_t proto);
size_t tpkt_sll2(struct tpkt *p, const uint8_t src[6], uint16_t proto);
/* BSD loopback family word: little-endian (DLT_NULL as written on x86) or
 * big-endian (DLT_LOOP). */
size_t tpkt_null(struct tpkt *p, uint32_t family, bool big_endian);

/* Network layers. */
size_t tpkt_ipv4(struct tpkt *p, const struct tpkt_ipv4 *h);
size_t tpkt_ipv6(struct tpkt *p, const uint8_t src[16], const uint8_t dst[16], uint8_t next);
/* An IPv6 extension header of protocol type `type` (hop-by-hop, routing,
 * destination options, AH ...) and `len` bytes in all (a multiple of 8; of
 * 4 for AH), followed by header `next`. */
size_t tpkt_ipv6_ext(struct tpkt *p, uint8_t type, uint8_t next, size_t len);
/* IPv6 fragment header; offset in bytes, a multiple of 8. */
size_t tpkt_ipv6_frag(struct tpkt *p, uint8_t next, uint16_t offset, bool more, uint32_t id);
size_t tpkt_arp(struct tpkt *p, uint16_t op, const uint8_t sha[6], const uint8_t spa[4], const uint8_t tha[6],
		const uint8_t tpa[4]);

/* Transport layers. TCP options are opt_len bytes (a multiple of 4, at most
 * 40): an MSS option when there is room, then NOPs. */
size_t tpkt_tcp(struct tpkt *p, uint16_t sport, uint16_t dport, uint8_t flags, size_t opt_len);
size_t tpkt_udp(struct tpkt *p, uint16_t sport, uint16_t dport);
/* ICMP or ICMPv6: type, code, checksum (0) and the 4-byte rest of header
 * (echo: id << 16 | seq; destination unreachable: 0). */
size_t tpkt_icmp(struct tpkt *p, uint8_t type, uint8_t code, uint32_t rest);

/* Raw bytes. */
size_t tpkt_bytes(struct tpkt *p, const void *data, size_t n);
size_t tpkt_fill(struct tpkt *p, uint8_t byte, size_t n);

/* Fills in every length field and the IPv4 checksums; returns p->len. */
size_t tpkt_finish(struct tpkt *p);
/* Appends zeros up to min_len bytes (Ethernet's 60-byte minimum). */
void tpkt_pad(struct tpkt *p, size_t min_len);

void tpkt_put8(struct tpkt *p, size_t off, uint8_t v);
void tpkt_put16(struct tpkt *p, size_t off, uint16_t v);

#endif
