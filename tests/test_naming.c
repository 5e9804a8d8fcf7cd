/*
 * Tests for how the tracker names flows and tells who devices are
 * (features/tracker.c with dnscache, dpi, identity and intern): a DNS
 * answer a device received names its later flows to the addresses in it
 * (its own answers only, case-folded, within TTL + grace, through CNAME
 * chains); nDPI's TLS SNI or HTTP Host names a flow DNS did not name; DHCP,
 * mDNS and SSDP announcements become identity evidence; every name is
 * released when its last holder goes.
 *
 * Each test builds its packets here byte by byte, from the Ethernet header
 * to the DNS record, DHCP option or TLS extension, and feeds them with
 * fixed capture timestamps. Observers copy what they are given: flow
 * pointers and interned names are only valid during the callback.
 */
#include "features/tracker.h"

#include <criterion/criterion.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/dns.h"

#define S 1000000ull
#define TCP 6
#define UDP 17
/* NDPI_PROTOCOL_TLS and NDPI_PROTOCOL_HTTP in ndpi/ndpi_protocol_ids.h
 * (nDPI 4.2); the ids are stable across nDPI releases. */
#define NDPI_TLS 91
#define NDPI_HTTP 7

/* ---- MACs and addresses of the test LAN ---- */

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0, 0x0b};
static const uint8_t MAC_C[6] = {0x02, 0, 0, 0, 0, 0x0c};
static const uint8_t MAC_R[6] = {0x02, 0, 0, 0, 0, 0xfe}; /* the router */
static const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t MAC_MDNS[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}; /* 224.0.0.251 */
static const uint8_t MAC_SSDP[6] = {0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa}; /* 239.255.255.250 */

#define IP_A "192.168.1.10"
#define IP_B "192.168.1.20"
#define IP_C "192.168.1.30"
#define IP_R "192.168.1.1"
#define RESOLVER "9.9.9.9"
#define CDN "203.0.113.7"
#define DNS_PORT_A 53000 /* the port the devices ask DNS from */

static struct ip_addr addr(const char *s)
{
	struct ip_addr ip;
	cr_assert_eq(ip_parse(s, &ip), 0, "ip_parse('%s') failed", s);
	return ip;
}

/* ---- bytes ---- */

struct bytes {
	uint8_t b[1500];
	size_t len;
};

static void put(struct bytes *p, const void *d, size_t n)
{
	cr_assert_leq(p->len + n, sizeof(p->b), "test buffer too small");
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

static void put8(struct bytes *p, uint8_t v)
{
	put(p, &v, 1);
}

static void put16(struct bytes *p, uint16_t v)
{
	put8(p, (uint8_t)(v >> 8));
	put8(p, (uint8_t)v);
}

static void put24(struct bytes *p, uint32_t v)
{
	put8(p, (uint8_t)(v >> 16));
	put16(p, (uint16_t)v);
}

static void put32(struct bytes *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p, (uint16_t)v);
}

static void put_str(struct bytes *p, const char *s)
{
	put(p, s, strlen(s));
}

static void put_zeros(struct bytes *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(p, 0);
}

static void set16(struct bytes *p, size_t off, size_t v)
{
	cr_assert_leq(v, 0xffff);
	p->b[off] = (uint8_t)(v >> 8);
	p->b[off + 1] = (uint8_t)v;
}

static void set24(struct bytes *p, size_t off, size_t v)
{
	cr_assert_leq(v, 0xffffff);
	p->b[off] = (uint8_t)(v >> 16);
	set16(p, off + 1, v & 0xffff);
}

/* ---- frames: Ethernet, IPv4 or IPv6, TCP or UDP, payload ---- */

struct fb {
	struct bytes x;
	size_t ip_off, l4_off;
	bool v6;
	uint8_t proto;
};

static void fb_ip(struct fb *f, const uint8_t dmac[6], const uint8_t smac[6], const char *src, const char *dst,
		  uint8_t proto)
{
	struct ip_addr s = addr(src), d = addr(dst);
	memset(f, 0, sizeof(*f));
	f->v6 = !ip_is_v4(&s);
	f->proto = proto;
	put(&f->x, dmac, 6);
	put(&f->x, smac, 6);
	put16(&f->x, f->v6 ? 0x86dd : 0x0800);
	f->ip_off = f->x.len;
	if (f->v6) {
		uint8_t h[8] = {0x60, 0, 0, 0, 0, 0, proto, 64};
		put(&f->x, h, 8);
		put(&f->x, s.b, 16);
		put(&f->x, d.b, 16);
	} else {
		uint8_t h[12] = {0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0};
		put(&f->x, h, 12);
		put(&f->x, s.b + 12, 4);
		put(&f->x, d.b + 12, 4);
	}
	f->l4_off = f->x.len;
}

/* Fills in the IP and UDP lengths. */
static void fb_end(struct fb *f)
{
	if (f->v6)
		set16(&f->x, f->ip_off + 4, f->x.len - f->ip_off - 40);
	else
		set16(&f->x, f->ip_off + 2, f->x.len - f->ip_off);
	if (f->proto == UDP)
		set16(&f->x, f->l4_off + 4, f->x.len - f->l4_off);
}

static struct fb udp_frame(const uint8_t dmac[6], const uint8_t smac[6], const char *src, uint16_t sport,
			   const char *dst, uint16_t dport, const struct bytes *payload)
{
	struct fb f;
	fb_ip(&f, dmac, smac, src, dst, UDP);
	put16(&f.x, sport);
	put16(&f.x, dport);
	put32(&f.x, 0); /* length (fb_end), checksum */
	if (payload)
		put(&f.x, payload->b, payload->len);
	fb_end(&f);
	return f;
}

static struct fb tcp_frame(const uint8_t dmac[6], const uint8_t smac[6], const char *src, uint16_t sport,
			   const char *dst, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
			   const struct bytes *payload)
{
	struct fb f;
	fb_ip(&f, dmac, smac, src, dst, TCP);
	put16(&f.x, sport);
	put16(&f.x, dport);
	put32(&f.x, seq);
	put32(&f.x, flags & TCP_ACK ? ack : 0);
	uint8_t h[4] = {5 << 4, flags, 0xff, 0xff}; /* data offset, flags, window */
	put(&f.x, h, 4);
	put32(&f.x, 0); /* checksum, urgent pointer */
	if (payload)
		put(&f.x, payload->b, payload->len);
	fb_end(&f);
	return f;
}

/* ---- the tracker under test and what it reports ---- */

#define REC_MAX 128
#define REC_REMOTES 16
#define NAME_BUF (INTERN_MAX_LEN + 1)

struct flow_rec {
	struct flow f;        /* name and cname cleared: their text is below */
	enum flow_end why;
	char name[NAME_BUF];  /* "" when the flow had none */
	char cname[NAME_BUF];
};

struct win_rec {
	bool has_mac;
	uint8_t mac[6];
	uint32_t n_remotes;
	struct win_remote remotes[REC_REMOTES]; /* names cleared: their text is below */
	char names[REC_REMOTES][NAME_BUF];
};

static struct {
	struct flow_rec flow[REC_MAX];
	size_t n_flow;
	struct win_rec win[REC_MAX];
	size_t n_win;
} seen;

static void copy_name(char *dst, const struct iname *n)
{
	dst[0] = '\0';
	if (n) {
		cr_assert_lt(iname_len(n), NAME_BUF);
		memcpy(dst, iname_str(n), iname_len(n) + 1);
	}
}

