#include "features/pool.h"

#include <stdlib.h>
#include <string.h>

struct pool *pool_new(size_t elem_size, uint32_t cap)
{
	if (elem_size < sizeof(uint32_t) || cap == 0 || cap == POOL_NONE)
		return NULL;
	struct pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	/* Cache-line aligned, so an entry sized to whole lines starts on one. */
	size_t bytes = ((size_t)cap * elem_size + 63) / 64 * 64;
	p->base = aligned_alloc(64, bytes);
	if (!p->base) {
		free(p);
		return NULL;
	}
	p->elem_size = elem_size;
	p->cap = cap;
	p->free_head = POOL_NONE;
	return p;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	free(p->base);
	free(p);
}

uint32_t pool_alloc(struct pool *p)
{
	uint32_t idx;
	if (p->free_head != POOL_NONE) {
		idx = p->free_head;
		memcpy(&p->free_head, pool_at(p, idx), sizeof(uint32_t));
	} else {
		if (p->fresh == p->cap)
			return POOL_NONE;
		idx = p->fresh++;
	}
	memset(pool_at(p, idx), 0, p->elem_size);
	p->used++;
	return idx;
}

void pool_release(struct pool *p, uint32_t idx)
{
	memcpy(pool_at(p, idx), &p->free_head, sizeof(uint32_t));
	p->free_head = idx;
	p->used--;
}

uint32_t pool_used(const struct pool *p)
{
	return p->used;
}

size_t pool_bytes(const struct pool *p)
{
	return sizeof(*p) + (size_t)p->fresh * p->elem_size;
}

static struct lru_link *link_of(struct pool *p, const struct lru_list *l, uint32_t idx)
{
	return (struct lru_link *)((uint8_t *)pool_at(p, idx) + l->link_off);
}

void lru_init(struct lru_list *l, size_t link_off)
{
	l->head = l->tail = POOL_NONE;
	l->link_off = link_off;
}

void lru_push(struct pool *p, struct lru_list *l, uint32_t idx)
{
	struct lru_link *k = link_of(p, l, idx);
	k->prev = l->tail;
	k->next = POOL_NONE;
	if (l->tail != POOL_NONE)
		link_of(p, l, l->tail)->next = idx;
	else
		l->head = idx;
	l->tail = idx;
}

void lru_remove(struct pool *p, struct lru_list *l, uint32_t idx)
{
	struct lru_link *k = link_of(p, l, idx);
	if (k->prev != POOL_NONE)
		link_of(p, l, k->prev)->next = k->next;
	else
		l->head = k->next;
	if (k->next != POOL_NONE)
		link_of(p, l, k->next)->prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = POOL_NONE;
}

void lru_touch(struct pool *p, struct lru_list *l, uint32_t idx)
{
	if (l->tail == idx)
		return;
	lru_remove(p, l, idx);
	lru_push(p, l, idx);
}
