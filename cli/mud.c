/*
 * iotids rules import-mud, iotids profile export-mud — RFC 8520 MUD files
 * in and out (rules/mud.h, docs/mud.md).
 *
 * Both are dispatched from their command's table with argv[0] the
 * subcommand's name; options may come before or after the operand:
 *
 *   int cli_rules_import_mud(int argc, char **argv);
 *       iotids rules import-mud FILE.json --device SEL [-o FILE]
 *       The rules file on stdout or in FILE (written whole or not at all),
 *       each construct no rule says on stderr as "FILE.json: PATH: message".
 *       Exit: 0 written (even with reports), 1 invalid MUD or I/O error,
 *       2 usage (a bad selector too).
 *
 *   int cli_profile_export_mud(int argc, char **argv);
 *       iotids profile export-mud DEVICE [--db PATH] [--url URL] [-o FILE]
 *       The device's stored profile as a MUD file, as `profile show` finds
 *       and loads it. Exit: 0; 1 the store is missing, locked, damaged or
 *       newer, or an I/O error; 2 usage (a bad URL too); 3 no such device,
 *       or more than one matches (cli_store_exit).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "detector/store.h"
#include "rules/mud.h"

#define MUD_URL_DEFAULT "https://mud.invalid/iotids/%s.json"

/* Writes text (and a newline when nl) to stdout, or to path through
 * path.tmp and a rename, so a reader never sees half a file. 0, or -1
 * with the reason on stderr. */
static int write_text(const char *path, const char *text, bool nl)
{
	char tmp[4096];
	FILE *f = stdout;
	int rc = -1;
	if (path) {
		if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
			fprintf(stderr, "iotids: %s: path too long\n", path);
			return -1;
		}
		if (!(f = fopen(tmp, "w"))) {
			fprintf(stderr, "iotids: %s: %s\n", tmp, strerror(errno));
			return -1;
		}
	}
	if (fputs(text, f) == EOF || (nl && fputc('\n', f) == EOF) || fflush(f) == EOF ||
	    (path && fsync(fileno(f)) != 0)) {
		fprintf(stderr, "iotids: %s: %s\n", path ? tmp : "stdout", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (path) {
		if (fclose(f) != 0 && rc == 0) {
			fprintf(stderr, "iotids: %s: %s\n", tmp, strerror(errno));
			rc = -1;
		}
		if (rc == 0 && rename(tmp, path) != 0) {
			fprintf(stderr, "iotids: %s: %s\n", path, strerror(errno));
			rc = -1;
		}
		if (rc != 0)
			unlink(tmp);
	}
	return rc;
}

/* The whole file, at most MUD_MAX_BYTES (one more byte read says it is
 * larger). 0, or -1 with the reason in err. */
static int read_bounded(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	int rc = -1;
	size_t cap = 0, n = 0;
	char *b = NULL;
	for (;;) {
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 16384;
			if (ncap > MUD_MAX_BYTES + 1)
				ncap = MUD_MAX_BYTES + 1;
			char *nb = realloc(b, ncap);
			if (!nb) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			b = nb;
			cap = ncap;
		}
		size_t got = fread(b + n, 1, cap - n, f);
		n += got;
		if (n > MUD_MAX_BYTES) {
			snprintf(err, errlen, "larger than %u bytes: not a MUD file", MUD_MAX_BYTES);
			goto out;
		}
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto out;
	}
	*buf = b;
	*len = n;
	b = NULL;
	rc = 0;
out:
	free(b);
	fclose(f);
	return rc;
}

static void import_usage(FILE *out)
{
	fputs("usage: iotids rules import-mud FILE.json --device SEL [-o FILE]\n\n"
	      "Turns an RFC 8520 MUD file into a rules file (docs/rules.md): one exception\n"
	      "per accepted ACE, for the devices SEL names. Every construct no rule can say\n"
	      "exactly is reported on stderr as FILE.json: PATH: message, and makes no rule.\n\n"
	      "  --device SEL   all, or KEY=VALUE with KEY one of mac, oui, vendor, hostname,\n"
	      "                 kind: mac=aa:bb:cc:dd:ee:ff, vendor='Tuya*'\n"
	      "  -o FILE        write FILE (whole, through FILE.tmp) instead of stdout\n"
	      "  -h, --help     this help\n\n"
	      "Exit status: 0 written (even with constructs reported); 1 the MUD file is\n"
	      "invalid or cannot be read, or the output cannot be written; 2 usage.\n",
	      out);
}

static void print_report(void *ctx, const char *path, const char *msg)
{
	fprintf(stderr, "%s: %s: %s\n", (const char *)ctx, path, msg);
}

