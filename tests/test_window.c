/*
 * Tests for features/window.c: per-device feature records over fixed windows.
 *
 * The window table is driven directly, the way the tracker drives it:
 * devices come from a real dev_table, flows from a real flow_table, and each
 * packet is counted for one device with the flags the tracker would pass.
 * Emitted records are copied (with their remote lists) as they come out.
 */
#include "features/window.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S 1000000ull
#define TCP 6
#define UDP 17

#define REC_MAX 64
#define REC_REMOTES 16

struct rec {
	struct dev_window w;  /* w.dev and w.remotes are not valid after emit */
	uint64_t dev_id;
	struct win_remote remotes[REC_REMOTES];
};

static struct {
	struct rec r[REC_MAX];
	size_t n;
} out;

static struct dev_table *devs;
static struct flow_table *flows;
static struct win_table *win;

static void on_emit(void *ctx, const struct dev_window *w)
{
	cr_assert_eq(ctx, &out);
	cr_assert_lt(out.n, REC_MAX, "too many records");
	cr_assert_not_null(w->dev);
	struct rec *r = &out.r[out.n++];
	r->w = *w;
	r->dev_id = w->dev->id;
	for (uint32_t i = 0; i < w->n_remotes && i < REC_REMOTES; i++)
		r->remotes[i] = w->remotes[i];
	r->w.dev = NULL;
	r->w.remotes = NULL;
}

static void make_win(uint32_t length_s, uint32_t max_remotes)
{
	struct win_cfg cfg = {.length_s = length_s, .max_remotes = max_remotes, .emit = on_emit, .ctx = &out};
	win = win_new(&cfg);
	cr_assert_not_null(win);
}

static void init(void)
{
	memset(&out, 0, sizeof(out));
	struct dev_table_cfg dc = {.max_devices = 64, .seed = 3};
	struct flow_table_cfg fc = {.max_flows = 8192,
				    .timeout_s = {30, 600, 10, 120, 30, 60},
				    .seed = 5};
	devs = dev_table_new(&dc);
	flows = flow_table_new(&fc);
	cr_assert_not_null(devs);
	cr_assert_not_null(flows);
	make_win(60, 16);
}

/* Frees every device's window state (which may emit), then the tables. */
static void drop_all(void)
{
	size_t n = 0;
	struct device **all = dev_table_list(devs, &n);
	cr_assert_not_null(all);
	for (size_t i = 0; i < n; i++)
		win_device_gone(win, all[i], false);
	free(all);
}

static void fini(void)
{
	drop_all();
	win_free(win);
	flow_table_free(flows);
	dev_table_free(devs);
}

TestSuite(window, .init = init, .fini = fini);

static struct ip_addr addr(const char *s)
{
	struct ip_addr ip;
	cr_assert_eq(ip_parse(s, &ip), 0, "ip_parse('%s') failed", s);
	return ip;
}

static struct device *dev(uint8_t n)
{
	uint8_t mac[6] = {0x02, 0, 0, 0, 0, n};
	struct device *d = dev_table_by_mac(devs, mac, 0, true);
	cr_assert_not_null(d);
	return d;
}

static struct pkt_meta pkt_ip(struct ip_addr src, uint16_t sport, struct ip_addr dst, uint16_t dport,
			      uint8_t proto, uint64_t ts_us)
{
	struct pkt_meta m;
	memset(&m, 0, sizeof(m));
	m.ts_us = ts_us;
	m.wirelen = m.caplen = 100;
	m.src = src;
	m.dst = dst;
	m.l3 = ip_is_v4(&src) ? DEC_L3_IPV4 : DEC_L3_IPV6;
	m.proto = proto;
	m.has_ports = true;
	m.sport = sport;
	m.dport = dport;
	if (proto == TCP)
		m.tcp_flags = TCP_ACK;
	return m;
}

static struct pkt_meta pkt(const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t proto,
			   uint64_t ts_us)
{
	return pkt_ip(addr(src), sport, addr(dst), dport, proto, ts_us);
}

