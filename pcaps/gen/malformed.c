/*
 * malformed — the malformed-capture corpus (pcaps/malformed).
 *
 * Each file is a pcap or pcapng capture wrong in one known way: a record or
 * block cut or lying about its length, a file header with an absurd snaplen,
 * absurd timestamps, a link type iotids does not decode or one that lies
 * about the bytes, pcapng blocks and options nobody knows. Five more hold a
 * reference packet (VLAN+IPv4 options+TCP options, IPv6 extension headers +
 * UDP + DNS, ARP, ICMP unreachable with the datagram it quotes, Linux SLL2)
 * cut at every byte, 0 to whole. `iotgen malformed -o DIR` writes them all
 * and a README.md listing them; tests/test_malformed.c holds iotids to a
 * golden transcript of each and checks the committed files are these bytes.
 *
 * Files are built in memory, field by field in an explicit byte order, not
 * through pcapw: pcapw writes host order and EN10MB only, and refuses what
 * this corpus is about (time going backwards, lengths that lie). So a
 * header can be wrong in exactly one field, and the corpus is the same
 * bytes on every host. Nothing is random: there is no seed.
 */
#include "pcaps/gen/malformed.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pcaps/gen/cli.h"
#include "pcaps/gen/pkt.h"
#include "pcaps/gen/wbuf.h"

#define T0 1772431200u       /* 2026-03-02T06:00:00Z, the demo's start */
#define YEAR_S (365u * 86400u)
#define MAGIC_US 0xa1b2c3d4u
#define MAGIC_NS 0xa1b23c4du
#define SNAPLEN 65535u
#define LT_EN10MB 1u
#define LT_RAW 101u          /* LINKTYPE_RAW: bare IPv4 or IPv6 */
#define LT_IEEE802_11 105u   /* known to libpcap, not decoded by iotids */
#define LT_UNKNOWN 4000u     /* assigned to nothing */
#define LT_LINUX_SLL2 276u

/* pcapng (draft-ietf-opsawg-pcapng) block types and options. */
#define NG_SHB 0x0A0D0D0Au
#define NG_IDB 1u
#define NG_SPB 3u
#define NG_NRB 4u
#define NG_ISB 5u
#define NG_EPB 6u
#define NG_DSB 0x0Au
#define NG_CUSTOM 0x00000BADu
#define NG_CUSTOM_NOCOPY 0x40000BADu
#define NG_BOM 0x1A2B3C4Du
#define OPT_COMMENT 1u
#define OPT_CUSTOM_STR 2988u
#define OPT_CUSTOM_BIN 2989u
#define OPT_CUSTOM_STR_NOCOPY 19372u
#define IF_NAME 2u
#define IF_TSRESOL 9u
#define IF_TSOFFSET 14u
#define SHB_HARDWARE 2u
#define EPB_FLAGS 2u
#define PEN_EXAMPLE 32473u   /* the IANA enterprise number for documentation (RFC 5612) */

/* ---- a capture file in memory ---------------------------------------- */

struct fb {
	uint8_t *p;
	size_t len, cap;
	bool be;  /* fields in big-endian order */
	bool err; /* out of memory; sticky, checked once at the end */
};

static uint8_t *fb_room(struct fb *f, size_t n)
{
	if (f->err)
		return NULL;
	if (n > f->cap - f->len) {
		size_t cap = f->cap ? f->cap : 4096;
		while (n > cap - f->len)
			cap *= 2;
		uint8_t *grown = realloc(f->p, cap);
		if (!grown) {
			f->err = true;
			return NULL;
		}
		f->p = grown;
		f->cap = cap;
	}
	uint8_t *at = f->p + f->len;
	f->len += n;
	return at;
}

/* An n-byte field in the file's byte order, at p. */
static void put_field(const struct fb *f, uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[f->be ? n - 1 - i : i] = (uint8_t)v;
}

static void fb_put(struct fb *f, uint64_t v, int n)
{
	uint8_t *at = fb_room(f, (size_t)n);
	if (at)
		put_field(f, at, v, n);
}

static void fb_u16(struct fb *f, uint16_t v)
{
	fb_put(f, v, 2);
}

static void fb_u32(struct fb *f, uint32_t v)
{
	fb_put(f, v, 4);
}

static void fb_u64(struct fb *f, uint64_t v)
{
	fb_put(f, v, 8);
}

static void fb_bytes(struct fb *f, const void *data, size_t n)
{
	uint8_t *at = fb_room(f, n);
	if (at && n)
		memcpy(at, data, n);
}

static void fb_zero(struct fb *f, size_t n)
{
	uint8_t *at = fb_room(f, n);
	if (at && n)
		memset(at, 0, n);
}

/* pcapng pads every field to 32 bits; blocks start aligned, so the file
 * offset tells how much. */
static void fb_pad4(struct fb *f)
{
	fb_zero(f, (4 - f->len % 4) % 4);
}

static void fb_patch32(struct fb *f, size_t at, uint32_t v)
{
	if (!f->err && at + 4 <= f->len)
		put_field(f, f->p + at, v, 4);
}

/* Drops everything after the first len bytes: a file cut short. */
static void fb_cut(struct fb *f, size_t len)
{
	if (len < f->len)
		f->len = len;
}

/* ---- reference packets ------------------------------------------------ */

enum ref_id { R_VLAN_TCP, R_IPV6_DNS, R_ARP, R_ICMP, R_SLL2, R_COUNT };

/* The first four are Ethernet frames, the good records of most files. */
#define R_ETHERNET 4

struct ref {
	const char *name;    /* the sweep's file is trunc-NAME.pcap */
	const char *what;
	uint32_t linktype;
	uint8_t b[160];
	size_t len;
};

static const uint8_t mac_gw[6] = {0x50, 0xc7, 0xbf, 0x3e, 0x91, 0x0a};
static const uint8_t mac_cam[6] = {0xc0, 0x56, 0xe3, 0xfa, 0x8a, 0xc3};
static const uint8_t mac_plug[6] = {0xd8, 0x1f, 0x12, 0x13, 0x8a, 0xc7};
static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t ip_gw[4] = {192, 168, 1, 1};
static const uint8_t ip_cam[4] = {192, 168, 1, 23};
static const uint8_t ip_plug[4] = {192, 168, 1, 31};
static const uint8_t ip_cloud[4] = {203, 0, 113, 7};
static const uint8_t ip6_plug[16] = {0x20, 0x01, 0x0d, 0xb8, 0x4a, 0x2b, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x31};
static const uint8_t ip6_gw[16] = {0x20, 0x01, 0x0d, 0xb8, 0x4a, 0x2b, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};

