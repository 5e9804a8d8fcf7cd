/*
 * bulkupload — a benchmark capture of the workload a flow-summarising
 * capture source (the eBPF one) is for: security cameras uploading video
 * to their cloud, seen on the router's LAN bridge. Nearly every packet
 * belongs to a few long TLS flows of full-size segments and their ACKs,
 * which such a source counts in the kernel after the first packets of a
 * flow, where libpcap copies every one to user space.
 *
 * Each camera (a camera vendor's OUI, an address from the router's DHCP
 * pool in 192.168.1.0/24) comes up: DHCP, NTP, then it resolves its upload
 * host through the router (query and answer via 192.168.1.1) and opens a
 * TLS connection to port 443 (a ClientHello with SNI). Its video has a
 * fixed frame rate and GOP; each frame adds its bytes to the socket's
 * queue: an I-frame is BU_I_FACTOR times a mean P-frame, P-frames are
 * log-normal around their mean, frame times are jittered by a few ms, and
 * the mean over a GOP is the --rate asked for. What is queued goes out as
 * TLS records in 1448-byte segments (1514-byte frames) paced at the
 * camera's uplink, the server ACKing every second one (66-byte frames).
 * A send waits for the previous one's last ACK, so frames written
 * meanwhile go out together, as from a real socket: I-frames make bursts
 * and the P-frames after them catch up. Every --reconnect of video (or of
 * bytes) the camera ends the upload (last chunk, the server's answer,
 * close_notify, FIN) and opens a new connection, as cameras do per video
 * segment: a new source port, DNS again once the answer's TTL (60 s) has
 * run out, a new handshake.
 *
 * Beside them a smart plug renews its lease, asks NTP the time and makes a
 * short HTTPS request to its cloud every 20-40 s: a little traffic that is
 * not the upload (DNS, NTP, short flows) for the capture source to copy.
 *
 * Built on homenet (router, DHCP, DNS, TLS over tcpflow), whose LAN holds
 * HN_MAX_DEV devices: at most BU_MAX_CAMERAS cameras beside the plug.
 * Rejected: one camera at N times the rate (a single flow exercises no
 * flow table); RTP over UDP (cloud upload is HTTPS; RTP stays on the LAN,
 * to a recorder); uploads as fast as the uplink allows, file by file (a
 * camera streams its segment while it records it, at the video's rate).
 * Record bodies are random, as encrypted video is.
 */
#include "pcaps/gen/bulkupload.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcaps/gen/cli.h"
#include "pcaps/gen/homenet.h"
#include "pcaps/gen/manifest.h"
#include "pcaps/gen/pcapw.h"
#include "pcaps/gen/sim.h"

#define MS 1000ULL
#define SEC 1000000ULL
#define MIN (60 * SEC)
#define BU_START_US 1772474400000000ULL /* 2026-03-02T18:00:00Z */
#define BU_MAX_CAMERAS (HN_MAX_DEV - 1) /* the plug takes the last slot */
#define BU_DEFAULT_PACKETS 200000
#define BU_DEFAULT_RATE 8000000          /* bit/s: 4K H.264 at 25 fps, a common default */
#define BU_DEFAULT_SEGMENT_S 30
#define BU_MIN_RATE 100000
#define BU_MAX_RATE 1000000000
#define BU_MIN_SEGMENT_BYTES 64000       /* below this a "segment" is a few frames */
#define BU_I_FACTOR 10.0                 /* I-frame / mean P-frame, a static scene's */
#define BU_P_SIGMA 0.3                   /* spread of P-frame sizes (log-normal) */
#define BU_FRAME_JITTER_US 4000          /* encoder and scheduler: a frame is late by up to this */
#define BU_UPLINK_MIN 20000000           /* the camera's pace on the wire: at least a home uplink */

static const char usage[] =
	"usage: iotgen bulkupload --seed N -o OUT.pcap [--packets P] [--devices D] [--rate BPS]\n"
	"                         [--reconnect DUR|SIZE] [--manifest OUT.json]\n"
	"  Exactly P records (default 200000) of security cameras uploading video to\n"
	"  their cloud, seen on the router's LAN bridge: DHCP, NTP, DNS through\n"
	"  192.168.1.1, a TLS handshake with SNI, then 1514-byte segments up and\n"
	"  66-byte ACKs down (every second segment), I-frame bursts, a new connection\n"
	"  per video segment; beside them a smart plug's DNS, NTP and short HTTPS.\n"
	"  --devices    cameras uploading at once, 1..7 (default 1)\n"
	"  --rate       each camera's video bitrate in bit/s: 8M (default), 2500k ...\n"
	"  --reconnect  a new upload connection every DUR of video (30s, the default;\n"
	"               2m ...) or every SIZE bytes (16MB, 512KiB ...)\n"
	"  --manifest   write the ground truth (devices, addresses, names) as JSON\n"
	"  At 8M a camera makes about 1000 packets/s: the default 200000 packets are\n"
	"  a little over 3 minutes from 2026-03-02T18:00:00Z.\n"
	"  The same arguments always give the same bytes.\n";

