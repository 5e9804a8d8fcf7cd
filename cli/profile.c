/*
 * iotids profile — what the profile store holds, read while a detector may
 * be writing it (WAL: readers never wait for the writer).
 *
 * Subcommands sit in a table with their help, like the commands. A device
 * is named by its MAC (or address), its hostname, or a unique prefix of
 * either.
 *
 * What the store holds is shown as safe text (features/text.h): hostnames
 * and reasons were safe when written, but a store is a file anyone with
 * access may have changed, and a cut name must not lose its JSON field. In
 * the list, vendor and hostname are cells of their columns (text_cell: cut
 * with an ellipsis when longer).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "detector/store.h"
#include "features/text.h"

/* Holds a whole name (the name table's longest) and a ":port/transport"
 * after it: a diff's item, a stored hostname. */
#define ITEM_MAX 1100

struct profile_opts {
	const char *db;
	bool json;
	const char *args[3];  /* the positional arguments after the subcommand */
	int n_args;
	const char *reason;   /* relearn, forget, accept, rollback: kept in the audit log */
	const char *for_text; /* accept: --for as given */
	uint16_t port;        /* accept */
	uint8_t proto;
	uint64_t for_us;
};

struct subcommand {
	const char *name;
	int (*run)(struct store *s, const struct profile_opts *o);
	const char *args;    /* positional arguments, for usage */
	int min_args, max_args;
	const char *summary;
};

static int profile_list(struct store *s, const struct profile_opts *o);
static int profile_show(struct store *s, const struct profile_opts *o);
static int profile_history(struct store *s, const struct profile_opts *o);
static int profile_diff(struct store *s, const struct profile_opts *o);
static int profile_accept(struct store *s, const struct profile_opts *o);
static int profile_rollback(struct store *s, const struct profile_opts *o);
static int profile_relearn(struct store *s, const struct profile_opts *o);
static int profile_forget(struct store *s, const struct profile_opts *o);

static const struct subcommand subcommands[] = {
	{"list", profile_list, "", 0, 0,
	 "every device: vendor, hostname, state, maturity, last seen, destinations,\n"
	 "                   alerts kept, version"},
	{"show", profile_show, " DEVICE", 1, 1,
	 "one device's whole profile: destinations by registrable domain, peers,\n"
	 "                   services, accepted, baselines, hour-of-week activity, heartbeats"},
	{"history", profile_history, " DEVICE", 1, 1, "the versions of one device's profile: when, and why"},
	{"diff", profile_diff, " DEVICE [V1 [V2]]", 1, 3,
	 "what changed from version V1 (default: the newest) to V2 (default: the\n"
	 "                   profile as last written): destinations, peers, services and\n"
	 "                   accepted added or removed, baselines moved"},
	{"accept", profile_accept, " DEVICE DEST", 2, 2,
	 "DEST (a name, covering its subdomains, an address or a CIDR) is fine for\n"
	 "                   the device: no alert for it; a new version, audited"},
	{"rollback", profile_rollback, " DEVICE V", 2, 2,
	 "back to what version V learned and accepted; a new version, audited"},
	{"relearn", profile_relearn, " DEVICE", 1, 1,
	 "the device learns again from its last event, keeping what it learned\n"
	 "                   (a firmware update changed it); audited"},
	{"forget", profile_forget, " DEVICE", 1, 1,
	 "drop the device's profile and versions: it is learned anew when next\n"
	 "                   seen (and announced as new); audited"},
};
#define N_SUB (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *out)
{
	fputs("usage: iotids profile SUBCOMMAND [--db PATH] [--json] [ARGS]\n\n"
	      "Reads and changes the profiles a replay or run with --db keeps. A change\n"
	      "made while a detector runs on the store reaches it within seconds.\n\n",
	      out);
	for (size_t i = 0; i < N_SUB; i++) {
		char head[40];
		snprintf(head, sizeof(head), "%s%s", subcommands[i].name, subcommands[i].args);
		fprintf(out, "  %-16s %s\n", head, subcommands[i].summary);
	}
	fputs("  export-mud DEVICE [--url URL] [-o FILE]\n"
	      "                   the learned profile as an RFC 8520 MUD file (docs/mud.md)\n",
	      out);
	fputs("\n  --db PATH        the store (default " CLI_DEFAULT_DB ")\n"
	      "  --json           JSON lines instead of text\n"
	      "  --reason TEXT    why (accept, rollback, relearn, forget), kept in the audit log\n"
	      "  --port P[/T]     accept: only this port (and transport, tcp or udp)\n"
	      "  --for DURATION   accept: only this long (90s, 20m, 2h, 7d), from the device's\n"
	      "                   last event; without it, for good\n"
	      "  -h, --help       this help\n\n"
	      "DEVICE: a MAC (or the address of a device without one), a hostname, or a\n"
	      "unique prefix of either.\n\n"
	      "Exit status: 0 ok; 1 the store is missing, locked, damaged or newer, or the\n"
	      "request cannot be made (a bad destination, no such version); 2 usage;\n"
	      "3 no such device, or more than one matches.\n",
	      out);
}

