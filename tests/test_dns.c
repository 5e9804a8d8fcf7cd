/*
 * Tests for features/dns.c: queries, responses with compressed CNAME chains,
 * mDNS service announcements, every way a name can be hostile (loops, long
 * pointer chains, oversize names, reserved label types, bytes that need
 * escaping), every truncation point of one response, the caps, and random
 * damage.
 *
 * Messages are built byte by byte with the small builder below; each test
 * gets a fresh heap struct dns_msg, filled with garbage so that a field the
 * parser forgets to set shows.
 */
#include "features/dns.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/ipaddr.h"

static struct dns_msg *msg;

static void setup(void)
{
	msg = malloc(sizeof(*msg));
	cr_assert_not_null(msg);
	memset(msg, 0xa5, sizeof(*msg));
}

static void teardown(void)
{
	free(msg);
	msg = NULL;
}

TestSuite(dns, .init = setup, .fini = teardown);

#define ASSERT_ERR(got, want)                                                                             \
	do {                                                                                              \
		int got_ = (got), want_ = (want);                                                         \
		cr_assert_eq(got_, want_, "result %s, want %s", dns_error_name(got_), dns_error_name(want_)); \
	} while (0)

/* ------------------------------------------------------------------------ */
/* Message builder                                                          */
/* ------------------------------------------------------------------------ */

#define MB_MAX 8192
#define TYPE_PRIVATE 65280 /* RFC 6895 private use: a type the parser does not know */

struct mb {
	uint8_t b[MB_MAX];
	size_t len;
};

static void mb_u8(struct mb *m, uint8_t v)
{
	cr_assert_lt(m->len, sizeof(m->b), "test message too long");
	m->b[m->len++] = v;
}

static void mb_be16(struct mb *m, uint16_t v)
{
	mb_u8(m, (uint8_t)(v >> 8));
	mb_u8(m, (uint8_t)v);
}

static void mb_be32(struct mb *m, uint32_t v)
{
	mb_be16(m, (uint16_t)(v >> 16));
	mb_be16(m, (uint16_t)v);
}

static void mb_bytes(struct mb *m, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mb_u8(m, ((const uint8_t *)p)[i]);
}

static void mb_header(struct mb *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
		      uint16_t ar)
{
	m->len = 0;
	mb_be16(m, id);
	mb_be16(m, flags);
	mb_be16(m, qd);
	mb_be16(m, an);
	mb_be16(m, ns);
	mb_be16(m, ar);
}

/* One label with raw bytes (length byte included). Returns its offset. */
static size_t mb_label(struct mb *m, const void *p, size_t n)
{
	size_t at = m->len;
	mb_u8(m, (uint8_t)n);
	mb_bytes(m, p, n);
	return at;
}

/* The labels of a dotted name, without the terminating root label, so a
 * pointer or the root can follow. Returns the offset of the first label. */
static size_t mb_labels(struct mb *m, const char *dotted)
{
	size_t at = m->len;
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t n = dot ? (size_t)(dot - dotted) : strlen(dotted);
		mb_label(m, dotted, n);
		dotted += n + (dot ? 1 : 0);
	}
	return at;
}

/* A whole uncompressed name. Returns its offset. */
static size_t mb_name(struct mb *m, const char *dotted)
{
	size_t at = mb_labels(m, dotted);
	mb_u8(m, 0);
	return at;
}

static size_t mb_ptr(struct mb *m, size_t off)
{
	size_t at = m->len;
	mb_be16(m, (uint16_t)(0xc000 | off));
	return at;
}

static void mb_question(struct mb *m, uint16_t qtype, uint16_t qclass)
{
	mb_be16(m, qtype);
	mb_be16(m, qclass);
}

/* After the owner name: type, class, TTL and a placeholder rdlength whose
 * offset is returned for mb_rdata_end(). */
static size_t mb_rr(struct mb *m, uint16_t type, uint16_t rclass, uint32_t ttl)
{
	mb_be16(m, type);
	mb_be16(m, rclass);
	mb_be32(m, ttl);
	size_t at = m->len;
	mb_be16(m, 0);
	return at;
}

static void mb_rdata_end(struct mb *m, size_t rdlen_at)
{
	size_t n = m->len - rdlen_at - 2;
	m->b[rdlen_at] = (uint8_t)(n >> 8);
	m->b[rdlen_at + 1] = (uint8_t)n;
}

static void mb_a(struct mb *m, uint32_t ttl, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	size_t rd = mb_rr(m, DNS_TYPE_A, DNS_CLASS_IN, ttl);
	const uint8_t v4[4] = {a, b, c, d};
	mb_bytes(m, v4, 4);
	mb_rdata_end(m, rd);
}

static void assert_v4(const struct ip_addr *got, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	const uint8_t v4[4] = {a, b, c, d};
	struct ip_addr want;
	ip_from_v4(&want, v4);
	char g[IP_STRLEN], w[IP_STRLEN];
	cr_assert(ip_equal(got, &want), "address %s, want %s", ip_format(got, g, sizeof(g)),
		  ip_format(&want, w, sizeof(w)));
}

static void assert_no_addr(const struct ip_addr *got)
{
	static const struct ip_addr zero;
	cr_assert(ip_equal(got, &zero), "a record without an address has one");
}

