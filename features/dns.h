/*
 * dns — one DNS or mDNS message (RFC 1035 section 4, RFC 6762) into a plain
 * struct.
 *
 * Two consumers read it: the per-device answer cache (A/AAAA addresses back to
 * the name asked for, through CNAME chains, with TTLs) and device identity from
 * mDNS (PTR service types, SRV targets and ports, instance and host names, TXT
 * records). The bytes are attacker-controlled, so every count is capped, every
 * read goes through a bounds-checked cursor, and every name is turned into safe
 * text (features/text.h) before it leaves this module.
 *
 * The parser keeps no state and allocates nothing; struct dns_msg is large
 * (about 112 KiB), so callers keep one on the heap and reuse it.
 */
#ifndef IOTIDS_DNS_H
#define IOTIDS_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "features/ipaddr.h"

/* Text form of a name, without trailing dot, in wire bytes: the limit of
 * RFC 1035 section 2.3.4 (the escaped text may be longer, see DNS_TEXT_MAX). */
#define DNS_NAME_MAX 255
/* Questions kept; more are parsed, skipped and counted. */
#define DNS_MAX_QUESTIONS 4
/* Resource records kept over the three sections; more are parsed, skipped and counted. */
#define DNS_MAX_RRS 48
/* TXT bytes kept: sanitised text of the record's strings joined by ';'. */
#define DNS_TXT_MAX 255
/* Compression pointers followed in one name before it is refused. Real
 * encoders need one or two; 16 leaves room for odd but honest ones. */
#define DNS_MAX_POINTERS 16

/* Buffer size of the text form of any legal name, NUL included, so names are
 * never cut. The longest text comes from the fewest labels carrying the most
 * bytes, every byte escaped: 255 wire bytes hold at most 250 label bytes in 4
 * labels (63+63+63+61, plus 4 length bytes and the root byte). Each label byte
 * becomes at most 4 text bytes ("\xHH"; a kept UTF-8 sequence is never longer
 * than its bytes), and 3 dots join the labels: 4 * 250 + 3 + 1 = 1004. */
#define DNS_TEXT_MAX 1004

#define DNS_TYPE_A 1
#define DNS_TYPE_NS 2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA 6
#define DNS_TYPE_PTR 12
#define DNS_TYPE_MX 15
#define DNS_TYPE_TXT 16
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_SRV 33
#define DNS_TYPE_OPT 41
#define DNS_TYPE_NSEC 47
#define DNS_TYPE_HTTPS 65
#define DNS_TYPE_ANY 255

#define DNS_CLASS_IN 1

enum dns_section { DNS_SEC_ANSWER, DNS_SEC_AUTHORITY, DNS_SEC_ADDITIONAL };

enum dns_error {             /* negative return values */
	DNS_OK = 0,
	DNS_ERR_TRUNCATED = -1, /* the message ends inside a header, name or record */
	DNS_ERR_POINTER = -2,   /* a compression pointer loops, points forward/at itself, or too many are followed */
	DNS_ERR_NAME = -3,      /* a name longer than 255 wire bytes, more than 127 labels, or a reserved label type (0x40/0x80) */
	DNS_ERR_FORMAT = -4,    /* anything else malformed (e.g. rdlength inconsistent with A/AAAA size) */
};

struct dns_question {
	char name[DNS_TEXT_MAX];
	uint16_t qtype;
	uint16_t qclass;        /* without the mDNS unicast-response bit */
	bool unicast_response;  /* mDNS QU bit (top bit of the class, RFC 6762 section 5.4) */
};

struct dns_rr {
	char name[DNS_TEXT_MAX];   /* owner name, text form */
	uint16_t type;             /* DNS_TYPE_A ... */
	uint16_t rclass;           /* without the mDNS cache-flush bit; OPT: the whole field (UDP payload size) */
	bool cache_flush;          /* mDNS (top bit of the class, RFC 6762 section 10.2); never set for OPT */
	uint8_t section;           /* enum dns_section */
	uint32_t ttl;              /* OPT: extended rcode and flags, as on the wire */
	struct ip_addr addr;       /* A, AAAA (A stored v4-mapped, see ipaddr.h); zero otherwise */
	char target[DNS_TEXT_MAX]; /* CNAME, PTR, NS, SRV target ("" otherwise) */
	uint16_t srv_port;         /* SRV */
	char txt[DNS_TXT_MAX + 1]; /* TXT: sanitised strings joined by ';' (cut if longer) */
	bool txt_cut;              /* TXT: txt holds only a prefix, cut at a character boundary */
};

struct dns_msg {
	uint16_t id;
	bool response;       /* QR */
	uint8_t opcode, rcode;
	bool truncated_flag; /* TC */
	uint16_t qdcount, ancount, nscount, arcount; /* as declared in the header */
	uint8_t n_questions;
	struct dns_question q[DNS_MAX_QUESTIONS];
	uint8_t n_rrs;
	struct dns_rr rr[DNS_MAX_RRS]; /* in message order */
	uint16_t skipped;              /* questions/records parsed but not kept (over the caps) */
};

/* Parses one message, msg[0..len): a UDP payload, or a TCP segment's payload
 * after the caller has stripped the 2-byte length. Returns DNS_OK or a
 * negative enum dns_error.
 *
 * On an error, *out holds every question and record completely parsed before
 * the fault (so a truncated answer section still yields its first answers);
 * the record being parsed when the fault happened is not kept.
 *
 * Every scalar field of *out and the entries q[0..n_questions) and
 * rr[0..n_rrs) are always set, whatever the result; entries past the counts
 * are left as they were (clearing 112 KiB per message would cost more than
 * parsing it) and must not be read. Names keep their letter case: use
 * dns_name_lower() before keying a cache on them. */
int dns_parse(const uint8_t *msg, size_t len, struct dns_msg *out) __attribute__((warn_unused_result));

/* Human name of an enum dns_error ("truncated", "compression pointer", ...);
 * "unknown" for any other value. Never NULL. */
const char *dns_error_name(int err);

/* Lower-cases the ASCII letters of a text name in place; every other byte
 * (UTF-8, escapes, whose hex digits are already lower case) is left alone.
 * DNS names compare case-insensitively in ASCII only (RFC 4343). */
void dns_name_lower(char *name);

#endif
