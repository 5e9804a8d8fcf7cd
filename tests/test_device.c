/*
 * Tests for features/device.c: devices by MAC and by IP, the address index
 * (DHCP moves, the DEV_MAX_IPS newest addresses), and the capped table with
 * least-recently-active eviction.
 */
#include "features/device.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S 1000000ull

#define EVICT_MAX 64

/* What on_evict saw, copied at the time of the call. */
static struct {
	struct device d[EVICT_MAX];
	size_t n;
	void *ctx_seen;
} ev;

static struct dev_table *tbl;

static void on_evict(void *ctx, struct device *d)
{
	ev.ctx_seen = ctx;
	if (ev.n < EVICT_MAX)
		ev.d[ev.n] = *d;
	ev.n++;
}

static struct dev_table *table(uint32_t max)
{
	struct dev_table_cfg cfg = {.max_devices = max, .seed = 7, .on_evict = on_evict, .ctx = &ev};
	struct dev_table *t = dev_table_new(&cfg);
	cr_assert_not_null(t);
	return t;
}

static void init(void)
{
	memset(&ev, 0, sizeof(ev));
	tbl = table(64);
}

static void fini(void)
{
	dev_table_free(tbl);
	tbl = NULL;
}

TestSuite(device, .init = init, .fini = fini);

static struct ip_addr addr(const char *s)
{
	struct ip_addr ip;
	cr_assert_eq(ip_parse(s, &ip), 0, "ip_parse('%s') failed", s);
	return ip;
}

/* 02:00:00:00:00:nn, a locally administered unicast MAC. */
static const uint8_t *mac(uint8_t n)
{
	static uint8_t m[16][6];
	static int i;
	i = (i + 1) % 16;
	uint8_t v[6] = {0x02, 0, 0, 0, 0, n};
	memcpy(m[i], v, 6);
	return m[i];
}

static struct device *by_mac(uint8_t n, uint64_t now)
{
	struct device *d = dev_table_by_mac(tbl, mac(n), now, true);
	cr_assert_not_null(d);
	return d;
}

static void bind(struct device *d, const char *ip)
{
	struct ip_addr a = addr(ip);
	dev_table_bind_ip(tbl, d, &a);
}

static struct device *owner(const char *ip)
{
	struct ip_addr a = addr(ip);
	return dev_table_by_ip(tbl, &a, 0, false);
}

static bool has_ip(const struct device *d, const char *ip)
{
	struct ip_addr a = addr(ip);
	for (uint8_t i = 0; i < d->n_ips; i++)
		if (ip_equal(&d->ips[i], &a))
			return true;
	return false;
}

/* ---- by MAC ---- */

Test(device, by_mac_creates_a_device_once_and_returns_it_after)
{
	struct device *a = by_mac(1, 1 * S);
	struct device *b = by_mac(1, 2 * S);
	cr_assert_eq(a, b);
	cr_assert_eq(a->id, 1);
	cr_assert(a->has_mac);
	cr_assert_eq(memcmp(a->mac, mac(1), 6), 0);
	cr_assert_eq(a->n_ips, 0);
	cr_assert_eq(a->first_us, 1 * S);
	cr_assert_eq(a->last_us, 2 * S);
	cr_assert_eq(dev_table_stats(tbl)->created, 1);
	cr_assert_eq(dev_table_stats(tbl)->active, 1);
}

Test(device, by_mac_without_create_finds_nothing_new)
{
	cr_assert_null(dev_table_by_mac(tbl, mac(9), 1 * S, false));
	cr_assert_eq(dev_table_stats(tbl)->created, 0);
	struct device *d = by_mac(9, 1 * S);
	cr_assert_eq(dev_table_by_mac(tbl, mac(9), 2 * S, false), d);
}

Test(device, different_macs_are_different_devices_in_first_seen_ids)
{
	struct device *a = by_mac(1, 1 * S), *b = by_mac(2, 1 * S), *c = by_mac(3, 1 * S);
	cr_assert_neq(a, b);
	cr_assert_neq(b, c);
	cr_assert_eq(a->id, 1);
	cr_assert_eq(b->id, 2);
	cr_assert_eq(c->id, 3);
}

Test(device, last_activity_never_goes_backwards)
{
	struct device *a = by_mac(1, 5 * S);
	by_mac(1, 3 * S);
	cr_assert_eq(a->last_us, 5 * S);
	cr_assert_eq(a->first_us, 5 * S);
}