static void put16at(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A 20-byte IPv4 header without options; checksum by ipv4_fix. */
static void wb_ipv4(struct wb *b, uint8_t ihl, uint8_t tos, uint16_t total, uint16_t id, uint8_t proto,
		    const uint8_t *src, const uint8_t *dst)
{
	wb_u8(b, (uint8_t)(0x40 | ihl));
	wb_u8(b, tos);
	wb_u16(b, total);
	wb_u16(b, id);
	wb_u16(b, 0x4000); /* don't fragment */
	wb_u8(b, 64);
	wb_u8(b, proto);
	wb_u16(b, 0);
	wb_bytes(b, src, 4);
	wb_bytes(b, dst, 4);
}

static void ipv4_fix(uint8_t *ip)
{
	put16at(ip + 10, 0);
	put16at(ip + 10, pkt_csum(ip, (size_t)(ip[0] & 0x0f) * 4));
}

/* TCP or UDP checksum with the pseudo-header (RFC 9293 3.1, RFC 8200 8.1).
 * The one's-complement sum does not depend on where the 16-bit words sit,
 * so both versions reduce to addresses, protocol and length. */
static void l4_fix(const uint8_t *ip, bool v6, uint8_t *l4, size_t len, uint8_t proto)
{
	uint8_t buf[40 + 160];
	size_t alen = v6 ? 16 : 4, at = proto == 6 ? 16 : 6;
	if (len > sizeof(buf) - 2 * alen - 4)
		return;
	put16at(l4 + at, 0);
	memcpy(buf, ip + (v6 ? 8 : 12), 2 * alen);
	buf[2 * alen] = 0;
	buf[2 * alen + 1] = proto;
	put16at(buf + 2 * alen + 2, (uint16_t)len);
	memcpy(buf + 2 * alen + 4, l4, len);
	put16at(l4 + at, pkt_csum(buf, 2 * alen + 4 + len));
}

/* Camera SYN to its cloud, VLAN 10, IPv4 with a Router Alert option, TCP
 * with MSS, SACK-permitted, timestamps and window scale. */
static size_t ref_vlan_tcp(uint8_t *out, size_t cap)
{
	static const uint8_t ipopt[8] = {0x94, 4, 0, 0, 1, 1, 1, 0}; /* RFC 2113, NOPs, end */
	static const uint8_t tcpopt[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0x1a, 0x2b, 0x3c,
					   0, 0, 0, 0, 1, 3, 3, 7};
	struct wb b;
	wb_init(&b, out, cap);
	wb_bytes(&b, mac_gw, 6);
	wb_bytes(&b, mac_cam, 6);
	wb_u16(&b, 0x8100);
	wb_u16(&b, 10);
	wb_u16(&b, PKT_ETH_IPV4);
	wb_ipv4(&b, 7, 0, 28 + 40, 0x1c46, 6, ip_cam, ip_cloud);
	wb_bytes(&b, ipopt, sizeof(ipopt));
	wb_u16(&b, 51514);
	wb_u16(&b, 443);
	wb_u32(&b, 0x12345678);
	wb_u32(&b, 0);
	wb_u8(&b, 10 << 4);
	wb_u8(&b, PKT_SYN);
	wb_u16(&b, 64240);
	wb_u32(&b, 0); /* checksum, urgent pointer */
	wb_bytes(&b, tcpopt, sizeof(tcpopt));
	size_t n = wb_done(&b);
	if (n) {
		ipv4_fix(out + 18);
		l4_fix(out + 18, false, out + 46, 40, 6);
	}
	return n;
}

/* Plug's DNS query for a2.tuyaeu.com over IPv6, through a Hop-by-Hop header
 * (Router Alert, PadN) and a Destination Options header (PadN). */
static size_t ref_ipv6_dns(uint8_t *out, size_t cap)
{
	static const uint8_t hbh[8] = {60, 0, 5, 2, 0, 0, 1, 0};
	static const uint8_t dst[8] = {17, 0, 1, 4, 0, 0, 0, 0};
	static const uint8_t qname[] = "\x02" "a2" "\x06" "tuyaeu" "\x03" "com";
	struct wb b;
	wb_init(&b, out, cap);
	wb_bytes(&b, mac_gw, 6);
	wb_bytes(&b, mac_plug, 6);
	wb_u16(&b, PKT_ETH_IPV6);
	wb_u32(&b, 0x60000000);
	wb_u16(&b, 0); /* payload length, once known */
	wb_u8(&b, 0); /* Hop-by-Hop */
	wb_u8(&b, 64);
	wb_bytes(&b, ip6_plug, 16);
	wb_bytes(&b, ip6_gw, 16);
	wb_bytes(&b, hbh, sizeof(hbh));
	wb_bytes(&b, dst, sizeof(dst));
	size_t udp = b.len;
	wb_u16(&b, 40000);
	wb_u16(&b, 53);
	wb_u16(&b, 8 + 12 + sizeof(qname) + 4);
	wb_u16(&b, 0);
	wb_u16(&b, 0x1234); /* DNS: id, RD, one question */
	wb_u16(&b, 0x0100);
	wb_u16(&b, 1);
	wb_zero(&b, 6);
	wb_bytes(&b, qname, sizeof(qname));
	wb_u16(&b, 1);
	wb_u16(&b, 1);
	size_t n = wb_done(&b);
	if (n) {
		put16at(out + 18, (uint16_t)(n - 14 - 40));
		l4_fix(out + 14, true, out + udp, n - udp, 17);
	}
	return n;
}

/* Plug asks who has the gateway's address; unpadded, as a bridge captures
 * its own frames. */
static size_t ref_arp(uint8_t *out, size_t cap)
{
	return cap >= PKT_MAX ? pkt_arp(out, mac_bcast, 1, mac_plug, ip_plug, NULL, ip_gw) : 0;
}

/* Gateway tells the camera port 53 is unreachable, quoting the camera's IPv4
 * header and the first 8 bytes of its UDP datagram (RFC 792). */
static size_t ref_icmp(uint8_t *out, size_t cap)
{
	struct wb b;
	wb_init(&b, out, cap);
	wb_bytes(&b, mac_cam, 6);
	wb_bytes(&b, mac_gw, 6);
	wb_u16(&b, PKT_ETH_IPV4);
	wb_ipv4(&b, 5, 0xc0, 20 + 8 + 28, 0x0001, 1, ip_gw, ip_cam);
	wb_u8(&b, 3);
	wb_u8(&b, 3);
	wb_u16(&b, 0);
	wb_u32(&b, 0);
	wb_ipv4(&b, 5, 0, 20 + 8 + 31, 0x04d2, 17, ip_cam, ip_gw);
	wb_u16(&b, 40001);
	wb_u16(&b, 53);
	wb_u16(&b, 8 + 31);
	wb_u16(&b, 0);
	size_t n = wb_done(&b);
	if (n) {
		ipv4_fix(out + 14);
		ipv4_fix(out + 42);
		put16at(out + 36, pkt_csum(out + 34, 36));
	}
	return n;
}

/* What `tcpdump -i any` writes: a Linux cooked v2 header (the camera's
 * outgoing HTTP request), then IPv4 and TCP. */
static size_t ref_sll2(uint8_t *out, size_t cap)
{
	static const char req[] = "GET / HTTP/1.1\r\n";
	struct wb b;
	wb_init(&b, out, cap);
	wb_u16(&b, PKT_ETH_IPV4);
	wb_u16(&b, 0);
	wb_u32(&b, 3);  /* ifindex */
	wb_u16(&b, 1);  /* ARPHRD_ETHER */
	wb_u8(&b, 4);   /* PACKET_OUTGOING */
	wb_u8(&b, 6);
	wb_bytes(&b, mac_cam, 6);
	wb_zero(&b, 2);
	wb_ipv4(&b, 5, 0, 20 + 20 + 16, 0x2a2a, 6, ip_cam, ip_cloud);
	wb_u16(&b, 51600);
	wb_u16(&b, 80);
	wb_u32(&b, 0x0badcafe);
	wb_u32(&b, 0x00c0ffee);
	wb_u8(&b, 5 << 4);
	wb_u8(&b, PKT_ACK | PKT_PSH);
	wb_u16(&b, 502);
	wb_u32(&b, 0);
	wb_bytes(&b, req, 16);
	size_t n = wb_done(&b);
	if (n) {
		ipv4_fix(out + 20);
		l4_fix(out + 20, false, out + 40, 36, 6);
	}
	return n;
}

static int build_refs(struct ref *r)
{
	static const struct {
		const char *name, *what;
		uint32_t linktype;
		size_t (*build)(uint8_t *out, size_t cap);
	} defs[R_COUNT] = {
		{"vlan-ipv4-tcp", "Ethernet, 802.1Q, IPv4 with options, TCP SYN with options", LT_EN10MB, ref_vlan_tcp},
		{"ipv6-ext-udp-dns", "Ethernet, IPv6, Hop-by-Hop and Destination Options headers, UDP, DNS query",
		 LT_EN10MB, ref_ipv6_dns},
		{"arp", "Ethernet, ARP request", LT_EN10MB, ref_arp},
		{"icmp-unreachable", "Ethernet, IPv4, ICMP port unreachable quoting an IPv4+UDP header", LT_EN10MB,
		 ref_icmp},
		{"sll2-ipv4-tcp", "Linux cooked v2, IPv4, TCP with an HTTP request", LT_LINUX_SLL2, ref_sll2},
	};
	uint8_t tmp[PKT_MAX];
	for (int i = 0; i < R_COUNT; i++) {
		size_t n = defs[i].build(tmp, sizeof(tmp));
		if (n == 0 || n > sizeof(r[i].b))
			return -EOVERFLOW;
		r[i].name = defs[i].name;
		r[i].what = defs[i].what;
		r[i].linktype = defs[i].linktype;
		memcpy(r[i].b, tmp, n);
		r[i].len = n;
	}
	return 0;
}

/* ---- classic pcap ----------------------------------------------------- */

static void pcap_header(struct fb *f, uint32_t magic, uint16_t major, uint32_t snaplen, uint32_t linktype)
{
	fb_u32(f, magic);
	fb_u16(f, major);
	fb_u16(f, 4);
	fb_u32(f, 0); /* thiszone */
	fb_u32(f, 0); /* sigfigs */
	fb_u32(f, snaplen);
	fb_u32(f, linktype);
}

/* A record header, then n bytes of data (fewer than caplen: a cut file). */
static void pcap_record(struct fb *f, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t wirelen,
			const uint8_t *data, size_t n)
{
	fb_u32(f, sec);
	fb_u32(f, frac);
	fb_u32(f, caplen);
	fb_u32(f, wirelen);
	fb_bytes(f, data, n);
}

static void pcap_packet(struct fb *f, uint32_t sec, uint32_t usec, const struct ref *r)
{
	pcap_record(f, sec, usec, (uint32_t)r->len, (uint32_t)r->len, r->b, r->len);
}

/* The Ethernet references, whole, one a second from T0 + first. */
static void good_records(struct fb *f, const struct ref *r, int n, uint32_t first)
{
	for (int i = 0; i < n; i++)
		pcap_packet(f, T0 + first + (uint32_t)i, 0, &r[i]);
}

static void c_good_le(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, SNAPLEN, LT_EN10MB);
	good_records(f, r, R_ETHERNET, 0);
}

