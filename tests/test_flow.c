/*
 * Tests for features/flow.c: the bidirectional flow table.
 *
 * Packets are struct pkt_meta filled by hand (what the decoder would give),
 * so each test states exactly the fields the table looks at. Every flow that
 * leaves the table is recorded by on_end, with a copy of the flow as it was.
 */
#include "features/flow.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define S 1000000ull /* microseconds per second */

#define TCP 6
#define UDP 17
#define ICMP 1
#define ICMPV6 58
#define GRE 47

/* Timeouts of every test table, in seconds. */
#define T_SYN 30
#define T_TCP 600
#define T_CLOSED 10
#define T_UDP 120
#define T_ICMP 30
#define T_OTHER 60

#define REC_MAX 64

struct ended {
	struct flow f;
	enum flow_end why;
};

static struct {
	struct ended e[REC_MAX];
	size_t n;     /* recorded */
	size_t total; /* calls */
} rec;

static struct flow_table *tbl;

static void on_end(void *ctx, struct flow *f, enum flow_end why)
{
	cr_assert_eq(ctx, &rec, "on_end got the wrong ctx");
	if (rec.n < REC_MAX)
		rec.e[rec.n++] = (struct ended){*f, why};
	rec.total++;
}

static struct flow_table *table(uint32_t max_flows)
{
	struct flow_table_cfg cfg = {
		.max_flows = max_flows,
		.timeout_s = {[FLOW_TMO_TCP_SYN] = T_SYN,
			      [FLOW_TMO_TCP] = T_TCP,
			      [FLOW_TMO_TCP_CLOSED] = T_CLOSED,
			      [FLOW_TMO_UDP] = T_UDP,
			      [FLOW_TMO_ICMP] = T_ICMP,
			      [FLOW_TMO_OTHER] = T_OTHER},
		.seed = 42,
		.on_end = on_end,
		.ctx = &rec,
	};
	struct flow_table *t = flow_table_new(&cfg);
	cr_assert_not_null(t);
	return t;
}

static void init(void)
{
	memset(&rec, 0, sizeof(rec));
	tbl = table(1024);
}

static void fini(void)
{
	flow_table_free(tbl);
	tbl = NULL;
}

TestSuite(flow, .init = init, .fini = fini);

static struct ip_addr addr(const char *s)
{
	struct ip_addr ip;
	cr_assert_eq(ip_parse(s, &ip), 0, "ip_parse('%s') failed", s);
	return ip;
}

/* A TCP or UDP packet (or any protocol, with ports) of 100 wire bytes. */
static struct pkt_meta pkt(const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t proto,
			   uint8_t flags, uint64_t ts_us)
{
	struct pkt_meta m;
	memset(&m, 0, sizeof(m));
	m.ts_us = ts_us;
	m.wirelen = m.caplen = 100;
	m.src = addr(src);
	m.dst = addr(dst);
	m.l3 = ip_is_v4(&m.src) ? DEC_L3_IPV4 : DEC_L3_IPV6;
	m.proto = proto;
	m.ttl = 64;
	m.has_ports = true;
	m.sport = sport;
	m.dport = dport;
	m.tcp_flags = flags;
	return m;
}

static struct pkt_meta tcp(const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t flags,
			   uint64_t ts_us)
{
	return pkt(src, sport, dst, dport, TCP, flags, ts_us);
}

static struct pkt_meta udp(const char *src, uint16_t sport, const char *dst, uint16_t dport, uint64_t ts_us)
{
	return pkt(src, sport, dst, dport, UDP, 0, ts_us);
}

/* An ICMP or ICMPv6 echo message: the identifier is both "ports". */
static struct pkt_meta echo(const char *src, const char *dst, uint8_t type, uint16_t id, uint64_t ts_us)
{
	struct pkt_meta m = pkt(src, id, dst, id, 0, 0, ts_us);
	m.proto = m.l3 == DEC_L3_IPV4 ? ICMP : ICMPV6;
	m.icmp_type = type;
	return m;
}

static struct flow_hit upd(const struct pkt_meta *m)
{
	struct flow_hit hit;
	memset(&hit, 0xa5, sizeof(hit));
	cr_assert_eq(flow_table_update(tbl, m, &hit), 0, "flow_table_update failed");
	cr_assert_not_null(hit.flow);
	return hit;
}

static const struct flow_stats *stats(void)
{
	return flow_table_stats(tbl);
}

static bool is(const struct ip_addr *ip, const char *s)
{
	struct ip_addr a = addr(s);
	return ip_equal(ip, &a);
}

/* A TCP handshake A:50000 -> B:443 at t (SYN), t+1 ms (SYN+ACK), t+2 ms (ACK). */
static struct flow *handshake(const char *a, const char *b, uint64_t t)
{
	struct pkt_meta syn = tcp(a, 50000, b, 443, TCP_SYN, t);
	struct pkt_meta synack = tcp(b, 443, a, 50000, TCP_SYN | TCP_ACK, t + 1000);
	struct pkt_meta ack = tcp(a, 50000, b, 443, TCP_ACK, t + 2000);
	struct flow *f = upd(&syn).flow;
	cr_assert_eq(upd(&synack).flow, f);
	cr_assert_eq(upd(&ack).flow, f);
	cr_assert_eq(f->state, FLOW_ST_ESTABLISHED);
	return f;
}

/* ---- one flow for both directions ---- */

