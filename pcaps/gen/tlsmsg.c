#include "pcaps/gen/tlsmsg.h"

#include <string.h>

#include "pcaps/gen/wbuf.h"

#define REC_HANDSHAKE 22
#define REC_CCS 20
#define REC_ALERT 21
#define REC_APPDATA 23

static void ext_sni(struct wb *b, const char *sni)
{
	size_t e, l;

	wb_u16(b, 0x0000);
	e = wb_mark(b, 2);
	l = wb_mark(b, 2);
	wb_u8(b, 0); /* host_name */
	wb_u16(b, (uint16_t)strlen(sni));
	wb_str(b, sni);
	wb_patch(b, l, 2);
	wb_patch(b, e, 2);
}

static void ext_alpn(struct wb *b, const char *alpn)
{
	size_t e, l;
	const char *p = alpn;

	wb_u16(b, 0x0010);
	e = wb_mark(b, 2);
	l = wb_mark(b, 2);
	while (*p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		wb_u8(b, (uint8_t)n);
		wb_bytes(b, p, n);
		p += n;
		if (*p == ',')
			p++;
	}
	wb_patch(b, l, 2);
	wb_patch(b, e, 2);
}

static void ext_u16_list(struct wb *b, uint16_t type, const uint16_t *v, size_t n)
{
	wb_u16(b, type);
	wb_u16(b, (uint16_t)(2 + 2 * n));
	wb_u16(b, (uint16_t)(2 * n));
	for (size_t i = 0; i < n; i++)
		wb_u16(b, v[i]);
}

static void ext_raw(struct wb *b, uint16_t type, const uint8_t *data, size_t n)
{
	wb_u16(b, type);
	wb_u16(b, (uint16_t)n);
	wb_bytes(b, data, n);
}

