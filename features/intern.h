/*
 * intern — shared, reference-counted copies of names.
 *
 * The same few hundred names (api.tuya.com, a device's hostname) are held by
 * thousands of flows, cache entries and window records. Each distinct name is
 * stored once; every holder takes a reference and gives it back, and the name
 * is freed with its last reference, so memory follows what is still in use.
 * The number of distinct names is capped (a device resolving a million random
 * names must not grow memory without bound): past the cap, intern_get fails
 * and the caller goes without a name, counted in intern_stats.
 */
#ifndef IOTIDS_INTERN_H
#define IOTIDS_INTERN_H

#include <stddef.h>
#include <stdint.h>

#define INTERN_MAX_LEN 1023 /* longer strings are refused */

struct iname;   /* a name; iname_str gives its text */
struct intern;

struct intern_stats {
	uint64_t names;          /* distinct names held now */
	uint64_t peak;
	uint64_t refused;        /* intern_get failures: cap reached, too long, or no memory */
	uint64_t bytes;          /* memory of the names held */
};

/* NULL on allocation failure or max_names == 0. */
struct intern *intern_new(uint32_t max_names, uint64_t seed);
/* Every name must have been released first (names still held leak). */
void intern_free(struct intern *t);

/* A reference to the name equal to s[0..len), created if new. NULL when the
 * cap is reached, len > INTERN_MAX_LEN, or out of memory. */
struct iname *intern_get(struct intern *t, const char *s, size_t len);
/* One more reference to n (n may be NULL). */
struct iname *intern_ref(struct iname *n);
/* Gives one reference back (n may be NULL). */
void intern_put(struct intern *t, struct iname *n);

const char *iname_str(const struct iname *n);
size_t iname_len(const struct iname *n);
const struct intern_stats *intern_stats(const struct intern *t);

#endif
