/*
 * iotids — entry point: a table of subcommands, so that dispatch and
 * --help cannot drift apart.
 */
#include <jansson.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "cli/cli.h"

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"replay", cmd_replay, "run a capture file through iotids and report"},
	{"run", cmd_run, "watch a LAN interface live (libpcap), in the foreground"},
	{"profile", cmd_profile, "the stored profiles: list, show, history, diff, accept, rollback, relearn, forget"},
	{"alerts", cmd_alerts, "the stored alerts: list"},
	{"rules", cmd_rules, "rules files: check, reload, import-mud"},
	{"version", cmd_version, "print the version of iotids and its libraries"},
	{"help", cmd_help, "this help"},
};

static void usage(FILE *out)
{
	fputs("usage: iotids COMMAND [options]\n\n"
	      "iotids watches every device on a LAN, learns what each normally does and\n"
	      "raises an alert when a device does something it never did.\n\n"
	      "commands:\n",
	      out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'iotids COMMAND --help' describes a command.\n"
	      "Exit status: 0 ok, 1 runtime error, 2 usage error.\n",
	      out);
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return CLI_EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("iotids %s\n%s\njansson %s\nlibyaml %s\n", IOTIDS_VERSION, pcap_lib_version(), jansson_version_str(),
	       yaml_get_version_string());
	return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(argc, argv);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(argc, argv);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "iotids: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
