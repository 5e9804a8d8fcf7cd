#include "features/intern.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "features/hash.h"

struct iname {
	struct iname *next;   /* bucket chain */
	uint64_t hash;
	uint32_t refs;
	uint32_t len;
	char s[];
};

struct intern {
	struct iname **buckets;
	uint64_t mask;
	uint32_t max_names;
	uint32_t high_water;     /* max_names less the reserve (see the header) */
	uint64_t seed;
	struct intern_stats stats;
};

static uint64_t hash_str(uint64_t seed, const char *s, size_t len)
{
	uint64_t h = seed ^ len;
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, s, 8);
		h = hash_mix(h, v);
		s += 8;
		len -= 8;
	}
	uint64_t tail = 0;
	memcpy(&tail, s, len);
	return hash_final(hash_mix(h, tail));
}

struct intern *intern_new(uint32_t max_names, uint64_t seed)
{
	if (max_names == 0)
		return NULL;
	struct intern *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	/* Chains average under one at the cap. */
	uint64_t n = 16;
	while (n < max_names)
		n <<= 1;
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->mask = n - 1;
	t->max_names = max_names;
	t->high_water = max_names - max_names / 8;
	t->seed = seed ? seed : hash_random_seed();
	t->stats.bytes = n * sizeof(*t->buckets);
	return t;
}

void intern_free(struct intern *t)
{
	if (!t)
		return;
	for (uint64_t i = 0; i <= t->mask; i++) {
		struct iname *n = t->buckets[i];
		while (n) {
			struct iname *next = n->next;
			free(n);
			n = next;
		}
	}
	free(t->buckets);
	free(t);
}

static struct iname *get(struct intern *t, const char *s, size_t len, uint32_t cap)
{
	if (len > INTERN_MAX_LEN) {
		t->stats.refused++;
		return NULL;
	}
	uint64_t h = hash_str(t->seed, s, len);
	struct iname **b = &t->buckets[h & t->mask];
	for (struct iname *n = *b; n; n = n->next)
		if (n->hash == h && n->len == len && memcmp(n->s, s, len) == 0) {
			n->refs++;
			return n;
		}
	if (t->stats.names >= cap) {
		t->stats.refused++;
		t->stats.refused_limited += cap < t->max_names;
		return NULL;
	}
	struct iname *n = malloc(sizeof(*n) + len + 1);
	if (!n) {
		t->stats.refused++;
		return NULL;
	}
	n->hash = h;
	n->refs = 1;
	n->len = (uint32_t)len;
	memcpy(n->s, s, len);
	n->s[len] = '\0';
	n->next = *b;
	*b = n;
	if (++t->stats.names > t->stats.peak)
		t->stats.peak = t->stats.names;
	t->stats.bytes += sizeof(*n) + len + 1;
	return n;
}

struct iname *intern_get(struct intern *t, const char *s, size_t len)
{
	return get(t, s, len, t->max_names);
}

struct iname *intern_get_limited(struct intern *t, const char *s, size_t len)
{
	return get(t, s, len, t->high_water);
}

bool intern_above_high_water(const struct intern *t)
{
	return t->stats.names > t->high_water;
}

struct iname *intern_ref(struct iname *n)
{
	if (n)
		n->refs++;
	return n;
}

void intern_put(struct intern *t, struct iname *n)
{
	if (!n || --n->refs > 0)
		return;
	struct iname **link = &t->buckets[n->hash & t->mask];
	while (*link != n)
		link = &(*link)->next;
	*link = n->next;
	t->stats.names--;
	t->stats.bytes -= sizeof(*n) + n->len + 1;
	free(n);
}

const char *iname_str(const struct iname *n)
{
	return n->s;
}

size_t iname_len(const struct iname *n)
{
	return n->len;
}

const struct intern_stats *intern_stats(const struct intern *t)
{
	return &t->stats;
}
