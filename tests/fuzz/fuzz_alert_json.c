/*
 * The alert JSON encoder on hostile names: a device hostname, the alert's
 * subject and its reasons taken from the input (NUL-separated). Whatever the
 * bytes, the alert is encoded (never dropped), the result is valid JSON, and
 * each text comes back as its safe form (features/text.h): safe text exactly
 * as it went in.
 */
#include "tests/fuzz/fuzz.h"

#include <jansson.h>

#include "cli/cli.h"
#include "features/identity.h"
#include "features/intern.h"

/* The next NUL-terminated field of data, cut to cap - 1 bytes, into out. */
static size_t next_field(const uint8_t *data, size_t size, size_t *off, char *out, size_t cap)
{
	size_t n = 0;
	while (*off < size && data[*off] != 0) {
		if (n + 1 < cap)
			out[n++] = (char)data[*off];
		(*off)++;
	}
	if (*off < size)
		(*off)++;
	out[n] = 0;
	return n;
}

static void check_same(json_t *v, const char *sent)
{
	FUZZ_CHECK(json_is_string(v));
	const char *got = json_string_value(v);
	fuzz_check_text(got, strlen(got) + 1);
	if (text_is_safe(sent)) {
		FUZZ_CHECK(strcmp(got, sent) == 0);
	} else {
		char *want = text_safe_dup(sent);
		FUZZ_CHECK(want && strcmp(got, want) == 0);
		free(want);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char host[300], feature[64], rule[128];
	struct intern *names = intern_new(64, 1);
	struct ident_table *it = names ? ident_new(names) : NULL;
	if (!it)
		goto out;
	struct device dev = {.id = 1, .has_mac = size > 0 && (data[0] & 1), .mac = {0x02, 0, 0, 0, 0, 1}};
	struct det_alert a = {.kind = "new_destination", .severity = "high", .score = 0.9, .dev = &dev,
			      .state = DET_ENFORCING, .maturity = 1};
	memcpy(a.alert_id, "0123456789abcdef", 17);
	size_t off = size > 0 ? 1 : 0;
	next_field(data, size, &off, host, sizeof(host));
	next_field(data, size, &off, a.key, sizeof(a.key));
	a.n_reasons = 1;
	a.reasons[0].feature = feature;
	a.reasons[0].contribution = 1;
	next_field(data, size, &off, feature, sizeof(feature));
	next_field(data, size, &off, a.reasons[0].observed, sizeof(a.reasons[0].observed));
	next_field(data, size, &off, a.reasons[0].baseline, sizeof(a.reasons[0].baseline));
	if (next_field(data, size, &off, rule, sizeof(rule)))
		a.suppressed_by = rule;
	if (host[0])
		ident_add(it, &dev, IDENT_DHCP_HOSTNAME, host, 1);
	struct out_ctx oc = {0};
	char *s = out_alert_string(&oc, &a);
	FUZZ_CHECK(s != NULL);
	json_error_t e;
	json_t *o = json_loads(s, 0, &e);
	FUZZ_CHECK(o != NULL);
	check_same(json_object_get(o, "about"), a.key);
	json_t *r = json_array_get(json_object_get(o, "reasons"), 0);
	check_same(json_object_get(r, "feature"), feature);
	check_same(json_object_get(r, "observed"), a.reasons[0].observed);
	check_same(json_object_get(r, "baseline"), a.reasons[0].baseline);
	if (a.suppressed_by)
		check_same(json_object_get(o, "suppressed_by"), rule);
	char hb[INTERN_MAX_LEN + 1];
	const char *h = ident_hostname(&dev, hb, sizeof(hb));
	if (h)
		check_same(json_object_get(json_object_get(o, "device"), "hostname"), h);
	json_decref(o);
	free(s);
	ident_device_gone(it, &dev);
out:
	ident_free(it);
	intern_free(names);
	return 0;
}
