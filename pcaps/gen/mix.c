/*
 * mix — about 50 devices on 192.168.0.0/16 behind one gateway, for
 * throughput benchmarks: exactly P packets, most of them in long flows
 * (streamers pulling video segments over TLS, cameras pushing to their
 * clouds, two RTP cameras feeding a LAN recorder: full 1514-byte frames and
 * their ACKs), the rest many small flows (DNS, NTP, CoAP-style UDP
 * heartbeats, short TLS sessions), several hundred thousand flows over
 * five million packets.
 *
 * Runs on the event engine, so the capture is streamed in timestamp order
 * with only in-flight packets in memory. Bulk payloads are zeros inside
 * correctly framed TLS records (cheap to make); DNS messages and
 * ClientHellos are real.
 */
#include "pcaps/gen/mix.h"

#include <stdlib.h>
#include <string.h>

#include "pcaps/gen/addr.h"
#include "pcaps/gen/appmsg.h"
#include "pcaps/gen/cli.h"
#include "pcaps/gen/dnsmsg.h"
#include "pcaps/gen/ep.h"
#include "pcaps/gen/pcapw.h"
#include "pcaps/gen/pkt.h"
#include "pcaps/gen/sim.h"
#include "pcaps/gen/tcpflow.h"
#include "pcaps/gen/tlsmsg.h"
#include "pcaps/gen/wbuf.h"

#define MS 1000ULL
#define SEC 1000000ULL
#define MIX_START_US 1772452800000000ULL /* 2026-03-02T12:00:00Z */
#define MIX_NSTREAM 8
#define MIX_NCAMUP 6
#define MIX_NRTP 2
#define MIX_NDEV 50
#define MIX_SMALL_MEAN_US 17000.0 /* new small flow per small device */

enum mkind { M_STREAM, M_CAMUP, M_RTP, M_SMALL };

struct mix;

struct mdev {
	struct mix *m;
	enum mkind kind;
	uint8_t mac[6], ip[4];
	uint8_t ttl;
	struct prng rng;
	struct tcpf f;           /* the current bulk connection */
	struct tlsm_session ss;
	bool open;
	uint32_t left;           /* transfers left on it */
	uint16_t rtp_seq, rtp_port;
	uint32_t rtp_ts, ssrc;
	uint16_t udp_ipid;
};

struct mix {
	struct sim *sim;
	uint8_t gw_mac[6], gw_ip[4], nvr_mac[6], nvr_ip[4];
	struct mdev dev[MIX_NDEV];
};

static const uint8_t ouis[][3] = {
	{0x24, 0x0a, 0xc4}, {0xd8, 0x1f, 0x12}, {0xc0, 0x56, 0xe3}, {0xf0, 0xd2, 0xf1},
	{0x3c, 0x5a, 0xb4}, {0x8c, 0x79, 0xf5}, {0x94, 0x9f, 0x3e}, {0xb8, 0xa1, 0x75},
	{0x2c, 0xaa, 0x8e}, {0x70, 0xee, 0x50}, {0x18, 0xb4, 0x30}, {0x00, 0x17, 0x88},
};

static const char *const cloud_names[] = {
	"m2.tuyaeu.com", "a2.tuyaeu.com", "api.hik-connect.com", "mqtt.netatmo.net",
	"avs-alexa-12-eu.amazon.com", "device-metrics-us-2.amazon.com", "mtalk.google.com",
	"clients4.google.com", "api.smartthings.com", "iot.us-east-1.amazonaws.com",
	"a3b4c5d6e7f8g9-ats.iot.eu-west-1.amazonaws.com", "api.wyzecam.com", "ring.com",
	"fw.netatmo.net", "time.google.com", "firmware.hik-connect.com", "api.sonos.com",
	"ws.meethue.com", "diag.meethue.com", "eu.iot.tplinkcloud.com",
};

static const char *const stream_names[] = {
	"ipv4-c012-fra002-ix.1.oca.nflxvideo.net", "rr3---sn-4g5e6nzz.googlevideo.com",
	"vod-adaptive.akamaized.net", "cdn.primevideo.com", "dssott.com",
};

