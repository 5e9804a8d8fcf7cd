/*
 * cap_ebpf — the TC (eBPF) source: ebpf/flowcap.bpf.c on the interface's
 * ingress and egress (tcx links, or clsact filters on kernels before 6.6),
 * loaded through the skeleton the Makefile generates.
 *
 * The kernel copies to a ring buffer the packets whose bytes matter (the
 * first of each flow, SYN/FIN/RST, DNS/DHCP/mDNS/SSDP, anything it does not
 * summarise) and counts the rest per flow and direction in an LRU map. This
 * source hands the copies over as packets and, every FC_POLL_MS, the counts
 * that grew as summaries (cap.h), so bulk traffic costs user space one
 * record per flow and second instead of one per packet.
 *
 * Order: a copy carries its flow's counters as they were before it, so the
 * bytes a FIN ends are summarised before the FIN; a map entry whose copies
 * are not all read yet waits for the next poll, so a flow's first packets
 * always come before its summaries.
 *
 * What user space has already summarised of each kernel flow is kept in an
 * open-addressing table keyed like the map. A flow gone from the map without
 * our deleting it was evicted by the kernel (counted: what it counted since
 * the last poll is lost). Flows idle for FC_IDLE_S are deleted by us.
 *
 * Times: the programs stamp with the monotonic clock (bpf_ktime_get_ns);
 * they are turned into wall-clock time with the offset between the two
 * clocks, measured at open and again at each poll, so a clock stepped by
 * NTP is followed within a second.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <pcap/dlt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "capture/cap_impl.h"
#include "ebpf/flowcap.h"
#include "features/hash.h"
#include "flowcap.skel.h"

/* Flows idle this long leave the kernel's map, which each poll walks (a
 * later packet starts them afresh, its first packets copied again, which
 * is harmless: the tracker keeps its own flows). */
#define FC_IDLE_S 60
/* enum bpf_attach_type's BPF_TCX_INGRESS and BPF_TCX_EGRESS (Linux 6.6):
 * kernel ABI, newer than this libbpf's headers. */
#define FC_TCX_INGRESS 46
#define FC_TCX_EGRESS 47
#define FC_F_BEFORE (1u << 3) /* BPF_F_BEFORE: alone, first on the hook */
/* Our filters on the clsact hook, where there is no tcx: a later iotids
 * replaces a stale one. */
#define FC_TC_HANDLE 0x10d5
#define FC_TC_PRIO 0xc0de
#define BATCH 256
/* A summary's bytes must fit a packet's 32-bit length. */
#define SUMMARY_BYTES_MAX (1u << 30)

/* The ring buffer, read in place (its layout is the kernel's ABI). */
struct ring {
	unsigned long *consumer;
	const unsigned long *producer;
	const uint8_t *data;
	size_t size, page;
	unsigned long next;    /* consumer position after the record held */
	bool holding;
};

struct applied {
	struct fc_key key;
	uint64_t packets[2], bytes[2];
	uint64_t copied_seen;  /* copies of the flow read from the ring */
	uint32_t gen;          /* the poll that last saw it */
	uint32_t waits;        /* polls in a row its copies were not all read */
	bool used;
};

/* Counts to hand over as summaries, at most SUMMARY_BYTES_MAX at a time. */
struct pending {
	struct fc_key key;
	uint8_t dir;
	struct fc_side tmpl;
	uint64_t packets, bytes, ts_ns;
};

struct ebpf_impl {
	struct flowcap *skel;
	int ifindex;
	char iface[IF_NAMESIZE];
	/* tcx links (fd-owned: gone with the process, however it ends), or
	 * failing them clsact filters, ingress then egress. */
	int link_fd[2];
	struct bpf_tc_hook hook;
	struct bpf_tc_opts tc[2];
	bool attached[2];
	int promisc_fd;
	int ring_fd, flows_fd, stats_fd;
	struct ring ring;
	uint32_t timeout_ms;
	int64_t mono_to_real_ns;

	struct applied *app;
	size_t app_cap, app_used;
	uint64_t seed;
	uint32_t gen;
	size_t gen_seen;       /* entries that poll has seen or a copy touched */

