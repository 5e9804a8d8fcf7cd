/*
 * Tests for features/lan.c: which addresses are local with the default home
 * networks, and learning on-link IPv6 prefixes from Router Advertisements
 * (RFC 4861) — only from valid RAs and only prefixes of /48 to /64.
 *
 * Most RAs are built as a struct pkt_meta whose payload is the RA body after
 * the 4-byte ICMPv6 header, as the decoder leaves it; one goes through the
 * decoder from Ethernet bytes to check that the two agree.
 */
#include "features/lan.h"

#include <criterion/criterion.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <string.h>

#include "features/decode.h"

static struct ip_addr addr(const char *s)
{
	struct ip_addr ip;
	cr_assert_eq(ip_parse(s, &ip), 0, "ip_parse('%s') failed", s);
	return ip;
}

/* The defaults of cli/config.c. */
static const char *const default_nets[] = {
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
	"169.254.0.0/16", "fc00::/7", "fe80::/10",
};
#define N_DEFAULT_NETS (sizeof(default_nets) / sizeof(default_nets[0]))

static struct lan *lan_with(const char *const *nets, size_t n, bool learn)
{
	struct ip_prefix p[LAN_MAX_LEARNED * 8];
	cr_assert_leq(n, sizeof(p) / sizeof(p[0]));
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ip_prefix_parse(nets[i], &p[i]), 0, "%s", nets[i]);
	struct lan *l = lan_new(p, n, learn);
	cr_assert_not_null(l);
	return l;
}

static struct lan *default_lan(void)
{
	return lan_with(default_nets, N_DEFAULT_NETS, true);
}

static bool local(const struct lan *l, const char *ip)
{
	struct ip_addr a = addr(ip);
	return lan_is_local(l, &a);
}

/* ---- Router Advertisement builder ---- */

struct ra {
	uint8_t body[512];
	size_t len;
	struct pkt_meta m;
};

static void put(struct ra *r, const void *p, size_t n)
{
	cr_assert_leq(r->len + n, sizeof(r->body));
	memcpy(r->body + r->len, p, n);
	r->len += n;
}

static void put32(struct ra *r, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	put(r, b, 4);
}

/* A valid RA from fe80::1 to ff02::1 with hop limit 255 and no options. */
static void ra_init(struct ra *r)
{
	/* hop limit 64, no M/O flags, router lifetime 1800, reachable 0, retrans 0 */
	static const uint8_t fixed[12] = {64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0};
	memset(r, 0, sizeof(*r));
	put(r, fixed, sizeof(fixed));
	r->m.l3 = DEC_L3_IPV6;
	r->m.proto = 58;
	r->m.ttl = 255;
	r->m.icmp_type = 134;
	r->m.icmp_code = 0;
	r->m.src = addr("fe80::1");
	r->m.dst = addr("ff02::1");
	r->m.has_ports = true;
	r->m.sport = 134 << 8;
}

#define PI_L 0x80
#define PI_A 0x40

/* A Prefix Information option (RFC 4861 4.6.2). */
static void ra_prefix(struct ra *r, const char *prefix, uint8_t plen, uint8_t flags, uint32_t valid)
{
	uint8_t head[4] = {3, 4, plen, flags};
	struct ip_addr p = addr(prefix);
	put(r, head, sizeof(head));
	put32(r, valid);
	put32(r, valid / 2); /* preferred */
	put32(r, 0);         /* reserved */
	put(r, p.b, 16);
}

/* Any option: type, length in 8-byte units, and zero body. */
static void ra_option(struct ra *r, uint8_t type, uint8_t units, size_t body_len)
{
	uint8_t head[2] = {type, units};
	uint8_t zero[64] = {0};
	put(r, head, 2);
	cr_assert_leq(body_len, sizeof(zero));
	put(r, zero, body_len);
}

static const struct pkt_meta *ra_meta(struct ra *r)
{
	r->m.payload = r->body;
	r->m.payload_len = (uint32_t)r->len;
	return &r->m;
}

static struct lan *learned_lan;

static void fini(void)
{
	lan_free(learned_lan);
	learned_lan = NULL;
}

TestSuite(lan, .fini = fini);

/* Replaces learned_lan by a default LAN that saw one RA of prefix/plen with
 * these flags and valid lifetime; returns what lan_learn_ra returned. */
static int learn(const char *prefix, uint8_t plen, uint8_t flags, uint32_t valid)
{
	struct ra r;
	ra_init(&r);
	ra_prefix(&r, prefix, plen, flags, valid);
	lan_free(learned_lan);
	learned_lan = default_lan();
	return lan_learn_ra(learned_lan, ra_meta(&r));
}

