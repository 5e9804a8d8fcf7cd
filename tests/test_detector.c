/*
 * Tests for detector/detector.c: per-device profiles learned from the first
 * packet, then enforced; flows scored against the destinations, LAN peers
 * and inbound services learned; windows scored against robust baselines;
 * silence past the gaps learned and heartbeats that stop (heartbeat_missing);
 * maturity, deduplication, poisoning resistance, determinism, the cap on
 * profiles, and what a profile reads back (det_profile_*).
 *
 * The detector is driven directly, the way cli/replay.c drives it: devices
 * and flows are built here by hand (a flow's destination name is interned
 * the way the tracker would have named it), det_flow is called with the
 * device's role in the flow, and window records are filled field by field.
 * Every time is a fixed capture time. Alerts are copied as they come out:
 * the alert's flow and device pointers are only valid during the callback.
 */
#include "detector/detector.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "features/intern.h"

#define S 1000000ull
#define TCP 6
#define UDP 17
/* 2026-03-02T06:00:00Z: the first packet of every test. */
#define T0 (1772431200ull * S)
#define LEARN_S 3600ull
/* The first instant a device first seen at T0 is enforced. */
#define ENFORCE (T0 + LEARN_S * S)
/* learn_closed's device: 200 flows to 2 destinations, none seen once. */
#define M_CLOSED (1.0 - 1.0 / 202.0)
/* How sure a new domain is news for it: no new domain late in learning, and
 * 94 flows then (one every 17 s from 1802 s on): 1 - 1 / (94 + 2). */
#define M_DOMAIN (1.0 - 1.0 / 96.0)
#define EPS 1e-9

/* ---- what the detector emits ---- */

#define REC_MAX 64

struct rec_reason {
	char feature[32];
	char observed[DET_TEXT_MAX];
	char baseline[128];
	double contribution;
};

struct rec {
	char alert_id[17];
	uint64_t ts_us;
	char kind[32];
	char severity[8];
	double score;
	uint64_t dev_id;
	uint8_t dev_mac[6];
	enum det_state state;
	double maturity;
	char key[DET_TEXT_MAX];
	uint32_t repeats, others_folded;
	int n_reasons;
	struct rec_reason reasons[DET_MAX_REASONS];
	bool has_flow;
	struct ip_addr flow_dst;
	uint16_t flow_dport;
	uint8_t flow_proto;
	char flow_name[128];
	char suppressed_by[64];
};

struct sink {
	struct rec r[REC_MAX];
	size_t n;
};

static struct sink out, out2;

static void on_alert(void *ctx, const struct det_alert *a)
{
	struct sink *s = ctx;
	cr_assert(s == &out || s == &out2, "alert with a foreign context");
	cr_assert_lt(s->n, REC_MAX, "too many alerts");
	cr_assert_not_null(a->kind);
	cr_assert_not_null(a->severity);
	cr_assert_not_null(a->dev);
	cr_assert_leq(a->n_reasons, DET_MAX_REASONS);
	struct rec *r = &s->r[s->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->alert_id, sizeof(r->alert_id), "%s", a->alert_id);
	r->ts_us = a->ts_us;
	snprintf(r->kind, sizeof(r->kind), "%s", a->kind);
	snprintf(r->severity, sizeof(r->severity), "%s", a->severity);
	r->score = a->score;
	r->dev_id = a->dev->id;
	memcpy(r->dev_mac, a->dev->mac, 6);
	r->state = a->state;
	r->maturity = a->maturity;
	snprintf(r->key, sizeof(r->key), "%s", a->key);
	r->repeats = a->repeats;
	r->others_folded = a->others_folded;
	snprintf(r->suppressed_by, sizeof(r->suppressed_by), "%s", a->suppressed_by ? a->suppressed_by : "");
	r->n_reasons = a->n_reasons;
	for (int i = 0; i < a->n_reasons; i++) {
		cr_assert_not_null(a->reasons[i].feature);
		snprintf(r->reasons[i].feature, sizeof(r->reasons[i].feature), "%s", a->reasons[i].feature);
		snprintf(r->reasons[i].observed, sizeof(r->reasons[i].observed), "%s", a->reasons[i].observed);
		snprintf(r->reasons[i].baseline, sizeof(r->reasons[i].baseline), "%s", a->reasons[i].baseline);
		r->reasons[i].contribution = a->reasons[i].contribution;
	}
	if (a->flow) {
		r->has_flow = true;
		r->flow_dst = a->flow->dst;
		r->flow_dport = a->flow->dport;
		r->flow_proto = a->flow->proto;
		if (a->flow->name)
			snprintf(r->flow_name, sizeof(r->flow_name), "%s", iname_str(a->flow->name));
	}
}

static const struct rec *only_alert(const struct sink *s)
{
	cr_assert_eq(s->n, 1, "%zu alerts, want 1 (first: %s %s)", s->n, s->n ? s->r[0].kind : "-",
		     s->n ? s->r[0].key : "-");
	return &s->r[0];
}

/* The reason of alert r about feature, or NULL. */
static const struct rec_reason *reason(const struct rec *r, const char *feature)
{
	for (int i = 0; i < r->n_reasons; i++)
		if (!strcmp(r->reasons[i].feature, feature))
			return &r->reasons[i];
	return NULL;
}

/* ---- fixture ---- */

#define NAMES_MAX 512

static struct intern *names;
static struct iname *held[NAMES_MAX];
static size_t n_held;
static struct domain_db *psl;
static struct detector *det, *det2;
static struct device devs[8];
static uint64_t flow_ids;

static struct ip_addr addr(const char *s)
{
	struct ip_addr ip;
	cr_assert_eq(ip_parse(s, &ip), 0, "ip_parse('%s') failed", s);
	return ip;
}

/* Device n: MAC 02:00:00:00:00:<n>, address 192.168.1.<10 + n>. */
static void make_device(struct device *dv, uint8_t n)
{
	char ip[32];
	memset(dv, 0, sizeof(*dv));
	dv->id = n;
	dv->has_mac = true;
	dv->mac[0] = 0x02;
	dv->mac[5] = n;
	snprintf(ip, sizeof(ip), "192.168.1.%u", 10u + n);
	dv->key_ip = addr(ip);
	dv->ips[0] = dv->key_ip;
	dv->n_ips = 1;
}

static struct det_cfg base_cfg(void)
{
	return (struct det_cfg){
		.learn_for_us = LEARN_S * S,
		.learn_min_us = 600 * S,
		.learn_max_us = 7200 * S,
		.maturity_target = 0.95,
		.threshold = 0.75,
		.max_devices = 64,
		.psl = psl,
	};
}

static struct detector *make_det(const struct det_cfg *c, struct sink *s)
{
	struct detector *d = det_new(c, on_alert, s);
	cr_assert_not_null(d);
	return d;
}

static void init(void)
{
	char err[512];
	memset(&out, 0, sizeof(out));
	memset(&out2, 0, sizeof(out2));
	n_held = 0;
	flow_ids = 0;
	names = intern_new(4096, 7);
	cr_assert_not_null(names);
	psl = domain_open(DOMAIN_DEFAULT_PSL, err, sizeof(err));
	cr_assert_not_null(psl, "%s (run `make deps` for the publicsuffix package)", err);
	for (uint8_t i = 0; i < 8; i++)
		make_device(&devs[i], (uint8_t)(i + 1));
	struct det_cfg c = base_cfg();
	det = make_det(&c, &out);
	det2 = NULL;
}

static void fini(void)
{
	det_free(det);
	det_free(det2);
	for (size_t i = 0; i < n_held; i++)
		intern_put(names, held[i]);
	intern_free(names);
	domain_close(psl);
}

TestSuite(detector, .init = init, .fini = fini);

/* Replaces det (and its sink's contents) with one built from c. */
static void remake_det(const struct det_cfg *c)
{
	det_free(det);
	memset(&out, 0, sizeof(out));
	det = make_det(c, &out);
}

/* The interned name s (one reference held by the fixture), NULL for NULL. */
static struct iname *name_of(const char *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < n_held; i++)
		if (!strcmp(iname_str(held[i]), s))
			return held[i];
	cr_assert_lt(n_held, NAMES_MAX, "too many names");
	struct iname *n = intern_get(names, s, strlen(s));
	cr_assert_not_null(n);
	held[n_held++] = n;
	return n;
}

/* ---- flows ---- */

static struct flow make_flow(const struct device *dv, const char *name, const char *dst, uint16_t dport,
			     uint8_t proto, enum flow_dir dir, uint64_t t)
{
	struct flow f;
	memset(&f, 0, sizeof(f));
	f.src = dv->ips[0];
	f.dst = addr(dst);
	f.sport = (uint16_t)(40000 + flow_ids % 20000);
	f.dport = dport;
	f.proto = proto;
	f.dir = (uint8_t)dir;
	f.last_us = t;
	f.id = ++flow_ids;
	f.has_src_mac = true;
	memcpy(f.src_mac, dv->mac, 6);
	f.name = name_of(name);
	f.name_source = name ? FLOW_NAME_DNS : FLOW_NAME_NONE;
	f.ready = 1;
	return f;
}

/* dv starts a flow to the internet, named name (NULL: unnamed). */
static void out_flow(struct detector *d, const struct device *dv, const char *name, const char *dst, uint16_t dport,
		     uint8_t proto, uint64_t t)
{
	struct flow f = make_flow(dv, name, dst, dport, proto, FLOW_DIR_OUTBOUND, t);
	det_flow(d, dv, &f, true, t);
}

/* dv starts a flow to another address of the LAN (or a LAN group). */
static void lan_flow(struct detector *d, const struct device *dv, const char *dst, uint16_t dport, uint8_t proto,
		     uint64_t t)
{
	struct flow f = make_flow(dv, NULL, dst, dport, proto, FLOW_DIR_LOCAL, t);
	det_flow(d, dv, &f, true, t);
}

/* src starts a flow to dv's port dport; dir says where src is. The device
 * answers (SYN+ACK, or a datagram back) unless refused. */
static void flow_to_device_answered(struct detector *d, const struct device *dv, const char *src, uint16_t dport,
				    uint8_t proto, enum flow_dir dir, uint64_t t, bool refused)
{
	struct flow f;
	memset(&f, 0, sizeof(f));
	f.src = addr(src);
	f.dst = dv->ips[0];
	f.sport = 51000;
	f.dport = dport;
	f.proto = proto;
	f.dir = (uint8_t)dir;
	f.last_us = t;
	f.id = ++flow_ids;
	f.has_dst_mac = true;
	memcpy(f.dst_mac, dv->mac, 6);
	f.ready = 1;
	f.rev.packets = 1;
	f.rev.tcp_flags = proto == TCP ? (refused ? TCP_RST | TCP_ACK : TCP_SYN | TCP_ACK) : 0;
	if (refused && proto != TCP)
		f.rev.packets = 0;
	det_flow(d, dv, &f, false, t);
}

static void flow_to_device(struct detector *d, const struct device *dv, const char *src, uint16_t dport,
			   uint8_t proto, enum flow_dir dir, uint64_t t)
{
	flow_to_device_answered(d, dv, src, dport, proto, dir, t, false);
}

/* A closed-world device: 200 flows over its learning hour (one every 17 s
 * from T0) to the same two named destinations. Its maturity is M_CLOSED. */
static void learn_closed(struct detector *d, const struct device *dv)
{
	for (uint64_t i = 0; i < 200; i++) {
		if (i % 2 == 0)
			out_flow(d, dv, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + i * 17 * S);
		else
			out_flow(d, dv, "time.acme-clock.org", "198.51.100.7", 123, UDP, T0 + i * 17 * S);
	}
}

static double maturity_of(const struct detector *d, const struct device *dv, enum det_state *st)
{
	double m = -1;
	enum det_state s = det_device_state(d, dv, &m);
	if (st)
		*st = s;
	return m;
}

/* ---- windows ---- */

/* Window k of dv ends at T0 + (k + 1) minutes. Its values are the quiet
 * ones learned below (small, with jitter), until a test changes one. A
 * device whose first event is window 0 enforces from window 60 on. */
static struct dev_window quiet_window(const struct device *dv, uint64_t k)
{
	struct dev_window w;
	memset(&w, 0, sizeof(w));
	w.dev = dv;
	w.end_us = T0 + (k + 1) * 60 * S;
	w.start_us = w.end_us - 60 * S;
	w.packets_out = 40 + k % 7;
	w.packets_in = 50 + k % 5;
	w.bytes_out = 10000 + (k * 7919) % 10000;
	w.bytes_in = 40000 + (k * 6007) % 20000;
	w.flows_out = (uint32_t)(3 + k % 4);
	w.flows_in = 0;
	w.remote_hosts = (uint32_t)(2 + k % 3);
	w.remote_ports = (uint32_t)(1 + k % 2);
	w.lan_peers = (uint32_t)(k % 2);
	w.failed_conns = 0;
	w.dns_queries = (uint32_t)(4 + k % 5);
	return w;
}

#define LEARN_WINDOWS 60

static void learn_windows(struct detector *d, const struct device *dv)
{
	for (uint64_t k = 0; k < LEARN_WINDOWS; k++) {
		struct dev_window w = quiet_window(dv, k);
		det_window(d, &w);
	}
}

/* ---- learning ---- */

