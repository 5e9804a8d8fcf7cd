/*
 * seeds — the committed seed corpora of the packet harnesses, cut from real
 * captures (the demo and the scenario captures): one input per kind of
 * packet for fuzz_decode, DNS/mDNS, DHCP and SSDP payloads for their
 * parsers, and short slices of each capture for fuzz_pcap. Small on
 * purpose: the fuzzer grows its own corpus from them.
 *
 *   usage: seeds OUTDIR CAPTURE...
 */
#include "tests/fuzz/fuzz.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <sys/stat.h>

#include "capture/cap.h"
#include "features/decode.h"

#define PER_KIND 24     /* payload seeds per parser */
#define DECODE_MAX 96   /* packet seeds */
#define SLICE 48        /* packets per pcap slice */

struct seen {
	uint64_t keys[4096];
	size_t n;
};

/* True the first time key is seen. */
static bool first_time(struct seen *s, uint64_t key)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->keys[i] == key)
			return false;
	if (s->n < sizeof(s->keys) / sizeof(s->keys[0]))
		s->keys[s->n++] = key;
	return true;
}

static int write_seed(const char *dir, const char *name, unsigned idx, const uint8_t *pre, size_t prelen,
		      const uint8_t *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/%s/seed-%04u", dir, name, idx);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int ok = fwrite(pre, 1, prelen, f) == prelen && fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int linktype_index(int linktype)
{
	for (size_t i = 0; i < FUZZ_N_LINKTYPES; i++)
		if (fuzz_linktypes[i] == linktype)
			return (int)i;
	return -1;
}

struct seeder {
	const char *out;
	struct decoder *d;
	struct seen kinds, dns, dhcp, ssdp, dpi;
	unsigned n_decode, n_dns, n_dhcp, n_ssdp, n_pcap, n_dpi;
};

/* A fuzz_dpi seed: the first payload of each protocol and service port. */
static int seed_dpi(struct seeder *s, const struct pkt_meta *m)
{
	for (size_t i = 0; i < FUZZ_N_DPI_PORTS; i++) {
		bool reply = m->sport == fuzz_dpi_ports[i];
		if (!reply && m->dport != fuzz_dpi_ports[i])
			continue;
		if (s->n_dpi >= 2 * PER_KIND || m->payload_len > 0xffff || !first_time(&s->dpi, (uint64_t)m->proto << 16 | i))
			return 0;
		uint8_t pre[4] = {(uint8_t)(i << 1 | (m->proto == 6)), reply, (uint8_t)(m->payload_len >> 8),
				  (uint8_t)m->payload_len};
		return write_seed(s->out, "fuzz_dpi", s->n_dpi++, pre, 4, m->payload, m->payload_len);
	}
	return 0;
}

/* The payload seeds of one decoded UDP packet. */
static int seed_payload(struct seeder *s, const struct pkt_meta *m)
{
	/* One seed per message length: different lengths are different shapes. */
	uint64_t len = m->payload_len;
	bool dns = m->sport == 53 || m->dport == 53 || m->sport == 5353 || m->dport == 5353;
	if (dns && s->n_dns < PER_KIND && first_time(&s->dns, len))
		return write_seed(s->out, "fuzz_dns", s->n_dns++, NULL, 0, m->payload, m->payload_len);
	if ((m->sport == 67 || m->dport == 67) && s->n_dhcp < PER_KIND && first_time(&s->dhcp, len))
		return write_seed(s->out, "fuzz_dhcp", s->n_dhcp++, NULL, 0, m->payload, m->payload_len);
	if ((m->sport == 1900 || m->dport == 1900) && s->n_ssdp < PER_KIND && first_time(&s->ssdp, len))
		return write_seed(s->out, "fuzz_ssdp", s->n_ssdp++, NULL, 0, m->payload, m->payload_len);
	return 0;
}

static int seed_capture(struct seeder *s, const char *file)
{
	char err[256], path[512];
	int rc = -1;
	pcap_t *dead = NULL;
	pcap_dumper_t *dump = NULL;
	struct cap_source *src = cap_open_file(file, err, sizeof(err));
	if (!src) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	int lt = cap_linktype(src), li = linktype_index(lt);
	snprintf(path, sizeof(path), "%s/fuzz_pcap", s->out);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		goto out;
	snprintf(path, sizeof(path), "%s/fuzz_pcap/seed-%04u", s->out, s->n_pcap++);
	if (!(dead = pcap_open_dead(lt, 65535)) || !(dump = pcap_dump_open(dead, path))) {
		fprintf(stderr, "seeds: cannot write %s\n", path);
		goto out;
	}
	struct cap_packet p;
	for (uint64_t i = 0; cap_next(src, &p) == CAP_PACKET; i++) {
		struct pkt_meta m;
		if (i < SLICE) {
			struct pcap_pkthdr h = {.ts = {.tv_sec = (time_t)(p.ts_us / 1000000),
						       .tv_usec = (suseconds_t)(p.ts_us % 1000000)},
						.caplen = p.caplen,
						.len = p.wirelen};
			pcap_dump((u_char *)dump, &h, p.data);
		}
		enum dec_result r = dec_packet(s->d, lt, p.data, p.caplen, p.wirelen, p.ts_us, &m);
		uint16_t svc = m.sport < m.dport ? m.sport : m.dport;
		uint64_t kind = (uint64_t)r << 40 | (uint64_t)m.l3 << 32 | (uint64_t)m.proto << 16 | svc;
		if (li >= 0 && s->n_decode < DECODE_MAX && p.caplen <= 0xffff && first_time(&s->kinds, kind)) {
			uint8_t pre[3] = {(uint8_t)li, (uint8_t)(p.caplen >> 8), (uint8_t)p.caplen};
			if (write_seed(s->out, "fuzz_decode", s->n_decode++, pre, 3, p.data, p.caplen))
				goto out;
		}
		if (r == DEC_OK && m.payload_len && (m.proto == 6 || m.proto == 17) && seed_dpi(s, &m))
			goto out;
		if (r == DEC_OK && m.payload_len && m.proto == 17 && seed_payload(s, &m))
			goto out;
	}
	rc = 0;
out:
	if (dump)
		pcap_dump_close(dump);
	if (dead)
		pcap_close(dead);
	cap_close(src);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: seeds OUTDIR CAPTURE...\n");
		return 2;
	}
	static struct seeder s;
	s.out = argv[1];
	int rc = 1;
	if (!(s.d = dec_new()) || (mkdir(s.out, 0755) != 0 && errno != EEXIST))
		goto out;
	for (int a = 2; a < argc; a++)
		if (seed_capture(&s, argv[a]))
			goto out;
	printf("seeds: decode %u, dns %u, dhcp %u, ssdp %u, dpi %u, pcap %u\n", s.n_decode, s.n_dns, s.n_dhcp,
	       s.n_ssdp, s.n_dpi, s.n_pcap);
	rc = 0;
out:
	dec_free(s.d);
	return rc;
}
