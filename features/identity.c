#include "features/identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ident_table {
	struct intern *names;
};

struct ident_table *ident_new(struct intern *names)
{
	struct ident_table *t = calloc(1, sizeof(*t));
	if (t)
		t->names = names;
	return t;
}

void ident_free(struct ident_table *t)
{
	free(t);
}

static struct ident_rec *rec_for(struct device *d)
{
	if (!d->ident)
		d->ident = calloc(1, sizeof(struct ident_rec));
	return d->ident;
}

void ident_add(struct ident_table *t, struct device *d, enum ident_source src, const char *value, uint64_t now_us)
{
	if (!value || !*value)
		return;
	struct ident_rec *r = rec_for(d);
	if (!r)
		return;
	size_t len = strlen(value);
	for (uint8_t i = 0; i < r->n_evidence; i++) {
		struct ident_evidence *e = &r->evidence[i];
		if (e->source == src && iname_len(e->value) == len && memcmp(iname_str(e->value), value, len) == 0) {
			if (now_us > e->last_us)
				e->last_us = now_us;
			e->count++;
			return;
		}
	}
	struct iname *v;
	/* A device not yet settled (a spoofed source) gets no room from the
	 * name table's reserve (intern.h, device.h). */
	if (r->n_evidence == IDENT_MAX_EVIDENCE ||
	    !(v = d->fresh ? intern_get_limited(t->names, value, len) : intern_get(t->names, value, len))) {
		r->evidence_dropped++;
		return;
	}
	r->evidence[r->n_evidence++] =
		(struct ident_evidence){.source = (uint8_t)src, .value = v, .first_us = now_us, .last_us = now_us, .count = 1};
}

void ident_add_name(struct device *d, struct iname *name, uint64_t now_us)
{
	if (!name)
		return;
	struct ident_rec *r = rec_for(d);
	if (!r)
		return;
	for (uint8_t i = 0; i < r->n_names; i++)
		if (r->names[i].name == name) { /* interned: equal names are one pointer */
			if (now_us > r->names[i].last_us)
				r->names[i].last_us = now_us;
			r->names[i].flows++;
			return;
		}
	if (r->n_names == IDENT_MAX_NAMES) {
		r->names_dropped++;
		return;
	}
	r->names[r->n_names++] =
		(struct ident_name){.name = intern_ref(name), .first_us = now_us, .last_us = now_us, .flows = 1};
}

void ident_device_gone(struct ident_table *t, struct device *d)
{
	struct ident_rec *r = d->ident;
	if (!r)
		return;
	for (uint8_t i = 0; i < r->n_evidence; i++)
		intern_put(t->names, r->evidence[i].value);
	for (uint8_t i = 0; i < r->n_names; i++)
		intern_put(t->names, r->names[i].name);
	free(r);
	d->ident = NULL;
}

const struct ident_rec *ident_get(const struct device *d)
{
	return d->ident;
}

static const struct ident_evidence *latest(const struct ident_rec *r, enum ident_source src)
{
	const struct ident_evidence *best = NULL;
	for (uint8_t i = 0; i < r->n_evidence; i++)
		if (r->evidence[i].source == src && (!best || r->evidence[i].last_us > best->last_us))
			best = &r->evidence[i];
	return best;
}

const char *ident_hostname(const struct device *d, char *buf, size_t len)
{
	const struct ident_rec *r = d->ident;
	if (!r || len == 0)
		return NULL;
	const struct ident_evidence *e = latest(r, IDENT_DHCP_HOSTNAME);
	if (e) {
		snprintf(buf, len, "%s", iname_str(e->value));
		return buf;
	}
	e = latest(r, IDENT_MDNS_HOSTNAME);
	if (!e)
		return NULL;
	const char *s = iname_str(e->value);
	size_t n = iname_len(e->value);
	if (n > 6 && strcmp(s + n - 6, ".local") == 0)
		n -= 6;
	snprintf(buf, len, "%.*s", (int)n, s);
	return buf;
}

const char *ident_source_name(enum ident_source src)
{
#define IDENT_NAME(id, name) [IDENT_##id] = name,
	static const char *const names[] = {IDENT_SOURCES(IDENT_NAME)};
#undef IDENT_NAME
	return (unsigned)src < IDENT_SOURCE_COUNT ? names[src] : "unknown";
}
