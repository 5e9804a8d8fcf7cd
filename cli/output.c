/*
 * output — flows, devices and windows as JSON lines and as text tables.
 *
 * JSON goes through jansson so that no string is ever escaped by hand; keys
 * keep insertion order, so the same replay prints the same bytes.
 *
 * Every name a device or a remote gave (hostnames, evidence, destination
 * names, alert subjects) is safe text when it is made (features/text.h),
 * and is made safe again here, where it leaves: a fixed buffer on its way
 * may have cut it inside a character, and jansson refuses invalid UTF-8 (a
 * NULL value, and the field would be missing). In the text tables a name
 * is a cell of its column: padded, or cut with an ellipsis (text_cell), so
 * the columns after it stay where the header says; the last column of a
 * line is never cut.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "features/identity.h"
#include "features/intern.h"
#include "features/kind.h"
#include "features/text.h"

/* Bytes a table cell of w columns may need (four per column: a character
 * of four bytes, or an escape) and its padding, ellipsis and NUL. */
#define CELL(w) ((w) * 4 + 8)
/* Holds any name whole: the name table refuses longer ones. */
#define NAME_BUF (INTERN_MAX_LEN + 1)

char *out_time(uint64_t ts_us, char *buf, size_t len)
{
	time_t sec = (time_t)(ts_us / 1000000u);
	struct tm tm;
	if (!gmtime_r(&sec, &tm)) {
		snprintf(buf, len, "invalid");
		return buf;
	}
	char base[24];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06uZ", base, (unsigned)(ts_us % 1000000u));
	return buf;
}

static json_t *json_time(uint64_t ts_us)
{
	char buf[40];
	return json_string(out_time(ts_us, buf, sizeof(buf)));
}

static json_t *json_ip(const struct ip_addr *ip)
{
	char buf[IP_STRLEN];
	return json_string(ip_format(ip, buf, sizeof(buf)));
}

static json_t *json_mac(bool has, const uint8_t mac[6])
{
	char buf[18];
	return has ? json_string(dev_mac_format(mac, buf, sizeof(buf))) : json_null();
}

/* Integers beyond 2^53 lose nothing in jansson (json_int_t is 64-bit). */
static json_t *json_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static int emit(FILE *out, json_t *o)
{
	if (!o)
		return -1;
	/* Six digits keep scores short and the same on every run. */
	int rc = json_dumpf(o, out, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (rc != 0 || fputc('\n', out) == EOF)
		return -1;
	return 0;
}

/* "SAF" style: the flags a side sent, in tcpdump's letters. */
static const char *tcp_flag_letters(uint8_t flags, char buf[9])
{
	static const char letters[] = "FSRPAUEC";
	size_t n = 0;
	for (int i = 0; i < 8; i++)
		if (flags & (1u << i))
			buf[n++] = letters[i];
	buf[n] = '\0';
	return buf;
}

static json_t *side_json(const struct flow_side *s, bool tcp)
{
	char flags[9];
	json_t *o = json_object();
	json_object_set_new(o, "packets", json_u64(s->packets));
	json_object_set_new(o, "bytes", json_u64(s->bytes));
	if (tcp) {
		json_object_set_new(o, "tcp_flags", json_string(tcp_flag_letters(s->tcp_flags, flags)));
		json_object_set_new(o, "rsts", json_integer(s->rsts));
	}
	return o;
}

/* The MAC of the flow's local device, as the flow's "device". */
static const uint8_t *flow_device_mac(const struct flow *f)
{
	switch (f->dir) {
	case FLOW_DIR_OUTBOUND:
	case FLOW_DIR_LOCAL:
		return f->has_src_mac ? f->src_mac : NULL;
	case FLOW_DIR_INBOUND:
		return f->has_dst_mac ? f->dst_mac : NULL;
	default:
		return NULL;
	}
}

static uint64_t flow_first(const struct flow *f)
{
	if (!f->rev.packets)
		return f->fwd.first_us;
	if (!f->fwd.packets)
		return f->rev.first_us;
	return f->fwd.first_us < f->rev.first_us ? f->fwd.first_us : f->rev.first_us;
}

static const char *name_source(uint8_t src)
{
	switch (src) {
	case FLOW_NAME_DNS:
		return "dns";
	case FLOW_NAME_SNI:
		return "sni";
	case FLOW_NAME_HTTP:
		return "http";
	default:
		return NULL;
	}
}

/* A name as a JSON string (null for NULL), made safe first when it is not
 * (see the top of the file). NULL only out of memory. */
json_t *out_json_text(const char *s)
{
	if (!s)
		return json_null();
	if (text_is_safe(s))
		return json_string(s);
	char *t = text_safe_dup(s);
	json_t *j = t ? json_string(t) : NULL;
	free(t);
	return j;
}

json_t *out_json_bytes(const char *s)
{
	if (!s)
		return json_null();
	if (text_is_safe(s))
		return json_string(s);
	size_t n = strlen(s), cap = 4 * n + 1;
	char *t = malloc(cap);
	if (!t)
		return NULL;
	text_sanitize(t, cap, (const uint8_t *)s, n);
	json_t *j = json_string(t);
	free(t);
	return j;
}

/* nDPI's name for a protocol pair; NULL when nDPI is off. */
static const char *l7_name(const struct out_ctx *c, uint16_t master, uint16_t app, char *buf, size_t len)
{
	return c->dpi ? dpi_proto_name(c->dpi, master, app, buf, len) : NULL;
}

static const char *registrable(const struct out_ctx *c, const struct iname *n, char *buf, size_t len)
{
	return c->psl && n ? domain_registrable(c->psl, iname_str(n), buf, len) : NULL;
}

/* The CNAME chain is kept as names joined by newlines (see tracker.c). */
static json_t *chain_json(const struct iname *chain)
{
	json_t *a = json_array();
	if (!chain)
		return a;
	const char *s = iname_str(chain);
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		char *piece = strndup(s, n);
		json_array_append_new(a, piece ? out_json_text(piece) : NULL);
		free(piece);
		s += n + (nl != NULL);
	}
	return a;
}

