/*
 * iotids run on a live interface, with the libpcap and the eBPF source.
 * Each test makes its own two network namespaces joined by a veth pair (both
 * ends inside them, never the root namespace), replays the demo from one
 * with tcpreplay and watches the other; the namespaces, and with them any
 * TC program left attached, are deleted at the end, failed or not. Needs
 * root (CI runs as root); without it the tests say so and are skipped.
 */
#define _GNU_SOURCE /* setns */
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
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
		   "kill -0 ${n#*:} 2>/dev/null || { ip netns pids ${n%%:*} | xargs -r kill -9; ip netns del ${n%%:*}; }; "
		   "done");
}

static void teardown(void)
{
	/* A failed test may leave its iotids or tcpdump running: they would
	 * keep the namespace alive after its name is gone. */
	sh("for n in %s %s; do ip netns pids $n 2>/dev/null | xargs -r kill -9; ip netns del $n 2>/dev/null; done", ns_a,
	   ns_b);
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

static int cmp_json_str(const void *x, const void *y)
{
	return strcmp(json_string_value(*(json_t *const *)x), json_string_value(*(json_t *const *)y));
}

/* A device's addresses are listed in the order it was first seen with
 * each; a summary can bind an address a moment before or after the copy
 * next to it, so the order is not compared. */
static void sort_strings(json_t *a)
{
	size_t n = json_array_size(a);
	json_t *v[64];
	cr_assert_leq(n, 64);
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(a, i));
	qsort(v, n, sizeof(v[0]), cmp_json_str);
	json_array_clear(a);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, v[i]);
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
			sort_strings(json_object_get(v, "ips"));
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

/* The unsigned number after text in s, or -1. */
static long long number_after(const char *s, const char *text)
{
	const char *at = strstr(s, text);
	return at ? strtoll(at + strlen(text), NULL, 10) : -1;
}

/* TC filters on vb's ingress and egress, as tc lists them. */
static char *tc_filters(void)
{
	char out[160];
	snprintf(out, sizeof(out), "%s", genrun_path("tc.out"));
	sh("(ip netns exec %s tc filter show dev vb ingress; ip netns exec %s tc filter show dev vb egress) >%s 2>&1",
	   ns_b, ns_b, out);
	return genrun_slurp(out, NULL);
}

/* Programs on vb's tcx ingress and egress hooks (BPF_TCX_INGRESS and
 * _EGRESS, numbered as in cap_ebpf.c), asked from inside ns_b: ingress * 10
 * + egress, or -1 if the kernel could not say. */
static int tcx_programs(void)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char path[96];
		snprintf(path, sizeof(path), "/run/netns/%s", ns_b);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		unsigned idx;
		if (fd < 0 || setns(fd, CLONE_NEWNET) != 0 || !(idx = if_nametoindex("vb")))
			_exit(255);
		int n[2];
		for (int i = 0; i < 2; i++) {
			__u32 ids[8], cnt = 8;
			if (bpf_prog_query((int)idx, (enum bpf_attach_type)(46 + i), 0, NULL, ids, &cnt) != 0)
				_exit(255);
			n[i] = (int)cnt;
		}
		_exit(n[0] * 10 + n[1]);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) && WEXITSTATUS(st) != 255 ? WEXITSTATUS(st) : -1;
}

/* Replays pcap into iotids run --capture source and checks that it saw
 * what iotids replay sees in tcpdump's copy of the same packets. */
