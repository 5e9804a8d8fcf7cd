/*
 * mud — RFC 8520 import to rules and export of learned profiles (mud.h).
 *
 * Import walks the tree jansson gives with the JSON path beside it, so
 * every error and report names where it is, and collects the rules before
 * writing anything: a file refused halfway leaves no YAML. Each ACE is
 * read whole (struct ace) and then mapped for the policy that names it: a
 * from-device ACE's remote end is its destination, a to-device ACE's its
 * source. Anything the mapping cannot say exactly is an issue, and an ACE
 * with an issue makes no rule (a wider exception would hide alerts).
 *
 * YAML goes out through libyaml's emitter, never by pasting strings: it
 * quotes a hostile ACL name or URL as YAML needs. A generic YANG validator
 * was rejected: large, and the messages a person needs are about what
 * iotids does with each ACE, not about schema nodes.
 */
#include "rules/mud.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <jansson.h>
#include <yaml.h>

#include "features/ipaddr.h"
#include "features/text.h"
#include "rules/rules.h"

#define PATH_LEN 512
#define MSG_LEN 512
#define SAFE_LEN 100     /* input text quoted in a message, cut there */
#define MAX_ISSUES 16    /* per ACE; the rest are counted in the last report */
#define NAME_CHARS 64    /* ACL and ACE names (RFC 8519) */
#define SELECTOR_MAX 256
#define DNSNAME_MAX 253

static const char ACL_PREFIX[] = "ietf-access-control-list:";

/* ---- text ---- */

static bool utf8_ok(const char *s)
{
	size_t len = strlen(s);
	for (size_t i = 0, n; i < len; i += n)
		if (!(n = text_utf8_len((const uint8_t *)s + i, len - i)))
			return false;
	return true;
}

/* Characters (not bytes) of valid UTF-8 s. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((uint8_t)*s & 0xc0) != 0x80;
	return n;
}

/* Input text as a message may quote it: safe, and cut at SAFE_LEN. */
static const char *safe(char *buf, size_t len, const char *s)
{
	text_sanitize(buf, len, (const uint8_t *)s, strlen(s));
	return buf;
}

/* Paths are built in a buffer with room for any piece, then cut to
 * PATH_LEN: a path that long is already past any real file's. */
#define PATH_TMP (PATH_LEN + SAFE_LEN + 48)

static const char *path_cut(char *out, const char *tmp)
{
	memcpy(out, tmp, PATH_LEN - 1);
	out[PATH_LEN - 1] = '\0';
	return out;
}

/* path.key into out (PATH_LEN bytes; out may be path). */
static const char *pkey(char *out, const char *path, const char *key)
{
	char k[SAFE_LEN], tmp[PATH_TMP];
	snprintf(tmp, sizeof(tmp), "%.*s%s%s", PATH_LEN - 1, path, *path ? "." : "", safe(k, sizeof(k), key));
	return path_cut(out, tmp);
}