/*
 * The CNAME response most tests start from:
 *
 *   www.example.com  A?
 *   www.example.com  CNAME cdn.example.net   300
 *   cdn.example.net  CNAME edge.cdn.net     3600   ("net" by pointer)
 *   edge.cdn.net     A     1.2.3.4            60
 *   edge.cdn.net     A     5.6.7.8            61
 *
 * q_end and rr_end[] are where the question and each record end.
 */
struct cname_msg {
	struct mb m;
	size_t q_end;
	size_t rr_end[4];
};

static void build_cname(struct cname_msg *cm)
{
	struct mb *m = &cm->m;
	mb_header(m, 0xbeef, 0x8180, 1, 4, 0, 0);
	size_t www = mb_name(m, "www.example.com");
	mb_question(m, DNS_TYPE_A, DNS_CLASS_IN);
	cm->q_end = m->len;

	mb_ptr(m, www);
	size_t rd = mb_rr(m, DNS_TYPE_CNAME, DNS_CLASS_IN, 300);
	size_t cdn = mb_labels(m, "cdn.example");
	size_t net = mb_name(m, "net");
	mb_rdata_end(m, rd);
	cm->rr_end[0] = m->len;

	mb_ptr(m, cdn);
	rd = mb_rr(m, DNS_TYPE_CNAME, DNS_CLASS_IN, 3600);
	size_t edge = mb_labels(m, "edge.cdn");
	mb_ptr(m, net);
	mb_rdata_end(m, rd);
	cm->rr_end[1] = m->len;

	mb_ptr(m, edge);
	mb_a(m, 60, 1, 2, 3, 4);
	cm->rr_end[2] = m->len;

	mb_ptr(m, edge);
	mb_a(m, 61, 5, 6, 7, 8);
	cm->rr_end[3] = m->len;
}

/* ------------------------------------------------------------------------ */
/* Header and questions                                                     */
/* ------------------------------------------------------------------------ */

Test(dns, a_query_gives_its_id_flags_and_question)
{
	struct mb m;
	mb_header(&m, 0x1234, 0x0100, 1, 0, 0, 0);
	mb_name(&m, "api.tuya.com");
	mb_question(&m, DNS_TYPE_AAAA, DNS_CLASS_IN);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert_eq(msg->id, 0x1234);
	cr_assert_not(msg->response);
	cr_assert_eq(msg->opcode, 0);
	cr_assert_eq(msg->rcode, 0);
	cr_assert_not(msg->truncated_flag);
	cr_assert_eq(msg->qdcount, 1);
	cr_assert_eq(msg->ancount + msg->nscount + msg->arcount, 0);
	cr_assert_eq(msg->n_questions, 1);
	cr_assert_str_eq(msg->q[0].name, "api.tuya.com");
	cr_assert_eq(msg->q[0].qtype, DNS_TYPE_AAAA);
	cr_assert_eq(msg->q[0].qclass, DNS_CLASS_IN);
	cr_assert_not(msg->q[0].unicast_response);
	cr_assert_eq(msg->n_rrs, 0);
	cr_assert_eq(msg->skipped, 0);
}

Test(dns, response_flags_opcode_rcode_and_tc_are_decoded)
{
	struct mb m;
	/* QR, opcode 2 (status), TC, RD, RA, rcode 3 (NXDOMAIN). */
	mb_header(&m, 7, 0x8000 | 2 << 11 | 0x0200 | 0x0100 | 0x0080 | 3, 0, 0, 0, 0);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert(msg->response);
	cr_assert_eq(msg->opcode, 2);
	cr_assert(msg->truncated_flag);
	cr_assert_eq(msg->rcode, 3);
}

Test(dns, a_header_shorter_than_12_bytes_is_truncated_and_leaves_a_clean_result)
{
	struct mb m;
	mb_header(&m, 0x1234, 0x8180, 1, 1, 0, 0);
	ASSERT_ERR(dns_parse(m.b, 11, msg), DNS_ERR_TRUNCATED);
	cr_assert_eq(msg->n_questions, 0);
	cr_assert_eq(msg->n_rrs, 0);
	cr_assert_eq(msg->skipped, 0);
	cr_assert_eq(msg->qdcount, 0, "counts are not half-read from a short header");
	ASSERT_ERR(dns_parse(NULL, 0, msg), DNS_ERR_TRUNCATED);
}

Test(dns, the_mdns_qu_bit_is_split_from_the_question_class)
{
	struct mb m;
	mb_header(&m, 0, 0, 2, 0, 0, 0);
	mb_name(&m, "_googlecast._tcp.local");
	mb_question(&m, DNS_TYPE_PTR, 0x8000 | DNS_CLASS_IN);
	mb_name(&m, "_airplay._tcp.local");
	mb_question(&m, DNS_TYPE_PTR, DNS_CLASS_IN);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert_eq(msg->n_questions, 2);
	cr_assert(msg->q[0].unicast_response);
	cr_assert_eq(msg->q[0].qclass, DNS_CLASS_IN);
	cr_assert_not(msg->q[1].unicast_response);
	cr_assert_eq(msg->q[1].qclass, DNS_CLASS_IN);
}

