/*
 * alertstorm — a benchmark capture on which `iotids replay --learn-for 10m`
 * raises as many alerts as its deduplication lets out, to measure what
 * publishing alerts costs (Redis against a file): on this capture the
 * alert path, not the packet path, is what a replay spends its time on.
 *
 * AS_NDEV devices of a few IoT vendors (real OUIs) with static addresses
 * on 192.168.0.0/16 behind one gateway. From its first packet every device
 * keeps a routine, to the end of the capture: DNS lookups of one or two
 * fixed cloud names (TTL 60-120 s, the first answer used), a short TLS
 * session (ClientHello with SNI, one request and its answer, FIN) to one
 * of them every 20-40 s, and NTP every few minutes. That is what the ten
 * minutes of learning see.
 *
 * Once its own ten minutes are over (plus a margin, so nothing new is
 * learned by accident), each device also contacts something it never did,
 * every 8-20 s on average (its own pace; each gap jittered by half). 40 %
 * of the contacts go to a never-seen public address (random, never
 * reserved space) on a port of a varied set (443, 8443, 80, 23, 2323,
 * 1883, 5555, 37215, random high): a TCP handshake and a few data packets
 * (a ClientHello on 443/8443, a login prompt on telnet, an MQTT CONNECT...)
 * or, for one in seven, a few UDP datagrams; a third are named first by a
 * DNS lookup of a random name. The rest feed the other alert kinds: its
 * own cloud host on a port it never used (new_port), another LAN device's
 * service, which answers (new_lan_peer for the one, new_inbound_service
 * for the other), an internet host connecting in to a port it answers, as
 * through a UPnP forward (new_inbound_service). About once an hour a
 * device also sends a Mirai-like burst of AS_SCAN_SYNS SYNs to random hosts
 * on 23/2323 in a few seconds (window alerts: scan, flood,
 * connection_failures) and, apart from it, looks up AS_DGA_QUERIES long
 * random names answered NXDOMAIN (dns_anomaly).
 *
 * Why the variety, rather than simply more new addresses: iotids keeps one
 * alert per device, kind and key per hour of capture time (so a window
 * kind, whose key is the kind, once an hour: hence hourly bursts) and at
 * most DET_KIND_BURST (5) per device and kind per clock hour, counted from
 * the epoch; the rest are folded into the next alert. Alerts therefore
 * grow with devices x kinds x clock hours the enforced part touches, not
 * with packets: about 24 per device and clock hour here, whatever the
 * contact rate; the first minutes of a clock hour are the most productive,
 * when every new contact still alerts. So the pace is kept low enough for
 * 2 M packets (~420 packets/s on average) to last about 80 minutes, and
 * the capture starts at 13:45Z: enforcement begins near 13:56, and the run
 * touches three clock hours (13, 14, 15).
 *
 * Rejected: a device per alert (a capture of mostly learning); new
 * addresses only (one kind: five alerts a device-hour). Runs on the event
 * engine, streamed; TLS record bodies are zeros (cheap), DNS messages and
 * ClientHellos are real.
 */
#include "pcaps/gen/alertstorm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcaps/gen/addr.h"
#include "pcaps/gen/appmsg.h"
#include "pcaps/gen/cli.h"
#include "pcaps/gen/dnsmsg.h"
#include "pcaps/gen/ep.h"
#include "pcaps/gen/pcapw.h"
#include "pcaps/gen/pkt.h"
#include "pcaps/gen/prng.h"
#include "pcaps/gen/sim.h"
#include "pcaps/gen/tcpflow.h"
#include "pcaps/gen/tlsmsg.h"

#define MS 1000ULL
#define SEC 1000000ULL
#define MIN (60 * SEC)
#define AS_START_US 1772459100000000ULL /* 2026-03-02T13:45:00Z */
#define AS_NDEV 400
#define AS_LEARN_US (10 * MIN) /* what `replay --learn-for 10m` learns, from a device's first packet */
#define AS_SCAN_SYNS 220       /* past the flood floor of 200 new flows in a window */
#define AS_DGA_QUERIES 25      /* past the NXDOMAIN and long-name floors of 20 */
#define AS_NAMELEN 64