static void same_as_replay(const char *source, const char *pcap)
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
	const char *run[] = {bin, "run", "-i", "vb", "--capture", source, "--learn-for", "2s", "--alerts", alerts,
			     "--devices", "--json", "--stats-every", "0", NULL};
	/* Asked before anything is attached: 0 where the kernel has tcx. */
	bool kernel_tcx = tcx_programs() == 0;
	pid_t rpid = spawn_in(ns_b, run_out, run_err, run);
	cr_assert(genrun_wait_for_text(dump_err, "listening on vb"), "tcpdump did not start");
	cr_assert(genrun_wait_for_text(run_err, "watching vb"), "iotids did not start: %s", genrun_slurp(run_err, NULL));
	bool ebpf = !strcmp(source, "ebpf");
	char *said = genrun_slurp(run_err, NULL);
	bool tcx = strstr(said, "eBPF on tcx") != NULL;
	cr_expect_eq(tcx, ebpf && kernel_tcx, "eBPF takes tcx where the kernel has it: %s", said);
	free(said);
	char *tc = tc_filters();
	cr_expect_eq(strstr(tc, "fc_ingress") != NULL && strstr(tc, "fc_egress") != NULL, ebpf && !tcx,
		     "clsact programs on both hooks with eBPF on clsact only: %s", tc);
	free(tc);
	if (tcx)
		cr_expect_eq(tcx_programs(), 11, "one tcx program on each hook");
	/* At a pace both keep up with: the same packets for both. */
	cr_assert_eq(sh("ip netns exec %s tcpreplay -q -i va --pps 5000 %s >%s 2>&1", ns_a, pcap, genrun_path("tcpreplay.out")),
		     0, "%s", genrun_slurp(genrun_path("tcpreplay.out"), NULL));
	/* Every packet is in the kernel's hands once tcpdump has written them
	 * all (whole packets: its file is then the capture's size). */
	struct stat demo_st, seen_st;
	cr_assert_eq(stat(pcap, &demo_st), 0);
	for (int i = 0; i < 3000 && !(stat(cap, &seen_st) == 0 && seen_st.st_size == demo_st.st_size); i++)
		nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
	cr_assert_eq(seen_st.st_size, demo_st.st_size, "tcpdump did not get every packet");
	cr_expect_eq(stop(rpid), 0, "SIGTERM stops iotids run cleanly: %s", genrun_slurp(run_err, NULL));
	cr_assert_eq(kill(dpid, SIGINT), 0);
	cr_assert_eq(waitpid(dpid, NULL, 0), dpid);
	char *err = genrun_slurp(run_err, NULL);
	cr_expect(strstr(err, "signal 15: stopping") != NULL, "%s", err);
	if (ebpf) {
		/* Everything seen, nothing lost, and the bulk of the long flows
		 * counted in the kernel rather than copied. */
		cr_expect(strstr(err, "(EN10MB, eBPF on ") != NULL, "%s", err);
		cr_expect(strstr(err, "ring-buffer losses 0 (0 more counted, not copied), flow map full 0, evicted 0") !=
				  NULL,
			  "%s", err);
		const char *last = err;
		for (const char *at; (at = strstr(last + 1, "stats: packets "));)
			last = at;
		cr_expect_eq(number_after(last, "kernel saw "), number_after(last, "stats: packets "), "%s", err);
		const char *saw = strstr(last, "kernel saw ");
		cr_assert_not_null(saw, "%s", err);
		cr_expect_gt(number_after(saw, "("), 1000, "long flows are mostly counted, not copied: %s", err);
		tc = tc_filters();
		cr_expect(strstr(tc, "fc_") == NULL, "the programs are detached at stop: %s", tc);
		free(tc);
		if (tcx)
			cr_expect_eq(tcx_programs(), 0, "the tcx links are gone at stop");
	} else {
		cr_expect(strstr(err, "kernel drops 0 ") != NULL, "%s", err);
	}
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

Test(live, a_live_run_sees_what_a_replay_of_the_same_packets_sees)
{
	same_as_replay("pcap", DEMO);
}

Test(live, the_ebpf_source_sees_what_a_replay_of_the_same_packets_sees)
{
	same_as_replay("ebpf", DEMO);
}

/* The receiving veth takes a tag off into the packet's metadata before TC
 * sees it; the source must put it back, in copies and summaries, as libpcap
 * does for tcpdump. */
Test(live, the_ebpf_source_puts_vlan_tags_back_as_libpcap_does)
{
	if (!can_make_namespaces())
		return;
	char tagged[160];
	snprintf(tagged, sizeof(tagged), "%s", genrun_path("tagged.pcap"));
	cr_assert_eq(sh("tcprewrite --enet-vlan=add --enet-vlan-tag=10 --enet-vlan-cfi=0 --enet-vlan-pri=3 -i %s -o %s",
			DEMO, tagged),
		     0);
	same_as_replay("ebpf", tagged);
}

