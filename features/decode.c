/*
 * decode — see decode.h for the contract.
 *
 * Each layer takes a cursor limited to its bytes and returns DEC_OK or one
 * reason. Lengths a header declares are trusted only up to the bytes that
 * were captured. An IP datagram longer than its frame still decodes, as in
 * tcpdump: its headers are whole, only payload is missing, and its packets
 * belong to their flow. When the frame itself was not cut by snaplen this is
 * counted (payload_cut), since some tool or link trimmed it.
 */
#include "features/decode.h"

#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

#include "features/cursor.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ_OLD 0x9100

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_MH_ 135

/* Why 1024: enough for every datagram in flight on a home LAN; a flood of
 * fragments only overwrites entries, it never grows memory. */
#define FRAG_SLOTS 1024

struct frag_slot {
	struct ip_addr src, dst;
	uint32_t id;
	uint8_t key_proto;  /* IPv4 protocol, or the IPv6 Fragment header's next header */
	uint8_t l4_proto;   /* the transport the first fragment carried */
	bool used;
	uint16_t sport, dport;
};

struct decoder {
	struct dec_stats stats;
	struct frag_slot frags[FRAG_SLOTS];
};

struct dec_ctx {
	struct decoder *d;
	struct pkt_meta *m;
	bool snapped; /* caplen < wirelen: running out of bytes is expected */
};

/* Fixed-size headers are copied out through the cursor in one bounds check
 * and read from that local copy: one check per header instead of one per
 * field. These read the copy, never packet memory. */
static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static const char *const result_names[DEC_RESULT_COUNT] = {
	"ok",
	"other",
#define DEC_NAME(id, name, trunc) name,
	DEC_REASONS(DEC_NAME)
#undef DEC_NAME
};

static const bool result_trunc[DEC_RESULT_COUNT] = {
	false,
	false,
#define DEC_TRUNC(id, name, trunc) trunc,
	DEC_REASONS(DEC_TRUNC)
#undef DEC_TRUNC
};

const char *dec_result_name(enum dec_result r)
{
	return (unsigned)r < DEC_RESULT_COUNT ? result_names[r] : "unknown";
}

bool dec_result_is_truncation(enum dec_result r)
{
	return (unsigned)r < DEC_RESULT_COUNT && result_trunc[r];
}

struct decoder *dec_new(void)
{
	return calloc(1, sizeof(struct decoder));
}

void dec_free(struct decoder *d)
{
	free(d);
}

const struct dec_stats *dec_stats(const struct decoder *d)
{
	return &d->stats;
}

uint64_t dec_malformed_total(const struct decoder *d)
{
	uint64_t n = 0;
	for (int r = DEC_OTHER + 1; r < DEC_RESULT_COUNT; r++)
		n += d->stats.by_result[r];
	return n;
}

static uint32_t frag_index(const struct ip_addr *src, const struct ip_addr *dst, uint32_t id, uint8_t proto)
{
	uint32_t h = id * 0x9e3779b1u ^ proto;
	for (int i = 12; i < 16; i++)
		h = (h ^ src->b[i] ^ (uint32_t)dst->b[i] << 8) * 0x01000193u;
	h ^= src->b[7] ^ (uint32_t)dst->b[7] << 8;
	return (h ^ h >> 16) % FRAG_SLOTS;
}

static void frag_remember(struct decoder *d, const struct pkt_meta *m, uint32_t id, uint8_t key_proto)
{
	struct frag_slot *s = &d->frags[frag_index(&m->src, &m->dst, id, key_proto)];
	s->src = m->src;
	s->dst = m->dst;
	s->id = id;
	s->key_proto = key_proto;
	s->l4_proto = m->proto;
	s->used = true;
	s->sport = m->sport;
	s->dport = m->dport;
}

/* A later fragment takes the ports and transport of its first fragment. */
static bool frag_attribute(struct decoder *d, struct pkt_meta *m, uint32_t id, uint8_t key_proto)
{
	const struct frag_slot *s = &d->frags[frag_index(&m->src, &m->dst, id, key_proto)];
	if (!s->used || s->id != id || s->key_proto != key_proto || !ip_equal(&s->src, &m->src) ||
	    !ip_equal(&s->dst, &m->dst))
		return false;
	m->proto = s->l4_proto;
	m->sport = s->sport;
	m->dport = s->dport;
	m->has_ports = true;
	return true;
}

