/*
 * allocfail — see allocfail.h.
 *
 * The wrappers are what --wrap makes the linker call instead of malloc and
 * its kin; __real_* are the functions themselves (ASan's under ASan). The
 * blocks of a scenario are kept in an open-addressing table of fixed size
 * (no allocation while an allocation is being counted), deleted by shifting
 * back as flow.c does, so no tombstones pile up. Nothing here is
 * thread-safe: a scenario runs on one thread, and unarmed the wrappers only
 * read two flags.
 */
#include "tests/allocfail.h"

#include <errno.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void __real_free(void *p);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
void __wrap_free(void *p);

/* Blocks live at once in a scenario, at most (a power of two; scenarios
 * stay well below half of it, so probe runs stay short). */
#define LIVE_SLOTS (1u << 15)
/* Odd, so no block address (aligned, hence even) disguises to 0, the empty
 * slot; and far from any heap address, so LeakSanitizer sees no pointer. */
#define DISGUISE 0xa5a5a5a5a5a5a5a5ull

static struct {
	bool armed;
	bool after;
	uint64_t k;
	uint64_t calls;
	uint64_t failed;
	size_t live;
	size_t lost;       /* blocks the full table could not remember */
	uint64_t slots[LIVE_SLOTS];
} af;

static uint32_t slot_home(uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 40) & (LIVE_SLOTS - 1);
}

static void remember(const void *p)
{
	if (!af.armed || !p)
		return;
	if (af.live * 2 >= LIVE_SLOTS) {
		af.lost++;
		return;
	}
	uint64_t key = (uint64_t)(uintptr_t)p ^ DISGUISE;
	uint32_t i = slot_home(key);
	while (af.slots[i])
		i = (i + 1) & (LIVE_SLOTS - 1);
	af.slots[i] = key;
	af.live++;
}

static void forget(const void *p)
{
	if (!af.armed || !p)
		return;
	uint64_t key = (uint64_t)(uintptr_t)p ^ DISGUISE;
	uint32_t i = slot_home(key);
	while (af.slots[i] && af.slots[i] != key)
		i = (i + 1) & (LIVE_SLOTS - 1);
	if (!af.slots[i])
		return; /* allocated before the scenario, or by a shared library */
	for (uint32_t j = i;;) {
		j = (j + 1) & (LIVE_SLOTS - 1);
		if (!af.slots[j])
			break;
		uint32_t home = slot_home(af.slots[j]);
		if (((j - home) & (LIVE_SLOTS - 1)) >= ((j - i) & (LIVE_SLOTS - 1))) {
			af.slots[i] = af.slots[j];
			i = j;
		}
	}
	af.slots[i] = 0;
	af.live--;
}

/* Counts one allocation; true when it is to fail. */
static bool fail_now(void)
{
	if (!af.armed)
		return false;
	af.calls++;
	if (af.k == 0 || af.calls < af.k || (af.calls > af.k && !af.after))
		return false;
	af.failed++;
	errno = ENOMEM;
	return true;
}

void allocfail_arm(uint64_t k, bool after)
{
	memset(&af, 0, sizeof(af));
	af.k = k;
	af.after = after;
	af.armed = true;
}

uint64_t allocfail_end(size_t *leaked)
{
	if (leaked)
		*leaked = af.live + af.lost;
	af.armed = false;
	return af.calls;
}

uint64_t allocfail_failed(void)
{
	return af.failed;
}

void *__wrap_malloc(size_t n)
{
	if (fail_now())
		return NULL;
	void *p = __real_malloc(n);
	remember(p);
	return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
	if (fail_now())
		return NULL;
	void *p = __real_calloc(n, size);
	remember(p);
	return p;
}

/* A failed realloc leaves the block as it was, still the caller's. */
void *__wrap_realloc(void *p, size_t n)
{
	if (fail_now())
		return NULL;
	void *q = __real_realloc(p, n);
	if (q || n == 0)
		forget(p);
	remember(q);
	return q;
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
	if (fail_now())
		return NULL;
	void *p = __real_aligned_alloc(align, n);
	remember(p);
	return p;
}

char *__wrap_strdup(const char *s)
{
	if (fail_now())
		return NULL;
	char *p = __real_strdup(s);
	remember(p);
	return p;
}

char *__wrap_strndup(const char *s, size_t n)
{
	if (fail_now())
		return NULL;
	char *p = __real_strndup(s, n);
	remember(p);
	return p;
}

void __wrap_free(void *p)
{
	forget(p);
	__real_free(p);
}
