/*
 * The DHCPv4 parser on a UDP payload: every text field is safe text, and
 * the message type has a name.
 */
#include "tests/fuzz/fuzz.h"

#include "features/dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	struct dhcp_msg m;
	int rc = dhcp_parse(p, size, &m);
	FUZZ_CHECK(strcmp(dhcp_error_name(rc), "unknown") != 0);
	FUZZ_CHECK(dhcp_msg_type_name(m.msg_type) != NULL);
	fuzz_check_text(m.hostname, sizeof(m.hostname));
	fuzz_check_text(m.vendor_class, sizeof(m.vendor_class));
	fuzz_check_text(m.param_list, sizeof(m.param_list));
	fuzz_check_text(m.client_id, sizeof(m.client_id));
	fuzz_check_text(m.fqdn, sizeof(m.fqdn));
	free(p);
	return 0;
}
