/*
 * dns — see dns.h for the contract.
 *
 * The message is read front to back with one cursor; names that point back
 * into the message get a second cursor over the whole message, so a name read
 * inside a record's data can never consume bytes past that record's rdlength,
 * while its pointers still reach anywhere earlier in the message.
 *
 * Compression loops are impossible by construction rather than detected: a
 * pointer must point before the start of the run of labels it ends (the
 * start of the name, or the previous pointer's target), so the offsets a name
 * visits strictly decrease. "Before the pointer itself" would not be enough:
 * a label followed by a pointer back to that label loops forever. The cap of
 * DNS_MAX_POINTERS and the 255-byte name limit bound the work further.
 *
 * Records over the caps are still parsed, so an error anywhere in the message
 * is reported and `skipped` counts records, not guesses. Rejected: stopping at
 * the caps (a flood of answers would hide a malformed tail) and a visited-set
 * for loop detection (more state, same result).
 */
#include "features/dns.h"

#include <string.h>

#include "features/cursor.h"
#include "features/text.h"

/* Callers keep one struct dns_msg per parser on the heap; it must stay small
 * enough that keeping one per thread is never a question. */
_Static_assert(sizeof(struct dns_msg) < 256 * 1024, "struct dns_msg outgrew 256 KiB");
/* The derivation in dns.h: 250 label bytes, 4 text bytes each, 3 dots, NUL. */
_Static_assert(DNS_TEXT_MAX >= 4 * 250 + 3 + 1, "DNS_TEXT_MAX cannot hold the longest escaped name");

#define HEADER_LEN 12
#define LABEL_MAX 63 /* RFC 1035 section 2.3.4: the length byte's top two bits are the label type */
/* Text of one TXT string: at most 4 text bytes per byte, and a NUL. */
#define TXT_STRING_TEXT_MAX (4 * 255 + 1)

#define LABEL_TYPE_MASK 0xc0
#define LABEL_NORMAL 0x00
#define LABEL_POINTER 0xc0

/* The top bit of a class: mDNS unicast-response (questions) or cache-flush
 * (records), RFC 6762 sections 5.4 and 10.2. No unicast DNS class uses it
 * except the private-use range, so it is split off whatever the port. */
#define CLASS_TOP_BIT 0x8000u

/*
 * A name is a sequence of labels ending in the root label (a zero byte) or in
 * a compression pointer (RFC 1035 sections 3.1 and 4.1.4):
 *
 *     +--+--+--+--+--+--+--+--+                 +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     | 0  0|     LENGTH      | LENGTH bytes    | 1  1|              OFFSET                     |
 *     +--+--+--+--+--+--+--+--+                 +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 * Label types 01 and 10 (RFC 6891 retired the one extended type) are refused.
 *
 * Reads the name at c into out (text form); c moves past the name's bytes in
 * place, up to and including its first pointer. Pointers are resolved within
 * whole, which shares c's base and spans the message.
 */
static int read_name(const struct cursor *whole, struct cursor *c, char *out, size_t outlen)
{
	struct text_buf t;
	text_buf_init(&t, out, outlen);
	struct cursor jump;
	struct cursor *at = c;
	size_t run_start = c->off;
	unsigned pointers = 0, labels = 0;
	size_t wire = 1; /* the root label; 127 labels at most follows, each adds at least 2 */
	for (;;) {
		uint8_t b;
		if (!cur_u8(at, &b))
			return DNS_ERR_TRUNCATED;
		if ((b & LABEL_TYPE_MASK) == LABEL_NORMAL) {
			if (b == 0)
				return DNS_OK;
			wire += 1u + b;
			if (wire > DNS_NAME_MAX)
				return DNS_ERR_NAME;
			uint8_t label[LABEL_MAX];
			if (!cur_bytes(at, label, b))
				return DNS_ERR_TRUNCATED;
			if (labels++ > 0)
				text_buf_put(&t, ".", 1);
			text_buf_put_label(&t, label, b, false);
		} else if ((b & LABEL_TYPE_MASK) == LABEL_POINTER) {
			uint8_t lo;
			if (!cur_u8(at, &lo))
				return DNS_ERR_TRUNCATED;
			size_t target = (size_t)(b & ~LABEL_TYPE_MASK) << 8 | lo;
			if (++pointers > DNS_MAX_POINTERS || target >= run_start)
				return DNS_ERR_POINTER;
			cur_init(&jump, whole->base, whole->len);
			if (!cur_skip(&jump, target))
				return DNS_ERR_POINTER; /* unreachable: target < run_start <= len */
			run_start = target;
			at = &jump;
		} else {
			return DNS_ERR_NAME;
		}
	}
}

