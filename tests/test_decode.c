/*
 * Tests for features/decode.c: every link type and layer, fragments and their
 * cache, invalid fields, every truncation point (by damage and by snaplen),
 * the counters, and random input.
 *
 * Packets are built with tests/pktbuild.h. Every test gets a fresh decoder.
 */
#include "features/decode.h"

#include <criterion/criterion.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/ipaddr.h"
#include "tests/pktbuild.h"

static struct decoder *dec;

static void setup(void)
{
	dec = dec_new();
	cr_assert_not_null(dec, "dec_new");
}

static void teardown(void)
{
	dec_free(dec);
	dec = NULL;
}

TestSuite(decode, .init = setup, .fini = teardown);

static const uint8_t MAC_A[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0xa1};
static const uint8_t MAC_B[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0xb2};
static const uint8_t IP_A[4] = {192, 168, 1, 10};
static const uint8_t IP_B[4] = {192, 168, 1, 20};
static const uint8_t IP_C[4] = {203, 0, 113, 7};
static const uint8_t IP6_A[16] = {0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
static const uint8_t IP6_B[16] = {0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
static const uint8_t IP6_C[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07};

#define ASSERT_RESULT(got, want)                                                                          \
	do {                                                                                              \
		enum dec_result got_ = (got), want_ = (want);                                             \
		cr_assert_eq(got_, want_, "result %s, want %s", dec_result_name(got_), dec_result_name(want_)); \
	} while (0)

static enum dec_result decode_cut(const struct tpkt *p, int linktype, size_t caplen, size_t wirelen,
				  struct pkt_meta *m)
{
	return dec_packet(dec, linktype, p->b, (uint32_t)caplen, (uint32_t)wirelen, 1234567, m);
}

static enum dec_result decode(const struct tpkt *p, int linktype, struct pkt_meta *m)
{
	return decode_cut(p, linktype, p->len, p->len, m);
}

static void assert_ip(const struct ip_addr *got, const struct ip_addr *want, const char *what)
{
	char g[IP_STRLEN], w[IP_STRLEN];
	cr_assert(ip_equal(got, want), "%s is %s, want %s", what, ip_format(got, g, sizeof(g)),
		  ip_format(want, w, sizeof(w)));
}

static void assert_v4(const struct ip_addr *got, const uint8_t want[4], const char *what)
{
	struct ip_addr w;
	ip_from_v4(&w, want);
	assert_ip(got, &w, what);
}

static void assert_v6(const struct ip_addr *got, const uint8_t want[16], const char *what)
{
	struct ip_addr w;
	ip_from_v6(&w, want);
	assert_ip(got, &w, what);
}

static void assert_payload(const struct tpkt *p, const struct pkt_meta *m, size_t off, size_t len)
{
	cr_assert_eq(m->payload_len, len, "payload_len %u, want %zu", m->payload_len, len);
	if (len > 0)
		cr_assert_eq(m->payload, p->b + off, "payload at %p, want %p (offset %zu)", (const void *)m->payload,
			     (const void *)(p->b + off), off);
}

static struct tpkt_ipv4 ip4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto)
{
	struct tpkt_ipv4 h = {.proto = proto};
	memcpy(h.src, src, 4);
	memcpy(h.dst, dst, 4);
	return h;
}

/* Ethernet + IPv4 (A -> B) + UDP 40000 -> 53 + n payload bytes. */
static void build_eth_udp4(struct tpkt *p, size_t n)
{
	tpkt_init(p);
	tpkt_eth(p, MAC_B, MAC_A, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_UDP);
	tpkt_ipv4(p, &h);
	tpkt_udp(p, 40000, 53);
	tpkt_fill(p, 0x5a, n);
	tpkt_finish(p);
}

/* ------------------------------------------------------------------------ */
/* Link layers                                                              */
/* ------------------------------------------------------------------------ */

Test(decode, ethernet_ii_gives_both_macs_addresses_and_metadata)
{
	struct tpkt p;
	build_eth_udp4(&p, 4);
	struct pkt_meta m;
	ASSERT_RESULT(decode_cut(&p, DLT_EN10MB, p.len, p.len + 100, &m), DEC_OK);
	cr_assert(m.has_src_mac && m.has_dst_mac);
	cr_assert_arr_eq(m.src_mac, MAC_A, 6);
	cr_assert_arr_eq(m.dst_mac, MAC_B, 6);
	cr_assert_eq(m.n_vlan, 0);
	cr_assert_eq(m.l3, DEC_L3_IPV4);
	assert_v4(&m.src, IP_A, "src");
	assert_v4(&m.dst, IP_B, "dst");
	cr_assert_eq(m.ttl, 64);
	cr_assert_eq(m.proto, TPKT_IP_UDP);
	cr_assert_eq(m.ts_us, 1234567);
	cr_assert_eq(m.caplen, p.len);
	cr_assert_eq(m.wirelen, p.len + 100);
	cr_assert_not(m.is_fragment);
}

Test(decode, wirelen_below_caplen_is_raised_to_caplen)
{
	struct tpkt p;
	build_eth_udp4(&p, 4);
	struct pkt_meta m;
	ASSERT_RESULT(decode_cut(&p, DLT_EN10MB, p.len, 10, &m), DEC_OK);
	cr_assert_eq(m.wirelen, p.len);
}

Test(decode, meta_is_cleared_before_each_packet)
{
	struct tpkt p;
	build_eth_udp4(&p, 4);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert(m.has_ports);

	struct tpkt q;
	tpkt_init(&q);
	tpkt_eth(&q, MAC_B, MAC_A, TPKT_ETH_LLDP);
	tpkt_fill(&q, 0, 46);
	tpkt_finish(&q);
	ASSERT_RESULT(decode(&q, DLT_EN10MB, &m), DEC_OTHER);
	cr_assert_not(m.has_ports);
	cr_assert_eq(m.l3, DEC_L3_NONE);
	cr_assert_eq(m.proto, 0);
	cr_assert_null(m.payload);
	cr_assert_eq(m.payload_len, 0);
}

Test(decode, one_8021q_tag_gives_its_vlan_id_without_priority_bits)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_8021Q);
	tpkt_vlan(&p, 0xa000 | 42, TPKT_ETH_IPV4); /* PCP 5, VID 42 */
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_UDP);
	tpkt_ipv4(&p, &h);
	size_t udp = tpkt_udp(&p, 1000, 2000);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert_eq(m.n_vlan, 1);
	cr_assert_eq(m.vlan[0], 42);
	cr_assert_eq(m.sport, 1000);
	cr_assert_eq(m.dport, 2000);
	assert_payload(&p, &m, udp + 8, 0);
}

Test(decode, qinq_gives_both_vlan_ids_outermost_first)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_8021AD);
	tpkt_vlan(&p, 100, TPKT_ETH_8021Q);
	tpkt_vlan(&p, 0x1000 | 200, TPKT_ETH_IPV6); /* DEI set */
	tpkt_ipv6(&p, IP6_A, IP6_B, TPKT_IP_UDP);
	tpkt_udp(&p, 546, 547);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert_eq(m.n_vlan, 2);
	cr_assert_eq(m.vlan[0], 100);
	cr_assert_eq(m.vlan[1], 200);
	cr_assert_eq(m.l3, DEC_L3_IPV6);
	cr_assert_eq(m.sport, 546);
	cr_assert_eq(m.dport, 547);
}

Test(decode, old_9100_qinq_tpid_is_a_vlan_tag_too)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, 0x9100);
	tpkt_vlan(&p, 7, TPKT_ETH_8021Q);
	tpkt_vlan(&p, 8, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_UDP);
	tpkt_ipv4(&p, &h);
	tpkt_udp(&p, 1, 2);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert_eq(m.n_vlan, 2);
	cr_assert_eq(m.vlan[0], 7);
	cr_assert_eq(m.vlan[1], 8);
}

Test(decode, three_vlan_tags_are_too_deep)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_8021AD);
	tpkt_vlan(&p, 1, TPKT_ETH_8021Q);
	tpkt_vlan(&p, 2, TPKT_ETH_8021Q);
	tpkt_vlan(&p, 3, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_UDP);
	tpkt_ipv4(&p, &h);
	tpkt_udp(&p, 1, 2);
	tpkt_finish(&p);
	struct pkt_meta m;
	enum dec_result r = decode(&p, DLT_EN10MB, &m);
	ASSERT_RESULT(r, DEC_VLAN_TOO_DEEP);
	cr_assert_not(dec_result_is_truncation(r));
	cr_assert_eq(m.n_vlan, 2);
	cr_assert_eq(dec_stats(dec)->by_result[DEC_VLAN_TOO_DEEP], 1);
}

Test(decode, vlan_tag_cut_short_is_vlan_truncated)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_8021AD);
	tpkt_vlan(&p, 10, TPKT_ETH_8021Q);
	tpkt_vlan(&p, 20, TPKT_ETH_IPV4);
	tpkt_finish(&p);
	struct pkt_meta m;
	for (size_t cut = 14; cut < 22; cut++)
		ASSERT_RESULT(decode_cut(&p, DLT_EN10MB, cut, cut, &m), DEC_VLAN_TRUNCATED);
	/* Both tags whole, nothing after: the IPv4 header is what is missing. */
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_IPV4_TRUNCATED);
	cr_assert_eq(m.n_vlan, 2);
}

