/*
 * synflood — 64-byte SYNs (Ethernet + IPv4 + TCP with an MSS option, padded
 * to 64 bytes) from random public sources and ports toward 192.168.1.50:80,
 * arriving through the router at about a million per second. The victim
 * does not answer (it is saturated). Two real LAN devices keep going
 * underneath: a camera streaming to its cloud over TLS and a plug with its
 * DNS, NTP and heartbeat, about 0.1 % of the packets.
 *
 * Runs on the event engine so both are merged in time order and streamed
 * out; the flood task emits a batch of SYNs per run.
 */
#include "pcaps/gen/synflood.h"

#include <string.h>

#include "pcaps/gen/addr.h"
#include "pcaps/gen/cli.h"
#include "pcaps/gen/homenet.h"
#include "pcaps/gen/pcapw.h"
#include "pcaps/gen/pkt.h"
#include "pcaps/gen/sim.h"

#define MS 1000ULL
#define SEC 1000000ULL
#define SF_BATCH 2048
#define SF_FRAME 64
#define SF_START_US 1772460000000000ULL /* 2026-03-02T14:00:00Z */

static const char usage[] =
	"usage: iotgen synflood --seed N --packets P -o OUT.pcap\n"
	"  Exactly P records: 64-byte TCP SYNs from random public sources toward\n"
	"  192.168.1.50:80 at ~1 M packets/s, plus ~0.1 % normal traffic from two\n"
	"  LAN devices (a camera streaming to its cloud, a smart plug).\n";

struct flood {
	struct sim *sim;
	struct prng rng;
	const uint8_t *router_mac;
	uint8_t victim_mac[6];
	uint8_t victim_ip[4];
};

struct trickle {
	struct hn *net;
	struct hn_dev *d;
	struct hn_tls c;
	int what; /* 0 camera stream, 1 plug heartbeat */
	uint32_t n;
};

static void flood_run(struct sim *s, void *arg)
{
	static const uint16_t wins[] = {512, 1024, 5840, 14600, 29200, 64240, 65535};
	struct flood *f = arg;
	uint8_t frame[PKT_MAX], src[4], opt[4] = {2, 4, 0x05, 0xb4};
	uint64_t t = sim_now(s);

	for (int i = 0; i < SF_BATCH; i++) {
		struct prng *r = &f->rng;
		uint64_t v = prng_u64(r);
		struct pkt_l3 l3 = {.smac = f->router_mac, .dmac = f->victim_mac, .sip = src,
				    .dip = f->victim_ip, .ttl = (uint8_t)(40 + (v & 0xbf)),
				    .ipid = (uint16_t)(v >> 8)};
		struct pkt_tcph h = {.sport = (uint16_t)(1024 + (v >> 24) % 64512), .dport = 80,
				     .seq = (uint32_t)(v >> 32), .flags = PKT_SYN,
				     .win = wins[(v >> 40) % (sizeof(wins) / sizeof(wins[0]))],
				     .opt = opt, .optlen = sizeof(opt)};
		size_t len;

		addr_public4(r, src);
		len = pkt_pad(frame, pkt_tcp(frame, &l3, &h, NULL, 0), SF_FRAME);
		sim_emit(s, t, frame, len);
		/* ~1 Mpps: 0, 1 or 2 us apart at microsecond resolution. */
		t += prng_below(r, 3);
	}
	if (!sim_done(s))
		sim_at(s, t, flood_run, f);
}

