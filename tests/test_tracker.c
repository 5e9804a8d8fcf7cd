/*
 * Tests for features/tracker.c: raw Ethernet frames in, flows, devices and
 * window records out.
 *
 * Frames are built here with a small builder (Ethernet, IPv4 or IPv6, then
 * TCP, UDP, ICMP or ARP) so that every test shows the packets it feeds. The
 * tracker's observers copy what they are given: flows as they end, window
 * records as they are emitted.
 */
#include "features/tracker.h"

#include <criterion/criterion.h>
#include <pcap/dlt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S 1000000ull
#define TCP 6
#define UDP 17
#define ICMP 1
#define ICMPV6 58

/* ---- MACs and addresses of the test LAN ---- */

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0, 0x0b};
static const uint8_t MAC_C[6] = {0x02, 0, 0, 0, 0, 0x0c};
static const uint8_t MAC_R[6] = {0x02, 0, 0, 0, 0, 0xfe}; /* the router */
static const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

#define IP_A "192.168.1.10"
#define IP_B "192.168.1.20"
#define IP_C "192.168.1.30"
#define IP_R "192.168.1.1"
#define WEB "93.184.216.34"

static struct ip_addr addr(const char *s)
{
	struct ip_addr ip;
	cr_assert_eq(ip_parse(s, &ip), 0, "ip_parse('%s') failed", s);
	return ip;
}

/* ---- frame builder ---- */

struct fb {
	uint8_t b[1024];
	size_t len;
	size_t ip_off, l4_off;
	bool v6;
	uint8_t proto;
};

static void put(struct fb *f, const void *p, size_t n)
{
	cr_assert_leq(f->len + n, sizeof(f->b), "frame too long");
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void put16(struct fb *f, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(f, b, 2);
}

static void put32(struct fb *f, uint32_t v)
{
	put16(f, (uint16_t)(v >> 16));
	put16(f, (uint16_t)v);
}

static void set16(struct fb *f, size_t off, uint16_t v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

/* Ethernet, then an IPv4 or IPv6 header (by the source's family). */
static void fb_ip(struct fb *f, const uint8_t dmac[6], const uint8_t smac[6], const char *src, const char *dst,
		  uint8_t proto, uint8_t ttl)
{
	struct ip_addr s = addr(src), d = addr(dst);
	memset(f, 0, sizeof(*f));
	f->v6 = !ip_is_v4(&s);
	f->proto = proto;
	put(f, dmac, 6);
	put(f, smac, 6);
	put16(f, f->v6 ? 0x86dd : 0x0800);
	f->ip_off = f->len;
	if (f->v6) {
		uint8_t h[8] = {0x60, 0, 0, 0, 0, 0, proto, ttl};
		put(f, h, 8);
		put(f, s.b, 16);
		put(f, d.b, 16);
	} else {
		uint8_t h[12] = {0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, ttl, proto, 0, 0};
		put(f, h, 12);
		put(f, s.b + 12, 4);
		put(f, d.b + 12, 4);
	}
	f->l4_off = f->len;
}

static void fb_tcp(struct fb *f, uint16_t sport, uint16_t dport, uint8_t flags)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, 1000); /* seq */
	put32(f, flags & TCP_ACK ? 2000 : 0);
	uint8_t h[4] = {5 << 4, flags, 0xff, 0xff};
	put(f, h, 4);
	put32(f, 0); /* checksum, urgent */
}

static void fb_udp(struct fb *f, uint16_t sport, uint16_t dport)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, 0); /* length (fb_end), checksum */
}

static void fb_icmp(struct fb *f, uint8_t type, uint8_t code, uint32_t rest)
{
	uint8_t h[4] = {type, code, 0, 0};
	put(f, h, 4);
	put32(f, rest);
}

/* Fills in the IP and UDP lengths. */
static void fb_end(struct fb *f)
{
	if (f->v6)
		set16(f, f->ip_off + 4, (uint16_t)(f->len - f->ip_off - 40));
	else
		set16(f, f->ip_off + 2, (uint16_t)(f->len - f->ip_off));
	if (f->proto == UDP)
		set16(f, f->l4_off + 4, (uint16_t)(f->len - f->l4_off));
}

static struct fb tcp(const uint8_t dmac[6], const uint8_t smac[6], const char *src, uint16_t sport, const char *dst,
		     uint16_t dport, uint8_t flags)
{
	struct fb f;
	fb_ip(&f, dmac, smac, src, dst, TCP, 64);
	fb_tcp(&f, sport, dport, flags);
	fb_end(&f);
	return f;
}

static struct fb udp(const uint8_t dmac[6], const uint8_t smac[6], const char *src, uint16_t sport, const char *dst,
		     uint16_t dport, size_t payload)
{
	struct fb f;
	fb_ip(&f, dmac, smac, src, dst, UDP, 64);
	fb_udp(&f, sport, dport);
	for (size_t i = 0; i < payload; i++)
		put(&f, "\x5a", 1);
	fb_end(&f);
	return f;
}