/* A DNS query: to port 53, the header's QR bit clear (RFC 1035 4.1.1). Over
 * TCP a 2-byte length comes first (4.2.2); it must match the segment, as a
 * query fits in one, so stray bytes to port 53 are not counted. */
static bool dns_query(const struct pkt_meta *m, bool tcp)
{
	uint32_t off = tcp ? 2 : 0;
	if (m->dport != 53 || !m->payload || m->payload_len < off + 12)
		return false;
	if (tcp && ((uint32_t)m->payload[0] << 8 | m->payload[1]) != m->payload_len - 2)
		return false;
	return !(m->payload[off + 2] & 0x80);
}

/*
 * TCP, RFC 9293 section 3.1:
 *   | source port | destination port | sequence | acknowledgment |
 *   | offset(4) rsrvd(4) | flags(8) | window | checksum | urgent | options...
 */
static enum dec_result decode_tcp(struct dec_ctx *x, struct cursor *c, uint32_t declared)
{
	struct pkt_meta *m = x->m;
	uint8_t h[20];
	if (!cur_bytes(c, h, sizeof(h)))
		return DEC_TCP_TRUNCATED;
	m->sport = be16(h);
	m->dport = be16(h + 2);
	m->has_ports = true;
	m->tcp_flags = h[13];
	uint32_t hlen = (uint32_t)(h[12] >> 4) * 4;
	if (hlen < 20 || hlen > declared)
		return DEC_TCP_BAD_HEADER_LEN;
	m->tcp_opt_len = (uint8_t)(hlen - 20);
	if (!cur_skip(c, hlen - 20)) {
		if (!x->snapped)
			return DEC_TCP_TRUNCATED;
		/* Options cut by snaplen: ports and flags are known, no payload. */
		m->payload = NULL;
		m->payload_len = 0;
		return DEC_OK;
	}
	m->payload = cur_ptr(c);
	m->payload_len = (uint32_t)cur_left(c);
	m->dns_query = dns_query(m, true);
	return DEC_OK;
}

/* UDP, RFC 768: | source port | destination port | length | checksum | */
static enum dec_result decode_udp(struct dec_ctx *x, struct cursor *c, uint32_t declared)
{
	struct pkt_meta *m = x->m;
	uint8_t h[8];
	if (!cur_bytes(c, h, sizeof(h)))
		return DEC_UDP_TRUNCATED;
	m->sport = be16(h);
	m->dport = be16(h + 2);
	m->has_ports = true;
	uint16_t len = be16(h + 4);
	if (len < 8 || len > declared)
		return DEC_UDP_BAD_LEN;
	cur_limit(c, len - 8u);
	m->payload = cur_ptr(c);
	m->payload_len = (uint32_t)cur_left(c);
	m->dns_query = dns_query(m, false);
	return DEC_OK;
}

/* The invoking datagram quoted in an ICMP error: its IP header and at least
 * the first 8 bytes of its transport header (RFC 792, RFC 4443). Failure here
 * is not a malformed packet, only an error we cannot relate to a flow. */
static void decode_icmp_inner(struct pkt_meta *m, struct cursor c, bool v6)
{
	uint8_t b0, proto;
	uint8_t a[16], b[16];
	if (!cur_peek_u8(&c, 0, &b0))
		return;
	if (!v6) {
		uint32_t hlen = (uint32_t)(b0 & 0x0f) * 4;
		if ((b0 >> 4) != 4 || hlen < 20 || !cur_skip(&c, 9) || !cur_u8(&c, &proto) || !cur_skip(&c, 2) ||
		    !cur_bytes(&c, a, 4) || !cur_bytes(&c, b, 4) || !cur_skip(&c, hlen - 20))
			return;
		ip_from_v4(&m->inner_src, a);
		ip_from_v4(&m->inner_dst, b);
	} else {
		if ((b0 >> 4) != 6 || !cur_skip(&c, 6) || !cur_u8(&c, &proto) || !cur_skip(&c, 1) ||
		    !cur_bytes(&c, a, 16) || !cur_bytes(&c, b, 16))
			return;
		ip_from_v6(&m->inner_src, a);
		ip_from_v6(&m->inner_dst, b);
	}
	if (proto != IPPROTO_TCP_ && proto != IPPROTO_UDP_)
		return;
	if (!cur_be16(&c, &m->inner_sport) || !cur_be16(&c, &m->inner_dport))
		return;
	m->inner_proto = proto;
	m->has_inner = true;
}

