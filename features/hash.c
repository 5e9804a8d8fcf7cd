#include "features/hash.h"

#include <sys/random.h>

uint64_t hash_random_seed(void)
{
	uint64_t s;
	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s))
		s = 0x243f6a8885a308d3ull;
	return s;
}
