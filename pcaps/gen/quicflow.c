#include "pcaps/gen/quicflow.h"

#include "pcaps/gen/wbuf.h"

#define QUIC_INITIAL 0
#define QUIC_HANDSHAKE 2
#define QUIC_DGRAM 1250  /* Chrome's datagram size */
#define QUIC_SHORT_OVERHEAD 30 /* header, packet number, frame headers, tag */

void quicf_init(struct quicf *q, struct sim *s, struct prng *r)
{
	q->sim = s;
	q->rng = r;
	prng_fill(r, q->dcid, sizeof(q->dcid));
	prng_fill(r, q->scid, sizeof(q->scid));
	for (int i = 0; i < 2; i++) {
		q->e[i].df = true;
		if (!q->rate_bps[i])
			q->rate_bps[i] = 50000000;
	}
}

/* A long-header packet of `len` protected bytes (packet number + payload). */
static void long_pkt(struct wb *b, struct prng *r, int type, const uint8_t *dcid, size_t dl,
		     const uint8_t *scid, size_t sl, size_t len)
{
	wb_u8(b, (uint8_t)(0xc0 | type << 4 | (prng_u32(r) & 0x0f)));
	wb_u32(b, 1);
	wb_u8(b, (uint8_t)dl);
	wb_bytes(b, dcid, dl);
	wb_u8(b, (uint8_t)sl);
	wb_bytes(b, scid, sl);
	if (type == QUIC_INITIAL)
		wb_u8(b, 0); /* token length */
	wb_u16(b, (uint16_t)(0x4000 | len));
	wb_rand(b, r, len);
}

static void dgram(struct quicf *q, int from, uint64_t t, const uint8_t *p, size_t n)
{
	ep_udp(q->sim, t, &q->e[from], &q->e[!from], NULL, p, n);
}

/* A short-header (1-RTT) datagram of n bytes. Both directions address the
 * peer's id; the client uses an empty source id, so only the server's id
 * appears, in packets towards the server. */
static void short_pkt(struct quicf *q, int from, uint64_t t, size_t n)
{
	uint8_t p[QUIC_DGRAM + 100];
	struct wb b;
	size_t idl = from == QUICF_C ? sizeof(q->scid) : 0;

	if (n < 1 + idl + 20)
		n = 1 + idl + 20;
	wb_init(&b, p, sizeof(p));
	wb_u8(&b, (uint8_t)(0x40 | (prng_u32(q->rng) & 0x3f)));
	wb_bytes(&b, q->scid, idl);
	wb_rand(&b, q->rng, n - 1 - idl);
	if (wb_done(&b))
		dgram(q, from, t, p, n);
}

uint64_t quicf_handshake(struct quicf *q, uint64_t t, size_t cert_bytes)
{
	uint8_t p[QUIC_DGRAM + 100];
	struct wb b;
	uint64_t t1, t2;
	size_t left = cert_bytes;

	/* Client Initial: ClientHello padded so the datagram is 1250 bytes. */
	wb_init(&b, p, sizeof(p));
	long_pkt(&b, q->rng, QUIC_INITIAL, q->dcid, 8, NULL, 0, QUIC_DGRAM - 18); /* 18 header bytes */
	dgram(q, QUICF_C, t, p, wb_done(&b));
	/* Server: Initial (ServerHello) coalesced with Handshake, then more
	 * Handshake datagrams until the certificate chain is out. */
	t1 = t + ep_rtt(&q->e[QUICF_S], q->rng);
	while (left) {
		size_t room = QUIC_DGRAM - 30, k;

		wb_init(&b, p, sizeof(p));
		if (left == cert_bytes) {
			long_pkt(&b, q->rng, QUIC_INITIAL, NULL, 0, q->scid, 8, 117);
			room -= b.len;
		}
		k = left < room ? left : room;
		long_pkt(&b, q->rng, QUIC_HANDSHAKE, NULL, 0, q->scid, 8, k);
		dgram(q, QUICF_S, t1, p, wb_done(&b));
		left -= k;
		t1 += 100 + prng_below(q->rng, 150);
	}
	/* Client: Initial ACK + Handshake Finished, padded to 1250. */
	t2 = t1 + ep_rtt(&q->e[QUICF_C], q->rng);
	wb_init(&b, p, sizeof(p));
	long_pkt(&b, q->rng, QUIC_INITIAL, q->scid, 8, NULL, 0, 1100);
	long_pkt(&b, q->rng, QUIC_HANDSHAKE, q->scid, 8, NULL, 0, QUIC_DGRAM - b.len - 17);
	dgram(q, QUICF_C, t2, p, wb_done(&b));
	return t2 + 50;
}

uint64_t quicf_send(struct quicf *q, int from, uint64_t t, size_t bytes)
{
	size_t max = QUIC_DGRAM - QUIC_SHORT_OVERHEAD, n = 0;
	uint64_t ti = t, last = t;

	while (bytes) {
		size_t k = bytes < max ? bytes : max;

		short_pkt(q, from, ti, k + QUIC_SHORT_OVERHEAD);
		last = ti;
		bytes -= k;
		if (++n % 2 == 0 || !bytes) {
			uint64_t at = ti + ep_rtt(&q->e[!from], q->rng);

			short_pkt(q, !from, at, 32 + prng_below(q->rng, 8));
		}
		ti += ((uint64_t)(k + QUIC_SHORT_OVERHEAD + 42) * 8 * 1000000) / q->rate_bps[from] + 1;
	}
	return last + ep_rtt(&q->e[!from], q->rng);
}

uint64_t quicf_close(struct quicf *q, int from, uint64_t t)
{
	short_pkt(q, from, t, 40 + prng_below(q->rng, 20));
	return t;
}
