/*
 * Tests for features/dhcp.c: a DISCOVER and an ACK field by field, the
 * BOOTP header and cookie checks, every truncation point, hostile and
 * over-long option data, pad/end handling, option 81 in both encodings,
 * RFC 3396 concatenation, option overload and the option cap.
 *
 * Messages are built with the small builder below; every parse runs on an
 * exact-size heap copy so that ASan sees any read past the end.
 */
#include "features/dhcp.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "features/ipaddr.h"

/* ------------------------------------------------------------------------ */
/* Builder                                                                  */
/* ------------------------------------------------------------------------ */

#define DM_MAX 2048
#define DM_HDR_LEN 236
#define DM_SNAME_OFF 44
#define DM_FILE_OFF 108

struct dm {
	uint8_t b[DM_MAX];
	size_t len;
	size_t starts[512]; /* where each option (pad and end included) begins */
	size_t n_starts;
};

struct dm_hdr {
	uint8_t op, htype, hlen;
	uint32_t xid;
	uint8_t chaddr[16];
	uint8_t ciaddr[4], yiaddr[4];
};

static const uint8_t PLUG_MAC[6] = {0xd8, 0x1f, 0x12, 0x13, 0x8a, 0xc7};
static const uint8_t COOKIE[4] = {99, 130, 83, 99};

static void dm_put(struct dm *m, const void *data, size_t n)
{
	cr_assert_leq(m->len + n, DM_MAX, "test message too long");
	if (n > 0)
		memcpy(m->b + m->len, data, n);
	m->len += n;
}

static void dm_u8(struct dm *m, uint8_t v)
{
	cr_assert_lt(m->n_starts, 512);
	m->starts[m->n_starts++] = m->len;
	dm_put(m, &v, 1);
}

/* The 236-byte BOOTP header; sname and file left zero. */
static void dm_header(struct dm *m, const struct dm_hdr *h)
{
	uint8_t b[DM_HDR_LEN] = {0};
	b[0] = h->op;
	b[1] = h->htype;
	b[2] = h->hlen;
	b[4] = (uint8_t)(h->xid >> 24);
	b[5] = (uint8_t)(h->xid >> 16);
	b[6] = (uint8_t)(h->xid >> 8);
	b[7] = (uint8_t)h->xid;
	memcpy(b + 12, h->ciaddr, 4);
	memcpy(b + 16, h->yiaddr, 4);
	memcpy(b + 28, h->chaddr, 16);
	m->len = 0;
	m->n_starts = 0;
	dm_put(m, b, sizeof(b));
}

static void dm_init(struct dm *m, uint8_t op, uint32_t xid)
{
	struct dm_hdr h = {.op = op, .htype = 1, .hlen = 6, .xid = xid};
	memcpy(h.chaddr, PLUG_MAC, 6);
	dm_header(m, &h);
	dm_put(m, COOKIE, 4);
}

static void dm_opt(struct dm *m, uint8_t code, const void *data, size_t n)
{
	cr_assert_leq(n, 255);
	dm_u8(m, code);
	uint8_t len = (uint8_t)n;
	dm_put(m, &len, 1);
	dm_put(m, data, n);
}

static void dm_str(struct dm *m, uint8_t code, const char *s)
{
	dm_opt(m, code, s, strlen(s));
}

/* Writes raw option bytes into the sname (64) or file (128) field. */
static void dm_area(struct dm *m, size_t off, const void *data, size_t n)
{
	memcpy(m->b + off, data, n);
}

/* Parses the first len bytes from an exact-size heap copy. */
static int parse_n(const struct dm *m, size_t len, struct dhcp_msg *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	cr_assert_not_null(copy);
	memcpy(copy, m->b, len);
	int rc = dhcp_parse(copy, len, out);
	free(copy);
	return rc;
}

static int parse(const struct dm *m, struct dhcp_msg *out)
{
	return parse_n(m, m->len, out);
}

