/*
 * addr — random public IPv4 addresses for internet hosts that need no
 * provider identity (flood sources, far ends of benchmark flows). Never
 * private (RFC 1918), CGNAT, loopback, link-local, documentation,
 * benchmarking, multicast or reserved space.
 */
#ifndef IOTGEN_ADDR_H
#define IOTGEN_ADDR_H

#include <stdbool.h>
#include <stdint.h>

#include "pcaps/gen/prng.h"

bool addr_is_public4(const uint8_t a[4]);
void addr_public4(struct prng *r, uint8_t out[4]);

#endif