/* path.key[i] into out, as pkey; key is one of ours. */
static const char *pidx(char *out, const char *path, const char *key, size_t i)
{
	char tmp[PATH_TMP];
	snprintf(tmp, sizeof(tmp), "%.*s.%.24s[%zu]", PATH_LEN - 1, path, key, i);
	return path_cut(out, tmp);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- import: what it collects ---- */

struct rule {
	char name[RULES_NAME_MAX + 1];
	char *dest;               /* one destination pattern; NULL: any */
	char ports[2][24];        /* two for neq: below and above the port */
	int n_ports;              /* 0: any port */
	const char *kinds[3];
	int n_kinds;
	char *reason;
};

enum side { SRC, DST };
enum initiated { INIT_ANY, INIT_FROM, INIT_TO };

struct prange {
	uint16_t lo, hi;
};

struct issue {
	char path[PATH_LEN];
	char what[MSG_LEN];
};

/* One ACE as the file says it, before a policy gives it a direction. */
struct ace {
	const char *name;
	char path[PATH_LEN];
	int proto;                /* -1: any */
	bool has_dns[2], has_net[2], has_port[2];
	char dns[2][DNSNAME_MAX + 1];
	struct ip_prefix net[2];
	struct prange port[2][2];
	int n_port[2];            /* ranges left once port 0 is dropped */
	char dns_path[2][PATH_LEN], net_path[2][PATH_LEN], port_path[2][PATH_LEN];
	enum initiated init;
	char init_path[PATH_LEN];
	bool logging;
	char logging_path[PATH_LEN];
	bool local, my_controller;
	const char *controller;
	int n_issues, more_issues;
	struct issue issues[MAX_ISSUES];
};

/* Rule names taken, hashed: a hostile file can make every ACE name the
 * same once made safe, and a linear search per probe would then be cubic. */
#define NAME_SLOTS 8192 /* a power of two, twice MUD_MAX_RULES */

struct imp {
	const char *url;
	json_t *acls;             /* the acl array; NULL when there is none */
	size_t n_acls;
	bool used[MUD_MAX_ACLS];  /* named by a policy */
	struct rule *rules;
	size_t n_rules, cap_rules;
	uint16_t name_slot[NAME_SLOTS]; /* rule index + 1; 0: free */
	char **ctls;              /* controller URIs, in the order met */
	size_t n_ctls;
	mud_report_fn report;
	void *ctx;
	char *err;
	size_t errlen;
	struct ace a;             /* the ACE being read (large: kept off the stack) */
};

static int invalid(struct imp *im, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int invalid(struct imp *im, const char *path, const char *fmt, ...)
{
	char msg[MSG_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_err(im->err, im->errlen, "%s: %s", path, msg);
	return MUD_ERR_INVALID;
}

static void note(struct imp *im, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(struct imp *im, const char *path, const char *fmt, ...)
{
	char msg[MSG_LEN];
	va_list ap;
	if (!im->report)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	im->report(im->ctx, path, msg);
}

/* Something of the ACE no rule can say: reported, and the ACE makes no rule. */
static void issue(struct ace *a, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void issue(struct ace *a, const char *path, const char *fmt, ...)
{
	va_list ap;
	if (a->n_issues == MAX_ISSUES) {
		a->more_issues++;
		return;
	}
	struct issue *is = &a->issues[a->n_issues++];
	snprintf(is->path, sizeof(is->path), "%s", path);
	va_start(ap, fmt);
	vsnprintf(is->what, sizeof(is->what), fmt, ap);
	va_end(ap);
}

/* ---- import: typed access to the tree ---- */

enum jtype { J_OBJ, J_ARR, J_STR, J_INT, J_BOOL };
static const char *const jtype_words[] = {"an object", "an array", "a string", "an integer", "true or false"};

static bool is_type(const json_t *v, enum jtype t)
{
	switch (t) {
	case J_OBJ:
		return json_is_object(v);
	case J_ARR:
		return json_is_array(v);
	case J_STR:
		return json_is_string(v);
	case J_INT:
		return json_is_integer(v);
	case J_BOOL:
		return json_is_boolean(v);
	}
	return false;
}

/* o[key] of type t into *v, NULL when absent (an error when required). */
static int member(struct imp *im, const json_t *o, const char *path, const char *key, enum jtype t, bool required,
		  json_t **v)
{
	char p[PATH_LEN];
	*v = json_object_get(o, key);
	if (!*v)
		return required ? invalid(im, pkey(p, path, key), "missing") : 0;
	if (!is_type(*v, t))
		return invalid(im, pkey(p, path, key), "want %s", jtype_words[t]);
	return 0;
}

static int member_int(struct imp *im, const json_t *o, const char *path, const char *key, json_int_t lo,
		      json_int_t hi, bool required, json_int_t *out, bool *present)
{
	char p[PATH_LEN];
	json_t *v;
	int rc = member(im, o, path, key, J_INT, required, &v);
	*present = v != NULL;
	if (rc || !v)
		return rc;
	*out = json_integer_value(v);
	if (*out < lo || *out > hi)
		return invalid(im, pkey(p, path, key), "%lld is not in %lld..%lld", (long long)*out, (long long)lo,
			       (long long)hi);
	return 0;
}

/* An array of at most max entries. */
static int member_arr(struct imp *im, const json_t *o, const char *path, const char *key, size_t max, json_t **v)
{
	char p[PATH_LEN];
	int rc = member(im, o, path, key, J_ARR, false, v);
	if (rc == 0 && *v && json_array_size(*v) > max)
		return invalid(im, pkey(p, path, key), "%zu entries, at most %zu", json_array_size(*v), max);
	return rc;
}

/* A YANG list key: a string of 1 to NAME_CHARS characters. */
static int member_name(struct imp *im, const json_t *o, const char *path, const char **name)
{
	char p[PATH_LEN];
	json_t *v;
	int rc = member(im, o, path, "name", J_STR, true, &v);
	if (rc)
		return rc;
	*name = json_string_value(v);
	size_t n = utf8_chars(*name);
	if (n < 1 || n > NAME_CHARS)
		return invalid(im, pkey(p, path, "name"), "want 1 to %d characters", NAME_CHARS);
	return 0;
}

static bool listed(const char *key, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(key, *list))
			return true;
	return false;
}

/* Keys of o that are not in list: reported, their content ignored. */
static void unknown_keys(struct imp *im, const json_t *o, const char *path, const char *const *list)
{
	const char *key;
	json_t *v;
	char p[PATH_LEN];
	json_object_foreach((json_t *)o, key, v)
		if (!listed(key, list))
			note(im, pkey(p, path, key), "unknown key: ignored");
}

/* YANG's empty type, as JSON: [null]. */
static int empty_leaf(struct imp *im, const char *path, const json_t *v)
{
	if (!json_is_array(v) || json_array_size(v) != 1 || !json_is_null(json_array_get(v, 0)))
		return invalid(im, path, "want [null]");
	return 0;
}

/* A URI as rules and the emitter take it: printable ASCII, no space. */
static bool uri_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MUD_URL_MAX)
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

/* A host name rules compare exactly: labels of letters, digits, '-' and
 * '_', so a name can never turn into a pattern ("*.com", "lan"). Lower
 * case, without a trailing dot, into out. */
static bool dnsname_norm(const char *s, char *out, size_t outlen)
{
	size_t n = strlen(s), label = 0;
	if (n && s[n - 1] == '.')
		n--;
	if (n == 0 || n > DNSNAME_MAX || n >= outlen)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (!label)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
			   c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[n] = '\0';
	return label > 0;
}

/* ---- import: one ACE ---- */

#define NOT_HERE "not supported: rules do not match header fields"

static const char *const ipv4_keys[] = {"protocol", "destination-ipv4-network", "source-ipv4-network",
					"ietf-acldns:dst-dnsname", "ietf-acldns:src-dnsname", NULL};
static const char *const ipv4_header[] = {"dscp", "ecn", "length", "ttl", "ihl", "flags", "offset", "identification",
					  NULL};
static const char *const ipv6_keys[] = {"protocol", "destination-ipv6-network", "source-ipv6-network",
					"ietf-acldns:dst-dnsname", "ietf-acldns:src-dnsname", NULL};
static const char *const ipv6_header[] = {"dscp", "ecn", "length", "ttl", "flow-label", NULL};
static const char *const tcp_keys[] = {"source-port", "destination-port", "ietf-mud:direction-initiated", NULL};
static const char *const tcp_header[] = {"sequence-number", "acknowledgement-number", "data-offset", "reserved",
					 "flags", "window-size", "urgent-pointer", "options", NULL};
static const char *const udp_keys[] = {"source-port", "destination-port", NULL};
static const char *const udp_header[] = {"length", NULL};

/* Keys of an ACE part that are neither read (keys) nor known header
 * fields (header): issues. */
static void part_issues(struct ace *a, const json_t *o, const char *path, const char *const *keys,
			const char *const *header)
{
	const char *key;
	json_t *v;
	char p[PATH_LEN];
	json_object_foreach((json_t *)o, key, v) {
		if (listed(key, keys))
			continue;
		issue(a, pkey(p, path, key), "%s", listed(key, header) ? NOT_HERE : "unknown key: not supported");
	}
}

/* A port-range-or-operator (RFC 8519) into ranges without port 0, which no
 * flow has: lte, gte and neq become one or two ranges. */
static int read_ports(struct imp *im, struct ace *a, const json_t *o, const char *path, enum side s)
{
	static const char *const keys[] = {"operator", "port", "lower-port", "upper-port", NULL};
	json_int_t lo = 0, hi = 0, port = 0;
	bool has_lo, has_hi, has_port;
	json_t *op;
	char p[PATH_LEN];
	int rc, n = 0;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v)
		if (!listed(key, keys))
			issue(a, pkey(p, path, key), "unknown key: not supported");
	if ((rc = member_int(im, o, path, "lower-port", 0, 65535, false, &lo, &has_lo)) != 0 ||
	    (rc = member_int(im, o, path, "upper-port", 0, 65535, false, &hi, &has_hi)) != 0 ||
	    (rc = member_int(im, o, path, "port", 0, 65535, false, &port, &has_port)) != 0 ||
	    (rc = member(im, o, path, "operator", J_STR, false, &op)) != 0)
		return rc;
	struct prange r[2];
	if (has_lo || has_hi) {
		if (has_port || op)
			return invalid(im, path, "a range and an operator in one port match");
		if (!has_lo || !has_hi)
			return invalid(im, pkey(p, path, has_lo ? "upper-port" : "lower-port"), "missing");
		if (lo > hi)
			return invalid(im, path, "lower-port %lld is above upper-port %lld", (long long)lo, (long long)hi);
		r[n++] = (struct prange){(uint16_t)lo, (uint16_t)hi};
	} else {
		if (!has_port)
			return invalid(im, pkey(p, path, "port"), "missing");
		const char *opname = op ? json_string_value(op) : "eq"; /* RFC 8519's default */
		uint16_t pt = (uint16_t)port;
		if (!strcmp(opname, "eq")) {
			r[n++] = (struct prange){pt, pt};
		} else if (!strcmp(opname, "lte")) {
			r[n++] = (struct prange){0, pt};
		} else if (!strcmp(opname, "gte")) {
			r[n++] = (struct prange){pt, 65535};
		} else if (!strcmp(opname, "neq")) {
			if (pt > 0)
				r[n++] = (struct prange){0, (uint16_t)(pt - 1)};
			if (pt < 65535)
				r[n++] = (struct prange){(uint16_t)(pt + 1), 65535};
		} else {
			char b[SAFE_LEN];
			return invalid(im, pkey(p, path, "operator"), "\"%s\": want eq, lte, gte or neq",
				       safe(b, sizeof(b), opname));
		}
	}
	a->has_port[s] = true;
	snprintf(a->port_path[s], PATH_LEN, "%s", path);
	for (int i = 0; i < n; i++) {
		if (r[i].lo == 0)
			r[i].lo = 1;
		if (r[i].lo <= r[i].hi)
			a->port[s][a->n_port[s]++] = r[i];
	}
	if (!a->n_port[s])
		issue(a, path, "port 0: not supported: no flow has it");
	return 0;
}

/* ipv4 or ipv6 matches. */
static int read_l3(struct imp *im, struct ace *a, const json_t *o, const char *path, bool v6, int *proto)
{
	static const char *const dns_keys[2] = {"ietf-acldns:src-dnsname", "ietf-acldns:dst-dnsname"};
	const char *net_keys[2] = {v6 ? "source-ipv6-network" : "source-ipv4-network",
				   v6 ? "destination-ipv6-network" : "destination-ipv4-network"};
	char b[SAFE_LEN];
	json_int_t n;
	bool has;
	json_t *v;
	int rc;
	part_issues(a, o, path, v6 ? ipv6_keys : ipv4_keys, v6 ? ipv6_header : ipv4_header);
	if ((rc = member_int(im, o, path, "protocol", 0, 255, false, &n, &has)) != 0)
		return rc;
	*proto = has ? (int)n : -1;
	for (int s = SRC; s <= DST; s++) {
		if ((rc = member(im, o, path, dns_keys[s], J_STR, false, &v)) != 0)
			return rc;
		if (v) {
			pkey(a->dns_path[s], path, dns_keys[s]);
			if (!dnsname_norm(json_string_value(v), a->dns[s], sizeof(a->dns[s])))
				issue(a, a->dns_path[s], "\"%s\" is not a host name: not supported",
				      safe(b, sizeof(b), json_string_value(v)));
			else if (!strcmp(a->dns[s], "lan"))
				issue(a, a->dns_path[s], "\"lan\" would read as every LAN address in rules: not supported");
			else
				a->has_dns[s] = true;
		}
		if ((rc = member(im, o, path, net_keys[s], J_STR, false, &v)) != 0)
			return rc;
		if (v) {
			struct ip_prefix *net = &a->net[s];
			pkey(a->net_path[s], path, net_keys[s]);
			if (ip_prefix_parse(json_string_value(v), net) != 0 || ip_is_v4(&net->addr) == v6)
				return invalid(im, a->net_path[s], "\"%s\" is not an %s prefix",
					       safe(b, sizeof(b), json_string_value(v)), v6 ? "IPv6" : "IPv4");
			a->has_net[s] = true;
		}
	}
	return 0;
}

/* tcp or udp matches. */
static int read_l4(struct imp *im, struct ace *a, const json_t *o, const char *path, bool tcp)
{
	static const char *const port_keys[2] = {"source-port", "destination-port"};
	char p[PATH_LEN];
	json_t *v;
	int rc;
	part_issues(a, o, path, tcp ? tcp_keys : udp_keys, tcp ? tcp_header : udp_header);
	for (int s = SRC; s <= DST; s++) {
		if ((rc = member(im, o, path, port_keys[s], J_OBJ, false, &v)) != 0)
			return rc;
		if (v && (rc = read_ports(im, a, v, pkey(p, path, port_keys[s]), (enum side)s)) != 0)
			return rc;
	}
	if (!tcp)
		return 0;
	if ((rc = member(im, o, path, "ietf-mud:direction-initiated", J_STR, false, &v)) != 0 || !v)
		return rc;
	pkey(a->init_path, path, "ietf-mud:direction-initiated");
	const char *d = json_string_value(v);
	if (!strcmp(d, "from-device"))
		a->init = INIT_FROM;
	else if (!strcmp(d, "to-device"))
		a->init = INIT_TO;
	else
		return invalid(im, a->init_path, "want from-device or to-device");
	return 0;
}

/* The ietf-mud:mud match (RFC 8520 section 2.1): the abstractions. */
static int read_mud_match(struct imp *im, struct ace *a, const json_t *o, const char *path)
{
	static const char *const keys[] = {"local-networks", "controller", "my-controller", NULL};
	static const char *const theirs[] = {"manufacturer", "same-manufacturer", "model", NULL};
	const char *key;
	json_t *v;
	char p[PATH_LEN], b[SAFE_LEN];
	int rc;
	json_object_foreach((json_t *)o, key, v) {
		pkey(p, path, key);
		if (listed(key, theirs))
			issue(a, p, "not supported: iotids does not know which devices a manufacturer or model made");
		else if (!listed(key, keys))
			issue(a, p, "unknown key: not supported");
		else if (!strcmp(key, "controller") && !json_is_string(v))
			return invalid(im, p, "want a string");
		else if (!strcmp(key, "controller") && !uri_ok(json_string_value(v)))
			return invalid(im, p, "\"%s\" is not a URI", safe(b, sizeof(b), json_string_value(v)));
		else if (!strcmp(key, "controller"))
			a->controller = json_string_value(v);
		else if ((rc = empty_leaf(im, p, v)) != 0)
			return rc;
		else if (!strcmp(key, "local-networks"))
			a->local = true;
		else
			a->my_controller = true;
	}
	return 0;
}

static int read_matches(struct imp *im, struct ace *a, const json_t *m, const char *path)
{
	static const char *const keys[] = {"ipv4", "ipv6", "tcp", "udp", "icmp", "ietf-mud:mud", NULL};
	const char *key;
	json_t *v, *l3[2], *l4[2], *icmp, *mud;
	char p[PATH_LEN];
	int rc, proto = -1;
	json_object_foreach((json_t *)m, key, v) {
		pkey(p, path, key);
		if (!strcmp(key, "eth"))
			issue(a, p, "Ethernet header fields: not supported: rules match IP flows");
		else if (!strcmp(key, "egress-interface") || !strcmp(key, "ingress-interface"))
			issue(a, p, "not supported: iotids watches no interfaces");
		else if (!listed(key, keys))
			issue(a, p, "unknown key: not supported");
	}
	if ((rc = member(im, m, path, "ipv4", J_OBJ, false, &l3[0])) != 0 ||
	    (rc = member(im, m, path, "ipv6", J_OBJ, false, &l3[1])) != 0 ||
	    (rc = member(im, m, path, "tcp", J_OBJ, false, &l4[0])) != 0 ||
	    (rc = member(im, m, path, "udp", J_OBJ, false, &l4[1])) != 0 ||
	    (rc = member(im, m, path, "icmp", J_OBJ, false, &icmp)) != 0 ||
	    (rc = member(im, m, path, "ietf-mud:mud", J_OBJ, false, &mud)) != 0)
		return rc;
	if (l3[0] && l3[1])
		return invalid(im, path, "ipv4 and ipv6 in one ACE");
	if (!!l4[0] + !!l4[1] + !!icmp > 1)
		return invalid(im, path, "more than one of tcp, udp and icmp in one ACE");
	for (int i = 0; i < 2; i++)
		if (l3[i] && (rc = read_l3(im, a, l3[i], pkey(p, path, i ? "ipv6" : "ipv4"), i == 1, &proto)) != 0)
			return rc;
	for (int i = 0; i < 2; i++) {
		if (!l4[i])
			continue;
		int want = i ? 17 : 6;
		if (proto >= 0 && proto != want)
			return invalid(im, path, "protocol %d with a %s match", proto, i ? "udp" : "tcp");
		proto = want;
		if ((rc = read_l4(im, a, l4[i], pkey(p, path, i ? "udp" : "tcp"), i == 0)) != 0)
			return rc;
	}
	if (icmp)
		issue(a, pkey(p, path, "icmp"), "ICMP type and code: not supported: rules match TCP and UDP ports");
	else if (proto >= 0 && proto != 6 && proto != 17)
		issue(a, pkey(p, path, l3[1] ? "ipv6.protocol" : "ipv4.protocol"),
		      "protocol %d: not supported: rules match TCP and UDP only", proto);
	a->proto = proto;
	if (mud && (rc = read_mud_match(im, a, mud, pkey(p, path, "ietf-mud:mud"))) != 0)
		return rc;
	return 0;
}

static int read_actions(struct imp *im, struct ace *a, const json_t *o, const char *path)
{
	const char *key;
	json_t *v, *fw;
	char p[PATH_LEN], b[SAFE_LEN];
	int rc = member(im, o, path, "forwarding", J_STR, true, &fw);
	if (rc)
		return rc;
	json_object_foreach((json_t *)o, key, v) {
		if (!strcmp(key, "logging")) {
			a->logging = true;
			pkey(a->logging_path, path, key);
		} else if (strcmp(key, "forwarding"))
			issue(a, pkey(p, path, key), "unknown key: not supported");
	}
	const char *f = json_string_value(fw);
	if (!strncmp(f, ACL_PREFIX, sizeof(ACL_PREFIX) - 1))
		f += sizeof(ACL_PREFIX) - 1;
	pkey(p, path, "forwarding");
	if (!strcmp(f, "drop") || !strcmp(f, "reject"))
		issue(a, p, "%s: not supported: iotids alerts on what no rule allows, a rule cannot deny", f);
	else if (strcmp(f, "accept"))
		return invalid(im, p, "\"%s\": want accept, drop or reject", safe(b, sizeof(b), f));
	return 0;
}

/* Reads the ACE o at path into im->a. */
static int read_ace(struct imp *im, const json_t *o, const char *path)
{
	static const char *const keys[] = {"name", "matches", "actions", NULL};
	struct ace *a = &im->a;
	const char *key;
	json_t *v, *m, *act;
	char p[PATH_LEN];
	int rc;
	memset(a, 0, sizeof(*a));
	snprintf(a->path, sizeof(a->path), "%s", path);
	a->proto = -1;
	if ((rc = member_name(im, o, path, &a->name)) != 0 || (rc = member(im, o, path, "matches", J_OBJ, false, &m)) != 0 ||
	    (rc = member(im, o, path, "actions", J_OBJ, true, &act)) != 0)
		return rc;
	json_object_foreach((json_t *)o, key, v)
		if (!listed(key, keys))
			issue(a, pkey(p, path, key), "unknown key: not supported");
	if (m && (rc = read_matches(im, a, m, pkey(p, path, "matches"))) != 0)
		return rc;
	return read_actions(im, a, act, pkey(p, path, "actions"));
}

/* ---- import: an ACE for a policy becomes a rule ---- */

/* Private, link-local and unique-local ranges: a prefix inside one is
 * on the LAN, one that holds one may be. */
static const char *const private_nets[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
					   "fc00::/7", "fe80::/10", NULL};

/* 1: the prefix is on the LAN, 0: on the internet, 2: could be either. */
static int prefix_where(const struct ip_prefix *net)
{
	for (const char *const *s = private_nets; *s; s++) {
		struct ip_prefix pn;
		if (ip_prefix_parse(*s, &pn) != 0 || ip_is_v4(&pn.addr) != ip_is_v4(&net->addr))
			continue;
		if (net->len >= pn.len && ip_prefix_contains(&pn, &net->addr))
			return 1;
		if (net->len < pn.len && ip_prefix_contains(net, &pn.addr))
			return 2;
	}
	return 0;
}

static size_t name_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h & (NAME_SLOTS - 1);
}

/* The slot name is in, or the free one it would go in. */
static size_t name_slot(const struct imp *im, const char *name)
{
	size_t i = name_hash(name);
	while (im->name_slot[i] && strcmp(im->rules[im->name_slot[i] - 1].name, name))
		i = (i + 1) & (NAME_SLOTS - 1);
	return i;
}

static bool name_taken(const struct imp *im, const char *name)
{
	return im->name_slot[name_slot(im, name)] != 0;
}

/* acl.ace in the characters rule names take, cut to RULES_NAME_MAX and
 * made unique with a -2, -3... suffix. */
static size_t name_part(char *base, size_t n, const char *s)
{
	for (; *s && n < RULES_NAME_MAX; s++) {
		bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
			  *s == '.' || *s == '_' || *s == '-';
		base[n++] = ok ? *s : '_';
	}
	return n;
}

static void rule_name(const struct imp *im, const char *acl, const char *ace, char *out)
{
	char base[RULES_NAME_MAX + 1];
	size_t n = name_part(base, 0, acl);
	n = name_part(base, n, ".");
	n = name_part(base, n, ace);
	base[n] = '\0';
	snprintf(out, RULES_NAME_MAX + 1, "%s", base);
	for (unsigned k = 2; name_taken(im, out); k++) {
		char suf[16];
		int sl = snprintf(suf, sizeof(suf), "-%u", k);
		size_t keep = RULES_NAME_MAX - (size_t)sl;
		snprintf(out, RULES_NAME_MAX + 1, "%.*s%s", (int)(n < keep ? n : keep), base, suf);
	}
}

static int add_controller(struct imp *im, const char *uri)
{
	for (size_t i = 0; i < im->n_ctls; i++)
		if (!strcmp(im->ctls[i], uri))
			return 0;
	char **c = realloc(im->ctls, (im->n_ctls + 1) * sizeof(*c));
	if (!c)
		return MUD_ERR_NOMEM;
	im->ctls = c;
	if (!(c[im->n_ctls] = strdup(uri)))
		return MUD_ERR_NOMEM;
	im->n_ctls++;
	return 0;
}

static const char *const KIND_DEST = "unexpected_destination", *const KIND_PORT = "new_port",
		  *const KIND_LAN = "new_lan_peer", *const KIND_SERVICE = "new_inbound_service";

static void set_kinds(struct rule *r, int where)
{
	if (where != 1) {
		r->kinds[r->n_kinds++] = KIND_DEST;
		r->kinds[r->n_kinds++] = KIND_PORT;
	}
	if (where != 0)
		r->kinds[r->n_kinds++] = KIND_LAN;
}

/* The rule im->a says for a policy (to_device: the to-device policy), or
 * the reports of why it makes none. */
static int make_rule(struct imp *im, const char *acl, bool to_device)
{
	struct ace *a = &im->a;
	enum side remote = to_device ? SRC : DST, own = to_device ? DST : SRC;
	char p[PATH_LEN], dest[MUD_URL_MAX + 16];
	const char *what[5];
	int n_what = 0, rc, where = 2;

	/* Answers to flows the device starts: iotids follows a flow both ways
	 * and never alerts on its answers. */
	bool reply = to_device && a->init == INIT_FROM;
	if (a->logging)
		note(im, a->logging_path, "ignored: iotids records every alert a rule suppresses");
	if (reply)
		note(im, a->init_path, "from-device in a to-device ACL: answers to flows the device starts, which iotids "
				       "never alerts on (no rule needed for this ACE)");
	if (!to_device && a->init == INIT_TO)
		issue(a, a->init_path, "to-device in a from-device ACL: the device's answers to flows others start; "
				       "not supported: a to-device ACE says the service");
	if (a->has_dns[own])
		issue(a, a->dns_path[own], "the device's own name: not supported: the rule's devices: says which device");
	if (a->has_net[own])
		issue(a, a->net_path[own], "the device's own address: not supported: the rule's devices: says which device");
	if (a->has_port[SRC] && !reply)
		issue(a, a->port_path[SRC], "source-port: not supported: rules match the service port only");
	dest[0] = '\0';
	if (a->has_dns[remote]) {
		what[n_what++] = to_device ? "ietf-acldns:src-dnsname" : "ietf-acldns:dst-dnsname";
		snprintf(dest, sizeof(dest), "%s", a->dns[remote]);
		where = 0;
	}
	if (a->has_net[remote]) {
		what[n_what++] = to_device ? "source network" : "destination network";
		ip_prefix_format(&a->net[remote], dest, sizeof(dest));
		where = prefix_where(&a->net[remote]);
	}
	if (a->local) {
		what[n_what++] = "local-networks";
		snprintf(dest, sizeof(dest), "lan");
		where = 1;
	}
	if (a->controller) {
		what[n_what++] = "controller";
		snprintf(dest, sizeof(dest), "controller:%s", a->controller);
	}
	if (a->my_controller) {
		what[n_what++] = "my-controller";
		snprintf(dest, sizeof(dest), "controller:%s", im->url);
	}
	if (n_what > 1)
		issue(a, pkey(p, a->path, "matches"),
		      "%s and %s%s: not supported: a rule matches one destination of an ACE, not all at once", what[0],
		      what[1], n_what > 2 ? " and more" : "");
	for (int i = 0; i < a->n_issues; i++)
		note(im, a->issues[i].path, "%s (no rule made for this ACE)", a->issues[i].what);
	if (a->more_issues)
		note(im, a->path, "%d more constructs not supported (no rule made for this ACE)", a->more_issues);
	if (reply || a->n_issues)
		return 0;

	if (im->n_rules == MUD_MAX_RULES)
		return invalid(im, a->path, "more than %d rules: a MUD file this large is not supported", MUD_MAX_RULES);
	if (im->n_rules == im->cap_rules) {
		size_t cap = im->cap_rules ? 2 * im->cap_rules : 16;
		struct rule *nr = realloc(im->rules, cap * sizeof(*nr));
		if (!nr)
			return MUD_ERR_NOMEM;
		im->rules = nr;
		im->cap_rules = cap;
	}
	struct rule *r = &im->rules[im->n_rules];
	memset(r, 0, sizeof(*r));
	rule_name(im, acl, a->name, r->name);
	size_t rlen = strlen(im->url) + strlen(acl) + strlen(a->name) + 16;
	if (!(r->reason = malloc(rlen)) || (dest[0] && !(r->dest = strdup(dest)))) {
		free(r->reason);
		return MUD_ERR_NOMEM;
	}
	im->name_slot[name_slot(im, r->name)] = (uint16_t)(im->n_rules + 1);
	im->n_rules++;
	snprintf(r->reason, rlen, "MUD %s acl %s ace %s", im->url, acl, a->name);
	if ((a->controller || a->my_controller) &&
	    (rc = add_controller(im, a->controller ? a->controller : im->url)) != 0)
		return rc;
	if (a->proto == 6 || a->proto == 17) {
		const char *t = a->proto == 6 ? "tcp" : "udp";
		if (!a->has_port[DST])
			snprintf(r->ports[r->n_ports++], sizeof(r->ports[0]), "1-65535/%s", t);
		for (int i = 0; i < a->n_port[DST]; i++) {
			const struct prange *pr = &a->port[DST][i];
			if (pr->lo == pr->hi)
				snprintf(r->ports[r->n_ports++], sizeof(r->ports[0]), "%u/%s", pr->lo, t);
			else
				snprintf(r->ports[r->n_ports++], sizeof(r->ports[0]), "%u-%u/%s", pr->lo, pr->hi, t);
		}
	}
	if (to_device)
		r->kinds[r->n_kinds++] = KIND_SERVICE;
	else
		set_kinds(r, where);
	return 0;
}

/* ---- import: ACLs and policies ---- */

static const char *acl_path(char *out, size_t i)
{
	return pidx(out, "ietf-access-control-list:acls", "acl", i);
}

static const json_t *acl_aces(const json_t *acl)
{
	return json_object_get(json_object_get(acl, "aces"), "ace");
}

/* The ACLs' structure and names, before any policy reads them. */
static int index_acls(struct imp *im)
{
	static const char *const keys[] = {"name", "type", "aces", NULL};
	static const char *const aces_keys[] = {"ace", NULL};
	char p[PATH_LEN], q[PATH_LEN], b[SAFE_LEN];
	for (size_t i = 0; i < im->n_acls; i++) {
		const json_t *acl = json_array_get(im->acls, i);
		json_t *v, *aces, *ace;
		const char *name;
		int rc;
		acl_path(p, i);
		if (!json_is_object(acl))
			return invalid(im, p, "want an object");
		if ((rc = member_name(im, acl, p, &name)) != 0 || (rc = member(im, acl, p, "type", J_STR, false, &v)) != 0 ||
		    (rc = member(im, acl, p, "aces", J_OBJ, false, &aces)) != 0)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(name, json_string_value(json_object_get(json_array_get(im->acls, j), "name"))))
				return invalid(im, pkey(q, p, "name"), "\"%s\" names an earlier ACL too",
					       safe(b, sizeof(b), name));
		unknown_keys(im, acl, p, keys);
		if (!aces)
			continue;
		pkey(p, p, "aces");
		unknown_keys(im, aces, p, aces_keys);
		if ((rc = member_arr(im, aces, p, "ace", MUD_MAX_ACES, &ace)) != 0)
			return rc;
		for (size_t j = 0; ace && j < json_array_size(ace); j++) {
			const json_t *e = json_array_get(ace, j);
			const char *en;
			pidx(q, p, "ace", j);
			if (!json_is_object(e))
				return invalid(im, q, "want an object");
			if ((rc = member_name(im, e, q, &en)) != 0)
				return rc;
			for (size_t k = 0; k < j; k++)
				if (!strcmp(en, json_string_value(json_object_get(json_array_get(ace, k), "name"))))
					return invalid(im, pkey(q, q, "name"), "\"%s\" names an earlier ACE of this ACL too",
						       safe(b, sizeof(b), en));
		}
	}
	return 0;
}

