/*
 * redispub — sustained alert throughput of the publisher to a Redis:
 * N copies of a real alert (its JSON read from a file) submitted as fast as
 * the queue takes them, timed until publisher_close() returns, that is
 * until Redis confirmed the last one (or it was spooled).
 *
 *   redispub URL N ALERT.json SPOOL_DIR
 *
 * Prints "N seconds alerts/s published spooled delivered_from_spool dropped".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detector/publisher.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: redispub URL N ALERT.json SPOOL_DIR\n");
		return 2;
	}
	char *end;
	unsigned long n = strtoul(argv[2], &end, 10);
	if (*end || n == 0) {
		fprintf(stderr, "redispub: N must be a positive number\n");
		return 2;
	}
	FILE *f = fopen(argv[3], "r");
	char json[65536];
	if (!f || !fgets(json, sizeof(json), f)) {
		fprintf(stderr, "redispub: %s: cannot read an alert line\n", argv[3]);
		return 1;
	}
	fclose(f);
	json[strcspn(json, "\n")] = '\0';

	struct pub_config c;
	pub_config_defaults(&c);
	c.url = argv[1];
	c.gateway_id = "bench";
	c.spool.dir = argv[4];
	struct publisher *p;
	char err[768];
	if (publisher_new(&c, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "redispub: %s\n", err);
		return 1;
	}
	char id[17];
	struct pub_alert a = {.alert_id = id, .device = "c0:56:e3:fa:8a:c3", .kind = "unexpected_destination",
			      .severity = "medium", .json = json};
	double t0 = now_s();
	for (unsigned long i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%016lx", i);
		if (publisher_submit(p, &a) != 0) {
			fprintf(stderr, "redispub: alert %lu not queued\n", i);
			return 1;
		}
	}
	struct pub_stats st;
	publisher_close(p, &st);
	double s = now_s() - t0;
	printf("%lu %.3f %.0f %llu %llu %llu %llu\n", n, s, (double)n / s, (unsigned long long)st.published,
	       (unsigned long long)st.spooled, (unsigned long long)st.delivered_from_spool,
	       (unsigned long long)st.dropped);
	return 0;
}
