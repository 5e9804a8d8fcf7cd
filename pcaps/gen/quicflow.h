/*
 * quicflow — a QUIC v1 (RFC 9000) connection over UDP 443 as captured.
 *
 * Headers are real (long-header Initial/Handshake packets with version,
 * connection ids, token and length fields; short-header 1-RTT packets
 * carrying the server's connection id); everything protected is random,
 * as it would look without the keys. Client Initial datagrams are padded
 * to 1250 bytes. Data is paced at the sender's rate and the receiver ACKs
 * every second packet.
 */
#ifndef IOTGEN_QUICFLOW_H
#define IOTGEN_QUICFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "pcaps/gen/ep.h"
#include "pcaps/gen/prng.h"
#include "pcaps/gen/sim.h"

enum { QUICF_C = 0, QUICF_S = 1 };

struct quicf {
	struct sim *sim;
	struct prng *rng;
	struct ep e[2];      /* client, server */
	uint32_t rate_bps[2];
	uint8_t dcid[8];     /* client's initial destination id */
	uint8_t scid[8];     /* server's connection id */
};

/* Call after filling e[] (and optionally rate_bps; 0 picks defaults). */
void quicf_init(struct quicf *q, struct sim *s, struct prng *r);
/* Initial/Handshake exchange; returns when the client may send 1-RTT data. */
uint64_t quicf_handshake(struct quicf *q, uint64_t t, size_t cert_bytes);
/* bytes of stream data from `from`; returns when the peer has it all. */
uint64_t quicf_send(struct quicf *q, int from, uint64_t t, size_t bytes);
/* CONNECTION_CLOSE from `from`. */
uint64_t quicf_close(struct quicf *q, int from, uint64_t t);

#endif
