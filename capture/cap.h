/*
 * cap — packet sources behind one function table.
 *
 * A source yields packets with capture-time timestamps and the link type of
 * the bytes. The pipeline never knows which backend fed it: a pcap/pcapng
 * file, a live interface through libpcap, or TC programs (eBPF) that copy
 * the first packets of each flow and count the rest in the kernel.
 */
#ifndef IOTIDS_CAP_H
#define IOTIDS_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One packet; data is valid until the next cap_next() on the same source.
 * The eBPF source also yields summaries: packets (more than zero) of one
 * flow and direction that the kernel counted without copying, wirelen bytes
 * in all, with data holding the headers of one of them and no payload. */
struct cap_packet {
	uint64_t ts_us;      /* capture time, microseconds since the epoch */
	uint32_t caplen;     /* bytes in data */
	uint32_t wirelen;    /* bytes on the wire */
	const uint8_t *data;
	bool summary;
	uint32_t packets;    /* a summary's count; 1 for a packet */
};

enum cap_status {
	CAP_PACKET = 1,
	CAP_IDLE = 2,        /* live: nothing arrived within the read timeout; call again */
	CAP_END = 0,
	CAP_ERROR = -1,      /* cap_error() says what; packets before it were good */
};

struct cap_source;

/* What the kernel saw, for a live source. */
struct cap_stats {
	uint64_t received;   /* packets the filter passed (eBPF: seen by the programs) */
	uint64_t dropped;    /* dropped for lack of buffer space */
	uint64_t if_dropped; /* dropped by the interface or its driver */
	/* eBPF only. */
	uint64_t counted;    /* counted in the kernel, not copied */
	uint64_t ring_full;  /* copies the ring had no room for: counted instead */
	uint64_t map_full;   /* packets no flow entry could be had for: copied instead */
	uint64_t evicted;    /* flows the kernel evicted: counts since the last read lost */
};

/* A live interface through libpcap. */
struct cap_live_config {
	const char *iface;
	uint32_t snaplen;      /* bytes kept of each packet */
	bool promisc;
	uint32_t buffer_bytes; /* the kernel ring; 0: libpcap's default */
	const char *filter;    /* a BPF filter expression, or NULL */
	bool immediate;        /* hand over each packet at once, not in blocks */
	uint32_t timeout_ms;   /* longest wait in cap_next before CAP_IDLE */
};

/* Where the eBPF programs go: tcx where the kernel has it, else clsact. */
enum cap_hook_choice { CAP_HOOK_AUTO, CAP_HOOK_TCX, CAP_HOOK_CLSACT };

/* The TC (eBPF) source: programs on the interface's ingress and egress. */
struct cap_ebpf_config {
	const char *iface;
	enum cap_hook_choice hook;
	uint32_t snaplen;      /* bytes copied of a packet, at most 4096 */
	bool promisc;
	uint32_t ring_bytes;   /* the ring buffer, rounded up to a power of 2 */
	uint32_t max_flows;    /* the kernel's flow map */
	uint32_t timeout_ms;   /* longest wait in cap_next before CAP_IDLE */
};

/* What a backend provides. */
struct cap_ops {
	const char *name;
	enum cap_status (*next)(struct cap_source *s, struct cap_packet *p);
	/* Bytes consumed and total, for progress; total 0 when unknown. */
	void (*progress)(const struct cap_source *s, uint64_t *done, uint64_t *total);
	void (*close)(struct cap_source *s);
	/* Live sources: what the kernel counted (NULL for files). */
	int (*stats)(const struct cap_source *s, struct cap_stats *st);
	/* Live sources: stop waiting (NULL for files). */
	void (*stop)(struct cap_source *s);
	/* The eBPF source: see cap_hook (NULL for the others). */
	const char *(*hook)(const struct cap_source *s);
};

/* Opens a pcap or pcapng file (libpcap decides which) without reading it
 * into memory. NULL on failure, with one line in err naming the file and the
 * problem (missing, empty, not a capture, unsupported link type ...). */
struct cap_source *cap_open_file(const char *path, char *err, size_t errlen);

/* Opens and activates a live capture. NULL on failure, with one line in err
 * saying why in words a person acts on: no such interface, interface down,
 * permission (CAP_NET_RAW needed), a bad filter. */
struct cap_source *cap_open_live(const struct cap_live_config *c, char *err, size_t errlen);

/* Attaches the TC programs; NULL on failure with one line in err, worded
 * as cap_open_live's (the eBPF ones: the kernel refused the programs, the
 * interface is not Ethernet). cap_close detaches them. They go on tcx
 * links where the kernel has them (6.6): several iotids may then watch one
 * interface, and the links go with the process however it ends. Else on
 * the clsact qdisc, as filters a later start replaces. */
struct cap_source *cap_open_ebpf(const struct cap_ebpf_config *c, char *err, size_t errlen);

enum cap_status cap_next(struct cap_source *s, struct cap_packet *p);
/* A live source given this hands over what the kernel holds already (the
 * eBPF source: its ring, then a last read of its counters) and then ends
 * (CAP_END) instead of waiting for more. */
void cap_stop(struct cap_source *s);
/* "file", "pcap" or "ebpf". */
const char *cap_kind(const struct cap_source *s);
/* Where the eBPF source's programs are: "tcx", or "clsact" (filters that
 * only CAP_NET_ADMIN can detach). NULL for the other sources. */
const char *cap_hook(const struct cap_source *s);
/* 0 with the kernel's counters, or -ENOTSUP for a file. */
int cap_stats(const struct cap_source *s, struct cap_stats *st);
/* The interface's index when it exists and is up; else -1 with the words
 * a person acts on in err. */
int cap_iface_check(const char *iface, char *err, size_t errlen);
int cap_linktype(const struct cap_source *s);
/* The link type's name ("EN10MB", "LINUX_SLL2" ...). */
const char *cap_linktype_name(const struct cap_source *s);
void cap_progress(const struct cap_source *s, uint64_t *done, uint64_t *total);
/* The last error, "" if none. Names the file and the packet number. */
const char *cap_error(const struct cap_source *s);
void cap_close(struct cap_source *s);

#endif
