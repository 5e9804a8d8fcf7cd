/*
 * flowcap — what the TC programs in flowcap.bpf.c share with user space
 * (capture/cap_ebpf.c): the flow map's key and value, the ring buffer's
 * records and the per-CPU counters. Fixed-width kernel types only, so both
 * compilers lay the structs out alike.
 *
 * The kernel copies to the ring buffer what user space reads the contents
 * of: the first FC_FIRST_PACKETS packets of each flow, every TCP SYN, FIN
 * and RST, everything on the DNS, DHCP, mDNS and SSDP ports, and everything
 * it does not summarise (ARP, fragments, ICMP other than echo, anything it
 * cannot parse). The rest of a flow it only counts, per direction, in the
 * flow map, which user space reads every FC_POLL_MS.
 */
#ifndef IOTIDS_FLOWCAP_H
#define IOTIDS_FLOWCAP_H

#include <linux/types.h>

/* Bytes of a packet copied at most: a whole standard frame, and a DNS or
 * mDNS message up to the size resolvers use without TCP. */
#define FC_SNAP_MAX 4096
/* Packets copied at the start of each flow: what nDPI is given at most
 * (features/dpi.h, DPI_MAX_PACKETS). */
#define FC_FIRST_PACKETS 32
#define FC_POLL_MS 1000

/* A flow in both directions: end 0 sorts before end 1 (address, then port). */
struct fc_key {
	__u8 addr[2][16];  /* IPv4 in the first 4 bytes */
	__u16 port[2];     /* host order; ICMP echo: the identifier at both ends */
	__u8 proto;
	__u8 v6;
	__u16 pad;
};

/* What end `dir` of a flow sent that was counted, not copied, and the
 * headers user space rebuilds a header-only frame of them from. */
struct fc_side {
	__u64 packets;
	__u64 bytes;       /* frame bytes, a VLAN tag included */
	__u64 last_ns;     /* bpf_ktime_get_ns of its last packet, copied or not */
	__u8 eth[12];      /* destination and source MAC */
	__u16 vlan_tci;    /* the outer tag, when vlan */
	__u8 have;         /* eth, vlan and icmp_type are set */
	__u8 vlan;
	__u8 tcp_flags;    /* OR of the flags of the packets counted */
	__u8 icmp_type;
};

struct fc_flow {
	struct fc_side side[2];
	__u64 copied;      /* packets of the flow put in the ring, ever */
	__u32 budget;      /* packets copied since the flow (re)started */
	__u32 pad;
};

#define FC_EV_KEYED 1      /* key, dir and the counters are meaningful */
#define FC_EV_VLAN 2       /* the frame had an offloaded tag: vlan_tci, vlan_proto */
#define FC_EV_EGRESS 4

/* One ring-buffer record: this header, then caplen bytes of the frame. */
struct fc_event {
	__u64 ts_ns;       /* bpf_ktime_get_ns */
	__u32 wirelen;     /* frame bytes, a VLAN tag included */
	__u16 caplen;
	__u16 vlan_tci;
	__u16 vlan_proto;  /* network order */
	__u8 flags;
	__u8 dir;          /* the end of key that sent it */
	__u32 pad;
	struct fc_key key;
	/* The flow's counters before this packet: what user space must count
	 * before it so that a FIN or RST comes after the bytes it ends. */
	__u64 packets[2];
	__u64 bytes[2];
};

struct fc_stats {
	__u64 packets;     /* seen by the programs */
	__u64 copied;      /* put in the ring */
	__u64 counted;     /* counted in the flow map, not copied */
	__u64 ring_full;   /* not copied for lack of ring space, counted instead */
	__u64 ring_lost;   /* not copied for lack of ring space, and no flow to count them in */
	__u64 map_full;    /* no flow entry could be had: copied instead */
};

#endif