enum policy { FROM_DEVICE, TO_DEVICE, NO_POLICY };

/* Reads ACL i's ACEs and, for a policy, makes their rules. */
static int read_acl(struct imp *im, size_t i, enum policy pol)
{
	static const char *const ip_types[] = {"ipv4-acl-type", "ipv6-acl-type", "mixed-eth-ipv4-acl-type",
					       "mixed-eth-ipv6-acl-type", "mixed-eth-ipv4-ipv6-acl-type", NULL};
	const json_t *acl = json_array_get(im->acls, i);
	const char *name = json_string_value(json_object_get(acl, "name"));
	const json_t *type = json_object_get(acl, "type"), *aces = acl_aces(acl);
	char p[PATH_LEN], q[PATH_LEN], b[SAFE_LEN];
	int rc;
	acl_path(p, i);
	if (type) {
		const char *t = json_string_value(type);
		if (!strncmp(t, ACL_PREFIX, sizeof(ACL_PREFIX) - 1))
			t += sizeof(ACL_PREFIX) - 1;
		if (!listed(t, ip_types)) {
			if (pol != NO_POLICY)
				note(im, pkey(q, p, "type"), "%s: not supported: rules match IP flows (no rules made for this ACL)",
				     safe(b, sizeof(b), t));
			return 0;
		}
	}
	for (size_t j = 0; j < json_array_size(aces); j++) {
		pidx(q, p, "aces.ace", j);
		if ((rc = read_ace(im, json_array_get(aces, j), q)) != 0)
			return rc;
		if (pol != NO_POLICY && (rc = make_rule(im, name, pol == TO_DEVICE)) != 0)
			return rc;
	}
	return 0;
}

