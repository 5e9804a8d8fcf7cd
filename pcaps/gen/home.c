/*
 * home — `iotgen home`: a day (or several) in a smart home, captured on the
 * router's LAN bridge.
 *
 * Each device is a set of processes (struct proc) on the event engine: boot
 * (DHCP, ARP, SLAAC), lease renewal, NTP, firmware checks and nightly
 * downloads, and what the device is for: a camera's keepalive and motion
 * clips, a plug's heartbeat, a thermostat's MQTT session, a voice
 * assistant's HTTP/2 channel and conversations, a hub's mDNS/SSDP and local
 * control of the plug, a phone's browsing, a TV's evening streaming. A
 * process runs, emits a burst of packets (whole exchanges, timed by the
 * flow models) and reschedules itself. Human-driven activity is a Poisson
 * process thinned by a diurnal curve. All randomness comes from per-device
 * streams of the seed, so a run is reproducible byte for byte.
 *
 * Sizes are tuned so the default two hours from 06:00 stay under 2 MB
 * while every kind of traffic shows up, including one firmware download
 * (the plug finds an update at boot).
 *
 * home_generate() runs the same simulation for other generators
 * (scenario.c): departures (home_var: daylight saving moves the household's
 * clock, a movie night, a device gone quiet) are tested where the
 * behaviours decide, in the same order of random draws as without them, so
 * the plain home stays byte for byte what it was. A generator may also
 * reboot a device (home_reboot, for a firmware update): its processes wait
 * for the boot, which goes through DHCP again, and reconnect.
 */
#include "pcaps/gen/home.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcaps/gen/appmsg.h"
#include "pcaps/gen/cli.h"
#include "pcaps/gen/dnsmsg.h"
#include "pcaps/gen/homenet.h"
#include "pcaps/gen/manifest.h"
#include "pcaps/gen/names.h"
#include "pcaps/gen/pcapw.h"
#include "pcaps/gen/pkt.h"
#include "pcaps/gen/sim.h"

#define MS 1000ULL
#define SEC 1000000ULL
#define MIN (60 * SEC)
#define HOUR (3600 * SEC)
#define DAY (86400 * SEC)
#define KB 1024.0

#define HOME_DEFAULT_START "2026-03-02T06:00:00Z"
#define HOME_DEFAULT_DURATION_S 7200
#define HOME_MAX_PROCS 96

enum kind { K_CAMERA, K_PLUG, K_THERMO, K_VOICE, K_HUB, K_PHONE, K_TV, K_COUNT };

enum pk {
	PK_RA, PK_BOOT, PK_RENEW, PK_RARP, PK_NTP, PK_FW,
	PK_CAM_KEEP, PK_CAM_CLIP, PK_CAM_ROUTINE, PK_PLUG_HB, PK_MQTT, PK_MQTT_PUB, PK_AVS, PK_TALK,
	PK_METRICS, PK_MDNS, PK_NOTIFY, PK_MSEARCH, PK_TUYA, PK_HUB_CLOUD, PK_HUB_ARP, PK_HUB_TV,
	PK_BROWSE, PK_FCM, PK_TV_WATCH, PK_TV_LOG, PK_UP,
};

struct devspec {
	enum kind kind;
	const char *name, *hostname, *vendor, *vendor_class;
	uint8_t oui[3];
	bool randomized, v6, tls13, arp_probe;
	uint8_t host, ip_ttl;
	const uint8_t *prl;
	size_t nprl;
	const char *ntp;
	uint32_t ntp_every_s;
	const char *fw_check, *fw_host;
	uint32_t fw_kb_lo, fw_kb_hi; /* 0: checks only */
};

static const uint8_t prl_camera[] = {1, 3, 6, 12, 15, 28, 42};
static const uint8_t prl_plug[] = {1, 3, 28, 6};
static const uint8_t prl_thermo[] = {1, 3, 6, 15, 28, 42, 119};
static const uint8_t prl_voice[] = {1, 3, 6, 15, 26, 28, 51, 58, 59, 43};
static const uint8_t prl_hub[] = {1, 121, 33, 3, 6, 12, 15, 26, 28, 42, 51, 54, 58, 59, 119};
static const uint8_t prl_phone[] = {1, 3, 6, 15, 26, 28, 51, 58, 59, 43, 114, 108};
static const uint8_t prl_tv[] = {1, 3, 6, 12, 15, 28, 42, 44};

#define PRL(a) a, sizeof(a)

/* Vendor names exactly as the IEEE OUI registry spells them. */
static const struct devspec specs[] = {
	{K_CAMERA, "camera", "DS-2CD2143G2-I", "Hangzhou Hikvision Digital Technology Co.,Ltd.",
	 "udhcp 1.24.2", {0xc0, 0x56, 0xe3}, false, false, false, false, 23, 64, PRL(prl_camera),
	 "0.pool.ntp.org", 3600, "update.hik-connect.com", "firmware.hik-connect.com", 3000, 6000},
	{K_PLUG, "plug", "SmartPlug-5B1E", "Tuya Smart Inc.", "tuya_bk7231n",
	 {0xd8, 0x1f, 0x12}, false, false, false, false, 31, 255, PRL(prl_plug),
	 "1.pool.ntp.org", 3600, "a2.tuyaeu.com", "images.tuyaeu.com", 350, 480},
	{K_THERMO, "thermostat", "Netatmo-Thermostat", "Netatmo", "Netatmo Relay",
	 {0x70, 0xee, 0x50}, false, false, false, false, 37, 255, PRL(prl_thermo),
	 "2.pool.ntp.org", 4096, "app.netatmo.net", "fw.netatmo.net", 1200, 2200},
	{K_VOICE, "voice_assistant", "amazon-6c1f9a27e", "Amazon Technologies Inc.", "android-dhcp-9",
	 {0xf0, 0xd2, 0xf1}, false, true, true, false, 44, 64, PRL(prl_voice),
	 "0.amazon.pool.ntp.org", 1024, "api.eu.amazonalexa.com", "softwareupdates.amazon.com", 4000, 8000},
	{K_HUB, "hub", "homeassistant", "Raspberry Pi Trading Ltd",
	 "dhcpcd-9.4.1:Linux-6.1.21-v8+:aarch64:BCM2835", {0xdc, 0xa6, 0x32}, false, true, true, true,
	 20, 64, PRL(prl_hub), "2.debian.pool.ntp.org", 2048, "version.home-assistant.io",
	 "os-artifacts.home-assistant.io", 5000, 9000},
	{K_PHONE, "phone", "Galaxy-S23", NULL, "android-dhcp-14", {0}, true, true, true, true,
	 57, 64, PRL(prl_phone), "2.android.pool.ntp.org", 3600, "android.clients.google.com",
	 NULL, 0, 0},
	{K_TV, "tv", "Samsung-QE55Q80", "Samsung Electronics Co.,Ltd", "udhcp 1.31.1",
	 {0x8c, 0x79, 0xf5}, false, true, true, false, 40, 64, PRL(prl_tv), "3.pool.ntp.org",
	 3600, "otn.samsungcloudsolution.com", "fw-eu.samsungotn.net", 6000, 10000},
};

#define NSPECS (sizeof(specs) / sizeof(specs[0]))