Test(decode, sll_v1_gives_sender_mac_and_no_destination_mac)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_sll(&p, MAC_A, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_TCP);
	tpkt_ipv4(&p, &h);
	tpkt_tcp(&p, 51000, 443, 0x02, 0);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_LINUX_SLL, &m), DEC_OK);
	cr_assert(m.has_src_mac);
	cr_assert_not(m.has_dst_mac);
	cr_assert_arr_eq(m.src_mac, MAC_A, 6);
	assert_v4(&m.src, IP_A, "src");
	cr_assert_eq(m.sport, 51000);
	cr_assert_eq(m.dport, 443);
}

Test(decode, sll2_gives_sender_mac_and_no_destination_mac)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_sll2(&p, MAC_B, TPKT_ETH_IPV6);
	tpkt_ipv6(&p, IP6_A, IP6_B, TPKT_IP_TCP);
	tpkt_tcp(&p, 51000, 443, 0x02, 0);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_LINUX_SLL2, &m), DEC_OK);
	cr_assert(m.has_src_mac);
	cr_assert_not(m.has_dst_mac);
	cr_assert_arr_eq(m.src_mac, MAC_B, 6);
	assert_v6(&m.src, IP6_A, "src");
	assert_v6(&m.dst, IP6_B, "dst");
	cr_assert_eq(m.sport, 51000);
}

Test(decode, sll_with_non_ethernet_hardware_type_has_no_mac)
{
	struct tpkt p;
	tpkt_init(&p);
	size_t sll = tpkt_sll(&p, MAC_A, TPKT_ETH_IPV4);
	tpkt_put16(&p, sll + 2, 772); /* ARPHRD_LOOPBACK */
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_UDP);
	tpkt_ipv4(&p, &h);
	tpkt_udp(&p, 1, 2);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_LINUX_SLL, &m), DEC_OK);
	cr_assert_not(m.has_src_mac);
	cr_assert_not(m.has_dst_mac);
}

Test(decode, sll_headers_cut_short_are_sll_truncated)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_sll(&p, MAC_A, TPKT_ETH_IPV4);
	tpkt_finish(&p);
	struct pkt_meta m;
	for (size_t cut = 0; cut < 16; cut++)
		ASSERT_RESULT(decode_cut(&p, DLT_LINUX_SLL, cut, cut, &m), DEC_SLL_TRUNCATED);
	ASSERT_RESULT(decode(&p, DLT_LINUX_SLL, &m), DEC_IPV4_TRUNCATED);

	tpkt_init(&p);
	tpkt_sll2(&p, MAC_A, TPKT_ETH_IPV4);
	tpkt_finish(&p);
	for (size_t cut = 0; cut < 20; cut++)
		ASSERT_RESULT(decode_cut(&p, DLT_LINUX_SLL2, cut, cut, &m), DEC_SLL_TRUNCATED);
	ASSERT_RESULT(decode(&p, DLT_LINUX_SLL2, &m), DEC_IPV4_TRUNCATED);
}

Test(decode, sll_carrying_arp_decodes_arp)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_sll(&p, MAC_A, TPKT_ETH_ARP);
	static const uint8_t zero[6];
	tpkt_arp(&p, 1, MAC_A, IP_A, zero, IP_B);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_LINUX_SLL, &m), DEC_OK);
	cr_assert_eq(m.l3, DEC_L3_ARP);
	cr_assert_eq(m.arp_op, 1);
}

Test(decode, raw_link_type_picks_ipv4_by_version_nibble)
{
	struct tpkt p;
	tpkt_init(&p);
	struct tpkt_ipv4 h = ip4(IP_A, IP_C, TPKT_IP_UDP);
	tpkt_ipv4(&p, &h);
	size_t udp = tpkt_udp(&p, 123, 123);
	tpkt_fill(&p, 0xe3, 48);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_RAW, &m), DEC_OK);
	cr_assert_eq(m.l3, DEC_L3_IPV4);
	cr_assert_not(m.has_src_mac);
	cr_assert_not(m.has_dst_mac);
	assert_v4(&m.dst, IP_C, "dst");
	cr_assert_eq(m.sport, 123);
	assert_payload(&p, &m, udp + 8, 48);
}

Test(decode, raw_link_type_picks_ipv6_by_version_nibble)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_ipv6(&p, IP6_A, IP6_C, TPKT_IP_TCP);
	size_t tcp = tpkt_tcp(&p, 40001, 8883, 0x18, 0);
	tpkt_fill(&p, 0x30, 12);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_RAW, &m), DEC_OK);
	cr_assert_eq(m.l3, DEC_L3_IPV6);
	assert_v6(&m.dst, IP6_C, "dst");
	cr_assert_eq(m.ttl, 64);
	cr_assert_eq(m.dport, 8883);
	assert_payload(&p, &m, tcp + 20, 12);
}

Test(decode, raw_link_type_with_version_7_is_raw_bad_version)
{
	struct tpkt p;
	tpkt_init(&p);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_UDP);
	size_t ip = tpkt_ipv4(&p, &h);
	tpkt_udp(&p, 1, 2);
	tpkt_finish(&p);
	tpkt_put8(&p, ip, 0x75);
	struct pkt_meta m;
	enum dec_result r = decode(&p, DLT_RAW, &m);
	ASSERT_RESULT(r, DEC_RAW_BAD_VERSION);
	cr_assert_not(dec_result_is_truncation(r));
}

Test(decode, dlt_ipv4_and_dlt_ipv6_decode_bare_datagrams)
{
	struct tpkt p;
	tpkt_init(&p);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_UDP);
	tpkt_ipv4(&p, &h);
	tpkt_udp(&p, 67, 68);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_IPV4, &m), DEC_OK);
	cr_assert_eq(m.l3, DEC_L3_IPV4);
	cr_assert_eq(m.dport, 68);
	/* The link type decides: 28 bytes are too short for an IPv6 header. */
	ASSERT_RESULT(decode(&p, DLT_IPV6, &m), DEC_IPV6_TRUNCATED);

	tpkt_init(&p);
	tpkt_ipv6(&p, IP6_A, IP6_B, TPKT_IP_UDP);
	tpkt_udp(&p, 546, 547);
	tpkt_finish(&p);
	ASSERT_RESULT(decode(&p, DLT_IPV6, &m), DEC_OK);
	cr_assert_eq(m.l3, DEC_L3_IPV6);
	cr_assert_eq(m.dport, 547);
	ASSERT_RESULT(decode(&p, DLT_IPV4, &m), DEC_IPV4_BAD_VERSION);
}

static void build_null(struct tpkt *p, uint32_t family, bool big_endian, bool v6)
{
	tpkt_init(p);
	tpkt_null(p, family, big_endian);
	if (v6) {
		tpkt_ipv6(p, IP6_A, IP6_B, TPKT_IP_UDP);
	} else {
		struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_UDP);
		tpkt_ipv4(p, &h);
	}
	tpkt_udp(p, 5683, 5683);
	tpkt_finish(p);
}

Test(decode, dlt_null_reads_a_little_endian_address_family)
{
	struct tpkt p;
	struct pkt_meta m;
	build_null(&p, 2, false, false);
	cr_assert_eq(p.b[0], 2);
	ASSERT_RESULT(decode(&p, DLT_NULL, &m), DEC_OK);
	cr_assert_eq(m.l3, DEC_L3_IPV4);
	cr_assert_eq(m.sport, 5683);
	static const uint32_t inet6[] = {24, 28, 30};
	for (size_t i = 0; i < 3; i++) {
		build_null(&p, inet6[i], false, true);
		ASSERT_RESULT(decode(&p, DLT_NULL, &m), DEC_OK);
		cr_assert_eq(m.l3, DEC_L3_IPV6, "AF %u", inet6[i]);
	}
}

Test(decode, dlt_loop_reads_a_big_endian_address_family)
{
	struct tpkt p;
	struct pkt_meta m;
	build_null(&p, 2, true, false);
	cr_assert_eq(p.b[3], 2);
	ASSERT_RESULT(decode(&p, DLT_LOOP, &m), DEC_OK);
	cr_assert_eq(m.l3, DEC_L3_IPV4);
	build_null(&p, 30, true, true);
	ASSERT_RESULT(decode(&p, DLT_LOOP, &m), DEC_OK);
	cr_assert_eq(m.l3, DEC_L3_IPV6);
	/* A big-endian family in DLT_NULL (a big-endian writer) works too. */
	build_null(&p, 2, true, false);
	ASSERT_RESULT(decode(&p, DLT_NULL, &m), DEC_OK);
}

Test(decode, loopback_unknown_family_is_other_and_short_header_truncated)
{
	struct tpkt p;
	struct pkt_meta m;
	build_null(&p, 7, false, false);
	ASSERT_RESULT(decode(&p, DLT_NULL, &m), DEC_OTHER);
	for (size_t cut = 0; cut < 4; cut++)
		ASSERT_RESULT(decode_cut(&p, DLT_LOOP, cut, cut, &m), DEC_NULL_TRUNCATED);
}