/* A name inside rdata that runs out of rdata is a malformed record, not a
 * short message: the rdata was whole. */
static int read_rdata_name(const struct cursor *whole, struct cursor *rd, char *out)
{
	int err = read_name(whole, rd, out, DNS_TEXT_MAX);
	return err == DNS_ERR_TRUNCATED ? DNS_ERR_FORMAT : err;
}

/* TXT rdata (RFC 1035 section 3.3.14): one or more <length><bytes> strings.
 * Each is sanitised on its own and they are joined by ';'; the strings past
 * DNS_TXT_MAX are still checked for framing. */
static int read_txt(struct cursor *rd, struct dns_rr *rr)
{
	size_t len = 0;
	bool first = true;
	while (cur_left(rd) > 0) {
		uint8_t n;
		uint8_t s[255];
		if (!cur_u8(rd, &n) || !cur_bytes(rd, s, n))
			return DNS_ERR_FORMAT;
		if (rr->txt_cut)
			continue;
		char tmp[TXT_STRING_TEXT_MAX];
		size_t tlen = text_sanitize(tmp, sizeof(tmp), s, n);
		size_t sep = first ? 0 : 1;
		first = false;
		if (len + sep + tlen <= DNS_TXT_MAX) {
			if (sep)
				rr->txt[len++] = ';';
			memcpy(rr->txt + len, tmp, tlen);
			len += tlen;
			rr->txt[len] = '\0';
			continue;
		}
		/* What fits, cut where text_sanitize cuts: at a character boundary. */
		rr->txt_cut = true;
		if (sep && len < DNS_TXT_MAX)
			rr->txt[len++] = ';';
		len += text_sanitize(rr->txt + len, sizeof(rr->txt) - len, s, n);
		rr->txt[len] = '\0';
	}
	return DNS_OK;
}

static int read_rdata(const struct cursor *whole, struct cursor *rd, struct dns_rr *rr)
{
	switch (rr->type) {
	case DNS_TYPE_A: {
		uint8_t v4[4];
		if (cur_left(rd) != sizeof(v4) || !cur_bytes(rd, v4, sizeof(v4)))
			return DNS_ERR_FORMAT;
		ip_from_v4(&rr->addr, v4);
		return DNS_OK;
	}
	case DNS_TYPE_AAAA: {
		uint8_t v6[16];
		if (cur_left(rd) != sizeof(v6) || !cur_bytes(rd, v6, sizeof(v6)))
			return DNS_ERR_FORMAT;
		ip_from_v6(&rr->addr, v6);
		return DNS_OK;
	}
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
	case DNS_TYPE_NS:
		return read_rdata_name(whole, rd, rr->target);
	case DNS_TYPE_SRV: {
		/* RFC 2782: priority, weight, port, target. */
		uint16_t priority, weight;
		if (!cur_be16(rd, &priority) || !cur_be16(rd, &weight) || !cur_be16(rd, &rr->srv_port))
			return DNS_ERR_FORMAT;
		return read_rdata_name(whole, rd, rr->target);
	}
	case DNS_TYPE_TXT:
		return read_txt(rd, rr);
	default:
		/* OPT options and every other type: owner, type and TTL are what
		 * the consumers use; the data is skipped. */
		return DNS_OK;
	}
}

/*
 * A resource record (RFC 1035 section 4.1.3); bytes left over after a name in
 * rdata are ignored, as resolvers do.
 *
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     /                     NAME                      /
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     |                     TYPE                      |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     |CF|                 CLASS                      |   CF: mDNS cache-flush
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     |                      TTL                      |
 *     |                                               |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     |                   RDLENGTH                    |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     /                     RDATA                     /
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 */
static int read_rr(const struct cursor *whole, struct cursor *c, struct dns_rr *rr, uint8_t section)
{
	memset(rr, 0, sizeof(*rr));
	rr->section = section;
	int err = read_name(whole, c, rr->name, sizeof(rr->name));
	if (err)
		return err;
	uint16_t rclass, rdlength;
	if (!cur_be16(c, &rr->type) || !cur_be16(c, &rclass) || !cur_be32(c, &rr->ttl) || !cur_be16(c, &rdlength))
		return DNS_ERR_TRUNCATED;
	if (rr->type == DNS_TYPE_OPT) {
		/* The OPT class is the sender's UDP payload size (RFC 6891), not a class. */
		rr->rclass = rclass;
	} else {
		rr->rclass = rclass & ~CLASS_TOP_BIT;
		rr->cache_flush = (rclass & CLASS_TOP_BIT) != 0;
	}
	struct cursor rd = *c;
	if (!cur_skip(c, rdlength))
		return DNS_ERR_TRUNCATED;
	cur_limit(&rd, rdlength);
	return read_rdata(whole, &rd, rr);
}