int cli_store_exit(int code)
{
	return code == STORE_ERR_UNKNOWN || code == STORE_ERR_AMBIGUOUS ? CLI_EXIT_NO_DEVICE : CLI_EXIT_RUNTIME;
}

/* Bytes a table cell of w columns may need (see text_cell). */
#define CELL_BYTES(w) ((w) * 4 + 8)

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
		json_object_set_new(x, "device", out_json_text(r->device));
		json_object_set_new(x, "vendor", out_json_text(vendor));
		json_object_set_new(x, "hostname", out_json_text(r->hostname));
		json_object_set_new(x, "state", out_json_text(r->state));
		json_object_set_new(x, "maturity", json_real(round(r->maturity * 1000.0) / 1000.0));
		json_object_set_new(x, "first_seen", json_string(out_time(r->first_us, last, sizeof(last))));
		json_object_set_new(x, "last_seen", json_string(out_time(r->last_us, last, sizeof(last))));
		json_object_set_new(x, "destinations", json_integer(r->destinations));
		json_object_set_new(x, "version", json_integer(r->version));
		json_object_set_new(x, "alerts", json_integer((json_int_t)r->alerts));
		if (json_dumpf(x, stdout, JSON_COMPACT) != 0 || fputc('\n', stdout) == EOF)
			c->failed = true;
		json_decref(x);
		return 0;
	}
	if (!c->header) {
		printf("%-17s %-24.24s %-20.20s %-9s %8s %-19s %5s %6s %7s\n", "DEVICE", "VENDOR", "HOSTNAME", "STATE",
		       "MATURITY", "LAST SEEN", "DESTS", "ALERTS", "VERSION");
		c->header = true;
	}
	char dev[64], vend[CELL_BYTES(24)], host[CELL_BYTES(20)], state[CELL_BYTES(9)];
	out_time(r->last_us, last, sizeof(last));
	text_cell(vend, sizeof(vend), vendor ? vendor : "-", 24);
	text_cell(host, sizeof(host), r->hostname ? r->hostname : "-", 20);
	text_cell(state, sizeof(state), r->state, 9);
	/* A device's id is never cut: one known by an IPv6 address widens its row. */
	printf("%-17s %s %s %s %8.3f %.19s %5u %6llu %7lld\n", text_safe(dev, sizeof(dev), r->device), vend, host, state,
	       r->maturity, last, (unsigned)r->destinations, (unsigned long long)r->alerts, (long long)r->version);
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
		return cli_store_exit(code);
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
	char err[512], device[64], host[ITEM_MAX];
	int rc = CLI_EXIT_RUNTIME, code;
	struct det_cfg dc = {.learn_min_us = 1, .learn_max_us = 1, .maturity_target = 1, .threshold = 1,
			     .max_devices = 1};
	struct detector *d = NULL;
	struct oui_db *oui = NULL;
	struct dpi *dpi = NULL;
	if ((code = store_find(s, o->args[0], device, sizeof(device), err, sizeof(err))) != 0) {
		rc = cli_store_exit(code);
		goto out;
	}
	d = det_new(&dc, no_alert, NULL);
	if (!d) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	if ((code = store_load_one(s, d, device, host, sizeof(host), err, sizeof(err))) != 0) {
		rc = cli_store_exit(code);
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
		json_object_set_new(x, "device", out_json_text(h->device));
		json_object_set_new(x, "version", json_integer(version));
		json_object_set_new(x, "time", json_string(t));
		json_object_set_new(x, "reason", out_json_text(reason));
		if (json_dumpf(x, stdout, JSON_COMPACT) != 0 || fputc('\n', stdout) == EOF)
			h->failed = true;
		json_decref(x);
	} else {
		if (!h->n)
			printf("%-7s %-27s %s\n", "VERSION", "TIME", "REASON");
		char *safe = text_safe_dup(reason);
		printf("%7lld %-27s %s\n", (long long)version, t, safe ? safe : "");
		free(safe);
	}
	h->n++;
	return 0;
}

