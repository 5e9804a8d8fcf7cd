/*
 * config — loads the YAML configuration file with libyaml's event API.
 *
 * Design notes.
 *
 * Why the event API: every event carries the mark of where it starts, so each
 * message can point at the exact key or value, and we see the stream one event
 * at a time. The loader walks a fixed schema (the tables below) and stops at
 * the first thing the schema does not expect: it never descends into an
 * unknown key or into a list or mapping where a scalar belongs. Nesting is
 * therefore bounded by the schema (at most three mappings deep), whatever the
 * input, and a garbage file costs one linear pass of libyaml at most.
 *
 * Why a copy: the file is applied to a private copy of the caller's config and
 * copied back only when the whole file has been read. A file that fails on its
 * last line must not leave half of its settings applied, or the daemon would
 * run with a configuration nobody wrote.
 *
 * Why anchors, aliases and tags are rejected: the file is small and flat, so
 * they buy nothing, while aliases are the classic way to make a tiny YAML file
 * expand into a huge one ("billion laughs") and tags would let one value mean
 * different things to different readers. Refusing them keeps the accepted
 * language to plain mappings, lists and scalars.
 */
#include "cli/config.h"

#include <errno.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "features/domain.h"
#include "features/oui.h"
#include "features/text.h"

#define MINUTE 60u
#define HOUR (60u * MINUTE)
#define DAY (24u * HOUR)
#define YEAR (365u * DAY)

/* Why a cap: a real file is a few hundred bytes; the cap stops a wrong path
 * (a disk image, /dev/zero) from being read into memory whole. It is well
 * above anything a person writes so garbage still reaches the parser. */
#define MAX_FILE_BYTES (16u << 20)

/* How much of an offending value a message quotes, and room for describe(). */
#define QUOTE_MAX 40
/* Its safe text: every byte may become "\\xHH", and "..." follows. */
#define QUOTE_TEXT (QUOTE_MAX * 4 + 4)
#define GOT_MAX (QUOTE_TEXT + 8)

enum kind {
	KIND_SECTION,   /* a nested mapping, described by .sub */
	KIND_PREFIXES,  /* a list of CIDR prefixes */
	KIND_BOOL,
	KIND_DURATION,  /* seconds, stored in a uint32_t */
	KIND_UINT,      /* stored in a uint32_t */
	KIND_PATH,      /* an absolute file or directory path, stored in char[CFG_PATH_MAX] */
	KIND_STRING,    /* min..max printable characters, stored in char[CFG_STR_MAX] */
	KIND_SIZE,      /* bytes with an optional KiB/MiB/GiB, min..max in KiB, stored in a uint64_t */
	KIND_CHOICE,    /* one of .choices, stored as its index in a uint32_t */
};

struct section;

struct key {
	const char *name;
	enum kind kind;
	size_t off;    /* offset of the field in struct iotids_config */
	uint32_t min, max;
	const struct section *sub;
	const char *const *choices; /* KIND_CHOICE: NULL-terminated */
};

struct section {
	const char *path;  /* dotted path for messages; NULL at the top level */
	const struct key *keys;
	size_t n_keys;
};

#define FIELD(f) offsetof(struct iotids_config, f)
/* Keys per section at most (the parser remembers where each was seen). */
#define SECTION_MAX_KEYS 16
#define N_KEYS(a) (sizeof(a) / sizeof((a)[0]))

/* In enum order, so cfg_timeout_name() can index it. */
static const struct key timeout_keys[CFG_TIMEOUT_COUNT] = {
	[CFG_TIMEOUT_TCP_SYN] = {"tcp_syn", KIND_DURATION, FIELD(timeouts_s[CFG_TIMEOUT_TCP_SYN]), 1, DAY, NULL, NULL},
	[CFG_TIMEOUT_TCP] = {"tcp", KIND_DURATION, FIELD(timeouts_s[CFG_TIMEOUT_TCP]), 1, DAY, NULL, NULL},
	[CFG_TIMEOUT_TCP_CLOSED] = {"tcp_closed", KIND_DURATION, FIELD(timeouts_s[CFG_TIMEOUT_TCP_CLOSED]), 1, DAY, NULL, NULL},
	[CFG_TIMEOUT_UDP] = {"udp", KIND_DURATION, FIELD(timeouts_s[CFG_TIMEOUT_UDP]), 1, DAY, NULL, NULL},
	[CFG_TIMEOUT_ICMP] = {"icmp", KIND_DURATION, FIELD(timeouts_s[CFG_TIMEOUT_ICMP]), 1, DAY, NULL, NULL},
	[CFG_TIMEOUT_OTHER] = {"other", KIND_DURATION, FIELD(timeouts_s[CFG_TIMEOUT_OTHER]), 1, DAY, NULL, NULL},
};
static const struct section timeouts_section = {"flows.timeouts", timeout_keys, CFG_TIMEOUT_COUNT};