/* Counts m for device d, which sent it (sent) or received it; remote_local:
 * the other end is on the LAN. */
static struct flow_hit feed(struct device *d, bool sent, bool remote_local, const struct pkt_meta *m)
{
	struct flow_hit h;
	cr_assert_eq(flow_table_update(flows, m, &h), 0);
	bool started = sent ? h.forward : !h.forward;
	cr_assert_eq(win_packet(win, d, h.flow, started, sent, remote_local, h.created, m), 0);
	return h;
}

/* d (192.168.1.<n>) sends one packet from sport to remote:dport. */
static void send_to(struct device *d, uint16_t sport, const char *remote, uint16_t dport, uint8_t proto,
		    uint64_t ts_us, bool remote_local)
{
	char src[32];
	snprintf(src, sizeof(src), "192.168.1.%u", (unsigned)d->mac[5]);
	struct pkt_meta m = pkt(src, sport, remote, dport, proto, ts_us);
	feed(d, true, remote_local, &m);
}

static const struct rec *only_record(void)
{
	cr_assert_eq(out.n, 1, "%zu records, want 1", out.n);
	return &out.r[0];
}

/* ---- when windows are cut and emitted ---- */

Test(window, windows_are_aligned_to_multiples_of_their_length)
{
	struct device *a = dev(1);
	send_to(a, 40000, "8.8.8.8", 53, UDP, 125 * S, false);
	win_flush(win);
	const struct rec *r = only_record();
	cr_assert_eq(r->w.start_us, 120 * S);
	cr_assert_eq(r->w.end_us, 180 * S);
}

Test(window, a_window_is_emitted_when_time_reaches_its_end)
{
	struct device *a = dev(1);
	send_to(a, 40000, "8.8.8.8", 53, UDP, 10 * S, false);
	win_advance(win, 60 * S - 1);
	cr_assert_eq(out.n, 0);
	cr_assert_eq(win_emitted(win), 0);
	win_advance(win, 60 * S);
	const struct rec *r = only_record();
	cr_assert_not(r->w.partial);
	cr_assert_eq(r->w.start_us, 0);
	cr_assert_eq(r->w.end_us, 60 * S);
	cr_assert_eq(r->dev_id, a->id);
	cr_assert_eq(win_emitted(win), 1);
}

Test(window, a_packet_of_the_next_window_emits_the_previous_one_first)
{
	struct device *a = dev(1);
	send_to(a, 40000, "8.8.8.8", 53, UDP, 10 * S, false);
	send_to(a, 40000, "8.8.8.8", 53, UDP, 70 * S, false);
	const struct rec *r = only_record();
	cr_assert_eq(r->w.start_us, 0);
	cr_assert_eq(r->w.packets_out, 1);
}

Test(window, records_come_out_in_device_first_seen_order)
{
	struct device *a = dev(1), *b = dev(2), *c = dev(3);
	send_to(c, 40000, "8.8.8.8", 53, UDP, 1 * S, false);
	send_to(a, 40000, "8.8.8.8", 53, UDP, 2 * S, false);
	send_to(b, 40000, "8.8.8.8", 53, UDP, 3 * S, false);
	win_advance(win, 60 * S);
	cr_assert_eq(out.n, 3);
	cr_assert_eq(out.r[0].dev_id, a->id);
	cr_assert_eq(out.r[1].dev_id, b->id);
	cr_assert_eq(out.r[2].dev_id, c->id);
}

