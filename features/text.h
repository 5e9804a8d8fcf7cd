/*
 * text — turning attacker-controlled bytes (DNS labels, DHCP options, SSDP
 * headers, TLS SNI) into text that is safe everywhere it goes: JSON, a
 * terminal, a log line, the profile store.
 *
 * The result is valid UTF-8 without control characters. Printable ASCII and
 * well-formed UTF-8 sequences (no overlongs, no surrogates) are kept as they
 * are; every other byte, and the backslash itself, becomes "\xHH", so two
 * different inputs never give the same text and nothing is silently lost.
 * Also escaped, byte by byte, are the C1 controls (U+0080..U+009F) and the
 * invisible format characters a terminal or a log viewer acts on: the
 * bidirectional embeddings, overrides, isolates and marks (U+061C, U+200E,
 * U+200F, U+202A..U+202E, U+2066..U+2069), the line and paragraph
 * separators (U+2028, U+2029), zero-width and invisible characters (U+00AD,
 * U+180E, U+200B..U+200D, U+2060..U+2064, U+206A..U+206F, U+FEFF,
 * U+FFF9..U+FFFB) and the tag characters (U+E0000..U+E007F): a name can
 * neither reorder nor hide what a person reads around it.
 *
 * Text that should already be safe (read back from the store, cut by a
 * fixed buffer somewhere) goes through text_copy or text_safe before it is
 * shown: they leave safe text as it is and make anything else safe the
 * same way, keeping the "\xHH" escapes already there. For tables,
 * text_cell fits safe text to a column (see there).
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

/* True when s is safe text: what text_sanitize writes (valid UTF-8, no
 * control, C1 or format character, every backslash the start of an escape
 * "\xHH" with lower-case hex). */
bool text_is_safe(const char *s);

/* Copies s into out, made safe where it is not: kept escapes, kept
 * characters, every other byte escaped as text_sanitize does (a lone
 * backslash becomes "\x5c"), except at the very end: the start of an escape
 * or of a UTF-8 sequence that the end of s interrupts (what a fixed buffer
 * cutting safe text leaves) is dropped. The identity on safe text. Cut,
 * when out is short, at a character boundary, never inside an escape;
 * always NUL-terminated when outlen > 0. Returns the length written. */
size_t text_copy(char *out, size_t outlen, const char *s);

/* s itself when it is safe, else its safe form in buf (text_copy). */
const char *text_safe(char *buf, size_t len, const char *s);

/* The safe form of s (text_copy), malloc'd, never cut; NULL out of memory. */
char *text_safe_dup(const char *s);

/* The safe form of s as a table cell exactly width terminal columns wide
 * (an escape takes 4, a character what wcwidth(3) gives it in the C.UTF-8
 * locale: 0 for a combining mark, 2 for a wide one, 1 for one it does not
 * know; every character 1 when that locale is missing): padded with spaces,
 * or, when it is wider (or more than out can hold), cut at a character
 * boundary (never inside an escape) and ended with an ellipsis
 * "\u2026" in its last column, then padded (a wide character that does not
 * fit leaves a space). out needs width + 4 bytes at least; more lets it
 * hold multi-byte characters. Returns the length written. */
size_t text_cell(char *out, size_t outlen, const char *s, unsigned width);

/* At most max bytes of v[0..len) as safe text for a message, with "..."
 * after it when v is longer: what a loader quotes of a hostile value. */
const char *text_quote(const uint8_t *v, size_t len, size_t max, char *buf, size_t size);

#endif