Test(flow, both_directions_of_a_five_tuple_land_in_one_flow)
{
	struct pkt_meta q = udp("10.0.0.2", 40000, "10.0.0.9", 6000, 1 * S);
	struct pkt_meta r = udp("10.0.0.9", 6000, "10.0.0.2", 40000, 2 * S);
	struct flow_hit h1 = upd(&q);
	struct flow_hit h2 = upd(&r);
	cr_assert(h1.created);
	cr_assert(h1.forward);
	cr_assert_not(h2.created);
	cr_assert_not(h2.forward);
	cr_assert_eq(h1.flow, h2.flow);
	cr_assert_eq(stats()->active, 1);
	cr_assert_eq(stats()->created, 1);
	struct flow *f = h1.flow;
	cr_assert_eq(f->id, 1);
	cr_assert(is(&f->src, "10.0.0.2"));
	cr_assert(is(&f->dst, "10.0.0.9"));
	cr_assert_eq(f->sport, 40000);
	cr_assert_eq(f->dport, 6000);
	cr_assert_eq(f->proto, UDP);
}

Test(flow, each_side_counts_its_own_packets_bytes_and_times)
{
	struct pkt_meta q = udp("10.0.0.2", 40000, "10.0.0.9", 6000, 1 * S);
	struct flow *f = upd(&q).flow;
	q.ts_us = 3 * S;
	q.wirelen = 300;
	upd(&q);
	struct pkt_meta r = udp("10.0.0.9", 6000, "10.0.0.2", 40000, 2 * S);
	r.wirelen = 1500;
	upd(&r);
	cr_assert_eq(f->fwd.packets, 2);
	cr_assert_eq(f->fwd.bytes, 400);
	cr_assert_eq(f->fwd.first_us, 1 * S);
	cr_assert_eq(f->fwd.last_us, 3 * S);
	cr_assert_eq(f->rev.packets, 1);
	cr_assert_eq(f->rev.bytes, 1500);
	cr_assert_eq(f->rev.first_us, 2 * S);
	cr_assert_eq(f->rev.last_us, 2 * S);
}

Test(flow, a_side_that_sent_nothing_has_zero_first_time)
{
	struct pkt_meta q = udp("10.0.0.2", 40000, "10.0.0.9", 6000, 5 * S);
	struct flow *f = upd(&q).flow;
	cr_assert_eq(f->rev.packets, 0);
	cr_assert_eq(f->rev.first_us, 0);
	cr_assert_eq(f->rev.last_us, 0);
}

Test(flow, flow_table_find_finds_a_flow_from_either_direction)
{
	struct pkt_meta q = udp("10.0.0.2", 40000, "10.0.0.9", 6000, 1 * S);
	struct flow *f = upd(&q).flow;
	struct ip_addr a = addr("10.0.0.2"), b = addr("10.0.0.9");
	cr_assert_eq(flow_table_find(tbl, &a, &b, 40000, 6000, UDP), f);
	cr_assert_eq(flow_table_find(tbl, &b, &a, 6000, 40000, UDP), f);
	cr_assert_null(flow_table_find(tbl, &a, &b, 6000, 40000, UDP));
	cr_assert_null(flow_table_find(tbl, &a, &b, 40000, 6000, TCP));
	cr_assert_null(flow_table_find(tbl, &a, &a, 40000, 6000, UDP));
}

Test(flow, a_different_port_or_protocol_is_a_different_flow)
{
	struct pkt_meta a = udp("10.0.0.2", 40000, "10.0.0.9", 6000, 1 * S);
	struct pkt_meta b = udp("10.0.0.2", 40001, "10.0.0.9", 6000, 1 * S);
	struct pkt_meta c = pkt("10.0.0.2", 40000, "10.0.0.9", 6000, TCP, TCP_ACK, 1 * S);
	struct pkt_meta d = udp("10.0.0.3", 40000, "10.0.0.9", 6000, 1 * S);
	struct flow *fa = upd(&a).flow, *fb = upd(&b).flow, *fc = upd(&c).flow, *fd = upd(&d).flow;
	cr_assert_neq(fa, fb);
	cr_assert_neq(fa, fc);
	cr_assert_neq(fa, fd);
	cr_assert_neq(fb, fc);
	cr_assert_eq(stats()->active, 4);
}

Test(flow, ipv6_flows_are_symmetric_too)
{
	struct pkt_meta q = udp("2001:db8::2", 40000, "2001:db8::9", 6000, 1 * S);
	struct pkt_meta r = udp("2001:db8::9", 6000, "2001:db8::2", 40000, 2 * S);
	struct flow_hit h1 = upd(&q), h2 = upd(&r);
	cr_assert_eq(h1.flow, h2.flow);
	cr_assert_not(h2.forward);
	cr_assert(is(&h1.flow->src, "2001:db8::2"));
}

Test(flow, a_flow_from_an_endpoint_to_itself_counts_every_packet_forward)
{
	struct pkt_meta q = udp("127.0.0.1", 5000, "127.0.0.1", 5000, 1 * S);
	struct flow_hit h1 = upd(&q), h2 = upd(&q);
	cr_assert_eq(h1.flow, h2.flow);
	cr_assert(h1.forward);
	cr_assert(h2.forward);
	cr_assert_eq(h1.flow->fwd.packets, 2);
	cr_assert_eq(h1.flow->rev.packets, 0);
}

/* ---- initiator correction ---- */

Test(flow, a_first_packet_syn_ack_makes_its_receiver_the_initiator)
{
	struct pkt_meta sa = tcp("93.184.216.34", 443, "192.168.1.10", 50000, TCP_SYN | TCP_ACK, 1 * S);
	struct flow_hit h = upd(&sa);
	cr_assert(h.created);
	cr_assert_not(h.forward);
	cr_assert(is(&h.flow->src, "192.168.1.10"));
	cr_assert(is(&h.flow->dst, "93.184.216.34"));
	cr_assert_eq(h.flow->sport, 50000);
	cr_assert_eq(h.flow->dport, 443);
	cr_assert_eq(h.flow->rev.packets, 1);
	cr_assert_eq(h.flow->fwd.packets, 0);
	/* The initiator's next packet is forward. */
	struct pkt_meta ack = tcp("192.168.1.10", 50000, "93.184.216.34", 443, TCP_ACK, 2 * S);
	cr_assert(upd(&ack).forward);
}