static const struct key window_keys[] = {
	{"length", KIND_DURATION, FIELD(window_s), 10, DAY, NULL, NULL},
	{"max_remotes", KIND_UINT, FIELD(window_max_remotes), 1, 4096, NULL, NULL},
};
static const struct section windows_section = {"windows", window_keys, 2};

static const struct key flow_keys[] = {
	{"max", KIND_UINT, FIELD(max_flows), 1024, 16777216, NULL, NULL},
	{"timeouts", KIND_SECTION, 0, 0, 0, &timeouts_section, NULL},
};
static const struct section flows_section = {"flows", flow_keys, 2};

static const struct key device_keys[] = {
	{"max", KIND_UINT, FIELD(max_devices), 16, 1048576, NULL, NULL},
};
static const struct section devices_section = {"devices", device_keys, 1};

static const struct key dpi_keys[] = {
	{"enabled", KIND_BOOL, FIELD(dpi), 0, 0, NULL, NULL},
	{"max_states", KIND_UINT, FIELD(max_dpi_states), 16, 1048576, NULL, NULL},
};
static const struct section dpi_section = {"dpi", dpi_keys, 2};

static const struct key names_keys[] = {
	{"max", KIND_UINT, FIELD(max_names), 1024, 16777216, NULL, NULL},
	{"dns_cache", KIND_UINT, FIELD(dns_cache_max), 1024, 16777216, NULL, NULL},
	{"dns_cache_per_device", KIND_UINT, FIELD(dns_cache_per_device), 16, 1048576, NULL, NULL},
};
static const struct section names_section = {"names", names_keys, 3};

static const struct key identity_keys[] = {
	{"oui_dir", KIND_PATH, FIELD(oui_dir), 0, 0, NULL, NULL},
	{"public_suffix_list", KIND_PATH, FIELD(psl_path), 0, 0, NULL, NULL},
};
static const struct section identity_section = {"identity", identity_keys, 2};

static const struct key detector_keys[] = {
	{"learn_min", KIND_DURATION, FIELD(learn_min_s), 60, YEAR, NULL, NULL},
	{"learn_max", KIND_DURATION, FIELD(learn_max_s), 60, YEAR, NULL, NULL},
	{"maturity_percent", KIND_UINT, FIELD(maturity_percent), 50, 100, NULL, NULL},
	{"threshold_percent", KIND_UINT, FIELD(threshold_percent), 1, 100, NULL, NULL},
};
static const struct section detector_section = {"detector", detector_keys, N_KEYS(detector_keys)};

static const char *const when_full_choices[] = {"drop_oldest", "drop_newest", NULL};

static const struct key spool_keys[] = {
	{"dir", KIND_PATH, FIELD(redis.spool_dir), 0, 0, NULL, NULL},
	{"max_size", KIND_SIZE, FIELD(redis.spool_max_bytes), 64, 1u << 30, NULL, NULL},
	{"when_full", KIND_CHOICE, FIELD(redis.spool_when_full), 0, 0, NULL, when_full_choices},
	{"fsync", KIND_BOOL, FIELD(redis.spool_fsync), 0, 0, NULL, NULL},
};
static const struct section spool_section = {"redis.spool", spool_keys, N_KEYS(spool_keys)};

static const struct key redis_keys[] = {
	{"url", KIND_STRING, FIELD(redis.url), 1, CFG_STR_MAX - 1, NULL, NULL},
	{"user", KIND_STRING, FIELD(redis.user), 1, 127, NULL, NULL},
	{"password", KIND_STRING, FIELD(redis.password), 1, CFG_STR_MAX - 1, NULL, NULL},
	{"prefix", KIND_STRING, FIELD(redis.prefix), 1, 64, NULL, NULL},
	{"gateway_id", KIND_STRING, FIELD(redis.gateway_id), 1, 64, NULL, NULL},
	{"connect_timeout_ms", KIND_UINT, FIELD(redis.connect_timeout_ms), 100, 60000, NULL, NULL},
	{"command_timeout_ms", KIND_UINT, FIELD(redis.command_timeout_ms), 100, 60000, NULL, NULL},
	{"backoff_max_ms", KIND_UINT, FIELD(redis.backoff_max_ms), 1000, 600000, NULL, NULL},
	{"stream_maxlen", KIND_UINT, FIELD(redis.stream_maxlen), 0, 1000000000, NULL, NULL},
	{"queue_size", KIND_SIZE, FIELD(redis.queue_bytes), 64, 1u << 20, NULL, NULL},
	{"device_summaries", KIND_BOOL, FIELD(redis.device_summaries), 0, 0, NULL, NULL},
	{"spool", KIND_SECTION, 0, 0, 0, &spool_section, NULL},
};
static const struct section redis_section = {"redis", redis_keys, N_KEYS(redis_keys)};