static struct fb echo(const uint8_t dmac[6], const uint8_t smac[6], const char *src, const char *dst, bool reply,
		      uint16_t id)
{
	struct fb f;
	struct ip_addr s = addr(src);
	bool v6 = !ip_is_v4(&s);
	fb_ip(&f, dmac, smac, src, dst, v6 ? ICMPV6 : ICMP, 64);
	fb_icmp(&f, v6 ? (reply ? 129 : 128) : (reply ? 0 : 8), 0, (uint32_t)id << 16 | 1);
	fb_end(&f);
	return f;
}

/* ICMP port unreachable from src to dst about a UDP datagram isrc:isport ->
 * idst:idport that dst sent. */
static struct fb port_unreachable(const uint8_t dmac[6], const uint8_t smac[6], const char *src, const char *dst,
				  const char *isrc, uint16_t isport, const char *idst, uint16_t idport)
{
	struct fb f, inner;
	fb_ip(&inner, MAC_R, MAC_R, isrc, idst, UDP, 64);
	fb_udp(&inner, isport, idport);
	fb_end(&inner);
	fb_ip(&f, dmac, smac, src, dst, ICMP, 64);
	fb_icmp(&f, 3, 3, 0);
	put(&f, inner.b + inner.ip_off, inner.len - inner.ip_off);
	fb_end(&f);
	return f;
}

static struct fb arp(const uint8_t smac[6], const char *spa, const char *tpa)
{
	struct fb f;
	struct ip_addr s = addr(spa), t = addr(tpa);
	static const uint8_t zero[6];
	memset(&f, 0, sizeof(f));
	put(&f, MAC_BCAST, 6);
	put(&f, smac, 6);
	put16(&f, 0x0806);
	put16(&f, 1);      /* Ethernet */
	put16(&f, 0x0800); /* IPv4 */
	uint8_t lens[2] = {6, 4};
	put(&f, lens, 2);
	put16(&f, 1); /* request */
	put(&f, smac, 6);
	put(&f, s.b + 12, 4);
	put(&f, zero, 6);
	put(&f, t.b + 12, 4);
	while (f.len < 60)
		put(&f, "\0", 1);
	return f;
}

/* A Router Advertisement from fe80::1 (the router) with one on-link /64. */
static struct fb router_advert(const char *prefix)
{
	static const uint8_t all_nodes[6] = {0x33, 0x33, 0, 0, 0, 1};
	struct fb f;
	struct ip_addr p = addr(prefix);
	fb_ip(&f, all_nodes, MAC_R, "fe80::1", "ff02::1", ICMPV6, 255);
	fb_icmp(&f, 134, 0, 64u << 24 | 1800); /* hop limit 64, lifetime 1800 */
	put32(&f, 0);                         /* reachable */
	put32(&f, 0);                         /* retrans */
	uint8_t opt[4] = {3, 4, 64, 0xc0};    /* prefix information, /64, L and A */
	put(&f, opt, 4);
	put32(&f, 86400);
	put32(&f, 14400);
	put32(&f, 0);
	put(&f, p.b, 16);
	fb_end(&f);
	return f;
}

/* ---- what the tracker reports ---- */

#define REC_MAX 512
#define REC_REMOTES 16

struct win_rec {
	struct dev_window w;
	struct device dev; /* a copy, taken during the callback */
	struct win_remote remotes[REC_REMOTES];
};

struct flow_rec {
	struct flow f;
	enum flow_end why;
};

static struct {
	struct win_rec win[REC_MAX];
	size_t n_win;
	struct flow_rec flow[REC_MAX];
	size_t n_flow;
} seen;

static void on_window(void *ctx, const struct dev_window *w)
{
	cr_assert_eq(ctx, &seen);
	cr_assert_lt(seen.n_win, REC_MAX);
	struct win_rec *r = &seen.win[seen.n_win++];
	r->w = *w;
	r->dev = *w->dev;
	r->dev.win = NULL;
	for (uint32_t i = 0; i < w->n_remotes && i < REC_REMOTES; i++)
		r->remotes[i] = w->remotes[i];
	r->w.dev = NULL;
	r->w.remotes = NULL;
}

static void on_flow_end(void *ctx, const struct flow *f, enum flow_end why)
{
	cr_assert_eq(ctx, &seen);
	cr_assert_lt(seen.n_flow, REC_MAX);
	seen.flow[seen.n_flow++] = (struct flow_rec){*f, why};
}

static struct tracker *trk;
static struct ip_prefix nets[16];

static struct trk_cfg config(const char *const *home, size_t n_home)
{
	cr_assert_leq(n_home, sizeof(nets) / sizeof(nets[0]));
	for (size_t i = 0; i < n_home; i++)
		cr_assert_eq(ip_prefix_parse(home[i], &nets[i]), 0, "%s", home[i]);
	struct trk_cfg c = {
		.home_nets = nets,
		.n_home_nets = n_home,
		.learn_ipv6_prefixes = true,
		.window_s = 60,
		.window_max_remotes = REC_REMOTES,
		.max_flows = 1024,
		.timeouts_s = {[FLOW_TMO_TCP_SYN] = 5,
			       [FLOW_TMO_TCP] = 600,
			       [FLOW_TMO_TCP_CLOSED] = 10,
			       [FLOW_TMO_UDP] = 120,
			       [FLOW_TMO_ICMP] = 30,
			       [FLOW_TMO_OTHER] = 60},
		.max_devices = 64,
		.dpi = true,
		.max_dpi_states = 256,
		.max_names = 4096,
		.dns_cache_max = 1024,
		.dns_cache_per_device = 64,
		.on_flow_end = on_flow_end,
		.on_window = on_window,
		.ctx = &seen,
	};
	return c;
}