size_t tlsm_client_hello(uint8_t *out, size_t cap, struct prng *r, const struct tlsm_hello *h,
			 struct tlsm_session *ss)
{
	static const uint16_t suites13[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
					    0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f,
					    0x0035};
	static const uint16_t suites12[] = {0xc02b, 0xc02c, 0xc02f, 0xc030, 0xc023,
					    0xc027, 0x009c, 0x009d, 0x00ff};
	static const uint16_t groups13[] = {0x001d, 0x0017, 0x0018};
	static const uint16_t groups12[] = {0x0017, 0x0018, 0x001d};
	static const uint16_t sigs13[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
	static const uint16_t sigs12[] = {0x0403, 0x0503, 0x0603, 0x0401, 0x0501, 0x0601};
	static const uint8_t ecpf[] = {1, 0};
	static const uint8_t status_req[] = {1, 0, 0, 0, 0};
	static const uint8_t psk_modes[] = {1, 1};
	static const uint8_t versions[] = {4, 0x03, 0x04, 0x03, 0x03};
	static const uint8_t cert_comp[] = {2, 0x00, 0x02};
	static const uint8_t reneg[] = {0};
	const uint16_t *suites = h->tls13 ? suites13 : suites12;
	size_t nsuites = h->tls13 ? sizeof(suites13) / 2 : sizeof(suites12) / 2;
	struct wb b;
	size_t rec, hs, ext;

	ss->tls13 = h->tls13;
	wb_init(&b, out, cap);
	wb_u8(&b, REC_HANDSHAKE);
	wb_u16(&b, 0x0301); /* record version of a first ClientHello */
	rec = wb_mark(&b, 2);
	wb_u8(&b, 1);
	hs = wb_mark(&b, 3);
	wb_u16(&b, 0x0303);
	wb_rand(&b, r, 32);
	if (h->tls13) {
		/* Middlebox compatibility mode: a fake session id to be echoed. */
		prng_fill(r, ss->sid, sizeof(ss->sid));
		wb_u8(&b, 32);
		wb_bytes(&b, ss->sid, 32);
	} else {
		memset(ss->sid, 0, sizeof(ss->sid));
		wb_u8(&b, 0);
	}
	wb_u16(&b, (uint16_t)(2 * nsuites));
	for (size_t i = 0; i < nsuites; i++)
		wb_u16(&b, suites[i]);
	wb_u8(&b, 1);
	wb_u8(&b, 0); /* null compression */
	ext = wb_mark(&b, 2);
	if (h->sni)
		ext_sni(&b, h->sni);
	if (h->tls13) {
		uint8_t ks[38] = {0, 36, 0x00, 0x1d, 0, 32};

		ext_raw(&b, 0x0017, NULL, 0); /* extended_master_secret */
		ext_raw(&b, 0xff01, reneg, sizeof(reneg));
		ext_u16_list(&b, 0x000a, groups13, 3);
		ext_raw(&b, 0x000b, ecpf, sizeof(ecpf));
		ext_raw(&b, 0x0023, NULL, 0); /* session_ticket */
		if (h->alpn)
			ext_alpn(&b, h->alpn);
		ext_raw(&b, 0x0005, status_req, sizeof(status_req));
		ext_u16_list(&b, 0x000d, sigs13, sizeof(sigs13) / 2);
		ext_raw(&b, 0x0012, NULL, 0); /* signed_certificate_timestamp */
		prng_fill(r, ks + 6, 32);
		ext_raw(&b, 0x0033, ks, sizeof(ks));
		ext_raw(&b, 0x002d, psk_modes, sizeof(psk_modes));
		ext_raw(&b, 0x002b, versions, sizeof(versions));
		ext_raw(&b, 0x001b, cert_comp, sizeof(cert_comp));
		/* BoringSSL pads hellos of 256..511 bytes to 512 (RFC 7685). */
		size_t cur = b.len - hs - 3 + 4; /* handshake message so far */

		if (!b.err && cur >= 256 && cur + 4 <= 512) {
			size_t pad = 512 - cur - 4;

			wb_u16(&b, 0x0015);
			wb_u16(&b, (uint16_t)pad);
			wb_zero(&b, pad);
		}
	} else {
		ext_u16_list(&b, 0x000d, sigs12, sizeof(sigs12) / 2);
		ext_u16_list(&b, 0x000a, groups12, 3);
		ext_raw(&b, 0x000b, ecpf, sizeof(ecpf));
		if (h->alpn)
			ext_alpn(&b, h->alpn);
		ext_raw(&b, 0x0016, NULL, 0); /* encrypt_then_mac */
		ext_raw(&b, 0x0017, NULL, 0); /* extended_master_secret */
		ext_raw(&b, 0x0023, NULL, 0); /* session_ticket */
	}
	wb_patch(&b, ext, 2);
	wb_patch(&b, hs, 3);
	wb_patch(&b, rec, 2);
	return wb_done(&b);
}

/* Records of one content type holding n random bytes, split at 16 KiB. */
static void rand_records(struct wb *b, struct prng *r, uint8_t type, size_t n)
{
	while (n) {
		size_t k = n > 16384 ? 16384 : n;

		wb_u8(b, type);
		wb_u16(b, 0x0303);
		wb_u16(b, (uint16_t)k);
		wb_rand(b, r, k);
		n -= k;
	}
}

static void ccs(struct wb *b)
{
	static const uint8_t rec[] = {REC_CCS, 3, 3, 0, 1, 1};

	wb_bytes(b, rec, sizeof(rec));
}

/* A DER-looking certificate of n bytes: SEQUENCE, long-form length. */
static void fake_cert(struct wb *b, struct prng *r, size_t n)
{
	wb_u24(b, (uint32_t)n);
	wb_u8(b, 0x30);
	wb_u8(b, 0x82);
	wb_u16(b, (uint16_t)(n - 4));
	wb_u8(b, 0x30);
	wb_u8(b, 0x82);
	wb_u16(b, (uint16_t)(n - 8 - 300));
	wb_rand(b, r, n - 8);
}

size_t tlsm_server_flight(uint8_t *out, size_t cap, struct prng *r, const struct tlsm_session *ss,
			  const char *alpn, size_t cert_bytes)
{
	struct wb b;
	size_t rec, hs, ext;

	if (cert_bytes < 1200)
		cert_bytes = 1200;
	wb_init(&b, out, cap);
	wb_u8(&b, REC_HANDSHAKE);
	wb_u16(&b, 0x0303);
	rec = wb_mark(&b, 2);
	wb_u8(&b, 2);
	hs = wb_mark(&b, 3);
	wb_u16(&b, 0x0303);
	wb_rand(&b, r, 32);
	wb_u8(&b, 32);
	if (ss->tls13)
		wb_bytes(&b, ss->sid, 32);
	else
		wb_rand(&b, r, 32);
	wb_u16(&b, ss->tls13 ? 0x1301 : 0xc02f);
	wb_u8(&b, 0);
	ext = wb_mark(&b, 2);
	if (ss->tls13) {
		uint8_t ks[36] = {0x00, 0x1d, 0, 32};
		static const uint8_t v13[] = {0x03, 0x04};

		ext_raw(&b, 0x002b, v13, sizeof(v13));
		prng_fill(r, ks + 4, 32);
		ext_raw(&b, 0x0033, ks, sizeof(ks));
	} else {
		static const uint8_t reneg[] = {0}, ecpf[] = {1, 0};

		ext_raw(&b, 0xff01, reneg, sizeof(reneg));
		ext_raw(&b, 0x0017, NULL, 0);
		ext_raw(&b, 0x000b, ecpf, sizeof(ecpf));
		ext_raw(&b, 0x0023, NULL, 0);
		if (alpn) {
			const char *c = strchr(alpn, ',');
			size_t n = c ? (size_t)(c - alpn) : strlen(alpn);
			uint8_t sel[32] = {0, (uint8_t)(n + 1), (uint8_t)n};

			if (n <= 29) {
				memcpy(sel + 3, alpn, n);
				ext_raw(&b, 0x0010, sel, n + 3);
			}
		}
	}
	wb_patch(&b, ext, 2);
	wb_patch(&b, hs, 3);
	wb_patch(&b, rec, 2);
	if (ss->tls13) {
		ccs(&b);
		/* EncryptedExtensions, Certificate, CertificateVerify, Finished. */
		rand_records(&b, r, REC_APPDATA, cert_bytes);
		return wb_done(&b);
	}
	/* Certificate: leaf and one intermediate. */
	wb_u8(&b, REC_HANDSHAKE);
	wb_u16(&b, 0x0303);
	rec = wb_mark(&b, 2);
	wb_u8(&b, 11);
	hs = wb_mark(&b, 3);
	ext = wb_mark(&b, 3);
	fake_cert(&b, r, cert_bytes * 45 / 100);
	fake_cert(&b, r, cert_bytes * 55 / 100);
	wb_patch(&b, ext, 3);
	wb_patch(&b, hs, 3);
	wb_patch(&b, rec, 2);
	/* ServerKeyExchange (ECDHE secp256r1, RSA-2048 signature) and
	 * ServerHelloDone in one record. */
	wb_u8(&b, REC_HANDSHAKE);
	wb_u16(&b, 0x0303);
	rec = wb_mark(&b, 2);
	wb_u8(&b, 12);
	hs = wb_mark(&b, 3);
	wb_u8(&b, 3);
	wb_u16(&b, 0x0017);
	wb_u8(&b, 65);
	wb_u8(&b, 4);
	wb_rand(&b, r, 64);
	wb_u16(&b, 0x0401);
	wb_u16(&b, 256);
	wb_rand(&b, r, 256);
	wb_patch(&b, hs, 3);
	wb_u8(&b, 14);
	wb_u24(&b, 0);
	wb_patch(&b, rec, 2);
	return wb_done(&b);
}

size_t tlsm_client_finish(uint8_t *out, size_t cap, struct prng *r, const struct tlsm_session *ss)
{
	struct wb b;

	wb_init(&b, out, cap);
	if (ss->tls13) {
		ccs(&b);
		rand_records(&b, r, REC_APPDATA, 53); /* Finished + type + tag */
		return wb_done(&b);
	}
	wb_u8(&b, REC_HANDSHAKE);
	wb_u16(&b, 0x0303);
	wb_u16(&b, 70);
	wb_u8(&b, 16);
	wb_u24(&b, 66);
	wb_u8(&b, 65);
	wb_u8(&b, 4);
	wb_rand(&b, r, 64);
	ccs(&b);
	rand_records(&b, r, REC_HANDSHAKE, 40); /* encrypted Finished */
	return wb_done(&b);
}

size_t tlsm_server_finish(uint8_t *out, size_t cap, struct prng *r, const struct tlsm_session *ss)
{
	struct wb b;
	size_t rec, hs;

	wb_init(&b, out, cap);
	if (ss->tls13) {
		rand_records(&b, r, REC_APPDATA, 234 + prng_below(r, 40));
		rand_records(&b, r, REC_APPDATA, 234 + prng_below(r, 40));
		return wb_done(&b);
	}
	wb_u8(&b, REC_HANDSHAKE);
	wb_u16(&b, 0x0303);
	rec = wb_mark(&b, 2);
	wb_u8(&b, 4);
	hs = wb_mark(&b, 3);
	wb_u32(&b, 7200); /* ticket lifetime hint */
	wb_u16(&b, 192);
	wb_rand(&b, r, 192);
	wb_patch(&b, hs, 3);
	wb_patch(&b, rec, 2);
	ccs(&b);
	rand_records(&b, r, REC_HANDSHAKE, 40);
	return wb_done(&b);
}

size_t tlsm_close_notify(uint8_t *out, size_t cap, struct prng *r, const struct tlsm_session *ss)
{
	struct wb b;

	wb_init(&b, out, cap);
	if (ss->tls13)
		rand_records(&b, r, REC_APPDATA, 19);
	else
		rand_records(&b, r, REC_ALERT, 26);
	return wb_done(&b);
}

void tlsm_stream_init(struct tlsm_stream *st, uint64_t key, const struct tlsm_session *ss,
		      size_t plain, size_t rec_plain, bool cheap)
{
	size_t full, rest;

	if (rec_plain == 0 || rec_plain > 16384)
		rec_plain = 16384;
	st->key = key;
	st->plain = plain;
	st->rec_plain = rec_plain;
	/* 1.3: content type + tag; 1.2 GCM: explicit nonce + tag. */
	st->overhead = ss->tls13 ? 17 : 24;
	st->cheap = cheap;
	full = plain / rec_plain;
	rest = plain % rec_plain;
	st->len = full * (5 + rec_plain + st->overhead) + (rest ? 5 + rest + st->overhead : 0);
}

/* Random bytes of stream position pos.., from a counter-based hash so any
 * range can be regenerated identically. */
static void fill_rand(uint64_t key, size_t pos, uint8_t *dst, size_t n)
{
	while (n) {
		uint64_t w = prng_mix(key ^ (pos / 8) * 0x9e3779b97f4a7c15ULL);
		size_t skip = pos % 8, k = 8 - skip < n ? 8 - skip : n;
		uint8_t bytes[8];

		memcpy(bytes, &w, 8);
		memcpy(dst, bytes + skip, k);
		dst += k;
		pos += k;
		n -= k;
	}
}

void tlsm_stream_fill(const void *ctx, size_t off, uint8_t *dst, size_t len)
{
	const struct tlsm_stream *st = ctx;
	size_t rec_len = 5 + st->rec_plain + st->overhead;

	while (len) {
		size_t idx = off / rec_len, in = off % rec_len, body, k;

		body = idx * st->rec_plain + st->rec_plain <= st->plain ? st->rec_plain
									 : st->plain - idx * st->rec_plain;
		body += st->overhead;
		if (in < 5) {
			uint8_t hdr[5] = {REC_APPDATA, 3, 3, (uint8_t)(body >> 8), (uint8_t)body};

			k = 5 - in < len ? 5 - in : len;
			memcpy(dst, hdr + in, k);
		} else {
			k = 5 + body - in < len ? 5 + body - in : len;
			if (st->cheap)
				memset(dst, 0, k);
			else
				fill_rand(st->key, off, dst, k);
		}
		dst += k;
		off += k;
		len -= k;
	}
}