static const char usage[] =
	"usage: iotgen alertstorm --seed N --packets P -o OUT.pcap\n"
	"  Exactly P records from 400 IoT devices on 192.168.0.0/16 behind one\n"
	"  gateway, for `iotids replay --learn-for 10m`: ten minutes of steady\n"
	"  routine (DNS, short TLS sessions to 1-2 cloud names, NTP), then every\n"
	"  device also contacts something new every 8-20 s (never-seen public\n"
	"  hosts and ports, other LAN devices, inbound connections), with hourly\n"
	"  scan and NXDOMAIN bursts: many alerts of every kind. ~420 packets/s;\n"
	"  2 M packets cover about 80 minutes from 2026-03-02T13:45:00Z.\n";

struct vendor {
	uint8_t oui[3];
	uint8_t ttl; /* 64 for Linux stacks, 255 for lwIP */
	const char *cloud[2];
	const char *ntp;
};

/* OUIs as the home generator uses them, plus Espressif and Philips Hue. */
static const struct vendor vendors[] = {
	{{0xc0, 0x56, 0xe3}, 64, {"api.hik-connect.com", "update.hik-connect.com"}, "0.pool.ntp.org"},
	{{0xd8, 0x1f, 0x12}, 255, {"a2.tuyaeu.com", "m2.tuyaeu.com"}, "1.pool.ntp.org"},
	{{0x70, 0xee, 0x50}, 255, {"app.netatmo.net", "mqtt.netatmo.net"}, "2.pool.ntp.org"},
	{{0xf0, 0xd2, 0xf1}, 64, {"api.eu.amazonalexa.com", "device-metrics-us-2.amazon.com"},
	 "0.amazon.pool.ntp.org"},
	{{0x8c, 0x79, 0xf5}, 64, {"api.smartthings.com", "otn.samsungcloudsolution.com"}, "3.pool.ntp.org"},
	{{0x24, 0x0a, 0xc4}, 255, {"a1.tuyaus.com", "m1.tuyaus.com"}, "pool.ntp.org"},
	{{0x00, 0x17, 0x88}, 64, {"ws.meethue.com", "diag.meethue.com"}, "time.meethue.com"},
	{{0xdc, 0xa6, 0x32}, 64, {"version.home-assistant.io", "alerts.home-assistant.io"},
	 "2.debian.pool.ntp.org"},
};

#define NVENDORS (sizeof(vendors) / sizeof(vendors[0]))

/* Ports of new contacts; 0 stands for a random high port. */
static const uint16_t pub_ports[] = {443, 8443, 80, 23, 2323, 1883, 5555, 37215, 0};
static const uint16_t cloud_ports[] = {8883, 1883, 8443, 80, 8080, 23, 9000, 10443, 0};
static const uint16_t lan_ports[] = {23, 2323, 80, 8080, 22, 5555, 7547, 37215, 52869, 1883, 554, 8000,
				     81, 9527, 6668};
static const uint16_t in_ports[] = {23, 2323, 80, 8080, 5555, 7547, 37215, 52869, 8291, 81, 22, 8443};

#define NPORTS(v) (sizeof(v) / sizeof(v[0]))

struct storm;

struct sdev {
	struct storm *st;
	const struct vendor *v;
	uint8_t mac[6], ip[4], ttl;
	struct prng rng;
	uint16_t udp_ipid;
	int ncloud;
	unsigned turn;         /* which cloud name the next session goes to */
	uint64_t until[3];     /* its DNS cache: cloud[0], cloud[1], the NTP name */
	uint64_t period;       /* one routine session per period */
	uint64_t pace;         /* mean gap between new contacts */
	uint64_t next_ntp;
	uint64_t novel_from;   /* learning over: new contacts from here */
};

struct storm {
	struct sim *sim;
	uint64_t seed;
	uint8_t gw_mac[6], gw_ip[4], wan_ip[4];
	struct sdev dev[AS_NDEV];
};

/* What a cloud name is: two addresses in one /24, its DNS TTL, how far. */
struct remote {
	uint8_t ip[2][4];
	uint32_t ttl, rtt_us;
	uint8_t hop_ttl;
};

static uint64_t span(struct prng *r, uint64_t lo, uint64_t hi)
{
	return prng_range(r, lo, hi);
}

static uint16_t pick_port(struct prng *r, const uint16_t *v, size_t n)
{
	uint16_t p = v[prng_below(r, n)];

	return p ? p : (uint16_t)span(r, 10000, 65000);
}