static const char *const source_choices[] = {"auto", "ebpf", "pcap", NULL};
static const char *const hook_choices[] = {"auto", "tcx", "clsact", NULL};

static const struct key capture_keys[] = {
	{"interface", KIND_STRING, FIELD(capture.interface), 1, 15, NULL, NULL},
	{"source", KIND_CHOICE, FIELD(capture.source), 0, 0, NULL, source_choices},
	{"ebpf_hook", KIND_CHOICE, FIELD(capture.ebpf_hook), 0, 0, NULL, hook_choices},
	{"buffer", KIND_SIZE, FIELD(capture.buffer_bytes), 64, 1u << 20, NULL, NULL},
	{"snaplen", KIND_UINT, FIELD(capture.snaplen), 64, 262144, NULL, NULL},
	{"promisc", KIND_BOOL, FIELD(capture.promisc), 0, 0, NULL, NULL},
	{"filter", KIND_STRING, FIELD(capture.filter), 1, CFG_STR_MAX - 1, NULL, NULL},
	{"stats_every", KIND_DURATION, FIELD(capture.stats_every_s), 0, DAY, NULL, NULL},
};
static const struct section capture_section = {"capture", capture_keys, N_KEYS(capture_keys)};

static const struct key top_keys[] = {
	{"home_networks", KIND_PREFIXES, 0, 1, CFG_MAX_HOME_NETS, NULL, NULL},
	{"learn_ipv6_prefixes", KIND_BOOL, FIELD(learn_ipv6_prefixes), 0, 0, NULL, NULL},
	{"windows", KIND_SECTION, 0, 0, 0, &windows_section, NULL},
	{"flows", KIND_SECTION, 0, 0, 0, &flows_section, NULL},
	{"devices", KIND_SECTION, 0, 0, 0, &devices_section, NULL},
	{"dpi", KIND_SECTION, 0, 0, 0, &dpi_section, NULL},
	{"names", KIND_SECTION, 0, 0, 0, &names_section, NULL},
	{"identity", KIND_SECTION, 0, 0, 0, &identity_section, NULL},
	{"detector", KIND_SECTION, 0, 0, 0, &detector_section, NULL},
	{"redis", KIND_SECTION, 0, 0, 0, &redis_section, NULL},
	{"capture", KIND_SECTION, 0, 0, 0, &capture_section, NULL},
};
static const struct section top_section = {NULL, top_keys, N_KEYS(top_keys)};
_Static_assert(N_KEYS(top_keys) <= SECTION_MAX_KEYS && CFG_TIMEOUT_COUNT <= SECTION_MAX_KEYS &&
		       N_KEYS(redis_keys) <= SECTION_MAX_KEYS,
	       "a section has more keys than the parser can place");

static const char *const default_home_nets[] = {
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
	"169.254.0.0/16", "fc00::/7", "fe80::/10",
};

void cfg_defaults(struct iotids_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < sizeof(default_home_nets) / sizeof(default_home_nets[0]); i++) {
		/* Constant text: a typo here fails the defaults test, not users. */
		if (ip_prefix_parse(default_home_nets[i], &cfg->home_nets[cfg->n_home_nets]) == 0)
			cfg->n_home_nets++;
	}
	cfg->learn_ipv6_prefixes = true;
	cfg->window_s = 60;
	cfg->window_max_remotes = 64;
	cfg->max_flows = 131072;
	cfg->timeouts_s[CFG_TIMEOUT_TCP_SYN] = 30;
	/* IoT keepalive connections (MQTT, FCM, cloud control channels) idle
	 * 15-30 minutes between packets; an hour keeps them one flow. */
	cfg->timeouts_s[CFG_TIMEOUT_TCP] = HOUR;
	cfg->timeouts_s[CFG_TIMEOUT_TCP_CLOSED] = 10;
	cfg->timeouts_s[CFG_TIMEOUT_UDP] = 2 * MINUTE;
	cfg->timeouts_s[CFG_TIMEOUT_ICMP] = 30;
	cfg->timeouts_s[CFG_TIMEOUT_OTHER] = MINUTE;
	cfg->max_devices = 4096;
	cfg->dpi = true;
	cfg->max_dpi_states = 16384;
	cfg->max_names = 262144;
	cfg->dns_cache_max = 65536;
	cfg->dns_cache_per_device = 1024;
	snprintf(cfg->oui_dir, sizeof(cfg->oui_dir), "%s", OUI_DEFAULT_DIR);
	snprintf(cfg->psl_path, sizeof(cfg->psl_path), "%s", DOMAIN_DEFAULT_PSL);
	cfg->learn_min_s = DAY;
	cfg->learn_max_s = 7 * DAY;
	cfg->maturity_percent = 95;
	cfg->threshold_percent = 75;
	snprintf(cfg->redis.prefix, sizeof(cfg->redis.prefix), "iotids");
	cfg->redis.connect_timeout_ms = 2000;
	cfg->redis.command_timeout_ms = 5000;
	cfg->redis.backoff_max_ms = 30000;
	cfg->redis.stream_maxlen = 100000;
	cfg->redis.queue_bytes = 8u << 20;
	snprintf(cfg->redis.spool_dir, sizeof(cfg->redis.spool_dir), "/var/lib/iotids/spool");
	cfg->redis.spool_max_bytes = 64u << 20;
	cfg->redis.spool_fsync = true;
	cfg->redis.device_summaries = true;
	cfg->capture.buffer_bytes = 16u << 20;
	cfg->capture.snaplen = 65535;
	cfg->capture.promisc = true;
	cfg->capture.stats_every_s = MINUTE;
}

