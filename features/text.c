#include "features/text.h"

#include <string.h>

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

/* C1 controls (U+0080..U+009F) are two-byte sequences C2 80..C2 9F. */
static int is_c1_control(const uint8_t *p, size_t n)
{
	return n == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

size_t text_sanitize(char *out, size_t outlen, const uint8_t *in, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (outlen == 0)
		return 0;
	for (size_t i = 0; i < len;) {
		size_t n = text_utf8_len(in + i, len - i);
		int keep = n > 1 ? !is_c1_control(in + i, n) : n == 1 && in[i] >= 0x20 && in[i] < 0x7f && in[i] != '\\';
		if (keep) {
			if (o + n >= outlen)
				break;
			memcpy(out + o, in + i, n);
			o += n;
			i += n;
		} else {
			if (o + 4 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[in[i] >> 4];
			out[o++] = hex[in[i] & 15];
			i++;
		}
	}
	out[o] = '\0';
	return o;
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
