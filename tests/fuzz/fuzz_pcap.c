/*
 * Whole capture files through the whole pipeline: the pcap/pcapng reader,
 * the tracker (decoder, flows, devices, windows, DNS/DHCP/mDNS/SSDP; nDPI
 * is fuzz_dpi's, its setup would cost each input 60 ms) and the detector, learning for a minute of capture time and then
 * scoring, with each alert encoded as JSON and read back. Packets read
 * before a fault are never lost: the tracker counts every one the reader
 * gave it.
 */
#include "tests/fuzz/fuzz.h"

#include <jansson.h>

#include "capture/cap.h"
#include "cli/cli.h"
#include "detector/detector.h"
#include "features/tracker.h"

struct pipe {
	struct tracker *trk;
	struct detector *det;
	struct out_ctx oc;
	uint64_t alerts;
};

static void on_flow_end(void *ctx, const struct flow *f, enum flow_end why)
{
	struct pipe *p = ctx;
	(void)why;
	const struct device *initiator = p->det && f->dir == FLOW_DIR_OUTBOUND ? trk_flow_initiator(p->trk, f) : NULL;
	if (initiator)
		det_flow_end(p->det, initiator, f);
}

static void on_flow_ready(void *ctx, const struct flow *f, const struct device *initiator,
			  const struct device *responder)
{
	struct pipe *p = ctx;
	if (!p->det)
		return;
	if (initiator)
		det_flow(p->det, initiator, f, true, f->last_us);
	if (responder && responder != initiator)
		det_flow(p->det, responder, f, false, f->last_us);
}

static void on_window(void *ctx, const struct dev_window *w)
{
	struct pipe *p = ctx;
	if (p->det) {
		det_window(p->det, w);
		det_tick(p->det, w->end_us);
	}
}

static void on_alert(void *ctx, const struct det_alert *a)
{
	struct pipe *p = ctx;
	char *s = out_alert_string(&p->oc, a);
	FUZZ_CHECK(s != NULL);
	json_error_t e;
	json_t *o = json_loads(s, 0, &e);
	FUZZ_CHECK(o != NULL);
	FUZZ_CHECK(json_is_string(json_object_get(o, "about")));
	json_decref(o);
	free(s);
	p->alerts++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[256];
	int fd = fuzz_memfile(data, size, path, sizeof(path));
	if (fd < 0)
		return 0;
	struct pipe p = {0};
	struct ip_prefix home;
	FUZZ_CHECK(ip_prefix_parse("192.168.0.0/16", &home) == 0);
	struct trk_cfg tc = {
		.home_nets = &home,
		.n_home_nets = 1,
		.learn_ipv6_prefixes = true,
		.window_s = 60,
		.window_max_remotes = 64,
		.max_flows = 1024,
		.timeouts_s = {[FLOW_TMO_TCP_SYN] = 5,
			       [FLOW_TMO_TCP] = 600,
			       [FLOW_TMO_TCP_CLOSED] = 10,
			       [FLOW_TMO_UDP] = 120,
			       [FLOW_TMO_ICMP] = 30,
			       [FLOW_TMO_OTHER] = 60},
		.max_devices = 64,
		.dpi = false, /* nDPI has its own harness (fuzz_dpi): its setup costs 60 ms */
		.max_dpi_states = 128,
		.max_names = 1024,
		.dns_cache_max = 512,
		.dns_cache_per_device = 32,
		.on_flow_end = on_flow_end,
		.on_flow_ready = on_flow_ready,
		.on_window = on_window,
		.ctx = &p,
	};
	struct det_cfg dc = {.learn_for_us = 60000000u, .maturity_target = 1, .threshold = 0.5, .max_devices = 64};
	struct cap_source *src = cap_open_file(path, err, sizeof(err));
	if (!src)
		goto out;
	FUZZ_CHECK(strlen(cap_error(src)) == 0);
	if (!(p.trk = trk_new(&tc)) || !(p.det = det_new(&dc, on_alert, &p)))
		goto out;
	p.oc.dpi = trk_dpi(p.trk);
	int linktype = cap_linktype(src);
	FUZZ_CHECK(cap_linktype_name(src) != NULL);
	struct cap_packet pkt;
	enum cap_status st;
	uint64_t n = 0;
	while ((st = cap_next(src, &pkt)) == CAP_PACKET) {
		FUZZ_CHECK(!pkt.summary && pkt.packets == 1);
		trk_packet(p.trk, linktype, pkt.data, pkt.caplen, pkt.wirelen, pkt.ts_us);
		n++;
	}
	FUZZ_CHECK(st == CAP_END || st == CAP_ERROR);
	FUZZ_CHECK(st == CAP_END || strlen(cap_error(src)) > 0);
	trk_finish(p.trk);
	FUZZ_CHECK(trk_stats(p.trk)->packets == n);
	FUZZ_CHECK(dec_stats(trk_decoder(p.trk))->packets == n);
out:
	det_free(p.det);
	trk_free(p.trk);
	cap_close(src);
	close(fd);
	return 0;
}
