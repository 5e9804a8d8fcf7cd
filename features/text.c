/*
 * text — see text.h. One loop makes text safe: it takes the input a unit
 * at a time (a kept character, or one byte escaped), in two modes that
 * differ only in the backslash: text_sanitize escapes every backslash (its
 * input is raw bytes), text_copy keeps an escape already made (its input
 * is text that should be safe). Widths come from the C library's wcwidth in
 * the C.UTF-8 locale rather than a table of our own: glibc's follows the
 * Unicode version it was built with, which is what the terminal next to it
 * most likely follows too.
 */
#include "features/text.h"

#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* wcwidth is X/Open: declared here rather than raising the feature level
 * of the whole file. */
extern int wcwidth(wchar_t c);

size_t text_utf8_len(const uint8_t *p, size_t len)
{
	if (len == 0)
		return 0;
	uint8_t c = p[0];
	if (c < 0x80)
		return 1;
	size_t n;
	uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte (RFC 3629, section 4) */
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else {
		return 0;
	}
	if (len < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* The code point of the well-formed sequence p[0..n). */
static uint32_t code_point(const uint8_t *p, size_t n)
{
	static const uint8_t lead_bits[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t c = p[0] & lead_bits[n];
	for (size_t i = 1; i < n; i++)
		c = c << 6 | (p[i] & 0x3f);
	return c;
}

/* Characters that are valid UTF-8 but act instead of showing: the C1
 * controls and the invisible format characters text.h lists. */
static bool is_hidden(uint32_t c)
{
	static const struct {
		uint32_t lo, hi;
	} ranges[] = {
		{0x0080, 0x009f}, {0x00ad, 0x00ad}, {0x061c, 0x061c}, {0x180e, 0x180e}, {0x200b, 0x200f},
		{0x2028, 0x202e}, {0x2060, 0x2064}, {0x2066, 0x206f}, {0xfeff, 0xfeff}, {0xfff9, 0xfffb},
		{0xe0000, 0xe007f},
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (c >= ranges[i].lo && c <= ranges[i].hi)
			return true;
	return false;
}

static bool is_hex_digit(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* One unit of safe text: a kept character or escape (at most 4 bytes). */
struct unit {
	char b[4];
	size_t n;     /* bytes in b */
	size_t used;  /* input bytes it stands for */
	bool escape;  /* "\xHH" */
};

/* At the end of text that should be safe: the start of an escape or of a
 * UTF-8 sequence that the end interrupts, which is what a fixed buffer
 * cutting safe text leaves. */
static bool is_cut_tail(const uint8_t *p, size_t len)
{
	if (p[0] == '\\')
		return len < 4 && (len < 2 || p[1] == 'x') && (len < 3 || is_hex_digit(p[2]));
	size_t need = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
	if (len >= need)
		return false;
	if (len == 1)
		return true; /* any lead byte has some continuation */
	/* The bytes there must begin a valid sequence: later continuation
	 * bytes may be any of 80..bf, so 80 stands in for them. */
	uint8_t whole[4] = {0x80, 0x80, 0x80, 0x80};
	memcpy(whole, p, len);
	return text_utf8_len(whole, need) == need;
}

/* The unit at in[0..len) (len > 0). keep_escapes: an escape already in the
 * input is one unit, kept; and a cut tail (is_cut_tail) ends the text:
 * false, it is dropped rather than shown as bytes that were never sent. */
static bool next_unit(const uint8_t *in, size_t len, bool keep_escapes, struct unit *u)
{
	static const char hex[] = "0123456789abcdef";
	if (keep_escapes && in[0] == '\\' && len >= 4 && in[1] == 'x' && is_hex_digit(in[2]) && is_hex_digit(in[3])) {
		memcpy(u->b, in, 4);
		u->n = u->used = 4;
		u->escape = true;
		return true;
	}
	if (keep_escapes && is_cut_tail(in, len))
		return false;
	size_t n = text_utf8_len(in, len);
	bool keep = n > 1 ? !is_hidden(code_point(in, n)) : n == 1 && in[0] >= 0x20 && in[0] < 0x7f && in[0] != '\\';
	if (keep) {
		memcpy(u->b, in, n);
		u->n = u->used = n;
		u->escape = false;
		return true;
	}
	u->b[0] = '\\';
	u->b[1] = 'x';
	u->b[2] = hex[in[0] >> 4];
	u->b[3] = hex[in[0] & 15];
	u->n = 4;
	u->used = 1;
	u->escape = true;
	return true;
}

/* Whole units of in[0..len) into out while they fit; NUL-terminated. */
static size_t write_units(char *out, size_t outlen, const uint8_t *in, size_t len, bool keep_escapes)
{
	size_t o = 0;
	if (outlen == 0)
		return 0;
	for (size_t i = 0; i < len;) {
		struct unit u;
		if (!next_unit(in + i, len - i, keep_escapes, &u) || o + u.n >= outlen)
			break;
		memcpy(out + o, u.b, u.n);
		o += u.n;
		i += u.used;
	}
	out[o] = '\0';
	return o;
}

size_t text_sanitize(char *out, size_t outlen, const uint8_t *in, size_t len)
{
	return write_units(out, outlen, in, len, false);
}

void text_buf_init(struct text_buf *t, char *s, size_t cap)
{
	t->s = s;
	t->cap = cap;
	t->len = 0;
	t->cut = false;
	s[0] = '\0';
}

bool text_buf_put(struct text_buf *t, const char *piece, size_t n)
{
	if (t->cut || n >= t->cap - t->len) {
		t->cut = true;
		return false;
	}
	memcpy(t->s + t->len, piece, n);
	t->len += n;
	t->s[t->len] = '\0';
	return true;
}

#define LABEL_MAX 63

bool text_buf_put_label(struct text_buf *t, const uint8_t *label, size_t n, bool partial)
{
	char tmp[4 * LABEL_MAX + 1]; /* a byte becomes at most 4 characters */
	if (n > LABEL_MAX)
		n = LABEL_MAX;
	/* Splitting at '.' never splits a UTF-8 sequence: its bytes are >= 0x80. */
	for (size_t i = 0;;) {
		size_t j = i;
		while (j < n && label[j] != '.')
			j++;
		if (t->cut)
			return false;
		size_t m = text_sanitize(tmp, sizeof(tmp), label + i, j - i);
		if (!text_buf_put(t, tmp, m)) {
			if (partial)
				t->len += text_sanitize(t->s + t->len, t->cap - t->len, label + i, j - i);
			return false;
		}
		if (j == n)
			return true;
		if (!text_buf_put(t, "\\x2e", 4))
			return false;
		i = j + 1;
	}
}

bool text_is_safe(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t len = strlen(s);
	for (size_t i = 0; i < len;) {
		struct unit u;
		/* A unit that is not the input's own bytes was made safe. */
		if (!next_unit(p + i, len - i, true, &u) || u.n != u.used)
			return false;
		i += u.used;
	}
	return true;
}

size_t text_copy(char *out, size_t outlen, const char *s)
{
	return write_units(out, outlen, (const uint8_t *)s, strlen(s), true);
}

const char *text_safe(char *buf, size_t len, const char *s)
{
	if (text_is_safe(s))
		return s;
	text_copy(buf, len, s);
	return buf;
}

char *text_safe_dup(const char *s)
{
	size_t cap = 4 * strlen(s) + 1; /* a byte becomes at most 4 */
	char *t = malloc(cap);
	if (t)
		text_copy(t, cap, s);
	return t;
}

/* ---- widths ---- */

/* Loaded once and never changed: a cache, not state. (locale_t)0 when the
 * locale is missing. */
static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_load(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Columns of one unit; loc is the C.UTF-8 locale or 0. */
static size_t unit_width(const struct unit *u, locale_t loc)
{
	if (u->escape || u->n == 1 || !loc)
		return u->escape ? 4 : 1;
	locale_t old = uselocale(loc);
	int w = wcwidth((wchar_t)code_point((const uint8_t *)u->b, u->n));
	uselocale(old);
	return w < 0 ? 1 : (size_t)w;
}

static locale_t width_locale(void)
{
	pthread_once(&utf8_once, utf8_locale_load);
	return utf8_locale;
}

/* "…": one column, three bytes. */
#define ELLIPSIS "\xe2\x80\xa6"
#define ELLIPSIS_LEN 3

size_t text_cell(char *out, size_t outlen, const char *s, unsigned width)
{
	locale_t loc = width_locale();
	const uint8_t *p = (const uint8_t *)s;
	size_t len = strlen(s), o = 0, cols = 0, bytes = 0, total = 0;
	if (outlen == 0)
		return 0;
	for (size_t i = 0; i < len;) {
		struct unit u;
		if (!next_unit(p + i, len - i, true, &u))
			break;
		total += unit_width(&u, loc);
		bytes += u.n;
		i += u.used;
	}
	/* Whole, with its padding, or cut with room for the ellipsis. */
	bool whole = total <= width && bytes + (width - total) < outlen;
	size_t budget = whole ? width : width ? width - 1 : 0;
	for (size_t i = 0; i < len && (whole || width > 0);) {
		struct unit u;
		if (!next_unit(p + i, len - i, true, &u))
			break;
		size_t w = unit_width(&u, loc);
		if (cols + w > budget)
			break;
		/* What must still fit after it: the padding, and the ellipsis. */
		size_t after = budget - (cols + w) + (whole ? 0 : ELLIPSIS_LEN);
		if (o + u.n + after >= outlen)
			break;
		memcpy(out + o, u.b, u.n);
		o += u.n;
		cols += w;
		i += u.used;
	}
	if (!whole && width > 0 && o + ELLIPSIS_LEN < outlen) {
		memcpy(out + o, ELLIPSIS, ELLIPSIS_LEN);
		o += ELLIPSIS_LEN;
		cols++;
	}
	while (cols < width && o + 1 < outlen) {
		out[o++] = ' ';
		cols++;
	}
	out[o] = '\0';
	return o;
}

const char *text_quote(const uint8_t *v, size_t len, size_t max, char *buf, size_t size)
{
	if (size < 4) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	size_t o = text_sanitize(buf, size - 3, v, len < max ? len : max);
	if (len > max)
		memcpy(buf + o, "...", 4);
	return buf;
}