struct flow_l7 {
	uint16_t master, app, category;
	bool guessed;
};

/* A flow's protocol, or nDPI's guess from its ports when it never had one. */
static struct flow_l7 flow_l7(const struct out_ctx *c, const struct flow *f)
{
	struct flow_l7 p = {f->l7_master, f->l7_app, f->l7_category, false};
	if (c->dpi && dpi_unclassified(f)) {
		dpi_guess(c->dpi, f, &p.master, &p.app, &p.category);
		p.guessed = true;
	}
	return p;
}

/* A flow as JSON; why is NULL for a flow still running (in an alert). */
static json_t *flow_object(const struct out_ctx *c, const struct flow *f, const enum flow_end *why)
{
	char pbuf[8];
	bool tcp = f->proto == 6;
	const uint8_t *dev = flow_device_mac(f);
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (why)
		json_object_set_new(o, "type", json_string("flow"));
	json_object_set_new(o, "id", json_u64(f->id));
	json_object_set_new(o, "src", json_ip(&f->src));
	json_object_set_new(o, "dst", json_ip(&f->dst));
	json_object_set_new(o, "sport", json_integer(f->sport));
	json_object_set_new(o, "dport", json_integer(f->dport));
	json_object_set_new(o, "transport", json_string(flow_proto_name(f->proto, pbuf, sizeof(pbuf))));
	json_object_set_new(o, "packets", json_u64(f->fwd.packets + f->rev.packets));
	json_object_set_new(o, "bytes", json_u64(f->fwd.bytes + f->rev.bytes));
	json_object_set_new(o, "device", json_mac(dev != NULL, dev));
	json_object_set_new(o, "direction", json_string(flow_dir_name(f->dir)));
	json_object_set_new(o, "src_mac", json_mac(f->has_src_mac, f->src_mac));
	json_object_set_new(o, "dst_mac", json_mac(f->has_dst_mac, f->dst_mac));
	json_object_set_new(o, "first_seen", json_time(flow_first(f)));
	json_object_set_new(o, "last_seen", json_time(f->last_us));
	json_object_set_new(o, "state", json_string(flow_state_name(f->state)));
	if (why)
		json_object_set_new(o, "end", json_string(flow_end_name(*why)));
	json_object_set_new(o, "failed", json_boolean(f->failed));
	if (tcp)
		json_object_set_new(o, "syn_unanswered", json_boolean(flow_syn_unanswered(f)));
	json_object_set_new(o, "fwd", side_json(&f->fwd, tcp));
	json_object_set_new(o, "rev", side_json(&f->rev, tcp));
	char l7[64], dom[256];
	struct flow_l7 p = flow_l7(c, f);
	json_object_set_new(o, "l7", out_json_text(l7_name(c, p.master, p.app, l7, sizeof(l7))));
	json_object_set_new(o, "l7_guessed", json_boolean(c->dpi && p.guessed));
	json_object_set_new(o, "category", out_json_text(c->dpi ? dpi_category_name(c->dpi, p.category) : NULL));
	json_object_set_new(o, "name", out_json_text(f->name ? iname_str(f->name) : NULL));
	json_object_set_new(o, "name_source", out_json_text(name_source(f->name_source)));
	json_object_set_new(o, "domain", out_json_text(registrable(c, f->name, dom, sizeof(dom))));
	json_object_set_new(o, "cname_chain", chain_json(f->cname));
	return o;
}

int out_flow_json(FILE *out, const struct out_ctx *c, const struct flow *f, enum flow_end why)
{
	return emit(out, flow_object(c, f, &why));
}


static json_t *ips_json(const struct device *d)
{
	json_t *a = json_array();
	for (uint8_t i = 0; i < d->n_ips; i++)
		json_array_append_new(a, json_ip(&d->ips[i]));
	return a;
}

static const char *device_vendor(const struct out_ctx *c, const struct device *d)
{
	return c->oui && d->has_mac ? oui_vendor(c->oui, d->mac) : NULL;
}

static json_t *evidence_json(const struct ident_rec *r)
{
	json_t *a = json_array();
	for (uint8_t i = 0; r && i < r->n_evidence; i++) {
		const struct ident_evidence *e = &r->evidence[i];
		json_t *x = json_object();
		json_object_set_new(x, "source", json_string(ident_source_name(e->source)));
		json_object_set_new(x, "value", out_json_text(iname_str(e->value)));
		json_object_set_new(x, "first_seen", json_time(e->first_us));
		json_object_set_new(x, "last_seen", json_time(e->last_us));
		json_object_set_new(x, "count", json_integer(e->count));
		json_array_append_new(a, x);
	}
	return a;
}

static json_t *names_json(const struct ident_rec *r)
{
	json_t *a = json_array();
	for (uint8_t i = 0; r && i < r->n_names; i++)
		json_array_append_new(a, out_json_text(iname_str(r->names[i].name)));
	return a;
}