/* RFC 1035 section 4.1.2. */
static int read_question(const struct cursor *whole, struct cursor *c, struct dns_question *q)
{
	int err = read_name(whole, c, q->name, sizeof(q->name));
	if (err)
		return err;
	uint16_t qclass;
	if (!cur_be16(c, &q->qtype) || !cur_be16(c, &qclass))
		return DNS_ERR_TRUNCATED;
	q->qclass = qclass & ~CLASS_TOP_BIT;
	q->unicast_response = (qclass & CLASS_TOP_BIT) != 0;
	return DNS_OK;
}

/* Reads the local copy of the header, never packet memory. */
static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void count_skipped(struct dns_msg *out)
{
	if (out->skipped < UINT16_MAX)
		out->skipped++;
}

/*
 * The header (RFC 1035 section 4.1.1; AD and CD from RFC 4035):
 *
 *                                     1  1  1  1  1  1
 *       0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     |                      ID                       |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     |                    QDCOUNT                    |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     |                    ANCOUNT                    |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     |                    NSCOUNT                    |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     |                    ARCOUNT                    |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 * then QDCOUNT questions and ANCOUNT + NSCOUNT + ARCOUNT records. The counts
 * are believed only as far as the bytes go: every question takes at least 5
 * bytes and every record 11, so the loops end at the message's end.
 */
int dns_parse(const uint8_t *msg, size_t len, struct dns_msg *out)
{
	out->id = 0;
	out->response = false;
	out->opcode = 0;
	out->rcode = 0;
	out->truncated_flag = false;
	out->qdcount = out->ancount = out->nscount = out->arcount = 0;
	out->n_questions = 0;
	out->n_rrs = 0;
	out->skipped = 0;

	struct cursor whole;
	cur_init(&whole, msg, len);
	struct cursor c = whole;
	/* Copied out whole, so a short header leaves every field zero rather
	 * than half of them read. */
	uint8_t h[HEADER_LEN];
	if (!cur_bytes(&c, h, sizeof(h)))
		return DNS_ERR_TRUNCATED;
	out->id = be16(h);
	uint16_t flags = be16(h + 2);
	out->qdcount = be16(h + 4);
	out->ancount = be16(h + 6);
	out->nscount = be16(h + 8);
	out->arcount = be16(h + 10);
	out->response = (flags & 0x8000) != 0;
	out->opcode = (uint8_t)(flags >> 11 & 0xf);
	out->truncated_flag = (flags & 0x0200) != 0;
	out->rcode = (uint8_t)(flags & 0xf);

	for (unsigned i = 0; i < out->qdcount; i++) {
		struct dns_question scratch;
		bool keep = out->n_questions < DNS_MAX_QUESTIONS;
		struct dns_question *q = keep ? &out->q[out->n_questions] : &scratch;
		int err = read_question(&whole, &c, q);
		if (err)
			return err;
		if (keep)
			out->n_questions++;
		else
			count_skipped(out);
	}

	unsigned an_end = out->ancount, ns_end = an_end + out->nscount, total = ns_end + out->arcount;
	for (unsigned i = 0; i < total; i++) {
		uint8_t section = i < an_end ? DNS_SEC_ANSWER : i < ns_end ? DNS_SEC_AUTHORITY : DNS_SEC_ADDITIONAL;
		struct dns_rr scratch;
		bool keep = out->n_rrs < DNS_MAX_RRS;
		struct dns_rr *rr = keep ? &out->rr[out->n_rrs] : &scratch;
		int err = read_rr(&whole, &c, rr, section);
		if (err)
			return err;
		if (keep)
			out->n_rrs++;
		else
			count_skipped(out);
	}
	return DNS_OK;
}

const char *dns_error_name(int err)
{
	switch (err) {
	case DNS_OK:
		return "ok";
	case DNS_ERR_TRUNCATED:
		return "truncated";
	case DNS_ERR_POINTER:
		return "compression pointer";
	case DNS_ERR_NAME:
		return "bad name";
	case DNS_ERR_FORMAT:
		return "malformed";
	default:
		return "unknown";
	}
}

void dns_name_lower(char *name)
{
	for (; *name; name++)
		if (*name >= 'A' && *name <= 'Z')
			*name = (char)(*name - 'A' + 'a');
}