Test(detector, a_learning_device_raises_nothing_whatever_it_does)
{
	const struct device *a = &devs[0];
	char name[64], ip[32];
	for (uint64_t i = 0; i < 300; i++) {
		uint64_t t = T0 + i * 10 * S;
		snprintf(name, sizeof(name), "host%u.vendor%u.com", (unsigned)i, (unsigned)i);
		snprintf(ip, sizeof(ip), "23.%u.%u.1", (unsigned)(i / 200), (unsigned)(i % 200));
		out_flow(det, a, i % 3 ? name : NULL, ip, (uint16_t)(1000 + i), i % 2 ? TCP : UDP, t);
		snprintf(ip, sizeof(ip), "192.168.1.%u", (unsigned)(100 + i % 100));
		lan_flow(det, a, ip, 22, TCP, t + 1);
		flow_to_device(det, a, "203.0.113.9", (uint16_t)(1 + i), TCP, FLOW_DIR_INBOUND, t + 2);
	}
	for (uint64_t k = 0; k < 59; k++) {
		struct dev_window w = quiet_window(a, k);
		w.remote_hosts = 5000;
		w.remote_ports = 3000;
		w.bytes_out = 1000000000;
		w.flows_out = 9000;
		w.failed_conns = 2000;
		w.dns_queries = 5000;
		w.lan_peers = 200;
		det_window(det, &w);
	}
	enum det_state st;
	maturity_of(det, a, &st);
	cr_assert_eq(st, DET_LEARNING);
	cr_assert_eq(out.n, 0, "a learning device raised %s", out.n ? out.r[0].kind : "");
	const struct det_stats *s = det_stats(det);
	cr_assert_eq(s->alerts, 0);
	cr_assert_eq(s->flows_scored, 0);
	cr_assert_eq(s->windows_scored, 0);
}

Test(detector, learning_ends_at_the_first_packet_plus_learn_for)
{
	const struct device *a = &devs[0];
	enum det_state st;
	learn_closed(det, a);
	cr_assert_float_eq(maturity_of(det, a, &st), M_CLOSED, EPS);
	cr_assert_eq(st, DET_LEARNING);

	/* One microsecond before the end: still learned, silently. */
	out_flow(det, a, "cdn.tuya.com", "192.0.2.10", 443, TCP, ENFORCE - 1);
	cr_assert_eq(out.n, 0);
	cr_assert_eq(maturity_of(det, a, &st) < M_CLOSED, true, "the flow was not learned");
	cr_assert_eq(st, DET_LEARNING);

	out_flow(det, a, "evil.example.net", "192.0.2.66", 443, TCP, ENFORCE);
	maturity_of(det, a, &st);
	cr_assert_eq(st, DET_ENFORCING);
	const struct rec *r = only_alert(&out);
	cr_assert_eq(r->state, DET_ENFORCING);
	cr_assert_str_eq(det_state_name(r->state), "enforcing");
	cr_assert_str_eq(det_state_name(DET_LEARNING), "learning");

	/* The destination learned at the last microsecond is known. */
	out_flow(det, a, "cdn.tuya.com", "192.0.2.10", 443, TCP, ENFORCE + 1);
	cr_assert_eq(out.n, 1);
}

Test(detector, an_event_timed_before_the_first_one_neither_ends_learning_nor_delays_it)
{
	/* Flows are scored at their last packet, windows at their end: a
	 * flow reported at its expiry can be older than the window that made
	 * the profile. Learning runs from the earliest time seen. */
	const struct device *a = &devs[0];
	struct dev_window w = quiet_window(a, 0); /* ends at T0 + 60 s */
	det_window(det, &w);
	out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + 50 * S);
	enum det_state st;
	cr_assert_float_eq(maturity_of(det, a, &st), 1.0 - 2.0 / 3.0, EPS, "the flow was not learned");
	cr_assert_eq(st, DET_LEARNING);
	out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + 50 * S + LEARN_S * S - 1);
	maturity_of(det, a, &st);
	cr_assert_eq(st, DET_LEARNING);
	out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + 50 * S + LEARN_S * S);
	maturity_of(det, a, &st);
	cr_assert_eq(st, DET_ENFORCING);
}

Test(detector, a_device_never_seen_is_learning_with_maturity_zero)
{
	enum det_state st;
	cr_assert_float_eq(maturity_of(det, &devs[5], &st), 0.0, EPS);
	cr_assert_eq(st, DET_LEARNING);
}

/* ---- destinations ---- */

Test(detector, a_closed_world_device_alerts_high_on_a_name_in_a_new_domain)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, ENFORCE + 10 * S);
	cr_assert_eq(out.n, 0, "a learned destination alerted");

	out_flow(det, a, "evil.example.net", "192.0.2.66", 443, TCP, ENFORCE + 60 * S);
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "unexpected_destination");
	cr_assert_str_eq(r->key, "evil.example.net:443/tcp");
	cr_assert_geq(r->score, 0.9);
	cr_assert_float_eq(r->score, M_DOMAIN, EPS);
	cr_assert_str_eq(r->severity, "high");
	cr_assert_eq(r->state, DET_ENFORCING);
	cr_assert_float_eq(r->maturity, M_CLOSED, EPS);
	cr_assert_eq(r->ts_us, ENFORCE + 60 * S);
	cr_assert_eq(r->dev_id, a->id);
	cr_assert_eq(r->repeats, 0);

	const struct rec_reason *dst = reason(r, "destination");
	cr_assert_not_null(dst);
	cr_assert_str_eq(dst->observed, "evil.example.net");
	cr_assert_str_eq(dst->baseline, "2 destinations in 200 flows learned");
	cr_assert_float_eq(dst->contribution, 1.0, EPS);
	/* A new domain is judged by how rarely the device went to one: two
	 * domains, each seen a hundred times. */
	const struct rec_reason *dom = reason(r, "domain_novelty");
	cr_assert_not_null(dom);
	cr_assert_str_eq(dom->observed, "example.net (never seen)");
	cr_assert_str_eq(dom->baseline, "2 domains learned; in the last half of learning 94 flows, 0 new domains");
	cr_assert_float_eq(dom->contribution, M_DOMAIN, EPS);

	cr_assert(r->has_flow, "the alert does not carry its flow");
	cr_assert_str_eq(r->flow_name, "evil.example.net");
	struct ip_addr want = addr("192.0.2.66");
	cr_assert(ip_equal(&r->flow_dst, &want));
	cr_assert_eq(r->flow_dport, 443);
	cr_assert_eq(r->flow_proto, TCP);
}

Test(detector, an_open_world_device_does_not_alert_on_a_new_name)
{
	const struct device *phone = &devs[1];
	char name[64], ip[32];
	/* 150 sites, the first 50 of them visited twice: 100 seen once in 200 flows. */
	for (uint64_t i = 0; i < 200; i++) {
		unsigned site = (unsigned)(i < 150 ? i : i - 150);
		snprintf(name, sizeof(name), "www.site%u.com", site);
		snprintf(ip, sizeof(ip), "23.%u.%u.1", site / 100, site % 100);
		out_flow(det, phone, name, ip, 443, TCP, T0 + i * 17 * S);
	}
	cr_assert_float_eq(maturity_of(det, phone, NULL), 1.0 - 101.0 / 202.0, EPS);

	out_flow(det, phone, "news.another-site.org", "192.0.2.80", 443, TCP, ENFORCE);
	out_flow(det, phone, "evil.example.net", "192.0.2.66", 443, TCP, ENFORCE + S);
	enum det_state st;
	maturity_of(det, phone, &st);
	cr_assert_eq(st, DET_ENFORCING);
	cr_assert_eq(det_stats(det)->flows_scored, 2, "the new names were not scored");
	cr_assert_eq(out.n, 0, "an open-world device alerted: %s", out.n ? out.r[0].key : "");
}

Test(detector, a_new_name_in_a_known_registrable_domain_scores_half_of_a_new_domain)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	/* Another edge of tuya.com, on an address in no learned /24. */
	out_flow(det, a, "a2.tuya.com", "52.58.9.9", 443, TCP, ENFORCE);
	cr_assert_eq(out.n, 0, "0.5 x maturity is below the threshold, yet it alerted");
	cr_assert_eq(det_stats(det)->flows_scored, 1);

	/* A lower threshold shows the score. */
	struct det_cfg c = base_cfg();
	c.threshold = 0.3;
	det2 = make_det(&c, &out2);
	learn_closed(det2, a);
	out_flow(det2, a, "a2.tuya.com", "52.58.9.9", 443, TCP, ENFORCE);
	out_flow(det2, a, "evil.example.net", "192.0.2.66", 443, TCP, ENFORCE + S);
	cr_assert_eq(out2.n, 2);
	const struct rec *sib = &out2.r[0], *other = &out2.r[1];
	cr_assert_str_eq(sib->kind, "unexpected_destination");
	cr_assert_float_eq(sib->score, 0.5 * M_CLOSED, EPS);
	cr_assert_lt(sib->score, 0.75);
	cr_assert_str_eq(sib->severity, "low");
	cr_assert_float_eq(reason(sib, "destination")->contribution, 0.5, EPS);
	cr_assert_str_eq(reason(sib, "registrable_domain")->observed, "tuya.com");
	cr_assert_str_eq(reason(sib, "registrable_domain")->baseline, "known");
	cr_assert_float_eq(other->score, M_DOMAIN, EPS);
}

Test(detector, without_a_suffix_list_every_name_is_its_own_domain_so_a_sibling_name_alerts)
{
	struct det_cfg c = base_cfg();
	c.psl = NULL;
	remake_det(&c);
	const struct device *a = &devs[0];
	learn_closed(det, a);
	/* Another /24: scored like a name in a new domain. */
	out_flow(det, a, "a2.tuya.com", "52.58.9.9", 443, TCP, ENFORCE);
	/* The /24 of api.tuya.com: a known prefix, 0.8. */
	out_flow(det, a, "b3.tuya.com", "3.120.1.77", 443, TCP, ENFORCE + S);
	/* Its /16 but another /24: new. */
	out_flow(det, a, "c4.tuya.com", "3.120.2.9", 443, TCP, ENFORCE + 2 * S);
	cr_assert_eq(out.n, 3);
	const struct rec *r = &out.r[0];
	cr_assert_str_eq(r->kind, "unexpected_destination");
	cr_assert_str_eq(r->key, "a2.tuya.com:443/tcp");
	cr_assert_float_eq(r->score, M_DOMAIN, EPS);
	cr_assert_str_eq(reason(r, "domain_novelty")->observed, "a2.tuya.com (never seen)");
	r = &out.r[1];
	cr_assert_str_eq(r->key, "b3.tuya.com:443/tcp");
	cr_assert_float_eq(r->score, 0.8 * M_DOMAIN, EPS);
	cr_assert_str_eq(r->severity, "medium");
	cr_assert_float_eq(out.r[2].score, M_DOMAIN, EPS);
}

Test(detector, a_known_destination_on_a_new_port_or_transport_alerts_new_port)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, ENFORCE);
	cr_assert_eq(out.n, 0);

	out_flow(det, a, "api.tuya.com", "3.120.1.5", 8883, TCP, ENFORCE + S);
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "new_port");
	cr_assert_str_eq(r->key, "api.tuya.com:8883/tcp");
	cr_assert_float_eq(r->score, 0.8 * M_CLOSED, EPS);
	cr_assert_str_eq(r->severity, "medium");
	const struct rec_reason *svc = reason(r, "service");
	cr_assert_not_null(svc);
	cr_assert_str_eq(svc->observed, "8883/tcp");
	cr_assert_str_eq(svc->baseline, "never used with this destination");
	cr_assert_not_null(reason(r, "maturity"));
	cr_assert(r->has_flow);

	/* QUIC to the same host is a new transport. */
	out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, UDP, ENFORCE + 2 * S);
	cr_assert_eq(out.n, 2);
	cr_assert_str_eq(out.r[1].kind, "new_port");
	cr_assert_str_eq(out.r[1].key, "api.tuya.com:443/udp");

	/* The learned port stays silent, hours later too. */
	for (uint64_t h = 0; h < 5; h++)
		out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, ENFORCE + h * 3600 * S + 7 * S);
	cr_assert_eq(out.n, 2);
}

Test(detector, an_unnamed_destination_is_its_slash_24)
{
	const struct device *a = &devs[0];
	for (uint64_t i = 0; i < 200; i++) {
		if (i % 2 == 0)
			out_flow(det, a, NULL, "198.51.100.7", 443, TCP, T0 + i * 17 * S);
		else
			out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + i * 17 * S);
	}
	out_flow(det, a, NULL, "198.51.100.200", 443, TCP, ENFORCE);
	cr_assert_eq(out.n, 0, "another address of a learned /24 alerted");

	out_flow(det, a, NULL, "203.0.113.5", 443, TCP, ENFORCE + S);
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "unexpected_destination");
	cr_assert_str_eq(r->key, "203.0.113.0/24:443/tcp");
	cr_assert_str_eq(reason(r, "destination")->observed, "203.0.113.0/24");
	cr_assert_float_eq(r->score, M_DOMAIN, EPS);
	cr_assert(r->has_flow);
	cr_assert_str_eq(r->flow_name, "");
}

Test(detector, an_unnamed_ipv6_destination_is_its_slash_48)
{
	const struct device *a = &devs[0];
	for (uint64_t i = 0; i < 200; i++) {
		if (i % 2 == 0)
			out_flow(det, a, NULL, "2001:db8:1:2::7", 443, TCP, T0 + i * 17 * S);
		else
			out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + i * 17 * S);
	}
	out_flow(det, a, NULL, "2001:db8:1:ffff::9", 443, TCP, ENFORCE);
	cr_assert_eq(out.n, 0, "another address of a learned /48 alerted");

	out_flow(det, a, NULL, "2001:db8:2::5", 443, TCP, ENFORCE + S);
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "unexpected_destination");
	cr_assert_str_eq(r->key, "2001:db8:2::/48:443/tcp");
}

/* ---- LAN peers and inbound services ---- */