static int read_policy(struct imp *im, const json_t *mud, enum policy pol)
{
	static const char *const pol_keys[] = {"access-lists", NULL};
	static const char *const lists_keys[] = {"access-list", NULL};
	const char *key = pol == FROM_DEVICE ? "from-device-policy" : "to-device-policy";
	char p[PATH_LEN], q[PATH_LEN], b[SAFE_LEN];
	json_t *po, *lists, *list;
	int rc;
	if ((rc = member(im, mud, "ietf-mud:mud", key, J_OBJ, false, &po)) != 0 || !po)
		return rc;
	pkey(p, "ietf-mud:mud", key);
	unknown_keys(im, po, p, pol_keys);
	if ((rc = member(im, po, p, "access-lists", J_OBJ, false, &lists)) != 0 || !lists)
		return rc;
	pkey(p, p, "access-lists");
	unknown_keys(im, lists, p, lists_keys);
	if ((rc = member_arr(im, lists, p, "access-list", MUD_MAX_ACLS, &list)) != 0 || !list)
		return rc;
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *ref = json_array_get(list, i);
		const char *name;
		pidx(q, p, "access-list", i);
		if (!json_is_object(ref))
			return invalid(im, q, "want an object");
		if ((rc = member_name(im, ref, q, &name)) != 0)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(name, json_string_value(json_object_get(json_array_get(list, j), "name"))))
				return invalid(im, pkey(q, q, "name"), "\"%s\" is named twice", safe(b, sizeof(b), name));
		size_t k = 0;
		while (k < im->n_acls && strcmp(name, json_string_value(json_object_get(json_array_get(im->acls, k), "name"))))
			k++;
		if (k == im->n_acls)
			return invalid(im, pkey(q, q, "name"), "no ACL named \"%s\" in ietf-access-control-list:acls.acl",
				       safe(b, sizeof(b), name));
		im->used[k] = true;
		if ((rc = read_acl(im, k, pol)) != 0)
			return rc;
	}
	return 0;
}

