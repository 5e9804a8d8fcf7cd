/*
 * live — what iotids run adds to the replay pipeline: choosing and opening
 * the packet source (eBPF, libpcap, or the better of the two), giving up
 * root once it is open, and the capture part of the daemon's stats line.
 */
#ifndef IOTIDS_LIVE_H
#define IOTIDS_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "capture/cap.h"
#include "cli/config.h"

/* The source c describes, or NULL with one line in err. With auto, eBPF is
 * tried first and a failure falls back to libpcap with one info line on
 * stderr. The eBPF flow map holds max_flows flows (the tracker's), at most
 * 65536. */
struct cap_source *live_open(const struct cfg_capture *c, uint32_t max_flows, char *err, size_t errlen);

/* Becomes user (no supplementary groups, its group and uid, no way back),
 * keeping only the capabilities the source still needs: none for libpcap;
 * CAP_NET_ADMIN for eBPF, to detach its programs at stop, and CAP_BPF too
 * where an older kernel wants it to read the maps. 0, or -1 with a
 * message in err. */
int live_drop_privileges(const char *user, struct cap_source *src, char *err, size_t errlen);

/* "libpcap" or "eBPF". */
const char *live_source_name(const struct cap_source *src);

/* The capture part of a stats line: "kernel drops ..." or the eBPF
 * counters. */
void live_capture_stats(const struct cap_source *src, char *buf, size_t len);

#endif
