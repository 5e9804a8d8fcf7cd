/*
 * The rules loader on hostile YAML. Every error is one terminal-safe line
 * (valid UTF-8, no control character), at most RULES_MAX_ERRORS plus the one
 * counting the rest; a file that loads is put in force and asked about a
 * device.
 */
#include "tests/fuzz/fuzz.h"

#include "rules/rules.h"

struct errs {
	unsigned n;
};

static void on_error(void *ctx, const char *msg)
{
	struct errs *e = ctx;
	e->n++;
	fuzz_check_line(msg, 4096);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_memfile(data, size, path, sizeof(path));
	if (fd < 0)
		return 0;
	struct errs e = {0};
	struct rules *rs = rules_load(path, on_error, &e);
	FUZZ_CHECK(e.n <= RULES_MAX_ERRORS + 1);
	FUZZ_CHECK(rs ? e.n == 0 : e.n > 0);
	if (rs) {
		size_t up, ex;
		rules_count(rs, &up, &ex);
		FUZZ_CHECK(up + ex <= RULES_MAX_RULES);
		struct rules_engine *eng = rules_engine_new();
		if (!eng) {
			rules_free(rs);
			goto out;
		}
		rules_engine_set(eng, rs);
		static const uint8_t key[16] = {0x02, 0, 0, 0, 0, 1};
		struct rules_device dev = {.has_mac = true, .mac = {0x02, 0, 0, 0, 0, 1}, .hostname = "cam", .kind = "camera"};
		struct rules_peer peer = {.name = "fw.example.com", .port = 443, .proto = 6};
		FUZZ_CHECK(ip_parse("203.0.113.7", &peer.ip) == 0);
		struct rules_update u;
		rules_engine_flow(eng, key, &dev, &peer, 1000000, &u);
		const char *by = rules_engine_suppress(eng, key, &dev, "new_destination", &peer, 2000000);
		if (by)
			rules_engine_record(eng, by);
		struct rules_stat st;
		for (size_t i = 0; rules_engine_stat(eng, i, &st); i++)
			FUZZ_CHECK(st.name != NULL);
		rules_engine_free(eng);
	}
out:
	close(fd);
	return 0;
}