/* Cloud names whose shape matters (CDN chains, IPv6, TTLs). */
static const struct {
	const char *name;
	struct hn_rspec spec;
} cloud[] = {
	{"api.hik-connect.com", {HP_AWS, HC_ELB, 60, false, false, false, 0}},
	{"clips-eu.hik-connect.com", {HP_AWS, HC_NONE, 60, false, false, false, 0}},
	{"update.hik-connect.com", {HP_AWS, HC_NONE, 300, false, false, false, 0}},
	{"firmware.hik-connect.com", {HP_CLOUDFRONT, HC_CLOUDFRONT, 300, false, false, false, 0}},
	{"m2.tuyaeu.com", {HP_AWS, HC_ELB, 60, false, false, false, 0}},
	{"a2.tuyaeu.com", {HP_AWS, HC_ELB, 60, false, false, false, 0}},
	{"images.tuyaeu.com", {HP_CLOUDFRONT, HC_CLOUDFRONT, 300, false, false, false, 0}},
	{"mqtt.netatmo.net", {HP_AWS, HC_NONE, 300, false, false, false, 0}},
	{"app.netatmo.net", {HP_AWS, HC_ELB, 60, false, false, false, 0}},
	{"fw.netatmo.net", {HP_CLOUDFRONT, HC_CLOUDFRONT, 600, false, false, false, 0}},
	{"avs-alexa-12-eu.amazon.com", {HP_AMAZON, HC_NONE, 60, true, false, false, 0}},
	{"api.eu.amazonalexa.com", {HP_AMAZON, HC_NONE, 60, false, false, false, 0}},
	{"device-metrics-us-2.amazon.com", {HP_AMAZON, HC_NONE, 60, false, false, false, 112}},
	{"softwareupdates.amazon.com", {HP_AKAMAI, HC_AKAMAI, 300, false, false, false, 0}},
	{"version.home-assistant.io", {HP_CLOUDFLARE, HC_NONE, 300, true, false, false, 0}},
	{"alerts.home-assistant.io", {HP_CLOUDFLARE, HC_NONE, 300, true, false, false, 0}},
	{"os-artifacts.home-assistant.io", {HP_CLOUDFLARE, HC_NONE, 300, true, false, false, 0}},
	{"mtalk.google.com", {HP_GOOGLE, HC_NONE, 300, true, false, false, 0}},
	{"connectivitycheck.gstatic.com", {HP_GOOGLE, HC_NONE, 300, true, false, false, 0}},
	{"android.clients.google.com", {HP_GOOGLE, HC_NONE, 300, true, false, false, 0}},
	{"otn.samsungcloudsolution.com", {HP_AWS, HC_ELB, 600, false, false, false, 0}},
	{"fw-eu.samsungotn.net", {HP_AKAMAI, HC_AKAMAI, 300, false, false, false, 0}},
	{"log-ingestion-eu.samsungacr.com", {HP_AWS, HC_ELB, 60, false, false, false, 0}},
	{"ipv4-c012-fra002-ix.1.oca.nflxvideo.net", {HP_NETFLIX, HC_NONE, 300, false, false, false, 0}},
	{"www.netflix.com", {HP_AWS, HC_ELB, 60, false, false, false, 0}},
};

struct home;

struct proc {
	struct home *h;
	struct hn_dev *d;
	const struct devspec *spec;
	enum pk kind;
	struct hn_tls c;      /* the process's persistent connection */
	struct tcpf lan;      /* the hub's local connection to the plug */
	bool lan_open;
	uint64_t until;       /* when the persistent connection is recycled */
	uint32_t n;           /* runs so far */
	struct proc *peer;    /* the process owning a shared connection */
};

struct home {
	struct sim *sim;
	struct hn net;
	struct names names;
	struct proc procs[HOME_MAX_PROCS];
	size_t nprocs;
	struct hn_dev *dev[K_COUNT];
	const struct devspec *spec[K_COUNT];
	bool tv_on; /* the TV is showing something (not in standby) */
	struct home_var var;
	struct hn_dev *muted; /* var.mute's device */
	uint64_t down_until[K_COUNT]; /* rebooting until then (home_reboot) */
};

static struct hn *NET(struct proc *p)
{
	return &p->h->net;
}

static uint64_t span(struct prng *r, uint64_t lo, uint64_t hi)
{
	return prng_range(r, lo, hi);
}

static const struct hn_rspec *cloud_spec(const char *name)
{
	for (size_t i = 0; i < sizeof(cloud) / sizeof(cloud[0]); i++)
		if (!strcmp(cloud[i].name, name))
			return &cloud[i].spec;
	return NULL;
}

static void run(struct sim *s, void *arg);

static void go(struct proc *p, uint64_t t)
{
	sim_at(p->h->sim, t, run, p);
}

static struct proc *spawn(struct home *h, struct hn_dev *d, const struct devspec *sp, enum pk kind,
			  uint64_t t)
{
	struct proc *p;

	if (h->nprocs == HOME_MAX_PROCS) {
		sim_fail(h->sim, -ENOMEM);
		return NULL;
	}
	p = &h->procs[h->nprocs++];
	memset(p, 0, sizeof(*p));
	p->h = h;
	p->d = d;
	p->spec = sp;
	p->kind = kind;
	go(p, t);
	return p;
}

/* ---- time of day --------------------------------------------------------- */

/* The household's clock: UTC, or ahead of it once daylight saving starts
 * (home_var). Everything human follows it; timers and leases do not. */
static int64_t clock_off(const struct home *h, uint64_t t)
{
	return h->var.dst_shift_s && t >= h->var.dst_at_us ? h->var.dst_shift_s * (int64_t)SEC : 0;
}

static double hour_of(const struct home *h, uint64_t t)
{
	return (double)((uint64_t)((int64_t)t + clock_off(h, t)) / SEC % 86400) / 3600.0;
}

static double act_phone(double hr)
{
	return hr < 6 ? 0.03 : hr < 7 ? 0.15 : hr < 9 ? 0.35 : hr < 12 ? 0.25 : hr < 14 ? 0.5
	     : hr < 18 ? 0.3 : hr < 23 ? 1.0 : 0.4;
}

static double act_voice(double hr)
{
	return hr < 6 ? 0.01 : hr < 9 ? 0.3 : hr < 17 ? 0.25 : hr < 22 ? 1.0 : 0.2;
}

static double act_camera(double hr)
{
	return hr < 6 ? 0.15 : hr < 9 ? 0.25 : hr < 17 ? 0.4 : hr < 22 ? 0.7 : 0.3;
}

/* Next event of a Poisson process whose rate at peak is one per mean_s,
 * thinned by the activity curve of the hour of the day. */
static uint64_t next_event(const struct home *h, struct prng *r, uint64_t t, double mean_s,
			   double (*act)(double))
{
	for (;;) {
		t += (uint64_t)(prng_exp(r, mean_s) * (double)SEC) + 1;
		if (prng_unit(r) < act(hour_of(h, t)))
			return t;
	}
}

/* The UTC time of a household time; hint is a UTC time near it. */
static uint64_t utc_of(const struct home *h, uint64_t local, uint64_t hint)
{
	int64_t off = clock_off(h, hint);
	uint64_t t = (uint64_t)((int64_t)local - off);
	int64_t off2 = clock_off(h, t);

	return off2 == off ? t : (uint64_t)((int64_t)local - off2);
}

/* A random time of day in [lo_h, hi_h) after t (tomorrow if needed), on
 * the household's clock even when it changes in between. */
static uint64_t next_daytime(const struct home *h, struct prng *r, uint64_t t, double lo_h, double hi_h)
{
	uint64_t day = (uint64_t)((int64_t)t + clock_off(h, t)) / DAY * DAY;
	uint64_t local = day + (uint64_t)((lo_h + (hi_h - lo_h) * prng_unit(r)) * (double)HOUR);
	uint64_t at = utc_of(h, local, t);

	return at > t + HOUR ? at : utc_of(h, local + DAY, t);
}

static size_t lognorm(struct prng *r, double median, double sigma, double lo, double hi)
{
	double v = prng_lognormal(r, median, sigma);

	return (size_t)(v < lo ? lo : v > hi ? hi : v);
}

/* ---- common processes ---------------------------------------------------- */

/* A request/response exchange as ranges of request bytes, response bytes
 * and server think time. C leaves the order in which a call's arguments
 * are evaluated unspecified, so random draws are never made inside one
 * argument list: xfer_rr draws them in a fixed order, which keeps the
 * output identical whatever the compiler. */
struct xfer {
	uint64_t up_lo, up_hi, dn_lo, dn_hi, th_lo, th_hi;
};

static uint64_t xfer_rr(struct proc *p, struct hn_tls *c, uint64_t t, struct xfer x)
{
	struct prng *r = &p->d->rng;
	size_t up = span(r, x.up_lo, x.up_hi);
	size_t down = span(r, x.dn_lo, x.dn_hi);
	uint64_t think = span(r, x.th_lo, x.th_hi);

	return hn_tls_rr(c, t, up, down, think);
}