Test(decode, unsupported_linktype_is_reported_as_such)
{
	struct tpkt p;
	build_eth_udp4(&p, 0);
	struct pkt_meta m;
	enum dec_result r = decode(&p, DLT_IEEE802_11_RADIO, &m);
	ASSERT_RESULT(r, DEC_LINKTYPE_UNSUPPORTED);
	cr_assert_not(dec_result_is_truncation(r));
	cr_assert_not(dec_linktype_supported(DLT_IEEE802_11_RADIO));
	cr_assert_not(dec_linktype_supported(-1));
	static const int ok[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
				 DLT_IPV4,   DLT_IPV6,      DLT_NULL,       DLT_LOOP};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert(dec_linktype_supported(ok[i]), "linktype %d", ok[i]);
	cr_assert_eq(dec_stats(dec)->by_result[DEC_LINKTYPE_UNSUPPORTED], 1);
}

Test(decode, lldp_ethertype_is_other)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_LLDP);
	tpkt_fill(&p, 0x02, 46);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OTHER);
	cr_assert(m.has_src_mac);
	cr_assert_eq(m.l3, DEC_L3_NONE);
	cr_assert_eq(dec_malformed_total(dec), 0);
}

Test(decode, ieee_8023_length_frame_is_other)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, 38); /* 802.3 length: STP BPDU over LLC */
	static const uint8_t llc[] = {0x42, 0x42, 0x03};
	tpkt_bytes(&p, llc, sizeof(llc));
	tpkt_fill(&p, 0, 35);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OTHER);
	/* 1500 is still a length. */
	tpkt_put16(&p, 12, 1500);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OTHER);
	cr_assert_eq(dec_stats(dec)->by_result[DEC_OTHER], 2);
}

Test(decode, arp_request_gives_sender_mac_and_both_addresses)
{
	struct tpkt p;
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t zero[6];
	tpkt_init(&p);
	tpkt_eth(&p, bcast, MAC_A, TPKT_ETH_ARP);
	tpkt_arp(&p, 1, MAC_A, IP_A, zero, IP_B);
	tpkt_finish(&p);
	tpkt_pad(&p, 60);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert_eq(m.l3, DEC_L3_ARP);
	cr_assert_eq(m.arp_op, 1);
	cr_assert_arr_eq(m.arp_sha, MAC_A, 6);
	assert_v4(&m.src, IP_A, "sender");
	assert_v4(&m.dst, IP_B, "target");
	cr_assert_not(m.has_ports);
}

Test(decode, arp_cut_short_is_arp_truncated)
{
	struct tpkt p;
	static const uint8_t zero[6];
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_ARP);
	tpkt_arp(&p, 2, MAC_A, IP_A, zero, IP_B);
	tpkt_finish(&p);
	struct pkt_meta m;
	for (size_t cut = 14; cut < p.len; cut++) {
		enum dec_result r = decode_cut(&p, DLT_EN10MB, cut, cut, &m);
		ASSERT_RESULT(r, DEC_ARP_TRUNCATED);
		cr_assert(dec_result_is_truncation(r));
	}
}

Test(decode, arp_for_other_hardware_is_ok_without_addresses)
{
	struct tpkt p;
	static const uint8_t zero[6];
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_ARP);
	size_t arp = tpkt_arp(&p, 1, MAC_A, IP_A, zero, IP_B);
	tpkt_finish(&p);
	tpkt_put16(&p, arp, 6); /* IEEE 802 hardware */
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert_eq(m.l3, DEC_L3_ARP);
	cr_assert_eq(m.arp_op, 1);
	cr_assert(ip_is_unspecified(&m.src));
}

/* ------------------------------------------------------------------------ */
/* Network and transport layers                                             */
/* ------------------------------------------------------------------------ */

Test(decode, tcp_over_ipv4_gives_ports_flags_and_payload)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_TCP);
	h.ttl = 17;
	h.dont_frag = true;
	tpkt_ipv4(&p, &h);
	size_t tcp = tpkt_tcp(&p, 49152, 1883, TCP_SYN | TCP_ACK, 12);
	tpkt_fill(&p, 0x10, 7);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert_eq(m.proto, TPKT_IP_TCP);
	cr_assert_eq(m.ttl, 17);
	cr_assert_not(m.is_fragment, "DF alone is not a fragment");
	cr_assert(m.has_ports);
	cr_assert_eq(m.sport, 49152);
	cr_assert_eq(m.dport, 1883);
	cr_assert_eq(m.tcp_flags, TCP_SYN | TCP_ACK);
	cr_assert_eq(m.tcp_opt_len, 12);
	assert_payload(&p, &m, tcp + 32, 7);
}

Test(decode, tcp_option_length_follows_the_data_offset)
{
	for (size_t opt = 0; opt <= 40; opt += 4) {
		struct tpkt p;
		tpkt_init(&p);
		tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_IPV4);
		struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_TCP);
		tpkt_ipv4(&p, &h);
		size_t tcp = tpkt_tcp(&p, 1, 2, TCP_FIN | TCP_PSH | TCP_ACK | TCP_RST, opt);
		tpkt_fill(&p, 0x77, 3);
		tpkt_finish(&p);
		struct pkt_meta m;
		ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
		cr_assert_eq(m.tcp_opt_len, opt);
		cr_assert_eq(m.tcp_flags, TCP_FIN | TCP_PSH | TCP_ACK | TCP_RST);
		assert_payload(&p, &m, tcp + 20 + opt, 3);
	}
}

Test(decode, ipv4_options_of_every_length_keep_ports_right)
{
	for (uint8_t ihl = 5; ihl <= 15; ihl++) {
		struct tpkt p;
		tpkt_init(&p);
		tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_IPV4);
		struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_UDP);
		h.opt_len = (uint8_t)((ihl - 5) * 4);
		size_t ip = tpkt_ipv4(&p, &h);
		size_t udp = tpkt_udp(&p, 10000 + ihl, 20000 + ihl);
		tpkt_fill(&p, 0xcc, 5);
		tpkt_finish(&p);
		cr_assert_eq(p.b[ip] & 0x0f, ihl);
		struct pkt_meta m;
		ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
		cr_assert_eq(m.sport, 10000 + ihl, "IHL %u", ihl);
		cr_assert_eq(m.dport, 20000 + ihl, "IHL %u", ihl);
		assert_v4(&m.src, IP_A, "src");
		assert_v4(&m.dst, IP_B, "dst");
		assert_payload(&p, &m, udp + 8, 5);
	}
}

Test(decode, ipv6_hop_routing_and_destination_options_chain_reaches_tcp)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_IPV6);
	tpkt_ipv6(&p, IP6_A, IP6_B, TPKT_IP_HOPOPTS);
	tpkt_ipv6_ext(&p, TPKT_IP_HOPOPTS, TPKT_IP_ROUTING, 8);
	tpkt_ipv6_ext(&p, TPKT_IP_ROUTING, TPKT_IP_DSTOPTS, 24);
	tpkt_ipv6_ext(&p, TPKT_IP_DSTOPTS, TPKT_IP_TCP, 16);
	size_t tcp = tpkt_tcp(&p, 33333, 80, TCP_PSH | TCP_ACK, 8);
	tpkt_fill(&p, 0x41, 9);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert_eq(m.l3, DEC_L3_IPV6);
	cr_assert_eq(m.proto, TPKT_IP_TCP);
	cr_assert_eq(m.sport, 33333);
	cr_assert_eq(m.dport, 80);
	cr_assert_eq(m.tcp_opt_len, 8);
	cr_assert_not(m.is_fragment);
	assert_payload(&p, &m, tcp + 28, 9);
}

Test(decode, ipv6_ah_length_counts_in_4_byte_units)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_ipv6(&p, IP6_A, IP6_B, TPKT_IP_AH);
	tpkt_ipv6_ext(&p, TPKT_IP_AH, TPKT_IP_UDP, 28); /* 12-byte ICV */
	size_t udp = tpkt_udp(&p, 500, 4500);
	tpkt_fill(&p, 1, 2);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_RAW, &m), DEC_OK);
	cr_assert_eq(m.proto, TPKT_IP_UDP);
	cr_assert_eq(m.sport, 500);
	cr_assert_eq(m.dport, 4500);
	assert_payload(&p, &m, udp + 8, 2);
}

static void build_ipv6_ext_chain(struct tpkt *p, int n_ext)
{
	tpkt_init(p);
	tpkt_eth(p, MAC_B, MAC_A, TPKT_ETH_IPV6);
	tpkt_ipv6(p, IP6_A, IP6_B, n_ext > 0 ? TPKT_IP_DSTOPTS : TPKT_IP_UDP);
	for (int i = 0; i < n_ext; i++)
		tpkt_ipv6_ext(p, TPKT_IP_DSTOPTS, i + 1 < n_ext ? TPKT_IP_DSTOPTS : TPKT_IP_UDP, 8);
	tpkt_udp(p, 7, 9);
	tpkt_finish(p);
}

Test(decode, ipv6_eight_extension_headers_are_followed)
{
	struct tpkt p;
	build_ipv6_ext_chain(&p, DEC_MAX_IPV6_EXT);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert_eq(m.proto, TPKT_IP_UDP);
	cr_assert_eq(m.dport, 9);
}

Test(decode, ipv6_nine_extension_headers_are_too_many)
{
	struct tpkt p;
	build_ipv6_ext_chain(&p, DEC_MAX_IPV6_EXT + 1);
	struct pkt_meta m;
	enum dec_result r = decode(&p, DLT_EN10MB, &m);
	ASSERT_RESULT(r, DEC_IPV6_EXT_TOO_MANY);
	cr_assert_not(dec_result_is_truncation(r));
	cr_assert_not(m.has_ports);
	cr_assert_eq(m.l3, DEC_L3_IPV6);
}