static void c_good_be(struct fb *f, const struct ref *r)
{
	f->be = true;
	c_good_le(f, r);
}

static void c_file_header_cut(struct fb *f, const struct ref *r)
{
	c_good_le(f, r);
	fb_cut(f, 10);
}

static void c_file_version_bad(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 3, SNAPLEN, LT_EN10MB);
	good_records(f, r, R_ETHERNET, 0);
}

static void c_record_header_cut(struct fb *f, const struct ref *r)
{
	c_good_le(f, r);
	fb_cut(f, f->len - r[R_ICMP].len - 16 + 9);
}

static void c_record_data_cut(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, SNAPLEN, LT_EN10MB);
	good_records(f, r, 3, 0);
	pcap_record(f, T0 + 3, 0, (uint32_t)r[R_ICMP].len, (uint32_t)r[R_ICMP].len, r[R_ICMP].b, 40);
}

static void c_caplen_over_snaplen(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, 64, LT_EN10MB);
	good_records(f, r, R_ETHERNET, 0);
}

static void c_caplen_over_wirelen(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, SNAPLEN, LT_EN10MB);
	pcap_record(f, T0, 0, (uint32_t)r[R_VLAN_TCP].len, 60, r[R_VLAN_TCP].b, r[R_VLAN_TCP].len);
	pcap_record(f, T0 + 1, 0, (uint32_t)r[R_IPV6_DNS].len, 0, r[R_IPV6_DNS].b, r[R_IPV6_DNS].len);
	pcap_packet(f, T0 + 2, 0, &r[R_ARP]);
	pcap_packet(f, T0 + 3, 0, &r[R_ICMP]);
}

