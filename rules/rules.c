/*
 * rules — loading, matching and the update-window engine (docs/rules.md).
 *
 * A file is read whole (at most RULES_MAX_FILE_BYTES), parsed by libyaml's
 * event parser into a small tree (depth, node count and list lengths
 * bounded before anything grows), and the tree is checked against the
 * schema. Checking goes on after an error so that one run reports every
 * mistake, each with its file, line and column; a set with any error is
 * never returned. Anchors, aliases and tags are refused, as in the
 * configuration file: they buy nothing here and aliases are how a small
 * YAML file expands into a huge one.
 *
 * Everything a set holds lives in one arena, freed at once.
 */
#include "rules/rules.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "cli/config.h"
#include "detector/detector.h"
#include "features/kind.h"
#include "features/text.h"

#define US 1000000ull
#define DEFAULT_WINDOW_US (3600 * US)
#define MAX_WINDOW_US (7 * 86400 * US)
#define MAX_RELEARN_US (30 * 86400 * US)
#define QUOTE_MAX 48
/* Its safe text: every byte may become "\\xHH", and "..." follows. */
#define QUOTE_TEXT (QUOTE_MAX * 4 + 4)

/* ---- arena ---- */

struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct arena {
	struct chunk *head;
};

static void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	struct chunk *c = a->head;
	if (!c || c->size - c->used < n) {
		size_t size = n > 16384 ? n : 16384;
		c = calloc(1, sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static char *arena_strdup(struct arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = arena_alloc(a, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct chunk *c = a->head;
		a->head = c->next;
		free(c);
	}
}

/* ---- the rule set ---- */

enum pat_type { PAT_NAME, PAT_WILD, PAT_DOMAIN, PAT_PREFIX, PAT_LAN, PAT_CONTROLLER };

struct pattern {
	enum pat_type type;
	const char *text;         /* name, wildcard or domain, lower case; controller URI */
	struct ip_prefix net;
	const struct ip_prefix *nets; /* a controller's, resolved at the end of a load */
	size_t n_nets;
	size_t line, col;         /* of a controller pattern, for an unknown URI */
	const char *file;
};

struct port_range {
	uint16_t lo, hi;
	uint8_t proto;            /* 0: TCP or UDP */
};

struct oui_prefix {
	uint8_t b[5];
	uint8_t len;
};

/* One mapping of a selector: every key it has must match. */
struct sel_term {
	const uint8_t (*macs)[6];
	size_t n_macs;
	const struct oui_prefix *ouis;
	size_t n_ouis;
	const char *const *vendors, *const *hosts, *const *kinds;
	size_t n_vendors, n_hosts, n_kinds;
};

struct selector {
	bool all;
	const struct sel_term *terms; /* any of them */
	size_t n_terms;
};

struct rule {
	bool update;
	const char *name, *reason;
	const char *file;
	size_t line, col;
	struct selector sel;
	const struct pattern *pats;   /* hosts or destinations; none: any (exceptions) */
	size_t n_pats;
	const struct port_range *ports;
	size_t n_ports;
	uint32_t kinds;               /* bit i: det_kind_name(i); 0: any */
	uint64_t window_us, relearn_us;
	int from_min, to_min;         /* hours; -1: any time */
	uint64_t expires_us;          /* 0: never */
	uint64_t suppressed, windows;
};

struct controller {
	const char *uri;
	struct ip_prefix *nets;
	size_t n_nets;
};

struct rules {
	struct arena arena;
	struct rule *r;
	size_t n, cap;
	struct controller *ctl;
	size_t n_ctl, cap_ctl;
};

void rules_free(struct rules *rs)
{
	if (!rs)
		return;
	free(rs->r);
	free(rs->ctl);
	arena_free(&rs->arena);
	free(rs);
}

void rules_count(const struct rules *rs, size_t *updates, size_t *exceptions)
{
	size_t u = 0;
	for (size_t i = 0; rs && i < rs->n; i++)
		u += rs->r[i].update;
	if (updates)
		*updates = u;
	if (exceptions)
		*exceptions = (rs ? rs->n : 0) - u;
}

/* ---- YAML into a tree ---- */

enum ytype { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ytype type;
	size_t line, col;             /* 1-based */
	const char *text;             /* a scalar's */
	bool plain;                   /* an unquoted scalar */
	struct ynode **kid;           /* list items; map keys and values, alternately */
	size_t n, cap;
};

struct loader {
	rules_error_fn fn;
	void *ctx;
	uint64_t errors;              /* saturates: any error at all fails the load */
	const char *file;             /* the file being read (in the set's arena) */
	struct rules *rs;
	struct arena tree;            /* the current file's nodes, freed after it */
	size_t nodes;
};

static void report(struct loader *ld, const char *file, size_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void report(struct loader *ld, const char *file, size_t line, size_t col, const char *fmt, ...)
{
	char msg[512], out[1024];
	va_list ap;
	if (ld->errors < UINT64_MAX)
		ld->errors++;
	if (ld->errors > RULES_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(out, sizeof(out), "%s:%zu:%zu: %s", file, line, col, msg);
	else
		snprintf(out, sizeof(out), "%s: %s", file, msg);
	ld->fn(ld->ctx, out);
}

#define err_at(ld, node, ...) report((ld), (ld)->file, (node)->line, (node)->col, __VA_ARGS__)

/* At most QUOTE_MAX bytes of s as safe text (features/text.h), for messages. */
static const char *quote(const char *s, char *buf, size_t size)
{
	return text_quote((const uint8_t *)s, strlen(s), QUOTE_MAX, buf, size);
}

/* Line and column of a byte offset; reader errors report only the offset. */
static void offset_position(const unsigned char *text, size_t len, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if ((text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static void parser_failed(struct loader *ld, const yaml_parser_t *p, const unsigned char *text, size_t len)
{
	const char *problem = p->problem ? p->problem : "malformed YAML";
	size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
	if (p->error == YAML_MEMORY_ERROR) {
		report(ld, ld->file, 0, 0, "out of memory");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		offset_position(text, len, p->problem_offset, &line, &col);
		if (p->problem_value >= 0) {
			report(ld, ld->file, line, col, "%s (byte 0x%02X)", problem, (unsigned)p->problem_value);
			return;
		}
	}
	if (p->context)
		report(ld, ld->file, line, col, "%s %s at line %zu, column %zu", problem, p->context,
		       p->context_mark.line + 1, p->context_mark.column + 1);
	else
		report(ld, ld->file, line, col, "%s", problem);
}

static struct ynode *node_new(struct loader *ld, enum ytype t, const yaml_mark_t *m)
{
	if (ld->nodes >= RULES_MAX_NODES)
		return NULL;
	struct ynode *n = arena_alloc(&ld->tree, sizeof(*n));
	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->type = t;
	n->line = m->line + 1;
	n->col = m->column + 1;
	ld->nodes++;
	return n;
}

static bool node_add(struct loader *ld, struct ynode *parent, struct ynode *kid)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct ynode **k = arena_alloc(&ld->tree, cap * sizeof(*k));
		if (!k)
			return false;
		if (parent->n)
			memcpy(k, parent->kid, parent->n * sizeof(*k));
		parent->kid = k;
		parent->cap = cap;
	}
	parent->kid[parent->n++] = kid;
	return true;
}

/* Anchors, aliases and tags: refused (see the top of the file). */
static bool event_refused(struct loader *ld, const yaml_event_t *ev)
{
	const yaml_char_t *anchor = NULL, *tag = NULL;
	size_t line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;
	if (ev->type == YAML_ALIAS_EVENT) {
		report(ld, ld->file, line, col, "aliases are not supported");
		return true;
	}
	if (ev->type == YAML_SCALAR_EVENT) {
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
	} else if (ev->type == YAML_SEQUENCE_START_EVENT) {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	} else if (ev->type == YAML_MAPPING_START_EVENT) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	}
	if (anchor) {
		report(ld, ld->file, line, col, "anchors and aliases are not supported");
		return true;
	}
	if (tag) {
		char q[QUOTE_TEXT];
		report(ld, ld->file, line, col, "tags are not supported (found '%s')", quote((const char *)tag, q, sizeof(q)));
		return true;
	}
	return false;
}

/* The document's root node; NULL for an empty file (*failed false) or on
 * an error (reported, *failed true). */
static struct ynode *parse_tree(struct loader *ld, const unsigned char *text, size_t len, bool *failed)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct ynode *stack[RULES_MAX_DEPTH + 1], *root = NULL;
	size_t depth = 0, docs = 0;
	bool done = false;

	*failed = true;
	if (!yaml_parser_initialize(&p)) {
		report(ld, ld->file, 0, 0, "out of memory");
		return NULL;
	}
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&p, text, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			parser_failed(ld, &p, text, len);
			goto out;
		}
		struct ynode *n = NULL;
		size_t line = ev.start_mark.line + 1, col = ev.start_mark.column + 1;
		if (event_refused(ld, &ev)) {
			yaml_event_delete(&ev);
			goto out;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				report(ld, ld->file, line, col, "one YAML document per file (this is a second)");
				yaml_event_delete(&ev);
				goto out;
			}
			break;
		case YAML_SCALAR_EVENT:
			if (strlen((const char *)ev.data.scalar.value) != ev.data.scalar.length) {
				report(ld, ld->file, line, col, "a value holds a NUL byte");
				yaml_event_delete(&ev);
				goto out;
			}
			n = node_new(ld, Y_SCALAR, &ev.start_mark);
			if (n) {
				n->text = arena_strdup(&ld->tree, (const char *)ev.data.scalar.value);
				n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
				if (!n->text)
					n = NULL;
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (depth == RULES_MAX_DEPTH) {
				report(ld, ld->file, line, col, "nested deeper than %d levels", RULES_MAX_DEPTH);
				yaml_event_delete(&ev);
				goto out;
			}
			n = node_new(ld, ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP, &ev.start_mark);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		bool is_node = ev.type == YAML_SCALAR_EVENT || ev.type == YAML_SEQUENCE_START_EVENT ||
			       ev.type == YAML_MAPPING_START_EVENT;
		yaml_event_delete(&ev);
		if (!is_node)
			continue;
		if (!n) {
			if (ld->nodes >= RULES_MAX_NODES)
				report(ld, ld->file, line, col, "more than %d YAML nodes in one file", RULES_MAX_NODES);
			else
				report(ld, ld->file, line, col, "out of memory");
			goto out;
		}
		if (depth == 0)
			root = n;
		else if (!node_add(ld, stack[depth - 1], n)) {
			report(ld, ld->file, line, col, "out of memory");
			goto out;
		}
		if (n->type != Y_SCALAR)
			stack[depth++] = n;
	}
	*failed = false;
out:
	yaml_parser_delete(&p);
	return *failed ? NULL : root;
}

/* ---- checking the tree ---- */

static const char *describe(const struct ynode *n, char *buf, size_t size)
{
	char q[QUOTE_TEXT];
	if (n->type == Y_SEQ)
		return "a list";
	if (n->type == Y_MAP)
		return "a mapping";
	if (!n->text[0])
		return "nothing";
	snprintf(buf, size, "'%s'", quote(n->text, q, sizeof(q)));
	return buf;
}

static const char *scalar(struct loader *ld, const struct ynode *n, const char *key, const char *want)
{
	char d[QUOTE_MAX * 3];
	if (n->type == Y_SCALAR && n->text[0])
		return n->text;
	err_at(ld, n, "%s: expected %s, got %s", key, want, describe(n, d, sizeof(d)));
	return NULL;
}

/* The items of a value that may be one item or a list of them. */
static bool items(struct loader *ld, const struct ynode *n, const char *key, struct ynode *const **kid, size_t *count,
		  struct ynode **single)
{
	if (n->type == Y_SEQ) {
		if (n->n == 0) {
			err_at(ld, n, "%s: an empty list (leave the key out instead)", key);
			return false;
		}
		if (n->n > RULES_MAX_LIST) {
			err_at(ld, n, "%s: more than %d entries", key, RULES_MAX_LIST);
			return false;
		}
		*kid = n->kid;
		*count = n->n;
		return true;
	}
	*single = (struct ynode *)n;
	*kid = single;
	*count = 1;
	return true;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* A DNS name as rules compare it: letters, digits, '-' and '_', labels
 * of 1 to 63, at most 253 in all; a trailing dot dropped. */
static bool name_ok(char *s, bool allow_star)
{
	size_t n = strlen(s);
	if (n && s[n - 1] == '.')
		s[--n] = '\0';
	if (n == 0 || n > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63)
				return false;
			if (label > 1 && memchr(s + i - label, '*', label))
				return false;
			label = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			  (allow_star && c == '*');
		if (!ok)
			return false;
		label++;
	}
	return true;
}

static bool parse_pattern(struct loader *ld, const struct ynode *n, const char *key, bool update, struct pattern *p)
{
	char q[QUOTE_TEXT], buf[300];
	const char *t = scalar(ld, n, key, "a destination pattern");
	if (!t)
		return false;
	memset(p, 0, sizeof(*p));
	if (!strncmp(t, "controller:", 11)) {
		if (update || !t[11]) {
			err_at(ld, n, "%s: %s", key,
			       update ? "controller: patterns are for exceptions, not update hosts"
				      : "controller: needs the controller's URI");
			return false;
		}
		p->type = PAT_CONTROLLER;
		p->text = arena_strdup(&ld->rs->arena, t + 11);
		p->line = n->line;
		p->col = n->col;
		p->file = ld->file;
		return p->text != NULL;
	}
	if (!strcasecmp(t, "lan")) {
		if (update) {
			err_at(ld, n, "%s: 'lan' is for exceptions, not update hosts", key);
			return false;
		}
		p->type = PAT_LAN;
		return true;
	}
	bool domain = !strncmp(t, "domain:", 7);
	const char *name = domain ? t + 7 : t;
	struct ip_prefix net;
	if (!domain && ip_prefix_parse(name, &net) == 0) {
		/* ip_prefix_parse clears host bits; a file must say what it means. */
		struct ip_addr a;
		char *slash = strchr(name, '/');
		snprintf(buf, sizeof(buf), "%.*s", slash ? (int)(slash - name) : (int)strlen(name), name);
		if (ip_parse(buf, &a) == 0 && !ip_equal(&a, &net.addr)) {
			char f[64];
			err_at(ld, n, "%s: %s has host bits set (the network is %s)", key, quote(t, q, sizeof(q)),
			       ip_prefix_format(&net, f, sizeof(f)));
			return false;
		}
		p->type = PAT_PREFIX;
		p->net = net;
		return true;
	}
	if (strlen(name) >= sizeof(buf)) {
		err_at(ld, n, "%s: a name longer than 253 characters", key);
		return false;
	}
	snprintf(buf, sizeof(buf), "%s", name);
	lower(buf);
	const char *last = strrchr(buf, '.');
	bool star_tld = !strcmp(last ? last + 1 : buf, "*");
	if (!name_ok(buf, !domain) || star_tld) {
		const char *why = star_tld ? "a '*' cannot stand for the top-level label"
			: strchr(buf, '*') ? "a '*' must be a whole label ('*.example.com')"
			: strchr(name, '/') ? "not a valid CIDR prefix"
			: "expected a name, '*.name', 'domain:name', an address or a CIDR prefix";
		err_at(ld, n, "%s: %s: %s", key, quote(t, q, sizeof(q)), why);
		return false;
	}
	p->type = domain ? PAT_DOMAIN : strchr(buf, '*') ? PAT_WILD : PAT_NAME;
	p->text = arena_strdup(&ld->rs->arena, buf);
	return p->text != NULL;
}

static bool parse_port(struct loader *ld, const struct ynode *n, struct port_range *pr)
{
	char q[QUOTE_TEXT];
	const char *t = scalar(ld, n, "ports", "a port ('443', '443/tcp', '8000-8100/udp')");
	if (!t)
		return false;
	unsigned long lo, hi;
	char *end;
	errno = 0;
	lo = strtoul(t, &end, 10);
	hi = lo;
	bool ok = end != t && t[0] >= '0' && t[0] <= '9' && !errno;
	if (ok && *end == '-') {
		const char *h = end + 1;
		hi = strtoul(h, &end, 10);
		ok = end != h && h[0] >= '0' && h[0] <= '9' && !errno;
	}
	pr->proto = 0;
	if (ok && *end == '/') {
		if (!strcmp(end + 1, "tcp"))
			pr->proto = 6;
		else if (!strcmp(end + 1, "udp"))
			pr->proto = 17;
		else
			ok = false;
	} else if (ok && *end) {
		ok = false;
	}
	if (!ok || lo < 1 || hi > 65535 || lo > hi) {
		err_at(ld, n, "ports: %s: expected a port 1-65535 or a range, with /tcp or /udp if wanted",
		       quote(t, q, sizeof(q)));
		return false;
	}
	pr->lo = (uint16_t)lo;
	pr->hi = (uint16_t)hi;
	return true;
}

static bool parse_mac_bytes(const char *t, uint8_t *out, size_t *len, size_t max)
{
	size_t n = 0;
	while (*t) {
		unsigned v = 0;
		for (int i = 0; i < 2; i++) {
			char c = t[i];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
				: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (d < 0)
				return false;
			v = v * 16 + (unsigned)d;
		}
		if (n == max)
			return false;
		out[n++] = (uint8_t)v;
		t += 2;
		if (*t == ':' || *t == '-')
			t++;
		else if (*t)
			return false;
		else
			break;
	}
	*len = n;
	return n > 0 && t[-1] != ':' && t[-1] != '-';
}

static bool glob_ok(const char *t)
{
	return strlen(t) <= 256;
}

/* Case-insensitive, '*' any run, '?' one byte; iterative, so no input
 * makes it recurse. */
static bool glob_match(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;
	while (*s) {
		char pc = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
		char sc = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
		if (*p == '*') {
			star = ++p;
			resume = s;
		} else if (*p && (pc == sc || *p == '?')) {
			p++;
			s++;
		} else if (star) {
			p = star;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static const char *const sel_keys[] = {"mac", "oui", "vendor", "hostname", "kind"};

static bool parse_term(struct loader *ld, const struct ynode *m, struct sel_term *t)
{
	char d[QUOTE_MAX * 3], q[QUOTE_MAX * 2];
	bool ok = true;
	memset(t, 0, sizeof(*t));
	if (m->type != Y_MAP || m->n == 0) {
		err_at(ld, m, "devices: expected 'all', a mapping of %s, or a list of them, got %s",
		       "mac/oui/vendor/hostname/kind", describe(m, d, sizeof(d)));
		return false;
	}
	unsigned seen = 0;
	if (m->n > 2 * 5) {
		err_at(ld, m, "devices: more than the 5 keys a selector has (mac, oui, vendor, hostname, kind)");
		return false;
	}
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct ynode *k = m->kid[i], *v = m->kid[i + 1];
		size_t which = 0;
		while (which < 5 && !(k->type == Y_SCALAR && !strcmp(k->text, sel_keys[which])))
			which++;
		if (which == 5) {
			err_at(ld, k, "devices: unknown key %s (expected mac, oui, vendor, hostname or kind)",
			       describe(k, d, sizeof(d)));
			ok = false;
			continue;
		}
		if (seen >> which & 1) {
			err_at(ld, k, "devices: %s given twice", k->text);
			ok = false;
			continue;
		}
		seen |= 1u << which;
		struct ynode *const *kid, *single;
		size_t n;
		if (!items(ld, v, k->text, &kid, &n, &single)) {
			ok = false;
			continue;
		}
		uint8_t (*macs)[6] = which == 0 ? arena_alloc(&ld->rs->arena, n * sizeof(*macs)) : NULL;
		struct oui_prefix *ouis = which == 1 ? arena_alloc(&ld->rs->arena, n * sizeof(*ouis)) : NULL;
		const char **strs = which >= 2 ? arena_alloc(&ld->rs->arena, n * sizeof(*strs)) : NULL;
		if (!macs && !ouis && !strs) {
			err_at(ld, v, "out of memory");
			return false;
		}
		for (size_t j = 0; j < n; j++) {
			const char *s = scalar(ld, kid[j], k->text, which == 0 ? "a MAC address" : "text");
			size_t len;
			if (!s) {
				ok = false;
			} else if (which == 0) {
				if (!parse_mac_bytes(s, macs[j], &len, 6) || len != 6) {
					err_at(ld, kid[j], "mac: %s: expected six bytes, 'aa:bb:cc:dd:ee:ff'",
					       quote(s, q, sizeof(q)));
					ok = false;
				}
			} else if (which == 1) {
				if (!parse_mac_bytes(s, ouis[j].b, &len, 5)) {
					err_at(ld, kid[j], "oui: %s: expected 1 to 5 bytes of a MAC, 'aa:bb:cc'",
					       quote(s, q, sizeof(q)));
					ok = false;
				}
				ouis[j].len = (uint8_t)len;
			} else if (which == 4) {
				strs[j] = arena_strdup(&ld->rs->arena, s);
				if (!strs[j] || !kind_valid(s)) {
					char list[512] = "";
					for (size_t x = 0; kind_name(x); x++)
						snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", x ? ", " : "",
							 kind_name(x));
					err_at(ld, kid[j], "kind: unknown kind %s (one of %s)", describe(kid[j], d, sizeof(d)),
					       list);
					ok = false;
				}
			} else {
				strs[j] = arena_strdup(&ld->rs->arena, s);
				if (!strs[j] || !glob_ok(s)) {
					err_at(ld, kid[j], "%s: a pattern longer than 256 characters", k->text);
					ok = false;
				}
			}
		}
		switch (which) {
		case 0:
			t->macs = (const uint8_t(*)[6])macs;
			t->n_macs = n;
			break;
		case 1:
			t->ouis = ouis;
			t->n_ouis = n;
			break;
		case 2:
			t->vendors = strs;
			t->n_vendors = n;
			break;
		case 3:
			t->hosts = strs;
			t->n_hosts = n;
			break;
		default:
			t->kinds = strs;
			t->n_kinds = n;
			break;
		}
	}
	return ok;
}

static bool parse_selector(struct loader *ld, const struct ynode *n, struct selector *sel)
{
	memset(sel, 0, sizeof(*sel));
	if (n->type == Y_SCALAR && !strcmp(n->text, "all")) {
		sel->all = true;
		return true;
	}
	struct ynode *const *kid, *single;
	size_t count;
	if (n->type == Y_SCALAR) {
		char d[QUOTE_MAX * 3];
		err_at(ld, n, "devices: expected 'all', a mapping of mac/oui/vendor/hostname/kind, or a list of them, got %s",
		       describe(n, d, sizeof(d)));
		return false;
	}
	if (!items(ld, n, "devices", &kid, &count, &single))
		return false;
	struct sel_term *terms = arena_alloc(&ld->rs->arena, count * sizeof(*terms));
	if (!terms) {
		err_at(ld, n, "out of memory");
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < count; i++)
		ok &= parse_term(ld, kid[i], &terms[i]);
	sel->terms = terms;
	sel->n_terms = count;
	return ok;
}

static bool parse_duration(struct loader *ld, const struct ynode *n, const char *key, uint64_t max_us, uint64_t *us)
{
	char q[QUOTE_TEXT];
	uint64_t s;
	const char *t = scalar(ld, n, key, "a duration ('90m', '2h', '7d')");
	if (!t)
		return false;
	if (cfg_parse_duration(t, &s) != 0 || s == 0 || s * US > max_us) {
		err_at(ld, n, "%s: %s: expected a duration from 1s to %llud ('90m', '2h', '7d')", key,
		       quote(t, q, sizeof(q)), (unsigned long long)(max_us / US / 86400));
		return false;
	}
	*us = s * US;
	return true;
}

static bool parse_hours(struct loader *ld, const struct ynode *n, struct rule *r)
{
	char q[QUOTE_TEXT];
	const char *t = scalar(ld, n, "hours", "'HH:MM-HH:MM'");
	unsigned h1, m1, h2, m2;
	int end = -1;
	if (!t)
		return false;
	if (sscanf(t, "%2u:%2u-%2u:%2u%n", &h1, &m1, &h2, &m2, &end) != 4 || end < 0 || (size_t)end != strlen(t) ||
	    h1 > 24 || h2 > 24 || m1 > 59 || m2 > 59 || (h1 == 24 && m1) || (h2 == 24 && m2) ||
	    h1 * 60 + m1 == h2 * 60 + m2) {
		err_at(ld, n, "hours: %s: expected 'HH:MM-HH:MM' in UTC, two different times ('22:00-06:00')",
		       quote(t, q, sizeof(q)));
		return false;
	}
	r->from_min = (int)(h1 * 60 + m1) % 1440;
	r->to_min = (int)(h2 * 60 + m2) % 1440;
	return true;
}

static bool parse_kinds(struct loader *ld, const struct ynode *n, struct rule *r)
{
	struct ynode *const *kid, *single;
	size_t count;
	bool ok = true;
	if (!items(ld, n, "kinds", &kid, &count, &single))
		return false;
	for (size_t i = 0; i < count; i++) {
		const char *t = scalar(ld, kid[i], "kinds", "an alert kind");
		size_t k = 0;
		while (t && det_kind_name(k) && strcmp(det_kind_name(k), t))
			k++;
		if (t && !det_kind_name(k)) {
			char d[QUOTE_MAX * 3], list[512] = "";
			for (size_t x = 0; det_kind_name(x); x++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", x ? ", " : "",
					 det_kind_name(x));
			err_at(ld, kid[i], "kinds: unknown alert kind %s (one of %s)", describe(kid[i], d, sizeof(d)), list);
		}
		if (!t || !det_kind_name(k) || k >= 32)
			ok = false;
		else
			r->kinds |= 1u << k;
	}
	return ok;
}

enum rkey { K_NAME, K_DEVICES, K_HOSTS, K_DESTS, K_PORTS, K_WINDOW, K_RELEARN, K_KINDS, K_HOURS, K_EXPIRES, K_REASON,
	    K_COUNT };
static const char *const rkeys[K_COUNT] = {"name", "devices", "hosts", "destinations", "ports", "window",
					   "relearn", "kinds", "hours", "expires", "reason"};
/* Which keys each type takes. */
static const bool update_keys[K_COUNT] = {[K_NAME] = 1, [K_DEVICES] = 1, [K_HOSTS] = 1, [K_PORTS] = 1,
					  [K_WINDOW] = 1, [K_RELEARN] = 1, [K_REASON] = 1};
static const bool exception_keys[K_COUNT] = {[K_NAME] = 1, [K_DEVICES] = 1, [K_DESTS] = 1, [K_PORTS] = 1,
					     [K_KINDS] = 1, [K_HOURS] = 1, [K_EXPIRES] = 1, [K_REASON] = 1};

static bool name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > RULES_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static struct rule *rule_slot(struct loader *ld)
{
	struct rules *rs = ld->rs;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		struct rule *r = realloc(rs->r, cap * sizeof(*r));
		if (!r)
			return NULL;
		rs->r = r;
		rs->cap = cap;
	}
	return &rs->r[rs->n];
}

static bool parse_list_of(struct loader *ld, const struct ynode *v, const char *key, bool update, struct rule *r)
{
	struct ynode *const *kid, *single;
	size_t count;
	bool ok = true;
	if (!items(ld, v, key, &kid, &count, &single))
		return false;
	if (!strcmp(key, "ports")) {
		struct port_range *pr = arena_alloc(&ld->rs->arena, count * sizeof(*pr));
		if (!pr)
			return false;
		for (size_t i = 0; i < count; i++)
			ok &= parse_port(ld, kid[i], &pr[i]);
		r->ports = pr;
		r->n_ports = count;
		return ok;
	}
	struct pattern *p = arena_alloc(&ld->rs->arena, count * sizeof(*p));
	if (!p)
		return false;
	for (size_t i = 0; i < count; i++)
		ok &= parse_pattern(ld, kid[i], key, update, &p[i]);
	r->pats = p;
	r->n_pats = count;
	return ok;
}

static void parse_rule(struct loader *ld, const struct ynode *m, bool update)
{
	char d[QUOTE_MAX * 3], q[QUOTE_MAX * 2];
	const char *section = update ? "updates" : "exceptions";
	const bool *allowed = update ? update_keys : exception_keys;
	const struct ynode *seen[K_COUNT] = {0};
	struct rule r;
	bool ok = true;

	if (m->type != Y_MAP) {
		err_at(ld, m, "%s: expected a mapping (a rule), got %s", section, describe(m, d, sizeof(d)));
		return;
	}
	memset(&r, 0, sizeof(r));
	r.update = update;
	r.file = ld->file;
	r.line = m->line;
	r.col = m->col;
	r.from_min = r.to_min = -1;
	r.window_us = update ? DEFAULT_WINDOW_US : 0;
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct ynode *k = m->kid[i];
		size_t which = 0;
		while (which < K_COUNT && !(k->type == Y_SCALAR && !strcmp(k->text, rkeys[which]) && allowed[which]))
			which++;
		if (which == K_COUNT) {
			char list[256] = "";
			for (size_t x = 0; x < K_COUNT; x++)
				if (allowed[x])
					snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", list[0] ? ", " : "",
						 rkeys[x]);
			err_at(ld, k, "%s: unknown key %s (expected %s)", section, describe(k, d, sizeof(d)), list);
			ok = false;
			continue;
		}
		if (seen[which]) {
			err_at(ld, k, "%s: %s given twice (first at line %zu)", section, rkeys[which], seen[which]->line);
			ok = false;
			continue;
		}
		seen[which] = k;
	}
	const enum rkey needed[3] = {K_NAME, K_DEVICES, update ? K_HOSTS : K_REASON};
	char missing[64] = "";
	for (size_t i = 0; i < 3; i++)
		if (!seen[needed[i]])
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
				 missing[0] ? ", " : "", rkeys[needed[i]]);
	if (missing[0]) {
		err_at(ld, m, "%s: a rule needs %s, devices and %s; this one has no %s", section, "name",
		       update ? "hosts" : "reason", missing);
		ok = false;
	}
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct ynode *k = m->kid[i], *v = m->kid[i + 1];
		size_t which = 0;
		while (which < K_COUNT && seen[which] != k)
			which++;
		if (which == K_COUNT)
			continue;
		const char *t;
		switch ((enum rkey)which) {
		case K_NAME:
			t = scalar(ld, v, "name", "a rule name");
			if (t && !name_valid(t)) {
				err_at(ld, v, "name: %s: expected 1 to %d of A-Z a-z 0-9 . _ -", quote(t, q, sizeof(q)),
				       RULES_NAME_MAX);
				t = NULL;
			}
			r.name = t ? arena_strdup(&ld->rs->arena, t) : NULL;
			ok &= r.name != NULL;
			break;
		case K_REASON:
			t = scalar(ld, v, "reason", "text");
			if (t && strlen(t) > DET_ACCEPT_REASON_MAX) {
				err_at(ld, v, "reason: longer than %d bytes", DET_ACCEPT_REASON_MAX);
				t = NULL;
			}
			r.reason = t ? arena_strdup(&ld->rs->arena, t) : NULL;
			ok &= r.reason != NULL;
			break;
		case K_DEVICES:
			ok &= parse_selector(ld, v, &r.sel);
			break;
		case K_HOSTS:
		case K_DESTS:
		case K_PORTS:
			ok &= parse_list_of(ld, v, rkeys[which], update, &r);
			break;
		case K_WINDOW:
			ok &= parse_duration(ld, v, "window", MAX_WINDOW_US, &r.window_us);
			break;
		case K_RELEARN:
			ok &= parse_duration(ld, v, "relearn", MAX_RELEARN_US, &r.relearn_us);
			break;
		case K_KINDS:
			ok &= parse_kinds(ld, v, &r);
			break;
		case K_HOURS:
			ok &= parse_hours(ld, v, &r);
			break;
		case K_EXPIRES:
			t = scalar(ld, v, "expires", "a time");
			if (t && cfg_parse_time(t, &r.expires_us) != 0) {
				err_at(ld, v, "expires: %s: expected an RFC 3339 UTC time ('2027-01-01T00:00:00Z') or a date",
				       quote(t, q, sizeof(q)));
				ok = false;
			}
			ok &= t != NULL;
			break;
		case K_COUNT:
			break;
		}
	}
	if (!r.reason)
		r.reason = "";
	if (!ok)
		return;
	for (size_t i = 0; i < ld->rs->n; i++)
		if (!strcmp(ld->rs->r[i].name, r.name)) {
			err_at(ld, seen[K_NAME], "name: '%s' is already the name of a rule (%s:%zu:%zu)", r.name,
			       ld->rs->r[i].file, ld->rs->r[i].line, ld->rs->r[i].col);
			return;
		}
	if (ld->rs->n == RULES_MAX_RULES) {
		err_at(ld, m, "more than %d rules", RULES_MAX_RULES);
		return;
	}
	struct rule *slot = rule_slot(ld);
	if (!slot) {
		err_at(ld, m, "out of memory");
		return;
	}
	*slot = r;
	ld->rs->n++;
}