	struct pending pend[4];
	int n_pend;
	const struct fc_event *held; /* a copy to hand over after pend */

	/* A poll of the flow map, resumable between records. */
	bool polling, poll_done;
	bool poll_first;
	__u32 batch_token;
	struct fc_key keys[BATCH];
	struct fc_flow vals[BATCH];
	uint32_t n_batch, i_batch;
	bool batch_last;
	double next_poll;

	bool stopping, final_polled;
	unsigned long stop_pos;

	uint8_t frame[FC_SNAP_MAX + 64];
	uint64_t evicted, copies, summaries;
};

static double mono_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int64_t ns_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static int64_t clock_offset(void)
{
	struct timespec r1, m, r2;
	clock_gettime(CLOCK_REALTIME, &r1);
	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r2);
	return (ns_of(&r1) + ns_of(&r2)) / 2 - ns_of(&m);
}

static uint64_t wall_us(const struct ebpf_impl *e, uint64_t mono_ns)
{
	int64_t t = (int64_t)mono_ns + e->mono_to_real_ns;
	return t > 0 ? (uint64_t)t / 1000u : 0;
}

/* ---- the ring buffer ---- */

static int ring_open(struct ring *r, int fd, size_t size)
{
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->size = size;
	void *c = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED)
		return -errno;
	/* The data pages are mapped twice in a row: a record that wraps is
	 * still contiguous. */
	void *p = mmap(NULL, r->page + 2 * size, PROT_READ, MAP_SHARED, fd, (off_t)r->page);
	if (p == MAP_FAILED) {
		int rc = -errno;
		munmap(c, r->page);
		return rc;
	}
	r->consumer = c;
	r->producer = p;
	r->data = (const uint8_t *)p + r->page;
	return 0;
}

static void ring_close(struct ring *r)
{
	if (r->consumer)
		munmap(r->consumer, r->page);
	if (r->producer)
		munmap((void *)r->producer, r->page + 2 * r->size);
}

static unsigned long ring_producer(const struct ring *r)
{
	return __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
}

/* The next committed record, held until ring_release; NULL when none. */
static const void *ring_peek(struct ring *r, uint32_t *len)
{
	unsigned long cons = *r->consumer;
	/* Positions wrap on 32-bit systems: compare their difference. */
	while ((long)(ring_producer(r) - cons) > 0) {
		const uint32_t *hdr = (const uint32_t *)(r->data + (cons & (r->size - 1)));
		uint32_t l = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		if (l & BPF_RINGBUF_BUSY_BIT)
			return NULL;
		uint32_t n = l & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		unsigned long next = cons + ((n + BPF_RINGBUF_HDR_SZ + 7) & ~7u);
		if (l & BPF_RINGBUF_DISCARD_BIT) {
			cons = next;
			__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
			continue;
		}
		r->next = next;
		r->holding = true;
		*len = n;
		return (const uint8_t *)hdr + BPF_RINGBUF_HDR_SZ;
	}
	return NULL;
}

static void ring_release(struct ring *r)
{
	if (r->holding)
		__atomic_store_n(r->consumer, r->next, __ATOMIC_RELEASE);
	r->holding = false;
}

/* ---- what has been summarised of each kernel flow ---- */

static size_t app_slot(const struct ebpf_impl *e, const struct fc_key *k)
{
	uint64_t h = e->seed, w;
	const uint8_t *b = (const uint8_t *)k;
	for (size_t i = 0; i < sizeof(*k); i += 8) {
		memcpy(&w, b + i, 8);
		h = hash_mix(h, w);
	}
	return (size_t)(hash_final(h) % e->app_cap);
}

/* The entry of k; created when create is set and there is room. */
static struct applied *app_find(struct ebpf_impl *e, const struct fc_key *k, bool create)
{
	size_t i = app_slot(e, k);
	while (e->app[i].used) {
		if (!memcmp(&e->app[i].key, k, sizeof(*k)))
			return &e->app[i];
		i = (i + 1) % e->app_cap;
	}
	/* A map bigger than the table would want: keep a quarter free. */
	if (!create || e->app_used + 1 > e->app_cap - e->app_cap / 4)
		return NULL;
	memset(&e->app[i], 0, sizeof(e->app[i]));
	e->app[i].key = *k;
	e->app[i].used = true;
	e->app[i].gen = e->gen;
	e->app_used++;
	e->gen_seen++;
	return &e->app[i];
}

