#include "features/window.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "features/hash.h"

#define DISTINCT_BITS 2048
/* Fixed, not random: estimates must be the same on every replay. */
#define DISTINCT_SEED 0x6a09e667f3bcc908ull
#define NO_REMOTE UINT32_MAX

struct distinct {
	uint32_t n;   /* exact count while !sketch */
	bool sketch;
	union {
		uint32_t exact[WIN_DISTINCT_EXACT];
		uint64_t bits[DISTINCT_BITS / 64];
	} u;
};

struct win_acc {
	struct dev_window w;
	uint32_t active_pos;
	uint32_t gen;         /* which activation this is: flows remember it */
	uint64_t epoch;       /* window number + 1 it holds; 0 none */
	struct distinct hosts, ports, peers;
	struct win_remote remotes[];
};

struct win_table {
	struct win_cfg cfg;
	uint32_t index_slots; /* slots of each accumulator's remote index: a power of two >= 2 * max_remotes */
	uint64_t len_us;
	uint64_t epoch;       /* current window number + 1; 0 before the first packet */
	uint64_t end_us;      /* end of the current window (epoch * len_us), 0 before */
	struct device **active;
	uint32_t n_active, cap_active;
	uint32_t last_gen;
	uint64_t emitted;
};

static void distinct_add(struct distinct *s, uint32_t h)
{
	if (!s->sketch) {
		for (uint32_t i = 0; i < s->n; i++)
			if (s->u.exact[i] == h)
				return;
		if (s->n < WIN_DISTINCT_EXACT) {
			s->u.exact[s->n++] = h;
			return;
		}
		uint32_t old[WIN_DISTINCT_EXACT];
		memcpy(old, s->u.exact, sizeof(old));
		memset(s->u.bits, 0, sizeof(s->u.bits));
		s->sketch = true;
		for (uint32_t i = 0; i < WIN_DISTINCT_EXACT; i++)
			s->u.bits[old[i] % DISTINCT_BITS / 64] |= 1ull << (old[i] % 64);
	}
	s->u.bits[h % DISTINCT_BITS / 64] |= 1ull << (h % 64);
}

static uint32_t distinct_count(const struct distinct *s)
{
	if (!s->sketch)
		return s->n;
	uint32_t ones = 0;
	for (size_t i = 0; i < DISTINCT_BITS / 64; i++)
		ones += (uint32_t)__builtin_popcountll(s->u.bits[i]);
	uint32_t zeros = DISTINCT_BITS - ones;
	if (zeros == 0)
		zeros = 1; /* saturated: report the largest estimate */
	double est = -(double)DISTINCT_BITS * log((double)zeros / DISTINCT_BITS);
	/* Never below what was counted exactly before switching. */
	return est < WIN_DISTINCT_EXACT ? WIN_DISTINCT_EXACT : (uint32_t)(est + 0.5);
}

static uint32_t hash_ip(const struct ip_addr *ip)
{
	return (uint32_t)hash_final(hash_bytes16(DISTINCT_SEED, ip->b));
}

static uint32_t hash_port(uint8_t proto, uint16_t port)
{
	return (uint32_t)hash_final(hash_mix(DISTINCT_SEED, (uint64_t)proto << 16 | port));
}

struct win_table *win_new(const struct win_cfg *cfg)
{
	if (cfg->length_s == 0 || cfg->max_remotes == 0 || cfg->max_remotes > WIN_MAX_REMOTES || !cfg->emit)
		return NULL;
	struct win_table *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->cfg = *cfg;
	w->len_us = (uint64_t)cfg->length_s * 1000000u;
	w->index_slots = 2;
	while (w->index_slots < 2 * cfg->max_remotes)
		w->index_slots <<= 1;
	return w;
}

void win_free(struct win_table *w)
{
	if (!w)
		return;
	free(w->active);
	free(w);
}

static void release_names(struct win_table *w, struct win_acc *a)
{
	for (uint32_t i = 0; i < a->w.n_remotes; i++) {
		intern_put(w->cfg.names, a->remotes[i].name);
		a->remotes[i].name = NULL;
	}
	a->w.n_remotes = 0;
}

