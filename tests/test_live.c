/*
 * iotids run on a live interface. Each test makes its own two network
 * namespaces joined by a veth pair (both ends inside them, never the root
 * namespace), replays the demo from one with tcpreplay and watches the other;
 * the namespaces are deleted at the end, failed or not. Needs root (CI runs
 * as root); without it the tests say so and are skipped.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/genrun.h"

#define DEMO "pcaps/demo.pcap"

static char ns_a[32], ns_b[32];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void setup(void)
{
	genrun_setup();
	snprintf(ns_a, sizeof(ns_a), "iotids-%d-a", (int)getpid());
	snprintf(ns_b, sizeof(ns_b), "iotids-%d-b", (int)getpid());
	/* A test killed by its timeout runs no fini: its namespaces go here. */
	if (geteuid() == 0)
		sh("for n in $(ip netns list | sed -n 's/^\\(iotids-\\([0-9]*\\)-[ab]\\).*/\\1 \\2/p' | tr ' ' :); do "
		   "kill -0 ${n#*:} 2>/dev/null || ip netns del ${n%%:*}; done");
}

static void teardown(void)
{
	sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", ns_a, ns_b);
	genrun_teardown();
}

TestSuite(live, .init = setup, .fini = teardown, .timeout = 300);

static bool can_make_namespaces(void)
{
	if (geteuid() != 0) {
		cr_log_warn("not root: live capture tests skipped");
		return false;
	}
	return true;
}

/* Two namespaces, veth a <-> b, both up unless told otherwise. */
static void make_pair(bool b_up)
{
	cr_assert_eq(sh("ip netns add %s && ip netns add %s", ns_a, ns_b), 0);
	/* Quiet ends: their own IPv6 (router and neighbour solicitations,
	 * MLD) would be traffic the demo does not have, at times of its own. */
	cr_assert_eq(sh("for n in %s %s; do ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
			"net.ipv6.conf.default.disable_ipv6=1 || exit 1; done",
			ns_a, ns_b),
		     0);
	cr_assert_eq(sh("ip link add va netns %s type veth peer name vb netns %s", ns_a, ns_b), 0);
	cr_assert_eq(sh("ip -n %s link set va up && ip -n %s link set lo up", ns_a, ns_a), 0);
	if (b_up)
		cr_assert_eq(sh("ip -n %s link set vb up", ns_b), 0);
}

/* Starts "ip netns exec NS argv..." with stdout and stderr to files. */
static pid_t spawn_in(const char *ns, const char *out, const char *err, const char *const argv[])
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600), e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0 || dup2(o, STDOUT_FILENO) < 0 || dup2(e, STDERR_FILENO) < 0)
			_exit(99);
		const char *args[32] = {"ip", "netns", "exec", ns};
		int n = 4;
		for (int i = 0; argv[i] && n < 31; i++)
			args[n++] = argv[i];
		args[n] = NULL;
		execvp("ip", (char *const *)args);
		_exit(98);
	}
	return pid;
}

static int stop(pid_t pid)
{
	int st;
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* mac -> the device JSON without its times, from --devices --json lines. */
static json_t *device_view(const char *file)
{
	static const char *const keep[] = {"ips", "packets_out", "packets_in", "bytes_out", "bytes_in", "flows_out",
					   "flows_in", "vendor", "hostname", "kind", "names"};
	char *text = genrun_slurp(file, NULL);
	cr_assert_not_null(text, "%s", file);
	json_t *all = json_object();
	for (char *line = text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		json_t *o = json_loads(line, 0, NULL);
		if (o && !strcmp(json_string_value(json_object_get(o, "type")) ?: "", "device")) {
			json_t *v = json_object();
			for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
				json_object_set(v, keep[i], json_object_get(o, keep[i]));
			json_object_set_new(all, json_string_value(json_object_get(o, "mac")), v);
		}
		json_decref(o);
	}
	free(text);
	return all;
}

/* Each alert as "kind device about", sorted. */
static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static json_t *alert_view(const char *file)
{
	char *text = genrun_slurp(file, NULL);
	cr_assert_not_null(text, "%s", file);
	char *keys[4096];
	size_t n = 0;
	for (char *line = text, *nl; *line && n < 4096; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		json_t *o = json_loads(line, 0, NULL);
		cr_assert_not_null(o);
		char k[600];
		snprintf(k, sizeof(k), "%s %s %s", json_string_value(json_object_get(o, "kind")),
			 json_string_value(json_object_get(json_object_get(o, "device"), "mac")),
			 json_string_value(json_object_get(o, "about")));
		keys[n++] = strdup(k);
		json_decref(o);
	}
	free(text);
	qsort(keys, n, sizeof(keys[0]), cmp_str);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(a, json_string(keys[i]));
		free(keys[i]);
	}
	return a;
}

