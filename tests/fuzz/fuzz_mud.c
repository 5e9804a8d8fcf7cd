/*
 * The MUD importer on hostile JSON. Reports and errors are terminal-safe
 * lines; what an import writes is always a rules file the rules loader
 * accepts.
 */
#include "tests/fuzz/fuzz.h"

#include "rules/mud.h"
#include "rules/rules.h"

static void on_report(void *ctx, const char *path, const char *msg)
{
	(void)ctx;
	fuzz_check_line(path, 1 << 16);
	fuzz_check_line(msg, 1 << 16);
}

static void on_rules_error(void *ctx, const char *msg)
{
	fprintf(stderr, "import wrote a rules file the loader refuses:\n%s\n%s\n", (const char *)ctx, msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = malloc(size + 1), *yaml = NULL, err[512] = "";
	if (!json)
		return 0;
	memcpy(json, data, size);
	json[size] = 0;
	int rc = mud_import(json, size, "all", &yaml, on_report, NULL, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == MUD_ERR_INVALID || rc == MUD_ERR_NOMEM);
	if (rc) {
		FUZZ_CHECK(yaml == NULL);
		fuzz_check_line(err, sizeof(err));
		FUZZ_CHECK(err[0] != 0);
	} else {
		FUZZ_CHECK(yaml != NULL);
		char path[64];
		int fd = fuzz_memfile((const uint8_t *)yaml, strlen(yaml), path, sizeof(path));
		if (fd >= 0) {
			struct rules *rs = rules_load(path, on_rules_error, yaml);
			FUZZ_CHECK(rs != NULL);
			rules_free(rs);
			close(fd);
		}
	}
	free(yaml);
	free(json);
	return 0;
}
