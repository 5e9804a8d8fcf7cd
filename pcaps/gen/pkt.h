/*
 * pkt — builders for Ethernet frames: IPv4/IPv6 carrying TCP, UDP or
 * ICMPv6, and ARP. Each builder writes a whole frame into out (at least
 * PKT_MAX bytes) with correct lengths and IPv4/TCP/UDP/ICMPv6 checksums,
 * and returns the frame length, or 0 when the frame would exceed PKT_MAX
 * (a caller bug: segments are sized to the MTU).
 *
 * Frames are returned unpadded; pkt_pad() applies the 60-byte Ethernet
 * minimum for frames that crossed a wire before the capture point (a
 * router's own short frames are captured unpadded, as on a Linux bridge).
 */
#ifndef IOTGEN_PKT_H
#define IOTGEN_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 1600      /* 1514-byte frames plus slack */
#define PKT_ETH_MIN 60    /* minimum Ethernet frame without FCS */
#define PKT_ETH_HDR 14

#define PKT_ETH_IPV4 0x0800
#define PKT_ETH_ARP 0x0806
#define PKT_ETH_IPV6 0x86dd

#define PKT_FIN 0x01
#define PKT_SYN 0x02
#define PKT_RST 0x04
#define PKT_PSH 0x08
#define PKT_ACK 0x10

/* Addressing and IP header fields of one packet. */
struct pkt_l3 {
	const uint8_t *smac, *dmac;
	const uint8_t *sip, *dip; /* 4 bytes each, or 16 when v6 */
	bool v6;
	uint8_t ttl;              /* TTL, or hop limit for IPv6 */
	uint8_t tos;              /* IPv4 TOS or IPv6 traffic class */
	bool df;                  /* IPv4 don't-fragment */
	uint16_t ipid;            /* IPv4 identification */
	uint32_t flow;            /* IPv6 flow label (20 bits) */
};

struct pkt_tcph {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;            /* PKT_SYN | PKT_ACK ... */
	uint16_t win;             /* raw window field, before scaling */
	const uint8_t *opt;       /* options, already padded to 4 bytes */
	size_t optlen;
};

/* payload may be NULL: the payload bytes are then zero. */
size_t pkt_tcp(uint8_t *out, const struct pkt_l3 *l3, const struct pkt_tcph *t,
	       const void *payload, size_t len);
size_t pkt_udp(uint8_t *out, const struct pkt_l3 *l3, uint16_t sport, uint16_t dport,
	       const void *payload, size_t len);
/* msg is the ICMPv6 message from its type byte; its checksum is filled in. */
size_t pkt_icmp6(uint8_t *out, const struct pkt_l3 *l3, const void *msg, size_t len);
/* ARP for IPv4 over Ethernet; op 1 request, 2 reply. tha may be NULL (zero). */
size_t pkt_arp(uint8_t *out, const uint8_t *eth_dst, uint16_t op, const uint8_t sha[6],
	       const uint8_t spa[4], const uint8_t *tha, const uint8_t tpa[4]);
/* Zero-pads frame to min bytes; returns the new length. */
size_t pkt_pad(uint8_t *frame, size_t len, size_t min);
/* The Ethernet group address of an IPv4 or IPv6 multicast address. */
void pkt_mcast_mac(uint8_t mac[6], bool v6, const uint8_t *ip);
/* Internet checksum of data (RFC 1071), folded and complemented. */
uint16_t pkt_csum(const void *data, size_t len);

#endif