Test(window, a_device_idle_in_a_window_emits_nothing_for_it)
{
	struct device *a = dev(1), *b = dev(2);
	send_to(a, 40000, "8.8.8.8", 53, UDP, 1 * S, false);
	send_to(b, 40000, "8.8.8.8", 53, UDP, 2 * S, false);
	send_to(a, 40000, "8.8.8.8", 53, UDP, 61 * S, false);   /* window 1: a only */
	send_to(a, 40000, "8.8.8.8", 53, UDP, 181 * S, false);  /* window 2 silent, window 3: a */
	win_flush(win);
	cr_assert_eq(out.n, 4);
	cr_assert_eq(out.r[0].dev_id, a->id);
	cr_assert_eq(out.r[0].w.start_us, 0);
	cr_assert_eq(out.r[1].dev_id, b->id);
	cr_assert_eq(out.r[1].w.start_us, 0);
	cr_assert_eq(out.r[2].dev_id, a->id);
	cr_assert_eq(out.r[2].w.start_us, 60 * S);
	cr_assert_eq(out.r[3].dev_id, a->id);
	cr_assert_eq(out.r[3].w.start_us, 180 * S);
	cr_assert(out.r[3].w.partial);
}

Test(window, win_flush_emits_every_active_window_as_partial)
{
	struct device *a = dev(1), *b = dev(2);
	send_to(b, 40000, "8.8.8.8", 53, UDP, 1 * S, false);
	send_to(a, 40000, "8.8.8.8", 53, UDP, 2 * S, false);
	win_flush(win);
	cr_assert_eq(out.n, 2);
	cr_assert_eq(out.r[0].dev_id, a->id);
	cr_assert_eq(out.r[1].dev_id, b->id);
	cr_assert(out.r[0].w.partial);
	cr_assert(out.r[1].w.partial);
	/* Nothing is left to emit. */
	win_flush(win);
	win_advance(win, 1000 * S);
	cr_assert_eq(out.n, 2);
}

Test(window, win_flush_before_any_device_was_active_emits_nothing)
{
	win_flush(win);
	win_advance(win, 120 * S);
	win_flush(win);
	cr_assert_eq(out.n, 0);
	cr_assert_eq(win_emitted(win), 0);
}

Test(window, win_device_gone_emits_a_partial_window)
{
	struct device *a = dev(1), *b = dev(2);
	send_to(a, 40000, "8.8.8.8", 53, UDP, 1 * S, false);
	send_to(b, 40000, "8.8.8.8", 53, UDP, 2 * S, false);
	win_device_gone(win, a, true);
	cr_assert_null(a->win);
	const struct rec *r = only_record();
	cr_assert_eq(r->dev_id, a->id);
	cr_assert(r->w.partial);
	cr_assert_eq(r->w.start_us, 0);
	cr_assert_eq(r->w.packets_out, 1);
	win_advance(win, 60 * S);
	cr_assert_eq(out.n, 2);
	cr_assert_eq(out.r[1].dev_id, b->id);
	cr_assert_not(out.r[1].w.partial);
}

Test(window, win_device_gone_without_emit_frees_silently)
{
	struct device *a = dev(1);
	send_to(a, 40000, "8.8.8.8", 53, UDP, 1 * S, false);
	win_device_gone(win, a, false);
	cr_assert_null(a->win);
	cr_assert_eq(out.n, 0);
	win_flush(win);
	cr_assert_eq(out.n, 0);
}

Test(window, win_device_gone_for_a_device_idle_in_the_window_emits_nothing)
{
	struct device *a = dev(1);
	send_to(a, 40000, "8.8.8.8", 53, UDP, 1 * S, false);
	win_advance(win, 60 * S);
	cr_assert_eq(out.n, 1);
	win_device_gone(win, a, true);
	cr_assert_eq(out.n, 1);
	cr_assert_null(a->win);
	struct device *b = dev(2);
	win_device_gone(win, b, true); /* never had window state */
	cr_assert_eq(out.n, 1);
}

/* ---- counters ---- */