Test(detector, a_device_that_only_talked_to_the_internet_alerts_on_its_first_lan_peer)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	lan_flow(det, a, "192.168.1.50", 80, TCP, ENFORCE);
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "new_lan_peer");
	cr_assert_str_eq(r->key, "192.168.1.50", "a peer is its address");
	/* Nothing learned about peers: the prior for a first one. */
	cr_assert_float_eq(r->score, 0.8, EPS);
	cr_assert_str_eq(r->severity, "medium");
	cr_assert_null(reason(r, "set_novelty"));
	const struct rec_reason *peer = reason(r, "lan_peer");
	cr_assert_not_null(peer);
	cr_assert_str_eq(peer->observed, "192.168.1.50:80/tcp");
	cr_assert_str_eq(peer->baseline, "0 learned");
	cr_assert(r->has_flow);
	struct ip_addr want = addr("192.168.1.50");
	cr_assert(ip_equal(&r->flow_dst, &want));
}

Test(detector, a_known_lan_peer_never_alerts_and_a_new_one_scores_0_9_of_how_rarely_peers_were_new)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	for (uint64_t i = 0; i < 20; i++)
		lan_flow(det, a, "192.168.1.1", 53, UDP, T0 + (3000 + i * 10) * S);
	lan_flow(det, a, "192.168.1.1", 53, UDP, ENFORCE);
	lan_flow(det, a, "192.168.1.1", 80, TCP, ENFORCE + S); /* a peer is its address */
	cr_assert_eq(out.n, 0);

	lan_flow(det, a, "192.168.1.60", 22, TCP, ENFORCE + 2 * S);
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "new_lan_peer");
	/* One peer in 20 flows, none seen once: novelty 1/22. */
	cr_assert_float_eq(r->score, 0.9 * (1.0 - 1.0 / 22.0), EPS);
	cr_assert_str_eq(reason(r, "lan_peer")->baseline, "1 learned");
	cr_assert_str_eq(reason(r, "lan_peer")->observed, "192.168.1.60:22/tcp");
	cr_assert_str_eq(reason(r, "set_novelty")->baseline, "20 learned, 0 seen once");
}

Test(detector, a_peer_seen_once_while_learning_is_too_little_evidence_to_alert_on_the_next)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	lan_flow(det, a, "192.168.1.1", 53, UDP, T0 + 3400 * S);
	lan_flow(det, a, "192.168.1.60", 22, TCP, ENFORCE);
	cr_assert_eq(out.n, 0, "one peer seen once: novelty 2/3, yet it alerted");
}

Test(detector, multicast_and_broadcast_peers_never_alert)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	lan_flow(det, a, "224.0.0.251", 5353, UDP, ENFORCE);
	lan_flow(det, a, "239.255.255.250", 1900, UDP, ENFORCE + S);
	lan_flow(det, a, "255.255.255.255", 9999, UDP, ENFORCE + 2 * S);
	lan_flow(det, a, "ff02::fb", 5353, UDP, ENFORCE + 3 * S);
	lan_flow(det, a, "ff02::c", 1900, UDP, ENFORCE + 4 * S);
	cr_assert_eq(out.n, 0, "a group address alerted: %s", out.n ? out.r[0].key : "");
	/* A unicast peer right after does: the device is enforced. */
	lan_flow(det, a, "192.168.1.50", 80, TCP, ENFORCE + 5 * S);
	cr_assert_str_eq(only_alert(&out)->kind, "new_lan_peer");
}

Test(detector, a_new_inbound_service_alerts_and_replies_to_its_own_ports_never_do)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	flow_to_device(det, a, "203.0.113.9", 40000, UDP, FLOW_DIR_INBOUND, ENFORCE);
	flow_to_device(det, a, "203.0.113.9", 32768, TCP, FLOW_DIR_INBOUND, ENFORCE + S);
	flow_to_device(det, a, "192.168.1.1", 65535, UDP, FLOW_DIR_LOCAL, ENFORCE + 2 * S);
	cr_assert_eq(out.n, 0, "a dynamic port alerted: %s", out.n ? out.r[0].key : "");

	flow_to_device(det, a, "203.0.113.9", 23, TCP, FLOW_DIR_INBOUND, ENFORCE + 3 * S);
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "new_inbound_service");
	cr_assert_str_eq(r->key, "23/tcp");
	/* It served nothing while learning; now the internet reaches it. */
	cr_assert_float_eq(r->score, 0.9, EPS);
	const struct rec_reason *svc = reason(r, "inbound_service");
	cr_assert_not_null(svc);
	cr_assert_str_eq(svc->observed, "23/tcp from 203.0.113.9");
	cr_assert(r->has_flow);
	cr_assert_eq(r->flow_dport, 23);
}

Test(detector, a_service_learned_while_learning_stays_silent_and_one_reached_from_the_lan_counts)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	for (uint64_t i = 0; i < 10; i++)
		flow_to_device(det, a, "192.168.1.30", 8080, TCP, FLOW_DIR_LOCAL, T0 + (3000 + i * 10) * S);
	flow_to_device(det, a, "192.168.1.30", 8080, TCP, FLOW_DIR_LOCAL, ENFORCE);
	flow_to_device(det, a, "203.0.113.9", 8080, TCP, FLOW_DIR_INBOUND, ENFORCE + S);
	cr_assert_eq(out.n, 0);

	flow_to_device(det, a, "192.168.1.30", 22, TCP, FLOW_DIR_LOCAL, ENFORCE + 2 * S);
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "new_inbound_service");
	cr_assert_str_eq(r->key, "22/tcp");
	cr_assert_float_eq(r->score, 0.9 * (1.0 - 1.0 / 12.0), EPS);
}

/* ---- windows ---- */

Test(detector, a_quiet_window_after_learning_raises_nothing)
{
	const struct device *a = &devs[0];
	learn_windows(det, a);
	cr_assert_eq(det_stats(det)->windows_scored, 0);
	for (uint64_t k = LEARN_WINDOWS; k < LEARN_WINDOWS + 30; k++) {
		struct dev_window w = quiet_window(a, k);
		det_window(det, &w);
	}
	cr_assert_eq(det_stats(det)->windows_scored, 30);
	cr_assert_eq(out.n, 0, "a quiet window alerted: %s", out.n ? out.r[0].kind : "");
}

Test(detector, a_window_with_500_remote_hosts_alerts_scan_against_the_median)
{
	const struct device *a = &devs[0];
	learn_windows(det, a);
	struct dev_window w = quiet_window(a, LEARN_WINDOWS);
	w.remote_hosts = 500;
	det_window(det, &w);
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "scan");
	cr_assert_str_eq(r->key, "scan");
	cr_assert_eq(r->state, DET_ENFORCING);
	cr_assert_eq(r->ts_us, w.end_us);
	cr_assert_eq(r->dev_id, a->id);
	cr_assert_geq(r->score, 0.75);
	cr_assert_leq(r->score, 1.0);
	cr_assert_not(r->has_flow, "a window alert carries a flow");
	cr_assert_eq(r->n_reasons, 2);
	const struct rec_reason *rh = reason(r, "remote_hosts");
	cr_assert_not_null(rh);
	cr_assert_str_eq(rh->observed, "500");
	cr_assert_not_null(strstr(rh->baseline, "median"), "baseline \"%s\"", rh->baseline);
	/* Learned: 2, 3 and 4 remote hosts, as often each. */
	cr_assert_not_null(strstr(rh->baseline, "median 3,"), "baseline \"%s\"", rh->baseline);
	cr_assert_float_eq(rh->contribution, 1.0, EPS);
}

struct window_case {
	const char *kind, *feature, *observed;
	void (*set)(struct dev_window *w);
};

static void set_bytes_out(struct dev_window *w)
{
	w->bytes_out = 50000000;
}

static void set_bytes_in(struct dev_window *w)
{
	w->bytes_in = 500000000;
}

static void set_flows_out(struct dev_window *w)
{
	w->flows_out = 2000;
}

static void set_remote_ports(struct dev_window *w)
{
	w->remote_ports = 500;
}

static void set_lan_peers(struct dev_window *w)
{
	w->lan_peers = 1000;
}

static void set_failed(struct dev_window *w)
{
	w->failed_conns = 300;
}

static void set_dns(struct dev_window *w)
{
	w->dns_queries = 1000;
}

static void set_dns_nx(struct dev_window *w)
{
	w->dns_nxdomain = 300;
}

static void set_dns_long(struct dev_window *w)
{
	w->dns_long_names = 300;
}

static void set_dns_txt(struct dev_window *w)
{
	w->dns_txt = 300;
}

Test(detector, each_window_feature_far_past_its_baseline_alerts_with_its_own_kind)
{
	static const struct window_case cases[] = {
		{"volume_out", "bytes_out", "50000000", set_bytes_out},
		{"volume_in", "bytes_in", "500000000", set_bytes_in},
		{"flood", "flows_out", "2000", set_flows_out},
		{"scan", "remote_ports", "500", set_remote_ports},
		{"scan", "lan_peers", "1000", set_lan_peers},
		{"connection_failures", "failed_conns", "300", set_failed},
		{"dns_anomaly", "dns_queries", "1000", set_dns},
		{"dns_anomaly", "dns_nxdomain", "300", set_dns_nx},
		{"dns_anomaly", "dns_long_names", "300", set_dns_long},
		{"dns_anomaly", "dns_txt", "300", set_dns_txt},
	};
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	const struct device *a = &devs[0];
	learn_windows(det, a);
	/* One anomaly per window, each window two hours after the last so
	 * that two "scan" alerts are not folded into one. */
	for (size_t i = 0; i < n; i++) {
		struct dev_window w = quiet_window(a, LEARN_WINDOWS + i * 120);
		cases[i].set(&w);
		det_window(det, &w);
		cr_assert_eq(out.n, i + 1, "%s: %zu alerts", cases[i].feature, out.n);
		const struct rec *r = &out.r[i];
		cr_assert_str_eq(r->kind, cases[i].kind, "%s", cases[i].feature);
		cr_assert_eq(r->n_reasons, 2, "%s", cases[i].feature);
		cr_assert_str_eq(r->reasons[0].feature, cases[i].feature);
		cr_assert_str_eq(r->reasons[1].feature, "hour_of_week");
		cr_assert_float_eq(r->reasons[1].contribution, 0, EPS);
		cr_assert_str_eq(r->reasons[0].observed, cases[i].observed);
		cr_assert_not_null(strstr(r->reasons[0].baseline, "median"));
		cr_assert_geq(r->score, 0.75);
		cr_assert_eq(r->ts_us, w.end_us);
	}
}

Test(detector, features_of_one_kind_share_one_alert_with_a_reason_each)
{
	const struct device *a = &devs[0];
	learn_windows(det, a);
	struct dev_window w = quiet_window(a, LEARN_WINDOWS);
	w.remote_hosts = 500;
	w.remote_ports = 500;
	w.failed_conns = 300;
	det_window(det, &w);
	cr_assert_eq(out.n, 2);
	const struct rec *scan = &out.r[0], *failed = &out.r[1];
	cr_assert_str_eq(scan->kind, "scan");
	cr_assert_eq(scan->n_reasons, 3);
	cr_assert_not_null(reason(scan, "remote_hosts"));
	cr_assert_not_null(reason(scan, "remote_ports"));
	cr_assert_float_eq(scan->reasons[0].contribution + scan->reasons[1].contribution, 1.0, 1e-6);
	cr_assert_str_eq(failed->kind, "connection_failures");
}

Test(detector, values_below_the_feature_floors_never_alert_and_at_the_floor_they_do)
{
	const struct device *a = &devs[0];
	learn_windows(det, a);
	/* Each would be many robust deviations above its baseline. */
	struct dev_window w = quiet_window(a, LEARN_WINDOWS);
	w.failed_conns = 19;      /* floor 20, learned 0 */
	w.bytes_out = 999999;     /* floor 1e6, learned 10-20 kB */
	w.bytes_in = 9999999;     /* floor 1e7, learned 40-60 kB */
	w.flows_out = 199;        /* floor 200, learned 3-6 */
	det_window(det, &w);
	cr_assert_eq(det_stats(det)->windows_scored, 1);
	cr_assert_eq(out.n, 0, "below its floor, %s alerted", out.n ? out.r[0].kind : "");

	w = quiet_window(a, LEARN_WINDOWS + 1);
	w.failed_conns = 20;
	det_window(det, &w);
	cr_assert_str_eq(only_alert(&out)->kind, "connection_failures");
}

Test(detector, partial_windows_are_neither_learned_nor_scored)
{
	const struct device *a = &devs[0];
	/* Huge partial windows between the quiet ones while learning: were they
	 * learned, 500 remote hosts would be half the baseline. */
	for (uint64_t k = 0; k < LEARN_WINDOWS; k++) {
		struct dev_window w = quiet_window(a, k);
		det_window(det, &w);
		w.partial = true;
		w.end_us -= 30 * S;
		w.remote_hosts = 500;
		det_window(det, &w);
	}
	struct dev_window w = quiet_window(a, LEARN_WINDOWS);
	w.remote_hosts = 500;
	w.partial = true;
	det_window(det, &w);
	cr_assert_eq(det_stats(det)->windows_scored, 0);
	cr_assert_eq(out.n, 0);

	w.partial = false;
	det_window(det, &w);
	cr_assert_eq(det_stats(det)->windows_scored, 1);
	cr_assert_str_eq(only_alert(&out)->kind, "scan");

	/* A device seen in partial windows only has no profile. */
	struct dev_window p = quiet_window(&devs[1], 0);
	p.partial = true;
	det_window(det, &p);
	cr_assert_eq(det_stats(det)->profiles, 1);
}

/* ---- dedup ---- */

