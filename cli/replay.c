/*
 * replay — runs a capture file through the pipeline and reports.
 *
 * Tables stream out as flows end and windows close, so a replay of any size
 * holds only the live state in memory. A read error mid-file (a truncated
 * capture) still reports everything read before it and exits 1. SIGINT and
 * SIGTERM stop reading at the next packet; what was read is still flushed
 * and reported.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/cap.h"
#include "cli/cli.h"
#include "cli/config.h"
#include "cli/live.h"
#include "detector/publisher.h"
#include "detector/store.h"
#include "features/identity.h"
#include "features/kind.h"
#include "features/tracker.h"
#include "rules/rules.h"

/* Capture time between two checkpoints of the store. */
#define CHECKPOINT_EVERY_US (300 * 1000000ull)

enum show { SHOW_FLOWS = 1, SHOW_DEVICES = 2, SHOW_WINDOWS = 4, SHOW_PROFILES = 8 };

struct replay {
	const char *path;
	unsigned show;
	bool json;
	FILE *out;
	bool write_failed;
	uint64_t flows_printed, windows_printed;
	struct out_ctx oc;
	struct detector *det;    /* NULL with --no-detect */
	struct tracker *trk;
	FILE *alerts;            /* --alerts FILE (JSON lines), or NULL: stdout */
	bool alerts_failed;
	struct store *store;     /* --db PATH, or NULL */
	const char *db_path;
	int loaded;              /* profiles the store gave at start */
	uint64_t checkpoints, next_checkpoint_us;
	double next_poll;        /* wall clock: when to look for requests again */
	bool store_failed;
	struct rules_engine *rules; /* --rules PATH, or NULL */
	const char *rules_path;
	uint64_t reloads, reloads_failed;
	struct publisher *pub;   /* --redis URL, or NULL */
	char redis_url[600];     /* for the summary, password hidden */
	char redis_gateway[CFG_STR_MAX];
	struct pub_stats pub_final;
	bool pub_closed;
	bool device_summaries;   /* redis.device_summaries */
	bool live;               /* iotids run */
	uint64_t next_summary_us;
};

static volatile sig_atomic_t stop_signal, reload_signal;

static void on_reload_signal(int sig)
{
	(void)sig;
	reload_signal = 1;
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

static const char replay_usage[] =
	"usage: iotids replay [options] FILE\n"
	"\n"
	"Runs a pcap or pcapng capture through iotids in capture time and prints a\n"
	"summary: packets, bytes, malformed packets by reason, flows, devices.\n"
	"\n"
	"  --flows            print every flow as it ends\n"
	"  --devices          print the device table at the end\n"
	"  --windows          print every per-device window record\n"
	"  --profiles         print every device's learned profile at the end\n"
	"  --json             JSON lines instead of tables (with no table chosen,\n"
	"                     the summary as one JSON object)\n"
	"  --config PATH      configuration file (YAML; see docs/configuration.md)\n"
	"  --home-net CIDR    a home network (repeatable; replaces the list)\n"
	"  --window DUR       window length, e.g. 60s, 5m\n"
	"  --max-flows N      flow table cap\n"
	"  --max-devices N    device table cap\n"
	"  --no-dpi           no nDPI protocol detection (names from DNS only)\n"
	"  --alerts FILE      alerts as JSON lines into FILE (default: stdout, one\n"
	"                     line each, or JSON with --json)\n"
	"  --learn-for DUR    every device learns this long from its first packet,\n"
	"                     then is enforced (overrides the learning policy)\n"
	"  --learn[=DEVICES]  every device, or those listed (MACs or, for a device\n"
	"                     without one, addresses, comma-separated), keeps\n"
	"                     learning: no alerts from it\n"
	"  --db PATH          keep profiles in this store (SQLite): load them at\n"
	"                     start, write them every 5 minutes of capture time\n"
	"                     and at the end\n"
	"  --rules PATH       rules (a YAML file, or a directory of them; see\n"
	"                     docs/rules.md); SIGHUP reloads them\n"
	"  --redis URL        also send alerts to Redis: redis://[user:password@]host\n"
	"                     [:port][/db] or unix:///path (see README, Redis)\n"
	"  --redis-spool DIR  where alerts wait while Redis is unreachable\n"
	"                     (default /var/lib/iotids/spool)\n"
	"  --no-detect        no profiles and no alerts\n"
	"  -h, --help         this help\n"
	"\n"
	"Exit status: 0 ok, 1 unreadable or damaged input or write error, 2 usage.\n";

static void on_flow_end(void *ctx, const struct flow *f, enum flow_end why)
{
	struct replay *r = ctx;
	const struct device *initiator = r->det && f->dir == FLOW_DIR_OUTBOUND ? trk_flow_initiator(r->trk, f) : NULL;
	if (initiator)
		det_flow_end(r->det, initiator, f);
	if (!(r->show & SHOW_FLOWS))
		return;
	if (r->json) {
		if (out_flow_json(r->out, &r->oc, f, why) != 0)
			r->write_failed = true;
	} else {
		if (r->flows_printed == 0)
			out_flow_header(r->out);
		out_flow_text(r->out, &r->oc, f, why);
	}
	r->flows_printed++;
}

static void store_failed(struct replay *r, const char *err)
{
	if (!r->store_failed)
		fprintf(stderr, "iotids: %s\n", err);
	r->store_failed = true;
}

/* The alert's JSON once, for every output that wants it. */
static void on_alert(void *ctx, const struct det_alert *a)
{
	struct replay *r = ctx;
	char device[IP_STRLEN], err[512];
	bool shown = !a->suppressed_by;
	char *json = NULL;
	if (r->store || (shown && (r->alerts || r->pub || r->json))) {
		if (!(json = out_alert_string(&r->oc, a))) {
			fprintf(stderr, "iotids: out of memory encoding alert %s\n", a->alert_id);
			r->alerts_failed = r->write_failed = true;
		}
	}
	if (a->dev->has_mac)
		dev_mac_format(a->dev->mac, device, sizeof(device));
	else
		ip_format(&a->dev->key_ip, device, sizeof(device));
	/* The store keeps every alert, suppressed ones too, for alerts list. */
	if (r->store && json) {
		struct store_alert sa = {.alert_id = a->alert_id, .device = device, .kind = a->kind,
					 .severity = a->severity, .ts_us = a->ts_us, .score = a->score, .json = json,
					 .suppressed_by = a->suppressed_by};
		if (store_alert_add(r->store, &sa, err, sizeof(err)) != 0)
			store_failed(r, err);
	}
	/* Kept and counted, not shown: that is what the rule asked for. */
	if (!shown) {
		rules_engine_record(r->rules, a->suppressed_by);
		free(json);
		return;
	}
	/* The file holds the JSON; the terminal still gets the line. */
	if (r->alerts && json && (fputs(json, r->alerts) == EOF || fputc('\n', r->alerts) == EOF))
		r->alerts_failed = true;
	if (r->pub && json) {
		struct pub_alert pa = {.alert_id = a->alert_id, .device = device, .kind = a->kind,
				       .severity = a->severity, .json = json};
		publisher_submit(r->pub, &pa);
	}
	if (r->json && !r->alerts) {
		if (json && (fputs(json, r->out) == EOF || fputc('\n', r->out) == EOF))
			r->write_failed = true;
	} else if (!r->json) {
		out_alert_text(r->out, &r->oc, a);
	}
	free(json);
}

static const char run_usage[] =
	"usage: iotids run -i IFACE [options]\n"
	"\n"
	"Watches the LAN on IFACE live (the router's LAN bridge, e.g. br-lan) with the\n"
	"same pipeline, profiles and alerts as a replay, in the foreground until\n"
	"SIGINT or SIGTERM, which stop it cleanly (alerts flushed, profiles\n"
	"checkpointed, exit 0). SIGHUP reloads the rules.\n"
	"\n"
	"  -i, --interface IFACE  the interface to watch\n"
	"  --capture ebpf|pcap|auto  the packet source (default auto: eBPF when the\n"
	"                         kernel takes its programs, else libpcap)\n"
	"  --ebpf-hook tcx|clsact|auto  where the eBPF programs go (default auto: tcx\n"
	"                         links on Linux 6.6 and later, else clsact filters)\n"
	"  --filter EXPR          a BPF filter (tcpdump syntax) on what is captured\n"
	"                         (libpcap only)\n"
	"  --snaplen N            bytes kept of each packet (default 65535; eBPF copies\n"
	"                         at most 4096)\n"
	"  --buffer SIZE          the kernel's capture buffer or eBPF ring (default 16MiB)\n"
	"  --no-promisc           do not put the interface in promiscuous mode\n"
	"  --stats-every DUR      one stats line on stderr this often (default 60s; 0: never)\n"
	"  --user NAME            once the capture is open, run as NAME (files are made\n"
	"                         after, as NAME), keeping only CAP_NET_ADMIN with eBPF\n"
	"                         on clsact\n"
	"  The capture: section of the configuration file sets the same.\n"
	"  --config PATH, --db PATH, --alerts FILE, --rules PATH, --redis URL,\n"
	"  --redis-spool DIR, --learn-for DUR, --learn[=DEVICES], --devices, --json,\n"
	"  --home-net CIDR, --window DUR, --max-flows N, --max-devices N, --no-dpi,\n"
	"  --no-detect            as for iotids replay\n"
	"\n"
	"Exit status: 0 stopped by a signal, 1 capture failed, 2 usage or the\n"
	"interface cannot be opened (missing, down, no permission).\n";

/* Sender-thread messages, on stderr like the rest. */
static void pub_log(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "iotids: %s\n", msg);
}