/* a is current in this poll: the map still has it. */
static void app_touch(struct ebpf_impl *e, struct applied *a)
{
	if (a->gen != e->gen) {
		a->gen = e->gen;
		e->gen_seen++;
	}
}

/* Linear probing's deletion: later entries of the run move back. */
static void app_remove(struct ebpf_impl *e, struct applied *a)
{
	size_t i = (size_t)(a - e->app), j = i;
	if (a->gen == e->gen)
		e->gen_seen--;
	e->app[i].used = false;
	e->app_used--;
	for (;;) {
		j = (j + 1) % e->app_cap;
		if (!e->app[j].used)
			return;
		size_t home = app_slot(e, &e->app[j].key);
		/* j stays unless its home is cyclically outside (i, j]. */
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (stays)
			continue;
		e->app[i] = e->app[j];
		e->app[j].used = false;
		i = j;
	}
}

/* Queues what the kernel counted of k beyond what a has summarised, per
 * direction. Counts below a's are older than a's (a copy's snapshot read
 * late) or, for the map's own entry, a new entry after an eviction. */
static void queue_growth(struct ebpf_impl *e, struct applied *a, const struct fc_key *k, const struct fc_flow *v,
			 const __u64 packets[2], const __u64 bytes[2], bool from_map)
{
	if (from_map && (packets[0] < a->packets[0] || packets[1] < a->packets[1])) {
		e->evicted++;
		memset(a->packets, 0, sizeof(a->packets));
		memset(a->bytes, 0, sizeof(a->bytes));
	}
	for (int d = 0; d < 2; d++) {
		if (packets[d] <= a->packets[d] || bytes[d] < a->bytes[d] ||
		    e->n_pend >= (int)(sizeof(e->pend) / sizeof(e->pend[0])))
			continue;
		struct pending *p = &e->pend[e->n_pend++];
		p->key = *k;
		p->dir = (uint8_t)d;
		p->tmpl = v->side[d];
		p->packets = packets[d] - a->packets[d];
		p->bytes = bytes[d] - a->bytes[d];
		p->ts_ns = v->side[d].last_ns;
		a->packets[d] = packets[d];
		a->bytes[d] = bytes[d];
	}
}

/* ---- summaries as header-only frames ---- */

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* Ethernet (and its tag), IP and the transport header of a summarised
 * packet of k sent by end dir: what the decoder needs, nothing more. */
static uint32_t summary_frame(uint8_t *f, const struct fc_key *k, int dir, const struct fc_side *t)
{
	uint32_t n = 12, l4 = 0;
	memcpy(f, t->eth, 12);
	if (t->vlan) {
		put16(f + n, 0x8100);
		put16(f + n + 2, t->vlan_tci);
		n += 4;
	}
	switch (k->proto) {
	case 6:
		l4 = 20;
		break;
	case 17:
	case 1:
	case 58:
		l4 = 8;
		break;
	default:
		break;
	}
	const uint8_t *src = k->addr[dir], *dst = k->addr[!dir];
	if (k->v6) {
		put16(f + n, 0x86dd);
		n += 2;
		memset(f + n, 0, 40);
		f[n] = 0x60;
		put16(f + n + 4, (uint16_t)l4);
		f[n + 6] = k->proto;
		f[n + 7] = 64;
		memcpy(f + n + 8, src, 16);
		memcpy(f + n + 24, dst, 16);
		n += 40;
	} else {
		put16(f + n, 0x0800);
		n += 2;
		memset(f + n, 0, 20);
		f[n] = 0x45;
		put16(f + n + 2, (uint16_t)(20 + l4));
		f[n + 8] = 64;
		f[n + 9] = k->proto;
		memcpy(f + n + 12, src, 4);
		memcpy(f + n + 16, dst, 4);
		n += 20;
	}
	memset(f + n, 0, l4);
	if (k->proto == 6 || k->proto == 17) {
		put16(f + n, k->port[dir]);
		put16(f + n + 2, k->port[!dir]);
		if (k->proto == 6) {
			f[n + 12] = 5 << 4;
			f[n + 13] = t->tcp_flags;
		} else {
			put16(f + n + 4, 8);
		}
	} else if (l4) {
		f[n] = t->icmp_type;
		put16(f + n + 4, k->port[dir]);
	}
	return n + l4;
}