static int profile_history(struct store *s, const struct profile_opts *o)
{
	char err[512], device[64], safe[4 * sizeof(device)];
	int code = store_find(s, o->args[0], device, sizeof(device), err, sizeof(err));
	struct history_ctx h = {.o = o, .device = device};
	if (code == 0)
		code = store_history(s, device, history_row, &h, err, sizeof(err));
	if (code != 0) {
		fprintf(stderr, "iotids: %s\n", err);
		return cli_store_exit(code);
	}
	if (!h.n && !o->json)
		printf("%s: no version yet (the profile is still learning)\n", text_safe(safe, sizeof(safe), device));
	return h.failed ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
}

/* A version number: a positive integer. */
static bool parse_version(const char *text, int64_t *v)
{
	char *end;
	errno = 0;
	long long n = strtoll(text, &end, 10);
	if (errno || end == text || *end || n <= 0)
		return false;
	*v = n;
	return true;
}

/* ---- diff ---- */

/* One side of a diff: a version of the profile (0: as last written). */
struct side {
	struct detector *d;
	const struct det_profile *p;
	int64_t version;
	uint64_t ts_us;
	char reason[ITEM_MAX + DET_ACCEPT_REASON_MAX]; /* "accepted DEST...: " and the reason given */
};

enum section { SEC_DEST, SEC_PEER, SEC_SERVICE, SEC_ACCEPTED, SEC_COUNT };
static const char *const section_names[SEC_COUNT] = {"destinations", "lan_peers", "inbound_services", "accepted"};
static const char *const section_words[SEC_COUNT] = {"destination", "LAN peer", "inbound service", "accepted"};

/* The i-th item of a section as text, the key a diff compares; false past
 * the last. */
static bool section_item(const struct det_profile *p, enum section sec, uint32_t i, char *buf, size_t len)
{
	char pb[8], a[IP_STRLEN];
	struct det_dest_info di;
	struct det_peer_info pi;
	struct det_service_info si;
	struct det_accept_info ai;
	switch (sec) {
	case SEC_DEST:
		if (!det_profile_dest(p, i, &di))
			return false;
		snprintf(buf, len, "%s:%u/%s", di.dest, (unsigned)di.port, flow_proto_name(di.proto, pb, sizeof(pb)));
		return true;
	case SEC_PEER:
		if (!det_profile_peer(p, i, &pi))
			return false;
		snprintf(buf, len, "%s", ip_format(&pi.ip, a, sizeof(a)));
		return true;
	case SEC_SERVICE:
		if (!det_profile_service(p, i, &si))
			return false;
		snprintf(buf, len, "%u/%s", (unsigned)si.port, flow_proto_name(si.proto, pb, sizeof(pb)));
		return true;
	default:
		if (!det_profile_accepted(p, i, &ai))
			return false;
		out_accept_text(&ai, buf, len);
		return true;
	}
}