static void parse_controllers(struct loader *ld, const struct ynode *m)
{
	char d[QUOTE_MAX * 3], q[QUOTE_MAX * 2];
	struct rules *rs = ld->rs;
	if (m->type == Y_SCALAR && m->plain && !m->text[0])
		return; /* "controllers:" with nothing under it */
	if (m->type != Y_MAP) {
		err_at(ld, m, "controllers: expected a mapping of URI to addresses, got %s", describe(m, d, sizeof(d)));
		return;
	}
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct ynode *k = m->kid[i], *v = m->kid[i + 1];
		const char *uri = scalar(ld, k, "controllers", "a controller URI");
		if (!uri)
			continue;
		if (rs->n_ctl == RULES_MAX_RULES) {
			err_at(ld, k, "controllers: more than %d", RULES_MAX_RULES);
			return;
		}
		if (rs->n_ctl == rs->cap_ctl) {
			size_t cap = rs->cap_ctl ? rs->cap_ctl * 2 : 8;
			struct controller *c = realloc(rs->ctl, cap * sizeof(*c));
			if (!c) {
				err_at(ld, k, "out of memory");
				return;
			}
			rs->ctl = c;
			rs->cap_ctl = cap;
		}
		struct controller *c = &rs->ctl[rs->n_ctl];
		bool dup = false;
		for (size_t j = 0; j < rs->n_ctl; j++)
			dup |= !strcmp(rs->ctl[j].uri, uri);
		if (dup) {
			err_at(ld, k, "controllers: %s given twice", quote(uri, q, sizeof(q)));
			continue;
		}
		c->uri = arena_strdup(&rs->arena, uri);
		c->n_nets = 0;
		c->nets = NULL;
		bool ok = c->uri != NULL;
		/* An empty list: a controller whose addresses are not known yet. */
		if (!(v->type == Y_SEQ && v->n == 0) && !(v->type == Y_SCALAR && v->plain && !v->text[0])) {
			struct ynode *const *kid, *single;
			size_t count;
			if (!items(ld, v, "controllers", &kid, &count, &single))
				continue;
			c->nets = arena_alloc(&rs->arena, count * sizeof(*c->nets));
			ok &= c->nets != NULL;
			for (size_t j = 0; ok && j < count; j++) {
				struct pattern p = {.type = PAT_NAME};
				bool parsed = parse_pattern(ld, kid[j], "controllers", true, &p);
				if (parsed && p.type != PAT_PREFIX)
					err_at(ld, kid[j], "controllers: %s: expected an address or CIDR prefix",
					       quote(kid[j]->text, q, sizeof(q)));
				if (parsed && p.type == PAT_PREFIX)
					c->nets[j] = p.net;
				else
					ok = false;
			}
			c->n_nets = count;
		}
		if (ok)
			rs->n_ctl++;
	}
}