static void emit(struct win_table *w, struct device *d, bool partial)
{
	struct win_acc *a = d->win;
	a->w.dev = d;
	a->w.partial = partial;
	a->w.remote_hosts = distinct_count(&a->hosts);
	a->w.remote_ports = distinct_count(&a->ports);
	a->w.lan_peers = distinct_count(&a->peers);
	a->w.remotes = a->remotes;
	w->cfg.emit(w->cfg.ctx, &a->w);
	w->emitted++;
	a->epoch = 0;
	release_names(w, a);
}

/* The remote list's hash index follows the list in the same allocation:
 * slot values are list positions + 1, 0 is empty. Open addressing, no
 * deletions (the whole index is cleared with the window). */
static uint16_t *remote_index(const struct win_table *w, struct win_acc *a)
{
	return (uint16_t *)(a->remotes + w->cfg.max_remotes);
}

static size_t acc_size(const struct win_table *w)
{
	return sizeof(struct win_acc) + (size_t)w->cfg.max_remotes * sizeof(struct win_remote) +
	       (size_t)w->index_slots * sizeof(uint16_t);
}

static int by_device_id(const void *x, const void *y)
{
	uint64_t a = (*(struct device *const *)x)->id, b = (*(struct device *const *)y)->id;
	return (a > b) - (a < b);
}

void win_advance(struct win_table *w, uint64_t now_us)
{
	/* Every packet comes here: compare before dividing. */
	if (now_us < w->end_us)
		return;
	uint64_t epoch = now_us / w->len_us + 1;
	if (epoch <= w->epoch)
		return;
	if (w->n_active > 0) {
		qsort(w->active, w->n_active, sizeof(*w->active), by_device_id);
		for (uint32_t i = 0; i < w->n_active; i++)
			emit(w, w->active[i], false);
	}
	w->n_active = 0;
	w->epoch = epoch;
	w->end_us = epoch * w->len_us;
}

/* The accumulator of d for the current window, reset and listed as active
 * on its first use in the window. NULL when out of memory. */
static struct win_acc *acc_for(struct win_table *w, struct device *d)
{
	struct win_acc *a = d->win;
	if (a && a->epoch == w->epoch)
		return a;
	if (!a) {
		a = malloc(acc_size(w));
		if (!a)
			return NULL;
		d->win = a;
	}
	if (w->n_active == w->cap_active) {
		uint32_t cap = w->cap_active ? w->cap_active * 2 : 64;
		struct device **grown = realloc(w->active, (size_t)cap * sizeof(*grown));
		if (!grown)
			return NULL;
		w->active = grown;
		w->cap_active = cap;
	}
	memset(a, 0, sizeof(*a));
	memset(remote_index(w, a), 0, (size_t)w->index_slots * sizeof(uint16_t));
	a->epoch = w->epoch;
	/* Never 0, which a new flow holds. */
	if (++w->last_gen == 0)
		w->last_gen = 1;
	a->gen = w->last_gen;
	a->w.start_us = (w->epoch - 1) * w->len_us;
	a->w.end_us = a->w.start_us + w->len_us;
	a->active_pos = w->n_active;
	w->active[w->n_active++] = d;
	return a;
}

static uint32_t remote_slot(struct win_table *w, struct win_acc *a, const struct ip_addr *ip, uint16_t port,
			    uint8_t proto, bool local, bool inbound)
{
	uint16_t *index = remote_index(w, a);
	uint32_t mask = w->index_slots - 1;
	uint64_t h = hash_bytes16(DISTINCT_SEED, ip->b);
	h = hash_final(hash_mix(h, (uint64_t)port << 16 | (uint64_t)proto << 8 | inbound));
	uint32_t i = (uint32_t)h & mask;
	for (; index[i] != 0; i = (i + 1) & mask) {
		const struct win_remote *r = &a->remotes[index[i] - 1];
		if (r->port == port && r->proto == proto && r->inbound == inbound && ip_equal(&r->ip, ip))
			return index[i] - 1u;
	}
	if (a->w.n_remotes == w->cfg.max_remotes) {
		a->w.remotes_dropped++;
		return NO_REMOTE;
	}
	struct win_remote *r = &a->remotes[a->w.n_remotes];
	memset(r, 0, sizeof(*r));
	r->ip = *ip;
	r->port = port;
	r->proto = proto;
	r->local = local;
	r->inbound = inbound;
	index[i] = (uint16_t)(a->w.n_remotes + 1);
	return a->w.n_remotes++;
}

