/*
 * garbage — malformed packets whose every defect is known.
 *
 * Each record is drawn from one class: a valid packet, a non-IP frame, or a
 * packet with exactly one defect that iotids' decoder must report under one
 * named reason (truncated inside a given header, or a field that says
 * something impossible). Everything else in the packet is random. The
 * expected count per reason is printed as JSON on stdout, so a test can hold
 * `iotids replay --json` to it exactly.
 *
 * Frames are written unpadded with caplen == wirelen: a short frame is
 * damage, not snaplen, so a datagram cut inside its transport header is
 * "truncated", as the decoder defines it.
 */
#include "pcaps/gen/garbage.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "pcaps/gen/cli.h"
#include "pcaps/gen/pcapw.h"
#include "pcaps/gen/pkt.h"
#include "pcaps/gen/prng.h"

enum cls {
	C_OK,
	C_OTHER,
	C_ETH_TRUNCATED,
	C_VLAN_TRUNCATED,
	C_VLAN_TOO_DEEP,
	C_IPV4_TRUNCATED,
	C_IPV4_BAD_VERSION,
	C_IPV4_BAD_HEADER_LEN,
	C_IPV4_BAD_TOTAL_LEN,
	C_IPV6_TRUNCATED,
	C_IPV6_BAD_VERSION,
	C_IPV6_EXT_TRUNCATED,
	C_IPV6_EXT_TOO_MANY,
	C_TCP_TRUNCATED,
	C_TCP_BAD_HEADER_LEN,
	C_UDP_TRUNCATED,
	C_UDP_BAD_LEN,
	C_ICMP_TRUNCATED,
	C_ARP_TRUNCATED,
	C_COUNT
};

/* The decoder's names for the classes (features/decode.h). */
static const char *const cls_name[C_COUNT] = {
	"ok",		     "other",		  "eth_truncated",	  "vlan_truncated",
	"vlan_too_deep",     "ipv4_truncated",	  "ipv4_bad_version",	  "ipv4_bad_header_len",
	"ipv4_bad_total_len", "ipv6_truncated",	  "ipv6_bad_version",	  "ipv6_ext_truncated",
	"ipv6_ext_too_many", "tcp_truncated",	  "tcp_bad_header_len",	  "udp_truncated",
	"udp_bad_len",	     "icmp_truncated",	  "arp_truncated",
};

static const char usage[] =
	"usage: iotgen garbage --seed N --packets P -o OUT.pcap\n"
	"\n"
	"Writes P packets, each valid, non-IP, or with exactly one known defect,\n"
	"and prints the expected decoder counts as JSON on stdout:\n"
	"  {\"packets\":P,\"decoded\":..,\"other\":..,\"malformed_total\":..,\"malformed\":{reason:count}}\n";

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A random well-formed IPv4 or IPv6 frame carrying TCP or UDP. */
static size_t valid_frame(struct prng *r, uint8_t *out, bool v6, bool tcp)
{
	uint8_t smac[6], dmac[6], sip[16], dip[16], payload[64];
	prng_fill(r, smac, 6);
	prng_fill(r, dmac, 6);
	prng_fill(r, sip, 16);
	prng_fill(r, dip, 16);
	smac[0] &= 0xfe;
	dmac[0] &= 0xfe;
	size_t plen = (size_t)prng_below(r, sizeof(payload));
	prng_fill(r, payload, plen);
	struct pkt_l3 l3 = {.smac = smac, .dmac = dmac, .sip = sip, .dip = dip, .v6 = v6, .ttl = 64,
			    .ipid = (uint16_t)prng_u32(r)};
	uint16_t sport = (uint16_t)prng_u32(r), dport = (uint16_t)prng_u32(r);
	if (tcp) {
		struct pkt_tcph th = {.sport = sport, .dport = dport, .seq = prng_u32(r), .flags = PKT_SYN,
				      .win = 65535};
		return pkt_tcp(out, &l3, &th, payload, plen);
	}
	return pkt_udp(out, &l3, sport, dport, payload, plen);
}