static void trickle_run(struct sim *s, void *arg)
{
	struct trickle *k = arg;
	struct prng *r = &k->d->rng;
	uint64_t now = sim_now(s), next;

	if (k->what == 0) {
		/* Live view pushed to the cloud: ~4 Mbit/s in 150 KiB pieces. */
		if (!k->c.open) {
			struct hn_tls_opts o = {.name = "stream-eu.hik-connect.com", .port = 443,
						.up_bps = 8000000};

			hn_tls_open(k->net, k->d, &k->c, now, &o);
		}
		next = hn_tls_rr(&k->c, now, 150 * 1024, 0, 0);
		next = next > now + 300 * MS ? next : now + 300 * MS;
	} else {
		struct hn_tls_opts o = {.name = "m2.tuyaeu.com", .port = 8883};

		if (k->n++ % 20 == 0)
			hn_ntp(k->net, k->d, now, "1.pool.ntp.org");
		if (!k->c.open)
			hn_tls_open(k->net, k->d, &k->c, now + 5 * MS, &o);
		size_t up = prng_range(r, 60, 110);

		hn_tls_rr(&k->c, now + 10 * MS, up, prng_range(r, 40, 90), 20 * MS);
		next = now + prng_jitter(r, 2 * SEC, 0.1);
	}
	sim_at(s, next, trickle_run, k);
}

static void setup_dev(struct hn *n, struct hn_dev *d, const char *kind, const uint8_t oui[3],
		      uint8_t host, uint8_t ttl, uint64_t seed)
{
	memset(d, 0, sizeof(*d));
	prng_seed(&d->rng, seed, prng_hash(kind));
	d->kind = kind;
	d->hostname = kind;
	d->vendor_class = "udhcp 1.24.2";
	memcpy(d->mac, oui, 3);
	prng_fill(&d->rng, d->mac + 3, 3);
	d->ip4[0] = 192, d->ip4[1] = 168, d->ip4[2] = 1, d->ip4[3] = host;
	d->ip_ttl = ttl;
	d->lan_rtt_us = 500;
	d->up = true;
	hn_dev_addrs(n, d);
}

int gen_synflood_main(int argc, char **argv)
{
	static const uint8_t cam_oui[3] = {0xc0, 0x56, 0xe3}, plug_oui[3] = {0xd8, 0x1f, 0x12};
	static const uint8_t nas_oui[3] = {0x00, 0x11, 0x32}; /* Synology: the victim */
	struct cli_bulk b;
	struct flood f;
	struct trickle k[2];
	struct hn net;
	struct sim *s = NULL;
	struct pw *w = NULL;
	int rc, err;

	rc = cli_parse_bulk(argc, argv, "synflood", usage, UINT64_C(1) << 32, &b);
	if (rc >= 0)
		return rc;
	err = pw_open(&w, b.out);
	if (err)
		return cli_runtime_error("synflood", "%s: %s", b.out, strerror(-err));
	err = sim_new(&s, w, UINT64_MAX, b.packets);
	if (err) {
		pw_close(w);
		return cli_runtime_error("synflood", "setup: %s", strerror(-err));
	}
	hn_init(&net, s, b.seed, SF_START_US, UINT64_MAX);
	setup_dev(&net, &net.dev[0], "camera", cam_oui, 23, 64, b.seed);
	setup_dev(&net, &net.dev[1], "plug", plug_oui, 31, 255, b.seed);
	net.ndev = 2;
	memset(&f, 0, sizeof(f));
	f.sim = s;
	prng_seed(&f.rng, b.seed, prng_hash("synflood"));
	f.router_mac = net.gw_mac;
	memcpy(f.victim_mac, nas_oui, 3);
	prng_fill(&f.rng, f.victim_mac + 3, 3);
	f.victim_ip[0] = 192, f.victim_ip[1] = 168, f.victim_ip[2] = 1, f.victim_ip[3] = 50;
	for (int i = 0; i < 2; i++) {
		memset(&k[i], 0, sizeof(k[i]));
		k[i].net = &net;
		k[i].d = &net.dev[i];
		k[i].what = i;
		/* The flood is already on when the capture starts. */
		sim_at(s, SF_START_US + 3 * MS + (uint64_t)i * 8 * MS, trickle_run, &k[i]);
	}
	sim_at(s, SF_START_US, flood_run, &f);
	err = sim_run(s);
	rc = pw_close(w);
	if (!err)
		err = rc;
	sim_free(s);
	hn_free(&net);
	if (err)
		return cli_runtime_error("synflood", "writing %s: %s", b.out, strerror(-err));
	return CLI_OK;
}
