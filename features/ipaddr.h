/*
 * ipaddr — one address type for IPv4 and IPv6.
 *
 * IPv4 addresses are stored v4-mapped (::ffff:a.b.c.d) so that every table
 * keys, hashes and compares one 16-byte value whatever the family. Prefix
 * lengths of IPv4 prefixes are kept in IPv4 terms (0..32) next to the family.
 */
#ifndef IOTIDS_IPADDR_H
#define IOTIDS_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ip_addr {
	uint8_t b[16];
};

struct ip_prefix {
	struct ip_addr addr; /* host bits cleared */
	uint8_t len;         /* 0..32 for IPv4, 0..128 for IPv6 */
};

/* Longest text ip_format writes, with its NUL (INET6_ADDRSTRLEN). */
#define IP_STRLEN 46
/* Longest text ip_prefix_format writes, with its NUL. */
#define IP_PREFIX_STRLEN (IP_STRLEN + 4)

void ip_from_v4(struct ip_addr *ip, const uint8_t v4[4]);
void ip_from_v6(struct ip_addr *ip, const uint8_t v6[16]);
/* Inline, as ip_equal: both run several times for every packet. */
static inline bool ip_is_v4(const struct ip_addr *ip)
{
	uint64_t hi;
	memcpy(&hi, ip->b, 8);
	return hi == 0 && ip->b[8] == 0 && ip->b[9] == 0 && ip->b[10] == 0xff && ip->b[11] == 0xff;
}

/* The IPv4 address in host order; meaningful only when ip_is_v4(). */
static inline uint32_t ip_v4_host(const struct ip_addr *ip)
{
	return (uint32_t)ip->b[12] << 24 | (uint32_t)ip->b[13] << 16 | (uint32_t)ip->b[14] << 8 | ip->b[15];
}

/* Inline: the flow table compares keys with it on every packet. */
static inline bool ip_equal(const struct ip_addr *a, const struct ip_addr *b)
{
	uint64_t a0, a1, b0, b1;
	memcpy(&a0, a->b, 8);
	memcpy(&a1, a->b + 8, 8);
	memcpy(&b0, b->b, 8);
	memcpy(&b1, b->b + 8, 8);
	return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}
/* A total order (not the numeric one) used to canonicalise flow keys:
 * negative, zero or positive. */
static inline int ip_compare(const struct ip_addr *a, const struct ip_addr *b)
{
	uint64_t a0, a1, b0, b1;
	memcpy(&a0, a->b, 8);
	memcpy(&a1, a->b + 8, 8);
	memcpy(&b0, b->b, 8);
	memcpy(&b1, b->b + 8, 8);
	if (a0 != b0)
		return a0 < b0 ? -1 : 1;
	return (a1 > b1) - (a1 < b1);
}

static inline bool ip_is_unspecified(const struct ip_addr *ip)
{
	uint64_t hi, lo;
	memcpy(&hi, ip->b, 8);
	memcpy(&lo, ip->b + 8, 8);
	return (hi == 0 && lo == 0) || (ip_is_v4(ip) && ip_v4_host(ip) == 0);
}

/* 224/4, ff00::/8 */
static inline bool ip_is_multicast(const struct ip_addr *ip)
{
	return ip_is_v4(ip) ? (ip->b[12] & 0xf0) == 0xe0 : ip->b[0] == 0xff;
}

/* 255.255.255.255 */
static inline bool ip_is_broadcast(const struct ip_addr *ip)
{
	return ip_is_v4(ip) && ip_v4_host(ip) == 0xffffffffu;
}

/* Writes the usual text form (dotted quad for IPv4); never fails when
 * len >= IP_STRLEN. Returns buf. */
char *ip_format(const struct ip_addr *ip, char *buf, size_t len);

/* Parses a bare IPv4 or IPv6 address. 0 on success, -EINVAL otherwise. */
int ip_parse(const char *s, struct ip_addr *ip) __attribute__((warn_unused_result));

/* Parses "addr/len" or a bare address (a host prefix). Host bits beyond len
 * are cleared, as most people write 192.168.1.1/24 meaning the network.
 * 0 on success, -EINVAL on a bad address or length. */
int ip_prefix_parse(const char *s, struct ip_prefix *p) __attribute__((warn_unused_result));
bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *ip);
char *ip_prefix_format(const struct ip_prefix *p, char *buf, size_t len);

#endif