Test(decode, ipv6_no_next_header_is_ok_without_ports)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_ipv6(&p, IP6_A, IP6_B, TPKT_IP_NONE);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_IPV6, &m), DEC_OK);
	cr_assert_eq(m.proto, TPKT_IP_NONE);
	cr_assert_not(m.has_ports);
	cr_assert_eq(m.payload_len, 0);
}

Test(decode, udp_gives_payload_pointer_and_length)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_UDP);
	tpkt_ipv4(&p, &h);
	size_t udp = tpkt_udp(&p, 5353, 5353);
	static const char q[] = "\x00\x00\x00\x00\x00\x01";
	tpkt_bytes(&p, q, 6);
	tpkt_fill(&p, 0x61, 30);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert(m.has_ports);
	cr_assert_eq(m.sport, 5353);
	assert_payload(&p, &m, udp + 8, 36);
	cr_assert_eq(m.payload[5], 1);
}

/* Decodes one Ethernet/IPv4 packet carrying payload over UDP or TCP. */
static bool decodes_as_dns_query(bool tcp, uint16_t sport, uint16_t dport, const void *payload, size_t len)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, tcp ? TPKT_IP_TCP : TPKT_IP_UDP);
	tpkt_ipv4(&p, &h);
	if (tcp)
		tpkt_tcp(&p, sport, dport, TCP_PSH | TCP_ACK, 0);
	else
		tpkt_udp(&p, sport, dport);
	tpkt_bytes(&p, payload, len);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	return m.dns_query;
}

Test(decode, dns_queries_are_recognised_over_udp_and_tcp_and_nothing_else)
{
	/* id 0x1234, flags 0x0100 (QR=0, RD), one question */
	static const uint8_t query[17] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'c', 'o', 'm', 0};
	/* flags 0x8180: QR=1 */
	static const uint8_t resp[17] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 3, 'c', 'o', 'm', 0};
	/* DNS over TCP: a 2-byte length first */
	static const uint8_t tcpq[19] = {0, 17, 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'c', 'o', 'm', 0};
	cr_assert(decodes_as_dns_query(false, 40000, 53, query, sizeof(query)));
	cr_assert(decodes_as_dns_query(true, 40000, 53, tcpq, sizeof(tcpq)));
	cr_assert_not(decodes_as_dns_query(false, 53, 40000, resp, sizeof(resp)), "an answer");
	cr_assert_not(decodes_as_dns_query(false, 53, 53, resp, sizeof(resp)), "a response sent to port 53");
	cr_assert_not(decodes_as_dns_query(false, 40000, 53, query, 11), "shorter than a DNS header");
	cr_assert_not(decodes_as_dns_query(true, 40000, 53, query, sizeof(query)), "TCP without its length prefix");
	cr_assert_not(decodes_as_dns_query(false, 5353, 5353, query, sizeof(query)), "mDNS is not port 53");
	cr_assert_not(decodes_as_dns_query(false, 40000, 53, NULL, 0), "no payload");
}

Test(decode, udp_length_shorter_than_ip_payload_ends_the_udp_payload)
{
	struct tpkt p;
	build_eth_udp4(&p, 20);
	size_t udp = 14 + 20;
	tpkt_put16(&p, udp + 4, 8 + 5);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	assert_payload(&p, &m, udp + 8, 5);
}

Test(decode, ethernet_padding_is_not_payload)
{
	/* A 28-byte IPv4/UDP datagram padded to Ethernet's 60 bytes. */
	struct tpkt p;
	build_eth_udp4(&p, 0);
	cr_assert_eq(p.len, 42);
	tpkt_pad(&p, 60);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert_eq(m.payload_len, 0);
	cr_assert_eq(dec_stats(dec)->payload_cut, 0);

	build_eth_udp4(&p, 4);
	tpkt_pad(&p, 60);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	assert_payload(&p, &m, 42, 4);

	/* The same for a non-UDP protocol and for TCP. */
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, 47); /* GRE */
	tpkt_ipv4(&p, &h);
	tpkt_fill(&p, 0, 4);
	tpkt_finish(&p);
	tpkt_pad(&p, 60);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	assert_payload(&p, &m, 34, 4);

	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_IPV4);
	h = ip4(IP_A, IP_B, TPKT_IP_TCP);
	tpkt_ipv4(&p, &h);
	tpkt_tcp(&p, 1, 2, TCP_ACK, 0);
	tpkt_finish(&p);
	tpkt_pad(&p, 60);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert_eq(m.payload_len, 0);
}

Test(decode, icmp_echo_request_and_reply_share_the_id_as_both_ports)
{
	struct pkt_meta req, rep;
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_ICMP);
	tpkt_ipv4(&p, &h);
	size_t icmp = tpkt_icmp(&p, 8, 0, 0x4242u << 16 | 1);
	tpkt_fill(&p, 0x61, 32);
	tpkt_finish(&p);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &req), DEC_OK);
	cr_assert(req.has_ports);
	cr_assert_eq(req.icmp_type, 8);
	cr_assert_eq(req.sport, 0x4242);
	cr_assert_eq(req.dport, 0x4242);
	/* Payload starts after the 4-byte type/code/checksum. */
	assert_payload(&p, &req, icmp + 4, 36);

	tpkt_init(&p);
	tpkt_eth(&p, MAC_A, MAC_B, TPKT_ETH_IPV4);
	h = ip4(IP_B, IP_A, TPKT_IP_ICMP);
	tpkt_ipv4(&p, &h);
	tpkt_icmp(&p, 0, 0, 0x4242u << 16 | 1);
	tpkt_finish(&p);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &rep), DEC_OK);
	cr_assert_eq(rep.icmp_type, 0);
	cr_assert_eq(rep.sport, req.sport);
	cr_assert_eq(rep.dport, req.dport);
}

Test(decode, icmpv6_echo_request_and_reply_share_the_id_as_both_ports)
{
	struct pkt_meta m;
	for (uint8_t type = 128; type <= 129; type++) {
		struct tpkt p;
		tpkt_init(&p);
		tpkt_ipv6(&p, IP6_A, IP6_B, TPKT_IP_ICMPV6);
		tpkt_icmp(&p, type, 0, 0x0badu << 16 | 9);
		tpkt_finish(&p);
		ASSERT_RESULT(decode(&p, DLT_RAW, &m), DEC_OK);
		cr_assert_eq(m.icmp_type, type);
		cr_assert_eq(m.sport, 0x0bad);
		cr_assert_eq(m.dport, 0x0bad);
	}
}

Test(decode, other_icmp_types_give_type_and_code_as_source_port)
{
	struct tpkt p;
	tpkt_init(&p);
	struct tpkt_ipv4 h = ip4(IP_C, IP_A, TPKT_IP_ICMP);
	tpkt_ipv4(&p, &h);
	tpkt_icmp(&p, 11, 1, 0); /* time exceeded, reassembly */
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_RAW, &m), DEC_OK);
	cr_assert(m.has_ports);
	cr_assert_eq(m.sport, 11 << 8 | 1);
	cr_assert_eq(m.dport, 0);
	cr_assert_not(m.has_inner);
}

Test(decode, icmp_port_unreachable_gives_the_quoted_udp_five_tuple)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_A, MAC_B, TPKT_ETH_IPV4);
	struct tpkt_ipv4 outer = ip4(IP_B, IP_A, TPKT_IP_ICMP);
	tpkt_ipv4(&p, &outer);
	tpkt_icmp(&p, 3, 3, 0);
	struct tpkt_ipv4 inner = ip4(IP_A, IP_B, TPKT_IP_UDP);
	inner.opt_len = 4; /* the quoted header's own IHL is honoured */
	tpkt_ipv4(&p, &inner);
	tpkt_udp(&p, 41234, 161);
	tpkt_fill(&p, 0x30, 8);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert_eq(m.icmp_type, 3);
	cr_assert_eq(m.icmp_code, 3);
	cr_assert_eq(m.sport, 3 << 8 | 3);
	cr_assert_eq(m.dport, 0);
	cr_assert(m.has_inner);
	assert_v4(&m.inner_src, IP_A, "inner src");
	assert_v4(&m.inner_dst, IP_B, "inner dst");
	cr_assert_eq(m.inner_proto, TPKT_IP_UDP);
	cr_assert_eq(m.inner_sport, 41234);
	cr_assert_eq(m.inner_dport, 161);
}

Test(decode, icmpv6_unreachable_gives_the_quoted_udp_five_tuple)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_A, MAC_B, TPKT_ETH_IPV6);
	tpkt_ipv6(&p, IP6_B, IP6_A, TPKT_IP_ICMPV6);
	tpkt_icmp(&p, 1, 4, 0);
	tpkt_ipv6(&p, IP6_A, IP6_C, TPKT_IP_UDP);
	tpkt_udp(&p, 50000, 5684);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert_eq(m.proto, TPKT_IP_ICMPV6);
	cr_assert_eq(m.sport, 1 << 8 | 4);
	cr_assert(m.has_inner);
	assert_v6(&m.inner_src, IP6_A, "inner src");
	assert_v6(&m.inner_dst, IP6_C, "inner dst");
	cr_assert_eq(m.inner_proto, TPKT_IP_UDP);
	cr_assert_eq(m.inner_sport, 50000);
	cr_assert_eq(m.inner_dport, 5684);
}

