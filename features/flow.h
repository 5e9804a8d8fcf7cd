/*
 * flow — the bidirectional flow table.
 *
 * A flow is one conversation between two endpoints (address, port) over one
 * transport, in both directions. Its "forward" side is the initiator: the
 * sender of the first packet seen, corrected when that packet is plainly an
 * answer (a SYN+ACK, an echo reply, a packet from a port below 1024 to one
 * above it).
 *
 * Memory is bounded by max_flows. Each flow sits in the LRU list of its
 * timeout class (TCP half-open, TCP established, TCP closed, UDP, ICMP,
 * other); within a list every flow has the same timeout, so expiry looks at
 * list heads only and costs O(1) per flow. Lists are kept lazily (see
 * flow.c): a flow seen again is moved back only when it reaches the head.
 * When the table is full the flow evicted is, among the least recently used
 * of each class, the one that has spent the largest share of its timeout
 * idle (an established connection that carried nothing past its handshake
 * counts as half-open): a SYN flood's half-open flows go before a camera's
 * hour-long upload. Flows of settled devices (flow_table_keep, device.h)
 * are a segment of their own, evicted only once the others hold no more
 * than an eighth of the table, so a flood of spoofed sources churns
 * through its own flows and a real device's connections end as they would.
 */
#ifndef IOTIDS_FLOW_H
#define IOTIDS_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "features/decode.h"
#include "features/ipaddr.h"

enum flow_tmo {
	FLOW_TMO_TCP_SYN,     /* SYN sent, no answer yet */
	FLOW_TMO_TCP,         /* established, or joined mid-stream */
	FLOW_TMO_TCP_CLOSED,  /* FIN both ways, or RST */
	FLOW_TMO_UDP,
	FLOW_TMO_ICMP,
	FLOW_TMO_OTHER,
	FLOW_TMO_COUNT
};

enum flow_state {
	FLOW_ST_ACTIVE = 0,   /* not TCP, or TCP seen mid-stream */
	FLOW_ST_SYN_SENT,
	FLOW_ST_ESTABLISHED,
	FLOW_ST_CLOSED,
};

/* Where a flow runs relative to the LAN; set by the caller on creation. */
enum flow_dir {
	FLOW_DIR_TRANSIT = 0, /* neither end local */
	FLOW_DIR_OUTBOUND,    /* device -> internet */
	FLOW_DIR_INBOUND,     /* internet -> device */
	FLOW_DIR_LOCAL,       /* device -> device (or LAN multicast) */
};

/* A flow past its timeout always ends IDLE (or CLOSED), whatever removes it. */
enum flow_end {
	FLOW_END_IDLE,        /* idle timeout */
	FLOW_END_CLOSED,      /* TCP close, then its short timeout, or a new SYN reused the ports */
	FLOW_END_EVICTED,     /* table full */
	FLOW_END_FLUSH,       /* end of capture */
};

/* Where a flow's destination name came from, most trusted first. */
enum flow_name_source {
	FLOW_NAME_NONE = 0,
	FLOW_NAME_DNS,        /* the name the device asked DNS for, whose answer held this address */
	FLOW_NAME_SNI,        /* TLS or QUIC ClientHello server name */
	FLOW_NAME_HTTP,       /* HTTP Host header */
};

struct iname;

struct flow_side {
	uint64_t packets;
	uint64_t bytes;       /* frame bytes on the wire */
	uint64_t first_us;    /* 0 when this side sent nothing */
	uint64_t last_us;
	uint16_t rsts;
	uint8_t tcp_flags;    /* OR of every flag this side sent */
};

/* The key, state and last activity come first: with the table's own
 * bookkeeping they fill the entry's first cache line, which is all that
 * lookup, expiry and eviction read. */
