/*
 * Tests for features/ssdp.c: the three message kinds from real devices,
 * start lines that are not SSDP, header-name case and line ends, trimming,
 * hostile and over-long values, the header-line cap, and every truncation
 * point.
 *
 * Every parse runs on an exact-size heap copy so that ASan sees any read
 * past the end.
 */
#include "features/ssdp.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_n(const void *msg, size_t len, struct ssdp_msg *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	cr_assert_not_null(copy);
	if (len > 0)
		memcpy(copy, msg, len);
	int rc = ssdp_parse(copy, len, out);
	free(copy);
	return rc;
}

static int parse(const char *msg, struct ssdp_msg *out)
{
	return parse_n(msg, strlen(msg), out);
}

#define ASSERT_RC(got, want)                                                                             \
	do {                                                                                             \
		int got_ = (got), want_ = (want);                                                        \
		cr_assert_eq(got_, want_, "result %s, want %s", ssdp_error_name(got_), ssdp_error_name(want_)); \
	} while (0)

static const char HUE_NOTIFY[] =
	"NOTIFY * HTTP/1.1\r\n"
	"HOST: 239.255.255.250:1900\r\n"
	"CACHE-CONTROL: max-age=100\r\n"
	"LOCATION: http://192.168.1.20:80/description.xml\r\n"
	"SERVER: Linux/3.14.0 UPnP/1.0 IpBridge/1.26.0\r\n"
	"NTS: ssdp:alive\r\n"
	"hue-bridgeid: 001788FFFE242B2C\r\n"
	"NT: upnp:rootdevice\r\n"
	"USN: uuid:2f402f80-da50-11e1-9b23-001788242b2c::upnp:rootdevice\r\n"
	"\r\n";

/* A message of n header lines "X-Fill-i: i" around the given lines. */
static size_t build_filled(char *buf, size_t cap, const char *before, size_t n_fill, const char *after)
{
	size_t len = (size_t)snprintf(buf, cap, "NOTIFY * HTTP/1.1\r\n%s", before);
	for (size_t i = 0; i < n_fill; i++)
		len += (size_t)snprintf(buf + len, cap - len, "X-Fill-%zu: %zu\r\n", i, i);
	len += (size_t)snprintf(buf + len, cap - len, "%s\r\n", after);
	cr_assert_lt(len, cap, "test message too long");
	return len;
}

/* ------------------------------------------------------------------------ */
/* The three kinds                                                          */
/* ------------------------------------------------------------------------ */

Test(ssdp, a_hue_bridge_notify_alive_gives_every_header_exactly)
{
	struct ssdp_msg s;
	ASSERT_RC(parse(HUE_NOTIFY, &s), SSDP_OK);
	cr_assert_eq(s.kind, SSDP_NOTIFY);
	cr_assert_str_eq(s.server, "Linux/3.14.0 UPnP/1.0 IpBridge/1.26.0");
	cr_assert_str_eq(s.usn, "uuid:2f402f80-da50-11e1-9b23-001788242b2c::upnp:rootdevice");
	cr_assert_str_eq(s.nt, "upnp:rootdevice");
	cr_assert_str_eq(s.nts, "ssdp:alive");
	cr_assert_str_eq(s.location, "http://192.168.1.20:80/description.xml");
	cr_assert_str_eq(s.user_agent, "");
	cr_assert_str_eq(s.st, "");
	cr_assert_str_eq(s.man, "");
}

Test(ssdp, an_m_search_with_lower_case_names_and_bare_lf_line_ends)
{
	struct ssdp_msg s;
	ASSERT_RC(parse("M-SEARCH * HTTP/1.1\n"
			"host: 239.255.255.250:1900\n"
			"man: \"ssdp:discover\"\n"
			"mx: 1\n"
			"st: urn:dial-multiscreen-org:service:dial:1\n"
			"user-agent: Google Chrome/120.0.6099.109 Linux\n"
			"\n",
			&s),
		  SSDP_OK);
	cr_assert_eq(s.kind, SSDP_MSEARCH);
	cr_assert_str_eq(s.st, "urn:dial-multiscreen-org:service:dial:1");
	cr_assert_str_eq(s.user_agent, "Google Chrome/120.0.6099.109 Linux");
	cr_assert_str_eq(s.man, "\"ssdp:discover\"", "quotes are kept: the JSON encoder escapes them");
	cr_assert_str_eq(s.server, "");
	cr_assert_str_eq(s.usn, "");
}

