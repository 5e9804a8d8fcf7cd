/*
 * iotids alerts — the alerts a replay or run with --db kept in the store
 * (the newest STORE_MAX_ALERTS), read while a detector may be writing it.
 *
 * Times are capture time: --since 2h means the two hours before the
 * newest event the store knows of, which on a live gateway is now and for
 * a replayed capture is its end.
 *
 * The table shows what the stored alerts say as safe text (features/text.h),
 * the device's name as a cell of its column (text_cell: cut with an
 * ellipsis when longer); --json gives the alerts as they were written.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "detector/store.h"
#include "features/text.h"

/* Bytes a table cell of w columns may need (see text_cell). */
#define CELL_BYTES(w) ((w) * 4 + 8)

struct alerts_opts {
	const char *db, *device, *since, *kind;
	uint32_t limit;
	bool json, suppressed;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: iotids alerts list [--db PATH] [--device D] [--since T] [--kind K]\n"
		     "                          [--limit N] [--suppressed] [--json]\n\n"
		     "The alerts the store keeps (the newest %d), in the order they were raised.\n\n",
		STORE_MAX_ALERTS);
	fputs("  --db PATH     the store (default " CLI_DEFAULT_DB ")\n"
	      "  --device D    one device: a MAC or address, a hostname, or a unique prefix\n"
	      "  --since T     from T: 2026-03-02T06:00:00Z, 2026-03-02, or a duration (90s,\n"
	      "                20m, 2h, 7d) before the newest event in the store\n"
	      "  --kind K      one kind of alert (unexpected_destination, scan, ...)\n"
	      "  --limit N     the last N raised only\n"
	      "  --suppressed  the alerts rules suppressed instead (docs/rules.md), each\n"
	      "                with the rule that did (suppressed_by)\n"
	      "  --json        the alerts as JSON lines, as iotids wrote them\n"
	      "  -h, --help    this help\n\n"
	      "Exit status: 0 ok; 1 the store is missing, locked, damaged or newer; 2 usage;\n"
	      "3 no such device, or more than one matches.\n",
	      out);
}

static bool kind_known(const char *kind)
{
	for (size_t i = 0; det_kind_name(i); i++)
		if (!strcmp(det_kind_name(i), kind))
			return true;
	return false;
}

struct list_ctx {
	bool json, header, failed;
};

/* The device's hostname, else its vendor, from the alert as written. */
static const char *alert_who(json_t *doc)
{
	json_t *dev = json_object_get(doc, "device");
	const char *name = json_string_value(json_object_get(dev, "hostname"));
	return name ? name : json_string_value(json_object_get(dev, "vendor"));
}

static int list_row(void *ctx, const struct store_alert *a)
{
	struct list_ctx *c = ctx;
	if (c->json) {
		if (fputs(a->json, stdout) == EOF || fputc('\n', stdout) == EOF)
			c->failed = true;
		return 0;
	}
	char t[40], sev[CELL_BYTES(8)], kind[CELL_BYTES(22)], dev[64], name[CELL_BYTES(20)];
	json_t *doc = json_loads(a->json, 0, NULL);
	const char *who = doc ? alert_who(doc) : NULL, *about = json_string_value(json_object_get(doc, "about"));
	if (!c->header) {
		printf("%-19s %-8s %-22s %-17s %-20s %5s  %s%s\n", "TIME", "SEVERITY", "KIND", "DEVICE", "NAME", "SCORE",
		       "ABOUT", a->suppressed_by ? "  (SUPPRESSED BY)" : "");
		c->header = true;
	}
	text_cell(sev, sizeof(sev), a->severity, 8);
	text_cell(kind, sizeof(kind), a->kind, 22);
	text_cell(name, sizeof(name), who ? who : "-", 20);
	char *safe = text_safe_dup(about ? about : "-");
	/* A device's id is never cut: one known by an IPv6 address widens its row. */
	printf("%.19s %s %s %-17s %s %5.2f  %s", out_time(a->ts_us, t, sizeof(t)), sev, kind,
	       text_safe(dev, sizeof(dev), a->device), name, a->score, safe ? safe : "-");
	free(safe);
	if (a->suppressed_by) {
		safe = text_safe_dup(a->suppressed_by);
		printf("  (%s)", safe ? safe : "");
		free(safe);
	}
	putchar('\n');
	json_decref(doc);
	return 0;
}

static int alerts_list(const struct alerts_opts *o)
{
	char err[512], device[64];
	int code, rc = CLI_EXIT_OK;
	struct store_alert_filter f = {.kind = o->kind, .limit = o->limit, .suppressed = o->suppressed};
	struct store *s = store_open(o->db, false, err, sizeof(err), &code);
	if (!s) {
		fprintf(stderr, "iotids: %s\n", err);
		return cli_store_exit(code);
	}
	if (o->device) {
		if ((code = store_find(s, o->device, device, sizeof(device), err, sizeof(err))) != 0)
			goto out;
		f.device = device;
	}
	uint64_t sec;
	if (o->since && cfg_parse_time(o->since, &f.since_us) != 0) {
		uint64_t last;
		if ((code = store_last_event(s, &last, err, sizeof(err))) != 0)
			goto out;
		if (cfg_parse_duration(o->since, &sec) != 0) {
			fprintf(stderr, "iotids alerts: --since '%s': want a time (2026-03-02T06:00:00Z), a date or a "
					"duration (2h)\n",
				o->since);
			rc = CLI_EXIT_USAGE;
			goto out;
		}
		f.since_us = last > sec * 1000000ull ? last - sec * 1000000ull : 0;
	}
	struct list_ctx c = {.json = o->json};
	code = store_alerts_list(s, &f, list_row, &c, err, sizeof(err));
	if (!code && c.failed)
		rc = CLI_EXIT_RUNTIME;
	if (!code && !c.header && !o->json)
		printf(o->suppressed ? "no suppressed alert\n" : "no alert\n");
out:
	if (code) {
		fprintf(stderr, "iotids: %s\n", err);
		rc = cli_store_exit(code);
	}
	store_close(s);
	return rc;
}

int cmd_alerts(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},	  {"device", required_argument, NULL, 'D'},
		{"since", required_argument, NULL, 's'}, {"kind", required_argument, NULL, 'k'},
		{"limit", required_argument, NULL, 'l'}, {"json", no_argument, NULL, 'j'},
		{"suppressed", no_argument, NULL, 'S'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct alerts_opts o = {.db = CLI_DEFAULT_DB};
	int c;
	char *end;
	unsigned long n;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.db = optarg;
			break;
		case 'D':
			o.device = optarg;
			break;
		case 's':
			o.since = optarg;
			break;
		case 'k':
			if (!kind_known(optarg)) {
				fprintf(stderr, "iotids alerts: --kind '%s': not a kind of alert; the kinds are:", optarg);
				for (size_t i = 0; det_kind_name(i); i++)
					fprintf(stderr, " %s", det_kind_name(i));
				fputc('\n', stderr);
				return CLI_EXIT_USAGE;
			}
			o.kind = optarg;
			break;
		case 'l':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || n == 0 || n > UINT32_MAX) {
				fprintf(stderr, "iotids alerts: --limit '%s': want a positive number\n", optarg);
				return CLI_EXIT_USAGE;
			}
			o.limit = (uint32_t)n;
			break;
		case 'j':
			o.json = true;
			break;
		case 'S':
			o.suppressed = true;
			break;
		case 'h':
			usage(stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "iotids alerts: unknown or incomplete option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || strcmp(argv[optind], "list") != 0) {
		fprintf(stderr, "iotids alerts: the subcommand is list\n");
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	return alerts_list(&o);
}