Test(flow, udp_from_port_53_to_50000_is_reversed)
{
	struct pkt_meta resp = udp("192.168.1.1", 53, "192.168.1.10", 50000, 1 * S);
	struct flow_hit h = upd(&resp);
	cr_assert_not(h.forward);
	cr_assert(is(&h.flow->src, "192.168.1.10"));
	cr_assert_eq(h.flow->sport, 50000);
	cr_assert_eq(h.flow->dport, 53);
}

Test(flow, udp_from_an_ephemeral_port_to_53_is_not_reversed)
{
	struct pkt_meta q = udp("192.168.1.10", 50000, "192.168.1.1", 53, 1 * S);
	struct flow_hit h = upd(&q);
	cr_assert(h.forward);
	cr_assert(is(&h.flow->src, "192.168.1.10"));
	cr_assert_eq(h.flow->dport, 53);
}

Test(flow, udp_between_two_high_or_two_low_ports_keeps_the_first_sender)
{
	struct pkt_meta hi = udp("192.168.1.10", 40000, "192.168.1.20", 50000, 1 * S);
	struct pkt_meta lo = udp("192.168.1.10", 123, "192.168.1.20", 123, 1 * S);
	struct pkt_meta hilo = udp("192.168.1.20", 5353, "192.168.1.10", 1000, 1 * S);
	cr_assert(upd(&hi).forward);
	cr_assert(upd(&lo).forward);
	cr_assert(upd(&hilo).forward);
}

Test(flow, tcp_joined_mid_stream_from_a_well_known_port_is_reversed)
{
	struct pkt_meta data = tcp("93.184.216.34", 443, "192.168.1.10", 50000, TCP_ACK | TCP_PSH, 1 * S);
	struct flow_hit h = upd(&data);
	cr_assert_not(h.forward);
	cr_assert(is(&h.flow->src, "192.168.1.10"));
	cr_assert_eq(h.flow->state, FLOW_ST_ACTIVE);
}

Test(flow, an_icmp_echo_reply_first_is_reversed)
{
	struct pkt_meta reply = echo("8.8.8.8", "192.168.1.10", 0, 77, 1 * S);
	struct flow_hit h = upd(&reply);
	cr_assert_not(h.forward);
	cr_assert(is(&h.flow->src, "192.168.1.10"));
	cr_assert(is(&h.flow->dst, "8.8.8.8"));
	struct pkt_meta req = echo("192.168.1.10", "8.8.8.8", 8, 77, 2 * S);
	struct flow_hit h2 = upd(&req);
	cr_assert_eq(h2.flow, h.flow);
	cr_assert(h2.forward);
}

Test(flow, an_icmpv6_echo_reply_first_is_reversed)
{
	struct pkt_meta reply = echo("2001:db8::8", "fe80::10", 129, 5, 1 * S);
	struct flow_hit h = upd(&reply);
	cr_assert_not(h.forward);
	cr_assert(is(&h.flow->src, "fe80::10"));
}

Test(flow, an_icmp_echo_request_first_is_not_reversed)
{
	struct pkt_meta req = echo("192.168.1.10", "8.8.8.8", 8, 77, 1 * S);
	struct flow_hit h = upd(&req);
	cr_assert(h.forward);
	cr_assert(is(&h.flow->src, "192.168.1.10"));
	struct pkt_meta reply = echo("8.8.8.8", "192.168.1.10", 0, 77, 2 * S);
	struct flow_hit h2 = upd(&reply);
	cr_assert_eq(h2.flow, h.flow);
	cr_assert_not(h2.forward);
}

/* ---- TCP states ---- */

Test(flow, a_syn_puts_the_flow_in_syn_sent)
{
	struct pkt_meta syn = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_SYN, 1 * S);
	struct flow *f = upd(&syn).flow;
	cr_assert_eq(f->state, FLOW_ST_SYN_SENT);
	cr_assert_eq(f->tmo, FLOW_TMO_TCP_SYN);
	/* A retransmitted SYN changes nothing. */
	syn.ts_us = 2 * S;
	upd(&syn);
	cr_assert_eq(f->state, FLOW_ST_SYN_SENT);
	cr_assert_eq(f->fwd.packets, 2);
}

Test(flow, a_syn_ack_answer_establishes_the_flow)
{
	struct pkt_meta syn = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_SYN, 1 * S);
	struct pkt_meta sa = tcp("8.8.8.8", 443, "192.168.1.10", 50000, TCP_SYN | TCP_ACK, 1 * S + 500);
	struct flow *f = upd(&syn).flow;
	struct flow_hit h = upd(&sa);
	cr_assert_eq(h.flow, f);
	cr_assert_not(h.forward);
	cr_assert_eq(f->state, FLOW_ST_ESTABLISHED);
	cr_assert_eq(f->tmo, FLOW_TMO_TCP);
	cr_assert_eq(f->fwd.tcp_flags, TCP_SYN);
	cr_assert_eq(f->rev.tcp_flags, TCP_SYN | TCP_ACK);
}