static void emit_summary(struct ebpf_impl *e, struct cap_packet *p)
{
	struct pending *q = &e->pend[0];
	uint64_t bytes = q->bytes, packets = q->packets;
	if (bytes > SUMMARY_BYTES_MAX) {
		bytes = SUMMARY_BYTES_MAX;
		packets = q->packets * bytes / q->bytes;
		if (packets == 0)
			packets = 1;
	}
	p->caplen = summary_frame(e->frame, &q->key, q->dir, &q->tmpl);
	p->data = e->frame;
	p->wirelen = (uint32_t)bytes;
	p->packets = (uint32_t)packets;
	p->summary = true;
	p->ts_us = wall_us(e, q->ts_ns);
	q->bytes -= bytes;
	q->packets -= packets;
	if (q->bytes == 0 || q->packets == 0) {
		e->n_pend--;
		memmove(&e->pend[0], &e->pend[1], (size_t)e->n_pend * sizeof(e->pend[0]));
	}
	e->summaries++;
}

/* ---- copies from the ring ---- */

/* Takes a ring record: its flow's earlier counts are queued first. */
static void take_copy(struct ebpf_impl *e, const struct fc_event *ev)
{
	e->held = ev;
	e->copies++;
	if (!(ev->flags & FC_EV_KEYED))
		return;
	struct applied *a = app_find(e, &ev->key, true);
	if (!a)
		return;
	a->copied_seen++;
	app_touch(e, a);
	if (ev->packets[0] <= a->packets[0] && ev->packets[1] <= a->packets[1])
		return;
	/* The headers to summarise with are in the map, not the record; its
	 * last times may be later than the copy, which the counts precede. */
	struct fc_flow v;
	if (bpf_map_lookup_elem(e->flows_fd, &ev->key, &v) == 0) {
		for (int d = 0; d < 2; d++)
			if (v.side[d].last_ns > ev->ts_ns)
				v.side[d].last_ns = ev->ts_ns;
		queue_growth(e, a, &ev->key, &v, ev->packets, ev->bytes, false);
	}
}

static void emit_copy(struct ebpf_impl *e, struct cap_packet *p)
{
	const struct fc_event *ev = e->held;
	const uint8_t *data = (const uint8_t *)(ev + 1);
	uint32_t caplen = ev->caplen;
	e->held = NULL;
	p->data = data;
	/* libpcap puts an offloaded VLAN tag back; so do we. */
	if ((ev->flags & FC_EV_VLAN) && caplen >= 12 && caplen + 4 <= sizeof(e->frame)) {
		memcpy(e->frame, data, 12);
		memcpy(e->frame + 12, &ev->vlan_proto, 2);
		put16(e->frame + 14, ev->vlan_tci);
		memcpy(e->frame + 16, data + 12, caplen - 12);
		caplen += 4;
		p->data = e->frame;
	}
	p->caplen = caplen;
	p->wirelen = ev->wirelen;
	p->packets = 1;
	p->summary = false;
	p->ts_us = wall_us(e, ev->ts_ns);
}

/* ---- polls of the flow map ---- */

static void poll_begin(struct ebpf_impl *e)
{
	e->polling = true;
	e->poll_first = true;
	e->batch_last = false;
	e->n_batch = e->i_batch = 0;
	e->gen++;
	e->gen_seen = 0;
	e->mono_to_real_ns = clock_offset();
}

/* After a whole pass: flows we hold that the map no longer has. Only
 * looked for when there are some: the table is large to walk each second. */