static const char *const default_home[] = {
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
	"169.254.0.0/16", "fc00::/7", "fe80::/10",
};
#define N_DEFAULT_HOME (sizeof(default_home) / sizeof(default_home[0]))

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
	struct trk_cfg c = config(default_home, N_DEFAULT_HOME);
	start_with(&c);
}

static void fini(void)
{
	trk_free(trk);
	trk = NULL;
}

TestSuite(tracker, .init = init, .fini = fini);

static void feed(const struct fb *f, uint64_t ts_us)
{
	trk_packet(trk, DLT_EN10MB, f->b, (uint32_t)f->len, (uint32_t)f->len, ts_us);
}

static bool mac_is(const uint8_t a[6], const uint8_t b[6])
{
	return memcmp(a, b, 6) == 0;
}

static bool ip_is(const struct ip_addr *ip, const char *s)
{
	struct ip_addr a = addr(s);
	return ip_equal(ip, &a);
}

/* The device with this MAC, from the tracker's table, or NULL. */
static const struct device *device(const uint8_t mac[6])
{
	size_t n = 0;
	struct device **all = dev_table_list(trk_devices(trk), &n);
	cr_assert_not_null(all);
	const struct device *d = NULL;
	for (size_t i = 0; i < n; i++)
		if (all[i]->has_mac && mac_is(all[i]->mac, mac))
			d = all[i];
	free(all);
	return d;
}

static size_t n_devices(void)
{
	return (size_t)dev_table_stats(trk_devices(trk))->active;
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

/* The window records of one device, in order. */
static size_t records_of(const uint8_t mac[6], const struct win_rec **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < seen.n_win; i++)
		if (seen.win[i].dev.has_mac && mac_is(seen.win[i].dev.mac, mac) && n < max)
			out[n++] = &seen.win[i];
	return n;
}

static const struct win_rec *one_record(const uint8_t mac[6])
{
	const struct win_rec *r[REC_MAX];
	size_t n = records_of(mac, r, REC_MAX);
	cr_assert_eq(n, 1, "%zu window records for the device, want 1", n);
	return r[0];
}

/* ---- direction and devices ---- */

Test(tracker, a_device_talking_to_the_internet_makes_an_outbound_flow_of_its_own)
{
	struct fb syn = tcp(MAC_R, MAC_A, IP_A, 50000, WEB, 443, TCP_SYN);
	struct fb sa = tcp(MAC_A, MAC_R, WEB, 443, IP_A, 50000, TCP_SYN | TCP_ACK);
	struct fb ack = tcp(MAC_R, MAC_A, IP_A, 50000, WEB, 443, TCP_ACK);
	feed(&syn, 1 * S);
	feed(&sa, 1 * S + 20000);
	feed(&ack, 1 * S + 21000);

	const struct device *d = device(MAC_A);
	cr_assert_not_null(d);
	cr_assert_eq(n_devices(), 1, "the router's MAC is not a device for internet traffic");
	cr_assert_eq(d->n_ips, 1);
	cr_assert(ip_is(&d->ips[0], IP_A));
	cr_assert_eq(d->packets_out, 2);
	cr_assert_eq(d->packets_in, 1);
	cr_assert_eq(d->bytes_out, 2 * syn.len);
	cr_assert_eq(d->flows_out, 1);
	cr_assert_eq(d->flows_in, 0);

	trk_finish(trk);
	cr_assert_eq(seen.n_flow, 1);
	const struct flow_rec *f = ended(TCP, 50000);
	cr_assert_eq(f->f.dir, FLOW_DIR_OUTBOUND);
	cr_assert(f->f.has_src_mac);
	cr_assert(mac_is(f->f.src_mac, MAC_A));
	cr_assert_not(f->f.has_dst_mac);
	cr_assert(ip_is(&f->f.src, IP_A));
	cr_assert(ip_is(&f->f.dst, WEB));
	cr_assert_eq(f->f.state, FLOW_ST_ESTABLISHED);
	cr_assert_eq(f->why, FLOW_END_FLUSH);

	const struct win_rec *w = one_record(MAC_A);
	cr_assert_eq(w->w.start_us, 0);
	cr_assert_eq(w->w.packets_out, 2);
	cr_assert_eq(w->w.packets_in, 1);
	cr_assert_eq(w->w.flows_out, 1);
	cr_assert_eq(w->w.remote_hosts, 1);
	cr_assert_eq(w->w.remote_ports, 1);
	cr_assert_eq(w->w.lan_peers, 0);
	cr_assert_eq(w->w.n_remotes, 1);
	cr_assert(ip_is(&w->remotes[0].ip, WEB));
	cr_assert_eq(w->remotes[0].port, 443);
	cr_assert_not(w->remotes[0].inbound);
	cr_assert_eq(w->remotes[0].packets, 3);
}