Test(window, packets_and_bytes_are_counted_out_and_in)
{
	struct device *a = dev(1);
	struct pkt_meta q = pkt("192.168.1.1", 40000, "8.8.8.8", 443, TCP, 1 * S);
	struct pkt_meta r = pkt("8.8.8.8", 443, "192.168.1.1", 40000, TCP, 2 * S);
	for (int i = 0; i < 3; i++) {
		q.wirelen = 100 + (uint32_t)i;
		feed(a, true, false, &q);
	}
	r.wirelen = 1500;
	feed(a, false, false, &r);
	feed(a, false, false, &r);
	win_flush(win);
	const struct rec *rec = only_record();
	cr_assert_eq(rec->w.packets_out, 3);
	cr_assert_eq(rec->w.bytes_out, 303);
	cr_assert_eq(rec->w.packets_in, 2);
	cr_assert_eq(rec->w.bytes_in, 3000);
}

Test(window, flows_out_and_in_count_only_flows_new_in_the_window)
{
	struct device *a = dev(1);
	send_to(a, 40000, "8.8.8.8", 443, TCP, 1 * S, false);  /* new, started by a */
	send_to(a, 40000, "8.8.8.8", 443, TCP, 2 * S, false);  /* same flow */
	struct pkt_meta in = pkt("203.0.113.9", 50000, "192.168.1.1", 22, TCP, 3 * S);
	feed(a, false, false, &in); /* new, started by the remote */
	send_to(a, 40000, "8.8.8.8", 443, TCP, 61 * S, false); /* old flow, next window */
	win_flush(win);
	cr_assert_eq(out.n, 2);
	cr_assert_eq(out.r[0].w.flows_out, 1);
	cr_assert_eq(out.r[0].w.flows_in, 1);
	cr_assert_eq(out.r[1].w.flows_out, 0);
	cr_assert_eq(out.r[1].w.flows_in, 0);
	/* ... but the continuing flow is listed and counted as a remote host. */
	cr_assert_eq(out.r[1].w.n_remotes, 1);
	cr_assert_eq(out.r[1].remotes[0].flows, 1);
	cr_assert_eq(out.r[1].w.remote_hosts, 1);
}

Test(window, remote_hosts_counts_distinct_internet_addresses_exactly)
{
	struct device *a = dev(1);
	send_to(a, 40001, "8.8.8.8", 53, UDP, 1 * S, false);
	send_to(a, 40002, "8.8.8.8", 53, UDP, 1 * S, false);
	send_to(a, 40003, "8.8.4.4", 443, TCP, 1 * S, false);
	send_to(a, 40004, "2001:db8::1", 443, TCP, 1 * S, false);
	send_to(a, 40005, "8.8.4.4", 80, TCP, 1 * S, false);
	send_to(a, 40006, "192.168.1.7", 80, TCP, 1 * S, true); /* a LAN peer */
	win_flush(win);
	const struct rec *r = only_record();
	cr_assert_eq(r->w.remote_hosts, 3);
	cr_assert_eq(r->w.lan_peers, 1);
}

Test(window, remote_ports_counts_service_ports_of_flows_the_device_started)
{
	struct device *a = dev(1);
	send_to(a, 40001, "8.8.8.8", 80, TCP, 1 * S, false);
	send_to(a, 40002, "8.8.4.4", 443, TCP, 1 * S, false);
	send_to(a, 40003, "1.1.1.1", 80, TCP, 1 * S, false);
	send_to(a, 40004, "192.168.1.7", 8080, TCP, 1 * S, true); /* LAN ports count too */
	send_to(a, 40005, "1.1.1.1", 80, UDP, 1 * S, false);      /* another protocol */
	struct pkt_meta in = pkt("203.0.113.9", 50000, "192.168.1.1", 22, TCP, 2 * S);
	feed(a, false, false, &in); /* inbound: 22 is a's own port, not counted */
	win_flush(win);
	cr_assert_eq(only_record()->w.remote_ports, 4);
}

