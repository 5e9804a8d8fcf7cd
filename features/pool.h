/*
 * pool — fixed-size entries addressed by a 32-bit index, and LRU lists.
 *
 * The flow and device tables keep their entries here. The pool reserves
 * room for its cap in one allocation, which the kernel backs with memory
 * only as entries are first used, so a quiet LAN costs little, an index is
 * one multiply away from its entry, and entries never move: an index
 * (4 bytes, half a pointer) is a stable handle for hash slots and list
 * links. The pool never holds more than its cap: what to do when it is full
 * (evict) is the table's decision.
 */
#ifndef IOTIDS_POOL_H
#define IOTIDS_POOL_H

#include <stddef.h>
#include <stdint.h>

#define POOL_NONE UINT32_MAX

/* Fields are private; they are here only so pool_at() can be inline. */
struct pool {
	uint8_t *base;
	size_t elem_size;
	uint32_t cap;       /* entries at most */
	uint32_t used;
	uint32_t free_head; /* released entries, linked through their first 4 bytes */
	uint32_t fresh;     /* next never-used index */
};

/* elem_size >= 4. NULL on allocation failure. */
struct pool *pool_new(size_t elem_size, uint32_t cap);
void pool_free(struct pool *p);

/* A zeroed entry, or POOL_NONE when the pool is at its cap. */
uint32_t pool_alloc(struct pool *p);
void pool_release(struct pool *p, uint32_t idx);

static inline void *pool_at(const struct pool *p, uint32_t idx)
{
	return p->base + (size_t)idx * p->elem_size;
}

uint32_t pool_used(const struct pool *p);
/* Bytes of entries ever used (what the pool costs in memory so far). */
size_t pool_bytes(const struct pool *p);

/* A doubly linked list threaded through entries; head is the least recently
 * used. link_off is the offset of a struct lru_link inside the entry. */
struct lru_link {
	uint32_t prev, next;
};

struct lru_list {
	uint32_t head, tail;
	size_t link_off;
};

void lru_init(struct lru_list *l, size_t link_off);
void lru_push(struct pool *p, struct lru_list *l, uint32_t idx);   /* append as most recent */
void lru_remove(struct pool *p, struct lru_list *l, uint32_t idx);
void lru_touch(struct pool *p, struct lru_list *l, uint32_t idx);  /* move to most recent */

#endif