const char *cfg_timeout_name(enum cfg_timeout t)
{
	if ((unsigned)t >= CFG_TIMEOUT_COUNT)
		return NULL;
	return timeout_keys[t].name;
}

int cfg_parse_duration(const char *s, uint64_t *seconds)
{
	uint64_t n = 0, unit = 1;
	bool too_big = false;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		/* Keep scanning past an overflow so "9999...9x" is still -EINVAL. */
		if (n > YEAR)
			too_big = true;
		else
			n = n * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case '\0': break;
	case 's': break;
	case 'm': unit = MINUTE; break;
	case 'h': unit = HOUR; break;
	case 'd': unit = DAY; break;
	default: return -EINVAL;
	}
	if (*p != '\0' && p[1] != '\0')
		return -EINVAL;
	/* n <= 10 * YEAR + 9 here, so n * unit cannot wrap. */
	if (too_big || n * unit > YEAR)
		return -ERANGE;
	*seconds = n * unit;
	return 0;
}

/* The largest unit that divides s exactly, so limits read as written. */
static const char *fmt_duration(uint32_t s, char *buf, size_t size)
{
	if (s && s % DAY == 0)
		snprintf(buf, size, "%ud", (unsigned)(s / DAY));
	else if (s && s % HOUR == 0)
		snprintf(buf, size, "%uh", (unsigned)(s / HOUR));
	else if (s && s % MINUTE == 0)
		snprintf(buf, size, "%um", (unsigned)(s / MINUTE));
	else
		snprintf(buf, size, "%us", (unsigned)s);
	return buf;
}

/* Decimal digits only: strtoull alone would take spaces, signs and "-1". */
static int parse_uint(const char *s, uint64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*out = v;
	return 0;
}

/* "65536", "512KiB", "64MiB", "1GiB": bytes. */
static int parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {{"KiB", 10}, {"MiB", 20}, {"GiB", 30}};
	char digits[24];
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, s, n);
	digits[n] = '\0';
	uint64_t v;
	if (parse_uint(digits, &v) != 0)
		return -EINVAL;
	if (!s[n]) {
		*out = v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(s + n, units[i].suffix)) {
			if (v > (UINT64_MAX >> units[i].shift))
				return -EINVAL;
			*out = v << units[i].shift;
			return 0;
		}
	}
	return -EINVAL;
}

/* An RFC 3339 UTC time ("2026-03-02T06:00:00Z", the Z required) or a
 * date, as microseconds since the epoch. */
int cfg_parse_time(const char *text, uint64_t *us)
{
	struct tm tm;
	int end = -1;
	size_t len = strlen(text);
	memset(&tm, 0, sizeof(tm));
	/* The whole text, nothing after: no offsets, no fractions. */
	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec, &end) != 6 ||
	    end < 0 || (size_t)end != len) {
		memset(&tm, 0, sizeof(tm));
		end = -1;
		if (sscanf(text, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &end) != 3 || end < 0 ||
		    (size_t)end != len)
			return -EINVAL;
	}
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60 || tm.tm_year < 1970)
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	struct tm want = tm, back;
	time_t t = timegm(&tm);
	/* timegm makes February 30 March 2: a date that does not exist is an error. */
	if (t < 0 || !gmtime_r(&t, &back) || back.tm_mday != want.tm_mday || back.tm_mon != want.tm_mon)
		return -EINVAL;
	*us = (uint64_t)t * 1000000ull;
	return 0;
}