Test(window, lan_peers_exclude_multicast_and_broadcast)
{
	struct device *a = dev(1);
	send_to(a, 40001, "192.168.1.7", 80, TCP, 1 * S, true);
	send_to(a, 5353, "224.0.0.251", 5353, UDP, 1 * S, true);
	send_to(a, 68, "255.255.255.255", 67, UDP, 1 * S, true);
	send_to(a, 1900, "239.255.255.250", 1900, UDP, 1 * S, true);
	win_flush(win);
	const struct rec *r = only_record();
	cr_assert_eq(r->w.lan_peers, 1);
	cr_assert_eq(r->w.remote_hosts, 0);
	cr_assert_eq(r->w.n_remotes, 4, "multicast endpoints are still listed");
	for (uint32_t i = 0; i < 4; i++)
		cr_expect(r->remotes[i].local);
}

/* A packet whose payload is buf (the DNS message, or NULL). */
static struct pkt_meta dns(const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t proto,
			   const uint8_t *buf, size_t len)
{
	struct pkt_meta m = pkt(src, sport, dst, dport, proto, 1 * S);
	m.payload = buf;
	m.payload_len = (uint32_t)len;
	return m;
}

Test(window, dns_queries_count_the_queries_the_device_sent)
{
	/* Whether a packet is a DNS query is the decoder's call (dns_query). */
	static const uint8_t query[17] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'c', 'o', 'm', 0};
	struct device *a = dev(1);
	struct pkt_meta m;

	m = dns("192.168.1.1", 40000, "192.168.1.254", 53, UDP, query, sizeof(query));
	m.dns_query = true;
	feed(a, true, true, &m);
	m = dns("192.168.1.1", 40001, "8.8.8.8", 53, UDP, query, sizeof(query));
	m.dns_query = true;
	feed(a, true, false, &m);
	/* A query it received (it runs a resolver) is not one it sent. */
	m = dns("192.168.1.9", 40002, "192.168.1.1", 53, UDP, query, sizeof(query));
	m.dns_query = true;
	feed(a, false, true, &m);
	m = dns("192.168.1.1", 40003, "8.8.8.8", 53, UDP, query, sizeof(query));
	m.dns_query = false;
	feed(a, true, false, &m);
	win_flush(win);
	cr_assert_eq(only_record()->w.dns_queries, 2);
}

Test(window, win_failed_counts_failed_connections)
{
	struct device *a = dev(1);
	send_to(a, 40000, "8.8.8.8", 23, TCP, 1 * S, false);
	cr_assert_eq(win_failed(win, a), 0);
	cr_assert_eq(win_failed(win, a), 0);
	win_flush(win);
	cr_assert_eq(only_record()->w.failed_conns, 2);
}

Test(window, dns_answers_count_nxdomain_tunnel_shaped_names_and_txt_questions)
{
	struct device *a = dev(1);
	char label31[40], label32[40], name79[96], name80[96];
	memset(label31, 'f', 31);
	label31[31] = '\0';
	memset(label32, 'f', 32);
	label32[32] = '\0';
	/* Labels of 9 and dots: 7 x "123456789." = 70, then the rest. */
	snprintf(name79, sizeof(name79), "%s%s", "123456789.123456789.123456789.123456789.123456789.123456789.123456789.",
		 "1234567.c");
	snprintf(name80, sizeof(name80), "%s%s", "123456789.123456789.123456789.123456789.123456789.123456789.123456789.",
		 "12345678.c");
	cr_assert_eq(strlen(name79), 79);
	cr_assert_eq(strlen(name80), 80);
	send_to(a, 40000, "8.8.8.8", 53, UDP, 1 * S, false);
	cr_assert_eq(win_dns_answer(win, a, 0, 1, "api.tuya.com"), 0);
	cr_assert_eq(win_dns_answer(win, a, 3, 1, "nosuch.example"), 0);
	cr_assert_eq(win_dns_answer(win, a, 3, 16, label32), 0);
	cr_assert_eq(win_dns_answer(win, a, 0, 16, label31), 0);
	cr_assert_eq(win_dns_answer(win, a, 0, 10, name79), 0);
	cr_assert_eq(win_dns_answer(win, a, 0, 255, name80), 0);
	cr_assert_eq(win_dns_answer(win, a, 2, 28, ""), 0);
	win_flush(win);
	const struct rec *r = only_record();
	cr_assert_eq(r->w.dns_nxdomain, 2);
	cr_assert_eq(r->w.dns_long_names, 2, "a 32-character label and an 80-character name");
	cr_assert_eq(r->w.dns_txt, 4, "TXT twice, NULL, ANY");
}