static bool is_hex16(const char *s)
{
	if (strlen(s) != 16)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

Test(detector, the_same_alert_within_the_dedup_interval_is_folded_into_the_next)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	uint64_t t = ENFORCE + 100 * S;
	out_flow(det, a, "evil.example.net", "192.0.2.66", 443, TCP, t);
	out_flow(det, a, "evil.example.net", "192.0.2.66", 443, TCP, t + 600 * S);
	out_flow(det, a, "evil.example.net", "192.0.2.66", 443, TCP, t + 3000 * S);
	const struct rec *first = only_alert(&out);
	cr_assert_eq(first->repeats, 0);
	cr_assert_eq(first->ts_us, t);
	cr_assert_eq(det_stats(det)->deduplicated, 2);

	out_flow(det, a, "evil.example.net", "192.0.2.66", 443, TCP, t + DET_DEDUP_S * S);
	cr_assert_eq(out.n, 2);
	const struct rec *second = &out.r[1];
	cr_assert_str_eq(second->kind, "unexpected_destination");
	cr_assert_str_eq(second->key, "evil.example.net:443/tcp");
	cr_assert_eq(second->repeats, 2);
	cr_assert_eq(second->ts_us, t + DET_DEDUP_S * S);
	cr_assert(is_hex16(out.r[0].alert_id), "alert_id \"%s\"", out.r[0].alert_id);
	cr_assert(is_hex16(second->alert_id), "alert_id \"%s\"", second->alert_id);
	cr_assert_str_neq(out.r[0].alert_id, second->alert_id);
	cr_assert_eq(det_stats(det)->alerts, 2);

	/* Another key is not folded into it. */
	out_flow(det, a, "evil.example.net", "192.0.2.66", 8443, TCP, t + DET_DEDUP_S * S + S);
	cr_assert_eq(out.n, 3);
	cr_assert_str_eq(out.r[2].key, "evil.example.net:8443/tcp");
	cr_assert_eq(out.r[2].repeats, 0);
}

Test(detector, two_devices_alerting_on_the_same_destination_are_not_folded_together)
{
	learn_closed(det, &devs[0]);
	learn_closed(det, &devs[1]);
	out_flow(det, &devs[0], "evil.example.net", "192.0.2.66", 443, TCP, ENFORCE);
	out_flow(det, &devs[1], "evil.example.net", "192.0.2.66", 443, TCP, ENFORCE + S);
	cr_assert_eq(out.n, 2);
	cr_assert_eq(out.r[0].dev_id, devs[0].id);
	cr_assert_eq(out.r[1].dev_id, devs[1].id);
	cr_assert_str_neq(out.r[0].alert_id, out.r[1].alert_id);
}

Test(detector, past_the_burst_limit_alerts_of_one_kind_are_counted_into_the_next_one_raised)
{
	const struct device *a = &devs[0];
	char name[64];
	learn_closed(det, a);
	/* ENFORCE is on the hour: these are all in one DET_DEDUP_S interval. */
	for (uint64_t i = 0; i < DET_KIND_BURST + 3; i++) {
		snprintf(name, sizeof(name), "c2-%u.example.net", (unsigned)i);
		out_flow(det, a, name, "192.0.2.66", 443, TCP, ENFORCE + i * 60 * S);
	}
	cr_assert_eq(out.n, DET_KIND_BURST);
	cr_assert_eq(det_stats(det)->deduplicated, 3);
	for (size_t i = 0; i < out.n; i++)
		cr_assert_eq(out.r[i].others_folded, 0);
	/* Another kind in the same hour is not held back. */
	out_flow(det, a, "api.tuya.com", "3.120.1.5", 8883, TCP, ENFORCE + 30 * 60 * S);
	cr_assert_eq(out.n, DET_KIND_BURST + 1);
	cr_assert_str_eq(out.r[DET_KIND_BURST].kind, "new_port");

	/* An hour after the first: the next alert of the kind carries the three. */
	out_flow(det, a, "c2-99.example.net", "192.0.2.66", 443, TCP, ENFORCE + 3600 * S);
	cr_assert_eq(out.n, DET_KIND_BURST + 2);
	const struct rec *r = &out.r[DET_KIND_BURST + 1];
	cr_assert_str_eq(r->key, "c2-99.example.net:443/tcp");
	cr_assert_eq(r->others_folded, 3);
	cr_assert_eq(r->repeats, 0);
	/* The hour is a sliding one: the second alert (at +1 min) still
	 * counts until +61 min. */
	out_flow(det, a, "c2-6.example.net", "192.0.2.66", 443, TCP, ENFORCE + 3659 * S);
	cr_assert_eq(out.n, DET_KIND_BURST + 2);
	/* A destination held back then alerts now, as new. */
	out_flow(det, a, "c2-7.example.net", "192.0.2.66", 443, TCP, ENFORCE + 3660 * S);
	cr_assert_eq(out.n, DET_KIND_BURST + 3);
	cr_assert_str_eq(out.r[DET_KIND_BURST + 2].key, "c2-7.example.net:443/tcp");
	cr_assert_eq(out.r[DET_KIND_BURST + 2].others_folded, 1);
}

Test(detector, a_burst_straddling_the_hour_goes_out_once)
{
	const struct device *a = &devs[0];
	char name[64];
	learn_closed(det, a);
	/* ENFORCE is on the hour: half before it ends, half after. */
	uint64_t t0 = ENFORCE + 3600 * S - 5 * 60 * S;
	for (uint64_t i = 0; i < 2 * DET_KIND_BURST; i++) {
		snprintf(name, sizeof(name), "c2-%u.example.net", (unsigned)i);
		out_flow(det, a, name, "192.0.2.66", 443, TCP, t0 + i * 60 * S);
	}
	cr_assert_eq(out.n, DET_KIND_BURST, "%zu alerts of one kind within ten minutes", out.n);
	cr_assert_eq(det_stats(det)->deduplicated, DET_KIND_BURST);
	out_flow(det, a, "c2-99.example.net", "192.0.2.66", 443, TCP, t0 + 3600 * S);
	cr_assert_eq(out.n, DET_KIND_BURST + 1);
	cr_assert_eq(out.r[DET_KIND_BURST].others_folded, DET_KIND_BURST);
}

/* A rule that suppresses every alert about a name under cdn.example. */
static const char *suppress_cdn(void *ctx, const struct det_alert *a)
{
	(void)ctx;
	return strstr(a->key, ".cdn.example:") ? "cdn-rule" : NULL;
}

Test(detector, suppressed_alerts_go_out_marked_and_never_crowd_out_the_others)
{
	const struct device *a = &devs[0];
	char name[64];
	learn_closed(det, a);
	det_set_suppress(det, suppress_cdn, NULL);
	for (uint64_t i = 0; i < DET_KIND_BURST + 3; i++) {
		snprintf(name, sizeof(name), "img%u.cdn.example", (unsigned)i);
		out_flow(det, a, name, "192.0.2.80", 443, TCP, ENFORCE + i * 60 * S);
	}
	/* The same suppressed alert again is folded like any other. */
	out_flow(det, a, "img0.cdn.example", "192.0.2.80", 443, TCP, ENFORCE + 20 * 60 * S);
	cr_assert_eq(out.n, DET_KIND_BURST + 3);
	for (size_t i = 0; i < out.n; i++) {
		cr_assert_str_eq(out.r[i].suppressed_by, "cdn-rule");
		cr_assert_str_eq(out.r[i].kind, "unexpected_destination");
	}
	cr_assert_eq(det_stats(det)->suppressed, DET_KIND_BURST + 3);
	cr_assert_eq(det_stats(det)->alerts, 0);
	cr_assert_eq(det_stats(det)->deduplicated, 1);
	/* In the same hour, the burst is still whole for what no rule covers. */
	for (uint64_t i = 0; i < DET_KIND_BURST; i++) {
		snprintf(name, sizeof(name), "c2-%u.example.net", (unsigned)i);
		out_flow(det, a, name, "192.0.2.66", 443, TCP, ENFORCE + (30 + i) * 60 * S);
	}
	cr_assert_eq(out.n, 2 * DET_KIND_BURST + 3);
	for (size_t i = DET_KIND_BURST + 3; i < out.n; i++) {
		cr_assert_str_eq(out.r[i].suppressed_by, "");
		cr_assert_eq(out.r[i].others_folded, 0);
	}
	cr_assert_eq(det_stats(det)->alerts, DET_KIND_BURST);
}

/* ---- poisoning resistance ---- */

Test(detector, an_enforced_device_does_not_learn_the_destination_it_alerted_on)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	for (uint64_t h = 0; h < 4; h++)
		out_flow(det, a, "evil.example.net", "192.0.2.66", 443, TCP, ENFORCE + h * DET_DEDUP_S * S);
	cr_assert_eq(out.n, 4);
	for (size_t i = 0; i < out.n; i++) {
		cr_assert_str_eq(out.r[i].kind, "unexpected_destination");
		cr_assert_eq(out.r[i].repeats, 0);
		cr_assert_float_eq(out.r[i].score, M_DOMAIN, EPS);
	}
	cr_assert_float_eq(maturity_of(det, a, NULL), M_CLOSED, EPS);
}

Test(detector, an_anomalous_window_does_not_raise_the_baseline)
{
	const struct device *a = &devs[0];
	learn_windows(det, a);
	/* The same 50 MB upload every minute for five hours. */
	for (uint64_t k = LEARN_WINDOWS; k < LEARN_WINDOWS + 300; k++) {
		struct dev_window w = quiet_window(a, k);
		w.bytes_out = 50000000;
		det_window(det, &w);
	}
	cr_assert_eq(det_stats(det)->windows_scored, 300);
	cr_assert_eq(out.n, 5, "%zu alerts in 5 hours, want one an hour", out.n);
	for (size_t i = 0; i < out.n; i++) {
		cr_assert_str_eq(out.r[i].kind, "volume_out");
		cr_assert_eq(out.r[i].ts_us, T0 + (LEARN_WINDOWS + 60 * i + 1) * 60 * S);
		cr_assert_eq(out.r[i].repeats, i ? 59 : 0);
		cr_assert_str_eq(out.r[i].reasons[0].observed, "50000000");
	}
	cr_assert_eq(det_stats(det)->deduplicated, 295);
}

/* ---- silence ---- */

/* learn_closed's device, also sending a window every minute while it
 * learns (window k ends at T0 + (k + 1) min), except in [gap_from, gap_to):
 * then one window once enforced (at T0 + 61 min). */
static void learn_with_windows(const struct device *dv, uint64_t gap_from, uint64_t gap_to)
{
	learn_closed(det, dv);
	for (uint64_t k = 0; k < LEARN_WINDOWS; k++) {
		if (k >= gap_from && k < gap_to)
			continue;
		struct dev_window w = quiet_window(dv, k);
		det_window(det, &w);
	}
	struct dev_window w = quiet_window(dv, LEARN_WINDOWS);
	det_window(det, &w);
	enum det_state st;
	maturity_of(det, dv, &st);
	cr_assert_eq(st, DET_ENFORCING);
}

#define LAST_WINDOW (T0 + (LEARN_WINDOWS + 1) * 60 * S)

Test(detector, a_predictable_device_silent_past_the_minimum_raises_heartbeat_missing_once)
{
	const struct device *a = &devs[0];
	learn_with_windows(a, 0, 0);
	det_tick(det, LAST_WINDOW + DET_SILENCE_MIN_S * S);
	cr_assert_eq(out.n, 0, "silent exactly the minimum, it alerted");
	det_tick(det, LAST_WINDOW + (DET_SILENCE_MIN_S + 120) * S);
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "heartbeat_missing");
	cr_assert_str_eq(r->key, "silence");
	cr_assert_eq(r->ts_us, LAST_WINDOW + (DET_SILENCE_MIN_S + 120) * S);
	cr_assert_geq(r->score, 0.75);
	cr_assert_leq(r->score, M_CLOSED + EPS);
	cr_assert_not(r->has_flow);
	cr_assert_not_null(reason(r, "silence"));
	/* Once for the same silence, however long it lasts. */
	for (uint64_t h = 1; h <= 24; h++)
		det_tick(det, LAST_WINDOW + h * 3600 * S);
	cr_assert_eq(out.n, 1);
	/* It speaks again (to the hosts it always did), then falls silent
	 * again: a new silence. */
	struct dev_window w = quiet_window(a, LEARN_WINDOWS + 25 * 60);
	out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, w.end_us - 30 * S);
	out_flow(det, a, "time.acme-clock.org", "198.51.100.7", 123, UDP, w.end_us - 30 * S);
	det_window(det, &w);
	det_tick(det, w.end_us + 60 * S);
	cr_assert_eq(out.n, 1);
	det_tick(det, w.end_us + (DET_SILENCE_MIN_S + 120) * S);
	cr_assert_eq(out.n, 2);
	cr_assert_str_eq(out.r[1].kind, "heartbeat_missing");
	cr_assert_eq(out.r[1].repeats, 0);
}

Test(detector, the_silence_limit_is_three_times_the_longest_gap_learned)
{
	const struct device *a = &devs[0];
	/* No windows 10..29: a 20-minute gap while learning, limit 60 min. */
	learn_with_windows(a, 10, 30);
	det_tick(det, LAST_WINDOW + 59 * 60 * S);
	cr_assert_eq(out.n, 0, "silent 59 min with a 60 min limit, it alerted");
	det_tick(det, LAST_WINDOW + 61 * 60 * S);
	cr_assert_str_eq(only_alert(&out)->kind, "heartbeat_missing");
}