/* Starts the publisher from cfg->redis; 0, or the exit status. */
static int start_publisher(struct replay *r, const struct iotids_config *cfg)
{
	struct pub_config pc;
	char err[768];
	pub_config_defaults(&pc);
	pc.url = cfg->redis.url;
	pc.user = cfg->redis.user[0] ? cfg->redis.user : NULL;
	pc.password = cfg->redis.password[0] ? cfg->redis.password : NULL;
	pc.prefix = cfg->redis.prefix;
	pc.gateway_id = cfg->redis.gateway_id[0] ? cfg->redis.gateway_id : NULL;
	pc.connect_timeout_ms = cfg->redis.connect_timeout_ms;
	pc.command_timeout_ms = cfg->redis.command_timeout_ms;
	pc.backoff_max_ms = cfg->redis.backoff_max_ms;
	pc.stream_maxlen = cfg->redis.stream_maxlen;
	pc.queue_bytes = cfg->redis.queue_bytes;
	/* A replay may wait for room: nothing read from a file need be lost.
	 * Live capture must not stall on it: a full queue drops, counted. */
	pc.block_when_full = !r->live;
	pc.spool.dir = cfg->redis.spool_dir;
	pc.spool.max_bytes = cfg->redis.spool_max_bytes;
	pc.spool.when_full = cfg->redis.spool_when_full ? SPOOL_DROP_NEWEST : SPOOL_DROP_OLDEST;
	pc.spool.fsync = cfg->redis.spool_fsync;
	pc.log = pub_log;
	int rc = publisher_new(&pc, &r->pub, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "iotids: %s\n", err);
		return rc == -EINVAL || rc == -EACCES || rc == -EBUSY ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
	}
	r->device_summaries = cfg->redis.device_summaries;
	snprintf(r->redis_url, sizeof(r->redis_url), "%s", publisher_url(r->pub));
	snprintf(r->redis_gateway, sizeof(r->redis_gateway), "%s", publisher_gateway(r->pub));
	return 0;
}

/* Every device's summary to Redis, for dashboards (best effort). */
static void publish_devices(struct replay *r)
{
	size_t n = 0;
	struct device **all = dev_table_list(trk_devices(r->trk), &n);
	for (size_t i = 0; all && i < n; i++) {
		const struct device *d = all[i];
		char id[IP_STRLEN], ips[8 * (IP_STRLEN + 1)] = "", host[INTERN_MAX_LEN + 1], first[40], last[40], mat[16], dests[16],
			flows[24], bytes_out[24], bytes_in[24];
		if (d->has_mac)
			dev_mac_format(d->mac, id, sizeof(id));
		else
			ip_format(&d->key_ip, id, sizeof(id));
		size_t o = 0;
		for (uint8_t k = 0; k < d->n_ips && k < 8 && o < sizeof(ips); k++) {
			char a[IP_STRLEN];
			int w = snprintf(ips + o, sizeof(ips) - o, "%s%s", k ? "," : "", ip_format(&d->ips[k], a, sizeof(a)));
			o += w > 0 ? (size_t)w : 0;
		}
		const char *vendor = d->has_mac && r->oc.oui ? oui_vendor(r->oc.oui, d->mac) : NULL;
		const char *hostname = ident_hostname(d, host, sizeof(host));
		uint8_t key[16];
		det_device_key(d, key);
		const struct det_profile *prof = det_profile_find(r->det, key);
		struct det_profile_info in = {0};
		if (prof)
			det_profile_info(prof, &in);
		snprintf(mat, sizeof(mat), "%.3f", in.maturity);
		snprintf(dests, sizeof(dests), "%u", in.destinations);
		snprintf(flows, sizeof(flows), "%llu", (unsigned long long)(d->flows_out + d->flows_in));
		snprintf(bytes_out, sizeof(bytes_out), "%llu", (unsigned long long)d->bytes_out);
		snprintf(bytes_in, sizeof(bytes_in), "%llu", (unsigned long long)d->bytes_in);
		struct pub_field f[] = {
			{"device", id},
			{"ips", ips},
			{"vendor", vendor ? vendor : ""},
			{"hostname", hostname ? hostname : ""},
			{"kind", kind_classify(d, vendor)},
			{"state", prof ? det_state_name(in.state) : "unknown"},
			{"maturity", mat},
			{"destinations", dests},
			{"first_seen", out_time(d->first_us, first, sizeof(first))},
			{"last_seen", out_time(d->last_us, last, sizeof(last))},
			{"flows", flows},
			{"bytes_out", bytes_out},
			{"bytes_in", bytes_in},
		};
		publisher_device(r->pub, id, f, sizeof(f) / sizeof(f[0]));
	}
	free(all);
}

/* Flushes to Redis or the spool; the counters stay for the summary. */
static void stop_publisher(struct replay *r)
{
	if (!r->pub)
		return;
	if (r->device_summaries)
		publish_devices(r);
	publisher_close(r->pub, &r->pub_final);
	r->pub = NULL;
	r->pub_closed = true;
}

/* What rules see of a device. */
static void rules_device_of(const struct replay *r, const struct device *dev, struct rules_device *rd, char *host,
			    size_t hostlen)
{
	rd->has_mac = dev->has_mac;
	memcpy(rd->mac, dev->mac, 6);
	rd->vendor = dev->has_mac && r->oc.oui ? oui_vendor(r->oc.oui, dev->mac) : NULL;
	rd->hostname = ident_hostname(dev, host, hostlen);
	rd->kind = kind_classify(dev, rd->vendor);
}

static const char *suppress_alert(void *ctx, const struct det_alert *a)
{
	struct replay *r = ctx;
	struct rules_device rd;
	struct rules_peer peer;
	char host[INTERN_MAX_LEN + 1];
	uint8_t key[16];
	det_device_key(a->dev, key);
	rules_device_of(r, a->dev, &rd, host, sizeof(host));
	if (a->flow) {
		const struct flow *f = a->flow;
		bool initiator = a->dev->has_mac ? f->has_src_mac && !memcmp(f->src_mac, a->dev->mac, 6)
						 : ip_equal(&f->src, &a->dev->key_ip);
		rules_peer_of_flow(f, initiator, &peer);
	}
	return rules_engine_suppress(r->rules, key, &rd, a->kind, a->flow ? &peer : NULL, a->ts_us);
}

/* A flow to an update host opens the device's update window; with
 * relearn, the profile before the update is kept as a version and the
 * device learns the new firmware. */
static void rules_flow(struct replay *r, const struct device *dev, const struct flow *f, uint64_t now)
{
	struct rules_device rd;
	struct rules_peer peer;
	struct rules_update up;
	char host[INTERN_MAX_LEN + 1], err[512];
	uint8_t key[16];
	rules_peer_of_flow(f, true, &peer);
	/* Every named flow comes here: what selectors need (vendor, hostname,
	 * kind) is worked out only for one to an update host. */
	if (!rules_engine_update_host(r->rules, &peer))
		return;
	det_device_key(dev, key);
	rules_device_of(r, dev, &rd, host, sizeof(host));
	if (!rules_engine_flow(r->rules, key, &rd, &peer, now, &up) || !up.relearn_us)
		return;
	double maturity;
	const struct det_profile *p = det_profile_find(r->det, key);
	if (!p || det_device_state(r->det, dev, &maturity) != DET_ENFORCING)
		return;
	if (r->store) {
		char ip[IP_STRLEN], reason[512];
		snprintf(reason, sizeof(reason), "before firmware update: rule %s, %s:%u/%s; relearning for %llus",
			 up.rule, peer.name ? peer.name : ip_format(&peer.ip, ip, sizeof(ip)), peer.port,
			 peer.proto == 6 ? "tcp" : peer.proto == 17 ? "udp" : "ip",
			 (unsigned long long)(up.relearn_us / 1000000u));
		if (store_version_add(r->store, p, now, reason, err, sizeof(err)) != 0)
			store_failed(r, err);
	}
	det_profile_relearn(r->det, key, up.start_us, up.relearn_us);
}