/* ---- the remote list ---- */

Test(window, the_remote_list_holds_endpoints_in_first_contact_order)
{
	struct device *a = dev(1);
	send_to(a, 40001, "8.8.8.8", 53, UDP, 1 * S, false);
	send_to(a, 40002, "8.8.4.4", 443, TCP, 2 * S, false);
	send_to(a, 40003, "8.8.8.8", 53, UDP, 3 * S, false); /* same endpoint, second flow */
	send_to(a, 40002, "8.8.4.4", 443, TCP, 4 * S, false); /* same flow again */
	struct pkt_meta back = pkt("8.8.4.4", 443, "192.168.1.1", 40002, TCP, 5 * S);
	back.wirelen = 1000;
	feed(a, false, false, &back);
	win_flush(win);
	const struct rec *r = only_record();
	cr_assert_eq(r->w.n_remotes, 2);
	cr_assert_eq(r->w.remotes_dropped, 0);
	const struct win_remote *dnsr = &r->remotes[0], *web = &r->remotes[1];
	struct ip_addr g = addr("8.8.8.8"), g4 = addr("8.8.4.4");
	cr_assert(ip_equal(&dnsr->ip, &g));
	cr_assert_eq(dnsr->port, 53);
	cr_assert_eq(dnsr->proto, UDP);
	cr_assert_not(dnsr->local);
	cr_assert_not(dnsr->inbound);
	cr_assert_eq(dnsr->flows, 2);
	cr_assert_eq(dnsr->packets, 2);
	cr_assert_eq(dnsr->bytes, 200);
	cr_assert(ip_equal(&web->ip, &g4));
	cr_assert_eq(web->port, 443);
	cr_assert_eq(web->proto, TCP);
	cr_assert_eq(web->flows, 1);
	cr_assert_eq(web->packets, 3);
	cr_assert_eq(web->bytes, 1200);
}

Test(window, an_inbound_endpoint_is_listed_with_the_devices_own_port)
{
	struct device *a = dev(1);
	struct pkt_meta in = pkt("203.0.113.9", 50000, "192.168.1.1", 22, TCP, 1 * S);
	in.tcp_flags = TCP_SYN;
	feed(a, false, false, &in);
	win_flush(win);
	const struct rec *r = only_record();
	cr_assert_eq(r->w.n_remotes, 1);
	struct ip_addr ip = addr("203.0.113.9");
	cr_assert(ip_equal(&r->remotes[0].ip, &ip));
	cr_assert_eq(r->remotes[0].port, 22);
	cr_assert(r->remotes[0].inbound);
	cr_assert_eq(r->w.flows_in, 1);
	cr_assert_eq(r->w.remote_hosts, 1);
}

Test(window, max_remotes_caps_the_list_and_counts_the_rest_as_dropped)
{
	win_free(win);
	make_win(60, 4);
	struct device *a = dev(1);
	static const char *const hosts[] = {"1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5", "6.6.6.6"};
	for (uint16_t i = 0; i < 6; i++)
		send_to(a, (uint16_t)(40000 + i), hosts[i], 443, TCP, 1 * S + i, false);
	send_to(a, 40005, hosts[5], 443, TCP, 2 * S, false); /* an unlisted flow again */
	win_flush(win);
	const struct rec *r = only_record();
	cr_assert_eq(r->w.n_remotes, 4);
	cr_assert_eq(r->w.remotes_dropped, 2);
	cr_assert_eq(r->w.remote_hosts, 6, "the distinct count does not depend on the list");
	cr_assert_eq(r->w.packets_out, 7);
	struct ip_addr last = addr("4.4.4.4");
	cr_assert(ip_equal(&r->remotes[3].ip, &last));
}