int out_device_json(FILE *out, const struct out_ctx *c, const struct device *d)
{
	char host[NAME_BUF];
	const struct ident_rec *r = ident_get(d);
	json_t *o = json_object();
	if (!o)
		return -1;
	json_object_set_new(o, "type", json_string("device"));
	json_object_set_new(o, "id", json_u64(d->id));
	json_object_set_new(o, "mac", json_mac(d->has_mac, d->mac));
	json_object_set_new(o, "ips", ips_json(d));
	json_object_set_new(o, "first_seen", json_time(d->first_us));
	json_object_set_new(o, "last_seen", json_time(d->last_us));
	json_object_set_new(o, "packets_out", json_u64(d->packets_out));
	json_object_set_new(o, "packets_in", json_u64(d->packets_in));
	json_object_set_new(o, "bytes_out", json_u64(d->bytes_out));
	json_object_set_new(o, "bytes_in", json_u64(d->bytes_in));
	json_object_set_new(o, "flows_out", json_u64(d->flows_out));
	json_object_set_new(o, "flows_in", json_u64(d->flows_in));
	json_object_set_new(o, "vendor", out_json_text(device_vendor(c, d)));
	json_object_set_new(o, "hostname", out_json_text(ident_hostname(d, host, sizeof(host))));
	json_object_set_new(o, "kind", json_string(kind_classify(d, device_vendor(c, d))));
	json_object_set_new(o, "randomized_mac", json_boolean(d->has_mac && oui_mac_is_local(d->mac)));
	json_object_set_new(o, "evidence", evidence_json(r));
	json_object_set_new(o, "evidence_dropped", json_integer(r ? r->evidence_dropped : 0));
	json_object_set_new(o, "names", names_json(r));
	json_object_set_new(o, "names_dropped", json_integer(r ? r->names_dropped : 0));
	return emit(out, o);
}

/* A remote's destination: its name, else its address folded to /24 or /48. */
static const char *destination(const struct win_remote *r, char *buf, size_t len)
{
	if (r->name)
		return iname_str(r->name);
	struct ip_addr net = r->ip;
	char a[IP_STRLEN];
	if (ip_is_v4(&net)) {
		net.b[15] = 0;
		snprintf(buf, len, "%s/24", ip_format(&net, a, sizeof(a)));
	} else {
		memset(net.b + 6, 0, 10);
		snprintf(buf, len, "%s/48", ip_format(&net, a, sizeof(a)));
	}
	return buf;
}

int out_window_json(FILE *out, const struct out_ctx *c, const struct dev_window *w)
{
	char pbuf[8], dbuf[IP_STRLEN + 8], l7[64], dom[256];
	json_t *o = json_object();
	json_t *rs = json_array();
	if (!o || !rs) {
		json_decref(o);
		json_decref(rs);
		return -1;
	}
	for (uint32_t i = 0; i < w->n_remotes; i++) {
		const struct win_remote *r = &w->remotes[i];
		json_t *x = json_object();
		json_object_set_new(x, "destination", out_json_text(destination(r, dbuf, sizeof(dbuf))));
		json_object_set_new(x, "name", out_json_text(r->name ? iname_str(r->name) : NULL));
		json_object_set_new(x, "ip", json_ip(&r->ip));
		json_object_set_new(x, "port", json_integer(r->port));
		json_object_set_new(x, "transport", json_string(flow_proto_name(r->proto, pbuf, sizeof(pbuf))));
		json_object_set_new(x, "local", json_boolean(r->local));
		json_object_set_new(x, "inbound", json_boolean(r->inbound));
		json_object_set_new(x, "l7", out_json_text(l7_name(c, r->l7_master, r->l7_app, l7, sizeof(l7))));
		json_object_set_new(x, "category",
				    out_json_text(c->dpi && (r->l7_master || r->l7_app) ? dpi_category_name(c->dpi, r->l7_category)
										     : NULL));
		json_object_set_new(x, "domain", out_json_text(registrable(c, r->name, dom, sizeof(dom))));
		json_object_set_new(x, "flows", json_integer(r->flows));
		json_object_set_new(x, "packets", json_u64(r->packets));
		json_object_set_new(x, "bytes", json_u64(r->bytes));
		json_array_append_new(rs, x);
	}
	json_object_set_new(o, "type", json_string("window"));
	json_object_set_new(o, "device", json_mac(w->dev->has_mac, w->dev->mac));
	json_object_set_new(o, "ips", ips_json(w->dev));
	json_object_set_new(o, "start", json_time(w->start_us));
	json_object_set_new(o, "end", json_time(w->end_us));
	json_object_set_new(o, "partial", json_boolean(w->partial));
	json_object_set_new(o, "packets_out", json_u64(w->packets_out));
	json_object_set_new(o, "packets_in", json_u64(w->packets_in));
	json_object_set_new(o, "bytes_out", json_u64(w->bytes_out));
	json_object_set_new(o, "bytes_in", json_u64(w->bytes_in));
	json_object_set_new(o, "flows_out", json_integer(w->flows_out));
	json_object_set_new(o, "flows_in", json_integer(w->flows_in));
	json_object_set_new(o, "remote_hosts", json_integer(w->remote_hosts));
	json_object_set_new(o, "remote_ports", json_integer(w->remote_ports));
	json_object_set_new(o, "lan_peers", json_integer(w->lan_peers));
	json_object_set_new(o, "failed_conns", json_integer(w->failed_conns));
	json_object_set_new(o, "dns_queries", json_integer(w->dns_queries));
	json_object_set_new(o, "dns_nxdomain", json_integer(w->dns_nxdomain));
	json_object_set_new(o, "dns_long_names", json_integer(w->dns_long_names));
	json_object_set_new(o, "dns_txt", json_integer(w->dns_txt));
	json_object_set_new(o, "remotes", rs);
	json_object_set_new(o, "remotes_dropped", json_integer(w->remotes_dropped));
	return emit(out, o);
}

