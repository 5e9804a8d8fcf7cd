/*
 * allocfail — make one allocation of the library code fail, and find what
 * it leaked.
 *
 * The test binary is linked with -Wl,--wrap for malloc, calloc, realloc,
 * aligned_alloc, strdup, strndup and free (see the Makefile's test binary
 * rule): the calls made by libiotids.a and the tests' own objects go through
 * the wrappers in allocfail.c, those made inside shared libraries (libc,
 * nDPI, jansson, Criterion) do not. Unarmed, a wrapper only calls the real
 * function, so every other suite runs as before; under ASan the real
 * functions are ASan's.
 *
 * A scenario runs between allocfail_arm() and allocfail_end():
 *
 *     allocfail_arm(k, false);    // the k-th wrapped allocation fails
 *     ... create, run, free everything ...
 *     uint64_t n = allocfail_end(&leaked);
 *
 * Armed, every block a wrapper returns is remembered until it is freed, so
 * allocfail_end() tells the blocks the scenario left behind even without
 * LeakSanitizer. Remembered addresses are stored disguised, so that this
 * table never makes a leaked block look reachable to LeakSanitizer.
 */
#ifndef IOTIDS_TESTS_ALLOCFAIL_H
#define IOTIDS_TESTS_ALLOCFAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Starts counting wrapped allocations: the k-th from now on fails (returns
 * NULL with errno ENOMEM), and with `after` every one after it too; k = 0
 * fails none. Forgets any earlier scenario. */
void allocfail_arm(uint64_t k, bool after);

/* Ends the scenario: the wrapped allocations since allocfail_arm() (failed
 * ones included), and in *leaked (when not NULL) the blocks they returned
 * that were not freed. Blocks the table could not remember (more than it
 * holds at once) count as leaked, so a scenario too big shows up. */
uint64_t allocfail_end(size_t *leaked);

/* Allocations failed on purpose since allocfail_arm(). */
uint64_t allocfail_failed(void);

#endif
