#include "features/tracker.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/dhcp.h"
#include "features/dns.h"
#include "features/ssdp.h"

#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58
#define PORT_DNS 53
#define PORT_DHCP_SERVER 67
#define PORT_DHCP_CLIENT 68
#define PORT_SSDP 1900
#define PORT_MDNS 5353
/* CNAMEs followed from a query to its addresses (resolvers stop near 8-16). */
#define CNAME_CHAIN_MAX 8
/* Fresh devices' DNS answers dropped per answer learned, at most, while the
 * name table is past its high-water mark: bounded work per packet, and more
 * than one answer's worth (DNS_MAX_RRS addresses) so the table comes back. */
#define SHED_BUDGET 64

struct tracker {
	struct trk_cfg cfg;
	struct decoder *dec;
	struct lan *lan;
	struct flow_table *flows;
	struct dev_table *devs;
	struct win_table *wins;
	struct intern *names;
	struct dpi *dpi;          /* NULL when off */
	struct dns_cache *dns;
	struct ident_table *ident;
	struct dns_msg *msg;      /* scratch for DNS and mDNS (large) */
	struct trk_stats stats;
	uint64_t now_us;
	/* The device (handle + 1) last found as a sender [1] and a receiver [0]:
	 * a new flow's devices are usually those of the flow before it. */
	uint32_t recent[2];
};

static bool mac_unicast(const uint8_t mac[6])
{
	return !(mac[0] & 1) && (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) != 0;
}

static bool ip_unicast(const struct ip_addr *ip)
{
	return !ip_is_multicast(ip) && !ip_is_broadcast(ip) && !ip_is_unspecified(ip);
}

/* The local device at one end of a flow, if it is still in the table,
 * seen at now_us. */
static struct device *flow_device_at(struct tracker *t, const struct flow *f, bool initiator, uint64_t now_us)
{
	const struct ip_addr *ip = initiator ? &f->src : &f->dst;
	bool has_mac = initiator ? f->has_src_mac : f->has_dst_mac;
	if (!lan_is_local(t->lan, ip))
		return NULL;
	if (has_mac)
		return dev_table_by_mac(t->devs, initiator ? f->src_mac : f->dst_mac, now_us, false);
	return ip_unicast(ip) ? dev_table_by_ip(t->devs, ip, now_us, false) : NULL;
}

static struct device *flow_device(struct tracker *t, const struct flow *f, bool initiator)
{
	return flow_device_at(t, f, initiator, t->now_us);
}

/* Seen at the flow's last packet, which already touched it. */
struct device *trk_flow_initiator(struct tracker *t, const struct flow *f)
{
	return flow_device_at(t, f, true, f->last_us);
}

static void count_failed(struct tracker *t, struct flow *f)
{
	struct device *d = flow_device(t, f, true);
	if (d && win_failed(t->wins, d) != 0)
		t->stats.no_memory++;
}

/* Whether names made for d (its DNS answers, its flows' SNI or Host) are
 * kept below the name table's high-water mark (intern.h): so they are for
 * a device not yet settled (device.h), for one already holding half its
 * DNS cache (a device resolving a million names), and for flows with no
 * local initiator. */
static bool names_limited(const struct tracker *t, const struct device *d)
{
	return !d || d->fresh || dnsc_heavy(t->dns, d);
}

/* Names f after what nDPI saw (SNI, HTTP Host) when DNS did not name it. */
static void name_from_dpi(struct tracker *t, struct flow *f, struct device *initiator, const struct dpi_result *r)
{
	struct ip_addr literal;
	/* "Host: 203.0.113.7" names nothing. */
	if (f->name || r->host_source == FLOW_NAME_NONE || ip_parse(r->host, &literal) == 0)
		return;
	/* "example.org." is the name DNS knows as "example.org". */
	size_t len = strlen(r->host);
	if (len > 1 && r->host[len - 1] == '.')
		len--;
	f->name = names_limited(t, initiator) ? intern_get_limited(t->names, r->host, len)
					       : intern_get(t->names, r->host, len);
	if (!f->name)
		return;
	f->name_source = r->host_source;
	t->stats.flows_named[r->host_source]++;
	if (initiator)
		ident_add_name(initiator, f->name, t->now_us);
}