/* Drawn from the seed and the name alone, so every device agrees. */
static void remote_of(const struct storm *st, const char *name, struct remote *rm)
{
	struct prng r;

	prng_seed(&r, st->seed, prng_hash(name));
	addr_public4(&r, rm->ip[0]);
	memcpy(rm->ip[1], rm->ip[0], 4);
	rm->ip[1][3] = (uint8_t)(1 + (rm->ip[0][3] + 37) % 254);
	rm->ttl = (uint32_t)span(&r, 60, 120);
	rm->rtt_us = (uint32_t)span(&r, 8 * MS, 90 * MS);
	rm->hop_ttl = (uint8_t)span(&r, 44, 58);
}

/* "k3v9q2mx7.top": a name nobody has seen. */
static void random_name(struct prng *r, char *out, size_t cap, size_t lo, size_t hi, bool dga)
{
	static const char *const tlds[] = {"com", "net", "org", "xyz", "top", "info", "io", "cc", "ru", "cn"};
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t n = (size_t)span(r, lo, hi), i;

	if (n + 6 > cap)
		n = cap - 6;
	for (i = 0; i < n; i++)
		out[i] = alnum[prng_below(r, dga ? 26 : 36)];
	snprintf(out + n, cap - n, ".%s", dga ? tlds[prng_below(r, 2)] : tlds[prng_below(r, NPORTS(tlds))]);
}

/* d's end of a new connection from an ephemeral port. */
static void dev_end(struct sdev *d, struct ep *e, uint16_t port)
{
	uint16_t p = port ? port : (uint16_t)span(&d->rng, 32768, 60999);
	uint32_t rtt = (uint32_t)span(&d->rng, 200, 900);

	ep_v4(e, d->mac, d->ip, p, d->ttl, rtt);
	e->pad = true;
}

/* An internet host, as the router forwards it. */
static void far_end(struct storm *st, struct ep *e, const uint8_t ip[4], uint16_t port, uint8_t ttl,
		    uint32_t rtt_us)
{
	ep_v4(e, st->gw_mac, ip, port, ttl, rtt_us);
}

/* d asks the router for name: n addresses, or NXDOMAIN when n is 0.
 * Returns when the answer is in. */
static uint64_t dns(struct storm *st, struct sdev *d, uint64_t t, const char *name, const uint8_t (*a)[4],
		    int n, uint32_t ttl)
{
	uint8_t msg[512];
	struct ep dev, gw;
	struct dnsm q;
	uint16_t id = (uint16_t)prng_u32(&d->rng);
	/* A hit in the router's cache, or a trip upstream. */
	uint32_t rtt = (uint32_t)(prng_chance(&d->rng, 0.5) ? span(&d->rng, 300, 2 * MS)
							    : span(&d->rng, 10 * MS, 60 * MS));
	const char *tld = strrchr(name, '.');
	size_t len;
	uint64_t ta;

	dev_end(d, &dev, 0);
	dev.ipid = d->udp_ipid;
	ep_v4(&gw, st->gw_mac, st->gw_ip, 53, 64, rtt);
	dnsm_init(&q, msg, sizeof(msg), id, DNSM_RD);
	dnsm_question(&q, name, DNSM_A, DNSM_IN);
	len = dnsm_finish(&q);
	if (!len) {
		sim_fail(st->sim, -EINVAL);
		return t;
	}
	ep_udp(st->sim, t, &dev, &gw, NULL, msg, len);
	d->udp_ipid = dev.ipid;
	dnsm_init(&q, msg, sizeof(msg), id, DNSM_QR | DNSM_RD | DNSM_RA | (n ? 0 : DNSM_NXDOMAIN));
	dnsm_question(&q, name, DNSM_A, DNSM_IN);
	for (int i = 0; i < n; i++)
		dnsm_rr(&q, DNSM_AN, name, DNSM_A, DNSM_IN, ttl, a[i], 4);
	if (!n) /* the TLD's SOA: negative answers are cached for its minimum */
		dnsm_rr_soa(&q, tld ? tld + 1 : name, "a.gtld-servers.net", "nstld.verisign-grs.com",
			    1772458800, 900);
	len = dnsm_finish(&q);
	if (!len) {
		sim_fail(st->sim, -EINVAL);
		return t;
	}
	ta = t + ep_rtt(&gw, &d->rng);
	ep_udp(st->sim, ta, &gw, &dev, NULL, msg, len);
	return ta;
}

/* d's address for its cloud name k (2: its NTP server), through its own
 * DNS cache; *rm describes the remote. Returns when d can connect. */