#define ASSERT_RC(got, want)                                                                             \
	do {                                                                                             \
		int got_ = (got), want_ = (want);                                                        \
		cr_assert_eq(got_, want_, "result %s, want %s", dhcp_error_name(got_), dhcp_error_name(want_)); \
	} while (0)

static void assert_v4(const struct ip_addr *got, uint8_t a, uint8_t b, uint8_t c, uint8_t d, const char *what)
{
	struct ip_addr want;
	char g[IP_STRLEN], w[IP_STRLEN];
	ip_from_v4(&want, (const uint8_t[4]){a, b, c, d});
	cr_assert(ip_equal(got, &want), "%s is %s, want %s", what, ip_format(got, g, sizeof(g)),
		  ip_format(&want, w, sizeof(w)));
}

/* The DISCOVER of a udhcpc-based smart plug. */
static void build_discover(struct dm *m)
{
	dm_init(m, 1, 0x3903f326);
	dm_opt(m, 53, (const uint8_t[]){1}, 1);
	dm_opt(m, 61, (const uint8_t[]){0x01, 0xd8, 0x1f, 0x12, 0x13, 0x8a, 0xc7}, 7);
	dm_opt(m, 50, (const uint8_t[]){192, 168, 1, 57}, 4);
	dm_str(m, 12, "SmartPlug-5B1E");
	dm_str(m, 60, "udhcp 1.24.2");
	dm_opt(m, 55, (const uint8_t[]){1, 3, 6, 15, 28, 42}, 6);
	dm_opt(m, 57, (const uint8_t[]){0x02, 0x40}, 2);
	dm_u8(m, 255);
}

/* ------------------------------------------------------------------------ */
/* Whole messages                                                           */
/* ------------------------------------------------------------------------ */

Test(dhcp, a_discover_gives_every_identity_field_exactly)
{
	struct dm m;
	struct dhcp_msg d;
	build_discover(&m);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_eq(d.op, 1);
	cr_assert_eq(d.msg_type, DHCP_DISCOVER);
	cr_assert_str_eq(dhcp_msg_type_name(d.msg_type), "DISCOVER");
	cr_assert_eq(d.xid, 0x3903f326);
	cr_assert(d.has_chaddr);
	cr_assert_arr_eq(d.chaddr, PLUG_MAC, 6);
	assert_v4(&d.ciaddr, 0, 0, 0, 0, "ciaddr");
	assert_v4(&d.yiaddr, 0, 0, 0, 0, "yiaddr");
	cr_assert(d.has_requested_ip);
	assert_v4(&d.requested_ip, 192, 168, 1, 57, "requested_ip");
	cr_assert_str_eq(d.hostname, "SmartPlug-5B1E");
	cr_assert_str_eq(d.vendor_class, "udhcp 1.24.2");
	cr_assert_str_eq(d.param_list, "1,3,6,15,28,42");
	cr_assert_str_eq(d.client_id, "01:d8:1f:12:13:8a:c7");
	cr_assert_str_eq(d.fqdn, "");
	cr_assert_eq(d.max_msg_size, 576);
}

Test(dhcp, an_ack_from_the_server_gives_op_yiaddr_and_type)
{
	struct dm m;
	struct dhcp_msg d;
	struct dm_hdr h = {.op = 2, .htype = 1, .hlen = 6, .xid = 0x3903f326, .yiaddr = {192, 168, 1, 57}};
	memcpy(h.chaddr, PLUG_MAC, 6);
	dm_header(&m, &h);
	dm_put(&m, COOKIE, 4);
	dm_opt(&m, 53, (const uint8_t[]){5}, 1);
	dm_opt(&m, 54, (const uint8_t[]){192, 168, 1, 1}, 4);
	dm_opt(&m, 51, (const uint8_t[]){0, 0, 0x0e, 0x10}, 4);
	dm_opt(&m, 1, (const uint8_t[]){255, 255, 255, 0}, 4);
	dm_opt(&m, 3, (const uint8_t[]){192, 168, 1, 1}, 4);
	dm_u8(&m, 255);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_eq(d.op, 2);
	cr_assert_eq(d.msg_type, DHCP_ACK);
	cr_assert_str_eq(dhcp_msg_type_name(d.msg_type), "ACK");
	cr_assert_eq(d.xid, 0x3903f326);
	assert_v4(&d.yiaddr, 192, 168, 1, 57, "yiaddr");
	assert_v4(&d.ciaddr, 0, 0, 0, 0, "ciaddr");
	cr_assert_not(d.has_requested_ip, "option 54 (server id) is not 50");
	cr_assert_str_eq(d.hostname, "");
	cr_assert_str_eq(d.param_list, "");
	cr_assert_eq(d.max_msg_size, 0);
}