Test(window, a_flow_spanning_two_windows_is_listed_in_both)
{
	struct device *a = dev(1);
	send_to(a, 40000, "8.8.8.8", 443, TCP, 59 * S, false);
	send_to(a, 40000, "8.8.8.8", 443, TCP, 60 * S, false);
	send_to(a, 40000, "8.8.8.8", 443, TCP, 61 * S, false);
	win_flush(win);
	cr_assert_eq(out.n, 2);
	cr_assert_eq(out.r[0].w.n_remotes, 1);
	cr_assert_eq(out.r[0].remotes[0].packets, 1);
	cr_assert_eq(out.r[1].w.n_remotes, 1);
	cr_assert_eq(out.r[1].remotes[0].packets, 2);
	cr_assert_eq(out.r[1].remotes[0].flows, 1);
}

Test(window, endpoint_counters_start_from_zero_in_every_window)
{
	struct device *a = dev(1);
	send_to(a, 40000, "8.8.8.8", 443, TCP, 1 * S, false);
	send_to(a, 40000, "8.8.8.8", 443, TCP, 2 * S, false);
	send_to(a, 40000, "8.8.8.8", 443, TCP, 3 * S, false);
	send_to(a, 40001, "1.1.1.1", 53, UDP, 61 * S, false); /* a new endpoint in slot 0 */
	win_flush(win);
	cr_assert_eq(out.n, 2);
	cr_assert_eq(out.r[0].remotes[0].packets, 3);
	const struct win_remote *r = &out.r[1].remotes[0];
	cr_assert_eq(out.r[1].w.n_remotes, 1);
	cr_expect_eq(r->flows, 1, "flows %u", r->flows);
	cr_expect_eq(r->packets, 1, "packets %llu", (unsigned long long)r->packets);
	cr_expect_eq(r->bytes, 100, "bytes %llu", (unsigned long long)r->bytes);
}

/* The comment in win_packet says a device evicted and seen again within one
 * window starts a new list. The flow's "seen in this window" mark is the
 * window number only, so an old flow keeps its slot index from the freed
 * list, and its packets are added to whichever endpoint now has that slot. */
Test(window, a_device_gone_and_back_in_one_window_credits_no_other_endpoint)
{
	struct device *a = dev(1);
	send_to(a, 40000, "8.8.8.8", 443, TCP, 1 * S, false);  /* flow F, slot 0 */
	win_device_gone(win, a, true);                               /* partial record 1 */
	send_to(a, 40001, "1.1.1.1", 53, UDP, 2 * S, false);   /* flow G, slot 0 of the new list */
	send_to(a, 40000, "8.8.8.8", 443, TCP, 3 * S, false);  /* F again */
	win_flush(win);
	cr_assert_eq(out.n, 2);
	const struct rec *r = &out.r[1];
	struct ip_addr one = addr("1.1.1.1");
	for (uint32_t i = 0; i < r->w.n_remotes; i++) {
		if (!ip_equal(&r->remotes[i].ip, &one))
			continue;
		cr_expect_eq(r->remotes[i].packets, 1, "1.1.1.1:53 credited with %llu packets, sent 1",
			     (unsigned long long)r->remotes[i].packets);
		cr_expect_eq(r->remotes[i].bytes, 100);
	}
	cr_expect_eq(r->w.remote_hosts, 2, "8.8.8.8 was exchanged with in this record too");
}

/* DHCP discovers of every device are 0.0.0.0:68 -> 255.255.255.255:67: one
 * 5-tuple, so one flow, sent by several devices. Each device exchanged
 * traffic with that endpoint and must list it. */