Test(dns, questions_past_the_cap_are_parsed_skipped_and_counted)
{
	struct mb m;
	mb_header(&m, 1, 0, DNS_MAX_QUESTIONS + 2, 0, 0, 0);
	char name[32];
	for (int i = 0; i < DNS_MAX_QUESTIONS + 2; i++) {
		snprintf(name, sizeof(name), "host%d.lan", i);
		mb_name(&m, name);
		mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	}
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert_eq(msg->n_questions, DNS_MAX_QUESTIONS);
	cr_assert_eq(msg->skipped, 2);
	cr_assert_str_eq(msg->q[DNS_MAX_QUESTIONS - 1].name, "host3.lan");

	/* A skipped question is still checked. */
	m.b[m.len - 5] = 0x40;
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_NAME);
}

/* ------------------------------------------------------------------------ */
/* Answers                                                                  */
/* ------------------------------------------------------------------------ */

Test(dns, a_cname_chain_with_compression_gives_every_owner_target_ttl_and_address)
{
	struct cname_msg cm;
	build_cname(&cm);
	ASSERT_ERR(dns_parse(cm.m.b, cm.m.len, msg), DNS_OK);
	cr_assert_eq(msg->id, 0xbeef);
	cr_assert(msg->response);
	cr_assert_eq(msg->n_questions, 1);
	cr_assert_str_eq(msg->q[0].name, "www.example.com");
	cr_assert_eq(msg->n_rrs, 4);
	cr_assert_eq(msg->skipped, 0);

	const struct dns_rr *r = msg->rr;
	cr_assert_str_eq(r[0].name, "www.example.com");
	cr_assert_eq(r[0].type, DNS_TYPE_CNAME);
	cr_assert_str_eq(r[0].target, "cdn.example.net");
	cr_assert_eq(r[0].ttl, 300);
	assert_no_addr(&r[0].addr);

	cr_assert_str_eq(r[1].name, "cdn.example.net");
	cr_assert_eq(r[1].type, DNS_TYPE_CNAME);
	cr_assert_str_eq(r[1].target, "edge.cdn.net");
	cr_assert_eq(r[1].ttl, 3600);

	cr_assert_str_eq(r[2].name, "edge.cdn.net");
	cr_assert_eq(r[2].type, DNS_TYPE_A);
	cr_assert_str_eq(r[2].target, "");
	cr_assert_eq(r[2].ttl, 60);
	assert_v4(&r[2].addr, 1, 2, 3, 4);

	cr_assert_str_eq(r[3].name, "edge.cdn.net");
	cr_assert_eq(r[3].ttl, 61);
	assert_v4(&r[3].addr, 5, 6, 7, 8);

	for (int i = 0; i < 4; i++) {
		cr_assert_eq(r[i].section, DNS_SEC_ANSWER, "record %d", i);
		cr_assert_eq(r[i].rclass, DNS_CLASS_IN, "record %d", i);
		cr_assert_not(r[i].cache_flush, "record %d", i);
	}
}

Test(dns, an_aaaa_answer_gives_the_ipv6_address)
{
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xef};
	struct mb m;
	mb_header(&m, 2, 0x8180, 1, 1, 0, 0);
	size_t q = mb_name(&m, "time.example.org");
	mb_question(&m, DNS_TYPE_AAAA, DNS_CLASS_IN);
	mb_ptr(&m, q);
	size_t rd = mb_rr(&m, DNS_TYPE_AAAA, DNS_CLASS_IN, 86400);
	mb_bytes(&m, v6, 16);
	mb_rdata_end(&m, rd);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert_eq(msg->n_rrs, 1);
	cr_assert_str_eq(msg->rr[0].name, "time.example.org");
	cr_assert_eq(msg->rr[0].type, DNS_TYPE_AAAA);
	cr_assert_eq(msg->rr[0].ttl, 86400);
	struct ip_addr want;
	ip_from_v6(&want, v6);
	cr_assert(ip_equal(&msg->rr[0].addr, &want));
	cr_assert_not(ip_is_v4(&msg->rr[0].addr));
}

Test(dns, records_are_sorted_into_their_declared_sections)
{
	struct mb m;
	mb_header(&m, 3, 0x8180, 0, 1, 1, 1);
	size_t n = mb_name(&m, "example.com");
	mb_a(&m, 1, 10, 0, 0, 1);
	mb_ptr(&m, n);
	size_t rd = mb_rr(&m, DNS_TYPE_NS, DNS_CLASS_IN, 2);
	mb_labels(&m, "ns1");
	mb_ptr(&m, n);
	mb_rdata_end(&m, rd);
	mb_labels(&m, "ns1");
	mb_ptr(&m, n);
	mb_a(&m, 3, 10, 0, 0, 53);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert_eq(msg->n_rrs, 3);
	cr_assert_eq(msg->rr[0].section, DNS_SEC_ANSWER);
	cr_assert_eq(msg->rr[1].section, DNS_SEC_AUTHORITY);
	cr_assert_str_eq(msg->rr[1].target, "ns1.example.com");
	cr_assert_eq(msg->rr[2].section, DNS_SEC_ADDITIONAL);
	cr_assert_str_eq(msg->rr[2].name, "ns1.example.com");
	assert_v4(&msg->rr[2].addr, 10, 0, 0, 53);
}