Test(live, a_live_run_sees_what_a_replay_of_the_same_packets_sees)
{
	if (!can_make_namespaces())
		return;
	make_pair(true);
	const char *bin = getenv("IOTIDS_BIN");
	cr_assert_not_null(bin);
	char cap[160], alerts[160], dump_out[160], dump_err[160], run_out[160], run_err[160];
	snprintf(cap, sizeof(cap), "%s", genrun_path("seen.pcap"));
	snprintf(alerts, sizeof(alerts), "%s", genrun_path("live.json"));
	snprintf(dump_out, sizeof(dump_out), "%s", genrun_path("dump.out"));
	snprintf(dump_err, sizeof(dump_err), "%s", genrun_path("dump.err"));
	snprintf(run_out, sizeof(run_out), "%s", genrun_path("run.out"));
	snprintf(run_err, sizeof(run_err), "%s", genrun_path("run.err"));
	/* tcpdump keeps what the kernel handed over, with the same timestamps. */
	const char *dump[] = {"tcpdump", "-i", "vb", "-s", "0", "-U", "-w", cap, NULL};
	pid_t dpid = spawn_in(ns_b, dump_out, dump_err, dump);
	const char *run[] = {bin, "run", "-i", "vb", "--learn-for", "2s", "--alerts", alerts, "--devices", "--json",
		       "--stats-every", "0", NULL};
	pid_t rpid = spawn_in(ns_b, run_out, run_err, run);
	cr_assert(genrun_wait_for_text(dump_err, "listening on vb"), "tcpdump did not start");
	cr_assert(genrun_wait_for_text(run_err, "watching vb"), "iotids did not start: %s", genrun_slurp(run_err, NULL));
	/* 4 s of the demo at a pace both keep up with: the same packets for both. */
	cr_assert_eq(sh("ip netns exec %s tcpreplay -q -i va --pps 5000 %s >%s 2>&1", ns_a, DEMO, genrun_path("tcpreplay.out")),
		     0, "%s", genrun_slurp(genrun_path("tcpreplay.out"), NULL));
	/* Every packet is in the kernel's hands once tcpdump has written them
	 * all (whole packets: its file is then the demo's size). */
	struct stat demo_st, seen_st;
	cr_assert_eq(stat(DEMO, &demo_st), 0);
	for (int i = 0; i < 3000 && !(stat(cap, &seen_st) == 0 && seen_st.st_size == demo_st.st_size); i++)
		nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
	cr_assert_eq(seen_st.st_size, demo_st.st_size, "tcpdump did not get every packet");
	cr_expect_eq(stop(rpid), 0, "SIGTERM stops iotids run cleanly: %s", genrun_slurp(run_err, NULL));
	cr_assert_eq(kill(dpid, SIGINT), 0);
	cr_assert_eq(waitpid(dpid, NULL, 0), dpid);
	char *err = genrun_slurp(run_err, NULL);
	cr_expect(strstr(err, "signal 15: stopping") != NULL, "%s", err);
	cr_expect(strstr(err, "kernel drops 0 ") != NULL, "%s", err);
	free(err);

	char args[1024];
	snprintf(args, sizeof(args), "TZ=UTC '%s' replay --learn-for 2s --alerts '%s' --devices --json '%s' >'%s' 2>&1",
		 bin, genrun_path("replay.json"), cap, genrun_path("replay.out"));
	cr_assert_eq(sh("%s", args), 0, "%s", genrun_slurp(genrun_path("replay.out"), NULL));
	/* The same devices, counts, names and alerts. Timestamps may differ by
	 * microseconds: each packet socket stamps a packet itself when nothing
	 * on the machine asked the kernel to stamp on receipt, so the times in
	 * the JSON (and alert ids, which include them) are left out. */
	json_t *live_dev = device_view(run_out), *replay_dev = device_view(genrun_path("replay.out"));
	cr_expect_geq(json_object_size(live_dev), 9, "the demo's devices");
	char *a = json_dumps(live_dev, JSON_SORT_KEYS), *b = json_dumps(replay_dev, JSON_SORT_KEYS);
	cr_expect_str_eq(a, b);
	free(a);
	free(b);
	json_t *live_alerts = alert_view(alerts), *replay_alerts = alert_view(genrun_path("replay.json"));
	cr_expect_gt(json_array_size(live_alerts), 0);
	a = json_dumps(live_alerts, 0);
	b = json_dumps(replay_alerts, 0);
	cr_expect_str_eq(a, b);
	free(a);
	free(b);
	json_decref(live_dev);
	json_decref(replay_dev);
	json_decref(live_alerts);
	json_decref(replay_alerts);
}