static uint64_t resolve(struct storm *st, struct sdev *d, uint64_t t, int k, uint8_t ip[4], struct remote *rm)
{
	const char *name = k < 2 ? d->v->cloud[k] : d->v->ntp;

	remote_of(st, name, rm);
	if (t >= d->until[k]) {
		t = dns(st, d, t, name, (const uint8_t(*)[4])rm->ip, 2, rm->ttl);
		/* A second early, so no connection outlives the answer iotids keeps. */
		d->until[k] = t + (uint64_t)rm->ttl * SEC - SEC;
		t += span(&d->rng, 1 * MS, 15 * MS);
	}
	memcpy(ip, rm->ip[0], 4); /* the first answer, as embedded stacks do */
	return t;
}

static uint64_t send_buf(struct tcpf *f, int from, uint64_t t, const uint8_t *buf, size_t len, unsigned flags)
{
	struct tcpf_src src = tcpf_src_buf(buf, len);

	if (!len) {
		sim_fail(f->sim, -EINVAL);
		return t;
	}
	return tcpf_send(f, from, t, &src, flags);
}

/* Application data (zero-filled records) from `from`. */
static uint64_t tls_data(struct tcpf *f, const struct tlsm_session *ss, int from, uint64_t t, size_t bytes,
			 unsigned flags)
{
	struct tlsm_stream ts;
	struct tcpf_src src;

	tlsm_stream_init(&ts, 0, ss, bytes, 16384, true);
	src.fill = tlsm_stream_fill;
	src.ctx = &ts;
	src.len = ts.len;
	return tcpf_send(f, from, t, &src, flags);
}

/* ClientHello with sni and the server's first flight. */
static uint64_t tls_hello(struct tcpf *f, struct prng *r, uint64_t t, const char *sni, struct tlsm_session *ss)
{
	uint8_t buf[TLSM_MAX_FLIGHT];
	struct tlsm_hello h = {.sni = sni};
	size_t n;

	n = tlsm_client_hello(buf, sizeof(buf), r, &h, ss);
	t = send_buf(f, TCPF_C, t, buf, n, TCPF_NOACK);
	t += span(r, 200, 900);
	n = tlsm_server_flight(buf, sizeof(buf), r, ss, NULL, (size_t)span(r, 1200, 1500));
	return send_buf(f, TCPF_S, t, buf, n, TCPF_NOACK);
}

/* The routine: handshake, one report and its answer, FIN. */
static void tls_session(struct storm *st, struct sdev *d, uint64_t t, const char *name, const struct remote *rm,
			const uint8_t ip[4])
{
	uint8_t buf[TLSM_MAX_FLIGHT];
	struct tlsm_session ss;
	struct prng *r = &d->rng;
	struct tcpf f;
	size_t n;

	memset(&f, 0, sizeof(f));
	dev_end(d, &f.e[TCPF_C].ep, 0);
	far_end(st, &f.e[TCPF_S].ep, ip, 443, rm->hop_ttl, rm->rtt_us);
	tcpf_init(&f, st->sim, r);
	t = tcpf_open(&f, t);
	/* One PRNG draw per statement: the order of a call's arguments is
	 * unspecified, and the bytes must not depend on the compiler. */
	t = tls_hello(&f, r, t, name, &ss);
	t += span(r, 200, 600);
	n = tlsm_client_finish(buf, sizeof(buf), r, &ss);
	t = send_buf(&f, TCPF_C, t, buf, n, TCPF_NOACK);
	/* The client's next segment carries the ACKs of the server's last two. */
	t += span(r, 100, 400);
	n = tlsm_server_finish(buf, sizeof(buf), r, &ss);
	t = send_buf(&f, TCPF_S, t, buf, n, TCPF_NOACK);
	t = tls_data(&f, &ss, TCPF_C, t, span(r, 60, 400), TCPF_NOACK);
	t += span(r, 1 * MS, 30 * MS);
	t = tls_data(&f, &ss, TCPF_S, t, span(r, 30, 300), TCPF_NOACK);
	tcpf_close(&f, TCPF_C, t + span(r, 1 * MS, 20 * MS));
}

static void ntp(struct storm *st, struct sdev *d, uint64_t t)
{
	static const uint8_t refid[4] = {0xc0, 0x24, 0x8f, 0x82};
	uint8_t req[APP_NTP_LEN], rep[APP_NTP_LEN], ip[4];
	struct remote rm;
	struct ep dev, srv;

	t = resolve(st, d, t, 2, ip, &rm);
	dev_end(d, &dev, 123);
	dev.ipid = d->udp_ipid;
	far_end(st, &srv, ip, 123, rm.hop_ttl, rm.rtt_us);
	app_ntp_client(req, t, 8);
	app_ntp_server(rep, req, t + rm.rtt_us / 2, t + rm.rtt_us / 2 + 25, 2, refid);
	ep_udp(st->sim, t, &dev, &srv, NULL, req, sizeof(req));
	d->udp_ipid = dev.ipid;
	ep_udp(st->sim, t + ep_rtt(&srv, &d->rng), &srv, &dev, NULL, rep, sizeof(rep));
}