/* "addr:port", with IPv6 in brackets. */
static const char *endpoint(const struct ip_addr *ip, uint16_t port, char *buf, size_t len)
{
	char a[IP_STRLEN];
	ip_format(ip, a, sizeof(a));
	snprintf(buf, len, ip_is_v4(ip) ? "%s:%u" : "[%s]:%u", a, (unsigned)port);
	return buf;
}

void out_flow_header(FILE *out)
{
	fprintf(out, "%-6s %-46s %-46s %-8s %9s %12s %-17s %-11s %-7s %-20s %s\n", "PROTO", "SOURCE", "DESTINATION",
		"DIR", "PACKETS", "BYTES", "DEVICE", "STATE", "END", "L7", "NAME");
}

void out_flow_text(FILE *out, const struct out_ctx *c, const struct flow *f, enum flow_end why)
{
	char pbuf[8], s[IP_STRLEN + 10], d[IP_STRLEN + 10], mac[18] = "-", l7[64], name[NAME_BUF];
	const uint8_t *dev = flow_device_mac(f);
	if (dev)
		dev_mac_format(dev, mac, sizeof(mac));
	struct flow_l7 p = flow_l7(c, f);
	const char *proto = l7_name(c, p.master, p.app, l7, sizeof(l7));
	fprintf(out, "%-6s %-46s %-46s %-8s %9llu %12llu %-17s %-11s %-7s %-20s %s\n",
		flow_proto_name(f->proto, pbuf, sizeof(pbuf)), endpoint(&f->src, f->sport, s, sizeof(s)),
		endpoint(&f->dst, f->dport, d, sizeof(d)), flow_dir_name(f->dir),
		(unsigned long long)(f->fwd.packets + f->rev.packets), (unsigned long long)(f->fwd.bytes + f->rev.bytes),
		mac, flow_state_name(f->state), flow_end_name(why), proto ? proto : "-",
		f->name ? text_safe(name, sizeof(name), iname_str(f->name)) : "-");
}

void out_device_header(FILE *out)
{
	fprintf(out, "%-17s %-19s %-19s %9s %9s %12s %12s %6s  %-24s %-20s %-15s %s\n", "DEVICE", "FIRST SEEN",
		"LAST SEEN", "PKTS OUT", "PKTS IN", "BYTES OUT", "BYTES IN", "FLOWS", "VENDOR", "HOSTNAME", "KIND",
		"ADDRESSES");
	fprintf(out, "%-17s %s\n", "", "NAMES");
}

/* Seconds resolution is enough for a table. */
static char *short_time(uint64_t ts_us, char *buf, size_t len)
{
	char full[40];
	out_time(ts_us, full, sizeof(full));
	snprintf(buf, len, "%.19s", full);
	return buf;
}

/* The first names that fit in one line, then "+N". */
static const char *names_line(const struct ident_rec *r, char *buf, size_t len)
{
	size_t used = 0;
	uint8_t i = 0;
	buf[0] = '\0';
	for (; r && i < r->n_names; i++) {
		char safe[NAME_BUF];
		const char *n = text_safe(safe, sizeof(safe), iname_str(r->names[i].name));
		if (used + strlen(n) + 2 > len - 8)
			break;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", n);
	}
	uint32_t more = r ? (uint32_t)(r->n_names - i) + r->names_dropped : 0;
	if (more)
		snprintf(buf + used, len - used, "%s+%u", used ? ", " : "", (unsigned)more);
	return used || more ? buf : "-";
}

void out_device_text(FILE *out, const struct out_ctx *c, const struct device *d)
{
	char id[IP_STRLEN], ips[256] = "", a[IP_STRLEN], t1[24], t2[24], host[NAME_BUF], vend[CELL(24)],
		hostcell[CELL(20)], names[160];
	size_t used = 0;
	if (d->has_mac)
		dev_mac_format(d->mac, id, sizeof(id));
	else
		ip_format(&d->key_ip, id, sizeof(id));
	for (uint8_t i = 0; i < d->n_ips && used < sizeof(ips); i++) {
		int n = snprintf(ips + used, sizeof(ips) - used, "%s%s", i ? "," : "", ip_format(&d->ips[i], a, sizeof(a)));
		if (n < 0)
			break;
		used += (size_t)n;
	}
	const char *vendor = device_vendor(c, d);
	const char *hostname = ident_hostname(d, host, sizeof(host));
	/* Cut to the column; the JSON has the whole name. */
	text_cell(vend, sizeof(vend), vendor ? vendor : d->has_mac && oui_mac_is_local(d->mac) ? "(randomized)" : "-", 24);
	text_cell(hostcell, sizeof(hostcell), hostname ? hostname : "-", 20);
	fprintf(out, "%-17s %-19s %-19s %9llu %9llu %12llu %12llu %6llu  %s %s %-15s %s\n", id,
		short_time(d->first_us, t1, sizeof(t1)), short_time(d->last_us, t2, sizeof(t2)),
		(unsigned long long)d->packets_out, (unsigned long long)d->packets_in,
		(unsigned long long)d->bytes_out, (unsigned long long)d->bytes_in,
		(unsigned long long)(d->flows_out + d->flows_in), vend, hostcell, kind_classify(d, vendor),
		d->n_ips ? ips : "-");
	fprintf(out, "%-17s %s\n", "", names_line(ident_get(d), names, sizeof(names)));
}

