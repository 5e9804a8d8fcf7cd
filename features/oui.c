/*
 * oui — MAC vendors from the IEEE registries (see oui.h).
 *
 * The CSV files follow RFC 4180: CRLF between records, fields with commas,
 * quotes or line breaks in double quotes, "" for a quote inside them. The
 * address field does hold line breaks (a few hundred records span several
 * lines), so records are read with a small state machine rather than line
 * by line; the line reported in messages is the one the record starts on.
 * Each file is read whole (a few MB) and parsed from memory: stdio per
 * character would be several times slower for no gain.
 *
 * Storage: one table of prefixes per length (36, 28, 24 bits), each a sorted
 * array of (prefix, name offset) searched by bisection; the names live once
 * each in one arena (about 30 000 distinct names for 46 000 prefixes: a
 * big vendor owns hundreds of MA-L blocks), found while loading through a
 * hash table that is freed when loading ends. Offsets rather than pointers
 * let the arena grow by realloc.
 *
 * Rejected: a trie or a 16M-entry direct table for the 24-bit prefixes
 * (faster, but 64 MB for a lookup done once per new device), and keeping
 * the registries' text files (oui.txt), whose layout is meant for people.
 */
#include "features/oui.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Why 64 MiB: the four files total under 5 MB today; a file far larger is
 * not a registry and is not worth reading into memory whole. */
#define OUI_MAX_FILE ((size_t)64 << 20)
#define OUI_MAX_PATH 4096
#define OUI_FIELDS 4   /* Registry, Assignment, Organization Name, Organization Address */
#define OUI_MSG (OUI_MAX_PATH + 128) /* a path, a line number and a reason */
#define OUI_SLOTS0 ((size_t)1 << 15) /* intern table: ~30 000 names need one doubling */
#define OUI_ENTS0 1024

/* In lookup order: the longest prefix wins. */
enum { T36, T28, T24, N_TABS };
static const unsigned tab_shift[N_TABS] = {48 - 36, 48 - 28, 48 - 24};

struct ent {
	uint64_t key;   /* the prefix, right-aligned */
	uint32_t name;  /* offset into names */
	uint32_t seq;   /* load order, so that the first of duplicates wins */
};

struct tab {
	struct ent *e;
	size_t n, cap;
};

/* An interned name: off1 is its offset + 1 (0 marks a free slot); the hash
 * is kept to rehash without reading the arena and to skip most compares. */
struct slot {
	uint32_t off1, hash;
};

struct oui_db {
	struct tab tab[N_TABS];
	char *names;
	size_t names_len, names_cap;
	size_t skipped;
	char first_skip[OUI_MSG];
	/* Loading only. */
	struct slot *slots;
	size_t n_slots, slots_used;
	uint32_t seq;
};

static const struct registry {
	const char *file;
	const char *name;     /* the Registry column */
	unsigned digits;      /* hex digits of an Assignment */
	int tab;
	bool required;
} registries[] = {
	{"oui.csv", "MA-L", 6, T24, true},
	{"mam.csv", "MA-M", 7, T28, false},
	{"oui36.csv", "MA-S", 9, T36, false},
	{"iab.csv", "IAB", 9, T36, false},
};
#define N_REGISTRIES (sizeof(registries) / sizeof(registries[0]))

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- reading ---- */

/* Reads path whole into *out (NUL-terminated, *len bytes before the NUL).
 * 0 on success, 1 when the file does not exist and is optional, -1 with
 * err set otherwise. */
