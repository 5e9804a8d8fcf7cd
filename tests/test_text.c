/*
 * Tests for features/text.c: hostile bytes become safe, unambiguous text.
 */
#include "features/text.h"

#include <criterion/criterion.h>
#include <string.h>

static const char *safe(const char *in, size_t len)
{
	static char out[256];
	text_sanitize(out, sizeof(out), (const uint8_t *)in, len);
	return out;
}

Test(text, printable_ascii_is_kept)
{
	cr_assert_str_eq(safe("api.tuya.com", 12), "api.tuya.com");
	cr_assert_str_eq(safe("Living Room._airplay._tcp", 25), "Living Room._airplay._tcp");
}

Test(text, controls_quotes_and_backslashes_are_escaped_or_kept_unambiguously)
{
	cr_assert_str_eq(safe("a\nb", 3), "a\\x0ab");
	cr_assert_str_eq(safe("a\0b", 3), "a\\x00b");
	cr_assert_str_eq(safe("\x7f", 1), "\\x7f");
	cr_assert_str_eq(safe("a\\b", 3), "a\\x5cb", "a backslash must not be mistaken for an escape");
	cr_assert_str_eq(safe("\"q\"", 3), "\"q\"", "quotes are the JSON encoder's job");
}

Test(text, well_formed_utf8_is_kept)
{
	cr_assert_str_eq(safe("K\xc3\xbc" "che", 6), "K\xc3\xbc" "che");
	cr_assert_str_eq(safe("\xe2\x82\xac", 3), "\xe2\x82\xac");
	cr_assert_str_eq(safe("\xf0\x9f\x94\x8c", 4), "\xf0\x9f\x94\x8c");
}

Test(text, malformed_utf8_is_escaped_byte_by_byte)
{
	cr_assert_str_eq(safe("\xc3", 1), "\\xc3", "truncated sequence");
	cr_assert_str_eq(safe("\xc0\xaf", 2), "\\xc0\\xaf", "overlong slash");
	cr_assert_str_eq(safe("\xed\xa0\x80", 3), "\\xed\\xa0\\x80", "surrogate");
	cr_assert_str_eq(safe("\xf4\x90\x80\x80", 4), "\\xf4\\x90\\x80\\x80", "past U+10FFFF");
	cr_assert_str_eq(safe("\xff", 1), "\\xff");
	cr_assert_str_eq(safe("\xc2\x85", 2), "\\xc2\\x85", "C1 control (NEL)");
}

Test(text, a_short_buffer_cuts_at_a_character_boundary)
{
	char out[6];
	size_t n = text_sanitize(out, sizeof(out), (const uint8_t *)"ab\ncd", 5);
	cr_assert_eq(n, 2, "the escape \\x0a does not fit after 'ab' in 5 characters");
	cr_assert_str_eq(out, "ab");
	n = text_sanitize(out, sizeof(out), (const uint8_t *)"abcd\xe2\x82\xac", 7);
	cr_assert_str_eq(out, "abcd");
	cr_assert_eq(n, 4);
	cr_assert_eq(text_sanitize(out, 1, (const uint8_t *)"x", 1), 0);
	cr_assert_str_eq(out, "");
}

Test(text, a_text_buf_takes_whole_pieces_until_one_does_not_fit)
{
	char out[8];
	struct text_buf t;
	text_buf_init(&t, out, sizeof(out));
	cr_assert(text_buf_put(&t, "abc", 3));
	cr_assert(text_buf_put(&t, "def", 3));
	cr_assert(!text_buf_put(&t, "gh", 2), "7 characters and a NUL do not fit in 8 bytes");
	cr_assert(t.cut);
	cr_assert(!text_buf_put(&t, "", 0), "nothing goes in after the cut");
	cr_assert_str_eq(out, "abcdef");
}

Test(text, a_label_escapes_its_dots_and_hostile_bytes)
{
	char out[64];
	struct text_buf t;
	text_buf_init(&t, out, sizeof(out));
	cr_assert(text_buf_put_label(&t, (const uint8_t *)"a.b\n", 4, false));
	cr_assert_str_eq(out, "a\\x2eb\\x0a");
}

Test(text, a_label_that_does_not_fit_is_cut_whole_or_at_a_character_boundary)
{
	char out[6];
	struct text_buf t;
	text_buf_init(&t, out, sizeof(out));
	cr_assert(!text_buf_put_label(&t, (const uint8_t *)"abcdefgh", 8, false));
	cr_assert_str_eq(out, "", "without partial, a part goes in whole or not at all");
	text_buf_init(&t, out, sizeof(out));
	cr_assert(!text_buf_put_label(&t, (const uint8_t *)"abcdefgh", 8, true));
	cr_assert_str_eq(out, "abcde", "with partial, as much as fits");
	static uint8_t long_label[100];
	memset(long_label, 'x', sizeof(long_label));
	char big[200];
	text_buf_init(&t, big, sizeof(big));
	cr_assert(text_buf_put_label(&t, long_label, sizeof(long_label), false));
	cr_assert_eq(strlen(big), 63, "a label is at most 63 bytes");
}