/* An IPv4 frame whose datagram is exactly 20 + l4len bytes of protocol
 * proto, the transport bytes random. */
static size_t ipv4_with(struct prng *r, uint8_t *out, uint8_t proto, size_t l4len)
{
	valid_frame(r, out, false, false);
	out[14] = 0x45;
	put16(out + 16, (uint16_t)(20 + l4len));
	out[23] = proto;
	prng_fill(r, out + 34, l4len);
	return 34 + l4len;
}

static size_t make(struct prng *r, enum cls c, uint8_t *out)
{
	size_t n;
	switch (c) {
	case C_OK: {
		/* Two draws, two statements: argument order is unspecified in C. */
		bool v6 = prng_chance(r, 0.5);
		bool tcp = prng_chance(r, 0.5);
		return valid_frame(r, out, v6, tcp);
	}
	case C_OTHER:
		n = valid_frame(r, out, false, true);
		put16(out + 12, 0x88cc); /* LLDP */
		return n;
	case C_ETH_TRUNCATED:
		prng_fill(r, out, 14);
		return (size_t)prng_below(r, 14);
	case C_VLAN_TRUNCATED:
		prng_fill(r, out, 18);
		put16(out + 12, 0x8100);
		return 14 + (size_t)prng_below(r, 4);
	case C_VLAN_TOO_DEEP: {
		uint8_t inner[PKT_MAX];
		n = valid_frame(r, inner, false, true);
		memcpy(out, inner, 12);
		for (int i = 0; i < 3; i++) {
			put16(out + 12 + 4 * i, i == 0 ? 0x88a8 : 0x8100);
			put16(out + 14 + 4 * i, (uint16_t)(prng_u32(r) & 0x0fff));
		}
		memcpy(out + 24, inner + 12, n - 12);
		return n + 12;
	}
	case C_IPV4_TRUNCATED:
		n = valid_frame(r, out, false, true);
		return 14 + (size_t)prng_below(r, 20);
	case C_IPV4_BAD_VERSION:
		n = valid_frame(r, out, false, true);
		out[14] = (uint8_t)((4 + prng_range(r, 1, 15)) % 16 << 4 | 5);
		return n;
	case C_IPV4_BAD_HEADER_LEN:
		n = valid_frame(r, out, false, true);
		out[14] = (uint8_t)(0x40 | prng_below(r, 5));
		return n;
	case C_IPV4_BAD_TOTAL_LEN:
		n = valid_frame(r, out, false, true);
		put16(out + 16, (uint16_t)prng_below(r, 20));
		return n;
	case C_IPV6_TRUNCATED:
		n = valid_frame(r, out, true, true);
		return 14 + (size_t)prng_below(r, 40);
	case C_IPV6_BAD_VERSION:
		n = valid_frame(r, out, true, true);
		out[14] = (uint8_t)(((6 + prng_range(r, 1, 15)) % 16) << 4 | (out[14] & 0x0f));
		return n;
	case C_IPV6_EXT_TRUNCATED: {
		/* A hop-by-hop header that claims more bytes than there are. */
		n = valid_frame(r, out, true, true);
		size_t have = 2 + (size_t)prng_below(r, 6);
		out[20] = 0;
		put16(out + 18, (uint16_t)have);
		prng_fill(r, out + 54, have);
		out[54] = 6;
		out[55] = (uint8_t)prng_range(r, 1, 255);
		return 54 + have;
	}
	case C_IPV6_EXT_TOO_MANY: {
		/* DEC_MAX_IPV6_EXT + 1 destination-options headers, then TCP. */
		uint8_t inner[PKT_MAX];
		n = valid_frame(r, inner, true, true);
		size_t l4 = n - 54, ext = 9 * 8;
		memcpy(out, inner, 54);
		out[20] = 60;
		put16(out + 18, (uint16_t)(l4 + ext));
		for (size_t i = 0; i < 9; i++) {
			uint8_t *h = out + 54 + i * 8;
			memset(h, 0, 8);
			h[0] = i == 8 ? 6 : 60;
			h[2] = 1; /* PadN over the rest */
			h[3] = 4;
		}
		memcpy(out + 54 + ext, inner + 54, l4);
		return n + ext;
	}
	case C_TCP_TRUNCATED:
		return ipv4_with(r, out, 6, (size_t)prng_below(r, 20));
	case C_TCP_BAD_HEADER_LEN:
		n = ipv4_with(r, out, 6, 20 + (size_t)prng_below(r, 20));
		/* Data offset below 5 words, or past the datagram. */
		out[46] = (uint8_t)((prng_chance(r, 0.5) ? prng_below(r, 5) : prng_range(r, 11, 15)) << 4);
		return n;
	case C_UDP_TRUNCATED:
		return ipv4_with(r, out, 17, (size_t)prng_below(r, 8));
	case C_UDP_BAD_LEN: {
		size_t l4 = 8 + (size_t)prng_below(r, 32);
		n = ipv4_with(r, out, 17, l4);
		put16(out + 38, (uint16_t)(prng_chance(r, 0.5) ? prng_below(r, 8) : prng_range(r, l4 + 1, 65535)));
		return n;
	}
	case C_ICMP_TRUNCATED:
		return ipv4_with(r, out, 1, (size_t)prng_below(r, 4));
	case C_ARP_TRUNCATED: {
		static const uint8_t zero4[4];
		uint8_t mac[6];
		prng_fill(r, mac, 6);
		n = pkt_arp(out, mac, 1, mac, zero4, NULL, zero4);
		return 14 + (size_t)prng_below(r, 28);
	}
	default:
		return 0;
	}
}