Test(dns, answers_past_the_cap_are_parsed_skipped_and_counted)
{
	struct mb m;
	int n = DNS_MAX_RRS + 2;
	mb_header(&m, 4, 0x8180, 1, (uint16_t)n, 0, 0);
	size_t q = mb_name(&m, "pool.ntp.org");
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	for (int i = 0; i < n; i++) {
		mb_ptr(&m, q);
		mb_a(&m, (uint32_t)i, 10, 0, 0, (uint8_t)i);
	}
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert_eq(msg->n_rrs, DNS_MAX_RRS);
	cr_assert_eq(msg->skipped, 2);
	cr_assert_eq(msg->ancount, n);
	assert_v4(&msg->rr[0].addr, 10, 0, 0, 0);
	assert_v4(&msg->rr[DNS_MAX_RRS - 1].addr, 10, 0, 0, DNS_MAX_RRS - 1);
	cr_assert_eq(msg->rr[DNS_MAX_RRS - 1].ttl, DNS_MAX_RRS - 1);

	/* A malformed record past the cap still fails the message. */
	m.b[m.len - 5] = 3; /* rdlength 3 */
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_FORMAT);
	cr_assert_eq(msg->n_rrs, DNS_MAX_RRS);
}

Test(dns, counts_larger_than_the_message_end_in_truncated)
{
	struct cname_msg cm;
	build_cname(&cm);
	cm.m.b[6] = 0xff; /* ancount 0xff04 */
	ASSERT_ERR(dns_parse(cm.m.b, cm.m.len, msg), DNS_ERR_TRUNCATED);
	cr_assert_eq(msg->n_rrs, 4);
	cr_assert_eq(msg->ancount, 0xff04);
}

Test(dns, an_a_record_with_rdlength_5_is_a_format_error_and_keeps_earlier_records)
{
	struct mb m;
	mb_header(&m, 5, 0x8180, 0, 3, 0, 0);
	size_t n = mb_name(&m, "cam.local");
	mb_a(&m, 10, 192, 168, 1, 9);
	mb_ptr(&m, n);
	size_t rd = mb_rr(&m, DNS_TYPE_A, DNS_CLASS_IN, 10);
	mb_bytes(&m, "\x01\x02\x03\x04\x05", 5);
	mb_rdata_end(&m, rd);
	mb_ptr(&m, n);
	mb_a(&m, 10, 192, 168, 1, 10);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_FORMAT);
	cr_assert_eq(msg->n_rrs, 1, "only the record before the bad one");
	assert_v4(&msg->rr[0].addr, 192, 168, 1, 9);
}

Test(dns, an_aaaa_record_with_rdlength_4_is_a_format_error)
{
	struct mb m;
	mb_header(&m, 5, 0x8180, 0, 1, 0, 0);
	mb_name(&m, "cam.local");
	mb_a(&m, 10, 192, 168, 1, 9);
	m.b[m.len - 13] = DNS_TYPE_AAAA; /* low byte of the type */
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_FORMAT);
	cr_assert_eq(msg->n_rrs, 0);
}

Test(dns, a_name_in_rdata_cannot_run_past_rdlength)
{
	struct mb m;
	mb_header(&m, 6, 0x8180, 0, 1, 0, 0);
	mb_name(&m, "www.example.com");
	size_t rd = mb_rr(&m, DNS_TYPE_CNAME, DNS_CLASS_IN, 300);
	mb_name(&m, "cdn.example.net");
	mb_rdata_end(&m, rd);
	m.b[rd + 1] = 3; /* "\x03cd": the label goes on past the rdata */
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_FORMAT);
	cr_assert_eq(msg->n_rrs, 0);

	m.b[rd + 1] = 0; /* no name at all */
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_FORMAT);
}

Test(dns, an_unknown_type_keeps_owner_type_ttl_and_parsing_continues)
{
	struct mb m;
	mb_header(&m, 7, 0x8180, 0, 2, 0, 0);
	size_t n = mb_name(&m, "plug.lan");
	size_t rd = mb_rr(&m, TYPE_PRIVATE, DNS_CLASS_IN, 77);
	mb_bytes(&m, "\xc0\x00\xff", 3); /* would be a forward pointer if it were read as a name */
	mb_rdata_end(&m, rd);
	mb_ptr(&m, n);
	mb_a(&m, 78, 10, 1, 1, 1);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert_eq(msg->n_rrs, 2);
	cr_assert_str_eq(msg->rr[0].name, "plug.lan");
	cr_assert_eq(msg->rr[0].type, TYPE_PRIVATE);
	cr_assert_eq(msg->rr[0].ttl, 77);
	cr_assert_str_eq(msg->rr[0].target, "");
	cr_assert_str_eq(msg->rr[0].txt, "");
	assert_no_addr(&msg->rr[0].addr);
	assert_v4(&msg->rr[1].addr, 10, 1, 1, 1);
}

Test(dns, an_opt_record_is_kept_with_its_payload_size_as_class)
{
	struct mb m;
	mb_header(&m, 8, 0x0100, 1, 0, 0, 1);
	mb_name(&m, "example.com");
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	mb_u8(&m, 0);
	/* 36864: the top bit must not be taken for mDNS cache-flush. */
	size_t rd = mb_rr(&m, DNS_TYPE_OPT, 0x9000, 0x00008000);
	mb_bytes(&m, "\x00\x0a\x00\x02\xab\xcd", 6); /* a COOKIE option, skipped */
	mb_rdata_end(&m, rd);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert_eq(msg->n_rrs, 1);
	cr_assert_str_eq(msg->rr[0].name, "");
	cr_assert_eq(msg->rr[0].type, DNS_TYPE_OPT);
	cr_assert_eq(msg->rr[0].rclass, 0x9000);
	cr_assert_not(msg->rr[0].cache_flush);
	cr_assert_eq(msg->rr[0].ttl, 0x8000);
	cr_assert_eq(msg->rr[0].section, DNS_SEC_ADDITIONAL);
}