Test(tracker, a_connection_from_the_internet_is_inbound_to_the_device)
{
	struct fb syn = tcp(MAC_A, MAC_R, "198.51.100.7", 41000, IP_A, 22, TCP_SYN);
	struct fb sa = tcp(MAC_R, MAC_A, IP_A, 22, "198.51.100.7", 41000, TCP_SYN | TCP_ACK);
	feed(&syn, 1 * S);
	feed(&sa, 1 * S + 1000);
	trk_finish(trk);

	const struct flow_rec *f = ended(TCP, 41000);
	cr_assert_eq(f->f.dir, FLOW_DIR_INBOUND);
	cr_assert(f->f.has_dst_mac);
	cr_assert(mac_is(f->f.dst_mac, MAC_A));
	cr_assert_not(f->f.has_src_mac);
	const struct device *d = device(MAC_A);
	cr_assert_not_null(d);
	cr_assert_eq(d->flows_in, 1);
	cr_assert_eq(d->flows_out, 0);
	const struct win_rec *w = one_record(MAC_A);
	cr_assert_eq(w->w.flows_in, 1);
	cr_assert_eq(w->w.flows_out, 0);
	cr_assert_eq(w->w.remote_ports, 0);
	cr_assert_eq(w->w.remote_hosts, 1);
	cr_assert(w->remotes[0].inbound);
	cr_assert_eq(w->remotes[0].port, 22);
}

Test(tracker, device_to_device_traffic_is_local_and_counted_for_both)
{
	struct fb q = udp(MAC_B, MAC_A, IP_A, 40000, IP_B, 8080, 10);
	struct fb r = udp(MAC_A, MAC_B, IP_B, 8080, IP_A, 40000, 30);
	feed(&q, 1 * S);
	feed(&r, 2 * S);
	trk_finish(trk);

	cr_assert_eq(ended(UDP, 40000)->f.dir, FLOW_DIR_LOCAL);
	const struct device *a = device(MAC_A), *b = device(MAC_B);
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_eq(a->flows_out, 1);
	cr_assert_eq(b->flows_in, 1);
	cr_assert_eq(a->packets_out, 1);
	cr_assert_eq(a->packets_in, 1);
	cr_assert_eq(b->packets_out, 1);
	cr_assert_eq(b->packets_in, 1);
	cr_assert(ip_is(&b->ips[0], IP_B));

	const struct win_rec *wa = one_record(MAC_A), *wb = one_record(MAC_B);
	cr_assert_eq(wa->w.flows_out, 1);
	cr_assert_eq(wa->w.lan_peers, 1);
	cr_assert_eq(wa->w.remote_hosts, 0);
	cr_assert(wa->remotes[0].local);
	cr_assert_eq(wb->w.flows_in, 1);
	cr_assert_eq(wb->w.lan_peers, 1);
	cr_assert_eq(wb->w.remote_hosts, 0);
	/* A was seen first. */
	cr_assert(mac_is(seen.win[0].dev.mac, MAC_A));
}

Test(tracker, transit_traffic_has_no_device)
{
	struct fb q = udp(MAC_R, MAC_C, "198.51.100.1", 40000, "203.0.113.1", 53, 10);
	feed(&q, 1 * S);
	trk_finish(trk);
	cr_assert_eq(ended(UDP, 40000)->f.dir, FLOW_DIR_TRANSIT);
	cr_assert_eq(n_devices(), 0);
	cr_assert_eq(seen.n_win, 0);
}

Test(tracker, an_arp_from_a_device_binds_its_ip)
{
	struct fb a = arp(MAC_C, IP_C, IP_R);
	feed(&a, 1 * S);
	const struct device *d = device(MAC_C);
	cr_assert_not_null(d);
	cr_assert_eq(d->n_ips, 1);
	cr_assert(ip_is(&d->ips[0], IP_C));
	cr_assert_eq(flow_table_stats(trk_flows(trk))->created, 0);
}

Test(tracker, an_arp_for_a_non_local_address_binds_nothing)
{
	struct fb a = arp(MAC_C, "198.51.100.1", IP_R);
	feed(&a, 1 * S);
	cr_assert_eq(n_devices(), 0);
}

/* Every device's DHCP discover is the same 5-tuple (0.0.0.0:68 ->
 * 255.255.255.255:67), so the devices share one flow. */
Test(tracker, devices_sharing_the_dhcp_discover_flow_each_list_the_server_port)
{
	struct fb da = udp(MAC_BCAST, MAC_A, "0.0.0.0", 68, "255.255.255.255", 67, 300);
	struct fb db = udp(MAC_BCAST, MAC_B, "0.0.0.0", 68, "255.255.255.255", 67, 300);
	struct fb dns_b = udp(MAC_R, MAC_B, IP_B, 40000, "9.9.9.9", 53, 30);
	feed(&da, 1 * S);
	feed(&dns_b, 2 * S);
	feed(&db, 3 * S);
	trk_finish(trk);
	const struct win_rec *wa = one_record(MAC_A), *wb = one_record(MAC_B);
	cr_assert_eq(wa->w.n_remotes, 1);
	cr_assert_eq(wa->remotes[0].port, 67);
	cr_expect_eq(wb->w.n_remotes, 2, "B lists %u endpoints, want 2", wb->w.n_remotes);
	cr_expect_eq(wb->w.remote_ports, 2);
	cr_expect_eq(wb->remotes[0].packets, 1, "B's DNS endpoint credited with the discover");
}