static void report_ready(struct tracker *t, struct flow *f, const struct device *initiator,
			 const struct device *responder)
{
	f->ready = 1;
	if (t->cfg.on_flow_ready)
		t->cfg.on_flow_ready(t->cfg.ctx, f, initiator, responder);
}

static void on_flow_end(void *ctx, struct flow *f, enum flow_end why)
{
	struct tracker *t = ctx;
	/* Unanswered is only known once the SYN has timed out. */
	if (!f->failed && why == FLOW_END_IDLE && flow_syn_unanswered(f)) {
		f->failed = true;
		count_failed(t, f);
	}
	if (t->dpi && f->l7_state == DPI_RUNNING) {
		struct dpi_result r;
		dpi_flow_end(t->dpi, f, &r);
		if (r.finished)
			name_from_dpi(t, f, flow_device(t, f, true), &r);
	}
	if (!f->ready)
		report_ready(t, f, flow_device(t, f, true), flow_device(t, f, false));
	if (t->cfg.on_flow_end)
		t->cfg.on_flow_end(t->cfg.ctx, f, why);
	intern_put(t->names, f->name);
	intern_put(t->names, f->cname);
	f->name = f->cname = NULL;
}

static void device_gone(struct tracker *t, struct device *d, bool emit_partial)
{
	win_device_gone(t->wins, d, emit_partial);
	ident_device_gone(t->ident, d);
	dnsc_device_gone(t->dns, d);
}

static void on_dev_evict(void *ctx, struct device *d)
{
	device_gone(ctx, d, true);
}

struct tracker *trk_new(const struct trk_cfg *cfg)
{
	struct tracker *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *cfg;
	struct flow_table_cfg fc = {.max_flows = cfg->max_flows, .on_end = on_flow_end, .ctx = t};
	memcpy(fc.timeout_s, cfg->timeouts_s, sizeof(fc.timeout_s));
	struct dev_table_cfg dc = {.max_devices = cfg->max_devices, .on_evict = on_dev_evict, .ctx = t};
	t->names = intern_new(cfg->max_names, 0);
	struct win_cfg wc = {.length_s = cfg->window_s,
			     .max_remotes = cfg->window_max_remotes,
			     .emit = cfg->on_window,
			     .ctx = cfg->ctx,
			     .names = t->names};
	if (cfg->dpi) {
		char err[128];
		t->dpi = dpi_new(cfg->max_dpi_states, err, sizeof(err));
		if (!t->dpi) {
			trk_free(t);
			return NULL;
		}
	}
	t->dns = dnsc_new(cfg->dns_cache_max, cfg->dns_cache_per_device, t->names, 0);
	t->ident = ident_new(t->names);
	t->msg = malloc(sizeof(*t->msg));
	t->dec = dec_new();
	t->lan = lan_new(cfg->home_nets, cfg->n_home_nets, cfg->learn_ipv6_prefixes);
	t->flows = flow_table_new(&fc);
	t->devs = dev_table_new(&dc);
	t->wins = win_new(&wc);
	if (!t->names || !t->dns || !t->ident || !t->msg || !t->dec || !t->lan || !t->flows || !t->devs || !t->wins) {
		trk_free(t);
		return NULL;
	}
	return t;
}

void trk_free(struct tracker *t)
{
	if (!t)
		return;
	/* Flows first: their end callback may look devices up. Names still
	 * held by flows go with the name table. */
	flow_table_free(t->flows);
	if (t->devs && t->wins && t->ident && t->dns) {
		size_t n = 0;
		struct device **all = dev_table_list(t->devs, &n);
		for (size_t i = 0; all && i < n; i++)
			device_gone(t, all[i], false);
		free(all);
	}
	win_free(t->wins);
	dev_table_free(t->devs);
	dnsc_free(t->dns);
	ident_free(t->ident);
	dpi_free(t->dpi);
	intern_free(t->names);
	free(t->msg);
	lan_free(t->lan);
	dec_free(t->dec);
	free(t);
}