/* ------------------------------------------------------------------------ */
/* Truncation                                                               */
/* ------------------------------------------------------------------------ */

Test(dns, a_response_cut_at_every_length_keeps_exactly_the_whole_records)
{
	struct cname_msg cm;
	build_cname(&cm);
	int prev = 0;
	for (size_t cut = 0; cut <= cm.m.len; cut++) {
		/* A copy of just the cut, so ASan sees any read past it. */
		uint8_t *b = malloc(cut ? cut : 1);
		cr_assert_not_null(b);
		memcpy(b, cm.m.b, cut);
		int err = dns_parse(b, cut, msg);
		free(b);
		ASSERT_ERR(err, cut == cm.m.len ? DNS_OK : DNS_ERR_TRUNCATED);

		int whole = 0;
		for (int i = 0; i < 4; i++)
			whole += cm.rr_end[i] <= cut;
		cr_assert_eq(msg->n_rrs, whole, "cut at %zu: %d records kept, %d whole", cut, msg->n_rrs, whole);
		cr_assert_geq(msg->n_rrs, prev, "cut at %zu: fewer records than a shorter cut", cut);
		cr_assert_eq(msg->n_questions, cm.q_end <= cut ? 1 : 0, "cut at %zu", cut);
		prev = msg->n_rrs;
		for (int i = 0; i < msg->n_rrs; i++)
			cr_assert_neq(msg->rr[i].name[0], '\0', "cut at %zu: record %d has no owner", cut, i);
	}
	cr_assert_eq(prev, 4);
}

/* ------------------------------------------------------------------------ */
/* Compression pointers                                                     */
/* ------------------------------------------------------------------------ */

Test(dns, a_pointer_to_itself_is_a_pointer_error)
{
	struct mb m;
	mb_header(&m, 9, 0, 1, 0, 0, 0);
	mb_ptr(&m, 12);
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_POINTER);
	cr_assert_eq(msg->n_questions, 0);
}

Test(dns, two_pointers_pointing_at_each_other_are_a_pointer_error)
{
	/* As the first name: 12 -> 14 is forward. */
	struct mb m;
	mb_header(&m, 10, 0, 1, 0, 0, 0);
	mb_ptr(&m, 14);
	mb_ptr(&m, 12);
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_POINTER);

	/* Entered from the later one: y -> x is backwards, x -> y is not. x
	 * sits in the data of a record of unknown type, which is not read. */
	mb_header(&m, 10, 0x8400, 1, 2, 0, 0);
	size_t q = mb_name(&m, "a");
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	mb_ptr(&m, q);
	size_t rd = mb_rr(&m, TYPE_PRIVATE, DNS_CLASS_IN, 0);
	size_t x = mb_ptr(&m, m.len + 2);
	mb_rdata_end(&m, rd);
	size_t y = mb_ptr(&m, x);
	cr_assert_eq(m.b[x + 1], (uint8_t)y, "x points at y");
	mb_a(&m, 0, 10, 0, 0, 1);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_POINTER);
	cr_assert_eq(msg->n_questions, 1);
	cr_assert_eq(msg->n_rrs, 1, "the record before the loop is kept");
}

Test(dns, a_pointer_back_into_its_own_name_is_a_pointer_error)
{
	/* "a" then a pointer to "a": it points backwards from where it is, yet loops. */
	struct mb m;
	mb_header(&m, 11, 0, 1, 0, 0, 0);
	size_t a = mb_labels(&m, "a");
	mb_ptr(&m, a);
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_POINTER);
}

Test(dns, a_forward_pointer_is_a_pointer_error)
{
	struct mb m;
	mb_header(&m, 12, 0, 2, 0, 0, 0);
	mb_ptr(&m, 18); /* the next question's name, inside the message */
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	mb_name(&m, "b");
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_POINTER);

	mb_header(&m, 12, 0, 1, 0, 0, 0);
	mb_ptr(&m, 0x3fff); /* past the end */
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_POINTER);
}

/* "a.example" asked, then a record of unknown type whose data is a chain of
 * 16 pointers (each to the one before, the first to the question), then an A
 * record whose owner is a pointer to the chain's link `link` (1-based). */
static void build_pointer_chain(struct mb *m, int link)
{
	mb_header(m, 13, 0x8400, 1, 2, 0, 0);
	size_t q = mb_name(m, "a.example");
	mb_question(m, DNS_TYPE_A, DNS_CLASS_IN);
	mb_ptr(m, q);
	size_t rd = mb_rr(m, TYPE_PRIVATE, DNS_CLASS_IN, 0);
	size_t links[16];
	links[0] = mb_ptr(m, q);
	for (int i = 1; i < 16; i++)
		links[i] = mb_ptr(m, links[i - 1]);
	mb_rdata_end(m, rd);
	mb_ptr(m, links[link - 1]);
	mb_a(m, 5, 10, 9, 9, 9);
}

