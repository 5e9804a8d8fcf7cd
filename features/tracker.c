#include "features/tracker.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PROTO_ICMPV6 58

struct tracker {
	struct trk_cfg cfg;
	struct decoder *dec;
	struct lan *lan;
	struct flow_table *flows;
	struct dev_table *devs;
	struct win_table *wins;
	struct trk_stats stats;
	uint64_t now_us;
};

static bool mac_unicast(const uint8_t mac[6])
{
	return !(mac[0] & 1) && (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) != 0;
}

static bool ip_unicast(const struct ip_addr *ip)
{
	return !ip_is_multicast(ip) && !ip_is_broadcast(ip) && !ip_is_unspecified(ip);
}

/* The local device at one end of a flow, if it is still in the table. */
static struct device *flow_device(struct tracker *t, const struct flow *f, bool initiator)
{
	const struct ip_addr *ip = initiator ? &f->src : &f->dst;
	bool has_mac = initiator ? f->has_src_mac : f->has_dst_mac;
	if (!lan_is_local(t->lan, ip))
		return NULL;
	if (has_mac)
		return dev_table_by_mac(t->devs, initiator ? f->src_mac : f->dst_mac, t->now_us, false);
	return ip_unicast(ip) ? dev_table_by_ip(t->devs, ip, t->now_us, false) : NULL;
}

static void count_failed(struct tracker *t, struct flow *f)
{
	struct device *d = flow_device(t, f, true);
	if (d && win_failed(t->wins, d) != 0)
		t->stats.no_memory++;
}

static void on_flow_end(void *ctx, struct flow *f, enum flow_end why)
{
	struct tracker *t = ctx;
	/* Unanswered is only known once the SYN has timed out. */
	if (!f->failed && why == FLOW_END_IDLE && flow_syn_unanswered(f)) {
		f->failed = true;
		count_failed(t, f);
	}
	if (t->cfg.on_flow_end)
		t->cfg.on_flow_end(t->cfg.ctx, f, why);
}

static void on_dev_evict(void *ctx, struct device *d)
{
	struct tracker *t = ctx;
	win_device_gone(t->wins, d, true);
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
	struct win_cfg wc = {.length_s = cfg->window_s,
			     .max_remotes = cfg->window_max_remotes,
			     .emit = cfg->on_window,
			     .ctx = cfg->ctx};
	t->dec = dec_new();
	t->lan = lan_new(cfg->home_nets, cfg->n_home_nets, cfg->learn_ipv6_prefixes);
	t->flows = flow_table_new(&fc);
	t->devs = dev_table_new(&dc);
	t->wins = win_new(&wc);
	if (!t->dec || !t->lan || !t->flows || !t->devs || !t->wins) {
		trk_free(t);
		return NULL;
	}
	return t;
}

void trk_free(struct tracker *t)
{
	if (!t)
		return;
	/* Flows first: their end callback may look devices up. */
	flow_table_free(t->flows);
	if (t->devs && t->wins) {
		size_t n = 0;
		struct device **all = dev_table_list(t->devs, &n);
		for (size_t i = 0; all && i < n; i++)
			win_device_gone(t->wins, all[i], false);
		free(all);
	}
	win_free(t->wins);
	dev_table_free(t->devs);
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

static void handle_arp(struct tracker *t, const struct pkt_meta *m)
{
	if (!mac_unicast(m->arp_sha) || !ip_unicast(&m->src) || !lan_is_local(t->lan, &m->src))
		return;
	struct device *d = dev_table_by_mac(t->devs, m->arp_sha, m->ts_us, true);
	if (!d)
		return;
	dev_table_bind_ip(t->devs, d, &m->src);
	d->packets_out++;
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
	if (*cached && local && has_mac) {
		struct device *d = dev_table_by_handle(t->devs, *cached - 1, mac, m->ts_us);
		if (d) {
			if (sender && !ip_is_unspecified(&m->src))
				dev_table_bind_ip(t->devs, d, &m->src);
			return d;
		}
	}
	struct device *d = endpoint_device(t, m, sender, local);
	*cached = d && d->has_mac ? dev_table_handle(t->devs, d) + 1 : 0;
	return d;
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
	set_flow_macs(f, hit.forward, snd, rcv);
	if (snd) {
		snd->packets_out++;
		snd->bytes_out += m->wirelen;
		if (hit.created)
			(*(hit.forward ? &snd->flows_out : &snd->flows_in))++;
		count_window(t, snd, f, hit.forward, true, dst_local, hit.created, m);
	}
	if (rcv && rcv != snd) {
		rcv->packets_in++;
		rcv->bytes_in += m->wirelen;
		if (hit.created)
			(*(hit.forward ? &rcv->flows_in : &rcv->flows_out))++;
		count_window(t, rcv, f, !hit.forward, false, src_local, hit.created, m);
	}
	if (hit.failed_now)
		count_failed(t, f);
}

void trk_packet(struct tracker *t, int linktype, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		uint64_t ts_us)
{
	struct pkt_meta m;
	struct trk_stats *s = &t->stats;
	if (s->packets == 0)
		s->first_us = ts_us;
	s->packets++;
	s->bytes += wirelen > caplen ? wirelen : caplen;
	if (ts_us < t->now_us)
		s->ts_backwards++;
	else
		t->now_us = ts_us;
	s->last_us = t->now_us;
	/* Time moves for every packet, even one that fails to decode. Flows
	 * whose timeout fell in the closing window end before it closes, so an
	 * unanswered SYN counts in the window where it timed out. That is not
	 * bounded per packet, only amortised: each flow ends once, and it
	 * happens once per window. */
	uint64_t end = win_end_us(t->wins);
	if (end && t->now_us >= end)
		flow_table_expire(t->flows, end - 1, SIZE_MAX);
	win_advance(t->wins, t->now_us);
	flow_table_expire(t->flows, t->now_us, TRK_EXPIRE_BUDGET);

	if (dec_packet(t->dec, linktype, data, caplen, wirelen, ts_us, &m) != DEC_OK)
		return;
	/* Late packets are counted at the latest time seen so far. */
	m.ts_us = t->now_us;
	if (m.l3 == DEC_L3_ARP)
		handle_arp(t, &m);
	else if (m.l3 != DEC_L3_NONE)
		handle_ip(t, &m);
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