/* One HTTPS exchange on a fresh connection, then close. */
static uint64_t https_once(struct proc *p, uint64_t t, const char *name, struct xfer x, uint32_t up_bps)
{
	struct hn_tls c;
	struct hn_tls_opts o = {.name = name, .spec = cloud_spec(name), .port = 443,
				.alpn = p->d->tls13 ? "h2,http/1.1" : "http/1.1", .fail_p = 0.005,
				.up_bps = up_bps};
	uint64_t idle;

	t = hn_tls_open(NET(p), p->d, &c, t, &o);
	t = xfer_rr(p, &c, t, x);
	idle = span(&p->d->rng, 10 * MS, 2 * SEC);
	return hn_tls_close(&c, t + idle, TCPF_C, false);
}

static void do_boot(struct proc *p, uint64_t now)
{
	struct home *h = p->h;
	struct hn_dev *d = p->d;
	const struct devspec *sp = p->spec;
	uint64_t t = hn_dhcp_join(NET(p), d, now), delay;

	t = hn_arp_gw(NET(p), d, t);
	if (d->v6)
		t = hn_slaac(NET(p), d, t);
	spawn(h, d, sp, PK_RENEW, now + prng_jitter(&d->rng, HN_LEASE_S / 2 * SEC, 0.01));
	spawn(h, d, sp, PK_RARP, t + span(&d->rng, 3 * MIN, 12 * MIN));
	spawn(h, d, sp, PK_NTP, t + span(&d->rng, 200 * MS, 5 * SEC));
	spawn(h, d, sp, PK_FW, t + span(&d->rng, 40 * SEC, 4 * MIN));
	switch (sp->kind) {
	case K_CAMERA:
		spawn(h, d, sp, PK_CAM_KEEP, t + span(&d->rng, 5 * SEC, 20 * SEC));
		spawn(h, d, sp, PK_CAM_CLIP, next_event(h, &d->rng, t, 60 * 60, act_camera));
		spawn(h, d, sp, PK_CAM_ROUTINE, next_daytime(h, &d->rng, t - HOUR, 6.75, 7.85));
		break;
	case K_PLUG:
		spawn(h, d, sp, PK_PLUG_HB, t + span(&d->rng, 2 * SEC, 10 * SEC));
		break;
	case K_THERMO: {
		struct proc *m = spawn(h, d, sp, PK_MQTT, t + span(&d->rng, 3 * SEC, 15 * SEC));
		struct proc *pub = spawn(h, d, sp, PK_MQTT_PUB, t + span(&d->rng, 60 * SEC, 5 * MIN));

		if (pub)
			pub->peer = m;
		break;
	}
	case K_VOICE: {
		struct proc *avs = spawn(h, d, sp, PK_AVS, t + span(&d->rng, 2 * SEC, 8 * SEC));
		struct proc *talk = spawn(h, d, sp, PK_TALK, next_event(h, &d->rng, t + MIN, 50 * 60, act_voice));

		if (talk)
			talk->peer = avs;
		spawn(h, d, sp, PK_METRICS, t + span(&d->rng, 1 * MIN, 10 * MIN));
		break;
	}
	case K_HUB:
		spawn(h, d, sp, PK_MDNS, t + span(&d->rng, 1 * SEC, 3 * SEC));
		spawn(h, d, sp, PK_NOTIFY, t + span(&d->rng, 5 * SEC, 20 * SEC));
		spawn(h, d, sp, PK_MSEARCH, t + span(&d->rng, 20 * SEC, 60 * SEC));
		spawn(h, d, sp, PK_TUYA, t + span(&d->rng, 30 * SEC, 90 * SEC));
		spawn(h, d, sp, PK_HUB_CLOUD, t + span(&d->rng, 2 * MIN, 6 * MIN));
		spawn(h, d, sp, PK_HUB_ARP, t + span(&d->rng, 2 * MIN, 10 * MIN));
		spawn(h, d, sp, PK_HUB_TV, t + span(&d->rng, 10 * SEC, 60 * SEC));
		break;
	case K_PHONE: {
		static const char req[] =
			"GET /generate_204 HTTP/1.1\r\n"
			"User-Agent: Dalvik/2.1.0 (Linux; U; Android 14; SM-S911B Build/UP1A.231005.007)\r\n"
			"Host: connectivitycheck.gstatic.com\r\n"
			"Connection: Keep-Alive\r\n"
			"Accept-Encoding: gzip\r\n\r\n";
		static const char resp[] =
			"HTTP/1.1 204 No Content\r\n"
			"Content-Length: 0\r\n"
			"Cross-Origin-Resource-Policy: cross-origin\r\n\r\n";

		delay = span(&d->rng, 100 * MS, 600 * MS);
		hn_http(NET(p), d, t + delay, "connectivitycheck.gstatic.com",
			cloud_spec("connectivitycheck.gstatic.com"), req, resp);
		spawn(h, d, sp, PK_FCM, t + span(&d->rng, 2 * SEC, 6 * SEC));
		spawn(h, d, sp, PK_BROWSE, next_event(h, &d->rng, t + 20 * SEC, 20 * 60, act_phone));
		break;
	}
	case K_TV:
		spawn(h, d, sp, PK_NOTIFY, t + span(&d->rng, 5 * SEC, 30 * SEC));
		spawn(h, d, sp, PK_TV_LOG, t + span(&d->rng, 1 * MIN, 5 * MIN));
		spawn(h, d, sp, PK_TV_WATCH, next_daytime(h, &d->rng, t, 19.0, 21.0));
		break;
	case K_COUNT:
		break;
	}
}

static void do_fw(struct proc *p, uint64_t now)
{
	struct hn_dev *d = p->d;
	const struct devspec *sp = p->spec;
	uint64_t t = https_once(p, now, sp->fw_check, (struct xfer){300, 700, 600, 2500, 20 * MS, 150 * MS}, 0);
	/* The plug boots with an update pending; every device updates about
	 * once a night. */
	bool download = sp->fw_kb_hi && ((p->n == 0 && sp->kind == K_PLUG) ||
					 (p->n > 0 && prng_chance(&d->rng, 0.9)));

	if (download) {
		uint64_t size = span(&d->rng, sp->fw_kb_lo, sp->fw_kb_hi) * 1024;
		uint64_t pause = span(&d->rng, 500 * MS, 3 * SEC);

		https_once(p, t + pause, sp->fw_host, (struct xfer){350, 600, size, size, 10 * MS, 60 * MS}, 0);
	}
	p->n++;
	go(p, next_daytime(p->h, &d->rng, now + 5 * HOUR, 1.0, 5.0)); /* next night, not this one */
}

/* ---- device processes ---------------------------------------------------- */

/* (Re)opens p's persistent connection when it is closed or due; returns
 * when it is usable, or 0 if the attempt failed. */
static uint64_t keep_open(struct proc *p, uint64_t t, const char *name, uint16_t port, const char *alpn,
			  bool v6, uint64_t life_lo, uint64_t life_hi)
{
	struct hn_tls_opts o = {.name = name, .spec = cloud_spec(name), .port = port, .alpn = alpn,
				.prefer6 = v6, .fail_p = 0.01};
	struct prng *r = &p->d->rng;

	if (p->c.open && t < p->until)
		return t > p->c.busy ? t : p->c.busy;
	if (p->c.open) { /* recycled: the server drops idle sessions, sometimes rudely */
		int who = prng_chance(r, 0.5) ? TCPF_S : TCPF_C;
		bool rst = prng_chance(r, 0.1);

		t = hn_tls_close(&p->c, t, who, rst);
		t += span(r, 200 * MS, 3 * SEC);
	}
	t = hn_tls_open(NET(p), p->d, &p->c, t, &o);
	p->until = t + span(r, life_lo, life_hi);
	return p->c.open ? t : 0;
}

static void do_cam_keep(struct proc *p, uint64_t now)
{
	struct prng *r = &p->d->rng;
	uint64_t t = keep_open(p, now, "api.hik-connect.com", 443, NULL, false, 30 * MIN, 90 * MIN);

	if (t)
		xfer_rr(p, &p->c, t, (struct xfer){140, 220, 60, 140, 5 * MS, 30 * MS});
	go(p, now + prng_jitter(r, 60 * SEC, 0.15));
}