Test(ssdp, a_200_ok_search_response_gives_server_st_and_usn)
{
	struct ssdp_msg s;
	ASSERT_RC(parse("HTTP/1.1 200 OK\r\n"
			"CACHE-CONTROL: max-age=1800\r\n"
			"EXT:\r\n"
			"LOCATION: http://192.168.1.31:1400/xml/device_description.xml\r\n"
			"SERVER: Linux UPnP/1.0 Sonos/70.3-35220 (ZPS1)\r\n"
			"ST: urn:schemas-upnp-org:device:ZonePlayer:1\r\n"
			"USN: uuid:RINCON_000E58A1B2C301400::urn:schemas-upnp-org:device:ZonePlayer:1\r\n"
			"\r\n",
			&s),
		  SSDP_OK);
	cr_assert_eq(s.kind, SSDP_RESPONSE);
	cr_assert_str_eq(s.server, "Linux UPnP/1.0 Sonos/70.3-35220 (ZPS1)");
	cr_assert_str_eq(s.st, "urn:schemas-upnp-org:device:ZonePlayer:1");
	cr_assert_str_eq(s.usn, "uuid:RINCON_000E58A1B2C301400::urn:schemas-upnp-org:device:ZonePlayer:1");
	cr_assert_str_eq(s.location, "http://192.168.1.31:1400/xml/device_description.xml");
	cr_assert_str_eq(s.nts, "");
}

Test(ssdp, http_1_0_and_any_2xx_status_are_accepted)
{
	struct ssdp_msg s;
	ASSERT_RC(parse("NOTIFY * HTTP/1.0\r\nNTS: ssdp:byebye\r\n\r\n", &s), SSDP_OK);
	cr_assert_eq(s.kind, SSDP_NOTIFY);
	cr_assert_str_eq(s.nts, "ssdp:byebye");
	ASSERT_RC(parse("HTTP/1.0 200 OK\r\nST: ssdp:all\r\n\r\n", &s), SSDP_OK);
	cr_assert_eq(s.kind, SSDP_RESPONSE);
	cr_assert_str_eq(s.st, "ssdp:all");
	ASSERT_RC(parse("HTTP/1.1 204\r\n\r\n", &s), SSDP_OK);
	cr_assert_eq(s.kind, SSDP_RESPONSE, "an empty reason phrase");
	ASSERT_RC(parse("M-SEARCH  *\tHTTP/1.1  \r\nST: ssdp:all\r\n\r\n", &s), SSDP_OK);
	cr_assert_eq(s.kind, SSDP_MSEARCH, "runs of whitespace between the parts");
	ASSERT_RC(parse("NOTIFY * HTTP/1.1", &s), SSDP_OK);
	cr_assert_eq(s.kind, SSDP_NOTIFY, "a start line alone");
}

