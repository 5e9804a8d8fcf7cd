/*
 * iotgen — synthetic traffic for iotids: dispatches to one generator per
 * subcommand. Exit statuses: 0 ok, 1 runtime error, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "pcaps/gen/alertstorm.h"
#include "pcaps/gen/bulkupload.h"
#include "pcaps/gen/cli.h"
#include "pcaps/gen/garbage.h"
#include "pcaps/gen/home.h"
#include "pcaps/gen/malformed.h"
#include "pcaps/gen/hostile.h"
#include "pcaps/gen/mix.h"
#include "pcaps/gen/noise.h"
#include "pcaps/gen/scenario.h"
#include "pcaps/gen/synflood.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *what;
} cmds[] = {
	{"home", gen_home_main, "a smart-home LAN as seen on the router's LAN bridge"},
	{"scenario", gen_scenario_main, "the home with one labelled attack or surprise (--list)"},
	{"demo", gen_demo_main, "three hours of the home, the last with attacks (the bundled demo)"},
	{"mix", gen_mix_main, "benchmark capture of a busy IoT gateway (~50 devices)"},
	{"alertstorm", gen_alertstorm_main, "~400 devices that, once learned, raise many alerts (benchmark)"},
	{"bulkupload", gen_bulkupload_main, "security cameras uploading video to their cloud (benchmark)"},
	{"synflood", gen_synflood_main, "64-byte TCP SYN flood toward one LAN host"},
	{"hostile", gen_hostile_main, "the demo home under a spoofing, DNS-answer or names flood (--attack)"},
	{"noise", gen_noise_main, "records of random bytes"},
	{"garbage", gen_garbage_main, "malformed packets (see its --help)"},
	{"malformed", gen_malformed_main, "the malformed-capture corpus (pcaps/malformed) into a directory"},
};

static void usage(FILE *f)
{
	fputs("usage: iotgen COMMAND [OPTIONS]   (iotgen COMMAND --help for details)\n\n", f);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].what);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "iotgen: unknown command '%s' (see iotgen --help)\n", argv[1]);
	return CLI_USAGE;
}