Test(dns, sixteen_chained_pointers_are_followed_and_seventeen_are_refused)
{
	struct mb m;
	build_pointer_chain(&m, 15); /* the owner's pointer and 15 links: 16 */
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert_eq(msg->n_rrs, 2);
	cr_assert_str_eq(msg->rr[1].name, "a.example");
	assert_v4(&msg->rr[1].addr, 10, 9, 9, 9);

	build_pointer_chain(&m, 16); /* 17 */
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_POINTER);
	cr_assert_eq(msg->n_rrs, 1);
}

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

/* A question whose name has labels of the given lengths, filled with byte. */
static void build_long_name(struct mb *m, const size_t *lens, size_t n, uint8_t byte)
{
	uint8_t fill[63];
	memset(fill, byte, sizeof(fill));
	mb_header(m, 14, 0, 1, 0, 0, 0);
	for (size_t i = 0; i < n; i++)
		mb_label(m, fill, lens[i]);
	mb_u8(m, 0);
	mb_question(m, DNS_TYPE_A, DNS_CLASS_IN);
}

Test(dns, a_name_of_exactly_255_wire_bytes_parses_and_256_is_refused)
{
	struct mb m;
	const size_t ok[] = {63, 63, 63, 61}; /* 64 + 64 + 64 + 62 + the root = 255 */
	build_long_name(&m, ok, 4, 'a');
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert_eq(strlen(msg->q[0].name), 250 + 3);
	cr_assert_eq(msg->q[0].qtype, DNS_TYPE_A);

	const size_t over[] = {63, 63, 63, 62};
	build_long_name(&m, over, 4, 'a');
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_NAME);
	cr_assert_eq(msg->n_questions, 0);
}

Test(dns, a_name_made_long_by_pointers_is_refused_too)
{
	/* 200 bytes of labels, then 100 more through a pointer to them: 300. */
	struct mb m;
	uint8_t fill[49];
	memset(fill, 'b', sizeof(fill));
	mb_header(&m, 15, 0, 2, 0, 0, 0);
	size_t first = m.len;
	for (int i = 0; i < 4; i++)
		mb_label(&m, fill, sizeof(fill));
	mb_u8(&m, 0);
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	mb_label(&m, fill, sizeof(fill));
	mb_label(&m, fill, sizeof(fill));
	mb_ptr(&m, first);
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_NAME);
	cr_assert_eq(msg->n_questions, 1);
}

Test(dns, the_longest_escaped_name_fits_without_being_cut)
{
	struct mb m;
	const size_t lens[] = {63, 63, 63, 61};
	build_long_name(&m, lens, 4, 0xff);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	const char *name = msg->q[0].name;
	cr_assert_eq(strlen(name), 4 * 250 + 3);
	cr_assert_lt(strlen(name), sizeof(msg->q[0].name));
	cr_assert_eq(strncmp(name + strlen(name) - 4, "\\xff", 4), 0, "the last byte is there, escaped");
}

Test(dns, reserved_label_types_are_name_errors)
{
	struct mb m;
	mb_header(&m, 16, 0, 1, 0, 0, 0);
	mb_u8(&m, 0x40); /* a "64-byte label": type 01 */
	mb_bytes(&m, "abcd", 4);
	mb_u8(&m, 0);
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_NAME);

	m.b[12] = 0x80; /* type 10 */
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_NAME);
}

Test(dns, hostile_label_bytes_become_exact_escaped_text)
{
	static const uint8_t label[] = {'a', '.', 'b', '\\', 'c', 0x00, 'd', 0x0a, 'e', 0xff, 'K', 0xc3, 0xbc};
	struct mb m;
	mb_header(&m, 17, 0, 1, 0, 0, 0);
	mb_label(&m, label, sizeof(label));
	mb_name(&m, "local");
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert_str_eq(msg->q[0].name, "a\\x2eb\\x5cc\\x00d\\x0ae\\xffK\xc3\xbc.local");
}

Test(dns, an_escaped_dot_differs_from_a_label_separator)
{
	struct mb m;
	mb_header(&m, 18, 0, 2, 0, 0, 0);
	mb_label(&m, "evil.com", 8);
	mb_u8(&m, 0);
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	mb_name(&m, "evil.com");
	mb_question(&m, DNS_TYPE_A, DNS_CLASS_IN);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert_str_eq(msg->q[0].name, "evil\\x2ecom");
	cr_assert_str_eq(msg->q[1].name, "evil.com");
	cr_assert_str_eq(msg->q[1].name + 4, ".com", "only the separator is a bare dot");
}

Test(dns, the_root_name_is_empty)
{
	struct mb m;
	mb_header(&m, 19, 0, 1, 0, 0, 0);
	mb_u8(&m, 0);
	mb_question(&m, DNS_TYPE_NS, DNS_CLASS_IN);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert_str_eq(msg->q[0].name, "");
	cr_assert_eq(msg->q[0].qtype, DNS_TYPE_NS);
}

/* ------------------------------------------------------------------------ */
/* mDNS and TXT                                                             */
/* ------------------------------------------------------------------------ */

