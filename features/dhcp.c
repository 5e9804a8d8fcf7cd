/*
 * dhcp — see dhcp.h for the contract.
 *
 * Design. The fixed BOOTP header is read field by field through one cursor,
 * so a message cut anywhere keeps what came before the cut. The options are
 * walked in up to three areas, each with its own cursor: the options field,
 * then (when option 52 says so) file, then sname — the order RFC 3396
 * section 7 fixes for concatenation. Text options are not rendered as they
 * are met: their data is gathered into small raw buffers and rendered once
 * at the end, so repeated options concatenate and the rendering (hex, decimal
 * list, labels) runs once per field, whatever the message holds.
 *
 * Choices, and what was rejected:
 *   - Repeated 12/55/60/61/81 are concatenated (RFC 3396: a client may split
 *     an option longer than 255 bytes, and the receiver must join the parts).
 *     Keeping only the first instance was rejected: it would show half of a
 *     long, legitimately split client identifier or FQDN. A fixed-size option
 *     (50, 52, 53, 57) cannot be split, so its first instance is kept and a
 *     later one can not overwrite an identity already seen.
 *   - Option overload is followed rather than ignored: a client that moves
 *     its hostname into the file field would otherwise hide it from us,
 *     which is exactly what evasive code would do. The file and sname areas
 *     have a fixed size, so an option running past their end is malformed
 *     (DHCP_ERR_FORMAT), not truncated. Option 52 found inside those areas
 *     is ignored (RFC 2131 section 4.1 allows it only in the options field),
 *     which also rules out loops.
 *   - More than DHCP_MAX_OPTIONS options stop the walk with DHCP_ERR_FORMAT
 *     instead of being silently skipped: no real stack sends that many, so
 *     the anomaly is worth reporting, and the fields decoded so far are kept.
 *     Pad options are not counted: they carry nothing and the walk is
 *     bounded by the message length anyway.
 *   - A missing end option is tolerated: many embedded stacks omit it.
 */
#include "features/dhcp.h"

#include <string.h>

#include "features/cursor.h"
#include "features/text.h"

/*
 * The BOOTP header (RFC 951, RFC 2131 section 2), 236 bytes, then the magic
 * cookie (RFC 2131 section 3, RFC 2132 section 2) and the options:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------+---------------+---------------+---------------+
 *  |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |
 *  +---------------+---------------+---------------+---------------+
 *  |                            xid (4)                            |
 *  +-------------------------------+-------------------------------+
 *  |           secs (2)            |           flags (2)           |
 *  +-------------------------------+-------------------------------+
 *  |                          ciaddr  (4)                          |
 *  +---------------------------------------------------------------+
 *  |                          yiaddr  (4)                          |
 *  +---------------------------------------------------------------+
 *  |                          siaddr  (4)                          |
 *  +---------------------------------------------------------------+
 *  |                          giaddr  (4)                          |
 *  +---------------------------------------------------------------+
 *  |                          chaddr  (16)                         |
 *  +---------------------------------------------------------------+
 *  |                          sname   (64)                         |
 *  +---------------------------------------------------------------+
 *  |                          file    (128)                        |
 *  +---------------------------------------------------------------+
 *  |                 magic cookie 99.130.83.99 (4)                 |
 *  +---------------------------------------------------------------+
 *  |                          options (variable)                   |
 *  +---------------------------------------------------------------+
 *
 * Options (RFC 2132 section 2): pad (0) and end (255) are one byte; every
 * other option is code (1), len (1), len bytes of data.
 */

#define CHADDR_LEN 16
#define SNAME_LEN 64
#define FILE_LEN 128

#define HTYPE_ETHERNET 1 /* RFC 1700 ARP hardware types */
#define ETH_ALEN 6

#define BOOTREQUEST 1
#define BOOTREPLY 2

static const uint8_t MAGIC_COOKIE[4] = {99, 130, 83, 99};

#define OPT_PAD 0
#define OPT_HOSTNAME 12
#define OPT_REQUESTED_IP 50
#define OPT_OVERLOAD 52
#define OPT_MSG_TYPE 53
#define OPT_PARAM_LIST 55
#define OPT_MAX_MSG_SIZE 57
#define OPT_VENDOR_CLASS 60
#define OPT_CLIENT_ID 61
#define OPT_FQDN 81
#define OPT_END 255

/* Option 52 values (RFC 2132 section 9.3): a bit set per overloaded field. */
#define OVERLOAD_FILE 1
#define OVERLOAD_SNAME 2

/* RFC 4702 section 2.1: flag E, the domain name is in DNS wire form. */
#define FQDN_FLAG_E 0x04
#define FQDN_HDR_LEN 3 /* flags, rcode1, rcode2 */
#define DNS_LABEL_MAX 63