int win_packet(struct win_table *w, struct device *d, struct flow *f, bool dev_started, bool sent,
	       bool remote_local, bool new_flow, const struct pkt_meta *m)
{
	win_advance(w, m->ts_us);
	struct win_acc *a = acc_for(w, d);
	if (!a)
		return -ENOMEM;
	if (sent) {
		a->w.packets_out += dec_meta_packets(m);
		a->w.bytes_out += m->wirelen;
	} else {
		a->w.packets_in += dec_meta_packets(m);
		a->w.bytes_in += m->wirelen;
	}
	if (sent && m->dns_query)
		a->w.dns_queries++;

	/* Per flow and device side: the accumulator activation it was last
	 * counted in, and its slot in that activation's remote list. */
	uint32_t *seen = &f->user[dev_started ? 0 : 2];
	uint32_t *slot = &f->user[dev_started ? 1 : 3];
	if (*seen != a->gen) {
		const struct ip_addr *remote = dev_started ? &f->dst : &f->src;
		*seen = a->gen;
		if (new_flow) {
			if (dev_started)
				a->w.flows_out++;
			else
				a->w.flows_in++;
		}
		if (!remote_local)
			distinct_add(&a->hosts, hash_ip(remote));
		else if (!ip_is_multicast(remote) && !ip_is_broadcast(remote))
			distinct_add(&a->peers, hash_ip(remote));
		if (dev_started)
			distinct_add(&a->ports, hash_port(f->proto, f->dport));
		*slot = remote_slot(w, a, remote, f->dport, f->proto, remote_local, !dev_started);
		if (*slot != NO_REMOTE)
			a->remotes[*slot].flows++;
	}
	if (*slot != NO_REMOTE) {
		struct win_remote *r = &a->remotes[*slot];
		r->packets += dec_meta_packets(m);
		r->bytes += m->wirelen;
		/* Names and protocols may come a few packets into a flow (SNI, nDPI). */
		if (!r->name && f->name)
			r->name = intern_ref(f->name);
		if (!r->l7_master && !r->l7_app && (f->l7_master || f->l7_app)) {
			r->l7_master = f->l7_master;
			r->l7_app = f->l7_app;
			r->l7_category = f->l7_category;
		}
	}
	return 0;
}

int win_failed(struct win_table *w, struct device *d)
{
	struct win_acc *a = acc_for(w, d);
	if (!a)
		return -ENOMEM;
	a->w.failed_conns++;
	return 0;
}

int win_dns_answer(struct win_table *w, struct device *d, uint8_t rcode, uint16_t qtype, const char *qname)
{
	struct win_acc *a = acc_for(w, d);
	if (!a)
		return -ENOMEM;
	a->w.dns_nxdomain += rcode == 3;
	a->w.dns_txt += qtype == 16 || qtype == 10 || qtype == 255;
	size_t len = 0, label = 0, longest = 0;
	for (; qname[len]; len++) {
		label = qname[len] == '.' ? 0 : label + 1;
		longest = label > longest ? label : longest;
	}
	a->w.dns_long_names += longest >= WIN_DNS_LONG_LABEL || len >= WIN_DNS_LONG_NAME;
	return 0;
}

void win_device_gone(struct win_table *w, struct device *d, bool emit_partial)
{
	struct win_acc *a = d->win;
	if (!a)
		return;
	if (a->epoch == w->epoch && w->epoch != 0) {
		if (emit_partial)
			emit(w, d, true);
		else
			release_names(w, a);
		struct device *last = w->active[--w->n_active];
		w->active[a->active_pos] = last;
		((struct win_acc *)last->win)->active_pos = a->active_pos;
	}
	free(a);
	d->win = NULL;
}

void win_flush(struct win_table *w)
{
	if (w->n_active == 0)
		return; /* active may still be NULL, which qsort must not get */
	qsort(w->active, w->n_active, sizeof(*w->active), by_device_id);
	for (uint32_t i = 0; i < w->n_active; i++)
		emit(w, w->active[i], true);
	w->n_active = 0;
}

uint64_t win_end_us(const struct win_table *w)
{
	return w->end_us;
}

uint64_t win_emitted(const struct win_table *w)
{
	return w->emitted;
}
