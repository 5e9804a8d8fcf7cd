/*
 * tracker — the feature pipeline for one stream of packets:
 * decode -> LAN classification -> flow table -> devices -> windows, with
 * nDPI on each flow's first packets, DNS answers naming the flows that
 * follow them, and DHCP, mDNS and SSDP telling who each device is.
 *
 * It knows nothing of where packets come from (a file, a live interface or
 * eBPF events); every capture source feeds trk_packet() (and eBPF
 * trk_summary() too) with capture-time timestamps, which is what makes a
 * replay deterministic.
 *
 * Under hostile traffic every table stays within its cap, and what a flood
 * of made-up sources or answers fills is its own share: a device settles
 * when it sends again a millisecond after it was first seen (device.h),
 * and the device table, the DNS answer
 * cache (dnscache.h), the name table (intern.h) and the nDPI states keep
 * an eighth for the settled ones. DNS answers of fresh or heavy devices
 * (half their DNS cap) make names only below the name table's high-water
 * mark, and past it the answers fresh devices were given are shed first.
 */
#ifndef IOTIDS_TRACKER_H
#define IOTIDS_TRACKER_H

#include <stddef.h>
#include <stdint.h>

#include "features/decode.h"
#include "features/device.h"
#include "features/dnscache.h"
#include "features/dpi.h"
#include "features/flow.h"
#include "features/identity.h"
#include "features/intern.h"
#include "features/ipaddr.h"
#include "features/lan.h"
#include "features/window.h"

/* Flows ended per packet at most by expiry: bounded work per packet. */
#define TRK_EXPIRE_BUDGET 8
/* A flow nDPI has not finished with by then is scored anyway. */
#define TRK_READY_PACKETS 8

struct trk_cfg {
	const struct ip_prefix *home_nets;
	size_t n_home_nets;
	bool learn_ipv6_prefixes;
	uint32_t window_s;
	uint32_t window_max_remotes;
	uint32_t max_flows;
	uint32_t timeouts_s[FLOW_TMO_COUNT];
	uint32_t max_devices;
	bool dpi;                 /* classify flows with nDPI */
	uint32_t max_dpi_states;  /* flows under detection at once */
	uint32_t max_names;       /* distinct names held (destinations, evidence) */
	uint32_t dns_cache_max;   /* DNS answers remembered, all devices */
	uint32_t dns_cache_per_device;
	/* Optional observers; flow pointers are valid during the call only. */
	void (*on_flow_end)(void *ctx, const struct flow *f, enum flow_end why);
	/* Once per flow, as soon as its destination is as known as it will be:
	 * at its first packet when DNS named it (or nDPI is off), when nDPI is
	 * done with it (SNI, Host), after TRK_READY_PACKETS packets, or at its
	 * end. initiator / responder: its local devices, NULL when not local. */
	void (*on_flow_ready)(void *ctx, const struct flow *f, const struct device *initiator,
			      const struct device *responder);
	win_emit_fn on_window;
	void *ctx;
};

struct trk_stats {
	uint64_t packets;
	uint64_t bytes;           /* wire bytes */
	uint64_t first_us, last_us;
	uint64_t ts_backwards;    /* packets older than one already seen (summaries aside) */
	uint64_t no_memory;       /* window state that could not be allocated */
	uint64_t dns_parsed, dns_malformed;     /* DNS answers to LAN devices */
	uint64_t mdns_parsed, mdns_malformed;
	uint64_t dhcp_parsed, dhcp_malformed;
	uint64_t ssdp_parsed, ssdp_malformed;
	uint64_t flows_named[FLOW_NAME_HTTP + 1]; /* by enum flow_name_source */
};

struct tracker;

/* NULL on a bad configuration or allocation failure. */
struct tracker *trk_new(const struct trk_cfg *cfg);
/* Frees everything; call trk_finish first to see the last flows and windows. */
void trk_free(struct tracker *t);

void trk_packet(struct tracker *t, int linktype, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		uint64_t ts_us);

/* Packets the kernel counted without copying (eBPF): `packets` packets of
 * one flow and direction, `bytes` wire bytes in all. hdr is a frame with the
 * headers of one of them and no payload (bytes past the headers are
 * ignored). They count as packets everywhere (flow sides, devices, windows,
 * stats) but carry no content: nDPI and the payload parsers never see them,
 * and a timestamp older than the latest seen is not counted in ts_backwards
 * (summaries are stamped with the last packet they count, which is older
 * than packets copied since). A summary of 0 packets counts nothing. */
void trk_summary(struct tracker *t, int linktype, const uint8_t *hdr, uint32_t hdrlen, uint32_t packets,
		 uint32_t bytes, uint64_t ts_us);

/* Live capture with nothing arriving: moves time to now_us (never back,
 * and not before the first packet) so windows close and idle flows end as
 * they would had a packet come. */
void trk_advance(struct tracker *t, uint64_t now_us);

/* End of input: ends every flow and emits the last windows. */
void trk_finish(struct tracker *t);

const struct trk_stats *trk_stats(const struct tracker *t);
/* The local device that started f, if it is still in the table; it is
 * not marked as seen (an end of flow is not its activity). For the
 * on_flow_end observer, which looks it up only when it needs it. */
struct device *trk_flow_initiator(struct tracker *t, const struct flow *f);
const struct decoder *trk_decoder(const struct tracker *t);
const struct flow_table *trk_flows(const struct tracker *t);
const struct dev_table *trk_devices(const struct tracker *t);
const struct lan *trk_lan(const struct tracker *t);
const struct win_table *trk_windows(const struct tracker *t);
/* NULL when nDPI is off. */
const struct dpi *trk_dpi(const struct tracker *t);
const struct dns_cache *trk_dns_cache(const struct tracker *t);
const struct intern *trk_names(const struct tracker *t);

#endif
