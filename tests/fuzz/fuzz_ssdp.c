/*
 * The SSDP parser on a UDP payload: every header kept is safe text.
 */
#include "tests/fuzz/fuzz.h"

#include "features/ssdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	struct ssdp_msg m;
	int rc = ssdp_parse(p, size, &m);
	FUZZ_CHECK(strcmp(ssdp_error_name(rc), "unknown") != 0);
	FUZZ_CHECK(ssdp_kind_name(m.kind) != NULL);
	const char *fields[] = {m.server, m.user_agent, m.usn, m.nt, m.nts, m.st, m.location, m.man};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		fuzz_check_text(fields[i], SSDP_TEXT_MAX);
	free(p);
	return 0;
}