struct loader {
	yaml_parser_t parser;
	yaml_event_t ev;      /* the current event, valid when have_ev */
	bool have_ev;
	const char *path;
	const unsigned char *text;  /* the file, for positions of reader errors */
	size_t text_len;
	char *err;
	size_t errlen;
	struct iotids_config cfg;   /* the copy the file is applied to */
};

static void put_err(struct loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_err(struct loader *ld, const char *fmt, ...)
{
	va_list ap;
	if (!ld->err || ld->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(ld->err, ld->errlen, fmt, ap);
	va_end(ap);
}

/* Writes "PATH:LINE:COL: message" (marks are 0-based) and returns -EINVAL. */
static int fail_at(struct loader *ld, yaml_mark_t m, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail_at(struct loader *ld, yaml_mark_t m, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	put_err(ld, "%s:%zu:%zu: %s", ld->path, m.line + 1, m.column + 1, msg);
	return -EINVAL;
}

/* At most QUOTE_MAX bytes of v as safe text (features/text.h), for messages. */
static const char *quote(const unsigned char *v, size_t len, char *buf, size_t size)
{
	return text_quote(v, len, QUOTE_MAX, buf, size);
}

/* "'value'", "nothing", "a list" or "a mapping", for "got ..." in messages. */
static const char *describe(const yaml_event_t *ev, char *buf, size_t size)
{
	char q[QUOTE_TEXT];
	/* next() refuses aliases, so a node is one of these three. */
	if (ev->type == YAML_SEQUENCE_START_EVENT)
		return "a list";
	if (ev->type == YAML_MAPPING_START_EVENT)
		return "a mapping";
	if (ev->data.scalar.length == 0)
		return "nothing";
	quote(ev->data.scalar.value, ev->data.scalar.length, q, sizeof(q));
	snprintf(buf, size, "'%s'", q);
	return buf;
}

/* Line and column (0-based, in characters as libyaml counts them) of a byte
 * offset; reader errors report only the offset. */
static yaml_mark_t mark_of_offset(const struct loader *ld, size_t off)
{
	yaml_mark_t m = {off, 0, 0};
	for (size_t i = 0; i < off && i < ld->text_len; i++) {
		unsigned char c = ld->text[i];
		if (c == '\n' || (c == '\r' && (i + 1 >= ld->text_len || ld->text[i + 1] != '\n'))) {
			m.line++;
			m.column = 0;
		} else if ((c & 0xc0) != 0x80 && c != '\r') {
			m.column++;
		}
	}
	return m;
}

static int parser_error(struct loader *ld)
{
	const yaml_parser_t *p = &ld->parser;
	const char *problem = p->problem ? p->problem : "malformed YAML";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		put_err(ld, "%s: out of memory", ld->path);
		return -ENOMEM;
	case YAML_READER_ERROR:
		if (p->problem_value >= 0)
			return fail_at(ld, mark_of_offset(ld, p->problem_offset), "%s (byte 0x%02X)",
				       problem, (unsigned)p->problem_value);
		return fail_at(ld, mark_of_offset(ld, p->problem_offset), "%s", problem);
	default:
		if (p->context)
			return fail_at(ld, p->problem_mark, "%s %s at line %zu, column %zu", problem,
				       p->context, p->context_mark.line + 1, p->context_mark.column + 1);
		return fail_at(ld, p->problem_mark, "%s", problem);
	}
}

/* Advances to the next event, refusing anchors, aliases and tags here so no
 * caller can forget to. */
static int next(struct loader *ld)
{
	if (ld->have_ev) {
		yaml_event_delete(&ld->ev);
		ld->have_ev = false;
	}
	if (!yaml_parser_parse(&ld->parser, &ld->ev))
		return parser_error(ld);
	ld->have_ev = true;

	const yaml_event_t *ev = &ld->ev;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return fail_at(ld, ev->start_mark, "aliases are not supported");
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	default:
		break;
	}
	if (anchor)
		return fail_at(ld, ev->start_mark, "anchors and aliases are not supported");
	if (tag) {
		char q[QUOTE_TEXT];
		return fail_at(ld, ev->start_mark, "tags are not supported (found '%s')",
			       quote(tag, strlen((const char *)tag), q, sizeof(q)));
	}
	return 0;
}

/* A plain empty, "~" or "null" scalar: YAML's way of writing nothing. */
static bool is_null(const yaml_event_t *ev)
{
	if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)ev->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* The scalar's text, or NULL if it is not a scalar or holds a NUL byte (a
 * "\0" escape), which no value may contain. */
static const char *scalar_text(const yaml_event_t *ev)
{
	if (ev->type != YAML_SCALAR_EVENT)
		return NULL;
	const char *v = (const char *)ev->data.scalar.value;
	return strlen(v) == ev->data.scalar.length ? v : NULL;
}