Test(decode, icmp_unreachable_quoting_too_little_has_no_inner_but_decodes)
{
	struct tpkt p;
	tpkt_init(&p);
	struct tpkt_ipv4 outer = ip4(IP_B, IP_A, TPKT_IP_ICMP);
	tpkt_ipv4(&p, &outer);
	tpkt_icmp(&p, 3, 1, 0);
	struct tpkt_ipv4 inner = ip4(IP_A, IP_B, TPKT_IP_TCP);
	tpkt_ipv4(&p, &inner);
	tpkt_fill(&p, 0, 8);
	tpkt_finish(&p);
	struct pkt_meta m;
	size_t full = p.len;
	/* Every cut of the quoted datagram before its ports: no inner, still OK. */
	for (size_t cut = 20 + 4; cut < full - 4; cut++) {
		ASSERT_RESULT(decode_cut(&p, DLT_RAW, cut, full, &m), DEC_OK);
		cr_assert_not(m.has_inner, "cut %zu", cut);
	}
	ASSERT_RESULT(decode(&p, DLT_RAW, &m), DEC_OK);
	cr_assert(m.has_inner);
	cr_assert_eq(m.inner_proto, TPKT_IP_TCP);
	/* A quoted ICMP datagram has no ports to relate. */
	tpkt_put8(&p, 20 + 8 + 9, TPKT_IP_ICMP);
	ASSERT_RESULT(decode(&p, DLT_RAW, &m), DEC_OK);
	cr_assert_not(m.has_inner);
	/* Nor does a quoted header with a bad IHL. */
	tpkt_put8(&p, 20 + 8 + 9, TPKT_IP_TCP);
	tpkt_put8(&p, 20 + 8, 0x44);
	ASSERT_RESULT(decode(&p, DLT_RAW, &m), DEC_OK);
	cr_assert_not(m.has_inner);
}

Test(decode, icmp_header_cut_short_is_icmp_truncated)
{
	struct tpkt p;
	tpkt_init(&p);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_ICMP);
	tpkt_ipv4(&p, &h);
	tpkt_icmp(&p, 8, 0, 0x1234u << 16);
	tpkt_finish(&p);
	struct pkt_meta m;
	for (size_t cut = 20; cut < 24; cut++)
		ASSERT_RESULT(decode_cut(&p, DLT_RAW, cut, cut, &m), DEC_ICMP_TRUNCATED);
	/* Type, code and checksum whole but no identifier: still a packet. */
	ASSERT_RESULT(decode_cut(&p, DLT_RAW, 25, 25, &m), DEC_OK);
	cr_assert_eq(m.sport, 8 << 8);
	ASSERT_RESULT(decode_cut(&p, DLT_RAW, 26, 26, &m), DEC_OK);
	cr_assert_eq(m.sport, 0x1234);
}

/* ------------------------------------------------------------------------ */
/* Fragments                                                                */
/* ------------------------------------------------------------------------ */

/* IPv4 fragment src -> IP_B, id 0x1234, UDP. The first carries the UDP header
 * (whose length, 8 + 16 + 24, covers the whole datagram) and 16 bytes; the
 * second carries the remaining 24 bytes at offset 24. */
static void build_frag4(struct tpkt *p, const uint8_t src[4], uint16_t id, bool first)
{
	tpkt_init(p);
	tpkt_eth(p, MAC_B, MAC_A, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = ip4(src, IP_B, TPKT_IP_UDP);
	h.id = id;
	if (first) {
		h.more_frags = true;
		tpkt_ipv4(p, &h);
		size_t udp = tpkt_udp(p, 6000, 7000);
		tpkt_fill(p, 0x11, 16);
		tpkt_finish(p);
		tpkt_put16(p, udp + 4, 8 + 16 + 24);
	} else {
		h.frag_off = 24;
		tpkt_ipv4(p, &h);
		tpkt_fill(p, 0x22, 24);
		tpkt_finish(p);
	}
}

Test(decode, ipv4_later_fragment_borrows_the_ports_of_its_first)
{
	struct tpkt p;
	struct pkt_meta m;
	build_frag4(&p, IP_A, 0x1234, true);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert(m.is_fragment);
	cr_assert(m.has_ports);
	cr_assert_eq(m.sport, 6000);
	cr_assert_eq(m.dport, 7000);
	assert_payload(&p, &m, 14 + 20 + 8, 16);

	build_frag4(&p, IP_A, 0x1234, false);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert(m.is_fragment);
	cr_assert(m.has_ports);
	cr_assert_eq(m.sport, 6000);
	cr_assert_eq(m.dport, 7000);
	cr_assert_eq(m.proto, TPKT_IP_UDP);
	/* The later fragment's bytes are all payload. */
	assert_payload(&p, &m, 14 + 20, 24);

	const struct dec_stats *s = dec_stats(dec);
	cr_assert_eq(s->fragments, 2);
	cr_assert_eq(s->fragments_unattributed, 0);
	cr_assert_eq(s->payload_cut, 0);
}

Test(decode, ipv4_later_fragment_without_its_first_is_unattributed)
{
	struct tpkt p;
	struct pkt_meta m;
	build_frag4(&p, IP_A, 0x1234, false);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert(m.is_fragment);
	cr_assert_not(m.has_ports);
	cr_assert_eq(dec_stats(dec)->fragments_unattributed, 1);
	cr_assert_eq(dec_malformed_total(dec), 0);

	/* A first fragment of another datagram (id, or source) does not count. */
	build_frag4(&p, IP_A, 0x1235, true);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	build_frag4(&p, IP_C, 0x1234, true);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	build_frag4(&p, IP_A, 0x1234, false);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert_not(m.has_ports);
	cr_assert_eq(dec_stats(dec)->fragments_unattributed, 2);
	cr_assert_eq(dec_stats(dec)->fragments, 4);
}

Test(decode, first_fragment_udp_length_may_exceed_its_own_bytes)
{
	struct tpkt p;
	struct pkt_meta m;
	build_frag4(&p, IP_A, 77, true);
	cr_assert_gt(((size_t)p.b[14 + 20 + 4] << 8 | p.b[14 + 20 + 5]), p.len - 14 - 20);
	enum dec_result r = decode(&p, DLT_EN10MB, &m);
	ASSERT_RESULT(r, DEC_OK);
	cr_assert_eq(dec_stats(dec)->by_result[DEC_UDP_BAD_LEN], 0);
	/* Unfragmented, the same UDP length is impossible. */
	tpkt_put16(&p, 14 + 6, 0);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_UDP_BAD_LEN);
}

/* IPv6 (src -> IP6_B) with a fragment header, UDP; as build_frag4. */
static void build_frag6(struct tpkt *p, const uint8_t src[16], uint32_t id, bool first)
{
	tpkt_init(p);
	tpkt_eth(p, MAC_B, MAC_A, TPKT_ETH_IPV6);
	tpkt_ipv6(p, src, IP6_B, TPKT_IP_FRAGMENT);
	if (first) {
		tpkt_ipv6_frag(p, TPKT_IP_UDP, 0, true, id);
		size_t udp = tpkt_udp(p, 6001, 7001);
		tpkt_fill(p, 0x11, 16);
		tpkt_finish(p);
		tpkt_put16(p, udp + 4, 8 + 16 + 24);
	} else {
		tpkt_ipv6_frag(p, TPKT_IP_UDP, 24, false, id);
		tpkt_fill(p, 0x22, 24);
		tpkt_finish(p);
	}
}

Test(decode, ipv6_later_fragment_borrows_the_ports_of_its_first)
{
	struct tpkt p;
	struct pkt_meta m;
	build_frag6(&p, IP6_A, 0xdeadbeef, true);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert(m.is_fragment);
	cr_assert(m.has_ports);
	cr_assert_eq(m.proto, TPKT_IP_UDP);
	cr_assert_eq(m.sport, 6001);
	cr_assert_eq(m.dport, 7001);
	assert_payload(&p, &m, 14 + 40 + 8 + 8, 16);

	build_frag6(&p, IP6_A, 0xdeadbeef, false);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert(m.is_fragment);
	cr_assert(m.has_ports);
	cr_assert_eq(m.sport, 6001);
	cr_assert_eq(m.dport, 7001);
	assert_payload(&p, &m, 14 + 40 + 8, 24);
	cr_assert_eq(dec_stats(dec)->fragments, 2);
	cr_assert_eq(dec_stats(dec)->fragments_unattributed, 0);
}

Test(decode, ipv6_later_fragment_without_its_first_is_unattributed)
{
	struct tpkt p;
	struct pkt_meta m;
	build_frag6(&p, IP6_C, 1, true);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	build_frag6(&p, IP6_A, 1, false);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert(m.is_fragment);
	cr_assert_not(m.has_ports);
	cr_assert_eq(dec_stats(dec)->fragments_unattributed, 1);
}

Test(decode, ipv6_atomic_fragment_decodes_its_transport_header)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_ipv6(&p, IP6_A, IP6_B, TPKT_IP_FRAGMENT);
	tpkt_ipv6_frag(&p, TPKT_IP_TCP, 0, false, 5);
	tpkt_tcp(&p, 1024, 22, TCP_SYN, 0);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_IPV6, &m), DEC_OK);
	cr_assert(m.is_fragment);
	cr_assert_eq(m.proto, TPKT_IP_TCP);
	cr_assert_eq(m.dport, 22);
	cr_assert_eq(m.tcp_flags, TCP_SYN);
}