/* Why twice the text size: every raw byte of these options yields at least
 * one character of text (a domain name's length bytes a '.'), so bytes past
 * DHCP_TEXT_MAX could never be shown; the margin covers option 81's three
 * header bytes, and five such buffers are still small on the stack. */
#define RAW_MAX (2 * DHCP_TEXT_MAX)

struct raw_opt {
	uint8_t b[RAW_MAX];
	size_t len;
	bool cut; /* more data arrived than RAW_MAX holds */
};

static void strip_trailing_nuls(struct raw_opt *r)
{
	while (r->len > 0 && r->b[r->len - 1] == 0)
		r->len--;
}

enum raw_slot { RAW_HOSTNAME, RAW_VENDOR_CLASS, RAW_PARAM_LIST, RAW_CLIENT_ID, RAW_FQDN, RAW_COUNT };

enum area { AREA_OPTIONS, AREA_FILE, AREA_SNAME };

struct dhcp_state {
	struct dhcp_msg *out;
	struct raw_opt raw[RAW_COUNT];
	size_t n_opts;
	uint8_t overload; /* OVERLOAD_* bits from option 52 */
	bool seen_overload, seen_msg_type, seen_max_msg_size;
};

/* ------------------------------------------------------------------------ */
/* Rendering into fixed text buffers                                        */
/* ------------------------------------------------------------------------ */

/* Decimal codes joined by ',' — the form fingerprint databases use. */
static void render_param_list(char *dst, size_t cap, const struct raw_opt *r)
{
	struct text_buf tb;
	text_buf_init(&tb, dst, cap);
	for (size_t i = 0; i < r->len; i++) {
		char piece[5]; /* ',' and up to three digits */
		size_t n = 0;
		uint8_t v = r->b[i];
		if (i > 0)
			piece[n++] = ',';
		if (v >= 100)
			piece[n++] = (char)('0' + v / 100);
		if (v >= 10)
			piece[n++] = (char)('0' + v / 10 % 10);
		piece[n++] = (char)('0' + v % 10);
		if (!text_buf_put(&tb, piece, n))
			return;
	}
}

/* Lower-case hex bytes joined by ':', the type byte first (RFC 2132 9.14). */
static void render_hex(char *dst, size_t cap, const struct raw_opt *r)
{
	static const char hex[] = "0123456789abcdef";
	struct text_buf tb;
	text_buf_init(&tb, dst, cap);
	for (size_t i = 0; i < r->len; i++) {
		char piece[3];
		size_t n = 0;
		if (i > 0)
			piece[n++] = ':';
		piece[n++] = hex[r->b[i] >> 4];
		piece[n++] = hex[r->b[i] & 15];
		if (!text_buf_put(&tb, piece, n))
			return;
	}
}

/*
 * Option 81 (RFC 4702 section 2): flags, rcode1, rcode2, then the name, in
 * ASCII (deprecated, still sent) or, with flag E, in DNS wire form without
 * compression (section 2.3.1). A wire name may end without the root label:
 * a "partial" name the client wants the server to complete. Returns false
 * when the name is malformed; the labels before the fault are kept.
 */
static bool render_fqdn(char *dst, size_t cap, const struct raw_opt *r)
{
	struct text_buf tb;
	struct cursor c;
	uint8_t flags;
	text_buf_init(&tb, dst, cap);
	if (r->len == 0)
		return true; /* option absent */
	cur_init(&c, r->b, r->len);
	if (!cur_u8(&c, &flags) || !cur_skip(&c, FQDN_HDR_LEN - 1))
		return false;
	if (!(flags & FQDN_FLAG_E)) {
		/* Some clients count a C-style terminating NUL in the ASCII form. */
		size_t n = cur_left(&c);
		uint8_t last;
		while (n > 0 && cur_peek_u8(&c, n - 1, &last) && last == 0)
			n--;
		text_sanitize(dst, cap, cur_ptr(&c), n);
		return true;
	}
	uint8_t n;
	bool first = true;
	while (cur_u8(&c, &n)) {
		if (n == 0)
			return true; /* the root label: a fully qualified name */
		if (n > DNS_LABEL_MAX)
			return false; /* a compression pointer or a reserved label type */
		const uint8_t *label = cur_ptr(&c);
		size_t have = cur_left(&c) < n ? cur_left(&c) : n;
		bool whole = cur_skip(&c, n);
		if (!whole && !r->cut)
			return false; /* the label runs past the option */
		if (!first)
			text_buf_put(&tb, ".", 1);
		first = false;
		text_buf_put_label(&tb, label, have, true);
		if (!whole)
			return true; /* we cut the data (RAW_MAX), the sender did not */
	}
	return true; /* a partial name */
}

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