/* The ietf-mud:mud container's own leaves. */
static int read_header(struct imp *im, const json_t *mud)
{
	static const char *const keys[] = {"mud-version", "mud-url", "last-update", "mud-signature", "cache-validity",
					   "is-supported", "systeminfo", "mfg-name", "model-name", "firmware-rev",
					   "software-rev", "documentation", "extensions", "from-device-policy",
					   "to-device-policy", NULL};
	static const char *const strings[] = {"mud-signature", "systeminfo", "mfg-name", "model-name", "firmware-rev",
					      "software-rev", "documentation", NULL};
	const char *path = "ietf-mud:mud";
	char p[PATH_LEN], b[SAFE_LEN];
	json_int_t n;
	bool has;
	json_t *v, *ext;
	int rc;
	if ((rc = member(im, mud, path, "mud-version", J_INT, true, &v)) != 0)
		return rc;
	if (json_integer_value(v) != 1)
		return invalid(im, pkey(p, path, "mud-version"), "%lld: only version 1 exists",
			       (long long)json_integer_value(v));
	if ((rc = member(im, mud, path, "mud-url", J_STR, true, &v)) != 0)
		return rc;
	im->url = json_string_value(v);
	if (!uri_ok(im->url))
		return invalid(im, pkey(p, path, "mud-url"), "\"%s\" is not a URI (printable ASCII, at most %d bytes)",
			       safe(b, sizeof(b), im->url), MUD_URL_MAX);
	if ((rc = member(im, mud, path, "last-update", J_STR, true, &v)) != 0 ||
	    (rc = member_int(im, mud, path, "cache-validity", 1, 168, false, &n, &has)) != 0 ||
	    (rc = member(im, mud, path, "is-supported", J_BOOL, true, &v)) != 0)
		return rc;
	if (json_is_false(v))
		note(im, pkey(p, path, "is-supported"), "false: the manufacturer no longer supports this device");
	for (const char *const *s = strings; *s; s++)
		if ((rc = member(im, mud, path, *s, J_STR, false, &v)) != 0)
			return rc;
	if ((rc = member_arr(im, mud, path, "extensions", MUD_MAX_ACLS, &ext)) != 0)
		return rc;
	for (size_t i = 0; ext && i < json_array_size(ext); i++) {
		json_t *e = json_array_get(ext, i);
		pidx(p, path, "extensions", i);
		if (!json_is_string(e))
			return invalid(im, p, "want a string");
		note(im, p, "extension \"%s\": not supported: ignored", safe(b, sizeof(b), json_string_value(e)));
	}
	unknown_keys(im, mud, path, keys);
	return 0;
}

