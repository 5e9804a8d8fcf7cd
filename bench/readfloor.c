/*
 * readfloor — the floor iotids replay is measured against: a plain
 * pcap_next_ex loop over the same file that touches each packet's first and
 * last byte (so the bytes are really read) and does nothing else.
 * With --buffer BYTES it reads through a stdio buffer of that size, as
 * iotids does, instead of libpcap's default.
 * Prints: packets seconds packets_per_second.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	size_t bufsize = 0;
	if (argc == 4 && strcmp(argv[1], "--buffer") == 0) {
		bufsize = strtoul(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: readfloor [--buffer BYTES] FILE\n");
		return 2;
	}
	FILE *fp = fopen(argv[1], "rb");
	char *buf = bufsize ? malloc(bufsize) : NULL;
	if (!fp || (bufsize && !buf)) {
		perror(argv[1]);
		return 1;
	}
	if (buf)
		setvbuf(fp, buf, _IOFBF, bufsize);
	pcap_t *p = pcap_fopen_offline(fp, err);
	if (!p) {
		fprintf(stderr, "readfloor: %s\n", err);
		return 1;
	}
	struct timespec a, b;
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t n = 0, sum = 0;
	int rc;
	clock_gettime(CLOCK_MONOTONIC, &a);
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		n++;
		if (h->caplen)
			sum += d[0] + d[h->caplen - 1];
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	pcap_close(p);
	free(buf);
	if (rc != PCAP_ERROR_BREAK) {
		fprintf(stderr, "readfloor: read error after %llu packets\n", (unsigned long long)n);
		return 1;
	}
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%llu %.6f %.0f\n", (unsigned long long)n, s, s > 0 ? (double)n / s : 0.0);
	return sum == UINT64_MAX; /* keeps the loads from being optimised away */
}