int gen_garbage_main(int argc, char **argv)
{
	struct cli_bulk b;
	int rc = cli_parse_bulk(argc, argv, "garbage", usage, UINT64_C(100000000), &b);
	if (rc >= 0)
		return rc;
	struct prng r;
	prng_seed(&r, b.seed, prng_hash("garbage"));
	uint64_t counts[C_COUNT] = {0};
	struct pw *w;
	int err = pw_open(&w, b.out);
	if (err)
		return cli_runtime_error("garbage", "%s: %s", b.out, strerror(-err));
	uint8_t frame[PKT_MAX + 64];
	uint64_t ts = UINT64_C(1772431200000000); /* 2026-03-02T06:00:00Z */
	for (uint64_t i = 0; i < b.packets && !err; i++) {
		enum cls c = (enum cls)prng_below(&r, C_COUNT);
		size_t n = make(&r, c, frame);
		counts[c]++;
		err = pw_write(w, ts + i * 1000, frame, (uint32_t)n, (uint32_t)n);
	}
	int cerr = pw_close(w);
	if (err || cerr)
		return cli_runtime_error("garbage", "%s: %s", b.out, strerror(-(err ? err : cerr)));

	json_t *o = json_object(), *mal = json_object();
	uint64_t total = 0;
	for (int c = C_ETH_TRUNCATED; c < C_COUNT; c++) {
		if (counts[c])
			json_object_set_new(mal, cls_name[c], json_integer((json_int_t)counts[c]));
		total += counts[c];
	}
	json_object_set_new(o, "packets", json_integer((json_int_t)b.packets));
	json_object_set_new(o, "decoded", json_integer((json_int_t)counts[C_OK]));
	json_object_set_new(o, "other", json_integer((json_int_t)counts[C_OTHER]));
	json_object_set_new(o, "malformed_total", json_integer((json_int_t)total));
	json_object_set_new(o, "malformed", mal);
	rc = json_dumpf(o, stdout, JSON_COMPACT) == 0 && putchar('\n') != EOF ? CLI_OK : CLI_RUNTIME;
	json_decref(o);
	return rc;
}