static void c_caplen_2g(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, SNAPLEN, LT_EN10MB);
	good_records(f, r, 2, 0);
	pcap_record(f, T0 + 2, 0, 0x80000000u, 0x80000000u, r[R_VLAN_TCP].b, r[R_VLAN_TCP].len);
	pcap_packet(f, T0 + 3, 0, &r[R_ARP]);
}

static void c_snaplen_0(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, 0, LT_EN10MB);
	good_records(f, r, R_ETHERNET, 0);
}

static void c_snaplen_2g(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, 0x80000000u, LT_EN10MB);
	good_records(f, r, R_ETHERNET, 0);
}

static void c_ts_zero(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, SNAPLEN, LT_EN10MB);
	pcap_packet(f, 0, 0, &r[R_VLAN_TCP]);
	pcap_packet(f, 0, 1, &r[R_ARP]);
	pcap_packet(f, 1, 0, &r[R_IPV6_DNS]);
}

static void c_ts_max(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, SNAPLEN, LT_EN10MB);
	pcap_packet(f, 0xffffffffu, 999999, &r[R_VLAN_TCP]);
	pcap_packet(f, 0xffffffffu, 0xffffffffu, &r[R_ARP]);
}

static void c_ts_usec_overflow(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, SNAPLEN, LT_EN10MB);
	pcap_packet(f, T0, 999999, &r[R_VLAN_TCP]);
	pcap_packet(f, T0, 1000000, &r[R_IPV6_DNS]);
	pcap_packet(f, T0, 0xffffffffu, &r[R_ARP]);
	pcap_packet(f, T0 + 4296, 0, &r[R_ICMP]);
}

static void c_ts_nsec(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_NS, 2, SNAPLEN, LT_EN10MB);
	pcap_packet(f, T0, 123456789, &r[R_VLAN_TCP]);
	pcap_packet(f, T0, 999999999, &r[R_IPV6_DNS]);
	pcap_packet(f, T0 + 1, 1000000000, &r[R_ARP]);
	pcap_packet(f, T0 + 2, 0xffffffffu, &r[R_ICMP]);
}

static void c_ts_backwards(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, SNAPLEN, LT_EN10MB);
	pcap_packet(f, T0, 0, &r[R_VLAN_TCP]);
	pcap_packet(f, T0 - 5 * YEAR_S, 0, &r[R_IPV6_DNS]);
	pcap_packet(f, T0 + 1, 0, &r[R_ARP]);
	pcap_packet(f, 1000000000, 0, &r[R_ICMP]);
}

static void c_linktype_undecoded(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, SNAPLEN, LT_IEEE802_11);
	good_records(f, r, 2, 0);
}

static void c_linktype_unknown(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, SNAPLEN, LT_UNKNOWN);
	good_records(f, r, 2, 0);
}

/* Ethernet frames in a raw-IP file, and one whose destination MAC happens
 * to start like an IPv4 header (0x45). */
static void c_linktype_lies(struct fb *f, const struct ref *r)
{
	uint8_t v4ish[sizeof(r[R_VLAN_TCP].b)];
	memcpy(v4ish, r[R_VLAN_TCP].b, r[R_VLAN_TCP].len);
	v4ish[0] = 0x45;
	pcap_header(f, MAGIC_US, 2, SNAPLEN, LT_RAW);
	good_records(f, r, R_ETHERNET, 0);
	pcap_record(f, T0 + 4, 0, (uint32_t)r[R_VLAN_TCP].len, (uint32_t)r[R_VLAN_TCP].len, v4ish, r[R_VLAN_TCP].len);
}

static void c_zero_length(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, SNAPLEN, LT_EN10MB);
	pcap_packet(f, T0, 0, &r[R_ARP]);
	pcap_record(f, T0 + 1, 0, 0, 0, NULL, 0);
	pcap_record(f, T0 + 2, 0, 0, 60, NULL, 0);
	pcap_packet(f, T0 + 3, 0, &r[R_ARP]);
}

/* ---- pcapng ----------------------------------------------------------- */

/* Opens a block: its type and a total length ng_end fills in. */
static size_t ng_begin(struct fb *f, uint32_t type)
{
	size_t at = f->len;
	fb_u32(f, type);
	fb_u32(f, 0);
	return at;
}

static void ng_end(struct fb *f, size_t at)
{
	fb_pad4(f);
	uint32_t total = (uint32_t)(f->len - at + 4);
	fb_patch32(f, at + 4, total);
	fb_u32(f, total);
}

static void ng_opt(struct fb *f, uint16_t code, const void *v, uint16_t len)
{
	fb_u16(f, code);
	fb_u16(f, len);
	fb_bytes(f, v, len);
	fb_pad4(f);
}

/* A custom option: the enterprise number, then its bytes. */
static void ng_opt_custom(struct fb *f, uint16_t code, const char *s)
{
	size_t n = strlen(s);
	fb_u16(f, code);
	fb_u16(f, (uint16_t)(4 + n));
	fb_u32(f, PEN_EXAMPLE);
	fb_bytes(f, s, n);
	fb_pad4(f);
}

static void ng_opt_end(struct fb *f)
{
	fb_u32(f, 0);
}

static size_t ng_shb_open(struct fb *f, uint16_t major)
{
	size_t at = ng_begin(f, NG_SHB);
	fb_u32(f, NG_BOM);
	fb_u16(f, major);
	fb_u16(f, 0);
	fb_u64(f, UINT64_MAX); /* section length unknown */
	return at;
}

static void ng_shb(struct fb *f)
{
	ng_end(f, ng_shb_open(f, 1));
}

static size_t ng_idb_open(struct fb *f, uint16_t linktype, uint32_t snaplen)
{
	size_t at = ng_begin(f, NG_IDB);
	fb_u16(f, linktype);
	fb_u16(f, 0);
	fb_u32(f, snaplen);
	return at;
}

static void ng_idb(struct fb *f, uint16_t linktype, uint32_t snaplen)
{
	ng_end(f, ng_idb_open(f, linktype, snaplen));
}

/* An Enhanced Packet Block up to its options; ts in the interface's units. */
static size_t ng_epb_open(struct fb *f, uint32_t ifid, uint64_t ts, const uint8_t *data, uint32_t caplen,
			  uint32_t wirelen, size_t n)
{
	size_t at = ng_begin(f, NG_EPB);
	fb_u32(f, ifid);
	fb_u32(f, (uint32_t)(ts >> 32));
	fb_u32(f, (uint32_t)ts);
	fb_u32(f, caplen);
	fb_u32(f, wirelen);
	fb_bytes(f, data, n);
	fb_pad4(f);
	return at;
}