static uint64_t span(struct prng *r, uint64_t lo, uint64_t hi)
{
	return prng_range(r, lo, hi);
}

static const char *pick(struct prng *r, const char *const *v, size_t n)
{
	return v[prng_below(r, n)];
}

#define PICK(r, v) pick(r, v, sizeof(v) / sizeof(v[0]))

/* The device end and a public far end of a new connection. */
static void ends(struct mix *m, struct mdev *d, struct ep *dev, struct ep *far, uint16_t port)
{
	uint8_t ip[4], ttl;
	uint16_t sport;
	uint32_t rtt;

	addr_public4(&d->rng, ip);
	sport = (uint16_t)span(&d->rng, 32768, 60999);
	ep_v4(dev, d->mac, d->ip, sport, d->ttl, (uint32_t)span(&d->rng, 200, 900));
	dev->pad = true;
	ttl = (uint8_t)span(&d->rng, 44, 58);
	rtt = (uint32_t)span(&d->rng, 8 * MS, 90 * MS);
	ep_v4(far, m->gw_mac, ip, port, ttl, rtt);
}

/* TCP + TLS handshake on d->f; returns when data can flow. */
static uint64_t tls_open(struct mix *m, struct mdev *d, uint64_t t, uint32_t up_bps, uint32_t down_bps)
{
	uint8_t buf[TLSM_MAX_FLIGHT];
	struct tlsm_hello h = {.sni = d->kind == M_STREAM ? PICK(&d->rng, stream_names)
							  : PICK(&d->rng, cloud_names),
			       .alpn = d->kind == M_STREAM ? "h2,http/1.1" : NULL,
			       .tls13 = d->kind == M_STREAM};
	struct tcpf_src src;
	size_t len;

	memset(&d->f, 0, sizeof(d->f));
	ends(m, d, &d->f.e[TCPF_C].ep, &d->f.e[TCPF_S].ep, d->kind == M_SMALL && prng_chance(&d->rng, 0.3) ? 8883 : 443);
	d->f.e[TCPF_C].rate_bps = up_bps;
	d->f.e[TCPF_S].rate_bps = down_bps;
	d->f.e[TCPF_C].rwnd = 3 << 20;
	d->f.e[TCPF_S].rwnd = 1 << 20;
	d->f.e[TCPF_C].wscale = 8;
	tcpf_init(&d->f, m->sim, &d->rng);
	t = tcpf_open(&d->f, t);
	len = tlsm_client_hello(buf, sizeof(buf), &d->rng, &h, &d->ss);
	src = tcpf_src_buf(buf, len);
	t = tcpf_send(&d->f, TCPF_C, t, &src, TCPF_NOACK);
	len = tlsm_server_flight(buf, sizeof(buf), &d->rng, &d->ss, h.alpn, (size_t)span(&d->rng, 2400, 4000));
	src = tcpf_src_buf(buf, len);
	t = tcpf_send(&d->f, TCPF_S, t + 300, &src, TCPF_NOACK);
	len = tlsm_client_finish(buf, sizeof(buf), &d->rng, &d->ss);
	src = tcpf_src_buf(buf, len);
	t = tcpf_send(&d->f, TCPF_C, t + 300, &src, TCPF_NOACK);
	len = tlsm_server_finish(buf, sizeof(buf), &d->rng, &d->ss);
	src = tcpf_src_buf(buf, len);
	return tcpf_send(&d->f, TCPF_S, t + 200, &src, 0);
}

/* Application data (zero-filled records) from `from`. */
static uint64_t tls_data(struct mdev *d, int from, uint64_t t, size_t bytes, unsigned flags)
{
	struct tlsm_stream st;
	struct tcpf_src src;

	tlsm_stream_init(&st, 0, &d->ss, bytes, 16384, true);
	src.fill = tlsm_stream_fill;
	src.ctx = &st;
	src.len = st.len;
	return tcpf_send(&d->f, from, t, &src, flags);
}

static void run(struct sim *s, void *arg);

