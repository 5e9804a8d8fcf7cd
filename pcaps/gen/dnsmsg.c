#include "pcaps/gen/dnsmsg.h"

#include <string.h>
#include <strings.h>

void dnsm_init(struct dnsm *m, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags)
{
	wb_init(&m->b, buf, cap);
	m->section = DNSM_QD;
	m->nnames = 0;
	wb_u16(&m->b, id);
	wb_u16(&m->b, flags);
	wb_zero(&m->b, 8);
}

static void count(struct dnsm *m, int sec)
{
	size_t at = 4 + 2 * (size_t)sec;
	uint16_t v;

	if (m->b.err)
		return;
	if (sec < m->section) {
		m->b.err = true; /* sections out of order */
		return;
	}
	m->section = sec;
	v = (uint16_t)(m->b.p[at] << 8 | m->b.p[at + 1]);
	v++;
	m->b.p[at] = (uint8_t)(v >> 8);
	m->b.p[at + 1] = (uint8_t)v;
}

static void put_name(struct dnsm *m, const char *name)
{
	const char *p = name;

	if (!strcmp(name, ".") || !*name) {
		wb_u8(&m->b, 0);
		return;
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		for (size_t i = 0; i < m->nnames; i++) {
			if (!strcasecmp(m->names[i].suffix, p)) {
				wb_u16(&m->b, 0xc000 | m->names[i].off);
				return;
			}
		}
		if (n == 0 || n > 63) {
			m->b.err = true;
			return;
		}
		if (m->nnames < DNSM_MAXNAMES && m->b.len < 0x3fff) {
			m->names[m->nnames].suffix = p;
			m->names[m->nnames].off = (uint16_t)m->b.len;
			m->nnames++;
		}
		wb_u8(&m->b, (uint8_t)n);
		wb_bytes(&m->b, p, n);
		p += n;
		if (*p == '.')
			p++;
	}
	wb_u8(&m->b, 0);
}

void dnsm_question(struct dnsm *m, const char *name, uint16_t type, uint16_t klass)
{
	count(m, DNSM_QD);
	put_name(m, name);
	wb_u16(&m->b, type);
	wb_u16(&m->b, klass);
}

static void rr_head(struct dnsm *m, enum dnsm_section sec, const char *name, uint16_t type,
		    uint16_t klass, uint32_t ttl)
{
	count(m, sec);
	put_name(m, name);
	wb_u16(&m->b, type);
	wb_u16(&m->b, klass);
	wb_u32(&m->b, ttl);
}

void dnsm_rr(struct dnsm *m, enum dnsm_section sec, const char *name, uint16_t type,
	     uint16_t klass, uint32_t ttl, const void *rdata, size_t rdlen)
{
	rr_head(m, sec, name, type, klass, ttl);
	wb_u16(&m->b, (uint16_t)rdlen);
	wb_bytes(&m->b, rdata, rdlen);
}

void dnsm_rr_name(struct dnsm *m, enum dnsm_section sec, const char *name, uint16_t type,
		  uint16_t klass, uint32_t ttl, const char *target)
{
	size_t mark;

	rr_head(m, sec, name, type, klass, ttl);
	mark = wb_mark(&m->b, 2);
	put_name(m, target);
	wb_patch(&m->b, mark, 2);
}

void dnsm_rr_srv(struct dnsm *m, enum dnsm_section sec, const char *name, uint16_t klass,
		 uint32_t ttl, uint16_t prio, uint16_t weight, uint16_t port, const char *target)
{
	size_t mark;

	rr_head(m, sec, name, DNSM_SRV, klass, ttl);
	mark = wb_mark(&m->b, 2);
	wb_u16(&m->b, prio);
	wb_u16(&m->b, weight);
	wb_u16(&m->b, port);
	put_name(m, target);
	wb_patch(&m->b, mark, 2);
}

void dnsm_rr_soa(struct dnsm *m, const char *zone, const char *mname, const char *rname,
		 uint32_t serial, uint32_t minimum)
{
	size_t mark;

	rr_head(m, DNSM_NSEC, zone, DNSM_SOA, DNSM_IN, minimum);
	mark = wb_mark(&m->b, 2);
	put_name(m, mname);
	put_name(m, rname);
	wb_u32(&m->b, serial);
	wb_u32(&m->b, 7200);    /* refresh */
	wb_u32(&m->b, 900);     /* retry */
	wb_u32(&m->b, 1209600); /* expire */
	wb_u32(&m->b, minimum);
	wb_patch(&m->b, mark, 2);
}

size_t dnsm_finish(struct dnsm *m)
{
	return wb_done(&m->b);
}
