/*
 * ssdp — see ssdp.h for the contract.
 *
 * Design. SSDP is HTTP over UDP (HTTPU, UDA 2.0 section 1.1.3): a start
 * line, header lines, an empty line. The message is cut into lines with a
 * memchr over the cursor's remaining bytes; each line becomes a cursor of
 * its own, and everything after that (matching the start line, finding the
 * colon, trimming) moves cursors, never raw pointers. Wanted headers are
 * listed in one table of name and field, so adding one is one line.
 *
 * Choices, and what was rejected:
 *   - Responses: any 2xx status is accepted. UDA only ever sends 200 OK, but
 *     a device answering 2xx is still describing itself; a 3xx-5xx answer to
 *     M-SEARCH is no SSDP search response and gives SSDP_ERR_NOT_SSDP.
 *     HTTP/1.0 is accepted as well as 1.1: older stacks (and some cameras)
 *     send it. Versions past 1.1 do not exist for HTTPU.
 *   - Methods are matched case-sensitively (RFC 9110 section 9.1); "notify"
 *     is not an SSDP method, and being lax here would let any text through.
 *     Runs of spaces or tabs between the parts are accepted (RFC 9112
 *     section 3 lets recipients be lenient), and so is trailing whitespace.
 *   - A header line without ':' is skipped rather than ending the parse:
 *     some stacks emit stray lines, and the headers after them still
 *     identify the device. It counts towards SSDP_MAX_HEADERS, so a flood
 *     of such lines is bounded as well. A line starting with whitespace (an
 *     obsolete fold, RFC 9112 section 5.2) is skipped too, not joined: a
 *     joined value would need a copy, and no SSDP stack folds.
 *   - A repeated header keeps its first value, so a second SERVER line
 *     cannot replace the identity the first one gave.
 *   - A bare CR as line end (classic Mac OS) is not recognised: no SSDP
 *     stack sends it, and treating CR as a line end would split CRLF twice.
 */
#include "features/ssdp.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "features/cursor.h"
#include "features/text.h"

struct wanted {
	const char *name; /* upper case, as UDA spells it */
	size_t off;       /* of the char[SSDP_TEXT_MAX] field in struct ssdp_msg */
};

static const struct wanted WANTED[] = {
	{"SERVER", offsetof(struct ssdp_msg, server)},
	{"USER-AGENT", offsetof(struct ssdp_msg, user_agent)},
	{"USN", offsetof(struct ssdp_msg, usn)},
	{"NT", offsetof(struct ssdp_msg, nt)},
	{"NTS", offsetof(struct ssdp_msg, nts)},
	{"ST", offsetof(struct ssdp_msg, st)},
	{"LOCATION", offsetof(struct ssdp_msg, location)},
	{"MAN", offsetof(struct ssdp_msg, man)},
};

#define N_WANTED (sizeof(WANTED) / sizeof(WANTED[0]))

static bool is_ws(uint8_t b)
{
	return b == ' ' || b == '\t';
}

/* ASCII only: header names are tokens, and the C library's tolower depends
 * on the locale. */
static uint8_t ascii_upper(uint8_t b)
{
	return b >= 'a' && b <= 'z' ? (uint8_t)(b - 'a' + 'A') : b;
}

/* Cuts the next line off c into line, without its LF and a CR before it.
 * False when c has no bytes left. */
static bool next_line(struct cursor *c, struct cursor *line)
{
	size_t left = cur_left(c);
	if (left == 0)
		return false;
	const uint8_t *start = cur_ptr(c);
	const uint8_t *lf = memchr(start, '\n', left);
	size_t n = lf ? (size_t)(lf - start) : left;
	*line = *c;
	cur_limit(line, n);
	if (!cur_skip(c, lf ? n + 1 : n))
		return false; /* cannot happen: n < left when lf is found */
	uint8_t last;
	if (n > 0 && cur_peek_u8(line, n - 1, &last) && last == '\r')
		cur_limit(line, n - 1);
	return true;
}

static void trim(struct cursor *c)
{
	uint8_t b;
	while (cur_peek_u8(c, 0, &b) && is_ws(b))
		if (!cur_skip(c, 1))
			return;
	size_t n = cur_left(c);
	while (n > 0 && cur_peek_u8(c, n - 1, &b) && is_ws(b))
		n--;
	cur_limit(c, n);
}

/* Consumes lit if the line continues with it (case-sensitively). */
static bool eat(struct cursor *c, const char *lit)
{
	size_t n = strlen(lit);
	uint8_t b;
	for (size_t i = 0; i < n; i++)
		if (!cur_peek_u8(c, i, &b) || b != (uint8_t)lit[i])
			return false;
	return cur_skip(c, n);
}