static void on_flow_ready(void *ctx, const struct flow *f, const struct device *initiator,
			  const struct device *responder)
{
	struct replay *r = ctx;
	if (!r->det)
		return;
	uint64_t now = f->last_us;
	if (r->rules && initiator)
		rules_flow(r, initiator, f, now);
	if (initiator)
		det_flow(r->det, initiator, f, true, now);
	if (responder && responder != initiator)
		det_flow(r->det, responder, f, false, now);
}

static void checkpoint(struct replay *r, uint64_t now_us);
static double now_s(void);

static void on_window(void *ctx, const struct dev_window *w)
{
	struct replay *r = ctx;
	if (r->det) {
		det_window(r->det, w);
		det_tick(r->det, w->end_us);
	}
	if (r->pub && r->device_summaries && w->end_us >= r->next_summary_us) {
		if (r->next_summary_us)
			publish_devices(r);
		r->next_summary_us = w->end_us + CHECKPOINT_EVERY_US;
	}
	if (r->store && w->end_us >= r->next_checkpoint_us) {
		if (r->next_checkpoint_us)
			checkpoint(r, w->end_us);
		r->next_checkpoint_us = w->end_us + CHECKPOINT_EVERY_US;
	}
	/* Requests a person makes (profile accept ...) take effect within a
	 * second of wall time, whatever the capture's pace. */
	if (r->store && now_s() >= r->next_poll) {
		char err[512];
		if (store_poll(r->store, r->det, w->end_us, err, sizeof(err)) < 0)
			store_failed(r, err);
		r->next_poll = now_s() + 1.0;
	}
	if (!(r->show & SHOW_WINDOWS))
		return;
	if (r->json) {
		if (out_window_json(r->out, &r->oc, w) != 0)
			r->write_failed = true;
	} else {
		if (r->windows_printed == 0)
			out_window_header(r->out);
		out_window_text(r->out, w);
	}
	r->windows_printed++;
}

#define LEARN_MAX_DEVICES 256

/* --learn=DEVICES: MACs, or addresses of devices without one, as the
 * detector keys its profiles. */
static int parse_learn_list(const char *list, uint8_t keys[][16], size_t *n)
{
	char item[64];
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof(item) || *n == LEARN_MAX_DEVICES) {
			fprintf(stderr, "iotids replay: --learn: want at most %d MACs or addresses, comma-separated\n",
				LEARN_MAX_DEVICES);
			return -1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		p += len + (p[len] == ',');
		uint8_t *k = keys[(*n)++];
		unsigned m[6];
		char tail;
		struct ip_addr ip;
		memset(k, 0, 16);
		if (len == 17 && sscanf(item, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
					&tail) == 6) {
			for (int i = 0; i < 6; i++)
				k[i] = (uint8_t)m[i];
		} else if (ip_parse(item, &ip) == 0) {
			memcpy(k, ip.b, 16);
		} else {
			fprintf(stderr, "iotids replay: --learn: '%s' is neither a MAC (aa:bb:cc:dd:ee:ff) nor an address\n",
				item);
			return -1;
		}
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "KB", "MB", "GB", "TB"};
	double v = (double)b;
	int u = 0;
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* Progress on a terminal only: "\r" lines would garble a log file. */
struct progress {
	bool on;
	double start, last;
};

static void progress_show(struct progress *p, const struct cap_source *src, uint64_t packets, bool done)
{
	double t = now_s();
	if (!p->on || (!done && t - p->last < 0.5))
		return;
	p->last = t;
	uint64_t pos, total;
	cap_progress(src, &pos, &total);
	char a[24], b[24], eta[32] = "";
	human_bytes(pos, a, sizeof(a));
	human_bytes(total, b, sizeof(b));
	double el = t - p->start;
	double pps = el > 0 ? (double)packets / el : 0;
	if (total > 0 && pos > 0 && pos < total && el > 0) {
		double rest = el * (double)(total - pos) / (double)pos;
		snprintf(eta, sizeof(eta), "  ETA %d:%02d", (int)rest / 60, (int)rest % 60);
	}
	fprintf(stderr, "\r\033[K%s / %s (%.0f%%)  %.2f Mpkt/s%s", a, b,
		total ? 100.0 * (double)pos / (double)total : 0.0, pps / 1e6, eta);
	if (done)
		fputs("\r\033[K", stderr);
}

/* "rules  3 (2 updates, 1 exception) from PATH: 1 update window, 4 alerts suppressed (a 3, b 1)" */
static void print_rules_text(FILE *out, const struct replay *r)
{
	size_t nu, ne;
	uint64_t windows = 0, suppressed = 0;
	struct rules_stat st;
	rules_count(rules_engine_rules(r->rules), &nu, &ne);
	for (size_t i = 0; rules_engine_stat(r->rules, i, &st); i++) {
		windows += st.windows;
		suppressed += st.suppressed;
	}
	fprintf(out, "rules       %zu (%zu updates, %zu exceptions) from %s: %llu update windows, %llu alerts suppressed",
		nu + ne, nu, ne, r->rules_path, (unsigned long long)windows, (unsigned long long)suppressed);
	const char *sep = " (";
	for (size_t i = 0; rules_engine_stat(r->rules, i, &st); i++)
		if (st.suppressed) {
			fprintf(out, "%s%s %llu", sep, st.name, (unsigned long long)st.suppressed);
			sep = ", ";
		}
	fputs(*sep == ',' ? ")\n" : "\n", out);
	if (r->reloads || r->reloads_failed)
		fprintf(out, "            reloaded %llu times, %llu reloads refused\n", (unsigned long long)r->reloads,
			(unsigned long long)r->reloads_failed);
}