/* ---- failed connections ---- */

Test(tracker, an_unanswered_syn_counts_one_failed_connection_for_its_initiator)
{
	struct fb syn = tcp(MAC_R, MAC_A, IP_A, 50000, WEB, 8443, TCP_SYN);
	struct fb later = udp(MAC_R, MAC_A, IP_A, 40000, "9.9.9.9", 53, 20);
	feed(&syn, 1 * S);
	feed(&syn, 2 * S); /* a retransmission */
	feed(&later, 10 * S); /* past the 5 s SYN timeout: expiry runs */
	const struct flow_rec *f = ended(TCP, 50000);
	cr_assert_eq(f->why, FLOW_END_IDLE);
	cr_assert(f->f.failed);
	trk_finish(trk);
	const struct win_rec *w = one_record(MAC_A);
	cr_assert_eq(w->w.failed_conns, 1);
}

Test(tracker, a_refused_connection_counts_one_failed_connection)
{
	struct fb syn = tcp(MAC_R, MAC_A, IP_A, 50000, WEB, 23, TCP_SYN);
	struct fb rst = tcp(MAC_A, MAC_R, WEB, 23, IP_A, 50000, TCP_RST | TCP_ACK);
	feed(&syn, 1 * S);
	feed(&rst, 1 * S + 100);
	feed(&rst, 1 * S + 200);
	trk_finish(trk);
	cr_assert(ended(TCP, 50000)->f.failed);
	cr_assert_eq(one_record(MAC_A)->w.failed_conns, 1);
}

Test(tracker, an_icmp_port_unreachable_marks_the_devices_udp_flow_failed)
{
	struct fb q = udp(MAC_R, MAC_A, IP_A, 40000, WEB, 9999, 12);
	struct fb unr = port_unreachable(MAC_A, MAC_R, WEB, IP_A, IP_A, 40000, WEB, 9999);
	feed(&q, 1 * S);
	feed(&unr, 1 * S + 5000);
	feed(&unr, 1 * S + 6000); /* a second error changes nothing */
	trk_finish(trk);
	cr_assert(ended(UDP, 40000)->f.failed);
	cr_assert_eq(one_record(MAC_A)->w.failed_conns, 1);
}

Test(tracker, an_answered_connection_is_not_failed)
{
	struct fb syn = tcp(MAC_R, MAC_A, IP_A, 50000, WEB, 443, TCP_SYN);
	struct fb sa = tcp(MAC_A, MAC_R, WEB, 443, IP_A, 50000, TCP_SYN | TCP_ACK);
	struct fb later = udp(MAC_R, MAC_A, IP_A, 40000, "9.9.9.9", 53, 20);
	feed(&syn, 1 * S);
	feed(&sa, 1 * S + 100);
	feed(&later, 10 * S);
	trk_finish(trk);
	cr_assert_not(ended(TCP, 50000)->f.failed);
	cr_assert_eq(one_record(MAC_A)->w.failed_conns, 0);
}

/* Unanswered is only known once a SYN has timed out; at the end of input
 * every SYN whose timeout has passed is known unanswered, however many were
 * due at once (expiry during the capture is bounded per packet). */
Test(tracker, every_syn_timed_out_before_the_end_counts_as_failed)
{
	for (uint16_t i = 0; i < 20; i++) {
		struct fb syn = tcp(MAC_R, MAC_A, IP_A, (uint16_t)(50000 + i), WEB, (uint16_t)(1 + i), TCP_SYN);
		feed(&syn, 1 * S + i * 1000);
	}
	struct fb later = udp(MAC_R, MAC_A, IP_A, 40000, "9.9.9.9", 53, 20);
	feed(&later, 30 * S); /* every SYN timed out 24 s ago */
	trk_finish(trk);
	size_t failed = 0, idle = 0;
	for (size_t i = 0; i < seen.n_flow; i++) {
		failed += seen.flow[i].f.failed;
		idle += seen.flow[i].why == FLOW_END_IDLE;
	}
	cr_expect_eq(idle, 20, "%zu of 20 timed-out SYN flows ended idle", idle);
	cr_expect_eq(failed, 20, "%zu of 20 unanswered SYNs marked failed", failed);
	cr_expect_eq(one_record(MAC_A)->w.failed_conns, 20);
}

/* A SYN sent at 50 s times out at 55 s, inside window [0, 60). The next
 * packet of the capture comes at 70 s. The failure belongs to the window it
 * happened in, and the device, silent in [60, 120), has no record there. */
Test(tracker, a_syn_timing_out_in_a_window_counts_in_that_window)
{
	struct fb syn = tcp(MAC_R, MAC_A, IP_A, 50000, WEB, 8443, TCP_SYN);
	struct fb other = udp(MAC_R, MAC_B, IP_B, 40000, "9.9.9.9", 53, 20);
	feed(&syn, 50 * S);
	feed(&other, 70 * S);
	trk_finish(trk);
	const struct win_rec *r[8];
	size_t n = records_of(MAC_A, r, 8);
	cr_expect_eq(n, 1, "device A has %zu records, want 1", n);
	cr_expect_eq(r[0]->w.start_us, 0);
	cr_expect_eq(r[0]->w.failed_conns, 1, "failed_conns %u in [0,60)", r[0]->w.failed_conns);
}