/* A motion clip: 6..10 s of the 640x360 sub-stream at ~384 kbit/s. */
static void upload_clip(struct proc *p, uint64_t now)
{
	struct prng *r = &p->d->rng;
	size_t clip = lognorm(r, 300 * KB, 0.3, 150 * KB, 1200 * KB);

	https_once(p, now, "clips-eu.hik-connect.com", (struct xfer){clip, clip, 300, 600, 50 * MS, 200 * MS},
		   6000000);
}

static void do_cam_clip(struct proc *p, uint64_t now)
{
	upload_clip(p, now);
	/* Motion detection re-arms only after a quiet period. */
	go(p, next_event(p->h, &p->d->rng, now + 15 * 60 * SEC, 60 * 60, act_camera));
}

/* The household leaving in the morning and coming back in the evening
 * walks past the entrance camera. */
static void do_cam_routine(struct proc *p, uint64_t now)
{
	upload_clip(p, now);
	p->n++;
	go(p, p->n % 2 ? next_daytime(p->h, &p->d->rng, now, 17.5, 19.0) : next_daytime(p->h, &p->d->rng, now, 6.75, 7.85));
}

static void do_plug_hb(struct proc *p, uint64_t now)
{
	struct prng *r = &p->d->rng;
	uint64_t t = keep_open(p, now, "m2.tuyaeu.com", 8883, NULL, false, 20 * MIN, 40 * MIN);

	if (t)
		xfer_rr(p, &p->c, t, (struct xfer){60, 110, 40, 90, 10 * MS, 40 * MS});
	go(p, now + prng_jitter(r, 60 * SEC, 0.08));
}

static void do_mqtt(struct proc *p, uint64_t now)
{
	struct prng *r = &p->d->rng;
	bool fresh = !p->c.open || now >= p->until;
	uint64_t t = keep_open(p, now, "mqtt.netatmo.net", 8883, "mqtt", false, 2 * HOUR, 6 * HOUR);

	if (t && fresh) {
		t = xfer_rr(p, &p->c, t, (struct xfer){160, 220, 4, 4, 20 * MS, 60 * MS}); /* CONNECT/CONNACK */
		xfer_rr(p, &p->c, t, (struct xfer){40, 80, 5, 5, 5 * MS, 20 * MS});      /* SUBSCRIBE/SUBACK */
	} else if (t) {
		xfer_rr(p, &p->c, t, (struct xfer){2, 2, 2, 2, 1 * MS, 10 * MS}); /* PINGREQ/PINGRESP */
	}
	go(p, now + prng_jitter(r, 30 * SEC, 0.02));
}

static void do_mqtt_pub(struct proc *p, uint64_t now)
{
	struct prng *r = &p->d->rng;
	struct hn_tls *c = &p->peer->c;

	if (c->open) {
		uint64_t t = xfer_rr(p, c, now, (struct xfer){220, 420, 4, 4, 5 * MS, 30 * MS});

		if (prng_chance(r, 0.1)) { /* a setpoint change from the app, acknowledged */
			uint64_t at = t + span(r, 1 * SEC, 20 * SEC);
			size_t len = span(r, 80, 150);

			hn_tls_rr(c, hn_tls_push(c, at, len), 4, 0, 0);
		}
	}
	go(p, now + prng_jitter(r, 300 * SEC, 0.1));
}

static void do_avs(struct proc *p, uint64_t now)
{
	struct prng *r = &p->d->rng;
	bool fresh = !p->c.open || now >= p->until;
	uint64_t t = keep_open(p, now, "avs-alexa-12-eu.amazon.com", 443, "h2", true, 1 * HOUR, 3 * HOUR);

	if (t && fresh) /* SETTINGS, the downchannel GET and its headers */
		xfer_rr(p, &p->c, t, (struct xfer){300, 500, 200, 400, 30 * MS, 90 * MS});
	else if (t)
		xfer_rr(p, &p->c, t, (struct xfer){17, 17, 17, 17, 1 * MS, 5 * MS}); /* HTTP/2 PING */
	go(p, now + prng_jitter(r, 300 * SEC, 0.05));
}

static void do_talk(struct proc *p, uint64_t now)
{
	struct prng *r = &p->d->rng;
	struct hn_tls *c = &p->peer->c;
	size_t up = lognorm(r, 100 * KB, 0.4, 50 * KB, 350 * KB), sent = 0;
	uint64_t t = now, speech = span(r, 3 * SEC, 8 * SEC);
	size_t chunks = (size_t)(speech / (100 * MS));

	if (c->open) {
		/* Audio streams up in 100 ms chunks while the user speaks. */
		for (size_t i = 0; i < chunks; i++) {
			size_t k = i + 1 == chunks ? up - sent : up / chunks;

			hn_tls_rr(c, now + i * 100 * MS, k, 0, 0);
			sent += k;
		}
		size_t answer = lognorm(r, 40 * KB, 0.5, 15 * KB, 200 * KB);

		t = xfer_rr(p, c, now + chunks * 100 * MS, (struct xfer){200, 200, answer, answer, 300 * MS, 900 * MS});
		if (prng_chance(r, 0.3)) { /* a card or a follow-up fetched from the API */
			t += span(r, 100 * MS, 1 * SEC);
			https_once(p, t, "api.eu.amazonalexa.com", (struct xfer){400, 900, 2048, 20480, 30 * MS, 120 * MS}, 0);
		}
	}
	go(p, next_event(p->h, r, now + speech + 5 * SEC, 50 * 60, act_voice));
}

static void do_metrics(struct proc *p, uint64_t now)
{
	struct prng *r = &p->d->rng;

	https_once(p, now, "device-metrics-us-2.amazon.com", (struct xfer){2048, 10240, 100, 300, 20 * MS, 80 * MS}, 0);
	go(p, now + span(r, 20 * MIN, 40 * MIN));
}

/* ---- the hub: discovery and local control -------------------------------- */

static const uint8_t mdns4[4] = {224, 0, 0, 251};
static const uint8_t mdns6[16] = {0xff, 0x02, [15] = 0xfb};
static const uint8_t ssdp4[4] = {239, 255, 255, 250};

static void mdns_send(struct proc *p, struct hn_dev *d, uint64_t t, const uint8_t *msg, size_t len)
{
	uint8_t mac[6];

	if (!len) {
		sim_fail(p->h->sim, -EINVAL);
		return;
	}
	pkt_mcast_mac(mac, false, mdns4);
	hn_dev_udp(NET(p), d, t, false, mdns4, mac, 5353, 5353, msg, len);
	if (d->v6) {
		pkt_mcast_mac(mac, true, mdns6);
		hn_dev_udp(NET(p), d, t + span(&d->rng, 50, 500), true, mdns6, mac, 5353, 5353, msg, len);
	}
}

/* TXT rdata from "key=value" strings. */
static size_t txt(uint8_t *out, size_t cap, const char *const *kv, size_t n)
{
	struct wb b;

	wb_init(&b, out, cap);
	for (size_t i = 0; i < n; i++) {
		wb_u8(&b, (uint8_t)strlen(kv[i]));
		wb_str(&b, kv[i]);
	}
	return wb_done(&b);
}

static void mdns_announce(struct proc *p, uint64_t t)
{
	static const char svc[] = "_home-assistant._tcp.local";
	static const char inst[] = "Home._home-assistant._tcp.local";
	static const char host[] = "homeassistant.local";
	static const char *const kv[] = {"location_name=Home", "uuid=6f1d2c5e8a3b4f0c9e7d1a2b3c4d5e6f",
					 "version=2026.2.3", "internal_url=http://192.168.1.20:8123",
					 "base_url=http://192.168.1.20:8123", "requires_api_password=True"};
	struct hn_dev *d = p->d;
	uint8_t msg[1024], rd[512];
	struct dnsm m;
	size_t n = txt(rd, sizeof(rd), kv, sizeof(kv) / sizeof(kv[0]));

	dnsm_init(&m, msg, sizeof(msg), 0, DNSM_QR | DNSM_AA);
	dnsm_rr_name(&m, DNSM_AN, svc, DNSM_PTR, DNSM_IN, 4500, inst);
	dnsm_rr_srv(&m, DNSM_AN, inst, DNSM_IN | DNSM_FLUSH, 120, 0, 0, 8123, host);
	dnsm_rr(&m, DNSM_AN, inst, DNSM_TXT, DNSM_IN | DNSM_FLUSH, 4500, rd, n);
	dnsm_rr(&m, DNSM_AN, host, DNSM_A, DNSM_IN | DNSM_FLUSH, 120, d->ip4, 4);
	dnsm_rr(&m, DNSM_AN, host, DNSM_AAAA, DNSM_IN | DNSM_FLUSH, 120, d->ll6, 16);
	mdns_send(p, d, t, msg, dnsm_finish(&m));
}