/* ---- addresses ---- */

Test(device, by_ip_finds_a_mac_device_after_bind)
{
	struct device *d = by_mac(1, 1 * S);
	cr_assert_null(owner("192.168.1.10"));
	bind(d, "192.168.1.10");
	cr_assert_eq(owner("192.168.1.10"), d);
	cr_assert_eq(d->n_ips, 1);
	cr_assert(has_ip(d, "192.168.1.10"));
	cr_assert_eq(dev_table_stats(tbl)->created, 1, "by_ip created a device");
}

Test(device, binding_the_same_address_twice_keeps_one_entry)
{
	struct device *d = by_mac(1, 1 * S);
	bind(d, "192.168.1.10");
	bind(d, "192.168.1.10");
	cr_assert_eq(d->n_ips, 1);
}

Test(device, a_device_holds_ipv4_and_ipv6_addresses)
{
	struct device *d = by_mac(1, 1 * S);
	bind(d, "192.168.1.10");
	bind(d, "fe80::1");
	bind(d, "2001:db8::10");
	cr_assert_eq(d->n_ips, 3);
	cr_assert_eq(owner("fe80::1"), d);
	cr_assert_eq(owner("2001:db8::10"), d);
	cr_assert_eq(owner("192.168.1.10"), d);
}

Test(device, an_address_moving_to_another_mac_leaves_the_old_device)
{
	struct device *a = by_mac(1, 1 * S), *b = by_mac(2, 2 * S);
	bind(a, "192.168.1.50");
	bind(a, "fe80::a");
	bind(b, "192.168.1.50"); /* DHCP gave .50 to b */
	cr_assert_eq(owner("192.168.1.50"), b);
	cr_assert_not(has_ip(a, "192.168.1.50"));
	cr_assert_eq(a->n_ips, 1);
	cr_assert(has_ip(a, "fe80::a"));
	cr_assert_eq(b->n_ips, 1);
	cr_assert(has_ip(b, "192.168.1.50"));
	/* And back again. */
	bind(a, "192.168.1.50");
	cr_assert_eq(owner("192.168.1.50"), a);
	cr_assert_eq(b->n_ips, 0);
}

Test(device, more_than_dev_max_ips_addresses_keeps_the_newest)
{
	struct device *d = by_mac(1, 1 * S);
	char ip[32];
	for (int i = 1; i <= DEV_MAX_IPS + 2; i++) {
		snprintf(ip, sizeof(ip), "2001:db8::%d", i);
		bind(d, ip);
	}
	cr_assert_eq(d->n_ips, DEV_MAX_IPS);
	for (int i = 0; i < DEV_MAX_IPS; i++) {
		snprintf(ip, sizeof(ip), "2001:db8::%d", i + 3);
		struct ip_addr want = addr(ip);
		cr_expect(ip_equal(&d->ips[i], &want), "ips[%d] is not %s", i, ip);
		cr_expect_eq(owner(ip), d, "%s does not resolve", ip);
	}
	cr_assert_null(owner("2001:db8::1"));
	cr_assert_null(owner("2001:db8::2"));
}

Test(device, a_full_device_taking_another_devices_address_keeps_both_consistent)
{
	struct device *a = by_mac(1, 1 * S), *b = by_mac(2, 1 * S);
	char ip[32];
	for (int i = 1; i <= DEV_MAX_IPS; i++) {
		snprintf(ip, sizeof(ip), "2001:db8::%d", i);
		bind(a, ip);
	}
	bind(b, "192.168.1.77");
	bind(a, "192.168.1.77");
	cr_assert_eq(a->n_ips, DEV_MAX_IPS);
	cr_assert_eq(b->n_ips, 0);
	cr_assert_eq(owner("192.168.1.77"), a);
	cr_assert_null(owner("2001:db8::1"));
	cr_assert_eq(owner("2001:db8::2"), a);
}

Test(device, without_a_mac_a_device_is_keyed_by_its_ip)
{
	struct ip_addr ip = addr("10.0.0.5");
	struct device *d = dev_table_by_ip(tbl, &ip, 1 * S, true);
	cr_assert_not_null(d);
	cr_assert_not(d->has_mac);
	cr_assert(ip_equal(&d->key_ip, &ip));
	cr_assert_eq(d->n_ips, 1);
	cr_assert(ip_equal(&d->ips[0], &ip));
	cr_assert_eq(dev_table_by_ip(tbl, &ip, 2 * S, true), d);
	cr_assert_eq(d->last_us, 2 * S);
	cr_assert_eq(dev_table_stats(tbl)->created, 1);
}