static void gather(struct raw_opt *r, struct cursor *data)
{
	size_t n = cur_left(data);
	if (n > RAW_MAX - r->len) {
		n = RAW_MAX - r->len;
		r->cut = true;
	}
	if (cur_bytes(data, r->b + r->len, n))
		r->len += n;
}

/* One option; data is limited to its len bytes, all present. */
static int take_option(struct dhcp_state *st, uint8_t code, struct cursor *data, enum area where)
{
	struct dhcp_msg *out = st->out;
	size_t len = cur_left(data);
	switch (code) {
	case OPT_MSG_TYPE:
		if (len != 1)
			return DHCP_ERR_FORMAT;
		if (!st->seen_msg_type && cur_u8(data, &out->msg_type))
			st->seen_msg_type = true;
		break;
	case OPT_REQUESTED_IP: {
		uint8_t v4[4];
		if (len != sizeof(v4))
			return DHCP_ERR_FORMAT;
		if (!out->has_requested_ip && cur_bytes(data, v4, sizeof(v4))) {
			ip_from_v4(&out->requested_ip, v4);
			out->has_requested_ip = true;
		}
		break;
	}
	case OPT_MAX_MSG_SIZE:
		if (len != 2)
			return DHCP_ERR_FORMAT;
		if (!st->seen_max_msg_size && cur_be16(data, &out->max_msg_size))
			st->seen_max_msg_size = true;
		break;
	case OPT_OVERLOAD: {
		uint8_t v;
		if (where != AREA_OPTIONS)
			break; /* RFC 2131 4.1: only in the options field; following it here could loop */
		if (len != 1 || !cur_u8(data, &v) || v < 1 || v > 3)
			return DHCP_ERR_FORMAT;
		if (!st->seen_overload) {
			st->overload = v;
			st->seen_overload = true;
		}
		break;
	}
	case OPT_HOSTNAME:
		gather(&st->raw[RAW_HOSTNAME], data);
		break;
	case OPT_VENDOR_CLASS:
		gather(&st->raw[RAW_VENDOR_CLASS], data);
		break;
	case OPT_PARAM_LIST:
		gather(&st->raw[RAW_PARAM_LIST], data);
		break;
	case OPT_CLIENT_ID:
		gather(&st->raw[RAW_CLIENT_ID], data);
		break;
	case OPT_FQDN:
		gather(&st->raw[RAW_FQDN], data);
		break;
	default:
		break;
	}
	return DHCP_OK;
}

/* Walks the options of one area until its end option or its last byte. */
static int parse_area(struct dhcp_state *st, struct cursor *c, enum area where)
{
	uint8_t code, len;
	while (cur_u8(c, &code)) {
		if (code == OPT_PAD)
			continue;
		if (code == OPT_END)
			return DHCP_OK;
		if (++st->n_opts > DHCP_MAX_OPTIONS)
			return DHCP_ERR_FORMAT;
		/* The file and sname fields have a fixed size: running past their
		 * end is a malformed option, not a cut message. */
		int past_end = where == AREA_OPTIONS ? DHCP_ERR_TRUNCATED : DHCP_ERR_FORMAT;
		if (!cur_u8(c, &len))
			return past_end;
		struct cursor data = *c;
		cur_limit(&data, len);
		if (!cur_skip(c, len))
			return past_end;
		int rc = take_option(st, code, &data, where);
		if (rc != DHCP_OK)
			return rc;
	}
	return DHCP_OK;
}

/* ------------------------------------------------------------------------ */
/* The message                                                              */
/* ------------------------------------------------------------------------ */

static int parse_header(struct cursor *c, struct dhcp_msg *out, struct cursor *sname, struct cursor *file)
{
	uint8_t htype, hlen, v4[4], chaddr[CHADDR_LEN];
	if (!cur_u8(c, &out->op) || !cur_u8(c, &htype) || !cur_u8(c, &hlen) || !cur_skip(c, 1) /* hops */ ||
	    !cur_be32(c, &out->xid) || !cur_skip(c, 4) /* secs, flags */)
		return DHCP_ERR_TRUNCATED;
	if (!cur_bytes(c, v4, 4))
		return DHCP_ERR_TRUNCATED;
	ip_from_v4(&out->ciaddr, v4);
	if (!cur_bytes(c, v4, 4))
		return DHCP_ERR_TRUNCATED;
	ip_from_v4(&out->yiaddr, v4);
	if (!cur_skip(c, 8) /* siaddr, giaddr */ || !cur_bytes(c, chaddr, sizeof(chaddr)))
		return DHCP_ERR_TRUNCATED;
	if (htype == HTYPE_ETHERNET && hlen == ETH_ALEN) {
		memcpy(out->chaddr, chaddr, ETH_ALEN);
		out->has_chaddr = true;
	}
	*sname = *c;
	cur_limit(sname, SNAME_LEN);
	if (!cur_skip(c, SNAME_LEN))
		return DHCP_ERR_TRUNCATED;
	*file = *c;
	cur_limit(file, FILE_LEN);
	if (!cur_skip(c, FILE_LEN))
		return DHCP_ERR_TRUNCATED;
	return DHCP_OK;
}