Test(flow, fin_both_ways_closes_the_flow)
{
	struct flow *f = handshake("192.168.1.10", "8.8.8.8", 1 * S);
	struct pkt_meta fin1 = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_FIN | TCP_ACK, 2 * S);
	struct pkt_meta fin2 = tcp("8.8.8.8", 443, "192.168.1.10", 50000, TCP_FIN | TCP_ACK, 3 * S);
	upd(&fin1);
	cr_assert_eq(f->state, FLOW_ST_ESTABLISHED, "one FIN is a half-close");
	upd(&fin2);
	cr_assert_eq(f->state, FLOW_ST_CLOSED);
	cr_assert_eq(f->tmo, FLOW_TMO_TCP_CLOSED);
	cr_assert_not(f->failed);
}

Test(flow, a_rst_closes_an_established_flow_without_failing_it)
{
	struct flow *f = handshake("192.168.1.10", "8.8.8.8", 1 * S);
	struct pkt_meta rst = tcp("8.8.8.8", 443, "192.168.1.10", 50000, TCP_RST, 2 * S);
	struct flow_hit h = upd(&rst);
	cr_assert_eq(f->state, FLOW_ST_CLOSED);
	cr_assert_eq(f->tmo, FLOW_TMO_TCP_CLOSED);
	cr_assert_not(f->failed);
	cr_assert_not(h.failed_now);
	cr_assert_eq(f->rev.rsts, 1);
}

Test(flow, a_rst_answering_a_syn_fails_the_flow_once)
{
	struct pkt_meta syn = tcp("192.168.1.10", 50000, "8.8.8.8", 23, TCP_SYN, 1 * S);
	struct pkt_meta rst = tcp("8.8.8.8", 23, "192.168.1.10", 50000, TCP_RST | TCP_ACK, 1 * S + 100);
	struct flow *f = upd(&syn).flow;
	struct flow_hit h1 = upd(&rst);
	cr_assert(f->failed);
	cr_assert(h1.failed_now);
	cr_assert_eq(f->state, FLOW_ST_CLOSED);
	rst.ts_us += 100;
	struct flow_hit h2 = upd(&rst);
	cr_assert_eq(h2.flow, f);
	cr_assert(f->failed);
	cr_assert_not(h2.failed_now, "failed_now reported twice");
	cr_assert_eq(f->rev.rsts, 2);
}

Test(flow, a_rst_from_the_initiator_is_not_a_refusal)
{
	struct pkt_meta syn = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_SYN, 1 * S);
	struct pkt_meta rst = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_RST, 2 * S);
	struct flow *f = upd(&syn).flow;
	struct flow_hit h = upd(&rst);
	cr_assert_eq(f->state, FLOW_ST_CLOSED);
	cr_assert_not(f->failed);
	cr_assert_not(h.failed_now);
}

Test(flow, a_tcp_flow_joined_mid_stream_is_active_with_the_tcp_timeout)
{
	struct pkt_meta ack = tcp("192.168.1.10", 50000, "8.8.8.8", 8883, TCP_ACK, 1 * S);
	struct flow *f = upd(&ack).flow;
	cr_assert_eq(f->state, FLOW_ST_ACTIVE);
	cr_assert_eq(f->tmo, FLOW_TMO_TCP);
}

Test(flow, flow_syn_unanswered_is_true_only_until_the_syn_ack)
{
	struct pkt_meta syn = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_SYN, 1 * S);
	struct pkt_meta sa = tcp("8.8.8.8", 443, "192.168.1.10", 50000, TCP_SYN | TCP_ACK, 2 * S);
	struct flow *f = upd(&syn).flow;
	cr_assert(flow_syn_unanswered(f));
	upd(&sa);
	cr_assert_not(flow_syn_unanswered(f));

	struct pkt_meta u = udp("192.168.1.10", 50000, "8.8.8.8", 443, 3 * S);
	cr_assert_not(flow_syn_unanswered(upd(&u).flow));
	struct pkt_meta mid = tcp("192.168.1.10", 50001, "8.8.8.8", 443, TCP_ACK, 3 * S);
	cr_assert_not(flow_syn_unanswered(upd(&mid).flow));
}

/* ---- timeouts ---- */

Test(flow, each_protocol_gets_its_timeout_class)
{
	struct pkt_meta u = udp("192.168.1.10", 50000, "8.8.8.8", 53, 1 * S);
	struct pkt_meta i4 = echo("192.168.1.10", "8.8.8.8", 8, 1, 1 * S);
	struct pkt_meta i6 = echo("fe80::1", "fe80::2", 128, 1, 1 * S);
	struct pkt_meta gre = pkt("192.168.1.10", 0, "8.8.8.8", 0, GRE, 0, 1 * S);
	gre.has_ports = false;
	struct pkt_meta syn = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_SYN, 1 * S);
	struct pkt_meta ack = tcp("192.168.1.10", 50001, "8.8.8.8", 443, TCP_ACK, 1 * S);
	cr_assert_eq(upd(&u).flow->tmo, FLOW_TMO_UDP);
	cr_assert_eq(upd(&i4).flow->tmo, FLOW_TMO_ICMP);
	cr_assert_eq(upd(&i6).flow->tmo, FLOW_TMO_ICMP);
	cr_assert_eq(upd(&gre).flow->tmo, FLOW_TMO_OTHER);
	cr_assert_eq(upd(&syn).flow->tmo, FLOW_TMO_TCP_SYN);
	cr_assert_eq(upd(&ack).flow->tmo, FLOW_TMO_TCP);
}

Test(flow, expire_ends_a_flow_exactly_at_last_plus_timeout)
{
	struct pkt_meta u = udp("192.168.1.10", 50000, "8.8.8.8", 53, 1 * S);
	upd(&u);
	cr_assert_eq(flow_table_expire(tbl, 1 * S + T_UDP * S - 1, 100), 0);
	cr_assert_eq(rec.total, 0);
	cr_assert_eq(stats()->active, 1);
	cr_assert_eq(flow_table_expire(tbl, 1 * S + T_UDP * S, 100), 1);
	cr_assert_eq(rec.total, 1);
	cr_assert_eq(rec.e[0].why, FLOW_END_IDLE);
	cr_assert_eq(rec.e[0].f.id, 1);
	cr_assert_eq(rec.e[0].f.fwd.packets, 1);
	cr_assert_eq(stats()->active, 0);
	cr_assert_eq(stats()->ended[FLOW_END_IDLE], 1);
}

