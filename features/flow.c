#include "features/flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/hash.h"
#include "features/pool.h"

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58

/* Stale list heads moved per eviction at most: a bound on the work of one
 * packet; past it the victim is chosen among heads as they stand. */
#define EVICT_MOVES 32
#define FLOW_LISTS (2 * FLOW_TMO_COUNT)

struct flow_entry {
	uint32_t hash;
	struct lru_link lru;
	bool touched;         /* a packet came since it was placed at its list's tail */
	uint8_t list;         /* the list it is in: seg * FLOW_TMO_COUNT + tmo */
	struct flow f;
} __attribute__((aligned(64)));

/* Four cache lines (key, state and bookkeeping first); a field more and
 * every flow costs a fifth, past the 300-byte budget per tracked flow. */
_Static_assert(sizeof(struct flow_entry) == 256, "flow entry outgrew four cache lines");

/* Open addressing with linear probing over twice as many slots as flows.
 * A slot keeps the flow's hash beside its index, so probing compares hashes
 * in one cache line and touches a flow entry only on a likely match; that
 * matters when the table is far larger than the CPU cache (a flood). */
struct slot {
	uint32_t hash;
	uint32_t idx; /* POOL_NONE: empty */
};

struct flow_table {
	struct flow_table_cfg cfg;
	struct pool *pool;
	struct slot *slots;
	uint32_t mask;
	/* One list per timeout class in each segment: fresh flows first, then
	 * those of settled devices (flow_table_keep). */
	struct lru_list lists[FLOW_LISTS];
	uint32_t in_seg[2];
	uint32_t fresh_reserve;
	uint64_t now_us;
	/* No flow is due before this (a lower bound): most packets need not
	 * look at the lists at all. */
	uint64_t next_deadline;
	uint64_t next_id;
	struct flow_stats stats;
};

/* Both directions of a conversation hash alike: the lower endpoint goes first. */
struct flow_key {
	const struct ip_addr *a, *b;
	uint16_t pa, pb;
	uint8_t proto;
};

static struct flow_key key_canonical(const struct ip_addr *s, const struct ip_addr *d, uint16_t sp, uint16_t dp,
				     uint8_t proto)
{
	int c = ip_compare(s, d);
	if (c < 0 || (c == 0 && sp <= dp))
		return (struct flow_key){s, d, sp, dp, proto};
	return (struct flow_key){d, s, dp, sp, proto};
}

static uint32_t key_hash(const struct flow_table *t, const struct flow_key *k)
{
	uint64_t h = hash_bytes16(t->cfg.seed, k->a->b);
	h = hash_bytes16(h, k->b->b);
	h = hash_mix(h, (uint64_t)k->pa << 24 | (uint64_t)k->pb << 8 | k->proto);
	return (uint32_t)hash_final(h);
}

static bool key_matches(const struct flow *f, const struct flow_key *k)
{
	if (f->proto != k->proto)
		return false;
	if (f->sport == k->pa && f->dport == k->pb && ip_equal(&f->src, k->a) && ip_equal(&f->dst, k->b))
		return true;
	return f->sport == k->pb && f->dport == k->pa && ip_equal(&f->src, k->b) && ip_equal(&f->dst, k->a);
}

static struct flow_entry *entry_at(const struct flow_table *t, uint32_t idx)
{
	return pool_at(t->pool, idx);
}

static uint64_t deadline(const struct flow_table *t, const struct flow *f)
{
	return f->last_us + (uint64_t)t->cfg.timeout_s[f->tmo] * 1000000u;
}

