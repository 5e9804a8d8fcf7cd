/*
 * decode — link, network and transport headers into packet metadata.
 *
 * Link types: Ethernet II (with up to two 802.1Q/802.1ad tags), Linux cooked
 * capture v1 and v2 (what `tcpdump -i any` writes), raw IP, DLT_IPV4/IPV6 and
 * BSD loopback. Network: IPv4 with options and fragments, IPv6 with a bounded
 * extension-header chain, ARP. Transport: TCP, UDP, ICMP, ICMPv6.
 *
 * A packet either decodes (DEC_OK), is well-formed but not IP or ARP
 * (DEC_OTHER: LLDP, EAPOL, 802.3 LLC ...), or fails with one reason. Reasons
 * are of two kinds, kept apart as tcpdump does: "truncated" (the bytes end
 * before a header does, by snaplen or by damage) and "invalid" (a field says
 * something impossible). The decoder keeps per-reason counters.
 *
 * Fragments: the first fragment carries the ports and is remembered in a
 * small direct-mapped cache, so later fragments of the same datagram are
 * given the same ports; a later fragment whose first was not seen is counted
 * as unattributed and decodes without ports (has_ports false).
 */
#ifndef IOTIDS_DECODE_H
#define IOTIDS_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "features/ipaddr.h"

#define DEC_REASONS(X)                                                                  \
	X(ETH_TRUNCATED, "eth_truncated", true)                                         \
	X(VLAN_TRUNCATED, "vlan_truncated", true)                                       \
	X(VLAN_TOO_DEEP, "vlan_too_deep", false)                                        \
	X(SLL_TRUNCATED, "sll_truncated", true)                                         \
	X(NULL_TRUNCATED, "loopback_truncated", true)                                   \
	X(RAW_BAD_VERSION, "raw_bad_version", false)                                    \
	X(LINKTYPE_UNSUPPORTED, "linktype_unsupported", false)                          \
	X(IPV4_TRUNCATED, "ipv4_truncated", true)                                       \
	X(IPV4_BAD_VERSION, "ipv4_bad_version", false)                                  \
	X(IPV4_BAD_HEADER_LEN, "ipv4_bad_header_len", false)                            \
	X(IPV4_BAD_TOTAL_LEN, "ipv4_bad_total_len", false)                              \
	X(IPV6_TRUNCATED, "ipv6_truncated", true)                                       \
	X(IPV6_BAD_VERSION, "ipv6_bad_version", false)                                  \
	X(IPV6_EXT_TRUNCATED, "ipv6_ext_truncated", true)                               \
	X(IPV6_EXT_TOO_MANY, "ipv6_ext_too_many", false)                                \
	X(TCP_TRUNCATED, "tcp_truncated", true)                                         \
	X(TCP_BAD_HEADER_LEN, "tcp_bad_header_len", false)                              \
	X(UDP_TRUNCATED, "udp_truncated", true)                                         \
	X(UDP_BAD_LEN, "udp_bad_len", false)                                            \
	X(ICMP_TRUNCATED, "icmp_truncated", true)                                       \
	X(ARP_TRUNCATED, "arp_truncated", true)

enum dec_result {
	DEC_OK = 0,
	DEC_OTHER,
#define DEC_ENUM(id, name, trunc) DEC_##id,
	DEC_REASONS(DEC_ENUM)
#undef DEC_ENUM
	DEC_RESULT_COUNT
};

/* Extension headers followed before giving up (RFC 8200 expects few; an
 * attacker can chain hundreds to slow parsers down). */
#define DEC_MAX_IPV6_EXT 8
#define DEC_MAX_VLAN 2

enum dec_l3 { DEC_L3_NONE = 0, DEC_L3_IPV4, DEC_L3_IPV6, DEC_L3_ARP };

/* What a decoded packet is. Pointers point into the caller's packet bytes
 * and live as long as those do. */
struct pkt_meta {
	uint64_t ts_us;
	uint32_t wirelen;
	uint32_t caplen;

	bool has_src_mac, has_dst_mac;
	uint8_t src_mac[6], dst_mac[6];
	uint8_t n_vlan;
	uint16_t vlan[DEC_MAX_VLAN]; /* VLAN ids, outermost first */

	uint8_t l3;                  /* enum dec_l3 */
	struct ip_addr src, dst;     /* IP (or ARP sender/target protocol addresses) */
	uint8_t proto;               /* IP protocol after extension headers */
	uint8_t ttl;

	bool is_fragment;            /* part of a fragmented datagram */
	bool has_ports;              /* sport/dport are meaningful */
	uint16_t sport, dport;       /* TCP/UDP ports; ICMP echo: the id both ways;
	                                other ICMP: type<<8|code, 0 */
	uint8_t tcp_flags;
	uint8_t tcp_opt_len;
	uint8_t icmp_type, icmp_code;

	/* ICMP destination-unreachable: the datagram it is about. */
	bool has_inner;
	struct ip_addr inner_src, inner_dst;
	uint8_t inner_proto;
	uint16_t inner_sport, inner_dport;

	uint16_t arp_op;
	uint8_t arp_sha[6];          /* ARP sender hardware address */

	bool dns_query;              /* to port 53, DNS header with QR clear (UDP or TCP) */

	/* 0 for a packet. For a summary (trk_summary): the packets it stands
	 * for, which the kernel counted without copying, wirelen bytes in all;
	 * its headers are those of one of them, and it has no content (no
	 * payload, dns_query or has_inner). */
	uint32_t summarised;

	const uint8_t *l3_hdr;       /* the IP header (what nDPI reads), NULL for non-IP */
	uint32_t l3_len;             /* captured bytes from l3_hdr to the datagram's end */
	const uint8_t *payload;      /* L4 payload (ICMP: after the 4-byte header) */
	uint32_t payload_len;        /* captured payload bytes, never past the packet */
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* The packets m stands for: 1, or a summary's count. Zero-initialised
 * metadata (the decoder's, a test's) is one packet. */
static inline uint32_t dec_meta_packets(const struct pkt_meta *m)
{
	return m->summarised ? m->summarised : 1;
}

struct dec_stats {
	uint64_t packets;
	uint64_t by_result[DEC_RESULT_COUNT];
	uint64_t fragments;
	uint64_t fragments_unattributed;
	uint64_t payload_cut;     /* IP datagrams longer than their uncut frame */
};

struct decoder;

/* NULL on allocation failure. */
struct decoder *dec_new(void);
void dec_free(struct decoder *d);

/* Decodes one packet of the given DLT link type. m is always written (zeroed
 * first); on a failure reason it holds what was decoded before the fault. */
enum dec_result dec_packet(struct decoder *d, int linktype, const uint8_t *data, uint32_t caplen,
			   uint32_t wirelen, uint64_t ts_us, struct pkt_meta *m);

const struct dec_stats *dec_stats(const struct decoder *d);
uint64_t dec_malformed_total(const struct decoder *d);

/* "eth_truncated", ...; "ok" and "other" for the first two. */
const char *dec_result_name(enum dec_result r);
/* True for the reasons of the "truncated" kind. */
bool dec_result_is_truncation(enum dec_result r);
/* True when the link type is one dec_packet understands. */
bool dec_linktype_supported(int linktype);

#endif