/* Consumes one or more spaces or tabs. */
static bool eat_ws(struct cursor *c)
{
	uint8_t b;
	bool any = false;
	while (cur_peek_u8(c, 0, &b) && is_ws(b) && cur_skip(c, 1))
		any = true;
	return any;
}

static bool eat_digit(struct cursor *c, uint8_t *d)
{
	uint8_t b;
	if (!cur_peek_u8(c, 0, &b) || b < '0' || b > '9')
		return false;
	*d = (uint8_t)(b - '0');
	return cur_skip(c, 1);
}

/* "HTTP/1.0" or "HTTP/1.1". */
static bool eat_version(struct cursor *c)
{
	uint8_t minor;
	return eat(c, "HTTP/1.") && eat_digit(c, &minor) && minor <= 1;
}

/* Nothing but whitespace left on the line. */
static bool at_end(struct cursor *c)
{
	eat_ws(c);
	return cur_left(c) == 0;
}

static uint8_t start_line_kind(struct cursor line)
{
	struct cursor c = line;
	if (eat(&c, "NOTIFY") && eat_ws(&c) && eat(&c, "*") && eat_ws(&c) && eat_version(&c) && at_end(&c))
		return SSDP_NOTIFY;
	c = line;
	if (eat(&c, "M-SEARCH") && eat_ws(&c) && eat(&c, "*") && eat_ws(&c) && eat_version(&c) && at_end(&c))
		return SSDP_MSEARCH;
	c = line;
	uint8_t d1, d2, d3;
	if (eat_version(&c) && eat_ws(&c) && eat_digit(&c, &d1) && eat_digit(&c, &d2) && eat_digit(&c, &d3) &&
	    d1 == 2) {
		/* The reason phrase is free text (possibly empty); it only has to
		 * be apart from the code: "200OK" is no status line. */
		uint8_t b;
		if (!cur_peek_u8(&c, 0, &b) || is_ws(b))
			return SSDP_RESPONSE;
	}
	return SSDP_UNKNOWN;
}

static bool name_is(const struct cursor *name, const char *want)
{
	size_t n = strlen(want);
	uint8_t b;
	if (cur_left(name) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!cur_peek_u8(name, i, &b) || ascii_upper(b) != (uint8_t)want[i])
			return false;
	return true;
}

/* One header line; seen has a bit per WANTED entry already filled. */
static void take_header(struct cursor line, struct ssdp_msg *out, unsigned *seen)
{
	uint8_t first;
	if (!cur_peek_u8(&line, 0, &first) || is_ws(first))
		return; /* an obsolete fold: skipped (see the top of the file) */
	const uint8_t *start = cur_ptr(&line);
	const uint8_t *colon = memchr(start, ':', cur_left(&line));
	if (!colon)
		return;
	size_t name_len = (size_t)(colon - start);
	struct cursor name = line, value = line;
	cur_limit(&name, name_len);
	trim(&name); /* RFC 9112 forbids space before the colon; some stacks send it */
	if (!cur_skip(&value, name_len + 1))
		return;
	trim(&value);
	for (size_t i = 0; i < N_WANTED; i++) {
		if (!name_is(&name, WANTED[i].name))
			continue;
		if (!(*seen & 1u << i)) {
			char *dst = (char *)out + WANTED[i].off;
			text_sanitize(dst, SSDP_TEXT_MAX, cur_ptr(&value), cur_left(&value));
			*seen |= 1u << i;
		}
		return;
	}
}

int ssdp_parse(const uint8_t *p, size_t len, struct ssdp_msg *out)
{
	struct cursor c, line;
	memset(out, 0, sizeof(*out));
	cur_init(&c, p, len);
	if (!next_line(&c, &line))
		return SSDP_ERR_NOT_SSDP;
	out->kind = start_line_kind(line);
	if (out->kind == SSDP_UNKNOWN)
		return SSDP_ERR_NOT_SSDP;

	unsigned seen = 0;
	size_t n_lines = 0;
	while (next_line(&c, &line)) {
		if (cur_left(&line) == 0)
			return SSDP_OK; /* the empty line: headers end, a body (rare) is ignored */
		if (++n_lines > SSDP_MAX_HEADERS)
			return SSDP_ERR_FORMAT;
		take_header(line, out, &seen);
	}
	return SSDP_OK;
}

const char *ssdp_error_name(int err)
{
	switch (err) {
	case SSDP_OK:
		return "ok";
	case SSDP_ERR_NOT_SSDP:
		return "not_ssdp";
	case SSDP_ERR_FORMAT:
		return "format";
	default:
		return "unknown";
	}
}

const char *ssdp_kind_name(uint8_t kind)
{
	switch (kind) {
	case SSDP_NOTIFY:
		return "notify";
	case SSDP_MSEARCH:
		return "m-search";
	case SSDP_RESPONSE:
		return "response";
	default:
		return "unknown";
	}
}
