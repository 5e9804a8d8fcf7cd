/*
 * Tests for rules/mud.c and cli/mud.c: RFC 8520 MUD files imported as
 * rules (the RFC's own example, every unsupported construct reported with
 * its JSON path, invalid files refused naming the path, bounds, hostile
 * names through the YAML emitter) and learned profiles exported as MUD
 * files, imported back and loaded by the rules engine, which must then
 * suppress an alert for every destination, peer and service learned.
 *
 * The YAML is read back with libyaml's loader, so what is checked is what
 * any YAML reader sees, not the text. Profiles are built by feeding the
 * detector flows by hand at fixed capture times, as test_detector.c does.
 */
#include "rules/mud.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "detector/store.h"
#include "features/decode.h"
#include "features/intern.h"
#include "rules/rules.h"

/* cli/mud.c; the command tables dispatch to them. */
int cli_rules_import_mud(int argc, char **argv);
int cli_profile_export_mud(int argc, char **argv);

#define S 1000000ull
#define TCP 6
#define UDP 17
/* 2026-03-02T06:00:00Z: the first flow of every profile. */
#define T0 (1772431200ull * S)
#define RFC_EXAMPLE "tests/data/mud/rfc8520-example.json"
#define UNSUPPORTED "tests/data/mud/unsupported.json"
#define MAC "02:00:00:00:00:01"

/* ---- reports and files ---- */

#define REPORTS_MAX 64

struct reports {
	size_t n;
	char r[REPORTS_MAX][1200];
};

static struct reports reps;
static char dir[64];

static void collect(void *ctx, const char *path, const char *msg)
{
	struct reports *r = ctx;
	cr_assert_lt(r->n, REPORTS_MAX, "too many reports");
	snprintf(r->r[r->n++], sizeof(r->r[0]), "%s: %s", path, msg);
}

/* The report that starts with path, NULL when none. */
static const char *report_at(const char *path)
{
	for (size_t i = 0; i < reps.n; i++)
		if (!strncmp(reps.r[i], path, strlen(path)) && !strncmp(reps.r[i] + strlen(path), ": ", 2))
			return reps.r[i];
	return NULL;
}