Test(window, a_flow_shared_by_two_devices_is_listed_for_each)
{
	struct device *a = dev(1), *b = dev(2);
	struct pkt_meta disc = pkt("0.0.0.0", 68, "255.255.255.255", 67, UDP, 1 * S);
	feed(a, true, true, &disc);
	disc.ts_us = 2 * S;
	feed(a, true, true, &disc);
	send_to(b, 40000, "8.8.8.8", 53, UDP, 3 * S, false); /* b's first endpoint */
	disc.ts_us = 4 * S;
	feed(b, true, true, &disc);
	disc.ts_us = 5 * S;
	feed(b, true, true, &disc);
	win_flush(win);
	cr_assert_eq(out.n, 2);
	struct ip_addr bc = addr("255.255.255.255"), g = addr("8.8.8.8");
	for (size_t k = 0; k < 2; k++) {
		const struct rec *r = &out.r[k];
		const struct win_remote *dhcp = NULL;
		for (uint32_t i = 0; i < r->w.n_remotes; i++) {
			if (ip_equal(&r->remotes[i].ip, &bc) && r->remotes[i].port == 67)
				dhcp = &r->remotes[i];
			if (ip_equal(&r->remotes[i].ip, &g))
				cr_expect_eq(r->remotes[i].packets, 1, "8.8.8.8:53 credited with %llu packets, sent 1",
					     (unsigned long long)r->remotes[i].packets);
		}
		cr_expect_not_null(dhcp, "device %llu does not list 255.255.255.255:67", (unsigned long long)r->dev_id);
		if (dhcp) {
			cr_expect_eq(dhcp->packets, 2);
			cr_expect_eq(dhcp->flows, 1);
		}
		cr_expect_eq(r->w.remote_ports, k == 0 ? 1 : 2, "device %llu", (unsigned long long)r->dev_id);
	}
}

/* ---- distinct counts ---- */

static void contact_distinct(struct device *d, uint32_t n)
{
	struct ip_addr src = addr("192.168.1.1");
	for (uint32_t i = 0; i < n; i++) {
		uint8_t v4[4] = {100, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
		struct ip_addr dst;
		ip_from_v4(&dst, v4);
		struct pkt_meta m = pkt_ip(src, 40000, dst, 443, TCP, 1 * S + i);
		feed(d, true, false, &m);
	}
}

Test(window, thirty_two_distinct_hosts_are_counted_exactly)
{
	struct device *a = dev(1);
	contact_distinct(a, WIN_DISTINCT_EXACT);
	win_flush(win);
	cr_assert_eq(only_record()->w.remote_hosts, WIN_DISTINCT_EXACT);
}

Test(window, past_the_exact_limit_the_estimate_stays_close)
{
	struct device *a = dev(1);
	contact_distinct(a, 40);
	win_flush(win);
	uint32_t est = only_record()->w.remote_hosts;
	cr_assert_geq(est, 37);
	cr_assert_leq(est, 43);
}

Test(window, five_thousand_distinct_hosts_are_estimated_within_ten_percent)
{
	struct device *a = dev(1);
	contact_distinct(a, 5000);
	win_flush(win);
	const struct rec *r = only_record();
	cr_assert_geq(r->w.remote_hosts, 4500, "estimate %u", r->w.remote_hosts);
	cr_assert_leq(r->w.remote_hosts, 5500, "estimate %u", r->w.remote_hosts);
	cr_assert_eq(r->w.n_remotes, 16);
	cr_assert_eq(r->w.remotes_dropped, 5000 - 16);
	cr_assert_eq(r->w.flows_out, 5000);
}

Test(window, a_bad_configuration_is_rejected)
{
	struct win_cfg cfg = {.length_s = 0, .max_remotes = 4, .emit = on_emit};
	cr_assert_null(win_new(&cfg));
	cfg.length_s = 60;
	cfg.max_remotes = 0;
	cr_assert_null(win_new(&cfg));
	cfg.max_remotes = 4;
	cfg.emit = NULL;
	cr_assert_null(win_new(&cfg));
}