static bool section_has(const struct det_profile *p, enum section sec, const char *key)
{
	char item[ITEM_MAX];
	for (uint32_t i = 0; section_item(p, sec, i, item, sizeof(item)); i++)
		if (!strcmp(item, key))
			return true;
	return false;
}

/* A baseline moved when its median or 95th percentile (plus one) doubled
 * or halved: the log scale the detector judges by, where a window count
 * going from 1 to 2 is noise. */
static bool baseline_moved(const struct det_feature_info *a, const struct det_feature_info *b)
{
	if (!a->samples || !b->samples)
		return a->samples != b->samples;
	return fabs(log1p(b->median) - log1p(a->median)) >= log(2) || fabs(log1p(b->q95) - log1p(a->q95)) >= log(2);
}

static int load_side(struct store *s, const char *device, int64_t version, struct side *x, char *err, size_t errlen)
{
	struct det_cfg dc = {.learn_min_us = 1, .learn_max_us = 1, .maturity_target = 1, .threshold = 1,
			     .max_devices = 1};
	x->version = version;
	if (!(x->d = det_new(&dc, no_alert, NULL))) {
		snprintf(err, errlen, "out of memory");
		return STORE_ERR_IO;
	}
	int code = store_load_version(s, x->d, device, version, &x->ts_us, x->reason, sizeof(x->reason), err, errlen);
	x->p = det_profile_next(x->d, NULL);
	return code;
}

static json_t *side_json(const struct side *x)
{
	char t[40];
	json_t *o = json_object();
	json_object_set_new(o, "version", x->version ? json_integer(x->version) : json_null());
	json_object_set_new(o, "time", json_string(out_time(x->ts_us, t, sizeof(t))));
	json_object_set_new(o, "reason", out_json_text(x->reason));
	return o;
}

static void side_print(const struct side *x)
{
	char t[40];
	out_time(x->ts_us, t, sizeof(t));
	if (!x->version) {
		printf("the profile as last written (last event %.19s)", t);
		return;
	}
	char *safe = text_safe_dup(x->reason);
	printf("version %lld (%.19s, %s)", (long long)x->version, t, safe ? safe : "");
	free(safe);
}