static int read_mud(struct imp *im, const json_t *root)
{
	static const char *const top_keys[] = {"ietf-mud:mud", "ietf-access-control-list:acls", NULL};
	static const char *const acls_keys[] = {"acl", NULL};
	json_t *mud, *acls, *acl;
	int rc;
	if (!json_is_object(root))
		return invalid(im, "(top level)", "want an object");
	unknown_keys(im, root, "", top_keys);
	if ((rc = member(im, root, "", "ietf-mud:mud", J_OBJ, true, &mud)) != 0 ||
	    (rc = member(im, root, "", "ietf-access-control-list:acls", J_OBJ, false, &acls)) != 0 ||
	    (rc = read_header(im, mud)) != 0)
		return rc;
	if (acls) {
		unknown_keys(im, acls, "ietf-access-control-list:acls", acls_keys);
		if ((rc = member_arr(im, acls, "ietf-access-control-list:acls", "acl", MUD_MAX_ACLS, &acl)) != 0)
			return rc;
		im->acls = acl;
		im->n_acls = acl ? json_array_size(acl) : 0;
	}
	if ((rc = index_acls(im)) != 0 || (rc = read_policy(im, mud, FROM_DEVICE)) != 0 ||
	    (rc = read_policy(im, mud, TO_DEVICE)) != 0)
		return rc;
	/* An ACL no policy names is checked, but says nothing of the device. */
	for (size_t i = 0; i < im->n_acls; i++) {
		char p[PATH_LEN];
		if (im->used[i])
			continue;
		if ((rc = read_acl(im, i, NO_POLICY)) != 0)
			return rc;
		note(im, acl_path(p, i), "named by neither from-device-policy nor to-device-policy: no rules made");
	}
	return 0;
}

/* ---- YAML out ---- */

struct yw {
	yaml_emitter_t e;
	char *buf;
	size_t len, cap;
	bool failed;
};

static int yw_write(void *data, unsigned char *bytes, size_t size)
{
	struct yw *w = data;
	if (w->len + size + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap < w->len + size + 1)
			cap *= 2;
		char *nb = realloc(w->buf, cap);
		if (!nb)
			return 0;
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, bytes, size);
	w->len += size;
	w->buf[w->len] = '\0';
	return 1;
}

/* Emits ev (made by ok) unless an earlier event failed: the first failure
 * sticks, and the caller checks once at the end. */
static void yw_emit(struct yw *w, yaml_event_t *ev, int ok)
{
	if (!ok || w->failed) {
		yaml_event_delete(ev);
		w->failed = true;
		return;
	}
	if (!yaml_emitter_emit(&w->e, ev))
		w->failed = true;
}

/* YAML 1.1 reads these plain words as booleans or null. */
static bool plain_word_ok(const char *s)
{
	static const char *const words[] = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", NULL};
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (const char *c = s; *c; c++)
		if (!strchr("._/-", *c) && !(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') && !(*c >= '0' && *c <= '9'))
			return false;
	for (const char *const *w = words; *w; w++)
		if (!strcasecmp(s, *w))
			return false;
	return true;
}

/* A string: plain when YAML reads it back as the same string, double
 * quoted otherwise. Bytes that are not UTF-8 (the emitter refuses them)
 * become "\xHH" text, as iotids names every hostile byte. */
static void y_str(struct yw *w, const char *s)
{
	yaml_event_t ev;
	char *fixed = NULL;
	if (!utf8_ok(s)) {
		size_t n = strlen(s), cap = 4 * n + 1;
		if (!(fixed = malloc(cap))) {
			w->failed = true;
			return;
		}
		text_sanitize(fixed, cap, (const uint8_t *)s, n);
		s = fixed;
	}
	bool plain = plain_word_ok(s);
	yw_emit(w, &ev,
		yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, -1, plain, 1,
					     plain ? YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE));
	free(fixed);
}

static void y_int(struct yw *w, int n)
{
	yaml_event_t ev;
	char s[16];
	snprintf(s, sizeof(s), "%d", n);
	yw_emit(w, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, -1, 1, 0, YAML_PLAIN_SCALAR_STYLE));
}