static int read_whole(const char *path, bool optional, char **out, size_t *len, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t n = 0, cap = (size_t)1 << 20;
	int rc = -1;
	FILE *fp = fopen(path, "rb");

	if (!fp) {
		if (errno == ENOENT && optional)
			return 1;
		set_err(err, errlen, "%s: cannot open: %s%s", path, strerror(errno),
		        errno == ENOENT ? " (Debian's ieee-data package installs it)" : "");
		return -1;
	}
	/* Sized from the file so that a registry is read in one go; the loop
	 * below still copes with a file that grows while being read. */
	struct stat st;
	if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < OUI_MAX_FILE)
		cap = (size_t)st.st_size + 1;
	if (!(buf = malloc(cap + 1))) {
		set_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		n += fread(buf + n, 1, cap - n, fp);
		if (ferror(fp)) {
			set_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (feof(fp))
			break;
		if (cap >= OUI_MAX_FILE) {
			set_err(err, errlen, "%s: larger than %zu MiB, not an IEEE registry", path, OUI_MAX_FILE >> 20);
			goto out;
		}
		char *bigger = realloc(buf, cap * 2 + 1);
		if (!bigger) {
			set_err(err, errlen, "%s: out of memory", path);
			goto out;
		}
		buf = bigger;
		cap *= 2;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	fclose(fp);
	return rc;
}

/* ---- CSV records ---- */

struct csv {
	const char *p, *end;  /* the bytes not read yet */
	unsigned long line;   /* the line p is on, from 1 */
};

/* One record: its first OUI_FIELDS fields decoded (quotes removed, ""
 * undone), each NUL-terminated in buf. Decoded bytes never outnumber the
 * raw bytes read, which are bounded by OUI_MAX_RECORD (+1 for a "" pair
 * read at the limit), so buf holds them and a NUL per field. */
struct record {
	unsigned long line;        /* where the record starts */
	size_t n;                  /* fields seen, possibly more than OUI_FIELDS */
	const char *f[OUI_FIELDS];
	size_t len[OUI_FIELDS];
	bool nul;                  /* a NUL byte in a kept field */
	char buf[OUI_MAX_RECORD + OUI_FIELDS + 2];
};

enum rec_status {
	REC_OK,
	REC_EOF,
	REC_LONG,        /* fatal: more than OUI_MAX_RECORD bytes */
	REC_STRAY_QUOTE, /* text after a closing quote; skipped to the end of the line */
	REC_OPEN_QUOTE,  /* the file ends inside a quoted field */
};

static void field_begin(struct record *r, size_t out)
{
	if (r->n < OUI_FIELDS)
		r->f[r->n] = r->buf + out;
}

static void field_put(struct record *r, size_t *out, char ch)
{
	/* The size check cannot fail (see struct record); it is there so that
	 * a mistake in that reasoning truncates a name instead of overflowing. */
	if (r->n >= OUI_FIELDS || *out + 1 >= sizeof(r->buf))
		return;
	if (ch == '\0')
		r->nul = true;
	r->buf[(*out)++] = ch;
}

static void field_end(struct record *r, size_t *out)
{
	if (r->n < OUI_FIELDS) {
		r->len[r->n] = (size_t)(r->buf + *out - r->f[r->n]);
		r->buf[(*out)++] = '\0';
	}
	r->n++;
}

static void skip_line(struct csv *c)
{
	while (c->p < c->end) {
		if (*c->p++ == '\n') {
			c->line++;
			return;
		}
	}
}

static bool at_line_end(const struct csv *c)
{
	return *c->p == '\n' || (*c->p == '\r' && c->end - c->p > 1 && c->p[1] == '\n');
}

static enum rec_status read_record(struct csv *c, struct record *r)
{
	const char *start = c->p;
	size_t out = 0;
	bool quoted = false;  /* inside a quoted field */
	bool closed = false;  /* just after a quoted field's closing quote */
	bool fresh = true;    /* nothing of this field read yet */

	if (c->p == c->end)
		return REC_EOF;
	r->line = c->line;
	r->n = 0;
	r->nul = false;
	field_begin(r, out);
	for (;;) {
		if (c->p == c->end) {
			if (quoted)
				return REC_OPEN_QUOTE;
			field_end(r, &out);
			return REC_OK;
		}
		/* At the limit only the end of the record may follow. */
		if ((size_t)(c->p - start) >= OUI_MAX_RECORD && (quoted || !at_line_end(c)))
			return REC_LONG;
		char ch = *c->p++;
		if (ch == '\n')
			c->line++;
		if (quoted) {
			if (ch != '"') {
				field_put(r, &out, ch);
			} else if (c->p < c->end && *c->p == '"') {
				field_put(r, &out, '"');
				c->p++;
			} else {
				quoted = false;
				closed = true;
			}
			continue;
		}
		if (ch == '\r' && c->p < c->end && *c->p == '\n')
			continue;
		if (ch == '\n') {
			field_end(r, &out);
			return REC_OK;
		}
		if (ch == ',') {
			field_end(r, &out);
			field_begin(r, out);
			fresh = true;
			closed = false;
			continue;
		}
		if (closed) {
			skip_line(c);
			return REC_STRAY_QUOTE;
		}
		if (ch == '"' && fresh) {
			quoted = true;
			fresh = false;
			continue;
		}
		/* A quote inside an unquoted field is kept as text, as most
		 * readers do: it is data, not structure. */
		fresh = false;
		field_put(r, &out, ch);
	}
}

/* ---- names ---- */

/* 3 if s starts with a Unicode space separator of three UTF-8 bytes, else
 * 0. The registries have names ending in tabs, U+00A0 and U+2002. */
static size_t space3(const unsigned char *s)
{
	if (s[0] == 0xE1)
		return s[1] == 0x9A && s[2] == 0x80 ? 3 : 0;                    /* U+1680 */
	if (s[0] == 0xE2 && s[1] == 0x80)
		return (s[2] >= 0x80 && s[2] <= 0x8A) || s[2] == 0xAF ? 3 : 0;  /* U+2000-200A, U+202F */
	if (s[0] == 0xE2 && s[1] == 0x81)
		return s[2] == 0x9F ? 3 : 0;                                    /* U+205F */
	if (s[0] == 0xE3)
		return s[1] == 0x80 && s[2] == 0x80 ? 3 : 0;                    /* U+3000 */
	return 0;
}

static bool ascii_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static size_t space_front(const unsigned char *s, size_t n)
{
	if (n >= 1 && ascii_space(s[0]))
		return 1;
	if (n >= 2 && s[0] == 0xC2 && s[1] == 0xA0)
		return 2;
	return n >= 3 ? space3(s) : 0;
}

static size_t space_back(const unsigned char *s, size_t n)
{
	if (n >= 1 && ascii_space(s[n - 1]))
		return 1;
	if (n >= 2 && s[n - 2] == 0xC2 && s[n - 1] == 0xA0)
		return 2;
	return n >= 3 ? space3(s + n - 3) : 0;
}

static void trim(const char **s, size_t *n)
{
	size_t k;
	while ((k = space_front((const unsigned char *)*s, *n)) > 0) {
		*s += k;
		*n -= k;
	}
	while ((k = space_back((const unsigned char *)*s, *n)) > 0)
		*n -= k;
}

static uint32_t fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static int grow_slots(struct oui_db *db)
{
	size_t n = db->n_slots ? db->n_slots * 2 : OUI_SLOTS0;
	struct slot *s = calloc(n, sizeof(*s));
	if (!s)
		return -1;
	for (size_t i = 0; i < db->n_slots; i++) {
		if (!db->slots[i].off1)
			continue;
		size_t j = db->slots[i].hash & (n - 1);
		while (s[j].off1)
			j = (j + 1) & (n - 1);
		s[j] = db->slots[i];
	}
	free(db->slots);
	db->slots = s;
	db->n_slots = n;
	return 0;
}

/* The arena offset of the name s[0..n), added if new. -1 when out of memory. */
static int intern(struct oui_db *db, const char *s, size_t n, uint32_t *off)
{
	if (db->slots_used * 2 >= db->n_slots && grow_slots(db))
		return -1;
	uint32_t h = fnv1a(s, n);
	size_t mask = db->n_slots - 1, i = h & mask;
	for (; db->slots[i].off1; i = (i + 1) & mask) {
		const char *name = db->names + db->slots[i].off1 - 1;
		if (db->slots[i].hash == h && memcmp(name, s, n) == 0 && name[n] == '\0') {
			*off = db->slots[i].off1 - 1;
			return 0;
		}
	}
	if (n + 1 > db->names_cap - db->names_len) {
		size_t cap = db->names_cap ? db->names_cap : (size_t)1 << 19;
		while (n + 1 > cap - db->names_len)
			cap *= 2;
		/* Offsets are 32-bit; files are capped well below this. */
		if (cap > UINT32_MAX)
			return -1;
		char *bigger = realloc(db->names, cap);
		if (!bigger)
			return -1;
		db->names = bigger;
		db->names_cap = cap;
	}
	*off = (uint32_t)db->names_len;
	memcpy(db->names + db->names_len, s, n);
	db->names[db->names_len + n] = '\0';
	db->names_len += n + 1;
	db->slots[i] = (struct slot){*off + 1, h};
	db->slots_used++;
	return 0;
}

/* ---- entries ---- */

static int push(struct tab *t, uint64_t key, uint32_t name, uint32_t seq)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : OUI_ENTS0;
		struct ent *e = realloc(t->e, cap * sizeof(*e));
		if (!e)
			return -1;
		t->e = e;
		t->cap = cap;
	}
	t->e[t->n++] = (struct ent){key, name, seq};
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Adds the entry in r. 0 when added, 1 when skipped (*why says why), -1
 * when out of memory. */