static int diff_print(const struct profile_opts *o, const char *device, const struct side *a, const struct side *b)
{
	char item[ITEM_MAX], safe[ITEM_MAX];
	int changes = 0;
	json_t *j = o->json ? json_object() : NULL;
	if (j) {
		json_object_set_new(j, "device", out_json_text(device));
		json_object_set_new(j, "from", side_json(a));
		json_object_set_new(j, "to", side_json(b));
	} else {
		const char *dev = text_safe(safe, sizeof(safe), device);
		printf("%s: from ", dev);
		side_print(a);
		printf("\n%*sto ", (int)strlen(dev), "");
		side_print(b);
		putchar('\n');
	}
	for (int sec = 0; sec < SEC_COUNT; sec++) {
		json_t *added = json_array(), *removed = json_array();
		for (int dir = 0; dir < 2; dir++) {
			const struct det_profile *in = dir ? a->p : b->p, *other = dir ? b->p : a->p;
			for (uint32_t i = 0; section_item(in, (enum section)sec, i, item, sizeof(item)); i++) {
				if (section_has(other, (enum section)sec, item))
					continue;
				changes++;
				if (j)
					json_array_append_new(dir ? removed : added, out_json_text(item));
				else
					printf("  %c %-16s %s\n", dir ? '-' : '+', section_words[sec],
					       text_safe(safe, sizeof(safe), item));
			}
		}
		if (j) {
			json_t *x = json_object();
			json_object_set_new(x, "added", added);
			json_object_set_new(x, "removed", removed);
			json_object_set_new(j, section_names[sec], x);
		} else {
			json_decref(added);
			json_decref(removed);
		}
	}
	struct det_profile_info ia, ib;
	det_profile_info(a->p, &ia);
	det_profile_info(b->p, &ib);
	if (j)
		json_object_set_new(j, "state", json_pack("[s, s]", det_state_name(ia.state), det_state_name(ib.state)));
	if (ia.state != ib.state) {
		changes++;
		if (!j)
			printf("  ~ %-16s %s -> %s\n", "state", det_state_name(ia.state), det_state_name(ib.state));
	}
	json_t *moved = json_array();
	struct det_feature_info fa, fb;
	for (uint32_t i = 0; det_profile_feature(a->p, i, &fa) && det_profile_feature(b->p, i, &fb); i++) {
		if (!baseline_moved(&fa, &fb))
			continue;
		changes++;
		if (j) {
			json_t *x = json_object();
			json_object_set_new(x, "feature", json_string(fa.name));
			json_object_set_new(x, "median", json_pack("[f, f]", fa.median, fb.median));
			json_object_set_new(x, "q95", json_pack("[f, f]", fa.q95, fb.q95));
			json_object_set_new(x, "windows", json_pack("[i, i]", (int)fa.samples, (int)fb.samples));
			json_array_append_new(moved, x);
		} else {
			printf("  ~ %-16s %-16s median %.0f -> %.0f, 95th percentile %.0f -> %.0f\n", "baseline", fa.name,
			       fa.median, fb.median, fa.q95, fb.q95);
		}
	}
	if (!j) {
		json_decref(moved);
		if (!changes)
			printf("  no change\n");
		return CLI_EXIT_OK;
	}
	json_object_set_new(j, "baselines_moved", moved);
	int rc = json_dumpf(j, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6)) == 0 && fputc('\n', stdout) != EOF;
	json_decref(j);
	return rc ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
}

static int newest_version(void *ctx, int64_t version, uint64_t ts_us, const char *reason)
{
	(void)ts_us;
	(void)reason;
	*(int64_t *)ctx = version;
	return 0;
}

static int profile_diff(struct store *s, const struct profile_opts *o)
{
	char err[512], device[64];
	struct side a = {0}, b = {0};
	int64_t v[2] = {0, 0};
	int rc = CLI_EXIT_RUNTIME, code;
	for (int i = 1; i < o->n_args; i++)
		if (!parse_version(o->args[i], &v[i - 1])) {
			fprintf(stderr, "iotids profile diff: '%s' is not a version (see profile history)\n", o->args[i]);
			return CLI_EXIT_USAGE;
		}
	if ((code = store_find(s, o->args[0], device, sizeof(device), err, sizeof(err))) != 0)
		goto out;
	if (!v[0] && (code = store_history(s, device, newest_version, &v[0], err, sizeof(err))) != 0)
		goto out;
	if (!v[0]) {
		snprintf(err, sizeof(err), "%s has no version yet (it is still learning)", device);
		code = STORE_ERR_REQUEST;
		goto out;
	}
	if ((code = load_side(s, device, v[0], &a, err, sizeof(err))) != 0 ||
	    (code = load_side(s, device, v[1], &b, err, sizeof(err))) != 0)
		goto out;
	rc = diff_print(o, device, &a, &b);
out:
	if (code) {
		fprintf(stderr, "iotids: %s\n", err);
		rc = cli_store_exit(code);
	}
	det_free(a.d);
	det_free(b.d);
	return rc;
}

/* A request the store applies at once and a running detector within
 * seconds. */
static int request(struct store *s, const struct profile_opts *o, struct store_req *req, const char *done)
{
	char err[512], device[64];
	int code = store_find(s, o->args[0], device, sizeof(device), err, sizeof(err));
	req->reason = o->reason;
	if (code == 0)
		code = store_request(s, device, req, err, sizeof(err));
	if (code != 0) {
		fprintf(stderr, "iotids: %s\n", err);
		return cli_store_exit(code);
	}
	char safe[4 * sizeof(device)];
	printf("%s: %s\n", text_safe(safe, sizeof(safe), device), done);
	return CLI_EXIT_OK;
}