Test(device, by_ip_without_create_finds_nothing_new)
{
	struct ip_addr ip = addr("10.0.0.5");
	cr_assert_null(dev_table_by_ip(tbl, &ip, 1 * S, false));
	cr_assert_eq(dev_table_stats(tbl)->created, 0);
}

Test(device, an_ip_keyed_devices_address_can_be_claimed_by_a_mac_device)
{
	struct ip_addr ip = addr("10.0.0.5");
	struct device *byip = dev_table_by_ip(tbl, &ip, 1 * S, true);
	struct device *bymac = by_mac(1, 2 * S);
	bind(bymac, "10.0.0.5");
	cr_assert_eq(owner("10.0.0.5"), bymac);
	cr_assert_eq(byip->n_ips, 0);
	cr_assert_eq(dev_table_stats(tbl)->active, 2);
}

/* ---- the cap ---- */

Test(device, at_the_cap_the_least_recently_active_device_is_evicted)
{
	dev_table_free(tbl);
	tbl = table(3);
	struct device *a = by_mac(1, 1 * S), *b = by_mac(2, 2 * S), *c = by_mac(3, 3 * S);
	bind(b, "192.168.1.2");
	bind(b, "fe80::2");
	by_mac(1, 4 * S); /* a is now more recent than b */
	(void)c;
	struct device *d = by_mac(4, 5 * S);
	cr_assert_not_null(d);
	cr_assert_eq(ev.n, 1);
	cr_assert_eq(ev.ctx_seen, &ev);
	cr_assert_eq(memcmp(ev.d[0].mac, mac(2), 6), 0, "evicted the wrong device");
	cr_assert_eq(ev.d[0].n_ips, 2, "on_evict must see the device before it is cleared");
	cr_assert_eq(dev_table_stats(tbl)->evicted, 1);
	cr_assert_eq(dev_table_stats(tbl)->active, 3);
	cr_assert_eq(dev_table_stats(tbl)->created, 4);
	cr_assert_eq(dev_table_stats(tbl)->peak, 3);
	cr_assert_null(dev_table_by_mac(tbl, mac(2), 6 * S, false));
	cr_assert_null(owner("192.168.1.2"));
	cr_assert_null(owner("fe80::2"));
	cr_assert_eq(dev_table_by_mac(tbl, mac(1), 6 * S, false), a);
	cr_assert_eq(d->id, 4);
}

/* ---- handles ---- */

Test(device, a_handle_finds_its_device_and_counts_as_activity)
{
	struct device *a = by_mac(1, 1 * S);
	uint32_t h = dev_table_handle(tbl, a);
	cr_assert_eq(dev_table_by_handle(tbl, h, mac(1), 5 * S), a);
	cr_assert_eq(a->last_us, 5 * S);
	cr_assert_null(dev_table_by_handle(tbl, h, mac(2), 6 * S), "a handle must not answer for another MAC");
	cr_assert_null(dev_table_by_handle(tbl, UINT32_MAX - 1, mac(1), 6 * S));
}

Test(device, a_handle_to_an_evicted_device_no_longer_matches)
{
	dev_table_free(tbl);
	tbl = table(1);
	uint32_t ha = dev_table_handle(tbl, by_mac(1, 1 * S));
	struct device *b = by_mac(2, 2 * S); /* evicts a; its entry is reused */
	cr_assert_eq(ev.n, 1);
	cr_assert_null(dev_table_by_handle(tbl, ha, mac(1), 3 * S), "the evicted device answered its handle");
	cr_assert_eq(dev_table_by_handle(tbl, dev_table_handle(tbl, b), mac(2), 3 * S), b);
}

/* ---- the device a packet is about ---- */