/*
 * RFC 8200 4.5: every fragment's Fragment header names the first header of
 * the fragmentable part, which may be a Destination Options header. In a
 * later fragment the bytes after the Fragment header are datagram data, not
 * that header, and must not be parsed as one.
 */
Test(decode, ipv6_later_fragment_data_is_not_parsed_as_extension_headers)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_IPV6);
	tpkt_ipv6(&p, IP6_A, IP6_B, TPKT_IP_FRAGMENT);
	tpkt_ipv6_frag(&p, TPKT_IP_DSTOPTS, 32, false, 99);
	/* Data that, read as a header, claims (255 + 1) * 8 bytes. */
	static const uint8_t data[8] = {TPKT_IP_UDP, 0xff, 0, 0, 0, 0, 0, 0};
	tpkt_bytes(&p, data, sizeof(data));
	tpkt_fill(&p, 0x33, 16);
	tpkt_finish(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	cr_assert(m.is_fragment);
	cr_assert_eq(m.l3, DEC_L3_IPV6);
	cr_assert_eq(dec_malformed_total(dec), 0);
}

/* ------------------------------------------------------------------------ */
/* Invalid fields                                                           */
/* ------------------------------------------------------------------------ */

static void expect_invalid(const struct tpkt *p, int linktype, enum dec_result want)
{
	struct pkt_meta m;
	enum dec_result r = decode(p, linktype, &m);
	ASSERT_RESULT(r, want);
	cr_assert_not(dec_result_is_truncation(r), "%s", dec_result_name(r));
	cr_assert_eq(dec_stats(dec)->by_result[want], 1);
	cr_assert_eq(dec_malformed_total(dec), 1);
}

Test(decode, ipv4_version_5_in_ipv4_ethertype_is_ipv4_bad_version)
{
	struct tpkt p;
	build_eth_udp4(&p, 4);
	tpkt_put8(&p, 14, 0x55);
	expect_invalid(&p, DLT_EN10MB, DEC_IPV4_BAD_VERSION);
}

Test(decode, ipv4_header_length_4_is_ipv4_bad_header_len)
{
	struct tpkt p;
	build_eth_udp4(&p, 4);
	tpkt_put8(&p, 14, 0x44);
	expect_invalid(&p, DLT_EN10MB, DEC_IPV4_BAD_HEADER_LEN);
}

Test(decode, ipv4_total_length_below_header_is_ipv4_bad_total_len)
{
	struct tpkt p;
	build_eth_udp4(&p, 4);
	tpkt_put16(&p, 14 + 2, 19);
	expect_invalid(&p, DLT_EN10MB, DEC_IPV4_BAD_TOTAL_LEN);
}

Test(decode, ipv4_total_length_below_header_with_options_is_ipv4_bad_total_len)
{
	struct tpkt p;
	tpkt_init(&p);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_UDP);
	h.opt_len = 8;
	tpkt_ipv4(&p, &h);
	tpkt_udp(&p, 1, 2);
	tpkt_finish(&p);
	tpkt_put16(&p, 2, 24); /* more than 20, less than the 28-byte header */
	expect_invalid(&p, DLT_RAW, DEC_IPV4_BAD_TOTAL_LEN);
}

Test(decode, tcp_data_offset_4_is_tcp_bad_header_len)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_TCP);
	tpkt_ipv4(&p, &h);
	size_t tcp = tpkt_tcp(&p, 1, 2, TCP_SYN, 0);
	tpkt_fill(&p, 0, 8);
	tpkt_finish(&p);
	tpkt_put8(&p, tcp + 12, 0x40);
	expect_invalid(&p, DLT_EN10MB, DEC_TCP_BAD_HEADER_LEN);
}

Test(decode, tcp_data_offset_past_the_ip_payload_is_tcp_bad_header_len)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_ipv6(&p, IP6_A, IP6_B, TPKT_IP_TCP);
	size_t tcp = tpkt_tcp(&p, 1, 2, TCP_SYN, 8);
	tpkt_finish(&p);
	tpkt_put8(&p, tcp + 12, 0xf0); /* 60 bytes, in a 28-byte payload */
	expect_invalid(&p, DLT_RAW, DEC_TCP_BAD_HEADER_LEN);
}

Test(decode, udp_length_7_is_udp_bad_len)
{
	struct tpkt p;
	build_eth_udp4(&p, 4);
	tpkt_put16(&p, 14 + 20 + 4, 7);
	expect_invalid(&p, DLT_EN10MB, DEC_UDP_BAD_LEN);
}

Test(decode, udp_length_beyond_the_ip_payload_is_udp_bad_len)
{
	struct tpkt p;
	build_eth_udp4(&p, 4);
	tpkt_put16(&p, 14 + 20 + 4, 8 + 4 + 1);
	expect_invalid(&p, DLT_EN10MB, DEC_UDP_BAD_LEN);
}

Test(decode, udp_length_beyond_the_ipv6_payload_is_udp_bad_len)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_ipv6(&p, IP6_A, IP6_B, TPKT_IP_HOPOPTS);
	tpkt_ipv6_ext(&p, TPKT_IP_HOPOPTS, TPKT_IP_UDP, 8);
	size_t udp = tpkt_udp(&p, 1, 2);
	tpkt_fill(&p, 0, 4);
	tpkt_finish(&p);
	/* 12 is what follows the UDP header's start, but the hop-by-hop header
	 * counts against the payload length too. */
	cr_assert_eq(p.b[udp + 5], 12);
	tpkt_put16(&p, udp + 4, 13);
	expect_invalid(&p, DLT_RAW, DEC_UDP_BAD_LEN);
}

Test(decode, ipv6_version_4_is_ipv6_bad_version)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, MAC_B, MAC_A, TPKT_ETH_IPV6);
	tpkt_ipv6(&p, IP6_A, IP6_B, TPKT_IP_UDP);
	tpkt_udp(&p, 1, 2);
	tpkt_finish(&p);
	tpkt_put8(&p, 14, 0x40);
	expect_invalid(&p, DLT_EN10MB, DEC_IPV6_BAD_VERSION);
}

/* ------------------------------------------------------------------------ */
/* Every truncation point                                                   */
/* ------------------------------------------------------------------------ */

/* One expectation per cut of a packet: the result, and for DEC_OK how many
 * payload bytes remain. */
struct cut_want {
	enum dec_result r;
	size_t payload_off, payload_len;
};

/*
 * Decodes p cut at every caplen 0..len, with wirelen == caplen (damage) or
 * wirelen == len (snaplen), and checks each against want(). payload_cut must
 * grow exactly when the IP header is whole and the frame was damaged.
 */
static void every_cut(const struct tpkt *p, int linktype, bool snap, size_t ip_end,
		      struct cut_want (*want)(size_t cut, bool snap))
{
	uint64_t packets = dec_stats(dec)->packets;
	for (size_t cut = 0; cut <= p->len; cut++) {
		struct pkt_meta m;
		uint64_t before = dec_stats(dec)->payload_cut;
		struct cut_want w = want(cut, snap);
		enum dec_result r = decode_cut(p, linktype, cut, snap ? p->len : cut, &m);
		cr_assert_eq(r, w.r, "%s cut at %zu of %zu: %s, want %s", snap ? "snaplen" : "damage", cut, p->len,
			     dec_result_name(r), dec_result_name(w.r));
		cr_assert_eq(dec_result_is_truncation(r), r != DEC_OK, "cut at %zu", cut);
		if (r == DEC_OK) {
			cr_assert(m.has_ports, "cut at %zu", cut);
			cr_assert_eq(m.payload_len, w.payload_len, "cut at %zu: payload_len %u, want %zu", cut,
				     m.payload_len, w.payload_len);
			if (w.payload_len > 0)
				cr_assert_eq(m.payload, p->b + w.payload_off, "cut at %zu", cut);
		}
		uint64_t grew = dec_stats(dec)->payload_cut - before;
		uint64_t want_grew = !snap && cut < p->len && cut >= ip_end;
		cr_assert_eq(grew, want_grew, "%s cut at %zu: payload_cut grew by %lu, want %lu",
			     snap ? "snaplen" : "damage", cut, (unsigned long)grew, (unsigned long)want_grew);
	}
	cr_assert_eq(dec_stats(dec)->packets - packets, (uint64_t)(p->len + 1));
}

/* Ethernet (14) + IPv4 with 8 option bytes (28) + TCP with 12 option bytes (32)
 * + 10 payload bytes. */
#define T4_IP 14
#define T4_TCP (T4_IP + 28)
#define T4_PAY (T4_TCP + 32)
#define T4_LEN (T4_PAY + 10)