static void poll_end(struct ebpf_impl *e)
{
	e->polling = false;
	e->next_poll = mono_s() + FC_POLL_MS / 1000.0;
	for (size_t i = 0; e->gen_seen < e->app_used && i < e->app_cap;) {
		struct applied *a = &e->app[i];
		if (a->used && a->gen != e->gen) {
			e->evicted++;
			/* The slot may now hold a later entry: look again. */
			app_remove(e, a);
			continue;
		}
		i++;
	}
}

static int fetch_batch(struct ebpf_impl *e)
{
	__u32 count = BATCH;
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int rc = bpf_map_lookup_batch(e->flows_fd, e->poll_first ? NULL : &e->batch_token, &e->batch_token, e->keys,
				      e->vals, &count, &opts);
	e->poll_first = false;
	e->i_batch = 0;
	e->n_batch = rc == 0 || errno == ENOENT ? count : 0;
	e->batch_last = rc != 0;
	return rc == 0 || errno == ENOENT ? 0 : -errno;
}

/* One map entry's growth queued, or the pass ended. */
static void poll_step(struct ebpf_impl *e, uint64_t idle_before_ns)
{
	while (e->i_batch >= e->n_batch) {
		if (e->batch_last || fetch_batch(e) < 0) {
			poll_end(e);
			return;
		}
	}
	const struct fc_key *k = &e->keys[e->i_batch];
	struct fc_flow *v = &e->vals[e->i_batch++];
	struct applied *a = app_find(e, k, true);
	if (!a)
		return;
	app_touch(e, a);
	/* Its first packets are still in the ring: next time. A copy that
	 * never shows (its record unread at a stop, or its entry refused for
	 * want of room) must not hold the counts back for ever. */
	if (v->copied > a->copied_seen && !e->stopping && ++a->waits < 3)
		return;
	a->waits = 0;
	if (v->copied > a->copied_seen)
		a->copied_seen = v->copied;
	uint64_t last = v->side[0].last_ns > v->side[1].last_ns ? v->side[0].last_ns : v->side[1].last_ns;
	bool idle = last < idle_before_ns;
	if (idle && bpf_map_lookup_and_delete_elem(e->flows_fd, k, v) != 0)
		idle = false;
	__u64 packets[2] = {v->side[0].packets, v->side[1].packets};
	__u64 bytes[2] = {v->side[0].bytes, v->side[1].bytes};
	queue_growth(e, a, k, v, packets, bytes, true);
	if (idle)
		app_remove(e, a);
}

/* ---- the source ---- */

static enum cap_status ebpf_next(struct cap_source *s, struct cap_packet *p)
{
	struct ebpf_impl *e = s->impl;
	/* The copy handed out last is done with; one still held is not. */
	if (!e->held)
		ring_release(&e->ring);
	for (;;) {
		if (e->n_pend) {
			emit_summary(e, p);
			return CAP_PACKET;
		}
		if (e->held) {
			/* Released at the next call: data points into the ring. */
			emit_copy(e, p);
			return CAP_PACKET;
		}
		if (e->polling) {
			struct timespec m;
			clock_gettime(CLOCK_MONOTONIC, &m);
			int64_t idle_before = ns_of(&m) - (int64_t)FC_IDLE_S * 1000000000;
			poll_step(e, idle_before > 0 ? (uint64_t)idle_before : 0);
			continue;
		}
		if (e->stopping && e->final_polled)
			return CAP_END;
		/* Before the ring, which a flood may never let run dry. */
		double now = mono_s();
		if (!e->stopping && now >= e->next_poll) {
			poll_begin(e);
			continue;
		}
		uint32_t len;
		bool ring_due = !e->stopping || (long)(e->stop_pos - *e->ring.consumer) > 0;
		const struct fc_event *ev = ring_due ? ring_peek(&e->ring, &len) : NULL;
		if (ev && len >= sizeof(*ev) && len >= sizeof(*ev) + ev->caplen) {
			take_copy(e, ev);
			continue;
		}
		if (ev) {
			/* Not a record of ours: skip it rather than misread it. */
			ring_release(&e->ring);
			continue;
		}
		if (e->stopping) {
			e->final_polled = true;
			poll_begin(e);
			continue;
		}
		int wait_ms = (int)((e->next_poll - now) * 1000.0) + 1;
		if (wait_ms > (int)e->timeout_ms)
			wait_ms = (int)e->timeout_ms;
		struct pollfd pfd = {.fd = e->ring_fd, .events = POLLIN};
		/* A signal (EINTR) or the timeout: back to the caller. */
		if (poll(&pfd, 1, wait_ms) <= 0)
			return CAP_IDLE;
	}
}