static int profile_relearn(struct store *s, const struct profile_opts *o)
{
	return request(s, o, &(struct store_req){.op = "relearn"}, "learning again from its last event");
}

static int profile_forget(struct store *s, const struct profile_opts *o)
{
	return request(s, o, &(struct store_req){.op = "forget"}, "profile and versions dropped");
}

static int profile_accept(struct store *s, const struct profile_opts *o)
{
	struct store_req req = {.op = "accept", .dest = o->args[1], .port = o->port, .proto = o->proto,
				.for_us = o->for_us};
	char done[400];
	snprintf(done, sizeof(done), "%s accepted%s%s (a new version)", o->args[1], o->for_us ? " for " : " for good",
		 o->for_us ? o->for_text : "");
	return request(s, o, &req, done);
}

static int profile_rollback(struct store *s, const struct profile_opts *o)
{
	struct store_req req = {.op = "rollback"};
	if (!parse_version(o->args[1], &req.version)) {
		fprintf(stderr, "iotids profile rollback: '%s' is not a version (see profile history)\n", o->args[1]);
		return CLI_EXIT_USAGE;
	}
	char done[64];
	snprintf(done, sizeof(done), "rolled back to version %lld, in a new version", (long long)req.version);
	return request(s, o, &req, done);
}

/* --port 443, 443/tcp, 53/udp. */
static bool parse_port(const char *text, uint16_t *port, uint8_t *proto)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(text, &end, 10);
	if (errno || end == text || n == 0 || n > 65535)
		return false;
	*port = (uint16_t)n;
	*proto = 0;
	if (!strcmp(end, "/tcp"))
		*proto = 6;
	else if (!strcmp(end, "/udp"))
		*proto = 17;
	else if (*end)
		return false;
	return true;
}

int cmd_profile(int argc, char **argv)
{
	/* Its own options (--url, -o): a command of its own. */
	if (argc > 1 && !strcmp(argv[1], "export-mud"))
		return cli_profile_export_mud(argc - 1, argv + 1);
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"reason", required_argument, NULL, 'r'},
		{"port", required_argument, NULL, 'p'},
		{"for", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct profile_opts o = {.db = CLI_DEFAULT_DB};
	bool accept_opts = false;
	int c;
	uint64_t sec;
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
		case 'p':
			if (!parse_port(optarg, &o.port, &o.proto)) {
				fprintf(stderr, "iotids profile: --port '%s': want a port, 1 to 65535, optionally /tcp or /udp\n",
					optarg);
				return CLI_EXIT_USAGE;
			}
			accept_opts = true;
			break;
		case 'f':
			if (cfg_parse_duration(optarg, &sec) != 0 || sec == 0) {
				fprintf(stderr, "iotids profile: --for '%s': want a duration such as 90s, 20m, 2h or 7d\n",
					optarg);
				return CLI_EXIT_USAGE;
			}
			o.for_us = sec * 1000000ull;
			o.for_text = optarg;
			accept_opts = true;
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
	o.n_args = argc - optind - 1;
	if (!sub || o.n_args < sub->min_args || o.n_args > sub->max_args) {
		fprintf(stderr, sub ? "iotids profile %s: expected%s\n" : "iotids profile: unknown subcommand '%s'\n",
			argv[optind], sub ? sub->args : "");
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (accept_opts && sub->run != profile_accept) {
		fprintf(stderr, "iotids profile %s: --port and --for are for accept\n", sub->name);
		return CLI_EXIT_USAGE;
	}
	for (int i = 0; i < o.n_args; i++)
		o.args[i] = argv[optind + 1 + i];
	char err[512];
	int code;
	struct store *s = store_open(o.db, false, err, sizeof(err), &code);
	if (!s) {
		fprintf(stderr, "iotids: %s\n", err);
		return cli_store_exit(code);
	}
	int rc = sub->run(s, &o);
	store_close(s);
	return rc;
}