static void key_path(const struct section *sec, const struct key *k, char *buf, size_t size)
{
	if (sec->path)
		snprintf(buf, size, "%s.%s", sec->path, k->name);
	else
		snprintf(buf, size, "%s", k->name);
}

static int parse_mapping(struct loader *ld, const struct section *sec);

/* Values never quoted in a message: they may hold a password. */
static bool is_secret(const struct key *k)
{
	return k->off == FIELD(redis.password) || k->off == FIELD(redis.url);
}

/* The current event is the SEQUENCE-START of home_networks. */
static int parse_prefixes(struct loader *ld, const struct key *k)
{
	yaml_mark_t list_mark = ld->ev.start_mark;
	size_t n = 0;
	char what[GOT_MAX];
	int rc;

	for (;;) {
		if ((rc = next(ld)) != 0)
			return rc;
		const yaml_event_t *ev = &ld->ev;
		if (ev->type == YAML_SEQUENCE_END_EVENT)
			break;
		if (n == k->max)
			return fail_at(ld, ev->start_mark, "%s: more than %u prefixes", k->name,
				       (unsigned)k->max);
		if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.length == 0)
			return fail_at(ld, ev->start_mark, "%s[%zu]: expected a CIDR prefix, got %s", k->name,
				       n, describe(ev, what, sizeof(what)));
		const char *v = scalar_text(ev);
		if (!v || ip_prefix_parse(v, &ld->cfg.home_nets[n]) != 0)
			return fail_at(ld, ev->start_mark, "%s[%zu]: %s is not a CIDR prefix", k->name, n,
				       describe(ev, what, sizeof(what)));
		n++;
	}
	if (n < k->min)
		return fail_at(ld, list_mark, "%s: expected %u to %u CIDR prefixes, got none", k->name,
			       (unsigned)k->min, (unsigned)k->max);
	ld->cfg.n_home_nets = n;
	return 0;
}

/* The current event is the value of key k in section sec. */
/* What a scalar key accepts, for messages. */
static const char *expected(const struct key *k, char *buf, size_t size)
{
	char lo[16], hi[16];
	switch (k->kind) {
	case KIND_BOOL:
		snprintf(buf, size, "true or false");
		break;
	case KIND_DURATION:
		snprintf(buf, size, "a duration from %s to %s", fmt_duration(k->min, lo, sizeof(lo)),
			 fmt_duration(k->max, hi, sizeof(hi)));
		break;
	case KIND_PATH:
		snprintf(buf, size, "an absolute path (shorter than %d characters)", CFG_PATH_MAX);
		break;
	case KIND_STRING:
		snprintf(buf, size, "text of %u to %u printable characters", (unsigned)k->min, (unsigned)k->max);
		break;
	case KIND_SIZE:
		snprintf(buf, size, "a size from %u KiB to %u MiB (e.g. 512KiB, 64MiB, 1GiB)", (unsigned)k->min,
			 (unsigned)(k->max / 1024));
		break;
	case KIND_CHOICE: {
		size_t o = (size_t)snprintf(buf, size, "one of");
		for (size_t i = 0; k->choices[i] && o < size; i++)
			o += (size_t)snprintf(buf + o, size - o, "%s %s", i ? "," : "", k->choices[i]);
		break;
	}
	default:
		snprintf(buf, size, "an integer from %u to %u", (unsigned)k->min, (unsigned)k->max);
		break;
	}
	return buf;
}

/* Checks text v against scalar key k and stores it in cfg. 0, or -EINVAL
 * with what was expected in why. */
static int set_scalar(struct iotids_config *cfg, const struct key *k, const char *v, char *why, size_t size)
{
	uint64_t n = 0;
	switch (k->kind) {
	case KIND_BOOL:
		/* Only these two: YAML 1.1 also reads yes/no/on/off as booleans,
		 * which surprises people who meant a string. */
		if (strcmp(v, "true") && strcmp(v, "false"))
			goto bad;
		bool b = !strcmp(v, "true");
		memcpy((unsigned char *)cfg + k->off, &b, sizeof(b));
		return 0;
	case KIND_DURATION:
		if (cfg_parse_duration(v, &n) != 0 || n < k->min || n > k->max)
			goto bad;
		break;
	case KIND_UINT:
		if (parse_uint(v, &n) != 0 || n < k->min || n > k->max)
			goto bad;
		break;
	case KIND_PATH:
		if (v[0] != '/' || strlen(v) >= CFG_PATH_MAX)
			goto bad;
		memcpy((unsigned char *)cfg + k->off, v, strlen(v) + 1);
		return 0;
	case KIND_STRING: {
		size_t len = strlen(v);
		if (len < k->min || len > k->max || len >= CFG_STR_MAX)
			goto bad;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
				goto bad;
		memcpy((unsigned char *)cfg + k->off, v, len + 1);
		return 0;
	}
	case KIND_SIZE:
		if (parse_size(v, &n) != 0 || n < (uint64_t)k->min * 1024 || n > (uint64_t)k->max * 1024)
			goto bad;
		memcpy((unsigned char *)cfg + k->off, &n, sizeof(n));
		return 0;
	case KIND_CHOICE:
		for (uint32_t i = 0; k->choices[i]; i++) {
			if (!strcmp(v, k->choices[i])) {
				memcpy((unsigned char *)cfg + k->off, &i, sizeof(i));
				return 0;
			}
		}
		goto bad;
	default:
		goto bad;
	}
	uint32_t v32 = (uint32_t)n;
	memcpy((unsigned char *)cfg + k->off, &v32, sizeof(v32));
	return 0;
bad:
	expected(k, why, size);
	return -EINVAL;
}

