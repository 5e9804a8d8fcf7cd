/*
 * hash — a seeded 64-bit mixer for table keys.
 *
 * Tables seed it from the OS at start so that an attacker who picks spoofed
 * addresses cannot aim them all at one bucket. Nothing printed depends on
 * bucket order, so the seed never changes output.
 */
#ifndef IOTIDS_HASH_H
#define IOTIDS_HASH_H

#include <stdint.h>
#include <string.h>

static inline uint64_t hash_mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static inline uint64_t hash_bytes16(uint64_t h, const uint8_t b[16])
{
	uint64_t x, y;
	memcpy(&x, b, 8);
	memcpy(&y, b + 8, 8);
	return hash_mix(hash_mix(h, x), y);
}

static inline uint64_t hash_final(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* A seed from the OS; a fixed fallback only if the OS gives none. */
uint64_t hash_random_seed(void);

#endif