Test(live, a_missing_interface_is_refused_clearly)
{
	if (!can_make_namespaces())
		return;
	make_pair(true);
	const char *run[] = {getenv("IOTIDS_BIN"), "run", "-i", "nosuch0", NULL};
	pid_t pid = spawn_in(ns_b, genrun_path("out"), genrun_path("err"), run);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	char *err = genrun_slurp(genrun_path("err"), NULL);
	cr_expect(strstr(err, "iotids: nosuch0: no such network interface") != NULL, "%s", err);
	free(err);
}

Test(live, an_interface_that_is_down_is_refused_clearly)
{
	if (!can_make_namespaces())
		return;
	make_pair(false);
	const char *run[] = {getenv("IOTIDS_BIN"), "run", "-i", "vb", NULL};
	pid_t pid = spawn_in(ns_b, genrun_path("out"), genrun_path("err"), run);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	char *err = genrun_slurp(genrun_path("err"), NULL);
	cr_expect(strstr(err, "iotids: vb: the interface is down") != NULL, "%s", err);
	free(err);
}

Test(live, capturing_without_permission_is_refused_clearly)
{
	if (!can_make_namespaces())
		return;
	make_pair(true);
	/* Unprivileged inside the test's namespace: nobody, no capabilities. */
	const char *run[] = {"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
		       getenv("IOTIDS_BIN"), "run", "-i", "vb", NULL};
	pid_t pid = spawn_in(ns_b, genrun_path("out"), genrun_path("err"), run);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	char *err = genrun_slurp(genrun_path("err"), NULL);
	cr_expect(strstr(err, "iotids: vb: permission denied: capturing needs root or CAP_NET_RAW") != NULL, "%s", err);
	free(err);
}

/* "Uid:" or "CapEff:" of /proc/PID/status, as text. */
static char *status_field(pid_t pid, const char *name, char *buf, size_t len)
{
	char file[64];
	snprintf(file, sizeof(file), "/proc/%d/status", (int)pid);
	char *text = genrun_slurp(file, NULL);
	cr_assert_not_null(text);
	char *at = strstr(text, name);
	cr_assert_not_null(at, "no %s in %s", name, file);
	at += strlen(name);
	at += strspn(at, " \t");
	size_t n = strcspn(at, "\n");
	snprintf(buf, len, "%.*s", (int)n, at);
	free(text);
	return buf;
}

