/*
 * tcpflow — one TCP connection, emitted as the capture point sees it.
 *
 * Linux-like behaviour: SYN options MSS, SACK-permitted, timestamps and
 * window scale; timestamps on every later segment; data cut at the MSS
 * (1448 payload bytes over IPv4 with timestamps, so full frames are 1514
 * bytes); the receiver ACKs every second segment; slow start doubles the
 * window each round trip up to what the receiver advertises; FIN/ACK
 * teardown or RST.
 *
 * Timing follows from the two ends' round trips: a segment seen at t is
 * answered at t + the receiver's rtt. A send is modelled round by round:
 * cwnd segments paced at the sender's rate, their ACKs, the next round
 * when the first ACK has reached the sender. Rarely a segment is lost:
 * before the capture point in a burst (a gap, duplicate ACKs with SACK,
 * a fast retransmit) or after it for a lone segment (a timeout
 * retransmission of the same bytes).
 *
 * Calls return the capture time at which the receiving end could answer,
 * so a scenario chains request and response. Every call must start at or
 * after the current simulation time.
 */
#ifndef IOTGEN_TCPFLOW_H
#define IOTGEN_TCPFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcaps/gen/ep.h"
#include "pcaps/gen/prng.h"
#include "pcaps/gen/sim.h"

enum { TCPF_C = 0, TCPF_S = 1 }; /* the end that opened, the end that accepted */

/* Don't ACK the last segment on its own: the receiver answers with data
 * (which carries the ACK) right away. */
#define TCPF_NOACK 1u

/* The bytes of a stream: fill() writes len bytes starting at stream
 * offset off. Random access, because retransmissions re-read bytes. */
struct tcpf_src {
	void (*fill)(const void *ctx, size_t off, uint8_t *dst, size_t len);
	const void *ctx;
	size_t len;
};

struct tcpf_end {
	struct ep ep;
	uint8_t wscale;
	uint32_t rwnd;      /* receive window, bytes */
	uint32_t rate_bps;  /* pace of this end's data at the capture point */
	/* state */
	uint32_t isn, nxt, ts_base, ts_recent, cwnd;
	uint64_t last_data;
};

struct tcpf {
	struct sim *sim;
	struct prng *rng;
	uint16_t mss;       /* payload bytes of a full segment */
	double loss;        /* per-segment loss probability */
	uint32_t flow[2];   /* IPv6 flow label per direction */
	struct tcpf_end e[2];
};

/* Call after filling e[TCPF_C].ep / e[TCPF_S].ep (both v4 or both v6) and,
 * optionally, wscale/rwnd/rate_bps (0 picks defaults). Draws ISNs, clocks. */
void tcpf_init(struct tcpf *f, struct sim *s, struct prng *r);
/* A source over a caller-owned buffer (buf must outlive the send). */
struct tcpf_src tcpf_src_buf(const uint8_t *buf, size_t len);

/* Three-way handshake from t; returns when the client may send. */
uint64_t tcpf_open(struct tcpf *f, uint64_t t);
/* SYN answered by RST/ACK (nothing listening); returns the RST's time. */
uint64_t tcpf_refused(struct tcpf *f, uint64_t t);
/* Sends src from end `from` starting at t; returns when the other end has
 * it all (the earliest time it can answer). */
uint64_t tcpf_send(struct tcpf *f, int from, uint64_t t, const struct tcpf_src *src, unsigned flags);
/* FIN from `from`, FIN/ACK back, last ACK; returns the last ACK's time. */
uint64_t tcpf_close(struct tcpf *f, int from, uint64_t t);
/* RST/ACK from `from` at t. */
uint64_t tcpf_reset(struct tcpf *f, int from, uint64_t t);

#endif