static int add_record(struct oui_db *db, const struct registry *reg, const struct record *r, const char **why)
{
	uint64_t key = 0;
	uint32_t off;

	if (r->n < OUI_FIELDS) {
		*why = "fewer than 4 fields";
		return 1;
	}
	if (strcmp(r->f[0], reg->name) != 0) {
		*why = "not an entry of this file's registry";
		return 1;
	}
	if (r->len[1] != reg->digits) {
		*why = "assignment of the wrong length";
		return 1;
	}
	for (size_t i = 0; i < reg->digits; i++) {
		int v = hex_value(r->f[1][i]);
		if (v < 0) {
			*why = "assignment not hexadecimal";
			return 1;
		}
		key = key << 4 | (uint64_t)v;
	}
	const char *name = r->f[2];
	size_t n = r->len[2];
	if (r->nul) {
		*why = "NUL byte";
		return 1;
	}
	trim(&name, &n);
	if (n == 0) {
		*why = "empty organization name";
		return 1;
	}
	if (intern(db, name, n, &off) || push(&db->tab[reg->tab], key, off, db->seq++))
		return -1;
	return 0;
}

static void skip(struct oui_db *db, const char *path, unsigned long line, const char *why)
{
	if (db->skipped++ == 0)
		snprintf(db->first_skip, sizeof(db->first_skip), "%s:%lu: %s", path, line, why);
}

