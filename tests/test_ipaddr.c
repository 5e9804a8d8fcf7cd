/*
 * Tests for features/ipaddr.c: parsing and formatting IPv4 and IPv6
 * addresses and prefixes, prefix containment, and the address classes the
 * LAN module relies on (multicast, broadcast, unspecified).
 */
#include "features/ipaddr.h"

#include <criterion/criterion.h>
#include <string.h>

static struct ip_addr addr(const char *s)
{
	struct ip_addr ip;
	cr_assert_eq(ip_parse(s, &ip), 0, "ip_parse('%s') failed", s);
	return ip;
}

static struct ip_prefix prefix(const char *s)
{
	struct ip_prefix p;
	cr_assert_eq(ip_prefix_parse(s, &p), 0, "ip_prefix_parse('%s') failed", s);
	return p;
}

static const char *fmt(const struct ip_addr *ip)
{
	static char buf[4][IP_STRLEN];
	static int i;
	i = (i + 1) % 4;
	return ip_format(ip, buf[i], sizeof(buf[i]));
}

static const char *pfmt(const struct ip_prefix *p)
{
	static char buf[4][IP_PREFIX_STRLEN];
	static int i;
	i = (i + 1) % 4;
	return ip_prefix_format(p, buf[i], sizeof(buf[i]));
}

static bool contains(const char *pfx, const char *ip)
{
	struct ip_prefix p = prefix(pfx);
	struct ip_addr a = addr(ip);
	return ip_prefix_contains(&p, &a);
}

/* ---- addresses ---- */

Test(ipaddr, an_ipv4_address_is_stored_v4_mapped)
{
	static const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 5};
	struct ip_addr ip = addr("192.168.1.5");
	cr_assert_eq(memcmp(ip.b, want, 16), 0);
	cr_assert(ip_is_v4(&ip));
	cr_assert_eq(ip_v4_host(&ip), 0xc0a80105u);
}

Test(ipaddr, ip_from_v4_and_ip_parse_agree)
{
	static const uint8_t raw[4] = {10, 1, 2, 3};
	struct ip_addr a, b = addr("10.1.2.3");
	ip_from_v4(&a, raw);
	cr_assert(ip_equal(&a, &b));
}

Test(ipaddr, an_ipv4_address_formats_as_a_dotted_quad)
{
	struct ip_addr ip = addr("203.0.113.255");
	cr_assert_str_eq(fmt(&ip), "203.0.113.255");
}

Test(ipaddr, an_ipv6_address_parses_and_formats_in_canonical_form)
{
	struct ip_addr ip = addr("2001:0db8:0000:0000:0000:0000:0000:0001");
	cr_assert_not(ip_is_v4(&ip));
	cr_assert_eq(ip.b[0], 0x20);
	cr_assert_eq(ip.b[1], 0x01);
	cr_assert_eq(ip.b[15], 0x01);
	cr_assert_str_eq(fmt(&ip), "2001:db8::1");
}

Test(ipaddr, ip_from_v6_copies_the_sixteen_bytes)
{
	static const uint8_t raw[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};
	struct ip_addr ip;
	ip_from_v6(&ip, raw);
	cr_assert_eq(memcmp(ip.b, raw, 16), 0);
	cr_assert_str_eq(fmt(&ip), "fe80::211:22ff:fe33:4455");
}

Test(ipaddr, a_v4_mapped_ipv6_text_is_the_same_address_as_the_ipv4_text)
{
	struct ip_addr a = addr("::ffff:10.0.0.1"), b = addr("10.0.0.1");
	cr_assert(ip_equal(&a, &b));
	cr_assert(ip_is_v4(&a));
	cr_assert_str_eq(fmt(&a), "10.0.0.1");
}

Test(ipaddr, the_longest_ipv6_text_fits_ip_strlen)
{
	const char *longest = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
	struct ip_addr ip = addr(longest);
	char buf[IP_STRLEN];
	cr_assert_str_eq(ip_format(&ip, buf, sizeof(buf)), longest);
}

Test(ipaddr, formatting_into_a_too_small_buffer_writes_an_empty_string)
{
	struct ip_addr ip = addr("192.168.100.200");
	char buf[8];
	memset(buf, 'x', sizeof(buf));
	cr_assert_str_eq(ip_format(&ip, buf, sizeof(buf)), "");
}

