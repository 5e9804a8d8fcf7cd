#include "cli/live.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EBPF_FLOWS_MAX 65536u
#define EBPF_SNAP_MAX 4096u
/* libpcap hands over a block at least this often; the eBPF ring is read
 * as often, and sooner when it fills. Signals end either wait at once. */
#define PCAP_TIMEOUT_MS 250
#define EBPF_TIMEOUT_MS 250

static struct cap_source *open_ebpf(const struct cfg_capture *c, uint32_t max_flows, char *err, size_t errlen)
{
	struct cap_ebpf_config ec = {.iface = c->interface,
				     .hook = (enum cap_hook_choice)c->ebpf_hook,
				     .snaplen = c->snaplen < EBPF_SNAP_MAX ? c->snaplen : EBPF_SNAP_MAX,
				     .promisc = c->promisc,
				     .ring_bytes = (uint32_t)c->buffer_bytes,
				     .max_flows = max_flows < EBPF_FLOWS_MAX ? max_flows : EBPF_FLOWS_MAX,
				     .timeout_ms = EBPF_TIMEOUT_MS};
	return cap_open_ebpf(&ec, err, errlen);
}

static struct cap_source *open_pcap(const struct cfg_capture *c, char *err, size_t errlen)
{
	struct cap_live_config lc = {.iface = c->interface, .snaplen = c->snaplen, .promisc = c->promisc,
				     .buffer_bytes = (uint32_t)c->buffer_bytes, .filter = c->filter[0] ? c->filter : NULL,
				     .immediate = false, .timeout_ms = PCAP_TIMEOUT_MS};
	return cap_open_live(&lc, err, errlen);
}

struct cap_source *live_open(const struct cfg_capture *c, uint32_t max_flows, char *err, size_t errlen)
{
	if (c->source == CFG_CAPTURE_EBPF && c->filter[0]) {
		snprintf(err, errlen, "a filter needs the libpcap source (--capture pcap): the eBPF source has none");
		return NULL;
	}
	if (c->source == CFG_CAPTURE_EBPF)
		return open_ebpf(c, max_flows, err, errlen);
	if (c->source == CFG_CAPTURE_PCAP)
		return open_pcap(c, err, errlen);
	if (c->filter[0]) {
		fprintf(stderr, "iotids: info: --capture auto: libpcap, because a filter needs it\n");
		return open_pcap(c, err, errlen);
	}
	struct cap_source *s = open_ebpf(c, max_flows, err, errlen);
	if (s)
		return s;
	/* A missing or down interface is not the eBPF source's fault: libpcap
	 * says so in the same words, without a fallback line. */
	char why[512];
	if (cap_iface_check(c->interface, why, sizeof(why)) >= 0)
		fprintf(stderr, "iotids: info: --capture auto: libpcap, because the eBPF source could not start: %s\n",
			err);
	return open_pcap(c, err, errlen);
}

const char *live_source_name(const struct cap_source *src)
{
	const char *hook = cap_hook(src);
	return !hook ? "libpcap" : !strcmp(hook, "tcx") ? "eBPF on tcx" : "eBPF on clsact";
}

void live_capture_stats(const struct cap_source *src, char *buf, size_t len)
{
	struct cap_stats cs = {0};
	cap_stats(src, &cs);
	if (strcmp(cap_kind(src), "ebpf")) {
		snprintf(buf, len, "kernel drops %llu (interface %llu)", (unsigned long long)cs.dropped,
			 (unsigned long long)cs.if_dropped);
		return;
	}
	snprintf(buf, len,
		 "kernel saw %llu (%llu only counted), ring-buffer losses %llu (%llu more counted, not copied), "
		 "flow map full %llu, evicted %llu",
		 (unsigned long long)cs.received, (unsigned long long)cs.counted, (unsigned long long)cs.dropped,
		 (unsigned long long)cs.ring_full, (unsigned long long)cs.map_full, (unsigned long long)cs.evicted);
}

static int cap_set(uint64_t effective, uint64_t permitted)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {
		{.effective = (uint32_t)effective, .permitted = (uint32_t)permitted},
		{.effective = (uint32_t)(effective >> 32), .permitted = (uint32_t)(permitted >> 32)},
	};
	return (int)syscall(SYS_capset, &h, d);
}

/* Drops every capability but keep from the bounding set, so that nothing
 * this process runs can get them back. */
static int bound_to(uint64_t keep)
{
	for (int c = 0; c < 64; c++) {
		if (keep & (1ull << c))
			continue;
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0)
			break;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
			return -1;
	}
	return 0;
}

int live_drop_privileges(const char *user, struct cap_source *src, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "--user %s: no such user", user);
		return -1;
	}
	/* clsact filters need CAP_NET_ADMIN to be detached at stop; tcx links
	 * go with the process. */
	const char *hook = cap_hook(src);
	uint64_t admin = 1ull << CAP_NET_ADMIN, bpf = 1ull << CAP_BPF;
	uint64_t need = hook && !strcmp(hook, "clsact") ? admin : 0;
	uint64_t keep = hook ? need | bpf : 0;
	if (bound_to(keep) != 0 || (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)) {
		snprintf(err, errlen, "--user %s: cannot give up capabilities: %s", user, strerror(errno));
		return -1;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "--user %s: cannot become it: %s", user, strerror(errno));
		return -1;
	}
	if (!keep && cap_set(0, 0) != 0) {
		/* A uid 0 keeps its capabilities through setuid: drop them. */
		snprintf(err, errlen, "--user %s: cannot give up capabilities: %s", user, strerror(errno));
		return -1;
	}
	if (keep) {
		/* Try the maps without CAP_BPF first: recent kernels check it
		 * only where maps and programs are made. */
		struct cap_stats cs;
		if (cap_set(need, keep) != 0) {
			snprintf(err, errlen, "--user %s: cannot keep capabilities: %s", user, strerror(errno));
			return -1;
		}
		keep = cap_stats(src, &cs) != 0 ? need | bpf : need;
		if (cap_set(keep, keep) != 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
			snprintf(err, errlen, "--user %s: cannot set capabilities: %s", user, strerror(errno));
			return -1;
		}
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "--user %s: root could be regained; refusing to go on", user);
		return -1;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	fprintf(stderr, "iotids: info: running as %s (uid %u, gid %u), %s%s%s\n", user, (unsigned)pw->pw_uid,
		(unsigned)pw->pw_gid, !keep ? "no capabilities" : "keeping ",
		keep & admin ? "CAP_NET_ADMIN (to detach the eBPF programs at stop)" : "",
		keep == (admin | bpf) ? " and CAP_BPF (to read their maps on this kernel)"
		: keep == bpf	      ? "CAP_BPF (to read the eBPF maps on this kernel)"
				      : "");
	return 0;
}
