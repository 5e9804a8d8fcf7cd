/*
 * ndmsg — ICMPv6 Neighbor Discovery messages (RFC 4861/4862), from the
 * type byte on; pkt_icmp6() adds the IPv6 header and checksum. Sent with
 * hop limit 255 as ND requires.
 */
#ifndef IOTGEN_NDMSG_H
#define IOTGEN_NDMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ndm_prefix {
	uint8_t addr[16];
	uint8_t len;
	uint32_t valid, preferred; /* lifetimes, seconds */
};

/* Router Advertisement with source link-layer address, MTU and prefix
 * information options (on-link and autonomous flags set). */
size_t ndm_ra(uint8_t *out, size_t cap, const uint8_t mac[6], uint16_t lifetime,
	      const struct ndm_prefix *pfx, size_t npfx);
/* Router Solicitation; mac NULL when sent from :: (no SLLA option). */
size_t ndm_rs(uint8_t *out, size_t cap, const uint8_t *mac);
/* Neighbor Solicitation for target; mac NULL for DAD (from ::). */
size_t ndm_ns(uint8_t *out, size_t cap, const uint8_t target[16], const uint8_t *mac);
/* Neighbor Advertisement with the target link-layer address option. */
size_t ndm_na(uint8_t *out, size_t cap, const uint8_t target[16], const uint8_t mac[6],
	      bool router, bool solicited);
/* ff02::1:ffXX:XXXX, the solicited-node group of addr. */
void ndm_solicited_node(uint8_t out[16], const uint8_t addr[16]);

#endif