Test(ipaddr, malformed_addresses_are_rejected)
{
	static const char *const bad[] = {
		"", "x", "1.2.3", "1.2.3.4.5", "1.2.3.256", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/24",
		"2001:db8::1::2", "2001:db8:::1", "12345::", "fe80::1%eth0", ":::",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ip_addr ip;
		cr_expect_neq(ip_parse(bad[i], &ip), 0, "'%s' was accepted", bad[i]);
	}
}

Test(ipaddr, compare_is_a_total_order_consistent_with_equal)
{
	struct ip_addr a = addr("1.2.3.4"), b = addr("1.2.3.5"), c = addr("2001:db8::1");
	cr_assert_lt(ip_compare(&a, &b), 0);
	cr_assert_gt(ip_compare(&b, &a), 0);
	cr_assert_eq(ip_compare(&a, &a), 0);
	cr_assert(ip_equal(&a, &a));
	cr_assert_not(ip_equal(&a, &b));
	/* Every IPv4 address sorts before 2001::/16 (its first byte is 0). */
	cr_assert_lt(ip_compare(&b, &c), 0);
}

/* ---- address classes ---- */

Test(ipaddr, multicast_is_224_slash_4_and_ff00_slash_8)
{
	static const char *const yes[] = {"224.0.0.0", "224.0.0.251", "239.255.255.250", "ff02::1", "ff02::fb",
					  "ff05::1:3"};
	static const char *const no[] = {"223.255.255.255", "240.0.0.1", "255.255.255.255", "192.168.1.1",
					 "fe80::1", "2001:db8::1", "::", "0.0.0.0"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		struct ip_addr ip = addr(yes[i]);
		cr_expect(ip_is_multicast(&ip), "%s is multicast", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		struct ip_addr ip = addr(no[i]);
		cr_expect_not(ip_is_multicast(&ip), "%s is not multicast", no[i]);
	}
}

Test(ipaddr, broadcast_is_only_the_ipv4_limited_broadcast)
{
	struct ip_addr bc = addr("255.255.255.255"), directed = addr("192.168.1.255"),
		       v6 = addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	cr_assert(ip_is_broadcast(&bc));
	cr_assert_not(ip_is_broadcast(&directed));
	cr_assert_not(ip_is_broadcast(&v6));
}

Test(ipaddr, unspecified_is_0_0_0_0_and_double_colon)
{
	struct ip_addr v4 = addr("0.0.0.0"), v6 = addr("::"), one4 = addr("0.0.0.1"), one6 = addr("::1");
	cr_assert(ip_is_unspecified(&v4));
	cr_assert(ip_is_unspecified(&v6));
	cr_assert_not(ip_is_unspecified(&one4));
	cr_assert_not(ip_is_unspecified(&one6));
	/* :: is not an IPv4 address, 0.0.0.0 is. */
	cr_assert_not(ip_is_v4(&v6));
	cr_assert(ip_is_v4(&v4));
}

/* ---- prefixes ---- */

Test(ipaddr, an_ipv4_prefix_has_its_host_bits_cleared)
{
	struct ip_prefix p = prefix("192.168.1.77/24");
	cr_assert_eq(p.len, 24);
	cr_assert_str_eq(pfmt(&p), "192.168.1.0/24");
}

Test(ipaddr, host_bits_are_cleared_inside_a_byte)
{
	struct ip_prefix p = prefix("10.255.255.255/12");
	cr_assert_str_eq(pfmt(&p), "10.240.0.0/12");
	struct ip_prefix q = prefix("2001:db8:0:ff::1/60");
	cr_assert_str_eq(pfmt(&q), "2001:db8:0:f0::/60");
}

Test(ipaddr, an_ipv6_prefix_has_its_host_bits_cleared)
{
	struct ip_prefix p = prefix("2001:db8:1:2:3:4:5:6/64");
	cr_assert_eq(p.len, 64);
	cr_assert_not(ip_is_v4(&p.addr));
	cr_assert_str_eq(pfmt(&p), "2001:db8:1:2::/64");
}

Test(ipaddr, a_bare_address_is_a_host_prefix)
{
	struct ip_prefix v4 = prefix("10.1.2.3"), v6 = prefix("fe80::1");
	cr_assert_eq(v4.len, 32);
	cr_assert_eq(v6.len, 128);
	cr_assert_str_eq(pfmt(&v4), "10.1.2.3/32");
	cr_assert_str_eq(pfmt(&v6), "fe80::1/128");
}

Test(ipaddr, an_ipv4_slash_0_contains_every_ipv4_address_and_no_ipv6_one)
{
	struct ip_prefix p = prefix("1.2.3.4/0");
	cr_assert_eq(p.len, 0);
	cr_assert_str_eq(pfmt(&p), "0.0.0.0/0");
	cr_assert(contains("1.2.3.4/0", "0.0.0.0"));
	cr_assert(contains("1.2.3.4/0", "8.8.8.8"));
	cr_assert(contains("1.2.3.4/0", "255.255.255.255"));
	cr_assert_not(contains("1.2.3.4/0", "2001:db8::1"));
	cr_assert_not(contains("1.2.3.4/0", "::"));
}

Test(ipaddr, an_ipv6_slash_0_contains_every_ipv6_address_and_no_ipv4_one)
{
	struct ip_prefix p = prefix("2001:db8::1/0");
	cr_assert_str_eq(pfmt(&p), "::/0");
	cr_assert(contains("::/0", "2001:db8::1"));
	cr_assert(contains("::/0", "ff02::1"));
	cr_assert(contains("::/0", "::"));
	cr_assert_not(contains("::/0", "8.8.8.8"));
	cr_assert_not(contains("::/0", "0.0.0.0"));
}

Test(ipaddr, a_slash_32_contains_only_its_address)
{
	cr_assert(contains("192.0.2.7/32", "192.0.2.7"));
	cr_assert_not(contains("192.0.2.7/32", "192.0.2.6"));
	cr_assert_not(contains("192.0.2.7/32", "192.0.2.8"));
	cr_assert_not(contains("192.0.2.7/32", "::ffff:0:c000:207"));
}

Test(ipaddr, a_slash_128_contains_only_its_address)
{
	cr_assert(contains("2001:db8::7/128", "2001:db8::7"));
	cr_assert_not(contains("2001:db8::7/128", "2001:db8::6"));
	cr_assert_not(contains("2001:db8::7/128", "2001:db8::8"));
}

Test(ipaddr, a_prefix_contains_its_first_and_last_address_and_nothing_beyond)
{
	cr_assert(contains("192.168.1.0/24", "192.168.1.0"));
	cr_assert(contains("192.168.1.0/24", "192.168.1.255"));
	cr_assert_not(contains("192.168.1.0/24", "192.168.0.255"));
	cr_assert_not(contains("192.168.1.0/24", "192.168.2.0"));
	cr_assert(contains("172.16.0.0/12", "172.31.255.255"));
	cr_assert_not(contains("172.16.0.0/12", "172.32.0.0"));
	cr_assert(contains("fe80::/10", "febf:ffff::1"));
	cr_assert_not(contains("fe80::/10", "fec0::1"));
}

Test(ipaddr, containment_across_families_is_false)
{
	/* 10.0.0.0/8 in v4-mapped form starts with ::ffff:0a00:0; an IPv6
	 * prefix of the same bits must still not claim IPv4 addresses. */
	cr_assert_not(contains("10.0.0.0/8", "::a00:1"));
	cr_assert_not(contains("::/8", "10.0.0.1"));
	cr_assert_not(contains("::/96", "10.0.0.1"));
	cr_assert_not(contains("0.0.0.0/0", "::1"));
}

Test(ipaddr, bad_prefixes_are_rejected)
{
	static const char *const bad[] = {
		"1.2.3.4/33", "::/129", "2001:db8::/200", "1.2.3.4/", "/8", "/", "x", "x/8", "", "1.2.3.4/-1",
		"1.2.3.4/+8", "1.2.3.4/ 8", "1.2.3.4/8x", "1.2.3.4//8", "1.2.3.4/8/8",
		"1.2.3.4/99999999999999999999999999", "1.2.3.4/4294967304",
		/* a host part longer than any address text */
		"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/8",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ip_prefix p;
		cr_expect_neq(ip_prefix_parse(bad[i], &p), 0, "'%s' was accepted", bad[i]);
	}
}

Test(ipaddr, the_longest_prefix_text_fits_ip_prefix_strlen)
{
	struct ip_prefix p = prefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	char buf[IP_PREFIX_STRLEN];
	cr_assert_str_eq(ip_prefix_format(&p, buf, sizeof(buf)), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}
