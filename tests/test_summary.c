/*
 * Tests for trk_summary (features/tracker.c): packets the kernel counted
 * without copying, given to the tracker as one header-only frame with a
 * packet and byte count.
 *
 * Most tests run two trackers side by side, or one tracker with a control:
 * the same traffic as packets and as summaries, so each assertion compares
 * against what the tracker does with real packets. Frames are built with
 * tests/pktbuild; observers copy flows as they end and window records as
 * they are emitted, per tracker.
 */
#include "features/tracker.h"

#include <criterion/criterion.h>
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

#include "tests/pktbuild.h"

#define S 1000000ull
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/* ---- the test LAN ---- */

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0, 0x0b};
static const uint8_t MAC_R[6] = {0x02, 0, 0, 0, 0, 0xfe}; /* the router, also the resolver */

/* One end of a flow: the MAC its frames carry, address and port. */
struct end {
	const uint8_t *mac;
	uint8_t ip[4];
	uint16_t port;
};

static const struct end DEV_A = {MAC_A, {192, 168, 1, 10}, 50000};
static const struct end DEV_B = {MAC_B, {192, 168, 1, 20}, 50000};
static const struct end WEB = {MAC_R, {93, 184, 216, 34}, 443};
static const struct end RESOLVER = {MAC_R, {192, 168, 1, 1}, 53};

static struct end port(struct end e, uint16_t p)
{
	e.port = p;
	return e;
}

/* Ethernet, IPv4, then TCP with flags, UDP or an ICMP echo request (id =
 * the sender's port), then n payload bytes: data, or filler when NULL. */
static void frame(struct tpkt *p, const struct end *from, const struct end *to, uint8_t proto, uint8_t flags,
		  const void *data, size_t n)
{
	struct tpkt_ipv4 ip = {.proto = proto};
	memcpy(ip.src, from->ip, 4);
	memcpy(ip.dst, to->ip, 4);
	tpkt_init(p);
	tpkt_eth(p, to->mac, from->mac, TPKT_ETH_IPV4);
	tpkt_ipv4(p, &ip);
	if (proto == TPKT_IP_TCP)
		tpkt_tcp(p, from->port, to->port, flags, 0);
	else if (proto == TPKT_IP_UDP)
		tpkt_udp(p, from->port, to->port);
	else
		tpkt_icmp(p, 8, 0, (uint32_t)from->port << 16 | 1);
	if (data)
		tpkt_bytes(p, data, n);
	else
		tpkt_fill(p, 0x5a, n);
	tpkt_finish(p);
}

/* ICMP port unreachable from -> to, quoting a UDP datagram about_from ->
 * about_to (which `to` sent). */
static void unreachable(struct tpkt *p, const struct end *from, const struct end *to, const struct end *about_from,
			const struct end *about_to)
{
	struct tpkt_ipv4 ip = {.proto = TPKT_IP_ICMP}, inner = {.proto = TPKT_IP_UDP};
	memcpy(ip.src, from->ip, 4);
	memcpy(ip.dst, to->ip, 4);
	memcpy(inner.src, about_from->ip, 4);
	memcpy(inner.dst, about_to->ip, 4);
	tpkt_init(p);
	tpkt_eth(p, to->mac, from->mac, TPKT_ETH_IPV4);
	tpkt_ipv4(p, &ip);
	tpkt_icmp(p, 3, 3, 0);
	tpkt_ipv4(p, &inner);
	tpkt_udp(p, about_from->port, about_to->port);
	tpkt_finish(p);
}

/* A DNS message for "example.com", type A: the query, or (answer given)
 * the response with that one address. Returns its length. */
static size_t dns_msg(uint8_t *b, const uint8_t answer[4])
{
	static const uint8_t query[] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,          /* id, RD, one question */
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, /* example.com */
		0, 1, 0, 1,                                               /* A, IN */
	};
	/* The question's name (pointer), A, IN, TTL 300, 4 bytes. */
	static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4};
	size_t n = sizeof(query);
	memcpy(b, query, n);
	if (!answer)
		return n;
	b[2] = 0x81; /* QR, RD */
	b[3] = 0x80; /* RA */
	b[7] = 1;    /* one answer */
	memcpy(b + n, rr, sizeof(rr));
	memcpy(b + n + sizeof(rr), answer, 4);
	return n + sizeof(rr) + 4;
}

