/*
 * flowcap — TC (clsact) programs on the ingress and egress of the LAN
 * interface, so that both directions of every device's traffic are seen.
 *
 * Each packet is parsed (Ethernet, up to two VLAN tags, IPv4 or IPv6 with
 * hop-by-hop, routing and destination options, TCP, UDP, ICMP echo) into a
 * flow key. What user space needs the bytes of goes to the ring buffer; the
 * bulk of a flow is only counted in an LRU flow map (see flowcap.h). A
 * packet is counted only when user space's decoder would decode it the same
 * way from its headers alone; anything odd is copied whole.
 *
 * The programs never change a packet or its fate (TC_ACT_UNSPEC).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flowcap.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before loading. */
const volatile __u32 cfg_snaplen = FC_SNAP_MAX;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fc_key);
	__type(value, struct fc_flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fc_stats);
} stats SEC(".maps");

/* A record is assembled here: too large for the 512-byte stack. */
struct scratch {
	struct fc_event ev;
	__u8 data[FC_SNAP_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

#define IPPROTO_ICMPV6_ 58
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88a8
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* What the parser found out beyond the key. */
struct parsed {
	__u8 keyed;        /* key is set: a flow the kernel may count */
	__u8 always_copy;  /* its bytes matter every time (SYN/FIN/RST, DNS ...) */
	__u8 restart;      /* a SYN: a new connection on these ports */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 vlan;         /* an in-band tag: its TCI is vlan_tci */
	__u16 vlan_tci;
};

static __always_inline int is_service_port(__u16 p)
{
	/* What user space reads payloads of: DNS, DHCP, mDNS, SSDP. */
	return p == 53 || p == 67 || p == 68 || p == 5353 || p == 1900;
}

/* End 0 is the (address, port) that sorts first, so both directions of a
 * flow share one key. */
static __always_inline void order_key(struct fc_key *k, __u8 *dir)
{
	__u64 a0, a1, b0, b1;
	__builtin_memcpy(&a0, &k->addr[0][0], 8);
	__builtin_memcpy(&a1, &k->addr[0][8], 8);
	__builtin_memcpy(&b0, &k->addr[1][0], 8);
	__builtin_memcpy(&b1, &k->addr[1][8], 8);
	int swap = a0 > b0 || (a0 == b0 && (a1 > b1 || (a1 == b1 && k->port[0] > k->port[1])));
	*dir = 0;
	if (!swap)
		return;
	__u8 tmp[16];
	__builtin_memcpy(tmp, k->addr[0], 16);
	__builtin_memcpy(k->addr[0], k->addr[1], 16);
	__builtin_memcpy(k->addr[1], tmp, 16);
	__u16 p = k->port[0];
	k->port[0] = k->port[1];
	k->port[1] = p;
	*dir = 1;
}

/* The transport header at off, up to ip_end. Returns 0 when the packet
 * can be counted (keyed), -1 when it must be copied whole. */
static __always_inline int parse_l4(struct __sk_buff *skb, __u32 off, __u32 ip_end, struct fc_key *k,
				    struct parsed *p)
{
	__u8 h[14];
	switch (k->proto) {
	case IPPROTO_TCP: {
		if (off + 20 > ip_end || bpf_skb_load_bytes(skb, off, h, 14))
			return -1;
		__u32 hlen = (__u32)(h[12] >> 4) * 4;
		if (hlen < 20 || off + hlen > ip_end)
			return -1;
		k->port[0] = bpf_ntohs(*(__u16 *)&h[0]);
		k->port[1] = bpf_ntohs(*(__u16 *)&h[2]);
		p->tcp_flags = h[13];
		if (h[13] & (TCP_SYN | TCP_FIN | TCP_RST))
			p->always_copy = 1;
		p->restart = (h[13] & (TCP_SYN | TCP_ACK)) == TCP_SYN;
		break;
	}
	case IPPROTO_UDP: {
		if (off + 8 > ip_end || bpf_skb_load_bytes(skb, off, h, 8))
			return -1;
		__u16 len = bpf_ntohs(*(__u16 *)&h[4]);
		if (len < 8 || off + len > ip_end)
			return -1;
		k->port[0] = bpf_ntohs(*(__u16 *)&h[0]);
		k->port[1] = bpf_ntohs(*(__u16 *)&h[2]);
		break;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6_: {
		if (off + 8 > ip_end || bpf_skb_load_bytes(skb, off, h, 8))
			return -1;
		int echo = k->proto == IPPROTO_ICMP ? (h[0] == 8 || h[0] == 0) : (h[0] == 128 || h[0] == 129);
		/* Errors, neighbour discovery, router advertisements: read whole. */
		if (!echo)
			return -1;
		p->icmp_type = h[0];
		k->port[0] = k->port[1] = bpf_ntohs(*(__u16 *)&h[4]);
		break;
	}
	default:
		/* Other protocols are flows without ports. */
		break;
	}
	if ((k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP) &&
	    (is_service_port(k->port[0]) || is_service_port(k->port[1])))
		p->always_copy = 1;
	return 0;
}

static __always_inline int parse_ipv4(struct __sk_buff *skb, __u32 off, struct fc_key *k, struct parsed *p)
{
	__u8 h[20];
	if (bpf_skb_load_bytes(skb, off, h, 20) || h[0] >> 4 != 4)
		return -1;
	__u32 hlen = (__u32)(h[0] & 0x0f) * 4;
	__u32 total = bpf_ntohs(*(__u16 *)&h[2]);
	/* Fragments borrow the first one's ports in user space. */
	if (hlen < 20 || total < hlen || (bpf_ntohs(*(__u16 *)&h[6]) & 0x3fff))
		return -1;
	k->proto = h[9];
	__builtin_memcpy(k->addr[0], &h[12], 4);
	__builtin_memcpy(k->addr[1], &h[16], 4);
	return parse_l4(skb, off + hlen, off + total, k, p);
}

static __always_inline int parse_ipv6(struct __sk_buff *skb, __u32 off, struct fc_key *k, struct parsed *p)
{
	__u8 h[40];
	if (bpf_skb_load_bytes(skb, off, h, 40) || h[0] >> 4 != 6)
		return -1;
	__u32 ip_end = off + 40 + bpf_ntohs(*(__u16 *)&h[4]);
	__u8 nh = h[6];
	k->v6 = 1;
	__builtin_memcpy(k->addr[0], &h[8], 16);
	__builtin_memcpy(k->addr[1], &h[24], 16);
	off += 40;
	/* Hop-by-hop, routing, destination options; anything else that is
	 * an extension (fragment, AH, mobility) goes to user space whole. */
	for (int i = 0; i < 4; i++) {
		if (nh != 0 && nh != 43 && nh != 60)
			break;
		__u8 e[2];
		if (bpf_skb_load_bytes(skb, off, e, 2))
			return -1;
		nh = e[0];
		off += ((__u32)e[1] + 1) * 8;
	}
	if (nh == 0 || nh == 43 || nh == 60 || nh == 44 || nh == 51 || nh == 135)
		return -1;
	k->proto = nh;
	return parse_l4(skb, off, ip_end, k, p);
}

/* 0 with the key filled when the packet belongs to a flow the kernel may count. */
static __always_inline int parse(struct __sk_buff *skb, struct fc_key *k, struct parsed *p)
{
	__u16 proto;
	__u32 off = 12;
	/* An offloaded tag and the in-band ones: two in all, as user space decodes. */
	int tags = skb->vlan_present ? 1 : 0;
	if (bpf_skb_load_bytes(skb, off, &proto, 2))
		return -1;
	off += 2;
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q_) && proto != bpf_htons(ETH_P_8021AD_))
			break;
		__u16 tag[2];
		if (++tags > 2 || bpf_skb_load_bytes(skb, off, tag, 4))
			return -1;
		if (!p->vlan) {
			p->vlan = 1;
			p->vlan_tci = bpf_ntohs(tag[0]);
		}
		proto = tag[1];
		off += 4;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(skb, off, k, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(skb, off, k, p);
	return -1;
}

/* Puts the packet in the ring; 0 on success. */
static __always_inline int copy_packet(struct __sk_buff *skb, struct scratch *sc)
{
	/* 64-bit: a 32-bit length is zero-extended into a copy whose bounds
	 * the verifier does not tie back to the one checked. */
	__u64 cap = skb->len;
	if (cap > cfg_snaplen)
		cap = cfg_snaplen;
	if (cap > FC_SNAP_MAX)
		cap = FC_SNAP_MAX;
	if (cap < ETH_HLEN)
		return -1;
	if (bpf_skb_load_bytes(skb, 0, sc->data, cap))
		return -1;
	sc->ev.caplen = (__u16)cap;
	/* User space reads the ring a few times a second anyway: waking it
	 * for each record would cost a system call each. Only a ring filling
	 * up is worth a wakeup. */
	__u64 wake = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 8
			     ? BPF_RB_FORCE_WAKEUP
			     : BPF_RB_NO_WAKEUP;
	return bpf_ringbuf_output(&events, sc, sizeof(sc->ev) + cap, wake);
}

/* The headers a summary of this side's packets is rebuilt from. */
static __always_inline void set_template(struct __sk_buff *skb, struct fc_side *s, const struct parsed *p)
{
	if (s->have || bpf_skb_load_bytes(skb, 0, s->eth, 12))
		return;
	if (skb->vlan_present) {
		s->vlan = 1;
		s->vlan_tci = (__u16)skb->vlan_tci;
	} else if (p->vlan) {
		s->vlan = 1;
		s->vlan_tci = p->vlan_tci;
	}
	s->icmp_type = p->icmp_type;
	s->have = 1;
}

static __always_inline void handle(struct __sk_buff *skb, __u8 egress)
{
	__u32 zero = 0;
	struct fc_stats *st = bpf_map_lookup_elem(&stats, &zero);
	struct scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!st || !sc)
		return;
	struct fc_event *ev = &sc->ev;
	__u64 now = bpf_ktime_get_ns();
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = now;
	ev->wirelen = skb->len + (skb->vlan_present ? 4 : 0);
	ev->flags = egress ? FC_EV_EGRESS : 0;
	if (skb->vlan_present) {
		ev->flags |= FC_EV_VLAN;
		ev->vlan_tci = (__u16)skb->vlan_tci;
		ev->vlan_proto = (__u16)skb->vlan_proto;
	}
	st->packets++;

	struct parsed p = {};
	struct fc_flow *f = NULL;
	int copy = 1;
	if (parse(skb, &ev->key, &p) == 0) {
		order_key(&ev->key, &ev->dir);
		f = bpf_map_lookup_elem(&flows, &ev->key);
		if (!f) {
			struct fc_flow fresh = {};
			bpf_map_update_elem(&flows, &ev->key, &fresh, BPF_NOEXIST);
			f = bpf_map_lookup_elem(&flows, &ev->key);
			if (!f)
				st->map_full++;
		}
	}
	if (f) {
		struct fc_side *s = &f->side[ev->dir & 1];
		s->last_ns = now;
		if (p.restart)
			f->budget = 0;
		copy = p.always_copy || f->budget < FC_FIRST_PACKETS;
		if (copy) {
			ev->flags |= FC_EV_KEYED;
			ev->packets[0] = f->side[0].packets;
			ev->packets[1] = f->side[1].packets;
			ev->bytes[0] = f->side[0].bytes;
			ev->bytes[1] = f->side[1].bytes;
		}
	}
	if (copy) {
		/* Counted before it is in the ring, so that a poll of the map in
		 * between waits for it rather than summarise past it. */
		if (f)
			__sync_fetch_and_add(&f->copied, 1);
		if (copy_packet(skb, sc) == 0) {
			st->copied++;
			if (f)
				f->budget++;
			return;
		}
		if (f)
			__sync_fetch_and_sub(&f->copied, 1);
		if (!f) {
			st->ring_lost++;
			return;
		}
		st->ring_full++;
	}
	struct fc_side *s = &f->side[ev->dir & 1];
	set_template(skb, s, &p);
	/* A SYN, FIN or RST counted for want of ring space would mark every
	 * later summary of this side. */
	s->tcp_flags |= p.tcp_flags & ~(TCP_SYN | TCP_FIN | TCP_RST);
	__sync_fetch_and_add(&s->packets, 1);
	__sync_fetch_and_add(&s->bytes, ev->wirelen);
	st->counted++;
}

SEC("tc")
int fc_ingress(struct __sk_buff *skb)
{
	handle(skb, 0);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int fc_egress(struct __sk_buff *skb)
{
	handle(skb, 1);
	return TC_ACT_UNSPEC;
}