struct flow_table *flow_table_new(const struct flow_table_cfg *cfg)
{
	if (cfg->max_flows == 0 || cfg->max_flows > (1u << 30))
		return NULL;
	struct flow_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *cfg;
	if (t->cfg.seed == 0)
		t->cfg.seed = hash_random_seed();
	uint32_t ns = 2;
	while (ns < 2 * (uint64_t)cfg->max_flows)
		ns <<= 1;
	t->mask = ns - 1;
	t->slots = malloc((size_t)ns * sizeof(*t->slots));
	t->pool = pool_new(sizeof(struct flow_entry), cfg->max_flows);
	if (!t->slots || !t->pool) {
		flow_table_free(t);
		return NULL;
	}
	for (uint32_t i = 0; i < ns; i++)
		t->slots[i].idx = POOL_NONE;
	for (int i = 0; i < FLOW_LISTS; i++)
		lru_init(&t->lists[i], offsetof(struct flow_entry, lru));
	t->fresh_reserve = cfg->max_flows / 8 ? cfg->max_flows / 8 : 1;
	t->next_id = 1;
	return t;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	pool_free(t->pool);
	free(t->slots);
	free(t);
}

/* The slot holding the flow of key k, or the empty slot where it would go. */
static uint32_t find_slot(const struct flow_table *t, const struct flow_key *k, uint32_t hash)
{
	for (uint32_t i = hash & t->mask;; i = (i + 1) & t->mask) {
		const struct slot *s = &t->slots[i];
		if (s->idx == POOL_NONE || (s->hash == hash && key_matches(&entry_at(t, s->idx)->f, k)))
			return i;
	}
}

/* Empties slot i and shifts later entries of its probe run back, so that no
 * lookup stops early at the hole (no tombstones to clean up later). */
static void slot_delete(struct flow_table *t, uint32_t i)
{
	for (uint32_t j = i;;) {
		j = (j + 1) & t->mask;
		const struct slot *s = &t->slots[j];
		if (s->idx == POOL_NONE)
			break;
		uint32_t home = s->hash & t->mask;
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = *s;
			i = j;
		}
	}
	t->slots[i].idx = POOL_NONE;
}

static void unlist(struct flow_table *t, uint32_t idx)
{
	struct flow_entry *e = entry_at(t, idx);
	lru_remove(t->pool, &t->lists[e->list], idx);
	t->in_seg[e->list >= FLOW_TMO_COUNT]--;
}

/* Unlinks the flow from its slot and list, reports it, frees the entry. */
static void end_flow(struct flow_table *t, uint32_t idx, enum flow_end why)
{
	struct flow_entry *e = entry_at(t, idx);
	uint32_t i = e->hash & t->mask;
	while (t->slots[i].idx != idx)
		i = (i + 1) & t->mask;
	slot_delete(t, i);
	unlist(t, idx);
	if (t->cfg.on_end)
		t->cfg.on_end(t->cfg.ctx, &e->f, why);
	pool_release(t->pool, idx);
	t->stats.active--;
	t->stats.ended[why]++;
}

/* Lists are kept lazily: a packet only moves last_us; a flow found at the
 * head of its list with packets newer than its place there ("stale") is
 * moved to the tail then. That saves touching two cold list neighbours on
 * every packet (CLOCK-style: one flag in the entry's first cache line
 * says "touched"). A flow never touched since it was queued (an unanswered
 * SYN, an idle flow) is met at the head in order and expires on time; one
 * that went idle after a packet may be met a little late, which only delays
 * when it is reported: its end reason is still IDLE, and a packet arriving
 * for it past its timeout still starts a new flow. */
static void enqueue(struct flow_table *t, uint32_t idx)
{
	struct flow_entry *e = entry_at(t, idx);
	uint32_t seg = e->list >= FLOW_TMO_COUNT;
	e->list = (uint8_t)(seg * FLOW_TMO_COUNT + e->f.tmo);
	lru_push(t->pool, &t->lists[e->list], idx);
	t->in_seg[seg]++;
	e->touched = false;
	uint64_t d = deadline(t, &e->f);
	if (d < t->next_deadline)
		t->next_deadline = d;
}

/* Requeues stale heads of list i, at most *moves of them; returns the head
 * (stale only if the moves ran out). */
static inline uint32_t fresh_head(struct flow_table *t, int i, size_t *moves)
{
	uint32_t idx;
	while ((idx = t->lists[i].head) != POOL_NONE && entry_at(t, idx)->touched && *moves > 0) {
		unlist(t, idx);
		enqueue(t, idx);
		(*moves)--;
	}
	return idx;
}