/* ---- two trackers and what they report ---- */

#define REC_MAX 64
#define REC_REMOTES 16

struct win_rec {
	struct dev_window w;
	uint8_t mac[6];
	struct win_remote remotes[REC_REMOTES];
};

struct rec {
	struct flow flow[REC_MAX];
	size_t n_flow;
	struct win_rec win[REC_MAX];
	size_t n_win;
};

static struct tracker *trk[2];
static struct rec rec[2];

static void on_window(void *ctx, const struct dev_window *w)
{
	struct rec *r = ctx;
	cr_assert_lt(r->n_win, REC_MAX);
	struct win_rec *wr = &r->win[r->n_win++];
	wr->w = *w;
	memcpy(wr->mac, w->dev->mac, 6);
	for (uint32_t i = 0; i < w->n_remotes && i < REC_REMOTES; i++)
		wr->remotes[i] = w->remotes[i];
	wr->w.dev = NULL;
	wr->w.remotes = NULL;
}

static void on_flow_end(void *ctx, const struct flow *f, enum flow_end why)
{
	(void)why;
	struct rec *r = ctx;
	cr_assert_lt(r->n_flow, REC_MAX);
	r->flow[r->n_flow++] = *f;
}

static struct ip_prefix home;

static void init(void)
{
	memset(rec, 0, sizeof(rec));
	cr_assert_eq(ip_prefix_parse("192.168.0.0/16", &home), 0);
	for (int i = 0; i < 2; i++) {
		struct trk_cfg c = {
			.home_nets = &home,
			.n_home_nets = 1,
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
			.ctx = &rec[i],
		};
		trk[i] = trk_new(&c);
		cr_assert_not_null(trk[i]);
	}
}

static void fini(void)
{
	for (int i = 0; i < 2; i++) {
		trk_free(trk[i]);
		trk[i] = NULL;
	}
}

TestSuite(summary, .init = init, .fini = fini);

static void packet(int i, const struct tpkt *p, uint64_t ts_us)
{
	trk_packet(trk[i], DLT_EN10MB, p->b, (uint32_t)p->len, (uint32_t)p->len, ts_us);
}

static void summary(int i, const struct tpkt *hdr, uint32_t packets, uint32_t bytes, uint64_t ts_us)
{
	trk_summary(trk[i], DLT_EN10MB, hdr->b, (uint32_t)hdr->len, packets, bytes, ts_us);
}

/* Tracker i's device with this MAC (still in its table), or fails. */
static struct device device(int i, const uint8_t mac[6])
{
	size_t n = 0;
	struct device **all = dev_table_list(trk_devices(trk[i]), &n);
	cr_assert_not_null(all);
	struct device d = {0};
	bool found = false;
	for (size_t k = 0; k < n; k++) {
		if (all[k]->has_mac && memcmp(all[k]->mac, mac, 6) == 0) {
			d = *all[k];
			found = true;
		}
	}
	free(all);
	cr_assert(found, "no device %02x in tracker %d", mac[5], i);
	return d;
}

/* Tracker i's ended flow whose initiator port is sport, or fails. */
static const struct flow *ended(int i, uint16_t sport)
{
	for (size_t k = 0; k < rec[i].n_flow; k++)
		if (rec[i].flow[k].sport == sport)
			return &rec[i].flow[k];
	cr_assert_fail("tracker %d: no ended flow from port %u", i, sport);
	return NULL;
}

/* Tracker i's only window record of the device with this MAC, or fails. */
static const struct win_rec *window(int i, const uint8_t mac[6])
{
	const struct win_rec *found = NULL;
	for (size_t k = 0; k < rec[i].n_win; k++) {
		if (memcmp(rec[i].win[k].mac, mac, 6) == 0) {
			cr_assert_null(found, "tracker %d: two window records of the device", i);
			found = &rec[i].win[k];
		}
	}
	cr_assert_not_null(found, "tracker %d: no window record of the device", i);
	return found;
}