/* The device that sent (sender) or receives a packet, if that end is a
 * unicast LAN endpoint. Only a sender binds its address to its MAC: a
 * packet's destination proves nothing about who owns an address. */
static struct device *endpoint_device(struct tracker *t, const struct pkt_meta *m, bool sender, bool local)
{
	const struct ip_addr *ip = sender ? &m->src : &m->dst;
	bool has_mac = sender ? m->has_src_mac : m->has_dst_mac;
	const uint8_t *mac = sender ? m->src_mac : m->dst_mac;
	if (!local || ip_is_multicast(ip) || ip_is_broadcast(ip))
		return NULL;
	if (has_mac && mac_unicast(mac)) {
		struct device *d = dev_table_by_mac(t->devs, mac, m->ts_us, true);
		if (d && sender && !ip_is_unspecified(ip))
			dev_table_bind_ip(t->devs, d, ip);
		return d;
	}
	if (ip_is_unspecified(ip))
		return NULL;
	return dev_table_by_ip(t->devs, ip, m->ts_us, true);
}

/* d sent a packet at ts_us: it may have settled now (device.h). */
static void sent_by(struct tracker *t, struct device *d, uint64_t ts_us)
{
	if (dev_table_sent(t->devs, d, ts_us))
		dnsc_device_settled(t->dns, d);
}

static void handle_arp(struct tracker *t, const struct pkt_meta *m)
{
	if (!mac_unicast(m->arp_sha) || !ip_unicast(&m->src) || !lan_is_local(t->lan, &m->src))
		return;
	struct device *d = dev_table_by_mac(t->devs, m->arp_sha, m->ts_us, true);
	if (!d)
		return;
	dev_table_bind_ip(t->devs, d, &m->src);
	sent_by(t, d, m->ts_us);
	d->packets_out += dec_meta_packets(m);
	d->bytes_out += m->wirelen;
}

static void handle_icmp_error(struct tracker *t, const struct pkt_meta *m)
{
	struct flow *f = flow_table_find(t->flows, &m->inner_src, &m->inner_dst, m->inner_sport, m->inner_dport,
					 m->inner_proto);
	if (!f || f->failed)
		return;
	f->failed = true;
	count_failed(t, f);
}

static void set_flow_macs(struct flow *f, bool forward, const struct device *sender, const struct device *receiver)
{
	bool *s_has = forward ? &f->has_src_mac : &f->has_dst_mac;
	bool *r_has = forward ? &f->has_dst_mac : &f->has_src_mac;
	if (sender && sender->has_mac && !*s_has) {
		memcpy(forward ? f->src_mac : f->dst_mac, sender->mac, 6);
		*s_has = true;
	}
	if (receiver && receiver->has_mac && !*r_has) {
		memcpy(forward ? f->dst_mac : f->src_mac, receiver->mac, 6);
		*r_has = true;
	}
}

static void count_window(struct tracker *t, struct device *d, struct flow *f, bool started, bool sent,
			 bool remote_local, bool created, const struct pkt_meta *m)
{
	if (win_packet(t->wins, d, f, started, sent, remote_local, created, m) != 0)
		t->stats.no_memory++;
}

/* The device at one end of a packet of flow f, through the handle the flow
 * keeps for that end (flow->user[FLOW_DEV_SLOT + end], 0 = none, else
 * handle + 1) when it still matches the packet's MAC, else by lookup. */
#define FLOW_DEV_SLOT 4

static struct device *flow_end_device(struct tracker *t, struct flow *f, const struct pkt_meta *m, bool sender,
				      bool local, bool initiator)
{
	uint32_t *cached = &f->user[FLOW_DEV_SLOT + (initiator ? 0 : 1)];
	const uint8_t *mac = sender ? m->src_mac : m->dst_mac;
	bool has_mac = sender ? m->has_src_mac : m->has_dst_mac;
	const struct ip_addr *ip = sender ? &m->src : &m->dst;
	uint32_t h = *cached ? *cached : t->recent[sender];
	/* As endpoint_device: a group address is nobody's, whatever the MAC. */
	if (h && local && has_mac && !ip_is_multicast(ip) && !ip_is_broadcast(ip)) {
		struct device *d = dev_table_by_handle(t->devs, h - 1, mac, m->ts_us);
		if (d) {
			if (sender && !ip_is_unspecified(&m->src))
				dev_table_bind_ip(t->devs, d, &m->src);
			*cached = t->recent[sender] = h;
			return d;
		}
	}
	struct device *d = endpoint_device(t, m, sender, local);
	*cached = d && d->has_mac ? dev_table_handle(t->devs, d) + 1 : 0;
	if (*cached)
		t->recent[sender] = *cached;
	return d;
}