static void on_flow_end(void *ctx, const struct flow *f, enum flow_end why)
{
	cr_assert_eq(ctx, &seen);
	cr_assert_lt(seen.n_flow, REC_MAX);
	struct flow_rec *r = &seen.flow[seen.n_flow++];
	r->f = *f;
	r->why = why;
	copy_name(r->name, f->name);
	copy_name(r->cname, f->cname);
	r->f.name = r->f.cname = NULL;
}

static void on_window(void *ctx, const struct dev_window *w)
{
	cr_assert_eq(ctx, &seen);
	cr_assert_lt(seen.n_win, REC_MAX);
	struct win_rec *r = &seen.win[seen.n_win++];
	r->has_mac = w->dev->has_mac;
	memcpy(r->mac, w->dev->mac, 6);
	r->n_remotes = w->n_remotes;
	for (uint32_t i = 0; i < w->n_remotes && i < REC_REMOTES; i++) {
		r->remotes[i] = w->remotes[i];
		copy_name(r->names[i], w->remotes[i].name);
		r->remotes[i].name = NULL;
	}
}

static struct tracker *trk;
static struct ip_prefix nets[8];

static const char *const home[] = {
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7", "fe80::/10",
};
#define N_HOME (sizeof(home) / sizeof(home[0]))

static struct trk_cfg config(void)
{
	for (size_t i = 0; i < N_HOME; i++)
		cr_assert_eq(ip_prefix_parse(home[i], &nets[i]), 0, "%s", home[i]);
	struct trk_cfg c = {
		.home_nets = nets,
		.n_home_nets = N_HOME,
		.learn_ipv6_prefixes = true,
		.window_s = 60,
		.window_max_remotes = REC_REMOTES,
		.max_flows = 256,
		.timeouts_s = {[FLOW_TMO_TCP_SYN] = 5,
			       [FLOW_TMO_TCP] = 600,
			       [FLOW_TMO_TCP_CLOSED] = 10,
			       [FLOW_TMO_UDP] = 120,
			       [FLOW_TMO_ICMP] = 30,
			       [FLOW_TMO_OTHER] = 60},
		.max_devices = 16,
		.dpi = true,
		.max_dpi_states = 32,
		.max_names = 512,
		.dns_cache_max = 64,
		.dns_cache_per_device = 8,
		.on_flow_end = on_flow_end,
		.on_window = on_window,
		.ctx = &seen,
	};
	return c;
}

static void start_with(const struct trk_cfg *c)
{
	trk_free(trk);
	memset(&seen, 0, sizeof(seen));
	trk = trk_new(c);
	cr_assert_not_null(trk);
}

static void init(void)
{
	trk = NULL;
	struct trk_cfg c = config();
	start_with(&c);
}

static void fini(void)
{
	trk_free(trk);
	trk = NULL;
}

TestSuite(naming, .init = init, .fini = fini);

static void feed(const struct fb *f, uint64_t ts_us)
{
	trk_packet(trk, DLT_EN10MB, f->x.b, (uint32_t)f->x.len, (uint32_t)f->x.len, ts_us);
}

/* The ended flow of proto whose initiator port is sport, or fails. */
static const struct flow_rec *ended(uint8_t proto, uint16_t sport)
{
	for (size_t i = 0; i < seen.n_flow; i++)
		if (seen.flow[i].f.proto == proto && seen.flow[i].f.sport == sport)
			return &seen.flow[i];
	cr_assert_fail("no ended flow proto %u sport %u", proto, sport);
	return NULL;
}

/* The device with this MAC, from the tracker's table, or NULL. */
static const struct device *device(const uint8_t mac[6])
{
	size_t n = 0;
	struct device **all = dev_table_list(trk_devices(trk), &n);
	cr_assert(all || n == 0);
	const struct device *d = NULL;
	for (size_t i = 0; i < n; i++)
		if (all[i]->has_mac && memcmp(all[i]->mac, mac, 6) == 0)
			d = all[i];
	free(all);
	return d;
}

/* The evidence of source src with this value about d, or NULL. */
static const struct ident_evidence *evidence(const struct device *d, enum ident_source src, const char *value)
{
	const struct ident_rec *r = ident_get(d);
	for (uint8_t i = 0; r && i < r->n_evidence; i++)
		if (r->evidence[i].source == src && strcmp(iname_str(r->evidence[i].value), value) == 0)
			return &r->evidence[i];
	return NULL;
}

static size_t evidence_of(const struct device *d, enum ident_source src)
{
	const struct ident_rec *r = ident_get(d);
	size_t n = 0;
	for (uint8_t i = 0; r && i < r->n_evidence; i++)
		n += r->evidence[i].source == src;
	return n;
}

/* ---- DNS messages (RFC 1035 section 4.1), names uncompressed ---- */

#define DNS_FLAGS_ANSWER 0x8180 /* QR, RD, RA, rcode 0 */
#define DNS_FLAGS_MDNS 0x8400   /* QR, AA */
#define MDNS_FLUSH 0x8000       /* cache-flush bit of the class (RFC 6762 section 10.2) */

static void dns_header(struct bytes *p, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	put16(p, 0x4a21); /* id */
	put16(p, flags);
	put16(p, qd);
	put16(p, an);
	put16(p, ns);
	put16(p, ar);
}

/* "a.b.c" as labels 1 'a' 1 'b' 1 'c' 0; a label may hold spaces. */
static void dns_name(struct bytes *p, const char *name)
{
	for (const char *s = name; *s;) {
		size_t n = strcspn(s, ".");
		cr_assert(n > 0 && n < 64, "bad label in %s", name);
		put8(p, (uint8_t)n);
		put(p, s, n);
		s += n;
		if (*s == '.')
			s++;
	}
	put8(p, 0);
}

static void dns_question(struct bytes *p, const char *name, uint16_t type)
{
	dns_name(p, name);
	put16(p, type);
	put16(p, DNS_CLASS_IN);
}

/* Owner, type, class and TTL; returns where rdlength goes (rr_end). */
static size_t rr_begin(struct bytes *p, const char *name, uint16_t type, uint16_t rclass, uint32_t ttl)
{
	dns_name(p, name);
	put16(p, type);
	put16(p, rclass);
	put32(p, ttl);
	size_t at = p->len;
	put16(p, 0);
	return at;
}

static void rr_end(struct bytes *p, size_t at)
{
	set16(p, at, p->len - at - 2);
}

/* An A or AAAA record, by the address's family. */
static void rr_addr(struct bytes *p, const char *name, uint16_t rclass, uint32_t ttl, const char *ip)
{
	struct ip_addr a = addr(ip);
	bool v4 = ip_is_v4(&a);
	size_t at = rr_begin(p, name, v4 ? DNS_TYPE_A : DNS_TYPE_AAAA, rclass, ttl);
	put(p, v4 ? a.b + 12 : a.b, v4 ? 4 : 16);
	rr_end(p, at);
}

/* A CNAME or PTR record. */
static void rr_target(struct bytes *p, const char *name, uint16_t type, uint32_t ttl, const char *target)
{
	size_t at = rr_begin(p, name, type, DNS_CLASS_IN, ttl);
	dns_name(p, target);
	rr_end(p, at);
}

static void rr_srv(struct bytes *p, const char *name, uint16_t rclass, uint32_t ttl, uint16_t port,
		   const char *target)
{
	size_t at = rr_begin(p, name, DNS_TYPE_SRV, rclass, ttl);
	put16(p, 0); /* priority */
	put16(p, 0); /* weight */
	put16(p, port);
	dns_name(p, target);
	rr_end(p, at);
}