static void assert_sides_equal(const struct flow_side *a, const struct flow_side *b, const char *side)
{
	cr_assert_eq(a->packets, b->packets, "%s packets", side);
	cr_assert_eq(a->bytes, b->bytes, "%s bytes", side);
	cr_assert_eq(a->tcp_flags, b->tcp_flags, "%s flags %#x vs %#x", side, a->tcp_flags, b->tcp_flags);
	cr_assert_eq(a->first_us, b->first_us, "%s first_us", side);
	cr_assert_eq(a->last_us, b->last_us, "%s last_us", side);
	cr_assert_eq(a->rsts, b->rsts, "%s rsts", side);
}

/* ---- the tests ---- */

Test(summary, a_flow_summarised_after_its_first_packets_counts_as_if_every_packet_came)
{
	/* SYN, SYN/ACK, ACK, then 40 data segments each way, 1 ms apart. */
	struct step {
		bool fwd;
		uint8_t flags;
		size_t payload;
	} steps[83] = {{true, TCP_SYN, 0}, {false, TCP_SYN | TCP_ACK, 0}, {true, TCP_ACK, 0}};
	size_t n = 3;
	for (size_t k = 0; k < 40; k++) {
		uint8_t up = TCP_ACK | TCP_PSH | (k % 7 == 3 ? TCP_URG : 0) | (k == 30 ? TCP_CWR : 0);
		uint8_t down = TCP_ACK | (k % 3 == 0 ? TCP_PSH : 0) | (k == 25 ? TCP_ECE : 0);
		steps[n++] = (struct step){true, up, k * 37 % 1400 + 1};
		steps[n++] = (struct step){false, down, k % 5 == 0 ? 0 : k * 53 % 1460};
	}
	cr_assert_eq(n, 83);

	/* Tracker 1 sees the first 10 as packets, the rest as one summary per
	 * direction, stamped with its last packet, headers with the OR of its
	 * flags. */
	const size_t copied = 10;
	struct {
		uint32_t packets, bytes;
		uint8_t flags;
		uint64_t last_us;
	} sum[2] = {{0}};
	for (size_t k = 0; k < n; k++) {
		const struct step *st = &steps[k];
		struct tpkt p;
		uint64_t ts = 1 * S + k * 1000;
		frame(&p, st->fwd ? &DEV_A : &WEB, st->fwd ? &WEB : &DEV_A, TPKT_IP_TCP, st->flags, NULL, st->payload);
		packet(0, &p, ts);
		if (k < copied) {
			packet(1, &p, ts);
			continue;
		}
		sum[st->fwd].packets++;
		sum[st->fwd].bytes += (uint32_t)p.len;
		sum[st->fwd].flags |= st->flags;
		sum[st->fwd].last_us = ts;
	}
	/* The last step is a reply: the forward summary is the older one. */
	for (int fwd = 1; fwd >= 0; fwd--) {
		struct tpkt hdr;
		frame(&hdr, fwd ? &DEV_A : &WEB, fwd ? &WEB : &DEV_A, TPKT_IP_TCP, sum[fwd].flags, NULL, 0);
		summary(1, &hdr, sum[fwd].packets, sum[fwd].bytes, sum[fwd].last_us);
	}
	trk_finish(trk[0]);
	trk_finish(trk[1]);

	cr_assert_eq(rec[0].n_flow, 1);
	cr_assert_eq(rec[1].n_flow, 1);
	const struct flow *a = &rec[0].flow[0], *b = &rec[1].flow[0];
	cr_assert_eq(a->fwd.packets, 42);
	cr_assert_eq(a->rev.packets, 41);
	assert_sides_equal(&a->fwd, &b->fwd, "fwd");
	assert_sides_equal(&a->rev, &b->rev, "rev");
	cr_assert_eq(a->state, FLOW_ST_ESTABLISHED);
	cr_assert_eq(b->state, a->state);
	cr_assert_eq(b->last_us, a->last_us);
	cr_assert_eq(b->id, a->id);
	cr_assert_eq(flow_table_stats(trk_flows(trk[1]))->created, 1);

	struct device da = device(0, MAC_A), db = device(1, MAC_A);
	cr_assert_eq(da.packets_out, 42);
	cr_assert_eq(db.packets_out, da.packets_out);
	cr_assert_eq(db.packets_in, da.packets_in);
	cr_assert_eq(db.bytes_out, da.bytes_out);
	cr_assert_eq(db.bytes_in, da.bytes_in);
	cr_assert_eq(db.flows_out, 1);
	cr_assert_eq(db.flows_in, 0);
	cr_assert_eq(dev_table_stats(trk_devices(trk[1]))->active, dev_table_stats(trk_devices(trk[0]))->active);

	const struct win_rec *wa = window(0, MAC_A), *wb = window(1, MAC_A);
	cr_assert_eq(wb->w.packets_out, wa->w.packets_out);
	cr_assert_eq(wb->w.packets_in, wa->w.packets_in);
	cr_assert_eq(wb->w.bytes_out, wa->w.bytes_out);
	cr_assert_eq(wb->w.bytes_in, wa->w.bytes_in);
	cr_assert_eq(wb->w.flows_out, wa->w.flows_out);
	cr_assert_eq(wb->w.remote_hosts, wa->w.remote_hosts);
	cr_assert_eq(wa->w.n_remotes, 1);
	cr_assert_eq(wb->w.n_remotes, 1);
	cr_assert_eq(wa->remotes[0].packets, 83);
	cr_assert_eq(wb->remotes[0].packets, wa->remotes[0].packets);
	cr_assert_eq(wb->remotes[0].bytes, wa->remotes[0].bytes);
	cr_assert_eq(wb->remotes[0].flows, wa->remotes[0].flows);

	const struct trk_stats *sa = trk_stats(trk[0]), *sb = trk_stats(trk[1]);
	cr_assert_eq(sb->packets, sa->packets);
	cr_assert_eq(sb->bytes, sa->bytes);
	cr_assert_eq(sb->last_us, sa->last_us);
	cr_assert_eq(sb->ts_backwards, 0);
}