/* ---- names from DNS answers ---- */

static bool in_chain(const char *const *chain, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(chain[i], name) == 0)
			return true;
	return false;
}

/* An answer to querier's question: every address it gives for the name
 * asked (directly or through CNAMEs) now stands for that name. */
static void learn_dns_answer(struct tracker *t, struct device *querier, struct dns_msg *msg)
{
	if (!msg->response || msg->n_questions == 0 || msg->rcode != 0)
		return;
	dns_name_lower(msg->q[0].name);
	for (uint8_t i = 0; i < msg->n_rrs; i++) {
		dns_name_lower(msg->rr[i].name);
		dns_name_lower(msg->rr[i].target);
	}
	const char *chain[CNAME_CHAIN_MAX + 1] = {msg->q[0].name};
	size_t n = 1;
	for (bool grew = true; grew && n <= CNAME_CHAIN_MAX;) {
		grew = false;
		for (uint8_t i = 0; i < msg->n_rrs; i++) {
			const struct dns_rr *rr = &msg->rr[i];
			if (rr->type == DNS_TYPE_CNAME && rr->section == DNS_SEC_ANSWER &&
			    strcmp(rr->name, chain[n - 1]) == 0 && !in_chain(chain, n, rr->target)) {
				chain[n++] = rr->target;
				grew = true;
				break;
			}
		}
	}
	struct iname *(*get)(struct intern *, const char *, size_t) =
		names_limited(t, querier) ? intern_get_limited : intern_get;
	struct iname *qname = get(t->names, chain[0], strlen(chain[0]));
	if (!qname)
		return;
	struct iname *cname = NULL;
	if (n > 1) {
		/* Joined by newlines, which no sanitised name contains. */
		char buf[2048];
		size_t off = 0;
		for (size_t i = 1; i < n && off < sizeof(buf); i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i > 1 ? "\n" : "", chain[i]);
		if (off < sizeof(buf))
			cname = get(t->names, buf, off);
	}
	for (uint8_t i = 0; i < msg->n_rrs; i++) {
		const struct dns_rr *rr = &msg->rr[i];
		if ((rr->type == DNS_TYPE_A || rr->type == DNS_TYPE_AAAA) && rr->section == DNS_SEC_ANSWER &&
		    in_chain(chain, n, rr->name))
			dnsc_add(t->dns, querier, &rr->addr, qname, cname, rr->ttl, t->now_us);
	}
	intern_put(t->names, qname);
	intern_put(t->names, cname);
	/* Past the mark, what fresh devices were told goes first, so the
	 * reserve comes back for the settled ones. */
	for (int i = 0; i < SHED_BUDGET && intern_above_high_water(t->names); i++)
		if (!dnsc_shed_fresh(t->dns))
			break;
}

/* ---- who a device is: DHCP, mDNS, SSDP ---- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The service type in an instance name, "Living Room._googlecast._tcp.local"
 * -> "_googlecast._tcp.local". A dot inside the instance label is escaped
 * (\x2e), so "._" can only start the service type. NULL when there is none. */
static const char *service_type(const char *owner)
{
	if (owner[0] == '_')
		return owner;
	const char *s = strstr(owner, "._");
	return s ? s + 1 : NULL;
}

/* The model a TXT record gives, by the keys DNS-SD services use for it:
 * "md" (Chromecast, HomeKit), "model" (Apple, Sonos), "am" (AirPlay),
 * "ty" (printers). Strings are joined by ';' (dns.h). */