static void print_summary_text(FILE *out, const struct replay *r, const struct cap_source *src,
			       const struct tracker *t)
{
	const struct trk_stats *ts = trk_stats(t);
	const struct dec_stats *ds = dec_stats(trk_decoder(t));
	const struct flow_stats *fs = flow_table_stats(trk_flows(t));
	const struct dev_stats *vs = dev_table_stats(trk_devices(t));
	char b[24], t1[40], t2[40];
	human_bytes(ts->bytes, b, sizeof(b));
	fprintf(out, "file        %s (%s)\n", r->path, cap_linktype_name(src));
	fprintf(out, "packets     %llu (%s)\n", (unsigned long long)ts->packets, b);
	if (ts->packets)
		fprintf(out, "time        %s .. %s\n", out_time(ts->first_us, t1, sizeof(t1)),
			out_time(ts->last_us, t2, sizeof(t2)));
	fprintf(out, "decoded     %llu, not IP/ARP %llu\n", (unsigned long long)ds->by_result[DEC_OK],
		(unsigned long long)ds->by_result[DEC_OTHER]);
	fprintf(out, "malformed   %llu\n", (unsigned long long)dec_malformed_total(trk_decoder(t)));
	for (int i = DEC_OTHER + 1; i < DEC_RESULT_COUNT; i++)
		if (ds->by_result[i])
			fprintf(out, "  %-24s %llu (%s)\n", dec_result_name((enum dec_result)i),
				(unsigned long long)ds->by_result[i],
				dec_result_is_truncation((enum dec_result)i) ? "truncated" : "invalid");
	if (ds->payload_cut)
		fprintf(out, "cut short   %llu IP datagrams longer than their frame (headers decoded)\n",
			(unsigned long long)ds->payload_cut);
	if (ds->fragments)
		fprintf(out, "fragments   %llu (%llu without their first fragment)\n",
			(unsigned long long)ds->fragments, (unsigned long long)ds->fragments_unattributed);
	fprintf(out, "flows       %llu (peak %llu at once; ended idle %llu, closed %llu, evicted %llu, at end %llu)\n",
		(unsigned long long)fs->created, (unsigned long long)fs->peak,
		(unsigned long long)fs->ended[FLOW_END_IDLE], (unsigned long long)fs->ended[FLOW_END_CLOSED],
		(unsigned long long)fs->ended[FLOW_END_EVICTED], (unsigned long long)fs->ended[FLOW_END_FLUSH]);
	fprintf(out, "devices     %llu (evicted %llu)\n", (unsigned long long)vs->active, (unsigned long long)vs->evicted);
	if (r->live) {
		char capture[300];
		live_capture_stats(src, capture, sizeof(capture));
		fprintf(out, "capture     %s: %s\n", live_source_name(src), capture);
	}
	fprintf(out, "windows     %llu device records\n", (unsigned long long)win_emitted(trk_windows(t)));
	const struct dpi *dpi = trk_dpi(t);
	if (dpi) {
		const struct dpi_stats *p = dpi_stats(dpi);
		fprintf(out, "nDPI        %llu flows classified, %llu unknown, %llu not inspected (peak %llu under detection)\n",
			(unsigned long long)p->classified, (unsigned long long)p->unknown, (unsigned long long)p->no_state,
			(unsigned long long)p->peak);
	}
	fprintf(out, "names       %llu flows by DNS, %llu by TLS/QUIC SNI, %llu by HTTP Host\n",
		(unsigned long long)ts->flows_named[FLOW_NAME_DNS], (unsigned long long)ts->flows_named[FLOW_NAME_SNI],
		(unsigned long long)ts->flows_named[FLOW_NAME_HTTP]);
	if (r->det) {
		const struct det_stats *d = det_stats(r->det);
		fprintf(out, "alerts      %llu (%llu more folded into them), %llu profiles", (unsigned long long)d->alerts,
			(unsigned long long)d->deduplicated, (unsigned long long)d->profiles);
		if (d->nomem)
			fprintf(out, "; %llu flows or windows not learned or scored for want of memory",
				(unsigned long long)d->nomem);
		fputc('\n', out);
	}
	if (r->rules)
		print_rules_text(out, r);
	if (r->pub_closed) {
		const struct pub_stats *ps = &r->pub_final;
		fprintf(out, "redis       %s as %s: %llu published, %llu spooled, %llu delivered from the spool, "
			"%llu dropped, %llu reconnects, %llu resent; %llu left in the spool\n",
			r->redis_url, r->redis_gateway, (unsigned long long)ps->published, (unsigned long long)ps->spooled,
			(unsigned long long)ps->delivered_from_spool, (unsigned long long)ps->dropped,
			(unsigned long long)ps->reconnects, (unsigned long long)ps->resent,
			(unsigned long long)ps->spool_pending);
	}
	if (r->store)
		fprintf(out, "store       %s: %d profiles loaded, %llu checkpoints%s\n", r->db_path, r->loaded,
			(unsigned long long)r->checkpoints, r->store_failed ? " (a checkpoint failed)" : "");
	fprintf(out, "parsed      DNS %llu (%llu malformed), mDNS %llu (%llu), DHCP %llu (%llu), SSDP %llu (%llu)\n",
		(unsigned long long)ts->dns_parsed, (unsigned long long)ts->dns_malformed,
		(unsigned long long)ts->mdns_parsed, (unsigned long long)ts->mdns_malformed,
		(unsigned long long)ts->dhcp_parsed, (unsigned long long)ts->dhcp_malformed,
		(unsigned long long)ts->ssdp_parsed, (unsigned long long)ts->ssdp_malformed);
	struct ip_prefix learned[LAN_MAX_LEARNED];
	size_t n = lan_learned(trk_lan(t), learned, LAN_MAX_LEARNED);
	for (size_t i = 0; i < n && i < LAN_MAX_LEARNED; i++) {
		char p[IP_PREFIX_STRLEN];
		fprintf(out, "lan prefix  %s (from router advertisements)\n", ip_prefix_format(&learned[i], p, sizeof(p)));
	}
	if (lan_learned_dropped(trk_lan(t)))
		fprintf(out, "lan prefix  %llu more advertised past the cap of %d, ignored\n",
			(unsigned long long)lan_learned_dropped(trk_lan(t)), LAN_MAX_LEARNED);
}