Test(summary, a_summary_of_dns_answers_is_not_parsed_and_names_nothing)
{
	static const uint8_t web_ip[4] = {93, 184, 216, 34};
	uint8_t msg[64];
	size_t len = dns_msg(msg, web_ip);
	struct end dev = port(DEV_A, 40000);
	struct tpkt answer, syn;
	/* The frame even carries the answer: a summary's payload is not read. */
	frame(&answer, &RESOLVER, &dev, TPKT_IP_UDP, 0, msg, len);
	summary(0, &answer, 3, 3 * (uint32_t)answer.len, 1 * S);
	frame(&syn, &DEV_A, &WEB, TPKT_IP_TCP, TCP_SYN, NULL, 0);
	packet(0, &syn, 2 * S);
	const struct trk_stats *s = trk_stats(trk[0]);
	cr_assert_eq(s->dns_parsed, 0);
	cr_assert_eq(s->dns_malformed, 0);

	/* Control: the same answer as a packet names the next flow. */
	struct end dev2 = port(DEV_A, 50001);
	packet(0, &answer, 3 * S);
	frame(&syn, &dev2, &WEB, TPKT_IP_TCP, TCP_SYN, NULL, 0);
	packet(0, &syn, 4 * S);
	cr_assert_eq(s->dns_parsed, 1);
	trk_finish(trk[0]);
	cr_assert_eq(ended(0, 50000)->name_source, FLOW_NAME_NONE);
	cr_assert_eq(ended(0, 50001)->name_source, FLOW_NAME_DNS);
	cr_assert_eq(s->flows_named[FLOW_NAME_DNS], 1);
}

Test(summary, a_summary_of_dns_queries_counts_no_query_in_the_window)
{
	uint8_t msg[64];
	size_t len = dns_msg(msg, NULL);
	struct end a = port(DEV_A, 40000), b = port(DEV_B, 40000);
	struct tpkt qa, qb;
	frame(&qa, &a, &RESOLVER, TPKT_IP_UDP, 0, msg, len);
	frame(&qb, &b, &RESOLVER, TPKT_IP_UDP, 0, msg, len);
	summary(0, &qa, 4, 4 * (uint32_t)qa.len, 1 * S);
	packet(0, &qb, 1 * S); /* control */
	trk_finish(trk[0]);
	const struct win_rec *wa = window(0, MAC_A), *wb = window(0, MAC_B);
	cr_assert_eq(wa->w.packets_out, 4);
	cr_assert_eq(wa->w.dns_queries, 0);
	cr_assert_eq(wb->w.dns_queries, 1);
}