/* A camera model: how it names itself and where it uploads. */
struct camspec {
	const char *kind, *hostname, *vendor, *vendor_class;
	uint8_t oui[3];
	uint8_t ip_ttl;
	bool tls13;
	uint32_t fps, gop;   /* frames per second; frames from one I-frame to the next */
	const char *upload;  /* the cloud host it streams segments to */
	const char *ntp;
};

static const uint8_t prl_camera[] = {1, 3, 6, 12, 15, 28, 42};
static const uint8_t prl_plug[] = {1, 3, 28, 6};

/* Vendor names as the IEEE registry spells them; cameras take these in turn. */
static const struct camspec camspecs[] = {
	{"camera", "DS-2CD2386G2-IU", "Hangzhou Hikvision Digital Technology Co.,Ltd.", "udhcp 1.24.2",
	 {0xc0, 0x56, 0xe3}, 64, false, 25, 50, "clips-eu.hik-connect.com", "0.pool.ntp.org"},
	{"camera", "IPC-HDW3849H-AS", "Zhejiang Dahua Technology Co., Ltd.", "udhcp 1.22.1",
	 {0x6c, 0x1c, 0x71}, 64, false, 25, 50, "cloud-eu.easy4ipcloud.com", "time.windows.com"},
	{"camera", "WYZE_CAKP2JFUS", "Wyze Labs Inc", "udhcp 1.30.1",
	 {0x2c, 0xaa, 0x8e}, 64, true, 20, 40, "upload.wyzecam.com", "pool.ntp.org"},
};

#define NCAMSPECS (sizeof(camspecs) / sizeof(camspecs[0]))

/* Upload and plug hosts: single AWS names with a one-minute TTL. */
static const struct hn_rspec aws60 = {HP_AWS, HC_NONE, 60, false, false, false, 0};

struct bu_args {
	uint64_t seed, packets, rate_bps, devices;
	uint64_t segment_s;      /* video per connection, or 0 ... */
	uint64_t segment_bytes;  /* ... bytes per connection */
	const char *out, *manifest;
};

struct bulk;

struct camera {
	struct bulk *b;
	struct hn_dev *d;
	const struct camspec *sp;
	struct hn_tls c;
	uint64_t frame_us;       /* nominal spacing of frames */
	uint64_t t0, frame_no, next_frame;
	double p_mean;           /* bytes of a mean P-frame */
	uint64_t pending;        /* bytes written to the socket, not yet sent */
	uint64_t conn_frames, conn_bytes;
	uint32_t up_bps;
};

struct plug {
	struct bulk *b;
	struct hn_dev *d;
	struct hn_tls c;
	uint64_t next_ntp;
	char hostname[24];
};

struct bulk {
	struct sim *sim;
	struct hn net;
	struct bu_args a;
	struct camera cam[BU_MAX_CAMERAS];
	struct plug plug;
};

static uint64_t span(struct prng *r, uint64_t lo, uint64_t hi)
{
	return prng_range(r, lo, hi);
}

/* ---- cameras ------------------------------------------------------------ */

/* The next frame's bytes: an I-frame at the start of each GOP. */
static uint64_t frame_bytes(struct camera *k)
{
	struct prng *r = &k->d->rng;
	double v;

	if (k->frame_no % k->sp->gop == 0) {
		v = (double)prng_jitter(r, (uint64_t)(k->p_mean * BU_I_FACTOR), 0.1);
	} else {
		/* The log-normal's median sits below its mean by exp(sigma^2 / 2). */
		v = prng_lognormal(r, k->p_mean / exp(BU_P_SIGMA * BU_P_SIGMA / 2), BU_P_SIGMA);
		if (v > 4 * k->p_mean)
			v = 4 * k->p_mean;
		if (v < k->p_mean / 4)
			v = k->p_mean / 4;
	}
	return (uint64_t)v;
}

/* Resolve, connect and hand-shake; the request line and headers of the
 * upload (a chunked PUT) are the first bytes queued. */
static uint64_t cam_connect(struct camera *k, uint64_t t)
{
	struct hn_tls_opts o = {.name = k->sp->upload, .spec = &aws60, .port = 443, .up_bps = k->up_bps};

	t = hn_tls_open(&k->b->net, k->d, &k->c, t, &o);
	k->pending += span(&k->d->rng, 420, 760);
	return t;
}