/* The TV answers AirPlay browsing, as Samsung TVs do. */
static void mdns_tv_answer(struct proc *p, uint64_t t)
{
	static const char svc[] = "_airplay._tcp.local";
	static const char inst[] = "[TV] Samsung Q80 Series (55)._airplay._tcp.local";
	static const char host[] = "Samsung-QE55Q80.local";
	static const char *const kv[] = {"deviceid=8C:79:F5:2A:61:0D", "features=0x7F8AD0,0x38BCB46",
					 "model=QE55Q80AATXXU", "srcvers=377.40.00", "vv=2"};
	struct hn_dev *tv = p->h->dev[K_TV];
	uint8_t msg[1024], rd[512];
	struct dnsm m;
	size_t n;

	if (!tv || !tv->up)
		return;
	n = txt(rd, sizeof(rd), kv, sizeof(kv) / sizeof(kv[0]));
	dnsm_init(&m, msg, sizeof(msg), 0, DNSM_QR | DNSM_AA);
	dnsm_rr_name(&m, DNSM_AN, svc, DNSM_PTR, DNSM_IN, 4500, inst);
	dnsm_rr_srv(&m, DNSM_AR, inst, DNSM_IN | DNSM_FLUSH, 120, 0, 0, 7000, host);
	dnsm_rr(&m, DNSM_AR, inst, DNSM_TXT, DNSM_IN | DNSM_FLUSH, 4500, rd, n);
	dnsm_rr(&m, DNSM_AR, host, DNSM_A, DNSM_IN | DNSM_FLUSH, 120, tv->ip4, 4);
	mdns_send(p, tv, t, msg, dnsm_finish(&m));
}

static void do_mdns(struct proc *p, uint64_t now)
{
	static const char *const browse[] = {"_hue._tcp.local", "_esphomelib._tcp.local",
					     "_googlecast._tcp.local", "_airplay._tcp.local",
					     "_hap._tcp.local"};
	struct prng *r = &p->d->rng;
	uint8_t msg[512];
	struct dnsm m;

	/* Three announcements at boot (RFC 6762 8.3), then browsing. */
	if (p->n < 3 || p->n % 20 == 0) {
		mdns_announce(p, now);
		p->n++;
		go(p, now + (p->n < 3 ? (uint64_t)p->n * SEC : span(r, 2 * MIN, 8 * MIN)));
		return;
	}
	dnsm_init(&m, msg, sizeof(msg), 0, 0);
	for (size_t i = 0; i < sizeof(browse) / sizeof(browse[0]); i++)
		dnsm_question(&m, browse[i], DNSM_PTR, DNSM_IN);
	mdns_send(p, p->d, now, msg, dnsm_finish(&m));
	mdns_tv_answer(p, now + span(r, 20 * MS, 120 * MS));
	p->n++;
	go(p, now + span(r, 2 * MIN, 8 * MIN));
}

static const struct app_ssdp_dev ssdp_hub = {
	"http://192.168.1.20:8123/api/ssdp/description.xml",
	"HomeAssistant/2026.2.3 UPnP/1.0 HomeAssistant/2026.2.3",
	"uuid:8f2a61c4-3b7e-4d19-a5c0-9e4b7d21f3a8",
	"urn:home-assistant.io:device:home_assistant:1",
};

static const struct app_ssdp_dev ssdp_tv = {
	"http://192.168.1.40:7678/nservice/",
	"SHP, UPnP/1.0, Samsung UPnP SDK/1.0",
	"uuid:0ee6b280-00fa-1000-b1d4-8c79f52a610d",
	"urn:samsung.com:device:RemoteControlReceiver:1",
};

static const struct app_ssdp_dev ssdp_cam = {
	"http://192.168.1.23:49152/rootDesc.xml",
	"Linux/3.0.8, UPnP/1.0, Portable SDK for UPnP devices/1.6.22",
	"uuid:a3c2f0e0-5fd1-11b2-8000-c056e3a1b2c4",
	"urn:schemas-upnp-org:device:Basic:1",
};

static const struct app_ssdp_dev *ssdp_of(enum kind k)
{
	return k == K_HUB ? &ssdp_hub : k == K_TV ? &ssdp_tv : &ssdp_cam;
}

static void do_notify(struct proc *p, uint64_t now)
{
	const struct app_ssdp_dev *sd = ssdp_of(p->spec->kind);
	const char *nts[3] = {"upnp:rootdevice", sd->uuid, sd->type};
	struct hn_dev *d = p->d;
	uint8_t mac[6];
	char msg[512];

	pkt_mcast_mac(mac, false, ssdp4);
	for (int i = 0; i < 3; i++) {
		size_t len = app_ssdp_notify(msg, sizeof(msg), sd, nts[i]);

		hn_dev_udp(NET(p), d, now + (uint64_t)i * span(&d->rng, 100, 2000), false, ssdp4, mac,
			   1900, 1900, msg, len);
	}
	go(p, now + prng_jitter(&d->rng, 15 * MIN, 0.1));
}

static void http_date(uint64_t us, char *buf, size_t len)
{
	static const char *const wd[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char iso[32];
	int y, m, dd, hh, mi, ss;

	cli_fmt_time(us, iso, sizeof(iso));
	if (sscanf(iso, "%d-%d-%dT%d:%d:%d", &y, &m, &dd, &hh, &mi, &ss) != 6 || m < 1 || m > 12) {
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 GMT");
		return;
	}
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[us / DAY % 7], dd, mon[m - 1], y, hh,
		 mi, ss);
}

static void do_msearch(struct proc *p, uint64_t now)
{
	static const enum kind answerers[] = {K_CAMERA, K_TV};
	struct hn_dev *d = p->d;
	uint16_t port = (uint16_t)span(&d->rng, 32768, 60999);
	uint8_t mac[6];
	char msg[512], date[40];
	size_t len = app_ssdp_msearch(msg, sizeof(msg), "ssdp:all", 2,
				      "Linux/6.1 UPnP/2.0 async-upnp-client/0.38.0");

	pkt_mcast_mac(mac, false, ssdp4);
	hn_dev_udp(NET(p), d, now, false, ssdp4, mac, port, 1900, msg, len);
	/* Devices answer unicast after a random delay within MX. */
	for (size_t i = 0; i < sizeof(answerers) / sizeof(answerers[0]); i++) {
		struct hn_dev *a = p->h->dev[answerers[i]];
		const struct app_ssdp_dev *sd = ssdp_of(answerers[i]);
		uint64_t t = now + span(&d->rng, 20 * MS, 1900 * MS);

		if (!a || !a->up)
			continue;
		http_date(t, date, sizeof(date));
		len = app_ssdp_reply(msg, sizeof(msg), sd, "upnp:rootdevice", date);
		hn_dev_udp(NET(p), a, t, false, d->ip4, d->mac, 1900, port, msg, len);
		len = app_ssdp_reply(msg, sizeof(msg), sd, sd->type, date);
		hn_dev_udp(NET(p), a, t + span(&d->rng, 100, 900), false, d->ip4, d->mac, 1900, port, msg, len);
	}
	go(p, now + prng_jitter(&d->rng, 5 * MIN, 0.2));
}

/* Tuya LAN protocol on 6668: the hub polls the plug's data points, and now
 * and then switches it (the plug then also reports to its cloud). */
