/*
 * tlsmsg — TLS records as they appear on the wire.
 *
 * The ClientHello is real and complete (SNI, ALPN, supported groups,
 * signature algorithms, key share...) in two profiles: a browser/phone
 * offering TLS 1.3, and an embedded mbedTLS-like stack offering TLS 1.2
 * only. Everything after it is length-correct records with random bodies:
 * a ServerHello with a consistent version and session id, a certificate
 * chain whose lengths add up, encrypted records of realistic size.
 *
 * Application data is exposed as a random-access stream (tlsm_stream) so
 * multi-megabyte transfers are cut into TCP segments without building them
 * in memory; record headers land at the right offsets.
 */
#ifndef IOTGEN_TLSMSG_H
#define IOTGEN_TLSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcaps/gen/prng.h"

#define TLSM_MAX_FLIGHT 8192 /* enough for any handshake flight built here */

struct tlsm_hello {
	const char *sni;   /* server_name, or NULL */
	const char *alpn;  /* comma-separated protocols ("h2,http/1.1"), or NULL */
	bool tls13;        /* browser-like TLS 1.3 offer; else TLS 1.2 only */
};

/* Session state both sides' messages must agree on. */
struct tlsm_session {
	bool tls13;
	uint8_t sid[32];
};

/* The ClientHello record; returns its length, 0 if cap is too small. */
size_t tlsm_client_hello(uint8_t *out, size_t cap, struct prng *r, const struct tlsm_hello *h,
			 struct tlsm_session *ss);
/* ServerHello and the rest of the server's first flight; cert_bytes sizes
 * the certificate chain. */
size_t tlsm_server_flight(uint8_t *out, size_t cap, struct prng *r, const struct tlsm_session *ss,
			  const char *alpn, size_t cert_bytes);
/* Client's second flight (1.2: ClientKeyExchange, CCS, Finished;
 * 1.3: CCS, Finished). */
size_t tlsm_client_finish(uint8_t *out, size_t cap, struct prng *r, const struct tlsm_session *ss);
/* Server's last handshake bytes (1.2: ticket, CCS, Finished; 1.3: two
 * session tickets as application data). */
size_t tlsm_server_finish(uint8_t *out, size_t cap, struct prng *r, const struct tlsm_session *ss);
/* An encrypted close_notify alert. */
size_t tlsm_close_notify(uint8_t *out, size_t cap, struct prng *r, const struct tlsm_session *ss);

/* Application data carrying `plain` bytes, in records of at most
 * `rec_plain` plaintext bytes. cheap fills bodies with zeros instead of
 * random bytes (for throughput captures). */
struct tlsm_stream {
	uint64_t key;
	size_t plain, rec_plain, overhead, len;
	bool cheap;
};

void tlsm_stream_init(struct tlsm_stream *st, uint64_t key, const struct tlsm_session *ss,
		      size_t plain, size_t rec_plain, bool cheap);
/* tcpf_src-compatible fill; ctx is a struct tlsm_stream. */
void tlsm_stream_fill(const void *ctx, size_t off, uint8_t *dst, size_t len);

#endif