Test(flow, expire_counts_from_the_latest_packet_of_either_side)
{
	struct pkt_meta q = udp("192.168.1.10", 50000, "8.8.8.8", 53, 1 * S);
	struct pkt_meta r = udp("8.8.8.8", 53, "192.168.1.10", 50000, 50 * S);
	upd(&q);
	upd(&r);
	cr_assert_eq(flow_table_expire(tbl, 50 * S + T_UDP * S - 1, 100), 0);
	cr_assert_eq(flow_table_expire(tbl, 50 * S + T_UDP * S, 100), 1);
}

Test(flow, an_unanswered_syn_ends_idle_after_the_syn_timeout)
{
	struct pkt_meta syn = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_SYN, 5 * S);
	upd(&syn);
	cr_assert_eq(flow_table_expire(tbl, 5 * S + T_SYN * S - 1, 100), 0);
	cr_assert_eq(flow_table_expire(tbl, 5 * S + T_SYN * S, 100), 1);
	cr_assert_eq(rec.e[0].why, FLOW_END_IDLE);
	cr_assert(flow_syn_unanswered(&rec.e[0].f));
}

Test(flow, an_established_flow_ends_idle_after_the_tcp_timeout)
{
	handshake("192.168.1.10", "8.8.8.8", 1 * S);
	uint64_t last = 1 * S + 2000;
	cr_assert_eq(flow_table_expire(tbl, last + T_SYN * S, 100), 0, "ended with the SYN timeout");
	cr_assert_eq(flow_table_expire(tbl, last + T_TCP * S - 1, 100), 0);
	cr_assert_eq(flow_table_expire(tbl, last + T_TCP * S, 100), 1);
	cr_assert_eq(rec.e[0].why, FLOW_END_IDLE);
}

Test(flow, a_closed_flow_ends_closed_after_the_closed_timeout)
{
	handshake("192.168.1.10", "8.8.8.8", 1 * S);
	struct pkt_meta fin1 = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_FIN | TCP_ACK, 2 * S);
	struct pkt_meta fin2 = tcp("8.8.8.8", 443, "192.168.1.10", 50000, TCP_FIN | TCP_ACK, 3 * S);
	upd(&fin1);
	upd(&fin2);
	cr_assert_eq(flow_table_expire(tbl, 3 * S + T_CLOSED * S - 1, 100), 0);
	cr_assert_eq(flow_table_expire(tbl, 3 * S + T_CLOSED * S, 100), 1);
	cr_assert_eq(rec.e[0].why, FLOW_END_CLOSED);
	cr_assert_eq(stats()->ended[FLOW_END_CLOSED], 1);
}

Test(flow, expire_leaves_flows_that_are_not_due)
{
	struct pkt_meta u = udp("192.168.1.10", 50000, "8.8.8.8", 53, 1 * S);
	struct flow_hit hu = upd(&u);
	uint64_t uid = hu.flow->id;
	handshake("192.168.1.10", "8.8.4.4", 1 * S);
	cr_assert_eq(flow_table_expire(tbl, 200 * S, 100), 1);
	cr_assert_eq(rec.e[0].f.id, uid);
	struct ip_addr a = addr("192.168.1.10"), b = addr("8.8.4.4");
	cr_assert_not_null(flow_table_find(tbl, &a, &b, 50000, 443, TCP));
}

Test(flow, a_packet_after_the_timeout_starts_a_new_flow_before_expire_ran)
{
	struct pkt_meta u = udp("192.168.1.10", 50000, "8.8.8.8", 53, 1 * S);
	upd(&u);
	u.ts_us = 1 * S + T_UDP * S;
	struct flow_hit h = upd(&u);
	cr_assert(h.created);
	cr_assert_eq(h.flow->id, 2);
	cr_assert_eq(h.flow->fwd.packets, 1);
	cr_assert_eq(h.flow->fwd.first_us, 1 * S + T_UDP * S);
	cr_assert_eq(rec.total, 1);
	cr_assert_eq(rec.e[0].f.id, 1);
	cr_assert_eq(rec.e[0].why, FLOW_END_IDLE);
	cr_assert_eq(stats()->ended[FLOW_END_IDLE], 1);
	cr_assert_eq(stats()->active, 1);
	cr_assert_eq(stats()->created, 2);
}

Test(flow, a_packet_one_microsecond_before_the_timeout_stays_in_the_flow)
{
	struct pkt_meta u = udp("192.168.1.10", 50000, "8.8.8.8", 53, 1 * S);
	struct flow *f = upd(&u).flow;
	u.ts_us = 1 * S + T_UDP * S - 1;
	struct flow_hit h = upd(&u);
	cr_assert_not(h.created);
	cr_assert_eq(h.flow, f);
	cr_assert_eq(f->fwd.packets, 2);
	cr_assert_eq(rec.total, 0);
}

/* A closed flow that expire would end as CLOSED must not end as IDLE only
 * because a packet of the same ports found it first: the reason (and the
 * tracker's "unanswered SYN" check, which looks for IDLE) must not depend on
 * when expire ran. */