static void do_tuya(struct proc *p, uint64_t now)
{
	struct home *h = p->h;
	struct hn_dev *hub = p->d, *plug = h->dev[K_PLUG];
	struct prng *r = &hub->rng;
	uint8_t buf[512];
	struct tcpf_src src;
	uint64_t t = now;
	size_t len;
	bool control = prng_chance(r, 0.03);

	if (!plug || !plug->up) {
		go(p, now + MIN);
		return;
	}
	if (!p->lan_open) {
		t = hn_arp_lan(NET(p), hub, plug, t);
		memset(&p->lan, 0, sizeof(p->lan));
		ep_v4(&p->lan.e[TCPF_C].ep, hub->mac, hub->ip4, (uint16_t)span(r, 32768, 60999), hub->ip_ttl,
		      hub->lan_rtt_us);
		ep_v4(&p->lan.e[TCPF_S].ep, plug->mac, plug->ip4, 6668, plug->ip_ttl, plug->lan_rtt_us);
		p->lan.e[TCPF_C].ep.pad = p->lan.e[TCPF_S].ep.pad = true;
		p->lan.e[TCPF_S].rwnd = 5840; /* a small embedded stack */
		p->lan.e[TCPF_S].wscale = 1;
		tcpf_init(&p->lan, h->sim, r);
		t = tcpf_open(&p->lan, t);
		p->lan_open = true;
	}
	len = app_tuya(buf, sizeof(buf), r, ++p->n, control ? 7 : 10, control ? 44 : 28);
	src = tcpf_src_buf(buf, len);
	t = tcpf_send(&p->lan, TCPF_C, t, &src, TCPF_NOACK);
	len = app_tuya(buf, sizeof(buf), r, p->n, control ? 7 : 10, control ? 12 : span(r, 96, 140));
	src = tcpf_src_buf(buf, len);
	t = tcpf_send(&p->lan, TCPF_S, t + span(r, 2 * MS, 15 * MS), &src, 0);
	if (control) {
		len = app_tuya(buf, sizeof(buf), r, p->n, 8, span(r, 60, 90)); /* STATUS push */
		src = tcpf_src_buf(buf, len);
		tcpf_send(&p->lan, TCPF_S, t + span(r, 20 * MS, 80 * MS), &src, 0);
	}
	go(p, now + prng_jitter(r, 60 * SEC, 0.1));
}

static void do_hub_cloud(struct proc *p, uint64_t now)
{
	struct prng *r = &p->d->rng;
	uint64_t t = https_once(p, now, "version.home-assistant.io", (struct xfer){300, 450, 1500, 3000, 20 * MS, 80 * MS}, 0);

	if (prng_chance(r, 0.5)) {
		t += span(r, 1 * SEC, 5 * SEC);
		https_once(p, t, "alerts.home-assistant.io", (struct xfer){300, 450, 3000, 9000, 20 * MS, 80 * MS}, 0);
	}
	go(p, now + span(r, 60 * MIN, 120 * MIN));
}

static void do_hub_arp(struct proc *p, uint64_t now)
{
	static const enum kind order[] = {K_PLUG, K_CAMERA, K_THERMO, K_TV, K_VOICE, K_PHONE};
	struct hn_dev *target = p->h->dev[order[p->n++ % (sizeof(order) / sizeof(order[0]))]];

	if (target && target->up)
		hn_arp_lan(NET(p), p->d, target, now);
	go(p, now + span(&p->d->rng, 8 * MIN, 15 * MIN));
}

/* The hub's TV integration checks the TV's remote-control port; a TV in
 * standby refuses the connection (RST). While the TV is on, the hub keeps
 * a websocket to it instead, which is not modelled. */
static void do_hub_tv(struct proc *p, uint64_t now)
{
	struct hn_dev *hub = p->d, *tv = p->h->dev[K_TV];
	struct tcpf f;

	if (tv && tv->up && !p->h->tv_on) {
		memset(&f, 0, sizeof(f));
		ep_v4(&f.e[TCPF_C].ep, hub->mac, hub->ip4, (uint16_t)span(&hub->rng, 32768, 60999), hub->ip_ttl,
		      hub->lan_rtt_us);
		ep_v4(&f.e[TCPF_S].ep, tv->mac, tv->ip4, 8002, tv->ip_ttl, tv->lan_rtt_us);
		f.e[TCPF_C].ep.pad = f.e[TCPF_S].ep.pad = true;
		tcpf_init(&f, p->h->sim, &hub->rng);
		tcpf_refused(&f, now);
	}
	go(p, now + prng_jitter(&hub->rng, 60 * SEC, 0.05));
}

/* ---- the phone ------------------------------------------------------------ */

/* Fetches from one site: over QUIC when it speaks HTTP/3, else TLS over
 * IPv6 when it has AAAA, else IPv4. */
static uint64_t fetch(struct proc *p, uint64_t t, const char *name, size_t down)
{
	struct hn_dev *d = p->d;
	struct prng *r = &d->rng;
	struct hn_remote *rem = hn_remote(NET(p), name, NULL);
	struct hn_answer a;
	struct hn_tls c;
	struct hn_tls_opts o = {.name = name, .port = 443, .alpn = "h2,http/1.1", .prefer6 = true,
				.fail_p = 0.01};
	int who;

	if (!rem)
		return t;
	t = hn_resolve(NET(p), d, t, rem, true, &a);
	if (!a.ok4)
		return t;
	if (rem->quic && prng_chance(r, 0.8))
		return hn_quic_fetch(NET(p), d, t, rem, &a, span(r, 300, 900), down);
	t = hn_tls_open(NET(p), d, &c, t, &o);
	t = xfer_rr(p, &c, t, (struct xfer){400, 900, down, down, 15 * MS, 150 * MS});
	/* Kept alive a while, then closed by the phone; a few servers reset. */
	t += span(r, 2 * SEC, 30 * SEC);
	who = prng_chance(r, 0.9) ? TCPF_C : TCPF_S;
	return hn_tls_close(&c, t, who, prng_chance(r, 0.03));
}

static void do_browse(struct proc *p, uint64_t now)
{
	struct home *h = p->h;
	struct prng *r = &p->d->rng;
	uint64_t t = now, day = (now - h->net.start) / DAY;
	size_t visits = 1 + (size_t)prng_exp(r, 1.5);
	char name[NAMES_MAXLEN];
	struct hn_rspec nx = {.prov = HP_HOSTING, .nx = true};
	struct hn_answer a;

	/* The browser's first start of the day probes for DNS hijacking with
	 * three random single-label names, which the router answers NXDOMAIN. */
	if (p->n != day + 1) {
		p->n = (uint32_t)day + 1;
		for (int i = 0; i < 3; i++) {
			size_t len = span(r, 7, 15);
			uint64_t at = t + (uint64_t)i * span(r, 200, 2000);

			for (size_t k = 0; k < len; k++)
				name[k] = (char)('a' + prng_below(r, 26));
			name[len] = '\0';
			hn_resolve(NET(p), p->d, at, hn_remote(NET(p), name, &nx), false, &a);
		}
		t += 3 * SEC;
	}

	for (size_t v = 0; v < visits && v < 10; v++) {
		size_t extra = (size_t)prng_below(r, 2); /* third-party hosts */

		if (prng_chance(r, 0.04)) { /* a typo or a dead link: NXDOMAIN */
			names_bogus(r, name, sizeof(name));
			hn_resolve(NET(p), p->d, t, hn_remote(NET(p), name, &nx), true, &a);
			t += span(r, 2 * SEC, 6 * SEC);
		}
		if (v == 0 && prng_chance(r, 0.5)) /* sessions often start with a search */
			snprintf(name, sizeof(name), "www.google.com");
		else
			names_site(&h->names, r, day, name, sizeof(name));
		fetch(p, t, name, lognorm(r, 16 * KB, 0.7, 3 * KB, 200 * KB));
		for (size_t i = 0; i < extra; i++) {
			uint64_t at = t + span(r, 80 * MS, 600 * MS);
			const char *tp = names_third_party(r);

			fetch(p, at, tp, lognorm(r, 6 * KB, 0.7, 1 * KB, 40 * KB));
		}
		t += span(r, 8 * SEC, 90 * SEC);
	}
	go(p, next_event(p->h, r, t, 20 * 60, act_phone));
}