static json_t *summary_json(const struct replay *r, const struct cap_source *src, const struct tracker *t,
			    const char *error)
{
	const struct trk_stats *ts = trk_stats(t);
	const struct dec_stats *ds = dec_stats(trk_decoder(t));
	const struct flow_stats *fs = flow_table_stats(trk_flows(t));
	const struct dev_stats *vs = dev_table_stats(trk_devices(t));
	char t1[40];
	json_t *o = json_object(), *mal = json_object(), *fl = json_object(), *ended = json_object();
	json_t *dv = json_object(), *pfx = json_array();
	json_object_set_new(o, "type", json_string("summary"));
	json_object_set_new(o, "file", out_json_bytes(r->path));
	json_object_set_new(o, "linktype", json_string(cap_linktype_name(src)));
	json_object_set_new(o, "packets", json_integer((json_int_t)ts->packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)ts->bytes));
	json_object_set_new(o, "first_seen", ts->packets ? json_string(out_time(ts->first_us, t1, sizeof(t1))) : json_null());
	json_object_set_new(o, "last_seen", ts->packets ? json_string(out_time(ts->last_us, t1, sizeof(t1))) : json_null());
	json_object_set_new(o, "decoded", json_integer((json_int_t)ds->by_result[DEC_OK]));
	json_object_set_new(o, "other", json_integer((json_int_t)ds->by_result[DEC_OTHER]));
	for (int i = DEC_OTHER + 1; i < DEC_RESULT_COUNT; i++)
		if (ds->by_result[i])
			json_object_set_new(mal, dec_result_name((enum dec_result)i),
					    json_integer((json_int_t)ds->by_result[i]));
	json_object_set_new(o, "malformed_total", json_integer((json_int_t)dec_malformed_total(trk_decoder(t))));
	json_object_set_new(o, "malformed", mal);
	json_object_set_new(o, "payload_cut", json_integer((json_int_t)ds->payload_cut));
	json_object_set_new(o, "fragments", json_integer((json_int_t)ds->fragments));
	json_object_set_new(o, "fragments_unattributed", json_integer((json_int_t)ds->fragments_unattributed));
	json_object_set_new(o, "timestamps_backwards", json_integer((json_int_t)ts->ts_backwards));
	json_object_set_new(fl, "created", json_integer((json_int_t)fs->created));
	json_object_set_new(fl, "peak", json_integer((json_int_t)fs->peak));
	for (int i = 0; i <= FLOW_END_FLUSH; i++)
		json_object_set_new(ended, flow_end_name((enum flow_end)i), json_integer((json_int_t)fs->ended[i]));
	json_object_set_new(fl, "ended", ended);
	json_object_set_new(fl, "without_ports", json_integer((json_int_t)fs->no_ports));
	json_object_set_new(fl, "alloc_failed", json_integer((json_int_t)fs->alloc_failed));
	json_object_set_new(fl, "memory_bytes", json_integer((json_int_t)fs->mem_bytes));
	json_object_set_new(o, "flows", fl);
	json_object_set_new(dv, "count", json_integer((json_int_t)vs->active));
	json_object_set_new(dv, "created", json_integer((json_int_t)vs->created));
	json_object_set_new(dv, "evicted", json_integer((json_int_t)vs->evicted));
	json_object_set_new(dv, "alloc_failed", json_integer((json_int_t)vs->alloc_failed));
	json_object_set_new(o, "devices", dv);
	struct cap_stats kst;
	if (r->live && cap_stats(src, &kst) == 0) {
		json_t *c = json_object();
		json_object_set_new(c, "source", json_string(cap_kind(src)));
		json_object_set_new(c, "kernel_received", json_integer((json_int_t)kst.received));
		json_object_set_new(c, "kernel_dropped", json_integer((json_int_t)kst.dropped));
		json_object_set_new(c, "interface_dropped", json_integer((json_int_t)kst.if_dropped));
		if (!strcmp(cap_kind(src), "ebpf")) {
			json_object_set_new(c, "counted_in_kernel", json_integer((json_int_t)kst.counted));
			json_object_set_new(c, "ring_full", json_integer((json_int_t)kst.ring_full));
			json_object_set_new(c, "flow_map_full", json_integer((json_int_t)kst.map_full));
			json_object_set_new(c, "flows_evicted", json_integer((json_int_t)kst.evicted));
		}
		json_object_set_new(o, "capture", c);
	}
	json_object_set_new(o, "windows", json_integer((json_int_t)win_emitted(trk_windows(t))));
	if (trk_dpi(t)) {
		const struct dpi_stats *p = dpi_stats(trk_dpi(t));
		json_t *d = json_object();
		json_object_set_new(d, "classified", json_integer((json_int_t)p->classified));
		json_object_set_new(d, "unknown", json_integer((json_int_t)p->unknown));
		json_object_set_new(d, "not_inspected", json_integer((json_int_t)p->no_state));
		json_object_set_new(d, "peak_under_detection", json_integer((json_int_t)p->peak));
		json_object_set_new(o, "dpi", d);
	} else {
		json_object_set_new(o, "dpi", json_null());
	}
	json_t *nm = json_object();
	json_object_set_new(nm, "flows_by_dns", json_integer((json_int_t)ts->flows_named[FLOW_NAME_DNS]));
	json_object_set_new(nm, "flows_by_sni", json_integer((json_int_t)ts->flows_named[FLOW_NAME_SNI]));
	json_object_set_new(nm, "flows_by_http", json_integer((json_int_t)ts->flows_named[FLOW_NAME_HTTP]));
	const struct intern_stats *is = intern_stats(trk_names(t));
	json_object_set_new(nm, "distinct_peak", json_integer((json_int_t)is->peak));
	json_object_set_new(nm, "refused", json_integer((json_int_t)is->refused));
	const struct dnsc_stats *cs = dnsc_stats(trk_dns_cache(t));
	json_object_set_new(nm, "dns_cache_peak", json_integer((json_int_t)cs->peak));
	json_object_set_new(nm, "dns_cache_evicted",
			    json_integer((json_int_t)(cs->evicted_device + cs->evicted_total)));
	json_object_set_new(o, "names", nm);
	json_t *ps = json_object();
	json_object_set_new(ps, "dns", json_integer((json_int_t)ts->dns_parsed));
	json_object_set_new(ps, "dns_malformed", json_integer((json_int_t)ts->dns_malformed));
	json_object_set_new(ps, "mdns", json_integer((json_int_t)ts->mdns_parsed));
	json_object_set_new(ps, "mdns_malformed", json_integer((json_int_t)ts->mdns_malformed));
	json_object_set_new(ps, "dhcp", json_integer((json_int_t)ts->dhcp_parsed));
	json_object_set_new(ps, "dhcp_malformed", json_integer((json_int_t)ts->dhcp_malformed));
	json_object_set_new(ps, "ssdp", json_integer((json_int_t)ts->ssdp_parsed));
	json_object_set_new(ps, "ssdp_malformed", json_integer((json_int_t)ts->ssdp_malformed));
	json_object_set_new(o, "parsed", ps);
	if (r->det) {
		const struct det_stats *d = det_stats(r->det);
		json_t *al = json_object();
		json_object_set_new(al, "raised", json_integer((json_int_t)d->alerts));
		json_object_set_new(al, "folded", json_integer((json_int_t)d->deduplicated));
		json_object_set_new(al, "suppressed", json_integer((json_int_t)d->suppressed));
		json_object_set_new(al, "flows_scored", json_integer((json_int_t)d->flows_scored));
		json_object_set_new(al, "windows_scored", json_integer((json_int_t)d->windows_scored));
		json_object_set_new(al, "profiles", json_integer((json_int_t)d->profiles));
		json_object_set_new(al, "nomem", json_integer((json_int_t)d->nomem));
		json_object_set_new(o, "alerts", al);
	} else {
		json_object_set_new(o, "alerts", json_null());
	}
	if (r->rules) {
		json_t *ru = json_object(), *by = json_object();
		size_t nu, ne;
		struct rules_stat rs;
		rules_count(rules_engine_rules(r->rules), &nu, &ne);
		json_object_set_new(ru, "path", out_json_bytes(r->rules_path));
		json_object_set_new(ru, "updates", json_integer((json_int_t)nu));
		json_object_set_new(ru, "exceptions", json_integer((json_int_t)ne));
		for (size_t i = 0; rules_engine_stat(r->rules, i, &rs); i++) {
			json_t *x = json_object();
			json_object_set_new(x, "suppressed", json_integer((json_int_t)rs.suppressed));
			if (rs.update)
				json_object_set_new(x, "windows", json_integer((json_int_t)rs.windows));
			json_object_set_new(by, rs.name, x);
		}
		json_object_set_new(ru, "by_rule", by);
		json_object_set_new(ru, "reloads", json_integer((json_int_t)r->reloads));
		json_object_set_new(ru, "reloads_refused", json_integer((json_int_t)r->reloads_failed));
		json_object_set_new(o, "rules", ru);
	}
	if (r->pub_closed) {
		const struct pub_stats *pf = &r->pub_final;
		json_t *rd = json_object();
		json_object_set_new(rd, "url", json_string(r->redis_url));
		json_object_set_new(rd, "gateway", json_string(r->redis_gateway));
		json_object_set_new(rd, "published", json_integer((json_int_t)pf->published));
		json_object_set_new(rd, "spooled", json_integer((json_int_t)pf->spooled));
		json_object_set_new(rd, "delivered_from_spool", json_integer((json_int_t)pf->delivered_from_spool));
		json_object_set_new(rd, "dropped", json_integer((json_int_t)pf->dropped));
		json_object_set_new(rd, "reconnects", json_integer((json_int_t)pf->reconnects));
		json_object_set_new(rd, "resent", json_integer((json_int_t)pf->resent));
		json_object_set_new(rd, "spool_pending", json_integer((json_int_t)pf->spool_pending));
		json_object_set_new(o, "redis", rd);
	}
	if (r->store) {
		json_t *st = json_object();
		json_object_set_new(st, "path", json_string(r->db_path));
		json_object_set_new(st, "loaded", json_integer(r->loaded));
		json_object_set_new(st, "checkpoints", json_integer((json_int_t)r->checkpoints));
		json_object_set_new(st, "failed", json_boolean(r->store_failed));
		json_object_set_new(o, "store", st);
	}
	struct ip_prefix learned[LAN_MAX_LEARNED];
	size_t n = lan_learned(trk_lan(t), learned, LAN_MAX_LEARNED);
	for (size_t i = 0; i < n && i < LAN_MAX_LEARNED; i++) {
		char p[IP_PREFIX_STRLEN];
		json_array_append_new(pfx, json_string(ip_prefix_format(&learned[i], p, sizeof(p))));
	}
	json_object_set_new(o, "lan_prefixes_learned", pfx);
	json_object_set_new(o, "lan_prefixes_dropped", json_integer((json_int_t)lan_learned_dropped(trk_lan(t))));
	json_object_set_new(o, "error", out_json_bytes(error));
	return o;
}

/* Command-line settings, applied over the configuration file in order. */
struct overrides {
	const char *config_path;
	const char *home_nets[CFG_MAX_HOME_NETS];
	size_t n_home_nets;
	const char *window, *max_flows, *max_devices;
	bool no_dpi;
	const char *alerts_path, *learn_for, *learn_list, *db_path, *rules_path, *redis_url, *redis_spool;
	/* iotids run */
	bool live, no_promisc;
	const char *iface, *capture, *ebpf_hook, *filter, *snaplen, *buffer, *stats_every, *user;
	bool learn_all, no_detect;
};