Test(detector, a_window_ends_the_silence_and_a_device_of_low_maturity_never_alerts_on_it)
{
	const struct device *a = &devs[0], *phone = &devs[1];
	learn_with_windows(a, 0, 0);
	char name[64], ip[32];
	for (uint64_t i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "www.site%u.com", (unsigned)i);
		snprintf(ip, sizeof(ip), "23.%u.%u.1", (unsigned)(i / 100), (unsigned)(i % 100));
		out_flow(det, phone, name, ip, 443, TCP, T0 + i * 17 * S);
	}
	for (uint64_t k = 0; k <= LEARN_WINDOWS; k++) {
		struct dev_window w = quiet_window(phone, k);
		det_window(det, &w);
	}
	/* a speaks again before its limit; the phone never does. */
	struct dev_window w = quiet_window(a, LEARN_WINDOWS + 10);
	det_window(det, &w);
	det_tick(det, LAST_WINDOW + (DET_SILENCE_MIN_S + 120) * S);
	cr_assert_eq(out.n, 0, "%s alerted", out.n ? out.r[0].key : "");
	det_tick(det, w.end_us + (DET_SILENCE_MIN_S + 120) * S);
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "heartbeat_missing");
	cr_assert_eq(memcmp(r->dev_mac, a->mac, 6), 0, "not the silent device");
}

/* ---- determinism ---- */

static void scenario(struct detector *d)
{
	const struct device *a = &devs[0], *b = &devs[1];
	learn_closed(d, a);
	learn_windows(d, b);
	out_flow(d, a, "evil.example.net", "192.0.2.66", 443, TCP, ENFORCE);
	out_flow(d, a, "api.tuya.com", "3.120.1.5", 8883, TCP, ENFORCE + S);
	lan_flow(d, a, "192.168.1.50", 80, TCP, ENFORCE + 2 * S);
	flow_to_device(d, a, "203.0.113.9", 23, TCP, FLOW_DIR_INBOUND, ENFORCE + 3 * S);
	out_flow(d, a, NULL, "203.0.113.5", 443, TCP, ENFORCE + 4 * S);
	out_flow(d, a, "evil.example.net", "192.0.2.66", 443, TCP, ENFORCE + 60 * S);
	out_flow(d, a, "evil.example.net", "192.0.2.66", 443, TCP, ENFORCE + DET_DEDUP_S * S);
	struct dev_window w = quiet_window(b, LEARN_WINDOWS);
	w.remote_hosts = 500;
	w.dns_queries = 1000;
	det_window(d, &w);
}

Test(detector, the_same_input_gives_the_same_alerts_in_the_same_order)
{
	struct det_cfg c = base_cfg();
	det2 = make_det(&c, &out2);
	scenario(det);
	scenario(det2);
	cr_assert_geq(out.n, 7, "%zu alerts: the scenario lost its point", out.n);
	cr_assert_eq(out.n, out2.n);
	for (size_t i = 0; i < out.n; i++) {
		const struct rec *x = &out.r[i], *y = &out2.r[i];
		cr_assert_str_eq(x->kind, y->kind, "alert %zu", i);
		cr_assert_str_eq(x->key, y->key, "alert %zu", i);
		cr_assert_eq(x->score, y->score, "alert %zu", i);
		cr_assert_str_eq(x->alert_id, y->alert_id, "alert %zu", i);
		cr_assert_eq(x->ts_us, y->ts_us, "alert %zu", i);
		cr_assert_eq(x->repeats, y->repeats, "alert %zu", i);
		cr_assert_eq(x->others_folded, y->others_folded, "alert %zu", i);
		cr_assert_eq(x->dev_id, y->dev_id, "alert %zu", i);
	}
	/* And the ids tell the alerts apart. */
	for (size_t i = 0; i < out.n; i++)
		for (size_t j = i + 1; j < out.n; j++)
			cr_assert_str_neq(out.r[i].alert_id, out.r[j].alert_id, "alerts %zu and %zu", i, j);
}

/* ---- the cap on profiles ---- */

Test(detector, past_max_devices_the_least_recently_seen_profile_is_evicted_and_learns_anew)
{
	struct det_cfg c = base_cfg();
	c.max_devices = 4;
	remake_det(&c);
	const struct device *d1 = &devs[0], *d2 = &devs[1], *d3 = &devs[2], *d4 = &devs[3], *d5 = &devs[4];
	out_flow(det, d1, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + 1 * S);
	out_flow(det, d2, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + 2 * S);
	out_flow(det, d3, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + 3 * S);
	out_flow(det, d4, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + 4 * S);
	out_flow(det, d1, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + 10 * S);
	cr_assert_eq(det_stats(det)->profiles_evicted, 0);

	out_flow(det, d5, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + 11 * S);
	cr_assert_eq(det_stats(det)->profiles_evicted, 1);
	cr_assert_eq(det_stats(det)->profiles, 5);
	/* d2 (last seen at 2 s) went; d1 (seen again at 10 s) and d3 stayed. */
	cr_assert_float_eq(maturity_of(det, d2, NULL), 0.0, EPS);
	cr_assert_float_eq(maturity_of(det, d1, NULL), 1.0 - 1.0 / 4.0, EPS);
	cr_assert_float_eq(maturity_of(det, d3, NULL), 1.0 - 2.0 / 3.0, EPS);

	/* Two hours on, d1 is enforced; d2 comes back and learns from scratch. */
	enum det_state st;
	out_flow(det, d1, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + 7200 * S);
	maturity_of(det, d1, &st);
	cr_assert_eq(st, DET_ENFORCING);
	out_flow(det, d2, "evil.example.net", "192.0.2.66", 443, TCP, T0 + 7201 * S);
	cr_assert_float_eq(maturity_of(det, d2, &st), 1.0 - 2.0 / 3.0, EPS);
	cr_assert_eq(st, DET_LEARNING);
	cr_assert_eq(out.n, 0);
	/* Which evicted d3, now the least recently seen. */
	cr_assert_eq(det_stats(det)->profiles_evicted, 2);
	cr_assert_float_eq(maturity_of(det, d3, NULL), 0.0, EPS);
	cr_assert_float_eq(maturity_of(det, d4, NULL), 1.0 - 2.0 / 3.0, EPS);
}

/* ---- maturity ---- */

Test(detector, maturity_is_one_minus_singletons_plus_one_over_flows_plus_two)
{
	const struct device *a = &devs[0], *b = &devs[1], *c = &devs[2];
	for (uint64_t i = 0; i < 10; i++)
		out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + i * S);
	cr_assert_float_eq(maturity_of(det, a, NULL), 1.0 - 1.0 / 12.0, EPS);

	/* 10 flows to 4 destinations, 2 of them seen once. */
	static const char *const to[10] = {"a.example.com", "a.example.com", "a.example.com", "a.example.com",
					   "a.example.com", "b.example.com", "b.example.com", "b.example.com",
					   "c.example.org", "d.example.net"};
	for (uint64_t i = 0; i < 10; i++)
		out_flow(det, b, to[i], "192.0.2.1", 443, TCP, T0 + i * S);
	cr_assert_float_eq(maturity_of(det, b, NULL), 1.0 - 3.0 / 12.0, EPS);

	/* A singleton seen again is no longer one; a destination is name, port
	 * and transport. */
	out_flow(det, c, "api.tuya.com", "3.120.1.5", 443, TCP, T0);
	cr_assert_float_eq(maturity_of(det, c, NULL), 1.0 - 2.0 / 3.0, EPS);
	out_flow(det, c, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + S);
	cr_assert_float_eq(maturity_of(det, c, NULL), 1.0 - 1.0 / 4.0, EPS);
	out_flow(det, c, "api.tuya.com", "3.120.1.5", 8883, TCP, T0 + 2 * S);
	out_flow(det, c, "api.tuya.com", "3.120.1.5", 443, UDP, T0 + 3 * S);
	cr_assert_float_eq(maturity_of(det, c, NULL), 1.0 - 3.0 / 6.0, EPS);
	/* LAN flows and services others reach are not destinations. */
	lan_flow(det, c, "192.168.1.1", 53, UDP, T0 + 4 * S);
	flow_to_device(det, c, "192.168.1.30", 80, TCP, FLOW_DIR_LOCAL, T0 + 5 * S);
	cr_assert_float_eq(maturity_of(det, c, NULL), 1.0 - 3.0 / 6.0, EPS);
}

Test(detector, a_device_with_more_destinations_than_kept_is_open_world)
{
	const struct device *a = &devs[0];
	char ip[32];
	for (uint64_t i = 0; i < DET_MAX_DESTS; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.1", (unsigned)(i / 250), (unsigned)(i % 250));
		/* Each destination twice: no singletons. */
		out_flow(det, a, NULL, ip, 443, TCP, T0 + i * S);
		out_flow(det, a, NULL, ip, 443, TCP, T0 + i * S + 1);
	}
	cr_assert_gt(maturity_of(det, a, NULL), 0.99);
	out_flow(det, a, NULL, "192.0.2.1", 443, TCP, T0 + 2000 * S);
	cr_assert_float_eq(maturity_of(det, a, NULL), 0.0, EPS);
}

/* ---- the learning policy (learn_for 0) ---- */

Test(detector, by_policy_a_predictable_device_stops_learning_at_learn_min)
{
	struct det_cfg c = base_cfg();
	c.learn_for_us = 0;
	remake_det(&c);
	const struct device *a = &devs[0];
	enum det_state st;
	for (uint64_t s = 0; s < 600; s += 10)
		out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + s * S);
	/* Mature enough long before, but learn_min is 600 s. */
	cr_assert_geq(maturity_of(det, a, &st), 0.95);
	cr_assert_eq(st, DET_LEARNING);
	out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + 600 * S);
	maturity_of(det, a, &st);
	cr_assert_eq(st, DET_ENFORCING);
	out_flow(det, a, "evil.example.net", "192.0.2.66", 443, TCP, T0 + 601 * S);
	cr_assert_str_eq(only_alert(&out)->kind, "unexpected_destination");
}

Test(detector, by_policy_an_unpredictable_device_learns_until_learn_max)
{
	struct det_cfg c = base_cfg();
	c.learn_for_us = 0;
	remake_det(&c);
	const struct device *a = &devs[0];
	enum det_state st;
	char ip[32];
	uint64_t s = 0;
	for (unsigned i = 0; s < 7200; i++, s += 30) {
		snprintf(ip, sizeof(ip), "23.%u.%u.1", i / 200, i % 200);
		out_flow(det, a, NULL, ip, 443, TCP, T0 + s * S);
		maturity_of(det, a, &st);
		cr_assert_eq(st, DET_LEARNING, "enforced at %llu s", (unsigned long long)s);
	}
	cr_assert_lt(maturity_of(det, a, NULL), 0.95);
	out_flow(det, a, NULL, "192.0.2.1", 443, TCP, T0 + 7200 * S);
	maturity_of(det, a, &st);
	cr_assert_eq(st, DET_ENFORCING);
	cr_assert_eq(out.n, 0);
}

/* ---- construction ---- */

Test(detector, a_bad_configuration_is_refused)
{
	struct det_cfg c = base_cfg();
	cr_assert_null(det_new(&c, NULL, &out));
	c.max_devices = 0;
	cr_assert_null(det_new(&c, on_alert, &out));
	c = base_cfg();
	c.threshold = 0;
	cr_assert_null(det_new(&c, on_alert, &out));
	c.threshold = 1.5;
	cr_assert_null(det_new(&c, on_alert, &out));
	c.threshold = 1.0;
	struct detector *d = det_new(&c, on_alert, &out);
	cr_assert_not_null(d);
	det_free(d);
	det_free(NULL);
}

/* Review findings: times reach the detector slightly out of order (a flow
 * is scored at its last packet, a window at its end). */

Test(detector, an_event_timed_before_the_one_that_ended_learning_is_not_learned)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	out_flow(det, a, "evil.example.net", "203.0.113.9", 443, TCP, ENFORCE + 400 * S);
	cr_assert_eq(out.n, 1);
	double before = maturity_of(det, a, NULL);
	out_flow(det, a, "evil.example.net", "203.0.113.9", 443, TCP, ENFORCE + 399 * S);
	cr_assert_float_eq(maturity_of(det, a, NULL), before, EPS, "an earlier-timed flow was learned after enforcing");
	out_flow(det, a, "evil.example.net", "203.0.113.9", 443, TCP, ENFORCE + (DET_DEDUP_S + 500) * S);
	cr_assert_eq(out.n, 2, "the destination must still alert once the dedup interval is over");
}

Test(detector, an_alert_timed_before_the_last_of_its_kind_is_folded)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	out_flow(det, a, "evil.example.net", "203.0.113.9", 443, TCP, ENFORCE + 400 * S);
	out_flow(det, a, "evil.example.net", "203.0.113.9", 443, TCP, ENFORCE + 399 * S);
	cr_assert_eq(out.n, 1, "an out-of-order repeat went out as a second alert");
	cr_assert_eq(det_stats(det)->deduplicated, 1);
}

Test(detector, a_device_silent_from_just_before_the_end_of_learning_still_raises_heartbeat_missing)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	for (uint64_t k = 0; k < LEARN_WINDOWS - 1; k++) {
		struct dev_window w = quiet_window(a, k);
		det_window(det, &w);
	}
	for (uint64_t h = 1; h <= 48 && out.n == 0; h++)
		det_tick(det, T0 + h * 3600 * S);
	cr_assert_eq(out.n, 1, "a device that went quiet while learning was never reported");
	cr_assert_str_eq(out.r[0].kind, "heartbeat_missing");
}