static int parse_value(struct loader *ld, const struct section *sec, const struct key *k)
{
	const yaml_event_t *ev = &ld->ev;
	char path[64], what[GOT_MAX];
	const char *v = scalar_text(ev);

	key_path(sec, k, path, sizeof(path));
	switch (k->kind) {
	case KIND_SECTION:
		if (ev->type == YAML_MAPPING_START_EVENT)
			return parse_mapping(ld, k->sub);
		/* A section whose keys are all commented out keeps its defaults. */
		if (is_null(ev))
			return 0;
		return fail_at(ld, ev->start_mark, "%s: expected a mapping, got %s", path,
			       describe(ev, what, sizeof(what)));
	case KIND_PREFIXES:
		if (ev->type == YAML_SEQUENCE_START_EVENT)
			return parse_prefixes(ld, k);
		return fail_at(ld, ev->start_mark, "%s: expected a list of %u to %u CIDR prefixes, got %s",
			       path, (unsigned)k->min, (unsigned)k->max, describe(ev, what, sizeof(what)));
	default:
		break;
	}
	char why[96];
	if (!v)
		expected(k, why, sizeof(why));
	if (!v || set_scalar(&ld->cfg, k, v, why, sizeof(why)) != 0)
		return fail_at(ld, ev->start_mark, "%s: expected %s, got %s", path, why,
			       is_secret(k) ? "something else (not shown: it may hold a password)"
					    : describe(ev, what, sizeof(what)));
	return 0;
}

static void key_list(const struct section *sec, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sec->n_keys && o < size; i++) {
		int w = snprintf(buf + o, size - o, "%s%s", i ? ", " : "", sec->keys[i].name);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* The current event is the MAPPING-START of section sec. */
static int parse_mapping(struct loader *ld, const struct section *sec)
{
	yaml_mark_t first[SECTION_MAX_KEYS]; /* where each key was seen */
	uint32_t seen = 0;
	char where[64], q[QUOTE_MAX * 2], what[GOT_MAX], names[256];
	int rc;

	if (sec->path)
		snprintf(where, sizeof(where), "in %s", sec->path);
	else
		snprintf(where, sizeof(where), "at the top level");

	for (;;) {
		if ((rc = next(ld)) != 0)
			return rc;
		const yaml_event_t *ev = &ld->ev;
		if (ev->type == YAML_MAPPING_END_EVENT)
			return 0;
		if (ev->type != YAML_SCALAR_EVENT)
			return fail_at(ld, ev->start_mark, "expected a key %s, got %s", where,
				       describe(ev, what, sizeof(what)));

		const char *name = (const char *)ev->data.scalar.value;
		size_t len = ev->data.scalar.length;
		size_t i;
		for (i = 0; i < sec->n_keys; i++)
			if (strlen(sec->keys[i].name) == len && !memcmp(sec->keys[i].name, name, len))
				break;
		if (i == sec->n_keys) {
			key_list(sec, names, sizeof(names));
			return fail_at(ld, ev->start_mark, "unknown key '%s' %s (expected: %s)",
				       quote(ev->data.scalar.value, len, q, sizeof(q)), where, names);
		}
		if (seen & (1u << i))
			return fail_at(ld, ev->start_mark, "duplicate key '%s' %s (first at line %zu)",
				       sec->keys[i].name, where, first[i].line + 1);
		seen |= 1u << i;
		first[i] = ev->start_mark;

		if ((rc = next(ld)) != 0 || (rc = parse_value(ld, sec, &sec->keys[i])) != 0)
			return rc;
	}
}

/* Walks STREAM-START, at most one document holding a mapping (or nothing),
 * STREAM-END. */
static int parse_stream(struct loader *ld)
{
	int rc;
	char what[GOT_MAX];

	if ((rc = next(ld)) != 0 || (rc = next(ld)) != 0)  /* STREAM-START, then the first document */
		return rc;
	if (ld->ev.type == YAML_STREAM_END_EVENT)
		return 0;  /* no document at all: blank or comments only */
	if ((rc = next(ld)) != 0)  /* the root node */
		return rc;
	if (ld->ev.type == YAML_MAPPING_START_EVENT)
		rc = parse_mapping(ld, &top_section);
	else if (!is_null(&ld->ev))
		rc = fail_at(ld, ld->ev.start_mark, "expected a mapping at the top level, got %s",
			     describe(&ld->ev, what, sizeof(what)));
	if (rc != 0 || (rc = next(ld)) != 0 || (rc = next(ld)) != 0)  /* DOCUMENT-END, then what follows */
		return rc;
	if (ld->ev.type != YAML_STREAM_END_EVENT)
		return fail_at(ld, ld->ev.start_mark, "only one YAML document is allowed");
	return 0;
}

/* Reads the whole file; on failure writes the message and returns -errno. */
static int read_file(struct loader *ld, unsigned char **out, size_t *out_len)
{
	FILE *f = fopen(ld->path, "rb");
	struct stat st;
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;

	if (!f) {
		rc = -errno;
		goto out;
	}
	/* fopen() opens a directory happily; reading it fails later with EISDIR,
	 * but saying so up front gives the same message on every libc. */
	if (fstat(fileno(f), &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= MAX_FILE_BYTES) {
				put_err(ld, "%s: larger than %u MiB, not a configuration file", ld->path,
					MAX_FILE_BYTES >> 20);
				rc = -EFBIG;
				goto out;
			}
			size_t ncap = cap ? cap * 2 : 4096;
			unsigned char *nbuf = realloc(buf, ncap);
			if (!nbuf) {
				put_err(ld, "%s: out of memory", ld->path);
				rc = -ENOMEM;
				goto out;
			}
			buf = nbuf;
			cap = ncap;
		}
		errno = 0;
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			if (ferror(f))
				rc = errno ? -errno : -EIO;
			break;
		}
	}
