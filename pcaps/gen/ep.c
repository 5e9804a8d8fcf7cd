#include "pcaps/gen/ep.h"

#include <errno.h>
#include <string.h>

#include "pcaps/gen/pkt.h"

static void ep_set(struct ep *e, const uint8_t *mac, const uint8_t *ip, size_t iplen,
		   uint16_t port, uint8_t ttl, uint32_t rtt_us)
{
	memset(e, 0, sizeof(*e));
	e->mac = mac;
	memcpy(e->ip, ip, iplen);
	e->v6 = iplen == 16;
	e->port = port;
	e->ttl = ttl;
	e->rtt_us = rtt_us;
	/* ipid starts from the port so ends differ without consuming a PRNG. */
	e->ipid = (uint16_t)(port * 2654435761u >> 16);
}

void ep_v4(struct ep *e, const uint8_t *mac, const uint8_t ip[4], uint16_t port, uint8_t ttl,
	   uint32_t rtt_us)
{
	ep_set(e, mac, ip, 4, port, ttl, rtt_us);
}

void ep_v6(struct ep *e, const uint8_t *mac, const uint8_t ip[16], uint16_t port, uint8_t ttl,
	   uint32_t rtt_us)
{
	ep_set(e, mac, ip, 16, port, ttl, rtt_us);
}

uint64_t ep_rtt(const struct ep *e, struct prng *r)
{
	return prng_jitter(r, e->rtt_us, 0.06) + 1;
}

void ep_udp(struct sim *s, uint64_t t, struct ep *from, const struct ep *to,
	    const uint8_t *dst_mac, const void *payload, size_t len)
{
	uint8_t frame[PKT_MAX];
	struct pkt_l3 l3 = {
		.smac = from->mac,
		.dmac = dst_mac ? dst_mac : to->mac,
		.sip = from->ip,
		.dip = to->ip,
		.v6 = from->v6,
		.ttl = from->ttl,
		.df = from->df,
		.ipid = from->ipid++,
	};
	size_t n = pkt_udp(frame, &l3, from->port, to->port, payload, len);

	if (!n) {
		sim_fail(s, -EINVAL);
		return;
	}
	if (from->pad)
		n = pkt_pad(frame, n, PKT_ETH_MIN);
	sim_emit(s, t, frame, n);
}