Test(detector, a_refused_connection_or_an_unanswered_datagram_is_not_a_new_service)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	flow_to_device_answered(det, a, "203.0.113.50", 23, TCP, FLOW_DIR_INBOUND, ENFORCE + 10 * S, true);
	flow_to_device_answered(det, a, "203.0.113.50", 161, UDP, FLOW_DIR_INBOUND, ENFORCE + 11 * S, true);
	cr_assert_eq(out.n, 0, "a port the device refused was taken for a service it offers");
	flow_to_device(det, a, "203.0.113.50", 23, TCP, FLOW_DIR_INBOUND, ENFORCE + 12 * S);
	cr_assert_eq(out.n, 1, "a port the device accepted must alert");
	cr_assert_str_eq(out.r[0].kind, "new_inbound_service");
}

/* ---- devices joining, devices kept learning ---- */

Test(detector, a_device_that_joins_after_the_network_was_learned_is_announced_once_while_learning)
{
	const struct device *old = &devs[0], *vacuum = &devs[1], *early = &devs[2];
	learn_windows(det, old);
	/* Just inside the network's learning hour: not news. */
	struct dev_window w = quiet_window(early, LEARN_WINDOWS - 2);
	det_window(det, &w);
	cr_assert_eq(out.n, 0, "a device of the learning hour was announced");
	/* An hour and a minute in: it joined. */
	w = quiet_window(vacuum, LEARN_WINDOWS);
	det_window(det, &w);
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "new_device");
	cr_assert_eq(r->dev_id, vacuum->id);
	cr_assert_eq(r->state, DET_LEARNING, "a new device is learning, and says so");
	cr_assert_float_eq(r->score, 0.8, EPS);
	cr_assert_eq(r->ts_us, w.end_us);
	cr_assert_str_eq(reason(r, "device")->observed, "first seen 3600 s after the capture began");
	cr_assert_str_eq(reason(r, "device")->baseline, "2 devices known");
	/* Its next windows, and its flows while it learns, raise nothing. */
	w = quiet_window(vacuum, LEARN_WINDOWS + 1);
	det_window(det, &w);
	out_flow(det, vacuum, "api.roborock.com", "47.254.1.1", 443, TCP, w.end_us + S);
	cr_assert_eq(out.n, 1);
}

Test(detector, a_capture_that_begins_at_the_epoch_announces_none_of_its_first_devices)
{
	const struct device *a = &devs[0], *b = &devs[1];
	/* Time 0 is a time like any other, not "no time yet". */
	out_flow(det, a, "api.example.com", "203.0.113.9", 443, TCP, 0);
	struct dev_window w;
	memset(&w, 0, sizeof(w));
	w.dev = b;
	w.end_us = 60 * S;
	det_window(det, &w);
	w.dev = a;
	det_window(det, &w);
	cr_assert_eq(out.n, 0, "a device there from the first packet was announced as new");
}

Test(detector, a_device_kept_learning_by_name_never_alerts_nor_is_announced)
{
	const struct device *a = &devs[0], *b = &devs[1], *late = &devs[2];
	uint8_t keys[2][16];
	det_device_key(a, keys[0]);
	det_device_key(late, keys[1]);
	struct det_cfg c = base_cfg();
	c.learn_keys = (const uint8_t (*)[16])keys;
	c.n_learn_keys = 2;
	remake_det(&c);
	learn_closed(det, a);
	learn_closed(det, b);
	out_flow(det, a, "evil.example.net", "192.0.2.66", 443, TCP, ENFORCE + S);
	enum det_state st;
	maturity_of(det, a, &st);
	cr_assert_eq(st, DET_LEARNING, "a listed device enforced");
	cr_assert_eq(out.n, 0, "a listed device alerted");
	struct dev_window w = quiet_window(late, LEARN_WINDOWS + 5);
	det_window(det, &w);
	cr_assert_eq(out.n, 0, "a listed device was announced");
	/* The others are enforced as usual. */
	out_flow(det, b, "evil.example.net", "192.0.2.66", 443, TCP, ENFORCE + 2 * S);
	cr_assert_eq(only_alert(&out)->dev_id, b->id);
}

/* A plug that met a few hosts of its vendor once each at boot, then kept
 * to one: its destinations say "often somewhere new" (3 of 10 seen once),
 * its domains do not (one domain, ten flows). A new domain alerts; a new
 * host of its vendor does not. */
Test(detector, a_new_domain_is_judged_by_how_rarely_the_device_met_new_domains)
{
	const struct device *a = &devs[0];
	out_flow(det, a, "a2.tuyaeu.com", "3.120.9.1", 443, TCP, T0);
	out_flow(det, a, "images.tuyaeu.com", "3.120.9.2", 443, TCP, T0 + S);
	out_flow(det, a, "px.tuyaeu.com", "3.120.9.3", 443, TCP, T0 + 2 * S);
	for (uint64_t i = 0; i < 7; i++)
		out_flow(det, a, "m2.tuyaeu.com", "3.120.9.4", 8883, TCP, T0 + (600 + i * 400) * S);
	double m = maturity_of(det, a, NULL);
	cr_assert_float_eq(m, 1.0 - 4.0 / 12.0, EPS);
	out_flow(det, a, "m9.tuyaeu.com", "3.120.9.9", 443, TCP, ENFORCE);
	cr_assert_eq(out.n, 0, "a new host of its vendor alerted");
	out_flow(det, a, "q3qwx1tzs.club", "198.51.100.66", 443, TCP, ENFORCE + S);
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "unexpected_destination");
	/* Four of its flows in the last half hour, no new domain then. */
	cr_assert_float_eq(r->score, 1.0 - 1.0 / 6.0, EPS);
	cr_assert_float_eq(r->maturity, m, EPS, "the device's maturity is still reported");
	cr_assert_str_eq(reason(r, "domain_novelty")->baseline,
			 "1 domains learned; in the last half of learning 4 flows, 0 new domains");
}

/* A phone: nearly all its flows go to one domain, yet it met a new domain
 * every ten minutes all through learning. A new domain is routine for it. */
Test(detector, a_device_that_kept_meeting_new_domains_late_in_learning_does_not_alert_on_one_more)
{
	const struct device *a = &devs[0];
	char name[64];
	for (uint64_t i = 0; i < 360; i++)
		out_flow(det, a, "www.google.com", "142.250.1.1", 443, TCP, T0 + i * 10 * S);
	for (uint64_t i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "news%u.site%u.org", (unsigned)i, (unsigned)i);
		out_flow(det, a, name, "198.51.100.9", 443, TCP, T0 + (300 + i * 600) * S);
	}
	cr_assert_geq(maturity_of(det, a, NULL), 0.97, "by flows it looks closed-world");
	out_flow(det, a, "shop.newstore.com", "203.0.113.80", 443, TCP, ENFORCE);
	cr_assert_eq(out.n, 0, "three new domains late in learning, yet a new one alerted");
}

/* Busy for ten minutes, then idle until learning ended: no new domain
 * late in learning, but no flow either. That is no evidence. */
Test(detector, a_device_idle_in_the_second_half_of_learning_has_shown_nothing_to_alert_against)
{
	const struct device *a = &devs[0], *b = &devs[1];
	for (uint64_t i = 0; i < 60; i++) {
		out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + i * 10 * S);
		out_flow(det, b, "api.tuya.com", "3.120.1.5", 443, TCP, T0 + i * 60 * S);
	}
	out_flow(det, a, "shop.newstore.com", "203.0.113.80", 443, TCP, ENFORCE);
	cr_assert_eq(out.n, 0, "an idle second half was taken for a closed world");
	out_flow(det, b, "shop.newstore.com", "203.0.113.80", 443, TCP, ENFORCE);
	cr_assert_eq(only_alert(&out)->dev_id, b->id, "the device busy all through learning did not alert");
}

/* ---- the profile's contents ---- */

static const struct det_profile *profile_of(const struct detector *d, const struct device *dv,
					    struct det_profile_info *info)
{
	uint8_t key[16];
	det_device_key(dv, key);
	const struct det_profile *p = det_profile_find(d, key);
	cr_assert_not_null(p, "no profile for device %u", (unsigned)dv->id);
	det_profile_info(p, info);
	cr_assert_eq(memcmp(info->key, key, 16), 0);
	return p;
}

Test(detector, a_learned_destination_keeps_its_name_domain_service_counts_times_and_period)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	struct det_profile_info info;
	const struct det_profile *p = profile_of(det, a, &info);
	cr_assert_eq(info.destinations, 2);
	cr_assert_eq(info.hosts, 2);
	cr_assert_eq(info.domains, 2);
	cr_assert_eq(info.flows_learned, 200);
	cr_assert_eq(info.first_us, T0);
	struct det_dest_info di;
	cr_assert(det_profile_dest(p, 0, &di));
	cr_assert_str_eq(di.dest, "api.tuya.com");
	cr_assert_str_eq(di.domain, "tuya.com");
	cr_assert(di.named);
	cr_assert_eq(di.port, 443);
	cr_assert_eq(di.proto, TCP);
	cr_assert_eq(di.flows, 100);
	cr_assert_eq(di.flows_learned, 100);
	cr_assert_eq(di.first_us, T0);
	cr_assert_eq(di.last_us, T0 + 198 * 17 * S);
	/* Every 34 s exactly: 99 intervals, no jitter. */
	cr_assert_eq(di.intervals, 99);
	cr_assert_float_eq(di.period_s, 34, EPS);
	cr_assert_float_eq(di.jitter_s, 0, EPS);
	cr_assert_eq(di.longest_s, 34);
	cr_assert(di.heartbeat);
	cr_assert_eq(memcmp(di.addr.b, addr("3.120.1.5").b, 16), 0);
	cr_assert(det_profile_dest(p, 1, &di));
	cr_assert_str_eq(di.dest, "time.acme-clock.org");
	cr_assert_str_eq(di.domain, "acme-clock.org");
	cr_assert_eq(di.port, 123);
	cr_assert_eq(di.proto, UDP);
	cr_assert_not(det_profile_dest(p, 2, &di));

	/* Once enforcing, a flow to it counts and moves last seen; the learned
	 * count stays what was learned. */
	out_flow(det, a, "api.tuya.com", "3.120.1.6", 443, TCP, ENFORCE + 5 * S);
	cr_assert_eq(out.n, 0);
	cr_assert(det_profile_dest(p, 0, &di));
	cr_assert_eq(di.flows, 101);
	cr_assert_eq(di.flows_learned, 100);
	cr_assert_eq(di.last_us, ENFORCE + 5 * S);
	cr_assert_eq(di.intervals, 99, "an interval after learning was learned");
	cr_assert_eq(memcmp(di.addr.b, addr("3.120.1.6").b, 16), 0);
}

Test(detector, an_unnamed_a_fast_or_an_irregular_contact_is_not_a_heartbeat)
{
	const struct device *a = &devs[0];
	static const uint32_t irregular[] = {10, 100, 30, 300, 45, 600, 20, 200, 90, 400};
	uint64_t t = T0;
	for (uint64_t i = 0; i < 20; i++) {
		out_flow(det, a, NULL, "198.51.100.20", 8883, TCP, T0 + i * 60 * S);
		out_flow(det, a, "fast.vendor.com", "203.0.113.5", 443, TCP, T0 + i * 5 * S);
		out_flow(det, a, "odd.vendor.com", "203.0.113.6", 443, TCP, t);
		t += irregular[i % 10] * S;
	}
	struct det_profile_info info;
	const struct det_profile *p = profile_of(det, a, &info);
	struct det_dest_info di;
	for (uint32_t i = 0; det_profile_dest(p, i, &di); i++) {
		cr_assert_eq(di.intervals, 19, "%s", di.dest);
		cr_assert_not(di.heartbeat, "%s counts as a heartbeat", di.dest);
	}
	cr_assert(det_profile_dest(p, 0, &di));
	cr_assert_str_eq(di.dest, "198.51.100.0/24");
	cr_assert_not(di.named);
	cr_assert_float_eq(di.period_s, 60, EPS);
}

/* Flows to api.tuya.com stop at T0 + 3366 s; the device goes on, and so
 * does its other contact. */
Test(detector, a_heartbeat_that_stops_while_the_device_goes_on_raises_heartbeat_missing_for_it_once)
{
	const struct device *a = &devs[0];
	learn_with_windows(a, 0, 0);
	for (uint64_t k = LEARN_WINDOWS + 1; k < LEARN_WINDOWS + 60; k++) {
		struct dev_window w = quiet_window(a, k);
		out_flow(det, a, "time.acme-clock.org", "198.51.100.7", 123, UDP, w.end_us - 30 * S);
		det_window(det, &w);
		det_tick(det, w.end_us);
	}
	const struct rec *r = only_alert(&out);
	cr_assert_str_eq(r->kind, "heartbeat_missing");
	cr_assert_str_eq(r->key, "api.tuya.com:443/tcp");
	/* Due at its last flow + DET_SILENCE_MIN_S (3 x 34 s is less): T0 +
	 * 4266 s; the first window of the device after that ends at T0 + 4320 s. */
	cr_assert_eq(r->ts_us, T0 + 4320 * S);
	double expect = (1.0 - 1.0 / 101.0) * M_CLOSED * (0.8 + 0.2 * 54.0 / 900.0);
	cr_assert_float_eq(r->score, expect, 1e-6);
	const struct rec_reason *hb = reason(r, "heartbeat");
	cr_assert_not_null(hb);
	cr_assert_str_eq(hb->observed, "silent 954 s, the device active");
	cr_assert_not_null(strstr(hb->baseline, "every 34 s +- 0 s, 99 intervals learned"), "%s", hb->baseline);
	cr_assert_not_null(reason(r, "maturity"));
	struct det_profile_info info;
	profile_of(det, a, &info);
	cr_assert_eq(info.heartbeats, 2);
}