/* The last chunk, the server's answer, then close_notify and FIN; the
 * frames from here on are the next segment's. Returns when the camera can
 * connect again. */
static uint64_t cam_finish(struct camera *k, uint64_t t)
{
	struct prng *r = &k->d->rng;
	size_t down = (size_t)span(r, 180, 420);
	uint64_t think = span(r, 15 * MS, 90 * MS);

	t = hn_tls_rr(&k->c, t, 5, down, think); /* "0\r\n\r\n" */
	t += span(r, 1 * MS, 15 * MS);
	t = hn_tls_close(&k->c, t, TCPF_C, false);
	k->conn_frames = 0;
	k->conn_bytes = 0;
	return t + span(r, 200, 5 * MS);
}

static bool segment_over(const struct camera *k)
{
	const struct bu_args *a = &k->b->a;

	if (a->segment_bytes)
		return k->conn_bytes >= a->segment_bytes;
	return k->conn_frames >= a->segment_s * k->sp->fps;
}

/* Runs whenever the socket is free or a frame is due: queues the frames
 * encoded by now, sends what is queued, and ends the segment when its
 * video is all sent. */
static void cam_pump(struct sim *s, void *arg)
{
	struct camera *k = arg;
	uint64_t now = sim_now(s), t = now;

	while (k->next_frame <= now) {
		k->pending += frame_bytes(k);
		k->frame_no++;
		k->conn_frames++;
		k->next_frame = k->t0 + k->frame_no * k->frame_us;
		k->next_frame += prng_below(&k->d->rng, BU_FRAME_JITTER_US);
	}
	if (!k->c.open) {
		t = cam_connect(k, t);
		if (!k->c.open) { /* cannot happen with these names; never spin */
			sim_fail(s, -EHOSTUNREACH);
			return;
		}
	}
	if (k->pending) {
		t = hn_tls_rr(&k->c, t, k->pending, 0, 0);
		k->conn_bytes += k->pending;
		k->pending = 0;
	}
	if (segment_over(k))
		t = cam_finish(k, t);
	sim_at(s, t > k->next_frame ? t : k->next_frame, cam_pump, k);
}

static void cam_boot(struct sim *s, void *arg)
{
	struct camera *k = arg;
	struct prng *r = &k->d->rng;
	uint64_t t = hn_dhcp_join(&k->b->net, k->d, sim_now(s));

	t += span(r, 200 * MS, 1500 * MS);
	t = hn_ntp(&k->b->net, k->d, t, k->sp->ntp);
	k->t0 = t + span(r, 300 * MS, 2 * SEC);
	k->frame_no = 0;
	k->next_frame = k->t0;
	sim_at(s, k->t0, cam_pump, k);
}

/* ---- the plug ------------------------------------------------------------ */

static void plug_run(struct sim *s, void *arg)
{
	struct plug *p = arg;
	struct prng *r = &p->d->rng;
	struct hn_tls_opts o = {.name = "a2.tuyaeu.com", .spec = &aws60, .port = 443};
	uint64_t now = sim_now(s), t = now;
	size_t up, down;
	uint64_t think;

	if (now >= p->next_ntp) {
		t = hn_ntp(&p->b->net, p->d, t, "1.pool.ntp.org");
		t += span(r, 50 * MS, 400 * MS);
		p->next_ntp = now + prng_jitter(r, 10 * MIN, 0.2);
	}
	t = hn_tls_open(&p->b->net, p->d, &p->c, t, &o);
	up = (size_t)span(r, 150, 600);
	down = (size_t)span(r, 200, 1500);
	think = span(r, 20 * MS, 120 * MS);
	t = hn_tls_rr(&p->c, t, up, down, think);
	t += span(r, 5 * MS, 200 * MS);
	hn_tls_close(&p->c, t, TCPF_C, false);
	sim_at(s, now + prng_jitter(r, 30 * SEC, 0.33), plug_run, p);
}

static void plug_boot(struct sim *s, void *arg)
{
	struct plug *p = arg;
	uint64_t t = hn_dhcp_renew(&p->b->net, p->d, sim_now(s));

	sim_at(s, t + span(&p->d->rng, 100 * MS, 800 * MS), plug_run, p);
}

/* ---- setup ----------------------------------------------------------------- */

