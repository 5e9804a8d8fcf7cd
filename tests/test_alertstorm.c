/*
 * Tests for `iotgen alertstorm` (pcaps/gen/alertstorm.c), run as a user
 * would from $IOTGEN_BIN into a scratch directory: a run is a pure function
 * of its seed, and writes exactly the records asked for.
 */
#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/genrun.h"

/* Enough to get past the ten minutes of routine (~210 packets/s) into the
 * new contacts and the first bursts, so every code path is compared. */
#define STORM_PACKETS 200000
#define STORM_PACKETS_S "200000"

TestSuite(alertstorm, .init = genrun_setup, .fini = genrun_teardown, .timeout = 60);

Test(alertstorm, same_seed_gives_same_bytes_and_exactly_p_records)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t n = 0, last = 0;
	pcap_t *p;

	cr_assert_eq(genrun_run("alertstorm", "--seed", "7", "--packets", STORM_PACKETS_S, "-o", genrun_path("a.pcap"),
				NULL), 0);
	cr_assert_eq(genrun_run("alertstorm", "--seed", "7", "--packets", STORM_PACKETS_S, "-o", genrun_path("b.pcap"),
				NULL), 0);
	cr_assert_eq(genrun_run("alertstorm", "--seed", "8", "--packets", STORM_PACKETS_S, "-o", genrun_path("c.pcap"),
				NULL), 0);
	cr_assert(genrun_same_file(genrun_path("a.pcap"), genrun_path("b.pcap")), "same seed, different bytes");
	cr_assert_not(genrun_same_file(genrun_path("a.pcap"), genrun_path("c.pcap")), "different seeds, same bytes");

	p = pcap_open_offline(genrun_path("a.pcap"), err);
	cr_assert_not_null(p, "libpcap cannot open the capture: %s", err);
	cr_assert_eq(pcap_datalink(p), DLT_EN10MB);
	while (pcap_next_ex(p, &h, &d) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;

		cr_assert_geq(ts, last, "record %llu goes back in time", (unsigned long long)n);
		last = ts;
		n++;
	}
	pcap_close(p);
	cr_assert_eq(n, STORM_PACKETS, "%llu records, asked for " STORM_PACKETS_S, (unsigned long long)n);
}
