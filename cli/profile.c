/*
 * iotids profile — what the profile store holds, read while a detector may
 * be writing it (WAL: readers never wait for the writer).
 *
 * Subcommands sit in a table with their help, like the commands. A device
 * is named by its MAC (or address), its hostname, or a unique prefix of
 * either.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli/cli.h"
#include "detector/store.h"

struct profile_opts {
	const char *db;
	bool json;
	const char *device;  /* show: the device asked for */
	const char *reason;  /* relearn, forget: kept in the audit log */
};

struct subcommand {
	const char *name;
	int (*run)(struct store *s, const struct profile_opts *o);
	const char *args;    /* positional arguments, for usage */
	int n_args;
	const char *summary;
};

static int profile_list(struct store *s, const struct profile_opts *o);
static int profile_show(struct store *s, const struct profile_opts *o);
static int profile_history(struct store *s, const struct profile_opts *o);
static int profile_relearn(struct store *s, const struct profile_opts *o);
static int profile_forget(struct store *s, const struct profile_opts *o);

static const struct subcommand subcommands[] = {
	{"list", profile_list, "", 0, "every device: vendor, hostname, state, maturity, last seen, destinations"},
	{"show", profile_show, " DEVICE", 1,
	 "one device's whole profile: destinations by registrable domain, peers,\n"
	 "             services, baselines, hour-of-week activity, heartbeats"},
	{"history", profile_history, " DEVICE", 1, "the versions of one device's profile: when, and why"},
	{"relearn", profile_relearn, " DEVICE", 1,
	 "the device learns again from its last event, keeping what it learned\n"
	 "             (a firmware update changed it); audited, with --reason TEXT"},
	{"forget", profile_forget, " DEVICE", 1,
	 "drop the device's profile and versions: it is learned anew when next\n"
	 "             seen (and announced as new); audited, with --reason TEXT"},
};
#define N_SUB (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *out)
{
	fputs("usage: iotids profile SUBCOMMAND [--db PATH] [--json] [ARGS]\n\n"
	      "Reads the profiles a replay or run with --db keeps.\n\n",
	      out);
	for (size_t i = 0; i < N_SUB; i++) {
		char head[32];
		snprintf(head, sizeof(head), "%s%s", subcommands[i].name, subcommands[i].args);
		fprintf(out, "  %-10s %s\n", head, subcommands[i].summary);
	}
	fputs("\n  --db PATH   the store (default " CLI_DEFAULT_DB ")\n"
	      "  --json      JSON lines instead of text\n"
	      "  --reason T  why (relearn, forget), kept in the store's changes table\n"
	      "  -h, --help  this help\n\n"
	      "DEVICE: a MAC (or the address of a device without one), a hostname, or a\n"
	      "unique prefix of either.\n\n"
	      "Exit status: 0 ok; 1 the store is missing, locked, damaged or newer; 2 usage;\n"
	      "3 no such device, or more than one matches.\n",
	      out);
}

/* Store errors: device not found or ambiguous is 3, the rest 1. */
static int store_exit(int code)
{
	return code == STORE_ERR_UNKNOWN || code == STORE_ERR_AMBIGUOUS ? CLI_EXIT_NO_DEVICE : CLI_EXIT_RUNTIME;
}

struct list_ctx {
	const struct profile_opts *o;
	struct oui_db *oui;
	bool header, failed;
};