/* ICMP (RFC 792) and ICMPv6 (RFC 4443): | type | code | checksum | body... */
static enum dec_result decode_icmp(struct dec_ctx *x, struct cursor *c, bool v6)
{
	struct pkt_meta *m = x->m;
	if (!cur_u8(c, &m->icmp_type) || !cur_u8(c, &m->icmp_code) || !cur_skip(c, 2))
		return DEC_ICMP_TRUNCATED;
	m->payload = cur_ptr(c);
	m->payload_len = (uint32_t)cur_left(c);
	bool echo = v6 ? (m->icmp_type == 128 || m->icmp_type == 129) : (m->icmp_type == 8 || m->icmp_type == 0);
	bool unreach = v6 ? m->icmp_type == 1 : m->icmp_type == 3;
	uint16_t id;
	struct cursor body = *c;
	if (echo && cur_be16(&body, &id)) {
		/* Request and reply share the identifier: one flow both ways. */
		m->sport = id;
		m->dport = id;
	} else {
		m->sport = (uint16_t)(m->icmp_type << 8 | m->icmp_code);
		m->dport = 0;
		if (unreach && cur_skip(&body, 4))
			decode_icmp_inner(m, body, v6);
	}
	m->has_ports = true;
	return DEC_OK;
}

static enum dec_result decode_l4(struct dec_ctx *x, struct cursor *c, uint32_t declared)
{
	switch (x->m->proto) {
	case IPPROTO_TCP_:
		return decode_tcp(x, c, declared);
	case IPPROTO_UDP_:
		return decode_udp(x, c, declared);
	case IPPROTO_ICMP_:
		return decode_icmp(x, c, false);
	case IPPROTO_ICMPV6_:
		return decode_icmp(x, c, true);
	default:
		x->m->payload = cur_ptr(c);
		x->m->payload_len = (uint32_t)cur_left(c);
		return DEC_OK;
	}
}

/* Fragment bookkeeping shared by IPv4 and IPv6 once the fragment fields are
 * known: the first fragment is decoded and remembered, later ones borrow its
 * ports. key_proto is what every fragment of the datagram names alike: the
 * IPv4 protocol, or the next header of the IPv6 Fragment header. */
static enum dec_result decode_fragment(struct dec_ctx *x, struct cursor *c, uint32_t offset, uint32_t id,
				       uint8_t key_proto)
{
	x->m->is_fragment = true;
	x->d->stats.fragments++;
	if (offset != 0) {
		if (!frag_attribute(x->d, x->m, id, key_proto))
			x->d->stats.fragments_unattributed++;
		x->m->payload = cur_ptr(c);
		x->m->payload_len = (uint32_t)cur_left(c);
		return DEC_OK;
	}
	/* The transport header may declare the whole datagram: no upper bound here. */
	enum dec_result r = decode_l4(x, c, UINT32_MAX);
	if (r == DEC_OK && (x->m->proto == IPPROTO_TCP_ || x->m->proto == IPPROTO_UDP_))
		frag_remember(x->d, x->m, id, key_proto);
	return r;
}

/*
 * IPv4, RFC 791:
 *   | ver(4) ihl(4) | tos | total length | id | flags(3) offset(13) |
 *   | ttl | protocol | checksum | source | destination | options...
 */
