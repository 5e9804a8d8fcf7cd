/*
 * window — per-device feature records over fixed windows of capture time.
 *
 * Windows are aligned to multiples of the window length since the epoch, so
 * every device's windows line up and a replay of the same capture cuts them
 * at the same instants. A device that did nothing in a window emits nothing
 * for it (the detector tells silence from that). The record is what the
 * detector consumes: every field is documented where it is declared.
 *
 * Distinct counts are exact up to WIN_DISTINCT_EXACT values, then estimated
 * by linear counting over a 2048-bit bitmap (within a few percent up to
 * about 10,000, saturating near 15,000), so a scan of a million hosts costs
 * the same memory as a quiet minute.
 */
#ifndef IOTIDS_WINDOW_H
#define IOTIDS_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "features/decode.h"
#include "features/device.h"
#include "features/flow.h"
#include "features/intern.h"

#define WIN_DISTINCT_EXACT 32
/* Remote endpoints listed per window at most (list positions are 16-bit). */
#define WIN_MAX_REMOTES 4096
/* A name this long, or with a label this long, is rare in IoT traffic and
 * the mark of data encoded into DNS (a hex label carries up to 63). */
#define WIN_DNS_LONG_LABEL 32
#define WIN_DNS_LONG_NAME 80

/* One remote endpoint the device exchanged traffic with in the window. Its
 * destination, as the detector sees it, is its name when one is known, else
 * its address folded to a /24 (IPv4) or /48 (IPv6). */
struct win_remote {
	struct ip_addr ip;    /* the other end */
	struct iname *name;   /* destination name of its flows (the first known), NULL when none */
	uint16_t l7_master, l7_app; /* nDPI protocol of its flows (the first classified), 0 unknown */
	uint16_t l7_category;       /* nDPI category of that protocol */
	uint16_t port;        /* the service port: the responder's port */
	uint8_t proto;
	bool local;           /* the other end is on the LAN (a LAN peer or LAN multicast) */
	bool inbound;         /* the other end started the flows (port is the device's own) */
	uint32_t flows;       /* flows with this endpoint active in the window */
	uint64_t packets;     /* both directions */
	uint64_t bytes;
};

struct dev_window {
	const struct device *dev;  /* identity; valid during the emit callback only */
	uint64_t start_us, end_us; /* [start, end) in capture time */
	bool partial;              /* cut short: end of capture or device evicted */
	uint64_t packets_out, packets_in;  /* sent / received by the device */
	uint64_t bytes_out, bytes_in;      /* frame bytes */
	uint32_t flows_out;        /* flows the device started in the window */
	uint32_t flows_in;         /* flows others started toward the device */
	uint32_t remote_hosts;     /* distinct non-LAN addresses exchanged with */
	uint32_t remote_ports;     /* distinct service ports of flows the device started (LAN or not) */
	uint32_t lan_peers;        /* distinct unicast LAN addresses exchanged with */
	uint32_t failed_conns;     /* its connections refused (RST), unreachable (ICMP) or unanswered */
	uint32_t dns_queries;      /* DNS queries it sent (port 53, QR=0) */
	/* DNS answers it received (from port 53), by what tunnels and DGAs
	 * leave behind: */
	uint32_t dns_nxdomain;     /* answers "no such name" (RCODE 3) */
	uint32_t dns_long_names;   /* answers to a name with a label of WIN_DNS_LONG_LABEL+ or WIN_DNS_LONG_NAME+ chars */
	uint32_t dns_txt;          /* answers to TXT, NULL or ANY questions */
	uint32_t n_remotes;
	uint32_t remotes_dropped;  /* flows to endpoints not listed: the list was full */
	const struct win_remote *remotes; /* in order of first contact */
};

typedef void (*win_emit_fn)(void *ctx, const struct dev_window *w);

struct win_cfg {
	uint32_t length_s;
	uint32_t max_remotes;
	win_emit_fn emit;
	void *ctx;
	struct intern *names; /* where remote names are referenced */
};

struct win_table;

struct win_table *win_new(const struct win_cfg *cfg);
/* Call win_device_gone for every device first: it frees their state. */
void win_free(struct win_table *w);

/* Closes the current window when now_us has reached its end, emitting the
 * record of every device active in it, in first-seen order of the devices. */
void win_advance(struct win_table *w, uint64_t now_us);

/* Counts packet m of flow f for device d. dev_started: d is the flow's
 * initiator; sent: d sent this packet; remote_local: the other end is on the
 * LAN; new_flow: the packet created the flow. */
int win_packet(struct win_table *w, struct device *d, struct flow *f, bool dev_started, bool sent,
	       bool remote_local, bool new_flow, const struct pkt_meta *m);

/* Counts one failed connection of d in the current window. */
int win_failed(struct win_table *w, struct device *d);

/* Counts one DNS answer d received: its RCODE, its first question's type
 * and name (NUL-terminated, as dns_parse gives it). */
int win_dns_answer(struct win_table *w, struct device *d, uint8_t rcode, uint16_t qtype, const char *qname);

/* The device is leaving the table: emit its partial window (if asked and it
 * has one) and free its state. */
void win_device_gone(struct win_table *w, struct device *d, bool emit_partial);

/* End of capture: emit every active window as partial. */
void win_flush(struct win_table *w);

uint64_t win_emitted(const struct win_table *w);
/* End of the current window in capture time; 0 before the first packet. */
uint64_t win_end_us(const struct win_table *w);

#endif
