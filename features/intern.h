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
 *
 * The last eighth of the cap is a reserve: callers acting for a device that
 * may be hostile (the tracker, for the DNS answers and flow names of a
 * device not yet settled, of one that already holds half its DNS cache, see
 * dnscache.h, and of flows no local device started) use
 * intern_get_limited, which refuses new names past the high-water mark
 * (seven eighths), so one device resolving a million names, or a flood of
 * answers to made-up hosts, cannot take the names the real devices need
 * next. Names that already exist are always shared, limited or not.
 */
#ifndef IOTIDS_INTERN_H
#define IOTIDS_INTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INTERN_MAX_LEN 1023 /* longer strings are refused */

struct iname;   /* a name; iname_str gives its text */
struct intern;

struct intern_stats {
	uint64_t names;          /* distinct names held now */
	uint64_t peak;
	uint64_t refused;        /* intern_get failures: cap reached, too long, or no memory */
	uint64_t refused_limited; /* of refused: intern_get_limited past the high-water mark */
	uint64_t bytes;          /* memory of the names held */
};

/* NULL on allocation failure or max_names == 0. */
struct intern *intern_new(uint32_t max_names, uint64_t seed);
/* Every name must have been released first (names still held leak). */
void intern_free(struct intern *t);

/* A reference to the name equal to s[0..len), created if new. NULL when the
 * cap is reached, len > INTERN_MAX_LEN, or out of memory. */
struct iname *intern_get(struct intern *t, const char *s, size_t len);
/* As intern_get, but a new name is refused once the table holds its
 * high-water mark (seven eighths of the cap) or more. */
struct iname *intern_get_limited(struct intern *t, const char *s, size_t len);
/* The table holds more names than its high-water mark. */
bool intern_above_high_water(const struct intern *t);
/* One more reference to n (n may be NULL). */
struct iname *intern_ref(struct iname *n);
/* Gives one reference back (n may be NULL). */
void intern_put(struct intern *t, struct iname *n);

const char *iname_str(const struct iname *n);
size_t iname_len(const struct iname *n);
const struct intern_stats *intern_stats(const struct intern *t);

#endif