static enum dec_result decode_ipv4(struct dec_ctx *x, struct cursor *c)
{
	struct pkt_meta *m = x->m;
	const uint8_t *hdr = cur_ptr(c);
	size_t avail = cur_left(c);
	uint8_t h[20];
	if (!cur_bytes(c, h, sizeof(h)))
		return DEC_IPV4_TRUNCATED;
	if (h[0] >> 4 != 4)
		return DEC_IPV4_BAD_VERSION;
	uint32_t hlen = (uint32_t)(h[0] & 0x0f) * 4;
	if (hlen < 20)
		return DEC_IPV4_BAD_HEADER_LEN;
	uint16_t total = be16(h + 2), id = be16(h + 4);
	m->ttl = h[8];
	m->proto = h[9];
	m->l3 = DEC_L3_IPV4;
	ip_from_v4(&m->src, h + 12);
	ip_from_v4(&m->dst, h + 16);
	if (!cur_skip(c, hlen - 20))
		return DEC_IPV4_TRUNCATED;
	if (total < hlen)
		return DEC_IPV4_BAD_TOTAL_LEN;
	uint32_t declared = total - hlen;
	if (declared > cur_left(c) && !x->snapped)
		x->d->stats.payload_cut++;
	/* Ethernet pads short frames: the IP length, not the frame, ends the datagram. */
	cur_limit(c, declared);
	m->l3_hdr = hdr;
	m->l3_len = (uint32_t)(avail < total ? avail : total);
	uint32_t offset = ((uint32_t)(h[6] & 0x1f) << 8 | h[7]) * 8;
	bool more = h[6] & 0x20;
	if (offset != 0 || more)
		return decode_fragment(x, c, offset, id, m->proto);
	return decode_l4(x, c, declared);
}

/*
 * IPv6, RFC 8200:
 *   | ver(4) class(8) flow(20) | payload length | next header | hop limit |
 *   | source (16) | destination (16) | extension headers... | upper layer
 */
static enum dec_result decode_ipv6(struct dec_ctx *x, struct cursor *c)
{
	struct pkt_meta *m = x->m;
	const uint8_t *hdr = cur_ptr(c);
	size_t avail = cur_left(c);
	uint8_t h[40];
	if (!cur_bytes(c, h, sizeof(h)))
		return DEC_IPV6_TRUNCATED;
	if (h[0] >> 4 != 6)
		return DEC_IPV6_BAD_VERSION;
	uint16_t plen = be16(h + 4);
	uint8_t nh = h[6];
	m->ttl = h[7];
	m->l3 = DEC_L3_IPV6;
	ip_from_v6(&m->src, h + 8);
	ip_from_v6(&m->dst, h + 24);
	if (plen > cur_left(c) && !x->snapped)
		x->d->stats.payload_cut++;
	cur_limit(c, plen);
	uint32_t declared = plen;
	m->l3_hdr = hdr;
	m->l3_len = (uint32_t)(avail < 40u + plen ? avail : 40u + plen);

	bool frag = false;
	uint32_t frag_off = 0, frag_id = 0;
	uint8_t frag_nh = 0;
	for (int n = 0;; n++) {
		uint8_t next, hl;
		size_t len;
		switch (nh) {
		case IPPROTO_HOPOPTS_:
		case IPPROTO_ROUTING_:
		case IPPROTO_DSTOPTS_:
		case IPPROTO_MH_:
		case IPPROTO_AH_:
		case IPPROTO_FRAGMENT_:
			break;
		default:
			m->proto = nh;
			if (frag)
				return decode_fragment(x, c, frag_off, frag_id, frag_nh);
			return decode_l4(x, c, declared);
		}
		if (n == DEC_MAX_IPV6_EXT)
			return DEC_IPV6_EXT_TOO_MANY;
		if (!cur_peek_u8(c, 0, &next) || !cur_peek_u8(c, 1, &hl))
			return DEC_IPV6_EXT_TRUNCATED;
		if (nh == IPPROTO_FRAGMENT_) {
			uint16_t offflags;
			struct cursor f = *c;
			if (!cur_skip(&f, 2) || !cur_be16(&f, &offflags) || !cur_be32(&f, &frag_id))
				return DEC_IPV6_EXT_TRUNCATED;
			frag = true;
			frag_off = (uint32_t)(offflags & 0xfff8);
			frag_nh = next;
			len = 8;
		} else if (nh == IPPROTO_AH_) {
			len = ((size_t)hl + 2) * 4;
		} else {
			len = ((size_t)hl + 1) * 8;
		}
		if (!cur_skip(c, len))
			return DEC_IPV6_EXT_TRUNCATED;
		declared = declared >= len ? declared - (uint32_t)len : 0;
		nh = next;
		if (frag && frag_off != 0) {
			/* After a later fragment's Fragment header comes data, even
			 * when nh names another extension header (RFC 8200 4.5). */
			m->proto = nh;
			return decode_fragment(x, c, frag_off, frag_id, frag_nh);
		}
	}
}

