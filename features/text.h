/*
 * text — turning attacker-controlled bytes (DNS labels, DHCP options, SSDP
 * headers, TLS SNI) into text that is safe everywhere it goes: JSON, a
 * terminal, a log line, the profile store.
 *
 * The result is valid UTF-8 without control characters. Printable ASCII and
 * well-formed UTF-8 sequences (no overlongs, no surrogates) are kept as they
 * are; every other byte, and the backslash itself, becomes "\xHH", so two
 * different inputs never give the same text and nothing is silently lost.
 */
#ifndef IOTIDS_TEXT_H
#define IOTIDS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes the safe form of in[0..len) to out (always NUL-terminated when
 * outlen > 0). Returns the length written; the output is cut at a character
 * boundary (never inside an escape or a UTF-8 sequence) when out is short. */
size_t text_sanitize(char *out, size_t outlen, const uint8_t *in, size_t len);

/* Length of the well-formed UTF-8 sequence at p (1..4), or 0 if p[0..len)
 * does not start with one. */
size_t text_utf8_len(const uint8_t *p, size_t len);

/* Text assembled piece by piece into a fixed buffer. A piece goes in whole
 * or not at all, and the first that does not fit ends the text (cut), so a
 * cut text is a prefix of whole pieces: never half an escape or code. */
struct text_buf {
	char *s;
	size_t cap;  /* with the NUL */
	size_t len;
	bool cut;
};

void text_buf_init(struct text_buf *t, char *s, size_t cap);
/* False once the text is cut. */
bool text_buf_put(struct text_buf *t, const char *piece, size_t n);
/* One DNS label (RFC 1035: at most 63 bytes; longer is cut there) made safe
 * with text_sanitize, a '.' inside it written "\x2e" so that one label "a.b"
 * never reads as two. With partial, a part that does not fit whole is
 * written up to a character boundary before the text is cut. */
bool text_buf_put_label(struct text_buf *t, const uint8_t *label, size_t n, bool partial);

#endif