Test(summary, a_summary_never_reaches_ndpi)
{
	/* nDPI takes an ICMP flow at its first packet, payload or not. */
	struct end a = port(DEV_A, 7), b = port(DEV_B, 7);
	struct tpkt pa, pb;
	frame(&pa, &a, &WEB, TPKT_IP_ICMP, 0, NULL, 0);
	frame(&pb, &b, &WEB, TPKT_IP_ICMP, 0, NULL, 0);
	summary(0, &pa, 10, 10 * (uint32_t)pa.len, 1 * S);
	packet(0, &pb, 1 * S); /* control */
	trk_finish(trk[0]);
	cr_assert_eq(rec[0].n_flow, 2);
	/* Flows end oldest first: A's summary created the first. */
	const struct flow *fa = &rec[0].flow[0], *fb = &rec[0].flow[1];
	cr_assert_eq(memcmp(fa->src.b + 12, DEV_A.ip, 4), 0);
	cr_assert_eq(fa->fwd.packets, 10);
	cr_assert_eq(fa->l7_packets, 0);
	cr_assert_eq(fa->l7_state, DPI_WAITING);
	cr_assert_eq(fb->l7_packets, 1);
}

Test(summary, a_summary_of_icmp_errors_fails_no_connection)
{
	struct end a = port(DEV_A, 40000), b = port(DEV_B, 40000), svc = port(WEB, 6000);
	struct tpkt pa, pb, ea, eb;
	frame(&pa, &a, &svc, TPKT_IP_UDP, 0, NULL, 20);
	frame(&pb, &b, &svc, TPKT_IP_UDP, 0, NULL, 20);
	/* The frame even quotes the datagram: a summary's body is not read. */
	unreachable(&ea, &WEB, &DEV_A, &a, &svc);
	unreachable(&eb, &WEB, &DEV_B, &b, &svc);
	packet(0, &pa, 1 * S);
	packet(0, &pb, 1 * S);
	summary(0, &ea, 2, 2 * (uint32_t)ea.len, 2 * S);
	packet(0, &eb, 2 * S); /* control */
	trk_finish(trk[0]);
	cr_assert_eq(window(0, MAC_A)->w.failed_conns, 0);
	cr_assert_eq(window(0, MAC_B)->w.failed_conns, 1);
}

Test(summary, a_summary_older_than_the_latest_packet_is_late_but_not_backwards)
{
	struct end f = port(DEV_A, 40000), g = port(DEV_A, 40001);
	struct tpkt pf, pg, hf;
	frame(&pf, &f, &WEB, TPKT_IP_UDP, 0, NULL, 100);
	frame(&pg, &g, &WEB, TPKT_IP_UDP, 0, NULL, 100);
	frame(&hf, &f, &WEB, TPKT_IP_UDP, 0, NULL, 0);
	packet(0, &pf, 5 * S);
	packet(0, &pg, 10 * S);
	summary(0, &hf, 6, 6 * (uint32_t)pf.len, 8 * S);
	const struct trk_stats *s = trk_stats(trk[0]);
	cr_assert_eq(s->ts_backwards, 0);
	cr_assert_eq(s->last_us, 10 * S, "time does not go back to the summary's");
	packet(0, &pg, 9 * S);
	cr_assert_eq(s->ts_backwards, 1, "a late packet is still counted");
	trk_finish(trk[0]);
	const struct flow *ff = ended(0, 40000);
	cr_assert_eq(ff->fwd.packets, 7);
	cr_assert_eq(ff->last_us, 10 * S, "counted at the latest time seen, never earlier");
	cr_assert_eq(ff->fwd.last_us, 10 * S);
	cr_assert_eq(ff->fwd.first_us, 5 * S);
}