Test(dhcp, a_bootp_message_without_the_magic_cookie_is_not_dhcp_and_keeps_its_header)
{
	struct dm m;
	struct dhcp_msg d;
	struct dm_hdr h = {.op = 1, .htype = 1, .hlen = 6, .xid = 42, .ciaddr = {10, 0, 0, 9}};
	memcpy(h.chaddr, PLUG_MAC, 6);
	dm_header(&m, &h);
	uint8_t vend[64] = {0}; /* RFC 951 vendor area, no cookie */
	dm_put(&m, vend, sizeof(vend));
	ASSERT_RC(parse(&m, &d), DHCP_ERR_NOT_DHCP);
	cr_assert_eq(d.xid, 42);
	cr_assert(d.has_chaddr);
	cr_assert_arr_eq(d.chaddr, PLUG_MAC, 6);
	assert_v4(&d.ciaddr, 10, 0, 0, 9, "ciaddr");

	build_discover(&m);
	m.b[DM_HDR_LEN + 3] = 98; /* 99.130.83.98 */
	ASSERT_RC(parse(&m, &d), DHCP_ERR_NOT_DHCP);
	cr_assert_eq(d.msg_type, 0, "no option is read after a wrong cookie");
	cr_assert_str_eq(d.hostname, "");
}

Test(dhcp, a_cut_inside_the_cookie_is_truncated_unless_a_byte_is_already_wrong)
{
	struct dm m;
	struct dhcp_msg d;
	build_discover(&m);
	ASSERT_RC(parse_n(&m, DM_HDR_LEN + 2, &d), DHCP_ERR_TRUNCATED);
	m.b[DM_HDR_LEN + 1] = 0;
	ASSERT_RC(parse_n(&m, DM_HDR_LEN + 2, &d), DHCP_ERR_NOT_DHCP);
}

Test(dhcp, a_message_shorter_than_the_bootp_header_is_truncated_and_keeps_what_came_first)
{
	struct dm m;
	struct dhcp_msg d;
	build_discover(&m);
	ASSERT_RC(parse_n(&m, DM_HDR_LEN - 1, &d), DHCP_ERR_TRUNCATED);
	cr_assert_eq(d.op, 1);
	cr_assert_eq(d.xid, 0x3903f326);
	cr_assert(d.has_chaddr, "chaddr ends at byte 44, before the cut");
	cr_assert_eq(d.msg_type, 0);

	ASSERT_RC(parse_n(&m, 10, &d), DHCP_ERR_TRUNCATED);
	cr_assert_eq(d.xid, 0x3903f326);
	cr_assert_not(d.has_chaddr);
}

Test(dhcp, empty_input_is_truncated_and_the_output_is_initialised)
{
	struct dhcp_msg d;
	memset(&d, 0xaa, sizeof(d));
	ASSERT_RC(dhcp_parse(NULL, 0, &d), DHCP_ERR_TRUNCATED);
	cr_assert_eq(d.op, 0);
	cr_assert_eq(d.xid, 0);
	cr_assert_not(d.has_chaddr);
	cr_assert_not(d.has_requested_ip);
	assert_v4(&d.ciaddr, 0, 0, 0, 0, "ciaddr");
	assert_v4(&d.yiaddr, 0, 0, 0, 0, "yiaddr");
	assert_v4(&d.requested_ip, 0, 0, 0, 0, "requested_ip");
	cr_assert_str_eq(d.hostname, "");
	cr_assert_str_eq(d.vendor_class, "");
	cr_assert_str_eq(d.param_list, "");
	cr_assert_str_eq(d.client_id, "");
	cr_assert_str_eq(d.fqdn, "");
	cr_assert_eq(d.max_msg_size, 0);
}