static void bulk(struct mix *m, struct mdev *d, uint64_t now)
{
	uint64_t t = now;
	bool down = d->kind == M_STREAM;

	if (!d->open || !d->left) {
		if (d->open) {
			t = tcpf_close(&d->f, TCPF_C, t);
			t += span(&d->rng, 1 * MS, 50 * MS);
		}
		t = down ? tls_open(m, d, t, 20000000, (uint32_t)span(&d->rng, 15000000, 40000000))
			 : tls_open(m, d, t, (uint32_t)span(&d->rng, 4000000, 8000000), 50000000);
		d->open = true;
		d->left = (uint32_t)span(&d->rng, 20, 200);
	}
	if (down) { /* a segment request, then the segment */
		t = tls_data(d, TCPF_C, t, span(&d->rng, 400, 700), TCPF_NOACK);
		t += span(&d->rng, 1 * MS, 5 * MS);
		t = tls_data(d, TCPF_S, t, span(&d->rng, 512 << 10, 2 << 20), 0);
		t += span(&d->rng, 0, 100 * MS);
	} else {  /* a piece of the camera's stream */
		t = tls_data(d, TCPF_C, t, span(&d->rng, 128 << 10, 384 << 10), 0);
	}
	d->left--;
	sim_at(m->sim, t, run, d);
}

/* One second of an RTP/H.264 stream to the LAN recorder: ~25 frames, big
 * ones split over several 1200..1400-byte packets. */
static void rtp(struct mix *m, struct mdev *d, uint64_t now)
{
	uint8_t pl[1500];
	struct ep cam, nvr;
	uint64_t t = now;

	ep_v4(&cam, d->mac, d->ip, d->rtp_port, d->ttl, 500);
	ep_v4(&nvr, m->nvr_mac, m->nvr_ip, (uint16_t)(d->rtp_port + 10000), 64, 500);
	cam.pad = true;
	cam.ipid = d->udp_ipid;
	for (int fr = 0; fr < 25; fr++) {
		int npk = fr == 0 ? 40 : (int)span(&d->rng, 2, 8); /* a key frame each second */

		for (int i = 0; i < npk; i++) {
			size_t len = i + 1 < npk ? 1400 : (size_t)span(&d->rng, 200, 1400);

			memset(pl, 0, len);
			pl[0] = 0x80;
			pl[1] = (uint8_t)(96 | (i + 1 == npk ? 0x80 : 0)); /* marker on a frame's last */
			pl[2] = (uint8_t)(d->rtp_seq >> 8);
			pl[3] = (uint8_t)d->rtp_seq;
			for (int k = 0; k < 4; k++) {
				pl[4 + k] = (uint8_t)(d->rtp_ts >> (24 - 8 * k));
				pl[8 + k] = (uint8_t)(d->ssrc >> (24 - 8 * k));
			}
			pl[12] = 0x7c; /* FU-A */
			d->rtp_seq++;
			ep_udp(m->sim, t + (uint64_t)i * 150, &cam, &nvr, NULL, pl, len);
		}
		d->rtp_ts += 3600; /* 90 kHz clock, 25 fps */
		t += 40 * MS + span(&d->rng, 0, 400) - 200;
	}
	d->udp_ipid = cam.ipid;
	sim_at(m->sim, now + SEC, run, d);
}