/* ---- configuration ---- */

Test(tracker, with_only_10_slash_8_at_home_192_168_addresses_are_not_local)
{
	static const char *const home[] = {"10.0.0.0/8"};
	struct trk_cfg c = config(home, 1);
	start_with(&c);
	struct fb q = udp(MAC_R, MAC_A, IP_A, 40000, "8.8.8.8", 53, 20);
	struct fb p = udp(MAC_R, MAC_B, "10.0.0.5", 40001, "8.8.8.8", 53, 20);
	feed(&q, 1 * S);
	feed(&p, 2 * S);
	trk_finish(trk);
	cr_assert_eq(ended(UDP, 40000)->f.dir, FLOW_DIR_TRANSIT);
	cr_assert_eq(ended(UDP, 40001)->f.dir, FLOW_DIR_OUTBOUND);
	cr_assert_null(device(MAC_A));
	cr_assert_not_null(device(MAC_B));
	cr_assert_eq(n_devices(), 1);
	cr_assert_eq(seen.n_win, 1);
}

Test(tracker, a_router_advertisement_makes_the_devices_global_ipv6_traffic_outbound)
{
	struct fb ra = router_advert("2001:db8:1:2::");
	struct fb q = udp(MAC_R, MAC_A, "2001:db8:1:2::10", 40000, "2606:4700::1111", 443, 20);
	struct fb before = udp(MAC_R, MAC_A, "2001:db8:1:2::10", 40001, "2606:4700::1111", 443, 20);
	feed(&before, 1 * S);
	feed(&ra, 2 * S);
	feed(&q, 3 * S);
	struct ip_prefix learned[LAN_MAX_LEARNED];
	cr_assert_eq(lan_learned(trk_lan(trk), learned, LAN_MAX_LEARNED), 1);
	trk_finish(trk);
	cr_assert_eq(ended(UDP, 40001)->f.dir, FLOW_DIR_TRANSIT, "before the RA the prefix is not known");
	cr_assert_eq(ended(UDP, 40000)->f.dir, FLOW_DIR_OUTBOUND);
	const struct device *a = device(MAC_A);
	cr_assert_not_null(a);
	cr_assert(ip_is(&a->ips[0], "2001:db8:1:2::10"));
}

Test(tracker, a_device_evicted_from_a_full_table_emits_its_partial_window)
{
	struct trk_cfg c = config(default_home, N_DEFAULT_HOME);
	c.max_devices = 2;
	start_with(&c);
	struct fb a = udp(MAC_R, MAC_A, IP_A, 40000, "8.8.8.8", 53, 20);
	struct fb b = udp(MAC_R, MAC_B, IP_B, 40000, "8.8.8.8", 53, 20);
	struct fb cc = udp(MAC_R, MAC_C, IP_C, 40000, "8.8.8.8", 53, 20);
	feed(&a, 1 * S);
	feed(&b, 2 * S);
	feed(&cc, 3 * S);
	cr_assert_eq(seen.n_win, 1);
	cr_assert(mac_is(seen.win[0].dev.mac, MAC_A));
	cr_assert(seen.win[0].w.partial);
	cr_assert_eq(dev_table_stats(trk_devices(trk))->evicted, 1);
	cr_assert_null(device(MAC_A));
	trk_finish(trk);
	cr_assert_eq(seen.n_win, 3);
}

Test(tracker, making_a_packets_receiver_in_a_full_table_never_evicts_its_sender)
{
	struct trk_cfg c = config(default_home, N_DEFAULT_HOME);
	c.max_devices = 2;
	start_with(&c);
	struct fb a = udp(MAC_R, MAC_A, IP_A, 40000, "8.8.8.8", 53, 20);
	struct fb b = udp(MAC_R, MAC_B, IP_B, 40000, "8.8.8.8", 53, 20);
	struct fb a_to_c = udp(MAC_C, MAC_A, IP_A, 40001, IP_C, 8080, 20);
	feed(&a, 1 * S);
	feed(&b, 2 * S);
	feed(&b, 2 * S + 500); /* too soon to settle: both fresh */
	/* Both recently active: without care the scan comes back round to A. */
	feed(&a_to_c, 3 * S);
	const struct device *da = device(MAC_A), *dc = device(MAC_C);
	cr_assert_not_null(da, "the sender was evicted");
	cr_assert_not_null(dc);
	cr_assert_null(device(MAC_B));
	cr_assert_eq(da->packets_out, 2);
	cr_assert_eq(da->packets_in, 0);
	cr_assert_eq(dc->packets_in, 1);
	cr_assert_eq(dc->packets_out, 0);
}