static void routine(struct sim *s, void *arg)
{
	struct sdev *d = arg;
	struct storm *st = d->st;
	uint64_t now = sim_now(s), t;
	int k = (int)(d->turn++ % (unsigned)d->ncloud);
	uint8_t ip[4];
	struct remote rm;

	if (now >= d->next_ntp) {
		ntp(st, d, now);
		d->next_ntp = now + prng_jitter(&d->rng, 240 * SEC, 0.25);
		now += span(&d->rng, 50 * MS, 500 * MS);
	}
	t = resolve(st, d, now, k, ip, &rm);
	tls_session(st, d, t, d->v->cloud[k], &rm, ip);
	sim_at(s, sim_now(s) + prng_jitter(&d->rng, d->period, 0.2), routine, d);
}

/* ---- new contacts ---- */

/* What the two ends say on a fresh connection, by port: a ClientHello,
 * an HTTP request, a telnet login prompt, an MQTT CONNECT, or a few
 * opaque bytes each way. host names the server where the protocol does
 * (an address for HTTP; never in SNI, which carries names only). The last
 * answer is not ACKed on its own: the client's FIN or RST is. */
static uint64_t exchange(struct tcpf *f, struct prng *r, uint64_t t, uint16_t port, const char *host,
			 bool host_is_name)
{
	uint8_t buf[1024];
	size_t n;

	switch (port) {
	case 443:
	case 8443:
	case 8883:
	case 10443: {
		struct tlsm_session ss;

		return tls_hello(f, r, t, host_is_name ? host : NULL, &ss);
	}
	case 80:
	case 81:
	case 8000:
	case 8080:
		n = (size_t)snprintf((char *)buf, sizeof(buf),
				     "GET /%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n",
				     prng_chance(r, 0.5) ? "" : "index.html", host);
		t = send_buf(f, TCPF_C, t, buf, n, TCPF_NOACK);
		n = (size_t)snprintf((char *)buf, sizeof(buf),
				     "HTTP/1.1 %s\r\nServer: lighttpd\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
				     prng_chance(r, 0.5) ? "200 OK" : "404 Not Found");
		return send_buf(f, TCPF_S, t + span(r, 1 * MS, 20 * MS), buf, n, TCPF_NOACK);
	case 23:
	case 2323: {
		/* IAC DO TERMINAL-TYPE, IAC WILL ECHO, then the prompt */
		static const uint8_t hello[] = {0xff, 0xfd, 0x18, 0xff, 0xfb, 0x01, '\r', '\n', 'l', 'o', 'g', 'i',
						'n', ':', ' '};
		static const uint8_t user[] = {'a', 'd', 'm', 'i', 'n', '\r', '\n'};
		static const uint8_t pass[] = {'P', 'a', 's', 's', 'w', 'o', 'r', 'd', ':', ' '};

		t = send_buf(f, TCPF_S, t + span(r, 1 * MS, 10 * MS), hello, sizeof(hello), TCPF_NOACK);
		t = send_buf(f, TCPF_C, t + span(r, 5 * MS, 50 * MS), user, sizeof(user), TCPF_NOACK);
		return send_buf(f, TCPF_S, t + span(r, 1 * MS, 10 * MS), pass, sizeof(pass), TCPF_NOACK);
	}
	case 1883: {
		/* CONNECT, MQTT 3.1.1, clean session, keep-alive 60 s; CONNACK accepted */
		static const uint8_t connack[] = {0x20, 0x02, 0x00, 0x00};
		size_t id = (size_t)span(r, 8, 23);

		n = 0;
		buf[n++] = 0x10;
		buf[n++] = (uint8_t)(12 + id);
		memcpy(buf + n, "\x00\x04MQTT\x04\x02\x00\x3c", 10);
		n += 10;
		buf[n++] = 0;
		buf[n++] = (uint8_t)id;
		for (size_t i = 0; i < id; i++)
			buf[n++] = (uint8_t)"0123456789abcdef"[prng_below(r, 16)];
		t = send_buf(f, TCPF_C, t, buf, n, TCPF_NOACK);
		return send_buf(f, TCPF_S, t + span(r, 1 * MS, 20 * MS), connack, sizeof(connack), TCPF_NOACK);
	}
	default:
		n = (size_t)span(r, 16, 200);
		prng_fill(r, buf, n);
		t = send_buf(f, TCPF_C, t, buf, n, TCPF_NOACK);
		n = (size_t)span(r, 16, 300);
		prng_fill(r, buf, n);
		return send_buf(f, TCPF_S, t + span(r, 1 * MS, 20 * MS), buf, n, TCPF_NOACK);
	}
}