/* A whole reference packet, up to the EPB's options. */
static size_t ng_packet_open(struct fb *f, uint32_t ifid, uint64_t ts, const struct ref *r)
{
	return ng_epb_open(f, ifid, ts, r->b, (uint32_t)r->len, (uint32_t)r->len, r->len);
}

static size_t ng_packet(struct fb *f, uint32_t ifid, uint64_t ts, const struct ref *r)
{
	size_t at = ng_packet_open(f, ifid, ts, r);
	ng_end(f, at);
	return at;
}

static uint64_t us_at(uint32_t s)
{
	return (uint64_t)(T0 + s) * 1000000u;
}

static void ng_good_body(struct fb *f, const struct ref *r)
{
	static const uint8_t nrb_ip[4] = {203, 0, 113, 7};
	static const char nrb_name[] = "cloud.example";
	ng_shb(f);
	ng_idb(f, LT_EN10MB, 262144);
	ng_packet(f, 0, us_at(0), &r[R_VLAN_TCP]);
	size_t nrb = ng_begin(f, NG_NRB); /* one IPv4 name record, then the end record */
	fb_u16(f, 1);
	fb_u16(f, (uint16_t)(4 + sizeof(nrb_name)));
	fb_bytes(f, nrb_ip, 4);
	fb_bytes(f, nrb_name, sizeof(nrb_name));
	fb_pad4(f);
	fb_u32(f, 0);
	ng_end(f, nrb);
	ng_packet(f, 0, us_at(1), &r[R_IPV6_DNS]);
	size_t isb = ng_begin(f, NG_ISB);
	fb_u32(f, 0);
	fb_u32(f, (uint32_t)(us_at(1) >> 32));
	fb_u32(f, (uint32_t)us_at(1));
	ng_end(f, isb);
	ng_packet(f, 0, us_at(2), &r[R_ARP]);
	ng_packet(f, 0, us_at(3), &r[R_ICMP]);
}

static void c_ng_good(struct fb *f, const struct ref *r)
{
	ng_good_body(f, r);
}

static void c_ng_be(struct fb *f, const struct ref *r)
{
	f->be = true;
	ng_good_body(f, r);
}

static void c_ng_version_bad(struct fb *f, const struct ref *r)
{
	ng_end(f, ng_shb_open(f, 2));
	ng_idb(f, LT_EN10MB, 262144);
	ng_packet(f, 0, us_at(0), &r[R_VLAN_TCP]);
}

static void c_ng_simple_packet(struct fb *f, const struct ref *r)
{
	ng_shb(f);
	ng_idb(f, LT_EN10MB, 262144);
	ng_packet(f, 0, us_at(0), &r[R_VLAN_TCP]);
	size_t spb = ng_begin(f, NG_SPB);
	fb_u32(f, (uint32_t)r[R_ARP].len);
	fb_bytes(f, r[R_ARP].b, r[R_ARP].len);
	ng_end(f, spb);
	ng_packet(f, 0, us_at(2), &r[R_IPV6_DNS]);
}

static void c_ng_unknown_blocks(struct fb *f, const struct ref *r)
{
	static const char keylog[] = "CLIENT_RANDOM 00 00\n";
	ng_shb(f);
	ng_idb(f, LT_EN10MB, 262144);
	ng_packet(f, 0, us_at(0), &r[R_VLAN_TCP]);
	size_t b = ng_begin(f, 0x0000ABCDu); /* assigned to nothing */
	fb_u64(f, 0x0123456789abcdefu);
	ng_end(f, b);
	ng_packet(f, 0, us_at(1), &r[R_IPV6_DNS]);
	b = ng_begin(f, NG_CUSTOM);
	fb_u32(f, PEN_EXAMPLE);
	fb_bytes(f, "iotids", 6);
	ng_end(f, b);
	b = ng_begin(f, NG_CUSTOM_NOCOPY);
	fb_u32(f, PEN_EXAMPLE);
	ng_end(f, b);
	b = ng_begin(f, NG_DSB); /* TLS key log secrets */
	fb_u32(f, 0x544c534bu);
	fb_u32(f, (uint32_t)(sizeof(keylog) - 1));
	fb_bytes(f, keylog, sizeof(keylog) - 1);
	ng_end(f, b);
	b = ng_begin(f, 0x80000001u); /* local use */
	ng_end(f, b);
	ng_packet(f, 0, us_at(2), &r[R_ARP]);
	ng_packet(f, 0, us_at(3), &r[R_ICMP]);
}

/* Known options, unknown ones (odd lengths, padded) and custom ones on
 * every block; the interface counts nanoseconds. */
static void c_ng_unknown_options(struct fb *f, const struct ref *r)
{
	static const uint8_t tsresol_ns = 9, odd[5] = {1, 2, 3, 4, 5};
	static const uint32_t inbound = 1;
	static const char comment[] = "a comment";
	size_t b = ng_shb_open(f, 1);
	ng_opt(f, SHB_HARDWARE, "iotgen", 6);
	ng_opt_custom(f, OPT_CUSTOM_STR, "section");
	ng_opt(f, 0x7777, odd, 3);
	ng_opt(f, OPT_COMMENT, comment, sizeof(comment) - 1);
	ng_opt_end(f);
	ng_end(f, b);
	b = ng_idb_open(f, LT_EN10MB, 262144);
	ng_opt(f, IF_NAME, "br-lan", 6);
	ng_opt(f, IF_TSRESOL, &tsresol_ns, 1);
	ng_opt(f, 200, odd, 5);
	ng_opt_custom(f, OPT_CUSTOM_BIN, "\x01\x02");
	ng_opt_end(f);
	ng_end(f, b);
	b = ng_packet_open(f, 0, us_at(0) * 1000u, &r[R_VLAN_TCP]);
	uint8_t flags[4];
	put_field(f, flags, inbound, 4);
	ng_opt(f, EPB_FLAGS, flags, 4);
	ng_opt(f, 0x1234, odd, 3);
	ng_opt_custom(f, OPT_CUSTOM_STR_NOCOPY, "packet");
	ng_opt_end(f);
	ng_end(f, b);
	b = ng_packet_open(f, 0, us_at(1) * 1000u + 1, &r[R_IPV6_DNS]);
	ng_opt(f, OPT_COMMENT, comment, sizeof(comment) - 1);
	ng_opt_end(f);
	ng_end(f, b);
	ng_packet(f, 0, us_at(2) * 1000u, &r[R_ARP]);
}