Test(live, it_drops_privileges_once_open_and_reloads_rules_on_sighup)
{
	if (!can_make_namespaces())
		return;
	make_pair(true);
	/* nobody must still read the rules to reload them. */
	cr_assert_eq(chmod(genrun_dir, 0755), 0);
	FILE *f = fopen(genrun_path("rules.yaml"), "w");
	cr_assert_not_null(f);
	fputs("# none yet\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(genrun_path("rules.yaml"), 0644), 0);
	char rules[160], err[160];
	snprintf(rules, sizeof(rules), "%s", genrun_path("rules.yaml"));
	snprintf(err, sizeof(err), "%s", genrun_path("err"));
	/* Files are made after the drop, so they belong to nobody. */
	cr_assert_eq(mkdir(genrun_path("data"), 0755), 0);
	cr_assert_eq(chown(genrun_path("data"), 65534, 65534), 0);
	char db[160];
	snprintf(db, sizeof(db), "%s", genrun_path("data/profiles.db"));
	const char *run[] = {getenv("IOTIDS_BIN"), "run", "-i", "vb", "--user", "nobody", "--rules", rules,
			     "--db", db, "--stats-every", "0", NULL};
	pid_t pid = spawn_in(ns_b, genrun_path("out"), err, run);
	cr_assert(genrun_wait_for_text(err, "watching vb"), "%s", genrun_slurp(err, NULL));
	cr_expect(genrun_wait_for_text(err, "running as nobody (uid 65534, gid 65534), no capabilities"));
	char buf[128];
	cr_expect_str_eq(status_field(pid, "Uid:", buf, sizeof(buf)), "65534\t65534\t65534\t65534");
	cr_expect_str_eq(status_field(pid, "CapEff:", buf, sizeof(buf)), "0000000000000000");
	cr_expect_str_eq(status_field(pid, "NoNewPrivs:", buf, sizeof(buf)), "1");
	f = fopen(rules, "w");
	cr_assert_not_null(f);
	fputs("exceptions:\n  - name: quiet-camera\n    reason: test\n    devices: {mac: \"c0:56:e3:fa:8a:c3\"}\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(kill(pid, SIGHUP), 0);
	cr_expect(genrun_wait_for_text(err, "rules: reloaded 1 rules (0 updates, 1 exceptions)"), "%s", genrun_slurp(err, NULL));
	cr_expect_eq(stop(pid), 0, "%s", genrun_slurp(err, NULL));
	struct stat st;
	cr_assert_eq(stat(db, &st), 0, "the store was checkpointed at stop");
	cr_expect_eq(st.st_uid, 65534, "and belongs to the user that writes it");
}

Test(live, time_moves_on_a_silent_lan_so_idle_flows_end_without_traffic)
{
	if (!can_make_namespaces())
		return;
	make_pair(true);
	FILE *f = fopen(genrun_path("c.yaml"), "w");
	cr_assert_not_null(f);
	fputs("flows:\n  timeouts: {tcp_syn: 1s, tcp: 1s, tcp_closed: 1s, udp: 1s, icmp: 1s, other: 1s}\n", f);
	cr_assert_eq(fclose(f), 0);
	char cfg[160], err[160];
	snprintf(cfg, sizeof(cfg), "%s", genrun_path("c.yaml"));
	snprintf(err, sizeof(err), "%s", genrun_path("err"));
	const char *run[] = {getenv("IOTIDS_BIN"), "run", "-i", "vb", "--config", cfg, "--stats-every", "1s", NULL};
	pid_t pid = spawn_in(ns_b, genrun_path("out"), err, run);
	cr_assert(genrun_wait_for_text(err, "watching vb"), "%s", genrun_slurp(err, NULL));
	/* A burst, then nothing: the flows must end all the same. */
	cr_assert_eq(sh("ip netns exec %s tcpreplay -q -i va --pps 5000 --limit 2000 %s >/dev/null 2>&1", ns_a, DEMO), 0);
	cr_expect(genrun_wait_for_text(err, "packets 2000,"), "%s", genrun_slurp(err, NULL));
	cr_expect(genrun_wait_for_text(err, " (0 now)"), "idle flows never ended: %s", genrun_slurp(err, NULL));
	cr_expect_eq(stop(pid), 0);
}