static int build_config(const struct overrides *ov, struct iotids_config *cfg)
{
	char err[512];
	cfg_defaults(cfg);
	if (ov->config_path && cfg_load(cfg, ov->config_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "iotids: %s\n", err);
		return -EINVAL;
	}
	if ((ov->window && cfg_set(cfg, "windows.length", ov->window, err, sizeof(err)) != 0) ||
	    (ov->max_flows && cfg_set(cfg, "flows.max", ov->max_flows, err, sizeof(err)) != 0) ||
	    (ov->max_devices && cfg_set(cfg, "devices.max", ov->max_devices, err, sizeof(err)) != 0) ||
	    (ov->redis_url && cfg_set(cfg, "redis.url", ov->redis_url, err, sizeof(err)) != 0) ||
	    (ov->redis_spool && cfg_set(cfg, "redis.spool.dir", ov->redis_spool, err, sizeof(err)) != 0)) {
		fprintf(stderr, "iotids: %s\n", err);
		return -EINVAL;
	}
	if (ov->n_home_nets) {
		for (size_t i = 0; i < ov->n_home_nets; i++) {
			if (ip_prefix_parse(ov->home_nets[i], &cfg->home_nets[i]) != 0) {
				fprintf(stderr, "iotids: --home-net: '%s' is not a CIDR prefix\n", ov->home_nets[i]);
				return -EINVAL;
			}
		}
		cfg->n_home_nets = ov->n_home_nets;
	}
	if (ov->no_dpi)
		cfg->dpi = false;
	if (ov->no_promisc)
		cfg->capture.promisc = false;
	const char *const capture[][2] = {
		{"capture.interface", ov->iface}, {"capture.source", ov->capture},	 {"capture.filter", ov->filter},
		{"capture.ebpf_hook", ov->ebpf_hook},
		{"capture.snaplen", ov->snaplen},  {"capture.buffer", ov->buffer},	 {"capture.stats_every", ov->stats_every},
	};
	for (size_t i = 0; i < sizeof(capture) / sizeof(capture[0]); i++) {
		if (capture[i][1] && cfg_set(cfg, capture[i][0], capture[i][1], err, sizeof(err)) != 0) {
			fprintf(stderr, "iotids: %s\n", err);
			return -EINVAL;
		}
	}
	if (ov->live && !cfg->capture.interface[0]) {
		fprintf(stderr, "iotids run: which interface? (-i IFACE, or capture.interface in the configuration)\n%s",
			run_usage);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct replay *r, struct overrides *ov)
{
	enum {
		O_FLOWS = 256, O_DEVICES, O_WINDOWS, O_JSON, O_CONFIG, O_HOME, O_WINDOW, O_MAXF, O_MAXD, O_NODPI,
		O_ALERTS, O_LEARN_FOR, O_LEARN, O_NODETECT, O_PROFILES, O_DB, O_RULES, O_REDIS, O_REDIS_SPOOL,
		O_CAPTURE, O_FILTER, O_SNAPLEN, O_BUFFER, O_NOPROMISC, O_STATS_EVERY, O_USER, O_EBPF_HOOK
	};
	static const struct option opts[] = {
		{"flows", no_argument, NULL, O_FLOWS},		{"devices", no_argument, NULL, O_DEVICES},
		{"windows", no_argument, NULL, O_WINDOWS},	{"json", no_argument, NULL, O_JSON},
		{"config", required_argument, NULL, O_CONFIG},	{"home-net", required_argument, NULL, O_HOME},
		{"window", required_argument, NULL, O_WINDOW},	{"max-flows", required_argument, NULL, O_MAXF},
		{"max-devices", required_argument, NULL, O_MAXD}, {"no-dpi", no_argument, NULL, O_NODPI},
		{"alerts", required_argument, NULL, O_ALERTS},	{"learn-for", required_argument, NULL, O_LEARN_FOR},
		{"learn", optional_argument, NULL, O_LEARN},		{"no-detect", no_argument, NULL, O_NODETECT},
		{"profiles", no_argument, NULL, O_PROFILES},	{"db", required_argument, NULL, O_DB},
		{"rules", required_argument, NULL, O_RULES},	{"redis", required_argument, NULL, O_REDIS},
		{"redis-spool", required_argument, NULL, O_REDIS_SPOOL}, {"help", no_argument, NULL, 'h'},
		{"interface", required_argument, NULL, 'i'},	{"capture", required_argument, NULL, O_CAPTURE},
		{"filter", required_argument, NULL, O_FILTER},	{"snaplen", required_argument, NULL, O_SNAPLEN},
		{"buffer", required_argument, NULL, O_BUFFER},	{"no-promisc", no_argument, NULL, O_NOPROMISC},
		{"stats-every", required_argument, NULL, O_STATS_EVERY}, {"user", required_argument, NULL, O_USER},
		{"ebpf-hook", required_argument, NULL, O_EBPF_HOOK},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	opterr = 0;
	const char *usage = ov->live ? run_usage : replay_usage;
	while ((c = getopt_long(argc, argv, ov->live ? "hi:" : "h", opts, NULL)) != -1) {
		/* Capture options belong to run, tables to replay. */
		bool live_only = c == 'i' || c == O_CAPTURE || c == O_FILTER || c == O_SNAPLEN || c == O_BUFFER ||
				 c == O_NOPROMISC || c == O_STATS_EVERY || c == O_USER || c == O_EBPF_HOOK;
		if (live_only != ov->live && (live_only || c == O_FLOWS || c == O_WINDOWS || c == O_PROFILES)) {
			fprintf(stderr, "iotids %s: %s is not an option of this command\n%s", ov->live ? "run" : "replay",
				argv[optind - 1], usage);
			return -1;
		}
		switch (c) {
		case 'i':
			ov->iface = optarg;
			break;
		case O_CAPTURE:
			ov->capture = optarg;
			break;
		case O_EBPF_HOOK:
			ov->ebpf_hook = optarg;
			break;
		case O_FILTER:
			ov->filter = optarg;
			break;
		case O_SNAPLEN:
			ov->snaplen = optarg;
			break;
		case O_BUFFER:
			ov->buffer = optarg;
			break;
		case O_NOPROMISC:
			ov->no_promisc = true;
			break;
		case O_STATS_EVERY:
			ov->stats_every = optarg;
			break;
		case O_USER:
			ov->user = optarg;
			break;
		case O_FLOWS:
			r->show |= SHOW_FLOWS;
			break;
		case O_DEVICES:
			r->show |= SHOW_DEVICES;
			break;
		case O_WINDOWS:
			r->show |= SHOW_WINDOWS;
			break;
		case O_PROFILES:
			r->show |= SHOW_PROFILES;
			break;
		case O_DB:
			ov->db_path = optarg;
			break;
		case O_RULES:
			ov->rules_path = optarg;
			break;
		case O_REDIS:
			ov->redis_url = optarg;
			break;
		case O_REDIS_SPOOL:
			ov->redis_spool = optarg;
			break;
		case O_JSON:
			r->json = true;
			break;
		case O_CONFIG:
			ov->config_path = optarg;
			break;
		case O_HOME:
			if (ov->n_home_nets == CFG_MAX_HOME_NETS) {
				fprintf(stderr, "iotids: at most %d --home-net\n", CFG_MAX_HOME_NETS);
				return -1;
			}
			ov->home_nets[ov->n_home_nets++] = optarg;
			break;
		case O_WINDOW:
			ov->window = optarg;
			break;
		case O_MAXF:
			ov->max_flows = optarg;
			break;
		case O_MAXD:
			ov->max_devices = optarg;
			break;
		case O_NODPI:
			ov->no_dpi = true;
			break;
		case O_ALERTS:
			ov->alerts_path = optarg;
			break;
		case O_LEARN_FOR:
			ov->learn_for = optarg;
			break;
		case O_LEARN:
			if (optarg)
				ov->learn_list = optarg;
			else
				ov->learn_all = true;
			break;
		case O_NODETECT:
			ov->no_detect = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			fprintf(stderr, "iotids %s: unknown or incomplete option '%s'\n%s", ov->live ? "run" : "replay",
				argv[optind - 1], usage);
			return -1;
		}
	}
	if (ov->live) {
		if (optind != argc) {
			fprintf(stderr, "iotids run: no file with run (iotids replay FILE reads one)\n%s", run_usage);
			return -1;
		}
		return 0;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "iotids replay: %s\n%s", optind == argc ? "no capture file given" : "one capture file at a time",
			replay_usage);
		return -1;
	}
	r->path = argv[optind];
	return 0;
}

struct keyed_device {
	uint8_t key[16];
	const struct device *dev;
};

static int cmp_keyed(const void *x, const void *y)
{
	return memcmp(((const struct keyed_device *)x)->key, ((const struct keyed_device *)y)->key, 16);
}

/* The device table sorted by profile key, for bsearch; NULL when out of memory. */
static struct keyed_device *keyed_devices(const struct tracker *t, size_t *n)
{
	struct device **all = dev_table_list(trk_devices(t), n);
	struct keyed_device *kd = calloc(*n ? *n : 1, sizeof(*kd));
	if (all && kd) {
		for (size_t i = 0; i < *n; i++) {
			det_device_key(all[i], kd[i].key);
			kd[i].dev = all[i];
		}
		qsort(kd, *n, sizeof(*kd), cmp_keyed);
	}
	free(all);
	if (!all) {
		free(kd);
		return NULL;
	}
	return kd;
}

static const struct device *keyed_find(const struct keyed_device *kd, size_t n, const uint8_t key[16])
{
	struct keyed_device want;
	memcpy(want.key, key, 16);
	const struct keyed_device *hit = bsearch(&want, kd, n, sizeof(*kd), cmp_keyed);
	return hit ? hit->dev : NULL;
}

struct keyed_set {
	const struct keyed_device *kd;
	size_t n;
};

static const char *stored_hostname(void *ctx, const uint8_t key[16], char *buf, size_t len)
{
	const struct keyed_set *ks = ctx;
	const struct device *dev = keyed_find(ks->kd, ks->n, key);
	return dev ? ident_hostname(dev, buf, len) : NULL;
}

/* Every profile into the store; a failure is said once and the replay
 * goes on (the next checkpoint may succeed). */
static void checkpoint(struct replay *r, uint64_t now_us)
{
	char err[512];
	struct keyed_set ks = {0};
	struct keyed_device *kd = keyed_devices(r->trk, &ks.n);
	ks.kd = kd;
	if (store_checkpoint(r->store, r->det, now_us, kd ? stored_hostname : NULL, &ks, err, sizeof(err)) == 0)
		r->checkpoints++;
	else
		store_failed(r, err);
	free(kd);
}

static int cmp_profile_first(const void *x, const void *y)
{
	struct det_profile_info a, b;
	det_profile_info(*(const struct det_profile *const *)x, &a);
	det_profile_info(*(const struct det_profile *const *)y, &b);
	if (a.first_us != b.first_us)
		return a.first_us < b.first_us ? -1 : 1;
	return memcmp(a.key, b.key, 16);
}

/* Profiles in the order their devices were first seen, each with its
 * device's name when the device is still in the table. */
static void print_profiles(struct replay *r, const struct tracker *t)
{
	size_t n = 0, m = 0;
	struct keyed_device *kd = keyed_devices(t, &n);
	for (const struct det_profile *p = det_profile_next(r->det, NULL); p; p = det_profile_next(r->det, p))
		m++;
	const struct det_profile **profs = calloc(m ? m : 1, sizeof(*profs));
	if (!kd || !profs) {
		r->write_failed = true;
		goto out;
	}
	m = 0;
	for (const struct det_profile *p = det_profile_next(r->det, NULL); p; p = det_profile_next(r->det, p))
		profs[m++] = p;
	qsort(profs, m, sizeof(*profs), cmp_profile_first);
	for (size_t i = 0; i < m; i++) {
		struct det_profile_info info;
		det_profile_info(profs[i], &info);
		const struct device *dev = keyed_find(kd, n, info.key);
		if (r->json) {
			if (out_profile_json(r->out, &r->oc, profs[i], dev, NULL) != 0)
				r->write_failed = true;
		} else {
			fputc('\n', r->out);
			out_profile_text(r->out, &r->oc, profs[i], dev, NULL);
		}
	}
out:
	free(profs);
	free(kd);
}

static void print_devices(struct replay *r, const struct tracker *t)
{
	size_t n = 0;
	struct device **all = dev_table_list(trk_devices(t), &n);
	if (!all) {
		r->write_failed = true;
		return;
	}
	if (!r->json)
		out_device_header(r->out);
	for (size_t i = 0; i < n; i++) {
		if (r->json) {
			if (out_device_json(r->out, &r->oc, all[i]) != 0)
				r->write_failed = true;
		} else {
			out_device_text(r->out, &r->oc, all[i]);
		}
	}
	free(all);
}

static void print_rules_error(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "iotids: %s\n", msg);
}