static void c_ng_two_interfaces(struct fb *f, const struct ref *r)
{
	ng_shb(f);
	ng_idb(f, LT_EN10MB, 262144);
	size_t b = ng_idb_open(f, LT_EN10MB, 262144);
	ng_opt(f, IF_NAME, "wlan0", 5);
	ng_opt_end(f);
	ng_end(f, b);
	for (uint32_t i = 0; i < R_ETHERNET; i++)
		ng_packet(f, i % 2, us_at(i), &r[i]);
}

/* The second interface appears after a packet of the first. */
static void c_ng_two_linktypes(struct fb *f, const struct ref *r)
{
	struct ref ip = r[R_ICMP];
	ip.len -= 14;
	memmove(ip.b, ip.b + 14, ip.len);
	ng_shb(f);
	ng_idb(f, LT_EN10MB, 262144);
	ng_packet(f, 0, us_at(0), &r[R_VLAN_TCP]);
	ng_idb(f, LT_RAW, 262144);
	ng_packet(f, 1, us_at(1), &ip);
	ng_packet(f, 0, us_at(2), &r[R_IPV6_DNS]);
}

static void c_ng_two_snaplens(struct fb *f, const struct ref *r)
{
	ng_shb(f);
	ng_idb(f, LT_EN10MB, 262144);
	ng_packet(f, 0, us_at(0), &r[R_VLAN_TCP]);
	ng_idb(f, LT_EN10MB, 128);
	ng_packet(f, 1, us_at(1), &r[R_IPV6_DNS]);
	ng_packet(f, 0, us_at(2), &r[R_ARP]);
}

static void ng_prelude(struct fb *f, const struct ref *r)
{
	ng_shb(f);
	ng_idb(f, LT_EN10MB, 262144);
	ng_packet(f, 0, us_at(0), &r[R_VLAN_TCP]);
}

static void c_ng_block_length_mismatch(struct fb *f, const struct ref *r)
{
	ng_prelude(f, r);
	size_t at = ng_packet(f, 0, us_at(1), &r[R_IPV6_DNS]);
	fb_patch32(f, f->len - 4, (uint32_t)(f->len - at + 4));
	ng_packet(f, 0, us_at(2), &r[R_ARP]);
}

static void c_ng_block_length_short(struct fb *f, const struct ref *r)
{
	ng_prelude(f, r);
	fb_u32(f, NG_EPB);
	fb_u32(f, 8);
	ng_packet(f, 0, us_at(2), &r[R_ARP]);
}

static void c_ng_block_length_unaligned(struct fb *f, const struct ref *r)
{
	ng_prelude(f, r);
	size_t at = ng_packet(f, 0, us_at(1), &r[R_IPV6_DNS]);
	fb_patch32(f, at + 4, (uint32_t)(f->len - at - 2));
	ng_packet(f, 0, us_at(2), &r[R_ARP]);
}

static void c_ng_block_length_huge(struct fb *f, const struct ref *r)
{
	ng_prelude(f, r);
	size_t at = ng_packet(f, 0, us_at(1), &r[R_IPV6_DNS]);
	fb_patch32(f, at + 4, 0x7ffffff0u);
	ng_packet(f, 0, us_at(2), &r[R_ARP]);
}

static void c_ng_epb_cut(struct fb *f, const struct ref *r)
{
	ng_prelude(f, r);
	size_t at = ng_packet(f, 0, us_at(1), &r[R_IPV6_DNS]);
	fb_cut(f, at + 60);
}

static void c_ng_epb_caplen_over_block(struct fb *f, const struct ref *r)
{
	ng_prelude(f, r);
	size_t at = ng_epb_open(f, 0, us_at(1), r[R_IPV6_DNS].b, 200, 200, r[R_IPV6_DNS].len);
	ng_end(f, at);
	ng_packet(f, 0, us_at(2), &r[R_ARP]);
}

static void c_ng_epb_caplen_over_snaplen(struct fb *f, const struct ref *r)
{
	ng_shb(f);
	ng_idb(f, LT_EN10MB, 64);
	for (uint32_t i = 0; i < R_ETHERNET; i++)
		ng_packet(f, 0, us_at(i), &r[i]);
}

static void c_ng_epb_caplen_over_wirelen(struct fb *f, const struct ref *r)
{
	ng_prelude(f, r);
	ng_end(f, ng_epb_open(f, 0, us_at(1), r[R_IPV6_DNS].b, (uint32_t)r[R_IPV6_DNS].len, 60, r[R_IPV6_DNS].len));
	ng_packet(f, 0, us_at(2), &r[R_ARP]);
}

static void c_ng_epb_bad_interface(struct fb *f, const struct ref *r)
{
	ng_prelude(f, r);
	ng_packet(f, 3, us_at(1), &r[R_IPV6_DNS]);
	ng_packet(f, 0, us_at(2), &r[R_ARP]);
}

static void c_ng_zero_length(struct fb *f, const struct ref *r)
{
	ng_prelude(f, r);
	ng_end(f, ng_epb_open(f, 0, us_at(1), NULL, 0, 0, 0));
	ng_end(f, ng_epb_open(f, 0, us_at(2), NULL, 0, 60, 0));
	ng_packet(f, 0, us_at(3), &r[R_ARP]);
}

static void ng_second_section(struct fb *f, const struct ref *r)
{
	ng_shb(f);
	ng_idb(f, LT_EN10MB, 262144);
	ng_packet(f, 0, us_at(2), &r[R_ARP]);
	ng_packet(f, 0, us_at(3), &r[R_ICMP]);
}

static void c_ng_shb_middle(struct fb *f, const struct ref *r)
{
	ng_prelude(f, r);
	ng_packet(f, 0, us_at(1), &r[R_IPV6_DNS]);
	ng_second_section(f, r);
}

static void c_ng_shb_middle_swapped(struct fb *f, const struct ref *r)
{
	ng_prelude(f, r);
	ng_packet(f, 0, us_at(1), &r[R_IPV6_DNS]);
	f->be = true;
	ng_second_section(f, r);
}

/* Timestamps past any calendar: the largest count of microseconds, the
 * largest count of seconds, and a huge offset. */
static void c_ng_ts_absurd(struct fb *f, const struct ref *r)
{
	static const uint8_t tsresol_s = 0;
	uint8_t offset[8];
	ng_shb(f);
	ng_idb(f, LT_EN10MB, 262144);
	size_t b = ng_idb_open(f, LT_EN10MB, 262144);
	ng_opt(f, IF_TSRESOL, &tsresol_s, 1);
	ng_opt_end(f);
	ng_end(f, b);
	b = ng_idb_open(f, LT_EN10MB, 262144);
	put_field(f, offset, (uint64_t)INT64_MAX, 8);
	ng_opt(f, IF_TSOFFSET, offset, 8);
	ng_opt_end(f);
	ng_end(f, b);
	ng_packet(f, 0, 0, &r[R_VLAN_TCP]);
	ng_packet(f, 0, UINT64_MAX, &r[R_IPV6_DNS]);
	ng_packet(f, 1, UINT64_MAX, &r[R_ARP]);
	ng_packet(f, 2, us_at(3), &r[R_ICMP]);
	ng_packet(f, 0, us_at(4), &r[R_VLAN_TCP]);
}