Test(summary, a_summary_without_earlier_packets_creates_one_mid_stream_flow)
{
	struct tpkt up, down;
	frame(&up, &DEV_A, &WEB, TPKT_IP_TCP, TCP_ACK | TCP_PSH, NULL, 0);
	frame(&down, &WEB, &DEV_A, TPKT_IP_TCP, TCP_ACK, NULL, 0);
	summary(0, &up, 50, 60000, 1 * S);
	summary(0, &down, 40, 2400, 1 * S + 500000);
	trk_finish(trk[0]);
	cr_assert_eq(rec[0].n_flow, 1);
	const struct flow *f = &rec[0].flow[0];
	cr_assert_eq(f->state, FLOW_ST_ACTIVE);
	cr_assert_eq(f->sport, DEV_A.port);
	cr_assert_eq(f->dir, FLOW_DIR_OUTBOUND);
	cr_assert_eq(f->fwd.packets, 50);
	cr_assert_eq(f->fwd.bytes, 60000);
	cr_assert_eq(f->rev.packets, 40);
	cr_assert_eq(f->rev.bytes, 2400);
	cr_assert_eq(f->fwd.tcp_flags, TCP_ACK | TCP_PSH);
	struct device d = device(0, MAC_A);
	cr_assert_eq(d.flows_out, 1);
	cr_assert_eq(d.flows_in, 0);
	cr_assert_eq(d.packets_out, 50);
	cr_assert_eq(d.packets_in, 40);
	const struct win_rec *w = window(0, MAC_A);
	cr_assert_eq(w->w.flows_out, 1);
	cr_assert_eq(w->w.n_remotes, 1);
	cr_assert_eq(w->remotes[0].flows, 1);
	cr_assert_eq(w->remotes[0].packets, 90);
}

Test(summary, large_counts_add_up_exactly_past_32_bits)
{
	const uint32_t packets = 1000000, bytes = 1400000000;
	struct tpkt syn, up, down;
	frame(&syn, &DEV_A, &WEB, TPKT_IP_TCP, TCP_SYN, NULL, 0);
	frame(&up, &DEV_A, &WEB, TPKT_IP_TCP, TCP_ACK, NULL, 0);
	frame(&down, &WEB, &DEV_A, TPKT_IP_TCP, TCP_ACK, NULL, 0);
	packet(0, &syn, 1 * S);
	for (int i = 0; i < 4; i++)
		summary(0, &up, packets, bytes, 2 * S + (uint64_t)i * S);
	summary(0, &down, packets, bytes, 6 * S);
	trk_finish(trk[0]);

	const uint64_t out = 4ull * bytes + syn.len;
	const struct trk_stats *s = trk_stats(trk[0]);
	cr_assert_eq(s->packets, 5ull * packets + 1);
	cr_assert_eq(s->bytes, out + bytes);
	const struct flow *f = ended(0, DEV_A.port);
	cr_assert_eq(f->fwd.packets, 4ull * packets + 1);
	cr_assert_eq(f->fwd.bytes, out);
	cr_assert_eq(f->rev.packets, packets);
	cr_assert_eq(f->rev.bytes, bytes);
	struct device d = device(0, MAC_A);
	cr_assert_eq(d.packets_out, 4ull * packets + 1);
	cr_assert_eq(d.bytes_out, out);
	cr_assert_eq(d.bytes_in, bytes);
	const struct win_rec *w = window(0, MAC_A);
	cr_assert_eq(w->w.bytes_out, out);
	cr_assert_eq(w->w.bytes_in, bytes);
	cr_assert_eq(w->remotes[0].packets, 5ull * packets + 1);
	cr_assert_eq(w->remotes[0].bytes, out + bytes);
}

Test(summary, a_summary_of_no_packets_counts_nothing)
{
	struct tpkt up;
	frame(&up, &DEV_A, &WEB, TPKT_IP_TCP, TCP_ACK, NULL, 0);
	summary(0, &up, 0, 0, 1 * S);
	trk_finish(trk[0]);
	cr_assert_eq(trk_stats(trk[0])->packets, 0);
	cr_assert_eq(rec[0].n_flow, 0);
	cr_assert_eq(rec[0].n_win, 0);
}