static void setup(void)
{
	memset(&reps, 0, sizeof(reps));
	snprintf(dir, sizeof(dir), "/tmp/iotids-mud-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(mud, .init = setup, .fini = teardown);

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	char *buf = malloc(MUD_MAX_BYTES + 1);
	cr_assert_not_null(buf);
	*len = fread(buf, 1, MUD_MAX_BYTES, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fputs(text, f) >= 0, true);
	cr_assert_eq(fclose(f), 0);
}

/* Imports the file at path for selector; the YAML, which must be there. */
static char *import_file(const char *path, const char *selector)
{
	size_t len;
	char err[512], *json = slurp(path, &len), *yaml = NULL;
	int rc = mud_import(json, len, selector, &yaml, collect, &reps, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s: %s", path, err);
	cr_assert_not_null(yaml);
	free(json);
	return yaml;
}

/* Test JSON is written with ' for " (none of it needs a quote). */
static char *dq(const char *s)
{
	char *t = strdup(s);
	cr_assert_not_null(t);
	for (char *c = t; *c; c++)
		if (*c == '\'')
			*c = '"';
	return t;
}

/* The error importing json (with ' for ") gives; it must fail with code. */
static void expect_error(const char *json_q, int code, const char *want)
{
	char err[512], *yaml = NULL, *json = dq(json_q);
	int rc = mud_import(json, strlen(json), "all", &yaml, collect, &reps, err, sizeof(err));
	cr_expect_eq(rc, code, "%s: rc %d (%s)", json, rc, rc ? err : "imported");
	cr_expect_null(yaml);
	if (rc)
		cr_expect_str_eq(err, want, "for %s: got %s", json, err);
	free(yaml);
	free(json);
}

/* A valid MUD file whose from-device ACL "a" holds the ACEs given. */
#define ONE_ACL(aces)                                                                                                  \
	"{'ietf-mud:mud': {'mud-version': 1, 'mud-url': 'https://x.example/m', "                                       \
	"'last-update': '2026-01-01T00:00:00Z', 'is-supported': true, "                                                \
	"'from-device-policy': {'access-lists': {'access-list': [{'name': 'a'}]}}}, "                                 \
	"'ietf-access-control-list:acls': {'acl': [{'name': 'a', 'type': 'ipv4-acl-type', "                          \
	"'aces': {'ace': [" aces "]}}]}}"
#define ACE(matches) "{'name': 'e', 'matches': {" matches "}, 'actions': {'forwarding': 'accept'}}"
#define ACE0 "ietf-access-control-list:acls.acl[0].aces.ace[0]"

/* ---- YAML read back ---- */

struct ydoc {
	yaml_document_t doc;
};

static void yload(struct ydoc *y, const char *text)
{
	yaml_parser_t p;
	cr_assert(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	cr_assert(yaml_parser_load(&p, &y->doc), "not YAML (%s, line %zu):\n%s", p.problem ? p.problem : "?",
		  p.problem_mark.line + 1, text);
	yaml_parser_delete(&p);
	cr_assert_not_null(yaml_document_get_root_node(&y->doc), "an empty document");
}

static void yfree(struct ydoc *y)
{
	yaml_document_delete(&y->doc);
}

static const char *ystr(const yaml_node_t *n)
{
	cr_assert_not_null(n);
	cr_assert_eq(n->type, YAML_SCALAR_NODE, "not a scalar");
	return (const char *)n->data.scalar.value;
}

/* map[key], NULL when absent. */
static yaml_node_t *yget(struct ydoc *y, const yaml_node_t *map, const char *key)
{
	cr_assert_not_null(map);
	cr_assert_eq(map->type, YAML_MAPPING_NODE, "not a mapping (looking for %s)", key);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
		if (!strcmp(ystr(yaml_document_get_node(&y->doc, p->key)), key))
			return yaml_document_get_node(&y->doc, p->value);
	return NULL;
}

static size_t ylen(const yaml_node_t *seq)
{
	cr_assert_not_null(seq);
	cr_assert_eq(seq->type, YAML_SEQUENCE_NODE, "not a list");
	return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

static yaml_node_t *yat(struct ydoc *y, const yaml_node_t *seq, size_t i)
{
	cr_assert_lt(i, ylen(seq));
	return yaml_document_get_node(&y->doc, seq->data.sequence.items.start[i]);
}

/* A list of scalars as "a,b,c"; NULL for an absent key. Each must have
 * been written so that it reads back as a string: quoted unless plain is
 * unambiguous (never a bare 443). */
static const char *yjoin(struct ydoc *y, const yaml_node_t *seq, char *buf, size_t len)
{
	if (!seq)
		return NULL;
	buf[0] = '\0';
	for (size_t i = 0; i < ylen(seq); i++) {
		yaml_node_t *n = yat(y, seq, i);
		const char *s = ystr(n);
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			cr_expect(s[0] < '0' || s[0] > '9', "%s is plain: a reader takes it for a number", s);
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "," : "", s);
	}
	return buf;
}

static yaml_node_t *exceptions(struct ydoc *y)
{
	yaml_node_t *root = yaml_document_get_root_node(&y->doc);
	cr_assert_str_eq(ystr(yget(y, root, "version")), "1");
	return yget(y, root, "exceptions");
}

/* Exception i is exactly this: devices as "all" or "key=value", lists
 * as "a,b" (NULL: the key is absent). */
static void expect_rule(struct ydoc *y, size_t i, const char *name, const char *devices, const char *dests,
			const char *ports, const char *kinds, const char *reason)
{
	char got[512], want[64];
	yaml_node_t *r = yat(y, exceptions(y), i);
	cr_expect_str_eq(ystr(yget(y, r, "name")), name);
	yaml_node_t *dv = yget(y, r, "devices");
	if (dv->type == YAML_MAPPING_NODE) {
		cr_assert_eq(dv->data.mapping.pairs.top - dv->data.mapping.pairs.start, 1);
		yaml_node_pair_t *p = dv->data.mapping.pairs.start;
		snprintf(got, sizeof(got), "%s=%s", ystr(yaml_document_get_node(&y->doc, p->key)),
			 ystr(yaml_document_get_node(&y->doc, p->value)));
		cr_expect_str_eq(got, devices, "rule %s", name);
	} else {
		cr_expect_str_eq(ystr(dv), devices, "rule %s", name);
	}
	const char *kv[3][2] = {{"destinations", dests}, {"ports", ports}, {"kinds", kinds}};
	for (int k = 0; k < 3; k++) {
		const char *j = yjoin(y, yget(y, r, kv[k][0]), got, sizeof(got));
		snprintf(want, sizeof(want), "%s", kv[k][1] ? kv[k][1] : "(absent)");
		cr_expect_str_eq(j ? j : "(absent)", want, "rule %s, %s", name, kv[k][0]);
	}
	cr_expect_str_eq(ystr(yget(y, r, "reason")), reason, "rule %s", name);
	size_t keys = (size_t)(r->data.mapping.pairs.top - r->data.mapping.pairs.start);
	cr_expect_eq(keys, 3 + !!dests + !!ports + !!kinds, "rule %s has other keys", name);
}

/* ---- import: the RFC's example ---- */

Test(mud, the_rfc8520_example_gives_one_exception_for_its_from_device_ace)
{
	struct ydoc y;
	char *yaml = import_file(RFC_EXAMPLE, "mac=AA:BB:CC:DD:EE:FF");
	yload(&y, yaml);
	cr_assert_eq(ylen(exceptions(&y)), 1, "%s", yaml);
	expect_rule(&y, 0, "mud-76100-v6fr.cl0-frdev", "mac=aa:bb:cc:dd:ee:ff", "test.example.com", "443/tcp",
		    "unexpected_destination,new_port",
		    "MUD https://lighting.example.com/lightbulb2000 acl mud-76100-v6fr ace cl0-frdev");
	cr_expect_null(yget(&y, yaml_document_get_root_node(&y.doc), "controllers"));
	yfree(&y);
	free(yaml);
}

Test(mud, the_rfc8520_example_reports_its_to_device_ace_as_answers_that_need_no_rule)
{
	free(import_file(RFC_EXAMPLE, "all"));
	cr_assert_eq(reps.n, 1, "%zu reports (first: %s)", reps.n, reps.r[0]);
	cr_expect_str_eq(reps.r[0], "ietf-access-control-list:acls.acl[0].aces.ace[0].matches.tcp.ietf-mud:"
				    "direction-initiated: from-device in a to-device ACL: answers to flows the device "
				    "starts, which iotids never alerts on (no rule needed for this ACE)");
}

/* ---- import: what rules cannot say ---- */

Test(mud, every_unsupported_construct_is_reported_with_its_json_path)
{
	static const char *const at[][2] = {
		{"ietf-mud:mud.extensions[0]", "extension \"ol\": not supported: ignored"},
		{"ietf-mud:mud.x-vendor-note", "unknown key: ignored"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[2].matches.ietf-mud:mud.same-manufacturer",
		 "not supported: iotids does not know which devices a manufacturer or model made (no rule made for this "
		 "ACE)"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[3].matches.ietf-mud:mud.manufacturer",
		 "not supported: iotids does not know which devices a manufacturer or model made (no rule made for this "
		 "ACE)"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[4].matches.ietf-mud:mud.model",
		 "not supported: iotids does not know which devices a manufacturer or model made (no rule made for this "
		 "ACE)"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[5].actions.forwarding",
		 "drop: not supported: iotids alerts on what no rule allows, a rule cannot deny (no rule made for this ACE)"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[6].matches.icmp",
		 "ICMP type and code: not supported: rules match TCP and UDP ports (no rule made for this ACE)"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[7].matches.tcp.source-port",
		 "source-port: not supported: rules match the service port only (no rule made for this ACE)"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[8].matches.ipv4.dscp",
		 "not supported: rules do not match header fields (no rule made for this ACE)"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[9].matches.ipv4.x-future",
		 "unknown key: not supported (no rule made for this ACE)"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[17].matches",
		 "ietf-acldns:dst-dnsname and local-networks: not supported: a rule matches one destination of an ACE, "
		 "not all at once (no rule made for this ACE)"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[18].matches.ipv4.source-ipv4-network",
		 "the device's own address: not supported: the rule's devices: says which device (no rule made for this "
		 "ACE)"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[19].matches.tcp.ietf-mud:direction-initiated",
		 "to-device in a from-device ACL: the device's answers to flows others start; not supported: a to-device "
		 "ACE says the service (no rule made for this ACE)"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[19].matches.tcp.source-port",
		 "source-port: not supported: rules match the service port only (no rule made for this ACE)"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[20].matches.ipv4.ietf-acldns:dst-dnsname",
		 "\"*.example.com\" is not a host name: not supported (no rule made for this ACE)"},
		{"ietf-access-control-list:acls.acl[0].aces.ace[22].actions.logging",
		 "ignored: iotids records every alert a rule suppresses"},
		{"ietf-access-control-list:acls.acl[3].type",
		 "eth-acl-type: not supported: rules match IP flows (no rules made for this ACL)"},
		{"ietf-access-control-list:acls.acl[2].aces.ace[2].matches.tcp.ietf-mud:direction-initiated",
		 "from-device in a to-device ACL: answers to flows the device starts, which iotids never alerts on (no "
		 "rule needed for this ACE)"},
		{"ietf-access-control-list:acls.acl[2].aces.ace[3].matches.ipv4.ietf-acldns:dst-dnsname",
		 "the device's own name: not supported: the rule's devices: says which device (no rule made for this ACE)"},
		{"ietf-access-control-list:acls.acl[4]",
		 "named by neither from-device-policy nor to-device-policy: no rules made"},
	};
	free(import_file(UNSUPPORTED, "all"));
	size_t n = sizeof(at) / sizeof(at[0]);
	for (size_t i = 0; i < n && i < reps.n; i++) {
		char line[1200];
		snprintf(line, sizeof(line), "%s: %s", at[i][0], at[i][1]);
		cr_expect_str_eq(reps.r[i], line, "report %zu", i);
	}
	cr_expect_eq(reps.n, n, "%zu reports, want %zu", reps.n, n);
}

Test(mud, the_supported_aces_beside_unsupported_ones_still_become_rules)
{
	static const char *const rules[][5] = {
		/* name, destinations, ports, kinds, ACL and ACE of the reason */
		{"frdev-v4.cloud", "api.example.com", "443/tcp", "unexpected_destination,new_port", "frdev-v4 ace cloud"},
		{"frdev-v4.ntp", "pool.ntp.org", "123/udp", "unexpected_destination,new_port", "frdev-v4 ace ntp"},
		{"frdev-v4.lan", "lan", "8080/tcp", "new_lan_peer", "frdev-v4 ace lan"},
		{"frdev-v4.ctl", "controller:urn:ietf:params:mud:dns", "53/udp",
		 "unexpected_destination,new_port,new_lan_peer", "frdev-v4 ace ctl"},
		{"frdev-v4.myctl", "controller:https://plug.example.com/plug-v2", NULL,
		 "unexpected_destination,new_port,new_lan_peer", "frdev-v4 ace myctl"},
		{"frdev-v4.net", "203.0.113.0/24", "8000-8100/tcp", "unexpected_destination,new_port", "frdev-v4 ace net"},
		{"frdev-v4.lte", "low.example.com", "1-1023/tcp", "unexpected_destination,new_port", "frdev-v4 ace lte"},
		{"frdev-v4.neq", "neq.example.com", "1-52/udp,54-65535/udp", "unexpected_destination,new_port",
		 "frdev-v4 ace neq"},
		{"frdev-v4.lan-net", "192.168.1.0/24", "1-65535/udp", "new_lan_peer", "frdev-v4 ace lan-net"},
		{"frdev-v4.any", NULL, NULL, "unexpected_destination,new_port,new_lan_peer", "frdev-v4 ace any"},
		{"frdev-v4.logged", "log.example.com", "443/tcp", "unexpected_destination,new_port", "frdev-v4 ace logged"},
		{"frdev-v6.v6cloud", "api6.example.com", "443/tcp", "unexpected_destination,new_port",
		 "frdev-v6 ace v6cloud"},
		{"frdev-v6.gte", "2001:db8::/32", "50000-65535/tcp", "unexpected_destination,new_port", "frdev-v6 ace gte"},
		{"todev-v4.svc", "lan", "80/tcp", "new_inbound_service", "todev-v4 ace svc"},
		{"todev-v4.coap-any", NULL, "5683/udp", "new_inbound_service", "todev-v4 ace coap-any"},
	};
	struct ydoc y;
	char *yaml = import_file(UNSUPPORTED, "vendor=Tuya*");
	yload(&y, yaml);
	size_t n = sizeof(rules) / sizeof(rules[0]);
	cr_assert_eq(ylen(exceptions(&y)), n, "%s", yaml);
	for (size_t i = 0; i < n; i++) {
		char reason[160];
		snprintf(reason, sizeof(reason), "MUD https://plug.example.com/plug-v2 acl %s", rules[i][4]);
		expect_rule(&y, i, rules[i][0], "vendor=Tuya*", rules[i][1], rules[i][2], rules[i][3], reason);
	}
	/* The controllers the ACEs name, with no addresses: a person fills them in. */
	yaml_node_t *ctl = yget(&y, yaml_document_get_root_node(&y.doc), "controllers");
	cr_assert_not_null(ctl);
	cr_assert_eq(ctl->data.mapping.pairs.top - ctl->data.mapping.pairs.start, 2);
	cr_expect_eq(ylen(yget(&y, ctl, "urn:ietf:params:mud:dns")), 0);
	cr_expect_eq(ylen(yget(&y, ctl, "https://plug.example.com/plug-v2")), 0);
	yfree(&y);
	free(yaml);
}

Test(mud, the_rules_made_load_in_the_rules_engine)
{
	char path[128], *yaml = import_file(UNSUPPORTED, "mac=" MAC);
	snprintf(path, sizeof(path), "%s/mud.yaml", dir);
	spit(path, yaml);
	struct rules *rs = rules_load(path, NULL, NULL);
	cr_assert_not_null(rs, "rules_load refused:\n%s", yaml);
	size_t up, ex;
	rules_count(rs, &up, &ex);
	cr_expect_eq(up, 0);
	cr_expect_eq(ex, 15);
	rules_free(rs);
	free(yaml);
}

Test(mud, a_host_name_that_would_read_as_a_pattern_makes_no_rule)
{
	static const char *const names[] = {"*.example.com", "lan", "domain:example.com", "controller:x",
					    "10.0.0.0/8", "a b.example.com", "exa\\nmple.com", "-x..com"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char json[1024], *yaml = NULL, err[256];
		struct ydoc y;
		snprintf(json, sizeof(json), ONE_ACL(ACE("'ipv4': {'ietf-acldns:dst-dnsname': '%s'}")), names[i]);
		for (char *c = json; *c; c++)
			*c = *c == '\'' ? '"' : *c;
		memset(&reps, 0, sizeof(reps));
		cr_assert_eq(mud_import(json, strlen(json), "all", &yaml, collect, &reps, err, sizeof(err)), 0, "%s", err);
		yload(&y, yaml);
		cr_expect_eq(ylen(exceptions(&y)), 0, "%s made a rule", names[i]);
		cr_expect_not_null(report_at(ACE0 ".matches.ipv4.ietf-acldns:dst-dnsname"), "%s was not reported", names[i]);
		yfree(&y);
		free(yaml);
	}
}

/* ---- import: invalid files ---- */

Test(mud, invalid_json_is_refused_with_its_line_and_column)
{
	expect_error("{'ietf-mud:mud': {\n  'mud-version': 1,,\n}}", MUD_ERR_INVALID,
		     "not JSON: line 2, column 20: string or '}' expected near ','");
	expect_error("{'ietf-mud:mud': {}, 'ietf-mud:mud': {}}", MUD_ERR_INVALID,
		     "not JSON: line 1, column 35: duplicate object key near '\"ietf-mud:mud\"'");
}

Test(mud, wrong_types_and_missing_leaves_are_refused_naming_the_json_path)
{
	static const char *const cases[][2] = {
		{"[]", "(top level): want an object"},
		{"{}", "ietf-mud:mud: missing"},
		{"{'ietf-mud:mud': []}", "ietf-mud:mud: want an object"},
		{"{'ietf-mud:mud': {'mud-version': '1'}}", "ietf-mud:mud.mud-version: want an integer"},
		{"{'ietf-mud:mud': {'mud-version': 2}}", "ietf-mud:mud.mud-version: 2: only version 1 exists"},
		{"{'ietf-mud:mud': {'mud-version': 1}}", "ietf-mud:mud.mud-url: missing"},
		{"{'ietf-mud:mud': {'mud-version': 1, 'mud-url': 'https://x/\\nevil'}}",
		 "ietf-mud:mud.mud-url: \"https://x/\\x0aevil\" is not a URI (printable ASCII, at most 1024 bytes)"},
		{"{'ietf-mud:mud': {'mud-version': 1, 'mud-url': 'https://x', 'last-update': 'now', 'is-supported': 'yes'}}",
		 "ietf-mud:mud.is-supported: want true or false"},
		{"{'ietf-mud:mud': {'mud-version': 1, 'mud-url': 'https://x', 'last-update': 'now', 'is-supported': true, "
		 "'cache-validity': 500}}",
		 "ietf-mud:mud.cache-validity: 500 is not in 1..168"},
		{"{'ietf-mud:mud': {'mud-version': 1, 'mud-url': 'https://x', 'last-update': 'now', 'is-supported': true}, "
		 "'ietf-access-control-list:acls': {'acl': {}}}",
		 "ietf-access-control-list:acls.acl: want an array"},
		{"{'ietf-mud:mud': {'mud-version': 1, 'mud-url': 'https://x', 'last-update': 'now', 'is-supported': true, "
		 "'from-device-policy': {'access-lists': {'access-list': [{'name': 'nope'}]}}}}",
		 "ietf-mud:mud.from-device-policy.access-lists.access-list[0].name: no ACL named \"nope\" in "
		 "ietf-access-control-list:acls.acl"},
		{ONE_ACL("{'matches': {}, 'actions': {'forwarding': 'accept'}}"), ACE0 ".name: missing"},
		{ONE_ACL("{'name': 'e'}"), ACE0 ".actions: missing"},
		{ONE_ACL("{'name': 'e', 'actions': {'forwarding': 'allow'}}"),
		 ACE0 ".actions.forwarding: \"allow\": want accept, drop or reject"},
		{ONE_ACL(ACE("'tcp': {'destination-port': {'operator': 'eq', 'port': 70000}}")),
		 ACE0 ".matches.tcp.destination-port.port: 70000 is not in 0..65535"},
		{ONE_ACL(ACE("'tcp': {'destination-port': {'operator': 'lt', 'port': 80}}")),
		 ACE0 ".matches.tcp.destination-port.operator: \"lt\": want eq, lte, gte or neq"},
		{ONE_ACL(ACE("'udp': {'destination-port': {'lower-port': 90, 'upper-port': 80}}")),
		 ACE0 ".matches.udp.destination-port: lower-port 90 is above upper-port 80"},
		{ONE_ACL(ACE("'ipv4': {'protocol': 17}, 'tcp': {}")), ACE0 ".matches: protocol 17 with a tcp match"},
		{ONE_ACL(ACE("'ipv4': {}, 'ipv6': {}")), ACE0 ".matches: ipv4 and ipv6 in one ACE"},
		{ONE_ACL(ACE("'ipv4': {'destination-ipv4-network': '2001:db8::/32'}")),
		 ACE0 ".matches.ipv4.destination-ipv4-network: \"2001:db8::/32\" is not an IPv4 prefix"},
		{ONE_ACL(ACE("'ietf-mud:mud': {'local-networks': true}")),
		 ACE0 ".matches.ietf-mud:mud.local-networks: want [null]"},
		{ONE_ACL(ACE("'tcp': {'ietf-mud:direction-initiated': 'both'}")),
		 ACE0 ".matches.tcp.ietf-mud:direction-initiated: want from-device or to-device"},
		{ONE_ACL(ACE("'ipv4': {'ietf-acldns:dst-dnsname': 7}")),
		 ACE0 ".matches.ipv4.ietf-acldns:dst-dnsname: want a string"},
		{ONE_ACL(ACE("") ", " ACE("")),
		 "ietf-access-control-list:acls.acl[0].aces.ace[1].name: \"e\" names an earlier ACE of this ACL too"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i][0], MUD_ERR_INVALID, cases[i][1]);
}

/* ---- import: bounds ---- */

/* A MUD file with n_acls from-device ACLs of n_aces ACEs each. */
static char *big_mud(size_t n_acls, size_t n_aces)
{
	size_t cap = 256 + n_acls * (160 + n_aces * 120), len = 0;
	char *s = malloc(cap);
	cr_assert_not_null(s);
#define PUT(...) (len += (size_t)snprintf(s + len, cap - len, __VA_ARGS__))
	PUT("{\"ietf-mud:mud\": {\"mud-version\": 1, \"mud-url\": \"https://x.example/m\", \"last-update\": \"x\", "
	    "\"is-supported\": true, \"from-device-policy\": {\"access-lists\": {\"access-list\": [");
	for (size_t i = 0; i < n_acls && i < MUD_MAX_ACLS; i++)
		PUT("%s{\"name\": \"acl%zu\"}", i ? ", " : "", i);
	PUT("]}}}, \"ietf-access-control-list:acls\": {\"acl\": [");
	for (size_t i = 0; i < n_acls; i++) {
		PUT("%s{\"name\": \"acl%zu\", \"aces\": {\"ace\": [", i ? ", " : "", i);
		for (size_t j = 0; j < n_aces; j++)
			PUT("%s{\"name\": \"e%zu\", \"matches\": {\"tcp\": {\"destination-port\": {\"port\": %zu}}}, "
			    "\"actions\": {\"forwarding\": \"accept\"}}",
			    j ? ", " : "", j, 1 + j);
		PUT("]}}");
	}
	PUT("]}}");
#undef PUT
	cr_assert_lt(len, cap);
	return s;
}

static void expect_big_error(size_t n_acls, size_t n_aces, const char *want)
{
	char err[512], *yaml = NULL, *json = big_mud(n_acls, n_aces);
	cr_expect_eq(mud_import(json, strlen(json), "all", &yaml, NULL, NULL, err, sizeof(err)), MUD_ERR_INVALID);
	cr_expect_str_eq(err, want);
	cr_expect_null(yaml);
	free(json);
}

Test(mud, input_past_the_bounds_is_refused)
{
	char err[512], *yaml = NULL;
	char *json = malloc(MUD_MAX_BYTES + 1);
	cr_assert_not_null(json);
	memset(json, ' ', MUD_MAX_BYTES + 1);
	cr_expect_eq(mud_import(json, MUD_MAX_BYTES + 1, "all", &yaml, NULL, NULL, err, sizeof(err)), MUD_ERR_INVALID);
	cr_expect_str_eq(err, "1048577 bytes: a MUD file is at most 1048576");
	free(json);
	expect_big_error(MUD_MAX_ACLS + 1, 0, "ietf-access-control-list:acls.acl: 65 entries, at most 64");
	expect_big_error(1, MUD_MAX_ACES + 1,
			 "ietf-access-control-list:acls.acl[0].aces.ace: 1025 entries, at most 1024");
	expect_big_error(5, 820, "ietf-access-control-list:acls.acl[4].aces.ace[816]: more than 4096 rules: a MUD "
				 "file this large is not supported");
	/* At the bounds, it is fine. */
	json = big_mud(4, MUD_MAX_ACES);
	cr_expect_eq(mud_import(json, strlen(json), "all", &yaml, NULL, NULL, err, sizeof(err)), 0, "%s", err);
	free(yaml);
	free(json);
}

/* ---- import: selectors and hostile text ---- */

Test(mud, the_device_selector_becomes_the_rules_selector)
{
	static const char *const ok[][2] = {
		{"all", "all"},
		{"mac=AA:bb:CC:dd:EE:ff", "mac=aa:bb:cc:dd:ee:ff"},
		{"oui=aa:BB:cc", "oui=aa:bb:cc"},
		{"vendor=Tuya*", "vendor=Tuya*"},
		{"hostname=SmartPlug-?", "hostname=SmartPlug-?"},
		{"kind=camera", "kind=camera"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct ydoc y;
		char *yaml = import_file(RFC_EXAMPLE, ok[i][0]);
		yload(&y, yaml);
		expect_rule(&y, 0, "mud-76100-v6fr.cl0-frdev", ok[i][1], "test.example.com", "443/tcp",
			    "unexpected_destination,new_port",
			    "MUD https://lighting.example.com/lightbulb2000 acl mud-76100-v6fr ace cl0-frdev");
		yfree(&y);
		free(yaml);
	}
	static const char *const bad[] = {"", "every", "=x", "mac=", "ip=10.0.0.1", "mac=aa:bb:cc:dd:ee",
					  "mac=aa:bb:cc:dd:ee:ff:00", "oui=aa:bb:cc:dd:ee:ff", "mac=aa-bb-cc-dd-ee-ff"};
	size_t len;
	char *json = slurp(RFC_EXAMPLE, &len);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512], *yaml = NULL;
		cr_expect_eq(mud_import(json, len, bad[i], &yaml, NULL, NULL, err, sizeof(err)), MUD_ERR_USAGE, "%s",
			     bad[i]);
		cr_expect_null(yaml);
		cr_expect(strstr(err, "device selector") == err, "%s: %s", bad[i], err);
	}
	free(json);
}

Test(mud, hostile_names_survive_the_yaml_emitter_as_valid_yaml)
{
	static const char *const acl_names[] = {"a\"b: #c\nd", "- x: [y]", "'quoted' & *alias", "yes", "443"};
	static const char *const ace_name = "e\t# not a comment\r\n---\n...";
	json_t *lists = json_array(), *acls = json_array();
	for (size_t i = 0; i < sizeof(acl_names) / sizeof(acl_names[0]); i++) {
		json_array_append_new(lists, json_pack("{s:s}", "name", acl_names[i]));
		json_array_append_new(
			acls, json_pack("{s:s, s:{s:[{s:s, s:{s:{s:s}}, s:{s:s}}]}}", "name", acl_names[i], "aces", "ace",
					"name", ace_name, "matches", "ipv4", "ietf-acldns:dst-dnsname", "ok.example.com",
					"actions", "forwarding", "accept"));
	}
	json_t *root = json_pack("{s:{s:i, s:s, s:s, s:b, s:{s:{s:o}}}, s:{s:o}}", "ietf-mud:mud", "mud-version", 1,
				 "mud-url", "https://x.example/a\"b#c", "last-update", "x", "is-supported", 1,
				 "from-device-policy", "access-lists", "access-list", lists, "ietf-access-control-list:acls",
				 "acl", acls);
	cr_assert_not_null(root);
	char *json = json_dumps(root, 0), err[512], *yaml = NULL;
	json_decref(root);
	/* A hostname with quotes, ': ', '#' and a byte that is not UTF-8. */
	int rc = mud_import(json, strlen(json), "hostname=Plug \"x\": #1\xff\n", &yaml, collect, &reps, err,
			    sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	struct ydoc y;
	yload(&y, yaml);
	cr_assert_eq(ylen(exceptions(&y)), 5, "%s", yaml);
	/* Each byte outside A-Z a-z 0-9 . _ - becomes '_'. */
	static const char *const names[] = {"a_b___c_d.e___not_a_comment__---_...", "-_x___y_.e___not_a_comment__---_...",
					    "_quoted_____alias.e___not_a_comment__---_...", "yes.e___not_a_comment__---_...",
					    "443.e___not_a_comment__---_..."};
	for (size_t i = 0; i < 5; i++) {
		char reason[256];
		snprintf(reason, sizeof(reason), "MUD https://x.example/a\"b#c acl %s ace %s", acl_names[i], ace_name);
		expect_rule(&y, i, names[i], "hostname=Plug \"x\": #1\\xff\\x0a", "ok.example.com", NULL,
			    "unexpected_destination,new_port", reason);
	}
	yfree(&y);
	/* ... and the rules loader reads the same file. */
	char path[128];
	snprintf(path, sizeof(path), "%s/hostile.yaml", dir);
	spit(path, yaml);
	struct rules *rs = rules_load(path, NULL, NULL);
	cr_expect_not_null(rs, "rules_load refused:\n%s", yaml);
	rules_free(rs);
	free(yaml);
	free(json);
}

Test(mud, long_acl_and_ace_names_make_unique_rule_names_of_at_most_64_characters)
{
	char json[4096], *yaml = NULL, err[256], acl[80];
	memset(acl, 'a', 64);
	acl[64] = '\0';
	snprintf(json, sizeof(json),
		 "{'ietf-mud:mud': {'mud-version': 1, 'mud-url': 'https://x.example/m', 'last-update': 'x', "
		 "'is-supported': true, 'from-device-policy': {'access-lists': {'access-list': [{'name': '%s'}]}}}, "
		 "'ietf-access-control-list:acls': {'acl': [{'name': '%s', 'aces': {'ace': ["
		 "{'name': 'one', 'actions': {'forwarding': 'accept'}}, {'name': 'two', 'actions': {'forwarding': "
		 "'accept'}}, {'name': 'three', 'actions': {'forwarding': 'accept'}}]}}]}}",
		 acl, acl);
	for (char *c = json; *c; c++)
		*c = *c == '\'' ? '"' : *c;
	cr_assert_eq(mud_import(json, strlen(json), "all", &yaml, NULL, NULL, err, sizeof(err)), 0, "%s", err);
	struct ydoc y;
	yload(&y, yaml);
	const char *want[3] = {acl, NULL, NULL};
	char second[80], third[80];
	snprintf(second, sizeof(second), "%.62s-2", acl);
	snprintf(third, sizeof(third), "%.62s-3", acl);
	want[1] = second;
	want[2] = third;
	for (size_t i = 0; i < 3; i++)
		cr_expect_str_eq(ystr(yget(&y, yat(&y, exceptions(&y), i), "name")), want[i]);
	yfree(&y);
	free(yaml);
}

Test(mud, names_that_all_become_the_same_rule_name_are_numbered_and_stay_unique, .timeout = 20)
{
	static const char punct[] = "!#$%&'()*+,/:;<=>?@[]^`{|}~";
	json_t *lists = json_array(), *acls = json_array();
	for (size_t i = 0; i < 4; i++) {
		char acl[4] = {'a', punct[i], 0, 0};
		json_t *aces = json_array();
		for (size_t j = 0; j < MUD_MAX_ACES; j++) {
			size_t np = sizeof(punct) - 1;
			char ace[8] = {'e', punct[j % np], punct[j / np % np], punct[j / np / np % np], 0};
			json_array_append_new(aces, json_pack("{s:s, s:{s:s}}", "name", ace, "actions", "forwarding", "accept"));
		}
		json_array_append_new(lists, json_pack("{s:s}", "name", acl));
		json_array_append_new(acls, json_pack("{s:s, s:{s:o}}", "name", acl, "aces", "ace", aces));
	}
	json_t *root = json_pack("{s:{s:i, s:s, s:s, s:b, s:{s:{s:o}}}, s:{s:o}}", "ietf-mud:mud", "mud-version", 1,
				 "mud-url", "https://x.example/m", "last-update", "x", "is-supported", 1,
				 "from-device-policy", "access-lists", "access-list", lists, "ietf-access-control-list:acls",
				 "acl", acls);
	cr_assert_not_null(root);
	char *json = json_dumps(root, JSON_COMPACT), *yaml = NULL, err[256];
	json_decref(root);
	cr_assert_eq(mud_import(json, strlen(json), "all", &yaml, NULL, NULL, err, sizeof(err)), 0, "%s", err);
	struct ydoc y;
	yload(&y, yaml);
	yaml_node_t *ex = exceptions(&y);
	cr_assert_eq(ylen(ex), 4 * MUD_MAX_ACES);
	cr_expect_str_eq(ystr(yget(&y, yat(&y, ex, 0), "name")), "a_.e___");
	cr_expect_str_eq(ystr(yget(&y, yat(&y, ex, 1), "name")), "a_.e___-2");
	cr_expect_str_eq(ystr(yget(&y, yat(&y, ex, 4095), "name")), "a_.e___-4096");
	yfree(&y);
	free(yaml);
	free(json);
}

/* ---- profiles ---- */

#define NAMES_MAX 64

static struct intern *names;
static struct iname *held[NAMES_MAX];
static size_t n_held;
static uint64_t flow_ids;

static void no_alert(void *ctx, const struct det_alert *a)
{
	(void)ctx;
	(void)a;
}

static struct ip_addr addr(const char *s)
{
	struct ip_addr ip;
	cr_assert_eq(ip_parse(s, &ip), 0, "ip_parse('%s')", s);
	return ip;
}

static struct iname *name_of(const char *s)
{
	if (!s)
		return NULL;
	if (!names)
		cr_assert_not_null(names = intern_new(1024, 7));
	cr_assert_lt(n_held, NAMES_MAX);
	cr_assert_not_null(held[n_held] = intern_get(names, s, strlen(s)));
	return held[n_held++];
}

static void drop_names(void)
{
	for (size_t i = 0; i < n_held; i++)
		intern_put(names, held[i]);
	n_held = 0;
	intern_free(names);
	names = NULL;
}

/* Device 02:00:00:00:00:01 at 192.168.1.11. */
static struct device the_device(void)
{
	struct device dv;
	memset(&dv, 0, sizeof(dv));
	dv.id = 1;
	dv.has_mac = true;
	dv.mac[0] = 0x02;
	dv.mac[5] = 0x01;
	dv.key_ip = addr("192.168.1.11");
	dv.ips[0] = dv.key_ip;
	dv.n_ips = 1;
	return dv;
}

/* The device starts a flow: to the internet (named, or NULL), or with
 * lan to another LAN host. */
static void flow_from(struct detector *d, const struct device *dv, const char *name, const char *dst, uint16_t port,
		      uint8_t proto, bool lan, uint64_t t)
{
	struct flow f;
	memset(&f, 0, sizeof(f));
	f.src = dv->ips[0];
	f.dst = addr(dst);
	f.sport = (uint16_t)(40000 + flow_ids % 20000);
	f.dport = port;
	f.proto = proto;
	f.dir = (uint8_t)(lan ? FLOW_DIR_LOCAL : FLOW_DIR_OUTBOUND);
	f.last_us = t;
	f.id = ++flow_ids;
	f.has_src_mac = true;
	memcpy(f.src_mac, dv->mac, 6);
	f.name = name_of(name);
	f.name_source = name ? FLOW_NAME_DNS : FLOW_NAME_NONE;
	f.ready = 1;
	det_flow(d, dv, &f, true, t);
}

/* src starts a flow to the device's port, which answers. */
static void flow_to(struct detector *d, const struct device *dv, const char *src, uint16_t port, uint8_t proto,
		    bool lan, uint64_t t)
{
	struct flow f;
	memset(&f, 0, sizeof(f));
	f.src = addr(src);
	f.dst = dv->ips[0];
	f.sport = 51000;
	f.dport = port;
	f.proto = proto;
	f.dir = (uint8_t)(lan ? FLOW_DIR_LOCAL : FLOW_DIR_INBOUND);
	f.last_us = t;
	f.id = ++flow_ids;
	f.has_dst_mac = true;
	memcpy(f.dst_mac, dv->mac, 6);
	f.ready = 1;
	f.rev.packets = 1;
	f.rev.tcp_flags = proto == TCP ? TCP_SYN | TCP_ACK : 0;
	det_flow(d, dv, &f, false, t);
}

struct dest {
	const char *name, *ip;
	uint16_t port;
	uint8_t proto;
};

/* What the profile learns: destinations named and not, both families. */
static const struct dest dests[] = {
	{"api.tuya.com", "3.120.1.5", 443, TCP},
	{"time.acme-clock.org", "198.51.100.7", 123, UDP},
	{"api.tuya.com", "3.120.1.6", 8883, TCP},
	{"v6.example.net", "2001:db8::5", 443, TCP},
	{NULL, "203.0.113.9", 8443, TCP},
	{NULL, "2001:db8:1::9", 5683, UDP},
};
static const struct dest peers[] = {
	{NULL, "192.168.1.20", 22, TCP},
	{NULL, "192.168.1.30", 1900, UDP},
	{NULL, "192.168.1.20", 8080, TCP},
	{NULL, "192.168.1.40", 40000, TCP}, /* a dynamic port: a peer without a service */
	{NULL, "fd00::20", 8123, TCP},
};
static const struct dest clients[] = {
	{NULL, "192.168.1.50", 80, TCP},     /* from the LAN */
	{NULL, "203.0.113.77", 8443, TCP},   /* from the internet */
	{NULL, "192.168.1.51", 5353, UDP},
};

#define N(a) (sizeof(a) / sizeof(a[0]))
#define LAST_S 3000 /* the last flow, seconds after T0 */

/* A detector holding the device's profile, learned from every flow above
 * over 50 minutes, and a destination accepted after it. */
static struct detector *learned(const struct device *dv)
{
	struct det_cfg c = {.learn_for_us = 3600 * S, .maturity_target = 1, .threshold = 0.75, .max_devices = 8};
	struct detector *d = det_new(&c, no_alert, NULL);
	cr_assert_not_null(d);
	uint64_t t = T0;
	for (int round = 0; round < 5; round++) {
		for (size_t i = 0; i < N(dests); i++, t += 20 * S)
			flow_from(d, dv, dests[i].name, dests[i].ip, dests[i].port, dests[i].proto, false, t);
		for (size_t i = 0; i < N(peers); i++, t += 20 * S)
			flow_from(d, dv, NULL, peers[i].ip, peers[i].port, peers[i].proto, true, t);
		for (size_t i = 0; i < N(clients); i++, t += 20 * S)
			flow_to(d, dv, clients[i].ip, clients[i].port, clients[i].proto, clients[i].ip[0] != '2', t);
	}
	cr_assert_leq(t, T0 + LAST_S * S);
	flow_from(d, dv, "api.tuya.com", "3.120.1.5", 443, TCP, false, T0 + LAST_S * S);
	uint8_t key[16];
	char err[256];
	det_device_key(dv, key);
	cr_assert_eq(det_profile_accept(d, key, "ota.tuya.com", 443, 0, 0, "firmware", T0 + LAST_S * S, err,
					sizeof(err)),
		     0, "%s", err);
	return d;
}

static const struct det_profile *profile_of(struct detector *d, const struct device *dv)
{
	uint8_t key[16];
	det_device_key(dv, key);
	const struct det_profile *p = det_profile_find(d, key);
	cr_assert_not_null(p);
	return p;
}

static json_t *jpath(json_t *v, const char *a, const char *b, const char *c)
{
	v = json_object_get(v, a);
	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	return v;
}

/* The ACE named name of the ACL named acl in the exported doc. */
static json_t *exported_ace(json_t *doc, const char *acl, const char *name)
{
	json_t *acls = jpath(doc, "ietf-access-control-list:acls", "acl", NULL), *a, *e;
	size_t i, j;
	json_array_foreach(acls, i, a) {
		if (strcmp(json_string_value(json_object_get(a, "name")), acl))
			continue;
		json_array_foreach(jpath(a, "aces", "ace", NULL), j, e)
			if (!strcmp(json_string_value(json_object_get(e, "name")), name))
				return e;
	}
	cr_assert_fail("no ACE %s in ACL %s", name, acl);
	return NULL;
}

static void expect_json(json_t *v, const char *want)
{
	char *got = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	cr_expect_str_eq(got ? got : "(absent)", want);
	free(got);
}

Test(mud, export_writes_a_mud_file_timed_by_the_profile_with_ipv4_and_ipv6_acls_apart)
{
	struct device dv = the_device();
	struct detector *d = learned(&dv);
	char *json = NULL, err[256];
	cr_assert_eq(mud_export(profile_of(d, &dv), "https://mud.example.net/plug.json", NULL, &json, err, sizeof(err)),
		     0, "%s", err);
	json_error_t je;
	json_t *doc = json_loads(json, 0, &je);
	cr_assert_not_null(doc, "%s: %s", je.text, json);
	cr_expect(strstr(json, "\n  \"ietf-mud:mud\": {\n    \"mud-version\": 1,\n") != NULL, "not indented:\n%s", json);
	json_t *mud = json_object_get(doc, "ietf-mud:mud");
	cr_expect_eq(json_integer_value(json_object_get(mud, "mud-version")), 1);
	cr_expect_str_eq(json_string_value(json_object_get(mud, "mud-url")), "https://mud.example.net/plug.json");
	/* T0 + 3000 s: the last flow, not the wall clock. */
	cr_expect_str_eq(json_string_value(json_object_get(mud, "last-update")), "2026-03-02T06:50:00Z");
	cr_expect_eq(json_integer_value(json_object_get(mud, "cache-validity")), 48);
	cr_expect(json_is_true(json_object_get(mud, "is-supported")));
	cr_expect_str_eq(json_string_value(json_object_get(mud, "systeminfo")), "iotids profile of " MAC);
	expect_json(jpath(mud, "from-device-policy", NULL, NULL),
		    "{\"access-lists\":{\"access-list\":[{\"name\":\"iotids-020000000001-v4fr\"},"
		    "{\"name\":\"iotids-020000000001-v6fr\"}]}}");
	expect_json(jpath(mud, "to-device-policy", NULL, NULL),
		    "{\"access-lists\":{\"access-list\":[{\"name\":\"iotids-020000000001-v4to\"}]}}");
	json_t *acls = jpath(doc, "ietf-access-control-list:acls", "acl", NULL);
	cr_assert_eq(json_array_size(acls), 3);
	static const char *const types[] = {"ipv4-acl-type", "ipv6-acl-type", "ipv4-acl-type"};
	for (size_t i = 0; i < 3; i++)
		cr_expect_str_eq(json_string_value(json_object_get(json_array_get(acls, i), "type")), types[i]);

	const char *v4fr = "iotids-020000000001-v4fr", *v6fr = "iotids-020000000001-v6fr",
		   *v4to = "iotids-020000000001-v4to";
	expect_json(exported_ace(doc, v4fr, "dst-0"),
		    "{\"name\":\"dst-0\",\"matches\":{\"ipv4\":{\"ietf-acldns:dst-dnsname\":\"api.tuya.com\",\"protocol\":6},"
		    "\"tcp\":{\"ietf-mud:direction-initiated\":\"from-device\",\"destination-port\":{\"operator\":\"eq\","
		    "\"port\":443}}},\"actions\":{\"forwarding\":\"accept\"}}");
	expect_json(jpath(exported_ace(doc, v4fr, "dst-1"), "matches", NULL, NULL),
		    "{\"ipv4\":{\"ietf-acldns:dst-dnsname\":\"time.acme-clock.org\",\"protocol\":17},"
		    "\"udp\":{\"destination-port\":{\"operator\":\"eq\",\"port\":123}}}");
	expect_json(jpath(exported_ace(doc, v6fr, "dst-3"), "matches", "ipv6", NULL),
		    "{\"ietf-acldns:dst-dnsname\":\"v6.example.net\",\"protocol\":6}");
	expect_json(jpath(exported_ace(doc, v4fr, "dst-4"), "matches", "ipv4", NULL),
		    "{\"destination-ipv4-network\":\"203.0.113.0/24\",\"protocol\":6}");
	expect_json(jpath(exported_ace(doc, v6fr, "dst-5"), "matches", "ipv6", NULL),
		    "{\"destination-ipv6-network\":\"2001:db8:1::/48\",\"protocol\":17}");
	/* LAN peers: the LAN and the service, not the home's addresses. */
	expect_json(jpath(exported_ace(doc, v4fr, "lan-22-tcp"), "matches", NULL, NULL),
		    "{\"ietf-mud:mud\":{\"local-networks\":[null]},\"ipv4\":{\"protocol\":6},"
		    "\"tcp\":{\"ietf-mud:direction-initiated\":\"from-device\",\"destination-port\":{\"operator\":\"eq\","
		    "\"port\":22}}}");
	expect_json(jpath(exported_ace(doc, v4fr, "lan-any"), "matches", NULL, NULL),
		    "{\"ietf-mud:mud\":{\"local-networks\":[null]}}");
	cr_expect_not_null(exported_ace(doc, v6fr, "lan-8123-tcp"));
	/* Services: from the LAN, and apart from it from the internet. */
	expect_json(jpath(exported_ace(doc, v4to, "svc-80-tcp-lan"), "matches", NULL, NULL),
		    "{\"ietf-mud:mud\":{\"local-networks\":[null]},\"ipv4\":{\"protocol\":6},"
		    "\"tcp\":{\"ietf-mud:direction-initiated\":\"to-device\",\"destination-port\":{\"operator\":\"eq\","
		    "\"port\":80}}}");
	expect_json(jpath(exported_ace(doc, v4to, "svc-8443-tcp-internet"), "matches", NULL, NULL),
		    "{\"ipv4\":{\"protocol\":6},\"tcp\":{\"ietf-mud:direction-initiated\":\"to-device\","
		    "\"destination-port\":{\"operator\":\"eq\",\"port\":8443}}}");
	cr_expect_not_null(exported_ace(doc, v4to, "svc-5353-udp-lan"));
	/* The accepted name, for TCP and UDP (accepted for either), both families. */
	expect_json(jpath(exported_ace(doc, v4fr, "acc-0-udp"), "matches", NULL, NULL),
		    "{\"ipv4\":{\"ietf-acldns:dst-dnsname\":\"ota.tuya.com\",\"protocol\":17},"
		    "\"udp\":{\"destination-port\":{\"operator\":\"eq\",\"port\":443}}}");
	cr_expect_not_null(exported_ace(doc, v6fr, "acc-0-tcp"));
	json_decref(doc);
	free(json);
	det_free(d);
	drop_names();
}

Test(mud, export_gives_the_same_bytes_for_the_same_profile)
{
	struct device dv = the_device();
	struct detector *a = learned(&dv), *b = learned(&dv);
	char *ja = NULL, *jb = NULL, err[256];
	cr_assert_eq(mud_export(profile_of(a, &dv), "https://m.example/x", "A plug", &ja, err, sizeof(err)), 0);
	cr_assert_eq(mud_export(profile_of(b, &dv), "https://m.example/x", "A plug", &jb, err, sizeof(err)), 0);
	cr_expect_str_eq(ja, jb);
	free(ja);
	free(jb);
	det_free(a);
	det_free(b);
	drop_names();
}

Test(mud, export_refuses_a_url_that_is_not_https_and_a_systeminfo_past_60_characters)
{
	struct device dv = the_device();
	struct detector *d = learned(&dv);
	const struct det_profile *p = profile_of(d, &dv);
	char *json = NULL, err[256], long_info[80];
	static const char *const urls[] = {"http://m.example/x", "https://", "https://m.example/a b", "mud.example"};
	for (size_t i = 0; i < N(urls); i++) {
		cr_expect_eq(mud_export(p, urls[i], NULL, &json, err, sizeof(err)), MUD_ERR_USAGE, "%s", urls[i]);
		cr_expect_null(json);
		cr_expect(strstr(err, "MUD URL") == err, "%s", err);
	}
	memset(long_info, 'x', 61);
	long_info[61] = '\0';
	cr_expect_eq(mud_export(p, "https://m.example/x", long_info, &json, err, sizeof(err)), MUD_ERR_USAGE);
	cr_expect_str_eq(err, "systeminfo: want 1 to 60 characters of safe text (no control or format characters)");
	/* A line feed, a C1 control (NEL), a right-to-left override, a lone backslash. */
	static const char *const unsafe[] = {"two\nlines", "two\xc2\x85" "lines", "abc\xe2\x80\xae" "fed", "a\\b"};
	for (size_t i = 0; i < N(unsafe); i++) {
		cr_expect_eq(mud_export(p, "https://m.example/x", unsafe[i], &json, err, sizeof(err)), MUD_ERR_USAGE,
			     "systeminfo %zu", i);
		cr_expect_null(json);
	}
	/* 60 characters of UTF-8 are fine, however many bytes. */
	cr_expect_eq(mud_export(p, "https://m.example/x",
				"ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé", &json, err,
				sizeof(err)),
		     0, "%s", err);
	free(json);
	det_free(d);
	drop_names();
}

/* The alerts a rules engine must now suppress for the device, one per
 * thing learned; and one it must not (nothing widens). */
Test(mud, an_exported_profile_imported_again_covers_every_destination_peer_and_service)
{
	struct device dv = the_device();
	struct detector *d = learned(&dv);
	char *json = NULL, *yaml = NULL, err[256], path[128];
	cr_assert_eq(mud_export(profile_of(d, &dv), "https://mud.example.net/plug.json", NULL, &json, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(mud_import(json, strlen(json), "mac=" MAC, &yaml, collect, &reps, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(reps.n, 0, "reported: %s", reps.r[0]);
	snprintf(path, sizeof(path), "%s/roundtrip.yaml", dir);
	spit(path, yaml);
	struct rules *rs = rules_load(path, NULL, NULL);
	cr_assert_not_null(rs, "rules_load refused:\n%s", yaml);
	struct rules_engine *e = rules_engine_new();
	cr_assert_not_null(e);
	rules_engine_set(e, rs);

	uint8_t key[16];
	det_device_key(&dv, key);
	struct rules_device rd = {.has_mac = true};
	memcpy(rd.mac, dv.mac, 6);
	uint64_t t = T0 + 7200 * S;
	for (size_t i = 0; i < N(dests); i++) {
		struct rules_peer peer = {.name = dests[i].name, .ip = addr(dests[i].ip), .port = dests[i].port,
					  .proto = dests[i].proto};
		cr_expect_not_null(rules_engine_suppress(e, key, &rd, "unexpected_destination", &peer, t), "%s %s:%u",
				   dests[i].name ? dests[i].name : "-", dests[i].ip, dests[i].port);
		cr_expect_not_null(rules_engine_suppress(e, key, &rd, "new_port", &peer, t), "%s", dests[i].ip);
	}
	for (size_t i = 0; i < N(peers); i++) {
		struct rules_peer peer = {.ip = addr(peers[i].ip), .port = peers[i].port, .proto = peers[i].proto,
					  .lan = true};
		cr_expect_not_null(rules_engine_suppress(e, key, &rd, "new_lan_peer", &peer, t), "peer %s:%u", peers[i].ip,
				   peers[i].port);
	}
	for (size_t i = 0; i < N(clients); i++) {
		struct rules_peer peer = {.ip = addr(clients[i].ip), .port = clients[i].port, .proto = clients[i].proto,
					  .lan = clients[i].ip[0] != '2'};
		cr_expect_not_null(rules_engine_suppress(e, key, &rd, "new_inbound_service", &peer, t), "service %u",
				   clients[i].port);
	}
	struct rules_peer ota = {.name = "ota.tuya.com", .ip = addr("3.120.9.9"), .port = 443, .proto = TCP};
	cr_expect_not_null(rules_engine_suppress(e, key, &rd, "unexpected_destination", &ota, t), "accepted");

	/* Not learned: a new name, a new port of a known name, a service from
	 * the internet on a LAN-only port, another device. */
	struct rules_peer evil = {.name = "c2.evil.example", .ip = addr("198.51.100.66"), .port = 443, .proto = TCP};
	struct rules_peer port = {.name = "api.tuya.com", .ip = addr("3.120.1.5"), .port = 23, .proto = TCP};
	struct rules_peer svc = {.ip = addr("203.0.113.99"), .port = 80, .proto = TCP};
	cr_expect_null(rules_engine_suppress(e, key, &rd, "unexpected_destination", &evil, t));
	cr_expect_null(rules_engine_suppress(e, key, &rd, "new_port", &port, t));
	cr_expect_null(rules_engine_suppress(e, key, &rd, "new_inbound_service", &svc, t));
	struct rules_device other = {.has_mac = true, .mac = {2, 0, 0, 0, 0, 2}};
	uint8_t okey[16] = {2, 0, 0, 0, 0, 2};
	struct rules_peer known = {.name = "api.tuya.com", .ip = addr("3.120.1.5"), .port = 443, .proto = TCP};
	cr_expect_null(rules_engine_suppress(e, okey, &other, "unexpected_destination", &known, t));
	rules_engine_free(e);
	free(yaml);
	free(json);
	det_free(d);
	drop_names();
}

Test(mud, a_hostile_destination_name_in_a_profile_is_exported_and_reported_on_import)
{
	static const char *const hostile = "evil\"name: #x\n- y";
	struct device dv = the_device();
	struct det_cfg c = {.learn_for_us = 3600 * S, .maturity_target = 1, .threshold = 0.75, .max_devices = 8};
	struct detector *d = det_new(&c, no_alert, NULL);
	cr_assert_not_null(d);
	flow_from(d, &dv, hostile, "3.120.1.5", 443, TCP, false, T0);
	flow_from(d, &dv, "fine.example.com", "3.120.1.6", 443, TCP, false, T0 + S);
	char *json = NULL, *yaml = NULL, err[256];
	cr_assert_eq(mud_export(profile_of(d, &dv), "https://m.example/x", NULL, &json, err, sizeof(err)), 0);
	json_t *doc = json_loads(json, 0, NULL);
	cr_assert_not_null(doc, "%s", json);
	cr_expect_str_eq(json_string_value(jpath(exported_ace(doc, "iotids-020000000001-v4fr", "dst-0"), "matches", "ipv4",
						 "ietf-acldns:dst-dnsname")),
			 hostile);
	json_decref(doc);
	cr_assert_eq(mud_import(json, strlen(json), "all", &yaml, collect, &reps, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(reps.n, 1);
	cr_expect_str_eq(reps.r[0], "ietf-access-control-list:acls.acl[0].aces.ace[0].matches.ipv4.ietf-acldns:dst-"
				    "dnsname: \"evil\"name: #x\\x0a- y\" is not a host name: not supported (no rule "
				    "made for this ACE)");
	struct ydoc y;
	yload(&y, yaml);
	cr_assert_eq(ylen(exceptions(&y)), 1);
	expect_rule(&y, 0, "iotids-020000000001-v4fr.dst-1", "all", "fine.example.com", "443/tcp",
		    "unexpected_destination,new_port", "MUD https://m.example/x acl iotids-020000000001-v4fr ace dst-1");
	yfree(&y);
	free(yaml);
	free(json);
	det_free(d);
	drop_names();
}

/* ---- the commands ---- */

/* Runs fn with args (argv[0] the subcommand), stderr into dir/stderr;
 * its exit status, and stderr's text into errs. */
static int run(int (*fn)(int, char **), const char *const *args, char *errs, size_t errlen)
{
	char path[128], *argv[16];
	int argc = 0;
	for (; args[argc]; argc++)
		argv[argc] = (char *)args[argc];
	argv[argc] = NULL;
	snprintf(path, sizeof(path), "%s/stderr", dir);
	fflush(stderr);
	cr_assert_not_null(freopen(path, "w", stderr));
	int rc = fn(argc, argv);
	fflush(stderr);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	size_t n = fread(errs, 1, errlen - 1, f);
	errs[n] = '\0';
	fclose(f);
	return rc;
}

Test(mud, import_mud_writes_the_rules_file_whole_and_prints_each_report_on_stderr)
{
	char out[128], errs[8192];
	snprintf(out, sizeof(out), "%s/plug.yaml", dir);
	const char *args[] = {"import-mud", "--device", "mac=" MAC, RFC_EXAMPLE, "-o", out, NULL};
	cr_assert_eq(run(cli_rules_import_mud, args, errs, sizeof(errs)), 0, "%s", errs);
	cr_expect_str_eq(errs, RFC_EXAMPLE ": ietf-access-control-list:acls.acl[0].aces.ace[0].matches.tcp.ietf-mud:"
				       "direction-initiated: from-device in a to-device ACL: answers to flows the device "
				       "starts, which iotids never alerts on (no rule needed for this ACE)\n");
	size_t len;
	char *yaml = slurp(out, &len), tmp[160];
	struct ydoc y;
	yload(&y, yaml);
	cr_expect_eq(ylen(exceptions(&y)), 1);
	yfree(&y);
	free(yaml);
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	cr_expect_neq(access(tmp, F_OK), 0, "the .tmp file stayed");
}

Test(mud, import_mud_exits_1_on_an_invalid_file_and_2_on_usage)
{
	char bad[128], errs[4096];
	snprintf(bad, sizeof(bad), "%s/bad.json", dir);
	spit(bad, "{\"ietf-mud:mud\": {\"mud-version\": 3}}");
	const char *invalid[] = {"import-mud", bad, "--device", "all", NULL};
	cr_expect_eq(run(cli_rules_import_mud, invalid, errs, sizeof(errs)), 1);
	char want[256];
	snprintf(want, sizeof(want), "%s: ietf-mud:mud.mud-version: 3: only version 1 exists\n", bad);
	cr_expect_str_eq(errs, want);
	const char *missing[] = {"import-mud", "/nonexistent/x.json", "--device", "all", NULL};
	cr_expect_eq(run(cli_rules_import_mud, missing, errs, sizeof(errs)), 1);
	cr_expect_str_eq(errs, "/nonexistent/x.json: No such file or directory\n");
	const char *no_device[] = {"import-mud", RFC_EXAMPLE, NULL};
	cr_expect_eq(run(cli_rules_import_mud, no_device, errs, sizeof(errs)), 2);
	const char *bad_sel[] = {"import-mud", RFC_EXAMPLE, "--device", "mac=nope", NULL};
	cr_expect_eq(run(cli_rules_import_mud, bad_sel, errs, sizeof(errs)), 2);
	cr_expect(strstr(errs, "device selector \"mac=nope\"") != NULL, "%s", errs);
	const char *two[] = {"import-mud", RFC_EXAMPLE, RFC_EXAMPLE, "--device", "all", NULL};
	cr_expect_eq(run(cli_rules_import_mud, two, errs, sizeof(errs)), 2);
}

/* A store at db holding the learned profile of dv, whose detector it returns. */
static struct detector *stored(const char *db, struct device *dv)
{
	char err[512];
	int code;
	struct detector *d = learned(dv);
	struct store *s = store_open(db, true, err, sizeof(err), &code);
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(store_checkpoint(s, d, T0 + LAST_S * S, NULL, NULL, err, sizeof(err)), 0, "%s", err);
	store_close(s);
	return d;
}

Test(mud, export_mud_of_a_device_whose_stored_name_is_hostile_writes_it_as_safe_text)
{
	char db[128], out[128], errs[4096];
	snprintf(db, sizeof(db), "%s/s.db", dir);
	snprintf(out, sizeof(out), "%s/plug.json", dir);
	struct device dv = the_device();
	struct detector *d = stored(db, &dv);
	/* As a hand-edited or foreign store could hold it: a C1 control and
	 * a terminal escape. */
	sqlite3 *db3;
	cr_assert_eq(sqlite3_open(db, &db3), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db3, "UPDATE profiles SET hostname = CAST(X'706c7567c2851b5b33316d' AS TEXT)", NULL,
				  NULL, NULL),
		     SQLITE_OK);
	sqlite3_close(db3);

	const char *args[] = {"export-mud", MAC, "--db", db, "-o", out, NULL};
	cr_assert_eq(run(cli_profile_export_mud, args, errs, sizeof(errs)), 0, "%s", errs);
	size_t len;
	char *json = slurp(out, &len);
	json_t *doc = json_loads(json, 0, NULL);
	cr_assert_not_null(doc);
	cr_expect_str_eq(json_string_value(jpath(doc, "ietf-mud:mud", "systeminfo", NULL)),
			 "iotids profile of plug\\xc2\\x85\\x1b[31m");
	json_decref(doc);
	free(json);
	det_free(d);
	drop_names();
}

Test(mud, export_mud_writes_the_stored_profile_of_a_device)
{
	char db[128], out[128], errs[4096];
	snprintf(db, sizeof(db), "%s/s.db", dir);
	snprintf(out, sizeof(out), "%s/plug.json", dir);
	struct device dv = the_device();
	struct detector *d = stored(db, &dv);

	const char *args[] = {"export-mud", "02:00:00:00:00", "--db", db, "-o", out, NULL};
	cr_assert_eq(run(cli_profile_export_mud, args, errs, sizeof(errs)), 0, "%s", errs);
	cr_expect_str_eq(errs, "");
	size_t len;
	char *json = slurp(out, &len), *want = NULL;
	cr_expect_eq(json[len - 1], '\n');
	json_t *doc = json_loads(json, 0, NULL);
	cr_assert_not_null(doc);
	cr_expect_str_eq(json_string_value(jpath(doc, "ietf-mud:mud", "mud-url", NULL)),
			 "https://mud.invalid/iotids/020000000001.json");
	json_decref(doc);
	/* What the store gave back is the profile exported. */
	char err[256];
	cr_assert_eq(mud_export(profile_of(d, &dv), "https://mud.invalid/iotids/020000000001.json", NULL, &want, err,
				sizeof(err)),
		     0);
	json[len - 1] = '\0';
	cr_expect_str_eq(json, want);
	free(want);
	free(json);

	const char *url[] = {"export-mud", MAC, "--db", db, "--url", "http://x", NULL};
	cr_expect_eq(run(cli_profile_export_mud, url, errs, sizeof(errs)), 2);
	const char *unknown[] = {"export-mud", "aa:aa", "--db", db, NULL};
	cr_expect_eq(run(cli_profile_export_mud, unknown, errs, sizeof(errs)), 3);
	const char *none[] = {"export-mud", MAC, "--db", "/nonexistent/s.db", NULL};
	cr_expect_eq(run(cli_profile_export_mud, none, errs, sizeof(errs)), 1);
	const char *usage[] = {"export-mud", "--db", db, NULL};
	cr_expect_eq(run(cli_profile_export_mud, usage, errs, sizeof(errs)), 2);
	det_free(d);
	drop_names();
}