Test(dns, an_mdns_service_announcement_gives_ptr_srv_txt_and_cache_flush_a)
{
	struct mb m;
	mb_header(&m, 0, 0x8400, 0, 2, 0, 3);

	size_t services = mb_labels(&m, "_services._dns-sd._udp");
	size_t local = mb_name(&m, "local");
	size_t rd = mb_rr(&m, DNS_TYPE_PTR, DNS_CLASS_IN, 4500);
	size_t gc = mb_labels(&m, "_googlecast._tcp");
	mb_ptr(&m, local);
	mb_rdata_end(&m, rd);

	mb_ptr(&m, gc);
	rd = mb_rr(&m, DNS_TYPE_PTR, DNS_CLASS_IN, 120);
	size_t inst = mb_labels(&m, "Living Room TV");
	mb_ptr(&m, gc);
	mb_rdata_end(&m, rd);

	mb_ptr(&m, inst);
	rd = mb_rr(&m, DNS_TYPE_SRV, 0x8000 | DNS_CLASS_IN, 120);
	mb_be16(&m, 0); /* priority */
	mb_be16(&m, 0); /* weight */
	mb_be16(&m, 8009);
	size_t host = mb_labels(&m, "Chromecast-abc");
	mb_ptr(&m, local);
	mb_rdata_end(&m, rd);

	mb_ptr(&m, inst);
	rd = mb_rr(&m, DNS_TYPE_TXT, 0x8000 | DNS_CLASS_IN, 4500);
	mb_label(&m, "md=Chromecast", 13);
	mb_label(&m, "fn=Living Room", 14);
	mb_rdata_end(&m, rd);

	mb_ptr(&m, host);
	rd = mb_rr(&m, DNS_TYPE_A, 0x8000 | DNS_CLASS_IN, 120);
	mb_bytes(&m, "\xc0\xa8\x01\x32", 4);
	mb_rdata_end(&m, rd);
	cr_assert_eq(services, 12);

	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);
	cr_assert(msg->response);
	cr_assert_eq(msg->n_rrs, 5);
	const struct dns_rr *r = msg->rr;

	cr_assert_str_eq(r[0].name, "_services._dns-sd._udp.local");
	cr_assert_eq(r[0].type, DNS_TYPE_PTR);
	cr_assert_str_eq(r[0].target, "_googlecast._tcp.local");
	cr_assert_eq(r[0].ttl, 4500);
	cr_assert_eq(r[0].section, DNS_SEC_ANSWER);

	cr_assert_str_eq(r[1].name, "_googlecast._tcp.local");
	cr_assert_str_eq(r[1].target, "Living Room TV._googlecast._tcp.local");
	cr_assert_eq(r[1].section, DNS_SEC_ANSWER);
	cr_assert_not(r[1].cache_flush);

	cr_assert_str_eq(r[2].name, "Living Room TV._googlecast._tcp.local");
	cr_assert_eq(r[2].type, DNS_TYPE_SRV);
	cr_assert_eq(r[2].srv_port, 8009);
	cr_assert_str_eq(r[2].target, "Chromecast-abc.local");
	cr_assert_eq(r[2].section, DNS_SEC_ADDITIONAL);
	cr_assert(r[2].cache_flush);
	cr_assert_eq(r[2].rclass, DNS_CLASS_IN);

	cr_assert_eq(r[3].type, DNS_TYPE_TXT);
	cr_assert_str_eq(r[3].txt, "md=Chromecast;fn=Living Room");
	cr_assert_not(r[3].txt_cut);
	cr_assert_str_eq(r[3].target, "");

	cr_assert_str_eq(r[4].name, "Chromecast-abc.local");
	cr_assert_eq(r[4].type, DNS_TYPE_A);
	cr_assert(r[4].cache_flush);
	cr_assert_eq(r[4].rclass, DNS_CLASS_IN);
	assert_v4(&r[4].addr, 192, 168, 1, 50);
}

Test(dns, a_long_txt_record_is_cut_at_a_character_boundary_and_flagged)
{
	uint8_t x[200], y[100], ctl[100];
	memset(x, 'x', sizeof(x));
	memset(y, 'y', sizeof(y));
	memset(ctl, 0x01, sizeof(ctl));
	struct mb m;
	mb_header(&m, 20, 0x8400, 0, 2, 0, 0);
	size_t n = mb_name(&m, "dev.local");
	size_t rd = mb_rr(&m, DNS_TYPE_TXT, DNS_CLASS_IN, 1);
	mb_label(&m, x, sizeof(x));
	mb_label(&m, y, sizeof(y));
	mb_label(&m, "z", 1);
	mb_rdata_end(&m, rd);
	mb_ptr(&m, n);
	rd = mb_rr(&m, DNS_TYPE_TXT, DNS_CLASS_IN, 1);
	mb_label(&m, ctl, sizeof(ctl)); /* 400 bytes of escapes, cut at 252 */
	mb_label(&m, "z", 1);           /* would fit in the 3 bytes left, but must not follow a cut */
	mb_rdata_end(&m, rd);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_OK);

	const char *t = msg->rr[0].txt;
	cr_assert(msg->rr[0].txt_cut);
	cr_assert_eq(strlen(t), DNS_TXT_MAX);
	cr_assert_eq(strspn(t, "x"), 200);
	cr_assert_eq(t[200], ';');
	cr_assert_eq(strspn(t + 201, "y"), DNS_TXT_MAX - 201);

	t = msg->rr[1].txt;
	cr_assert(msg->rr[1].txt_cut);
	cr_assert_eq(strlen(t) % 4, 0, "no escape is cut in half: %zu bytes", strlen(t));
	cr_assert_gt(strlen(t), DNS_TXT_MAX - 4);
	cr_assert_eq(strncmp(t + strlen(t) - 4, "\\x01", 4), 0);
}