Test(device, a_creation_does_not_evict_the_device_looked_up_at_the_same_time)
{
	/* All 64 recently active, the last looked up first in line: the
	 * eviction scan (64 moves) would otherwise come back round to it. */
	for (uint8_t n = 1; n <= 64; n++)
		by_mac(n, n * S);
	for (uint8_t n = 2; n <= 64; n++)
		by_mac(n, 100 * S);
	struct device *a = by_mac(1, 200 * S);
	struct device *b = by_mac(65, 200 * S);
	cr_assert_neq(a, b);
	cr_assert_eq(ev.n, 1);
	cr_assert_eq(memcmp(ev.d[0].mac, mac(2), 6), 0, "evicted %02x, not the next in line",
		     (unsigned)ev.d[0].mac[5]);
	cr_assert_eq(memcmp(a->mac, mac(1), 6), 0, "the sender's entry was reused");
	cr_assert_eq(dev_table_by_mac(tbl, mac(1), 201 * S, false), a);
}

Test(device, a_pinned_settled_device_sends_the_eviction_to_the_fresh_ones)
{
	dev_table_free(tbl);
	tbl = table(2);
	struct device *a = by_mac(1, 1 * S);
	dev_table_sent(tbl, a, 1 * S);
	cr_assert(dev_table_sent(tbl, a, 2 * S), "a did not settle");
	by_mac(2, 3 * S); /* fresh, within the reserve: the settled list is next */
	cr_assert_eq(dev_table_by_mac(tbl, mac(1), 4 * S, false), a);
	cr_assert_not_null(dev_table_by_mac(tbl, mac(3), 4 * S, true));
	cr_assert_eq(ev.n, 1);
	cr_assert_eq(memcmp(ev.d[0].mac, mac(2), 6), 0);
	cr_assert_eq(dev_table_stats(tbl)->evicted_settled, 0);
}

Test(device, with_only_the_pinned_device_left_a_creation_fails_and_is_counted)
{
	dev_table_free(tbl);
	tbl = table(1);
	struct device *a = by_mac(1, 1 * S);
	cr_assert_null(dev_table_by_mac(tbl, mac(2), 1 * S, true));
	cr_assert_eq(ev.n, 0);
	cr_assert_eq(dev_table_stats(tbl)->alloc_failed, 1);
	cr_assert_eq(dev_table_by_mac(tbl, mac(1), 1 * S, false), a);
	/* A moment later it is just the least recently active. */
	cr_assert_not_null(dev_table_by_mac(tbl, mac(2), 2 * S, true));
	cr_assert_eq(ev.n, 1);
}

Test(device, looking_an_address_up_counts_as_activity)
{
	dev_table_free(tbl);
	tbl = table(2);
	struct device *a = by_mac(1, 1 * S);
	by_mac(2, 2 * S);
	bind(a, "192.168.1.1");
	struct ip_addr ip = addr("192.168.1.1");
	cr_assert_eq(dev_table_by_ip(tbl, &ip, 3 * S, false), a);
	by_mac(3, 4 * S);
	cr_assert_eq(ev.n, 1);
	cr_assert_eq(memcmp(ev.d[0].mac, mac(2), 6), 0);
}

Test(device, an_ip_keyed_device_is_evicted_and_its_address_freed)
{
	dev_table_free(tbl);
	tbl = table(1);
	struct ip_addr ip = addr("10.0.0.5");
	struct device *d = dev_table_by_ip(tbl, &ip, 1 * S, true);
	cr_assert_not_null(d);
	by_mac(1, 2 * S);
	cr_assert_eq(ev.n, 1);
	cr_assert_not(ev.d[0].has_mac);
	cr_assert_null(owner("10.0.0.5"));
	cr_assert_eq(dev_table_stats(tbl)->active, 1);
}

Test(device, the_address_index_never_runs_out_after_many_evictions)
{
	dev_table_free(tbl);
	tbl = table(2);
	char ip[32];
	for (int n = 0; n < 200; n++) {
		struct device *d = by_mac((uint8_t)(n % 7), (uint64_t)n * S);
		for (int i = 0; i < DEV_MAX_IPS + 1; i++) {
			snprintf(ip, sizeof(ip), "2001:db8:%x::%x", n % 5, i + 1);
			bind(d, ip);
			cr_assert_eq(owner(ip), d, "round %d: %s not indexed", n, ip);
		}
	}
	cr_assert_eq(dev_table_stats(tbl)->alloc_failed, 0);
	cr_assert_leq(dev_table_stats(tbl)->active, 2);
}