Test(dhcp, op_other_than_request_or_reply_is_a_format_error)
{
	struct dm m;
	struct dhcp_msg d;
	build_discover(&m);
	m.b[0] = 3;
	ASSERT_RC(parse(&m, &d), DHCP_ERR_FORMAT);
	cr_assert_eq(d.xid, 0x3903f326, "the header before the fault is kept");
}

Test(dhcp, chaddr_is_given_only_for_ethernet_with_six_byte_addresses)
{
	struct dm m;
	struct dhcp_msg d;
	build_discover(&m);
	m.b[1] = 6; /* IEEE 802 */
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_not(d.has_chaddr);
	build_discover(&m);
	m.b[2] = 16;
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_not(d.has_chaddr);
}

/* ------------------------------------------------------------------------ */
/* Truncation                                                               */
/* ------------------------------------------------------------------------ */

Test(dhcp, an_option_running_past_the_end_is_truncated_and_earlier_options_are_kept)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 7);
	dm_opt(&m, 53, (const uint8_t[]){1}, 1);
	dm_str(&m, 12, "cam");
	dm_u8(&m, 60);
	dm_u8(&m, 20); /* says 20 bytes ... */
	dm_put(&m, "udhcp", 5); /* ... holds 5 */
	ASSERT_RC(parse(&m, &d), DHCP_ERR_TRUNCATED);
	cr_assert_eq(d.msg_type, DHCP_DISCOVER);
	cr_assert_str_eq(d.hostname, "cam");
	cr_assert_str_eq(d.vendor_class, "", "an incomplete option is not kept in part");

	dm_init(&m, 1, 7);
	dm_str(&m, 12, "cam");
	dm_u8(&m, 60); /* a code with no length byte */
	ASSERT_RC(parse(&m, &d), DHCP_ERR_TRUNCATED);
	cr_assert_str_eq(d.hostname, "cam");
}

Test(dhcp, a_discover_cut_at_every_length_never_reads_past_the_end)
{
	struct dm m;
	build_discover(&m);
	for (size_t cut = 0; cut <= m.len; cut++) {
		struct dhcp_msg d;
		int rc = parse_n(&m, cut, &d);
		bool at_start = cut == m.len;
		for (size_t i = 0; i < m.n_starts; i++)
			at_start = at_start || m.starts[i] == cut;
		if (cut < DM_HDR_LEN + 4)
			cr_assert_eq(rc, DHCP_ERR_TRUNCATED, "cut %zu: %s", cut, dhcp_error_name(rc));
		else if (cut == DM_HDR_LEN + 4 || at_start)
			cr_assert_eq(rc, DHCP_OK, "cut %zu between options: %s", cut, dhcp_error_name(rc));
		else
			cr_assert_eq(rc, DHCP_ERR_TRUNCATED, "cut %zu inside an option: %s", cut, dhcp_error_name(rc));
		if (cut >= 8)
			cr_assert_eq(d.xid, 0x3903f326, "cut %zu", cut);
		/* Options are kept whole or not at all. */
		cr_assert(d.hostname[0] == '\0' || strcmp(d.hostname, "SmartPlug-5B1E") == 0, "cut %zu: %s", cut,
			  d.hostname);
		cr_assert(d.param_list[0] == '\0' || strcmp(d.param_list, "1,3,6,15,28,42") == 0, "cut %zu", cut);
	}
}

/* ------------------------------------------------------------------------ */
/* Hostile and long option data                                             */
/* ------------------------------------------------------------------------ */

