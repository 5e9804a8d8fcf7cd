/*
 * The packet decoder on hostile frames. The first byte picks the link type;
 * the rest is a run of packets, each a 2-byte length and its bytes, through
 * one decoder so that fragments meet the fragment cache. Each packet is also
 * decoded cut one byte short, so every truncation point is reached.
 */
#include "tests/fuzz/fuzz.h"

#include "features/decode.h"

static void check_meta(const struct pkt_meta *m, const uint8_t *data, uint32_t caplen, enum dec_result r)
{
	FUZZ_CHECK(m->n_vlan <= DEC_MAX_VLAN);
	if (m->payload_len) {
		FUZZ_CHECK(m->payload >= data && m->payload + m->payload_len <= data + caplen);
	}
	if (m->l3_hdr) {
		FUZZ_CHECK(m->l3_hdr >= data && m->l3_hdr + m->l3_len <= data + caplen);
	}
	FUZZ_CHECK(r < DEC_RESULT_COUNT);
	FUZZ_CHECK(dec_result_name(r) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int linktype = fuzz_linktypes[data[0] % FUZZ_N_LINKTYPES];
	struct decoder *d = dec_new();
	if (!d)
		return 0;
	size_t off = 1;
	uint64_t ts = 1700000000000000ull, n = 0;
	while (off < size) {
		uint32_t len = (uint32_t)(size - off);
		if (size - off >= 2) {
			uint32_t want = (uint32_t)data[off] << 8 | data[off + 1];
			off += 2;
			len = want < size - off ? want : (uint32_t)(size - off);
		} else {
			off = size;
			len = 0;
		}
		/* A private copy: ASan then catches a read one past the captured bytes. */
		uint8_t *pkt = malloc(len ? len : 1);
		if (!pkt)
			break;
		memcpy(pkt, data + off, len);
		struct pkt_meta m;
		enum dec_result r = dec_packet(d, linktype, pkt, len, len + (uint32_t)(n & 7) * 100, ts, &m);
		check_meta(&m, pkt, len, r);
		n++;
		free(pkt);
		/* Cut one byte short, in a buffer of its own, so that a read of the
		 * byte past the cut is caught too. */
		if (len && (pkt = malloc(len - 1 ? len - 1 : 1))) {
			memcpy(pkt, data + off, len - 1);
			r = dec_packet(d, linktype, pkt, len - 1, len, ts, &m);
			check_meta(&m, pkt, len - 1, r);
			n++;
			free(pkt);
		}
		off += len;
		ts += 1000;
	}
	const struct dec_stats *st = dec_stats(d);
	uint64_t sum = 0;
	for (int i = 0; i < DEC_RESULT_COUNT; i++)
		sum += st->by_result[i];
	FUZZ_CHECK(st->packets == n);
	FUZZ_CHECK(sum == n);
	dec_free(d);
	return 0;
}
