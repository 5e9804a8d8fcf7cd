/*
 * The DNS/mDNS parser on a whole message. Whatever the result, everything
 * kept is within its caps and every name is safe text; a message parsed once
 * parses the same way again (the parser keeps no state).
 */
#include "tests/fuzz/fuzz.h"

#include "features/dns.h"

static struct dns_msg msg, again;

static void check_msg(const struct dns_msg *m)
{
	FUZZ_CHECK(m->n_questions <= DNS_MAX_QUESTIONS);
	FUZZ_CHECK(m->n_rrs <= DNS_MAX_RRS);
	for (int i = 0; i < m->n_questions; i++)
		fuzz_check_text(m->q[i].name, sizeof(m->q[i].name));
	for (int i = 0; i < m->n_rrs; i++) {
		const struct dns_rr *r = &m->rr[i];
		fuzz_check_text(r->name, sizeof(r->name));
		fuzz_check_text(r->target, sizeof(r->target));
		fuzz_check_text(r->txt, sizeof(r->txt));
		FUZZ_CHECK(r->section <= DNS_SEC_ADDITIONAL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy: ASan then catches a read one past the message. */
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	int rc = dns_parse(p, size, &msg);
	FUZZ_CHECK(rc <= DNS_OK && rc >= DNS_ERR_FORMAT);
	FUZZ_CHECK(strcmp(dns_error_name(rc), "unknown") != 0);
	check_msg(&msg);
	int rc2 = dns_parse(p, size, &again);
	FUZZ_CHECK(rc2 == rc && again.n_rrs == msg.n_rrs && again.n_questions == msg.n_questions);
	for (int i = 0; i < msg.n_rrs; i++) {
		FUZZ_CHECK(strcmp(msg.rr[i].name, again.rr[i].name) == 0);
		dns_name_lower(msg.rr[i].name);
		fuzz_check_text(msg.rr[i].name, sizeof(msg.rr[i].name));
	}
	free(p);
	return 0;
}