static void ebpf_progress(const struct cap_source *s, uint64_t *done, uint64_t *total)
{
	const struct ebpf_impl *e = s->impl;
	*done = e->copies + e->summaries;
	*total = 0;
}

static int ebpf_stats(const struct cap_source *s, struct cap_stats *st)
{
	const struct ebpf_impl *e = s->impl;
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return -EIO;
	struct fc_stats *per = calloc((size_t)ncpu, sizeof(*per));
	__u32 zero = 0;
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(e->stats_fd, &zero, per) != 0) {
		int rc = -errno;
		free(per);
		return rc;
	}
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < ncpu; i++) {
		st->received += per[i].packets;
		st->dropped += per[i].ring_lost;
		st->counted += per[i].counted;
		st->ring_full += per[i].ring_full;
		st->map_full += per[i].map_full;
	}
	st->evicted = e->evicted;
	free(per);
	return 0;
}

static void ebpf_stop(struct cap_source *s)
{
	struct ebpf_impl *e = s->impl;
	e->stopping = true;
	e->stop_pos = ring_producer(&e->ring);
}

/* Detaches our clsact filter from hook i if it is still ours: another
 * iotids (or tc) may have put its own program there since. tc has no
 * compare-and-delete: one replacing ours between the two calls goes too. */
static void tc_detach_ours(struct ebpf_impl *e, int i)
{
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info);
	e->hook.attach_point = i ? BPF_TC_EGRESS : BPF_TC_INGRESS;
	e->tc[i].prog_fd = e->tc[i].prog_id = 0;
	e->tc[i].flags = 0;
	if (bpf_tc_query(&e->hook, &e->tc[i]) != 0 ||
	    bpf_obj_get_info_by_fd(bpf_program__fd(i ? e->skel->progs.fc_egress : e->skel->progs.fc_ingress), &info,
				   &len) != 0 ||
	    e->tc[i].prog_id != info.id)
		return;
	e->tc[i].prog_fd = e->tc[i].prog_id = 0;
	e->tc[i].flags = 0;
	bpf_tc_detach(&e->hook, &e->tc[i]);
}

static void ebpf_close(struct cap_source *s)
{
	struct ebpf_impl *e = s->impl;
	if (e) {
		for (int i = 0; i < 2; i++) {
			if (e->link_fd[i] >= 0)
				close(e->link_fd[i]);
			if (e->attached[i])
				tc_detach_ours(e, i);
		}
		ring_close(&e->ring);
		if (e->promisc_fd >= 0)
			close(e->promisc_fd);
		flowcap__destroy(e->skel);
		free(e->app);
		free(e);
	}
	free(s);
}

static const char *ebpf_hook(const struct cap_source *s)
{
	const struct ebpf_impl *e = s->impl;
	return e->link_fd[0] >= 0 ? "tcx" : "clsact";
}

static const struct cap_ops ebpf_ops = {
	.name = "ebpf",
	.next = ebpf_next,
	.progress = ebpf_progress,
	.close = ebpf_close,
	.stats = ebpf_stats,
	.stop = ebpf_stop,
	.hook = ebpf_hook,
};

/* What libbpf said that a failure's one line should carry: the verifier's
 * verdict when it refused a program, else libbpf's last message. */
static char libbpf_last[256];
static bool libbpf_have_verdict;

