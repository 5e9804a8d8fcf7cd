/*
 * nDPI behind features/dpi.c: one flow's payloads, both directions, as nDPI
 * gets them from the tracker. The input is a port byte, then payloads each
 * led by a direction bit and a 2-byte length; the harness wraps them in
 * IPv4 and TCP or UDP headers. One dpi module serves every input (nDPI's
 * setup is slow); each input's flow state is freed at its end, and any
 * server name handed on must be safe text.
 */
#include "tests/fuzz/fuzz.h"

#include "features/decode.h"
#include "features/dpi.h"

static struct dpi *dpi;
static struct decoder *dec;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char err[256];
	if (!(dpi = dpi_new(4, err, sizeof(err))) || !(dec = dec_new())) {
		fprintf(stderr, "fuzz_dpi: %s\n", err);
		abort();
	}
	return 0;
}

/* An IPv4 datagram around payload: 192.168.1.20:40000 <-> 203.0.113.9:port. */
static size_t wrap(uint8_t *pkt, bool tcp, bool reply, uint16_t port, uint32_t seq, const uint8_t *pl, size_t n)
{
	static const uint8_t lan[4] = {192, 168, 1, 20}, wan[4] = {203, 0, 113, 9};
	size_t l4 = tcp ? 20 : 8, total = 20 + l4 + n;
	uint16_t sp = reply ? port : 40000, dp = reply ? 40000 : port;
	memset(pkt, 0, 20 + l4);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(total >> 8);
	pkt[3] = (uint8_t)total;
	pkt[8] = 64;
	pkt[9] = tcp ? 6 : 17;
	memcpy(pkt + 12, reply ? wan : lan, 4);
	memcpy(pkt + 16, reply ? lan : wan, 4);
	uint8_t *h = pkt + 20;
	h[0] = (uint8_t)(sp >> 8);
	h[1] = (uint8_t)sp;
	h[2] = (uint8_t)(dp >> 8);
	h[3] = (uint8_t)dp;
	if (tcp) {
		h[4] = (uint8_t)(seq >> 24);
		h[5] = (uint8_t)(seq >> 16);
		h[6] = (uint8_t)(seq >> 8);
		h[7] = (uint8_t)seq;
		h[12] = 5 << 4;
		h[13] = TCP_PSH | TCP_ACK;
		h[14] = 0xff;
	} else {
		h[4] = (uint8_t)((8 + n) >> 8);
		h[5] = (uint8_t)(8 + n);
	}
	memcpy(pkt + 20 + l4, pl, n);
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool tcp = data[0] & 1;
	uint16_t port = fuzz_dpi_ports[(data[0] >> 1) % FUZZ_N_DPI_PORTS];
	struct flow f = {.sport = 40000, .dport = port, .proto = tcp ? 6 : 17};
	FUZZ_CHECK(ip_parse("192.168.1.20", &f.src) == 0 && ip_parse("203.0.113.9", &f.dst) == 0);
	struct dpi_result r;
	uint32_t seq[2] = {1000, 9000};
	uint64_t ts = 1700000000000000ull;
	for (size_t off = 1; off + 3 <= size;) {
		bool reply = data[off] & 1;
		size_t n = (size_t)data[off + 1] << 8 | data[off + 2];
		off += 3;
		if (n > size - off)
			n = size - off;
		uint8_t *pkt = malloc(28 + 20 + n);
		if (!pkt)
			break;
		size_t len = wrap(pkt, tcp, reply, port, seq[reply], data + off, n);
		seq[reply] += (uint32_t)n;
		off += n;
		struct pkt_meta m;
		if (dec_packet(dec, 12 /* DLT_RAW */, pkt, (uint32_t)len, (uint32_t)len, ts, &m) == DEC_OK) {
			dpi_packet(dpi, &f, &m, &r);
			fuzz_check_text(r.host, sizeof(r.host));
		}
		free(pkt);
		ts += 20000;
	}
	dpi_flow_end(dpi, &f, &r);
	fuzz_check_text(r.host, sizeof(r.host));
	FUZZ_CHECK(dpi_stats(dpi)->active == 0);
	char buf[128];
	FUZZ_CHECK(dpi_proto_name(dpi, f.l7_master, f.l7_app, buf, sizeof(buf)) != NULL);
	return 0;
}