Test(live, auto_falls_back_to_libpcap_and_says_why)
{
	if (!can_make_namespaces())
		return;
	make_pair(true);
	/* Root without CAP_BPF and CAP_NET_ADMIN: the kernel refuses the
	 * programs; CAP_NET_RAW is all libpcap needs. */
	const char *run[] = {"setpriv", "--bounding-set=-all,+net_raw", "--inh-caps=-all", getenv("IOTIDS_BIN"), "run",
			     "-i", "vb", "--stats-every", "0", NULL};
	char err[160];
	snprintf(err, sizeof(err), "%s", genrun_path("err"));
	pid_t pid = spawn_in(ns_b, genrun_path("out"), err, run);
	cr_assert(genrun_wait_for_text(err, "watching vb (EN10MB, libpcap)"), "%s", genrun_slurp(err, NULL));
	cr_expect(genrun_wait_for_text(err, "iotids: info: --capture auto: libpcap, because the eBPF source could not "
					    "start: vb: permission denied: the eBPF source needs root, or CAP_BPF"),
		  "%s", genrun_slurp(err, NULL));
	cr_expect_eq(stop(pid), 0);
	/* Asked for by name, it is an error instead. */
	run[7] = "--capture";
	run[8] = "ebpf";
	pid = spawn_in(ns_b, genrun_path("out"), err, run);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	char *text = genrun_slurp(err, NULL);
	cr_expect(strstr(text, "iotids: vb: permission denied: the eBPF source needs root") != NULL, "%s", text);
	free(text);
}

Test(live, clsact_programs_left_by_a_killed_run_are_replaced_not_doubled)
{
	if (!can_make_namespaces())
		return;
	make_pair(true);
	const char *run[] = {getenv("IOTIDS_BIN"), "run",	  "-i",		   "vb", "--capture", "ebpf",
			     "--ebpf-hook",	 "clsact", "--stats-every", "0",  NULL};
	char err[160];
	snprintf(err, sizeof(err), "%s", genrun_path("err"));
	pid_t pid = spawn_in(ns_b, genrun_path("out"), err, run);
	cr_assert(genrun_wait_for_text(err, "watching vb"), "%s", genrun_slurp(err, NULL));
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	char *tc = tc_filters();
	cr_expect(strstr(tc, "fc_ingress") != NULL, "a killed run cannot detach: %s", tc);
	free(tc);
	snprintf(err, sizeof(err), "%s", genrun_path("err2"));
	pid = spawn_in(ns_b, genrun_path("out"), err, run);
	cr_assert(genrun_wait_for_text(err, "watching vb"), "%s", genrun_slurp(err, NULL));
	tc = tc_filters();
	size_t n = 0;
	for (const char *at = tc; (at = strstr(at, "name fc_")); at++)
		n++;
	cr_expect_eq(n, 2, "one program per hook: %s", tc);
	free(tc);
	cr_expect_eq(stop(pid), 0);
	tc = tc_filters();
	cr_expect(strstr(tc, "fc_") == NULL, "and none after a clean stop: %s", tc);
	free(tc);
}

Test(live, a_clsact_run_that_stops_leaves_the_programs_that_replaced_its_own)
{
	if (!can_make_namespaces())
		return;
	make_pair(true);
	const char *run[] = {getenv("IOTIDS_BIN"), "run",	  "-i",		   "vb", "--capture", "ebpf",
			     "--ebpf-hook",	 "clsact", "--stats-every", "0",  NULL};
	char err1[160], err2[160];
	snprintf(err1, sizeof(err1), "%s", genrun_path("err1"));
	snprintf(err2, sizeof(err2), "%s", genrun_path("err2"));
	pid_t first = spawn_in(ns_b, genrun_path("out1"), err1, run);
	cr_assert(genrun_wait_for_text(err1, "watching vb"), "%s", genrun_slurp(err1, NULL));
	pid_t second = spawn_in(ns_b, genrun_path("out2"), err2, run);
	cr_assert(genrun_wait_for_text(err2, "watching vb"), "%s", genrun_slurp(err2, NULL));
	cr_expect_eq(stop(first), 0);
	char *tc = tc_filters();
	cr_expect(strstr(tc, "fc_ingress") != NULL && strstr(tc, "fc_egress") != NULL,
		  "the first run detached the second one's programs: %s", tc);
	free(tc);
	cr_expect_eq(stop(second), 0);
	tc = tc_filters();
	cr_expect(strstr(tc, "fc_") == NULL, "the second run's stop detaches them: %s", tc);
	free(tc);
}

/* Waits until the run writing err says it is watching (true) or exits
 * (false). */
static bool started(pid_t pid, const char *err)
{
	for (int i = 0; i < 1500; i++) {
		char *text = genrun_slurp(err, NULL);
		bool watching = text && strstr(text, "watching vb");
		free(text);
		if (watching)
			return true;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
	}
	return false;
}