/* A resolver's answer with rcode `flags & 15` to a question for qname:
 * one A or AAAA record for ip. */
static struct bytes dns_answer_flags(uint16_t flags, const char *qname, const char *ip, uint32_t ttl)
{
	struct bytes p = {.len = 0};
	struct ip_addr a = addr(ip);
	dns_header(&p, flags, 1, 1, 0, 0);
	dns_question(&p, qname, ip_is_v4(&a) ? DNS_TYPE_A : DNS_TYPE_AAAA);
	rr_addr(&p, qname, DNS_CLASS_IN, ttl, ip);
	return p;
}

static struct bytes dns_answer(const char *qname, const char *ip, uint32_t ttl)
{
	return dns_answer_flags(DNS_FLAGS_ANSWER, qname, ip, ttl);
}

/* The resolver's UDP answer msg to the device (mac, ip). */
static void answer_to(const uint8_t mac[6], const char *ip, const struct bytes *msg, uint64_t ts)
{
	struct fb f = udp_frame(mac, MAC_R, RESOLVER, 53, ip, DNS_PORT_A, msg);
	feed(&f, ts);
}

static void resolve(const uint8_t mac[6], const char *ip, const char *qname, const char *answer, uint32_t ttl,
		    uint64_t ts)
{
	struct bytes m = dns_answer(qname, answer, ttl);
	answer_to(mac, ip, &m, ts);
}

/* One datagram from the device's port sport to dst:4433: a new UDP flow. */
static void send_udp(const uint8_t mac[6], const char *ip, uint16_t sport, const char *dst, uint64_t ts)
{
	struct bytes p = {.len = 0};
	put_str(&p, "hello");
	struct fb f = udp_frame(MAC_R, mac, ip, sport, dst, 4433, &p);
	feed(&f, ts);
}

/* The name the UDP flow from sport ended with ("" for none), after trk_finish. */
static const char *udp_name(uint16_t sport)
{
	return ended(UDP, sport)->name;
}

/* ---- TLS and HTTP over TCP ---- */

/* A TLS 1.3 ClientHello (RFC 8446 section 4.1.2) in a TLS 1.0 record, with
 * the extensions a real client sends first: server_name (RFC 6066 section
 * 3), supported_groups, ec_point_formats, signature_algorithms,
 * supported_versions and an x25519 key_share. */
static struct bytes client_hello(const char *sni)
{
	static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c,
					  0xc030, 0xcca9, 0xcca8, 0x009c, 0x009d, 0x002f, 0x0035};
	struct bytes p = {.len = 0};
	size_t sni_len = strlen(sni);
	put8(&p, 0x16);     /* handshake record */
	put16(&p, 0x0301);  /* record version */
	size_t rec_len = p.len;
	put16(&p, 0);
	put8(&p, 1);        /* ClientHello */
	size_t hs_len = p.len;
	put24(&p, 0);
	put16(&p, 0x0303);  /* legacy_version TLS 1.2 */
	for (uint8_t i = 0; i < 32; i++)
		put8(&p, (uint8_t)(0x40 + i)); /* random */
	put8(&p, 32);       /* legacy_session_id */
	for (uint8_t i = 0; i < 32; i++)
		put8(&p, (uint8_t)(0x80 + i));
	put16(&p, (uint16_t)(2 * (sizeof(suites) / sizeof(suites[0]))));
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		put16(&p, suites[i]);
	put8(&p, 1);        /* compression methods: null */
	put8(&p, 0);
	size_t ext_len = p.len;
	put16(&p, 0);
	put16(&p, 0x0000);  /* server_name */
	put16(&p, (uint16_t)(sni_len + 5));
	put16(&p, (uint16_t)(sni_len + 3)); /* server_name_list */
	put8(&p, 0);        /* host_name */
	put16(&p, (uint16_t)sni_len);
	put_str(&p, sni);
	put16(&p, 0x000a);  /* supported_groups: x25519, secp256r1 */
	put16(&p, 6);
	put16(&p, 4);
	put16(&p, 0x001d);
	put16(&p, 0x0017);
	put16(&p, 0x000b);  /* ec_point_formats: uncompressed */
	put16(&p, 2);
	put8(&p, 1);
	put8(&p, 0);
	put16(&p, 0x000d);  /* signature_algorithms */
	put16(&p, 8);
	put16(&p, 6);
	put16(&p, 0x0403);
	put16(&p, 0x0804);
	put16(&p, 0x0401);
	put16(&p, 0x002b);  /* supported_versions: TLS 1.3, 1.2 */
	put16(&p, 5);
	put8(&p, 4);
	put16(&p, 0x0304);
	put16(&p, 0x0303);
	put16(&p, 0x0033);  /* key_share: one x25519 share */
	put16(&p, 38);
	put16(&p, 36);
	put16(&p, 0x001d);
	put16(&p, 32);
	for (uint8_t i = 0; i < 32; i++)
		put8(&p, (uint8_t)(0xa0 + i));
	set16(&p, ext_len, p.len - ext_len - 2);
	set24(&p, hs_len, p.len - hs_len - 3);
	set16(&p, rec_len, p.len - rec_len - 2);
	return p;
}

static struct bytes http_get(const char *host)
{
	struct bytes p = {.len = 0};
	put_str(&p, "GET /snapshot.jpg HTTP/1.1\r\nHost: ");
	put_str(&p, host);
	put_str(&p, "\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n");
	return p;
}

/* A TCP handshake from (smac, src:sport) to dst:dport, then the client's
 * first data segment, at ts and the next few microseconds. */
static void tcp_session(const uint8_t smac[6], const uint8_t dmac[6], const char *src, uint16_t sport,
			const char *dst, uint16_t dport, const struct bytes *data, uint64_t ts)
{
	struct fb syn = tcp_frame(dmac, smac, src, sport, dst, dport, TCP_SYN, 1000, 0, NULL);
	struct fb sa = tcp_frame(smac, dmac, dst, dport, src, sport, TCP_SYN | TCP_ACK, 5000, 1001, NULL);
	struct fb ack = tcp_frame(dmac, smac, src, sport, dst, dport, TCP_ACK, 1001, 5001, NULL);
	struct fb d = tcp_frame(dmac, smac, src, sport, dst, dport, TCP_PSH | TCP_ACK, 1001, 5001, data);
	feed(&syn, ts);
	feed(&sa, ts + 10);
	feed(&ack, ts + 20);
	feed(&d, ts + 30);
}

static void tls_connect(const uint8_t mac[6], const char *ip, uint16_t sport, const char *dst, const char *sni,
			uint64_t ts)
{
	struct bytes hello = client_hello(sni);
	tcp_session(mac, MAC_R, ip, sport, dst, 443, &hello, ts);
}

/* ---- DHCP (RFC 2131 section 2, options RFC 2132) ---- */

/* A BOOTREQUEST for client chaddr: DHCPREQUEST (53), client identifier
 * (61: type 1 + chaddr), requested address (50), hostname (12) and vendor
 * class (60) when given, parameter request list (55: 1,3,6,15), end. */