static const char *row_vendor(const struct list_ctx *c, const char *device)
{
	uint8_t mac[6];
	unsigned v[6];
	if (!c->oui || sscanf(device, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return NULL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return oui_vendor(c->oui, mac);
}

static int list_row(void *ctx, const struct store_row *r)
{
	struct list_ctx *c = ctx;
	char last[40];
	const char *vendor = row_vendor(c, r->device);
	if (c->o->json) {
		json_t *x = json_object();
		json_object_set_new(x, "device", json_string(r->device));
		json_object_set_new(x, "vendor", vendor ? json_string(vendor) : json_null());
		json_object_set_new(x, "hostname", r->hostname ? json_string(r->hostname) : json_null());
		json_object_set_new(x, "state", json_string(r->state));
		json_object_set_new(x, "maturity", json_real(round(r->maturity * 1000.0) / 1000.0));
		json_object_set_new(x, "first_seen", json_string(out_time(r->first_us, last, sizeof(last))));
		json_object_set_new(x, "last_seen", json_string(out_time(r->last_us, last, sizeof(last))));
		json_object_set_new(x, "destinations", json_integer(r->destinations));
		json_object_set_new(x, "version", json_integer(r->version));
		if (json_dumpf(x, stdout, JSON_COMPACT) != 0 || fputc('\n', stdout) == EOF)
			c->failed = true;
		json_decref(x);
		return 0;
	}
	if (!c->header) {
		printf("%-17s %-24.24s %-20.20s %-9s %8s %-19s %5s %7s\n", "DEVICE", "VENDOR", "HOSTNAME", "STATE",
		       "MATURITY", "LAST SEEN", "DESTS", "VERSION");
		c->header = true;
	}
	out_time(r->last_us, last, sizeof(last));
	printf("%-17s %-24.24s %-20.20s %-9s %8.3f %.19s %5u %7lld\n", r->device, vendor ? vendor : "-",
	       r->hostname ? r->hostname : "-", r->state, r->maturity, last, (unsigned)r->destinations,
	       (long long)r->version);
	return 0;
}

static int profile_list(struct store *s, const struct profile_opts *o)
{
	char err[512];
	struct list_ctx c = {.o = o, .oui = oui_load(OUI_DEFAULT_DIR, err, sizeof(err))};
	int code = store_list(s, list_row, &c, err, sizeof(err));
	oui_free(c.oui);
	if (code < 0) {
		fprintf(stderr, "iotids: %s\n", err);
		return store_exit(code);
	}
	return c.failed ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
}

/* Showing a profile raises nothing. */
static void no_alert(void *ctx, const struct det_alert *a)
{
	(void)ctx;
	(void)a;
}

static int profile_show(struct store *s, const struct profile_opts *o)
{
	char err[512], device[64], host[256];
	int rc = CLI_EXIT_RUNTIME, code;
	struct det_cfg dc = {.learn_min_us = 1, .learn_max_us = 1, .maturity_target = 1, .threshold = 1,
			     .max_devices = 1};
	struct detector *d = NULL;
	struct oui_db *oui = NULL;
	struct dpi *dpi = NULL;
	if ((code = store_find(s, o->device, device, sizeof(device), err, sizeof(err))) != 0) {
		rc = store_exit(code);
		goto out;
	}
	d = det_new(&dc, no_alert, NULL);
	if (!d) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	if ((code = store_load_one(s, d, device, host, sizeof(host), err, sizeof(err))) != 0) {
		rc = store_exit(code);
		goto out;
	}
	/* Vendors and protocol names are a nicety: without them, no names. */
	oui = oui_load(OUI_DEFAULT_DIR, err, sizeof(err));
	dpi = dpi_new(1, err, sizeof(err));
	struct out_ctx oc = {.oui = oui, .dpi = dpi};
	const struct det_profile *p = det_profile_next(d, NULL);
	if (o->json) {
		rc = out_profile_json(stdout, &oc, p, NULL, host[0] ? host : NULL) == 0 ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
	} else {
		out_profile_text(stdout, &oc, p, NULL, host[0] ? host : NULL);
		rc = CLI_EXIT_OK;
	}
	err[0] = '\0';
out:
	if (rc != CLI_EXIT_OK && err[0])
		fprintf(stderr, "iotids: %s\n", err);
	oui_free(oui);
	dpi_free(dpi);
	det_free(d);
	return rc;
}

struct history_ctx {
	const struct profile_opts *o;
	const char *device;
	int n;
	bool failed;
};

static int history_row(void *ctx, int64_t version, uint64_t ts_us, const char *reason)
{
	struct history_ctx *h = ctx;
	char t[40];
	out_time(ts_us, t, sizeof(t));
	if (h->o->json) {
		json_t *x = json_object();
		json_object_set_new(x, "device", json_string(h->device));
		json_object_set_new(x, "version", json_integer(version));
		json_object_set_new(x, "time", json_string(t));
		json_object_set_new(x, "reason", json_string(reason));
		if (json_dumpf(x, stdout, JSON_COMPACT) != 0 || fputc('\n', stdout) == EOF)
			h->failed = true;
		json_decref(x);
	} else {
		if (!h->n)
			printf("%-7s %-27s %s\n", "VERSION", "TIME", "REASON");
		printf("%7lld %-27s %s\n", (long long)version, t, reason);
	}
	h->n++;
	return 0;
}

static int profile_history(struct store *s, const struct profile_opts *o)
{
	char err[512], device[64];
	int code = store_find(s, o->device, device, sizeof(device), err, sizeof(err));
	struct history_ctx h = {.o = o, .device = device};
	if (code == 0)
		code = store_history(s, device, history_row, &h, err, sizeof(err));
	if (code != 0) {
		fprintf(stderr, "iotids: %s\n", err);
		return store_exit(code);
	}
	if (!h.n && !o->json)
		printf("%s: no version yet (the profile is still learning)\n", device);
	return h.failed ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
}

/* A request the store applies at once and a running detector at its next
 * checkpoint. */
static int request(struct store *s, const struct profile_opts *o, const char *op, const char *done)
{
	char err[512], device[64];
	int code = store_find(s, o->device, device, sizeof(device), err, sizeof(err));
	if (code == 0)
		code = store_request(s, device, op, o->reason, err, sizeof(err));
	if (code != 0) {
		fprintf(stderr, "iotids: %s\n", err);
		return store_exit(code);
	}
	printf("%s: %s\n", device, done);
	return CLI_EXIT_OK;
}

static int profile_relearn(struct store *s, const struct profile_opts *o)
{
	return request(s, o, "relearn", "learning again from its last event");
}

static int profile_forget(struct store *s, const struct profile_opts *o)
{
	return request(s, o, "forget", "profile and versions dropped");
}

int cmd_profile(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"reason", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct profile_opts o = {.db = CLI_DEFAULT_DB};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.db = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'r':
			o.reason = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "iotids profile: unknown or incomplete option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "iotids profile: which subcommand?\n");
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	const struct subcommand *sub = NULL;
	for (size_t i = 0; i < N_SUB; i++)
		if (!strcmp(argv[optind], subcommands[i].name))
			sub = &subcommands[i];
	if (!sub || argc - optind - 1 != sub->n_args) {
		fprintf(stderr, sub ? "iotids profile %s: expected%s\n" : "iotids profile: unknown subcommand '%s'\n",
			argv[optind], sub ? sub->args : "");
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (sub->n_args)
		o.device = argv[optind + 1];
	char err[512];
	int code;
	struct store *s = store_open(o.db, false, err, sizeof(err), &code);
	if (!s) {
		fprintf(stderr, "iotids: %s\n", err);
		return store_exit(code);
	}
	int rc = sub->run(s, &o);
	store_close(s);
	return rc;
}