/* A flow whose timeout has passed ends by its timeout, whatever removes it:
 * expiry, a late packet, eviction or the end of the capture. */
static enum flow_end end_reason(const struct flow_table *t, const struct flow *f, enum flow_end otherwise)
{
	if (deadline(t, f) > t->now_us)
		return otherwise;
	return f->state == FLOW_ST_CLOSED ? FLOW_END_CLOSED : FLOW_END_IDLE;
}

static enum flow_tmo tmo_class(const struct flow *f)
{
	switch (f->proto) {
	case PROTO_TCP:
		if (f->state == FLOW_ST_CLOSED)
			return FLOW_TMO_TCP_CLOSED;
		if (f->state == FLOW_ST_SYN_SENT)
			return FLOW_TMO_TCP_SYN;
		return FLOW_TMO_TCP;
	case PROTO_UDP:
		return FLOW_TMO_UDP;
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		return FLOW_TMO_ICMP;
	default:
		return FLOW_TMO_OTHER;
	}
}

/* Flows of the TCP list looked at past its head for an unused connection. */
#define EVICT_SCAN 32

/* The first connection that never carried a packet past its handshake
 * among the EVICT_SCAN oldest of the TCP list from idx, or POOL_NONE: a million
 * connections opened and left idle go before a device's quiet keepalive
 * connection. */
static uint32_t unused_near_head(const struct flow_table *t, uint32_t idx)
{
	uint32_t i = idx;
	for (int n = 0; n < EVICT_SCAN && i != POOL_NONE; n++, i = entry_at(t, i)->lru.next) {
		const struct flow *f = &entry_at(t, i)->f;
		if (f->fwd.packets + f->rev.packets <= 3)
			return i;
	}
	return POOL_NONE;
}

/* Evicts, among the least recently used flow of each class of the fresh
 * segment (while fresh flows hold more than an eighth of the table; else of
 * the settled one), the one that has spent the largest share of its timeout
 * idle: a half-open SYN 20 s old (of 30) before a UDP flow 60 s idle (of
 * 120), and neither before a connection closed a moment ago, whose last
 * ACK is still on its way. Ranking by the deadline instead evicted closed
 * flows first, whose late packets then started flows the wrong way round. */
static bool evict_one(struct flow_table *t)
{
	uint32_t victim = POOL_NONE;
	uint64_t best_idle = 0, best_tmo = 1;
	size_t moves = EVICT_MOVES;
	/* Fresh flows go first while they hold more than their reserve. */
	int seg = t->in_seg[0] > t->fresh_reserve || t->in_seg[1] == 0 ? 0 : 1;
	for (int c = 0; c < FLOW_TMO_COUNT; c++) {
		int i = seg * FLOW_TMO_COUNT + c;
		if (t->lists[i].head == POOL_NONE)
			continue;
		uint32_t idx = fresh_head(t, i, &moves);
		uint64_t tmo = t->cfg.timeout_s[c];
		uint32_t unused = c == FLOW_TMO_TCP ? unused_near_head(t, idx) : POOL_NONE;
		if (unused != POOL_NONE) {
			/* Ranked as the half-open connection it nearly is. */
			idx = unused;
			tmo = t->cfg.timeout_s[FLOW_TMO_TCP_SYN];
		}
		const struct flow *f = &entry_at(t, idx)->f;
		uint64_t idle = t->now_us > f->last_us ? t->now_us - f->last_us : 0;
		/* Past its whole timeout a flow is as evictable as can be; the
		 * bound also keeps the products below from overflowing after a
		 * jump in capture time. */
		if (idle > tmo * 1000000u)
			idle = tmo * 1000000u;
		/* The largest share of its timeout spent idle: idle/tmo > best. */
		if (victim == POOL_NONE || idle * best_tmo > best_idle * tmo) {
			best_idle = idle;
			best_tmo = tmo;
			victim = idx;
		}
	}
	if (victim == POOL_NONE)
		return false;
	int list = entry_at(t, victim)->list;
	end_flow(t, victim, end_reason(t, &entry_at(t, victim)->f, FLOW_END_EVICTED));
	/* A full table evicts on every new flow (a flood): start loading what the
	 * next eviction will touch, the new head's slot and the lines a reused
	 * entry is cleared in, while this packet and the next are processed. */
	uint32_t next = t->lists[list].head;
	if (next != POOL_NONE) {
		const struct flow_entry *n = entry_at(t, next);
		__builtin_prefetch(&t->slots[n->hash & t->mask]);
		__builtin_prefetch((const char *)n + 64, 1);
		__builtin_prefetch((const char *)n + 128, 1);
		/* ... and the one after it, which that eviction unlinks it from. */
		if (n->lru.next != POOL_NONE)
			__builtin_prefetch(entry_at(t, n->lru.next), 1);
	}
	return true;
}