static struct bytes dhcp_request(const uint8_t chaddr[6], const char *hostname, const char *vendor)
{
	struct bytes p = {.len = 0};
	put8(&p, 1);            /* op BOOTREQUEST */
	put8(&p, 1);            /* htype Ethernet */
	put8(&p, 6);            /* hlen */
	put8(&p, 0);            /* hops */
	put32(&p, 0x3903f326);  /* xid */
	put16(&p, 0);           /* secs */
	put16(&p, 0x8000);      /* flags: broadcast */
	put_zeros(&p, 16);      /* ciaddr, yiaddr, siaddr, giaddr */
	put(&p, chaddr, 6);
	put_zeros(&p, 10 + 64 + 128); /* chaddr padding, sname, file */
	static const uint8_t cookie[4] = {99, 130, 83, 99};
	put(&p, cookie, 4);
	static const uint8_t type[3] = {53, 1, 3};
	put(&p, type, 3);
	put8(&p, 61);
	put8(&p, 7);
	put8(&p, 1);
	put(&p, chaddr, 6);
	static const uint8_t requested[6] = {50, 4, 192, 168, 1, 10};
	put(&p, requested, 6);
	if (hostname) {
		put8(&p, 12);
		put8(&p, (uint8_t)strlen(hostname));
		put_str(&p, hostname);
	}
	if (vendor) {
		put8(&p, 60);
		put8(&p, (uint8_t)strlen(vendor));
		put_str(&p, vendor);
	}
	static const uint8_t params[6] = {55, 4, 1, 3, 6, 15};
	put(&p, params, 6);
	put8(&p, 255);
	return p;
}

/* A DHCPREQUEST broadcast by the device itself (0.0.0.0:68 -> 255.255.255.255:67). */
static void dhcp_from(const uint8_t mac[6], const char *hostname, uint64_t ts)
{
	struct bytes m = dhcp_request(mac, hostname, NULL);
	struct fb f = udp_frame(MAC_BCAST, mac, "0.0.0.0", 68, "255.255.255.255", 67, &m);
	feed(&f, ts);
}

/* ---- SSDP (UPnP Device Architecture 2.0 section 1.2.2) ---- */

/* A NOTIFY ssdp:alive; server and usn are left out when NULL. */
static struct bytes ssdp_notify(const char *server, const char *usn)
{
	struct bytes p = {.len = 0};
	put_str(&p, "NOTIFY * HTTP/1.1\r\n"
		    "HOST: 239.255.255.250:1900\r\n"
		    "CACHE-CONTROL: max-age=1800\r\n"
		    "LOCATION: http://" IP_C ":49152/description.xml\r\n"
		    "NT: urn:schemas-upnp-org:device:MediaRenderer:1\r\n"
		    "NTS: ssdp:alive\r\n");
	if (server) {
		put_str(&p, "SERVER: ");
		put_str(&p, server);
		put_str(&p, "\r\n");
	}
	if (usn) {
		put_str(&p, "USN: ");
		put_str(&p, usn);
		put_str(&p, "\r\n");
	}
	put_str(&p, "\r\n");
	return p;
}

static void ssdp_from(const uint8_t mac[6], const char *ip, const struct bytes *msg, uint64_t ts)
{
	struct fb f = udp_frame(MAC_SSDP, mac, ip, 1900, "239.255.255.250", 1900, msg);
	feed(&f, ts);
}

/* ---- names from DNS answers ---- */

Test(naming, a_flow_to_an_address_from_the_devices_dns_answer_gets_the_name_it_asked_for)
{
	resolve(MAC_A, IP_A, "api.tuya.com", CDN, 300, 1 * S);
	send_udp(MAC_A, IP_A, 41000, CDN, 2 * S);
	send_udp(MAC_A, IP_A, 41001, "203.0.113.8", 2 * S + 1); /* not in the answer */
	trk_finish(trk);
	const struct flow_rec *f = ended(UDP, 41000);
	cr_assert_str_eq(f->name, "api.tuya.com");
	cr_assert_eq(f->f.name_source, FLOW_NAME_DNS);
	cr_assert_str_eq(f->cname, "", "no CNAME in the answer, cname '%s'", f->cname);
	cr_assert_str_eq(udp_name(41001), "");
	cr_assert_eq(ended(UDP, 41001)->f.name_source, FLOW_NAME_NONE);
	cr_assert_eq(trk_stats(trk)->dns_parsed, 1);
	cr_assert_eq(trk_stats(trk)->flows_named[FLOW_NAME_DNS], 1);
}

Test(naming, a_cname_chain_names_the_flow_after_the_question_and_keeps_the_chain)
{
	struct bytes m = {.len = 0};
	dns_header(&m, DNS_FLAGS_ANSWER, 1, 3, 0, 0);
	dns_question(&m, "www.example.com", DNS_TYPE_A);
	rr_target(&m, "www.example.com", DNS_TYPE_CNAME, 300, "cdn.example.net");
	rr_target(&m, "cdn.example.net", DNS_TYPE_CNAME, 300, "edge.cdnprov.net");
	rr_addr(&m, "edge.cdnprov.net", DNS_CLASS_IN, 60, CDN);
	answer_to(MAC_A, IP_A, &m, 1 * S);
	send_udp(MAC_A, IP_A, 41000, CDN, 2 * S);
	trk_finish(trk);
	const struct flow_rec *f = ended(UDP, 41000);
	cr_assert_str_eq(f->name, "www.example.com");
	cr_assert_str_eq(f->cname, "cdn.example.net\nedge.cdnprov.net");
	cr_assert_eq(f->f.name_source, FLOW_NAME_DNS);
}

Test(naming, an_aaaa_answer_names_an_ipv6_flow)
{
	struct bytes m = dns_answer("v6.example.com", "2001:db8:5::7", 300);
	struct fb ans = udp_frame(MAC_A, MAC_R, "2620:fe::fe", 53, "fd00::10", DNS_PORT_A, &m);
	feed(&ans, 1 * S);
	send_udp(MAC_A, "fd00::10", 41000, "2001:db8:5::7", 2 * S);
	trk_finish(trk);
	cr_assert_str_eq(udp_name(41000), "v6.example.com");
}

Test(naming, an_answer_names_flows_of_the_device_that_asked_only)
{
	resolve(MAC_A, IP_A, "api.tuya.com", CDN, 300, 1 * S);
	send_udp(MAC_B, IP_B, 42000, CDN, 2 * S);
	send_udp(MAC_A, IP_A, 41000, CDN, 3 * S);
	trk_finish(trk);
	cr_assert_str_eq(udp_name(42000), "", "B never asked, but its flow is '%s'", udp_name(42000));
	cr_assert_eq(ended(UDP, 42000)->f.name_source, FLOW_NAME_NONE);
	cr_assert_str_eq(udp_name(41000), "api.tuya.com");
}

Test(naming, names_are_case_folded)
{
	struct bytes m = {.len = 0};
	dns_header(&m, DNS_FLAGS_ANSWER, 1, 2, 0, 0);
	dns_question(&m, "API.Tuya.COM", DNS_TYPE_A);
	rr_target(&m, "Api.TUYA.com", DNS_TYPE_CNAME, 300, "Edge.TuyaEU.com");
	rr_addr(&m, "EDGE.tuyaeu.COM", DNS_CLASS_IN, 60, CDN);
	answer_to(MAC_A, IP_A, &m, 1 * S);
	send_udp(MAC_A, IP_A, 41000, CDN, 2 * S);
	trk_finish(trk);
	const struct flow_rec *f = ended(UDP, 41000);
	cr_assert_str_eq(f->name, "api.tuya.com");
	cr_assert_str_eq(f->cname, "edge.tuyaeu.com");
}