int cli_rules_import_mud(int argc, char **argv)
{
	static const struct option opts[] = {
		{"device", required_argument, NULL, 'd'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *device = NULL, *output = NULL;
	char err[1024], *json = NULL, *yaml = NULL;
	size_t len = 0;
	int c, rc = CLI_EXIT_RUNTIME;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			import_usage(stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "iotids rules import-mud: unknown or incomplete option '%s'\n", argv[optind - 1]);
			import_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !device) {
		fprintf(stderr, "iotids rules import-mud: %s\n",
			!device ? "which devices? (--device all, or --device KEY=VALUE)" : "one MUD file, please");
		import_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	const char *file = argv[optind];
	if (read_bounded(file, &json, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", file, err);
		goto out;
	}
	int code = mud_import(json, len, device, &yaml, print_report, (void *)file, err, sizeof(err));
	if (code == MUD_ERR_USAGE) {
		fprintf(stderr, "iotids rules import-mud: %s\n", err);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (code != 0) {
		fprintf(stderr, "%s: %s\n", file, err);
		goto out;
	}
	if (write_text(output, yaml, false) != 0)
		goto out;
	rc = CLI_EXIT_OK;
out:
	free(json);
	free(yaml);
	return rc;
}

static void export_usage(FILE *out)
{
	fputs("usage: iotids profile export-mud DEVICE [--db PATH] [--url URL] [-o FILE]\n\n"
	      "Writes a device's learned profile as an RFC 8520 MUD file to review: its\n"
	      "destinations, LAN peers, services and accepted destinations as ACLs, dated\n"
	      "by its last event.\n\n"
	      "  --db PATH      the store (default " CLI_DEFAULT_DB ")\n"
	      "  --url URL      the file's mud-url, an https URL (default\n"
	      "                 https://mud.invalid/iotids/<MAC without colons>.json)\n"
	      "  -o FILE        write FILE (whole, through FILE.tmp) instead of stdout\n"
	      "  -h, --help     this help\n\n"
	      "DEVICE: a MAC (or the address of a device without one), a hostname, or a\n"
	      "unique prefix of either.\n\n"
	      "Exit status: 0 ok; 1 the store is missing, locked, damaged or newer, or the\n"
	      "output cannot be written; 2 usage; 3 no such device, or more than one matches.\n",
	      out);
}

/* Exporting raises nothing. */
static void no_alert(void *ctx, const struct det_alert *a)
{
	(void)ctx;
	(void)a;
}

int cli_profile_export_mud(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"url", required_argument, NULL, 'u'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = CLI_DEFAULT_DB, *url = NULL, *output = NULL;
	char err[1024], device[64], host[INTERN_MAX_LEN + 1], urlbuf[128], sysinfo[128], *json = NULL;
	struct det_cfg dc = {.learn_min_us = 1, .learn_max_us = 1, .maturity_target = 1, .threshold = 1,
			     .max_devices = 1};
	struct store *s = NULL;
	struct detector *d = NULL;
	int c, code, rc = CLI_EXIT_RUNTIME;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			export_usage(stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "iotids profile export-mud: unknown or incomplete option '%s'\n", argv[optind - 1]);
			export_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "iotids profile export-mud: expected DEVICE\n");
		export_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!(s = store_open(db, false, err, sizeof(err), &code)) ||
	    (code = store_find(s, argv[optind], device, sizeof(device), err, sizeof(err))) != 0) {
		rc = cli_store_exit(code);
		goto fail;
	}
	if (!(d = det_new(&dc, no_alert, NULL))) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	if ((code = store_load_one(s, d, device, host, sizeof(host), err, sizeof(err))) != 0) {
		rc = cli_store_exit(code);
		goto fail;
	}
	const struct det_profile *p = det_profile_next(d, NULL);
	if (!p) {
		snprintf(err, sizeof(err), "%s: no profile stored", device);
		goto fail;
	}
	if (!url) {
		/* The device as a file name: a MAC without colons, an address with '-'. */
		struct det_profile_info info;
		char name[64];
		size_t n = 0;
		det_profile_info(p, &info);
		for (const char *ch = device; *ch && n + 1 < sizeof(name); ch++)
			if (*ch != ':' || !info.has_mac)
				name[n++] = *ch == ':' ? '-' : *ch;
		name[n] = '\0';
		snprintf(urlbuf, sizeof(urlbuf), MUD_URL_DEFAULT, name);
		url = urlbuf;
	}
	/* The name it goes by, when it fits RFC 8520's 60 characters. */
	int sl = snprintf(sysinfo, sizeof(sysinfo), "iotids profile of %s", host);
	code = mud_export(p, url, host[0] && sl <= MUD_SYSTEMINFO_MAX ? sysinfo : NULL, &json, err, sizeof(err));
	if (code == MUD_ERR_USAGE) {
		fprintf(stderr, "iotids profile export-mud: %s\n", err);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (code != 0)
		goto fail;
	if (write_text(output, json, true) == 0)
		rc = CLI_EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "iotids: %s\n", err);
out:
	free(json);
	det_free(d);
	store_close(s);
	return rc;
}