void out_window_header(FILE *out)
{
	fprintf(out, "%-20s %-17s %8s %8s %10s %10s %6s %6s %6s %6s %6s %6s %6s %7s\n", "WINDOW START", "DEVICE",
		"PKT OUT", "PKT IN", "BYTES OUT", "BYTES IN", "FL OUT", "FL IN", "HOSTS", "PORTS", "PEERS", "FAILED",
		"DNS", "REMOTES");
}

void out_window_text(FILE *out, const struct dev_window *w)
{
	char t[24], id[IP_STRLEN];
	if (w->dev->has_mac)
		dev_mac_format(w->dev->mac, id, sizeof(id));
	else
		ip_format(&w->dev->key_ip, id, sizeof(id));
	fprintf(out, "%-20s %-17s %8llu %8llu %10llu %10llu %6u %6u %6u %6u %6u %6u %6u %7u%s\n",
		short_time(w->start_us, t, sizeof(t)), id, (unsigned long long)w->packets_out,
		(unsigned long long)w->packets_in, (unsigned long long)w->bytes_out, (unsigned long long)w->bytes_in,
		w->flows_out, w->flows_in, w->remote_hosts, w->remote_ports, w->lan_peers, w->failed_conns,
		w->dns_queries, w->n_remotes + w->remotes_dropped, w->partial ? " (partial)" : "");
}

/* Three decimals: enough for a person, and the same text on every run. */
static json_t *json_ratio(double v)
{
	return json_real(round(v * 1000.0) / 1000.0);
}

static json_t *alert_object(const struct out_ctx *c, const struct det_alert *a)
{
	char host[NAME_BUF];
	json_t *o = json_object(), *dev = json_object(), *rs = json_array();
	if (!o || !dev || !rs) {
		json_decref(o);
		json_decref(dev);
		json_decref(rs);
		return NULL;
	}
	json_object_set_new(o, "type", json_string("alert"));
	json_object_set_new(o, "schema_version", json_integer(DET_SCHEMA_VERSION));
	json_object_set_new(o, "alert_id", json_string(a->alert_id));
	json_object_set_new(o, "ts", json_time(a->ts_us));
	json_object_set_new(o, "kind", json_string(a->kind));
	json_object_set_new(o, "severity", json_string(a->severity));
	json_object_set_new(o, "score", json_ratio(a->score));
	json_object_set_new(dev, "mac", json_mac(a->dev->has_mac, a->dev->mac));
	json_object_set_new(dev, "ips", ips_json(a->dev));
	json_object_set_new(dev, "vendor", out_json_text(device_vendor(c, a->dev)));
	json_object_set_new(dev, "hostname", out_json_text(ident_hostname(a->dev, host, sizeof(host))));
	json_object_set_new(dev, "kind", json_string(kind_classify(a->dev, device_vendor(c, a->dev))));
	json_object_set_new(dev, "state", json_string(det_state_name(a->state)));
	json_object_set_new(dev, "maturity", json_ratio(a->maturity));
	json_object_set_new(o, "device", dev);
	json_object_set_new(o, "about", out_json_text(a->key));
	json_object_set_new(o, "repeats", json_integer(a->repeats));
	json_object_set_new(o, "others_folded", json_integer(a->others_folded));
	for (int i = 0; i < a->n_reasons; i++) {
		const struct det_reason *r = &a->reasons[i];
		json_t *x = json_object();
		json_object_set_new(x, "feature", out_json_text(r->feature));
		json_object_set_new(x, "observed", out_json_text(r->observed));
		json_object_set_new(x, "baseline", out_json_text(r->baseline));
		json_object_set_new(x, "contribution", json_ratio(r->contribution));
		json_array_append_new(rs, x);
	}
	json_object_set_new(o, "reasons", rs);
	json_object_set_new(o, "flow", a->flow ? flow_object(c, a->flow, NULL) : json_null());
	if (a->suppressed_by)
		json_object_set_new(o, "suppressed_by", out_json_text(a->suppressed_by));
	return o;
}

int out_alert_json(FILE *out, const struct out_ctx *c, const struct det_alert *a)
{
	json_t *o = alert_object(c, a);
	return o ? emit(out, o) : -1;
}

char *out_alert_string(const struct out_ctx *c, const struct det_alert *a)
{
	json_t *o = alert_object(c, a);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
	json_decref(o);
	return s;
}

/* One line a person can act on: when, how bad, what, which device (its
 * name or vendor when known), about what, and why. */