static void build_tcp4_cut(struct tpkt *p)
{
	tpkt_init(p);
	tpkt_eth(p, MAC_B, MAC_A, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = ip4(IP_A, IP_B, TPKT_IP_TCP);
	h.opt_len = 8;
	tpkt_ipv4(p, &h);
	tpkt_tcp(p, 1000, 2000, TCP_PSH | TCP_ACK, 12);
	tpkt_fill(p, 0xee, 10);
	tpkt_finish(p);
	cr_assert_eq(p->len, T4_LEN);
}

static struct cut_want tcp4_want(size_t cut, bool snap)
{
	if (cut < T4_IP)
		return (struct cut_want){DEC_ETH_TRUNCATED, 0, 0};
	if (cut < T4_TCP)
		return (struct cut_want){DEC_IPV4_TRUNCATED, 0, 0};
	if (cut < T4_TCP + 20)
		return (struct cut_want){DEC_TCP_TRUNCATED, 0, 0};
	if (cut < T4_PAY)
		return snap ? (struct cut_want){DEC_OK, 0, 0} : (struct cut_want){DEC_TCP_TRUNCATED, 0, 0};
	return (struct cut_want){DEC_OK, T4_PAY, cut - T4_PAY};
}

Test(decode, every_damage_cut_of_ipv4_tcp_gives_the_exact_reason)
{
	struct tpkt p;
	build_tcp4_cut(&p);
	every_cut(&p, DLT_EN10MB, false, T4_TCP, tcp4_want);
	/* Every cut but the whole packet failed or was cut: one per byte. */
	const struct dec_stats *s = dec_stats(dec);
	cr_assert_eq(s->by_result[DEC_ETH_TRUNCATED], 14);
	cr_assert_eq(s->by_result[DEC_IPV4_TRUNCATED], 28);
	cr_assert_eq(s->by_result[DEC_TCP_TRUNCATED], 32);
	cr_assert_eq(s->by_result[DEC_OK], 11);
	cr_assert_eq(s->payload_cut, 32 + 10);
	cr_assert_eq(dec_malformed_total(dec), 14 + 28 + 32);
}

Test(decode, every_snaplen_cut_of_ipv4_tcp_gives_the_exact_reason)
{
	struct tpkt p;
	build_tcp4_cut(&p);
	every_cut(&p, DLT_EN10MB, true, T4_TCP, tcp4_want);
	cr_assert_eq(dec_stats(dec)->payload_cut, 0);
}

Test(decode, tcp_options_cut_by_snaplen_give_ports_and_no_payload)
{
	struct tpkt p;
	build_tcp4_cut(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode_cut(&p, DLT_EN10MB, T4_TCP + 24, T4_LEN, &m), DEC_OK);
	cr_assert(m.has_ports);
	cr_assert_eq(m.sport, 1000);
	cr_assert_eq(m.dport, 2000);
	cr_assert_eq(m.tcp_flags, TCP_PSH | TCP_ACK);
	cr_assert_eq(m.tcp_opt_len, 12);
	cr_assert_null(m.payload);
	cr_assert_eq(m.payload_len, 0);
	cr_assert_eq(m.caplen, T4_TCP + 24);
	cr_assert_eq(m.wirelen, T4_LEN);
}

Test(decode, a_cut_keeps_what_was_decoded_before_the_fault)
{
	struct tpkt p;
	build_tcp4_cut(&p);
	struct pkt_meta m;
	ASSERT_RESULT(decode_cut(&p, DLT_EN10MB, T4_TCP + 4, T4_TCP + 4, &m), DEC_TCP_TRUNCATED);
	cr_assert(m.has_src_mac);
	cr_assert_eq(m.l3, DEC_L3_IPV4);
	assert_v4(&m.src, IP_A, "src");
	assert_v4(&m.dst, IP_B, "dst");
	cr_assert_eq(m.proto, TPKT_IP_TCP);
	cr_assert_not(m.has_ports);
	ASSERT_RESULT(decode_cut(&p, DLT_EN10MB, T4_IP + 10, T4_IP + 10, &m), DEC_IPV4_TRUNCATED);
	cr_assert(m.has_dst_mac);
	cr_assert_arr_eq(m.dst_mac, MAC_B, 6);
}

/* Ethernet (14) + IPv6 (40) + hop-by-hop (8) + destination options (16) +
 * TCP with 8 option bytes (28) + 6 payload bytes. */
#define T6_IP 14
#define T6_EXT (T6_IP + 40)
#define T6_TCP (T6_EXT + 8 + 16)
#define T6_PAY (T6_TCP + 28)
#define T6_LEN (T6_PAY + 6)

static void build_tcp6_cut(struct tpkt *p)
{
	tpkt_init(p);
	tpkt_eth(p, MAC_B, MAC_A, TPKT_ETH_IPV6);
	tpkt_ipv6(p, IP6_A, IP6_B, TPKT_IP_HOPOPTS);
	tpkt_ipv6_ext(p, TPKT_IP_HOPOPTS, TPKT_IP_DSTOPTS, 8);
	tpkt_ipv6_ext(p, TPKT_IP_DSTOPTS, TPKT_IP_TCP, 16);
	tpkt_tcp(p, 3000, 4000, TCP_ACK, 8);
	tpkt_fill(p, 0xdd, 6);
	tpkt_finish(p);
	cr_assert_eq(p->len, T6_LEN);
}

static struct cut_want tcp6_want(size_t cut, bool snap)
{
	if (cut < T6_IP)
		return (struct cut_want){DEC_ETH_TRUNCATED, 0, 0};
	if (cut < T6_EXT)
		return (struct cut_want){DEC_IPV6_TRUNCATED, 0, 0};
	if (cut < T6_TCP)
		return (struct cut_want){DEC_IPV6_EXT_TRUNCATED, 0, 0};
	if (cut < T6_TCP + 20)
		return (struct cut_want){DEC_TCP_TRUNCATED, 0, 0};
	if (cut < T6_PAY)
		return snap ? (struct cut_want){DEC_OK, 0, 0} : (struct cut_want){DEC_TCP_TRUNCATED, 0, 0};
	return (struct cut_want){DEC_OK, T6_PAY, cut - T6_PAY};
}

Test(decode, every_damage_cut_of_ipv6_ext_tcp_gives_the_exact_reason)
{
	struct tpkt p;
	build_tcp6_cut(&p);
	every_cut(&p, DLT_EN10MB, false, T6_EXT, tcp6_want);
	const struct dec_stats *s = dec_stats(dec);
	cr_assert_eq(s->by_result[DEC_IPV6_TRUNCATED], 40);
	cr_assert_eq(s->by_result[DEC_IPV6_EXT_TRUNCATED], 24);
	cr_assert_eq(s->by_result[DEC_TCP_TRUNCATED], 28);
	cr_assert_eq(s->by_result[DEC_OK], 7);
}

Test(decode, every_snaplen_cut_of_ipv6_ext_tcp_gives_the_exact_reason)
{
	struct tpkt p;
	build_tcp6_cut(&p);
	every_cut(&p, DLT_EN10MB, true, T6_EXT, tcp6_want);
	cr_assert_eq(dec_stats(dec)->payload_cut, 0);
}

/* Ethernet (14) + IPv4 (20) + UDP (8) + 12 payload bytes. */
#define U4_IP 14
#define U4_UDP (U4_IP + 20)
#define U4_PAY (U4_UDP + 8)

static struct cut_want udp4_want(size_t cut, bool snap)
{
	(void)snap;
	if (cut < U4_IP)
		return (struct cut_want){DEC_ETH_TRUNCATED, 0, 0};
	if (cut < U4_UDP)
		return (struct cut_want){DEC_IPV4_TRUNCATED, 0, 0};
	if (cut < U4_PAY)
		return (struct cut_want){DEC_UDP_TRUNCATED, 0, 0};
	return (struct cut_want){DEC_OK, U4_PAY, cut - U4_PAY};
}

Test(decode, every_cut_of_ipv4_udp_gives_the_exact_reason)
{
	struct tpkt p;
	build_eth_udp4(&p, 12);
	every_cut(&p, DLT_EN10MB, false, U4_UDP, udp4_want);
	every_cut(&p, DLT_EN10MB, true, U4_UDP, udp4_want);
	const struct dec_stats *s = dec_stats(dec);
	cr_assert_eq(s->by_result[DEC_UDP_TRUNCATED], 2 * 8);
	cr_assert_eq(s->payload_cut, 8 + 12);
}

/* ------------------------------------------------------------------------ */
/* Counters and names                                                       */
/* ------------------------------------------------------------------------ */

Test(decode, stats_count_packets_by_result)
{
	struct tpkt p;
	struct pkt_meta m;
	build_eth_udp4(&p, 4);
	for (int i = 0; i < 3; i++)
		ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OK);
	ASSERT_RESULT(decode_cut(&p, DLT_EN10MB, 5, 5, &m), DEC_ETH_TRUNCATED);
	ASSERT_RESULT(decode_cut(&p, DLT_EN10MB, 20, 20, &m), DEC_IPV4_TRUNCATED);
	ASSERT_RESULT(decode(&p, DLT_PPP, &m), DEC_LINKTYPE_UNSUPPORTED);
	tpkt_put16(&p, 12, TPKT_ETH_LLDP);
	ASSERT_RESULT(decode(&p, DLT_EN10MB, &m), DEC_OTHER);

	const struct dec_stats *s = dec_stats(dec);
	cr_assert_eq(s->packets, 7);
	cr_assert_eq(s->by_result[DEC_OK], 3);
	cr_assert_eq(s->by_result[DEC_OTHER], 1);
	cr_assert_eq(s->by_result[DEC_ETH_TRUNCATED], 1);
	cr_assert_eq(s->by_result[DEC_IPV4_TRUNCATED], 1);
	cr_assert_eq(s->by_result[DEC_LINKTYPE_UNSUPPORTED], 1);
	uint64_t sum = 0;
	for (int r = 0; r < DEC_RESULT_COUNT; r++)
		sum += s->by_result[r];
	cr_assert_eq(sum, s->packets);
	/* Malformed: every reason, not OK and not OTHER. */
	cr_assert_eq(dec_malformed_total(dec), 3);
	cr_assert_eq(s->fragments, 0);
	cr_assert_eq(s->payload_cut, 0);
}