Test(tracker, stats_count_packets_bytes_and_late_timestamps)
{
	struct fb q = udp(MAC_R, MAC_A, IP_A, 40000, "8.8.8.8", 53, 20);
	uint8_t junk[10] = {0};
	feed(&q, 5 * S);
	feed(&q, 3 * S);
	trk_packet(trk, DLT_EN10MB, junk, sizeof(junk), sizeof(junk), 6 * S);
	const struct trk_stats *s = trk_stats(trk);
	cr_assert_eq(s->packets, 3);
	cr_assert_eq(s->bytes, 2 * q.len + sizeof(junk));
	cr_assert_eq(s->ts_backwards, 1);
	cr_assert_eq(s->first_us, 5 * S);
	cr_assert_eq(s->last_us, 6 * S);
	/* The late packet is counted at the latest time seen. */
	const struct device *d = device(MAC_A);
	cr_assert_eq(d->last_us, 5 * S);
	cr_assert_eq(d->packets_out, 2);
}

Test(tracker, a_packet_that_does_not_decode_still_moves_time)
{
	struct fb q = udp(MAC_R, MAC_A, IP_A, 40000, "8.8.8.8", 53, 20);
	uint8_t junk[10] = {0};
	feed(&q, 10 * S);
	trk_packet(trk, DLT_EN10MB, junk, sizeof(junk), sizeof(junk), 70 * S);
	cr_assert_eq(seen.n_win, 1);
	cr_assert_not(seen.win[0].w.partial);
}

/* ---- determinism ---- */

struct text {
	char *buf;
	size_t len, cap;
};

static void tprintf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tprintf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	cr_assert_geq(n, 0);
	cr_assert_lt(t->len + (size_t)n, t->cap, "serialisation buffer too small");
	t->len += (size_t)n;
}

static void text_ip(struct text *t, const struct ip_addr *ip)
{
	char b[IP_STRLEN];
	tprintf(t, " %s", ip_format(ip, b, sizeof(b)));
}

static void text_mac(struct text *t, const uint8_t mac[6])
{
	char b[18];
	tprintf(t, " %s", dev_mac_format(mac, b, sizeof(b)));
}

/* Every field of the records, not pointers. */
static void serialise(struct text *t)
{
	for (size_t i = 0; i < seen.n_win; i++) {
		const struct win_rec *r = &seen.win[i];
		const struct dev_window *w = &r->w;
		tprintf(t, "win dev %llu", (unsigned long long)r->dev.id);
		if (r->dev.has_mac)
			text_mac(t, r->dev.mac);
		else
			text_ip(t, &r->dev.key_ip);
		tprintf(t, " [%llu,%llu) p%d out %llu/%llu in %llu/%llu flows %u/%u hosts %u ports %u peers %u "
			   "failed %u dns %u remotes %u dropped %u\n",
			(unsigned long long)w->start_us, (unsigned long long)w->end_us, w->partial,
			(unsigned long long)w->packets_out, (unsigned long long)w->bytes_out,
			(unsigned long long)w->packets_in, (unsigned long long)w->bytes_in, w->flows_out, w->flows_in,
			w->remote_hosts, w->remote_ports, w->lan_peers, w->failed_conns, w->dns_queries, w->n_remotes,
			w->remotes_dropped);
		for (uint32_t k = 0; k < w->n_remotes && k < REC_REMOTES; k++) {
			const struct win_remote *rm = &r->remotes[k];
			tprintf(t, "  remote");
			text_ip(t, &rm->ip);
			tprintf(t, " %u/%u local %d inbound %d flows %u packets %llu bytes %llu\n", rm->port, rm->proto,
				rm->local, rm->inbound, rm->flows, (unsigned long long)rm->packets,
				(unsigned long long)rm->bytes);
		}
	}
	for (size_t i = 0; i < seen.n_flow; i++) {
		const struct flow *f = &seen.flow[i].f;
		tprintf(t, "flow %llu %s", (unsigned long long)f->id, flow_end_name(seen.flow[i].why));
		text_ip(t, &f->src);
		text_ip(t, &f->dst);
		tprintf(t, " %u %u %u dir %u state %u failed %d fwd %llu/%llu rev %llu/%llu", f->sport, f->dport,
			f->proto, f->dir, f->state, f->failed, (unsigned long long)f->fwd.packets,
			(unsigned long long)f->fwd.bytes, (unsigned long long)f->rev.packets,
			(unsigned long long)f->rev.bytes);
		if (f->has_src_mac)
			text_mac(t, f->src_mac);
		if (f->has_dst_mac)
			text_mac(t, f->dst_mac);
		tprintf(t, "\n");
	}
}

/* Three windows of a small home: DNS, web, a LAN peer, a port scan that
 * overflows the flow table, refused and unanswered connections, ARP,
 * pings, and more devices than the table holds. */
