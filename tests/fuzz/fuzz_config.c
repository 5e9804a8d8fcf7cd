/*
 * The configuration loader on hostile YAML: a refused file leaves the
 * configuration exactly as it was and says why in one terminal-safe line.
 */
#include "tests/fuzz/fuzz.h"

#include "cli/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct iotids_config cfg, before;
	char path[64], err[512] = "";
	int fd = fuzz_memfile(data, size, path, sizeof(path));
	if (fd < 0)
		return 0;
	cfg_defaults(&cfg);
	cfg_defaults(&before);
	int rc = cfg_load(&cfg, path, err, sizeof(err));
	FUZZ_CHECK(rc <= 0);
	if (rc) {
		FUZZ_CHECK(memcmp(&cfg, &before, sizeof(cfg)) == 0);
		FUZZ_CHECK(err[0] != 0);
		fuzz_check_line(err, sizeof(err));
	} else {
		FUZZ_CHECK(cfg.n_home_nets <= CFG_MAX_HOME_NETS);
	}
	close(fd);
	return 0;
}