/* The verifier's log ends with its verdict, then "processed N insns". */
static void keep_verdict(const char *log)
{
	const char *end = strstr(log, "-- END PROG LOAD LOG --");
	const char *stop = strstr(log, "\nprocessed ");
	if (stop && (!end || stop < end))
		end = stop + 1;
	if (!end)
		return;
	const char *line = end - 1;
	while (line > log && line[-1] == '\n')
		line--;
	const char *eol = line;
	while (line > log && line[-1] != '\n')
		line--;
	if (eol > line) {
		snprintf(libbpf_last, sizeof(libbpf_last), "verifier: %.*s", (int)(eol - line), line);
		libbpf_have_verdict = true;
	}
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || libbpf_have_verdict)
		return 0;
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (!msg)
		return 0;
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	if (strstr(msg, "BEGIN PROG LOAD LOG"))
		keep_verdict(msg);
	else if (msg[0])
		snprintf(libbpf_last, sizeof(libbpf_last), "%.*s", (int)strcspn(msg, "\n"), msg);
	free(msg);
	return 0;
}

static bool is_ethernet(const char *iface)
{
	char path[64 + IF_NAMESIZE], buf[16] = "";
	snprintf(path, sizeof(path), "/sys/class/net/%s/type", iface);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	bool eth = fgets(buf, sizeof(buf), f) && strtol(buf, NULL, 10) == ARPHRD_ETHER;
	fclose(f);
	return eth;
}

static uint32_t pow2_at_least(uint32_t v, uint32_t min)
{
	uint32_t p = min;
	while (p < v && p < (1u << 30))
		p <<= 1;
	return p;
}

static int set_promisc(struct ebpf_impl *e)
{
	/* A packet socket of protocol 0 receives nothing; its membership
	 * keeps the interface promiscuous until it is closed, even by a crash. */
	e->promisc_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (e->promisc_fd < 0)
		return -errno;
	struct packet_mreq mr = {.mr_ifindex = e->ifindex, .mr_type = PACKET_MR_PROMISC};
	if (setsockopt(e->promisc_fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0)
		return -errno;
	return 0;
}

/* tcx links: several programs per hook, each run in turn, detached when
 * the process ends. Ours goes first: it passes every packet on, while a
 * program before it could end a packet's way (drop, redirect) unseen.
 * -EINVAL from a kernel older than 6.6. */
static int attach_tcx(struct ebpf_impl *e)
{
	struct bpf_program *prog[2] = {e->skel->progs.fc_ingress, e->skel->progs.fc_egress};
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = FC_F_BEFORE);
	for (int i = 0; i < 2; i++) {
		int fd = bpf_link_create(bpf_program__fd(prog[i]), e->ifindex, i ? FC_TCX_EGRESS : FC_TCX_INGRESS,
					 &opts);
		if (fd < 0) {
			for (int j = 0; j < i; j++) {
				close(e->link_fd[j]);
				e->link_fd[j] = -1;
			}
			return fd;
		}
		e->link_fd[i] = fd;
	}
	return 0;
}

static int attach(struct ebpf_impl *e, enum cap_hook_choice hook, char *err, size_t errlen)
{
	int rc = hook == CAP_HOOK_CLSACT ? -EOPNOTSUPP : attach_tcx(e);
	if (rc == 0 || (rc != -EINVAL && rc != -EOPNOTSUPP) || hook == CAP_HOOK_TCX) {
		if (rc)
			snprintf(err, errlen, "%s: cannot attach the eBPF programs with tcx: %s%s", e->iface, strerror(-rc),
				 rc == -EINVAL || rc == -EOPNOTSUPP
					 ? " (a kernel before 6.6 has no tcx: --ebpf-hook clsact works there)"
					 : "");
		return rc;
	}
	e->hook.sz = sizeof(e->hook);
	e->hook.ifindex = e->ifindex;
	e->hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	rc = bpf_tc_hook_create(&e->hook);
	if (rc && rc != -EEXIST) {
		snprintf(err, errlen, "%s: cannot add the clsact qdisc: %s", e->iface, strerror(-rc));
		return rc;
	}
	struct bpf_program *prog[2] = {e->skel->progs.fc_ingress, e->skel->progs.fc_egress};
	for (int i = 0; i < 2; i++) {
		e->hook.attach_point = i ? BPF_TC_EGRESS : BPF_TC_INGRESS;
		e->tc[i].sz = sizeof(e->tc[i]);
		e->tc[i].handle = FC_TC_HANDLE;
		e->tc[i].priority = FC_TC_PRIO;
		e->tc[i].prog_fd = bpf_program__fd(prog[i]);
		e->tc[i].flags = BPF_TC_F_REPLACE;
		rc = bpf_tc_attach(&e->hook, &e->tc[i]);
		if (rc) {
			snprintf(err, errlen, "%s: cannot attach the eBPF program to %s: %s", e->iface,
				 i ? "egress" : "ingress", strerror(-rc));
			return rc;
		}
		e->attached[i] = true;
	}
	return 0;
}