Test(flow, a_closed_flow_found_past_its_timeout_ends_closed_as_expire_would)
{
	struct pkt_meta syn = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_SYN, 1 * S);
	struct pkt_meta rst = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_RST, 2 * S);
	upd(&syn);
	upd(&rst);
	syn.ts_us = 2 * S + T_CLOSED * S + 5 * S;
	struct flow_hit h = upd(&syn);
	cr_assert(h.created);
	cr_assert_eq(rec.total, 1);
	cr_assert_eq(rec.e[0].why, FLOW_END_CLOSED, "ended %s", flow_end_name(rec.e[0].why));
}

Test(flow, a_new_syn_on_a_closed_flow_starts_a_new_flow)
{
	struct pkt_meta syn = tcp("192.168.1.10", 50000, "8.8.8.8", 23, TCP_SYN, 1 * S);
	struct pkt_meta rst = tcp("8.8.8.8", 23, "192.168.1.10", 50000, TCP_RST | TCP_ACK, 1 * S + 100);
	struct flow *old = upd(&syn).flow;
	upd(&rst);
	cr_assert_eq(old->state, FLOW_ST_CLOSED);
	syn.ts_us = 2 * S; /* well inside the closed timeout */
	struct flow_hit h = upd(&syn);
	cr_assert(h.created);
	cr_assert_eq(h.flow->id, 2);
	cr_assert_eq(h.flow->state, FLOW_ST_SYN_SENT);
	cr_assert_not(h.flow->failed);
	cr_assert_eq(rec.total, 1);
	cr_assert_eq(rec.e[0].f.id, 1);
	cr_assert_eq(rec.e[0].why, FLOW_END_CLOSED);
	cr_assert(rec.e[0].f.failed);
	cr_assert_eq(stats()->active, 1);
}

Test(flow, a_late_ack_on_a_closed_flow_stays_in_it)
{
	struct flow *f = handshake("192.168.1.10", "8.8.8.8", 1 * S);
	struct pkt_meta fin1 = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_FIN | TCP_ACK, 2 * S);
	struct pkt_meta fin2 = tcp("8.8.8.8", 443, "192.168.1.10", 50000, TCP_FIN | TCP_ACK, 3 * S);
	struct pkt_meta ack = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_ACK, 4 * S);
	upd(&fin1);
	upd(&fin2);
	struct flow_hit h = upd(&ack);
	cr_assert_not(h.created);
	cr_assert_eq(h.flow, f);
	cr_assert_eq(f->state, FLOW_ST_CLOSED);
	cr_assert_eq(rec.total, 0);
}

Test(flow, expire_never_ends_more_than_its_budget)
{
	for (uint16_t i = 0; i < 10; i++) {
		struct pkt_meta u = udp("192.168.1.10", (uint16_t)(40000 + i), "8.8.8.8", 53, 1 * S + i);
		upd(&u);
	}
	cr_assert_eq(flow_table_expire(tbl, 1000 * S, 3), 3);
	cr_assert_eq(rec.total, 3);
	cr_assert_eq(flow_table_expire(tbl, 1000 * S, 3), 3);
	cr_assert_eq(flow_table_expire(tbl, 1000 * S, 3), 3);
	cr_assert_eq(flow_table_expire(tbl, 1000 * S, 3), 1);
	cr_assert_eq(flow_table_expire(tbl, 1000 * S, 3), 0);
	cr_assert_eq(rec.total, 10);
	cr_assert_eq(stats()->active, 0);
	/* Oldest first. */
	for (size_t i = 0; i < 10; i++)
		cr_expect_eq(rec.e[i].f.id, i + 1);
}

Test(flow, the_budget_spans_timeout_classes)
{
	struct pkt_meta u = udp("192.168.1.10", 40000, "8.8.8.8", 53, 1 * S);
	struct pkt_meta i = echo("192.168.1.10", "8.8.8.8", 8, 1, 1 * S);
	struct pkt_meta s = tcp("192.168.1.10", 40000, "8.8.8.8", 80, TCP_SYN, 1 * S);
	upd(&u);
	upd(&i);
	upd(&s);
	cr_assert_eq(flow_table_expire(tbl, 1000 * S, 2), 2);
	cr_assert_eq(flow_table_expire(tbl, 1000 * S, 2), 1);
}

Test(flow, expire_with_budget_zero_ends_nothing)
{
	struct pkt_meta u = udp("192.168.1.10", 50000, "8.8.8.8", 53, 1 * S);
	upd(&u);
	cr_assert_eq(flow_table_expire(tbl, 1000 * S, 0), 0);
	cr_assert_eq(stats()->active, 1);
}

/* ---- the cap ---- */

Test(flow, at_the_cap_inserting_n_plus_k_flows_evicts_k)
{
	const uint32_t n = 8, k = 5;
	flow_table_free(tbl);
	tbl = table(n);
	for (uint32_t i = 0; i < n + k; i++) {
		struct pkt_meta u = udp("192.168.1.10", (uint16_t)(40000 + i), "8.8.8.8", 53, 1 * S + i * 1000);
		cr_assert(upd(&u).created);
	}
	cr_assert_eq(stats()->active, n);
	cr_assert_eq(stats()->peak, n);
	cr_assert_eq(stats()->created, n + k);
	cr_assert_eq(stats()->ended[FLOW_END_EVICTED], k);
	cr_assert_eq(stats()->alloc_failed, 0);
	cr_assert_eq(rec.total, k);
	for (uint32_t i = 0; i < k; i++) {
		cr_expect_eq(rec.e[i].why, FLOW_END_EVICTED);
		cr_expect_eq(rec.e[i].f.id, i + 1, "evicted %llu, want the oldest", (unsigned long long)rec.e[i].f.id);
	}
}