static void parse_root(struct loader *ld, const struct ynode *root)
{
	char d[QUOTE_MAX * 3];
	static const char *const tops[] = {"version", "updates", "exceptions", "controllers"};
	if (!root || (root->type == Y_SCALAR && root->plain && !root->text[0]))
		return; /* an empty file (or only comments): no rules */
	if (root->type != Y_MAP) {
		err_at(ld, root, "expected a mapping with updates, exceptions, controllers or version, got %s",
		       describe(root, d, sizeof(d)));
		return;
	}
	for (size_t i = 0; i + 1 < root->n; i += 2) {
		const struct ynode *k = root->kid[i], *v = root->kid[i + 1];
		size_t which = 0;
		while (which < 4 && !(k->type == Y_SCALAR && !strcmp(k->text, tops[which])))
			which++;
		for (size_t j = 0; which < 4 && j < i; j += 2)
			if (root->kid[j]->type == Y_SCALAR && !strcmp(root->kid[j]->text, tops[which])) {
				err_at(ld, k, "%s given twice", tops[which]);
				which = 5;
			}
		if (which == 4)
			err_at(ld, k, "unknown key %s (expected version, updates, exceptions or controllers)",
			       describe(k, d, sizeof(d)));
		if (which >= 4)
			continue;
		if (which == 0) {
			if (v->type != Y_SCALAR || strcmp(v->text, "1"))
				err_at(ld, v, "version: expected 1, got %s", describe(v, d, sizeof(d)));
			continue;
		}
		if (which == 3) {
			parse_controllers(ld, v);
			continue;
		}
		if (v->type == Y_SCALAR && v->plain && !v->text[0])
			continue; /* "updates:" with nothing under it */
		if (v->type != Y_SEQ) {
			err_at(ld, v, "%s: expected a list of rules, got %s", tops[which], describe(v, d, sizeof(d)));
			continue;
		}
		for (size_t j = 0; j < v->n; j++)
			parse_rule(ld, v->kid[j], which == 1);
	}
}