static void do_fcm(struct proc *p, uint64_t now)
{
	struct prng *r = &p->d->rng;
	bool fresh = !p->c.open || now >= p->until;
	uint64_t t = keep_open(p, now, "mtalk.google.com", 5228, NULL, true, 12 * HOUR, 24 * HOUR);

	if (t && fresh) {
		xfer_rr(p, &p->c, t, (struct xfer){300, 600, 200, 400, 30 * MS, 100 * MS});
	} else if (t) {
		t = xfer_rr(p, &p->c, t, (struct xfer){20, 30, 20, 30, 5 * MS, 40 * MS});
		if (prng_chance(r, 0.4)) { /* a push notification, acknowledged */
			uint64_t at = t + span(r, 10 * SEC, 10 * MIN);
			size_t len = span(r, 300, 2000);

			t = hn_tls_push(&p->c, at, len);
			xfer_rr(p, &p->c, t, (struct xfer){25, 40, 0, 0, 0, 0});
		}
	}
	go(p, now + prng_jitter(r, 15 * MIN, 0.12));
}

/* ---- the TV --------------------------------------------------------------- */

/* An evening show: the app's API call, then video segments over one
 * keep-alive connection, one segment per run so only one is in flight. */
static void do_tv_watch(struct proc *p, uint64_t now)
{
	static const char cdn[] = "ipv4-c012-fra002-ix.1.oca.nflxvideo.net";
	struct prng *r = &p->d->rng;
	struct hn_tls_opts o = {.name = cdn, .spec = cloud_spec(cdn), .port = 443, .alpn = "http/1.1"};
	uint64_t t = now;

	const struct home_var *v = &p->h->var;
	bool more = v->tv_show_hi_s > 0 && now >= v->tv_more_at_us; /* a movie night (home_var) */
	uint64_t seg_lo = 400 * 1024, seg_hi = 1000 * 1024;

	if (!p->c.open && p->until == 0) {
		uint64_t show;

		p->h->tv_on = true;
		t = https_once(p, t, "www.netflix.com", (struct xfer){800, 1500, 20480, 61440, 40 * MS, 150 * MS}, 0);
		if (more)
			show = span(r, v->tv_show_lo_s * SEC, v->tv_show_hi_s * SEC);
		else
			show = span(r, 10 * MIN, 30 * MIN);
		p->until = t + show;
		t += span(r, 200 * MS, 1 * SEC);
		t = hn_tls_open(NET(p), p->d, &p->c, t, &o);
	}
	if (more && v->tv_richer > 0) {
		seg_lo = (uint64_t)((double)seg_lo * v->tv_richer);
		seg_hi = (uint64_t)((double)seg_hi * v->tv_richer);
	}
	if (p->c.open && t < p->until) {
		uint64_t next = t + span(r, 6 * SEC, 10 * SEC);

		t = xfer_rr(p, &p->c, t, (struct xfer){500, 700, seg_lo, seg_hi, 2 * MS, 10 * MS});
		go(p, next > t ? next : t);
		return;
	}
	hn_tls_close(&p->c, t, TCPF_C, false);
	p->until = 0;
	p->h->tv_on = false;
	go(p, next_daytime(p->h, r, now + 2 * HOUR, 19.0, 21.0));
}

static void do_tv_log(struct proc *p, uint64_t now)
{
	struct prng *r = &p->d->rng;

	https_once(p, now, "log-ingestion-eu.samsungacr.com", (struct xfer){1024, 4096, 150, 300, 20 * MS, 60 * MS}, 0);
	go(p, now + span(r, 30 * MIN, 60 * MIN));
}

/* ---- a reboot (home_reboot) ----------------------------------------------- */

/* A process of a device that is rebooting runs again once it is back:
 * timers restart at boot (the lease's T1 from the new lease), the nightly
 * update check waits for the next night, the rest starts within seconds. */
static void wait_for_boot(struct proc *p)
{
	struct prng *r = &p->d->rng;
	uint64_t up = p->h->down_until[p->spec->kind];

	switch (p->kind) {
	case PK_RENEW:
		go(p, up + prng_jitter(r, HN_LEASE_S / 2 * SEC, 0.01));
		break;
	case PK_FW:
		go(p, next_daytime(p->h, r, up + 5 * HOUR, 1.0, 5.0));
		break;
	case PK_NTP: /* do_up sets the clock */
		go(p, up + prng_jitter(r, p->spec->ntp_every_s * SEC, 0.05));
		break;
	default:
		go(p, up + span(r, 2 * SEC, 40 * SEC));
		break;
	}
}

/* Back from a reboot: the DHCP client starts over (DISCOVER asking for
 * the address it had, which the router gives back), then the gateway's
 * ARP entry, SLAAC with IPv6, and the clock, as at the first boot. */
static void do_up(struct proc *p, uint64_t now)
{
	struct hn_dev *d = p->d;
	uint64_t t = hn_dhcp_join(NET(p), d, now);

	t = hn_arp_gw(NET(p), d, t);
	if (d->v6)
		t = hn_slaac(NET(p), d, t);
	hn_ntp(NET(p), d, t + span(&d->rng, 200 * MS, 3 * SEC), p->spec->ntp);
}

static void run(struct sim *s, void *arg)
{
	struct proc *p = arg;
	uint64_t now = sim_now(s);

	if (p->d && p->d == p->h->muted && now >= p->h->var.mute_at_us) {
		p->d->up = false; /* gone quiet for good: its processes end here */
		return;
	}
	if (p->spec && now < p->h->down_until[p->spec->kind]) {
		wait_for_boot(p);
		return;
	}
	switch (p->kind) {
	case PK_RA:
		hn_ra(NET(p), now);
		go(p, now + prng_jitter(&NET(p)->rng, 600 * SEC, 0.1));
		break;
	case PK_BOOT:
		do_boot(p, now);
		break;
	case PK_RENEW:
		hn_dhcp_renew(NET(p), p->d, now);
		go(p, now + prng_jitter(&p->d->rng, HN_LEASE_S / 2 * SEC, 0.01));
		break;
	case PK_RARP:
		hn_router_arp(NET(p), p->d, now);
		go(p, now + span(&NET(p)->rng, 5 * MIN, 15 * MIN));
		break;
	case PK_NTP:
		hn_ntp(NET(p), p->d, now, p->spec->ntp);
		go(p, now + prng_jitter(&p->d->rng, p->spec->ntp_every_s * SEC, 0.05));
		break;
	case PK_FW:
		do_fw(p, now);
		break;
	case PK_CAM_KEEP:
		do_cam_keep(p, now);
		break;
	case PK_CAM_CLIP:
		do_cam_clip(p, now);
		break;
	case PK_CAM_ROUTINE:
		do_cam_routine(p, now);
		break;
	case PK_PLUG_HB:
		do_plug_hb(p, now);
		break;
	case PK_MQTT:
		do_mqtt(p, now);
		break;
	case PK_MQTT_PUB:
		do_mqtt_pub(p, now);
		break;
	case PK_AVS:
		do_avs(p, now);
		break;
	case PK_TALK:
		do_talk(p, now);
		break;
	case PK_METRICS:
		do_metrics(p, now);
		break;
	case PK_MDNS:
		do_mdns(p, now);
		break;
	case PK_NOTIFY:
		do_notify(p, now);
		break;
	case PK_MSEARCH:
		do_msearch(p, now);
		break;
	case PK_TUYA:
		do_tuya(p, now);
		break;
	case PK_HUB_CLOUD:
		do_hub_cloud(p, now);
		break;
	case PK_HUB_ARP:
		do_hub_arp(p, now);
		break;
	case PK_HUB_TV:
		do_hub_tv(p, now);
		break;
	case PK_BROWSE:
		do_browse(p, now);
		break;
	case PK_FCM:
		do_fcm(p, now);
		break;
	case PK_TV_WATCH:
		do_tv_watch(p, now);
		break;
	case PK_TV_LOG:
		do_tv_log(p, now);
		break;
	case PK_UP:
		do_up(p, now);
		break;
	}
}

/* ---- setup and command line ------------------------------------------------ */