struct cap_source *cap_open_ebpf(const struct cap_ebpf_config *c, char *err, size_t errlen)
{
	struct cap_source *s = NULL;
	struct ebpf_impl *e = NULL;
	int idx = cap_iface_check(c->iface, err, errlen);
	if (idx < 0)
		return NULL;
	if (!is_ethernet(c->iface)) {
		snprintf(err, errlen, "%s: not an Ethernet interface: the eBPF source reads Ethernet frames", c->iface);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	e = calloc(1, sizeof(*e));
	if (!s || !e) {
		free(s);
		free(e);
		snprintf(err, errlen, "%s: out of memory", c->iface);
		return NULL;
	}
	s->ops = &ebpf_ops;
	s->impl = e;
	s->linktype = DLT_EN10MB;
	e->promisc_fd = -1;
	e->link_fd[0] = e->link_fd[1] = -1;
	e->ifindex = idx;
	e->timeout_ms = c->timeout_ms;
	e->seed = hash_random_seed();
	snprintf(e->iface, sizeof(e->iface), "%s", c->iface);
	uint32_t flows = c->max_flows ? c->max_flows : 65536;
	e->app_cap = (size_t)flows + flows / 2 + 16;
	e->app = calloc(e->app_cap, sizeof(*e->app));
	if (!e->app) {
		snprintf(err, errlen, "%s: out of memory", c->iface);
		goto fail;
	}

	libbpf_set_print(libbpf_quiet);
	libbpf_last[0] = '\0';
	libbpf_have_verdict = false;
	e->skel = flowcap__open();
	if (!e->skel) {
		snprintf(err, errlen, "%s: cannot open the eBPF programs: %s", c->iface, strerror(errno));
		goto fail;
	}
	e->skel->rodata->cfg_snaplen = c->snaplen < FC_SNAP_MAX ? c->snaplen : FC_SNAP_MAX;
	uint32_t ring = pow2_at_least(c->ring_bytes, (uint32_t)sysconf(_SC_PAGESIZE));
	if (bpf_map__set_max_entries(e->skel->maps.events, ring) ||
	    bpf_map__set_max_entries(e->skel->maps.flows, flows)) {
		snprintf(err, errlen, "%s: cannot size the eBPF maps", c->iface);
		goto fail;
	}
	int rc = flowcap__load(e->skel);
	if (rc == -EPERM) {
		snprintf(err, errlen,
			 "%s: permission denied: the eBPF source needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_NET_RAW",
			 c->iface);
		goto fail;
	}
	if (rc) {
		snprintf(err, errlen, "%s: the kernel refused the eBPF programs: %s%s%s", c->iface, strerror(-rc),
			 libbpf_last[0] ? ": " : "", libbpf_last);
		goto fail;
	}
	e->ring_fd = bpf_map__fd(e->skel->maps.events);
	e->flows_fd = bpf_map__fd(e->skel->maps.flows);
	e->stats_fd = bpf_map__fd(e->skel->maps.stats);
	if ((rc = ring_open(&e->ring, e->ring_fd, ring)) != 0) {
		snprintf(err, errlen, "%s: cannot map the ring buffer: %s", c->iface, strerror(-rc));
		goto fail;
	}
	if (c->promisc && (rc = set_promisc(e)) != 0) {
		snprintf(err, errlen, "%s: cannot make the interface promiscuous: %s", c->iface, strerror(-rc));
		goto fail;
	}
	e->mono_to_real_ns = clock_offset();
	e->next_poll = mono_s() + FC_POLL_MS / 1000.0;
	if (attach(e, c->hook, err, errlen) != 0)
		goto fail;
	return s;
fail:
	ebpf_close(s);
	return NULL;
}
