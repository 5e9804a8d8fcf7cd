/*
 * dnsmsg — DNS wire-format messages (RFC 1035), for unicast DNS and mDNS.
 *
 * Sections must be appended in order: questions, answers, authority,
 * additional. Owner names and the names inside CNAME/PTR/SRV rdata are
 * compressed against every name written before, as real servers do.
 */
#ifndef IOTGEN_DNSMSG_H
#define IOTGEN_DNSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "pcaps/gen/wbuf.h"

#define DNSM_A 1
#define DNSM_NS 2
#define DNSM_CNAME 5
#define DNSM_SOA 6
#define DNSM_PTR 12
#define DNSM_TXT 16
#define DNSM_AAAA 28
#define DNSM_SRV 33
#define DNSM_ANY 255

#define DNSM_IN 1
#define DNSM_FLUSH 0x8000 /* mDNS cache-flush bit in a record's class */
#define DNSM_QU 0x8000    /* mDNS unicast-response bit in a question's class */

/* Header flags. */
#define DNSM_QR 0x8000
#define DNSM_AA 0x0400
#define DNSM_RD 0x0100
#define DNSM_RA 0x0080
#define DNSM_NXDOMAIN 3

enum dnsm_section { DNSM_QD, DNSM_AN, DNSM_NSEC, DNSM_AR };

#define DNSM_MAXNAMES 48

struct dnsm {
	struct wb b;
	int section;
	size_t nnames;
	struct {
		const char *suffix; /* points into the caller's name string */
		uint16_t off;
	} names[DNSM_MAXNAMES];
};

void dnsm_init(struct dnsm *m, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags);
void dnsm_question(struct dnsm *m, const char *name, uint16_t type, uint16_t klass);
/* A record with opaque rdata (A, AAAA, TXT...). */
void dnsm_rr(struct dnsm *m, enum dnsm_section sec, const char *name, uint16_t type,
	     uint16_t klass, uint32_t ttl, const void *rdata, size_t rdlen);
/* A record whose rdata is one name (CNAME, PTR, NS). */
void dnsm_rr_name(struct dnsm *m, enum dnsm_section sec, const char *name, uint16_t type,
		  uint16_t klass, uint32_t ttl, const char *target);
void dnsm_rr_srv(struct dnsm *m, enum dnsm_section sec, const char *name, uint16_t klass,
		 uint32_t ttl, uint16_t prio, uint16_t weight, uint16_t port, const char *target);
/* The SOA of a negative answer (RFC 2308); minimum doubles as its TTL. */
void dnsm_rr_soa(struct dnsm *m, const char *zone, const char *mname, const char *rname,
		 uint32_t serial, uint32_t minimum);
/* Message length, or 0 if it did not fit or a name was malformed.
 * Names must stay valid until dnsm_finish (they are compression targets). */
size_t dnsm_finish(struct dnsm *m);

#endif