static void learn_mdns_model(struct tracker *t, struct device *d, const char *txt)
{
	static const char *const keys[] = {"md=", "model=", "am=", "ty="};
	for (const char *s = txt; *s;) {
		size_t n = strcspn(s, ";");
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			size_t kl = strlen(keys[k]);
			if (n > kl && strncmp(s, keys[k], kl) == 0) {
				char v[DNS_TXT_MAX + 1];
				snprintf(v, sizeof(v), "%.*s", (int)(n - kl), s + kl);
				ident_add(t->ident, d, IDENT_MDNS_MODEL, v, t->now_us);
			}
		}
		s += n + (s[n] == ';');
	}
}

static void learn_mdns_instance(struct tracker *t, struct device *d, const char *owner)
{
	const char *type = service_type(owner);
	if (!type)
		return;
	if (type != owner)
		ident_add(t->ident, d, IDENT_MDNS_INSTANCE, owner, t->now_us);
	ident_add(t->ident, d, IDENT_MDNS_SERVICE, type, t->now_us);
}

static void learn_mdns(struct tracker *t, struct device *d, struct dns_msg *msg)
{
	if (!msg->response)
		return;
	for (uint8_t i = 0; i < msg->n_rrs; i++) {
		const struct dns_rr *rr = &msg->rr[i];
		switch (rr->type) {
		case DNS_TYPE_A:
		case DNS_TYPE_AAAA:
			if (ends_with(rr->name, ".local"))
				ident_add(t->ident, d, IDENT_MDNS_HOSTNAME, rr->name, t->now_us);
			break;
		case DNS_TYPE_PTR:
			if (ends_with(rr->name, ".arpa")) {
				ident_add(t->ident, d, IDENT_MDNS_HOSTNAME, rr->target, t->now_us);
			} else if (strcmp(rr->name, "_services._dns-sd._udp.local") == 0) {
				ident_add(t->ident, d, IDENT_MDNS_SERVICE, rr->target, t->now_us);
			} else if (rr->name[0] == '_') {
				learn_mdns_instance(t, d, rr->target);
			}
			break;
		case DNS_TYPE_SRV:
			learn_mdns_instance(t, d, rr->name);
			ident_add(t->ident, d, IDENT_MDNS_HOSTNAME, rr->target, t->now_us);
			break;
		case DNS_TYPE_TXT:
			learn_mdns_instance(t, d, rr->name);
			learn_mdns_model(t, d, rr->txt);
			break;
		default:
			break;
		}
	}
}

static void learn_dhcp(struct tracker *t, const struct pkt_meta *m, struct device *sender)
{
	struct dhcp_msg msg;
	if (dhcp_parse(m->payload, m->payload_len, &msg) != DHCP_OK) {
		t->stats.dhcp_malformed++;
		return;
	}
	t->stats.dhcp_parsed++;
	if (msg.op != 1)
		return;
	/* Through a relay the frame's source is the relay: chaddr is the client. */
	struct device *d = msg.has_chaddr && mac_unicast(msg.chaddr)
				   ? dev_table_by_mac(t->devs, msg.chaddr, t->now_us, true)
				   : sender;
	if (!d)
		return;
	ident_add(t->ident, d, IDENT_DHCP_HOSTNAME, msg.hostname, t->now_us);
	ident_add(t->ident, d, IDENT_DHCP_VENDOR_CLASS, msg.vendor_class, t->now_us);
	ident_add(t->ident, d, IDENT_DHCP_FINGERPRINT, msg.param_list, t->now_us);
	ident_add(t->ident, d, IDENT_DHCP_CLIENT_ID, msg.client_id, t->now_us);
	ident_add(t->ident, d, IDENT_DHCP_FQDN, msg.fqdn, t->now_us);
}

static void learn_ssdp(struct tracker *t, const struct pkt_meta *m, struct device *sender)
{
	struct ssdp_msg msg;
	if (ssdp_parse(m->payload, m->payload_len, &msg) != SSDP_OK) {
		t->stats.ssdp_malformed++;
		return;
	}
	t->stats.ssdp_parsed++;
	if (!sender)
		return;
	ident_add(t->ident, sender, IDENT_SSDP_SERVER, msg.server, t->now_us);
	ident_add(t->ident, sender, IDENT_SSDP_USER_AGENT, msg.user_agent, t->now_us);
	/* "uuid:X::urn:...:service:Y" per service: the device is its uuid. */
	char *sep = strstr(msg.usn, "::");
	if (sep)
		*sep = '\0';
	ident_add(t->ident, sender, IDENT_SSDP_USN, msg.usn, t->now_us);
}

