/*
 * manifest — the ground truth of a `home` run as JSON (via jansson): seed,
 * start, duration, the gateway and, per device, its kind, MAC, addresses,
 * hostname, IEEE vendor (null for a randomised MAC), DHCP vendor class and
 * the names it resolved during the run.
 */
#ifndef IOTGEN_MANIFEST_H
#define IOTGEN_MANIFEST_H

#include "pcaps/gen/homenet.h"

/* Writes path; 0 or a negative errno. */
int mf_write(const struct hn *n, const char *path);

#endif