void out_alert_text(FILE *out, const struct out_ctx *c, const struct det_alert *a)
{
	char t[24], id[IP_STRLEN], host[NAME_BUF], safe[3][NAME_BUF];
	if (a->dev->has_mac)
		dev_mac_format(a->dev->mac, id, sizeof(id));
	else
		ip_format(&a->dev->key_ip, id, sizeof(id));
	const char *name = ident_hostname(a->dev, host, sizeof(host));
	if (!name)
		name = device_vendor(c, a->dev);
	fprintf(out, "ALERT %s %-6s %-22s ", short_time(a->ts_us, t, sizeof(t)), a->severity, a->kind);
	if (name)
		fprintf(out, "%s (%s)", text_safe(safe[0], sizeof(safe[0]), name), id);
	else
		fputs(id, out);
	fprintf(out, " score %.2f: %s", a->score, text_safe(safe[0], sizeof(safe[0]), a->key));
	for (int i = 0; i < a->n_reasons; i++)
		fprintf(out, "%s %s=%s (%s)", i ? ";" : " --", text_safe(safe[0], sizeof(safe[0]), a->reasons[i].feature),
			text_safe(safe[1], sizeof(safe[1]), a->reasons[i].observed),
			text_safe(safe[2], sizeof(safe[2]), a->reasons[i].baseline));
	if (a->repeats)
		fprintf(out, " [+%u repeats]", (unsigned)a->repeats);
	if (a->others_folded)
		fprintf(out, " [+%u more of this kind folded]", (unsigned)a->others_folded);
	fputc('\n', out);
}

/* ---- profiles ---- */

char *out_accept_text(const struct det_accept_info *a, char *buf, size_t len)
{
	char pb[8];
	snprintf(buf, len, "%s", a->dest);
	if (a->port)
		snprintf(buf + strlen(buf), len - strlen(buf), ":%u", (unsigned)a->port);
	if (a->proto)
		snprintf(buf + strlen(buf), len - strlen(buf), "/%s", flow_proto_name(a->proto, pb, sizeof(pb)));
	return buf;
}

/* The device a profile is about: its MAC or address, and from the device
 * table (when it is still there) its name and vendor. */
static void profile_who(const struct out_ctx *c, const struct det_profile_info *in, const struct device *dev,
			const char *hostname, char *id, size_t idlen, const char **host, char *hostbuf, size_t hostlen,
			const char **vendor)
{
	struct ip_addr ip;
	if (in->has_mac) {
		dev_mac_format(in->key, id, idlen);
	} else {
		memcpy(ip.b, in->key, 16);
		ip_format(&ip, id, idlen);
	}
	*host = dev ? ident_hostname(dev, hostbuf, hostlen) : hostname;
	*vendor = dev ? device_vendor(c, dev) : in->has_mac && c->oui ? oui_vendor(c->oui, in->key) : NULL;
}

/* How often and when: every profile entry has these. */
static void set_seen(json_t *x, uint64_t flows, uint64_t learned, uint64_t first_us, uint64_t last_us)
{
	json_object_set_new(x, "flows", json_integer((json_int_t)flows));
	json_object_set_new(x, "flows_learned", json_integer((json_int_t)learned));
	json_object_set_new(x, "first_seen", json_time(first_us));
	json_object_set_new(x, "last_seen", json_time(last_us));
}

static json_t *json_tenths(double v)
{
	return json_real(round(v * 10.0) / 10.0);
}