/* Answer at 10 s with TTL 60: usable until 10 + 60 + DNSC_GRACE_S. */
Test(naming, an_answer_names_new_flows_until_its_ttl_and_grace_have_passed)
{
	const uint64_t expiry = (10 + 60 + DNSC_GRACE_S) * S;
	resolve(MAC_A, IP_A, "api.tuya.com", CDN, 60, 10 * S);
	send_udp(MAC_A, IP_A, 41000, CDN, expiry - 1 * S);
	send_udp(MAC_A, IP_A, 41001, CDN, expiry + 1 * S);
	trk_finish(trk);
	cr_assert_str_eq(udp_name(41000), "api.tuya.com", "within TTL + grace");
	cr_assert_str_eq(udp_name(41001), "", "past TTL + grace, named '%s'", udp_name(41001));
}

Test(naming, a_ttl_with_its_top_bit_set_counts_as_zero)
{
	/* RFC 2181 section 8. */
	resolve(MAC_A, IP_A, "api.tuya.com", CDN, 0x80000000u, 10 * S);
	send_udp(MAC_A, IP_A, 41002, CDN, (10 + DNSC_GRACE_S + 1) * S);
	trk_finish(trk);
	cr_assert_str_eq(udp_name(41002), "", "a 2^31 s TTL was honoured: named '%s'", udp_name(41002));
}

Test(naming, a_tcp_flow_joined_mid_stream_after_expiry_still_gets_the_name)
{
	const uint64_t expiry = (10 + 60 + DNSC_GRACE_S) * S;
	struct bytes data = {.len = 0};
	static const uint8_t appdata[9] = {0x17, 0x03, 0x03, 0x00, 0x04, 'a', 'b', 'c', 'd'}; /* TLS record */
	put(&data, appdata, sizeof(appdata));
	struct fb mid = tcp_frame(MAC_R, MAC_A, IP_A, 50000, CDN, 443, TCP_PSH | TCP_ACK, 77777, 88888, &data);
	struct fb syn = tcp_frame(MAC_R, MAC_A, IP_A, 50001, CDN, 443, TCP_SYN, 1000, 0, NULL);
	resolve(MAC_A, IP_A, "api.tuya.com", CDN, 60, 10 * S);
	feed(&mid, expiry + 5 * S);
	feed(&syn, expiry + 6 * S);
	trk_finish(trk);
	const struct flow_rec *m = ended(TCP, 50000);
	cr_assert_eq(m->f.state, FLOW_ST_ACTIVE, "the flow was not seen from its start");
	cr_assert_str_eq(m->name, "api.tuya.com", "a connection opened before expiry keeps its name");
	cr_assert_eq(m->f.name_source, FLOW_NAME_DNS);
	cr_assert_str_eq(ended(TCP, 50001)->name, "", "a new connection after expiry is not named");
}

Test(naming, a_newer_answer_for_the_same_address_replaces_the_old_name)
{
	resolve(MAC_A, IP_A, "old.example.com", CDN, 300, 1 * S);
	send_udp(MAC_A, IP_A, 41000, CDN, 2 * S);
	resolve(MAC_A, IP_A, "new.example.com", CDN, 300, 3 * S);
	send_udp(MAC_A, IP_A, 41001, CDN, 4 * S);
	trk_finish(trk);
	cr_assert_str_eq(udp_name(41000), "old.example.com");
	cr_assert_str_eq(udp_name(41001), "new.example.com");
	cr_assert_eq(dnsc_stats(trk_dns_cache(trk))->replaced, 1);
	cr_assert_eq(dnsc_stats(trk_dns_cache(trk))->entries, 1, "one entry per device and address");
}

/* Both answers carry an A record for the address (a resolver may add what
 * it has), but an error answer is no answer. */
Test(naming, an_answer_with_an_error_rcode_names_nothing)
{
	struct bytes nx = dns_answer_flags(DNS_FLAGS_ANSWER | 3, "gone.example.com", CDN, 300);
	struct bytes fail = dns_answer_flags(DNS_FLAGS_ANSWER | 2, "fail.example.com", "203.0.113.8", 300);
	answer_to(MAC_A, IP_A, &nx, 1 * S);
	answer_to(MAC_A, IP_A, &fail, 1 * S + 1);
	send_udp(MAC_A, IP_A, 41000, CDN, 2 * S);
	send_udp(MAC_A, IP_A, 41001, "203.0.113.8", 2 * S + 1);
	trk_finish(trk);
	cr_assert_eq(trk_stats(trk)->dns_parsed, 2, "the answers parse");
	cr_assert_str_eq(udp_name(41000), "", "NXDOMAIN named the flow '%s'", udp_name(41000));
	cr_assert_str_eq(udp_name(41001), "", "SERVFAIL named the flow '%s'", udp_name(41001));
}

Test(naming, a_dns_answer_over_tcp_names_flows)
{
	struct bytes m = dns_answer("big.example.com", CDN, 300);
	struct bytes framed = {.len = 0};
	put16(&framed, (uint16_t)m.len); /* RFC 1035 section 4.2.2 */
	put(&framed, m.b, m.len);
	struct bytes q = {.len = 0};
	put16(&q, 33);
	dns_header(&q, 0x0100, 1, 0, 0, 0);
	dns_question(&q, "big.example.com", DNS_TYPE_A);
	tcp_session(MAC_A, MAC_R, IP_A, 50000, RESOLVER, 53, &q, 1 * S);
	cr_assert_eq(q.len, 35, "query length prefix");
	struct fb ans = tcp_frame(MAC_A, MAC_R, RESOLVER, 53, IP_A, 50000, TCP_PSH | TCP_ACK, 5001, 1036, &framed);
	feed(&ans, 1 * S + 100);
	send_udp(MAC_A, IP_A, 41000, CDN, 2 * S);
	trk_finish(trk);
	cr_assert_eq(trk_stats(trk)->dns_parsed, 1);
	cr_assert_str_eq(udp_name(41000), "big.example.com");
}

/* ---- names from nDPI: TLS SNI, HTTP Host ---- */

Test(naming, a_tls_flow_without_dns_is_named_after_its_sni)
{
	tls_connect(MAC_A, IP_A, 50000, "198.51.100.20", "device.iot.example.org", 1 * S);
	trk_finish(trk);
	const struct flow_rec *f = ended(TCP, 50000);
	cr_assert_str_eq(f->name, "device.iot.example.org");
	cr_assert_eq(f->f.name_source, FLOW_NAME_SNI);
	cr_assert(f->f.l7_master == NDPI_TLS || f->f.l7_app == NDPI_TLS, "l7 %u.%u, want TLS (%d)",
		  f->f.l7_master, f->f.l7_app, NDPI_TLS);
	cr_assert_eq(trk_stats(trk)->flows_named[FLOW_NAME_SNI], 1);
}

static struct {
	bool seen;
	char name[NAME_BUF];
} ready_tcp;

static void on_ready_tcp(void *ctx, const struct flow *f, const struct device *initiator,
			 const struct device *responder)
{
	(void)ctx;
	(void)initiator;
	(void)responder;
	if (f->proto == TCP && !ready_tcp.seen) {
		ready_tcp.seen = true;
		copy_name(ready_tcp.name, f->name);
	}
}

Test(naming, a_tls_flow_is_scored_with_its_sni_while_ndpi_still_reads_the_handshake)
{
	struct trk_cfg c = config();
	c.on_flow_ready = on_ready_tcp;
	start_with(&c);
	memset(&ready_tcp, 0, sizeof(ready_tcp));
	tls_connect(MAC_A, IP_A, 50002, "198.51.100.22", "early.iot.example.org", 1 * S);
	cr_assert(ready_tcp.seen, "the flow waited for its end to be scored");
	cr_assert_str_eq(ready_tcp.name, "early.iot.example.org");
	trk_finish(trk);
}