static void small_dns(struct mix *m, struct mdev *d, uint64_t t)
{
	uint8_t msg[512], a[3][4];
	struct ep dev, gw;
	struct dnsm q;
	const char *name = PICK(&d->rng, cloud_names);
	uint16_t id = (uint16_t)prng_u32(&d->rng);
	int n = (int)span(&d->rng, 1, 3);

	ep_v4(&dev, d->mac, d->ip, (uint16_t)span(&d->rng, 32768, 60999), d->ttl, 500);
	dev.pad = true;
	dev.ipid = d->udp_ipid;
	ep_v4(&gw, m->gw_mac, m->gw_ip, 53, 64, (uint32_t)span(&d->rng, 300, 30 * MS));
	dnsm_init(&q, msg, sizeof(msg), id, DNSM_RD);
	dnsm_question(&q, name, DNSM_A, DNSM_IN);
	ep_udp(m->sim, t, &dev, &gw, NULL, msg, dnsm_finish(&q));
	d->udp_ipid = dev.ipid;
	dnsm_init(&q, msg, sizeof(msg), id, DNSM_QR | DNSM_RD | DNSM_RA);
	dnsm_question(&q, name, DNSM_A, DNSM_IN);
	for (int i = 0; i < n; i++) {
		addr_public4(&d->rng, a[i]);
		dnsm_rr(&q, DNSM_AN, name, DNSM_A, DNSM_IN, (uint32_t)span(&d->rng, 60, 3600), a[i], 4);
	}
	ep_udp(m->sim, t + ep_rtt(&gw, &d->rng), &gw, &dev, NULL, msg, dnsm_finish(&q));
}

static void small_udp(struct mix *m, struct mdev *d, uint64_t t, bool ntp)
{
	uint8_t req[APP_NTP_LEN > 64 ? APP_NTP_LEN : 64], rep[sizeof(req)];
	struct ep dev, far;
	size_t lq = APP_NTP_LEN, lr = APP_NTP_LEN;

	ends(m, d, &dev, &far, ntp ? 123 : 5683);
	dev.ipid = d->udp_ipid;
	if (ntp) {
		static const uint8_t refid[4] = {0xc0, 0x24, 0x8f, 0x82};

		app_ntp_client(req, t, 10);
		app_ntp_server(rep, req, t + far.rtt_us / 2, t + far.rtt_us / 2 + 25, 2, refid);
	} else { /* CoAP: confirmable POST /t with a reading, and its 2.04 ACK */
		struct wb q, a;

		wb_init(&q, req, sizeof(req));
		wb_u8(&q, 0x44);      /* version 1, CON, 4-byte token */
		wb_u8(&q, 0x02);      /* POST */
		wb_u16(&q, (uint16_t)prng_u32(&d->rng));
		wb_rand(&q, &d->rng, 4);
		wb_u8(&q, 0xb1);      /* Uri-Path, 1 byte */
		wb_u8(&q, 't');
		wb_u8(&q, 0xff);      /* payload marker */
		wb_rand(&q, &d->rng, span(&d->rng, 8, 40));
		lq = wb_done(&q);
		wb_init(&a, rep, sizeof(rep));
		wb_u8(&a, 0x64);      /* ACK, same token length */
		wb_u8(&a, 0x44);      /* 2.04 Changed */
		wb_bytes(&a, req + 2, 6); /* message id and token echoed */
		lr = wb_done(&a);
	}
	ep_udp(m->sim, t, &dev, &far, NULL, req, lq);
	d->udp_ipid = dev.ipid;
	ep_udp(m->sim, t + ep_rtt(&far, &d->rng), &far, &dev, NULL, rep, lr);
}

static void small_tls(struct mix *m, struct mdev *d, uint64_t t)
{
	int rounds = (int)span(&d->rng, 1, 3);

	t = tls_open(m, d, t, 10000000, 50000000);
	for (int i = 0; i < rounds; i++) {
		t = tls_data(d, TCPF_C, t, span(&d->rng, 40, 600), TCPF_NOACK);
		t += span(&d->rng, 1 * MS, 30 * MS);
		t = tls_data(d, TCPF_S, t, span(&d->rng, 30, 1200), 0);
	}
	tcpf_close(&d->f, TCPF_C, t + span(&d->rng, 1 * MS, 200 * MS));
}

static void small(struct mix *m, struct mdev *d, uint64_t now)
{
	uint64_t kind = prng_below(&d->rng, 100);

	if (kind < 40)
		small_dns(m, d, now);
	else if (kind < 55)
		small_udp(m, d, now, true);
	else if (kind < 75)
		small_udp(m, d, now, false);
	else
		small_tls(m, d, now);
	sim_at(m->sim, now + (uint64_t)prng_exp(&d->rng, MIX_SMALL_MEAN_US) + 1, run, d);
}

