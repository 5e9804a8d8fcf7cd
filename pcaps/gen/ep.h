/*
 * ep — one end of a conversation as seen from the capture point (the
 * router's LAN bridge), and the one-shot datagram sends built on it.
 *
 * For an internet host the MAC is the router's (its frames are forwarded by
 * the router) and the TTL is what arrives after the hops; rtt_us is the
 * round trip capture point -> this end -> capture point, so a packet this
 * end sends in answer to one seen at time t is seen at t + rtt_us.
 */
#ifndef IOTGEN_EP_H
#define IOTGEN_EP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcaps/gen/prng.h"
#include "pcaps/gen/sim.h"

struct ep {
	const uint8_t *mac;  /* source MAC of this end's frames (not owned) */
	uint8_t ip[16];      /* first 4 bytes used for IPv4 */
	bool v6;
	uint16_t port;
	uint8_t ttl;         /* TTL / hop limit as captured */
	bool df;
	bool pad;            /* crossed a wire before capture: pad to 60 bytes */
	uint16_t ipid;
	uint32_t rtt_us;
};

/* Fills an IPv4 end; ip is 4 bytes. */
void ep_v4(struct ep *e, const uint8_t *mac, const uint8_t ip[4], uint16_t port, uint8_t ttl,
	   uint32_t rtt_us);
/* Fills an IPv6 end; ip is 16 bytes. */
void ep_v6(struct ep *e, const uint8_t *mac, const uint8_t ip[16], uint16_t port, uint8_t ttl,
	   uint32_t rtt_us);
/* rtt_us with a few percent of jitter: no two answers take exactly as long. */
uint64_t ep_rtt(const struct ep *e, struct prng *r);
/* Emits one UDP datagram from -> to at t. The destination MAC is to->mac,
 * or dst_mac when given (broadcast, multicast). */
void ep_udp(struct sim *s, uint64_t t, struct ep *from, const struct ep *to,
	    const uint8_t *dst_mac, const void *payload, size_t len);

#endif