static void scenario(void)
{
	static const uint8_t *const macs[] = {MAC_A, MAC_B, MAC_C};
	static const char *const ips[] = {IP_A, IP_B, IP_C};
	struct fb f;
	uint64_t t = 1 * S;
	for (int round = 0; round < 3; round++) {
		for (int d = 0; d < 3; d++) {
			f = arp(macs[d], ips[d], IP_R);
			feed(&f, t += 1000);
			f = udp(MAC_R, macs[d], ips[d], (uint16_t)(40000 + round), "9.9.9.9", 53, 30);
			feed(&f, t += 1000);
			f = udp(macs[d], MAC_R, "9.9.9.9", 53, ips[d], (uint16_t)(40000 + round), 80);
			feed(&f, t += 1000);
			f = tcp(MAC_R, macs[d], ips[d], (uint16_t)(50000 + round), WEB, 443, TCP_SYN);
			feed(&f, t += 1000);
			f = tcp(macs[d], MAC_R, WEB, 443, ips[d], (uint16_t)(50000 + round), TCP_SYN | TCP_ACK);
			feed(&f, t += 1000);
			f = echo(MAC_R, macs[d], ips[d], "1.1.1.1", false, (uint16_t)(d + 1));
			feed(&f, t += 1000);
			f = echo(macs[d], MAC_R, "1.1.1.1", ips[d], true, (uint16_t)(d + 1));
			feed(&f, t += 1000);
		}
		f = udp(MAC_B, MAC_A, IP_A, 5000, IP_B, 5000, 100);
		feed(&f, t += 1000);
		f = tcp(MAC_A, MAC_R, WEB, 23, IP_A, 51000, TCP_RST | TCP_ACK);
		feed(&f, t += 1000);
		for (uint16_t p = 0; p < 40; p++) {
			f = tcp(MAC_R, MAC_C, IP_C, 60000, "203.0.113.50", (uint16_t)(1 + p + round * 40), TCP_SYN);
			feed(&f, t += 100);
		}
		/* A fourth and fifth device push the first ones out. */
		if (round == 1) {
			static const uint8_t m4[6] = {0x02, 0, 0, 0, 0, 0x44}, m5[6] = {0x02, 0, 0, 0, 0, 0x55};
			f = udp(MAC_R, m4, "192.168.1.44", 40000, "8.8.8.8", 123, 48);
			feed(&f, t += 1000);
			f = udp(MAC_R, m5, "192.168.1.55", 40000, "8.8.8.8", 123, 48);
			feed(&f, t += 1000);
		}
		t += 61 * S;
	}
	trk_finish(trk);
}

Test(tracker, a_flood_aimed_at_a_real_device_does_not_evict_its_own_connections)
{
	struct trk_cfg c = config(default_home, N_DEFAULT_HOME);
	c.max_flows = 32;
	start_with(&c);
	/* The camera settles, then keeps a connection to its cloud. */
	struct fb dns = udp(MAC_R, MAC_A, "192.168.1.23", 40000, "192.168.1.1", 53, 32);
	feed(&dns, 1 * S);
	struct fb syn = tcp(MAC_R, MAC_A, "192.168.1.23", 50000, "203.0.113.5", 443, TCP_SYN);
	struct fb synack = tcp(MAC_A, MAC_R, "203.0.113.5", 443, "192.168.1.23", 50000, TCP_SYN | TCP_ACK);
	struct fb ack = tcp(MAC_R, MAC_A, "192.168.1.23", 50000, "203.0.113.5", 443, TCP_ACK);
	struct fb back = tcp(MAC_A, MAC_R, "203.0.113.5", 443, "192.168.1.23", 50000, TCP_ACK | TCP_PSH);
	feed(&syn, 2 * S);
	feed(&synack, 2 * S + 1000);
	feed(&ack, 2 * S + 2000);
	feed(&ack, 3 * S);
	feed(&back, 3 * S + 1000);
	/* Minutes later, datagrams from spoofed sources, a flow each. */
	for (int i = 0; i < 400; i++) {
		char src[32];
		snprintf(src, sizeof(src), "198.51.%d.%d", i / 200, i % 200 + 1);
		struct fb flood = udp(MAC_A, MAC_R, src, (uint16_t)(1024 + i), "192.168.1.23", 9999, 512);
		feed(&flood, 400 * S + (uint64_t)i * 1000);
	}
	cr_assert_gt(seen.n_flow, 300, "the flood did not fill the table");
	for (size_t i = 0; i < seen.n_flow; i++)
		cr_assert(seen.flow[i].f.sport != 50000, "the camera's own connection ended (%s) in a flood aimed at it",
			  flow_end_name(seen.flow[i].why));
	trk_finish(trk);
}

static void run_scenario(struct text *out)
{
	struct trk_cfg c = config(default_home, N_DEFAULT_HOME);
	c.max_flows = 32;
	c.max_devices = 4;
	start_with(&c);
	scenario();
	serialise(out);
}

Test(tracker, identical_input_gives_byte_identical_records)
{
	static char b1[1 << 18], b2[1 << 18];
	struct text t1 = {b1, 0, sizeof(b1)}, t2 = {b2, 0, sizeof(b2)};
	run_scenario(&t1);
	size_t wins = seen.n_win, flows = seen.n_flow;
	run_scenario(&t2);
	cr_assert_gt(wins, 3);
	cr_assert_gt(flows, 32);
	cr_assert_eq(seen.n_win, wins);
	cr_assert_eq(seen.n_flow, flows);
	cr_assert_eq(t1.len, t2.len, "serialised lengths differ: %zu vs %zu", t1.len, t2.len);
	cr_assert_eq(memcmp(b1, b2, t1.len), 0, "records differ:\n--- first\n%s\n--- second\n%s", b1, b2);
}