Test(dhcp, hostile_hostname_bytes_become_exact_sanitised_text)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	static const char evil[] = "a\x01" "b\"c\\d\xff\xc3(\x1b[2J\xe2\x82\xac\n";
	dm_opt(&m, 12, evil, sizeof(evil) - 1);
	dm_opt(&m, 60, "MSFT\0005.0", 8);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_str_eq(d.hostname, "a\\x01b\"c\\x5cd\\xff\\xc3(\\x1b[2J\xe2\x82\xac\\x0a");
	cr_assert_str_eq(d.vendor_class, "MSFT\\x005.0", "a NUL does not end the text");
}

Test(dhcp, a_255_byte_hostname_is_kept_and_its_escaped_form_is_cut_safely)
{
	struct dm m;
	struct dhcp_msg d;
	char name[255];
	memset(name, 'h', sizeof(name));
	dm_init(&m, 1, 1);
	dm_opt(&m, 12, name, sizeof(name));
	dm_str(&m, 60, "after");
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_eq(strlen(d.hostname), 255);
	cr_assert_eq(memcmp(d.hostname, name, 255), 0);
	cr_assert_str_eq(d.vendor_class, "after");

	memset(name, 0x07, sizeof(name)); /* each byte escapes to 4 characters */
	dm_init(&m, 1, 1);
	dm_opt(&m, 12, name, sizeof(name));
	dm_str(&m, 60, "after");
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_eq(strlen(d.hostname), 252, "63 whole escapes fit in 255 characters");
	for (size_t i = 0; i < 252; i += 4)
		cr_assert_eq(memcmp(d.hostname + i, "\\x07", 4), 0, "escape at %zu", i);
	cr_assert_str_eq(d.vendor_class, "after", "the next field is untouched");
}

Test(dhcp, a_long_client_id_is_cut_between_hex_bytes)
{
	struct dm m;
	struct dhcp_msg d;
	uint8_t id[255];
	memset(id, 0xab, sizeof(id));
	dm_init(&m, 1, 1);
	dm_opt(&m, 61, id, sizeof(id));
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	size_t n = strlen(d.client_id);
	cr_assert_eq(n, 254, "85 bytes: \"ab\" and 84 \":ab\"");
	cr_assert_eq(n % 3, 2);
	cr_assert_eq(memcmp(d.client_id + n - 3, ":ab", 3), 0);
}

Test(dhcp, a_long_parameter_list_is_cut_between_codes)
{
	struct dm m;
	struct dhcp_msg d;
	uint8_t codes[255];
	memset(codes, 200, sizeof(codes));
	dm_init(&m, 1, 1);
	dm_opt(&m, 55, codes, sizeof(codes));
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_eq(strlen(d.param_list), 255, "\"200\" and 63 \",200\"");
	cr_assert_eq(memcmp(d.param_list + 251, ",200", 4), 0);
	codes[0] = 0;
	codes[1] = 9;
	codes[2] = 99;
	dm_init(&m, 1, 1);
	dm_opt(&m, 55, codes, 3);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_str_eq(d.param_list, "0,9,99");
}

/* ------------------------------------------------------------------------ */
/* Pad, end, fixed-size options                                             */
/* ------------------------------------------------------------------------ */

Test(dhcp, pad_options_between_options_and_a_missing_end_option_are_tolerated)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_u8(&m, 0);
	dm_u8(&m, 0);
	dm_opt(&m, 53, (const uint8_t[]){3}, 1);
	dm_u8(&m, 0);
	dm_str(&m, 12, "thermostat");
	dm_u8(&m, 0);
	dm_u8(&m, 0);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_eq(d.msg_type, DHCP_REQUEST);
	cr_assert_str_eq(d.hostname, "thermostat");
}

Test(dhcp, nothing_after_the_end_option_is_read)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_opt(&m, 53, (const uint8_t[]){1}, 1);
	dm_u8(&m, 255);
	dm_str(&m, 12, "hidden");
	dm_u8(&m, 60);
	dm_u8(&m, 200); /* would be truncated if it were read */
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_str_eq(d.hostname, "");
}

