#include "pcaps/gen/manifest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>

#include "pcaps/gen/cli.h"

static json_t *mac_str(const uint8_t m[6])
{
	char s[18];

	snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return json_string(s);
}

static json_t *ip_str(int af, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];

	if (!inet_ntop(af, a, s, sizeof(s)))
		return NULL;
	return json_string(s);
}

static json_t *prefix_str(const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN + 4], ip[INET6_ADDRSTRLEN];
	uint8_t full[16] = {0};

	for (int i = 0; i < 8; i++)
		full[i] = a[i];
	if (!inet_ntop(AF_INET6, full, ip, sizeof(ip)))
		return NULL;
	snprintf(s, sizeof(s), "%s/64", ip);
	return json_string(s);
}

/* json_*_set_new and _append_new take ownership and fail on NULL, so one
 * check at the end covers allocation failures of every member. */
static int set(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v);
}

static json_t *device(const struct hn *n, const struct hn_dev *d)
{
	json_t *o = json_object(), *v6 = json_array(), *names = json_array();
	int bad = !o || !v6 || !names;
	uint8_t ula[16];

	if (d->v6) {
		for (int i = 0; i < 16; i++)
			ula[i] = i < 8 ? n->ula6[i] : d->gua6[i];
		bad |= json_array_append_new(v6, ip_str(AF_INET6, d->ll6));
		bad |= json_array_append_new(v6, ip_str(AF_INET6, d->gua6));
		bad |= json_array_append_new(v6, ip_str(AF_INET6, ula));
	}
	for (size_t i = 0; i < d->nnames; i++)
		bad |= json_array_append_new(names, json_string(d->names[i]));
	bad |= set(o, "kind", json_string(d->kind));
	bad |= set(o, "mac", mac_str(d->mac));
	bad |= set(o, "ipv4", ip_str(AF_INET, d->ip4));
	bad |= set(o, "ipv6", v6);
	v6 = NULL;
	bad |= set(o, "hostname", json_string(d->hostname));
	bad |= set(o, "vendor", d->vendor ? json_string(d->vendor) : json_null());
	bad |= set(o, "vendor_class", json_string(d->vendor_class));
	bad |= set(o, "randomized_mac", json_boolean(d->randomized));
	bad |= set(o, "names", names);
	names = NULL;
	if (bad) {
		json_decref(o);
		json_decref(v6);
		json_decref(names);
		return NULL;
	}
	return o;
}

int mf_write(const struct hn *n, const char *path)
{
	json_t *root = json_object(), *gw = json_object(), *devs = json_array(), *gw6 = json_array();
	char start[32];
	int bad = !root || !gw || !devs || !gw6, err = 0;

	cli_fmt_time(n->start, start, sizeof(start));
	bad |= json_array_append_new(gw6, ip_str(AF_INET6, n->gw_ll6));
	bad |= json_array_append_new(gw6, ip_str(AF_INET6, n->gw_gua6));
	bad |= set(gw, "mac", mac_str(n->gw_mac));
	bad |= set(gw, "ipv4", ip_str(AF_INET, n->gw_ip4));
	bad |= set(gw, "ipv6", gw6);
	gw6 = NULL;
	bad |= set(gw, "vendor", json_string("TP-LINK TECHNOLOGIES CO.,LTD."));
	bad |= set(gw, "lan", json_string("192.168.1.0/24"));
	bad |= set(gw, "prefix6", prefix_str(n->prefix6));
	bad |= set(gw, "ula_prefix6", prefix_str(n->ula6));
	bad |= set(gw, "roles", json_pack("[ssss]", "gateway", "dhcp", "dns", "router-advertisement"));
	for (size_t i = 0; i < n->ndev; i++)
		bad |= json_array_append_new(devs, device(n, &n->dev[i]));
	bad |= set(root, "seed", json_integer((json_int_t)n->seed));
	bad |= set(root, "start", json_string(start));
	bad |= set(root, "duration_s", json_integer((json_int_t)((n->end - n->start) / 1000000)));
	bad |= set(root, "gateway", gw);
	gw = NULL;
	bad |= set(root, "devices", devs);
	devs = NULL;
	if (bad)
		err = -ENOMEM;
	else if (json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		err = -EIO;
	json_decref(root);
	json_decref(gw);
	json_decref(devs);
	json_decref(gw6);
	return err;
}