/* Whether the first packet seen is an answer, so its receiver initiated. */
static bool first_packet_is_answer(const struct pkt_meta *m)
{
	if (m->proto == PROTO_TCP) {
		if (m->tcp_flags & TCP_SYN)
			return m->tcp_flags & TCP_ACK;
	} else if (m->proto == PROTO_ICMP) {
		return m->icmp_type == 0;
	} else if (m->proto == PROTO_ICMPV6) {
		return m->icmp_type == 129;
	} else if (m->proto != PROTO_UDP) {
		return false;
	}
	/* Joined mid-conversation: a well-known port answering an ephemeral one. */
	return m->sport < 1024 && m->dport >= 1024;
}

static bool is_new_syn(const struct pkt_meta *m)
{
	return m->proto == PROTO_TCP && (m->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
}

static uint32_t create(struct flow_table *t, const struct pkt_meta *m, const struct flow_key *k, uint32_t hash)
{
	uint32_t idx = pool_alloc(t->pool);
	if (idx == POOL_NONE && evict_one(t))
		idx = pool_alloc(t->pool);
	if (idx == POOL_NONE) {
		t->stats.alloc_failed++;
		return POOL_NONE;
	}
	struct flow_entry *e = entry_at(t, idx);
	struct flow *f = &e->f;
	f->id = t->next_id++;
	f->proto = m->proto;
	if (first_packet_is_answer(m)) {
		f->src = m->dst;
		f->dst = m->src;
		f->sport = m->dport;
		f->dport = m->sport;
	} else {
		f->src = m->src;
		f->dst = m->dst;
		f->sport = m->sport;
		f->dport = m->dport;
	}
	/* A flow opened by a SYN starts half-open, in its own list at once. */
	if (is_new_syn(m))
		f->state = FLOW_ST_SYN_SENT;
	f->tmo = (uint8_t)tmo_class(f);
	/* Before enqueue, which takes the new flow's deadline from it. */
	f->last_us = m->ts_us;
	e->hash = hash;
	/* Eviction may have shifted slots: look for the free one afresh. */
	t->slots[find_slot(t, k, hash)] = (struct slot){hash, idx};
	enqueue(t, idx);
	t->stats.created++;
	t->stats.mem_bytes = sizeof(*t) + pool_bytes(t->pool) + ((size_t)t->mask + 1) * sizeof(*t->slots);
	if (++t->stats.active > t->stats.peak)
		t->stats.peak = t->stats.active;
	return idx;
}

static void tcp_track(struct flow *f, bool forward, uint8_t flags)
{
	if (f->state == FLOW_ST_CLOSED)
		return;
	if (flags & TCP_RST) {
		/* A RST answering a SYN is a refused connection. */
		if (!forward && f->state == FLOW_ST_SYN_SENT)
			f->failed = true;
		f->state = FLOW_ST_CLOSED;
		return;
	}
	if (forward && (flags & TCP_SYN) && !(flags & TCP_ACK)) {
		if (f->state == FLOW_ST_ACTIVE && f->rev.packets == 0)
			f->state = FLOW_ST_SYN_SENT;
	} else if (!forward && (flags & TCP_SYN) && (flags & TCP_ACK)) {
		f->state = FLOW_ST_ESTABLISHED;
	} else if (f->state == FLOW_ST_SYN_SENT && !forward) {
		f->state = FLOW_ST_ESTABLISHED;
	}
	if ((f->fwd.tcp_flags & TCP_FIN) && (f->rev.tcp_flags & TCP_FIN))
		f->state = FLOW_ST_CLOSED;
}

int flow_table_update(struct flow_table *t, const struct pkt_meta *m, struct flow_hit *hit)
{
	if (m->l3 != DEC_L3_IPV4 && m->l3 != DEC_L3_IPV6)
		return -1;
	if (!m->has_ports && (m->proto == PROTO_TCP || m->proto == PROTO_UDP)) {
		t->stats.no_ports++;
		return -1;
	}
	if (m->ts_us > t->now_us)
		t->now_us = m->ts_us;

	struct flow_key k = key_canonical(&m->src, &m->dst, m->sport, m->dport, m->proto);
	uint32_t hash = key_hash(t, &k);
	uint32_t idx = t->slots[find_slot(t, &k, hash)].idx;
	if (idx != POOL_NONE) {
		struct flow *old = &entry_at(t, idx)->f;
		/* Expiry is lazy and bounded, so a flow may be found past its
		 * timeout, or closed and reopened with a new SYN: either way the
		 * old conversation is over. */
		if (deadline(t, old) <= t->now_us) {
			end_flow(t, idx, end_reason(t, old, FLOW_END_IDLE));
			idx = POOL_NONE;
		} else if (old->state == FLOW_ST_CLOSED && is_new_syn(m)) {
			end_flow(t, idx, FLOW_END_CLOSED);
			idx = POOL_NONE;
		}
	}
	hit->created = idx == POOL_NONE;
	hit->failed_now = false;
	if (hit->created && (idx = create(t, m, &k, hash)) == POOL_NONE)
		return -1;
	struct flow *f = &entry_at(t, idx)->f;
	hit->flow = f;
	/* A flow from an endpoint to itself counts every packet as forward. */
	hit->forward = f->sport == m->sport && ip_equal(&f->src, &m->src);
	struct flow_side *s = hit->forward ? &f->fwd : &f->rev;
	if (s->packets == 0)
		s->first_us = m->ts_us;
	s->packets += dec_meta_packets(m);
	s->bytes += m->wirelen;
	if (m->ts_us > s->last_us)
		s->last_us = m->ts_us;
	if (m->ts_us > f->last_us)
		f->last_us = m->ts_us;
	if (f->proto == PROTO_TCP) {
		s->tcp_flags |= m->tcp_flags;
		if ((m->tcp_flags & TCP_RST) && s->rsts < UINT16_MAX)
			s->rsts++;
		bool was_failed = f->failed;
		tcp_track(f, hit->forward, m->tcp_flags);
		hit->failed_now = f->failed && !was_failed;
	}
	enum flow_tmo c = tmo_class(f);
	if (c != f->tmo) {
		unlist(t, idx);
		f->tmo = (uint8_t)c;
		enqueue(t, idx);
	} else if (!hit->created) {
		entry_at(t, idx)->touched = true;
	}
	return 0;
}

struct flow *flow_table_find(struct flow_table *t, const struct ip_addr *a, const struct ip_addr *b, uint16_t pa,
			     uint16_t pb, uint8_t proto)
{
	struct flow_key k = key_canonical(a, b, pa, pb, proto);
	uint32_t idx = t->slots[find_slot(t, &k, key_hash(t, &k))].idx;
	return idx == POOL_NONE ? NULL : &entry_at(t, idx)->f;
}

size_t flow_table_expire(struct flow_table *t, uint64_t now_us, size_t budget)
{
	size_t n = 0;
	size_t moves = budget > SIZE_MAX / 4 ? SIZE_MAX : budget * 4;
	if (now_us > t->now_us)
		t->now_us = now_us;
	if (t->now_us < t->next_deadline)
		return 0;
	for (int i = 0; i < FLOW_LISTS && n < budget; i++) {
		while (n < budget) {
			uint32_t idx = fresh_head(t, i, &moves);
			if (idx == POOL_NONE || deadline(t, &entry_at(t, idx)->f) > t->now_us)
				break;
			end_flow(t, idx, end_reason(t, &entry_at(t, idx)->f, FLOW_END_IDLE));
			n++;
		}
	}
	/* An untouched head bounds its list's deadlines as far as expiry goes
	 * (lists are lazy, see enqueue); a touched head or a spent budget means
	 * looking again at the next packet. */
	t->next_deadline = UINT64_MAX;
	for (int i = 0; i < FLOW_LISTS; i++) {
		uint32_t idx = t->lists[i].head;
		if (idx == POOL_NONE)
			continue;
		const struct flow_entry *e = entry_at(t, idx);
		uint64_t d = e->touched || n == budget ? t->now_us : deadline(t, &e->f);
		if (d < t->next_deadline)
			t->next_deadline = d;
	}
	return n;
}

struct id_idx {
	uint64_t id;
	uint32_t idx;
};

static int by_id(const void *a, const void *b)
{
	uint64_t x = ((const struct id_idx *)a)->id, y = ((const struct id_idx *)b)->id;
	return (x > y) - (x < y);
}

void flow_table_flush(struct flow_table *t)
{
	size_t n = 0;
	struct id_idx *order = malloc((size_t)(pool_used(t->pool) + 1) * sizeof(*order));
	if (!order) {
		/* Out of memory at the very end: every flow still ends, in list
		 * order instead. */
		t->stats.alloc_failed++;
		for (int i = 0; i < FLOW_LISTS; i++)
			while (t->lists[i].head != POOL_NONE)
				end_flow(t, t->lists[i].head, end_reason(t, &entry_at(t, t->lists[i].head)->f, FLOW_END_FLUSH));
		return;
	}
	for (int i = 0; i < FLOW_LISTS; i++)
		for (uint32_t idx = t->lists[i].head; idx != POOL_NONE; idx = entry_at(t, idx)->lru.next)
			order[n++] = (struct id_idx){entry_at(t, idx)->f.id, idx};
	qsort(order, n, sizeof(*order), by_id);
	for (size_t i = 0; i < n; i++)
		end_flow(t, order[i].idx, end_reason(t, &entry_at(t, order[i].idx)->f, FLOW_END_FLUSH));
	free(order);
}

const struct flow_stats *flow_table_stats(const struct flow_table *t)
{
	return &t->stats;
}

bool flow_syn_unanswered(const struct flow *f)
{
	return f->proto == PROTO_TCP && (f->fwd.tcp_flags & TCP_SYN) && !(f->rev.tcp_flags & TCP_SYN);
}

const char *flow_end_name(enum flow_end why)
{
	static const char *const names[] = {"idle", "closed", "evicted", "flush"};
	return (unsigned)why <= FLOW_END_FLUSH ? names[why] : "unknown";
}

const char *flow_dir_name(enum flow_dir dir)
{
	static const char *const names[] = {"transit", "outbound", "inbound", "local"};
	return (unsigned)dir <= FLOW_DIR_LOCAL ? names[dir] : "unknown";
}

const char *flow_state_name(enum flow_state st)
{
	static const char *const names[] = {"active", "syn_sent", "established", "closed"};
	return (unsigned)st <= FLOW_ST_CLOSED ? names[st] : "unknown";
}

const char *flow_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case PROTO_TCP:
		return "tcp";
	case PROTO_UDP:
		return "udp";
	case PROTO_ICMP:
		return "icmp";
	case PROTO_ICMPV6:
		return "icmpv6";
	default:
		snprintf(buf, len, "%u", (unsigned)proto);
		return buf;
	}
}

void flow_table_keep(struct flow_table *t, struct flow *f)
{
	struct flow_entry *e = (struct flow_entry *)((char *)f - offsetof(struct flow_entry, f));
	if (e->list >= FLOW_TMO_COUNT)
		return;
	uint32_t idx = (uint32_t)(((uint8_t *)e - (uint8_t *)pool_at(t->pool, 0)) / sizeof(*e));
	unlist(t, idx);
	e->list = (uint8_t)(FLOW_TMO_COUNT + e->f.tmo);
	lru_push(t->pool, &t->lists[e->list], idx);
	t->in_seg[1]++;
}