struct flow {
	struct ip_addr src, dst; /* initiator, responder */
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t dir;          /* enum flow_dir */
	uint8_t state;        /* enum flow_state */
	uint8_t tmo;          /* enum flow_tmo */
	uint64_t last_us;     /* last packet either way */
	uint64_t id;          /* creation order, from 1 */
	bool failed;          /* a failed connection (refused, unreachable, unanswered) */
	bool has_src_mac, has_dst_mac;
	uint8_t src_mac[6], dst_mac[6];
	struct flow_side fwd, rev;
	/* Owned by the caller (the tracker: window bookkeeping, and the
	 * devices at each end so later packets skip their lookups). */
	uint32_t user[6];
	/* Application layer, owned by the caller (the tracker and its nDPI
	 * module); zero on creation, untouched by the table. */
	uint16_t l7_master, l7_app; /* nDPI protocol ids (0: unknown) */
	uint16_t l7_category;       /* nDPI category id */
	uint8_t l7_state;           /* detection progress (see dpi.h) */
	uint8_t l7_packets;         /* packets given to detection */
	uint8_t name_source;        /* enum flow_name_source */
	uint8_t ready;              /* the tracker has reported it ready to score */
	uint32_t l7_slot;           /* detection state while it runs */
	struct iname *name;         /* destination name (a reference), NULL when none */
	struct iname *cname;        /* CNAME chain of the DNS answer that named it, NULL when none */
};

typedef void (*flow_end_fn)(void *ctx, struct flow *f, enum flow_end why);

struct flow_table_cfg {
	uint32_t max_flows;
	uint32_t timeout_s[FLOW_TMO_COUNT];
	uint64_t seed;        /* hash seed; 0 draws one from the OS */
	flow_end_fn on_end;   /* called for every flow that leaves the table */
	void *ctx;
};

struct flow_stats {
	uint64_t active;
	uint64_t peak;
	uint64_t created;
	uint64_t ended[FLOW_END_FLUSH + 1];
	uint64_t no_ports;    /* TCP/UDP packets without ports (unattributed fragments) */
	/* Allocations that failed: an entry for a new flow (its packet is
	 * dropped), or the flush's memory (it ends flows in list order) */
	uint64_t alloc_failed;
	uint64_t mem_bytes;   /* table memory: entries and buckets */
};

struct flow_hit {
	struct flow *flow;
	bool created;
	bool forward;         /* the packet went initiator -> responder */
	bool failed_now;      /* this packet made the connection fail (RST to a SYN) */
};

struct flow_table;

/* NULL on a bad configuration or allocation failure. */
struct flow_table *flow_table_new(const struct flow_table_cfg *cfg);
/* Frees without calling on_end; call flow_table_flush first to see them. */
void flow_table_free(struct flow_table *t);

/* Finds or creates the flow of a decoded IP packet and counts the packet.
 * Returns 0 and fills hit, or -1 when the packet has no flow (not IP, or a
 * fragment without ports) or no entry could be had (counted). */
int flow_table_update(struct flow_table *t, const struct pkt_meta *m, struct flow_hit *hit);

/* The flow of the 5-tuple in either direction, or NULL. */
struct flow *flow_table_find(struct flow_table *t, const struct ip_addr *a, const struct ip_addr *b, uint16_t pa,
			     uint16_t pb, uint8_t proto);

/* The caller's word that f is a settled device's (device.h): when the
 * table is full, fresh flows (a flood of spoofed sources) are evicted first
 * while they hold more than an eighth of it. Call it at the packet that
 * made it so (the flow then goes to the tail of its settled list). */
void flow_table_keep(struct flow_table *t, struct flow *f);

/* Ends at most budget flows whose timeout has passed at now_us (capture
 * time). Returns how many it ended. */
size_t flow_table_expire(struct flow_table *t, uint64_t now_us, size_t budget);

/* Ends every flow, oldest creation first (end of capture); out of memory
 * (counted in alloc_failed), in list order. */
void flow_table_flush(struct flow_table *t);

const struct flow_stats *flow_table_stats(const struct flow_table *t);

/* True when a TCP flow's SYN never got a SYN+ACK. */
bool flow_syn_unanswered(const struct flow *f);
const char *flow_end_name(enum flow_end why);
const char *flow_dir_name(enum flow_dir dir);
const char *flow_state_name(enum flow_state st);
/* "tcp", "udp", "icmp", "icmpv6" or the protocol number. buf >= 8 bytes. */
const char *flow_proto_name(uint8_t proto, char *buf, size_t len);

#endif
