#include "features/dpi.h"

#include <ndpi/ndpi_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/text.h"

#define PROTO_TCP 6
#define PROTO_UDP 17

struct dpi {
	struct ndpi_detection_module_struct *ndpi;
	struct ndpi_flow_struct **states; /* slot -> state; NULL once freed */
	uint32_t *free_slots;
	uint32_t n_free, max_states;
	struct dpi_stats stats;
};

struct dpi *dpi_new(uint32_t max_states, char *err, size_t errlen)
{
	struct dpi *d = calloc(1, sizeof(*d));
	if (!d || max_states == 0)
		goto fail;
	d->max_states = max_states;
	d->states = calloc(max_states, sizeof(*d->states));
	d->free_slots = malloc((size_t)max_states * sizeof(*d->free_slots));
	if (!d->states || !d->free_slots)
		goto fail;
	/* Slots are handed out lowest first, which keeps runs deterministic. */
	for (uint32_t i = 0; i < max_states; i++)
		d->free_slots[i] = max_states - 1 - i;
	d->n_free = max_states;
	d->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
	if (!d->ndpi) {
		snprintf(err, errlen, "nDPI: cannot initialise the detection module");
		dpi_free(d);
		return NULL;
	}
	NDPI_PROTOCOL_BITMASK all;
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(d->ndpi, &all);
	ndpi_finalize_initialization(d->ndpi);
	return d;
fail:
	snprintf(err, errlen, max_states ? "nDPI: out of memory" : "nDPI: max_states must be > 0");
	dpi_free(d);
	return NULL;
}

void dpi_free(struct dpi *d)
{
	if (!d)
		return;
	for (uint32_t i = 0; d->states && i < d->max_states; i++)
		if (d->states[i])
			ndpi_free_flow(d->states[i]);
	free(d->states);
	free(d->free_slots);
	if (d->ndpi)
		ndpi_exit_detection_module(d->ndpi);
	free(d);
}

/* The protocol nDPI found, and the server name it saw for it, if any. */
static void take_result(struct flow *f, const struct ndpi_flow_struct *s, ndpi_protocol p, struct dpi_result *out)
{
	f->l7_master = p.master_protocol;
	f->l7_app = p.app_protocol;
	f->l7_category = (uint16_t)p.category;
	/* host_server_name also holds DNS queries and DHCP names, which are
	 * not the flow's destination. */
	uint16_t m = p.master_protocol ? p.master_protocol : p.app_protocol;
	uint8_t src = FLOW_NAME_NONE;
	if (m == NDPI_PROTOCOL_TLS || m == NDPI_PROTOCOL_QUIC || m == NDPI_PROTOCOL_DTLS)
		src = FLOW_NAME_SNI;
	else if (m == NDPI_PROTOCOL_HTTP || m == NDPI_PROTOCOL_HTTP_PROXY || m == NDPI_PROTOCOL_HTTP_CONNECT)
		src = FLOW_NAME_HTTP;
	size_t n = strnlen(s->host_server_name, sizeof(s->host_server_name));
	if (src != FLOW_NAME_NONE && n > 0) {
		out->host_source = src;
		text_sanitize(out->host, sizeof(out->host), (const uint8_t *)s->host_server_name, n);
	}
}

static void record(struct dpi *d, struct flow *f, ndpi_protocol p, struct dpi_result *out)
{
	struct ndpi_flow_struct *s = d->states[f->l7_slot];
	if (p.master_protocol == NDPI_PROTOCOL_UNKNOWN && p.app_protocol == NDPI_PROTOCOL_UNKNOWN)
		d->stats.unknown++;
	else
		d->stats.classified++;
	out->finished = true;
	take_result(f, s, p, out);
	ndpi_free_flow(s);
	d->states[f->l7_slot] = NULL;
	d->free_slots[d->n_free++] = f->l7_slot;
	d->stats.active--;
	f->l7_state = DPI_DONE;
}

void dpi_packet(struct dpi *d, struct flow *f, const struct pkt_meta *m, struct dpi_result *out)
{
	memset(out, 0, sizeof(*out));
	if (f->l7_state == DPI_DONE || f->l7_state == DPI_NO_STATE || !m->l3_hdr)
		return;
	bool l4 = f->proto == PROTO_TCP || f->proto == PROTO_UDP;
	if (f->l7_state == DPI_WAITING) {
		if (l4 && m->payload_len == 0)
			return;
		if (d->n_free == 0) {
			f->l7_state = DPI_NO_STATE;
			d->stats.no_state++;
			return;
		}
		struct ndpi_flow_struct *s = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
		if (!s) {
			f->l7_state = DPI_NO_STATE;
			d->stats.no_state++;
			return;
		}
		memset(s, 0, SIZEOF_FLOW_STRUCT);
		f->l7_slot = d->free_slots[--d->n_free];
		d->states[f->l7_slot] = s;
		f->l7_state = DPI_RUNNING;
		if (++d->stats.active > d->stats.peak)
			d->stats.peak = d->stats.active;
	}
	struct ndpi_flow_struct *s = d->states[f->l7_slot];
	uint16_t len = m->l3_len > UINT16_MAX ? UINT16_MAX : (uint16_t)m->l3_len;
	ndpi_protocol p = ndpi_detection_process_packet(d->ndpi, s, m->l3_hdr, len, m->ts_us / 1000);
	f->l7_packets++;
	bool known = p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN;
	if (known && !ndpi_extra_dissection_possible(d->ndpi, s)) {
		record(d, f, p, out);
		return;
	}
	/* TLS is read on for the certificate, but the server name is there
	 * from the ClientHello: the flow can be named now, before it is scored. */
	if (known)
		take_result(f, s, p, out);
	if (f->l7_packets >= DPI_MAX_PACKETS)
		dpi_flow_end(d, f, out);
}

static uint32_t v4_host_order(const struct ip_addr *ip)
{
	return ip_is_v4(ip) ? (uint32_t)ip->b[12] << 24 | (uint32_t)ip->b[13] << 16 | (uint32_t)ip->b[14] << 8 | ip->b[15]
			    : 0;
}

bool dpi_unclassified(const struct flow *f)
{
	return f->l7_state == DPI_WAITING || f->l7_state == DPI_NO_STATE;
}

void dpi_guess(const struct dpi *d, const struct flow *f, uint16_t *master, uint16_t *app, uint16_t *category)
{
	ndpi_protocol p = ndpi_guess_undetected_protocol(d->ndpi, NULL, f->proto, v4_host_order(&f->src), f->sport,
							 v4_host_order(&f->dst), f->dport);
	*master = p.master_protocol;
	*app = p.app_protocol;
	*category = (uint16_t)p.category;
}

void dpi_flow_end(struct dpi *d, struct flow *f, struct dpi_result *out)
{
	memset(out, 0, sizeof(*out));
	if (f->l7_state != DPI_RUNNING)
		return;
	uint8_t guessed = 0;
	ndpi_protocol p = ndpi_detection_giveup(d->ndpi, d->states[f->l7_slot], 1, &guessed);
	record(d, f, p, out);
}

const char *dpi_proto_name(const struct dpi *d, uint16_t master, uint16_t app, char *buf, size_t len)
{
	ndpi_protocol p = {master, app, NDPI_PROTOCOL_CATEGORY_UNSPECIFIED};
	return ndpi_protocol2name(d->ndpi, p, buf, (u_int)len);
}

const char *dpi_category_name(const struct dpi *d, uint16_t category)
{
	return ndpi_category_get_name(d->ndpi, (ndpi_protocol_category_t)category);
}

const struct dpi_stats *dpi_stats(const struct dpi *d)
{
	return &d->stats;
}
