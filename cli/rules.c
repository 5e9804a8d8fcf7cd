/*
 * rules — `iotids rules check|reload|import-mud`: the rules files a
 * person writes (docs/rules.md), checked without running anything, and
 * reloaded in a running iotids.
 *
 * An error quotes what the file says (a YAML string may hold any byte
 * through its escapes) and names files a directory holds: each message is
 * printed as safe text (features/text.h), so a rules file cannot write
 * control sequences to the terminal that checks it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "detector/store.h"
#include "features/text.h"
#include "rules/rules.h"

static void rules_usage(FILE *out)
{
	fputs("usage: iotids rules check PATH\n"
	      "       iotids rules reload [--db PATH | --pid PID]\n"
	      "       iotids rules import-mud FILE.json --device SELECTOR [-o FILE]\n\n"
	      "check       validate a rules file, or every *.yaml/*.yml of a directory, and\n"
	      "            print every error as FILE:LINE:COLUMN: message\n"
	      "reload      make the running iotids reload its rules (SIGHUP): the one that\n"
	      "            has the store open (--db, default " CLI_DEFAULT_DB "),\n"
	      "            or the process --pid names; it checks the files first and keeps\n"
	      "            the rules in force if they have an error, saying why in its log\n"
	      "import-mud  turn an RFC 8520 MUD file into rules for the devices SELECTOR\n"
	      "            names (all, mac=…, oui=…, vendor=…, hostname=…, kind=…)\n\n"
	      "Exit status: 0 ok; 1 the rules have errors, or no iotids to reload; 2 usage.\n",
	      out);
}

static void print_error(void *ctx, const char *msg)
{
	unsigned *n = ctx;
	(*n)++;
	char *safe = text_safe_dup(msg);
	fprintf(stderr, "%s\n", safe ? safe : "(a message not shown: out of memory)");
	free(safe);
}

static int rules_check(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		rules_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	unsigned errors = 0;
	struct rules *rs = rules_load(argv[1], print_error, &errors);
	if (!rs) {
		fprintf(stderr, "iotids rules check: %s: %u error%s\n", argv[1], errors, errors == 1 ? "" : "s");
		return CLI_EXIT_RUNTIME;
	}
	size_t nu, ne;
	rules_count(rs, &nu, &ne);
	printf("%s: ok, %zu update rule%s and %zu exception%s\n", argv[1], nu, nu == 1 ? "" : "s", ne,
	       ne == 1 ? "" : "s");
	rules_free(rs);
	return CLI_EXIT_OK;
}

/* Whether pid is an iotids process: a stale pid must not get a signal. */
static bool is_iotids(long pid)
{
	char path[64], comm[64] = "";
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool ok = fgets(comm, sizeof(comm), f) != NULL;
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return ok && !strcmp(comm, "iotids");
}

static int rules_reload(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"pid", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *pid_text = NULL;
	char buf[32], err[512];
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'd') {
			db = optarg;
		} else if (c == 'p') {
			pid_text = optarg;
		} else if (c == 'h') {
			rules_usage(stdout);
			return CLI_EXIT_OK;
		} else {
			rules_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc || (db && pid_text)) {
		rules_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!pid_text) {
		int code, found;
		struct store *s = store_open(db ? db : CLI_DEFAULT_DB, false, err, sizeof(err), &code);
		if (!s) {
			fprintf(stderr, "iotids: %s\n", err);
			return CLI_EXIT_RUNTIME;
		}
		found = store_meta_get(s, "detector_pid", buf, sizeof(buf), err, sizeof(err));
		store_close(s);
		if (found < 0) {
			fprintf(stderr, "iotids: %s\n", err);
			return CLI_EXIT_RUNTIME;
		}
		if (found == 0) {
			fprintf(stderr, "iotids rules reload: no iotids has %s open\n", db ? db : CLI_DEFAULT_DB);
			return CLI_EXIT_RUNTIME;
		}
		pid_text = buf;
	}
	char *end;
	errno = 0;
	long pid = strtol(pid_text, &end, 10);
	if (errno || end == pid_text || *end || pid < 1) {
		fprintf(stderr, "iotids rules reload: '%s' is not a process id\n", pid_text);
		return CLI_EXIT_USAGE;
	}
	if (!is_iotids(pid)) {
		fprintf(stderr, "iotids rules reload: process %ld is not a running iotids\n", pid);
		return CLI_EXIT_RUNTIME;
	}
	if (kill((pid_t)pid, SIGHUP) != 0) {
		fprintf(stderr, "iotids rules reload: cannot signal process %ld: %s\n", pid, strerror(errno));
		return CLI_EXIT_RUNTIME;
	}
	printf("sent SIGHUP to iotids (pid %ld): it reloads its rules before its next packet and logs the outcome\n",
	       pid);
	return CLI_EXIT_OK;
}

struct rules_sub {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct rules_sub subs[] = {
	{"check", rules_check},
	{"reload", rules_reload},
	{"import-mud", cli_rules_import_mud},
};

int cmd_rules(int argc, char **argv)
{
	if (argc < 2) {
		rules_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		rules_usage(stdout);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].run(argc - 1, argv + 1);
	fprintf(stderr, "iotids rules: unknown command '%s'\n\n", argv[1]);
	rules_usage(stderr);
	return CLI_EXIT_USAGE;
}