Test(detector, a_contact_silent_past_its_limit_when_learning_ended_is_not_watched)
{
	const struct device *a = &devs[0];
	for (uint64_t i = 0; i < 20; i++)
		out_flow(det, a, "setup.vendor.com", "203.0.113.7", 443, TCP, T0 + i * 60 * S);
	for (uint64_t k = 0; k < LEARN_WINDOWS + 40; k++) {
		struct dev_window w = quiet_window(a, k);
		out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, w.end_us - 30 * S);
		det_window(det, &w);
		det_tick(det, w.end_us);
	}
	cr_assert_eq(out.n, 0, "%s on %s", out.n ? out.r[0].kind : "", out.n ? out.r[0].key : "");
	struct det_profile_info info;
	profile_of(det, a, &info);
	cr_assert_eq(info.state, DET_ENFORCING);
	cr_assert_eq(info.heartbeats, 1, "only api.tuya.com is watched");
}

Test(detector, windows_are_counted_by_hour_of_week_and_window_alerts_say_which)
{
	const struct device *a = &devs[0];
	learn_windows(det, a);
	struct dev_window w = quiet_window(a, LEARN_WINDOWS);
	w.remote_hosts = 500;
	det_window(det, &w);
	const struct rec *r = only_alert(&out);
	time_t start = (time_t)(w.start_us / S);
	struct tm tm;
	gmtime_r(&start, &tm);
	char expect[64];
	strftime(expect, sizeof(expect), "%a %H:00-%H:59 UTC", &tm);
	const struct rec_reason *h = reason(r, "hour_of_week");
	cr_assert_not_null(h);
	cr_assert_str_eq(h->observed, expect);
	cr_assert_float_eq(h->contribution, 0, EPS);

	struct det_profile_info info;
	profile_of(det, a, &info);
	uint64_t sum = 0;
	for (unsigned i = 0; i < DET_HOURS_OF_WEEK; i++)
		sum += info.hours[i];
	cr_assert_eq(sum, LEARN_WINDOWS, "the anomalous window was counted as normal activity");
	/* The learning windows fill T0's hour (T0 is on the hour; Monday is
	 * 0); the anomalous one began the next. */
	time_t t0 = (time_t)(T0 / S);
	gmtime_r(&t0, &tm);
	unsigned how = (unsigned)((tm.tm_wday + 6) % 7 * 24 + tm.tm_hour);
	cr_assert_eq(info.hours[how], LEARN_WINDOWS);
	cr_assert_eq(info.hours[(how + 1) % DET_HOURS_OF_WEEK], 0);
	snprintf(expect, sizeof(expect), "%u of %u normal windows", info.hours[(how + 1) % DET_HOURS_OF_WEEK],
		 LEARN_WINDOWS);
	cr_assert_not_null(strstr(h->baseline, expect), "%s", h->baseline);

	w = quiet_window(a, LEARN_WINDOWS + 1);
	det_window(det, &w);
	profile_of(det, a, &info);
	cr_assert_eq(info.hours[(how + 1) % DET_HOURS_OF_WEEK], 1, "a clean window after learning was not counted");
}

Test(detector, lan_peers_keep_the_services_used_on_them_and_services_their_clients)
{
	const struct device *a = &devs[0];
	lan_flow(det, a, "192.168.1.50", 8009, TCP, T0 + 10 * S);
	lan_flow(det, a, "192.168.1.50", 1900, UDP, T0 + 20 * S);
	lan_flow(det, a, "192.168.1.50", 8009, TCP, T0 + 30 * S);
	flow_to_device(det, a, "192.168.1.60", 80, TCP, FLOW_DIR_LOCAL, T0 + 40 * S);
	flow_to_device(det, a, "8.8.8.8", 80, TCP, FLOW_DIR_INBOUND, T0 + 50 * S);
	struct det_profile_info info;
	const struct det_profile *p = profile_of(det, a, &info);
	cr_assert_eq(info.peers, 1);
	cr_assert_eq(info.services, 1);
	struct det_peer_info pi;
	cr_assert(det_profile_peer(p, 0, &pi));
	cr_assert_eq(memcmp(pi.ip.b, addr("192.168.1.50").b, 16), 0);
	cr_assert_eq(pi.flows, 3);
	cr_assert_eq(pi.flows_learned, 3);
	cr_assert_eq(pi.first_us, T0 + 10 * S);
	cr_assert_eq(pi.last_us, T0 + 30 * S);
	cr_assert_eq(pi.n_services, 2);
	cr_assert_eq(pi.ports[0], 8009);
	cr_assert_eq(pi.protos[0], TCP);
	cr_assert_eq(pi.ports[1], 1900);
	cr_assert_eq(pi.protos[1], UDP);
	cr_assert_not(det_profile_peer(p, 1, &pi));
	struct det_service_info si;
	cr_assert(det_profile_service(p, 0, &si));
	cr_assert_eq(si.port, 80);
	cr_assert_eq(si.proto, TCP);
	cr_assert_eq(si.flows, 2);
	cr_assert_eq(si.from_internet, 1);
	cr_assert_eq(memcmp(si.last_client.b, addr("8.8.8.8").b, 16), 0);

	/* After learning: a known peer on a new port is counted, not learned. */
	lan_flow(det, a, "192.168.1.50", 22, TCP, ENFORCE + 60 * S);
	cr_assert_eq(out.n, 0);
	cr_assert(det_profile_peer(p, 0, &pi));
	cr_assert_eq(pi.flows, 4);
	cr_assert_eq(pi.flows_learned, 3);
	cr_assert_eq(pi.n_services, 2);
}

Test(detector, a_feature_baseline_reads_back_as_median_and_95th_percentile)
{
	const struct device *a = &devs[0];
	learn_windows(det, a);
	struct det_profile_info info;
	const struct det_profile *p = profile_of(det, a, &info);
	struct det_feature_info fi;
	uint32_t i = 0;
	while (det_profile_feature(p, i, &fi) && strcmp(fi.name, "remote_hosts"))
		i++;
	cr_assert(det_profile_feature(p, i, &fi), "no remote_hosts feature");
	cr_assert_eq(fi.samples, LEARN_WINDOWS);
	/* 2, 3 and 4 remote hosts, as often each. */
	cr_assert_float_eq(fi.median, 3, 1e-4);
	cr_assert_float_eq(fi.q95, 4, 1e-4);
	cr_assert_gt(fi.mad, 0);
	uint32_t n = 0;
	while (det_profile_feature(p, n, &fi))
		n++;
	cr_assert_eq(n, 11);
}

Test(detector, every_profile_is_visited_once)
{
	for (int i = 0; i < 5; i++)
		out_flow(det, &devs[i], "api.tuya.com", "3.120.1.5", 443, TCP, T0 + (uint64_t)i * S);
	bool seen[5] = {false};
	int n = 0;
	for (const struct det_profile *p = det_profile_next(det, NULL); p; p = det_profile_next(det, p)) {
		struct det_profile_info info;
		det_profile_info(p, &info);
		cr_assert_eq(info.key[0], 0x02);
		int i = info.key[5] - 1;
		cr_assert(i >= 0 && i < 5 && !seen[i], "device %d twice or unknown", i);
		seen[i] = true;
		n++;
	}
	cr_assert_eq(n, 5);
}

/* ---- profiles as bytes ---- */

/* A profile with something in every part: destinations with heartbeats,
 * peers, services, baselines, hours, enforcing, its heartbeats chosen. */
static void rich_profile(struct detector *d, const struct device *a)
{
	learn_closed(d, a);
	lan_flow(d, a, "192.168.1.50", 8009, TCP, T0 + 10 * S);
	lan_flow(d, a, "192.168.1.50", 1900, UDP, T0 + 20 * S);
	flow_to_device(d, a, "8.8.8.8", 80, TCP, FLOW_DIR_INBOUND, T0 + 50 * S);
	out_flow(d, a, NULL, "198.51.100.20", 8883, TCP, T0 + 60 * S);
	learn_windows(d, a);
	struct dev_window w = quiet_window(a, LEARN_WINDOWS);
	det_window(d, &w);
	det_tick(d, w.end_us);
	uint8_t key[16];
	char err[128];
	det_device_key(a, key);
	cr_assert_eq(det_profile_accept(d, key, "ota.example.com", 443, TCP, 3600 * S, "firmware 2.1", 0, err, sizeof(err)),
		     0, "%s", err);
}

static uint8_t *encode_of(const struct detector *d, const struct device *dv, size_t *len)
{
	uint8_t key[16], *buf = NULL;
	det_device_key(dv, key);
	const struct det_profile *p = det_profile_find(d, key);
	cr_assert_not_null(p);
	cr_assert_eq(det_profile_encode(p, &buf, len), 0);
	return buf;
}

Test(detector, a_profile_decoded_from_its_bytes_encodes_to_the_same_bytes_and_scores_the_same)
{
	const struct device *a = &devs[0];
	rich_profile(det, a);
	size_t len, len2;
	uint8_t *buf = encode_of(det, a, &len);
	struct det_cfg c = base_cfg();
	det2 = make_det(&c, &out2);
	char err[128];
	cr_assert_eq(det_profile_decode(det2, buf, len, err, sizeof(err)), 0, "%s", err);
	uint8_t *again = encode_of(det2, a, &len2);
	cr_assert_eq(len2, len);
	cr_assert_eq(memcmp(again, buf, len), 0, "the round trip changed the profile");

	struct det_profile_info i1, i2;
	const struct det_profile *p1 = profile_of(det, a, &i1), *p2 = profile_of(det2, a, &i2);
	cr_assert_eq(memcmp(&i1, &i2, sizeof(i1)), 0);
	cr_assert_eq(i2.heartbeats, 2);
	cr_assert_eq(i2.peers, 1);
	cr_assert_eq(i2.services, 1);
	cr_assert_eq(i2.accepts, 1);
	struct det_accept_info ac;
	cr_assert(det_profile_accepted(p2, 0, &ac));
	cr_assert_str_eq(ac.dest, "ota.example.com");
	cr_assert_str_eq(ac.reason, "firmware 2.1");
	cr_assert_eq(ac.port, 443);
	cr_assert_eq(ac.until_us, ac.since_us + 3600 * S);
	struct det_dest_info d1, d2;
	for (uint32_t i = 0; det_profile_dest(p1, i, &d1); i++) {
		cr_assert(det_profile_dest(p2, i, &d2));
		cr_assert_str_eq(d1.dest, d2.dest);
		cr_assert_str_eq(d1.domain, d2.domain);
		cr_assert_eq(d1.flows, d2.flows);
		cr_assert_float_eq(d1.period_s, d2.period_s, EPS);
	}

	/* Both detectors judge what comes next alike. */
	out_flow(det, a, "evil.example.net", "203.0.113.66", 443, TCP, ENFORCE + 600 * S);
	out_flow(det2, a, "evil.example.net", "203.0.113.66", 443, TCP, ENFORCE + 600 * S);
	cr_assert_eq(out.n, 1);
	cr_assert_eq(out2.n, 1);
	cr_assert_str_eq(out.r[0].kind, out2.r[0].kind);
	cr_assert_float_eq(out.r[0].score, out2.r[0].score, EPS);
	free(buf);
	free(again);
}

Test(detector, a_truncated_or_damaged_encoding_is_refused_and_changes_nothing)
{
	const struct device *a = &devs[0];
	rich_profile(det, a);
	size_t len, len2;
	uint8_t *buf = encode_of(det, a, &len);
	char err[128];
	/* det already holds the device: a failed decode must leave it as it is. */
	for (size_t cut = 0; cut < len; cut++) {
		cr_assert_eq(det_profile_decode(det, buf, cut, err, sizeof(err)), -1, "a cut at %zu was accepted", cut);
		cr_assert_gt(strlen(err), 0);
	}
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = 0;
	cr_assert_eq(det_profile_decode(det, longer, len + 1, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "trailing"), "%s", err);
	uint8_t *now = encode_of(det, a, &len2);
	cr_assert_eq(len2, len);
	cr_assert_eq(memcmp(now, buf, len), 0, "a refused decode changed the profile");

	/* Another version is named, not misread. */
	memcpy(longer, buf, len);
	longer[5] = DET_PROFILE_VERSION + 1;
	cr_assert_eq(det_profile_decode(det, longer, len, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "version"), "%s", err);
	/* Any byte flipped: refused, or read as some valid profile; never a crash (ASan). */
	for (size_t i = 0; i < len; i++) {
		memcpy(longer, buf, len);
		longer[i] ^= 0xa5;
		struct det_cfg c = base_cfg();
		struct detector *scratch = make_det(&c, &out2);
		(void)det_profile_decode(scratch, longer, len, err, sizeof(err));
		det_free(scratch);
	}
	free(longer);
	free(now);
	free(buf);
}

/* ---- requests ---- */

Test(detector, a_relearned_device_learns_again_from_its_last_event_keeping_what_it_knew)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	uint8_t key[16];
	det_device_key(a, key);
	uint64_t t = ENFORCE + 600 * S;
	out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, t);
	cr_assert_eq(det_profile_relearn(det, key, t, 0), 0);
	enum det_state st;
	maturity_of(det, a, &st);
	cr_assert_eq(st, DET_LEARNING);
	/* While it relearns, a new host is learned, not alerted; it goes on
	 * with its usual traffic, the evidence its new learning ends on. */
	out_flow(det, a, "ota.tuya.com", "3.120.9.9", 443, TCP, t + 60 * S);
	for (uint64_t i = 0; i < 200; i++)
		out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, t + (61 + i * 17) * S);
	cr_assert_eq(out.n, 0);
	/* Learning ends LEARN_S after the relearn; then the new host is known
	 * and the old ones still are. */
	out_flow(det, a, "ota.tuya.com", "3.120.9.9", 443, TCP, t + (LEARN_S + 60) * S);
	out_flow(det, a, "time.acme-clock.org", "198.51.100.7", 123, UDP, t + (LEARN_S + 61) * S);
	cr_assert_eq(out.n, 0);
	struct det_profile_info info;
	profile_of(det, a, &info);
	cr_assert_eq(info.state, DET_ENFORCING);
	cr_assert_eq(info.learn_end_us, t + LEARN_S * S);
	cr_assert_eq(info.destinations, 3);
	out_flow(det, a, "evil.example.net", "203.0.113.66", 443, TCP, t + (LEARN_S + 120) * S);
	cr_assert_eq(out.n, 1, "after relearning, a new domain did not alert");
	uint8_t other[16] = {0x02, 0, 0, 0, 0, 0x77};
	cr_assert_eq(det_profile_relearn(det, other, t, 0), -1);
}