static bool is_header(const struct record *r)
{
	return r->n >= 3 && strcmp(r->f[0], "Registry") == 0 && strcmp(r->f[1], "Assignment") == 0 &&
	       strcmp(r->f[2], "Organization Name") == 0;
}

/* Parses one registry file held in buf. 0, or -1 with err set. */
static int parse(struct oui_db *db, const struct registry *reg, const char *path, const char *buf, size_t len,
                 char *err, size_t errlen)
{
	struct csv c = {buf, buf + len, 1};
	struct record r;
	enum rec_status rc;
	size_t before = db->tab[reg->tab].n;

	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		c.p += 3; /* a byte order mark, should an editor have added one */
	rc = read_record(&c, &r);
	if (rc == REC_EOF) {
		set_err(err, errlen, "%s: empty file", path);
		return -1;
	}
	if (rc != REC_OK || !is_header(&r)) {
		set_err(err, errlen, "%s:1: not an IEEE registry CSV (expected the header "
		        "\"Registry,Assignment,Organization Name,Organization Address\")", path);
		return -1;
	}
	while ((rc = read_record(&c, &r)) != REC_EOF) {
		const char *why = NULL;
		switch (rc) {
		case REC_LONG:
			set_err(err, errlen, "%s:%lu: record longer than %d bytes (a quote never closed?)", path, r.line,
			        OUI_MAX_RECORD);
			return -1;
		case REC_STRAY_QUOTE:
			why = "text after a closing quote";
			break;
		case REC_OPEN_QUOTE:
			why = "quote still open at the end of the file (file cut short?)";
			break;
		default:
			if (r.n == 1 && r.len[0] == 0)
				continue; /* a blank line */
			if (add_record(db, reg, &r, &why) < 0) {
				set_err(err, errlen, "%s: out of memory", path);
				return -1;
			}
			break;
		}
		if (why)
			skip(db, path, r.line, why);
	}
	if (db->tab[reg->tab].n == before) {
		set_err(err, errlen, "%s: no usable entry (file cut short?)", path);
		return -1;
	}
	return 0;
}

