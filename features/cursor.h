/*
 * cursor — the only way iotids reads packet bytes.
 *
 * Every read checks the remaining length first and reports failure through
 * its return value; nothing jumps out of a dissector (tcpdump's longjmp
 * approach caused CVE-2024-2397). Reads are big-endian, as on the wire.
 */
#ifndef IOTIDS_CURSOR_H
#define IOTIDS_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
	const uint8_t *base;
	size_t len;
	size_t off;
};

#define CUR_CHECK __attribute__((warn_unused_result))

static inline void cur_init(struct cursor *c, const uint8_t *base, size_t len)
{
	c->base = base;
	c->len = len;
	c->off = 0;
}

static inline size_t cur_left(const struct cursor *c)
{
	return c->len - c->off;
}

static inline bool cur_has(const struct cursor *c, size_t n)
{
	return n <= c->len - c->off;
}

/* Where the cursor stands; the caller may read at most cur_left() bytes. */
static inline const uint8_t *cur_ptr(const struct cursor *c)
{
	return c->base + c->off;
}

static inline CUR_CHECK bool cur_skip(struct cursor *c, size_t n)
{
	if (!cur_has(c, n))
		return false;
	c->off += n;
	return true;
}

static inline CUR_CHECK bool cur_u8(struct cursor *c, uint8_t *v)
{
	if (!cur_has(c, 1))
		return false;
	*v = c->base[c->off++];
	return true;
}

static inline CUR_CHECK bool cur_be16(struct cursor *c, uint16_t *v)
{
	if (!cur_has(c, 2))
		return false;
	*v = (uint16_t)(c->base[c->off] << 8 | c->base[c->off + 1]);
	c->off += 2;
	return true;
}

static inline CUR_CHECK bool cur_be32(struct cursor *c, uint32_t *v)
{
	if (!cur_has(c, 4))
		return false;
	const uint8_t *p = c->base + c->off;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	c->off += 4;
	return true;
}

static inline CUR_CHECK bool cur_bytes(struct cursor *c, void *dst, size_t n)
{
	if (!cur_has(c, n))
		return false;
	memcpy(dst, c->base + c->off, n);
	c->off += n;
	return true;
}

/* Reads the byte at off bytes past the cursor without moving it. */
static inline CUR_CHECK bool cur_peek_u8(const struct cursor *c, size_t off, uint8_t *v)
{
	if (off >= cur_left(c))
		return false;
	*v = c->base[c->off + off];
	return true;
}

/* Cuts the cursor's view to its next n bytes (or fewer if fewer remain). */
static inline void cur_limit(struct cursor *c, size_t n)
{
	if (n < cur_left(c))
		c->len = c->off + n;
}

#endif