Test(detector, a_relearn_for_a_set_time_ends_then_whatever_the_policy_and_survives_the_encoding)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	uint8_t key[16];
	det_device_key(a, key);
	uint64_t t = ENFORCE + 600 * S, span = 300 * S;
	cr_assert_lt(span, LEARN_S * S);
	out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, t);
	cr_assert_eq(det_profile_relearn(det, key, t, span), 0);
	/* Carried by the bytes: a store restarting mid-relearn keeps its end. */
	size_t len;
	uint8_t *buf = encode_of(det, a, &len);
	struct det_cfg c = base_cfg();
	det2 = make_det(&c, &out2);
	char err[128];
	cr_assert_eq(det_profile_decode(det2, buf, len, err, sizeof(err)), 0, "%s", err);
	free(buf);
	struct detector *both[2] = {det, det2};
	const struct sink *sinks[2] = {&out, &out2};
	for (int i = 0; i < 2; i++) {
		struct det_profile_info info;
		out_flow(both[i], a, "telemetry.tuya-new.example", "3.120.7.7", 443, TCP, t + span - S);
		cr_assert_eq(sinks[i]->n, 0, "alerted while relearning");
		det_profile_info(det_profile_find(both[i], key), &info);
		cr_assert_eq(info.state, DET_LEARNING);
		out_flow(both[i], a, "api.tuya.com", "3.120.1.5", 443, TCP, t + span + S);
		det_profile_info(det_profile_find(both[i], key), &info);
		cr_assert_eq(info.state, DET_ENFORCING, "the relearn did not end after its set time");
		cr_assert_eq(info.learn_end_us, t + span);
		cr_assert_eq(info.destinations, 3);
	}
}

Test(detector, a_forgotten_device_is_learned_anew)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	uint8_t key[16];
	det_device_key(a, key);
	cr_assert_eq(det_profile_forget(det, key), 0);
	cr_assert_null(det_profile_find(det, key));
	cr_assert_eq(det_profile_forget(det, key), -1);
	out_flow(det, a, "evil.example.net", "203.0.113.66", 443, TCP, ENFORCE + 600 * S);
	cr_assert_eq(out.n, 0, "a forgotten device alerted on its old profile");
	struct det_profile_info info;
	profile_of(det, a, &info);
	cr_assert_eq(info.state, DET_LEARNING);
	cr_assert_eq(info.destinations, 1);
}

Test(detector, a_forgotten_device_seen_long_before_still_learns_from_now)
{
	/* A device of the tracker, with the time of its first packet. */
	struct device a = devs[0];
	a.first_us = T0;
	learn_closed(det, &a);
	uint8_t key[16];
	det_device_key(&a, key);
	cr_assert_eq(det_profile_forget(det, key), 0);
	out_flow(det, &a, "evil.example.net", "203.0.113.66", 443, TCP, ENFORCE + 600 * S);
	cr_assert_eq(out.n, 0, "a forgotten device alerted as if it had learned since its first packet");
	struct det_profile_info info;
	profile_of(det, &a, &info);
	cr_assert_eq(info.state, DET_LEARNING);
	cr_assert_eq(info.first_us, ENFORCE + 600 * S);
}

/* ---- accepted destinations, versions ---- */

static void accept_ok(const struct device *dv, const char *dest, uint16_t port, uint8_t proto, uint64_t for_us,
		      uint64_t now_us)
{
	uint8_t key[16];
	char err[128];
	det_device_key(dv, key);
	cr_assert_eq(det_profile_accept(det, key, dest, port, proto, for_us, NULL, now_us, err, sizeof(err)), 0,
		     "accept %s: %s", dest, err);
}

Test(detector, an_accepted_name_covers_its_subdomains_for_that_device_only)
{
	const struct device *a = &devs[0], *b = &devs[1];
	learn_closed(det, a);
	learn_closed(det, b);
	accept_ok(a, "Example.COM.", 0, 0, 0, ENFORCE);
	uint64_t t = ENFORCE + 60 * S;
	out_flow(det, a, "ota.example.com", "203.0.113.5", 443, TCP, t);
	out_flow(det, a, "example.com", "203.0.113.6", 8443, TCP, t + S);
	cr_assert_eq(out.n, 0, "an accepted name alerted: %s", out.n ? out.r[0].key : "");
	/* Look-alikes are not subdomains. */
	out_flow(det, a, "example.com.evil.net", "198.51.100.66", 443, TCP, t + 2 * S);
	out_flow(det, a, "badexample.com", "198.51.100.67", 443, TCP, t + 3 * S);
	cr_assert_eq(out.n, 2);
	cr_assert_str_eq(out.r[0].key, "example.com.evil.net:443/tcp");
	cr_assert_str_eq(out.r[1].key, "badexample.com:443/tcp");
	/* Another device is not covered. */
	out_flow(det, b, "ota.example.com", "203.0.113.5", 443, TCP, t + 4 * S);
	cr_assert_eq(out.n, 3);
	cr_assert_eq(out.r[2].dev_mac[5], b->mac[5]);
	struct det_profile_info info;
	const struct det_profile *p = profile_of(det, a, &info);
	struct det_accept_info ac;
	cr_assert_eq(info.accepts, 1);
	cr_assert(det_profile_accepted(p, 0, &ac));
	cr_assert_str_eq(ac.dest, "example.com");
	cr_assert_str_eq(ac.reason, "");
	cr_assert_eq(ac.flows, 2);
	cr_assert_eq(ac.last_us, t + S);
	cr_assert_eq(ac.until_us, 0);
	cr_assert_not(det_profile_accepted(p, 1, &ac));
	/* Accepting does not add a learned destination. */
	cr_assert_eq(info.destinations, 2);
}

Test(detector, an_accept_holds_for_its_port_and_transport_until_it_expires)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	accept_ok(a, "203.0.113.77/24", 443, TCP, 600 * S, ENFORCE);
	/* Kept as the network it means: the same again replaces it. */
	accept_ok(a, "203.0.113.0/24", 443, TCP, 600 * S, ENFORCE);
	accept_ok(a, "192.168.1.77", 0, 0, 0, ENFORCE);
	out_flow(det, a, NULL, "203.0.113.9", 443, TCP, ENFORCE + 10 * S);
	lan_flow(det, a, "192.168.1.77", 22, TCP, ENFORCE + 11 * S);
	cr_assert_eq(out.n, 0, "%s", out.n ? out.r[0].key : "");
	out_flow(det, a, NULL, "203.0.113.9", 443, UDP, ENFORCE + 12 * S);
	out_flow(det, a, NULL, "203.0.113.9", 80, TCP, ENFORCE + 13 * S);
	cr_assert_eq(out.n, 2);
	cr_assert_str_eq(out.r[0].key, "203.0.113.0/24:443/udp");
	cr_assert_str_eq(out.r[1].key, "203.0.113.0/24:80/tcp");
	/* Its 600 s are up: the same flow alerts. */
	out_flow(det, a, NULL, "203.0.113.9", 443, TCP, ENFORCE + 600 * S);
	cr_assert_eq(out.n, 3);
	cr_assert_str_eq(out.r[2].kind, "unexpected_destination");
	cr_assert_str_eq(out.r[2].key, "203.0.113.0/24:443/tcp");
	/* A LAN peer not accepted is still one. */
	lan_flow(det, a, "192.168.1.78", 22, TCP, ENFORCE + 601 * S);
	cr_assert_eq(out.n, 4);
	cr_assert_str_eq(out.r[3].kind, "new_lan_peer");
	struct det_profile_info info;
	profile_of(det, a, &info);
	cr_assert_eq(info.accepts, 2);
}

Test(detector, a_bad_destination_or_too_many_accepts_is_refused_and_an_expired_one_makes_room)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	uint8_t key[16], other[16] = {0x02, 0, 0, 0, 0, 0x77};
	char err[128];
	det_device_key(a, key);
	const char *bad[] = {"", "exa mple.com", "a..b", ".example.com", "10.0.0.0/33", "\xc3\xa9.com"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(det_profile_accept(det, key, bad[i], 0, 0, 0, NULL, 0, err, sizeof(err)), -1, "'%s'", bad[i]);
		cr_assert_gt(strlen(err), 0);
	}
	cr_assert_eq(det_profile_accept(det, other, "example.com", 0, 0, 0, NULL, 0, err, sizeof(err)), -1);
	char name[32];
	for (int i = 0; i < DET_MAX_ACCEPTS; i++) {
		snprintf(name, sizeof(name), "host%d.example.com", i);
		accept_ok(a, name, 0, 0, i == 5 ? 60 * S : 0, ENFORCE);
	}
	/* The same one again replaces it. */
	accept_ok(a, "host7.example.com", 0, 0, 0, ENFORCE + S);
	cr_assert_eq(det_profile_accept(det, key, "one.more.org", 0, 0, 0, NULL, ENFORCE + 30 * S, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "in force"), "%s", err);
	/* Once host5's minute is up, it gives way. */
	accept_ok(a, "one.more.org", 0, 0, 0, ENFORCE + 61 * S);
	struct det_profile_info info;
	const struct det_profile *p = profile_of(det, a, &info);
	cr_assert_eq(info.accepts, DET_MAX_ACCEPTS);
	struct det_accept_info ac;
	cr_assert(det_profile_accepted(p, 5, &ac));
	cr_assert_str_eq(ac.dest, "one.more.org");
	cr_assert(det_profile_accepted(p, 7, &ac));
	cr_assert_eq(ac.since_us, ENFORCE + S);
}

Test(detector, version_1_and_2_encodings_read_as_profiles_without_what_later_versions_added)
{
	const struct device *a = &devs[0];
	learn_closed(det, a);
	size_t len, len2;
	uint8_t *buf = encode_of(det, a, &len);
	/* Version 2 added the accepts at the end (a count, here 0), version 3
	 * the end of a set relearn after them (0). */
	cr_assert_eq(buf[len - 2], 0);
	cr_assert_eq(buf[len - 1], 0);
	cr_assert_eq(buf[5], DET_PROFILE_VERSION);
	struct det_cfg c = base_cfg();
	det2 = make_det(&c, &out2);
	for (uint8_t version = 1; version <= 2; version++) {
		size_t cut = len - 1 - (version == 1);
		uint8_t *old = malloc(len);
		memcpy(old, buf, cut);
		old[5] = version;
		char err[128];
		cr_assert_eq(det_profile_decode(det2, old, cut, err, sizeof(err)), 0, "version %u: %s", version, err);
		uint8_t *again = encode_of(det2, a, &len2);
		cr_assert_eq(len2, len);
		cr_assert_eq(memcmp(again, buf, len), 0);
		free(old);
		free(again);
	}
	free(buf);
}

Test(detector, a_rollback_restores_what_was_learned_and_keeps_when_things_were_last_seen)
{
	const struct device *a = &devs[0];
	learn_with_windows(a, 0, 0);
	size_t len;
	uint8_t *version1 = encode_of(det, a, &len);
	accept_ok(a, "new.example.org", 0, 0, 0, LAST_WINDOW);
	/* Both of its heartbeats go on for 40 minutes, then it is rolled back
	 * to the version from before and has a window without them: they
	 * were seen a minute ago, not 40. */
	uint64_t k = LEARN_WINDOWS + 1;
	for (; k < LEARN_WINDOWS + 50; k++) {
		struct dev_window w = quiet_window(a, k);
		if (k != LEARN_WINDOWS + 41) {
			out_flow(det, a, "api.tuya.com", "3.120.1.5", 443, TCP, w.end_us - 40 * S);
			out_flow(det, a, "time.acme-clock.org", "198.51.100.7", 123, UDP, w.end_us - 30 * S);
		}
		det_window(det, &w);
		det_tick(det, w.end_us);
		if (k == LEARN_WINDOWS + 40) {
			char err[128];
			cr_assert_eq(det_profile_restore(det, version1, len, err, sizeof(err)), 0, "%s", err);
		}
	}
	cr_assert_eq(out.n, 0, "after the rollback: %s %s", out.n ? out.r[0].kind : "", out.n ? out.r[0].key : "");
	struct det_profile_info info;
	profile_of(det, a, &info);
	cr_assert_eq(info.accepts, 0);
	cr_assert_geq(info.last_us, quiet_window(a, k - 1).end_us - 30 * S, "the rollback moved last seen back");
	cr_assert_eq(info.heartbeats, 2);
	/* What was accepted after that version is not any more. */
	out_flow(det, a, "new.example.org", "203.0.113.9", 443, TCP, quiet_window(a, k).end_us);
	cr_assert_eq(out.n, 1);
	cr_assert_str_eq(out.r[0].kind, "unexpected_destination");
	/* A broken version is refused and leaves the profile alone. */
	char err[128];
	cr_assert_eq(det_profile_restore(det, version1, len - 3, err, sizeof(err)), -1);
	profile_of(det, a, &info);
	cr_assert_eq(info.heartbeats, 2);
	free(version1);
}