/* ---- the corpus ------------------------------------------------------- */

/* One file of the corpus: how it is built, and its row in the README. */
struct corpus_file {
	const char *file;
	void (*build)(struct fb *f, const struct ref *r);
	const char *what;
	const char *expect;
};

static const struct corpus_file cases[] = {
	{"good-le.pcap", c_good_le, "four good Ethernet frames (the first four references), little-endian",
	 "read all 4, exit 0"},
	{"good-be.pcap", c_good_be, "the same frames with big-endian headers",
	 "the same summary as good-le.pcap"},
	{"file-header-cut.pcap", c_file_header_cut, "10 bytes of a file header",
	 "`truncated file header: the file ends after 10 bytes`, exit 1"},
	{"file-version-bad.pcap", c_file_version_bad, "file header version 3.4",
	 "refused at open naming the version, exit 1"},
	{"record-header-cut.pcap", c_record_header_cut, "3 records, then 9 bytes of a record header",
	 "read 3, then `packet 4: truncated dump file`, exit 1"},
	{"record-data-cut.pcap", c_record_data_cut, "3 records, then a record with 40 of its 70 bytes",
	 "read 3, then `packet 4: truncated dump file`, exit 1"},
	{"caplen-over-snaplen.pcap", c_caplen_over_snaplen, "snaplen 64, records of up to 109 captured bytes",
	 "libpcap keeps the first 64 bytes of each: read 4, the two cut inside a header counted truncated, exit 0"},
	{"caplen-over-wirelen.pcap", c_caplen_over_wirelen, "records whose captured length exceeds the wire length (60, 0)",
	 "read 4, counting the captured length as the wire length, exit 0"},
	{"caplen-2g.pcap", c_caplen_2g, "2 records, then one claiming 2^31 captured bytes",
	 "read 2, then `packet 3: invalid packet capture length`, exit 1; nothing allocated for it"},
	{"snaplen-0.pcap", c_snaplen_0, "file header snaplen 0", "libpcap takes its maximum: read 4, exit 0"},
	{"snaplen-2g.pcap", c_snaplen_2g, "file header snaplen 2^31", "libpcap takes its maximum: read 4, exit 0"},
	{"ts-zero.pcap", c_ts_zero, "timestamps 0, 1 us and 1 s (1970)", "read 3, times in 1970, exit 0"},
	{"ts-max.pcap", c_ts_max, "2^32-1 seconds (2106), microseconds 999999 and 2^32-1",
	 "read 2, times in 2106 (the fields are unsigned), exit 0"},
	{"ts-usec-overflow.pcap", c_ts_usec_overflow, "microseconds 1000000 and 2^32-1",
	 "read 4, the excess carried into the seconds, exit 0"},
	{"ts-nsec.pcap", c_ts_nsec, "nanosecond magic, fractions 10^9 and 2^32-1",
	 "read 4 at microsecond precision, the excess carried, exit 0"},
	{"ts-backwards.pcap", c_ts_backwards, "time going back 5 years, then 25 years",
	 "read 4, `timestamps_backwards` 2, late packets counted at the latest time, exit 0"},
	{"linktype-undecoded.pcap", c_linktype_undecoded,
	 "link type 105 (IEEE802_11): libpcap knows it, iotids does not decode it",
	 "`unsupported link type 105 (IEEE802_11)`, exit 1"},
	{"linktype-unknown.pcap", c_linktype_unknown, "link type 4000, assigned to nothing",
	 "`unsupported link type 4000 (unknown)`, exit 1"},
	{"linktype-lies.pcap", c_linktype_lies, "Ethernet frames in a raw-IP (101) file",
	 "read 5: four `raw_bad_version`; the 0x45 one passes for a cut IPv4 fragment of protocol 250"
	 " (nothing can tell), exit 0"},
	{"zero-length.pcap", c_zero_length, "records of 0 captured bytes (wire length 0 and 60) between two ARPs",
	 "read 4, the empty ones `eth_truncated`, exit 0"},
	{"ng-good.pcapng", c_ng_good, "pcapng: the four frames with a name resolution and a statistics block",
	 "read 4, exit 0"},
	{"ng-be.pcapng", c_ng_be, "ng-good.pcapng in big-endian", "the same summary as ng-good.pcapng"},
	{"ng-version-bad.pcapng", c_ng_version_bad, "section header version 2.0",
	 "refused at open naming the version, exit 1"},
	{"ng-simple-packet.pcapng", c_ng_simple_packet, "a Simple Packet Block (no timestamp) between two EPBs",
	 "read 3, the simple one at time 0 (counted as time going backwards), exit 0"},
	{"ng-unknown-blocks.pcapng", c_ng_unknown_blocks,
	 "unknown, custom, local-use and decryption-secrets blocks between packets",
	 "skip them, read 4, exit 0"},
	{"ng-unknown-options.pcapng", c_ng_unknown_options, "unknown and custom options on every block, nanosecond interface",
	 "skip them, read 3, exit 0"},
	{"ng-two-interfaces.pcapng", c_ng_two_interfaces, "two Ethernet interfaces, packets on both", "read 4, exit 0"},
	{"ng-two-linktypes.pcapng", c_ng_two_linktypes, "an Ethernet interface, then a raw-IP one after a packet",
	 "read 1, then one line naming the link type (libpcap reads one per file), exit 1"},
	{"ng-two-snaplens.pcapng", c_ng_two_snaplens, "a second Ethernet interface with another snaplen",
	 "read 1, then one line naming the snaplen (libpcap wants one per file), exit 1"},
	{"ng-block-length-mismatch.pcapng", c_ng_block_length_mismatch,
	 "an EPB whose trailing length differs from its leading one",
	 "read 1, then one line at packet 2, exit 1"},
	{"ng-block-length-short.pcapng", c_ng_block_length_short, "a block claiming 8 bytes (less than a header)",
	 "read 1, then one line at packet 2, exit 1"},
	{"ng-block-length-unaligned.pcapng", c_ng_block_length_unaligned, "a block length not a multiple of 4",
	 "read 1, then one line at packet 2, exit 1"},
	{"ng-block-length-huge.pcapng", c_ng_block_length_huge, "a block claiming 2 GiB",
	 "read 1, then one line at packet 2, exit 1; nothing allocated for it"},
	{"ng-epb-cut.pcapng", c_ng_epb_cut, "an EPB cut by the end of the file",
	 "read 1, then `packet 2: truncated pcapng dump file`, exit 1"},
	{"ng-epb-caplen-over-block.pcapng", c_ng_epb_caplen_over_block, "an EPB whose captured length (200) exceeds its block",
	 "read 1, then one line at packet 2, exit 1"},
	{"ng-epb-caplen-over-snaplen.pcapng", c_ng_epb_caplen_over_snaplen,
	 "an interface with snaplen 64, EPBs of up to 109 bytes",
	 "libpcap refuses a pcapng packet longer than its snaplen: one line at packet 1, exit 1"},
	{"ng-epb-caplen-over-wirelen.pcapng", c_ng_epb_caplen_over_wirelen, "an EPB of 109 captured bytes, wire length 60",
	 "read 3, exit 0"},
	{"ng-epb-bad-interface.pcapng", c_ng_epb_bad_interface, "an EPB on interface 3 of 1",
	 "read 1, then one line at packet 2, exit 1"},
	{"ng-zero-length.pcapng", c_ng_zero_length, "EPBs of 0 captured bytes (wire length 0 and 60)",
	 "read 4, the empty ones `eth_truncated`, exit 0"},
	{"ng-shb-middle.pcapng", c_ng_shb_middle, "a second section (header, interface, packets) after two packets",
	 "read 4, exit 0"},
	{"ng-shb-middle-swapped.pcapng", c_ng_shb_middle_swapped, "the second section in the other byte order",
	 "libpcap reads one byte order per file and takes the header for a huge block: read 2, one line at packet 3, exit 1"},
	{"ng-ts-absurd.pcapng", c_ng_ts_absurd, "timestamps 0, 2^64-1 us, 2^64-1 s and an offset of 2^63-1 s",
	 "read 5; times libpcap makes negative read as 1970, times past 9999 as its last microsecond; exit 0"},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* A reference packet cut at every length 0..whole: caplen i, wire length
 * whole, a millisecond apart. */
static void sweep(struct fb *f, const struct ref *r)
{
	pcap_header(f, MAGIC_US, 2, SNAPLEN, r->linktype);
	for (size_t i = 0; i <= r->len; i++)
		pcap_record(f, T0, (uint32_t)(i * 1000), (uint32_t)i, (uint32_t)r->len, r->b, i);
}

static int save(const char *dir, const char *name, const struct fb *f)
{
	char path[4096];
	int err = 0;
	if (f->err)
		return -ENOMEM;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	FILE *out = fopen(path, "wb");
	if (!out)
		return -errno;
	if (f->len && fwrite(f->p, f->len, 1, out) != 1)
		err = -EIO;
	if (fclose(out) != 0 && !err)
		err = -errno;
	return err;
}

static void readme(struct fb *f, const struct ref *r)
{
	char line[512];
	static const char head[] =
		"# pcaps/malformed — damaged captures iotids must survive\n"
		"\n"
		"Written by `iotgen malformed -o pcaps/malformed` (the same bytes on every run and host;\n"
		"tests/test_malformed.c regenerates them and compares). Do not edit by hand: change\n"
		"pcaps/gen/malformed.c, regenerate, then update the expected outputs in\n"
		"tests/golden/malformed/ (see its CASES file).\n"
		"\n"
		"For every file iotids must not crash or hang; it reads every record before a fault,\n"
		"reports the fault in one line on stderr naming the file and, past the file header,\n"
		"the packet (`iotids: FILE: packet N: ...`), prints the summary of what it read, and\n"
		"exits 1.\n"
		"A file whose every record could be read exits 0, however odd the bytes in them\n"
		"(those are counted as malformed packets, by reason). Summary counts are exact:\n"
		"the golden transcripts pin stdout, stderr and the exit status.\n"
		"\n"
		"| file | what it holds | what iotids must do |\n"
		"|---|---|---|\n";
	fb_bytes(f, head, sizeof(head) - 1);
	for (size_t i = 0; i < N_CASES; i++) {
		int n = snprintf(line, sizeof(line), "| %s | %s | %s |\n", cases[i].file, cases[i].what, cases[i].expect);
		fb_bytes(f, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
	for (int i = 0; i < R_COUNT; i++) {
		int n = snprintf(line, sizeof(line),
				 "| trunc-%s.pcap | %s (%zu bytes) cut at every length 0..%zu, wire length %zu |"
				 " read %zu, exit 0; each cut counted once: decoded when the headers iotids reads are whole, else"
				 " malformed under the header it falls in |\n",
				 r[i].name, r[i].what, r[i].len, r[i].len, r[i].len, r[i].len + 1);
		fb_bytes(f, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
}

static const char usage[] =
	"usage: iotgen malformed -o DIR\n"
	"  Writes the malformed-capture corpus into DIR (made if missing): pcap and\n"
	"  pcapng files each damaged in one known way, one capture per reference\n"
	"  packet cut at every byte, and a README.md listing them. No seed: the\n"
	"  same bytes every run.\n";

int gen_malformed_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct ref refs[R_COUNT];
	const char *dir = NULL;
	char name[128];
	int c, err = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			dir = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		case ':':
			return cli_usage_error("malformed", "option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("malformed", "unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (!dir)
		return cli_usage_error("malformed", "-o DIR is required (see --help)");
	if (optind < argc)
		return cli_usage_error("malformed", "unexpected argument '%s'", argv[optind]);
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return cli_runtime_error("malformed", "%s: %s", dir, strerror(errno));
	if ((err = build_refs(refs)) != 0)
		return cli_runtime_error("malformed", "building the reference packets: %s", strerror(-err));
	for (size_t i = 0; i < N_CASES + R_COUNT + 1 && !err; i++) {
		struct fb f = {0};
		if (i < N_CASES) {
			cases[i].build(&f, refs);
			snprintf(name, sizeof(name), "%s", cases[i].file);
		} else if (i < N_CASES + R_COUNT) {
			sweep(&f, &refs[i - N_CASES]);
			snprintf(name, sizeof(name), "trunc-%s.pcap", refs[i - N_CASES].name);
		} else {
			readme(&f, refs);
			snprintf(name, sizeof(name), "README.md");
		}
		if ((err = save(dir, name, &f)) != 0)
			cli_runtime_error("malformed", "%s/%s: %s", dir, name, strerror(-err));
		free(f.p);
	}
	return err ? CLI_RUNTIME : CLI_OK;
}
