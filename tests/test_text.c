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