/* ARP for Ethernet/IPv4, RFC 826: | htype | ptype | hlen | plen | op |
 * sender hw | sender proto | target hw | target proto | */
static enum dec_result decode_arp(struct dec_ctx *x, struct cursor *c)
{
	struct pkt_meta *m = x->m;
	uint16_t htype, ptype;
	uint8_t hlen, plen, spa[4], tpa[4];
	if (!cur_be16(c, &htype) || !cur_be16(c, &ptype) || !cur_u8(c, &hlen) || !cur_u8(c, &plen) ||
	    !cur_be16(c, &m->arp_op))
		return DEC_ARP_TRUNCATED;
	m->l3 = DEC_L3_ARP;
	if (htype != 1 || ptype != ETH_P_IPV4 || hlen != 6 || plen != 4)
		return DEC_OK; /* another hardware or protocol: nothing we use */
	if (!cur_bytes(c, m->arp_sha, 6) || !cur_bytes(c, spa, 4) || !cur_skip(c, 6) || !cur_bytes(c, tpa, 4))
		return DEC_ARP_TRUNCATED;
	ip_from_v4(&m->src, spa);
	ip_from_v4(&m->dst, tpa);
	return DEC_OK;
}

static enum dec_result decode_ethertype(struct dec_ctx *x, struct cursor *c, uint16_t type)
{
	switch (type) {
	case ETH_P_IPV4:
		return decode_ipv4(x, c);
	case ETH_P_IPV6:
		return decode_ipv6(x, c);
	case ETH_P_ARP:
		return decode_arp(x, c);
	default:
		return DEC_OTHER;
	}
}

/* 802.1Q / 802.1ad tags: | TCI (pcp, dei, vid) | inner ethertype | */
static enum dec_result decode_vlans(struct dec_ctx *x, struct cursor *c, uint16_t type)
{
	while (type == ETH_P_8021Q || type == ETH_P_8021AD || type == ETH_P_QINQ_OLD) {
		uint16_t tci;
		if (x->m->n_vlan == DEC_MAX_VLAN)
			return DEC_VLAN_TOO_DEEP;
		if (!cur_be16(c, &tci) || !cur_be16(c, &type))
			return DEC_VLAN_TRUNCATED;
		x->m->vlan[x->m->n_vlan++] = tci & 0x0fff;
	}
	return decode_ethertype(x, c, type);
}

/* Ethernet II: | destination | source | ethertype or 802.3 length | */
static enum dec_result decode_ethernet(struct dec_ctx *x, struct cursor *c)
{
	struct pkt_meta *m = x->m;
	uint8_t h[14];
	if (!cur_bytes(c, h, sizeof(h)))
		return DEC_ETH_TRUNCATED;
	memcpy(m->dst_mac, h, 6);
	memcpy(m->src_mac, h + 6, 6);
	m->has_src_mac = m->has_dst_mac = true;
	uint16_t type = be16(h + 12);
	if (type <= 1500)
		return DEC_OTHER; /* 802.3 length field: LLC/SNAP, STP ... */
	return decode_vlans(x, c, type);
}

/* Linux cooked v1: | packet type | ARPHRD type | addr len | addr (8) | protocol |
 * The address is the sender's link-layer address. */