/* Reads a whole file of at most RULES_MAX_FILE_BYTES; NULL with the
 * reason reported. */
static unsigned char *read_file(struct loader *ld, const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	struct stat st;
	int fd = -1;
	/* A FIFO or device must never block a reload: regular files only. */
	if (stat(path, &st) != 0) {
		report(ld, path, 0, 0, "cannot read: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		report(ld, path, 0, 0, "not a regular file");
		goto fail;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		report(ld, path, 0, 0, "cannot read: %s", fd < 0 ? strerror(errno) : "not a regular file");
		goto fail;
	}
	if (st.st_size > (off_t)RULES_MAX_FILE_BYTES) {
		report(ld, path, 0, 0, "larger than %u bytes (%lld): not a rules file", RULES_MAX_FILE_BYTES,
		       (long long)st.st_size);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		report(ld, path, 0, 0, "out of memory");
		goto fail;
	}
	size_t got = 0;
	while (got <= (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			report(ld, path, 0, 0, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > (size_t)st.st_size) {
		report(ld, path, 0, 0, "changed while being read");
		goto fail;
	}
	close(fd);
	*len = got;
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

static void load_file(struct loader *ld, const char *path)
{
	size_t len;
	ld->file = arena_strdup(&ld->rs->arena, path);
	if (!ld->file) {
		report(ld, path, 0, 0, "out of memory");
		return;
	}
	unsigned char *text = read_file(ld, path, &len);
	if (!text)
		return;
	bool failed;
	ld->nodes = 0;
	struct ynode *root = parse_tree(ld, text, len, &failed);
	if (!failed)
		parse_root(ld, root);
	arena_free(&ld->tree);
	free(text);
}

static int yaml_file(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	if (e->d_name[0] == '.')
		return 0;
	return (n > 5 && !strcmp(e->d_name + n - 5, ".yaml")) || (n > 4 && !strcmp(e->d_name + n - 4, ".yml"));
}

/* Controller patterns take the addresses the set lists for their URI. */
static void resolve_controllers(struct loader *ld)
{
	struct rules *rs = ld->rs;
	for (size_t i = 0; i < rs->n; i++)
		for (size_t j = 0; j < rs->r[i].n_pats; j++) {
			struct pattern *p = (struct pattern *)&rs->r[i].pats[j];
			if (p->type != PAT_CONTROLLER)
				continue;
			size_t c = 0;
			while (c < rs->n_ctl && strcmp(rs->ctl[c].uri, p->text))
				c++;
			if (c == rs->n_ctl) {
				char q[QUOTE_TEXT];
				report(ld, p->file, p->line, p->col, "destinations: controller %s is not listed under controllers:",
				       quote(p->text, q, sizeof(q)));
				continue;
			}
			p->nets = rs->ctl[c].nets;
			p->n_nets = rs->ctl[c].n_nets;
		}
}

struct rules *rules_load(const char *path, rules_error_fn err, void *ctx)
{
	struct loader ld = {.fn = err, .ctx = ctx};
	struct dirent **list = NULL;
	int n = -1;
	struct stat st;

	ld.rs = calloc(1, sizeof(*ld.rs));
	if (!ld.rs) {
		report(&ld, path, 0, 0, "out of memory");
		return NULL;
	}
	if (stat(path, &st) != 0) {
		report(&ld, path, 0, 0, "cannot read: %s", strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		load_file(&ld, path);
	} else {
		n = scandir(path, &list, yaml_file, alphasort);
		if (n < 0) {
			report(&ld, path, 0, 0, "cannot list: %s", strerror(errno));
			goto out;
		}
		if (n > RULES_MAX_FILES) {
			report(&ld, path, 0, 0, "more than %d rules files", RULES_MAX_FILES);
			goto out;
		}
		for (int i = 0; i < n; i++) {
			char file[4096];
			if ((size_t)snprintf(file, sizeof(file), "%s/%s", path, list[i]->d_name) >= sizeof(file)) {
				report(&ld, path, 0, 0, "a path longer than %zu bytes", sizeof(file));
				continue;
			}
			load_file(&ld, file);
		}
	}
	resolve_controllers(&ld);
out:
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	if (ld.errors > RULES_MAX_ERRORS) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s: %llu more errors not shown", path,
			 (unsigned long long)(ld.errors - RULES_MAX_ERRORS));
		err(ctx, msg);
	}
	if (ld.errors) {
		rules_free(ld.rs);
		return NULL;
	}
	return ld.rs;
}

/* ---- matching ---- */

static bool term_matches(const struct sel_term *t, const struct rules_device *d)
{
	bool any;
	if (t->n_macs) {
		any = false;
		for (size_t i = 0; d->has_mac && i < t->n_macs; i++)
			any |= !memcmp(t->macs[i], d->mac, 6);
		if (!any)
			return false;
	}
	if (t->n_ouis) {
		any = false;
		for (size_t i = 0; d->has_mac && i < t->n_ouis; i++)
			any |= !memcmp(t->ouis[i].b, d->mac, t->ouis[i].len);
		if (!any)
			return false;
	}
	if (t->n_vendors) {
		any = false;
		for (size_t i = 0; d->vendor && d->has_mac && i < t->n_vendors; i++)
			any |= glob_match(t->vendors[i], d->vendor);
		if (!any)
			return false;
	}
	if (t->n_hosts) {
		any = false;
		for (size_t i = 0; d->hostname && i < t->n_hosts; i++)
			any |= glob_match(t->hosts[i], d->hostname);
		if (!any)
			return false;
	}
	if (t->n_kinds) {
		any = false;
		for (size_t i = 0; d->kind && i < t->n_kinds; i++)
			any |= !strcmp(t->kinds[i], d->kind);
		if (!any)
			return false;
	}
	return true;
}

static bool selector_matches(const struct selector *s, const struct rules_device *d)
{
	if (s->all)
		return true;
	for (size_t i = 0; i < s->n_terms; i++)
		if (term_matches(&s->terms[i], d))
			return true;
	return false;
}

/* Label by label from the right: a leading '*' takes one or more labels,
 * any other '*' exactly one. */
static bool wild_match(const char *pat, const char *name)
{
	const char *pe = pat + strlen(pat), *ne = name + strlen(name);
	for (;;) {
		const char *pl = pe, *nl = ne;
		while (pl > pat && pl[-1] != '.')
			pl--;
		while (nl > name && nl[-1] != '.')
			nl--;
		bool star = pe - pl == 1 && *pl == '*';
		if (star && pl == pat)
			return ne > name; /* at least one label left */
		if (ne == name)
			return false;
		if (!star && (pe - pl != ne - nl || memcmp(pl, nl, (size_t)(pe - pl))))
			return false;
		if (pl == pat)
			return nl == name;
		if (nl == name)
			return false;
		pe = pl - 1;
		ne = nl - 1;
	}
}

static bool pattern_matches(const struct pattern *p, const struct rules_peer *peer, const char *name)
{
	switch (p->type) {
	case PAT_NAME:
		return name && !strcmp(p->text, name);
	case PAT_WILD:
		return name && wild_match(p->text, name);
	case PAT_DOMAIN: {
		if (!name)
			return false;
		size_t n = strlen(name), d = strlen(p->text);
		return n >= d && !strcmp(name + n - d, p->text) && (n == d || name[n - d - 1] == '.');
	}
	case PAT_PREFIX:
		return ip_prefix_contains(&p->net, &peer->ip);
	case PAT_LAN:
		return peer->lan;
	case PAT_CONTROLLER:
		for (size_t i = 0; i < p->n_nets; i++)
			if (ip_prefix_contains(&p->nets[i], &peer->ip))
				return true;
		return false;
	}
	return false;
}

/* Whether the rule's destinations and ports take peer. An update rule
 * takes a name only when DNS gave it: a device names its own TLS SNI and
 * HTTP Host, so a compromised one could claim an update host for any
 * address and open a window (and a relearn) for itself. */
static bool peer_matches(const struct rule *r, const struct rules_peer *peer)
{
	char name[256];
	const char *nm = NULL;
	if (peer->name && strlen(peer->name) < sizeof(name) && (!r->update || peer->name_from_dns)) {
		snprintf(name, sizeof(name), "%s", peer->name);
		lower(name);
		size_t n = strlen(name);
		if (n && name[n - 1] == '.')
			name[n - 1] = '\0';
		nm = name;
	}
	bool any = r->n_pats == 0;
	for (size_t i = 0; !any && i < r->n_pats; i++)
		any = pattern_matches(&r->pats[i], peer, nm);
	if (!any)
		return false;
	if (r->n_ports == 0)
		return true;
	for (size_t i = 0; i < r->n_ports; i++) {
		const struct port_range *p = &r->ports[i];
		bool proto = p->proto ? p->proto == peer->proto : peer->proto == 6 || peer->proto == 17;
		if (proto && peer->port >= p->lo && peer->port <= p->hi)
			return true;
	}
	return false;
}

void rules_peer_of_flow(const struct flow *f, bool device_is_initiator, struct rules_peer *out)
{
	memset(out, 0, sizeof(*out));
	out->name = device_is_initiator && f->name ? iname_str(f->name) : NULL;
	out->name_from_dns = out->name && f->name_source == FLOW_NAME_DNS;
	out->ip = device_is_initiator ? f->dst : f->src;
	out->port = f->dport;
	out->proto = f->proto;
	out->lan = f->dir == FLOW_DIR_LOCAL;
}

/* ---- the engine ---- */

struct window {
	uint8_t key[16];
	char rule[RULES_NAME_MAX + 1];
	uint64_t start_us, end_us;
};

struct rules_engine {
	struct rules *rs;
	struct window *win;           /* RULES_MAX_WINDOWS slots; end_us 0: free */
};

struct rules_engine *rules_engine_new(void)
{
	struct rules_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->win = calloc(RULES_MAX_WINDOWS, sizeof(*e->win));
	e->rs = calloc(1, sizeof(*e->rs));
	if (!e->win || !e->rs) {
		rules_engine_free(e);
		return NULL;
	}
	return e;
}

void rules_engine_free(struct rules_engine *e)
{
	if (!e)
		return;
	rules_free(e->rs);
	free(e->win);
	free(e);
}

void rules_engine_set(struct rules_engine *e, struct rules *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		for (size_t j = 0; e->rs && j < e->rs->n; j++)
			if (!strcmp(rs->r[i].name, e->rs->r[j].name)) {
				rs->r[i].suppressed = e->rs->r[j].suppressed;
				rs->r[i].windows = e->rs->r[j].windows;
			}
	rules_free(e->rs);
	e->rs = rs;
}

const struct rules *rules_engine_rules(const struct rules_engine *e)
{
	return e->rs;
}

static struct window *window_find(struct rules_engine *e, const uint8_t key[16], const char *rule, uint64_t ts_us)
{
	for (size_t i = 0; i < RULES_MAX_WINDOWS; i++) {
		struct window *w = &e->win[i];
		if (w->end_us && !memcmp(w->key, key, 16) && (!rule || !strcmp(w->rule, rule)) && ts_us >= w->start_us &&
		    ts_us < w->end_us)
			return w;
	}
	return NULL;
}

/* A free or expired slot, else the one ending first (it has had the
 * longest of its time). */
static struct window *window_slot(struct rules_engine *e, uint64_t now_us)
{
	struct window *best = &e->win[0];
	for (size_t i = 0; i < RULES_MAX_WINDOWS; i++) {
		struct window *w = &e->win[i];
		if (!w->end_us || w->end_us <= now_us)
			return w;
		if (w->end_us < best->end_us)
			best = w;
	}
	return best;
}

bool rules_engine_update_host(const struct rules_engine *e, const struct rules_peer *peer)
{
	for (size_t i = 0; i < e->rs->n; i++)
		if (e->rs->r[i].update && peer_matches(&e->rs->r[i], peer))
			return true;
	return false;
}

bool rules_engine_flow(struct rules_engine *e, const uint8_t key[16], const struct rules_device *dev,
		       const struct rules_peer *peer, uint64_t now_us, struct rules_update *up)
{
	for (size_t i = 0; i < e->rs->n; i++) {
		struct rule *r = &e->rs->r[i];
		if (!r->update || !peer_matches(r, peer) || !selector_matches(&r->sel, dev))
			continue;
		if (window_find(e, key, r->name, now_us))
			return false;
		struct window *w = window_slot(e, now_us);
		memcpy(w->key, key, 16);
		snprintf(w->rule, sizeof(w->rule), "%s", r->name);
		w->start_us = now_us;
		w->end_us = now_us + r->window_us;
		r->windows++;
		*up = (struct rules_update){.rule = r->name, .reason = r->reason, .start_us = w->start_us,
					    .end_us = w->end_us, .relearn_us = r->relearn_us};
		return true;
	}
	return false;
}

static int kind_bit(const char *kind)
{
	for (int i = 0; i < 32 && det_kind_name((size_t)i); i++)
		if (!strcmp(det_kind_name((size_t)i), kind))
			return i;
	return -1;
}

static bool in_hours(const struct rule *r, uint64_t ts_us)
{
	if (r->from_min < 0)
		return true;
	int m = (int)(ts_us / US % 86400 / 60);
	return r->from_min < r->to_min ? m >= r->from_min && m < r->to_min : m >= r->from_min || m < r->to_min;
}

static bool update_suppresses(struct rules_engine *e, const struct rule *r, const uint8_t key[16], const char *kind,
			      const struct rules_peer *peer, uint64_t ts_us)
{
	if (peer)
		return (!strcmp(kind, "unexpected_destination") || !strcmp(kind, "new_port") ||
			!strcmp(kind, "new_lan_peer")) &&
		       peer_matches(r, peer);
	return !strcmp(kind, "volume_in") && window_find(e, key, r->name, ts_us);
}

const char *rules_engine_suppress(struct rules_engine *e, const uint8_t key[16], const struct rules_device *dev,
				  const char *kind, const struct rules_peer *peer, uint64_t ts_us)
{
	int bit = kind_bit(kind);
	for (size_t i = 0; i < e->rs->n; i++) {
		struct rule *r = &e->rs->r[i];
		if (!r->update && ((r->kinds && (bit < 0 || !(r->kinds >> bit & 1))) || !in_hours(r, ts_us) ||
				   (r->expires_us && ts_us >= r->expires_us)))
			continue;
		if (!selector_matches(&r->sel, dev))
			continue;
		bool hit = r->update ? update_suppresses(e, r, key, kind, peer, ts_us)
				     : peer ? peer_matches(r, peer) : r->n_pats == 0 && r->n_ports == 0;
		if (hit)
			return r->name;
	}
	return NULL;
}

void rules_engine_record(struct rules_engine *e, const char *rule)
{
	for (size_t i = 0; i < e->rs->n; i++)
		if (!strcmp(e->rs->r[i].name, rule)) {
			e->rs->r[i].suppressed++;
			return;
		}
}

bool rules_engine_stat(const struct rules_engine *e, size_t i, struct rules_stat *out)
{
	if (i >= e->rs->n)
		return false;
	const struct rule *r = &e->rs->r[i];
	*out = (struct rules_stat){.name = r->name, .update = r->update, .suppressed = r->suppressed,
				   .windows = r->windows};
	return true;
}
