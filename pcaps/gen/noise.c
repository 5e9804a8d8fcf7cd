/*
 * noise — every record is 0..200 random bytes (captured length = wire
 * length) under linktype EN10MB, at increasing timestamps. No engine is
 * needed: records are produced and written in order.
 */
#include "pcaps/gen/noise.h"

#include <string.h>

#include "pcaps/gen/cli.h"
#include "pcaps/gen/pcapw.h"
#include "pcaps/gen/prng.h"

#define NOISE_MAXLEN 200
#define NOISE_START_US 1772431200000000ULL /* 2026-03-02T06:00:00Z */

static const char usage[] =
	"usage: iotgen noise --seed N --packets P -o OUT.pcap\n"
	"  Writes P records of 0..200 random bytes each (EN10MB, increasing\n"
	"  timestamps). Same seed and count give the same file.\n";

int gen_noise_main(int argc, char **argv)
{
	uint8_t buf[NOISE_MAXLEN];
	struct cli_bulk b;
	struct prng r;
	struct pw *w;
	uint64_t ts = NOISE_START_US;
	int rc, err;

	rc = cli_parse_bulk(argc, argv, "noise", usage, UINT64_C(1) << 32, &b);
	if (rc >= 0)
		return rc;
	err = pw_open(&w, b.out);
	if (err)
		return cli_runtime_error("noise", "%s: %s", b.out, strerror(-err));
	prng_seed(&r, b.seed, prng_hash("noise"));
	for (uint64_t i = 0; i < b.packets && !err; i++) {
		uint32_t len = (uint32_t)prng_below(&r, NOISE_MAXLEN + 1);

		prng_fill(&r, buf, len);
		ts += 1 + prng_below(&r, 200);
		err = pw_write(w, ts, buf, len, len);
	}
	rc = pw_close(w);
	if (!err)
		err = rc;
	if (err)
		return cli_runtime_error("noise", "writing %s: %s", b.out, strerror(-err));
	return CLI_OK;
}