Test(naming, an_sni_with_a_trailing_dot_names_the_flow_as_dns_would)
{
	tls_connect(MAC_A, IP_A, 50001, "198.51.100.21", "dot.example.org.", 1 * S);
	trk_finish(trk);
	cr_assert_str_eq(ended(TCP, 50001)->name, "dot.example.org");
}

Test(naming, a_tls_flow_named_by_dns_keeps_the_dns_name_whatever_its_sni)
{
	resolve(MAC_A, IP_A, "www.example.com", CDN, 300, 1 * S);
	tls_connect(MAC_A, IP_A, 50000, CDN, "other.example.org", 2 * S);
	trk_finish(trk);
	const struct flow_rec *f = ended(TCP, 50000);
	cr_assert_str_eq(f->name, "www.example.com");
	cr_assert_eq(f->f.name_source, FLOW_NAME_DNS);
	cr_assert(f->f.l7_master == NDPI_TLS || f->f.l7_app == NDPI_TLS, "the flow is still TLS");
	cr_assert_eq(trk_stats(trk)->flows_named[FLOW_NAME_SNI], 0);
}

Test(naming, an_http_flow_without_dns_is_named_after_its_host_header)
{
	struct bytes get = http_get("cam.example.org");
	tcp_session(MAC_A, MAC_R, IP_A, 50000, "198.51.100.30", 80, &get, 1 * S);
	trk_finish(trk);
	const struct flow_rec *f = ended(TCP, 50000);
	cr_assert_str_eq(f->name, "cam.example.org");
	cr_assert_eq(f->f.name_source, FLOW_NAME_HTTP);
	cr_assert(f->f.l7_master == NDPI_HTTP || f->f.l7_app == NDPI_HTTP, "l7 %u.%u, want HTTP", f->f.l7_master,
		  f->f.l7_app);
}

/* ---- window records ---- */

Test(naming, the_window_record_lists_a_dns_named_remote_with_its_name)
{
	resolve(MAC_A, IP_A, "api.tuya.com", CDN, 300, 1 * S);
	send_udp(MAC_A, IP_A, 41000, CDN, 2 * S);
	send_udp(MAC_A, IP_A, 41001, "203.0.113.8", 3 * S);
	trk_finish(trk);
	const struct win_rec *w = NULL;
	for (size_t i = 0; i < seen.n_win; i++)
		if (seen.win[i].has_mac && memcmp(seen.win[i].mac, MAC_A, 6) == 0)
			w = &seen.win[i];
	cr_assert_not_null(w);
	bool named = false, unnamed = false;
	struct ip_addr cdn = addr(CDN), other = addr("203.0.113.8");
	for (uint32_t i = 0; i < w->n_remotes && i < REC_REMOTES; i++) {
		if (ip_equal(&w->remotes[i].ip, &cdn)) {
			cr_assert_str_eq(w->names[i], "api.tuya.com");
			named = true;
		} else if (ip_equal(&w->remotes[i].ip, &other)) {
			cr_assert_str_eq(w->names[i], "");
			unnamed = true;
		}
	}
	cr_assert(named && unnamed, "both remotes listed");
}

/* ---- DHCP ---- */

Test(naming, a_dhcp_request_gives_hostname_vendor_fingerprint_and_client_id_evidence)
{
	struct bytes m = dhcp_request(MAC_A, "doorbell-7f", "udhcp 1.30.1");
	struct fb f = udp_frame(MAC_BCAST, MAC_A, "0.0.0.0", 68, "255.255.255.255", 67, &m);
	feed(&f, 1 * S);
	const struct device *d = device(MAC_A);
	cr_assert_not_null(d);
	cr_assert_eq(trk_stats(trk)->dhcp_parsed, 1);
	cr_assert_not_null(evidence(d, IDENT_DHCP_HOSTNAME, "doorbell-7f"));
	cr_assert_not_null(evidence(d, IDENT_DHCP_VENDOR_CLASS, "udhcp 1.30.1"));
	cr_assert_not_null(evidence(d, IDENT_DHCP_FINGERPRINT, "1,3,6,15"));
	cr_assert_not_null(evidence(d, IDENT_DHCP_CLIENT_ID, "01:02:00:00:00:00:0a"));
	cr_assert_eq(ident_get(d)->n_evidence, 4);
	char buf[256];
	cr_assert_str_eq(ident_hostname(d, buf, sizeof(buf)), "doorbell-7f");
}

/* The frame's source is another MAC (a relay, or a range extender that
 * rewrites client MACs), chaddr the client's. */
Test(naming, a_dhcp_request_forwarded_under_another_mac_is_credited_to_chaddr)
{
	struct bytes m = dhcp_request(MAC_A, "doorbell-7f", "udhcp 1.30.1");
	struct fb f = udp_frame(MAC_BCAST, MAC_R, IP_R, 68, "255.255.255.255", 67, &m);
	feed(&f, 1 * S);
	const struct device *a = device(MAC_A), *r = device(MAC_R);
	cr_assert_not_null(a, "the client is a device");
	cr_assert_not_null(r, "the forwarder is a device");
	char buf[256];
	cr_assert_str_eq(ident_hostname(a, buf, sizeof(buf)), "doorbell-7f");
	cr_assert_null(ident_get(r), "the forwarder got evidence");
}

Test(naming, a_dhcp_request_from_a_relay_agent_is_credited_to_chaddr)
{
	struct bytes m = dhcp_request(MAC_A, "doorbell-7f", "udhcp 1.30.1");
	m.b[3] = 1; /* hops */
	static const uint8_t giaddr[4] = {192, 168, 1, 1};
	memcpy(m.b + 24, giaddr, 4);
	struct fb f = udp_frame(MAC_R, MAC_B, IP_B, 67, "10.1.0.5", 67, &m);
	feed(&f, 1 * S);
	cr_assert_eq(trk_stats(trk)->dhcp_parsed, 1, "a relayed request (67 -> 67) was not read");
	const struct device *a = device(MAC_A);
	cr_assert_not_null(a);
	char buf[256];
	cr_assert_str_eq(ident_hostname(a, buf, sizeof(buf)), "doorbell-7f");
	cr_assert_null(ident_get(device(MAC_B)), "the relay got the client's evidence");
}

Test(naming, a_hostname_sent_with_its_c_terminator_is_the_same_hostname)
{
	dhcp_from(MAC_A, "doorbell", 1 * S);
	struct bytes m = dhcp_request(MAC_A, NULL, NULL);
	/* Option 12 with a trailing NUL, put before the end option. */
	m.len--;
	static const uint8_t opt[11] = {12, 9, 'd', 'o', 'o', 'r', 'b', 'e', 'l', 'l', 0};
	put(&m, opt, sizeof(opt));
	put8(&m, 255);
	struct fb f = udp_frame(MAC_BCAST, MAC_A, "0.0.0.0", 68, "255.255.255.255", 67, &m);
	feed(&f, 2 * S);
	const struct device *a = device(MAC_A);
	cr_assert_eq(evidence_of(a, IDENT_DHCP_HOSTNAME), 1, "\"doorbell\\0\" must be \"doorbell\"");
	cr_assert_eq(evidence(a, IDENT_DHCP_HOSTNAME, "doorbell")->count, 2);
}

/* ---- mDNS ---- */

