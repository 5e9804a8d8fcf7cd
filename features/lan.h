/*
 * lan — which addresses are on the LAN.
 *
 * Local means: inside a configured home network, inside an IPv6 prefix the
 * router advertised as on-link, or an address that never leaves the LAN
 * (multicast, limited broadcast, unspecified). Global IPv6 addresses of a
 * home come from the ISP's delegated prefix, which no default list can know,
 * hence learning it from Router Advertisements.
 */
#ifndef IOTIDS_LAN_H
#define IOTIDS_LAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "features/decode.h"
#include "features/ipaddr.h"

/* Prefixes learned from RAs at the most; later ones are ignored and counted. */
#define LAN_MAX_LEARNED 16

struct lan;

/* nets may be empty. NULL on allocation failure or more than 64 nets. */
struct lan *lan_new(const struct ip_prefix *nets, size_t n_nets, bool learn_ra);
void lan_free(struct lan *l);

bool lan_is_local(const struct lan *l, const struct ip_addr *ip);

/* Looks at a decoded ICMPv6 Router Advertisement and learns its on-link
 * prefixes. Only RAs that RFC 4861 section 6.1.2 calls valid (link-local
 * source, hop limit 255) count, and only prefixes of length 48 to 64, so a
 * rogue RA cannot declare a large part of the internet local. Returns the
 * number of prefixes added. */
int lan_learn_ra(struct lan *l, const struct pkt_meta *m);

/* Copies up to max learned prefixes into out; returns how many there are. */
size_t lan_learned(const struct lan *l, struct ip_prefix *out, size_t max);
uint64_t lan_learned_dropped(const struct lan *l);

#endif