static void setup_dev(struct hn *n, struct hn_dev *d, const char *kind, const char *hostname, const char *vendor,
		      const char *vendor_class, const uint8_t oui[3], const uint8_t *prl, size_t nprl, uint64_t seed,
		      uint64_t stream)
{
	memset(d, 0, sizeof(*d));
	prng_seed(&d->rng, seed, stream);
	d->kind = kind;
	d->hostname = hostname;
	d->vendor = vendor;
	d->vendor_class = vendor_class;
	d->prl = prl;
	d->nprl = nprl;
	memcpy(d->mac, oui, 3);
	prng_fill(&d->rng, d->mac + 3, 3);
	d->lan_rtt_us = (uint32_t)span(&d->rng, 250, 900);
	d->udp_ipid = (uint16_t)prng_u32(&d->rng);
	d->ip4[0] = 192, d->ip4[1] = 168, d->ip4[2] = 1;
	hn_dev_addrs(n, d);
}

static void setup(struct bulk *b)
{
	static const uint8_t tuya_oui[3] = {0xd8, 0x1f, 0x12};
	struct hn *n = &b->net;
	struct plug *p = &b->plug;
	uint64_t boot = BU_START_US + 100 * MS;

	for (uint64_t i = 0; i < b->a.devices; i++) {
		struct camera *k = &b->cam[i];
		const struct camspec *sp = &camspecs[i % NCAMSPECS];
		struct hn_dev *d = &n->dev[n->ndev++];
		uint64_t gop_bytes, rate;

		setup_dev(n, d, sp->kind, sp->hostname, sp->vendor, sp->vendor_class, sp->oui, prl_camera,
			  sizeof(prl_camera), b->a.seed, prng_hash("camera") + i);
		/* The router's pool is .100-.199: ten addresses per camera from .120. */
		d->ip4[3] = (uint8_t)(120 + 10 * i + prng_below(&d->rng, 10));
		d->ip_ttl = sp->ip_ttl;
		d->tls13 = sp->tls13;
		k->b = b;
		k->d = d;
		k->sp = sp;
		/* Encoders miss their target a little, each its own way. */
		rate = prng_jitter(&d->rng, b->a.rate_bps, 0.03);
		gop_bytes = rate / 8 * sp->gop / sp->fps;
		k->p_mean = (double)gop_bytes / ((double)sp->gop - 1 + BU_I_FACTOR);
		k->frame_us = SEC / sp->fps;
		k->up_bps = (uint32_t)(4 * rate > BU_UPLINK_MIN ? 4 * rate : BU_UPLINK_MIN);
		boot += span(&d->rng, 500 * MS, 3 * SEC);
		sim_at(b->sim, boot, cam_boot, k);
	}
	setup_dev(n, &n->dev[n->ndev], "plug", p->hostname, "Tuya Smart Inc.", "tuya_bk7231n", tuya_oui,
		  prl_plug, sizeof(prl_plug), b->a.seed, prng_hash("plug"));
	p->b = b;
	p->d = &n->dev[n->ndev++];
	/* Tuya plugs name themselves after the end of their MAC. */
	snprintf(p->hostname, sizeof(p->hostname), "SmartPlug-%02X%02X", p->d->mac[4], p->d->mac[5]);
	p->d->ip4[3] = (uint8_t)(100 + prng_below(&p->d->rng, 20));
	p->d->ip_ttl = 255; /* lwIP */
	p->d->up = true;    /* on the LAN already: it renews */
	sim_at(b->sim, BU_START_US + span(&p->d->rng, 200 * MS, 2 * SEC), plug_boot, p);
}

/* ---- command line ------------------------------------------------------------ */

/* "8M", "2500k", "12000000": bit/s, in [BU_MIN_RATE, BU_MAX_RATE]. */
static int parse_rate(const char *s, uint64_t *out)
{
	char num[24];
	size_t n = strlen(s);
	uint64_t mul = 1, v;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'k':
	case 'K':
		mul = 1000;
		break;
	case 'M':
		mul = 1000000;
		break;
	case 'G':
		mul = 1000000000;
		break;
	}
	if (mul > 1)
		num[n - 1] = '\0';
	if (cli_u64(num, 1, BU_MAX_RATE, &v) || v * mul < BU_MIN_RATE || v * mul > BU_MAX_RATE)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