Test(flow, eviction_takes_a_half_open_syn_before_an_older_established_flow)
{
	flow_table_free(tbl);
	tbl = table(2);
	handshake("192.168.1.10", "8.8.8.8", 1 * S); /* deadline about 601 s */
	/* Data past the handshake: an established connection that carried
	 * nothing would rank as half-open. */
	struct pkt_meta data = tcp("192.168.1.10", 50000, "8.8.8.8", 443, TCP_ACK | TCP_PSH, 2 * S);
	upd(&data);
	struct pkt_meta syn = tcp("192.168.1.66", 40000, "8.8.4.4", 80, TCP_SYN, 10 * S); /* deadline 40 s */
	uint64_t syn_id = upd(&syn).flow->id;
	struct pkt_meta u = udp("192.168.1.10", 50000, "1.1.1.1", 53, 20 * S);
	upd(&u);
	cr_assert_eq(rec.total, 1);
	cr_assert_eq(rec.e[0].why, FLOW_END_EVICTED);
	cr_assert_eq(rec.e[0].f.id, syn_id);
	struct ip_addr a = addr("192.168.1.10"), b = addr("8.8.8.8");
	cr_assert_not_null(flow_table_find(tbl, &a, &b, 50000, 443, TCP));
}

Test(flow, a_flood_of_fresh_flows_never_evicts_the_flows_of_settled_devices)
{
	flow_table_free(tbl);
	tbl = table(16);
	struct flow *kept[2];
	for (int i = 0; i < 2; i++) {
		char from[32];
		snprintf(from, sizeof(from), "192.168.1.%d", 10 + i);
		struct pkt_meta u = udp(from, 50000, "1.1.1.1", 53, 1 * S);
		kept[i] = upd(&u).flow;
		flow_table_keep(tbl, kept[i]);
	}
	uint64_t ids[2] = {kept[0]->id, kept[1]->id};
	struct ip_addr dns = addr("1.1.1.1"), src[2] = {addr("192.168.1.10"), addr("192.168.1.11")};
	/* Spoofed sources, each a new flow, long after the kept ones went quiet. */
	for (int i = 0; i < 1000; i++) {
		char from[32];
		snprintf(from, sizeof(from), "10.%d.%d.1", i / 200, i % 200);
		struct pkt_meta syn = tcp(from, 40000, "192.168.1.50", 80, TCP_SYN, 60 * S + (uint64_t)i * 1000);
		upd(&syn);
	}
	cr_assert_geq(rec.total, 1000 - 16, "the flood did not fill the table");
	for (int i = 0; i < 2; i++) {
		struct flow *f = flow_table_find(tbl, &src[i], &dns, 50000, 53, UDP);
		cr_assert(f && f->id == ids[i], "a settled device's flow was evicted by the flood");
	}
}

Test(flow, eviction_compares_deadlines_across_classes)
{
	flow_table_free(tbl);
	tbl = table(2);
	/* UDP at 0 s: deadline 120 s. ICMP at 100 s: deadline 130 s. */
	struct pkt_meta u = udp("192.168.1.10", 50000, "1.1.1.1", 53, 1);
	struct pkt_meta i = echo("192.168.1.10", "8.8.8.8", 8, 9, 100 * S);
	upd(&u);
	upd(&i);
	struct pkt_meta t = tcp("192.168.1.10", 40000, "8.8.4.4", 80, TCP_ACK, 101 * S);
	upd(&t);
	cr_assert_eq(rec.total, 1);
	cr_assert_eq(rec.e[0].f.proto, UDP);
}

Test(flow, memory_stays_flat_once_the_cap_is_reached)
{
	const uint32_t cap = 2048;
	flow_table_free(tbl);
	tbl = table(cap);
	uint64_t mem_first = 0;
	for (uint32_t i = 0; i < cap; i++) {
		struct pkt_meta u = udp("192.168.1.10", (uint16_t)(1024 + i), "8.8.8.8", 53, 1 * S + i);
		upd(&u);
		if (i == 0)
			mem_first = stats()->mem_bytes;
	}
	uint64_t mem_cap = stats()->mem_bytes;
	cr_assert_gt(mem_first, 0);
	cr_assert_geq(mem_cap, mem_first);
	for (uint32_t i = 0; i < 3 * cap; i++) {
		struct pkt_meta u = udp("192.168.1.11", (uint16_t)(1024 + i), "8.8.4.4", 53, 10 * S + i);
		upd(&u);
		cr_assert_eq(stats()->mem_bytes, mem_cap, "grew at flow %u past the cap", i);
	}
	cr_assert_eq(stats()->active, cap);
	cr_assert_eq(stats()->ended[FLOW_END_EVICTED], 3 * cap);
}

/* ---- flush, odd packets, configuration ---- */

Test(flow, flush_ends_every_flow_in_creation_order)
{
	struct pkt_meta u = udp("192.168.1.10", 50000, "8.8.8.8", 53, 1 * S);
	struct pkt_meta syn = tcp("192.168.1.10", 40000, "8.8.4.4", 80, TCP_SYN, 2 * S);
	struct pkt_meta i = echo("192.168.1.10", "8.8.8.8", 8, 9, 3 * S);
	upd(&u);
	upd(&syn);
	upd(&i);
	handshake("192.168.1.10", "1.1.1.1", 4 * S);
	u.ts_us = 5 * S; /* the oldest is now the most recently used */
	upd(&u);
	flow_table_flush(tbl);
	cr_assert_eq(rec.total, 4);
	for (size_t k = 0; k < 4; k++) {
		cr_expect_eq(rec.e[k].f.id, k + 1);
		cr_expect_eq(rec.e[k].why, FLOW_END_FLUSH);
	}
	cr_assert_eq(stats()->active, 0);
	cr_assert_eq(stats()->ended[FLOW_END_FLUSH], 4);
	/* The table is usable afterwards. */
	cr_assert(upd(&u).created);
}

