#include "pcaps/gen/prng.h"

#include <math.h>
#include <string.h>

uint64_t prng_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t prng_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

void prng_seed(struct prng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ prng_mix(stream ^ 0x5851f42d4c957f2dULL);

	for (int i = 0; i < 4; i++) {
		x += 0x9e3779b97f4a7c15ULL;
		r->s[i] = prng_mix(x);
	}
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t prng_u64(struct prng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

uint32_t prng_u32(struct prng *r)
{
	return (uint32_t)(prng_u64(r) >> 32);
}

uint64_t prng_below(struct prng *r, uint64_t n)
{
	/* The modulo bias is below 2^-40 for the small n used here. */
	return n ? prng_u64(r) % n : 0;
}

uint64_t prng_range(struct prng *r, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + prng_below(r, hi - lo + 1);
}

double prng_unit(struct prng *r)
{
	return (double)(prng_u64(r) >> 11) * 0x1.0p-53;
}

bool prng_chance(struct prng *r, double p)
{
	return prng_unit(r) < p;
}

double prng_exp(struct prng *r, double mean)
{
	return -mean * log1p(-prng_unit(r));
}

double prng_normal(struct prng *r, double mu, double sigma)
{
	/* Box-Muller; the second value is dropped to keep the state simple. */
	double u1 = prng_unit(r), u2 = prng_unit(r);

	return mu + sigma * sqrt(-2.0 * log1p(-u1)) * cos(2.0 * M_PI * u2);
}

double prng_lognormal(struct prng *r, double median, double sigma)
{
	return median * exp(prng_normal(r, 0.0, sigma));
}

uint64_t prng_jitter(struct prng *r, uint64_t base, double frac)
{
	double f = 1.0 + frac * (2.0 * prng_unit(r) - 1.0);

	return f <= 0 ? 0 : (uint64_t)((double)base * f);
}

void prng_fill(struct prng *r, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len >= 8) {
		uint64_t v = prng_u64(r);

		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t v = prng_u64(r);

		memcpy(p, &v, len);
	}
}
