/*
 * Tests for features/intern.c: one copy per distinct name, freed with its
 * last reference, and a cap on distinct names.
 */
#include "features/intern.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static struct iname *get(struct intern *t, const char *s)
{
	return intern_get(t, s, strlen(s));
}

Test(intern, equal_names_share_one_copy)
{
	struct intern *t = intern_new(16, 1);
	struct iname *a = get(t, "api.tuya.com"), *b = get(t, "api.tuya.com"), *c = get(t, "api.tuya.co");
	cr_assert_not_null(a);
	cr_assert_eq(a, b);
	cr_assert_neq(a, c);
	cr_assert_str_eq(iname_str(a), "api.tuya.com");
	cr_assert_eq(iname_len(c), 11);
	cr_assert_eq(intern_stats(t)->names, 2);
	intern_put(t, a);
	intern_put(t, b);
	intern_put(t, c);
	cr_assert_eq(intern_stats(t)->names, 0);
	intern_free(t);
}

Test(intern, a_name_lives_until_its_last_reference)
{
	struct intern *t = intern_new(16, 1);
	struct iname *a = get(t, "x.example");
	intern_ref(a);
	intern_put(t, a);
	cr_assert_eq(intern_stats(t)->names, 1, "freed while still referenced");
	cr_assert_str_eq(iname_str(a), "x.example");
	intern_put(t, a);
	cr_assert_eq(intern_stats(t)->names, 0);
	intern_put(t, NULL);
	cr_assert_null(intern_ref(NULL));
	intern_free(t);
}

Test(intern, the_cap_refuses_new_names_but_not_known_ones)
{
	struct intern *t = intern_new(3, 1);
	struct iname *n[3];
	char buf[48];
	for (int i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), "n%d.example", i);
		n[i] = get(t, buf);
		cr_assert_not_null(n[i]);
	}
	cr_assert_null(get(t, "n3.example"));
	cr_assert_eq(intern_stats(t)->refused, 1);
	struct iname *again = get(t, "n1.example");
	cr_assert_eq(again, n[1], "a known name must still be found at the cap");
	intern_put(t, again);
	intern_put(t, n[0]);
	cr_assert_not_null(get(t, "n3.example"), "room freed by a release must be usable");
	cr_assert_eq(intern_stats(t)->peak, 3);
	intern_free(t); /* frees what is still held */
}

Test(intern, names_with_nul_bytes_and_over_long_names)
{
	struct intern *t = intern_new(8, 1);
	struct iname *a = intern_get(t, "a\0b", 3), *b = intern_get(t, "a\0c", 3);
	cr_assert_neq(a, b, "length, not NUL, ends a name");
	static char big[INTERN_MAX_LEN + 2];
	memset(big, 'x', sizeof(big) - 1);
	cr_assert_not_null(intern_get(t, big, INTERN_MAX_LEN));
	cr_assert_null(intern_get(t, big, INTERN_MAX_LEN + 1));
	intern_free(t);
}

Test(intern, many_names_in_and_out_leave_nothing_behind)
{
	struct intern *t = intern_new(1000, 7);
	struct iname *held[1000];
	char buf[48];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 1000; i++) {
			snprintf(buf, sizeof(buf), "h%d-%d.example.com", round, i);
			held[i] = get(t, buf);
			cr_assert_not_null(held[i]);
		}
		cr_assert_eq(intern_stats(t)->names, 1000);
		for (int i = 0; i < 1000; i++)
			intern_put(t, held[i]);
		cr_assert_eq(intern_stats(t)->names, 0);
	}
	intern_free(t);
}