/* ---- configured networks ---- */

Test(lan, default_nets_make_private_addresses_local)
{
	struct lan *l = default_lan();
	static const char *const yes[] = {"192.168.1.5", "10.20.30.40", "172.16.0.1", "172.31.255.254",
					  "100.64.0.1", "169.254.10.10", "fe80::1", "fd12:3456::1"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_expect(local(l, yes[i]), "%s should be local", yes[i]);
	lan_free(l);
}

Test(lan, multicast_broadcast_and_unspecified_addresses_are_local)
{
	struct lan *l = default_lan();
	static const char *const yes[] = {"224.0.0.251", "239.255.255.250", "255.255.255.255", "0.0.0.0",
					  "ff02::fb", "ff02::1:2", "::"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_expect(local(l, yes[i]), "%s should be local", yes[i]);
	lan_free(l);
}

Test(lan, internet_addresses_are_not_local)
{
	struct lan *l = default_lan();
	static const char *const no[] = {"8.8.8.8", "2001:db8::1", "172.32.0.1", "192.169.0.1", "11.0.0.1",
					 "100.128.0.1", "2606:4700::1111", "fec0::1"};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_expect_not(local(l, no[i]), "%s should not be local", no[i]);
	lan_free(l);
}

Test(lan, with_no_nets_only_addresses_that_never_leave_the_lan_are_local)
{
	struct lan *l = lan_new(NULL, 0, false);
	cr_assert_not_null(l);
	cr_assert_not(local(l, "192.168.1.5"));
	cr_assert_not(local(l, "fe80::1"));
	cr_assert(local(l, "224.0.0.251"));
	cr_assert(local(l, "ff02::1"));
	cr_assert(local(l, "255.255.255.255"));
	cr_assert(local(l, "0.0.0.0"));
	lan_free(l);
}

Test(lan, only_the_configured_nets_are_local)
{
	static const char *const nets[] = {"10.0.0.0/8"};
	struct lan *l = lan_with(nets, 1, false);
	cr_assert(local(l, "10.1.2.3"));
	cr_assert_not(local(l, "192.168.1.5"));
	cr_assert_not(local(l, "fe80::1"));
	lan_free(l);
}

Test(lan, an_ipv4_net_does_not_make_ipv6_addresses_local)
{
	static const char *const nets[] = {"0.0.0.0/0"};
	struct lan *l = lan_with(nets, 1, false);
	cr_assert(local(l, "8.8.8.8"));
	cr_assert_not(local(l, "2001:db8::1"));
	cr_assert_not(local(l, "::ffff:0:808:808")); /* IPv4-translated, not v4-mapped */
	lan_free(l);
}

Test(lan, at_most_64_nets_are_accepted)
{
	struct ip_prefix p[65];
	for (size_t i = 0; i < 65; i++) {
		uint8_t v4[4] = {10, (uint8_t)i, 0, 0};
		ip_from_v4(&p[i].addr, v4);
		p[i].len = 16;
	}
	cr_assert_null(lan_new(p, 65, false));
	struct lan *l = lan_new(p, 64, false);
	cr_assert_not_null(l);
	cr_assert(local(l, "10.63.1.1"));
	cr_assert_not(local(l, "10.64.1.1"));
	lan_free(l);
}

/* ---- Router Advertisements ---- */


Test(lan, a_valid_ra_makes_addresses_in_its_prefix_local)
{
	cr_assert_eq(learn("2001:db8:1:2::", 64, PI_L | PI_A, 86400), 1);
	cr_assert(local(learned_lan, "2001:db8:1:2::99"));
	cr_assert(local(learned_lan, "2001:db8:1:2:ffff:ffff:ffff:ffff"));
	cr_assert_not(local(learned_lan, "2001:db8:1:3::1"));
	cr_assert_not(local(learned_lan, "2001:db8::1"));
}

Test(lan, before_any_ra_a_global_ipv6_address_is_not_local)
{
	struct lan *l = default_lan();
	cr_assert_not(local(l, "2001:db8:1:2::99"));
	cr_assert_eq(lan_learned(l, NULL, 0), 0);
	lan_free(l);
}

Test(lan, a_learned_prefix_is_listed_with_its_host_bits_cleared)
{
	struct ip_prefix out[LAN_MAX_LEARNED];
	char buf[IP_PREFIX_STRLEN];
	cr_assert_eq(learn("2001:db8:0:1f:1:2:3:4", 60, PI_L, 3600), 1);
	cr_assert_eq(lan_learned(learned_lan, out, LAN_MAX_LEARNED), 1);
	cr_assert_str_eq(ip_prefix_format(&out[0], buf, sizeof(buf)), "2001:db8:0:10::/60");
	cr_assert(local(learned_lan, "2001:db8:0:1f::1"));
	cr_assert_not(local(learned_lan, "2001:db8:0:20::1"));
}

Test(lan, a_slash_48_prefix_is_learned)
{
	cr_assert_eq(learn("2001:db8:aa::", 48, PI_L, 3600), 1);
	cr_assert(local(learned_lan, "2001:db8:aa:ffff::1"));
}

Test(lan, an_ra_with_hop_limit_below_255_is_ignored)
{
	struct ra r;
	ra_init(&r);
	ra_prefix(&r, "2001:db8:1:2::", 64, PI_L, 3600);
	r.m.ttl = 254;
	struct lan *l = default_lan();
	cr_assert_eq(lan_learn_ra(l, ra_meta(&r)), 0);
	cr_assert_not(local(l, "2001:db8:1:2::99"));
	lan_free(l);
}

Test(lan, an_ra_from_a_global_source_is_ignored)
{
	static const char *const sources[] = {"2001:db8::1", "fd00::1", "::", "10.0.0.1"};
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		struct ra r;
		ra_init(&r);
		ra_prefix(&r, "2001:db8:1:2::", 64, PI_L, 3600);
		r.m.src = addr(sources[i]);
		struct lan *l = default_lan();
		cr_expect_eq(lan_learn_ra(l, ra_meta(&r)), 0, "source %s", sources[i]);
		cr_expect_not(local(l, "2001:db8:1:2::99"), "source %s", sources[i]);
		lan_free(l);
	}
}

Test(lan, a_slash_32_prefix_is_ignored)
{
	cr_assert_eq(learn("2001:db8::", 32, PI_L, 3600), 0);
	cr_assert_not(local(learned_lan, "2001:db8::1"));
	cr_assert_eq(lan_learned(learned_lan, NULL, 0), 0);
}

Test(lan, a_slash_96_prefix_is_ignored)
{
	cr_assert_eq(learn("2001:db8:1:2::", 96, PI_L, 3600), 0);
	cr_assert_not(local(learned_lan, "2001:db8:1:2::1"));
}

Test(lan, prefix_lengths_just_outside_48_to_64_are_ignored)
{
	cr_assert_eq(learn("2001:db8::", 47, PI_L, 3600), 0);
	cr_assert_eq(learn("2001:db8:1:2::", 65, PI_L, 3600), 0);
	cr_assert_eq(learn("::", 0, PI_L, 3600), 0);
}

Test(lan, a_prefix_without_the_on_link_flag_is_ignored)
{
	cr_assert_eq(learn("2001:db8:1:2::", 64, PI_A, 3600), 0);
	cr_assert_not(local(learned_lan, "2001:db8:1:2::99"));
}

Test(lan, a_prefix_with_zero_valid_lifetime_is_ignored)
{
	cr_assert_eq(learn("2001:db8:1:2::", 64, PI_L | PI_A, 0), 0);
	cr_assert_not(local(learned_lan, "2001:db8:1:2::99"));
}

Test(lan, a_link_local_or_multicast_prefix_is_ignored)
{
	cr_assert_eq(learn("fe80::", 64, PI_L, 3600), 0);
	cr_assert_eq(learn("ff02::", 64, PI_L, 3600), 0);
	cr_assert_eq(lan_learned(learned_lan, NULL, 0), 0);
}

Test(lan, learning_is_off_when_not_asked_for)
{
	struct ra r;
	ra_init(&r);
	ra_prefix(&r, "2001:db8:1:2::", 64, PI_L, 3600);
	static const char *const nets[] = {"192.168.0.0/16"};
	struct lan *l = lan_with(nets, 1, false);
	cr_assert_eq(lan_learn_ra(l, ra_meta(&r)), 0);
	cr_assert_not(local(l, "2001:db8:1:2::99"));
	lan_free(l);
}

Test(lan, other_icmpv6_messages_and_nonzero_codes_are_ignored)
{
	static const uint8_t types[] = {133, 135, 136, 137, 128};
	struct lan *l = default_lan();
	for (size_t i = 0; i < sizeof(types); i++) {
		struct ra r;
		ra_init(&r);
		ra_prefix(&r, "2001:db8:1:2::", 64, PI_L, 3600);
		r.m.icmp_type = types[i];
		cr_expect_eq(lan_learn_ra(l, ra_meta(&r)), 0, "type %u", types[i]);
	}
	struct ra r;
	ra_init(&r);
	ra_prefix(&r, "2001:db8:1:2::", 64, PI_L, 3600);
	r.m.icmp_code = 1;
	cr_expect_eq(lan_learn_ra(l, ra_meta(&r)), 0);
	cr_assert_not(local(l, "2001:db8:1:2::99"));
	lan_free(l);
}

Test(lan, a_fragmented_ra_is_ignored)
{
	struct ra r;
	ra_init(&r);
	ra_prefix(&r, "2001:db8:1:2::", 64, PI_L, 3600);
	r.m.is_fragment = true;
	struct lan *l = default_lan();
	cr_assert_eq(lan_learn_ra(l, ra_meta(&r)), 0);
	lan_free(l);
}

Test(lan, options_before_the_prefix_are_skipped)
{
	struct ra r;
	ra_init(&r);
	ra_option(&r, 1, 1, 6);  /* source link-layer address */
	ra_option(&r, 5, 1, 6);  /* MTU */
	ra_option(&r, 25, 3, 22); /* RDNSS with one server */
	ra_prefix(&r, "2001:db8:1:2::", 64, PI_L, 3600);
	struct lan *l = default_lan();
	cr_assert_eq(lan_learn_ra(l, ra_meta(&r)), 1);
	cr_assert(local(l, "2001:db8:1:2::99"));
	lan_free(l);
}

Test(lan, every_prefix_of_one_ra_is_learned)
{
	struct ra r;
	ra_init(&r);
	ra_prefix(&r, "2001:db8:1:2::", 64, PI_L, 3600);
	ra_prefix(&r, "2001:db8:1:3::", 64, 0, 3600); /* SLAAC only: not on-link */
	ra_prefix(&r, "2001:db8:9::", 56, PI_L, 3600);
	struct lan *l = default_lan();
	cr_assert_eq(lan_learn_ra(l, ra_meta(&r)), 2);
	cr_assert(local(l, "2001:db8:1:2::1"));
	cr_assert_not(local(l, "2001:db8:1:3::1"));
	cr_assert(local(l, "2001:db8:9:ab::1"));
	lan_free(l);
}

Test(lan, a_prefix_advertised_again_is_learned_once)
{
	struct ra r;
	ra_init(&r);
	ra_prefix(&r, "2001:db8:1:2::", 64, PI_L, 3600);
	struct lan *l = default_lan();
	cr_assert_eq(lan_learn_ra(l, ra_meta(&r)), 1);
	cr_assert_eq(lan_learn_ra(l, ra_meta(&r)), 0);
	cr_assert_eq(lan_learned(l, NULL, 0), 1);
	cr_assert_eq(lan_learned_dropped(l), 0);
	lan_free(l);
}

Test(lan, a_zero_length_option_ends_parsing_without_looping, .timeout = 5)
{
	struct ra r;
	ra_init(&r);
	ra_option(&r, 1, 0, 6);
	ra_prefix(&r, "2001:db8:1:2::", 64, PI_L, 3600);
	struct lan *l = default_lan();
	cr_assert_eq(lan_learn_ra(l, ra_meta(&r)), 0);
	cr_assert_not(local(l, "2001:db8:1:2::99"));
	lan_free(l);
}

Test(lan, an_option_longer_than_the_packet_ends_parsing)
{
	struct ra r;
	ra_init(&r);
	ra_prefix(&r, "2001:db8:1:2::", 64, PI_L, 3600);
	r.body[12 + 1] = 5; /* the prefix option claims 40 bytes, 32 are there */
	struct lan *l = default_lan();
	cr_assert_eq(lan_learn_ra(l, ra_meta(&r)), 0);
	lan_free(l);
}

Test(lan, a_truncated_prefix_option_is_ignored)
{
	struct ra r;
	ra_init(&r);
	ra_prefix(&r, "2001:db8:1:2::", 64, PI_L, 3600);
	r.body[12 + 1] = 3; /* 24 bytes: the prefix itself is cut */
	r.len = 12 + 24;
	struct lan *l = default_lan();
	cr_assert_eq(lan_learn_ra(l, ra_meta(&r)), 0);
	lan_free(l);
}

Test(lan, an_ra_shorter_than_its_fixed_part_is_ignored)
{
	struct ra r;
	ra_init(&r);
	r.len = 11;
	struct lan *l = default_lan();
	cr_assert_eq(lan_learn_ra(l, ra_meta(&r)), 0);
	r.m.payload = NULL;
	r.m.payload_len = 0;
	cr_assert_eq(lan_learn_ra(l, &r.m), 0);
	lan_free(l);
}

Test(lan, at_most_lan_max_learned_prefixes_are_kept_then_counted_as_dropped)
{
	struct lan *l = default_lan();
	struct ip_prefix out[LAN_MAX_LEARNED + 4];
	for (unsigned i = 0; i < LAN_MAX_LEARNED + 3; i++) {
		char p[64];
		struct ra r;
		snprintf(p, sizeof(p), "2001:db8:%x::", i + 1);
		ra_init(&r);
		ra_prefix(&r, p, 64, PI_L, 3600);
		cr_assert_eq(lan_learn_ra(l, ra_meta(&r)), i < LAN_MAX_LEARNED ? 1 : 0, "prefix %u", i);
	}
	cr_assert_eq(lan_learned(l, out, LAN_MAX_LEARNED + 4), LAN_MAX_LEARNED);
	cr_assert_eq(lan_learned_dropped(l), 3);
	cr_assert(local(l, "2001:db8:1::1"));
	cr_assert(local(l, "2001:db8:10::1"));
	cr_assert_not(local(l, "2001:db8:11::1"));
	/* The configured nets still work next to a full learned list. */
	cr_assert(local(l, "192.168.1.5"));
	cr_assert_not(local(l, "8.8.8.8"));
	lan_free(l);
}

Test(lan, lan_learned_copies_no_more_than_asked)
{
	struct ra r;
	ra_init(&r);
	ra_prefix(&r, "2001:db8:1::", 64, PI_L, 3600);
	ra_prefix(&r, "2001:db8:2::", 64, PI_L, 3600);
	struct lan *l = default_lan();
	cr_assert_eq(lan_learn_ra(l, ra_meta(&r)), 2);
	struct ip_prefix out[2];
	memset(out, 0xee, sizeof(out));
	cr_assert_eq(lan_learned(l, out, 1), 2);
	cr_assert_eq(out[1].len, 0xee, "wrote past max");
	lan_free(l);
}

/* The same RA from Ethernet bytes through the decoder. */
Test(lan, an_ra_decoded_from_ethernet_is_learned)
{
	struct ra r;
	ra_init(&r);
	ra_option(&r, 1, 1, 6);
	ra_prefix(&r, "2001:db8:77:1::", 64, PI_L | PI_A, 7200);

	uint8_t frame[14 + 40 + 4 + sizeof(r.body)];
	static const uint8_t eth[14] = {0x33, 0x33, 0, 0, 0, 1, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x86, 0xdd};
	struct ip_addr src = addr("fe80::1"), dst = addr("ff02::1");
	size_t plen = 4 + r.len, n = 0;
	memcpy(frame, eth, 14);
	n = 14;
	uint8_t ip6[8] = {0x60, 0, 0, 0, (uint8_t)(plen >> 8), (uint8_t)plen, 58, 255};
	memcpy(frame + n, ip6, 8);
	n += 8;
	memcpy(frame + n, src.b, 16);
	n += 16;
	memcpy(frame + n, dst.b, 16);
	n += 16;
	uint8_t icmp[4] = {134, 0, 0, 0};
	memcpy(frame + n, icmp, 4);
	n += 4;
	memcpy(frame + n, r.body, r.len);
	n += r.len;

	struct decoder *d = dec_new();
	struct pkt_meta m;
	cr_assert_not_null(d);
	cr_assert_eq(dec_packet(d, DLT_EN10MB, frame, (uint32_t)n, (uint32_t)n, 1000000, &m), DEC_OK);
	struct lan *l = default_lan();
	cr_assert_eq(lan_learn_ra(l, &m), 1);
	cr_assert(local(l, "2001:db8:77:1::42"));

	/* The same frame with hop limit 64 (forwarded by a router) is not. */
	frame[14 + 7] = 64;
	cr_assert_eq(dec_packet(d, DLT_EN10MB, frame, (uint32_t)n, (uint32_t)n, 2000000, &m), DEC_OK);
	struct lan *l2 = default_lan();
	cr_assert_eq(lan_learn_ra(l2, &m), 0);
	lan_free(l2);
	lan_free(l);
	dec_free(d);
}
