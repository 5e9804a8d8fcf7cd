#include "pcaps/gen/wbuf.h"

#include <string.h>

void wb_init(struct wb *b, uint8_t *p, size_t cap)
{
	b->p = p;
	b->len = 0;
	b->cap = cap;
	b->err = false;
}

static uint8_t *room(struct wb *b, size_t n)
{
	uint8_t *at;

	if (b->err || n > b->cap - b->len) {
		b->err = true;
		return NULL;
	}
	at = b->p + b->len;
	b->len += n;
	return at;
}

static void put_be(struct wb *b, uint32_t v, int n)
{
	uint8_t *at = room(b, (size_t)n);

	if (!at)
		return;
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		at[i] = (uint8_t)v;
}

void wb_u8(struct wb *b, uint8_t v)
{
	put_be(b, v, 1);
}

void wb_u16(struct wb *b, uint16_t v)
{
	put_be(b, v, 2);
}

void wb_u24(struct wb *b, uint32_t v)
{
	put_be(b, v, 3);
}

void wb_u32(struct wb *b, uint32_t v)
{
	put_be(b, v, 4);
}

void wb_bytes(struct wb *b, const void *data, size_t n)
{
	uint8_t *at = room(b, n);

	if (at && n)
		memcpy(at, data, n);
}

void wb_zero(struct wb *b, size_t n)
{
	uint8_t *at = room(b, n);

	if (at)
		memset(at, 0, n);
}

void wb_rand(struct wb *b, struct prng *r, size_t n)
{
	uint8_t *at = room(b, n);

	if (at)
		prng_fill(r, at, n);
}

void wb_str(struct wb *b, const char *s)
{
	wb_bytes(b, s, strlen(s));
}

size_t wb_mark(struct wb *b, int n)
{
	size_t at = b->len;

	wb_zero(b, (size_t)n);
	return at;
}

void wb_patch(struct wb *b, size_t mark, int n)
{
	size_t v;

	if (b->err)
		return;
	v = b->len - mark - (size_t)n;
	if (v >> (8 * n)) {
		b->err = true;
		return;
	}
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		b->p[mark + (size_t)i] = (uint8_t)v;
}

size_t wb_done(const struct wb *b)
{
	return b->err ? 0 : b->len;
}