Test(dhcp, a_fixed_size_option_with_the_wrong_length_is_a_format_error)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_str(&m, 12, "before");
	dm_opt(&m, 53, (const uint8_t[]){1, 1}, 2);
	dm_str(&m, 60, "after");
	ASSERT_RC(parse(&m, &d), DHCP_ERR_FORMAT);
	cr_assert_str_eq(d.hostname, "before");
	cr_assert_str_eq(d.vendor_class, "", "parsing stops at the fault");

	dm_init(&m, 1, 1);
	dm_opt(&m, 50, (const uint8_t[]){10, 0, 0}, 3);
	ASSERT_RC(parse(&m, &d), DHCP_ERR_FORMAT);
	cr_assert_not(d.has_requested_ip);

	dm_init(&m, 1, 1);
	dm_opt(&m, 57, (const uint8_t[]){2}, 1);
	ASSERT_RC(parse(&m, &d), DHCP_ERR_FORMAT);
}

Test(dhcp, more_than_the_option_cap_is_a_format_error_with_earlier_fields_kept)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_opt(&m, 53, (const uint8_t[]){1}, 1);
	dm_str(&m, 12, "flood");
	for (int i = 2; i < DHCP_MAX_OPTIONS; i++) {
		dm_u8(&m, 0); /* pads are not counted */
		dm_opt(&m, 224, NULL, 0); /* site-specific, empty */
	}
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	dm_str(&m, 60, "one too many");
	ASSERT_RC(parse(&m, &d), DHCP_ERR_FORMAT);
	cr_assert_eq(d.msg_type, DHCP_DISCOVER);
	cr_assert_str_eq(d.hostname, "flood");
	cr_assert_str_eq(d.vendor_class, "");
}

/* ------------------------------------------------------------------------ */
/* Option 81                                                                */
/* ------------------------------------------------------------------------ */

Test(dhcp, fqdn_in_ascii_form_is_kept_as_text)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_opt(&m, 81, "\x00\x00\x00" "printer.home.arpa", 3 + 17);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_str_eq(d.fqdn, "printer.home.arpa");

	dm_init(&m, 1, 1);
	dm_opt(&m, 81, "\x01\xff\xff" "nas.lan\0", 3 + 8);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_str_eq(d.fqdn, "nas.lan", "a C-style trailing NUL is dropped");
}

Test(dhcp, fqdn_in_wire_form_is_decoded_label_by_label)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_opt(&m, 81, "\x05\x00\x00" "\x07" "DESKTOP" "\x04" "corp" "\x07" "example" "\x00", 3 + 22);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_str_eq(d.fqdn, "DESKTOP.corp.example");

	dm_init(&m, 1, 1);
	dm_opt(&m, 81, "\x04\x00\x00" "\x04" "cam1", 3 + 5);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_str_eq(d.fqdn, "cam1", "a partial name (no root label) is allowed");
}

Test(dhcp, a_dot_or_control_byte_inside_a_wire_label_is_escaped)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_opt(&m, 81, "\x04\x00\x00" "\x03" "a.b" "\x03" "c\nd" "\x00", 3 + 9);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_str_eq(d.fqdn, "a\\x2eb.c\\x0ad");
}

Test(dhcp, a_malformed_wire_fqdn_is_a_format_error_with_its_first_labels_kept)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_opt(&m, 81, "\x04\x00\x00" "\x04" "host" "\xc0\x0c", 3 + 7);
	ASSERT_RC(parse(&m, &d), DHCP_ERR_FORMAT);
	cr_assert_str_eq(d.fqdn, "host", "compression is forbidden (RFC 4702 2.3.1)");

	dm_init(&m, 1, 1);
	dm_opt(&m, 81, "\x04\x00\x00" "\x04" "host" "\x09" "lan", 3 + 9);
	ASSERT_RC(parse(&m, &d), DHCP_ERR_FORMAT);
	cr_assert_str_eq(d.fqdn, "host", "a label running past the option");

	uint8_t long_label[3 + 1 + 64 + 1] = {0x04, 0, 0, 64};
	memset(long_label + 4, 'x', 64);
	dm_init(&m, 1, 1);
	dm_opt(&m, 81, long_label, sizeof(long_label));
	ASSERT_RC(parse(&m, &d), DHCP_ERR_FORMAT);
	cr_assert_str_eq(d.fqdn, "", "labels are at most 63 bytes; 64 and up are other label types");

	dm_init(&m, 1, 1);
	dm_opt(&m, 81, "\x04\x00", 2);
	ASSERT_RC(parse(&m, &d), DHCP_ERR_FORMAT);
	cr_assert_str_eq(d.fqdn, "");
}

