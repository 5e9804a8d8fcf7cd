/*
 * prng — the generator's only source of randomness.
 *
 * xoshiro256** seeded through splitmix64, so a run is a pure function of
 * its seed: no wall clock, no rand(). Independent streams (one per device,
 * per flow) come from prng_seed(seed, stream) so adding a consumer to one
 * stream does not shift the numbers another stream sees.
 */
#ifndef IOTGEN_PRNG_H
#define IOTGEN_PRNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct prng {
	uint64_t s[4];
};

/* Seeds r from (seed, stream); distinct streams give unrelated sequences. */
void prng_seed(struct prng *r, uint64_t seed, uint64_t stream);
uint64_t prng_u64(struct prng *r);
uint32_t prng_u32(struct prng *r);
/* Uniform in [0, n); n == 0 returns 0. */
uint64_t prng_below(struct prng *r, uint64_t n);
/* Uniform in [lo, hi], inclusive. */
uint64_t prng_range(struct prng *r, uint64_t lo, uint64_t hi);
/* Uniform in [0, 1). */
double prng_unit(struct prng *r);
bool prng_chance(struct prng *r, double p);
/* Exponential with the given mean (Poisson inter-arrival times). */
double prng_exp(struct prng *r, double mean);
double prng_normal(struct prng *r, double mu, double sigma);
/* Log-normal with the given median; sigma is that of the underlying normal. */
double prng_lognormal(struct prng *r, double median, double sigma);
/* base scaled by a uniform factor in [1 - frac, 1 + frac]. */
uint64_t prng_jitter(struct prng *r, uint64_t base, double frac);
void prng_fill(struct prng *r, void *buf, size_t len);

/* splitmix64 finaliser: a stateless mix for counter-based random bytes. */
uint64_t prng_mix(uint64_t x);
/* FNV-1a of a string, to derive a stream number from a name. */
uint64_t prng_hash(const char *s);

#endif