/* Window features of the answers a device receives (a damaged message
 * counts for what was parsed of it, if its question was). */
static void count_dns_answer(struct tracker *t, struct device *querier, const struct dns_msg *msg)
{
	if (!msg->response || msg->n_questions == 0)
		return;
	if (win_dns_answer(t->wins, querier, msg->rcode, msg->q[0].qtype, msg->q[0].name) != 0)
		t->stats.no_memory++;
}

static void learn_from_payload(struct tracker *t, const struct pkt_meta *m, struct device *snd, struct device *rcv)
{
	if (!m->payload || m->payload_len == 0)
		return;
	if (m->proto == PROTO_UDP) {
		if (m->sport == PORT_MDNS || m->dport == PORT_MDNS) {
			int rc = dns_parse(m->payload, m->payload_len, t->msg);
			(*(rc == DNS_OK ? &t->stats.mdns_parsed : &t->stats.mdns_malformed))++;
			if (snd)
				learn_mdns(t, snd, t->msg);
		} else if (m->sport == PORT_DNS && rcv) {
			int rc = dns_parse(m->payload, m->payload_len, t->msg);
			(*(rc == DNS_OK ? &t->stats.dns_parsed : &t->stats.dns_malformed))++;
			count_dns_answer(t, rcv, t->msg);
			learn_dns_answer(t, rcv, t->msg);
		} else if (m->dport == PORT_DHCP_SERVER && (m->sport == PORT_DHCP_CLIENT || m->sport == PORT_DHCP_SERVER)) {
			/* From the client (68), or from a relay agent (67 -> 67). */
			learn_dhcp(t, m, snd);
		} else if (m->sport == PORT_SSDP || m->dport == PORT_SSDP) {
			learn_ssdp(t, m, snd);
		}
	} else if (m->proto == PROTO_TCP && m->sport == PORT_DNS && rcv && m->payload_len > 2 &&
		   ((uint32_t)m->payload[0] << 8 | m->payload[1]) == m->payload_len - 2) {
		/* One whole message per segment, as resolvers answer; a message
		 * split over segments is not reassembled. */
		int rc = dns_parse(m->payload + 2, m->payload_len - 2, t->msg);
		(*(rc == DNS_OK ? &t->stats.dns_parsed : &t->stats.dns_malformed))++;
		count_dns_answer(t, rcv, t->msg);
		learn_dns_answer(t, rcv, t->msg);
	}
}

static void name_from_dns(struct tracker *t, struct flow *f, struct device *initiator)
{
	struct iname *chain;
	/* A TCP connection joined mid-stream began before we saw it. */
	bool stale_ok = f->proto == PROTO_TCP && f->state == FLOW_ST_ACTIVE;
	struct iname *n = dnsc_lookup(t->dns, initiator, &f->dst, t->now_us, stale_ok, &chain);
	if (!n)
		return;
	f->name = intern_ref(n);
	f->cname = intern_ref(chain);
	f->name_source = FLOW_NAME_DNS;
	t->stats.flows_named[FLOW_NAME_DNS]++;
	ident_add_name(initiator, n, t->now_us);
}

/* nDPI states are capped (dpi.max_states) and a flow holds one until its
 * detection ends, which for a one-packet flow is its end: a flood of
 * spoofed UDP sources would hold them all. So, as with names (intern.h),
 * the last eighth is kept: a flow none of whose local ends has settled
 * (device.h) starts no detection there; it is left unclassified. */
/* A flow counts as a settled device's when a settled device started it,
 * or when it is a real exchange with one (both ways, past a handshake):
 * a flood aimed at a real device, from spoofed sources, is neither, even
 * though the device answers its SYNs. */