static int ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts each table and keeps the first entry of each prefix. */
static void finish(struct oui_db *db)
{
	for (int t = 0; t < N_TABS; t++) {
		struct tab *tab = &db->tab[t];
		size_t k = 0;
		if (tab->n)
			qsort(tab->e, tab->n, sizeof(tab->e[0]), ent_cmp);
		for (size_t i = 0; i < tab->n; i++) {
			if (k == 0 || tab->e[k - 1].key != tab->e[i].key)
				tab->e[k++] = tab->e[i];
		}
		tab->n = k;
		/* Giving back the slack; should shrinking fail, the block is kept. */
		if (k == 0) {
			free(tab->e);
			tab->e = NULL;
			tab->cap = 0;
		} else if (k < tab->cap) {
			struct ent *e = realloc(tab->e, k * sizeof(*e));
			if (e) {
				tab->e = e;
				tab->cap = k;
			}
		}
	}
	if (db->names_len && db->names_len < db->names_cap) {
		char *names = realloc(db->names, db->names_len);
		if (names) {
			db->names = names;
			db->names_cap = db->names_len;
		}
	}
	free(db->slots);
	db->slots = NULL;
	db->n_slots = db->slots_used = 0;
}

struct oui_db *oui_load(const char *dir, char *err, size_t errlen)
{
	struct oui_db *db = NULL;
	char *buf = NULL;
	char path[OUI_MAX_PATH];
	bool ok = false;

	set_err(err, errlen, "%s", "");
	if (!dir) {
		set_err(err, errlen, "oui: no registry directory given");
		goto out;
	}
	if (!(db = calloc(1, sizeof(*db)))) {
		set_err(err, errlen, "%s: out of memory", dir);
		goto out;
	}
	for (size_t i = 0; i < N_REGISTRIES; i++) {
		const struct registry *reg = &registries[i];
		size_t len = 0;
		int n = snprintf(path, sizeof(path), "%s/%s", dir, reg->file);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			set_err(err, errlen, "%.200s...: directory name too long", dir);
			goto out;
		}
		int rc = read_whole(path, !reg->required, &buf, &len, err, errlen);
		if (rc < 0)
			goto out;
		if (rc > 0)
			continue;
		rc = parse(db, reg, path, buf, len, err, errlen);
		free(buf);
		buf = NULL;
		if (rc)
			goto out;
	}
	finish(db);
	ok = true;
out:
	free(buf);
	if (!ok) {
		oui_free(db);
		db = NULL;
	}
	return db;
}

void oui_free(struct oui_db *db)
{
	if (!db)
		return;
	for (int t = 0; t < N_TABS; t++)
		free(db->tab[t].e);
	free(db->names);
	free(db->slots);
	free(db);
}

static const struct ent *find(const struct tab *t, uint64_t key)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->e[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->e[lo].key == key ? &t->e[lo] : NULL;
}

const char *oui_vendor(const struct oui_db *db, const uint8_t mac[6])
{
	if (!db || !mac || (mac[0] & 0x02))
		return NULL;
	uint64_t m = (uint64_t)(mac[0] & 0xfe) << 40; /* the group bit cleared */
	for (int i = 1; i < 6; i++)
		m |= (uint64_t)mac[i] << (8 * (5 - i));
	for (int t = 0; t < N_TABS; t++) {
		const struct ent *e = find(&db->tab[t], m >> tab_shift[t]);
		if (e)
			return db->names + e->name;
	}
	return NULL;
}

bool oui_mac_is_local(const uint8_t mac[6])
{
	return mac && (mac[0] & 0x03) == 0x02;
}

size_t oui_count(const struct oui_db *db)
{
	if (!db)
		return 0;
	return db->tab[T36].n + db->tab[T28].n + db->tab[T24].n;
}

size_t oui_skipped(const struct oui_db *db, const char **where)
{
	if (where)
		*where = db && db->skipped ? db->first_skip : NULL;
	return db ? db->skipped : 0;
}

size_t oui_bytes(const struct oui_db *db)
{
	if (!db)
		return 0;
	size_t n = sizeof(*db) + db->names_cap;
	for (int t = 0; t < N_TABS; t++)
		n += db->tab[t].cap * sizeof(db->tab[t].e[0]);
	return n;
}