/* A cut inside the cookie is truncation as long as the bytes present agree
 * with it; the first byte that disagrees makes it BOOTP (or not BOOTP). */
static int check_cookie(struct cursor *c)
{
	for (size_t i = 0; i < sizeof(MAGIC_COOKIE); i++) {
		uint8_t b;
		if (!cur_u8(c, &b))
			return DHCP_ERR_TRUNCATED;
		if (b != MAGIC_COOKIE[i])
			return DHCP_ERR_NOT_DHCP;
	}
	return DHCP_OK;
}

static int parse_message(struct dhcp_state *st, const uint8_t *p, size_t len)
{
	struct cursor c, sname, file;
	cur_init(&c, p, len);
	int rc = parse_header(&c, st->out, &sname, &file);
	if (rc == DHCP_OK)
		rc = check_cookie(&c);
	if (rc != DHCP_OK)
		return rc;
	if (st->out->op != BOOTREQUEST && st->out->op != BOOTREPLY)
		return DHCP_ERR_FORMAT;
	rc = parse_area(st, &c, AREA_OPTIONS);
	if (rc == DHCP_OK && (st->overload & OVERLOAD_FILE))
		rc = parse_area(st, &file, AREA_FILE);
	if (rc == DHCP_OK && (st->overload & OVERLOAD_SNAME))
		rc = parse_area(st, &sname, AREA_SNAME);
	return rc;
}

int dhcp_parse(const uint8_t *p, size_t len, struct dhcp_msg *out)
{
	static const uint8_t zero_v4[4];
	/* A few KiB with its raw buffers; on the stack, not static, so that
	 * the parser stays reentrant (one per capture thread). */
	struct dhcp_state st;
	memset(&st, 0, sizeof(st));
	st.out = out;

	memset(out, 0, sizeof(*out));
	ip_from_v4(&out->ciaddr, zero_v4);
	ip_from_v4(&out->yiaddr, zero_v4);
	ip_from_v4(&out->requested_ip, zero_v4);

	int rc = parse_message(&st, p, len);

	/* Rendered whatever the result: "fields decoded before the fault are kept".
	 * Some stacks send strings with their C terminator ("doorbell\0"):
	 * trailing NULs are padding, not part of the name. */
	strip_trailing_nuls(&st.raw[RAW_HOSTNAME]);
	strip_trailing_nuls(&st.raw[RAW_VENDOR_CLASS]);
	text_sanitize(out->hostname, sizeof(out->hostname), st.raw[RAW_HOSTNAME].b, st.raw[RAW_HOSTNAME].len);
	text_sanitize(out->vendor_class, sizeof(out->vendor_class), st.raw[RAW_VENDOR_CLASS].b,
		      st.raw[RAW_VENDOR_CLASS].len);
	render_param_list(out->param_list, sizeof(out->param_list), &st.raw[RAW_PARAM_LIST]);
	render_hex(out->client_id, sizeof(out->client_id), &st.raw[RAW_CLIENT_ID]);
	if (!render_fqdn(out->fqdn, sizeof(out->fqdn), &st.raw[RAW_FQDN]) && rc == DHCP_OK)
		rc = DHCP_ERR_FORMAT;
	return rc;
}

const char *dhcp_error_name(int err)
{
	switch (err) {
	case DHCP_OK:
		return "ok";
	case DHCP_ERR_TRUNCATED:
		return "truncated";
	case DHCP_ERR_FORMAT:
		return "format";
	case DHCP_ERR_NOT_DHCP:
		return "not_dhcp";
	default:
		return "unknown";
	}
}

const char *dhcp_msg_type_name(uint8_t t)
{
	/* RFC 2132 9.6; 9 RFC 3203; 10-13 RFC 4388; 14-15 RFC 6926;
	 * 16-17 RFC 7724; 18 RFC 7724 (DHCPTLS). */
	static const char *const names[] = {
		"none",         "DISCOVER",         "OFFER",           "REQUEST",     "DECLINE",
		"ACK",          "NAK",              "RELEASE",         "INFORM",      "FORCERENEW",
		"LEASEQUERY",   "LEASEUNASSIGNED",  "LEASEUNKNOWN",    "LEASEACTIVE", "BULKLEASEQUERY",
		"LEASEQUERYDONE", "ACTIVELEASEQUERY", "LEASEQUERYSTATUS", "TLS",
	};
	if (t < sizeof(names) / sizeof(names[0]))
		return names[t];
	return "unknown";
}