Test(ssdp, garbage_an_http_get_or_a_non_2xx_status_is_not_ssdp)
{
	static const char *const not_ssdp[] = {
		"",
		"\r\n",
		"GET /description.xml HTTP/1.1\r\nHost: 192.168.1.20\r\n\r\n",
		"notify * HTTP/1.1\r\n\r\n",
		"NOTIFY * HTTP/2.0\r\n\r\n",
		"NOTIFY * HTTP/1.2\r\n\r\n",
		"NOTIFY * HTTP/1.1 extra\r\n\r\n",
		"NOTIFY / HTTP/1.1\r\n\r\n",
		"NOTIFY* HTTP/1.1\r\n\r\n",
		"M-SEARCH * HTTP/1.\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	};
	for (size_t i = 0; i < sizeof(not_ssdp) / sizeof(not_ssdp[0]); i++) {
		struct ssdp_msg s;
		ASSERT_RC(parse(not_ssdp[i], &s), SSDP_ERR_NOT_SSDP);
		cr_assert_eq(s.kind, SSDP_UNKNOWN, "case %zu", i);
	}
	struct ssdp_msg s;
	memset(&s, 0xaa, sizeof(s));
	ASSERT_RC(parse_n("\0\0\0\0", 4, &s), SSDP_ERR_NOT_SSDP);
	cr_assert_str_eq(s.server, "", "the output is initialised even when the input is rejected");
	cr_assert_str_eq(s.man, "");
	ASSERT_RC(ssdp_parse(NULL, 0, &s), SSDP_ERR_NOT_SSDP);
}

/* ------------------------------------------------------------------------ */
/* Header lines                                                             */
/* ------------------------------------------------------------------------ */

Test(ssdp, values_and_names_are_trimmed_of_spaces_and_tabs)
{
	struct ssdp_msg s;
	ASSERT_RC(parse("NOTIFY * HTTP/1.1\r\n"
			"Server:\t  Linux/5.4 UPnP/1.0 Roku/12.5  \t\r\n"
			"Nt :upnp:rootdevice\r\n"
			"USN:\r\n"
			"\r\n",
			&s),
		  SSDP_OK);
	cr_assert_str_eq(s.server, "Linux/5.4 UPnP/1.0 Roku/12.5");
	cr_assert_str_eq(s.nt, "upnp:rootdevice", "space before the colon tolerated");
	cr_assert_str_eq(s.usn, "");
}

Test(ssdp, a_header_without_a_colon_or_starting_with_whitespace_is_skipped)
{
	struct ssdp_msg s;
	ASSERT_RC(parse("NOTIFY * HTTP/1.1\r\n"
			"THIS IS NOT A HEADER\r\n"
			"  SERVER: folded-looking\r\n"
			"SERVER: real\r\n"
			"\r\n",
			&s),
		  SSDP_OK);
	cr_assert_str_eq(s.server, "real");
}

Test(ssdp, a_repeated_header_keeps_its_first_value)
{
	struct ssdp_msg s;
	ASSERT_RC(parse("NOTIFY * HTTP/1.1\r\nSERVER: first\r\nserver: second\r\nSERVER:\r\n\r\n", &s), SSDP_OK);
	cr_assert_str_eq(s.server, "first");
}

Test(ssdp, headers_stop_at_the_empty_line)
{
	struct ssdp_msg s;
	ASSERT_RC(parse("NOTIFY * HTTP/1.1\r\nNT: a\r\n\r\nUSN: in-the-body\r\n", &s), SSDP_OK);
	cr_assert_str_eq(s.nt, "a");
	cr_assert_str_eq(s.usn, "");
}

Test(ssdp, values_with_control_bytes_are_sanitised)
{
	static const char msg[] = "NOTIFY * HTTP/1.1\r\n"
				  "SERVER: a\x01" "b\x1b[31mred\xff\\\r\n"
				  "USN: u\0v\r\n"
				  "LOCATION: http://x/\xc3\xa9t\xc3\xa9\r\n"
				  "NT: a\rb\r\n"
				  "\r\n";
	struct ssdp_msg s;
	ASSERT_RC(parse_n(msg, sizeof(msg) - 1, &s), SSDP_OK);
	cr_assert_str_eq(s.server, "a\\x01b\\x1b[31mred\\xff\\x5c");
	cr_assert_str_eq(s.usn, "u\\x00v", "a NUL inside a value does not end it");
	cr_assert_str_eq(s.location, "http://x/\xc3\xa9t\xc3\xa9", "valid UTF-8 is kept");
	cr_assert_str_eq(s.nt, "a\\x0db", "a lone CR is not a line end");
}

Test(ssdp, an_over_long_value_is_cut_at_a_character_boundary)
{
	char msg[2048];
	char big[600];
	struct ssdp_msg s;
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(msg, sizeof(msg), "NOTIFY * HTTP/1.1\r\nSERVER: %s\r\nNT: after\r\n\r\n", big);
	ASSERT_RC(parse(msg, &s), SSDP_OK);
	cr_assert_eq(strlen(s.server), SSDP_TEXT_MAX - 1);
	cr_assert_str_eq(s.nt, "after", "the next field is untouched");

	memset(big, '\x01', 300);
	big[300] = '\0';
	snprintf(msg, sizeof(msg), "NOTIFY * HTTP/1.1\r\nUSN: %s\r\nNT: after\r\n\r\n", big);
	ASSERT_RC(parse(msg, &s), SSDP_OK);
	cr_assert_eq(strlen(s.usn), 252, "63 whole escapes of 4 characters");
	cr_assert_eq(memcmp(s.usn + 248, "\\x01", 4), 0);
	cr_assert_str_eq(s.nt, "after");
}

Test(ssdp, header_lines_are_examined_up_to_the_cap)
{
	char msg[8192];
	struct ssdp_msg s;
	size_t len = build_filled(msg, sizeof(msg), "USN: first\r\n", SSDP_MAX_HEADERS - 2, "SERVER: last\r\n");
	ASSERT_RC(parse_n(msg, len, &s), SSDP_OK);
	cr_assert_str_eq(s.server, "last", "line %d is still examined", SSDP_MAX_HEADERS);

	len = build_filled(msg, sizeof(msg), "USN: first\r\n", SSDP_MAX_HEADERS - 1, "SERVER: past\r\n");
	ASSERT_RC(parse_n(msg, len, &s), SSDP_ERR_FORMAT);
	cr_assert_eq(s.kind, SSDP_NOTIFY);
	cr_assert_str_eq(s.usn, "first", "values before the cap are kept");
	cr_assert_str_eq(s.server, "");
}

Test(ssdp, lines_without_a_colon_count_towards_the_cap)
{
	char msg[8192];
	size_t len = (size_t)snprintf(msg, sizeof(msg), "NOTIFY * HTTP/1.1\r\n");
	for (int i = 0; i < SSDP_MAX_HEADERS; i++)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "junk\r\n");
	len += (size_t)snprintf(msg + len, sizeof(msg) - len, "SERVER: past\r\n\r\n");
	struct ssdp_msg s;
	ASSERT_RC(parse_n(msg, len, &s), SSDP_ERR_FORMAT);
	cr_assert_str_eq(s.server, "");
}