static bool flow_of_settled(const struct flow *f, const struct device *initiator)
{
	if (initiator && !initiator->fresh)
		return true;
	return f->fwd.packets > 0 && f->rev.packets > 0 && f->fwd.packets + f->rev.packets > 3;
}

static bool dpi_may_start(const struct tracker *t, const struct flow *f, const struct device *initiator)
{
	if (f->l7_state != DPI_WAITING || flow_of_settled(f, initiator))
		return true;
	uint64_t max = t->cfg.max_dpi_states;
	return dpi_stats(t->dpi)->active < max - max / 8;
}

static void handle_ip(struct tracker *t, const struct pkt_meta *m)
{
	if (m->proto == PROTO_ICMPV6)
		lan_learn_ra(t->lan, m);
	if (m->has_inner)
		handle_icmp_error(t, m);

	struct flow_hit hit;
	if (flow_table_update(t->flows, m, &hit) != 0)
		return;
	struct flow *f = hit.flow;
	bool src_local, dst_local;
	if (hit.created) {
		src_local = lan_is_local(t->lan, &m->src);
		dst_local = lan_is_local(t->lan, &m->dst);
		bool init_local = hit.forward ? src_local : dst_local;
		bool resp_local = hit.forward ? dst_local : src_local;
		f->dir = init_local && resp_local ? FLOW_DIR_LOCAL
			 : init_local		  ? FLOW_DIR_OUTBOUND
			 : resp_local		  ? FLOW_DIR_INBOUND
						  : FLOW_DIR_TRANSIT;
	} else {
		/* The ends of a flow are where they were when it began, even if
		 * a router advertisement has since added an on-link prefix. */
		bool init_local = f->dir == FLOW_DIR_LOCAL || f->dir == FLOW_DIR_OUTBOUND;
		bool resp_local = f->dir == FLOW_DIR_LOCAL || f->dir == FLOW_DIR_INBOUND;
		src_local = hit.forward ? init_local : resp_local;
		dst_local = hit.forward ? resp_local : init_local;
	}
	struct device *snd = flow_end_device(t, f, m, true, src_local, hit.forward);
	struct device *rcv = flow_end_device(t, f, m, false, dst_local, !hit.forward);
	struct device *initiator = hit.forward ? snd : rcv;
	/* First: the packet that settles its sender counts as a settled one's. */
	if (snd)
		sent_by(t, snd, m->ts_us);
	if (hit.created && initiator)
		name_from_dns(t, f, initiator);
	bool dpi_done = !t->dpi || f->name_source == FLOW_NAME_DNS || f->l7_state == DPI_NO_STATE;
	/* A summary's header is made up and stands for many packets: nDPI
	 * would take it for one real packet. */
	if (t->dpi && !m->summarised && f->l7_state < DPI_DONE && dpi_may_start(t, f, initiator)) {
		struct dpi_result r;
		dpi_packet(t->dpi, f, m, &r);
		name_from_dpi(t, f, initiator, &r);
		/* Named by its SNI or Host, the flow is as known as it will be,
		 * though nDPI may read on (a TLS certificate). */
		dpi_done |= r.finished || f->l7_state == DPI_NO_STATE || f->name_source == FLOW_NAME_SNI ||
			    f->name_source == FLOW_NAME_HTTP;
	}
	if (flow_of_settled(f, initiator))
		flow_table_keep(t->flows, f);
	set_flow_macs(f, hit.forward, snd, rcv);
	if (!f->ready && (dpi_done || f->fwd.packets + f->rev.packets >= TRK_READY_PACKETS))
		report_ready(t, f, initiator, hit.forward ? rcv : snd);
	if (snd) {
		snd->packets_out += dec_meta_packets(m);
		snd->bytes_out += m->wirelen;
		if (hit.created)
			(*(hit.forward ? &snd->flows_out : &snd->flows_in))++;
		count_window(t, snd, f, hit.forward, true, dst_local, hit.created, m);
	}
	if (rcv && rcv != snd) {
		rcv->packets_in += dec_meta_packets(m);
		rcv->bytes_in += m->wirelen;
		if (hit.created)
			(*(hit.forward ? &rcv->flows_in : &rcv->flows_out))++;
		count_window(t, rcv, f, !hit.forward, false, src_local, hit.created, m);
	}
	if (hit.failed_now)
		count_failed(t, f);
	learn_from_payload(t, m, snd, rcv);
}