Test(naming, an_mdns_announcement_gives_service_instance_and_host_evidence)
{
	struct bytes m = {.len = 0};
	dns_header(&m, DNS_FLAGS_MDNS, 0, 2, 0, 2);
	rr_target(&m, "_services._dns-sd._udp.local", DNS_TYPE_PTR, 4500, "_googlecast._tcp.local");
	rr_target(&m, "_googlecast._tcp.local", DNS_TYPE_PTR, 4500, "Living Room._googlecast._tcp.local");
	rr_srv(&m, "Living Room._googlecast._tcp.local", DNS_CLASS_IN | MDNS_FLUSH, 120, 8009, "cc-1234.local");
	rr_addr(&m, "cc-1234.local", DNS_CLASS_IN | MDNS_FLUSH, 120, IP_C);
	struct fb f = udp_frame(MAC_MDNS, MAC_C, IP_C, 5353, "224.0.0.251", 5353, &m);
	feed(&f, 1 * S);
	const struct device *d = device(MAC_C);
	cr_assert_not_null(d);
	cr_assert_eq(trk_stats(trk)->mdns_parsed, 1);
	cr_assert_not_null(evidence(d, IDENT_MDNS_SERVICE, "_googlecast._tcp.local"));
	cr_assert_not_null(evidence(d, IDENT_MDNS_INSTANCE, "Living Room._googlecast._tcp.local"));
	cr_assert_not_null(evidence(d, IDENT_MDNS_HOSTNAME, "cc-1234.local"));
	cr_assert_eq(evidence_of(d, IDENT_MDNS_SERVICE), 1);
	cr_assert_eq(evidence_of(d, IDENT_MDNS_INSTANCE), 1);
	cr_assert_eq(evidence_of(d, IDENT_MDNS_HOSTNAME), 1);
	char buf[256];
	cr_assert_str_eq(ident_hostname(d, buf, sizeof(buf)), "cc-1234");
}

/* ---- SSDP ---- */

Test(naming, an_ssdp_notify_gives_server_and_usn_evidence_with_the_usn_cut_to_its_uuid)
{
	struct bytes m = ssdp_notify("Linux/4.9 UPnP/1.0 Cast/1.56",
				     "uuid:3e1d0a4c-6b2f-4f37-9d1e-0c8a5b7e2f10::urn:schemas-upnp-org:device:"
				     "MediaRenderer:1");
	ssdp_from(MAC_C, IP_C, &m, 1 * S);
	const struct device *d = device(MAC_C);
	cr_assert_not_null(d);
	cr_assert_eq(trk_stats(trk)->ssdp_parsed, 1);
	cr_assert_not_null(evidence(d, IDENT_SSDP_SERVER, "Linux/4.9 UPnP/1.0 Cast/1.56"));
	cr_assert_not_null(evidence(d, IDENT_SSDP_USN, "uuid:3e1d0a4c-6b2f-4f37-9d1e-0c8a5b7e2f10"));
	cr_assert_eq(evidence_of(d, IDENT_SSDP_USN), 1);
}

/* ---- evidence bookkeeping ---- */

Test(naming, the_same_dhcp_hostname_twice_is_one_evidence_item_counted_twice)
{
	dhcp_from(MAC_A, "doorbell-7f", 5 * S);
	dhcp_from(MAC_A, "doorbell-7f", 65 * S);
	const struct ident_evidence *e = evidence(device(MAC_A), IDENT_DHCP_HOSTNAME, "doorbell-7f");
	cr_assert_not_null(e);
	cr_assert_eq(evidence_of(device(MAC_A), IDENT_DHCP_HOSTNAME), 1);
	cr_assert_eq(e->count, 2);
	cr_assert_eq(e->first_us, 5 * S);
	cr_assert_eq(e->last_us, 65 * S);
}

Test(naming, different_dhcp_hostnames_are_separate_items_and_the_latest_is_the_hostname)
{
	char buf[256];
	dhcp_from(MAC_A, "esp-1a2b", 5 * S);
	dhcp_from(MAC_A, "kitchen-plug", 10 * S);
	const struct device *d = device(MAC_A);
	cr_assert_eq(evidence_of(d, IDENT_DHCP_HOSTNAME), 2);
	cr_assert_str_eq(ident_hostname(d, buf, sizeof(buf)), "kitchen-plug");
	dhcp_from(MAC_A, "esp-1a2b", 15 * S); /* back to the first name */
	cr_assert_eq(evidence_of(d, IDENT_DHCP_HOSTNAME), 2);
	cr_assert_str_eq(ident_hostname(d, buf, sizeof(buf)), "esp-1a2b");
}

/* ---- bounds ---- */

Test(naming, a_device_keeps_at_most_ident_max_evidence_items_and_counts_the_rest)
{
	char server[64];
	for (int i = 0; i < IDENT_MAX_EVIDENCE + 3; i++) {
		snprintf(server, sizeof(server), "Linux/5.%d UPnP/1.0 Test/1", i);
		struct bytes m = ssdp_notify(server, NULL);
		ssdp_from(MAC_C, IP_C, &m, 1 * S + (uint64_t)i);
	}
	struct bytes again = ssdp_notify("Linux/5.0 UPnP/1.0 Test/1", NULL);
	ssdp_from(MAC_C, IP_C, &again, 2 * S);
	const struct device *d = device(MAC_C);
	const struct ident_rec *r = ident_get(d);
	cr_assert_not_null(r);
	cr_assert_eq(r->n_evidence, IDENT_MAX_EVIDENCE);
	cr_assert_eq(r->evidence_dropped, 3);
	const struct ident_evidence *first = evidence(d, IDENT_SSDP_SERVER, "Linux/5.0 UPnP/1.0 Test/1");
	cr_assert_not_null(first, "the first values seen are the ones kept");
	cr_assert_eq(first->count, 2, "a value already kept is still counted");
	snprintf(server, sizeof(server), "Linux/5.%d UPnP/1.0 Test/1", IDENT_MAX_EVIDENCE);
	cr_assert_null(evidence(d, IDENT_SSDP_SERVER, server));
}

Test(naming, a_device_resolving_more_names_than_its_cache_share_keeps_the_newest)
{
	struct trk_cfg c = config();
	c.dns_cache_per_device = 4;
	start_with(&c);
	char name[64], ip[32];
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "n%d.example.com", i);
		snprintf(ip, sizeof(ip), "203.0.113.%d", 10 + i);
		resolve(MAC_A, IP_A, name, ip, 300, 1 * S + (uint64_t)i * 1000);
	}
	send_udp(MAC_A, IP_A, 41000, "203.0.113.10", 2 * S);
	send_udp(MAC_A, IP_A, 41001, "203.0.113.11", 2 * S + 1);
	send_udp(MAC_A, IP_A, 41004, "203.0.113.14", 2 * S + 2);
	trk_finish(trk);
	cr_assert_str_eq(udp_name(41000), "", "the oldest answer still names a flow: '%s'", udp_name(41000));
	cr_assert_str_eq(udp_name(41001), "n1.example.com");
	cr_assert_str_eq(udp_name(41004), "n4.example.com");
	cr_assert_eq(dnsc_stats(trk_dns_cache(trk))->evicted_device, 1);
}

/* ---- malformed payloads ---- */

/* Two answers; the message ends inside the second one's address. */
Test(naming, a_truncated_dns_answer_is_counted_and_its_whole_records_still_name_flows)
{
	struct bytes m = {.len = 0};
	dns_header(&m, DNS_FLAGS_ANSWER, 1, 2, 0, 0);
	dns_question(&m, "multi.example.com", DNS_TYPE_A);
	rr_addr(&m, "multi.example.com", DNS_CLASS_IN, 300, CDN);
	rr_addr(&m, "multi.example.com", DNS_CLASS_IN, 300, "203.0.113.8");
	m.len -= 2;
	answer_to(MAC_A, IP_A, &m, 1 * S);
	send_udp(MAC_A, IP_A, 41000, CDN, 2 * S);
	send_udp(MAC_A, IP_A, 41001, "203.0.113.8", 2 * S + 1);
	trk_finish(trk);
	cr_assert_eq(trk_stats(trk)->dns_malformed, 1);
	cr_assert_eq(trk_stats(trk)->dns_parsed, 0);
	cr_assert_str_eq(udp_name(41000), "multi.example.com");
	cr_assert_str_eq(udp_name(41001), "");
}

