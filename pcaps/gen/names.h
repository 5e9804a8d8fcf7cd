/*
 * names — what the phone browses: ~200 well-known site names ranked by
 * popularity and drawn with a Zipf law (s = 1), third-party hosts pages
 * pull in, names that fail to resolve, and a few new names per simulated
 * day (deterministic from seed and day) so the set of names seen keeps
 * growing, as with a real user.
 */
#ifndef IOTGEN_NAMES_H
#define IOTGEN_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "pcaps/gen/prng.h"

#define NAMES_MAXLEN 96
#define NAMES_NEW_PER_DAY 6

struct names {
	double *cdf;       /* cumulative Zipf weights of the ranked list */
	size_t n;
	uint64_t seed;
};

int names_init(struct names *nm, uint64_t seed);
void names_free(struct names *nm);
/* A site name for a visit on day `day` (0 = first simulated day): mostly
 * Zipf over the list, sometimes one of that day's new names. */
void names_site(const struct names *nm, struct prng *r, uint64_t day, char *out, size_t len);
/* A third-party host (CDN, fonts, analytics) a page pulls in. */
const char *names_third_party(struct prng *r);
/* A name that does not exist (typo, stale bookmark): answered NXDOMAIN. */
void names_bogus(struct prng *r, char *out, size_t len);

#endif