/* Flows whose timeout fell in the closing window end before it closes, so
 * an unanswered SYN counts in the window where it timed out. That is not
 * bounded per call, only amortised: each flow ends once, and it happens
 * once per window. */
static void move_time(struct tracker *t)
{
	uint64_t end = win_end_us(t->wins);
	if (end && t->now_us >= end)
		flow_table_expire(t->flows, end - 1, SIZE_MAX);
	win_advance(t->wins, t->now_us);
	flow_table_expire(t->flows, t->now_us, TRK_EXPIRE_BUDGET);
}

void trk_advance(struct tracker *t, uint64_t now_us)
{
	if (t->stats.packets == 0 || now_us <= t->now_us)
		return;
	t->now_us = now_us;
	move_time(t);
}

/* trk_packet and trk_summary: one frame of wirelen bytes, or a summary
 * (summarised: its packet count, as in pkt_meta) of whose frame only the
 * headers are read. */
static void track(struct tracker *t, int linktype, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		  uint64_t ts_us, uint32_t summarised)
{
	struct pkt_meta m;
	struct trk_stats *s = &t->stats;
	if (s->packets == 0)
		s->first_us = ts_us;
	s->packets += summarised ? summarised : 1;
	s->bytes += wirelen > caplen ? wirelen : caplen;
	/* A summary is stamped with the last packet it counts, which packets
	 * copied since may have passed: late, but not out of order. */
	if (ts_us >= t->now_us)
		t->now_us = ts_us;
	else if (!summarised)
		s->ts_backwards++;
	s->last_us = t->now_us;
	/* Time moves for every packet, even one that fails to decode. */
	move_time(t);

	if (dec_packet(t->dec, linktype, data, caplen, wirelen, ts_us, &m) != DEC_OK)
		return;
	/* Late packets are counted at the latest time seen so far. */
	m.ts_us = t->now_us;
	if (summarised) {
		/* Whatever follows the headers is none of these packets' content. */
		m.summarised = summarised;
		m.payload = NULL;
		m.payload_len = 0;
		m.dns_query = false;
		m.has_inner = false;
	}
	if (m.l3 == DEC_L3_ARP)
		handle_arp(t, &m);
	else if (m.l3 != DEC_L3_NONE)
		handle_ip(t, &m);
}

void trk_packet(struct tracker *t, int linktype, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		uint64_t ts_us)
{
	track(t, linktype, data, caplen, wirelen, ts_us, 0);
}

void trk_summary(struct tracker *t, int linktype, const uint8_t *hdr, uint32_t hdrlen, uint32_t packets,
		 uint32_t bytes, uint64_t ts_us)
{
	if (packets == 0)
		return;
	/* To the decoder, headers of a packet of `bytes` bytes cut by snaplen. */
	track(t, linktype, hdr, hdrlen, bytes, ts_us, packets);
}

void trk_finish(struct tracker *t)
{
	/* Timeouts due by the last packet end as such, not as "end of capture". */
	flow_table_expire(t->flows, t->now_us, SIZE_MAX);
	flow_table_flush(t->flows);
	win_flush(t->wins);
}

const struct trk_stats *trk_stats(const struct tracker *t)
{
	return &t->stats;
}

const struct decoder *trk_decoder(const struct tracker *t)
{
	return t->dec;
}

const struct flow_table *trk_flows(const struct tracker *t)
{
	return t->flows;
}

const struct dev_table *trk_devices(const struct tracker *t)
{
	return t->devs;
}

const struct lan *trk_lan(const struct tracker *t)
{
	return t->lan;
}

const struct win_table *trk_windows(const struct tracker *t)
{
	return t->wins;
}

const struct dpi *trk_dpi(const struct tracker *t)
{
	return t->dpi;
}

const struct dns_cache *trk_dns_cache(const struct tracker *t)
{
	return t->dns;
}

const struct intern *trk_names(const struct tracker *t)
{
	return t->names;
}