static void y_map(struct yw *w, bool flow)
{
	yaml_event_t ev;
	yw_emit(w, &ev,
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

static void y_map_end(struct yw *w)
{
	yaml_event_t ev;
	yw_emit(w, &ev, yaml_mapping_end_event_initialize(&ev));
}

static void y_seq(struct yw *w, bool flow)
{
	yaml_event_t ev;
	yw_emit(w, &ev,
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						     flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE));
}

static void y_seq_end(struct yw *w)
{
	yaml_event_t ev;
	yw_emit(w, &ev, yaml_sequence_end_event_initialize(&ev));
}

struct selector {
	const char *key;          /* NULL: all */
	char value[4 * SELECTOR_MAX + 1];
};

static void y_rule(struct yw *w, const struct rule *r, const struct selector *sel)
{
	y_map(w, false);
	y_str(w, "name");
	y_str(w, r->name);
	y_str(w, "devices");
	if (sel->key) {
		y_map(w, true);
		y_str(w, sel->key);
		y_str(w, sel->value);
		y_map_end(w);
	} else {
		y_str(w, "all");
	}
	if (r->dest) {
		y_str(w, "destinations");
		y_seq(w, true);
		y_str(w, r->dest);
		y_seq_end(w);
	}
	if (r->n_ports) {
		y_str(w, "ports");
		y_seq(w, true);
		for (int i = 0; i < r->n_ports; i++)
			y_str(w, r->ports[i]);
		y_seq_end(w);
	}
	y_str(w, "kinds");
	y_seq(w, true);
	for (int i = 0; i < r->n_kinds; i++)
		y_str(w, r->kinds[i]);
	y_seq_end(w);
	y_str(w, "reason");
	y_str(w, r->reason);
	y_map_end(w);
}

static int write_yaml(const struct imp *im, const struct selector *sel, char **out)
{
	struct yw w = {0};
	yaml_event_t ev;
	if (!yaml_emitter_initialize(&w.e))
		return MUD_ERR_NOMEM;
	yaml_emitter_set_output(&w.e, yw_write, &w);
	yaml_emitter_set_unicode(&w.e, 1);
	yaml_emitter_set_width(&w.e, -1); /* a long reason stays on one line */
	yaml_emitter_set_indent(&w.e, 2);
	yw_emit(&w, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
	yw_emit(&w, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
	y_map(&w, false);
	y_str(&w, "version");
	y_int(&w, 1);
	y_str(&w, "exceptions");
	y_seq(&w, im->n_rules == 0);
	for (size_t i = 0; i < im->n_rules; i++)
		y_rule(&w, &im->rules[i], sel);
	y_seq_end(&w);
	/* Addresses are the person's to fill in: a MUD file names a
	 * controller, never where it is. */
	if (im->n_ctls) {
		y_str(&w, "controllers");
		y_map(&w, false);
		for (size_t i = 0; i < im->n_ctls; i++) {
			y_str(&w, im->ctls[i]);
			y_seq(&w, true);
			y_seq_end(&w);
		}
		y_map_end(&w);
	}
	y_map_end(&w);
	yw_emit(&w, &ev, yaml_document_end_event_initialize(&ev, 1));
	yw_emit(&w, &ev, yaml_stream_end_event_initialize(&ev));
	if (!w.failed && !yaml_emitter_flush(&w.e))
		w.failed = true;
	yaml_emitter_delete(&w.e);
	if (w.failed) {
		free(w.buf);
		return MUD_ERR_NOMEM;
	}
	*out = w.buf;
	return 0;
}

/* ---- import: the selector ---- */

/* n bytes of hex pairs joined by ':', lower-cased into out; n in lo..hi. */
static bool hex_bytes(const char *s, int lo, int hi, char *out)
{
	int n = 0;
	for (;;) {
		for (int i = 0; i < 2; i++, s++) {
			char c = *s;
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
				return false;
			*out++ = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
		}
		n++;
		if (!*s)
			break;
		if (*s++ != ':' || n == hi)
			return false;
		*out++ = ':';
	}
	*out = '\0';
	return n >= lo;
}

static int parse_selector(const char *text, struct selector *sel, char *err, size_t errlen)
{
	static const char *const keys[] = {"mac", "oui", "vendor", "hostname", "kind", NULL};
	const char *eq = text ? strchr(text, '=') : NULL;
	char b[SAFE_LEN];
	memset(sel, 0, sizeof(*sel));
	if (text && !strcmp(text, "all"))
		return 0;
	if (!eq || eq == text || !eq[1] || strlen(eq + 1) > SELECTOR_MAX) {
		set_err(err, errlen,
			"device selector \"%s\": want all, or KEY=VALUE with KEY one of mac, oui, vendor, hostname, "
			"kind and a value of 1 to %d bytes",
			safe(b, sizeof(b), text ? text : ""), SELECTOR_MAX);
		return MUD_ERR_USAGE;
	}
	for (const char *const *k = keys; *k; k++)
		if (strlen(*k) == (size_t)(eq - text) && !strncmp(*k, text, (size_t)(eq - text)))
			sel->key = *k;
	if (!sel->key) {
		set_err(err, errlen, "device selector \"%s\": the key is not one of mac, oui, vendor, hostname, kind",
			safe(b, sizeof(b), text));
		return MUD_ERR_USAGE;
	}
	const char *v = eq + 1;
	bool mac = !strcmp(sel->key, "mac");
	if ((mac || !strcmp(sel->key, "oui")) && !hex_bytes(v, mac ? 6 : 1, mac ? 6 : 5, sel->value)) {
		set_err(err, errlen, "device selector \"%s\": want %s", safe(b, sizeof(b), text),
			mac ? "a MAC, aa:bb:cc:dd:ee:ff" : "1 to 5 bytes of a MAC, aa:bb:cc");
		return MUD_ERR_USAGE;
	}
	/* Names iotids keeps are safe text, so a hostile byte matches as the
	 * "\xHH" it became. */
	if (!mac && strcmp(sel->key, "oui"))
		text_sanitize(sel->value, sizeof(sel->value), (const uint8_t *)v, strlen(v));
	return 0;
}

int mud_import(const char *json, size_t len, const char *selector, char **yaml_out, mud_report_fn report, void *ctx,
	       char *err, size_t errlen)
{
	struct imp *im = NULL;
	struct selector sel;
	json_t *root = NULL;
	json_error_t je;
	char b[SAFE_LEN];
	int rc;
	*yaml_out = NULL;
	if ((rc = parse_selector(selector, &sel, err, errlen)) != 0)
		return rc;
	if (len > MUD_MAX_BYTES) {
		set_err(err, errlen, "%zu bytes: a MUD file is at most %u", len, MUD_MAX_BYTES);
		return MUD_ERR_INVALID;
	}
	if (!(im = calloc(1, sizeof(*im)))) {
		set_err(err, errlen, "out of memory");
		return MUD_ERR_NOMEM;
	}
	im->report = report;
	im->ctx = ctx;
	im->err = err;
	im->errlen = errlen;
	/* A duplicate key would make the file mean two things. */
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		set_err(err, errlen, "not JSON: line %d, column %d: %s", je.line, je.column, safe(b, sizeof(b), je.text));
		rc = MUD_ERR_INVALID;
		goto out;
	}
	if ((rc = read_mud(im, root)) != 0)
		goto out;
	rc = write_yaml(im, &sel, yaml_out);
out:
	if (rc == MUD_ERR_NOMEM)
		set_err(err, errlen, "out of memory");
	for (size_t i = 0; i < im->n_rules; i++) {
		free(im->rules[i].dest);
		free(im->rules[i].reason);
	}
	free(im->rules);
	for (size_t i = 0; i < im->n_ctls; i++)
		free(im->ctls[i]);
	free(im->ctls);
	free(im);
	json_decref(root);
	return rc;
}

/* ---- export ---- */

/* Building sticks at the first failure; json_*_set_new and append_new
 * take the value even when they fail, so nothing leaks. */
struct jb {
	bool failed;
};

static void put(struct jb *b, json_t *o, const char *key, json_t *v)
{
	if (json_object_set_new(o, key, v) != 0)
		b->failed = true;
}

static void push(struct jb *b, json_t *a, json_t *v)
{
	if (json_array_append_new(a, v) != 0)
		b->failed = true;
}

/* Names in a profile are safe text already; anything else is made so. */
static json_t *jstr(const char *s)
{
	char buf[1024];
	json_t *v = json_string(s);
	return v ? v : json_string(safe(buf, sizeof(buf), s));
}

static const char *proto_word(uint8_t proto, char *buf, size_t len)
{
	if (proto == 6 || proto == 17)
		return proto == 6 ? "tcp" : "udp";
	snprintf(buf, len, "p%u", proto);
	return buf;
}

/* An accepting ACE. l3 (an ipv4/ipv6 object, taken) gets the protocol
 * (0: any); local adds the local-networks abstraction; a port (0: any)
 * the destination-port of TCP or UDP; initiated says who starts a TCP
 * flow. */
static json_t *ace_new(struct jb *b, const char *name, bool v6, json_t *l3, bool local, uint8_t proto, uint16_t port,
		       const char *initiated)
{
	json_t *ace = json_object(), *m = json_object(), *act = json_object();
	put(b, ace, "name", jstr(name));
	if (local) {
		json_t *mm = json_object(), *empty = json_array();
		push(b, empty, json_null());
		put(b, mm, "local-networks", empty);
		put(b, m, "ietf-mud:mud", mm);
	}
	if (proto)
		put(b, l3, "protocol", json_integer(proto));
	if (json_object_size(l3))
		put(b, m, v6 ? "ipv6" : "ipv4", l3);
	else
		json_decref(l3);
	if (proto == 6 || proto == 17) {
		json_t *l4 = json_object();
		if (proto == 6 && initiated)
			put(b, l4, "ietf-mud:direction-initiated", json_string(initiated));
		if (port)
			put(b, l4, "destination-port", json_pack("{s:s, s:i}", "operator", "eq", "port", (int)port));
		if (json_object_size(l4))
			put(b, m, proto == 6 ? "tcp" : "udp", l4);
		else
			json_decref(l4);
	}
	put(b, ace, "matches", m);
	put(b, act, "forwarding", json_string("accept"));
	put(b, ace, "actions", act);
	return b->failed ? (json_decref(ace), NULL) : ace;
}

/* The ACEs of the four ACLs: [to-device][IPv6]. */
struct aces {
	json_t *a[2][2];
};

static void add_ace(struct jb *b, struct aces *x, bool to_device, bool v6, json_t *ace)
{
	push(b, x->a[to_device][v6], ace);
}

static bool addr_v6(const struct ip_addr *ip)
{
	return !ip_is_v4(ip) && !ip_is_unspecified(ip);
}

static void export_dests(struct jb *b, struct aces *x, const struct det_profile *p)
{
	struct det_dest_info di;
	char name[32];
	for (uint32_t i = 0; det_profile_dest(p, i, &di); i++) {
		struct ip_prefix net;
		bool is_net = !di.named && ip_prefix_parse(di.dest, &net) == 0;
		bool v6 = is_net ? !ip_is_v4(&net.addr) : addr_v6(&di.addr);
		json_t *l3 = json_object();
		if (is_net)
			put(b, l3, v6 ? "destination-ipv6-network" : "destination-ipv4-network", jstr(di.dest));
		else
			put(b, l3, "ietf-acldns:dst-dnsname", jstr(di.dest));
		snprintf(name, sizeof(name), "dst-%u", i);
		add_ace(b, x, false, v6, ace_new(b, name, v6, l3, false, di.proto, di.port, "from-device"));
	}
}

/* One ACE per family and service used on any LAN peer: local-networks
 * says "the LAN" without the home's addresses. */
static void export_peers(struct jb *b, struct aces *x, const struct det_profile *p)
{
	uint32_t seen[DET_MAX_PEERS * (DET_PEER_SERVICES + 1)];
	size_t n_seen = 0;
	struct det_peer_info pi;
	char name[40], pw[8];
	for (uint32_t i = 0; det_profile_peer(p, i, &pi); i++) {
		bool v6 = addr_v6(&pi.ip);
		/* A peer reached on dynamic ports only has no service: any. */
		uint32_t n = pi.n_services ? pi.n_services : 1;
		for (uint32_t j = 0; j < n; j++) {
			uint16_t port = pi.n_services ? pi.ports[j] : 0;
			uint8_t proto = pi.n_services ? pi.protos[j] : 0;
			uint32_t k = (uint32_t)v6 << 24 | (uint32_t)port << 8 | proto;
			size_t s = 0;
			while (s < n_seen && seen[s] != k)
				s++;
			if (s < n_seen || n_seen == sizeof(seen) / sizeof(seen[0]))
				continue;
			seen[n_seen++] = k;
			if (proto)
				snprintf(name, sizeof(name), "lan-%u-%s", port, proto_word(proto, pw, sizeof(pw)));
			else
				snprintf(name, sizeof(name), "lan-any");
			add_ace(b, x, false, v6, ace_new(b, name, v6, json_object(), true, proto, port, "from-device"));
		}
	}
}

/* A service reached from the LAN, and apart from it one reached from the
 * internet: any source, which a reviewer should see on its own. */
static void export_services(struct jb *b, struct aces *x, const struct det_profile *p)
{
	struct det_service_info si;
	char name[48], pw[8];
	for (uint32_t i = 0; det_profile_service(p, i, &si); i++) {
		bool v6 = addr_v6(&si.last_client);
		const char *t = proto_word(si.proto, pw, sizeof(pw));
		if (si.flows > si.from_internet) {
			snprintf(name, sizeof(name), "svc-%u-%s-lan", si.port, t);
			add_ace(b, x, true, v6, ace_new(b, name, v6, json_object(), true, si.proto, si.port, "to-device"));
		}
		if (si.from_internet) {
			snprintf(name, sizeof(name), "svc-%u-%s-internet", si.port, t);
			add_ace(b, x, true, v6, ace_new(b, name, v6, json_object(), false, si.proto, si.port, "to-device"));
		}
	}
}

/* Accepted destinations in force at the profile's last event. A name
 * holds for both families; a MUD dnsname is exact where an accept also
 * covers subdomains (docs/mud.md). */
static void export_accepts(struct jb *b, struct aces *x, const struct det_profile *p, uint64_t now_us)
{
	struct det_accept_info ai;
	char name[40];
	for (uint32_t i = 0; det_profile_accepted(p, i, &ai); i++) {
		if (ai.until_us && ai.until_us <= now_us)
			continue;
		struct ip_prefix net;
		bool is_net = ip_prefix_parse(ai.dest, &net) == 0;
		uint8_t protos[2] = {ai.proto, 0};
		int n_protos = 1;
		if (ai.port && !ai.proto) {
			protos[0] = 6;
			protos[1] = 17;
			n_protos = 2;
		}
		for (int v6 = 0; v6 < 2; v6++) {
			if (is_net && v6 == ip_is_v4(&net.addr))
				continue;
			for (int k = 0; k < n_protos; k++) {
				json_t *l3 = json_object();
				if (is_net)
					put(b, l3, v6 ? "destination-ipv6-network" : "destination-ipv4-network", jstr(ai.dest));
				else
					put(b, l3, "ietf-acldns:dst-dnsname", jstr(ai.dest));
				if (n_protos > 1)
					snprintf(name, sizeof(name), "acc-%u-%s", i, protos[k] == 6 ? "tcp" : "udp");
				else
					snprintf(name, sizeof(name), "acc-%u", i);
				add_ace(b, x, false, v6, ace_new(b, name, v6, l3, false, protos[k], ai.port, "from-device"));
			}
		}
	}
}

/* Safe text (text.h): a MUD manager shows it to people. */
static bool systeminfo_ok(const char *s)
{
	size_t n = utf8_chars(s);
	return text_is_safe(s) && n >= 1 && n <= MUD_SYSTEMINFO_MAX;
}

int mud_export(const struct det_profile *p, const char *mud_url, const char *systeminfo, char **json_out, char *err,
	       size_t errlen)
{
	static const char *const acl_suffix[2][2] = {{"v4fr", "v6fr"}, {"v4to", "v6to"}};
	static const char *const policy[2] = {"from-device-policy", "to-device-policy"};
	struct det_profile_info info;
	struct jb b = {0};
	struct aces x = {0};
	json_t *root = NULL, *mud, *acls, *acl_list, *lists[2] = {NULL, NULL};
	char who[IP_STRLEN], base[IP_STRLEN + 8], sysbuf[80], when[32], name[64];
	int rc = MUD_ERR_NOMEM;
	*json_out = NULL;
	if (!mud_url || strncasecmp(mud_url, "https://", 8) || !mud_url[8] || !uri_ok(mud_url)) {
		set_err(err, errlen, "MUD URL \"%s\": want an https URL of printable ASCII, at most %d bytes",
			safe(sysbuf, sizeof(sysbuf), mud_url ? mud_url : ""), MUD_URL_MAX);
		return MUD_ERR_USAGE;
	}
	if (systeminfo && !systeminfo_ok(systeminfo)) {
		set_err(err, errlen, "systeminfo: want 1 to %d characters of safe text (no control or format characters)", MUD_SYSTEMINFO_MAX);
		return MUD_ERR_USAGE;
	}
	det_profile_info(p, &info);
	if (info.has_mac)
		snprintf(who, sizeof(who), "%02x:%02x:%02x:%02x:%02x:%02x", info.key[0], info.key[1], info.key[2],
			 info.key[3], info.key[4], info.key[5]);
	else
		ip_format((const struct ip_addr *)info.key, who, sizeof(who));
	/* ACL names: iotids-<MAC hex or address>-v4fr, as RFC 8520's examples. */
	size_t n = (size_t)snprintf(base, sizeof(base), "iotids-");
	for (const char *c = who; *c && n + 1 < sizeof(base); c++)
		if (!info.has_mac || *c != ':')
			base[n++] = (*c == ':' || *c == '.') ? '-' : *c;
	base[n] = '\0';
	if (!systeminfo) {
		snprintf(sysbuf, sizeof(sysbuf), "iotids profile of %s", who);
		if (strlen(sysbuf) > MUD_SYSTEMINFO_MAX)
			snprintf(sysbuf, sizeof(sysbuf), "%s", who);
		systeminfo = sysbuf;
	}
	/* Capture time, never the wall clock: the same profile, the same file. */
	time_t t = (time_t)(info.last_us / 1000000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(when, sizeof(when), "1970-01-01T00:00:00Z");

	for (int d = 0; d < 2; d++)
		for (int f = 0; f < 2; f++)
			x.a[d][f] = json_array();
	export_dests(&b, &x, p);
	export_peers(&b, &x, p);
	export_services(&b, &x, p);
	export_accepts(&b, &x, p, info.last_us);

	root = json_object();
	mud = json_object();
	acls = json_object();
	acl_list = json_array();
	put(&b, root, "ietf-mud:mud", mud);
	put(&b, root, "ietf-access-control-list:acls", acls);
	put(&b, acls, "acl", acl_list);
	put(&b, mud, "mud-version", json_integer(1));
	put(&b, mud, "mud-url", json_string(mud_url));
	put(&b, mud, "last-update", json_string(when));
	put(&b, mud, "cache-validity", json_integer(48));
	put(&b, mud, "is-supported", json_true());
	put(&b, mud, "systeminfo", jstr(systeminfo));
	for (int d = 0; d < 2; d++) {
		for (int f = 0; f < 2; f++) {
			if (!json_array_size(x.a[d][f]))
				continue;
			if (!lists[d]) {
				lists[d] = json_array();
				put(&b, mud, policy[d], json_pack("{s:{s:o}}", "access-lists", "access-list", json_incref(lists[d])));
			}
			snprintf(name, sizeof(name), "%s-%s", base, acl_suffix[d][f]);
			push(&b, lists[d], json_pack("{s:s}", "name", name));
			push(&b, acl_list,
			     json_pack("{s:s, s:s, s:{s:O}}", "name", name, "type", f ? "ipv6-acl-type" : "ipv4-acl-type",
				       "aces", "ace", x.a[d][f]));
		}
	}
	if (!b.failed && (*json_out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) != NULL)
		rc = 0;
	else
		set_err(err, errlen, "out of memory");
	json_decref(root);
	json_decref(lists[0]);
	json_decref(lists[1]);
	for (int d = 0; d < 2; d++)
		for (int f = 0; f < 2; f++)
			json_decref(x.a[d][f]);
	return rc;
}