/* SIGHUP: the files are checked whole first; any error keeps the rules in
 * force. Taken between packets, so a reload is never half applied. */
static void reload_rules(struct replay *r)
{
	if (!r->rules) {
		fprintf(stderr, "iotids: SIGHUP: no rules to reload (start with --rules PATH)\n");
		return;
	}
	size_t nu, ne;
	struct rules *rs = rules_load(r->rules_path, print_rules_error, NULL);
	if (!rs) {
		rules_count(rules_engine_rules(r->rules), &nu, &ne);
		fprintf(stderr, "iotids: rules: %s not reloaded: the %zu rules in force stay\n", r->rules_path, nu + ne);
		r->reloads_failed++;
		return;
	}
	rules_engine_set(r->rules, rs);
	rules_count(rs, &nu, &ne);
	fprintf(stderr, "iotids: rules: reloaded %zu rules (%zu updates, %zu exceptions) from %s\n", nu + ne, nu, ne,
		r->rules_path);
	r->reloads++;
}

/* One stats line on stderr, for a daemon's log. */
static void log_stats(const struct replay *r, const struct cap_source *src, const struct tracker *t)
{
	char capture[300];
	live_capture_stats(src, capture, sizeof(capture));
	const struct flow_stats *fs = flow_table_stats(trk_flows(t));
	const struct dev_stats *vs = dev_table_stats(trk_devices(t));
	char red[200] = "";
	if (r->pub) {
		struct pub_stats ps;
		publisher_stats(r->pub, &ps);
		snprintf(red, sizeof(red), ", redis %s %llu published %llu spooled %llu dropped",
			 ps.connected ? "up" : "down", (unsigned long long)ps.published, (unsigned long long)ps.spooled,
			 (unsigned long long)ps.dropped);
	}
	fprintf(stderr,
		"iotids: info: stats: packets %llu, %s, flows %llu (%llu now), devices %llu, alerts %llu%s\n",
		(unsigned long long)trk_stats(t)->packets, capture, (unsigned long long)fs->created,
		(unsigned long long)fs->active,
		(unsigned long long)vs->active, r->det ? (unsigned long long)det_stats(r->det)->alerts : 0ull, red);
}

static int run_pipeline(int argc, char **argv, bool live);

static void track(struct tracker *t, int linktype, const struct cap_packet *p)
{
	if (p->summary)
		trk_summary(t, linktype, p->data, p->caplen, p->packets, p->wirelen, p->ts_us);
	else
		trk_packet(t, linktype, p->data, p->caplen, p->wirelen, p->ts_us);
}

int cmd_replay(int argc, char **argv)
{
	return run_pipeline(argc, argv, false);
}

int cmd_run(int argc, char **argv)
{
	return run_pipeline(argc, argv, true);
}

