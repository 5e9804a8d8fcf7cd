/*
 * config — the iotids configuration file (YAML, read with libyaml).
 *
 * cfg_defaults() fills every field; cfg_load() overlays a file on top. A key
 * the file does not name keeps its current value, so command-line flags
 * applied after cfg_load() override the file. Unknown keys, wrong types and
 * out-of-range values are errors reported as "FILE:LINE:COL: message".
 */
#ifndef IOTIDS_CONFIG_H
#define IOTIDS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "features/ipaddr.h"

/* Why 32: a home or factory LAN has a handful of subnets; the list is
 * scanned for every packet, so it stays short. */
#define CFG_MAX_HOME_NETS 32
#define CFG_PATH_MAX 256

enum cfg_timeout {
	CFG_TIMEOUT_TCP_SYN,     /* TCP flow whose SYN was never answered */
	CFG_TIMEOUT_TCP,         /* established TCP */
	CFG_TIMEOUT_TCP_CLOSED,  /* TCP after FIN both ways or RST */
	CFG_TIMEOUT_UDP,
	CFG_TIMEOUT_ICMP,
	CFG_TIMEOUT_OTHER,
	CFG_TIMEOUT_COUNT
};

#define CFG_STR_MAX 256

/* Where alerts go besides the JSON lines (see detector/publisher.h). */
struct cfg_redis {
	char url[CFG_STR_MAX];        /* empty: no Redis */
	char user[CFG_STR_MAX];       /* ACL user when the URL names none */
	char password[CFG_STR_MAX];   /* when the URL gives none */
	char prefix[CFG_STR_MAX];     /* key prefix: <prefix>:alerts, <prefix>:stats:<gateway_id> */
	char gateway_id[CFG_STR_MAX]; /* empty: the host name */
	uint32_t connect_timeout_ms;
	uint32_t command_timeout_ms;
	uint32_t backoff_max_ms;
	uint32_t stream_maxlen;       /* XADD MAXLEN ~; 0: untrimmed */
	uint64_t queue_bytes;
	char spool_dir[CFG_PATH_MAX];
	uint64_t spool_max_bytes;
	uint32_t spool_when_full;     /* 0 drop_oldest, 1 drop_newest */
	bool spool_fsync;
	bool device_summaries;        /* HSET <prefix>:device:<mac> every 5 minutes of capture */
};

enum cfg_capture_source { CFG_CAPTURE_AUTO, CFG_CAPTURE_EBPF, CFG_CAPTURE_PCAP };
/* In the order of enum cap_hook_choice (capture/cap.h). */
enum cfg_ebpf_hook { CFG_HOOK_AUTO, CFG_HOOK_TCX, CFG_HOOK_CLSACT };

/* iotids run: the live source (see cli/live.h). */
struct cfg_capture {
	char interface[CFG_STR_MAX];  /* empty: -i names it */
	uint32_t source;              /* enum cfg_capture_source */
	uint32_t ebpf_hook;           /* enum cfg_ebpf_hook */
	uint64_t buffer_bytes;        /* the eBPF ring or libpcap's kernel buffer */
	uint32_t snaplen;             /* libpcap; eBPF copies at most 4096 */
	bool promisc;
	char filter[CFG_STR_MAX];     /* libpcap only; empty: none */
	uint32_t stats_every_s;       /* one stats line this often; 0: never */
};

struct iotids_config {
	struct ip_prefix home_nets[CFG_MAX_HOME_NETS];
	size_t n_home_nets;
	bool learn_ipv6_prefixes;     /* add on-link prefixes from router advertisements */
	uint32_t window_s;            /* per-device window length, seconds */
	uint32_t window_max_remotes;  /* remote endpoints listed per window */
	uint32_t max_flows;
	uint32_t timeouts_s[CFG_TIMEOUT_COUNT];
	uint32_t max_devices;
	bool dpi;                     /* nDPI on flows */
	uint32_t max_dpi_states;      /* flows under nDPI detection at once */
	uint32_t max_names;           /* distinct names held */
	uint32_t dns_cache_max;       /* DNS answers remembered, all devices */
	uint32_t dns_cache_per_device;
	char oui_dir[CFG_PATH_MAX];   /* IEEE registry (Debian ieee-data) */
	char psl_path[CFG_PATH_MAX];  /* public suffix list (Debian publicsuffix) */
	uint32_t learn_min_s;         /* a device learns at least this long ... */
	uint32_t learn_max_s;         /* ... and at most this long ... */
	uint32_t maturity_percent;    /* ... ending once its maturity reaches this */
	uint32_t threshold_percent;   /* alerts score at least this */
	struct cfg_redis redis;
	struct cfg_capture capture;
};

void cfg_defaults(struct iotids_config *cfg);

/* Overlays the YAML file at path on cfg. 0 on success; on error returns a
 * negative errno, leaves cfg unchanged and writes one line into err. */
int cfg_load(struct iotids_config *cfg, const char *path, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Sets one scalar key, named by its dotted path as in the file
 * ("windows.length", "flows.max", "devices.max"), from text, with the file's
 * syntax and range checks: command-line flags go through here. 0, or -EINVAL
 * with one line in err and cfg unchanged. */
int cfg_set(struct iotids_config *cfg, const char *key, const char *value, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Parses a duration: a whole number followed by s, m, h or d ("90s", "20m",
 * "24h", "7d"); a bare number means seconds. 0 on success, -EINVAL on bad
 * text, -ERANGE past one year. */
int cfg_parse_duration(const char *s, uint64_t *seconds) __attribute__((warn_unused_result));

/* Parses an RFC 3339 UTC time ("2026-03-02T06:00:00Z", the Z required, no
 * fraction) or a date (its midnight UTC) into microseconds since the epoch.
 * 0, or -EINVAL. */
int cfg_parse_time(const char *s, uint64_t *us) __attribute__((warn_unused_result));

/* Name of a timeout as written in the file ("tcp_syn", "tcp", ...). */
const char *cfg_timeout_name(enum cfg_timeout t);

#endif