Test(ssdp, a_notify_cut_at_every_byte_never_reads_past_the_end)
{
	struct ssdp_msg full;
	size_t n = strlen(HUE_NOTIFY);
	size_t start_len = strlen("NOTIFY * HTTP/1.1");
	ASSERT_RC(parse(HUE_NOTIFY, &full), SSDP_OK);
	for (size_t cut = 0; cut <= n; cut++) {
		struct ssdp_msg s;
		int rc = parse_n(HUE_NOTIFY, cut, &s);
		cr_assert_eq(rc, cut < start_len ? SSDP_ERR_NOT_SSDP : SSDP_OK, "cut %zu: %s", cut, ssdp_error_name(rc));
		/* A cut value is a prefix of the whole one, never anything else. */
		cr_assert_eq(strncmp(s.server, full.server, strlen(s.server)), 0, "cut %zu: %s", cut, s.server);
		cr_assert_eq(strncmp(s.usn, full.usn, strlen(s.usn)), 0, "cut %zu: %s", cut, s.usn);
		cr_assert_eq(strncmp(s.location, full.location, strlen(s.location)), 0, "cut %zu", cut);
		cr_assert_eq(strncmp(s.nt, full.nt, strlen(s.nt)), 0, "cut %zu", cut);
		cr_assert_eq(strncmp(s.nts, full.nts, strlen(s.nts)), 0, "cut %zu", cut);
	}
}

Test(ssdp, names_of_kinds_and_errors)
{
	cr_assert_str_eq(ssdp_kind_name(SSDP_NOTIFY), "notify");
	cr_assert_str_eq(ssdp_kind_name(SSDP_MSEARCH), "m-search");
	cr_assert_str_eq(ssdp_kind_name(SSDP_RESPONSE), "response");
	cr_assert_str_eq(ssdp_kind_name(SSDP_UNKNOWN), "unknown");
	cr_assert_str_eq(ssdp_kind_name(77), "unknown");
	cr_assert_str_eq(ssdp_error_name(SSDP_OK), "ok");
	cr_assert_str_eq(ssdp_error_name(SSDP_ERR_NOT_SSDP), "not_ssdp");
	cr_assert_str_eq(ssdp_error_name(SSDP_ERR_FORMAT), "format");
	cr_assert_str_eq(ssdp_error_name(5), "unknown");
}