Test(dns, a_txt_string_longer_than_its_rdata_is_a_format_error)
{
	struct mb m;
	mb_header(&m, 21, 0x8400, 0, 1, 0, 0);
	mb_name(&m, "dev.local");
	size_t rd = mb_rr(&m, DNS_TYPE_TXT, DNS_CLASS_IN, 1);
	mb_label(&m, "a=1", 3);
	mb_label(&m, "b=2", 3);
	mb_rdata_end(&m, rd);
	mb_bytes(&m, "trailing", 8);
	m.b[rd + 1] = 6; /* the second string now says 3 bytes with 1 left */
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_FORMAT);
	cr_assert_eq(msg->n_rrs, 0);
}

Test(dns, a_short_srv_record_is_a_format_error)
{
	struct mb m;
	mb_header(&m, 22, 0x8400, 0, 1, 0, 0);
	mb_name(&m, "tv._googlecast._tcp.local");
	size_t rd = mb_rr(&m, DNS_TYPE_SRV, DNS_CLASS_IN, 1);
	mb_be16(&m, 0);
	mb_be16(&m, 0);
	mb_rdata_end(&m, rd);
	mb_be16(&m, 8009); /* after the rdata: must not be read as the port */
	mb_u8(&m, 0);
	ASSERT_ERR(dns_parse(m.b, m.len, msg), DNS_ERR_FORMAT);
	cr_assert_eq(msg->n_rrs, 0);
}

/* ------------------------------------------------------------------------ */
/* Helpers and random damage                                                */
/* ------------------------------------------------------------------------ */

Test(dns, dns_name_lower_lowercases_ascii_only)
{
	char s[] = "WWW.Example.COM K\xc3\x9c" "CHE \\x2e @[`{ Z";
	dns_name_lower(s);
	cr_assert_str_eq(s, "www.example.com k\xc3\x9c" "che \\x2e @[`{ z");
	char empty[] = "";
	dns_name_lower(empty);
	cr_assert_str_eq(empty, "");
}

Test(dns, dns_error_name_gives_distinct_non_empty_strings)
{
	const int errs[] = {DNS_OK, DNS_ERR_TRUNCATED, DNS_ERR_POINTER, DNS_ERR_NAME, DNS_ERR_FORMAT, -99};
	const size_t n = sizeof(errs) / sizeof(errs[0]);
	for (size_t i = 0; i < n; i++) {
		const char *a = dns_error_name(errs[i]);
		cr_assert_not_null(a);
		cr_assert_gt(strlen(a), 0, "error %d", errs[i]);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(a, dns_error_name(errs[j]), "errors %d and %d", errs[i], errs[j]);
	}
	cr_assert_str_eq(dns_error_name(DNS_ERR_TRUNCATED), "truncated");
	cr_assert_str_eq(dns_error_name(DNS_ERR_POINTER), "compression pointer");
}

static uint32_t rng_next(uint32_t *s)
{
	/* xorshift32: deterministic, so a failure reproduces. */
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void assert_terminated(const char *s, size_t size, const char *what)
{
	cr_assert_not_null(memchr(s, '\0', size), "%s not terminated", what);
}

Test(dns, random_damage_keeps_the_result_within_its_bounds)
{
	struct cname_msg cm;
	build_cname(&cm);
	uint32_t seed = 2026;
	uint8_t b[MB_MAX];
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = cm.m.len;
		memcpy(b, cm.m.b, len);
		if (iter % 4 == 3) {
			len = rng_next(&seed) % 300;
			for (size_t i = 0; i < len; i++)
				b[i] = (uint8_t)rng_next(&seed);
		} else {
			int flips = 1 + (int)(rng_next(&seed) % 4);
			for (int f = 0; f < flips; f++)
				b[rng_next(&seed) % len] = (uint8_t)rng_next(&seed);
			len -= rng_next(&seed) % 3 == 0 ? rng_next(&seed) % len : 0;
		}
		int err = dns_parse(b, len, msg);
		cr_assert(err <= DNS_OK && err >= DNS_ERR_FORMAT, "iteration %d: result %d", iter, err);
		cr_assert_leq(msg->n_questions, DNS_MAX_QUESTIONS);
		cr_assert_leq(msg->n_rrs, DNS_MAX_RRS);
		for (int i = 0; i < msg->n_questions; i++)
			assert_terminated(msg->q[i].name, sizeof(msg->q[i].name), "question name");
		for (int i = 0; i < msg->n_rrs; i++) {
			const struct dns_rr *r = &msg->rr[i];
			assert_terminated(r->name, sizeof(r->name), "owner");
			assert_terminated(r->target, sizeof(r->target), "target");
			assert_terminated(r->txt, sizeof(r->txt), "txt");
			cr_assert_leq(r->section, DNS_SEC_ADDITIONAL);
		}
	}
}