/* A short TCP conversation between two filled ends: refused now and then,
 * else handshake, exchange, and a FIN or an RST from the client. */
static void tcp_contact(struct storm *st, struct prng *r, struct tcpf *f, uint64_t t, const char *host,
			bool host_is_name, double refuse_p)
{
	tcpf_init(f, st->sim, r);
	if (prng_chance(r, refuse_p)) {
		tcpf_refused(f, t);
		return;
	}
	t = tcpf_open(f, t);
	t = exchange(f, r, t, f->e[TCPF_S].ep.port, host, host_is_name);
	t += span(r, 1 * MS, 200 * MS);
	if (prng_chance(r, 0.3))
		tcpf_close(f, TCPF_C, t);
	else
		tcpf_reset(f, TCPF_C, t);
}

/* A few datagrams out, maybe one back. */
static void udp_contact(struct storm *st, struct sdev *d, uint64_t t, struct ep *far)
{
	uint8_t buf[256];
	struct ep dev;
	int n = (int)span(&d->rng, 1, 3);

	dev_end(d, &dev, 0);
	dev.ipid = d->udp_ipid;
	for (int i = 0; i < n; i++) {
		size_t len = (size_t)span(&d->rng, 20, 200);

		prng_fill(&d->rng, buf, len);
		ep_udp(st->sim, t, &dev, far, NULL, buf, len);
		t += span(&d->rng, 5 * MS, 300 * MS);
	}
	d->udp_ipid = dev.ipid;
	if (prng_chance(&d->rng, 0.6)) {
		size_t len = (size_t)span(&d->rng, 20, 200);

		prng_fill(&d->rng, buf, len);
		ep_udp(st->sim, t + ep_rtt(far, &d->rng), far, &dev, NULL, buf, len);
	}
}

/* A public address never seen, sometimes named first (unexpected_destination). */
static void new_public(struct storm *st, struct sdev *d, uint64_t t)
{
	struct prng *r = &d->rng;
	char name[AS_NAMELEN];
	uint8_t ip[4];
	struct tcpf f;
	uint16_t port = pick_port(r, pub_ports, NPORTS(pub_ports));
	uint8_t ttl = (uint8_t)span(r, 40, 58);
	uint32_t rtt = (uint32_t)span(r, 10 * MS, 250 * MS);

	addr_public4(r, ip);
	random_name(r, name, sizeof(name), 5, 14, false);
	if (prng_chance(r, 0.35)) {
		t = dns(st, d, t, name, (const uint8_t(*)[4])ip, 1, 300);
		t += span(r, 1 * MS, 20 * MS);
	}
	memset(&f, 0, sizeof(f));
	far_end(st, &f.e[TCPF_S].ep, ip, port, ttl, rtt);
	if (prng_chance(r, 0.15)) {
		udp_contact(st, d, t, &f.e[TCPF_S].ep);
		return;
	}
	dev_end(d, &f.e[TCPF_C].ep, 0);
	tcp_contact(st, r, &f, t, name, true, 0.1);
}

/* Its own cloud host on a port it never used (new_port). */
static void cloud_port(struct storm *st, struct sdev *d, uint64_t t)
{
	struct prng *r = &d->rng;
	int k = (int)prng_below(r, (uint64_t)d->ncloud);
	struct remote rm;
	uint8_t ip[4];
	struct tcpf f;

	t = resolve(st, d, t, k, ip, &rm);
	memset(&f, 0, sizeof(f));
	dev_end(d, &f.e[TCPF_C].ep, 0);
	far_end(st, &f.e[TCPF_S].ep, ip, pick_port(r, cloud_ports, NPORTS(cloud_ports)), rm.hop_ttl, rm.rtt_us);
	tcp_contact(st, r, &f, t, d->v->cloud[k], true, 0.15);
}

/* Another device's service on the LAN (new_lan_peer; new_inbound_service
 * for the other one when it answers). */