Test(decode, a_new_decoder_has_zero_counters)
{
	const struct dec_stats *s = dec_stats(dec);
	cr_assert_eq(s->packets, 0);
	for (int r = 0; r < DEC_RESULT_COUNT; r++)
		cr_assert_eq(s->by_result[r], 0);
	cr_assert_eq(dec_malformed_total(dec), 0);
}

Test(decode, every_result_has_a_unique_non_empty_name)
{
	cr_assert_str_eq(dec_result_name(DEC_OK), "ok");
	cr_assert_str_eq(dec_result_name(DEC_OTHER), "other");
	for (int a = 0; a < DEC_RESULT_COUNT; a++) {
		const char *na = dec_result_name((enum dec_result)a);
		cr_assert_not_null(na);
		cr_assert_gt(strlen(na), 0, "result %d", a);
		cr_assert_str_neq(na, "unknown", "result %d", a);
		for (int b = 0; b < a; b++)
			cr_assert_str_neq(na, dec_result_name((enum dec_result)b), "results %d and %d", a, b);
	}
	cr_assert_str_eq(dec_result_name(DEC_RESULT_COUNT), "unknown");
	cr_assert_str_eq(dec_result_name(DEC_IPV6_EXT_TOO_MANY), "ipv6_ext_too_many");
	cr_assert_str_eq(dec_result_name(DEC_NULL_TRUNCATED), "loopback_truncated");
}

Test(decode, truncation_kind_is_exactly_the_truncated_names)
{
	static const char suffix[] = "_truncated";
	size_t ls = strlen(suffix);
	for (int r = 0; r < DEC_RESULT_COUNT; r++) {
		const char *n = dec_result_name((enum dec_result)r);
		size_t l = strlen(n);
		bool named = l > ls && strcmp(n + l - ls, suffix) == 0;
		cr_assert_eq(dec_result_is_truncation((enum dec_result)r), named, "%s", n);
	}
	cr_assert_not(dec_result_is_truncation(DEC_RESULT_COUNT));
}

/* ------------------------------------------------------------------------ */
/* Random input                                                             */
/* ------------------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ z >> 27) * 0x94d049bb133111ebull;
	return z ^ z >> 31;
}

/* A random byte, or often a value that sits on a length or version boundary. */
static uint8_t fuzz_byte(void)
{
	static const uint8_t edge[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0f, 0x10, 0x14, 0x28,
				       0x40, 0x44, 0x45, 0x4f, 0x50, 0x60, 0x7f, 0x80, 0xf0, 0xfe, 0xff};
	uint64_t v = rng();
	if (v & 1)
		return (uint8_t)(v >> 8);
	return edge[(v >> 8) % sizeof(edge)];
}

#define FUZZ_BUFFERS 100000
#define FUZZ_MAX 200

static const int fuzz_linktypes[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
				     DLT_IPV4,   DLT_IPV6,      DLT_NULL,       DLT_LOOP};
#define N_FUZZ_LT (sizeof(fuzz_linktypes) / sizeof(fuzz_linktypes[0]))

/* Valid packets to mutate, so that random damage reaches the deep layers. */
static size_t fuzz_templates(struct tpkt *t, size_t max)
{
	size_t n = 0;
	static const uint8_t zero[6];
	cr_assert_geq(max, 13);
	build_tcp4_cut(&t[n++]);
	build_tcp6_cut(&t[n++]);
	build_eth_udp4(&t[n++], 20);
	build_frag4(&t[n++], IP_A, 1, true);
	build_frag4(&t[n++], IP_A, 1, false);
	build_frag6(&t[n++], IP6_A, 1, true);
	build_frag6(&t[n++], IP6_A, 1, false);
	build_ipv6_ext_chain(&t[n++], 9);

	struct tpkt *p = &t[n++];
	tpkt_init(p);
	tpkt_eth(p, MAC_B, MAC_A, TPKT_ETH_8021AD);
	tpkt_vlan(p, 1, TPKT_ETH_8021Q);
	tpkt_vlan(p, 2, TPKT_ETH_ARP);
	tpkt_arp(p, 1, MAC_A, IP_A, zero, IP_B);
	tpkt_finish(p);

	p = &t[n++];
	tpkt_init(p);
	tpkt_sll2(p, MAC_A, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = ip4(IP_B, IP_A, TPKT_IP_ICMP);
	tpkt_ipv4(p, &h);
	tpkt_icmp(p, 3, 3, 0);
	h = ip4(IP_A, IP_B, TPKT_IP_UDP);
	h.opt_len = 12;
	tpkt_ipv4(p, &h);
	tpkt_udp(p, 1, 2);
	tpkt_finish(p);

	p = &t[n++];
	tpkt_init(p);
	tpkt_sll(p, MAC_A, TPKT_ETH_IPV6);
	tpkt_ipv6(p, IP6_B, IP6_A, TPKT_IP_ICMPV6);
	tpkt_icmp(p, 1, 4, 0);
	tpkt_ipv6(p, IP6_A, IP6_C, TPKT_IP_TCP);
	tpkt_tcp(p, 1, 2, TCP_SYN, 0);
	tpkt_finish(p);

	build_null(&t[n++], 24, false, true);
	return n;
}

/* Frees the buffer before failing, so that LeakSanitizer reports the bug only. */
#define FUZZ_CHECK(cond, ...)                        \
	do {                                         \
		if (!(cond)) {                       \
			free(buf);                   \
			cr_assert_fail(__VA_ARGS__); \
		}                                    \
	} while (0)

Test(decode, random_buffers_on_every_linktype_stay_in_bounds, .timeout = 60)
{
	static struct tpkt templates[16];
	size_t n_templates = fuzz_templates(templates, 16);
	uint64_t decodes = 0;
	rng_state = 20260101;

	for (int i = 0; i < FUZZ_BUFFERS; i++) {
		size_t len = (size_t)(rng() % (FUZZ_MAX + 1));
		/* Exactly len bytes on the heap, so that ASan sees a read past them. */
		uint8_t *buf = malloc(len ? len : 1);
		cr_assert_not_null(buf);
		if (i % 2 == 0) {
			for (size_t k = 0; k < len; k++)
				buf[k] = (uint8_t)rng();
		} else {
			const struct tpkt *t = &templates[rng() % n_templates];
			size_t n = len < t->len ? len : t->len;
			memcpy(buf, t->b, n);
			for (size_t k = n; k < len; k++)
				buf[k] = (uint8_t)rng();
			int flips = (int)(rng() % 4);
			for (int k = 0; k < flips && len > 0; k++)
				buf[rng() % len] = fuzz_byte();
		}
		uint32_t wirelen = (uint32_t)len + (rng() % 3 == 0 ? (uint32_t)(rng() % 1500) : 0);

		for (size_t l = 0; l < N_FUZZ_LT; l++) {
			struct pkt_meta m;
			enum dec_result r = dec_packet(dec, fuzz_linktypes[l], buf, (uint32_t)len, wirelen, 0, &m);
			decodes++;
			FUZZ_CHECK((unsigned)r < DEC_RESULT_COUNT, "buffer %d linktype %d: result %d", i,
				   fuzz_linktypes[l], (int)r);
			if (m.payload) {
				FUZZ_CHECK(m.payload >= buf && m.payload <= buf + len,
					   "buffer %d linktype %d: payload outside the buffer", i, fuzz_linktypes[l]);
				FUZZ_CHECK(m.payload_len <= (size_t)(buf + len - m.payload),
					   "buffer %d linktype %d: payload_len %u past the end", i, fuzz_linktypes[l],
					   m.payload_len);
			} else {
				FUZZ_CHECK(m.payload_len == 0, "buffer %d: payload_len without payload", i);
			}
			FUZZ_CHECK(m.n_vlan <= DEC_MAX_VLAN, "buffer %d: n_vlan %u", i, m.n_vlan);
			FUZZ_CHECK(m.caplen == len, "buffer %d: caplen", i);
			FUZZ_CHECK(r != DEC_OK || m.l3 != DEC_L3_NONE, "buffer %d linktype %d: OK without l3", i,
				   fuzz_linktypes[l]);
			FUZZ_CHECK(!m.has_inner || m.has_ports, "buffer %d: inner without ports", i);
		}
		free(buf);
	}

	const struct dec_stats *s = dec_stats(dec);
	cr_assert_eq(s->packets, decodes);
	uint64_t sum = 0;
	for (int r = 0; r < DEC_RESULT_COUNT; r++)
		sum += s->by_result[r];
	cr_assert_eq(sum, decodes);
	/* The templates reach past the link layers. */
	cr_assert_gt(s->by_result[DEC_OK], 0);
	cr_assert_gt(s->by_result[DEC_TCP_TRUNCATED], 0);
	cr_assert_gt(s->fragments, 0);
}