out:
	if (rc != 0 && rc != -EFBIG && rc != -ENOMEM)
		put_err(ld, "%s: cannot open: %s", ld->path, strerror(-rc));
	if (f)
		fclose(f);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

int cfg_load(struct iotids_config *cfg, const char *path, char *err, size_t errlen)
{
	struct loader ld;
	unsigned char *text = NULL;
	size_t len = 0;
	bool parser_ready = false;
	int rc;

	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	ld.err = err;
	ld.errlen = errlen;
	ld.cfg = *cfg;
	if (err && errlen)
		err[0] = '\0';

	if ((rc = read_file(&ld, &text, &len)) != 0)
		goto out;
	ld.text = text;
	ld.text_len = len;
	if (!yaml_parser_initialize(&ld.parser)) {
		put_err(&ld, "%s: out of memory", path);
		rc = -ENOMEM;
		goto out;
	}
	parser_ready = true;
	/* Fixed so byte offsets of reader errors map to lines and columns. */
	yaml_parser_set_encoding(&ld.parser, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&ld.parser, text, len);

	if ((rc = parse_stream(&ld)) == 0)
		*cfg = ld.cfg;
out:
	if (ld.have_ev)
		yaml_event_delete(&ld.ev);
	if (parser_ready)
		yaml_parser_delete(&ld.parser);
	free(text);
	return rc;
}

int cfg_set(struct iotids_config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	const struct section *sec = &top_section;
	const char *name = key;
	for (;;) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);
		const struct key *k = NULL;
		for (size_t i = 0; i < sec->n_keys; i++)
			if (strlen(sec->keys[i].name) == len && !strncmp(sec->keys[i].name, name, len))
				k = &sec->keys[i];
		if (!k || (dot && k->kind != KIND_SECTION) || (!dot && (k->kind == KIND_SECTION || k->kind == KIND_PREFIXES))) {
			snprintf(err, errlen, "%s: not a setting that takes one value", key);
			return -EINVAL;
		}
		if (dot) {
			sec = k->sub;
			name = dot + 1;
			continue;
		}
		char why[96];
		struct iotids_config tmp = *cfg;
		if (set_scalar(&tmp, k, value, why, sizeof(why)) != 0) {
			if (is_secret(k))
				snprintf(err, errlen, "%s: expected %s (the value is not shown: it may hold a password)", key, why);
			else
				snprintf(err, errlen, "%s: expected %s, got '%.40s'", key, why, value);
			return -EINVAL;
		}
		*cfg = tmp;
		return 0;
	}
}