Test(device, dev_table_list_is_in_first_seen_order)
{
	struct device *a = by_mac(5, 1 * S), *b = by_mac(3, 2 * S), *c = by_mac(9, 3 * S);
	struct ip_addr ip = addr("10.0.0.5");
	struct device *e = dev_table_by_ip(tbl, &ip, 4 * S, true);
	/* Activity in the reverse order must not change the list. */
	by_mac(9, 5 * S);
	by_mac(3, 6 * S);
	by_mac(5, 7 * S);
	size_t n = 99;
	struct device **all = dev_table_list(tbl, &n);
	cr_assert_not_null(all);
	cr_assert_eq(n, 4);
	cr_assert_eq(all[0], a);
	cr_assert_eq(all[1], b);
	cr_assert_eq(all[2], c);
	cr_assert_eq(all[3], e);
	free(all);
}

Test(device, dev_table_list_skips_evicted_devices)
{
	dev_table_free(tbl);
	tbl = table(2);
	by_mac(1, 1 * S);
	struct device *b = by_mac(2, 2 * S);
	struct device *c = by_mac(3, 3 * S);
	size_t n = 0;
	struct device **all = dev_table_list(tbl, &n);
	cr_assert_not_null(all);
	cr_assert_eq(n, 2);
	cr_assert_eq(all[0], b);
	cr_assert_eq(all[1], c);
	free(all);
}

Test(device, dev_table_list_of_an_empty_table_is_empty)
{
	size_t n = 99;
	struct device **all = dev_table_list(tbl, &n);
	cr_assert_not_null(all);
	cr_assert_eq(n, 0);
	free(all);
}

Test(device, a_zero_cap_is_rejected)
{
	struct dev_table_cfg cfg = {.max_devices = 0, .seed = 1};
	cr_assert_null(dev_table_new(&cfg));
}

Test(device, a_mac_formats_as_six_lowercase_hex_pairs)
{
	static const uint8_t m[6] = {0x00, 0x1a, 0x2B, 0xc3, 0xff, 0x09};
	char buf[18];
	cr_assert_str_eq(dev_mac_format(m, buf, sizeof(buf)), "00:1a:2b:c3:ff:09");
}

static uint64_t rnd(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return *x >> 33;
}

/* Every address of every device resolves to that device and to no other. */
static void check_index(int step)
{
	size_t n = 0, total = 0;
	struct device **all = dev_table_list(tbl, &n);
	cr_assert_not_null(all);
	for (size_t i = 0; i < n; i++) {
		cr_assert_leq(all[i]->n_ips, DEV_MAX_IPS);
		for (uint8_t k = 0; k < all[i]->n_ips; k++) {
			struct device *o = dev_table_by_ip(tbl, &all[i]->ips[k], 0, false);
			cr_assert_eq(o, all[i], "step %d: an address of device %llu resolves elsewhere", step,
				     (unsigned long long)all[i]->id);
			total++;
		}
	}
	(void)total;
	free(all);
}

/* Random devices taking random addresses in a small table. */
Test(device, random_activity_keeps_the_address_index_consistent)
{
	dev_table_free(tbl);
	tbl = table(8);
	uint64_t x = 99;
	for (int i = 0; i < 5000; i++) {
		uint8_t m = (uint8_t)(rnd(&x) % 20);
		unsigned k = (unsigned)(rnd(&x) % 60);
		char ip[32];
		if (k < 50)
			snprintf(ip, sizeof(ip), "192.168.1.%u", k + 1);
		else
			snprintf(ip, sizeof(ip), "fe80::%u", k);
		struct device *d;
		if (rnd(&x) % 10 == 0) {
			struct ip_addr a = addr(ip);
			d = dev_table_by_ip(tbl, &a, (uint64_t)i, true);
			cr_assert_not_null(d);
		} else {
			d = by_mac(m, (uint64_t)i);
			bind(d, ip);
		}
		cr_assert_eq(owner(ip), d, "step %d", i);
		if (i % 100 == 0)
			check_index(i);
		const struct dev_stats *s = dev_table_stats(tbl);
		cr_assert_eq(s->active, s->created - s->evicted);
		cr_assert_leq(s->active, 8);
	}
	check_index(5000);
	cr_assert_gt(dev_table_stats(tbl)->evicted, 0);
	cr_assert_eq(dev_table_stats(tbl)->alloc_failed, 0);
	cr_assert_eq(ev.n, dev_table_stats(tbl)->evicted);
}