Test(live, with_tcx_two_runs_watch_one_interface_and_either_may_stop_or_die)
{
	if (!can_make_namespaces())
		return;
	make_pair(true);
	const char *run[] = {getenv("IOTIDS_BIN"), "run",	    "-i", "vb", "--capture", "ebpf", "--ebpf-hook",
			     "tcx",		 "--stats-every", "1s", NULL};
	char err1[160], err2[160];
	snprintf(err1, sizeof(err1), "%s", genrun_path("err1"));
	snprintf(err2, sizeof(err2), "%s", genrun_path("err2"));
	pid_t first = spawn_in(ns_b, genrun_path("out1"), err1, run);
	if (!started(first, err1)) {
		char *text = genrun_slurp(err1, NULL);
		cr_assert(text && strstr(text, "a kernel before 6.6 has no tcx"), "%s", text);
		cr_log_warn("this kernel has no tcx: test skipped (%s)", text);
		free(text);
		return;
	}
	pid_t second = spawn_in(ns_b, genrun_path("out2"), err2, run);
	cr_assert(started(second, err2), "%s", genrun_slurp(err2, NULL));
	cr_expect_eq(tcx_programs(), 22, "each run has a program on each hook");
	cr_expect_eq(stop(first), 0);
	cr_expect_eq(tcx_programs(), 11, "a stop takes only its own programs away");
	cr_assert_eq(sh("ip netns exec %s tcpreplay -q -i va --pps 5000 --limit 200 %s >/dev/null 2>&1", ns_a, DEMO), 0);
	cr_expect(genrun_wait_for_text(err2, "stats: packets 200,"), "the second run is blind: %s",
		  genrun_slurp(err2, NULL));
	cr_assert_eq(kill(second, SIGKILL), 0);
	cr_assert_eq(waitpid(second, NULL, 0), second);
	cr_expect_eq(tcx_programs(), 0, "a killed run's links go with it");
	char *tc = tc_filters();
	cr_expect(strstr(tc, "fc_") == NULL, "nothing on clsact either: %s", tc);
	free(tc);
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

/* Runs as nobody with source on hook; said: how it says what it kept. */
static void drops_privileges_and_reloads(const char *source, const char *hook, const char *said)
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
	const char *run[] = {getenv("IOTIDS_BIN"), "run", "-i", "vb", "--capture", source, "--ebpf-hook", hook,
			     "--user", "nobody", "--rules", rules, "--db", db, "--stats-every", "0", NULL};
	pid_t pid = spawn_in(ns_b, genrun_path("out"), err, run);
	cr_assert(genrun_wait_for_text(err, "watching vb"), "%s", genrun_slurp(err, NULL));
	cr_expect(genrun_wait_for_text(err, said), "%s", genrun_slurp(err, NULL));
	char buf[128];
	cr_expect_str_eq(status_field(pid, "Uid:", buf, sizeof(buf)), "65534\t65534\t65534\t65534");
	/* eBPF on clsact keeps CAP_NET_ADMIN (bit 12) to detach; on tcx
	 * nothing detaches. CAP_BPF (bit 39) only on older kernels, where
	 * reading a map needs it. */
	char *text = genrun_slurp(err, NULL);
	bool admin = strstr(text, "CAP_NET_ADMIN") != NULL, bpf = strstr(text, "CAP_BPF") != NULL;
	cr_expect_eq(admin, strstr(text, "eBPF on clsact") != NULL, "%s", text);
	cr_expect(!strcmp(source, "ebpf") || !bpf, "%s", text);
	char capeff[17];
	snprintf(capeff, sizeof(capeff), "%016llx", (admin ? 1ull << 12 : 0) | (bpf ? 1ull << 39 : 0));
	free(text);
	cr_expect_str_eq(status_field(pid, "CapEff:", buf, sizeof(buf)), capeff);
	cr_expect_str_eq(status_field(pid, "CapPrm:", buf, sizeof(buf)), capeff);
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
	char *tc = tc_filters();
	cr_expect(strstr(tc, "fc_") == NULL, "the programs are detached at stop: %s", tc);
	free(tc);
	cr_expect_leq(tcx_programs(), 0, "and the tcx links gone");
}

Test(live, it_drops_privileges_once_open_and_reloads_rules_on_sighup)
{
	drops_privileges_and_reloads("pcap", "auto", "running as nobody (uid 65534, gid 65534), no capabilities");
}

Test(live, with_ebpf_on_clsact_it_keeps_only_what_detaching_needs_and_reloads_rules_on_sighup)
{
	drops_privileges_and_reloads("ebpf", "clsact", "running as nobody (uid 65534, gid 65534), keeping CAP_NET_ADMIN");
}

Test(live, with_ebpf_on_tcx_where_the_kernel_has_it_it_keeps_no_capability_to_detach)
{
	drops_privileges_and_reloads("ebpf", "auto", "running as nobody (uid 65534, gid 65534), ");
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