static void run(struct sim *s, void *arg)
{
	struct mdev *d = arg;
	uint64_t now = sim_now(s);

	switch (d->kind) {
	case M_STREAM:
	case M_CAMUP:
		bulk(d->m, d, now);
		break;
	case M_RTP:
		rtp(d->m, d, now);
		break;
	case M_SMALL:
		small(d->m, d, now);
		break;
	}
}

static const char usage[] =
	"usage: iotgen mix --seed N --packets P -o OUT.pcap\n"
	"  Exactly P records from ~50 devices on 192.168.0.0/16 behind one gateway:\n"
	"  mostly bulk (video segments over TLS, camera uploads, RTP to a LAN\n"
	"  recorder) plus many small flows (DNS, NTP, CoAP, short TLS sessions).\n"
	"  Streamed to disk; 5 M packets take seconds.\n";

static void setup(struct mix *m, uint64_t seed)
{
	struct prng r;

	prng_seed(&r, seed, prng_hash("mix"));
	memcpy(m->gw_mac, (const uint8_t[]){0xac, 0x84, 0xc6, 0, 0, 0}, 6); /* TP-Link */
	prng_fill(&r, m->gw_mac + 3, 3);
	memcpy(m->gw_ip, (const uint8_t[]){192, 168, 0, 1}, 4);
	memcpy(m->nvr_mac, (const uint8_t[]){0x00, 0x11, 0x32, 0, 0, 0}, 6); /* Synology */
	prng_fill(&r, m->nvr_mac + 3, 3);
	memcpy(m->nvr_ip, (const uint8_t[]){192, 168, 0, 10}, 4);
	for (int i = 0; i < MIX_NDEV; i++) {
		struct mdev *d = &m->dev[i];

		d->m = m;
		prng_seed(&d->rng, seed, 0x6d6978ULL + (uint64_t)i);
		d->kind = i < MIX_NSTREAM ? M_STREAM
			: i < MIX_NSTREAM + MIX_NCAMUP ? M_CAMUP
			: i < MIX_NSTREAM + MIX_NCAMUP + MIX_NRTP ? M_RTP : M_SMALL;
		memcpy(d->mac, ouis[prng_below(&d->rng, sizeof(ouis) / sizeof(ouis[0]))], 3);
		prng_fill(&d->rng, d->mac + 3, 3);
		d->ip[0] = 192;
		d->ip[1] = 168;
		d->ip[2] = (uint8_t)(1 + i % 4);
		d->ip[3] = (uint8_t)(10 + i * 4 + prng_below(&d->rng, 4));
		d->ttl = prng_chance(&d->rng, 0.3) ? 255 : 64;
		d->udp_ipid = (uint16_t)prng_u32(&d->rng);
		d->rtp_port = (uint16_t)(2 * span(&d->rng, 8000, 15000));
		d->ssrc = prng_u32(&d->rng);
		d->rtp_ts = prng_u32(&d->rng);
		d->rtp_seq = (uint16_t)prng_u32(&d->rng);
		sim_at(m->sim, MIX_START_US + span(&d->rng, 0, 200 * MS), run, d);
	}
}

int gen_mix_main(int argc, char **argv)
{
	struct cli_bulk b;
	struct mix *m;
	struct pw *w = NULL;
	int rc, err;

	rc = cli_parse_bulk(argc, argv, "mix", usage, UINT64_C(1) << 32, &b);
	if (rc >= 0)
		return rc;
	m = calloc(1, sizeof(*m));
	if (!m)
		return cli_runtime_error("mix", "out of memory");
	err = pw_open(&w, b.out);
	if (err) {
		free(m);
		return cli_runtime_error("mix", "%s: %s", b.out, strerror(-err));
	}
	err = sim_new(&m->sim, w, UINT64_MAX, b.packets);
	if (!err) {
		setup(m, b.seed);
		err = sim_run(m->sim);
	}
	rc = pw_close(w);
	if (!err)
		err = rc;
	sim_free(m->sim);
	free(m);
	if (err)
		return cli_runtime_error("mix", "writing %s: %s", b.out, strerror(-err));
	return CLI_OK;
}