int out_profile_json(FILE *out, const struct out_ctx *c, const struct det_profile *p, const struct device *dev,
		     const char *hostname)
{
	char pb[8];
	struct det_profile_info in;
	char id[IP_STRLEN], hostbuf[NAME_BUF], l7[64];
	const char *host, *vendor;
	det_profile_info(p, &in);
	profile_who(c, &in, dev, hostname, id, sizeof(id), &host, hostbuf, sizeof(hostbuf), &vendor);
	json_t *o = json_object(), *dests = json_array(), *peers = json_array(), *svcs = json_array(),
	       *base = json_array(), *hours = json_array();
	json_object_set_new(o, "device", json_string(id));
	json_object_set_new(o, "hostname", out_json_text(host));
	json_object_set_new(o, "vendor", out_json_text(vendor));
	json_object_set_new(o, "state", json_string(det_state_name(in.state)));
	json_object_set_new(o, "maturity", json_ratio(in.maturity));
	json_object_set_new(o, "first_seen", json_time(in.first_us));
	json_object_set_new(o, "last_seen", json_time(in.last_us));
	json_object_set_new(o, "learning_ended", in.learn_end_us ? json_time(in.learn_end_us) : json_null());
	json_object_set_new(o, "flows_learned", json_integer((json_int_t)in.flows_learned));
	json_object_set_new(o, "destinations_refused", json_integer(in.refused));
	struct det_dest_info di;
	for (uint32_t i = 0; det_profile_dest(p, i, &di); i++) {
		json_t *x = json_object();
		json_object_set_new(x, "destination", out_json_text(di.dest));
		json_object_set_new(x, "domain", out_json_text(di.domain));
		json_object_set_new(x, "named", json_boolean(di.named));
		json_object_set_new(x, "port", json_integer(di.port));
		json_object_set_new(x, "transport", json_string(flow_proto_name(di.proto, pb, sizeof(pb))));
		json_object_set_new(x, "l7",
				    out_json_text(di.l7_master || di.l7_app ? l7_name(c, di.l7_master, di.l7_app, l7, sizeof(l7))
									: NULL));
		json_object_set_new(x, "last_address", json_ip(&di.addr));
		set_seen(x, di.flows, di.flows_learned, di.first_us, di.last_us);
		json_object_set_new(x, "bytes_out", json_integer((json_int_t)di.bytes_out));
		json_object_set_new(x, "bytes_in", json_integer((json_int_t)di.bytes_in));
		json_object_set_new(x, "intervals", json_integer(di.intervals));
		json_object_set_new(x, "period_s", json_tenths(di.period_s));
		json_object_set_new(x, "jitter_s", json_tenths(di.jitter_s));
		json_object_set_new(x, "longest_interval_s", json_integer(di.longest_s));
		json_object_set_new(x, "heartbeat", json_boolean(di.heartbeat));
		json_array_append_new(dests, x);
	}
	json_object_set_new(o, "destinations", dests);
	struct det_peer_info pi;
	for (uint32_t i = 0; det_profile_peer(p, i, &pi); i++) {
		json_t *x = json_object(), *s = json_array();
		json_object_set_new(x, "address", json_ip(&pi.ip));
		for (uint32_t j = 0; j < pi.n_services; j++) {
			char svc[16];
			snprintf(svc, sizeof(svc), "%u/%s", (unsigned)pi.ports[j], flow_proto_name(pi.protos[j], pb, sizeof(pb)));
			json_array_append_new(s, json_string(svc));
		}
		json_object_set_new(x, "services", s);
		set_seen(x, pi.flows, pi.flows_learned, pi.first_us, pi.last_us);
		json_array_append_new(peers, x);
	}
	json_object_set_new(o, "lan_peers", peers);
	struct det_service_info si;
	for (uint32_t i = 0; det_profile_service(p, i, &si); i++) {
		json_t *x = json_object();
		json_object_set_new(x, "port", json_integer(si.port));
		json_object_set_new(x, "transport", json_string(flow_proto_name(si.proto, pb, sizeof(pb))));
		set_seen(x, si.flows, si.flows_learned, si.first_us, si.last_us);
		json_object_set_new(x, "from_internet", json_integer((json_int_t)si.from_internet));
		json_object_set_new(x, "last_client", json_ip(&si.last_client));
		json_array_append_new(svcs, x);
	}
	json_object_set_new(o, "inbound_services", svcs);
	json_t *acc = json_array();
	struct det_accept_info ai;
	for (uint32_t i = 0; det_profile_accepted(p, i, &ai); i++) {
		json_t *x = json_object();
		json_object_set_new(x, "dest", out_json_text(ai.dest));
		json_object_set_new(x, "port", ai.port ? json_integer(ai.port) : json_null());
		json_object_set_new(x, "transport", ai.proto ? json_string(flow_proto_name(ai.proto, pb, sizeof(pb)))
							     : json_null());
		json_object_set_new(x, "since", json_time(ai.since_us));
		json_object_set_new(x, "until", ai.until_us ? json_time(ai.until_us) : json_null());
		json_object_set_new(x, "reason", out_json_text(ai.reason));
		json_object_set_new(x, "flows", json_integer((json_int_t)ai.flows));
		json_object_set_new(x, "last_seen", ai.flows ? json_time(ai.last_us) : json_null());
		json_array_append_new(acc, x);
	}
	json_object_set_new(o, "accepted", acc);
	struct det_feature_info fi;
	for (uint32_t i = 0; det_profile_feature(p, i, &fi); i++) {
		json_t *x = json_object();
		json_object_set_new(x, "feature", out_json_text(fi.name));
		json_object_set_new(x, "windows", json_integer(fi.samples));
		json_object_set_new(x, "median", json_ratio(fi.median));
		json_object_set_new(x, "q95", json_ratio(fi.q95));
		json_object_set_new(x, "mad_log", json_ratio(fi.mad));
		json_array_append_new(base, x);
	}
	json_object_set_new(o, "baselines", base);
	for (unsigned i = 0; i < DET_HOURS_OF_WEEK; i++)
		json_array_append_new(hours, json_integer(in.hours[i]));
	json_object_set_new(o, "hours_of_week_utc", hours);
	return emit(out, o);
}

/* One character per hour, darker for busier, scaled to its busiest hour. */
static void hour_chart(FILE *out, const uint32_t hours[DET_HOURS_OF_WEEK])
{
	static const char shades[] = " .:-=+*#%@";
	static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	uint32_t max = 0;
	for (unsigned i = 0; i < DET_HOURS_OF_WEEK; i++)
		max = hours[i] > max ? hours[i] : max;
	fprintf(out, "  activity by hour of the week (UTC; busiest hour %u windows)\n", (unsigned)max);
	fprintf(out, "        00    06    12    18\n");
	for (unsigned d = 0; d < 7; d++) {
		fprintf(out, "    %s |", days[d]);
		for (unsigned h = 0; h < 24; h++) {
			uint32_t v = hours[d * 24 + h];
			size_t k = !v ? 0 : max <= 1 ? 1 : 1 + (size_t)((uint64_t)(v - 1) * (sizeof(shades) - 3) / (max - 1));
			fputc(shades[k], out);
		}
		fprintf(out, "|\n");
	}
}