Test(dhcp, a_wire_fqdn_split_over_more_data_than_is_kept_is_cut_not_malformed)
{
	struct dm m;
	struct dhcp_msg d;
	uint8_t wire[3 + 12 * 64] = {0x04, 0, 0};
	for (size_t i = 0; i < 12; i++) {
		wire[3 + 64 * i] = 63;
		memset(wire + 3 + 64 * i + 1, 'a' + (int)i, 63);
	}
	dm_init(&m, 1, 1);
	for (size_t off = 0; off < sizeof(wire); off += 255) /* RFC 3396: split into 255-byte parts */
		dm_opt(&m, 81, wire + off, sizeof(wire) - off < 255 ? sizeof(wire) - off : 255);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_eq(strlen(d.fqdn), 4 * 63 + 3, "four whole labels fit in 255 characters");
	cr_assert_eq(d.fqdn[63], '.');
	cr_assert_eq(d.fqdn[64], 'b');
	cr_assert_eq(d.fqdn[254], 'd');
}

/* ------------------------------------------------------------------------ */
/* Repeated options (RFC 3396) and overload (option 52)                     */
/* ------------------------------------------------------------------------ */

Test(dhcp, repeated_text_options_are_concatenated_in_order)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_str(&m, 12, "Smart");
	dm_opt(&m, 55, (const uint8_t[]){1, 3}, 2);
	dm_opt(&m, 61, (const uint8_t[]){0x01, 0xd8}, 2);
	dm_str(&m, 12, "Plug");
	dm_opt(&m, 55, (const uint8_t[]){6}, 1);
	dm_opt(&m, 61, (const uint8_t[]){0x1f}, 1);
	dm_opt(&m, 81, "\x04\x00\x00" "\x04" "ho", 3 + 3);
	dm_opt(&m, 81, "st" "\x00", 3);
	dm_u8(&m, 255);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_str_eq(d.hostname, "SmartPlug");
	cr_assert_str_eq(d.param_list, "1,3,6");
	cr_assert_str_eq(d.client_id, "01:d8:1f");
	cr_assert_str_eq(d.fqdn, "host", "a label split between two instances");
}

Test(dhcp, repeated_fixed_size_options_keep_their_first_value)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_opt(&m, 53, (const uint8_t[]){DHCP_DISCOVER}, 1);
	dm_opt(&m, 50, (const uint8_t[]){192, 168, 1, 57}, 4);
	dm_opt(&m, 57, (const uint8_t[]){0x05, 0xdc}, 2);
	dm_opt(&m, 53, (const uint8_t[]){DHCP_RELEASE}, 1);
	dm_opt(&m, 50, (const uint8_t[]){10, 0, 0, 1}, 4);
	dm_opt(&m, 57, (const uint8_t[]){0x02, 0x40}, 2);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_eq(d.msg_type, DHCP_DISCOVER);
	assert_v4(&d.requested_ip, 192, 168, 1, 57, "requested_ip");
	cr_assert_eq(d.max_msg_size, 1500);
}