Test(naming, garbage_on_the_ssdp_port_is_counted_malformed)
{
	struct bytes junk = {.len = 0};
	put_str(&junk, "\x16\x03\x01 not an ssdp message\r\n\r\n");
	ssdp_from(MAC_C, IP_C, &junk, 1 * S);
	struct bytes ok = ssdp_notify("Linux/4.9 UPnP/1.0 Cast/1.56", NULL);
	ssdp_from(MAC_C, IP_C, &ok, 2 * S);
	cr_assert_eq(trk_stats(trk)->ssdp_malformed, 1);
	cr_assert_eq(trk_stats(trk)->ssdp_parsed, 1, "later messages are still read");
	cr_assert_eq(ident_get(device(MAC_C))->n_evidence, 1);
}

/* The message ends inside option 12. */
Test(naming, a_corrupt_dhcp_message_is_counted_malformed)
{
	struct bytes m = dhcp_request(MAC_A, "doorbell-7f", NULL);
	size_t at = 240; /* options, after the BOOTP header and the cookie */
	while (at + 1 < m.len && m.b[at] != 12)
		at += 2 + (size_t)m.b[at + 1];
	cr_assert_eq(m.b[at], 12);
	m.len = at + 6;
	struct fb f = udp_frame(MAC_BCAST, MAC_A, "0.0.0.0", 68, "255.255.255.255", 67, &m);
	feed(&f, 1 * S);
	cr_assert_eq(trk_stats(trk)->dhcp_malformed, 1);
	cr_assert_eq(trk_stats(trk)->dhcp_parsed, 0);
	const struct device *d = device(MAC_A);
	cr_assert(!d || !ident_get(d), "evidence from a malformed message");
	dhcp_from(MAC_A, "doorbell-7f", 2 * S);
	cr_assert_eq(trk_stats(trk)->dhcp_parsed, 1, "later messages are still read");
}

/* ---- names are released ---- */

#define MAX_HELD 256

/* Distinct names held by device identity records (evidence values and
 * destination names; equal text is one interned name), plus the texts in
 * extra (names the test knows another holder keeps). */
static size_t names_expected(const char *const *extra, size_t n_extra)
{
	const char *held[MAX_HELD];
	size_t n = 0, n_dev = 0;
	struct device **all = dev_table_list(trk_devices(trk), &n_dev);
	cr_assert(all || n_dev == 0);
	for (size_t i = 0; i < n_dev + n_extra; i++) {
		const char *mine[IDENT_MAX_EVIDENCE + IDENT_MAX_NAMES + 1];
		size_t k = 0;
		if (i < n_dev) {
			const struct ident_rec *r = ident_get(all[i]);
			for (uint8_t e = 0; r && e < r->n_evidence; e++)
				mine[k++] = iname_str(r->evidence[e].value);
			for (uint8_t e = 0; r && e < r->n_names; e++)
				mine[k++] = iname_str(r->names[e].name);
		} else {
			mine[k++] = extra[i - n_dev];
		}
		for (size_t j = 0; j < k; j++) {
			bool dup = false;
			for (size_t h = 0; h < n && !dup; h++)
				dup = strcmp(held[h], mine[j]) == 0;
			if (!dup) {
				cr_assert_lt(n, MAX_HELD);
				held[n++] = mine[j];
			}
		}
	}
	free(all);
	return n;
}

/* A resolves a CNAME'd name and uses it, opens TLS by SNI; B opens HTTP and
 * resolves a name it never uses; a transit TLS flow is named by its SNI;
 * then C's arrival evicts A while A's flows are still open. After
 * trk_finish only B's and C's identity records and B's cached answer may
 * hold names. */
Test(naming, after_finish_only_identity_records_and_cached_answers_hold_names)
{
	static const uint8_t MAC_X[6] = {0x02, 0, 0, 0, 0, 0x77};
	struct trk_cfg c = config();
	c.max_devices = 2;
	start_with(&c);

	dhcp_from(MAC_A, "doorbell-7f", 1 * S);
	struct bytes m = {.len = 0};
	dns_header(&m, DNS_FLAGS_ANSWER, 1, 3, 0, 0);
	dns_question(&m, "www.example.com", DNS_TYPE_A);
	rr_target(&m, "www.example.com", DNS_TYPE_CNAME, 300, "cdn.example.net");
	rr_target(&m, "cdn.example.net", DNS_TYPE_CNAME, 300, "edge.cdnprov.net");
	rr_addr(&m, "edge.cdnprov.net", DNS_CLASS_IN, 60, CDN);
	answer_to(MAC_A, IP_A, &m, 2 * S);
	send_udp(MAC_A, IP_A, 41000, CDN, 3 * S);
	tls_connect(MAC_A, IP_A, 50000, "198.51.100.20", "sni.example.org", 4 * S);

	struct bytes get = http_get("cam.example.org");
	tcp_session(MAC_B, MAC_R, IP_B, 50001, "198.51.100.30", 80, &get, 5 * S);
	struct bytes unused = {.len = 0};
	dns_header(&unused, DNS_FLAGS_ANSWER, 1, 2, 0, 0);
	dns_question(&unused, "unused.example.com", DNS_TYPE_A);
	rr_target(&unused, "unused.example.com", DNS_TYPE_CNAME, 300, "edge.example.net");
	rr_addr(&unused, "edge.example.net", DNS_CLASS_IN, 300, "203.0.113.99");
	answer_to(MAC_B, IP_B, &unused, 5 * S + 100);

	tls_connect(MAC_X, "198.51.100.1", 50002, "198.51.100.2", "transit.example.net", 6 * S);
	dhcp_from(MAC_C, "sensor-c", 7 * S);

	cr_assert_eq(dev_table_stats(trk_devices(trk))->evicted, 1);
	cr_assert_null(device(MAC_A), "A was evicted");
	cr_assert_not_null(device(MAC_B));
	static const char *const cached[] = {"unused.example.com", "edge.example.net"};
	/* A's open UDP flow alone still holds www.example.com and its chain. */
	cr_assert_geq(intern_stats(trk_names(trk))->names, names_expected(cached, 2) + 2);

	trk_finish(trk);
	/* The scenario named what it should have. */
	cr_assert_str_eq(ended(UDP, 41000)->name, "www.example.com");
	cr_assert_str_eq(ended(UDP, 41000)->cname, "cdn.example.net\nedge.cdnprov.net");
	cr_assert_str_eq(ended(TCP, 50000)->name, "sni.example.org");
	cr_assert_str_eq(ended(TCP, 50001)->name, "cam.example.org");
	cr_assert_str_eq(ended(TCP, 50002)->name, "transit.example.net");
	cr_assert_gt(seen.n_win, 0);

	size_t want = names_expected(cached, 2);
	/* B's HTTP name; C's hostname, fingerprint and client id; B's cached answer. */
	cr_assert_eq(want, 6, "%zu names expected", want);
	cr_assert_eq(intern_stats(trk_names(trk))->names, want, "%llu names held, want %zu",
		     (unsigned long long)intern_stats(trk_names(trk))->names, want);
}