/* Destinations grouped by registrable domain, in the order first met. */
static void dest_table(FILE *out, const struct out_ctx *c, const struct det_profile *p, uint32_t n)
{
	char pb[8];
	char first[24], last[24], l7[64], svc[16], period[48];
	struct det_dest_info di, dj;
	for (uint32_t i = 0; i < n; i++) {
		det_profile_dest(p, i, &di);
		bool seen = false;
		for (uint32_t j = 0; j < i && !seen; j++) {
			det_profile_dest(p, j, &dj);
			seen = !strcmp(dj.domain, di.domain);
		}
		if (seen)
			continue;
		char safe[NAME_BUF];
		fprintf(out, "    %s\n", text_safe(safe, sizeof(safe), di.domain));
		for (uint32_t j = i; j < n; j++) {
			det_profile_dest(p, j, &dj);
			if (strcmp(dj.domain, di.domain))
				continue;
			snprintf(svc, sizeof(svc), "%u/%s", (unsigned)dj.port, flow_proto_name(dj.proto, pb, sizeof(pb)));
			const char *proto = dj.l7_master || dj.l7_app ? l7_name(c, dj.l7_master, dj.l7_app, l7, sizeof(l7))
								      : NULL;
			if (dj.intervals >= 2)
				snprintf(period, sizeof(period), "every %.0f s +- %.0f%s", dj.period_s, dj.jitter_s,
					 dj.heartbeat ? " (heartbeat)" : "");
			else
				snprintf(period, sizeof(period), "-");
			char dest[CELL(40)], l7cell[CELL(14)];
			text_cell(dest, sizeof(dest), dj.dest, 40);
			text_cell(l7cell, sizeof(l7cell), proto ? proto : "-", 14);
			fprintf(out, "      %s %-10s %s %7llu %7llu  %s  %s  %s\n", dest, svc, l7cell,
				(unsigned long long)dj.flows_learned, (unsigned long long)dj.flows,
				short_time(dj.first_us, first, sizeof(first)), short_time(dj.last_us, last, sizeof(last)),
				period);
		}
	}
}

void out_profile_text(FILE *out, const struct out_ctx *c, const struct det_profile *p, const struct device *dev,
		      const char *hostname)
{
	char pb[8];
	struct det_profile_info in;
	char id[IP_STRLEN], hostbuf[NAME_BUF], t1[24], t2[24], addr[IP_STRLEN], safe[NAME_BUF];
	const char *host, *vendor;
	det_profile_info(p, &in);
	profile_who(c, &in, dev, hostname, id, sizeof(id), &host, hostbuf, sizeof(hostbuf), &vendor);
	fprintf(out, "device %s", id);
	if (host)
		fprintf(out, "  %s", text_safe(safe, sizeof(safe), host));
	if (vendor)
		fprintf(out, "  (%s)", text_safe(safe, sizeof(safe), vendor));
	fprintf(out, "\n  %s, maturity %.3f; seen %s .. %s", det_state_name(in.state), in.maturity,
		short_time(in.first_us, t1, sizeof(t1)), short_time(in.last_us, t2, sizeof(t2)));
	if (in.learn_end_us)
		fprintf(out, "; learned until %s", short_time(in.learn_end_us, t1, sizeof(t1)));
	fprintf(out, "\n  destinations: %u (%u hosts, %u domains, %u prefixes) in %llu flows learned", in.destinations,
		in.hosts, in.domains, in.prefixes, (unsigned long long)in.flows_learned);
	if (in.refused)
		fprintf(out, "; %u more not kept (cap)", in.refused);
	fprintf(out, "\n");
	if (in.destinations)
		fprintf(out, "      %-40s %-10s %-14s %7s %7s  %-19s  %-19s  %s\n", "DESTINATION", "SERVICE", "L7", "LEARNED",
			"FLOWS", "FIRST", "LAST", "PERIOD");
	dest_table(out, c, p, in.destinations);
	fprintf(out, "  LAN peers: %u\n", in.peers);
	struct det_peer_info pi;
	for (uint32_t i = 0; det_profile_peer(p, i, &pi); i++) {
		fprintf(out, "    %-40s", ip_format(&pi.ip, addr, sizeof(addr)));
		for (uint32_t j = 0; j < pi.n_services; j++)
			fprintf(out, " %u/%s", (unsigned)pi.ports[j], flow_proto_name(pi.protos[j], pb, sizeof(pb)));
		fprintf(out, "  %llu flows (%llu learned), %s .. %s\n", (unsigned long long)pi.flows,
			(unsigned long long)pi.flows_learned, short_time(pi.first_us, t1, sizeof(t1)),
			short_time(pi.last_us, t2, sizeof(t2)));
	}
	fprintf(out, "  inbound services: %u\n", in.services);
	struct det_service_info si;
	for (uint32_t i = 0; det_profile_service(p, i, &si); i++)
		fprintf(out, "    %u/%s  %llu flows (%llu learned, %llu from the internet), last client %s\n",
			(unsigned)si.port, flow_proto_name(si.proto, pb, sizeof(pb)), (unsigned long long)si.flows,
			(unsigned long long)si.flows_learned, (unsigned long long)si.from_internet,
			ip_format(&si.last_client, addr, sizeof(addr)));
	if (in.accepts)
		fprintf(out, "  accepted: %u\n", in.accepts);
	struct det_accept_info ai;
	for (uint32_t i = 0; det_profile_accepted(p, i, &ai); i++) {
		char what[320], cell[CELL(40)];
		out_accept_text(&ai, what, sizeof(what));
		text_cell(cell, sizeof(cell), what, 40);
		fprintf(out, "    %s since %s, %s%s; %llu flows%s%s\n", cell, short_time(ai.since_us, t1, sizeof(t1)),
			ai.until_us ? "until " : "for good", ai.until_us ? short_time(ai.until_us, t2, sizeof(t2)) : "",
			(unsigned long long)ai.flows, ai.reason[0] ? "; " : "", text_safe(safe, sizeof(safe), ai.reason));
	}
	fprintf(out, "  baselines per window (%s):\n", "median, 95th percentile");
	struct det_feature_info fi;
	for (uint32_t i = 0; det_profile_feature(p, i, &fi); i++)
		fprintf(out, "    %-16s %12.0f %12.0f   (%u windows)\n", fi.name, fi.median, fi.q95, (unsigned)fi.samples);
	hour_chart(out, in.hours);
}