static void setup_devices(struct home *h, uint64_t seed)
{
	struct hn *n = &h->net;

	for (size_t i = 0; i < NSPECS; i++) {
		const struct devspec *sp = &specs[i];
		struct hn_dev *d = &n->dev[n->ndev++];

		memset(d, 0, sizeof(*d));
		prng_seed(&d->rng, seed, prng_hash(sp->name));
		d->kind = sp->name;
		d->hostname = sp->hostname;
		d->vendor = sp->vendor;
		d->vendor_class = sp->vendor_class;
		d->prl = sp->prl;
		d->nprl = sp->nprl;
		d->randomized = sp->randomized;
		d->v6 = sp->v6;
		d->tls13 = sp->tls13;
		d->arp_probe = sp->arp_probe;
		d->ip_ttl = sp->ip_ttl;
		d->lan_rtt_us = (uint32_t)span(&d->rng, 250, 900);
		d->udp_ipid = (uint16_t)prng_u32(&d->rng);
		if (sp->randomized) {
			prng_fill(&d->rng, d->mac, 6);
			d->mac[0] = (uint8_t)((d->mac[0] & 0xfc) | 0x02); /* local, unicast */
		} else {
			memcpy(d->mac, sp->oui, 3);
			prng_fill(&d->rng, d->mac + 3, 3);
		}
		d->ip4[0] = 192, d->ip4[1] = 168, d->ip4[2] = 1, d->ip4[3] = sp->host;
		hn_dev_addrs(n, d);
		h->dev[sp->kind] = d;
		h->spec[sp->kind] = sp;
	}
}

static const char usage[] =
	"usage: iotgen home --seed N [--start RFC3339] [--duration DUR] -o OUT.pcap [--manifest OUT.json]\n"
	"  A smart-home LAN seen on the router's LAN bridge: camera, smart plug,\n"
	"  thermostat, voice assistant, hub, phone (randomised MAC) and TV, with\n"
	"  DHCP, ARP, IPv6 RA/SLAAC, DNS, NTP, TLS, QUIC, MQTT, mDNS and SSDP.\n"
	"  --start     first packet time, default " HOME_DEFAULT_START "\n"
	"  --duration  90s, 30m, 2h, 3d ... (default 2h)\n"
	"  --manifest  write the ground truth (devices, addresses, names) as JSON\n"
	"  The same arguments always give the same bytes.\n";

struct home_args {
	uint64_t seed, start, duration_s;
	const char *out, *manifest;
};

static int parse(int argc, char **argv, struct home_args *a)
{
	static const struct option opts[] = {
		{"seed", required_argument, NULL, 's'},
		{"start", required_argument, NULL, 't'},
		{"duration", required_argument, NULL, 'd'},
		{"output", required_argument, NULL, 'o'},
		{"manifest", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool have_seed = false;
	int c;

	memset(a, 0, sizeof(*a));
	a->duration_s = HOME_DEFAULT_DURATION_S;
	if (cli_rfc3339(HOME_DEFAULT_START, &a->start))
		return CLI_RUNTIME;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:t:d:o:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (cli_u64(optarg, 0, UINT64_MAX, &a->seed))
				return cli_usage_error("home", "bad --seed '%s' (want an unsigned integer)", optarg);
			have_seed = true;
			break;
		case 't':
			if (cli_rfc3339(optarg, &a->start))
				return cli_usage_error("home", "bad --start '%s' (want RFC 3339, e.g. %s)", optarg,
						       HOME_DEFAULT_START);
			break;
		case 'd':
			if (cli_duration(optarg, &a->duration_s))
				return cli_usage_error("home", "bad --duration '%s' (want e.g. 90s, 30m, 2h, 3d)",
						       optarg);
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'm':
			a->manifest = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		case ':':
			return cli_usage_error("home", "option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("home", "unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("home", "unexpected argument '%s'", argv[optind]);
	if (!have_seed || !a->out)
		return cli_usage_error("home", "--seed and -o are required (see --help)");
	return -1;
}

static void mute(struct sim *s, void *arg)
{
	struct home *h = arg;

	(void)s;
	h->muted->up = false;
}

int home_generate(const struct home_run *r)
{
	struct home *h = NULL;
	struct pw *w = NULL;
	uint64_t end = r->start_us + r->duration_s * SEC;
	int rc, err;

	h = calloc(1, sizeof(*h));
	if (!h)
		return cli_runtime_error(r->cmd, "out of memory");
	h->var = r->var;
	err = pw_open(&w, r->out);
	if (err) {
		rc = cli_runtime_error(r->cmd, "%s: %s", r->out, strerror(-err));
		goto out;
	}
	err = sim_new(&h->sim, w, end, 0);
	if (!err)
		err = hn_init(&h->net, h->sim, r->seed, r->start_us, end);
	if (!err)
		err = names_init(&h->names, r->seed);
	if (err) {
		rc = cli_runtime_error(r->cmd, "setup: %s", strerror(-err));
		goto out;
	}
	setup_devices(h, r->seed);
	spawn(h, NULL, NULL, PK_RA, r->start_us + span(&h->net.rng, 500 * MS, 3 * SEC));
	for (size_t i = 0; i < NSPECS; i++) {
		struct hn_dev *d = h->dev[specs[i].kind];

		spawn(h, d, &specs[i], PK_BOOT, r->start_us + 50 * MS + span(&d->rng, 0, 40 * SEC));
	}
	if (r->var.mute) {
		h->muted = home_device(h, r->var.mute);
		if (!h->muted) {
			rc = cli_runtime_error(r->cmd, "no device '%s' to mute", r->var.mute);
			goto out;
		}
		sim_at(h->sim, r->var.mute_at_us, mute, h);
	}
	err = r->inject ? r->inject(h, r->ctx) : 0;
	if (!err)
		err = sim_run(h->sim);
	if (!err && r->manifest)
		err = mf_write(&h->net, r->manifest);
	if (err) {
		rc = cli_runtime_error(r->cmd, "generating %s: %s", r->out, strerror(-err));
		goto out;
	}
	rc = CLI_OK;
out:
	if (w) {
		err = pw_close(w);
		if (err && rc == CLI_OK)
			rc = cli_runtime_error(r->cmd, "writing %s: %s", r->out, strerror(-err));
	}
	if (h) {
		sim_free(h->sim);
		hn_free(&h->net);
		names_free(&h->names);
		free(h);
	}
	return rc;
}

struct sim *home_sim(struct home *h)
{
	return h->sim;
}

struct hn *home_net(struct home *h)
{
	return &h->net;
}

struct hn_dev *home_device(struct home *h, const char *kind)
{
	for (size_t i = 0; i < NSPECS; i++)
		if (!strcmp(specs[i].name, kind))
			return h->dev[specs[i].kind];
	return NULL;
}

void home_drop_conns(struct home *h, const struct hn_dev *d)
{
	for (size_t i = 0; i < h->nprocs; i++) {
		struct proc *p = &h->procs[i];

		if (p->d == d)
			p->c.open = false;
		if (p->lan_open && (p->d == d || (p->kind == PK_TUYA && d == h->dev[K_PLUG])))
			p->lan_open = false;
	}
}

int home_reboot(struct home *h, struct hn_dev *d, uint64_t up_at)
{
	size_t k = 0;

	while (k < K_COUNT && h->dev[k] != d)
		k++;
	if (k == K_COUNT || up_at <= sim_now(h->sim))
		return -EINVAL;
	d->up = false;
	d->ndc = 0; /* its DNS cache and neighbour entries were in RAM */
	d->arp_until = 0;
	d->nd_until = 0;
	home_drop_conns(h, d);
	h->down_until[k] = up_at;
	return spawn(h, d, h->spec[k], PK_UP, up_at) ? 0 : -ENOMEM;
}

int gen_home_main(int argc, char **argv)
{
	struct home_run r = {.cmd = "home"};
	struct home_args a;
	int rc = parse(argc, argv, &a);

	if (rc >= 0)
		return rc;
	r.seed = a.seed;
	r.start_us = a.start;
	r.duration_s = a.duration_s;
	r.out = a.out;
	r.manifest = a.manifest;
	return home_generate(&r);
}