static int run_pipeline(int argc, char **argv, bool live)
{
	struct replay r = {.out = stdout, .live = live};
	struct overrides ov = {.live = live};
	struct iotids_config cfg;
	struct cap_source *src = NULL;
	struct tracker *t = NULL;
	char err[640] = "", pid[32];
	const char *error = NULL;
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	int rc = parse_args(argc, argv, &r, &ov);
	if (rc != 0)
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if (build_config(&ov, &cfg) != 0)
		return CLI_EXIT_USAGE;
	if (live)
		r.path = cfg.capture.interface;
	uint64_t learn_for_s = 0;
	if (ov.learn_for && (cfg_parse_duration(ov.learn_for, &learn_for_s) != 0 || learn_for_s == 0)) {
		fprintf(stderr, "iotids replay: --learn-for: '%s' is not a duration (e.g. 20m, 24h)\n", ov.learn_for);
		return CLI_EXIT_USAGE;
	}
	static uint8_t learn_keys[LEARN_MAX_DEVICES][16];
	size_t n_learn_keys = 0;
	if (ov.learn_list && parse_learn_list(ov.learn_list, learn_keys, &n_learn_keys) != 0)
		return CLI_EXIT_USAGE;
	if ((r.show & SHOW_PROFILES || ov.db_path || ov.rules_path) && ov.no_detect) {
		fprintf(stderr, "iotids replay: %s needs detection (drop --no-detect)\n",
			ov.db_path ? "--db" : ov.rules_path ? "--rules" : "--profiles");
		return CLI_EXIT_USAGE;
	}
	/* Rules are checked before anything runs: a mistake in them is a
	 * usage error, reported whole. */
	struct rules *rules = NULL;
	if (ov.rules_path && !(rules = rules_load(ov.rules_path, print_rules_error, NULL)))
		return CLI_EXIT_USAGE;

	uint64_t stats_every_s = cfg.capture.stats_every_s;
	src = live ? live_open(&cfg.capture, cfg.max_flows, err, sizeof(err)) : cap_open_file(r.path, err, sizeof(err));
	if (!src) {
		fprintf(stderr, "iotids: %s\n", err);
		rules_free(rules);
		/* A missing, down or forbidden interface is the operator's to fix. */
		return live ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
	}
	/* Root was for the capture alone: the store, alerts file and spool
	 * are then created by the user that writes them later. */
	if (live && ov.user && live_drop_privileges(ov.user, src, err, sizeof(err)) != 0) {
		fprintf(stderr, "iotids: %s\n", err);
		cap_close(src);
		rules_free(rules);
		return CLI_EXIT_USAGE;
	}
	/* Vendors are printed with the device table and in alerts: the
	 * registry (40 ms to load) is read only then, before any packet, so a
	 * bad path still fails early. */
	struct oui_db *oui = NULL;
	bool want_oui = (r.show & SHOW_DEVICES) || !ov.no_detect;
	if (want_oui)
		oui = oui_load(cfg.oui_dir, err, sizeof(err));
	struct domain_db *psl = oui || !want_oui ? domain_open(cfg.psl_path, err, sizeof(err)) : NULL;
	if (!psl) {
		fprintf(stderr, "iotids: %s (set identity.%s in the configuration)\n", err,
			want_oui && !oui ? "oui_dir" : "public_suffix_list");
		oui_free(oui);
		cap_close(src);
		rules_free(rules);
		return CLI_EXIT_RUNTIME;
	}
	struct trk_cfg tc = {
		.home_nets = cfg.home_nets,
		.n_home_nets = cfg.n_home_nets,
		.learn_ipv6_prefixes = cfg.learn_ipv6_prefixes,
		.window_s = cfg.window_s,
		.window_max_remotes = cfg.window_max_remotes,
		.max_flows = cfg.max_flows,
		.max_devices = cfg.max_devices,
		.dpi = cfg.dpi,
		.max_dpi_states = cfg.max_dpi_states,
		.max_names = cfg.max_names,
		.dns_cache_max = cfg.dns_cache_max,
		.dns_cache_per_device = cfg.dns_cache_per_device,
		.on_flow_end = on_flow_end,
		.on_flow_ready = on_flow_ready,
		.on_window = on_window,
		.ctx = &r,
	};
	_Static_assert((int)FLOW_TMO_COUNT == (int)CFG_TIMEOUT_COUNT, "timeout classes match the config");
	memcpy(tc.timeouts_s, cfg.timeouts_s, sizeof(tc.timeouts_s));
	t = r.trk = trk_new(&tc);
	if (!t) {
		fprintf(stderr, "iotids: out of memory building tables (max_flows %u, max_devices %u)\n", cfg.max_flows,
			cfg.max_devices);
		rc = CLI_EXIT_RUNTIME;
		goto out;
	}
	r.oc = (struct out_ctx){.dpi = trk_dpi(t), .oui = oui, .psl = psl};
	if (!ov.no_detect) {
		struct det_cfg dc = {
			.learn_for_us = ov.learn_all ? UINT64_MAX : learn_for_s * 1000000u,
			.learn_min_us = (uint64_t)cfg.learn_min_s * 1000000u,
			.learn_max_us = (uint64_t)cfg.learn_max_s * 1000000u,
			.maturity_target = cfg.maturity_percent / 100.0,
			.threshold = cfg.threshold_percent / 100.0,
			.max_devices = cfg.max_devices,
			.psl = psl,
			.learn_keys = learn_keys,
			.n_learn_keys = n_learn_keys,
		};
		r.det = det_new(&dc, on_alert, &r);
		if (!r.det) {
			fprintf(stderr, "iotids: out of memory building the detector\n");
			rc = CLI_EXIT_RUNTIME;
			goto out;
		}
	}
	if (rules) {
		if (!(r.rules = rules_engine_new())) {
			fprintf(stderr, "iotids: out of memory building the rules engine\n");
			rc = CLI_EXIT_RUNTIME;
			goto out;
		}
		rules_engine_set(r.rules, rules);
		rules = NULL;
		r.rules_path = ov.rules_path;
		det_set_suppress(r.det, suppress_alert, &r);
	}
	if (ov.db_path) {
		int code;
		r.db_path = ov.db_path;
		if (!(r.store = store_open(ov.db_path, true, err, sizeof(err), &code)) ||
		    (r.loaded = store_load(r.store, r.det, err, sizeof(err))) < 0) {
			fprintf(stderr, "iotids: %s\n", err);
			rc = CLI_EXIT_RUNTIME;
			goto out;
		}
	}
	/* Before the pid is recorded: a SIGHUP must never find the default
	 * action (exit). Restarted reads: a reload never cuts a pipe's read. */
	struct sigaction hup = {.sa_handler = on_reload_signal, .sa_flags = SA_RESTART};
	sigaction(SIGHUP, &hup, NULL);
	/* So that `iotids rules reload --db` finds this process. */
	if (r.store && store_meta_set(r.store, "detector_pid", pid, err, sizeof(err)) != 0)
		store_failed(&r, err);
	if (ov.alerts_path && !(r.alerts = fopen(ov.alerts_path, "w"))) {
		fprintf(stderr, "iotids: %s: cannot write: %s\n", ov.alerts_path, strerror(errno));
		rc = CLI_EXIT_RUNTIME;
		goto out;
	}
	if (cfg.redis.url[0] && !r.det) {
		fprintf(stderr, "iotids: --redis publishes alerts: it cannot go with --no-detect\n");
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (cfg.redis.url[0] && (rc = start_publisher(&r, &cfg)) != 0)
		goto out;


	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct progress prog = {.on = !live && isatty(STDERR_FILENO) == 1, .start = now_s()};
	prog.last = prog.start;
	int linktype = cap_linktype(src);
	struct cap_packet p;
	enum cap_status st = CAP_END;
	double next_stats = now_s() + (double)stats_every_s;
	/* Said once everything is ready, signal handlers included. */
	if (live)
		fprintf(stderr, "iotids: info: watching %s (%s, %s)\n", r.path, cap_linktype_name(src),
			live_source_name(src));
	while (!stop_signal && ((st = cap_next(src, &p)) == CAP_PACKET || st == CAP_IDLE)) {
		if (reload_signal) {
			reload_signal = 0;
			reload_rules(&r);
		}
		if (st == CAP_PACKET) {
			track(t, linktype, &p);
		} else if (live) {
			/* A silent LAN: the kernel's clock moves time on, two seconds
			 * behind, past any packet still waiting in the ring and any
			 * count the eBPF source reads once a second. */
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			uint64_t now_us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
			trk_advance(t, now_us - 2000000u);
		}
		if (live) {
			if (stats_every_s && now_s() >= next_stats) {
				log_stats(&r, src, t);
				next_stats = now_s() + (double)stats_every_s;
			}
		} else if ((trk_stats(t)->packets & 0xfff) == 0) {
			progress_show(&prog, src, trk_stats(t)->packets, false);
		}
	}
	progress_show(&prog, src, trk_stats(t)->packets, true);
	if (live && stop_signal) {
		/* The way a daemon is told to stop: not an error. What the kernel
		 * already holds is still read (for a second at most), so that
		 * traffic before the signal is all seen. */
		double until = now_s() + 1.0;
		uint64_t before = trk_stats(t)->packets;
		bool cut = false;
		cap_stop(src);
		while (!cut && (st = cap_next(src, &p)) == CAP_PACKET) {
			track(t, linktype, &p);
			cut = now_s() >= until;
		}
		if (cut)
			fprintf(stderr,
				"iotids: warning: stopped reading what the kernel held after 1 s (%llu packets read); "
				"the rest is not counted\n",
				(unsigned long long)(trk_stats(t)->packets - before));
		fprintf(stderr, "iotids: info: signal %d: stopping (flushing alerts, checkpointing profiles)\n",
			(int)stop_signal);
		log_stats(&r, src, t);
	} else if (stop_signal) {
		snprintf(err, sizeof(err), "%s: interrupted by signal %d after packet %llu", r.path, (int)stop_signal,
			 (unsigned long long)trk_stats(t)->packets);
		error = err;
	} else if (st == CAP_ERROR) {
		snprintf(err, sizeof(err), "%s", cap_error(src));
		error = err;
	}
	trk_finish(t);
	stop_publisher(&r);
	if (r.store)
		checkpoint(&r, trk_stats(t)->last_us);
	if (r.show & SHOW_DEVICES)
		print_devices(&r, t);
	if ((r.show & SHOW_PROFILES) && r.det)
		print_profiles(&r, t);
	if (r.json && !r.show) {
		json_t *sum = summary_json(&r, src, t, error);
		if (!sum || json_dumpf(sum, r.out, JSON_COMPACT) != 0 || fputc('\n', r.out) == EOF)
			r.write_failed = true;
		json_decref(sum);
	} else if (!r.json) {
		if (r.show)
			fputc('\n', r.out);
		print_summary_text(r.out, &r, src, t);
	}
	rc = error || r.store_failed ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
	if (error)
		fprintf(stderr, "iotids: %s\n", error);
	if (fflush(r.out) != 0 || ferror(r.out) || r.write_failed) {
		fprintf(stderr, "iotids: writing output: %s\n", strerror(errno ? errno : EIO));
		rc = CLI_EXIT_RUNTIME;
	}
	if (r.alerts && (fflush(r.alerts) != 0 || ferror(r.alerts) || r.alerts_failed)) {
		fprintf(stderr, "iotids: %s: writing alerts: %s\n", ov.alerts_path, strerror(errno ? errno : EIO));
		rc = CLI_EXIT_RUNTIME;
	}
out:
	stop_publisher(&r);
	if (r.alerts && fclose(r.alerts) != 0 && rc == CLI_EXIT_OK) {
		fprintf(stderr, "iotids: %s: writing alerts: %s\n", ov.alerts_path, strerror(errno));
		rc = CLI_EXIT_RUNTIME;
	}
	/* Another replay may have opened the store since: only our own pid goes. */
	char owner[32];
	if (r.store && store_meta_get(r.store, "detector_pid", owner, sizeof(owner), err, sizeof(err)) == 1 &&
	    !strcmp(owner, pid) && store_meta_set(r.store, "detector_pid", NULL, err, sizeof(err)) != 0)
		fprintf(stderr, "iotids: %s\n", err);
	store_close(r.store);
	rules_free(rules);
	det_free(r.det);
	rules_engine_free(r.rules);
	trk_free(t);
	domain_close(psl);
	oui_free(oui);
	cap_close(src);
	return rc;
}