Test(flow, flush_of_an_empty_table_ends_nothing)
{
	flow_table_flush(tbl);
	cr_assert_eq(rec.total, 0);
}

Test(flow, tcp_and_udp_packets_without_ports_are_counted_no_ports)
{
	struct pkt_meta frag = udp("192.168.1.10", 0, "8.8.8.8", 0, 1 * S);
	frag.has_ports = false;
	frag.is_fragment = true;
	struct flow_hit h;
	cr_assert_eq(flow_table_update(tbl, &frag, &h), -1);
	frag.proto = TCP;
	cr_assert_eq(flow_table_update(tbl, &frag, &h), -1);
	cr_assert_eq(stats()->no_ports, 2);
	cr_assert_eq(stats()->created, 0);
	cr_assert_eq(stats()->active, 0);
}

Test(flow, non_ip_packets_have_no_flow)
{
	struct pkt_meta arp;
	struct flow_hit h;
	memset(&arp, 0, sizeof(arp));
	arp.l3 = DEC_L3_ARP;
	arp.src = addr("192.168.1.10");
	arp.dst = addr("192.168.1.1");
	cr_assert_eq(flow_table_update(tbl, &arp, &h), -1);
	arp.l3 = DEC_L3_NONE;
	cr_assert_eq(flow_table_update(tbl, &arp, &h), -1);
	cr_assert_eq(stats()->created, 0);
	cr_assert_eq(stats()->no_ports, 0);
}

Test(flow, a_zero_cap_is_rejected)
{
	struct flow_table_cfg cfg = {.max_flows = 0, .seed = 1};
	cr_assert_null(flow_table_new(&cfg));
}

Test(flow, the_names_are_the_documented_words)
{
	char buf[8];
	cr_assert_str_eq(flow_end_name(FLOW_END_IDLE), "idle");
	cr_assert_str_eq(flow_end_name(FLOW_END_EVICTED), "evicted");
	cr_assert_str_eq(flow_dir_name(FLOW_DIR_OUTBOUND), "outbound");
	cr_assert_str_eq(flow_state_name(FLOW_ST_SYN_SENT), "syn_sent");
	cr_assert_str_eq(flow_proto_name(TCP, buf, sizeof(buf)), "tcp");
	cr_assert_str_eq(flow_proto_name(ICMPV6, buf, sizeof(buf)), "icmpv6");
	cr_assert_str_eq(flow_proto_name(GRE, buf, sizeof(buf)), "47");
}

/* ---- many flows ---- */

static uint64_t rnd(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return *x >> 33;
}

/* Random conversations through a small table (long hash chains, eviction,
 * expiry, closing and reopening): every packet finds a flow of its own
 * 5-tuple, find() agrees, and the counts add up. */
Test(flow, random_traffic_keeps_the_table_consistent)
{
	static const uint8_t flags[] = {TCP_SYN, TCP_SYN | TCP_ACK, TCP_ACK, TCP_FIN | TCP_ACK, TCP_RST};
	flow_table_free(tbl);
	tbl = table(64);
	uint64_t x = 2026, t = 1 * S;
	for (int i = 0; i < 20000; i++) {
		unsigned k = (unsigned)(rnd(&x) % 300);
		bool rev = rnd(&x) & 1;
		t += rnd(&x) % (3 * S);
		uint8_t a4[4] = {10, 0, (uint8_t)(k >> 8), (uint8_t)k}, b4[4] = {93, 184, 216, (uint8_t)(k % 7)};
		struct pkt_meta m;
		memset(&m, 0, sizeof(m));
		ip_from_v4(rev ? &m.dst : &m.src, a4);
		ip_from_v4(rev ? &m.src : &m.dst, b4);
		uint16_t pa = (uint16_t)(40000 + k), pb = (uint16_t)(k % 3 ? 443 : 53);
		m.sport = rev ? pb : pa;
		m.dport = rev ? pa : pb;
		m.l3 = DEC_L3_IPV4;
		m.proto = k % 2 ? TCP : UDP;
		m.has_ports = true;
		m.ts_us = t;
		m.wirelen = 60;
		if (m.proto == TCP)
			m.tcp_flags = flags[rnd(&x) % sizeof(flags)];
		struct flow_hit h = upd(&m);
		const struct flow *f = h.flow;
		bool fwd_match = ip_equal(&f->src, &m.src) && f->sport == m.sport && ip_equal(&f->dst, &m.dst) &&
				 f->dport == m.dport;
		bool rev_match = ip_equal(&f->src, &m.dst) && f->sport == m.dport && ip_equal(&f->dst, &m.src) &&
				 f->dport == m.sport;
		cr_assert(f->proto == m.proto && (fwd_match || rev_match), "packet %d got another tuple's flow", i);
		cr_assert_eq(h.forward, fwd_match);
		cr_assert_eq(flow_table_find(tbl, &m.src, &m.dst, m.sport, m.dport, m.proto), f);
		if (i % 50 == 0)
			flow_table_expire(tbl, t, 4);
		const struct flow_stats *st = stats();
		uint64_t ended = 0;
		for (int w = 0; w <= FLOW_END_FLUSH; w++)
			ended += st->ended[w];
		cr_assert_leq(st->active, 64);
		cr_assert_eq(st->active, st->created - ended, "packet %d: counts do not add up", i);
		cr_assert_eq(rec.total, ended);
	}
	cr_assert_gt(stats()->ended[FLOW_END_EVICTED], 0);
	cr_assert_gt(stats()->ended[FLOW_END_IDLE] + stats()->ended[FLOW_END_CLOSED], 0);
	flow_table_flush(tbl);
	cr_assert_eq(stats()->active, 0);
	cr_assert_eq(rec.total, stats()->created);
}
