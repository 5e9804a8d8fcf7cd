#include "pcaps/gen/sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pcaps/gen/pkt.h"

/* Packet bytes live in fixed slots allocated in chunks and recycled through
 * a free list, so a busy run does not call malloc per packet. */
#define SLOT_SZ PKT_MAX
#define CHUNK_SLOTS 4096u

struct ev {
	uint64_t t, seq;
	sim_fn fn;
	void *arg;
	uint32_t slot, len;
};

struct heap {
	struct ev *v;
	size_t n, cap;
};

struct sim {
	struct pw *w;
	uint64_t end, max_pkts, now, seq;
	struct heap tasks, pkts;
	uint8_t **chunks;
	size_t nchunks;
	uint32_t *free_slots;
	size_t nfree, free_cap;
	int err;
	bool done;
};

static bool ev_less(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int heap_push(struct heap *h, const struct ev *e)
{
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		struct ev *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!ev_less(e, &h->v[p]))
			break;
		h->v[i] = h->v[p];
		i = p;
	}
	h->v[i] = *e;
	return 0;
}

static struct ev heap_pop(struct heap *h)
{
	struct ev top = h->v[0], last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && ev_less(&h->v[c + 1], &h->v[c]))
			c++;
		if (!ev_less(&h->v[c], &last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

int sim_new(struct sim **out, struct pw *w, uint64_t end_us, uint64_t max_pkts)
{
	struct sim *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->w = w;
	s->end = end_us;
	s->max_pkts = max_pkts;
	*out = s;
	return 0;
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nchunks; i++)
		free(s->chunks[i]);
	free(s->chunks);
	free(s->free_slots);
	free(s->tasks.v);
	free(s->pkts.v);
	free(s);
}

void sim_fail(struct sim *s, int err)
{
	if (!s->err)
		s->err = err;
}

uint64_t sim_now(const struct sim *s)
{
	return s->now;
}

uint64_t sim_end(const struct sim *s)
{
	return s->end;
}

bool sim_done(const struct sim *s)
{
	return s->done || s->err;
}

void sim_at(struct sim *s, uint64_t t, sim_fn fn, void *arg)
{
	struct ev e = {.t = t, .seq = s->seq++, .fn = fn, .arg = arg};
	int err;

	if (t >= s->end || s->done)
		return;
	if (t < s->now) {
		sim_fail(s, -EINVAL);
		return;
	}
	err = heap_push(&s->tasks, &e);
	if (err)
		sim_fail(s, err);
}

static uint8_t *slot_ptr(struct sim *s, uint32_t slot)
{
	return s->chunks[slot / CHUNK_SLOTS] + (size_t)(slot % CHUNK_SLOTS) * SLOT_SZ;
}

static int slot_get(struct sim *s, uint32_t *slot)
{
	if (!s->nfree) {
		size_t need = (s->nchunks + 1) * CHUNK_SLOTS;
		uint8_t **c = realloc(s->chunks, (s->nchunks + 1) * sizeof(*c));
		uint32_t *f;

		if (!c)
			return -ENOMEM;
		s->chunks = c;
		if (need > s->free_cap) {
			f = realloc(s->free_slots, need * sizeof(*f));
			if (!f)
				return -ENOMEM;
			s->free_slots = f;
			s->free_cap = need;
		}
		c[s->nchunks] = malloc((size_t)CHUNK_SLOTS * SLOT_SZ);
		if (!c[s->nchunks])
			return -ENOMEM;
		/* Push in reverse so slots are handed out in address order. */
		for (uint32_t i = CHUNK_SLOTS; i-- > 0;)
			s->free_slots[s->nfree++] = (uint32_t)(s->nchunks * CHUNK_SLOTS + i);
		s->nchunks++;
	}
	*slot = s->free_slots[--s->nfree];
	return 0;
}

void sim_emit(struct sim *s, uint64_t t, const uint8_t *frame, size_t len)
{
	struct ev e = {.t = t, .len = (uint32_t)len};
	int err;

	if (t >= s->end || s->done || s->err)
		return;
	if (t < s->now || len == 0 || len > SLOT_SZ) {
		sim_fail(s, -EINVAL);
		return;
	}
	err = slot_get(s, &e.slot);
	if (err) {
		sim_fail(s, err);
		return;
	}
	memcpy(slot_ptr(s, e.slot), frame, len);
	e.seq = s->seq++;
	err = heap_push(&s->pkts, &e);
	if (err) {
		s->free_slots[s->nfree++] = e.slot;
		sim_fail(s, err);
	}
}

/* Writes queued packets dated before `until` (or at it, when inclusive). */
static void flush(struct sim *s, uint64_t until, bool inclusive)
{
	while (s->pkts.n && !s->done && !s->err) {
		const struct ev *top = &s->pkts.v[0];
		struct ev e;
		int err;

		if (top->t > until || (!inclusive && top->t == until))
			break;
		e = heap_pop(&s->pkts);
		err = pw_write(s->w, e.t, slot_ptr(s, e.slot), e.len, e.len);
		s->free_slots[s->nfree++] = e.slot;
		if (err)
			sim_fail(s, err);
		else if (s->max_pkts && pw_count(s->w) >= s->max_pkts)
			s->done = true;
	}
}

int sim_run(struct sim *s)
{
	while (s->tasks.n && !s->done && !s->err) {
		struct ev e = heap_pop(&s->tasks);

		flush(s, e.t, true);
		if (s->done || s->err)
			break;
		s->now = e.t;
		e.fn(s, e.arg);
	}
	flush(s, s->end, false);
	return s->err;
}
