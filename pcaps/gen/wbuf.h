/*
 * wbuf — bounds-checked big-endian byte writer for protocol messages.
 *
 * Writes past the capacity set a sticky error instead of overflowing, so
 * builders can append freely and check once with wb_done(). Length fields
 * are reserved with wb_mark*() and filled by wb_patch*() once the enclosed
 * bytes are written (TLS and DNS nest many of them).
 */
#ifndef IOTGEN_WBUF_H
#define IOTGEN_WBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcaps/gen/prng.h"

struct wb {
	uint8_t *p;
	size_t len, cap;
	bool err;
};

void wb_init(struct wb *b, uint8_t *p, size_t cap);
void wb_u8(struct wb *b, uint8_t v);
void wb_u16(struct wb *b, uint16_t v);
void wb_u24(struct wb *b, uint32_t v);
void wb_u32(struct wb *b, uint32_t v);
void wb_bytes(struct wb *b, const void *data, size_t n);
void wb_zero(struct wb *b, size_t n);
void wb_rand(struct wb *b, struct prng *r, size_t n);
/* The string's bytes without its NUL. */
void wb_str(struct wb *b, const char *s);
/* Reserves an n-byte (1..3) length field; returns its offset for wb_patch. */
size_t wb_mark(struct wb *b, int n);
/* Stores the count of bytes written after the n-byte field at mark. */
void wb_patch(struct wb *b, size_t mark, int n);
/* Bytes written, or 0 after an overflow. */
size_t wb_done(const struct wb *b);

#endif