static enum dec_result decode_sll(struct dec_ctx *x, struct cursor *c)
{
	uint16_t pkttype, hatype, halen, proto;
	uint8_t addr[8];
	if (!cur_be16(c, &pkttype) || !cur_be16(c, &hatype) || !cur_be16(c, &halen) || !cur_bytes(c, addr, 8) ||
	    !cur_be16(c, &proto))
		return DEC_SLL_TRUNCATED;
	if (hatype == 1 && halen == 6) {
		memcpy(x->m->src_mac, addr, 6);
		x->m->has_src_mac = true;
	}
	return decode_vlans(x, c, proto);
}

/* Linux cooked v2: | protocol | reserved | ifindex | ARPHRD type | packet type |
 * addr len | addr (8) | */
static enum dec_result decode_sll2(struct dec_ctx *x, struct cursor *c)
{
	uint16_t proto, hatype;
	uint8_t pkttype, halen;
	uint8_t addr[8];
	if (!cur_be16(c, &proto) || !cur_skip(c, 6) || !cur_be16(c, &hatype) || !cur_u8(c, &pkttype) ||
	    !cur_u8(c, &halen) || !cur_bytes(c, addr, 8))
		return DEC_SLL_TRUNCATED;
	if (hatype == 1 && halen == 6) {
		memcpy(x->m->src_mac, addr, 6);
		x->m->has_src_mac = true;
	}
	return decode_vlans(x, c, proto);
}

/* Raw IP: the version nibble says which. */
static enum dec_result decode_raw(struct dec_ctx *x, struct cursor *c)
{
	uint8_t v;
	if (!cur_peek_u8(c, 0, &v))
		return DEC_IPV4_TRUNCATED;
	if (v >> 4 == 4)
		return decode_ipv4(x, c);
	if (v >> 4 == 6)
		return decode_ipv6(x, c);
	return DEC_RAW_BAD_VERSION;
}

/* BSD loopback: a 4-byte address family in the writer's byte order (DLT_NULL)
 * or in network order (DLT_LOOP). Families are small numbers, so a value that
 * only fits the other order is read in that order. */
static enum dec_result decode_null(struct dec_ctx *x, struct cursor *c)
{
	uint32_t fam;
	if (!cur_be32(c, &fam))
		return DEC_NULL_TRUNCATED;
	if (fam > 0xffff)
		fam = __builtin_bswap32(fam);
	if (fam == 2)
		return decode_ipv4(x, c);
	/* AF_INET6 differs between BSDs: 24, 28 and 30 are all in use. */
	if (fam == 24 || fam == 28 || fam == 30)
		return decode_ipv6(x, c);
	return DEC_OTHER;
}

bool dec_linktype_supported(int linktype)
{
	switch (linktype) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return true;
	default:
		return false;
	}
}

enum dec_result dec_packet(struct decoder *d, int linktype, const uint8_t *data, uint32_t caplen,
			   uint32_t wirelen, uint64_t ts_us, struct pkt_meta *m)
{
	struct cursor c;
	struct dec_ctx x = {.d = d, .m = m, .snapped = caplen < wirelen};
	enum dec_result r;

	memset(m, 0, sizeof(*m));
	m->ts_us = ts_us;
	m->caplen = caplen;
	m->wirelen = wirelen < caplen ? caplen : wirelen;
	cur_init(&c, data, caplen);

	switch (linktype) {
	case DLT_EN10MB:
		r = decode_ethernet(&x, &c);
		break;
	case DLT_LINUX_SLL:
		r = decode_sll(&x, &c);
		break;
	case DLT_LINUX_SLL2:
		r = decode_sll2(&x, &c);
		break;
	case DLT_RAW:
		r = decode_raw(&x, &c);
		break;
	case DLT_IPV4:
		r = decode_ipv4(&x, &c);
		break;
	case DLT_IPV6:
		r = decode_ipv6(&x, &c);
		break;
	case DLT_NULL:
		r = decode_null(&x, &c);
		break;
	case DLT_LOOP:
		r = decode_null(&x, &c);
		break;
	default:
		r = DEC_LINKTYPE_UNSUPPORTED;
		break;
	}
	d->stats.packets++;
	d->stats.by_result[r]++;
	return r;
}