static void lan_peer(struct storm *st, struct sdev *d, uint64_t t)
{
	struct prng *r = &d->rng;
	struct sdev *o = &st->dev[prng_below(r, AS_NDEV)];
	char host[16];
	struct tcpf f;
	uint16_t port;
	uint32_t rtt;

	if (o == d)
		o = &st->dev[(size_t)(d - st->dev + 1) % AS_NDEV];
	snprintf(host, sizeof(host), "%u.%u.%u.%u", o->ip[0], o->ip[1], o->ip[2], o->ip[3]);
	memset(&f, 0, sizeof(f));
	dev_end(d, &f.e[TCPF_C].ep, 0);
	port = pick_port(r, lan_ports, NPORTS(lan_ports));
	rtt = (uint32_t)span(r, 1 * MS, 6 * MS);
	ep_v4(&f.e[TCPF_S].ep, o->mac, o->ip, port, o->ttl, rtt);
	f.e[TCPF_S].ep.pad = true;
	tcp_contact(st, r, &f, t, host, false, 0.15);
}

/* An internet host connects in and d answers (new_inbound_service). */
static void inbound(struct storm *st, struct sdev *d, uint64_t t)
{
	struct prng *r = &d->rng;
	char host[16];
	uint8_t ip[4], ttl;
	uint16_t sport;
	uint32_t rtt;
	struct tcpf f;

	addr_public4(r, ip);
	sport = (uint16_t)span(r, 1024, 65000);
	ttl = (uint8_t)span(r, 40, 58);
	rtt = (uint32_t)span(r, 20 * MS, 250 * MS);
	snprintf(host, sizeof(host), "%u.%u.%u.%u", st->wan_ip[0], st->wan_ip[1], st->wan_ip[2], st->wan_ip[3]);
	memset(&f, 0, sizeof(f));
	far_end(st, &f.e[TCPF_C].ep, ip, sport, ttl, rtt);
	dev_end(d, &f.e[TCPF_S].ep, pick_port(r, in_ports, NPORTS(in_ports)));
	tcp_contact(st, r, &f, t, host, false, 0);
}

static void novel(struct sim *s, void *arg)
{
	struct sdev *d = arg;
	uint64_t now = sim_now(s), w = prng_below(&d->rng, 100);

	if (w < 40)
		new_public(d->st, d, now);
	else if (w < 60)
		cloud_port(d->st, d, now);
	else if (w < 85)
		lan_peer(d->st, d, now);
	else
		inbound(d->st, d, now);
	sim_at(s, now + prng_jitter(&d->rng, d->pace, 0.5), novel, d);
}

/* Mirai-like: raw SYNs, no options, the target address as sequence number,
 * to random hosts on telnet ports within a few seconds; a few refuse. */
static void scan(struct sim *s, void *arg)
{
	struct sdev *d = arg;
	struct storm *st = d->st;
	struct prng *r = &d->rng;
	uint8_t frame[PKT_MAX], dst[4];
	uint64_t t = sim_now(s);

	for (int i = 0; i < AS_SCAN_SYNS; i++) {
		/* Initialisers are evaluated in no set order: draws go one per statement. */
		struct pkt_l3 l3 = {.smac = d->mac, .dmac = st->gw_mac, .sip = d->ip, .dip = dst, .ttl = d->ttl};
		struct pkt_tcph h = {.flags = PKT_SYN};
		size_t n;

		l3.ipid = (uint16_t)prng_u32(r);
		h.sport = (uint16_t)span(r, 1024, 65535);
		h.dport = prng_chance(r, 0.9) ? 23 : 2323;
		h.win = (uint16_t)prng_u32(r);
		addr_public4(r, dst);
		h.seq = (uint32_t)dst[0] << 24 | (uint32_t)dst[1] << 16 | (uint32_t)dst[2] << 8 | dst[3];
		n = pkt_tcp(frame, &l3, &h, NULL, 0);
		if (!n) {
			sim_fail(s, -EINVAL);
			return;
		}
		sim_emit(s, t, frame, pkt_pad(frame, n, PKT_ETH_MIN));
		if (prng_chance(r, 0.15)) {
			struct pkt_l3 b = {.smac = st->gw_mac, .dmac = d->mac, .sip = dst, .dip = d->ip};
			struct pkt_tcph rst = {.sport = h.dport, .dport = h.sport, .ack = h.seq + 1,
					       .flags = PKT_RST | PKT_ACK};

			b.ttl = (uint8_t)span(r, 40, 58);
			b.ipid = (uint16_t)prng_u32(r);
			n = pkt_tcp(frame, &b, &rst, NULL, 0);
			if (n)
				sim_emit(s, t + span(r, 10 * MS, 250 * MS), frame, pkt_pad(frame, n, PKT_ETH_MIN));
		}
		t += span(r, 5 * MS, 30 * MS);
	}
	sim_at(s, sim_now(s) + span(r, 60 * MIN, 75 * MIN), scan, d);
}