Test(dhcp, overloaded_file_and_sname_fields_are_parsed_after_the_options_in_rfc_3396_order)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_opt(&m, 52, (const uint8_t[]){3}, 1);
	dm_opt(&m, 53, (const uint8_t[]){1}, 1);
	dm_str(&m, 12, "Smart");
	dm_u8(&m, 255);
	dm_area(&m, DM_FILE_OFF, "\x0c\x04" "Plug" "\x00\x00" "\xff", 9);
	dm_area(&m, DM_SNAME_OFF, "\x0c\x05" "-5B1E" "\x3c\x03" "lwp" "\xff", 13);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_str_eq(d.hostname, "SmartPlug-5B1E", "options, then file, then sname");
	cr_assert_str_eq(d.vendor_class, "lwp");
}

Test(dhcp, file_and_sname_are_not_read_as_options_without_option_52)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_opt(&m, 53, (const uint8_t[]){1}, 1);
	dm_u8(&m, 255);
	dm_area(&m, DM_FILE_OFF, "\x0c\x04" "boot", 6);
	dm_area(&m, DM_SNAME_OFF, "\x0c\x04" "srvr", 6);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_str_eq(d.hostname, "");

	dm_init(&m, 1, 1);
	dm_opt(&m, 52, (const uint8_t[]){1}, 1); /* file only */
	dm_area(&m, DM_FILE_OFF, "\x0c\x04" "boot", 6);
	dm_area(&m, DM_SNAME_OFF, "\x0c\x04" "srvr", 6);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_str_eq(d.hostname, "boot", "file is parsed, sname is not");
}

Test(dhcp, option_52_inside_an_overloaded_field_is_ignored)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_opt(&m, 52, (const uint8_t[]){1}, 1);
	dm_area(&m, DM_FILE_OFF, "\x34\x01\x02" "\x0c\x03" "cam" "\xff", 9);
	dm_area(&m, DM_SNAME_OFF, "\x0c\x04" "evil", 6);
	ASSERT_RC(parse(&m, &d), DHCP_OK);
	cr_assert_str_eq(d.hostname, "cam", "sname stays unread");
}

Test(dhcp, a_bad_overload_value_or_an_option_past_an_overloaded_field_is_a_format_error)
{
	struct dm m;
	struct dhcp_msg d;
	dm_init(&m, 1, 1);
	dm_opt(&m, 52, (const uint8_t[]){4}, 1);
	ASSERT_RC(parse(&m, &d), DHCP_ERR_FORMAT);

	dm_init(&m, 1, 1);
	dm_opt(&m, 52, (const uint8_t[]){2}, 1);
	dm_str(&m, 12, "kept");
	/* sname is 64 bytes; an option at its last two bytes claims 10 */
	dm_area(&m, DM_SNAME_OFF + 62, "\x3c\x0a", 2);
	ASSERT_RC(parse(&m, &d), DHCP_ERR_FORMAT);
	cr_assert_str_eq(d.hostname, "kept");
	cr_assert_str_eq(d.vendor_class, "", "nothing is read past sname into file");
}

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

Test(dhcp, names_of_message_types_and_errors)
{
	cr_assert_str_eq(dhcp_msg_type_name(0), "none");
	cr_assert_str_eq(dhcp_msg_type_name(1), "DISCOVER");
	cr_assert_str_eq(dhcp_msg_type_name(2), "OFFER");
	cr_assert_str_eq(dhcp_msg_type_name(3), "REQUEST");
	cr_assert_str_eq(dhcp_msg_type_name(6), "NAK");
	cr_assert_str_eq(dhcp_msg_type_name(8), "INFORM");
	cr_assert_str_eq(dhcp_msg_type_name(18), "TLS");
	cr_assert_str_eq(dhcp_msg_type_name(19), "unknown");
	cr_assert_str_eq(dhcp_msg_type_name(255), "unknown");
	cr_assert_str_eq(dhcp_error_name(DHCP_OK), "ok");
	cr_assert_str_eq(dhcp_error_name(DHCP_ERR_TRUNCATED), "truncated");
	cr_assert_str_eq(dhcp_error_name(DHCP_ERR_FORMAT), "format");
	cr_assert_str_eq(dhcp_error_name(DHCP_ERR_NOT_DHCP), "not_dhcp");
	cr_assert_str_eq(dhcp_error_name(-99), "unknown");
}