/* "30s", "2m" (video per connection) or "16MB", "512KiB" (bytes). */
static int parse_reconnect(const char *s, uint64_t *secs, uint64_t *bytes)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = {{"KiB", 1024}, {"MiB", 1024 * 1024}, {"GiB", 1024 * 1024 * 1024},
		     {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000}, {"B", 1}};
	size_t n = strlen(s);

	*secs = 0;
	*bytes = 0;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t u = strlen(units[i].unit);
		char num[24];
		uint64_t v;

		if (n <= u || n - u >= sizeof(num) || strcmp(s + n - u, units[i].unit))
			continue;
		memcpy(num, s, n - u);
		num[n - u] = '\0';
		if (cli_u64(num, 1, UINT64_C(1) << 40, &v) || v * units[i].mul < BU_MIN_SEGMENT_BYTES ||
		    v * units[i].mul > UINT64_C(1) << 40)
			return -EINVAL;
		*bytes = v * units[i].mul;
		return 0;
	}
	return cli_duration(s, secs);
}

static int parse(int argc, char **argv, struct bu_args *a)
{
	enum { O_RECONNECT = 256, O_RATE, O_DEVICES };
	static const struct option opts[] = {
		{"seed", required_argument, NULL, 's'},
		{"packets", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{"devices", required_argument, NULL, O_DEVICES},
		{"rate", required_argument, NULL, O_RATE},
		{"reconnect", required_argument, NULL, O_RECONNECT},
		{"manifest", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool have_seed = false;
	int c;

	memset(a, 0, sizeof(*a));
	a->packets = BU_DEFAULT_PACKETS;
	a->rate_bps = BU_DEFAULT_RATE;
	a->devices = 1;
	a->segment_s = BU_DEFAULT_SEGMENT_S;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:p:o:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (cli_u64(optarg, 0, UINT64_MAX, &a->seed))
				return cli_usage_error("bulkupload", "bad --seed '%s' (want an unsigned integer)", optarg);
			have_seed = true;
			break;
		case 'p':
			if (cli_u64(optarg, 1, UINT64_C(1) << 32, &a->packets))
				return cli_usage_error("bulkupload", "bad --packets '%s' (want 1..%llu)", optarg,
						       (unsigned long long)(UINT64_C(1) << 32));
			break;
		case 'o':
			a->out = optarg;
			break;
		case O_DEVICES:
			if (cli_u64(optarg, 1, BU_MAX_CAMERAS, &a->devices))
				return cli_usage_error("bulkupload", "bad --devices '%s' (want 1..%d cameras)", optarg,
						       BU_MAX_CAMERAS);
			break;
		case O_RATE:
			if (parse_rate(optarg, &a->rate_bps))
				return cli_usage_error("bulkupload", "bad --rate '%s' (want bit/s from 100k to 1G, e.g. 8M)",
						       optarg);
			break;
		case O_RECONNECT:
			if (parse_reconnect(optarg, &a->segment_s, &a->segment_bytes))
				return cli_usage_error("bulkupload",
						       "bad --reconnect '%s' (want a duration, e.g. 30s, or a size of "
						       "64KB or more, e.g. 16MB)",
						       optarg);
			break;
		case 'm':
			a->manifest = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		case ':':
			return cli_usage_error("bulkupload", "option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("bulkupload", "unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("bulkupload", "unexpected argument '%s'", argv[optind]);
	if (!have_seed || !a->out)
		return cli_usage_error("bulkupload", "--seed and -o are required (see --help)");
	return -1;
}

int gen_bulkupload_main(int argc, char **argv)
{
	struct bulk *b;
	struct pw *w = NULL;
	int rc, err;

	b = calloc(1, sizeof(*b));
	if (!b)
		return cli_runtime_error("bulkupload", "out of memory");
	rc = parse(argc, argv, &b->a);
	if (rc >= 0)
		goto out;
	err = pw_open(&w, b->a.out);
	if (err) {
		rc = cli_runtime_error("bulkupload", "%s: %s", b->a.out, strerror(-err));
		goto out;
	}
	err = sim_new(&b->sim, w, UINT64_MAX, b->a.packets);
	if (!err)
		err = hn_init(&b->net, b->sim, b->a.seed, BU_START_US, UINT64_MAX);
	if (err) {
		rc = cli_runtime_error("bulkupload", "setup: %s", strerror(-err));
		goto out;
	}
	setup(b);
	err = sim_run(b->sim);
	/* The manifest's duration: up to where the packet budget ran out. */
	b->net.end = sim_now(b->sim);
	if (!err && b->a.manifest)
		err = mf_write(&b->net, b->a.manifest);
	if (err) {
		rc = cli_runtime_error("bulkupload", "generating %s: %s", b->a.out, strerror(-err));
		goto out;
	}
	rc = CLI_OK;
out:
	if (w) {
		err = pw_close(w);
		if (err && rc == CLI_OK)
			rc = cli_runtime_error("bulkupload", "writing %s: %s", b->a.out, strerror(-err));
	}
	sim_free(b->sim);
	hn_free(&b->net);
	free(b);
	return rc;
}