/* Lookups of long random names, all NXDOMAIN: a DGA looking for its server. */
static void dga(struct sim *s, void *arg)
{
	struct sdev *d = arg;
	char name[AS_NAMELEN];
	uint64_t t = sim_now(s);
	int n = AS_DGA_QUERIES + (int)prng_below(&d->rng, 6);

	for (int i = 0; i < n; i++) {
		random_name(&d->rng, name, sizeof(name), 32, 40, true);
		dns(d->st, d, t, name, NULL, 0, 0);
		t += span(&d->rng, 50 * MS, 250 * MS);
	}
	sim_at(s, sim_now(s) + span(&d->rng, 60 * MIN, 75 * MIN), dga, d);
}

static void setup(struct storm *st, uint64_t seed)
{
	struct prng r;

	st->seed = seed;
	prng_seed(&r, seed, prng_hash("alertstorm"));
	memcpy(st->gw_mac, (const uint8_t[]){0xac, 0x84, 0xc6, 0, 0, 0}, 6); /* TP-Link */
	prng_fill(&r, st->gw_mac + 3, 3);
	memcpy(st->gw_ip, (const uint8_t[]){192, 168, 0, 1}, 4);
	addr_public4(&r, st->wan_ip);
	for (int i = 0; i < AS_NDEV; i++) {
		struct sdev *d = &st->dev[i];
		uint64_t t0;

		d->st = st;
		prng_seed(&d->rng, seed, 0x73746f726dULL + (uint64_t)i);
		d->v = &vendors[prng_below(&d->rng, NVENDORS)];
		memcpy(d->mac, d->v->oui, 3);
		prng_fill(&d->rng, d->mac + 3, 3);
		/* 100 a /24 from 192.168.1.0, two slots each: spread over the /16. */
		d->ip[0] = 192;
		d->ip[1] = 168;
		d->ip[2] = (uint8_t)(1 + i / 100);
		d->ip[3] = (uint8_t)(10 + (i % 100) * 2 + (int)prng_below(&d->rng, 2));
		d->ttl = d->v->ttl;
		d->udp_ipid = (uint16_t)prng_u32(&d->rng);
		d->ncloud = prng_chance(&d->rng, 0.5) ? 2 : 1;
		d->period = span(&d->rng, 20 * SEC, 40 * SEC);
		d->pace = span(&d->rng, 8 * SEC, 20 * SEC);
		t0 = AS_START_US + span(&d->rng, 0, 20 * SEC);
		d->next_ntp = t0 + span(&d->rng, 1 * SEC, 10 * SEC);
		d->novel_from = t0 + AS_LEARN_US + span(&d->rng, 20 * SEC, 60 * SEC);
		sim_at(st->sim, t0, routine, d);
		sim_at(st->sim, d->novel_from, novel, d);
		sim_at(st->sim, d->novel_from + span(&d->rng, 0, 25 * MIN), scan, d);
		sim_at(st->sim, d->novel_from + span(&d->rng, 0, 25 * MIN), dga, d);
	}
}

int gen_alertstorm_main(int argc, char **argv)
{
	struct cli_bulk b;
	struct storm *st;
	struct pw *w = NULL;
	int rc, err;

	rc = cli_parse_bulk(argc, argv, "alertstorm", usage, UINT64_C(1) << 32, &b);
	if (rc >= 0)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return cli_runtime_error("alertstorm", "out of memory");
	err = pw_open(&w, b.out);
	if (err) {
		free(st);
		return cli_runtime_error("alertstorm", "%s: %s", b.out, strerror(-err));
	}
	err = sim_new(&st->sim, w, UINT64_MAX, b.packets);
	if (!err) {
		setup(st, b.seed);
		err = sim_run(st->sim);
	}
	rc = pw_close(w);
	if (!err)
		err = rc;
	sim_free(st->sim);
	free(st);
	if (err)
		return cli_runtime_error("alertstorm", "writing %s: %s", b.out, strerror(-err));
	return CLI_OK;
}
